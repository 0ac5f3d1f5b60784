// SPDX-License-Identifier: GPL-2.0

//! Timing model `zms` (consumer zoned storage as ConZone models it): hand-computed reads
//! (L2P cache hit and miss, pSLC and TLC, from a write buffer), writes absorbed by a buffer or
//! forced to wait for a flush, buffer contention as zones outnumber buffers (static and modulo
//! assignment), timed flushes, the pSLC fill and fold cliff, SLC bypass, zone resets, exact
//! LRU, the presets, parameter checks, and (property tests) never early and deterministic.

use nvmock_model::nvme::timing::presets::{zms_by_name, CONZONE_LIKE, ZN540_LIKE};
use nvmock_model::nvme::timing::*;
use proptest::prelude::*;

const K4: u64 = 4096;

fn cmd(op: Op, offset: u64, len: u64, submit: u64) -> Command {
    Command {
        op,
        nsid: 1,
        offset,
        len,
        submit,
    }
}

/// 2 channels × 1 die, one plane, 8 KiB pages (2 units), TLC with 6 pages per block: a zone
/// (superblock) of 2 × 6 pages = 24 units (96 KiB); a one-shot unit is 3 pages of a die, a
/// stripe 6 pages (12 units). 4 zones; 2 pSLC superblocks of 24 / 3 = 8 units each (a pSLC
/// program unit is one page). Channel: 4 KiB in 1_000 ns; PCIe: 4 KiB in 500 ns. Two write
/// buffers of 4 units, static; no timed flush; an L2P cache of 2 page entries.
const T: ZmsParams = ZmsParams {
    channels: 2,
    luns: 1,
    planes: 1,
    page_size: 8192,
    pages_per_block: 6,
    zone_size: 0,
    zones: 4,
    cell: Cell::Tlc,
    slc_superblocks: 2,
    slc_bypass: false,
    tr_slc: 1_000,
    tr_tlc: 2_000,
    tr_qlc: 3_000,
    tprog_slc: 10_000,
    tprog_tlc: 30_000,
    tprog_qlc: 60_000,
    tbers_slc: 50_000,
    tbers_tlc: 70_000,
    tbers_qlc: 90_000,
    channel_bw: 4_096_000_000,
    pcie_bw: 8_192_000_000,
    fw_read_4k: 100,
    fw_read: 200,
    fw_wbuf0: 300,
    fw_wbuf1: 10,
    wb_count: 2,
    wb_size: 4 * K4,
    wb_policy: WbPolicy::Static,
    wb_flush_ns: 0,
    l2p_entries: 2,
    map_unit: MapUnit::Page,
    chunk_size: 2 * K4,
};

/// Zone size of [`T`] in bytes.
const ZS: u64 = 24 * K4;

fn zms(p: ZmsParams) -> Zms<Vec<u32>, 8> {
    let len = p.table_len().unwrap();
    Zms::new(p, vec![0u32; len]).unwrap()
}

#[test]
fn table_length() {
    // 96 units + 2 × 8 pSLC positions + 2 × 4 zone words + 2 × 96 LRU links.
    assert_eq!(T.table_len(), Ok(96 + 16 + 8 + 192));
    let e = Zms::<Vec<u32>, 8>::new(T, vec![0u32; 311]).err().unwrap();
    assert_eq!(format!("{e}"), "table must have table_len() entries");
    let mut buf = [7u32; 400];
    assert!(Zms::<&mut [u32], 8>::new(T, &mut buf[..]).is_ok());
    // Zone mapping: one entry per zone.
    let z = ZmsParams {
        map_unit: MapUnit::Zone,
        ..T
    };
    assert_eq!(z.table_len(), Ok(96 + 16 + 8 + 8));
}

#[test]
fn single_read_hit_and_miss() {
    let mut m = zms(T);
    // 16 KiB at 0: fw 300 + 4 × 10 = 340, PCIe 2_000: in the buffer at 2_340 (completion).
    // The buffer is full: flush to pSLC positions 0..4 (pages 0, 1: dies 0, 1), 8 KiB over
    // each channel (2_000) then one program each (10_000): 14_340.
    assert_eq!(m.complete(&cmd(Op::Write, 0, 4 * K4, 0)), 2_340);
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 2_000)), 14_340);
    // Miss: fw 100; mapping page 0 on die 0: tr_slc 1_000, 4 KiB over channel 0 (1_000);
    // then the data: tr_slc 1_000, channel 1_000, PCIe 500: 20_000 + 4_600.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 20_000)), 24_600);
    // Hit: 100 + 1_000 + 1_000 + 500.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 30_000)), 32_600);
    let z = m.zms_counters();
    assert_eq!((z.cache_hits, z.cache_misses), (1, 1));
    assert_eq!(m.counters().reads, 2);
    // Two units of one page: one flash read (hit on the first, miss on the second's entry:
    // page entries), 8 KiB over the channel and the link. fw 200; unit 0 hit: ready 40_200;
    // unit 1 misses: mapping read 40_200 + 2_000 = 42_200, its own run: tr 1_000, channel
    // 1_000, PCIe 500; unit 0: die 0 after the mapping read (41_200) + 1_000 = 42_200,
    // channel from 42_200 (link busy to 42_200) 43_200, PCIe 43_700; unit 1: die 43_200,
    // channel 44_200, PCIe 44_700.
    assert_eq!(m.complete(&cmd(Op::Read, 0, 2 * K4, 40_000)), 44_700);
    assert_eq!(m.cached_entries(), 2);
    // Never written: the PCIe link only, no lookup.
    assert_eq!(m.complete(&cmd(Op::Read, ZS, K4, 50_000)), 50_600);
    assert_eq!(m.zms_counters().cache_misses, 2);
}

