// SPDX-License-Identifier: GPL-2.0

//! PCIe topology descriptions: the shapes issue 15's P2PDMA suite needs (two controllers
//! behind one switch, behind different root ports, on different host bridges), their bus
//! numbers, where a peer-to-peer transaction turns around, and every refused description.

use nvmock_model::pci::slot::SlotConfig;
use nvmock_model::pci::topology::*;

fn node(kind: Kind, parent: usize, device: u8) -> Node {
    Node::at(kind, parent, device)
}

/// Host bridge 0 -> root port 00:01.0 -> switch (upstream, downstream 0 and 1) -> two
/// endpoints.
fn one_switch() -> Vec<Node> {
    vec![
        Node::host_bridge(0, 0),            // 0
        node(Kind::RootPort, 0, 1),         // 1
        node(Kind::SwitchUpstream, 1, 0),   // 2
        node(Kind::SwitchDownstream, 2, 0), // 3
        node(Kind::SwitchDownstream, 2, 1), // 4
        node(Kind::Endpoint, 3, 0),         // 5
        node(Kind::Endpoint, 4, 0),         // 6
    ]
}

#[test]
fn one_switch_bus_numbers_and_turnaround() {
    let t = Topology::new(&one_switch()).unwrap();
    assert_eq!(t.bus_range(0), Some((0, 4)), "host bridge");
    assert_eq!(
        (t.bus(1), t.bus_range(1)),
        (Some(0), Some((1, 4))),
        "root port"
    );
    assert_eq!(
        (t.bus(2), t.bus_range(2)),
        (Some(1), Some((2, 4))),
        "upstream"
    );
    assert_eq!(
        (t.bus(3), t.bus_range(3)),
        (Some(2), Some((3, 3))),
        "downstream 0"
    );
    assert_eq!(
        (t.bus(4), t.bus_range(4)),
        (Some(2), Some((4, 4))),
        "downstream 1"
    );
    assert_eq!((t.bus(5), t.bus(6)), (Some(3), Some(4)));
    assert_eq!(t.bus_range(5), None, "endpoints have no buses below");
    assert_eq!(
        t.common_upstream(5, 6),
        Some(2),
        "turns around in the switch"
    );
    assert_eq!(t.common_upstream(5, 5), Some(5), "same device");
    assert_eq!(t.host_bridge_of(6), Some(0));
}

#[test]
fn different_root_ports_turn_around_at_the_host_bridge() {
    let t = Topology::new(&[
        Node::host_bridge(0, 0),
        node(Kind::RootPort, 0, 1),
        node(Kind::RootPort, 0, 2),
        node(Kind::Endpoint, 1, 0),
        node(Kind::Endpoint, 2, 0),
        // A root complex integrated endpoint beside them.
        node(Kind::Endpoint, 0, 3),
    ])
    .unwrap();
    assert_eq!(
        (t.bus_range(1), t.bus_range(2)),
        (Some((1, 1)), Some((2, 2)))
    );
    assert_eq!((t.bus(3), t.bus(4), t.bus(5)), (Some(1), Some(2), Some(0)));
    assert_eq!(t.common_upstream(3, 4), Some(0));
    assert_eq!(t.common_upstream(3, 5), Some(0));
}

#[test]
fn different_host_bridges_share_nothing() {
    let nodes = [
        Node::host_bridge(0, 0),
        node(Kind::RootPort, 0, 1),
        node(Kind::Endpoint, 1, 0),
        Node::host_bridge(1, 0),
        node(Kind::RootPort, 3, 1),
        node(Kind::Endpoint, 4, 0),
    ];
    let t = Topology::new(&nodes).unwrap();
    assert_eq!(t.common_upstream(2, 5), None);
    assert_eq!((t.bus(5), t.host_bridge_of(5)), (Some(1), Some(3)));
    // The same segment: the second bridge must start above the first one's buses.
    let mut same = nodes;
    same[3] = Node::host_bridge(0, 1);
    assert_eq!(
        Topology::new(&same).err(),
        Some(TopologyError::BusOverlap(3))
    );
    same[3] = Node::host_bridge(0, 0x80);
    let t = Topology::new(&same).unwrap();
    assert_eq!(t.bus_range(4), Some((0x81, 0x81)));
}

#[test]
fn slots_on_ports_only_and_unique() {
    let mut n = one_switch();
    n[3].slot = Some(SlotConfig::hotplug(1));
    n[4].slot = Some(SlotConfig::hotplug(2));
    Topology::new(&n).unwrap();
    // A switch in a slot is refused, naming the slot's port.
    n[1].slot = Some(SlotConfig::hotplug(3));
    assert_eq!(
        Topology::new(&n).err(),
        Some(TopologyError::SwitchInSlot(1))
    );
    n[1].slot = None;
    n[4].slot = Some(SlotConfig::hotplug(1));
    assert_eq!(Topology::new(&n).err(), Some(TopologyError::Slot(4)));
    n[4].slot = Some(SlotConfig::hotplug(0));
    assert_eq!(Topology::new(&n).err(), Some(TopologyError::Slot(4)));
    n[4].slot = None;
    for i in [2, 5] {
        let mut m = n.clone();
        m[i].slot = Some(SlotConfig::hotplug(9));
        assert_eq!(
            Topology::new(&m).err(),
            Some(TopologyError::SlotNotOnPort(i))
        );
    }
}

