// SPDX-License-Identifier: GPL-2.0

//! A PCI Express port: a root port, or the upstream or a downstream port of a switch, as a
//! PCI-to-PCI bridge (type-1 header: bus numbers, a memory window and a 64-bit prefetchable
//! window) with a PCI Express capability of the right device/port type, and optionally a
//! hot-plug slot (root and downstream ports only, see [`super::slot`]) and the ACS extended
//! capability (root and downstream ports only, see [`super::acs`]).
//!
//! Every configuration access of the port goes through [`Port::cfg_read`] and
//! [`Port::cfg_write`]; the caller sends the port's hot-plug interrupt when a write or a slot
//! event returns [`Notify::interrupt`], and makes the device below reachable only while
//! [`Port::link_up`].

use super::super::pcicfg::{self, CfgError, ConfigSpace, Header};
use super::acs::{self, AcsConfig};
use super::slot::{self, Notify, SlotConfig};
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;

/// Class code of a PCI-to-PCI bridge (normal decode).
pub const CLASS_BRIDGE_PCI: u32 = 0x06_04_00;
/// PCI capability ID: PCI Express.
pub const CAP_ID_EXP: u8 = 0x10;
/// PCI Express Capabilities register: Slot Implemented.
pub const EXP_FLAGS_SLOT: u16 = 1 << 8;
/// Device Capabilities: Role-Based Error Reporting.
pub const DEVCAP_RBER: u32 = 1 << 15;
/// Size of the PCI Express capability (version 2) in bytes.
const EXP_SIZE: usize = 0x3c;

/// The device/port type of a port (PCI Express Capabilities register bits 7:4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortType {
    /// Root Port of a Root Complex (0100b).
    RootPort = 0x4,
    /// Upstream Port of a switch (0101b).
    Upstream = 0x5,
    /// Downstream Port of a switch (0110b).
    Downstream = 0x6,
}

impl PortType {
    /// Whether the port faces downstream (root or downstream port: it has a link to a device
    /// below and may have a slot).
    pub fn faces_downstream(self) -> bool {
        matches!(self, PortType::RootPort | PortType::Downstream)
    }
}

/// A port as a profile describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortConfig {
    /// Device/port type.
    pub kind: PortType,
    /// Vendor ID (neither 0 nor FFFFh).
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Port Number (Link Capabilities bits 31:24).
    pub port_number: u8,
    /// The hot-plug slot, for a root or downstream port.
    pub slot: Option<SlotConfig>,
    /// The ACS controls, for a root or downstream port.
    pub acs: Option<AcsConfig>,
}

/// Why a port was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortError {
    /// The configuration space refused the header or a capability.
    Cfg(CfgError),
    /// A slot on a switch upstream port (slots are on downstream-facing ports only).
    SlotOnUpstream,
    /// An invalid slot (physical slot number 0 or beyond 13 bits).
    BadSlot,
    /// ACS on a switch upstream port.
    AcsOnUpstream,
    /// Invalid ACS controls (unknown bits, or an egress vector size without egress control
    /// or the other way round).
    BadAcs,
    /// The port has no slot.
    NoSlot,
}

impl From<CfgError> for PortError {
    fn from(e: CfgError) -> Self {
        PortError::Cfg(e)
    }
}

/// A PCI Express port.
///
/// About 12 KiB (its configuration space): in the kernel, build it in place
/// ([`Port::init_in_place`]) in allocated memory.
///
/// # Invariants
///
/// - `exp` is the offset of the PCI Express capability in `cs`, `acs` that of the ACS
///   capability if there is one.
/// - `slot` is `None` for an upstream port. Slot Status PDS equals `present` for a port with
///   a slot, and Link Status DLLLA equals [`Port::link_up`]'s rule applied to the current
///   state.
pub struct Port {
    cs: ConfigSpace,
    kind: PortType,
    exp: u16,
    acs: Option<u16>,
    slot: Option<SlotConfig>,
    present: bool,
}

