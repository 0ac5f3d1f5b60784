// SPDX-License-Identifier: GPL-2.0

//! One emulated NVDIMM bus: the pure NFIT model's topology, serialized and handed to the
//! relinked ACPI NFIT driver through the C glue (`mock/nvmock_nfit.c`); test-owned memory
//! behind every SPA range and flush hint page (through the iomap shim); and the `_DSM`
//! state (labels, SMART, security, firmware update and activation, ARS, failure injection)
//! that every command from libnvdimm reaches.
//!
//! A bus is described by a [`BusDesc`] (data, validated when the bus is created); its state
//! lives in the bus, under one mutex.

use crate::glue::iomap::{
    c_types::{c, check_mirror},
    devmem_range, DevMemKind, IoMock, Region,
};
use crate::model::nfit::{
    ars::{Ars, Scrub, MAX_ARS_RECORDS},
    dsm::{self, DsmError, Event, FailControl, Target},
    firmware::{Activation, Firmware},
    label,
    security::Security,
    smart::Smart,
    Spa, Topology,
};
use core::ffi::{c_int, c_long, c_uint, c_ulong, c_void};
use core::fmt;
use kernel::{
    alloc::KVVec,
    debugfs::{Dir, File},
    error::to_result,
    new_mutex,
    prelude::*,
    sync::Mutex,
    time::{Instant, Monotonic},
    types::Opaque,
    uaccess::UserSliceReader,
    ThisModule,
};

/// What only the suites ask of a bus (`src/kunit/access/nfit_bus.rs`): a child module, so
/// that it sees the bus's private state, built only into the module with the suites.
#[cfg(nvmock_kunit)]
#[path = "../../kunit/access/nfit_bus.rs"]
pub(crate) mod kunit_access;

/// `NVMOCK_NFIT_BUS`: the `->ctl` target of bus-scope commands.
const TARGET_BUS: u32 = u32::MAX;
/// `NFIT_NOTIFY_UC_MEMORY_ERROR`, raised on the bus.
const NOTIFY_UC_MEMORY_ERROR: u32 = 0x81;
/// The DIMM health event notification value.
const NOTIFY_DIMM_HEALTH: u32 = 0x81;
/// `enum nvmock_nfit_dimm_attr`.
const ATTR_FAIL_CMD: c_int = 0;
const ATTR_FAIL_CMD_CODE: c_int = 1;
const ATTR_LOCK: c_int = 2;
/// Largest errno a `fail_cmd_code` may name.
const MAX_ERRNO: c_long = 4095;
const PAGE: u64 = kernel::page::PAGE_SIZE as u64;

/// How long a scrub takes in virtual time: nfit_test's one second.
pub(crate) const SCRUB_NS: u64 = 1_000_000_000;

/// Mirror of `struct nvmock_nfit_ops` in `mock/nvmock_nfit.h`; the glue checks `size`, the
/// build every field's offset and width (the `check_mirror!` below).
#[repr(C)]
struct Ops {
    size: u32,
    // `struct module *`, untyped: the bindings type drags in structures rustc cannot check
    // for FFI safety (an empty `sched_statistics`).
    owner: *mut c_void,
    ctx: *mut c_void,
    id: c_int,
    nfit: *const c_void,
    nfit_len: u32,
    hotplug_nfit: *const c_void,
    hotplug_len: u32,
    handles: *const u32,
    ndimms: u32,
    dimm_base: u32,
    bus_cmd_force_en: c_ulong,
    bus_dsm_mask: c_ulong,
    bus_intel_mask: c_ulong,
    dimm_cmd_force_en: c_ulong,
    ctl: unsafe extern "C" fn(*mut c_void, u32, c_uint, *mut c_void, c_uint, *mut c_int) -> c_int,
    dimm_attr: unsafe extern "C" fn(*mut c_void, u32, c_int, bool, *mut c_long) -> c_int,
    glue: *mut c_void,
}

