// SPDX-License-Identifier: GPL-2.0

//! Host tests of `Topology::validate`: every kind of bad description is refused with its
//! own error.

#[path = "nfit_util.rs"]
mod util;

use nvmock_model::nfit::preset::*;
use nvmock_model::nfit::TopologyError as E;
use nvmock_model::nfit::*;
use util::*;

const H0: DeviceHandle = HANDLES[0];
const H1: DeviceHandle = HANDLES[1];
const STRANGER: DeviceHandle = DeviceHandle::new(7, 7, 7, 7, 7);

fn bus0() -> Desc {
    Desc::from_topology(&NFIT_TEST0_HOTPLUG)
}

fn bus1() -> Desc {
    Desc::from_topology(&NFIT_TEST1)
}

/// Applies `f` to a copy of `base` and checks validation fails with `want`.
#[track_caller]
fn refused(base: fn() -> Desc, f: impl FnOnce(&mut Desc), want: E) {
    let mut d = base();
    f(&mut d);
    assert_eq!(d.validate(), Err(want));
}

/// Applies `f` to a copy of `base` and checks it still validates (and round-trips).
#[track_caller]
fn accepted(base: fn() -> Desc, f: impl FnOnce(&mut Desc)) {
    let mut d = base();
    f(&mut d);
    assert_eq!(d.validate(), Ok(()));
    round_trip(&d);
}

#[test]
fn spa_ranges() {
    refused(bus0, |d| d.spas[0].range_index = 0, E::SpaRangeIndex(0));
    refused(
        bus1,
        |d| d.spas[1].range_type = Guid::PERSISTENT,
        E::SpaRangeIndex(1),
    );
    accepted(bus1, |d| d.spas[1].range_type = Guid::PERSISTENT_DISK);
    refused(
        bus0,
        |d| d.spas[3].range_index = 3,
        E::DuplicateRangeIndex(3),
    );
    // Several virtual ranges may have index 0.
    accepted(bus1, |d| {
        let mut again = d.spas[1];
        again.address += SPA_VCD_SIZE;
        d.spas.push(again);
    });
    for bad in [flags::SPA_LOCATION_COOKIE_VALID, 1 << 3, 1 << 15] {
        refused(bus0, |d| d.spas[1].flags = bad, E::SpaFlags(1));
    }
    refused(bus0, |d| d.spas[2].length = 0, E::SpaEmpty(2));
    refused(bus0, |d| d.spas[0].address = 0x800, E::SpaAlign(0));
    refused(bus0, |d| d.spas[1].length -= 0x10, E::SpaAlign(1));
    refused(bus0, |d| d.base = 0x10, E::SpaAlign(0));
    // Control region ranges need no alignment (nfit_test's are 12 bytes).
    accepted(bus0, |d| d.spas[2].address += 3);
    refused(
        bus0,
        |d| d.spas[6].address = u64::MAX - 10,
        E::SpaOverflow(6),
    );
    refused(bus0, |d| d.base = u64::MAX - ALIGN + 1, E::SpaOverflow(1));
    refused(bus0, |d| d.spas[1].address = 16 << 20, E::SpaOverlap(0, 1));
    refused(
        bus0,
        |d| d.spas[3].address = d.spas[2].address + 11,
        E::SpaOverlap(2, 3),
    );
    accepted(bus0, |d| d.spas[3].address = d.spas[2].address + 12);
}

#[test]
fn dimms() {
    refused(
        bus0,
        |d| d.dimms[2].handle.0 |= 0x1000_0000,
        E::DeviceHandle(2),
    );
    refused(bus0, |d| d.dimms[1].handle = H0, E::DuplicateDimm(1));
    let mut stranger = NFIT_TEST0.dimms[0];
    stranger.handle = STRANGER;
    refused(bus0, |d| d.dimms.push(stranger), E::DimmWithoutMapping(5));
    refused(
        bus0,
        |d| {
            d.dimms.push(stranger);
            d.mappings.push(Mapping {
                dimm: STRANGER,
                range_index: 0,
                region_index: 0,
                region_id: 0,
                region_size: 0,
                region_offset: 0,
                dpa: 0,
                interleave_index: 0,
                interleave_ways: 1,
                flags: flags::MEM_MAP_FAILED,
            });
        },
        E::DimmWithoutControlRegion(5),
    );
}

