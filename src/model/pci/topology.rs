// SPDX-License-Identifier: GPL-2.0

//! A PCI Express topology as data: host bridges, root ports below them, optional switches
//! (an upstream port and its downstream ports) below root ports or other switches'
//! downstream ports, and endpoints, each node naming its parent. [`Topology::new`] validates
//! it and numbers the buses as firmware would (depth first, each bridge's secondary bus the
//! next free number, its subordinate bus the last one below it).
//!
//! # Rules
//!
//! - Nodes come parents first: a node's parent has a lower index. A host bridge has no parent
//!   and gives its PCI segment and root bus number; two host bridges of a segment may not
//!   share bus numbers.
//! - Root ports and root complex integrated endpoints sit on a host bridge; a switch upstream
//!   port on a root port or a switch downstream port; switch downstream ports on an upstream
//!   port; endpoints on a host bridge, a root port or a downstream port.
//! - Below a root or downstream port (a link) there is one device, device number 0: a switch
//!   upstream port (function 0, alone) or the functions of one endpoint. Device numbers are
//!   below 32, functions below 8, each (device, function) once on a bus, and a device with
//!   functions other than 0 has function 0.
//! - Slots only on root and downstream ports; physical slot numbers unique and valid. What a
//!   slot holds is an endpoint (or nothing): a switch in a hot-plug slot is not modelled
//!   (powering the slot off would lose the switch's bus numbers, which the fabric routes by).
//! - At most [`MAX_SWITCH_DEPTH`] switches above any node; at most [`MAX_NODES`] nodes; bus
//!   numbers up to 255.

use super::slot::SlotConfig;

/// Most nodes in a topology.
pub const MAX_NODES: usize = 32;
/// Most switches on the path from a root port to any node.
pub const MAX_SWITCH_DEPTH: usize = 3;

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A host bridge with its PCI segment (domain) and root bus number.
    HostBridge {
        /// PCI segment.
        segment: u16,
        /// Root bus number.
        bus: u8,
    },
    /// A root port.
    RootPort,
    /// A switch's upstream port.
    SwitchUpstream,
    /// A switch's downstream port.
    SwitchDownstream,
    /// An endpoint function (an emulated controller).
    Endpoint,
}

impl Kind {
    /// Whether the node is a PCI-to-PCI bridge (and so gets a secondary bus).
    pub fn is_bridge(self) -> bool {
        matches!(
            self,
            Kind::RootPort | Kind::SwitchUpstream | Kind::SwitchDownstream
        )
    }

    /// Whether the node is a root or downstream port (has a link to one device below).
    pub fn is_link_port(self) -> bool {
        matches!(self, Kind::RootPort | Kind::SwitchDownstream)
    }
}

/// One node of a topology description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// The index of its parent (none for a host bridge).
    pub parent: Option<usize>,
    /// Device number on the parent's bus (ignored for a host bridge).
    pub device: u8,
    /// Function number (ignored for a host bridge).
    pub function: u8,
    /// The hot-plug slot of a root or downstream port.
    pub slot: Option<SlotConfig>,
}

impl Node {
    /// A host bridge.
    pub const fn host_bridge(segment: u16, bus: u8) -> Node {
        Node {
            kind: Kind::HostBridge { segment, bus },
            parent: None,
            device: 0,
            function: 0,
            slot: None,
        }
    }

    /// A node of `kind` at `device`.0 below `parent`, without a slot.
    pub const fn at(kind: Kind, parent: usize, device: u8) -> Node {
        Node {
            kind,
            parent: Some(parent),
            device,
            function: 0,
            slot: None,
        }
    }
}

/// Why a topology was refused; each variant names the offending node's index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopologyError {
    /// No nodes, or more than [`MAX_NODES`].
    Count,
    /// A host bridge with a parent, another node without one, or a parent that is not an
    /// earlier node.
    Parent(usize),
    /// The node cannot sit on its parent's kind (e.g. an endpoint on a switch upstream port).
    Placement(usize),
    /// Device number 32 or more, or function 8 or more.
    Devfn(usize),
    /// The (device, function) is already used on the bus.
    Duplicate(usize),
    /// Below a link: not device 0, or a switch upstream port that is not function 0 alone.
    Link(usize),
    /// Functions other than 0 of a device without function 0.
    NoFunction0(usize),
    /// A slot on something other than a root or downstream port.
    SlotNotOnPort(usize),
    /// A physical slot number that is 0, beyond 13 bits, or used twice.
    Slot(usize),
    /// A switch upstream port below this port's hot-plug slot.
    SwitchInSlot(usize),
    /// More than [`MAX_SWITCH_DEPTH`] switches above the node (its own switch included).
    TooDeep(usize),
    /// Bus numbers ran past 255 at this node.
    BusOverflow(usize),
    /// This host bridge's buses overlap another's on the same segment.
    BusOverlap(usize),
}

