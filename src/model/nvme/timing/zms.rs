// SPDX-License-Identifier: GPL-2.0

//! The `zms` timing model: consumer zoned storage as ConZone (DATE'25) models it: hybrid
//! pSLC + TLC/QLC flash, a few write buffers that all zones share, and a small L2P mapping
//! cache whose misses cost flash reads.
//!
//! # Geometry
//!
//! `channels` channels with `luns` dies each (die `d` on channel `d % channels`), `planes`
//! planes per die, flash pages of `page_size` bytes, `pages_per_block` pages per plane's block
//! in the bulk cell type (`cell`: TLC, 3 bits per cell, or QLC, 4). A *superblock* is one block
//! on every plane of every die; a zone is one superblock, so the zone capacity is
//! `channels × luns × planes × pages_per_block × page_size`. The namespace has `zones` zones;
//! zone `z` is superblock `z` and starts at byte `z × zone_size`. `zone_size` 0 makes the zone
//! size the capacity; a larger one (Linux wants a power of two, which a TLC superblock never
//! is) leaves the bytes between capacity and size without data, as ZNS's zone capacity does.
//!
//! Within a zone, consecutive flash pages stripe across the dies: zone-relative page `f` is on
//! die `f % dies`, as that die's page `f / dies`. A die programs `planes × bits` of its pages at
//! once (a *one-shot* program unit); one-shot unit `k` of a die holds its pages
//! `k × planes × bits ..`, so `dies × planes × bits` consecutive pages of a zone (a *stripe*)
//! hold one one-shot unit of every die.
//!
//! # Media
//!
//! In front of the bulk media sit `slc_superblocks` superblocks used as pseudo-SLC (one bit
//! per cell: a pSLC superblock holds a zone's capacity / bits), written as a log, one after the
//! other, pages striped across the dies in the same way; a pSLC program unit is `planes` pages
//! of a die. Each cell type has its read, program and erase times (`tr_*`, `tprog_*`,
//! `tbers_*`); the bulk's are those of `cell`.
//!
//! Flushed data goes to pSLC while it has room. With `slc_bypass` (TLC only: QLC data must go
//! through pSLC, and asking for it is refused), the one-shot units a flush fills completely go
//! straight to their place in TLC. When the pSLC log needs a superblock and all of them hold
//! data, the oldest is *folded*: every flash page of it holding valid data is read (`tr_slc`)
//! and crosses its channel out, the data crosses the channels back to its zone's superblock
//! and is programmed there (`tprog` of the bulk per one-shot unit touched), and the pSLC
//! superblock is erased (`tbers_slc`); the dies and channels are busy for all of it, so a
//! sustained write first runs at pSLC speed and then falls off a cliff. Without pSLC
//! (`slc_superblocks` 0), everything is programmed straight to the bulk, a partly filled
//! one-shot unit costing a whole program.
//!
//! Where each 4 KiB unit of the namespace lies (nowhere, in pSLC, in the bulk) is tracked in
//! the caller's table; reads take the read time of the cell type the data is on.
//!
//! # Write buffers
//!
//! `wb_count` buffers of `wb_size` bytes, shared by all zones. Zone `z` uses buffer
//! `z % wb_count` (`wb_policy` static) or, for modulo, `n % wb_count` where `n` numbers the
//! zones in the order their first write since a reset came (zones opened). A buffer holds data
//! of one zone at a time. A write costs the firmware `fw_wbuf0 + fw_wbuf1 × units`; its data
//! crosses the PCIe link into the buffer, and the write completes when it has arrived (early
//! completion). The buffer is flushed (its data programmed as above)
//!
//! - when it is full (a *full* flush);
//! - when a write of another zone needs it (a *contention* flush: as the number of zones
//!   written in parallel passes the number of buffers, writes wait for each other's flushes);
//! - when no data has arrived in it for `wb_flush_ns` (a *timed* flush; 0: never); the model
//!   notices when the next command comes, and starts the flush at the time it was due;
//! - on a host Flush command (which completes when every flush has ended and every write has
//!   completed).
//!
//! A buffer that is being flushed takes no data until its flush has ended (a *write-buffer
//! stall* when a write waits for it); its data is read from the buffer until then.
//!
//! A zone is written at its write pointer, which the model keeps: a Write or Zone Append of
//! zone `z` (the zone its offset falls in) lands at that zone's write pointer, which is where
//! the controller accepts them. Units past the end of the zone, or outside the zoned
//! namespace (NSID `nsid`, 1 unless [`Zms::set_nsid`] changes it), cross the PCIe link only.
//!
//! # L2P mapping cache
//!
//! The mapping has one entry per `map_unit`: a 4 KiB page, a chunk of `chunk_size` bytes, or a
//! zone. The controller caches `l2p_entries` entries (exact LRU). A read looks up the entry of
//! each unit it reads from flash (once per entry per command): a hit costs nothing, a miss
//! reads the mapping page (4-byte entries, `page_size / 4` to a page, mapping page `m` on die
//! `m % dies`, in pSLC: `tr_slc`, then 4 KiB over the channel) before the data is read. Writes,
//! folds and resets update cached entries at no cost. Data in a write buffer or never written
//! needs no lookup (the firmware knows the zone's write pointer).
//!
//! # Reads
//!
//! After the firmware (`fw_read_4k` for at most 4 KiB, `fw_read` otherwise), each run of units
//! in one flash page is one flash read (the die busy for the cell type's `tr_*`), then crosses
//! the die's channel (`channel_bw`) and the PCIe link (`pcie_bw`); data in a buffer or never
//! written crosses the PCIe link only.
//!
//! # Zone reset
//!
//! An [`Op::ZoneReset`] command resets the zones its byte range `offset..offset + len` touches
//! (the zone of `offset` when `len` is 0): their data is dropped from the buffers and the pSLC
//! log, their write pointer goes back to 0, and a zone whose superblock holds bulk data is
//! erased (`tbers` of the bulk on every die, after what the dies already have to do); the reset
//! completes when the erase ends. A `len` of `u64::MAX` (Select All) reaches the last zone.
//!
//! # Zone finish
//!
//! An [`Op::ZoneFinish`] command finishes the zones of its range as a reset picks them (a range
//! given with a length skips the zones with nothing written, as Select All does): a buffer
//! holding data of such a zone is flushed (a *finish* flush), the zone's write pointer goes to
//! its end, and the finish completes when the flushes it started or found running have ended.
//!
//! # Counters
//!
//! Of the common [`Counters`]: reads, writes, flushes, `host_pages_written`,
//! `nand_pages_written` (units of data programmed: to pSLC, straight to the bulk, and moved
//! by folds; no padding), `gc_runs` (folds, the relocation this device does) and `wb_stalls`
//! (writes that waited for a buffer's flush). [`ZmsCounters`] ([`Zms::zms_counters`]) has
//! the cache hits and misses, the units programmed to pSLC and straight to the bulk, folds and
//! the units they moved, the buffer flushes by cause (full, contention, timed, host, finish),
//! and zone resets, erases and finishes.
//!
//! # Simplifications
//!
//! Resources (dies, channels, each direction of the PCIe link) serve requests first come,
//! first served in the order the model sees them (see `Link` for the links): a write that
//! waits for its buffer also holds up the PCIe transfers of the writes after it, as an
//! in-order firmware pipeline would. As for the `nand` model, adding a command never makes
//! another finish earlier unless it changes where data goes or which buffer holds what (a
//! write, flush or reset can move a flush, and so what later commands wait for). Multi-plane reads
//! are not modelled (a read uses one page). A flush starts on a fresh pSLC page; a bulk one-shot
//! unit that is programmed twice (data folded in two pieces) costs two programs; the order in
//! which a zone's one-shot units reach the bulk is not enforced. Folds read every pSLC page
//! holding valid data and move all of it, choosing the oldest superblock (FIFO). There is no
//! garbage collection inside the bulk (a zone is only ever reset as a whole). Commands other
//! than reads, writes, flushes, zone resets and finishes complete at submission.
//!
//! # Memory
//!
//! The tables live in a caller-provided `[u32]` of [`ZmsParams::table_len`] entries (where
//! each unit is, the pSLC log's reverse map, two words per zone, two links per mapping entry
//! of the LRU list); everything else is inline, for up to `DIES` dies.

