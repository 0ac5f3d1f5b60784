// SPDX-License-Identifier: GPL-2.0

//! Host tests of the NFIT serializer and parser on nfit_test's two buses.

#[path = "nfit_util.rs"]
mod util;

use nvmock_model::nfit::preset::*;
use nvmock_model::nfit::*;
use util::*;

/// Where a harness might place a bus: 128 MiB aligned, in a fake window.
const BASE: u64 = 0x40_0000_0000 + 3 * ALIGN;

fn buses() -> [(&'static str, Topology<'static>, usize); 3] {
    [
        // nfit_test0_alloc() sizes the hot-plug table at 2720 bytes; the initial one lacks
        // 3 SPA ranges, 3 mappings, a full and a short control region, a block window and a
        // flush structure: 2720 - (168 + 144 + 80 + 32 + 40 + 80) = 2176.
        ("nfit_test.0", NFIT_TEST0, 2176),
        ("nfit_test.0 hot plug", NFIT_TEST0_HOTPLUG, 2720),
        // nfit_test1_alloc(): 2 SPA ranges, 2 mappings, 2 short control regions.
        ("nfit_test.1", NFIT_TEST1, 272),
    ]
}

#[test]
fn nfit_test_buses_are_valid_and_sized_as_nfit_c() {
    for (name, t, body) in buses() {
        assert_eq!(t.validate(), Ok(()), "{name}");
        assert_eq!(t.structures_len(), body, "{name}");
        assert_eq!(t.table_len(), body + HEADER_LEN, "{name}");
        let placed = Topology { base: BASE, ..t };
        assert_eq!(placed.validate(), Ok(()), "{name}");
    }
    assert!(NFIT_TEST0_HOTPLUG.extent() <= NFIT_TEST0_SPAN);
    assert!(NFIT_TEST0.extent() <= NFIT_TEST0_SPAN);
    assert_eq!(NFIT_TEST1.extent(), NFIT_TEST1_SPAN);
}

#[test]
fn header_length_and_checksum() {
    for (name, t, body) in buses() {
        for base in [0, BASE] {
            let bytes = Desc::from_topology(&Topology { base, ..t }).table();
            assert_eq!(bytes.len(), body + HEADER_LEN, "{name}");
            assert_eq!(&bytes[0..4], b"NFIT");
            assert_eq!(
                u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize,
                bytes.len()
            );
            assert_eq!(bytes[8], 1, "revision");
            assert_eq!(byte_sum(&bytes), 0, "{name}: checksum");
            assert_eq!(&bytes[10..16], b"NVMOCK");
            assert_eq!(&bytes[28..32], b"NVMK");
            assert_eq!(&bytes[36..40], &[0; 4], "reserved");
            let table = parse(&bytes).unwrap();
            assert_eq!(table.header().oem, t.oem);
            assert_eq!(table.header().revision, 1);
            assert_eq!(table.header().checksum, bytes[9]);
            // The structures tile the body exactly.
            let walked = walk(&bytes);
            let (off, _, len) = *walked.last().unwrap();
            assert_eq!(off + usize::from(len), bytes.len());
        }
    }
    assert_eq!(
        &Desc::from_topology(&NFIT_TEST1).table()[16..24],
        b"NFITTST1"
    );
}

#[test]
fn every_structure_round_trips() {
    for (_, t, _) in buses() {
        round_trip(&Desc::from_topology(&t));
        round_trip(&Desc::from_topology(&Topology { base: BASE, ..t }));
    }
}

/// Counts of (SPA, memdev, interleave, SMBIOS, DCR, BDW, flush, capabilities) structures.
fn census(bytes: &[u8]) -> [usize; 8] {
    let mut n = [0; 8];
    for (_, kind, _) in walk(bytes) {
        n[usize::from(kind)] += 1;
    }
    n
}

