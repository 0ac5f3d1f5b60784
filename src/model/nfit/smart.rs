// SPDX-License-Identifier: GPL-2.0

//! Intel SMART health of one DIMM: Get SMART (`ND_INTEL_SMART`), Get SMART Threshold
//! (`ND_INTEL_SMART_THRESHOLD`), Set SMART Threshold (`ND_INTEL_SMART_SET_THRESHOLD`) and
//! SMART Inject (`ND_INTEL_SMART_INJECT`), as nfit_test answers them
//! (`nfit_test_cmd_smart()`, `nfit_test_cmd_smart_threshold()`,
//! `nfit_test_cmd_smart_set_threshold()`, `nfit_test_cmd_smart_inject()` and `smart_notify()`
//! in `tools/testing/nvdimm/test/nfit.c`; payloads from `drivers/acpi/nfit/intel.h` and
//! `tools/testing/nvdimm/test/nfit_test.h`).
//!
//! # Decisions
//!
//! - A DIMM starts with nfit_test's `smart_def` and `smart_init()` thresholds
//!   ([`Smart::DEFAULT`]).
//! - Like nfit_test, nothing recomputes the alarm flags: they stay what `smart_def` says (spare
//!   and temperature trip). A threshold crossing (or a non-"non-critical" health, or an unsafe
//!   shutdown state) after Set Threshold or Inject instead raises a health event, nfit_test's
//!   `__acpi_nvdimm_notify(dimm, 0x81)`: [`Event::Health`] in the reply.
//! - Set Threshold takes its 7 input bytes from a buffer of at least 7 bytes and writes its
//!   status after them only if the buffer holds it (nfit_test writes it regardless).
//! - Inject wants exactly the 19-byte payload, as nfit_test does.

use super::super::le::{put, put_u16, put_u32, put_u8, u16_at, u64_at, u8_at};
use super::dsm::{Done, DsmError, Event};

/// Get SMART payload length (status and 128 data bytes).
pub const SMART_LEN: usize = 132;
/// Get SMART Threshold payload length (status and 8 data bytes).
pub const THRESHOLD_LEN: usize = 12;
/// Set SMART Threshold input length (alarm control, spares, two temperatures).
pub const SET_THRESHOLD_IN: usize = 7;
/// SMART Inject payload length (input and status).
pub const INJECT_LEN: usize = 19;

/// Validity flags of Get SMART (`ND_INTEL_SMART_*_VALID`).
pub mod valid {
    /// Health is valid.
    pub const HEALTH: u32 = 1 << 0;
    /// Spares are valid.
    pub const SPARES: u32 = 1 << 1;
    /// Life used is valid.
    pub const USED: u32 = 1 << 2;
    /// Media temperature is valid.
    pub const MTEMP: u32 = 1 << 3;
    /// Controller temperature is valid.
    pub const CTEMP: u32 = 1 << 4;
    /// Shutdown count is valid.
    pub const SHUTDOWN_COUNT: u32 = 1 << 5;
    /// AIT status is valid.
    pub const AIT_STATUS: u32 = 1 << 6;
    /// PMIC temperature is valid.
    pub const PTEMP: u32 = 1 << 7;
    /// Alarm flags are valid.
    pub const ALARM: u32 = 1 << 9;
    /// Shutdown state is valid.
    pub const SHUTDOWN: u32 = 1 << 10;
    /// Vendor data is valid.
    pub const VENDOR: u32 = 1 << 11;
}

/// Alarm flag and alarm control bits (`ND_INTEL_SMART_*_TRIP`).
pub mod trip {
    /// Spares at or below the threshold.
    pub const SPARE: u8 = 1 << 0;
    /// Media temperature at or above the threshold.
    pub const MTEMP: u8 = 1 << 1;
    /// Controller temperature at or above the threshold.
    pub const CTEMP: u8 = 1 << 2;
}

/// Health values (`ND_INTEL_SMART_*_HEALTH`).
pub mod health {
    /// Non-critical: the healthy value.
    pub const NON_CRITICAL: u8 = 1 << 0;
    /// Critical.
    pub const CRITICAL: u8 = 1 << 1;
    /// Fatal.
    pub const FATAL: u8 = 1 << 2;
}

