// SPDX-License-Identifier: GPL-2.0

//! An in-kernel load generator: block I/O at a fixed queue depth from worker kthreads, with
//! no system call per I/O, and the latency of every I/O in a histogram.
//!
//! A run is described by one line of `key=value` words ([`Config::parse`]):
//!
//! ```text
//! dev=259:0 | dev=/dev/nvme0n1   the block device (major:minor, or a path to its node)
//! rw=randread|randwrite|read|write   4 KiB-class random or sequential I/O (default randread)
//! bs=4k        bytes per I/O, a multiple of the logical block size (512 .. 256k)
//! qd=32        I/Os each worker keeps in flight (1 .. 1024)
//! jobs=1       worker kthreads (1 .. 64)
//! secs=5 | ms=500   how long the workers submit (then the I/Os in flight drain)
//! offset=0 size=0   the byte range used (size 0: to the end of the device)
//! zones=1      zoned devices, rw=write: zones written in parallel (each from its start)
//! seed=1       the random offsets' seed (each worker derives its own)
//! ios=0        stop each worker after this many I/Os (0: only the time limits the run)
//! ```
//!
//! Each worker owns `qd` bios (initialised once, reset for every I/O) and one buffer of `bs`
//! bytes that all of them use (the data is not checked). It submits all of them, then
//! sleeps until completions arrive: the completion callback only stamps the time and the
//! status into the bio's slot, sets the slot's bit in the worker's done mask, and wakes the
//! worker if (and only if) it sleeps. The worker records each completed I/O's latency
//! (`ktime_get()` before `submit_bio()` to the callback's stamp) and resubmits it with a new
//! offset, in its own context, under one plug per batch, until the run's time is up.
//!
//! Random offsets are uniform over the range in units of `bs`. Sequential I/O on a
//! conventional device splits the range into one region per worker, each read or written
//! from its start and wrapping. On a zoned device `rw=write` resets the sequential zones of
//! the range first, then writes `zones` zones at a time from their starts (stream `s` takes
//! zones `s`, `s + zones`, ...; worker `j` the streams `s % jobs == j`); a stream that runs
//! out of zones stops, and the report says so (`exhausted=`). Random writes are refused on a
//! zoned device (its zones only take writes at the write pointer).
//!
//! The result is one line ([`Report`]), logged and kept for reading:
//! `nvmock-loadgen: dev=259:0 rw=randread bs=4096 qd=32 jobs=1 zones=0 ms=5000 ios=.. errors=0
//! elapsed_ns=.. iops=.. bw_kib=.. mean_ns=.. min_ns=.. p50_ns=.. p99_ns=.. p999_ns=..
//! max_ns=.. exhausted=0 submit_ns_per_io=.. sleep_ns=.. sleeps=.. reaps=..`: the last four say
//! where the workers' time went (the mean time inside `submit_bio()`, the time asleep waiting
//! for completions, summed over the workers, how often they slept, and the passes that
//! reaped completions), for a profile of a run.

use crate::model::histogram::{mul_div, Histogram, BUCKETS};
use core::cell::UnsafeCell;
use core::ffi::{c_int, c_void};
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use kernel::alloc::KVVec;
use kernel::bindings;
use kernel::page::{Page, PAGE_SIZE};
use kernel::prelude::*;
use kernel::str::CString;
use kernel::types::Opaque;

/// Most I/Os a worker keeps in flight.
pub(crate) const MAX_QD: u32 = 1024;
/// Most workers.
pub(crate) const MAX_JOBS: u32 = 64;
/// Largest I/O.
pub(crate) const MAX_BS: u32 = 256 << 10;
/// Longest run.
pub(crate) const MAX_MS: u64 = 3_600_000;
/// Bio vectors of the largest I/O.
const MAX_VECS: usize = MAX_BS as usize / PAGE_SIZE;
/// `BLK_OPEN_READ` and `BLK_OPEN_WRITE` (cast macros, which bindgen does not see).
const BLK_OPEN_READ: bindings::blk_mode_t = 1;
const BLK_OPEN_WRITE: bindings::blk_mode_t = 2;
/// Bytes per sector, the unit of `bi_sector`.
const SECTOR_SHIFT: u32 = 9;

/// What a run does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rw {
    /// Random reads.
    RandRead,
    /// Random writes.
    RandWrite,
    /// Sequential reads.
    Read,
    /// Sequential writes (per zone on a zoned device).
    Write,
}

