// SPDX-License-Identifier: GPL-2.0

//! A virtual PCI host bridge with one function, 00.0, whose configuration space is the pure
//! model [`ConfigSpace`].
//!
//! Each emulated device gets its own root bus: on x86_64 in a PCI domain of its own (from
//! 0x10000, the range VMD uses; the PCI core allocates it), elsewhere in domain 0 on the first
//! free bus number. The bridge's memory window is the device's span in nvmock's fake
//! physical window (on x86_64 with MSI-X, in the devmem reservation: see
//! [`crate::glue::nvme::bar0`]), so the PCI core's resource assignment puts the BARs where the
//! device's buffers are registered. The function's interrupt is INTx on a software interrupt line
//! ([`crate::glue::soft_irq::SoftIrq`]), or MSI-X messages to the bridge's MSI controller
//! (`mock/nvmock_msi.c`): an MSI parent irq domain of the bridge's own, set as the bridge's
//! MSI domain before the bus is scanned, so the PCI core builds the function's PCI/MSI-X
//! domain on it. The function sends a message with [`BusData::msi_send`].
//!
//! Re-enumeration: the function can be removed and scanned again (`remove` and `rescan` in
//! sysfs, or [`PciHost::remove_function`] and [`PciHost::rescan`]). A bus notifier of the
//! bridge's own sees every `pci_dev` the PCI core adds to the root bus: before any driver can
//! bind it gives the device the bridge's INTx line (so a rescanned function gets its
//! interrupt, on x86 without the firmware's routing tables, which know nothing of this bus)
//! and records it as the bus's current function, holding a reference until the PCI core
//! deletes the device. Nothing keeps a removed `pci_dev`: [`BusData::function`] answers
//! `None` while the function is removed.
//!
//! Resets and decoding: configuration writes go through the function's model
//! ([`function::config_write`]). A change of the Command register's Memory Space Enable turns
//! BAR0's decoding on or off at once ([`Bar0::set_decoding`]). A write of Initiate Function
//! Level Reset resets the configuration space at once, and the function is then in reset
//! until the device's owner has reset the controller and BAR0 ([`BusData::flr_pending`],
//! [`BusData::finish_flr`]): meanwhile configuration reads complete with all ones and writes
//! are dropped, as a function that answers Request Retry Status looks to software once the
//! root complex gives up retrying (PCIe r6.0 §2.3.1; Linux's `pci_dev_wait()` waits for the
//! Command register to read otherwise). Device Status shows Transactions Pending while the
//! owner says the function has DMA of its own under way
//! ([`BusData::set_transactions_pending`]).
//!
//! Lifetime: the bridge's sysdata is an [`Arc<BusData>`] whose reference the bridge drops in
//! its release callback, so late users of the bus (a sysfs file held open after removal)
//! never see freed memory.

use crate::glue::nvme::bar0::Bar0;
use crate::model::nvme::function;
use crate::model::pcicfg::ConfigSpace;
use crate::glue::raw_lock::RawSpinLock;
use core::ffi::{c_int, c_uint, c_void};
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::{Arc, SpinLock};
use kernel::types::Opaque;

/// What x86 reads through `bus->sysdata` (`struct pci_sysdata`): it must come first.
#[cfg(CONFIG_X86)]
pub(crate) type SysData = bindings::pci_sysdata;
#[cfg(not(CONFIG_X86))]
pub(crate) type SysData = ();

#[cfg(CONFIG_X86)]
pub(crate) fn sysdata(domain: c_int) -> SysData {
    // SAFETY: `pci_sysdata` is plain integers and pointers, for which zero is valid (no ACPI
    // companion, no IOMMU, no MSI domain override).
    let mut s: SysData = unsafe { core::mem::zeroed() };
    s.domain = domain;
    s.node = bindings::NUMA_NO_NODE;
    s
}

#[cfg(not(CONFIG_X86))]
pub(crate) fn sysdata(_domain: c_int) -> SysData {}

#[cfg(CONFIG_PCI_MSI)]
extern "C" {
    // mock/nvmock_msi.c
    fn nvmock_msi_create() -> *mut c_void;
    fn nvmock_msi_attach(m: *mut c_void, bridge: *mut c_void);
    fn nvmock_msi_destroy(m: *mut c_void);
    fn nvmock_msi_doorbell(m: *const c_void) -> u64;
    fn nvmock_msi_send(m: *mut c_void, address: u64, data: u32) -> c_int;
}

