// SPDX-License-Identifier: GPL-2.0

//! Hot-plug slot of the PCIe port model, driven the way Linux's pciehp does
//! (`pcie_enable_notification()`, `pciehp_power_on_slot()`/`pciehp_power_off_slot()`,
//! `pcie_write_cmd()` waiting for Command Completed, the interrupt handler clearing the
//! events it read), plus surprise removal, insertion, the attention button and Link Disable.

use nvmock_model::pci::port::*;
use nvmock_model::pci::slot::*;

fn slot_port(s: SlotConfig) -> Box<Port> {
    Box::new(
        Port::new(&PortConfig {
            kind: PortType::Downstream,
            vendor: 0x1b36,
            device: 0x000e,
            port_number: 1,
            slot: Some(s),
            acs: None,
        })
        .expect("valid port"),
    )
}

/// pciehp's view of one port.
struct Pciehp {
    p: Box<Port>,
    irqs: u32,
}

impl Pciehp {
    fn new(s: SlotConfig) -> Pciehp {
        Pciehp {
            p: slot_port(s),
            irqs: 0,
        }
    }

    fn exp(&self) -> u16 {
        self.p.exp_offset()
    }

    fn write16(&mut self, reg: u16, v: u16) -> Notify {
        let n = self
            .p
            .cfg_write(self.exp() + reg, 2, u32::from(v))
            .expect("aligned write");
        self.irqs += u32::from(n.interrupt);
        n
    }

    fn read16(&self, reg: u16) -> u16 {
        self.p.cfg_read(self.exp() + reg, 2).unwrap() as u16
    }

    /// `pcie_do_write_cmd()`: read-modify-write of Slot Control, then (unless NCCS) wait for
    /// Command Completed and clear it.
    fn cmd(&mut self, cmd: u16, mask: u16) {
        let ctl = self.read16(SLTCTL) & !mask | cmd & mask;
        self.write16(SLTCTL, ctl);
        let nccs = self.p.slot().unwrap().no_command_completed;
        let sta = self.read16(SLTSTA);
        assert_eq!(
            sta & SLTSTA_CC != 0,
            !nccs,
            "Command Completed after {ctl:#x}"
        );
        if !nccs {
            self.write16(SLTSTA, SLTSTA_CC);
            assert_eq!(self.read16(SLTSTA) & SLTSTA_CC, 0, "RW1C");
        }
    }

    /// `pcie_enable_notification()`.
    fn enable_notification(&mut self) {
        let s = *self.p.slot().unwrap();
        let mut cmd = SLTCTL_DLLSCE | SLTCTL_HPIE;
        if s.attention_button {
            cmd |= SLTCTL_ABPE;
        } else {
            cmd |= SLTCTL_PDCE;
        }
        if !s.no_command_completed {
            cmd |= SLTCTL_CCIE;
        }
        let mask = SLTCTL_PDCE
            | SLTCTL_ABPE
            | SLTCTL_PFDE
            | SLTCTL_MRLSCE
            | SLTCTL_CCIE
            | SLTCTL_HPIE
            | SLTCTL_DLLSCE;
        self.cmd(cmd, mask);
    }

    /// The interrupt handler: read Slot Status, clear the events seen.
    fn ack(&mut self) -> u16 {
        let ev = self.read16(SLTSTA) & SLTSTA_EVENTS;
        if ev != 0 {
            self.write16(SLTSTA, ev);
        }
        ev
    }

    fn link_active(&self) -> bool {
        self.read16(LNKSTA) & LNKSTA_DLLLA != 0
    }
}

#[test]
fn capabilities_as_pciehp_reads_them() {
    let h = Pciehp::new(SlotConfig {
        attention_button: true,
        surprise: true,
        ..SlotConfig::hotplug(0x1234)
    });
    let flags = h.read16(0x02);
    assert_ne!(flags & EXP_FLAGS_SLOT, 0, "Slot Implemented");
    let cap = h.p.cfg_read(h.exp() + SLTCAP, 4).unwrap();
    assert_eq!(cap >> SLTCAP_PSN_SHIFT, 0x1234, "physical slot number");
    for bit in [
        SLTCAP_HPC, SLTCAP_PCP, SLTCAP_ABP, SLTCAP_AIP, SLTCAP_PIP, SLTCAP_HPS,
    ] {
        assert_ne!(cap & bit, 0, "{bit:#x}");
    }
    assert_eq!(
        cap & (SLTCAP_NCCS | 1 << 2 | 1 << 17),
        0,
        "no NCCS, MRL, interlock"
    );
    // Occupied and powered at the start, link up, no events; indicators: power on,
    // attention off.
    assert_eq!(h.read16(SLTSTA), SLTSTA_PDS);
    let ctl = h.read16(SLTCTL);
    assert_eq!(ctl & SLTCTL_PCC, 0);
    assert_eq!(ctl & SLTCTL_PIC, 1 << 8);
    assert_eq!(ctl & SLTCTL_AIC, 3 << 6);
    assert!(h.link_active() && h.p.powered() && h.p.present());
}

