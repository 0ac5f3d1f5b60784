// SPDX-License-Identifier: GPL-2.0

//! Address Range Scrub for one bus: the list of known media errors, ARS Capabilities, ARS
//! Start, ARS Status and Clear Error (`ND_CMD_ARS_*`, `ND_CMD_CLEAR_ERROR`), and the NFIT bus
//! family's error injection commands (`NFIT_CMD_ARS_INJECT_SET/CLEAR/GET`), as nfit_test
//! answers them (`nfit_test_cmd_ars_cap()`, `nfit_test_cmd_ars_start()`, `post_ars_status()`,
//! `nfit_test_cmd_ars_status()`, `nfit_test_cmd_clear_error()`,
//! `nfit_test_cmd_ars_error_inject()`, `nfit_test_cmd_ars_inject_clear()`,
//! `nfit_test_cmd_ars_inject_status()` in `tools/testing/nvdimm/test/nfit.c`; the error list
//! is Linux's `badrange_add()`/`badrange_forget()` of `drivers/nvdimm/badrange.c`).
//!
//! # Decisions
//!
//! - Time is virtual, in nanoseconds, driven by the caller ([`Ars::advance`]). A scrub runs for
//!   the duration given to [`Ars::new`] (nfit_test: one second of jiffies;
//!   [`DEFAULT_SCRUB_NS`] here). ARS Start while a scrub runs answers status
//!   [`START_BUSY`] and [`CmdRc::Busy`]; ARS Status while it runs answers a zeroed buffer
//!   with status [`STATUS_BUSY`] and `out_length` 48, and [`CmdRc::Busy`].
//! - As in nfit_test, ARS Start takes the snapshot of the error records in the range at once
//!   (later clears and injections do not change the pending result), reports type
//!   persistent whatever was asked, scrub time 1, and `out_length` counting the 48-byte
//!   header (`sizeof(struct nd_cmd_ars_status)`) plus 24 bytes a record.
//! - Overflow (not in nfit_test, which writes past its buffer instead): ARS Status returns as
//!   many records as the caller's buffer holds, at most the bus's record limit (what ARS
//!   Capabilities' `max_ars_out` promises: [`MAX_ARS_RECORDS`] unless a test lowers it with
//!   [`Ars::set_max_records`] to make the driver meet an overflow with few errors). If
//!   records are left over it answers extended
//!   status [`STATUS_INTR`], flag [`FLAG_OVERFLOW`], `restart_address` at the first record
//!   left out and `restart_length` to the end of the scrubbed range, and
//!   [`CmdRc::NoSpace`]: what Linux's `xlat_bus_status()` turns into `-ENOSPC`, upon which
//!   `ars_continue()` starts a new scrub at the restart range.
//! - ARS Status before any ARS Start writes nothing and succeeds (nfit_test copies its
//!   zero-length status); after one, a buffer shorter than the 48-byte header is invalid.
//! - The error list holds at most `N` entries, in insertion order, like Linux's badrange
//!   list: injecting at an address already listed replaces that entry's length; otherwise it
//!   is appended, overlapping or not. A full list refuses injections ([`DsmError::NoMemory`],
//!   `badrange_add()`'s `-ENOMEM`); a clear that would split an entry of a full list loses
//!   the right-hand part (Linux's `GFP_NOWAIT` allocation failing).
//! - Clear Error and inject-clear forget with Linux's arithmetic, wrapping, with the length
//!   cut to 32 bits (`badrange_forget()` takes an `unsigned int`), including its quirk: a
//!   clear ending exactly on an entry's first byte leaves the entry alone, and a zero-length
//!   clear at address 0 ends at `u64::MAX` and so forgets every error.
//! - The injection notify option raises [`Event::UncorrectableError`] (nfit_test queues an
//!   `NFIT_NOTIFY_UC_MEMORY_ERROR` notification of the bus).

use super::super::le::{put, put_u16, put_u32, put_u64, u64_at, u8_at};
use super::dsm::{CmdRc, Done, DsmError, Event};

