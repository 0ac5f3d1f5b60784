// SPDX-License-Identifier: GPL-2.0

//! Model of an NVMe controller (NVMe base specification 1.4, NVM command set, and the Zoned
//! Namespace Command Set 1.1) over PCIe.
//!
//! This is the pure first layer of nvmock's NVMe emulator: the controller registers of BAR0,
//! the admin and I/O queues, PRP data transfers, the admin commands a Linux host needs to bring
//! a controller up (and Format NVM, Namespace Management and Attachment, firmware download and
//! commit, the Timestamp feature), and the NVM I/O commands. It knows nothing about PCI configuration space, MSI-X tables or the
//! kernel; a later adapter drives it:
//!
//! - every MMIO access to BAR0 goes through [`Controller::mmio_read`] and
//!   [`Controller::mmio_write`]; these only update registers and doorbells, never touch host
//!   memory and never block;
//! - a worker calls [`Controller::process`] (or [`Controller::process_timed`]) whenever
//!   [`Controller::has_work`] says so: it finishes enabling and shutdown, fetches commands
//!   from submission queues round robin, executes them, posts completions and raises
//!   interrupts, doing at most `budget` units of work per call;
//! - [`Controller::attach_namespace`] and [`Controller::detach_namespace`] change which of the
//!   allocated namespaces are active, at any time (as the host's Namespace Attachment command
//!   does); [`Controller::advance_time`] tells the controller that milliseconds have passed
//!   (for the Timestamp feature).
//!
//! Side effects go through traits the caller implements: [`HostMemory`] (guest-physical
//! memory, for queues and data), [`Backing`] (namespace contents), [`InterruptSink`]
//! (interrupt vectors) and [`Timing`] (when a completion may be posted).
//!
//! # Guest input
//!
//! Everything the host driver controls (register values, doorbells, queue entries, PRP
//! entries and lists, command fields) is validated. Nothing a host does makes the model panic:
//! a bad command completes with an NVMe status, a bad doorbell raises an asynchronous event,
//! a bad controller configuration or an unreachable queue sets CSTS.CFS. The model is `no_std`,
//! uses only `core`, allocates nothing, and keeps all its state inline in [`Controller`].
//!
//! # Decisions where the specification leaves a choice
//!
//! - Enabling with an invalid configuration (admin queue of fewer than two entries, admin
//!   queue base not aligned to the page size, CC.IOSQES/IOCQES other than 6/4, unsupported
//!   CC.CSS, CC.AMS or CC.MPS) sets CSTS.CFS and leaves CSTS.RDY clear ([`EnableError`] says
//!   why). A host recovers by clearing CC.EN. ASQ and ACQ keep all 64 bits written (bits
//!   11:0 are not forced to zero) so that a misaligned base is seen when enabling.
//! - Create I/O Completion/Submission Queue with a PRP1 that is not page aligned fails with
//!   Invalid PRP Offset; a queue that would wrap around the address space with Invalid Field.
//! - A failed host memory access while fetching a command or posting a completion sets
//!   CSTS.CFS: there is no completion to report it in. A failed data or PRP list access
//!   completes the command with Data Transfer Error.
//! - A doorbell write to a queue that does not exist, or with a value that is out of range or
//!   would move the pointer backwards past entries not yet fetched (SQ tail) or not yet posted
//!   (CQ head), is ignored, recorded in the Error Information log and reported as an
//!   Asynchronous Event of type Error Status (Invalid Doorbell Register 00h / Invalid Doorbell
//!   Write Value 01h). Doorbells written while the controller is not ready are ignored.
//! - Commands execute when fetched; only their completion can be deferred by [`Timing`]. A
//!   deferred completion waits in a pool of [`PENDING_PER_QUEUE`] entries per queue pair (the
//!   last [`PENDING_PER_QUEUE`] kept for the admin queue) without holding up its submission
//!   queue: several commands of a queue can be in flight, each posted when it is due, earliest
//!   first (fetch order among equal times). A submission queue is not fetched from while its
//!   completion queue is full or the pool has no room for it. A controller reset drops the
//!   held completions.
//! - Interrupts: after each [`Controller::process`] call, every completion queue that got
//!   entries (and was created with interrupts enabled) raises its vector once. INTMS/INTMC
//!   mask vectors 0 to 31 whatever the interrupt mode; a masked vector is raised when
//!   unmasked. Interrupt Coalescing and Arbitration are stored and reported, not applied
//!   (arbitration is round robin, one command per queue per pass, admin queue included).
//! - Abort never finds a command to abort (commands complete when fetched; held completions
//!   have already executed) and completes with "command not aborted". Deleting a submission
//!   queue drops the commands still in it, and posts its held completions where there is
//!   room (dropping the others).
//! - Namespaces: the namespaces of [`Params`] are *slots* (NSIDs 1 to
//!   [`Params::namespace_count`], which is NN), each of a fixed capacity in bytes, the one
//!   [`Params`] gives it (what [`Backing`] holds for the NSID). A slot is unallocated, or holds
//!   a namespace, detached or attached; at first every slot holds the namespace of [`Params`],
//!   attached, with the slot's whole capacity (TNVMCAP is the sum of the slots' capacities,
//!   UNVMCAP that of the unallocated ones). Namespace Management create puts a namespace in
//!   the lowest-numbered unallocated slot that holds NSZE blocks of the format asked for,
//!   detached and zero filled (Write Fault, and nothing allocated, if the backing fails);
//!   Namespace Identifier Unavailable if no slot is unallocated, Namespace Insufficient
//!   Capacity if none is large enough; its NSID field must be 0 (Invalid Field otherwise);
//!   NCAP other than NSZE is Thin Provisioning Not Supported, a shared namespace (NMIC bit 0)
//!   Invalid Field, protection information (DPS) Invalid Format. Delete takes an allocated
//!   NSID or FFFFFFFFh (every allocated namespace); NSID 0, NSIDs beyond NN and unallocated
//!   slots are Invalid Namespace or Format. Deleting an attached namespace detaches it first
//!   (reported like any detach). Namespace Attachment takes an allocated NSID (0 and
//!   FFFFFFFFh are Invalid Field, others Invalid Namespace or Format) and a Controller List of
//!   exactly one entry, [`CONTROLLER_ID`] (CNTLID), otherwise Controller List Invalid. Both
//!   commands are Invalid Field with reserved CDW10 bits set or, for Namespace Management, a
//!   command set other than NVM (CDW11 CSI). Creating and deleting a detached namespace are
//!   not reported in the Changed Namespace List (no active namespace changes).
//! - A detached (inactive) NSID or an unallocated slot reads as a zero-filled Identify
//!   Namespace (CNS 00h; CNS 11h shows detached namespaces and zeroes for unallocated slots)
//!   and is left out of the Active Namespace ID list (the Allocated Namespace ID list, CNS
//!   10h, shows detached namespaces); Identify Namespace Identification Descriptors (CNS 03h)
//!   for it fail with Invalid Field in Command (the base specification's rule for inactive
//!   NSIDs, which CNS 03h refers to); I/O commands and Format NVM to it fail with Invalid
//!   Namespace or Format; broadcast Flush and Format NVM skip it. Identify Namespace for
//!   FFFFFFFFh reports what all namespaces have in common (the LBA formats). The Controller
//!   List of a namespace (CNS 12h) holds this controller if the namespace is attached, and is
//!   empty otherwise; the subsystem's (CNS 13h) always holds it. Slots, attachment, formats
//!   and contents are kept across controller resets. A namespace created again at an NSID
//!   gets a new NGUID.
//! - Every attach, detach (including that of a deleted namespace) and successful Format NVM
//!   of a namespace (even to the format it had) adds its NSID to the Changed Namespace List
//!   (each NSID once, ascending; with at most 16 namespaces it never overflows to FFFFFFFFh)
//!   and, if Asynchronous Event Configuration bit 8 is set at that moment, queues a Namespace
//!   Attribute Changed notice. Get Log Page 04h with RAE cleared empties the list, unmasks
//!   notices and drops a notice not reported yet; with RAE set it changes nothing. Error
//!   status events are reported before notices and are masked separately (each by its own log
//!   page).
//! - Format NVM: LBA format 0 (512-byte blocks) or 1 (4096-byte blocks), no metadata. A
//!   namespace keeps its capacity in bytes (its slot's for a namespace of [`Params`], NSZE
//!   times the block size it was created with for a created one); its block count is that
//!   divided by the block size, rounded down (so formatting back restores the block count),
//!   and a format that leaves no whole block fails with Invalid Format, as do protection
//!   information and PIL set; MSET is ignored (there is no metadata). Secure erase
//!   settings 000b and 001b both zero the whole namespace ([`Backing::zero`]); cryptographic
//!   erase and reserved values are Invalid Field. Everything is checked before any namespace
//!   is formatted; a backing failure completes with Write Fault, the failing namespace keeping
//!   its format.
//! - Firmware: seven slots, slot 1 read-only. Image bytes are not stored; pieces may arrive in
//!   any order (overlaps fail with Overlapping Range), at most eight separate pieces and
//!   [`FIRMWARE_IMAGE_MAX`] bytes (Invalid Field beyond). A commit that takes the downloaded
//!   image consumes it even when it is incomplete (Invalid Firmware Image). Firmware Slot 0
//!   picks a slot for a new image, but is Invalid Firmware Slot for activating an existing
//!   one. Activation without reset (011b) is supported and instantaneous (no Firmware
//!   Activation notices, CSTS.PP never set); 001b and 010b take effect at the next controller
//!   reset (CC.EN 1 -> 0), which also drops a partial download. Committed images get the
//!   revisions `IMG00001`, `IMG00002`, ...
//! - Timestamp: counted from [`Controller::advance_time`] (Synch reads 0); zero with origin
//!   000b after each controller reset, origin 001b once set; bytes 7:6 of the data Set Features
//!   sends are ignored; the default (and saved) value reads as zero.
//! - Commands Supported and Effects: Format NVM changes logical block contents and namespace
//!   capabilities and wants no other command outstanding (CSE 010b); Firmware Commit may
//!   change controller capabilities (the running revision); Namespace Management changes the
//!   namespace inventory, namespace capabilities and logical block contents; Namespace
//!   Attachment changes the namespace inventory; Write, Write Zeroes and Dataset Management
//!   change logical block contents.
//! - The controller reports NVMe 1.4: two LBA formats per namespace (512 and 4096 bytes), no
//!   metadata, no protection information, no SGLs, no fused operations, namespace management
//!   and attachment (OACS bit 3) for one controller (CMIC 0, private namespaces only, no
//!   thin provisioning, MNAN 0), no secure erase beyond
//!   user data erase, no boot partitions, no firmware activation notices, a volatile write
//!   cache that is always present (Flush reaches [`Backing::flush`]).
//! - Controller Memory Buffer and Persistent Memory Region (`cmb.rs`, `pmr.rs`): optional,
//!   each in a 64-bit prefetchable BAR of its own; their memory is the caller's
//!   ([`HostMemory::cmb`], [`HostMemory::pmr`]); DMA addresses in their controller memory
//!   space are served from it and counted, and both are kept across controller resets.
//! - I/O Command Set structures: Identify CNS 05h and 06h answer for the NVM Command Set
//!   (CSI 00h) with all-zero structures (no storage tags, protection information or
//!   extended LBA formats; no command size limits beyond MDTS), and CNS 08h (command set
//!   independent namespace: ready) for active namespaces. Without a zoned namespace, other
//!   CSIs are Invalid Field, CNS 1Ch lists the NVM Command Set alone and CAP.CSS does not
//!   advertise I/O Command Set selection, so Linux keeps to the NVM Command Set.
//! - Zoned namespaces (the Zoned Namespace Command Set, CSI 02h; [`Params::zoned`], the zone
//!   state machine and its decisions in `zns.rs`): with one, CAP.CSS also advertises I/O
//!   Command Set selection and CC.CSS 110b enables it (Linux then selects it); CNS 03h gives
//!   every namespace a CSI descriptor, CNS 05h/06h answer for CSI 02h (ZOC 0, OZCS, MAR,
//!   MOR, ZSZE per LBA format, ZASL), CNS 1Ch lists NVM and Zoned together, and Get Log Page
//!   Commands Supported and Effects takes the CSI (CDW14 31:24). Namespace Management never
//!   creates a namespace in a zoned slot (nor a zoned namespace: CSI 02h is Invalid Field);
//!   Format NVM keeps a zoned namespace's geometry in bytes (Invalid Format for a block size
//!   that does not divide it) and empties every zone.

