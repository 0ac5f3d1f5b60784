// SPDX-License-Identifier: GPL-2.0

//! BAR0 as plain memory: a driver writes a buffer, the shadow feeds the controller.

#[path = "nvme_util.rs"]
mod util;

use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;
use proptest::prelude::*;
use std::cell::Cell;
use std::mem::MaybeUninit;
use util::*;

/// The BAR0 buffer, as dwords.
struct Buf(Vec<Cell<u32>>);

impl Buf {
    fn new() -> Buf {
        Buf((0..Ctrl::bar_size() / 4)
            .map(|_| Cell::new(0xdead_beef))
            .collect())
    }
}

impl Bar for Buf {
    fn read32(&self, offset: u64) -> u32 {
        self.0[(offset / 4) as usize].get()
    }
    fn write32(&self, offset: u64, value: u32) {
        self.0[(offset / 4) as usize].set(value)
    }
}

/// A controller behind a plain-memory BAR, and a driver that only touches the buffer.
struct Dev {
    h: Host,
    bar: Buf,
    shadow: Shadow<Q>,
}

impl Dev {
    fn new() -> Dev {
        let h = Host::new();
        let bar = Buf::new();
        let mut shadow = Shadow::new();
        shadow.reset(&bar, Ctrl::bar_size(), &h.ctrl);
        Dev { h, bar, shadow }
    }

    /// One poll of the device side: pull, process, push.
    fn poll(&mut self) -> Pulled {
        let p = self.shadow.pull(&self.bar, &mut self.h.ctrl);
        self.h.run();
        self.shadow.push(&self.bar, &self.h.ctrl);
        p
    }

    fn w(&self, off: u64, v: u32) {
        self.bar.write32(off, v)
    }

    fn r(&self, off: u64) -> u32 {
        self.bar.read32(off)
    }

    /// Enables like nvme_pci_configure_admin_queue(): AQA, ASQ, ACQ, then CC.
    fn enable(&mut self) {
        self.w(AQA, 31 << 16 | 31);
        self.w(ASQ, ASQ_BASE as u32);
        self.w(ASQ + 4, 0);
        self.w(ACQ, ACQ_BASE as u32);
        self.w(ACQ + 4, 0);
        self.w(CC, cc_enable(0));
        self.poll();
        assert_eq!(self.r(CSTS), CSTS_RDY);
        self.h.adopt_admin(32, 32);
    }

    /// Queues an Identify Controller and rings the admin SQ doorbell through the buffer.
    fn submit_identify(&mut self, cid: u16) {
        let buf = self.h.buffer(4096, 0, 0);
        let mut s = Sqe::new(admin_opcode::IDENTIFY, cid);
        s.prp1 = buf.prp1;
        s.cdw10 = 1;
        self.h.push(0, &s);
        self.w(DOORBELLS, self.h.sq[0].ptr);
    }
}

#[test]
fn reset_publishes_identity_and_clears_the_rest() {
    let d = Dev::new();
    let cap = regs::cap(d.h.ctrl.params());
    assert_eq!(d.r(CAP), cap as u32);
    assert_eq!(d.r(CAP + 4), (cap >> 32) as u32);
    assert_eq!(d.r(VS), VERSION);
    assert_eq!(d.r(CSTS), 0);
    assert_eq!(d.r(CC), 0);
    assert!((DOORBELLS..Ctrl::bar_size())
        .step_by(4)
        .all(|o| d.r(o) == 0));
}

#[test]
fn driver_enables_and_runs_admin_commands_through_the_buffer() {
    let mut d = Dev::new();
    d.enable();
    d.submit_identify(7);
    let p = d.poll();
    assert_eq!(p.doorbells, 1);
    let c = d.h.peek(0).expect("a completion was posted");
    assert_eq!(c.cid, 7);
    assert!(c.status.is_success());
    // Nothing changed: nothing is fed to the controller.
    assert!(!d.poll().any());
}

