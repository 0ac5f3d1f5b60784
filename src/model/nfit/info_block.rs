// SPDX-License-Identifier: GPL-2.0

//! Namespace info blocks: the 4 KiB block at offset 4 KiB of a namespace that a device-dax
//! instance (`NVDIMM_DAX_INFO`) or a pfn device (`NVDIMM_PFN_INFO`, fsdax) claims, as
//! `struct nd_pfn_sb` in `drivers/nvdimm/pfn.h` lays it out (version 1.4). libnvdimm reads
//! it when a namespace probes (`nd_pfn_validate()`) and, if it is valid, hands the
//! namespace to the dax_pmem (or pfn) driver instead of pmem's block device.
//!
//! Tests write one into a bus's memory before the bus probes, as if the namespace had been
//! reconfigured earlier (`ndctl create-namespace -m devdax`), so that device-dax comes up
//! without going through namespace creation.
//!
//! # Layout
//!
//! [`layout`] computes what `nd_pfn_init()` would for a namespace at `start` of `size`
//! bytes: the first 8 KiB are reserved (labels' room and the info block), then with
//! [`Memmap::Pmem`] the `struct page` array of every page (64 bytes each), then the data
//! from `dataoff`, aligned to `align`; the end is truncated to `align`. Namespaces must
//! start on a [`SUBSECTION`] boundary. The kernel refuses a `dataoff` that is not a multiple
//! of the alignment.

use super::super::le::{put, put_u16, put_u32, put_u64, u32_at, u64_at};

/// Where the info block is in its namespace.
pub const OFFSET: u64 = 4096;
/// Its length (`struct nd_gen_sb`): the checksum is its last 8 bytes.
pub const LEN: usize = 4096;
/// Signature of a device-dax info block (`DAX_SIG`).
pub const DAX_SIG: [u8; 16] = *b"NVDIMM_DAX_INFO\0";
/// Signature of a pfn (fsdax) info block (`PFN_SIG`).
pub const PFN_SIG: [u8; 16] = *b"NVDIMM_PFN_INFO\0";
/// Version written: 1.4 (padding zero, page size and `struct page` size recorded).
pub const VERSION: (u16, u16) = (1, 4);
/// The boundary a namespace must start and end on (`memremap_compat_align()` on x86_64).
pub const SUBSECTION: u64 = 2 << 20;
/// Bytes of `struct page` reserved per page with [`Memmap::Pmem`] (`MAX_STRUCT_PAGE_SIZE`).
pub const STRUCT_PAGE: u64 = 64;

const PAGE: u64 = 4096;
/// Reserved before any `struct page` array or data (`SZ_8K` in `nd_pfn_init()`).
const RESERVED: u64 = 8192;
const CHECKSUM: usize = LEN - 8;

/// Which driver the block hands the namespace to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// device-dax (`dax_pmem`, then `device_dax`).
    Dax,
    /// A pfn device for fsdax (`nd_pmem` with `struct page`s).
    Pfn,
}

impl Kind {
    fn signature(self) -> [u8; 16] {
        match self {
            Kind::Dax => DAX_SIG,
            Kind::Pfn => PFN_SIG,
        }
    }
}

/// Where the namespace's `struct page`s live (`enum nd_pfn_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memmap {
    /// In system memory (`PFN_MODE_RAM`).
    Ram = 1,
    /// In the namespace, before the data (`PFN_MODE_PMEM`).
    Pmem = 2,
}

/// Where the data is within the namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Offset of the data from the namespace's start.
    pub dataoff: u64,
    /// Pages of data.
    pub npfns: u64,
    /// Bytes cut off the end to keep it aligned.
    pub end_trunc: u32,
    /// Alignment of the data (and of device-dax faults).
    pub align: u32,
}

/// Why a namespace cannot hold a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// `align` is not a power of two of at least a page.
    Align,
    /// The namespace does not start on a [`SUBSECTION`] boundary.
    Misaligned,
    /// Nothing is left for data.
    TooSmall,
}

