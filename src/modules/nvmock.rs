// SPDX-License-Identifier: GPL-2.0

//! nvmock: owners of fake physical memory for relinked kernel modules, and their KUnit
//! suites (run when the module is loaded).
//!
//! The device models are the pure `no_std` files under `model/`, shared with the host crate
//! that `cargo test` checks.

use kernel::prelude::*;

/// The pure models, the same files the host crate builds.
#[path = "../model"]
pub(crate) mod model {
    #[path = "le.rs"]
    #[allow(dead_code)]
    pub(crate) mod le;
    #[path = "nvme/mod.rs"]
    #[allow(dead_code, unreachable_pub, unused_imports)]
    pub(crate) mod nvme;
    #[path = "pci/mod.rs"]
    #[allow(dead_code, unreachable_pub, unused_imports)]
    pub(crate) mod pci;
    #[path = "pcicfg.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod pcicfg;
    #[path = "range.rs"]
    #[allow(dead_code, unreachable_pub)]
    pub(crate) mod range;
}

/// Kernel glue: the owner of test memory, the emulated NVMe function and its host bridge.
#[path = "../glue"]
pub(crate) mod glue {
    #[path = "iomap.rs"]
    pub(crate) mod iomap;
    #[path = "nvme/mod.rs"]
    pub(crate) mod nvme;
    #[path = "raw_lock.rs"]
    pub(crate) mod raw_lock;
    #[path = "soft_irq.rs"]
    pub(crate) mod soft_irq;
}

/// The suites (`src/kunit/`), run when the module loads, and their helpers.
#[path = "../kunit"]
mod kunit {
    #[path = "check.rs"]
    #[macro_use]
    mod check;
    #[path = "blk_io.rs"]
    pub(crate) mod blk_io;
    #[path = "iomap.rs"]
    mod iomap;
    #[path = "model.rs"]
    mod model;
    #[path = "nvme.rs"]
    pub(crate) mod nvme;
    #[path = "nvme_cmb.rs"]
    pub(crate) mod nvme_cmb;
    #[path = "nvme_fault.rs"]
    mod nvme_fault;
    #[path = "nvme_io.rs"]
    pub(crate) mod nvme_io;
    #[path = "nvme_msix.rs"]
    mod nvme_msix;
    #[path = "nvme_pci.rs"]
    mod nvme_pci;
    #[path = "nvme_timing.rs"]
    mod nvme_timing;
    #[path = "nvme_zns.rs"]
    mod nvme_zns;
    // Hot-plug slots need the kernel's pciehp.
    #[cfg(CONFIG_HOTPLUG_PCI_PCIE)]
    #[path = "pci_slot.rs"]
    mod pci_slot;
    // P2PDMA needs ZONE_DEVICE and the devmem reservation: x86_64 only.
    #[cfg(CONFIG_X86)]
    #[path = "p2pdma.rs"]
    mod p2pdma;
    #[cfg(CONFIG_X86)]
    #[path = "phram.rs"]
    mod phram;
    // ZONE_DEVICE needs the devmem reservation: x86_64 only.
    #[cfg(CONFIG_X86)]
    #[path = "zone_device.rs"]
    mod zone_device;
    #[path = "relinked.rs"]
    mod relinked;
    #[path = "watermark.rs"]
    mod watermark;
}

