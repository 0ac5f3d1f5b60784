// SPDX-License-Identifier: GPL-2.0

//! PCIe port model: the type-1 header (bus numbers, windows), the PCI Express capability of
//! each port type, ACS, refused configurations, and pcicfg's bridge and extended-capability
//! support underneath.

use nvmock_model::pci::acs::*;
use nvmock_model::pci::port::*;
use nvmock_model::pci::slot::*;
use nvmock_model::pcicfg::*;
use std::mem::MaybeUninit;

fn cfg(kind: PortType) -> PortConfig {
    PortConfig {
        kind,
        vendor: 0x1b36,
        device: 0x000c,
        port_number: 3,
        slot: None,
        acs: None,
    }
}

fn port(c: &PortConfig) -> Box<Port> {
    Box::new(Port::new(c).expect("valid port"))
}

#[test]
fn bridge_header_and_bus_numbers() {
    let mut p = port(&cfg(PortType::RootPort));
    assert_eq!(p.cfg_read(PCI_HEADER_TYPE, 1).unwrap(), 1);
    assert_eq!(
        p.cfg_read(PCI_CLASS_REVISION, 4).unwrap() >> 8,
        CLASS_BRIDGE_PCI
    );
    assert_eq!(p.buses(), (0, 0, 0));
    assert!(!p.decodes_bus(0), "secondary 0: nothing below yet");
    p.cfg_write(PCI_PRIMARY_BUS, 4, 0x00_05_02_01).unwrap();
    assert_eq!(p.buses(), (1, 2, 5));
    assert!(p.decodes_bus(2) && p.decodes_bus(5));
    assert!(!p.decodes_bus(1) && !p.decodes_bus(6));
    // No I/O window, no ROM: read-only zero.
    p.cfg_write(PCI_IO_BASE, 2, 0xffff).unwrap();
    p.cfg_write(PCI_ROM_ADDRESS1, 4, !0).unwrap();
    assert_eq!(p.cfg_read(PCI_IO_BASE, 2).unwrap(), 0);
    assert_eq!(p.cfg_read(PCI_ROM_ADDRESS1, 4).unwrap(), 0);
    // Secondary status error bits are RW1C, bridge control writable where modelled.
    p.cfg_write(PCI_BRIDGE_CONTROL, 2, 0xffff).unwrap();
    assert_eq!(
        p.cfg_read(PCI_BRIDGE_CONTROL, 2).unwrap(),
        u32::from(PCI_BRIDGE_CTL_WRITABLE)
    );
    assert!(p.bus_reset_asserted());
}

#[test]
fn windows_forward_memory_requests() {
    let mut p = port(&cfg(PortType::Downstream));
    p.cfg_write(PCI_MEMORY_BASE, 2, 0xfe00).unwrap();
    p.cfg_write(PCI_MEMORY_LIMIT, 2, 0xfe1f).unwrap();
    assert_eq!(p.memory_window(), Some((0xfe00_0000, 0xfe1f_ffff)));
    // 64-bit prefetchable: type bits read 1 in base and limit.
    assert_eq!(p.cfg_read(PCI_PREF_MEMORY_BASE, 2).unwrap() & 0xf, 1);
    p.cfg_write(PCI_PREF_MEMORY_BASE, 2, 0x0000).unwrap();
    p.cfg_write(PCI_PREF_MEMORY_LIMIT, 2, 0x03f0).unwrap();
    p.cfg_write(PCI_PREF_BASE_UPPER32, 4, 0x40).unwrap();
    p.cfg_write(PCI_PREF_LIMIT_UPPER32, 4, 0x40).unwrap();
    assert_eq!(p.prefetch_window(), Some((0x40_0000_0000, 0x40_03ff_ffff)));
    assert!(!p.forwards(0x40_0000_1000), "memory space disabled");
    p.cfg_write(PCI_COMMAND, 2, u32::from(PCI_COMMAND_MEMORY))
        .unwrap();
    assert!(p.forwards(0x40_0000_1000));
    assert!(p.forwards(0xfe10_0000));
    assert!(!p.forwards(0xfe20_0000));
    assert!(!p.forwards(0x40_0400_0000));
    // Linux closes a window by writing base above limit.
    p.cfg_write(PCI_MEMORY_BASE, 2, 0xfff0).unwrap();
    p.cfg_write(PCI_MEMORY_LIMIT, 2, 0x0000).unwrap();
    assert_eq!(p.memory_window(), None);
    assert!(!p.forwards(0xfe10_0000));
}

