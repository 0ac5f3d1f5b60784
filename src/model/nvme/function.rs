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

use super::super::pcicfg::{Bar, CfgError, ConfigSpace, Header};
use super::msix::{Layout, MsixError};
use super::params::Params;

/// The class code of an NVM Express I/O controller.
pub const CLASS_NVME: u32 = 0x01_08_02;
/// PCI capability ID: Power Management.
pub const CAP_ID_PM: u8 = 0x01;
/// PCI capability ID: PCI Express.
pub const CAP_ID_EXP: u8 = 0x10;
/// PCI Express capability version 2, device/port type 1001b (RC integrated endpoint).
const EXP_FLAGS: u16 = 2 | 0x9 << 4;

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
    let mut pm_w = [0u8; 6];
    pm_w[2] = 0x03;
    cs.add_capability(CAP_ID_PM, &pm, &pm_w)?;

    // PCI Express, 0x3c bytes in all (0x3a after ID and next pointer). Offsets below are from
    // the capability start, minus 2 for the body.
    let mut exp = [0u8; 0x3a];
    let mut exp_w = [0u8; 0x3a];
    let body = |off: usize| off - 2;
    exp[body(0x02)..body(0x04)].copy_from_slice(&EXP_FLAGS.to_le_bytes());
    // DevCap: 128-byte max payload, no phantom functions, no extended tags (all zero).
    // DevCtl (0x08): the enables, max payload/read request sizes.
    exp_w[body(0x08)..body(0x0a)].copy_from_slice(&0x7fffu16.to_le_bytes());
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
