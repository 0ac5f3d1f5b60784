// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: parameters, registers, enable/disable/reset and shutdown.

#[path = "nvme_util.rs"]
mod util;

use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;
use util::*;

#[test]
fn params_name_the_bad_field() {
    let ok = config();
    assert!(Params::new(&ok).is_ok());
    let bad_ns = [NamespaceConfig {
        lba_size: 1024,
        blocks: 8,
    }];
    let empty_ns = [
        NAMESPACES[0],
        NamespaceConfig {
            lba_size: 4096,
            blocks: 0,
        },
    ];
    let huge_ns = [NamespaceConfig {
        lba_size: 4096,
        blocks: u64::MAX >> 11,
    }];
    let many_ns = [NAMESPACES[0]; MAX_NAMESPACES + 1];
    let cases: [(Config<'_>, ParamError); 14] = [
        (Config { serial: "", ..ok }, ParamError::Serial),
        (
            Config {
                serial: "012345678901234567890",
                ..ok
            },
            ParamError::Serial,
        ),
        (
            Config {
                model: "a\tb",
                ..ok
            },
            ParamError::Model,
        ),
        (
            Config {
                firmware: "123456789",
                ..ok
            },
            ParamError::Firmware,
        ),
        (Config { io_queues: 0, ..ok }, ParamError::IoQueues),
        (Config { mqes: 0, ..ok }, ParamError::Mqes),
        (Config { mdts: 0, ..ok }, ParamError::Mdts),
        (Config { mdts: 11, ..ok }, ParamError::Mdts),
        (Config { timeout: 0, ..ok }, ParamError::Timeout),
        (
            Config {
                vectors: 2049,
                ..ok
            },
            ParamError::Vectors,
        ),
        (
            Config {
                namespaces: &many_ns,
                ..ok
            },
            ParamError::Namespaces,
        ),
        (
            Config {
                namespaces: &bad_ns,
                ..ok
            },
            ParamError::LbaSize(0),
        ),
        (
            Config {
                namespaces: &empty_ns,
                ..ok
            },
            ParamError::Blocks(1),
        ),
        (
            Config {
                namespaces: &huge_ns,
                ..ok
            },
            ParamError::Blocks(0),
        ),
    ];
    for (c, e) in cases {
        assert_eq!(Params::new(&c), Err(e));
    }
    let p = Params::new(&ok).unwrap();
    assert_eq!(p.serial(), b"NVMOCK0001          ");
    assert_eq!(p.namespace(2).unwrap().lba_size(), 4096);
    assert!(p.namespace(0).is_none() && p.namespace(3).is_none());
    // Four I/O queues need five queue pairs.
    assert!(Controller::<4>::new(p).is_err());
    assert!(Controller::<5>::new(p).is_ok());
    assert!(Controller::<1>::new(p).is_err());
}

#[test]
fn capabilities_and_version() {
    let h = Host::new();
    let cap = h.ctrl.mmio_read(CAP, 8).unwrap();
    assert_eq!(cap & 0xffff, 1023, "MQES");
    assert_eq!(cap >> 16 & 1, 1, "CQR");
    assert_eq!(cap >> 17 & 3, 0, "AMS: round robin only");
    assert_eq!(cap >> 24 & 0xff, 20, "TO");
    assert_eq!(cap >> 32 & 0xf, 0, "DSTRD");
    assert_eq!(cap >> 36 & 1, 0, "NSSRS");
    assert_eq!(cap >> 37 & 0xff, 1, "CSS: NVM only");
    assert_eq!(cap >> 48 & 0xf, 0, "MPSMIN");
    assert_eq!(cap >> 52 & 0xf, 4, "MPSMAX");
    assert_eq!(h.read(CAP), cap as u32);
    assert_eq!(h.read(CAP + 4), (cap >> 32) as u32);
    assert_eq!(h.read(VS), 0x0001_0400);
    assert_eq!(h.csts(), 0);
}

#[test]
fn read_only_and_reserved_bits() {
    let mut h = Host::new();
    let cap = h.ctrl.mmio_read(CAP, 8).unwrap();
    h.write64(CAP, !0);
    h.write(CAP + 4, !0);
    h.write(VS, 0);
    h.write(CSTS, !0);
    h.write(NSSR, 0x4e56_4d65);
    h.write(0x38, !0);
    h.write(0xffc, !0);
    assert_eq!(h.ctrl.mmio_read(CAP, 8).unwrap(), cap);
    assert_eq!(h.read(VS), 0x0001_0400);
    assert_eq!(h.csts(), 0);
    assert_eq!(h.read(NSSR), 0);
    assert_eq!(h.read(0x38), 0);
    assert_eq!(h.read(0xffc), 0);
    // CC: reserved bits (3:1, 31:24) read as zero; EN clear so nothing happens.
    h.write(CC, 0xff00_000e | 0x00ff_fff0);
    assert_eq!(h.read(CC), 0x00ff_fff0);
    assert_eq!(h.ctrl.state(), State::Disabled);
    // AQA: bits 15:12 and 31:28 reserved.
    h.write(AQA, !0);
    assert_eq!(h.read(AQA), 0x0fff_0fff);
    // ASQ/ACQ: 64-bit or two 32-bit halves.
    h.write64(ASQ, 0x1234_5678_9abc_d000);
    assert_eq!(h.ctrl.mmio_read(ASQ, 8).unwrap(), 0x1234_5678_9abc_d000);
    h.write(ACQ, 0x5000);
    h.write(ACQ + 4, 0x1);
    assert_eq!(h.ctrl.mmio_read(ACQ, 8).unwrap(), 0x1_0000_5000);
    assert_eq!(h.read(ACQ + 4), 1);
    // Doorbells read as zero and are ignored while disabled.
    h.write(sq_tail_doorbell(0), 5);
    assert_eq!(h.read(sq_tail_doorbell(0)), 0);
    assert_eq!(h.ctrl.error_count(), 0);
}

#[test]
fn mmio_access_validation() {
    let mut h = Host::new();
    let c = &mut h.ctrl;
    assert_eq!(c.mmio_read(CC, 2), Err(MmioError::Size));
    assert_eq!(c.mmio_read(CC, 1), Err(MmioError::Size));
    assert_eq!(c.mmio_read(CC + 1, 4), Err(MmioError::Alignment));
    assert_eq!(c.mmio_read(CC, 8), Err(MmioError::Alignment));
    assert_eq!(c.mmio_read(VS, 8), Err(MmioError::Size));
    assert_eq!(c.mmio_write(INTMC, 8, 0), Err(MmioError::Size));
    assert_eq!(c.mmio_write(INTMS, 8, 0), Err(MmioError::Alignment));
    assert_eq!(
        c.mmio_write(sq_tail_doorbell(0), 8, 0),
        Err(MmioError::Size)
    );
    let end = Ctrl::bar_size();
    assert_eq!(end, 0x4000);
    assert_eq!(Controller::<1024>::bar_size(), 0x4000);
    assert_eq!(Controller::<2048>::bar_size(), 0x8000);
    assert_eq!(c.mmio_read(end, 4), Err(MmioError::OutOfRange));
    assert_eq!(c.mmio_write(end - 4, 4, 0), Ok(()));
    assert_eq!(c.mmio_read(u64::MAX - 3, 4), Err(MmioError::OutOfRange));
    assert_eq!(c.mmio_write(u64::MAX - 7, 8, 0), Err(MmioError::OutOfRange));
}

#[test]
fn enable_disable_reset() {
    let mut h = Host::new();
    h.write(AQA, 31 << 16 | 31);
    h.write64(ASQ, ASQ_BASE);
    h.write64(ACQ, ACQ_BASE);
    h.write(CC, cc_enable(0));
    // Enabling finishes in the worker.
    assert_eq!(h.ctrl.state(), State::Enabling);
    assert_eq!(h.csts(), 0);
    assert!(h.ctrl.has_work(0));
    h.run();
    assert_eq!(h.ctrl.state(), State::Ready);
    assert_eq!(h.csts(), CSTS_RDY);
    assert!(!h.ctrl.has_work(0));
    let asq = h.ctrl.sq_info(0).unwrap();
    assert_eq!(
        (asq.base, asq.entries, asq.head, asq.tail),
        (ASQ_BASE, 32, 0, 0)
    );
    assert_eq!(h.ctrl.cq_info(0).unwrap().base, ACQ_BASE);

    // CC fields other than EN and SHN are frozen while enabled.
    h.write(CC, cc_enable(2));
    assert_eq!(h.read(CC), cc_enable(0));

    // Set some state, then reset.
    h.adopt_admin(32, 32);
    let mut sf = Sqe::new(admin_opcode::SET_FEATURES, 7);
    sf.cdw10 = u32::from(feature::NUMBER_OF_QUEUES);
    sf.cdw11 = 0x0001_0001;
    assert_eq!(h.admin(&sf).result, 0x0001_0001);
    h.setup_io(1, 16, 1);
    assert!(h.ctrl.sq_info(1).is_some());
    h.write(INTMS, 0x6);
    assert_eq!(h.read(INTMC), 0x6);
    h.write(CC, cc_enable(0) & !CC_EN);
    assert_eq!(h.ctrl.state(), State::Disabled);
    assert_eq!(h.csts(), 0);
    assert!(h.ctrl.sq_info(0).is_none() && h.ctrl.sq_info(1).is_none());
    assert!(h.ctrl.cq_info(1).is_none());
    assert_eq!(h.read(INTMS), 0);
    // AQA/ASQ/ACQ survive a reset.
    assert_eq!(h.read(AQA), 31 << 16 | 31);
    assert_eq!(h.ctrl.mmio_read(ASQ, 8).unwrap(), ASQ_BASE);

    // Enable again: a fresh admin queue, features back to defaults.
    h.enable(8, 8, 0);
    let mut gf = Sqe::new(admin_opcode::GET_FEATURES, 1);
    gf.cdw10 = u32::from(feature::NUMBER_OF_QUEUES);
    let c = h.admin(&gf);
    assert_eq!(c.result, 3 << 16 | 3);
    assert_eq!(c.sq_head, 1);
}

/// Enables with one thing wrong and checks that CSTS.CFS is set and RDY is not.
fn enable_fails(aqa: u32, asq: u64, acq: u64, cc: u32, why: EnableError) {
    let mut h = Host::new();
    h.write(AQA, aqa);
    h.write64(ASQ, asq);
    h.write64(ACQ, acq);
    h.write(CC, cc);
    h.run();
    assert_eq!(h.csts(), CSTS_CFS, "{why:?}");
    assert_eq!(h.ctrl.state(), State::Fatal { ready: false });
    assert_eq!(h.ctrl.enable_error(), Some(why));
    // Doorbells are ignored; nothing happens on further processing.
    h.write(sq_tail_doorbell(0), 1);
    assert_eq!(h.run(), Progress::default());
    // Clearing EN recovers; a valid configuration then enables.
    h.write(CC, 0);
    assert_eq!(h.csts(), 0);
    assert_eq!(h.ctrl.enable_error(), None);
    h.enable(4, 4, 0);
}

#[test]
fn invalid_enable_sets_cfs() {
    let aqa = 3 << 16 | 3;
    let en = cc_enable(0);
    enable_fails(3 << 16, ASQ_BASE, ACQ_BASE, en, EnableError::AdminQueueSize);
    enable_fails(3, ASQ_BASE, ACQ_BASE, en, EnableError::AdminQueueSize);
    enable_fails(
        aqa,
        ASQ_BASE + 0x800,
        ACQ_BASE,
        en,
        EnableError::AdminQueueBase,
    );
    enable_fails(
        aqa,
        ASQ_BASE,
        ACQ_BASE + 64,
        en,
        EnableError::AdminQueueBase,
    );
    enable_fails(
        3 << 16 | 0xfff,
        !0xfff,
        ACQ_BASE,
        en,
        EnableError::AdminQueueBase,
    );
    // 8 KiB pages: a 4 KiB aligned base is not enough.
    enable_fails(
        aqa,
        0x3000,
        ACQ_BASE,
        cc_enable(1),
        EnableError::AdminQueueBase,
    );
    let iosqes = 0xf << CC_IOSQES_SHIFT;
    let iocqes = 0xf << CC_IOCQES_SHIFT;
    enable_fails(
        aqa,
        ASQ_BASE,
        ACQ_BASE,
        en & !iosqes,
        EnableError::EntrySize,
    );
    enable_fails(
        aqa,
        ASQ_BASE,
        ACQ_BASE,
        en & !iocqes | 5 << 20,
        EnableError::EntrySize,
    );
    enable_fails(
        aqa,
        ASQ_BASE,
        ACQ_BASE,
        en | 7 << CC_CSS_SHIFT,
        EnableError::CommandSet,
    );
    enable_fails(
        aqa,
        ASQ_BASE,
        ACQ_BASE,
        en | 1 << CC_AMS_SHIFT,
        EnableError::Arbitration,
    );
    enable_fails(aqa, ASQ_BASE, ACQ_BASE, cc_enable(5), EnableError::PageSize);
}

#[test]
fn larger_pages_enable() {
    let mut h = Host::new();
    h.enable(4, 4, 4);
    assert_eq!(h.read(CC) >> CC_MPS_SHIFT & 0xf, 4);
    let (c, id) = h.identify(1, 0);
    assert_eq!(c.status, Status::SUCCESS);
    assert_eq!(&id[4..14], b"NVMOCK0001");
}

fn shutdown(kind: u32) {
    let mut h = Host::ready_io();
    h.write(CC, cc_enable(0) | kind);
    assert_eq!(h.ctrl.state(), State::ShutdownProcessing);
    assert_eq!(h.csts(), CSTS_RDY | CSTS_SHST_OCCURRING);
    assert!(h.ctrl.has_work(0));
    h.run();
    assert_eq!(h.csts(), CSTS_RDY | CSTS_SHST_COMPLETE);
    assert_eq!(
        h.disk.flushes,
        vec![1, 2],
        "shutdown flushes every namespace"
    );
    // No commands are processed once shut down.
    let s = Sqe::new(io_opcode::FLUSH, 9);
    h.submit(0, &s);
    h.run();
    assert!(h.reap(0).is_empty());
    // Clearing SHN alone does not leave the state; clearing EN does.
    h.write(CC, cc_enable(0));
    assert_eq!(h.csts(), CSTS_RDY | CSTS_SHST_COMPLETE);
    h.write(CC, 0);
    assert_eq!(h.csts(), 0);
    h.enable(4, 4, 0);
    h.setup_io(1, 4, 0);
}

#[test]
fn normal_shutdown() {
    shutdown(CC_SHN_NORMAL);
}

#[test]
fn abrupt_shutdown() {
    shutdown(CC_SHN_ABRUPT);
}

#[test]
fn shutdown_when_not_ready_is_ignored() {
    let mut h = Host::new();
    h.write(CC, CC_SHN_NORMAL);
    assert_eq!(h.csts(), 0);
    h.run();
    assert_eq!(h.csts(), 0);
    assert!(h.disk.flushes.is_empty());
}

#[test]
fn unreachable_admin_queue_is_fatal() {
    let mut h = Host::new();
    // Aligned, but beyond guest memory: the fetch fails.
    h.write(AQA, 3 << 16 | 3);
    h.write64(ASQ, 1 << 40);
    h.write64(ACQ, ACQ_BASE);
    h.write(CC, cc_enable(0));
    h.run();
    assert_eq!(h.csts(), CSTS_RDY);
    h.write(sq_tail_doorbell(0), 1);
    h.run();
    assert_eq!(h.csts(), CSTS_RDY | CSTS_CFS);
    assert_eq!(h.ctrl.state(), State::Fatal { ready: true });
    h.write(CC, 0);
    assert_eq!(h.csts(), 0);
}

#[test]
fn unwritable_admin_cq_is_fatal() {
    let mut h = Host::new();
    h.write(AQA, 3 << 16 | 3);
    h.write64(ASQ, ASQ_BASE);
    h.write64(ACQ, 1 << 40);
    h.write(CC, cc_enable(0));
    h.run();
    h.adopt_admin(4, 4);
    h.submit(0, &Sqe::new(admin_opcode::KEEP_ALIVE, 1));
    h.run();
    assert_eq!(h.csts(), CSTS_RDY | CSTS_CFS);
}

#[test]
fn interrupt_mask_registers() {
    let mut h = Host::new();
    h.write(INTMS, 0x5);
    h.write(INTMS, 0x2);
    assert_eq!(h.read(INTMS), 0x7);
    assert_eq!(h.read(INTMC), 0x7);
    h.write(INTMC, 0x1);
    assert_eq!(h.read(INTMS), 0x6);
}
