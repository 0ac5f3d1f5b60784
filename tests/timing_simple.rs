// SPDX-License-Identifier: GPL-2.0

//! Timing models `none` and `simple`: hand-computed completion times, flushes, counters,
//! huge and saturating inputs, and the bandwidth = slots × 4 KiB / latency relationship.

use nvmock_model::nvme::timing::*;

fn cmd(op: Op, offset: u64, len: u64, submit: u64) -> Command {
    Command {
        op,
        nsid: 1,
        offset,
        len,
        submit,
    }
}

/// Two slots; a 4 KiB read holds a slot 2 * 4096 * 10^9 / 409_600_000 = 20_000 ns, a write
/// 2 * 4096 * 10^9 / 204_800_000 = 40_000 ns.
const P: SimpleParams = SimpleParams {
    read_latency: 10_000,
    write_latency: 20_000,
    read_bw: 409_600_000,
    write_bw: 204_800_000,
    slots: 2,
};

fn simple(p: SimpleParams) -> Simple<8> {
    Simple::new(p).unwrap()
}

#[test]
fn none_completes_at_submission_and_counts() {
    let mut m = NoDelay::new();
    assert_eq!(m.complete(&cmd(Op::Read, 0, 4096, 7)), 7);
    assert_eq!(m.complete(&cmd(Op::Write, 4096, 8192, 9)), 9);
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 11)), 11);
    assert_eq!(m.complete(&cmd(Op::Other, 0, 0, 12)), 12);
    let c = m.counters();
    assert_eq!((c.reads, c.writes, c.flushes), (1, 1, 1));
    assert_eq!((c.host_pages_written, c.nand_pages_written), (2, 2));
    assert_eq!(c.waf_x1000(), 1000);
    assert_eq!(m.min_latency(Op::Read), 0);
}

#[test]
fn unit_times() {
    let m = simple(P);
    // 2 * 4096 * 10^9 / 409_600_000 = 20_000; / 204_800_000 = 40_000.
    assert_eq!(m.unit_ns(), (20_000, 40_000));
}

#[test]
fn lone_read_is_bandwidth_bound() {
    let mut m = simple(P);
    // One unit on slot 0: [1_000, 21_000); max(1_000 + 10_000, 21_000) = 21_000.
    assert_eq!(m.complete(&cmd(Op::Read, 0, 4096, 1_000)), 21_000);
    // Slot 0 is busy until 21_000, slot 1 is free: [2_000, 22_000).
    assert_eq!(m.complete(&cmd(Op::Read, 0, 4096, 2_000)), 22_000);
    // Both busy: slot 0 (free first, at 21_000) takes it: [21_000, 41_000).
    assert_eq!(m.complete(&cmd(Op::Read, 0, 512, 3_000)), 41_000);
    // Idle again by 50_000: [50_000, 70_000).
    assert_eq!(m.complete(&cmd(Op::Read, 0, 4096, 50_000)), 70_000);
}

#[test]
fn latency_floor_when_bandwidth_is_high() {
    let mut p = P;
    p.read_bw = 4_096_000_000; // unit 2 * 4096 * 10^9 / 4.096e9 = 2_000 ns
    let mut m = simple(p);
    // [0, 2_000) on slot 0, but not before 0 + 10_000.
    assert_eq!(m.complete(&cmd(Op::Read, 0, 4096, 0)), 10_000);
    // 3 units at 100: slot 1 [100, 2_100), slot 0 [2_000, 4_000), slot 1 [2_100, 4_100):
    // max(100 + 10_000, 4_100) = 10_100.
    assert_eq!(m.complete(&cmd(Op::Read, 0, 12_288, 100)), 10_100);
    // 20 units at 200: slots free at 4_000 and 4_100; 10 rounds of 2_000 each:
    // slot 0 ends 4_000 + 20_000 = 24_000, slot 1 4_100 + 20_000 = 24_100.
    assert_eq!(m.complete(&cmd(Op::Read, 0, 20 * 4096, 200)), 24_100);
}

