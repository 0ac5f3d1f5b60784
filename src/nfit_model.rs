// SPDX-License-Identifier: GPL-2.0

//! The pure models the NVDIMM modules (`nfit_test`, `nvmock_nvdimm`) build: the same files
//! the host crate checks.

#[path = "model/le.rs"]
#[allow(dead_code)]
pub(crate) mod le;
#[path = "model/nfit/mod.rs"]
#[allow(dead_code, unreachable_pub, unused_imports)]
pub(crate) mod nfit;
#[path = "model/range.rs"]
#[allow(dead_code, unreachable_pub)]
pub(crate) mod range;
