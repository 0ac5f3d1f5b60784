// SPDX-License-Identifier: GPL-2.0

//! The Persistent Memory Region (PMR, NVMe base specification 2.0: CAP.PMRS, PMRCAP, PMRCTL,
//! PMRSTS, PMREBS, PMRSWTP, PMRMSCL/PMRMSCU).
//!
//! The PMR is the whole of a 64-bit prefetchable BAR other than BAR0 (BAR 2 or BAR 4, see
//! [`super::function::add_memory_bar`]). Its bytes are memory the caller owns and keeps: the
//! model never allocates, clears or copies them, so they survive controller resets (CC.EN
//! 1 -> 0 -> 1) and whatever power cycle the caller emulates. The host reaches them with loads
//! and stores through the BAR while the PMR is ready ([`Pmr::host_can_read`],
//! [`Pmr::host_can_write`] tell the caller); the controller reaches them through
//! [`super::HostMemory::pmr`] when the host enables the PMR's controller memory space.
//!
//! # Registers
//!
//! - PMRCAP (E00h, read-only): RDS (bit 3), WDS (bit 4), BIR (7:5), PMRTU (9:8: 00b 500 ms,
//!   01b minutes), PMRWBM (13:10), PMRTO (23:16), CMSS (bit 24), from the profile.
//! - PMRCTL (E04h): EN (bit 0); the other bits are reserved.
//! - PMRSTS (E08h, read-only): ERR (7:0, always 0), NRDY (bit 8: set while PMRCTL.EN is clear;
//!   the PMR is ready as soon as it is enabled, well within PMRTO), HSTS (11:9, the health the
//!   caller sets with [`Pmr::set_health`]), CBAI (bit 12).
//! - PMREBS (E0Ch) and PMRSWTP (E10h), read-only, from the profile.
//! - PMRMSCL (E14h: CMSE bit 1, CBA 31:12) and PMRMSCU (E18h: CBA 63:32), implemented only
//!   with CMSS (read as zero and ignore writes otherwise). CBAI is set while CMSE is set with a
//!   CBA whose range wraps around the 64-bit address space.
//!
//! # Decisions where the specification leaves a choice
//!
//! - The controller memory space of the PMR is `[CBA, CBA + size)` while PMRCTL.EN and CMSE
//!   are set, CBAI is clear and the health is not Unreliable. A controller read from it (data
//!   of a Write, a PRP list) needs WDS (data moving from the host to the controller may be
//!   there); a controller write (data of a Read) needs RDS and a health other than Read Only.
//!   Other accesses are refused as host memory refuses one (Data Transfer Error).
//! - Every PMR register is kept across a controller reset: the PMR is not the controller's
//!   state. [`Pmr::power_on`] disables it and clears PMRMSC (the contents stay).

use super::cmb::{check_bar, flag, CmbError, Window};
use super::ctrl::{Controller, State};

/// PMRCAP: Persistent Memory Capabilities (32 bits).
pub const PMRCAP: u64 = 0xe00;
/// PMRCTL: Persistent Memory Region Control (32 bits).
pub const PMRCTL: u64 = 0xe04;
/// PMRSTS: Persistent Memory Region Status (32 bits).
pub const PMRSTS: u64 = 0xe08;
/// PMREBS: Persistent Memory Region Elasticity Buffer Size (32 bits).
pub const PMREBS: u64 = 0xe0c;
/// PMRSWTP: Persistent Memory Region Sustained Write Throughput (32 bits).
pub const PMRSWTP: u64 = 0xe10;
/// PMRMSCL: Persistent Memory Region Controller Memory Space Control, lower (32 bits).
pub const PMRMSCL: u64 = 0xe14;
/// PMRMSCU: Persistent Memory Region Controller Memory Space Control, upper (32 bits).
pub const PMRMSCU: u64 = 0xe18;

/// CAP.PMRS (bit 56): Persistent Memory Region Supported.
pub const CAP_PMRS: u64 = 1 << 56;