impl Rw {
    fn parse(s: &str) -> Option<Rw> {
        Some(match s {
            "randread" => Rw::RandRead,
            "randwrite" => Rw::RandWrite,
            "read" => Rw::Read,
            "write" => Rw::Write,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Rw::RandRead => "randread",
            Rw::RandWrite => "randwrite",
            Rw::Read => "read",
            Rw::Write => "write",
        }
    }

    fn is_write(self) -> bool {
        matches!(self, Rw::RandWrite | Rw::Write)
    }

    fn is_random(self) -> bool {
        matches!(self, Rw::RandRead | Rw::RandWrite)
    }
}

/// The block device of a run, as given.
#[derive(Debug)]
pub(crate) enum DevSpec {
    /// `major:minor`.
    Devt(u32, u32),
    /// A path to the device node.
    Path(CString),
}

/// A run's description.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) dev: DevSpec,
    pub(crate) rw: Rw,
    pub(crate) bs: u32,
    pub(crate) qd: u32,
    pub(crate) jobs: u32,
    pub(crate) ms: u64,
    pub(crate) offset: u64,
    pub(crate) size: u64,
    pub(crate) zones: u32,
    pub(crate) seed: u64,
    pub(crate) ios: u64,
}

/// A number with an optional binary suffix (`k`, `m`, `g`).
fn number(key: &str, v: &str) -> Result<u64> {
    let (digits, shift) = match v.as_bytes().last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 20),
        Some(b'g' | b'G') => (&v[..v.len() - 1], 30),
        _ => (v, 0),
    };
    let n: u64 = digits.parse().map_err(|_| {
        pr_err!("nvmock-loadgen: {}={}: not a number\n", key, v);
        EINVAL
    })?;
    n.checked_shl(shift)
        .filter(|x| x >> shift == n)
        .ok_or_else(|| {
            pr_err!("nvmock-loadgen: {}={}: too large\n", key, v);
            EINVAL
        })
}

/// `number` within `lo..=hi`, as a `u32`.
fn bounded(key: &str, v: &str, lo: u64, hi: u64) -> Result<u32> {
    let n = number(key, v)?;
    if n < lo || n > hi {
        pr_err!("nvmock-loadgen: {}={}: must be {} to {}\n", key, v, lo, hi);
        return Err(EINVAL);
    }
    Ok(n as u32)
}

impl Config {
    /// Parses a run's description (see the module's documentation); anything wrong is
    /// refused with `EINVAL` and a message naming the word.
    pub(crate) fn parse(text: &str) -> Result<Config> {
        let mut dev = None;
        let mut cfg = Config {
            dev: DevSpec::Devt(0, 0),
            rw: Rw::RandRead,
            bs: 4096,
            qd: 32,
            jobs: 1,
            ms: 5000,
            offset: 0,
            size: 0,
            zones: 0,
            seed: 1,
            ios: 0,
        };
        let mut zones = None;
        for word in text.split_whitespace() {
            let Some((k, v)) = word.split_once('=') else {
                pr_err!("nvmock-loadgen: '{}': expected key=value\n", word);
                return Err(EINVAL);
            };
            match k {
                "dev" => dev = Some(Self::dev(v)?),
                "rw" => {
                    cfg.rw = Rw::parse(v).ok_or_else(|| {
                        pr_err!(
                            "nvmock-loadgen: rw={}: one of randread, randwrite, read, write\n",
                            v
                        );
                        EINVAL
                    })?
                }
                "bs" => cfg.bs = bounded(k, v, 512, MAX_BS.into())?,
                "qd" => cfg.qd = bounded(k, v, 1, MAX_QD.into())?,
                "jobs" => cfg.jobs = bounded(k, v, 1, MAX_JOBS.into())?,
                "secs" => cfg.ms = u64::from(bounded(k, v, 1, MAX_MS / 1000)?) * 1000,
                "ms" => cfg.ms = bounded(k, v, 1, MAX_MS)?.into(),
                "offset" => cfg.offset = number(k, v)?,
                "size" => cfg.size = number(k, v)?,
                "zones" => zones = Some(bounded(k, v, 1, u32::MAX.into())?),
                "seed" => cfg.seed = number(k, v)?,
                "ios" => cfg.ios = number(k, v)?,
                _ => {
                    pr_err!(
                        "nvmock-loadgen: unknown key '{}' (dev, rw, bs, qd, jobs, secs, ms, offset, size, zones, seed, ios)\n",
                        k
                    );
                    return Err(EINVAL);
                }
            }
        }
        cfg.dev = dev.ok_or_else(|| {
            pr_err!("nvmock-loadgen: no dev= (major:minor or /dev/... path)\n");
            EINVAL
        })?;
        if let Some(z) = zones {
            if cfg.rw != Rw::Write {
                pr_err!(
                    "nvmock-loadgen: zones={}: only with rw=write on a zoned device\n",
                    z
                );
                return Err(EINVAL);
            }
            cfg.zones = z;
        }
        Ok(cfg)
    }

    fn dev(v: &str) -> Result<DevSpec> {
        if v.starts_with('/') {
            return Ok(DevSpec::Path(CString::try_from_fmt(fmt!("{}", v))?));
        }
        let bad = || {
            pr_err!(
                "nvmock-loadgen: dev={}: give major:minor or a /dev/... path\n",
                v
            );
            EINVAL
        };
        let (ma, mi) = v.split_once(':').ok_or_else(bad)?;
        let ma: u32 = ma.parse().map_err(|_| bad())?;
        let mi: u32 = mi.parse().map_err(|_| bad())?;
        if ma >= 1 << (32 - bindings::MINORBITS) || mi >= 1 << bindings::MINORBITS {
            return Err(bad());
        }
        Ok(DevSpec::Devt(ma, mi))
    }
}

