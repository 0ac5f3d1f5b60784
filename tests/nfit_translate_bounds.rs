// SPDX-License-Identifier: GPL-2.0

//! Translate SPA at its edges, found missing by `make mutants`: a one-way range that has an
//! interleave table (concatenated, so an address past the DIMM's region has no DIMM), a
//! multi-way range whose table has no line size (concatenated too), the smallest payload,
//! and the bytes an "invalid" answer leaves alone. Core only, so that they also run as
//! KUnit cases.

use nvmock_model::nfit::preset::NFIT_TEST1;
use nvmock_model::nfit::translate::*;
use nvmock_model::nfit::{DeviceHandle, Guid, Interleave, Mapping, Spa, Topology};

const BASE: u64 = 0x1_0000_0000;
const SPA_ADDR: u64 = 0x1000_0000;
const REGION: u64 = 0x2_0000;

const SPA: Spa = Spa {
    range_index: 1,
    flags: 0,
    proximity_domain: 0,
    range_type: Guid::PERSISTENT,
    address: SPA_ADDR,
    length: 4 * REGION,
    memory_attributes: 0,
    location_cookie: None,
};

const fn mapping(dimm: u32, dpa: u64, interleave_index: u16, ways: u16) -> Mapping {
    Mapping {
        dimm: DeviceHandle(dimm),
        range_index: 1,
        region_index: 0,
        region_id: 0,
        region_size: REGION,
        region_offset: 0,
        dpa,
        interleave_index,
        interleave_ways: ways,
        flags: 0,
    }
}

const SPAS: [Spa; 1] = [SPA];
const ONE_WAY: [Mapping; 1] = [mapping(0x10, 0x8000, 1, 1)];
const TWO_WAY: [Mapping; 2] = [mapping(0x10, 0x8000, 1, 2), mapping(0x11, 0x9000, 1, 2)];
const LINE_4K: [Interleave<'static>; 1] = [Interleave {
    index: 1,
    line_size: 4096,
    line_offsets: &[0],
}];
const NO_LINE: [Interleave<'static>; 1] = [Interleave {
    index: 1,
    line_size: 0,
    line_offsets: &[0],
}];

fn topo(
    mappings: &'static [Mapping],
    interleaves: &'static [Interleave<'static>],
) -> Topology<'static> {
    Topology {
        base: BASE,
        spas: &SPAS,
        mappings,
        interleaves,
        ..NFIT_TEST1
    }
}

#[test]
fn one_way_range_with_a_table_is_concatenated() {
    let t = topo(&ONE_WAY, &LINE_4K);
    let spa = BASE + SPA_ADDR;
    assert_eq!(
        translate(&t, spa + 0x1234),
        Some(Translation {
            handle: 0x10,
            dpa: 0x8000 + 0x1234
        })
    );
    assert_eq!(
        translate(&t, spa + REGION - 1),
        Some(Translation {
            handle: 0x10,
            dpa: 0x8000 + REGION - 1
        })
    );
    // In the SPA range, but past the only DIMM's region.
    assert_eq!(translate(&t, spa + REGION), None);
    assert_eq!(translate(&t, spa + 3 * REGION), None);
}

#[test]
fn table_without_a_line_size_is_concatenated() {
    let t = topo(&TWO_WAY, &NO_LINE);
    let spa = BASE + SPA_ADDR;
    assert_eq!(
        translate(&t, spa + 5),
        Some(Translation {
            handle: 0x10,
            dpa: 0x8000 + 5
        })
    );
    assert_eq!(
        translate(&t, spa + REGION + 5),
        Some(Translation {
            handle: 0x11,
            dpa: 0x9000 + 5
        })
    );
    assert_eq!(translate(&t, spa + 2 * REGION), None);
    // With a line size the same range stripes.
    let t = topo(&TWO_WAY, &LINE_4K);
    assert_eq!(
        translate(&t, spa + 4096 + 5),
        Some(Translation {
            handle: 0x11,
            dpa: 0x9000 + 5
        })
    );
}

#[test]
fn smallest_payload_holds_one_entry() {
    let t = topo(&ONE_WAY, &LINE_4K);
    let mut b = [0xeeu8; HDR_LEN + DEVICE_LEN];
    b[0..8].copy_from_slice(&(BASE + SPA_ADDR + 0x40).to_le_bytes());
    let d = translate_spa(&t, &mut b).unwrap();
    assert_eq!(d.written, HDR_LEN + DEVICE_LEN);
    assert_eq!(b[28..32], 0x10u32.to_le_bytes());
    assert_eq!(b[36..44], (0x8000u64 + 0x40).to_le_bytes());
    let mut short = [0u8; HDR_LEN + DEVICE_LEN - 1];
    assert!(translate_spa(&t, &mut short).is_err());
}

#[test]
fn invalid_answer_writes_the_header_only() {
    let t = topo(&ONE_WAY, &LINE_4K);
    let mut b = [0xeeu8; HDR_LEN + DEVICE_LEN + 4];
    b[0..8].copy_from_slice(&(BASE + SPA_ADDR + REGION).to_le_bytes());
    let d = translate_spa(&t, &mut b).unwrap();
    assert_eq!(d.written, HDR_LEN);
    assert_eq!(b[0..8], (BASE + SPA_ADDR + REGION).to_le_bytes());
    assert_eq!(b[8..12], STATUS_INVALID.to_le_bytes());
    assert_eq!(b[12..16], [0; 4]);
    assert_eq!(b[16..24], (HDR_LEN as u64).to_le_bytes());
    assert_eq!(b[24..28], [0; 4]);
    // The entry area is not the header's: untouched.
    assert_eq!(b[HDR_LEN..], [0xee; DEVICE_LEN + 4]);
}
