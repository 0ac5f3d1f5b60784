// SPDX-License-Identifier: GPL-2.0

//! The Controller Memory Buffer (CMB, NVMe base specification 2.0: CAP.CMBS, CMBLOC, CMBSZ,
//! CMBMSC, CMBSTS) and the controller memory space: DMA addresses that fall in the
//! controller's own CMB or PMR are served from that memory, not from host memory.
//!
//! The CMB lives in a 64-bit prefetchable BAR of the function other than BAR0 (BAR 2 or BAR 4,
//! see [`super::function::add_memory_bar`]), at an offset and of a size given in units of
//! CMBSZ.SZU. Its bytes are memory the caller owns; the model never allocates them. The host
//! reaches them with loads and stores through the BAR (the caller maps the BAR onto that
//! memory); the controller reaches them through [`super::HostMemory::cmb`].
//!
//! # Registers
//!
//! - CAP.CMBS (bit 57) is set: CMBLOC and CMBSZ read as zero until the host sets CMBMSC.CRE,
//!   as Linux's `nvme_map_cmb()` does before reading them.
//! - CMBLOC: BIR, OFST, and the mixed-location bits CQMMS, CDPMLS, CDPCILS and CDMMMS (the
//!   model serves any mix of CMB and host memory within a command); CQPDS and CQDA are clear.
//! - CMBSZ: SQS, CQS, LISTS, RDS, WDS as the profile says, SZU and SZ.
//! - CMBMSC (64 bits at 50h, also written as two dwords: Linux writes the high one first):
//!   CRE (bit 0), CMSE (bit 1), CBA (63:12). CMBSTS.CBAI (bit 0) is set while CMSE is set with
//!   a CBA whose range would wrap around the 64-bit address space; the controller memory
//!   space is then off.
//! - CMBEBS and CMBSWTP are not implemented (read zero).
//!
//! # Decisions where the specification leaves a choice
//!
//! - The controller memory space of the CMB is `[CBA, CBA + size)` while CRE and CMSE are
//!   set and CBAI is clear. Linux programs CBA to the CMB's bus address (the BAR's address
//!   plus the offset), so a queue, a PRP list or data it places in the CMB is at an address
//!   of that window.
//! - The model cannot tell which structure an access is for: it serves a controller read of
//!   the CMB (a submission queue entry, a PRP list, data of a Write) if any of SQS, LISTS or
//!   WDS is set, and a controller write (a completion queue entry, data of a Read) if CQS or
//!   RDS is set. Otherwise the access is refused as host memory refuses one: the command fails
//!   with Data Transfer Error (or, for a queue, CSTS.CFS is set).
//! - CMBMSC and CMBSTS are kept across a controller reset (CC.EN 1 -> 0): Linux maps the CMB
//!   once per probe and keeps using it across resets. [`Cmb::power_on`] clears them (a
//!   function reset or power cycle). The CMB's contents are never touched by the model.
//! - Every byte the controller moved to or from the CMB through the controller memory space
//!   is counted ([`super::Controller::cmb_bytes_served`]): that transfer never left the
//!   device.

use super::ctrl::{Controller, State};
use super::pmr::{Pmr, CAP_PMRS};
use super::{HostMemory, MemError};

/// CMBLOC: Controller Memory Buffer Location (32 bits).
pub const CMBLOC: u64 = 0x38;
/// CMBSZ: Controller Memory Buffer Size (32 bits).
pub const CMBSZ: u64 = 0x3c;
/// CMBMSC: Controller Memory Buffer Memory Space Control (64 bits).
pub const CMBMSC: u64 = 0x50;
/// CMBSTS: Controller Memory Buffer Status (32 bits).
pub const CMBSTS: u64 = 0x58;

/// CAP.CMBS (bit 57): Controller Memory Buffer Supported (CMBMSC implemented).
pub const CAP_CMBS: u64 = 1 << 57;

