// SPDX-License-Identifier: GPL-2.0

//! When an emulated controller's completions are posted: its timing model, its clock, and its
//! counters.
//!
//! Each controller has a timing model (`model::nvme::timing`), chosen by its profile
//! ([`TimingProfile`]): `none` (the default: completions as soon as the command has
//! executed), `simple` (latency, bandwidth and slots, NVMeVirt's first model), `nand`
//! (channels, dies, flash times, write buffer, FTL with garbage collection) or `zms`
//! (consumer zoned storage as ConZone models it: pSLC in front of TLC/QLC, write buffers
//! shared by the zones, an L2P mapping cache), with their parameters, or a preset
//! (`optane-like`, `970pro-like`, `conzone-like`, `zn540-like`). The controller's clock counts
//! nanoseconds of the monotonic clock from the controller's creation; the poller passes it to
//! the model with every command ([`EngineTiming::process`]) and sleeps until the earliest
//! completion that is due (see `dev.rs`).
//!
//! A `nand` model covers the namespaces' capacity: its logical space is every namespace's
//! bytes, one after the other (NSID 1 first), and its geometry the preset's (or the
//! profile's) with the fewest blocks per die that hold it (`NandParams::with_capacity`).
//!
//! A `zms` model times the controller's zoned namespaces ([`ZonedTiming`]): one model for all
//! of them, their zones one after the other (NSID order) as the model's zones, so that they
//! share its dies, buffers and cache as the namespaces of one device do. Its geometry is the
//! preset's (or the profile's) fitted to the namespaces' zones (`ZmsParams::for_zones`): the
//! superblock becomes the zone capacity, which must therefore be a whole number of the
//! preset's superblock steps (`conzone-like`: 1536 KiB, `zn540-like`: 3 MiB); a profile
//! without a zoned namespace, with zoned namespaces of different geometries, or with a zone
//! capacity the preset cannot hold is refused when the controller is made, with the
//! attribute named. Conventional namespaces beside them (ConZone keeps file-system metadata
//! on one) are timed by a `simple` model that reads like pSLC and writes like the buffers
//! ([`conventional`]), apart from the zoned media's dies and buffers.
//!
//! The counters (`Counters` of the model, the most completions held at once and the Abort
//! commands seen; for `zms` also the model's own counters, what its cache and pSLC hold, and
//! the zoned namespaces' zones per state, counted from the controller's zone records) are in
//! debugfs, `nvmock_nvme<instance>/timing`.

use crate::model::nvme::timing::{
    presets::{self, Preset},
    transfer_ns, AnyModel, Command, Counters, MapUnit, Model, ModelTiming, NandParams, NoDelay, Op,
    ParamError, Simple, SimpleParams, Zms, ZmsCounters, ZmsParams, MAX_LATENCY, MAX_SLOTS,
    NS_PER_SEC, UNIT,
};
use crate::model::nvme::{
    admin_opcode, Backing, Controller, HostMemory, InterruptSink, Params, Progress, Sqe, Status,
    Timing, ZoneState, MAX_NAMESPACES,
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
/// Dies (`channels × luns`) a `nand` or `zms` model can have.
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
    /// `zms`, with [`TimingProfile::zms`].
    Zms,
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
    /// Parameters of the `zms` model (`conzone-like` at first; `zone_size`, `zones` and
    /// `pages_per_block` are derived from the zoned namespaces when the controller is
    /// created).
    pub(crate) zms: ZmsParams,
}

impl Default for TimingProfile {
    fn default() -> Self {
        TimingProfile {
            kind: Kind::None,
            simple: presets::OPTANE_LIKE,
            nand: presets::PRO970_LIKE,
            zms: presets::CONZONE_LIKE,
        }
    }
}

