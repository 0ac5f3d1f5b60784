// SPDX-License-Identifier: GPL-2.0

//! Address range scrub: capabilities, start/status with virtual time, overflow and
//! continuation, clear error, error injection.

use nvmock_model::nfit::ars::*;
use nvmock_model::nfit::dsm::{CmdRc, DsmError, Event};

const MS: u64 = 1_000_000;

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

fn start_buf(addr: u64, len: u64, ty: u16) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&addr.to_le_bytes());
    b[8..16].copy_from_slice(&len.to_le_bytes());
    b[16..18].copy_from_slice(&ty.to_le_bytes());
    b
}

fn addr_len(addr: u64, len: u64, total: usize) -> Vec<u8> {
    let mut b = vec![0u8; total];
    b[0..8].copy_from_slice(&addr.to_le_bytes());
    b[8..16].copy_from_slice(&len.to_le_bytes());
    b
}

fn records(buf: &[u8]) -> Vec<(u64, u64)> {
    let n = u32_at(buf, 44) as usize;
    (0..n)
        .map(|k| (u64_at(buf, 56 + 24 * k), u64_at(buf, 64 + 24 * k)))
        .collect()
}

fn entries<const N: usize>(a: &Ars<N>) -> Vec<(u64, u64)> {
    a.errors()
        .entries()
        .iter()
        .map(|e| (e.start, e.length))
        .collect()
}

#[test]
fn cap_layout() {
    let a: Ars<8> = Ars::new(DEFAULT_SCRUB_NS);
    let mut b = addr_len(0x1000, 0x2000, 32);
    b[28..32].copy_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd]);
    let done = a.cap(&mut b).unwrap();
    assert_eq!(done.written, 32);
    assert_eq!(u64_at(&b, 0), 0x1000);
    assert_eq!(u32_at(&b, 16), 3 << 16);
    assert_eq!(u32_at(&b, 20), 48 + 170 * 24);
    assert_eq!(u32_at(&b, 24), 256);
    // flags and reserved untouched, as nfit_test leaves them
    assert_eq!(&b[28..32], &[0xaa, 0xbb, 0xcc, 0xdd]);
    assert_eq!(a.cap(&mut [0u8; 31]), Err(DsmError::Invalid));
}

#[test]
fn busy_until_clock_advances() {
    let mut a: Ars<8> = Ars::new(5 * MS);
    a.errors_mut().add(0x1100, 0x100).unwrap();
    let mut st = vec![0u8; 4128];
    // Before any start: nothing written.
    st.fill(0x5a);
    assert_eq!(a.status(&mut st).unwrap().written, 0);
    assert!(st.iter().all(|&b| b == 0x5a));

    let mut s = start_buf(0x1000, 0x1000, TYPE_PERSISTENT);
    let done = a.start(&mut s).unwrap();
    assert_eq!(done.cmd_rc, CmdRc::Ok);
    assert_eq!((u32_at(&s, 24), u32_at(&s, 28)), (0, 1));

    let done = a.status(&mut st).unwrap();
    assert_eq!(done.cmd_rc, CmdRc::Busy);
    assert_eq!(u32_at(&st, 0), STATUS_BUSY);
    assert_eq!(u32_at(&st, 4), 48);
    assert!(st[8..].iter().all(|&b| b == 0));

    let mut s2 = start_buf(0, 0x10000, TYPE_PERSISTENT);
    let done = a.start(&mut s2).unwrap();
    assert_eq!((done.cmd_rc, u32_at(&s2, 24)), (CmdRc::Busy, START_BUSY));

    a.advance(5 * MS - 1);
    assert_eq!(a.status(&mut st).unwrap().cmd_rc, CmdRc::Busy);
    a.advance(1);
    assert_eq!(a.scrub(), Scrub::Complete);
    let done = a.status(&mut st).unwrap();
    assert_eq!(done.cmd_rc, CmdRc::Ok);
    assert_eq!(done.written, 72);
    assert_eq!(u32_at(&st, 0), 0);
    assert_eq!(u32_at(&st, 4), 72);
    assert_eq!((u64_at(&st, 8), u64_at(&st, 16)), (0x1000, 0x1000));
    assert_eq!((u64_at(&st, 24), u64_at(&st, 32)), (0, 0));
    assert_eq!(&st[40..42], &TYPE_PERSISTENT.to_le_bytes());
    assert_eq!(&st[42..44], &[0, 0]);
    assert_eq!(records(&st), vec![(0x1100, 0x100)]);
    assert_eq!(u32_at(&st, 48), 0); // handle
                                    // Status can be read again; a new start is accepted now.
    assert_eq!(a.status(&mut st).unwrap().written, 72);
    assert_eq!(a.start(&mut s2).unwrap().cmd_rc, CmdRc::Ok);
    assert!(matches!(a.scrub(), Scrub::Running { .. }));
    // Short status buffers are invalid once a scrub exists.
    assert_eq!(a.status(&mut [0u8; 47]), Err(DsmError::Invalid));
    assert_eq!(a.start(&mut [0u8; 31]), Err(DsmError::Invalid));
}