#[test]
fn units_touched_by_unaligned_range() {
    let mut m = simple(P);
    // Bytes 2_048..10_240 touch units 0, 1 and 2: slot 0 [0, 20_000), slot 1 [0, 20_000),
    // slot 0 [20_000, 40_000).
    assert_eq!(m.complete(&cmd(Op::Read, 2048, 8192, 0)), 40_000);
}

#[test]
fn matched_bandwidth_holds_a_slot_for_one_latency() {
    // 4 * 4096 * 10^9 / 10_000 = 1_638_400_000 bytes/s.
    let bw = SimpleParams::matched_bw(10_000, 4);
    assert_eq!(bw, 1_638_400_000);
    let p = SimpleParams {
        read_latency: 10_000,
        write_latency: 10_000,
        read_bw: bw,
        write_bw: bw,
        slots: 4,
    };
    let mut m = simple(p);
    // The unit time is exactly the latency: 4 * 4096 * 10^9 / 1_638_400_000 = 10_000.
    assert_eq!(m.unit_ns(), (10_000, 10_000));
    let t: Vec<u64> = (0..5)
        .map(|_| m.complete(&cmd(Op::Read, 0, 4096, 0)))
        .collect();
    // Four slots finish at 10_000; the fifth waits for one: 20_000.
    assert_eq!(t, [10_000, 10_000, 10_000, 10_000, 20_000]);
    assert_eq!(SimpleParams::matched_bw(0, 4), 0);
}

#[test]
fn reads_and_writes_share_slots() {
    let mut m = simple(P);
    // Write: slot 0 [0, 40_000); max(20_000, 40_000).
    assert_eq!(m.complete(&cmd(Op::Write, 0, 4096, 0)), 40_000);
    // Read: slot 1 [0, 20_000); max(10_000, 20_000).
    assert_eq!(m.complete(&cmd(Op::Read, 0, 4096, 0)), 20_000);
    // Read: slot 1 again (free at 20_000): [20_000, 40_000).
    assert_eq!(m.complete(&cmd(Op::Read, 0, 4096, 0)), 40_000);
}

#[test]
fn flush_waits_for_earlier_writes() {
    let mut m = simple(P);
    // No writes yet: at once.
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 500)), 500);
    // 8 KiB write at 1_000: both slots [1_000, 41_000).
    assert_eq!(m.complete(&cmd(Op::Write, 0, 8192, 1_000)), 41_000);
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 2_000)), 41_000);
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 50_000)), 50_000);
    assert_eq!(m.complete(&cmd(Op::Other, 0, 4096, 60_000)), 60_000);
    let c = m.counters();
    assert_eq!((c.reads, c.writes, c.flushes), (0, 1, 3));
    assert_eq!(c.host_pages_written, 2);
    assert_eq!(c.waf_x1000(), 1000);
    assert_eq!(m.min_latency(Op::Write), 20_000);
    assert_eq!(m.min_latency(Op::Flush), 0);
}

#[test]
fn huge_request_is_placed_in_rounds() {
    let mut m = simple(P);
    // 2^50 bytes = 2^38 units over 2 slots: 2^37 rounds of 20_000 ns each.
    let end = (1u64 << 37) * 20_000;
    assert_eq!(m.complete(&cmd(Op::Read, 0, 1 << 50, 0)), end);
    // The whole range of a u64 at the end of time saturates instead of overflowing.
    assert_eq!(
        m.complete(&cmd(Op::Read, u64::MAX - 10, u64::MAX, u64::MAX - 5)),
        u64::MAX
    );
    assert_eq!(m.complete(&cmd(Op::Read, 0, 4096, 10)), u64::MAX);
}

#[test]
fn zero_length_read_takes_the_latency() {
    let mut m = simple(P);
    assert_eq!(m.complete(&cmd(Op::Read, 0, 0, 3)), 10_003);
}

