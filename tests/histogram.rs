// SPDX-License-Identifier: GPL-2.0

//! Host tests of the load generator's latency histogram (`model::histogram`).

use nvmock_model::histogram::{div128, high, index, low, mul_div, Histogram, BUCKETS, SUB};
use proptest::prelude::*;

fn hist() -> Histogram<Vec<u64>> {
    Histogram::new(vec![7; BUCKETS]).unwrap()
}

#[test]
fn small_values_are_exact() {
    for v in 0..2 * SUB {
        assert_eq!(index(v), v as usize);
        assert_eq!((low(v as usize), high(v as usize)), (v, v));
    }
}

#[test]
fn buckets_tile_the_u64_range() {
    // Each bucket starts one past the previous one's end; the last ends at u64::MAX.
    for i in 1..BUCKETS {
        assert_eq!(low(i), high(i - 1) + 1, "bucket {i}");
    }
    assert_eq!(low(0), 0);
    assert_eq!(high(BUCKETS - 1), u64::MAX);
    assert_eq!(index(u64::MAX), BUCKETS - 1);
    // Hand-computed: 256..=257 is bucket 256 (width 2), 1000 is in 1000..=1003.
    assert_eq!((index(256), index(257), index(258)), (256, 256, 257));
    assert_eq!((low(index(1000)), high(index(1000))), (1000, 1003));
}

#[test]
fn refuses_a_short_array_and_zeroes_its_own() {
    assert!(Histogram::new(vec![0u64; BUCKETS - 1]).is_err());
    let h = hist();
    assert_eq!(
        (h.count(), h.mean(), h.min(), h.max(), h.percentile(500_000)),
        (0, 0, 0, 0, 0)
    );
}

#[test]
fn exact_statistics_and_percentiles() {
    let mut h = hist();
    for v in 1..=1000u64 {
        h.record(v * 1000); // 1 us .. 1 ms
    }
    assert_eq!(h.count(), 1000);
    assert_eq!(h.mean(), 500_500);
    assert_eq!((h.min(), h.max()), (1000, 1_000_000));
    // Rank 500 is 500 us, rank 990 is 990 us, rank 999 is 999 us: within a bucket (1/128).
    for (ppm, want) in [
        (500_000, 500_000u64),
        (990_000, 990_000),
        (999_000, 999_000),
    ] {
        let got = h.percentile(ppm);
        assert!(got.abs_diff(want) * 128 <= want, "p{ppm}: {got} vs {want}");
    }
    assert_eq!(h.percentile(1_000_000), 1_000_000);
    // Rank 1 is the minimum's bucket, 1000..=1003: its midpoint.
    assert_eq!(h.percentile(0), 1001);
}

#[test]
fn one_value_is_every_percentile() {
    let mut h = hist();
    h.record(123_456);
    for ppm in [1, 500_000, 999_999, 1_000_000] {
        assert_eq!(h.percentile(ppm), 123_456);
    }
}

#[test]
fn merge_is_recording_both() {
    let (mut a, mut b, mut both) = (hist(), hist(), hist());
    for v in [5u64, 300, 70_000, 9_000_000] {
        a.record(v);
        both.record(v);
    }
    for v in [1u64, 40_000, 1 << 40] {
        b.record(v);
        both.record(v);
    }
    a.merge(&b);
    assert_eq!(
        (a.count(), a.sum(), a.min(), a.max()),
        (both.count(), both.sum(), both.min(), both.max())
    );
    for ppm in [1, 250_000, 500_000, 900_000, 1_000_000] {
        assert_eq!(a.percentile(ppm), both.percentile(ppm));
    }
}

proptest! {
    #[test]
    fn a_value_lies_in_its_bucket_which_is_narrow(v in any::<u64>()) {
        let i = index(v);
        prop_assert!(i < BUCKETS);
        prop_assert!(low(i) <= v && v <= high(i));
        // Width at most 1/128 of the bucket's smallest value (beyond the exact ones).
        prop_assert!((high(i) - low(i)) as u128 * 128 <= low(i) as u128);
    }

    #[test]
    fn percentiles_are_monotone_and_close(mut vs in prop::collection::vec(0u64..10_000_000, 1..400)) {
        let mut h = hist();
        for &v in &vs {
            h.record(v);
        }
        vs.sort_unstable();
        let mut last = 0;
        for ppm in (0..=1_000_000).step_by(50_000) {
            let p = h.percentile(ppm);
            prop_assert!(p >= last);
            last = p;
            let rank = ((vs.len() as u64 * ppm as u64).div_ceil(1_000_000)).max(1) as usize;
            let want = vs[rank - 1];
            prop_assert!(p.abs_diff(want) as u128 * 128 <= want as u128 + 128, "ppm {} {} {}", ppm, p, want);
        }
        prop_assert_eq!(h.mean(), (vs.iter().map(|&v| v as u128).sum::<u128>() / vs.len() as u128) as u64);
    }
}

proptest! {
    #[test]
    fn long_division_is_division(n in any::<u128>(), d in 1..=u64::MAX) {
        prop_assert_eq!(div128(n, d), n / u128::from(d));
    }

    #[test]
    fn mul_div_saturates(a in any::<u64>(), b in any::<u64>(), d in 1..=u64::MAX) {
        let want = u128::from(a) * u128::from(b) / u128::from(d);
        prop_assert_eq!(mul_div(a, b, d), u64::try_from(want).unwrap_or(u64::MAX));
    }
}
