// SPDX-License-Identifier: GPL-2.0

//! KUnit: the corners of ZONE_DEVICE page maps on test-owned memory (x86_64: UML has no
//! ZONE_DEVICE and no devmem reservation).
//!
//! An owner's span of the devmem reservation gets real ZONE_DEVICE pages through the wrapped
//! `devm_memremap_pages()` (`mock/nvmock_iomap.c`), as the relinked pmem and device-dax
//! drivers and the P2PDMA layer ask for them. Here the suite asks for them itself, where a
//! driver would not dare:
//!
//! - a page map overlapping a live one, or one not aligned to `memremap_compat_align()`, is
//!   refused by the shim with its reason, before the kernel's own checks, which would WARN
//!   ("Conflicting mapping in same section") or fail deep in memory hotplug;
//! - a page map of several ranges: `get_dev_pagemap()` finds it in each range and not in the
//!   gap between them, and every range's struct pages map the owner's memory;
//! - a `MEMORY_DEVICE_PCI_P2PDMA` page map on an uncached span (as a CMB's), and a type the
//!   reserved RAM cannot back refused;
//! - teardown waits for the last reference on the page map, then drops the pages.
//!
//! The owner's failure injection and the P2PDMA-on-write-back refusal are
//! `nvmock_nvme_cmb`'s `devmem_span_gets_zone_device_pages`.

use crate::glue::iomap::{devmem_range, DevMemKind, IoMock, Region};
use crate::kunit::nvme_cmb::x86::{
    __wrap_devm_memremap_pages, is_err, page_facts, pagemap, RootDev,
};
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;

/// 2 MiB: the kernel's subsection, what `memremap_compat_align()` answers on x86_64.
const MIB2: u64 = 2 << 20;

extern "C" {
    fn nvmock_devmem_pgmap_hold(phys: u64) -> *mut bindings::dev_pagemap;
    fn nvmock_devmem_pgmap_unhold(pgmap: *mut bindings::dev_pagemap);
}

/// A write-back (or uncached) devmem owner with one range of `len` bytes filled with `fill`.
fn owner(kind: DevMemKind, len: u64, fill: u8) -> Result<(Pin<KBox<IoMock>>, Region)> {
    devmem_range().ok_or(ENODEV)?;
    let mock = IoMock::new_devmem(c_str!("nvmock-test zone_device"), len, kind)?;
    let r = mock.add(usize::try_from(len)?, fill)?;
    Ok((mock, r))
}

/// `__wrap_devm_memremap_pages()` of `pgmap` for `dev`: the kernel address, or the errno.
fn map(dev: &RootDev, pgmap: &mut bindings::dev_pagemap) -> core::result::Result<*mut u8, i32> {
    // SAFETY: `dev` is registered; the callers keep `pgmap` alive until `dev` is dropped
    // (its devres tears the page map down) or the call failed.
    let addr = unsafe { __wrap_devm_memremap_pages(dev.0.cast(), pgmap) };
    if is_err(addr) {
        Err(addr as isize as i32)
    } else {
        Ok(addr.cast())
    }
}

/// A page map of two ranges: the kernel's `ranges[]` is a flexible array in a union at the
/// end of `struct dev_pagemap`, whose first element is `range`.
#[repr(C)]
struct TwoRanges {
    pgmap: bindings::dev_pagemap,
    second: bindings::range,
}

// The second range is `ranges[1]`: right after the first, at the end of the structure.
const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(
        offset_of!(TwoRanges, second)
            == offset_of!(bindings::dev_pagemap, __bindgen_anon_1) + size_of::<bindings::range>()
    );
};

/// Sends the device (a raw pointer) to the workqueue that tears it down.
struct SendDev(RootDev);

// SAFETY: a root device may be unregistered from any thread.
unsafe impl Send for SendDev {}

#[kernel::macros::kunit_tests(nvmock_zone_device)]
mod tests {
    use super::*;
    use crate::kunit::nvme::wait_until;
    use core::sync::atomic::{AtomicBool, Ordering};
    use kernel::sync::Arc;
    use kernel::workqueue;