impl TimingProfile {
    /// Chooses the model called `name`: `none`, `simple`, `nand` or `zms` (keeping that
    /// model's parameters), or a preset (taking its parameters). `EINVAL` for another name.
    pub(crate) fn select(&mut self, name: &str) -> Result {
        if let Some(p) = presets::zms_by_name(name) {
            self.kind = Kind::Zms;
            self.zms = p;
            return Ok(());
        }
        match name {
            "none" => self.kind = Kind::None,
            "simple" => self.kind = Kind::Simple,
            "nand" => self.kind = Kind::Nand,
            "zms" => self.kind = Kind::Zms,
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

    /// The profile of preset number `index` of [`presets::PRESETS`] followed by
    /// [`presets::ZMS_PRESETS`] (for module parameters): 0 `none`, 1 `optane-like`,
    /// 2 `970pro-like`, 3 `conzone-like`, 4 `zn540-like`.
    pub(crate) fn from_preset_index(index: u32) -> Option<Self> {
        let i = usize::try_from(index).ok()?;
        let name = match presets::PRESETS.get(i) {
            Some((name, _)) => name,
            None => presets::ZMS_PRESETS.get(i - presets::PRESETS.len())?.0,
        };
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
            Kind::Zms => "zms",
        }
    }

    /// The model to build for namespaces of `bytes` bytes in all (`None` for `zms`, which
    /// [`ZonedTiming::new_boxed`] builds from the zoned namespaces), or the parameter that is wrong
    /// and why. Every model is checked (`zms` with its own zone geometry), so that a bad value
    /// is refused when it is written whichever model is chosen.
    // Not inlined (nor the builders below): inlined into one caller, the models' temporaries
    // made a 14 KiB frame, past the end of UML's 16 KiB kernel stack with KASAN.
    #[inline(never)]
    pub(crate) fn preset(&self, bytes: u64) -> Result<Option<Preset>, ParamError> {
        self.simple.check(SLOTS)?;
        let capacity = (bytes / 4096 * 4096).max(4096);
        let nand = self.nand.with_capacity(capacity)?;
        nand.check(DIES)?;
        self.zms.check(DIES)?;
        Ok(match self.kind {
            Kind::None => Some(Preset::None),
            Kind::Simple => Some(Preset::Simple(self.simple)),
            Kind::Nand => Some(Preset::Nand(nand)),
            Kind::Zms => None,
        })
    }
}

/// The `simple` parameters that time a conventional namespace of a `zms` controller: its data
/// is kept like pSLC, so a 4 KiB read takes the firmware's time, a pSLC read and the transfers
/// over a channel and the PCIe link; a write lands in a buffer (the firmware's time and the
/// PCIe transfer). `channels × luns` slots (the dies); the read bandwidth is what the slots
/// give at that latency, the write bandwidth the lower of the PCIe link's and what pSLC
/// programs on every die and plane take (a lone 4 KiB write takes the longer of its latency
/// and a slot's share of that bandwidth, as the `simple` model has it).
pub(crate) fn conventional(p: &ZmsParams) -> SimpleParams {
    let slots = p
        .channels
        .saturating_mul(p.luns)
        .clamp(1, SLOTS as u32);
    let read_latency = p
        .fw_read_4k
        .saturating_add(p.tr_slc)
        .saturating_add(transfer_ns(UNIT, p.channel_bw))
        .saturating_add(transfer_ns(UNIT, p.pcie_bw))
        .min(MAX_LATENCY);
    let write_latency = p
        .fw_wbuf0
        .saturating_add(p.fw_wbuf1)
        .saturating_add(transfer_ns(UNIT, p.pcie_bw))
        .min(MAX_LATENCY);
    let stripe = u64::from(slots)
        .saturating_mul(u64::from(p.planes))
        .saturating_mul(p.page_size);
    let slc_bw = match p.tprog_slc {
        0 => u64::MAX,
        t => stripe.saturating_mul(NS_PER_SEC) / t,
    };
    SimpleParams {
        read_latency,
        write_latency,
        read_bw: SimpleParams::matched_bw(read_latency, slots)
            .min(p.pcie_bw)
            .max(1),
        write_bw: p.pcie_bw.min(slc_bw).max(1),
        slots,
    }
}

/// A `zms` controller's timing: the zoned namespaces on one [`Zms`] model, the conventional
/// ones on a [`Simple`] model ([`conventional`]).
///
/// # Invariants
///
/// `zoned[i]`, for NSID `i + 1`, is the zoned namespace's first byte in the model's
/// namespace and its length, a whole number of the model's zones; the ranges follow each
/// other from 0 and end within the model's zones.
pub(crate) struct ZonedTiming {
    zms: Zms<KVVec<u32>, DIES>,
    conv: Simple<SLOTS>,
    zoned: [Option<(u64, u64)>; MAX_NAMESPACES],
    /// Entries of the L2P cache, and the bytes each maps (for the report).
    l2p_entries: u32,
    entry_bytes: u64,
}

impl ZonedTiming {
    /// The model of `profile` (kind `zms`) for the namespaces of `params`, controller
    /// `instance` (for the messages); a profile the model cannot time is refused with the
    /// attribute named.
    /// The model goes straight into its box ([`CtrlModel::Zoned`]): no copy of it on the stack.
    #[inline(never)]
    pub(crate) fn new_boxed(
        profile: &TimingProfile,
        params: &Params,
        instance: u32,
    ) -> Result<KBox<CtrlModel>> {
        let mut zoned = [None; MAX_NAMESPACES];
        let mut geometry = None;
        let mut zones = 0u32;
        for (nsid, slot) in (1..=params.namespace_count()).zip(zoned.iter_mut()) {
            let Some(z) = params.zoned_namespace(nsid) else {
                continue;
            };
            let g = (z.zone_size(), z.zone_capacity());
            if *geometry.get_or_insert(g) != g {
                pr_err!(
                    "nvme profile {}: timing zms: the zoned namespaces differ in zone size or capacity (one model times them all)\n",
                    instance
                );
                return Err(EINVAL);
            }
            let base = u64::from(zones).saturating_mul(g.0);
            *slot = Some((base, u64::from(z.zones()).saturating_mul(g.0)));
            zones = zones.saturating_add(z.zones());
        }
        let Some((zone_size, zone_capacity)) = geometry else {
            pr_err!(
                "nvme profile {}: timing zms (conzone-like, zn540-like): zoned=0: the model times zoned namespaces, and the profile has none (set zoned)\n",
                instance
            );
            return Err(EINVAL);
        };
        let step = profile.zms.superblock_step();
        let p = profile
            .zms
            .for_zones(zone_size, zone_capacity, zones)
            .map_err(|e| {
                match e.param {
                    "zone_capacity" => pr_err!(
                        "nvme profile {}: timing zms: zone_cap_kib: a zone capacity of {} KiB (zone_cap_kib, or zone_kib when it is 0) is not a whole superblock of the model: its superblocks grow in steps of {} KiB (channels x luns x planes x bits per cell x page_size); give zone_cap_kib a multiple of it, at most zone_kib\n",
                        instance,
                        zone_capacity >> 10,
                        step >> 10
                    ),
                    "wb_size" => pr_err!(
                        "nvme profile {}: timing zms: zone_cap_kib: a zone capacity of {} KiB is below a write buffer ({} KiB, wb_size)\n",
                        instance,
                        zone_capacity >> 10,
                        profile.zms.wb_size >> 10
                    ),
                    "zones" => pr_err!(
                        "nvme profile {}: timing zms: ns_mib: {} zones of {} KiB: {} {}\n",
                        instance,
                        zones,
                        zone_size >> 10,
                        e.param,
                        e.rule
                    ),
                    _ => pr_err!(
                        "nvme profile {}: timing zms: {} {}\n",
                        instance,
                        e.param,
                        e.rule
                    ),
                }
                EINVAL
            })?;
        let refused = |e: ParamError| {
            pr_err!("nvme profile {}: timing zms: {} {}\n", instance, e.param, e.rule);
            EINVAL
        };
        let table = KVVec::from_elem(0u32, p.table_len().map_err(refused)?, GFP_KERNEL)?;
        let zms = Zms::new(p, table).map_err(refused)?;
        let conv = Simple::new(conventional(&p)).map_err(refused)?;
        let entry_bytes = match p.map_unit {
            MapUnit::Page => UNIT,
            MapUnit::Chunk => p.chunk_size,
            MapUnit::Zone => p.superblock_size(),
        };
        let slot = KBox::<CtrlModel>::new_uninit(GFP_KERNEL)?;
        // INVARIANT: the ranges follow each other from 0, `zones` zones in all.
        Ok(slot.write(CtrlModel::Zoned(ZonedTiming {
            zms,
            conv,
            zoned,
            l2p_entries: p.l2p_entries,
            entry_bytes,
        })))
    }