/// A bridge's MSI controller (`struct nvmock_msi`, mock/nvmock_msi.c).
///
/// # Invariants
///
/// `0` was returned by `nvmock_msi_create()` and is destroyed in `drop`, which only runs once
/// the bridge and its functions are gone ([`BusData`] outlives them).
#[cfg(CONFIG_PCI_MSI)]
pub(crate) struct Msi(*mut c_void);

#[cfg(CONFIG_PCI_MSI)]
impl Msi {
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: no preconditions.
        let m = unsafe { nvmock_msi_create() };
        // INVARIANT: created here.
        kernel::error::from_err_ptr(m).map(Msi)
    }
}

// SAFETY: the controller may be used and destroyed from any thread (mock/nvmock_msi.c locks
// what it shares).
#[cfg(CONFIG_PCI_MSI)]
unsafe impl Send for Msi {}
// SAFETY: as above.
#[cfg(CONFIG_PCI_MSI)]
unsafe impl Sync for Msi {}

impl Msi {
    /// Sets the controller as `bridge`'s MSI domain: call before the bridge is scanned; the
    /// controller must outlive the bridge.
    pub(crate) fn attach(&self, bridge: *mut bindings::pci_host_bridge) {
        #[cfg(CONFIG_PCI_MSI)]
        // SAFETY: per the function's requirements; `self.0` is live (type invariant).
        unsafe {
            nvmock_msi_attach(self.0, bridge.cast())
        };
        #[cfg(not(CONFIG_PCI_MSI))]
        let _ = bridge;
    }
}

#[cfg(CONFIG_PCI_MSI)]
impl Drop for Msi {
    fn drop(&mut self) {
        // SAFETY: created in `new` (type invariant); the functions behind it are gone.
        unsafe { nvmock_msi_destroy(self.0) };
    }
}

/// Without `CONFIG_PCI_MSI` there is no MSI controller: the functions use INTx.
#[cfg(not(CONFIG_PCI_MSI))]
pub(crate) struct Msi;

#[cfg(not(CONFIG_PCI_MSI))]
impl Msi {
    pub(crate) fn new() -> Result<Self> {
        Ok(Msi)
    }
}

/// The function the PCI core has added to the root bus, if any.
///
/// # Invariants
///
/// Null, or a `pci_dev` of which this holds a reference.
struct Function(*mut bindings::pci_dev);

// SAFETY: a reference to a PCI device may be held and dropped from any thread.
unsafe impl Send for Function {}

/// A counted reference to a PCI device, dropped with this.
///
/// # Invariants
///
/// `0` is a live `pci_dev` of which this holds a reference.
pub(crate) struct PciDev(*mut bindings::pci_dev);

impl PciDev {
    /// The device, live while `self` is.
    pub(crate) fn as_ptr(&self) -> *mut bindings::pci_dev {
        self.0
    }
}

impl Drop for PciDev {
    fn drop(&mut self) {
        // SAFETY: the reference this holds (type invariant).
        unsafe { bindings::pci_dev_put(self.0) };
    }
}

/// The state behind a bridge's `sysdata`.
///
/// # Invariants
///
/// `sysdata` is the first field (x86's `pci_domain_nr()` reads it through `bus->sysdata`).
/// `busn` is only touched by the PCI core once the bridge is registered. `nb` is registered
/// on the PCI bus type from [`PciHost::new`] until [`PciHost`]'s `drop`, and only then (never
/// for a function of a fabric, [`BusData::new_function`], whose bus state is the fabric's).
#[repr(C)]
#[pin_data]
pub(crate) struct BusData {
    sysdata: SysData,
    #[pin]
    cfg: RawSpinLock<KBox<ConfigSpace>>,
    /// The configuration space at power on, what a Function Level Reset returns to.
    initial: KBox<ConfigSpace>,
    /// The function's BAR0, which decodes only while Memory Space Enable is set.
    bar0: Arc<Bar0>,
    /// A Function Level Reset is under way: the owner has yet to reset the controller.
    flr: AtomicBool,
    /// The function has DMA of its own under way (Device Status: Transactions Pending).
    transactions: AtomicBool,
    /// Cleared by [`PciHost::surprise_remove`]: the function stops answering.
    present: AtomicBool,
    /// The bus number range of the root bus.
    #[pin]
    busn: Opaque<bindings::resource>,
    /// The INTx line every function scanned on the bus gets.
    irq: u32,
    /// The bus notifier that sees the bus's functions come and go ([`notify`]).
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    /// The function as the PCI core added it; null while removed.
    #[pin]
    function: SpinLock<Function>,
    /// The bridge's MSI controller (shared with the bridge's other functions on a
    /// [`crate::glue::nvme::fabric::Fabric`]).
    msi: Arc<Msi>,
}

