// SPDX-License-Identifier: GPL-2.0

//! BAR0 as the host reaches it: decoded only while the function's Memory Space Enable is set.
//!
//! The driver's mapping of BAR0 reaches a buffer (`live`): on x86_64 with plain loads and
//! stores, on UML through logic_iomem's accessors (`mock/nvmock_iomap.c`), which read and
//! write the same buffer. The controller's side (the poller's [`Shadow`], the CMB and PMR
//! registers, the MSI-X table and PBA) goes through a [`Bar0`], which hands it the *device's
//! view* of the registers:
//!
//! - while Memory Space Enable is set, the view is the live buffer itself;
//! - when software clears it (a configuration write, [`Bar0::set_decoding`], called under the
//!   configuration space's lock), the registers are copied aside (`saved`) and the live buffer
//!   is filled with all ones, what a host reads from a function that does not decode its BAR
//!   (the root complex completes the read with all ones). The controller keeps working on the
//!   saved copy, so what the host writes meanwhile is never seen: the writes are dropped. On
//!   UML the shim's logic_iomem accessors drop them at once and keep reading all ones
//!   (`nvmock_iomap_float()`); on x86_64, where the host's stores reach the buffer itself, a
//!   register the host wrote reads back its value until the poller's next pass floats the
//!   buffer to all ones again ([`Bar0::pull_view`]);
//! - when software sets it again, the saved registers are copied back over whatever was
//!   written, and the view is the live buffer again.
//!
//! Both copies happen under the view's lock, which the poller holds while it reads or writes
//! the view, so the controller's view is continuous: it never sees the all-ones buffer or a
//! half-copied one, whatever the host does with the Command register. Nothing the host does
//! here can make the controller see a register value it did not write while the BAR
//! decoded.
//!
//! A Function Level Reset puts the view back to its power-on image ([`Bar0::function_reset`]),
//! taken when the function was created ([`Bar0::capture_initial`]).
//!
//! The function starts with Memory Space Enable clear (its Command register is zero at power
//! on), so BAR0 reads all ones until the driver enables the device. The CMB's and PMR's BARs
//! (x86_64) are memory, not registers, and are not covered: they stay reachable whatever
//! Memory Space Enable says.
//!
//! # Where the buffer is
//!
//! The PCI core assigns BAR0 in the bridge's memory window, the span of an [`IoMock`] owner
//! that registers the buffer at BAR0's address ([`owner`]):
//!
//! - by default a span of nvmock's fake window, and the buffer vmalloc'd: the relinked
//!   driver's wrapped `ioremap()` returns it, and on UML logic_iomem reaches it for every
//!   `ioremap()`, the PCI core's mapping of the MSI-X table included;
//! - on x86_64 for a function with MSI-X, a span of the devmem reservation (reserved RAM,
//!   `mock/nvmock_iomap.c`), mapped uncached: the PCI core (not relinked) maps the MSI-X
//!   table with the real `ioremap()`, which reaches real memory only. The buffer is then that
//!   memory, so the PCI core's mapping, the driver's (the owner's mapping, through the
//!   wrapper) and the poller's view are the same bytes, all uncached (x86's PAT allows one
//!   type per range; `ioremap()` maps uncached). Such a span is placed from the top of the
//!   reservation down, leaving its 2 MiB-aligned start to the spans that need alignment.
//!
//! [`Shadow`]: crate::model::nvme::Shadow

use crate::glue::iomap::IoMock;
#[cfg(CONFIG_X86)]
use crate::glue::iomap::{devmem_range, DevMemKind};
use crate::glue::raw_lock::{RawGuard, RawSpinLock};
use crate::model::nvme::Bar;
use core::ffi::{c_int, c_void};
use kernel::alloc::KVVec;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Arc;

extern "C" {
    // mock/nvmock_iomap.c
    fn nvmock_iomap_float(host: *const c_void, len: usize, on: bool) -> c_int;
}

/// MSI-X table entries a profile offers by default: `queues` (one per queue pair) where the
/// function can have a table, which on x86_64 needs the devmem reservation ([`owner`]);
/// without it, none (the function uses INTx).
pub(crate) fn default_msix_vectors(queues: u16) -> u16 {
    #[cfg(CONFIG_X86)]
    if devmem_range().is_none() {
        return 0;
    }
    queues
}

