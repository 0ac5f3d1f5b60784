// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: the Controller Memory Buffer as Linux's `nvme_map_cmb()` finds and
//! enables it, queues and data in it served from the CMB's own memory (and counted), the
//! profile's validation, and the CMB's BAR in configuration space.

#[path = "nvme_devmem_util.rs"]
mod devmem;

use devmem::*;
use nvmock_model::nvme::cmb::*;
use nvmock_model::nvme::function;
use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;
use nvmock_model::pcicfg::{Bar, CfgError, ConfigSpace, PCI_BASE_ADDRESS_0};

/// The bus address the host gives the CMB's BAR (far beyond the test's guest memory, so an
/// access that went to host memory would fail).
const BAR_ADDR: u64 = 0x40_0000_0000;
/// The CMB starts 1 MiB into its BAR.
const OFFSET: u64 = 0x10_0000;
/// The CMB's bus address.
const CBA: u64 = BAR_ADDR + OFFSET;

fn config() -> CmbConfig {
    CmbConfig {
        bir: 2,
        bar_size: 4 << 20,
        offset: OFFSET,
        size: 2 << 20,
        sqs: true,
        cqs: false,
        lists: true,
        rds: true,
        wds: true,
    }
}

/// Data Transfer Error may be retried (DNR clear): compare the code only.
#[track_caller]
fn assert_code(c: &Cqe, s: Status) {
    assert_eq!(c.status.code(), s.code(), "status of {c:x?}");
}

fn cmb() -> Cmb {
    Cmb::new(&config()).expect("valid CMB")
}

/// What `nvme_map_cmb()` does: CRE, read CMBSZ and CMBLOC, then CBA with CMSE, high dword
/// first (`hi_lo_writeq`).
fn linux_map(h: &mut Host, cba: u64) -> (u32, u32) {
    h.write(CMBMSC, CMBMSC_CRE as u32);
    let sz = h.read(CMBSZ);
    let loc = h.read(CMBLOC);
    let v = CMBMSC_CRE | CMBMSC_CMSE | cba;
    h.write(CMBMSC + 4, (v >> 32) as u32);
    h.write(CMBMSC, v as u32);
    (sz, loc)
}

/// Linux's decoding of CMBSZ/CMBLOC: (size, offset, BAR).
fn decode(sz: u32, loc: u32) -> (u64, u64, u32) {
    let unit = 1u64 << (12 + 4 * (sz >> 8 & 0xf));
    (
        unit * u64::from(sz >> 12),
        unit * u64::from(loc >> 12),
        loc & 7,
    )
}

#[test]
fn registers_hidden_until_cre_then_decoded_as_linux_does() {
    let mut d = Dev::new(Some(cmb()), None);
    let cap = d.h.ctrl.mmio_read(CAP, 8).unwrap();
    assert_ne!(cap & CAP_CMBS, 0, "CAP.CMBS");
    assert_eq!(d.h.read(CMBSZ), 0, "CMBSZ before CRE");
    assert_eq!(d.h.read(CMBLOC), 0, "CMBLOC before CRE");
    let (sz, loc) = linux_map(&mut d.h, CBA);
    assert_eq!(decode(sz, loc), (2 << 20, OFFSET, 2));
    assert_eq!(sz & 0x1f, CMBSZ_SQS | CMBSZ_LISTS | CMBSZ_RDS | CMBSZ_WDS);
    assert_eq!(sz >> 8 & 0xf, 0, "4 KiB units suffice");
    assert_eq!(
        loc & 0xff,
        CMBLOC_CQMMS | CMBLOC_CDPMLS | CMBLOC_CDPCILS | CMBLOC_CDMMMS | 2
    );
    assert_eq!(d.h.ctrl.mmio_read(CMBMSC, 8).unwrap(), CBA | 3);
    assert_eq!(d.h.read(CMBSTS), 0);
    assert_eq!(d.h.ctrl.cmb().unwrap().space(), Some((CBA, 2 << 20)));
    // Reserved bits 11:2 of CMBMSC are dropped; a 64-bit write works too.
    d.h.write64(CMBMSC, CBA | 0xffd);
    assert_eq!(d.h.ctrl.mmio_read(CMBMSC, 8).unwrap(), CBA | 1);
    assert_eq!(d.h.ctrl.cmb().unwrap().space(), None, "CMSE clear");
    // nvme_map_cmb()'s failure path: CMBMSC = 0 hides the registers again.
    d.h.write64(CMBMSC, 0);
    assert_eq!((d.h.read(CMBSZ), d.h.read(CMBLOC)), (0, 0));
}

