// SPDX-License-Identifier: GPL-2.0

//! `nd_fletcher64()`: the checksum libnvdimm puts in its on-media blocks (namespace index
//! blocks, info blocks), over little-endian 32-bit words.

/// The checksum of `bytes` (a whole number of words).
pub fn fletcher64(bytes: &[u8]) -> u64 {
    fletcher64_zeroed(bytes, usize::MAX)
}

/// The checksum of `bytes` with the 8-byte field at `field` taken as zeroes: how a block
/// that holds its own checksum is checked.
pub fn fletcher64_zeroed(bytes: &[u8], field: usize) -> u64 {
    let mut lo: u32 = 0;
    let mut hi: u32 = 0;
    for (i, w) in bytes.chunks_exact(4).enumerate() {
        let at = i * 4;
        if !(field..field.saturating_add(8)).contains(&at) {
            lo = lo.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        }
        hi = hi.wrapping_add(lo);
    }
    (u64::from(hi) << 32) | u64::from(lo)
}