#[test]
fn control_regions_and_block_windows() {
    refused(bus0, |d| d.dcrs[0].region_index = 0, E::RegionIndex(0));
    refused(
        bus0,
        |d| d.dcrs[1].region_index = 1,
        E::DuplicateRegionIndex(1),
    );
    refused(bus0, |d| d.dcrs[0].dimm = STRANGER, E::ControlRegionDimm(0));
    refused(
        bus0,
        |d| d.dcrs[0].block.as_mut().unwrap().windows = 0,
        E::BlockControl(0),
    );
    refused(
        bus0,
        |d| {
            d.dcrs.push(ControlRegion {
                region_index: 77,
                dimm: H0,
                format_code: format_code::BYTE,
                block: None,
            })
        },
        E::ControlRegionUnused(10),
    );
    // Referenced, but only by another DIMM's mapping: that mapping is refused first.
    refused(
        bus0,
        |d| d.mappings[1].region_index = 5,
        E::MappingRegion(1),
    );

    refused(bus0, |d| d.bdws[0].region_index = 5, E::BlockWindow(0));
    refused(bus0, |d| d.bdws[0].region_index = 99, E::BlockWindow(0));
    refused(bus0, |d| d.bdws[2].windows = 2, E::BlockWindow(2));
    refused(bus0, |d| d.bdws[3].size = 0, E::BlockWindow(3));
    refused(bus0, |d| d.bdws[1].region_index = 1, E::BlockWindow(1));
    accepted(bus0, |d| {
        d.dcrs[0].block.as_mut().unwrap().windows = 2;
        d.bdws[0].windows = 2;
    });
}

#[test]
fn mappings() {
    refused(bus0, |d| d.mappings[0].dimm = STRANGER, E::MappingDimm(0));
    refused(bus0, |d| d.mappings[0].range_index = 99, E::MappingRange(0));
    refused(
        bus0,
        |d| d.mappings[7].region_index = 99,
        E::MappingRegion(7),
    );
    refused(
        bus0,
        |d| d.mappings[0].region_index = 6,
        E::MappingRegion(0),
    );
    refused(
        bus0,
        |d| d.mappings[0].interleave_index = 1,
        E::MappingInterleave(0),
    );
    refused(bus0, |d| d.mappings[0].flags = 1 << 7, E::MappingFlags(0));
    refused(
        bus0,
        |d| d.mappings[6].interleave_ways = 0,
        E::MappingWays(6),
    );
    refused(
        bus1,
        |d| d.mappings[1].interleave_ways = 0,
        E::MappingWays(1),
    );
    refused(bus0, |d| d.mappings[0].dpa = 0x100, E::MappingAlign(0));
    refused(bus0, |d| d.mappings[0].region_size = 0, E::MappingAlign(0));
    refused(bus0, |d| d.mappings[2].dpa = !0xfff, E::MappingAlign(2));
    refused(
        bus0,
        |d| d.mappings[2].dpa = 8 << 20,
        E::MappingOverlap(0, 2),
    );
    // DPA rules apply to memory ranges only: an unmapped DIMM or a control region range
    // may say anything.
    accepted(bus1, |d| d.mappings[1].dpa = 0x123);
    accepted(bus0, |d| d.mappings[6].dpa = 0x123);
    // Mapping region index 0: no control region.
    accepted(bus0, |d| d.mappings[10].region_index = 0);
}

/// `ways` DIMMs, each giving 4 KiB to one persistent range.
fn interleaved(ways: usize) -> Desc {
    let mut d = bus1();
    d.spas.truncate(1);
    d.spas[0].length = 4096 * ways as u64;
    d.dimms.clear();
    d.dcrs.clear();
    d.mappings.clear();
    for i in 0..ways {
        let handle = DeviceHandle::new(i as u16, 0, 0, 0, 0);
        d.dimms.push(Dimm {
            handle,
            ..NFIT_TEST1.dimms[0]
        });
        d.dcrs.push(ControlRegion {
            region_index: i as u16 + 1,
            dimm: handle,
            format_code: format_code::BYTEN,
            block: None,
        });
        d.mappings.push(Mapping {
            dimm: handle,
            range_index: 1,
            region_index: i as u16 + 1,
            region_size: 4096,
            flags: 0,
            interleave_ways: ways as u16,
            ..NFIT_TEST1.mappings[0]
        });
    }
    d
}

