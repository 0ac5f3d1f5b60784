// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: admin commands, asynchronous events and doorbell errors.

#[path = "nvme_util.rs"]
mod util;

use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;
use util::*;

fn le16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

fn le64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

#[test]
fn identify_controller() {
    let mut h = Host::ready();
    let (c, id) = h.identify(1, 0);
    assert_status(&c, Status::SUCCESS);
    assert_eq!((c.sq_id, c.sq_head), (0, 1));
    assert_eq!(le16(&id, 0), 0x1b36, "VID");
    assert_eq!(le16(&id, 2), 0x1af4, "SSVID");
    assert_eq!(&id[4..24], b"NVMOCK0001          ", "SN");
    assert_eq!(
        &id[24..64],
        format!("{:<40}", "nvmock NVMe model").as_bytes(),
        "MN"
    );
    assert_eq!(&id[64..72], b"1.0     ", "FR");
    assert_eq!(id[77], 10, "MDTS");
    assert_eq!(le32(&id, 80), 0x0001_0400, "VER");
    assert_eq!(id[111], 1, "CNTRLTYPE: I/O controller");
    assert_eq!(id[258], 3, "ACL");
    assert_eq!(id[259], AER_SLOTS as u8 - 1, "AERL");
    assert_eq!(id[261] & 4, 4, "LPA: extended data");
    assert_eq!(id[262], ERROR_LOG_ENTRIES as u8 - 1, "ELPE");
    assert_eq!(id[512], 0x66, "SQES");
    assert_eq!(id[513], 0x44, "CQES");
    assert_eq!(le32(&id, 516), 2, "NN");
    assert_eq!(
        le16(&id, 520),
        0x4d,
        "ONCS: compare, DSM, write zeroes, timestamp"
    );
    assert_eq!(id[525] & 1, 1, "VWC present");
    assert_eq!(le32(&id, 536), 0, "SGLS: none");
    assert!(id[768..].starts_with(b"nqn.2024-11.dev.nvmock:NVMOCK0001\0"));
    assert_eq!(le16(&id, 2048), 2500, "PSD0 max power");
}

#[test]
fn identify_namespaces() {
    let mut h = Host::ready();
    for (nsid, shift, blocks) in [(1u32, 9u8, 2048u64), (2, 12, 1024)] {
        let (c, id) = h.identify(0, nsid);
        assert_status(&c, Status::SUCCESS);
        assert_eq!(le64(&id, 0), blocks, "NSZE");
        assert_eq!(le64(&id, 8), blocks, "NCAP");
        assert_eq!(le64(&id, 16), blocks, "NUSE");
        assert_eq!(id[25], 1, "NLBAF: two formats");
        assert_eq!(id[26], (shift == 12) as u8, "FLBAS: the configured size");
        assert_eq!(id[33] & 7, 1, "DLFEAT: deallocated reads zeroes");
        assert_eq!(le64(&id, 48), blocks << shift, "NVMCAP");
        assert_eq!(le32(&id, 128), 9 << 16, "LBAF0: 512 bytes, no metadata");
        assert_eq!(le32(&id, 132), 12 << 16, "LBAF1: 4096 bytes, no metadata");
        let nguid = id[104..120].to_vec();
        assert_ne!(nguid, vec![0; 16]);

        let (c, d) = h.identify(3, nsid);
        assert_status(&c, Status::SUCCESS);
        assert_eq!(&d[0..4], &[2, 16, 0, 0], "NGUID descriptor");
        assert_eq!(d[4..20], nguid[..]);
        assert_eq!(d[20..24], [0, 0, 0, 0], "end of list");
    }
    let (_, a) = h.identify(0, 1);
    let (_, b) = h.identify(0, 2);
    assert_ne!(a[104..120], b[104..120], "NGUIDs differ");

    for nsid in [0, 3, 0xffff_fffe, 0xffff_ffff] {
        if nsid != 0xffff_ffff {
            assert_status(&h.identify(0, nsid).0, Status::INVALID_NAMESPACE);
        }
        assert_status(&h.identify(3, nsid).0, Status::INVALID_NAMESPACE);
    }
    // With namespace management, the broadcast NSID reads what all namespaces share.
    let (c, id) = h.identify(0, 0xffff_ffff);
    assert_status(&c, Status::SUCCESS);
    assert_eq!((le64(&id, 0), le64(&id, 8), le64(&id, 48)), (0, 0, 0));
    assert_eq!(
        (id[25], id[26], id[33] & 7),
        (1, 0, 1),
        "NLBAF, FLBAS, DLFEAT"
    );
    assert_eq!(le32(&id, 128), 9 << 16, "LBAF0");
    assert_eq!(le32(&id, 132), 12 << 16, "LBAF1");
    assert_eq!(id[104..120], [0; 16], "no NGUID");
}

