// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: namespace attachment at run time, the Changed Namespace List,
//! Namespace Attribute Changed notices, and Format NVM (LBA formats 0 and 1).

#[path = "nvme_util.rs"]
mod util;

use std::collections::BTreeSet;

use nvmock_model::nvme::*;
use proptest::prelude::*;
use util::*;

const NS1: u32 = 1; // 512-byte blocks, 1 MiB
const NS2: u32 = 2; // 4096-byte blocks, 4 MiB
/// The DW0 of a Namespace Attribute Changed notice.
const NOTICE: u32 = 0x0004_0002;

/// The NSIDs of the Active Namespace ID list from `nsid` on.
fn active_list(h: &mut Host, nsid: u32) -> Vec<u32> {
    let (c, l) = h.identify(2, nsid);
    assert_status(&c, Status::SUCCESS);
    l.chunks_exact(4)
        .map(|d| u32::from_le_bytes(d.try_into().unwrap()))
        .take_while(|&n| n != 0)
        .collect()
}

/// A one-block command of `opcode` to `nsid` at `slba`, with a buffer of `len` bytes.
fn io(h: &mut Host, opcode: u8, nsid: u32, slba: u64, len: u64) -> Cqe {
    let buf = h.buffer(len, 0, 0);
    h.exec(1, &rw(opcode, 0x10, nsid, slba, 0, &buf))
}

/// Submits an Asynchronous Event Request with `cid` (held by the controller).
fn aer(h: &mut Host, cid: u16) {
    h.submit(0, &Sqe::new(admin_opcode::ASYNC_EVENT_REQUEST, cid));
    h.run();
}

#[test]
fn all_namespaces_attached_by_default() {
    let mut h = Host::ready();
    assert!(h.ctrl.is_attached(NS1) && h.ctrl.is_attached(NS2));
    for nsid in [0, 3, 16, 0xffff_ffff] {
        assert!(!h.ctrl.is_attached(nsid));
        assert_eq!(h.ctrl.lba_size(nsid), None);
    }
    assert_eq!(h.ctrl.lba_size(NS1), Some(512));
    assert_eq!(h.ctrl.lba_size(NS2), Some(4096));
    assert_eq!(active_list(&mut h, 0), vec![1, 2]);
    assert!(h.changed_namespaces(false).is_empty());
    let (_, id) = h.identify(1, 0);
    assert_eq!(le32(&id, 92) & 1 << 8, 1 << 8, "OAES: namespace notices");
    assert_eq!(le32(&id, 516), 2, "NN: allocated namespaces");
}

#[test]
fn attach_detach_errors() {
    let mut h = Host::ready();
    for nsid in [0, 3, 0xffff_fffe, 0xffff_ffff] {
        assert_eq!(h.ctrl.attach_namespace(nsid), Err(NsError::Invalid));
        assert_eq!(h.ctrl.detach_namespace(nsid), Err(NsError::Invalid));
    }
    assert_eq!(h.ctrl.attach_namespace(NS1), Err(NsError::AlreadyAttached));
    assert_eq!(h.ctrl.detach_namespace(NS1), Ok(()));
    assert_eq!(h.ctrl.detach_namespace(NS1), Err(NsError::NotAttached));
    assert!(!h.ctrl.is_attached(NS1));
    assert_eq!(h.ctrl.lba_size(NS1), Some(512), "still allocated");
    assert_eq!(h.ctrl.attach_namespace(NS1), Ok(()));
    assert!(h.ctrl.is_attached(NS1));
    // Refused calls change nothing.
    assert_eq!(h.changed_namespaces(false), vec![1]);
}

