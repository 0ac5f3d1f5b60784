// SPDX-License-Identifier: GPL-2.0

//! Parsing of an ACPI NFIT: header checks and an iterator over the structures.

use super::super::le::{array, u16_at, u32_at, u64_at, u8_at};
use super::structure_len as len;
use super::structure_type as ty;
use super::table::checksum;
use super::topology::{BlockControl, BlockWindow, Capabilities, Oem, Spa};
use super::{flags, DeviceHandle, Guid, HEADER_LEN, REVISION, SIGNATURE};

/// Why a table or a structure was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer bytes than the 40-byte header.
    Short,
    /// The signature is not "NFIT".
    Signature,
    /// The header's length is not the slice's length.
    Length,
    /// The revision is not 1.
    Revision,
    /// The bytes do not sum to zero.
    Checksum,
    /// The structure at `offset` (into the structures) runs past their end, or fewer than 4
    /// bytes are left for its header.
    Truncated {
        /// Offset of the structure.
        offset: usize,
    },
    /// The structure at `offset` has a length its type does not allow.
    StructureLength {
        /// Offset of the structure.
        offset: usize,
        /// Its type.
        kind: u16,
    },
    /// The structure at `offset` has a reserved type (8 or above).
    UnknownType {
        /// Offset of the structure.
        offset: usize,
        /// Its type.
        kind: u16,
    },
}

/// The ACPI table header of an NFIT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Length of the table in bytes.
    pub length: u32,
    /// Revision.
    pub revision: u8,
    /// Checksum byte.
    pub checksum: u8,
    /// OEM fields.
    pub oem: Oem,
}

/// A memory device to SPA range mapping structure, as the table holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memdev {
    /// Device handle of the DIMM.
    pub device_handle: DeviceHandle,
    /// SMBIOS physical id of the DIMM.
    pub physical_id: u16,
    /// Region id on the DIMM.
    pub region_id: u16,
    /// SPA range index (0: not mapped).
    pub range_index: u16,
    /// Control region index (0: none).
    pub region_index: u16,
    /// Region size.
    pub region_size: u64,
    /// Region offset.
    pub region_offset: u64,
    /// DPA where the region starts.
    pub address: u64,
    /// Interleave table index (0: none).
    pub interleave_index: u16,
    /// Interleave ways.
    pub interleave_ways: u16,
    /// Memory device state flags.
    pub flags: u16,
}

/// A control region structure, as the table holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dcr {
    /// Control region index.
    pub region_index: u16,
    /// Vendor id.
    pub vendor_id: u16,
    /// Device id.
    pub device_id: u16,
    /// Revision id.
    pub revision_id: u16,
    /// Subsystem vendor id.
    pub subsystem_vendor_id: u16,
    /// Subsystem device id.
    pub subsystem_device_id: u16,
    /// Subsystem revision id.
    pub subsystem_revision_id: u16,
    /// Valid fields ([`flags::DCR_MFG_INFO_VALID`]).
    pub valid_fields: u8,
    /// Manufacturing location.
    pub manufacturing_location: u8,
    /// Manufacturing date, read big-endian as Linux does.
    pub manufacturing_date: u16,
    /// Serial number.
    pub serial_number: u32,
    /// Format interface code.
    pub code: u16,
    /// Block control fields: present when the structure is 80 bytes with windows.
    pub block: Option<BlockControl>,
}

/// An interleave structure, borrowed from the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterleaveView<'a> {
    /// Interleave index.
    pub interleave_index: u16,
    /// Line size.
    pub line_size: u32,
    lines: &'a [u8],
}

impl<'a> InterleaveView<'a> {
    /// Number of line offsets.
    pub fn line_count(&self) -> usize {
        self.lines.len() / 4
    }

    /// Line offset `i`.
    pub fn line_offset(&self, i: usize) -> Option<u32> {
        let off = i.checked_mul(4)?;
        self.lines.get(off..off.checked_add(4)?)?;
        Some(u32_at(self.lines, off))
    }

    /// The line offsets in order.
    pub fn line_offsets(&self) -> impl Iterator<Item = u32> + 'a {
        self.lines.chunks_exact(4).map(|c| u32_at(c, 0))
    }
}

/// A flush hint structure, borrowed from the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushView<'a> {
    /// Device handle of the DIMM.
    pub device_handle: DeviceHandle,
    hints: &'a [u8],
}

impl<'a> FlushView<'a> {
    /// Number of hint addresses.
    pub fn hint_count(&self) -> usize {
        self.hints.len() / 8
    }

    /// Hint address `i`.
    pub fn address(&self, i: usize) -> Option<u64> {
        let off = i.checked_mul(8)?;
        self.hints.get(off..off.checked_add(8)?)?;
        Some(u64_at(self.hints, off))
    }

