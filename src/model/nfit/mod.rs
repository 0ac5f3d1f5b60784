// SPDX-License-Identifier: GPL-2.0

//! Model of an ACPI NVDIMM Firmware Interface Table (NFIT, ACPI 6.0 and later).
//!
//! This is the pure first layer of nvmock's emulated NVDIMM buses, the ones the kernel's
//! `tools/testing/nvdimm` "nfit_test" module builds for ndctl's test suite. It holds:
//!
//! - a declarative description of a bus, [`Topology`]: system physical address (SPA) ranges,
//!   DIMMs, their control regions and block data windows, the mappings of DIMMs into SPA
//!   ranges, interleave tables, flush hint addresses, SMBIOS blobs and the platform
//!   capabilities, all const-constructible from borrowed slices;
//! - [`Topology::validate`], which checks that a description makes a table Linux's NFIT core
//!   (`drivers/acpi/nfit/core.c`) accepts and that the table says everything the description
//!   does (see [`TopologyError`] for every rule);
//! - the serializer: [`Topology::write_table`] writes a complete ACPI table (header "NFIT",
//!   revision 1, the caller's OEM fields, length, checksum) into memory the caller provides,
//!   sized with [`Topology::table_len`]; [`Topology::write_structures`] writes only the NFIT
//!   structures, which is what ACPI's `_FIT` method returns and what nfit_test hands to
//!   `acpi_nfit_init()` directly;
//! - the parser: [`parse`] checks a table's header, length and checksum and every structure's
//!   type and length, and [`Table::structures`] / [`structures`] iterate over the structures;
//! - where every field of the table and its structures lies, in [`layout`] (the one source
//!   of offsets for the writer and the parser, checked against the kernel's structures by
//!   the modules' build);
//! - the two topologies nfit_test builds, as data, in [`preset`];
//! - the `_DSM` layer nfit_test answers with: label areas ([`label`]), address range scrub,
//!   the media error list and error injection ([`ars`]), Intel SMART health ([`smart`]),
//!   security ([`security`]), firmware update and activation ([`firmware`]), SPA
//!   translation ([`translate`]), and the per-bus
//!   and per-DIMM dispatcher with failure injection ([`dsm`]).
//!
//! Everything is `no_std`, uses only `core`, allocates nothing and does not panic on any
//! input: descriptions and tables are checked, and every failure is a `Result`.
//!
//! # Decisions
//!
//! - Addresses in a description (SPA range bases, flush hint addresses) are offsets from
//!   [`Topology::base`]; the table holds `base + offset`. A constant description (such as
//!   [`preset::NFIT_TEST0`]) can so be placed at whatever fake physical span the harness
//!   gets at run time: `Topology { base, ..NFIT_TEST0 }`. The parser returns absolute
//!   addresses, as the table holds them.
//! - The description is per DIMM where the NFIT is per structure: a DIMM's identity (vendor,
//!   device, revision and subsystem ids, manufacturing location and date, serial number) is
//!   written into each of its control regions, its physical id into each of its memory device
//!   mappings. A DIMM may have several control regions (nfit_test gives each DIMM of bus 0 a
//!   BLK and a PMEM one, with different format interface codes), so the format interface
//!   code belongs to the [`ControlRegion`]; nfit_test sets different memory device flags on
//!   different mappings of one DIMM, so the flags belong to the [`Mapping`].
//! - The NFIT has no DIMM structure: the serializer writes, in this order, the SPA ranges,
//!   the mappings (memory device to SPA range map structures), interleave tables, SMBIOS
//!   blobs, control regions, block data windows, flush hint structures and platform
//!   capabilities, each kind in the description's order. Linux keeps one list per kind, so
//!   only the order within a kind matters; it is the one nfit_test writes.
//! - Field values are kept as the NFIT holds them (little-endian), except the manufacturing
//!   date, which [`Manufacturing::date`] gives as Linux reports it (`be16_to_cpu`; nfit_test
//!   writes `cpu_to_be16(2016)`). Linux shows vendor, device and revision ids and the serial
//!   number byte-swapped in sysfs (`be16_to_cpu`/`be32_to_cpu` of the little-endian field).
//! - SPA range structures are written 56 bytes long (without the ACPI 6.4 location cookie),
//!   as nfit_test does, unless the description gives a location cookie: then 64 bytes with
//!   flag bit 2 set. Control regions without block control are written truncated to 32 bytes
//!   (the "implementation may provide a truncated control region" case of `sizeof_dcr()`),
//!   with block control 80 bytes.
//! - The parser is stricter than Linux where Linux would read past a structure: a control
//!   region with windows must be 80 bytes, an interleave table exactly `16 + 4 * lines`, a
//!   flush hint structure exactly `16 + 8 * hints`, platform capabilities 16 bytes; a
//!   structure running past the end, a length below 4 and a reserved type (8 and above) are
//!   errors (Linux stops at a zero length and skips unknown types). It checks the header's
//!   signature, revision (1), length (equal to the slice's) and checksum, and ignores
//!   reserved fields, as Linux does.

