// SPDX-License-Identifier: GPL-2.0

//! The `_DSM` dispatcher of one emulated bus: what nfit_test's `nfit_test_ctl()` does for the
//! bus and its DIMMs, given the command and the one in/out buffer `nd_desc->ndctl()`
//! receives.
//!
//! Bus commands: ARS Capabilities, ARS Start, ARS Status, Clear Error ([`super::ars`]), and
//! through `ND_CMD_CALL` with the NFIT bus family Translate SPA ([`super::translate`]) and
//! the error injection commands. DIMM
//! commands: Get Config Size/Data, Set Config Data ([`super::label`]), and through
//! `ND_CMD_CALL` with the Intel family Get SMART, Get/Set SMART Threshold, SMART Inject
//! ([`super::smart`]), Enable Latch System Shutdown Status, the security functions
//! ([`super::security`]) and firmware update and activation ([`super::firmware`]); through
//! `ND_CMD_CALL` with the Intel bus family, bus-wide firmware activation.
//!
//! # Decisions
//!
//! - Results mirror nfit_test's two return channels: an error ([`DsmError`], the negative
//!   `rc`), or [`Done`] with the positive residual `rc` nfit_test returns for config data,
//!   the `*cmd_rc` ([`CmdRc`]) and the notification nfit_test would raise ([`Event`]).
//!   [`Done::written`] says how many bytes from the start of the payload the command wrote.
//! - Failure injection ([`FailControl`], nfit_test's `fail_cmd` and `fail_cmd_code` sysfs
//!   attributes): after a DIMM command that nfit_test knows has run (side effects included),
//!   its result is replaced by [`DsmError::Failed`] with the code (`-EIO` if the code is 0)
//!   if bit `func` of the mask is set (`override_return_code()`). `func` is the command
//!   number for native commands and the package's function for `ND_CMD_CALL`. Bus commands
//!   and commands nfit_test does not know are never overridden.
//! - The package header (`struct nd_cmd_pkg`, 64 bytes) is checked: a buffer shorter than
//!   the header or than header plus `nd_size_in + nd_size_out` is invalid. nfit_test trusts
//!   the kernel for that.
//! - A DIMM is found by its device handle (`get_dimm()`, [`DsmError::NoDevice`] if none);
//!   packages for a DIMM without [`Dimm::package_calls`] are invalid, as nfit_test refuses
//!   them for the DIMMs of its second bus; packages of a family other than Intel are not
//!   supported.
//! - Commands with a duration (overwrite, firmware verification, activation) run on the
//!   bus's virtual clock, which is the ARS engine's ([`Ars::now`]).

use super::super::le::{put_u32, u32_at, u64_at, u8_at};
use super::ars::Ars;
use super::firmware::{self, Activation, Firmware};
use super::label::LabelArea;
use super::security::Security;
use super::smart::Smart;
use super::{DeviceHandle, Topology};
use core::ops::DerefMut;

/// `ND_CMD_ARS_CAP` (bus).
pub const CMD_ARS_CAP: u32 = 1;
/// `ND_CMD_ARS_START` (bus).
pub const CMD_ARS_START: u32 = 2;
/// `ND_CMD_ARS_STATUS` (bus).
pub const CMD_ARS_STATUS: u32 = 3;
/// `ND_CMD_CLEAR_ERROR` (bus).
pub const CMD_CLEAR_ERROR: u32 = 4;
/// `ND_CMD_GET_CONFIG_SIZE` (DIMM).
pub const CMD_GET_CONFIG_SIZE: u32 = 4;
/// `ND_CMD_GET_CONFIG_DATA` (DIMM).
pub const CMD_GET_CONFIG_DATA: u32 = 5;
/// `ND_CMD_SET_CONFIG_DATA` (DIMM).
pub const CMD_SET_CONFIG_DATA: u32 = 6;
/// `ND_CMD_CALL`: a `struct nd_cmd_pkg` with a family and function.
pub const CMD_CALL: u32 = 10;