#[test]
fn structure_counts_and_lengths_follow_nfit_c() {
    let t0 = Desc::from_topology(&NFIT_TEST0).table();
    let hp = Desc::from_topology(&NFIT_TEST0_HOTPLUG).table();
    let t1 = Desc::from_topology(&NFIT_TEST1).table();
    assert_eq!(census(&t0), [10, 14, 0, 0, 8, 4, 4, 1]);
    assert_eq!(census(&hp), [13, 17, 0, 0, 10, 5, 5, 1]);
    assert_eq!(census(&t1), [2, 2, 0, 0, 2, 0, 0, 0]);
    for bytes in [&t0, &hp, &t1] {
        for (off, kind, len) in walk(bytes) {
            let len = usize::from(len);
            match kind {
                0 => assert_eq!(len, 56, "sizeof_spa(): no location cookie"),
                1 => assert_eq!(len, 48),
                4 => {
                    let windows = u16::from_le_bytes([bytes[off + 30], bytes[off + 31]]);
                    let code = u16::from_le_bytes([bytes[off + 28], bytes[off + 29]]);
                    if code == format_code::BLK {
                        assert_eq!((len, windows), (80, 1));
                    } else {
                        assert_eq!((len, windows), (32, 0), "offsetof(window_size)");
                    }
                    // dcr_common_init(): manufacturing_date = cpu_to_be16(2016).
                    assert_eq!(&bytes[off + 20..off + 22], &[0x07, 0xe0]);
                    assert_eq!(&bytes[off + 6..off + 8], &[0xcd, 0xab]);
                }
                5 => assert_eq!(len, 40),
                6 => assert_eq!(len, 16 + 8 * 8),
                7 => assert_eq!(len, 16),
                k => panic!("unexpected structure type {k}"),
            }
        }
    }
}

#[test]
fn nfit_test_facts() {
    let handles: Vec<u32> = HANDLES.iter().map(|h| h.0).collect();
    assert_eq!(
        handles,
        [0x0, 0x1, 0x100, 0x101, 0x1000, 0x1_0000, 0x1_0001]
    );
    assert_eq!(
        (HANDLES[3].imc(), HANDLES[3].dimm(), HANDLES[4].socket()),
        (1, 1, 1)
    );
    assert_eq!((HANDLES[6].node(), HANDLES[6].channel()), (1, 0));
    // The persistent-memory GUID as guid_parse() lays out 66f0d379-b4f3-4074-ac43-...
    assert_eq!(
        Guid::PERSISTENT.0,
        [
            0x79, 0xd3, 0xf0, 0x66, 0xf3, 0xb4, 0x74, 0x40, 0xac, 0x43, 0x0d, 0x33, 0x18, 0xb7,
            0x8c, 0xdb
        ]
    );
    for t in RangeType::ALL {
        assert_eq!(t.guid().range_type(), Some(t));
    }

    let bytes = Desc::from_topology(&Topology {
        base: BASE,
        ..NFIT_TEST0_HOTPLUG
    })
    .table();
    let table = parse(&bytes).unwrap();
    let spas: Vec<Spa> = table
        .structures()
        .filter_map(|s| match s {
            Structure::Spa(s) => Some(s),
            _ => None,
        })
        .collect();
    let pm: Vec<(u16, u64, u64)> = spas
        .iter()
        .filter(|s| s.range_type == Guid::PERSISTENT)
        .map(|s| (s.range_index, s.address - BASE, s.length))
        .collect();
    assert_eq!(
        pm,
        [
            (1, 0, 32 << 20),
            (2, 128 << 20, 64 << 20),
            (12, 256 << 20, 32 << 20)
        ]
    );
    let kinds: Vec<Option<RangeType>> = spas.iter().map(|s| s.range_type.range_type()).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == Some(RangeType::ControlRegion))
            .count(),
        5
    );
    assert!(spas
        .iter()
        .filter(|s| s.range_type == Guid::CONTROL_REGION)
        .all(|s| s.length == DCR_SIZE));
    assert!(spas
        .iter()
        .filter(|s| s.range_type == Guid::BLOCK_DATA_WINDOW)
        .all(|s| s.length == DIMM_SIZE && s.address % ALIGN == 0));

    let mut serials = Vec::new();
    let mut flush = Vec::new();
    for s in table.structures() {
        match s {
            Structure::ControlRegion(c) => {
                serials.push((c.region_index, c.serial_number, c.code));
                assert_eq!((c.vendor_id, c.device_id, c.revision_id), (0xabcd, 0, 1));
                assert_eq!((c.valid_fields, c.manufacturing_location), (1, 0xa));
                assert_eq!(c.manufacturing_date, 2016);
                if let Some(b) = c.block {
                    assert_eq!(
                        (b.windows, b.window_size, b.command_offset, b.command_size),
                        (1, 12, 0, 8)
                    );
                    assert_eq!((b.status_offset, b.status_size), (8, 4));
                }
            }
            Structure::BlockWindow(b) => {
                assert_eq!((b.windows, b.size, b.capacity), (1, 16384, 32 << 20));
            }
            Structure::Flush(f) => {
                let a: Vec<u64> = f.addresses().collect();
                assert_eq!(a.len(), 8);
                assert!(a.windows(2).all(|w| w[1] == w[0] + 8));
                assert_eq!(f.address(8), None);
                flush.push(f.device_handle.0);
            }
            Structure::Capabilities(c) => {
                assert_eq!((c.highest_capability, c.capabilities), (1, 2));
            }
            _ => {}
        }
    }
    assert_eq!(
        serials,
        [
            (1, !0x0, 0x201),
            (2, !0x1, 0x201),
            (3, !0x100, 0x201),
            (4, !0x101, 0x201),
            (5, !0x0, 0x301),
            (6, !0x1, 0x301),
            (7, !0x100, 0x301),
            (8, !0x101, 0x301),
            (9, !0x1000, 0x201),
            (10, !0x1000, 0x301)
        ]
    );
    assert_eq!(flush, [0x0, 0x1, 0x100, 0x101, 0x1000]);

    // The two interleave sets: region offsets are the cookie inputs nfit_test chose.
    let sets: Vec<(u16, u32, u64, u64, u16, u16)> = table
        .structures()
        .filter_map(|s| match s {
            Structure::Memdev(m) if m.range_index <= 2 || m.range_index == 12 => Some((
                m.range_index,
                m.device_handle.0,
                m.region_offset,
                m.address,
                m.interleave_ways,
                m.flags,
            )),
            _ => None,
        })
        .collect();
    let h = flags::MEM_HEALTH_ENABLED;
    assert_eq!(
        sets,
        [
            (1, 0x0, 1, 0, 2, 0),
            (1, 0x1, 1 << 8, 0, 2, h),
            (2, 0x0, 1 << 16, 16 << 20, 4, h),
            (2, 0x1, 1 << 24, 16 << 20, 4, 0),
            (2, 0x100, 1 << 32, 16 << 20, 4, h),
            (2, 0x101, 1 << 40, 16 << 20, 4, 0),
            (12, 0x1000, 1 << 48, 0, 1, h),
        ]
    );
}