    /// The hint addresses in order.
    pub fn addresses(&self) -> impl Iterator<Item = u64> + 'a {
        self.hints.chunks_exact(8).map(|c| u64_at(c, 0))
    }
}

/// One NFIT structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Structure<'a> {
    /// SPA range, with its absolute address; flag bit 2 is reflected in
    /// [`Spa::location_cookie`] and cleared from [`Spa::flags`].
    Spa(Spa),
    /// Memory device to SPA range mapping.
    Memdev(Memdev),
    /// Interleave table.
    Interleave(InterleaveView<'a>),
    /// SMBIOS management information: the data after the 8-byte header.
    Smbios(&'a [u8]),
    /// Control region.
    ControlRegion(Dcr),
    /// Block data window region.
    BlockWindow(BlockWindow),
    /// Flush hint addresses.
    Flush(FlushView<'a>),
    /// Platform capabilities.
    Capabilities(Capabilities),
}

/// An iterator over NFIT structures; it yields the first error and then stops.
#[derive(Clone, Debug)]
pub struct Structures<'a> {
    body: &'a [u8],
    pos: usize,
    failed: bool,
}

/// Iterates over the structures in `body` (structures only, without the table header, as
/// `_FIT` returns them).
pub fn structures(body: &[u8]) -> Structures<'_> {
    Structures {
        body,
        pos: 0,
        failed: false,
    }
}

impl<'a> Iterator for Structures<'a> {
    type Item = Result<Structure<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.body.len() {
            return None;
        }
        let offset = self.pos;
        let r = self.decode(offset);
        match r {
            Ok((_, n)) => self.pos = offset.saturating_add(n),
            Err(_) => self.failed = true,
        }
        Some(r.map(|(s, _)| s))
    }
}

impl<'a> Structures<'a> {
    /// Decodes the structure at `offset` and returns it with its length.
    fn decode(&self, offset: usize) -> Result<(Structure<'a>, usize), ParseError> {
        let rest = self.body.get(offset..).unwrap_or(&[]);
        if rest.len() < 4 {
            return Err(ParseError::Truncated { offset });
        }
        let kind = u16_at(rest, 0);
        let n = usize::from(u16_at(rest, 2));
        let bad_len = ParseError::StructureLength { offset, kind };
        if n < 4 {
            return Err(bad_len);
        }
        let s = rest.get(..n).ok_or(ParseError::Truncated { offset })?;
        let structure = match kind {
            ty::SPA => Structure::Spa(spa(s).ok_or(bad_len)?),
            ty::MEMDEV if n == len::MEMDEV => Structure::Memdev(memdev(s)),
            ty::INTERLEAVE => Structure::Interleave(interleave(s).ok_or(bad_len)?),
            ty::SMBIOS => Structure::Smbios(s.get(len::SMBIOS..).ok_or(bad_len)?),
            ty::CONTROL_REGION => Structure::ControlRegion(dcr(s).ok_or(bad_len)?),
            ty::BLOCK_WINDOW if n == len::BLOCK_WINDOW => Structure::BlockWindow(bdw(s)),
            ty::FLUSH => Structure::Flush(flush(s).ok_or(bad_len)?),
            ty::CAPABILITIES if n == len::CAPABILITIES => Structure::Capabilities(Capabilities {
                highest_capability: u8_at(s, 4),
                capabilities: u32_at(s, 8),
            }),
            ty::MEMDEV | ty::BLOCK_WINDOW | ty::CAPABILITIES => return Err(bad_len),
            _ => return Err(ParseError::UnknownType { offset, kind }),
        };
        Ok((structure, n))
    }
}

fn spa(s: &[u8]) -> Option<Spa> {
    let raw_flags = u16_at(s, 6);
    let has_cookie = raw_flags & flags::SPA_LOCATION_COOKIE_VALID != 0;
    let want = if has_cookie {
        len::SPA_COOKIE
    } else {
        len::SPA
    };
    if s.len() != want {
        return None;
    }
    Some(Spa {
        range_index: u16_at(s, 4),
        flags: raw_flags & !flags::SPA_LOCATION_COOKIE_VALID,
        proximity_domain: u32_at(s, 12),
        range_type: Guid(array(s, 16)),
        address: u64_at(s, 32),
        length: u64_at(s, 40),
        memory_attributes: u64_at(s, 48),
        location_cookie: has_cookie.then(|| u64_at(s, 56)),
    })
}

