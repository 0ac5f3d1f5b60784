// SPDX-License-Identifier: GPL-2.0

//! The presets: the two NVDIMM buses of the kernel's nfit_test module (`nfit_test.0` and
//! `nfit_test.1`), as data that the `nfit_test` module and the KUnit suites instantiate.
//!
//! Every fact here is taken from `tools/testing/nvdimm/test/nfit.c` of Linux 7.3; the
//! function each comes from is named. Linux 7.3's nfit_test still describes BLK: its
//! control regions with block windows, block data window regions and the SPA ranges of both
//! kinds, although libnvdimm no longer drives BLK apertures. Linux's NFIT core still parses
//! them (`add_bdw()`) and uses the control-region SPA ranges to associate DIMMs, but creates
//! regions only for the persistent (and virtual) ranges. They are kept here, exactly.
//!
//! # Common facts
//!
//! - Device handles: the `handle[]` array, built with `NFIT_DIMM_HANDLE(node, socket, imc,
//!   chan, dimm)`: [`HANDLES`] `0x0`, `0x1`, `0x100`, `0x101` (bus 0, socket 0, memory
//!   controllers 0 and 1, DIMMs 0 and 1), `0x1000` (bus 0's hot-plugged DIMM, socket 1),
//!   `0x10000`, `0x10001` (bus 1, node 1).
//! - Every control region: `dcr_common_init()`: vendor id `0xabcd`, device id 0, revision
//!   id 1, `valid_fields` 1, manufacturing location `0xa`, date `cpu_to_be16(2016)`; serial
//!   number `~handle[i]` of its DIMM.
//! - Sizes (the `enum` at the top of nfit.c): [`DIMM_SIZE`] 32 MiB, [`LABEL_SIZE`] 128 KiB,
//!   [`SPA_VCD_SIZE`] 4 MiB, `SPA0_SIZE` = `SPA2_SIZE` = 32 MiB, `SPA1_SIZE` = 64 MiB,
//!   [`BDW_SIZE`] 16 KiB (`64 << 8`), [`DCR_SIZE`] 12 bytes, [`NUM_HINTS`] 8.
//! - Addresses: nfit_test allocates buffers of at least `DIMM_SIZE` from a pool at 4 GiB,
//!   aligned to 128 MiB (`test_alloc()`, `nfit_test_init()`), and uses the vmalloc address
//!   of smaller ones as their "physical" address. Here every address is an offset from the
//!   bus's [`super::Topology::base`], which must be aligned to [`ALIGN`] (128 MiB): large
//!   buffers at multiples of 128 MiB, small ones (control regions, [`LABEL_SIZE`] apart as
//!   nfit_test allocates them; flush hint pages) after them. A bus needs
//!   [`NFIT_TEST0_SPAN`] or [`NFIT_TEST1_SPAN`] bytes of fake physical address space. Label
//!   areas ([`LABEL_SIZE`] per DIMM) are not in the NFIT.
//!
//! # nfit_test.0 ([`NFIT_TEST0`], then [`NFIT_TEST0_HOTPLUG`])
//!
//! `nfit_test0_setup()`; `nfit_test0_alloc()` sizes the buffer for the hot-plug table:
//! 13 SPA ranges of 56 bytes, 17 mappings, 5 full and 5 truncated control regions, 5 block
//! windows, 5 flush hint structures of 8 hints and the capabilities, 2720 bytes.
//!
//! - Four DIMMs, physical ids 0 to 3, handles `handle[0..4]`.
//! - SPA ranges: range 1, persistent, 32 MiB (`SPA0_SIZE`), interleaving the first 16 MiB of
//!   DIMMs 0 and 1 (2 ways); range 2, persistent, 64 MiB (`SPA1_SIZE`), interleaving the
//!   last 16 MiB of DIMMs 0 and 1 and 16 MiB at DPA 16 MiB of DIMMs 2 and 3 (4 ways); ranges
//!   3 to 6, control region, 12 bytes each (DIMMs 0 to 3); ranges 7 to 10, block data
//!   window, 32 MiB each (DIMMs 0 to 3).
//! - Control regions: 1 to 4, format `NFIT_FIC_BLK` (0x201), one window of 12 bytes,
//!   command register at 0 (8 bytes), status at 8 (4 bytes), for DIMMs 0 to 3; 5 to 8,
//!   format `NFIT_FIC_BYTEN` (0x301), truncated (no windows), for DIMMs 0 to 3.
//! - Block windows for control regions 1 to 4: one window of 16 KiB at offset 0, capacity
//!   32 MiB, start address 0.
//! - Mappings (`mem-region0` to `13`): DIMMs 0/1 into range 1 (control regions 5/6, region
//!   offsets 1 and `1 << 8`); DIMMs 0 to 3 into range 2 (control regions 5 to 8, region
//!   offsets `1 << 16`, `1 << 24`, `1 << 32`, `1 << 40`; region id 1 for DIMMs 0 and 1);
//!   each DIMM into its control-region range (3 to 6) and block-window range (7 to 10) with
//!   region size 0, 1 way. Flag `ACPI_NFIT_MEM_HEALTH_ENABLED` on mem-regions 1, 2, 4 and
//!   13, none elsewhere.
//! - Flush hints: one structure per DIMM, 8 addresses 8 bytes apart in its own page.
//! - Platform capabilities: highest capability 1, `ACPI_NFIT_CAPABILITY_MEM_FLUSH`.
//!
//! After probing, `nfit_test_probe()` sets `setup_hotplug`, rebuilds the table and signals
//! a `_FIT` update (notification 0x80) with it: that is [`NFIT_TEST0_HOTPLUG`], which adds
//! DIMM 4 (`handle[4]` = `0x1000`, physical id 4): BLK control region 9 and BYTEN control
//! region 10, a block window for region 9, range 11 (control region, 12 bytes), range 12
//! (persistent, 32 MiB, DIMM 4 alone: 1 way, region offset `1 << 48`, health enabled),
//! range 13 (block data window, 32 MiB), its three mappings and its flush hints.
//!
//! # nfit_test.1 ([`NFIT_TEST1`])
//!
//! `nfit_test1_setup()`, sized by `nfit_test1_alloc()` (2 SPA ranges, 2 mappings, 2
//! truncated control regions: 272 bytes). The "legacy" flat PMEM bus:
//!
//! - range 1, persistent, 32 MiB (`SPA2_SIZE`), all of DIMM `handle[5]` (`0x10000`,
//!   physical id 0, control region 1, format `NFIT_FIC_BYTE` 0x101), its mapping flagged
//!   save failed, restore failed, flush failed, health observed and not armed (`0x1f`);
//! - a volatile virtual CD range of 4 MiB with range index 0, mapped by no DIMM;
//! - a second DIMM, `handle[6]` (`0x10001`, physical id 0 too, control region 2, format
//!   `NFIT_FIC_BYTE`), whose mapping has range index 0 (not mapped), region size 32 MiB and
//!   flag `ACPI_NFIT_MEM_MAP_FAILED`;
//! - no block windows, flush hints or platform capabilities.

