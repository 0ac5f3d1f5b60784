// SPDX-License-Identifier: GPL-2.0

//! KUnit: the shim's wrappers, as a relinked module calls them, against an [`IoMock`] owner.

use core::ffi::{c_int, c_void};
use kernel::bindings;
use kernel::ffi::c_char;

extern "C" {
    fn __wrap_ioremap(offset: u64, size: usize) -> *mut c_void;
    fn __wrap_iounmap(addr: *mut c_void);
    fn __wrap_memremap(offset: u64, size: usize, flags: usize) -> *mut c_void;
    fn __wrap_memunmap(addr: *mut c_void);
    fn __wrap___request_region(
        parent: *mut bindings::resource,
        start: u64,
        n: u64,
        name: *const c_char,
        flags: c_int,
    ) -> *mut bindings::resource;
    fn __wrap___release_region(parent: *mut bindings::resource, start: u64, n: u64);
    fn __wrap_pci_read_config_dword(dev: *const c_void, where_: c_int, val: *mut u32) -> c_int;
    fn nvmock_iomap_unmap_counts(unbalanced: *mut u64, real: *mut u64);
}

/// The shim's unmap counts: unbalanced unmaps it answered, and unmaps it passed to the real
/// `iounmap()`/`memunmap()`.
fn unmap_counts() -> (u64, u64) {
    let (mut unbalanced, mut real) = (0, 0);
    // SAFETY: both out pointers are valid for writes.
    unsafe { nvmock_iomap_unmap_counts(&mut unbalanced, &mut real) };
    (unbalanced, real)
}

#[kernel::macros::kunit_tests(nvmock_iomap)]
mod tests {
    use super::*;
    use crate::glue::iomap::{IoMock, PCIBIOS_DEVICE_NOT_FOUND};
    use crate::model::range::Removal;
    use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use kernel::{
        c_str,
        prelude::*,
        sync::{Arc, Completion},
        time::{delay::fsleep, Delta},
        workqueue,
    };

    const MEMREMAP_WB: usize = 1;
    const SPAN: u64 = 1 << 24;
    /// Just below the lowest possible nvmock window (64 GiB): never an owner's address.
    const OUTSIDE: u64 = (64 << 30) - (2 << 20);

    fn iomem() -> *mut bindings::resource {
        &raw mut bindings::iomem_resource
    }

    fn pattern(i: usize) -> u8 {
        (i % 251) as u8 ^ 0x5a
    }

    #[test]
    fn ioremap_reaches_test_buffer() -> Result {
        let mock = IoMock::new(c_str!("nvmock-test"), SPAN)?;
        let r = mock.add(64 << 10, 0)?;
        for i in 0..r.len {
            // SAFETY: `host` is the live buffer of `r`, `len` bytes long.
            unsafe { *r.host.add(i) = pattern(i) };
        }
        // SAFETY: the wrapper takes any address; this one is in `r`.
        let p = unsafe { __wrap_ioremap(r.phys + 4096, 4096) };
        check!(!p.is_null());
        check!((mock.users(&r)?) == ((1, 0)));
        // SAFETY: `p` maps 4096 bytes of `r`.
        let v = unsafe { bindings::readl(p.cast()) };
        let want = u32::from_le_bytes([pattern(4096), pattern(4097), pattern(4098), pattern(4099)]);
        check!((v) == (want));
        // SAFETY: as above.
        unsafe { bindings::writel(0xdead_beef, p.cast::<u8>().add(8).cast()) };
        // SAFETY: `host` is the live buffer of `r`.
        let got = unsafe { core::ptr::read_unaligned(r.host.add(4096 + 8).cast::<u32>()) };
        check!((got) == (0xdead_beef));
        // SAFETY: `p` came from `__wrap_ioremap`.
        unsafe { __wrap_iounmap(p) };
        check!((mock.users(&r)?) == ((0, 0)));
        check!((mock.remove(&r)?) == (Removal::Freed));
        Ok(())
    }