#[test]
fn express_capability_per_port_type() {
    for (kind, t) in [
        (PortType::RootPort, 4),
        (PortType::Upstream, 5),
        (PortType::Downstream, 6),
    ] {
        let p = port(&cfg(kind));
        let exp = p
            .config()
            .find_capability(CAP_ID_EXP)
            .expect("PCIe capability");
        assert_eq!(u16::from(exp), p.exp_offset());
        let flags = p.cfg_read(u16::from(exp) + 2, 2).unwrap();
        assert_eq!(flags & 0xf, 2, "version");
        assert_eq!(flags >> 4 & 0xf, t, "{kind:?}");
        assert_eq!(flags & u32::from(EXP_FLAGS_SLOT), 0, "no slot");
        let devcap = p.cfg_read(u16::from(exp) + 0x04, 4).unwrap();
        assert_eq!(
            devcap, DEVCAP_RBER,
            "Role-Based Error Reporting, nothing else"
        );
        let lnkcap = p.cfg_read(u16::from(exp) + 0x0c, 4).unwrap();
        assert_eq!(lnkcap >> 24, 3, "port number");
        assert_eq!(
            lnkcap & LNKCAP_DLLLARC != 0,
            kind.faces_downstream(),
            "DLL link active reporting on downstream-facing ports"
        );
        // Nothing below a root or downstream port yet: link down; upstream ports' links up.
        assert_eq!(p.link_up(), !kind.faces_downstream());
        assert_eq!(p.config().find_ext_capability(EXT_CAP_ID_ACS), None);
    }
}

#[test]
fn link_follows_presence_and_link_disable() {
    let mut p = port(&cfg(PortType::RootPort));
    let n = p.set_present(true).unwrap();
    assert!(n.link_changed && !n.interrupt);
    assert!(p.link_up());
    let exp = p.exp_offset();
    p.cfg_write(exp + LNKCTL, 2, u32::from(LNKCTL_LD)).unwrap();
    assert!(!p.link_up());
    p.cfg_write(exp + LNKCTL, 2, 0).unwrap();
    assert!(p.link_up());
    // Upstream ports ignore presence.
    let mut u = port(&cfg(PortType::Upstream));
    assert_eq!(u.set_present(false).unwrap(), Notify::default());
    assert!(u.link_up());
}

#[test]
fn acs_controls_settable_where_implemented() {
    let mut c = cfg(PortType::Downstream);
    c.acs = Some(AcsConfig::DOWNSTREAM);
    let mut p = port(&c);
    let off = p.acs_offset().unwrap();
    assert_eq!(off, PCI_EXT_CAP_START);
    assert_eq!(p.config().find_ext_capability(EXT_CAP_ID_ACS), Some(off));
    let hdr = p.cfg_read(off, 4).unwrap();
    assert_eq!((hdr & 0xffff, hdr >> 16 & 0xf, hdr >> 20), (0xd, 1, 0));
    assert_eq!(
        p.cfg_read(off + ACS_CAP, 2).unwrap(),
        u32::from(ACS_SV | ACS_RR | ACS_CR | ACS_UF)
    );
    assert_eq!(p.acs_control(), 0);
    assert!(!p.acs_blocks_p2p());
    p.cfg_write(off + ACS_CTRL, 2, 0xffff).unwrap();
    assert_eq!(p.acs_control(), ACS_SV | ACS_RR | ACS_CR | ACS_UF);
    assert!(p.acs_blocks_p2p());
    p.cfg_write(off + ACS_CTRL, 2, u32::from(ACS_SV | ACS_UF))
        .unwrap();
    assert!(
        !p.acs_blocks_p2p(),
        "source validation and upstream forwarding allow P2P"
    );
    p.cfg_write(off + ACS_CTRL, 2, u32::from(ACS_CR)).unwrap();
    assert!(p.acs_blocks_p2p());
}

