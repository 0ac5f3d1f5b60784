// SPDX-License-Identifier: GPL-2.0

//! The NVMe function's Function Level Reset and Memory Space Enable: what an FLR resets in
//! configuration space and what it keeps (PCI Express Base Specification r6.0, §6.6.2; Device
//! Capabilities and Device Control, §7.5.3.3 and §7.5.3.4), how the write that initiates it is
//! recognised, Transactions Pending, and the controller half of the reset (NVMe base
//! specification 2.0, §3.7.2: a Controller Level Reset with every register at its default,
//! namespaces and their data kept).

#[path = "nvme_devmem_util.rs"]
mod devmem;

use devmem::*;
use nvmock_model::nvme::function::{self, *};
use nvmock_model::nvme::msix;
use nvmock_model::nvme::pmr::*;
use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;
use nvmock_model::pcicfg::*;
use std::mem::MaybeUninit;

/// The function's configuration space with an MSI-X table of 17 vectors, and its power-on
/// copy.
fn spaces() -> (Box<ConfigSpace>, Box<ConfigSpace>) {
    let p = Params::new(&config()).unwrap();
    let mut slot = Box::new(MaybeUninit::<ConfigSpace>::uninit());
    let cs = ConfigSpace::init_in_place(&mut slot, &function::header(&p, 0x00f0)).unwrap();
    function::setup(cs, Ctrl::bar_size()).unwrap();
    let layout = function::msix_layout(17, DOORBELLS + 8 * Q as u64, Ctrl::bar_size()).unwrap();
    function::add_msix(cs, &layout).unwrap();
    let mut copy = Box::new(MaybeUninit::<ConfigSpace>::uninit());
    cs.clone_in_place(&mut copy);
    // SAFETY: both were initialised above.
    unsafe {
        (
            Box::from_raw(Box::into_raw(slot).cast::<ConfigSpace>()),
            Box::from_raw(Box::into_raw(copy).cast::<ConfigSpace>()),
        )
    }
}

fn exp(cs: &ConfigSpace) -> u16 {
    cs.find_capability(CAP_ID_EXP).unwrap().into()
}

fn msix_cap(cs: &ConfigSpace) -> u16 {
    cs.find_capability(msix::CAP_ID_MSIX).unwrap().into()
}

/// A write by software that must have no effect beyond the registers.
#[track_caller]
fn plain(cs: &mut ConfigSpace, init: &ConfigSpace, off: u16, size: u8, v: u32) {
    let fx = function::config_write(cs, init, off, size, v).unwrap();
    assert_eq!(fx, Effects::default(), "write of {v:#x} at {off:#x}");
}

#[test]
fn flr_is_advertised_and_initiate_reads_zero() {
    let (mut cs, init) = spaces();
    let e = exp(&cs);
    assert_eq!(cs.read(e + EXP_DEVCAP, 4).unwrap() & DEVCAP_FLR, DEVCAP_FLR);
    // Every other Device Control bit is writable; Initiate FLR is never stored.
    plain(&mut cs, &init, e + EXP_DEVCTL, 2, 0x7fff);
    assert_eq!(cs.read(e + EXP_DEVCTL, 2).unwrap(), 0x7fff);
    function::config_write(&mut cs, &init, e + EXP_DEVCTL, 2, 0xffff).unwrap();
    assert_eq!(
        cs.read(e + EXP_DEVCTL, 2).unwrap() as u16 & DEVCTL_BCR_FLR,
        0
    );
}