/// An open block device.
///
/// # Invariants
///
/// `file` is the open file of the block device `bdev`; closed in `drop`.
struct Bdev {
    file: *mut bindings::file,
    bdev: *mut bindings::block_device,
    devt: bindings::dev_t,
}

impl Bdev {
    fn open(spec: &DevSpec, write: bool) -> Result<Bdev> {
        let devt = match spec {
            DevSpec::Devt(ma, mi) => (ma << bindings::MINORBITS) | mi,
            DevSpec::Path(p) => {
                let mut devt: bindings::dev_t = 0;
                // SAFETY: `p` is a NUL-terminated string; `devt` is writable.
                let rc = unsafe { bindings::lookup_bdev(p.as_char_ptr(), &mut devt) };
                if rc != 0 {
                    pr_err!(
                        "nvmock-loadgen: dev={}: not a block device (error {})\n",
                        p.to_str().unwrap_or("?"),
                        rc
                    );
                    return Err(Error::from_errno(rc));
                }
                devt
            }
        };
        let mode = BLK_OPEN_READ | if write { BLK_OPEN_WRITE } else { 0 };
        // SAFETY: no holder (not exclusive), no holder ops.
        let file = unsafe {
            bindings::bdev_file_open_by_dev(devt, mode, core::ptr::null_mut(), core::ptr::null())
        };
        let file = kernel::error::from_err_ptr(file).inspect_err(|e| {
            pr_err!(
                "nvmock-loadgen: dev={}:{}: cannot open it (error {})\n",
                devt >> bindings::MINORBITS,
                devt & ((1 << bindings::MINORBITS) - 1),
                e.to_errno()
            );
        })?;
        // SAFETY: `file` is an open block device file.
        let bdev = unsafe { bindings::file_bdev(file) };
        Ok(Bdev { file, bdev, devt })
    }

    /// The logical block size.
    fn block_size(&self) -> u32 {
        // SAFETY: `bdev` is open (type invariant): its disk and queue are live.
        unsafe { (*(*(*self.bdev).bd_disk).queue).limits.logical_block_size }
    }

    /// Capacity in bytes.
    fn bytes(&self) -> u64 {
        // SAFETY: `bdev` is open (type invariant).
        unsafe { core::ptr::read_volatile(&raw const (*self.bdev).bd_nr_sectors) << SECTOR_SHIFT }
    }

    /// The number of zones (0: not zoned).
    fn nr_zones(&self) -> u32 {
        // SAFETY: `bdev` is open (type invariant): its disk is live.
        unsafe { (*(*self.bdev).bd_disk).nr_zones }
    }

    /// The sequential zones that start in bytes `start..end`: (start sector, capacity in
    /// sectors) each, in order.
    fn seq_zones(&self, start: u64, end: u64) -> Result<KVVec<(u64, u64)>> {
        unsafe extern "C" fn collect(
            z: *mut bindings::blk_zone,
            _i: u32,
            data: *mut c_void,
        ) -> c_int {
            // SAFETY: `data` is the `KVVec` of `seq_zones`, alive during the report; `z` is
            // valid for the callback's duration.
            unsafe {
                let out = &mut *data.cast::<KVVec<bindings::blk_zone>>();
                match out.push(*z, GFP_KERNEL) {
                    Ok(()) => 0,
                    Err(_) => ENOMEM.to_errno(),
                }
            }
        }
        let mut all = KVVec::<bindings::blk_zone>::new();
        // SAFETY: `bdev` is open (type invariant); `collect` matches `report_zones_cb` and
        // gets `all`, which outlives the call.
        let rc = unsafe {
            bindings::blkdev_report_zones(
                self.bdev,
                start >> SECTOR_SHIFT,
                self.nr_zones(),
                Some(collect),
                (&raw mut all).cast(),
            )
        };
        kernel::error::to_result(rc)?;
        let mut out = KVVec::new();
        for z in all.iter() {
            if z.type_ as u32 != bindings::blk_zone_type_BLK_ZONE_TYPE_CONVENTIONAL
                && z.start << SECTOR_SHIFT >= start
                && (z.start + z.len) << SECTOR_SHIFT <= end
            {
                out.push((z.start, z.capacity), GFP_KERNEL)?;
            }
        }
        Ok(out)
    }

    /// Resets the zone at `sector` of `len` sectors.
    fn reset_zone(&self, sector: u64, len: u64) -> Result {
        // SAFETY: `bdev` is open (type invariant).
        let rc = unsafe {
            bindings::blkdev_zone_mgmt(self.bdev, bindings::req_op_REQ_OP_ZONE_RESET, sector, len)
        };
        kernel::error::to_result(rc)
    }
}

impl Drop for Bdev {
    fn drop(&mut self) {
        // SAFETY: opened in `open` (type invariant), closed once here, synchronously.
        unsafe { bindings::__fput_sync(self.file) };
    }
}

