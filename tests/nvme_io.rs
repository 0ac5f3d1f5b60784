// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: I/O commands, PRP transfers, queue wrap-around, back-pressure,
//! interrupts and the timing hook.

#[path = "nvme_util.rs"]
mod util;

use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;
use util::*;

const NS1: u32 = 1; // 512-byte blocks
const NS2: u32 = 2; // 4096-byte blocks

fn lba_size(nsid: u32) -> u64 {
    u64::from(NAMESPACES[nsid as usize - 1].lba_size)
}

/// Writes `blocks` blocks at `slba` through a buffer laid out by `offset`/`list_offset`, reads
/// them back through a differently laid out buffer, and checks the namespace contents.
fn round_trip(h: &mut Host, nsid: u32, slba: u64, blocks: u32, offset: u64, list_offset: u64) {
    let len = u64::from(blocks) * lba_size(nsid);
    let data = pattern(len as usize, slba as u8 ^ blocks as u8);
    let wbuf = h.buffer(len, offset, list_offset);
    wbuf.fill(&mut h.mem, &data);
    let c = h.exec(
        1,
        &rw(io_opcode::WRITE, 1, nsid, slba, (blocks - 1) as u16, &wbuf),
    );
    assert_status(&c, Status::SUCCESS);
    let at = (slba * lba_size(nsid)) as usize;
    assert!(
        h.disk.ns[nsid as usize - 1][at..at + len as usize] == data[..],
        "namespace contents"
    );

    let rbuf = h.buffer(len, (offset + 8) % h.page, (list_offset / 2) & !7);
    let c = h.exec(
        1,
        &rw(io_opcode::READ, 2, nsid, slba, (blocks - 1) as u16, &rbuf),
    );
    assert_status(&c, Status::SUCCESS);
    assert!(rbuf.read(&h.mem) == data, "read back");
}

#[test]
fn write_read_512() {
    let mut h = Host::ready_io();
    // One block; two pages (PRP2 a data page); a list; a list whose first page has two slots,
    // so it chains.
    round_trip(&mut h, NS1, 0, 1, 0, 0);
    round_trip(&mut h, NS1, 7, 1, 4092 - 508, 0);
    round_trip(&mut h, NS1, 100, 9, 512, 0);
    round_trip(&mut h, NS1, 2048 - 40, 40, 0, 0);
    round_trip(&mut h, NS1, 300, 64, 1024, 4096 - 16);
    round_trip(&mut h, NS1, 1000, 255, 4, 4096 - 8 * 7);
}

#[test]
fn write_read_4096() {
    let mut h = Host::ready_io();
    round_trip(&mut h, NS2, 0, 1, 0, 0);
    round_trip(&mut h, NS2, 1, 1, 2048, 0);
    round_trip(&mut h, NS2, 2, 3, 0, 0);
    round_trip(&mut h, NS2, 1023, 1, 0, 0);
    round_trip(&mut h, NS2, 10, 17, 0, 4096 - 16);
    // 600 pages: the list spans three list pages (2 + 512 + 512 slots), chained twice.
    round_trip(&mut h, NS2, 100, 600, 0, 4096 - 16);
    // The largest transfer MDTS allows: 4 MiB.
    round_trip(&mut h, NS2, 0, 1024, 0, 0);
}

#[test]
fn write_read_with_8k_pages() {
    let mut h = Host::new();
    h.enable(8, 8, 1);
    h.setup_io(1, 16, 1);
    round_trip(&mut h, NS1, 0, 16, 0, 0);
    round_trip(&mut h, NS1, 33, 17, 4096, 0);
    round_trip(&mut h, NS2, 5, 40, 0, 8192 - 24);
}

