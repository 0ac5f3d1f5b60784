// SPDX-License-Identifier: GPL-2.0

//! Namespace index blocks: the layout libnvdimm computes for a label area, blocks written
//! as nd_label_write_index() initialises them, and the kernel's choice of the current one
//! (newer sequence number, the only valid copy, or none) as blocks are damaged.

use nvmock_model::nfit::info_block::fletcher64;
use nvmock_model::nfit::label_index::*;

const AREA: u32 = 128 << 10;

fn area_with(seq0: u32, seq1: u32) -> (Vec<u8>, Layout) {
    let l = layout(AREA, 256).unwrap();
    let mut a = vec![0u8; AREA as usize];
    write(&mut a, &l, 0, seq0).unwrap();
    write(&mut a, &l, 1, seq1).unwrap();
    (a, l)
}

#[test]
fn layout_is_what_libnvdimm_computes() {
    // 128 KiB of 256-byte labels: 512 slots at first, 510 once two 256-byte index blocks
    // (72 bytes + a 64-byte bitmap, rounded up) are taken out.
    assert_eq!(
        layout(AREA, 256),
        Some(Layout {
            index_size: 256,
            nslot: 510,
            label_size: 256
        })
    );
    // 128-byte labels: 1020 slots, whose 128-byte bitmap still fits a 256-byte block.
    assert_eq!(
        layout(AREA, 128),
        Some(Layout {
            index_size: 256,
            nslot: 1020,
            label_size: 128
        })
    );
    // The smallest area: two index blocks and two labels.
    assert_eq!(
        layout(1024, 256),
        Some(Layout {
            index_size: 256,
            nslot: 2,
            label_size: 256
        })
    );
    assert_eq!(layout(1023, 256), None);
    assert_eq!(layout(AREA, 512), None);
    assert_eq!(layout(0, 256), None);
}

#[test]
fn written_blocks_are_valid_and_laid_out_as_nd_namespace_index() {
    let (a, l) = area_with(1, 2);
    let le32 = |o: usize| u32::from_le_bytes(a[o..o + 4].try_into().unwrap());
    let le64 = |o: usize| u64::from_le_bytes(a[o..o + 8].try_into().unwrap());
    for which in 0..2 {
        let b = which * 256;
        assert!(valid(&a, &l, which));
        assert_eq!(&a[b..b + 16], b"NAMESPACE_INDEX\0");
        assert_eq!(&a[b + 16..b + 19], &[0, 0, 0]);
        assert_eq!(a[b + 19], 1);
        assert_eq!(le32(b + 20), which as u32 + 1);
        assert_eq!(
            (le64(b + 24), le64(b + 32), le64(b + 40), le64(b + 48)),
            (b as u64, 256, (256 - b) as u64, 512)
        );
        assert_eq!(le32(b + 56), 510);
        assert_eq!(le32(b + 60), 1 | (2 << 16));
        // 510 free slots: 63 full bytes and 6 bits; nothing after them.
        assert!(a[b + 72..b + 72 + 63].iter().all(|&x| x == 0xff));
        assert_eq!(a[b + 72 + 63], 0x3f);
        assert!(a[b + 72 + 64..b + 256].iter().all(|&x| x == 0));
        let mut z = a[b..b + 256].to_vec();
        z[64..72].fill(0);
        assert_eq!(le64(b + 64), fletcher64(&z));
    }
    // The labels after the blocks are not touched.
    assert!(a[512..].iter().all(|&x| x == 0));
}

#[test]
fn the_newer_valid_copy_is_current() {
    for (s0, s1, want) in [
        (1, 2, 1),
        (2, 1, 0),
        (2, 3, 1),
        (3, 1, 1),
        (1, 3, 0),
        (2, 2, 1),
    ] {
        let (a, l) = area_with(s0, s1);
        assert_eq!(current(&a, &l), Some(want), "seq {s0} {s1}");
    }
}

#[test]
fn a_damaged_copy_falls_back_to_the_other() {
    for off in [0, 19, 20, 24, 32, 40, 48, 56, 60, 64, 72, 200, 255] {
        let (mut a, l) = area_with(1, 2);
        a[256 + off] ^= 0x40;
        assert!(!valid(&a, &l, 1), "byte {off}");
        assert_eq!(current(&a, &l), Some(0), "byte {off}");
        a[off] ^= 0x40;
        assert_eq!(current(&a, &l), None, "byte {off}");
    }
    // Sequence number 0 is invalid even with a correct checksum.
    let (mut a, l) = area_with(1, 2);
    let l0 = l;
    write(&mut a, &l0, 1, 4).unwrap();
    assert!(!valid(&a, &l, 1));
    assert_eq!(current(&a, &l), Some(0));
    // Blocks for another label size do not validate.
    let (a, _) = area_with(1, 2);
    let l128 = layout(AREA, 128).unwrap();
    assert_eq!(current(&a, &l128), None);
    // A zeroed area has no index.
    assert_eq!(current(&vec![0; AREA as usize], &l), None);
}

#[test]
fn sequence_numbers_cycle() {
    assert_eq!(
        (next_seq(1), next_seq(2), next_seq(3), next_seq(0)),
        (2, 3, 1, 0)
    );
    assert_eq!(
        write(&mut [0u8; 100], &layout(AREA, 256).unwrap(), 0, 1),
        None
    );
    assert_eq!(
        write(
            &mut vec![0u8; AREA as usize],
            &layout(AREA, 256).unwrap(),
            2,
            1
        ),
        None
    );
}
