// SPDX-License-Identifier: GPL-2.0

//! When an emulated controller's completions are posted: its timing model, its clock, and its
//! counters.
//!
//! Each controller has a timing model (`model::nvme::timing`), chosen by its profile
//! ([`TimingProfile`]): `none` (the default: completions as soon as the command has
//! executed), `simple` (latency, bandwidth and slots, NVMeVirt's first model) or `nand`
//! (channels, dies, flash times, write buffer, FTL with garbage collection), with their
//! parameters, or a preset (`optane-like`, `970pro-like`). The controller's clock counts
//! nanoseconds of the monotonic clock from the controller's creation; the poller passes it to
//! the model with every command ([`EngineTiming::process`]) and sleeps until the earliest
//! completion that is due (see `dev.rs`).
//!
//! A `nand` model covers the namespaces' capacity: its logical space is every namespace's
//! bytes, one after the other (NSID 1 first), and its geometry the preset's (or the
//! profile's) with the fewest blocks per die that hold it (`NandParams::with_capacity`).
//!
//! The counters (`Counters` of the model, the most completions held at once and the Abort
//! commands seen) are in debugfs, `nvmock_nvme<instance>/timing`.

use crate::model::nvme::timing::{
    presets::{self, Preset},
    AnyModel, Counters, Model, ModelTiming, NandParams, ParamError, SimpleParams, MAX_SLOTS,
};
use crate::model::nvme::{
    admin_opcode, Backing, Controller, HostMemory, InterruptSink, Params, Progress, Sqe, Status,
    Timing,
};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::alloc::KVVec;
use kernel::debugfs::{Dir, File};
use core::fmt;
use kernel::prelude::*;
use kernel::str::CString;
use kernel::sync::Mutex;
use kernel::time::{Instant, Monotonic};

/// Slots a `simple` model can have (the models' maximum).
pub(crate) const SLOTS: usize = MAX_SLOTS;
/// Dies (`channels × luns`) a `nand` model can have.
pub(crate) const DIES: usize = 32;

/// A controller's model, whichever it is; a `nand` model's tables are vmalloc'ed.
pub(crate) type AnyTiming = AnyModel<KVVec<u32>, SLOTS, DIES>;

/// Which model a profile asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `none`.
    None,
    /// `simple`, with [`TimingProfile::simple`].
    Simple,
    /// `nand`, with [`TimingProfile::nand`].
    Nand,
}

/// The timing part of a controller's profile: the model and the parameters of each model
/// (kept when another model is chosen, so that `timing` can be switched back and forth).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimingProfile {
    /// The model.
    pub(crate) kind: Kind,
    /// Parameters of the `simple` model (`optane-like` at first).
    pub(crate) simple: SimpleParams,
    /// Parameters of the `nand` model (`970pro-like` at first; `capacity` and
    /// `blocks_per_lun` are derived from the namespaces when the controller is created).
    pub(crate) nand: NandParams,
}

impl Default for TimingProfile {
    fn default() -> Self {
        TimingProfile {
            kind: Kind::None,
            simple: presets::OPTANE_LIKE,
            nand: presets::PRO970_LIKE,
        }
    }
}

impl TimingProfile {
    /// Chooses the model called `name`: `none`, `simple` or `nand` (keeping that model's
    /// parameters), or a preset (taking its parameters). `EINVAL` for another name.
    pub(crate) fn select(&mut self, name: &str) -> Result {
        match name {
            "none" => self.kind = Kind::None,
            "simple" => self.kind = Kind::Simple,
            "nand" => self.kind = Kind::Nand,
            _ => match presets::by_name(name).ok_or(EINVAL)? {
                Preset::None => self.kind = Kind::None,
                Preset::Simple(p) => {
                    self.kind = Kind::Simple;
                    self.simple = p;
                }
                Preset::Nand(p) => {
                    self.kind = Kind::Nand;
                    self.nand = p;
                }
            },
        }
        Ok(())
    }

    /// The profile of preset number `index` of [`presets::PRESETS`] (for module parameters).
    pub(crate) fn from_preset_index(index: u32) -> Option<Self> {
        let (name, _) = presets::PRESETS.get(usize::try_from(index).ok()?)?;
        let mut t = TimingProfile::default();
        t.select(name).ok()?;
        Some(t)
    }

    /// The model's name.
    pub(crate) fn name(&self) -> &'static str {
        match self.kind {
            Kind::None => "none",
            Kind::Simple => "simple",
            Kind::Nand => "nand",
        }
    }

    /// The model to build for namespaces of `bytes` bytes in all, or the parameter that is
    /// wrong and why. Both models are checked, so that a bad value is refused when it is
    /// written whichever model is chosen.
    pub(crate) fn preset(&self, bytes: u64) -> Result<Preset, ParamError> {
        self.simple.check(SLOTS)?;
        let capacity = (bytes / 4096 * 4096).max(4096);
        let nand = self.nand.with_capacity(capacity)?;
        nand.check(DIES)?;
        Ok(match self.kind {
            Kind::None => Preset::None,
            Kind::Simple => Preset::Simple(self.simple),
            Kind::Nand => Preset::Nand(nand),
        })
    }
}

/// What debugfs shows of a controller's timing.
#[derive(Clone, Copy, Default)]
pub(crate) struct Report {
    /// The model's counters.
    pub(crate) counters: Counters,
    /// Most completions the controller held at once.
    pub(crate) peak_held: u64,
    /// Abort commands the controller received.
    pub(crate) aborts: u64,
    /// The model (`none`, `simple`, `nand`).
    pub(crate) model: &'static str,
}

