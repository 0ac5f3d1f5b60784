// SPDX-License-Identifier: GPL-2.0

//! KUnit: device memory ZONE_DEVICE can map, and the NVMe controller's CMB and PMR in it
//! (x86_64: UML has no ZONE_DEVICE, and no devmem reservation).
//!
//! - The devmem reservation (`mock/nvmock_iomap.c`): an owner's span of it gets real
//!   ZONE_DEVICE pages through the wrapped `devm_memremap_pages()` (the owner still answers
//!   first, so failure injection works), `get_dev_pagemap()` finds the page map, the struct
//!   pages belong to it, and their direct mapping reaches the owner's memory.
//! - The CMB (`src/glue/nvme/devmem.rs`): the real driver's `nvme_map_cmb()` registers it with
//!   the P2PDMA layer and publishes it (`/sys/bus/pci/devices/<bdf>/p2pmem/`), places its I/O
//!   submission queues in it (`use_cmb_sqes`, on by default), and the controller fetches them
//!   from its own memory, counted by `cmb_bytes_served`. P2P memory allocated from it is the
//!   controller's memory.
//! - The PMR: enabled and written through BAR0 and BAR 4 as a host would, its contents survive
//!   a controller reset (the function removed and scanned again: the driver disables and
//!   enables the controller) and a power cycle as configfs makes one (saved at power-off,
//!   given back to the new controller at power-on).
//! - Bad CMB and PMR profiles are refused, on both arches.

use crate::glue::iomap::devmem_range;
use crate::glue::nvme::dev::{NvmeDev, Profile};
use crate::glue::nvme::instance::Instance;
use kernel::prelude::*;

/// Controller `Profile::default()` changed by `f`.
fn profile(f: impl FnOnce(&mut Profile)) -> Profile {
    let mut p = Profile::default();
    f(&mut p);
    p
}

/// Whether a controller with profile `p` is refused with `want`.
fn refused(p: &Profile, want: Error) -> Result<bool> {
    Ok(match NvmeDev::new(p, Instance::alloc()?) {
        Ok(_) => false,
        Err(e) => e == want,
    })
}

/// Test-only helpers for devmem page maps, shared with `nvmock_zone_device`.
#[cfg(CONFIG_X86)]
pub(crate) mod x86 {
    use crate::glue::nvme::dev::NvmeDev;
    use crate::glue::nvme::pci_host::pdev_bar;
    use core::ffi::c_void;
    use kernel::bindings;
    use kernel::prelude::*;
    use kernel::str::CStr;

    extern "C" {
        // `dev` is a `struct device *` (whose Rust binding is not FFI-safe).
        pub(crate) fn __wrap_devm_memremap_pages(
            dev: *mut c_void,
            pgmap: *mut bindings::dev_pagemap,
        ) -> *mut c_void;
        pub(super) fn __wrap_ioremap(offset: u64, size: usize) -> *mut c_void;
        pub(super) fn __wrap_iounmap(addr: *mut c_void);
        pub(crate) fn nvmock_devmem_page(
            phys: u64,
            page_map: *mut *mut bindings::dev_pagemap,
            virt: *mut *mut c_void,
        ) -> *mut bindings::dev_pagemap;
    }

    /// `r`, saying in the log which step of a test failed and how.
    pub(super) fn step<T>(what: &str, r: Result<T>) -> Result<T> {
        if let Err(e) = &r {
            pr_err!("nvmock_nvme_cmb: {} failed: {:?}\n", what, e);
        }
        r
    }

    /// A device of no bus, for devres: its unregistration releases what was added to it.
    ///
    /// # Invariants
    ///
    /// `0` is a registered root device, unregistered in `drop`.
    pub(crate) struct RootDev(pub(crate) *mut bindings::device);

    impl RootDev {
        pub(crate) fn new(name: &CStr) -> Result<Self> {
            // SAFETY: `name` is a valid C string that outlives the device (a static one).
            let d = unsafe {
                bindings::__root_device_register(name.as_char_ptr(), core::ptr::null_mut())
            };
            // INVARIANT: registered here.
            kernel::error::from_err_ptr(d).map(RootDev)
        }
    }

