// SPDX-License-Identifier: GPL-2.0

//! KUnit: the kernel's peer-to-peer DMA rules on PCI Express topologies of emulated NVMe
//! controllers (x86_64 only: P2PDMA needs ZONE_DEVICE, which UML lacks, and the CMB needs the
//! devmem reservation).
//!
//! Each case builds a fabric (`src/glue/nvme/fabric.rs`: a virtual host bridge whose root
//! ports and switch ports are the pure port models) with controllers behind its ports, lets
//! the real nvme driver bind them (it registers controller A's CMB with the P2PDMA layer), and
//! asks the kernel: `pci_p2pdma_distance()` / `pci_p2pdma_distance_many()` with A as the
//! provider, and the map type through the DMA API, the one exported way to reach it:
//! `dma_map_sg()` of a page of A's P2P memory for the client maps a bus address (marked
//! `SG_DMA_BUS_ADDRESS`: `PCI_P2PDMA_MAP_BUS_ADDR`), a CPU physical address
//! (`PCI_P2PDMA_MAP_THRU_HOST_BRIDGE`) or fails (`PCI_P2PDMA_MAP_NOT_SUPPORTED`).
//!
//! The expected distances come from the topology model (`Topology::common_upstream` and the
//! nodes' depths, counted as the kernel counts hops: one per device on each side up to the
//! common bridge, or up to and including the root bus's devices when the path crosses the
//! host bridge); the expected map types from the kernel's rules (drivers/pci/p2pdma.c): below
//! a common switch port without ACS redirect on the path, bus addresses; through the host
//! bridge only for CPUs the kernel trusts (AMD family 17h and later) or when the first
//! device of the root bus (devfn 00.0 or a root port) is on its whitelist, for both host
//! bridges when there are two.

use crate::glue::nvme::dev::{FabricMember, NvmeDev, Profile};
use crate::glue::nvme::fabric::{Fabric, PortIds};
use crate::glue::nvme::instance::Instance;
use crate::glue::nvme::pci_host::PciDev;
use crate::kunit::nvme::wait_until;
use crate::model::pci::acs::{ACS_CR, ACS_RR};
use crate::model::pci::{Kind, Node, Topology};
use core::sync::atomic::Ordering;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The topology of most cases, node by node:
///
/// ```text
/// 0 host bridge
/// ├─ 1 root port 00.0 ── 2 switch upstream port ─┬─ 3 downstream port 00.0 ── 5 controller A (CMB)
/// │                                               └─ 4 downstream port 01.0 ── 6 controller B
/// └─ 7 root port 01.0 ── 8 controller C
/// ```
const SWITCH_AND_ROOT_PORTS: [Node; 9] = [
    Node::host_bridge(0, 0),
    Node::at(Kind::RootPort, 0, 0),
    Node::at(Kind::SwitchUpstream, 1, 0),
    Node::at(Kind::SwitchDownstream, 2, 0),
    Node::at(Kind::SwitchDownstream, 2, 1),
    Node::at(Kind::Endpoint, 3, 0),
    Node::at(Kind::Endpoint, 4, 0),
    Node::at(Kind::RootPort, 0, 1),
    Node::at(Kind::Endpoint, 7, 0),
];
const A: usize = 5;
const B: usize = 6;
const C: usize = 8;
/// B's downstream port.
const DS_B: usize = 4;

/// One root port with controller A (CMB) below it.
const ONE_ROOT_PORT: [Node; 3] = [
    Node::host_bridge(0, 0),
    Node::at(Kind::RootPort, 0, 0),
    Node::at(Kind::Endpoint, 1, 0),
];

/// A small controller: the driver binds it quickly. With `cmb`, a 2 MiB CMB (published).
fn profile(cmb: bool) -> Profile {
    Profile {
        ns_mib: 4,
        io_queues: 1,
        cmb_mib: if cmb { 2 } else { 0 },
        // A fabric's functions use INTx on x86_64 (NvmeDev::new_fabric).
        msix_vectors: 0,
        ..Profile::default()
    }
}

