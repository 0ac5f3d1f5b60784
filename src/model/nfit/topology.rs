// SPDX-License-Identifier: GPL-2.0

//! The declarative description of an NVDIMM bus and its validation.

use super::{flags, DeviceHandle, Guid};

/// Alignment of the DPA ranges and sizes of mappings into memory ranges, and of the bases
/// and lengths of memory ranges: x86's `PAGE_SIZE`, which libnvdimm's `nd_region_create()`
/// demands of every mapping.
pub const MEMORY_ALIGN: u64 = 4096;
/// Most DIMMs interleaved into one SPA range (libnvdimm's `ND_MAX_MAPPINGS`).
pub const MAX_INTERLEAVE_WAYS: usize = 32;
/// Most line offsets in an interleave table (its length must fit the 16-bit length field).
pub const MAX_INTERLEAVE_LINES: usize = (u16::MAX as usize - 16) / 4;
/// Most addresses in a flush hint structure (its length must fit the 16-bit length field).
pub const MAX_FLUSH_HINTS: usize = (u16::MAX as usize - 16) / 8;
/// Most bytes in an SMBIOS structure's data.
pub const MAX_SMBIOS_LEN: usize = u16::MAX as usize - 8;

/// The OEM fields of the ACPI table header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Oem {
    /// OEM ID.
    pub id: [u8; 6],
    /// OEM table ID.
    pub table_id: [u8; 8],
    /// OEM revision.
    pub revision: u32,
    /// Creator (ASL compiler) ID.
    pub creator_id: [u8; 4],
    /// Creator (ASL compiler) revision.
    pub creator_revision: u32,
}

impl Oem {
    /// nvmock's OEM fields: "NVMOCK", "NFITTEST", revision 1, creator "NVMK" revision 1.
    pub const NVMOCK: Oem = Oem {
        id: *b"NVMOCK",
        table_id: *b"NFITTEST",
        revision: 1,
        creator_id: *b"NVMK",
        creator_revision: 1,
    };
}

/// A System Physical Address range (NFIT structure type 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spa {
    /// Range index, referenced by mappings; 0 only for virtual disks and CDs (Linux ignores
    /// any other range with index 0). Non-zero indices are unique.
    pub range_index: u16,
    /// Flags: [`flags::SPA_ADD_ONLINE_ONLY`] and [`flags::SPA_PROXIMITY_VALID`]; bit 2
    /// (location cookie valid) follows [`Spa::location_cookie`] and must not be set here.
    pub flags: u16,
    /// Proximity domain (meaningful with [`flags::SPA_PROXIMITY_VALID`]).
    pub proximity_domain: u32,
    /// Address range type ([`Guid::PERSISTENT`], [`Guid::CONTROL_REGION`], ...).
    pub range_type: Guid,
    /// Base, as an offset from [`Topology::base`] (the parser returns the absolute address).
    pub address: u64,
    /// Length in bytes, not zero.
    pub length: u64,
    /// Address range memory mapping attributes (EFI memory attribute bits).
    pub memory_attributes: u64,
    /// ACPI 6.4 SPA location cookie; with one the structure is 64 bytes long, not 56.
    pub location_cookie: Option<u64>,
}

/// Manufacturing location and date of a DIMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Manufacturing {
    /// Manufacturing location.
    pub location: u8,
    /// Manufacturing date as Linux reads it (`be16_to_cpu` of the field; written
    /// big-endian).
    pub date: u16,
}

/// A DIMM: what its control regions and mappings say about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dimm {
    /// Device handle, unique on the bus; reserved bits 31:28 clear.
    pub handle: DeviceHandle,
    /// SMBIOS physical id (written into every mapping of the DIMM).
    pub physical_id: u16,
    /// Vendor id (as the field holds it; Linux shows it byte-swapped).
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
    /// Manufacturing location and date, if valid (`valid_fields` bit 0).
    pub manufacturing: Option<Manufacturing>,
    /// Serial number (as the field holds it; Linux shows it byte-swapped).
    pub serial_number: u32,
}