use super::{add, check_bw, check_latency, transfer_ns, units, Command, Counters, Model, Op};
use super::{ParamError, UNIT};
use core::ops::DerefMut;

/// Most write buffers a [`Zms`] model can have.
pub const ZMS_MAX_WB: usize = 16;
/// Most pSLC superblocks a [`Zms`] model can have.
pub const ZMS_MAX_SLC: usize = 64;
/// Most dies (`channels × luns`) a [`Zms`] model can have, whatever its capacity.
pub const ZMS_MAX_DIES: usize = 256;

/// No unit / list end / empty buffer.
const NONE: u32 = u32::MAX;
/// Location: in the bulk media, at its place in the zone's superblock.
const HOME: u32 = u32::MAX - 1;
/// LRU: the entry is not cached (in its `prev` word).
const OUT: u32 = u32::MAX - 1;
/// Zone word 0: the zone's superblock holds bulk data.
const BULK: u32 = 1 << 31;

/// The cell type of the bulk media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Triple-level cells: 3 bits per cell.
    Tlc,
    /// Quad-level cells: 4 bits per cell.
    Qlc,
}

impl Cell {
    /// Bits per cell.
    pub const fn bits(self) -> u32 {
        match self {
            Cell::Tlc => 3,
            Cell::Qlc => 4,
        }
    }
}

/// How zones are given write buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WbPolicy {
    /// Zone `z` uses buffer `z % wb_count`.
    Static,
    /// The `n`-th zone opened uses buffer `n % wb_count`.
    Modulo,
}

/// What one L2P mapping entry covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapUnit {
    /// A 4 KiB page.
    Page,
    /// A chunk of `chunk_size` bytes.
    Chunk,
    /// A zone.
    Zone,
}

/// Parameters of the [`Zms`] model. Times in ns, bandwidths in bytes per second, sizes in
/// bytes. Each field's name is its parameter's name in a [`ParamError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZmsParams {
    /// Channels.
    pub channels: u32,
    /// Dies per channel.
    pub luns: u32,
    /// Planes per die (1 to 16).
    pub planes: u32,
    /// Flash page size: a multiple of 4 KiB, at most 1 MiB.
    pub page_size: u64,
    /// Pages per plane's block in the bulk cell type: a multiple of the cell's bits.
    pub pages_per_block: u32,
    /// Zone size in the namespace: 0 (the superblock's size) or a multiple of 4 KiB at least
    /// the superblock's size (the zone capacity).
    pub zone_size: u64,
    /// Zones of the namespace.
    pub zones: u32,
    /// Cell type of the bulk media.
    pub cell: Cell,
    /// Superblocks used as pSLC, in front of the bulk (0 to 64).
    pub slc_superblocks: u32,
    /// Full one-shot units go straight to TLC (refused for QLC).
    pub slc_bypass: bool,
    /// pSLC page read.
    pub tr_slc: u64,
    /// TLC page read.
    pub tr_tlc: u64,
    /// QLC page read.
    pub tr_qlc: u64,
    /// pSLC program of `planes` pages.
    pub tprog_slc: u64,
    /// TLC one-shot program.
    pub tprog_tlc: u64,
    /// QLC one-shot program.
    pub tprog_qlc: u64,
    /// pSLC superblock erase (per die).
    pub tbers_slc: u64,
    /// TLC superblock erase (per die).
    pub tbers_tlc: u64,
    /// QLC superblock erase (per die).
    pub tbers_qlc: u64,
    /// Bandwidth of one channel.
    pub channel_bw: u64,
    /// Bandwidth of the PCIe link, each direction.
    pub pcie_bw: u64,
    /// Firmware time of a read of at most 4 KiB.
    pub fw_read_4k: u64,
    /// Firmware time of a larger read.
    pub fw_read: u64,
    /// Firmware time of a write, per command.
    pub fw_wbuf0: u64,
    /// Firmware time of a write, per 4 KiB unit.
    pub fw_wbuf1: u64,
    /// Write buffers (1 to 16).
    pub wb_count: u32,
    /// Size of each write buffer: a multiple of 4 KiB, at most the zone size.
    pub wb_size: u64,
    /// How zones are given buffers.
    pub wb_policy: WbPolicy,
    /// A buffer that has taken no data for this long is flushed (0: never).
    pub wb_flush_ns: u64,
    /// L2P cache size in entries (0: every lookup misses).
    pub l2p_entries: u32,
    /// What a mapping entry covers.
    pub map_unit: MapUnit,
    /// Chunk size for [`MapUnit::Chunk`]: a multiple of 4 KiB dividing the zone size.
    pub chunk_size: u64,
}

/// Sizes derived from validated [`ZmsParams`], in 4 KiB units unless named otherwise.
#[derive(Clone, Copy, Debug)]
struct Geo {
    dies: u32,
    /// Units per flash page.
    upg: u32,
    /// Pages of a die in one bulk one-shot unit (`planes × bits`).
    shot: u32,
    /// Units per zone with data (the capacity: a superblock), and per zone of the namespace.
    zu: u32,
    zsu: u64,
    /// Units of the namespace.
    units: u32,
    /// Units per pSLC superblock.
    slc_u: u32,
    slc_n: u32,
    /// Units per write buffer.
    wb_u: u32,
    /// Mapping entries, and units per entry.
    keys: u32,
    upk: u32,
    /// Mapping entries per flash page.
    epp: u32,
    /// Bulk read, program and erase times.
    tr: u64,
    tprog: u64,
    tbers: u64,
}