    /// NSIDs of the zoned namespaces the model times.
    fn zoned_nsids(&self) -> impl Iterator<Item = u32> + '_ {
        // i < MAX_NAMESPACES = 16.
        self.zoned
            .iter()
            .enumerate()
            .filter(|(_, z)| z.is_some())
            .map(|(i, _)| i as u32 + 1)
    }

    fn report(&self) -> ZmsReport {
        ZmsReport {
            counters: self.zms.zms_counters(),
            slc_units_held: self.zms.slc_units_held(),
            l2p_cached: self.zms.cached_entries(),
            l2p_entries: self.l2p_entries,
            l2p_reach: u64::from(self.l2p_entries).saturating_mul(self.entry_bytes),
            wb_count: self.zms.params().wb_count,
            wb_size: self.zms.params().wb_size,
            zones: [0; 7],
        }
    }
}

impl Model for ZonedTiming {
    fn complete(&mut self, cmd: &Command) -> u64 {
        let zoned = cmd
            .nsid
            .checked_sub(1)
            .and_then(|i| self.zoned.get(i as usize).copied().flatten());
        match (cmd.op, zoned) {
            // A Flush empties every buffer of the device.
            (Op::Flush, _) => self.zms.complete(cmd).max(self.conv.complete(cmd)),
            (_, Some((base, bytes))) if cmd.offset < bytes || cmd.op == Op::Other => {
                let offset = cmd.offset.min(bytes);
                self.zms.complete(&Command {
                    nsid: 1,
                    offset: base + offset,
                    len: cmd.len.min(bytes - offset),
                    ..*cmd
                })
            }
            // Commands of no namespace, or beyond a zoned one (which the controller refused):
            // the zoned model sees the time pass (its timed flushes).
            (Op::Other, None) | (_, Some(_)) => self.zms.complete(&Command {
                op: Op::Other,
                ..*cmd
            }),
            (_, None) => self.conv.complete(cmd),
        }
    }