/// SMART Inject flags (`ND_INTEL_SMART_INJECT_*`).
pub mod inject {
    /// Inject (or restore) the media temperature.
    pub const MTEMP: u64 = 1 << 0;
    /// Inject (or restore) the spares.
    pub const SPARE: u64 = 1 << 1;
    /// Inject (or clear) fatal health.
    pub const FATAL: u64 = 1 << 2;
    /// Inject (or clear) an unsafe shutdown.
    pub const SHUTDOWN: u64 = 1 << 3;
}

/// The SMART data of a DIMM (the fields of `struct nd_intel_smart` nfit_test fills).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    /// Validity flags ([`valid`]).
    pub flags: u32,
    /// Health ([`health`]).
    pub health: u8,
    /// Remaining spares, percent.
    pub spares: u8,
    /// Life used, percent.
    pub life_used: u8,
    /// Alarm flags ([`trip`]).
    pub alarm_flags: u8,
    /// Media temperature, 1/16 degree Celsius.
    pub media_temperature: u16,
    /// Controller temperature, 1/16 degree Celsius.
    pub ctrl_temperature: u16,
    /// Unsafe shutdown count.
    pub shutdown_count: u32,
    /// AIT DRAM status.
    pub ait_status: u8,
    /// PMIC temperature, 1/16 degree Celsius.
    pub pmic_temperature: u16,
    /// Last shutdown state (non-zero: unsafe).
    pub shutdown_state: u8,
    /// Vendor data size.
    pub vendor_size: u32,
}

/// SMART thresholds (`struct nd_intel_smart_threshold` data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold {
    /// Which alarms are enabled ([`trip`]).
    pub alarm_control: u16,
    /// Spares threshold, percent.
    pub spares: u8,
    /// Media temperature threshold, 1/16 degree Celsius.
    pub media_temperature: u16,
    /// Controller temperature threshold, 1/16 degree Celsius.
    pub ctrl_temperature: u16,
}

/// SMART state of one DIMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Smart {
    /// Current SMART data.
    pub health: Health,
    /// Current thresholds.
    pub threshold: Threshold,
}

impl Health {
    /// nfit_test's `smart_def`.
    pub const DEFAULT: Health = Health {
        flags: valid::HEALTH
            | valid::SPARES
            | valid::ALARM
            | valid::USED
            | valid::SHUTDOWN
            | valid::SHUTDOWN_COUNT
            | valid::MTEMP
            | valid::CTEMP,
        health: health::NON_CRITICAL,
        spares: 75,
        life_used: 5,
        alarm_flags: trip::SPARE | trip::MTEMP,
        media_temperature: 23 * 16,
        ctrl_temperature: 25 * 16,
        shutdown_count: 42,
        ait_status: 1,
        pmic_temperature: 40 * 16,
        shutdown_state: 0,
        vendor_size: 0,
    };
}

impl Smart {
    /// nfit_test's initial SMART data and thresholds (`smart_init()`).
    pub const DEFAULT: Smart = Smart {
        health: Health::DEFAULT,
        threshold: Threshold {
            alarm_control: (trip::SPARE | trip::MTEMP) as u16,
            spares: 5,
            media_temperature: 40 * 16,
            ctrl_temperature: 30 * 16,
        },
    };

    /// Whether the DIMM would signal a health event now (nfit_test's `smart_notify()`): an
    /// enabled threshold is crossed, health is not non-critical, or the shutdown was unsafe.
    pub fn alarming(&self) -> bool {
        let (h, t) = (&self.health, &self.threshold);
        let ctl = t.alarm_control;
        (ctl & trip::SPARE as u16 != 0 && h.spares <= t.spares)
            || (ctl & trip::MTEMP as u16 != 0 && h.media_temperature >= t.media_temperature)
            || (ctl & trip::CTEMP as u16 != 0 && h.ctrl_temperature >= t.ctrl_temperature)
            || h.health != health::NON_CRITICAL
            || h.shutdown_state != 0
    }

