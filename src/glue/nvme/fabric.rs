// SPDX-License-Identifier: GPL-2.0

//! A virtual PCI host bridge that carries a PCI Express topology: root ports, switches (an
//! upstream port and its downstream ports) and emulated controllers' functions behind them,
//! as a validated [`Topology`] of the pure model (`model::pci`) describes it.
//!
//! - Configuration space: every port is a [`Port`] model (type-1 header, PCI Express
//!   capability of its device/port type, ACS on root and downstream ports), every endpoint the
//!   function's [`BusData`] (the controller's configuration space, as on a [`PciHost`]). A
//!   configuration access for (bus, devfn) is routed as the fabric would: on the root bus to
//!   the host bridge's children, else down through the port whose bus registers
//!   (secondary..=subordinate) decode the bus, and on a port's secondary bus to the device
//!   below it, while the port's link is up (a root or downstream port's link is up while a
//!   device is connected below, [`Port::set_present`]). Nothing else decides what the PCI core
//!   finds: the ports' registers are the routing table.
//! - Bus numbers: assigned as firmware would, by the pure model ([`Topology::new`]: depth
//!   first, each bridge's secondary the next free number) and written into the ports' bus
//!   registers before the scan, so the PCI core finds configured bridges and keeps them. The
//!   bridge's bus range is the host bridge's range in the topology. On x86_64 the root bus is
//!   bus 0 of a PCI domain of the bridge's own (from 0x10000, as [`PciHost`]); elsewhere the
//!   topology is moved to the first free run of bus numbers in domain 0.
//! - Memory: two windows. A span of nvmock's fake physical window for every function's BAR0
//!   (a non-prefetchable BAR, which behind a bridge must be in the bridge's 32-bit memory
//!   window): the fake window is above 4 GiB, so the host bridge translates it, bus address =
//!   CPU address - offset, to bus addresses from [`BUS_MEM_BASE`] (as a host bridge with an
//!   address translation does; the PCI core programs bus addresses into the bridges and
//!   BARs and gives drivers the CPU addresses). And, when a member has a CMB or PMR, a span
//!   of the devmem reservation as a 64-bit prefetchable window without translation (the
//!   CMB's bus address is its physical address, which P2PDMA relies on). The PCI core sizes
//!   and assigns the bridges' windows within these and the BARs within the bridges'; the
//!   owner of each function then registers its buffers where its BARs landed (as for a
//!   [`PciHost`]: `crate::glue::nvme::dev`).
//! - Interrupts: every function's INTx line is its own software line, set by the bridge's
//!   bus notifier as the PCI core adds the function ([`BusData::adopt`]). A port with a
//!   hot-plug slot gets a software line of its own the same way (the PCIe port driver's
//!   services, `pciehp` among them, share it); other ports get none. MSI-X messages go to the
//!   bridge's MSI controller, which every function shares.
//! - Hot-plug slots: a root or downstream port whose node has a [`SlotConfig`] is a slot as
//!   `pciehp` drives it (see `model::pci::slot`): `/sys/bus/pci/slots/<n>/power` powers the
//!   controller below off and on, and [`Fabric::slot_event`] pulls the adapter out, puts it
//!   back in or presses the attention button. The port's INTx is a level: whenever a
//!   configuration write or a slot event leaves the port asserting it, the fabric's work item
//!   runs the line's handlers (outside the PCI core's configuration lock, which `pciehp`'s
//!   handler takes), again while the port still asserts it, as a level-triggered line
//!   interrupts again after its handler returns.
//! - Resets from above: when a root or downstream port's link goes down (its slot powered
//!   off, the adapter pulled, Link Disable set) or software asserts its Secondary Bus Reset,
//!   every function below it loses its state as at power off ([`BusData::power_off`]: the
//!   configuration space at its power-on values, the controller reset, the namespaces kept).
//!
//! One fabric is one host bridge: functions on different host bridges are on different
//! fabrics (or on [`PciHost`]s).

use crate::glue::iomap::{DevMemKind, IoMock};
use crate::glue::nvme::pci_host::{sysdata, BusData, Msi, RescanLock, SysData};
use crate::glue::raw_lock::RawSpinLock;
use crate::glue::soft_irq::SoftIrq;
use crate::model::pci::acs::ACS_CTRL;
use crate::model::pci::{
    AcsConfig, Kind, Node, Notify, Port, PortConfig, PortType, SlotConfig, Topology,
    TopologyError,
};
use crate::model::pcicfg::PCI_PRIMARY_BUS;
use core::ffi::{c_int, c_uint, c_void};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::bindings;
use kernel::c_str;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::Opaque;
use kernel::workqueue::{self, impl_has_work, new_work, Work, WorkItem};

#[allow(unused_imports)]
use crate::glue::nvme::pci_host::PciHost;

/// The bus address the fabric's BAR0 window starts at (see the module documentation).
pub(crate) const BUS_MEM_BASE: u64 = 0x4000_0000;

/// Vendor and device IDs of the ports of a fabric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PortIds {
    /// Root ports.
    pub(crate) root_port: (u16, u16),
    /// Switch upstream ports.
    pub(crate) upstream: (u16, u16),
    /// Switch downstream ports.
    pub(crate) downstream: (u16, u16),
}

