// SPDX-License-Identifier: GPL-2.0

//! Intel NVDIMM firmware update and activation: per DIMM Get Firmware Info, Start Update,
//! Send Data, Finish Update, Query Finish (Intel functions 12 to 16), Firmware Activate
//! DIMM Info and Arm (29, 30); per bus Activate Bus Info and Activate (the Intel bus family's
//! functions 1 and 2). Payloads from `drivers/acpi/nfit/intel.h` and
//! `tools/testing/nvdimm/test/nfit_test.h`; behaviour and figures (storage size, send
//! length, query interval and time, version numbers, one second per armed DIMM against a
//! three-second limit) as nfit_test's `nd_intel_test_*()` give them.
//!
//! # Decisions
//!
//! - A DIMM's update goes [`Update::Idle`] → `Receiving` (Start) → `Verifying` (Finish) →
//!   `Staged` (a Query after [`VERIFY_NS`] of virtual time) → `Idle` (activation), with
//!   Abort from any state but `Staged` back to `Idle`. One function per transition.
//! - Refusals are status words, as on hardware: an update already running or staged
//!   ([`status::BUSY`]), a wrong context ([`status::BUSY`]), Send Data outside an update
//!   ([`status::RETRY`]) or past the storage ([`status::INVALID_PARAM`]), a Query during
//!   `Receiving` or a Finish outside it ([`status::SEQUENCE`]); a staged image answers Finish
//!   with [`status::ALREADY_STAGED`]. A bad control flag or a payload too short for its own
//!   length fields is an invalid command.
//! - The image's bytes are counted, not kept.
//! - Activation is bus-wide ([`Activation`]): armed DIMMs add one second each to the
//!   activation time, against a three-second quiesce limit (the kernel reports the bus as
//!   "overflow" beyond it, and the platform activates anyway, answering a time-out
//!   status). After an activation the bus is busy for [`ACTIVATE_BUSY_NS`]; a DIMM that was
//!   armed reports success (its staged image now runs) or "not staged", once the bus is
//!   idle again.
//! - The running version starts at 0 (nfit_test's `run_version`) and becomes the staged
//!   version on activation.

use super::super::le::{put, put_u16, put_u32, put_u64, put_u8, u32_at, u8_at};
use super::dsm::{need, Done, DsmError};

/// Size of the firmware storage.
pub const STORAGE_SIZE: u32 = 0x10_0000;
/// Largest Send Data length.
pub const MAX_SEND_LEN: u32 = 0xffec;
/// Query interval advertised, in µs.
pub const QUERY_INTERVAL_US: u32 = 250_000;
/// Longest time a Query may report verifying, in µs.
pub const MAX_QUERY_TIME_US: u32 = 3_000_000;
/// Firmware interface specification version.
pub const FIS_VERSION: u32 = 0x0105;
/// The version a verified image has.
pub const STAGED_VERSION: u64 = 0xffff_ffff_abcd;
/// How long verification takes, in ns of virtual time.
pub const VERIFY_NS: u64 = 1_000_000_000;
/// Activation time each armed DIMM adds, in µs.
pub const ACTIVATE_PER_DIMM_US: u64 = 1_000_000;
/// The platform's longest quiesce, in µs.
pub const MAX_QUIESCE_US: u64 = 3_000_000;
/// How long the bus stays busy after an activation, in ns of virtual time.
pub const ACTIVATE_BUSY_NS: u64 = 3_000_000_000;

/// Get Firmware Info payload.
pub const INFO_LEN: usize = 44;
/// Start Update payload.
pub const START_LEN: usize = 8;
/// Send Data header (context, offset, length), before the data and the status.
pub const SEND_HDR: usize = 12;
/// Finish Update payload.
pub const FINISH_LEN: usize = 12;
/// Query Finish payload.
pub const QUERY_LEN: usize = 16;
/// Activate DIMM Info payload.
pub const DIMM_INFO_LEN: usize = 14;
/// Arm payload.
pub const ARM_LEN: usize = 5;
/// Activate Bus Info payload.
pub const BUS_INFO_LEN: usize = 40;
/// Activate payload.
pub const ACTIVATE_LEN: usize = 5;