#[test]
fn read_from_buffer_then_flash() {
    let mut m = zms(T);
    // 1 unit: fw 310, PCIe 500: 810, held in buffer 0.
    assert_eq!(m.complete(&cmd(Op::Write, 0, K4, 0)), 810);
    // From the buffer: fw 100 + PCIe 500.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 1_000)), 1_600);
    // Flushed by a host Flush at 2_000: channel 0 2_000..3_000, die 0 to 13_000.
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 2_000)), 13_000);
    // Still in the buffer until the program ends.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 5_000)), 5_600);
    assert_eq!(m.zms_counters().cache_misses, 0);
    // Then from pSLC, a miss: 20_000 + 4_600.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 20_000)), 24_600);
    assert_eq!(m.zms_counters().flush_host, 1);
}

#[test]
fn write_absorbed_or_forcing_a_flush() {
    let mut m = zms(T);
    // Absorbed: fw 310 + PCIe 500.
    assert_eq!(m.complete(&cmd(Op::Write, 0, K4, 0)), 810);
    // Zone 1 has buffer 1: absorbed too.
    assert_eq!(m.complete(&cmd(Op::Write, ZS, K4, 1_000)), 1_810);
    // Zone 2 shares buffer 0 with zone 0 (static, 2 % 2): zone 0's unit is flushed from
    // 2_310 (channel 0 to 3_310, die 0 to 13_310) and the write waits for it: PCIe
    // 13_310..13_810.
    assert_eq!(m.complete(&cmd(Op::Write, 2 * ZS, K4, 2_000)), 13_810);
    let z = m.zms_counters();
    assert_eq!((z.flush_contention, z.flush_full, z.slc_units), (1, 0, 1));
    assert_eq!(m.counters().wb_stalls, 1);
    // A write that fills its buffer completes when its data is in; the next write to that
    // buffer waits for the full flush. Zone 1 has 1 unit buffered; 3 more fill it: fw 330,
    // PCIe 1_500: 21_830. Flush of units 0..4 of zone 1 to pSLC positions 2..6 (the flush
    // starts on a fresh page): pages 1, 2 -> dies 1, 0: channels 21_830..23_830, programs to
    // 33_830.
    assert_eq!(m.complete(&cmd(Op::Write, ZS + K4, 3 * K4, 20_000)), 21_830);
    assert_eq!(m.complete(&cmd(Op::Write, ZS + 4 * K4, K4, 22_000)), 34_330);
    assert_eq!(m.zms_counters().flush_full, 1);
    assert_eq!(m.counters().wb_stalls, 2);
    assert_eq!(m.write_pointer(1), Some(5 * K4));
}

/// Writes 4 KiB to each zone of `zones` in turn, `rounds` times, one every 1_000 ns; the sum
/// of the latencies.
fn round_robin(p: ZmsParams, zones: &[u64], rounds: u64) -> (u64, Zms<Vec<u32>, 8>) {
    let mut m = zms(p);
    let (mut t, mut sum) = (0, 0);
    for r in 0..rounds {
        for &z in zones {
            let done = m.complete(&cmd(Op::Write, z * ZS + r * K4, K4, t));
            sum += done - t;
            t += 1_000;
        }
    }
    (sum, m)
}

#[test]
fn contention_as_zones_outnumber_buffers() {
    // Two zones, two buffers: every write absorbed, 810 each.
    let (two, m) = round_robin(T, &[0, 1], 2);
    assert_eq!(two, 4 * 810);
    assert_eq!(m.zms_counters().flush_contention, 0);
    assert_eq!(m.counters().wb_stalls, 0);
    // Three zones, two buffers (zones 0 and 2 share buffer 0): writes at 0 (z0), 1_000 (z1),
    // 2_000 (z2), 3_000 (z0), 4_000 (z1), 5_000 (z2).
    // z0 810; z1 810.
    // z2 at 2_000: flush of z0's unit from 2_310 (pSLC 0, die 0: channel to 3_310, program
    //   to 13_310), data 13_310..13_810: 11_810.
    // z0 at 3_000: flush of z2's unit from its arrival 13_810 (pSLC 2, page 1, die 1: channel
    //   to 14_810, program to 24_810), data 24_810..25_310: 22_310.
    // z1 at 4_000: buffer 1 has z1's unit 0, this is unit 1: absorbed, but the PCIe link
    //   serves writes in order, and z0's data took it at 24_810..25_310: 25_810, 21_810.
    // z2 at 5_000: flush of z0's unit 1 from 25_310 (pSLC 4, page 2, die 0: channel to
    //   26_310, program to 36_310), data 36_310..36_810: 31_810.
    let (three, m) = round_robin(T, &[0, 1, 2], 2);
    assert_eq!(three, 810 + 810 + 11_810 + 22_310 + 21_810 + 31_810);
    assert_eq!(three - 6 * 810, 84_500);
    assert_eq!(m.zms_counters().flush_contention, 3);
    assert_eq!(m.counters().wb_stalls, 3);
    // Four zones on four buffers: no contention again.
    let (four, m) = round_robin(ZmsParams { wb_count: 4, ..T }, &[0, 1, 2, 3], 2);
    assert_eq!(four, 8 * 810);
    assert_eq!(m.zms_counters().flush_contention, 0);
}