#[test]
fn active_namespace_list() {
    let mut h = Host::ready();
    let (c, l) = h.identify(2, 0);
    assert_status(&c, Status::SUCCESS);
    assert_eq!((le32(&l, 0), le32(&l, 4), le32(&l, 8)), (1, 2, 0));
    let (_, l) = h.identify(2, 1);
    assert_eq!((le32(&l, 0), le32(&l, 4)), (2, 0));
    let (c, l) = h.identify(2, 2);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(l, vec![0; 4096]);
    assert_status(&h.identify(2, 0xffff_fffe).0, Status::INVALID_NAMESPACE);
    assert_status(&h.identify(2, 0xffff_ffff).0, Status::INVALID_NAMESPACE);
}

/// Identify with CSI `csi` in CDW11 31:24.
fn identify_csi(h: &mut Host, cns: u32, nsid: u32, csi: u8) -> (Cqe, Vec<u8>) {
    let buf = h.buffer(4096, 0, 0);
    let mut s = Sqe::new(admin_opcode::IDENTIFY, 0x700 + cns as u16);
    s.nsid = nsid;
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    s.cdw10 = cns;
    s.cdw11 = u32::from(csi) << 24;
    let c = h.admin(&s);
    (c, buf.read(&h.mem))
}

#[test]
fn identify_io_command_set_structures() {
    let mut h = Host::ready();
    // CNS 1Ch: combination 0 is the NVM Command Set alone, the rest unused.
    let (c, d) = h.identify(0x1c, 0);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d[..8], 1u64.to_le_bytes());
    assert!(d[8..].iter().all(|&b| b == 0));
    // CNS 05h/06h for the NVM Command Set: nothing beyond the base structures (zeroes).
    for (cns, nsid) in [(0x05, 1), (0x05, 0xffff_ffff), (0x06, 0)] {
        let (c, d) = identify_csi(&mut h, cns, nsid, 0);
        assert_status(&c, Status::SUCCESS);
        assert!(d.iter().all(|&b| b == 0), "CNS {cns:#x}");
    }
    // Other command sets (key value, zoned) are not supported.
    for csi in [1, 2, 0xff] {
        assert_status(&identify_csi(&mut h, 0x05, 1, csi).0, Status::INVALID_FIELD);
        assert_status(&identify_csi(&mut h, 0x06, 0, csi).0, Status::INVALID_FIELD);
    }
    // An NSID that is no namespace slot.
    assert_status(
        &identify_csi(&mut h, 0x05, 99, 0).0,
        Status::INVALID_NAMESPACE,
    );
}

#[test]
fn identify_invalid_fields() {
    let mut h = Host::ready();
    for cns in [0x04, 0x14, 0xff] {
        assert_status(&h.identify(cns, 0).0, Status::INVALID_FIELD);
    }
    // CDW10 bits 15:8 are reserved.
    assert_status(&h.identify(0x101, 0).0, Status::INVALID_FIELD);
}

#[test]
fn identify_prp_offsets() {
    let mut h = Host::ready();
    // Data starting mid-page continues in the page PRP2 names.
    let buf = h.buffer(4096, 0x800, 0);
    assert_eq!(buf.segs.len(), 2);
    let mut s = Sqe::new(admin_opcode::IDENTIFY, 1);
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    s.cdw10 = 1;
    assert_status(&h.admin(&s), Status::SUCCESS);
    let id = buf.read(&h.mem);
    assert_eq!(&id[4..14], b"NVMOCK0001");
    assert_eq!(id[512], 0x66);

    let mut bad = s;
    bad.prp1 += 1;
    assert_status(&h.admin(&bad), Status::INVALID_PRP_OFFSET);
    let mut bad = s;
    bad.prp2 += 8;
    assert_status(&h.admin(&bad), Status::INVALID_PRP_OFFSET);
    let mut bad = s;
    bad.prp1 = 1 << 40;
    let c = h.admin(&bad);
    assert_eq!(
        c.status,
        Status::DATA_TRANSFER_ERROR,
        "transfer errors may be retried"
    );
}