impl PortIds {
    /// QEMU's parts: `pcie-root-port` (Red Hat, 1b36:000c) and the `x3130` switch's ports
    /// (Texas Instruments XIO3130, 104c:8232 upstream and 104c:8233 downstream). Not on the
    /// kernel's P2PDMA host bridge whitelist.
    pub(crate) const QEMU: PortIds = PortIds {
        root_port: (0x1b36, 0x000c),
        upstream: (0x104c, 0x8232),
        downstream: (0x104c, 0x8233),
    };

    /// Root ports as Intel's Sky Lake-E root complex has them (8086:2030, "Sky Lake-E PCI
    /// Express Root Port A"), an entry of the kernel's P2PDMA whitelist that allows
    /// peer-to-peer through the host bridge, also between host bridges; the switch as
    /// [`PortIds::QEMU`]'s.
    pub(crate) const SKYLAKE_E: PortIds = PortIds {
        root_port: (0x8086, 0x2030),
        upstream: (0x104c, 0x8232),
        downstream: (0x104c, 0x8233),
    };
}

/// Says why `e` refused a topology, naming the node.
pub(crate) fn topology_error(e: TopologyError) -> (usize, &'static str) {
    use TopologyError as E;
    match e {
        E::Count => (0, "no nodes, or more than 32"),
        E::Parent(i) => (i, "a host bridge with a parent, another node without one, or a parent that is not an earlier node"),
        E::Placement(i) => (i, "cannot sit on its parent (root ports on a host bridge, a switch upstream port on a root or downstream port, downstream ports on an upstream port, endpoints on a host bridge, root or downstream port)"),
        E::Devfn(i) => (i, "device number 32 or more, or function 8 or more"),
        E::Duplicate(i) => (i, "its device and function are already used on the bus"),
        E::Link(i) => (i, "below a root or downstream port only device 0 sits (a switch upstream port alone, as function 0)"),
        E::NoFunction0(i) => (i, "a function other than 0 of a device without function 0"),
        E::SlotNotOnPort(i) => (i, "a slot on something other than a root or downstream port"),
        E::Slot(i) => (i, "a physical slot number that is 0, beyond 13 bits or used twice"),
        E::SwitchInSlot(i) => (i, "a switch below its hot-plug slot (a slot holds an endpoint: a switch in a slot is not modelled)"),
        E::TooDeep(i) => (i, "more than 3 switches above it"),
        E::BusOverflow(i) => (i, "bus numbers run past 255"),
        E::BusOverlap(i) => (i, "its buses overlap another host bridge's"),
    }
}

/// What sits at a node of the topology.
enum Slot {
    /// The host bridge, or an endpoint without a function.
    Empty,
    /// A root port or switch port.
    Port(KBox<Port>),
    /// An endpoint function.
    Function(Arc<BusData>),
}

/// The topology and what sits at each node.
struct Nodes {
    topo: KBox<Topology>,
    slots: KVec<Slot>,
}

impl Nodes {
    /// The node `(bus, devfn)` names, found as the fabric routes a configuration request from
    /// the host bridge, whose root bus is `root`.
    fn route(&self, root: u8, bus: u8, devfn: u32) -> Option<usize> {
        let nodes = self.topo.nodes();
        let (dev, func) = ((devfn >> 3) as u8, (devfn & 7) as u8);
        let children = |p: usize| (p + 1..nodes.len()).filter(move |&c| nodes[c].parent == Some(p));
        let mut parent = 0;
        let mut on = root;
        // Each step goes one bridge down: at most as many steps as nodes.
        for _ in 0..=nodes.len() {
            if bus == on {
                return children(parent)
                    .find(|&c| nodes[c].device == dev && nodes[c].function == func);
            }
            let next = children(parent).find(
                |&c| matches!(self.slots.get(c), Some(Slot::Port(p)) if p.decodes_bus(bus)),
            )?;
            let Some(Slot::Port(p)) = self.slots.get(next) else {
                return None;
            };
            if !p.link_up() {
                return None;
            }
            parent = next;
            on = p.buses().1;
        }
        None
    }

    /// The function at node `i`, if any.
    fn function(&self, i: usize) -> Option<Arc<BusData>> {
        match self.slots.get(i) {
            Some(Slot::Function(f)) => Some(f.clone()),
            _ => None,
        }
    }

    /// The bus and device/function numbers of node `i`.
    fn place(&self, i: usize) -> Option<(u8, u8)> {
        let n = self.topo.nodes().get(i)?;
        Some((self.topo.bus(i)?, n.device << 3 | n.function))
    }

    /// Whether node `j` is below node `i`.
    fn below(&self, i: usize, j: usize) -> bool {
        let nodes = self.topo.nodes();
        let mut cur = nodes.get(j).and_then(|n| n.parent);
        // Parents have lower indices: at most `j` steps.
        while let Some(p) = cur {
            if p == i {
                return true;
            }
            cur = nodes.get(p).and_then(|n| n.parent);
        }
        false
    }

    /// What follows an access or event `n` of port node `i` whose Secondary Bus Reset was
    /// `sbr_before` before it: the functions below lose their state if the link went down or
    /// the reset was asserted. Returns whether the port asserts its INTx now.
    fn settle(&self, i: usize, n: Notify, sbr_before: bool) -> bool {
        let Some(Slot::Port(p)) = self.slots.get(i) else {
            return false;
        };
        let link_lost = n.link_changed && !p.link_up();
        if link_lost || !sbr_before && p.bus_reset_asserted() {
            for (j, s) in self.slots.iter().enumerate() {
                if let Slot::Function(f) = s {
                    if self.below(i, j) {
                        f.power_off();
                    }
                }
            }
        }
        p.intx_asserted()
    }
}

