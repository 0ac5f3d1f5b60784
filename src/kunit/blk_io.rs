// SPDX-License-Identifier: GPL-2.0

//! Synchronous block I/O for tests: the block device a driver registered for a device, opened
//! by its `dev_t`, read and written with bios that bypass the page cache.

use core::ffi::{c_int, c_void};
use kernel::bindings;
use crate::glue::nvme::pci_host::PciDev;
use kernel::page::Page;
use kernel::prelude::*;

/// `BLK_OPEN_READ | BLK_OPEN_WRITE` (a cast macro, which bindgen does not see).
const BLK_OPEN_RW: bindings::blk_mode_t = 1 | 2;
/// Bytes per sector, the unit of `bi_sector`.
const SECTOR: usize = 512;

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

impl Drop for BlockDev {
    fn drop(&mut self) {
        // SAFETY: opened in `open` (type invariant), closed once here, synchronously: a
        // kthread's fput() would defer the release past the device's removal.
        unsafe { bindings::__fput_sync(self.file) };
    }
}