/// A change to a command.
type Tweak = fn(&mut Sqe);

fn create_cq_status(h: &mut Host, f: impl FnOnce(&mut Sqe)) -> Cqe {
    let mut s = Host::create_cq_cmd(2, 16, 2);
    f(&mut s);
    h.admin(&s)
}

#[test]
fn create_cq_validation() {
    let mut h = Host::ready_io();
    let cases: [(Tweak, Status); 11] = [
        (|s| s.cdw10 &= !0xffff, Status::INVALID_QUEUE_ID),
        (
            |s| s.cdw10 = s.cdw10 & !0xffff | 5,
            Status::INVALID_QUEUE_ID,
        ),
        (
            |s| s.cdw10 = s.cdw10 & !0xffff | 1,
            Status::INVALID_QUEUE_ID,
        ),
        (|s| s.cdw10 &= 0xffff, Status::INVALID_QUEUE_SIZE),
        (
            |s| s.cdw10 = s.cdw10 & 0xffff | 1024 << 16,
            Status::INVALID_QUEUE_SIZE,
        ),
        (|s| s.cdw11 &= !1, Status::INVALID_FIELD),
        (|s| s.cdw11 |= 1 << 4, Status::INVALID_FIELD),
        (|s| s.cdw11 = 8 << 16 | 3, Status::INVALID_INTERRUPT_VECTOR),
        (|s| s.prp1 += 0x800, Status::INVALID_PRP_OFFSET),
        (|s| s.prp1 += 4, Status::INVALID_PRP_OFFSET),
        (
            |s| {
                s.prp1 = !0xfff;
                s.cdw10 = 1023 << 16 | 2;
            },
            Status::INVALID_FIELD,
        ),
    ];
    for (f, st) in cases {
        let c = create_cq_status(&mut h, f);
        assert_status(&c, st);
    }
    assert!(h.ctrl.cq_info(2).is_none());
    // Without interrupts the vector is not checked; the largest queue is fine.
    let c = create_cq_status(&mut h, |s| {
        s.cdw10 = 1023 << 16 | 2;
        s.cdw11 = 0xffff << 16 | 1;
    });
    assert_status(&c, Status::SUCCESS);
    assert_eq!(h.ctrl.cq_info(2).unwrap().entries, 1024);
}

fn create_sq_status(h: &mut Host, f: impl FnOnce(&mut Sqe)) -> Cqe {
    let mut s = Host::create_sq_cmd(2, 16, 1);
    f(&mut s);
    h.admin(&s)
}

#[test]
fn create_sq_validation() {
    let mut h = Host::ready_io();
    let cases: [(Tweak, Status); 11] = [
        (|s| s.cdw10 &= !0xffff, Status::INVALID_QUEUE_ID),
        (
            |s| s.cdw10 = s.cdw10 & !0xffff | 5,
            Status::INVALID_QUEUE_ID,
        ),
        (
            |s| s.cdw10 = s.cdw10 & !0xffff | 1,
            Status::INVALID_QUEUE_ID,
        ),
        (|s| s.cdw11 &= 0xffff, Status::COMPLETION_QUEUE_INVALID),
        (
            |s| s.cdw11 = s.cdw11 & 0xffff | 3 << 16,
            Status::COMPLETION_QUEUE_INVALID,
        ),
        (
            |s| s.cdw11 = s.cdw11 & 0xffff | 9 << 16,
            Status::COMPLETION_QUEUE_INVALID,
        ),
        (|s| s.cdw10 &= 0xffff, Status::INVALID_QUEUE_SIZE),
        (
            |s| s.cdw10 = s.cdw10 & 0xffff | 0xffff << 16,
            Status::INVALID_QUEUE_SIZE,
        ),
        (|s| s.cdw11 &= !1, Status::INVALID_FIELD),
        (|s| s.cdw11 |= 1 << 8, Status::INVALID_FIELD),
        (|s| s.prp1 |= 0x40, Status::INVALID_PRP_OFFSET),
    ];
    for (f, st) in cases {
        let c = create_sq_status(&mut h, f);
        assert_status(&c, st);
    }
    assert!(h.ctrl.sq_info(2).is_none());
    // Queue priority bits are ignored; several SQs may share a CQ.
    let c = create_sq_status(&mut h, |s| s.cdw11 |= 0b110);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(h.ctrl.sq_info(2).unwrap().link, 1);
}