#[test]
fn nfit_test1_facts() {
    let bytes = Desc::from_topology(&NFIT_TEST1).table();
    let table = parse(&bytes).unwrap();
    let all: Vec<Structure<'_>> = table.structures().collect();
    let Structure::Spa(vcd) = all[1] else {
        panic!("second structure is the virtual CD range")
    };
    assert_eq!(
        (vcd.range_index, vcd.range_type, vcd.length),
        (0, Guid::VOLATILE_CD, 4 << 20)
    );
    let Structure::Memdev(m0) = all[2] else {
        panic!()
    };
    assert_eq!(
        (m0.device_handle.0, m0.range_index, m0.flags),
        (0x1_0000, 1, 0x1f)
    );
    let Structure::Memdev(m1) = all[3] else {
        panic!()
    };
    assert_eq!(
        (
            m1.device_handle.0,
            m1.range_index,
            m1.region_index,
            m1.flags
        ),
        (0x1_0001, 0, 2, flags::MEM_MAP_FAILED)
    );
    assert_eq!((m0.physical_id, m1.physical_id), (0, 0));
    for s in &all[4..] {
        let Structure::ControlRegion(c) = s else {
            panic!()
        };
        assert_eq!((c.code, c.block), (format_code::BYTE, None));
    }
}

#[test]
fn hot_plug_table_extends_the_initial_one() {
    let t0 = Desc::from_topology(&NFIT_TEST0);
    let hp = Desc::from_topology(&NFIT_TEST0_HOTPLUG);
    for (a, b) in [
        (
            t0.spas.len(),
            &hp.spas[..t0.spas.len()] == t0.spas.as_slice(),
        ),
        (t0.dimms.len(), hp.dimms[..4] == t0.dimms[..]),
        (t0.dcrs.len(), hp.dcrs[..8] == t0.dcrs[..]),
        (t0.bdws.len(), hp.bdws[..4] == t0.bdws[..]),
        (t0.mappings.len(), hp.mappings[..14] == t0.mappings[..]),
        (t0.flush.len(), hp.flush[..4] == t0.flush[..]),
    ] {
        assert!(a > 0 && b);
    }
    assert_eq!(hp.dimms.len(), 5);
    assert_eq!(hp.dimms[4].handle, HANDLES[4]);
    assert_eq!(hp.caps, t0.caps);
}