#[test]
fn no_cmb_no_registers() {
    let mut h = Host::new();
    assert_eq!(h.ctrl.mmio_read(CAP, 8).unwrap() & CAP_CMBS, 0);
    h.write(CMBMSC, 3);
    assert_eq!((h.read(CMBSZ), h.read(CMBLOC), h.read(CMBMSC)), (0, 0, 0));
    assert!(h.ctrl.cmb().is_none());
}

#[test]
fn cba_that_wraps_sets_cbai() {
    let mut d = Dev::new(Some(cmb()), None);
    linux_map(&mut d.h, 0xffff_ffff_fff0_0000);
    assert_eq!(d.h.read(CMBSTS), CMBSTS_CBAI);
    assert_eq!(d.h.ctrl.cmb().unwrap().space(), None);
    linux_map(&mut d.h, CBA);
    assert_eq!(d.h.read(CMBSTS), 0);
    assert!(d.h.ctrl.cmb().unwrap().space().is_some());
}

#[test]
fn size_unit_is_the_smallest_that_fits() {
    let c = |size, offset, bar_size| {
        Cmb::new(&CmbConfig {
            size,
            offset,
            bar_size,
            ..config()
        })
    };
    let big = c(8 << 30, 0, 8 << 30).unwrap();
    assert_eq!((big.unit(), big.size()), (64 << 10, 8 << 30));
    // 4 KiB units cannot express the size in 20 bits and 64 KiB ones do not divide it.
    assert_eq!(c((4 << 30) + 0x1000, 0, 8 << 30), Err(CmbError::Unit));
    // An offset that needs a small unit forces it.
    let small = c(64 << 20, 0x1000, 128 << 20).unwrap();
    assert_eq!(
        (small.unit(), small.offset(), small.size()),
        (0x1000, 0x1000, 64 << 20)
    );
}

#[test]
fn profiles_refused() {
    let bad = |f: &dyn Fn(&mut CmbConfig)| {
        let mut c = config();
        f(&mut c);
        Cmb::new(&c)
    };
    for bir in [0, 1, 3, 5, 6] {
        assert_eq!(bad(&|c| c.bir = bir), Err(CmbError::Bar), "BIR {bir}");
    }
    assert_eq!(bad(&|c| c.bar_size = 3 << 20), Err(CmbError::BarSize));
    assert_eq!(bad(&|c| c.bar_size = 0x800), Err(CmbError::BarSize));
    assert_eq!(bad(&|c| c.size = 0), Err(CmbError::Size));
    assert_eq!(bad(&|c| c.size = 0x1800), Err(CmbError::Size));
    assert_eq!(bad(&|c| c.offset = 0x800), Err(CmbError::Size));
    assert_eq!(bad(&|c| c.offset = 3 << 20), Err(CmbError::Beyond));
    assert_eq!(bad(&|c| c.offset = !0xfff), Err(CmbError::Beyond));
    let none = |c: &mut CmbConfig| {
        c.sqs = false;
        c.cqs = false;
        c.lists = false;
        c.rds = false;
        c.wds = false;
    };
    assert_eq!(bad(&none), Err(CmbError::NoUse));
    assert!(bad(&|c| {
        none(c);
        c.cqs = true
    })
    .is_ok());
}

