// SPDX-License-Identifier: GPL-2.0

//! Parsing of an ACPI NFIT: header checks and an iterator over the structures.

use super::layout::{
    block_window as bdw_f, capabilities as cap, control_region as dcr_f, element, flush as flush_f,
    header, interleave as idt_f, memdev as memdev_f, smbios, spa as spa_f, table, Field,
};
use super::structure_type as ty;
use super::table::checksum;
use super::topology::{BlockControl, BlockWindow, Capabilities, Oem, Spa};
use super::{flags, DeviceHandle, Guid, REVISION, SIGNATURE};

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

/// A line offset, relative to the first (the interleave structure's array).
const LINE: Field<u32> = idt_f::LINE_OFFSET.moved(0);
/// A hint address, relative to the first (the flush hint structure's array).
const HINT: Field<u64> = flush_f::HINT_ADDRESS.moved(0);

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
        self.lines.len() / LINE.width()
    }

    /// Line offset `i`.
    pub fn line_offset(&self, i: usize) -> Option<u32> {
        let f = element(LINE, i)?;
        self.lines
            .get(f.offset()..f.offset().checked_add(f.width())?)?;
        Some(f.get(self.lines))
    }

    /// The line offsets in order.
    pub fn line_offsets(&self) -> impl Iterator<Item = u32> + 'a {
        self.lines.chunks_exact(LINE.width()).map(|c| LINE.get(c))
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
        self.hints.len() / HINT.width()
    }

    /// Hint address `i`.
    pub fn address(&self, i: usize) -> Option<u64> {
        let f = element(HINT, i)?;
        self.hints
            .get(f.offset()..f.offset().checked_add(f.width())?)?;
        Some(f.get(self.hints))
    }

    /// The hint addresses in order.
    pub fn addresses(&self) -> impl Iterator<Item = u64> + 'a {
        self.hints.chunks_exact(HINT.width()).map(|c| HINT.get(c))
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
        if rest.len() < header::LEN {
            return Err(ParseError::Truncated { offset });
        }
        let kind = header::TYPE.get(rest);
        let n = usize::from(header::LENGTH.get(rest));
        let bad_len = ParseError::StructureLength { offset, kind };
        if n < header::LEN {
            return Err(bad_len);
        }
        let s = rest.get(..n).ok_or(ParseError::Truncated { offset })?;
        let structure = match kind {
            ty::SPA => Structure::Spa(spa(s).ok_or(bad_len)?),
            ty::MEMDEV if n == memdev_f::LEN => Structure::Memdev(memdev(s)),
            ty::INTERLEAVE => Structure::Interleave(interleave(s).ok_or(bad_len)?),
            ty::SMBIOS => Structure::Smbios(s.get(smbios::DATA.offset()..).ok_or(bad_len)?),
            ty::CONTROL_REGION => Structure::ControlRegion(dcr(s).ok_or(bad_len)?),
            ty::BLOCK_WINDOW if n == bdw_f::LEN => Structure::BlockWindow(bdw(s)),
            ty::FLUSH => Structure::Flush(flush(s).ok_or(bad_len)?),
            ty::CAPABILITIES if n == cap::LEN => Structure::Capabilities(Capabilities {
                highest_capability: cap::HIGHEST_CAPABILITY.get(s),
                capabilities: cap::CAPABILITIES.get(s),
            }),
            ty::MEMDEV | ty::BLOCK_WINDOW | ty::CAPABILITIES => return Err(bad_len),
            _ => return Err(ParseError::UnknownType { offset, kind }),
        };
        Ok((structure, n))
    }
}

fn spa(s: &[u8]) -> Option<Spa> {
    let raw_flags = spa_f::FLAGS.get(s);
    let has_cookie = raw_flags & flags::SPA_LOCATION_COOKIE_VALID != 0;
    let want = if has_cookie {
        spa_f::LEN_COOKIE
    } else {
        spa_f::LEN
    };
    if s.len() != want {
        return None;
    }
    Some(Spa {
        range_index: spa_f::RANGE_INDEX.get(s),
        flags: raw_flags & !flags::SPA_LOCATION_COOKIE_VALID,
        proximity_domain: spa_f::PROXIMITY_DOMAIN.get(s),
        range_type: Guid(spa_f::RANGE_GUID.get(s)),
        address: spa_f::ADDRESS.get(s),
        length: spa_f::LENGTH.get(s),
        memory_attributes: spa_f::MEMORY_MAPPING.get(s),
        location_cookie: has_cookie.then(|| spa_f::LOCATION_COOKIE.get(s)),
    })
}