/// Something that happens to a hot-plug slot from outside ([`Fabric::slot_event`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlotEvent {
    /// The adapter is put into the slot.
    Insert,
    /// The adapter is pulled out, without notice.
    Pull,
    /// The attention button is pressed.
    Button,
}

/// The state behind the bridge's `sysdata`.
///
/// # Invariants
///
/// `sysdata` is the first field (x86's `pci_domain_nr()` reads it through `bus->sysdata`).
/// `nb` is registered on the PCI bus type from [`Fabric::new`] until [`Fabric`]'s `drop`.
/// The slots of `nodes` only change before the bridge is scanned. `lines` holds one line per
/// port node with a hot-plug slot, in node order, and never changes; bit `i` of `pending` is
/// set only for a node of `lines`, and `work` is queued whenever one is set.
#[repr(C)]
#[pin_data]
struct FabricData {
    sysdata: SysData,
    /// The bus number range of the host bridge.
    #[pin]
    busn: Opaque<bindings::resource>,
    /// The bus notifier that sees the functions come and go ([`notify`]).
    #[pin]
    nb: Opaque<bindings::notifier_block>,
    #[pin]
    nodes: RawSpinLock<Nodes>,
    /// The root bus number.
    root: u8,
    /// The PCI domain of the root bus.
    domain: c_int,
    /// The INTx lines of the ports with a hot-plug slot, by node.
    lines: KVec<(usize, SoftIrq)>,
    /// Port nodes whose INTx was asserted since the work item last looked, one bit each.
    pending: AtomicU32,
    /// Runs the handlers of the asserted lines ([`FabricData::run`]).
    #[pin]
    work: Work<FabricData>,
}

impl_has_work! {
    impl HasWork<Self> for FabricData { self.work }
}

impl WorkItem for FabricData {
    type Pointer = Arc<FabricData>;

    /// Runs the handlers of every port line that was asserted, and again while the port
    /// still asserts it (a level), at most a few times in a row: a line nobody clears stays
    /// asserted without interrupting further, as a disabled interrupt line would.
    fn run(this: Arc<FabricData>) {
        let bits = this.pending.swap(0, Ordering::AcqRel);
        for (node, line) in this.lines.iter() {
            if *node >= 32 || bits & 1 << *node == 0 {
                continue;
            }
            for _ in 0..4 {
                let asserted = matches!(
                    this.nodes.lock().slots.get(*node),
                    Some(Slot::Port(p)) if p.intx_asserted()
                );
                if !asserted {
                    break;
                }
                line.raise();
            }
        }
    }
}

// SAFETY: `busn` is only used by the PCI core under its own locking; the rest is `Sync`.
unsafe impl Sync for FabricData {}
// SAFETY: as above.
unsafe impl Send for FabricData {}

impl FabricData {
    /// The node `(bus, devfn)` names.
    fn route(&self, bus: *const bindings::pci_bus, devfn: c_uint) -> Option<usize> {
        // SAFETY: the PCI core passes a live bus.
        let nr = unsafe { (*bus).number };
        self.nodes.lock().route(self.root, nr, devfn)
    }

    /// The INTx line of port node `i`, if it has one.
    fn line(&self, i: usize) -> Option<&SoftIrq> {
        self.lines.iter().find(|(n, _)| *n == i).map(|(_, l)| l)
    }

    /// Port node `i` asserts its INTx: marks it for the work item. Returns whether the work
    /// item needs queueing (callable under any lock: it only sets a bit).
    fn assert_line(&self, i: usize) -> bool {
        if i >= 32 || self.line(i).is_none() {
            return false;
        }
        self.pending.fetch_or(1 << i, Ordering::AcqRel);
        true
    }
}

/// Queues the work item of the fabric whose bridge's sysdata is `data` (`queue_work()` takes
/// only raw locks: callable under the PCI core's configuration lock).
///
/// # Safety
///
/// `data` is the `Arc::into_raw` pointer the bridge holds ([`Fabric::new`]), live while the
/// bridge is.
unsafe fn kick(data: *const FabricData) {
    // SAFETY: per the safety requirements the bridge holds a reference, so the borrow is
    // valid for this call; a new reference is taken from it.
    let arc: Arc<FabricData> = unsafe { ArcBorrow::from_raw(data) }.into();
    // Already queued: the queued run will see the bit. The reference comes back and is
    // dropped; it is not the last (the bridge holds one).
    let _ = workqueue::system_highpri().enqueue(arc);
}

/// Reads `size` bytes at `where_` of function `devfn` on `bus`.
///
/// # Safety
///
/// `bus` is a bus of a bridge created by [`Fabric::new`] (its sysdata a live [`FabricData`]).
unsafe extern "C" fn cfg_read(
    bus: *mut bindings::pci_bus,
    devfn: c_uint,
    where_: c_int,
    size: c_int,
    val: *mut u32,
) -> c_int {
    // SAFETY: per the function's safety requirements; the bridge holds a reference to the
    // `FabricData` until its release.
    let data = unsafe { &*(*bus).sysdata.cast::<FabricData>() };
    // SAFETY: the PCI core passes a live bus.
    let nr = unsafe { (*bus).number };
    let (v, rc) = {
        let nodes = data.nodes.lock();
        match nodes
            .route(data.root, nr, devfn)
            .and_then(|i| nodes.slots.get(i))
        {
            Some(Slot::Port(p)) => match p.cfg_read(where_ as u16, size as u8) {
                Ok(v) => (v, bindings::PCIBIOS_SUCCESSFUL),
                Err(_) => (!0, bindings::PCIBIOS_BAD_REGISTER_NUMBER),
            },
            Some(Slot::Function(f)) => f.config_read(where_, size),
            _ => (!0, bindings::PCIBIOS_DEVICE_NOT_FOUND),
        }
    };
    // SAFETY: the PCI core passes a valid `val`.
    unsafe { *val = v };
    rc as c_int
}

