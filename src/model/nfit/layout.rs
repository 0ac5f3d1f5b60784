// SPDX-License-Identifier: GPL-2.0

//! Where each field of the ACPI NFIT and of its structures lies: the one place the writer
//! ([`Topology::write_table`](super::Topology::write_table)) and the parser
//! ([`parse`](super::parse)) take offsets, widths and lengths from.
//!
//! A round trip through the writer and the parser cannot find a wrong offset here, since
//! both read it from this file. The kernel modules therefore check every field against the
//! kernel's own `struct acpi_table_nfit` and `struct acpi_nfit_*` (ACPICA's `actbl2.h`)
//! when they are compiled: its offset, its width (the `T` of its [`Field`]) and each
//! structure's size (`src/glue/nfit/layout.rs`).
//!
//! One module per structure, named for it; each holds the structure's fields, in table
//! order, as [`Field`]s named for the kernel's fields, and its length `LEN` (the fixed part,
//! for the structures that end in an array).

use super::super::le::{array, put, u16_at, u32_at, u64_at, u8_at};
use core::marker::PhantomData;

/// A little-endian value a field holds: an integer, or bytes kept as they are.
pub trait Value: Copy {
    /// The value at `off` of `b` (zero if `b` is too short).
    fn read(b: &[u8], off: usize) -> Self;
    /// Writes the value at `off` of `b` (nothing if it does not fit).
    fn write(self, b: &mut [u8], off: usize);
}

impl Value for u8 {
    fn read(b: &[u8], off: usize) -> u8 {
        u8_at(b, off)
    }
    fn write(self, b: &mut [u8], off: usize) {
        put(b, off, &[self]);
    }
}

impl Value for u16 {
    fn read(b: &[u8], off: usize) -> u16 {
        u16_at(b, off)
    }
    fn write(self, b: &mut [u8], off: usize) {
        put(b, off, &self.to_le_bytes());
    }
}

impl Value for u32 {
    fn read(b: &[u8], off: usize) -> u32 {
        u32_at(b, off)
    }
    fn write(self, b: &mut [u8], off: usize) {
        put(b, off, &self.to_le_bytes());
    }
}

impl Value for u64 {
    fn read(b: &[u8], off: usize) -> u64 {
        u64_at(b, off)
    }
    fn write(self, b: &mut [u8], off: usize) {
        put(b, off, &self.to_le_bytes());
    }
}

impl<const N: usize> Value for [u8; N] {
    fn read(b: &[u8], off: usize) -> [u8; N] {
        array(b, off)
    }
    fn write(self, b: &mut [u8], off: usize) {
        put(b, off, &self);
    }
}

/// A field of type `T` at a byte offset of its structure.
#[derive(Debug, PartialEq, Eq)]
pub struct Field<T> {
    offset: usize,
    width: PhantomData<fn() -> T>,
}

impl<T> Clone for Field<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Field<T> {}

impl<T: Value> Field<T> {
    /// The field at byte `offset`.
    pub const fn at(offset: usize) -> Field<T> {
        Field {
            offset,
            width: PhantomData,
        }
    }

    /// A field of the same type at `offset` (an array's elements are fields of one type).
    pub const fn moved(self, offset: usize) -> Field<T> {
        Field::at(offset)
    }

    /// Its byte offset from the start of its structure.
    pub const fn offset(self) -> usize {
        self.offset
    }

    /// Its width in bytes.
    pub const fn width(self) -> usize {
        core::mem::size_of::<T>()
    }

    /// The offset just past it.
    pub const fn end(self) -> usize {
        self.offset + self.width()
    }

    /// Its value in structure `s` (zero if `s` is too short).
    pub fn get(self, s: &[u8]) -> T {
        T::read(s, self.offset)
    }

    /// Writes `v` into it in structure `s` (nothing if `s` is too short).
    pub fn set(self, s: &mut [u8], v: T) {
        v.write(s, self.offset);
    }
}

/// `struct acpi_table_nfit`: the ACPI table header (`struct acpi_table_header`) and the
/// NFIT's reserved field. The structures follow it.
pub mod table {
    use super::Field;

    /// `header.signature`: "NFIT".
    pub const SIGNATURE: Field<[u8; 4]> = Field::at(0);
    /// `header.length`: of the whole table.
    pub const LENGTH: Field<u32> = Field::at(4);
    /// `header.revision`.
    pub const REVISION: Field<u8> = Field::at(8);
    /// `header.checksum`: makes the byte sum of the table zero.
    pub const CHECKSUM: Field<u8> = Field::at(9);
    /// `header.oem_id`.
    pub const OEM_ID: Field<[u8; 6]> = Field::at(10);
    /// `header.oem_table_id`.
    pub const OEM_TABLE_ID: Field<[u8; 8]> = Field::at(16);
    /// `header.oem_revision`.
    pub const OEM_REVISION: Field<u32> = Field::at(24);
    /// `header.asl_compiler_id`.
    pub const CREATOR_ID: Field<[u8; 4]> = Field::at(28);
    /// `header.asl_compiler_revision`.
    pub const CREATOR_REVISION: Field<u32> = Field::at(32);
    /// `reserved`, zero.
    pub const RESERVED: Field<u32> = Field::at(36);
    /// Length of the header and the reserved field: where the structures start.
    pub const LEN: usize = 40;
}

