// SPDX-License-Identifier: GPL-2.0

//! Admin commands: queue management, Identify, features, log pages, asynchronous events,
//! firmware download and commit, and (through the namespace module) Format NVM, Namespace
//! Management and Namespace Attachment.

use super::ctrl::Controller;
use super::identify::{self, CONTROLLER_ID};
use super::logs::{self, log_id};
use super::ns::NSID_ALL;
use super::params::Params;
use super::prp::{copy_in, copy_out, discard_in, Prp};
use super::queue::{fits, Cq, Sq, Sqe, CQE_SIZE, SQE_SIZE};
use super::status::Status;
use super::zns::CSI_ZONED;
use super::{Backing, HostMemory};

/// Admin command opcodes.
pub mod opcode {
    /// Delete I/O Submission Queue.
    pub const DELETE_IO_SQ: u8 = 0x00;
    /// Create I/O Submission Queue.
    pub const CREATE_IO_SQ: u8 = 0x01;
    /// Get Log Page.
    pub const GET_LOG_PAGE: u8 = 0x02;
    /// Delete I/O Completion Queue.
    pub const DELETE_IO_CQ: u8 = 0x04;
    /// Create I/O Completion Queue.
    pub const CREATE_IO_CQ: u8 = 0x05;
    /// Identify.
    pub const IDENTIFY: u8 = 0x06;
    /// Abort.
    pub const ABORT: u8 = 0x08;
    /// Set Features.
    pub const SET_FEATURES: u8 = 0x09;
    /// Get Features.
    pub const GET_FEATURES: u8 = 0x0a;
    /// Asynchronous Event Request.
    pub const ASYNC_EVENT_REQUEST: u8 = 0x0c;
    /// Namespace Management.
    pub const NAMESPACE_MANAGEMENT: u8 = 0x0d;
    /// Firmware Commit.
    pub const FIRMWARE_COMMIT: u8 = 0x10;
    /// Firmware Image Download.
    pub const FIRMWARE_IMAGE_DOWNLOAD: u8 = 0x11;
    /// Namespace Attachment.
    pub const NAMESPACE_ATTACHMENT: u8 = 0x15;
    /// Keep Alive.
    pub const KEEP_ALIVE: u8 = 0x18;
    /// Format NVM.
    pub const FORMAT_NVM: u8 = 0x80;
}

/// Feature identifiers this controller supports.
pub mod feature {
    /// Arbitration.
    pub const ARBITRATION: u8 = 0x01;
    /// Volatile Write Cache.
    pub const VOLATILE_WRITE_CACHE: u8 = 0x06;
    /// Number of Queues.
    pub const NUMBER_OF_QUEUES: u8 = 0x07;
    /// Interrupt Coalescing.
    pub const INTERRUPT_COALESCING: u8 = 0x08;
    /// Asynchronous Event Configuration.
    pub const ASYNC_EVENT_CONFIG: u8 = 0x0b;
    /// Timestamp.
    pub const TIMESTAMP: u8 = 0x0e;
}

/// Command Set Identifier of the NVM Command Set.
const CSI_NVM: u8 = 0;

/// An Identify command's Command Set Identifier (CDW11 31:24).
fn csi(sqe: &Sqe) -> u8 {
    (sqe.cdw11 >> 24) as u8
}

/// Asynchronous Event Requests the controller holds at once (Identify Controller AERL + 1).
pub const AER_SLOTS: usize = 4;
/// Abort Command Limit (Identify Controller ACL + 1). Aborts complete at once, so the limit is
/// never reached.
pub(super) const ABORT_LIMIT: u8 = 4;

/// Get Features "supported capabilities" (SEL 011b): changeable, not saveable, controller wide.
const CAPABILITIES_CHANGEABLE: u32 = 1 << 2;
/// Asynchronous Event Configuration: Namespace Attribute Notices.
pub(super) const ASYNC_NAMESPACE_NOTICES: u32 = 1 << 8;
/// Asynchronous Event Configuration bits kept: the SMART / Health critical warnings and
/// Namespace Attribute Notices.
const ASYNC_CONFIG_SUPPORTED: u32 = 0xff | ASYNC_NAMESPACE_NOTICES;
/// Size of the Timestamp feature's data.
const TIMESTAMP_SIZE: usize = 8;
/// The Timestamp field is 48 bits of milliseconds.
const TIMESTAMP_MASK: u64 = (1 << 48) - 1;

