// SPDX-License-Identifier: GPL-2.0

//! Completion status field values.

/// The Status Field of a completion queue entry: DW3 bits 31:17, stored here shifted down to
/// bits 14:0 (bits 7:0 Status Code, 10:8 Status Code Type, 12:11 Command Retry Delay,
/// 13 More, 14 Do Not Retry).
///
/// The constants carry no DNR bit; [`Status::finish`] adds it when a command completes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(u16);

/// Status Code Type: generic command status.
pub const SCT_GENERIC: u8 = 0;
/// Status Code Type: command specific status.
pub const SCT_COMMAND: u8 = 1;
/// Status Code Type: media and data integrity errors.
pub const SCT_MEDIA: u8 = 2;

const DNR: u16 = 1 << 14;
const MORE: u16 = 1 << 13;

impl Status {
    /// Successful completion.
    pub const SUCCESS: Status = Status::new(SCT_GENERIC, 0x00);
    /// Invalid Command Opcode.
    pub const INVALID_OPCODE: Status = Status::new(SCT_GENERIC, 0x01);
    /// Invalid Field in Command.
    pub const INVALID_FIELD: Status = Status::new(SCT_GENERIC, 0x02);
    /// Data Transfer Error.
    pub const DATA_TRANSFER_ERROR: Status = Status::new(SCT_GENERIC, 0x04);
    /// Internal Error.
    pub const INTERNAL_ERROR: Status = Status::new(SCT_GENERIC, 0x06);
    /// Invalid Namespace or Format.
    pub const INVALID_NAMESPACE: Status = Status::new(SCT_GENERIC, 0x0b);
    /// Command Sequence Error.
    pub const COMMAND_SEQUENCE_ERROR: Status = Status::new(SCT_GENERIC, 0x0c);
    /// Invalid PRP Offset.
    pub const INVALID_PRP_OFFSET: Status = Status::new(SCT_GENERIC, 0x13);
    /// LBA Out of Range.
    pub const LBA_OUT_OF_RANGE: Status = Status::new(SCT_GENERIC, 0x80);
    /// Completion Queue Invalid (Create I/O Submission Queue).
    pub const COMPLETION_QUEUE_INVALID: Status = Status::new(SCT_COMMAND, 0x00);
    /// Invalid Queue Identifier.
    pub const INVALID_QUEUE_ID: Status = Status::new(SCT_COMMAND, 0x01);
    /// Invalid Queue Size.
    pub const INVALID_QUEUE_SIZE: Status = Status::new(SCT_COMMAND, 0x02);
    /// Asynchronous Event Request Limit Exceeded.
    pub const AER_LIMIT_EXCEEDED: Status = Status::new(SCT_COMMAND, 0x05);
    /// Invalid Firmware Slot (Firmware Commit): the slot does not exist or is read-only.
    pub const INVALID_FIRMWARE_SLOT: Status = Status::new(SCT_COMMAND, 0x06);
    /// Invalid Firmware Image (Firmware Commit): no complete image to commit, or an empty slot
    /// to activate.
    pub const INVALID_FIRMWARE_IMAGE: Status = Status::new(SCT_COMMAND, 0x07);
    /// Invalid Interrupt Vector.
    pub const INVALID_INTERRUPT_VECTOR: Status = Status::new(SCT_COMMAND, 0x08);
    /// Invalid Log Page.
    pub const INVALID_LOG_PAGE: Status = Status::new(SCT_COMMAND, 0x09);
    /// Invalid Format (Format NVM, Namespace Management): an LBA format, protection
    /// information or metadata setting the namespace does not support.
    pub const INVALID_FORMAT: Status = Status::new(SCT_COMMAND, 0x0a);
    /// Invalid Queue Deletion (Delete I/O Completion Queue with submission queues attached).
    pub const INVALID_QUEUE_DELETION: Status = Status::new(SCT_COMMAND, 0x0c);
    /// Feature Identifier Not Saveable.
    pub const FEATURE_NOT_SAVEABLE: Status = Status::new(SCT_COMMAND, 0x0d);
    /// Overlapping Range (Firmware Image Download): the piece overlaps one already downloaded.
    pub const OVERLAPPING_RANGE: Status = Status::new(SCT_COMMAND, 0x14);
    /// Namespace Insufficient Capacity (Namespace Management): no free namespace slot is large
    /// enough for the namespace to create.
    pub const NAMESPACE_INSUFFICIENT_CAPACITY: Status = Status::new(SCT_COMMAND, 0x15);
    /// Namespace Identifier Unavailable (Namespace Management): every NSID is allocated.
    pub const NAMESPACE_ID_UNAVAILABLE: Status = Status::new(SCT_COMMAND, 0x16);
    /// Namespace Already Attached (Namespace Attachment).
    pub const NAMESPACE_ALREADY_ATTACHED: Status = Status::new(SCT_COMMAND, 0x18);
    /// Namespace Not Attached (Namespace Attachment).
    pub const NAMESPACE_NOT_ATTACHED: Status = Status::new(SCT_COMMAND, 0x1a);
    /// Thin Provisioning Not Supported (Namespace Management): NCAP differs from NSZE.
    pub const THIN_PROVISIONING_NOT_SUPPORTED: Status = Status::new(SCT_COMMAND, 0x1b);
    /// Controller List Invalid (Namespace Attachment): the list is empty or names a controller
    /// that is not this one.
    pub const CONTROLLER_LIST_INVALID: Status = Status::new(SCT_COMMAND, 0x1c);
    /// Zone Boundary Error (Zoned Namespace Command Set): the command spans zones (a read
    /// without Read Across Zone Boundaries) or runs past the zone capacity (a write).
    pub const ZONE_BOUNDARY_ERROR: Status = Status::new(SCT_COMMAND, 0xb8);
    /// Zone Is Full.
    pub const ZONE_IS_FULL: Status = Status::new(SCT_COMMAND, 0xb9);
    /// Zone Is Read Only.
    pub const ZONE_IS_READ_ONLY: Status = Status::new(SCT_COMMAND, 0xba);
    /// Zone Is Offline.
    pub const ZONE_IS_OFFLINE: Status = Status::new(SCT_COMMAND, 0xbb);
    /// Zone Invalid Write: a write that does not start at the zone's write pointer.
    pub const ZONE_INVALID_WRITE: Status = Status::new(SCT_COMMAND, 0xbc);
    /// Too Many Active Zones: the zone would become active past the namespace's limit.
    pub const ZONE_TOO_MANY_ACTIVE: Status = Status::new(SCT_COMMAND, 0xbd);
    /// Too Many Open Zones: the zone would be opened past the namespace's limit, and no
    /// implicitly opened zone can be closed to make room.
    pub const ZONE_TOO_MANY_OPEN: Status = Status::new(SCT_COMMAND, 0xbe);
    /// Zone Invalid State Transition: the Zone Management Send action does not apply to the
    /// zone's state.
    pub const ZONE_INVALID_TRANSITION: Status = Status::new(SCT_COMMAND, 0xbf);
    /// Write Fault.
    pub const WRITE_FAULT: Status = Status::new(SCT_MEDIA, 0x80);
    /// Unrecovered Read Error.
    pub const UNRECOVERED_READ_ERROR: Status = Status::new(SCT_MEDIA, 0x81);
    /// Compare Failure.
    pub const COMPARE_FAILURE: Status = Status::new(SCT_MEDIA, 0x85);

