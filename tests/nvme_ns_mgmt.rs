// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: Namespace Management (create, delete) and Namespace Attachment
//! (attach, detach) commands, the namespace slots they work on, and what Identify reports of
//! them (capacities, Allocated Namespace ID list, Controller Lists).

#[path = "nvme_util.rs"]
mod util;

use std::collections::BTreeSet;

use nvmock_model::nvme::*;
use proptest::prelude::*;
use util::*;

/// The DW0 of a Namespace Attribute Changed notice.
const NOTICE: u32 = 0x0004_0002;
const ALL: u32 = 0xffff_ffff;
/// Namespace Management / Attachment Select values.
const CREATE: u32 = 0;
const DELETE: u32 = 1;
const ATTACH: u32 = 0;
const DETACH: u32 = 1;
/// The default test slots: 1 MiB and 4 MiB.
const SLOT1: u64 = 1 << 20;
const SLOT2: u64 = 4 << 20;

/// The Identify Namespace structure a host sends to create a namespace.
fn ns_data(nsze: u64, ncap: u64, flbas: u8, dps: u8, nmic: u8) -> Vec<u8> {
    let mut d = vec![0u8; 4096];
    d[0..8].copy_from_slice(&nsze.to_le_bytes());
    d[8..16].copy_from_slice(&ncap.to_le_bytes());
    d[26] = flbas;
    d[29] = dps;
    d[30] = nmic;
    d
}

/// Namespace Management with `nsid`, CDW10 `cdw10`, CDW11 `cdw11` and `data` (4096 bytes).
fn mgmt_raw(h: &mut Host, nsid: u32, cdw10: u32, cdw11: u32, data: &[u8]) -> Cqe {
    let buf = h.buffer(4096, 0, 0);
    buf.fill(&mut h.mem, data);
    let mut s = Sqe::new(admin_opcode::NAMESPACE_MANAGEMENT, 0xd0);
    s.nsid = nsid;
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    s.cdw10 = cdw10;
    s.cdw11 = cdw11;
    h.admin(&s)
}

/// Creates a namespace of `nsze` blocks in LBA format `lbaf`.
fn create(h: &mut Host, nsze: u64, lbaf: u8) -> Cqe {
    mgmt_raw(h, 0, CREATE, 0, &ns_data(nsze, nsze, lbaf, 0, 0))
}

/// Deletes namespace `nsid`.
fn delete(h: &mut Host, nsid: u32) -> Cqe {
    let mut s = Sqe::new(admin_opcode::NAMESPACE_MANAGEMENT, 0xde);
    s.nsid = nsid;
    s.cdw10 = DELETE;
    h.admin(&s)
}

/// A Controller List of `ids` with count `count`.
fn ctrl_list_data(count: u16, ids: &[u16]) -> Vec<u8> {
    let mut d = vec![0u8; 4096];
    d[0..2].copy_from_slice(&count.to_le_bytes());
    for (i, id) in ids.iter().enumerate() {
        d[2 + 2 * i..4 + 2 * i].copy_from_slice(&id.to_le_bytes());
    }
    d
}

/// A Namespace Attachment command for `nsid` with CDW10 `cdw10` and Controller List `data`.
fn attachment_sqe(h: &mut Host, nsid: u32, cdw10: u32, data: &[u8]) -> Sqe {
    let buf = h.buffer(4096, 0, 0);
    buf.fill(&mut h.mem, data);
    let mut s = Sqe::new(admin_opcode::NAMESPACE_ATTACHMENT, 0xa7);
    s.nsid = nsid;
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    s.cdw10 = cdw10;
    s
}

/// Namespace Attachment of `nsid` with CDW10 `cdw10` and Controller List `data`.
fn attachment_raw(h: &mut Host, nsid: u32, cdw10: u32, data: &[u8]) -> Cqe {
    let s = attachment_sqe(h, nsid, cdw10, data);
    h.admin(&s)
}

/// Attaches (`sel` 0) or detaches (`sel` 1) `nsid` to or from this controller.
fn attachment(h: &mut Host, sel: u32, nsid: u32) -> Cqe {
    attachment_raw(h, nsid, sel, &ctrl_list_data(1, &[CONTROLLER_ID]))
}

/// Submits `s` on the admin queue, runs the controller and returns every completion: the
/// command's and the events it raised.
fn admin_all(h: &mut Host, s: &Sqe) -> Vec<Cqe> {
    h.submit(0, s);
    h.run();
    h.reap(0)
}

/// An NSID list (CNS 02h or 10h) from `nsid` on.
fn id_list(h: &mut Host, cns: u32, nsid: u32) -> Vec<u32> {
    let (c, l) = h.identify(cns, nsid);
    assert_status(&c, Status::SUCCESS);
    l.chunks_exact(4)
        .map(|d| u32::from_le_bytes(d.try_into().unwrap()))
        .take_while(|&n| n != 0)
        .collect()
}

/// A Controller List (CNS 12h or 13h) of `nsid` from `cntid` on.
fn ctrl_list(h: &mut Host, cns: u32, nsid: u32, cntid: u16) -> Vec<u16> {
    let (c, l) = h.identify(u32::from(cntid) << 16 | cns, nsid);
    assert_status(&c, Status::SUCCESS);
    let count = le16(&l, 0) as usize;
    assert!(l[2 + 2 * count..].iter().all(|&b| b == 0), "then zeroes");
    (0..count).map(|i| le16(&l, 2 + 2 * i)).collect()
}