/// CMBLOC.BIR: bits 2:0.
pub const CMBLOC_BIR_MASK: u32 = 0x7;
/// CMBLOC.CQMMS: completion queues in a mix of CMB and host memory are supported.
pub const CMBLOC_CQMMS: u32 = 1 << 3;
/// CMBLOC.CQPDS: physically discontiguous completion queues in the CMB (not supported).
pub const CMBLOC_CQPDS: u32 = 1 << 4;
/// CMBLOC.CDPMLS: a command's data pointers may point to both CMB and host memory.
pub const CMBLOC_CDPMLS: u32 = 1 << 5;
/// CMBLOC.CDPCILS: data pointers in the CMB whatever the command's location.
pub const CMBLOC_CDPCILS: u32 = 1 << 6;
/// CMBLOC.CDMMMS: data and metadata of a command in a mix of CMB and host memory.
pub const CMBLOC_CDMMMS: u32 = 1 << 7;
/// CMBLOC.OFST shift (bits 31:12), in units of CMBSZ.SZU.
pub const CMBLOC_OFST_SHIFT: u32 = 12;

/// CMBSZ.SQS: submission queues may be in the CMB.
pub const CMBSZ_SQS: u32 = 1 << 0;
/// CMBSZ.CQS: completion queues may be in the CMB.
pub const CMBSZ_CQS: u32 = 1 << 1;
/// CMBSZ.LISTS: PRP lists (and SGL segments) may be in the CMB.
pub const CMBSZ_LISTS: u32 = 1 << 2;
/// CMBSZ.RDS: data of commands that move data to the host (Read) may be in the CMB.
pub const CMBSZ_RDS: u32 = 1 << 3;
/// CMBSZ.WDS: data of commands that move data from the host (Write) may be in the CMB.
pub const CMBSZ_WDS: u32 = 1 << 4;
/// CMBSZ.SZU shift (bits 11:8): the unit is `4 KiB << (4 * SZU)`.
pub const CMBSZ_SZU_SHIFT: u32 = 8;
/// CMBSZ.SZ shift (bits 31:12), in units of SZU.
pub const CMBSZ_SZ_SHIFT: u32 = 12;

/// CMBMSC.CRE: CMBLOC and CMBSZ are enabled (read as zero otherwise).
pub const CMBMSC_CRE: u64 = 1 << 0;
/// CMBMSC.CMSE: the controller memory space is enabled at CBA.
pub const CMBMSC_CMSE: u64 = 1 << 1;
/// CMBMSC.CBA: bits 63:12, the address of the controller memory space.
pub const CMBMSC_CBA_MASK: u64 = !0xfff;

/// CMBSTS.CBAI: the CBA written with CMSE set is invalid.
pub const CMBSTS_CBAI: u32 = 1 << 0;

/// The largest SZU this model uses: 64 GiB units (the specification defines 0h to 6h).
const SZU_MAX: u32 = 6;
/// The largest SZ and OFST value (20 bits).
const FIELD_MAX: u64 = 0xf_ffff;

/// A CMB as a profile describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CmbConfig {
    /// The BAR holding it: 2 or 4 (a 64-bit BAR takes two slots, BAR0/1 holds the registers).
    pub bir: u8,
    /// Size of that BAR in bytes: a power of two of at least 4 KiB.
    pub bar_size: u64,
    /// Offset of the CMB in the BAR, bytes (a multiple of the size unit chosen).
    pub offset: u64,
    /// Size of the CMB in bytes: a non-zero multiple of 4 KiB.
    pub size: u64,
    /// Submission queues may be placed in it (CMBSZ.SQS).
    pub sqs: bool,
    /// Completion queues may be placed in it (CMBSZ.CQS).
    pub cqs: bool,
    /// PRP lists may be placed in it (CMBSZ.LISTS).
    pub lists: bool,
    /// Read data may be placed in it (CMBSZ.RDS).
    pub rds: bool,
    /// Write data may be placed in it (CMBSZ.WDS).
    pub wds: bool,
}

