// SPDX-License-Identifier: GPL-2.0

//! An emulated NVMe controller that the real (relinked) nvme driver binds to.
//!
//! The pieces, from the driver's side:
//!
//! - enumeration: a root bus of its own ([`PciHost`]) with one function whose configuration
//!   space is the pure model (`model::nvme::function`);
//! - BAR0: the PCI core assigns it inside this device's span of nvmock's window (on x86_64
//!   with MSI-X, of the devmem reservation: [`crate::glue::nvme::bar0`]), where a
//!   buffer is registered with the shim ([`IoMock`]), so the driver's `ioremap()` of BAR0
//!   returns that buffer;
//! - registers and doorbells: the driver writes the buffer; a poller thread feeds the changes
//!   to the pure controller model (`model::nvme::Shadow`), runs it, and publishes CAP/VS/CSTS;
//! - DMA: queues, PRP lists and data are reached through the direct map
//!   (`nvmock_dma_to_virt()`, mock/nvmock_dma.c);
//! - interrupts: after the model posts completions, each completion queue's vector (its IV)
//!   is signalled ([`Interrupts`]): an MSI-X message to the bridge's MSI controller while the
//!   driver has MSI-X enabled (the profile's `msix_vectors` table entries; 0 hides the
//!   capability), else INTx on a software line ([`SoftIrq`]) unless the driver set Interrupt
//!   Disable in the Command register.
//!
//! Completions are posted when the controller's timing model says they are due
//! ([`EngineTiming`]; with timing `none`, the default, as soon as the command has executed).
//!
//! The poller does not spin when idle. For [`ACTIVE_WINDOW_US`] after its last work it keeps
//! looking, yielding the CPU between passes (the driver's next command usually follows within
//! microseconds); then it sleeps, doubling the sleep from 1 us up to [`IDLE_SLEEP_MAX_US`].
//! Any work resets both. While completions are held, no sleep lasts past the earliest due
//! time: the poller sleeps on an hrtimer until the timer's resolution before it, then polls
//! until it ([`timer_resolution_ns`]).

use crate::glue::iomap::{DevMemKind, IoMock, Region};
use crate::glue::nvme::bar0::Bar0;
use crate::glue::nvme::devmem::DevMemRegs;
use crate::glue::nvme::fabric::{Fabric, Member, PortIds};
use crate::glue::nvme::instance::Instance;
use crate::glue::nvme::interrupt::{Interrupts, Raised, MAX_VECTORS};
use crate::glue::nvme::pci_host::{pdev_bar, BusData, PciDev, PciHost};
use crate::glue::nvme::timing::{EngineTiming, Report, TimingProfile};
use crate::glue::soft_irq::SoftIrq;
use crate::model::nvme::msix::{Layout, Msix};
use crate::model::nvme::pmr::TimeUnit;
use crate::model::nvme::{
    function, Backing, BackingError, Cmb, CmbConfig, Config, Controller, HostMemory, MemError,
    NamespaceConfig, ParamError, Params, Pmr, PmrConfig, Shadow, State, Zone, ZoneError,
    ZonedConfig, MAX_NAMESPACES,
};
use crate::model::pci::Node;
use crate::model::pcicfg::ConfigSpace;
use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use kernel::alloc::KVVec;
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::Mutex;
use kernel::time::{delay::fsleep, Delta, Instant, Monotonic};

/// Queue pairs the model has room for: the admin pair and 16 I/O pairs.
pub(crate) const QUEUES: usize = 17;
type Ctrl = Controller<QUEUES>;

/// Where BAR0's doorbells end: the MSI-X table and PBA follow, page aligned.
fn doorbells_end() -> u64 {
    crate::model::nvme::regs::DOORBELLS + 8 * QUEUES as u64
}

/// Longest sleep of an idle poller: bounds the latency of the first command after a pause.
pub(crate) const IDLE_SLEEP_MAX_US: i64 = 2000;
/// How long after its last work a poller keeps looking (yielding the CPU in between) before
/// it starts to sleep.
pub(crate) const ACTIVE_WINDOW_US: i64 = 1000;
/// Work units (commands, completions) per model pass before the lock is dropped.
const BUDGET: u32 = 64;
extern "C" {
    /// `dev` is a `struct device *` (mock/nvmock_dma.c).
    fn nvmock_dma_to_virt(dev: *mut c_void, addr: u64, len: usize) -> *mut c_void;
}

/// What a controller looks like: the parameters of one instance, kept apart from its state.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Profile {
    /// Namespace 1's logical block size (512 or 4096).
    pub(crate) lba_size: u32,
    /// Namespace 1's size in MiB.
    pub(crate) ns_mib: u32,
    /// I/O queue pairs.
    pub(crate) io_queues: u16,
    /// Maximum Data Transfer Size, as a power of two of 4 KiB pages.
    pub(crate) mdts: u8,
    /// Entries of each I/O queue at most (CAP.MQES + 1), 2 to 65536.
    pub(crate) queue_entries: u32,
    /// Namespaces (NSIDs 1 to `namespaces`, each of `ns_mib` MiB and `lba_size` blocks), 1
    /// to [`MAX_NAMESPACES`]; also the slots Namespace Management creates namespaces in.
    pub(crate) namespaces: u32,
    /// PCI vendor ID (also Identify Controller VID and SSVID); neither 0 nor 0xffff.
    pub(crate) vendor_id: u16,
    /// PCI device ID; neither 0 nor 0xffff. Any ID binds (the driver matches the class), but
    /// an ID in the driver's table brings that device's quirks with it.
    pub(crate) device_id: u16,
    /// MSI-X table entries (interrupt vectors), 1 to [`MAX_VECTORS`]; 0 offers no MSI-X
    /// capability (the driver then uses INTx). On x86_64 MSI-X needs the devmem reservation.
    pub(crate) msix_vectors: u16,
    /// Zoned namespaces: the last `zoned` of the `namespaces` use the Zoned Namespace Command
    /// Set (CSI 02h), the others the NVM Command Set; 0 for none.
    pub(crate) zoned: u32,
    /// Zone size in KiB: a multiple of the block size that divides `ns_mib`. Linux uses a
    /// zoned namespace only if this is a power of two of blocks (it says so in the log).
    pub(crate) zone_kib: u32,
    /// Zone capacity in KiB (the writable part of each zone): 0 for the whole zone, else a
    /// multiple of the block size up to `zone_kib`.
    pub(crate) zone_cap_kib: u32,
    /// Most zones open at once per zoned namespace (MOR + 1); 0 for no limit. At most
    /// `max_active` when that is limited.
    pub(crate) max_open: u32,
    /// Most zones active (opened or Closed) at once per zoned namespace (MAR + 1); 0 for no
    /// limit.
    pub(crate) max_active: u32,
    /// Read Across Zone Boundaries: a read may span zones (else Zone Boundary Error).
    pub(crate) read_across_zones: bool,
    /// Zone Append Size Limit as a power of two of 4 KiB pages, 0 for `mdts`; at most `mdts`.
    pub(crate) zasl: u8,
    /// The timing model and its parameters (`none` by default).
    pub(crate) timing: TimingProfile,
    /// Controller Memory Buffer in MiB (0: none): a multiple of 2 (Linux only registers a CMB
    /// of whole 2 MiB sections), all of BAR 2 rounded up to a power of two. Submission
    /// queues, PRP lists and read and write data may be placed in it (CMBSZ SQS, LISTS, RDS,
    /// WDS), so Linux publishes it as P2P memory. Needs the devmem reservation (x86_64).
    pub(crate) cmb_mib: u32,
    /// Persistent Memory Region in MiB (0: none): a power of two of at least 2, all of BAR 4.
    /// Needs the devmem reservation (x86_64).
    pub(crate) pmr_mib: u32,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            lba_size: 512,
            ns_mib: 64,
            io_queues: 16,
            mdts: 5,
            queue_entries: 1024,
            namespaces: 1,
            vendor_id: 0x1b36,
            device_id: 0x00f0,
            // One per queue pair (on x86_64 only with the devmem reservation: see Bar0).
            msix_vectors: crate::glue::nvme::bar0::default_msix_vectors(QUEUES as u16),
            zoned: 0,
            zone_kib: 4096,
            zone_cap_kib: 0,
            max_open: 0,
            max_active: 0,
            read_across_zones: true,
            zasl: 0,
            timing: TimingProfile::default(),
            cmb_mib: 0,
            pmr_mib: 0,
        }
    }
}