#[test]
fn power_off_and_on_through_slot_control() {
    let mut h = Pciehp::new(SlotConfig::hotplug(1));
    h.enable_notification();
    assert_eq!(h.irqs, 1, "the command completion interrupt of enabling");
    // pciehp_power_off_slot(): PCC off, power indicator off.
    h.cmd(SLTCTL_PCC | 3 << 8, SLTCTL_PCC | SLTCTL_PIC);
    assert!(!h.p.powered() && !h.link_active());
    assert_eq!(h.ack(), SLTSTA_DLLSC, "link down reported");
    assert_eq!(h.read16(SLTSTA), SLTSTA_PDS, "still present");
    // pciehp_power_on_slot(): clear PFD, PCC on, indicator on.
    h.write16(SLTSTA, SLTSTA_PFD);
    h.cmd(1 << 8, SLTCTL_PCC | SLTCTL_PIC);
    assert!(h.p.powered() && h.link_active());
    assert_eq!(h.ack(), SLTSTA_DLLSC, "link up reported");
    assert_eq!(h.read16(SLTCTL) & SLTCTL_PIC, 1 << 8);
    assert!(h.irqs >= 3);
}

#[test]
fn surprise_removal_and_insertion() {
    let mut h = Pciehp::new(SlotConfig::hotplug(2));
    h.enable_notification();
    h.irqs = 0;
    let n = h.p.set_present(false).unwrap();
    assert!(n.interrupt && n.link_changed);
    assert_eq!(h.read16(SLTSTA) & SLTSTA_PDS, 0);
    assert_eq!(h.ack(), SLTSTA_PDC | SLTSTA_DLLSC);
    assert!(!h.link_active());
    // Removing again changes nothing.
    assert_eq!(h.p.set_present(false).unwrap(), Notify::default());
    assert_eq!(h.read16(SLTSTA) & SLTSTA_EVENTS, 0);
    // Insertion into a powered slot brings the link up.
    let n = h.p.set_present(true).unwrap();
    assert!(n.interrupt && n.link_changed);
    assert_eq!(h.ack(), SLTSTA_PDC | SLTSTA_DLLSC);
    assert!(h.link_active());
    assert_ne!(h.read16(SLTSTA) & SLTSTA_PDS, 0);
}

#[test]
fn insertion_into_an_unpowered_slot_waits_for_power() {
    let mut h = Pciehp::new(SlotConfig {
        present: false,
        ..SlotConfig::hotplug(3)
    });
    assert!(!h.p.powered() && !h.link_active(), "empty slot starts off");
    assert_eq!(h.read16(SLTCTL) & SLTCTL_PIC, 3 << 8);
    h.enable_notification();
    let n = h.p.set_present(true).unwrap();
    assert!(n.interrupt && !n.link_changed);
    assert_eq!(h.ack(), SLTSTA_PDC);
    h.cmd(1 << 8, SLTCTL_PCC | SLTCTL_PIC);
    assert!(h.link_active());
    assert_eq!(h.ack(), SLTSTA_DLLSC);
}

#[test]
fn interrupts_only_when_enabled_and_on_a_new_condition() {
    let mut h = Pciehp::new(SlotConfig::hotplug(4));
    // Nothing enabled: events latch but raise nothing.
    let n = h.p.set_present(false).unwrap();
    assert!(!n.interrupt);
    assert_eq!(h.read16(SLTSTA) & SLTSTA_PDC, SLTSTA_PDC);
    // Enabling PDCE + HPIE with PDC still set raises (the condition becomes true).
    let n = h.write16(SLTCTL, h.read16(SLTCTL) | SLTCTL_PDCE | SLTCTL_HPIE);
    assert!(n.interrupt);
    // While the condition holds, a new event raises no second edge.
    let n = h.p.set_present(true).unwrap();
    assert!(!n.interrupt);
    h.ack();
    // Without HPIE nothing is raised.
    h.write16(SLTCTL, h.read16(SLTCTL) & !SLTCTL_HPIE);
    h.ack();
    assert!(!h.p.set_present(false).unwrap().interrupt);
    // Writing zero to the status clears nothing, PDS is read-only.
    let sta = h.read16(SLTSTA);
    h.write16(SLTSTA, SLTSTA_PDS);
    assert_eq!(h.read16(SLTSTA) & !SLTSTA_CC, sta & !SLTSTA_CC);
}