check_mirror!(Ops => c::nvmock_nfit_ops {
    size, owner, ctx, id, nfit, nfit_len, hotplug_nfit, hotplug_len, handles, ndimms,
    dimm_base, bus_cmd_force_en, bus_dsm_mask, bus_intel_mask, dimm_cmd_force_en, ctl,
    dimm_attr, glue,
});

extern "C" {
    fn nvmock_nfit_add(ops: *mut Ops) -> c_int;
    fn nvmock_nfit_remove(ops: *mut Ops);
    fn nvmock_nfit_notify_bus(ops: *mut Ops, event: u32);
    fn nvmock_nfit_notify_dimm(ops: *mut Ops, idx: u32, event: u32);
}

/// A device-dax instance under a bus (`struct nvmock_nfit_dax`), for the suites.
#[cfg(nvmock_kunit)]
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct DaxInfo {
    /// Its device name, `dax<region>.<id>`, NUL-terminated (also its /dev node).
    pub(crate) name: [u8; 32],
    /// System physical address of its first range.
    pub(crate) start: u64,
    /// Bytes in all its ranges.
    pub(crate) size: u64,
    /// Its fault granularity.
    pub(crate) align: u32,
    /// How many ranges it has.
    pub(crate) nr_range: u32,
    /// device_dax drives it.
    pub(crate) bound: bool,
}

#[cfg(nvmock_kunit)]
check_mirror!(DaxInfo => c::nvmock_nfit_dax { name, start, size, align, nr_range, bound });

/// [`BusDesc::id`] of a bus whose number the glue allocates (above the presets' numbers).
/// Only the suites' buses ask for one today.
#[cfg(nvmock_kunit)]
pub(crate) const AUTO_ID: i32 = c::NVMOCK_NFIT_AUTO;
/// [`BusDesc::dimm_base`] of a bus whose DIMMs the glue numbers (above the presets').
#[cfg(nvmock_kunit)]
pub(crate) const AUTO_DIMMS: u32 = c::NVMOCK_NFIT_DIMM_AUTO;

/// What one bus is: data, checked by [`NfitBus::new`].
pub(crate) struct BusDesc {
    /// The bus is the platform device `nfit_test.<id>` (the presets' numbers, which ndctl's
    /// tests know), or [`AUTO_ID`]: the next free number above them.
    pub(crate) id: i32,
    /// Names the bus in messages and its fake physical memory in /proc/iomem.
    pub(crate) name: &'static CStr,
    /// Fake physical address space the topology needs from its base.
    pub(crate) span: u64,
    /// The topology the bus probes with (addresses relative to the span's base).
    pub(crate) topology: Topology<'static>,
    /// The topology after the hot plug delivered right after probing, if any. Its DIMMs
    /// and ranges must include the initial topology's.
    pub(crate) hotplug: Option<Topology<'static>>,
    /// The first DIMM's test_dimm number (the others follow), or [`AUTO_DIMMS`]: free
    /// numbers above the presets'.
    pub(crate) dimm_base: u32,
    /// Whether the DIMMs answer `ND_CMD_CALL` packages.
    pub(crate) package_calls: bool,
    /// `ND_CMD_*` bus commands supported (bit per command).
    pub(crate) bus_cmds: u64,
    /// Bus-family NFIT functions supported.
    pub(crate) bus_dsm: u64,
    /// Bus-family Intel functions supported (firmware activation).
    pub(crate) bus_intel: u64,
    /// DIMM commands and Intel functions supported.
    pub(crate) dimm_cmds: u64,
    /// The fake window's vmalloc'd memory even when the guest has a devmem reservation
    /// (the suites' cases for memory without ZONE_DEVICE pages); see [`memory`].
    pub(crate) page_backed: bool,
}

/// Commands counted per target: the native `ND_CMD_*` numbers (and `ND_CMD_CALL`).
pub(crate) const COUNTED: usize = 16;

/// How often each command reached a target, and how often it failed as a whole.
#[derive(Clone, Copy, Default)]
pub(crate) struct Calls {
    /// Calls of each command number.
    pub(crate) calls: [u32; COUNTED],
    /// Of those, the ones that returned an error.
    pub(crate) errors: [u32; COUNTED],
    /// Of those, the ones whose own status was ARS's "more records" (`-ENOSPC`).
    pub(crate) overflows: [u32; COUNTED],
}