/// The CMB and PMR of a profile, validated, with the sizes of their BARs.
#[derive(Clone, Copy)]
struct DevMemConfig {
    cmb: Option<(Cmb, u64)>,
    pmr: Option<(Pmr, u64)>,
}

impl DevMemConfig {
    /// Bytes of the devmem reservation both BARs take.
    fn span(&self) -> u64 {
        self.cmb.map_or(0, |c| c.1) + self.pmr.map_or(0, |p| p.1)
    }
}

impl Profile {
    /// Validates the CMB and PMR of controller `instance`'s profile.
    fn devmem(&self, instance: Instance) -> Result<DevMemConfig> {
        let n = instance.number();
        let mut d = DevMemConfig {
            cmb: None,
            pmr: None,
        };
        if self.cmb_mib != 0 {
            if self.cmb_mib % 2 != 0 || self.cmb_mib > 1 << 14 {
                pr_err!(
                    "nvme profile {}: cmb_mib={} must be a multiple of 2 (Linux maps a CMB in 2 MiB sections), at most 16384\n",
                    n,
                    self.cmb_mib
                );
                return Err(EINVAL);
            }
            let size = u64::from(self.cmb_mib) << 20;
            let bar_size = size.next_power_of_two();
            let cmb = Cmb::new(&CmbConfig {
                bir: 2,
                bar_size,
                offset: 0,
                size,
                sqs: true,
                cqs: false,
                lists: true,
                rds: true,
                wds: true,
            })
            .map_err(|e| {
                pr_err!("nvme profile {}: cmb_mib={}: {:?}\n", n, self.cmb_mib, e);
                EINVAL
            })?;
            d.cmb = Some((cmb, bar_size));
        }
        if self.pmr_mib != 0 {
            if self.pmr_mib < 2 || !self.pmr_mib.is_power_of_two() || self.pmr_mib > 1 << 14 {
                pr_err!(
                    "nvme profile {}: pmr_mib={} must be a power of two from 2 to 16384 (the PMR is all of its BAR)\n",
                    n,
                    self.pmr_mib
                );
                return Err(EINVAL);
            }
            let size = u64::from(self.pmr_mib) << 20;
            let pmr = Pmr::new(&PmrConfig {
                bir: 4,
                size,
                rds: true,
                wds: true,
                cmss: true,
                timeout: 1,
                time_unit: TimeUnit::HalfSeconds,
                write_barrier: 1,
                elasticity: (2, 1),
                read_bypass: false,
                throughput: (0, 0),
            })
            .map_err(|e| {
                pr_err!("nvme profile {}: pmr_mib={}: {:?}\n", n, self.pmr_mib, e);
                EINVAL
            })?;
            d.pmr = Some((pmr, size));
        }
        Ok(d)
    }
}

impl Profile {
    /// Validates the profile of controller `instance` into model parameters.
    fn params(&self, instance: Instance) -> Result<Params> {
        let n = instance.number();
        let bytes = u64::from(self.ns_mib) << 20;
        if self.ns_mib == 0 || self.lba_size == 0 {
            pr_err!(
                "nvme profile {}: namespace size and block size must be non-zero\n",
                n
            );
            return Err(EINVAL);
        }
        let mqes = match self.queue_entries.checked_sub(1).map(u16::try_from) {
            Some(Ok(m)) if m >= 1 => m,
            _ => {
                pr_err!(
                    "nvme profile {}: queue_entries must be 2 to 65536\n",
                    n
                );
                return Err(EINVAL);
            }
        };
        let count = match usize::try_from(self.namespaces) {
            Ok(n) if (1..=MAX_NAMESPACES).contains(&n) => n,
            _ => {
                pr_err!(
                    "nvme profile {}: namespaces must be 1 to {}\n",
                    n,
                    MAX_NAMESPACES
                );
                return Err(EINVAL);
            }
        };
        if self.msix_vectors > MAX_VECTORS {
            pr_err!(
                "nvme profile {}: msix_vectors must be 0 to {}\n",
                n,
                MAX_VECTORS
            );
            return Err(EINVAL);
        }
        for (what, id) in [("vendor", self.vendor_id), ("device", self.device_id)] {
            if id == 0 || id == 0xffff {
                pr_err!(
                    "nvme profile {}: PCI {} ID {:#06x} is reserved\n",
                    n,
                    what,
                    id
                );
                return Err(EINVAL);
            }
        }
        let ns = [NamespaceConfig {
            lba_size: self.lba_size,
            blocks: bytes / u64::from(self.lba_size),
        }; MAX_NAMESPACES];
        let serial = instance.serial();
        let c = Config {
            vendor_id: self.vendor_id,
            subsystem_vendor_id: self.vendor_id,
            serial: serial.as_str(),
            model: "nvmock emulated NVMe controller",
            firmware: "nvmock1",
            io_queues: self.io_queues,
            mqes,
            mdts: self.mdts,
            timeout: 20,
            vectors: self.msix_vectors.max(1),
            namespaces: ns.get(..count).ok_or(EINVAL)?,
        };
        let mut params = Params::new(&c).map_err(|e| {
            pr_err!("nvme profile {}: invalid parameter: {:?}\n", n, e);
            EINVAL
        })?;
        if self.zoned > self.namespaces {
            pr_err!(
                "nvme profile {}: zoned={} is more than namespaces={}\n",
                n,
                self.zoned,
                self.namespaces
            );
            return Err(EINVAL);
        }
        if self.zoned == 0 {
            return Ok(params);
        }
        let zone_size = u64::from(self.zone_kib) << 10;
        let zc = ZonedConfig {
            zone_size,
            zone_capacity: match self.zone_cap_kib {
                0 => zone_size,
                k => u64::from(k) << 10,
            },
            max_open: self.max_open,
            max_active: self.max_active,
            read_across_zones: self.read_across_zones,
        };
        for nsid in self.namespaces - self.zoned + 1..=self.namespaces {
            params = params.zoned(nsid, &zc).map_err(|e| {
                let what = match e {
                    ParamError::ZoneSize(_) => "zone_kib is not a multiple of lba_size or does not divide ns_mib",
                    ParamError::ZoneCount(_) => "zone_kib is larger than the namespace (ns_mib)",
                    ParamError::ZoneCapacity(_) => {
                        "zone_cap_kib is above zone_kib or not a multiple of lba_size"
                    }
                    ParamError::ZoneLimits(_) => {
                        "max_open is above max_active, or either is above the zone count"
                    }
                    _ => "invalid zoned geometry",
                };
                pr_err!("nvme profile {}: namespace {}: {} ({:?})\n", n, nsid, what, e);
                EINVAL
            })?;
        }
        params.zone_append_limit(self.zasl).map_err(|_| {
            pr_err!(
                "nvme profile {}: zasl={} is above mdts={}\n",
                n,
                self.zasl,
                self.mdts
            );
            EINVAL
        })
    }
}

