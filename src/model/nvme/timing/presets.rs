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
//!
//! Zoned presets, for the [`Zms`](super::Zms) model, are listed apart ([`ZMS_PRESETS`],
//! [`zms_by_name`]) until the controller's glue builds that model:
//!
//! - `conzone-like`: ConZone's published prototype (DATE'25): 4 channels × 2 LUNs × 4 planes,
//!   16 KiB pages, TLC, program SLC 75 µs / TLC 937.5 µs / QLC 6.098 ms, read SLC 20 µs /
//!   TLC 40 µs / QLC 85 µs, erase 3.5 ms, channel 1422 MB/s, PCIe 3000 MB/s, one write buffer
//!   of 1536 KiB shared by all zones (one TLC one-shot unit on every die and plane) with a
//!   time-based flush after 320 µs, an L2P cache of 1020 KiB of 4-byte entries (261,120) with
//!   page mapping, and 4 pSLC superblocks. The capacity is scaled down to what a test VM can
//!   back: 48 pages per block make a 24 MiB superblock (zone capacity; ConZone's zones are
//!   128 MiB), in 32 MiB zones (a power of two for Linux), 16 zones: 512 MiB of namespace,
//!   384 MiB of data, 32 MiB of pSLC. At that size the cache maps every page (its reach,
//!   1020 MiB, is ConZone's); [`ZmsParams::l2p_entries`] shrinks it to show misses. Not
//!   published, so nvmock's choices: no SLC bypass, no firmware overheads (0), erase 3.5 ms
//!   for every cell type.
//! - `zn540-like`: NVMeVirt's enterprise ZNS configuration (Western Digital ZN540): 8 channels
//!   × 4 LUNs, every zone on all 32 dies, 32 KiB pages with a 96 KiB one-shot program (TLC,
//!   one plane), channel 450 MB/s, PCIe 3050 MB/s, read 50 µs (NVMeVirt's 4 KiB figure; its
//!   58 µs full-page read is not modelled apart), program 561 µs, firmware 20 µs (4 KiB read)
//!   / 13 µs (read), write-buffer firmware 5.6 µs + 0.6 µs per 4 KiB, no pSLC, zone mapping.
//!   nvmock's choices: 14 write buffers (ZN540's open-zone limit) of 3 MiB, one one-shot unit
//!   on each of the 32 dies (NVMeVirt buffers 10 one-shot pages per zone; a stripe-sized
//!   buffer keeps full flushes to whole one-shot units), no timed flush, erase 3.5 ms, the
//!   mapping pages read like data (50 µs), and a scaled capacity: 48 pages per block make a
//!   48 MiB superblock in 64 MiB zones (NVMeVirt's are 2 GiB), 8 zones: 512 MiB of namespace.

use super::{Cell, MapUnit, NandParams, SimpleParams, WbPolicy, ZmsParams};

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

/// `conzone-like`.
pub const CONZONE_LIKE: ZmsParams = ZmsParams {
    channels: 4,
    luns: 2,
    planes: 4,
    page_size: 16 << 10,
    pages_per_block: 48,
    zone_size: 32 << 20,
    zones: 16,
    cell: Cell::Tlc,
    slc_superblocks: 4,
    slc_bypass: false,
    tr_slc: 20_000,
    tr_tlc: 40_000,
    tr_qlc: 85_000,
    tprog_slc: 75_000,
    tprog_tlc: 937_500,
    tprog_qlc: 6_098_000,
    tbers_slc: 3_500_000,
    tbers_tlc: 3_500_000,
    tbers_qlc: 3_500_000,
    channel_bw: 1_422_000_000,
    pcie_bw: 3_000_000_000,
    fw_read_4k: 0,
    fw_read: 0,
    fw_wbuf0: 0,
    fw_wbuf1: 0,
    wb_count: 1,
    wb_size: 1536 << 10,
    wb_policy: WbPolicy::Static,
    wb_flush_ns: 320_000,
    l2p_entries: (1020 << 10) / 4,
    map_unit: MapUnit::Page,
    chunk_size: 4 << 20,
};

/// `zn540-like`.
pub const ZN540_LIKE: ZmsParams = ZmsParams {
    channels: 8,
    luns: 4,
    planes: 1,
    page_size: 32 << 10,
    pages_per_block: 48,
    zone_size: 64 << 20,
    zones: 8,
    cell: Cell::Tlc,
    slc_superblocks: 0,
    slc_bypass: false,
    tr_slc: 50_000,
    tr_tlc: 50_000,
    tr_qlc: 50_000,
    tprog_slc: 561_000,
    tprog_tlc: 561_000,
    tprog_qlc: 561_000,
    tbers_slc: 3_500_000,
    tbers_tlc: 3_500_000,
    tbers_qlc: 3_500_000,
    channel_bw: 450_000_000,
    pcie_bw: 3_050_000_000,
    fw_read_4k: 20_000,
    fw_read: 13_000,
    fw_wbuf0: 5_600,
    fw_wbuf1: 600,
    wb_count: 14,
    wb_size: 32 * (96 << 10),
    wb_policy: WbPolicy::Modulo,
    wb_flush_ns: 0,
    l2p_entries: 1024,
    map_unit: MapUnit::Zone,
    chunk_size: 4 << 20,
};

/// The zoned presets, by name.
pub const ZMS_PRESETS: [(&str, ZmsParams); 2] =
    [("conzone-like", CONZONE_LIKE), ("zn540-like", ZN540_LIKE)];

/// The zoned preset called `name`, if there is one.
pub fn zms_by_name(name: &str) -> Option<ZmsParams> {
    ZMS_PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, p)| p)
}