impl Calls {
    fn count(&mut self, cmd: u32, rc: &Result<dsm::Done, DsmError>) {
        let Some(i) = usize::try_from(cmd).ok().filter(|&i| i < COUNTED) else {
            return;
        };
        self.calls[i] = self.calls[i].saturating_add(1);
        match rc {
            Err(_) => self.errors[i] = self.errors[i].saturating_add(1),
            Ok(d) if d.cmd_rc == dsm::CmdRc::NoSpace => {
                self.overflows[i] = self.overflows[i].saturating_add(1)
            }
            Ok(_) => {}
        }
    }
}

/// The `_DSM` state of one DIMM: the model's, with the label area in a buffer of the bus's
/// that commands read and write in place.
type DimmState = dsm::Dimm<KVVec<u8>>;

/// Profile slots: native bus commands, the two bus families' functions, native DIMM
/// commands, the Intel DIMM functions (see [`slot`]).
const SLOTS: usize = 16 + 32 + 32 + 16 + 32;

/// The profile slot of command `cmd` on `buf` for the bus (`bus`) or a DIMM: native commands
/// by number, packages by family and function. `None` for what no slot holds (an unknown
/// family, a function number past 31, a malformed package).
fn slot(bus: bool, cmd: u32, buf: &[u8]) -> Option<usize> {
    let small = |n: u64, max: usize| usize::try_from(n).ok().filter(|&n| n < max);
    if cmd != dsm::CMD_CALL {
        let n = small(u64::from(cmd), 16)?;
        return Some(if bus { n } else { 80 + n });
    }
    let word = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(buf.get(at..at + 8)?.try_into().ok()?))
    };
    let (family, func) = (word(0)?, small(word(8)?, 32)?);
    match (bus, family) {
        (true, dsm::BUS_FAMILY_NFIT) => Some(16 + func),
        (true, dsm::BUS_FAMILY_INTEL) => Some(48 + func),
        (false, dsm::FAMILY_INTEL) => Some(96 + func),
        _ => None,
    }
}

/// What slot `i` holds, for the report: the target and family, and the command's name.
fn slot_name(i: usize) -> (&'static str, &'static str) {
    let (scope, n) = match i {
        0..16 => ("bus", i),
        16..48 => ("bus.nfit", i - 16),
        48..80 => ("bus.intel", i - 48),
        80..96 => ("dimm", i - 80),
        _ => ("dimm.intel", i - 96),
    };
    let name = match (scope, n) {
        ("bus", 1) => "ars_cap",
        ("bus", 2) => "ars_start",
        ("bus", 3) => "ars_status",
        ("bus", 4) => "clear_error",
        ("bus.nfit", 5) => "translate_spa",
        ("bus.nfit", 7) => "ars_inject_set",
        ("bus.nfit", 8) => "ars_inject_clear",
        ("bus.nfit", 9) => "ars_inject_get",
        ("bus.intel", 1) => "fwa_bus_info",
        ("bus.intel", 2) => "fwa_activate",
        ("dimm", 4) => "get_config_size",
        ("dimm", 5) => "get_config_data",
        ("dimm", 6) => "set_config_data",
        ("dimm.intel", 1) => "smart",
        ("dimm.intel", 2) => "smart_threshold",
        ("dimm.intel", 10) => "lss_status",
        ("dimm.intel", 12) => "fw_info",
        ("dimm.intel", 13) => "fw_start",
        ("dimm.intel", 14) => "fw_send",
        ("dimm.intel", 15) => "fw_finish",
        ("dimm.intel", 16) => "fw_query",
        ("dimm.intel", 17) => "smart_set_threshold",
        ("dimm.intel", 18) => "smart_inject",
        ("dimm.intel", 19) => "security_state",
        ("dimm.intel", 20) => "set_passphrase",
        ("dimm.intel", 21) => "disable_passphrase",
        ("dimm.intel", 22) => "unlock",
        ("dimm.intel", 23) => "freeze_lock",
        ("dimm.intel", 24) => "secure_erase",
        ("dimm.intel", 25) => "overwrite",
        ("dimm.intel", 26) => "query_overwrite",
        ("dimm.intel", 27) => "set_master_passphrase",
        ("dimm.intel", 28) => "master_secure_erase",
        ("dimm.intel", 29) => "fwa_dimm_info",
        ("dimm.intel", 30) => "fwa_arm",
        _ => "other",
    };
    (scope, name)
}