/// A validated topology with its bus numbers.
///
/// # Invariants
///
/// `nodes[..len]` satisfies every rule of the module; `bus[i]` is the bus node `i` sits on
/// (its root bus for a host bridge), and for a bridge `secondary[i]..=subordinate[i]` are the
/// buses below it, nested within its parent's.
#[derive(Clone, Debug)]
pub struct Topology {
    nodes: [Node; MAX_NODES],
    len: usize,
    bus: [u8; MAX_NODES],
    secondary: [u8; MAX_NODES],
    subordinate: [u8; MAX_NODES],
}

impl Topology {
    /// Validates `nodes` and numbers the buses.
    pub fn new(nodes: &[Node]) -> Result<Topology, TopologyError> {
        if nodes.is_empty() || nodes.len() > MAX_NODES {
            return Err(TopologyError::Count);
        }
        let mut t = Topology {
            nodes: [Node::host_bridge(0, 0); MAX_NODES],
            len: nodes.len(),
            bus: [0; MAX_NODES],
            secondary: [0; MAX_NODES],
            subordinate: [0; MAX_NODES],
        };
        t.nodes[..nodes.len()].copy_from_slice(nodes);
        for i in 0..nodes.len() {
            t.check_node(i)?;
        }
        t.check_siblings()?;
        t.number_buses()?;
        Ok(t)
    }

    fn check_node(&self, i: usize) -> Result<(), TopologyError> {
        let n = self.nodes[i];
        let parent = match (n.kind, n.parent) {
            (Kind::HostBridge { .. }, None) => None,
            (Kind::HostBridge { .. }, Some(_)) | (_, None) => return Err(TopologyError::Parent(i)),
            (_, Some(p)) if p >= i => return Err(TopologyError::Parent(i)),
            (_, Some(p)) => Some(self.nodes[p].kind),
        };
        if let Some(pk) = parent {
            let ok = match n.kind {
                Kind::HostBridge { .. } => false,
                Kind::RootPort => matches!(pk, Kind::HostBridge { .. }),
                Kind::SwitchUpstream => pk.is_link_port(),
                Kind::SwitchDownstream => pk == Kind::SwitchUpstream,
                Kind::Endpoint => matches!(pk, Kind::HostBridge { .. }) || pk.is_link_port(),
            };
            if !ok {
                return Err(TopologyError::Placement(i));
            }
            if n.device >= 32 || n.function >= 8 {
                return Err(TopologyError::Devfn(i));
            }
            if pk.is_link_port()
                && (n.device != 0 || n.kind == Kind::SwitchUpstream && n.function != 0)
            {
                return Err(TopologyError::Link(i));
            }
        }
        if let Some(s) = n.slot {
            if !n.kind.is_link_port() {
                return Err(TopologyError::SlotNotOnPort(i));
            }
            let dup = self.nodes[..i]
                .iter()
                .any(|m| m.slot.is_some_and(|o| o.number == s.number));
            if !s.is_valid() || dup {
                return Err(TopologyError::Slot(i));
            }
        }
        if let Some(p) = n.parent {
            if n.kind == Kind::SwitchUpstream && self.nodes[p].slot.is_some() {
                return Err(TopologyError::SwitchInSlot(p));
            }
        }
        if self.switches_above(i) > MAX_SWITCH_DEPTH {
            return Err(TopologyError::TooDeep(i));
        }
        Ok(())
    }

    /// Duplicate (device, function) pairs, lone switch upstream ports, function 0.
    fn check_siblings(&self) -> Result<(), TopologyError> {
        for i in 0..self.len {
            let n = self.nodes[i];
            let Some(p) = n.parent else { continue };
            let siblings = || (0..self.len).filter(move |&j| self.nodes[j].parent == Some(p));
            if siblings().any(|j| {
                j < i && self.nodes[j].device == n.device && self.nodes[j].function == n.function
            }) {
                return Err(TopologyError::Duplicate(i));
            }
            // A switch upstream port below a link is the only device there.
            if self.nodes[p].kind.is_link_port()
                && siblings().count() > 1
                && siblings().any(|j| self.nodes[j].kind == Kind::SwitchUpstream)
            {
                return Err(TopologyError::Link(i));
            }
            if n.function != 0
                && !siblings()
                    .any(|j| self.nodes[j].device == n.device && self.nodes[j].function == 0)
            {
                return Err(TopologyError::NoFunction0(i));
            }
        }
        Ok(())
    }

