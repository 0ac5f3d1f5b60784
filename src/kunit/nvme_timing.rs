// SPDX-License-Identifier: GPL-2.0

//! KUnit: the emulated controller's timing models under the real nvme driver.
//!
//! Completions never come before the configured latency; several commands of one queue are
//! in flight in the controller at once (a `simple` model with slots overlaps them); a latency
//! beyond the driver's I/O timeout takes the driver through abort and controller reset;
//! rewriting a small NAND device triggers garbage collection that its counters show; and a
//! ConZone-like zoned controller (`zms`) shows, in its counters, buffer contention as zones
//! written in parallel outnumber its write buffers and L2P cache misses as random reads
//! range beyond the cache's reach, with its conventional namespace timed apart.
//! Measured times are printed, not judged (speed and accuracy are `make bench`'s): the only
//! timed checks are "not early" and ordering.

use crate::glue::nvme::dev::{NvmeDev, Profile};
use crate::glue::nvme::instance::Instance;
use crate::glue::nvme::timing::{Kind, TimingProfile, ZmsReport};
use crate::kunit::blk_io::BlockDev;
use crate::kunit::nvme_io::pattern;
use crate::model::nvme::timing::{NandParams, SimpleParams, ZmsParams};
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::time::{Instant, Monotonic};
use kernel::workqueue;

/// A `simple` profile: `latency_ns` for reads and writes, `slots` slots, bandwidth matched
/// (a 4 KiB command takes exactly the latency while slots are free).
fn simple(latency_ns: u64, slots: u32) -> TimingProfile {
    let bw = SimpleParams::matched_bw(latency_ns, slots);
    TimingProfile {
        kind: Kind::Simple,
        simple: SimpleParams {
            read_latency: latency_ns,
            write_latency: latency_ns,
            read_bw: bw,
            write_bw: bw,
            slots,
        },
        ..TimingProfile::default()
    }
}

/// A controller with one zoned namespace of `ns_mib` MiB timed by a `zms` model with
/// parameters `zms`, after `namespaces - 1` conventional ones of the same size: zones of the
/// power of two above one superblock step of the model (`conzone-like`: 2 MiB), the step
/// (1536 KiB) their capacity, so that the model's superblock is one step.
fn zms_dev(zms: ZmsParams, ns_mib: u32, namespaces: u32) -> Result<NvmeDev> {
    let step = zms.superblock_step();
    let kib = |b: u64| u32::try_from(b >> 10).map_err(|_| EINVAL);
    NvmeDev::new(
        &Profile {
            ns_mib,
            namespaces,
            zoned: 1,
            zone_kib: kib(step.next_power_of_two())?,
            zone_cap_kib: kib(step)?,
            timing: TimingProfile {
                kind: Kind::Zms,
                zms,
                ..TimingProfile::default()
            },
            ..Default::default()
        },
        Instance::alloc()?,
    )
}

/// The `zms` part of `dev`'s timing report.
fn zms_report(dev: &NvmeDev) -> Result<ZmsReport> {
    dev.timing_report().zms.ok_or(EINVAL)
}

/// Nanoseconds since `t`.
fn since(t: Instant<Monotonic>) -> u64 {
    u64::try_from(t.elapsed().as_nanos()).unwrap_or(0)
}

/// `n` 4 KiB reads submitted at once from `n` workers, and what became of them.
struct Parallel {
    bdev: BlockDev,
    done: AtomicU32,
    errno: AtomicI32,
    /// Shortest and longest latency seen, in ns.
    min_ns: AtomicU64,
    max_ns: AtomicU64,
}

impl Parallel {
    /// Reads 4 KiB at `i * 4096` from worker `i` for `i < n`; waits for all of them.
    fn run(bdev: BlockDev, n: u32) -> Result<Arc<Self>> {
        let p = Arc::new(
            Parallel {
                bdev,
                done: AtomicU32::new(0),
                errno: AtomicI32::new(0),
                min_ns: AtomicU64::new(u64::MAX),
                max_ns: AtomicU64::new(0),
            },
            GFP_KERNEL,
        )?;
        for i in 0..n {
            let j = p.clone();
            // The buffer on the heap: a worker's stack (16 KiB on UML) also carries the block
            // layer and the driver below the transfer.
            let mut buf = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
            workqueue::system().try_spawn(GFP_KERNEL, move || {
                let t = Instant::<Monotonic>::now();
                let r = j.bdev.transfer(false, u64::from(i) * 4096, &mut buf[..], 1);
                let ns = since(t);
                j.min_ns.fetch_min(ns, Ordering::Relaxed);
                j.max_ns.fetch_max(ns, Ordering::Relaxed);
                if let Err(e) = r {
                    j.errno.store(e.to_errno(), Ordering::Relaxed);
                }
                j.done.fetch_add(1, Ordering::Release);
            })?;
        }
        if !crate::kunit::nvme::wait_until(|| p.done.load(Ordering::Acquire) == n) {
            return Err(ETIMEDOUT);
        }
        Ok(p)
    }
}

