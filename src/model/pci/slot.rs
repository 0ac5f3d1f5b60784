// SPDX-License-Identifier: GPL-2.0

//! A PCI Express hot-plug slot on a downstream-facing port (root port or switch downstream
//! port), as the PCI Express capability's Slot Capabilities, Slot Control and Slot Status
//! registers describe it and as Linux's `pciehp` drives it (`drivers/pci/hotplug/
//! pciehp_hpc.c`).
//!
//! # Semantics
//!
//! - Slot Capabilities: Hot-Plug Capable, and as configured Attention Button Present, Power
//!   Controller Present, Attention/Power Indicator Present, Hot-Plug Surprise, No Command
//!   Completed Support, and the Physical Slot Number. No MRL sensor, no electromechanical
//!   interlock. Link Capabilities says Data Link Layer Link Active Reporting Capable, which
//!   `pciehp` relies on.
//! - Every Slot Control write is a command: unless No Command Completed Support is set,
//!   Command Completed is set in Slot Status when it is written (the command completes at
//!   once), as `pcie_write_cmd()` waits for.
//! - Power Controller Control (PCC, 0 = on) switches slot power when a power controller is
//!   present; without one the slot is always powered. Presence is the caller's
//!   ([`super::Port::slot_insert`], [`super::Port::slot_remove`]): Presence Detect State
//!   follows it and every change sets Presence Detect Changed.
//! - The link is up (Link Status DLLLA) while an adapter is present, the slot powered and
//!   Link Control's Link Disable clear; every change of it sets Data Link Layer State
//!   Changed.
//! - The Attention Button ([`super::Port::slot_press_button`]) sets Attention Button
//!   Pressed, when present.
//! - Slot Status event bits are RW1C. The hot-plug interrupt is the logical AND of Hot-Plug
//!   Interrupt Enable with the OR over each event bit AND its enable; an MSI is due when that
//!   goes from false to true ([`Notify::interrupt`]).

/// Slot Capabilities (32 bits), from the PCI Express capability start.
pub const SLTCAP: u16 = 0x14;
/// Slot Control (16 bits).
pub const SLTCTL: u16 = 0x18;
/// Slot Status (16 bits).
pub const SLTSTA: u16 = 0x1a;
/// Link Control (16 bits).
pub const LNKCTL: u16 = 0x10;
/// Link Status (16 bits).
pub const LNKSTA: u16 = 0x12;

/// Slot Capabilities: Attention Button Present.
pub const SLTCAP_ABP: u32 = 1 << 0;
/// Slot Capabilities: Power Controller Present.
pub const SLTCAP_PCP: u32 = 1 << 1;
/// Slot Capabilities: Attention Indicator Present.
pub const SLTCAP_AIP: u32 = 1 << 3;
/// Slot Capabilities: Power Indicator Present.
pub const SLTCAP_PIP: u32 = 1 << 4;
/// Slot Capabilities: Hot-Plug Surprise.
pub const SLTCAP_HPS: u32 = 1 << 5;
/// Slot Capabilities: Hot-Plug Capable.
pub const SLTCAP_HPC: u32 = 1 << 6;
/// Slot Capabilities: No Command Completed Support.
pub const SLTCAP_NCCS: u32 = 1 << 18;
/// Slot Capabilities: Physical Slot Number shift (bits 31:19).
pub const SLTCAP_PSN_SHIFT: u32 = 19;

/// Slot Control: Attention Button Pressed Enable.
pub const SLTCTL_ABPE: u16 = 1 << 0;
/// Slot Control: Power Fault Detected Enable.
pub const SLTCTL_PFDE: u16 = 1 << 1;
/// Slot Control: MRL Sensor Changed Enable.
pub const SLTCTL_MRLSCE: u16 = 1 << 2;
/// Slot Control: Presence Detect Changed Enable.
pub const SLTCTL_PDCE: u16 = 1 << 3;
/// Slot Control: Command Completed Interrupt Enable.
pub const SLTCTL_CCIE: u16 = 1 << 4;
/// Slot Control: Hot-Plug Interrupt Enable.
pub const SLTCTL_HPIE: u16 = 1 << 5;
/// Slot Control: Attention Indicator Control (bits 7:6).
pub const SLTCTL_AIC: u16 = 3 << 6;
/// Slot Control: Power Indicator Control (bits 9:8).
pub const SLTCTL_PIC: u16 = 3 << 8;
/// Slot Control: Power Controller Control (1 = power off).
pub const SLTCTL_PCC: u16 = 1 << 10;
/// Slot Control: Data Link Layer State Changed Enable.
pub const SLTCTL_DLLSCE: u16 = 1 << 12;