#[test]
fn no_command_completed_support() {
    let mut h = Pciehp::new(SlotConfig {
        no_command_completed: true,
        ..SlotConfig::hotplug(5)
    });
    let cap = h.p.cfg_read(h.exp() + SLTCAP, 4).unwrap();
    assert_ne!(cap & SLTCAP_NCCS, 0);
    h.enable_notification();
    h.cmd(SLTCTL_PCC, SLTCTL_PCC);
    assert!(!h.link_active());
    assert_eq!(h.ack(), SLTSTA_DLLSC, "no CC, only the link event");
}

#[test]
fn without_power_controller_the_slot_is_always_powered() {
    let mut h = Pciehp::new(SlotConfig {
        power_controller: false,
        indicators: false,
        ..SlotConfig::hotplug(6)
    });
    h.write16(SLTCTL, SLTCTL_PCC | SLTCTL_PIC | SLTCTL_AIC);
    assert_eq!(h.read16(SLTCTL) & (SLTCTL_PCC | SLTCTL_PIC | SLTCTL_AIC), 0);
    assert!(h.p.powered() && h.link_active());
    h.ack();
    h.p.set_present(false).unwrap();
    assert!(!h.link_active());
    h.p.set_present(true).unwrap();
    assert!(h.link_active());
}

#[test]
fn attention_button() {
    let mut h = Pciehp::new(SlotConfig {
        attention_button: true,
        ..SlotConfig::hotplug(7)
    });
    h.enable_notification();
    h.irqs = 0;
    let n = h.p.slot_press_button().unwrap();
    assert!(n.interrupt && !n.link_changed);
    assert_eq!(h.ack(), SLTSTA_ABP);
    let mut plain = Pciehp::new(SlotConfig::hotplug(8));
    assert_eq!(plain.p.slot_press_button(), Err(PortError::NoSlot));
    plain.write16(SLTCTL, SLTCTL_ABPE);
    assert_eq!(
        plain.read16(SLTCTL) & SLTCTL_ABPE,
        0,
        "no button, no enable"
    );
}

#[test]
fn link_disable_takes_the_link_down() {
    let mut h = Pciehp::new(SlotConfig::hotplug(10));
    h.enable_notification();
    let n = h.write16(LNKCTL, LNKCTL_LD);
    assert!(n.link_changed && n.interrupt);
    assert!(!h.link_active());
    assert_eq!(h.ack(), SLTSTA_DLLSC);
    let n = h.write16(LNKCTL, 0);
    assert!(n.link_changed);
    assert!(h.link_active());
}

#[test]
fn intx_is_a_level_held_until_the_events_are_cleared() {
    let mut h = Pciehp::new(SlotConfig::hotplug(6));
    assert!(!h.p.intx_asserted(), "nothing enabled, nothing pending");
    h.enable_notification();
    assert!(
        !h.p.intx_asserted(),
        "the enabling command's completion was cleared"
    );
    // Two events, the second while the first is still pending: one level, no second edge.
    assert!(h.p.set_present(false).unwrap().interrupt);
    assert!(h.p.intx_asserted());
    assert!(!h.p.set_present(true).unwrap().interrupt);
    // A handler that clears only what it read before the second event leaves the line
    // asserted (INTx is a level: the interrupt comes again).
    h.write16(SLTSTA, SLTSTA_PDC);
    assert!(h.p.intx_asserted(), "DLLSC still pending");
    // Interrupt Disable in the Command register deasserts it without clearing anything.
    let cmd = h.p.cfg_read(0x04, 2).unwrap() as u16;
    h.p.cfg_write(0x04, 2, u32::from(cmd | 0x0400)).unwrap();
    assert!(!h.p.intx_asserted());
    assert_ne!(h.read16(SLTSTA) & SLTSTA_EVENTS, 0);
    h.p.cfg_write(0x04, 2, u32::from(cmd)).unwrap();
    assert!(h.p.intx_asserted());
    h.ack();
    assert!(!h.p.intx_asserted());
}

#[test]
fn secondary_bus_reset_takes_the_link_down_while_asserted() {
    let mut h = Pciehp::new(SlotConfig::hotplug(11));
    h.enable_notification();
    // Bridge Control (0x3e), Secondary Bus Reset (bit 6), as pci_reset_secondary_bus() sets
    // and clears it.
    let ctl = h.p.cfg_read(0x3e, 2).unwrap();
    let n = h.p.cfg_write(0x3e, 2, ctl | 0x40).unwrap();
    assert!(h.p.bus_reset_asserted());
    assert!(
        n.link_changed && !h.link_active(),
        "a hot reset takes the link down"
    );
    assert_eq!(h.ack(), SLTSTA_DLLSC);
    let n = h.p.cfg_write(0x3e, 2, ctl).unwrap();
    assert!(n.link_changed && h.link_active(), "and it trains again");
    assert_eq!(h.ack(), SLTSTA_DLLSC);
    assert_ne!(
        h.read16(SLTSTA) & SLTSTA_PDS,
        0,
        "the adapter stays present"
    );
}