#[test]
fn modulo_policy_spreads_the_opened_zones() {
    // Zones 1 and 3: static puts both on buffer 1 (contention), modulo gives the first zone
    // opened buffer 0 and the second buffer 1.
    let (stat, m) = round_robin(T, &[1, 3], 2);
    assert_eq!(m.zms_counters().flush_contention, 3);
    assert!(stat > 4 * 810);
    let modulo = ZmsParams {
        wb_policy: WbPolicy::Modulo,
        ..T
    };
    let (sum, m) = round_robin(modulo, &[1, 3], 2);
    assert_eq!(sum, 4 * 810);
    assert_eq!(m.zms_counters().flush_contention, 0);
    // A reset closes zone 3; opened again it is the third zone: buffer 0, with zone 1.
    let mut m = m;
    assert_eq!(m.complete(&cmd(Op::ZoneReset, 3 * ZS, ZS, 10_000)), 10_000);
    m.complete(&cmd(Op::Write, 3 * ZS, K4, 20_000));
    assert_eq!(m.zms_counters().flush_contention, 1);
}

#[test]
fn timed_flush() {
    let p = ZmsParams {
        wb_flush_ns: 50_000,
        ..T
    };
    let mut m = zms(p);
    assert_eq!(m.complete(&cmd(Op::Write, 0, K4, 0)), 810);
    // Before the flush is due (810 + 50_000): from the buffer.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 40_000)), 40_600);
    assert_eq!(m.zms_counters().flush_timed, 0);
    // After: flushed from 50_810 (channel to 51_810, program to 61_810); read from pSLC at
    // 100_000, a miss: 100_000 + 4_600.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 100_000)), 104_600);
    assert_eq!(m.zms_counters().flush_timed, 1);
    // The flush landed on the die when it was due: a read at 55_000 would have waited; a
    // read now of the same page is a hit: 2_600.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 200_000)), 202_600);
    // A flush that falls due while the die is busy starts when it was due but waits for the
    // die: a write at 300_000, the next command at 400_000.
    m.complete(&cmd(Op::Write, K4, K4, 300_000));
    m.complete(&cmd(Op::Other, 0, 0, 400_000));
    assert_eq!(m.zms_counters().flush_timed, 2);
    assert_eq!(m.counters().nand_pages_written, 2);
}

/// Writes 16 KiB at `s` (filling the buffer: it is flushed) and a Flush right after it; the
/// Flush's completion less the write's data arrival (`s + 2_340`): the flush's own time.
fn write_and_flush(m: &mut Zms<Vec<u32>, 8>, off: u64, s: u64) -> u64 {
    assert_eq!(m.complete(&cmd(Op::Write, off, 4 * K4, s)), s + 2_340);
    m.complete(&cmd(Op::Flush, 0, 0, s + 100)) - (s + 2_340)
}

#[test]
fn pslc_fill_then_fold_cliff() {
    let mut m = zms(T);
    // Four 16 KiB flushes fill the two pSLC superblocks (16 units): 8 KiB on each die,
    // channel 2_000 + program 10_000 each.
    for i in 0..4 {
        assert_eq!(write_and_flush(&mut m, i * 4 * K4, i * 1_000_000), 12_000);
    }
    assert_eq!(m.slc_units_held(), 16);
    assert_eq!(m.zms_counters().folds, 0);
    // The fifth needs a superblock: pSLC superblock 0 (zone units 0..8, pages 0..4) is
    // folded first. Reads: 2 pages on each die (2_000), 16 KiB out over each channel
    // (4_000): 6_000; programs: 16 KiB back over each channel (to 10_000), one TLC one-shot
    // unit per die (30_000): 40_000; erase (50_000): 90_000. Then the flush's 8 KiB per die:
    // channel (free at 10_000) to 12_000, program after the erase: 100_000.
    assert_eq!(write_and_flush(&mut m, 16 * K4, 4_000_000), 100_000);
    let z = m.zms_counters();
    assert_eq!(
        (z.folds, z.fold_units, z.slc_units, z.flush_full),
        (1, 8, 20, 5)
    );
    assert_eq!(m.counters().gc_runs, 1);
    assert_eq!(m.counters().nand_pages_written, 28);
    assert_eq!(m.counters().host_pages_written, 20);
    assert_eq!(m.counters().waf_x1000(), 1_400);
    assert_eq!(m.slc_units_held(), 12);
    // The sixth goes to the rest of superblock 0: no fold.
    assert_eq!(write_and_flush(&mut m, 20 * K4, 5_000_000), 12_000);
    // Zone units 0..8 are in TLC now: a 4 KiB read takes tr_tlc. Miss at 6_000_000: fw 100,
    // mapping read 2_000, tr_tlc 2_000, channel 1_000, PCIe 500.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 6_000_000)), 6_005_600);
    // Hit: 100 + 2_000 + 1_000 + 500.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 6_100_000)), 6_103_600);
    // Zone unit 8 is still in pSLC: 2_600 on a hit, after its miss.
    m.complete(&cmd(Op::Read, 8 * K4, K4, 6_200_000));
    assert_eq!(m.complete(&cmd(Op::Read, 8 * K4, K4, 6_300_000)), 6_302_600);
}