/// Scrub duration used when the caller has no better idea: 5 ms of virtual time.
pub const DEFAULT_SCRUB_NS: u64 = 5_000_000;
/// Clear Error granularity (`NFIT_TEST_CLEAR_ERR_UNIT`).
pub const CLEAR_ERR_UNIT: u32 = 256;
/// ARS Status header length (`sizeof(struct nd_cmd_ars_status)`).
pub const STATUS_HDR: usize = 48;
/// ARS Status record length (`struct nd_ars_record`).
pub const RECORD_LEN: usize = 24;
/// Records an ARS Status returns at most (nfit_test: as many as fit in 4 KiB).
pub const MAX_ARS_RECORDS: usize = 4096 / RECORD_LEN;
/// `max_ars_out` of ARS Capabilities.
pub const MAX_ARS_OUT: u32 = (STATUS_HDR + MAX_ARS_RECORDS * RECORD_LEN) as u32;
/// ARS Capabilities payload length.
pub const CAP_LEN: usize = 32;
/// ARS Start payload length.
pub const START_LEN: usize = 32;
/// Clear Error payload length.
pub const CLEAR_LEN: usize = 32;
/// Inject-set payload length (`struct nd_cmd_ars_err_inj`).
pub const INJECT_SET_LEN: usize = 21;
/// Inject-clear payload length (`struct nd_cmd_ars_err_inj_clr`).
pub const INJECT_CLEAR_LEN: usize = 20;
/// Records inject-status lists at most (nfit_test's off-by-one: 4 KiB / 16 plus one).
pub const MAX_INJECT_RECORDS: usize = 4096 / 16 + 1;

/// ARS type: volatile (`ND_ARS_VOLATILE`).
pub const TYPE_VOLATILE: u16 = 1;
/// ARS type: persistent (`ND_ARS_PERSISTENT`).
pub const TYPE_PERSISTENT: u16 = 2;
/// ARS Start status: a scrub is in progress (`NFIT_ARS_START_BUSY`).
pub const START_BUSY: u32 = 6;
/// ARS Status extended status: scrub in progress (`NFIT_ARS_STATUS_BUSY`).
pub const STATUS_BUSY: u32 = 1 << 16;
/// ARS Status extended status: scrub stopped early (`NFIT_ARS_STATUS_INTR`).
pub const STATUS_INTR: u32 = 3 << 16;
/// ARS Status flag: records overflowed the output (`NFIT_ARS_F_OVERFLOW`).
pub const FLAG_OVERFLOW: u16 = 1;
/// Injection status: invalid request (`NFIT_ARS_INJECT_INVALID`).
pub const INJECT_INVALID: u32 = 2;

/// A media error: `length` bytes from `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ErrorRange {
    /// First byte's system physical address.
    pub start: u64,
    /// Length in bytes.
    pub length: u64,
}

/// A fixed-capacity list of media errors (Linux's `struct badrange`).
///
/// # Invariants
///
/// `count <= N`; `entries[..count]` are the errors in insertion order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorList<const N: usize> {
    entries: [ErrorRange; N],
    count: usize,
}

impl<const N: usize> Default for ErrorList<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> ErrorList<N> {
    /// An empty list.
    pub const fn new() -> Self {
        ErrorList {
            entries: [ErrorRange {
                start: 0,
                length: 0,
            }; N],
            count: 0,
        }
    }

    /// Whether an error overlaps `[start, start + len)`.
    pub fn overlapping(&self, start: u64, len: u64) -> bool {
        self.entries()
            .iter()
            .any(|e| super::topology::overlaps(e.start, e.length, start, len))
    }

    /// The errors, in insertion order.
    pub fn entries(&self) -> &[ErrorRange] {
        self.entries.get(..self.count).unwrap_or(&[])
    }

    fn push(&mut self, e: ErrorRange) -> Result<(), DsmError> {
        let slot = self.entries.get_mut(self.count).ok_or(DsmError::NoMemory)?;
        *slot = e;
        self.count += 1;
        Ok(())
    }

    /// Adds an error (`badrange_add()`): an entry starting at `start` gets `length`;
    /// otherwise a new entry is appended, if there is room.
    pub fn add(&mut self, start: u64, length: u64) -> Result<(), DsmError> {
        let n = self.count;
        if let Some(e) = self
            .entries
            .get_mut(..n)
            .and_then(|es| es.iter_mut().find(|e| e.start == start))
        {
            e.length = length;
            return Ok(());
        }
        self.push(ErrorRange { start, length })
    }