/// Why a CMB or PMR profile was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmbError {
    /// The BAR indicator is not 2 or 4 (BAR0/1 holds the registers; a 64-bit BAR starts at an
    /// even slot).
    Bar,
    /// The BAR size is not a power of two of at least 4 KiB (or above 2^63).
    BarSize,
    /// The size is zero or not a multiple of 4 KiB.
    Size,
    /// No size unit expresses both size and offset in 20 bits.
    Unit,
    /// The region runs past the end of its BAR.
    Beyond,
    /// None of SQS, CQS, LISTS, RDS, WDS (or, for a PMR, RDS and WDS) is set: the region
    /// could hold nothing.
    NoUse,
    /// The CMB and the PMR are in the same BAR.
    SameBar,
    /// The controller is enabled (CC.EN set): its memory cannot change under the host.
    Enabled,
}

/// `bit` if `on`, else 0.
pub(super) const fn flag(on: bool, bit: u32) -> u32 {
    if on {
        bit
    } else {
        0
    }
}

/// Checks a BAR indicator and size shared by CMB and PMR profiles.
pub(super) fn check_bar(bir: u8, bar_size: u64) -> Result<(), CmbError> {
    if !matches!(bir, 2 | 4) {
        return Err(CmbError::Bar);
    }
    if !bar_size.is_power_of_two() || !(0x1000..=1 << 63).contains(&bar_size) {
        return Err(CmbError::BarSize);
    }
    Ok(())
}

/// A controller memory space window: the bus addresses `[base, base + len)` and the
/// directions the controller may move data in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Window {
    pub(super) base: u64,
    pub(super) len: u64,
    /// The controller may read from it.
    pub(super) read: bool,
    /// The controller may write to it.
    pub(super) write: bool,
}

impl Window {
    fn contains(&self, addr: u64) -> bool {
        addr >= self.base && addr - self.base < self.len
    }
}

/// The CMB of a controller: its validated profile and its registers.
///
/// # Invariants
///
/// `4096 << (4 * szu)` times `sz` is the size, times `ofst` the offset, and the region lies
/// within a BAR of `bar_size` bytes; `sz` and `ofst` fit in 20 bits, `sz > 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cmb {
    bir: u8,
    bar_size: u64,
    szu: u32,
    sz: u32,
    ofst: u32,
    /// CMBSZ bits 4:0.
    uses: u32,
    /// CMBMSC as written (CRE, CMSE and CBA only).
    msc: u64,
    cbai: bool,
}

impl Cmb {
    /// The CMB `c` describes, if it is valid: the smallest size unit that expresses both its
    /// size and offset is chosen.
    pub fn new(c: &CmbConfig) -> Result<Cmb, CmbError> {
        check_bar(c.bir, c.bar_size)?;
        if c.size == 0 || !c.size.is_multiple_of(0x1000) || !c.offset.is_multiple_of(0x1000) {
            return Err(CmbError::Size);
        }
        if c.offset.checked_add(c.size).is_none_or(|e| e > c.bar_size) {
            return Err(CmbError::Beyond);
        }
        let uses = flag(c.sqs, CMBSZ_SQS)
            | flag(c.cqs, CMBSZ_CQS)
            | flag(c.lists, CMBSZ_LISTS)
            | flag(c.rds, CMBSZ_RDS)
            | flag(c.wds, CMBSZ_WDS);
        if uses == 0 {
            return Err(CmbError::NoUse);
        }
        let szu = (0..=SZU_MAX)
            .find(|&u| {
                let unit = 0x1000u64 << (4 * u);
                c.size.is_multiple_of(unit)
                    && c.offset.is_multiple_of(unit)
                    && c.size / unit <= FIELD_MAX
                    && c.offset / unit <= FIELD_MAX
            })
            .ok_or(CmbError::Unit)?;
        let unit = 0x1000u64 << (4 * szu);
        // INVARIANT: both quotients were checked to fit in 20 bits; size is non-zero.
        Ok(Cmb {
            bir: c.bir,
            bar_size: c.bar_size,
            szu,
            sz: (c.size / unit) as u32,
            ofst: (c.offset / unit) as u32,
            uses,
            msc: 0,
            cbai: false,
        })
    }