#[test]
fn io_validation() {
    let mut c = config();
    c.mdts = 1;
    let mut h = Host::with(&c);
    h.enable(8, 8, 0);
    h.setup_io(1, 16, 1);
    let buf = h.buffer(8192, 0, 0);
    let cases: [(Sqe, Status); 12] = [
        (
            rw(io_opcode::READ, 1, 0, 0, 0, &buf),
            Status::INVALID_NAMESPACE,
        ),
        (
            rw(io_opcode::WRITE, 1, 3, 0, 0, &buf),
            Status::INVALID_NAMESPACE,
        ),
        (
            rw(io_opcode::COMPARE, 1, 0xffff_ffff, 0, 0, &buf),
            Status::INVALID_NAMESPACE,
        ),
        (
            rw(io_opcode::WRITE_ZEROES, 1, 9, 0, 0, &buf),
            Status::INVALID_NAMESPACE,
        ),
        (
            rw(io_opcode::DATASET_MANAGEMENT, 1, 0, 0, 0, &buf),
            Status::INVALID_NAMESPACE,
        ),
        (
            rw(io_opcode::READ, 1, NS2, 1023, 1, &buf),
            Status::LBA_OUT_OF_RANGE,
        ),
        (
            rw(io_opcode::READ, 1, NS2, 1024, 0, &buf),
            Status::LBA_OUT_OF_RANGE,
        ),
        (
            rw(io_opcode::WRITE, 1, NS1, u64::MAX, 0, &buf),
            Status::LBA_OUT_OF_RANGE,
        ),
        (
            rw(io_opcode::WRITE_ZEROES, 1, NS1, 2000, 48, &buf),
            Status::LBA_OUT_OF_RANGE,
        ),
        // MDTS of 8 KiB: three 4 KiB blocks or seventeen 512-byte ones are too many.
        (
            rw(io_opcode::READ, 1, NS2, 0, 2, &buf),
            Status::INVALID_FIELD,
        ),
        (
            rw(io_opcode::WRITE, 1, NS1, 0, 16, &buf),
            Status::INVALID_FIELD,
        ),
        (rw(0x7e, 1, NS1, 0, 0, &buf), Status::INVALID_OPCODE),
    ];
    for (s, st) in cases {
        assert_status(&h.exec(1, &s), st);
    }
    // The largest transfer is fine, and Write Zeroes is not limited by MDTS.
    assert_status(
        &h.exec(1, &rw(io_opcode::READ, 1, NS2, 0, 1, &buf)),
        Status::SUCCESS,
    );
    let c = h.exec(1, &rw(io_opcode::WRITE_ZEROES, 1, NS1, 0, 2047, &buf));
    assert_status(&c, Status::SUCCESS);
    for op in [0x03, 0x04, 0x0a, 0x0d, 0x11, 0x80, 0xff] {
        assert_status(&h.exec(1, &Sqe::new(op, 3)), Status::INVALID_OPCODE);
    }
    let mut sgl = rw(io_opcode::READ, 4, NS1, 0, 0, &buf);
    sgl.cdw0 |= 1 << 14;
    assert_status(&h.exec(1, &sgl), Status::INVALID_FIELD);
    let mut fused = rw(io_opcode::COMPARE, 4, NS1, 0, 0, &buf);
    fused.cdw0 |= 1 << 8;
    assert_status(&h.exec(1, &fused), Status::INVALID_FIELD);
}

