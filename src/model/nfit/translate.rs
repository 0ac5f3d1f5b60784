// SPDX-License-Identifier: GPL-2.0

//! Translate SPA (`NFIT_CMD_TRANSLATE_SPA`, function 5 of the NFIT bus family): which DIMM
//! holds a system physical address, and at which DIMM physical address (DPA). Payload as
//! nfit_test declares it (`struct nd_cmd_translate_spa` in
//! `tools/testing/nvdimm/test/nfit_test.h`).
//!
//! # Decisions
//!
//! - Answered from the topology, not from what the driver made of it: the address must be
//!   in a memory (volatile or persistent) SPA range; the DIMMs are that range's mappings in
//!   the description's order. nfit_test instead looks the address up in libnvdimm's regions
//!   and always names the region's last DIMM, with the offset into the region as its DPA.
//! - A range of N > 1 mappings with an interleave table stripes lines of the first
//!   mapping's table's line size across the mappings in order: line k is on mapping
//!   k mod N, at its DPA + (k / N) lines. Otherwise the mappings are concatenated in order,
//!   each covering its region size from its DPA (for one mapping: DPA = the mapping's DPA +
//!   the offset into the range). An address past the mappings' sizes has no DIMM.
//!   The tables' line offsets and the mappings' region offsets are not used: nfit_test's
//!   values for them are cookie inputs, not a layout.
//! - An address in no memory range answers status 2 (invalid input) and no DIMM, as
//!   nfit_test does; the DSM itself succeeds. The payload needs its 28-byte header and room
//!   for one device entry; the translated length reports header plus entries written.

use super::super::le::{put, put_u32, put_u64, u64_at};
use super::dsm::{Done, DsmError};
use super::Topology;

/// Header: SPA, status, flags, reserved, translated length, number of DIMMs.
pub const HDR_LEN: usize = 28;
/// One device entry: handle, reserved, DPA.
pub const DEVICE_LEN: usize = 16;
/// Status: the address is not in an NVDIMM range.
pub const STATUS_INVALID: u32 = 2;

/// Where an address is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The DIMM's NFIT device handle.
    pub handle: u32,
    /// The DIMM physical address.
    pub dpa: u64,
}

/// Translates the absolute address `spa` with `topo` (whose [`Topology::base`] is set).
pub fn translate(topo: &Topology<'_>, spa: u64) -> Option<Translation> {
    let range = topo.spas.iter().find(|s| {
        let start = topo.base.wrapping_add(s.address);
        s.range_index != 0
            && s.range_type.range_type().is_some_and(|t| t.is_memory())
            && spa >= start
            && spa - start < s.length
    })?;
    let off = spa - topo.base.wrapping_add(range.address);
    let maps = || {
        topo.mappings
            .iter()
            .filter(move |m| m.range_index == range.range_index)
    };
    let ways = maps().count() as u64;
    let first = maps().next()?;
    match topo.interleave(first.interleave_index) {
        Some(t) if ways > 1 && t.line_size > 0 => {
            let line = u64::from(t.line_size);
            let k = off / line;
            let m = maps().nth(usize::try_from(k % ways).ok()?)?;
            Some(Translation {
                handle: m.dimm.0,
                dpa: m.dpa.wrapping_add((k / ways) * line + off % line),
            })
        }
        Some(_) | None => {
            // Concatenated: each mapping covers its region size, in order.
            let mut left = off;
            for m in maps() {
                if left < m.region_size {
                    return Some(Translation {
                        handle: m.dimm.0,
                        dpa: m.dpa.wrapping_add(left),
                    });
                }
                left -= m.region_size;
            }
            None
        }
    }
}

/// Translate SPA on the payload `buf`.
pub fn translate_spa(topo: &Topology<'_>, buf: &mut [u8]) -> Result<Done, DsmError> {
    if buf.len() < HDR_LEN + DEVICE_LEN {
        return Err(DsmError::Invalid);
    }
    let spa = u64_at(buf, 0);
    put(buf, 8, &[0; HDR_LEN - 8]);
    match translate(topo, spa) {
        None => {
            put_u32(buf, 8, STATUS_INVALID);
            put_u64(buf, 16, HDR_LEN as u64);
            Ok(Done::written(HDR_LEN))
        }
        Some(t) => {
            put_u64(buf, 16, (HDR_LEN + DEVICE_LEN) as u64);
            put_u32(buf, 24, 1);
            put_u32(buf, HDR_LEN, t.handle);
            put_u32(buf, HDR_LEN + 4, 0);
            put_u64(buf, HDR_LEN + 8, t.dpa);
            Ok(Done::written(HDR_LEN + DEVICE_LEN))
        }
    }
}