    /// Forgets `len` bytes from `start` (`badrange_forget()`, with its arithmetic): entries
    /// inside are removed, entries overlapping one end are shrunk, an entry containing the
    /// range is split (the right part appended, if there is room).
    pub fn forget(&mut self, start: u64, len: u32) {
        let clr_end = start.wrapping_add(len as u64).wrapping_sub(1);
        let mut i = 0;
        // Entries appended by splits are visited too, as in Linux's list walk.
        while let Some(&e) = self.entries().get(i) {
            let end = e.start.wrapping_add(e.length).wrapping_sub(1);
            let mut keep = Some(e);
            if end < start || e.start > clr_end {
                // No intersection.
            } else if e.start >= start && end <= clr_end {
                keep = None;
            } else if start <= e.start && clr_end > e.start {
                keep = Some(ErrorRange {
                    start: clr_end.wrapping_add(1),
                    length: e
                        .length
                        .wrapping_sub(clr_end.wrapping_sub(e.start).wrapping_add(1)),
                });
            } else if e.start < start && end <= clr_end {
                keep = Some(ErrorRange {
                    start: e.start,
                    length: start - e.start,
                });
            } else if e.start < start && end > clr_end {
                let right = clr_end.wrapping_add(1);
                // A full list loses the right part, like a failed allocation.
                let _ = self.push(ErrorRange {
                    start: right,
                    length: end.wrapping_sub(right).wrapping_add(1),
                });
                keep = Some(ErrorRange {
                    start: e.start,
                    length: start - e.start,
                });
            }
            match keep {
                Some(k) => {
                    if let Some(slot) = self.entries.get_mut(i) {
                        *slot = k;
                    }
                    i += 1;
                }
                None => self.remove(i),
            }
        }
    }

    fn remove(&mut self, i: usize) {
        if let Some(tail) = self.entries.get_mut(i..self.count) {
            tail.rotate_left(1);
            self.count -= 1;
        }
    }
}

/// Where the scrub engine is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scrub {
    /// No scrub was ever started.
    Never,
    /// A scrub runs until the virtual time given.
    Running {
        /// Virtual time (ns) at which it completes.
        until: u64,
    },
    /// The last scrub has completed; its result is readable.
    Complete,
}

/// The ARS state of a bus: errors, scrub engine, last scrub's result and the virtual clock.
///
/// # Invariants
///
/// `found <= N` and `found` records of `result` are the snapshot of the last ARS Start (all
/// zero while the scrub is [`Scrub::Never`]); `scrub` is [`Scrub::Running`] only with
/// `until > now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ars<const N: usize> {
    errors: ErrorList<N>,
    scrub: Scrub,
    duration: u64,
    now: u64,
    address: u64,
    length: u64,
    result: [ErrorRange; N],
    found: usize,
    max_records: usize,
}

impl<const N: usize> Ars<N> {
    /// An idle bus with no errors whose scrubs take `duration` ns of virtual time.
    pub const fn new(duration: u64) -> Self {
        Ars {
            errors: ErrorList::new(),
            scrub: Scrub::Never,
            duration,
            now: 0,
            address: 0,
            length: 0,
            result: [ErrorRange {
                start: 0,
                length: 0,
            }; N],
            found: 0,
            max_records: MAX_ARS_RECORDS,
        }
    }

    /// Lowers (or restores) the number of records one ARS Status returns, and with it
    /// `max_ars_out`: from 1 to [`MAX_ARS_RECORDS`], anything else is invalid.
    pub fn set_max_records(&mut self, n: usize) -> Result<(), DsmError> {
        if n == 0 || n > MAX_ARS_RECORDS {
            return Err(DsmError::Invalid);
        }
        self.max_records = n;
        Ok(())
    }

    /// The number of records one ARS Status returns at most.
    pub fn max_records(&self) -> usize {
        self.max_records
    }

    /// The range of the last scrub started (address, length).
    pub fn last_scrub(&self) -> (u64, u64) {
        (self.address, self.length)
    }

    /// The number of records the last scrub found (those in the range, up to `N`).
    pub fn found(&self) -> usize {
        self.found
    }