use super::{
    flags, format_code, BlockControl, BlockWindow, Capabilities, ControlRegion, DeviceHandle, Dimm,
    FlushHints, Guid, Manufacturing, Mapping, Oem, Spa, Topology,
};

/// Size of a DIMM (`DIMM_SIZE`).
pub const DIMM_SIZE: u64 = 32 << 20;
/// Size of a DIMM's label area (`LABEL_SIZE`; not in the NFIT).
pub const LABEL_SIZE: u64 = 128 << 10;
/// Size of nfit_test.1's virtual CD range (`SPA_VCD_SIZE`).
pub const SPA_VCD_SIZE: u64 = 4 << 20;
/// Size of a block data window (`BDW_SIZE`).
pub const BDW_SIZE: u64 = 64 << 8;
/// Size of a control region's SPA range and block control window (`DCR_SIZE`).
pub const DCR_SIZE: u64 = 12;
/// Flush hint addresses per DIMM (`NUM_HINTS`).
pub const NUM_HINTS: usize = 8;
/// Alignment of large buffers, and of a bus's base (`test_alloc()`'s pool alignment).
pub const ALIGN: u64 = 128 << 20;

const SPA0_SIZE: u64 = DIMM_SIZE;
const SPA1_SIZE: u64 = DIMM_SIZE * 2;
const SPA2_SIZE: u64 = DIMM_SIZE;
const PAGE: u64 = 4096;

/// The device handles of nfit.c's `handle[]`.
pub const HANDLES: [DeviceHandle; 7] = [
    DeviceHandle::new(0, 0, 0, 0, 0),
    DeviceHandle::new(0, 0, 0, 0, 1),
    DeviceHandle::new(0, 0, 1, 0, 0),
    DeviceHandle::new(0, 0, 1, 0, 1),
    DeviceHandle::new(0, 1, 0, 0, 0),
    DeviceHandle::new(1, 0, 0, 0, 0),
    DeviceHandle::new(1, 0, 0, 0, 1),
];