    /// The BAR indicator.
    pub fn bir(&self) -> u8 {
        self.bir
    }

    /// The size of its BAR in bytes.
    pub fn bar_size(&self) -> u64 {
        self.bar_size
    }

    /// The size unit in bytes (CMBSZ.SZU decoded).
    pub fn unit(&self) -> u64 {
        0x1000 << (4 * self.szu)
    }

    /// The size in bytes: how much memory [`super::HostMemory::cmb`] must give.
    pub fn size(&self) -> u64 {
        self.unit() * u64::from(self.sz)
    }

    /// The offset in its BAR in bytes.
    pub fn offset(&self) -> u64 {
        self.unit() * u64::from(self.ofst)
    }

    /// CMBLOC as the host reads it (zero while CMBMSC.CRE is clear).
    pub fn cmbloc(&self) -> u32 {
        if self.msc & CMBMSC_CRE == 0 {
            return 0;
        }
        u32::from(self.bir)
            | CMBLOC_CQMMS
            | CMBLOC_CDPMLS
            | CMBLOC_CDPCILS
            | CMBLOC_CDMMMS
            | self.ofst << CMBLOC_OFST_SHIFT
    }

    /// CMBSZ as the host reads it (zero while CMBMSC.CRE is clear).
    pub fn cmbsz(&self) -> u32 {
        if self.msc & CMBMSC_CRE == 0 {
            return 0;
        }
        self.uses | self.szu << CMBSZ_SZU_SHIFT | self.sz << CMBSZ_SZ_SHIFT
    }

    /// CMBMSC.
    pub fn cmbmsc(&self) -> u64 {
        self.msc
    }

    /// CMBSTS.
    pub fn cmbsts(&self) -> u32 {
        flag(self.cbai, CMBSTS_CBAI)
    }

    /// Writes CMBMSC (all 64 bits; reserved bits 11:2 are dropped) and re-evaluates CBAI.
    pub fn write_msc(&mut self, v: u64) {
        self.msc = v & (CMBMSC_CRE | CMBMSC_CMSE | CMBMSC_CBA_MASK);
        self.cbai = self.msc & CMBMSC_CMSE != 0
            && (self.msc & CMBMSC_CBA_MASK)
                .checked_add(self.size())
                .is_none();
    }

    /// The controller memory space, while enabled.
    pub(super) fn window(&self) -> Option<Window> {
        let on = CMBMSC_CRE | CMBMSC_CMSE;
        (self.msc & on == on && !self.cbai).then(|| Window {
            base: self.msc & CMBMSC_CBA_MASK,
            len: self.size(),
            read: self.uses & (CMBSZ_SQS | CMBSZ_LISTS | CMBSZ_WDS) != 0,
            write: self.uses & (CMBSZ_CQS | CMBSZ_RDS) != 0,
        })
    }

    /// The bus addresses the controller serves from the CMB now, if any.
    pub fn space(&self) -> Option<(u64, u64)> {
        self.window().map(|w| (w.base, w.len))
    }

    /// Back to the power-on state (function reset, power cycle): CMBMSC and CMBSTS cleared.
    pub fn power_on(&mut self) {
        self.msc = 0;
        self.cbai = false;
    }
}

/// Guest memory as the controller sees it: `inner`, except for the controller memory space of
/// the CMB and the PMR, which is served from their memory (`inner`'s [`HostMemory::cmb`] and
/// [`HostMemory::pmr`]) and counted.
pub(super) struct Routed<'a, M: HostMemory> {
    inner: &'a mut M,
    cmb: Option<Window>,
    pmr: Option<Window>,
    /// Bytes moved to or from the CMB.
    pub(super) cmb_served: u64,
    /// Bytes moved to or from the PMR.
    pub(super) pmr_served: u64,
}