#[test]
fn records_are_clipped_to_the_range_and_snapshotted() {
    let mut a: Ars<8> = Ars::new(0);
    a.errors_mut().add(0x0f00, 0x200).unwrap(); // straddles the start
    a.errors_mut().add(0x1800, 0x100).unwrap(); // inside
    a.errors_mut().add(0x1f80, 0x100).unwrap(); // straddles the end
    a.errors_mut().add(0x3000, 0x100).unwrap(); // outside
    a.start(&mut start_buf(0x1000, 0x1000, TYPE_VOLATILE))
        .unwrap();
    assert_eq!(a.scrub(), Scrub::Complete); // zero duration
    a.errors_mut().forget(0, u32::MAX); // after the start: no effect on the result
    let mut st = vec![0u8; 4128];
    a.status(&mut st).unwrap();
    assert_eq!(
        records(&st),
        vec![(0x1000, 0x100), (0x1800, 0x100), (0x1f80, 0x80)]
    );
    assert_eq!(&st[40..42], &TYPE_PERSISTENT.to_le_bytes());
}

#[test]
fn overflow_and_continuation() {
    let mut a: Ars<16> = Ars::new(MS);
    for k in 0..10u64 {
        a.errors_mut().add(0x10000 + k * 0x1000, 0x200).unwrap();
    }
    a.start(&mut start_buf(0x10000, 0x10000, TYPE_PERSISTENT))
        .unwrap();
    a.advance(MS);
    // Room for 4 records.
    let mut st = vec![0u8; 48 + 4 * 24 + 10];
    let done = a.status(&mut st).unwrap();
    assert_eq!(done.cmd_rc, CmdRc::NoSpace);
    assert_eq!(done.written, 48 + 4 * 24);
    assert_eq!(u32_at(&st, 0), STATUS_INTR);
    assert_eq!(u32_at(&st, 4), 48 + 4 * 24);
    assert_eq!(&st[42..44], &FLAG_OVERFLOW.to_le_bytes());
    assert_eq!(records(&st).len(), 4);
    let restart = (u64_at(&st, 24), u64_at(&st, 32));
    assert_eq!(restart, (0x14000, 0x20000 - 0x14000));
    // Linux's ars_continue(): start again at the restart range.
    a.start(&mut start_buf(restart.0, restart.1, TYPE_PERSISTENT))
        .unwrap();
    a.advance(MS);
    let done = a.status(&mut st).unwrap();
    assert_eq!(done.cmd_rc, CmdRc::NoSpace);
    assert_eq!(records(&st)[0], (0x14000, 0x200));
    let restart = (u64_at(&st, 24), u64_at(&st, 32));
    a.start(&mut start_buf(restart.0, restart.1, TYPE_PERSISTENT))
        .unwrap();
    a.advance(MS);
    let mut big = vec![0u8; 4128];
    let done = a.status(&mut big).unwrap();
    assert_eq!(done.cmd_rc, CmdRc::Ok);
    assert_eq!(records(&big), vec![(0x18000, 0x200), (0x19000, 0x200)]);
    assert_eq!(&big[42..44], &[0, 0]);
    // A buffer with no room for records at all.
    let mut hdr = vec![0u8; 48];
    let done = a.status(&mut hdr).unwrap();
    assert_eq!((done.cmd_rc, u32_at(&hdr, 44)), (CmdRc::NoSpace, 0));
    assert_eq!(u64_at(&hdr, 24), 0x18000);
}

