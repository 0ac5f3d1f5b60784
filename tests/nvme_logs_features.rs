// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: the Commands Supported and Effects log, the Timestamp feature and
//! what Identify Controller advertises for them.

#[path = "nvme_util.rs"]
mod util;

use nvmock_model::nvme::*;
use proptest::prelude::*;
use util::*;

const CSUPP: u32 = 1;
const LBCC: u32 = 1 << 1;
const NCC: u32 = 1 << 2;
const NIC: u32 = 1 << 3;
const CCC: u32 = 1 << 4;
const CSE_ANY_NAMESPACE: u32 = 0b010 << 16;

fn effects(h: &mut Host) -> Vec<u32> {
    let (c, l) = h.log(log_id::COMMAND_EFFECTS, 4096, 0, false, 0);
    assert_status(&c, Status::SUCCESS);
    l.chunks_exact(4)
        .map(|d| u32::from_le_bytes(d.try_into().unwrap()))
        .collect()
}

#[test]
fn identify_advertises_the_new_features() {
    let mut h = Host::ready();
    let (_, id) = h.identify(1, 0);
    assert_eq!(
        le16(&id, 256),
        0b1110,
        "OACS: Format NVM, firmware download/commit, namespace management"
    );
    assert_eq!(id[261] & 0b110, 0b110, "LPA: effects log, extended data");
    assert_eq!(le16(&id, 520) & 1 << 6, 1 << 6, "ONCS: timestamp");
    assert_eq!(le32(&id, 92), 1 << 8, "OAES: namespace attribute notices");
}

#[test]
fn commands_supported_and_effects() {
    let mut h = Host::ready();
    let e = effects(&mut h);
    assert_eq!(e.len(), 1024);
    let (admin, io) = e.split_at(256);
    let io = &io[..256];
    assert!(e[512..].iter().all(|&v| v == 0), "reserved");
    assert_eq!(
        admin[usize::from(admin_opcode::FORMAT_NVM)],
        CSUPP | LBCC | NCC | CSE_ANY_NAMESPACE
    );
    assert_eq!(
        admin[usize::from(admin_opcode::FIRMWARE_COMMIT)],
        CSUPP | CCC
    );
    assert_eq!(
        admin[usize::from(admin_opcode::FIRMWARE_IMAGE_DOWNLOAD)],
        CSUPP
    );
    for op in [
        admin_opcode::DELETE_IO_SQ,
        admin_opcode::CREATE_IO_SQ,
        admin_opcode::GET_LOG_PAGE,
        admin_opcode::DELETE_IO_CQ,
        admin_opcode::CREATE_IO_CQ,
        admin_opcode::IDENTIFY,
        admin_opcode::ABORT,
        admin_opcode::SET_FEATURES,
        admin_opcode::GET_FEATURES,
        admin_opcode::ASYNC_EVENT_REQUEST,
        admin_opcode::KEEP_ALIVE,
    ] {
        assert_eq!(admin[usize::from(op)], CSUPP, "admin {op:#x}");
    }
    assert_eq!(
        admin[usize::from(admin_opcode::NAMESPACE_MANAGEMENT)],
        CSUPP | LBCC | NCC | NIC
    );
    assert_eq!(
        admin[usize::from(admin_opcode::NAMESPACE_ATTACHMENT)],
        CSUPP | NIC
    );
    let inventory = [
        admin_opcode::NAMESPACE_MANAGEMENT,
        admin_opcode::NAMESPACE_ATTACHMENT,
    ];
    assert!(
        (0..=255u8).all(|op| inventory.contains(&op) || admin[usize::from(op)] & NIC == 0),
        "only namespace management and attachment change the inventory"
    );
    for (op, want) in [
        (io_opcode::FLUSH, CSUPP),
        (io_opcode::WRITE, CSUPP | LBCC),
        (io_opcode::READ, CSUPP),
        (io_opcode::COMPARE, CSUPP),
        (io_opcode::WRITE_ZEROES, CSUPP | LBCC),
        (io_opcode::DATASET_MANAGEMENT, CSUPP | LBCC),
    ] {
        assert_eq!(io[usize::from(op)], want, "I/O {op:#x}");
    }
    assert_eq!(admin.iter().filter(|&&v| v != 0).count(), 16);
    assert_eq!(io.iter().filter(|&&v| v != 0).count(), 6);
}

/// Every opcode the log marks supported is executed; every other one is Invalid Command
/// Opcode. The commands carry NSID 0 and zero fields, so none changes anything.
#[test]
fn effects_log_matches_what_executes() {
    let mut h = Host::ready_io();
    let e = effects(&mut h);
    for op in 0..=255u8 {
        if op == admin_opcode::ASYNC_EVENT_REQUEST {
            continue; // held, not completed
        }
        let c = h.admin(&Sqe::new(op, 0x100 + u16::from(op)));
        let supported = c.status.code() != Status::INVALID_OPCODE.code();
        assert_eq!(
            e[usize::from(op)] & CSUPP != 0,
            supported,
            "admin {op:#x}: {c:x?}"
        );
    }
    for op in 0..=255u8 {
        let c = h.exec(1, &Sqe::new(op, 0x200 + u16::from(op)));
        let supported = c.status.code() != Status::INVALID_OPCODE.code();
        assert_eq!(
            e[256 + usize::from(op)] & CSUPP != 0,
            supported,
            "I/O {op:#x}: {c:x?}"
        );
    }
}

/// Get Features Timestamp (SEL `sel`) through a buffer starting `offset` into its page.
fn get_timestamp(h: &mut Host, sel: u32, offset: u64) -> (Cqe, [u8; 8]) {
    let buf = h.buffer(8, offset, 0);
    let mut s = Sqe::new(admin_opcode::GET_FEATURES, 0x7e);
    s.cdw10 = sel << 8 | u32::from(feature::TIMESTAMP);
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    let c = h.admin(&s);
    (c, buf.read(&h.mem).try_into().unwrap())
}

