// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: the pool of completions held until they are due. Several commands
//! of one queue in flight, each posted at its own time and never early; due-time order; a
//! full completion queue; a full pool; queue deletion and controller reset with completions
//! held; a timing model (`simple`) plugged in through `ModelTiming`.

#[path = "nvme_util.rs"]
mod util;

use nvmock_model::nvme::timing::{Model, ModelTiming, Simple, SimpleParams};
use nvmock_model::nvme::*;
use proptest::prelude::*;
use std::collections::HashMap;
use util::*;

const NS2: u32 = 2; // 4096-byte blocks

/// Completes each command `delays[cid]` after it is fetched (0 if not listed); counts calls.
#[derive(Default)]
struct ByCid {
    delays: HashMap<u16, u64>,
    due: HashMap<u16, u64>,
}

impl ByCid {
    fn with(delays: &[(u16, u64)]) -> ByCid {
        ByCid {
            delays: delays.iter().copied().collect(),
            ..ByCid::default()
        }
    }
}

impl Timing for ByCid {
    fn complete_at(&mut self, now: u64, sqid: u16, sqe: &Sqe, _status: Status) -> u64 {
        if sqid == 0 {
            return now;
        }
        let due = now.saturating_add(self.delays.get(&sqe.cid()).copied().unwrap_or(0));
        self.due.insert(sqe.cid(), due);
        due
    }
}

fn go<T: Timing>(h: &mut Host, t: &mut T, now: u64) -> Progress {
    h.ctrl
        .process_timed(&mut h.mem, &mut h.disk, &mut h.irq, t, now, 10_000)
}

fn cids(c: &[Cqe]) -> Vec<u16> {
    c.iter().map(|c| c.cid).collect()
}

fn read4k(h: &mut Host, cid: u16, slba: u64) -> Sqe {
    let buf = h.buffer(4096, 0, 0);
    rw(io_opcode::READ, cid, NS2, slba, 0, &buf)
}

#[test]
fn commands_of_one_queue_complete_at_their_own_times() {
    let mut h = Host::ready_io();
    let mut t = ByCid::with(&[(1, 300), (2, 100), (3, 200), (4, 0)]);
    for cid in 1..=4 {
        let c = read4k(&mut h, cid, u64::from(cid));
        h.push(1, &c);
    }
    h.ring(1);
    let p = go(&mut h, &mut t, 1000);
    // All four fetched in one call; the one due at once is posted, the others wait.
    assert_eq!((p.fetched, p.completed, p.next_due), (4, 1, Some(1100)));
    assert_eq!(cids(&h.reap(1)), [4]);
    assert_eq!(h.ctrl.held_completions(), 3);
    for (now, expect, next) in [
        (1099, vec![], Some(1100)),
        (1100, vec![2], Some(1200)),
        (1250, vec![3], Some(1300)),
        (5000, vec![1], None),
    ] {
        let p = go(&mut h, &mut t, now);
        assert_eq!(p.next_due, next, "at {now}");
        assert_eq!(cids(&h.reap(1)), expect, "at {now}");
    }
    assert_eq!(h.ctrl.held_completions(), 0);
    assert!(!h.ctrl.has_work(u64::MAX));
}

#[test]
fn equal_due_times_post_in_fetch_order_across_queues() {
    let mut h = Host::ready_io();
    h.setup_io(2, 16, 2);
    let mut t = ByCid::with(&[(1, 50), (2, 50), (3, 10), (4, 50)]);
    let (a, b, c, d) = (
        read4k(&mut h, 1, 1),
        read4k(&mut h, 2, 2),
        read4k(&mut h, 3, 3),
        read4k(&mut h, 4, 4),
    );
    h.push(1, &a);
    h.push(1, &b);
    h.push(2, &c);
    h.push(2, &d);
    h.ring(1);
    h.ring(2);
    go(&mut h, &mut t, 0);
    assert_eq!(h.ctrl.held_completions(), 4);
    // Fetch order is 1 (SQ1), 3 (SQ2), 2 (SQ1), 4 (SQ2).
    let p = go(&mut h, &mut t, 50);
    assert_eq!(p.completed, 4);
    assert_eq!(cids(&h.reap(1)), [1, 2]);
    assert_eq!(cids(&h.reap(2)), [3, 4]);
}

