// SPDX-License-Identifier: GPL-2.0

//! Intel NVDIMM security of one DIMM: Get Security State, Set Passphrase, Disable
//! Passphrase, Unlock Unit, Freeze Lock, Secure Erase, Overwrite, Query Overwrite, Set Master
//! Passphrase and Master Secure Erase (Intel functions 19 to 28; payloads from
//! `drivers/acpi/nfit/intel.h`), with the state rules nfit_test applies
//! (`nd_intel_test_cmd_*()` in `tools/testing/nvdimm/test/nfit.c`) and what the kernel's
//! `intel_security_ops` expect of them.
//!
//! # Decisions
//!
//! - The user passphrase is in one of three states ([`Lock`]): disabled (the passphrase is
//!   all zeroes), unlocked or locked. A DIMM starts disabled with the master passphrase
//!   enabled and all zeroes (nfit_test's `nfit_security_init()`).
//! - Every command answers a wrong state or passphrase with its status word (the DSM
//!   itself succeeds), as the DIMM firmware does: [`status::INVALID_STATE`],
//!   [`status::INVALID_PASS`], and [`status::NOT_SUPPORTED`] for master commands while the
//!   master passphrase is disabled.
//! - Stricter than nfit_test where it is lax: Set Passphrase and Disable Passphrase want
//!   the DIMM unlocked (nfit_test would change a locked DIMM's passphrase), every command
//!   but Get Security State and Query Overwrite is refused while an overwrite runs, and
//!   Overwrite is refused on a frozen or locked DIMM. The kernel never asks for any of
//!   these; a test that does gets [`status::INVALID_STATE`].
//! - Overwrite runs for [`OVERWRITE_NS`] of virtual time (nfit_test's five seconds);
//!   afterwards Query Overwrite reports completion once and the DIMM returns to the
//!   passphrase state it had. The media is not rewritten (nfit_test does not either).
//! - Frozen stays until the DIMM is reset (the module reloaded), as on hardware.
//! - The passphrase attempt limit (`PLIMIT`) is not modelled: no count of wrong attempts.
//! - [`Security::lock`] is nfit_test's `lock_dimm` control (what a reboot does to a DIMM
//!   with a passphrase); unlike nfit_test it refuses a DIMM without one, which cannot lock.

use super::super::le::{array, put, put_u32, put_u8};
use super::dsm::{need, Done, DsmError};

/// Length of a passphrase.
pub const PASSPHRASE_LEN: usize = 32;
/// How long an overwrite takes, in ns of virtual time.
pub const OVERWRITE_NS: u64 = 5_000_000_000;

/// Get Security State payload: status, extended state, state.
pub const STATE_LEN: usize = 12;
/// Payload of the commands with one passphrase and a status.
pub const ONE_PASS_LEN: usize = PASSPHRASE_LEN + 4;
/// Payload of the commands with an old and a new passphrase and a status.
pub const TWO_PASS_LEN: usize = 2 * PASSPHRASE_LEN + 4;
/// Payload of Freeze Lock and Query Overwrite: a status.
pub const STATUS_LEN: usize = 4;

/// Status words (`ND_INTEL_STATUS_*`).
pub mod status {
    /// Not supported (a master command while the master passphrase is disabled).
    pub const NOT_SUPPORTED: u32 = 1;
    /// The DIMM is not in a state that allows the command.
    pub const INVALID_STATE: u32 = 10;
    /// Wrong passphrase.
    pub const INVALID_PASS: u32 = 11;
    /// Query Overwrite: still running.
    pub const OQUERY_IN_PROGRESS: u32 = 0x10007;
    /// Query Overwrite: no overwrite was started.
    pub const OQUERY_SEQUENCE_ERR: u32 = 0x20007;
}

/// Security state bits (`ND_INTEL_SEC_STATE_*`).
pub mod state {
    /// A user passphrase is set.
    pub const ENABLED: u8 = 0x02;
    /// Locked.
    pub const LOCKED: u8 = 0x04;
    /// Frozen.
    pub const FROZEN: u8 = 0x08;
    /// Passphrase attempt limit reached.
    pub const PLIMIT: u8 = 0x10;
    /// Security not supported.
    pub const UNSUPPORTED: u8 = 0x20;
    /// An overwrite is running.
    pub const OVERWRITE: u8 = 0x40;
}

/// Extended state bits (`ND_INTEL_SEC_ESTATE_*`).
pub mod ext_state {
    /// The master passphrase is enabled.
    pub const ENABLED: u8 = 0x01;
    /// Master passphrase attempt limit reached.
    pub const PLIMIT: u8 = 0x02;
}

/// State of the user passphrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    /// No passphrase: the data is accessible, security is off.
    Disabled,
    /// A passphrase is set and the DIMM is unlocked.
    Unlocked,
    /// A passphrase is set and the DIMM is locked.
    Locked,
}