fn memdev(s: &[u8]) -> Memdev {
    Memdev {
        device_handle: DeviceHandle(memdev_f::DEVICE_HANDLE.get(s)),
        physical_id: memdev_f::PHYSICAL_ID.get(s),
        region_id: memdev_f::REGION_ID.get(s),
        range_index: memdev_f::RANGE_INDEX.get(s),
        region_index: memdev_f::REGION_INDEX.get(s),
        region_size: memdev_f::REGION_SIZE.get(s),
        region_offset: memdev_f::REGION_OFFSET.get(s),
        address: memdev_f::ADDRESS.get(s),
        interleave_index: memdev_f::INTERLEAVE_INDEX.get(s),
        interleave_ways: memdev_f::INTERLEAVE_WAYS.get(s),
        flags: memdev_f::FLAGS.get(s),
    }
}

fn interleave(s: &[u8]) -> Option<InterleaveView<'_>> {
    let lines = s.get(idt_f::LEN..)?;
    let count = usize::try_from(idt_f::LINE_COUNT.get(s)).ok()?;
    if Some(lines.len()) != count.checked_mul(LINE.width()) {
        return None;
    }
    Some(InterleaveView {
        interleave_index: idt_f::INTERLEAVE_INDEX.get(s),
        line_size: idt_f::LINE_SIZE.get(s),
        lines,
    })
}

fn dcr(s: &[u8]) -> Option<Dcr> {
    let windows = dcr_f::WINDOWS.get(s);
    let full = match s.len() {
        dcr_f::LEN_SHORT if windows == 0 => false,
        dcr_f::LEN => true,
        _ => return None,
    };
    let block = (full && windows != 0).then(|| BlockControl {
        windows,
        window_size: dcr_f::WINDOW_SIZE.get(s),
        command_offset: dcr_f::COMMAND_OFFSET.get(s),
        command_size: dcr_f::COMMAND_SIZE.get(s),
        status_offset: dcr_f::STATUS_OFFSET.get(s),
        status_size: dcr_f::STATUS_SIZE.get(s),
        flags: dcr_f::FLAGS.get(s),
    });
    Some(Dcr {
        region_index: dcr_f::REGION_INDEX.get(s),
        vendor_id: dcr_f::VENDOR_ID.get(s),
        device_id: dcr_f::DEVICE_ID.get(s),
        revision_id: dcr_f::REVISION_ID.get(s),
        subsystem_vendor_id: dcr_f::SUBSYSTEM_VENDOR_ID.get(s),
        subsystem_device_id: dcr_f::SUBSYSTEM_DEVICE_ID.get(s),
        subsystem_revision_id: dcr_f::SUBSYSTEM_REVISION_ID.get(s),
        valid_fields: dcr_f::VALID_FIELDS.get(s),
        manufacturing_location: dcr_f::MANUFACTURING_LOCATION.get(s),
        manufacturing_date: u16::from_be_bytes(dcr_f::MANUFACTURING_DATE.get(s)),
        serial_number: dcr_f::SERIAL_NUMBER.get(s),
        code: dcr_f::CODE.get(s),
        block,
    })
}

fn bdw(s: &[u8]) -> BlockWindow {
    BlockWindow {
        region_index: bdw_f::REGION_INDEX.get(s),
        windows: bdw_f::WINDOWS.get(s),
        offset: bdw_f::OFFSET.get(s),
        size: bdw_f::SIZE.get(s),
        capacity: bdw_f::CAPACITY.get(s),
        start_address: bdw_f::START_ADDRESS.get(s),
    }
}

fn flush(s: &[u8]) -> Option<FlushView<'_>> {
    let hints = s.get(flush_f::LEN..)?;
    let count = usize::from(flush_f::HINT_COUNT.get(s));
    if Some(hints.len()) != count.checked_mul(HINT.width()) {
        return None;
    }
    Some(FlushView {
        device_handle: DeviceHandle(flush_f::DEVICE_HANDLE.get(s)),
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
    if bytes.len() < table::LEN {
        return Err(ParseError::Short);
    }
    if table::SIGNATURE.get(bytes) != SIGNATURE {
        return Err(ParseError::Signature);
    }
    let length = table::LENGTH.get(bytes);
    if usize::try_from(length).ok() != Some(bytes.len()) {
        return Err(ParseError::Length);
    }
    let revision = table::REVISION.get(bytes);
    if revision != REVISION {
        return Err(ParseError::Revision);
    }
    if checksum(bytes) != 0 {
        return Err(ParseError::Checksum);
    }
    let body = bytes.get(table::LEN..).unwrap_or(&[]);
    for s in structures(body) {
        s?;
    }
    Ok(Table {
        header: Header {
            length,
            revision,
            checksum: table::CHECKSUM.get(bytes),
            oem: Oem {
                id: table::OEM_ID.get(bytes),
                table_id: table::OEM_TABLE_ID.get(bytes),
                revision: table::OEM_REVISION.get(bytes),
                creator_id: table::CREATOR_ID.get(bytes),
                creator_revision: table::CREATOR_REVISION.get(bytes),
            },
        },
        body,
    })
}