    /// The status with Status Code Type `sct` (3 bits) and Status Code `sc`.
    pub const fn new(sct: u8, sc: u8) -> Status {
        Status(((sct as u16) & 7) << 8 | sc as u16)
    }

    /// The status from the 15-bit Status Field value (bit 15 is dropped).
    pub const fn from_raw(raw: u16) -> Status {
        Status(raw & 0x7fff)
    }

    /// The 15-bit Status Field value.
    pub const fn raw(self) -> u16 {
        self.0
    }

    /// Status Code.
    pub const fn sc(self) -> u8 {
        self.0 as u8
    }

    /// Status Code Type.
    pub const fn sct(self) -> u8 {
        (self.0 >> 8) as u8 & 7
    }

    /// `(SCT, SC)`: the status without its DNR, More and CRD bits.
    pub const fn code(self) -> (u8, u8) {
        (self.sct(), self.sc())
    }

    /// Whether Do Not Retry is set.
    pub const fn dnr(self) -> bool {
        self.0 & DNR != 0
    }

    /// Whether More (more status in the Error Information log) is set.
    pub const fn more(self) -> bool {
        self.0 & MORE != 0
    }

    /// Whether this is a successful completion.
    pub const fn is_success(self) -> bool {
        self.sct() == SCT_GENERIC && self.sc() == 0
    }

    /// The status as the controller posts it: errors that would fail the same way again get
    /// Do Not Retry; transfer and media errors, which a retry may not hit, do not.
    pub const fn finish(self) -> Status {
        let transient = matches!(
            self.code(),
            (SCT_GENERIC, 0x00)
                | (SCT_GENERIC, 0x04)
                | (SCT_GENERIC, 0x06)
                | (SCT_MEDIA, 0x80)
                | (SCT_MEDIA, 0x81)
        );
        if transient {
            self
        } else {
            Status(self.0 | DNR)
        }
    }
}

impl core::fmt::Debug for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Status")
            .field("sct", &self.sct())
            .field("sc", &format_args!("{:#04x}", self.sc()))
            .field("dnr", &self.dnr())
            .finish()
    }
}
