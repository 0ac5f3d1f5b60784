// SPDX-License-Identifier: GPL-2.0

//! nvmock's pure device models, built for the host.
//!
//! Every module here is `#![no_std]`-clean, uses only `core`, and keeps its state in memory
//! the caller provides. The kernel modules include the very same files with `#[path]`; this
//! crate exists so that `cargo test` can check them in seconds.

#![no_std]

pub mod e820;
pub mod histogram;
mod le;
pub mod nfit;
pub mod nvme;
pub mod pci;
pub mod pcicfg;
pub mod range;