#[test]
fn refused_descriptions() {
    let bad = |f: &dyn Fn(&mut Vec<Node>)| {
        let mut n = one_switch();
        f(&mut n);
        Topology::new(&n).err()
    };
    assert_eq!(Topology::new(&[]).err(), Some(TopologyError::Count));
    assert_eq!(
        Topology::new(&[Node::host_bridge(0, 0); MAX_NODES + 1]).err(),
        Some(TopologyError::Count)
    );
    assert_eq!(
        bad(&|n| n[0].parent = Some(0)),
        Some(TopologyError::Parent(0))
    );
    assert_eq!(bad(&|n| n[1].parent = None), Some(TopologyError::Parent(1)));
    assert_eq!(
        bad(&|n| n[2].parent = Some(5)),
        Some(TopologyError::Parent(2))
    );
    assert_eq!(
        bad(&|n| n[2].parent = Some(2)),
        Some(TopologyError::Parent(2))
    );
    // Placement: endpoint on an upstream port, root port under a root port, downstream
    // port under a root port, upstream port on a host bridge.
    assert_eq!(
        bad(&|n| n[5].parent = Some(2)),
        Some(TopologyError::Placement(5))
    );
    assert_eq!(
        bad(&|n| n[2].kind = Kind::RootPort),
        Some(TopologyError::Placement(2))
    );
    assert_eq!(
        bad(&|n| n[2].kind = Kind::SwitchDownstream),
        Some(TopologyError::Placement(2))
    );
    assert_eq!(
        bad(&|n| n[2].parent = Some(0)),
        Some(TopologyError::Placement(2))
    );
    assert_eq!(bad(&|n| n[1].device = 32), Some(TopologyError::Devfn(1)));
    assert_eq!(bad(&|n| n[1].function = 8), Some(TopologyError::Devfn(1)));
    assert_eq!(bad(&|n| n[4].device = 0), Some(TopologyError::Duplicate(4)));
    // Below a link only device 0; an upstream port alone.
    assert_eq!(bad(&|n| n[5].device = 1), Some(TopologyError::Link(5)));
    assert_eq!(bad(&|n| n[2].function = 1), Some(TopologyError::Link(2)));
    assert_eq!(
        bad(&|n| n.push(Node {
            function: 1,
            ..node(Kind::Endpoint, 1, 0)
        })),
        Some(TopologyError::Link(2))
    );
    // Functions other than 0 need function 0.
    assert_eq!(
        bad(&|n| n[6].function = 2),
        Some(TopologyError::NoFunction0(6))
    );
    // A multi-function endpoint below a link is fine.
    assert_eq!(
        bad(&|n| n.push(Node {
            function: 1,
            ..node(Kind::Endpoint, 4, 0)
        })),
        None
    );
}

#[test]
fn switch_depth_is_bounded() {
    // Switches nested below each other's downstream port 0.
    let chain = |switches: usize| {
        let mut n = vec![Node::host_bridge(0, 0), node(Kind::RootPort, 0, 1)];
        let mut parent = 1;
        for _ in 0..switches {
            n.push(node(Kind::SwitchUpstream, parent, 0));
            n.push(node(Kind::SwitchDownstream, n.len() - 1, 0));
            parent = n.len() - 1;
        }
        n.push(node(Kind::Endpoint, parent, 0));
        n
    };
    let t = Topology::new(&chain(MAX_SWITCH_DEPTH)).unwrap();
    let last = t.nodes().len() - 1;
    assert_eq!(t.bus(last), Some(1 + 2 * MAX_SWITCH_DEPTH as u8));
    let deep = chain(MAX_SWITCH_DEPTH + 1);
    assert_eq!(
        Topology::new(&deep).err(),
        Some(TopologyError::TooDeep(2 + 2 * MAX_SWITCH_DEPTH))
    );
}

#[test]
fn bus_numbers_run_out() {
    // Root bus 250 and seven root ports: buses 251..=255, then none left.
    let mut n = vec![Node::host_bridge(0, 250)];
    for d in 1..=6 {
        n.push(node(Kind::RootPort, 0, d));
    }
    assert_eq!(Topology::new(&n).err(), Some(TopologyError::BusOverflow(6)));
    n.pop();
    let t = Topology::new(&n).unwrap();
    assert_eq!(t.bus_range(5), Some((255, 255)));
    assert_eq!(t.bus_range(0), Some((250, 255)));
}
