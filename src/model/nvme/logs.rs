// SPDX-License-Identifier: GPL-2.0

//! Log pages (Error Information, SMART / Health Information, Changed Namespace List,
//! Commands Supported and Effects; Firmware Slot Information is the firmware module's) and
//! asynchronous events.

use super::super::le::put;
use super::admin::opcode as admin_op;
use super::io::opcode as io_op;
use super::params::MAX_NAMESPACES;
use super::status::Status;

/// Log page identifiers.
pub mod log_id {
    /// Error Information.
    pub const ERROR: u8 = 0x01;
    /// SMART / Health Information.
    pub const SMART: u8 = 0x02;
    /// Firmware Slot Information.
    pub const FIRMWARE_SLOT: u8 = 0x03;
    /// Changed Namespace List.
    pub const CHANGED_NAMESPACES: u8 = 0x04;
    /// Commands Supported and Effects.
    pub const COMMAND_EFFECTS: u8 = 0x05;
}

/// Asynchronous event completion fields (Asynchronous Event Request DW0).
pub mod aen {
    /// Event type: Error status.
    pub const TYPE_ERROR: u32 = 0;
    /// Error status: write to an invalid doorbell register.
    pub const INVALID_DOORBELL_REGISTER: u8 = 0x00;
    /// Error status: invalid doorbell write value.
    pub const INVALID_DOORBELL_VALUE: u8 = 0x01;
    /// Event type: Notice.
    pub const TYPE_NOTICE: u32 = 2;
    /// Notice: Namespace Attribute Changed (reported with the Changed Namespace List log).
    pub const NAMESPACE_ATTRIBUTE_CHANGED: u8 = 0x00;

    /// The DW0 of an event of type `ty` with information `info` about log page `lid`.
    pub const fn result(ty: u32, info: u8, lid: u8) -> u32 {
        (lid as u32) << 16 | (info as u32) << 8 | ty & 7
    }
}

/// Entries kept in the Error Information log (Identify Controller ELPE + 1).
pub const ERROR_LOG_ENTRIES: usize = 4;
/// Size of one Error Information log entry.
const ERROR_ENTRY_SIZE: usize = 64;
/// Size of the SMART / Health Information and Firmware Slot Information logs.
pub(super) const PAGE_512: usize = 512;
/// Size of the Changed Namespace List and Commands Supported and Effects logs.
const PAGE_4K: usize = 4096;
/// NSIDs the Changed Namespace List holds. Past that it would read FFFFFFFFh then zeroes; with
/// each NSID listed once and at most [`MAX_NAMESPACES`] of them, it never overflows.
const CHANGED_NS_ENTRIES: usize = PAGE_4K / 4;
const _: () = assert!(MAX_NAMESPACES <= CHANGED_NS_ENTRIES && MAX_NAMESPACES <= 32);

/// Commands Supported and Effects entry: Command Supported.
const CSUPP: u32 = 1 << 0;
/// Logical Block Content Change.
const LBCC: u32 = 1 << 1;
/// Namespace Capability Change.
const NCC: u32 = 1 << 2;
/// Namespace Inventory Change.
const NIC: u32 = 1 << 3;
/// Controller Capability Change.
const CCC: u32 = 1 << 4;
/// Command Submission and Execution 010b: submit only while no other command is outstanding
/// to any namespace, and nothing else until it completes.
const CSE_EXCLUSIVE: u32 = 0b010 << 16;