#[test]
fn prp_errors() {
    let mut h = Host::ready_io();
    let two = h.buffer(8192, 0, 0);
    let list = h.buffer(4096 * 4, 0, 0);
    let read = |b: &Buffer, blocks: u16| rw(io_opcode::READ, 5, NS2, 0, blocks - 1, b);

    let mut s = read(&two, 1);
    s.prp1 |= 2;
    assert_status(&h.exec(1, &s), Status::INVALID_PRP_OFFSET);
    let mut s = read(&two, 2);
    s.prp2 |= 0x200;
    assert_status(&h.exec(1, &s), Status::INVALID_PRP_OFFSET);
    // A list pointer must be qword aligned.
    let mut s = read(&list, 4);
    s.prp2 |= 4;
    assert_status(&h.exec(1, &s), Status::INVALID_PRP_OFFSET);
    // A misaligned entry in a list.
    let entry = list.prp2 + 8;
    let good = u64::from_le_bytes(h.mem.get(entry, 8).try_into().unwrap());
    h.mem.put_u64(entry, good + 0x10);
    assert_status(&h.exec(1, &read(&list, 4)), Status::INVALID_PRP_OFFSET);
    h.mem.put_u64(entry, good);
    assert_status(&h.exec(1, &read(&list, 4)), Status::SUCCESS);
    // A misaligned chain pointer.
    let chained = h.buffer(4096 * 4, 0, 4096 - 16);
    let link = chained.prp2 + 8;
    let good = u64::from_le_bytes(h.mem.get(link, 8).try_into().unwrap());
    h.mem.put_u64(link, good + 8);
    assert_status(&h.exec(1, &read(&chained, 4)), Status::INVALID_PRP_OFFSET);
    h.mem.put_u64(link, good);
    assert_status(&h.exec(1, &read(&chained, 4)), Status::SUCCESS);

    // Unreachable list or data: a transfer error, which may be retried (no DNR).
    let mut s = read(&list, 4);
    s.prp2 = 1 << 40;
    let c = h.exec(1, &s);
    assert_eq!(c.status, Status::DATA_TRANSFER_ERROR);
    assert!(!c.status.dnr());
    let mut s = read(&two, 2);
    s.prp2 = 1 << 40;
    assert_eq!(h.exec(1, &s).status, Status::DATA_TRANSFER_ERROR);
    let mut s = rw(io_opcode::WRITE, 6, NS2, 0, 0, &two);
    s.prp1 = MEM_SIZE as u64;
    assert_eq!(h.exec(1, &s).status, Status::DATA_TRANSFER_ERROR);
}

#[test]
fn backing_errors() {
    let mut h = Host::ready_io();
    let buf = h.buffer(4096, 0, 0);
    h.disk.fail = true;
    let c = h.exec(1, &rw(io_opcode::READ, 1, NS2, 0, 0, &buf));
    assert_eq!(c.status, Status::UNRECOVERED_READ_ERROR);
    assert_eq!(c.status.code(), (SCT_MEDIA, 0x81));
    let c = h.exec(1, &rw(io_opcode::WRITE, 2, NS2, 0, 0, &buf));
    assert_eq!(c.status, Status::WRITE_FAULT);
    let c = h.exec(1, &rw(io_opcode::WRITE_ZEROES, 3, NS2, 0, 0, &buf));
    assert_eq!(c.status, Status::WRITE_FAULT);
    let c = h.exec(1, &rw(io_opcode::FLUSH, 4, NS2, 0, 0, &buf));
    assert_eq!(c.status, Status::WRITE_FAULT);
    h.disk.fail = false;
    assert_status(
        &h.exec(1, &rw(io_opcode::READ, 5, NS2, 0, 0, &buf)),
        Status::SUCCESS,
    );
}

#[test]
fn write_zeroes_and_deallocate() {
    let mut h = Host::ready_io();
    h.disk.ns[0].fill(0xaa);
    let buf = h.buffer(4096, 0, 0);
    let c = h.exec(1, &rw(io_opcode::WRITE_ZEROES, 1, NS1, 10, 4, &buf));
    assert_status(&c, Status::SUCCESS);
    let d = &h.disk.ns[0];
    assert!(d[..5120].iter().all(|&b| b == 0xaa));
    assert!(d[5120..7680].iter().all(|&b| b == 0));
    assert!(d[7680..].iter().all(|&b| b == 0xaa));
    assert!(h.disk.deallocated.is_empty());
    let mut s = rw(io_opcode::WRITE_ZEROES, 2, NS1, 20, 0, &buf);
    s.cdw12 |= 1 << 25;
    assert_status(&h.exec(1, &s), Status::SUCCESS);
    assert_eq!(h.disk.deallocated, vec![(NS1, 20 * 512, 512)]);
}

fn dsm(h: &mut Host, cid: u16, nsid: u32, ranges: &[(u32, u64)], attrs: u32) -> Cqe {
    let mut raw = Vec::new();
    for &(nlb, slba) in ranges {
        raw.extend_from_slice(&0u32.to_le_bytes());
        raw.extend_from_slice(&nlb.to_le_bytes());
        raw.extend_from_slice(&slba.to_le_bytes());
    }
    let buf = h.buffer(raw.len() as u64, 4096 - 32, 0);
    buf.fill(&mut h.mem, &raw);
    let mut s = Sqe::new(io_opcode::DATASET_MANAGEMENT, cid);
    s.nsid = nsid;
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    s.cdw10 = ranges.len() as u32 - 1;
    s.cdw11 = attrs;
    h.exec(1, &s)
}

