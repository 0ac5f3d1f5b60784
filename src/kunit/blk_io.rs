// SPDX-License-Identifier: GPL-2.0

//! Synchronous block I/O for tests: the block device a driver registered for a device, opened
//! by its `dev_t`, read and written with bios that bypass the page cache.

use core::ffi::{c_int, c_void};
use core::marker::PhantomData;
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use kernel::bindings;
use crate::glue::nvme::pci_host::PciDev;
use kernel::page::Page;
use kernel::prelude::*;
use kernel::sync::Completion;

/// `BLK_OPEN_READ | BLK_OPEN_WRITE` (a cast macro, which bindgen does not see).
const BLK_OPEN_RW: bindings::blk_mode_t = 1 | 2;
/// Bytes per sector, the unit of `bi_sector`.
const SECTOR: usize = 512;
/// `REQ_OP_MASK`: the operation's bits of a request's `cmd_flags` (a macro over an enum).
const REQ_OP_MASK: bindings::blk_opf_t = (1 << 8) - 1;

/// The name of a device (its kobject's).
///
/// # Safety
///
/// `dev` is a live device.
unsafe fn dev_name<'a>(dev: *mut bindings::device) -> &'a [u8] {
    // SAFETY: a registered device's kobject name is a valid C string while it lives.
    unsafe {
        let name = (*dev).kobj.name;
        if name.is_null() {
            &[]
        } else {
            CStr::from_char_ptr(name).to_bytes()
        }
    }
}

/// What [`find_child`] looks for and found.
struct Search<'a> {
    pred: &'a dyn Fn(&[u8], bindings::dev_t) -> bool,
    found: Option<(bindings::dev_t, *mut bindings::device)>,
}

unsafe extern "C" fn visit(dev: *mut bindings::device, data: *mut c_void) -> c_int {
    // SAFETY: `data` is the `Search` of `find_child`, alive during the walk; `dev` is live.
    unsafe {
        let s = &mut *data.cast::<Search<'_>>();
        if (s.pred)(dev_name(dev), (*dev).devt) {
            s.found = Some(((*dev).devt, dev));
            return 1;
        }
    }
    0
}