#[test]
fn flr_resets_what_software_set_and_keeps_the_link_and_payload_size() {
    let (mut cs, init) = spaces();
    let e = exp(&cs);
    let pm = u16::from(cs.find_capability(CAP_ID_PM).unwrap());
    let mx = msix_cap(&cs);
    let cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;
    function::config_write(&mut cs, &init, PCI_COMMAND, 2, cmd.into()).unwrap();
    plain(&mut cs, &init, PCI_CACHE_LINE_SIZE, 1, 0x10);
    plain(&mut cs, &init, PCI_LATENCY_TIMER, 1, 0x40);
    plain(&mut cs, &init, PCI_INTERRUPT_LINE, 1, 0x0b);
    plain(&mut cs, &init, PCI_BASE_ADDRESS_0, 4, 0x4000_0000);
    plain(&mut cs, &init, PCI_BASE_ADDRESS_0 + 4, 4, 0x1);
    plain(&mut cs, &init, pm + PM_CTRL, 2, 0x3);
    // Max_Payload_Size 256 bytes (001b), relaxed ordering, no snoop, 512-byte reads, and the
    // error reporting enables.
    let devctl: u16 = 0x2810 | 0x0020 | 0x000f;
    plain(&mut cs, &init, e + EXP_DEVCTL, 2, devctl.into());
    plain(&mut cs, &init, e + EXP_DEVCTL2, 2, 0x0015);
    plain(&mut cs, &init, e + EXP_LNKCTL, 2, 0x0043);
    plain(&mut cs, &init, mx + 2, 2, 0xc000);
    // The device reports a received master abort and a link status of its own.
    cs.set_status_bits(0x2000);
    cs.device_write(e + 0x12, 2, 0x1011).unwrap();
    assert_ne!(cs.raw(), init.raw());

    let fx = function::config_write(
        &mut cs,
        &init,
        e + EXP_DEVCTL,
        2,
        u32::from(devctl | DEVCTL_BCR_FLR),
    )
    .unwrap();
    assert_eq!(
        fx,
        Effects {
            memory_space: Some(false),
            flr: true
        }
    );
    assert_eq!(cs.command(), 0);
    assert_eq!(
        cs.status(),
        PCI_STATUS_CAP_LIST,
        "error bits cleared, the list kept"
    );
    for r in [PCI_CACHE_LINE_SIZE, PCI_LATENCY_TIMER, PCI_INTERRUPT_LINE] {
        assert_eq!(cs.read(r, 1).unwrap(), 0, "register {r:#x}");
    }
    assert_eq!(cs.bar_address(0).unwrap(), 0);
    assert_eq!(cs.bar(0).unwrap(), init.bar(0).unwrap());
    assert_eq!(
        cs.read(pm + PM_CTRL, 2).unwrap(),
        u32::from(PM_CTRL_NO_SOFT_RESET),
        "D0"
    );
    assert_eq!(
        cs.read(e + EXP_DEVCTL, 2).unwrap(),
        0x0020,
        "only Max_Payload_Size"
    );
    assert_eq!(cs.read(e + EXP_DEVCTL2, 2).unwrap(), 0);
    assert_eq!(
        cs.read(e + EXP_LNKCTL, 2).unwrap(),
        0x0043,
        "link control kept"
    );
    assert_eq!(cs.read(e + 0x12, 2).unwrap(), 0x1011, "link status kept");
    assert_eq!(
        cs.read(mx + 2, 2).unwrap() & 0xc000,
        0,
        "MSI-X disabled, unmasked"
    );
    // The identity and the capabilities are what they were.
    assert_eq!(cs.raw()[..0x10], init.raw()[..0x10]);
    let caps: Vec<_> = cs.capabilities().collect();
    assert_eq!(caps, init.capabilities().collect::<Vec<_>>());
    // BAR0 still sizes.
    plain(&mut cs, &init, PCI_BASE_ADDRESS_0 + 4, 4, 0xffff_ffff);
    plain(&mut cs, &init, PCI_BASE_ADDRESS_0, 4, 0xffff_ffff);
    let lo = cs.read(PCI_BASE_ADDRESS_0, 4).unwrap() & PCI_BASE_ADDRESS_MEM_MASK;
    let hi = cs.read(PCI_BASE_ADDRESS_0 + 4, 4).unwrap();
    assert_eq!(!(u64::from(hi) << 32 | u64::from(lo)) + 1, Ctrl::bar_size());
}

#[test]
fn an_flr_of_a_function_in_its_power_on_state_changes_nothing() {
    let (mut cs, init) = spaces();
    let e = exp(&cs);
    let fx = function::config_write(&mut cs, &init, e + EXP_DEVCTL, 2, DEVCTL_BCR_FLR.into());
    assert_eq!(
        fx,
        Ok(Effects {
            memory_space: None,
            flr: true
        })
    );
    assert_eq!(cs.raw(), init.raw());
}

#[test]
fn only_a_one_written_to_initiate_flr_starts_one() {
    let (mut cs, init) = spaces();
    let e = exp(&cs);
    // Writes that leave bit 15 clear, or do not reach it.
    plain(&mut cs, &init, e + EXP_DEVCTL, 1, 0xff);
    plain(&mut cs, &init, e + EXP_DEVCTL + 1, 1, 0x7f);
    plain(&mut cs, &init, e + EXP_DEVCTL, 2, 0x7fff);
    plain(&mut cs, &init, e + EXP_DEVCTL, 4, 0xffff_7fff);
    plain(&mut cs, &init, e + EXP_DEVCAP, 4, 0xffff_ffff);
    plain(&mut cs, &init, e + EXP_DEVSTA, 2, 0xffff);
    plain(&mut cs, &init, e + EXP_LNKCTL, 2, 0x8000);
    // The same bit position elsewhere.
    plain(&mut cs, &init, PCI_COMMAND, 2, 0x8000);
    // Each access size that covers it (from a Device Control of zero: an FLR keeps
    // Max_Payload_Size, which the writes above set).
    for (off, size, v) in [
        (e + EXP_DEVCTL + 1, 1, 0x80),
        (e + EXP_DEVCTL, 2, 0x8000),
        (e + EXP_DEVCTL, 4, 0x0000_8000),
    ] {
        plain(&mut cs, &init, e + EXP_DEVCTL, 2, 0);
        let fx = function::config_write(&mut cs, &init, off, size, v).unwrap();
        assert!(fx.flr, "{size}-byte write of {v:#x} at {off:#x}");
        assert_eq!(cs.raw(), init.raw());
    }
}