/// What the bus's commands cost, for the profile: every command's time in [`NfitBus::ctl`]
/// (waiting for the state's lock included) and the label traffic. Read from debugfs
/// (`<bus>/stats`; writing it resets), logged when the bus goes.
pub(crate) struct Stats {
    /// Commands.
    pub(crate) calls: u64,
    /// Nanoseconds in all of them.
    pub(crate) ns: u64,
    /// The longest one.
    pub(crate) max_ns: u64,
    /// Label bytes read (Get Config Data) and written (Set Config Data).
    pub(crate) label_read: u64,
    pub(crate) label_written: u64,
    /// Calls and nanoseconds per [`slot`].
    slots: [(u64, u64); SLOTS],
}

impl Stats {
    const fn new() -> Self {
        Stats {
            calls: 0,
            ns: 0,
            max_ns: 0,
            label_read: 0,
            label_written: 0,
            slots: [(0, 0); SLOTS],
        }
    }

    /// Counts a command that took `ns`; `slot` as [`slot`] gives it.
    fn count(&mut self, slot: Option<usize>, rc: &Result<dsm::Done, DsmError>, ns: u64) {
        self.calls = self.calls.saturating_add(1);
        self.ns = self.ns.saturating_add(ns);
        self.max_ns = self.max_ns.max(ns);
        if let Some(s) = slot.and_then(|i| self.slots.get_mut(i)) {
            s.0 = s.0.saturating_add(1);
            s.1 = s.1.saturating_add(ns);
        }
        // Both label commands write a 12-byte frame around their data.
        let data = |d: &dsm::Done| d.written.saturating_sub(label::GET_DATA_HDR) as u64;
        match (slot, rc) {
            (Some(s), Ok(d)) if s == 80 + dsm::CMD_GET_CONFIG_DATA as usize => {
                self.label_read = self.label_read.saturating_add(data(d))
            }
            (Some(s), Ok(d)) if s == 80 + dsm::CMD_SET_CONFIG_DATA as usize => {
                self.label_written = self.label_written.saturating_add(data(d))
            }
            _ => {}
        }
    }

    /// The report: totals, then one line per command that ran.
    fn report(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "commands {} ns {} max_ns {}",
            self.calls, self.ns, self.max_ns
        )?;
        writeln!(
            f,
            "label_bytes read {} written {}",
            self.label_read, self.label_written
        )?;
        for (i, &(calls, ns)) in self.slots.iter().enumerate() {
            if calls != 0 {
                let (scope, name) = slot_name(i);
                writeln!(f, "{scope}:{name} calls {calls} ns {ns}")?;
            }
        }
        Ok(())
    }
}

/// The debugfs report of a bus's [`Stats`].
fn stats_show(stats: &Mutex<Stats>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    stats.lock().report(f)
}

/// Any write to the debugfs file resets the bus's [`Stats`].
fn stats_reset(stats: &Mutex<Stats>, _input: &mut UserSliceReader) -> Result {
    *stats.lock() = Stats::new();
    Ok(())
}

/// A bus's state: its DIMMs, ARS engine and virtual clock, firmware activation.
pub(crate) struct State {
    ars: Ars<MAX_ARS_RECORDS>,
    /// Whether the last ARS Status reported a finished scrub with all its records (and
    /// no ARS Start came after it).
    ars_settled: bool,
    fwa: Activation,
    dimms: KVec<DimmState>,
    /// The commands each DIMM received (indexed like `dimms`).
    dimm_calls: KVec<Calls>,
    bus_calls: Calls,
    /// When the virtual clock last caught up with real time.
    last: Instant<Monotonic>,
}

