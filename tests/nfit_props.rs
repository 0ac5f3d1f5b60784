// SPDX-License-Identifier: GPL-2.0

//! Property tests of the NFIT model: random valid buses round-trip through the table, and
//! no corrupted table or arbitrary description makes the model panic.

#[path = "nfit_util.rs"]
mod util;

use nvmock_model::nfit::*;
use proptest::prelude::*;
use std::collections::HashSet;
use util::*;

/// Draws numbers from proptest-chosen entropy (cycling through it).
struct Draw<'a> {
    words: &'a [u64],
    at: usize,
}

impl Draw<'_> {
    fn word(&mut self) -> u64 {
        let w = self.words[self.at % self.words.len()];
        self.at += 1;
        // Mix in the position so that cycling does not repeat values exactly.
        w ^ (self.at as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.word() % n
    }

    fn chance(&mut self, in_four: u64) -> bool {
        self.below(4) < in_four
    }

    fn u16(&mut self) -> u16 {
        self.word() as u16
    }

    /// A value not in `used`, within `1..=max`; recorded in `used`.
    fn fresh(&mut self, used: &mut HashSet<u64>, max: u64) -> u64 {
        loop {
            let v = 1 + self.below(max);
            if used.insert(v) {
                return v;
            }
        }
    }
}

const MEMORY_TYPES: [Guid; 2] = [Guid::PERSISTENT, Guid::VOLATILE];
const OTHER_TYPES: [Guid; 3] = [
    Guid::CONTROL_REGION,
    Guid::BLOCK_DATA_WINDOW,
    Guid([0x5a; 16]),
];
const VIRTUAL_TYPES: [Guid; 4] = [
    Guid::VOLATILE_DISK,
    Guid::VOLATILE_CD,
    Guid::PERSISTENT_DISK,
    Guid::PERSISTENT_CD,
];

