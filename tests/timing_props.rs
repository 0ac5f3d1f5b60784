// SPDX-License-Identifier: GPL-2.0

//! Timing models, property tests: completions are never early, are deterministic, are
//! monotone in load (adding a command never makes another finish earlier), conserve
//! bandwidth, `simple` places units exactly like a unit-by-unit reference, and garbage
//! collection starts once the free space runs out.

use nvmock_model::nvme::timing::*;
use proptest::prelude::*;

const K4: u64 = 4096;

/// A command before its submission time is fixed: kind, first unit, extra bytes at the
/// start, length in bytes, and the gap in ns since the previous command.
#[derive(Clone, Copy, Debug)]
struct Req {
    op: Op,
    unit: u64,
    skew: u64,
    len: u64,
    gap: u64,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Read),
        4 => Just(Op::Write),
        1 => Just(Op::Flush),
        1 => Just(Op::Other),
    ]
}

/// Commands over 70 units (a little past the 64 of [`SMALL`]), up to 40 KiB long.
fn req_with(op: impl Strategy<Value = Op>) -> impl Strategy<Value = Req> {
    (op, 0u64..70, 0u64..K4, 0u64..10 * K4, 0u64..30_000).prop_map(|(op, unit, skew, len, gap)| {
        Req {
            op,
            unit,
            skew: if skew.is_multiple_of(4) { skew } else { 0 },
            len: match op {
                Op::Read | Op::Write => len.max(1),
                _ => 0,
            },
            gap,
        }
    })
}

fn req() -> impl Strategy<Value = Req> {
    req_with(op())
}

/// Commands with submission times: each `gap` after the previous one, from `start`.
fn commands(reqs: &[Req], start: u64) -> Vec<Command> {
    let mut t = start;
    reqs.iter()
        .map(|r| {
            t += r.gap;
            Command {
                op: r.op,
                nsid: 1,
                offset: r.unit * K4 + r.skew,
                len: r.len,
                submit: t,
            }
        })
        .collect()
}

fn run(m: &mut impl Model, cmds: &[Command]) -> Vec<u64> {
    cmds.iter().map(|c| m.complete(c)).collect()
}

/// The small device of tests/timing_nand.rs, with read jitter.
const SMALL: NandParams = NandParams {
    channels: 2,
    luns: 1,
    planes: 1,
    page_size: 8192,
    pages_per_block: 4,
    blocks_per_lun: 8,
    capacity: 64 * K4,
    op_percent: 25,
    tr_4k: 1_000,
    tr_page: 1_500,
    read_jitter: 300,
    tprog: 10_000,
    tbers: 50_000,
    channel_bw: 4_096_000_000,
    pcie_bw: 8_192_000_000,
    fw_read_4k: 100,
    fw_read: 200,
    fw_wbuf0: 300,
    fw_wbuf1: 10,
    wb_size: 2 * 8192,
    seed: 1,
};

fn nand(p: NandParams) -> Nand<Vec<u32>, 4> {
    Nand::new(p, vec![0u32; p.table_len().unwrap()]).unwrap()
}

fn simple_params() -> impl Strategy<Value = SimpleParams> {
    (
        0u64..50_000,
        0u64..50_000,
        1u64..5_000,
        1u64..5_000,
        1u32..=8,
    )
        .prop_map(|(rl, wl, rb, wb, slots)| SimpleParams {
            read_latency: rl,
            write_latency: wl,
            read_bw: rb * 1_000_000,
            write_bw: wb * 1_000_000,
            slots,
        })
}

/// Unit-by-unit reference of the `simple` model: each 4 KiB unit takes the slot free first.
fn reference(p: &SimpleParams, cmds: &[Command]) -> Vec<u64> {
    let mut slots = vec![0u64; p.slots as usize];
    let mut last_write = 0;
    let unit = |bw: u64| transfer_ns(u64::from(p.slots) * K4, bw);
    cmds.iter()
        .map(|c| {
            let (t, lat) = match c.op {
                Op::Read => (unit(p.read_bw), p.read_latency),
                Op::Write => (unit(p.write_bw), p.write_latency),
                Op::Flush => return c.submit.max(last_write),
                Op::Other | Op::ZoneReset | Op::ZoneFinish => return c.submit,
            };
            let mut end = c.submit;
            for _ in 0..units(c.offset, c.len) {
                let s = slots.iter_mut().min().unwrap();
                *s = (*s).max(c.submit) + t;
                end = end.max(*s);
            }
            let done = end.max(c.submit + lat);
            if c.op == Op::Write {
                last_write = last_write.max(done);
            }
            done
        })
        .collect()
}