/// Writes `size` bytes of `val` at `where_` of function `devfn` on `bus`.
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
    let raw = unsafe { (*bus).sysdata.cast::<FabricData>() };
    // SAFETY: as in `cfg_read`.
    let data = unsafe { &*raw };
    // SAFETY: the PCI core passes a live bus.
    let nr = unsafe { (*bus).number };
    let mut kick_work = false;
    let rc = {
        let mut nodes = data.nodes.lock();
        let target = nodes.route(data.root, nr, devfn);
        match target.map(|i| (i, nodes.slots.get_mut(i))) {
            Some((i, Some(Slot::Port(p)))) => {
                let sbr = p.bus_reset_asserted();
                match p.cfg_write(where_ as u16, size as u8, val) {
                    Ok(n) => {
                        if nodes.settle(i, n, sbr) {
                            kick_work = data.assert_line(i);
                        }
                        bindings::PCIBIOS_SUCCESSFUL
                    }
                    Err(_) => bindings::PCIBIOS_BAD_REGISTER_NUMBER,
                }
            }
            Some((_, Some(Slot::Function(f)))) => f.config_write(where_, size, val),
            _ => bindings::PCIBIOS_DEVICE_NOT_FOUND,
        }
    };
    if kick_work {
        // SAFETY: `raw` is the bridge's sysdata, live while the bus is.
        unsafe { kick(raw) };
    }
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

/// The bridge's bus notifier: gives every function added below the bridge its INTx line
/// and keeps [`BusData::function`] current; ports with a hot-plug slot get their line, other
/// ports no INTx pin.
///
/// # Safety
///
/// `nb` is the `nb` of a live [`FabricData`], registered on the PCI bus type, so `data` is the
/// `struct device` of a `pci_dev`.
unsafe extern "C" fn notify(
    nb: *mut bindings::notifier_block,
    action: usize,
    data: *mut c_void,
) -> c_int {
    // SAFETY: per the safety requirements, `nb` is the `nb` field of a live `FabricData`.
    let fabric = unsafe { &*kernel::container_of!(Opaque::cast_from(nb), FabricData, nb) };
    // SAFETY: a device of the PCI bus type is the `dev` of a `pci_dev`.
    let pdev =
        unsafe { kernel::container_of!(data.cast::<bindings::device>(), bindings::pci_dev, dev) };
    // SAFETY: the PCI core notifies about a live device whose `bus` is set.
    let bus = unsafe { (*pdev).bus };
    // SAFETY: as above.
    let ours = unsafe { (*bus).sysdata } == (fabric as *const FabricData).cast_mut().cast();
    if !ours {
        return bindings::NOTIFY_DONE as c_int;
    }
    match action as bindings::bus_notifier_event {
        bindings::bus_notifier_event_BUS_NOTIFY_ADD_DEVICE => {
            // SAFETY: `pdev` is live.
            let devfn = unsafe { (*pdev).devfn };
            let f = fabric
                .route(bus, devfn)
                .and_then(|i| fabric.nodes.lock().function(i));
            let line = fabric
                .route(bus, devfn)
                .and_then(|i| fabric.line(i))
                .map(|l| l.irq());
            match (f, line) {
                // SAFETY: `pdev` is being added and no driver can bind it yet.
                (Some(f), _) => unsafe { f.adopt(pdev) },
                // A port with a slot: its own line, routed by nvmock (a zero `pin` keeps the
                // arch's INTx routing, x86's ACPI _PRT lookup, away from it).
                // SAFETY: `pdev` is being added; no driver can bind it yet.
                (None, Some(irq)) => unsafe {
                    (*pdev).irq = irq;
                    (*pdev).pin = 0;
                    (*pdev).set_irq_managed(1);
                },
                // Another port: no INTx (nothing drives its interrupts).
                // SAFETY: `pdev` is being added; no driver can bind it yet.
                (None, None) => unsafe { (*pdev).pin = 0 },
            }
        }
        bindings::bus_notifier_event_BUS_NOTIFY_DEL_DEVICE => {
            let count = fabric.nodes.lock().slots.len();
            for i in 0..count {
                let f = fabric.nodes.lock().function(i);
                if let Some(f) = f {
                    f.forget(pdev);
                }
            }
        }
        _ => {}
    }
    bindings::NOTIFY_OK as c_int
}

/// Drops the bridge's reference to its [`FabricData`].
///
/// # Safety
///
/// Called by the PCI core once, when the bridge registered by [`Fabric::new`] is released.
unsafe extern "C" fn release_bridge(bridge: *mut bindings::pci_host_bridge) {
    // SAFETY: `release_data` is the `Arc::into_raw` of `Fabric::new`, released once here.
    drop(unsafe { Arc::from_raw((*bridge).release_data.cast::<FabricData>()) });
}

/// A function to place on a fabric: its topology node and its state.
pub(crate) struct Member {
    /// The endpoint node it sits at.
    pub(crate) node: usize,
    /// The function's state ([`BusData::new_function`] with the fabric's MSI controller).
    pub(crate) function: Arc<BusData>,
}