#[test]
fn interleave_sets() {
    refused(
        bus0,
        |d| d.mappings[0].interleave_ways = 3,
        E::InterleaveWays(0),
    );
    refused(
        bus0,
        |d| d.mappings[5].interleave_ways = 2,
        E::InterleaveWays(1),
    );
    refused(
        bus0,
        |d| d.mappings[6].interleave_ways = 2,
        E::InterleaveWays(2),
    );
    // One DIMM twice in a set.
    refused(
        bus0,
        |d| {
            d.mappings[1].dimm = H0;
            d.mappings[1].region_index = 5;
            d.mappings[1].dpa = 64 << 20;
        },
        E::InterleaveWays(0),
    );
    // A third DIMM in the 2-way set.
    refused(
        bus0,
        |d| {
            let mut m = d.mappings[4];
            m.range_index = 1;
            m.dpa = 0;
            d.mappings.push(m);
        },
        E::InterleaveWays(0),
    );
    refused(bus0, |d| d.spas[0].length = 64 << 20, E::RegionSize(0));
    refused(
        bus1,
        |d| d.mappings[0].region_size = 16 << 20,
        E::RegionSize(0),
    );
    let mut d = interleaved(MAX_INTERLEAVE_WAYS);
    assert_eq!(d.validate(), Ok(()));
    round_trip(&d);
    d = interleaved(MAX_INTERLEAVE_WAYS + 1);
    assert_eq!(d.validate(), Err(E::InterleaveWays(0)));
    // Unmapped DIMMs and mapping-less ranges are not interleave sets.
    accepted(bus1, |d| d.mappings[0].range_index = 0);
}

#[test]
fn interleave_tables() {
    let with = |d: &mut Desc, t: (u16, u32, Vec<u32>)| d.interleaves.push(t);
    refused(bus0, |d| with(d, (0, 256, vec![0])), E::InterleaveIndex(0));
    refused(
        bus0,
        |d| {
            with(d, (4, 256, vec![0]));
            with(d, (4, 256, vec![0]));
        },
        E::DuplicateInterleave(1),
    );
    refused(bus0, |d| with(d, (4, 0, vec![0])), E::InterleaveLines(0));
    refused(bus0, |d| with(d, (4, 256, vec![])), E::InterleaveLines(0));
    refused(
        bus0,
        |d| with(d, (4, 256, vec![0; MAX_INTERLEAVE_LINES + 1])),
        E::InterleaveLines(0),
    );
    accepted(bus0, |d| {
        with(d, (4, 256, vec![7; MAX_INTERLEAVE_LINES]));
        d.mappings[3].interleave_index = 4;
    });
}

#[test]
fn flush_hints() {
    refused(bus0, |d| d.flush[0].0 = STRANGER, E::FlushDimm(0));
    refused(bus0, |d| d.flush[1].0 = H0, E::DuplicateFlush(1));
    refused(bus0, |d| d.flush[2].1.clear(), E::FlushHints(2));
    refused(bus0, |d| d.flush[2].1[3] += 4, E::FlushHints(2));
    refused(bus0, |d| d.flush[2].1[3] = u64::MAX - 7, E::FlushHints(2));
    refused(
        bus0,
        |d| d.flush[2].1 = vec![0; MAX_FLUSH_HINTS + 1],
        E::FlushHints(2),
    );
    accepted(bus0, |d| d.flush[2].1 = vec![8; MAX_FLUSH_HINTS]);
    accepted(bus1, |d| d.flush.push((HANDLES[5], vec![0x1000])));
    refused(bus1, |d| d.flush.push((H1, vec![0x1000])), E::FlushDimm(0));
}

#[test]
fn smbios_capabilities_and_size() {
    refused(
        bus0,
        |d| d.smbios.push(vec![0; MAX_SMBIOS_LEN + 1]),
        E::Smbios(0),
    );
    accepted(bus0, |d| d.smbios.push(vec![0xee; MAX_SMBIOS_LEN]));
    let caps = |h, c| {
        Some(Capabilities {
            highest_capability: h,
            capabilities: c,
        })
    };
    refused(bus0, |d| d.caps = caps(31, 0), E::Capabilities);
    refused(bus0, |d| d.caps = caps(1, 1 << 2), E::Capabilities);
    refused(bus0, |d| d.caps = caps(0, 1 << 1), E::Capabilities);
    accepted(bus0, |d| d.caps = caps(30, u32::MAX >> 1));
    accepted(bus0, |d| d.caps = caps(2, 7));
    accepted(bus0, |d| d.caps = None);

    // More than 4 GiB of structures: many references to one big SMBIOS blob.
    let blob = vec![0u8; MAX_SMBIOS_LEN];
    let many: Vec<&[u8]> = vec![blob.as_slice(); (1 << 32) / MAX_SMBIOS_LEN + 1];
    let t = Topology {
        smbios: &many,
        ..NFIT_TEST1
    };
    assert!(t.table_len() > u32::MAX as usize);
    assert_eq!(t.validate(), Err(E::TooLarge));
    assert_eq!(
        t.write_table(&mut [0u8; 64]),
        Err(WriteError::Invalid(E::TooLarge))
    );
}
