// SPDX-License-Identifier: GPL-2.0

//! The `simple` timing model: NVMeVirt's first model, a latency floor and a bandwidth cap.
//!
//! Parameters ([`SimpleParams`]): read and write latency (ns), read and write bandwidth
//! (bytes per second), and `slots`, the device's internal parallelism.
//!
//! # How a command is timed
//!
//! The device has `slots` identical slots. A read or write of `len` bytes is cut into 4 KiB
//! units (the units its byte range touches); each unit, in turn, takes the slot that is free
//! first and keeps it busy for the unit's transfer time,
//!
//! ```text
//! unit_ns = ceil(slots * 4096 * 10^9 / bw)      (bw = read_bw or write_bw)
//! ```
//!
//! so that `slots` busy slots together move `bw` bytes per second. A unit starts when its slot
//! is free, but not before the command's submission. The command completes when its last unit
//! has been moved, but not before `submit + latency`:
//!
//! ```text
//! completion = max(submit + latency, end of the command's last unit)
//! ```
//!
//! NVMeVirt's relationship *bandwidth = slots × 4 KiB / latency* is the point where the two
//! limits meet: with `bw = slots * 4096 * 10^9 / latency` ([`SimpleParams::matched_bw`]) a
//! unit holds its slot for exactly one latency, so a lone 4 KiB command completes after
//! `latency` and `slots` commands in flight move `bw`. A higher `bw` leaves the latency as the
//! only limit at low queue depth; a lower one caps throughput below `slots × 4 KiB / latency`
//! (and stretches a lone command to `unit_ns`).
//!
//! Reads and writes share the slots. A flush completes when every write presented before it
//! has completed (at once if there are none); other commands complete at submission.

use super::{add, check_bw, check_latency, transfer_ns, units, Command, Counters, Model, Op};
use super::{ParamError, NS_PER_SEC, UNIT};

/// Most slots a [`Simple`] model can have, whatever its capacity.
pub const MAX_SLOTS: usize = 64;

/// Parameters of the [`Simple`] model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimpleParams {
    /// Least time a read takes, in ns (`read_latency`).
    pub read_latency: u64,
    /// Least time a write takes, in ns (`write_latency`).
    pub write_latency: u64,
    /// Read bandwidth in bytes per second (`read_bw`).
    pub read_bw: u64,
    /// Write bandwidth in bytes per second (`write_bw`).
    pub write_bw: u64,
    /// Internal parallelism: 4 KiB units in flight at once (`slots`).
    pub slots: u32,
}

impl SimpleParams {
    /// The bandwidth at which a 4 KiB unit holds one of `slots` slots for exactly `latency` ns:
    /// `slots * 4096 * 10^9 / latency` bytes per second, rounded down (0 if `latency` is 0).
    pub fn matched_bw(latency: u64, slots: u32) -> u64 {
        if latency == 0 {
            return 0;
        }
        super::mul_div(
            u64::from(slots).saturating_mul(UNIT),
            NS_PER_SEC,
            latency,
            false,
        )
    }

    /// Checks every parameter against a model of `capacity` slots; names the first bad one.
    pub fn check(&self, capacity: usize) -> Result<(), ParamError> {
        check_latency(self.read_latency, "read_latency")?;
        check_latency(self.write_latency, "write_latency")?;
        check_bw(self.read_bw, "read_bw")?;
        check_bw(self.write_bw, "write_bw")?;
        if self.slots == 0 {
            return Err(ParamError::new("slots", "must be > 0"));
        }
        if self.slots as usize > capacity.min(MAX_SLOTS) {
            return Err(ParamError::new(
                "slots",
                "must be <= the model's slot capacity (at most 64)",
            ));
        }
        Ok(())
    }

    /// Time a 4 KiB unit holds a slot at bandwidth `bw`.
    fn unit_ns(&self, bw: u64) -> u64 {
        transfer_ns(u64::from(self.slots) * UNIT, bw)
    }
}

/// The `simple` model with room for `SLOTS` slots (see the module documentation).
///
/// # Invariants
///
/// `p` passed [`SimpleParams::check`] for `SLOTS`; `slots[..p.slots]` is sorted ascending.
#[derive(Clone, Debug)]
pub struct Simple<const SLOTS: usize> {
    p: SimpleParams,
    read_unit: u64,
    write_unit: u64,
    slots: [u64; SLOTS],
    last_write: u64,
    counters: Counters,
}