#[kernel::macros::kunit_tests(nvmock_nvme_timing)]
mod tests {
    use super::*;
    use crate::glue::nvme::timing::conventional;
    use crate::kunit::blk_io::nvme_namespace_devts;
    use crate::kunit::nvme::wait_until;
    use crate::kunit::nvme_io::open_ns;
    use crate::model::nvme::timing::{mix, presets, MapUnit, UNIT};
    use crate::model::nvme::State;

    /// With 200 us reads and writes, every 4 KiB read and write the driver does one at a time
    /// takes at least 200 us from submission to completion, as the host measures it.
    #[test]
    fn completions_are_never_early() -> Result {
        const LATENCY: u64 = 200_000;
        let dev = NvmeDev::new(
            &Profile {
                ns_mib: 4,
                timing: simple(LATENCY, 8),
                ..Default::default()
            },
            Instance::alloc()?,
        )?;
        let bdev = open_ns(&dev)?;
        let start = dev.timing_report().counters;
        let mut buf = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        let (mut min, mut max, mut sum) = (u64::MAX, 0u64, 0u64);
        const N: u64 = 64;
        for i in 0..N {
            pattern(i, &mut buf);
            let t = Instant::<Monotonic>::now();
            bdev.transfer(i % 2 == 0, (i / 2) * 4096, &mut buf, 1)?;
            let ns = since(t);
            min = min.min(ns);
            max = max.max(ns);
            sum += ns;
        }
        pr_info!(
            "nvme_timing: simple {} ns: {} commands at QD 1: min {} ns, mean {} ns, max {} ns\n",
            LATENCY,
            N,
            min,
            sum / N,
            max
        );
        check!(min >= LATENCY);
        let c = dev.timing_report().counters;
        check!(c.reads - start.reads == N / 2 && c.writes - start.writes == N / 2);
        Ok(())
    }

    /// Eight reads submitted at once on one queue, with eight slots of 50 ms: the controller
    /// holds all eight completions at once (they overlap instead of following each other),
    /// and none completes early.
    #[test]
    fn commands_of_one_queue_overlap() -> Result {
        const LATENCY: u64 = 50_000_000;
        const N: u32 = 8;
        let dev = NvmeDev::new(
            &Profile {
                ns_mib: 4,
                timing: simple(LATENCY, N),
                ..Default::default()
            },
            Instance::alloc()?,
        )?;
        let bdev = open_ns(&dev)?;
        let t = Instant::<Monotonic>::now();
        let p = Parallel::run(bdev, N)?;
        let total = since(t);
        let r = dev.timing_report();
        pr_info!(
            "nvme_timing: {} reads of {} ns with {} slots: {} ns in all ({} ns one after the other), \
             each {}..{} ns, {} held at most\n",
            N,
            LATENCY,
            N,
            total,
            u64::from(N) * LATENCY,
            p.min_ns.load(Ordering::Relaxed),
            p.max_ns.load(Ordering::Relaxed),
            r.peak_held
        );
        check!(p.errno.load(Ordering::Relaxed) == 0);
        check!(p.min_ns.load(Ordering::Relaxed) >= LATENCY);
        // Several commands of the one queue were held at once (all of them, unless the host
        // was too slow to submit the next before the first was due: TCG can be).
        check!(r.peak_held >= 2);
        // Every read reached the model (the block layer may merge neighbours into fewer
        // commands, so count at least one).
        check!(r.counters.reads >= 1);
        Ok(())
    }