    fn min_latency(&self, op: Op) -> u64 {
        self.zms.min_latency(op).min(self.conv.min_latency(op))
    }

    fn counters(&self) -> Counters {
        // Flushes go to both models: the zoned one counts them.
        let mut c = self.zms.counters();
        let v = self.conv.counters();
        c.reads = c.reads.saturating_add(v.reads);
        c.writes = c.writes.saturating_add(v.writes);
        c.host_pages_written = c.host_pages_written.saturating_add(v.host_pages_written);
        c.nand_pages_written = c.nand_pages_written.saturating_add(v.nand_pages_written);
        c
    }
}

/// A controller's model: one of the models on their own, or a `zms` controller's.
// The variants stay inline: the models allocate nothing, and the value is boxed.
#[allow(clippy::large_enum_variant)]
pub(crate) enum CtrlModel {
    /// `none`, `simple` or `nand`.
    Any(AnyTiming),
    /// `zms`.
    Zoned(ZonedTiming),
}

impl Model for CtrlModel {
    fn complete(&mut self, cmd: &Command) -> u64 {
        match self {
            CtrlModel::Any(m) => m.complete(cmd),
            CtrlModel::Zoned(m) => m.complete(cmd),
        }
    }

    fn min_latency(&self, op: Op) -> u64 {
        match self {
            CtrlModel::Any(m) => m.min_latency(op),
            CtrlModel::Zoned(m) => m.min_latency(op),
        }
    }

    fn counters(&self) -> Counters {
        match self {
            CtrlModel::Any(m) => m.counters(),
            CtrlModel::Zoned(m) => m.counters(),
        }
    }
}

/// What debugfs shows of a `zms` model beyond the common counters.
#[derive(Clone, Copy, Default)]
pub(crate) struct ZmsReport {
    /// The model's own counters.
    pub(crate) counters: ZmsCounters,
    /// 4 KiB units held in pSLC now.
    pub(crate) slc_units_held: u64,
    /// Entries in the L2P cache now, of `l2p_entries`; the bytes the cache maps in all.
    pub(crate) l2p_cached: u32,
    pub(crate) l2p_entries: u32,
    pub(crate) l2p_reach: u64,
    /// Write buffers and their size in bytes.
    pub(crate) wb_count: u32,
    pub(crate) wb_size: u64,
    /// Zones of the zoned namespaces per state, in [`ZONE_STATES`] order (from the
    /// controller's zone records).
    pub(crate) zones: [u64; 7],
}

/// The zone states, as the report counts them, with their names there.
pub(crate) const ZONE_STATES: [(ZoneState, &str); 7] = [
    (ZoneState::Empty, "empty"),
    (ZoneState::ImplicitlyOpened, "implicitly_opened"),
    (ZoneState::ExplicitlyOpened, "explicitly_opened"),
    (ZoneState::Closed, "closed"),
    (ZoneState::ReadOnly, "read_only"),
    (ZoneState::Full, "full"),
    (ZoneState::Offline, "offline"),
];