/// PMRCAP.RDS: data of commands that move data to the host (Read) may be in the PMR.
pub const PMRCAP_RDS: u32 = 1 << 3;
/// PMRCAP.WDS: data of commands that move data from the host (Write) may be in the PMR.
pub const PMRCAP_WDS: u32 = 1 << 4;
/// PMRCAP.BIR shift (bits 7:5).
pub const PMRCAP_BIR_SHIFT: u32 = 5;
/// PMRCAP.PMRTU shift (bits 9:8).
pub const PMRCAP_PMRTU_SHIFT: u32 = 8;
/// PMRCAP.PMRWBM shift (bits 13:10).
pub const PMRCAP_PMRWBM_SHIFT: u32 = 10;
/// PMRCAP.PMRTO shift (bits 23:16).
pub const PMRCAP_PMRTO_SHIFT: u32 = 16;
/// PMRCAP.CMSS: controller memory space supported (PMRMSCL/PMRMSCU implemented).
pub const PMRCAP_CMSS: u32 = 1 << 24;

/// PMRCTL.EN.
pub const PMRCTL_EN: u32 = 1;

/// PMRSTS.NRDY: the PMR is not ready.
pub const PMRSTS_NRDY: u32 = 1 << 8;
/// PMRSTS.HSTS shift (bits 11:9).
pub const PMRSTS_HSTS_SHIFT: u32 = 9;
/// PMRSTS.CBAI: the CBA written with CMSE set is invalid.
pub const PMRSTS_CBAI: u32 = 1 << 12;

/// PMREBS.RBB: read bypass behaviour.
pub const PMREBS_RBB: u32 = 1 << 4;
/// PMREBS.PMRWBZ and PMRSWTP.PMRSWTV shift (bits 31:8).
pub const VALUE_SHIFT: u32 = 8;

/// PMRMSCL.CMSE.
pub const PMRMSC_CMSE: u64 = 1 << 1;
/// PMRMSC.CBA: bits 63:12.
pub const PMRMSC_CBA_MASK: u64 = !0xfff;

/// The unit of PMRCAP.PMRTO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// 500 milliseconds (PMRTU 00b).
    HalfSeconds = 0,
    /// Minutes (PMRTU 01b).
    Minutes = 1,
}

/// The health PMRSTS.HSTS reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// 000b: normal operation.
    Normal = 0,
    /// 001b: the contents could not be restored (they may be stale); still usable.
    RestoreError = 1,
    /// 010b: read only: writes are refused.
    ReadOnly = 2,
    /// 011b: unreliable: neither reads nor writes are served.
    Unreliable = 3,
}

/// A PMR as a profile describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PmrConfig {
    /// The BAR holding it (its whole BAR): 2 or 4.
    pub bir: u8,
    /// The size of the PMR and its BAR in bytes: a power of two of at least 4 KiB.
    pub size: u64,
    /// PMRCAP.RDS.
    pub rds: bool,
    /// PMRCAP.WDS.
    pub wds: bool,
    /// PMRCAP.CMSS: the controller memory space can be enabled.
    pub cmss: bool,
    /// PMRCAP.PMRTO, in `time_unit`s: how long the host waits for the PMR to become ready.
    pub timeout: u8,
    /// PMRCAP.PMRTU.
    pub time_unit: TimeUnit,
    /// PMRCAP.PMRWBM: the write barrier mechanisms (4 bits, at least one set).
    pub write_barrier: u8,
    /// PMREBS.PMRSZU (0 bytes, 1 KiB, 2 MiB, 3 GiB) and PMRWBZ (24 bits, not zero).
    pub elasticity: (u8, u32),
    /// PMREBS.RBB.
    pub read_bypass: bool,
    /// PMRSWTP.PMRSWTU (0 bytes/s, 1 KiB/s, 2 MiB/s, 3 GiB/s) and PMRSWTV (24 bits).
    pub throughput: (u8, u32),
}