/// TNVMCAP and UNVMCAP.
fn capacities(h: &mut Host) -> (u128, u128) {
    let (c, id) = h.identify(1, 0);
    assert_status(&c, Status::SUCCESS);
    let cap = |o: usize| u128::from_le_bytes(id[o..o + 16].try_into().unwrap());
    (cap(280), cap(296))
}

/// One-block I/O of `opcode` to `nsid` at `slba` on queue 1.
fn io(h: &mut Host, opcode: u8, nsid: u32, slba: u64, lba_size: u64) -> Cqe {
    let buf = h.buffer(lba_size, 0, 0);
    buf.fill(&mut h.mem, &pattern(lba_size as usize, slba as u8));
    h.exec(1, &rw(opcode, 0x10, nsid, slba, 0, &buf))
}

/// Submits an Asynchronous Event Request with `cid` (held by the controller).
fn aer(h: &mut Host, cid: u16) {
    h.submit(0, &Sqe::new(admin_opcode::ASYNC_EVENT_REQUEST, cid));
    h.run();
}

#[test]
fn identify_controller_reports_management() {
    let mut h = Host::ready();
    let (_, id) = h.identify(1, 0);
    assert_eq!(
        le16(&id, 256) & 1 << 3,
        1 << 3,
        "OACS: namespace management"
    );
    assert_eq!(le16(&id, 78), CONTROLLER_ID, "CNTLID");
    assert_eq!(le32(&id, 516), 2, "NN: the slots");
    assert_eq!(le32(&id, 540), 0, "MNAN");
    assert_eq!(id[76], 0, "CMIC: one controller");
    assert_eq!(capacities(&mut h), (u128::from(SLOT1 + SLOT2), 0));
}

#[test]
fn create_validation() {
    let mut h = Host::ready();
    assert_status(&delete(&mut h, 1), Status::SUCCESS);
    h.changed_namespaces(false);
    let good = ns_data(8, 8, 0, 0, 0);
    let cases: Vec<(u32, u32, u32, Vec<u8>, Status)> = vec![
        // (NSID, CDW10, CDW11, data, status)
        (0, 2, 0, good.clone(), Status::INVALID_FIELD),
        (0, 0xf, 0, good.clone(), Status::INVALID_FIELD),
        (0, 1 << 4, 0, good.clone(), Status::INVALID_FIELD),
        (0, 1 << 31, 0, good.clone(), Status::INVALID_FIELD),
        (0, CREATE, 1 << 24, good.clone(), Status::INVALID_FIELD),
        (0, CREATE, 2 << 24, good.clone(), Status::INVALID_FIELD),
        (1, CREATE, 0, good.clone(), Status::INVALID_FIELD),
        (ALL, CREATE, 0, good.clone(), Status::INVALID_FIELD),
        (0, CREATE, 0, ns_data(0, 0, 0, 0, 0), Status::INVALID_FIELD),
        (
            0,
            CREATE,
            0,
            ns_data(8, 4, 0, 0, 0),
            Status::THIN_PROVISIONING_NOT_SUPPORTED,
        ),
        (
            0,
            CREATE,
            0,
            ns_data(8, 9, 0, 0, 0),
            Status::THIN_PROVISIONING_NOT_SUPPORTED,
        ),
        (0, CREATE, 0, ns_data(8, 8, 2, 0, 0), Status::INVALID_FORMAT),
        (
            0,
            CREATE,
            0,
            ns_data(8, 8, 0xf, 0, 0),
            Status::INVALID_FORMAT,
        ),
        (
            0,
            CREATE,
            0,
            ns_data(8, 8, 1 << 5, 0, 0),
            Status::INVALID_FORMAT,
        ),
        (0, CREATE, 0, ns_data(8, 8, 0, 1, 0), Status::INVALID_FORMAT),
        (0, CREATE, 0, ns_data(8, 8, 1, 8, 0), Status::INVALID_FORMAT),
        (0, CREATE, 0, ns_data(8, 8, 0, 0, 1), Status::INVALID_FIELD),
        // 1 MiB and one block do not fit in the free 1 MiB slot.
        (
            0,
            CREATE,
            0,
            ns_data(2049, 2049, 0, 0, 0),
            Status::NAMESPACE_INSUFFICIENT_CAPACITY,
        ),
        (
            0,
            CREATE,
            0,
            ns_data(257, 257, 1, 0, 0),
            Status::NAMESPACE_INSUFFICIENT_CAPACITY,
        ),
        // Too large for 64 bits of bytes.
        (
            0,
            CREATE,
            0,
            ns_data(u64::MAX, u64::MAX, 1, 0, 0),
            Status::NAMESPACE_INSUFFICIENT_CAPACITY,
        ),
    ];
    for (nsid, cdw10, cdw11, data, st) in cases {
        let c = mgmt_raw(&mut h, nsid, cdw10, cdw11, &data);
        assert_status(&c, st);
        assert_eq!(c.result, 0);
    }
    assert!(!h.ctrl.is_allocated(1));
    assert_eq!(capacities(&mut h).1, u128::from(SLOT1), "nothing allocated");
    assert!(h.changed_namespaces(false).is_empty());
    // Bad data pointers.
    let mut s = Sqe::new(admin_opcode::NAMESPACE_MANAGEMENT, 0xd1);
    s.prp1 = DATA_BASE + 2;
    assert_status(&h.admin(&s), Status::INVALID_PRP_OFFSET);
    s.prp1 = MEM_SIZE as u64;
    assert_eq!(h.admin(&s).status, Status::DATA_TRANSFER_ERROR);
    // Extended metadata, reserved FLBAS and NMIC bits and the rest of the structure are
    // ignored; exactly the slot's capacity fits.
    let mut d = ns_data(2048, 2048, 1 << 4 | 1 << 7, 0, 2);
    d[48] = 0xff;
    d[100..200].fill(0x5a);
    let c = mgmt_raw(&mut h, 0, CREATE, 0, &d);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(c.result, 1, "DW0: the NSID");
    // Every slot is allocated now.
    assert_status(&create(&mut h, 1, 0), Status::NAMESPACE_ID_UNAVAILABLE);
    assert_status(
        &create(&mut h, 1 << 40, 1),
        Status::NAMESPACE_ID_UNAVAILABLE,
    );
    assert_eq!(capacities(&mut h).1, 0);
}