    #[test]
    fn unbalanced_unmap_is_answered() -> Result {
        let mock = IoMock::new(c_str!("nvmock-test"), SPAN)?;
        let r = mock.add(4096, 0x11)?;
        let (unbalanced, real) = unmap_counts();
        // SAFETY: the wrapper takes any address; this one is in `r`.
        let p = unsafe { __wrap_ioremap(r.phys, 4096) };
        check!(!p.is_null());
        // SAFETY: `p` came from `__wrap_ioremap`.
        unsafe { __wrap_iounmap(p) };
        check!((mock.users(&r)?) == ((0, 0)));
        check!((unmap_counts()) == ((unbalanced, real)));
        // The second unmap of the same cookie: the shim answers it (on UML the cookie's
        // logic_iomem area is already free), reports and counts it, and the real iounmap()
        // never sees it.
        // SAFETY: `p` is an unmapped cookie of test memory: the shim must not pass it on.
        unsafe { __wrap_iounmap(p) };
        check!((unmap_counts()) == ((unbalanced + 1, real)));
        check!((mock.users(&r)?) == ((0, 0)));
        // The same for memremap()/memunmap().
        // SAFETY: the wrapper takes any address; this one is in `r`.
        let q = unsafe { __wrap_memremap(r.phys, 4096, MEMREMAP_WB) };
        check!((q.cast::<u8>()) == (r.host));
        // SAFETY: `q` came from `__wrap_memremap`.
        unsafe { __wrap_memunmap(q) };
        check!((unmap_counts()) == ((unbalanced + 1, real)));
        // SAFETY: `q` is owner memory nothing maps: the shim must not pass it on.
        unsafe { __wrap_memunmap(q) };
        check!((unmap_counts()) == ((unbalanced + 2, real)));
        // Neither unbalanced unmap took a count from the range: it is free to go.
        check!((mock.users(&r)?) == ((0, 0)));
        check!((mock.remove(&r)?) == (Removal::Freed));
        Ok(())
    }

    #[test]
    fn memremap_returns_test_memory() -> Result {
        let mock = IoMock::new(c_str!("nvmock-test"), SPAN)?;
        let r = mock.add(8192, 0x33)?;
        // SAFETY: the wrapper takes any address; this one is in `r`.
        let p = unsafe { __wrap_memremap(r.phys + 100, 200, MEMREMAP_WB) };
        check!((p.cast::<u8>()) == (r.host.wrapping_add(100)));
        // A mapping that runs past the end of the range is refused, not passed on.
        // SAFETY: as above.
        let q = unsafe { __wrap_memremap(r.phys + 8000, 400, MEMREMAP_WB) };
        check!(q.is_null());
        // So is unbacked space in the owner's span.
        // SAFETY: as above.
        let q = unsafe { __wrap_memremap(r.phys + 0x10_0000, 16, MEMREMAP_WB) };
        check!(q.is_null());
        check!((mock.users(&r)?) == ((1, 0)));
        // SAFETY: `p` came from `__wrap_memremap`.
        unsafe { __wrap_memunmap(p) };
        check!((mock.users(&r)?) == ((0, 0)));
        mock.remove(&r)?;
        Ok(())
    }

    #[test]
    fn regions_outside_the_window_fall_through() -> Result {
        let name = c_str!("nvmock-fallthrough");
        // SAFETY: a plain request_mem_region() of an address no owner has.
        let res = unsafe { __wrap___request_region(iomem(), OUTSIDE, 4096, name.as_char_ptr(), 0) };
        check!(!res.is_null());
        // The real resource tree has it: the real function now reports a conflict.
        // SAFETY: as above, straight to the kernel.
        let again =
            unsafe { bindings::__request_region(iomem(), OUTSIDE, 4096, name.as_char_ptr(), 0) };
        check!(again.is_null());
        // SAFETY: releases what was requested above.
        unsafe { __wrap___release_region(iomem(), OUTSIDE, 4096) };
        // SAFETY: as above.
        let again =
            unsafe { bindings::__request_region(iomem(), OUTSIDE, 4096, name.as_char_ptr(), 0) };
        check!(!again.is_null());
        // SAFETY: releases what was requested just above.
        unsafe { bindings::__release_region(iomem(), OUTSIDE, 4096) };
        Ok(())
    }