    impl Drop for RootDev {
        fn drop(&mut self) {
            // SAFETY: registered (type invariant); releases its devres.
            unsafe { bindings::root_device_unregister(self.0) };
        }
    }

    /// A page map of one range, zeroed but for `type` and the range.
    pub(crate) fn pagemap(
        ty: bindings::memory_type,
        start: u64,
        len: u64,
    ) -> Result<KBox<bindings::dev_pagemap>> {
        // SAFETY: all-zero is a valid `dev_pagemap` (no altmap, no ops, no owner).
        let mut p: KBox<bindings::dev_pagemap> =
            KBox::new(unsafe { core::mem::zeroed() }, GFP_KERNEL)?;
        p.type_ = ty;
        p.nr_range = 1;
        // SAFETY: with `nr_range` 1 the union holds one range.
        let r = unsafe { p.__bindgen_anon_1.range.as_mut() };
        r.start = start;
        r.end = start + len - 1;
        Ok(p)
    }

    /// `get_dev_pagemap()` of the address, and the page map and kernel address of its
    /// struct page.
    pub(crate) fn page_facts(
        phys: u64,
    ) -> (
        *mut bindings::dev_pagemap,
        *mut bindings::dev_pagemap,
        *mut u8,
    ) {
        let (mut owner, mut virt) = (core::ptr::null_mut(), core::ptr::null_mut());
        // SAFETY: out pointers valid; any address may be asked about.
        let found = unsafe { nvmock_devmem_page(phys, &mut owner, &mut virt) };
        (found, owner, virt.cast())
    }

    /// `IS_ERR()`.
    pub(crate) fn is_err(p: *const c_void) -> bool {
        (p as usize) >= (-(bindings::MAX_ERRNO as isize)) as usize
    }

    /// Whether the function's sysfs directory has `dir/name` (looked up in kernfs: KUnit's
    /// threads resolve paths against an empty root, not the guest's, so `/sys` is not there).
    pub(super) fn pdev_has_attr(dev: &NvmeDev, dir: &CStr, name: &CStr) -> Result<bool> {
        let pdev = dev.pdev().ok_or(ENODEV)?;
        // SAFETY: `pdev` holds a reference; a registered device has its kernfs directory.
        let sd = unsafe { (*pdev.as_ptr()).dev.kobj.sd };
        // SAFETY: `sd` is live while the device is registered; names are C strings.
        let d =
            unsafe { bindings::kernfs_find_and_get_ns(sd, dir.as_char_ptr(), core::ptr::null()) };
        if d.is_null() {
            return Ok(false);
        }
        // SAFETY: `d` is referenced (found above).
        let f =
            unsafe { bindings::kernfs_find_and_get_ns(d, name.as_char_ptr(), core::ptr::null()) };
        // SAFETY: the references taken above, dropped once.
        unsafe {
            if !f.is_null() {
                bindings::kernfs_put(f);
            }
            bindings::kernfs_put(d);
        }
        Ok(!f.is_null())
    }

    /// Whether the P2PDMA layer offers the function's memory to the function itself as a
    /// client (`pci_p2pmem_find_many()` only returns published memory).
    pub(super) fn p2pmem_published(dev: &NvmeDev) -> Result<bool> {
        let pdev = dev.pdev().ok_or(ENODEV)?;
        // SAFETY: `pdev` holds a reference.
        let mut client = unsafe { &raw mut (*pdev.as_ptr()).dev };
        // SAFETY: one live client device.
        let found = unsafe { bindings::pci_p2pmem_find_many(&mut client, 1) };
        if found.is_null() {
            return Ok(false);
        }
        // SAFETY: the reference `pci_p2pmem_find_many()` returned.
        unsafe { bindings::pci_dev_put(found) };
        Ok(found == pdev.as_ptr())
    }

    /// BAR `bir` of the function: start and length.
    pub(super) fn bar(dev: &NvmeDev, bir: usize) -> Result<(u64, u64)> {
        let pdev = dev.pdev().ok_or(ENODEV)?;
        pdev_bar(pdev.as_ptr(), bir).ok_or(ENXIO)
    }
}