#[test]
fn at_most_max_ars_records() {
    let mut a: Ars<200> = Ars::new(0);
    for k in 0..200u64 {
        a.errors_mut().add(k * 0x1000, 0x100).unwrap();
    }
    a.start(&mut start_buf(0, 1 << 30, TYPE_PERSISTENT))
        .unwrap();
    let mut st = vec![0u8; 48 + 200 * 24];
    let done = a.status(&mut st).unwrap();
    assert_eq!(done.cmd_rc, CmdRc::NoSpace);
    assert_eq!(records(&st).len(), MAX_ARS_RECORDS);
    assert_eq!(u64_at(&st, 24), 170 * 0x1000);
}

#[test]
fn a_lower_record_limit_shows_in_cap_and_overflows_sooner() {
    let mut a: Ars<8> = Ars::new(0);
    assert!(a.set_max_records(0).is_err());
    assert!(a.set_max_records(MAX_ARS_RECORDS + 1).is_err());
    assert_eq!(a.max_records(), MAX_ARS_RECORDS);
    a.set_max_records(2).unwrap();
    let mut cap = vec![0u8; 32];
    a.cap(&mut cap).unwrap();
    assert_eq!(u32_at(&cap, 20), 48 + 2 * 24);
    for k in 0..5u64 {
        a.errors_mut().add(0x10000 + k * 0x1000, 0x200).unwrap();
    }
    // The driver's loop: status, and on overflow a new scrub at the restart range.
    let (mut addr, mut len, mut seen, mut rounds) = (0x10000u64, 0x10000u64, Vec::new(), 0);
    loop {
        a.start(&mut start_buf(addr, len, TYPE_PERSISTENT)).unwrap();
        assert_eq!(a.last_scrub(), (addr, len));
        // The caller's buffer holds more, the limit still applies.
        let mut st = vec![0u8; 48 + 8 * 24];
        let done = a.status(&mut st).unwrap();
        let r = records(&st);
        assert!(r.len() <= 2);
        seen.extend(r);
        rounds += 1;
        if done.cmd_rc != CmdRc::NoSpace {
            break;
        }
        (addr, len) = (u64_at(&st, 24), u64_at(&st, 32));
        assert_eq!(addr + len, 0x20000, "restart runs to the end of the range");
    }
    assert_eq!(rounds, 3);
    assert_eq!(seen.len(), 5);
    assert_eq!(a.found(), 1);
    a.set_max_records(MAX_ARS_RECORDS).unwrap();
    a.cap(&mut cap).unwrap();
    assert_eq!(u32_at(&cap, 20), MAX_ARS_OUT);
}

#[test]
fn clear_error_shrinks_and_splits() {
    let mut a: Ars<4> = Ars::new(0);
    a.errors_mut().add(0x1000, 0x1000).unwrap();
    // Middle: split.
    let mut b = addr_len(0x1400, 0x200, 32);
    b[16..].fill(0xee);
    let done = a.clear_error(&mut b).unwrap();
    assert_eq!(done.written, 32);
    assert_eq!(u32_at(&b, 16), 0);
    assert_eq!(u64_at(&b, 24), 0x200);
    assert_eq!(entries(&a), vec![(0x1000, 0x400), (0x1600, 0xa00)]);
    // Head of an entry.
    a.clear_error(&mut addr_len(0x1600, 0x100, 32)).unwrap();
    assert_eq!(entries(&a), vec![(0x1000, 0x400), (0x1700, 0x900)]);
    // Tail of an entry.
    a.clear_error(&mut addr_len(0x1f00, 0x100, 32)).unwrap();
    assert_eq!(entries(&a), vec![(0x1000, 0x400), (0x1700, 0x800)]);
    // Covering: removed.
    a.clear_error(&mut addr_len(0x1000, 0x400, 32)).unwrap();
    assert_eq!(entries(&a), vec![(0x1700, 0x800)]);
    // Misaligned or short requests are invalid.
    for (addr, len, total) in [(0x1701, 0x100, 32), (0x1700, 0x80, 32), (0x1700, 0x100, 31)] {
        let mut b = addr_len(addr, len, total);
        assert_eq!(a.clear_error(&mut b), Err(DsmError::Invalid));
    }
    assert_eq!(entries(&a), vec![(0x1700, 0x800)]);
}