    #[test]
    fn overlapping_registration_is_refused() -> Result {
        let mock = IoMock::new(c_str!("nvmock-test"), SPAN)?;
        let (base, _) = mock.span();
        let a = mock.add_at(base + 0x10000, 0x4000, 0)?;
        check!((mock.add_at(base + 0x13000, 0x2000, 0).err()) == (Some(EBUSY)));
        check!((mock.add_at(base + 0xf000, 0x1001, 0).err()) == (Some(EBUSY)));
        check!((mock.add_at(base + SPAN - 0x1000, 0x2000, 0).err()) == (Some(EINVAL)));
        let b = mock.add_at(base + 0x14000, 0x1000, 0)?;
        mock.remove(&a)?;
        mock.remove(&b)?;
        Ok(())
    }

    #[test]
    fn remove_while_mapped_is_deferred() -> Result {
        let mock = IoMock::new(c_str!("nvmock-test"), SPAN)?;
        let r = mock.add(4096, 0x77)?;
        // SAFETY: the wrapper takes any address; this one is in `r`.
        let p = unsafe { __wrap_memremap(r.phys, 4096, MEMREMAP_WB) }.cast::<u8>();
        check!(!p.is_null());
        check!((mock.remove(&r)?) == (Removal::Deferred));
        // New mappings of a removed range are refused...
        // SAFETY: as above.
        check!(unsafe { __wrap_memremap(r.phys, 16, MEMREMAP_WB) }.is_null());
        // ...while the existing one still reaches live memory (KASAN checks this access).
        // SAFETY: `p` is still mapped: the buffer is kept until the unmap below.
        check!((unsafe { p.add(4095).read() }) == (0x77));
        check!((mock.freed()) == (0));
        // SAFETY: `p` came from `__wrap_memremap`.
        unsafe { __wrap_memunmap(p.cast()) };
        check!((mock.freed()) == (1));
        Ok(())
    }

    #[test]
    fn request_region_conflicts_as_the_kernel_does() -> Result {
        let mock = IoMock::new(c_str!("nvmock-test"), SPAN)?;
        let r = mock.add(0x4000, 0)?;
        let (a, b) = (c_str!("nvmock-a"), c_str!("nvmock-b"));
        // SAFETY: request_mem_region() of memory `r` backs.
        let res = unsafe { __wrap___request_region(iomem(), r.phys, 0x2000, a.as_char_ptr(), 0) };
        check!(!res.is_null());
        // SAFETY: `res` is a live resource until released below.
        let (start, end) = unsafe { ((*res).start, (*res).end) };
        check!(((start, end)) == ((r.phys, r.phys + 0x1fff)));
        check!((mock.users(&r)?) == ((0, 1)));
        // An overlapping request conflicts; an adjacent one does not.
        // SAFETY: as above.
        let c = unsafe {
            __wrap___request_region(iomem(), r.phys + 0x1000, 0x2000, b.as_char_ptr(), 0)
        };
        check!(c.is_null());
        check!((mock.users(&r)?) == ((0, 1)));
        // SAFETY: as above.
        let d = unsafe {
            __wrap___request_region(iomem(), r.phys + 0x2000, 0x2000, b.as_char_ptr(), 0)
        };
        check!(!d.is_null());
        // Unbacked memory in the span cannot be requested at all.
        // SAFETY: as above.
        let e =
            unsafe { __wrap___request_region(iomem(), r.phys + 0x10_0000, 16, b.as_char_ptr(), 0) };
        check!(e.is_null());
        // SAFETY: release what was requested.
        unsafe { __wrap___release_region(iomem(), r.phys, 0x2000) };
        // SAFETY: as above.
        unsafe { __wrap___release_region(iomem(), r.phys + 0x2000, 0x2000) };
        check!((mock.users(&r)?) == ((0, 0)));
        // Released: the first region can be requested again.
        // SAFETY: as above.
        let f = unsafe {
            __wrap___request_region(iomem(), r.phys + 0x1000, 0x2000, b.as_char_ptr(), 0)
        };
        check!(!f.is_null());
        // Removing the range while requested defers the free to the release.
        check!((mock.remove(&r)?) == (Removal::Deferred));
        // SAFETY: as above.
        unsafe { __wrap___release_region(iomem(), r.phys + 0x1000, 0x2000) };
        check!((mock.freed()) == (1));
        Ok(())
    }