/// What an admin command turned into.
#[derive(Clone, Copy, Debug)]
pub(super) enum Outcome {
    /// It completes now: its DW0 or its error status.
    Complete(Result<u32, Status>),
    /// An Asynchronous Event Request, held until an event occurs.
    Held,
}

/// Current feature values; back to the defaults on each controller reset.
///
/// # Invariants
///
/// `sq_alloc` and `cq_alloc` (0-based) are below the controller's `io_queues`; `timestamp`
/// fits in 48 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Features {
    pub(super) arbitration: u32,
    pub(super) write_cache: bool,
    pub(super) coalescing: u32,
    pub(super) async_config: u32,
    pub(super) sq_alloc: u16,
    pub(super) cq_alloc: u16,
    /// The Timestamp value at controller clock `timestamp_at` (milliseconds).
    pub(super) timestamp: u64,
    pub(super) timestamp_at: u64,
    /// Timestamp origin 001b (set by the host) rather than 000b (zero at the last reset).
    pub(super) timestamp_set: bool,
}

impl Features {
    /// The defaults: every I/O queue the parameters allow, write cache enabled.
    pub(super) fn new(p: &Params) -> Features {
        let all = p.io_queues().saturating_sub(1);
        // INVARIANT: io_queues >= 1, so `all` is io_queues - 1.
        Features {
            arbitration: 0,
            write_cache: true,
            coalescing: 0,
            async_config: 0,
            sq_alloc: all,
            cq_alloc: all,
            timestamp: 0,
            timestamp_at: 0,
            timestamp_set: false,
        }
    }

    /// The Timestamp feature's data at controller clock `clock`: the timestamp (bytes 5:0)
    /// advanced by the time since it was set, and its attributes (byte 6): Synch 0 (counted
    /// without stopping) and the timestamp origin (bits 3:1).
    fn timestamp_data(&self, clock: u64) -> [u8; TIMESTAMP_SIZE] {
        let elapsed = clock.wrapping_sub(self.timestamp_at);
        let now = self.timestamp.wrapping_add(elapsed) & TIMESTAMP_MASK;
        let mut d = now.to_le_bytes();
        if let Some(attr) = d.get_mut(6) {
            *attr = u8::from(self.timestamp_set) << 1;
        }
        d
    }

    /// The value of feature `fid` (a supported one) as Get Features reports it.
    fn get(&self, fid: u8) -> u32 {
        match fid {
            feature::ARBITRATION => self.arbitration,
            feature::VOLATILE_WRITE_CACHE => u32::from(self.write_cache),
            feature::NUMBER_OF_QUEUES => u32::from(self.cq_alloc) << 16 | u32::from(self.sq_alloc),
            feature::INTERRUPT_COALESCING => self.coalescing,
            feature::ASYNC_EVENT_CONFIG => self.async_config,
            _ => 0,
        }
    }
}

fn supported(fid: u8) -> bool {
    matches!(
        fid,
        feature::ARBITRATION
            | feature::VOLATILE_WRITE_CACHE
            | feature::NUMBER_OF_QUEUES
            | feature::INTERRUPT_COALESCING
            | feature::ASYNC_EVENT_CONFIG
            | feature::TIMESTAMP
    )
}

/// Checks CDW0 of any command: no fused operations, PRPs only (no SGLs), reserved bits 13:10
/// clear.
pub(super) fn check_cdw0(sqe: &Sqe) -> Result<(), Status> {
    if sqe.fuse() != 0 || sqe.psdt() != 0 || sqe.cdw0 & 0x3c00 != 0 {
        return Err(Status::INVALID_FIELD);
    }
    Ok(())
}

