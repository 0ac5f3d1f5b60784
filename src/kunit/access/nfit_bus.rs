// SPDX-License-Identifier: GPL-2.0

//! What only the NVDIMM KUnit suites (`src/kunit/nfit.rs`, `src/kunit/dax.rs`) ask of an
//! emulated bus: its record of the commands it received, failures and errors planted in its
//! state, its memory, and what libnvdimm made of it (device-dax, badblocks, labels).
//!
//! A child module of `src/glue/nfit/bus.rs`, so that it sees the bus's private state; built
//! only into the module with the suites (`--cfg nvmock_kunit`, src/modules/Kbuild). The
//! production `nfit_test` carries none of it, and so needs none of the KUnit-only C helpers
//! called here (`mock/nvmock_nvdimm_kunit.c`, module `nvmock_nvdimm_kunit`).

use super::{Calls, DaxInfo, NfitBus, Ops, State};
use crate::glue::iomap::{IoMock, Region};
use crate::model::nfit::dsm::FailControl;
use core::ffi::c_int;
use kernel::{error::to_result, prelude::*, ThisModule};

// mock/nvmock_nvdimm_kunit.c.
extern "C" {
    fn nvmock_nfit_settle();
    fn nvmock_nfit_label_index(
        ops: *mut Ops,
        idx: u32,
        current: *mut c_int,
        label_size: *mut c_int,
    ) -> c_int;
    fn nvmock_nfit_find_dax(ops: *mut Ops, out: *mut DaxInfo) -> c_int;
    fn nvmock_nfit_badblocks(ops: *mut Ops, start: u64, len: u64) -> c_int;
    fn nvmock_nfit_clear_poison(ops: *mut Ops, start: u64, len: u64) -> c_int;
}

/// What [`NfitBus::new_with`]'s setup gets besides the state.
pub(crate) struct Prep<'a> {
    /// The base the topology's addresses are relative to.
    pub(crate) base: u64,
    /// The owner of the bus's memory (for failure injection).
    pub(crate) mem: &'a IoMock,
    /// The bus's memory, which nobody maps yet.
    pub(crate) regions: &'a [Region],
}

impl State {
    /// Makes the commands in `mask` fail on DIMM `idx` with `code` (0: `-EIO`), as writing
    /// its test_dimm `fail_cmd` and `fail_cmd_code` does.
    pub(crate) fn fail(&mut self, idx: usize, mask: u64, code: i32) -> Result {
        let d = self.dimms.get_mut(idx).ok_or(EINVAL)?;
        d.fail = FailControl { mask, code };
        Ok(())
    }

    /// Adds a media error (ARS finds it; clear error forgets it).
    pub(crate) fn add_error(&mut self, start: u64, length: u64) -> Result {
        self.ars
            .errors_mut()
            .add(start, length)
            .map_err(|e| Error::from_errno(e.errno()))
    }

    /// DIMM `idx`'s label storage area.
    pub(crate) fn label_mut(&mut self, idx: usize) -> Option<&mut [u8]> {
        self.dimms.get_mut(idx).map(|d| &mut d.label[..])
    }

    /// Whether the bus's error list has an error overlapping `start..start + len`.
    pub(crate) fn has_error(&self, start: u64, len: u64) -> bool {
        self.ars.errors().overlapping(start, len)
    }

    /// Lowers the records one ARS Status returns to `n` (1 to the model's maximum), so that
    /// the driver meets an overflow with few errors.
    pub(crate) fn set_max_ars_records(&mut self, n: usize) -> Result {
        self.ars
            .set_max_records(n)
            .map_err(|e| Error::from_errno(e.errno()))
    }

    /// Whether the driver's last ARS Status saw a finished scrub with all its records.
    pub(crate) fn ars_settled(&self) -> bool {
        self.ars_settled
    }

    /// The range of the last scrub the driver started (address, length).
    pub(crate) fn last_scrub(&self) -> (u64, u64) {
        self.ars.last_scrub()
    }

    /// The commands DIMM `idx` received.
    pub(crate) fn dimm_calls(&self, idx: usize) -> Option<Calls> {
        self.dimm_calls.get(idx).copied()
    }