/// `r`, saying in the log which step of a test failed and how.
fn step<T>(what: &str, r: Result<T>) -> Result<T> {
    if let Err(e) = &r {
        pr_err!("nvmock_p2pdma: {} failed: {:?}\n", what, e);
    }
    r
}

/// Builds topology `nodes` with ports `ids` and ACS controls `acs`, a controller at each of
/// `at` (the first with the CMB), and waits until the driver has bound every one and
/// registered the first one's CMB.
fn build(
    nodes: &[Node],
    ids: PortIds,
    acs: &[(usize, u16)],
    at: &[usize],
) -> Result<(Arc<Fabric>, KVec<NvmeDev>)> {
    let (with_cmb, without) = (profile(true), profile(false));
    let mut members = KVec::with_capacity(at.len(), GFP_KERNEL)?;
    for (i, &node) in at.iter().enumerate() {
        members.push(
            FabricMember {
                profile: if i == 0 { &with_cmb } else { &without },
                instance: Instance::alloc()?,
                node,
            },
            GFP_KERNEL,
        )?;
    }
    let (fabric, devs) = step(
        "building the fabric",
        NvmeDev::new_fabric(nodes, ids, acs, &members),
    )?;
    for d in devs.iter() {
        bound(d)?;
    }
    if let Some(a) = devs.first() {
        step("the CMB's registration", cmb_registered(a))?;
    }
    Ok((fabric, devs))
}

/// Waits until the driver is bound to `d` and has enabled the controller.
fn bound(d: &NvmeDev) -> Result {
    let ok = wait_until(|| {
        // SAFETY: `p` holds a reference to the live device.
        d.pdev()
            .is_some_and(|p| !unsafe { (*p.as_ptr()).driver }.is_null())
    }) && wait_until(|| d.stats().enables.load(Ordering::Relaxed) > 0);
    if ok {
        Ok(())
    } else {
        pr_err!("nvmock_p2pdma: the driver did not bind a controller\n");
        Err(ETIMEDOUT)
    }
}

/// Waits until `d`'s CMB is P2P memory (the driver's `pci_p2pdma_add_resource()`).
fn cmb_registered(d: &NvmeDev) -> Result {
    let pdev = d.pdev().ok_or(ENODEV)?;
    let ok = wait_until(|| {
        // SAFETY: `pdev` holds a reference; any size may be asked for.
        let p = unsafe { bindings::pci_alloc_p2pmem(pdev.as_ptr(), 4096) };
        if p.is_null() {
            return false;
        }
        // SAFETY: allocated above.
        unsafe { bindings::pci_free_p2pmem(pdev.as_ptr(), p, 4096) };
        true
    });
    if ok {
        Ok(())
    } else {
        Err(ETIMEDOUT)
    }
}

/// The function of `d`.
fn pdev(d: &NvmeDev) -> Result<PciDev> {
    d.pdev().ok_or(ENODEV)
}

/// `pci_p2pdma_distance_many()` of provider `p` and `clients` (not verbose).
fn distance_many(p: &PciDev, clients: &[&PciDev]) -> Result<i32> {
    let mut devs = KVec::with_capacity(clients.len(), GFP_KERNEL)?;
    for c in clients {
        // SAFETY: `c` holds a reference to a live device.
        devs.push(unsafe { &raw mut (*c.as_ptr()).dev }, GFP_KERNEL)?;
    }
    // SAFETY: the devices are live (references held); the array has `len` entries.
    Ok(unsafe {
        bindings::pci_p2pdma_distance_many(p.as_ptr(), devs.as_mut_ptr(), devs.len() as i32, false)
    })
}

/// `pci_p2pdma_distance()`.
fn distance(p: &PciDev, c: &PciDev) -> Result<i32> {
    distance_many(p, &[c])
}