/// A valid description built from `words`.
fn build(words: &[u64]) -> Desc {
    let mut r = Draw { words, at: 0 };
    let oem = Oem {
        id: r.word().to_le_bytes()[..6].try_into().unwrap(),
        table_id: r.word().to_le_bytes(),
        revision: r.word() as u32,
        creator_id: (r.word() as u32).to_le_bytes(),
        creator_revision: r.word() as u32,
    };
    let mut d = Desc::empty(oem, r.below(1 << 36) * MEMORY_ALIGN);

    // DIMMs, each with one or two control regions, maybe a block window.
    let n_dimms = 1 + r.below(6) as usize;
    let mut handles = HashSet::new();
    let mut regions = HashSet::new();
    for _ in 0..n_dimms {
        let handle = DeviceHandle(r.fresh(&mut handles, 0x0fff_ffff) as u32);
        d.dimms.push(Dimm {
            handle,
            physical_id: r.u16(),
            vendor_id: r.u16(),
            device_id: r.u16(),
            revision_id: r.u16(),
            subsystem_vendor_id: r.u16(),
            subsystem_device_id: r.u16(),
            subsystem_revision_id: r.u16(),
            manufacturing: r.chance(3).then(|| Manufacturing {
                location: r.word() as u8,
                date: r.u16(),
            }),
            serial_number: r.word() as u32,
        });
        for _ in 0..1 + r.below(2) {
            let region_index = r.fresh(&mut regions, u16::MAX as u64) as u16;
            let block = r.chance(2).then(|| BlockControl {
                windows: 1 + r.below(4) as u16,
                window_size: r.word(),
                command_offset: r.word(),
                command_size: r.word(),
                status_offset: r.word(),
                status_size: r.word(),
                flags: r.u16(),
            });
            d.dcrs.push(ControlRegion {
                region_index,
                dimm: handle,
                format_code: r.u16(),
                block,
            });
            if let Some(b) = block.filter(|_| r.chance(2)) {
                d.bdws.push(BlockWindow {
                    region_index,
                    windows: b.windows,
                    offset: r.word(),
                    size: 1 + r.below(1 << 20),
                    capacity: r.word(),
                    start_address: r.word(),
                });
            }
        }
    }

    // Interleave tables.
    let mut idts = HashSet::new();
    for _ in 0..r.below(3) {
        let index = r.fresh(&mut idts, u16::MAX as u64) as u16;
        let lines = (0..1 + r.below(6)).map(|_| r.word() as u32).collect();
        d.interleaves
            .push((index, 1 + r.below(1 << 16) as u32, lines));
    }
    let idt_list: Vec<u16> = d.interleaves.iter().map(|i| i.0).collect();

    let mut ranges = HashSet::new();
    let mut cursor = r.below(16) * MEMORY_ALIGN;
    let mut dpa_cursor = vec![0u64; n_dimms];
    let dcr_of = |d: &Desc, i: usize, r: &mut Draw<'_>| {
        let own: Vec<u16> = d
            .dcrs
            .iter()
            .filter(|c| c.dimm == d.dimms[i].handle)
            .map(|c| c.region_index)
            .collect();
        if r.chance(1) {
            0
        } else {
            own[r.below(own.len() as u64) as usize]
        }
    };
    let mapping_extras = |r: &mut Draw<'_>| {
        (
            r.u16(),
            r.word(),
            r.word() as u16 & flags::MEM_ALL,
            if idt_list.is_empty() || r.chance(2) {
                0
            } else {
                idt_list[r.below(idt_list.len() as u64) as usize]
            },
        )
    };

    // Memory ranges interleaving some DIMMs.
    for _ in 0..r.below(4) {
        let ways = 1 + r.below(n_dimms as u64) as usize;
        let mut order: Vec<usize> = (0..n_dimms).collect();
        for i in (1..n_dimms).rev() {
            order.swap(i, r.below(i as u64 + 1) as usize);
        }
        let each = MEMORY_ALIGN * (1 + r.below(8));
        let range_index = r.fresh(&mut ranges, u16::MAX as u64) as u16;
        let length = each * ways as u64;
        d.spas.push(Spa {
            range_index,
            flags: r.u16() & (flags::SPA_ADD_ONLINE_ONLY | flags::SPA_PROXIMITY_VALID),
            proximity_domain: r.word() as u32,
            range_type: MEMORY_TYPES[r.below(2) as usize],
            address: cursor,
            length,
            memory_attributes: r.word(),
            location_cookie: r.chance(1).then(|| r.word()),
        });
        cursor += length + r.below(4) * MEMORY_ALIGN;
        for &i in &order[..ways] {
            dpa_cursor[i] += r.below(3) * MEMORY_ALIGN;
            let (region_id, region_offset, flags, interleave_index) = mapping_extras(&mut r);
            let region_index = dcr_of(&d, i, &mut r);
            d.mappings.push(Mapping {
                dimm: d.dimms[i].handle,
                range_index,
                region_index,
                region_id,
                region_size: each,
                region_offset,
                dpa: dpa_cursor[i],
                interleave_index,
                interleave_ways: ways as u16,
                flags,
            });
            dpa_cursor[i] += each;
        }
    }

    // Other ranges: control regions, block windows, unknown types; at most one DIMM each.
    for _ in 0..r.below(4) {
        let length = 1 + r.below(1 << 14);
        let range_index = r.fresh(&mut ranges, u16::MAX as u64) as u16;
        d.spas.push(Spa {
            range_index,
            flags: 0,
            proximity_domain: 0,
            range_type: OTHER_TYPES[r.below(3) as usize],
            address: cursor,
            length,
            memory_attributes: 0,
            location_cookie: None,
        });
        cursor += length + r.below(64);
        if r.chance(3) {
            let i = r.below(n_dimms as u64) as usize;
            let (region_id, region_offset, flags, interleave_index) = mapping_extras(&mut r);
            let region_index = dcr_of(&d, i, &mut r);
            d.mappings.push(Mapping {
                dimm: d.dimms[i].handle,
                range_index,
                region_index,
                region_id,
                region_size: r.word(),
                region_offset,
                dpa: r.word(),
                interleave_index,
                interleave_ways: 1,
                flags,
            });
        }
    }

    // Virtual ranges, index 0 or not, mapped by no DIMM.
    for _ in 0..r.below(3) {
        let length = 1 + r.below(1 << 20);
        let range_index = if r.chance(2) {
            0
        } else {
            r.fresh(&mut ranges, u16::MAX as u64) as u16
        };
        d.spas.push(Spa {
            range_index,
            flags: 0,
            proximity_domain: r.word() as u32,
            range_type: VIRTUAL_TYPES[r.below(4) as usize],
            address: cursor,
            length,
            memory_attributes: r.word(),
            location_cookie: r.chance(1).then(|| r.word()),
        });
        cursor += length;
    }

    // Every control region needs a mapping of its DIMM that names it.
    for c in d.dcrs.clone() {
        if !d
            .mappings
            .iter()
            .any(|m| m.dimm == c.dimm && m.region_index == c.region_index)
        {
            let (region_id, region_offset, flags, interleave_index) = mapping_extras(&mut r);
            d.mappings.push(Mapping {
                dimm: c.dimm,
                range_index: 0,
                region_index: c.region_index,
                region_id,
                region_size: r.word(),
                region_offset,
                dpa: r.word(),
                interleave_index,
                interleave_ways: 1 + r.below(4) as u16,
                flags,
            });
        }
    }

    // Flush hints for some DIMMs, in pages after the ranges.
    cursor = (cursor / MEMORY_ALIGN + 1) * MEMORY_ALIGN;
    for dimm in d.dimms.clone() {
        if r.chance(2) {
            let n = 1 + r.below(9);
            d.flush
                .push((dimm.handle, (0..n).map(|k| cursor + 8 * k).collect()));
            cursor += MEMORY_ALIGN;
        }
    }

    for _ in 0..r.below(3) {
        let n = r.below(40);
        d.smbios.push((0..n).map(|_| r.word() as u8).collect());
    }
    if r.chance(3) {
        let highest = r.below(31) as u8;
        let mut c = Capabilities {
            highest_capability: highest,
            capabilities: r.word() as u32,
        };
        c.capabilities &= c.mask();
        d.caps = Some(c);
    }

    // Shuffle within kinds: order is the description's, and must survive.
    let n = d.spas.len();
    for i in (1..n).rev() {
        d.spas.swap(i, r.below(i as u64 + 1) as usize);
    }
    let n = d.mappings.len();
    for i in (1..n).rev() {
        d.mappings.swap(i, r.below(i as u64 + 1) as usize);
    }
    d
}