impl Geo {
    /// Table offsets: `[loc: units][rev: slc_n × slc_u][zone: 2 × zones][lru: 2 × keys]`.
    fn rev(&self) -> usize {
        self.units as usize
    }
    fn zone(&self) -> usize {
        self.rev() + (self.slc_n * self.slc_u) as usize
    }
    fn lru(&self) -> usize {
        self.zone() + 2 * (self.units / self.zu) as usize
    }
    fn len(&self) -> usize {
        self.lru() + 2 * self.keys as usize
    }
}

fn err(param: &'static str, rule: &'static str) -> ParamError {
    ParamError::new(param, rule)
}

impl ZmsParams {
    /// Checks every parameter for a model of `dies` dies; names the first bad one.
    pub fn check(&self, dies: usize) -> Result<(), ParamError> {
        self.geo(dies).map(|_| ())
    }

    /// The superblock's size in bytes (the zone capacity), saturating.
    pub fn superblock_size(&self) -> u64 {
        u64::from(self.channels)
            .saturating_mul(u64::from(self.luns))
            .saturating_mul(u64::from(self.planes))
            .saturating_mul(u64::from(self.pages_per_block))
            .saturating_mul(self.page_size)
    }

    /// The zone size in the namespace, in bytes (`zone_size`, or the superblock's size).
    pub fn zone_bytes(&self) -> u64 {
        if self.zone_size == 0 {
            self.superblock_size()
        } else {
            self.zone_size
        }
    }

    /// Bytes of the zoned namespace (`zones × zone size`), saturating.
    pub fn capacity(&self) -> u64 {
        self.zone_bytes().saturating_mul(u64::from(self.zones))
    }

    /// The step in which the superblock's size (the zone capacity) grows with
    /// `pages_per_block`: `channels × luns × planes × bits per cell × page_size` bytes,
    /// saturating.
    pub fn superblock_step(&self) -> u64 {
        u64::from(self.channels)
            .saturating_mul(u64::from(self.luns))
            .saturating_mul(u64::from(self.planes))
            .saturating_mul(u64::from(self.cell.bits()))
            .saturating_mul(self.page_size)
    }

    /// `self` fitted to `zones` zones of `zone_size` bytes of which `zone_capacity` bytes can
    /// be written (a zoned namespace's geometry): `pages_per_block` becomes the one that makes
    /// the superblock `zone_capacity` bytes, everything else of the die geometry stays.
    /// Refused, naming `zone_capacity`, when that is not a whole number of
    /// [`superblock_step`](Self::superblock_step)s (at most 65536 pages per block), and as
    /// [`check`](Self::check) refuses the result (`zone_size` below the capacity, `wb_size`
    /// above it, too many `zones`, ...).
    pub fn for_zones(
        &self,
        zone_size: u64,
        zone_capacity: u64,
        zones: u32,
    ) -> Result<ZmsParams, ParamError> {
        let mut p = *self;
        p.zones = 1;
        p.zone_size = 0;
        p.check(ZMS_MAX_DIES)?;
        let step = p.superblock_step();
        if zone_capacity == 0 || !zone_capacity.is_multiple_of(step) {
            return Err(err(
                "zone_capacity",
                "must be a non-zero multiple of the superblock step \
                 (channels x luns x planes x bits per cell x page_size)",
            ));
        }
        let ppb = zone_capacity / step * u64::from(p.cell.bits());
        p.pages_per_block = u32::try_from(ppb)
            .ok()
            .filter(|&n| n <= 1 << 16)
            .ok_or(err(
                "zone_capacity",
                "must be at most 65536 pages per block's worth of superblock",
            ))?;
        p.zone_size = zone_size;
        p.zones = zones;
        p.check(ZMS_MAX_DIES)?;
        Ok(p)
    }

    /// `self` with as many zones as `capacity` bytes of namespace hold (at least one).
    pub fn with_capacity(&self, capacity: u64) -> Result<ZmsParams, ParamError> {
        let mut p = *self;
        p.zones = 1;
        p.check(ZMS_MAX_DIES)?;
        let zones = (capacity / p.zone_bytes()).max(1);
        p.zones = u32::try_from(zones).map_err(|_| err("zones", "must be <= 2^31 / zone units"))?;
        p.check(ZMS_MAX_DIES)?;
        Ok(p)
    }

    /// Number of `u32` entries of the table [`Zms::new`] needs (after checking `self`).
    pub fn table_len(&self) -> Result<usize, ParamError> {
        Ok(self.geo(ZMS_MAX_DIES)?.len())
    }