/// The part of a worker that completion callbacks touch, in its own pinned allocation.
struct Shared {
    /// One bit per slot: completed, not yet seen by the worker.
    done: KVec<AtomicU64>,
    /// The worker sleeps (or is about to) on `wake`.
    sleeping: AtomicBool,
    /// Completed when a callback finds the worker sleeping.
    wake: Opaque<bindings::completion>,
    /// Completed by the worker thread as it exits.
    exited: Opaque<bindings::completion>,
}

/// One I/O of a worker: its bio and what the completion callback reports.
///
/// # Invariants
///
/// Pinned; `bio` was initialised with `bio_init` on `vecs` (`MAX_VECS` entries) and is
/// uninitialised in `drop`; `shared` points to the worker's `Shared`, which outlives the
/// slot.
struct Slot {
    bio: Opaque<bindings::bio>,
    vecs: Opaque<[bindings::bio_vec; MAX_VECS]>,
    /// `ktime_get()` at completion.
    end: AtomicU64,
    /// The bio's status at completion.
    status: AtomicU8,
    idx: u32,
    shared: *const Shared,
}

impl Drop for Slot {
    fn drop(&mut self) {
        // SAFETY: initialised in `Worker::new` (type invariant) and idle: a slot goes only
        // once its worker has exited with every I/O completed, or was never submitted.
        unsafe { bindings::bio_uninit(self.bio.get()) };
    }
}

/// A zone stream of a zoned `rw=write`: its current zone (an index into the zone list) and
/// the next write's offset in it, in sectors.
#[derive(Clone, Copy)]
struct Stream {
    zone: usize,
    wp: u64,
    exhausted: bool,
}

/// What only the worker thread touches while it runs.
struct Private {
    hist: Histogram<KVVec<u64>>,
    /// `ktime_get()` at each slot's submission.
    starts: KVec<u64>,
    rng: u64,
    /// Sequential conventional I/O: the next offset, in bytes from `first`.
    cursor: u64,
    streams: KVec<Stream>,
    next_stream: usize,
    inflight: u32,
    /// I/Os this worker may still submit.
    left: u64,
    stop: bool,
    errors: u64,
    first_error: c_int,
    last_end: u64,
    /// Where the worker's time went: in `submit_bio()` (ns, summed over I/Os), asleep
    /// waiting for completions (ns, and how many times), and the passes that reaped at
    /// least one completion.
    submit_ns: u64,
    sleep_ns: u64,
    sleeps: u64,
    reaps: u64,
}

/// The run's geometry, shared read-only by the workers.
struct Plan {
    bdev: *mut bindings::block_device,
    opf: bindings::blk_opf_t,
    rw: Rw,
    bs: u32,
    /// The range in bytes.
    offset: u64,
    size: u64,
    jobs: u32,
    /// Zoned writes: the sequential zones of the range (start, capacity in sectors), and how
    /// many are written at once.
    zones: KVVec<(u64, u64)>,
    streams: u32,
    deadline: AtomicU64,
}

/// A worker kthread's state.
///
/// # Invariants
///
/// Boxed and never moved out (its thread holds its address); `private` is used only by the
/// worker thread between its start and `shared.exited`, and by the run otherwise. Its fields
/// drop in order: the slots (and their bios) before the `Shared` they point to.
struct Worker {
    slots: KVec<Pin<KBox<Slot>>>,
    shared: Pin<KBox<Shared>>,
    pages: KVec<Page>,
    private: UnsafeCell<Private>,
    plan: *const Plan,
    job: u32,
}

/// The completion callback of every slot's bio.
///
/// # Safety
///
/// `bio` is a slot's bio (its `bi_private` is the slot), submitted by its worker.
unsafe extern "C" fn end_io(bio: *mut bindings::bio) {
    // The run frees the slots and the worker only after an RCU grace period that follows
    // the last completion: this reader section covers every access below.
    let _rcu = kernel::sync::rcu::read_lock();
    // SAFETY: per the function's safety requirements; the slot lives (see above).
    let slot = unsafe { &*(*bio).bi_private.cast::<Slot>() };
    // SAFETY: `bio_status` is read before anyone resubmits the bio (only the worker does,
    // after it sees the bit set below).
    let status = unsafe { (*bio).bi_status };
    // SAFETY: `ktime_get` may be called from any context.
    slot.end
        .store(unsafe { bindings::ktime_get() } as u64, Ordering::Relaxed);
    slot.status.store(status, Ordering::Relaxed);
    // SAFETY: `shared` outlives the slot (type invariant).
    let shared = unsafe { &*slot.shared };
    let i = slot.idx as usize;
    shared.done[i / 64].fetch_or(1 << (i % 64), Ordering::SeqCst);
    if shared.sleeping.load(Ordering::SeqCst) && shared.sleeping.swap(false, Ordering::SeqCst) {
        // SAFETY: `wake` was initialised with the worker.
        unsafe { bindings::complete(shared.wake.get()) };
    }
}