mod admin;
pub mod cmb;
mod ctrl;
mod firmware;
pub mod function;
mod identify;
mod io;
mod logs;
pub mod msix;
mod ns;
mod params;
mod pending;
pub mod pmr;
mod prp;
mod queue;
pub mod regs;
mod shadow;
mod status;
pub mod timing;
mod zns;

pub use admin::opcode as admin_opcode;
pub use admin::{feature, AER_SLOTS};
pub use cmb::{Cmb, CmbConfig, CmbError};
pub use ctrl::{Controller, EnableError, MmioError, Progress, QueueInfo, State, BUF_SIZE};
pub use firmware::FIRMWARE_IMAGE_MAX;
pub use identify::CONTROLLER_ID;
pub use io::opcode as io_opcode;
pub use logs::{aen, log_id, ERROR_LOG_ENTRIES};
pub use ns::NsError;
pub use params::{Config, Namespace, NamespaceConfig, ParamError, Params, MAX_MDTS};
pub use params::{Zoned, ZonedConfig};
pub use params::{MAX_NAMESPACES, MAX_VECTORS};
pub use pending::PENDING_PER_QUEUE;
pub use pmr::{Pmr, PmrConfig, PmrError};
pub use prp::{Prp, Segment};
pub use queue::{Cqe, Sqe, CQE_SIZE, SQE_SIZE};
pub use shadow::{Bar, Pulled, Shadow};
pub use status::{Status, SCT_COMMAND, SCT_GENERIC, SCT_MEDIA};
pub use zns::{Zone, ZoneError, ZoneState, CSI_ZONED};

