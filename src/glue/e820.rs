// SPDX-License-Identifier: GPL-2.0

//! An `e820` NVDIMM bus: legacy persistent memory on a span of the devmem reservation.
//!
//! On hardware, the kernel's E820 code inserts each type-12 range of the firmware's memory
//! map (or of `memmap=nn!ss`) in iomem_resource as "Persistent Memory (legacy)"
//! (`IORES_DESC_PERSISTENT_MEMORY_LEGACY`), and `arch/x86/kernel/pmem.c` registers the
//! platform device `e820_pmem`. `drivers/nvdimm/e820.c` (nd_e820) binds it: it registers the
//! nvdimm bus whose provider is `e820` and one pmem region per such range, which libnvdimm
//! gives one label-less namespace, in fsdax mode with its memory map in RAM. This does the
//! firmware's and the arch code's part on reserved RAM (real ZONE_DEVICE pages), owned
//! through the iomap shim like the NFIT buses' memory, for the relinked nd_e820.

use crate::glue::iomap::{devmem_range, DevMemKind, IoMock, Region};
use crate::model::e820::{self, MIB};
use crate::model::range::Removal;
use kernel::{bindings, ffi::c_char, prelude::*, str::CStrExt, types::Opaque};

extern "C" {
    /// The relinked nd_e820's watermark (tools-testing/watermark.h). Referencing it makes
    /// nd_e820 a dependency of this module: nvmock's copy is loaded, and its driver
    /// registered, before the platform device is added (loading fails against the
    /// production module, which has no watermark).
    fn nvmock_watermark_nd_e820() -> *const c_char;
}

/// What the relinked nd_e820's watermark says.
const ND_E820: &CStr = c"nvmock relinked nd_e820 in nd_e820";

/// The resource's name, as the kernel's E820 code names type-12 ranges.
const LEGACY_NAME: &CStr = c"Persistent Memory (legacy)";

/// One e820 bus: its memory, the legacy PMEM resource over it and the `e820_pmem` platform
/// device nd_e820 binds.
///
/// # Invariants
///
/// From the end of [`E820Pmem::new`] until `drop`: `region` is `mem`'s one range, all of its
/// span; `res` is in iomem_resource, under `mem`'s span, covering `region` exactly; `pdev` is
/// a registered platform device, bound by nd_e820 when `new` returned.
pub(crate) struct E820Pmem {
    pdev: *mut bindings::platform_device,
    res: Pin<KBox<Opaque<bindings::resource>>>,
    region: Region,
    mem: Pin<KBox<IoMock>>,
}

// SAFETY: `pdev` is only passed to `platform_device_unregister()`, which may run on any
// thread; the rest is the owner's (itself `Send`) and a resource nothing here writes after
// `new`.
unsafe impl Send for E820Pmem {}
// SAFETY: no method takes `&self` and touches `pdev` or `res`.
unsafe impl Sync for E820Pmem {}