#[test]
fn memory_space_changes_are_reported_once() {
    let (mut cs, init) = spaces();
    let w = |cs: &mut ConfigSpace, v: u16| {
        function::config_write(cs, &init, PCI_COMMAND, 2, v.into())
            .unwrap()
            .memory_space
    };
    assert!(!function::memory_space(&cs), "off at power on");
    assert_eq!(w(&mut cs, PCI_COMMAND_MEMORY), Some(true));
    assert!(function::memory_space(&cs));
    assert_eq!(w(&mut cs, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER), None);
    assert_eq!(w(&mut cs, PCI_COMMAND_MASTER), Some(false));
    assert_eq!(w(&mut cs, PCI_COMMAND_MASTER), None);
    // A byte write of the Command register's low byte.
    let fx = function::config_write(&mut cs, &init, PCI_COMMAND, 1, 0x06).unwrap();
    assert_eq!(fx.memory_space, Some(true));
    // A dword write of Command and Status: the status half is RW1C.
    let fx = function::config_write(&mut cs, &init, PCI_COMMAND, 4, 0xffff_0000).unwrap();
    assert_eq!(fx.memory_space, Some(false));
    assert_eq!(cs.status(), PCI_STATUS_CAP_LIST);
}

#[test]
fn transactions_pending_shows_only_while_the_caller_says_so() {
    let (mut cs, init) = spaces();
    let e = exp(&cs);
    let sta = e + EXP_DEVSTA;
    assert_eq!(function::config_read(&cs, sta, 2, false).unwrap(), 0);
    assert_eq!(
        function::config_read(&cs, sta, 2, true).unwrap(),
        u32::from(DEVSTA_TRPND)
    );
    // In a dword read of Device Control and Status, and the byte that holds it.
    plain(&mut cs, &init, e + EXP_DEVCTL, 2, 0x2810);
    assert_eq!(
        function::config_read(&cs, e + EXP_DEVCTL, 4, true).unwrap(),
        0x2810 | u32::from(DEVSTA_TRPND) << 16
    );
    assert_eq!(function::config_read(&cs, sta, 1, true).unwrap(), 0x20);
    assert_eq!(function::config_read(&cs, sta + 1, 1, true).unwrap(), 0);
    // Nowhere else.
    assert_eq!(
        function::config_read(&cs, PCI_STATUS, 2, true).unwrap(),
        u32::from(PCI_STATUS_CAP_LIST)
    );
    // Software cannot set it.
    plain(&mut cs, &init, sta, 2, 0xffff);
    assert_eq!(function::config_read(&cs, sta, 2, false).unwrap(), 0);
}

#[test]
fn no_soft_reset_is_set_so_d3hot_is_not_a_reset() {
    let (mut cs, init) = spaces();
    let pm = u16::from(cs.find_capability(CAP_ID_PM).unwrap());
    let csr = || u32::from(PM_CTRL_NO_SOFT_RESET);
    assert_eq!(cs.read(pm + PM_CTRL, 2).unwrap(), csr());
    plain(&mut cs, &init, pm + PM_CTRL, 2, 0);
    assert_eq!(cs.read(pm + PM_CTRL, 2).unwrap(), csr(), "read-only");
    plain(&mut cs, &init, pm + PM_CTRL, 2, 3);
    assert_eq!(cs.read(pm + PM_CTRL, 2).unwrap(), csr() | 3);
}

/// Enables the PMR and its controller memory space at `cba` (lower dword last).
fn pmr_on(h: &mut Host, cba: u64) {
    h.write(PMRCTL, PMRCTL_EN);
    h.write(PMRMSCU, (cba >> 32) as u32);
    h.write(PMRMSCL, cba as u32 | PMRMSC_CMSE as u32);
}

fn pmr() -> Pmr {
    Pmr::new(&PmrConfig {
        bir: 4,
        size: 1 << 20,
        rds: true,
        wds: true,
        cmss: true,
        timeout: 6,
        time_unit: TimeUnit::HalfSeconds,
        write_barrier: 0b0011,
        elasticity: (1, 64),
        read_bypass: false,
        throughput: (0, 0),
    })
    .unwrap()
}