/// How the DMA API maps P2P memory of the provider for a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Map {
    /// `PCI_P2PDMA_MAP_BUS_ADDR`: the bus address, marked as one.
    BusAddr,
    /// `PCI_P2PDMA_MAP_THRU_HOST_BRIDGE`: the CPU physical address.
    ThruHostBridge,
    /// `PCI_P2PDMA_MAP_NOT_SUPPORTED`: refused.
    NotSupported,
}

/// Maps a page of `p`'s P2P memory for `c` with `dma_map_sg()`, and says how it was mapped.
fn map_type(p: &PciDev, c: &PciDev) -> Result<Map> {
    // SAFETY: `p` holds a reference; its CMB is registered while the driver is bound.
    let mem = unsafe { bindings::pci_alloc_p2pmem(p.as_ptr(), 4096) };
    if mem.is_null() {
        return Err(ENOMEM);
    }
    // SAFETY: `mem` is P2P memory of `p`.
    let bus = unsafe { bindings::pci_p2pmem_virt_to_bus(p.as_ptr(), mem) };
    // SAFETY: all-zero is an unused scatterlist entry.
    let mut sg: bindings::scatterlist = unsafe { core::mem::zeroed() };
    // SAFETY: `mem` is 4096 bytes in the direct map (ZONE_DEVICE pages of the CMB).
    unsafe { bindings::sg_init_one(&mut sg, mem, 4096) };
    // SAFETY: `c` is live; one entry; P2P memory needs no CPU cache maintenance.
    let dev = unsafe { &raw mut (*c.as_ptr()).dev };
    // SAFETY: as above.
    let n = unsafe {
        bindings::dma_map_sg_attrs(
            dev,
            &mut sg,
            1,
            bindings::dma_data_direction::DMA_BIDIRECTIONAL,
            bindings::DMA_ATTR_SKIP_CPU_SYNC as _,
        )
    };
    let r = if n == 0 {
        Ok(Map::NotSupported)
    } else {
        let marked = sg.dma_flags & bindings::SG_DMA_BUS_ADDRESS != 0;
        let phys = sg.dma_address;
        // SAFETY: mapped above with the same arguments.
        unsafe {
            bindings::dma_unmap_sg_attrs(
                dev,
                &mut sg,
                1,
                bindings::dma_data_direction::DMA_BIDIRECTIONAL,
                bindings::DMA_ATTR_SKIP_CPU_SYNC as _,
            )
        };
        match (marked, phys == bus) {
            (true, true) => Ok(Map::BusAddr),
            // No offset between the CMB's CPU and bus addresses: the physical address too.
            (false, true) => Ok(Map::ThruHostBridge),
            _ => {
                pr_err!(
                    "nvmock_p2pdma: mapped at {:#x}, bus address {:#x}\n",
                    phys,
                    bus
                );
                Err(EINVAL)
            }
        }
    };
    // SAFETY: allocated above.
    unsafe { bindings::pci_free_p2pmem(p.as_ptr(), mem, 4096) };
    r
}

/// Whether the kernel trusts the CPU with peer-to-peer through any host bridge (AMD family
/// 17h, Zen, and later): then no whitelist is consulted.
fn cpu_supports_p2pdma() -> bool {
    // SAFETY: set at boot, read-only after.
    let c = unsafe { &*(&raw const bindings::boot_cpu_data) };
    // SAFETY: the union's fields are plain bytes.
    let (vendor, family) = unsafe {
        (
            c.__bindgen_anon_1.__bindgen_anon_1.x86_vendor,
            c.__bindgen_anon_1.__bindgen_anon_1.x86,
        )
    };
    u32::from(vendor) == bindings::X86_VENDOR_AMD && family >= 0x17
}

