// SPDX-License-Identifier: GPL-2.0

//! SSD timing models: when each command of an emulated NVMe controller completes.
//!
//! A completion engine hands every command to a [`Model`] as a [`Command`] (what kind of
//! command, which namespace, which bytes, and when it was submitted on the controller's clock)
//! and gets back the time, in nanoseconds of that clock, at which its completion may be posted.
//! The model keeps the state of the resources it emulates (busy-until times of slots, NAND
//! channels and dies, the PCIe link, a write buffer, an FTL) and updates it with each command.
//!
//! Four models:
//!
//! - [`NoDelay`] (`none`): every command completes when it is submitted;
//! - [`Simple`] (`simple`): NVMeVirt's first model, a latency floor and a bandwidth cap shared
//!   by a number of parallel slots ([`SimpleParams`]);
//! - [`Nand`] (`nand`): a NAND SSD, with channels, dies, flash read/program/erase times,
//!   firmware overheads, a write buffer with early write completion and a page-mapped FTL with
//!   over-provisioning and greedy garbage collection ([`NandParams`]).
//!
//! - [`Zms`] (`zms`): consumer zoned storage as ConZone models it: pSLC in front of TLC/QLC,
//!   write buffers shared among zones, an L2P mapping cache ([`ZmsParams`]).
//!
//! [`presets`] holds ready-made parameter sets (`optane-like`, `970pro-like`);
//! [`ModelTiming`] plugs a model into the controller as its [`Timing`](super::Timing) hook.
//!
//! # Rules all models keep
//!
//! - Time is integer nanoseconds (`u64`); there is no floating point and no `u128` (the kernel
//!   provides no 128-bit division). Arithmetic saturates at `u64::MAX` instead of overflowing;
//!   no input makes a model panic.
//! - Commands are presented in the order the controller fetched them, with submission times
//!   that do not go backwards (an earlier time is treated as if it were the latest one seen
//!   for resource availability, but the answer is still never before it).
//! - A completion is never before `submit + model.min_latency(op)`.
//! - Every resource serves requests first come, first served in presentation order, so adding
//!   a command never makes another one finish earlier (for [`Nand`], as long as the command
//!   does not change the FTL's placement of data the others read: see its documentation).
//! - Models are deterministic: the same parameters, seed and commands give the same times.
//!   Randomness (read latency jitter) comes from a small seeded generator ([`mix`]), keyed by
//!   the command, so one command's draw does not depend on the others.
//! - State lives in fixed-size arrays whose capacity the caller chooses (a const generic), and
//!   in caller-provided memory for the FTL's tables ([`NandParams::table_len`]); nothing allocates.
//!
//! Parameters are checked when a model is built; a bad one is refused with a [`ParamError`]
//! that names it (its [`core::fmt::Display`] reads like "read_bw must be > 0").

mod hook;
mod nand;
mod none;
pub mod presets;
mod simple;
mod zms;

pub use hook::ModelTiming;
pub use nand::{Nand, NandParams, MAX_DIES, WB_MAX_PAGES};
pub use none::NoDelay;
pub use simple::{Simple, SimpleParams, MAX_SLOTS};
pub use zms::{
    Cell, MapUnit, WbPolicy, Zms, ZmsCounters, ZmsParams, ZMS_MAX_DIES, ZMS_MAX_SLC, ZMS_MAX_WB,
};

/// Size of the unit in which data is transferred and mapped: 4 KiB.
pub const UNIT: u64 = 4096;
/// One second in nanoseconds.
pub const NS_PER_SEC: u64 = 1_000_000_000;
/// Largest latency parameter accepted: 100 seconds (keeps every sum far from overflowing).
pub const MAX_LATENCY: u64 = 100 * NS_PER_SEC;
/// Largest bandwidth accepted, in bytes per second: 1 TB/s.
pub const MAX_BW: u64 = 1_000_000_000_000;

/// The kind of a command, as far as timing is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Data moves from the device to the host (Read, Compare, Verify).
    Read,
    /// Data moves from the host to the device (Write).
    Write,
    /// Flush: everything written so far becomes durable.
    Flush,
    /// Anything else (admin commands, Write Zeroes, Dataset Management, ...): no data moves.
    Other,
    /// Zone Management Send, Reset: the zones that `offset..offset + len` touches (the zone of
    /// `offset` if `len` is 0; `len` `u64::MAX` from `offset` to the namespace's end, as Select
    /// All asks) lose their data; no data moves. Only [`Zms`] times it; the other models treat
    /// it as [`Op::Other`].
    ZoneReset,
    /// Zone Management Send, Finish: the zones that `offset..offset + len` touches (as for
    /// [`Op::ZoneReset`]) become full: what the device buffers of them is programmed; no data
    /// moves over the link. Only [`Zms`] times it; the other models treat it as [`Op::Other`].
    ZoneFinish,
}