#[test]
fn detached_namespace_is_inactive() {
    let mut h = Host::ready_io();
    let data = pattern(512, 7);
    let buf = h.buffer(512, 0, 0);
    buf.fill(&mut h.mem, &data);
    assert_status(
        &h.exec(1, &rw(io_opcode::WRITE, 1, NS1, 5, 0, &buf)),
        Status::SUCCESS,
    );
    h.ctrl.detach_namespace(NS1).unwrap();

    assert_eq!(active_list(&mut h, 0), vec![2]);
    let (c, id) = h.identify(0, NS1);
    assert_status(&c, Status::SUCCESS);
    assert!(id.iter().all(|&b| b == 0), "inactive NSID: zero filled");
    assert_status(&h.identify(3, NS1).0, Status::INVALID_FIELD);
    assert_status(&h.identify(0, 3).0, Status::INVALID_NAMESPACE);
    assert_status(&h.identify(3, 3).0, Status::INVALID_NAMESPACE);

    for op in [
        io_opcode::READ,
        io_opcode::WRITE,
        io_opcode::COMPARE,
        io_opcode::WRITE_ZEROES,
        io_opcode::DATASET_MANAGEMENT,
        io_opcode::FLUSH,
    ] {
        assert_status(&io(&mut h, op, NS1, 0, 512), Status::INVALID_NAMESPACE);
    }
    assert_eq!(h.disk.ns[0][5 * 512..6 * 512], data[..], "untouched");
    // The broadcast flush reaches only the attached namespace.
    assert_status(
        &io(&mut h, io_opcode::FLUSH, 0xffff_ffff, 0, 512),
        Status::SUCCESS,
    );
    assert_eq!(h.disk.flushes, vec![2]);
    assert_status(&io(&mut h, io_opcode::READ, NS2, 0, 4096), Status::SUCCESS);

    // Attached again: the same contents.
    h.ctrl.attach_namespace(NS1).unwrap();
    assert_eq!(active_list(&mut h, 0), vec![1, 2]);
    let rbuf = h.buffer(512, 0, 0);
    assert_status(
        &h.exec(1, &rw(io_opcode::READ, 2, NS1, 5, 0, &rbuf)),
        Status::SUCCESS,
    );
    assert_eq!(rbuf.read(&h.mem), data);
    let (_, id) = h.identify(0, NS1);
    assert_eq!(le64(&id, 0), 2048);
}

#[test]
fn active_list_skips_detached() {
    let mut h = Host::ready();
    h.ctrl.detach_namespace(NS1).unwrap();
    h.ctrl.detach_namespace(NS2).unwrap();
    assert!(active_list(&mut h, 0).is_empty());
    h.ctrl.attach_namespace(NS2).unwrap();
    assert_eq!(active_list(&mut h, 0), vec![2]);
    assert_eq!(active_list(&mut h, 1), vec![2]);
    assert!(active_list(&mut h, 2).is_empty());
}

#[test]
fn changed_namespace_list() {
    let mut h = Host::ready();
    h.ctrl.detach_namespace(NS2).unwrap();
    h.ctrl.detach_namespace(NS1).unwrap();
    h.ctrl.attach_namespace(NS2).unwrap();
    // Each NSID once, ascending; RAE keeps the list.
    assert_eq!(h.changed_namespaces(true), vec![1, 2]);
    assert_eq!(h.changed_namespaces(true), vec![1, 2]);
    let (c, l) = h.log(log_id::CHANGED_NAMESPACES, 8, 4, true, 0);
    assert_status(&c, Status::SUCCESS);
    assert_eq!((le32(&l, 0), le32(&l, 4)), (2, 0), "offsets");
    // Reading with RAE cleared empties it.
    assert_eq!(h.changed_namespaces(false), vec![1, 2]);
    assert!(h.changed_namespaces(false).is_empty());
    // A controller reset keeps it.
    h.ctrl.attach_namespace(NS1).unwrap();
    h.reset();
    assert_eq!(h.changed_namespaces(false), vec![1]);
    assert!(h.ctrl.is_attached(NS1) && h.ctrl.is_attached(NS2));
    // The whole log is 4 KiB.
    assert_status(
        &h.log(log_id::CHANGED_NAMESPACES, 4, 4096, false, 0).0,
        Status::SUCCESS,
    );
    assert_status(
        &h.log(log_id::CHANGED_NAMESPACES, 4, 4100, false, 0).0,
        Status::INVALID_FIELD,
    );
}