#[kernel::macros::kunit_tests(nvmock_nvme_cmb)]
mod tests {
    #[cfg(CONFIG_X86)]
    use super::x86::*;
    use super::*;
    #[cfg(CONFIG_X86)]
    use crate::glue::iomap::{DevMemKind, IoMock};
    #[cfg(CONFIG_X86)]
    use crate::kunit::nvme::wait_until;
    #[cfg(CONFIG_X86)]
    use core::sync::atomic::Ordering;
    #[cfg(CONFIG_X86)]
    use kernel::{alloc::KVVec, bindings, c_str};

    /// A 2 MiB range of a write-back devmem span gets ZONE_DEVICE pages: the page map is
    /// found by pfn, the struct pages belong to it, and their direct mapping is the owner's
    /// memory. The owner is asked first (and counts the mapping until the device goes); an
    /// injected failure fails the call with nothing mapped; teardown drops the pages.
    #[cfg(CONFIG_X86)]
    #[test]
    fn devmem_span_gets_zone_device_pages() -> Result {
        const MIB2: u64 = 2 << 20;
        let (start, size) = devmem_range().ok_or(ENODEV)?;
        let mock = IoMock::new_devmem(
            c_str!("nvmock-test devmem"),
            2 * MIB2,
            DevMemKind::WriteBack,
        )?;
        let r = mock.add(MIB2 as usize, 0x5a)?;
        let r2 = mock.add(MIB2 as usize, 0)?;
        check!(r.phys >= start && r.phys + MIB2 <= start + size);
        check!(r.phys % MIB2 == 0);
        // No struct pages yet: reserved RAM is not in the memory map.
        check!(page_facts(r.phys).0.is_null());

        let dev = RootDev::new(c_str!("nvmock_devmem_test"))?;
        let mut pgmap = pagemap(bindings::memory_type_MEMORY_DEVICE_GENERIC, r.phys, MIB2)?;
        // SAFETY: `dev` is registered; `pgmap` outlives the mapping (dropped after `dev`).
        let addr = unsafe { __wrap_devm_memremap_pages(dev.0.cast(), &mut *pgmap) };
        check!(!is_err(addr));
        check!((mock.users(&r)?) == ((1, 0)));
        let pg: *mut bindings::dev_pagemap = &mut *pgmap;
        for off in [0, 4096 + 8, MIB2 - 64] {
            let (found, owner, virt) = page_facts(r.phys + off);
            check!(found == pg);
            check!(owner == pg);
            // The direct mapping the real function returned, page by page.
            check!(virt == addr.cast::<u8>().wrapping_add(off as usize));
        }
        // The direct mapping and the owner's mapping are the same memory.
        // SAFETY: `addr` maps the 2 MiB range; `r.host` is the owner's mapping of it.
        unsafe {
            check!(*addr.cast::<u8>().add(4096) == 0x5a);
            *addr.cast::<u8>().add(8192) = 0xc3;
            check!(*r.host.add(8192) == 0xc3);
        }

        // An injected failure of the owner's map: refused (as any refusal of the owner's,
        // ENXIO) before any page is made.
        mock.fail_nth(1);
        let mut pgmap2 = pagemap(bindings::memory_type_MEMORY_DEVICE_GENERIC, r2.phys, MIB2)?;
        // SAFETY: as above.
        let e = unsafe { __wrap_devm_memremap_pages(dev.0.cast(), &mut *pgmap2) };
        check!(is_err(e) && e as isize == ENXIO.to_errno() as isize);
        check!(page_facts(r2.phys).0.is_null());
        mock.fail_nth(0);

        // A P2PDMA page map needs an uncached span: refused on this write-back one.
        let mut pgmap3 = pagemap(
            bindings::memory_type_MEMORY_DEVICE_PCI_P2PDMA,
            r2.phys,
            MIB2,
        )?;
        // SAFETY: as above.
        let e = unsafe { __wrap_devm_memremap_pages(dev.0.cast(), &mut *pgmap3) };
        check!(is_err(e) && e as isize == EINVAL.to_errno() as isize);
        check!((mock.users(&r2)?) == ((0, 0)));

        // Teardown (the device's devres) drops the pages, then the owner's mapping.
        drop(dev);
        check!(page_facts(r.phys).0.is_null());
        check!((mock.users(&r)?) == ((0, 0)));
        drop((pgmap, pgmap2, pgmap3));
        check!(mock.remove(&r).is_ok() && mock.remove(&r2).is_ok());
        Ok(())
    }

