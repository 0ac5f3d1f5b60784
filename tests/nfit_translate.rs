// SPDX-License-Identifier: GPL-2.0

//! Translate SPA: every address of nfit_test's memory ranges lands inside one of the range's
//! DIMM regions, distinct addresses on distinct DIMM bytes, striping follows the interleave
//! line; addresses outside answer "invalid"; the payload byte for byte.

use nvmock_model::nfit::preset::{NFIT_TEST0_HOTPLUG, NFIT_TEST1};
use nvmock_model::nfit::translate::*;
use nvmock_model::nfit::{Guid, Topology};
use std::collections::HashSet;

const BASE: u64 = 0x1_0000_0000;

fn memory_ranges<'a>(t: &'a Topology<'a>) -> impl Iterator<Item = &'a nvmock_model::nfit::Spa> {
    t.spas
        .iter()
        .filter(|s| s.range_type == Guid::PERSISTENT || s.range_type == Guid::VOLATILE)
}

fn check_topology(t: Topology<'static>) {
    let t = Topology { base: BASE, ..t };
    let mut ranges = 0;
    for r in memory_ranges(&t) {
        ranges += 1;
        let maps: Vec<_> = t
            .mappings
            .iter()
            .filter(|m| m.range_index == r.range_index)
            .collect();
        assert!(!maps.is_empty());
        let start = BASE + r.address;
        // Every 256th byte of the first 64 KiB, and the last bytes of the range.
        let offsets: Vec<u64> = (0..256u64)
            .map(|k| k * 256 + (k % 7))
            .chain([r.length - 1, r.length - 256, r.length / 2])
            .collect();
        let mut seen = HashSet::new();
        for off in offsets {
            let tr = translate(&t, start + off).unwrap_or_else(|| panic!("{off:#x} in range"));
            let m = maps
                .iter()
                .find(|m| m.dimm.0 == tr.handle)
                .expect("one of the range's DIMMs");
            assert!(
                tr.dpa >= m.dpa && tr.dpa < m.dpa + m.region_size,
                "{off:#x}: {tr:?}"
            );
            assert!(
                seen.insert((tr.handle, tr.dpa)),
                "{off:#x} shares a DIMM byte"
            );
        }
        match t.interleave(maps[0].interleave_index) {
            Some(table) if maps.len() > 1 => {
                let line = u64::from(table.line_size);
                // Consecutive lines go to consecutive mappings; a line stays on one DIMM.
                for k in 0..maps.len() as u64 * 2 {
                    let a = translate(&t, start + k * line).unwrap();
                    let b = translate(&t, start + k * line + line - 1).unwrap();
                    assert_eq!(a.handle, maps[(k as usize) % maps.len()].dimm.0);
                    assert_eq!((b.handle, b.dpa), (a.handle, a.dpa + line - 1));
                }
            }
            _ => {
                // Concatenated: each mapping's region in turn.
                let mut off = 0;
                for m in &maps {
                    let a = translate(&t, start + off + 5).unwrap();
                    assert_eq!((a.handle, a.dpa), (m.dimm.0, m.dpa + 5));
                    off += m.region_size;
                }
            }
        }
        if let Some(tr) = translate(&t, start + r.length) {
            assert!(!maps
                .iter()
                .any(|m| m.dimm.0 == tr.handle && tr.dpa == m.dpa + m.region_size));
        }
    }
    assert!(ranges > 0);
    assert_eq!(translate(&t, BASE - 1), None);
    assert_eq!(translate(&t, 0), None);
}

#[test]
fn nfit_test0_ranges() {
    check_topology(NFIT_TEST0_HOTPLUG);
}

#[test]
fn nfit_test1_ranges() {
    check_topology(NFIT_TEST1);
}

#[test]
fn payload() {
    let t = Topology {
        base: BASE,
        ..NFIT_TEST1
    };
    let r = memory_ranges(&t).next().unwrap();
    let mut b = vec![0xeeu8; HDR_LEN + DEVICE_LEN + 4];
    b[0..8].copy_from_slice(&(BASE + r.address + 0x1234).to_le_bytes());
    let d = translate_spa(&t, &mut b).unwrap();
    assert_eq!(d.written, HDR_LEN + DEVICE_LEN);
    let want = translate(&t, BASE + r.address + 0x1234).unwrap();
    assert_eq!(
        u32::from_le_bytes(b[8..12].try_into().unwrap()),
        0,
        "status"
    );
    assert_eq!(&b[12..16], &[0; 4], "flags and reserved");
    assert_eq!(
        u64::from_le_bytes(b[16..24].try_into().unwrap()),
        (HDR_LEN + DEVICE_LEN) as u64
    );
    assert_eq!(u32::from_le_bytes(b[24..28].try_into().unwrap()), 1);
    assert_eq!(
        u32::from_le_bytes(b[28..32].try_into().unwrap()),
        want.handle
    );
    assert_eq!(&b[32..36], &[0; 4]);
    assert_eq!(u64::from_le_bytes(b[36..44].try_into().unwrap()), want.dpa);
    assert_eq!(&b[44..], &[0xee; 4], "nothing past the entry");
    // Outside every range: status 2, no DIMM.
    b[0..8].copy_from_slice(&7u64.to_le_bytes());
    let d = translate_spa(&t, &mut b).unwrap();
    assert_eq!(d.written, HDR_LEN);
    assert_eq!(
        u32::from_le_bytes(b[8..12].try_into().unwrap()),
        STATUS_INVALID
    );
    assert_eq!(u32::from_le_bytes(b[24..28].try_into().unwrap()), 0);
    // Too short for one entry.
    assert!(translate_spa(&t, &mut [0; HDR_LEN + DEVICE_LEN - 1]).is_err());
}

#[test]
fn striping_with_an_interleave_table() {
    use nvmock_model::nfit::Interleave;
    // nfit_test.0 with its four-way range given a 4 KiB interleave table.
    let four_way = NFIT_TEST0_HOTPLUG
        .mappings
        .iter()
        .find(|m| m.interleave_ways == 4)
        .unwrap()
        .range_index;
    let mappings: &'static [_] = Vec::leak(
        NFIT_TEST0_HOTPLUG
            .mappings
            .iter()
            .map(|m| {
                let mut m = *m;
                if m.range_index == four_way {
                    m.interleave_index = 9;
                }
                m
            })
            .collect(),
    );
    let tables: &'static [Interleave<'static>] = Vec::leak(vec![Interleave {
        index: 9,
        line_size: 4096,
        line_offsets: &[0],
    }]);
    let t = Topology {
        mappings,
        interleaves: tables,
        ..NFIT_TEST0_HOTPLUG
    };
    check_topology(t);
    let t = Topology { base: BASE, ..t };
    let r = t.spas.iter().find(|s| s.range_index == four_way).unwrap();
    let maps: Vec<_> = t
        .mappings
        .iter()
        .filter(|m| m.range_index == four_way)
        .collect();
    // Line 5 is the second line of the second mapping.
    let a = translate(&t, BASE + r.address + 5 * 4096 + 17).unwrap();
    assert_eq!((a.handle, a.dpa), (maps[1].dimm.0, maps[1].dpa + 4096 + 17));
}