/// A host bridge with a topology of ports and functions, scanned and assigned.
///
/// # Invariants
///
/// `bus` is the root bus of `bridge`, registered with the PCI core until `drop`; its sysdata
/// is `data`, whose notifier is registered until `drop`. This holds the bridge's initial
/// reference. `mem` and `devmem` are its windows and outlive the bus.
pub(crate) struct Fabric {
    bridge: *mut bindings::pci_host_bridge,
    bus: *mut bindings::pci_bus,
    data: Arc<FabricData>,
    mem: Pin<KBox<IoMock>>,
    devmem: Option<Pin<KBox<IoMock>>>,
    /// The bridge's MSI controller (its functions' [`BusData`] share it).
    _msi: Arc<Msi>,
}

// SAFETY: the raw pointers are to PCI core objects that may be used from any thread.
unsafe impl Send for Fabric {}
// SAFETY: as above; `&Fabric` only reads them.
unsafe impl Sync for Fabric {}

/// Builds the ports of `topo`: IDs from `ids`, ACS on root and downstream ports with the
/// controls `acs` gives (by node), bus numbers written as the topology numbered them, and
/// the links of ports with a device below up.
fn build_slots(topo: &Topology, ids: PortIds, acs: &[(usize, u16)]) -> Result<KVec<Slot>> {
    let nodes = topo.nodes();
    let mut slots = KVec::with_capacity(nodes.len(), GFP_KERNEL)?;
    for (i, n) in nodes.iter().enumerate() {
        let (kind, (vendor, device)) = match n.kind {
            Kind::RootPort => (PortType::RootPort, ids.root_port),
            Kind::SwitchUpstream => (PortType::Upstream, ids.upstream),
            Kind::SwitchDownstream => (PortType::Downstream, ids.downstream),
            Kind::HostBridge { .. } | Kind::Endpoint => {
                slots.push(Slot::Empty, GFP_KERNEL)?;
                continue;
            }
        };
        let occupied = nodes.iter().any(|m| m.parent == Some(i));
        let c = PortConfig {
            kind,
            vendor,
            device,
            port_number: n.device,
            // An adapter is in the slot, powered, when the topology has a device below.
            slot: n.slot.map(|s| SlotConfig {
                present: occupied,
                ..s
            }),
            acs: kind.faces_downstream().then_some(AcsConfig::DOWNSTREAM),
        };
        let mut p = KBox::<Port>::new_uninit(GFP_KERNEL)?;
        Port::init_in_place(&mut p, &c).map_err(|e| {
            pr_err!("nvmock fabric: node {}: port refused: {:?}\n", i, e);
            EINVAL
        })?;
        // SAFETY: initialised by `init_in_place`.
        let mut p = unsafe { p.assume_init() };
        let (sec, sub) = topo.bus_range(i).ok_or(EINVAL)?;
        let pri = topo.bus(i).ok_or(EINVAL)?;
        let buses = u32::from(pri) | u32::from(sec) << 8 | u32::from(sub) << 16;
        p.cfg_write(PCI_PRIMARY_BUS, 4, buses).map_err(|_| EINVAL)?;
        if kind.faces_downstream() && occupied {
            p.set_present(true).map_err(|_| EINVAL)?;
        }
        for &(_, ctrl) in acs.iter().filter(|a| a.0 == i) {
            let off = p.acs_offset().ok_or_else(|| {
                pr_err!("nvmock fabric: node {}: ACS controls given for a port without ACS (switch upstream ports have none)\n", i);
                EINVAL
            })?;
            p.cfg_write(off + ACS_CTRL, 2, ctrl.into())
                .map_err(|_| EINVAL)?;
            if p.acs_control() != ctrl {
                pr_err!("nvmock fabric: node {}: ACS controls {:#06x} include bits the port does not implement (it has {:#06x})\n", i, ctrl, AcsConfig::DOWNSTREAM.capabilities);
                return Err(EINVAL);
            }
        }
        slots.push(Slot::Port(p), GFP_KERNEL)?;
    }
    for &(i, _) in acs {
        if !matches!(slots.get(i), Some(Slot::Port(_))) {
            pr_err!(
                "nvmock fabric: node {}: ACS controls given for a node that is not a port\n",
                i
            );
            return Err(EINVAL);
        }
    }
    Ok(slots)
}

/// Validates `nodes` as the topology of one host bridge (node 0) whose root bus is `bus`.
fn topology(nodes: &[Node], bus: u8) -> Result<KBox<Topology>> {
    let mut v = KVec::with_capacity(nodes.len(), GFP_KERNEL)?;
    for (i, n) in nodes.iter().enumerate() {
        let mut n = *n;
        if i == 0 {
            let Kind::HostBridge { segment, .. } = n.kind else {
                pr_err!("nvmock fabric: node 0 must be the host bridge\n");
                return Err(EINVAL);
            };
            n.kind = Kind::HostBridge { segment, bus };
        } else if matches!(n.kind, Kind::HostBridge { .. }) {
            pr_err!("nvmock fabric: node {}: a second host bridge (a fabric is one host bridge: put functions on different host bridges on different fabrics)\n", i);
            return Err(EINVAL);
        }
        v.push(n, GFP_KERNEL)?;
    }
    let t = Topology::new(&v).map_err(|e| {
        let (i, why) = topology_error(e);
        pr_err!("nvmock fabric: topology refused at node {}: {}\n", i, why);
        EINVAL
    })?;
    Ok(KBox::new(t, GFP_KERNEL)?)
}

