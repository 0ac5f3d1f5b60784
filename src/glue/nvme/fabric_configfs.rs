// SPDX-License-Identifier: GPL-2.0

//! PCI Express topologies of emulated NVMe controllers, made at run time through configfs:
//! one directory per host bridge ([`Fabric`]), its shape and its controllers given as data.
//!
//! ```text
//! mkdir /sys/kernel/config/nvmock_fabric/sw0
//! cd /sys/kernel/config/nvmock_fabric/sw0
//! # nodes 1.. (node 0 is the host bridge): KIND@PARENT[.DEVICE[.FUNCTION]], KIND one of
//! # rp (root port), usp/dsp (a switch's upstream/downstream port), ep (a controller's place)
//! echo "rp@0.0 usp@1 dsp@2.0 dsp@2.1 ep@3 ep@4 rp@0.1 ep@7" > topology
//! echo qemu > ports              # or skylake-e: root ports on the kernel's P2PDMA whitelist
//! echo "5:2 6:0:8 8" > members  # controllers at nodes 5 (2 MiB CMB), 6 (8 MiB PMR) and 8
//! echo "4=0x0c" > acs            # ACS Control of port node 4: P2P Request/Completion Redirect
//! echo "7=12,surprise" > slots   # a hot-plug slot, physical number 12, on port node 7
//! echo 1 > power                 # the host bridge, its ports and controllers: drivers bind
//! cat devices                    # "5 10000:03:00.0" ...: each member's PCI address
//! echo 0 > /sys/bus/pci/slots/12/power   # pciehp powers the slot (and node 8) off; 1: on
//! echo "7 pull" > slot_event     # the adapter pulled out of node 7's slot; "insert", "button"
//! echo 0 > power                 # everything removed (drivers unbind first)
//! ```
//!
//! A slot (`slots`, `NODE=NUMBER[,OPTION...]`) is on a root or downstream port and holds the
//! endpoint below it, if any. Options: `button` (an attention button), `surprise`
//! (Hot-Plug Surprise), `nopower` (no power controller: the slot is always powered),
//! `noindicators`, `nocc` (No Command Completed Support). `pciehp` (`CONFIG_HOTPLUG_PCI_PCIE`)
//! drives it; `/sys/bus/pci/slots/` names it by its number.
//!
//! Every attribute is validated when written, with the attribute and the reason in the
//! kernel log (`EINVAL`): a topology the pure model refuses ([`TopologyError`], naming the
//! node and the rule), members not on endpoint nodes or named twice, ACS controls on a node
//! that is not a root or downstream port or with bits such a port does not implement. What
//! only the whole can tell (a member or ACS entry that a later topology no longer fits) is
//! refused at power-on, named the same way. Attributes change only while off (`EBUSY`).
//! Controllers here get the default profile with the CMB and PMR sizes given in `members`
//! (`NODE[:CMB_MIB[:PMR_MIB]]`, checked as the profile's `cmb_mib` and `pmr_mib`); instance
//! numbers come from [`Instance::alloc`] at each power-on.

use crate::glue::nvme::dev::{FabricMember, NvmeDev, Profile};
use crate::glue::nvme::fabric::{topology_error, Fabric, PortIds, SlotEvent};
use crate::glue::nvme::instance::Instance;
use crate::model::pci::acs::ACS_ALL;
use crate::model::pci::topology::MAX_NODES;
use crate::model::pci::{AcsConfig, Kind, Node, SlotConfig, Topology};
use kernel::{
    configfs::{self, AttributeOperations},
    configfs_attrs,
    fmt::Write as _,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    str::kstrtobool_bytes,
    sync::{Arc, Mutex},
};

/// The configfs subsystem `nvmock_fabric`.
pub(crate) fn subsystem() -> impl PinInit<configfs::Subsystem<Fabrics>, Error> {
    let item_type = configfs_attrs! {
        container: configfs::Subsystem<Fabrics>,
        data: Fabrics,
        child: FabricDir,
        attributes: [
            attributes: 0,
        ],
    };
    configfs::Subsystem::new(c"nvmock_fabric", item_type, try_pin_init!(Fabrics {}))
}

