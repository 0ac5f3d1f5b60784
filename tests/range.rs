// SPDX-License-Identifier: GPL-2.0

//! Host tests of the fake-physical range registry.

use nvmock_model::range::*;
use proptest::prelude::*;

const BASE: u64 = 0x40_0000_0000;
const SPAN: u64 = 1 << 30;

fn reg() -> Registry<8> {
    Registry::new(BASE, SPAN)
}

#[test]
fn map_hits_inside_and_misses_outside() {
    let mut r = reg();
    let h = r.insert(BASE + 0x1000, 0x4000, 0x10_0000).unwrap();
    assert_eq!(
        r.map(BASE + 0x2000, 0x100),
        Lookup::Hit {
            handle: h,
            host: 0x10_1000
        }
    );
    assert_eq!(r.map(BASE - 1, 1), Lookup::Miss);
    assert_eq!(r.map(BASE + SPAN, 1), Lookup::Miss);
    assert_eq!(r.map(BASE, 0x10), Lookup::Refused(RangeError::Unbacked));
    assert_eq!(
        r.map(BASE + 0x4000, 0x2000),
        Lookup::Refused(RangeError::Straddle)
    );
    assert_eq!(r.map(BASE + 0x1000, 0), Lookup::Refused(RangeError::Empty));
    assert_eq!(r.info(h).unwrap().maps, 1);
    assert_eq!(r.unmap(0x10_1000), Release::Dropped(h));
    assert_eq!(r.unmap(0x10_1000), Release::NotHeld);
    assert_eq!(r.unmap(0x20_0000), Release::Miss);
}

#[test]
fn overlapping_registration_is_refused() {
    let mut r = reg();
    r.insert(BASE + 0x1000, 0x1000, 0x1000).unwrap();
    assert_eq!(
        r.insert(BASE + 0x1fff, 0x10, 0x9000),
        Err(RangeError::Overlap)
    );
    assert_eq!(r.insert(BASE, 0x1001, 0x9000), Err(RangeError::Overlap));
    // Host buffers may not alias either: unmap finds ranges by host address.
    assert_eq!(
        r.insert(BASE + 0x8000, 0x10, 0x1800),
        Err(RangeError::Overlap)
    );
    // Adjacent is fine.
    r.insert(BASE + 0x2000, 0x1000, 0x2000).unwrap();
    r.insert(BASE, 0x1000, 0x3000).unwrap();
}

#[test]
fn bad_ranges_are_refused() {
    let mut r = reg();
    assert_eq!(r.insert(BASE, 0, 0x1000), Err(RangeError::Empty));
    assert_eq!(r.insert(u64::MAX, 2, 0x1000), Err(RangeError::Overflow));
    assert_eq!(r.insert(BASE, 0x10, usize::MAX), Err(RangeError::Overflow));
    assert_eq!(
        r.insert(BASE - 0x10, 0x20, 0x1000),
        Err(RangeError::OutsideSpan)
    );
    assert_eq!(
        r.insert(BASE + SPAN - 0x10, 0x20, 0x1000),
        Err(RangeError::OutsideSpan)
    );
    assert_eq!(r.alloc(0x10, 3, 0x1000), Err(RangeError::BadAlign));
    assert_eq!(r.alloc(SPAN + 1, 1, 0x1000), Err(RangeError::NoSpace));
}

#[test]
fn full_registry_is_reported() {
    let mut r: Registry<2> = Registry::new(BASE, SPAN);
    r.insert(BASE, 1, 0x1000).unwrap();
    r.insert(BASE + 1, 1, 0x2000).unwrap();
    assert_eq!(r.insert(BASE + 2, 1, 0x3000), Err(RangeError::Full));
}