#[test]
fn namespace_attribute_notice() {
    let mut h = Host::ready();
    aer(&mut h, 0xa0);
    // Not enabled: nothing is reported, although the log records the change.
    h.ctrl.detach_namespace(NS1).unwrap();
    h.run();
    assert!(h.reap(0).is_empty());
    assert_eq!(h.changed_namespaces(false), vec![1]);

    h.namespace_notices(true);
    let f = {
        let mut s = Sqe::new(admin_opcode::GET_FEATURES, 1);
        s.cdw10 = u32::from(feature::ASYNC_EVENT_CONFIG);
        h.admin(&s).result
    };
    assert_eq!(f, 1 << 8);
    h.ctrl.attach_namespace(NS1).unwrap();
    assert!(h.ctrl.has_work(0));
    h.run();
    let c = h.reap(0);
    assert_eq!(c.len(), 1);
    assert_eq!((c[0].cid, c[0].result), (0xa0, NOTICE));
    assert_eq!(
        c[0].result,
        aen::result(
            aen::TYPE_NOTICE,
            aen::NAMESPACE_ATTRIBUTE_CHANGED,
            log_id::CHANGED_NAMESPACES
        )
    );
    assert_status(&c[0], Status::SUCCESS);

    // Masked until the log is read with RAE cleared.
    aer(&mut h, 0xa1);
    h.ctrl.detach_namespace(NS2).unwrap();
    h.run();
    assert!(h.reap(0).is_empty());
    assert_eq!(h.changed_namespaces(true), vec![1, 2]);
    h.ctrl.attach_namespace(NS2).unwrap();
    h.run();
    assert!(h.reap(0).is_empty(), "RAE keeps the mask");
    assert_eq!(h.changed_namespaces(false), vec![1, 2]);
    h.run();
    assert!(h.reap(0).is_empty(), "nothing new since the read");
    h.ctrl.detach_namespace(NS2).unwrap();
    h.run();
    let c = h.reap(0);
    assert_eq!((c.len(), c[0].cid, c[0].result), (1, 0xa1, NOTICE));
}

#[test]
fn notice_waits_for_a_request_and_is_dropped_by_a_read() {
    let mut h = Host::ready();
    h.namespace_notices(true);
    h.ctrl.detach_namespace(NS1).unwrap();
    assert!(!h.ctrl.has_work(0), "no request to report it in");
    aer(&mut h, 0xa0);
    let c = h.reap(0);
    assert_eq!(
        (c.len(), c[0].result),
        (1, NOTICE),
        "reported once a request comes"
    );

    // Read the log with RAE cleared before a request comes: the notice is gone.
    assert_eq!(h.changed_namespaces(false), vec![1]);
    h.ctrl.attach_namespace(NS1).unwrap();
    assert_eq!(h.changed_namespaces(false), vec![1]);
    aer(&mut h, 0xa1);
    assert!(h.reap(0).is_empty());
    // A reset drops requests, queued notices and the mask (and disables notices).
    h.ctrl.detach_namespace(NS1).unwrap();
    h.run();
    assert_eq!(h.reap(0)[0].cid, 0xa1);
    h.reset();
    aer(&mut h, 0xa2);
    h.ctrl.attach_namespace(NS1).unwrap();
    h.run();
    assert!(h.reap(0).is_empty(), "notices are disabled after a reset");
    h.namespace_notices(true);
    h.ctrl.detach_namespace(NS1).unwrap();
    h.run();
    assert_eq!(h.reap(0)[0].result, NOTICE, "and not masked");
}