impl Fabric {
    /// A new MSI controller for a fabric's functions: give it to [`BusData::new_function`]
    /// for each member and to [`Fabric::new`].
    pub(crate) fn new_msi() -> Result<Arc<Msi>> {
        Ok(Arc::new(Msi::new()?, GFP_KERNEL)?)
    }

    /// Creates the host bridge of topology `nodes` (node 0 the host bridge; see
    /// [`Topology`]'s rules) with ports of `ids`, ACS controls `acs` (port node, ACS Control)
    /// as firmware left them, and `members` at their endpoint nodes; `devmem` bytes of the
    /// devmem reservation for the members' prefetchable BARs (0 for none). Scans and assigns
    /// it; nothing binds until [`Fabric::add_devices`].
    pub(crate) fn new(
        nodes: &[Node],
        ids: PortIds,
        acs: &[(usize, u16)],
        members: KVec<Member>,
        msi: Arc<Msi>,
        devmem: u64,
    ) -> Result<Self> {
        // The span of bus numbers the topology needs, from root bus 0.
        let topo = topology(nodes, 0)?;
        let (_, last) = topo.bus_range(0).ok_or(EINVAL)?;
        let mut slots = build_slots(&topo, ids, acs)?;
        for m in members.iter() {
            let ok = topo
                .nodes()
                .get(m.node)
                .is_some_and(|n| n.kind == Kind::Endpoint)
                && matches!(slots.get(m.node), Some(Slot::Empty));
            if !ok {
                pr_err!(
                    "nvmock fabric: node {}: a function needs an endpoint node of its own\n",
                    m.node
                );
                return Err(EINVAL);
            }
            slots[m.node] = Slot::Function(m.function.clone());
        }
        let ports = topo.nodes().iter().filter(|n| n.kind.is_bridge()).count() as u64;
        let slotted = topo.nodes().iter().filter(|n| n.slot.is_some()).count() as u64;
        // Bridge memory windows are 1 MiB granular: one per port, one per BAR0, one spare;
        // and what the PCI core adds to a hot-plug port's windows for what may be plugged in
        // later (`pci_hotplug_mmio_size` and `pci_hotplug_mmio_pref_size`, 2 MiB each by
        // default; the prefetchable one lands here too without a devmem window).
        let mem_span =
            ((ports + members.len() as u64 + 2 + 4 * slotted) << 20).next_power_of_two();
        if mem_span > 1 << 30 {
            return Err(EINVAL);
        }
        let mem = IoMock::new(c_str!("nvmock fabric"), mem_span)?;
        let devmem = match devmem {
            0 => None,
            // Room for the alignment of every window on the way (each BAR is a power of
            // two, aligned to its size).
            d => {
                let span = (2 * (d + (slotted << 21))).next_power_of_two();
                Some(
                    IoMock::new_devmem(c_str!("nvmock fabric devmem"), span, DevMemKind::Uncached)
                        .inspect_err(|_| {
                            pr_err!(
                                "nvmock fabric: the members' CMB and PMR BARs need a window of {} MiB of the devmem reservation (x86_64: NVMOCK_DEVMEM, see README)\n",
                                span >> 20
                            )
                        })?,
                )
            }
        };

        let _rescan = RescanLock::new();
        #[cfg(CONFIG_PCI_DOMAINS)]
        // SAFETY: no preconditions; the domain is released with the bridge.
        let domain = crate::glue::nvme::pci_host::to_result_nr(unsafe {
            bindings::pci_bus_find_emul_domain_nr(0, 0x10000, i32::MAX as u32)
        })?;
        #[cfg(not(CONFIG_PCI_DOMAINS))]
        let domain = 0;
        let release_domain = || {
            #[cfg(CONFIG_PCI_DOMAINS)]
            // SAFETY: allocated above, not handed to a bridge.
            unsafe {
                bindings::pci_bus_release_emul_domain_nr(domain)
            };
        };
        // The first free run of bus numbers (bus 0 of a fresh domain).
        let free = |b: u32| {
            // SAFETY: `pci_find_bus` only reads the bus list (under its own lock).
            (b..=b + u32::from(last))
                .all(|nr| unsafe { bindings::pci_find_bus(domain, nr as c_int) }.is_null())
        };
        let Some(root) = (0..=255 - u32::from(last)).find(|&b| free(b)) else {
            release_domain();
            return Err(EBUSY);
        };
        let root = root as u8;
        let (topo, slots) = if root == 0 {
            (topo, slots)
        } else {
            // Moved: number the buses again from the free run, keeping the functions.
            let t = topology(nodes, root).inspect_err(|_| release_domain())?;
            let mut s = build_slots(&t, ids, acs).inspect_err(|_| release_domain())?;
            for (i, old) in slots.iter_mut().enumerate() {
                if let Slot::Function(f) = old {
                    s[i] = Slot::Function(f.clone());
                }
            }
            (t, s)
        };
        // A line for each port with a hot-plug slot.
        let mut lines = KVec::new();
        for (i, n) in topo.nodes().iter().enumerate() {
            if n.slot.is_some() {
                lines
                    .push((i, SoftIrq::new().inspect_err(|_| release_domain())?), GFP_KERNEL)
                    .inspect_err(|_| release_domain())?;
            }
        }
        let data = Arc::pin_init(
            pin_init!(FabricData {
                sysdata: sysdata(domain),
                busn <- Opaque::ffi_init(move |p: *mut bindings::resource| {
                    // SAFETY: `p` is valid for writes; a zeroed resource is an unlinked one.
                    unsafe {
                        p.write(core::mem::zeroed());
                        (*p).name = c_str!("nvmock fabric buses").as_char_ptr();
                        (*p).start = u64::from(root);
                        (*p).end = u64::from(root) + u64::from(last);
                        (*p).flags = bindings::IORESOURCE_BUS as _;
                    }
                }),
                nb <- Opaque::ffi_init(|p: *mut bindings::notifier_block| {
                    // SAFETY: `p` is valid for writes; a zeroed notifier block is unlinked.
                    unsafe {
                        p.write(core::mem::zeroed());
                        (*p).notifier_call = Some(notify);
                    }
                }),
                nodes <- RawSpinLock::new(Nodes { topo, slots }, c_str!("nvmock_fabric"), kernel::static_lock_class!()),
                root,
                domain,
                lines,
                pending: AtomicU32::new(0),
                work <- new_work!("nvmock_fabric::work"),
            }),
            GFP_KERNEL,
        );
        let data = data.inspect_err(|_| release_domain())?;

        // SAFETY: no private area requested.
        let bridge = unsafe { bindings::pci_alloc_host_bridge(0) };
        if bridge.is_null() {
            release_domain();
            return Err(ENOMEM);
        }
        // SAFETY: `nb` is initialised and pinned in `data`, which outlives the registration
        // (unregistered in `drop`, or below on failure).
        let rc = unsafe {
            bindings::bus_register_notifier(&raw const bindings::pci_bus_type, data.nb.get())
        };
        if rc != 0 {
            // SAFETY: `bridge` is fresh and not registered; it holds nothing yet.
            unsafe { bindings::pci_free_host_bridge(bridge) };
            release_domain();
            return Err(Error::from_errno(rc));
        }
        let raw = Arc::into_raw(data.clone()).cast_mut();
        let (cpu, _) = mem.span();
        // SAFETY: `bridge` is a fresh, unregistered bridge we own. From here on, freeing it
        // (pci_free_host_bridge) releases `raw` and the domain through the release callback.
        // The windows are live resources no bus uses yet, owned by the fabric.
        unsafe {
            (*bridge).sysdata = raw.cast::<c_void>();
            (*bridge).busnr = c_int::from(root);
            #[cfg(CONFIG_PCI_DOMAINS)]
            {
                (*bridge).domain_nr = domain;
            }
            (*bridge).ops = (&OPS.0 as *const bindings::pci_ops).cast_mut();
            bindings::pci_set_host_bridge_release(bridge, Some(release_bridge), raw.cast());
            // Bus address = CPU address - offset: 32-bit bus addresses for the bridges'
            // non-prefetchable windows.
            bindings::pci_add_resource_offset(
                &mut (*bridge).windows,
                mem.span_resource(),
                cpu.wrapping_sub(BUS_MEM_BASE) as bindings::resource_size_t,
            );
            if let Some(d) = &devmem {
                let w = d.span_resource();
                (*w).flags |= (bindings::IORESOURCE_PREFETCH | bindings::IORESOURCE_MEM_64)
                    as kernel::ffi::c_ulong;
                bindings::pci_add_resource(&mut (*bridge).windows, w);
            }
            bindings::pci_add_resource(&mut (*bridge).windows, data.busn.get());
        }
        // `bridge` is not registered yet; the controller outlives it (held by `self`, and by
        // every function's state, which the bridge's functions hold).
        msi.attach(bridge);

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
        // SAFETY: `bus` is live; sizing and assignment only touch its devices and bridges.
        unsafe {
            bindings::pci_bus_size_bridges(bus);
            bindings::pci_bus_assign_resources(bus);
        }
        // INVARIANT: from here on `drop` removes the bus and unregisters the notifier.
        Ok(Fabric {
            bridge,
            bus,
            data,
            mem,
            devmem,
            _msi: msi,
        })
    }

