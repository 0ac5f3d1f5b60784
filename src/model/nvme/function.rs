// SPDX-License-Identifier: GPL-2.0

//! The NVMe controller as a PCI function: its configuration space.
//!
//! Class 01h/08h/02h (mass storage, non-volatile memory, NVM Express), BAR0 a 64-bit
//! non-prefetchable memory BAR holding the registers and doorbells, INTA, and two
//! capabilities: PCI Power Management (D0 only) and PCI Express (version 2, a root complex
//! integrated endpoint, since the function sits directly on a root bus without a root port),
//! and, when the profile asks for it ([`add_msix`]), MSI-X with its table and Pending Bit Array
//! in BAR0 after the doorbells, each in a 4 KiB page of its own, as real controllers keep them
//! (see [`super::msix`]). INTx stays: it is what the function uses while MSI-X is disabled.
//!
//! # Function Level Reset and Memory Space Enable
//!
//! The function supports Function Level Reset (PCI Express Base Specification r6.0, §6.6.2;
//! NVMe requires it of PCIe controllers). Device Capabilities advertises it (bit 28); software
//! initiates it by writing 1 to Initiate Function Level Reset (Device Control bit 15), which
//! always reads 0 (§7.5.3.4). [`config_write`] reports the write, and the reset then has two
//! halves:
//!
//! - the configuration space ([`reset_config`]): every register software can change goes back
//!   to its power-on value (Command, the Status error bits, cache line size, latency timer,
//!   interrupt line, the BAR addresses, PMCSR, Device Control, Device Control 2, MSI-X Message
//!   Control), except what §6.6.2 says an FLR must leave alone: the link's state and the
//!   registers that control the link (Link Control here) and Max_Payload_Size in Device
//!   Control. The function has no sticky (RWS, RW1CS) registers, and its HwInit fields are
//!   read-only here, so nothing else is kept;
//! - the controller ([`reset_controller`]): a Controller Level Reset as the NVMe base
//!   specification 2.0 (§3.7.2) has it for a PCIe FLR: queues deleted, commands not completed
//!   (their completions are never posted), and every controller register back to its default,
//!   CC, AQA, ASQ, ACQ and the CMB's and PMR's controls included; namespaces and their data
//!   stay (NVM subsystem state), as do the logs and firmware slots.
//!
//! Device Status' Transactions Pending bit (bit 5) is the caller's to report: [`config_read`]
//! shows it while the caller says the function has requests of its own outstanding (a
//! controller pass that reads host memory), so that software waiting for it before an FLR
//! (§6.6.2 asks it to) sees the function quiesce once Bus Master Enable is clear.
//!
//! The Command register's Memory Space Enable (bit 1) decides whether BAR0 decodes host
//! accesses: [`config_write`] reports every change of it, and the caller makes BAR0 read all
//! ones and drop writes while it is clear (PCI Local Bus 3.0 §6.2.2: with it clear the function
//! does not respond to memory accesses, which a root complex completes with all ones).
//!
//! Power Management: PMCSR's No_Soft_Reset (bit 3) is set, as NVMe controllers commonly do:
//! going to D3hot and back to D0 keeps the function's state, which is what this model does
//! (it only records PowerState), so Linux offers no `pm` reset method that would reset nothing.

use super::super::pcicfg::{Bar, CfgError, ConfigSpace, Header, PCI_COMMAND, PCI_COMMAND_MEMORY};
use super::ctrl::Controller;
use super::msix::{Layout, MsixError};
use super::params::Params;
use super::regs;

/// The class code of an NVM Express I/O controller.
pub const CLASS_NVME: u32 = 0x01_08_02;
/// PCI capability ID: Power Management.
pub const CAP_ID_PM: u8 = 0x01;
/// PCI capability ID: PCI Express.
pub const CAP_ID_EXP: u8 = 0x10;
/// PCI Express capability version 2, device/port type 1001b (RC integrated endpoint).
const EXP_FLAGS: u16 = 2 | 0x9 << 4;