#[test]
fn a_full_completion_queue_holds_only_its_own_due_completions() {
    let mut h = Host::ready();
    // CQ 1 of 4 entries: room for 3.
    h.setup_io(1, 4, 1);
    h.setup_io(2, 16, 2);
    let mut t = ByCid::default();
    for cid in 1..=3 {
        t.delays.insert(cid, 10 * u64::from(cid));
        let c = read4k(&mut h, cid, 0);
        h.submit(1, &c);
        go(&mut h, &mut t, 0);
    }
    // Three in flight on SQ 1; a fourth waits for the completions the CQ can take.
    assert_eq!(h.ctrl.held_completions(), 3);
    go(&mut h, &mut t, 30);
    assert_eq!(h.ctrl.cq_info(1).unwrap().tail, 3);
    // CQ 1 is full (the host has not consumed it): SQ 1 is not fetched from.
    t.delays.insert(4, 5);
    let c = read4k(&mut h, 4, 0);
    h.submit(1, &c);
    t.delays.insert(5, 5);
    let c = read4k(&mut h, 5, 0);
    h.submit(2, &c);
    let p = go(&mut h, &mut t, 40);
    assert_eq!(p.fetched, 1, "only SQ 2's command");
    assert_eq!(p.next_due, Some(45));
    let p = go(&mut h, &mut t, 45);
    assert_eq!((p.completed, p.more), (1, false));
    assert_eq!(cids(&h.reap(2)), [5]);
    assert_eq!(cids(&h.reap(1)), [1, 2, 3]);
    let p = go(&mut h, &mut t, 46);
    assert_eq!((p.fetched, p.next_due), (1, Some(51)));
    go(&mut h, &mut t, 51);
    assert_eq!(cids(&h.reap(1)), [4]);
}

#[test]
fn a_due_completion_waits_for_room_in_its_completion_queue() {
    let mut h = Host::ready();
    h.setup_io(1, 2, 1); // room for one entry
    let mut t = ByCid::with(&[(1, 10), (2, 10)]);
    let c = read4k(&mut h, 1, 0);
    h.submit(1, &c);
    go(&mut h, &mut t, 0);
    let c = read4k(&mut h, 2, 0);
    h.submit(1, &c);
    go(&mut h, &mut t, 0);
    assert_eq!(h.ctrl.held_completions(), 2);
    let p = go(&mut h, &mut t, 10);
    // One posted; the other is due but the queue is full: no work, no future due time.
    assert_eq!((p.completed, p.more, p.next_due), (1, false, None));
    assert!(!h.ctrl.has_work(10));
    assert_eq!(cids(&h.reap(1)), [1]);
    assert!(h.ctrl.has_work(10));
    go(&mut h, &mut t, 10);
    assert_eq!(cids(&h.reap(1)), [2]);
}

#[test]
fn deleting_a_queue_posts_its_held_completions_where_there_is_room() {
    let mut h = Host::ready();
    h.setup_io(1, 4, 1); // room for 3
    h.setup_io(2, 16, 2);
    let mut t = ByCid::default();
    // Five withheld commands on SQ 1 (submitted two at a time, reaping nothing), one on SQ 2.
    for cid in 1..=5 {
        t.delays.insert(cid, 1000 - u64::from(cid));
        let c = read4k(&mut h, cid, 0);
        h.submit(1, &c);
        go(&mut h, &mut t, 0);
    }
    t.delays.insert(6, 1000);
    let c = read4k(&mut h, 6, 0);
    h.submit(2, &c);
    go(&mut h, &mut t, 0);
    assert_eq!(h.ctrl.held_completions(), 6);
    let mut del = Sqe::new(admin_opcode::DELETE_IO_SQ, 9);
    del.cdw10 = 1;
    h.submit(0, &del);
    go(&mut h, &mut t, 1);
    assert_status(&h.reap(0)[0], Status::SUCCESS);
    // Earliest first, as many as CQ 1 can take; the rest are dropped.
    assert_eq!(cids(&h.reap(1)), [5, 4, 3]);
    assert_eq!(h.ctrl.held_completions(), 1);
    go(&mut h, &mut t, 1000);
    assert!(h.reap(1).is_empty());
    assert_eq!(cids(&h.reap(2)), [6]);
}

