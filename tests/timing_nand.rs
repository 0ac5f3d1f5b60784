// SPDX-License-Identifier: GPL-2.0

//! Timing model `nand`: hand-computed reads, writes, write-buffer stalls, flushes, buffer
//! hits, garbage collection onset and cost, the 970pro-like preset, and parameter checks.

use nvmock_model::nvme::timing::presets::PRO970_LIKE;
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

const K4: u64 = 4096;

/// 2 channels × 1 die, one plane, 8 KiB pages (2 units), 4 pages per block (8 units),
/// 8 blocks per die: 128 physical units for 64 logical ones (256 KiB).
/// Channel: 4 KiB in 1_000 ns; PCIe: 4 KiB in 500 ns. Write buffer: 2 pages.
const T: NandParams = NandParams {
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
    read_jitter: 0,
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
    let len = p.table_len().unwrap();
    Nand::new(p, vec![0u32; len]).unwrap()
}

#[test]
fn table_length() {
    // 64 logical + 128 physical units + 2 * 16 blocks.
    assert_eq!(T.table_len(), Ok(64 + 128 + 32));
    let e = Nand::<Vec<u32>, 4>::new(T, vec![0u32; 223]).err().unwrap();
    assert_eq!(format!("{e}"), "table must have table_len() entries");
    // A longer table is fine (its tail is left alone).
    assert!(Nand::<Vec<u32>, 4>::new(T, vec![7u32; 300]).is_ok());
    let mut buf = [0u32; 224];
    assert!(Nand::<&mut [u32], 4>::new(T, &mut buf[..]).is_ok());
}

#[test]
fn read_of_unwritten_data_crosses_pcie_only() {
    let mut m = nand(T);
    // fw_read_4k 100, then PCIe 500: 600.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 0)), 600);
    // 8 KiB: fw_read 200, PCIe 1_000 (the link is free again at 600): 10_200.
    assert_eq!(m.complete(&cmd(Op::Read, 0, 2 * K4, 10_000)), 11_200);
    assert_eq!(m.min_latency(Op::Read), 100);
}

#[test]
fn write_then_read_from_buffer_then_flash() {
    let mut m = nand(T);
    // 8 KiB write at 0: fw 300 + 2 * 10 = 320; fills program unit 0 (die 0), PCIe 320 + 1_000
    // = 1_320 (completion); program: channel 0 1_320 + 2_000 = 3_320, die 0 3_320 + 10_000
    // = 13_320.
    assert_eq!(m.complete(&cmd(Op::Write, 0, 2 * K4, 0)), 1_320);
    // Read of unit 0 at 2_000: the program has not ended, so from the buffer: 2_100 + 500.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 2_000)), 2_600);
    // At 20_000, from flash: 20_100, die 0 + tr_4k = 21_100, channel + 1_000 = 22_100,
    // PCIe + 500 = 22_600.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 20_000)), 22_600);
    // 8 KiB at 30_000: fw_read 200 -> 30_200, one page: tr_page 31_700, channel 8 KiB
    // 33_700, PCIe 34_700.
    assert_eq!(m.complete(&cmd(Op::Read, 0, 2 * K4, 30_000)), 34_700);
    // A read at 40_000 spanning written (unit 1) and unwritten (unit 2) data: 40_200; unit 1
    // from flash: 41_200, 42_200, PCIe 42_700 (it took the link's time 40_200..40_700);
    // unit 2 takes the link's time after it, 40_700..41_200, its data being ready: 42_700.
    assert_eq!(m.complete(&cmd(Op::Read, K4, 2 * K4, 40_000)), 42_700);
    let c = m.counters();
    assert_eq!((c.reads, c.writes), (4, 1));
    assert_eq!((c.host_pages_written, c.nand_pages_written), (2, 2));
    assert_eq!(c.waf_x1000(), 1000);
}