    fn geo(&self, cap: usize) -> Result<Geo, ParamError> {
        if self.channels == 0 {
            return Err(err("channels", "must be > 0"));
        }
        if self.luns == 0 {
            return Err(err("luns", "must be > 0"));
        }
        let dies = u64::from(self.channels) * u64::from(self.luns);
        if dies > cap.min(ZMS_MAX_DIES) as u64 {
            return Err(err(
                "luns",
                "times channels must be <= the model's die capacity (at most 256)",
            ));
        }
        if self.planes == 0 || self.planes > 16 {
            return Err(err("planes", "must be 1 to 16"));
        }
        if self.page_size == 0 || !self.page_size.is_multiple_of(UNIT) || self.page_size > 1 << 20 {
            return Err(err(
                "page_size",
                "must be a multiple of 4096 from 4096 to 1048576",
            ));
        }
        let bits = self.cell.bits();
        if self.pages_per_block == 0
            || !self.pages_per_block.is_multiple_of(bits)
            || self.pages_per_block > 1 << 16
        {
            return Err(err(
                "pages_per_block",
                "must be a non-zero multiple of the cell's bits (3 TLC, 4 QLC), at most 65536",
            ));
        }
        // Units per page <= 256; per zone < 2^8 * 2^4 * 2^16 * 2^8 = 2^36.
        let upg = self.page_size / UNIT;
        let zu = dies * u64::from(self.planes) * u64::from(self.pages_per_block) * upg;
        let zsu = match self.zone_size {
            0 => zu,
            s if s.is_multiple_of(UNIT) && s / UNIT >= zu && s < 1 << 50 => s / UNIT,
            _ => {
                return Err(err(
                    "zone_size",
                    "must be 0 or a multiple of 4096 from the superblock size \
                     (channels x luns x planes x pages_per_block x page_size) to 2^50",
                ))
            }
        };
        if self.zones == 0 {
            return Err(err("zones", "must be > 0"));
        }
        let units = zu
            .checked_mul(u64::from(self.zones))
            .filter(|&n| n < 1 << 31)
            .ok_or(err(
                "zones",
                "times the zone size must be < 8 TiB (2^31 units)",
            ))?;
        if self.slc_superblocks as usize > ZMS_MAX_SLC {
            return Err(err("slc_superblocks", "must be <= 64"));
        }
        if self.slc_bypass && self.cell == Cell::Qlc {
            return Err(err(
                "slc_bypass",
                "must be off for QLC (QLC data goes through pSLC)",
            ));
        }
        let slc_u = zu / u64::from(bits);
        if u64::from(self.slc_superblocks) * slc_u >= 1 << 31 {
            return Err(err(
                "slc_superblocks",
                "make a pSLC log of 2^31 units or more",
            ));
        }
        for (v, name) in [
            (self.tr_slc, "tr_slc"),
            (self.tr_tlc, "tr_tlc"),
            (self.tr_qlc, "tr_qlc"),
            (self.tprog_slc, "tprog_slc"),
            (self.tprog_tlc, "tprog_tlc"),
            (self.tprog_qlc, "tprog_qlc"),
            (self.tbers_slc, "tbers_slc"),
            (self.tbers_tlc, "tbers_tlc"),
            (self.tbers_qlc, "tbers_qlc"),
            (self.fw_read_4k, "fw_read_4k"),
            (self.fw_read, "fw_read"),
            (self.fw_wbuf0, "fw_wbuf0"),
            (self.fw_wbuf1, "fw_wbuf1"),
            (self.wb_flush_ns, "wb_flush_ns"),
        ] {
            check_latency(v, name)?;
        }
        check_bw(self.channel_bw, "channel_bw")?;
        check_bw(self.pcie_bw, "pcie_bw")?;
        if self.wb_count == 0 || self.wb_count as usize > ZMS_MAX_WB {
            return Err(err("wb_count", "must be 1 to 16"));
        }
        if self.wb_size == 0 || !self.wb_size.is_multiple_of(UNIT) || self.wb_size > zu * UNIT {
            return Err(err(
                "wb_size",
                "must be a non-zero multiple of 4096, at most the zone size",
            ));
        }
        let upk = match self.map_unit {
            MapUnit::Page => 1,
            MapUnit::Zone => zu,
            MapUnit::Chunk => {
                let c = self.chunk_size;
                if c == 0 || !c.is_multiple_of(UNIT) || !(zu * UNIT).is_multiple_of(c) {
                    return Err(err(
                        "chunk_size",
                        "must be a non-zero multiple of 4096 that divides the zone size",
                    ));
                }
                c / UNIT
            }
        };
        let (tr, tprog, tbers) = match self.cell {
            Cell::Tlc => (self.tr_tlc, self.tprog_tlc, self.tbers_tlc),
            Cell::Qlc => (self.tr_qlc, self.tprog_qlc, self.tbers_qlc),
        };
        // Every value below was bounded above (units < 2^31): the casts are lossless.
        let g = Geo {
            dies: dies as u32,
            upg: upg as u32,
            shot: self.planes * bits,
            zu: zu as u32,
            zsu,
            units: units as u32,
            slc_u: slc_u as u32,
            slc_n: self.slc_superblocks,
            wb_u: (self.wb_size / UNIT) as u32,
            keys: (units / upk) as u32,
            upk: upk as u32,
            epp: (self.page_size / 4) as u32,
            tr,
            tprog,
            tbers,
        };
        // Below 2^34 words: refused only where usize is narrower.
        let len = u64::from(g.units)
            + u64::from(g.slc_n) * u64::from(g.slc_u)
            + 2 * u64::from(self.zones)
            + 2 * u64::from(g.keys);
        usize::try_from(len).map_err(|_| err("zones", "need a table larger than memory"))?;
        Ok(g)
    }
}

/// What the [`Zms`] model did, beyond the common [`Counters`]. Units are 4 KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZmsCounters {
    /// L2P lookups that hit the cache.
    pub cache_hits: u64,
    /// L2P lookups that missed (each a mapping-page read).
    pub cache_misses: u64,
    /// Units programmed to pSLC.
    pub slc_units: u64,
    /// Units programmed straight to the bulk media (SLC bypass, or no pSLC).
    pub bulk_units: u64,
    /// pSLC superblocks folded into the bulk media.
    pub folds: u64,
    /// Units the folds moved.
    pub fold_units: u64,
    /// Buffer flushes because the buffer was full.
    pub flush_full: u64,
    /// Buffer flushes because a write of another zone needed the buffer.
    pub flush_contention: u64,
    /// Buffer flushes because no data had come for `wb_flush_ns`.
    pub flush_timed: u64,
    /// Buffer flushes for a host Flush command.
    pub flush_host: u64,
    /// Buffer flushes for a Zone Finish.
    pub flush_finish: u64,
    /// Zones reset.
    pub zone_resets: u64,
    /// Zone superblocks erased by a reset.
    pub zone_erases: u64,
    /// Zones finished.
    pub zone_finishes: u64,
}

/// A transfer link (a channel, or one direction of the PCIe link) as a bandwidth budget: a
/// transfer of `x` ns takes the link's time after the transfers that arrived before it, and
/// cannot end before its data is ready plus `x` (as the `nand` model's links do).
#[derive(Clone, Copy, Debug)]
struct Link(u64);

impl Link {
    fn pass(&mut self, arrival: u64, ready: u64, x: u64) -> u64 {
        self.0 = add(arrival.max(self.0), x);
        add(ready, x).max(self.0)
    }
}

/// A write buffer: data of zone `zone` (`NONE`: empty), zone units `start..end`; the last of
/// it arrived at `last`. Once `flushed`, it takes no data until `free_at` and its data is read
/// from it until then.
#[derive(Clone, Copy, Debug)]
struct Buf {
    zone: u32,
    start: u32,
    end: u32,
    last: u64,
    flushed: bool,
    free_at: u64,
}

const EMPTY: Buf = Buf {
    zone: NONE,
    start: 0,
    end: 0,
    last: 0,
    flushed: false,
    free_at: 0,
};

/// Why a buffer is flushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    Full,
    Contention,
    Timed,
    Host,
    Finish,
}

/// Per-die work gathered for one batch of programs or reads: 4 KiB units to move, operations
/// (pages read, program units programmed), and the last page or program unit counted.
#[derive(Clone, Copy, Debug)]
struct Acc {
    units: u32,
    ops: u32,
    last: u64,
}

const ACC0: Acc = Acc {
    units: 0,
    ops: 0,
    last: u64::MAX,
};