#[test]
fn qlc_folds_are_slower() {
    let q = ZmsParams {
        cell: Cell::Qlc,
        pages_per_block: 8,
        ..T
    };
    // Zone: 2 × 8 pages = 32 units; pSLC superblocks of 8 units; one-shot: 4 pages per die.
    let mut m = zms(q);
    for i in 0..4 {
        assert_eq!(write_and_flush(&mut m, i * 4 * K4, i * 1_000_000), 12_000);
    }
    // The fold as for TLC but with a QLC program (60_000): reads and transfers 10_000, program
    // to 70_000, erase to 120_000, the flush's program to 130_000.
    assert_eq!(write_and_flush(&mut m, 16 * K4, 4_000_000), 130_000);
    // TLC data read takes tr_qlc: hit after a miss.
    m.complete(&cmd(Op::Read, 0, K4, 5_000_000));
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 5_100_000)), 5_104_600);
}

#[test]
fn slc_bypass_sends_full_one_shot_units_to_tlc() {
    // A buffer of one stripe (12 units): full flushes cover a one-shot unit of each die.
    let p = ZmsParams {
        slc_bypass: true,
        wb_size: 12 * K4,
        ..T
    };
    let mut m = zms(p);
    // 48 KiB: fw 300 + 120, PCIe 6_000: 6_420. Straight to TLC: 24 KiB over each channel
    // (6_000), one one-shot program (30_000): flush ends 42_420.
    assert_eq!(m.complete(&cmd(Op::Write, 0, 12 * K4, 0)), 6_420);
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 100)), 42_420);
    let z = m.zms_counters();
    assert_eq!((z.bulk_units, z.slc_units, z.folds), (12, 0, 0));
    assert_eq!(m.slc_units_held(), 0);
    // A partial flush does not fill a one-shot unit: it goes to pSLC.
    m.complete(&cmd(Op::Write, 12 * K4, 2 * K4, 100_000));
    m.complete(&cmd(Op::Flush, 0, 0, 100_100));
    let z = m.zms_counters();
    assert_eq!((z.bulk_units, z.slc_units), (12, 2));
    // Without bypass the same 48 KiB goes to pSLC: 8 units fill pSLC superblock 0 (2 pages
    // per die: 16 KiB over each channel to 10_420, two programs to 30_420), the other 4 go to
    // superblock 1 (8 KiB per die, over the channel meanwhile, a program to 40_420): quicker
    // now, but a fold later.
    let mut m = zms(ZmsParams {
        slc_bypass: false,
        ..p
    });
    m.complete(&cmd(Op::Write, 0, 12 * K4, 0));
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 100)), 40_420);
    assert_eq!(m.zms_counters().slc_units, 12);
}

#[test]
fn qlc_bypass_is_refused() {
    let q = ZmsParams {
        cell: Cell::Qlc,
        pages_per_block: 8,
        slc_bypass: true,
        ..T
    };
    let e = q.check(8).unwrap_err();
    assert_eq!(e.param, "slc_bypass");
    assert_eq!(
        format!("{e}"),
        "slc_bypass must be off for QLC (QLC data goes through pSLC)"
    );
    assert!(Zms::<Vec<u32>, 8>::new(q, vec![0; 1000]).is_err());
    assert!(ZmsParams {
        slc_bypass: false,
        ..q
    }
    .check(8)
    .is_ok());
}

#[test]
fn no_pslc_programs_the_bulk_directly() {
    let p = ZmsParams {
        slc_superblocks: 0,
        ..T
    };
    let mut m = zms(p);
    // 16 KiB: units 0..4, pages 0, 1 on dies 0, 1: one (partial) one-shot unit each, 8 KiB
    // over each channel (2_000) and a TLC program (30_000): 2_340 + 32_000.
    assert_eq!(m.complete(&cmd(Op::Write, 0, 4 * K4, 0)), 2_340);
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 100)), 34_340);
    let z = m.zms_counters();
    assert_eq!((z.bulk_units, z.slc_units, z.folds), (4, 0, 0));
}

#[test]
fn zone_reset_erases_and_drops_data() {
    let mut m = zms(T);
    for i in 0..5 {
        write_and_flush(&mut m, i * 4 * K4, i * 1_000_000);
    }
    // Zone 0: units 0..8 in TLC, 8..20 in pSLC (12 units), none buffered.
    assert_eq!(m.slc_units_held(), 12);
    assert_eq!(m.write_pointer(0), Some(20 * K4));
    // Reset: the TLC superblock is erased on both dies (70_000).
    assert_eq!(
        m.complete(&cmd(Op::ZoneReset, 0, ZS, 10_000_000)),
        10_070_000
    );
    assert_eq!(m.slc_units_held(), 0);
    assert_eq!(m.write_pointer(0), Some(0));
    let z = m.zms_counters();
    assert_eq!((z.zone_resets, z.zone_erases), (1, 1));
    // The data is gone: PCIe only.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 11_000_000)), 11_000_600);
    // A zone with data only in pSLC and its buffer: nothing to erase.
    m.complete(&cmd(Op::Write, ZS, 6 * K4, 12_000_000));
    assert_eq!(
        m.complete(&cmd(Op::ZoneReset, ZS, 0, 13_000_000)),
        13_000_000
    );
    assert_eq!(m.slc_units_held(), 0);
    // A read of the buffered data after the reset: PCIe only.
    assert_eq!(
        m.complete(&cmd(Op::Read, ZS + 5 * K4, K4, 13_100_000)),
        13_100_600
    );
    // Select All (the whole namespace): every zone, none with TLC data.
    assert_eq!(
        m.complete(&cmd(Op::ZoneReset, 0, 4 * ZS, 14_000_000)),
        14_000_000
    );
    assert_eq!(m.zms_counters().zone_resets, 6);
    // Other models take it as Other.
    let mut s: Simple<8> = Simple::new(presets::OPTANE_LIKE).unwrap();
    assert_eq!(s.complete(&cmd(Op::ZoneReset, 0, ZS, 5)), 5);
}