#[test]
fn dataset_management() {
    let mut h = Host::ready_io();
    h.disk.ns[1].fill(0x55);
    // Hints only: nothing happens.
    assert_status(&dsm(&mut h, 1, NS2, &[(4, 0)], 0b11), Status::SUCCESS);
    assert!(h.disk.deallocated.is_empty());
    // One range out of bounds: nothing is deallocated.
    let c = dsm(&mut h, 2, NS2, &[(4, 0), (2, 1023)], 0b100);
    assert_status(&c, Status::LBA_OUT_OF_RANGE);
    assert!(h.disk.deallocated.is_empty());
    let c = dsm(&mut h, 3, NS2, &[(1, u64::MAX)], 0b100);
    assert_status(&c, Status::LBA_OUT_OF_RANGE);
    // Three ranges, one empty.
    let c = dsm(&mut h, 4, NS2, &[(4, 0), (0, 7), (1, 1023)], 0b100);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(
        h.disk.deallocated,
        vec![(NS2, 0, 4 * 4096), (NS2, 1023 * 4096, 4096)]
    );
    assert!(h.disk.ns[1][..4 * 4096].iter().all(|&b| b == 0));
    assert!(h.disk.ns[1][4 * 4096..1023 * 4096]
        .iter()
        .all(|&b| b == 0x55));
    // 256 ranges: a full page of them.
    let ranges: Vec<(u32, u64)> = (0..256).map(|i| (1, i * 4)).collect();
    assert_status(&dsm(&mut h, 5, NS1, &ranges, 0b100), Status::SUCCESS);
    assert_eq!(h.disk.deallocated.len(), 2 + 256);
    assert_status(
        &dsm(&mut h, 6, 3, &ranges, 0b100),
        Status::INVALID_NAMESPACE,
    );
}

#[test]
fn compare() {
    let mut h = Host::ready_io();
    let data = pattern(3 * 4096, 9);
    h.disk.ns[1][4096..4 * 4096].copy_from_slice(&data);
    let buf = h.buffer(3 * 4096, 0, 0);
    buf.fill(&mut h.mem, &data);
    let c = h.exec(1, &rw(io_opcode::COMPARE, 1, NS2, 1, 2, &buf));
    assert_status(&c, Status::SUCCESS);
    h.disk.ns[1][3 * 4096 + 100] ^= 1;
    let c = h.exec(1, &rw(io_opcode::COMPARE, 2, NS2, 1, 2, &buf));
    assert_status(&c, Status::COMPARE_FAILURE);
    assert_eq!(c.status.code(), (SCT_MEDIA, 0x85));
    assert!(c.status.dnr());
}

#[test]
fn flush() {
    let mut h = Host::ready_io();
    let mut s = Sqe::new(io_opcode::FLUSH, 1);
    s.nsid = NS2;
    assert_status(&h.exec(1, &s), Status::SUCCESS);
    s.nsid = 0xffff_ffff;
    assert_status(&h.exec(1, &s), Status::SUCCESS);
    assert_eq!(h.disk.flushes, vec![2, 1, 2]);
    for nsid in [0, 3] {
        s.nsid = nsid;
        assert_status(&h.exec(1, &s), Status::INVALID_NAMESPACE);
    }
}

fn flush_cmd(cid: u16) -> Sqe {
    let mut s = Sqe::new(io_opcode::FLUSH, cid);
    s.nsid = NS1;
    s
}

#[test]
fn phase_flips_on_wrap() {
    let mut h = Host::ready();
    h.setup_io(1, 4, 1);
    for i in 0..13u16 {
        let c = h.exec(1, &flush_cmd(i));
        assert_status(&c, Status::SUCCESS);
        assert_eq!(c.phase, (i / 4) % 2 == 0, "phase of completion {i}");
        assert_eq!((c.sq_id, c.sq_head), (1, (i + 1) % 4));
    }
    assert_eq!(h.ctrl.cq_info(1).unwrap().tail, 1);
}