/// Writes every unit of [`SMALL`] in the order given, then flushes; returns when all of it is
/// on flash.
fn prefill(m: &mut impl Model, order: &[u64]) -> u64 {
    let mut t = 0;
    for &l in order {
        m.complete(&Command {
            op: Op::Write,
            nsid: 1,
            offset: l * K4,
            len: K4,
            submit: t,
        });
        t += 1_000;
    }
    m.complete(&Command {
        op: Op::Flush,
        nsid: 1,
        offset: 0,
        len: 0,
        submit: t,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn never_early(reqs in prop::collection::vec(req(), 1..120), p in simple_params(),
                   seed in any::<u64>()) {
        let cmds = commands(&reqs, 0);
        let mut s: Simple<8> = Simple::new(p).unwrap();
        let mut n = nand(NandParams { seed, ..SMALL });
        let mut z = NoDelay::new();
        for c in &cmds {
            let floor = |m: &dyn Model| c.submit + m.min_latency(c.op);
            let (ts, tn, tz) = (s.complete(c), n.complete(c), z.complete(c));
            prop_assert!(ts >= floor(&s), "simple {c:?}: {ts}");
            prop_assert!(tn >= floor(&n), "nand {c:?}: {tn}");
            prop_assert_eq!(tz, c.submit);
            if c.op == Op::Other {
                prop_assert_eq!((ts, tn), (c.submit, c.submit));
            }
        }
        // Every write counted, and the medium got at least what the host wrote, once on
        // flash.
        let c = n.counters();
        prop_assert_eq!(c.writes, cmds.iter().filter(|c| c.op == Op::Write).count() as u64);
        prop_assert_eq!(c.reads, cmds.iter().filter(|c| c.op == Op::Read).count() as u64);
    }

    #[test]
    fn simple_matches_unit_by_unit_reference(reqs in prop::collection::vec(req(), 1..100),
                                             p in simple_params()) {
        let cmds = commands(&reqs, 0);
        let mut s: Simple<8> = Simple::new(p).unwrap();
        prop_assert_eq!(run(&mut s, &cmds), reference(&p, &cmds));
    }

    #[test]
    fn deterministic(reqs in prop::collection::vec(req(), 1..150), seed in any::<u64>()) {
        let cmds = commands(&reqs, 0);
        let p = NandParams { seed, ..SMALL };
        let (mut a, mut b) = (nand(p), nand(p));
        prop_assert_eq!(run(&mut a, &cmds), run(&mut b, &cmds));
        prop_assert_eq!(a.counters(), b.counters());
    }

    #[test]
    fn simple_is_monotone_in_load(reqs in prop::collection::vec(req(), 1..60),
                                  extra in req(), at in any::<prop::sample::Index>(),
                                  p in simple_params()) {
        let base = commands(&reqs, 0);
        // The extra command goes between two others, at a time between theirs.
        let i = at.index(base.len() + 1);
        let prev = if i == 0 { 0 } else { base[i - 1].submit };
        let mut more = base.clone();
        more.insert(i, Command { submit: prev, ..commands(&[extra], 0)[0] });
        let mut a: Simple<8> = Simple::new(p).unwrap();
        let mut b: Simple<8> = Simple::new(p).unwrap();
        let without = run(&mut a, &base);
        let mut with = run(&mut b, &more);
        with.remove(i);
        for (k, (w, wo)) in with.iter().zip(&without).enumerate() {
            prop_assert!(w >= wo, "command {k}: {w} < {wo}");
        }
    }

    #[test]
    fn nand_reads_are_monotone_in_load(order in Just((0..64u64).collect::<Vec<_>>()).prop_shuffle(),
                                       reqs in prop::collection::vec(req_with(Just(Op::Read)), 1..60),
                                       extra in req_with(Just(Op::Read)),
                                       at in any::<prop::sample::Index>(), seed in any::<u64>()) {
        let p = NandParams { seed, ..SMALL };
        let (mut a, mut b) = (nand(p), nand(p));
        let start = prefill(&mut a, &order);
        prop_assert_eq!(prefill(&mut b, &order), start);
        let base = commands(&reqs, start);
        let i = at.index(base.len() + 1);
        let prev = if i == 0 { start } else { base[i - 1].submit };
        let mut more = base.clone();
        more.insert(i, Command { submit: prev, ..commands(&[extra], 0)[0] });
        let without = run(&mut a, &base);
        let mut with = run(&mut b, &more);
        with.remove(i);
        for (k, (w, wo)) in with.iter().zip(&without).enumerate() {
            prop_assert!(w >= wo, "read {k}: {w} < {wo}");
        }
    }

    #[test]
    fn simple_conserves_bandwidth(n in 1u64..40, k in 1u64..8, p in simple_params(),
                                  write in any::<bool>()) {
        let op = if write { Op::Write } else { Op::Read };
        let bw = if write { p.write_bw } else { p.read_bw };
        let mut s: Simple<8> = Simple::new(p).unwrap();
        let last = (0..n)
            .map(|i| s.complete(&Command { op, nsid: 1, offset: i * k * K4, len: k * K4, submit: 0 }))
            .max()
            .unwrap();
        // n transfers of k units back to back take at least n * k * 4096 / bw.
        prop_assert!(last >= transfer_ns(n * k * K4, bw), "{last}");
    }

    #[test]
    fn nand_conserves_bandwidth(reqs in prop::collection::vec(req_with(prop_oneof![Just(Op::Read), Just(Op::Write)]), 1..100)) {
        // Everything submitted at once.
        let cmds: Vec<Command> = commands(&reqs, 0).into_iter().map(|c| Command { submit: 0, ..c }).collect();
        let mut m = nand(SMALL);
        let done = run(&mut m, &cmds);
        for op in [Op::Read, Op::Write] {
            let bytes: u64 = cmds.iter().filter(|c| c.op == op).map(|c| units(c.offset, c.len) * K4).sum();
            let last = cmds.iter().zip(&done).filter(|(c, _)| c.op == op).map(|(_, &d)| d).max().unwrap_or(0);
            // Each direction of the link moves at most pcie_bw.
            prop_assert!(last >= transfer_ns(bytes, SMALL.pcie_bw), "{op:?}: {last}");
        }
        // Programs: a die programs one unit at a time, so the flush that waits for them all
        // comes after the busiest die's share of tprog.
        let flushed = m.complete(&Command { op: Op::Flush, nsid: 1, offset: 0, len: 0, submit: 0 });
        let programs = m.counters().nand_pages_written / 2;
        prop_assert!(flushed >= programs.div_ceil(2) * SMALL.tprog, "{flushed} for {programs}");
    }

    #[test]
    fn garbage_collection_starts_when_free_space_runs_out(
        lpns in prop::collection::vec(0u64..64, 400..600), seed in any::<u64>()) {
        // After the first 64 units, 112 units fit before any die collects (see
        // tests/timing_nand.rs); writes rewritten in the buffer take no place, so count the
        // units that do.
        let mut m = nand(NandParams { seed, ..SMALL });
        let mut t = 0;
        let mut placed = 0u64;
        let mut prev = u64::MAX;
        for &l in (0..64).collect::<Vec<_>>().iter().chain(&lpns) {
            m.complete(&Command { op: Op::Write, nsid: 1, offset: l * K4, len: K4, submit: t });
            t += 50_000;
            // A unit goes to a new place unless it rewrites the half-filled program unit.
            if l != prev || placed.is_multiple_of(2) {
                placed += 1;
                prev = l;
            }
            let c = m.counters();
            if placed <= 112 {
                // No collection yet: the medium has at most what the host wrote (some of it
                // is still in the write buffer).
                prop_assert_eq!(c.gc_runs, 0);
                prop_assert!(c.nand_pages_written <= c.host_pages_written);
            }
            if placed > 128 {
                // More places than the 128 physical units: blocks were erased, by GC only.
                prop_assert!(c.gc_runs > 0);
            }
        }
        prop_assume!(placed >= 300);
        let c = m.counters();
        prop_assert!(c.gc_runs > 0, "{c:?}");
        prop_assert!(c.waf_x1000() > 1000, "{c:?}");
        prop_assert!(m.free_blocks() >= 1);
    }

    #[test]
    fn transfer_time_is_exact(bytes in any::<u64>(), bw in 1u64..=u64::MAX) {
        let exact = (u128::from(bytes) * 1_000_000_000).div_ceil(u128::from(bw));
        prop_assert_eq!(u128::from(transfer_ns(bytes, bw)), exact.min(u128::from(u64::MAX)));
    }
}