    /// Writes that take 6 s (reads 100 us, so that the driver's partition scan is quick)
    /// against a request timeout of 500 ms: a write times out, the driver aborts it (the
    /// controller receives the Abort and cannot abort a command it has fetched), times it
    /// out again and resets the controller. Deleting the I/O queue on the way posts the held
    /// completion, so the write succeeds, after at least the two timeouts, and its data is
    /// on the medium. The controller comes back ready and reads work at once; with the
    /// timeout restored a write takes its full latency, with no further abort or reset.
    #[test]
    fn latency_beyond_the_timeout_aborts_and_resets() -> Result {
        const WRITE_NS: u64 = 6_000_000_000;
        const READ_NS: u64 = 100_000;
        const TIMEOUT_MS: u32 = 500;
        let mut timing = simple(READ_NS, 8);
        timing.simple.write_latency = WRITE_NS;
        timing.simple.write_bw = SimpleParams::matched_bw(WRITE_NS, 8);
        let dev = NvmeDev::new(
            &Profile {
                ns_mib: 4,
                timing,
                ..Default::default()
            },
            Instance::alloc()?,
        )?;
        let bdev = open_ns(&dev)?;
        let enables = dev.stats().enables.load(Ordering::Relaxed);
        check!(enables == 1);
        let aborts = dev.timing_report().aborts;
        check!(aborts == 0);

        // The queue is this controller's: the low timeout goes with it if the case fails
        // before restoring it.
        let saved_ms = bdev.timeout_ms();
        bdev.set_timeout_ms(TIMEOUT_MS);
        let mut buf = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        pattern(500, &mut buf);
        let t = Instant::<Monotonic>::now();
        bdev.transfer(true, 0, &mut buf, 1)?;
        let took = since(t);
        // Abort, then reset: the controller enabled again (the write may end, when the
        // driver deletes its queue, before the reset is through).
        check!(wait_until(
            || dev.stats().enables.load(Ordering::Relaxed) > enables
        ));
        let r = dev.timing_report();
        pr_info!(
            "nvme_timing: write of {} ns against a {} ms timeout: ended after {} ns, {} abort(s), \
             {} controller enable(s), {} completion(s) held at most\n",
            WRITE_NS,
            TIMEOUT_MS,
            took,
            r.aborts,
            dev.stats().enables.load(Ordering::Relaxed),
            r.peak_held
        );
        check!(took >= 2 * u64::from(TIMEOUT_MS) * 1_000_000);
        check!(r.aborts == aborts + 1);
        check!(dev.stats().enables.load(Ordering::Relaxed) == enables + 1);
        check!(wait_until(|| dev.with_ctrl(
            |c| c.state() == State::Ready && c.sq_info(1).is_some()
        )));
        let mut back = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        bdev.transfer(false, 0, &mut back, 1)?;
        check!(back == buf);

        // The timeout back: a write takes its latency in full, and nothing times out.
        bdev.set_timeout_ms(saved_ms);
        check!(bdev.timeout_ms() == saved_ms);
        pattern(501, &mut buf);
        let t = Instant::<Monotonic>::now();
        bdev.transfer(true, 4096, &mut buf, 1)?;
        check!(since(t) >= WRITE_NS);
        bdev.transfer(false, 4096, &mut back, 1)?;
        check!(back == buf);
        check!(dev.timing_report().aborts == aborts + 1);
        check!(dev.stats().enables.load(Ordering::Relaxed) == enables + 1);
        Ok(())
    }