#[test]
fn zone_finish_flushes_the_zone_and_fills_it() {
    let mut m = zms(T);
    // Zone 0: one unit buffered (810); zone 1: one unit in buffer 1.
    assert_eq!(m.complete(&cmd(Op::Write, 0, K4, 0)), 810);
    assert_eq!(m.complete(&cmd(Op::Write, ZS, K4, 1_000)), 1_810);
    // Finish zone 0 at 2_000: its buffer is flushed from 2_000 (channel 0 to 3_000, die 0 to
    // 13_000); the finish completes then.
    assert_eq!(m.complete(&cmd(Op::ZoneFinish, 0, 0, 2_000)), 13_000);
    let z = m.zms_counters();
    assert_eq!((z.flush_finish, z.zone_finishes, z.slc_units), (1, 1, 1));
    assert_eq!(m.write_pointer(0), Some(ZS));
    // Finishing it again does nothing; a write to it goes nowhere (PCIe only: the controller
    // refuses it anyway).
    assert_eq!(m.complete(&cmd(Op::ZoneFinish, 0, 0, 20_000)), 20_000);
    assert_eq!(m.zms_counters().zone_finishes, 1);
    // Select All (a range): zone 1 (written) is finished, zones 2 and 3 (empty) are not.
    assert!(m.complete(&cmd(Op::ZoneFinish, 0, u64::MAX, 30_000)) > 30_000);
    let z = m.zms_counters();
    assert_eq!((z.flush_finish, z.zone_finishes), (2, 2));
    assert_eq!(m.write_pointer(2), Some(0));
    // An empty zone finished on its own becomes full without a flush.
    assert_eq!(m.complete(&cmd(Op::ZoneFinish, 3 * ZS, 0, 40_000)), 40_000);
    assert_eq!(m.write_pointer(3), Some(ZS));
    // A reset makes it writable again.
    m.complete(&cmd(Op::ZoneReset, 3 * ZS, 0, 50_000));
    assert_eq!(m.write_pointer(3), Some(0));
    // Other models take it as Other.
    let mut s: Simple<8> = Simple::new(presets::OPTANE_LIKE).unwrap();
    assert_eq!(s.complete(&cmd(Op::ZoneFinish, 0, 0, 5)), 5);
}

#[test]
fn fitted_to_a_zoned_namespace() {
    // conzone-like: 4 channels x 2 LUNs x 4 planes x 3 bits x 16 KiB = 1.5 MiB steps.
    assert_eq!(CONZONE_LIKE.superblock_step(), 1536 << 10);
    assert_eq!(ZN540_LIKE.superblock_step(), 3 << 20);
    let p = CONZONE_LIKE.for_zones(2 << 20, 1536 << 10, 16).unwrap();
    assert_eq!((p.pages_per_block, p.zone_size, p.zones), (3, 2 << 20, 16));
    assert_eq!(p.superblock_size(), 1536 << 10);
    assert_eq!(p.capacity(), 32 << 20);
    let p = CONZONE_LIKE.for_zones(4 << 20, 3 << 20, 64).unwrap();
    assert_eq!((p.pages_per_block, p.capacity()), (6, 256 << 20));
    // The preset's own geometry comes back.
    let p = CONZONE_LIKE.for_zones(32 << 20, 24 << 20, 16).unwrap();
    assert_eq!(p, CONZONE_LIKE);
    // A capacity that is no whole superblock, or none, or above the zone size; a write
    // buffer larger than the zone; too many units.
    for (size, cap, zones, param) in [
        (4u64 << 20, 4u64 << 20, 8u32, "zone_capacity"),
        (4 << 20, 0, 8, "zone_capacity"),
        (2 << 20, 3 << 20, 8, "zone_size"),
        (1 << 40, 1 << 40, 8, "zone_capacity"),
        (4 << 20, 3 << 20, 1 << 30, "zones"),
        (4 << 20, 3 << 20, 0, "zones"),
    ] {
        let e = CONZONE_LIKE.for_zones(size, cap, zones).unwrap_err();
        assert_eq!(e.param, param, "{size} {cap} {zones}");
    }
    let small = ZmsParams {
        wb_size: 3 << 20,
        ..CONZONE_LIKE
    };
    assert_eq!(
        small.for_zones(2 << 20, 1536 << 10, 4).unwrap_err().param,
        "wb_size"
    );
    // A bad die geometry is named before the zones are looked at.
    let bad = ZmsParams {
        channels: 0,
        ..CONZONE_LIKE
    };
    assert_eq!(
        bad.for_zones(2 << 20, 1536 << 10, 4).unwrap_err().param,
        "channels"
    );
}

#[test]
fn writes_land_at_the_write_pointer() {
    let mut m = zms(T);
    // Zone Append comes with the zone's start: it lands at the write pointer.
    m.complete(&cmd(Op::Write, 0, 2 * K4, 0));
    m.complete(&cmd(Op::Write, 0, K4, 10_000));
    assert_eq!(m.write_pointer(0), Some(3 * K4));
    assert_eq!(m.zms_counters().flush_contention, 0);
    // Past the zone's capacity: PCIe only. 30 units into zone 3 (24 units): 6 stray.
    m.complete(&cmd(Op::Write, 3 * ZS, 30 * K4, 20_000));
    assert_eq!(m.write_pointer(3), Some(ZS));
    assert_eq!(m.counters().host_pages_written, 33);
    // Another namespace: PCIe only; set_nsid moves the zoned one.
    assert_eq!(
        m.complete(&Command {
            nsid: 2,
            ..cmd(Op::Write, 0, K4, 1_000_000)
        }),
        1_000_810
    );
    assert_eq!(m.write_pointer(0), Some(3 * K4));
    m.set_nsid(2);
    m.complete(&Command {
        nsid: 2,
        ..cmd(Op::Write, 0, K4, 2_000_000)
    });
    assert_eq!(m.write_pointer(0), Some(4 * K4));
    assert_eq!(m.write_pointer(4), None);
}