#[test]
fn bad_parameters_are_named() {
    let cases: [(SimpleParams, &str); 7] = [
        (SimpleParams { read_bw: 0, ..P }, "read_bw must be > 0"),
        (SimpleParams { write_bw: 0, ..P }, "write_bw must be > 0"),
        (SimpleParams { slots: 0, ..P }, "slots must be > 0"),
        (
            SimpleParams { slots: 9, ..P },
            "slots must be <= the model's slot capacity (at most 64)",
        ),
        (
            SimpleParams {
                read_latency: MAX_LATENCY + 1,
                ..P
            },
            "read_latency must be <= 100 s (100000000000 ns)",
        ),
        (
            SimpleParams {
                write_latency: u64::MAX,
                ..P
            },
            "write_latency must be <= 100 s (100000000000 ns)",
        ),
        (
            SimpleParams {
                read_bw: MAX_BW + 1,
                ..P
            },
            "read_bw must be <= 1 TB/s (1000000000000)",
        ),
    ];
    for (p, msg) in cases {
        let e = Simple::<8>::new(p).unwrap_err();
        assert_eq!(format!("{e}"), msg);
        assert!(msg.starts_with(e.param));
    }
    // The limit of 64 slots holds whatever the capacity.
    let e = Simple::<128>::new(SimpleParams { slots: 65, ..P }).unwrap_err();
    assert_eq!(e.param, "slots");
    assert!(Simple::<128>::new(SimpleParams { slots: 64, ..P }).is_ok());
}

#[test]
fn transfer_times_round_up_and_saturate() {
    // 4096 * 10^9 / 3_360_000_000 = 1219.04... -> 1220.
    assert_eq!(transfer_ns(4096, 3_360_000_000), 1220);
    assert_eq!(transfer_ns(4096, 4_096_000_000), 1000);
    assert_eq!(transfer_ns(0, 1), 0);
    assert_eq!(transfer_ns(1, 0), u64::MAX);
    // 2^63 * 10^9 / (2 * 10^9) = 2^62, through the wide path.
    assert_eq!(transfer_ns(1 << 63, 2_000_000_000), 1 << 62);
    // (2^64 - 1) * 10^9 / 10^9 = 2^64 - 1, exactly.
    assert_eq!(transfer_ns(u64::MAX, NS_PER_SEC), u64::MAX);
    // (2^64 - 1) * 10^9 / (10^9 + 1) = 18446744055262807559.2... -> ...560.
    assert_eq!(
        transfer_ns(u64::MAX, NS_PER_SEC + 1),
        18_446_744_055_262_807_560
    );
    assert_eq!(transfer_ns(u64::MAX, 1), u64::MAX);
}

#[test]
fn units_of_ranges() {
    assert_eq!(units(0, 0), 0);
    assert_eq!(units(0, 1), 1);
    assert_eq!(units(4095, 2), 2);
    assert_eq!(units(4096, 4096), 1);
    assert_eq!(units(u64::MAX, u64::MAX), 1);
}

#[test]
fn presets() {
    use nvmock_model::nvme::timing::presets::*;
    assert_eq!(by_name("none"), Some(Preset::None));
    assert_eq!(by_name("optane-like"), Some(Preset::Simple(OPTANE_LIKE)));
    assert_eq!(by_name("970pro-like"), Some(Preset::Nand(PRO970_LIKE)));
    assert_eq!(by_name("970pro"), None);
    let mut m = simple(OPTANE_LIKE);
    // NVMeVirt's relation: 8 * 4096 * 10^9 / 10_000 = 3_276_800_000 -> a unit per latency.
    assert_eq!(SimpleParams::matched_bw(10_000, 8), OPTANE_LIKE.read_bw);
    assert_eq!(m.complete(&cmd(Op::Read, 0, 4096, 0)), 10_000);
    assert_eq!(m.complete(&cmd(Op::Write, 0, 4096, 0)), 10_000);
}