/// Why a PMR profile was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PmrError {
    /// The BAR indicator is not 2 or 4.
    Bar,
    /// The size is not a power of two of at least 4 KiB (or above 2^63).
    Size,
    /// Neither RDS nor WDS is set: the PMR could hold no command data. (Without CMSS too it
    /// is still usable through the BAR, so this only applies with CMSS.)
    NoUse,
    /// PMRWBM is zero or uses bits beyond 3:0.
    WriteBarrier,
    /// PMRTO is zero.
    Timeout,
    /// A PMREBS or PMRSWTP unit above 3 or value beyond 24 bits, or a zero PMRWBZ.
    Field,
    /// The CMB is in the same BAR.
    SameBar,
    /// The controller is enabled (CC.EN set).
    Enabled,
}

/// The PMR of a controller: its validated profile and its registers.
///
/// # Invariants
///
/// `cap`, `ebs` and `swtp` are the register values of a valid [`PmrConfig`] of `size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pmr {
    bir: u8,
    size: u64,
    cap: u32,
    ebs: u32,
    swtp: u32,
    en: bool,
    msc: u64,
    cbai: bool,
    health: Health,
}

impl Pmr {
    /// The PMR `c` describes, if it is valid; disabled, with its controller memory space off.
    pub fn new(c: &PmrConfig) -> Result<Pmr, PmrError> {
        check_bar(c.bir, c.size).map_err(|e| match e {
            CmbError::Bar => PmrError::Bar,
            _ => PmrError::Size,
        })?;
        if c.cmss && !c.rds && !c.wds {
            return Err(PmrError::NoUse);
        }
        if c.write_barrier == 0 || c.write_barrier > 0xf {
            return Err(PmrError::WriteBarrier);
        }
        if c.timeout == 0 {
            return Err(PmrError::Timeout);
        }
        let (eu, ev) = c.elasticity;
        let (tu, tv) = c.throughput;
        if eu > 3 || tu > 3 || ev == 0 || ev > 0xff_ffff || tv > 0xff_ffff {
            return Err(PmrError::Field);
        }
        let cap = flag(c.rds, PMRCAP_RDS)
            | flag(c.wds, PMRCAP_WDS)
            | u32::from(c.bir) << PMRCAP_BIR_SHIFT
            | (c.time_unit as u32) << PMRCAP_PMRTU_SHIFT
            | u32::from(c.write_barrier) << PMRCAP_PMRWBM_SHIFT
            | u32::from(c.timeout) << PMRCAP_PMRTO_SHIFT
            | flag(c.cmss, PMRCAP_CMSS);
        // INVARIANT: every field checked above.
        Ok(Pmr {
            bir: c.bir,
            size: c.size,
            cap,
            ebs: u32::from(eu) | flag(c.read_bypass, PMREBS_RBB) | ev << VALUE_SHIFT,
            swtp: u32::from(tu) | tv << VALUE_SHIFT,
            en: false,
            msc: 0,
            cbai: false,
            health: Health::Normal,
        })
    }

    /// The BAR indicator.
    pub fn bir(&self) -> u8 {
        self.bir
    }

    /// The size in bytes (that of its BAR): how much memory [`super::HostMemory::pmr`] must
    /// give.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether PMRCTL.EN is set (and so the PMR ready: PMRSTS.NRDY clear).
    pub fn enabled(&self) -> bool {
        self.en
    }

    /// Sets the health PMRSTS.HSTS reports (the caller's failure injection).
    pub fn set_health(&mut self, h: Health) {
        self.health = h;
    }

    /// The health.
    pub fn health(&self) -> Health {
        self.health
    }

    /// Whether host reads through the BAR are answered with the contents (the PMR is ready
    /// and not unreliable).
    pub fn host_can_read(&self) -> bool {
        self.en && self.health != Health::Unreliable
    }

    /// Whether host writes through the BAR reach the contents (ready, neither read-only nor
    /// unreliable).
    pub fn host_can_write(&self) -> bool {
        self.host_can_read() && self.health != Health::ReadOnly
    }