/// A running overwrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overwrite {
    /// Virtual time (ns) at which it completes.
    pub until: u64,
    /// The passphrase state to return to.
    pub after: Lock,
}

/// Security state of one DIMM.
///
/// # Invariants
///
/// `passphrase` is all zeroes when `lock` is [`Lock::Disabled`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Security {
    lock: Lock,
    frozen: bool,
    master_enabled: bool,
    overwrite: Option<Overwrite>,
    passphrase: [u8; PASSPHRASE_LEN],
    master: [u8; PASSPHRASE_LEN],
}

/// The result of a command whose outcome is only its status word at `off`.
fn reply(buf: &mut [u8], off: usize, status: u32) -> Result<Done, DsmError> {
    put_u32(buf, off, status);
    Ok(Done::written(off + 4))
}

impl Security {
    /// A DIMM as nfit_test starts one: no user passphrase, master passphrase enabled (all
    /// zeroes), not frozen.
    pub const DEFAULT: Security = Security {
        lock: Lock::Disabled,
        frozen: false,
        master_enabled: true,
        overwrite: None,
        passphrase: [0; PASSPHRASE_LEN],
        master: [0; PASSPHRASE_LEN],
    };

    /// A DIMM whose master passphrase is disabled (master commands are not supported until
    /// a secure erase or an overwrite enables it).
    pub const fn without_master() -> Security {
        Security {
            master_enabled: false,
            ..Security::DEFAULT
        }
    }

    /// The user passphrase state.
    pub fn lock_state(&self) -> Lock {
        self.lock
    }

    /// Whether security is frozen.
    pub fn frozen(&self) -> bool {
        self.frozen
    }

    /// The running overwrite, if any.
    pub fn overwrite(&self) -> Option<Overwrite> {
        self.overwrite
    }

    /// The state and extended state bytes Get Security State reports.
    pub fn bits(&self) -> (u8, u8) {
        let ext = if self.master_enabled {
            ext_state::ENABLED
        } else {
            0
        };
        if self.overwrite.is_some() {
            return (state::OVERWRITE, ext);
        }
        let mut s = match self.lock {
            Lock::Disabled => 0,
            Lock::Unlocked => state::ENABLED,
            Lock::Locked => state::ENABLED | state::LOCKED,
        };
        if self.frozen {
            s |= state::FROZEN;
        }
        (s, ext)
    }

    /// Locks a DIMM that has a passphrase (nfit_test's `lock_dimm`, what a power cycle does).
    pub fn lock(&mut self) -> Result<(), DsmError> {
        match (self.lock, self.overwrite) {
            (_, Some(_)) | (Lock::Disabled, None) => Err(DsmError::Invalid),
            (Lock::Unlocked | Lock::Locked, None) => {
                self.lock = Lock::Locked;
                Ok(())
            }
        }
    }