#[test]
fn zone_size_above_capacity() {
    // 128 KiB zones (32 units) over 96 KiB superblocks: units 24..32 of each zone hold no
    // data.
    let p = ZmsParams {
        zone_size: 32 * K4,
        ..T
    };
    assert_eq!(p.capacity(), 4 * 32 * K4);
    assert_eq!(p.superblock_size(), ZS);
    let mut m = zms(p);
    m.complete(&cmd(Op::Write, 32 * K4, 4 * K4, 0));
    assert_eq!(m.write_pointer(1), Some(4 * K4));
    // Zone 1's data was flushed (full buffer) into pSLC.
    assert_eq!(m.slc_units_held(), 4);
    let e = ZmsParams {
        zone_size: 20 * K4,
        ..T
    }
    .check(8)
    .unwrap_err();
    assert_eq!(e.param, "zone_size");
    assert!(ZmsParams { zone_size: ZS, ..T }.check(8).is_ok());
    // with_capacity: as many zones as fit.
    assert_eq!(p.with_capacity(1 << 20).unwrap().zones, 8);
    assert_eq!(p.with_capacity(1).unwrap().zones, 1);
}

/// Reads one unit of each of `keys` (units of zone 0, all in pSLC), 100_000 ns apart.
fn read_keys(m: &mut Zms<Vec<u32>, 8>, keys: &[u64], t: &mut u64) {
    for &k in keys {
        m.complete(&cmd(Op::Read, k * K4, K4, *t));
        *t += 100_000;
    }
}

#[test]
fn l2p_cache_is_exact_lru() {
    let mut m = zms(T);
    m.complete(&cmd(Op::Write, 0, 4 * K4, 0));
    let mut t = 1_000_000;
    // Two entries. 0 miss [0]; 1 miss [1 0]; 0 hit [0 1]; 2 miss, evicts 1 [2 0]; 1 miss,
    // evicts 0 [1 2]; 0 miss [0 1]. (FIFO would have hit on the second 1.)
    read_keys(&mut m, &[0, 1, 0, 2, 1, 0], &mut t);
    let z = m.zms_counters();
    assert_eq!((z.cache_hits, z.cache_misses), (1, 5));
    assert_eq!(m.cached_entries(), 2);
    // Chunks of 2 units: units 0 and 1 share an entry, 2 and 3 another.
    let mut m = zms(ZmsParams {
        map_unit: MapUnit::Chunk,
        ..T
    });
    m.complete(&cmd(Op::Write, 0, 4 * K4, 0));
    let mut t = 1_000_000;
    read_keys(&mut m, &[0, 1, 2, 3, 0], &mut t);
    let z = m.zms_counters();
    assert_eq!((z.cache_hits, z.cache_misses), (3, 2));
    // Zones: one entry for all of them.
    let mut m = zms(ZmsParams {
        map_unit: MapUnit::Zone,
        ..T
    });
    m.complete(&cmd(Op::Write, 0, 4 * K4, 0));
    let mut t = 1_000_000;
    read_keys(&mut m, &[0, 1, 2, 3], &mut t);
    let z = m.zms_counters();
    assert_eq!((z.cache_hits, z.cache_misses), (3, 1));
    // No cache: every lookup misses.
    let mut m = zms(ZmsParams {
        l2p_entries: 0,
        ..T
    });
    m.complete(&cmd(Op::Write, 0, 4 * K4, 0));
    let mut t = 1_000_000;
    read_keys(&mut m, &[0, 0, 0], &mut t);
    assert_eq!(m.zms_counters().cache_misses, 3);
    assert_eq!(m.cached_entries(), 0);
}

#[test]
fn conzone_like_preset() {
    let p = CONZONE_LIKE;
    assert_eq!(zms_by_name("conzone-like"), Some(p));
    assert_eq!(zms_by_name("zn540-like"), Some(ZN540_LIKE));
    assert_eq!(zms_by_name("970pro-like"), None);
    assert!(p.check(8).is_ok());
    assert_eq!(p.check(4).unwrap_err().param, "luns");
    // 8 dies × 4 planes × 48 pages × 16 KiB = 24 MiB of data per 32 MiB zone, 16 zones.
    assert_eq!(p.superblock_size(), 24 << 20);
    assert_eq!(p.capacity(), 512 << 20);
    assert_eq!(p.l2p_entries, 261_120);
    // The buffer is one TLC one-shot unit on every die and plane.
    assert_eq!(p.wb_size, 8 * 4 * 3 * (16 << 10));
    // 98_304 units, 4 × 8 MiB of pSLC positions, 2 × 16 zone words, 2 × 98_304 links.
    assert_eq!(p.table_len(), Ok(98_304 + 4 * 2_048 + 32 + 2 * 98_304));
    let mut m: Zms<Vec<u32>, 8> = Zms::new(p, vec![0; p.table_len().unwrap()]).unwrap();
    // 4 KiB: PCIe ceil(4096 / 3 GB/s) = 1_366.
    assert_eq!(m.complete(&cmd(Op::Write, 0, K4, 0)), 1_366);
    // The rest of the buffer (1532 KiB): PCIe from 1_366, 1_568_768 B = 522_923 (rounded up):
    // 524_289. Full flush: 384 units, 96 pages, 12 on each die, three 4-plane pSLC programs
    // per die (225_000); 192 KiB per die over its channel (138_262), dies 0..4 first, then
    // dies 4..8 on the same channels (276_524): 524_289 + 276_524 + 225_000 = 1_025_813.
    let big = (1536 << 10) - K4;
    assert_eq!(m.complete(&cmd(Op::Write, K4, big, 1_000)), 524_289);
    assert_eq!(m.complete(&cmd(Op::Flush, 0, 0, 600_000)), 1_025_813);
    assert_eq!(m.zms_counters().flush_full, 1);
    // 4 KiB read of pSLC data on die 0: a miss reads mapping page 0 (die 0: 20_000, 4 KiB over
    // the channel: 2_881), then the data (20_000, 2_881), PCIe 1_366: 47_128; a hit 24_247.
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 2_000_000)), 2_047_128);
    assert_eq!(m.complete(&cmd(Op::Read, 0, K4, 3_000_000)), 3_024_247);
}

