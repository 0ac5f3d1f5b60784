// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: the Persistent Memory Region: its registers, enabling, its
//! controller memory space, health, the profile's validation, and contents that survive a
//! controller reset.

#[path = "nvme_devmem_util.rs"]
mod devmem;

use devmem::*;
use nvmock_model::nvme::pmr::*;
use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;

/// The PMR's bus address (beyond the test's guest memory).
const CBA: u64 = 0x80_0000_0000;

fn config() -> PmrConfig {
    PmrConfig {
        bir: 4,
        size: 1 << 20,
        rds: true,
        wds: true,
        cmss: true,
        timeout: 6,
        time_unit: TimeUnit::HalfSeconds,
        write_barrier: 0b0011,
        elasticity: (1, 64),
        read_bypass: true,
        throughput: (2, 800),
    }
}

fn pmr() -> Pmr {
    Pmr::new(&config()).expect("valid PMR")
}

#[track_caller]
fn assert_code(c: &Cqe, s: Status) {
    assert_eq!(c.status.code(), s.code(), "status of {c:x?}");
}

/// Enables the PMR and its controller memory space at `cba` (lower dword last).
fn enable(h: &mut Host, cba: u64) {
    h.write(PMRCTL, PMRCTL_EN);
    h.write(PMRMSCU, (cba >> 32) as u32);
    h.write(PMRMSCL, cba as u32 | PMRMSC_CMSE as u32);
}

#[test]
fn registers() {
    let mut d = Dev::new(None, Some(pmr()));
    let h = &mut d.h;
    assert_ne!(h.ctrl.mmio_read(CAP, 8).unwrap() & CAP_PMRS, 0, "CAP.PMRS");
    let cap = h.read(PMRCAP);
    assert_eq!(cap & (PMRCAP_RDS | PMRCAP_WDS), PMRCAP_RDS | PMRCAP_WDS);
    assert_eq!(cap >> PMRCAP_BIR_SHIFT & 7, 4, "BIR");
    assert_eq!(cap >> PMRCAP_PMRTU_SHIFT & 3, 0, "PMRTU 500 ms");
    assert_eq!(cap >> PMRCAP_PMRWBM_SHIFT & 0xf, 0b0011, "PMRWBM");
    assert_eq!(cap >> PMRCAP_PMRTO_SHIFT & 0xff, 6, "PMRTO");
    assert_ne!(cap & PMRCAP_CMSS, 0, "CMSS");
    assert_eq!(cap & 0xfe00_c007, 0, "reserved bits");
    assert_eq!(h.read(PMREBS), 1 | PMREBS_RBB | 64 << 8);
    assert_eq!(h.read(PMRSWTP), 2 | 800 << 8);
    // Not ready until enabled; read-only registers ignore writes.
    assert_eq!(h.read(PMRSTS), PMRSTS_NRDY);
    h.write(PMRCAP, 0);
    h.write(PMRSTS, 0);
    assert_eq!((h.read(PMRCAP), h.read(PMRSTS)), (cap, PMRSTS_NRDY));
    h.write(PMRCTL, 0xffff_ffff);
    assert_eq!(h.read(PMRCTL), PMRCTL_EN, "reserved PMRCTL bits");
    assert_eq!(h.read(PMRSTS), 0, "ready, healthy");
    assert!(h.ctrl.pmr().unwrap().host_can_write());
    h.write(PMRMSCU, 0x80);
    h.write(PMRMSCL, 0xffff_ffff);
    assert_eq!((h.read(PMRMSCL), h.read(PMRMSCU)), (0xffff_f002, 0x80));
    h.write(PMRCTL, 0);
    assert_eq!(h.read(PMRSTS), PMRSTS_NRDY);
    assert!(!h.ctrl.pmr().unwrap().host_can_read());
    assert_eq!(
        h.ctrl.pmr().unwrap().space(),
        None,
        "disabled PMR serves nothing"
    );
}

#[test]
fn no_controller_memory_space_without_cmss() {
    let p = Pmr::new(&PmrConfig {
        cmss: false,
        rds: false,
        wds: false,
        ..config()
    })
    .expect("a PMR reached through its BAR only");
    let mut d = Dev::new(None, Some(p));
    enable(&mut d.h, CBA);
    assert_eq!((d.h.read(PMRMSCL), d.h.read(PMRMSCU)), (0, 0));
    assert_eq!(d.h.ctrl.pmr().unwrap().space(), None);
    assert!(d.h.ctrl.pmr().unwrap().host_can_write());
}

#[test]
fn cba_that_wraps_sets_cbai() {
    let mut d = Dev::new(None, Some(pmr()));
    enable(&mut d.h, 0xffff_ffff_fff0_1000);
    assert_eq!(d.h.read(PMRSTS), PMRSTS_CBAI);
    assert_eq!(d.h.ctrl.pmr().unwrap().space(), None);
    enable(&mut d.h, CBA);
    assert_eq!(d.h.read(PMRSTS), 0);
    assert_eq!(d.h.ctrl.pmr().unwrap().space(), Some((CBA, 1 << 20)));
}