/// Host memory as the device reaches it by DMA, and the memory of its CMB and PMR (the
/// owner's mappings of their BARs: see [`crate::glue::nvme::devmem`]).
struct Dma(*mut bindings::device, Option<DevMemBuf>, Option<DevMemBuf>);

/// A BAR's memory as the controller reaches it.
///
/// # Invariants
///
/// `ptr` is `len` bytes of an [`IoMock`] range that stays registered while the engine runs
/// (it is removed in [`Shared`]'s drop, after the poller has stopped).
#[derive(Clone, Copy)]
struct DevMemBuf {
    ptr: *mut u8,
    len: usize,
}

impl DevMemBuf {
    fn of(r: &Option<Region>) -> Option<Self> {
        // INVARIANT: the range lives as long as `Shared`, which holds it.
        r.as_ref().map(|r| DevMemBuf {
            ptr: r.host,
            len: r.len,
        })
    }

    fn bytes<'a>(b: Option<Self>) -> Option<&'a mut [u8]> {
        // SAFETY: `ptr` is `len` bytes while the engine runs (type invariant); the engine's
        // lock serialises the controller's accesses. The host reaches the same bytes through
        // the BAR concurrently, as it does a real device's memory.
        b.map(|b| unsafe { core::slice::from_raw_parts_mut(b.ptr, b.len) })
    }
}

impl Dma {
    fn ptr(&self, addr: u64, len: usize) -> Result<*mut u8, MemError> {
        // SAFETY: `self.0` is the live device (the engine holds a reference to it).
        let p = unsafe { nvmock_dma_to_virt(self.0.cast(), addr, len) };
        if p.is_null() {
            Err(MemError::Unmapped)
        } else {
            Ok(p.cast())
        }
    }
}

impl HostMemory for Dma {
    fn cmb(&mut self) -> Option<&mut [u8]> {
        DevMemBuf::bytes(self.1)
    }

    fn pmr(&mut self) -> Option<&mut [u8]> {
        DevMemBuf::bytes(self.2)
    }

    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        if buf.is_empty() {
            return Ok(());
        }
        let p = self.ptr(addr, buf.len())?;
        // SAFETY: `p` is `buf.len()` bytes of RAM the driver mapped for the device.
        unsafe { core::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    fn write(&mut self, addr: u64, buf: &[u8]) -> Result<(), MemError> {
        if buf.is_empty() {
            return Ok(());
        }
        let p = self.ptr(addr, buf.len())?;
        // SAFETY: as in `read`.
        unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), p, buf.len()) };
        Ok(())
    }
}

/// Namespace contents in vmalloc'ed memory, one buffer per namespace (NSID 1 first), and the
/// zone records of the zoned ones (empty for the others).
struct Store {
    data: KVec<KVVec<u8>>,
    zones: KVec<KVVec<Zone>>,
}