impl State {
    /// Advances the virtual clock by the real time since the last command, times `scale`.
    fn tick(&mut self, scale: u32) {
        let now = Instant::<Monotonic>::now();
        let real = u64::try_from((now - self.last).as_nanos()).unwrap_or(0);
        self.last = now;
        self.ars.advance(real.saturating_mul(u64::from(scale)));
    }
}

/// One bus, registered with the glue for its whole life.
///
/// # Invariants
///
/// From the end of [`NfitBus::new`] until `drop`, `ops` is registered with the glue with
/// `ctx` pointing at this (pinned) bus, and `nfit`, `hotplug` and `handles` (which the glue
/// reads through `ops`) are not changed.
#[pin_data(PinnedDrop)]
pub(crate) struct NfitBus {
    #[pin]
    ops: Opaque<Ops>,
    #[pin]
    state: Mutex<State>,
    mem: Pin<KBox<IoMock>>,
    regions: KVec<Region>,
    nfit: KVec<u8>,
    hotplug: KVec<u8>,
    handles: KVec<u32>,
    /// The topology after the hot plug (or the only one), at the bus's base.
    topo: Topology<'static>,
    scale: u32,
    name: &'static CStr,
    /// The profile, in debugfs as `<bus name>/stats`.
    stats: Pin<KBox<File<Mutex<Stats>>>>,
    _debugfs: Dir,
}

// SAFETY: `ops` is only written before registration; the state is behind a mutex, and the
// rest is not changed after creation.
unsafe impl Send for NfitBus {}
// SAFETY: as above; the glue calls the callbacks concurrently, and they only take the mutex.
unsafe impl Sync for NfitBus {}

/// The NFIT structures of `topo`, validated.
fn structures(desc: &BusDesc, topo: &Topology<'_>) -> Result<KVec<u8>> {
    if let Err(e) = topo.validate() {
        pr_err!(
            "{}: invalid topology: {:?}\n",
            desc.name.to_str().unwrap_or("nfit bus"),
            e
        );
        return Err(EINVAL);
    }
    let mut buf = KVec::from_elem(0u8, topo.structures_len(), GFP_KERNEL)?;
    let n = topo.write_structures(&mut buf).map_err(|e| {
        pr_err!(
            "{}: cannot write its NFIT: {:?}\n",
            desc.name.to_str().unwrap_or("nfit bus"),
            e
        );
        EINVAL
    })?;
    buf.truncate(n);
    Ok(buf)
}

/// The bus's test memory. With a devmem reservation (x86_64 guests booted by
/// `scripts/vm.sh`): a write-back span of it, reserved RAM that `memremap_pages()` gives real
/// ZONE_DEVICE pages, so pfn and device-dax namespaces get struct pages, fsdax works and
/// device-dax faults at its alignment (2 MiB, 1 GiB) as on real PMEM. A reservation without
/// room for the bus refuses it (`EBUSY`), naming what it needs: a bus of another kind than
/// the one asked for would pass tests it should fail. Without a reservation: a span of the
/// shim's fake window, vmalloc'd (DAX one page at a time, no fsdax), said in the log.
fn memory(desc: &BusDesc) -> Result<Pin<KBox<IoMock>>> {
    let name = desc.name.to_str().unwrap_or("nfit bus");
    if desc.page_backed {
        return IoMock::new(desc.name, desc.span);
    }
    if devmem_range().is_none() {
        pr_info!(
            "{}: no devmem reservation: the bus's memory is vmalloc'd (DAX a page at a time, no fsdax)\n",
            name
        );
        return IoMock::new(desc.name, desc.span);
    }
    IoMock::new_devmem(desc.name, desc.span, DevMemKind::WriteBack).inspect_err(|_| {
        pr_err!(
            "{}: needs {} MiB of the devmem reservation (aligned to its size, at most 1 GiB) and found no room: boot with a larger NVMOCK_DEVMEM (README, \"x86_64 under QEMU\")\n",
            name,
            desc.span.div_ceil(1 << 20)
        )
    })
}