#[test]
fn error_events_and_notices_are_masked_apart() {
    let mut h = Host::ready();
    h.namespace_notices(true);
    aer(&mut h, 0xa0);
    aer(&mut h, 0xa1);
    aer(&mut h, 0xa2);
    // An invalid doorbell and a namespace change: the error first, then the notice.
    h.write(regs::sq_tail_doorbell(3), 1);
    h.ctrl.detach_namespace(NS1).unwrap();
    h.run();
    let c = h.reap(0);
    assert_eq!(c.len(), 2);
    assert_eq!((c[0].cid, c[0].result), (0xa0, 0x0001_0000));
    assert_eq!((c[1].cid, c[1].result), (0xa1, NOTICE));
    // Reading the error log does not unmask notices.
    assert_status(&h.log(log_id::ERROR, 64, 0, false, 0).0, Status::SUCCESS);
    h.ctrl.attach_namespace(NS1).unwrap();
    h.run();
    assert!(h.reap(0).is_empty());
}

/// Format NVM CDW10 selecting LBA format `lbaf`.
const LBAF0: u32 = 0;
const LBAF1: u32 = 1;

#[test]
fn format_changes_the_block_size() {
    let mut h = Host::ready_io();
    let buf = h.buffer(4096, 0, 0);
    buf.fill(&mut h.mem, &pattern(4096, 3));
    assert_status(
        &h.exec(1, &rw(io_opcode::WRITE, 1, NS1, 8, 7, &buf)),
        Status::SUCCESS,
    );
    let params_ns = *h.ctrl.params().namespace(NS1).unwrap();

    assert_status(&h.format(NS1, LBAF1), Status::SUCCESS);
    assert_eq!(h.ctrl.lba_size(NS1), Some(4096));
    assert_eq!(
        h.ctrl.params().namespace(NS1),
        Some(&params_ns),
        "params unchanged"
    );
    assert!(h.disk.ns[0].iter().all(|&b| b == 0), "user data erased");
    let (_, id) = h.identify(0, NS1);
    assert_eq!(le64(&id, 0), 256, "NSZE in 4 KiB blocks");
    assert_eq!(le64(&id, 8), 256, "NCAP");
    assert_eq!(id[26], 1, "FLBAS: format 1");
    assert_eq!(le64(&id, 48), 1 << 20, "NVMCAP: same bytes");

    // I/O in 4 KiB blocks.
    let data = pattern(8192, 9);
    let wbuf = h.buffer(8192, 0, 0);
    wbuf.fill(&mut h.mem, &data);
    assert_status(
        &h.exec(1, &rw(io_opcode::WRITE, 2, NS1, 254, 1, &wbuf)),
        Status::SUCCESS,
    );
    assert_eq!(h.disk.ns[0][254 * 4096..], data[..]);
    assert_status(
        &h.exec(1, &rw(io_opcode::READ, 3, NS1, 255, 1, &wbuf)),
        Status::LBA_OUT_OF_RANGE,
    );

    // And back: MSET is ignored (no metadata); SES 1 is a user data erase too.
    assert_status(&h.format(NS1, LBAF0 | 1 << 4 | 1 << 9), Status::SUCCESS);
    assert_eq!(h.ctrl.lba_size(NS1), Some(512));
    assert!(h.disk.ns[0].iter().all(|&b| b == 0));
    let (_, id) = h.identify(0, NS1);
    assert_eq!((le64(&id, 0), id[26]), (2048, 0));
    assert_status(
        &h.exec(1, &rw(io_opcode::READ, 4, NS1, 2047, 0, &wbuf)),
        Status::SUCCESS,
    );
    // Namespace 2 was never touched.
    assert_eq!(h.ctrl.lba_size(NS2), Some(4096));
    assert_eq!(h.changed_namespaces(false), vec![1]);
    // A controller reset keeps the format.
    assert_status(&h.format(NS2, LBAF0), Status::SUCCESS);
    h.reset();
    assert_eq!(h.ctrl.lba_size(NS2), Some(512));
    let (_, id) = h.identify(0, NS2);
    assert_eq!((le64(&id, 0), id[26]), (8192, 0));
}