    /// The owner of the BAR0 window: a function's BAR0 buffer is registered with it where the
    /// BAR was assigned.
    pub(crate) fn mem(&self) -> &IoMock {
        &self.mem
    }

    /// The owner of the prefetchable window (CMB and PMR BARs), if the fabric has one.
    pub(crate) fn devmem(&self) -> Option<&IoMock> {
        self.devmem.as_deref()
    }

    /// Lets drivers bind the fabric's devices.
    pub(crate) fn add_devices(&self) {
        // SAFETY: `bus` is live (type invariant) and its devices are ready for drivers.
        unsafe { bindings::pci_bus_add_devices(self.bus) };
    }

    /// The ACS Control register of port node `i` as the model has it (`None` for a node that
    /// is not a port with ACS).
    #[cfg_attr(
        not(CONFIG_X86),
        allow(dead_code, reason = "only x86_64's suite (P2PDMA)")
    )]
    pub(crate) fn acs_control(&self, i: usize) -> Option<u16> {
        match self.data.nodes.lock().slots.get(i) {
            Some(Slot::Port(p)) => p.acs_offset().map(|_| p.acs_control()),
            _ => None,
        }
    }

    /// Whether the ports' models redirect or block peer-to-peer at node `i` (the rule the
    /// kernel's P2PDMA applies to a bridge on the path).
    #[cfg_attr(
        not(CONFIG_X86),
        allow(dead_code, reason = "only x86_64's suite (P2PDMA)")
    )]
    pub(crate) fn acs_blocks_p2p(&self, i: usize) -> bool {
        matches!(self.data.nodes.lock().slots.get(i), Some(Slot::Port(p)) if p.acs_blocks_p2p())
    }

    /// `event` happens to the hot-plug slot of port node `i`: the adapter is put in or pulled
    /// out (the functions below lose their state, as at power off) or the attention button
    /// is pressed; `pciehp` hears of it through the port's interrupt. `EINVAL` for a node
    /// that is not a port with a slot, or a button press on a slot without one.
    pub(crate) fn slot_event(&self, i: usize, event: SlotEvent) -> Result {
        let kick_work = {
            let mut nodes = self.data.nodes.lock();
            let Some(Slot::Port(p)) = nodes.slots.get_mut(i) else {
                return Err(EINVAL);
            };
            if p.slot().is_none() {
                return Err(EINVAL);
            }
            let sbr = p.bus_reset_asserted();
            let n = match event {
                SlotEvent::Insert => p.set_present(true).map_err(|_| EINVAL)?,
                SlotEvent::Pull => p.set_present(false).map_err(|_| EINVAL)?,
                SlotEvent::Button => p.slot_press_button().map_err(|_| EINVAL)?,
            };
            nodes.settle(i, n, sbr) && self.data.assert_line(i)
        };
        self.wake_port(i);
        if kick_work {
            // The bridge holds its reference until `drop` (type invariant).
            let _ = workqueue::system_highpri().enqueue(self.data.clone());
        }
        Ok(())
    }

    /// Wakes port node `i` if its driver has runtime-suspended it, as the port's PME would on
    /// a slot event (the port model has no PM capability to send one). Linux lets PCIe ports
    /// runtime-suspend outside x86 (`pci_bridge_d3_possible()`), and `pciehp` turns the
    /// slot's notifications off while its port is suspended; on resume it looks at the slot
    /// again.
    fn wake_port(&self, i: usize) {
        let Some((bus, devfn)) = self.data.nodes.lock().place(i) else {
            return;
        };
        // SAFETY: no preconditions; the device comes with a reference, dropped below.
        let pdev = unsafe {
            bindings::pci_get_domain_bus_and_slot(self.data.domain, bus.into(), devfn.into())
        };
        if pdev.is_null() {
            return;
        }
        // SAFETY: `pdev` is live (the reference taken above); an asynchronous resume request
        // may be made from any context.
        unsafe {
            bindings::__pm_runtime_resume(&raw mut (*pdev).dev, bindings::RPM_ASYNC as c_int);
            bindings::pci_dev_put(pdev);
        }
    }

    /// The Slot Control and Slot Status registers of port node `i`'s slot (`None` for a
    /// node that is not a port with a slot).
    pub(crate) fn slot_registers(&self, i: usize) -> Option<(u16, u16)> {
        match self.data.nodes.lock().slots.get(i) {
            Some(Slot::Port(p)) if p.slot().is_some() => Some((p.sltctl(), p.sltsta())),
            _ => None,
        }
    }

    /// Whether port node `i`'s link is up (`None` for a node that is not a port).
    pub(crate) fn link_up(&self, i: usize) -> Option<bool> {
        match self.data.nodes.lock().slots.get(i) {
            Some(Slot::Port(p)) => Some(p.link_up()),
            _ => None,
        }
    }

    /// A copy of the validated topology (with its bus numbers).
    #[cfg_attr(
        not(CONFIG_X86),
        allow(dead_code, reason = "only x86_64's suite (P2PDMA)")
    )]
    pub(crate) fn topology(&self) -> Result<KBox<Topology>> {
        // Allocated before the (raw spinlock) lock is taken; only copied under it.
        let t = KBox::<Topology>::new_uninit(GFP_KERNEL)?;
        let copy = (*self.data.nodes.lock().topo).clone();
        Ok(t.write(copy))
    }
}

