// SPDX-License-Identifier: GPL-2.0

//! The controller: registers, state machine, doorbells and the processing loop.

use super::admin::{Features, Outcome};
use super::cmb::{self, DevMem};
use super::firmware::Firmware;
use super::logs::{aen, Events, Logs};
use super::ns::Namespaces;
use super::params::{ParamError, Params};
use super::pending::{Held, Pending};
use super::queue::{fits, Cq, Cqe, Sq, Sqe, CQE_SIZE, SQE_SIZE};
use super::regs::{self, Cc};
use super::status::Status;
use super::{Backing, HostMemory, InterruptSink, Timing, ZeroLatency};
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;

/// Size of the controller's data buffer (bounce buffer for I/O, Identify and log pages).
pub const BUF_SIZE: usize = 4096;

/// Where the controller is in its life cycle (CC.EN, CC.SHN, CSTS.RDY/SHST/CFS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// CC.EN is clear: CSTS reads 0, no queues exist.
    Disabled,
    /// CC.EN was set; the next [`Controller::process`] checks the configuration and becomes
    /// [`State::Ready`] or [`State::Fatal`]. CSTS.RDY is clear.
    Enabling,
    /// CSTS.RDY is set: commands are processed.
    Ready,
    /// CC.SHN was set: CSTS.SHST reads 01b until the next [`Controller::process`] completes the
    /// shutdown. No commands are fetched.
    ShutdownProcessing,
    /// CSTS.SHST reads 10b: shut down; only clearing CC.EN leaves this state.
    ShutdownComplete,
    /// CSTS.CFS is set (with CSTS.RDY as it was, `ready`): nothing is processed until the host
    /// clears CC.EN.
    Fatal {
        /// Whether CSTS.RDY stays set.
        ready: bool,
    },
}

/// Why enabling failed (and CSTS.CFS was set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnableError {
    /// CC.CSS is neither the NVM command set (000b) nor, with a zoned namespace, every
    /// supported I/O command set (110b).
    CommandSet,
    /// CC.AMS is not round robin.
    Arbitration,
    /// CC.MPS is outside CAP.MPSMIN..=CAP.MPSMAX.
    PageSize,
    /// CC.IOSQES is not 6 or CC.IOCQES is not 4.
    EntrySize,
    /// AQA.ASQS or AQA.ACQS is 0 (a one-entry queue).
    AdminQueueSize,
    /// ASQ or ACQ is not aligned to the memory page size, or the queue would wrap around the
    /// address space.
    AdminQueueBase,
}

/// A refused MMIO access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmioError {
    /// Not 4 bytes, or 8 bytes to something other than CAP, ASQ, ACQ or CMBMSC.
    Size,
    /// The offset is not aligned to the access size.
    Alignment,
    /// The access is beyond [`Controller::bar_size`].
    OutOfRange,
}

/// What a [`Controller::process`] call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Commands fetched from submission queues.
    pub fetched: u32,
    /// Completion queue entries posted (including asynchronous events).
    pub completed: u32,
    /// Work that could be done now is left (the budget ran out): call again.
    pub more: bool,
    /// The earliest time after the call's `now` at which a completion held back by the
    /// timing hook becomes due (withheld ones, due at `u64::MAX`, are left out). Completions already due
    /// but waiting for room in their completion queue are not counted: the host's CQ head
    /// doorbell frees the room.
    pub next_due: Option<u64>,
}

/// A snapshot of a queue, for diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueInfo {
    /// Base address.
    pub base: u64,
    /// Number of entries.
    pub entries: u32,
    /// Head pointer (controller's for a submission queue, host's for a completion queue).
    pub head: u32,
    /// Tail pointer (host's for a submission queue, controller's for a completion queue).
    pub tail: u32,
    /// Completion queue of a submission queue; interrupt vector of a completion queue.
    pub link: u16,
}