    /// The driver maps the CMB: CBA is BAR 2, the P2PDMA layer has it (and made ZONE_DEVICE
    /// pages of it) and publishes it, I/O submission queues are in it, and the controller's
    /// fetches of them are served from its own memory.
    #[cfg(CONFIG_X86)]
    #[test]
    fn cmb_registered_published_and_holds_the_sqs() -> Result {
        const CMB: u64 = 4 << 20;
        let dev = NvmeDev::new(&profile(|p| p.cmb_mib = 4), Instance::alloc()?)?;
        let bdev = step(
            "opening the namespace",
            crate::kunit::nvme_io::open_ns(&dev),
        )?;
        let (bar2, len2) = step("BAR 2", bar(&dev, 2))?;
        check!(len2 == CMB && bar2 % (2 << 20) == 0);
        let (phys, host, len) = step("the CMB's memory", dev.cmb_mem().ok_or(ENXIO))?;
        check!(phys == bar2 && len as u64 == CMB);
        // nvme_map_cmb() enabled the controller memory space at the BAR's bus address.
        check!(dev.with_ctrl(|c| c.cmb().and_then(|c| c.space())) == Some((bar2, CMB)));
        // /sys/bus/pci/devices/<bdf>/p2pmem/{size,available,published,allocate}, and the
        // memory published.
        for name in [
            c_str!("size"),
            c_str!("available"),
            c_str!("published"),
            c_str!("allocate"),
        ] {
            check!(step(
                "p2pmem/",
                pdev_has_attr(&dev, c_str!("p2pmem"), name)
            )?);
        }
        check!(step("p2pmem published", p2pmem_published(&dev))?);
        // The CMB's pages are ZONE_DEVICE pages of a P2PDMA page map.
        let (found, owner, virt) = page_facts(bar2);
        check!(!found.is_null() && found == owner && !virt.is_null());
        // SAFETY: `found` is the live page map of the CMB (the driver is bound).
        check!(unsafe { (*found).type_ } == bindings::memory_type_MEMORY_DEVICE_PCI_P2PDMA);

        // I/O submission queues are in the CMB; I/O fetches its entries from there.
        let sq = step("I/O SQ 1", dev.with_ctrl(|c| c.sq_info(1)).ok_or(ENXIO))?;
        check!(sq.base >= bar2 && sq.base < bar2 + CMB);
        let served = dev.with_ctrl(|c| c.cmb_bytes_served());
        let commands = dev.stats().commands.load(Ordering::Relaxed);
        let mut out = KVVec::from_elem(0u8, 16384, GFP_KERNEL)?;
        crate::kunit::nvme_io::pattern(900, &mut out);
        step(
            "writing through the CMB's SQ",
            bdev.transfer(true, 0, &mut out, 1),
        )?;
        let mut back = KVVec::from_elem(0u8, 16384, GFP_KERNEL)?;
        step(
            "reading through the CMB's SQ",
            bdev.transfer(false, 0, &mut back, 1),
        )?;
        check!(back == out);
        let io = dev.stats().commands.load(Ordering::Relaxed) - commands;
        let grown = dev.with_ctrl(|c| c.cmb_bytes_served()) - served;
        // 8 one-page commands at least, each a 64-byte entry fetched from the CMB.
        check!(io >= 8 && grown >= 8 * 64);

        // P2P memory allocated from the CMB is the controller's memory.
        let pdev = dev.pdev().ok_or(ENODEV)?;
        // SAFETY: `pdev` holds a reference; the CMB is registered while the driver is bound.
        let p = unsafe { bindings::pci_alloc_p2pmem(pdev.as_ptr(), 4096) };
        check!(!p.is_null());
        if !p.is_null() {
            // SAFETY: `p` is 4096 bytes of P2P memory allocated above.
            let busaddr = unsafe { bindings::pci_p2pmem_virt_to_bus(pdev.as_ptr(), p) };
            check!(busaddr >= bar2 && busaddr + 4096 <= bar2 + CMB);
            // SAFETY: `p` is ours until freed; `host` maps the whole CMB.
            unsafe {
                core::ptr::write_volatile(p.cast::<u32>().add(3), 0x5eed_cafe);
                let off = (busaddr - bar2) as usize;
                check!(core::ptr::read_volatile(host.add(off + 12).cast::<u32>()) == 0x5eed_cafe);
                bindings::pci_free_p2pmem(pdev.as_ptr(), p, 4096);
            }
        }
        Ok(())
    }