/// A 64-bit mix (splitmix64's finaliser): seeds the workers' generators.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Worker {
    fn new(plan: &Plan, job: u32, qd: u32, seed: u64, ios: u64) -> Result<KBox<Worker>> {
        let words = qd.div_ceil(64) as usize;
        let mut done = KVec::with_capacity(words, GFP_KERNEL)?;
        for _ in 0..words {
            done.push(AtomicU64::new(0), GFP_KERNEL)?;
        }
        let npages = (plan.bs as usize).div_ceil(PAGE_SIZE);
        let mut pages = KVec::with_capacity(npages, GFP_KERNEL)?;
        for _ in 0..npages {
            pages.push(
                Page::alloc_page(GFP_KERNEL | kernel::alloc::flags::__GFP_ZERO)?,
                GFP_KERNEL,
            )?;
        }
        let mut buckets = KVVec::with_capacity(BUCKETS, GFP_KERNEL)?;
        buckets.resize(BUCKETS, 0, GFP_KERNEL)?;
        let hist = Histogram::new(buckets).map_err(|_| EINVAL)?;
        let mut starts = KVec::with_capacity(qd as usize, GFP_KERNEL)?;
        starts.resize(qd as usize, 0, GFP_KERNEL)?;
        let mut streams = KVec::new();
        let mut s = job;
        while s < plan.streams {
            let exhausted = s as usize >= plan.zones.len();
            streams.push(
                Stream {
                    zone: s as usize,
                    wp: 0,
                    exhausted,
                },
                GFP_KERNEL,
            )?;
            s += plan.jobs;
        }
        let shared = KBox::pin(
            Shared {
                done,
                sleeping: AtomicBool::new(false),
                wake: Opaque::uninit(),
                exited: Opaque::uninit(),
            },
            GFP_KERNEL,
        )?;
        // SAFETY: the completions are in pinned memory and initialised before any use.
        unsafe {
            bindings::init_completion(shared.wake.get());
            bindings::init_completion(shared.exited.get());
        }
        let mut slots = KVec::with_capacity(qd as usize, GFP_KERNEL)?;
        for idx in 0..qd {
            let slot = KBox::pin(
                Slot {
                    bio: Opaque::uninit(),
                    vecs: Opaque::uninit(),
                    end: AtomicU64::new(0),
                    status: AtomicU8::new(0),
                    idx,
                    shared: &raw const *shared,
                },
                GFP_KERNEL,
            )?;
            // SAFETY: the bio and its vector table are in the slot's pinned memory; the bio
            // is uninitialised and `bio_init` initialises it for `MAX_VECS` vectors.
            unsafe {
                bindings::bio_init(
                    slot.bio.get(),
                    plan.bdev,
                    slot.vecs.get().cast(),
                    MAX_VECS as u16,
                    plan.opf,
                )
            };
            slots.push(slot, GFP_KERNEL)?;
        }
        Ok(KBox::new(
            Worker {
                slots,
                shared,
                pages,
                private: UnsafeCell::new(Private {
                    hist,
                    starts,
                    rng: mix(seed ^ mix(u64::from(job))) | 1,
                    cursor: 0,
                    streams,
                    next_stream: 0,
                    inflight: 0,
                    left: if ios == 0 { u64::MAX } else { ios },
                    stop: false,
                    errors: 0,
                    first_error: 0,
                    last_end: 0,
                    submit_ns: 0,
                    sleep_ns: 0,
                    sleeps: 0,
                    reaps: 0,
                }),
                plan,
                job,
            },
            GFP_KERNEL,
        )?)
    }

    /// A uniform random number below `n` (`n > 0`).
    fn below(p: &mut Private, n: u64) -> u64 {
        // xorshift64*
        p.rng ^= p.rng >> 12;
        p.rng ^= p.rng << 25;
        p.rng ^= p.rng >> 27;
        let r = p.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((u128::from(r) * u128::from(n)) >> 64) as u64
    }

    /// The byte offset of the next I/O, or `None` when this worker has none left.
    fn next_offset(&self, p: &mut Private) -> Option<u64> {
        // SAFETY: the plan outlives the workers (see `run`).
        let plan = unsafe { &*self.plan };
        let bs = u64::from(plan.bs);
        if plan.rw.is_random() {
            return Some(plan.offset + Self::below(p, plan.size / bs) * bs);
        }
        if plan.streams == 0 {
            // Sequential over this worker's region, wrapping.
            let region = plan.size / u64::from(plan.jobs) / bs * bs;
            let off = plan.offset + u64::from(self.job) * region + p.cursor;
            p.cursor = (p.cursor + bs) % region;
            return Some(off);
        }
        // Zoned: the next stream that has room, round robin.
        let n = p.streams.len();
        for _ in 0..n {
            let k = p.next_stream;
            p.next_stream = (k + 1) % n;
            let st = &mut p.streams[k];
            if st.exhausted {
                continue;
            }
            let (start, cap) = plan.zones[st.zone];
            let sector = start + st.wp;
            st.wp += bs >> SECTOR_SHIFT;
            if st.wp >= cap {
                st.zone += plan.streams as usize;
                st.wp = 0;
                st.exhausted = st.zone >= plan.zones.len();
            }
            return Some(sector << SECTOR_SHIFT);
        }
        None
    }

    /// Resubmits slot `i` at the next offset; false if there is none.
    fn submit(&self, p: &mut Private, i: usize) -> bool {
        if p.left == 0 {
            return false;
        }
        let Some(off) = self.next_offset(p) else {
            return false;
        };
        p.left -= 1;
        // SAFETY: the plan outlives the workers (see `run`).
        let plan = unsafe { &*self.plan };
        let bio = self.slots[i].bio.get();
        // SAFETY: the slot's bio is idle (initialised, and completed if it was submitted
        // before: its bit was seen); it is reset and refilled with the worker's pages, which
        // outlive the run, and submitted with the slot as its private data.
        unsafe {
            bindings::bio_reset(bio, plan.bdev, plan.opf);
            (*bio).bi_iter.bi_sector = off >> SECTOR_SHIFT;
            let mut left = plan.bs as usize;
            for page in self.pages.iter() {
                let len = left.min(PAGE_SIZE);
                bindings::__bio_add_page(bio, page.as_ptr(), len as u32, 0);
                left -= len;
            }
            (*bio).bi_end_io = Some(end_io);
            (*bio).bi_private = (&raw const *self.slots[i]).cast_mut().cast();
            let t = bindings::ktime_get() as u64;
            p.starts[i] = t;
            bindings::submit_bio(bio);
            p.submit_ns += (bindings::ktime_get() as u64).saturating_sub(t);
        }
        true
    }

    /// Records the completion of slot `i` and resubmits it if the run goes on.
    fn complete_one(&self, p: &mut Private, i: usize, deadline: u64) {
        let slot = &self.slots[i];
        let end = slot.end.load(Ordering::Relaxed);
        let status = slot.status.load(Ordering::Relaxed);
        p.hist.record(end.saturating_sub(p.starts[i]));
        p.last_end = p.last_end.max(end);
        if status != bindings::BLK_STS_OK as u8 {
            p.errors += 1;
            if p.first_error == 0 {
                // SAFETY: any status may be converted.
                p.first_error = unsafe { bindings::blk_status_to_errno(status) };
            }
            p.stop = true;
        }
        if p.stop || end >= deadline || !self.submit(p, i) {
            p.inflight -= 1;
        }
    }

    /// The worker thread's loop.
    fn work(&self) {
        // SAFETY: only this thread uses `private` while it runs (type invariant).
        let p = unsafe { &mut *self.private.get() };
        // SAFETY: the plan outlives the workers (see `run`).
        let deadline = unsafe { &*self.plan }.deadline.load(Ordering::Relaxed);
        let mut plug = core::mem::MaybeUninit::<bindings::blk_plug>::uninit();
        // SAFETY: `plug` is on this stack and finished before it goes.
        unsafe { bindings::blk_start_plug(plug.as_mut_ptr()) };
        for i in 0..self.slots.len() {
            if !self.submit(p, i) {
                break;
            }
            p.inflight += 1;
        }
        // SAFETY: started above.
        unsafe { bindings::blk_finish_plug(plug.as_mut_ptr()) };
        while p.inflight > 0 {
            let mut found = false;
            // SAFETY: as above.
            unsafe { bindings::blk_start_plug(plug.as_mut_ptr()) };
            for (w, word) in self.shared.done.iter().enumerate() {
                let mut bits = word.swap(0, Ordering::SeqCst);
                while bits != 0 {
                    found = true;
                    let b = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    self.complete_one(p, w * 64 + b, deadline);
                }
            }
            // SAFETY: started above.
            unsafe { bindings::blk_finish_plug(plug.as_mut_ptr()) };
            if found {
                p.reaps += 1;
                continue;
            }
            if p.inflight == 0 {
                continue;
            }
            // Nothing completed: sleep until a callback wakes us. A callback that sets its
            // bit after the check below sees `sleeping` and completes `wake`; one before it
            // is seen by the check (both sides are sequentially consistent).
            self.shared.sleeping.store(true, Ordering::SeqCst);
            if self
                .shared
                .done
                .iter()
                .any(|w| w.load(Ordering::SeqCst) != 0)
            {
                // A callback may have taken the flag (and completes `wake`): the next
                // sleep then returns at once, which only costs a loop.
                self.shared.sleeping.store(false, Ordering::SeqCst);
                continue;
            }
            // SAFETY: `wake` is initialised; process context, no locks held; `ktime_get` may
            // be called from any context.
            unsafe {
                let t = bindings::ktime_get() as u64;
                bindings::wait_for_completion(self.shared.wake.get());
                p.sleep_ns += (bindings::ktime_get() as u64).saturating_sub(t);
            }
            p.sleeps += 1;
        }
    }
}

