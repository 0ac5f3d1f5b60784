// SPDX-License-Identifier: GPL-2.0

//! Serialization of a [`Topology`] into an ACPI NFIT.

use super::super::le::{put, put_u16, put_u32, put_u64, put_u8};
use super::structure_len as len;
use super::structure_type as ty;
use super::topology::{ControlRegion, Dimm, Mapping, Spa, Topology, TopologyError};
use super::{flags, HEADER_LEN, REVISION, SIGNATURE};

/// Why a table could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The description is invalid.
    Invalid(TopologyError),
    /// The buffer is shorter than the `needed` bytes.
    BufferTooSmall {
        /// Bytes the table (or the structures) take.
        needed: usize,
    },
}

impl From<TopologyError> for WriteError {
    fn from(e: TopologyError) -> WriteError {
        WriteError::Invalid(e)
    }
}

/// The value of a checksum byte that makes the byte sum of `bytes` plus it zero (so a table
/// whose checksum field holds `checksum` of the other bytes sums to zero).
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes
        .iter()
        .fold(0u8, |sum, b| sum.wrapping_add(*b))
        .wrapping_neg()
}

fn spa_len(spa: &Spa) -> usize {
    if spa.location_cookie.is_some() {
        len::SPA_COOKIE
    } else {
        len::SPA
    }
}

fn dcr_len(dcr: &ControlRegion) -> usize {
    if dcr.block.is_some() {
        len::CONTROL_REGION
    } else {
        len::CONTROL_REGION_SHORT
    }
}

/// Sum of `f` over `items`, saturating.
fn total<T>(items: &[T], f: impl Fn(&T) -> usize) -> usize {
    items.iter().fold(0usize, |acc, x| acc.saturating_add(f(x)))
}

/// Where a structure is written: a cursor over the output that never panics.
struct Out<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Out<'_> {
    /// Zeroes the next `n` bytes, writes the structure header, and returns the structure's
    /// bytes (empty if it does not fit, which callers rule out by sizing first).
    fn start(&mut self, kind: u16, n: usize) -> &mut [u8] {
        let start = self.pos;
        self.pos = self.pos.saturating_add(n);
        let s = match self.buf.get_mut(start..self.pos) {
            Some(s) => s,
            None => return &mut [],
        };
        s.fill(0);
        put_u16(s, 0, kind);
        put_u16(s, 2, u16::try_from(n).unwrap_or(u16::MAX));
        s
    }
}