impl Store {
    /// Memory for every namespace of `params`, zeroed, with Empty zones.
    fn new(params: &Params) -> Result<Self> {
        let mut data = KVec::new();
        let mut zones = KVec::new();
        for nsid in 1..=params.namespace_count() {
            let bytes = params.namespace(nsid).map(|n| n.bytes()).ok_or(EINVAL)?;
            let len = usize::try_from(bytes).map_err(|_| EINVAL)?;
            data.push(KVVec::from_elem(0u8, len, GFP_KERNEL)?, GFP_KERNEL)?;
            let count = params.zoned_namespace(nsid).map_or(0, |z| z.zones());
            zones.push(
                KVVec::from_elem(Zone::EMPTY, count as usize, GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Ok(Store { data, zones })
    }

    fn range(&mut self, nsid: u32, offset: u64, len: u64) -> Result<&mut [u8], BackingError> {
        let ns = self
            .data
            .get_mut((nsid as usize).wrapping_sub(1))
            .ok_or(BackingError::Io)?;
        let start = usize::try_from(offset).map_err(|_| BackingError::Io)?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| start.checked_add(l))
            .ok_or(BackingError::Io)?;
        ns.get_mut(start..end).ok_or(BackingError::Io)
    }
}

impl Backing for Store {
    fn read(&mut self, nsid: u32, offset: u64, buf: &mut [u8]) -> Result<(), BackingError> {
        buf.copy_from_slice(self.range(nsid, offset, buf.len() as u64)?);
        Ok(())
    }

    fn write(&mut self, nsid: u32, offset: u64, buf: &[u8]) -> Result<(), BackingError> {
        self.range(nsid, offset, buf.len() as u64)?
            .copy_from_slice(buf);
        Ok(())
    }

    fn zero(&mut self, nsid: u32, offset: u64, len: u64) -> Result<(), BackingError> {
        self.range(nsid, offset, len)?.fill(0);
        Ok(())
    }

    fn zones(&mut self, nsid: u32) -> Option<&mut [Zone]> {
        let z = self.zones.get_mut((nsid as usize).wrapping_sub(1))?;
        (!z.is_empty()).then_some(&mut z[..])
    }
}

/// What the poller mutates.
struct Engine {
    ctrl: KBox<Ctrl>,
    shadow: Shadow<QUEUES>,
    store: Store,
    /// The device was surprise-removed and its BAR now reads all ones.
    gone: bool,
    /// When the model's clock (the Timestamp feature) was last advanced.
    clock: Instant<Monotonic>,
    /// The timing model, the controller's nanosecond clock and the timing counters.
    timing: EngineTiming,
    /// The CMB and PMR registers in BAR0's buffer.
    devmem_regs: DevMemRegs,
}

/// Faults a test asks for; the poller applies them.
#[derive(Default)]
pub(crate) struct Faults {
    /// Completions of I/O commands to withhold (from the next one fetched): the command
    /// executes, but its completion is never posted (the commands after it complete), until
    /// the host deletes the queue (which posts it) or resets the controller (which drops it).
    pub(crate) withhold_io: AtomicU32,
}

/// Counters, for tests and diagnostics.
#[derive(Default)]
pub(crate) struct Stats {
    /// Times the controller became ready (CSTS.RDY 0 -> 1): 1 plus the resets.
    pub(crate) enables: AtomicU64,
    /// Model passes that found work.
    pub(crate) busy_passes: AtomicU64,
    /// Commands fetched.
    pub(crate) commands: AtomicU64,
    /// Interrupts raised.
    pub(crate) interrupts: AtomicU64,
    /// Function Level Resets the controller went through.
    pub(crate) function_resets: AtomicU64,
}

/// The state the poller thread shares with the device's owner.
///
/// # Invariants
///
/// `bus` is the state of the function's root bus, which tells the current `pci_dev`.
#[pin_data(PinnedDrop)]
struct Shared {
    #[pin]
    engine: Mutex<Engine>,
    /// BAR0 (the device's view of its registers: see [`Bar0`]).
    bar0: kernel::sync::Arc<Bar0>,
    bus: kernel::sync::Arc<crate::glue::nvme::pci_host::BusData>,
    #[pin]
    irqs: Interrupts,
    stats: Stats,
    faults: Faults,
    region: Region,
    /// BAR 2 (the CMB's) and BAR 4 (the PMR's), ranges of the devmem owner.
    cmb_mem: Option<Region>,
    pmr_mem: Option<Region>,
    /// The owners of the spans the BARs are in.
    owners: Owners,
}

/// Who owns the spans a function's BARs are in.
enum Owners {
    /// The function's own (its [`PciHost`]'s windows): BAR0's span and the devmem span of the
    /// CMB's and PMR's BARs, if there are any.
    Own(Pin<KBox<IoMock>>, Option<Pin<KBox<IoMock>>>),
    /// The fabric's windows, shared with its other functions.
    Fabric(kernel::sync::Arc<Fabric>),
}

impl Owners {
    fn mem(&self) -> &IoMock {
        match self {
            Owners::Own(m, _) => m,
            Owners::Fabric(f) => f.mem(),
        }
    }

    fn devmem(&self) -> Option<&IoMock> {
        match self {
            Owners::Own(_, d) => d.as_deref(),
            Owners::Fabric(f) => f.devmem(),
        }
    }
}

// SAFETY: the raw pointers are to objects usable from any thread (a PCI device, the BAR
// buffer the engine mutex serialises).
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

#[pinned_drop]
impl PinnedDrop for Shared {
    fn drop(self: Pin<&mut Self>) {
        // The bus may outlive the device: its configuration writes must not reach the buffer.
        self.bar0.detach();
        if let Err(e) = self.owners.mem().remove(&self.region) {
            pr_err!("nvme: removing BAR0 failed: {:?}\n", e);
        }
        if let Some(m) = self.owners.devmem() {
            for r in [&self.cmb_mem, &self.pmr_mem].into_iter().flatten() {
                if let Err(e) = m.remove(r) {
                    pr_err!("nvme: removing a CMB/PMR BAR failed: {:?}\n", e);
                }
            }
        }
    }
}

impl Shared {
    /// One pass: pull the driver's register writes, run the model, publish, interrupt.
    /// Returns whether there was anything to do.
    /// Also returns the nanoseconds until the earliest held completion is due, if any.
    fn poll(&self) -> (bool, Option<u64>) {
        let (busy, fetched, raised, next_due) = {
            let mut guard = self.engine.lock();
            let Engine {
                ctrl,
                shadow,
                store,
                gone,
                clock,
                timing,
                devmem_regs,
            } = &mut *guard;
            if *gone {
                return (false, None);
            }
            // A Function Level Reset that software initiated (the configuration space is
            // already reset, and the function answers nothing until this is done): the
            // controller, the registers as the device sees them and the interrupt state go
            // back to power-on. Commands not completed are dropped, never completed.
            if self.bus.flr_pending() {
                function::reset_controller(ctrl);
                *shadow = Shadow::new();
                *devmem_regs = DevMemRegs::default();
                self.bar0.function_reset();
                self.irqs.function_reset();
                self.stats.function_resets.fetch_add(1, Ordering::Relaxed);
                self.bus.finish_flr();
                return (true, None);
            }
            // The controller's clock, in steps of at least 100 ms (the remainder of each
            // step is dropped: under 1 %).
            let ms = clock.elapsed().as_millis();
            if ms >= 100 {
                ctrl.advance_time(ms as u64);
                *clock = Instant::now();
            }
            // The registers as the device sees them: BAR0's buffer while it decodes, the
            // registers saved aside while Memory Space Enable is clear (see `Bar0`).
            let (pulled, devmem_pulled) = {
                let bar = self.bar0.pull_view();
                (shadow.pull(&bar, ctrl), devmem_regs.pull(&bar, ctrl))
            };
            let (mut p, mut raised) = (Default::default(), Raised::default());
            let was_ready = ctrl.state() == State::Ready;
            // DMA goes through the function as the PCI core has it now; while it is removed
            // (sysfs remove, before a rescan) no driver can have commands outstanding, and
            // the controller waits. Without Bus Master Enable in the Command register the
            // function may not master the bus: as a real one, it fetches and completes
            // nothing (doorbells are still seen) until the bit is set again.
            let function = self.bus.function();
            let master = self.bus.command() & crate::model::pcicfg::PCI_COMMAND_MASTER != 0;
            let now = timing.now();
            if let (Some(f), true) = (&function, master && ctrl.has_work(now)) {
                // SAFETY: `f` holds a reference to the live device.
                let mut dma = Dma(
                    unsafe { &raw mut (*f.as_ptr()).dev },
                    DevMemBuf::of(&self.cmb_mem),
                    DevMemBuf::of(&self.pmr_mem),
                );
                let withhold = &self.faults.withhold_io;
                // Device Status: Transactions Pending while the pass may read host memory.
                self.bus.set_transactions_pending(true);
                p = timing.process(ctrl, &mut dma, store, &mut raised, withhold, now, BUDGET);
                self.bus.set_transactions_pending(false);
            }
            if !was_ready && ctrl.state() == State::Ready {
                self.stats.enables.fetch_add(1, Ordering::Relaxed);
            }
            {
                let bar = self.bar0.lock();
                shadow.push(&bar, ctrl);
                devmem_regs.push(&bar, ctrl);
            }
            let p: crate::model::nvme::Progress = p;
            // How long until the earliest held completion is due, if one is.
            let next_due = p
                .next_due
                .or_else(|| ctrl.next_due(now))
                .map(|due| due.saturating_sub(now));
            (
                pulled.any() || devmem_pulled != 0 || p.fetched != 0 || p.completed != 0 || p.more,
                p.fetched,
                raised,
                next_due,
            )
        };
        if busy {
            self.stats.busy_passes.fetch_add(1, Ordering::Relaxed);
            self.stats
                .commands
                .fetch_add(u64::from(fetched), Ordering::Relaxed);
        }
        // A function in reset signals nothing (the next pass resets it).
        if raised.0 != 0 && !self.bus.flr_pending() {
            self.stats.interrupts.fetch_add(1, Ordering::Relaxed);
            self.irqs.raise(&raised, &*self.bar0, &self.bus);
        }
        // Messages held while their vector was masked go once it is unmasked.
        self.irqs.poll(&*self.bar0, &self.bus);
        (busy, next_due)
    }
}

/// The poller thread.
///
/// # Safety
///
/// `data` is a `Shared` that outlives the thread (`NvmeDev::drop` stops it first).
unsafe extern "C" fn poller(data: *mut c_void) -> c_int {
    // SAFETY: per the function's safety requirements.
    let shared = unsafe { &*data.cast::<Shared>() };
    let mut sleep_us: i64 = 0;
    let mut last_work = Instant::<Monotonic>::now();
    // SAFETY: called from a kthread.
    while !unsafe { bindings::kthread_should_stop() } {
        let (busy, next_due) = shared.poll();
        if busy {
            sleep_us = 0;
            last_work = Instant::now();
            // SAFETY: process context, no locks held.
            unsafe { bindings::__cond_resched() };
            continue;
        }
        if last_work.elapsed() < Delta::from_micros(ACTIVE_WINDOW_US) {
            // Recently busy: a driver usually submits again within microseconds, sooner
            // than a timer can wake us (UML's timers tick at 10 ms). Let it run, then look.
            // SAFETY: process context, no locks held.
            unsafe { bindings::yield_() };
            continue;
        }
        sleep_us = (sleep_us * 2).clamp(1, IDLE_SLEEP_MAX_US);
        let Some(wait) = next_due else {
            fsleep(Delta::from_micros(sleep_us));
            continue;
        };
        // A completion is held: no sleep may end after it is due. A timer fires up to two
        // resolutions late (one tick without high-resolution timers, as on UML): closer to
        // the due time than that, the controller is busy and polls; further, it sleeps until
        // that margin before it (or its idle sleep, if shorter), on an hrtimer.
        let margin = 2 * timer_resolution_ns();
        if wait <= margin {
            // SAFETY: process context, no locks held.
            unsafe { bindings::yield_() };
        } else {
            sleep_ns((wait - margin).min(sleep_us as u64 * 1000));
        }
    }
    0
}

/// How late a timer may fire after the time it was set for, in ns: the hrtimer resolution
/// (one tick without high-resolution timers).
fn timer_resolution_ns() -> u64 {
    #[cfg(CONFIG_HIGH_RES_TIMERS)]
    // SAFETY: set once at boot, read-only after.
    let ns = u64::from(unsafe { bindings::hrtimer_resolution });
    #[cfg(not(CONFIG_HIGH_RES_TIMERS))]
    let ns = u64::from(bindings::TICK_NSEC);
    ns
}

/// Sleeps at least `ns` nanoseconds (rounded up to microseconds) on an hrtimer, with a slack
/// of 1/64 of it (at least 1 us).
fn sleep_ns(ns: u64) {
    let us = ns.div_ceil(1000).max(1);
    let slack = (us / 64).max(1);
    let (min, max) = (
        usize::try_from(us).unwrap_or(usize::MAX),
        usize::try_from(us + slack).unwrap_or(usize::MAX),
    );
    // SAFETY: process context, no locks held; an idle sleep (not counted as load).
    unsafe {
        bindings::usleep_range_state(
            min as _,
            max as _,
            bindings::TASK_UNINTERRUPTIBLE | bindings::TASK_NOLOAD,
        )
    };
}

/// A controller made but not yet running: its configuration space (until a bus takes it),
/// model and state, and once the PCI core has assigned its BARs, where they landed.
struct Pending {
    instance: Instance,
    dm: DevMemConfig,
    bar_size: u64,
    cfg: Option<KBox<ConfigSpace>>,
    ctrl: KBox<Ctrl>,
    store: Store,
    timing: EngineTiming,
    irq: SoftIrq,
    bar0: kernel::sync::Arc<Bar0>,
    shadow: Shadow<QUEUES>,
    /// The MSI-X capability's offset and table layout, if the profile has MSI-X.
    msix_cap: Option<(u8, Layout)>,
    /// Set by [`Pending::place`].
    placed: Option<Placed>,
}

/// Where a pending controller's BARs landed: its registered ranges and MSI-X state.
struct Placed {
    region: Region,
    cmb_mem: Option<Region>,
    pmr_mem: Option<Region>,
    msix: Option<(u8, Msix)>,
}

/// The timing engine of controller `instance` as `profile` describes it (its parameters
/// validated). Not inlined, and called before [`Pending::new`] rather than from it: the timing
/// models' builders have large frames of their own (`timing::build`, `ZonedTiming::new_boxed`),
/// and a caller's frame adds to them on UML's 16 KiB KASAN stacks.
#[inline(never)]
fn engine_timing(profile: &Profile, instance: Instance) -> Result<EngineTiming> {
    let params = profile.params(instance)?;
    EngineTiming::new(&profile.timing, &params, instance.number())
}

impl Pending {
    /// Validates `profile` and makes controller `instance`'s configuration space and model,
    /// with its timing engine `timing` ([`engine_timing`]). Boxed: it is large, and passed
    /// along until the controller starts.
    fn new(profile: &Profile, instance: Instance, timing: EngineTiming) -> Result<KBox<Self>> {
        let params = profile.params(instance)?;
        let dm = profile.devmem(instance)?;
        let bar_size = Ctrl::bar_size();
        let mut cfg = KBox::<ConfigSpace>::new_uninit(GFP_KERNEL)?;
        let layout = match profile.msix_vectors {
            0 => None,
            v => Some(function::msix_layout(v, doorbells_end(), bar_size).map_err(|_| EINVAL)?),
        };
        let mut msix_cap = None;
        ConfigSpace::init_in_place(&mut cfg, &function::header(&params, profile.device_id))
            .and_then(|cs| {
                function::setup(cs, bar_size)?;
                if let Some(l) = &layout {
                    msix_cap = Some((function::add_msix(cs, l)?, *l));
                }
                if let Some((c, size)) = dm.cmb {
                    function::add_memory_bar(cs, c.bir(), size)?;
                }
                if let Some((p, size)) = dm.pmr {
                    function::add_memory_bar(cs, p.bir(), size)?;
                }
                Ok(())
            })
            .map_err(|_| EINVAL)?;
        // SAFETY: initialised by `init_in_place`.
        let cfg = unsafe { cfg.assume_init() };

        let mut ctrl = KBox::<Ctrl>::new_uninit(GFP_KERNEL)?;
        Ctrl::init_in_place(&mut ctrl, params).map_err(|_| EINVAL)?;
        // SAFETY: initialised by `init_in_place`.
        let mut ctrl = unsafe { ctrl.assume_init() };
        if let Some((c, _)) = dm.cmb {
            ctrl.set_cmb(c).map_err(|_| EINVAL)?;
        }
        if let Some((p, _)) = dm.pmr {
            ctrl.set_pmr(p).map_err(|_| EINVAL)?;
        }

        let store = Store::new(&params)?;
        let irq = SoftIrq::new()?;
        let bar0 = Bar0::new(usize::try_from(bar_size).map_err(|_| EINVAL)?)?;
        let p = KBox::new(
            Pending {
                instance,
                dm,
                bar_size,
                cfg: Some(cfg),
                ctrl,
                store,
                timing,
                irq,
                bar0,
                shadow: Shadow::new(),
                msix_cap,
                placed: None,
            },
            GFP_KERNEL,
        )?;
        Ok(p)
    }

    /// Registers the function's BARs where the PCI core assigned them (`pdev`, scanned, no
    /// driver yet): BAR0 with `mem`, the CMB's and PMR's with `devmem`; BAR0's buffer gets
    /// its power-on registers. On failure nothing stays registered.
    fn place(
        &mut self,
        pdev: *mut bindings::pci_dev,
        mem: &IoMock,
        devmem: Option<&IoMock>,
    ) -> Result {
        let (mut cmb_mem, mut pmr_mem) = (None, None);
        let r = self.place_bars(pdev, mem, devmem, &mut cmb_mem, &mut pmr_mem);
        match r {
            Ok(placed) => {
                self.placed = Some(placed);
                Ok(())
            }
            Err(e) => {
                if let Some(m) = devmem {
                    for r in [&cmb_mem, &pmr_mem].into_iter().flatten() {
                        // Just added and unused: removal cannot find users.
                        let _ = m.remove(r);
                    }
                }
                Err(e)
            }
        }
    }

    /// [`Pending::place`]'s steps; the CMB's and PMR's ranges go to `cmb_mem` and `pmr_mem`
    /// as they are added, for the caller to undo.
    fn place_bars(
        &mut self,
        pdev: *mut bindings::pci_dev,
        mem: &IoMock,
        devmem: Option<&IoMock>,
        cmb_mem: &mut Option<Region>,
        pmr_mem: &mut Option<Region>,
    ) -> Result<Placed> {
        // The CMB's and PMR's BARs, assigned in the devmem window: their memory.
        for (bir, want, slot) in [
            (2, self.dm.cmb.map(|c| c.1), &mut *cmb_mem),
            (4, self.dm.pmr.map(|p| p.1), &mut *pmr_mem),
        ] {
            let Some(want) = want else { continue };
            let m = devmem.ok_or(ENXIO)?;
            let (start, len) = pdev_bar(pdev, bir).ok_or_else(|| {
                pr_err!(
                    "nvme: BAR {} ({} MiB) was not assigned (x86_64 places it in the devmem reservation: boot with pci=no_e820)\n",
                    bir,
                    want >> 20
                );
                ENXIO
            })?;
            if len != want {
                return Err(EINVAL);
            }
            *slot = Some(m.add_at(start, len as usize, 0)?);
        }
        let (start, len) = pdev_bar(pdev, 0).ok_or(ENXIO)?;
        if len != self.bar_size {
            return Err(EINVAL);
        }
        let r = mem.add_at(start, len as usize, 0)?;
        let mut msix = None;
        {
            let bar = self.bar0.lock();
            // The driver's first reads must see CAP, VS and CSTS (and the CMB and PMR
            // registers).
            self.shadow.reset(&bar, len, &self.ctrl);
            DevMemRegs::default().push(&bar, &self.ctrl);
            // The MSI-X table as after a function reset: every entry masked.
            if let Some((cap, l)) = self.msix_cap {
                msix = Some((cap, Interrupts::reset_msix(l, &bar)));
            }
        }
        // What a Function Level Reset returns to; then the buffer the driver maps (page
        // aligned, `len` bytes), which reads all ones until the driver sets Memory Space
        // Enable.
        self.bar0.capture_initial();
        if let Err(e) = self.bar0.attach(r.host, r.len) {
            let _ = mem.remove(&r);
            return Err(e);
        }
        Ok(Placed {
            region: r,
            cmb_mem: *cmb_mem,
            pmr_mem: *pmr_mem,
            msix,
        })
    }

    /// Undoes [`Pending::place`], if it was done: BAR0's buffer detached, the ranges removed
    /// from `mem` and `devmem` (the function has no driver yet, so nothing uses them).
    fn unplace(&mut self, mem: &IoMock, devmem: Option<&IoMock>) {
        let Some(p) = self.placed.take() else {
            return;
        };
        self.bar0.detach();
        if let Err(e) = mem.remove(&p.region) {
            pr_err!("nvme: removing BAR0 failed: {:?}\n", e);
        }
        if let Some(m) = devmem {
            for r in [&p.cmb_mem, &p.pmr_mem].into_iter().flatten() {
                if let Err(e) = m.remove(r) {
                    pr_err!("nvme: removing a CMB/PMR BAR failed: {:?}\n", e);
                }
            }
        }
    }

    /// Starts the poller of the placed controller on bus state `bus`; its BARs' spans are
    /// `owners`', and `host` its own bridge (`None` on a fabric).
    fn start(
        mut self: KBox<Self>,
        bus: kernel::sync::Arc<BusData>,
        owners: Owners,
        host: Option<PciHost>,
    ) -> Result<NvmeDev> {
        let placed = self.placed.take().ok_or(ENXIO)?;
        let Pending {
            instance,
            ctrl,
            store,
            timing,
            irq,
            bar0,
            shadow,
            ..
        } = KBox::into_inner(self);
        let shared = KBox::pin_init(
            pin_init!(Shared {
                engine <- kernel::new_mutex!(Engine {
                    ctrl,
                    shadow,
                    store,
                    gone: false,
                    clock: Instant::now(),
                    timing,
                    devmem_regs: DevMemRegs::default(),
                }),
                bar0,
                bus,
                irqs <- Interrupts::new(irq, placed.msix),
                stats: Stats::default(),
                faults: Faults::default(),
                region: placed.region,
                cmb_mem: placed.cmb_mem,
                pmr_mem: placed.pmr_mem,
                owners,
            }),
            GFP_KERNEL,
        );
        let shared = shared?;
        // SAFETY: `shared` is pinned and outlives the thread (see `drop`). The name format
        // takes one unsigned argument.
        let thread = unsafe {
            bindings::kthread_create_on_node(
                Some(poller),
                (&*shared as *const Shared).cast_mut().cast(),
                bindings::NUMA_NO_NODE,
                c_str!("nvmock-nvme%u").as_char_ptr(),
                instance.number(),
            )
        };
        let thread = kernel::error::from_err_ptr(thread)?;
        // SAFETY: a new kthread, not yet woken.
        unsafe { bindings::wake_up_process(thread) };
        Ok(NvmeDev {
            host,
            thread,
            shared,
        })
    }
}

/// A controller to put on a fabric ([`NvmeDev::new_fabric`]).
pub(crate) struct FabricMember<'a> {
    /// What it looks like.
    pub(crate) profile: &'a Profile,
    /// Its instance number.
    pub(crate) instance: Instance,
    /// The endpoint node of the topology it sits at.
    pub(crate) node: usize,
}

/// An emulated NVMe controller on a PCI bus (its own, or a fabric's), with a driver bound to
/// it once the (relinked) nvme module is loaded.
///
/// # Invariants
///
/// `thread` runs [`poller`] on `shared` until `drop` stops it; `host` is `Some` until `drop`
/// for a controller on its own bus, `None` for one on a fabric.
pub(crate) struct NvmeDev {
    host: Option<PciHost>,
    thread: *mut bindings::task_struct,
    shared: Pin<KBox<Shared>>,
}

// SAFETY: the thread pointer is only used to stop the thread.
unsafe impl Send for NvmeDev {}
// SAFETY: `&NvmeDev` only reads.
unsafe impl Sync for NvmeDev {}

impl NvmeDev {
    /// Creates controller `instance` as `profile` describes it and adds it to the PCI core,
    /// on a root bus of its own.
    pub(crate) fn new(profile: &Profile, instance: Instance) -> Result<Self> {
        let timing = engine_timing(profile, instance)?;
        let mut p = Pending::new(profile, instance, timing)?;
        // BAR0's buffer: on x86_64 with MSI-X a span of the devmem reservation (bar0::owner).
        let iomock =
            crate::glue::nvme::bar0::owner(profile.msix_vectors, instance.number(), p.bar_size)?;
        // The CMB's and PMR's BARs: a span of reserved RAM, offered to the PCI core as the
        // bridge's prefetchable window (uncached, as the P2PDMA layer maps a BAR).
        let devmem = match p.dm.span() {
            0 => None,
            span => Some(
                IoMock::new_devmem(c_str!("nvmock nvme devmem"), span, DevMemKind::Uncached)
                    .inspect_err(|_| {
                        pr_err!(
                            "nvme profile {}: cmb_mib/pmr_mib need {} MiB of the devmem reservation (x86_64: NVMOCK_DEVMEM, see README)\n",
                            instance.number(),
                            span >> 20
                        )
                    })?,
            ),
        };
        let cfg = p.cfg.take().ok_or(EINVAL)?;
        let pref_window = devmem.as_ref().map(|m| m.span_resource());
        let host = PciHost::new(
            cfg,
            p.bar0.clone(),
            iomock.span_resource(),
            pref_window,
            p.irq.irq(),
            |pdev| p.place(pdev, &iomock, devmem.as_deref()),
        )?;
        let bus = host.bus_data();
        p.start(bus, Owners::Own(iomock, devmem), Some(host))
    }