/// The block-mode fields of a control region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockControl {
    /// Number of block control windows, at least 1.
    pub windows: u16,
    /// Size of a block control window.
    pub window_size: u64,
    /// Offset of the command register in the window.
    pub command_offset: u64,
    /// Size of the command register.
    pub command_size: u64,
    /// Offset of the status register in the window.
    pub status_offset: u64,
    /// Size of the status register.
    pub status_size: u64,
    /// Flags ([`flags::DCR_BUFFERED`]).
    pub flags: u16,
}

/// An NVDIMM control region (NFIT structure type 4) of one DIMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlRegion {
    /// Control region index, non-zero and unique, referenced by mappings and block windows.
    pub region_index: u16,
    /// The DIMM whose identity the region carries. The NFIT ties a control region to a DIMM
    /// only through mappings, so one of this DIMM's mappings must reference the region.
    pub dimm: DeviceHandle,
    /// Format interface code ([`super::format_code`]).
    pub format_code: u16,
    /// Block control windows; `None` writes the truncated 32-byte structure.
    pub block: Option<BlockControl>,
}

/// An NVDIMM block data window region (NFIT structure type 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockWindow {
    /// The control region (with block control) it belongs to; one window region per
    /// control region.
    pub region_index: u16,
    /// Number of block data windows: that of the control region.
    pub windows: u16,
    /// Offset of the first window in its SPA range.
    pub offset: u64,
    /// Size of a window, not zero.
    pub size: u64,
    /// Block-accessible capacity.
    pub capacity: u64,
    /// DPA where block-accessible capacity starts.
    pub start_address: u64,
}

/// The mapping of (part of) a DIMM into an SPA range: a memory device to SPA range map
/// structure (NFIT structure type 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The DIMM.
    pub dimm: DeviceHandle,
    /// The SPA range, or 0 for a DIMM that is not mapped (Linux still registers the DIMM).
    pub range_index: u16,
    /// The control region of the DIMM this mapping goes with, or 0 for none.
    pub region_index: u16,
    /// Region id on the DIMM.
    pub region_id: u16,
    /// Bytes of the DIMM in the range; for memory ranges, a non-zero multiple of
    /// [`MEMORY_ALIGN`] and the DIMMs' sizes add up to the range's length.
    pub region_size: u64,
    /// Region offset (nfit_test uses distinct values as interleave set cookie inputs).
    pub region_offset: u64,
    /// DPA where the region starts on the DIMM (a multiple of [`MEMORY_ALIGN`] for memory
    /// ranges; the memory regions of a DIMM do not overlap).
    pub dpa: u64,
    /// Interleave table, or 0 for none.
    pub interleave_index: u16,
    /// Interleave ways: the number of mappings into the range (1 for an unmapped DIMM).
    pub interleave_ways: u16,
    /// Memory device state flags ([`flags::MEM_SAVE_FAILED`], ...).
    pub flags: u16,
}

/// An interleave table (NFIT structure type 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interleave<'a> {
    /// Interleave index, non-zero and unique.
    pub index: u16,
    /// Line size in bytes, not zero.
    pub line_size: u32,
    /// Line offsets, 1 to [`MAX_INTERLEAVE_LINES`] of them.
    pub line_offsets: &'a [u32],
}

/// The flush hint addresses of one DIMM (NFIT structure type 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushHints<'a> {
    /// The DIMM (one flush hint structure per DIMM: Linux uses only the first).
    pub dimm: DeviceHandle,
    /// Addresses as offsets from [`Topology::base`], 8-byte aligned, 1 to
    /// [`MAX_FLUSH_HINTS`] of them.
    pub addresses: &'a [u64],
}

/// The platform capabilities (NFIT structure type 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Highest capability bit the platform describes, at most 30 (Linux computes
    /// `(1 << (highest + 1)) - 1`).
    pub highest_capability: u8,
    /// Capability bits ([`flags::CAP_CACHE_FLUSH`], ...), none above `highest_capability`.
    pub capabilities: u32,
}

impl Capabilities {
    /// The capability bits Linux reads with this `highest_capability`.
    pub fn mask(&self) -> u32 {
        match 1u32.checked_shl(u32::from(self.highest_capability) + 1) {
            Some(bit) => bit - 1,
            None => u32::MAX,
        }
    }
}