impl BusData {
    /// The function's PCI Command register.
    pub(crate) fn command(&self) -> u16 {
        self.cfg.lock().command()
    }

    /// Runs `f` on the function's configuration space (under its lock: keep it short).
    pub(crate) fn with_cfg<R>(&self, f: impl FnOnce(&ConfigSpace) -> R) -> R {
        f(&self.cfg.lock())
    }

    /// Whether a Function Level Reset is under way: software initiated it, and the owner has
    /// not yet reset the controller and BAR0 and called [`BusData::finish_flr`].
    pub(crate) fn flr_pending(&self) -> bool {
        self.flr.load(Ordering::Acquire)
    }

    /// The owner has reset the controller and BAR0: the function answers again.
    pub(crate) fn finish_flr(&self) {
        self.flr.store(false, Ordering::Release);
    }

    /// The function starts (`true`) or ends DMA of its own: Device Status' Transactions
    /// Pending bit.
    pub(crate) fn set_transactions_pending(&self, pending: bool) {
        self.transactions.store(pending, Ordering::Relaxed);
    }

    /// The function writes an MSI message: `data` to `address`. The bridge's MSI controller
    /// runs the handlers of the vector it names; `EFAULT` for an address other than the
    /// bridge's doorbell, `ENOENT` for data naming no vector, `EOPNOTSUPP` without
    /// `CONFIG_PCI_MSI` (stray writes, dropped).
    pub(crate) fn msi_send(&self, address: u64, data: u32) -> Result {
        #[cfg(CONFIG_PCI_MSI)]
        {
            // SAFETY: `msi.0` is live while `self` is (invariant of `Msi`); callable from any
            // context.
            kernel::error::to_result(unsafe { nvmock_msi_send(self.msi.0, address, data) })
        }
        #[cfg(not(CONFIG_PCI_MSI))]
        {
            let _ = (address, data);
            Err(EOPNOTSUPP)
        }
    }

    /// The address the bridge's MSI controller composes messages with (0 without one).
    pub(crate) fn msi_doorbell(&self) -> u64 {
        #[cfg(CONFIG_PCI_MSI)]
        // SAFETY: as in `msi_send`.
        return unsafe { nvmock_msi_doorbell(self.msi.0) };
        #[cfg(not(CONFIG_PCI_MSI))]
        0
    }

    /// A configuration read of the function: the value and the `PCIBIOS_*` code.
    pub(crate) fn config_read(&self, where_: c_int, size: c_int) -> (u32, u32) {
        if !self.present.load(Ordering::Acquire) || self.flr_pending() {
            // A removed device, or one in reset: the root complex completes the read with all
            // ones.
            return (!0, bindings::PCIBIOS_SUCCESSFUL);
        }
        let pending = self.transactions.load(Ordering::Relaxed);
        match function::config_read(&self.cfg.lock(), where_ as u16, size as u8, pending) {
            Ok(v) => (v, bindings::PCIBIOS_SUCCESSFUL),
            Err(_) => (!0, bindings::PCIBIOS_BAD_REGISTER_NUMBER),
        }
    }

    /// A configuration write of the function: the `PCIBIOS_*` code.
    pub(crate) fn config_write(&self, where_: c_int, size: c_int, val: u32) -> u32 {
        if !self.present.load(Ordering::Acquire) || self.flr_pending() {
            return bindings::PCIBIOS_SUCCESSFUL;
        }
        let mut cs = self.cfg.lock();
        match function::config_write(&mut cs, &self.initial, where_ as u16, size as u8, val) {
            Ok(fx) => {
                // Under the configuration lock: BAR0 follows the register it just read back.
                if let Some(on) = fx.memory_space {
                    self.bar0.set_decoding(on);
                }
                if fx.flr {
                    self.flr.store(true, Ordering::Release);
                }
                bindings::PCIBIOS_SUCCESSFUL
            }
            Err(_) => bindings::PCIBIOS_BAD_REGISTER_NUMBER,
        }
    }

