// SPDX-License-Identifier: GPL-2.0

//! Ready-made timing profiles, as data.
//!
//! - `none`: [`NoDelay`](super::NoDelay).
//! - `optane-like`: a [`Simple`](super::Simple) model after NVMeVirt's Optane-like device:
//!   eight 4 KiB units in flight, symmetric 10 µs reads and writes, and the bandwidth that
//!   NVMeVirt's relation gives for them (8 × 4 KiB / 10 µs = 3,276,800,000 bytes/s). The
//!   latency is nvmock's choice (the order of magnitude Intel publishes for Optane SSDs).
//! - `970pro-like`: a [`Nand`](super::Nand) model with NVMeVirt's published Samsung 970 PRO
//!   configuration: 8 channels × 2 dies, 32 KiB pages, channel 800 MB/s, PCIe 3360 MB/s,
//!   flash read 35,760 ns (4 KiB) / 36,013 ns (page) ± 6,000 ns, program 185,000 ns, firmware
//!   21,500 ns (4 KiB read) / 30,490 ns (read), write buffer 4,000 ns per write + 460 ns per
//!   4 KiB, 7% over-provisioning, a write buffer of channels × dies × page × 2 (1 MiB) with
//!   early completion. Not published there, so nvmock's choices: one plane, 64 pages per
//!   block (2 MiB blocks), erase 3.5 ms (ConZone's figure), and a capacity of 1 GiB (35 blocks
//!   per die; [`NandParams::with_capacity`] resizes it).

use super::{NandParams, SimpleParams};

/// A named profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// The `none` model.
    None,
    /// A `simple` model.
    Simple(SimpleParams),
    /// A `nand` model.
    Nand(NandParams),
}

/// `optane-like`.
pub const OPTANE_LIKE: SimpleParams = SimpleParams {
    read_latency: 10_000,
    write_latency: 10_000,
    read_bw: 3_276_800_000,
    write_bw: 3_276_800_000,
    slots: 8,
};

/// `970pro-like`.
pub const PRO970_LIKE: NandParams = NandParams {
    channels: 8,
    luns: 2,
    planes: 1,
    page_size: 32 << 10,
    pages_per_block: 64,
    blocks_per_lun: 35,
    capacity: 1 << 30,
    op_percent: 7,
    tr_4k: 35_760,
    tr_page: 36_013,
    read_jitter: 6_000,
    tprog: 185_000,
    tbers: 3_500_000,
    channel_bw: 800_000_000,
    pcie_bw: 3_360_000_000,
    fw_read_4k: 21_500,
    fw_read: 30_490,
    fw_wbuf0: 4_000,
    fw_wbuf1: 460,
    wb_size: 8 * 2 * (32 << 10) * 2,
    seed: 0,
};

/// Every preset, by name.
pub const PRESETS: [(&str, Preset); 3] = [
    ("none", Preset::None),
    ("optane-like", Preset::Simple(OPTANE_LIKE)),
    ("970pro-like", Preset::Nand(PRO970_LIKE)),
];

/// The preset called `name`, if there is one.
pub fn by_name(name: &str) -> Option<Preset> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|&(_, p)| p)
}