/// The first child of `parent` whose name and `dev_t` satisfy `pred`: its `dev_t` and address. The
/// address is only meant for a further search while the parent's driver stays bound.
///
/// # Safety
///
/// `parent` is a live device.
unsafe fn find_child(
    parent: *mut bindings::device,
    pred: &dyn Fn(&[u8], bindings::dev_t) -> bool,
) -> Option<(bindings::dev_t, *mut bindings::device)> {
    let mut s = Search { pred, found: None };
    // SAFETY: `parent` is live; `visit` only reads the children it is given.
    unsafe {
        bindings::device_for_each_child(parent, (&mut s as *mut Search<'_>).cast(), Some(visit))
    };
    s.found
}

/// The `dev_t` of the first NVMe namespace block device of PCI device `pdev`: the controller
/// device `nvmeX` under the function, then `nvmeXnY` under it (`ngXnY`, the generic character
/// device, is skipped). `None` until the driver has scanned the namespaces.
pub(crate) fn nvme_namespace_devt(pdev: &PciDev) -> Option<bindings::dev_t> {
    let is_ns = |n: &[u8]| n.starts_with(b"nvme") && n[4..].contains(&b'n');
    namespace_devt(pdev, &is_ns)
}

/// The `dev_t`s of every NVMe namespace block device of PCI device `pdev` (in the order the
/// driver added them, which need not be NSID order: it scans namespaces concurrently). Empty
/// until the driver has scanned them.
pub(crate) fn nvme_namespace_devts(pdev: &PciDev) -> Result<KVec<bindings::dev_t>> {
    let found = core::cell::RefCell::new(KVec::new());
    let failed = core::cell::Cell::new(false);
    let collect = |n: &[u8], devt: bindings::dev_t| {
        if n.starts_with(b"nvme") && n[4..].contains(&b'n') && devt != 0 {
            failed.set(failed.get() || found.borrow_mut().push(devt, GFP_KERNEL).is_err());
        }
        false
    };
    let is_ctrl = |n: &[u8], _| n.starts_with(b"nvme") && !n[4..].contains(&b'n');
    // SAFETY: as in `namespace_devt`.
    unsafe {
        if let Some((_, ctrl)) = find_child(&raw mut (*pdev.as_ptr()).dev, &is_ctrl) {
            find_child(ctrl, &collect);
        }
    }
    if failed.get() {
        return Err(ENOMEM);
    }
    Ok(found.into_inner())
}

fn namespace_devt(pdev: &PciDev, is_ns: &dyn Fn(&[u8]) -> bool) -> Option<bindings::dev_t> {
    let is_ctrl = |n: &[u8], _| n.starts_with(b"nvme") && !n[4..].contains(&b'n');
    let is_ns = |n: &[u8], _| is_ns(n);
    // SAFETY: `pdev` holds a reference to the device; the controller device is a child of it
    // and lives while the driver is bound, which it is during the lookup.
    unsafe {
        let (_, ctrl) = find_child(&raw mut (*pdev.as_ptr()).dev, &is_ctrl)?;
        let (devt, _) = find_child(ctrl, &is_ns)?;
        (devt != 0).then_some(devt)
    }
}

/// A reference to the nvme driver's controller device (`nvmeX`) of a PCI function, which
/// keeps the controller's memory (and its tag sets) alive until it is dropped.
///
/// A test that removes a function while one of its block devices is open holds one across
/// the removal and drops it after closing the device: otherwise the close, under the disk's
/// `open_mutex`, drops the controller's last reference and frees its tag set there
/// (`blk_mq_free_tag_set()`, `synchronize_srcu()`), an order lockdep reports as a possible
/// deadlock against the driver's reset path (see the README's "Kernel issues" notes).
///
/// # Invariants
///
/// `0` is a device whose reference this object holds.
pub(crate) struct CtrlRef(*mut bindings::device);

// SAFETY: a device reference may be dropped from any thread.
unsafe impl Send for CtrlRef {}

impl CtrlRef {
    /// The controller device under `pdev`, while the driver is bound.
    pub(crate) fn get(pdev: &PciDev) -> Option<Self> {
        let is_ctrl = |n: &[u8], _| n.starts_with(b"nvme") && !n[4..].contains(&b'n');
        // SAFETY: `pdev` holds a reference to the function; its child lives while the
        // driver is bound, and `get_device` takes our own reference before the walk ends.
        unsafe {
            let (_, ctrl) = find_child(&raw mut (*pdev.as_ptr()).dev, &is_ctrl)?;
            // INVARIANT: the reference taken here is released in `drop`.
            Some(CtrlRef(bindings::get_device(ctrl)))
        }
    }
}

impl Drop for CtrlRef {
    fn drop(&mut self) {
        // SAFETY: the reference taken in `get` (type invariant).
        unsafe { bindings::put_device(self.0) };
    }
}

/// An open block device.
///
/// # Invariants
///
/// `file` is the open file of the block device, `bdev` its block device; closed in `drop`.
pub(crate) struct BlockDev {
    file: *mut bindings::file,
    bdev: *mut bindings::block_device,
}

// SAFETY: an open block device file may be used and closed from any thread.
unsafe impl Send for BlockDev {}
// SAFETY: `&BlockDev` submits bios, which any number of threads may do concurrently.
unsafe impl Sync for BlockDev {}

impl BlockDev {
    /// Opens block device `devt` for reading and writing (not exclusively).
    pub(crate) fn open(devt: bindings::dev_t) -> Result<Self> {
        // SAFETY: no holder (not exclusive), no holder ops.
        let file = unsafe {
            bindings::bdev_file_open_by_dev(
                devt,
                BLK_OPEN_RW,
                core::ptr::null_mut(),
                core::ptr::null(),
            )
        };
        let file = kernel::error::from_err_ptr(file)?;
        // SAFETY: `file` is an open block device file.
        let bdev = unsafe { bindings::file_bdev(file) };
        Ok(BlockDev { file, bdev })
    }

    /// The logical block size.
    pub(crate) fn block_size(&self) -> u32 {
        // SAFETY: `bdev` is open (type invariant). For a whole-disk bdev this is the
        // queue's logical block size.
        unsafe { (*(*(*self.bdev).bd_disk).queue).limits.logical_block_size }
    }

    /// Whether the device is a zoned block device (its disk has zones).
    pub(crate) fn is_zoned(&self) -> bool {
        // SAFETY: `bdev` is open (type invariant): its disk is live.
        unsafe { (*(*self.bdev).bd_disk).nr_zones != 0 }
    }

    /// Sets the request timeout of the device's queue (the driver's default is 30 s).
    pub(crate) fn set_timeout_ms(&self, ms: u32) {
        let j = kernel::time::msecs_to_jiffies(ms);
        // SAFETY: `bdev` is open (type invariant): its disk and queue are live.
        unsafe { bindings::blk_queue_rq_timeout((*(*self.bdev).bd_disk).queue, j as u32) };
    }

    /// The request timeout of the device's queue, in ms.
    pub(crate) fn timeout_ms(&self) -> u32 {
        // SAFETY: the queue is live while `bdev` is open (type invariant).
        let j = unsafe { (*self.queue()).rq_timeout };
        // The kernel's HZ (`bindings::HZ` is the user-visible 100): jiffies_to_msecs()'s
        // exact ratio from timeconst.h.
        let ms = u64::from(j) * u64::from(bindings::HZ_TO_MSEC_NUM)
            / u64::from(bindings::HZ_TO_MSEC_DEN);
        u32::try_from(ms).unwrap_or(u32::MAX)
    }

    /// The disk's request queue.
    fn queue(&self) -> *mut bindings::request_queue {
        // SAFETY: `bdev` is open (type invariant): its disk and queue are live.
        unsafe { (*(*self.bdev).bd_disk).queue }
    }

    /// The number of zones the block layer knows the disk by (0 if it is not zoned).
    pub(crate) fn nr_zones(&self) -> u32 {
        // SAFETY: `bdev` is open (type invariant): its disk is live.
        unsafe { (*(*self.bdev).bd_disk).nr_zones }
    }

    /// The queue's `max_hw_sectors` and `max_segments` limits, which bound what a driver
    /// transfers in one command.
    pub(crate) fn hw_limits(&self) -> (u32, u16) {
        // SAFETY: the queue is live while `bdev` is open (type invariant).
        unsafe {
            let l = &(*self.queue()).limits;
            (l.max_hw_sectors, l.max_segments)
        }
    }

    /// Requests of this disk with operation `op` that the block layer has started (handed
    /// to the driver) and that have not completed: for a test to see that a command is at
    /// the device.
    pub(crate) fn started(&self, op: bindings::req_op) -> usize {
        struct Count {
            q: *mut bindings::request_queue,
            op: bindings::req_op,
            n: usize,
        }
        unsafe extern "C" fn visit(rq: *mut bindings::request, data: *mut c_void) -> bool {
            // SAFETY: `data` is the `Count` of `started`, alive during the walk; the tag
            // iterator holds a reference to `rq` while it calls us.
            unsafe {
                let c = &mut *data.cast::<Count>();
                if (*rq).q == c.q && (*rq).cmd_flags & REQ_OP_MASK == c.op {
                    c.n += 1;
                }
            }
            true
        }
        let q = self.queue();
        let mut c = Count { q, op, n: 0 };
        // SAFETY: the queue and its tag set are live while `bdev` is open (type invariant);
        // `visit` only reads the requests it is given and `c`, which outlives the walk.
        unsafe {
            bindings::blk_mq_tagset_busy_iter(
                (*q).tag_set,
                Some(visit),
                (&mut c as *mut Count).cast(),
            )
        };
        c.n
    }

    /// The block layer's own record of the zone holding byte `offset`
    /// (`blkdev_get_zone_info()`): the zone condition it caches (Implicitly and Explicitly
    /// Opened and Closed collapse into `BLK_ZONE_COND_ACTIVE`, a zone with no write pointer
    /// has `u64::MAX`), which it takes from the device only when it has none.
    pub(crate) fn zone_info(&self, offset: u64) -> Result<bindings::blk_zone> {
        let mut z = bindings::blk_zone::default();
        // SAFETY: `bdev` is open (type invariant); `z` is writable.
        let rc = unsafe {
            bindings::blkdev_get_zone_info(self.bdev, offset / SECTOR as u64, &mut z)
        };
        kernel::error::to_result(rc)?;
        Ok(z)
    }

    /// Writes `data` at byte `offset` as bios of `chunk` bytes each (a multiple of the page
    /// size that divides `data.len()`), submitted one after the other without waiting:
    /// sequential writes in flight together. [`Writes::wait`] gives each one's result.
    pub(crate) fn start_writes(&self, offset: u64, data: &[u8], chunk: usize) -> Result<Writes<'_>> {
        let psize = kernel::page::PAGE_SIZE;
        if offset % SECTOR as u64 != 0
            || chunk == 0
            || chunk % psize != 0
            || data.len() % chunk != 0
        {
            return Err(EINVAL);
        }
        let n = data.len() / chunk;
        let per_bio = chunk / psize;
        let state = KBox::pin_init(
            pin_init!(WritesState {
                done <- Completion::new(),
                left: AtomicUsize::new(1),
            }),
            GFP_KERNEL,
        )?;
        let mut slots = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            slots.push(
                WriteSlot {
                    state: &*state,
                    errno: AtomicI32::new(0),
                },
                GFP_KERNEL,
            )?;
        }
        let mut pages = KVec::with_capacity(data.len() / psize, GFP_KERNEL)?;
        for part in data.chunks(psize) {
            let p = Page::alloc_page(GFP_KERNEL)?;
            // SAFETY: `part` is readable for its length, which is the page's.
            unsafe { p.write_raw(part.as_ptr(), 0, part.len())? };
            pages.push(p, GFP_KERNEL)?;
        }
        let mut w = Writes {
            state,
            slots,
            pages,
            submitting: true,
            _bdev: PhantomData,
        };
        for i in 0..n {
            // On failure `w`'s drop waits for the bios already submitted.
            self.submit_write(&w, i, offset + (i * chunk) as u64, per_bio)?;
        }
        w.end_submission();
        Ok(w)
    }

    /// Submits bio `i` of `w`, of its `per_bio` pages from `i * per_bio`, at byte `offset`.
    fn submit_write(&self, w: &Writes<'_>, i: usize, offset: u64, per_bio: usize) -> Result {
        let pages = w.pages.get(i * per_bio..(i + 1) * per_bio).ok_or(EINVAL)?;
        let slot = w.slots.get(i).ok_or(EINVAL)?;
        let psize = kernel::page::PAGE_SIZE;
        // SAFETY: `bdev` is open; `fs_bio_set` is the kernel's general bio set.
        let bio = unsafe {
            bindings::bio_alloc_bioset(
                self.bdev,
                per_bio as u16,
                bindings::req_op_REQ_OP_WRITE,
                bindings::GFP_KERNEL,
                &raw mut bindings::fs_bio_set,
            )
        };
        if bio.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `bio` is ours until it is submitted (or put). Its pages and `slot` live in
        // `w` until `w` has waited for every submitted bio (`Writes`' drop), and the block
        // device, which `w` borrows, stays open meanwhile.
        unsafe {
            (*bio).bi_iter.bi_sector = offset / SECTOR as u64;
            for p in pages.iter() {
                if bindings::bio_add_page(bio, p.as_ptr(), psize as u32, 0) != psize as _ {
                    bindings::bio_put(bio);
                    return Err(ENOMEM);
                }
            }
            (*bio).bi_end_io = Some(write_ended);
            (*bio).bi_private = (slot as *const WriteSlot).cast_mut().cast();
            w.state.left.fetch_add(1, Ordering::AcqRel);
            bindings::submit_bio(bio);
        }
        Ok(())
    }

    /// Reads (`write == false`) or writes `buf` at byte `offset`, with one bio per at most
    /// `pages_per_bio` pages. `offset` and `buf.len()` must be multiples of the sector size.
    pub(crate) fn transfer(
        &self,
        write: bool,
        offset: u64,
        buf: &mut [u8],
        pages_per_bio: usize,
    ) -> Result {
        if offset % SECTOR as u64 != 0 || buf.len() % SECTOR != 0 || pages_per_bio == 0 {
            return Err(EINVAL);
        }
        let psize = kernel::page::PAGE_SIZE;
        let chunk = pages_per_bio * psize;
        let mut done = 0;
        while done < buf.len() {
            let len = (buf.len() - done).min(chunk);
            self.one_bio(write, offset + done as u64, &mut buf[done..done + len])?;
            done += len;
        }
        Ok(())
    }

    fn one_bio(&self, write: bool, offset: u64, buf: &mut [u8]) -> Result {
        let op = if write {
            bindings::req_op_REQ_OP_WRITE
        } else {
            bindings::req_op_REQ_OP_READ
        };
        self.bio_op(op, write, offset, buf).map(|_| ())
    }

    /// Appends `buf` (at most one page per bio vector, within the device's append limit) to
    /// the zone that starts at byte `zone_start`, with `REQ_OP_ZONE_APPEND`; returns the byte
    /// offset the device wrote it at.
    pub(crate) fn zone_append(&self, zone_start: u64, buf: &mut [u8]) -> Result<u64> {
        if buf.is_empty() || buf.len() % SECTOR != 0 {
            return Err(EINVAL);
        }
        let sector = self.bio_op(bindings::req_op_REQ_OP_ZONE_APPEND, true, zone_start, buf)?;
        Ok(sector * SECTOR as u64)
    }

    /// Runs zone management operation `op` (`REQ_OP_ZONE_OPEN`, `_CLOSE`, `_FINISH`,
    /// `_RESET`) on the zones of bytes `offset..offset + len` (`len` 0 with
    /// `REQ_OP_ZONE_RESET` at 0: all zones).
    pub(crate) fn zone_mgmt(&self, op: bindings::req_op, offset: u64, len: u64) -> Result {
        // SAFETY: `bdev` is open (type invariant).
        let rc = unsafe {
            bindings::blkdev_zone_mgmt(
                self.bdev,
                op,
                offset / SECTOR as u64,
                len / SECTOR as u64,
            )
        };
        kernel::error::to_result(rc)
    }

    /// The device's report of the zones from byte `offset` on, at most `out`'s capacity of
    /// them, into `out` (cleared first): the driver's Zone Management Receive, through the
    /// block layer.
    pub(crate) fn report_zones(
        &self,
        offset: u64,
        out: &mut KVec<bindings::blk_zone>,
    ) -> Result<usize> {
        unsafe extern "C" fn collect(
            zone: *mut bindings::blk_zone,
            _idx: u32,
            data: *mut c_void,
        ) -> c_int {
            // SAFETY: `data` is the `KVec` of `report_zones`, alive during the call, and
            // `zone` is valid for the callback's duration.
            unsafe {
                let out = &mut *data.cast::<KVec<bindings::blk_zone>>();
                match out.push_within_capacity(*zone) {
                    Ok(()) => 0,
                    Err(_) => ENOSPC.to_errno(),
                }
            }
        }
        out.clear();
        let n = u32::try_from(out.capacity()).map_err(|_| EINVAL)?;
        // SAFETY: `bdev` is open (type invariant); `collect` matches `report_zones_cb` and
        // gets `out`, which outlives the call.
        let rc = unsafe {
            bindings::blkdev_report_zones(
                self.bdev,
                offset / SECTOR as u64,
                n,
                Some(collect),
                (out as *mut KVec<bindings::blk_zone>).cast(),
            )
        };
        kernel::error::to_result(rc)?;
        Ok(out.len())
    }

    /// Submits one bio of operation `op` at byte `offset` carrying `buf` (its data written
    /// to the device if `out`, else filled from it), and waits for it. Returns the bio's
    /// sector after completion: where a Zone Append landed.
    fn bio_op(&self, op: bindings::req_op, out: bool, offset: u64, buf: &mut [u8]) -> Result<u64> {
        let write = out;
        let psize = kernel::page::PAGE_SIZE;
        let npages = buf.len().div_ceil(psize);
        let mut pages = KVec::with_capacity(npages, GFP_KERNEL)?;
        for i in 0..npages {
            let p = Page::alloc_page(GFP_KERNEL)?;
            if write {
                let part = &buf[i * psize..buf.len().min((i + 1) * psize)];
                // SAFETY: `part` is readable for its length, which fits in the page.
                unsafe { p.write_raw(part.as_ptr(), 0, part.len())? };
            }
            pages.push(p, GFP_KERNEL)?;
        }
        // SAFETY: `bdev` is open; `fs_bio_set` is the kernel's general bio set.
        let bio = unsafe {
            bindings::bio_alloc_bioset(
                self.bdev,
                npages as u16,
                op,
                bindings::GFP_KERNEL,
                &raw mut bindings::fs_bio_set,
            )
        };
        if bio.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `bio` is ours until `bio_put`; the pages outlive the (synchronous) I/O.
        let rc = unsafe {
            (*bio).bi_iter.bi_sector = offset / SECTOR as u64;
            let mut ok = true;
            for (i, p) in pages.iter().enumerate() {
                let len = (buf.len() - i * psize).min(psize) as u32;
                if bindings::bio_add_page(bio, p.as_ptr(), len, 0) != len as _ {
                    ok = false;
                    break;
                }
            }
            let rc = if ok {
                bindings::submit_bio_wait(bio)
            } else {
                ENOMEM.to_errno()
            };
            let sector = (*bio).bi_iter.bi_sector;
            bindings::bio_put(bio);
            (rc, sector)
        };
        let (rc, sector) = rc;
        if rc != 0 {
            return Err(Error::from_errno(rc));
        }
        if !write {
            for (part, p) in buf.chunks_mut(psize).zip(pages.iter()) {
                // SAFETY: `part` is writable for its length, which fits in the page.
                unsafe { p.read_raw(part.as_mut_ptr(), 0, part.len())? };
            }
        }
        Ok(sector)
    }
}