    /// The PCI core adds `pdev` as this function: gives it the INTx line and records it as
    /// the current function.
    ///
    /// # Safety
    ///
    /// `pdev` is a live `pci_dev` being added (no driver can bind it yet).
    pub(crate) unsafe fn adopt(&self, pdev: *mut bindings::pci_dev) {
        // SAFETY: per the safety requirements its INTx line can be set. nvmock routes it, not
        // the firmware: a zero `pin` keeps the arch's INTx routing (x86's ACPI _PRT lookup)
        // away from it; `irq_managed` says the same.
        unsafe {
            (*pdev).irq = self.irq;
            (*pdev).pin = 0;
            (*pdev).set_irq_managed(1);
            bindings::pci_dev_get(pdev);
        }
        let old = core::mem::replace(&mut self.function.lock().0, pdev);
        if !old.is_null() {
            // SAFETY: the reference the slot held (a device the core never deleted: not
            // expected, but then this one is the current function).
            unsafe { bindings::pci_dev_put(old) };
        }
    }

    /// The PCI core deletes `pdev`: if it is the current function, it no longer is.
    pub(crate) fn forget(&self, pdev: *mut bindings::pci_dev) {
        let mut f = self.function.lock();
        if f.0 == pdev {
            f.0 = core::ptr::null_mut();
            drop(f);
            // SAFETY: the reference the slot held.
            unsafe { bindings::pci_dev_put(pdev) };
        }
    }

    /// The function loses power (the slot above it was powered off, its link disabled, or
    /// the adapter pulled): every register of its configuration space goes back to its
    /// power-on value (BARs, Command, the capabilities' controls), BAR0 stops decoding at
    /// once, and the owner resets the controller as for a Function Level Reset
    /// ([`BusData::flr_pending`]: until then configuration reads complete with all ones). The
    /// namespaces and their data stay: the medium is non-volatile.
    pub(crate) fn power_off(&self) {
        let mut cs = self.cfg.lock();
        let decoding = function::memory_space(&cs);
        // `initial` is a copy of this space made at creation: the layouts match.
        if let Err(e) = cs.reset_to(&self.initial, &[]) {
            pr_err!("nvme: power loss: configuration space not reset: {:?}\n", e);
        }
        if decoding {
            self.bar0.set_decoding(false);
        }
        self.flr.store(true, Ordering::Release);
    }

    /// From now on the function's configuration reads return all ones and its writes are
    /// dropped, as after a hot unplug.
    pub(crate) fn surprise_remove(&self) {
        self.present.store(false, Ordering::Release);
    }

    /// The function the PCI core has on the bus now, with a reference; `None` while it is
    /// removed.
    pub(crate) fn function(&self) -> Option<PciDev> {
        let f = self.function.lock();
        if f.0.is_null() {
            return None;
        }
        // SAFETY: `f.0` is live: the slot holds a reference (invariant of `Function`).
        unsafe { bindings::pci_dev_get(f.0) };
        // INVARIANT: the reference just taken.
        Some(PciDev(f.0))
    }
}

impl BusData {
    /// The state of a function of a [`crate::glue::nvme::fabric::Fabric`]'s bridge, whose
    /// configuration space is `cfg` (its Command register zero), BAR0 `bar0`, INTx line `irq`
    /// and MSI controller the bridge's `msi`. The bus-level members (sysdata, bus range,
    /// notifier) are the fabric's: here they stay zero and unregistered.
    pub(crate) fn new_function(
        cfg: KBox<ConfigSpace>,
        bar0: Arc<Bar0>,
        irq: u32,
        msi: Arc<Msi>,
    ) -> Result<Arc<BusData>> {
        if function::memory_space(&cfg) {
            return Err(EINVAL);
        }
        let initial = power_on_copy(&cfg)?;
        Arc::pin_init(
            pin_init!(BusData {
                sysdata: sysdata(0),
                cfg <- RawSpinLock::new(cfg, c_str!("nvmock_pci_cfg"), kernel::static_lock_class!()),
                initial,
                bar0,
                flr: AtomicBool::new(false),
                transactions: AtomicBool::new(false),
                present: AtomicBool::new(true),
                busn <- Opaque::ffi_init(|p: *mut bindings::resource| {
                    // SAFETY: `p` is valid for writes; a zeroed resource is an unlinked one.
                    unsafe { p.write(core::mem::zeroed()) };
                }),
                irq,
                nb <- Opaque::ffi_init(|p: *mut bindings::notifier_block| {
                    // SAFETY: `p` is valid for writes; a zeroed notifier block is unlinked.
                    unsafe { p.write(core::mem::zeroed()) };
                }),
                function <- kernel::new_spinlock!(Function(core::ptr::null_mut()), "nvmock_pci_function"),
                msi,
            }),
            GFP_KERNEL,
        )
    }
}