/// Status words.
pub mod status {
    /// Invalid input parameter (Send Data past the storage or too long).
    pub const INVALID_PARAM: u32 = 3;
    /// Retry: no update is in progress.
    pub const RETRY: u32 = 5;
    /// An update is in progress, or the context is wrong.
    pub const BUSY: u32 = 0x10007;
    /// Finish: the image is already staged; Query: still verifying.
    pub const ALREADY_STAGED: u32 = 0x20007;
    /// Query during an update, Finish outside one, or a successful Abort.
    pub const SEQUENCE: u32 = 0x40007;
    /// Bus Activate: nothing armed.
    pub const NOARM: u32 = 6 | 1 << 16;
    /// Bus Activate: an activation just ran.
    pub const FWA_BUSY: u32 = 6 | 2 << 16;
    /// Bus Activate: activation took longer than the quiesce limit.
    pub const FWA_TMO: u32 = 6 | 4 << 16;
}

/// Activation states (`ND_INTEL_FWA_*`).
pub mod fwa {
    /// Idle.
    pub const IDLE: u8 = 0;
    /// Armed.
    pub const ARMED: u8 = 1;
    /// Busy.
    pub const BUSY: u8 = 2;
}

/// Per-DIMM activation results (`ND_INTEL_DIMM_FWA_*`).
pub mod result {
    /// No activation to report.
    pub const NONE: u16 = 0;
    /// Armed without a staged image.
    pub const NOT_STAGED: u16 = 1;
    /// Activated.
    pub const SUCCESS: u16 = 2;
}

/// Bus activation capabilities (`ND_INTEL_BUS_FWA_CAP_*`).
pub mod cap {
    /// Firmware quiesces the platform.
    pub const FWQUIESCE: u8 = 1 << 0;
    /// The OS quiesces devices.
    pub const OSQUIESCE: u8 = 1 << 1;
    /// Reset.
    pub const RESET: u8 = 1 << 2;
}

/// Where a DIMM's update is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Update {
    /// No update.
    Idle,
    /// Receiving the image.
    Receiving {
        /// The context Start gave.
        context: u32,
        /// Bytes received.
        received: u32,
    },
    /// Verifying the image until the virtual time given.
    Verifying {
        /// The update's context.
        context: u32,
        /// When verification completes (ns).
        until: u64,
    },
    /// Verified and staged: waits for activation.
    Staged {
        /// The update's context.
        context: u32,
    },
}

/// A DIMM's firmware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Firmware {
    update: Update,
    /// The last context issued.
    context: u32,
    running: u64,
    /// The version Query last reported staged (nfit_test's `updated_version`).
    staged: u64,
    armed: bool,
    /// The activation this DIMM was last armed for, and its result.
    activated: Option<(u64, u16)>,
}

/// The bus's view, as a DIMM's Activate DIMM Info needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusView {
    /// The bus's activation state ([`fwa`]).
    pub state: u8,
    /// The number of the last activation (0: none).
    pub generation: u64,
}

/// Bus-wide activation state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activation {
    /// Activations run so far.
    generation: u64,
    /// The bus is busy until this virtual time (ns).
    busy_until: u64,
}

impl Firmware {
    /// A DIMM with no update, running version 0, nothing armed.
    pub const DEFAULT: Firmware = Firmware {
        update: Update::Idle,
        context: 0,
        running: 0,
        staged: 0,
        armed: false,
        activated: None,
    };

    /// Where the update is.
    pub fn update(&self) -> Update {
        self.update
    }

    /// Whether the DIMM is armed for the next activation.
    pub fn armed(&self) -> bool {
        self.armed
    }

    /// The running version.
    pub fn running(&self) -> u64 {
        self.running
    }

