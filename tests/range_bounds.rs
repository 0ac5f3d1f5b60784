// SPDX-License-Identifier: GPL-2.0

//! Host tests of the range registry's boundaries: adjacency on both the physical and the host
//! side, ranges that end exactly at the end of the span or of the address space, and the
//! accessors (`span`, `Handle::index`, `slot_users`). Found missing by `make mutants`. Core
//! only, so that they also run as KUnit cases.

use nvmock_model::range::*;

const BASE: u64 = 0x40_0000_0000;
const SPAN: u64 = 1 << 30;

#[test]
fn span_is_reported_and_clipped_to_the_address_space() {
    let r: Registry<4> = Registry::new(BASE, SPAN);
    assert_eq!(r.span(), (BASE, SPAN));
    let top: Registry<4> = Registry::new(u64::MAX - 0xfff, 0x10_0000);
    assert_eq!(top.span(), (u64::MAX - 0xfff, 0xfff));
}

#[test]
fn handles_of_different_ranges_name_different_slots() {
    let mut r: Registry<4> = Registry::new(BASE, SPAN);
    let a = r.insert(BASE, 0x1000, 0x10_0000).unwrap();
    let b = r.insert(BASE + 0x1000, 0x1000, 0x20_0000).unwrap();
    let c = r.insert(BASE + 0x2000, 0x1000, 0x30_0000).unwrap();
    assert_ne!(a.index(), b.index());
    assert_ne!(b.index(), c.index());
    assert_ne!(a.index(), c.index());
    for h in [a, b, c] {
        assert!(h.index() < 4);
    }
}

#[test]
fn host_buffer_just_below_another_is_not_an_overlap() {
    let mut r: Registry<4> = Registry::new(BASE, SPAN);
    r.insert(BASE, 0x1000, 0x10_1000).unwrap();
    // Its last host byte is 0x10_0fff, right before the first range's buffer.
    let h = r.insert(BASE + 0x4000, 0x1000, 0x10_0000).unwrap();
    assert_eq!(r.info(h).unwrap().host, 0x10_0000);
    // One byte more reaches into it.
    assert_eq!(
        r.insert(BASE + 0x8000, 0x1001, 0x0f_f000),
        Err(RangeError::Overlap)
    );
}

#[test]
fn host_buffer_may_end_at_the_top_of_the_address_space() {
    let mut r: Registry<4> = Registry::new(BASE, SPAN);
    let host = usize::MAX - 0xf;
    let h = r.insert(BASE, 0x10, host).unwrap();
    assert_eq!(
        r.map(BASE + 0xf, 1),
        Lookup::Hit {
            handle: h,
            host: usize::MAX
        }
    );
    assert_eq!(r.unmap(usize::MAX), Release::Dropped(h));
}

#[test]
fn range_may_end_at_the_end_of_the_span() {
    let mut r: Registry<4> = Registry::new(BASE, 0x2000);
    let h = r.insert(BASE + 0x1000, 0x1000, 0x10_0000).unwrap();
    assert_eq!(r.info(h).unwrap().start, BASE + 0x1000);
    assert_eq!(r.insert(BASE, 0x1001, 0x20_0000), Err(RangeError::Overlap));
}

#[test]
fn alloc_may_fill_the_span_exactly() {
    let mut r: Registry<4> = Registry::new(BASE, 0x2000);
    let (h, at) = r.alloc(0x2000, 0x1000, 0x10_0000).unwrap();
    assert_eq!(at, BASE);
    assert_eq!(r.info(h).unwrap().len, 0x2000);
    assert_eq!(r.alloc(1, 1, 0x20_0000), Err(RangeError::NoSpace));

    // The last hole, ending at the end of the span, is found too.
    let mut r: Registry<4> = Registry::new(BASE, 0x3000);
    r.insert(BASE, 0x1000, 0x10_0000).unwrap();
    let (_, at) = r.alloc(0x2000, 0x1000, 0x20_0000).unwrap();
    assert_eq!(at, BASE + 0x1000);
}

#[test]
fn alloc_uses_a_hole_that_ends_where_the_next_range_starts() {
    let mut r: Registry<4> = Registry::new(BASE, SPAN);
    r.insert(BASE + 0x1000, 0x1000, 0x10_0000).unwrap();
    let (_, at) = r.alloc(0x1000, 0x1000, 0x20_0000).unwrap();
    assert_eq!(at, BASE);
    let (_, at) = r.alloc(0x1000, 0x1000, 0x30_0000).unwrap();
    assert_eq!(at, BASE + 0x2000);
}

#[test]
fn slot_users_counts_mappings_and_requests() {
    let mut r: Registry<4> = Registry::new(BASE, SPAN);
    let h = r.insert(BASE, 0x1000, 0x10_0000).unwrap();
    let i = h.index();
    assert_eq!(r.slot_users(i), 0);
    assert!(matches!(r.map(BASE, 0x10), Lookup::Hit { .. }));
    assert!(matches!(r.map(BASE + 0x100, 0x10), Lookup::Hit { .. }));
    assert!(matches!(r.request(BASE, 0x1000), Lookup::Hit { .. }));
    assert_eq!(r.slot_users(i), 3);
    assert_eq!(r.remove(h), Ok(Removal::Deferred));
    assert_eq!(r.slot_users(i), 3);
    assert_eq!(r.unmap(0x10_0000), Release::Dropped(h));
    assert_eq!(r.slot_users(i), 2);
    assert_eq!(r.release(BASE), Release::Dropped(h));
    assert_eq!(r.unmap(0x10_0100), Release::Freed(h));
    assert_eq!(r.slot_users(i), 0);
    // Out of range.
    assert_eq!(r.slot_users(4), 0);
    assert_eq!(r.slot_users(usize::MAX), 0);
}