#[test]
fn a_reset_drops_held_completions() {
    let mut h = Host::ready_io();
    let mut t = ByCid::default();
    for cid in 1..=3 {
        t.delays.insert(cid, 100);
        let c = read4k(&mut h, cid, 0);
        h.submit(1, &c);
    }
    let p = go(&mut h, &mut t, 0);
    assert_eq!((p.fetched, p.next_due), (3, Some(100)));
    h.reset();
    assert_eq!(h.ctrl.held_completions(), 0);
    h.setup_io(1, 64, 1);
    let p = go(&mut h, &mut t, 1000);
    assert_eq!((p.completed, p.next_due), (0, None));
    assert!(h.reap(1).is_empty());
    // The new queue works, with its own times.
    t.delays.insert(7, 5);
    let c = read4k(&mut h, 7, 0);
    h.submit(1, &c);
    go(&mut h, &mut t, 1000);
    go(&mut h, &mut t, 1005);
    assert_eq!(cids(&h.reap(1)), [7]);
}

/// Withholds every I/O completion.
struct Withhold;

impl Timing for Withhold {
    fn complete_at(&mut self, now: u64, sqid: u16, _sqe: &Sqe, _status: Status) -> u64 {
        if sqid == 0 {
            now
        } else {
            u64::MAX
        }
    }
}

#[test]
fn a_full_pool_stops_fetching_but_leaves_room_for_the_admin_queue() {
    let mut h = Host::ready();
    h.setup_io(1, 64, 1);
    let io_share = Q * PENDING_PER_QUEUE - PENDING_PER_QUEUE;
    let mut cid = 0u16;
    while usize::from(cid) < io_share + 10 {
        let batch = (io_share + 10 - usize::from(cid)).min(32);
        for _ in 0..batch {
            cid += 1;
            let c = read4k(&mut h, cid, 0);
            h.push(1, &c);
        }
        h.ring(1);
        let p = go(&mut h, &mut Withhold, 0);
        assert_eq!(p.next_due, None, "withheld completions are never due");
    }
    assert_eq!(h.ctrl.held_completions(), io_share);
    let i = h.ctrl.sq_info(1).unwrap();
    assert_eq!((i.tail + 64 - i.head) % 64, 10, "ten commands not fetched");
    assert!(!h.ctrl.has_work(u64::MAX));
    assert!(h.reap(1).is_empty());
    // The admin queue still works: Get Features (Number of Queues).
    let mut gf = Sqe::new(admin_opcode::GET_FEATURES, 77);
    gf.cdw10 = u32::from(feature::NUMBER_OF_QUEUES);
    h.submit(0, &gf);
    go(&mut h, &mut Withhold, 0);
    assert_status(&h.reap(0)[0], Status::SUCCESS);
    // Deleting the queue posts what its CQ can take (63) and drops the rest.
    let mut del = Sqe::new(admin_opcode::DELETE_IO_SQ, 78);
    del.cdw10 = 1;
    h.submit(0, &del);
    go(&mut h, &mut Withhold, 0);
    assert_status(&h.reap(0)[0], Status::SUCCESS);
    assert_eq!(h.reap(1).len(), 63);
    assert_eq!(h.ctrl.held_completions(), 0);
}

