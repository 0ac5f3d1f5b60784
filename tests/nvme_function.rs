// SPDX-License-Identifier: GPL-2.0

//! The NVMe controller's PCI configuration space.

#[path = "nvme_util.rs"]
mod util;

use nvmock_model::nvme::function::{self, CAP_ID_EXP, CAP_ID_PM, CLASS_NVME};
use nvmock_model::nvme::Params;
use nvmock_model::pcicfg::*;
use std::mem::MaybeUninit;
use util::*;

fn space() -> Box<ConfigSpace> {
    let p = Params::new(&config()).unwrap();
    let mut slot = Box::new(MaybeUninit::<ConfigSpace>::uninit());
    let cs = ConfigSpace::init_in_place(&mut slot, &function::header(&p, 0x00f0)).unwrap();
    function::setup(cs, Ctrl::bar_size()).unwrap();
    // SAFETY: init_in_place initialised it.
    unsafe { Box::from_raw(Box::into_raw(slot).cast::<ConfigSpace>()) }
}

#[test]
fn identity_is_an_nvme_controller() {
    let cs = space();
    assert_eq!(cs.read(PCI_VENDOR_ID, 2).unwrap(), 0x1b36);
    assert_eq!(cs.read(PCI_DEVICE_ID, 2).unwrap(), 0x00f0);
    assert_eq!(cs.read(PCI_CLASS_REVISION, 4).unwrap() >> 8, CLASS_NVME);
    assert_eq!(cs.read(PCI_INTERRUPT_PIN, 1).unwrap(), 1);
    assert_eq!(cs.read(PCI_HEADER_TYPE, 1).unwrap(), 0);
}

#[test]
fn bar0_sizes_as_a_64_bit_bar_of_the_register_file() {
    let mut cs = space();
    cs.write(PCI_BASE_ADDRESS_0, 4, 0xffff_ffff).unwrap();
    cs.write(PCI_BASE_ADDRESS_0 + 4, 4, 0xffff_ffff).unwrap();
    let lo = cs.read(PCI_BASE_ADDRESS_0, 4).unwrap();
    let hi = cs.read(PCI_BASE_ADDRESS_0 + 4, 4).unwrap();
    assert_eq!(lo & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
    let mask = u64::from(hi) << 32 | u64::from(lo & PCI_BASE_ADDRESS_MEM_MASK);
    assert_eq!(!mask + 1, Ctrl::bar_size());
    cs.write(PCI_BASE_ADDRESS_0, 4, 0x4000).unwrap();
    cs.write(PCI_BASE_ADDRESS_0 + 4, 4, 0x10).unwrap();
    assert_eq!(cs.bar_address(0).unwrap(), 0x10_0000_4000);
}

#[test]
fn capabilities_are_pm_then_pcie_rc_integrated_endpoint() {
    let mut cs = space();
    let ids: Vec<u8> = cs.capabilities().map(|(_, id)| id).collect();
    assert_eq!(ids, [CAP_ID_PM, CAP_ID_EXP]);
    assert_ne!(
        cs.read(PCI_STATUS, 2).unwrap() as u16 & PCI_STATUS_CAP_LIST,
        0
    );
    let exp = u16::from(cs.find_capability(CAP_ID_EXP).unwrap());
    let flags = cs.read(exp + 2, 2).unwrap();
    assert_eq!(flags & 0xf, 2, "capability version");
    assert_eq!(flags >> 4 & 0xf, 9, "RC integrated endpoint");
    // DevCtl is writable, DevCap is not (it advertises Function Level Reset only).
    cs.write(exp + 8, 2, 0x2810).unwrap();
    assert_eq!(cs.read(exp + 8, 2).unwrap(), 0x2810);
    cs.write(exp + 4, 4, 0xffff_ffff).unwrap();
    assert_eq!(
        cs.read(exp + 4, 4).unwrap(),
        function::DEVCAP_RBER | function::DEVCAP_FLR
    );
    let pm = u16::from(cs.find_capability(CAP_ID_PM).unwrap());
    cs.write(pm + 4, 2, 0x0103).unwrap();
    assert_eq!(
        cs.read(pm + 4, 2).unwrap(),
        0x3 | u32::from(function::PM_CTRL_NO_SOFT_RESET),
        "only PowerState is writable; No_Soft_Reset is set"
    );
}

#[test]
fn init_in_place_matches_new() {
    let p = Params::new(&config()).unwrap();
    let h = function::header(&p, 1);
    let a = ConfigSpace::new(&h).unwrap();
    let mut slot = Box::new(MaybeUninit::<ConfigSpace>::uninit());
    let b = ConfigSpace::init_in_place(&mut slot, &h).unwrap();
    assert_eq!(a.raw(), b.raw());
    let bad = Header {
        vendor: 0xffff,
        ..h
    };
    let mut slot = Box::new(MaybeUninit::<ConfigSpace>::uninit());
    assert_eq!(
        ConfigSpace::init_in_place(&mut slot, &bad).err(),
        Some(CfgError::BadHeader)
    );
}