#[test]
fn conzone_like_sustained_write_falls_off_the_cliff() {
    let p = CONZONE_LIKE;
    let mut m: Zms<Vec<u32>, 8> = Zms::new(p, vec![0; p.table_len().unwrap()]).unwrap();
    // 1536 KiB writes back to back, each submitted when the previous completes: 1536 KiB over
    // PCIe is 524_288 exactly; from the second on, a write also waits for the previous
    // flush (501_524, see conzone_like_preset): 1_025_812.
    let wb = 1536 << 10;
    let mut t = 0;
    let mut lat = Vec::new();
    let mut first_fold = None;
    for i in 0..24 {
        // 16 buffers fill zone 0's 24 MiB; then zone 1 (32 MiB on).
        let off = if i < 16 {
            i * wb
        } else {
            (32 << 20) + (i - 16) * wb
        };
        let done = m.complete(&cmd(Op::Write, off, wb, t));
        lat.push(done - t);
        if first_fold.is_none() && m.zms_counters().folds > 0 {
            first_fold = Some(i);
        }
        t = done;
    }
    assert_eq!(lat[0], 524_288);
    assert_eq!(lat[1], 1_025_812);
    // Flushes that cross a pSLC superblock start programming their first part early: never
    // slower than a plain one.
    assert!(lat[1..22].iter().all(|&l| l <= 1_025_812), "{lat:?}");
    // 32 MiB of pSLC hold 21⅓ buffers: the 22nd flush (write 21's) folds pSLC superblock 0
    // (8 MiB of zone 0), and write 22 waits for it. On die 4 (the second die of channel 0,
    // last served): 64 pSLC page reads (1_280_000), its 1 MiB out over channel 0 after die
    // 0's (737_396 each: 1_474_792 from the fold's start, the reads end later: to
    // 2_017_396), 1 MiB back after both outbound (to 3_492_188), 64 pages in 6 one-shot
    // programs (5_625_000: to 9_117_188), erase (3_500_000: 12_617_188), the flush's
    // remaining 8 pages in two pSLC programs (150_000): 12_767_188; then write 22's PCIe
    // transfer: 13_291_476, plus at most the work the flush gave die 4 before the fold
    // (64 KiB over the channel after die 0's, 2 × 46_132, and one program, 75_000).
    assert_eq!(first_fold, Some(21));
    assert_eq!(m.zms_counters().folds, 1);
    assert_eq!(m.zms_counters().fold_units, 2_048);
    assert!(
        (13_291_476..=13_291_476 + 2 * 46_132 + 75_000).contains(&lat[22]),
        "{}",
        lat[22]
    );
    assert_eq!(lat[23], 1_025_812);
}

#[test]
fn zn540_like_preset() {
    let p = ZN540_LIKE;
    assert!(p.check(32).is_ok());
    assert_eq!(p.superblock_size(), 48 << 20);
    assert_eq!(p.capacity(), 512 << 20);
    let mut m: Zms<Vec<u32>, 32> = Zms::new(p, vec![0; p.table_len().unwrap()]).unwrap();
    // 4 KiB: fw 5_600 + 600, PCIe ceil(4096 / 3.05 GB/s) = 1_343.
    assert_eq!(m.complete(&cmd(Op::Write, 0, K4, 0)), 7_543);
    // 14 zones on 14 buffers (modulo): no contention; the 15th shares with the first.
    for z in 1..15 {
        m.complete(&cmd(Op::Write, z % 8 * (64 << 20), K4, z * 100_000));
    }
    assert_eq!(m.zms_counters().flush_contention, 0);
    assert_eq!(m.min_latency(Op::Read), 13_000);
}

#[test]
fn any_model_zms() {
    type Any = AnyModel<Vec<u32>, 8, 8>;
    let mut a = Any::Zms(zms(T));
    assert_eq!(a.name(), "zms");
    assert_eq!(a.complete(&cmd(Op::Write, 0, K4, 0)), 810);
    assert_eq!(a.min_latency(Op::Write), 300);
    assert_eq!(a.counters().writes, 1);
}