pub mod ars;
pub mod dsm;
pub mod firmware;
mod fletcher;
pub mod info_block;
pub mod label;
pub mod label_index;
pub mod layout;
mod parse;
pub mod preset;
pub mod security;
pub mod smart;
mod table;
mod topology;
pub mod translate;

pub use parse::{
    parse, structures, Dcr, FlushView, Header, InterleaveView, Memdev, ParseError, Structure,
    Structures, Table,
};
pub use table::{checksum, WriteError};
pub use topology::{
    BlockControl, BlockWindow, Capabilities, ControlRegion, Dimm, FlushHints, Interleave,
    Manufacturing, Mapping, Oem, Spa, Topology, TopologyError, MAX_FLUSH_HINTS,
    MAX_INTERLEAVE_LINES, MAX_INTERLEAVE_WAYS, MAX_SMBIOS_LEN, MEMORY_ALIGN,
};

/// Length of the ACPI table header plus the NFIT's reserved field: where structures start.
pub const HEADER_LEN: usize = layout::table::LEN;
/// The table signature.
pub const SIGNATURE: [u8; 4] = *b"NFIT";
/// The NFIT revision this model writes and accepts.
pub const REVISION: u8 = 1;

/// Structure type codes (the `type` field of each structure's header).
pub mod structure_type {
    /// System Physical Address Range structure.
    pub const SPA: u16 = 0;
    /// Memory Device to System Physical Address Range Mapping structure.
    pub const MEMDEV: u16 = 1;
    /// Interleave structure.
    pub const INTERLEAVE: u16 = 2;
    /// SMBIOS Management Information structure.
    pub const SMBIOS: u16 = 3;
    /// NVDIMM Control Region structure.
    pub const CONTROL_REGION: u16 = 4;
    /// NVDIMM Block Data Window Region structure.
    pub const BLOCK_WINDOW: u16 = 5;
    /// Flush Hint Address structure.
    pub const FLUSH: u16 = 6;
    /// Platform Capabilities structure.
    pub const CAPABILITIES: u16 = 7;
}

/// Flag bits of the NFIT structures.
pub mod flags {
    /// SPA range: add/online operation only.
    pub const SPA_ADD_ONLINE_ONLY: u16 = 1 << 0;
    /// SPA range: the proximity domain is valid.
    pub const SPA_PROXIMITY_VALID: u16 = 1 << 1;
    /// SPA range: the location cookie is valid (ACPI 6.4; the structure is 64 bytes).
    pub const SPA_LOCATION_COOKIE_VALID: u16 = 1 << 2;

    /// Memory device: the last save to the device failed.
    pub const MEM_SAVE_FAILED: u16 = 1 << 0;
    /// Memory device: the last restore from the device failed.
    pub const MEM_RESTORE_FAILED: u16 = 1 << 1;
    /// Memory device: the platform flush failed.
    pub const MEM_FLUSH_FAILED: u16 = 1 << 2;
    /// Memory device: not armed.
    pub const MEM_NOT_ARMED: u16 = 1 << 3;
    /// Memory device: SMART/health events observed.
    pub const MEM_HEALTH_OBSERVED: u16 = 1 << 4;
    /// Memory device: SMART/health events enabled.
    pub const MEM_HEALTH_ENABLED: u16 = 1 << 5;
    /// Memory device: mapping to the SPA range failed.
    pub const MEM_MAP_FAILED: u16 = 1 << 6;
    /// Every defined memory device flag.
    pub const MEM_ALL: u16 = (1 << 7) - 1;