/// PCI Express capability: Device Capabilities (32 bits), from the capability's start.
pub const EXP_DEVCAP: u16 = 0x04;
/// PCI Express capability: Device Control (16 bits).
pub const EXP_DEVCTL: u16 = 0x08;
/// PCI Express capability: Device Status (16 bits).
pub const EXP_DEVSTA: u16 = 0x0a;
/// PCI Express capability: Link Control (16 bits).
pub const EXP_LNKCTL: u16 = 0x10;
/// PCI Express capability: Device Control 2 (16 bits).
pub const EXP_DEVCTL2: u16 = 0x28;
/// Device Capabilities: Function Level Reset Capability.
pub const DEVCAP_FLR: u32 = 1 << 28;
/// Device Capabilities: Role-Based Error Reporting, which every device after PCI Express 1.0a
/// sets (Linux keeps ASPM off on a link with a device without it: "pre-1.1 PCIe device").
pub const DEVCAP_RBER: u32 = 1 << 15;
/// Device Control: Initiate Function Level Reset (writes of 1 only; reads 0).
pub const DEVCTL_BCR_FLR: u16 = 1 << 15;
/// Device Control: Max_Payload_Size (bits 7:5), which an FLR keeps.
pub const DEVCTL_PAYLOAD: u16 = 0x00e0;
/// Device Status: Transactions Pending.
pub const DEVSTA_TRPND: u16 = 1 << 5;
/// Power Management capability: PMCSR (16 bits), from the capability's start.
pub const PM_CTRL: u16 = 0x04;
/// PMCSR: No_Soft_Reset.
pub const PM_CTRL_NO_SOFT_RESET: u16 = 1 << 3;

/// The identity of the function: vendor and device IDs come from `p` and `device`.
pub fn header(p: &Params, device: u16) -> Header {
    Header {
        vendor: p.vendor_id(),
        device,
        class: CLASS_NVME,
        revision: 0,
        subsys_vendor: p.subsystem_vendor_id(),
        subsys_id: device,
        interrupt_pin: 1,
    }
}

/// Sets up `cs` (already reset with [`header`]) as the NVMe function with a BAR0 of
/// `bar0_size` bytes (see [`super::Controller::bar_size`]).
pub fn setup(cs: &mut ConfigSpace, bar0_size: u64) -> Result<(), CfgError> {
    cs.set_bar(
        0,
        Bar::Mem64 {
            size: bar0_size,
            prefetchable: false,
        },
    )?;

    // Power Management, version 3 (PMC), D0 (PMCSR): PowerState is writable but only D0 is
    // supported (no D1/D2 bits), which is what Linux expects of a device it never suspends.
    let mut pm = [0u8; 6];
    pm[0..2].copy_from_slice(&3u16.to_le_bytes());
    // PMCSR: No_Soft_Reset (read-only), see the module documentation.
    pm[2..4].copy_from_slice(&PM_CTRL_NO_SOFT_RESET.to_le_bytes());
    let mut pm_w = [0u8; 6];
    pm_w[2] = 0x03;
    cs.add_capability(CAP_ID_PM, &pm, &pm_w)?;

    // PCI Express, 0x3c bytes in all (0x3a after ID and next pointer). Offsets below are from
    // the capability start, minus 2 for the body.
    let mut exp = [0u8; 0x3a];
    let mut exp_w = [0u8; 0x3a];
    let body = |off: usize| off - 2;
    exp[body(0x02)..body(0x04)].copy_from_slice(&EXP_FLAGS.to_le_bytes());
    // DevCap: 128-byte max payload, no phantom functions, no extended tags; Role-Based Error
    // Reporting; Function Level Reset.
    exp[body(0x04)..body(0x08)].copy_from_slice(&(DEVCAP_RBER | DEVCAP_FLR).to_le_bytes());
    // DevCtl (0x08): the enables, max payload/read request sizes. Initiate FLR (bit 15) is
    // not stored: it reads 0, and `config_write` sees it written.
    exp_w[body(0x08)..body(0x0a)].copy_from_slice(&(!DEVCTL_BCR_FLR).to_le_bytes());
    // LnkCap (0x0c): 2.5 GT/s, x1. LnkSta (0x12): the same, negotiated.
    exp[body(0x0c)..body(0x10)].copy_from_slice(&0x0000_0011u32.to_le_bytes());
    exp[body(0x12)..body(0x14)].copy_from_slice(&0x0011u16.to_le_bytes());
    // LnkCtl (0x10): ASPM control and the clock bits.
    exp_w[body(0x10)..body(0x12)].copy_from_slice(&0x01c3u16.to_le_bytes());
    // DevCtl2 (0x28): completion timeout value/disable, AtomicOp/IDO/LTR/10-bit tag enables.
    exp_w[body(0x28)..body(0x2a)].copy_from_slice(&0x1f5fu16.to_le_bytes());
    // LnkCap2 (0x2c): 2.5 GT/s supported.
    exp[body(0x2c)..body(0x30)].copy_from_slice(&0x0000_0002u32.to_le_bytes());
    cs.add_capability(CAP_ID_EXP, &exp, &exp_w)?;
    Ok(())
}