#[test]
fn delete_validation() {
    let mut h = Host::ready();
    for nsid in [0, 3, 16, 0xffff_fffe] {
        assert_status(&delete(&mut h, nsid), Status::INVALID_NAMESPACE);
    }
    let mut s = Sqe::new(admin_opcode::NAMESPACE_MANAGEMENT, 0xdf);
    s.nsid = 1;
    s.cdw10 = DELETE;
    s.cdw11 = 1 << 24;
    assert_status(&h.admin(&s), Status::INVALID_FIELD);
    s.cdw10 = DELETE | 1 << 8;
    s.cdw11 = 0;
    assert_status(&h.admin(&s), Status::INVALID_FIELD);
    assert!(h.ctrl.is_allocated(1) && h.ctrl.is_allocated(2));
    assert!(h.changed_namespaces(false).is_empty());

    assert_status(&delete(&mut h, 2), Status::SUCCESS);
    assert_status(&delete(&mut h, 2), Status::INVALID_NAMESPACE);
    assert_status(&delete(&mut h, ALL), Status::SUCCESS);
    assert!(!h.ctrl.is_allocated(1) && !h.ctrl.is_allocated(2));
    assert_status(&delete(&mut h, ALL), Status::SUCCESS);
    assert_status(&delete(&mut h, 1), Status::INVALID_NAMESPACE);
    assert_eq!(
        capacities(&mut h),
        (u128::from(SLOT1 + SLOT2), u128::from(SLOT1 + SLOT2))
    );
    assert!(id_list(&mut h, 0x10, 0).is_empty());
    assert!(id_list(&mut h, 0x02, 0).is_empty());
}

#[test]
fn create_attach_io_detach_delete() {
    let mut h = Host::ready_io();
    h.disk.ns[0].fill(0xee);
    assert_status(&delete(&mut h, 1), Status::SUCCESS);
    assert_eq!(h.ctrl.lba_size(1), None);
    assert_status(
        &io(&mut h, io_opcode::READ, 1, 0, 512),
        Status::INVALID_NAMESPACE,
    );

    // Half the slot, in 512-byte blocks.
    let c = create(&mut h, 1024, 0);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(c.result, 1);
    assert!(h.ctrl.is_allocated(1) && !h.ctrl.is_attached(1));
    assert!(
        h.disk.ns[0][..512 << 10].iter().all(|&b| b == 0),
        "zero filled"
    );
    assert_eq!(h.ctrl.current_namespace(1).map(|n| n.blocks()), Some(1024));
    assert_eq!(capacities(&mut h).1, 0, "the slot is allocated");
    assert_eq!(id_list(&mut h, 0x10, 0), vec![1, 2]);
    assert_eq!(id_list(&mut h, 0x02, 0), vec![2]);
    let (c, id) = h.identify(0, 1);
    assert_status(&c, Status::SUCCESS);
    assert!(id.iter().all(|&b| b == 0), "not attached: inactive");
    let (c, id) = h.identify(0x11, 1);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(
        (le64(&id, 0), le64(&id, 8), le64(&id, 16)),
        (1024, 1024, 1024)
    );
    assert_eq!(le64(&id, 48), 512 << 10, "NVMCAP");
    assert_eq!((id[25], id[26], id[30]), (1, 0, 0), "NLBAF, FLBAS, NMIC");
    for op in [io_opcode::READ, io_opcode::WRITE, io_opcode::FLUSH] {
        assert_status(&io(&mut h, op, 1, 0, 512), Status::INVALID_NAMESPACE);
    }

    assert_status(&attachment(&mut h, ATTACH, 1), Status::SUCCESS);
    assert!(h.ctrl.is_attached(1));
    assert_eq!(id_list(&mut h, 0x02, 0), vec![1, 2]);
    let (_, id0) = h.identify(0, 1);
    let (_, id11) = h.identify(0x11, 1);
    assert_eq!(id0, id11, "CNS 00h and 11h agree for an attached namespace");
    let (c, d) = h.identify(3, 1);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d[4..20], id0[104..120], "NGUID descriptor");

    // I/O within the current size, not the slot's.
    assert_status(&io(&mut h, io_opcode::WRITE, 1, 1023, 512), Status::SUCCESS);
    assert_eq!(h.disk.ns[0][1023 * 512..1024 * 512], pattern(512, 0xff)[..]);
    assert_status(&io(&mut h, io_opcode::READ, 1, 1023, 512), Status::SUCCESS);
    assert_status(
        &io(&mut h, io_opcode::READ, 1, 1024, 512),
        Status::LBA_OUT_OF_RANGE,
    );
    assert_status(
        &io(&mut h, io_opcode::WRITE, 1, 2047, 512),
        Status::LBA_OUT_OF_RANGE,
    );
    let mut wz = Sqe::new(io_opcode::WRITE_ZEROES, 0x11);
    wz.nsid = 1;
    wz.cdw10 = 1020;
    wz.cdw12 = 4;
    assert_status(&h.exec(1, &wz), Status::LBA_OUT_OF_RANGE);
    wz.cdw12 = 3;
    assert_status(&h.exec(1, &wz), Status::SUCCESS);
    assert_status(&io(&mut h, io_opcode::FLUSH, ALL, 0, 512), Status::SUCCESS);
    assert_eq!(h.disk.flushes, vec![1, 2]);

    assert_status(&attachment(&mut h, DETACH, 1), Status::SUCCESS);
    assert!(!h.ctrl.is_attached(1) && h.ctrl.is_allocated(1));
    assert_status(
        &io(&mut h, io_opcode::READ, 1, 0, 512),
        Status::INVALID_NAMESPACE,
    );
    assert_status(&delete(&mut h, 1), Status::SUCCESS);
    assert!(!h.ctrl.is_allocated(1));
    assert_eq!(capacities(&mut h).1, u128::from(SLOT1));
    assert_eq!(id_list(&mut h, 0x10, 0), vec![2]);
    let (c, id) = h.identify(0x11, 1);
    assert_status(&c, Status::SUCCESS);
    assert!(id.iter().all(|&b| b == 0), "unallocated: zero filled");
    assert_status(
        &io(&mut h, io_opcode::READ, 1, 0, 512),
        Status::INVALID_NAMESPACE,
    );
    h.disk.flushes.clear();
    assert_status(&io(&mut h, io_opcode::FLUSH, ALL, 0, 512), Status::SUCCESS);
    assert_eq!(h.disk.flushes, vec![2]);
}