/// The 0-based queue size (CDW10 31:16) as a number of entries, checked against `max`
/// (0-based): Invalid Queue Size for a single-entry queue or one above `max`.
fn queue_entries(sqe: &Sqe, max: u16) -> Result<u32, Status> {
    let qsize = sqe.cdw10 >> 16;
    if qsize == 0 || qsize > u32::from(max) {
        return Err(Status::INVALID_QUEUE_SIZE);
    }
    Ok(qsize + 1)
}

impl<const QUEUES: usize> Controller<QUEUES> {
    /// Executes admin command `sqe`.
    pub(super) fn admin<M: HostMemory, B: Backing>(
        &mut self,
        sqe: &Sqe,
        mem: &mut M,
        backing: &mut B,
    ) -> Outcome {
        if let Err(s) = check_cdw0(sqe) {
            return Outcome::Complete(Err(s));
        }
        let r = match sqe.opcode() {
            opcode::DELETE_IO_SQ => self.delete_sq(sqe, mem),
            opcode::CREATE_IO_SQ => self.create_sq(sqe),
            opcode::GET_LOG_PAGE => self.get_log_page(sqe, mem),
            opcode::DELETE_IO_CQ => self.delete_cq(sqe),
            opcode::CREATE_IO_CQ => self.create_cq(sqe),
            opcode::IDENTIFY => self.identify(sqe, mem),
            // Commands complete as soon as they are fetched: there is never anything to abort.
            // DW0 bit 0 set: command not aborted.
            opcode::ABORT => Ok(1),
            opcode::SET_FEATURES => self.set_features(sqe, mem),
            opcode::GET_FEATURES => self.get_features(sqe, mem),
            opcode::ASYNC_EVENT_REQUEST => {
                return if self.events.hold(sqe.cid()) {
                    Outcome::Held
                } else {
                    Outcome::Complete(Err(Status::AER_LIMIT_EXCEEDED))
                };
            }
            opcode::NAMESPACE_MANAGEMENT => self.namespace_management(sqe, mem, backing),
            opcode::FIRMWARE_COMMIT => self.firmware.commit(sqe.cdw10),
            opcode::FIRMWARE_IMAGE_DOWNLOAD => self.firmware_download(sqe, mem),
            opcode::NAMESPACE_ATTACHMENT => self.namespace_attachment(sqe, mem),
            opcode::KEEP_ALIVE => Ok(0),
            opcode::FORMAT_NVM => self.format_nvm(sqe, backing),
            _ => Err(Status::INVALID_OPCODE),
        };
        Outcome::Complete(r)
    }

    fn create_cq(&mut self, sqe: &Sqe) -> Result<u32, Status> {
        let qid = sqe.cdw10 as u16;
        let pc = sqe.cdw11 & 1 != 0;
        let ien = sqe.cdw11 & 2 != 0;
        let iv = (sqe.cdw11 >> 16) as u16;
        if qid == 0 || qid > self.features.cq_alloc.saturating_add(1) {
            return Err(Status::INVALID_QUEUE_ID);
        }
        if self.cqs.get(usize::from(qid)).is_none_or(|cq| cq.live) {
            return Err(Status::INVALID_QUEUE_ID);
        }
        let entries = queue_entries(sqe, self.params.mqes())?;
        if !pc || sqe.cdw11 & 0xfffc != 0 {
            return Err(Status::INVALID_FIELD);
        }
        if ien && iv >= self.params.vectors() {
            return Err(Status::INVALID_INTERRUPT_VECTOR);
        }
        if sqe.prp1 & (self.page_size() - 1) != 0 {
            return Err(Status::INVALID_PRP_OFFSET);
        }
        if !fits(sqe.prp1, entries, CQE_SIZE) {
            return Err(Status::INVALID_FIELD);
        }
        if let Some(cq) = self.cqs.get_mut(usize::from(qid)) {
            *cq = Cq::new(sqe.prp1, entries, ien, iv);
        }
        Ok(0)
    }