#[test]
fn full_cq_back_pressure() {
    let mut h = Host::ready();
    // A 4-entry CQ holds 3 completions; the SQ has 16 entries.
    let c = h.admin(&Host::create_cq_cmd(1, 4, 1));
    assert_status(&c, Status::SUCCESS);
    let c = h.admin(&Host::create_sq_cmd(1, 16, 1));
    assert_status(&c, Status::SUCCESS);
    h.sq[1] = HostQueue {
        base: Host::create_sq_cmd(1, 16, 1).prp1,
        size: 16,
        ptr: 0,
        phase: true,
    };
    h.cq[1] = HostQueue {
        base: Host::create_cq_cmd(1, 4, 1).prp1,
        size: 4,
        ptr: 0,
        phase: true,
    };
    for cid in 0..10 {
        h.push(1, &flush_cmd(cid));
    }
    h.ring(1);
    let p = h.run();
    assert_eq!((p.fetched, p.completed, p.more), (3, 3, false));
    assert_eq!(
        h.ctrl.sq_info(1).unwrap().head,
        3,
        "no fetch while the CQ is full"
    );
    // The fourth slot was never written.
    let slot3 = h.cq[1].base + 3 * 16;
    assert_eq!(h.mem.get(slot3, 16), &[0; 16]);
    // Nothing happens until the host frees entries.
    assert_eq!(h.run(), Progress::default());
    let mut cids = Vec::new();
    loop {
        let got = h.reap(1);
        if got.is_empty() {
            break;
        }
        assert!(got.len() <= 3);
        cids.extend(got.iter().map(|c| c.cid));
        h.run();
    }
    assert_eq!(cids, (0..10).collect::<Vec<_>>());
    assert_eq!(h.ctrl.sq_info(1).unwrap().head, 10);
}

#[test]
fn round_robin_between_queues() {
    let mut h = Host::ready();
    h.setup_io(1, 16, 1);
    h.setup_io(2, 16, 2);
    for cid in 0..4 {
        h.push(1, &flush_cmd(0x100 + cid));
        h.push(2, &flush_cmd(0x200 + cid));
    }
    h.ring(1);
    h.ring(2);
    let mut order = Vec::new();
    for _ in 0..8 {
        let p = h.ctrl.process(&mut h.mem, &mut h.disk, &mut h.irq, 1);
        assert_eq!(p.fetched, 1);
        order.extend(h.reap(1).iter().chain(h.reap(2).iter()).map(|c| c.cid));
    }
    assert_eq!(
        order,
        [0x100, 0x200, 0x101, 0x201, 0x102, 0x202, 0x103, 0x203]
    );
}

#[test]
fn budget_limits_work() {
    let mut h = Host::ready_io();
    for cid in 0..10 {
        h.push(1, &flush_cmd(cid));
    }
    h.ring(1);
    let p = h.ctrl.process(&mut h.mem, &mut h.disk, &mut h.irq, 3);
    assert_eq!((p.fetched, p.completed, p.more), (3, 3, true));
    assert!(h.ctrl.has_work(0));
    let p = h.ctrl.process(&mut h.mem, &mut h.disk, &mut h.irq, 0);
    assert_eq!((p.fetched, p.more), (0, true));
    let p = h.run();
    assert_eq!((p.fetched, p.more), (7, false));
    assert_eq!(h.reap(1).len(), 10);
}

#[test]
fn interrupts() {
    let mut h = Host::ready();
    h.setup_io(1, 16, 3);
    h.irq.0.clear();
    for cid in 0..3 {
        h.push(1, &flush_cmd(cid));
    }
    h.ring(1);
    h.run();
    assert_eq!(
        h.irq.0,
        vec![3],
        "one interrupt per processing pass and queue"
    );
    h.reap(1);

    // Masked: held until unmasked.
    h.write(INTMS, 1 << 3);
    h.submit(1, &flush_cmd(3));
    h.run();
    assert_eq!(h.irq.0, vec![3]);
    assert_eq!(h.reap(1).len(), 1);
    h.write(INTMC, 1 << 3);
    assert!(h.ctrl.has_work(0));
    h.run();
    assert_eq!(h.irq.0, vec![3, 3]);

    // A CQ created without interrupts enabled never raises one.
    let mut c = Host::create_cq_cmd(2, 8, 0);
    c.cdw11 = 1;
    assert_status(&h.admin(&c), Status::SUCCESS);
    assert_status(&h.admin(&Host::create_sq_cmd(2, 8, 2)), Status::SUCCESS);
    h.sq[2] = HostQueue {
        base: Host::create_sq_cmd(2, 8, 2).prp1,
        size: 8,
        ptr: 0,
        phase: true,
    };
    h.irq.0.clear();
    h.submit(2, &flush_cmd(9));
    h.run();
    assert!(h.irq.0.is_empty());
}