/// The admin commands this controller supports and their effects. Format NVM changes the
/// contents and the format (so the capacity in blocks) of the namespaces it formats, all of
/// them with the broadcast NSID; Firmware Commit may activate firmware at once, which changes
/// the revision Identify Controller reports. Namespace Management changes the namespace
/// inventory (create, delete, detaching a namespace it deletes), the capabilities of the
/// namespaces it creates or deletes, and their contents (a created namespace reads zeroes);
/// Namespace Attachment changes the namespace inventory (which namespaces are active).
const ADMIN_EFFECTS: [(u8, u32); 16] = [
    (admin_op::DELETE_IO_SQ, CSUPP),
    (admin_op::CREATE_IO_SQ, CSUPP),
    (admin_op::GET_LOG_PAGE, CSUPP),
    (admin_op::DELETE_IO_CQ, CSUPP),
    (admin_op::CREATE_IO_CQ, CSUPP),
    (admin_op::IDENTIFY, CSUPP),
    (admin_op::ABORT, CSUPP),
    (admin_op::SET_FEATURES, CSUPP),
    (admin_op::GET_FEATURES, CSUPP),
    (admin_op::ASYNC_EVENT_REQUEST, CSUPP),
    (admin_op::NAMESPACE_MANAGEMENT, CSUPP | LBCC | NCC | NIC),
    (admin_op::FIRMWARE_COMMIT, CSUPP | CCC),
    (admin_op::FIRMWARE_IMAGE_DOWNLOAD, CSUPP),
    (admin_op::NAMESPACE_ATTACHMENT, CSUPP | NIC),
    (admin_op::KEEP_ALIVE, CSUPP),
    (admin_op::FORMAT_NVM, CSUPP | LBCC | NCC | CSE_EXCLUSIVE),
];

/// The NVM I/O commands and their effects: those that write or deallocate change logical
/// block contents.
const IO_EFFECTS: [(u8, u32); 6] = [
    (io_op::FLUSH, CSUPP),
    (io_op::WRITE, CSUPP | LBCC),
    (io_op::READ, CSUPP),
    (io_op::COMPARE, CSUPP),
    (io_op::WRITE_ZEROES, CSUPP | LBCC),
    (io_op::DATASET_MANAGEMENT, CSUPP | LBCC),
];

/// The commands the Zoned Namespace Command Set adds and their effects: Zone Management Send
/// changes logical block contents (Reset Zone deallocates), Zone Append writes them.
const ZONED_IO_EFFECTS: [(u8, u32); 3] = [
    (io_op::ZONE_MANAGEMENT_SEND, CSUPP | LBCC),
    (io_op::ZONE_MANAGEMENT_RECEIVE, CSUPP),
    (io_op::ZONE_APPEND, CSUPP | LBCC),
];

/// Adds the Zoned Namespace Command Set's I/O commands to a Commands Supported and Effects
/// log page built in `buf`: the page for CSI 02h.
pub(super) fn zoned_effects(buf: &mut [u8]) {
    for (op, e) in ZONED_IO_EFFECTS {
        put(buf, 1024 + usize::from(op) * 4, &e.to_le_bytes());
    }
}

/// One Error Information log entry.
#[derive(Clone, Copy, Debug, Default)]
struct ErrorEntry {
    count: u64,
    sqid: u16,
    cid: u16,
    status: u16,
    nsid: u32,
}

/// Logs and health counters: kept across controller resets.
///
/// # Invariants
///
/// `next < ERROR_LOG_ENTRIES`; `errors[next]` is the oldest entry (or unused). Bit `n - 1` of
/// `changed_ns` stands for NSID `n` (at most [`MAX_NAMESPACES`], so it fits).
#[derive(Clone, Copy, Debug)]
pub(super) struct Logs {
    errors: [ErrorEntry; ERROR_LOG_ENTRIES],
    next: usize,
    error_count: u64,
    /// 512-byte units read and written.
    units_read: u64,
    units_written: u64,
    read_commands: u64,
    write_commands: u64,
    media_errors: u64,
    /// Namespaces whose attributes changed since the Changed Namespace List was last read.
    changed_ns: u32,
}

impl Logs {
    pub(super) const NEW: Logs = Logs {
        errors: [ErrorEntry {
            count: 0,
            sqid: 0,
            cid: 0,
            status: 0,
            nsid: 0,
        }; ERROR_LOG_ENTRIES],
        next: 0,
        error_count: 0,
        units_read: 0,
        units_written: 0,
        read_commands: 0,
        write_commands: 0,
        media_errors: 0,
        changed_ns: 0,
    };

    /// Errors recorded since the controller was created.
    pub(super) fn error_count(&self) -> u64 {
        self.error_count
    }