    /// A page map overlapping a live one is refused with EBUSY whichever end overlaps, and
    /// leaves the live one as it was; one right after it is made; once the first is torn
    /// down its range can be mapped again.
    #[test]
    fn overlapping_page_maps_are_refused() -> Result {
        let (mock, r) = owner(DevMemKind::WriteBack, 4 * MIB2, 0)?;
        let dev = RootDev::new(c_str!("nvmock_zd_overlap"))?;
        let ty = bindings::memory_type_MEMORY_DEVICE_GENERIC;
        let mut first = pagemap(ty, r.phys + MIB2, 2 * MIB2)?;
        check!(map(&dev, &mut first).is_ok());
        let pg: *mut bindings::dev_pagemap = &mut *first;
        for (start, len) in [
            (r.phys + MIB2, 2 * MIB2),
            (r.phys, 2 * MIB2),
            (r.phys + 2 * MIB2, 2 * MIB2),
            (r.phys, 4 * MIB2),
        ] {
            let mut p = pagemap(ty, start, len)?;
            check!(map(&dev, &mut p) == Err(EBUSY.to_errno()));
        }
        // The live page map is untouched.
        check!(page_facts(r.phys + MIB2).0 == pg);
        check!(page_facts(r.phys + 3 * MIB2 - 4096).0 == pg);
        check!(page_facts(r.phys).0.is_null());
        // Adjacent is not overlapping.
        let mut next = pagemap(ty, r.phys + 3 * MIB2, MIB2)?;
        check!(map(&dev, &mut next).is_ok());
        let pg_next: *mut bindings::dev_pagemap = &mut *next;
        check!(page_facts(r.phys + 3 * MIB2).0 == pg_next);
        drop(dev);
        check!(page_facts(r.phys + MIB2).0.is_null());
        check!(page_facts(r.phys + 3 * MIB2).0.is_null());

        // Torn down: the range is free again.
        let dev = RootDev::new(c_str!("nvmock_zd_overlap2"))?;
        let mut again = pagemap(ty, r.phys, 2 * MIB2)?;
        check!(map(&dev, &mut again).is_ok());
        drop(dev);
        drop((first, next, again));
        check!(mock.remove(&r).is_ok());
        Ok(())
    }

    /// A start or length that is not a multiple of 2 MiB, a range past the owner's, and a
    /// page map type reserved RAM cannot back are refused before any page is made.
    #[test]
    fn misaligned_or_foreign_page_maps_are_refused() -> Result {
        let (mock, r) = owner(DevMemKind::WriteBack, 2 * MIB2, 0)?;
        let dev = RootDev::new(c_str!("nvmock_zd_misaligned"))?;
        let ty = bindings::memory_type_MEMORY_DEVICE_GENERIC;
        for (start, len, want) in [
            (r.phys + 4096, MIB2, EINVAL),
            (r.phys, MIB2 + 4096, EINVAL),
            (r.phys, MIB2 / 2, EINVAL),
            // Past the owner's range: the owner does not answer for it.
            (r.phys + MIB2, 2 * MIB2, ENXIO),
        ] {
            let mut p = pagemap(ty, start, len)?;
            check!(map(&dev, &mut p) == Err(want.to_errno()));
            check!(page_facts(start).0.is_null());
        }
        let mut private = pagemap(bindings::memory_type_MEMORY_DEVICE_PRIVATE, r.phys, MIB2)?;
        check!(map(&dev, &mut private) == Err(EINVAL.to_errno()));
        check!(page_facts(r.phys).0.is_null());
        check!((mock.users(&r)?) == (0, 0));
        drop(dev);
        check!(mock.remove(&r).is_ok());
        Ok(())
    }

    /// A page map of two ranges with a gap: `get_dev_pagemap()` finds it in both and not in
    /// the gap, each range's struct pages belong to it and map the owner's memory.
    #[test]
    fn page_map_of_two_ranges() -> Result {
        let (mock, r) = owner(DevMemKind::WriteBack, 4 * MIB2, 0x3c)?;
        let dev = RootDev::new(c_str!("nvmock_zd_ranges"))?;
        // SAFETY: all-zero is a valid `dev_pagemap` and `range`.
        let mut two: KBox<TwoRanges> = KBox::new(unsafe { core::mem::zeroed() }, GFP_KERNEL)?;
        two.pgmap.type_ = bindings::memory_type_MEMORY_DEVICE_GENERIC;
        two.pgmap.nr_range = 2;
        {
            // SAFETY: the union's first range is `ranges[0]`.
            let first = unsafe { two.pgmap.__bindgen_anon_1.range.as_mut() };
            first.start = r.phys;
            first.end = r.phys + MIB2 - 1;
        }
        two.second.start = r.phys + 2 * MIB2;
        two.second.end = r.phys + 4 * MIB2 - 1;
        let addr = map(&dev, &mut two.pgmap);
        check!(addr.is_ok());
        let pg: *mut bindings::dev_pagemap = &mut two.pgmap;
        let mut ok = true;
        for (off, inside) in [
            (0, true),
            (MIB2 - 4096, true),
            (MIB2, false),
            (2 * MIB2 - 4096, false),
            (2 * MIB2, true),
            (4 * MIB2 - 4096, true),
        ] {
            let (found, page_map, virt) = page_facts(r.phys + off);
            if inside {
                // SAFETY: `virt` is the direct mapping of a page of the owner's range, and
                // `r.host` the owner's mapping of the same memory.
                ok &= found == pg
                    && page_map == pg
                    && !virt.is_null()
                    && unsafe {
                        *virt == 0x3c && {
                            *r.host.add(off as usize + 8) = 0xa5;
                            *virt.add(8) == 0xa5
                        }
                    };
            } else {
                ok &= found.is_null() && page_map.is_null();
            }
        }
        check!(ok);
        drop(dev);
        check!(page_facts(r.phys).0.is_null() && page_facts(r.phys + 2 * MIB2).0.is_null());
        drop(two);
        check!(mock.remove(&r).is_ok());
        Ok(())
    }