#[test]
fn profiles_refused() {
    let bad = |f: &dyn Fn(&mut PmrConfig)| {
        let mut c = config();
        f(&mut c);
        Pmr::new(&c)
    };
    for bir in [0, 1, 3, 5, 7] {
        assert_eq!(bad(&|c| c.bir = bir), Err(PmrError::Bar));
    }
    assert_eq!(bad(&|c| c.size = 3 << 20), Err(PmrError::Size));
    assert_eq!(bad(&|c| c.size = 0), Err(PmrError::Size));
    assert_eq!(bad(&|c| c.size = 2048), Err(PmrError::Size));
    assert_eq!(
        bad(&|c| {
            c.rds = false;
            c.wds = false
        }),
        Err(PmrError::NoUse)
    );
    assert_eq!(bad(&|c| c.write_barrier = 0), Err(PmrError::WriteBarrier));
    assert_eq!(
        bad(&|c| c.write_barrier = 0x10),
        Err(PmrError::WriteBarrier)
    );
    assert_eq!(bad(&|c| c.timeout = 0), Err(PmrError::Timeout));
    assert_eq!(bad(&|c| c.elasticity = (4, 1)), Err(PmrError::Field));
    assert_eq!(bad(&|c| c.elasticity = (0, 0)), Err(PmrError::Field));
    assert_eq!(bad(&|c| c.elasticity = (0, 1 << 24)), Err(PmrError::Field));
    assert_eq!(bad(&|c| c.throughput = (4, 0)), Err(PmrError::Field));
    assert_eq!(bad(&|c| c.throughput = (0, 1 << 24)), Err(PmrError::Field));
    assert!(bad(&|c| c.time_unit = TimeUnit::Minutes).is_ok());
}

#[test]
fn set_only_while_disabled_and_not_beside_the_cmb() {
    let mut h = Host::ready();
    assert_eq!(h.ctrl.set_pmr(pmr()), Err(PmrError::Enabled));
    let mut h = Host::new();
    let cmb = Cmb::new(&CmbConfig {
        bir: 4,
        bar_size: 1 << 20,
        offset: 0,
        size: 1 << 20,
        sqs: true,
        cqs: false,
        lists: false,
        rds: false,
        wds: false,
    })
    .unwrap();
    h.ctrl.set_cmb(cmb).unwrap();
    assert_eq!(h.ctrl.set_pmr(pmr()), Err(PmrError::SameBar));
    assert!(h.ctrl.pmr().is_none());
}

#[test]
fn data_through_the_pmr_served_internally() {
    let mut d = Dev::ready_io(None, Some(pmr()));
    enable(&mut d.h, CBA);
    let data = pattern(8192, 11);
    d.pmr[0x4000..0x6000].copy_from_slice(&data);
    let c = d.exec(
        1,
        &Dev::io(io_opcode::WRITE, 1, 100, 16, CBA + 0x4000, CBA + 0x5000),
    );
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d.ns1(100, 8192), &data[..]);
    let c = d.exec(
        1,
        &Dev::io(io_opcode::READ, 2, 100, 16, CBA + 0x8000, CBA + 0x9000),
    );
    assert_status(&c, Status::SUCCESS);
    assert_eq!(&d.pmr[0x8000..0xa000], &data[..]);
    assert_eq!(d.h.ctrl.pmr_bytes_served(), 2 * 8192);
    assert_eq!(d.h.ctrl.cmb_bytes_served(), 0);
}

#[test]
fn contents_and_registers_survive_a_controller_reset() {
    let mut d = Dev::ready_io(None, Some(pmr()));
    enable(&mut d.h, CBA);
    // Data lands in the PMR by a Read...
    let data = pattern(4096, 21);
    d.h.disk.ns[0][..4096].copy_from_slice(&data);
    let c = d.exec(1, &Dev::io(io_opcode::READ, 1, 0, 8, CBA + 0x1_0000, 0));
    assert_status(&c, Status::SUCCESS);
    let snapshot = d.pmr.clone();
    // ... the controller is reset (CC.EN 1 -> 0 -> 1) ...
    d.h.write(CC, 0);
    d.run();
    assert_eq!(d.h.csts(), 0);
    d.h.enable(32, 32, 0);
    assert_eq!(d.pmr, snapshot, "the reset left the contents alone");
    assert_eq!(d.h.read(PMRCTL), PMRCTL_EN);
    assert_eq!(d.h.read(PMRSTS), 0);
    assert_eq!(
        (d.h.read(PMRMSCL), d.h.read(PMRMSCU)),
        (CBA as u32 | 2, (CBA >> 32) as u32)
    );
    // ... and the controller still serves it: write it to another place.
    d.h.setup_io(1, 64, 1);
    let c = d.exec(1, &Dev::io(io_opcode::WRITE, 2, 64, 8, CBA + 0x1_0000, 0));
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d.ns1(64, 4096), &data[..]);
    // A power-on reset disables the PMR but keeps the contents (the caller's memory).
    d.h.ctrl.pmr_mut().unwrap().power_on();
    assert_eq!(d.h.read(PMRCTL), 0);
    assert_eq!(d.h.read(PMRSTS), PMRSTS_NRDY);
    assert_eq!((d.h.read(PMRMSCL), d.h.read(PMRMSCU)), (0, 0));
    assert_eq!(d.pmr, snapshot);
}