/// The distance the kernel counts between endpoints `a` and `b` of `t`: the hops from each up
/// to the nearest common bridge, or, when the path turns around at the host bridge, the
/// devices of each side up to and including the root bus's.
fn model_distance(t: &Topology, a: usize, b: usize) -> Result<i32> {
    let depth = |mut i: usize| {
        let mut d = 0;
        while let Some(p) = t.nodes().get(i).and_then(|n| n.parent) {
            d += 1;
            i = p;
        }
        d
    };
    let c = t.common_upstream(a, b).ok_or(EINVAL)?;
    Ok(depth(a) + depth(b) - 2 * depth(c))
}

/// Whether the path between endpoints `a` and `b` turns around below the host bridge (at a
/// switch port) and no port on it has ACS redirect: the provider's side up to and including
/// the common port, the client's below it.
fn bus_path(f: &Fabric, a: usize, b: usize) -> Result<bool> {
    let t = f.topology()?;
    let (c, path) = {
        let c = t.common_upstream(a, b);
        let mut path = KVec::new();
        for (start, inclusive) in [(a, true), (b, false)] {
            let mut i = Some(start);
            while let (Some(n), Some(c)) = (i, c) {
                if n == c {
                    if inclusive {
                        path.push(n, GFP_KERNEL)?;
                    }
                    break;
                }
                path.push(n, GFP_KERNEL)?;
                i = t.nodes().get(n).and_then(|m| m.parent);
            }
        }
        (c.map(|c| (c, t.nodes()[c].kind)), path)
    };
    let Some((_, kind)) = c else { return Ok(false) };
    Ok(kind.is_bridge() && !path.iter().any(|&n| f.acs_blocks_p2p(n)))
}

/// The map type the kernel's rules give: bus addresses on a switch path without ACS
/// redirect, else through the host bridge if the CPU or the whitelist allows it.
fn expected(bus: bool, whitelisted: bool) -> Map {
    if bus {
        Map::BusAddr
    } else if cpu_supports_p2pdma() || whitelisted {
        Map::ThruHostBridge
    } else {
        Map::NotSupported
    }
}

/// The downstream-facing port right above `d`'s function (its bus's bridge).
fn port_above(d: &PciDev) -> *mut bindings::pci_dev {
    // SAFETY: `d` holds a reference; a non-root bus's `self` is its bridge, which the child
    // keeps alive.
    unsafe { (*(*d.as_ptr()).bus).self_ }
}

/// Writes ACS Control of `port` through the kernel's configuration accessors, as software
/// does; returns what the port reads back.
fn set_acs(port: *mut bindings::pci_dev, ctrl: u16) -> Result<u16> {
    if port.is_null() {
        return Err(ENODEV);
    }
    // SAFETY: `port` is live (see `port_above`); the kernel found its ACS capability.
    let pos = unsafe { (*port).acs_cap };
    if pos == 0 {
        return Err(ENODEV);
    }
    let at = i32::from(pos) + bindings::PCI_ACS_CTRL as i32;
    let mut back = 0u16;
    // SAFETY: as above.
    unsafe {
        bindings::pci_write_config_word(port, at, ctrl);
        bindings::pci_read_config_word(port, at, &mut back);
    }
    Ok(back)
}

#[kernel::macros::kunit_tests(nvmock_p2pdma)]
mod tests {
    use super::*;