#[test]
fn split_in_a_full_list_loses_the_right_part() {
    let mut a: Ars<2> = Ars::new(0);
    a.errors_mut().add(0x1000, 0x1000).unwrap();
    a.errors_mut().add(0x8000, 0x100).unwrap();
    a.clear_error(&mut addr_len(0x1400, 0x200, 32)).unwrap();
    assert_eq!(entries(&a), vec![(0x1000, 0x400), (0x8000, 0x100)]);
}

#[test]
fn inject_set_clear_status() {
    let mut a: Ars<2> = Ars::new(0);
    let mut b = addr_len(0x5000, 0x40, 21);
    b[16] = 1;
    let done = a.inject_set(&mut b).unwrap();
    assert_eq!(done.event, Event::UncorrectableError);
    assert_eq!(u32_at(&b, 17), 0);
    // Same start: length updated, no new entry.
    let done = a.inject_set(&mut addr_len(0x5000, 0x80, 21)).unwrap();
    assert_eq!(done.event, Event::None);
    assert_eq!(entries(&a), vec![(0x5000, 0x80)]);
    a.inject_set(&mut addr_len(0x9000, 0x10, 21)).unwrap();
    // Full.
    let mut b = addr_len(0xa000, 0x10, 21);
    assert_eq!(a.inject_set(&mut b), Err(DsmError::NoMemory));
    assert_eq!(u32_at(&b, 17), INJECT_INVALID);
    // Zero length, wrong size.
    let mut b = addr_len(0xa000, 0, 21);
    assert_eq!(a.inject_set(&mut b), Err(DsmError::Invalid));
    assert_eq!(u32_at(&b, 17), INJECT_INVALID);
    assert_eq!(
        a.inject_set(&mut addr_len(0xa000, 1, 22)),
        Err(DsmError::Invalid)
    );

    let mut st = vec![0xffu8; 8 + 16 * 3];
    let done = a.inject_status(&mut st).unwrap();
    assert_eq!(done.written, 40);
    assert_eq!((u32_at(&st, 0), u32_at(&st, 4)), (0, 2));
    assert_eq!((u64_at(&st, 8), u64_at(&st, 16)), (0x5000, 0x80));
    assert_eq!((u64_at(&st, 24), u64_at(&st, 32)), (0x9000, 0x10));
    assert_eq!(&st[40..], &[0xff; 16]);

    let mut b = addr_len(0x5000, 0x80, 20);
    a.inject_clear(&mut b).unwrap();
    assert_eq!(u32_at(&b, 16), 0);
    assert_eq!(entries(&a), vec![(0x9000, 0x10)]);
    let mut b = addr_len(0x9000, 0, 20);
    assert_eq!(a.inject_clear(&mut b), Err(DsmError::Invalid));
    assert_eq!(u32_at(&b, 16), INJECT_INVALID);
    assert_eq!(
        a.inject_clear(&mut addr_len(0x9000, 1, 19)),
        Err(DsmError::Invalid)
    );
}