    /// A NAND device of two dies with 32 KiB blocks, 1 MiB for the host and 25% spare:
    /// rewriting it (once in order, then 4 KiB units in a scattered order) runs out of free
    /// blocks, and garbage collection shows in the counters (runs, NAND pages written beyond
    /// the host's). The data stays the host's.
    #[test]
    fn rewriting_a_small_nand_device_collects_garbage() -> Result {
        let nand = NandParams {
            channels: 1,
            luns: 2,
            planes: 1,
            page_size: 4096,
            pages_per_block: 8,
            blocks_per_lun: 3,
            capacity: 1 << 20,
            op_percent: 25,
            tr_4k: 2_000,
            tr_page: 2_000,
            read_jitter: 0,
            tprog: 5_000,
            tbers: 20_000,
            channel_bw: 1_000_000_000,
            pcie_bw: 4_000_000_000,
            fw_read_4k: 1_000,
            fw_read: 1_000,
            fw_wbuf0: 500,
            fw_wbuf1: 100,
            wb_size: 8 * 4096,
            seed: 1,
        };
        let dev = NvmeDev::new(
            &Profile {
                ns_mib: 1,
                timing: TimingProfile {
                    kind: Kind::Nand,
                    nand,
                    ..TimingProfile::default()
                },
                ..Default::default()
            },
            Instance::alloc()?,
        )?;
        let bdev = open_ns(&dev)?;
        let mut buf = KVVec::from_elem(0u8, 64 << 10, GFP_KERNEL)?;
        for chunk in 0..16u64 {
            pattern(chunk, &mut buf);
            bdev.transfer(true, chunk * (64 << 10), &mut buf, 16)?;
        }
        let first = dev.timing_report().counters;
        check!(first.gc_runs == 0);
        // 3 passes over the 256 units in a scattered order (7 is prime to 256).
        let mut unit = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        for i in 0..768u64 {
            let u = (i * 7) % 256;
            pattern(1000 + u, &mut unit);
            bdev.transfer(true, u * 4096, &mut unit, 1)?;
        }
        let c = dev.timing_report().counters;
        pr_info!(
            "nvme_timing: nand 1 MiB, 2 dies: host pages {}, NAND pages {}, GC runs {}, WAF x1000 {}, \
             write buffer stalls {}\n",
            c.host_pages_written,
            c.nand_pages_written,
            c.gc_runs,
            c.waf_x1000(),
            c.wb_stalls
        );
        check!(c.host_pages_written >= 256 + 768);
        check!(c.gc_runs > 0);
        check!(c.nand_pages_written > c.host_pages_written);
        check!(c.waf_x1000() > 1000);
        // The medium holds the last data written.
        let mut back = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        for u in [0u64, 7, 100, 255] {
            pattern(1000 + u, &mut unit);
            bdev.transfer(false, u * 4096, &mut back, 1)?;
            check!(back == unit);
        }
        Ok(())
    }