/// One command, as a timing model sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    /// What kind of command.
    pub op: Op,
    /// Namespace ID (only [`Nand`] uses it, to find the namespace's place in its FTL).
    pub nsid: u32,
    /// First byte of the command's LBA range in the namespace.
    pub offset: u64,
    /// Length of the LBA range in bytes (0 for commands that move no data).
    pub len: u64,
    /// Submission time on the controller's clock, in nanoseconds.
    pub submit: u64,
}

/// What a model has seen and done since it was built. Pages are 4 KiB units ([`UNIT`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Read commands.
    pub reads: u64,
    /// Write commands.
    pub writes: u64,
    /// Flush commands.
    pub flushes: u64,
    /// 4 KiB units the host wrote.
    pub host_pages_written: u64,
    /// 4 KiB units programmed to the medium (host data, garbage collection copies and the
    /// padding of partly filled flash pages that a flush forced out).
    pub nand_pages_written: u64,
    /// Garbage collection runs (one victim block each).
    pub gc_runs: u64,
    /// Times a write found the write buffer full and had to wait for a flush to NAND.
    pub wb_stalls: u64,
}

impl Counters {
    /// Write amplification factor × 1000 (`nand_pages_written * 1000 / host_pages_written`,
    /// rounded down; 0 before any host write).
    pub fn waf_x1000(&self) -> u64 {
        if self.host_pages_written == 0 {
            return 0;
        }
        mul_div(
            self.nand_pages_written,
            1000,
            self.host_pages_written,
            false,
        )
    }
}

/// A timing model, as the completion engine drives it.
pub trait Model {
    /// Accounts for `cmd` and returns the time at which its completion may be posted: never
    /// before `cmd.submit + self.min_latency(cmd.op)` (saturating at `u64::MAX`).
    fn complete(&mut self, cmd: &Command) -> u64;
    /// The least time any command of kind `op` takes.
    fn min_latency(&self, op: Op) -> u64;
    /// The model's counters.
    fn counters(&self) -> Counters;
}

/// A parameter that was refused: which one and why.
///
/// Formats as "`param` `rule`", e.g. "read_bw must be > 0", for a kernel log message; `param`
/// is the name of the parameter's field (and of its configfs attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamError {
    /// The parameter's name.
    pub param: &'static str,
    /// What it must be.
    pub rule: &'static str,
}

impl ParamError {
    pub(crate) const fn new(param: &'static str, rule: &'static str) -> ParamError {
        ParamError { param, rule }
    }
}

impl core::fmt::Display for ParamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} {}", self.param, self.rule)
    }
}

/// Checks a latency parameter: at most [`MAX_LATENCY`].
pub(crate) fn check_latency(v: u64, param: &'static str) -> Result<(), ParamError> {
    if v > MAX_LATENCY {
        return Err(ParamError::new(param, "must be <= 100 s (100000000000 ns)"));
    }
    Ok(())
}

/// Checks a bandwidth parameter: 1 to [`MAX_BW`] bytes per second.
pub(crate) fn check_bw(v: u64, param: &'static str) -> Result<(), ParamError> {
    if v == 0 {
        return Err(ParamError::new(param, "must be > 0"));
    }
    if v > MAX_BW {
        return Err(ParamError::new(param, "must be <= 1 TB/s (1000000000000)"));
    }
    Ok(())
}

/// Nanoseconds to move `bytes` at `bw` bytes per second, rounded up (so that back-to-back
/// transfers never beat the bandwidth). `u64::MAX` if `bw` is 0 or the time does not fit.
pub fn transfer_ns(bytes: u64, bw: u64) -> u64 {
    mul_div(bytes, NS_PER_SEC, bw, true)
}

/// `a * b / c`, rounded up if `up`, computed exactly without 128-bit integers; `u64::MAX` if
/// `c` is 0 or the result does not fit.
pub(crate) fn mul_div(a: u64, b: u64, c: u64, up: bool) -> u64 {
    if c == 0 {
        return u64::MAX;
    }
    if let Some(p) = a.checked_mul(b) {
        let q = p / c;
        return if up && p % c != 0 {
            q.saturating_add(1)
        } else {
            q
        };
    }
    // The product needs more than 64 bits: form it as two 64-bit halves and divide by long
    // division, one bit at a time (only for absurdly large inputs).
    let (hi, lo) = wide_mul(a, b);
    if hi >= c {
        return u64::MAX; // the quotient needs more than 64 bits
    }
    let mut rem = hi;
    let mut q = 0u64;
    for i in (0..64).rev() {
        let carry = rem >> 63;
        rem = (rem << 1) | ((lo >> i) & 1);
        q <<= 1;
        if carry != 0 || rem >= c {
            rem = rem.wrapping_sub(c);
            q |= 1;
        }
    }
    if up && rem != 0 {
        q.saturating_add(1)
    } else {
        q
    }
}