    fn create_sq(&mut self, sqe: &Sqe) -> Result<u32, Status> {
        let qid = sqe.cdw10 as u16;
        let pc = sqe.cdw11 & 1 != 0;
        let cqid = (sqe.cdw11 >> 16) as u16;
        if qid == 0 || qid > self.features.sq_alloc.saturating_add(1) {
            return Err(Status::INVALID_QUEUE_ID);
        }
        if self.sqs.get(usize::from(qid)).is_none_or(|sq| sq.live) {
            return Err(Status::INVALID_QUEUE_ID);
        }
        if cqid == 0 || !self.cqs.get(usize::from(cqid)).is_some_and(|cq| cq.live) {
            return Err(Status::COMPLETION_QUEUE_INVALID);
        }
        let entries = queue_entries(sqe, self.params.mqes())?;
        // Bits 2:1 are the queue priority, ignored under round robin arbitration.
        if !pc || sqe.cdw11 & 0xfff8 != 0 {
            return Err(Status::INVALID_FIELD);
        }
        if sqe.prp1 & (self.page_size() - 1) != 0 {
            return Err(Status::INVALID_PRP_OFFSET);
        }
        if !fits(sqe.prp1, entries, SQE_SIZE) {
            return Err(Status::INVALID_FIELD);
        }
        if let Some(sq) = self.sqs.get_mut(usize::from(qid)) {
            *sq = Sq::new(sqe.prp1, entries, cqid);
        }
        Ok(0)
    }

    /// Deletes an I/O submission queue. Commands still in the queue are dropped; completions
    /// held back by the timing hook are posted now (earliest first) where their completion
    /// queue has room, and dropped otherwise.
    fn delete_sq<M: HostMemory>(&mut self, sqe: &Sqe, mem: &mut M) -> Result<u32, Status> {
        if sqe.cdw10 >> 16 != 0 {
            return Err(Status::INVALID_FIELD);
        }
        let qid = sqe.cdw10 as u16;
        match self.sqs.get(usize::from(qid)) {
            Some(sq) if qid != 0 && sq.live => {}
            _ => return Err(Status::INVALID_QUEUE_ID),
        }
        self.flush_held(qid, mem);
        if let Some(sq) = self.sqs.get_mut(usize::from(qid)) {
            *sq = Sq::NONE;
        }
        Ok(0)
    }

    fn delete_cq(&mut self, sqe: &Sqe) -> Result<u32, Status> {
        if sqe.cdw10 >> 16 != 0 {
            return Err(Status::INVALID_FIELD);
        }
        let qid = sqe.cdw10 as u16;
        match self.cqs.get(usize::from(qid)) {
            Some(cq) if qid != 0 && cq.live => {}
            _ => return Err(Status::INVALID_QUEUE_ID),
        }
        if self.sqs.iter().any(|sq| sq.live && sq.cqid == qid) {
            return Err(Status::INVALID_QUEUE_DELETION);
        }
        if let Some(cq) = self.cqs.get_mut(usize::from(qid)) {
            *cq = Cq::NONE;
        }
        Ok(0)
    }