impl<const SLOTS: usize> Simple<SLOTS> {
    /// A model with parameters `p`, all slots free; the first bad parameter is refused.
    pub fn new(p: SimpleParams) -> Result<Self, ParamError> {
        p.check(SLOTS)?;
        Ok(Simple {
            p,
            read_unit: p.unit_ns(p.read_bw),
            write_unit: p.unit_ns(p.write_bw),
            slots: [0; SLOTS],
            last_write: 0,
            counters: Counters::default(),
        })
    }

    /// The parameters.
    pub fn params(&self) -> &SimpleParams {
        &self.p
    }

    /// Time a 4 KiB unit holds a slot, for reads and for writes.
    pub fn unit_ns(&self) -> (u64, u64) {
        (self.read_unit, self.write_unit)
    }

    /// Gives `n` units of `t` ns each, in turn, to the slot free first (not before `start`);
    /// returns when the last of them ends (`start` if `n` is 0).
    ///
    /// Equivalent to placing the units one at a time, but takes at most `slots + 1` steps:
    /// slots that are within one unit of the first free one (the prefix `s[..c]`) take units
    /// round robin, so whole rounds are placed at once, up to the point where the next slot
    /// joins them.
    fn place(&mut self, start: u64, mut n: u64, t: u64) -> u64 {
        let len = (self.p.slots as usize).min(SLOTS);
        let s = &mut self.slots[..len];
        // Raising values below `start` to `start` keeps the order.
        s.iter_mut().for_each(|x| *x = (*x).max(start));
        let mut end = start;
        while n > 0 && !s.is_empty() {
            let f0 = s[0];
            if f0 == u64::MAX {
                return u64::MAX;
            }
            let lim = f0.saturating_add(t);
            // At least one: f0 < lim, as f0 < u64::MAX and t >= 1.
            let c = s.iter().take_while(|&&x| x < lim).count().max(1);
            // Whole rounds before the slot after the prefix is due: it is >= f0 + t.
            let rounds = s.get(c).map_or(u64::MAX, |&next| (next - f0) / t);
            let r = rounds.min(n / c as u64);
            let take = if r > 0 {
                let add = r.saturating_mul(t);
                n -= r * c as u64;
                s[..c].iter_mut().for_each(|x| *x = x.saturating_add(add));
                c
            } else {
                // Fewer units than the prefix has slots (or times near `u64::MAX`): the
                // first ones take one unit each.
                let k = n.min(c as u64);
                n -= k;
                let k = k as usize; // <= c <= SLOTS
                s[..k].iter_mut().for_each(|x| *x = x.saturating_add(t));
                k
            };
            end = s[..take].iter().fold(end, |e, &x| e.max(x));
            insertion_sort(s);
        }
        end
    }
}

/// Sorts a short, nearly sorted slice in place.
fn insertion_sort(s: &mut [u64]) {
    for i in 1..s.len() {
        let mut j = i;
        while j > 0 && s[j - 1] > s[j] {
            s.swap(j - 1, j);
            j -= 1;
        }
    }
}

impl<const SLOTS: usize> Model for Simple<SLOTS> {
    fn complete(&mut self, cmd: &Command) -> u64 {
        let n = units(cmd.offset, cmd.len);
        match cmd.op {
            Op::Read => {
                self.counters.reads = self.counters.reads.saturating_add(1);
                let end = self.place(cmd.submit, n, self.read_unit);
                end.max(add(cmd.submit, self.p.read_latency))
            }
            Op::Write => {
                let c = &mut self.counters;
                c.writes = c.writes.saturating_add(1);
                c.host_pages_written = c.host_pages_written.saturating_add(n);
                c.nand_pages_written = c.nand_pages_written.saturating_add(n);
                let end = self.place(cmd.submit, n, self.write_unit);
                let done = end.max(add(cmd.submit, self.p.write_latency));
                self.last_write = self.last_write.max(done);
                done
            }
            Op::Flush => {
                self.counters.flushes = self.counters.flushes.saturating_add(1);
                cmd.submit.max(self.last_write)
            }
            Op::Other | Op::ZoneReset | Op::ZoneFinish => cmd.submit,
        }
    }

    fn min_latency(&self, op: Op) -> u64 {
        match op {
            Op::Read => self.p.read_latency,
            Op::Write => self.p.write_latency,
            Op::Flush | Op::Other | Op::ZoneReset | Op::ZoneFinish => 0,
        }
    }

    fn counters(&self) -> Counters {
        self.counters
    }
}