#[test]
fn same_die_reads_queue_and_other_dies_overlap() {
    let mut m = nand(T);
    // Units 0-1 go to die 0, units 2-3 to die 1 (round robin per program unit).
    m.complete(&cmd(Op::Write, 0, 4 * K4, 0));
    m.complete(&cmd(Op::Flush, 0, 0, 0));
    let t = 100_000;
    // Unit 0: t+100, die 0 [t+100, t+1_100), channel 0 [.., t+2_100), PCIe t+2_600.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, t)), t + 2_600);
    // Unit 1, same die: die [t+1_100, t+2_100), channel [t+2_100, t+3_100), PCIe t+3_600.
    assert_eq!(m.complete(&cmd(Op::Read, K4, K4, t)), t + 3_600);
    // Unit 2, die 1 on channel 1: die t+1_100, channel t+2_100, PCIe t+2_600: the link's
    // time is spent to t+1_100 by the first two (500 each from t+100), so it only waits for
    // its data, not for the read from the busy die.
    assert_eq!(m.complete(&cmd(Op::Read, 2 * K4, K4, t)), t + 2_600);
    // Six 4 KiB reads of unwritten data arriving at t+200_100 share the link's bandwidth:
    // the last ends 6 * 500 later.
    let t = 200_000;
    let last = (0..6)
        .map(|i| m.complete(&cmd(Op::Read, (10 + i) * K4, K4, t)))
        .max();
    assert_eq!(last, Some(t + 100 + 3_000));
}

#[test]
fn write_buffer_stall_and_flush() {
    let mut m = nand(T);
    // As above: 1_320, program unit 0 on die 0 ends 13_320.
    assert_eq!(m.complete(&cmd(Op::Write, 0, 2 * K4, 0)), 1_320);
    // 320, the second buffer slot; program unit 32 (die 1); PCIe waits for 1_320: 2_320;
    // channel 1 4_320, die 1 14_320.
    assert_eq!(m.complete(&cmd(Op::Write, 2 * K4, 2 * K4, 0)), 2_320);
    // Buffer full: waits for the first program to end (13_320); program unit 1 on die 0;
    // PCIe 13_320 + 1_000 = 14_320; channel 0 16_320; die 0 26_320.
    assert_eq!(m.complete(&cmd(Op::Write, 4 * K4, 2 * K4, 0)), 14_320);
    assert_eq!(m.counters().wb_stalls, 1);
    // The flush waits for every program: 26_320.
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 0)), 26_320);
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 30_000)), 30_000);
    assert_eq!(m.complete(&cmd(Op::Other, 0, 0, 31_000)), 31_000);
    assert_eq!(m.counters().flushes, 2);
}

#[test]
fn flush_pads_a_partial_page_and_rewrites_coalesce() {
    let mut m = nand(T);
    // 4 KiB at 0: 300 + 10 = 310, PCIe 810; half of program unit 0 stays in the buffer.
    assert_eq!(m.complete(&cmd(Op::Write, 0, K4, 0)), 810);
    // The same unit again at 1_000: 1_310, rewritten in the buffer; PCIe 1_810.
    assert_eq!(m.complete(&cmd(Op::Write, 0, K4, 1_000)), 1_810);
    // Flush at 2_000: the padded unit goes: channel 0 [2_000, 4_000), die 0 14_000.
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 2_000)), 14_000);
    let c = m.counters();
    // 2 host units; 2 programmed (one of them padding): WAF 1.0; a second padded flush
    // makes it 4 / 3.
    assert_eq!((c.host_pages_written, c.nand_pages_written), (2, 2));
    m.complete(&cmd(Op::Write, K4, K4, 20_000));
    m.complete(&cmd(Op::Flush, 0, 0, 20_000));
    assert_eq!(m.counters().waf_x1000(), 4 * 1000 / 3);
}

/// Writes 4 KiB units one after the other, each `gap` ns after the previous one; returns the
/// sum of their latencies.
fn write_units(m: &mut impl Model, lpns: &[u64], t: &mut u64, gap: u64) -> u64 {
    let mut sum = 0;
    for &l in lpns {
        let done = m.complete(&cmd(Op::Write, l * K4, K4, *t));
        sum += done - *t;
        *t += gap;
    }
    sum
}

#[test]
fn garbage_collection_starts_when_free_blocks_run_out() {
    let mut m = nand(T);
    let mut t = 0;
    // Each die has 8 blocks of 4 program units (2 units each), filled round robin: die 0
    // takes program units 1, 3, 5, ... A die collects when it needs its 8th block while
    // 1 is free: at its 29th program unit, the 57th in all, i.e. the 113th unit written.
    let first: Vec<u64> = (0..64).collect();
    write_units(&mut m, &first, &mut t, 100_000);
    // Then pseudo-random overwrites (never the unit just written, which would be rewritten
    // in the buffer instead of taking a new place).
    let mut x = 12345u64;
    let mut prev = 63;
    let mut more = Vec::new();
    while more.len() < 400 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let l = (x >> 33) % 64;
        if l != prev {
            more.push(l);
            prev = l;
        }
    }
    write_units(&mut m, &more[..48], &mut t, 100_000);
    assert_eq!(m.counters().host_pages_written, 112);
    assert_eq!(m.counters().gc_runs, 0);
    assert_eq!(m.counters().waf_x1000(), 1000);
    // Free blocks: 8 per die, 7 of each die opened.
    assert_eq!(m.free_blocks(), 2);
    write_units(&mut m, &more[48..49], &mut t, 100_000);
    assert_eq!(m.counters().gc_runs, 1);
    write_units(&mut m, &more[49..], &mut t, 100_000);
    let c = m.counters();
    assert!(c.gc_runs > 10, "{c:?}");
    assert!(c.waf_x1000() > 1000, "{c:?}");
    assert_eq!(c.host_pages_written, 464);
    // Every unit is still readable from flash, and the free space never ran out.
    for l in 0..64 {
        let done = m.complete(&cmd(Op::Read, l * K4, K4, t));
        assert!(done >= t + 100 + 1_000 + 1_000 + 500);
        t += 100_000;
    }
    assert!(m.free_blocks() >= 1);
}