/// A copy of `cfg`, the power-on state a Function Level Reset returns to.
fn power_on_copy(cfg: &ConfigSpace) -> Result<KBox<ConfigSpace>> {
    let mut initial = KBox::<ConfigSpace>::new_uninit(GFP_KERNEL)?;
    cfg.clone_in_place(&mut initial);
    // SAFETY: initialised by `clone_in_place`.
    Ok(unsafe { initial.assume_init() })
}

/// The bridge's bus notifier: gives every function added to the root bus its INTx line
/// before drivers may bind, and keeps [`BusData::function`] current.
///
/// # Safety
///
/// `nb` is the `nb` of a live [`BusData`], registered on the PCI bus type, so `data` is the
/// `struct device` of a `pci_dev`.
unsafe extern "C" fn notify(
    nb: *mut bindings::notifier_block,
    action: usize,
    data: *mut c_void,
) -> c_int {
    // SAFETY: per the safety requirements, `nb` is the `nb` field of a live `BusData`.
    let bus_data = unsafe { &*kernel::container_of!(Opaque::cast_from(nb), BusData, nb) };
    // SAFETY: a device of the PCI bus type is the `dev` of a `pci_dev`.
    let pdev = unsafe { kernel::container_of!(data.cast::<bindings::device>(), bindings::pci_dev, dev) };
    // SAFETY: the PCI core notifies about a live device whose `bus` is set.
    let ours = unsafe { (*(*pdev).bus).sysdata } == (bus_data as *const BusData).cast_mut().cast();
    if !ours {
        return bindings::NOTIFY_DONE as c_int;
    }
    match action as bindings::bus_notifier_event {
        bindings::bus_notifier_event_BUS_NOTIFY_ADD_DEVICE => {
            // SAFETY: `pdev` is being added and no driver can bind it yet.
            unsafe { bus_data.adopt(pdev) };
        }
        bindings::bus_notifier_event_BUS_NOTIFY_DEL_DEVICE => bus_data.forget(pdev),
        _ => {}
    }
    bindings::NOTIFY_OK as c_int
}

// SAFETY: `busn` is only used by the PCI core under its own locking; the rest is `Sync`.
unsafe impl Sync for BusData {}
// SAFETY: as above.
unsafe impl Send for BusData {}

/// Reads `size` bytes at `where_` of function `devfn`.
///
/// # Safety
///
/// `bus` is a root bus created by [`PciHost::new`] (its sysdata a live [`BusData`]).
unsafe extern "C" fn cfg_read(
    bus: *mut bindings::pci_bus,
    devfn: c_uint,
    where_: c_int,
    size: c_int,
    val: *mut u32,
) -> c_int {
    // SAFETY: per the function's safety requirements; the bridge holds a reference to the
    // `BusData` until its release.
    let data = unsafe { &*(*bus).sysdata.cast::<BusData>() };
    let (v, rc) = if devfn != 0 {
        (!0, bindings::PCIBIOS_DEVICE_NOT_FOUND)
    } else {
        data.config_read(where_, size)
    };
    // SAFETY: the PCI core passes a valid `val`.
    unsafe { *val = v };
    rc as c_int
}

/// Writes `size` bytes of `val` at `where_` of function `devfn`.
///
/// # Safety
///
/// As for [`cfg_read`].
unsafe extern "C" fn cfg_write(
    bus: *mut bindings::pci_bus,
    devfn: c_uint,
    where_: c_int,
    size: c_int,
    val: u32,
) -> c_int {
    // SAFETY: as in `cfg_read`.
    let data = unsafe { &*(*bus).sysdata.cast::<BusData>() };
    let rc = if devfn != 0 {
        bindings::PCIBIOS_DEVICE_NOT_FOUND
    } else {
        data.config_write(where_, size, val)
    };
    rc as c_int
}

/// The bridge's `pci_ops`: configuration accesses only.
struct Ops(bindings::pci_ops);
// SAFETY: only function pointers, never written.
unsafe impl Sync for Ops {}