impl Port {
    /// Checks `c`, before anything is built.
    fn check(c: &PortConfig) -> Result<(), PortError> {
        if let Some(s) = c.slot {
            if c.kind == PortType::Upstream {
                return Err(PortError::SlotOnUpstream);
            }
            if !s.is_valid() {
                return Err(PortError::BadSlot);
            }
        }
        if let Some(a) = c.acs {
            if c.kind == PortType::Upstream {
                return Err(PortError::AcsOnUpstream);
            }
            if !a.is_valid() {
                return Err(PortError::BadAcs);
            }
        }
        Ok(())
    }

    fn header(c: &PortConfig) -> Header {
        Header {
            vendor: c.vendor,
            device: c.device,
            class: CLASS_BRIDGE_PCI,
            revision: 0,
            subsys_vendor: 0,
            subsys_id: 0,
            interrupt_pin: 1,
        }
    }

    /// The port `c` describes, on the stack (for host tests; the kernel uses
    /// [`Port::init_in_place`]).
    pub fn new(c: &PortConfig) -> Result<Port, PortError> {
        Self::check(c)?;
        let mut p = Port {
            cs: ConfigSpace::new(&Self::header(c))?,
            kind: c.kind,
            exp: 0,
            acs: None,
            slot: c.slot,
            present: false,
        };
        p.setup(c)?;
        Ok(p)
    }