module! {
    type: NvMock,
    name: "nvmock",
    authors: ["nvmock developers"],
    description: "nvmock: test-owned memory behind wrapped ioremap/memremap/regions",
    license: "GPL",
    params: {
        nvme: u32 {
            default: 0,
            description: "Emulated NVMe controllers to create at load (default profile)",
        },
        nvme_namespaces: u32 {
            default: 1,
            description: "Namespaces of each nvme= controller (1 to 16)",
        },
        nvme_zoned: u32 {
            default: 0,
            description: "Zoned (ZNS) namespaces of each nvme= controller: the last ones",
        },
        nvme_zone_kib: u32 {
            default: 4096,
            description: "Zone size in KiB of the zoned namespaces of nvme= controllers",
        },
        nvme_zone_cap_kib: u32 {
            default: 0,
            description: "Zone capacity in KiB of the zoned namespaces of nvme= controllers (0: the zone size)",
        },
        nvme_timing: u32 {
            default: 0,
            description: "Timing preset of nvme= controllers: 0 none, 1 optane-like, 2 970pro-like, 3 conzone-like, 4 zn540-like (3 and 4 time the zoned namespaces: nvme_zoned >= 1, a zone capacity of whole superblocks, e.g. nvme_zone_kib=4096 nvme_zone_cap_kib=3072)",
        },
        nvme_latency_us: u32 {
            default: 0,
            description: "If not 0: nvme= controllers use the simple model with this read and write latency (us), the bandwidth of nvme_slots slots",
        },
        nvme_slots: u32 {
            default: 8,
            description: "Slots (commands in parallel) of the nvme_latency_us model (1 to 64)",
        },
    },
}

/// Most controllers `nvme=` may ask for.
const MAX_NVME: u32 = 16;

#[pin_data]
struct NvMock {
    nvme: KVec<glue::nvme::dev::NvmeDev>,
    #[pin]
    configfs: kernel::configfs::Subsystem<glue::nvme::configfs::Controllers>,
    #[pin]
    fabric_configfs: kernel::configfs::Subsystem<glue::nvme::fabric_configfs::Fabrics>,
}

/// The controllers `nvme=` asks for.
fn param_controllers() -> Result<KVec<glue::nvme::dev::NvmeDev>> {
    let count = module_parameters::nvme.value();
    if count > MAX_NVME {
        pr_err!("nvme={}: at most {} controllers\n", count, MAX_NVME);
        return Err(EINVAL);
    }
    let timing = param_timing()?;
    let mut nvme = KVec::with_capacity(count as usize, GFP_KERNEL)?;
    for _ in 0..count {
        let instance = glue::nvme::instance::Instance::alloc()?;
        let profile = glue::nvme::dev::Profile {
            namespaces: module_parameters::nvme_namespaces.value(),
            zoned: module_parameters::nvme_zoned.value(),
            zone_kib: module_parameters::nvme_zone_kib.value(),
            zone_cap_kib: module_parameters::nvme_zone_cap_kib.value(),
            timing,
            ..Default::default()
        };
        nvme.push(glue::nvme::dev::NvmeDev::new(&profile, instance)?, GFP_KERNEL)?;
    }
    Ok(nvme)
}

/// The timing profile `nvme_timing=`, `nvme_latency_us=` and `nvme_slots=` ask for.
fn param_timing() -> Result<glue::nvme::timing::TimingProfile> {
    use model::nvme::timing::SimpleParams;
    let preset = module_parameters::nvme_timing.value();
    let Some(mut t) = glue::nvme::timing::TimingProfile::from_preset_index(preset) else {
        pr_err!(
            "nvme_timing={}: 0 (none), 1 (optane-like), 2 (970pro-like), 3 (conzone-like) or 4 (zn540-like)\n",
            preset
        );
        return Err(EINVAL);
    };
    let us = module_parameters::nvme_latency_us.value();
    if us != 0 {
        let slots = module_parameters::nvme_slots.value();
        let ns = u64::from(us) * 1000;
        t.select("simple")?;
        t.simple = SimpleParams {
            read_latency: ns,
            write_latency: ns,
            read_bw: SimpleParams::matched_bw(ns, slots),
            write_bw: SimpleParams::matched_bw(ns, slots),
            slots,
        };
        if let Err(e) = t.simple.check(glue::nvme::timing::SLOTS) {
            let name = match e.param {
                "slots" => "nvme_slots",
                _ => "nvme_latency_us",
            };
            pr_err!("{}: the simple model's {} {}\n", name, e.param, e.rule);
            return Err(EINVAL);
        }
    }
    Ok(t)
}

impl kernel::InPlaceModule for NvMock {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(NvMock {
            nvme: param_controllers()?,
            configfs <- glue::nvme::configfs::subsystem(),
            fabric_configfs <- glue::nvme::fabric_configfs::subsystem(),
        })
    }
}
