// SPDX-License-Identifier: GPL-2.0

//! Pure models of the PCI Express fabric around emulated functions: ports (root ports and a
//! switch's upstream and downstream ports) as type-1 configuration spaces with their PCI
//! Express capability, a hot-plug slot on a downstream-facing port as `pciehp` drives it,
//! the ACS extended capability, and a topology described as data and validated.
//!
//! Like the other models these are `no_std`, allocate nothing and never panic on guest
//! input; the configuration spaces are [`super::pcicfg::ConfigSpace`]s. A kernel adapter
//! places them under nvmock's virtual host bridge; nothing here knows about the kernel.

pub mod acs;
pub mod port;
pub mod slot;
pub mod topology;

pub use acs::AcsConfig;
pub use port::{Port, PortConfig, PortError, PortType};
pub use slot::{Notify, SlotConfig};
pub use topology::{Kind, Node, Topology, TopologyError};