#[test]
fn delete_queues() {
    let mut h = Host::ready_io();
    let del = |op: u8, qid: u32| {
        let mut s = Sqe::new(op, 0x40 + qid as u16);
        s.cdw10 = qid;
        s
    };
    use admin_opcode::{DELETE_IO_CQ, DELETE_IO_SQ};
    assert_status(&h.admin(&del(DELETE_IO_SQ, 0)), Status::INVALID_QUEUE_ID);
    assert_status(&h.admin(&del(DELETE_IO_SQ, 2)), Status::INVALID_QUEUE_ID);
    assert_status(&h.admin(&del(DELETE_IO_SQ, 70)), Status::INVALID_QUEUE_ID);
    assert_status(
        &h.admin(&del(DELETE_IO_SQ, 1 << 16 | 1)),
        Status::INVALID_FIELD,
    );
    assert_status(&h.admin(&del(DELETE_IO_CQ, 0)), Status::INVALID_QUEUE_ID);
    assert_status(
        &h.admin(&del(DELETE_IO_CQ, 1)),
        Status::INVALID_QUEUE_DELETION,
    );
    assert_status(&h.admin(&del(DELETE_IO_SQ, 1)), Status::SUCCESS);
    assert!(h.ctrl.sq_info(1).is_none());
    assert_status(&h.admin(&del(DELETE_IO_SQ, 1)), Status::INVALID_QUEUE_ID);
    assert_status(&h.admin(&del(DELETE_IO_CQ, 1)), Status::SUCCESS);
    assert_status(&h.admin(&del(DELETE_IO_CQ, 1)), Status::INVALID_QUEUE_ID);
    // The IDs are free again.
    h.setup_io(1, 8, 0);
}

fn features(h: &mut Host, op: u8, cdw10: u32, cdw11: u32) -> Cqe {
    let mut s = Sqe::new(op, 0x77);
    s.cdw10 = cdw10;
    s.cdw11 = cdw11;
    h.admin(&s)
}

#[test]
fn number_of_queues() {
    use admin_opcode::{GET_FEATURES, SET_FEATURES};
    let nq = u32::from(feature::NUMBER_OF_QUEUES);
    let mut h = Host::ready();
    let c = features(&mut h, GET_FEATURES, nq, 0);
    assert_eq!(c.result, 3 << 16 | 3, "default: all four, 0-based");
    let c = features(&mut h, SET_FEATURES, nq, 0xffff);
    assert_status(&c, Status::INVALID_FIELD);
    let c = features(&mut h, SET_FEATURES, nq, 0xffff << 16);
    assert_status(&c, Status::INVALID_FIELD);
    let c = features(&mut h, SET_FEATURES, nq, 100 << 16 | 100);
    assert_eq!(c.result, 3 << 16 | 3, "capped at what the controller has");
    let c = features(&mut h, SET_FEATURES, nq, 2 << 16 | 1);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(c.result, 2 << 16 | 1);
    assert_eq!(features(&mut h, GET_FEATURES, nq, 0).result, 2 << 16 | 1);
    // Two SQs and three CQs allocated.
    assert_status(
        &h.admin(&Host::create_cq_cmd(4, 8, 0)),
        Status::INVALID_QUEUE_ID,
    );
    assert_status(&h.admin(&Host::create_cq_cmd(3, 8, 0)), Status::SUCCESS);
    assert_status(
        &h.admin(&Host::create_sq_cmd(3, 8, 3)),
        Status::INVALID_QUEUE_ID,
    );
    assert_status(&h.admin(&Host::create_sq_cmd(2, 8, 3)), Status::SUCCESS);
    // Not once I/O queues exist.
    let c = features(&mut h, SET_FEATURES, nq, 0);
    assert_status(&c, Status::COMMAND_SEQUENCE_ERROR);
}