static OPS: Ops = Ops(bindings::pci_ops {
    read: Some(cfg_read),
    write: Some(cfg_write),
    // SAFETY: all-zero is "no callback" for every other member.
    ..unsafe { core::mem::zeroed() }
});

/// Drops the bridge's reference to its [`BusData`].
///
/// # Safety
///
/// Called by the PCI core once, when the bridge registered by [`PciHost::new`] is released.
unsafe extern "C" fn release_bridge(bridge: *mut bindings::pci_host_bridge) {
    // SAFETY: `release_data` is the `Arc::into_raw` of `PciHost::new`, released once here.
    drop(unsafe { Arc::from_raw((*bridge).release_data.cast::<BusData>()) });
}

/// Holds the PCI core's rescan/remove lock.
pub(crate) struct RescanLock;

impl RescanLock {
    pub(crate) fn new() -> Self {
        // SAFETY: always callable from process context.
        unsafe { bindings::pci_lock_rescan_remove() };
        RescanLock
    }
}

impl Drop for RescanLock {
    fn drop(&mut self) {
        // SAFETY: taken in `new`.
        unsafe { bindings::pci_unlock_rescan_remove() };
    }
}

/// A root bus with one emulated function.
///
/// # Invariants
///
/// `bus` is a root bus this owns, registered with the PCI core until `drop`; its sysdata is
/// `data`, whose notifier is registered until `drop`. `bridge` is its host bridge, of which
/// this holds the initial reference.
pub(crate) struct PciHost {
    bridge: *mut bindings::pci_host_bridge,
    bus: *mut bindings::pci_bus,
    data: Arc<BusData>,
}

// SAFETY: the raw pointers are to PCI core objects that may be used from any thread.
unsafe impl Send for PciHost {}
// SAFETY: as above; `&PciHost` only reads them.
unsafe impl Sync for PciHost {}

