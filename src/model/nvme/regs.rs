// SPDX-License-Identifier: GPL-2.0

//! Controller registers (BAR0): offsets, fields and the values this controller reports.

use super::params::Params;

/// Controller Capabilities (64 bits, read-only).
pub const CAP: u64 = 0x00;
/// Version (32 bits, read-only).
pub const VS: u64 = 0x08;
/// Interrupt Mask Set (32 bits): writing 1 masks vector `bit`; reads the mask.
pub const INTMS: u64 = 0x0c;
/// Interrupt Mask Clear (32 bits): writing 1 unmasks vector `bit`; reads the mask.
pub const INTMC: u64 = 0x10;
/// Controller Configuration (32 bits).
pub const CC: u64 = 0x14;
/// Controller Status (32 bits, read-only here).
pub const CSTS: u64 = 0x1c;
/// NVM Subsystem Reset (32 bits): not supported (CAP.NSSRS is 0), reads 0, ignores writes.
pub const NSSR: u64 = 0x20;
/// Admin Queue Attributes (32 bits).
pub const AQA: u64 = 0x24;
/// Admin Submission Queue base address (64 bits).
pub const ASQ: u64 = 0x28;
/// Admin Completion Queue base address (64 bits).
pub const ACQ: u64 = 0x30;
/// First doorbell register. With CAP.DSTRD = 0, the SQ `y` tail doorbell is at
/// `DOORBELLS + 8 * y` and the CQ `y` head doorbell at `DOORBELLS + 8 * y + 4`.
pub const DOORBELLS: u64 = 0x1000;

/// The version this controller implements: NVMe 1.4.0.
pub const VERSION: u32 = 0x0001_0400;

/// CAP.CQR: I/O queues must be physically contiguous.
pub const CAP_CQR: u64 = 1 << 16;
/// CAP.TO shift (bits 31:24).
pub const CAP_TO_SHIFT: u32 = 24;
/// CAP.CSS bit 0 (bit 37): the NVM command set.
pub const CAP_CSS_NVM: u64 = 1 << 37;
/// CAP.CSS bit 6 (bit 43): one or more I/O Command Sets, selected with CC.CSS 110b.
pub const CAP_CSS_IO_SETS: u64 = 1 << 43;
/// CAP.MPSMIN shift (bits 51:48).
pub const CAP_MPSMIN_SHIFT: u32 = 48;
/// CAP.MPSMAX shift (bits 55:52).
pub const CAP_MPSMAX_SHIFT: u32 = 52;
/// Smallest memory page size supported: `2^(12 + MPS_MIN)` bytes.
pub const MPS_MIN: u32 = 0;
/// Largest memory page size supported: `2^(12 + MPS_MAX)` bytes (64 KiB).
pub const MPS_MAX: u32 = 4;

/// CC.EN: enable.
pub const CC_EN: u32 = 1;
/// CC.CSS shift (bits 6:4); 000b selects the NVM command set.
pub const CC_CSS_SHIFT: u32 = 4;
/// CC.CSS 110b: every I/O Command Set the controller supports (CAP.CSS bit 6) is enabled.
pub const CC_CSS_IO_SETS: u32 = 0b110;
/// CC.MPS shift (bits 10:7).
pub const CC_MPS_SHIFT: u32 = 7;
/// CC.AMS shift (bits 13:11); 000b is round robin.
pub const CC_AMS_SHIFT: u32 = 11;
/// CC.SHN shift (bits 15:14).
pub const CC_SHN_SHIFT: u32 = 14;
/// CC.SHN: the field.
pub const CC_SHN_MASK: u32 = 3 << CC_SHN_SHIFT;
/// CC.SHN = 01b: normal shutdown notification.
pub const CC_SHN_NORMAL: u32 = 1 << CC_SHN_SHIFT;
/// CC.SHN = 10b: abrupt shutdown notification.
pub const CC_SHN_ABRUPT: u32 = 2 << CC_SHN_SHIFT;
/// CC.IOSQES shift (bits 19:16).
pub const CC_IOSQES_SHIFT: u32 = 16;
/// CC.IOCQES shift (bits 23:20).
pub const CC_IOCQES_SHIFT: u32 = 20;
/// The CC bits software can write; the others are reserved and read as zero.
pub const CC_WRITABLE: u32 = 0x00ff_fff1;
/// The CC bits that can change while CC.EN is set (EN and SHN): the rest must be set up
/// before enabling and are kept as they were while enabled.
pub const CC_LIVE: u32 = CC_EN | CC_SHN_MASK;

/// Required CC.IOSQES: 64-byte submission queue entries.
pub const IOSQES: u32 = 6;
/// Required CC.IOCQES: 16-byte completion queue entries.
pub const IOCQES: u32 = 4;

/// CSTS.RDY: ready.
pub const CSTS_RDY: u32 = 1;
/// CSTS.CFS: controller fatal status.
pub const CSTS_CFS: u32 = 1 << 1;
/// CSTS.SHST = 01b: shutdown processing occurring.
pub const CSTS_SHST_OCCURRING: u32 = 1 << 2;
/// CSTS.SHST = 10b: shutdown processing complete.
pub const CSTS_SHST_COMPLETE: u32 = 2 << 2;

/// The AQA bits software can write: ASQS (11:0) and ACQS (27:16).
pub const AQA_WRITABLE: u32 = 0x0fff_0fff;

/// The CAP value of a controller with parameters `p`: with a zoned namespace, CAP.CSS also
/// advertises I/O Command Set selection.
pub fn cap(p: &Params) -> u64 {
    let io_sets = if p.has_zoned() { CAP_CSS_IO_SETS } else { 0 };
    u64::from(p.mqes())
        | CAP_CQR
        | u64::from(p.timeout()) << CAP_TO_SHIFT
        | CAP_CSS_NVM
        | io_sets
        | u64::from(MPS_MIN) << CAP_MPSMIN_SHIFT
        | u64::from(MPS_MAX) << CAP_MPSMAX_SHIFT
}

/// Offset of the submission queue `qid` tail doorbell.
pub const fn sq_tail_doorbell(qid: u16) -> u64 {
    DOORBELLS + 8 * qid as u64
}

/// Offset of the completion queue `qid` head doorbell.
pub const fn cq_head_doorbell(qid: u16) -> u64 {
    DOORBELLS + 8 * qid as u64 + 4
}

/// Decoded fields of a CC value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cc(pub u32);

impl Cc {
    /// CC.EN.
    pub fn en(self) -> bool {
        self.0 & CC_EN != 0
    }

    /// CC.CSS.
    pub fn css(self) -> u32 {
        self.0 >> CC_CSS_SHIFT & 7
    }

    /// CC.MPS.
    pub fn mps(self) -> u32 {
        self.0 >> CC_MPS_SHIFT & 0xf
    }

    /// CC.AMS.
    pub fn ams(self) -> u32 {
        self.0 >> CC_AMS_SHIFT & 7
    }

    /// CC.SHN.
    pub fn shn(self) -> u32 {
        self.0 >> CC_SHN_SHIFT & 3
    }

    /// CC.IOSQES.
    pub fn iosqes(self) -> u32 {
        self.0 >> CC_IOSQES_SHIFT & 0xf
    }

    /// CC.IOCQES.
    pub fn iocqes(self) -> u32 {
        self.0 >> CC_IOCQES_SHIFT & 0xf
    }

    /// The memory page size CC.MPS selects, if this controller supports it.
    pub fn page_size(self) -> Option<u64> {
        let mps = self.mps();
        if (MPS_MIN..=MPS_MAX).contains(&mps) {
            Some(4096 << mps)
        } else {
            None
        }
    }
}