#[test]
fn forget_quirk_clear_ending_on_first_byte() {
    // Linux's badrange_forget() leaves an entry alone when the clear ends exactly on its
    // first byte.
    let mut l: ErrorList<4> = ErrorList::new();
    l.add(0x100, 0x100).unwrap();
    l.forget(0x0, 0x101);
    assert_eq!(
        l.entries(),
        &[ErrorRange {
            start: 0x100,
            length: 0x100
        }]
    );
    l.forget(0x0, 0x102);
    assert_eq!(
        l.entries(),
        &[ErrorRange {
            start: 0x102,
            length: 0xfe
        }]
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn bytes(es: &[(u64, u64)]) -> BTreeSet<u64> {
        es.iter().flat_map(|&(s, l)| s..s + l).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Clearing 256-aligned ranges from 256-aligned errors (a list with room for splits)
        /// removes exactly the cleared bytes.
        #[test]
        fn clear_removes_exactly_the_range(
            errs in prop::collection::vec((0u64..32, 1u64..8), 0..6),
            clears in prop::collection::vec((0u64..40, 0u64..10), 1..6),
        ) {
            let mut a: Ars<64> = Ars::new(0);
            for &(s, l) in &errs {
                a.errors_mut().add(s * 256, l * 256).unwrap();
            }
            let mut want = bytes(&entries(&a));
            for &(s, l) in &clears {
                let done = a.clear_error(&mut addr_len(s * 256, l * 256, 32)).unwrap();
                prop_assert_eq!(done.written, 32);
                if l > 0 {
                    want.retain(|&b| b < s * 256 || b >= (s + l) * 256);
                } else if s == 0 {
                    // Linux's wrap-around: a zero-length clear at 0 ends at u64::MAX.
                    want.clear();
                }
                prop_assert_eq!(&bytes(&entries(&a)), &want);
            }
        }

        /// Random ARS operations on a small list never panic and keep the invariants.
        #[test]
        fn random_ars_ops(ops in prop::collection::vec((0u8..7, any::<u64>(), any::<u64>(), 0usize..200), 1..80)) {
            let mut a: Ars<3> = Ars::new(10);
            for (kind, x, y, len) in ops {
                let (x, y) = (x % 0x10000, if y & 1 == 0 { y % 0x2000 } else { y });
                match kind {
                    0 => { let _ = a.inject_set(&mut { let mut b = addr_len(x, y, 21); b[16] = len as u8; b }); }
                    1 => { let _ = a.inject_clear(&mut addr_len(x, y, 20)); }
                    2 => { let _ = a.clear_error(&mut addr_len(x & !0xff, y & !0xff, 32)); }
                    3 => { let _ = a.start(&mut start_buf(x, y, 2)); }
                    4 => {
                        let mut b = vec![0u8; len];
                        if let Ok(done) = a.status(&mut b) {
                            prop_assert!(done.written <= len);
                            if done.written >= 48 && done.cmd_rc != CmdRc::Busy {
                                prop_assert_eq!(done.written, 48 + 24 * u32_at(&b, 44) as usize);
                            }
                        }
                    }
                    5 => a.advance(y % 20),
                    _ => { let _ = a.inject_status(&mut vec![0u8; len]); }
                }
                prop_assert!(a.errors().entries().len() <= 3);
                if let Scrub::Running { until } = a.scrub() {
                    prop_assert!(until > a.now());
                }
            }
        }
    }
}

#[test]
fn zero_length_clear_wraps_like_linux() {
    let mut a: Ars<4> = Ars::new(0);
    a.errors_mut().add(0x1000, 0x100).unwrap();
    a.errors_mut().add(0x2000, 0x100).unwrap();
    // Zero length elsewhere changes no byte and reports nothing cleared.
    let mut b = addr_len(0x1000, 0, 32);
    a.clear_error(&mut b).unwrap();
    assert_eq!(u64_at(&b, 24), 0);
    assert_eq!(entries(&a), vec![(0x1000, 0x100), (0x2000, 0x100)]);
    // At address 0 it forgets everything.
    a.clear_error(&mut addr_len(0, 0, 32)).unwrap();
    assert_eq!(entries(&a), vec![]);
}

#[test]
fn overlapping_errors_are_found_at_their_edges() {
    let mut l: ErrorList<4> = ErrorList::new();
    assert!(!l.overlapping(0, u64::MAX));
    l.add(0x1000, 0x200).unwrap();
    assert!(l.overlapping(0x1000, 1));
    assert!(l.overlapping(0x11ff, 1));
    assert!(l.overlapping(0x0e00, 0x201));
    assert!(!l.overlapping(0x0e00, 0x200));
    assert!(!l.overlapping(0x1200, 0x200));
    // A range running past the top of the address space still overlaps.
    assert!(l.overlapping(0x100, u64::MAX));
    assert!(!l.overlapping(0x1200, u64::MAX));
}