/// What the bios of a [`Writes`] share: the count of those not ended (plus one while they
/// are being submitted) and the completion the last one signals.
#[pin_data]
struct WritesState {
    #[pin]
    done: Completion,
    left: AtomicUsize,
}

impl WritesState {
    /// One bio (or the submission) is over.
    fn put(&self) {
        if self.left.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.complete_all();
        }
    }
}

/// One bio of a [`Writes`]: its result once it has ended.
struct WriteSlot {
    state: *const WritesState,
    errno: AtomicI32,
}

/// The end of a bio of [`BlockDev::start_writes`]: records its status, frees it and counts it
/// off. Called by the block layer (in interrupt context, or in the submitter's when the
/// bio fails before reaching the driver).
unsafe extern "C" fn write_ended(bio: *mut bindings::bio) {
    // SAFETY: `bi_private` is the bio's `WriteSlot` (set in `submit_write`), alive until its
    // `Writes` has seen every bio end; so is the shared state it points to. The bio is ours
    // to put once it has ended.
    unsafe {
        let slot = &*(*bio).bi_private.cast::<WriteSlot>();
        let errno = bindings::blk_status_to_errno((*bio).bi_status);
        bindings::bio_put(bio);
        slot.errno.store(errno, Ordering::Relaxed);
        (*slot.state).put();
    }
}