    /// The PMR through the BARs: enabled with PMRCTL in BAR0 (PMRSTS.NRDY clears), written
    /// through BAR 4, and the contents are there after a controller reset.
    #[cfg(CONFIG_X86)]
    #[test]
    fn pmr_contents_survive_a_controller_reset() -> Result {
        use crate::model::nvme::pmr::{PMRCAP, PMRCTL, PMRSTS, PMRSTS_NRDY};
        const PMR: u64 = 2 << 20;
        let dev = NvmeDev::new(&profile(|p| p.pmr_mib = 2), Instance::alloc()?)?;
        check!(wait_until(|| dev.pdev().is_some_and(|p| {
            // SAFETY: `p` holds a reference to the live device.
            !unsafe { (*p.as_ptr()).driver }.is_null()
        })));
        // BAR0 decodes once the driver has enabled the device (Memory Space Enable), which
        // follows the binding: wait for the controller's first enable.
        check!(wait_until(|| dev.stats().enables.load(Ordering::Relaxed) > 0));
        let (bar0, _) = bar(&dev, 0)?;
        let (bar4, len4) = bar(&dev, 4)?;
        check!(len4 == PMR);
        // The controller's view of the PMR (what it serves) is BAR 4's memory.
        let (pmr_phys, pmr_host, pmr_len) = dev.pmr_mem().ok_or(ENXIO)?;
        check!(pmr_phys == bar4 && pmr_len as u64 == PMR);
        // SAFETY: BAR0 is the owner's; the wrapper maps it as for a relinked driver.
        let regs = unsafe { __wrap_ioremap(bar0, 0x1000) };
        check!(!regs.is_null());
        // SAFETY: BAR 4 is reserved RAM: the real ioremap() maps it.
        let pmr = unsafe { bindings::ioremap(bar4, PMR as _) };
        check!(!pmr.is_null());
        if regs.is_null() || pmr.is_null() {
            return Err(ENOMEM);
        }
        let reg = |off: u64| {
            // SAFETY: `regs` maps the first 4 KiB of BAR0.
            unsafe { bindings::readl(regs.cast::<u8>().add(off as usize).cast()) }
        };
        // PMRCAP: BIR 4, RDS, WDS.
        check!(reg(PMRCAP) >> 5 & 7 == 4 && reg(PMRCAP) & 0x18 == 0x18);
        check!(reg(PMRSTS) & PMRSTS_NRDY != 0);
        // SAFETY: as above.
        unsafe { bindings::writel(1, regs.cast::<u8>().add(PMRCTL as usize).cast()) };
        check!(wait_until(|| reg(PMRSTS) & PMRSTS_NRDY == 0));
        check!(dev.with_ctrl(|c| c.pmr().is_some_and(|p| p.enabled())));
        let word = |i: usize| (i as u32).wrapping_mul(0x9e37_79b9) ^ 0x1234_5678;
        for i in (0..PMR as usize / 4).step_by(1021) {
            // SAFETY: `pmr` maps all of BAR 4.
            unsafe { bindings::writel(word(i), pmr.cast::<u8>().add(4 * i).cast()) };
        }
        let enables = dev.stats().enables.load(Ordering::Relaxed);
        let host = dev.host().ok_or(ENODEV)?;
        host.remove_function()?;
        host.rescan();
        check!(wait_until(
            || dev.stats().enables.load(Ordering::Relaxed) > enables
        ));
        check!(bar(&dev, 4)? == (bar4, PMR));
        let mut same = true;
        for i in (0..PMR as usize / 4).step_by(1021) {
            // SAFETY: as above.
            same &= unsafe { bindings::readl(pmr.cast::<u8>().add(4 * i).cast()) } == word(i);
        }
        check!(same);
        // SAFETY: `pmr_host` maps all of BAR 4 while the controller exists.
        check!(
            unsafe { core::ptr::read_volatile(pmr_host.add(4 * 1021).cast::<u32>()) } == word(1021)
        );
        // PMRCTL stays set across the reset: the PMR is not the controller's state.
        check!(reg(PMRSTS) & PMRSTS_NRDY == 0);
        // SAFETY: mapped above, unmapped once.
        unsafe {
            bindings::iounmap(pmr);
            __wrap_iounmap(regs);
        }
        Ok(())
    }