    /// Control region `valid_fields`: manufacturing location and date are valid.
    pub const DCR_MFG_INFO_VALID: u8 = 1 << 0;
    /// Control region flags: block data windows are buffered.
    pub const DCR_BUFFERED: u16 = 1 << 0;

    /// Platform capability: CPU cache flush to the NVDIMM on power loss.
    pub const CAP_CACHE_FLUSH: u32 = 1 << 0;
    /// Platform capability: memory controller flush to the NVDIMM on power loss.
    pub const CAP_MEM_FLUSH: u32 = 1 << 1;
    /// Platform capability: memory mirroring.
    pub const CAP_MEM_MIRRORING: u32 = 1 << 2;
}

/// Format interface codes of control regions (`drivers/acpi/nfit/nfit.h`).
pub mod format_code {
    /// Byte addressable, energy backed (`NFIT_FIC_BYTE`).
    pub const BYTE: u16 = 0x0101;
    /// Block addressable, non-energy backed (`NFIT_FIC_BLK`).
    pub const BLK: u16 = 0x0201;
    /// Byte addressable, non-energy backed (`NFIT_FIC_BYTEN`).
    pub const BYTEN: u16 = 0x0301;
}

/// A GUID as the NFIT stores it (`guid_t` layout: the first three fields little-endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// The GUID written `d1-d2-d3-d4[0..2]-d4[2..8]` in the usual text form.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Guid {
        let a = d1.to_le_bytes();
        let b = d2.to_le_bytes();
        let c = d3.to_le_bytes();
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4],
            d4[5], d4[6], d4[7],
        ])
    }

    /// Volatile memory range, `7305944f-fdda-44e3-b16c-3f22d252e5d0`.
    pub const VOLATILE: Guid = Guid::from_fields(
        0x7305944f,
        0xfdda,
        0x44e3,
        [0xb1, 0x6c, 0x3f, 0x22, 0xd2, 0x52, 0xe5, 0xd0],
    );
    /// Persistent memory range, `66f0d379-b4f3-4074-ac43-0d3318b78cdb`.
    pub const PERSISTENT: Guid = Guid::from_fields(
        0x66f0d379,
        0xb4f3,
        0x4074,
        [0xac, 0x43, 0x0d, 0x33, 0x18, 0xb7, 0x8c, 0xdb],
    );
    /// NVDIMM control region, `92f701f6-13b4-405d-910b-299367e8234c`.
    pub const CONTROL_REGION: Guid = Guid::from_fields(
        0x92f701f6,
        0x13b4,
        0x405d,
        [0x91, 0x0b, 0x29, 0x93, 0x67, 0xe8, 0x23, 0x4c],
    );
    /// NVDIMM block data window region, `91af0530-5d86-470e-a6b0-0a2db9408249`.
    pub const BLOCK_DATA_WINDOW: Guid = Guid::from_fields(
        0x91af0530,
        0x5d86,
        0x470e,
        [0xa6, 0xb0, 0x0a, 0x2d, 0xb9, 0x40, 0x82, 0x49],
    );
    /// Volatile virtual disk, `77ab535a-45fc-624b-5560-f7b281d1f96e`.
    pub const VOLATILE_DISK: Guid = Guid::from_fields(
        0x77ab535a,
        0x45fc,
        0x624b,
        [0x55, 0x60, 0xf7, 0xb2, 0x81, 0xd1, 0xf9, 0x6e],
    );
    /// Volatile virtual CD, `3d5abd30-4175-87ce-6d64-d2ade523c4bb`.
    pub const VOLATILE_CD: Guid = Guid::from_fields(
        0x3d5abd30,
        0x4175,
        0x87ce,
        [0x6d, 0x64, 0xd2, 0xad, 0xe5, 0x23, 0xc4, 0xbb],
    );
    /// Persistent virtual disk, `5cea02c9-4d07-69d3-269f-4496fbe096f9`.
    pub const PERSISTENT_DISK: Guid = Guid::from_fields(
        0x5cea02c9,
        0x4d07,
        0x69d3,
        [0x26, 0x9f, 0x44, 0x96, 0xfb, 0xe0, 0x96, 0xf9],
    );
    /// Persistent virtual CD, `08018188-42cd-bb48-100f-5387d53ded3d`.
    pub const PERSISTENT_CD: Guid = Guid::from_fields(
        0x08018188,
        0x42cd,
        0xbb48,
        [0x10, 0x0f, 0x53, 0x87, 0xd5, 0x3d, 0xed, 0x3d],
    );

    /// The range type this GUID names, if it is one Linux knows.
    pub fn range_type(&self) -> Option<RangeType> {
        RangeType::ALL.into_iter().find(|t| t.guid() == *self)
    }
}