#[test]
fn set_only_while_disabled_and_not_beside_the_pmr() {
    let mut h = Host::ready();
    assert_eq!(h.ctrl.set_cmb(cmb()), Err(CmbError::Enabled));
    let mut h = Host::new();
    let pmr = Pmr::new(&PmrConfig {
        bir: 2,
        size: 1 << 20,
        rds: true,
        wds: true,
        cmss: true,
        timeout: 1,
        time_unit: pmr::TimeUnit::HalfSeconds,
        write_barrier: 1,
        elasticity: (1, 1),
        read_bypass: false,
        throughput: (0, 0),
    })
    .unwrap();
    h.ctrl.set_pmr(pmr).unwrap();
    assert_eq!(h.ctrl.set_cmb(cmb()), Err(CmbError::SameBar));
    assert!(h.ctrl.cmb().is_none());
}

#[test]
fn write_and_read_data_in_the_cmb_never_touch_host_memory() {
    let mut d = Dev::ready_io(Some(cmb()), None);
    linux_map(&mut d.h, CBA);
    let data = pattern(8192, 7);
    d.cmb[0x3000..0x5000].copy_from_slice(&data);
    let before = d.h.mem.0.clone();
    // Write 16 blocks from two CMB pages (PRP1 and PRP2 in the CMB).
    let c = d.exec(
        1,
        &Dev::io(io_opcode::WRITE, 1, 10, 16, CBA + 0x3000, CBA + 0x4000),
    );
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d.ns1(10, 8192), &data[..]);
    assert_eq!(d.h.ctrl.cmb_bytes_served(), 8192);
    // Read them back into another CMB page.
    let c = d.exec(1, &Dev::io(io_opcode::READ, 2, 10, 8, CBA + 0x8000, 0));
    assert_status(&c, Status::SUCCESS);
    assert_eq!(&d.cmb[0x8000..0x9000], &data[..4096]);
    assert_eq!(d.h.ctrl.cmb_bytes_served(), 8192 + 4096);
    // Host memory changed only where the queues are (SQ entries and completions).
    let changed: Vec<usize> = (0..before.len())
        .filter(|&i| before[i] != d.h.mem.0[i])
        .collect();
    assert!(
        changed
            .iter()
            .all(|&i| (IO_SQ_BASE as usize..IO_CQ_BASE as usize + 0x20_0000).contains(&i)),
        "host memory written outside the queues: {:x?}",
        &changed[..changed.len().min(8)]
    );
}

#[test]
fn prp_list_in_the_cmb_with_data_in_host_memory_and_mixed() {
    let mut d = Dev::ready_io(Some(cmb()), None);
    linux_map(&mut d.h, CBA);
    // Three host pages and one CMB page, listed in a PRP list that lives in the CMB.
    let pages = [
        d.h.alloc(4096, 4096),
        d.h.alloc(4096, 4096),
        d.h.alloc(4096, 4096),
    ];
    let data = pattern(5 * 4096, 3);
    let first = d.h.alloc(4096, 4096);
    d.h.mem.put(first, &data[..4096]);
    for (i, p) in pages.iter().enumerate() {
        d.h.mem.put(*p, &data[(i + 1) * 4096..(i + 2) * 4096]);
    }
    d.cmb[0x6000..0x7000].copy_from_slice(&data[4 * 4096..]);
    let list = 0x1_0000usize;
    for (i, e) in pages.iter().chain(&[CBA + 0x6000]).enumerate() {
        d.cmb[list + 8 * i..list + 8 * i + 8].copy_from_slice(&e.to_le_bytes());
    }
    let c = d.exec(
        1,
        &Dev::io(io_opcode::WRITE, 3, 0, 40, first, CBA + list as u64),
    );
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d.ns1(0, data.len()), &data[..]);
    // Four list entries and one data page came from the CMB.
    assert_eq!(d.h.ctrl.cmb_bytes_served(), 4 * 8 + 4096);
}