/// A failed access to host memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemError {
    /// No memory is there (or the access runs past its end).
    Unmapped,
    /// The memory exists but the access was refused (an IOMMU fault, for instance).
    Denied,
}

/// Guest-physical memory as the controller reaches it by DMA.
pub trait HostMemory {
    /// Reads `buf.len()` bytes at `addr`.
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError>;
    /// Writes `buf` at `addr`.
    fn write(&mut self, addr: u64, buf: &[u8]) -> Result<(), MemError>;
    /// The memory of the controller's CMB ([`cmb::Cmb::size`] bytes from its start), which
    /// the controller uses instead of [`HostMemory::read`] and [`HostMemory::write`] for
    /// addresses in its controller memory space. Defaults to none (such accesses fail).
    fn cmb(&mut self) -> Option<&mut [u8]> {
        None
    }
    /// The memory of the controller's PMR ([`pmr::Pmr::size`] bytes), as for
    /// [`HostMemory::cmb`].
    fn pmr(&mut self) -> Option<&mut [u8]> {
        None
    }
}

/// A failed access to namespace contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackingError {
    /// The medium could not be read or written.
    Io,
}

/// The contents of the namespaces.
///
/// Offsets are bytes from the start of namespace `nsid`. The model only asks for ranges that
/// lie inside the capacity [`Params`] declares for the NSID (its slot), whatever namespace
/// Namespace Management has put there and whatever its current LBA format; Format NVM and
/// Namespace Management create zero the namespace's whole capacity in bytes.
pub trait Backing {
    /// Reads `buf.len()` bytes at `offset` of namespace `nsid`.
    fn read(&mut self, nsid: u32, offset: u64, buf: &mut [u8]) -> Result<(), BackingError>;
    /// Writes `buf` at `offset` of namespace `nsid`.
    fn write(&mut self, nsid: u32, offset: u64, buf: &[u8]) -> Result<(), BackingError>;
    /// Zeroes `len` bytes at `offset` of namespace `nsid`.
    fn zero(&mut self, nsid: u32, offset: u64, len: u64) -> Result<(), BackingError>;
    /// Deallocates `len` bytes at `offset`; they must read as zeroes afterwards (the model
    /// reports DLFEAT "deallocated blocks read as zeroes"). Defaults to [`Backing::zero`].
    fn deallocate(&mut self, nsid: u32, offset: u64, len: u64) -> Result<(), BackingError> {
        self.zero(nsid, offset, len)
    }
    /// Makes everything written to namespace `nsid` durable. Defaults to doing nothing.
    fn flush(&mut self, nsid: u32) -> Result<(), BackingError> {
        let _ = nsid;
        Ok(())
    }
    /// The zone records of zoned namespace `nsid` (see [`Params::zoned`]): at least
    /// [`Zoned::zones`] of them, [`Zone::EMPTY`] when the namespace is new, kept with its
    /// contents and changed by the model only. The model asks only for zoned namespaces and
    /// touches only the first [`Zoned::zones`] records; without them (the default, `None`)
    /// every zoned command to the namespace fails with Internal Error.
    fn zones(&mut self, nsid: u32) -> Option<&mut [Zone]> {
        let _ = nsid;
        None
    }
}