/// The subsystem's data (none).
#[pin_data]
pub(crate) struct Fabrics {}

#[vtable]
impl AttributeOperations<0> for Fabrics {
    type Data = Fabrics;

    fn show(_this: &Fabrics, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        w.write_str("power,topology,ports,members,acs,slots,slot_event,devices\n")?;
        Ok(w.bytes_written())
    }
}

#[vtable]
impl configfs::GroupOperations for Fabrics {
    type Child = FabricDir;

    fn make_group(&self, name: &CStr) -> Result<impl PinInit<configfs::Group<FabricDir>, Error>> {
        let item_type = configfs_attrs! {
            container: configfs::Group<FabricDir>,
            data: FabricDir,
            attributes: [
                power: 0,
                topology: 1,
                ports: 2,
                members: 3,
                acs: 4,
                devices: 5,
                slots: 6,
                slot_event: 7,
            ],
        };
        Ok(configfs::Group::new(
            name.try_into()?,
            item_type,
            FabricDir::new(),
        ))
    }
}

/// One directory: a host bridge's shape and controllers, and all of it while powered on.
#[pin_data]
pub(crate) struct FabricDir {
    #[pin]
    inner: Mutex<Inner>,
}

impl FabricDir {
    /// A directory's data: no topology or members yet, QEMU's ports, off.
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(FabricDir {
            inner <- new_mutex!(Inner {
                nodes: KVec::new(),
                ids: PortIds::QEMU,
                members: KVec::new(),
                acs: KVec::new(),
                slots: KVec::new(),
                on: None,
            }),
        })
    }
}

struct Inner {
    /// The topology, node 0 the host bridge (empty until `topology` is written).
    nodes: KVec<Node>,
    ids: PortIds,
    /// Controllers: endpoint node and CMB size in MiB.
    members: KVec<MemberSpec>,
    /// ACS Control of ports, by node.
    acs: KVec<(usize, u16)>,
    /// Hot-plug slots of ports, by node.
    slots: KVec<(usize, SlotConfig)>,
    on: Option<(Arc<Fabric>, KVec<NvmeDev>)>,
}

impl Inner {
    /// `EBUSY` while powered on.
    fn off(&self) -> Result {
        if self.on.is_some() {
            Err(EBUSY)
        } else {
            Ok(())
        }
    }

    fn kind(&self, node: usize) -> Option<Kind> {
        self.nodes.get(node).map(|n| n.kind)
    }

    /// The topology with the slots placed on their nodes, validated again as a whole (a
    /// switch in a slot, or slot numbers, are refused here, naming the node).
    fn nodes_with_slots(&self) -> Result<KVec<Node>> {
        let mut nodes = KVec::with_capacity(self.nodes.len(), GFP_KERNEL)?;
        for n in self.nodes.iter() {
            nodes.push(*n, GFP_KERNEL)?;
        }
        for &(node, slot) in self.slots.iter() {
            if let Some(n) = nodes.get_mut(node) {
                n.slot = Some(slot);
            }
        }
        if let Err(e) = Topology::new(&nodes) {
            let (i, why) = topology_error(e);
            pr_err!("nvmock_fabric: power: slots: node {}: {}\n", i, why);
            return Err(EINVAL);
        }
        Ok(nodes)
    }

    /// Checks what only the whole can tell, before power-on: a topology and members given,
    /// every member on an endpoint node and every ACS entry on a root or downstream port of
    /// the topology as it is now. Says what is wrong in the log, naming the attribute.
    fn check(&self) -> Result {
        if self.nodes.len() < 2 || self.members.is_empty() {
            pr_err!("nvmock_fabric: power: write topology and members first\n");
            return Err(EINVAL);
        }
        for &MemberSpec { node, .. } in self.members.iter() {
            if self.kind(node) != Some(Kind::Endpoint) {
                pr_err!(
                    "nvmock_fabric: power: members: node {} is not an endpoint (ep) of the topology\n",
                    node
                );
                return Err(EINVAL);
            }
        }
        for &(node, _) in self.slots.iter() {
            if !self.kind(node).is_some_and(|k| k.is_link_port()) {
                pr_err!(
                    "nvmock_fabric: power: slots: node {} is not a root or downstream port of the topology\n",
                    node
                );
                return Err(EINVAL);
            }
        }
        for &(node, _) in self.acs.iter() {
            if !self.kind(node).is_some_and(|k| k.is_link_port()) {
                pr_err!(
                    "nvmock_fabric: power: acs: node {} is not a root or downstream port of the topology\n",
                    node
                );
                return Err(EINVAL);
            }
        }
        Ok(())
    }
}