/// Slot Status: Attention Button Pressed.
pub const SLTSTA_ABP: u16 = 1 << 0;
/// Slot Status: Power Fault Detected.
pub const SLTSTA_PFD: u16 = 1 << 1;
/// Slot Status: MRL Sensor Changed.
pub const SLTSTA_MRLSC: u16 = 1 << 2;
/// Slot Status: Presence Detect Changed.
pub const SLTSTA_PDC: u16 = 1 << 3;
/// Slot Status: Command Completed.
pub const SLTSTA_CC: u16 = 1 << 4;
/// Slot Status: Presence Detect State.
pub const SLTSTA_PDS: u16 = 1 << 6;
/// Slot Status: Data Link Layer State Changed.
pub const SLTSTA_DLLSC: u16 = 1 << 8;
/// The RW1C event bits of Slot Status.
pub const SLTSTA_EVENTS: u16 =
    SLTSTA_ABP | SLTSTA_PFD | SLTSTA_MRLSC | SLTSTA_PDC | SLTSTA_CC | SLTSTA_DLLSC;

/// Link Control: Link Disable.
pub const LNKCTL_LD: u16 = 1 << 4;
/// Link Status: Data Link Layer Link Active.
pub const LNKSTA_DLLLA: u16 = 1 << 13;
/// Link Capabilities: Data Link Layer Link Active Reporting Capable.
pub const LNKCAP_DLLLARC: u32 = 1 << 20;

/// A slot as a profile describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotConfig {
    /// Physical Slot Number (13 bits, unique in a topology, not 0).
    pub number: u16,
    /// An attention button is present.
    pub attention_button: bool,
    /// A power controller is present (Slot Control PCC switches power).
    pub power_controller: bool,
    /// Attention and power indicators are present.
    pub indicators: bool,
    /// The adapter may be removed without notice (Hot-Plug Surprise).
    pub surprise: bool,
    /// No Command Completed Support: Slot Control writes never set Command Completed.
    pub no_command_completed: bool,
    /// An adapter is in the slot at the start (powered then, if there is a power controller).
    pub present: bool,
}

impl SlotConfig {
    /// A hot-plug slot with a power controller and indicators, no attention button,
    /// occupied.
    pub const fn hotplug(number: u16) -> SlotConfig {
        SlotConfig {
            number,
            attention_button: false,
            power_controller: true,
            indicators: true,
            surprise: false,
            no_command_completed: false,
            present: true,
        }
    }

    /// Whether the configuration is valid: a physical slot number of 1 to 8191.
    pub fn is_valid(&self) -> bool {
        (1..1 << 13).contains(&self.number)
    }

    /// The Slot Capabilities value.
    pub fn sltcap(&self) -> u32 {
        let f = |on: bool, bit: u32| if on { bit } else { 0 };
        SLTCAP_HPC
            | f(self.attention_button, SLTCAP_ABP)
            | f(self.power_controller, SLTCAP_PCP)
            | f(self.indicators, SLTCAP_AIP | SLTCAP_PIP)
            | f(self.surprise, SLTCAP_HPS)
            | f(self.no_command_completed, SLTCAP_NCCS)
            | u32::from(self.number) << SLTCAP_PSN_SHIFT
    }

    /// The Slot Control bits software may write: the enables of the events this slot has,
    /// the indicator controls if present, PCC with a power controller.
    pub fn sltctl_writable(&self) -> u16 {
        let f = |on: bool, bit: u16| if on { bit } else { 0 };
        SLTCTL_PDCE
            | SLTCTL_CCIE
            | SLTCTL_HPIE
            | SLTCTL_DLLSCE
            | f(self.attention_button, SLTCTL_ABPE)
            | f(self.indicators, SLTCTL_AIC | SLTCTL_PIC)
            | f(self.power_controller, SLTCTL_PCC)
    }
}

/// What an operation on a port asks of its caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notify {
    /// The hot-plug interrupt became pending: send the port's MSI (or assert INTx).
    pub interrupt: bool,
    /// The link went up (the device below becomes reachable) or down (it does not answer).
    pub link_changed: bool,
}

/// Whether the hot-plug interrupt condition holds for Slot Control `ctl` and Slot Status
/// `sta`.
pub fn interrupt_pending(ctl: u16, sta: u16) -> bool {
    let pairs = [
        (SLTCTL_ABPE, SLTSTA_ABP),
        (SLTCTL_PFDE, SLTSTA_PFD),
        (SLTCTL_MRLSCE, SLTSTA_MRLSC),
        (SLTCTL_PDCE, SLTSTA_PDC),
        (SLTCTL_CCIE, SLTSTA_CC),
        (SLTCTL_DLLSCE, SLTSTA_DLLSC),
    ];
    ctl & SLTCTL_HPIE != 0 && pairs.iter().any(|&(e, s)| ctl & e != 0 && sta & s != 0)
}
