// SPDX-License-Identifier: GPL-2.0

//! The emulated NVDIMM bus on the relinked ACPI NFIT driver.

pub(crate) mod bus;
mod layout;