#[test]
fn format_validation() {
    let mut h = Host::ready_io();
    h.disk.ns[0].fill(0xaa);
    h.ctrl.detach_namespace(NS2).unwrap();
    h.changed_namespaces(false);
    let cases = [
        (NS1, 1 << 14, Status::INVALID_FIELD),
        (NS1, 1 << 31, Status::INVALID_FIELD),
        (NS1, 2 << 9, Status::INVALID_FIELD),
        (NS1, 3 << 9, Status::INVALID_FIELD),
        (NS1, 7 << 9, Status::INVALID_FIELD),
        (0, LBAF1, Status::INVALID_NAMESPACE),
        (3, LBAF1, Status::INVALID_NAMESPACE),
        (0xffff_fffe, LBAF1, Status::INVALID_NAMESPACE),
        (NS2, LBAF1, Status::INVALID_NAMESPACE),
        (NS1, 2, Status::INVALID_FORMAT),
        (NS1, 0xf, Status::INVALID_FORMAT),
        (NS1, 1 << 12, Status::INVALID_FORMAT),
        (NS1, 1 << 5 | LBAF1, Status::INVALID_FORMAT),
        (NS1, 3 << 5, Status::INVALID_FORMAT),
        (NS1, 1 << 8, Status::INVALID_FORMAT),
    ];
    for (nsid, cdw10, st) in cases {
        let c = h.format(nsid, cdw10);
        assert_status(&c, st);
    }
    assert!(h.disk.ns[0].iter().all(|&b| b == 0xaa), "nothing erased");
    assert_eq!(h.ctrl.lba_size(NS1), Some(512));
    assert!(h.changed_namespaces(false).is_empty());
    let (_, id) = h.identify(1, 0);
    assert_eq!(le16(&id, 256) & 0b110, 0b110, "OACS: format, firmware");
    assert_eq!(id[524], 0, "FNA: per namespace, no crypto erase");
}

#[test]
fn format_broadcast_formats_attached_namespaces() {
    let mut h = Host::ready();
    h.disk.ns[0].fill(1);
    h.disk.ns[1].fill(2);
    assert_status(&h.format(0xffff_ffff, LBAF1), Status::SUCCESS);
    assert_eq!(h.ctrl.lba_size(NS1), Some(4096));
    assert_eq!(h.ctrl.lba_size(NS2), Some(4096));
    assert!(h.disk.ns.iter().all(|n| n.iter().all(|&b| b == 0)));
    assert_eq!(h.changed_namespaces(false), vec![1, 2]);

    h.ctrl.detach_namespace(NS2).unwrap();
    h.changed_namespaces(false);
    h.disk.ns[1].fill(2);
    assert_status(&h.format(0xffff_ffff, LBAF0), Status::SUCCESS);
    assert_eq!(h.ctrl.lba_size(NS1), Some(512));
    assert_eq!(h.ctrl.lba_size(NS2), Some(4096), "detached: not formatted");
    assert!(h.disk.ns[1].iter().all(|&b| b == 2));
    assert_eq!(h.changed_namespaces(false), vec![1]);
}

#[test]
fn format_needs_room_for_a_block() {
    // 1536 bytes: three 512-byte blocks, not one 4 KiB block.
    let namespaces = [
        NamespaceConfig {
            lba_size: 512,
            blocks: 3,
        },
        NamespaceConfig {
            lba_size: 512,
            blocks: 24,
        },
    ];
    let mut h = Host::with(&Config {
        namespaces: &namespaces,
        ..config()
    });
    h.enable(8, 8, 0);
    h.disk.ns[1].fill(5);
    assert_status(&h.format(1, LBAF1), Status::INVALID_FORMAT);
    assert_status(&h.format(0xffff_ffff, LBAF1), Status::INVALID_FORMAT);
    assert!(h.disk.ns[1].iter().all(|&b| b == 5), "all or nothing");
    assert_eq!(h.ctrl.lba_size(2), Some(512));
    // 12 KiB of 512-byte blocks: three 4 KiB blocks.
    assert_status(&h.format(2, LBAF1), Status::SUCCESS);
    let (_, id) = h.identify(0, 2);
    assert_eq!(le64(&id, 0), 3);
}