/// Length of `struct nd_cmd_pkg` before its payload.
pub const PKG_HDR: usize = 64;
/// DIMM family: Intel (`NVDIMM_FAMILY_INTEL`).
pub const FAMILY_INTEL: u64 = 0;
/// Bus family: NFIT (`NVDIMM_BUS_FAMILY_NFIT`).
pub const BUS_FAMILY_NFIT: u64 = 0;
/// Bus family: Intel (`NVDIMM_BUS_FAMILY_INTEL`).
pub const BUS_FAMILY_INTEL: u64 = 1;

/// Intel DIMM functions.
pub mod intel {
    /// Get SMART.
    pub const SMART: u64 = 1;
    /// Get SMART threshold.
    pub const SMART_THRESHOLD: u64 = 2;
    /// Enable latch system shutdown status.
    pub const ENABLE_LSS_STATUS: u64 = 10;
    /// Get firmware info.
    pub const FW_GET_INFO: u64 = 12;
    /// Start firmware update.
    pub const FW_START_UPDATE: u64 = 13;
    /// Send firmware data.
    pub const FW_SEND_DATA: u64 = 14;
    /// Finish (or abort) a firmware update.
    pub const FW_FINISH_UPDATE: u64 = 15;
    /// Query a finished firmware update.
    pub const FW_FINISH_QUERY: u64 = 16;
    /// Set SMART threshold.
    pub const SMART_SET_THRESHOLD: u64 = 17;
    /// SMART inject.
    pub const SMART_INJECT: u64 = 18;
    /// Get security state.
    pub const GET_SECURITY_STATE: u64 = 19;
    /// Set passphrase.
    pub const SET_PASSPHRASE: u64 = 20;
    /// Disable passphrase.
    pub const DISABLE_PASSPHRASE: u64 = 21;
    /// Unlock unit.
    pub const UNLOCK_UNIT: u64 = 22;
    /// Freeze lock.
    pub const FREEZE_LOCK: u64 = 23;
    /// Secure erase.
    pub const SECURE_ERASE: u64 = 24;
    /// Overwrite.
    pub const OVERWRITE: u64 = 25;
    /// Query overwrite.
    pub const QUERY_OVERWRITE: u64 = 26;
    /// Set master passphrase.
    pub const SET_MASTER_PASSPHRASE: u64 = 27;
    /// Master secure erase.
    pub const MASTER_SECURE_ERASE: u64 = 28;
    /// Firmware activate DIMM info.
    pub const FW_ACTIVATE_DIMMINFO: u64 = 29;
    /// Firmware activate arm.
    pub const FW_ACTIVATE_ARM: u64 = 30;
}

/// Intel bus family functions.
pub mod intel_bus {
    /// Firmware activate bus info.
    pub const FW_ACTIVATE_BUSINFO: u64 = 1;
    /// Firmware activate.
    pub const FW_ACTIVATE: u64 = 2;
}

/// NFIT bus family functions.
pub mod nfit_bus {
    /// Translate an SPA to a DIMM and DPA (`NFIT_CMD_TRANSLATE_SPA`).
    pub const TRANSLATE_SPA: u64 = 5;
    /// Inject an error (`NFIT_CMD_ARS_INJECT_SET`).
    pub const ARS_INJECT_SET: u64 = 7;
    /// Clear injected errors (`NFIT_CMD_ARS_INJECT_CLEAR`).
    pub const ARS_INJECT_CLEAR: u64 = 8;
    /// List injected errors (`NFIT_CMD_ARS_INJECT_GET`).
    pub const ARS_INJECT_GET: u64 = 9;
}

const EINVAL: i32 = 22;
const ENOTTY: i32 = 25;
const ENXIO: i32 = 6;
const ENOMEM: i32 = 12;
const EIO: i32 = 5;
const EBUSY: i32 = 16;
const ENOSPC: i32 = 28;

/// Why a command failed as a whole (nfit_test's negative `rc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DsmError {
    /// A malformed request (`-EINVAL`).
    Invalid,
    /// An unknown command or family (`-ENOTTY`).
    NotSupported,
    /// No DIMM has the handle (`-ENXIO`).
    NoDevice,
    /// The error list is full (`-ENOMEM`).
    NoMemory,
    /// Injected by [`FailControl`]: the code to return as it is.
    Failed(i32),
}