impl Drop for Fabric {
    fn drop(&mut self) {
        // Let the ports' interrupts, and the hot-plug work they started, finish first: a
        // `pciehp` thread removing or adding a device takes the rescan lock, and removing
        // the bus below frees the ports' interrupts, which waits for those threads.
        // SAFETY: `work` is initialised and pinned in `data`, which `self` keeps alive.
        unsafe { bindings::flush_work(Work::raw_get(&raw const self.data.work)) };
        for (_, line) in self.data.lines.iter() {
            // SAFETY: the line is live (held by `data`); process context.
            unsafe { bindings::synchronize_irq(line.irq()) };
        }
        let _rescan = RescanLock::new();
        // SAFETY: `bus` is registered (type invariant); stopping unbinds the drivers, removal
        // unregisters the devices (the functions, then the ports) and deletes the bridge
        // device; the initial reference of the bridge is dropped below.
        unsafe {
            bindings::pci_stop_root_bus(self.bus);
            bindings::pci_remove_root_bus(self.bus);
        }
        // SAFETY: registered in `new` (type invariant).
        unsafe {
            bindings::bus_unregister_notifier(&raw const bindings::pci_bus_type, self.data.nb.get())
        };
        // The bus is gone, so nothing asserts a port's line any more: a run still queued
        // finishes before the module's code can go.
        // SAFETY: `work` is initialised and pinned in `data`, which `self` keeps alive.
        unsafe { bindings::flush_work(Work::raw_get(&raw const self.data.work)) };
        // SAFETY: the initial reference (type invariant); the bus is gone.
        unsafe { bindings::pci_free_host_bridge(self.bridge) };
    }
}