    /// A power cycle as configfs does it (`power` 0 then 1): the PMR's contents are saved
    /// from BAR 4 at power-off and are in the new controller's BAR 4 at power-on.
    #[cfg(CONFIG_X86)]
    #[test]
    fn pmr_contents_survive_a_power_cycle() -> Result {
        const PMR: usize = 2 << 20;
        let p = profile(|p| p.pmr_mib = 2);
        let instance = Instance::alloc()?;
        let word = |i: usize| (i as u32).wrapping_mul(0x85eb_ca6b) ^ 0xa5a5_0f0f;
        let saved = {
            let dev = NvmeDev::new(&p, instance)?;
            let (bar4, _) = bar(&dev, 4)?;
            // SAFETY: BAR 4 is reserved RAM: the real ioremap() maps it.
            let pmr = unsafe { bindings::ioremap(bar4, PMR as _) };
            check!(!pmr.is_null());
            if pmr.is_null() {
                return Err(ENOMEM);
            }
            for i in (0..PMR / 4).step_by(509) {
                // SAFETY: `pmr` maps all of BAR 4.
                unsafe { bindings::writel(word(i), pmr.cast::<u8>().add(4 * i).cast()) };
            }
            // SAFETY: mapped above.
            unsafe { bindings::iounmap(pmr) };
            dev.pmr_save()?.ok_or(ENXIO)?
        };
        check!(saved.len() == PMR);
        let dev = NvmeDev::new(&p, instance)?;
        let (_, host, len) = dev.pmr_mem().ok_or(ENXIO)?;
        check!(len == PMR);
        dev.pmr_restore(&saved)?;
        let (bar4, _) = bar(&dev, 4)?;
        // SAFETY: as above.
        let pmr = unsafe { bindings::ioremap(bar4, PMR as _) };
        check!(!pmr.is_null());
        if pmr.is_null() {
            return Err(ENOMEM);
        }
        let mut same = true;
        for i in (0..PMR / 4).step_by(509) {
            // SAFETY: `pmr` maps all of BAR 4, `host` is the controller's view of it.
            unsafe {
                same &= bindings::readl(pmr.cast::<u8>().add(4 * i).cast()) == word(i);
                same &= core::ptr::read_volatile(host.add(4 * i).cast::<u32>()) == word(i);
            }
        }
        check!(same);
        // SAFETY: mapped above.
        unsafe { bindings::iounmap(pmr) };
        // A PMR of another size is not given old contents.
        check!(dev.pmr_restore(&saved[..PMR / 2]) == Err(EINVAL));
        Ok(())
    }

    /// CMB and PMR sizes the driver or the model could not use are refused when the
    /// controller is created, and so is any CMB or PMR without the devmem reservation.
    #[test]
    fn bad_cmb_and_pmr_profiles_are_refused() -> Result {
        check!(refused(&profile(|p| p.cmb_mib = 3), EINVAL)?);
        check!(refused(&profile(|p| p.pmr_mib = 3), EINVAL)?);
        check!(refused(&profile(|p| p.pmr_mib = 1), EINVAL)?);
        check!(refused(&profile(|p| p.cmb_mib = 1 << 15), EINVAL)?);
        match devmem_range() {
            // More than the reservation holds.
            Some((_, size)) => {
                let mib = (size >> 20) as u32;
                check!(refused(
                    &profile(|p| p.cmb_mib = mib.next_power_of_two() * 2),
                    EBUSY
                )?);
            }
            None => check!(refused(&profile(|p| p.cmb_mib = 2), ENODEV)?),
        }
        Ok(())
    }
}