    /// Get Firmware Info.
    pub fn info(&self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, INFO_LEN)?;
        put(buf, 0, &[0; INFO_LEN]);
        put_u32(buf, 4, STORAGE_SIZE);
        put_u32(buf, 8, MAX_SEND_LEN);
        put_u32(buf, 12, QUERY_INTERVAL_US);
        put_u32(buf, 16, MAX_QUERY_TIME_US);
        put_u32(buf, 24, FIS_VERSION);
        put_u64(buf, 28, self.running);
        put_u64(buf, 36, self.staged);
        Ok(Done::written(INFO_LEN))
    }

    /// Start Update: a new context, unless an update is running or staged.
    pub fn start(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, START_LEN)?;
        let st = match self.update {
            Update::Receiving { .. } | Update::Verifying { .. } | Update::Staged { .. } => {
                status::BUSY
            }
            Update::Idle => {
                self.context = self.context.wrapping_add(1);
                self.update = Update::Receiving {
                    context: self.context,
                    received: 0,
                };
                put_u32(buf, 4, self.context);
                0
            }
        };
        put_u32(buf, 0, st);
        Ok(Done::written(START_LEN))
    }

    /// Send Data: context, offset, length, the data, then the status word.
    pub fn send(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, SEND_HDR)?;
        let (ctx, off, len) = (u32_at(buf, 0), u32_at(buf, 4), u32_at(buf, 8));
        let status_at = SEND_HDR
            .checked_add(len as usize)
            .ok_or(DsmError::Invalid)?;
        need(buf, status_at.saturating_add(4))?;
        let st = match self.update {
            Update::Idle | Update::Verifying { .. } | Update::Staged { .. } => status::RETRY,
            Update::Receiving { context, .. } if context != ctx => status::BUSY,
            Update::Receiving { .. }
                if u64::from(off) + u64::from(len) > u64::from(STORAGE_SIZE)
                    || len > MAX_SEND_LEN =>
            {
                status::INVALID_PARAM
            }
            Update::Receiving { context, received } => {
                self.update = Update::Receiving {
                    context,
                    received: received.saturating_add(len),
                };
                0
            }
        };
        put_u32(buf, status_at, st);
        Ok(Done::written(status_at + 4))
    }

    /// Finish Update: control flag 0 finishes (verification starts at `now`), 1 aborts.
    pub fn finish(&mut self, buf: &mut [u8], now: u64) -> Result<Done, DsmError> {
        need(buf, FINISH_LEN)?;
        let (flags, ctx) = (u8_at(buf, 0), u32_at(buf, 4));
        let st = match (flags, self.update) {
            (0 | 1, Update::Staged { .. }) => status::ALREADY_STAGED,
            (0, Update::Receiving { context, .. }) if context != ctx => status::BUSY,
            (0, Update::Receiving { context, .. }) => {
                self.update = Update::Verifying {
                    context,
                    until: now.saturating_add(VERIFY_NS),
                };
                0
            }
            (0, Update::Idle | Update::Verifying { .. }) => status::SEQUENCE,
            (1, Update::Idle | Update::Receiving { .. } | Update::Verifying { .. }) => {
                self.update = Update::Idle;
                status::SEQUENCE
            }
            _ => return Err(DsmError::Invalid),
        };
        put_u32(buf, 8, st);
        Ok(Done::written(FINISH_LEN))
    }

    /// Query Finish: the staged version once verification is over.
    pub fn query(&mut self, buf: &mut [u8], now: u64) -> Result<Done, DsmError> {
        need(buf, QUERY_LEN)?;
        let ctx = u32_at(buf, 0);
        let (st, rev) = match self.update {
            _ if ctx != self.context => (status::BUSY, None),
            Update::Idle => (0, Some(0)),
            Update::Receiving { .. } => (status::SEQUENCE, Some(0)),
            Update::Verifying { until, .. } if now < until => (status::ALREADY_STAGED, Some(0)),
            Update::Verifying { context, .. } | Update::Staged { context } => {
                self.update = Update::Staged { context };
                self.staged = STAGED_VERSION;
                (0, Some(STAGED_VERSION))
            }
        };
        put_u32(buf, 4, st);
        if let Some(rev) = rev {
            put_u64(buf, 8, rev);
        }
        Ok(Done::written(QUERY_LEN))
    }

    /// Arm (1) or disarm (0) for the next activation.
    pub fn arm(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, ARM_LEN)?;
        let st = match u8_at(buf, 0) {
            0 => {
                self.armed = false;
                0
            }
            1 => {
                self.armed = true;
                0
            }
            _ => status::INVALID_PARAM,
        };
        put_u32(buf, 1, st);
        Ok(Done::written(ARM_LEN))
    }

    /// Activate DIMM Info: this DIMM's activation state and the result of the last
    /// activation it was armed for, given the bus's view.
    pub fn activate_info(&self, bus: BusView, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, DIMM_INFO_LEN)?;
        let state = match bus.state {
            fwa::BUSY => fwa::BUSY,
            fwa::ARMED if self.armed => fwa::ARMED,
            _ => fwa::IDLE,
        };
        let res = match self.activated {
            Some((generation, r)) if generation == bus.generation && state == fwa::IDLE => r,
            Some(_) | None => result::NONE,
        };
        put(buf, 0, &[0; DIMM_INFO_LEN]);
        put_u16(buf, 4, res);
        put_u8(buf, 6, state);
        Ok(Done::written(DIMM_INFO_LEN))
    }

    /// Activation `generation` reaches this DIMM: if armed, its staged image runs (or it
    /// records that none was staged); it is disarmed.
    fn activate(&mut self, generation: u64) {
        if !self.armed {
            return;
        }
        self.armed = false;
        let r = match self.update {
            Update::Staged { .. } => {
                self.running = self.staged;
                self.update = Update::Idle;
                result::SUCCESS
            }
            Update::Idle | Update::Receiving { .. } | Update::Verifying { .. } => {
                result::NOT_STAGED
            }
        };
        self.activated = Some((generation, r));
    }
}