impl Topology<'_> {
    /// Bytes the NFIT structures take (the table without its 40-byte header), saturating.
    pub fn structures_len(&self) -> usize {
        [
            total(self.spas, spa_len),
            total(self.mappings, |_| len::MEMDEV),
            total(self.interleaves, |i| {
                i.line_offsets
                    .len()
                    .saturating_mul(4)
                    .saturating_add(len::INTERLEAVE)
            }),
            total(self.smbios, |b| b.len().saturating_add(len::SMBIOS)),
            total(self.control_regions, dcr_len),
            total(self.block_windows, |_| len::BLOCK_WINDOW),
            total(self.flush_hints, |f| {
                f.addresses
                    .len()
                    .saturating_mul(8)
                    .saturating_add(len::FLUSH)
            }),
            if self.capabilities.is_some() {
                len::CAPABILITIES
            } else {
                0
            },
        ]
        .into_iter()
        .fold(0usize, usize::saturating_add)
    }

    /// Bytes the complete table takes, saturating: the buffer size
    /// [`Topology::write_table`] needs.
    pub fn table_len(&self) -> usize {
        self.structures_len().saturating_add(HEADER_LEN)
    }

    /// Writes the complete ACPI NFIT (header, structures, checksum) at the start of `buf`
    /// and returns its length. Bytes of `buf` beyond it are left alone.
    pub fn write_table(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        self.validate()?;
        let needed = self.table_len();
        let out = buf
            .get_mut(..needed)
            .ok_or(WriteError::BufferTooSmall { needed })?;
        let (head, body) = out.split_at_mut(HEADER_LEN.min(needed));
        head.fill(0);
        put(head, 0, &SIGNATURE);
        put_u32(head, 4, u32::try_from(needed).unwrap_or(u32::MAX));
        put_u8(head, 8, REVISION);
        put(head, 10, &self.oem.id);
        put(head, 16, &self.oem.table_id);
        put_u32(head, 24, self.oem.revision);
        put(head, 28, &self.oem.creator_id);
        put_u32(head, 32, self.oem.creator_revision);
        self.write_body(body);
        let sum = checksum(out);
        if let Some(c) = out.get_mut(9) {
            *c = sum;
        }
        Ok(needed)
    }

    /// Writes only the NFIT structures (what `_FIT` returns) at the start of `buf` and
    /// returns their length.
    pub fn write_structures(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        self.validate()?;
        let needed = self.structures_len();
        let out = buf
            .get_mut(..needed)
            .ok_or(WriteError::BufferTooSmall { needed })?;
        self.write_body(out);
        Ok(needed)
    }

    /// Writes the structures of a validated description into `buf`, which is exactly
    /// [`Topology::structures_len`] bytes long.
    fn write_body(&self, buf: &mut [u8]) {
        let mut out = Out { buf, pos: 0 };
        for spa in self.spas {
            self.write_spa(&mut out, spa);
        }
        for m in self.mappings {
            if let Some(dimm) = self.dimm(m.dimm) {
                write_memdev(&mut out, m, dimm);
            }
        }
        for idt in self.interleaves {
            let n = len::INTERLEAVE + 4 * idt.line_offsets.len();
            let s = out.start(ty::INTERLEAVE, n);
            put_u16(s, 4, idt.index);
            put_u32(s, 8, u32::try_from(idt.line_offsets.len()).unwrap_or(0));
            put_u32(s, 12, idt.line_size);
            for (k, off) in idt.line_offsets.iter().enumerate() {
                put_u32(s, len::INTERLEAVE + 4 * k, *off);
            }
        }
        for blob in self.smbios {
            let s = out.start(ty::SMBIOS, len::SMBIOS + blob.len());
            put(s, len::SMBIOS, blob);
        }
        for dcr in self.control_regions {
            if let Some(dimm) = self.dimm(dcr.dimm) {
                write_dcr(&mut out, dcr, dimm);
            }
        }
        for bdw in self.block_windows {
            let s = out.start(ty::BLOCK_WINDOW, len::BLOCK_WINDOW);
            put_u16(s, 4, bdw.region_index);
            put_u16(s, 6, bdw.windows);
            put_u64(s, 8, bdw.offset);
            put_u64(s, 16, bdw.size);
            put_u64(s, 24, bdw.capacity);
            put_u64(s, 32, bdw.start_address);
        }
        for f in self.flush_hints {
            let s = out.start(ty::FLUSH, len::FLUSH + 8 * f.addresses.len());
            put_u32(s, 4, f.dimm.0);
            put_u16(s, 8, u16::try_from(f.addresses.len()).unwrap_or(0));
            for (k, a) in f.addresses.iter().enumerate() {
                put_u64(s, len::FLUSH + 8 * k, self.base.wrapping_add(*a));
            }
        }
        if let Some(cap) = self.capabilities {
            let s = out.start(ty::CAPABILITIES, len::CAPABILITIES);
            put_u8(s, 4, cap.highest_capability);
            put_u32(s, 8, cap.capabilities);
        }
    }

    fn write_spa(&self, out: &mut Out<'_>, spa: &Spa) {
        let s = out.start(ty::SPA, spa_len(spa));
        put_u16(s, 4, spa.range_index);
        let cookie = match spa.location_cookie {
            Some(_) => flags::SPA_LOCATION_COOKIE_VALID,
            None => 0,
        };
        put_u16(s, 6, spa.flags | cookie);
        put_u32(s, 12, spa.proximity_domain);
        put(s, 16, &spa.range_type.0);
        put_u64(s, 32, self.base.wrapping_add(spa.address));
        put_u64(s, 40, spa.length);
        put_u64(s, 48, spa.memory_attributes);
        if let Some(c) = spa.location_cookie {
            put_u64(s, 56, c);
        }
    }
}

fn write_memdev(out: &mut Out<'_>, m: &Mapping, dimm: &Dimm) {
    let s = out.start(ty::MEMDEV, len::MEMDEV);
    put_u32(s, 4, m.dimm.0);
    put_u16(s, 8, dimm.physical_id);
    put_u16(s, 10, m.region_id);
    put_u16(s, 12, m.range_index);
    put_u16(s, 14, m.region_index);
    put_u64(s, 16, m.region_size);
    put_u64(s, 24, m.region_offset);
    put_u64(s, 32, m.dpa);
    put_u16(s, 40, m.interleave_index);
    put_u16(s, 42, m.interleave_ways);
    put_u16(s, 44, m.flags);
}

fn write_dcr(out: &mut Out<'_>, dcr: &ControlRegion, dimm: &Dimm) {
    let s = out.start(ty::CONTROL_REGION, dcr_len(dcr));
    put_u16(s, 4, dcr.region_index);
    put_u16(s, 6, dimm.vendor_id);
    put_u16(s, 8, dimm.device_id);
    put_u16(s, 10, dimm.revision_id);
    put_u16(s, 12, dimm.subsystem_vendor_id);
    put_u16(s, 14, dimm.subsystem_device_id);
    put_u16(s, 16, dimm.subsystem_revision_id);
    if let Some(mfg) = dimm.manufacturing {
        put_u8(s, 18, flags::DCR_MFG_INFO_VALID);
        put_u8(s, 19, mfg.location);
        put(s, 20, &mfg.date.to_be_bytes());
    }
    put_u32(s, 24, dimm.serial_number);
    put_u16(s, 28, dcr.format_code);
    if let Some(b) = dcr.block {
        put_u16(s, 30, b.windows);
        put_u64(s, 32, b.window_size);
        put_u64(s, 40, b.command_offset);
        put_u64(s, 48, b.command_size);
        put_u64(s, 56, b.status_offset);
        put_u64(s, 64, b.status_size);
        put_u16(s, 72, b.flags);
    }
}