#[test]
fn acs_egress_control_vector() {
    let mut c = cfg(PortType::RootPort);
    c.acs = Some(AcsConfig {
        capabilities: ACS_ALL,
        egress_bits: 40,
    });
    let mut p = port(&c);
    let off = p.acs_offset().unwrap();
    assert_eq!(p.cfg_read(off + ACS_CAP, 2).unwrap(), 0x7f | 40 << 8);
    p.cfg_write(off + ACS_EGRESS_VECTOR, 4, !0).unwrap();
    p.cfg_write(off + ACS_EGRESS_VECTOR + 4, 4, !0).unwrap();
    assert_eq!(p.cfg_read(off + ACS_EGRESS_VECTOR, 4).unwrap(), !0);
    assert_eq!(p.cfg_read(off + ACS_EGRESS_VECTOR + 4, 4).unwrap(), 0xff);
    p.cfg_write(off + ACS_CTRL, 2, u32::from(ACS_EC)).unwrap();
    assert!(p.acs_blocks_p2p());
    // 256 bits are encoded as 00h.
    c.acs = Some(AcsConfig {
        capabilities: ACS_EC,
        egress_bits: 256,
    });
    let p = port(&c);
    let off = p.acs_offset().unwrap();
    assert_eq!(p.cfg_read(off + ACS_CAP, 2).unwrap(), u32::from(ACS_EC));
}

#[test]
fn refused_configurations() {
    let mut up = cfg(PortType::Upstream);
    up.slot = Some(SlotConfig::hotplug(1));
    assert_eq!(Port::new(&up).err(), Some(PortError::SlotOnUpstream));
    let mut up = cfg(PortType::Upstream);
    up.acs = Some(AcsConfig::DOWNSTREAM);
    assert_eq!(Port::new(&up).err(), Some(PortError::AcsOnUpstream));
    let mut c = cfg(PortType::RootPort);
    c.slot = Some(SlotConfig::hotplug(0));
    assert_eq!(Port::new(&c).err(), Some(PortError::BadSlot));
    c.slot = Some(SlotConfig::hotplug(8192));
    assert_eq!(Port::new(&c).err(), Some(PortError::BadSlot));
    let mut c = cfg(PortType::Downstream);
    for bad in [
        AcsConfig {
            capabilities: 0x80,
            egress_bits: 0,
        },
        AcsConfig {
            capabilities: ACS_EC,
            egress_bits: 0,
        },
        AcsConfig {
            capabilities: ACS_EC,
            egress_bits: 257,
        },
        AcsConfig {
            capabilities: ACS_RR,
            egress_bits: 8,
        },
    ] {
        c.acs = Some(bad);
        assert_eq!(Port::new(&c).err(), Some(PortError::BadAcs), "{bad:?}");
    }
    let mut c = cfg(PortType::RootPort);
    c.vendor = 0xffff;
    assert_eq!(
        Port::new(&c).err(),
        Some(PortError::Cfg(CfgError::BadHeader))
    );
    let mut p = port(&cfg(PortType::RootPort));
    assert_eq!(p.slot_press_button().err(), Some(PortError::NoSlot));
}

#[test]
fn init_in_place_matches_new() {
    let mut c = cfg(PortType::Downstream);
    c.slot = Some(SlotConfig::hotplug(9));
    c.acs = Some(AcsConfig::DOWNSTREAM);
    let a = port(&c);
    let mut slot = Box::new(MaybeUninit::<Port>::uninit());
    let b = Port::init_in_place(&mut slot, &c).unwrap();
    assert!(a.config().raw()[..] == b.config().raw()[..]);
    assert_eq!(
        (a.link_up(), a.present(), a.acs_offset()),
        (b.link_up(), b.present(), b.acs_offset())
    );
    let mut bad = c;
    bad.kind = PortType::Upstream;
    let mut slot = Box::new(MaybeUninit::<Port>::uninit());
    assert!(Port::init_in_place(&mut slot, &bad).is_err());
}