/// The words of a page written to attribute `attr`.
fn words<'a>(page: &'a [u8], attr: &str) -> Result<core::str::SplitWhitespace<'a>> {
    match core::str::from_utf8(page) {
        Ok(s) => Ok(s.split_whitespace()),
        Err(_) => {
            pr_err!("nvmock_fabric: {}: not text\n", attr);
            Err(EINVAL)
        }
    }
}

/// A number, decimal or hexadecimal with `0x`.
fn number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Parses one `topology` entry, `KIND@PARENT[.DEVICE[.FUNCTION]]`.
fn parse_node(s: &str) -> Option<Node> {
    let (kind, at) = s.split_once('@')?;
    let kind = match kind {
        "rp" => Kind::RootPort,
        "usp" => Kind::SwitchUpstream,
        "dsp" => Kind::SwitchDownstream,
        "ep" => Kind::Endpoint,
        _ => return None,
    };
    let mut parts = at.split('.');
    let parent = parts.next()?.parse().ok()?;
    let device = parts.next().map_or(Some(0), |d| d.parse().ok())?;
    let function = parts.next().map_or(Some(0), |f| f.parse().ok())?;
    if parts.next().is_some() {
        return None;
    }
    Some(Node {
        kind,
        parent: Some(parent),
        device,
        function,
        slot: None,
    })
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::HostBridge { .. } => "hb",
        Kind::RootPort => "rp",
        Kind::SwitchUpstream => "usp",
        Kind::SwitchDownstream => "dsp",
        Kind::Endpoint => "ep",
    }
}

/// `power`: 1 builds the host bridge with its ports and controllers, 0 removes them.
#[vtable]
impl AttributeOperations<0> for FabricDir {
    type Data = FabricDir;

    fn show(this: &FabricDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        w.write_str(if this.inner.lock().on.is_some() {
            "1\n"
        } else {
            "0\n"
        })?;
        Ok(w.bytes_written())
    }

    fn store(this: &FabricDir, page: &[u8]) -> Result {
        let on = kstrtobool_bytes(page)?;
        let mut g = this.inner.lock();
        match (g.on.is_some(), on) {
            (false, true) => {
                g.check()?;
                let mut profiles = KVec::with_capacity(g.members.len(), GFP_KERNEL)?;
                for m in g.members.iter() {
                    profiles.push(
                        Profile {
                            cmb_mib: m.cmb_mib,
                            pmr_mib: m.pmr_mib,
                            // INTx: a fabric's functions have no MSI-X on x86_64
                            // (NvmeDev::new_fabric).
                            msix_vectors: 0,
                            ..Profile::default()
                        },
                        GFP_KERNEL,
                    )?;
                }
                let mut members = KVec::with_capacity(g.members.len(), GFP_KERNEL)?;
                for (p, &MemberSpec { node, .. }) in profiles.iter().zip(g.members.iter()) {
                    members.push(
                        FabricMember {
                            profile: p,
                            instance: Instance::alloc()?,
                            node,
                        },
                        GFP_KERNEL,
                    )?;
                }
                let nodes = g.nodes_with_slots()?;
                let built = NvmeDev::new_fabric(&nodes, g.ids, &g.acs, &members)?;
                g.on = Some(built);
            }
            (true, false) => {
                // The controllers first (each removes its function), then the host bridge.
                if let Some((fabric, devs)) = g.on.take() {
                    drop(devs);
                    drop(fabric);
                }
            }
            (true, true) | (false, false) => {}
        }
        Ok(())
    }
}

/// `topology`: the nodes after the host bridge, validated by the pure model.
#[vtable]
impl AttributeOperations<1> for FabricDir {
    type Data = FabricDir;