#[test]
fn format_backing_failure() {
    let mut h = Host::ready();
    h.disk.fail = true;
    let c = h.format(NS1, LBAF1);
    assert_eq!(
        c.status,
        Status::WRITE_FAULT,
        "a media error, may be retried"
    );
    assert_eq!(h.ctrl.lba_size(NS1), Some(512), "old format kept");
    assert!(h.changed_namespaces(false).is_empty());
    h.disk.fail = false;
    assert_status(&h.format(NS1, LBAF1), Status::SUCCESS);
}

#[test]
fn format_raises_a_notice() {
    let mut h = Host::ready();
    h.namespace_notices(true);
    aer(&mut h, 0xa0);
    h.submit(0, &{
        let mut s = Sqe::new(admin_opcode::FORMAT_NVM, 0xf1);
        s.nsid = NS2;
        s
    });
    h.run();
    let c = h.reap(0);
    assert_eq!(c.len(), 2, "format and notice: {c:x?}");
    assert_eq!((c[0].cid, c[0].status), (0xf1, Status::SUCCESS));
    assert_eq!((c[1].cid, c[1].result), (0xa0, NOTICE));
    assert_eq!(h.changed_namespaces(false), vec![2]);
}

// ---------------------------------------------------------------------------------------------
// A random walk over attachment, formats, I/O, log reads, event requests and resets, checked
// against a reference model.

/// Namespace 1: 64 blocks of 512 bytes; 2: 8 of 4096; 3: 3 of 512 (too small for 4 KiB).
const PROP_NS: [NamespaceConfig; 3] = [
    NamespaceConfig {
        lba_size: 512,
        blocks: 64,
    },
    NamespaceConfig {
        lba_size: 4096,
        blocks: 8,
    },
    NamespaceConfig {
        lba_size: 512,
        blocks: 3,
    },
];

#[derive(Clone, Debug)]
enum NsOp {
    Attach(u32),
    Detach(u32),
    Format { nsid: u32, lbaf: u32 },
    Io { write: bool, nsid: u32, slba: u64 },
    ReadLog { rae: bool },
    Aer,
    Notices(bool),
    Reset,
}

fn nsid() -> impl Strategy<Value = u32> {
    prop::sample::select(vec![0u32, 1, 2, 3, 4])
}

fn ns_op() -> impl Strategy<Value = NsOp> {
    prop_oneof![
        3 => nsid().prop_map(NsOp::Attach),
        3 => nsid().prop_map(NsOp::Detach),
        2 => (prop_oneof![nsid(), Just(0xffff_ffff)], 0u32..3)
            .prop_map(|(nsid, lbaf)| NsOp::Format { nsid, lbaf }),
        3 => (any::<bool>(), nsid(), 0u64..80).prop_map(|(write, nsid, slba)| NsOp::Io { write, nsid, slba }),
        2 => any::<bool>().prop_map(|rae| NsOp::ReadLog { rae }),
        2 => Just(NsOp::Aer),
        1 => any::<bool>().prop_map(NsOp::Notices),
        1 => Just(NsOp::Reset),
    ]
}

/// What the controller should look like.
#[derive(Debug)]
struct Model {
    attached: [bool; 3],
    shift: [u32; 3],
    changed: BTreeSet<u32>,
    notices: bool,
    pending: bool,
    masked: bool,
    aers: u32,
}