    /// QEMU's ports (not whitelisted): the same device is distance 0 by bus address; two
    /// controllers behind one switch are 4 apart by bus address; behind different root
    /// ports the path crosses the host bridge, whose first device (root port 00.0,
    /// 1b36:000c) is not on the whitelist: refused (-1, and the DMA API refuses to map).
    #[test]
    fn qemu_ports_switch_bus_address_root_ports_refused() -> Result {
        let (fabric, devs) = build(&SWITCH_AND_ROOT_PORTS, PortIds::QEMU, &[], &[A, B, C])?;
        let (a, b, c) = (pdev(&devs[0])?, pdev(&devs[1])?, pdev(&devs[2])?);
        let ab = model_distance(&*fabric.topology()?, A, B)?;
        let ac = model_distance(&*fabric.topology()?, A, C)?;
        check!(ab == 4 && ac == 6);

        check!(distance(&a, &a)? == 0);
        check!(map_type(&a, &a)? == Map::BusAddr);

        check!(bus_path(&fabric, A, B)?);
        check!(distance(&a, &b)? == ab);
        check!(map_type(&a, &b)? == Map::BusAddr);

        check!(!bus_path(&fabric, A, C)?);
        let want = expected(false, false);
        check!(distance(&a, &c)? == if want == Map::NotSupported { -1 } else { ac });
        check!(map_type(&a, &c)? == want);

        // Many clients: the sum, or -1 if any one is refused.
        check!(distance_many(&a, &[&a, &b])? == ab);
        check!(
            distance_many(&a, &[&a, &b, &c])?
                == if want == Map::NotSupported {
                    -1
                } else {
                    ab + ac
                }
        );
        Ok(())
    }

    /// The same shape with root ports the whitelist knows (Intel Sky Lake-E, 8086:2030, at
    /// 00.0 of the root bus, the device the kernel looks up): A to C goes through the host
    /// bridge, 6 apart; the switch path is still by bus address.
    #[test]
    fn whitelisted_root_ports_go_through_the_host_bridge() -> Result {
        let (fabric, devs) = build(&SWITCH_AND_ROOT_PORTS, PortIds::SKYLAKE_E, &[], &[A, B, C])?;
        let (a, b, c) = (pdev(&devs[0])?, pdev(&devs[1])?, pdev(&devs[2])?);
        let ab = model_distance(&*fabric.topology()?, A, B)?;
        let ac = model_distance(&*fabric.topology()?, A, C)?;
        // The root bus's first device is root port 00.0 with the whitelisted IDs.
        // SAFETY: `c` holds a reference; its bus's bridge is root port 01.0, on the root bus.
        let first = unsafe { bindings::pci_get_slot((*port_above(&c)).bus, 0) };
        check!(!first.is_null());
        // SAFETY: `first` is referenced (found above), released once.
        let ids = unsafe {
            let ids = ((*first).vendor, (*first).device);
            bindings::pci_dev_put(first);
            ids
        };
        check!(ids == PortIds::SKYLAKE_E.root_port);
        check!(distance(&a, &b)? == ab);
        check!(map_type(&a, &b)? == Map::BusAddr);
        check!(expected(false, true) == Map::ThruHostBridge);
        check!(distance(&a, &c)? == ac);
        check!(map_type(&a, &c)? == Map::ThruHostBridge);
        check!(distance_many(&a, &[&a, &b, &c])? == ab + ac);
        Ok(())
    }

