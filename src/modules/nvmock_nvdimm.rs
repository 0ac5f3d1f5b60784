// SPDX-License-Identifier: GPL-2.0

//! nvmock_nvdimm: KUnit suites for the NVDIMM stack (x86_64), run when the module loads.
//!
//! Each test builds its own emulated bus (nfit_test.1's flat topology, under bus ids of its
//! own) on the relinked ACPI NFIT driver and libnvdimm, and checks what the stack did to it
//! through the bus's own record: the commands each DIMM and the bus received and how they
//! ended, and who still maps the bus's memory. Suites: `nvmock_nfit` (the bus, labels,
//! ARS) and `nvmock_dax` (device-dax on the bus's memory). The namespace drivers (nd_pmem,
//! dax_pmem, device_dax) must be loaded first, as scripts/boot does.

use kernel::prelude::*;

/// The pure models, the same files the host crate builds.
#[path = "../model"]
pub(crate) mod model {
    #[path = "le.rs"]
    #[allow(dead_code)]
    pub(crate) mod le;
    #[path = "nfit/mod.rs"]
    #[allow(dead_code, unreachable_pub, unused_imports)]
    pub(crate) mod nfit;
    #[path = "range.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod range;
}

/// Kernel glue: the same files `nfit_test` builds.
#[path = "../glue"]
pub(crate) mod glue {
    // The owner's memory half only: its PCI half, and what only nvmock's suites ask of it,
    // are nvmock's, which builds this file with no such allowance.
    #[path = "iomap.rs"]
    #[allow(dead_code)]
    pub(crate) mod iomap;
    #[path = "nfit/mod.rs"]
    pub(crate) mod nfit;
}

/// The suites (`src/kunit/`).
#[path = "../kunit"]
mod kunit {
    #[path = "check.rs"]
    #[macro_use]
    mod check;
    #[path = "dax.rs"]
    mod dax;
    #[path = "nfit.rs"]
    mod nfit;
    #[path = "relinked_nvdimm.rs"]
    mod relinked_nvdimm;
    #[path = "watermark.rs"]
    mod watermark;
}

module! {
    type: NvmockNvdimm,
    name: "nvmock_nvdimm",
    authors: ["nvmock developers"],
    description: "nvmock: KUnit suites for the NVDIMM stack on emulated buses",
    license: "GPL",
}

struct NvmockNvdimm;

impl kernel::Module for NvmockNvdimm {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(NvmockNvdimm)
    }
}