/// An NVMe controller with room for `QUEUES` queue pairs (the admin pair, ID 0, and
/// `QUEUES - 1` I/O pairs).
///
/// This is about 5 KiB plus 2.1 KiB per queue pair (88 bytes of queue state and the
/// [`PENDING_PER_QUEUE`](super::PENDING_PER_QUEUE) held completions of 32 bytes each; 41 KiB
/// for 17 pairs): in the kernel keep it in allocated memory, not on the stack.
///
/// # Invariants
///
/// - `2 <= QUEUES <= 65536` and `params.io_queues() < QUEUES` (checked by [`Controller::new`]).
/// - Queue 0 is live exactly while the state is [`State::Ready`], [`State::ShutdownProcessing`],
///   [`State::ShutdownComplete`] or [`State::Fatal`] reached from those; no queue is live while
///   [`State::Disabled`] or [`State::Enabling`].
/// - While CC.EN is set, CC.MPS selects a supported page size once the state has left
///   [`State::Enabling`] for anything but [`State::Fatal`], and CC changes only in EN and SHN.
/// - Every live submission queue posts to a live completion queue.
pub struct Controller<const QUEUES: usize> {
    pub(super) params: Params,
    pub(super) state: State,
    pub(super) enable_error: Option<EnableError>,
    pub(super) cc: u32,
    pub(super) aqa: u32,
    pub(super) asq: u64,
    pub(super) acq: u64,
    pub(super) intms: u32,
    /// Masked vectors (below 32) with an interrupt waiting for INTMC.
    pub(super) held_irqs: u32,
    pub(super) sqs: [Sq; QUEUES],
    pub(super) cqs: [Cq; QUEUES],
    pub(super) features: Features,
    pub(super) events: Events,
    pub(super) logs: Logs,
    /// The namespace slots: allocation, attachment and format (kept across resets).
    pub(super) namespaces: Namespaces,
    /// Firmware slots (kept across resets).
    pub(super) firmware: Firmware,
    /// Milliseconds counted by [`Controller::advance_time`] (kept across resets, wraps).
    pub(super) clock: u64,
    /// The submission queue the next round robin pass starts at.
    pub(super) rr: usize,
    /// A controller reset happened: the next [`Controller::process`] closes the open zones.
    pub(super) zones_closing: bool,
    /// Zone Management Receive commands executed, whatever their outcome (kept across
    /// resets): how many pages a host's zone report took.
    pub(super) zone_receives: u64,
    /// Completions the timing hook holds back until they are due (dropped by a reset).
    pub(super) pending: Pending<QUEUES>,
    /// The CMB and PMR, if any (kept across resets; see `cmb.rs`, `pmr.rs`).
    pub(super) devmem: DevMem,
    pub(super) buf: [u8; BUF_SIZE],
}

/// `x` modulo `n` (0 for `n == 0`).
fn wrap(x: usize, n: usize) -> usize {
    x.checked_rem(n).unwrap_or(0)
}

impl<const QUEUES: usize> Controller<QUEUES> {
    /// A disabled controller with parameters `params`.
    ///
    /// Fails with [`ParamError::IoQueues`] if `QUEUES` cannot hold the admin queue pair and
    /// `params.io_queues()` I/O queue pairs, or is above 65536.
    pub fn new(params: Params) -> Result<Self, ParamError> {
        if QUEUES > 1 << 16 || usize::from(params.io_queues()) >= QUEUES {
            return Err(ParamError::IoQueues);
        }
        // INVARIANT: checked above; disabled with no queues.
        Ok(Controller {
            params,
            state: State::Disabled,
            enable_error: None,
            cc: 0,
            aqa: 0,
            asq: 0,
            acq: 0,
            intms: 0,
            held_irqs: 0,
            sqs: [Sq::NONE; QUEUES],
            cqs: [Cq::NONE; QUEUES],
            features: Features::new(&params),
            events: Events::NEW,
            logs: Logs::NEW,
            namespaces: Namespaces::new(&params),
            firmware: Firmware::new(&params),
            clock: 0,
            rr: 0,
            zones_closing: false,
            zone_receives: 0,
            pending: Pending::NEW,
            devmem: DevMem::NEW,
            buf: [0; BUF_SIZE],
        })
    }