    fn event(&self) -> Event {
        if self.alarming() {
            Event::Health
        } else {
            Event::None
        }
    }

    /// Get SMART: the 132-byte `nd_intel_smart` (status 0) into a buffer of at least that.
    pub fn get(&self, buf: &mut [u8]) -> Result<Done, DsmError> {
        if buf.len() < SMART_LEN {
            return Err(DsmError::Invalid);
        }
        let h = &self.health;
        put(buf, 0, &[0; SMART_LEN]);
        put_u32(buf, 4, h.flags);
        put_u8(buf, 12, h.health);
        put_u8(buf, 13, h.spares);
        put_u8(buf, 14, h.life_used);
        put_u8(buf, 15, h.alarm_flags);
        put_u16(buf, 16, h.media_temperature);
        put_u16(buf, 18, h.ctrl_temperature);
        put_u32(buf, 20, h.shutdown_count);
        put_u8(buf, 24, h.ait_status);
        put_u16(buf, 25, h.pmic_temperature);
        put_u8(buf, 35, h.shutdown_state);
        put_u32(buf, 36, h.vendor_size);
        Ok(Done::written(SMART_LEN))
    }

    /// Get SMART Threshold: the 12-byte `nd_intel_smart_threshold` (status 0).
    pub fn get_threshold(&self, buf: &mut [u8]) -> Result<Done, DsmError> {
        if buf.len() < THRESHOLD_LEN {
            return Err(DsmError::Invalid);
        }
        let t = &self.threshold;
        put(buf, 0, &[0; THRESHOLD_LEN]);
        put_u16(buf, 4, t.alarm_control);
        put_u8(buf, 6, t.spares);
        put_u16(buf, 7, t.media_temperature);
        put_u16(buf, 9, t.ctrl_temperature);
        Ok(Done::written(THRESHOLD_LEN))
    }

    /// Set SMART Threshold: takes alarm control, spares and both temperatures from the
    /// buffer's first 7 bytes and writes status 0 after them.
    pub fn set_threshold(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        if buf.len() < SET_THRESHOLD_IN {
            return Err(DsmError::Invalid);
        }
        self.threshold = Threshold {
            alarm_control: u16_at(buf, 0),
            spares: u8_at(buf, 2),
            media_temperature: u16_at(buf, 3),
            ctrl_temperature: u16_at(buf, 5),
        };
        put_u32(buf, SET_THRESHOLD_IN, 0);
        Ok(Done {
            event: self.event(),
            ..Done::written(buf.len().min(SET_THRESHOLD_IN + 4))
        })
    }

    /// SMART Inject: for each flag set, injects the value if its enable byte is non-zero and
    /// restores the default (or clears the condition) otherwise; an injected unsafe shutdown
    /// also counts one more shutdown. Writes status 0.
    pub fn inject(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        if buf.len() != INJECT_LEN {
            return Err(DsmError::Invalid);
        }
        let flags = u64_at(buf, 0);
        let h = &mut self.health;
        if flags & inject::MTEMP != 0 {
            h.media_temperature = match u8_at(buf, 8) {
                0 => Health::DEFAULT.media_temperature,
                _ => u16_at(buf, 9),
            };
        }
        if flags & inject::SPARE != 0 {
            h.spares = match u8_at(buf, 11) {
                0 => Health::DEFAULT.spares,
                _ => u8_at(buf, 12),
            };
        }
        if flags & inject::FATAL != 0 {
            h.health = match u8_at(buf, 13) {
                0 => health::NON_CRITICAL,
                _ => health::FATAL,
            };
        }
        if flags & inject::SHUTDOWN != 0 {
            match u8_at(buf, 14) {
                0 => h.shutdown_state = 0,
                _ => {
                    h.shutdown_state = 1;
                    h.shutdown_count = h.shutdown_count.wrapping_add(1);
                }
            }
        }
        put_u32(buf, 15, 0);
        Ok(Done {
            event: self.event(),
            ..Done::written(INJECT_LEN)
        })
    }
}