#[test]
fn garbage_collection_costs_latency() {
    // Back-to-back 4 KiB writes (every 1_000 ns): before any collection, and after the
    // device has been filled and overwritten (collections under way).
    let mut fresh = nand(T);
    let mut t = 0;
    let seq: Vec<u64> = (0..32).collect();
    let before = write_units(&mut fresh, &seq, &mut t, 1_000);
    let mut aged = nand(T);
    let mut t = 0;
    let all: Vec<u64> = (0..64).chain((0..64).map(|i| (i * 37) % 64)).collect();
    for _ in 0..3 {
        write_units(&mut aged, &all, &mut t, 100_000);
    }
    let gc = aged.counters().gc_runs;
    assert!(gc > 0);
    t += 10_000_000;
    let after = write_units(&mut aged, &seq, &mut t, 1_000);
    assert!(aged.counters().gc_runs > gc);
    // Each collection erases a block (50_000 ns) on the die the writes wait for.
    assert!(after > before + 50_000, "before {before} after {after}");
}

#[test]
fn read_jitter_is_bounded_and_seeded() {
    let run = |seed: u64| -> Vec<u64> {
        let mut m = nand(NandParams {
            read_jitter: 400,
            seed,
            ..T
        });
        m.complete(&cmd(Op::Write, 0, 2 * K4, 0));
        m.complete(&cmd(Op::Flush, 0, 0, 0));
        (0..20u64)
            .map(|i| {
                let t = 100_000 * (i + 1);
                m.complete(&cmd(Op::Read, 0, K4, t)) - t
            })
            .collect()
    };
    let a = run(1);
    assert_eq!(a, run(1));
    assert_ne!(a, run(2));
    // Without jitter: 100 + 1_000 + 1_000 + 500 = 2_600; the die time moves by at most 400.
    assert!(a.iter().all(|&l| (2_200..=3_000).contains(&l)), "{a:?}");
    assert!(a.iter().any(|&l| l != 2_600));
}

#[test]
fn namespaces_place_in_the_logical_space() {
    let mut m = nand(T);
    m.set_namespace(1, 0, 32 * K4).unwrap();
    m.set_namespace(2, 32 * K4, 32 * K4).unwrap();
    // Namespace 2's unit 0 is logical unit 32; namespace 3 is not placed: PCIe only.
    m.complete(&Command {
        nsid: 2,
        ..cmd(Op::Write, 0, 2 * K4, 0)
    });
    m.complete(&cmd(Op::Flush, 0, 0, 0));
    let t = 100_000;
    let ns2 = m.complete(&Command {
        nsid: 2,
        ..cmd(Op::Read, 0, K4, t)
    });
    // From flash: 100 + 1_000 + 1_000 + 500.
    assert_eq!(ns2, t + 2_600);
    let ns1 = m.complete(&cmd(Op::Read, 0, K4, 2 * t));
    assert_eq!(ns1, 2 * t + 600);
    let ns3 = m.complete(&Command {
        nsid: 3,
        ..cmd(Op::Read, 0, K4, 3 * t)
    });
    assert_eq!(ns3, 3 * t + 600);
    // Past the namespace's end: the part outside crosses PCIe only (100 + 2 * 500).
    let tail = m.complete(&Command {
        nsid: 2,
        ..cmd(Op::Read, 40 * K4, 2 * K4, 4 * t)
    });
    assert_eq!(tail, 4 * t + 200 + 1_000);
    assert_eq!(m.set_namespace(0, 0, K4).unwrap_err().param, "nsid");
    assert_eq!(m.set_namespace(17, 0, K4).unwrap_err().param, "nsid");
    assert_eq!(m.set_namespace(1, 1, K4).unwrap_err().param, "namespace");
    assert_eq!(
        format!("{}", m.set_namespace(1, 32 * K4, 33 * K4).unwrap_err()),
        "namespace must lie inside capacity"
    );
    assert_eq!(
        m.set_namespace(1, u64::MAX - 4095, 8192).unwrap_err().param,
        "namespace"
    );
}