/// The worker kthread.
///
/// # Safety
///
/// `data` is a boxed `Worker` that outlives the thread: the run waits for `exited`.
unsafe extern "C" fn worker_main(data: *mut c_void) -> c_int {
    // SAFETY: per the function's safety requirements.
    let w = unsafe { &*data.cast::<Worker>() };
    w.work();
    // SAFETY: `exited` is initialised; the run waits for it before freeing the worker, and
    // this call does not return to the module's code.
    unsafe { bindings::kthread_complete_and_exit(w.shared.exited.get(), 0) }
}

/// The result of a run.
pub(crate) struct Report {
    devt: bindings::dev_t,
    rw: Rw,
    bs: u32,
    qd: u32,
    jobs: u32,
    zones: u32,
    ms: u64,
    ios: u64,
    errors: u64,
    first_error: c_int,
    elapsed_ns: u64,
    mean: u64,
    min: u64,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
    exhausted: u32,
    submit_ns: u64,
    sleep_ns: u64,
    sleeps: u64,
    reaps: u64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let el = self.elapsed_ns.max(1);
        let iops = mul_div(self.ios, 1_000_000_000, el);
        let bw_kib = mul_div(self.ios.saturating_mul(self.bs.into()), 1_000_000_000, el) / 1024;
        write!(
            f,
            "nvmock-loadgen: dev={}:{} rw={} bs={} qd={} jobs={} zones={} ms={} ios={} errors={} \
             first_error={} elapsed_ns={} iops={} bw_kib={} mean_ns={} min_ns={} p50_ns={} \
             p99_ns={} p999_ns={} max_ns={} exhausted={} submit_ns_per_io={} sleep_ns={} \
             sleeps={} reaps={}",
            self.devt >> bindings::MINORBITS,
            self.devt & ((1 << bindings::MINORBITS) - 1),
            self.rw.name(),
            self.bs,
            self.qd,
            self.jobs,
            self.zones,
            self.ms,
            self.ios,
            self.errors,
            self.first_error,
            self.elapsed_ns,
            iops,
            bw_kib,
            self.mean,
            self.min,
            self.p50,
            self.p99,
            self.p999,
            self.max,
            self.exhausted,
            self.submit_ns / self.ios.max(1),
            self.sleep_ns,
            self.sleeps,
            self.reaps
        )
    }
}