/// Writes in flight together (see [`BlockDev::start_writes`]); dropping it waits for them.
///
/// # Invariants
///
/// Every submitted bio points at one of `slots` and at `state`, and carries pages of
/// `pages`; `state.left` counts the bios not ended, plus one while `submitting`. None of them
/// moves or is freed before `state.left` is 0 (`drop` waits for it).
pub(crate) struct Writes<'a> {
    state: Pin<KBox<WritesState>>,
    slots: KVec<WriteSlot>,
    pages: KVec<Page>,
    submitting: bool,
    _bdev: PhantomData<&'a BlockDev>,
}

impl Writes<'_> {
    fn end_submission(&mut self) {
        if self.submitting {
            self.submitting = false;
            self.state.put();
        }
    }

    /// Waits until every write has ended; each one's result, in submission (and offset)
    /// order.
    pub(crate) fn wait(&mut self) -> Result<KVec<Result>> {
        self.end_submission();
        self.state.done.wait_for_completion();
        let mut out = KVec::with_capacity(self.slots.len(), GFP_KERNEL)?;
        for s in self.slots.iter() {
            let e = s.errno.load(Ordering::Relaxed);
            out.push(if e == 0 { Ok(()) } else { Err(Error::from_errno(e)) }, GFP_KERNEL)?;
        }
        Ok(out)
    }
}

impl Drop for Writes<'_> {
    fn drop(&mut self) {
        self.end_submission();
        // The bios still use the slots and pages (type invariant).
        self.state.done.wait_for_completion();
    }
}

impl Drop for BlockDev {
    fn drop(&mut self) {
        // SAFETY: opened in `open` (type invariant), closed once here, synchronously: a
        // kthread's fput() would defer the release past the device's removal.
        unsafe { bindings::__fput_sync(self.file) };
    }
}