// Bus 0 layout, offsets from its base.
const B0_SPA0: u64 = 0;
const B0_SPA1: u64 = ALIGN;
const B0_SPA11: u64 = 2 * ALIGN;
const B0_SMALL: u64 = 8 * ALIGN;

/// Where DIMM `i`'s block data window range (its `dimm[i]` buffer) starts.
const fn b0_dimm(i: u64) -> u64 {
    (3 + i) * ALIGN
}

/// Where DIMM `i`'s control region range (its `dcr[i]` buffer) starts.
const fn b0_dcr(i: u64) -> u64 {
    B0_SMALL + i * LABEL_SIZE
}

/// Where DIMM `i`'s flush hint page (its `flush[i]` buffer) starts.
const fn b0_flush(i: u64) -> u64 {
    B0_SMALL + 5 * LABEL_SIZE + i * PAGE
}

/// Fake physical address space bus 0 uses, from its base (hot-plugged DIMM included).
pub const NFIT_TEST0_SPAN: u64 = B0_SMALL + (1 << 20);

// Bus 1 layout.
const B1_SPA0: u64 = 0;
const B1_VCD: u64 = ALIGN;

/// Fake physical address space bus 1 uses, from its base.
pub const NFIT_TEST1_SPAN: u64 = B1_VCD + SPA_VCD_SIZE;

/// DIMM `handle[i]` with `dcr_common_init()`'s identity.
const fn dimm(i: usize, physical_id: u16) -> Dimm {
    Dimm {
        handle: HANDLES[i],
        physical_id,
        vendor_id: 0xabcd,
        device_id: 0,
        revision_id: 1,
        subsystem_vendor_id: 0,
        subsystem_device_id: 0,
        subsystem_revision_id: 0,
        manufacturing: Some(Manufacturing {
            location: 0xa,
            date: 2016,
        }),
        serial_number: !HANDLES[i].0,
    }
}

const BLK_CONTROL: BlockControl = BlockControl {
    windows: 1,
    window_size: DCR_SIZE,
    command_offset: 0,
    command_size: 8,
    status_offset: 8,
    status_size: 4,
    flags: 0,
};

/// "dcr-descriptorN: blk".
const fn blk_dcr(region_index: u16, i: usize) -> ControlRegion {
    ControlRegion {
        region_index,
        dimm: HANDLES[i],
        format_code: format_code::BLK,
        block: Some(BLK_CONTROL),
    }
}

/// A truncated control region with format `code`.
const fn byte_dcr(region_index: u16, i: usize, code: u16) -> ControlRegion {
    ControlRegion {
        region_index,
        dimm: HANDLES[i],
        format_code: code,
        block: None,
    }
}

/// "bdwN".
const fn bdw(region_index: u16) -> BlockWindow {
    BlockWindow {
        region_index,
        windows: 1,
        offset: 0,
        size: BDW_SIZE,
        capacity: DIMM_SIZE,
        start_address: 0,
    }
}

const fn spa(range_index: u16, range_type: Guid, address: u64, length: u64) -> Spa {
    Spa {
        range_index,
        flags: 0,
        proximity_domain: 0,
        range_type,
        address,
        length,
        memory_attributes: 0,
        location_cookie: None,
    }
}

/// The fields nfit_test leaves zero in a mapping (and 1 way).
const MAP: Mapping = Mapping {
    dimm: HANDLES[0],
    range_index: 0,
    region_index: 0,
    region_id: 0,
    region_size: 0,
    region_offset: 0,
    dpa: 0,
    interleave_index: 0,
    interleave_ways: 1,
    flags: 0,
};

/// The 8 hint addresses of a flush page at `at`.
const fn hints(at: u64) -> [u64; NUM_HINTS] {
    let mut a = [0u64; NUM_HINTS];
    let mut i = 0;
    while i < NUM_HINTS {
        a[i] = at + 8 * i as u64;
        i += 1;
    }
    a
}

const FLUSH0: [u64; NUM_HINTS] = hints(b0_flush(0));
const FLUSH1: [u64; NUM_HINTS] = hints(b0_flush(1));
const FLUSH2: [u64; NUM_HINTS] = hints(b0_flush(2));
const FLUSH3: [u64; NUM_HINTS] = hints(b0_flush(3));
const FLUSH4: [u64; NUM_HINTS] = hints(b0_flush(4));

const HEALTH: u16 = flags::MEM_HEALTH_ENABLED;

const B0_DIMMS: &[Dimm] = &[dimm(0, 0), dimm(1, 1), dimm(2, 2), dimm(3, 3), dimm(4, 4)];