    /// ACS P2P Request and Completion Redirect on B's downstream port: the path turns around
    /// at the host bridge. With QEMU's root ports refused; with whitelisted ones, through
    /// the host bridge at the same distance. Cleared again, bus addresses. Set by firmware
    /// (the fabric's ACS controls) on A's own port: refused too.
    #[test]
    fn acs_redirect_on_the_path() -> Result {
        const REDIRECT: u16 = ACS_RR | ACS_CR;
        {
            let (fabric, devs) = build(&SWITCH_AND_ROOT_PORTS, PortIds::QEMU, &[], &[A, B])?;
            let (a, b) = (pdev(&devs[0])?, pdev(&devs[1])?);
            let ab = model_distance(&*fabric.topology()?, A, B)?;
            check!(distance(&a, &b)? == ab);
            check!(set_acs(port_above(&b), REDIRECT)? == REDIRECT);
            // The write reached the port's model.
            check!(fabric.acs_control(DS_B) == Some(REDIRECT));
            check!(!bus_path(&fabric, A, B)?);
            let want = expected(false, false);
            check!(distance(&a, &b)? == if want == Map::NotSupported { -1 } else { ab });
            check!(map_type(&a, &b)? == want);
            check!(set_acs(port_above(&b), 0)? == 0);
            check!(bus_path(&fabric, A, B)?);
            check!(distance(&a, &b)? == ab);
            check!(map_type(&a, &b)? == Map::BusAddr);
        }
        {
            let (fabric, devs) = build(&SWITCH_AND_ROOT_PORTS, PortIds::SKYLAKE_E, &[], &[A, B])?;
            let (a, b) = (pdev(&devs[0])?, pdev(&devs[1])?);
            let ab = model_distance(&*fabric.topology()?, A, B)?;
            check!(set_acs(port_above(&b), REDIRECT)? == REDIRECT);
            check!(distance(&a, &b)? == ab);
            check!(map_type(&a, &b)? == Map::ThruHostBridge);
        }
        {
            // As firmware left it: redirect on A's downstream port (node 3).
            let (fabric, devs) = build(
                &SWITCH_AND_ROOT_PORTS,
                PortIds::QEMU,
                &[(3, REDIRECT)],
                &[A, B],
            )?;
            let (a, b) = (pdev(&devs[0])?, pdev(&devs[1])?);
            // SAFETY: `a` holds a reference; its port is live.
            let pos = unsafe { (*port_above(&a)).acs_cap };
            check!(pos != 0);
            check!(fabric.acs_control(3) == Some(REDIRECT));
            check!(!bus_path(&fabric, A, B)?);
            let want = expected(false, false);
            check!(distance(&a, &b)? == if want == Map::NotSupported { -1 } else { 4 });
            check!(map_type(&a, &b)? == want);
        }
        Ok(())
    }

    /// Controllers on different host bridges: A behind a root port of a fabric, D alone on a
    /// host bridge of its own (today's default: its function is 00.0 of its root bus,
    /// 1b36:00f0, not on the whitelist). Refused, whatever A's root port is: the kernel needs
    /// both host bridges on the whitelist.
    #[test]
    fn different_host_bridges_are_refused() -> Result {
        for ids in [PortIds::QEMU, PortIds::SKYLAKE_E] {
            let (_fabric, devs) = build(&ONE_ROOT_PORT, ids, &[], &[2])?;
            let d = step(
                "a controller on its own host bridge",
                NvmeDev::new(&profile(false), Instance::alloc()?),
            )?;
            bound(&d)?;
            let (a, dp) = (pdev(&devs[0])?, pdev(&d)?);
            // SAFETY: both hold references; their buses are live.
            let (root_a, root_d) = unsafe {
                (
                    bindings::pci_find_host_bridge((*a.as_ptr()).bus),
                    bindings::pci_find_host_bridge((*dp.as_ptr()).bus),
                )
            };
            check!(root_a != root_d);
            let want = expected(false, false);
            // A: itself and its root port; D: itself (on its root bus).
            check!(distance(&a, &dp)? == if want == Map::NotSupported { -1 } else { 3 });
            check!(map_type(&a, &dp)? == want);
        }
        Ok(())
    }

    /// Bad shapes are refused before anything is built: an endpoint on a switch upstream
    /// port, a controller at a port's node, ACS controls for an upstream port (which has no
    /// ACS), ACS bits a port does not implement, and two host bridges in one fabric.
    #[test]
    fn bad_shapes_are_refused() -> Result {
        let p = profile(false);
        let refused = |nodes: &[Node], acs: &[(usize, u16)], at: usize| -> Result<bool> {
            let m = [FabricMember {
                profile: &p,
                instance: Instance::alloc()?,
                node: at,
            }];
            Ok(matches!(NvmeDev::new_fabric(nodes, PortIds::QEMU, acs, &m), Err(e) if e == EINVAL))
        };
        let endpoint_on_upstream = [
            Node::host_bridge(0, 0),
            Node::at(Kind::RootPort, 0, 0),
            Node::at(Kind::SwitchUpstream, 1, 0),
            Node::at(Kind::Endpoint, 2, 0),
        ];
        check!(refused(&endpoint_on_upstream, &[], 3)?);
        check!(refused(&SWITCH_AND_ROOT_PORTS, &[], DS_B)?);
        check!(refused(&SWITCH_AND_ROOT_PORTS, &[(2, ACS_RR)], A)?);
        check!(refused(&SWITCH_AND_ROOT_PORTS, &[(3, 1 << 6)], A)?);
        let two_bridges = [
            Node::host_bridge(0, 0),
            Node::at(Kind::Endpoint, 0, 0),
            Node::host_bridge(0, 1),
            Node::at(Kind::Endpoint, 2, 0),
        ];
        check!(refused(&two_bridges, &[], 1)?);
        Ok(())
    }