/// `struct acpi_nfit_header`: how every structure starts.
pub mod header {
    use super::Field;

    /// `type`: one of [`structure_type`](super::super::structure_type).
    pub const TYPE: Field<u16> = Field::at(0);
    /// `length`: of the whole structure.
    pub const LENGTH: Field<u16> = Field::at(2);
    /// Length of the header.
    pub const LEN: usize = 4;
}

/// `struct acpi_nfit_system_address`: an SPA range.
pub mod spa {
    use super::Field;

    /// `range_index`.
    pub const RANGE_INDEX: Field<u16> = Field::at(4);
    /// `flags`.
    pub const FLAGS: Field<u16> = Field::at(6);
    /// `reserved`, zero.
    pub const RESERVED: Field<u32> = Field::at(8);
    /// `proximity_domain`.
    pub const PROXIMITY_DOMAIN: Field<u32> = Field::at(12);
    /// `range_guid`.
    pub const RANGE_GUID: Field<[u8; 16]> = Field::at(16);
    /// `address`.
    pub const ADDRESS: Field<u64> = Field::at(32);
    /// `length`.
    pub const LENGTH: Field<u64> = Field::at(40);
    /// `memory_mapping`: the memory attributes.
    pub const MEMORY_MAPPING: Field<u64> = Field::at(48);
    /// `location_cookie` (ACPI 6.4): present when the flags say so.
    pub const LOCATION_COOKIE: Field<u64> = Field::at(56);
    /// Length without the location cookie (what Linux expects when flag bit 2 is clear).
    pub const LEN: usize = LOCATION_COOKIE.offset();
    /// Length with the location cookie: the C structure's size.
    pub const LEN_COOKIE: usize = 64;
}

/// `struct acpi_nfit_memory_map`: a memory device to SPA range mapping.
pub mod memdev {
    use super::Field;

    /// `device_handle`.
    pub const DEVICE_HANDLE: Field<u32> = Field::at(4);
    /// `physical_id`.
    pub const PHYSICAL_ID: Field<u16> = Field::at(8);
    /// `region_id`.
    pub const REGION_ID: Field<u16> = Field::at(10);
    /// `range_index`.
    pub const RANGE_INDEX: Field<u16> = Field::at(12);
    /// `region_index`.
    pub const REGION_INDEX: Field<u16> = Field::at(14);
    /// `region_size`.
    pub const REGION_SIZE: Field<u64> = Field::at(16);
    /// `region_offset`.
    pub const REGION_OFFSET: Field<u64> = Field::at(24);
    /// `address`: the DPA.
    pub const ADDRESS: Field<u64> = Field::at(32);
    /// `interleave_index`.
    pub const INTERLEAVE_INDEX: Field<u16> = Field::at(40);
    /// `interleave_ways`.
    pub const INTERLEAVE_WAYS: Field<u16> = Field::at(42);
    /// `flags`.
    pub const FLAGS: Field<u16> = Field::at(44);
    /// `reserved`, zero.
    pub const RESERVED: Field<u16> = Field::at(46);
    /// Length.
    pub const LEN: usize = 48;
}

/// `struct acpi_nfit_interleave`: an interleave table.
pub mod interleave {
    use super::Field;

    /// `interleave_index`.
    pub const INTERLEAVE_INDEX: Field<u16> = Field::at(4);
    /// `reserved`, zero.
    pub const RESERVED: Field<u16> = Field::at(6);
    /// `line_count`.
    pub const LINE_COUNT: Field<u32> = Field::at(8);
    /// `line_size`.
    pub const LINE_SIZE: Field<u32> = Field::at(12);
    /// `line_offset[0]`; line offset `k` follows at `k * LINE_OFFSET.width()`.
    pub const LINE_OFFSET: Field<u32> = Field::at(16);
    /// Length before the line offsets.
    pub const LEN: usize = LINE_OFFSET.offset();
}

/// `struct acpi_nfit_smbios`: SMBIOS management information.
pub mod smbios {
    use super::Field;

    /// `reserved`, zero.
    pub const RESERVED: Field<u32> = Field::at(4);
    /// `data[0]`: the SMBIOS data, bytes to the end of the structure.
    pub const DATA: Field<u8> = Field::at(8);
    /// Length before the data.
    pub const LEN: usize = DATA.offset();
}

/// `struct acpi_nfit_control_region`: an NVDIMM control region.
pub mod control_region {
    use super::Field;