    /// The bus commands received.
    pub(crate) fn bus_calls(&self) -> Calls {
        self.bus_calls
    }
}

impl NfitBus {
    /// As [`NfitBus::new`], with `setup` run on the state before the bus probes (to fail
    /// commands or plant media errors that the probe itself meets, or lay out what the
    /// namespaces should find in the bus's memory).
    pub(crate) fn new_with(
        module: &'static ThisModule,
        desc: &'static super::BusDesc,
        scale: u32,
        setup: impl FnOnce(&mut State, &Prep<'_>) -> Result,
    ) -> Result<Pin<KBox<Self>>> {
        Self::create(module, desc, scale, |bus| {
            let (base, _) = bus.mem.span();
            let prep = Prep {
                base,
                mem: &bus.mem,
                regions: &bus.regions,
            };
            setup(&mut bus.state.lock(), &prep)
        })
    }

    /// The bus's test memory (for tests: poison, inspect).
    pub(crate) fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The owner of the bus's test memory.
    pub(crate) fn memory(&self) -> &IoMock {
        &self.mem
    }

    /// Runs `f` on the bus's state.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock())
    }

    /// How many ranges of the bus's memory a driver maps.
    pub(crate) fn mapped_ranges(&self) -> Result<usize> {
        let mut n = 0;
        for r in self.regions() {
            if self.memory().users(r)?.0 != 0 {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Whether nobody maps or holds any range of the bus's memory.
    pub(crate) fn released(&self) -> Result<bool> {
        for r in self.regions() {
            if self.memory().users(r)? != (0, 0) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Waits until libnvdimm has added and probed the regions, namespaces and claims it
    /// queued (for this bus and any other).
    pub(crate) fn settle(&self) {
        // SAFETY: no preconditions; it sleeps, and the caller holds no lock.
        unsafe { nvmock_nfit_settle() };
    }

    /// Which namespace index block the driver of DIMM `idx` took as current (`None`:
    /// neither was valid), and the label size it settled on; `ENODEV` if no driver is
    /// bound to the DIMM.
    pub(crate) fn label_index(&self, idx: u32) -> Result<(Option<usize>, u32)> {
        let (mut current, mut size): (c_int, c_int) = (0, 0);
        // SAFETY: `ops` was initialised in `new`; the out pointers are valid for writes.
        to_result(unsafe {
            nvmock_nfit_label_index(self.ops.get(), idx, &mut current, &mut size)
        })?;
        Ok((usize::try_from(current).ok(), u32::try_from(size)?))
    }

    /// The first device-dax instance libnvdimm created under the bus, if any yet.
    pub(crate) fn dax(&self) -> Option<DaxInfo> {
        let mut out = DaxInfo {
            name: [0; 32],
            start: 0,
            size: 0,
            align: 0,
            nr_range: 0,
            bound: false,
        };
        // SAFETY: `ops` was initialised in `new`; `out` is valid for writes.
        (unsafe { nvmock_nfit_find_dax(self.ops.get(), &mut out) } == 0).then_some(out)
    }

    /// Sectors of the first bad range libnvdimm records in `start..start + len` (0: none);
    /// `ENODEV` if no region of the bus holds the range.
    pub(crate) fn badblocks(&self, start: u64, len: u64) -> Result<u32> {
        // SAFETY: `ops` was initialised in `new`.
        let n = unsafe { nvmock_nfit_badblocks(self.ops.get(), start, len) };
        to_result(n)?;
        Ok(n as u32)
    }

    /// Clears poison in `start..start + len` through libnvdimm (`nvdimm_clear_poison()`),
    /// as the pmem driver does when it writes over it.
    pub(crate) fn clear_poison(&self, start: u64, len: u64) -> Result {
        // SAFETY: `ops` was initialised in `new`.
        to_result(unsafe { nvmock_nfit_clear_poison(self.ops.get(), start, len) })
    }

    /// Unbinds and deletes the bus now (dropping it does the same): afterwards libnvdimm
    /// holds nothing of it, so its memory's users can be checked.
    pub(crate) fn remove(&self) {
        // SAFETY: `ops` was initialised in `new`; the glue ignores a second removal.
        unsafe { super::nvmock_nfit_remove(self.ops.get()) };
    }
}