#[test]
fn create_picks_the_lowest_slot_that_fits() {
    // 32 KiB, 4 MiB, 1 MiB.
    let slots = [
        NamespaceConfig {
            lba_size: 512,
            blocks: 64,
        },
        NamespaceConfig {
            lba_size: 4096,
            blocks: 1024,
        },
        NamespaceConfig {
            lba_size: 512,
            blocks: 2048,
        },
    ];
    let total = u128::from((32 << 10) + SLOT2 + SLOT1);
    let mut h = Host::with(&Config {
        namespaces: &slots,
        ..config()
    });
    h.enable(32, 32, 0);
    assert_status(&delete(&mut h, ALL), Status::SUCCESS);
    assert_eq!(capacities(&mut h), (total, total));
    assert_eq!(
        h.changed_namespaces(false),
        vec![1, 2, 3],
        "all were attached"
    );

    let nsid = |c: Cqe| {
        assert_status(&c, Status::SUCCESS);
        c.result
    };
    // 1 MiB: not in slot 1, in slot 2 (the lowest that holds it).
    assert_eq!(nsid(create(&mut h, 256, 1)), 2);
    assert_eq!(capacities(&mut h).1, total - u128::from(SLOT2));
    assert_eq!(nsid(create(&mut h, 64, 0)), 1);
    assert_status(
        &create(&mut h, 2049, 0),
        Status::NAMESPACE_INSUFFICIENT_CAPACITY,
    );
    assert_eq!(nsid(create(&mut h, 2048, 0)), 3);
    assert_eq!(capacities(&mut h).1, 0);
    assert_status(&create(&mut h, 1, 0), Status::NAMESPACE_ID_UNAVAILABLE);
    assert!(
        h.changed_namespaces(false).is_empty(),
        "creating reports nothing"
    );
    assert!(id_list(&mut h, 0x02, 0).is_empty());
    assert_eq!(id_list(&mut h, 0x10, 0), vec![1, 2, 3]);
    assert_eq!(id_list(&mut h, 0x10, 1), vec![2, 3]);
    assert_eq!(id_list(&mut h, 0x10, 3), Vec::<u32>::new());

    // Deleted, created again at the same NSID: a new namespace with a new NGUID.
    let (_, before) = h.identify(0x11, 2);
    assert_status(&delete(&mut h, 2), Status::SUCCESS);
    assert_eq!(capacities(&mut h).1, u128::from(SLOT2));
    assert_eq!(nsid(create(&mut h, 100, 1)), 2);
    let (_, after) = h.identify(0x11, 2);
    assert_eq!(le64(&after, 0), 100);
    assert_ne!(before[104..120], after[104..120], "NGUID");
    assert_ne!(after[104..120], [0; 16]);
    // A smaller free slot does not hold it.
    assert_status(&delete(&mut h, 1), Status::SUCCESS);
    assert_status(
        &create(&mut h, 65, 0),
        Status::NAMESPACE_INSUFFICIENT_CAPACITY,
    );
    assert_status(&create(&mut h, 1, 1), Status::SUCCESS);
    assert_eq!(h.ctrl.lba_size(1), Some(4096));
    // Slots and created namespaces survive a controller reset.
    h.reset();
    assert_eq!(id_list(&mut h, 0x10, 0), vec![1, 2, 3]);
    assert_eq!(h.ctrl.current_namespace(2).map(|n| n.blocks()), Some(100));
}