/// Whether a range is memory a driver maps (persistent, volatile, virtual disks and CDs).
fn backed(spa: &Spa) -> bool {
    spa.range_type
        .range_type()
        .is_some_and(|t| t.is_memory() || t.is_virtual())
}

impl NfitBus {
    /// Creates bus `desc` and probes it: its regions are registered with libnvdimm when
    /// this returns. `scale` is the virtual time that passes per real nanosecond.
    pub(crate) fn new(
        module: &'static ThisModule,
        desc: &'static BusDesc,
        scale: u32,
    ) -> Result<Pin<KBox<Self>>> {
        Self::create(module, desc, scale, |_| Ok(()))
    }

    /// As [`NfitBus::new`], with `setup` run on the bus before it probes (the suites'
    /// `new_with` plants failures and data there).
    fn create(
        module: &'static ThisModule,
        desc: &'static BusDesc,
        scale: u32,
        setup: impl FnOnce(&Self) -> Result,
    ) -> Result<Pin<KBox<Self>>> {
        let mem = memory(desc)?;
        let (base, _) = mem.span();
        let initial = Topology {
            base,
            ..desc.topology
        };
        let nfit = structures(desc, &initial)?;
        let (all, hotplug) = match desc.hotplug {
            Some(h) => {
                let h = Topology { base, ..h };
                let bytes = structures(desc, &h)?;
                (h, bytes)
            }
            None => (initial, KVec::new()),
        };

        // Test memory behind every mapped range and every flush hint page.
        let mut regions = KVec::new();
        for spa in all.spas.iter().filter(|s| backed(s)) {
            let len = usize::try_from(spa.length)?;
            let r = mem.add_at(base + spa.address, len, 0)?;
            regions.push(r, GFP_KERNEL)?;
        }
        for hints in all.flush_hints {
            for a in hints.addresses {
                let page = (base + a) & !(PAGE - 1);
                if !regions.iter().any(|r| r.phys == page) {
                    let r = mem.add_at(page, PAGE as usize, 0)?;
                    regions.push(r, GFP_KERNEL)?;
                }
            }
        }

        let mut handles = KVec::new();
        let mut dimms = KVec::new();
        let mut dimm_calls = KVec::new();
        for d in all.dimms {
            handles.push(d.handle.0, GFP_KERNEL)?;
            dimms.push(
                DimmState {
                    handle: d.handle,
                    label: KVVec::from_elem(
                        0u8,
                        crate::model::nfit::preset::LABEL_SIZE as usize,
                        GFP_KERNEL,
                    )?,
                    smart: Smart::DEFAULT,
                    fail: FailControl::default(),
                    package_calls: desc.package_calls,
                    security: Security::DEFAULT,
                    firmware: Firmware::DEFAULT,
                },
                GFP_KERNEL,
            )?;
            dimm_calls.push(Calls::default(), GFP_KERNEL)?;
        }
        let debugfs = Dir::new(desc.name);
        let stats = KBox::pin_init(
            debugfs.read_write_callback_file(
                c"stats",
                new_mutex!(Stats::new()),
                &stats_show,
                &stats_reset,
            ),
            GFP_KERNEL,
        )?;

        let this = KBox::pin_init(
            try_pin_init!(NfitBus {
                ops <- Opaque::ffi_init(move |p: *mut Ops| {
                    // SAFETY: `p` is valid for writes (pin-init of this field).
                    unsafe {
                        p.write(Ops {
                            size: core::mem::size_of::<Ops>() as u32,
                            owner: module.as_ptr().cast(),
                            ctx: core::ptr::null_mut(),
                            id: desc.id,
                            nfit: core::ptr::null(),
                            nfit_len: 0,
                            hotplug_nfit: core::ptr::null(),
                            hotplug_len: 0,
                            handles: core::ptr::null(),
                            ndimms: 0,
                            dimm_base: desc.dimm_base,
                            bus_cmd_force_en: desc.bus_cmds as c_ulong,
                            bus_dsm_mask: desc.bus_dsm as c_ulong,
                            bus_intel_mask: desc.bus_intel as c_ulong,
                            dimm_cmd_force_en: desc.dimm_cmds as c_ulong,
                            ctl: ctl_cb,
                            dimm_attr: dimm_attr_cb,
                            glue: core::ptr::null_mut(),
                        })
                    };
                }),
                state <- new_mutex!(State {
                    ars: Ars::new(SCRUB_NS),
                    ars_settled: false,
                    fwa: Activation::default(),
                    dimms,
                    dimm_calls,
                    bus_calls: Calls::default(),
                    last: Instant::<Monotonic>::now(),
                }),
                mem,
                regions,
                nfit,
                hotplug,
                handles,
                topo: all,
                scale,
                name: desc.name,
                stats,
                _debugfs: debugfs,
            }),
            GFP_KERNEL,
        )?;
        setup(&*this)?;
        let ops = this.ops.get();
        // SAFETY: `this` is pinned, so `ctx` stays valid until `drop` removes the bus; the
        // buffers are heap allocations that live (unchanged) as long as `this`. `ops` is
        // not yet shared with the glue.
        unsafe {
            (*ops).ctx = (&*this as *const Self).cast_mut().cast();
            (*ops).nfit = this.nfit.as_ptr().cast();
            (*ops).nfit_len = u32::try_from(this.nfit.len())?;
            if !this.hotplug.is_empty() {
                (*ops).hotplug_nfit = this.hotplug.as_ptr().cast();
                (*ops).hotplug_len = u32::try_from(this.hotplug.len())?;
            }
            (*ops).handles = this.handles.as_ptr();
            (*ops).ndimms = u32::try_from(this.handles.len())?;
        }
        // SAFETY: `ops` is fully initialised and outlives the registration (see `drop`). On
        // failure `drop` asks the glue to remove a bus it does not have, which it ignores.
        to_result(unsafe { nvmock_nfit_add(ops) })?;
        Ok(this)
    }