/// The MSI-X layout of an NVMe function with `vectors` table entries whose registers and
/// doorbells end at `regs_end` in a BAR0 of `bar0_size` bytes: the table at the next 4 KiB
/// boundary, the PBA at the 4 KiB boundary after the table.
pub fn msix_layout(vectors: u16, regs_end: u64, bar0_size: u64) -> Result<Layout, MsixError> {
    const PAGE: u64 = 0x1000;
    let table = regs_end.div_ceil(PAGE) * PAGE;
    let pba = (table + u64::from(vectors) * super::msix::ENTRY_SIZE).div_ceil(PAGE) * PAGE;
    let (Ok(t), Ok(p)) = (u32::try_from(table), u32::try_from(pba)) else {
        return Err(MsixError::Outside);
    };
    Layout::new(vectors, 0, t, p, bar0_size)
}

/// Adds the MSI-X capability of `layout` to `cs` (set up by [`setup`]) and returns its offset.
pub fn add_msix(cs: &mut ConfigSpace, layout: &Layout) -> Result<u8, CfgError> {
    layout.add_capability(cs)
}

/// Adds the BAR that holds a CMB or PMR ([`super::cmb`], [`super::pmr`]): BAR `bir` (2 or 4,
/// with its upper half in the next slot), a 64-bit prefetchable memory BAR of `size` bytes,
/// as QEMU's and real controllers place theirs. BAR0 keeps its layout.
pub fn add_memory_bar(cs: &mut ConfigSpace, bir: u8, size: u64) -> Result<(), CfgError> {
    if !matches!(bir, 2 | 4) {
        return Err(CfgError::BadBar);
    }
    cs.set_bar(
        usize::from(bir),
        Bar::Mem64 {
            size,
            prefetchable: true,
        },
    )
}

/// The offset of the PCI Express capability of a function set up by [`setup`].
fn exp(cs: &ConfigSpace) -> Option<u16> {
    cs.find_capability(CAP_ID_EXP).map(u16::from)
}

/// What a configuration write did besides changing registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Memory Space Enable changed: its new value (BAR0 decodes only while it is set).
    pub memory_space: Option<bool>,
    /// Software initiated a Function Level Reset: the configuration space is already reset
    /// ([`reset_config`]); the caller resets the controller ([`reset_controller`]) and BAR0.
    pub flr: bool,
}