#[test]
fn remove_while_mapped_defers_until_last_unmap() {
    let mut r = reg();
    let h = r.insert(BASE, 0x1000, 0x1000).unwrap();
    assert!(matches!(r.map(BASE, 0x1000), Lookup::Hit { .. }));
    assert!(matches!(r.request(BASE, 0x100), Lookup::Hit { .. }));
    assert_eq!(r.remove(h), Ok(Removal::Deferred));
    assert_eq!(r.remove(h), Err(RangeError::Gone));
    assert_eq!(r.map(BASE, 0x10), Lookup::Refused(RangeError::Gone));
    assert_eq!(r.request(BASE, 0x10), Lookup::Refused(RangeError::Gone));
    assert_eq!(r.unmap(0x1000), Release::Dropped(h));
    assert_eq!(r.release(BASE), Release::Freed(h));
    assert_eq!(r.count(), 0);
    // The stale handle no longer names anything, even once the slot is reused.
    let h2 = r.insert(BASE, 0x1000, 0x1000).unwrap();
    assert_eq!(h2.index(), h.index());
    assert_eq!(r.info(h), Err(RangeError::BadHandle));
    assert_eq!(r.remove(h), Err(RangeError::BadHandle));
    assert_eq!(r.remove(h2), Ok(Removal::Freed));
}

#[test]
fn alloc_first_fit_respects_alignment() {
    let mut r = reg();
    let (_, a) = r.alloc(0x1000, 0x1000, 0x10000).unwrap();
    assert_eq!(a, BASE);
    let (_, b) = r.alloc(0x10, 0x10_0000, 0x20000).unwrap();
    assert_eq!(b, BASE + 0x10_0000);
    let (hc, c) = r.alloc(0x1000, 0x1000, 0x30000).unwrap();
    assert_eq!(c, BASE + 0x1000);
    r.remove(hc).unwrap();
    let (_, d) = r.alloc(0x800, 0x800, 0x40000).unwrap();
    assert_eq!(d, BASE + 0x1000);
}

/// A plain reference model: a list of ranges and counters.
#[derive(Clone, Debug)]
struct Ref {
    start: u64,
    len: u64,
    host: usize,
    maps: u32,
    requests: u32,
    dying: bool,
    handle: Handle,
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u64, u64, usize),
    Alloc(u64, u32, usize),
    Remove(usize),
    Map(u64, u64),
    Unmap(usize),
    Request(u64, u64),
    Release(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let off = 0u64..0x2_0000;
    prop_oneof![
        (off.clone(), 1u64..0x8000, 0usize..64).prop_map(|(s, l, h)| Op::Insert(
            BASE + s,
            l,
            0x100_0000 + h * 0x1_0000
        )),
        (1u64..0x8000, 0u32..16, 0usize..64).prop_map(|(l, a, h)| Op::Alloc(
            l,
            a,
            0x100_0000 + h * 0x1_0000
        )),
        (0usize..8).prop_map(Op::Remove),
        (off.clone(), 0u64..0x4000).prop_map(|(s, l)| Op::Map(BASE - 0x100 + s, l)),
        (0usize..8).prop_map(Op::Unmap),
        (off.clone(), 0u64..0x4000).prop_map(|(s, l)| Op::Request(BASE + s, l)),
        off.prop_map(|s| Op::Release(BASE + s)),
    ]
}