/// An NVDIMM bus, as its NFIT describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Topology<'a> {
    /// OEM fields of the table header.
    pub oem: Oem,
    /// Added to every SPA range base and flush hint address written into the table.
    pub base: u64,
    /// SPA ranges.
    pub spas: &'a [Spa],
    /// DIMMs.
    pub dimms: &'a [Dimm],
    /// Control regions.
    pub control_regions: &'a [ControlRegion],
    /// Block data window regions.
    pub block_windows: &'a [BlockWindow],
    /// Mappings of DIMMs into SPA ranges.
    pub mappings: &'a [Mapping],
    /// Interleave tables.
    pub interleaves: &'a [Interleave<'a>],
    /// Flush hint addresses.
    pub flush_hints: &'a [FlushHints<'a>],
    /// SMBIOS management information blobs (Linux ignores them).
    pub smbios: &'a [&'a [u8]],
    /// Platform capabilities, if described.
    pub capabilities: Option<Capabilities>,
}

/// Why [`Topology::validate`] refused a description. Every index is into the slice the
/// variant names (the later element of a clashing pair).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopologyError {
    /// SPA range `i` has index 0 but is not a virtual disk or CD.
    SpaRangeIndex(usize),
    /// SPA range `i` has the same non-zero range index as an earlier one.
    DuplicateRangeIndex(usize),
    /// SPA range `i` sets flag bits other than add-online-only and proximity-valid.
    SpaFlags(usize),
    /// SPA range `i` is empty.
    SpaEmpty(usize),
    /// SPA range `i` is memory (volatile or persistent) with a base or length that is not a
    /// multiple of [`MEMORY_ALIGN`].
    SpaAlign(usize),
    /// SPA range `i` ends beyond the 64-bit address space (base included).
    SpaOverflow(usize),
    /// SPA ranges `a` and `b` overlap.
    SpaOverlap(usize, usize),
    /// DIMM `i` has reserved device handle bits set.
    DeviceHandle(usize),
    /// DIMM `i` has the same handle as an earlier one.
    DuplicateDimm(usize),
    /// DIMM `i` has no mapping.
    DimmWithoutMapping(usize),
    /// DIMM `i` has no control region.
    DimmWithoutControlRegion(usize),
    /// Control region `i` has index 0.
    RegionIndex(usize),
    /// Control region `i` has the same index as an earlier one.
    DuplicateRegionIndex(usize),
    /// Control region `i` names a DIMM that is not described.
    ControlRegionDimm(usize),
    /// Control region `i` has block control with no windows.
    BlockControl(usize),
    /// Control region `i` is referenced by no mapping of its DIMM.
    ControlRegionUnused(usize),
    /// Block window region `i` names no control region with block control, has another
    /// number of windows than it, has zero-sized windows, or is its second window region.
    BlockWindow(usize),
    /// Mapping `i` names a DIMM that is not described.
    MappingDimm(usize),
    /// Mapping `i` names a range index no SPA range has.
    MappingRange(usize),
    /// Mapping `i` names a control region that does not exist or is another DIMM's.
    MappingRegion(usize),
    /// Mapping `i` names an interleave table that does not exist.
    MappingInterleave(usize),
    /// Mapping `i` sets undefined flag bits.
    MappingFlags(usize),
    /// Mapping `i` has zero interleave ways.
    MappingWays(usize),
    /// Mapping `i` into a memory range has a DPA or size that is zero-sized, not a multiple
    /// of [`MEMORY_ALIGN`], or ends beyond the 64-bit DPA space.
    MappingAlign(usize),
    /// Mappings `a` and `b` of one DIMM into memory ranges overlap in DPA space.
    MappingOverlap(usize, usize),
    /// The mappings into SPA range `i` disagree with their count on the interleave ways,
    /// are more than [`MAX_INTERLEAVE_WAYS`], or map one DIMM twice.
    InterleaveWays(usize),
    /// The region sizes of the mappings into memory range `i` do not add up to its length.
    RegionSize(usize),
    /// Interleave table `i` has index 0.
    InterleaveIndex(usize),
    /// Interleave table `i` has the same index as an earlier one.
    DuplicateInterleave(usize),
    /// Interleave table `i` has no lines, too many, or a zero line size.
    InterleaveLines(usize),
    /// Flush hint structure `i` names a DIMM that is not described.
    FlushDimm(usize),
    /// Flush hint structure `i` is the second one for its DIMM.
    DuplicateFlush(usize),
    /// Flush hint structure `i` has no addresses, too many, one not 8-byte aligned or
    /// beyond the 64-bit address space.
    FlushHints(usize),
    /// SMBIOS blob `i` is longer than [`MAX_SMBIOS_LEN`].
    Smbios(usize),
    /// The highest capability is above 30, or a capability bit above it is set.
    Capabilities,
    /// The table would be longer than 4 GiB.
    TooLarge,
}

