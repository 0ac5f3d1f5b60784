// SPDX-License-Identifier: GPL-2.0

//! Serialization of a [`Topology`] into an ACPI NFIT.

use super::super::le::put;
use super::layout::{
    block_window as bdw, capabilities as cap, control_region as dcr_f, element, flush, header,
    interleave as idt_f, memdev, smbios, spa as spa_f, table,
};
use super::structure_type as ty;
use super::topology::{ControlRegion, Dimm, Mapping, Spa, Topology, TopologyError};
use super::{flags, REVISION, SIGNATURE};

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
        spa_f::LEN_COOKIE
    } else {
        spa_f::LEN
    }
}

fn dcr_len(dcr: &ControlRegion) -> usize {
    if dcr.block.is_some() {
        dcr_f::LEN
    } else {
        dcr_f::LEN_SHORT
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
        header::TYPE.set(s, kind);
        header::LENGTH.set(s, u16::try_from(n).unwrap_or(u16::MAX));
        s
    }
}

impl Topology<'_> {
    /// Bytes the NFIT structures take (the table without its 40-byte header), saturating.
    pub fn structures_len(&self) -> usize {
        [
            total(self.spas, spa_len),
            total(self.mappings, |_| memdev::LEN),
            total(self.interleaves, |i| {
                i.line_offsets
                    .len()
                    .saturating_mul(idt_f::LINE_OFFSET.width())
                    .saturating_add(idt_f::LEN)
            }),
            total(self.smbios, |b| b.len().saturating_add(smbios::LEN)),
            total(self.control_regions, dcr_len),
            total(self.block_windows, |_| bdw::LEN),
            total(self.flush_hints, |f| {
                f.addresses
                    .len()
                    .saturating_mul(flush::HINT_ADDRESS.width())
                    .saturating_add(flush::LEN)
            }),
            if self.capabilities.is_some() {
                cap::LEN
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
        self.structures_len().saturating_add(table::LEN)
    }

    /// Writes the complete ACPI NFIT (header, structures, checksum) at the start of `buf`
    /// and returns its length. Bytes of `buf` beyond it are left alone.
    pub fn write_table(&self, buf: &mut [u8]) -> Result<usize, WriteError> {
        self.validate()?;
        let needed = self.table_len();
        let out = buf
            .get_mut(..needed)
            .ok_or(WriteError::BufferTooSmall { needed })?;
        let (head, body) = out.split_at_mut(table::LEN.min(needed));
        head.fill(0);
        table::SIGNATURE.set(head, SIGNATURE);
        table::LENGTH.set(head, u32::try_from(needed).unwrap_or(u32::MAX));
        table::REVISION.set(head, REVISION);
        table::OEM_ID.set(head, self.oem.id);
        table::OEM_TABLE_ID.set(head, self.oem.table_id);
        table::OEM_REVISION.set(head, self.oem.revision);
        table::CREATOR_ID.set(head, self.oem.creator_id);
        table::CREATOR_REVISION.set(head, self.oem.creator_revision);
        self.write_body(body);
        let sum = checksum(out);
        table::CHECKSUM.set(out, sum);
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
            let lines = idt.line_offsets.len();
            let n = idt_f::LEN + idt_f::LINE_OFFSET.width() * lines;
            let s = out.start(ty::INTERLEAVE, n);
            idt_f::INTERLEAVE_INDEX.set(s, idt.index);
            idt_f::LINE_COUNT.set(s, u32::try_from(lines).unwrap_or(0));
            idt_f::LINE_SIZE.set(s, idt.line_size);
            for (k, off) in idt.line_offsets.iter().enumerate() {
                if let Some(f) = element(idt_f::LINE_OFFSET, k) {
                    f.set(s, *off);
                }
            }
        }
        for blob in self.smbios {
            let s = out.start(ty::SMBIOS, smbios::LEN + blob.len());
            put(s, smbios::DATA.offset(), blob);
        }
        for dcr in self.control_regions {
            if let Some(dimm) = self.dimm(dcr.dimm) {
                write_dcr(&mut out, dcr, dimm);
            }
        }
        for w in self.block_windows {
            let s = out.start(ty::BLOCK_WINDOW, bdw::LEN);
            bdw::REGION_INDEX.set(s, w.region_index);
            bdw::WINDOWS.set(s, w.windows);
            bdw::OFFSET.set(s, w.offset);
            bdw::SIZE.set(s, w.size);
            bdw::CAPACITY.set(s, w.capacity);
            bdw::START_ADDRESS.set(s, w.start_address);
        }
        for f in self.flush_hints {
            let hints = f.addresses.len();
            let s = out.start(ty::FLUSH, flush::LEN + flush::HINT_ADDRESS.width() * hints);
            flush::DEVICE_HANDLE.set(s, f.dimm.0);
            flush::HINT_COUNT.set(s, u16::try_from(hints).unwrap_or(0));
            for (k, a) in f.addresses.iter().enumerate() {
                if let Some(field) = element(flush::HINT_ADDRESS, k) {
                    field.set(s, self.base.wrapping_add(*a));
                }
            }
        }
        if let Some(c) = self.capabilities {
            let s = out.start(ty::CAPABILITIES, cap::LEN);
            cap::HIGHEST_CAPABILITY.set(s, c.highest_capability);
            cap::CAPABILITIES.set(s, c.capabilities);
        }
    }

    fn write_spa(&self, out: &mut Out<'_>, spa: &Spa) {
        let s = out.start(ty::SPA, spa_len(spa));
        spa_f::RANGE_INDEX.set(s, spa.range_index);
        let cookie = match spa.location_cookie {
            Some(_) => flags::SPA_LOCATION_COOKIE_VALID,
            None => 0,
        };
        spa_f::FLAGS.set(s, spa.flags | cookie);
        spa_f::PROXIMITY_DOMAIN.set(s, spa.proximity_domain);
        spa_f::RANGE_GUID.set(s, spa.range_type.0);
        spa_f::ADDRESS.set(s, self.base.wrapping_add(spa.address));
        spa_f::LENGTH.set(s, spa.length);
        spa_f::MEMORY_MAPPING.set(s, spa.memory_attributes);
        if let Some(c) = spa.location_cookie {
            spa_f::LOCATION_COOKIE.set(s, c);
        }
    }
}