/// The layout `nd_pfn_init()` gives a namespace at `start` of `size` bytes.
pub fn layout(start: u64, size: u64, align: u32, memmap: Memmap) -> Result<Layout, LayoutError> {
    let a = u64::from(align);
    if !a.is_power_of_two() || a < PAGE {
        return Err(LayoutError::Align);
    }
    if !start.is_multiple_of(SUBSECTION) {
        return Err(LayoutError::Misaligned);
    }
    let end = start.checked_add(size).ok_or(LayoutError::TooSmall)?;
    let step = a.max(SUBSECTION);
    let end_trunc = end - end / step * step;
    let reserve = match memmap {
        Memmap::Ram => RESERVED,
        Memmap::Pmem => RESERVED + STRUCT_PAGE * (size.saturating_sub(RESERVED) / PAGE),
    };
    let first = start
        .checked_add(reserve)
        .and_then(|f| f.checked_next_multiple_of(step))
        .ok_or(LayoutError::TooSmall)?;
    let dataoff = first - start;
    // The alignment can cut off more than the namespace has.
    let usable = size.checked_sub(end_trunc).ok_or(LayoutError::TooSmall)?;
    if dataoff >= usable {
        return Err(LayoutError::TooSmall);
    }
    Ok(Layout {
        dataoff,
        npfns: (size - dataoff - end_trunc) / PAGE,
        end_trunc: u32::try_from(end_trunc).map_err(|_| LayoutError::TooSmall)?,
        align,
    })
}

/// One info block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InfoBlock {
    /// Which driver claims the namespace.
    pub kind: Kind,
    /// The instance's UUID.
    pub uuid: [u8; 16],
    /// The namespace's UUID (all zeroes for a label-less namespace).
    pub parent_uuid: [u8; 16],
    /// Where the `struct page`s are.
    pub memmap: Memmap,
    /// Where the data is.
    pub layout: Layout,
}

/// Why bytes are not a valid info block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Fewer than [`LEN`] bytes.
    Short,
    /// Neither signature.
    Signature,
    /// The checksum does not match.
    Checksum,
    /// The mode is neither RAM nor PMEM.
    Mode(u32),
}

pub use super::fletcher::fletcher64;
use super::fletcher::fletcher64_zeroed;

impl InfoBlock {
    /// Writes the block into `buf` (at least [`LEN`] bytes; the rest is left alone).
    pub fn write(&self, buf: &mut [u8]) -> Result<(), ParseError> {
        let b = buf.get_mut(..LEN).ok_or(ParseError::Short)?;
        b.fill(0);
        put(b, 0, &self.kind.signature());
        put(b, 16, &self.uuid);
        put(b, 32, &self.parent_uuid);
        put_u32(b, 48, 0);
        put_u16(b, 52, VERSION.0);
        put_u16(b, 54, VERSION.1);
        put_u64(b, 56, self.layout.dataoff);
        put_u64(b, 64, self.layout.npfns);
        put_u32(b, 72, self.memmap as u32);
        put_u32(b, 76, 0);
        put_u32(b, 80, self.layout.end_trunc);
        put_u32(b, 84, self.layout.align);
        put_u32(b, 88, PAGE as u32);
        put_u16(b, 92, STRUCT_PAGE as u16);
        let sum = fletcher64(b);
        put_u64(b, CHECKSUM, sum);
        Ok(())
    }

    /// Reads a block (the version 1.4 fields; padding is not checked).
    pub fn parse(buf: &[u8]) -> Result<Self, ParseError> {
        let b = buf.get(..LEN).ok_or(ParseError::Short)?;
        let kind = match &b[..16] {
            s if s == DAX_SIG => Kind::Dax,
            s if s == PFN_SIG => Kind::Pfn,
            _ => return Err(ParseError::Signature),
        };
        // The checksum covers the block with its own field zeroed.
        if fletcher64_zeroed(b, CHECKSUM) != u64_at(b, CHECKSUM) {
            return Err(ParseError::Checksum);
        }
        let memmap = match u32_at(b, 72) {
            1 => Memmap::Ram,
            2 => Memmap::Pmem,
            m => return Err(ParseError::Mode(m)),
        };
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(&b[16..32]);
        let mut parent_uuid = [0u8; 16];
        parent_uuid.copy_from_slice(&b[32..48]);
        Ok(InfoBlock {
            kind,
            uuid,
            parent_uuid,
            memmap,
            layout: Layout {
                dataoff: u64_at(b, 56),
                npfns: u64_at(b, 64),
                end_trunc: u32_at(b, 80),
                align: u32_at(b, 84),
            },
        })
    }
}