fn function() -> ConfigSpace {
    ConfigSpace::new(&Header {
        vendor: 0x1b36,
        device: 1,
        class: 0x060400,
        revision: 0,
        subsys_vendor: 0x1af4,
        subsys_id: 7,
        interrupt_pin: 1,
    })
    .unwrap()
}

#[test]
fn pcicfg_bridge_header_rules() {
    let mut cs = function();
    cs.set_bar(
        2,
        Bar::Mem32 {
            size: 0x1000,
            prefetchable: false,
        },
    )
    .unwrap();
    assert_eq!(cs.make_bridge(), Err(CfgError::HeaderType));
    cs.set_bar(2, Bar::Unused).unwrap();
    cs.make_bridge().unwrap();
    assert!(cs.is_bridge());
    assert_eq!(cs.make_bridge(), Err(CfgError::HeaderType));
    // The type-0 subsystem IDs are gone (that dword is the prefetchable upper limit now).
    assert_eq!(cs.read(PCI_SUBSYSTEM_VENDOR_ID, 4).unwrap(), 0);
    let b = Bar::Mem32 {
        size: 0x1000,
        prefetchable: false,
    };
    assert_eq!(cs.set_bar(2, b), Err(CfgError::HeaderType));
    let b64 = Bar::Mem64 {
        size: 0x1000,
        prefetchable: false,
    };
    assert_eq!(cs.set_bar(1, b64), Err(CfgError::HeaderType));
    cs.set_bar(0, b64).unwrap();
    assert_eq!(cs.bar(0).unwrap(), b64);
}

#[test]
fn pcicfg_extended_capabilities_chain() {
    let mut cs = function();
    let a = cs.add_ext_capability(0x0001, 2, &[1, 2, 3], &[]).unwrap();
    let b = cs
        .add_ext_capability(0x000d, 1, &[0; 8], &[0xff; 8])
        .unwrap();
    assert_eq!(
        (a, b),
        (0x100, 0x108),
        "dword aligned after a 7-byte capability"
    );
    assert_eq!(
        cs.read(0x100, 4).unwrap(),
        0x1082_0001,
        "next pointer linked"
    );
    assert_eq!(cs.find_ext_capability(0x000d), Some(0x108));
    assert_eq!(cs.find_ext_capability(0x0001), Some(0x100));
    assert_eq!(cs.find_ext_capability(0x0002), None);
    cs.write(0x10c, 4, 0xdead_beef).unwrap();
    assert_eq!(cs.read(0x10c, 4).unwrap(), 0xdead_beef);
    cs.write(0x104, 2, 0xffff).unwrap();
    assert_eq!(cs.read(0x104, 2).unwrap(), 0x0201, "read-only body");
    assert_eq!(
        cs.add_ext_capability(1, 16, &[], &[]),
        Err(CfgError::BadAccess)
    );
    assert_eq!(
        cs.add_ext_capability(1, 1, &[0; 4000], &[]),
        Err(CfgError::NoSpace)
    );
    // RW1C marks only inside capabilities.
    assert_eq!(cs.mark_rw1c(0x20, &[0xff]), Err(CfgError::BadAccess));
    assert_eq!(cs.mark_rw1c(0x200, &[0xff]), Err(CfgError::BadAccess));
    cs.mark_rw1c(0x10c, &[0x0f]).unwrap();
    cs.write(0x10c, 1, 0x01).unwrap();
    assert_eq!(
        cs.read(0x10c, 1).unwrap(),
        0x0e,
        "writable high nibble written, RW1C bit 0 cleared, bits 3:1 kept"
    );
    cs.device_write(0x10c, 1, 0x0f).unwrap();
    assert_eq!(cs.read(0x10c, 1).unwrap(), 0x0f);
}