impl Acc {
    /// Adds a unit of page or program unit `at`.
    fn add(&mut self, at: u64) {
        self.units = self.units.saturating_add(1);
        if self.last != at {
            self.last = at;
            self.ops = self.ops.saturating_add(1);
        }
    }
}

/// The `zms` model for up to `DIES` dies, with its tables in `T` (see the module
/// documentation).
///
/// # Invariants
///
/// - `p` passed [`ZmsParams::check`] for `DIES`, `g` is its geometry, and `t` has at least
///   [`ZmsParams::table_len`] entries.
/// - A unit's location is `NONE`, `HOME` or a pSLC log position `q` with `rev[q]` the unit;
///   `slc_valid[s]` counts the positions of superblock `s` whose `rev` is a unit.
/// - The LRU list through `lru` holds `lru_len <= l2p_entries` entries, from `head` (most
///   recent) to `tail`; an entry not in it has `OUT` as its `prev` word.
pub struct Zms<T, const DIES: usize> {
    p: ZmsParams,
    g: Geo,
    t: T,
    nsid: u32,
    dies: [u64; DIES],
    channels: [Link; DIES],
    acc: [Acc; DIES],
    pcie_rd: Link,
    pcie_wr: Link,
    bufs: [Buf; ZMS_MAX_WB],
    /// pSLC log: the superblock being written, units used in it; which hold data.
    slc_cur: u32,
    slc_ptr: u32,
    slc_used: [bool; ZMS_MAX_SLC],
    slc_valid: [u32; ZMS_MAX_SLC],
    /// Zones opened so far (for the modulo policy).
    opened: u32,
    head: u32,
    tail: u32,
    lru_len: u32,
    /// The last write completes then.
    last_write: u64,
    counters: Counters,
    zc: ZmsCounters,
}