fn write_memdev(out: &mut Out<'_>, m: &Mapping, dimm: &Dimm) {
    let s = out.start(ty::MEMDEV, memdev::LEN);
    memdev::DEVICE_HANDLE.set(s, m.dimm.0);
    memdev::PHYSICAL_ID.set(s, dimm.physical_id);
    memdev::REGION_ID.set(s, m.region_id);
    memdev::RANGE_INDEX.set(s, m.range_index);
    memdev::REGION_INDEX.set(s, m.region_index);
    memdev::REGION_SIZE.set(s, m.region_size);
    memdev::REGION_OFFSET.set(s, m.region_offset);
    memdev::ADDRESS.set(s, m.dpa);
    memdev::INTERLEAVE_INDEX.set(s, m.interleave_index);
    memdev::INTERLEAVE_WAYS.set(s, m.interleave_ways);
    memdev::FLAGS.set(s, m.flags);
}

fn write_dcr(out: &mut Out<'_>, dcr: &ControlRegion, dimm: &Dimm) {
    let s = out.start(ty::CONTROL_REGION, dcr_len(dcr));
    dcr_f::REGION_INDEX.set(s, dcr.region_index);
    dcr_f::VENDOR_ID.set(s, dimm.vendor_id);
    dcr_f::DEVICE_ID.set(s, dimm.device_id);
    dcr_f::REVISION_ID.set(s, dimm.revision_id);
    dcr_f::SUBSYSTEM_VENDOR_ID.set(s, dimm.subsystem_vendor_id);
    dcr_f::SUBSYSTEM_DEVICE_ID.set(s, dimm.subsystem_device_id);
    dcr_f::SUBSYSTEM_REVISION_ID.set(s, dimm.subsystem_revision_id);
    if let Some(mfg) = dimm.manufacturing {
        dcr_f::VALID_FIELDS.set(s, flags::DCR_MFG_INFO_VALID);
        dcr_f::MANUFACTURING_LOCATION.set(s, mfg.location);
        dcr_f::MANUFACTURING_DATE.set(s, mfg.date.to_be_bytes());
    }
    dcr_f::SERIAL_NUMBER.set(s, dimm.serial_number);
    dcr_f::CODE.set(s, dcr.format_code);
    if let Some(b) = dcr.block {
        dcr_f::WINDOWS.set(s, b.windows);
        dcr_f::WINDOW_SIZE.set(s, b.window_size);
        dcr_f::COMMAND_OFFSET.set(s, b.command_offset);
        dcr_f::COMMAND_SIZE.set(s, b.command_size);
        dcr_f::STATUS_OFFSET.set(s, b.status_offset);
        dcr_f::STATUS_SIZE.set(s, b.status_size);
        dcr_f::FLAGS.set(s, b.flags);
    }
}
