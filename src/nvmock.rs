// SPDX-License-Identifier: GPL-2.0

//! nvmock: owners of fake physical memory for relinked kernel modules, and their KUnit
//! suites (run when the module is loaded).
//!
//! The device models are the pure `no_std` files under `model/`, shared with the host crate
//! that `cargo test` checks.

use kernel::prelude::*;

/// The pure models, the same files the host crate builds.
pub(crate) mod model {
    #[path = "../model/pcicfg.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod pcicfg;
    #[path = "../model/range.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod range;
}

mod iomap;
mod iomap_test;
mod model_test;
#[cfg(CONFIG_X86)]
mod phram_test;

module! {
    type: NvMock,
    name: "nvmock",
    authors: ["nvmock developers"],
    description: "nvmock: test-owned memory behind wrapped ioremap/memremap/regions",
    license: "GPL",
}

struct NvMock;

impl kernel::Module for NvMock {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(NvMock)
    }
}