/// Where a piece of an access goes.
#[derive(Clone, Copy)]
enum Target {
    Host,
    Cmb(Window),
    Pmr(Window),
}

impl<'a, M: HostMemory> Routed<'a, M> {
    pub(super) fn new(inner: &'a mut M, cmb: Option<Window>, pmr: Option<Window>) -> Self {
        Routed {
            inner,
            cmb,
            pmr,
            cmb_served: 0,
            pmr_served: 0,
        }
    }

    /// Where the byte at `addr` goes, and how many bytes from there (at most `len`) go to the
    /// same place.
    fn split(&self, addr: u64, len: u64) -> (Target, u64) {
        let mut host = len;
        for (w, t) in [
            (self.cmb, Target::Cmb as fn(Window) -> Target),
            (self.pmr, Target::Pmr),
        ] {
            let Some(w) = w else { continue };
            if w.contains(addr) {
                return (t(w), len.min(w.len - (addr - w.base)));
            }
            if w.base > addr {
                host = host.min(w.base - addr);
            }
        }
        (Target::Host, host)
    }

    /// The bytes of region memory `mem` for a piece of `n` bytes at `addr` in window `w`.
    fn piece<'m>(
        mem: Option<&'m mut [u8]>,
        w: &Window,
        addr: u64,
        n: usize,
    ) -> Option<&'m mut [u8]> {
        let off = usize::try_from(addr - w.base).ok()?;
        mem?.get_mut(off..off.checked_add(n)?)
    }
}

impl<M: HostMemory> HostMemory for Routed<'_, M> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr.checked_add(done as u64).ok_or(MemError::Unmapped)?;
            let rest = buf.get_mut(done..).ok_or(MemError::Unmapped)?;
            let (target, n) = self.split(a, rest.len() as u64);
            // `n` is at most `rest.len()`.
            let n = n as usize;
            let dst = rest.get_mut(..n).ok_or(MemError::Unmapped)?;
            match target {
                Target::Host => self.inner.read(a, dst)?,
                Target::Cmb(w) | Target::Pmr(w) => {
                    if !w.read {
                        return Err(MemError::Denied);
                    }
                    let is_cmb = matches!(target, Target::Cmb(_));
                    let mem = if is_cmb {
                        self.inner.cmb()
                    } else {
                        self.inner.pmr()
                    };
                    let src = Self::piece(mem, &w, a, n).ok_or(MemError::Unmapped)?;
                    dst.copy_from_slice(src);
                    self.count(is_cmb, n);
                }
            }
            done += n;
        }
        Ok(())
    }

    fn write(&mut self, addr: u64, buf: &[u8]) -> Result<(), MemError> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr.checked_add(done as u64).ok_or(MemError::Unmapped)?;
            let rest = buf.get(done..).ok_or(MemError::Unmapped)?;
            let (target, n) = self.split(a, rest.len() as u64);
            let n = n as usize;
            let src = rest.get(..n).ok_or(MemError::Unmapped)?;
            match target {
                Target::Host => self.inner.write(a, src)?,
                Target::Cmb(w) | Target::Pmr(w) => {
                    if !w.write {
                        return Err(MemError::Denied);
                    }
                    let is_cmb = matches!(target, Target::Cmb(_));
                    let mem = if is_cmb {
                        self.inner.cmb()
                    } else {
                        self.inner.pmr()
                    };
                    let dst = Self::piece(mem, &w, a, n).ok_or(MemError::Unmapped)?;
                    dst.copy_from_slice(src);
                    self.count(is_cmb, n);
                }
            }
            done += n;
        }
        Ok(())
    }
}

impl<M: HostMemory> Routed<'_, M> {
    fn count(&mut self, cmb: bool, n: usize) {
        let c = if cmb {
            &mut self.cmb_served
        } else {
            &mut self.pmr_served
        };
        *c = c.saturating_add(n as u64);
    }
}