#[test]
fn too_small_buffers_are_errors() {
    for (_, t, _) in buses() {
        let need = t.table_len();
        for len in [0, 1, HEADER_LEN, need - 1] {
            let mut buf = vec![0x5a; len];
            assert_eq!(
                t.write_table(&mut buf),
                Err(WriteError::BufferTooSmall { needed: need })
            );
            assert!(buf.iter().all(|b| *b == 0x5a), "nothing written");
        }
        let body = t.structures_len();
        let mut buf = vec![0; body - 1];
        assert_eq!(
            t.write_structures(&mut buf),
            Err(WriteError::BufferTooSmall { needed: body })
        );
        // A larger buffer gets the table at its start and keeps the rest.
        let mut buf = vec![0x5a; need + 7];
        assert_eq!(t.write_table(&mut buf), Ok(need));
        assert!(buf[need..].iter().all(|b| *b == 0x5a));
        assert!(parse(&buf[..need]).is_ok());
        assert_eq!(parse(&buf), Err(ParseError::Length));
    }
}

#[test]
fn invalid_description_is_not_written() {
    let mut d = Desc::from_topology(&NFIT_TEST1);
    d.spas[0].length = 0;
    d.with(|t| {
        let mut buf = vec![0x5a; t.table_len()];
        assert_eq!(
            t.write_table(&mut buf),
            Err(WriteError::Invalid(TopologyError::SpaEmpty(0)))
        );
        assert_eq!(
            t.write_structures(&mut buf),
            Err(WriteError::Invalid(TopologyError::SpaEmpty(0)))
        );
        assert!(buf.iter().all(|b| *b == 0x5a));
    });
}

#[test]
fn header_errors() {
    let good = Desc::from_topology(&NFIT_TEST0).table();
    assert!(parse(&good).is_ok());
    assert_eq!(parse(&good[..HEADER_LEN - 1]), Err(ParseError::Short));
    assert_eq!(parse(&[]), Err(ParseError::Short));

    let mut b = good.clone();
    b[0] = b'X';
    assert_eq!(parse(&b), Err(ParseError::Signature));

    let mut b = good.clone();
    b[8] = 2;
    fix_checksum(&mut b);
    assert_eq!(parse(&b), Err(ParseError::Revision));

    let mut b = good.clone();
    b[9] = b[9].wrapping_add(1);
    assert_eq!(parse(&b), Err(ParseError::Checksum));

    let mut b = good.clone();
    let last = b.len() - 1;
    b[last] ^= 0x10;
    assert_eq!(parse(&b), Err(ParseError::Checksum));

    // Length field and slice disagree.
    assert_eq!(parse(&good[..good.len() - 1]), Err(ParseError::Length));
    let mut b = good.clone();
    b.push(0);
    assert_eq!(parse(&b), Err(ParseError::Length));

    // A bare header is a valid, empty table.
    let mut b = good[..HEADER_LEN].to_vec();
    b[4..8].copy_from_slice(&(HEADER_LEN as u32).to_le_bytes());
    fix_checksum(&mut b);
    assert_eq!(parse(&b).unwrap().structures().count(), 0);
}

/// Sets the length of the structure at table offset `off` and fixes the checksum.
fn with_len(good: &[u8], off: usize, len: u16) -> Vec<u8> {
    let mut b = good.to_vec();
    b[off + 2..off + 4].copy_from_slice(&len.to_le_bytes());
    fix_checksum(&mut b);
    b
}