    /// PMRSTS.
    pub fn pmrsts(&self) -> u32 {
        flag(!self.en, PMRSTS_NRDY)
            | (self.health as u32) << PMRSTS_HSTS_SHIFT
            | flag(self.cbai, PMRSTS_CBAI)
    }

    fn cmss(&self) -> bool {
        self.cap & PMRCAP_CMSS != 0
    }

    /// A 32-bit register read, `None` for an offset that is not a PMR register.
    pub fn read(&self, offset: u64) -> Option<u32> {
        let msc = if self.cmss() { self.msc } else { 0 };
        Some(match offset {
            PMRCAP => self.cap,
            PMRCTL => u32::from(self.en),
            PMRSTS => self.pmrsts(),
            PMREBS => self.ebs,
            PMRSWTP => self.swtp,
            PMRMSCL => msc as u32,
            PMRMSCU => (msc >> 32) as u32,
            _ => return None,
        })
    }

    /// A 32-bit register write (read-only registers ignore it); `false` for an offset that is
    /// not a PMR register.
    pub fn write(&mut self, offset: u64, v: u32) -> bool {
        match offset {
            PMRCAP | PMRSTS | PMREBS | PMRSWTP => {}
            PMRCTL => self.en = v & PMRCTL_EN != 0,
            PMRMSCL if self.cmss() => {
                self.write_msc(self.msc & !0xffff_ffff | u64::from(v));
            }
            PMRMSCU if self.cmss() => {
                self.write_msc(self.msc & 0xffff_ffff | u64::from(v) << 32);
            }
            PMRMSCL | PMRMSCU => {}
            _ => return false,
        }
        true
    }

    fn write_msc(&mut self, v: u64) {
        self.msc = v & (PMRMSC_CMSE | PMRMSC_CBA_MASK);
        self.cbai = self.msc & PMRMSC_CMSE != 0
            && (self.msc & PMRMSC_CBA_MASK)
                .checked_add(self.size)
                .is_none();
    }

    /// The controller memory space, while enabled.
    pub(super) fn window(&self) -> Option<Window> {
        let on = self.en
            && self.msc & PMRMSC_CMSE != 0
            && !self.cbai
            && self.health != Health::Unreliable;
        on.then(|| Window {
            base: self.msc & PMRMSC_CBA_MASK,
            len: self.size,
            read: self.cap & PMRCAP_WDS != 0,
            write: self.cap & PMRCAP_RDS != 0 && self.health != Health::ReadOnly,
        })
    }

    /// The bus addresses the controller serves from the PMR now, if any.
    pub fn space(&self) -> Option<(u64, u64)> {
        self.window().map(|w| (w.base, w.len))
    }

    /// Back to the power-on state: disabled, controller memory space off, health normal. The
    /// contents are the caller's and stay.
    pub fn power_on(&mut self) {
        self.en = false;
        self.msc = 0;
        self.cbai = false;
        self.health = Health::Normal;
    }
}

impl<const QUEUES: usize> Controller<QUEUES> {
    /// Gives the controller the PMR `pmr`, replacing any it had. Refused while the controller
    /// is enabled and when the CMB is in the same BAR.
    pub fn set_pmr(&mut self, pmr: Pmr) -> Result<(), PmrError> {
        if self.state() != State::Disabled {
            return Err(PmrError::Enabled);
        }
        if self.devmem.cmb.is_some_and(|c| c.bir() == pmr.bir()) {
            return Err(PmrError::SameBar);
        }
        self.devmem.pmr = Some(pmr);
        Ok(())
    }

    /// The PMR, if the controller has one.
    pub fn pmr(&self) -> Option<&Pmr> {
        self.devmem.pmr.as_ref()
    }

    /// The PMR, to change its health or power it on.
    pub fn pmr_mut(&mut self) -> Option<&mut Pmr> {
        self.devmem.pmr.as_mut()
    }

    /// Bytes the controller moved to or from its PMR through the controller memory space.
    pub fn pmr_bytes_served(&self) -> u64 {
        self.devmem.pmr_served
    }
}