#[test]
fn simple_model_overlaps_commands_of_one_queue_up_to_its_slots() {
    // Four slots of 100 us, bandwidth matched: a 4 KiB read takes one latency; eight reads
    // submitted at once finish in two rounds.
    let latency = 100_000;
    let p = SimpleParams {
        read_latency: latency,
        write_latency: latency,
        read_bw: SimpleParams::matched_bw(latency, 4),
        write_bw: SimpleParams::matched_bw(latency, 4),
        slots: 4,
    };
    let mut model = Simple::<8>::new(p).unwrap();
    let mut h = Host::ready_io();
    for cid in 1..=8 {
        let c = read4k(&mut h, cid, u64::from(cid));
        h.push(1, &c);
    }
    h.ring(1);
    let t0 = 5_000_000;
    let lba = |nsid| h.ctrl.lba_size(nsid);
    let mut t = ModelTiming::new(&mut model, lba);
    let p = h
        .ctrl
        .process_timed(&mut h.mem, &mut h.disk, &mut h.irq, &mut t, t0, 100);
    assert_eq!((p.fetched, p.completed), (8, 0));
    let unit = SimpleParams::matched_bw(latency, 4);
    let round = nvmock_model::nvme::timing::transfer_ns(4 * 4096, unit).max(latency);
    assert_eq!(p.next_due, Some(t0 + round));
    let lba = |nsid| h.ctrl.lba_size(nsid);
    let mut t = ModelTiming::new(&mut model, lba);
    let p = h.ctrl.process_timed(
        &mut h.mem,
        &mut h.disk,
        &mut h.irq,
        &mut t,
        t0 + round - 1,
        100,
    );
    assert_eq!(p.completed, 0, "never early");
    let p = h
        .ctrl
        .process_timed(&mut h.mem, &mut h.disk, &mut h.irq, &mut t, t0 + round, 100);
    assert_eq!((p.completed, p.next_due), (4, Some(t0 + 2 * round)));
    assert_eq!(cids(&h.reap(1)), [1, 2, 3, 4]);
    let p = h.ctrl.process_timed(
        &mut h.mem,
        &mut h.disk,
        &mut h.irq,
        &mut t,
        t0 + 2 * round,
        100,
    );
    assert_eq!((p.completed, p.next_due), (4, None));
    assert_eq!(cids(&h.reap(1)), [5, 6, 7, 8]);
    assert_eq!(model.counters().reads, 8);
}

#[test]
fn model_timing_maps_commands_to_byte_ranges() {
    use nvmock_model::nvme::timing::{Command, NoDelay, Op};
    let mut m = NoDelay::new();
    let t = ModelTiming::new(&mut m, |n| {
        [None, Some(512), Some(4096)]
            .get(n as usize)
            .copied()
            .flatten()
    });
    let mut s = Sqe::new(io_opcode::WRITE, 1);
    s.nsid = 2;
    s.cdw10 = 3;
    s.cdw12 = 1; // two blocks
    let c = t.command(77, 1, &s, Status::SUCCESS);
    assert_eq!(
        c,
        Command {
            op: Op::Write,
            nsid: 2,
            offset: 3 * 4096,
            len: 2 * 4096,
            submit: 77
        }
    );
    s.nsid = 1;
    s.cdw0 = u32::from(io_opcode::READ);
    s.cdw11 = 1; // SLBA 2^32 + 3
    let c = t.command(5, 3, &s, Status::SUCCESS);
    assert_eq!(
        (c.op, c.offset, c.len),
        (Op::Read, ((1u64 << 32) + 3) * 512, 1024)
    );
    // Admin queue, failures, unknown namespaces and other opcodes move no data.
    assert_eq!(t.command(5, 0, &s, Status::SUCCESS).op, Op::Other);
    assert_eq!(t.command(5, 1, &s, Status::INVALID_FIELD).op, Op::Other);
    s.nsid = 9;
    assert_eq!(t.command(5, 1, &s, Status::SUCCESS).op, Op::Other);
    s.cdw0 = u32::from(io_opcode::FLUSH);
    assert_eq!(t.command(5, 1, &s, Status::SUCCESS).op, Op::Flush);
    s.cdw0 = u32::from(io_opcode::WRITE_ZEROES);
    s.nsid = 1;
    assert_eq!(t.command(5, 1, &s, Status::SUCCESS).op, Op::Other);
    // Zone Management Send: Reset and Finish of one zone (the zone of SLBA) or, with Select
    // All, of every zone; Open and Close move nothing.
    s.cdw0 = u32::from(io_opcode::ZONE_MANAGEMENT_SEND);
    for (zsa, op) in [(0x04, Op::ZoneReset), (0x02, Op::ZoneFinish)] {
        s.cdw13 = zsa;
        let c = t.command(5, 1, &s, Status::SUCCESS);
        assert_eq!((c.op, c.offset, c.len), (op, ((1u64 << 32) + 3) * 512, 0));
        s.cdw13 = 0x100 | zsa;
        let c = t.command(5, 1, &s, Status::SUCCESS);
        assert_eq!((c.op, c.offset, c.len), (op, 0, u64::MAX));
    }
    for zsa in [0x01, 0x03, 0x103] {
        s.cdw13 = zsa;
        assert_eq!(t.command(5, 1, &s, Status::SUCCESS).op, Op::Other);
    }
}