#[test]
fn other_features() {
    use admin_opcode::{GET_FEATURES, SET_FEATURES};
    let mut h = Host::ready();
    let vwc = u32::from(feature::VOLATILE_WRITE_CACHE);
    assert_eq!(features(&mut h, GET_FEATURES, vwc, 0).result, 1);
    assert!(h.ctrl.write_cache_enabled());
    assert_status(&features(&mut h, SET_FEATURES, vwc, 0), Status::SUCCESS);
    assert_eq!(features(&mut h, GET_FEATURES, vwc, 0).result, 0);
    assert!(!h.ctrl.write_cache_enabled());
    // SEL: 1 default, 2 saved (= default), 3 capabilities (changeable).
    assert_eq!(features(&mut h, GET_FEATURES, 1 << 8 | vwc, 0).result, 1);
    assert_eq!(features(&mut h, GET_FEATURES, 2 << 8 | vwc, 0).result, 1);
    assert_eq!(features(&mut h, GET_FEATURES, 3 << 8 | vwc, 0).result, 4);
    assert_status(
        &features(&mut h, GET_FEATURES, 4 << 8 | vwc, 0),
        Status::INVALID_FIELD,
    );

    for (fid, set, get) in [
        (feature::ARBITRATION, 0x0403_02ff, 0x0403_0207),
        (feature::INTERRUPT_COALESCING, 0xffff_0a05, 0x0a05),
        (feature::ASYNC_EVENT_CONFIG, 0x0000_03ff, 0x1ff),
    ] {
        let fid = u32::from(fid);
        assert_status(&features(&mut h, SET_FEATURES, fid, set), Status::SUCCESS);
        assert_eq!(
            features(&mut h, GET_FEATURES, fid, 0).result,
            get,
            "{fid:#x}"
        );
        assert_eq!(features(&mut h, GET_FEATURES, 1 << 8 | fid, 0).result, 0);
    }

    // Saving is not supported; unknown features are invalid.
    let c = features(&mut h, SET_FEATURES, 1 << 31 | vwc, 1);
    assert_status(&c, Status::FEATURE_NOT_SAVEABLE);
    for fid in [0x00, 0x02, 0x04, 0x0c, 0x7f, 0xc0] {
        assert_status(
            &features(&mut h, SET_FEATURES, fid, 0),
            Status::INVALID_FIELD,
        );
        assert_status(
            &features(&mut h, GET_FEATURES, fid, 0),
            Status::INVALID_FIELD,
        );
    }
    assert_status(
        &features(&mut h, SET_FEATURES, 1 << 12 | vwc, 0),
        Status::INVALID_FIELD,
    );
}

/// Get Log Page of `numd0 + 1` dwords at byte offset `offset` into a fresh buffer.
fn log_page(
    h: &mut Host,
    lid: u8,
    numd0: u32,
    offset: u64,
    rae: bool,
    nsid: u32,
) -> (Cqe, Vec<u8>) {
    let len = (u64::from(numd0) + 1) * 4;
    let buf = h.buffer(len.min(64 << 10), 0, 0);
    let mut s = Sqe::new(admin_opcode::GET_LOG_PAGE, 0x22);
    s.nsid = nsid;
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    s.cdw10 = (numd0 & 0xffff) << 16 | u32::from(rae) << 15 | u32::from(lid);
    s.cdw11 = numd0 >> 16;
    s.cdw12 = offset as u32;
    s.cdw13 = (offset >> 32) as u32;
    let c = h.admin(&s);
    (c, buf.read(&h.mem))
}