    /// Identify: CNS 00h (namespace; the capabilities common to all namespaces for the
    /// broadcast NSID), 01h (controller), 02h (active NSIDs), 03h (namespace identification
    /// descriptors), 10h (allocated NSIDs), 11h (allocated namespace), 12h (controllers
    /// attached to a namespace) and 13h (controllers in the subsystem: this one); and the
    /// I/O Command Set structures: 05h (I/O Command Set specific namespace), 06h (I/O
    /// Command Set specific controller), both for CSI 00h (NVM) and, with a zoned namespace,
    /// 02h (Zoned); 07h (active NSIDs of a command set, with a zoned namespace), 08h (I/O
    /// Command Set independent namespace) and 1Ch (I/O Command Set combinations).
    fn identify<M: HostMemory>(&mut self, sqe: &Sqe, mem: &mut M) -> Result<u32, Status> {
        let page = self.page_size();
        if sqe.cdw10 & 0xff00 != 0 {
            return Err(Status::INVALID_FIELD);
        }
        let nsid = sqe.nsid;
        // CNTID (CDW10 31:16): where Controller Lists start.
        let cntid = (sqe.cdw10 >> 16) as u16;
        // What the structures need of the namespaces' state, taken before `buf` is borrowed.
        let slot = self.params.namespace(nsid).is_some();
        let active = self.active_format(nsid);
        let allocated = self.allocated_format(nsid);
        let nguid = self.nguid(nsid);
        let attached = self.attached_mask();
        let allocated_ids = self.allocated_mask();
        let unallocated = self.unallocated_capacity();
        let has_zoned = self.params.has_zoned();
        let zoned = self.params.zoned_namespace(nsid).copied();
        // The CSI descriptor of CNS 03h, on a controller that selects I/O Command Sets.
        let ns_csi = has_zoned.then_some(if zoned.is_some() { CSI_ZONED } else { CSI_NVM });
        self.buf.fill(0);
        let out = self
            .buf
            .get_mut(..identify::SIZE)
            .ok_or(Status::INTERNAL_ERROR)?;
        let p = &self.params;
        match sqe.cdw10 as u8 {
            0x00 => match active {
                Some((ns, index)) => identify::namespace(&nguid, &ns, index, out),
                // Namespace Management is supported: what every namespace has in common.
                None if nsid == NSID_ALL => identify::common_namespace(out),
                // An inactive NSID (a detached namespace or an unallocated slot) reads as
                // zeroes.
                None if slot => {}
                None => return Err(Status::INVALID_NAMESPACE),
            },
            0x01 => identify::controller(p, self.firmware.running(), unallocated, out),
            0x02 | 0x10 => {
                if nsid >= 0xffff_fffe {
                    return Err(Status::INVALID_NAMESPACE);
                }
                let set = if sqe.cdw10 as u8 == 0x02 {
                    attached
                } else {
                    allocated_ids
                };
                identify::ns_list(set, nsid, out);
            }
            // The active NSIDs of one I/O Command Set (CSI 00h: the conventional namespaces,
            // 02h: the zoned ones), on a controller that selects I/O Command Sets.
            0x07 if has_zoned => {
                if nsid >= 0xffff_fffe {
                    return Err(Status::INVALID_NAMESPACE);
                }
                let zoned_mask = (1..=p.namespace_count())
                    .filter(|&n| p.zoned_namespace(n).is_some())
                    .fold(0u32, |m, n| m | 1u32.checked_shl(n - 1).unwrap_or(0));
                let set = match csi(sqe) {
                    CSI_NVM => attached & !zoned_mask,
                    CSI_ZONED => attached & zoned_mask,
                    _ => return Err(Status::INVALID_FIELD),
                };
                identify::ns_list(set, nsid, out);
            }
            0x03 => {
                if !slot {
                    return Err(Status::INVALID_NAMESPACE);
                }
                // Inactive: the base specification's rule for inactive NSIDs (Invalid Field in
                // Command), which CNS 03h refers to.
                if active.is_none() {
                    return Err(Status::INVALID_FIELD);
                }
                identify::descriptors(&nguid, ns_csi, out);
            }
            0x11 => match allocated {
                Some((ns, index)) => identify::namespace(&nguid, &ns, index, out),
                // An unallocated slot reads as zeroes.
                None if slot => {}
                None => return Err(Status::INVALID_NAMESPACE),
            },
            0x12 => {
                if !slot {
                    return Err(Status::INVALID_NAMESPACE);
                }
                let ids: &[u16] = if active.is_some() {
                    &[CONTROLLER_ID]
                } else {
                    &[]
                };
                identify::controller_list(ids, cntid, out);
            }
            // The NSID is not used.
            0x13 => identify::controller_list(&[CONTROLLER_ID], cntid, out),
            // NVM Command Set specific Identify Namespace: no storage tags, no protection
            // information, no extended LBA formats, so all zeroes for an allocated
            // namespace (zoned ones included: the Zoned Namespace Command Set builds on the
            // NVM one), like CNS 00h for an inactive one. Zoned Namespace Command Set
            // specific: the zoned geometry of an active zoned namespace, zeroes for an
            // inactive one or the broadcast NSID, Invalid Field for a namespace of another
            // command set.
            0x05 => {
                if !slot && nsid != NSID_ALL {
                    return Err(Status::INVALID_NAMESPACE);
                }
                match csi(sqe) {
                    CSI_NVM => {}
                    CSI_ZONED if has_zoned => match (zoned, active) {
                        (Some(z), Some(_)) => identify::zoned_namespace(&z, out),
                        (Some(_), None) => {}
                        (None, _) if nsid == NSID_ALL => {}
                        (None, _) => return Err(Status::INVALID_FIELD),
                    },
                    _ => return Err(Status::INVALID_FIELD),
                }
            }
            // NVM Command Set specific Identify Controller: no Verify, Write Zeroes, Write
            // Uncorrectable or Dataset Management size limits beyond MDTS (all zeroes).
            // Zoned Namespace Command Set specific: ZASL.
            0x06 => match csi(sqe) {
                CSI_NVM => {}
                CSI_ZONED if has_zoned => identify::zoned_controller(p, out),
                _ => return Err(Status::INVALID_FIELD),
            },
            // I/O Command Set Independent Identify Namespace: an active namespace is ready; an
            // inactive NSID reads as zeroes.
            0x08 => match active {
                Some(_) => identify::independent_namespace(out),
                None if slot => {}
                None => return Err(Status::INVALID_NAMESPACE),
            },
            // Identify I/O Command Set data structure: one combination, the NVM Command Set
            // (and the Zoned Namespace Command Set with a zoned namespace).
            0x1c => identify::command_set_combinations(has_zoned, out),
            _ => return Err(Status::INVALID_FIELD),
        }
        let mut prp = Prp::new(sqe.prp1, sqe.prp2, identify::SIZE as u64, page)?;
        copy_out(mem, &mut prp, out)?;
        Ok(0)
    }

