// SPDX-License-Identifier: GPL-2.0

//! The emulated NVMe function: the controller on its virtual PCI host bridge, and the
//! configfs interface that makes controllers at run time.

pub(crate) mod bar0;
pub(crate) mod configfs;
pub(crate) mod dev;
pub(crate) mod devmem;
pub(crate) mod fabric;
pub(crate) mod fabric_configfs;
pub(crate) mod instance;
pub(crate) mod interrupt;
pub(crate) mod pci_host;
pub(crate) mod timing;