#[test]
fn format_keeps_a_created_namespace_in_bytes() {
    let mut h = Host::ready_io();
    assert_status(&delete(&mut h, 1), Status::SUCCESS);
    // 9 blocks of 512 bytes: one 4 KiB block, and 9 again back in 512-byte blocks.
    assert_status(&create(&mut h, 9, 0), Status::SUCCESS);
    assert_status(&h.format(1, 1), Status::INVALID_NAMESPACE);
    assert_status(&attachment(&mut h, ATTACH, 1), Status::SUCCESS);
    h.disk.ns[0].fill(7);
    assert_status(&h.format(1, 1), Status::SUCCESS);
    assert!(
        h.disk.ns[0][..9 * 512].iter().all(|&b| b == 0),
        "namespace zeroed"
    );
    assert!(
        h.disk.ns[0][9 * 512..].iter().all(|&b| b == 7),
        "not beyond it"
    );
    let (_, id) = h.identify(0, 1);
    assert_eq!((le64(&id, 0), id[26], le64(&id, 48)), (1, 1, 4096));
    assert_status(&io(&mut h, io_opcode::WRITE, 1, 0, 4096), Status::SUCCESS);
    assert_status(
        &io(&mut h, io_opcode::READ, 1, 1, 4096),
        Status::LBA_OUT_OF_RANGE,
    );
    assert_status(&h.format(1, 0), Status::SUCCESS);
    let (_, id) = h.identify(0, 1);
    assert_eq!((le64(&id, 0), id[26], le64(&id, 48)), (9, 0, 9 * 512));
    assert_status(&io(&mut h, io_opcode::READ, 1, 8, 512), Status::SUCCESS);
    assert_status(
        &io(&mut h, io_opcode::READ, 1, 9, 512),
        Status::LBA_OUT_OF_RANGE,
    );

    // Too small for a 4 KiB block.
    assert_status(&attachment(&mut h, DETACH, 1), Status::SUCCESS);
    assert_status(&delete(&mut h, 1), Status::SUCCESS);
    assert_status(&create(&mut h, 7, 0), Status::SUCCESS);
    assert_status(&attachment(&mut h, ATTACH, 1), Status::SUCCESS);
    assert_status(&h.format(1, 1), Status::INVALID_FORMAT);
    assert_status(&h.format(ALL, 1), Status::INVALID_FORMAT);
    assert_eq!(h.ctrl.lba_size(2), Some(4096));
    assert_status(&h.format(ALL, 0), Status::SUCCESS);
    assert_eq!(h.ctrl.current_namespace(1).map(|n| n.blocks()), Some(7));
    assert_eq!(h.ctrl.current_namespace(2).map(|n| n.blocks()), Some(8192));
}

#[test]
fn attachment_validation() {
    let mut h = Host::ready();
    assert_status(&delete(&mut h, 2), Status::SUCCESS);
    h.changed_namespaces(false);
    let good = ctrl_list_data(1, &[CONTROLLER_ID]);
    let cases: Vec<(u32, u32, Vec<u8>, Status)> = vec![
        // (NSID, CDW10, list, status)
        (1, 2, good.clone(), Status::INVALID_FIELD),
        (1, 0xf, good.clone(), Status::INVALID_FIELD),
        (1, DETACH | 1 << 4, good.clone(), Status::INVALID_FIELD),
        (0, DETACH, good.clone(), Status::INVALID_FIELD),
        (ALL, DETACH, good.clone(), Status::INVALID_FIELD),
        (ALL, ATTACH, good.clone(), Status::INVALID_FIELD),
        (2, ATTACH, good.clone(), Status::INVALID_NAMESPACE),
        (3, ATTACH, good.clone(), Status::INVALID_NAMESPACE),
        (0xffff_fffe, ATTACH, good.clone(), Status::INVALID_NAMESPACE),
        (
            1,
            DETACH,
            ctrl_list_data(0, &[]),
            Status::CONTROLLER_LIST_INVALID,
        ),
        (
            1,
            DETACH,
            ctrl_list_data(0, &[CONTROLLER_ID]),
            Status::CONTROLLER_LIST_INVALID,
        ),
        (
            1,
            DETACH,
            ctrl_list_data(1, &[1]),
            Status::CONTROLLER_LIST_INVALID,
        ),
        (
            1,
            DETACH,
            ctrl_list_data(1, &[0xffff]),
            Status::CONTROLLER_LIST_INVALID,
        ),
        (
            1,
            DETACH,
            ctrl_list_data(2, &[CONTROLLER_ID, CONTROLLER_ID]),
            Status::CONTROLLER_LIST_INVALID,
        ),
        (
            1,
            DETACH,
            ctrl_list_data(2, &[CONTROLLER_ID, 1]),
            Status::CONTROLLER_LIST_INVALID,
        ),
        (1, ATTACH, good.clone(), Status::NAMESPACE_ALREADY_ATTACHED),
    ];
    for (nsid, cdw10, data, st) in cases {
        assert_status(&attachment_raw(&mut h, nsid, cdw10, &data), st);
    }
    assert!(h.ctrl.is_attached(1));
    // Bad data pointer.
    let mut s = Sqe::new(admin_opcode::NAMESPACE_ATTACHMENT, 0xa8);
    s.nsid = 1;
    s.cdw10 = DETACH;
    s.prp1 = MEM_SIZE as u64;
    assert_eq!(h.admin(&s).status, Status::DATA_TRANSFER_ERROR);
    assert!(h.ctrl.is_attached(1));
    assert!(h.changed_namespaces(false).is_empty(), "nothing changed");

    assert_status(&attachment(&mut h, DETACH, 1), Status::SUCCESS);
    assert_status(
        &attachment(&mut h, DETACH, 1),
        Status::NAMESPACE_NOT_ATTACHED,
    );
    assert_status(&attachment(&mut h, ATTACH, 1), Status::SUCCESS);
    assert_status(
        &attachment(&mut h, ATTACH, 1),
        Status::NAMESPACE_ALREADY_ATTACHED,
    );
    assert_eq!(h.changed_namespaces(false), vec![1]);
}