const B0_SPAS: &[Spa] = &[
    spa(1, Guid::PERSISTENT, B0_SPA0, SPA0_SIZE),
    spa(2, Guid::PERSISTENT, B0_SPA1, SPA1_SIZE),
    spa(3, Guid::CONTROL_REGION, b0_dcr(0), DCR_SIZE),
    spa(4, Guid::CONTROL_REGION, b0_dcr(1), DCR_SIZE),
    spa(5, Guid::CONTROL_REGION, b0_dcr(2), DCR_SIZE),
    spa(6, Guid::CONTROL_REGION, b0_dcr(3), DCR_SIZE),
    spa(7, Guid::BLOCK_DATA_WINDOW, b0_dimm(0), DIMM_SIZE),
    spa(8, Guid::BLOCK_DATA_WINDOW, b0_dimm(1), DIMM_SIZE),
    spa(9, Guid::BLOCK_DATA_WINDOW, b0_dimm(2), DIMM_SIZE),
    spa(10, Guid::BLOCK_DATA_WINDOW, b0_dimm(3), DIMM_SIZE),
    // Hot plug: spa10 to spa12.
    spa(11, Guid::CONTROL_REGION, b0_dcr(4), DCR_SIZE),
    spa(12, Guid::PERSISTENT, B0_SPA11, SPA0_SIZE),
    spa(13, Guid::BLOCK_DATA_WINDOW, b0_dimm(4), DIMM_SIZE),
];

const B0_MAPPINGS: &[Mapping] = &[
    // mem-region0 (spa0, dimm0)
    Mapping {
        range_index: 1,
        region_index: 5,
        region_size: SPA0_SIZE / 2,
        region_offset: 1,
        interleave_ways: 2,
        ..MAP
    },
    // mem-region1 (spa0, dimm1)
    Mapping {
        dimm: HANDLES[1],
        range_index: 1,
        region_index: 6,
        region_size: SPA0_SIZE / 2,
        region_offset: 1 << 8,
        interleave_ways: 2,
        flags: HEALTH,
        ..MAP
    },
    // mem-region2 (spa1, dimm0)
    Mapping {
        region_id: 1,
        range_index: 2,
        region_index: 5,
        region_size: SPA1_SIZE / 4,
        region_offset: 1 << 16,
        dpa: SPA0_SIZE / 2,
        interleave_ways: 4,
        flags: HEALTH,
        ..MAP
    },
    // mem-region3 (spa1, dimm1)
    Mapping {
        dimm: HANDLES[1],
        region_id: 1,
        range_index: 2,
        region_index: 6,
        region_size: SPA1_SIZE / 4,
        region_offset: 1 << 24,
        dpa: SPA0_SIZE / 2,
        interleave_ways: 4,
        ..MAP
    },
    // mem-region4 (spa1, dimm2)
    Mapping {
        dimm: HANDLES[2],
        range_index: 2,
        region_index: 7,
        region_size: SPA1_SIZE / 4,
        region_offset: 1 << 32,
        dpa: SPA0_SIZE / 2,
        interleave_ways: 4,
        flags: HEALTH,
        ..MAP
    },
    // mem-region5 (spa1, dimm3)
    Mapping {
        dimm: HANDLES[3],
        range_index: 2,
        region_index: 8,
        region_size: SPA1_SIZE / 4,
        region_offset: 1 << 40,
        dpa: SPA0_SIZE / 2,
        interleave_ways: 4,
        ..MAP
    },
    // mem-region6 to 9 (spa/dcr0 to 3, dimm0 to 3)
    Mapping {
        range_index: 3,
        region_index: 1,
        ..MAP
    },
    Mapping {
        dimm: HANDLES[1],
        range_index: 4,
        region_index: 2,
        ..MAP
    },
    Mapping {
        dimm: HANDLES[2],
        range_index: 5,
        region_index: 3,
        ..MAP
    },
    Mapping {
        dimm: HANDLES[3],
        range_index: 6,
        region_index: 4,
        ..MAP
    },
    // mem-region10 to 13 (spa/bdw0 to 3, dimm0 to 3)
    Mapping {
        range_index: 7,
        region_index: 1,
        ..MAP
    },
    Mapping {
        dimm: HANDLES[1],
        range_index: 8,
        region_index: 2,
        ..MAP
    },
    Mapping {
        dimm: HANDLES[2],
        range_index: 9,
        region_index: 3,
        ..MAP
    },
    Mapping {
        dimm: HANDLES[3],
        range_index: 10,
        region_index: 4,
        flags: HEALTH,
        ..MAP
    },
    // Hot plug: mem-region14 (spa/dcr4, dimm4)
    Mapping {
        dimm: HANDLES[4],
        range_index: 11,
        region_index: 9,
        ..MAP
    },
    // mem-region15 (spa11, dimm4)
    Mapping {
        dimm: HANDLES[4],
        range_index: 12,
        region_index: 10,
        region_size: SPA0_SIZE,
        region_offset: 1 << 48,
        flags: HEALTH,
        ..MAP
    },
    // mem-region16 (spa/bdw4, dimm4)
    Mapping {
        dimm: HANDLES[4],
        range_index: 13,
        region_index: 9,
        ..MAP
    },
];