/// `base + address + length`, the absolute end of a range, if it fits.
fn range_end(base: u64, address: u64, length: u64) -> Option<u64> {
    base.checked_add(address)?.checked_add(length)
}

/// Whether `[a, a + alen)` and `[b, b + blen)` overlap (ends that overflow count as the top
/// of the address space).
pub(super) fn overlaps(a: u64, alen: u64, b: u64, blen: u64) -> bool {
    let aend = a.saturating_add(alen);
    let bend = b.saturating_add(blen);
    a < bend && b < aend
}

impl<'a> Topology<'a> {
    /// The DIMM with `handle`.
    pub fn dimm(&self, handle: DeviceHandle) -> Option<&'a Dimm> {
        self.dimms.iter().find(|d| d.handle == handle)
    }

    /// The SPA range with non-zero `range_index`.
    pub fn spa(&self, range_index: u16) -> Option<&'a Spa> {
        if range_index == 0 {
            return None;
        }
        self.spas.iter().find(|s| s.range_index == range_index)
    }

    /// The control region with non-zero `region_index`.
    pub fn control_region(&self, region_index: u16) -> Option<&'a ControlRegion> {
        if region_index == 0 {
            return None;
        }
        self.control_regions
            .iter()
            .find(|c| c.region_index == region_index)
    }

    /// The interleave table with non-zero `index`.
    pub fn interleave(&self, index: u16) -> Option<&'a Interleave<'a>> {
        if index == 0 {
            return None;
        }
        self.interleaves.iter().find(|i| i.index == index)
    }

    /// The end of the address space the description uses, relative to [`Topology::base`]:
    /// the highest end of an SPA range or flush hint (8 bytes each), saturating.
    pub fn extent(&self) -> u64 {
        let spas = self.spas.iter().map(|s| s.address.saturating_add(s.length));
        let hints = self
            .flush_hints
            .iter()
            .flat_map(|f| f.addresses.iter())
            .map(|a| a.saturating_add(8));
        spas.chain(hints).max().unwrap_or(0)
    }

    /// Checks the description; see [`TopologyError`] for the rules.
    pub fn validate(&self) -> Result<(), TopologyError> {
        self.validate_spas()?;
        self.validate_dimms()?;
        self.validate_interleaves()?;
        self.validate_control_regions()?;
        self.validate_block_windows()?;
        self.validate_mappings()?;
        self.validate_interleave_sets()?;
        self.validate_coverage()?;
        self.validate_flush_hints()?;
        for (i, blob) in self.smbios.iter().enumerate() {
            if blob.len() > MAX_SMBIOS_LEN {
                return Err(TopologyError::Smbios(i));
            }
        }
        if let Some(cap) = self.capabilities {
            if cap.highest_capability > 30 || cap.capabilities & !cap.mask() != 0 {
                return Err(TopologyError::Capabilities);
            }
        }
        if self.table_len() > u32::MAX as usize {
            return Err(TopologyError::TooLarge);
        }
        Ok(())
    }

    fn validate_spas(&self) -> Result<(), TopologyError> {
        let allowed = flags::SPA_ADD_ONLINE_ONLY | flags::SPA_PROXIMITY_VALID;
        for (i, spa) in self.spas.iter().enumerate() {
            let kind = spa.range_type.range_type();
            if spa.flags & !allowed != 0 {
                return Err(TopologyError::SpaFlags(i));
            }
            if spa.length == 0 {
                return Err(TopologyError::SpaEmpty(i));
            }
            let start = self
                .base
                .checked_add(spa.address)
                .ok_or(TopologyError::SpaOverflow(i))?;
            range_end(self.base, spa.address, spa.length).ok_or(TopologyError::SpaOverflow(i))?;
            if kind.is_some_and(|k| k.is_memory())
                && (start % MEMORY_ALIGN != 0 || spa.length % MEMORY_ALIGN != 0)
            {
                return Err(TopologyError::SpaAlign(i));
            }
            if spa.range_index == 0 && !kind.is_some_and(|k| k.is_virtual()) {
                return Err(TopologyError::SpaRangeIndex(i));
            }
            for (j, other) in self.spas.iter().enumerate().take(i) {
                if spa.range_index != 0 && other.range_index == spa.range_index {
                    return Err(TopologyError::DuplicateRangeIndex(i));
                }
                if overlaps(other.address, other.length, spa.address, spa.length) {
                    return Err(TopologyError::SpaOverlap(j, i));
                }
            }
        }
        Ok(())
    }

    fn validate_dimms(&self) -> Result<(), TopologyError> {
        for (i, dimm) in self.dimms.iter().enumerate() {
            if dimm.handle.0 & DeviceHandle::RESERVED != 0 {
                return Err(TopologyError::DeviceHandle(i));
            }
            if self.dimms.iter().take(i).any(|d| d.handle == dimm.handle) {
                return Err(TopologyError::DuplicateDimm(i));
            }
        }
        Ok(())
    }

    fn validate_interleaves(&self) -> Result<(), TopologyError> {
        for (i, idt) in self.interleaves.iter().enumerate() {
            if idt.index == 0 {
                return Err(TopologyError::InterleaveIndex(i));
            }
            if self
                .interleaves
                .iter()
                .take(i)
                .any(|o| o.index == idt.index)
            {
                return Err(TopologyError::DuplicateInterleave(i));
            }
            if idt.line_size == 0
                || idt.line_offsets.is_empty()
                || idt.line_offsets.len() > MAX_INTERLEAVE_LINES
            {
                return Err(TopologyError::InterleaveLines(i));
            }
        }
        Ok(())
    }

    fn validate_control_regions(&self) -> Result<(), TopologyError> {
        for (i, dcr) in self.control_regions.iter().enumerate() {
            if dcr.region_index == 0 {
                return Err(TopologyError::RegionIndex(i));
            }
            if self
                .control_regions
                .iter()
                .take(i)
                .any(|o| o.region_index == dcr.region_index)
            {
                return Err(TopologyError::DuplicateRegionIndex(i));
            }
            if self.dimm(dcr.dimm).is_none() {
                return Err(TopologyError::ControlRegionDimm(i));
            }
            if dcr.block.is_some_and(|b| b.windows == 0) {
                return Err(TopologyError::BlockControl(i));
            }
        }
        Ok(())
    }

    fn validate_block_windows(&self) -> Result<(), TopologyError> {
        for (i, bdw) in self.block_windows.iter().enumerate() {
            let block = self
                .control_region(bdw.region_index)
                .and_then(|c| c.block)
                .ok_or(TopologyError::BlockWindow(i))?;
            let again = self
                .block_windows
                .iter()
                .take(i)
                .any(|o| o.region_index == bdw.region_index);
            if block.windows != bdw.windows || bdw.size == 0 || again {
                return Err(TopologyError::BlockWindow(i));
            }
        }
        Ok(())
    }

    /// Whether mapping `m` goes into a volatile or persistent memory range.
    fn maps_memory(&self, m: &Mapping) -> bool {
        self.spa(m.range_index)
            .and_then(|s| s.range_type.range_type())
            .is_some_and(|k| k.is_memory())
    }

    fn validate_mappings(&self) -> Result<(), TopologyError> {
        for (i, m) in self.mappings.iter().enumerate() {
            if self.dimm(m.dimm).is_none() {
                return Err(TopologyError::MappingDimm(i));
            }
            if m.flags & !flags::MEM_ALL != 0 {
                return Err(TopologyError::MappingFlags(i));
            }
            if m.interleave_ways == 0 {
                return Err(TopologyError::MappingWays(i));
            }
            if m.range_index != 0 && self.spa(m.range_index).is_none() {
                return Err(TopologyError::MappingRange(i));
            }
            if m.region_index != 0
                && self
                    .control_region(m.region_index)
                    .is_none_or(|c| c.dimm != m.dimm)
            {
                return Err(TopologyError::MappingRegion(i));
            }
            if m.interleave_index != 0 && self.interleave(m.interleave_index).is_none() {
                return Err(TopologyError::MappingInterleave(i));
            }
            if !self.maps_memory(m) {
                continue;
            }
            if m.region_size == 0
                || m.region_size % MEMORY_ALIGN != 0
                || m.dpa % MEMORY_ALIGN != 0
                || m.dpa.checked_add(m.region_size).is_none()
            {
                return Err(TopologyError::MappingAlign(i));
            }
            for (j, o) in self.mappings.iter().enumerate().take(i) {
                if o.dimm == m.dimm
                    && self.maps_memory(o)
                    && overlaps(o.dpa, o.region_size, m.dpa, m.region_size)
                {
                    return Err(TopologyError::MappingOverlap(j, i));
                }
            }
        }
        Ok(())
    }

    fn validate_interleave_sets(&self) -> Result<(), TopologyError> {
        for (i, spa) in self.spas.iter().enumerate() {
            if spa.range_index == 0 {
                continue;
            }
            let mut count = 0usize;
            let mut total = 0u64;
            let into = || {
                self.mappings
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| m.range_index == spa.range_index)
            };
            for (k, m) in into() {
                count += 1;
                total = total.saturating_add(m.region_size);
                let twice = into().any(|(l, o)| l < k && o.dimm == m.dimm);
                if twice {
                    return Err(TopologyError::InterleaveWays(i));
                }
            }
            if count == 0 {
                continue;
            }
            if count > MAX_INTERLEAVE_WAYS
                || into().any(|(_, m)| usize::from(m.interleave_ways) != count)
            {
                return Err(TopologyError::InterleaveWays(i));
            }
            let memory = spa.range_type.range_type().is_some_and(|k| k.is_memory());
            if memory && total != spa.length {
                return Err(TopologyError::RegionSize(i));
            }
        }
        Ok(())
    }

    fn validate_coverage(&self) -> Result<(), TopologyError> {
        for (i, dimm) in self.dimms.iter().enumerate() {
            if !self.mappings.iter().any(|m| m.dimm == dimm.handle) {
                return Err(TopologyError::DimmWithoutMapping(i));
            }
            if !self.control_regions.iter().any(|c| c.dimm == dimm.handle) {
                return Err(TopologyError::DimmWithoutControlRegion(i));
            }
        }
        for (i, dcr) in self.control_regions.iter().enumerate() {
            let used = self
                .mappings
                .iter()
                .any(|m| m.region_index == dcr.region_index && m.dimm == dcr.dimm);
            if !used {
                return Err(TopologyError::ControlRegionUnused(i));
            }
        }
        Ok(())
    }

    fn validate_flush_hints(&self) -> Result<(), TopologyError> {
        for (i, f) in self.flush_hints.iter().enumerate() {
            if self.dimm(f.dimm).is_none() {
                return Err(TopologyError::FlushDimm(i));
            }
            if self.flush_hints.iter().take(i).any(|o| o.dimm == f.dimm) {
                return Err(TopologyError::DuplicateFlush(i));
            }
            let bad = |a: &u64| !a.is_multiple_of(8) || range_end(self.base, *a, 8).is_none();
            if f.addresses.is_empty()
                || f.addresses.len() > MAX_FLUSH_HINTS
                || f.addresses.iter().any(bad)
            {
                return Err(TopologyError::FlushHints(i));
            }
        }
        Ok(())
    }
}