impl DsmError {
    /// The value nfit_test's `nfit_test_ctl()` would return.
    pub const fn errno(self) -> i32 {
        match self {
            DsmError::Invalid => -EINVAL,
            DsmError::NotSupported => -ENOTTY,
            DsmError::NoDevice => -ENXIO,
            DsmError::NoMemory => -ENOMEM,
            DsmError::Failed(code) => code,
        }
    }
}

/// The command's own result code (nfit_test's `*cmd_rc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmdRc {
    /// Success.
    Ok,
    /// A scrub is in progress (`-EBUSY`).
    Busy,
    /// ARS records overflowed the output; continue at the restart range (`-ENOSPC`).
    NoSpace,
}

impl CmdRc {
    /// The errno value (0 for success).
    pub const fn errno(self) -> i32 {
        match self {
            CmdRc::Ok => 0,
            CmdRc::Busy => -EBUSY,
            CmdRc::NoSpace => -ENOSPC,
        }
    }
}

/// A notification the command raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// None.
    None,
    /// DIMM health event (notify the DIMM with 0x81).
    Health,
    /// Uncorrectable memory error (notify the bus with `NFIT_NOTIFY_UC_MEMORY_ERROR`).
    UncorrectableError,
}

/// A command that ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    /// Bytes from the start of the payload the command wrote.
    pub written: usize,
    /// Payload bytes left unused, which nfit_test returns as a positive `rc` (config data
    /// only; 0 otherwise).
    pub residual: usize,
    /// The command's result code.
    pub cmd_rc: CmdRc,
    /// The notification to raise.
    pub event: Event,
}

impl Done {
    /// A plain success that wrote `written` bytes.
    pub const fn written(written: usize) -> Done {
        Done {
            written,
            residual: 0,
            cmd_rc: CmdRc::Ok,
            event: Event::None,
        }
    }
}

/// nfit_test's per-DIMM `fail_cmd` and `fail_cmd_code`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailControl {
    /// Bit `func` set: command `func` fails.
    pub mask: u64,
    /// The code failing commands return (0: `-EIO`).
    pub code: i32,
}

impl FailControl {
    /// The result of command `func` that gave `rc` (`override_return_code()`).
    pub fn apply(&self, func: u64, rc: Result<Done, DsmError>) -> Result<Done, DsmError> {
        let bit = 1u64.checked_shl(u32::try_from(func).unwrap_or(u32::MAX));
        match bit {
            Some(b) if self.mask & b != 0 => Err(DsmError::Failed(match self.code {
                0 => -EIO,
                c => c,
            })),
            Some(_) | None => rc,
        }
    }
}

/// One emulated DIMM's `_DSM` state, with its label storage area in `L`: whatever storage
/// dereferences to the area's bytes (a [`LabelArea`] or slice the caller borrows, the bus's
/// own buffer). Label commands read and write it in place.
#[derive(Debug)]
pub struct Dimm<L> {
    /// The NFIT device handle commands address it by.
    pub handle: DeviceHandle,
    /// Its label area (at most 4 GiB: a larger one fails every label command as invalid).
    pub label: L,
    /// Its SMART data and thresholds.
    pub smart: Smart,
    /// Failure injection.
    pub fail: FailControl,
    /// Whether it answers `ND_CMD_CALL` packages (nfit_test: the DIMMs of its first bus).
    pub package_calls: bool,
    /// Its security state.
    pub security: Security,
    /// Its firmware.
    pub firmware: Firmware,
}

impl<L> AsRef<Firmware> for Dimm<L> {
    fn as_ref(&self) -> &Firmware {
        &self.firmware
    }
}

impl<L> AsMut<Firmware> for Dimm<L> {
    fn as_mut(&mut self) -> &mut Firmware {
        &mut self.firmware
    }
}

impl<L: DerefMut<Target = [u8]>> Dimm<L> {
    /// A DIMM with default SMART data, no failures, answering packages.
    pub fn new(handle: DeviceHandle, label: L) -> Dimm<L> {
        Dimm {
            handle,
            label,
            smart: Smart::DEFAULT,
            fail: FailControl::default(),
            package_calls: true,
            security: Security::DEFAULT,
            firmware: Firmware::DEFAULT,
        }
    }