    /// `region_index`.
    pub const REGION_INDEX: Field<u16> = Field::at(4);
    /// `vendor_id`.
    pub const VENDOR_ID: Field<u16> = Field::at(6);
    /// `device_id`.
    pub const DEVICE_ID: Field<u16> = Field::at(8);
    /// `revision_id`.
    pub const REVISION_ID: Field<u16> = Field::at(10);
    /// `subsystem_vendor_id`.
    pub const SUBSYSTEM_VENDOR_ID: Field<u16> = Field::at(12);
    /// `subsystem_device_id`.
    pub const SUBSYSTEM_DEVICE_ID: Field<u16> = Field::at(14);
    /// `subsystem_revision_id`.
    pub const SUBSYSTEM_REVISION_ID: Field<u16> = Field::at(16);
    /// `valid_fields`.
    pub const VALID_FIELDS: Field<u8> = Field::at(18);
    /// `manufacturing_location`.
    pub const MANUFACTURING_LOCATION: Field<u8> = Field::at(19);
    /// `manufacturing_date`: kept as bytes, Linux reads it big-endian.
    pub const MANUFACTURING_DATE: Field<[u8; 2]> = Field::at(20);
    /// `reserved`, zero.
    pub const RESERVED: Field<[u8; 2]> = Field::at(22);
    /// `serial_number`.
    pub const SERIAL_NUMBER: Field<u32> = Field::at(24);
    /// `code`: the format interface code.
    pub const CODE: Field<u16> = Field::at(28);
    /// `windows`: block data windows (0: no block control fields).
    pub const WINDOWS: Field<u16> = Field::at(30);
    /// `window_size`: the first block control field.
    pub const WINDOW_SIZE: Field<u64> = Field::at(32);
    /// `command_offset`.
    pub const COMMAND_OFFSET: Field<u64> = Field::at(40);
    /// `command_size`.
    pub const COMMAND_SIZE: Field<u64> = Field::at(48);
    /// `status_offset`.
    pub const STATUS_OFFSET: Field<u64> = Field::at(56);
    /// `status_size`.
    pub const STATUS_SIZE: Field<u64> = Field::at(64);
    /// `flags`.
    pub const FLAGS: Field<u16> = Field::at(72);
    /// `reserved1`, zero.
    pub const RESERVED1: Field<[u8; 6]> = Field::at(74);
    /// Length truncated before the block control fields (`sizeof_dcr()`'s short case).
    pub const LEN_SHORT: usize = WINDOW_SIZE.offset();
    /// Full length.
    pub const LEN: usize = 80;
}

/// `struct acpi_nfit_data_region`: an NVDIMM block data window region.
pub mod block_window {
    use super::Field;

    /// `region_index`.
    pub const REGION_INDEX: Field<u16> = Field::at(4);
    /// `windows`.
    pub const WINDOWS: Field<u16> = Field::at(6);
    /// `offset`.
    pub const OFFSET: Field<u64> = Field::at(8);
    /// `size`.
    pub const SIZE: Field<u64> = Field::at(16);
    /// `capacity`.
    pub const CAPACITY: Field<u64> = Field::at(24);
    /// `start_address`.
    pub const START_ADDRESS: Field<u64> = Field::at(32);
    /// Length.
    pub const LEN: usize = 40;
}

/// `struct acpi_nfit_flush_address`: the flush hint addresses of a DIMM.
pub mod flush {
    use super::Field;

    /// `device_handle`.
    pub const DEVICE_HANDLE: Field<u32> = Field::at(4);
    /// `hint_count`.
    pub const HINT_COUNT: Field<u16> = Field::at(8);
    /// `reserved`, zero.
    pub const RESERVED: Field<[u8; 6]> = Field::at(10);
    /// `hint_address[0]`; address `k` follows at `k * HINT_ADDRESS.width()`.
    pub const HINT_ADDRESS: Field<u64> = Field::at(16);
    /// Length before the addresses.
    pub const LEN: usize = HINT_ADDRESS.offset();
}

/// `struct acpi_nfit_capabilities`: the platform capabilities.
pub mod capabilities {
    use super::Field;

    /// `highest_capability`.
    pub const HIGHEST_CAPABILITY: Field<u8> = Field::at(4);
    /// `reserved`, zero.
    pub const RESERVED: Field<[u8; 3]> = Field::at(5);
    /// `capabilities`.
    pub const CAPABILITIES: Field<u32> = Field::at(8);
    /// `reserved2`, zero.
    pub const RESERVED2: Field<u32> = Field::at(12);
    /// Length.
    pub const LEN: usize = 16;
}

/// Element `k` of the array whose first element is `first`, if its offset does not
/// overflow.
pub fn element<T: Value>(first: Field<T>, k: usize) -> Option<Field<T>> {
    let off = k.checked_mul(first.width())?.checked_add(first.offset())?;
    Some(first.moved(off))
}