    /// [`Controller::new`], built directly in `slot` rather than on the stack and moved: the
    /// kernel's stacks are too small for a controller. Returns the initialised controller.
    pub fn init_in_place(
        slot: &mut MaybeUninit<Self>,
        params: Params,
    ) -> Result<&mut Self, ParamError> {
        if QUEUES > 1 << 16 || usize::from(params.io_queues()) >= QUEUES {
            return Err(ParamError::IoQueues);
        }
        let p = slot.as_mut_ptr();
        // Writes each listed field through a raw pointer to it, `$f`, with `$write`; the
        // never-run destructuring names the same fields, with no `..`: a field of
        // `Controller` missing from the list (or listed twice) fails to compile, so every
        // field is written exactly once.
        macro_rules! write_fields {
            ($($field:ident: |$f:ident| $write:expr,)*) => {
                let _every_field = |c: Self| {
                    let Self { $($field: _,)* } = c;
                };
                $(
                    let $f = addr_of_mut!((*p).$field);
                    $write;
                )*
            };
        }
        // SAFETY: `p` is valid for writes of a `Self` (it comes from `slot`). Every field is
        // written once through `addr_of_mut!` (`write_fields!` checks that the list is every
        // field; no reference to uninitialised memory is made, nothing is read or dropped),
        // the arrays element by element, before `slot` is declared initialised. INVARIANT:
        // as in `new`.
        unsafe {
            write_fields! {
                params: |f| f.write(params),
                state: |f| f.write(State::Disabled),
                enable_error: |f| f.write(None),
                cc: |f| f.write(0),
                aqa: |f| f.write(0),
                asq: |f| f.write(0),
                acq: |f| f.write(0),
                intms: |f| f.write(0),
                held_irqs: |f| f.write(0),
                sqs: |f| {
                    let sqs = f.cast::<Sq>();
                    for i in 0..QUEUES {
                        sqs.add(i).write(Sq::NONE);
                    }
                },
                cqs: |f| {
                    let cqs = f.cast::<Cq>();
                    for i in 0..QUEUES {
                        cqs.add(i).write(Cq::NONE);
                    }
                },
                features: |f| f.write(Features::new(&params)),
                events: |f| f.write(Events::NEW),
                logs: |f| f.write(Logs::NEW),
                namespaces: |f| f.write(Namespaces::new(&params)),
                firmware: |f| f.write(Firmware::new(&params)),
                clock: |f| f.write(0),
                rr: |f| f.write(0),
                zones_closing: |f| f.write(false),
                zone_receives: |f| f.write(0),
                pending: |f| Pending::init_raw(f),
                devmem: |f| f.write(DevMem::NEW),
                buf: |f| f.cast::<u8>().write_bytes(0, BUF_SIZE),
            }
            Ok(slot.assume_init_mut())
        }
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Why the last enable failed, if it did (cleared by a controller reset).
    pub fn enable_error(&self) -> Option<EnableError> {
        self.enable_error
    }

    /// Errors recorded in the Error Information log since the controller was created.
    pub fn error_count(&self) -> u64 {
        self.logs.error_count()
    }

    /// Whether the volatile write cache is enabled (feature 06h).
    pub fn write_cache_enabled(&self) -> bool {
        self.features.write_cache
    }

    /// Lets `ms` milliseconds pass on the controller's clock, which the Timestamp feature
    /// (0Eh) counts from: the model has no clock of its own, so the caller calls this as real
    /// (or simulated) time goes by, at whatever granularity it likes. Get Features Timestamp
    /// reports the value last set plus the milliseconds passed since (or the milliseconds
    /// since the last controller reset, origin 000b, if none was set). Works in any state.
    pub fn advance_time(&mut self, ms: u64) {
        self.clock = self.clock.wrapping_add(ms);
    }

    /// Submission queue `qid`, if it exists.
    pub fn sq_info(&self, qid: u16) -> Option<QueueInfo> {
        let sq = self.sqs.get(usize::from(qid)).filter(|q| q.live)?;
        Some(QueueInfo {
            base: sq.base,
            entries: sq.size,
            head: sq.head,
            tail: sq.tail,
            link: sq.cqid,
        })
    }

    /// Completion queue `qid`, if it exists.
    pub fn cq_info(&self, qid: u16) -> Option<QueueInfo> {
        let cq = self.cqs.get(usize::from(qid)).filter(|q| q.live)?;
        Some(QueueInfo {
            base: cq.base,
            entries: cq.size,
            head: cq.head,
            tail: cq.tail,
            link: cq.iv,
        })
    }

    /// Size of BAR0: the registers, then the doorbells of `QUEUES` queue pairs, rounded up to
    /// a power of two of at least 16 KiB.
    pub fn bar_size() -> u64 {
        let end = (QUEUES as u64)
            .saturating_mul(8)
            .saturating_add(regs::DOORBELLS);
        end.checked_next_power_of_two()
            .unwrap_or(1 << 63)
            .max(0x4000)
    }

    /// The memory page size (CC.MPS; 4 KiB if CC.MPS is unsupported, which it cannot be once
    /// the controller is ready).
    pub(super) fn page_size(&self) -> u64 {
        Cc(self.cc).page_size().unwrap_or(4096)
    }

    /// The CSTS value.
    pub fn csts(&self) -> u32 {
        match self.state {
            State::Disabled | State::Enabling => 0,
            State::Ready => regs::CSTS_RDY,
            State::ShutdownProcessing => regs::CSTS_RDY | regs::CSTS_SHST_OCCURRING,
            State::ShutdownComplete => regs::CSTS_RDY | regs::CSTS_SHST_COMPLETE,
            State::Fatal { ready } => regs::CSTS_CFS | u32::from(ready),
        }
    }

    // ---------------------------------------------------------------------------------------
    // State transitions: one function each.

    /// CC.EN 0 -> 1: Disabled -> Enabling.
    fn enable(&mut self) {
        match self.state {
            State::Disabled => self.state = State::Enabling,
            // CC.EN is already set in these states.
            State::Enabling
            | State::Ready
            | State::ShutdownProcessing
            | State::ShutdownComplete
            | State::Fatal { .. } => {}
        }
    }

    /// Enabling -> Ready, or Fatal if the configuration is invalid.
    fn finish_enable(&mut self) {
        match self.state {
            State::Enabling => match self.check_enable() {
                Ok((sq, cq)) => {
                    // INVARIANT: the admin queues become live with the Ready state, and CC
                    // (checked) is frozen but for EN and SHN from now on.
                    if let (Some(s), Some(c)) = (self.sqs.first_mut(), self.cqs.first_mut()) {
                        *s = sq;
                        *c = cq;
                    }
                    self.state = State::Ready;
                }
                Err(e) => {
                    self.enable_error = Some(e);
                    self.state = State::Fatal { ready: false };
                }
            },
            State::Disabled
            | State::Ready
            | State::ShutdownProcessing
            | State::ShutdownComplete
            | State::Fatal { .. } => {}
        }
    }

    /// The admin queues the configuration describes, or why it is invalid.
    fn check_enable(&self) -> Result<(Sq, Cq), EnableError> {
        let cc = Cc(self.cc);
        match cc.css() {
            0 => {}
            regs::CC_CSS_IO_SETS if self.params.has_zoned() => {}
            _ => return Err(EnableError::CommandSet),
        }
        if cc.ams() != 0 {
            return Err(EnableError::Arbitration);
        }
        let page = cc.page_size().ok_or(EnableError::PageSize)?;
        if cc.iosqes() != regs::IOSQES || cc.iocqes() != regs::IOCQES {
            return Err(EnableError::EntrySize);
        }
        let sq_entries = (self.aqa & 0xfff) + 1;
        let cq_entries = (self.aqa >> 16 & 0xfff) + 1;
        if sq_entries < 2 || cq_entries < 2 {
            return Err(EnableError::AdminQueueSize);
        }
        let aligned = |base: u64| base & (page - 1) == 0;
        if !aligned(self.asq)
            || !aligned(self.acq)
            || !fits(self.asq, sq_entries, SQE_SIZE)
            || !fits(self.acq, cq_entries, CQE_SIZE)
        {
            return Err(EnableError::AdminQueueBase);
        }
        Ok((
            Sq::new(self.asq, sq_entries, 0),
            Cq::new(self.acq, cq_entries, true, 0),
        ))
    }

    /// CC.EN 1 -> 0: controller reset, from any enabled state to Disabled. Deletes every
    /// queue, drops outstanding Asynchronous Event Requests and pending events, restores
    /// feature defaults and INTMS (the Timestamp restarts from zero), and drops a partial
    /// firmware download and activates the firmware committed for the next reset. Logs,
    /// namespaces (slots, attachment and format), firmware slots and AQA/ASQ/ACQ are kept.
    fn reset(&mut self) {
        match self.state {
            State::Disabled => {}
            State::Enabling
            | State::Ready
            | State::ShutdownProcessing
            | State::ShutdownComplete
            | State::Fatal { .. } => {
                // INVARIANT: no queue is live while disabled.
                self.sqs.fill(Sq::NONE);
                self.cqs.fill(Cq::NONE);
                self.features = Features::new(&self.params);
                self.features.timestamp_at = self.clock;
                self.events = Events::NEW;
                self.firmware.reset();
                self.intms = 0;
                self.held_irqs = 0;
                self.rr = 0;
                self.enable_error = None;
                self.zones_closing = self.params.has_zoned();
                self.pending.clear();
                self.state = State::Disabled;
            }
        }
    }

    /// CC.SHN set to normal or abrupt: Ready -> ShutdownProcessing. Ignored in other states
    /// (a controller that is not ready has nothing to shut down; a host does not shut down a
    /// controller that reports CFS).
    fn shutdown(&mut self) {
        match self.state {
            State::Ready => self.state = State::ShutdownProcessing,
            State::Disabled
            | State::Enabling
            | State::ShutdownProcessing
            | State::ShutdownComplete
            | State::Fatal { .. } => {}
        }
    }

    /// ShutdownProcessing -> ShutdownComplete, after flushing every namespace (a failing flush
    /// does not stop the shutdown).
    fn finish_shutdown<B: Backing>(&mut self, backing: &mut B) {
        match self.state {
            State::ShutdownProcessing => {
                for nsid in 1..=self.params.namespace_count() {
                    let _ = backing.flush(nsid);
                }
                self.zones_power_close(backing);
                self.state = State::ShutdownComplete;
            }
            State::Disabled
            | State::Enabling
            | State::Ready
            | State::ShutdownComplete
            | State::Fatal { .. } => {}
        }
    }

    /// A fatal error the host cannot be told about in a completion: sets CSTS.CFS.
    pub(super) fn fail(&mut self) {
        match self.state {
            State::Enabling => self.state = State::Fatal { ready: false },
            State::Ready | State::ShutdownProcessing | State::ShutdownComplete => {
                self.state = State::Fatal { ready: true }
            }
            State::Disabled | State::Fatal { .. } => {}
        }
    }

    // ---------------------------------------------------------------------------------------
    // MMIO.

    fn check_access(offset: u64, size: u8) -> Result<(), MmioError> {
        if size != 4 && size != 8 {
            return Err(MmioError::Size);
        }
        if !offset.is_multiple_of(u64::from(size)) {
            return Err(MmioError::Alignment);
        }
        if offset
            .checked_add(u64::from(size))
            .is_none_or(|end| end > Self::bar_size())
        {
            return Err(MmioError::OutOfRange);
        }
        if size == 8 && !matches!(offset, regs::CAP | regs::ASQ | regs::ACQ | cmb::CMBMSC) {
            return Err(MmioError::Size);
        }
        Ok(())
    }

    fn read32(&self, offset: u64) -> u32 {
        let cap = regs::cap(&self.params) | self.devmem_cap();
        match offset {
            0x00 => cap as u32,
            0x04 => (cap >> 32) as u32,
            regs::VS => regs::VERSION,
            regs::INTMS | regs::INTMC => self.intms,
            regs::CC => self.cc,
            regs::CSTS => self.csts(),
            regs::AQA => self.aqa,
            0x28 => self.asq as u32,
            0x2c => (self.asq >> 32) as u32,
            0x30 => self.acq as u32,
            0x34 => (self.acq >> 32) as u32,
            // The CMB and PMR registers if there are (`cmb.rs`, `pmr.rs`); reserved,
            // unsupported (NSSR, boot partitions) and doorbells read zero.
            _ => self.devmem_read(offset).unwrap_or(0),
        }
    }

    /// Reads `size` (4, or 8 for CAP, ASQ and ACQ) bytes of BAR0 at `offset`. Doorbells and
    /// reserved registers read as zero.
    pub fn mmio_read(&self, offset: u64, size: u8) -> Result<u64, MmioError> {
        Self::check_access(offset, size)?;
        let lo = u64::from(self.read32(offset));
        if size == 8 {
            Ok(u64::from(self.read32(offset + 4)) << 32 | lo)
        } else {
            Ok(lo)
        }
    }

    /// Writes the low `size` (4, or 8 for CAP, ASQ and ACQ) bytes of `value` to BAR0 at
    /// `offset`. Read-only and reserved registers ignore writes. State changes that take time
    /// (enabling, shutdown) and command processing happen in [`Controller::process`].
    pub fn mmio_write(&mut self, offset: u64, size: u8, value: u64) -> Result<(), MmioError> {
        Self::check_access(offset, size)?;
        if offset >= regs::DOORBELLS {
            self.doorbell(offset, value as u32);
        } else if size == 8 {
            self.write32(offset, value as u32);
            self.write32(offset + 4, (value >> 32) as u32);
        } else {
            self.write32(offset, value as u32);
        }
        Ok(())
    }

    fn write32(&mut self, offset: u64, v: u32) {
        let lo = |r: u64| r & !0xffff_ffff | u64::from(v);
        let hi = |r: u64| r & 0xffff_ffff | u64::from(v) << 32;
        match offset {
            regs::INTMS => self.intms |= v,
            regs::INTMC => self.intms &= !v,
            regs::CC => self.write_cc(v),
            regs::AQA => self.aqa = v & regs::AQA_WRITABLE,
            0x28 => self.asq = lo(self.asq),
            0x2c => self.asq = hi(self.asq),
            0x30 => self.acq = lo(self.acq),
            0x34 => self.acq = hi(self.acq),
            // CAP, VS and CSTS are read-only (CSTS.NSSRO is never set); NSSR is not supported.
            _ => {
                self.devmem_write(offset, v);
            }
        }
    }

    fn write_cc(&mut self, v: u32) {
        let v = v & regs::CC_WRITABLE;
        let old = Cc(self.cc);
        let new = Cc(v);
        match (old.en(), new.en()) {
            (false, false) => self.cc = v,
            (false, true) => {
                self.cc = v;
                self.enable();
            }
            (true, false) => {
                self.cc = v;
                self.reset();
            }
            (true, true) => {
                // INVARIANT: only EN and SHN change while enabled.
                self.cc = self.cc & !regs::CC_LIVE | v & regs::CC_LIVE;
                if old.shn() == 0 && matches!(new.shn(), 1 | 2) {
                    self.shutdown();
                }
            }
        }
    }

    /// A doorbell write (offset already checked to be a 4-byte access in BAR0).
    fn doorbell(&mut self, offset: u64, value: u32) {
        match self.state {
            State::Ready => {}
            State::Disabled
            | State::Enabling
            | State::ShutdownProcessing
            | State::ShutdownComplete
            | State::Fatal { .. } => return,
        }
        let index = offset.saturating_sub(regs::DOORBELLS) / 4;
        let qid = usize::try_from(index / 2).unwrap_or(usize::MAX);
        let rung = if index % 2 == 1 {
            self.cqs
                .get_mut(qid)
                .filter(|q| q.live)
                .map(|q| q.ring(value))
        } else {
            self.sqs
                .get_mut(qid)
                .filter(|q| q.live)
                .map(|q| q.ring(value))
        };
        let info = match rung {
            Some(Ok(())) => return,
            Some(Err(_)) => aen::INVALID_DOORBELL_VALUE,
            None => aen::INVALID_DOORBELL_REGISTER,
        };
        // Not tied to a command: SQID and CID 0xffff, status 0.
        self.logs.record_error(0xffff, 0xffff, Status::SUCCESS, 0);
        self.events.error(info);
    }

    // ---------------------------------------------------------------------------------------
    // Processing.

    /// Whether [`Controller::process`] has something to do at time `now`: a state transition
    /// to finish, a command to fetch, a due completion or an event to post, or an unmasked
    /// interrupt to raise.
    pub fn has_work(&self, now: u64) -> bool {
        match self.state {
            State::Enabling | State::ShutdownProcessing => true,
            State::Ready => {
                self.held_irqs & !self.intms != 0
                    || (self.events.ready() && self.cqs.first().is_some_and(|c| !c.is_full()))
                    || self.has_due(now)
                    || self
                        .sqs
                        .iter()
                        .enumerate()
                        .any(|(qid, sq)| self.can_fetch(qid, sq))
            }
            State::Disabled | State::ShutdownComplete | State::Fatal { .. } => false,
        }
    }

    /// Whether a command can be fetched from submission queue `qid`, `sq`: it has one, its
    /// completion queue has room, and so has the pool of held completions.
    fn can_fetch(&self, qid: usize, sq: &Sq) -> bool {
        sq.has_commands() && self.cq_room(sq.cqid) && self.pending.has_room(qid)
    }

    /// Whether completion queue `cqid` has room for an entry.
    fn cq_room(&self, cqid: u16) -> bool {
        self.cqs
            .get(usize::from(cqid))
            .is_some_and(|c| !c.is_full())
    }

    /// The completion queue of the submission queue a held completion came from.
    fn held_cq(&self, h: &Held) -> Option<u16> {
        self.sqs
            .get(usize::from(h.cqe.sq_id))
            .filter(|s| s.live)
            .map(|s| s.cqid)
    }

    /// Whether a held completion is due at `now` and has room in its completion queue.
    fn has_due(&self, now: u64) -> bool {
        (0..self.pending.due_count(now)).any(|i| {
            let h = self.pending.get(i);
            self.held_cq(&h).is_some_and(|cq| self.cq_room(cq))
        })
    }

    /// Completions held back by the timing hook, not yet posted.
    pub fn held_completions(&self) -> usize {
        self.pending.len()
    }

    /// The earliest time after `now` at which a held completion becomes due (withheld ones
    /// left out), as [`Progress::next_due`] reports it.
    pub fn next_due(&self, now: u64) -> Option<u64> {
        self.pending.next_due_after(now)
    }

    /// [`Controller::process_timed`] with zero-latency completions.
    pub fn process<M: HostMemory, B: Backing, I: InterruptSink>(
        &mut self,
        mem: &mut M,
        backing: &mut B,
        irq: &mut I,
        budget: u32,
    ) -> Progress {
        self.process_timed(mem, backing, irq, &mut ZeroLatency, 0, budget)
    }

    /// Does up to `budget` units of work at time `now`: finishes enabling or shutdown, or
    /// posts due completions and events, and fetches and executes commands (one unit each),
    /// visiting submission queues round robin, one command per queue per pass. Then raises the
    /// interrupt of every completion queue that got entries (unless its interrupts are
    /// disabled or its vector masked in INTMS).
    pub fn process_timed<M: HostMemory, B: Backing, I: InterruptSink, T: Timing>(
        &mut self,
        mem: &mut M,
        backing: &mut B,
        irq: &mut I,
        timing: &mut T,
        now: u64,
        budget: u32,
    ) -> Progress {
        let mut p = Progress::default();
        if self.zones_closing {
            self.zones_closing = false;
            self.zones_power_close(backing);
        }
        match self.state {
            State::Enabling => self.finish_enable(),
            State::ShutdownProcessing => self.finish_shutdown(backing),
            State::Ready => {
                // DMA to the controller's own CMB or PMR is served from it (and counted).
                let mut mem = self.routed(mem);
                self.run(&mut mem, backing, timing, now, budget, &mut p);
                self.count_served(&mem);
            }
            State::Disabled | State::ShutdownComplete | State::Fatal { .. } => {}
        }
        self.interrupts(irq);
        p.more = self.has_work(now);
        p.next_due = self.next_due(now);
        p
    }

    fn run<M: HostMemory, B: Backing, T: Timing>(
        &mut self,
        mem: &mut M,
        backing: &mut B,
        timing: &mut T,
        now: u64,
        mut budget: u32,
        p: &mut Progress,
    ) {
        while budget > 0 && self.state == State::Ready {
            let mut worked = false;
            let posted = self.post_due(mem, now, budget);
            if posted > 0 {
                budget -= posted;
                p.completed += posted;
                worked = true;
            }
            if budget > 0 && self.deliver_event(mem) {
                budget -= 1;
                p.completed += 1;
                worked = true;
            }
            let mut visited = 0;
            while visited < QUEUES && budget > 0 && self.state == State::Ready {
                let qid = wrap(self.rr + visited, QUEUES);
                visited += 1;
                if self.service(qid, mem, backing, timing, now, p) {
                    budget -= 1;
                    worked = true;
                }
            }
            // The next pass (or call) starts after the last queue visited.
            self.rr = wrap(self.rr + visited, QUEUES);
            if !worked {
                break;
            }
        }
    }

    /// Reports a waiting asynchronous event in an outstanding request, if the admin completion
    /// queue has room.
    fn deliver_event<M: HostMemory>(&mut self, mem: &mut M) -> bool {
        if !self.events.ready() || self.cqs.first().is_none_or(|c| c.is_full()) {
            return false;
        }
        let Some((cid, result)) = self.events.take() else {
            return false;
        };
        let cqe = Cqe {
            result,
            dw1: 0,
            sq_head: 0,
            sq_id: 0,
            cid,
            phase: false,
            status: Status::SUCCESS,
        };
        self.post(0, cqe, mem);
        true
    }

    /// Posts up to `budget` held completions due at `now`, earliest first (those whose
    /// completion queue is full stay held). Returns how many it posted.
    fn post_due<M: HostMemory>(&mut self, mem: &mut M, now: u64, budget: u32) -> u32 {
        let due = self.pending.due_count(now);
        let mut posted = 0;
        for i in 0..due {
            if posted >= budget || self.state != State::Ready {
                break;
            }
            let h = self.pending.get(i);
            match self.held_cq(&h) {
                Some(cq) => {
                    if self.post(cq, h.cqe, mem) {
                        posted += 1;
                        self.pending.mark_posted(i);
                    }
                }
                // Its queue is gone (deletion takes its entries out first): drop it.
                None => self.pending.mark_posted(i),
            }
        }
        self.pending.sweep_front(due);
        posted
    }

    /// Takes the held completions of submission queue `qid` out of the pool, posting each
    /// (earliest first) if its completion queue has room: the queue is being deleted.
    pub(super) fn flush_held<M: HostMemory>(&mut self, qid: u16, mem: &mut M) {
        let cq = self
            .sqs
            .get(usize::from(qid))
            .filter(|s| s.live)
            .map(|s| s.cqid);
        let len = self.pending.len();
        for i in 0..len {
            let h = self.pending.get(i);
            if h.cqe.sq_id != qid {
                continue;
            }
            if let Some(cq) = cq {
                self.post(cq, h.cqe, mem);
            }
            self.pending.mark_posted(i);
        }
        self.pending.sweep_front(len);
    }

    /// Fetches and executes the next command of submission queue `qid`, posting its completion
    /// or holding it until it is due. Returns whether it did.
    fn service<M: HostMemory, B: Backing, T: Timing>(
        &mut self,
        qid: usize,
        mem: &mut M,
        backing: &mut B,
        timing: &mut T,
        now: u64,
        p: &mut Progress,
    ) -> bool {
        let Some(sq) = self.sqs.get(qid).copied().filter(|q| q.live) else {
            return false;
        };
        if !self.can_fetch(qid, &sq) {
            return false;
        }
        let Some(addr) = self.sqs.get_mut(qid).and_then(Sq::pop) else {
            return false;
        };
        let mut raw = [0u8; 64];
        if mem.read(addr, &mut raw).is_err() {
            self.fail();
            return true;
        }
        p.fetched += 1;
        let sqe = Sqe::from_bytes(&raw);
        // QUEUES <= 65536.
        let sqid = qid as u16;
        let r = if qid == 0 {
            match self.admin(&sqe, mem, backing) {
                Outcome::Complete(r) => r.map(u64::from),
                Outcome::Held => return true,
            }
        } else {
            self.io(&sqe, mem, backing)
        };
        let (result, status) = match r {
            Ok(result) => (result, Status::SUCCESS),
            Err(s) => {
                self.logs
                    .record_error(sqid, sqe.cid(), s.finish(), sqe.nsid);
                (0, s)
            }
        };
        let cqe = Cqe {
            result: result as u32,
            dw1: (result >> 32) as u32,
            sq_head: 0,
            sq_id: sqid,
            cid: sqe.cid(),
            phase: false,
            status: status.finish(),
        };
        let due = timing.complete_at(now, sqid, &sqe, status);
        if due <= now && self.post(sq.cqid, cqe, mem) {
            p.completed += 1;
        } else if self.state == State::Ready && self.sqs.get(qid).is_some_and(|q| q.live) {
            // Room was checked before the fetch (`can_fetch`); admin commands that delete
            // this queue or reset do not come through here.
            let _ = self.pending.insert(Held::new(cqe, due));
        }
        true
    }

    /// Posts `cqe` on completion queue `cqid`, filling in the SQ head and phase. Returns
    /// `false` if the queue is full or missing, or if host memory refused the write (which is
    /// fatal).
    pub(super) fn post<M: HostMemory>(&mut self, cqid: u16, mut cqe: Cqe, mem: &mut M) -> bool {
        let Some((addr, phase)) = self.cqs.get(usize::from(cqid)).and_then(Cq::slot) else {
            return false;
        };
        let head = self.sqs.get(usize::from(cqe.sq_id)).map_or(0, |s| s.head);
        // Queues have at most 65536 entries.
        cqe.sq_head = head as u16;
        cqe.phase = phase;
        if mem.write(addr, &cqe.to_bytes()).is_err() {
            self.fail();
            return false;
        }
        if let Some(cq) = self.cqs.get_mut(usize::from(cqid)) {
            cq.advance();
        }
        true
    }

    /// Raises the vector of every completion queue that got entries, and the vectors unmasked
    /// since they were held.
    fn interrupts<I: InterruptSink>(&mut self, irq: &mut I) {
        for cq in self.cqs.iter_mut() {
            if !cq.notify {
                continue;
            }
            cq.notify = false;
            if !cq.ien {
                continue;
            }
            let bit = 1u32.checked_shl(u32::from(cq.iv)).unwrap_or(0);
            if self.intms & bit != 0 {
                self.held_irqs |= bit;
            } else {
                irq.raise(cq.iv);
            }
        }
        let mut due = self.held_irqs & !self.intms;
        self.held_irqs &= self.intms;
        while due != 0 {
            let v = due.trailing_zeros();
            due &= due - 1;
            irq.raise(v as u16);
        }
    }
}