#[test]
fn directions_the_cmb_does_not_support_are_refused() {
    // Submission queues only: no data either way, no completion queues.
    let sq_only = Cmb::new(&CmbConfig {
        cqs: false,
        lists: false,
        rds: false,
        wds: false,
        ..config()
    })
    .unwrap();
    let mut d = Dev::ready_io(Some(sq_only), None);
    linux_map(&mut d.h, CBA);
    let c = d.exec(1, &Dev::io(io_opcode::READ, 4, 0, 8, CBA, 0));
    assert_code(&c, Status::DATA_TRANSFER_ERROR);
    assert!(d.cmb.iter().all(|&b| b == 0), "nothing written to the CMB");
    assert_eq!(d.h.ctrl.cmb_bytes_served(), 0);
    // Read data only: a Write from the CMB is refused.
    let rds_only = Cmb::new(&CmbConfig {
        sqs: false,
        lists: false,
        wds: false,
        ..config()
    })
    .unwrap();
    let mut d = Dev::ready_io(Some(rds_only), None);
    linux_map(&mut d.h, CBA);
    let c = d.exec(1, &Dev::io(io_opcode::WRITE, 5, 0, 8, CBA, 0));
    assert_code(&c, Status::DATA_TRANSFER_ERROR);
    let c = d.exec(1, &Dev::io(io_opcode::READ, 6, 0, 8, CBA, 0));
    assert_status(&c, Status::SUCCESS);
}

#[test]
fn cmb_addresses_before_cmse_or_without_memory_are_not_served() {
    // CRE alone (the first step of nvme_map_cmb()): the CMB's bus address is just an
    // address, which host memory does not have.
    let mut d = Dev::ready_io(Some(cmb()), None);
    d.h.write(CMBMSC, CMBMSC_CRE as u32);
    d.cmb[..4096].copy_from_slice(&pattern(4096, 1));
    let c = d.exec(1, &Dev::io(io_opcode::WRITE, 7, 0, 8, CBA, 0));
    assert_code(&c, Status::DATA_TRANSFER_ERROR);
    // Enabled, but the caller gives no memory for it.
    linux_map(&mut d.h, CBA);
    d.cmb.clear();
    let c = d.exec(1, &Dev::io(io_opcode::WRITE, 8, 0, 8, CBA, 0));
    assert_code(&c, Status::DATA_TRANSFER_ERROR);
    assert_eq!(d.h.ctrl.cmb_bytes_served(), 0);
}

/// Creates I/O queue pair `qid` of `entries` with the SQ at `sq` (a bus address) and the CQ
/// in host memory, as Linux does with `use_cmb_sqes`.
fn create_pair(d: &mut Dev, qid: u16, entries: u32, sq: u64) {
    let c = d.exec(0, &Host::create_cq_cmd(qid, entries, 1));
    assert_status(&c, Status::SUCCESS);
    let mut s = Host::create_sq_cmd(qid, entries, qid);
    s.prp1 = sq;
    let c = d.exec(0, &s);
    assert_status(&c, Status::SUCCESS);
}