impl Activation {
    /// The bus's state at `now` given how many DIMMs are armed.
    pub fn view(&self, armed: usize, now: u64) -> BusView {
        let state = if armed > 0 {
            fwa::ARMED
        } else if self.generation > 0 && now < self.busy_until {
            fwa::BUSY
        } else {
            fwa::IDLE
        };
        BusView {
            state,
            generation: self.generation,
        }
    }

    /// Activate Bus Info for the DIMMs' firmware at `now`.
    pub fn bus_info<T: AsRef<Firmware>>(
        &self,
        dimms: &[T],
        buf: &mut [u8],
        now: u64,
    ) -> Result<Done, DsmError> {
        need(buf, BUS_INFO_LEN)?;
        let armed = armed(dimms);
        let view = self.view(armed, now);
        let tmo = (armed as u64).saturating_mul(ACTIVATE_PER_DIMM_US);
        put(buf, 0, &[0; BUS_INFO_LEN]);
        put_u8(buf, 6, view.state);
        put_u8(buf, 7, cap::FWQUIESCE | cap::OSQUIESCE | cap::RESET);
        put_u64(buf, 8, tmo);
        put_u64(buf, 16, tmo);
        put_u64(buf, 24, tmo);
        put_u64(buf, 32, MAX_QUIESCE_US);
        Ok(Done::written(BUS_INFO_LEN))
    }

    /// Activate: every armed DIMM activates, unless nothing is armed or an activation just
    /// ran. Too many armed DIMMs still activate, with the time-out status.
    pub fn activate<T: AsRef<Firmware> + AsMut<Firmware>>(
        &mut self,
        dimms: &mut [T],
        buf: &mut [u8],
        now: u64,
    ) -> Result<Done, DsmError> {
        need(buf, ACTIVATE_LEN)?;
        let armed = armed(dimms);
        let view = self.view(armed, now);
        let tmo = (armed as u64).saturating_mul(ACTIVATE_PER_DIMM_US);
        let st = match view.state {
            fwa::BUSY => status::FWA_BUSY,
            fwa::IDLE => status::NOARM,
            _ if tmo > MAX_QUIESCE_US => status::FWA_TMO,
            _ => 0,
        };
        if st == 0 || st == status::FWA_TMO {
            self.generation = self.generation.wrapping_add(1).max(1);
            self.busy_until = now.saturating_add(ACTIVATE_BUSY_NS);
            for f in dimms.iter_mut() {
                f.as_mut().activate(self.generation);
            }
        }
        put_u32(buf, 1, st);
        Ok(Done::written(ACTIVATE_LEN))
    }
}

/// How many of `dimms` are armed.
pub fn armed<T: AsRef<Firmware>>(dimms: &[T]) -> usize {
    dimms.iter().filter(|f| f.as_ref().armed).count()
}

impl AsRef<Firmware> for Firmware {
    fn as_ref(&self) -> &Firmware {
        self
    }
}

impl AsMut<Firmware> for Firmware {
    fn as_mut(&mut self) -> &mut Firmware {
        self
    }
}