    /// Bad timing parameters are refused when the controller is made, naming the parameter.
    #[test]
    fn bad_timing_profiles_are_refused() -> Result {
        let mut zero_slots = simple(1_000, 1);
        zero_slots.simple.slots = 0;
        let mut zero_bw = simple(1_000, 1);
        zero_bw.simple.read_bw = 0;
        let mut op = TimingProfile {
            kind: Kind::Nand,
            ..TimingProfile::default()
        };
        op.nand.op_percent = 100;
        for timing in [zero_slots, zero_bw, op] {
            let r = NvmeDev::new(
                &Profile {
                    ns_mib: 1,
                    timing,
                    ..Default::default()
                },
                Instance::alloc()?,
            );
            check!(matches!(r, Err(e) if e == EINVAL));
        }
        Ok(())
    }
    /// A ConZone-like controller (the `conzone-like` preset, without its timed flush, so that
    /// the host's pace does not decide which flush comes first): writing as many zones in
    /// turn as it has write buffers (4 KiB at a time, each zone at its write pointer) flushes
    /// nothing; writing one zone more, two of the zones share a buffer, and every write that
    /// finds the other zone's data there flushes it (a contention flush) and waits for the
    /// flush (a write-buffer stall). The counts follow from the preset's buffer count and the
    /// static or modulo assignment, which both give zones `n` and `2n` buffer 0 here.
    #[test]
    fn zones_beyond_the_write_buffers_contend() -> Result {
        const ROUNDS: u64 = 8;
        let p = ZmsParams {
            wb_flush_ns: 0,
            ..presets::CONZONE_LIKE
        };
        let n = u64::from(p.wb_count);
        let zone = p.superblock_step().next_power_of_two();
        // Rounds of 4 KiB must not fill a buffer (a full flush).
        check!(ROUNDS * UNIT < p.wb_size);
        let dev = zms_dev(p, 32, 1)?;
        let bdev = open_ns(&dev)?;
        check!(bdev.is_zoned());
        let mut unit = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        // Zones first..first + count in turn, ROUNDS times; the counters' change.
        let mut turns = |first: u64, count: u64| -> Result<(u64, u64, u64)> {
            let a = zms_report(&dev)?;
            let s0 = dev.timing_report().counters.wb_stalls;
            for r in 0..ROUNDS {
                for z in first..first + count {
                    pattern(z * 1000 + r, &mut unit);
                    bdev.transfer(true, z * zone + r * UNIT, &mut unit, 1)?;
                }
            }
            let b = zms_report(&dev)?;
            let s1 = dev.timing_report().counters.wb_stalls;
            Ok((
                b.counters.flush_contention - a.counters.flush_contention,
                s1 - s0,
                b.counters.flush_full - a.counters.flush_full,
            ))
        };
        // Zones 0..n: one buffer each.
        let (flushes, stalls, full) = turns(0, n)?;
        pr_info!(
            "nvme_timing: conzone-like, {} write buffer(s), {} zone(s) in turn: {} contention flushes, {} stalls\n",
            n,
            n,
            flushes,
            stalls
        );
        check!(flushes == 0 && stalls == 0 && full == 0);
        // Zones n..=2n: n + 1 zones. The first round finds every buffer holding data of the
        // first zones (n flushes); then zones n and 2n take buffer 0 from each other at
        // every write but the first (2 * ROUNDS - 1).
        let (flushes, stalls, full) = turns(n, n + 1)?;
        pr_info!(
            "nvme_timing: conzone-like, {} write buffer(s), {} zones in turn: {} contention flushes, {} stalls\n",
            n,
            n + 1,
            flushes,
            stalls
        );
        check!(full == 0);
        check!(flushes == n + 2 * ROUNDS - 1);
        // Each contention flush holds up the write that caused it.
        check!(stalls == flushes);
        // Zone 2n holds what was written last.
        let mut back = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        pattern(2 * n * 1000 + ROUNDS - 1, &mut unit);
        bdev.transfer(false, 2 * n * zone + (ROUNDS - 1) * UNIT, &mut back, 1)?;
        check!(back == unit);
        Ok(())
    }
    /// A ConZone-like controller with its L2P cache shrunk to map half a zone (the preset's
    /// cache maps 1020 MiB, more than a test namespace; page mapping, so an entry per 4 KiB):
    /// after four zones are written, random 4 KiB reads over a working set of half the cache's
    /// reach miss at most once per entry (cold) and hit otherwise; over four zones (8 times
    /// the reach) they mostly miss (LRU keeps 1/8 of the set: about 7 in 8 miss).
    #[test]
    fn reads_beyond_the_l2p_reach_miss() -> Result {
        const READS: u64 = 512;
        const ZONES: u64 = 4;
        let step = presets::CONZONE_LIKE.superblock_step();
        let zu = step / UNIT;
        let p = ZmsParams {
            l2p_entries: u32::try_from(zu / 2).map_err(|_| EINVAL)?,
            ..presets::CONZONE_LIKE
        };
        check!(p.map_unit == MapUnit::Page);
        let entries = u64::from(p.l2p_entries);
        let zone = step.next_power_of_two();
        let dev = zms_dev(p, 32, 1)?;
        let bdev = open_ns(&dev)?;
        let mut buf = KVVec::from_elem(0u8, 128 << 10, GFP_KERNEL)?;
        for z in 0..ZONES {
            for i in 0..step / (128 << 10) {
                pattern(z * 100 + i, &mut buf);
                bdev.transfer(true, z * zone + i * (128 << 10), &mut buf, 32)?;
            }
        }
        // Random reads over `units` units of the written zones, in zone order; the change of
        // (hits, misses).
        let mut unit = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        let mut reads = |units: u64, seed: u64| -> Result<(u64, u64)> {
            let a = zms_report(&dev)?.counters;
            for i in 0..READS {
                let u = mix(seed, i) % units;
                bdev.transfer(false, u / zu * zone + u % zu * UNIT, &mut unit, 1)?;
            }
            let b = zms_report(&dev)?.counters;
            Ok((b.cache_hits - a.cache_hits, b.cache_misses - a.cache_misses))
        };
        let small = entries / 2;
        let (hits, misses) = reads(small, 1)?;
        pr_info!(
            "nvme_timing: conzone-like, L2P cache of {} entries: {} random reads over {} units: {} hits, {} misses\n",
            entries,
            READS,
            small,
            hits,
            misses
        );
        check!(misses <= small);
        check!(hits + small >= READS);
        let large = ZONES * zu;
        check!(large >= 8 * entries);
        let (hits, misses) = reads(large, 2)?;
        pr_info!(
            "nvme_timing: conzone-like, L2P cache of {} entries: {} random reads over {} units: {} hits, {} misses\n",
            entries,
            READS,
            large,
            hits,
            misses
        );
        check!(misses > READS / 2);
        check!(hits < READS / 4);
        let r = zms_report(&dev)?;
        check!(r.l2p_cached <= p.l2p_entries);
        Ok(())
    }