    /// Records an error (`sqid` and `cid` 0xffff when no command is involved).
    pub(super) fn record_error(&mut self, sqid: u16, cid: u16, status: Status, nsid: u32) {
        self.error_count = self.error_count.wrapping_add(1).max(1);
        if status.sct() == super::status::SCT_MEDIA {
            self.media_errors = self.media_errors.saturating_add(1);
        }
        if let Some(e) = self.errors.get_mut(self.next) {
            *e = ErrorEntry {
                count: self.error_count,
                sqid,
                cid,
                status: status.raw() << 1,
                nsid,
            };
        }
        // INVARIANT: stays below ERROR_LOG_ENTRIES.
        self.next = (self.next + 1) % ERROR_LOG_ENTRIES;
    }

    /// Counts a completed read (or compare) of `bytes`.
    pub(super) fn count_read(&mut self, bytes: u64) {
        self.read_commands = self.read_commands.saturating_add(1);
        self.units_read = self.units_read.saturating_add(bytes.div_ceil(512));
    }

    /// Counts a completed write of `bytes`.
    pub(super) fn count_write(&mut self, bytes: u64) {
        self.write_commands = self.write_commands.saturating_add(1);
        self.units_written = self.units_written.saturating_add(bytes.div_ceil(512));
    }

    /// Adds namespace `nsid` (an allocated one) to the Changed Namespace List.
    pub(super) fn namespace_changed(&mut self, nsid: u32) {
        let bit = nsid
            .checked_sub(1)
            .and_then(|i| 1u32.checked_shl(i))
            .unwrap_or(0);
        self.changed_ns |= bit;
    }

    /// The Changed Namespace List was read with RAE cleared: it starts over empty.
    pub(super) fn clear_changed_namespaces(&mut self) {
        self.changed_ns = 0;
    }

    /// Builds log page `lid` (other than Firmware Slot Information) at the start of `buf`
    /// (which the caller has zeroed) and returns its size, or `None` for a log page this
    /// controller does not have.
    pub(super) fn build(&self, lid: u8, buf: &mut [u8]) -> Option<usize> {
        match lid {
            log_id::ERROR => {
                // Newest first.
                for i in 0..ERROR_LOG_ENTRIES {
                    let idx = (self.next + ERROR_LOG_ENTRIES - 1 - i) % ERROR_LOG_ENTRIES;
                    let Some(e) = self.errors.get(idx) else {
                        continue;
                    };
                    if e.count == 0 {
                        break;
                    }
                    let o = i * ERROR_ENTRY_SIZE;
                    put(buf, o, &e.count.to_le_bytes());
                    put(buf, o + 8, &e.sqid.to_le_bytes());
                    put(buf, o + 10, &e.cid.to_le_bytes());
                    put(buf, o + 12, &e.status.to_le_bytes());
                    put(buf, o + 14, &0xffffu16.to_le_bytes());
                    put(buf, o + 24, &e.nsid.to_le_bytes());
                }
                Some(ERROR_LOG_ENTRIES * ERROR_ENTRY_SIZE)
            }
            log_id::SMART => {
                // Composite temperature 310 K, 100% spare, threshold 10%, 0% used.
                put(buf, 1, &310u16.to_le_bytes());
                put(buf, 3, &[100, 10, 0]);
                // 128-bit counters, little-endian: the upper halves stay zero.
                let thousands = |units: u64| units.div_ceil(1000);
                put(buf, 32, &thousands(self.units_read).to_le_bytes());
                put(buf, 48, &thousands(self.units_written).to_le_bytes());
                put(buf, 64, &self.read_commands.to_le_bytes());
                put(buf, 80, &self.write_commands.to_le_bytes());
                put(buf, 112, &1u64.to_le_bytes());
                put(buf, 160, &self.media_errors.to_le_bytes());
                put(buf, 176, &self.error_count.to_le_bytes());
                Some(PAGE_512)
            }
            log_id::CHANGED_NAMESPACES => {
                // Ascending NSIDs, then zeroes.
                let mut left = self.changed_ns;
                let mut at = 0;
                while left != 0 {
                    let nsid = left.trailing_zeros() + 1;
                    left &= left - 1;
                    put(buf, at, &nsid.to_le_bytes());
                    at += 4;
                }
                Some(PAGE_4K)
            }
            log_id::COMMAND_EFFECTS => {
                // 256 admin entries, then 256 I/O entries, 4 bytes each.
                for (op, e) in ADMIN_EFFECTS {
                    put(buf, usize::from(op) * 4, &e.to_le_bytes());
                }
                for (op, e) in IO_EFFECTS {
                    put(buf, 1024 + usize::from(op) * 4, &e.to_le_bytes());
                }
                Some(PAGE_4K)
            }
            _ => None,
        }
    }
}