    fn set_features<M: HostMemory>(&mut self, sqe: &Sqe, mem: &mut M) -> Result<u32, Status> {
        let fid = sqe.cdw10 as u8;
        if sqe.cdw10 & 0x7fff_ff00 != 0 || !supported(fid) {
            return Err(Status::INVALID_FIELD);
        }
        if sqe.cdw10 & 1 << 31 != 0 {
            return Err(Status::FEATURE_NOT_SAVEABLE);
        }
        let page = self.page_size();
        let v = sqe.cdw11;
        let f = &mut self.features;
        match fid {
            feature::ARBITRATION => f.arbitration = v & 0xffff_ff07,
            feature::VOLATILE_WRITE_CACHE => f.write_cache = v & 1 != 0,
            feature::NUMBER_OF_QUEUES => {
                let (nsqr, ncqr) = (v as u16, (v >> 16) as u16);
                if nsqr == 0xffff || ncqr == 0xffff {
                    return Err(Status::INVALID_FIELD);
                }
                let io_live = self.sqs.iter().skip(1).any(|q| q.live)
                    || self.cqs.iter().skip(1).any(|q| q.live);
                if io_live {
                    return Err(Status::COMMAND_SEQUENCE_ERROR);
                }
                let max = self.params.io_queues().saturating_sub(1);
                // INVARIANT: both at most io_queues - 1.
                f.sq_alloc = nsqr.min(max);
                f.cq_alloc = ncqr.min(max);
            }
            feature::INTERRUPT_COALESCING => f.coalescing = v & 0xffff,
            feature::TIMESTAMP => {
                // Bytes 5:0 are the timestamp; the attributes are the controller's to report.
                let mut d = [0u8; TIMESTAMP_SIZE];
                let mut prp = Prp::new(sqe.prp1, sqe.prp2, TIMESTAMP_SIZE as u64, page)?;
                copy_in(mem, &mut prp, &mut d)?;
                f.timestamp = u64::from_le_bytes(d) & TIMESTAMP_MASK;
                f.timestamp_at = self.clock;
                f.timestamp_set = true;
            }
            _ => f.async_config = v & ASYNC_CONFIG_SUPPORTED,
        }
        Ok(match fid {
            feature::NUMBER_OF_QUEUES => f.get(fid),
            _ => 0,
        })
    }