/// Delays every write by `delay`; everything else completes at once.
struct SlowWrites {
    delay: u64,
    calls: Vec<(u64, u16, u8)>,
}

impl Timing for SlowWrites {
    fn complete_at(&mut self, now: u64, sqid: u16, sqe: &Sqe, _status: Status) -> u64 {
        self.calls.push((now, sqid, sqe.opcode()));
        if sqe.opcode() == io_opcode::WRITE {
            now + self.delay
        } else {
            now
        }
    }
}

#[test]
fn timing_hook_defers_completions() {
    let mut h = Host::ready();
    h.setup_io(1, 16, 1);
    h.setup_io(2, 16, 2);
    let buf = h.buffer(4096, 0, 0);
    let mut t = SlowWrites {
        delay: 100,
        calls: Vec::new(),
    };
    h.push(1, &rw(io_opcode::WRITE, 1, NS2, 0, 0, &buf));
    h.push(1, &flush_cmd(2));
    h.ring(1);
    h.submit(2, &flush_cmd(3));
    let mut go = |h: &mut Host, now| {
        h.ctrl
            .process_timed(&mut h.mem, &mut h.disk, &mut h.irq, &mut t, now, 100)
    };
    let p = go(&mut h, 10);
    // The write executed (data is on the namespace) and its completion waits; the flush
    // behind it in the same queue is not held up, nor is the other queue.
    assert_eq!(
        (p.fetched, p.completed, p.more, p.next_due),
        (3, 2, false, Some(110))
    );
    assert_eq!(h.reap(1).iter().map(|c| c.cid).collect::<Vec<_>>(), [2]);
    assert_eq!(h.reap(2).len(), 1);
    assert_eq!(h.ctrl.held_completions(), 1);
    assert!(!h.ctrl.has_work(109));
    assert!(h.ctrl.has_work(110));
    let p = go(&mut h, 50);
    assert_eq!((p.fetched, p.completed, p.next_due), (0, 0, Some(110)));
    let p = go(&mut h, 110);
    assert_eq!((p.fetched, p.completed, p.next_due), (0, 1, None));
    assert_eq!(h.reap(1).iter().map(|c| c.cid).collect::<Vec<_>>(), [1]);
    assert_eq!(h.ctrl.held_completions(), 0);
    assert_eq!(
        t.calls,
        [
            (10, 1, io_opcode::WRITE),
            (10, 2, io_opcode::FLUSH),
            (10, 1, io_opcode::FLUSH)
        ]
    );
}

#[test]
fn deleting_a_queue_posts_its_held_completion() {
    let mut h = Host::ready();
    h.setup_io(1, 16, 1);
    let buf = h.buffer(4096, 0, 0);
    let mut t = SlowWrites {
        delay: 1000,
        calls: Vec::new(),
    };
    h.submit(1, &rw(io_opcode::WRITE, 1, NS2, 0, 0, &buf));
    h.ctrl
        .process_timed(&mut h.mem, &mut h.disk, &mut h.irq, &mut t, 0, 100);
    assert!(h.reap(1).is_empty());
    let mut del = Sqe::new(admin_opcode::DELETE_IO_SQ, 9);
    del.cdw10 = 1;
    h.submit(0, &del);
    h.ctrl
        .process_timed(&mut h.mem, &mut h.disk, &mut h.irq, &mut t, 1, 100);
    assert_status(&h.reap(0)[0], Status::SUCCESS);
    assert_eq!(h.reap(1)[0].cid, 1);
}