#[test]
fn structure_length_errors() {
    let good = Desc::from_topology(&NFIT_TEST0).table();
    for (off, kind, len) in walk(&good) {
        let rel = off - HEADER_LEN;
        for bad in [len - 1, len + 1, len - 8, len + 8] {
            let b = with_len(&good, off, bad);
            let err = parse(&b).unwrap_err();
            let ok = matches!(err,
                ParseError::StructureLength { offset, kind: k } if offset == rel && k == kind)
                || matches!(err, ParseError::Truncated { .. })
                // A shorter structure makes the next one start inside it.
                || (bad < len && matches!(err,
                    ParseError::StructureLength { offset, .. }
                    | ParseError::UnknownType { offset, .. } if offset > rel));
            assert!(ok, "type {kind} length {len} -> {bad}: {err:?}");
        }
        for bad in [0, 3] {
            assert_eq!(
                parse(&with_len(&good, off, bad)),
                Err(ParseError::StructureLength { offset: rel, kind })
            );
        }
    }
    // Structures of each kind, with a count field that disagrees with the length.
    let hp = Desc::from_topology(&NFIT_TEST0_HOTPLUG).table();
    let (off, _, _) = walk(&hp).into_iter().find(|w| w.1 == 6).unwrap();
    let mut b = hp.clone();
    b[off + 8] = 7; // hint_count 7 with room for 8
    fix_checksum(&mut b);
    assert_eq!(
        parse(&b),
        Err(ParseError::StructureLength {
            offset: off - HEADER_LEN,
            kind: 6
        })
    );
    // A short control region that claims windows.
    let (off, _, _) = walk(&hp)
        .into_iter()
        .find(|w| w.1 == 4 && w.2 == 32)
        .unwrap();
    let mut b = hp.clone();
    b[off + 30] = 1;
    fix_checksum(&mut b);
    assert!(matches!(
        parse(&b),
        Err(ParseError::StructureLength { kind: 4, .. })
    ));
    // An SPA range that claims a location cookie but is 56 bytes long.
    let mut b = hp.clone();
    b[HEADER_LEN + 6] |= flags::SPA_LOCATION_COOKIE_VALID as u8;
    fix_checksum(&mut b);
    assert_eq!(
        parse(&b),
        Err(ParseError::StructureLength { offset: 0, kind: 0 })
    );
}

#[test]
fn unknown_types_and_truncation() {
    let good = Desc::from_topology(&NFIT_TEST1).table();
    let mut b = good.clone();
    b[HEADER_LEN] = 8;
    fix_checksum(&mut b);
    assert_eq!(
        parse(&b),
        Err(ParseError::UnknownType { offset: 0, kind: 8 })
    );
    // Structures cut in the middle: the header length shrinks with the slice.
    for cut in [1, 2, 3, 4, 20, 31] {
        let mut b = good[..good.len() - cut].to_vec();
        let len = b.len() as u32;
        b[4..8].copy_from_slice(&len.to_le_bytes());
        fix_checksum(&mut b);
        assert!(
            matches!(parse(&b), Err(ParseError::Truncated { .. })),
            "cut {cut}"
        );
    }
    // The bare iterator stops after its first error.
    let body = &good[HEADER_LEN..good.len() - 2];
    let items: Vec<_> = structures(body).collect();
    assert!(items.last().unwrap().is_err());
    assert_eq!(items.iter().filter(|r| r.is_err()).count(), 1);
}

