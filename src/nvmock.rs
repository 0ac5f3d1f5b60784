// SPDX-License-Identifier: GPL-2.0

//! nvmock: owners of fake physical memory for relinked kernel modules, and their KUnit
//! suites (run when the module is loaded).
//!
//! The device models are the pure `no_std` files under `model/`, shared with the host crate
//! that `cargo test` checks.

use kernel::prelude::*;

#[macro_use]
mod check;

/// The pure models, the same files the host crate builds.
pub(crate) mod model {
    #[path = "../model/le.rs"]
    #[allow(dead_code)]
    pub(crate) mod le;
    #[path = "../model/nvme/mod.rs"]
    #[allow(dead_code, unreachable_pub, unused_imports)]
    pub(crate) mod nvme;
    #[path = "../model/pcicfg.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod pcicfg;
    #[path = "../model/range.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod range;
}

mod blk_io;
mod iomap;
mod iomap_test;
mod model_test;
mod nvme_configfs;
mod nvme_dev;
mod nvme_fault_test;
mod nvme_io_test;
mod nvme_test;
mod pci_host;
#[cfg(CONFIG_X86)]
mod phram_test;
mod raw_lock;
mod soft_irq;

module! {
    type: NvMock,
    name: "nvmock",
    authors: ["nvmock developers"],
    description: "nvmock: test-owned memory behind wrapped ioremap/memremap/regions",
    license: "GPL",
    params: {
        nvme: u32 {
            default: 0,
            description: "Emulated NVMe controllers to create at load (default profile)",
        },
    },
}

/// Most controllers `nvme=` may ask for.
const MAX_NVME: u32 = 16;

#[pin_data]
struct NvMock {
    nvme: KVec<nvme_dev::NvmeDev>,
    #[pin]
    configfs: kernel::configfs::Subsystem<nvme_configfs::Controllers>,
}

/// The controllers `nvme=` asks for.
fn param_controllers() -> Result<KVec<nvme_dev::NvmeDev>> {
    let count = module_parameters::nvme.value();
    if count > MAX_NVME {
        pr_err!("nvme={}: at most {} controllers\n", count, MAX_NVME);
        return Err(EINVAL);
    }
    let mut nvme = KVec::with_capacity(count as usize, GFP_KERNEL)?;
    for id in 0..count {
        let profile = nvme_dev::Profile {
            id,
            ..Default::default()
        };
        nvme.push(nvme_dev::NvmeDev::new(&profile)?, GFP_KERNEL)?;
    }
    Ok(nvme)
}

impl kernel::InPlaceModule for NvMock {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(NvMock {
            nvme: param_controllers()?,
            configfs <- nvme_configfs::subsystem(),
        })
    }
}
