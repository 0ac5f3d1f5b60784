// SPDX-License-Identifier: GPL-2.0

//! Namespace info blocks: the layout nd_pfn_init() computes, the bytes of struct
//! nd_pfn_sb at their offsets, libnvdimm's checksum, and refusal of damaged blocks.

use nvmock_model::nfit::info_block::*;

const MIB: u64 = 1 << 20;
const START: u64 = 0x40_1000_0000;

fn dax(layout: Layout) -> InfoBlock {
    InfoBlock {
        kind: Kind::Dax,
        uuid: *b"nvmock-dax-uuid!",
        parent_uuid: [0; 16],
        memmap: Memmap::Ram,
        layout,
    }
}

#[test]
fn fletcher64_sums_little_endian_words() {
    assert_eq!(fletcher64(&[0; 16]), 0);
    // lo = 1 + 2, hi = 1 + 3.
    assert_eq!(fletcher64(&[1, 0, 0, 0, 2, 0, 0, 0]), (4 << 32) | 3);
    // Both halves wrap at 32 bits.
    assert_eq!(fletcher64(&[0xff; 8]), 0xffff_fffd_ffff_fffe);
    // Word order matters (unlike a plain sum).
    assert_ne!(
        fletcher64(&[2, 0, 0, 0, 1, 0, 0, 0]),
        fletcher64(&[1, 0, 0, 0, 2, 0, 0, 0])
    );
}

#[test]
fn layout_follows_nd_pfn_init() {
    // Struct pages in RAM: 8 KiB reserved, data at the next 2 MiB boundary.
    let l = layout(START, 32 * MIB, 4096, Memmap::Ram).unwrap();
    assert_eq!(
        l,
        Layout {
            dataoff: 2 * MIB,
            npfns: (30 * MIB) / 4096,
            end_trunc: 0,
            align: 4096
        }
    );
    // In the namespace: 64 bytes per page of the namespace after the reserved 8 KiB.
    let l = layout(START, 1024 * MIB, 4096, Memmap::Pmem).unwrap();
    let reserve = 8192 + 64 * ((1024 * MIB - 8192) / 4096);
    assert!(reserve > 16 * MIB && reserve < 18 * MIB);
    assert_eq!(l.dataoff, 18 * MIB);
    assert_eq!(l.npfns, (1024 - 18) * MIB / 4096);
    // A 1 GiB alignment rounds the data start and the end to 1 GiB.
    let l = layout(0, 3 * 1024 * MIB, 1 << 30, Memmap::Ram).unwrap();
    assert_eq!(
        (l.dataoff, l.end_trunc, l.npfns),
        (1 << 30, 0, 2 * 1024 * MIB / 4096)
    );
    // The end is cut back to the 2 MiB boundary.
    let l = layout(0, 33 * MIB + 4096, 4096, Memmap::Ram).unwrap();
    assert_eq!(l.end_trunc as u64, MIB + 4096);
    assert_eq!(l.npfns, 30 * MIB / 4096);
}

#[test]
fn impossible_layouts_are_refused() {
    assert_eq!(
        layout(START, 32 * MIB, 3000, Memmap::Ram),
        Err(LayoutError::Align)
    );
    assert_eq!(
        layout(START, 32 * MIB, 2048, Memmap::Ram),
        Err(LayoutError::Align)
    );
    assert_eq!(
        layout(START + 4096, 32 * MIB, 4096, Memmap::Ram),
        Err(LayoutError::Misaligned)
    );
    assert_eq!(
        layout(START, 32 * MIB, 1 << 30, Memmap::Ram),
        Err(LayoutError::TooSmall)
    );
    assert_eq!(
        layout(START, 2 * MIB, 4096, Memmap::Ram),
        Err(LayoutError::TooSmall)
    );
    assert_eq!(
        layout(u64::MAX - MIB, 4 * MIB, 4096, Memmap::Ram),
        Err(LayoutError::Misaligned)
    );
    // The end would pass the top of the address space.
    let top = u64::MAX / (2 * MIB) * (2 * MIB);
    assert_eq!(
        layout(top, 4 * MIB, 4096, Memmap::Ram),
        Err(LayoutError::TooSmall)
    );
    // More cut off the end by a large alignment than the namespace has.
    assert_eq!(
        layout(START, 32 * MIB, 1 << 30, Memmap::Pmem),
        Err(LayoutError::TooSmall)
    );
}

#[test]
fn fields_are_where_struct_nd_pfn_sb_has_them() {
    let l = layout(START, 32 * MIB, 2 * MIB as u32, Memmap::Pmem).unwrap();
    let mut b = vec![0xa5u8; 8192];
    InfoBlock {
        memmap: Memmap::Pmem,
        ..dax(l)
    }
    .write(&mut b)
    .unwrap();
    let le32 = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let le64 = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    assert_eq!(&b[..16], b"NVDIMM_DAX_INFO\0");
    assert_eq!(&b[16..32], b"nvmock-dax-uuid!");
    assert_eq!(&b[32..48], &[0; 16]);
    assert_eq!(le32(48), 0);
    assert_eq!((le32(52) & 0xffff, le32(52) >> 16), (1, 4));
    assert_eq!(le64(56), l.dataoff);
    assert_eq!(le64(64), l.npfns);
    assert_eq!(le32(72), 2);
    assert_eq!(le32(76), 0);
    assert_eq!(le32(80), l.end_trunc);
    assert_eq!(le32(84), 2 << 20);
    assert_eq!(le32(88), 4096);
    assert_eq!(le32(92) & 0xffff, 64);
    // Padding is zero, the checksum covers the block with its own field zeroed.
    assert!(b[94..4088].iter().all(|&x| x == 0));
    let mut zeroed = b[..4096].to_vec();
    zeroed[4088..].fill(0);
    assert_eq!(le64(4088), fletcher64(&zeroed));
    // Only the block is written.
    assert!(b[4096..].iter().all(|&x| x == 0xa5));
}

#[test]
fn blocks_round_trip_and_damage_is_seen() {
    let l = layout(START, 32 * MIB, 4096, Memmap::Ram).unwrap();
    for kind in [Kind::Dax, Kind::Pfn] {
        let blk = InfoBlock { kind, ..dax(l) };
        let mut b = vec![0u8; LEN];
        blk.write(&mut b).unwrap();
        assert_eq!(InfoBlock::parse(&b), Ok(blk));
        // Any flipped bit outside the signature fails the checksum.
        for off in [16, 56, 64, 84, 1000, 4087, 4088, 4095] {
            let mut d = b.clone();
            d[off] ^= 0x10;
            assert_eq!(
                InfoBlock::parse(&d),
                Err(ParseError::Checksum),
                "byte {off}"
            );
        }
        let mut d = b.clone();
        d[3] ^= 1;
        assert_eq!(InfoBlock::parse(&d), Err(ParseError::Signature));
    }
    // An unknown mode with a correct checksum.
    let mut b = vec![0u8; LEN];
    dax(l).write(&mut b).unwrap();
    b[72] = 3;
    b[4088..].fill(0);
    let sum = fletcher64(&b);
    b[4088..].copy_from_slice(&sum.to_le_bytes());
    assert_eq!(InfoBlock::parse(&b), Err(ParseError::Mode(3)));
    assert_eq!(InfoBlock::parse(&b[..4095]), Err(ParseError::Short));
    assert_eq!(dax(l).write(&mut [0u8; 100]), Err(ParseError::Short));
}