    /// Runs command `cmd` for `target` on `buf`; returns its result and, for a DIMM, the
    /// DIMM's index (for its notifications). The model works on the bus's state in place:
    /// nothing is copied or allocated per command.
    fn ctl(&self, target: u32, cmd: u32, buf: &mut [u8]) -> (Result<dsm::Done, DsmError>, u32) {
        let start = Instant::<Monotonic>::now();
        let slot = slot(target == TARGET_BUS, cmd, buf);
        let (rc, idx) = self.run(target, cmd, buf);
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(0);
        self.stats.lock().count(slot, &rc, ns);
        (rc, idx)
    }

    /// [`NfitBus::ctl`] without the profile.
    fn run(&self, target: u32, cmd: u32, buf: &mut [u8]) -> (Result<dsm::Done, DsmError>, u32) {
        let mut guard = self.state.lock();
        guard.tick(self.scale);
        let State {
            ars,
            ars_settled,
            fwa,
            dimms,
            dimm_calls,
            bus_calls,
            ..
        } = &mut *guard;
        let (model_target, idx) = match target {
            TARGET_BUS => (Target::Bus, None),
            _ => match dimms.iter().position(|d| d.handle.0 == target) {
                Some(i) => (Target::Dimm(dimms[i].handle), Some(i)),
                None => return (Err(DsmError::NoDevice), TARGET_BUS),
            },
        };
        let rc = dsm::ctl(ars, fwa, &self.topo, dimms, model_target, cmd, buf);
        match idx {
            None => {
                match (cmd, &rc) {
                    (dsm::CMD_ARS_START, _) => *ars_settled = false,
                    (dsm::CMD_ARS_STATUS, Ok(d)) => {
                        *ars_settled = d.cmd_rc == dsm::CmdRc::Ok && ars.scrub() == Scrub::Complete
                    }
                    _ => {}
                }
                bus_calls.count(cmd, &rc);
                (rc, TARGET_BUS)
            }
            Some(i) => {
                if let Some(c) = dimm_calls.get_mut(i) {
                    c.count(cmd, &rc);
                }
                (rc, i as u32)
            }
        }
    }