    /// A conventional namespace beside the zoned one on a ConZone-like controller (without
    /// the timed flush, so that the finish below finds the zone's data still buffered however
    /// slow the host) is timed apart (pSLC-like reads, buffered writes): its reads never
    /// complete before the conventional model's read latency, and they move none of the zoned
    /// model's counters. Zones per state follow the controller's records; a Zone Finish
    /// reaches the model, which flushes the zone's buffer.
    #[test]
    fn conventional_namespace_beside_the_zones() -> Result {
        let p = ZmsParams {
            wb_flush_ns: 0,
            ..presets::CONZONE_LIKE
        };
        let c = conventional(&p);
        let dev = zms_dev(p, 8, 2)?;
        let pdev = dev.pdev().ok_or(ENODEV)?;
        // Both namespaces' disks, each opened once the driver has added it.
        let mut devts = KVec::new();
        check!(crate::kunit::nvme::wait_until(
            || match nvme_namespace_devts(&pdev) {
                Ok(v) => {
                    devts = v;
                    devts.len() == 2
                }
                Err(_) => false,
            }
        ));
        let (mut conv, mut zoned) = (None, None);
        for &d in devts.iter() {
            let mut opened = Err(ETIMEDOUT);
            crate::kunit::nvme::wait_until(|| {
                opened = BlockDev::open(d);
                !matches!(&opened, Err(e) if *e == ENXIO)
            });
            let b = opened?;
            if b.is_zoned() {
                zoned = Some(b);
            } else {
                conv = Some(b);
            }
        }
        let (Some(conv), Some(zoned)) = (conv, zoned) else {
            pr_err!("nvme_timing: no conventional and zoned namespace pair\n");
            return Err(EBADMSG);
        };
        let mut unit = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        pattern(7, &mut unit);
        conv.transfer(true, 0, &mut unit, 1)?;
        let before = zms_report(&dev)?.counters;
        let mut min = u64::MAX;
        for i in 0..32u64 {
            let t = Instant::<Monotonic>::now();
            conv.transfer(false, (i % 4) * 4096, &mut unit, 1)?;
            min = min.min(since(t));
        }
        pr_info!(
            "nvme_timing: conzone-like, conventional namespace: 4 KiB reads of at least {} ns (model {} ns)\n",
            min,
            c.read_latency
        );
        check!(min >= c.read_latency);
        let after = zms_report(&dev)?.counters;
        check!(after.cache_hits == before.cache_hits && after.cache_misses == before.cache_misses);
        // One write opens a zone implicitly; a finish makes it full, through the model.
        let zone = p.superblock_step().next_power_of_two();
        zoned.transfer(true, zone, &mut unit, 1)?;
        let r = zms_report(&dev)?;
        check!(r.zones[1] == 1);
        zoned.zone_mgmt(kernel::bindings::req_op_REQ_OP_ZONE_FINISH, zone, zone)?;
        let r = zms_report(&dev)?;
        check!(r.zones[1] == 0 && r.zones[5] == 1);
        check!(r.counters.zone_finishes == 1 && r.counters.flush_finish == 1);
        Ok(())
    }

    /// Zoned timing the profile cannot have is refused when the controller is made: no
    /// zoned namespace, a zone capacity that is not a whole superblock of the preset.
    #[test]
    fn bad_zoned_timing_profiles_are_refused() -> Result {
        let zms = TimingProfile {
            kind: Kind::Zms,
            ..TimingProfile::default()
        };
        for (zoned, zone_kib, zone_cap_kib) in [(0, 4096, 0), (1, 4096, 0), (1, 4096, 2048)] {
            let r = NvmeDev::new(
                &Profile {
                    ns_mib: 8,
                    zoned,
                    zone_kib,
                    zone_cap_kib,
                    timing: zms,
                    ..Default::default()
                },
                Instance::alloc()?,
            );
            check!(matches!(r, Err(e) if e == EINVAL));
        }
        Ok(())
    }
}