    /// Runs native command `cmd` (not `ND_CMD_CALL`) on `buf`.
    pub fn native(&mut self, cmd: u32, buf: &mut [u8]) -> Result<Done, DsmError> {
        if !matches!(
            cmd,
            CMD_GET_CONFIG_SIZE | CMD_GET_CONFIG_DATA | CMD_SET_CONFIG_DATA
        ) {
            return Err(DsmError::NotSupported);
        }
        let rc = match LabelArea::new(&mut self.label) {
            None => Err(DsmError::Invalid),
            Some(area) if cmd == CMD_GET_CONFIG_SIZE => area.get_config_size(buf),
            Some(area) if cmd == CMD_GET_CONFIG_DATA => area.get_config_data(buf),
            Some(mut area) => area.set_config_data(buf),
        };
        self.fail.apply(u64::from(cmd), rc)
    }

    /// Runs function `func` of `family` on the package payload `buf` at virtual time
    /// `now`, with `bus` the bus's firmware activation view.
    pub fn package(
        &mut self,
        family: u64,
        func: u64,
        buf: &mut [u8],
        now: u64,
        bus: firmware::BusView,
    ) -> Result<Done, DsmError> {
        if family != FAMILY_INTEL {
            return Err(DsmError::NotSupported);
        }
        if !self.package_calls {
            return Err(DsmError::Invalid);
        }
        let rc = match func {
            intel::SMART => self.smart.get(buf),
            intel::SMART_THRESHOLD => self.smart.get_threshold(buf),
            intel::SMART_SET_THRESHOLD => self.smart.set_threshold(buf),
            intel::SMART_INJECT => self.smart.inject(buf),
            intel::ENABLE_LSS_STATUS => lss_status(buf),
            intel::FW_GET_INFO => self.firmware.info(buf),
            intel::FW_START_UPDATE => self.firmware.start(buf),
            intel::FW_SEND_DATA => self.firmware.send(buf),
            intel::FW_FINISH_UPDATE => self.firmware.finish(buf, now),
            intel::FW_FINISH_QUERY => self.firmware.query(buf, now),
            intel::FW_ACTIVATE_DIMMINFO => self.firmware.activate_info(bus, buf),
            intel::FW_ACTIVATE_ARM => self.firmware.arm(buf),
            intel::GET_SECURITY_STATE => self.security.get_state(buf),
            intel::SET_PASSPHRASE => self.security.set_passphrase(buf),
            intel::DISABLE_PASSPHRASE => self.security.disable_passphrase(buf),
            intel::UNLOCK_UNIT => self.security.unlock(buf),
            intel::FREEZE_LOCK => self.security.freeze(buf),
            intel::SECURE_ERASE => self.security.secure_erase(buf),
            intel::OVERWRITE => self.security.overwrite_start(buf, now),
            intel::QUERY_OVERWRITE => self.security.overwrite_query(buf, now),
            intel::SET_MASTER_PASSPHRASE => self.security.set_master(buf),
            intel::MASTER_SECURE_ERASE => self.security.master_erase(buf),
            _ => return Err(DsmError::NotSupported),
        };
        self.fail.apply(func, rc)
    }
}

/// Checks that a payload holds at least `len` bytes (a shorter one is an invalid command).
pub(super) fn need(buf: &[u8], len: usize) -> Result<(), DsmError> {
    if buf.len() < len {
        return Err(DsmError::Invalid);
    }
    Ok(())
}

/// Enable Latch System Shutdown Status: enable 0 or 1 succeeds, anything else answers
/// status 3 (`nd_intel_test_cmd_set_lss_status()`).
fn lss_status(buf: &mut [u8]) -> Result<Done, DsmError> {
    need(buf, 5)?;
    let status = match u8_at(buf, 0) {
        0 | 1 => 0,
        _ => 3,
    };
    put_u32(buf, 1, status);
    Ok(Done::written(5))
}

