// SPDX-License-Identifier: GPL-2.0

//! BAR0 shadow details found missing by `make mutants`: the upper dwords of ASQ and ACQ reach
//! the controller, and `Pulled::any` reports either kind of change.

#[path = "nvme_util.rs"]
mod util;

use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;
use std::cell::Cell;
use util::*;

/// The BAR0 buffer, as dwords.
struct Buf(Vec<Cell<u32>>);

impl Bar for Buf {
    fn read32(&self, offset: u64) -> u32 {
        self.0[(offset / 4) as usize].get()
    }
    fn write32(&self, offset: u64, value: u32) {
        self.0[(offset / 4) as usize].set(value)
    }
}

#[test]
fn upper_dwords_of_the_admin_queue_bases_are_pulled() {
    let mut h = Host::new();
    let bar = Buf((0..Ctrl::bar_size() / 4).map(|_| Cell::new(0)).collect());
    let mut shadow: Shadow<Q> = Shadow::new();
    shadow.reset(&bar, Ctrl::bar_size(), &h.ctrl);
    bar.write32(AQA, 31 << 16 | 31);
    bar.write32(ASQ, 0x1000);
    bar.write32(ASQ + 4, 0x12);
    bar.write32(ACQ, 0x2000);
    bar.write32(ACQ + 4, 0x34);
    let p = shadow.pull(&bar, &mut h.ctrl);
    assert_eq!(p.registers, 5);
    assert_eq!(p.doorbells, 0);
    assert_eq!(h.ctrl.mmio_read(AQA, 4), Ok(u64::from(31u32 << 16 | 31)));
    assert_eq!(h.ctrl.mmio_read(ASQ, 8), Ok(0x12_0000_1000));
    assert_eq!(h.ctrl.mmio_read(ACQ, 8), Ok(0x34_0000_2000));
}

#[test]
fn any_change_is_reported() {
    assert!(!Pulled::default().any());
    assert!(Pulled {
        registers: 1,
        doorbells: 0
    }
    .any());
    assert!(Pulled {
        registers: 0,
        doorbells: 1
    }
    .any());
    assert!(Pulled {
        registers: 2,
        doorbells: 3
    }
    .any());
}

#[test]
fn every_doorbell_is_pulled_and_cleared_on_disable_even_before_ready() {
    let mut h = Host::new();
    let bar = Buf((0..Ctrl::bar_size() / 4).map(|_| Cell::new(0)).collect());
    let mut shadow: Shadow<Q> = Shadow::new();
    shadow.reset(&bar, Ctrl::bar_size(), &h.ctrl);
    bar.write32(AQA, 31 << 16 | 31);
    bar.write32(ASQ, ASQ_BASE as u32);
    bar.write32(ACQ, ACQ_BASE as u32);
    bar.write32(CC, cc_enable(0));
    shadow.pull(&bar, &mut h.ctrl);
    // Pushed while the controller is still enabling (CSTS.RDY clear): CC.EN alone makes the
    // shadow count it as enabled.
    shadow.push(&bar, &h.ctrl);
    assert_eq!(bar.read32(CSTS), 0);
    let doorbell = |q: usize, k: usize| DOORBELLS + 8 * q as u64 + 4 * k as u64;
    for q in 0..Q {
        for k in 0..2 {
            bar.write32(doorbell(q, k), 1 + (2 * q + k) as u32);
        }
    }
    bar.write32(CC, cc_enable(0) & !CC_EN);
    let p = shadow.pull(&bar, &mut h.ctrl);
    assert_eq!(p.doorbells as usize, 2 * Q, "every doorbell changed");
    shadow.push(&bar, &h.ctrl);
    for q in 0..Q {
        for k in 0..2 {
            assert_eq!(bar.read32(doorbell(q, k)), 0, "doorbell {q}/{k} cleared");
        }
    }
    // The registers below the doorbells are the driver's and the controller's, not zeroed.
    assert_eq!(bar.read32(AQA), 31 << 16 | 31);
    assert_eq!(bar.read32(ACQ), ACQ_BASE as u32);
}