    /// A `MEMORY_DEVICE_PCI_P2PDMA` page map on an uncached span (as the P2PDMA layer makes
    /// for a CMB): its pages are made and found, and go with the device.
    #[test]
    fn p2pdma_page_map_on_an_uncached_span() -> Result {
        let (mock, r) = owner(DevMemKind::Uncached, MIB2, 0)?;
        let dev = RootDev::new(c_str!("nvmock_zd_p2pdma"))?;
        let mut p = pagemap(bindings::memory_type_MEMORY_DEVICE_PCI_P2PDMA, r.phys, MIB2)?;
        check!(map(&dev, &mut p).is_ok());
        let pg: *mut bindings::dev_pagemap = &mut *p;
        let (found, page_map, virt) = page_facts(r.phys + 4096);
        check!(found == pg && page_map == pg && !virt.is_null());
        // SAFETY: `virt` is the (uncached) direct mapping of a page of the owner's range,
        // `r.host` the owner's mapping of the same memory.
        check!(unsafe {
            *r.host.add(4096 + 16) = 0x5e;
            *virt.add(16) == 0x5e
        });
        drop(dev);
        check!(page_facts(r.phys).0.is_null());
        drop(p);
        check!(mock.remove(&r).is_ok());
        Ok(())
    }

    /// The device's teardown waits while a reference on the page map is held (taken as
    /// `get_dev_pagemap()` takes it for a user of a page), and completes once it is dropped.
    #[test]
    fn teardown_waits_for_the_last_reference() -> Result {
        let (mock, r) = owner(DevMemKind::WriteBack, MIB2, 0)?;
        let dev = RootDev::new(c_str!("nvmock_zd_teardown"))?;
        let mut p = pagemap(bindings::memory_type_MEMORY_DEVICE_GENERIC, r.phys, MIB2)?;
        check!(map(&dev, &mut p).is_ok());
        let pg: *mut bindings::dev_pagemap = &mut *p;
        // SAFETY: any address may be asked about.
        let held = unsafe { nvmock_devmem_pgmap_hold(r.phys + 4096) };
        if held != pg {
            // SAFETY: the reference just taken, if any (NULL is ignored).
            unsafe { nvmock_devmem_pgmap_unhold(held) };
            check!(held == pg);
        }
        let done = Arc::new(AtomicBool::new(false), GFP_KERNEL)?;
        let flag = done.clone();
        // Unregistered by the work only: if the work cannot be queued, dropping the closure
        // must not tear the page map down while this thread holds the reference.
        let d = core::mem::ManuallyDrop::new(SendDev(dev));
        let spawned = workqueue::system().try_spawn(GFP_KERNEL, move || {
            drop(core::mem::ManuallyDrop::into_inner(d));
            flag.store(true, Ordering::Release);
        });
        // Nothing may return before the reference is dropped: the teardown waits on it.
        let waited = if spawned.is_ok() {
            // SAFETY: no preconditions.
            unsafe { bindings::msleep(300) };
            !done.load(Ordering::Acquire)
        } else {
            false
        };
        // SAFETY: the reference taken above.
        unsafe { nvmock_devmem_pgmap_unhold(held) };
        let finished = spawned.is_ok() && wait_until(|| done.load(Ordering::Acquire));
        if !finished {
            // The device was not torn down (no work), or its teardown still uses the page
            // map: the page map and the owner must outlive this test.
            let _ = KBox::leak(p);
            core::mem::forget(mock);
            pr_err!("nvmock_zone_device: the teardown did not run or did not finish once the reference was dropped\n");
            return Err(ETIMEDOUT);
        }
        check!(spawned.is_ok());
        check!(waited);
        check!(page_facts(r.phys).0.is_null());
        drop(p);
        check!(mock.remove(&r).is_ok());
        Ok(())
    }
}