    fn show(this: &FabricDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        let g = this.inner.lock();
        for n in g.nodes.iter().skip(1) {
            w.write_fmt(fmt!(
                "{}@{}.{}.{} ",
                kind_name(n.kind),
                n.parent.unwrap_or(0),
                n.device,
                n.function
            ))?;
        }
        w.write_str("\n")?;
        Ok(w.bytes_written())
    }

    fn store(this: &FabricDir, page: &[u8]) -> Result {
        let mut nodes = KVec::new();
        nodes.push(Node::host_bridge(0, 0), GFP_KERNEL)?;
        for (i, s) in words(page, "topology")?.enumerate() {
            let n = parse_node(s).ok_or_else(|| {
                pr_err!(
                    "nvmock_fabric: topology: entry {} (node {}) '{}' is not KIND@PARENT[.DEVICE[.FUNCTION]] with KIND rp, usp, dsp or ep\n",
                    i + 1,
                    i + 1,
                    s
                );
                EINVAL
            })?;
            if nodes.len() >= MAX_NODES {
                pr_err!(
                    "nvmock_fabric: topology: more than {} nodes\n",
                    MAX_NODES - 1
                );
                return Err(EINVAL);
            }
            nodes.push(n, GFP_KERNEL)?;
        }
        if nodes.len() < 2 {
            pr_err!(
                "nvmock_fabric: topology: no nodes (give at least a root port and an endpoint)\n"
            );
            return Err(EINVAL);
        }
        if let Err(e) = Topology::new(&nodes) {
            let (i, why) = topology_error(e);
            pr_err!("nvmock_fabric: topology: node {}: {}\n", i, why);
            return Err(EINVAL);
        }
        let mut g = this.inner.lock();
        g.off()?;
        g.nodes = nodes;
        Ok(())
    }
}

/// `ports`: the ports' IDs, `qemu` or `skylake-e`.
#[vtable]
impl AttributeOperations<2> for FabricDir {
    type Data = FabricDir;

    fn show(this: &FabricDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        let ids = this.inner.lock().ids;
        w.write_str(if ids == PortIds::SKYLAKE_E {
            "skylake-e\n"
        } else {
            "qemu\n"
        })?;
        Ok(w.bytes_written())
    }

    fn store(this: &FabricDir, page: &[u8]) -> Result {
        let ids = match core::str::from_utf8(page).unwrap_or("").trim() {
            "qemu" => PortIds::QEMU,
            "skylake-e" => PortIds::SKYLAKE_E,
            s => {
                pr_err!("nvmock_fabric: ports: '{}' is not qemu or skylake-e\n", s);
                return Err(EINVAL);
            }
        };
        let mut g = this.inner.lock();
        g.off()?;
        g.ids = ids;
        Ok(())
    }
}

/// A controller of `members`: its endpoint node, CMB and PMR sizes (0: none).
#[derive(Clone, Copy)]
struct MemberSpec {
    node: usize,
    cmb_mib: u32,
    pmr_mib: u32,
}

/// `members`: controllers, `NODE[:CMB_MIB[:PMR_MIB]]` each, on endpoint nodes of the
/// topology.
#[vtable]
impl AttributeOperations<3> for FabricDir {
    type Data = FabricDir;

    fn show(this: &FabricDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        for m in this.inner.lock().members.iter() {
            w.write_fmt(fmt!("{}:{}:{} ", m.node, m.cmb_mib, m.pmr_mib))?;
        }
        w.write_str("\n")?;
        Ok(w.bytes_written())
    }

