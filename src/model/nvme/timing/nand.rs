// SPDX-License-Identifier: GPL-2.0

//! The `nand` timing model: a NAND flash SSD with a write buffer and a page-mapped FTL.
//!
//! # Geometry
//!
//! `channels` channels with `luns` dies (LUNs) each; die `d` sits on channel `d % channels`.
//! A die has `planes` planes, which program together: the *program unit* is `planes` flash
//! pages of `page_size` bytes. A die's erase block is `pages_per_block` program units, and a
//! die has `blocks_per_lun` of them. Data is mapped in 4 KiB units: logical unit `l` (4 KiB of
//! the host's `capacity`) lives at physical unit `l2p[l]`. `op_percent` is the share of the
//! physical space the host never sees (over-provisioning); [`NandParams::with_capacity`] sizes
//! the geometry for a capacity.
//!
//! # Reads
//!
//! After a firmware overhead (`fw_read_4k` for reads of at most 4 KiB, `fw_read` otherwise),
//! the units of the read that lie in one flash page form one flash read: the die is busy for
//! `tr_4k` (one unit) or `tr_page` (more), plus a jitter drawn uniformly in
//! `[-read_jitter, +read_jitter]` from the model's seeded generator (keyed by the seed, the
//! submission time and the page, so one read's draw does not depend on the others); then the
//! data crosses the die's channel (`channel_bw`) and the PCIe link (`pcie_bw`, device to
//! host). Units never written, held in the write buffer, or outside the namespace cross the
//! PCIe link only. The read completes when its last unit has crossed the link.
//!
//! # Writes
//!
//! A write costs the firmware `fw_wbuf0 + fw_wbuf1 × units`, then its data is taken into the
//! write buffer (`wb_size` bytes: program-unit-sized slots) and crosses the PCIe link (host
//! to device); the write completes then (early completion), long before its data reaches NAND.
//! Units fill one program unit at a time, striped round robin over the dies; a full program
//! unit is sent over its channel and programmed (`tprog`), and its buffer slot is freed when
//! the program ends. When every slot is taken, the write waits until the first program ends
//! (a *write-buffer stall*). Rewriting a unit that is still in the unit being filled updates
//! the buffer in place.
//!
//! A flush programs the partly filled unit (its empty part is padding, written but invalid),
//! and completes when every program started so far has ended and every earlier write has
//! completed. Other commands complete at submission.
//!
//! # FTL and garbage collection
//!
//! Each die has one open block; a die that needs a new block while it has at most one free
//! block collects garbage first: the full block of that die with the fewest valid units
//! (greedy) is read (`tr_page` per flash page holding valid data), its valid units cross the
//! channel out and back and are programmed into the die's open block (`tprog` per program
//! unit), and the block is erased (`tbers`). All of it occupies the die and its channel, so
//! reads and programs on that die wait: garbage collection shows as latency, as write-buffer
//! stalls, and in [`Counters::gc_runs`] and the write amplification factor
//! ([`Counters::waf_x1000`]). Validation guarantees that a die can always collect enough.
//!
//! # Namespaces
//!
//! The FTL's logical space is `capacity` bytes. Namespace 1 covers all of it until
//! [`Nand::set_namespace`] places namespaces elsewhere; a command to a namespace that is not
//! placed moves its data across the PCIe link only.
//!
//! # Simplifications
//!
//! Every resource (die, channel, each direction of the PCIe link) serves requests in the order
//! the model sees them. A die is strictly sequential; a link is a bandwidth budget spent in
//! that order from when a request arrives (the command's time after firmware for reads), with
//! no transfer ending before its data is ready plus its transfer time (see `Link`), so a read
//! from an idle die is not held up behind an earlier one from a busy die. Transfers are whole
//! 4 KiB units. There is no read cache and no program suspend.
//! Adding a command never makes another finish earlier as long as it does not move data
//! another one reads (a write can change where later writes go, and so what they wait for).
//!
//! # Memory
//!
//! The mapping tables live in a caller-provided `[u32]` of [`NandParams::table_len`] entries
//! (one per logical unit, one per physical unit, two per erase block), so that the kernel can
//! vmalloc them; everything else is inline, for up to `DIES` dies.

use super::{add, check_bw, check_latency, mix, transfer_ns, units, Command, Counters, Model, Op};
use super::{ParamError, UNIT};
use core::ops::DerefMut;