/// What debugfs shows of a controller's timing.
#[derive(Clone, Copy, Default)]
pub(crate) struct Report {
    /// The model's counters.
    pub(crate) counters: Counters,
    /// Most completions the controller held at once.
    pub(crate) peak_held: u64,
    /// Abort commands the controller received.
    pub(crate) aborts: u64,
    /// The model (`none`, `simple`, `nand`, `zms`).
    pub(crate) model: &'static str,
    /// A `zms` model's counters and state.
    pub(crate) zms: Option<ZmsReport>,
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
    writeln!(f, "aborts {}", r.aborts)?;
    let Some(z) = r.zms else {
        return Ok(());
    };
    let c = &z.counters;
    for (name, v) in [
        ("cache_hits", c.cache_hits),
        ("cache_misses", c.cache_misses),
        ("l2p_cached", u64::from(z.l2p_cached)),
        ("l2p_entries", u64::from(z.l2p_entries)),
        ("l2p_reach_bytes", z.l2p_reach),
        ("slc_units", c.slc_units),
        ("slc_units_held", z.slc_units_held),
        ("bulk_units", c.bulk_units),
        ("folds", c.folds),
        ("fold_units", c.fold_units),
        ("wb_count", u64::from(z.wb_count)),
        ("wb_size", z.wb_size),
        ("flush_full", c.flush_full),
        ("flush_contention", c.flush_contention),
        ("flush_timed", c.flush_timed),
        ("flush_host", c.flush_host),
        ("flush_finish", c.flush_finish),
        ("zone_resets", c.zone_resets),
        ("zone_erases", c.zone_erases),
        ("zone_finishes", c.zone_finishes),
    ] {
        writeln!(f, "{} {}", name, v)?;
    }
    for ((_, name), n) in ZONE_STATES.iter().zip(z.zones) {
        writeln!(f, "zones_{} {}", name, n)?;
    }
    Ok(())
}

/// The [`Timing`] hook of a controller: the model, with completions withheld on request.
struct Hook<'a> {
    model: ModelTiming<'a, CtrlModel>,
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
#[inline(never)]
fn build(profile: &TimingProfile, params: &Params, instance: u32) -> Result<KBox<CtrlModel>> {
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
    // Each kind in a function of its own, writing its model into the box: a controller with
    // `none` or `simple` (every functional suite's) keeps no `nand` or `zms` model on the
    // stack, even for a moment.
    match profile.preset(bytes).map_err(refused)? {
        None => ZonedTiming::new_boxed(profile, params, instance),
        Some(Preset::Nand(p)) => build_nand(p, &offsets, instance),
        Some(Preset::None) => Ok(KBox::<CtrlModel>::new_uninit(GFP_KERNEL)?
            .write(CtrlModel::Any(AnyModel::None(NoDelay::new())))),
        Some(Preset::Simple(p)) => {
            let simple = Simple::new(p).map_err(refused)?;
            let slot = KBox::<CtrlModel>::new_uninit(GFP_KERNEL)?;
            Ok(slot.write(CtrlModel::Any(AnyModel::Simple(simple))))
        }
    }
}

/// A `nand` model with `p` for the namespaces at `offsets` (byte offset, length), in its box.
#[inline(never)]
fn build_nand(
    p: NandParams,
    offsets: &[(u64, u64); MAX_NAMESPACES],
    instance: u32,
) -> Result<KBox<CtrlModel>> {
    let refused = |e: ParamError| {
        pr_err!("nvme profile {}: timing: {} {}\n", instance, e.param, e.rule);
        EINVAL
    };
    let table = KVVec::from_elem(0u32, p.table_len().map_err(refused)?, GFP_KERNEL)?;
    let slot = KBox::<CtrlModel>::new_uninit(GFP_KERNEL)?;
    let nand = AnyModel::from_preset(Preset::Nand(p), table).map_err(refused)?;
    let mut model = slot.write(CtrlModel::Any(nand));
    if let CtrlModel::Any(AnyModel::Nand(n)) = &mut *model {
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
    model: KBox<CtrlModel>,
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
            zms: match &*model {
                CtrlModel::Zoned(z) => Some(z.report()),
                CtrlModel::Any(_) => None,
            },
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
            if let CtrlModel::Zoned(z) = &*self.model {
                self.report.zms = Some(zms_report(z, backing));
            }
            *self.file.lock() = self.report;
        }
        p
    }


    /// What debugfs shows.
    pub(crate) fn report(&self) -> Report {
        self.report
    }
}

/// What debugfs shows of `z`, with the zones per state counted from the zone records in
/// `backing` (the controller's: one pass over them, on the poller passes that did work).
fn zms_report<B: Backing>(z: &ZonedTiming, backing: &mut B) -> ZmsReport {
    let mut r = z.report();
    for nsid in z.zoned_nsids() {
        for zone in backing.zones(nsid).into_iter().flatten() {
            if let Some(i) = ZONE_STATES.iter().position(|&(s, _)| s == zone.state()) {
                r.zones[i] += 1;
            }
        }
    }
    r
}
