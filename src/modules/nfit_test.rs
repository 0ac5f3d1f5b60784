// SPDX-License-Identifier: GPL-2.0

//! nfit_test: nvmock's emulated NVDIMM buses, under the module name ndctl's test suite
//! loads and reloads (its `test/core.c` asks for `nfit_test`).
//!
//! The buses are `nfit_test.0` and `nfit_test.1`, with the topology of the kernel's C
//! nfit_test (tools/testing/nvdimm/test/nfit.c) as data in the pure model
//! (`src/model/nfit/preset.rs`, the presets). What each supports is the data below.
//!
//! Long operations (ARS, overwrite, firmware verification and activation) run on a virtual
//! clock that advances `time_scale` virtual nanoseconds per real one: by default nfit_test's
//! one-second scrub completes in a millisecond; `time_scale=1` restores nfit_test's
//! real-time behaviour.

use kernel::prelude::*;

/// The pure models, the same files the host crate builds.
#[path = "../model"]
pub(crate) mod model {
    #[path = "le.rs"]
    #[allow(dead_code)]
    pub(crate) mod le;
    #[path = "nfit/mod.rs"]
    #[allow(dead_code, unreachable_pub, unused_imports)]
    pub(crate) mod nfit;
    #[path = "range.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod range;
}

/// Kernel glue: the owner of the buses' test memory and the bus itself.
#[path = "../glue"]
pub(crate) mod glue {
    // The owner's memory half only: its PCI half, and what only nvmock's suites ask of it,
    // are nvmock's, which builds this file with no such allowance.
    #[path = "iomap.rs"]
    #[allow(dead_code)]
    pub(crate) mod iomap;
    #[path = "nfit/mod.rs"]
    pub(crate) mod nfit;
}

use glue::nfit::bus::{BusDesc, NfitBus};
use model::nfit::{dsm, preset as topo};

module! {
    type: NfitTest,
    name: "nfit_test",
    authors: ["nvmock developers"],
    description: "nvmock: emulated NVDIMM buses nfit_test.0 and nfit_test.1 for ndctl's tests",
    license: "GPL",
    params: {
        time_scale: u32 {
            default: 1000,
            description: "Virtual ns per real ns for long operations (ARS, overwrite, firmware); 1: real time",
        },
    },
}

/// Largest `time_scale`: a one-second scrub then takes a microsecond.
const MAX_TIME_SCALE: u32 = 1_000_000;

const fn bit(n: u32) -> u64 {
    1 << n
}

/// Native bus commands: ARS capabilities, start and status, and clear error.
const BUS_ARS: u64 = bit(dsm::CMD_ARS_CAP)
    | bit(dsm::CMD_ARS_START)
    | bit(dsm::CMD_ARS_STATUS)
    | bit(dsm::CMD_CLEAR_ERROR);
/// Label area commands.
const DIMM_LABELS: u64 =
    bit(dsm::CMD_GET_CONFIG_SIZE) | bit(dsm::CMD_GET_CONFIG_DATA) | bit(dsm::CMD_SET_CONFIG_DATA);
/// Intel functions every DIMM has: enable latch system shutdown status.
const DIMM_LSS: u64 = 1 << dsm::intel::ENABLE_LSS_STATUS;
/// Intel SMART functions (nfit_test.0's DIMMs).
const DIMM_SMART: u64 = (1 << dsm::intel::SMART)
    | (1 << dsm::intel::SMART_THRESHOLD)
    | (1 << dsm::intel::SMART_SET_THRESHOLD)
    | (1 << dsm::intel::SMART_INJECT);

/// Intel security functions.
const DIMM_SECURITY: u64 = (1 << dsm::intel::GET_SECURITY_STATE)
    | (1 << dsm::intel::SET_PASSPHRASE)
    | (1 << dsm::intel::DISABLE_PASSPHRASE)
    | (1 << dsm::intel::UNLOCK_UNIT)
    | (1 << dsm::intel::FREEZE_LOCK)
    | (1 << dsm::intel::SECURE_ERASE)
    | (1 << dsm::intel::OVERWRITE)
    | (1 << dsm::intel::QUERY_OVERWRITE)
    | (1 << dsm::intel::SET_MASTER_PASSPHRASE)
    | (1 << dsm::intel::MASTER_SECURE_ERASE);
/// Intel firmware update and activation functions.
const DIMM_FIRMWARE: u64 = (1 << dsm::intel::FW_GET_INFO)
    | (1 << dsm::intel::FW_START_UPDATE)
    | (1 << dsm::intel::FW_SEND_DATA)
    | (1 << dsm::intel::FW_FINISH_UPDATE)
    | (1 << dsm::intel::FW_FINISH_QUERY)
    | (1 << dsm::intel::FW_ACTIVATE_DIMMINFO)
    | (1 << dsm::intel::FW_ACTIVATE_ARM);

/// nfit_test.0: four DIMMs in two interleave sets, then the hot-plugged fifth; ARS with
/// error injection; firmware activation; labels, SMART, security and firmware update on
/// every DIMM.
static BUS0: BusDesc = BusDesc {
    id: 0,
    name: c"nfit_test.0",
    span: topo::NFIT_TEST0_SPAN,
    topology: topo::NFIT_TEST0,
    hotplug: Some(topo::NFIT_TEST0_HOTPLUG),
    dimm_base: 0,
    package_calls: true,
    bus_cmds: BUS_ARS | bit(dsm::CMD_CALL),
    bus_dsm: (1 << dsm::nfit_bus::TRANSLATE_SPA)
        | (1 << dsm::nfit_bus::ARS_INJECT_SET)
        | (1 << dsm::nfit_bus::ARS_INJECT_CLEAR)
        | (1 << dsm::nfit_bus::ARS_INJECT_GET),
    bus_intel: (1 << dsm::intel_bus::FW_ACTIVATE_BUSINFO) | (1 << dsm::intel_bus::FW_ACTIVATE),
    dimm_cmds: DIMM_LABELS | DIMM_LSS | DIMM_SMART | DIMM_SECURITY | DIMM_FIRMWARE,
    page_backed: false,
};

/// nfit_test.1: the flat PMEM DIMM with its failure flags, a virtual CD and an unmapped
/// DIMM; ARS without injection; labels only.
static BUS1: BusDesc = BusDesc {
    id: 1,
    name: c"nfit_test.1",
    span: topo::NFIT_TEST1_SPAN,
    topology: topo::NFIT_TEST1,
    hotplug: None,
    dimm_base: 5,
    package_calls: false,
    bus_cmds: BUS_ARS,
    bus_dsm: 0,
    bus_intel: 0,
    dimm_cmds: DIMM_LABELS | DIMM_LSS,
    page_backed: false,
};

struct NfitTest {
    /// Dropped in order: nfit_test.0 first, as nfit_test unregisters them.
    _buses: KVec<Pin<KBox<NfitBus>>>,
}

impl kernel::Module for NfitTest {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let scale = module_parameters::time_scale.value();
        if scale == 0 || scale > MAX_TIME_SCALE {
            pr_err!(
                "time_scale={}: must be 1 (real time) to {}\n",
                scale,
                MAX_TIME_SCALE
            );
            return Err(EINVAL);
        }
        let mut buses = KVec::new();
        for desc in [&BUS0, &BUS1] {
            buses.push(NfitBus::new(module, desc, scale)?, GFP_KERNEL)?;
        }
        pr_info!("nfit_test.0 and nfit_test.1 ready (time_scale={})\n", scale);
        Ok(NfitTest { _buses: buses })
    }
}