/// A configuration write by software: `size` (1, 2 or 4) bytes of `value` at `offset` of the
/// function's space `cs`, whose power-on state is `initial` (a copy the caller keeps, see
/// [`ConfigSpace::clone_in_place`]). A write of 1 to Initiate Function Level Reset, in a
/// write of any size that covers it, resets the configuration space after the write.
pub fn config_write(
    cs: &mut ConfigSpace,
    initial: &ConfigSpace,
    offset: u16,
    size: u8,
    value: u32,
) -> Result<Effects, CfgError> {
    let before = cs.command();
    cs.write(offset, size, value)?;
    // Initiate FLR is bit 7 of Device Control's upper byte.
    let flr = exp(cs).is_some_and(|e| {
        let byte = e + EXP_DEVCTL + 1;
        let covered = (offset..offset + u16::from(size)).contains(&byte);
        covered && (value >> (8 * (byte - offset))) & 0x80 != 0
    });
    if flr {
        reset_config(cs, initial)?;
    }
    let after = cs.command();
    let memory_space =
        ((before ^ after) & PCI_COMMAND_MEMORY != 0).then_some(after & PCI_COMMAND_MEMORY != 0);
    Ok(Effects { memory_space, flr })
}

/// A configuration read by software of `size` bytes at `offset`: the registers, with Device
/// Status' Transactions Pending set while `transactions_pending` (the function has requests of
/// its own outstanding).
pub fn config_read(
    cs: &ConfigSpace,
    offset: u16,
    size: u8,
    transactions_pending: bool,
) -> Result<u32, CfgError> {
    let v = cs.read(offset, size)?;
    let Some(sta) = exp(cs).map(|e| e + EXP_DEVSTA) else {
        return Ok(v);
    };
    if !transactions_pending || !(offset..offset + u16::from(size)).contains(&sta) {
        return Ok(v);
    }
    Ok(v | u32::from(DEVSTA_TRPND) << (8 * (sta - offset)))
}

/// The configuration-space half of a Function Level Reset (see the module documentation):
/// `cs` back to `initial` but for the link's registers and Max_Payload_Size.
pub fn reset_config(cs: &mut ConfigSpace, initial: &ConfigSpace) -> Result<(), CfgError> {
    let Some(e) = exp(cs) else {
        return cs.reset_to(initial, &[]);
    };
    cs.reset_to(
        initial,
        &[
            (e + EXP_DEVCTL, 2, DEVCTL_PAYLOAD.into()),
            (e + EXP_LNKCTL, 2, 0xffff),
        ],
    )
}

/// The controller half of a Function Level Reset (see the module documentation): what
/// CC.EN 1 -> 0 does (queues deleted, outstanding commands and held completions dropped
/// without a completion, features and Asynchronous Event Requests reset, committed firmware
/// activated), then CC, AQA, ASQ, ACQ and INTMS cleared and the CMB's and PMR's controls at
/// their power-on values ([`super::Cmb::power_on`], [`super::Pmr::power_on`]). Namespaces,
/// their data, logs and firmware slots stay.
pub fn reset_controller<const QUEUES: usize>(ctrl: &mut Controller<QUEUES>) {
    // A 4-byte aligned write of CC is always accepted; from any enabled state it is the
    // controller reset, and CC reads 0 after it.
    let _ = ctrl.mmio_write(regs::CC, 4, 0);
    ctrl.cc = 0;
    ctrl.aqa = 0;
    ctrl.asq = 0;
    ctrl.acq = 0;
    ctrl.intms = 0;
    ctrl.held_irqs = 0;
    if let Some(c) = ctrl.devmem.cmb.as_mut() {
        c.power_on();
    }
    if let Some(p) = ctrl.devmem.pmr.as_mut() {
        p.power_on();
    }
}

/// Whether the Command register's Memory Space Enable is set in `cs`.
pub fn memory_space(cs: &ConfigSpace) -> bool {
    cs.read(PCI_COMMAND, 2).unwrap_or(0) as u16 & PCI_COMMAND_MEMORY != 0
}