#[test]
fn submission_queue_in_the_cmb_is_fetched_from_it() {
    let mut d = Dev::new(Some(cmb()), None);
    d.h.enable(32, 32, 0);
    linux_map(&mut d.h, CBA);
    let sq_off = 0x2_0000usize;
    create_pair(&mut d, 2, 16, CBA + sq_off as u64);
    d.h.mem.put(IO_CQ_BASE + 2 * 0x10_0000, &[0; 16 * 16]);
    d.h.cq[2] = HostQueue {
        base: IO_CQ_BASE + 2 * 0x10_0000,
        size: 16,
        ptr: 0,
        phase: true,
    };
    let buf = d.h.alloc(4096, 4096);
    let data = pattern(4096, 9);
    d.h.mem.put(buf, &data);
    // Three commands written into the CMB, then the tail doorbell: 20 slots wrap past 16.
    let served0 = d.h.ctrl.cmb_bytes_served();
    for round in 0..2u64 {
        for i in 0..10u64 {
            let slot = ((round * 10 + i) % 16) as usize;
            let sqe = Dev::io(
                io_opcode::WRITE,
                (round * 10 + i) as u16,
                8 * (round * 10 + i),
                8,
                buf,
                0,
            );
            d.cmb[sq_off + 64 * slot..sq_off + 64 * slot + 64].copy_from_slice(&sqe.to_bytes());
        }
        d.h.write(sq_tail_doorbell(2), ((round + 1) * 10 % 16) as u32);
        d.run();
        let c = d.h.reap(2);
        assert_eq!(c.len(), 10, "round {round}");
        assert!(c.iter().all(|c| c.status == Status::SUCCESS));
    }
    for i in 0..20 {
        assert_eq!(d.ns1(8 * i, 4096), &data[..], "command {i}");
    }
    assert_eq!(d.h.ctrl.cmb_bytes_served() - served0, 20 * 64);
    assert_eq!(d.h.ctrl.sq_info(2).unwrap().base, CBA + sq_off as u64);
}

#[test]
fn cmb_enabled_across_controller_reset_cleared_by_power_on() {
    let mut d = Dev::ready_io(Some(cmb()), None);
    linux_map(&mut d.h, CBA);
    d.cmb[..4096].copy_from_slice(&pattern(4096, 5));
    d.h.reset();
    assert_eq!(
        d.h.ctrl.mmio_read(CMBMSC, 8).unwrap(),
        CBA | 3,
        "CMBMSC kept"
    );
    d.h.setup_io(1, 64, 1);
    let c = d.exec(1, &Dev::io(io_opcode::WRITE, 9, 0, 8, CBA, 0));
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d.ns1(0, 4096), &pattern(4096, 5)[..]);
    let mut c = *d.h.ctrl.cmb().unwrap();
    c.power_on();
    assert_eq!((c.cmbmsc(), c.cmbsz(), c.space()), (0, 0, None));
}

#[test]
fn cmb_bar_beside_bar0() {
    let p = Params::new(&util::config()).unwrap();
    let mut cs = ConfigSpace::new(&function::header(&p, 0x5845)).unwrap();
    function::setup(&mut cs, Ctrl::bar_size()).unwrap();
    let bar0 = cs.bar(0).unwrap();
    function::add_memory_bar(&mut cs, 2, 4 << 20).unwrap();
    assert_eq!(cs.bar(0).unwrap(), bar0, "BAR0 unchanged");
    assert_eq!(
        cs.bar(2).unwrap(),
        Bar::Mem64 {
            size: 4 << 20,
            prefetchable: true
        }
    );
    // Sizing: all ones reads back the size mask with the 64-bit prefetchable type bits.
    let bar2 = PCI_BASE_ADDRESS_0 + 8;
    cs.write(bar2, 4, !0).unwrap();
    cs.write(bar2 + 4, 4, !0).unwrap();
    assert_eq!(cs.read(bar2, 4).unwrap(), !((4 << 20) - 1) | 0xc);
    assert_eq!(cs.read(bar2 + 4, 4).unwrap(), !0);
    cs.write(bar2, 4, BAR_ADDR as u32).unwrap();
    cs.write(bar2 + 4, 4, (BAR_ADDR >> 32) as u32).unwrap();
    assert_eq!(cs.bar_address(2).unwrap(), BAR_ADDR);
    assert_eq!(
        function::add_memory_bar(&mut cs, 3, 1 << 20),
        Err(CfgError::BadBar)
    );
    assert_eq!(
        function::add_memory_bar(&mut cs, 0, 1 << 20),
        Err(CfgError::BadBar)
    );
    function::add_memory_bar(&mut cs, 4, 1 << 20).unwrap();
    assert!(matches!(
        cs.bar(4).unwrap(),
        Bar::Mem64 {
            prefetchable: true,
            ..
        }
    ));
}