/// Most dies (`channels × luns`) a [`Nand`] model can have, whatever its capacity.
pub const MAX_DIES: usize = 256;
/// Most program units the write buffer can hold.
pub const WB_MAX_PAGES: usize = 64;
/// Namespaces [`Nand::set_namespace`] can place.
const NAMESPACES: usize = 16;
/// No unit, block or program unit.
const NONE: u32 = u32::MAX;
/// Block states (in the table).
const FREE: u32 = 0;
const OPEN: u32 = 1;
const FULL: u32 = 2;

/// Parameters of the [`Nand`] model. Times in ns, bandwidths in bytes per second, sizes in
/// bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NandParams {
    /// Channels (`channels`).
    pub channels: u32,
    /// Dies per channel (`luns`).
    pub luns: u32,
    /// Planes per die, programmed together (`planes`).
    pub planes: u32,
    /// Flash page size: a multiple of 4 KiB, at most 1 MiB (`page_size`).
    pub page_size: u64,
    /// Program units per erase block, at least 2 (`pages_per_block`).
    pub pages_per_block: u32,
    /// Erase blocks per die, at least 3 (`blocks_per_lun`).
    pub blocks_per_lun: u32,
    /// Bytes the host sees, a multiple of 4 KiB (`capacity`).
    pub capacity: u64,
    /// Over-provisioning: percent of the physical space hidden from the host (`op_percent`).
    pub op_percent: u32,
    /// Flash read of one 4 KiB unit (`tr_4k`).
    pub tr_4k: u64,
    /// Flash read of more than one unit of a page (`tr_page`).
    pub tr_page: u64,
    /// Flash reads take up to this much less or more, uniformly (`read_jitter`).
    pub read_jitter: u64,
    /// Program of one program unit (`tprog`).
    pub tprog: u64,
    /// Erase of one block (`tbers`).
    pub tbers: u64,
    /// Bandwidth of one channel (`channel_bw`).
    pub channel_bw: u64,
    /// Bandwidth of the PCIe link, each direction (`pcie_bw`).
    pub pcie_bw: u64,
    /// Firmware time of a read of at most 4 KiB (`fw_read_4k`).
    pub fw_read_4k: u64,
    /// Firmware time of a larger read (`fw_read`).
    pub fw_read: u64,
    /// Firmware time of a write, per command (`fw_wbuf0`).
    pub fw_wbuf0: u64,
    /// Firmware time of a write, per 4 KiB unit (`fw_wbuf1`).
    pub fw_wbuf1: u64,
    /// Write buffer size: a multiple of `page_size × planes` (`wb_size`).
    pub wb_size: u64,
    /// Seed of the read jitter (`seed`).
    pub seed: u64,
}

/// Sizes derived from validated [`NandParams`], in 4 KiB units unless named otherwise.
#[derive(Clone, Copy, Debug)]
struct Geo {
    dies: u32,
    /// Units per flash page.
    upg: u32,
    /// Units per program unit.
    upu: u32,
    /// Program units per block.
    ppb: u32,
    /// Blocks per die.
    bpd: u32,
    blocks: u32,
    logical: u32,
    physical: u32,
    wb_pages: u32,
    pu_bytes: u64,
}

impl Geo {
    fn upb(&self) -> u32 {
        self.upu * self.ppb
    }
}

fn err(param: &'static str, rule: &'static str) -> ParamError {
    ParamError::new(param, rule)
}

impl NandParams {
    /// Checks every parameter against a model of `capacity` dies; names the first bad one.
    pub fn check(&self, dies: usize) -> Result<(), ParamError> {
        self.geo(dies).map(|_| ())
    }

    /// Number of `u32` entries of the table [`Nand::new`] needs (after checking `self`).
    pub fn table_len(&self) -> Result<usize, ParamError> {
        let g = self.geo(MAX_DIES)?;
        let n = u64::from(g.logical) + u64::from(g.physical) + 2 * u64::from(g.blocks);
        usize::try_from(n).map_err(|_| err("capacity", "needs a table larger than memory"))
    }