/// The timestamp and the origin of Get Features Timestamp.
fn timestamp(h: &mut Host) -> (u64, u8) {
    let (c, d) = get_timestamp(h, 0, 0);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(c.result, 0);
    assert_eq!(d[7], 0, "reserved");
    assert_eq!(d[6] & !0b1110, 0, "Synch 0, reserved bits clear");
    (le64(&d, 0) & ((1 << 48) - 1), d[6] >> 1 & 7)
}

fn set_timestamp(h: &mut Host, data: [u8; 8], offset: u64) -> Cqe {
    let buf = h.buffer(8, offset, 0);
    buf.fill(&mut h.mem, &data);
    let mut s = Sqe::new(admin_opcode::SET_FEATURES, 0x7f);
    s.cdw10 = u32::from(feature::TIMESTAMP);
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    h.admin(&s)
}

#[test]
fn timestamp_feature() {
    let mut h = Host::ready();
    // Not set: milliseconds since the controller was created (origin 000b).
    assert_eq!(timestamp(&mut h), (0, 0));
    h.ctrl.advance_time(1234);
    assert_eq!(timestamp(&mut h), (1234, 0));

    let t = 0x0123_4567_89abu64;
    assert_status(&set_timestamp(&mut h, t.to_le_bytes(), 0), Status::SUCCESS);
    assert_eq!(timestamp(&mut h), (t, 1), "origin 001b: set by the host");
    h.ctrl.advance_time(1000);
    assert_eq!(timestamp(&mut h), (t + 1000, 1));
    // Bytes 7:6 of Set are not part of the timestamp; the data may cross a page.
    let mut d = (t << 4).to_le_bytes();
    d[6] = 0xff;
    d[7] = 0xff;
    assert_status(&set_timestamp(&mut h, d, 4092), Status::SUCCESS);
    assert_eq!(timestamp(&mut h), (t << 4 & ((1 << 48) - 1), 1));
    let (c, d2) = get_timestamp(&mut h, 0, 4092);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(le64(&d2, 0) & ((1 << 48) - 1), t << 4 & ((1 << 48) - 1));
    // 48 bits wrap.
    assert_status(
        &set_timestamp(&mut h, ((1u64 << 48) - 1).to_le_bytes(), 0),
        Status::SUCCESS,
    );
    h.ctrl.advance_time(2);
    assert_eq!(timestamp(&mut h), (1, 1));

    // Default and saved values: zero, origin 000b; capabilities: changeable.
    for sel in [1, 2] {
        let (c, d) = get_timestamp(&mut h, sel, 0);
        assert_status(&c, Status::SUCCESS);
        assert_eq!(d, [0; 8]);
    }
    let (c, _) = get_timestamp(&mut h, 3, 0);
    assert_eq!(c.result, 4);
    // Not saveable; bad PRPs.
    let mut s = Sqe::new(admin_opcode::SET_FEATURES, 1);
    s.cdw10 = 1 << 31 | u32::from(feature::TIMESTAMP);
    assert_status(&h.admin(&s), Status::FEATURE_NOT_SAVEABLE);
    s.cdw10 = u32::from(feature::TIMESTAMP);
    s.prp1 = DATA_BASE + 1;
    assert_status(&h.admin(&s), Status::INVALID_PRP_OFFSET);
    let mut g = Sqe::new(admin_opcode::GET_FEATURES, 2);
    g.cdw10 = u32::from(feature::TIMESTAMP);
    g.prp1 = 1 << 40;
    assert_eq!(h.admin(&g).status, Status::DATA_TRANSFER_ERROR);
    assert_eq!(timestamp(&mut h), (1, 1), "failed commands change nothing");

    // A controller reset starts again from zero, origin 000b.
    h.reset();
    assert_eq!(timestamp(&mut h), (0, 0));
    h.ctrl.advance_time(5);
    assert_eq!(timestamp(&mut h), (5, 0));
}

#[derive(Clone, Debug)]
enum TsOp {
    Set(u64),
    Advance(u64),
    Reset,
    Get,
}

fn ts_op() -> impl Strategy<Value = TsOp> {
    prop_oneof![
        2 => any::<u64>().prop_map(TsOp::Set),
        3 => prop_oneof![0u64..10_000, any::<u64>()].prop_map(TsOp::Advance),
        1 => Just(TsOp::Reset),
        3 => Just(TsOp::Get),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// The timestamp is the last value set (or zero at the last reset) plus the time passed
    /// since, modulo 2^48, with the matching origin.
    #[test]
    fn timestamp_counts_from_the_last_set(ops in proptest::collection::vec(ts_op(), 1..40)) {
        let mut h = Host::ready();
        let mask = (1u64 << 48) - 1;
        let (mut base, mut since, mut origin) = (0u64, 0u64, 0u8);
        for op in &ops {
            match *op {
                TsOp::Set(v) => {
                    prop_assert_eq!(set_timestamp(&mut h, v.to_le_bytes(), 0).status, Status::SUCCESS);
                    (base, since, origin) = (v & mask, 0, 1);
                }
                TsOp::Advance(ms) => {
                    h.ctrl.advance_time(ms);
                    since = since.wrapping_add(ms);
                }
                TsOp::Reset => {
                    h.reset();
                    (base, since, origin) = (0, 0, 0);
                }
                TsOp::Get => {}
            }
            prop_assert_eq!(timestamp(&mut h), (base.wrapping_add(since) & mask, origin));
        }
    }
}
