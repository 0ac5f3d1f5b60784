// SPDX-License-Identifier: GPL-2.0

//! nvmock's pure device models and their KUnit suites, built into the kernel so that
//! `kunit.py run --kunitconfig=config/kunit/model.kunitconfig` runs them (`make kunit-tree`
//! links this file into the tree as drivers/nvmock/). The suites are `nvmock_model`
//! (`src/kunit/model.rs`, also in `nvmock.ko`) and, one suite per file, the host tests of the
//! models (`tests/*.rs` but their property tests), which `make kunit-tree` wraps in
//! `#[kunit_tests]` modules (`tools-testing/kunit-tree/host_tests.py`).

/// The pure models: the host crate's root itself, so that the tests' `nvmock_model::...`
/// paths are the same here. Their public API, re-exports included, is more than the suites
/// use; the root's `#![no_std]` is the kernel's anyway.
#[path = "../model/lib.rs"]
#[allow(dead_code, unreachable_pub, unused_imports, unused_attributes)]
pub(crate) mod model;

/// The `std` subset the host tests use, on the kernel's allocator (copied into the tree from
/// `tools-testing/kunit-tree/host_std.rs`).
#[path = "../kunit/host_std.rs"]
#[allow(dead_code, unreachable_pub)]
mod host_std;

/// The `nvmock_model` suite.
#[path = "../kunit/model.rs"]
mod model_suite;

/// `tests/*.rs` as suites, generated into the tree by `make kunit-tree`.
#[path = "../kunit/host_tests/mod.rs"]
#[allow(
    dead_code,
    missing_docs,
    unreachable_pub,
    unused_imports,
    unused_macros,
    unused_variables,
    clippy::all
)]
mod host_tests;