#[test]
fn health_limits_what_is_served() {
    let mut d = Dev::ready_io(None, Some(pmr()));
    enable(&mut d.h, CBA);
    d.pmr[..4096].copy_from_slice(&pattern(4096, 2));
    d.h.ctrl.pmr_mut().unwrap().set_health(Health::ReadOnly);
    assert_eq!(d.h.read(PMRSTS) >> PMRSTS_HSTS_SHIFT & 7, 2);
    let p = *d.h.ctrl.pmr().unwrap();
    assert!(p.host_can_read() && !p.host_can_write());
    let c = d.exec(1, &Dev::io(io_opcode::READ, 1, 0, 8, CBA + 0x2000, 0));
    assert_code(&c, Status::DATA_TRANSFER_ERROR);
    assert!(d.pmr[0x2000..0x3000].iter().all(|&b| b == 0));
    let c = d.exec(1, &Dev::io(io_opcode::WRITE, 2, 0, 8, CBA, 0));
    assert_status(&c, Status::SUCCESS);
    d.h.ctrl.pmr_mut().unwrap().set_health(Health::Unreliable);
    assert_eq!(d.h.read(PMRSTS) >> PMRSTS_HSTS_SHIFT & 7, 3);
    assert!(!d.h.ctrl.pmr().unwrap().host_can_read());
    let c = d.exec(1, &Dev::io(io_opcode::WRITE, 3, 0, 8, CBA, 0));
    assert_code(&c, Status::DATA_TRANSFER_ERROR);
    d.h.ctrl.pmr_mut().unwrap().set_health(Health::RestoreError);
    let c = d.exec(1, &Dev::io(io_opcode::READ, 4, 0, 8, CBA + 0x2000, 0));
    assert_status(&c, Status::SUCCESS);
    assert_eq!(&d.pmr[0x2000..0x3000], &pattern(4096, 2)[..]);
}

#[test]
fn one_direction_only() {
    let wds_only = Pmr::new(&PmrConfig {
        rds: false,
        ..config()
    })
    .unwrap();
    let mut d = Dev::ready_io(None, Some(wds_only));
    enable(&mut d.h, CBA);
    let c = d.exec(1, &Dev::io(io_opcode::READ, 1, 0, 8, CBA, 0));
    assert_code(&c, Status::DATA_TRANSFER_ERROR);
    let c = d.exec(1, &Dev::io(io_opcode::WRITE, 2, 0, 8, CBA, 0));
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d.h.ctrl.pmr_bytes_served(), 4096);
}

#[test]
fn cmb_and_pmr_together() {
    let cmb = Cmb::new(&CmbConfig {
        bir: 2,
        bar_size: 1 << 20,
        offset: 0,
        size: 1 << 20,
        sqs: true,
        cqs: false,
        lists: true,
        rds: true,
        wds: true,
    })
    .unwrap();
    let mut d = Dev::ready_io(Some(cmb), Some(pmr()));
    let cmb_cba = 0x40_0000_0000u64;
    d.h.write(nvmock_model::nvme::cmb::CMBMSC + 4, (cmb_cba >> 32) as u32);
    d.h.write(nvmock_model::nvme::cmb::CMBMSC, cmb_cba as u32 | 3);
    enable(&mut d.h, CBA);
    let cap = d.h.ctrl.mmio_read(CAP, 8).unwrap();
    assert_eq!(
        cap & (CAP_PMRS | nvmock_model::nvme::cmb::CAP_CMBS),
        CAP_PMRS | (1 << 57)
    );
    // PMR -> namespace -> CMB: PRP1 in the PMR, PRP2 in the CMB.
    let data = pattern(8192, 4);
    d.pmr[..4096].copy_from_slice(&data[..4096]);
    d.cmb[..4096].copy_from_slice(&data[4096..]);
    let c = d.exec(1, &Dev::io(io_opcode::WRITE, 1, 0, 16, CBA, cmb_cba));
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d.ns1(0, 8192), &data[..]);
    assert_eq!(
        (d.h.ctrl.pmr_bytes_served(), d.h.ctrl.cmb_bytes_served()),
        (4096, 4096)
    );
}