    /// The configfs directory (`nvmock_fabric/<name>`, through its attributes' own store and
    /// show): bad values refused when written, nothing changed by them; a good shape powers
    /// on with its controllers where `members` puts them (behind one switch: 4 apart by bus
    /// address) and off again.
    #[test]
    fn configfs_shapes() -> Result {
        use crate::glue::nvme::fabric_configfs::FabricDir;
        use kernel::configfs::AttributeOperations;
        let dir = KBox::pin_init(FabricDir::new(), GFP_KERNEL)?;
        let store = |id: u32, v: &[u8]| -> Result {
            match id {
                0 => <FabricDir as AttributeOperations<0>>::store(&dir, v),
                1 => <FabricDir as AttributeOperations<1>>::store(&dir, v),
                2 => <FabricDir as AttributeOperations<2>>::store(&dir, v),
                3 => <FabricDir as AttributeOperations<3>>::store(&dir, v),
                _ => <FabricDir as AttributeOperations<4>>::store(&dir, v),
            }
        };
        let mut page = KBox::new([0u8; kernel::page::PAGE_SIZE], GFP_KERNEL)?;
        // Bad topologies: an endpoint on a switch upstream port, a parent after its child,
        // a word that is no node, two devices below a root port.
        for bad in [
            &b"rp@0 usp@1 ep@2"[..],
            b"ep@2 rp@0",
            b"rp@0 xyz",
            b"rp@0 ep@1.0 ep@1.1",
        ] {
            check!(store(1, bad) == Err(EINVAL));
        }
        check!(store(2, b"pcie") == Err(EINVAL));
        check!(store(1, b"rp@0.0 usp@1 dsp@2.0 dsp@2.1 ep@3 ep@4 rp@0.1 ep@7").is_ok());
        let n = <FabricDir as AttributeOperations<1>>::show(&dir, &mut page)?;
        check!(page.get(..n) == Some(&b"rp@0.0.0 usp@1.0.0 dsp@2.0.0 dsp@2.1.0 ep@3.0.0 ep@4.0.0 rp@0.1.0 ep@7.0.0 \n"[..]));
        // Members only on endpoints, once each, CMBs in 2 MiB steps.
        check!(store(3, b"4") == Err(EINVAL));
        check!(store(3, b"5 5") == Err(EINVAL));
        check!(store(3, b"5:3") == Err(EINVAL));
        // ACS only on root and downstream ports, only bits they implement.
        check!(store(4, b"2=0x4") == Err(EINVAL));
        check!(store(4, b"3=0x40") == Err(EINVAL));
        check!(store(4, b"3") == Err(EINVAL));
        check!(store(3, b"5:2 6").is_ok());
        check!(store(4, b"4=0").is_ok());
        check!(store(0, b"1").is_ok());
        // Off first, whatever the checks below find.
        let devices = <FabricDir as AttributeOperations<5>>::show(&dir, &mut page);
        let lines = devices.map(|n| {
            page.get(..n)
                .map_or(0, |p| p.iter().filter(|&&c| c == b'\n').count())
        });
        // Attributes are fixed while on.
        let busy = store(3, b"5");
        check!(store(0, b"0").is_ok());
        check!(lines? == 2);
        check!(busy == Err(EBUSY));
        Ok(())
    }
}