    fn get_features<M: HostMemory>(&mut self, sqe: &Sqe, mem: &mut M) -> Result<u32, Status> {
        let fid = sqe.cdw10 as u8;
        if sqe.cdw10 & 0xffff_f800 != 0 || !supported(fid) {
            return Err(Status::INVALID_FIELD);
        }
        // Default and saved: nothing is saveable, so the saved value is the default (for the
        // Timestamp, zero with origin 000b, not counting).
        let f = match sqe.cdw10 >> 8 & 7 {
            0 => self.features,
            1 | 2 => Features {
                timestamp_at: self.clock,
                ..Features::new(&self.params)
            },
            3 => return Ok(CAPABILITIES_CHANGEABLE),
            _ => return Err(Status::INVALID_FIELD),
        };
        if fid == feature::TIMESTAMP {
            let d = f.timestamp_data(self.clock);
            let mut prp = Prp::new(sqe.prp1, sqe.prp2, d.len() as u64, self.page_size())?;
            copy_out(mem, &mut prp, &d)?;
        }
        Ok(f.get(fid))
    }

    /// Firmware Image Download: NUMD (CDW10, 0-based) dwords at dword offset OFST (CDW11).
    /// The data is read from the host and dropped; only which ranges arrived is kept.
    fn firmware_download<M: HostMemory>(&mut self, sqe: &Sqe, mem: &mut M) -> Result<u32, Status> {
        let count = u64::from(sqe.cdw10) + 1;
        let len = count * 4;
        if len > self.params.max_transfer() {
            return Err(Status::INVALID_FIELD);
        }
        let page = self.page_size();
        let buf = &mut self.buf;
        self.firmware.download(u64::from(sqe.cdw11), count, || {
            let mut prp = Prp::new(sqe.prp1, sqe.prp2, len, page)?;
            discard_in(mem, &mut prp, buf)
        })?;
        Ok(0)
    }

    fn get_log_page<M: HostMemory>(&mut self, sqe: &Sqe, mem: &mut M) -> Result<u32, Status> {
        let page = self.page_size();
        let lid = sqe.cdw10 as u8;
        let rae = sqe.cdw10 & 1 << 15 != 0;
        let numd = (u64::from(sqe.cdw11 & 0xffff) << 16 | u64::from(sqe.cdw10 >> 16)) + 1;
        let len = numd * 4;
        let offset = u64::from(sqe.cdw13) << 32 | u64::from(sqe.cdw12);
        self.buf.fill(0);
        let size = match lid {
            log_id::FIRMWARE_SLOT => Some(self.firmware.slot_log(&mut self.buf)),
            _ => self.logs.build(lid, &mut self.buf),
        }
        .ok_or(Status::INVALID_LOG_PAGE)?;
        // Commands Supported and Effects is the only command set specific log page: CDW14
        // 31:24 (CSI) picks the NVM or (with a zoned namespace) the Zoned Namespace
        // Command Set's.
        if lid == log_id::COMMAND_EFFECTS {
            match (sqe.cdw14 >> 24) as u8 {
                CSI_NVM => {}
                CSI_ZONED if self.params.has_zoned() => logs::zoned_effects(&mut self.buf),
                _ => return Err(Status::INVALID_FIELD),
            }
        }
        if len > self.params.max_transfer() || offset % 4 != 0 {
            return Err(Status::INVALID_FIELD);
        }
        if lid == log_id::SMART && sqe.nsid != 0 && sqe.nsid != 0xffff_ffff {
            // Identify Controller LPA bit 0 is clear: the SMART log is controller wide only.
            return Err(Status::INVALID_FIELD);
        }
        let start = usize::try_from(offset)
            .ok()
            .filter(|&o| o <= size)
            .ok_or(Status::INVALID_FIELD)?;
        let src = self.buf.get(start..size).unwrap_or(&[]);
        let mut prp = Prp::new(sqe.prp1, sqe.prp2, len, page)?;
        copy_out(mem, &mut prp, src)?;
        match lid {
            log_id::ERROR if !rae => self.events.unmask_errors(),
            log_id::CHANGED_NAMESPACES if !rae => {
                self.logs.clear_changed_namespaces();
                self.events.clear_notices();
            }
            _ => {}
        }
        Ok(0)
    }
}