fn memdev(s: &[u8]) -> Memdev {
    Memdev {
        device_handle: DeviceHandle(u32_at(s, 4)),
        physical_id: u16_at(s, 8),
        region_id: u16_at(s, 10),
        range_index: u16_at(s, 12),
        region_index: u16_at(s, 14),
        region_size: u64_at(s, 16),
        region_offset: u64_at(s, 24),
        address: u64_at(s, 32),
        interleave_index: u16_at(s, 40),
        interleave_ways: u16_at(s, 42),
        flags: u16_at(s, 44),
    }
}

fn interleave(s: &[u8]) -> Option<InterleaveView<'_>> {
    let lines = s.get(len::INTERLEAVE..)?;
    let count = usize::try_from(u32_at(s, 8)).ok()?;
    if Some(lines.len()) != count.checked_mul(4) {
        return None;
    }
    Some(InterleaveView {
        interleave_index: u16_at(s, 4),
        line_size: u32_at(s, 12),
        lines,
    })
}

fn dcr(s: &[u8]) -> Option<Dcr> {
    let windows = u16_at(s, 30);
    let full = match s.len() {
        len::CONTROL_REGION_SHORT if windows == 0 => false,
        len::CONTROL_REGION => true,
        _ => return None,
    };
    let block = (full && windows != 0).then(|| BlockControl {
        windows,
        window_size: u64_at(s, 32),
        command_offset: u64_at(s, 40),
        command_size: u64_at(s, 48),
        status_offset: u64_at(s, 56),
        status_size: u64_at(s, 64),
        flags: u16_at(s, 72),
    });
    Some(Dcr {
        region_index: u16_at(s, 4),
        vendor_id: u16_at(s, 6),
        device_id: u16_at(s, 8),
        revision_id: u16_at(s, 10),
        subsystem_vendor_id: u16_at(s, 12),
        subsystem_device_id: u16_at(s, 14),
        subsystem_revision_id: u16_at(s, 16),
        valid_fields: u8_at(s, 18),
        manufacturing_location: u8_at(s, 19),
        manufacturing_date: u16::from_be_bytes(array(s, 20)),
        serial_number: u32_at(s, 24),
        code: u16_at(s, 28),
        block,
    })
}

fn bdw(s: &[u8]) -> BlockWindow {
    BlockWindow {
        region_index: u16_at(s, 4),
        windows: u16_at(s, 6),
        offset: u64_at(s, 8),
        size: u64_at(s, 16),
        capacity: u64_at(s, 24),
        start_address: u64_at(s, 32),
    }
}

fn flush(s: &[u8]) -> Option<FlushView<'_>> {
    let hints = s.get(len::FLUSH..)?;
    let count = usize::from(u16_at(s, 8));
    if Some(hints.len()) != count.checked_mul(8) {
        return None;
    }
    Some(FlushView {
        device_handle: DeviceHandle(u32_at(s, 4)),
        hints,
    })
}

/// A checked NFIT: its header, and structures that all decode.
///
/// # Invariants
///
/// `body` is the table after its header, and [`structures`] over it yields no error (only
/// [`parse`] builds a `Table`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table<'a> {
    header: Header,
    body: &'a [u8],
}

impl<'a> Table<'a> {
    /// The table header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The structures' bytes (the table after its 40-byte header).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The structures, in table order ([`parse`] has checked that every one decodes).
    pub fn structures(&self) -> impl Iterator<Item = Structure<'a>> + 'a {
        structures(self.body).map_while(Result::ok)
    }
}

/// Checks an NFIT: at least the header, signature "NFIT", a length equal to `bytes.len()`,
/// revision 1, a zero byte sum, and that every structure decodes.
pub fn parse(bytes: &[u8]) -> Result<Table<'_>, ParseError> {
    if bytes.len() < HEADER_LEN {
        return Err(ParseError::Short);
    }
    if array::<4>(bytes, 0) != SIGNATURE {
        return Err(ParseError::Signature);
    }
    let length = u32_at(bytes, 4);
    if usize::try_from(length).ok() != Some(bytes.len()) {
        return Err(ParseError::Length);
    }
    let revision = u8_at(bytes, 8);
    if revision != REVISION {
        return Err(ParseError::Revision);
    }
    if checksum(bytes) != 0 {
        return Err(ParseError::Checksum);
    }
    let body = bytes.get(HEADER_LEN..).unwrap_or(&[]);
    for s in structures(body) {
        s?;
    }
    Ok(Table {
        header: Header {
            length,
            revision,
            checksum: u8_at(bytes, 9),
            oem: Oem {
                id: array(bytes, 10),
                table_id: array(bytes, 16),
                revision: u32_at(bytes, 24),
                creator_id: array(bytes, 28),
                creator_revision: u32_at(bytes, 32),
            },
        },
        body,
    })
}