/// The owner of BAR0's buffer (`len` bytes) for controller `instance` with `msix_vectors`
/// MSI-X table entries: a span of the fake window, or on x86_64 with MSI-X one of the devmem
/// reservation (see the module documentation). On x86_64 a function with MSI-X is refused
/// without the reservation (`ENODEV`) or without room in it (`EBUSY`), with the reason in
/// the log; one without MSI-X there says it uses INTx because the reservation is missing.
pub(crate) fn owner(msix_vectors: u16, instance: u32, len: u64) -> Result<Pin<KBox<IoMock>>> {
    #[cfg(CONFIG_X86)]
    {
        let reserved = devmem_range().is_some();
        if msix_vectors != 0 {
            return IoMock::new_devmem(c_str!("nvmock nvme bar0"), len, DevMemKind::Uncached)
                .inspect_err(|_| {
                    pr_err!(
                        "nvme profile {}: msix_vectors={} needs {} KiB of the devmem reservation for BAR0 (x86's PCI core maps the MSI-X table with the real ioremap(), which reaches real memory only): {}\n",
                        instance,
                        msix_vectors,
                        len >> 10,
                        if reserved {
                            "no room left in it"
                        } else {
                            "boot with it (NVMOCK_DEVMEM, see README) or set msix_vectors=0 for INTx"
                        }
                    )
                });
        }
        if !reserved {
            pr_info!(
                "nvme {}: INTx, no MSI-X: x86_64 places a function's MSI-X table in the devmem reservation, and there is none (NVMOCK_DEVMEM=0)\n",
                instance
            );
        }
    }
    #[cfg(not(CONFIG_X86))]
    let _ = (msix_vectors, instance);
    IoMock::new(c_str!("nvmock nvme"), len)
}

/// The registers' storage and which copy is the device's view.
///
/// # Invariants
///
/// `saved` and `initial` point to `len` bytes each, 4-byte aligned, owned by `_saved` and
/// `_initial` (which are never touched otherwise). `live` is null, or (from [`Bar0::attach`]
/// to [`Bar0::detach`]) `len` bytes, 4-byte aligned, that the device's owner keeps.
struct View {
    live: *mut u8,
    saved: *mut u8,
    initial: *const u8,
    len: usize,
    /// Memory Space Enable as software last wrote it.
    decoding: bool,
    /// Surprise-removed: the live buffer reads all ones for good.
    gone: bool,
    _saved: KVVec<u8>,
    _initial: KVVec<u8>,
}

// SAFETY: the raw pointers are to memory this owns or to the device's buffer, which any
// thread may access under the lock.
unsafe impl Send for View {}

impl View {
    /// The copy the device works on now.
    fn target(&self) -> *mut u8 {
        if self.decoding && !self.live.is_null() && !self.gone {
            self.live
        } else {
            self.saved
        }
    }

    fn offset(&self, offset: u64) -> Option<usize> {
        match usize::try_from(offset) {
            Ok(o) if o % 4 == 0 && o + 4 <= self.len => Some(o),
            _ => None,
        }
    }

    fn read32(&self, offset: u64) -> u32 {
        match self.offset(offset) {
            // SAFETY: in bounds and aligned (type invariant); the host may write the live
            // buffer concurrently, hence volatile, as the kernel's readl() does.
            Some(o) => unsafe { self.target().add(o).cast::<u32>().read_volatile() },
            None => 0,
        }
    }

    fn write32(&self, offset: u64, value: u32) {
        if let Some(o) = self.offset(offset) {
            // SAFETY: as in `read32`.
            unsafe { self.target().add(o).cast::<u32>().write_volatile(value) }
        }
    }

    /// Copies `len` bytes from `from` to `to`, a dword at a time (either may be the live
    /// buffer, which the host accesses concurrently).
    ///
    /// # Safety
    ///
    /// Both are `self.len` bytes, 4-byte aligned, and do not overlap.
    unsafe fn copy(&self, from: *const u8, to: *mut u8) {
        for o in (0..self.len / 4).map(|i| 4 * i) {
            // SAFETY: in bounds and aligned (the function's safety requirements).
            unsafe {
                let v = from.add(o).cast::<u32>().read_volatile();
                to.add(o).cast::<u32>().write_volatile(v);
            }
        }
    }

    /// Stops (`on`) or resumes the decoding of host accesses through logic_iomem (UML).
    fn float_accesses(&self, on: bool) {
        if self.live.is_null() {
            return;
        }
        // SAFETY: `live` is `len` bytes of the owner's memory (type invariant); the shim only
        // compares addresses. Failure (a full table) leaves the range decoding: the buffer
        // itself still reads all ones until the host writes it.
        let _ = unsafe { nvmock_iomap_float(self.live.cast_const().cast(), self.len, on) };
    }

    /// Fills the live buffer with all ones.
    fn float_live(&self) {
        if self.live.is_null() {
            return;
        }
        for o in (0..self.len / 4).map(|i| 4 * i) {
            // SAFETY: `live` is `len` bytes, 4-byte aligned (type invariant).
            unsafe { self.live.add(o).cast::<u32>().write_volatile(!0) };
        }
    }
}

/// BAR0 of one function: the live buffer, the saved registers and the power-on image.
#[pin_data]
pub(crate) struct Bar0 {
    #[pin]
    view: RawSpinLock<View>,
}