#[test]
fn caller_attachment_of_slots() {
    let mut h = Host::ready();
    assert_status(&delete(&mut h, 1), Status::SUCCESS);
    assert_eq!(h.ctrl.attach_namespace(1), Err(NsError::Unallocated));
    assert_eq!(h.ctrl.detach_namespace(1), Err(NsError::Unallocated));
    assert_eq!(h.ctrl.attach_namespace(3), Err(NsError::Invalid));
    assert!(!h.ctrl.is_attached(1) && !h.ctrl.is_allocated(1));
    assert_status(&create(&mut h, 16, 0), Status::SUCCESS);
    // The caller and the host share the transitions.
    assert_eq!(h.ctrl.attach_namespace(1), Ok(()));
    assert_status(
        &attachment(&mut h, ATTACH, 1),
        Status::NAMESPACE_ALREADY_ATTACHED,
    );
    assert_status(&attachment(&mut h, DETACH, 1), Status::SUCCESS);
    assert_eq!(h.ctrl.detach_namespace(1), Err(NsError::NotAttached));
    assert_eq!(h.ctrl.attach_namespace(1), Ok(()));
    assert_eq!(h.changed_namespaces(false), vec![1]);
}

#[test]
fn identify_lists_and_controller_lists() {
    let mut h = Host::ready();
    h.ctrl.detach_namespace(1).unwrap();
    for nsid in [0xffff_fffe, ALL] {
        assert_status(&h.identify(0x10, nsid).0, Status::INVALID_NAMESPACE);
    }
    for nsid in [0, 3, ALL] {
        assert_status(&h.identify(0x11, nsid).0, Status::INVALID_NAMESPACE);
        assert_status(&h.identify(0x12, nsid).0, Status::INVALID_NAMESPACE);
    }
    assert_eq!(id_list(&mut h, 0x10, 0), vec![1, 2]);
    assert_eq!(id_list(&mut h, 0x02, 0), vec![2]);
    // Controllers attached to a namespace.
    assert_eq!(ctrl_list(&mut h, 0x12, 2, 0), vec![CONTROLLER_ID]);
    assert_eq!(
        ctrl_list(&mut h, 0x12, 2, CONTROLLER_ID),
        vec![CONTROLLER_ID]
    );
    assert!(ctrl_list(&mut h, 0x12, 2, CONTROLLER_ID + 1).is_empty());
    assert!(ctrl_list(&mut h, 0x12, 1, 0).is_empty(), "detached");
    // Controllers in the subsystem, whatever the NSID.
    for nsid in [0, 1, 7, ALL] {
        assert_eq!(ctrl_list(&mut h, 0x13, nsid, 0), vec![CONTROLLER_ID]);
    }
    assert!(ctrl_list(&mut h, 0x13, 0, 0xffff).is_empty());
    // An unallocated slot.
    assert_status(&delete(&mut h, 1), Status::SUCCESS);
    assert!(ctrl_list(&mut h, 0x12, 1, 0).is_empty());
    let (c, id) = h.identify(0, 1);
    assert_status(&c, Status::SUCCESS);
    assert!(id.iter().all(|&b| b == 0));
    assert_status(&h.identify(3, 1).0, Status::INVALID_FIELD);
    assert_eq!(id_list(&mut h, 0x10, 0), vec![2]);
}

#[test]
fn changes_and_notices() {
    let mut h = Host::ready();
    h.namespace_notices(true);
    aer(&mut h, 0xa0);
    aer(&mut h, 0xa1);
    aer(&mut h, 0xa2);
    let list = ctrl_list_data(1, &[CONTROLLER_ID]);
    let mut del = Sqe::new(admin_opcode::NAMESPACE_MANAGEMENT, 0xde);
    del.cdw10 = DELETE;
    // Detaching reports the namespace.
    let s = attachment_sqe(&mut h, 2, DETACH, &list);
    let c = admin_all(&mut h, &s);
    assert_eq!(c.len(), 2, "{c:x?}");
    assert_eq!((c[0].cid, c[0].status), (0xa7, Status::SUCCESS));
    assert_eq!((c[1].cid, c[1].result), (0xa0, NOTICE));
    assert_eq!(h.changed_namespaces(false), vec![2]);

    // Deleting a detached namespace, and creating one, report nothing.
    del.nsid = 2;
    let c = admin_all(&mut h, &del);
    assert_eq!((c.len(), c[0].status), (1, Status::SUCCESS));
    assert_status(&create(&mut h, 8, 1), Status::SUCCESS);
    h.run();
    assert!(h.reap(0).is_empty());
    assert!(h.changed_namespaces(false).is_empty());

    // Attaching does.
    let s = attachment_sqe(&mut h, 2, ATTACH, &list);
    let c = admin_all(&mut h, &s);
    assert_eq!(c.len(), 2, "{c:x?}");
    assert_eq!(
        (c[0].status, c[1].cid, c[1].result),
        (Status::SUCCESS, 0xa1, NOTICE)
    );
    assert_eq!(h.changed_namespaces(false), vec![2]);

    // Deleting an attached namespace detaches it: reported; everything deleted at once.
    del.nsid = ALL;
    let c = admin_all(&mut h, &del);
    assert_eq!(c.len(), 2, "{c:x?}");
    assert_eq!(
        (c[0].status, c[1].cid, c[1].result),
        (Status::SUCCESS, 0xa2, NOTICE)
    );
    assert_eq!(h.changed_namespaces(false), vec![1, 2]);
    assert!(id_list(&mut h, 0x10, 0).is_empty());
}

#[test]
fn create_backing_failure() {
    let mut h = Host::ready();
    assert_status(&delete(&mut h, 2), Status::SUCCESS);
    h.disk.fail = true;
    let c = create(&mut h, 8, 1);
    assert_eq!(
        c.status,
        Status::WRITE_FAULT,
        "a media error, may be retried"
    );
    assert!(!h.ctrl.is_allocated(2));
    assert_eq!(capacities(&mut h).1, u128::from(SLOT2));
    h.disk.fail = false;
    let c = create(&mut h, 8, 1);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(c.result, 2);
}