#[test]
fn pro970_preset_times() {
    // 1 GiB with 7% over-provisioning: 262_144 units need 281_876 physical ones; a row of
    // blocks is 16 dies * 64 pages * 8 units = 8_192 units: 35 blocks per die.
    assert_eq!(PRO970_LIKE.with_capacity(1 << 30), Ok(PRO970_LIKE));
    // 262_144 + 16 * 35 * 512 + 2 * 560.
    assert_eq!(PRO970_LIKE.table_len(), Ok(549_984));
    let p = NandParams {
        read_jitter: 0,
        ..PRO970_LIKE
    };
    let mut m: Nand<Vec<u32>, 16> = Nand::new(p, vec![0; 549_984]).unwrap();
    // 4 KiB write: 4_000 + 460, PCIe 4096 * 10^9 / 3.36e9 = 1_219.04 -> 1_220: 5_680.
    assert_eq!(m.complete(&cmd(Op::Write, 0, K4, 0)), 5_680);
    // Flush: a padded 32 KiB program unit on die 0, from when its data arrived (5_680):
    // channel 32768 * 10^9 / 8e8 = 40_960, program 185_000: 5_680 + 40_960 + 185_000.
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 1_000)), 231_640);
    // QD1 4 KiB read: 21_500 + 35_760 + channel 5_120 + PCIe 1_220 = 63_600.
    let t = 1_000_000;
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, t)), t + 63_600);
    // 32 KiB read of a page holding one written unit: fw_read 30_490; the written unit from
    // flash: 30_490 + 35_760 + 5_120 + 1_220 = 72_590; the 7 unwritten units cross the link
    // meanwhile (7 * 4096 * 10^9 / 3.36e9 = 8_533.3 -> 8_534 after the unit's 1_220).
    let t = 2_000_000;
    assert_eq!(m.complete(&cmd(Op::Read, 0, 8 * K4, t)), t + 72_590);
    // A 128 KiB read of unwritten data right after it: the link's time is spent to
    // t + 30_490 + 1_220 + 8_534 = t + 40_244; 32 * 4096 * 10^9 / 3.36e9 = 39_009.5 -> 39_010
    // more from there (its arrival, t + 30_490 + 10, is earlier): t + 79_254.
    assert_eq!(
        m.complete(&cmd(Op::Read, 8 * K4, 32 * K4, t + 10)),
        t + 79_254
    );
}

#[test]
fn bad_parameters_are_named() {
    let cases: Vec<(NandParams, &str)> = vec![
        (NandParams { channels: 0, ..T }, "channels must be > 0"),
        (NandParams { luns: 0, ..T }, "luns must be > 0"),
        (
            NandParams { luns: 3, ..T },
            "luns times channels must be <= the model's die capacity (at most 256)",
        ),
        (NandParams { planes: 0, ..T }, "planes must be 1 to 16"),
        (
            NandParams {
                page_size: 2048,
                ..T
            },
            "page_size must be a multiple of 4096 from 4096 to 1048576",
        ),
        (
            NandParams {
                page_size: 6144,
                ..T
            },
            "page_size must be a multiple of 4096 from 4096 to 1048576",
        ),
        (
            NandParams {
                pages_per_block: 1,
                ..T
            },
            "pages_per_block must be 2 to 65536",
        ),
        (
            NandParams {
                blocks_per_lun: 2,
                ..T
            },
            "blocks_per_lun must be >= 3",
        ),
        (
            NandParams {
                blocks_per_lun: u32::MAX,
                ..T
            },
            "blocks_per_lun makes a geometry of 2^32 or more 4 KiB pages",
        ),
        (
            NandParams { capacity: 0, ..T },
            "capacity must be a non-zero multiple of 4096",
        ),
        (
            NandParams {
                capacity: 4097,
                ..T
            },
            "capacity must be a non-zero multiple of 4096",
        ),
        (
            NandParams {
                op_percent: 100,
                ..T
            },
            "op_percent must be < 100",
        ),
        (
            NandParams {
                op_percent: 60,
                ..T
            },
            "capacity must fit the geometry after op_percent over-provisioning",
        ),
        (
            NandParams {
                capacity: 72 * K4,
                ..T
            },
            "capacity leaves too few spare blocks for garbage collection",
        ),
        (NandParams { tr_4k: 2_000, ..T }, "tr_4k must be <= tr_page"),
        (
            NandParams {
                read_jitter: 1_001,
                ..T
            },
            "read_jitter must be <= tr_4k",
        ),
        (
            NandParams {
                tbers: MAX_LATENCY + 1,
                ..T
            },
            "tbers must be <= 100 s (100000000000 ns)",
        ),
        (NandParams { channel_bw: 0, ..T }, "channel_bw must be > 0"),
        (NandParams { pcie_bw: 0, ..T }, "pcie_bw must be > 0"),
        (
            NandParams { wb_size: 0, ..T },
            "wb_size must be a non-zero multiple of page_size x planes",
        ),
        (
            NandParams { wb_size: 4096, ..T },
            "wb_size must be a non-zero multiple of page_size x planes",
        ),
        (
            NandParams {
                wb_size: 65 * 8192,
                ..T
            },
            "wb_size must be <= 64 x page_size x planes",
        ),
    ];
    for (p, msg) in cases {
        let e = Nand::<Vec<u32>, 4>::new(p, vec![0; 1024]).err().unwrap();
        assert_eq!(format!("{e}"), msg);
        assert_eq!(p.check(4), Err(e));
    }
    assert_eq!(T.check(4), Ok(()));
    // The largest capacity the small geometry takes: 71 units (GC room 2 * 6 * 6 = 72).
    assert!(NandParams {
        capacity: 71 * K4,
        ..T
    }
    .check(4)
    .is_ok());
}