    /// Creates the controllers `members` on one host bridge carrying topology `nodes` (ports
    /// of `ids`, ACS controls `acs`: see [`Fabric::new`]), each at its endpoint node, and
    /// adds them to the PCI core: the drivers bind once every poller runs. Returns the fabric
    /// and the controllers in `members`' order; on failure nothing is left behind.
    pub(crate) fn new_fabric(
        nodes: &[Node],
        ids: PortIds,
        acs: &[(usize, u16)],
        members: &[FabricMember<'_>],
    ) -> Result<(kernel::sync::Arc<Fabric>, KVec<NvmeDev>)> {
        let msi = Fabric::new_msi()?;
        let mut pending = KVec::with_capacity(members.len(), GFP_KERNEL)?;
        let mut functions = KVec::with_capacity(members.len(), GFP_KERNEL)?;
        let mut devs = KVec::with_capacity(members.len(), GFP_KERNEL)?;
        let mut devmem = 0;
        for m in members {
            // The fabric's BAR0s are in its span of the fake window, which x86's PCI core
            // cannot reach with the real ioremap() it maps an MSI-X table with.
            if cfg!(CONFIG_X86) && m.profile.msix_vectors != 0 {
                pr_err!(
                    "nvmock_fabric: controller {}: msix_vectors must be 0 on a fabric (x86_64 puts only a lone controller's BAR0 and MSI-X table in the devmem reservation): INTx\n",
                    m.instance.number()
                );
                return Err(EINVAL);
            }
            let timing = engine_timing(m.profile, m.instance)?;
            let mut p = Pending::new(m.profile, m.instance, timing)?;
            devmem += p.dm.span();
            let mut cfg = p.cfg.take().ok_or(EINVAL)?;
            as_endpoint(&mut cfg)?;
            let f = BusData::new_function(cfg, p.bar0.clone(), p.irq.irq(), msi.clone())?;
            functions.push(
                Member {
                    node: m.node,
                    function: f.clone(),
                },
                GFP_KERNEL,
            )?;
            pending.push((p, f), GFP_KERNEL)?;
        }
        let fabric = Fabric::new(nodes, ids, acs, functions, msi, devmem)?;
        let fabric = kernel::sync::Arc::new(fabric, GFP_KERNEL)?;
        // Every function is scanned and assigned, none has a driver: their buffers go where
        // their BARs landed.
        let mut failed = None;
        for (p, bus) in pending.iter_mut() {
            let Some(pdev) = bus.function() else {
                pr_err!(
                    "nvme: controller {} was not found on its fabric\n",
                    p.instance.number()
                );
                failed = Some(ENODEV);
                break;
            };
            if let Err(e) = p.place(pdev.as_ptr(), fabric.mem(), fabric.devmem()) {
                failed = Some(e);
                break;
            }
        }
        if let Some(e) = failed {
            for (p, _) in pending.iter_mut() {
                p.unplace(fabric.mem(), fabric.devmem());
            }
            return Err(e);
        }
        let mut rest = pending.into_iter();
        for (p, bus) in rest.by_ref() {
            match p.start(bus, Owners::Fabric(fabric.clone()), None) {
                Ok(d) => {
                    // Within the capacity reserved above: no allocation, so no failure (and
                    // on one, `d` is dropped: its function removed).
                    if let Err(e) = devs.push(d, GFP_KERNEL) {
                        failed = Some(e.into());
                        break;
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            for (mut p, _) in rest {
                p.unplace(fabric.mem(), fabric.devmem());
            }
            // Each started controller removes its function.
            drop(devs);
            return Err(e);
        }
        fabric.add_devices();
        Ok((fabric, devs))
    }
    /// The PCI function as the PCI core has it now, with a reference; `None` while it is
    /// removed.
    pub(crate) fn pdev(&self) -> Option<PciDev> {
        self.shared.bus.function()
    }

    /// The virtual host bridge the function sits behind.
    pub(crate) fn host(&self) -> Option<&PciHost> {
        self.host.as_ref()
    }

    /// Runs `f` on the controller model, with the poller held off.
    pub(crate) fn with_ctrl<R>(&self, f: impl FnOnce(&Ctrl) -> R) -> R {
        f(&self.shared.engine.lock().ctrl)
    }

    /// Reads `len` bytes of namespace `nsid` at `offset` (what the medium holds).
    pub(crate) fn read_medium(&self, nsid: u32, offset: u64, buf: &mut [u8]) -> Result {
        let mut e = self.shared.engine.lock();
        e.store.read(nsid, offset, buf).map_err(|_| EINVAL)
    }

    /// A media event on zone `zone` (0-based) of zoned namespace `nsid`: it becomes Read
    /// Only (`offline` false) or Offline, as a worn-out or failed zone of a real device does.
    pub(crate) fn zone_fail(&self, nsid: u32, zone: u32, offline: bool) -> Result {
        let mut guard = self.shared.engine.lock();
        let Engine { ctrl, store, .. } = &mut *guard;
        let r = if offline {
            ctrl.zone_offline(store, nsid, zone)
        } else {
            ctrl.zone_read_only(store, nsid, zone)
        };
        r.map_err(|e| match e {
            ZoneError::NotZoned | ZoneError::NoZone => EINVAL,
            ZoneError::NoRecords => ENOMEM,
            ZoneError::Offline => EBUSY,
        })
    }

    /// The record of zone `zone` (0-based) of zoned namespace `nsid`, as the model keeps it.
    pub(crate) fn zone(&self, nsid: u32, zone: u32) -> Option<Zone> {
        let mut e = self.shared.engine.lock();
        e.store.zones(nsid)?.get(zone as usize).copied()
    }

    /// BAR 2's memory, the CMB's (first address, the owner's mapping, length), if the
    /// profile has a CMB.
    #[cfg_attr(not(CONFIG_X86), allow(dead_code, reason = "only x86_64's suite (UML has no devmem)"))]
    pub(crate) fn cmb_mem(&self) -> Option<(u64, *mut u8, usize)> {
        self.shared.cmb_mem.as_ref().map(|r| (r.phys, r.host, r.len))
    }

    /// BAR 4's memory, the PMR's, as for [`NvmeDev::cmb_mem`].
    #[cfg_attr(not(CONFIG_X86), allow(dead_code, reason = "only x86_64's suite (UML has no devmem)"))]
    pub(crate) fn pmr_mem(&self) -> Option<(u64, *mut u8, usize)> {
        self.shared.pmr_mem.as_ref().map(|r| (r.phys, r.host, r.len))
    }

    /// A copy of the PMR's contents (`None` without a PMR), for a power cycle to keep: the
    /// controller is held off while copying.
    pub(crate) fn pmr_save(&self) -> Result<Option<KVVec<u8>>> {
        let Some(r) = &self.shared.pmr_mem else {
            return Ok(None);
        };
        let mut v = KVVec::from_elem(0u8, r.len, GFP_KERNEL)?;
        let _engine = self.shared.engine.lock();
        // SAFETY: `r.host` is `r.len` bytes while the range is registered (as long as
        // `self`); the engine's lock keeps the controller from writing it meanwhile.
        unsafe { core::ptr::copy_nonoverlapping(r.host, v.as_mut_ptr(), r.len) };
        Ok(Some(v))
    }

    /// Puts saved PMR contents back (at power-on, before the host uses the PMR). `ENODEV`
    /// without a PMR, `EINVAL` when the sizes differ.
    pub(crate) fn pmr_restore(&self, data: &[u8]) -> Result {
        let r = self.shared.pmr_mem.as_ref().ok_or(ENODEV)?;
        if data.len() != r.len {
            return Err(EINVAL);
        }
        let _engine = self.shared.engine.lock();
        // SAFETY: as in `pmr_save`.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), r.host, r.len) };
        Ok(())
    }

    /// Counters.
    pub(crate) fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// The timing model's counters, as debugfs shows them.
    pub(crate) fn timing_report(&self) -> Report {
        self.shared.engine.lock().timing.report()
    }

    /// The function's interrupts (INTx and MSI-X): counters and pending bits.
    pub(crate) fn interrupts(&self) -> &Interrupts {
        &self.shared.irqs
    }

    /// Detaches namespace `nsid`: a hot remove, which the controller reports with a
    /// Namespace Attribute Changed notice (if the driver asked for them) and the Changed
    /// Namespace List log.
    pub(crate) fn detach_namespace(&self, nsid: u32) -> Result {
        self.shared
            .engine
            .lock()
            .ctrl
            .detach_namespace(nsid)
            .map_err(|e| {
                pr_err!("nvme: detach of namespace {} refused: {:?}\n", nsid, e);
                EINVAL
            })
    }

    /// Attaches namespace `nsid` again: a hot add, reported like [`NvmeDev::detach_namespace`].
    pub(crate) fn attach_namespace(&self, nsid: u32) -> Result {
        self.shared
            .engine
            .lock()
            .ctrl
            .attach_namespace(nsid)
            .map_err(|e| {
                pr_err!("nvme: attach of namespace {} refused: {:?}\n", nsid, e);
                EINVAL
            })
    }

    /// Fault injection.
    pub(crate) fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Surprise-removes the function: configuration reads return all ones from now on.
    ///
    /// Like a hot-unplugged device, it also stops answering MMIO: BAR0 reads all ones (a
    /// driver sees CSTS = ~0) and the controller processes nothing more, so commands in
    /// flight never complete; the driver has to notice and cancel them.
    pub(crate) fn surprise_remove(&self) {
        self.shared.bus.surprise_remove();
        let mut e = self.shared.engine.lock();
        e.gone = true;
        self.shared.bar0.surprise_remove();
    }
}

/// Makes the function a PCI Express Endpoint (device/port type 0000b) instead of the Root
/// Complex Integrated Endpoint it is alone on a root bus: below a root or downstream port
/// there is a link, and only an endpoint sits at its other end.
fn as_endpoint(cfg: &mut ConfigSpace) -> Result {
    let exp = u16::from(cfg.find_capability(function::CAP_ID_EXP).ok_or(EINVAL)?);
    let flags = cfg.read(exp + 2, 2).map_err(|_| EINVAL)? & !0xf0;
    cfg.device_write(exp + 2, 2, flags).map_err(|_| EINVAL)
}

impl Drop for NvmeDev {
    fn drop(&mut self) {
        // Unbind the driver and remove the bus (or on a fabric, the function) first: the
        // driver shuts the controller down through the poller, which must still run.
        if self.host.is_none() {
            if let Some(pdev) = self.shared.bus.function() {
                // SAFETY: `pdev` holds a reference; the call takes the rescan lock.
                unsafe { bindings::pci_stop_and_remove_bus_device_locked(pdev.as_ptr()) };
            }
            // A rescan of the fabric finds nothing here any more.
            self.shared.bus.surprise_remove();
        }
        drop(self.host.take());
        // SAFETY: the thread was started in `new` and only exits when stopped (invariant).
        unsafe { bindings::kthread_stop(self.thread) };
    }
}