/// Outstanding Asynchronous Event Requests and events waiting for one.
///
/// Each event type is masked once an event of that type is reported, until the host reads
/// the log page the event names with RAE cleared: Error status events until the Error
/// Information log is read, Notice events until the Changed Namespace List is read.
/// Error status events are reported before notices.
///
/// # Invariants
///
/// `waiting` holds Error status information codes as bits (codes below 8). While
/// `error_masked` (an Error status event was reported and the host has not read the Error
/// Information log since), no new Error status event is queued and none is reported. While
/// `notice_masked`, `notice` (a Namespace Attribute Changed notice waits) stays false.
#[derive(Clone, Copy, Debug)]
pub(super) struct Events {
    requests: [Option<u16>; super::admin::AER_SLOTS],
    waiting: u8,
    error_masked: bool,
    notice: bool,
    notice_masked: bool,
}

impl Events {
    pub(super) const NEW: Events = Events {
        requests: [None; super::admin::AER_SLOTS],
        waiting: 0,
        error_masked: false,
        notice: false,
        notice_masked: false,
    };

    /// Holds an Asynchronous Event Request with command ID `cid`; `false` if the limit of
    /// outstanding requests is reached.
    pub(super) fn hold(&mut self, cid: u16) -> bool {
        match self.requests.iter_mut().find(|r| r.is_none()) {
            Some(slot) => {
                *slot = Some(cid);
                true
            }
            None => false,
        }
    }

    /// Queues an Error status event with information `info` (one of the `aen` doorbell
    /// codes), unless Error status events are masked.
    pub(super) fn error(&mut self, info: u8) {
        if !self.error_masked && info < 8 {
            self.waiting |= 1 << info;
        }
    }

    /// The Error Information log was read with RAE cleared: Error status events are reported
    /// again.
    pub(super) fn unmask_errors(&mut self) {
        self.error_masked = false;
    }

    /// Queues a Namespace Attribute Changed notice, unless notices are masked (one was
    /// reported and the Changed Namespace List has not been read since).
    pub(super) fn namespace_notice(&mut self) {
        // INVARIANT: nothing is queued while masked.
        self.notice |= !self.notice_masked;
    }

    /// The Changed Namespace List was read with RAE cleared: notices are reported again, and a
    /// notice not reported yet is dropped (the host has just read what it would point to).
    pub(super) fn clear_notices(&mut self) {
        self.notice = false;
        self.notice_masked = false;
    }

    /// Whether an Error status event can be reported.
    fn error_due(&self) -> bool {
        !self.error_masked && self.waiting != 0
    }

    /// Whether an event and a request to report it in are both waiting.
    pub(super) fn ready(&self) -> bool {
        (self.error_due() || self.notice) && self.requests.iter().any(|r| r.is_some())
    }

    /// Takes a waiting event and the request that reports it: `(cid, DW0)`. Masks events of
    /// that type until their log is read.
    pub(super) fn take(&mut self) -> Option<(u16, u32)> {
        if !self.error_due() && !self.notice {
            return None;
        }
        let cid = self.requests.iter_mut().find_map(|r| r.take())?;
        if self.error_due() {
            let info = self.waiting.trailing_zeros() as u8;
            self.waiting &= !(1 << info);
            self.error_masked = true;
            return Some((cid, aen::result(aen::TYPE_ERROR, info, log_id::ERROR)));
        }
        // INVARIANT: masked with nothing queued.
        self.notice = false;
        self.notice_masked = true;
        let info = aen::NAMESPACE_ATTRIBUTE_CHANGED;
        Some((
            cid,
            aen::result(aen::TYPE_NOTICE, info, log_id::CHANGED_NAMESPACES),
        ))
    }
}