    #[test]
    fn pci_surprise_removal_reads_all_ones() -> Result {
        let mock = IoMock::new(c_str!("nvmock-test"), SPAN)?;
        // The owner answers by device address; this device is never handed to the real
        // accessors, so any unique address serves.
        let dev = KBox::new([0u8; 64], GFP_KERNEL)?;
        let key = (&*dev as *const [u8; 64]).cast::<c_void>();
        mock.pci_remove(key)?;
        let mut v = 0;
        // SAFETY: the owner claims `key`; the real accessor is not called.
        let rc = unsafe { __wrap_pci_read_config_dword(key, 0, &mut v) };
        check!((rc) == (PCIBIOS_DEVICE_NOT_FOUND));
        check!((v) == (u32::MAX));
        Ok(())
    }

    /// What the racing work item and the test share.
    #[pin_data]
    struct Race {
        #[pin]
        done: Completion,
        stop: AtomicBool,
        rounds: AtomicUsize,
        errors: AtomicUsize,
    }

    #[test]
    fn lookups_race_owner_registration() -> Result {
        let a = IoMock::new(c_str!("nvmock-race-a"), SPAN)?;
        let r = a.add(4096, 0x42)?;
        let (phys, host) = (r.phys, r.host as usize);
        let race = Arc::pin_init(
            pin_init!(Race {
                done <- Completion::new(),
                stop: AtomicBool::new(false),
                rounds: AtomicUsize::new(0),
                errors: AtomicUsize::new(0),
            }),
            GFP_KERNEL,
        )?;
        let w = race.clone();
        // Maps and unmaps owner A's memory through the shim while the test registers and
        // unregisters other owners: every lookup must still find A's buffer, and
        // unregistration must wait for lookups in flight (KASAN and lockdep watch).
        workqueue::system().try_spawn(GFP_KERNEL, move || {
            while !w.stop.load(Ordering::Acquire) {
                // SAFETY: the wrapper takes any address; this one is in A's range.
                let p = unsafe { __wrap_memremap(phys, 4096, MEMREMAP_WB) };
                // SAFETY: when `p` is A's buffer it is mapped, so readable.
                if p as usize != host || unsafe { p.cast::<u8>().add(4095).read() } != 0x42 {
                    w.errors.fetch_add(1, Ordering::Relaxed);
                }
                if !p.is_null() {
                    // SAFETY: `p` came from `__wrap_memremap`.
                    unsafe { __wrap_memunmap(p) };
                }
                if w.rounds.fetch_add(1, Ordering::Relaxed) % 16 == 0 {
                    fsleep(Delta::from_micros(10));
                }
            }
            w.done.complete_all();
        })?;
        for _ in 0..100 {
            let b = IoMock::new(c_str!("nvmock-race-b"), SPAN)?;
            let rb = b.add(4096, 0)?;
            // SAFETY: the wrapper takes any address; this one is in B's range.
            let q = unsafe { __wrap_memremap(rb.phys, 16, MEMREMAP_WB) };
            check!((q.cast::<u8>()) == (rb.host));
            // SAFETY: `q` came from `__wrap_memremap`.
            unsafe { __wrap_memunmap(q) };
            b.remove(&rb)?;
        }
        race.stop.store(true, Ordering::Release);
        race.done.wait_for_completion();
        check!((race.errors.load(Ordering::Relaxed)) == (0));
        let rounds = race.rounds.load(Ordering::Relaxed);
        pr_info!(
            "lookups_race_owner_registration: {} lookups raced 100 owner cycles\n",
            rounds
        );
        check!(rounds > 0);
        check!((a.users(&r)?) == ((0, 0)));
        a.remove(&r)?;
        Ok(())
    }

    #[test]
    fn window_without_owner_is_refused() -> Result {
        let (phys, len) = {
            let mock = IoMock::new(c_str!("nvmock-test"), SPAN)?;
            let r = mock.add(4096, 0)?;
            mock.remove(&r)?;
            (r.phys, r.len)
        };
        // The owner is gone: its old address is still in the window, and must not be
        // passed to the real ioremap()/memremap().
        // SAFETY: the wrappers take any address.
        check!(unsafe { __wrap_memremap(phys, len, MEMREMAP_WB) }.is_null());
        // SAFETY: as above.
        check!(unsafe { __wrap_ioremap(phys, len) }.is_null());
        Ok(())
    }
}
