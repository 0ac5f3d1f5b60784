// SPDX-License-Identifier: GPL-2.0

//! What only the KUnit suites ask of an [`IoMock`] owner of test memory: its bookkeeping
//! (users of a range, buffers freed, injected failures) and a range's bytes.
//!
//! A child module of `src/glue/iomap.rs`, so that it sees the owner's private state; built
//! only into the modules with suites (`--cfg nvmock_kunit`, src/modules/Kbuild), never into
//! the production `nfit_test`. nvmock (whose suites use what is not marked) checks this
//! file for dead code; the marked items only nvmock_nvdimm's suites use.

use super::{errno, Inject, IoMock, Region};
use kernel::prelude::*;

impl Region {
    /// The range's bytes.
    ///
    /// # Safety
    ///
    /// The range must stay registered (or mapped) while the slice is used, and nothing may
    /// access those bytes through a mapping meanwhile (a driver's, or a device's user
    /// mapping).
    #[allow(dead_code, reason = "only nvmock_nvdimm's suites (dax) use it")]
    pub(crate) unsafe fn bytes(&self) -> &mut [u8] {
        // SAFETY: `host` is `len` bytes of buffer while the range lives (see `Region`); the
        // caller rules out other accesses.
        unsafe { core::slice::from_raw_parts_mut(self.host, self.len) }
    }
}

impl Inject {
    /// Hits failed so far: the `nth` one, once it has come.
    #[allow(dead_code, reason = "only nvmock_nvdimm's suites (nfit) use it")]
    fn failed(&self) -> u32 {
        u32::from(self.nth != 0 && self.hits >= self.nth)
    }
}

impl IoMock {
    /// Current users (mappings, requested regions) of a range.
    pub(crate) fn users(&self, r: &Region) -> Result<(u32, u32)> {
        let st = self.state.lock();
        let info = st
            .reg
            .info(r.handle)
            .map_err(|e| Error::from_errno(errno(e)))?;
        Ok((info.maps, info.requests))
    }

    /// Makes the `n`th map or region request that reaches this owner from now on fail
    /// (`ENOMEM`, `EBUSY`); 0 turns injection off. Resets the counts of
    /// [`IoMock::injected`].
    #[allow(dead_code, reason = "only nvmock_nvdimm's suites (nfit) use it")]
    pub(crate) fn fail_nth(&self, n: u32) {
        self.state.lock().inject = Inject {
            nth: n,
            ..Inject::default()
        };
    }

    /// Maps and region requests that reached this owner since [`IoMock::fail_nth`], and
    /// how many of them were failed.
    #[allow(dead_code, reason = "only nvmock_nvdimm's suites (nfit) use it")]
    pub(crate) fn injected(&self) -> (u32, u32) {
        let i = self.state.lock().inject;
        (i.hits, i.failed())
    }

    /// Buffers freed so far.
    pub(crate) fn freed(&self) -> usize {
        self.state.lock().freed
    }
}