impl Model {
    fn new() -> Model {
        Model {
            attached: [true; 3],
            shift: [9, 12, 9],
            changed: BTreeSet::new(),
            notices: false,
            pending: false,
            masked: false,
            aers: 0,
        }
    }

    fn allocated(nsid: u32) -> bool {
        (1..=3).contains(&nsid)
    }

    fn blocks(&self, nsid: u32) -> u64 {
        let i = nsid as usize - 1;
        let bytes = PROP_NS[i].blocks * u64::from(PROP_NS[i].lba_size);
        bytes >> self.shift[i]
    }

    fn change(&mut self, nsid: u32) {
        self.changed.insert(nsid);
        if self.notices && !self.masked {
            self.pending = true;
        }
    }

    /// The notice the controller reports at its next run, if any.
    fn deliver(&mut self) -> bool {
        if self.pending && self.aers > 0 {
            self.pending = false;
            self.masked = true;
            self.aers -= 1;
            true
        } else {
            false
        }
    }
}

/// Runs the controller and reaps the admin queue: the completions of commands, and the
/// number of notices.
fn settle(h: &mut Host) -> (Vec<Cqe>, u32) {
    h.run();
    let mut done = Vec::new();
    let mut notices = 0;
    for c in h.reap(0) {
        if c.cid >= 0xa000 {
            assert_eq!(c.result, NOTICE);
            notices += 1;
        } else {
            done.push(c);
        }
    }
    (done, notices)
}