#[test]
fn with_capacity_sizes_the_geometry() {
    // 64 units at 25%: 86 physical (6400 / 75 = 85.3 -> 86), rows of 2 * 8 = 16 units: 6
    // blocks; collection room: 64 / (2 * 6) + 3 = 8 blocks.
    let p = T.with_capacity(64 * K4).unwrap();
    assert_eq!(p.blocks_per_lun, 8);
    // 1 MiB: 256 units -> 342 physical -> 22 blocks; room: 256 / 12 + 3 = 24.
    let p = T.with_capacity(1 << 20).unwrap();
    assert_eq!(p.blocks_per_lun, 24);
    let mut m = nand(p);
    assert_eq!(m.units(), (256, 2 * 24 * 8));
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 0)), 600);
    assert_eq!(T.with_capacity(0).unwrap_err().param, "capacity");
    assert_eq!(
        T.with_capacity(u64::MAX / 2 * 2).unwrap_err().param,
        "capacity"
    );
    assert_eq!(
        NandParams {
            op_percent: 100,
            ..T
        }
        .with_capacity(1 << 20)
        .unwrap_err()
        .param,
        "op_percent"
    );
    assert_eq!(
        NandParams { pcie_bw: 0, ..T }
            .with_capacity(1 << 20)
            .unwrap_err()
            .param,
        "pcie_bw"
    );
}

type Any = AnyModel<Vec<u32>, 8, 16>;

#[test]
fn any_model_none_and_simple() {
    use nvmock_model::nvme::timing::presets::{by_name, Preset};
    let mut none = Any::from_preset(Preset::None, Vec::new()).unwrap();
    assert_eq!(none.name(), "none");
    assert_eq!(none.complete(&cmd(Op::Read, 0, K4, 5)), 5);
    let mut optane = Any::from_preset(by_name("optane-like").unwrap(), Vec::new()).unwrap();
    assert_eq!(optane.name(), "simple");
    assert_eq!(optane.complete(&cmd(Op::Read, 0, K4, 5)), 10_005);
    assert_eq!(optane.min_latency(Op::Write), 10_000);
}

#[test]
fn any_model_nand() {
    use nvmock_model::nvme::timing::presets::by_name;
    // The nand preset needs its table.
    let pro = by_name("970pro-like").unwrap();
    let e = Any::from_preset(pro, Vec::new()).err().unwrap();
    assert_eq!(e.param, "table");
    let mut nand = Any::from_preset(pro, vec![0; 549_984]).unwrap();
    assert_eq!(nand.name(), "nand");
    // 4_000 + 460 + 1_220 (see pro970_preset_times).
    assert_eq!(nand.complete(&cmd(Op::Write, 0, K4, 0)), 5_680);
    assert_eq!(nand.counters().writes, 1);
    assert_eq!(nand.min_latency(Op::Read), 21_500);
}