#[test]
fn location_cookie_and_variable_structures_round_trip() {
    let mut d = Desc::from_topology(&NFIT_TEST0_HOTPLUG);
    d.base = BASE;
    d.spas[0].location_cookie = Some(0x1234_5678_9abc_def0);
    d.spas[1].flags = flags::SPA_PROXIMITY_VALID | flags::SPA_ADD_ONLINE_ONLY;
    d.spas[1].proximity_domain = 3;
    d.spas[1].memory_attributes = 0x8008;
    d.interleaves.push((7, 256, vec![0, 1, 2, 3]));
    d.mappings[0].interleave_index = 7;
    d.smbios.push(b"type 17 blob".to_vec());
    d.smbios.push(Vec::new());
    d.dimms[2].manufacturing = None;
    d.dcrs[0].block = Some(BlockControl {
        flags: flags::DCR_BUFFERED,
        ..d.dcrs[0].block.unwrap()
    });
    assert_eq!(d.validate(), Ok(()));
    round_trip(&d);
    let bytes = d.table();
    assert_eq!(walk(&bytes)[0].2, 64);
    let table = parse(&bytes).unwrap();
    let Some(Structure::Spa(s)) = table.structures().next() else {
        panic!()
    };
    assert_eq!(s.flags, 0, "bit 2 is carried by location_cookie");
    let idt = table
        .structures()
        .find_map(|s| match s {
            Structure::Interleave(i) => Some(i),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (idt.line_count(), idt.line_offset(3), idt.line_offset(4)),
        (4, Some(3), None)
    );
}

/// The hot-plug table must repeat every structure of the table it replaces byte for byte:
/// the NFIT driver merges a `_FIT` update by matching each old structure exactly
/// (`add_table()`'s `memcmp`s), and refuses an update that would delete one ("new nfit
/// deletes entries").
#[test]
fn hotplug_table_keeps_every_structure_of_the_initial_one() {
    let t0 = Desc::from_topology(&NFIT_TEST0).table();
    let hp = Desc::from_topology(&NFIT_TEST0_HOTPLUG).table();
    let structs = |b: &Vec<u8>| -> Vec<Vec<u8>> {
        walk(b)
            .into_iter()
            .map(|(off, _, len)| b[off..off + usize::from(len)].to_vec())
            .collect()
    };
    let (old, mut new) = (structs(&t0), structs(&hp));
    // One for one, as the driver moves each matched structure off its list of old ones.
    for (i, s) in old.iter().enumerate() {
        let Some(at) = new.iter().position(|n| n == s) else {
            panic!(
                "structure {i} (type {}) of nfit_test.0 is not in the hot-plug table (or not \
                 as often): {s:02x?}",
                s[0]
            );
        };
        new.swap_remove(at);
    }
}

/// Checks that `fields` (offset, width), in the order ACPICA's `actbl2.h` declares them,
/// follow each other without a gap or an overlap from 0 to `len`.
fn tiles(name: &str, fields: &[(usize, usize)], len: usize) {
    let mut at = 0;
    for (k, &(off, width)) in fields.iter().enumerate() {
        assert_eq!(
            off, at,
            "{name}: field {k} starts at {off}, the previous ends at {at}"
        );
        assert!(width > 0, "{name}: field {k} has no width");
        at = off + width;
    }
    assert_eq!(
        at, len,
        "{name}: the fields end at {at}, the length is {len}"
    );
}

/// The layout the writer and the parser share covers every structure exactly, field after
/// field in the C declaration order (the module build checks each offset against the
/// kernel's structures; this catches a gap, an overlap or a swap on the host).
#[test]
fn layout_tiles_every_structure() {
    use nvmock_model::nfit::layout::*;
    fn f<T: Value>(x: Field<T>) -> (usize, usize) {
        (x.offset(), x.width())
    }
    let h = [f(header::TYPE), f(header::LENGTH)];
    tiles("header", &h, header::LEN);
    tiles(
        "table",
        &[
            f(table::SIGNATURE),
            f(table::LENGTH),
            f(table::REVISION),
            f(table::CHECKSUM),
            f(table::OEM_ID),
            f(table::OEM_TABLE_ID),
            f(table::OEM_REVISION),
            f(table::CREATOR_ID),
            f(table::CREATOR_REVISION),
            f(table::RESERVED),
        ],
        table::LEN,
    );
    let with_header = |name: &str, fields: &[(usize, usize)], len: usize| {
        let all: Vec<(usize, usize)> = h.iter().chain(fields).copied().collect();
        tiles(name, &all, len);
    };
    with_header(
        "spa",
        &[
            f(spa::RANGE_INDEX),
            f(spa::FLAGS),
            f(spa::RESERVED),
            f(spa::PROXIMITY_DOMAIN),
            f(spa::RANGE_GUID),
            f(spa::ADDRESS),
            f(spa::LENGTH),
            f(spa::MEMORY_MAPPING),
            f(spa::LOCATION_COOKIE),
        ],
        spa::LEN_COOKIE,
    );
    assert_eq!(spa::LEN, spa::LOCATION_COOKIE.offset());
    with_header(
        "memdev",
        &[
            f(memdev::DEVICE_HANDLE),
            f(memdev::PHYSICAL_ID),
            f(memdev::REGION_ID),
            f(memdev::RANGE_INDEX),
            f(memdev::REGION_INDEX),
            f(memdev::REGION_SIZE),
            f(memdev::REGION_OFFSET),
            f(memdev::ADDRESS),
            f(memdev::INTERLEAVE_INDEX),
            f(memdev::INTERLEAVE_WAYS),
            f(memdev::FLAGS),
            f(memdev::RESERVED),
        ],
        memdev::LEN,
    );
    with_header(
        "interleave",
        &[
            f(interleave::INTERLEAVE_INDEX),
            f(interleave::RESERVED),
            f(interleave::LINE_COUNT),
            f(interleave::LINE_SIZE),
        ],
        interleave::LEN,
    );
    assert_eq!(interleave::LINE_OFFSET.offset(), interleave::LEN);
    with_header("smbios", &[f(smbios::RESERVED)], smbios::LEN);
    assert_eq!(smbios::DATA.offset(), smbios::LEN);
    with_header(
        "control region",
        &[
            f(control_region::REGION_INDEX),
            f(control_region::VENDOR_ID),
            f(control_region::DEVICE_ID),
            f(control_region::REVISION_ID),
            f(control_region::SUBSYSTEM_VENDOR_ID),
            f(control_region::SUBSYSTEM_DEVICE_ID),
            f(control_region::SUBSYSTEM_REVISION_ID),
            f(control_region::VALID_FIELDS),
            f(control_region::MANUFACTURING_LOCATION),
            f(control_region::MANUFACTURING_DATE),
            f(control_region::RESERVED),
            f(control_region::SERIAL_NUMBER),
            f(control_region::CODE),
            f(control_region::WINDOWS),
            f(control_region::WINDOW_SIZE),
            f(control_region::COMMAND_OFFSET),
            f(control_region::COMMAND_SIZE),
            f(control_region::STATUS_OFFSET),
            f(control_region::STATUS_SIZE),
            f(control_region::FLAGS),
            f(control_region::RESERVED1),
        ],
        control_region::LEN,
    );
    assert_eq!(
        control_region::LEN_SHORT,
        control_region::WINDOW_SIZE.offset()
    );
    with_header(
        "block window",
        &[
            f(block_window::REGION_INDEX),
            f(block_window::WINDOWS),
            f(block_window::OFFSET),
            f(block_window::SIZE),
            f(block_window::CAPACITY),
            f(block_window::START_ADDRESS),
        ],
        block_window::LEN,
    );
    with_header(
        "flush",
        &[
            f(flush::DEVICE_HANDLE),
            f(flush::HINT_COUNT),
            f(flush::RESERVED),
        ],
        flush::LEN,
    );
    assert_eq!(flush::HINT_ADDRESS.offset(), flush::LEN);
    with_header(
        "capabilities",
        &[
            f(capabilities::HIGHEST_CAPABILITY),
            f(capabilities::RESERVED),
            f(capabilities::CAPABILITIES),
            f(capabilities::RESERVED2),
        ],
        capabilities::LEN,
    );
}

/// The array elements of the variable-length structures follow one another.
#[test]
fn layout_elements_follow_one_another() {
    use nvmock_model::nfit::layout::*;
    let e = |k| element(interleave::LINE_OFFSET, k).map(|f| f.offset());
    assert_eq!(e(0), Some(interleave::LEN));
    assert_eq!(e(3), Some(interleave::LEN + 12));
    let h = |k| element(flush::HINT_ADDRESS, k).map(|f| f.offset());
    assert_eq!(h(2), Some(flush::LEN + 16));
    assert_eq!(element(flush::HINT_ADDRESS, usize::MAX), None);
}