/// An arbitrary description: a valid one with a few fields set to random, small or extreme
/// values (so that references sometimes still resolve and every rule gets its turn).
fn arbitrary(words: &[u64]) -> Desc {
    let mut d = build(words);
    let mut r = Draw {
        words,
        at: words.len() * 7 + 3,
    };
    let val = |r: &mut Draw<'_>| match r.below(6) {
        0 => 0,
        1 => 1 + r.below(3),
        2 => r.below(4) * MEMORY_ALIGN,
        3 => u64::MAX - r.below(1 << 12),
        4 => 1 << r.below(64),
        _ => r.word(),
    };
    fn any_dimm(d: &Desc, v: u64) -> Option<DeviceHandle> {
        let n = d.dimms.len().max(1) as u64;
        d.dimms.get((v % n) as usize).map(|x| x.handle)
    }
    fn pick<T>(v: &mut [T], r: &mut Draw<'_>) -> Option<usize> {
        (!v.is_empty()).then(|| r.below(v.len() as u64) as usize)
    }
    for _ in 0..1 + r.below(3) {
        let v = val(&mut r);
        match r.below(24) {
            0 => d.base = v,
            1 => d
                .spas
                .get_mut(0)
                .into_iter()
                .for_each(|s| s.range_index = v as u16),
            2 => {
                if let Some(i) = pick(&mut d.spas, &mut r) {
                    d.spas[i].address = v;
                }
            }
            3 => {
                if let Some(i) = pick(&mut d.spas, &mut r) {
                    d.spas[i].length = v;
                }
            }
            4 => {
                if let Some(i) = pick(&mut d.spas, &mut r) {
                    d.spas[i].flags = v as u16;
                }
            }
            5 => {
                if let Some(i) = pick(&mut d.spas, &mut r) {
                    d.spas[i].range_type = RangeType::ALL[(v % 8) as usize].guid();
                }
            }
            6 => {
                if let Some(i) = pick(&mut d.dimms, &mut r) {
                    d.dimms[i].handle = DeviceHandle(v as u32);
                }
            }
            7 => {
                if let Some(i) = pick(&mut d.dcrs, &mut r) {
                    d.dcrs[i].region_index = v as u16;
                }
            }
            8 => {
                if let (Some(i), Some(h)) = (pick(&mut d.dcrs, &mut r), any_dimm(&d, v)) {
                    d.dcrs[i].dimm = h;
                }
            }
            9 => {
                if let Some(i) = pick(&mut d.dcrs, &mut r) {
                    d.dcrs[i].block = None;
                }
            }
            10 => {
                if let Some(i) = pick(&mut d.bdws, &mut r) {
                    d.bdws[i].region_index = v as u16;
                }
            }
            11 => {
                if let Some(i) = pick(&mut d.bdws, &mut r) {
                    d.bdws[i].windows = v as u16;
                }
            }
            12 => {
                if let Some(i) = pick(&mut d.mappings, &mut r) {
                    d.mappings[i].range_index = v as u16;
                }
            }
            13 => {
                if let Some(i) = pick(&mut d.mappings, &mut r) {
                    d.mappings[i].region_index = v as u16;
                }
            }
            14 => {
                if let Some(i) = pick(&mut d.mappings, &mut r) {
                    d.mappings[i].dpa = v;
                }
            }
            15 => {
                if let Some(i) = pick(&mut d.mappings, &mut r) {
                    d.mappings[i].region_size = v;
                }
            }
            16 => {
                if let Some(i) = pick(&mut d.mappings, &mut r) {
                    d.mappings[i].interleave_ways = v as u16;
                }
            }
            17 => {
                if let Some(i) = pick(&mut d.mappings, &mut r) {
                    d.mappings[i].interleave_index = v as u16;
                }
            }
            18 => {
                if let (Some(i), Some(h)) = (pick(&mut d.mappings, &mut r), any_dimm(&d, v)) {
                    d.mappings[i].dimm = h;
                }
            }
            19 => {
                if let Some(i) = pick(&mut d.mappings, &mut r) {
                    d.mappings[i].flags = v as u16;
                }
            }
            20 => {
                if let Some(i) = pick(&mut d.flush, &mut r) {
                    match d.flush[i].1.first_mut() {
                        Some(a) => *a = v,
                        None => d.flush[i].0 = DeviceHandle(v as u32),
                    }
                }
            }
            21 => {
                if let Some(i) = pick(&mut d.interleaves, &mut r) {
                    d.interleaves[i].0 = v as u16;
                }
            }
            22 => {
                d.caps = Some(Capabilities {
                    highest_capability: (v % 40) as u8,
                    capabilities: r.word() as u32,
                })
            }
            _ => {
                // Drop an element of some kind.
                match v % 4 {
                    0 => drop(d.spas.pop()),
                    1 => drop(d.dimms.pop()),
                    2 => drop(d.dcrs.pop()),
                    _ => drop(d.mappings.pop()),
                }
            }
        }
    }
    d
}