/// The SPA range types Linux's NFIT core knows (`enum nfit_uuids`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RangeType {
    /// Volatile memory: a volatile region.
    Volatile,
    /// Persistent memory: a pmem region.
    Persistent,
    /// An NVDIMM control region (BLK command/status registers).
    ControlRegion,
    /// An NVDIMM block data window (BLK aperture).
    BlockDataWindow,
    /// Volatile virtual disk.
    VolatileDisk,
    /// Volatile virtual CD.
    VolatileCd,
    /// Persistent virtual disk.
    PersistentDisk,
    /// Persistent virtual CD.
    PersistentCd,
}

impl RangeType {
    /// Every range type, in Linux's `enum nfit_uuids` order.
    pub const ALL: [RangeType; 8] = [
        RangeType::Volatile,
        RangeType::Persistent,
        RangeType::ControlRegion,
        RangeType::BlockDataWindow,
        RangeType::VolatileDisk,
        RangeType::VolatileCd,
        RangeType::PersistentDisk,
        RangeType::PersistentCd,
    ];

    /// The GUID of the range type.
    pub const fn guid(self) -> Guid {
        match self {
            RangeType::Volatile => Guid::VOLATILE,
            RangeType::Persistent => Guid::PERSISTENT,
            RangeType::ControlRegion => Guid::CONTROL_REGION,
            RangeType::BlockDataWindow => Guid::BLOCK_DATA_WINDOW,
            RangeType::VolatileDisk => Guid::VOLATILE_DISK,
            RangeType::VolatileCd => Guid::VOLATILE_CD,
            RangeType::PersistentDisk => Guid::PERSISTENT_DISK,
            RangeType::PersistentCd => Guid::PERSISTENT_CD,
        }
    }

    /// Memory that DIMMs interleave into (volatile or persistent): Linux maps its mappings
    /// into a region, which wants page-aligned DPA ranges.
    pub const fn is_memory(self) -> bool {
        matches!(self, RangeType::Volatile | RangeType::Persistent)
    }

    /// A virtual disk or CD, the only kinds Linux accepts with range index 0
    /// (`nfit_spa_is_virtual()`).
    pub const fn is_virtual(self) -> bool {
        matches!(
            self,
            RangeType::VolatileDisk
                | RangeType::VolatileCd
                | RangeType::PersistentDisk
                | RangeType::PersistentCd
        )
    }
}

/// An NFIT device handle: which node, socket, memory controller, channel and slot a DIMM is
/// in. Bits 31:28 are reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceHandle(pub u32);

impl DeviceHandle {
    /// Bits no field uses.
    pub const RESERVED: u32 = 0xf000_0000;

    /// The handle of DIMM `dimm` on `channel` of memory controller `imc` of `socket` on
    /// `node` (`NFIT_DIMM_HANDLE()` of nfit.c). Each value is cut to its field: node 12 bits,
    /// the others 4 bits.
    pub const fn new(node: u16, socket: u8, imc: u8, channel: u8, dimm: u8) -> DeviceHandle {
        DeviceHandle(
            ((node as u32 & 0xfff) << 16)
                | ((socket as u32 & 0xf) << 12)
                | ((imc as u32 & 0xf) << 8)
                | ((channel as u32 & 0xf) << 4)
                | (dimm as u32 & 0xf),
        )
    }

    /// The node (bits 27:16).
    pub const fn node(self) -> u16 {
        ((self.0 >> 16) & 0xfff) as u16
    }

    /// The socket (bits 15:12).
    pub const fn socket(self) -> u8 {
        ((self.0 >> 12) & 0xf) as u8
    }

    /// The memory controller (bits 11:8).
    pub const fn imc(self) -> u8 {
        ((self.0 >> 8) & 0xf) as u8
    }

    /// The channel (bits 7:4).
    pub const fn channel(self) -> u8 {
        ((self.0 >> 4) & 0xf) as u8
    }

    /// The DIMM slot on the channel (bits 3:0).
    pub const fn dimm(self) -> u8 {
        (self.0 & 0xf) as u8
    }
}
