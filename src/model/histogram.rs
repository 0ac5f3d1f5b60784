// SPDX-License-Identifier: GPL-2.0

//! A log-linear latency histogram in integer nanoseconds, in memory the caller provides.
//!
//! Values below `2 * SUB` (256 ns) have a bucket each; above, every power of two is split
//! into `SUB` (128) equal buckets, so that a bucket is never wider than 1/128 of the values
//! it holds (0.8%). [`BUCKETS`] buckets cover every `u64`. The count, the sum and the
//! extremes are kept exactly; percentiles are read from the buckets (a bucket's midpoint,
//! clamped to the exact minimum and maximum).
//!
//! The kernel's load generator (`glue/loadgen.rs`) keeps one per worker and merges them.

use core::ops::DerefMut;

/// log2 of the sub-buckets per power of two.
pub const SUB_BITS: u32 = 7;
/// Sub-buckets per power of two.
pub const SUB: u64 = 1 << SUB_BITS;
/// Buckets that cover every `u64`: `2 * SUB` exact ones, then `SUB` for each of the powers
/// of two from `2 * SUB` to `2^63`.
pub const BUCKETS: usize = ((64 - SUB_BITS + 1) as usize) << SUB_BITS;

/// The bucket of value `v`.
pub fn index(v: u64) -> usize {
    if v < 2 * SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS + 1
    let shift = exp - SUB_BITS;
    let octave = (exp - SUB_BITS + 1) as usize;
    (octave << SUB_BITS) + ((v >> shift) - SUB) as usize
}

/// The smallest value of bucket `idx` (`idx < BUCKETS`).
pub fn low(idx: usize) -> u64 {
    if idx < 2 * SUB as usize {
        return idx as u64;
    }
    let octave = (idx >> SUB_BITS) as u32;
    let shift = octave - 1;
    ((idx as u64 & (SUB - 1)) + SUB) << shift
}

/// The largest value of bucket `idx` (`idx < BUCKETS`).
pub fn high(idx: usize) -> u64 {
    if idx < 2 * SUB as usize {
        return idx as u64;
    }
    let shift = (idx >> SUB_BITS) as u32 - 1;
    low(idx) + ((1u64 << shift) - 1)
}

/// `n / d` without the 128-bit division helper the kernel does not link (`d > 0`).
pub fn div128(n: u128, d: u64) -> u128 {
    if n >> 64 == 0 {
        return u128::from(n as u64 / d);
    }
    let d = u128::from(d);
    let (mut q, mut r) = (0u128, 0u128);
    for i in (0..128).rev() {
        r = (r << 1) | ((n >> i) & 1);
        if r >= d {
            r -= d;
            q |= 1 << i;
        }
    }
    q
}

/// `a * b / d`, saturated to `u64` (`d > 0`).
pub fn mul_div(a: u64, b: u64, d: u64) -> u64 {
    u64::try_from(div128(u128::from(a) * u128::from(b), d)).unwrap_or(u64::MAX)
}

/// A histogram over the bucket array `B` (a slice through `DerefMut`, at least [`BUCKETS`]
/// entries, zeroed by [`Histogram::new`]).
#[derive(Debug)]
pub struct Histogram<B> {
    buckets: B,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

/// Why a bucket array cannot hold a histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSmall;

impl<B: DerefMut<Target = [u64]>> Histogram<B> {
    /// An empty histogram in `buckets`, which it zeroes; refused if shorter than [`BUCKETS`].
    pub fn new(mut buckets: B) -> Result<Self, TooSmall> {
        if buckets.len() < BUCKETS {
            return Err(TooSmall);
        }
        buckets.fill(0);
        Ok(Histogram {
            buckets,
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        })
    }

    /// Adds one value.
    pub fn record(&mut self, v: u64) {
        self.buckets[index(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Adds every value of `other`.
    pub fn merge<C: DerefMut<Target = [u64]>>(&mut self, other: &Histogram<C>) {
        for (a, b) in self.buckets[..BUCKETS]
            .iter_mut()
            .zip(&other.buckets[..BUCKETS])
        {
            *a += *b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their sum.
    pub fn sum(&self) -> u128 {
        self.sum
    }

    /// The smallest value (0 if empty).
    pub fn min(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.min
        }
    }

    /// The largest value (0 if empty).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The mean, rounded down (0 if empty).
    pub fn mean(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            div128(self.sum, self.count) as u64
        }
    }

    /// The value at `ppm` parts per million (500_000: the median; at most 1_000_000): the
    /// value of rank `ceil(count * ppm / 10^6)` (at least 1), as its bucket's midpoint
    /// clamped to the exact extremes. 0 if empty.
    pub fn percentile(&self, ppm: u32) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let ppm = u64::from(ppm.min(1_000_000));
        // ceil(count * ppm / 10^6), in 64 bits.
        let (q, r) = (self.count / 1_000_000, self.count % 1_000_000);
        let rank = (q * ppm + (r * ppm).div_ceil(1_000_000)).max(1);
        let mut seen = 0u64;
        for (i, &n) in self.buckets[..BUCKETS].iter().enumerate() {
            seen += n;
            if seen >= rank {
                let mid = low(i) + (high(i) - low(i)) / 2;
                return mid.clamp(self.min, self.max);
            }
        }
        self.max
    }
}