    /// Get Security State.
    pub fn get_state(&self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, STATE_LEN)?;
        let (s, ext) = self.bits();
        put(buf, 0, &[0; STATE_LEN]);
        put_u8(buf, 4, ext);
        put_u8(buf, 8, s);
        Ok(Done::written(STATE_LEN))
    }

    /// Set Passphrase: old passphrase (zeroes when disabled), new passphrase, status.
    pub fn set_passphrase(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, TWO_PASS_LEN)?;
        let old: [u8; PASSPHRASE_LEN] = array(buf, 0);
        let new: [u8; PASSPHRASE_LEN] = array(buf, PASSPHRASE_LEN);
        let st = match (self.lock, self.frozen, self.overwrite) {
            (Lock::Locked, _, _) | (_, true, _) | (_, _, Some(_)) => status::INVALID_STATE,
            (Lock::Disabled | Lock::Unlocked, false, None) if old != self.passphrase => {
                status::INVALID_PASS
            }
            (Lock::Disabled | Lock::Unlocked, false, None) => {
                self.passphrase = new;
                self.lock = if new == [0; PASSPHRASE_LEN] {
                    Lock::Disabled
                } else {
                    Lock::Unlocked
                };
                0
            }
        };
        reply(buf, 2 * PASSPHRASE_LEN, st)
    }

    /// Disable Passphrase: the passphrase, status.
    pub fn disable_passphrase(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, ONE_PASS_LEN)?;
        let pass: [u8; PASSPHRASE_LEN] = array(buf, 0);
        let st = match (self.lock, self.frozen, self.overwrite) {
            (Lock::Disabled | Lock::Locked, _, _) | (_, true, _) | (_, _, Some(_)) => {
                status::INVALID_STATE
            }
            (Lock::Unlocked, false, None) if pass != self.passphrase => status::INVALID_PASS,
            (Lock::Unlocked, false, None) => {
                self.passphrase = [0; PASSPHRASE_LEN];
                self.lock = Lock::Disabled;
                0
            }
        };
        reply(buf, PASSPHRASE_LEN, st)
    }

    /// Unlock Unit: the passphrase, status.
    pub fn unlock(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, ONE_PASS_LEN)?;
        let pass: [u8; PASSPHRASE_LEN] = array(buf, 0);
        let st = match (self.lock, self.frozen, self.overwrite) {
            (Lock::Disabled | Lock::Unlocked, _, _) | (_, true, _) | (_, _, Some(_)) => {
                status::INVALID_STATE
            }
            (Lock::Locked, false, None) if pass != self.passphrase => status::INVALID_PASS,
            (Lock::Locked, false, None) => {
                self.lock = Lock::Unlocked;
                0
            }
        };
        reply(buf, PASSPHRASE_LEN, st)
    }

    /// Freeze Lock: status.
    pub fn freeze(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, STATUS_LEN)?;
        let st = match (self.lock, self.overwrite) {
            (Lock::Disabled, _) | (_, Some(_)) => status::INVALID_STATE,
            (Lock::Unlocked | Lock::Locked, None) => {
                self.frozen = true;
                0
            }
        };
        reply(buf, 0, st)
    }

    /// Secure Erase with the user passphrase (zeroes when disabled): afterwards both
    /// passphrases are cleared and the master passphrase is enabled.
    pub fn secure_erase(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, ONE_PASS_LEN)?;
        let pass: [u8; PASSPHRASE_LEN] = array(buf, 0);
        let st = match (self.frozen, self.overwrite) {
            (true, _) | (_, Some(_)) => status::INVALID_STATE,
            (false, None) if pass != self.passphrase => status::INVALID_PASS,
            (false, None) => {
                self.passphrase = [0; PASSPHRASE_LEN];
                self.master = [0; PASSPHRASE_LEN];
                self.lock = Lock::Disabled;
                self.master_enabled = true;
                0
            }
        };
        reply(buf, PASSPHRASE_LEN, st)
    }

    /// Overwrite with the user passphrase (any when disabled): starts an overwrite that
    /// completes [`OVERWRITE_NS`] after `now`.
    pub fn overwrite_start(&mut self, buf: &mut [u8], now: u64) -> Result<Done, DsmError> {
        need(buf, ONE_PASS_LEN)?;
        let pass: [u8; PASSPHRASE_LEN] = array(buf, 0);
        let st = match (self.lock, self.frozen, self.overwrite) {
            (Lock::Locked, _, _) | (_, true, _) | (_, _, Some(_)) => status::INVALID_STATE,
            (Lock::Unlocked, false, None) if pass != self.passphrase => status::INVALID_PASS,
            (Lock::Disabled | Lock::Unlocked, false, None) => {
                self.overwrite = Some(Overwrite {
                    until: now.saturating_add(OVERWRITE_NS),
                    after: self.lock,
                });
                0
            }
        };
        reply(buf, PASSPHRASE_LEN, st)
    }

    /// Query Overwrite: in progress, done (the DIMM returns to its earlier passphrase
    /// state) or never started.
    pub fn overwrite_query(&mut self, buf: &mut [u8], now: u64) -> Result<Done, DsmError> {
        need(buf, STATUS_LEN)?;
        let st = match self.overwrite {
            None => status::OQUERY_SEQUENCE_ERR,
            Some(o) if now < o.until => status::OQUERY_IN_PROGRESS,
            Some(o) => {
                self.overwrite = None;
                self.lock = o.after;
                self.master_enabled = true;
                0
            }
        };
        reply(buf, 0, st)
    }

    /// Set Master Passphrase: old master passphrase, new one, status.
    pub fn set_master(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, TWO_PASS_LEN)?;
        let old: [u8; PASSPHRASE_LEN] = array(buf, 0);
        let new: [u8; PASSPHRASE_LEN] = array(buf, PASSPHRASE_LEN);
        let st = match (self.master_enabled, self.frozen, self.overwrite) {
            (false, _, _) => status::NOT_SUPPORTED,
            (true, true, _) | (true, _, Some(_)) => status::INVALID_STATE,
            (true, false, None) if old != self.master => status::INVALID_PASS,
            (true, false, None) => {
                self.master = new;
                0
            }
        };
        reply(buf, 2 * PASSPHRASE_LEN, st)
    }

    /// Master Secure Erase: the master passphrase, status. Clears the user passphrase; the
    /// master passphrase stays.
    pub fn master_erase(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        need(buf, ONE_PASS_LEN)?;
        let pass: [u8; PASSPHRASE_LEN] = array(buf, 0);
        let st = match (self.master_enabled, self.frozen, self.overwrite) {
            (false, _, _) => status::NOT_SUPPORTED,
            (true, true, _) | (true, _, Some(_)) => status::INVALID_STATE,
            (true, false, None) if pass != self.master => status::INVALID_PASS,
            (true, false, None) => {
                self.passphrase = [0; PASSPHRASE_LEN];
                self.lock = Lock::Disabled;
                0
            }
        };
        reply(buf, PASSPHRASE_LEN, st)
    }
}