impl PciHost {
    /// Creates a root bus whose memory window is `window` (a free, non-busy resource in
    /// iomem_resource that outlives the bus) and, if given, whose 64-bit prefetchable window
    /// is `pref_window` (the same kind of resource: the CMB's and PMR's BARs go there, in
    /// reserved RAM: see [`crate::glue::nvme::devmem`]), scans function 00.0 with configuration space
    /// `cfg`, assigns its BARs and gives it (and every rescan of it) interrupt `irq`.
    /// `before_add` runs with the device
    /// scanned and assigned, before drivers may bind: it sets up what the BARs' addresses
    /// must reach. `bar0` is the function's BAR0, which decodes while the Command register
    /// says so (off at first: `cfg`'s Command register must be zero).
    pub(crate) fn new(
        cfg: KBox<ConfigSpace>,
        bar0: Arc<Bar0>,
        window: *mut bindings::resource,
        pref_window: Option<*mut bindings::resource>,
        irq: u32,
        before_add: impl FnOnce(*mut bindings::pci_dev) -> Result,
    ) -> Result<Self> {
        if function::memory_space(&cfg) {
            return Err(EINVAL);
        }
        // The power-on state, for Function Level Resets.
        let initial = power_on_copy(&cfg)?;
        let _rescan = RescanLock::new();
        #[cfg(CONFIG_PCI_DOMAINS)]
        // SAFETY: no preconditions; the domain is released with the bridge.
        let domain = to_result_nr(unsafe {
            bindings::pci_bus_find_emul_domain_nr(0, 0x10000, i32::MAX as u32)
        })?;
        #[cfg(not(CONFIG_PCI_DOMAINS))]
        let domain = 0;
        // SAFETY: `pci_find_bus` only reads the bus list (under its own lock); the rescan lock
        // keeps another creator from taking the number before registration.
        let busnr = (0..=255)
            .find(|&nr| unsafe { bindings::pci_find_bus(domain, nr) }.is_null())
            .ok_or(EBUSY);
        let busnr = match busnr {
            Ok(nr) => nr,
            Err(e) => {
                #[cfg(CONFIG_PCI_DOMAINS)]
                // SAFETY: allocated above, not handed to a bridge.
                unsafe {
                    bindings::pci_bus_release_emul_domain_nr(domain)
                };
                return Err(e);
            }
        };
        let msi = match Msi::new().and_then(|m| Ok(Arc::new(m, GFP_KERNEL)?)) {
            Ok(m) => m,
            Err(e) => {
                #[cfg(CONFIG_PCI_DOMAINS)]
                // SAFETY: allocated above, not handed to a bridge.
                unsafe {
                    bindings::pci_bus_release_emul_domain_nr(domain)
                };
                return Err(e);
            }
        };
        let data = Arc::pin_init(
            pin_init!(BusData {
                sysdata: sysdata(domain),
                cfg <- RawSpinLock::new(cfg, c_str!("nvmock_pci_cfg"), kernel::static_lock_class!()),
                initial,
                bar0,
                flr: AtomicBool::new(false),
                transactions: AtomicBool::new(false),
                present: AtomicBool::new(true),
                busn <- Opaque::ffi_init(move |p: *mut bindings::resource| {
                    // SAFETY: `p` is valid for writes; a zeroed resource is an unlinked one.
                    unsafe {
                        p.write(core::mem::zeroed());
                        (*p).name = c_str!("nvmock bus").as_char_ptr();
                        (*p).start = busnr as u64;
                        (*p).end = busnr as u64;
                        (*p).flags = bindings::IORESOURCE_BUS as _;
                    }
                }),
                irq,
                nb <- Opaque::ffi_init(|p: *mut bindings::notifier_block| {
                    // SAFETY: `p` is valid for writes; a zeroed notifier block is unlinked.
                    unsafe {
                        p.write(core::mem::zeroed());
                        (*p).notifier_call = Some(notify);
                    }
                }),
                function <- kernel::new_spinlock!(Function(core::ptr::null_mut()), "nvmock_pci_function"),
                msi,
            }),
            GFP_KERNEL,
        );
        let data = match data {
            Ok(d) => d,
            Err(e) => {
                #[cfg(CONFIG_PCI_DOMAINS)]
                // SAFETY: as above.
                unsafe {
                    bindings::pci_bus_release_emul_domain_nr(domain)
                };
                return Err(e);
            }
        };

        // SAFETY: no private area requested.
        let bridge = unsafe { bindings::pci_alloc_host_bridge(0) };
        if bridge.is_null() {
            #[cfg(CONFIG_PCI_DOMAINS)]
            // SAFETY: as above.
            unsafe {
                bindings::pci_bus_release_emul_domain_nr(domain)
            };
            return Err(ENOMEM);
        }
        // SAFETY: `nb` is initialised and pinned in `data`, which outlives the registration
        // (unregistered in `drop`, or below on failure).
        let rc = unsafe { bindings::bus_register_notifier(&raw const bindings::pci_bus_type, data.nb.get()) };
        if rc != 0 {
            // SAFETY: `bridge` is fresh and not registered; it holds nothing yet.
            unsafe { bindings::pci_free_host_bridge(bridge) };
            #[cfg(CONFIG_PCI_DOMAINS)]
            // SAFETY: as above.
            unsafe {
                bindings::pci_bus_release_emul_domain_nr(domain)
            };
            return Err(Error::from_errno(rc));
        }
        let raw = Arc::into_raw(data.clone()).cast_mut();
        // SAFETY: `bridge` is a fresh, unregistered bridge we own. From here on, freeing it
        // (pci_free_host_bridge) releases `raw` and the domain through the release callback.
        // `pref_window`, like `window`, is a live resource no bus uses yet.
        unsafe {
            (*bridge).sysdata = raw.cast::<c_void>();
            (*bridge).busnr = busnr;
            #[cfg(CONFIG_PCI_DOMAINS)]
            {
                (*bridge).domain_nr = domain;
            }
            (*bridge).ops = (&OPS.0 as *const bindings::pci_ops).cast_mut();
            bindings::pci_set_host_bridge_release(bridge, Some(release_bridge), raw.cast());
            bindings::pci_add_resource(&mut (*bridge).windows, window);
            if let Some(w) = pref_window {
                // The PCI core puts prefetchable BARs in a prefetchable window first, and
                // never a non-prefetchable one (BAR0) there.
                (*w).flags |= (bindings::IORESOURCE_PREFETCH | bindings::IORESOURCE_MEM_64) as kernel::ffi::c_ulong;
                bindings::pci_add_resource(&mut (*bridge).windows, w);
            }
            bindings::pci_add_resource(&mut (*bridge).windows, data.busn.get());
        }
        // `bridge` is not registered yet; the controller outlives it (it is dropped with
        // `data`, after the bridge's release).
        data.msi.attach(bridge);

        // SAFETY: `bridge` is set up; on failure it is still ours to free.
        let rc = unsafe { bindings::pci_scan_root_bus_bridge(bridge) };
        if rc != 0 {
            // SAFETY: registered above; not registered as a bridge, so freeing releases `raw`
            // and the domain.
            unsafe {
                bindings::bus_unregister_notifier(&raw const bindings::pci_bus_type, data.nb.get());
                bindings::pci_free_host_bridge(bridge);
            }
            return Err(Error::from_errno(rc));
        }
        // SAFETY: registered: `bus` is the root bus.
        let bus = unsafe { (*bridge).bus };
        // SAFETY: `bus` is live; sizing and assignment only touch its devices.
        unsafe {
            bindings::pci_bus_size_bridges(bus);
            bindings::pci_bus_assign_resources(bus);
        }
        // INVARIANT: from here on `drop` removes the bus and unregisters the notifier.
        let this = PciHost { bridge, bus, data };
        // The notifier recorded the function as the core added it (scanned, with its INTx
        // line, no driver yet).
        let pdev = this.data.function().ok_or(ENODEV)?;
        before_add(pdev.as_ptr())?;
        // SAFETY: `bus` is live and its devices are ready for drivers.
        unsafe { bindings::pci_bus_add_devices(bus) };
        Ok(this)
    }