/// Where the controller's interrupts go (an MSI-X vector, MSI, or INTx for vector 0).
pub trait InterruptSink {
    /// Signals interrupt `vector`.
    fn raise(&mut self, vector: u16);
}

/// When completions may be posted: the hook a timing model plugs into.
///
/// The controller calls [`Timing::complete_at`] once per command, in fetch order, right after
/// executing it. A time not after `now` posts the completion at once; a later one holds it
/// until a [`Controller::process_timed`] call whose `now` has reached it, while later
/// commands of the same submission queue are fetched and timed (up to the pool's capacity,
/// [`PENDING_PER_QUEUE`] per queue pair). `u64::MAX` withholds a completion until its queue
/// is deleted or the controller reset. Time units are the caller's.
pub trait Timing {
    /// The time at which the completion of `sqe`, fetched from submission queue `sqid` and
    /// finished with `status`, may be posted. Defaults to `now` (zero latency).
    fn complete_at(&mut self, now: u64, sqid: u16, sqe: &Sqe, status: Status) -> u64 {
        let _ = (sqid, sqe, status);
        now
    }
}

/// The default [`Timing`]: every completion is posted as soon as its command has executed.
#[derive(Clone, Copy, Debug, Default)]
pub struct ZeroLatency;

impl Timing for ZeroLatency {}
