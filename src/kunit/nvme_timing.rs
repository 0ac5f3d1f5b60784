// SPDX-License-Identifier: GPL-2.0

//! KUnit: the emulated controller's timing models under the real nvme driver.
//!
//! Completions never come before the configured latency; several commands of one queue are
//! in flight in the controller at once (a `simple` model with slots overlaps them); a latency
//! beyond the driver's I/O timeout takes the driver through abort and controller reset; and
//! rewriting a small NAND device triggers garbage collection that its counters show.
//! Measured times are printed, not judged (speed and accuracy are `make bench`'s): the only
//! timed checks are "not early" and ordering.

use crate::glue::nvme::timing::{Kind, TimingProfile};
use crate::kunit::blk_io::BlockDev;
use crate::kunit::nvme_io::pattern;
use crate::model::nvme::timing::{NandParams, SimpleParams};
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
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
            workqueue::system().try_spawn(GFP_KERNEL, move || {
                let mut buf = [0u8; 4096];
                let t = Instant::<Monotonic>::now();
                let r = j.bdev.transfer(false, u64::from(i) * 4096, &mut buf, 1);
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
    use crate::glue::nvme::dev::{NvmeDev, Profile};
    use crate::glue::nvme::instance::Instance;
    use crate::kunit::nvme_io::open_ns;
    use kernel::alloc::KVVec;

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
        let mut unit = [0u8; 4096];
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
        let mut back = [0u8; 4096];
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
}