    /// The known media errors.
    pub fn errors(&self) -> &ErrorList<N> {
        &self.errors
    }

    /// The known media errors, for tests and the harness to change directly.
    pub fn errors_mut(&mut self) -> &mut ErrorList<N> {
        &mut self.errors
    }

    /// Where the scrub engine is.
    pub fn scrub(&self) -> Scrub {
        self.scrub
    }

    /// The virtual time, in ns.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Advances the virtual clock by `ns` (saturating); a running scrub whose time has come
    /// completes.
    pub fn advance(&mut self, ns: u64) {
        self.now = self.now.saturating_add(ns);
        self.scrub = match self.scrub {
            Scrub::Running { until } if until <= self.now => Scrub::Complete,
            s @ (Scrub::Never | Scrub::Running { .. } | Scrub::Complete) => s,
        };
    }

    /// ARS Capabilities: persistent and volatile scrubs for any range, `max_ars_out` for the
    /// record limit ([`MAX_ARS_OUT`] by default),
    /// [`CLEAR_ERR_UNIT`]. The flags field is left as it is, as in nfit_test.
    pub fn cap(&self, buf: &mut [u8]) -> Result<Done, DsmError> {
        if buf.len() < CAP_LEN {
            return Err(DsmError::Invalid);
        }
        put_u32(buf, 16, u32::from(TYPE_PERSISTENT | TYPE_VOLATILE) << 16);
        put_u32(buf, 20, (STATUS_HDR + self.max_records * RECORD_LEN) as u32);
        put_u32(buf, 24, CLEAR_ERR_UNIT);
        Ok(Done::written(CAP_LEN))
    }

    /// ARS Start: busy while a scrub runs; otherwise starts one over the range, taking the
    /// error records in it.
    pub fn start(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        if buf.len() < START_LEN {
            return Err(DsmError::Invalid);
        }
        match self.scrub {
            Scrub::Running { .. } => {
                put_u32(buf, 24, START_BUSY);
                Ok(Done {
                    cmd_rc: CmdRc::Busy,
                    ..Done::written(START_LEN)
                })
            }
            Scrub::Never | Scrub::Complete => {
                put_u32(buf, 24, 0);
                put_u32(buf, 28, 1);
                self.begin(u64_at(buf, 0), u64_at(buf, 8));
                Ok(Done::written(START_LEN))
            }
        }
    }

    /// Starts a scrub of `length` bytes from `address` (`post_ars_status()`).
    fn begin(&mut self, address: u64, length: u64) {
        let end = address.wrapping_add(length).wrapping_sub(1);
        self.address = address;
        self.length = length;
        self.found = 0;
        for e in self.errors.entries() {
            let e_end = e.start.wrapping_add(e.length).wrapping_sub(1);
            if e_end < address || e.start > end {
                continue;
            }
            let rstart = e.start.max(address);
            let rend = e_end.min(end);
            if let Some(r) = self.result.get_mut(self.found) {
                *r = ErrorRange {
                    start: rstart,
                    length: rend.wrapping_sub(rstart).wrapping_add(1),
                };
                self.found += 1;
            }
        }
        let until = self.now.saturating_add(self.duration);
        self.scrub = if until > self.now {
            Scrub::Running { until }
        } else {
            Scrub::Complete
        };
    }

    /// ARS Status: busy while a scrub runs; then the last scrub's records, as many as the
    /// buffer holds (see the module's decisions for overflow).
    pub fn status(&self, buf: &mut [u8]) -> Result<Done, DsmError> {
        match self.scrub {
            Scrub::Never => Ok(Done::written(0)),
            _ if buf.len() < STATUS_HDR => Err(DsmError::Invalid),
            Scrub::Running { .. } => {
                buf.fill(0);
                put_u32(buf, 0, STATUS_BUSY);
                put_u32(buf, 4, STATUS_HDR as u32);
                Ok(Done {
                    cmd_rc: CmdRc::Busy,
                    ..Done::written(buf.len())
                })
            }
            Scrub::Complete => Ok(self.complete_status(buf)),
        }
    }

