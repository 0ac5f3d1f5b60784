// SPDX-License-Identifier: GPL-2.0

//! nvmock_e820: legacy persistent memory, the NVDIMM bus whose provider is `e820`, on the
//! devmem reservation (x86_64), as `memmap=nn!ss` gives it on a real machine.
//!
//! `modprobe nvmock_e820 mib=N` publishes N MiB of the reservation as "Persistent Memory
//! (legacy)" with the platform device `e820_pmem`, which the relinked nd_e820 binds: one
//! region, one namespace in fsdax mode (its memory map in RAM), a `pmem` block device.
//! ndctl's tests that need a victim namespace on the e820 bus (dax-dev and the tests that
//! run it: device-dax, dax-ext4.sh, dax-xfs.sh, mmap.sh, device-dax-fio.sh) find it there.
//! It lives apart from nfit_test, which those tests (and the rest of the suite) unload and
//! load again, as legacy PMEM lives apart from the NFIT on a real machine. The memory keeps
//! its contents while the guest runs, across unloads, like persistent memory.

use kernel::prelude::*;

/// The pure models, the same files the host crate builds.
#[path = "../model"]
pub(crate) mod model {
    #[path = "e820.rs"]
    #[allow(unreachable_pub)]
    pub(crate) mod e820;
    #[path = "range.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod range;
}

/// Kernel glue: the owner of the bus's memory and the bus.
#[path = "../glue"]
pub(crate) mod glue {
    // The owner's memory half only (see nfit_test.rs).
    #[path = "e820.rs"]
    pub(crate) mod e820;
    #[path = "iomap.rs"]
    #[allow(dead_code)]
    pub(crate) mod iomap;
}

module! {
    type: NvmockE820,
    name: "nvmock_e820",
    authors: ["nvmock developers"],
    description: "nvmock: legacy persistent memory (the e820 NVDIMM bus) on reserved RAM",
    license: "GPL",
    params: {
        mib: u32 {
            default: 3072,
            description: "MiB of the devmem reservation to publish, a multiple of 2 (default 3072: device-dax's 1 GiB-aligned case maps 2 GiB past a 1 GiB-aligned info block)",
        },
    },
}

struct NvmockE820 {
    _bus: glue::e820::E820Pmem,
}

impl kernel::Module for NvmockE820 {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(NvmockE820 {
            _bus: glue::e820::E820Pmem::new(module_parameters::mib.value())?,
        })
    }
}