/// Pseudo-random delays (0 to 2000) keyed by the command ID; records each due time.
struct Hashed {
    seed: u64,
    due: HashMap<u16, u64>,
}

impl Timing for Hashed {
    fn complete_at(&mut self, now: u64, sqid: u16, sqe: &Sqe, _status: Status) -> u64 {
        if sqid == 0 {
            return now;
        }
        let d = now + nvmock_model::nvme::timing::mix(self.seed, u64::from(sqe.cid())) % 2001;
        self.due.insert(sqe.cid(), d);
        d
    }
}

/// What the random host has seen.
#[derive(Default)]
struct Seen {
    outstanding: [u32; 3],
    last_due: [u64; 3],
    posted: std::collections::HashSet<u16>,
}

impl Seen {
    /// Reaps both I/O queues after a call at `now`.
    fn reap(&mut self, h: &mut Host, t: &Hashed, now: u64) -> Result<(), TestCaseError> {
        for q in 1..=2usize {
            for c in h.reap(q as u16) {
                let d = t.due[&c.cid];
                prop_assert!(d <= now, "cid {} due {} posted by {}", c.cid, d, now);
                prop_assert!(d >= self.last_due[q], "due order in CQ {}", q);
                self.last_due[q] = d;
                prop_assert!(self.posted.insert(c.cid), "cid {} posted twice", c.cid);
                self.outstanding[q] -= 1;
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random submissions on two queues, random clock steps: every completion is posted at
    /// or after its due time, once, earliest first within a completion queue, and all of
    /// them once time has passed their due times.
    #[test]
    fn completions_are_never_early_and_in_due_order(
        seed in any::<u64>(),
        steps in proptest::collection::vec((0u64..700, 0usize..6, any::<bool>()), 1..80),
    ) {
        let mut h = Host::ready();
        h.setup_io(1, 64, 1);
        h.setup_io(2, 64, 2);
        let mut t = Hashed { seed, due: HashMap::new() };
        let mut seen = Seen::default();
        let mut now = 0u64;
        let mut cid = 0u16;
        for (dt, n, second) in steps {
            let q = if second { 2usize } else { 1 };
            for _ in 0..n {
                if seen.outstanding[q] + 1 >= 64 {
                    break;
                }
                cid += 1;
                let mut s = Sqe::new(io_opcode::FLUSH, cid);
                s.nsid = 1;
                h.push(q as u16, &s);
                seen.outstanding[q] += 1;
            }
            h.ring(q as u16);
            let p = go(&mut h, &mut t, now);
            prop_assert!(p.next_due.is_none_or(|d| d > now));
            seen.reap(&mut h, &t, now)?;
            now += dt;
        }
        for _ in 0..3 {
            now += 2001;
            go(&mut h, &mut t, now);
            seen.reap(&mut h, &t, now)?;
        }
        prop_assert_eq!(seen.outstanding, [0, 0, 0]);
        prop_assert_eq!(h.ctrl.held_completions(), 0);
    }
}

#[test]
fn a_queue_pair_costs_the_documented_size() {
    // Controller's documentation: 88 bytes of queue state and PENDING_PER_QUEUE held
    // completions of 32 bytes per queue pair.
    let base = std::mem::size_of::<Controller<2>>();
    let more = std::mem::size_of::<Controller<3>>();
    assert!(
        more - base <= 88 + PENDING_PER_QUEUE * 32,
        "{} bytes per pair",
        more - base
    );
}