    fn store(this: &FabricDir, page: &[u8]) -> Result {
        let mut g = this.inner.lock();
        g.off()?;
        let mut members = KVec::new();
        for s in words(page, "members")? {
            let mut parts = s.split(':');
            let node = parts.next().and_then(number);
            let cmb = parts.next().map_or(Some(0), number);
            let pmr = parts.next().map_or(Some(0), number);
            let (Some(node), Some(cmb), Some(pmr), None) = (node, cmb, pmr, parts.next()) else {
                pr_err!("nvmock_fabric: members: '{}' is not NODE[:CMB_MIB[:PMR_MIB]]\n", s);
                return Err(EINVAL);
            };
            let node = node as usize;
            if g.kind(node) != Some(Kind::Endpoint) {
                pr_err!(
                    "nvmock_fabric: members: node {} is not an endpoint (ep) of the topology\n",
                    node
                );
                return Err(EINVAL);
            }
            if members.iter().any(|m: &MemberSpec| m.node == node) {
                pr_err!("nvmock_fabric: members: node {} is named twice\n", node);
                return Err(EINVAL);
            }
            if cmb % 2 != 0 || cmb > 1 << 14 {
                pr_err!("nvmock_fabric: members: node {}: a CMB of {} MiB is not a multiple of 2 MiB up to 16384\n", node, cmb);
                return Err(EINVAL);
            }
            if pmr != 0 && (pmr < 2 || !pmr.is_power_of_two() || pmr > 1 << 14) {
                pr_err!("nvmock_fabric: members: node {}: a PMR of {} MiB is not a power of two from 2 to 16384 MiB\n", node, pmr);
                return Err(EINVAL);
            }
            members.push(
                MemberSpec {
                    node,
                    cmb_mib: cmb,
                    pmr_mib: pmr,
                },
                GFP_KERNEL,
            )?;
        }
        g.members = members;
        Ok(())
    }
}

/// `acs`: ACS Control of root and downstream ports as firmware leaves it, `NODE=CTRL` each.
#[vtable]
impl AttributeOperations<4> for FabricDir {
    type Data = FabricDir;

    fn show(this: &FabricDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        for &(n, c) in this.inner.lock().acs.iter() {
            w.write_fmt(fmt!("{}={:#06x} ", n, c))?;
        }
        w.write_str("\n")?;
        Ok(w.bytes_written())
    }

    fn store(this: &FabricDir, page: &[u8]) -> Result {
        let mut g = this.inner.lock();
        g.off()?;
        let mut acs = KVec::new();
        for s in words(page, "acs")? {
            let parsed = s
                .split_once('=')
                .and_then(|(n, c)| Some((number(n)? as usize, u16::try_from(number(c)?).ok()?)));
            let Some((node, ctrl)) = parsed else {
                pr_err!("nvmock_fabric: acs: '{}' is not NODE=CTRL\n", s);
                return Err(EINVAL);
            };
            if !g.kind(node).is_some_and(|k| k.is_link_port()) {
                pr_err!("nvmock_fabric: acs: node {} is not a root or downstream port (only those have ACS)\n", node);
                return Err(EINVAL);
            }
            let caps = AcsConfig::DOWNSTREAM.capabilities;
            if ctrl & !caps & ACS_ALL != 0 || ctrl & !ACS_ALL != 0 {
                pr_err!("nvmock_fabric: acs: node {}: control {:#06x} has bits the port does not implement (it has {:#06x})\n", node, ctrl, caps);
                return Err(EINVAL);
            }
            acs.push((node, ctrl), GFP_KERNEL)?;
        }
        g.acs = acs;
        Ok(())
    }
}

/// `devices` (read only): each member's node and PCI address while powered on.
#[vtable]
impl AttributeOperations<5> for FabricDir {
    type Data = FabricDir;

    fn show(this: &FabricDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        let g = this.inner.lock();
        if let Some((_, devs)) = &g.on {
            for (&MemberSpec { node, .. }, d) in g.members.iter().zip(devs.iter()) {
                let Some(p) = d.pdev() else { continue };
                // SAFETY: `p` holds a reference; a registered device's kobject has its name.
                let name = unsafe { kernel::str::CStr::from_char_ptr((*p.as_ptr()).dev.kobj.name) };
                w.write_fmt(fmt!("{} {}\n", node, name))?;
            }
        }
        Ok(w.bytes_written())
    }
}