impl<T: DerefMut<Target = [u32]>, const DIES: usize> Zms<T, DIES> {
    /// A model with parameters `p` and tables in `table` (at least [`ZmsParams::table_len`]
    /// entries, overwritten): every zone empty, buffers empty, the cache cold.
    pub fn new(p: ZmsParams, mut table: T) -> Result<Self, ParamError> {
        let g = p.geo(DIES)?;
        let Some(tab) = table.get_mut(..g.len()) else {
            return Err(err("table", "must have table_len() entries"));
        };
        tab[..g.zone()].fill(NONE);
        tab[g.zone()..g.lru()].fill(0);
        tab[g.lru()..].fill(OUT);
        let mut slc_used = [false; ZMS_MAX_SLC];
        if g.slc_n > 0 {
            slc_used[0] = true;
        }
        Ok(Zms {
            p,
            g,
            t: table,
            nsid: 1,
            dies: [0; DIES],
            channels: [Link(0); DIES],
            acc: [ACC0; DIES],
            pcie_rd: Link(0),
            pcie_wr: Link(0),
            bufs: [EMPTY; ZMS_MAX_WB],
            slc_cur: 0,
            slc_ptr: 0,
            slc_used,
            slc_valid: [0; ZMS_MAX_SLC],
            opened: 0,
            head: NONE,
            tail: NONE,
            lru_len: 0,
            last_write: 0,
            counters: Counters::default(),
            zc: ZmsCounters::default(),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &ZmsParams {
        &self.p
    }

    /// Makes `nsid` the zoned namespace the model times (1 at first).
    pub fn set_nsid(&mut self, nsid: u32) {
        self.nsid = nsid;
    }

    /// The model's own counters.
    pub fn zms_counters(&self) -> ZmsCounters {
        self.zc
    }

    /// Write pointer of zone `zone`, in bytes from the zone's start (`None` past the last).
    pub fn write_pointer(&self, zone: u32) -> Option<u64> {
        if zone >= self.p.zones {
            return None;
        }
        Some(u64::from(self.wp(zone)) * UNIT)
    }

    /// 4 KiB units of the namespace held in pSLC now.
    pub fn slc_units_held(&self) -> u64 {
        self.slc_valid.iter().map(|&v| u64::from(v)).sum()
    }

    /// Entries in the L2P cache now.
    pub fn cached_entries(&self) -> u32 {
        self.lru_len
    }

    // ---- tables ----

    fn get(&self, i: usize) -> u32 {
        self.t.get(i).copied().unwrap_or(NONE)
    }

    fn set(&mut self, i: usize, v: u32) {
        if let Some(x) = self.t.get_mut(i) {
            *x = v;
        }
    }

    fn wp(&self, z: u32) -> u32 {
        self.get(self.g.zone() + 2 * z as usize) & !BULK
    }

    fn zone_word(&self, z: u32) -> u32 {
        self.get(self.g.zone() + 2 * z as usize)
    }

    fn set_zone_word(&mut self, z: u32, v: u32) {
        self.set(self.g.zone() + 2 * z as usize, v);
    }

    // ---- resources ----

    fn die(&mut self, d: usize, ready: u64, ns: u64) -> u64 {
        let Some(f) = self.dies.get_mut(d) else {
            return add(ready, ns);
        };
        *f = add(ready.max(*f), ns);
        *f
    }

    fn channel(&mut self, d: usize, arrival: u64, ready: u64, bytes: u64) -> u64 {
        let x = transfer_ns(bytes, self.p.channel_bw);
        match self.channels.get_mut(d % self.p.channels as usize) {
            Some(link) => link.pass(arrival, ready, x),
            None => add(ready, x),
        }
    }

    fn pcie(&mut self, rd: bool, arrival: u64, ready: u64, bytes: u64) -> u64 {
        let x = transfer_ns(bytes, self.p.pcie_bw);
        let link = if rd {
            &mut self.pcie_rd
        } else {
            &mut self.pcie_wr
        };
        link.pass(arrival, ready, x)
    }

    // ---- placement ----

    /// Die of zone-relative unit `u` (and of pSLC-superblock-relative unit `u`).
    fn die_of(&self, u: u32) -> usize {
        ((u / self.g.upg) % self.g.dies) as usize
    }

    /// The bulk one-shot unit of its die that zone-relative unit `u` is in.
    fn shot_of(&self, u: u32) -> u32 {
        (u / self.g.upg / self.g.dies) / self.g.shot
    }

    /// Whether the one-shot unit of unit `u` lies within zone units `start..end`.
    fn shot_covered(&self, u: u32, start: u32, end: u32) -> bool {
        let g = &self.g;
        let d = u64::from(u / g.upg % g.dies);
        let k = u64::from(self.shot_of(u));
        let (dies, shot, upg) = (u64::from(g.dies), u64::from(g.shot), u64::from(g.upg));
        let first = (k * shot * dies + d) * upg;
        let last_end = (((k + 1) * shot - 1) * dies + d + 1) * upg;
        first >= u64::from(start) && last_end <= u64::from(end)
    }

    /// Books the programs gathered in `acc` (data ready at `ready`, each die's ops taking
    /// `tprog`) and clears it; returns when the last ends.
    fn commit(&mut self, ready: u64, tprog: u64) -> u64 {
        let mut end = ready;
        for d in 0..self.g.dies as usize {
            let a = self.acc[d];
            self.acc[d] = ACC0;
            if a.ops == 0 {
                continue;
            }
            let ch = self.channel(d, ready, ready, u64::from(a.units) * UNIT);
            end = end.max(self.die(d, ch, u64::from(a.ops).saturating_mul(tprog)));
        }
        end
    }

    /// A pSLC log position for the next unit, folding the oldest superblock (from `at` on)
    /// when the log needs one that holds data; the pSLC programs gathered so far are booked
    /// first, and the end of them kept in `end`.
    fn slc_alloc(&mut self, at: u64, end: &mut u64) -> u32 {
        if self.slc_ptr >= self.g.slc_u {
            *end = (*end).max(self.commit(at, self.p.tprog_slc));
            let next = (self.slc_cur + 1) % self.g.slc_n;
            if self.slc_used[next as usize] {
                self.fold(next, at);
            }
            self.slc_used[next as usize] = true;
            self.slc_cur = next;
            self.slc_ptr = 0;
        }
        let q = self.slc_cur * self.g.slc_u + self.slc_ptr;
        self.slc_ptr += 1;
        q
    }

    /// Folds pSLC superblock `s` into the bulk media, from `at` on, and erases it.
    fn fold(&mut self, s: u32, at: u64) {
        let g = self.g;
        let base = s * g.slc_u;
        // The reads: every page holding valid data, and the data out over the channels.
        for i in 0..g.slc_u {
            if self.get(g.rev() + (base + i) as usize) != NONE {
                let d = self.die_of(i);
                self.acc[d].add(u64::from(i / g.upg));
            }
        }
        let mut read_end = at;
        for d in 0..g.dies as usize {
            let a = self.acc[d];
            self.acc[d] = ACC0;
            if a.ops == 0 {
                continue;
            }
            let r = self.die(d, at, u64::from(a.ops).saturating_mul(self.p.tr_slc));
            read_end = read_end.max(self.channel(d, at, r, u64::from(a.units) * UNIT));
        }
        // The programs: each unit to its place in its zone's superblock.
        let mut moved = 0u64;
        for i in 0..g.slc_u {
            let l = self.get(g.rev() + (base + i) as usize);
            if l == NONE {
                continue;
            }
            moved += 1;
            let (z, u) = (l / g.zu, l % g.zu);
            let d = self.die_of(u);
            self.acc[d].add(u64::from(z) << 32 | u64::from(self.shot_of(u)));
            self.set(g.rev() + (base + i) as usize, NONE);
            self.set(l as usize, HOME);
            let w = self.zone_word(z);
            self.set_zone_word(z, w | BULK);
        }
        self.commit(read_end, g.tprog);
        // The erase of the pSLC superblock, on every die after its share of the fold.
        for d in 0..g.dies as usize {
            self.die(d, at, self.p.tbers_slc);
        }
        self.slc_valid[s as usize] = 0;
        self.slc_used[s as usize] = false;
        let c = &mut self.zc;
        c.folds = c.folds.saturating_add(1);
        c.fold_units = c.fold_units.saturating_add(moved);
        let c = &mut self.counters;
        c.gc_runs = c.gc_runs.saturating_add(1);
        c.nand_pages_written = c.nand_pages_written.saturating_add(moved);
    }

    /// Flushes buffer `b` from `at` on (not before its data has arrived): programs its data
    /// (first the one-shot units going straight to the bulk, then the pSLC pages) and keeps
    /// the buffer until the programs end.
    fn flush_buf(&mut self, b: usize, at: u64, why: Why) {
        let Buf {
            zone,
            start,
            end,
            last,
            flushed,
            ..
        } = self.bufs[b];
        if zone == NONE || flushed || start == end {
            return;
        }
        let g = self.g;
        let t0 = at.max(last);
        let direct =
            |m: &Self, u: u32| g.slc_n == 0 || (m.p.slc_bypass && m.shot_covered(u, start, end));
        // Straight to the bulk.
        let mut bulk = 0u64;
        for u in start..end {
            if direct(self, u) {
                let d = self.die_of(u);
                self.acc[d].add(u64::from(self.shot_of(u)));
                self.set((zone * g.zu + u) as usize, HOME);
                bulk += 1;
            }
        }
        if bulk > 0 {
            let w = self.zone_word(zone);
            self.set_zone_word(zone, w | BULK);
        }
        let mut done = self.commit(t0, g.tprog);
        // To pSLC, from a fresh page on.
        let mut slc = 0u64;
        if g.slc_n > 0 && !self.slc_ptr.is_multiple_of(g.upg) {
            self.slc_ptr = self.slc_ptr.next_multiple_of(g.upg).min(g.slc_u);
        }
        for u in start..end {
            if direct(self, u) {
                continue;
            }
            let l = zone * g.zu + u;
            let q = self.slc_alloc(t0, &mut done);
            let i = q % g.slc_u;
            let d = self.die_of(i);
            self.acc[d].add(u64::from(i / g.upg / g.dies / self.p.planes));
            self.set(g.rev() + q as usize, l);
            self.set(l as usize, q);
            let s = (q / g.slc_u) as usize;
            self.slc_valid[s] = self.slc_valid[s].saturating_add(1);
            slc += 1;
        }
        done = done.max(self.commit(t0, self.p.tprog_slc));
        let buf = &mut self.bufs[b];
        buf.flushed = true;
        buf.free_at = done;
        let c = &mut self.zc;
        c.slc_units = c.slc_units.saturating_add(slc);
        c.bulk_units = c.bulk_units.saturating_add(bulk);
        let n = match why {
            Why::Full => &mut c.flush_full,
            Why::Contention => &mut c.flush_contention,
            Why::Timed => &mut c.flush_timed,
            Why::Host => &mut c.flush_host,
            Why::Finish => &mut c.flush_finish,
        };
        *n = n.saturating_add(1);
        let c = &mut self.counters;
        c.nand_pages_written = c.nand_pages_written.saturating_add(slc + bulk);
    }

    /// Flushes, in the order they fell due, the buffers that have taken no data for
    /// `wb_flush_ns` by `now`.
    fn timed_flushes(&mut self, now: u64) {
        if self.p.wb_flush_ns == 0 {
            return;
        }
        loop {
            let due = (0..self.p.wb_count as usize)
                .filter(|&b| {
                    let x = &self.bufs[b];
                    x.zone != NONE && !x.flushed && x.end > x.start
                })
                .map(|b| (add(self.bufs[b].last, self.p.wb_flush_ns), b))
                .filter(|&(t, _)| t <= now)
                .min();
            let Some((t, b)) = due else {
                return;
            };
            self.flush_buf(b, t, Why::Timed);
        }
    }

    /// The buffer zone `z` writes into.
    fn buffer_for(&mut self, z: u32) -> usize {
        let n = self.p.wb_count;
        let b = match self.p.wb_policy {
            WbPolicy::Static => z % n,
            WbPolicy::Modulo => {
                let i = self.g.zone() + 2 * z as usize + 1;
                let mut seq = self.get(i);
                if seq == 0 {
                    self.opened = self.opened.wrapping_add(1);
                    seq = self.opened.max(1);
                    self.set(i, seq);
                }
                (seq - 1) % n
            }
        };
        b as usize
    }

    /// Whether unit `l` (namespace-wide) is in a write buffer at `now`.
    fn buffered(&self, l: u32, now: u64) -> bool {
        let (z, u) = (l / self.g.zu, l % self.g.zu);
        self.bufs[..self.p.wb_count as usize].iter().any(|b| {
            b.zone == z && (b.start..b.end).contains(&u) && (!b.flushed || now < b.free_at)
        })
    }

    // ---- L2P cache ----

    fn lru_at(&self, k: u32) -> usize {
        self.g.lru() + 2 * k as usize
    }

    fn unlink(&mut self, k: u32) {
        let i = self.lru_at(k);
        let (p, n) = (self.get(i), self.get(i + 1));
        if p == NONE {
            self.head = n;
        } else {
            let j = self.lru_at(p) + 1;
            self.set(j, n);
        }
        if n == NONE {
            self.tail = p;
        } else {
            let j = self.lru_at(n);
            self.set(j, p);
        }
    }

    fn push_front(&mut self, k: u32) {
        let i = self.lru_at(k);
        self.set(i, NONE);
        self.set(i + 1, self.head);
        if self.head == NONE {
            self.tail = k;
        } else {
            let j = self.lru_at(self.head);
            self.set(j, k);
        }
        self.head = k;
    }

    /// Looks up mapping entry `k` at `at`: when its mapping is known (`at` for a hit, after
    /// the mapping page's read for a miss).
    fn lookup(&mut self, k: u32, at: u64) -> u64 {
        if self.get(self.lru_at(k)) != OUT {
            self.unlink(k);
            self.push_front(k);
            self.zc.cache_hits = self.zc.cache_hits.saturating_add(1);
            return at;
        }
        self.zc.cache_misses = self.zc.cache_misses.saturating_add(1);
        if self.p.l2p_entries > 0 {
            if self.lru_len >= self.p.l2p_entries && self.tail != NONE {
                let v = self.tail;
                self.unlink(v);
                let j = self.lru_at(v);
                self.set(j, OUT);
                self.lru_len -= 1;
            }
            self.push_front(k);
            self.lru_len += 1;
        }
        let d = ((k / self.g.epp) % self.g.dies) as usize;
        let r = self.die(d, at, self.p.tr_slc);
        self.channel(d, at, r, UNIT)
    }

    // ---- commands ----

    /// The units `first..end` of the zoned namespace that `cmd` touches, and how many of its
    /// units fall outside it.
    fn span(&self, cmd: &Command) -> (u64, u64, u64) {
        let n = units(cmd.offset, cmd.len);
        let first = cmd.offset / UNIT;
        let total = self.g.zsu.saturating_mul(u64::from(self.p.zones));
        if cmd.nsid != self.nsid || n == 0 || first >= total {
            return (0, 0, n);
        }
        let inside = n.min(total - first);
        (first, first + inside, n - inside)
    }

    /// The model's index of namespace unit `h` (zone, then unit in the superblock), `None`
    /// past the zone's capacity.
    fn index(&self, h: u64) -> Option<u32> {
        let (z, u) = (h / self.g.zsu, h % self.g.zsu);
        // z < zones and u < zu: the index is below units < 2^31.
        (u < u64::from(self.g.zu)).then(|| (z * u64::from(self.g.zu) + u) as u32)
    }

    fn read(&mut self, cmd: &Command) -> u64 {
        self.counters.reads = self.counters.reads.saturating_add(1);
        let fw = if cmd.len <= UNIT {
            self.p.fw_read_4k
        } else {
            self.p.fw_read
        };
        let t0 = add(cmd.submit, fw);
        let mut done = t0;
        let (first, end, outside) = self.span(cmd);
        let mut direct = outside;
        let mut key = NONE;
        let mut ready = t0;
        // The run being gathered: its page (tagged with its media), die, read time, units.
        let (mut page, mut rdie, mut rtr, mut n) = (u64::MAX, 0usize, 0u64, 0u64);
        for h in first..end {
            let Some(l) = self.index(h) else {
                direct += 1;
                continue;
            };
            let loc = self.get(l as usize);
            if loc == NONE || self.buffered(l, t0) {
                direct += 1;
                continue;
            }
            let k = l / self.g.upk;
            let mut at = ready;
            if k != key {
                key = k;
                at = self.lookup(k, t0);
            }
            let (pg, d, tr) = if loc == HOME {
                let u = l % self.g.zu;
                (u64::from(l / self.g.upg), self.die_of(u), self.g.tr)
            } else {
                let i = loc % self.g.slc_u;
                let pg = 1 << 32 | u64::from(loc / self.g.upg);
                (pg, self.die_of(i), self.p.tr_slc)
            };
            if pg == page && at == ready {
                n += 1;
                continue;
            }
            if n > 0 {
                done = done.max(self.flash_read(rdie, rtr, n, ready, t0));
            }
            (page, rdie, rtr, n, ready) = (pg, d, tr, 1, at);
        }
        if n > 0 {
            done = done.max(self.flash_read(rdie, rtr, n, ready, t0));
        }
        if direct > 0 {
            done = done.max(self.pcie(true, t0, t0, direct.saturating_mul(UNIT)));
        }
        done
    }

    /// Reads `n` units of one page of die `d` (read time `tr`) from `ready` on and moves
    /// them to the host.
    fn flash_read(&mut self, d: usize, tr: u64, n: u64, ready: u64, t0: u64) -> u64 {
        let r = self.die(d, ready, tr);
        let bytes = n.saturating_mul(UNIT);
        let ch = self.channel(d, ready, r, bytes);
        self.pcie(true, t0, ch, bytes)
    }

    fn write(&mut self, cmd: &Command) -> u64 {
        let n = units(cmd.offset, cmd.len);
        let c = &mut self.counters;
        c.writes = c.writes.saturating_add(1);
        c.host_pages_written = c.host_pages_written.saturating_add(n);
        let fw = add(self.p.fw_wbuf0, self.p.fw_wbuf1.saturating_mul(n));
        let t0 = add(cmd.submit, fw);
        let mut done = t0;
        let (first, end, outside) = self.span(cmd);
        let mut stray = outside;
        if first < end {
            // z < zones.
            let z = (first / self.g.zsu) as u32;
            let wp = self.wp(z);
            // At most zu < 2^31.
            let take_all = u64::from(self.g.zu - wp).min(end - first) as u32;
            stray += end - first - u64::from(take_all);
            if take_all > 0 {
                done = done.max(self.buffer_write(z, wp, take_all, t0));
                let w = self.zone_word(z);
                self.set_zone_word(z, (w & BULK) | (wp + take_all));
            }
        }
        if stray > 0 {
            done = done.max(self.pcie(false, t0, t0, stray.saturating_mul(UNIT)));
        }
        self.last_write = self.last_write.max(done);
        done
    }

    /// Takes `n` units of zone `z`, from zone unit `u`, into the zone's buffer from `t0` on;
    /// returns when the last has arrived.
    fn buffer_write(&mut self, z: u32, mut u: u32, n: u32, t0: u64) -> u64 {
        let b = self.buffer_for(z);
        let mut at = t0;
        let mut done = t0;
        let end = u + n;
        let buf = self.bufs[b];
        if buf.zone != NONE && !buf.flushed && (buf.zone != z || buf.end != u) {
            self.flush_buf(b, at, Why::Contention);
        }
        while u < end {
            let buf = self.bufs[b];
            if buf.flushed || buf.zone == NONE {
                if buf.flushed && at < buf.free_at {
                    at = buf.free_at;
                    self.counters.wb_stalls = self.counters.wb_stalls.saturating_add(1);
                }
                self.bufs[b] = Buf {
                    zone: z,
                    start: u,
                    end: u,
                    last: at,
                    flushed: false,
                    free_at: 0,
                };
            }
            let room = self.g.wb_u - (self.bufs[b].end - self.bufs[b].start);
            let take = room.min(end - u);
            let arrived = self.pcie(false, at, at, u64::from(take) * UNIT);
            done = done.max(arrived);
            let buf = &mut self.bufs[b];
            buf.end += take;
            buf.last = arrived;
            u += take;
            if buf.end - buf.start == self.g.wb_u {
                self.flush_buf(b, arrived, Why::Full);
            }
        }
        done
    }

    fn flush(&mut self, cmd: &Command) -> u64 {
        self.counters.flushes = self.counters.flushes.saturating_add(1);
        let mut done = cmd.submit.max(self.last_write);
        for b in 0..self.p.wb_count as usize {
            self.flush_buf(b, cmd.submit, Why::Host);
            if self.bufs[b].flushed {
                done = done.max(self.bufs[b].free_at);
            }
        }
        done
    }

    /// The zones `offset..offset + len` of `cmd` touches (the zone of `offset` if `len` is 0),
    /// `None` if none of the zoned namespace.
    fn zone_range(&self, cmd: &Command) -> Option<(u32, u32)> {
        let zs = self.g.zsu * UNIT;
        let first = cmd.offset / zs;
        let last = cmd.offset.saturating_add(cmd.len.max(1) - 1) / zs;
        if cmd.nsid != self.nsid || first >= u64::from(self.p.zones) {
            return None;
        }
        // Both < zones.
        Some((first as u32, last.min(u64::from(self.p.zones) - 1) as u32))
    }

    fn finish(&mut self, cmd: &Command) -> u64 {
        let mut done = cmd.submit;
        let Some((first, last)) = self.zone_range(cmd) else {
            return done;
        };
        for z in first..=last {
            let wp = self.wp(z);
            if wp >= self.g.zu || (cmd.len > 0 && wp == 0) {
                continue;
            }
            for b in 0..self.p.wb_count as usize {
                if self.bufs[b].zone == z {
                    self.flush_buf(b, cmd.submit, Why::Finish);
                    if self.bufs[b].flushed {
                        done = done.max(self.bufs[b].free_at);
                    }
                }
            }
            let w = self.zone_word(z);
            self.set_zone_word(z, (w & BULK) | self.g.zu);
            self.zc.zone_finishes = self.zc.zone_finishes.saturating_add(1);
        }
        done
    }

    fn reset(&mut self, cmd: &Command) -> u64 {
        let g = self.g;
        let mut done = cmd.submit;
        let Some((first, last)) = self.zone_range(cmd) else {
            return done;
        };
        for z in first..=last {
            for b in self.bufs[..self.p.wb_count as usize].iter_mut() {
                if b.zone == z {
                    if b.flushed {
                        b.zone = NONE; // its programs go on; its data is gone
                    } else {
                        *b = EMPTY;
                    }
                }
            }
            let w = self.zone_word(z);
            for u in 0..(w & !BULK).min(g.zu) {
                let l = (z * g.zu + u) as usize;
                let loc = self.get(l);
                if loc != NONE && loc != HOME {
                    self.set(g.rev() + loc as usize, NONE);
                    let s = (loc / g.slc_u) as usize;
                    if let Some(v) = self.slc_valid.get_mut(s) {
                        *v = v.saturating_sub(1);
                    }
                }
                self.set(l, NONE);
            }
            if w & BULK != 0 {
                for d in 0..g.dies as usize {
                    done = done.max(self.die(d, cmd.submit, g.tbers));
                }
                self.zc.zone_erases = self.zc.zone_erases.saturating_add(1);
            }
            self.set_zone_word(z, 0);
            self.set(g.zone() + 2 * z as usize + 1, 0);
            self.zc.zone_resets = self.zc.zone_resets.saturating_add(1);
        }
        done
    }
}

impl<T: DerefMut<Target = [u32]>, const DIES: usize> Model for Zms<T, DIES> {
    fn complete(&mut self, cmd: &Command) -> u64 {
        self.timed_flushes(cmd.submit);
        match cmd.op {
            Op::Read => self.read(cmd),
            Op::Write => self.write(cmd),
            Op::Flush => self.flush(cmd),
            Op::ZoneReset => self.reset(cmd),
            Op::ZoneFinish => self.finish(cmd),
            Op::Other => cmd.submit,
        }
    }

    fn min_latency(&self, op: Op) -> u64 {
        match op {
            Op::Read => self.p.fw_read_4k.min(self.p.fw_read),
            Op::Write => self.p.fw_wbuf0,
            Op::Flush | Op::ZoneReset | Op::ZoneFinish | Op::Other => 0,
        }
    }

    fn counters(&self) -> Counters {
        self.counters
    }
}