#[test]
fn log_pages() {
    let mut h = Host::ready();
    let (c, fw) = log_page(&mut h, log_id::FIRMWARE_SLOT, 127, 0, false, 0);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(fw[0], 1, "AFI: slot 1 active");
    assert_eq!(&fw[8..16], b"1.0     ");
    // Offsets: FRS1 at the start.
    let (c, fw) = log_page(&mut h, log_id::FIRMWARE_SLOT, 1, 8, false, 0);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(&fw[..8], b"1.0     ");
    // Beyond the end of a log: zeroes.
    let (c, fw) = log_page(&mut h, log_id::FIRMWARE_SLOT, 1023, 0, false, 0);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(fw[0], 1);
    assert!(fw[512..].iter().all(|&b| b == 0));
    let (c, _) = log_page(&mut h, log_id::FIRMWARE_SLOT, 0, 512, false, 0);
    assert_status(&c, Status::SUCCESS);

    let (c, smart) = log_page(&mut h, log_id::SMART, 127, 0, false, 0xffff_ffff);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(le16(&smart, 1), 310, "composite temperature");
    assert_eq!(smart[3], 100, "available spare");
    assert_eq!(smart[4], 10, "spare threshold");
    assert_status(
        &log_page(&mut h, log_id::SMART, 127, 0, false, 0).0,
        Status::SUCCESS,
    );
    assert_status(
        &log_page(&mut h, log_id::SMART, 127, 0, false, 1).0,
        Status::INVALID_FIELD,
    );

    // Errors.
    for lid in [0x00, 0x06, 0x07, 0x80, 0xff] {
        assert_status(
            &log_page(&mut h, lid, 127, 0, false, 0).0,
            Status::INVALID_LOG_PAGE,
        );
    }
    assert_status(
        &log_page(&mut h, log_id::SMART, 127, 2, false, 0).0,
        Status::INVALID_FIELD,
    );
    assert_status(
        &log_page(&mut h, log_id::SMART, 0, 516, false, 0).0,
        Status::INVALID_FIELD,
    );
    assert_status(
        &log_page(&mut h, log_id::SMART, 0, 1 << 32, false, 0).0,
        Status::INVALID_FIELD,
    );
    // NUMD above MDTS (4 MiB).
    assert_status(
        &log_page(&mut h, log_id::SMART, 1 << 20, 0, false, 0).0,
        Status::INVALID_FIELD,
    );
    assert_status(
        &log_page(&mut h, log_id::SMART, 0xffff_ffff, 0, false, 0).0,
        Status::INVALID_FIELD,
    );

    // Every failed command so far is in the error log, newest first.
    let (c, errs) = log_page(&mut h, log_id::ERROR, 255, 0, false, 0);
    assert_status(&c, Status::SUCCESS);
    let count = le64(&errs, 0);
    assert_eq!(count, h.ctrl.error_count());
    assert_eq!(count, 11);
    assert_eq!(le64(&errs, 64), count - 1);
    assert_eq!(le16(&errs, 8), 0, "SQID");
    assert_eq!(le16(&errs, 10), 0x22, "CID");
    assert_eq!(
        le16(&errs, 12) >> 1,
        Status::INVALID_FIELD.finish().raw(),
        "status"
    );
    assert_eq!(le64(&errs, 3 * 64), count - 3);
    assert!(errs[4 * 64..].iter().all(|&b| b == 0));

    let (_, smart) = log_page(&mut h, log_id::SMART, 127, 0, false, 0);
    assert_eq!(le64(&smart, 176), count, "error log entries");
}

#[test]
fn smart_counts_io() {
    let mut h = Host::ready_io();
    let buf = h.buffer(8192, 0, 0);
    let c = h.exec(1, &rw(io_opcode::WRITE, 1, 2, 0, 1, &buf));
    assert_status(&c, Status::SUCCESS);
    for cid in 2..5 {
        let c = h.exec(1, &rw(io_opcode::READ, cid, 1, 0, 15, &buf));
        assert_status(&c, Status::SUCCESS);
    }
    let (_, smart) = log_page(&mut h, log_id::SMART, 127, 0, false, 0);
    assert_eq!(
        le64(&smart, 32),
        1,
        "data units read (thousands, rounded up)"
    );
    assert_eq!(le64(&smart, 48), 1, "data units written");
    assert_eq!(le64(&smart, 64), 3, "host read commands");
    assert_eq!(le64(&smart, 80), 1, "host write commands");
}

#[test]
fn asynchronous_events() {
    let mut h = Host::ready_io();
    for cid in 0..AER_SLOTS as u16 {
        h.submit(0, &Sqe::new(admin_opcode::ASYNC_EVENT_REQUEST, 0xa0 + cid));
    }
    h.run();
    assert!(h.reap(0).is_empty(), "requests are held");
    let c = h.admin(&Sqe::new(admin_opcode::ASYNC_EVENT_REQUEST, 0xaf));
    assert_status(&c, Status::AER_LIMIT_EXCEEDED);

    // A doorbell for a queue that does not exist.
    h.write(sq_tail_doorbell(3), 1);
    h.write(cq_head_doorbell(9), 1);
    let p = h.run();
    assert_eq!(p.completed, 1);
    let c = h.reap(0);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].cid, 0xa0);
    assert_status(&c[0], Status::SUCCESS);
    let register = aen::result(
        aen::TYPE_ERROR,
        aen::INVALID_DOORBELL_REGISTER,
        log_id::ERROR,
    );
    assert_eq!(c[0].result, register);
    assert_eq!(c[0].result, 0x0001_0000);

    // Error events are masked until the error log is read (RAE clear).
    h.write(sq_tail_doorbell(1), 64);
    h.run();
    assert!(h.reap(0).is_empty());
    let (_, errs) = log_page(&mut h, log_id::ERROR, 15, 0, true, 0);
    assert_eq!(le16(&errs, 8), 0xffff, "not tied to a queue entry");
    assert_eq!(le16(&errs, 10), 0xffff);
    h.write(sq_tail_doorbell(1), 64);
    h.run();
    assert!(h.reap(0).is_empty(), "RAE kept the mask");
    let (_, _) = log_page(&mut h, log_id::ERROR, 15, 0, false, 0);
    h.write(sq_tail_doorbell(1), 64);
    h.run();
    let c = h.reap(0);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].cid, 0xa1);
    let value = aen::result(aen::TYPE_ERROR, aen::INVALID_DOORBELL_VALUE, log_id::ERROR);
    assert_eq!(c[0].result, value);
    assert_eq!(c[0].result, 0x0001_0100);
    assert_eq!(h.ctrl.error_count(), 6);

    // A reset drops the outstanding requests.
    h.write(CC, 0);
    h.enable(8, 8, 0);
    h.setup_io(1, 8, 0);
    h.write(sq_tail_doorbell(3), 1);
    h.run();
    assert!(h.reap(0).is_empty());
    h.submit(0, &Sqe::new(admin_opcode::ASYNC_EVENT_REQUEST, 0xb0));
    h.run();
    assert_eq!(h.reap(0)[0].cid, 0xb0, "the event waited for a request");
}