#[test]
fn the_controller_resets_to_defaults_and_keeps_the_namespaces() {
    let mut d = Dev::ready_io(None, Some(pmr()));
    pmr_on(&mut d.h, 0x80_0000_0000);
    d.h.write(INTMS, 0x2);
    let data = pattern(4096, 7);
    let buf = d.h.buffer(4096, 0, 0);
    buf.fill(&mut d.h.mem, &data);
    let c = d.exec(1, &rw(io_opcode::WRITE, 1, 1, 16, 7, &buf));
    assert_status(&c, Status::SUCCESS);
    let pmr_bytes = d.pmr.clone();

    function::reset_controller(&mut d.h.ctrl);
    assert_eq!(d.h.ctrl.state(), State::Disabled);
    for r in [CC, CSTS, AQA, INTMS, ASQ, ASQ + 4, ACQ, ACQ + 4] {
        assert_eq!(d.h.read(r), 0, "register {r:#x}");
    }
    assert!(d.h.ctrl.sq_info(0).is_none() && d.h.ctrl.sq_info(1).is_none());
    assert!(d.h.ctrl.cq_info(1).is_none());
    // The PMR's controls are at their power-on values; its contents are not the controller's.
    assert_eq!(d.h.read(PMRCTL), 0);
    assert_eq!(d.h.read(PMRSTS), PMRSTS_NRDY);
    assert_eq!((d.h.read(PMRMSCL), d.h.read(PMRMSCU)), (0, 0));
    assert_eq!(d.pmr, pmr_bytes);
    // The namespace kept its data: a host that enables the controller again reads it back.
    assert_eq!(d.ns1(16, 4096), &data[..]);
    d.h.enable(32, 32, 0);
    d.h.setup_io(1, 64, 1);
    let back = d.h.buffer(4096, 0, 0);
    let c = d.exec(1, &rw(io_opcode::READ, 2, 1, 16, 7, &back));
    assert_status(&c, Status::SUCCESS);
    assert_eq!(back.read(&d.h.mem), data);
}

#[test]
fn unlike_cc_en_the_flr_clears_the_admin_queue_registers() {
    let mut h = Host::ready();
    let (aqa, asq, acq) = (h.read(AQA), h.read(ASQ), h.read(ACQ));
    assert_ne!(aqa, 0);
    h.write(CC, 0);
    h.run();
    assert_eq!((h.read(AQA), h.read(ASQ), h.read(ACQ)), (aqa, asq, acq));
    // Also from the disabled state.
    function::reset_controller(&mut h.ctrl);
    assert_eq!((h.read(AQA), h.read(ASQ), h.read(ACQ)), (0, 0, 0));
    // CC's other fields too.
    h.write(CC, cc_enable(0) & !CC_EN);
    assert_ne!(h.read(CC), 0);
    function::reset_controller(&mut h.ctrl);
    assert_eq!(h.read(CC), 0);
}

/// Completes I/O commands `delay` ns after they are fetched.
struct Late(u64);

impl Timing for Late {
    fn complete_at(&mut self, now: u64, sqid: u16, _sqe: &Sqe, _status: Status) -> u64 {
        if sqid == 0 {
            now
        } else {
            now + self.0
        }
    }
}

#[test]
fn commands_in_flight_are_dropped_without_a_completion() {
    let mut h = Host::ready_io();
    let mut late = Late(1_000_000);
    let buf = h.buffer(4096, 0, 0);
    for cid in 1..=3 {
        h.submit(1, &rw(io_opcode::READ, cid, 1, 0, 7, &buf));
    }
    let p = h
        .ctrl
        .process_timed(&mut h.mem, &mut h.disk, &mut h.irq, &mut late, 0, 100);
    assert_eq!((p.fetched, p.completed), (3, 0));
    assert_eq!(h.ctrl.held_completions(), 3);
    let cq = h.cq[1];
    let before = h.mem.get(cq.base, 64 * 16).to_vec();
    let irqs = h.irq.0.len();

    function::reset_controller(&mut h.ctrl);
    assert_eq!(h.ctrl.held_completions(), 0);
    assert_eq!(h.ctrl.next_due(0), None);
    // Long after they were due, nothing is posted and nothing interrupts.
    let p = h.ctrl.process_timed(
        &mut h.mem,
        &mut h.disk,
        &mut h.irq,
        &mut late,
        10_000_000,
        100,
    );
    assert_eq!((p.fetched, p.completed), (0, 0));
    assert_eq!(h.mem.get(cq.base, 64 * 16), &before[..]);
    assert_eq!(h.irq.0.len(), irqs);
}
