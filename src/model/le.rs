// SPDX-License-Identifier: GPL-2.0

//! Little-endian field access that never panics, for every model's data structures (NVMe
//! Identify and log pages, NFIT tables, DSM payloads).
//!
//! Readers return 0 for bytes outside the slice and writers drop them; callers check lengths
//! first, so neither happens in practice.

/// `N` bytes at `off`, or zeroes if the slice is too short.
pub(crate) fn array<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = off.checked_add(N).and_then(|end| b.get(off..end)) {
        out.copy_from_slice(src);
    }
    out
}

pub(crate) fn u8_at(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

pub(crate) fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(array(b, off))
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(array(b, off))
}

pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(array(b, off))
}

/// Copies `src` to `off`, if it fits.
pub(crate) fn put(b: &mut [u8], off: usize, src: &[u8]) {
    if let Some(dst) = off
        .checked_add(src.len())
        .and_then(|end| b.get_mut(off..end))
    {
        dst.copy_from_slice(src);
    }
}

pub(crate) fn put_u8(b: &mut [u8], off: usize, v: u8) {
    put(b, off, &[v]);
}

pub(crate) fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put(b, off, &v.to_le_bytes());
}

pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put(b, off, &v.to_le_bytes());
}

pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    put(b, off, &v.to_le_bytes());
}