fn admin(h: &mut Host, s: &Sqe) -> (Cqe, u32) {
    h.submit(0, s);
    let (done, n) = settle(h);
    assert_eq!(done.len(), 1, "{done:x?}");
    (done[0], n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn namespace_walk_matches_the_model(ops in proptest::collection::vec(ns_op(), 1..60)) {
        let mut h = Host::with(&Config { namespaces: &PROP_NS, ..config() });
        h.enable(32, 32, 0);
        h.setup_io(1, 16, 1);
        let mut m = Model::new();
        let mut next_aer = 0xa000u16;
        for op in &ops {
            let mut notices = 0;
            match *op {
                NsOp::Attach(n) | NsOp::Detach(n) => {
                    let attach = matches!(op, NsOp::Attach(_));
                    let r = if attach {
                        h.ctrl.attach_namespace(n)
                    } else {
                        h.ctrl.detach_namespace(n)
                    };
                    let expect = if !Model::allocated(n) {
                        Err(NsError::Invalid)
                    } else if m.attached[n as usize - 1] == attach {
                        Err(if attach { NsError::AlreadyAttached } else { NsError::NotAttached })
                    } else {
                        m.attached[n as usize - 1] = attach;
                        m.change(n);
                        Ok(())
                    };
                    prop_assert_eq!(r, expect);
                    notices = settle(&mut h).1;
                }
                NsOp::Format { nsid, lbaf } => {
                    let mut s = Sqe::new(admin_opcode::FORMAT_NVM, 0x80);
                    s.nsid = nsid;
                    s.cdw10 = lbaf;
                    let (c, n) = admin(&mut h, &s);
                    notices = n;
                    let targets: Vec<u32> = if nsid == 0xffff_ffff {
                        (1..=3).filter(|&n| m.attached[n as usize - 1]).collect()
                    } else {
                        vec![nsid]
                    };
                    let shift = [9, 12].get(lbaf as usize).copied();
                    let expect = if targets.iter().any(|&n| !Model::allocated(n) || !m.attached[n as usize - 1]) {
                        Status::INVALID_NAMESPACE
                    } else if shift.is_none() || (shift == Some(12) && targets.contains(&3)) {
                        Status::INVALID_FORMAT
                    } else {
                        for &n in &targets {
                            m.shift[n as usize - 1] = shift.unwrap();
                            m.change(n);
                            prop_assert!(h.disk.ns[n as usize - 1].iter().all(|&b| b == 0));
                        }
                        Status::SUCCESS
                    };
                    prop_assert_eq!(c.status.code(), expect.code(), "{:?}", op);
                }
                NsOp::Io { write, nsid, slba } => {
                    let len = if Model::allocated(nsid) { 1u64 << m.shift[nsid as usize - 1] } else { 512 };
                    let buf = h.buffer(len, 0, 0);
                    buf.fill(&mut h.mem, &pattern(len as usize, slba as u8));
                    let opcode = if write { io_opcode::WRITE } else { io_opcode::READ };
                    let c = h.exec(1, &rw(opcode, 0x10, nsid, slba, 0, &buf));
                    let expect = if !Model::allocated(nsid) || !m.attached[nsid as usize - 1] {
                        Status::INVALID_NAMESPACE
                    } else if slba >= m.blocks(nsid) {
                        Status::LBA_OUT_OF_RANGE
                    } else {
                        Status::SUCCESS
                    };
                    prop_assert_eq!(c.status.code(), expect.code(), "{:?}", op);
                }
                NsOp::ReadLog { rae } => {
                    let buf = h.buffer(4096, 0, 0);
                    let mut s = Sqe::new(admin_opcode::GET_LOG_PAGE, 0x40);
                    s.prp1 = buf.prp1;
                    s.prp2 = buf.prp2;
                    s.cdw10 = 1023 << 16 | u32::from(rae) << 15 | u32::from(log_id::CHANGED_NAMESPACES);
                    let (c, n) = admin(&mut h, &s);
                    notices = n;
                    prop_assert_eq!(c.status, Status::SUCCESS);
                    let l = buf.read(&h.mem);
                    let got: Vec<u32> = l.chunks_exact(4)
                        .map(|d| u32::from_le_bytes(d.try_into().unwrap()))
                        .take_while(|&n| n != 0)
                        .collect();
                    let want: Vec<u32> = m.changed.iter().copied().collect();
                    prop_assert_eq!(got, want);
                    prop_assert!(l[m.changed.len() * 4..].iter().all(|&b| b == 0));
                    if !rae {
                        m.changed.clear();
                        m.pending = false;
                        m.masked = false;
                    }
                }
                NsOp::Aer => {
                    // A fifth request would be refused; the model keeps to the limit.
                    if m.aers < AER_SLOTS as u32 {
                        h.submit(0, &Sqe::new(admin_opcode::ASYNC_EVENT_REQUEST, next_aer));
                        next_aer += 1;
                        m.aers += 1;
                    }
                    let (done, n) = settle(&mut h);
                    prop_assert!(done.is_empty(), "requests are held: {:?}", done);
                    notices = n;
                }
                NsOp::Notices(on) => {
                    let mut s = Sqe::new(admin_opcode::SET_FEATURES, 0x0b);
                    s.cdw10 = u32::from(feature::ASYNC_EVENT_CONFIG);
                    s.cdw11 = u32::from(on) << 8;
                    let (c, n) = admin(&mut h, &s);
                    notices = n;
                    prop_assert_eq!(c.status, Status::SUCCESS);
                    m.notices = on;
                }
                NsOp::Reset => {
                    h.reset();
                    h.setup_io(1, 16, 1);
                    m.aers = 0;
                    m.pending = false;
                    m.masked = false;
                    m.notices = false;
                }
            }
            let expected = u32::from(m.deliver());
            prop_assert_eq!(notices, expected, "notices after {:?}: {:?}", op, m);
            for n in 1..=4u32 {
                let attached = Model::allocated(n) && m.attached[n as usize - 1];
                prop_assert_eq!(h.ctrl.is_attached(n), attached);
                let size = Model::allocated(n).then(|| 1u32 << m.shift[n as usize - 1]);
                prop_assert_eq!(h.ctrl.lba_size(n), size);
            }
            let want: Vec<u32> = (1..=3).filter(|&n| m.attached[n as usize - 1]).collect();
            prop_assert_eq!(active_list(&mut h, 0), want);
        }
    }
}
