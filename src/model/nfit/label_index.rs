// SPDX-License-Identifier: GPL-2.0

//! Namespace index blocks: the two copies of `struct nd_namespace_index`
//! (`drivers/nvdimm/label.h`, UEFI 2.7 label storage format, v1.2) at the start of a DIMM's
//! label storage area, and libnvdimm's choice between them.
//!
//! The area holds two index blocks, then an array of label slots. Only one index block is
//! current; the other is the next one to write, so that an update interrupted half way
//! leaves the old one valid. A reader takes the valid block with the newer sequence number
//! (`__nd_label_validate()`), or the only valid one, or none.
//!
//! Tests lay blocks down (then damage them) to see which one libnvdimm picks; the model
//! applies the kernel's rules so that host tests can check the blocks it writes against
//! them. Namespace labels themselves are not modelled.

use super::super::le::{put, put_u16, put_u32, put_u64, u16_at, u32_at, u64_at};
use super::fletcher::{fletcher64, fletcher64_zeroed};

/// Signature of an index block (`NSINDEX_SIGNATURE`).
pub const SIG: [u8; 16] = *b"NAMESPACE_INDEX\0";
/// Index blocks are multiples of this (`NSINDEX_ALIGN`).
pub const ALIGN: usize = 256;
/// The fixed part of an index block; the free-slot bitmap follows.
pub const HDR: usize = 72;
/// The sequence numbers cycle 1, 2, 3, 1 (`NSINDEX_SEQ_MASK`; 0 is invalid).
pub const SEQ_MASK: u32 = 3;
const CHECKSUM: usize = 64;

/// How a label area of a given size is divided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Bytes of one index block (the checksum covers all of them).
    pub index_size: usize,
    /// Label slots after the two index blocks.
    pub nslot: u32,
    /// Bytes of one label: 128 (v1.1) or 256 (v1.2).
    pub label_size: usize,
}

fn index_size(nslot: u32) -> usize {
    (HDR + (nslot as usize).div_ceil(8)).next_multiple_of(ALIGN)
}

/// The layout libnvdimm expects for `config_size` bytes and labels of `label_size`
/// (`nvdimm_num_label_slots()`, `sizeof_namespace_index()`); `None` where it refuses the
/// area (room for fewer than two labels besides the index blocks).
pub fn layout(config_size: u32, label_size: usize) -> Option<Layout> {
    if label_size != 128 && label_size != 256 {
        return None;
    }
    let size = config_size as usize;
    let first = index_size(u32::try_from(size / label_size).ok()?);
    let nslot = u32::try_from(size.checked_sub(2 * first)? / label_size).ok()?;
    let isize = index_size(nslot);
    let space = size - nslot as usize * label_size;
    (2 * isize <= space && nslot >= 2).then_some(Layout {
        index_size: isize,
        nslot,
        label_size,
    })
}

/// The next sequence number after `seq` (`nd_inc_seq()`).
pub fn next_seq(seq: u32) -> u32 {
    const NEXT: [u32; 4] = [0, 2, 3, 1];
    NEXT[(seq & SEQ_MASK) as usize]
}

/// The newer of two sequence numbers (`best_seq()`).
fn best_seq(a: u32, b: u32) -> u32 {
    let (a, b) = (a & SEQ_MASK, b & SEQ_MASK);
    if a == 0 || a == b {
        b
    } else if b == 0 {
        a
    } else if next_seq(a) == b {
        b
    } else {
        a
    }
}

/// Writes index block `which` (0 or 1) with sequence number `seq` into `area`, all slots
/// free, as `nd_label_write_index()` initialises one. `area` is the whole label area.
pub fn write(area: &mut [u8], l: &Layout, which: usize, seq: u32) -> Option<()> {
    if which > 1 || 2 * l.index_size > area.len() {
        return None;
    }
    let at = which * l.index_size;
    let b = &mut area[at..at + l.index_size];
    b.fill(0);
    put(b, 0, &SIG);
    // flags[3] stay zero; labelsize is log2(label size) - 7.
    b[19] = if l.label_size == 256 { 1 } else { 0 };
    put_u32(b, 20, seq);
    put_u64(b, 24, at as u64);
    put_u64(b, 32, l.index_size as u64);
    put_u64(b, 40, ((1 - which) * l.index_size) as u64);
    put_u64(b, 48, (2 * l.index_size) as u64);
    put_u32(b, 56, l.nslot);
    put_u16(b, 60, 1);
    put_u16(b, 62, if l.label_size == 256 { 2 } else { 1 });
    // Free-slot bitmap: a set bit is a free slot.
    for s in 0..l.nslot as usize {
        b[HDR + s / 8] |= 1 << (s % 8);
    }
    let sum = fletcher64(b);
    put_u64(b, CHECKSUM, sum);
    Some(())
}

/// Whether index block `which` of `area` passes `__nd_label_validate()`'s checks for
/// layout `l`.
pub fn valid(area: &[u8], l: &Layout, which: usize) -> bool {
    let at = which * l.index_size;
    let Some(b) = area.get(at..at + l.index_size) else {
        return false;
    };
    if b[..16] != SIG {
        return false;
    }
    let version = u32::from(u16_at(b, 60)) * 100 + u32::from(u16_at(b, 62));
    let label_size = if version >= 102 {
        match b[19] {
            0 => 128,
            1 => 256,
            _ => return false,
        }
    } else {
        128
    };
    if label_size != l.label_size {
        return false;
    }
    if fletcher64_zeroed(b, CHECKSUM) != u64_at(b, CHECKSUM) {
        return false;
    }
    let size = u64_at(b, 32);
    u32_at(b, 20) & SEQ_MASK != 0
        && u64_at(b, 24) == at as u64
        && u64_at(b, 40) == ((1 - which) * l.index_size) as u64
        && u64_at(b, 48) == (2 * l.index_size) as u64
        && size <= l.index_size as u64
        && size >= HDR as u64
        && u64::from(u32_at(b, 56)) * l.label_size as u64 + 2 * l.index_size as u64
            <= area.len() as u64
}

/// The index block libnvdimm takes as current: the newer valid one, the only valid one,
/// or none.
pub fn current(area: &[u8], l: &Layout) -> Option<usize> {
    match (valid(area, l, 0), valid(area, l, 1)) {
        (false, false) => None,
        (true, false) => Some(0),
        (false, true) => Some(1),
        (true, true) => {
            let s1 = u32_at(area, l.index_size + 20);
            let best = best_seq(u32_at(area, 20), s1);
            Some(if best == s1 & SEQ_MASK { 1 } else { 0 })
        }
    }
}