    fn dimm_attr(&self, idx: u32, attr: c_int, store: bool, val: &mut c_long) -> Result {
        let mut st = self.state.lock();
        let d = st.dimms.get_mut(idx as usize).ok_or(ENXIO)?;
        match (attr, store) {
            (ATTR_FAIL_CMD, false) => *val = d.fail.mask as c_long,
            (ATTR_FAIL_CMD, true) => d.fail.mask = *val as u64,
            (ATTR_FAIL_CMD_CODE, false) => *val = c_long::from(d.fail.code),
            (ATTR_FAIL_CMD_CODE, true) => {
                if !(-MAX_ERRNO..=0).contains(val) {
                    return Err(EINVAL);
                }
                d.fail.code = *val as i32;
            }
            // As a power cycle leaves a DIMM with a passphrase; one without has nothing to
            // lock with.
            (ATTR_LOCK, true) => d.security.lock().map_err(|_| EINVAL)?,
            (ATTR_LOCK, false) => return Err(EINVAL),
            _ => return Err(EINVAL),
        }
        Ok(())
    }
}

#[pinned_drop]
impl PinnedDrop for NfitBus {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `ops` was initialised in `new`; removal waits until libnvdimm has let go
        // of the bus, after which the glue no longer uses `ops` or `self`. The test memory
        // (`mem`) is dropped afterwards, with the fields.
        unsafe { nvmock_nfit_remove(self.ops.get()) };
        // The profile of the bus's life, for runs that outlive it (ndctl's tests reload
        // the module): see scripts/guest/ndctl-suite.sh.
        let st = self.stats.lock();
        if st.calls != 0 {
            pr_info!(
                "{}: {} commands in {} us (longest {} us), label bytes {} read {} written\n",
                self.name.to_str().unwrap_or("nfit bus"),
                st.calls,
                st.ns / 1000,
                st.max_ns / 1000,
                st.label_read,
                st.label_written
            );
        }
    }
}

/// # Safety
///
/// `ctx` must be the `ctx` of a registered [`NfitBus`]'s ops.
unsafe fn bus<'a>(ctx: *mut c_void) -> &'a NfitBus {
    // SAFETY: the glue only calls the callbacks of registered buses, which stay alive until
    // removal returns (type invariant of `NfitBus`).
    unsafe { &*ctx.cast::<NfitBus>() }
}

unsafe extern "C" fn ctl_cb(
    ctx: *mut c_void,
    target: u32,
    cmd: c_uint,
    buf: *mut c_void,
    len: c_uint,
    cmd_rc: *mut c_int,
) -> c_int {
    // SAFETY: the glue passes its registered ctx.
    let this = unsafe { bus(ctx) };
    let buf: &mut [u8] = if len == 0 || buf.is_null() {
        &mut []
    } else {
        // SAFETY: libnvdimm hands the command a buffer of `len` bytes that nothing else
        // touches during the call.
        unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len as usize) }
    };
    let (rc, idx) = this.ctl(target, cmd, buf);
    match rc {
        Ok(done) => {
            // SAFETY: the glue always passes a valid `cmd_rc`.
            unsafe { *cmd_rc = done.cmd_rc.errno() };
            let ops = this.ops.get();
            match done.event {
                Event::None => {}
                // SAFETY: registered (type invariant); the state lock is released.
                Event::Health => unsafe { nvmock_nfit_notify_dimm(ops, idx, NOTIFY_DIMM_HEALTH) },
                // SAFETY: as above.
                Event::UncorrectableError => unsafe {
                    nvmock_nfit_notify_bus(ops, NOTIFY_UC_MEMORY_ERROR)
                },
            }
            c_int::try_from(done.residual).unwrap_or(c_int::MAX)
        }
        Err(e) => e.errno(),
    }
}

unsafe extern "C" fn dimm_attr_cb(
    ctx: *mut c_void,
    idx: u32,
    attr: c_int,
    store: bool,
    val: *mut c_long,
) -> c_int {
    // SAFETY: the glue passes its registered ctx.
    let this = unsafe { bus(ctx) };
    // SAFETY: the glue passes a valid `val`, read for stores and written for loads.
    let val = unsafe { &mut *val };
    match this.dimm_attr(idx, attr, store, val) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