proptest! {
    /// Random operation sequences agree with the reference model, and the registry's
    /// invariants (no physical or host overlap; dying ranges have users) always hold.
    #[test]
    fn agrees_with_reference(ops in proptest::collection::vec(op(), 1..200)) {
        let mut r: Registry<8> = Registry::new(BASE, 0x2_0000);
        let mut model: Vec<Ref> = Vec::new();
        let mut mapped: Vec<usize> = Vec::new();
        for op in ops {
            match op {
                Op::Insert(s, l, h) => {
                    let res = r.insert(s, l, h);
                    let fits = s + l <= BASE + 0x2_0000;
                    let overlap = model.iter().any(|m| s < m.start + m.len && m.start < s + l
                        || h < m.host + m.len as usize && m.host < h + l as usize);
                    match res {
                        Ok(handle) => {
                            prop_assert!(fits && !overlap && model.len() < 8);
                            model.push(Ref { start: s, len: l, host: h, maps: 0, requests: 0, dying: false, handle });
                        }
                        Err(RangeError::OutsideSpan) => prop_assert!(!fits),
                        Err(RangeError::Overlap) => prop_assert!(overlap),
                        Err(RangeError::Full) => prop_assert!(model.len() == 8),
                        Err(e) => prop_assert!(false, "unexpected {:?}", e),
                    }
                }
                Op::Alloc(l, a, h) => {
                    if let Ok((handle, s)) = r.alloc(l, 1 << a, h) {
                        prop_assert_eq!(s % (1 << a), 0);
                        prop_assert!(!model.iter().any(|m| s < m.start + m.len && m.start < s + l));
                        model.push(Ref { start: s, len: l, host: h, maps: 0, requests: 0, dying: false, handle });
                    }
                }
                Op::Remove(i) => {
                    if let Some(m) = model.get_mut(i) {
                        let res = r.remove(m.handle);
                        if m.dying {
                            prop_assert_eq!(res, Err(RangeError::Gone));
                        } else if m.maps + m.requests == 0 {
                            prop_assert_eq!(res, Ok(Removal::Freed));
                            model.remove(i);
                        } else {
                            prop_assert_eq!(res, Ok(Removal::Deferred));
                            m.dying = true;
                        }
                    }
                }
                Op::Map(p, l) | Op::Request(p, l) => {
                    let is_map = matches!(op, Op::Map(..));
                    let res = if is_map { r.map(p, l) } else { r.request(p, l) };
                    let in_span = (BASE..BASE + 0x2_0000).contains(&p);
                    let hit = model.iter_mut().find(|m| m.start <= p && p < m.start + m.len);
                    match (in_span, hit, res) {
                        (false, _, Lookup::Miss) => {}
                        (true, None, Lookup::Refused(RangeError::Unbacked)) => prop_assert!(l > 0),
                        (true, _, Lookup::Refused(RangeError::Empty)) => prop_assert_eq!(l, 0),
                        (true, Some(m), Lookup::Refused(RangeError::Straddle)) => prop_assert!(p + l > m.start + m.len),
                        (true, Some(m), Lookup::Refused(RangeError::Gone)) => prop_assert!(m.dying),
                        (true, Some(m), Lookup::Hit { handle, host }) => {
                            prop_assert!(!m.dying && p + l <= m.start + m.len);
                            prop_assert_eq!(handle, m.handle);
                            prop_assert_eq!(host, m.host + (p - m.start) as usize);
                            if is_map { m.maps += 1; mapped.push(host); } else { m.requests += 1; }
                        }
                        (a, b, c) => prop_assert!(false, "{} {:?} {:?}", a, b, c),
                    }
                }
                Op::Unmap(i) => {
                    if i < mapped.len() {
                        let host = mapped.remove(i);
                        let mi = model.iter().position(|m| m.host <= host && host < m.host + m.len as usize).unwrap();
                        let res = r.unmap(host);
                        model[mi].maps -= 1;
                        if model[mi].dying && model[mi].maps + model[mi].requests == 0 {
                            prop_assert_eq!(res, Release::Freed(model[mi].handle));
                            model.remove(mi);
                        } else {
                            prop_assert_eq!(res, Release::Dropped(model[mi].handle));
                        }
                    }
                }
                Op::Release(p) => {
                    let res = r.release(p);
                    match model.iter().position(|m| m.start <= p && p < m.start + m.len) {
                        None => prop_assert_eq!(res, Release::NotHeld),
                        Some(mi) if model[mi].requests == 0 => prop_assert_eq!(res, Release::NotHeld),
                        Some(mi) => {
                            model[mi].requests -= 1;
                            if model[mi].dying && model[mi].maps + model[mi].requests == 0 {
                                prop_assert_eq!(res, Release::Freed(model[mi].handle));
                                model.remove(mi);
                            } else {
                                prop_assert_eq!(res, Release::Dropped(model[mi].handle));
                            }
                        }
                    }
                }
            }
            prop_assert_eq!(r.count(), model.len());
            for m in &model {
                let info = r.info(m.handle).unwrap();
                prop_assert_eq!((info.start, info.len, info.maps, info.requests, info.dying),
                    (m.start, m.len, m.maps, m.requests, m.dying));
            }
        }
    }
}