    /// `self` with `capacity` bytes and the fewest `blocks_per_lun` that hold them with
    /// `op_percent` over-provisioning and room for garbage collection.
    pub fn with_capacity(&self, capacity: u64) -> Result<NandParams, ParamError> {
        let too_big = err("capacity", "is too large for the geometry");
        let mut p = *self;
        p.capacity = capacity;
        p.blocks_per_lun = 3;
        // Check everything but the capacity against the smallest geometry.
        let small = p.geo(MAX_DIES);
        if let Err(e) = small {
            if e.param != "capacity" && e.param != "blocks_per_lun" {
                return Err(e);
            }
        }
        if capacity == 0 || !capacity.is_multiple_of(UNIT) {
            return Err(err("capacity", "must be a non-zero multiple of 4096"));
        }
        let cap = capacity / UNIT;
        let dies = u64::from(p.channels) * u64::from(p.luns);
        let upu = (p.page_size / UNIT) * u64::from(p.planes);
        let upb = upu * u64::from(p.pages_per_block);
        let die_row = dies.checked_mul(upb).ok_or(too_big)?;
        // Over-provisioning: physical >= cap * 100 / (100 - op).
        let phys = cap
            .checked_mul(100)
            .ok_or(too_big)?
            .div_ceil(u64::from(100 - p.op_percent));
        let by_op = phys.div_ceil(die_row);
        // Garbage collection: cap < dies * (bpd - 2) * (upb - upu).
        let by_gc = cap / dies.checked_mul(upb - upu).ok_or(too_big)? + 3;
        p.blocks_per_lun = u32::try_from(by_op.max(by_gc).max(3)).map_err(|_| too_big)?;
        p.check(MAX_DIES)?;
        Ok(p)
    }