fn report_show(r: &Mutex<Report>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let r = *r.lock();
    let c = &r.counters;
    writeln!(f, "model {}", r.model)?;
    writeln!(f, "reads {}", c.reads)?;
    writeln!(f, "writes {}", c.writes)?;
    writeln!(f, "flushes {}", c.flushes)?;
    writeln!(f, "host_pages_written {}", c.host_pages_written)?;
    writeln!(f, "nand_pages_written {}", c.nand_pages_written)?;
    writeln!(f, "gc_runs {}", c.gc_runs)?;
    writeln!(f, "waf_x1000 {}", c.waf_x1000())?;
    writeln!(f, "wb_stalls {}", c.wb_stalls)?;
    writeln!(f, "peak_held {}", r.peak_held)?;
    writeln!(f, "aborts {}", r.aborts)
}

/// The [`Timing`] hook of a controller: the model, with completions withheld on request.
struct Hook<'a> {
    model: ModelTiming<'a, AnyTiming>,
    withhold: &'a AtomicU32,
    aborts: &'a mut u64,
}

impl Timing for Hook<'_> {
    fn complete_at(&mut self, now: u64, sqid: u16, sqe: &Sqe, status: Status) -> u64 {
        if sqid == 0 && sqe.opcode() == admin_opcode::ABORT {
            *self.aborts += 1;
        }
        let take = |n: u32| n.checked_sub(1);
        if sqid != 0
            && self
                .withhold
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, take)
                .is_ok()
        {
            // Withheld: never due (posted only if the host deletes the queue).
            return u64::MAX;
        }
        self.model.complete_at(now, sqid, sqe, status)
    }
}

/// The model `profile` asks for, covering the namespaces of `params` (controller
/// `instance`, for the messages).
fn build(profile: &TimingProfile, params: &Params, instance: u32) -> Result<KBox<AnyTiming>> {
    let mut offsets = [(0u64, 0u64); crate::model::nvme::MAX_NAMESPACES];
    let mut bytes = 0u64;
    for (nsid, o) in (1..=params.namespace_count()).zip(offsets.iter_mut()) {
        let len = params.namespace(nsid).map_or(0, |n| n.bytes()) / 4096 * 4096;
        *o = (bytes, len);
        bytes = bytes.saturating_add(len);
    }
    let refused = |e: ParamError| {
        pr_err!("nvme profile {}: timing: {} {}\n", instance, e.param, e.rule);
        EINVAL
    };
    let preset = profile.preset(bytes).map_err(refused)?;
    let table = match preset {
        Preset::Nand(p) => {
            let len = p.table_len().map_err(refused)?;
            KVVec::from_elem(0u32, len, GFP_KERNEL)?
        }
        Preset::None | Preset::Simple(_) => KVVec::new(),
    };
    let mut model = KBox::new(AnyModel::from_preset(preset, table).map_err(refused)?, GFP_KERNEL)?;
    if let AnyModel::Nand(n) = &mut *model {
        for (i, &(offset, len)) in offsets.iter().enumerate() {
            if len != 0 {
                // i < MAX_NAMESPACES = 16.
                n.set_namespace(i as u32 + 1, offset, len).map_err(refused)?;
            }
        }
    }
    Ok(model)
}

/// A controller's timing state, which the poller uses under the engine's lock.
pub(crate) struct EngineTiming {
    model: KBox<AnyTiming>,
    /// The controller's clock starts here.
    start: Instant<Monotonic>,
    report: Report,
    /// `nvmock_nvme<instance>/timing` in debugfs.
    file: Pin<KBox<File<Mutex<Report>>>>,
    _dir: Dir,
}

impl EngineTiming {
    /// The model `profile` asks for, for a controller `instance` with `params`; a bad
    /// parameter is refused with its name in the kernel log.
    pub(crate) fn new(profile: &TimingProfile, params: &Params, instance: u32) -> Result<Self> {
        let model = build(profile, params, instance)?;
        let report = Report {
            model: profile.name(),
            ..Report::default()
        };
        let name = CString::try_from_fmt(fmt!("nvmock_nvme{}", instance))?;
        let dir = Dir::new(&name);
        let file = KBox::pin_init(
            dir.read_callback_file(c"timing", kernel::new_mutex!(report), &report_show),
            GFP_KERNEL,
        )?;
        Ok(EngineTiming {
            model,
            start: Instant::now(),
            report,
            file,
            _dir: dir,
        })
    }

    /// The controller's clock: nanoseconds since it was created.
    pub(crate) fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(0)
    }

    /// Runs the controller at `now` with this model ([`Controller::process_timed`]); I/O
    /// completions are withheld while `withhold` counts down.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn process<const Q: usize, M: HostMemory, B: Backing, I: InterruptSink>(
        &mut self,
        ctrl: &mut Controller<Q>,
        mem: &mut M,
        backing: &mut B,
        irq: &mut I,
        withhold: &AtomicU32,
        now: u64,
        budget: u32,
    ) -> Progress {
        let lba_sizes = |nsid| ctrl.lba_size(nsid);
        let model = ModelTiming::new(&mut *self.model, lba_sizes);
        let mut hook = Hook {
            model,
            withhold,
            aborts: &mut self.report.aborts,
        };
        let p = ctrl.process_timed(mem, backing, irq, &mut hook, now, budget);
        if p.fetched != 0 || p.completed != 0 {
            let held = ctrl.held_completions() as u64;
            self.report.peak_held = self.report.peak_held.max(held);
            self.report.counters = self.model.counters();
            *self.file.lock() = self.report;
        }
        p
    }

    /// What debugfs shows.
    pub(crate) fn report(&self) -> Report {
        self.report
    }
}