/// The controller's own memory: its CMB and PMR, if it has them, and what it served from
/// them. Kept in [`Controller`], across controller resets.
#[derive(Clone, Copy, Debug)]
pub(super) struct DevMem {
    pub(super) cmb: Option<Cmb>,
    pub(super) pmr: Option<Pmr>,
    pub(super) cmb_served: u64,
    pub(super) pmr_served: u64,
}

impl DevMem {
    /// No CMB, no PMR.
    pub(super) const NEW: DevMem = DevMem {
        cmb: None,
        pmr: None,
        cmb_served: 0,
        pmr_served: 0,
    };
}

impl<const QUEUES: usize> Controller<QUEUES> {
    /// Gives the controller the CMB `cmb`, replacing any it had. Refused while the controller
    /// is enabled (CC.EN set) and when the PMR is in the same BAR.
    pub fn set_cmb(&mut self, cmb: Cmb) -> Result<(), CmbError> {
        if self.state() != State::Disabled {
            return Err(CmbError::Enabled);
        }
        if self.devmem.pmr.is_some_and(|p| p.bir() == cmb.bir()) {
            return Err(CmbError::SameBar);
        }
        self.devmem.cmb = Some(cmb);
        Ok(())
    }

    /// The CMB, if the controller has one.
    pub fn cmb(&self) -> Option<&Cmb> {
        self.devmem.cmb.as_ref()
    }

    /// Bytes the controller moved to or from its own CMB (never over the bus).
    pub fn cmb_bytes_served(&self) -> u64 {
        self.devmem.cmb_served
    }

    /// The CAP bits of the CMB and the PMR.
    pub(super) fn devmem_cap(&self) -> u64 {
        let d = &self.devmem;
        d.cmb.map_or(0, |_| CAP_CMBS) | d.pmr.map_or(0, |_| CAP_PMRS)
    }

    /// A 32-bit read of a CMB or PMR register, `None` for other offsets.
    pub(super) fn devmem_read(&self, offset: u64) -> Option<u32> {
        if let Some(v) = self.devmem.pmr.as_ref().and_then(|p| p.read(offset)) {
            return Some(v);
        }
        let c = self.devmem.cmb.as_ref()?;
        match offset {
            CMBLOC => Some(c.cmbloc()),
            CMBSZ => Some(c.cmbsz()),
            CMBMSC => Some(c.cmbmsc() as u32),
            0x54 => Some((c.cmbmsc() >> 32) as u32),
            CMBSTS => Some(c.cmbsts()),
            _ => None,
        }
    }

    /// A 32-bit write of a CMB or PMR register; `false` for other offsets.
    pub(super) fn devmem_write(&mut self, offset: u64, v: u32) -> bool {
        if let Some(p) = self.devmem.pmr.as_mut() {
            if p.write(offset, v) {
                return true;
            }
        }
        let Some(c) = self.devmem.cmb.as_mut() else {
            return false;
        };
        let msc = c.cmbmsc();
        match offset {
            CMBMSC => c.write_msc(msc & !0xffff_ffff | u64::from(v)),
            0x54 => c.write_msc(msc & 0xffff_ffff | u64::from(v) << 32),
            _ => return false,
        }
        true
    }

    /// `mem` routed through the controller memory space of the CMB and PMR.
    pub(super) fn routed<'a, M: HostMemory>(&self, mem: &'a mut M) -> Routed<'a, M> {
        Routed::new(
            mem,
            self.devmem.cmb.and_then(|c| c.window()),
            self.devmem.pmr.and_then(|p| p.window()),
        )
    }

    /// Adds what `r` served to the counters.
    pub(super) fn count_served<M: HostMemory>(&mut self, r: &Routed<'_, M>) {
        let d = &mut self.devmem;
        d.cmb_served = d.cmb_served.saturating_add(r.cmb_served);
        d.pmr_served = d.pmr_served.saturating_add(r.pmr_served);
    }
}