const B0_DCRS: &[ControlRegion] = &[
    blk_dcr(1, 0),
    blk_dcr(2, 1),
    blk_dcr(3, 2),
    blk_dcr(4, 3),
    byte_dcr(5, 0, format_code::BYTEN),
    byte_dcr(6, 1, format_code::BYTEN),
    byte_dcr(7, 2, format_code::BYTEN),
    byte_dcr(8, 3, format_code::BYTEN),
    // Hot plug: dcr-descriptor4 blk and pmem.
    blk_dcr(9, 4),
    byte_dcr(10, 4, format_code::BYTEN),
];

const B0_BDWS: &[BlockWindow] = &[bdw(1), bdw(2), bdw(3), bdw(4), bdw(9)];

const B0_FLUSH: &[FlushHints<'static>] = &[
    FlushHints {
        dimm: HANDLES[0],
        addresses: &FLUSH0,
    },
    FlushHints {
        dimm: HANDLES[1],
        addresses: &FLUSH1,
    },
    FlushHints {
        dimm: HANDLES[2],
        addresses: &FLUSH2,
    },
    FlushHints {
        dimm: HANDLES[3],
        addresses: &FLUSH3,
    },
    FlushHints {
        dimm: HANDLES[4],
        addresses: &FLUSH4,
    },
];

/// nfit_test.0 after hot plug: the table `nfit_test_probe()` hands over through `_FIT`.
pub const NFIT_TEST0_HOTPLUG: Topology<'static> = Topology {
    oem: Oem {
        table_id: *b"NFITTST0",
        ..Oem::NVMOCK
    },
    base: 0,
    spas: B0_SPAS,
    dimms: B0_DIMMS,
    control_regions: B0_DCRS,
    block_windows: B0_BDWS,
    mappings: B0_MAPPINGS,
    interleaves: &[],
    flush_hints: B0_FLUSH,
    smbios: &[],
    capabilities: Some(Capabilities {
        highest_capability: 1,
        capabilities: flags::CAP_MEM_FLUSH,
    }),
};

/// nfit_test.0 as probed: [`NFIT_TEST0_HOTPLUG`] without DIMM 4 and what belongs to it.
pub const NFIT_TEST0: Topology<'static> = Topology {
    spas: B0_SPAS.split_at(10).0,
    dimms: B0_DIMMS.split_at(4).0,
    control_regions: B0_DCRS.split_at(8).0,
    block_windows: B0_BDWS.split_at(4).0,
    mappings: B0_MAPPINGS.split_at(14).0,
    flush_hints: B0_FLUSH.split_at(4).0,
    ..NFIT_TEST0_HOTPLUG
};

/// nfit_test.1: one flat PMEM range on one DIMM, a virtual CD, an unmapped DIMM.
pub const NFIT_TEST1: Topology<'static> = Topology {
    oem: Oem {
        table_id: *b"NFITTST1",
        ..Oem::NVMOCK
    },
    base: 0,
    spas: &[
        spa(1, Guid::PERSISTENT, B1_SPA0, SPA2_SIZE),
        spa(0, Guid::VOLATILE_CD, B1_VCD, SPA_VCD_SIZE),
    ],
    dimms: &[dimm(5, 0), dimm(6, 0)],
    control_regions: &[
        byte_dcr(1, 5, format_code::BYTE),
        byte_dcr(2, 6, format_code::BYTE),
    ],
    block_windows: &[],
    mappings: &[
        Mapping {
            dimm: HANDLES[5],
            range_index: 1,
            region_index: 1,
            region_size: SPA2_SIZE,
            flags: flags::MEM_SAVE_FAILED
                | flags::MEM_RESTORE_FAILED
                | flags::MEM_FLUSH_FAILED
                | flags::MEM_HEALTH_OBSERVED
                | flags::MEM_NOT_ARMED,
            ..MAP
        },
        Mapping {
            dimm: HANDLES[6],
            range_index: 0,
            region_index: 2,
            region_size: SPA2_SIZE,
            flags: flags::MEM_MAP_FAILED,
            ..MAP
        },
    ],
    interleaves: &[],
    flush_hints: &[],
    smbios: &[],
    capabilities: None,
};