impl E820Pmem {
    /// Publishes `mib` MiB of the devmem reservation as legacy persistent memory and waits
    /// for nd_e820 to bind it. Refuses, with the reason in the log, a size the kernel cannot
    /// map or the reservation cannot hold (`EINVAL`), a guest without a reservation
    /// (`ENODEV`), a reservation without that much room left (`EBUSY`), and an `e820_pmem`
    /// device that exists already or that nd_e820 does not bind (`EEXIST`, `ENXIO`).
    pub(crate) fn new(mib: u32) -> Result<Self> {
        // SAFETY: a watermark function returns a static NUL-terminated string.
        let mark = unsafe { CStr::from_char_ptr(nvmock_watermark_nd_e820()) };
        if mark != ND_E820 {
            pr_err!(
                "nd_e820's watermark is {:?}, expected {:?}\n",
                mark,
                ND_E820
            );
            return Err(ENXIO);
        }
        let len = e820::bytes(mib, devmem_range().map(|(_, size)| size)).map_err(|e| {
            // The model's message (core::fmt::Display: the model is no_std, not kernel code).
            pr_err!("{}\n", format_args!("{e}"));
            match e {
                e820::E820Error::NoReservation => ENODEV,
                _ => EINVAL,
            }
        })?;
        let mem = IoMock::new_devmem(c"nvmock e820", len, DevMemKind::WriteBack).inspect_err(|_| {
            pr_err!(
                "mib={}: needs {} MiB of the devmem reservation (aligned to its size, at most 1 GiB) and found no room: boot with a larger NVMOCK_DEVMEM, or load the e820 bus before nfit_test (README, \"x86_64 under QEMU\")\n",
                mib,
                len / MIB
            )
        })?;
        let region = mem.add_persistent(usize::try_from(len)?)?;
        let (start, end) = (region.phys, region.phys + len - 1);
        let res = KBox::pin_init(
            Opaque::ffi_init(move |p: *mut bindings::resource| {
                // SAFETY: `p` is valid for writes; a zeroed resource is an unlinked one.
                unsafe {
                    p.write(core::mem::zeroed());
                    (*p).name = LEGACY_NAME.as_char_ptr();
                    (*p).start = start;
                    (*p).end = end;
                    (*p).flags = bindings::IORESOURCE_MEM as _;
                    (*p).desc = bindings::IORES_DESC_PERSISTENT_MEMORY_LEGACY as _;
                }
            }),
            GFP_KERNEL,
        )?;
        // Under the owner's span, whose extent it shares: `insert_resource()` would put a
        // resource of the same extent above the span, not in it.
        // SAFETY: `res` is initialised, pinned and outlives its place in the tree (removed in
        // `drop`, or below); the span is in iomem_resource while `mem` lives.
        let rc = unsafe { bindings::request_resource(mem.span_resource(), res.get()) };
        if rc != 0 {
            pr_err!(
                "cannot place {:#x}-{:#x} in the bus's span of the devmem reservation: {}\n",
                start,
                end,
                rc
            );
            return Err(EBUSY);
        }
        let pdev = match Self::add_device() {
            Ok(p) => p,
            Err(e) => {
                // SAFETY: placed above; no driver saw it.
                unsafe { bindings::remove_resource(res.get()) };
                return Err(e);
            }
        };
        pr_info!(
            "e820 bus: {} MiB of legacy persistent memory at {:#x}-{:#x}\n",
            mib,
            start,
            end
        );
        // INVARIANT: the range is the whole span, the resource covers it under the span,
        // and the device is registered and bound.
        Ok(E820Pmem {
            pdev,
            res,
            region,
            mem,
        })
    }

    /// Adds the `e820_pmem` platform device; nd_e820 (loaded first, see
    /// [`nvmock_watermark_nd_e820`]) binds it before this returns, its probe registering the
    /// bus and a region for every legacy PMEM resource.
    fn add_device() -> Result<*mut bindings::platform_device> {
        // SAFETY: a static NUL-terminated name.
        let pdev = unsafe {
            bindings::platform_device_alloc(
                c"e820_pmem".as_char_ptr(),
                bindings::PLATFORM_DEVID_NONE,
            )
        };
        if pdev.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `pdev` was just allocated.
        let rc = unsafe { bindings::platform_device_add(pdev) };
        if rc != 0 {
            pr_err!(
                "cannot add platform device e820_pmem ({}): the guest has legacy PMEM already (memmap=nn!ss)?\n",
                rc
            );
            // SAFETY: allocated above and not added.
            unsafe { bindings::platform_device_put(pdev) };
            return Err(Error::from_errno(rc));
        }
        // SAFETY: `pdev` is registered; probing is synchronous for platform drivers that do
        // not ask otherwise (nd_e820 does not), so the binding is settled.
        if unsafe { (*pdev).dev.driver }.is_null() {
            pr_err!("nd_e820 did not bind e820_pmem (its probe failed: see above)\n");
            // SAFETY: registered above; not bound, so nothing else uses it.
            unsafe { bindings::platform_device_unregister(pdev) };
            return Err(ENXIO);
        }
        Ok(pdev)
    }
}

impl Drop for E820Pmem {
    fn drop(&mut self) {
        // SAFETY: registered in `new` (type invariant). nd_e820's remove unregisters the bus,
        // which unregisters its regions and namespaces (and so unbinds their drivers, which
        // release their regions and page maps) before returning.
        unsafe { bindings::platform_device_unregister(self.pdev) };
        // SAFETY: in the tree since `new` (type invariant); nothing else removes it.
        let (child, rc) = unsafe {
            let child = !(*self.res.get()).child.is_null();
            (child, bindings::remove_resource(self.res.get()))
        };
        if child || rc != 0 {
            pr_err!(
                "legacy PMEM resource still had requested regions under it (removal: {})\n",
                rc
            );
        }
        match self.mem.remove(&self.region) {
            Ok(Removal::Freed) => {}
            Ok(Removal::Deferred) => {
                pr_err!("e820 memory still mapped at unload: freed at its last unmap\n")
            }
            Err(e) => pr_err!("e820 memory: {:?}\n", e),
        }
    }
}