/// The 128-bit product of `a` and `b` as (high, low) halves.
fn wide_mul(a: u64, b: u64) -> (u64, u64) {
    const M: u64 = 0xffff_ffff;
    let (a1, a0) = (a >> 32, a & M);
    let (b1, b0) = (b >> 32, b & M);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // Sum of the middle terms and the carry out of the low word; each term < 2^64.
    let mid = (p00 >> 32) + (p01 & M) + (p10 & M);
    let lo = (mid << 32) | (p00 & M);
    let hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
    (hi, lo)
}

/// The seeded generator's mixing function (SplitMix64's finalizer over `seed + key`): a
/// well-spread 64-bit value for each (seed, key) pair.
pub fn mix(seed: u64, key: u64) -> u64 {
    let mut z = seed.wrapping_add(key.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `a + b`, saturating.
#[inline]
pub(crate) fn add(a: u64, b: u64) -> u64 {
    a.saturating_add(b)
}

/// Number of 4 KiB units ([`UNIT`]) the byte range `offset..offset + len` touches (saturating
/// at the end of the `u64` range).
pub fn units(offset: u64, len: u64) -> u64 {
    if len == 0 {
        return 0;
    }
    let first = offset / UNIT;
    let last = offset.saturating_add(len - 1) / UNIT;
    last - first + 1
}

/// One of the three models, chosen at run time (by a configfs attribute, say) without a trait
/// object: `SLOTS` and `DIES` are the capacities of the [`Simple`] and [`Nand`] variants, `T`
/// the [`Nand`] tables.
// The variants stay inline: the models allocate nothing, and the caller places the whole value.
#[allow(clippy::large_enum_variant)]
pub enum AnyModel<T, const SLOTS: usize, const DIES: usize> {
    /// `none`.
    None(NoDelay),
    /// `simple`.
    Simple(Simple<SLOTS>),
    /// `nand`.
    Nand(Nand<T, DIES>),
    /// `zms` (built with [`Zms::new`]: no preset list entry makes one).
    Zms(Zms<T, DIES>),
}

impl<T, const SLOTS: usize, const DIES: usize> AnyModel<T, SLOTS, DIES>
where
    T: core::ops::DerefMut<Target = [u32]>,
{
    /// The model `preset` describes; a `nand` preset takes its tables from `table` (at least
    /// [`NandParams::table_len`] entries), the others ignore it.
    pub fn from_preset(preset: presets::Preset, table: T) -> Result<Self, ParamError> {
        Ok(match preset {
            presets::Preset::None => AnyModel::None(NoDelay::new()),
            presets::Preset::Simple(p) => AnyModel::Simple(Simple::new(p)?),
            presets::Preset::Nand(p) => AnyModel::Nand(Nand::new(p, table)?),
        })
    }

    /// The model's name: "none", "simple" or "nand".
    pub fn name(&self) -> &'static str {
        match self {
            AnyModel::None(_) => "none",
            AnyModel::Simple(_) => "simple",
            AnyModel::Nand(_) => "nand",
            AnyModel::Zms(_) => "zms",
        }
    }
}

impl<T, const SLOTS: usize, const DIES: usize> Model for AnyModel<T, SLOTS, DIES>
where
    T: core::ops::DerefMut<Target = [u32]>,
{
    fn complete(&mut self, cmd: &Command) -> u64 {
        match self {
            AnyModel::None(m) => m.complete(cmd),
            AnyModel::Simple(m) => m.complete(cmd),
            AnyModel::Nand(m) => m.complete(cmd),
            AnyModel::Zms(m) => m.complete(cmd),
        }
    }

    fn min_latency(&self, op: Op) -> u64 {
        match self {
            AnyModel::None(m) => m.min_latency(op),
            AnyModel::Simple(m) => m.min_latency(op),
            AnyModel::Nand(m) => m.min_latency(op),
            AnyModel::Zms(m) => m.min_latency(op),
        }
    }

    fn counters(&self) -> Counters {
        match self {
            AnyModel::None(m) => m.counters(),
            AnyModel::Simple(m) => m.counters(),
            AnyModel::Nand(m) => m.counters(),
            AnyModel::Zms(m) => m.counters(),
        }
    }
}