    fn complete_status(&self, buf: &mut [u8]) -> Done {
        let room = ((buf.len() - STATUS_HDR) / RECORD_LEN).min(self.max_records);
        let records = self.result.get(..self.found).unwrap_or(&[]);
        let shown = records.len().min(room);
        let out_length = STATUS_HDR + shown * RECORD_LEN;
        put(buf, 0, &[0; STATUS_HDR]);
        put_u32(buf, 4, out_length as u32);
        put_u64(buf, 8, self.address);
        put_u64(buf, 16, self.length);
        put_u16(buf, 40, TYPE_PERSISTENT);
        put_u32(buf, 44, shown as u32);
        for (k, r) in records.iter().take(shown).enumerate() {
            let at = STATUS_HDR + k * RECORD_LEN;
            put(buf, at, &[0; 8]);
            put_u64(buf, at + 8, r.start);
            put_u64(buf, at + 16, r.length);
        }
        let mut cmd_rc = CmdRc::Ok;
        if let Some(next) = records.get(shown) {
            let end = self.address.wrapping_add(self.length);
            put_u32(buf, 0, STATUS_INTR);
            put_u64(buf, 24, next.start);
            put_u64(buf, 32, end.wrapping_sub(next.start));
            put_u16(buf, 42, FLAG_OVERFLOW);
            cmd_rc = CmdRc::NoSpace;
        }
        Done {
            cmd_rc,
            ..Done::written(out_length)
        }
    }

    /// Clear Error: address and length must be multiples of [`CLEAR_ERR_UNIT`]; forgets the
    /// range and reports all of it cleared.
    pub fn clear_error(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        if buf.len() < CLEAR_LEN {
            return Err(DsmError::Invalid);
        }
        let (address, length) = (u64_at(buf, 0), u64_at(buf, 8));
        let mask = u64::from(CLEAR_ERR_UNIT) - 1;
        if address & mask != 0 || length & mask != 0 {
            return Err(DsmError::Invalid);
        }
        self.errors.forget(address, length as u32);
        put_u32(buf, 16, 0);
        put_u64(buf, 24, length);
        Ok(Done::written(CLEAR_LEN))
    }

    /// Inject-set: adds an error (`err_inj_spa_range_base`, `_length`, non-zero); option
    /// bit 0 asks for an uncorrectable-error notification. Failures write status
    /// [`INJECT_INVALID`] (if the buffer holds it).
    pub fn inject_set(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        let rc = if buf.len() != INJECT_SET_LEN || u64_at(buf, 8) == 0 {
            Err(DsmError::Invalid)
        } else {
            self.errors.add(u64_at(buf, 0), u64_at(buf, 8))
        };
        match rc {
            Ok(()) => {
                put_u32(buf, 17, 0);
                let event = match u8_at(buf, 16) & 1 {
                    0 => Event::None,
                    _ => Event::UncorrectableError,
                };
                Ok(Done {
                    event,
                    ..Done::written(INJECT_SET_LEN)
                })
            }
            Err(e) => {
                put_u32(buf, 17, INJECT_INVALID);
                Err(e)
            }
        }
    }

    /// Inject-clear: forgets an error range (length non-zero). Failures write status
    /// [`INJECT_INVALID`] (if the buffer holds it).
    pub fn inject_clear(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        if buf.len() != INJECT_CLEAR_LEN || u64_at(buf, 8) == 0 {
            put_u32(buf, 16, INJECT_INVALID);
            return Err(DsmError::Invalid);
        }
        self.errors.forget(u64_at(buf, 0), u64_at(buf, 8) as u32);
        put_u32(buf, 16, 0);
        Ok(Done::written(INJECT_CLEAR_LEN))
    }

    /// Inject-status: status 0, the count, and the errors as (base, length) pairs, as many as
    /// the buffer holds (at most [`MAX_INJECT_RECORDS`]).
    pub fn inject_status(&self, buf: &mut [u8]) -> Result<Done, DsmError> {
        let room = (buf.len().saturating_sub(8) / 16).min(MAX_INJECT_RECORDS);
        let mut n = 0;
        for e in self.errors.entries().iter().take(room) {
            put_u64(buf, 8 + n * 16, e.start);
            put_u64(buf, 16 + n * 16, e.length);
            n += 1;
        }
        put_u32(buf, 0, 0);
        put_u32(buf, 4, n as u32);
        Ok(Done::written(buf.len().min(8 + n * 16)))
    }
}