impl Bar0 {
    /// A BAR0 of `len` bytes (a multiple of 4), not attached to a buffer yet, not decoding,
    /// with all registers zero in the device's view.
    pub(crate) fn new(len: usize) -> Result<Arc<Self>> {
        if len == 0 || len % 4 != 0 {
            return Err(EINVAL);
        }
        // kvmalloc memory is at least 4-byte aligned.
        let mut saved = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
        let mut initial = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
        // INVARIANT: both buffers are `len` bytes, owned by the view from here on.
        let view = View {
            live: core::ptr::null_mut(),
            saved: saved.as_mut_ptr(),
            initial: initial.as_mut_ptr(),
            len,
            decoding: false,
            gone: false,
            _saved: saved,
            _initial: initial,
        };
        Arc::pin_init(
            pin_init!(Bar0 {
                view <- RawSpinLock::new(view, c_str!("nvmock_bar0"), kernel::static_lock_class!()),
            }),
            GFP_KERNEL,
        )
    }

    /// The device's view, locked: for a batch of register accesses (a poller pass's reads or
    /// writes). Keep it short: the host's configuration writes wait for it, with interrupts
    /// off, and nothing that takes other locks may run under it.
    pub(crate) fn lock(&self) -> Locked<'_> {
        Locked(self.view.lock())
    }

    /// [`Bar0::lock`] for a poller pass's reads: while the BAR does not decode, first floats
    /// the live buffer to all ones again, over whatever the host stored there meanwhile.
    pub(crate) fn pull_view(&self) -> Locked<'_> {
        let v = self.view.lock();
        if !v.decoding && !v.gone {
            v.float_live();
        }
        Locked(v)
    }

    /// Attaches the live buffer, `len` bytes at `live` that the host's mappings reach, which
    /// the caller keeps until [`Bar0::detach`]. While BAR0 does not decode it reads all ones.
    pub(crate) fn attach(&self, live: *mut u8, len: usize) -> Result {
        let mut v = self.view.lock();
        if live.is_null() || live as usize % 4 != 0 || len != v.len || !v.live.is_null() {
            return Err(EINVAL);
        }
        // INVARIANT: checked above; the caller keeps the buffer.
        v.live = live;
        if v.decoding {
            // SAFETY: both are `len` bytes, aligned, and distinct buffers.
            unsafe { v.copy(v.saved, v.live) };
        } else {
            v.float_live();
            v.float_accesses(true);
        }
        Ok(())
    }

    /// Detaches the live buffer before its owner frees it: from now on nothing reaches it
    /// (a late configuration write of a bus that outlives its device changes only the view).
    pub(crate) fn detach(&self) {
        let mut v = self.view.lock();
        if !v.live.is_null() && v.decoding && !v.gone {
            // SAFETY: both are `len` bytes, aligned, distinct (type invariant).
            unsafe { v.copy(v.live, v.saved) };
        }
        v.float_accesses(false);
        v.live = core::ptr::null_mut();
    }

    /// Takes the device's view as it is now as the power-on image [`Bar0::function_reset`]
    /// returns to (at creation, once the registers are published).
    pub(crate) fn capture_initial(&self) {
        let v = self.view.lock();
        // SAFETY: `initial` is `len` bytes of our own, distinct from both other buffers; the
        // image is only read under the lock.
        unsafe { v.copy(v.target(), v.initial.cast_mut()) };
    }

    /// Memory Space Enable was written: `on` is its new value (see the module documentation).
    /// Called under the configuration space's lock, in any context.
    pub(crate) fn set_decoding(&self, on: bool) {
        let mut v = self.view.lock();
        if v.decoding == on {
            return;
        }
        v.decoding = on;
        if v.live.is_null() || v.gone {
            return;
        }
        if on {
            // SAFETY: both are `len` bytes, aligned, distinct (type invariant).
            unsafe { v.copy(v.saved, v.live) };
            v.float_accesses(false);
        } else {
            v.float_accesses(true);
            // SAFETY: as above.
            unsafe { v.copy(v.live, v.saved) };
            v.float_live();
        }
    }

    /// A Function Level Reset: the device's view back to the power-on image.
    pub(crate) fn function_reset(&self) {
        let v = self.view.lock();
        // SAFETY: `initial` and the target are `len` bytes, aligned and distinct.
        unsafe { v.copy(v.initial, v.target()) };
    }

    /// Surprise removal: the live buffer reads all ones from now on, whatever software writes
    /// to the Command register.
    pub(crate) fn surprise_remove(&self) {
        let mut v = self.view.lock();
        if !v.gone {
            v.gone = true;
            v.float_accesses(true);
        }
        v.float_live();
    }
}

/// One access at a time, each under the lock: for the MSI-X table and PBA, which the
/// interrupt path reads and writes between calls that may take other locks.
impl Bar for Bar0 {
    fn read32(&self, offset: u64) -> u32 {
        self.view.lock().read32(offset)
    }

    fn write32(&self, offset: u64, value: u32) {
        self.view.lock().write32(offset, value)
    }
}

/// The device's view of BAR0 with the lock held ([`Bar0::lock`]).
pub(crate) struct Locked<'a>(RawGuard<'a, View>);

impl Bar for Locked<'_> {
    fn read32(&self, offset: u64) -> u32 {
        self.0.read32(offset)
    }

    fn write32(&self, offset: u64, value: u32) {
        self.0.write32(offset, value)
    }
}