    /// [`Port::new`], built directly in `slot`. Returns the initialised port.
    pub fn init_in_place<'a>(
        slot: &'a mut MaybeUninit<Self>,
        c: &PortConfig,
    ) -> Result<&'a mut Self, PortError> {
        Self::check(c)?;
        let p = slot.as_mut_ptr();
        // SAFETY: `p` is valid for writes of a `Port` (it comes from `slot`). The
        // configuration space is initialised in place through a `MaybeUninit` view of its
        // field (same layout), and every other field is written through `addr_of_mut!`,
        // without reading or dropping anything; on error the slot stays uninitialised and
        // nothing refers to it. Only then is `slot` declared initialised.
        unsafe {
            let cs = &mut *addr_of_mut!((*p).cs).cast::<MaybeUninit<ConfigSpace>>();
            ConfigSpace::init_in_place(cs, &Self::header(c))?;
            addr_of_mut!((*p).kind).write(c.kind);
            addr_of_mut!((*p).exp).write(0);
            addr_of_mut!((*p).acs).write(None);
            addr_of_mut!((*p).slot).write(c.slot);
            addr_of_mut!((*p).present).write(false);
        }
        // SAFETY: every field was written above.
        let port = unsafe { slot.assume_init_mut() };
        port.setup(c)?;
        Ok(port)
    }

    /// Makes the bridge header and adds the capabilities; the slot starts as configured.
    fn setup(&mut self, c: &PortConfig) -> Result<(), PortError> {
        self.cs.make_bridge()?;
        let mut exp = [0u8; EXP_SIZE - 2];
        let mut w = [0u8; EXP_SIZE - 2];
        let put = |a: &mut [u8; EXP_SIZE - 2], off: usize, bytes: &[u8]| {
            if let Some(d) = a.get_mut(off - 2..off - 2 + bytes.len()) {
                d.copy_from_slice(bytes);
            }
        };
        let flags = 2 | (c.kind as u16) << 4 | if c.slot.is_some() { EXP_FLAGS_SLOT } else { 0 };
        put(&mut exp, 0x02, &flags.to_le_bytes());
        // DevCap: 128-byte max payload; Role-Based Error Reporting (a PCI Express 1.1 or
        // later device: Linux keeps ASPM off on a link with one that lacks it).
        put(&mut exp, 0x04, &DEVCAP_RBER.to_le_bytes());
        // DevCtl: the enables and sizes.
        put(&mut w, 0x08, &0x7fffu16.to_le_bytes());
        // LnkCap: 2.5 GT/s x1, the port number, DLL Link Active reporting downstream.
        let dllla = if c.kind.faces_downstream() {
            slot::LNKCAP_DLLLARC
        } else {
            0
        };
        let lnkcap = 0x11 | dllla | u32::from(c.port_number) << 24;
        put(&mut exp, 0x0c, &lnkcap.to_le_bytes());
        // LnkCtl: ASPM and clock bits; Link Disable on downstream-facing ports.
        let ld = if c.kind.faces_downstream() {
            slot::LNKCTL_LD
        } else {
            0
        };
        put(&mut w, 0x10, &(0x01c3 | ld).to_le_bytes());
        put(&mut exp, 0x12, &0x0011u16.to_le_bytes());
        if let Some(s) = c.slot {
            put(&mut exp, 0x14, &s.sltcap().to_le_bytes());
            put(&mut w, 0x18, &s.sltctl_writable().to_le_bytes());
        }
        if c.kind == PortType::RootPort {
            // Root Control: the error and PME interrupt enables.
            put(&mut w, 0x1c, &0x001fu16.to_le_bytes());
        }
        put(&mut w, 0x28, &0x1f5fu16.to_le_bytes());
        put(&mut exp, 0x2c, &0x0000_0002u32.to_le_bytes());
        let off = self.cs.add_capability(CAP_ID_EXP, &exp, &w)?;
        self.exp = u16::from(off);
        if c.slot.is_some() {
            self.cs
                .mark_rw1c(self.exp + slot::SLTSTA, &slot::SLTSTA_EVENTS.to_le_bytes())?;
        }
        if let Some(a) = c.acs {
            self.acs = Some(acs::add(&mut self.cs, &a)?);
        }
        // Upstream ports' links are up (their port above made them reachable).
        if !c.kind.faces_downstream() {
            self.set_lnksta(true)?;
        }
        if let Some(s) = c.slot {
            let mut ctl = if s.present { 0 } else { slot::SLTCTL_PCC };
            if s.indicators {
                // Power indicator on (01b) or off (11b); attention indicator off.
                ctl |= slot::SLTCTL_AIC | if s.present { 1 << 8 } else { 3 << 8 };
            }
            if !s.power_controller {
                ctl &= !slot::SLTCTL_PCC;
            }
            self.cs
                .device_write(self.exp + slot::SLTCTL, 2, ctl.into())?;
            if s.present {
                self.present = true;
                let sta = self.sltsta() | slot::SLTSTA_PDS;
                self.cs
                    .device_write(self.exp + slot::SLTSTA, 2, sta.into())?;
                self.set_lnksta(true)?;
            }
        }
        Ok(())
    }

    /// The configuration space (read-only view).
    pub fn config(&self) -> &ConfigSpace {
        &self.cs
    }

    /// The device/port type.
    pub fn kind(&self) -> PortType {
        self.kind
    }

    /// The offset of the PCI Express capability.
    pub fn exp_offset(&self) -> u16 {
        self.exp
    }

    /// The offset of the ACS capability, if any.
    pub fn acs_offset(&self) -> Option<u16> {
        self.acs
    }

    /// The slot, if any.
    pub fn slot(&self) -> Option<&SlotConfig> {
        self.slot.as_ref()
    }

    /// A configuration read.
    pub fn cfg_read(&self, offset: u16, size: u8) -> Result<u32, CfgError> {
        self.cs.read(offset, size)
    }

    fn reg16(&self, off: u16) -> u16 {
        self.cs.read(self.exp + off, 2).unwrap_or(0) as u16
    }

    /// Slot Control.
    pub fn sltctl(&self) -> u16 {
        self.reg16(slot::SLTCTL)
    }

    /// Slot Status.
    pub fn sltsta(&self) -> u16 {
        self.reg16(slot::SLTSTA)
    }

    fn irq_level(&self) -> bool {
        self.slot.is_some() && slot::interrupt_pending(self.sltctl(), self.sltsta())
    }

    /// Whether the port asserts its INTx line now: the hot-plug interrupt condition holds
    /// (see [`super::slot`]) and the Command register's Interrupt Disable is clear. A level:
    /// it stays asserted until software clears the events or their enables.
    pub fn intx_asserted(&self) -> bool {
        self.irq_level() && self.cs.command() & pcicfg::PCI_COMMAND_INTX_DISABLE == 0
    }

    fn set_sltsta_bits(&mut self, bits: u16) -> Result<(), CfgError> {
        let sta = self.sltsta() | bits;
        self.cs.device_write(self.exp + slot::SLTSTA, 2, sta.into())
    }

    fn set_lnksta(&mut self, up: bool) -> Result<(), CfgError> {
        let sta = self.reg16(slot::LNKSTA) & !slot::LNKSTA_DLLLA;
        let sta = if up { sta | slot::LNKSTA_DLLLA } else { sta };
        self.cs.device_write(self.exp + slot::LNKSTA, 2, sta.into())
    }

    /// Whether the slot is powered (always, without a slot or power controller).
    pub fn powered(&self) -> bool {
        match self.slot {
            Some(s) if s.power_controller => self.sltctl() & slot::SLTCTL_PCC == 0,
            _ => true,
        }
    }

    /// Whether the link is up (Link Status DLLLA): always for an upstream port; for a
    /// downstream-facing one, while a device is present, powered, Link Disable is clear and
    /// Secondary Bus Reset is not asserted (a hot reset takes the link down).
    pub fn link_up(&self) -> bool {
        self.reg16(slot::LNKSTA) & slot::LNKSTA_DLLLA != 0
    }

    fn link_should_be_up(&self) -> bool {
        !self.kind.faces_downstream()
            || self.present
                && self.powered()
                && self.reg16(slot::LNKCTL) & slot::LNKCTL_LD == 0
                && !self.bus_reset_asserted()
    }

    /// Brings DLLLA in line with the state; on a change sets DLLSC (with a slot). Returns
    /// whether it changed.
    fn update_link(&mut self) -> Result<bool, CfgError> {
        let up = self.link_should_be_up();
        if up == self.link_up() {
            return Ok(false);
        }
        self.set_lnksta(up)?;
        if self.slot.is_some() {
            self.set_sltsta_bits(slot::SLTSTA_DLLSC)?;
        }
        Ok(true)
    }

    /// Runs `f`, then reports a new interrupt condition and a link change.
    fn event(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<(), CfgError>,
    ) -> Result<Notify, CfgError> {
        let before = self.irq_level();
        f(self)?;
        let link_changed = self.update_link()?;
        Ok(Notify {
            interrupt: !before && self.irq_level(),
            link_changed,
        })
    }

    /// A configuration write, with the side effects of Slot Control (a command: Command
    /// Completed, power) and Link Control (Link Disable).
    pub fn cfg_write(&mut self, offset: u16, size: u8, value: u32) -> Result<Notify, CfgError> {
        let end = u32::from(offset) + u32::from(size);
        let touches = |reg: u16| u32::from(offset) < u32::from(reg) + 2 && end > u32::from(reg);
        let sltctl = touches(self.exp + slot::SLTCTL);
        let nccs = self.slot.is_none_or(|s| s.no_command_completed);
        self.event(|p| {
            p.cs.write(offset, size, value)?;
            if sltctl && !nccs {
                p.set_sltsta_bits(slot::SLTSTA_CC)?;
            }
            Ok(())
        })
    }

    /// A device is connected below (an adapter put in the slot) or not (pulled out), as the
    /// caller's topology says. With a slot this changes Presence Detect State and sets
    /// Presence Detect Changed; the link follows.
    pub fn set_present(&mut self, present: bool) -> Result<Notify, CfgError> {
        if !self.kind.faces_downstream() {
            return Ok(Notify::default());
        }
        let has_slot = self.slot.is_some();
        self.event(|p| {
            if p.present == present {
                return Ok(());
            }
            p.present = present;
            if has_slot {
                let sta = p.sltsta() & !slot::SLTSTA_PDS | slot::SLTSTA_PDC;
                let sta = if present { sta | slot::SLTSTA_PDS } else { sta };
                p.cs.device_write(p.exp + slot::SLTSTA, 2, sta.into())?;
            }
            Ok(())
        })
    }

    /// Whether a device is connected below.
    pub fn present(&self) -> bool {
        self.present
    }

    /// Presses the attention button: sets Attention Button Pressed.
    pub fn slot_press_button(&mut self) -> Result<Notify, PortError> {
        match self.slot {
            Some(s) if s.attention_button => {}
            _ => return Err(PortError::NoSlot),
        }
        Ok(self.event(|p| p.set_sltsta_bits(slot::SLTSTA_ABP))?)
    }

    /// (primary, secondary, subordinate) bus numbers.
    pub fn buses(&self) -> (u8, u8, u8) {
        let b = |o| self.cs.read(o, 1).unwrap_or(0) as u8;
        (
            b(pcicfg::PCI_PRIMARY_BUS),
            b(pcicfg::PCI_SECONDARY_BUS),
            b(pcicfg::PCI_SUBORDINATE_BUS),
        )
    }

    /// Whether configuration requests for `bus` are forwarded below this port.
    pub fn decodes_bus(&self, bus: u8) -> bool {
        let (_, sec, sub) = self.buses();
        sec != 0 && (sec..=sub).contains(&bus)
    }

    /// The memory window `(base, limit)` (inclusive), if open.
    pub fn memory_window(&self) -> Option<(u64, u64)> {
        let r = |o| u64::from(self.cs.read(o, 2).unwrap_or(0) & 0xfff0);
        let base = r(pcicfg::PCI_MEMORY_BASE) << 16;
        let limit = r(pcicfg::PCI_MEMORY_LIMIT) << 16 | 0xf_ffff;
        (base <= limit).then_some((base, limit))
    }

    /// The 64-bit prefetchable window `(base, limit)` (inclusive), if open.
    pub fn prefetch_window(&self) -> Option<(u64, u64)> {
        let r = |o| u64::from(self.cs.read(o, 2).unwrap_or(0) & 0xfff0);
        let up = |o| u64::from(self.cs.read(o, 4).unwrap_or(0));
        let base = up(pcicfg::PCI_PREF_BASE_UPPER32) << 32 | r(pcicfg::PCI_PREF_MEMORY_BASE) << 16;
        let limit = up(pcicfg::PCI_PREF_LIMIT_UPPER32) << 32
            | r(pcicfg::PCI_PREF_MEMORY_LIMIT) << 16
            | 0xf_ffff;
        (base <= limit).then_some((base, limit))
    }

    /// Whether a memory request for `addr` from above is forwarded below (Memory Space
    /// enabled and `addr` in a window).
    pub fn forwards(&self, addr: u64) -> bool {
        let inside = |w: Option<(u64, u64)>| w.is_some_and(|(b, l)| (b..=l).contains(&addr));
        self.cs.command() & pcicfg::PCI_COMMAND_MEMORY != 0
            && (inside(self.memory_window()) || inside(self.prefetch_window()))
    }

    /// The ACS Control register (0 without ACS).
    pub fn acs_control(&self) -> u16 {
        self.acs.map_or(0, |o| acs::control(&self.cs, o))
    }

    /// Whether ACS on this port redirects or blocks peer-to-peer requests (what Linux's
    /// P2PDMA refuses on a path).
    pub fn acs_blocks_p2p(&self) -> bool {
        self.acs.is_some_and(|o| acs::blocks_p2p(&self.cs, o))
    }

    /// Whether Bridge Control's Secondary Bus Reset is set.
    pub fn bus_reset_asserted(&self) -> bool {
        self.cs.read(pcicfg::PCI_BRIDGE_CONTROL, 2).unwrap_or(0) as u16
            & pcicfg::PCI_BRIDGE_CTL_BUS_RESET
            != 0
    }
}