#[test]
fn bad_parameters_are_named() {
    let bad = |f: &dyn Fn(&mut ZmsParams)| {
        let mut p = T;
        f(&mut p);
        p.check(8).unwrap_err().param
    };
    assert_eq!(bad(&|p| p.channels = 0), "channels");
    assert_eq!(bad(&|p| p.luns = 0), "luns");
    assert_eq!(bad(&|p| p.luns = 5), "luns");
    assert_eq!(bad(&|p| p.planes = 17), "planes");
    assert_eq!(bad(&|p| p.page_size = 6000), "page_size");
    assert_eq!(bad(&|p| p.pages_per_block = 4), "pages_per_block");
    assert_eq!(bad(&|p| p.zones = 0), "zones");
    assert_eq!(bad(&|p| p.zones = u32::MAX), "zones");
    assert_eq!(bad(&|p| p.slc_superblocks = 65), "slc_superblocks");
    assert_eq!(bad(&|p| p.tprog_qlc = u64::MAX), "tprog_qlc");
    assert_eq!(bad(&|p| p.tbers_slc = 200_000_000_000), "tbers_slc");
    assert_eq!(bad(&|p| p.wb_flush_ns = u64::MAX), "wb_flush_ns");
    assert_eq!(bad(&|p| p.channel_bw = 0), "channel_bw");
    assert_eq!(bad(&|p| p.pcie_bw = 0), "pcie_bw");
    assert_eq!(bad(&|p| p.wb_count = 0), "wb_count");
    assert_eq!(bad(&|p| p.wb_count = 17), "wb_count");
    assert_eq!(bad(&|p| p.wb_size = 100), "wb_size");
    assert_eq!(bad(&|p| p.wb_size = 2 * ZS), "wb_size");
    let chunk = |p: &mut ZmsParams| {
        p.map_unit = MapUnit::Chunk;
        p.chunk_size = 5 * K4;
    };
    assert_eq!(bad(&chunk), "chunk_size");
    // The chunk size matters only for chunk mapping.
    assert!(ZmsParams {
        chunk_size: 5 * K4,
        ..T
    }
    .check(8)
    .is_ok());
    assert_eq!(
        format!(
            "{}",
            ZmsParams {
                pages_per_block: 4,
                ..T
            }
            .check(8)
            .unwrap_err()
        ),
        "pages_per_block must be a non-zero multiple of the cell's bits (3 TLC, 4 QLC), at most 65536"
    );
}

// ---- properties ----

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => Just(Op::Read),
        5 => Just(Op::Write),
        1 => Just(Op::Flush),
        1 => Just(Op::ZoneReset),
        1 => Just(Op::ZoneFinish),
        1 => Just(Op::Other),
    ]
}

/// Commands over the 4 zones of [`T`] and a little past them, with gaps up to 60 µs.
fn commands() -> impl Strategy<Value = Vec<Command>> {
    prop::collection::vec((op(), 0u64..100, 0u64..8, 0u64..60_000, 1u32..3), 1..150).prop_map(|v| {
        let mut t = 0;
        v.into_iter()
            .map(|(op, unit, n, gap, nsid)| {
                t += gap;
                Command {
                    op,
                    nsid: if nsid == 2 && unit % 7 == 0 { 2 } else { 1 },
                    offset: unit * K4,
                    len: if op == Op::Flush || op == Op::Other {
                        0
                    } else {
                        n * K4 + K4
                    },
                    submit: t,
                }
            })
            .collect()
    })
}

fn params() -> impl Strategy<Value = ZmsParams> {
    (
        (0u32..3, any::<bool>(), any::<bool>(), any::<bool>()),
        1u32..4,
        prop_oneof![Just(0u64), Just(30_000u64)],
        0u32..4,
        0u32..3,
    )
        .prop_map(
            |((slc, bypass, qlc, wide), wb, flush, l2p, map)| ZmsParams {
                slc_superblocks: slc,
                // QLC: 8 pages per block (32-unit zones), no bypass.
                cell: if qlc { Cell::Qlc } else { Cell::Tlc },
                pages_per_block: if qlc { 8 } else { 6 },
                slc_bypass: bypass && !qlc,
                // 40-unit zones over the superblock.
                zone_size: if wide { 40 * K4 } else { 0 },
                wb_count: wb,
                wb_policy: if wb == 2 {
                    WbPolicy::Modulo
                } else {
                    WbPolicy::Static
                },
                wb_flush_ns: flush,
                l2p_entries: l2p,
                map_unit: [MapUnit::Page, MapUnit::Chunk, MapUnit::Zone][map as usize],
                ..T
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn never_early_and_deterministic(cmds in commands(), p in params()) {
        let mut a = zms(p);
        let mut b = zms(p);
        let mut ta = Vec::new();
        for c in &cmds {
            let t = a.complete(c);
            prop_assert!(t >= c.submit + a.min_latency(c.op), "{c:?} at {t}");
            ta.push(t);
            // pSLC superblocks hold 8 units for both cell types.
            prop_assert!(a.slc_units_held() <= u64::from(p.slc_superblocks) * 8);
            prop_assert!(a.cached_entries() <= p.l2p_entries);
        }
        let tb: Vec<u64> = cmds.iter().map(|c| b.complete(c)).collect();
        prop_assert_eq!(ta, tb);
        prop_assert_eq!(a.counters(), b.counters());
        prop_assert_eq!(a.zms_counters(), b.zms_counters());
        let c = a.counters();
        let z = a.zms_counters();
        // Every unit programmed is data the host wrote, or data a fold moved.
        prop_assert_eq!(c.nand_pages_written, z.slc_units + z.bulk_units + z.fold_units);
        prop_assert!(z.slc_units + z.bulk_units <= c.host_pages_written);
        prop_assert_eq!(c.gc_runs, z.folds);
    }
}
