// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: the PRP walker on its own.

use nvmock_model::nvme::*;
use proptest::prelude::*;

/// A small guest memory at address 0.
struct Mem(Vec<u8>);

impl HostMemory for Mem {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let a = usize::try_from(addr).map_err(|_| MemError::Unmapped)?;
        let end = a.checked_add(buf.len()).ok_or(MemError::Unmapped)?;
        let s = self.0.get(a..end).ok_or(MemError::Unmapped)?;
        buf.copy_from_slice(s);
        Ok(())
    }

    fn write(&mut self, _addr: u64, _buf: &[u8]) -> Result<(), MemError> {
        Err(MemError::Denied)
    }
}

impl Mem {
    fn put(&mut self, addr: u64, v: u64) {
        self.0[addr as usize..addr as usize + 8].copy_from_slice(&v.to_le_bytes());
    }
}

fn walk(mem: &mut Mem, prp1: u64, prp2: u64, len: u64, page: u64) -> Result<Vec<Segment>, Status> {
    let mut p = Prp::new(prp1, prp2, len, page)?;
    let mut out = Vec::new();
    while let Some(s) = p.next_segment(mem)? {
        out.push(s);
        assert!(out.len() as u64 <= len / page + 2, "walk is bounded");
    }
    assert_eq!(p.remaining(), 0);
    Ok(out)
}

fn seg(addr: u64, len: u64) -> Segment {
    Segment { addr, len }
}

#[test]
fn simple_layouts() {
    let mut m = Mem(vec![0; 1 << 16]);
    let pg = 4096;
    assert_eq!(walk(&mut m, 0x1000, 0, 0, pg), Ok(vec![]));
    assert_eq!(
        walk(&mut m, 0x1000, 0xdead, 4096, pg),
        Ok(vec![seg(0x1000, 4096)])
    );
    assert_eq!(
        walk(&mut m, 0x1ffc, 0xdead, 4, pg),
        Ok(vec![seg(0x1ffc, 4)])
    );
    assert_eq!(
        walk(&mut m, 0x1800, 0x5000, 4096, pg),
        Ok(vec![seg(0x1800, 2048), seg(0x5000, 2048)])
    );
    assert_eq!(
        walk(&mut m, 0x1000, 0x5000, 8192, pg),
        Ok(vec![seg(0x1000, 4096), seg(0x5000, 4096)])
    );
    // A list with an offset.
    m.put(0x3100, 0x7000);
    m.put(0x3108, 0x9000);
    assert_eq!(
        walk(&mut m, 0x1004, 0x3100, 4096 * 2 + 100, pg),
        Ok(vec![seg(0x1004, 4092), seg(0x7000, 4096), seg(0x9000, 104)])
    );
    // The last slot of a list page chains when more than one entry is still needed...
    m.put(0x3ff0, 0x7000);
    m.put(0x3ff8, 0x4000);
    m.put(0x4000, 0x9000);
    m.put(0x4008, 0xa000);
    assert_eq!(
        walk(&mut m, 0x1000, 0x3ff0, 4096 * 4, pg),
        Ok(vec![
            seg(0x1000, 4096),
            seg(0x7000, 4096),
            seg(0x9000, 4096),
            seg(0xa000, 4096)
        ])
    );
    // ...and is a data entry when exactly one is.
    m.put(0x3ff8, 0xb000);
    assert_eq!(
        walk(&mut m, 0x1000, 0x3ff0, 4096 * 3, pg),
        Ok(vec![
            seg(0x1000, 4096),
            seg(0x7000, 4096),
            seg(0xb000, 4096)
        ])
    );
    // 8 KiB pages.
    assert_eq!(
        walk(&mut m, 0x3000, 0x8000, 8192, 8192),
        Ok(vec![seg(0x3000, 4096), seg(0x8000, 4096)])
    );
}

#[test]
fn invalid_layouts() {
    let mut m = Mem(vec![0; 1 << 16]);
    let pg = 4096;
    let off = Err(Status::INVALID_PRP_OFFSET);
    assert_eq!(walk(&mut m, 0x1002, 0, 16, pg), off);
    assert_eq!(walk(&mut m, 0x1000, 0x5008, 8192, pg), off);
    assert_eq!(walk(&mut m, 0x1000, 0x3004, 3 * 4096, pg), off);
    m.put(0x3000, 0x7010);
    assert_eq!(walk(&mut m, 0x1000, 0x3000, 3 * 4096, pg), off);
    // A misaligned chain pointer.
    m.put(0x3ff8, 0x4008);
    assert_eq!(walk(&mut m, 0x1000, 0x3ff8, 3 * 4096, pg), off);
    // Unreadable lists.
    let dte = Err(Status::DATA_TRANSFER_ERROR);
    assert_eq!(walk(&mut m, 0x1000, 1 << 20, 3 * 4096, pg), dte);
    assert_eq!(walk(&mut m, 0x1000, u64::MAX - 7, 3 * 4096, pg), dte);
    // Bad page sizes.
    assert_eq!(Prp::new(0, 0, 1, 2048).err(), Some(Status::INVALID_FIELD));
    assert_eq!(Prp::new(0, 0, 1, 12288).err(), Some(Status::INVALID_FIELD));
    // After an error the walk is over.
    let mut p = Prp::new(0x1002, 0, 16, pg).unwrap();
    assert!(p.next_segment(&mut m).is_err());
    assert_eq!(p.next_segment(&mut m), Ok(None));
}