    /// The switches node `i` is in or below (its own, for a switch port, counts).
    fn switches_above(&self, i: usize) -> usize {
        let mut count = 0;
        let mut cur = Some(i);
        // Parents have lower indices, so this ends within `i` steps.
        while let Some(p) = cur {
            if self.nodes[p].kind == Kind::SwitchUpstream {
                count += 1;
            }
            cur = self.nodes[p].parent;
        }
        count
    }

    /// Depth-first bus numbering from each host bridge's root bus.
    fn number_buses(&mut self) -> Result<(), TopologyError> {
        for hb in 0..self.len {
            let Kind::HostBridge { bus, .. } = self.nodes[hb].kind else {
                continue;
            };
            self.bus[hb] = bus;
            self.secondary[hb] = bus;
            let mut next = u16::from(bus);
            self.number_below(hb, bus, &mut next)?;
            // `next` is at most 255 here.
            self.subordinate[hb] = next as u8;
        }
        for a in 0..self.len {
            let Kind::HostBridge { segment: sa, .. } = self.nodes[a].kind else {
                continue;
            };
            for b in 0..a {
                let Kind::HostBridge { segment: sb, .. } = self.nodes[b].kind else {
                    continue;
                };
                let overlap = self.secondary[a] <= self.subordinate[b]
                    && self.secondary[b] <= self.subordinate[a];
                if sa == sb && overlap {
                    return Err(TopologyError::BusOverlap(a));
                }
            }
        }
        Ok(())
    }

    /// Numbers the children of `parent`, which sit on `bus`; `next` is the last bus number
    /// used so far.
    fn number_below(
        &mut self,
        parent: usize,
        bus: u8,
        next: &mut u16,
    ) -> Result<(), TopologyError> {
        for i in parent + 1..self.len {
            if self.nodes[i].parent != Some(parent) {
                continue;
            }
            self.bus[i] = bus;
            if !self.nodes[i].kind.is_bridge() {
                continue;
            }
            *next += 1;
            let sec = u8::try_from(*next).map_err(|_| TopologyError::BusOverflow(i))?;
            self.secondary[i] = sec;
            // Recursion depth is bounded by the validated nesting (at most 2 + 2 *
            // MAX_SWITCH_DEPTH bridges deep).
            self.number_below(i, sec, next)?;
            self.subordinate[i] = u8::try_from(*next).map_err(|_| TopologyError::BusOverflow(i))?;
        }
        Ok(())
    }

    /// The nodes.
    pub fn nodes(&self) -> &[Node] {
        self.nodes.get(..self.len).unwrap_or(&[])
    }

    /// The bus node `i` sits on (a host bridge's root bus for the host bridge itself).
    pub fn bus(&self, i: usize) -> Option<u8> {
        (i < self.len).then(|| self.bus[i])
    }

    /// The secondary and subordinate buses of bridge (or host bridge) `i`.
    pub fn bus_range(&self, i: usize) -> Option<(u8, u8)> {
        let n = self.nodes().get(i)?;
        (n.kind.is_bridge() || matches!(n.kind, Kind::HostBridge { .. }))
            .then(|| (self.secondary[i], self.subordinate[i]))
    }

    /// The host bridge above node `i` (itself for a host bridge).
    pub fn host_bridge_of(&self, i: usize) -> Option<usize> {
        let mut cur = i;
        while let Some(p) = self.nodes().get(cur)?.parent {
            cur = p;
        }
        Some(cur)
    }

    /// The nearest node above both `a` and `b` (or one of them), `None` when they are under
    /// different host bridges. A P2P transaction between two endpoints turns around there:
    /// at a switch's upstream port when both sit below one switch, at the host bridge
    /// otherwise.
    pub fn common_upstream(&self, a: usize, b: usize) -> Option<usize> {
        if a >= self.len || b >= self.len {
            return None;
        }
        let mut x = Some(a);
        while let Some(i) = x {
            let mut y = Some(b);
            while let Some(j) = y {
                if i == j {
                    return Some(i);
                }
                y = self.nodes[j].parent;
            }
            x = self.nodes[i].parent;
        }
        None
    }
}