    /// Validates and derives the geometry for a model of `cap` dies.
    fn geo(&self, cap: usize) -> Result<Geo, ParamError> {
        if self.channels == 0 {
            return Err(err("channels", "must be > 0"));
        }
        if self.luns == 0 {
            return Err(err("luns", "must be > 0"));
        }
        let dies = u64::from(self.channels) * u64::from(self.luns);
        if dies > cap.min(MAX_DIES) as u64 {
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
        if self.pages_per_block < 2 || self.pages_per_block > 1 << 16 {
            return Err(err("pages_per_block", "must be 2 to 65536"));
        }
        if self.blocks_per_lun < 3 {
            return Err(err("blocks_per_lun", "must be >= 3"));
        }
        let upg = self.page_size / UNIT; // <= 256
        let upu = upg * u64::from(self.planes); // <= 4096
        let ppb = u64::from(self.pages_per_block);
        let upb = upu * ppb; // <= 2^28
        let blocks = dies * u64::from(self.blocks_per_lun); // < 2^40
        let physical = blocks
            .checked_mul(upb)
            .filter(|&n| n < u64::from(NONE))
            .ok_or(err(
                "blocks_per_lun",
                "makes a geometry of 2^32 or more 4 KiB pages",
            ))?;
        if self.capacity == 0 || !self.capacity.is_multiple_of(UNIT) {
            return Err(err("capacity", "must be a non-zero multiple of 4096"));
        }
        if self.op_percent >= 100 {
            return Err(err("op_percent", "must be < 100"));
        }
        let logical = self.capacity / UNIT;
        // physical * (100 - op) < 2^32 * 100: no overflow.
        if logical > physical * u64::from(100 - self.op_percent) / 100 {
            return Err(err(
                "capacity",
                "must fit the geometry after op_percent over-provisioning",
            ));
        }
        // See `Nand::alloc_on`: a die can always collect a block if this holds.
        let gc_room = dies * (u64::from(self.blocks_per_lun) - 2) * (upb - upu);
        if logical >= gc_room {
            return Err(err(
                "capacity",
                "leaves too few spare blocks for garbage collection",
            ));
        }
        for (v, name) in [
            (self.tr_4k, "tr_4k"),
            (self.tr_page, "tr_page"),
            (self.read_jitter, "read_jitter"),
            (self.tprog, "tprog"),
            (self.tbers, "tbers"),
            (self.fw_read_4k, "fw_read_4k"),
            (self.fw_read, "fw_read"),
            (self.fw_wbuf0, "fw_wbuf0"),
            (self.fw_wbuf1, "fw_wbuf1"),
        ] {
            check_latency(v, name)?;
        }
        if self.tr_4k > self.tr_page {
            return Err(err("tr_4k", "must be <= tr_page"));
        }
        if self.read_jitter > self.tr_4k {
            return Err(err("read_jitter", "must be <= tr_4k"));
        }
        check_bw(self.channel_bw, "channel_bw")?;
        check_bw(self.pcie_bw, "pcie_bw")?;
        let pu_bytes = upu * UNIT;
        if self.wb_size == 0 || !self.wb_size.is_multiple_of(pu_bytes) {
            return Err(err(
                "wb_size",
                "must be a non-zero multiple of page_size x planes",
            ));
        }
        let wb_pages = self.wb_size / pu_bytes;
        if wb_pages > WB_MAX_PAGES as u64 {
            return Err(err("wb_size", "must be <= 64 x page_size x planes"));
        }
        // Every value below was bounded above: the casts are lossless.
        Ok(Geo {
            dies: dies as u32,
            upg: upg as u32,
            upu: upu as u32,
            ppb: ppb as u32,
            bpd: self.blocks_per_lun,
            blocks: blocks as u32,
            logical: logical as u32,
            physical: physical as u32,
            wb_pages: wb_pages as u32,
            pu_bytes,
        })
    }
}

/// One die's state.
#[derive(Clone, Copy, Debug)]
struct Die {
    /// Busy until then.
    free_at: u64,
    /// Open block (global index), or `NONE`.
    open: u32,
    /// Next program unit of the open block.
    next: u32,
    /// Free blocks.
    free_blocks: u32,
}

const IDLE_DIE: Die = Die {
    free_at: 0,
    open: NONE,
    next: 0,
    free_blocks: 0,
};

/// A transfer link (a channel, or one direction of the PCIe link) as a bandwidth budget.
///
/// Requests take the link's time in the order they arrive, each for its transfer time `x`
/// (the link's time is spent up to the field's value). A transfer also cannot end before its data is ready plus
/// `x`. So a transfer waits for the ones that arrived before it as far as bandwidth goes (n
/// transfers arriving together end no sooner than n × x after them), but not for their data
/// (a read from a busy die does not hold up a later read from an idle one); two transfers may
/// then overlap for a moment, which a real link's interleaved packets also do.
#[derive(Clone, Copy, Debug)]
struct Link(u64);

impl Link {
    /// Accounts a transfer of `x` ns that arrives at `arrival` with its data ready at
    /// `ready`; returns when it ends.
    fn pass(&mut self, arrival: u64, ready: u64, x: u64) -> u64 {
        self.0 = add(arrival.max(self.0), x);
        add(ready, x).max(self.0)
    }
}

/// A program unit in the write buffer whose program ends at `end`.
#[derive(Clone, Copy, Debug)]
struct Pending {
    end: u64,
    pu: u32,
}

/// The `nand` model for up to `DIES` dies, with its tables in `T` (see the module
/// documentation).
///
/// # Invariants
///
/// - `p` passed [`NandParams::check`] for `DIES`, `g` is its geometry, and `t` has at least
///   [`NandParams::table_len`] entries: `[l2p: logical][p2l: physical][valid: blocks]
///   [state: blocks]`.
/// - `l2p` and `p2l` are inverse on mapped units; `valid[b]` counts the mapped units of block
///   `b`; a die's `free_blocks` counts its blocks in state `FREE`.
/// - `wb[..wb_len]` are the programs holding write-buffer slots, `wb_len + (fill != NONE) <=
///   g.wb_pages`.
pub struct Nand<T, const DIES: usize> {
    p: NandParams,
    g: Geo,
    t: T,
    dies: [Die; DIES],
    channels: [Link; DIES],
    pcie_rd: Link,
    pcie_wr: Link,
    wb: [Pending; WB_MAX_PAGES],
    wb_len: usize,
    /// Writes are taken into the buffer in order: the last one was taken then.
    wb_clock: u64,
    /// The program unit being filled, or `NONE`; `fill_used` of its units are taken, and their
    /// data has arrived by `fill_ready`.
    fill: u32,
    fill_used: u32,
    fill_ready: u64,
    /// The last write completes then.
    last_write: u64,
    /// Next die of the round robin.
    rr: u32,
    /// (first logical unit, units) of each namespace.
    ns: [(u64, u64); NAMESPACES],
    counters: Counters,
}

impl<T: DerefMut<Target = [u32]>, const DIES: usize> Nand<T, DIES> {
    /// A model with parameters `p` and tables in `table` (at least [`NandParams::table_len`]
    /// entries, overwritten): a blank device, every unit unmapped, every block erased.
    pub fn new(p: NandParams, mut table: T) -> Result<Self, ParamError> {
        let g = p.geo(DIES)?;
        let need = p.table_len()?;
        let Some(tab) = table.get_mut(..need) else {
            return Err(err("table", "must have table_len() entries"));
        };
        let maps = (g.logical + g.physical) as usize;
        tab[..maps].fill(NONE);
        tab[maps..].fill(0); // valid counts 0, every block FREE
        let mut dies = [IDLE_DIE; DIES];
        dies[..g.dies as usize]
            .iter_mut()
            .for_each(|d| d.free_blocks = g.bpd);
        let mut ns = [(0, 0); NAMESPACES];
        ns[0] = (0, u64::from(g.logical));
        Ok(Nand {
            p,
            g,
            t: table,
            dies,
            channels: [Link(0); DIES],
            pcie_rd: Link(0),
            pcie_wr: Link(0),
            wb: [Pending { end: 0, pu: NONE }; WB_MAX_PAGES],
            wb_len: 0,
            wb_clock: 0,
            fill: NONE,
            fill_used: 0,
            fill_ready: 0,
            last_write: 0,
            rr: 0,
            ns,
            counters: Counters::default(),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &NandParams {
        &self.p
    }

    /// Places namespace `nsid` (1 to 16) at byte `offset` of the logical space, `len` bytes
    /// long (both multiples of 4096, inside `capacity`); `len` 0 removes it. Namespaces may
    /// overlap (they then share data, as far as the FTL knows).
    pub fn set_namespace(&mut self, nsid: u32, offset: u64, len: u64) -> Result<(), ParamError> {
        let slot = nsid
            .checked_sub(1)
            .and_then(|i| self.ns.get_mut(i as usize))
            .ok_or(err("nsid", "must be 1 to 16"))?;
        if !offset.is_multiple_of(UNIT) || !len.is_multiple_of(UNIT) {
            return Err(err(
                "namespace",
                "offset and length must be multiples of 4096",
            ));
        }
        let end = offset.checked_add(len);
        if end.is_none_or(|e| e > self.p.capacity) {
            return Err(err("namespace", "must lie inside capacity"));
        }
        *slot = (offset / UNIT, len / UNIT);
        Ok(())
    }

    /// Free erase blocks, all dies together.
    pub fn free_blocks(&self) -> u64 {
        self.dies.iter().map(|d| u64::from(d.free_blocks)).sum()
    }

    /// Logical and physical size in 4 KiB units.
    pub fn units(&self) -> (u64, u64) {
        (u64::from(self.g.logical), u64::from(self.g.physical))
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

    fn p2l_at(&self, u: u32) -> usize {
        self.g.logical as usize + u as usize
    }

    fn valid_at(&self, b: u32) -> usize {
        (self.g.logical + self.g.physical) as usize + b as usize
    }

    fn state_at(&self, b: u32) -> usize {
        self.valid_at(b) + self.g.blocks as usize
    }

    fn block_of(&self, u: u32) -> u32 {
        u / self.g.upb()
    }

    fn die_of_block(&self, b: u32) -> usize {
        (b / self.g.bpd) as usize
    }

    /// Points logical unit `l` at physical unit `u` (or nowhere, `NONE`), dropping the unit it
    /// pointed at.
    fn map(&mut self, l: u32, u: u32) {
        let old = self.get(l as usize);
        if old != NONE {
            self.set(self.p2l_at(old), NONE);
            let v = self.valid_at(self.block_of(old));
            self.set(v, self.get(v).saturating_sub(1));
        }
        self.set(l as usize, u);
        if u != NONE {
            self.set(self.p2l_at(u), l);
            let v = self.valid_at(self.block_of(u));
            self.set(v, self.get(v).saturating_add(1));
        }
    }

    // ---- resources ----

    /// Moves `bytes` over channel `c`: the request arrives at `arrival` and its data is
    /// ready at `ready` (see [`Link`]); returns the end.
    fn channel(&mut self, c: usize, arrival: u64, ready: u64, bytes: u64) -> u64 {
        let x = transfer_ns(bytes, self.p.channel_bw);
        match self.channels.get_mut(c) {
            Some(link) => link.pass(arrival, ready, x),
            None => add(ready, x),
        }
    }

    /// Keeps die `d` busy for `ns` from `ready` on (or from when it is free); returns the end.
    fn die(&mut self, d: usize, ready: u64, ns: u64) -> u64 {
        let Some(die) = self.dies.get_mut(d) else {
            return add(ready, ns);
        };
        die.free_at = add(ready.max(die.free_at), ns);
        die.free_at
    }

    /// Moves `bytes` over the PCIe link, device to host (`rd`) or host to device (see
    /// [`Nand::channel`]).
    fn pcie(&mut self, rd: bool, arrival: u64, ready: u64, bytes: u64) -> u64 {
        let x = transfer_ns(bytes, self.p.pcie_bw);
        let link = if rd {
            &mut self.pcie_rd
        } else {
            &mut self.pcie_wr
        };
        link.pass(arrival, ready, x)
    }

    /// Sends program unit `pu` (global index) over its channel and programs it, from `ready`
    /// on; its write-buffer slot is held until the program ends, which is returned.
    fn program(&mut self, pu: u32, ready: u64) -> u64 {
        let d = self.die_of_block(pu / self.g.ppb);
        let ch = self.channel(d % self.p.channels as usize, ready, ready, self.g.pu_bytes);
        let end = self.die(d, ch, self.p.tprog);
        if let Some(slot) = self.wb.get_mut(self.wb_len) {
            *slot = Pending { end, pu };
            self.wb_len += 1;
        }
        let c = &mut self.counters;
        c.nand_pages_written = c.nand_pages_written.saturating_add(u64::from(self.g.upu));
        end
    }

    /// Frees the write-buffer slots of programs that have ended by `now`.
    fn release(&mut self, now: u64) {
        let mut i = 0;
        while i < self.wb_len {
            if self.wb[i].end <= now {
                self.wb_len -= 1;
                self.wb[i] = self.wb[self.wb_len];
            } else {
                i += 1;
            }
        }
    }

    /// Whether program unit `pu` is in the write buffer at `now` (being filled, or its
    /// program not ended).
    fn buffered(&self, pu: u32, now: u64) -> bool {
        pu == self.fill
            || self.wb[..self.wb_len]
                .iter()
                .any(|e| e.pu == pu && e.end > now)
    }

    // ---- FTL ----

    /// Takes a free block of die `d` as its open block.
    fn open_block(&mut self, d: usize) {
        let first = d as u32 * self.g.bpd;
        let Some(b) = (first..first + self.g.bpd).find(|&b| self.get(self.state_at(b)) == FREE)
        else {
            return;
        };
        self.set(self.state_at(b), OPEN);
        let die = &mut self.dies[d];
        die.open = b;
        die.next = 0;
        die.free_blocks = die.free_blocks.saturating_sub(1);
    }

    /// The next program unit of die `d`'s open block, closing the block if it is full.
    fn next_pu(&mut self, d: usize) -> Option<u32> {
        let Die { open, next, .. } = self.dies[d];
        if open == NONE {
            return None;
        }
        if next < self.g.ppb {
            self.dies[d].next += 1;
            return Some(open * self.g.ppb + next);
        }
        self.set(self.state_at(open), FULL);
        self.dies[d].open = NONE;
        None
    }

    /// A program unit on die `d` for host data, collecting garbage (from `now` on the die's
    /// time line) when the die is down to its last free block.
    ///
    /// Fails only if every block of the die is full and none has a program unit's worth of
    /// invalid units. Each failing die then holds `bpd * (upb - upu + 1)` valid units; the
    /// validation's `logical < dies * (bpd - 2) * (upb - upu)` makes that impossible for all
    /// dies at once, so [`Nand::alloc`] always finds one.
    fn alloc_on(&mut self, d: usize, now: u64) -> Option<u32> {
        for _ in 0..self.g.bpd + 2 {
            if let Some(pu) = self.next_pu(d) {
                return Some(pu);
            }
            if self.dies[d].free_blocks >= 2 {
                self.open_block(d);
            } else if !self.collect(d, now) {
                if self.dies[d].free_blocks == 0 {
                    return None;
                }
                self.open_block(d);
            }
        }
        None
    }

    /// A program unit for host data, on the next die of the round robin that has one.
    fn alloc(&mut self, now: u64) -> Option<u32> {
        for i in 0..self.g.dies {
            let d = (self.rr + i) % self.g.dies;
            if let Some(pu) = self.alloc_on(d as usize, now) {
                self.rr = (d + 1) % self.g.dies;
                return Some(pu);
            }
        }
        None
    }

    /// One garbage collection run on die `d` (greedy victim), from `now` on the die's time
    /// line. False if no block of the die would give back a program unit.
    fn collect(&mut self, d: usize, now: u64) -> bool {
        let g = self.g;
        let first = d as u32 * g.bpd;
        let mut victim = NONE;
        let mut least = u32::MAX;
        for b in first..first + g.bpd {
            if self.get(self.state_at(b)) == FULL {
                let v = self.get(self.valid_at(b));
                if v < least {
                    least = v;
                    victim = b;
                }
            }
        }
        if victim == NONE {
            return false;
        }
        let needed = least.div_ceil(g.upu);
        let die = self.dies[d];
        let open_room = if die.open == NONE {
            0
        } else {
            g.ppb - die.next
        };
        if needed >= g.ppb || needed > open_room + die.free_blocks * g.ppb {
            return false;
        }
        self.counters.gc_runs = self.counters.gc_runs.saturating_add(1);
        // Move the valid units, program unit by program unit, into the die's open block.
        let (mut pages, mut last_page, mut pus) = (0u64, NONE, 0u64);
        let mut dest = NONE;
        let mut used = g.upu;
        let base = victim * g.upb();
        for u in base..base + g.upb() {
            let l = self.get(self.p2l_at(u));
            if l == NONE {
                continue;
            }
            if u / g.upg != last_page {
                last_page = u / g.upg;
                pages += 1;
            }
            if used == g.upu {
                dest = match self.next_pu(d) {
                    Some(pu) => pu,
                    None => {
                        self.open_block(d);
                        match self.next_pu(d) {
                            Some(pu) => pu,
                            None => break, // excluded by the room check
                        }
                    }
                };
                used = 0;
                pus += 1;
            }
            self.map(l, dest * g.upu + used);
            used += 1;
        }
        // Erase the victim.
        self.set(self.state_at(victim), FREE);
        self.set(self.valid_at(victim), 0);
        self.dies[d].free_blocks += 1;
        // Time: reads, transfers out and back over the channel, programs, the erase.
        let p = &self.p;
        let out = transfer_ns(u64::from(least) * UNIT, p.channel_bw);
        let back = transfer_ns(pus.saturating_mul(g.pu_bytes), p.channel_bw);
        let busy = pages
            .saturating_mul(p.tr_page)
            .saturating_add(out)
            .saturating_add(back)
            .saturating_add(pus.saturating_mul(p.tprog))
            .saturating_add(p.tbers);
        let start = now.max(self.dies[d].free_at);
        self.die(d, start, busy);
        let c = d % self.p.channels as usize;
        if let Some(link) = self.channels.get_mut(c) {
            link.pass(start, start, add(out, back));
        }
        let c = &mut self.counters;
        c.nand_pages_written = c
            .nand_pages_written
            .saturating_add(pus.saturating_mul(u64::from(g.upu)));
        true
    }

    /// The logical units `[first, end)` of the FTL that `cmd` touches, clamped to its
    /// namespace, and how many of its units fall outside.
    fn span(&self, cmd: &Command) -> (u64, u64, u64) {
        let n = units(cmd.offset, cmd.len);
        let (base, len) = cmd
            .nsid
            .checked_sub(1)
            .and_then(|i| self.ns.get(i as usize))
            .copied()
            .unwrap_or((0, 0));
        let first = cmd.offset / UNIT;
        if n == 0 || first >= len {
            return (0, 0, n);
        }
        let inside = n.min(len - first);
        (base + first, base + first + inside, n - inside)
    }

    // ---- commands ----

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
        let mut direct = outside; // units that cross the PCIe link only
        let (mut page, mut n) = (NONE, 0u64);
        for l in first..end {
            let u = self.get(l as usize);
            if u == NONE || self.buffered(u / self.g.upu, t0) {
                direct += 1;
                continue;
            }
            if u / self.g.upg == page {
                n += 1;
                continue;
            }
            if n > 0 {
                done = done.max(self.flash_read(page, n, t0, cmd.submit));
            }
            (page, n) = (u / self.g.upg, 1);
        }
        if n > 0 {
            done = done.max(self.flash_read(page, n, t0, cmd.submit));
        }
        if direct > 0 {
            done = done.max(self.pcie(true, t0, t0, direct.saturating_mul(UNIT)));
        }
        done
    }

    /// Reads `n` units of flash page `page` (global index) and moves them to the host.
    fn flash_read(&mut self, page: u32, n: u64, ready: u64, submit: u64) -> u64 {
        let p = &self.p;
        let mut tr = if n == 1 { p.tr_4k } else { p.tr_page };
        if p.read_jitter > 0 {
            let span = 2 * p.read_jitter + 1; // <= 2 * MAX_LATENCY + 1
            let draw = mix(p.seed, mix(submit, u64::from(page))) % span;
            tr = tr - p.read_jitter + draw; // read_jitter <= tr_4k <= tr
        }
        let d = self.die_of_block(self.block_of(page * self.g.upg));
        let die_end = self.die(d, ready, tr);
        let bytes = n.saturating_mul(UNIT);
        let ch = self.channel(d % self.p.channels as usize, ready, die_end, bytes);
        self.pcie(true, ready, ch, bytes)
    }

    fn write(&mut self, cmd: &Command) -> u64 {
        let n = units(cmd.offset, cmd.len);
        let c = &mut self.counters;
        c.writes = c.writes.saturating_add(1);
        c.host_pages_written = c.host_pages_written.saturating_add(n);
        let fw = add(self.p.fw_wbuf0, self.p.fw_wbuf1.saturating_mul(n));
        let t0 = add(cmd.submit, fw);
        let mut at = t0.max(self.wb_clock); // taken into the buffer
        let mut done = t0;
        let (first, end, outside) = self.span(cmd);
        let mut chunk = outside; // units to move over PCIe with the next transfer
        for l in first..end {
            let u = self.get(l as usize);
            if self.fill != NONE && u != NONE && u / self.g.upu == self.fill {
                chunk += 1; // rewritten in the buffer
                continue;
            }
            if self.fill == NONE {
                self.release(at);
                while self.wb_len >= self.g.wb_pages as usize {
                    let first_end = self.wb[..self.wb_len].iter().map(|e| e.end).min();
                    at = at.max(first_end.unwrap_or(at));
                    self.release(at);
                    self.counters.wb_stalls = self.counters.wb_stalls.saturating_add(1);
                }
                match self.alloc(at) {
                    Some(pu) => (self.fill, self.fill_used, self.fill_ready) = (pu, 0, 0),
                    None => {
                        chunk += 1; // no room on any die: excluded by validation
                        continue;
                    }
                }
            }
            self.map(l as u32, self.fill * self.g.upu + self.fill_used);
            self.fill_used += 1;
            chunk += 1;
            if self.fill_used == self.g.upu {
                let arrived = self.pcie(false, at, at, chunk.saturating_mul(UNIT));
                done = done.max(arrived);
                chunk = 0;
                let pu = self.fill;
                self.fill = NONE;
                self.program(pu, arrived);
            }
        }
        if chunk > 0 {
            let arrived = self.pcie(false, at, at, chunk.saturating_mul(UNIT));
            done = done.max(arrived);
            if self.fill != NONE {
                self.fill_ready = self.fill_ready.max(arrived);
            }
        }
        self.wb_clock = at;
        self.last_write = self.last_write.max(done);
        done
    }

    fn flush(&mut self, cmd: &Command) -> u64 {
        self.counters.flushes = self.counters.flushes.saturating_add(1);
        if self.fill != NONE {
            let pu = self.fill;
            self.fill = NONE;
            self.program(pu, cmd.submit.max(self.fill_ready));
        }
        let programs = self.wb[..self.wb_len].iter().map(|e| e.end).max();
        cmd.submit.max(self.last_write).max(programs.unwrap_or(0))
    }
}

impl<T: DerefMut<Target = [u32]>, const DIES: usize> Model for Nand<T, DIES> {
    fn complete(&mut self, cmd: &Command) -> u64 {
        match cmd.op {
            Op::Read => self.read(cmd),
            Op::Write => self.write(cmd),
            Op::Flush => self.flush(cmd),
            Op::Other | Op::ZoneReset | Op::ZoneFinish => cmd.submit,
        }
    }

    fn min_latency(&self, op: Op) -> u64 {
        match op {
            Op::Read => self.p.fw_read_4k.min(self.p.fw_read),
            Op::Write => self.p.fw_wbuf0,
            Op::Flush | Op::Other | Op::ZoneReset | Op::ZoneFinish => 0,
        }
    }

    fn counters(&self) -> Counters {
        self.counters
    }
}