/// Parses one `slots` entry, `NODE=NUMBER[,OPTION...]`.
fn parse_slot(s: &str) -> core::result::Result<(usize, SlotConfig), &'static str> {
    let (node, rest) = s.split_once('=').ok_or("is not NODE=NUMBER[,OPTION...]")?;
    let node = number(node).ok_or("does not start with a node number")? as usize;
    let mut parts = rest.split(',');
    let nr = parts
        .next()
        .and_then(number)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or("has no slot number after '='")?;
    let mut c = SlotConfig::hotplug(nr);
    for o in parts {
        match o {
            "button" => c.attention_button = true,
            "surprise" => c.surprise = true,
            "nopower" => c.power_controller = false,
            "noindicators" => c.indicators = false,
            "nocc" => c.no_command_completed = true,
            _ => return Err("has an option other than button, surprise, nopower, noindicators, nocc"),
        }
    }
    if !c.is_valid() {
        return Err("has a slot number that is not 1 to 8191");
    }
    Ok((node, c))
}

/// `slots`: hot-plug slots, `NODE=NUMBER[,OPTION...]` each, on root and downstream ports.
#[vtable]
impl AttributeOperations<6> for FabricDir {
    type Data = FabricDir;

    fn show(this: &FabricDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        for &(n, c) in this.inner.lock().slots.iter() {
            w.write_fmt(fmt!("{}={}", n, c.number))?;
            for (on, name) in [
                (c.attention_button, ",button"),
                (c.surprise, ",surprise"),
                (!c.power_controller, ",nopower"),
                (!c.indicators, ",noindicators"),
                (c.no_command_completed, ",nocc"),
            ] {
                if on {
                    w.write_str(name)?;
                }
            }
            w.write_str(" ")?;
        }
        w.write_str("\n")?;
        Ok(w.bytes_written())
    }

    fn store(this: &FabricDir, page: &[u8]) -> Result {
        let mut g = this.inner.lock();
        g.off()?;
        let mut slots: KVec<(usize, SlotConfig)> = KVec::new();
        for s in words(page, "slots")? {
            let (node, c) = parse_slot(s).map_err(|why| {
                pr_err!("nvmock_fabric: slots: '{}' {}\n", s, why);
                EINVAL
            })?;
            if !g.kind(node).is_some_and(|k| k.is_link_port()) {
                pr_err!("nvmock_fabric: slots: node {} is not a root or downstream port (only those have slots)\n", node);
                return Err(EINVAL);
            }
            if slots.iter().any(|&(n, o)| n == node || o.number == c.number) {
                pr_err!("nvmock_fabric: slots: '{}': node {} or slot number {} is named twice\n", s, node, c.number);
                return Err(EINVAL);
            }
            slots.push((node, c), GFP_KERNEL)?;
        }
        g.slots = slots;
        Ok(())
    }
}

/// `slot_event` (write only, while powered on): `NODE insert|pull|button`, what happens to
/// the slot of port node NODE.
#[vtable]
impl AttributeOperations<7> for FabricDir {
    type Data = FabricDir;

    fn show(_this: &FabricDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        w.write_str("NODE insert|pull|button\n")?;
        Ok(w.bytes_written())
    }

    fn store(this: &FabricDir, page: &[u8]) -> Result {
        let mut it = words(page, "slot_event")?;
        let (node, ev) = match (it.next(), it.next(), it.next()) {
            (Some(n), Some(e), None) => (n, e),
            _ => {
                pr_err!("nvmock_fabric: slot_event: write NODE insert|pull|button\n");
                return Err(EINVAL);
            }
        };
        let Some(node) = number(node) else {
            pr_err!("nvmock_fabric: slot_event: '{}' is not a node number\n", node);
            return Err(EINVAL);
        };
        let event = match ev {
            "insert" => SlotEvent::Insert,
            "pull" => SlotEvent::Pull,
            "button" => SlotEvent::Button,
            _ => {
                pr_err!("nvmock_fabric: slot_event: '{}' is not insert, pull or button\n", ev);
                return Err(EINVAL);
            }
        };
        let g = this.inner.lock();
        let Some((fabric, _)) = &g.on else {
            pr_err!("nvmock_fabric: slot_event: the fabric is off (write 1 to power first)\n");
            return Err(EINVAL);
        };
        let what = if event == SlotEvent::Button {
            " with an attention button"
        } else {
            ""
        };
        fabric.slot_event(node as usize, event).inspect_err(|_| {
            pr_err!("nvmock_fabric: slot_event: node {} has no slot{}\n", node, what);
        })
    }
}