fn entropy() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(any::<u64>(), 1..64)
}

proptest! {
    #[test]
    fn random_valid_buses_round_trip(words in entropy()) {
        let d = build(&words);
        prop_assert_eq!(d.validate(), Ok(()));
        round_trip(&d);
        prop_assert_eq!(d.with(|t| t.table_len()), d.with(|t| t.structures_len()) + HEADER_LEN);
    }

    #[test]
    fn arbitrary_descriptions_never_panic(words in entropy()) {
        let d = arbitrary(&words);
        if d.validate().is_ok() {
            round_trip(&d);
        } else {
            d.with(|t| {
                let mut buf = vec![0u8; t.table_len().min(1 << 16)];
                prop_assert!(matches!(t.write_table(&mut buf), Err(WriteError::Invalid(_))));
                Ok(())
            })?;
        }
    }

    #[test]
    fn single_byte_corruption_is_detected(words in entropy(), at in any::<usize>(), x in 1u8..=255) {
        let mut bytes = build(&words).table();
        let i = at % bytes.len();
        bytes[i] ^= x;
        prop_assert!(parse(&bytes).is_err());
    }

    #[test]
    fn corrupted_tables_never_panic(
        words in entropy(),
        hits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        fix in any::<bool>(),
    ) {
        let mut bytes = build(&words).table();
        for (at, v) in hits {
            let i = at % bytes.len();
            bytes[i] = v;
        }
        if fix {
            fix_checksum(&mut bytes);
        }
        if let Ok(table) = parse(&bytes) {
            let n = table.structures().count();
            prop_assert_eq!(n, structures(table.body()).count());
            for s in table.structures() {
                if let Structure::Flush(f) = s {
                    prop_assert_eq!(f.addresses().count(), f.hint_count());
                }
            }
        }
    }

    #[test]
    fn resized_tables_are_refused(words in entropy(), cut in 1usize..64, grow in any::<bool>()) {
        let mut bytes = build(&words).table();
        if grow {
            bytes.extend(std::iter::repeat_n(0, cut));
        } else {
            bytes.truncate(bytes.len().saturating_sub(cut));
        }
        prop_assert!(matches!(parse(&bytes), Err(ParseError::Length | ParseError::Short)));
    }

    #[test]
    fn arbitrary_structure_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut seen = 0;
        for s in structures(&body) {
            seen += 1;
            if let Ok(Structure::Interleave(i)) = s {
                prop_assert_eq!(i.line_offsets().count(), i.line_count());
            }
        }
        prop_assert!(seen <= body.len() / 4 + 1);
    }
}

#[test]
fn generator_covers_the_model() {
    // The generator reaches every structure kind and the memory-range rules.
    let mut kinds = [0usize; 8];
    let mut cookies = 0;
    for seed in 0..200u64 {
        let words: Vec<u64> = (0..32)
            .map(|k| (seed * 977 + k).wrapping_mul(0x2545_f491_4f6c_dd1d))
            .collect();
        let d = build(&words);
        assert_eq!(d.validate(), Ok(()), "seed {seed}");
        for (_, kind, _) in walk(&d.table()) {
            kinds[usize::from(kind)] += 1;
        }
        cookies += d
            .spas
            .iter()
            .filter(|s| s.location_cookie.is_some())
            .count();
    }
    assert!(kinds.iter().all(|k| *k > 0), "{kinds:?}");
    assert!(cookies > 0);
}