/// Runs bus command `cmd` (not `ND_CMD_CALL`) on `buf`.
pub fn bus_native<const N: usize>(
    ars: &mut Ars<N>,
    cmd: u32,
    buf: &mut [u8],
) -> Result<Done, DsmError> {
    match cmd {
        CMD_ARS_CAP => ars.cap(buf),
        CMD_ARS_START => ars.start(buf),
        CMD_ARS_STATUS => ars.status(buf),
        CMD_CLEAR_ERROR => ars.clear_error(buf),
        _ => Err(DsmError::NotSupported),
    }
}

/// Runs bus function `func` of `family` on the package payload `buf`; `dimms` are all the
/// bus's DIMMs (firmware activation reaches them), `topo` the bus's topology at its base.
pub fn bus_package<const N: usize, L>(
    ars: &mut Ars<N>,
    fwa: &mut Activation,
    topo: &Topology<'_>,
    dimms: &mut [Dimm<L>],
    family: u64,
    func: u64,
    buf: &mut [u8],
) -> Result<Done, DsmError> {
    let now = ars.now();
    match (family, func) {
        (BUS_FAMILY_NFIT, nfit_bus::TRANSLATE_SPA) => super::translate::translate_spa(topo, buf),
        (BUS_FAMILY_NFIT, nfit_bus::ARS_INJECT_SET) => ars.inject_set(buf),
        (BUS_FAMILY_NFIT, nfit_bus::ARS_INJECT_CLEAR) => ars.inject_clear(buf),
        (BUS_FAMILY_NFIT, nfit_bus::ARS_INJECT_GET) => ars.inject_status(buf),
        (BUS_FAMILY_INTEL, intel_bus::FW_ACTIVATE_BUSINFO) => fwa.bus_info(dimms, buf, now),
        (BUS_FAMILY_INTEL, intel_bus::FW_ACTIVATE) => fwa.activate(dimms, buf, now),
        _ => Err(DsmError::NotSupported),
    }
}

/// A package's family, function and payload (`nd_size_in + nd_size_out` bytes after the
/// 64-byte `struct nd_cmd_pkg` header).
pub fn package_payload(buf: &mut [u8]) -> Result<(u64, u64, &mut [u8]), DsmError> {
    if buf.len() < PKG_HDR {
        return Err(DsmError::Invalid);
    }
    let (family, func) = (u64_at(buf, 0), u64_at(buf, 8));
    let size = (u32_at(buf, 16) as usize).saturating_add(u32_at(buf, 20) as usize);
    let end = PKG_HDR.saturating_add(size);
    let payload = buf.get_mut(PKG_HDR..end).ok_or(DsmError::Invalid)?;
    Ok((family, func, payload))
}

/// What a command addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The bus.
    Bus,
    /// The DIMM with this handle.
    Dimm(DeviceHandle),
}

/// Runs command `cmd` for `target` on `buf` (`nfit_test_ctl()`): a package for
/// [`CMD_CALL`], the payload itself otherwise. The results of packages count from the start
/// of the package's payload. `dimms` are all the bus's DIMMs, `topo` its topology at its
/// base. Nothing is copied: the command works on the DIMMs' state, labels included, in
/// place.
pub fn ctl<const N: usize, L: DerefMut<Target = [u8]>>(
    ars: &mut Ars<N>,
    fwa: &mut Activation,
    topo: &Topology<'_>,
    dimms: &mut [Dimm<L>],
    target: Target,
    cmd: u32,
    buf: &mut [u8],
) -> Result<Done, DsmError> {
    match target {
        Target::Bus if cmd == CMD_CALL => {
            let (family, func, payload) = package_payload(buf)?;
            bus_package(ars, fwa, topo, dimms, family, func, payload)
        }
        Target::Bus => bus_native(ars, cmd, buf),
        Target::Dimm(handle) => {
            let now = ars.now();
            let bus = fwa.view(firmware::armed(dimms), now);
            let dimm = dimms
                .iter_mut()
                .find(|d| d.handle == handle)
                .ok_or(DsmError::NoDevice)?;
            if cmd == CMD_CALL {
                let (family, func, payload) = package_payload(buf)?;
                dimm.package(family, func, payload, now, bus)
            } else {
                dimm.native(cmd, buf)
            }
        }
    }
}