/// A valid PRP layout for `len` bytes: the data pages, the lists and the expected segments.
fn build(
    m: &mut Mem,
    page: u64,
    len: u64,
    offset: u64,
    list_offset: u64,
) -> (u64, u64, Vec<Segment>) {
    // Data pages from the top of memory downwards, lists from page 1 upwards.
    let mut top = m.0.len() as u64;
    let mut data = || {
        top -= page;
        top
    };
    let first = (page - offset).min(len);
    let p1 = data() + offset;
    let mut segs = vec![seg(p1, first)];
    let mut left = len - first;
    let mut pages = Vec::new();
    while left > 0 {
        let p = data();
        pages.push(p);
        segs.push(seg(p, left.min(page)));
        left -= left.min(page);
    }
    let prp2 = match pages.len() {
        0 => 0,
        1 => pages[0],
        _ => {
            let start = page + list_offset;
            let mut at = start;
            let mut next_list = 2 * page;
            let mut i = 0;
            while i < pages.len() {
                if (at + 8).is_multiple_of(page) && pages.len() - i > 1 {
                    m.put(at, next_list);
                    at = next_list;
                    next_list += page;
                    continue;
                }
                m.put(at, pages[i]);
                at += 8;
                i += 1;
            }
            start
        }
    };
    (p1, prp2, segs)
}

/// `n` pseudo-random memory words: mostly page addresses, some small qword-aligned ones
/// (list pointers into the memory itself), some anything.
fn words(seed: u64, n: usize) -> impl Iterator<Item = u64> {
    let mut x = seed | 1;
    (0..n).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        match x % 32 {
            0 => x,
            1 => (x >> 8) % 0x2000 * 8,
            _ => (x >> 8) % 16 * 4096,
        }
    })
}

proptest! {
    /// Valid layouts of any size, offset and list placement yield exactly their segments.
    #[test]
    fn valid_layouts_transfer_exactly(
        mps in 0u32..2,
        len in 1u64..(64 * 4096),
        offset in 0u64..2048,
        list_slot in 0u64..1024,
    ) {
        let page = 4096u64 << mps;
        let offset = (offset * 4) % page;
        let list_offset = (list_slot * 8) % page;
        let mut m = Mem(vec![0; 1 << 20]);
        let (p1, p2, segs) = build(&mut m, page, len, offset, list_offset);
        let got = walk(&mut m, p1, p2, len, page);
        prop_assert_eq!(got, Ok(segs));
    }

    /// Arbitrary PRPs over arbitrary memory: the walk either yields exactly the requested bytes,
    /// with every entry after the first page aligned, or fails with a PRP status.
    #[test]
    fn arbitrary_prps_are_exact_or_fail(
        mps in 0u32..2,
        len in 0u64..(24 * 4096),
        prp1 in prop_oneof![1 => any::<u64>(), 3 => (0u64..0x800).prop_map(|a| a * 4)],
        prp2 in prop_oneof![
            any::<u64>(),
            (0u64..16).prop_map(|p| p * 4096),
            (0u64..0x2000).prop_map(|a| a * 8),
            (0u64..16).prop_map(|p| p * 4096 + 4080),
        ],
        seed in any::<u64>(),
    ) {
        let page = 4096u64 << mps;
        let mut m = Mem(words(seed, 8192).flat_map(|w| w.to_le_bytes()).collect());
        match walk(&mut m, prp1, prp2, len, page) {
            Ok(segs) => {
                prop_assert_eq!(segs.iter().map(|s| s.len).sum::<u64>(), len);
                for (i, s) in segs.iter().enumerate() {
                    prop_assert!(s.len > 0 && s.len <= page);
                    if i == 0 {
                        prop_assert_eq!(s.addr, prp1);
                        prop_assert_eq!(prp1 % 4, 0);
                    } else {
                        prop_assert_eq!(s.addr % page, 0);
                    }
                }
            }
            Err(e) => prop_assert!(
                e == Status::INVALID_PRP_OFFSET || e == Status::DATA_TRANSFER_ERROR,
                "unexpected {:?}", e
            ),
        }
    }
}