// ---------------------------------------------------------------------------------------------
// Random sequences of namespace management, attachment, Format NVM and I/O, checked against a
// reference model of the slots.

/// Slots: 32 KiB, 64 KiB, 8 KiB.
const PROP_SLOTS: [NamespaceConfig; 3] = [
    NamespaceConfig {
        lba_size: 512,
        blocks: 64,
    },
    NamespaceConfig {
        lba_size: 4096,
        blocks: 16,
    },
    NamespaceConfig {
        lba_size: 512,
        blocks: 16,
    },
];

#[derive(Clone, Debug)]
enum Op {
    Create { nsze: u64, lbaf: u8 },
    Delete(u32),
    Attach(u32),
    Detach(u32),
    CallerAttach(u32),
    CallerDetach(u32),
    Format { nsid: u32, lbaf: u32 },
    Io { write: bool, nsid: u32, slba: u64 },
    ReadChanges,
    Reset,
}

fn nsid() -> impl Strategy<Value = u32> {
    prop::sample::select(vec![0u32, 1, 2, 3, 4, ALL])
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (prop_oneof![0u64..20, 0u64..200], 0u8..3).prop_map(|(nsze, lbaf)| Op::Create { nsze, lbaf }),
        3 => nsid().prop_map(Op::Delete),
        3 => nsid().prop_map(Op::Attach),
        2 => nsid().prop_map(Op::Detach),
        1 => nsid().prop_map(Op::CallerAttach),
        1 => nsid().prop_map(Op::CallerDetach),
        1 => (nsid(), 0u32..3).prop_map(|(nsid, lbaf)| Op::Format { nsid, lbaf }),
        3 => (any::<bool>(), nsid(), 0u64..80).prop_map(|(write, nsid, slba)| Op::Io { write, nsid, slba }),
        1 => Just(Op::ReadChanges),
        1 => Just(Op::Reset),
    ]
}

#[derive(Clone, Copy, Debug)]
struct MNs {
    attached: bool,
    bytes: u64,
    shift: u32,
}

#[derive(Debug)]
struct Model {
    slots: [Option<MNs>; 3],
    changed: BTreeSet<u32>,
}

impl Model {
    fn new() -> Model {
        let ns = |i: usize| {
            Some(MNs {
                attached: true,
                bytes: cap(i as u32 + 1),
                shift: PROP_SLOTS[i].lba_size.trailing_zeros(),
            })
        };
        Model {
            slots: [ns(0), ns(1), ns(2)],
            changed: BTreeSet::new(),
        }
    }

    fn get(&self, nsid: u32) -> Option<MNs> {
        (1..=3)
            .contains(&nsid)
            .then(|| self.slots[nsid as usize - 1])
            .flatten()
    }

    fn attached(&self, nsid: u32) -> bool {
        self.get(nsid).is_some_and(|n| n.attached)
    }

    fn set_attached(&mut self, nsid: u32, on: bool) {
        self.slots[nsid as usize - 1].as_mut().unwrap().attached = on;
        self.changed.insert(nsid);
    }

    fn ids(&self, f: impl Fn(&MNs) -> bool) -> Vec<u32> {
        (1..=3)
            .filter(|&n| self.get(n).is_some_and(|s| f(&s)))
            .collect()
    }

    fn free(&self) -> u128 {
        (1..=3)
            .filter(|&n| self.get(n).is_none())
            .map(|n| u128::from(cap(n)))
            .sum()
    }
}