/// Runs `cfg` to the end; refuses (with a message) what the device cannot do.
pub(crate) fn run(cfg: &Config) -> Result<Report> {
    let bdev = Bdev::open(&cfg.dev, cfg.rw.is_write())?;
    let lbs = bdev.block_size();
    let cap = bdev.bytes();
    if cfg.bs % lbs != 0 {
        pr_err!(
            "nvmock-loadgen: bs={}: not a multiple of the device's logical block size {}\n",
            cfg.bs,
            lbs
        );
        return Err(EINVAL);
    }
    let bs = u64::from(cfg.bs);
    if cfg.offset % bs != 0 || cfg.offset >= cap {
        pr_err!(
            "nvmock-loadgen: offset={}: must be a multiple of bs={} below the capacity {}\n",
            cfg.offset,
            bs,
            cap
        );
        return Err(EINVAL);
    }
    let size = if cfg.size == 0 {
        cap - cfg.offset
    } else {
        cfg.size
    };
    if size > cap - cfg.offset || size < bs * u64::from(cfg.jobs) {
        pr_err!(
            "nvmock-loadgen: size={}: must fit the device ({} bytes from offset {}) and hold one bs per job\n",
            size,
            cap - cfg.offset,
            cfg.offset
        );
        return Err(EINVAL);
    }
    let zoned = bdev.nr_zones() != 0;
    let mut zones = KVVec::new();
    let mut streams = 0;
    if zoned && cfg.rw == Rw::RandWrite {
        pr_err!("nvmock-loadgen: rw=randwrite: the device is zoned (rw=write writes its zones sequentially)\n");
        return Err(EINVAL);
    }
    if !zoned && cfg.zones != 0 {
        pr_err!(
            "nvmock-loadgen: zones={}: the device is not zoned\n",
            cfg.zones
        );
        return Err(EINVAL);
    }
    if zoned && cfg.rw == Rw::Write {
        zones = bdev.seq_zones(cfg.offset, cfg.offset + size)?;
        streams = cfg.zones.max(1);
        if zones.is_empty() || streams as usize > zones.len() || streams < cfg.jobs {
            pr_err!(
                "nvmock-loadgen: zones={}: the range has {} sequential zones; give jobs <= zones <= that\n",
                streams,
                zones.len()
            );
            return Err(EINVAL);
        }
        for &(_, cap_sectors) in zones.iter() {
            if (cap_sectors << SECTOR_SHIFT) % bs != 0 {
                pr_err!(
                    "nvmock-loadgen: bs={}: does not divide the zone capacity {}\n",
                    bs,
                    cap_sectors << SECTOR_SHIFT
                );
                return Err(EINVAL);
            }
        }
        // SAFETY: `bdev` is open; the zone size of a zoned disk is its chunk size.
        let zsize = unsafe { u64::from((*(*(*bdev.bdev).bd_disk).queue).limits.chunk_sectors) };
        for &(start, _) in zones.iter() {
            bdev.reset_zone(start, zsize).inspect_err(|e| {
                pr_err!(
                    "nvmock-loadgen: resetting the zone at sector {}: error {}\n",
                    start,
                    e.to_errno()
                );
            })?;
        }
    }
    let opf = if cfg.rw.is_write() {
        bindings::req_op_REQ_OP_WRITE
            | 1 << bindings::req_flag_bits___REQ_SYNC
            | 1 << bindings::req_flag_bits___REQ_IDLE
    } else {
        bindings::req_op_REQ_OP_READ
    };
    let plan = Plan {
        bdev: bdev.bdev,
        opf,
        rw: cfg.rw,
        bs: cfg.bs,
        offset: cfg.offset,
        size,
        jobs: cfg.jobs,
        zones,
        streams,
        deadline: AtomicU64::new(u64::MAX),
    };
    let mut workers = KVec::with_capacity(cfg.jobs as usize, GFP_KERNEL)?;
    for j in 0..cfg.jobs {
        workers.push(
            Worker::new(&plan, j, cfg.qd, cfg.seed, cfg.ios)?,
            GFP_KERNEL,
        )?;
    }
    let mut threads = KVec::with_capacity(workers.len(), GFP_KERNEL)?;
    for (j, w) in workers.iter().enumerate() {
        // SAFETY: the worker is boxed and outlives the thread (the run waits for
        // `exited`). The name format takes one unsigned argument.
        let t = unsafe {
            bindings::kthread_create_on_node(
                Some(worker_main),
                (&raw const **w).cast_mut().cast(),
                bindings::NUMA_NO_NODE,
                c"nvmock-lg%u".as_ptr().cast(),
                j as core::ffi::c_uint,
            )
        };
        match kernel::error::from_err_ptr(t) {
            Ok(t) => threads.push(t, GFP_KERNEL)?,
            Err(e) => {
                for &t in threads.iter() {
                    // SAFETY: created above and never woken: it exits without running.
                    unsafe { bindings::kthread_stop(t) };
                }
                return Err(e);
            }
        }
    }
    // SAFETY: `ktime_get` may be called from any context.
    let t0 = unsafe { bindings::ktime_get() } as u64;
    plan.deadline
        .store(t0 + cfg.ms * 1_000_000, Ordering::Relaxed);
    for &t in threads.iter() {
        // SAFETY: created above, not yet woken; the wake-up orders the deadline's store
        // before the thread's first instruction.
        unsafe { bindings::wake_up_process(t) };
    }
    for w in workers.iter() {
        // SAFETY: `exited` is initialised; the thread completes it as it exits.
        unsafe { bindings::wait_for_completion(w.shared.exited.get()) };
    }
    // Callbacks may still be returning (after the bit the worker saw): let them finish
    // before the slots go (see `end_io`).
    // SAFETY: process context.
    unsafe { bindings::synchronize_rcu() };
    let mut total: Option<Histogram<KVVec<u64>>> = None;
    let (mut errors, mut first_error, mut last_end, mut exhausted) = (0, 0, t0, 0);
    let (mut submit_ns, mut sleep_ns, mut sleeps, mut reaps) = (0, 0, 0, 0);
    for w in workers.iter() {
        // SAFETY: the thread has exited: the run owns `private` again (type invariant).
        let p = unsafe { &*w.private.get() };
        errors += p.errors;
        if first_error == 0 {
            first_error = p.first_error;
        }
        last_end = last_end.max(p.last_end);
        submit_ns += p.submit_ns;
        sleep_ns += p.sleep_ns;
        sleeps += p.sleeps;
        reaps += p.reaps;
        exhausted += p.streams.iter().filter(|s| s.exhausted).count() as u32;
        match &mut total {
            None => {
                let mut b = KVVec::with_capacity(BUCKETS, GFP_KERNEL)?;
                b.resize(BUCKETS, 0, GFP_KERNEL)?;
                let mut h = Histogram::new(b).map_err(|_| EINVAL)?;
                h.merge(&p.hist);
                total = Some(h);
            }
            Some(h) => h.merge(&p.hist),
        }
    }
    let h = total.ok_or(EINVAL)?;
    Ok(Report {
        devt: bdev.devt,
        rw: cfg.rw,
        bs: cfg.bs,
        qd: cfg.qd,
        jobs: cfg.jobs,
        zones: streams,
        ms: cfg.ms,
        ios: h.count(),
        errors,
        first_error,
        elapsed_ns: last_end - t0,
        mean: h.mean(),
        min: h.min(),
        p50: h.percentile(500_000),
        p99: h.percentile(990_000),
        p999: h.percentile(999_000),
        max: h.max(),
        exhausted,
        submit_ns,
        sleep_ns,
        sleeps,
        reaps,
    })
}
