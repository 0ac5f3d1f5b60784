// SPDX-License-Identifier: GPL-2.0

//! The Access Control Services extended capability (PCI Express Base 6.0, 7.7.11): which ACS
//! controls a port implements (ACS Capability register) and which the host enabled (ACS
//! Control register), with the P2P Egress Control Vector when egress control is implemented.
//!
//! Only the control bits of implemented capabilities are writable. Linux's P2PDMA refuses a
//! path through a bridge with P2P Request Redirect, P2P Completion Redirect or P2P Egress
//! Control enabled; a test sets them with ordinary configuration writes.

use super::super::pcicfg::{CfgError, ConfigSpace};

/// Extended capability ID of ACS.
pub const EXT_CAP_ID_ACS: u16 = 0x000d;
/// ACS Capability register (16 bits), from the capability start.
pub const ACS_CAP: u16 = 4;
/// ACS Control register (16 bits), from the capability start.
pub const ACS_CTRL: u16 = 6;
/// Egress Control Vector (32 bits each), from the capability start.
pub const ACS_EGRESS_VECTOR: u16 = 8;

/// ACS Source Validation.
pub const ACS_SV: u16 = 1 << 0;
/// ACS Translation Blocking.
pub const ACS_TB: u16 = 1 << 1;
/// ACS P2P Request Redirect.
pub const ACS_RR: u16 = 1 << 2;
/// ACS P2P Completion Redirect.
pub const ACS_CR: u16 = 1 << 3;
/// ACS Upstream Forwarding.
pub const ACS_UF: u16 = 1 << 4;
/// ACS P2P Egress Control.
pub const ACS_EC: u16 = 1 << 5;
/// ACS Direct Translated P2P.
pub const ACS_DT: u16 = 1 << 6;
/// Every ACS capability bit this model knows.
pub const ACS_ALL: u16 = 0x7f;
/// Egress Control Vector Size shift (bits 15:8 of the capability register).
pub const ACS_ECVS_SHIFT: u16 = 8;

/// Which ACS controls a port implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcsConfig {
    /// The implemented controls: a combination of [`ACS_SV`] ... [`ACS_DT`].
    pub capabilities: u16,
    /// With [`ACS_EC`]: the number of bits of the egress control vector, 1 to 256.
    pub egress_bits: u16,
}

impl AcsConfig {
    /// Every control a switch downstream port or root port commonly has: SV, RR, CR, UF
    /// (no egress control, no translation controls).
    pub const DOWNSTREAM: AcsConfig = AcsConfig {
        capabilities: ACS_SV | ACS_RR | ACS_CR | ACS_UF,
        egress_bits: 0,
    };

    /// Whether the configuration is valid: known bits only, and a vector size exactly when
    /// egress control is implemented.
    pub fn is_valid(&self) -> bool {
        let ec = self.capabilities & ACS_EC != 0;
        self.capabilities & !ACS_ALL == 0
            && if ec {
                (1..=256).contains(&self.egress_bits)
            } else {
                self.egress_bits == 0
            }
    }
}

/// Adds the ACS capability `c` (already validated) to `cs` with every control disabled and
/// returns its offset.
pub fn add(cs: &mut ConfigSpace, c: &AcsConfig) -> Result<u16, CfgError> {
    if !c.is_valid() {
        return Err(CfgError::BadAccess);
    }
    let ec = c.capabilities & ACS_EC != 0;
    let vector_dwords = if ec {
        usize::from(c.egress_bits).div_ceil(32)
    } else {
        0
    };
    // Capability and control registers, then the vector: at most 4 + 32 bytes.
    let mut body = [0u8; 4 + 32];
    let mut wmask = [0u8; 4 + 32];
    let len = 4 + 4 * vector_dwords;
    // An egress vector size of 256 is encoded as 00h.
    let ecvs = if ec { c.egress_bits & 0xff } else { 0 };
    let cap = c.capabilities | ecvs << ACS_ECVS_SHIFT;
    body[0..2].copy_from_slice(&cap.to_le_bytes());
    wmask[2..4].copy_from_slice(&c.capabilities.to_le_bytes());
    for i in 0..usize::from(c.egress_bits) {
        if let Some(b) = wmask.get_mut(4 + i / 8) {
            *b |= 1 << (i % 8);
        }
    }
    let body = body.get(..len).ok_or(CfgError::BadAccess)?;
    let wmask = wmask.get(..len).ok_or(CfgError::BadAccess)?;
    cs.add_ext_capability(EXT_CAP_ID_ACS, 1, body, wmask)
}

/// The ACS Control register of the capability at `off`.
pub fn control(cs: &ConfigSpace, off: u16) -> u16 {
    cs.read(off + ACS_CTRL, 2).unwrap_or(0) as u16
}

/// Whether the ACS capability at `off` redirects or blocks peer-to-peer traffic (P2P Request
/// Redirect, P2P Completion Redirect or P2P Egress Control enabled): what makes Linux's
/// P2PDMA refuse a path through this port.
pub fn blocks_p2p(cs: &ConfigSpace, off: u16) -> bool {
    control(cs, off) & (ACS_RR | ACS_CR | ACS_EC) != 0
}