#[test]
fn driver_writes_are_never_overwritten() {
    let mut d = Dev::new();
    d.w(CC, cc_enable(0) & !CC_EN);
    d.w(INTMS, 0x5);
    d.w(AQA, 0x000f_000f);
    d.poll();
    assert_eq!(d.r(CC), cc_enable(0) & !CC_EN);
    assert_eq!(d.r(INTMS), 0x5);
    assert_eq!(d.r(AQA), 0x000f_000f);
    assert_eq!(d.h.read(INTMS), 0x5, "the controller applied INTMS");
    d.w(INTMC, 0x1);
    d.poll();
    assert_eq!(d.h.read(INTMS), 0x4);
}

#[test]
fn read_only_registers_are_restored() {
    let mut d = Dev::new();
    d.w(CAP, 0);
    d.w(VS, 0);
    d.w(CSTS, 0xffff_ffff);
    d.poll();
    assert_eq!(d.r(VS), VERSION);
    assert_eq!(d.r(CSTS), 0);
    assert_ne!(d.r(CAP), 0);
}

#[test]
fn reset_zeroes_doorbells_so_new_values_do_not_alias_old_ones() {
    let mut d = Dev::new();
    d.enable();
    d.submit_identify(1);
    d.poll();
    assert_eq!(d.r(DOORBELLS), 1);
    // Controller reset: CC.EN cleared; CSTS.RDY drops and the doorbells are zeroed.
    d.w(CC, cc_enable(0) & !CC_EN);
    d.poll();
    assert_eq!(d.r(CSTS), 0);
    assert_eq!(d.r(DOORBELLS), 0);
    assert_eq!(d.r(DOORBELLS + 4), 0);
    // Re-enable and submit one command: tail 1 again, which must still be seen.
    d.enable();
    d.submit_identify(2);
    d.poll();
    let c = d.h.peek(0).expect("the command after the reset completed");
    assert_eq!(c.cid, 2);
}

#[test]
fn cc_seen_before_queue_registers_still_uses_the_new_queue_registers() {
    // The driver wrote everything before the poll: CC is applied last, so enabling sees the
    // new ASQ/ACQ even though pull() reads CC first.
    let mut d = Dev::new();
    d.w(CC, cc_enable(0));
    d.w(AQA, 31 << 16 | 31);
    d.w(ASQ, ASQ_BASE as u32);
    d.w(ACQ, ACQ_BASE as u32);
    d.poll();
    assert_eq!(d.r(CSTS), CSTS_RDY);
    let sq = d.h.ctrl.sq_info(0).expect("admin SQ is live");
    assert_eq!(sq.base, ASQ_BASE);
}

#[test]
fn init_in_place_matches_new() {
    let params = Params::new(&config()).unwrap();
    let a = Ctrl::new(params).unwrap();
    let mut slot = Box::new(MaybeUninit::<Ctrl>::uninit());
    let b = Ctrl::init_in_place(&mut slot, params).unwrap();
    for off in (0..0x40).step_by(4) {
        assert_eq!(
            a.mmio_read(off, 4),
            b.mmio_read(off, 4),
            "register {off:#x}"
        );
    }
    assert_eq!(a.state(), b.state());
    assert!(!b.has_work(0));
    let bad = Params::new(&Config {
        io_queues: Q as u16,
        ..config()
    })
    .unwrap();
    let mut slot = Box::new(MaybeUninit::<Ctrl>::uninit());
    assert_eq!(
        Ctrl::init_in_place(&mut slot, bad).err(),
        Some(ParamError::IoQueues)
    );
}

proptest! {
    /// Doorbell values changed in any order between polls reach the controller as their
    /// latest values.
    #[test]
    fn doorbell_changes_reach_the_controller(writes in prop::collection::vec((0u64..2, 0u32..31), 1..40)) {
        let mut d = Dev::new();
        d.enable();
        for (k, v) in writes {
            d.w(DOORBELLS + 4 * k, v);
            d.shadow.pull(&d.bar, &mut d.h.ctrl);
            // The shadow records exactly what the buffer holds.
            prop_assert!(!d.shadow.pull(&d.bar, &mut d.h.ctrl).any());
        }
    }
}