#[test]
fn invalid_doorbells_are_ignored() {
    let mut h = Host::ready_io();
    let before = h.ctrl.sq_info(1).unwrap();
    // Out of range values, a missing queue, a doorbell beyond the queues the controller has.
    h.write(sq_tail_doorbell(1), 64);
    h.write(sq_tail_doorbell(1), 0xffff_ffff);
    h.write(cq_head_doorbell(1), 64);
    h.write(sq_tail_doorbell(2), 0);
    h.write(cq_head_doorbell(4), 0);
    h.write(sq_tail_doorbell(100), 0);
    h.write(Ctrl::bar_size() - 4, 0);
    // A CQ head past entries not yet posted.
    h.write(cq_head_doorbell(1), 1);
    h.write(cq_head_doorbell(0), 9);
    assert_eq!(h.ctrl.sq_info(1), Some(before));
    assert_eq!(h.ctrl.cq_info(1).unwrap().head, 0);
    assert_eq!(h.ctrl.error_count(), 9);
    assert_eq!(h.run().fetched, 0);

    // An SQ tail that moves back over commands not yet fetched is refused too.
    let s = Sqe::new(io_opcode::FLUSH, 1);
    h.push(1, &s);
    h.push(1, &s);
    h.ring(1);
    h.write(sq_tail_doorbell(1), 1);
    assert_eq!(h.ctrl.sq_info(1).unwrap().tail, 2);
    assert_eq!(h.ctrl.error_count(), 10);
    // Valid again: everything works.
    h.run();
    assert_eq!(h.reap(1).len(), 2);
}

#[test]
fn abort_keep_alive_and_opcodes() {
    let mut h = Host::ready_io();
    let mut a = Sqe::new(admin_opcode::ABORT, 5);
    a.cdw10 = 3 << 16 | 1;
    let c = h.admin(&a);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(c.result & 1, 1, "command not aborted");
    assert_status(
        &h.admin(&Sqe::new(admin_opcode::KEEP_ALIVE, 6)),
        Status::SUCCESS,
    );
    for op in [0x03, 0x07, 0x0b, 0x7f, 0x81, 0xc0, 0xff] {
        assert_status(&h.admin(&Sqe::new(op, 7)), Status::INVALID_OPCODE);
    }
    // Fused operations, SGLs and reserved CDW0 bits.
    for bits in [1 << 8, 2 << 8, 1 << 14, 2 << 14, 1 << 10, 1 << 13] {
        let mut s = Sqe::new(admin_opcode::KEEP_ALIVE, 8);
        s.cdw0 |= bits;
        assert_status(&h.admin(&s), Status::INVALID_FIELD);
    }
    assert_eq!(h.ctrl.error_count(), 13);
}

#[test]
fn admin_interrupts_and_phase() {
    let mut h = Host::new();
    h.enable(4, 4, 0);
    for i in 0..9u16 {
        let c = h.admin(&Sqe::new(admin_opcode::KEEP_ALIVE, i));
        assert_eq!(c.phase, (i / 4) % 2 == 0, "phase of entry {i}");
        assert_eq!(c.sq_head, (i + 1) % 4);
    }
    assert_eq!(h.irq.0, vec![0; 9]);
}