    /// The function 00.0 as the PCI core has it now, with a reference; `None` while it is
    /// removed.
    pub(crate) fn pdev(&self) -> Option<PciDev> {
        self.data.function()
    }

    /// Removes the function from the PCI core, as `/sys/bus/pci/devices/<bdf>/remove` does:
    /// the driver unbinds and the `pci_dev` goes away. `ENODEV` if it is already removed.
    pub(crate) fn remove_function(&self) -> Result {
        let pdev = self.pdev().ok_or(ENODEV)?;
        // SAFETY: `pdev` is live (the reference `pdev` holds); the call takes the rescan lock.
        unsafe { bindings::pci_stop_and_remove_bus_device_locked(pdev.as_ptr()) };
        Ok(())
    }

    /// Scans the root bus again, as `/sys/bus/pci/rescan` does, and returns how many devices
    /// the PCI core found and added.
    pub(crate) fn rescan(&self) -> u32 {
        let _rescan = RescanLock::new();
        // SAFETY: `bus` is registered (type invariant); the rescan lock is held.
        unsafe { bindings::pci_rescan_bus(self.bus) }
    }

    /// The bus state, which outlives the bus for whoever holds it.
    pub(crate) fn bus_data(&self) -> Arc<BusData> {
        self.data.clone()
    }
}

/// BAR `index` of `pdev` as assigned: start and length (`None` if unassigned).
pub(crate) fn pdev_bar(pdev: *mut bindings::pci_dev, index: usize) -> Option<(u64, u64)> {
    if pdev.is_null() || index >= 6 {
        return None;
    }
    // SAFETY: `pdev` is a live device (callers hold a reference); its resources are stable
    // once assigned and before drivers bind.
    let r = unsafe { &(*pdev).resource[index] };
    if r.parent.is_null() || r.end < r.start {
        return None;
    }
    Some((r.start, r.end - r.start + 1))
}

#[cfg(CONFIG_PCI_DOMAINS)]
pub(crate) fn to_result_nr(rc: c_int) -> Result<c_int> {
    if rc < 0 {
        Err(Error::from_errno(rc))
    } else {
        Ok(rc)
    }
}

impl Drop for PciHost {
    fn drop(&mut self) {
        let _rescan = RescanLock::new();
        // SAFETY: `bus` is registered (type invariant); stopping unbinds the drivers, removal
        // unregisters the devices and deletes the bridge device. `pci_remove_root_bus()`
        // leaves the bridge's initial reference to its creator: dropping it (once the device
        // references are gone) releases the bridge and its `BusData`.
        unsafe {
            bindings::pci_stop_root_bus(self.bus);
            bindings::pci_remove_root_bus(self.bus);
        }
        // SAFETY: registered in `new` (type invariant). Removal deleted the function, and the
        // notifier dropped its reference.
        unsafe { bindings::bus_unregister_notifier(&raw const bindings::pci_bus_type, self.data.nb.get()) };
        // SAFETY: the initial reference (type invariant); the bus is gone.
        unsafe { bindings::pci_free_host_bridge(self.bridge) };
    }
}
