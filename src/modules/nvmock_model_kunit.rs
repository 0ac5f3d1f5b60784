// SPDX-License-Identifier: GPL-2.0

//! nvmock's pure device models and their KUnit suites, built into the kernel so that
//! `kunit.py run --kunitconfig=config/kunit/model.kunitconfig` runs them (`make kunit-tree`
//! links this file into the tree as drivers/nvmock/). The same suites run in `nvmock.ko`.

/// The pure models, the same files the host crate builds.
pub(crate) mod model {
    #[path = "../../model/pcicfg.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod pcicfg;
    #[path = "../../model/range.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod range;
}

/// The suite (`src/kunit/model.rs`).
mod kunit {
    #[path = "../../kunit/model.rs"]
    mod model;
}