/// The capacity of slot `nsid`.
fn cap(nsid: u32) -> u64 {
    let c = PROP_SLOTS[nsid as usize - 1];
    c.blocks * u64::from(c.lba_size)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn management_walk_keeps_the_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let mut h = Host::with(&Config { namespaces: &PROP_SLOTS, ..config() });
        h.enable(32, 32, 0);
        h.setup_io(1, 16, 1);
        let mut m = Model::new();
        let total: u128 = (1..=3).map(|n| u128::from(cap(n))).sum();
        for op in &ops {
            match *op {
                Op::Create { nsze, lbaf } => {
                    let c = create(&mut h, nsze, lbaf);
                    let shift = [9u32, 12].get(usize::from(lbaf)).copied();
                    let free: Vec<u32> = (1..=3).filter(|&n| m.get(n).is_none()).collect();
                    let expect = if nsze == 0 {
                        Err(Status::INVALID_FIELD)
                    } else if shift.is_none() {
                        Err(Status::INVALID_FORMAT)
                    } else if free.is_empty() {
                        Err(Status::NAMESPACE_ID_UNAVAILABLE)
                    } else {
                        let bytes = nsze << shift.unwrap();
                        match free.iter().find(|&&n| cap(n) >= bytes) {
                            None => Err(Status::NAMESPACE_INSUFFICIENT_CAPACITY),
                            Some(&n) => {
                                m.slots[n as usize - 1] = Some(MNs {
                                    attached: false,
                                    bytes,
                                    shift: shift.unwrap(),
                                });
                                let d = &h.disk.ns[n as usize - 1];
                                prop_assert!(d[..bytes as usize].iter().all(|&b| b == 0));
                                Ok(n)
                            }
                        }
                    };
                    match expect {
                        Ok(n) => {
                            prop_assert_eq!(c.status, Status::SUCCESS, "{:?}", op);
                            prop_assert_eq!(c.result, n);
                        }
                        Err(s) => prop_assert_eq!(c.status.code(), s.code(), "{:?}", op),
                    }
                }
                Op::Delete(nsid) => {
                    let c = delete(&mut h, nsid);
                    let targets = if nsid == ALL {
                        m.ids(|_| true)
                    } else if m.get(nsid).is_some() {
                        vec![nsid]
                    } else {
                        prop_assert_eq!(c.status.code(), Status::INVALID_NAMESPACE.code());
                        vec![]
                    };
                    if nsid == ALL || !targets.is_empty() {
                        prop_assert_eq!(c.status, Status::SUCCESS, "{:?}", op);
                    }
                    for n in targets {
                        if m.attached(n) {
                            m.changed.insert(n);
                        }
                        m.slots[n as usize - 1] = None;
                    }
                }
                Op::Attach(nsid) | Op::Detach(nsid) => {
                    let attach = matches!(op, Op::Attach(_));
                    let c = attachment(&mut h, if attach { ATTACH } else { DETACH }, nsid);
                    let expect = if nsid == 0 || nsid == ALL {
                        Status::INVALID_FIELD
                    } else if m.get(nsid).is_none() {
                        Status::INVALID_NAMESPACE
                    } else if m.attached(nsid) == attach {
                        if attach {
                            Status::NAMESPACE_ALREADY_ATTACHED
                        } else {
                            Status::NAMESPACE_NOT_ATTACHED
                        }
                    } else {
                        m.set_attached(nsid, attach);
                        Status::SUCCESS
                    };
                    prop_assert_eq!(c.status.code(), expect.code(), "{:?}", op);
                }
                Op::CallerAttach(nsid) | Op::CallerDetach(nsid) => {
                    let attach = matches!(op, Op::CallerAttach(_));
                    let r = if attach {
                        h.ctrl.attach_namespace(nsid)
                    } else {
                        h.ctrl.detach_namespace(nsid)
                    };
                    let expect = if !(1..=3).contains(&nsid) {
                        Err(NsError::Invalid)
                    } else if m.get(nsid).is_none() {
                        Err(NsError::Unallocated)
                    } else if m.attached(nsid) == attach {
                        Err(if attach { NsError::AlreadyAttached } else { NsError::NotAttached })
                    } else {
                        m.set_attached(nsid, attach);
                        Ok(())
                    };
                    prop_assert_eq!(r, expect);
                }
                Op::Format { nsid, lbaf } => {
                    let c = h.format(nsid, lbaf);
                    let targets = if nsid == ALL { m.ids(|n| n.attached) } else { vec![nsid] };
                    let shift = [9u32, 12].get(lbaf as usize).copied();
                    let expect = if targets.iter().any(|&n| !m.attached(n)) {
                        Status::INVALID_NAMESPACE
                    } else if shift.is_none()
                        || targets.iter().any(|&n| m.get(n).unwrap().bytes >> shift.unwrap() == 0)
                    {
                        Status::INVALID_FORMAT
                    } else {
                        for &n in &targets {
                            m.slots[n as usize - 1].as_mut().unwrap().shift = shift.unwrap();
                            m.changed.insert(n);
                        }
                        Status::SUCCESS
                    };
                    prop_assert_eq!(c.status.code(), expect.code(), "{:?}", op);
                }
                Op::Io { write, nsid, slba } => {
                    let len = m.get(nsid).map_or(512, |n| 1u64 << n.shift);
                    let opcode = if write { io_opcode::WRITE } else { io_opcode::READ };
                    let c = io(&mut h, opcode, nsid, slba, len);
                    let expect = match m.get(nsid) {
                        Some(n) if n.attached => {
                            if slba < n.bytes >> n.shift {
                                Status::SUCCESS
                            } else {
                                Status::LBA_OUT_OF_RANGE
                            }
                        }
                        _ => Status::INVALID_NAMESPACE,
                    };
                    prop_assert_eq!(c.status.code(), expect.code(), "{:?}", op);
                }
                Op::ReadChanges => {
                    let got = h.changed_namespaces(false);
                    let want: Vec<u32> = m.changed.iter().copied().collect();
                    prop_assert_eq!(got, want);
                    m.changed.clear();
                }
                Op::Reset => {
                    h.reset();
                    h.setup_io(1, 16, 1);
                }
            }
            // Allocated ⊇ attached, as the lists and the caller's view report them.
            let active = id_list(&mut h, 0x02, 0);
            let allocated = id_list(&mut h, 0x10, 0);
            prop_assert!(active.iter().all(|n| allocated.contains(n)));
            prop_assert_eq!(&active, &m.ids(|n| n.attached));
            prop_assert_eq!(&allocated, &m.ids(|_| true));
            // UNVMCAP: the free slots; TNVMCAP: all of them.
            prop_assert_eq!(capacities(&mut h), (total, m.free()));
            for n in 1..=4u32 {
                let want = m.get(n);
                prop_assert_eq!(h.ctrl.is_allocated(n), want.is_some());
                prop_assert_eq!(h.ctrl.is_attached(n), m.attached(n));
                prop_assert!(!h.ctrl.is_attached(n) || h.ctrl.is_allocated(n));
                let size = h.ctrl.current_namespace(n).map(|x| (x.blocks(), x.lba_size()));
                prop_assert_eq!(size, want.map(|w| (w.bytes >> w.shift, 1u32 << w.shift)));
                if n <= 3 {
                    let (c, id) = h.identify(0x11, n);
                    prop_assert_eq!(c.status, Status::SUCCESS);
                    prop_assert_eq!(le64(&id, 0), want.map_or(0, |w| w.bytes >> w.shift));
                    let attached_to = ctrl_list(&mut h, 0x12, n, 0);
                    prop_assert_eq!(attached_to.len(), usize::from(m.attached(n)));
                }
            }
        }
    }
}
