// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: random sequences of submissions, doorbells (valid and invalid),
//! completion reaping, namespace attachment, time passing and processing with random budgets
//! and completion delays never panic, and every submitted command completes exactly once.

#[path = "nvme_util.rs"]
mod util;

use std::collections::HashMap;

use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;
use proptest::prelude::*;
use util::*;

/// Data buffers live in `[SCRATCH, SCRATCH + 8 MiB)`.
const SCRATCH: u64 = DATA_BASE;
/// A PRP list of scratch pages, which the controller may read but not write.
const LIST: u64 = 0x100_0000;
const LIST_PAGES: u64 = 1100;
/// Asynchronous Event Requests submitted at the start.
const AER_CIDS: [u16; 2] = [0xf000, 0xf001];
/// Entries of SQ 0, 1, 2 and CQ 0, 1 (SQs 1 and 2 share CQ 1).
const SQ_SIZES: [u32; 3] = [8, 8, 16];
const CQ_SIZES: [u32; 2] = [8, 4];

/// Guest memory as the controller sees it in these tests: it may read anything, but write
/// only completion queues and the scratch area, so that no random command can corrupt the
/// queues or the PRP list behind the test's back.
struct Guarded<'a> {
    mem: &'a mut Mem,
    writable: [(u64, u64); 3],
}

impl HostMemory for Guarded<'_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.mem.read(addr, buf)
    }

    fn write(&mut self, addr: u64, buf: &[u8]) -> Result<(), MemError> {
        let end = addr.checked_add(buf.len() as u64).ok_or(MemError::Denied)?;
        if self.writable.iter().any(|&(s, e)| s <= addr && end <= e) {
            self.mem.write(addr, buf)
        } else {
            Err(MemError::Denied)
        }
    }
}

/// Pseudo-random completion delays of 0 to 30 time units.
struct Delays;

impl Timing for Delays {
    fn complete_at(&mut self, now: u64, sqid: u16, sqe: &Sqe, _status: Status) -> u64 {
        let h = (u64::from(sqe.cid()) * 0x9e37_79b9 + u64::from(sqid) * 7) >> 5;
        now + h % 4 * 10
    }
}

#[derive(Clone, Debug)]
struct Cmd {
    opcode: u8,
    nsid: u32,
    cdw10: u32,
    cdw11: u32,
    cdw12: u32,
    cdw13: u32,
    /// 0: PRP1 in scratch, PRP2 the list; 1: PRP1 and PRP2 scratch pages; 2: garbage.
    prp_kind: u8,
    offset: u64,
    garbage: (u64, u64),
}

#[derive(Clone, Debug)]
enum Op {
    Submit(usize, Cmd),
    Ring(usize),
    Reap(usize),
    Process {
        budget: u32,
        dt: u64,
    },
    BadDoorbell(u8, u32),
    /// Attach (`true`) or detach namespace `nsid`, whatever its state.
    Namespace(u32, bool),
    /// Milliseconds pass on the controller's clock.
    Time(u64),
}

fn cmd(admin: bool) -> impl Strategy<Value = Cmd> {
    let opcode = if admin {
        prop::sample::select(vec![
            admin_opcode::IDENTIFY,
            admin_opcode::GET_LOG_PAGE,
            admin_opcode::GET_FEATURES,
            admin_opcode::SET_FEATURES,
            admin_opcode::ABORT,
            admin_opcode::KEEP_ALIVE,
            admin_opcode::FORMAT_NVM,
            admin_opcode::FIRMWARE_COMMIT,
            admin_opcode::FIRMWARE_IMAGE_DOWNLOAD,
            0x03,
            0x7f,
        ])
        .boxed()
    } else {
        prop::sample::select(vec![
            io_opcode::FLUSH,
            io_opcode::WRITE,
            io_opcode::READ,
            io_opcode::COMPARE,
            io_opcode::WRITE_ZEROES,
            io_opcode::DATASET_MANAGEMENT,
            0x7e,
        ])
        .boxed()
    };
    let small = prop_oneof![4 => 0u32..64, 1 => any::<u32>()];
    (
        opcode,
        prop::sample::select(vec![0u32, 1, 1, 2, 2, 3, 0xffff_ffff]),
        (small.clone(), small.clone(), small.clone(), 0u32..4),
        (0u8..3, 0u64..1024, any::<(u64, u64)>()),
    )
        .prop_map(
            |(opcode, nsid, (cdw10, cdw11, cdw12, cdw13), (prp_kind, offset, garbage))| Cmd {
                opcode,
                nsid,
                cdw10,
                cdw11,
                cdw12,
                cdw13,
                prp_kind,
                offset: offset * 4,
                garbage,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => cmd(true).prop_map(|c| Op::Submit(0, c)),
        4 => (1usize..3, cmd(false)).prop_map(|(q, c)| Op::Submit(q, c)),
        3 => (0usize..3).prop_map(Op::Ring),
        3 => (0usize..2).prop_map(Op::Reap),
        3 => (0u32..12, 0u64..25).prop_map(|(budget, dt)| Op::Process { budget, dt }),
        1 => (0u8..7, any::<u32>()).prop_map(|(k, v)| Op::BadDoorbell(k, v)),
        1 => (0u32..4, any::<bool>()).prop_map(|(n, a)| Op::Namespace(n, a)),
        1 => any::<u64>().prop_map(Op::Time),
    ]
}

struct World {
    h: Host,
    now: u64,
    /// Submitted commands: CID -> SQ.
    submitted: HashMap<u16, u16>,
    /// Commands per SQ not completed yet (Asynchronous Event Requests apart).
    outstanding: [u32; 3],
    /// Asynchronous Event Requests not completed yet.
    aers: u32,
    /// Completions seen: CID -> count.
    completed: HashMap<u16, u32>,
    next_cid: u16,
}

impl World {
    fn new() -> World {
        let mut h = Host::new();
        h.enable(SQ_SIZES[0], CQ_SIZES[0], 0);
        let cq = Host::create_cq_cmd(1, CQ_SIZES[1], 1);
        assert_eq!(h.admin(&cq).status, Status::SUCCESS);
        for q in 1..3u16 {
            let sq = Host::create_sq_cmd(q, SQ_SIZES[q as usize], 1);
            assert_eq!(h.admin(&sq).status, Status::SUCCESS);
            h.sq[q as usize] = HostQueue {
                base: sq.prp1,
                size: SQ_SIZES[q as usize],
                ptr: 0,
                phase: true,
            };
        }
        h.cq[1] = HostQueue {
            base: cq.prp1,
            size: CQ_SIZES[1],
            ptr: 0,
            phase: true,
        };
        let pages: Vec<u64> = (0..LIST_PAGES)
            .map(|i| SCRATCH + (i % 2048) * 4096)
            .collect();
        assert_eq!(h.alloc(8 << 20, 4096), SCRATCH);
        let start = h.prp_list(&pages, 0);
        assert_eq!(start, LIST, "the list sits right after the scratch area");
        for cid in AER_CIDS {
            h.submit(0, &Sqe::new(admin_opcode::ASYNC_EVENT_REQUEST, cid));
        }
        let mut w = World {
            h,
            now: 0,
            submitted: HashMap::new(),
            outstanding: [0; 3],
            aers: AER_CIDS.len() as u32,
            completed: HashMap::new(),
            next_cid: 0,
        };
        w.process(100);
        w
    }

    fn process(&mut self, budget: u32) -> Progress {
        let writable = [
            (ACQ_BASE, ACQ_BASE + u64::from(CQ_SIZES[0]) * 16),
            (
                self.h.cq[1].base,
                self.h.cq[1].base + u64::from(CQ_SIZES[1]) * 16,
            ),
            (SCRATCH, SCRATCH + (8 << 20)),
        ];
        let mut mem = Guarded {
            mem: &mut self.h.mem,
            writable,
        };
        let (ctrl, disk, irq) = (&mut self.h.ctrl, &mut self.h.disk, &mut self.h.irq);
        ctrl.process_timed(&mut mem, disk, irq, &mut Delays, self.now, budget)
    }

    fn submit(&mut self, q: usize, c: &Cmd) {
        // Never overwrite an entry the controller may not have fetched (AERs were fetched,
        // but counting them keeps this simple and safe).
        let aers = if q == 0 { self.aers } else { 0 };
        if self.outstanding[q] + aers + 1 >= SQ_SIZES[q] {
            return;
        }
        let cid = self.next_cid;
        self.next_cid += 1;
        let mut s = Sqe::new(c.opcode, cid);
        s.nsid = c.nsid;
        s.cdw10 = c.cdw10;
        s.cdw11 = c.cdw11;
        s.cdw12 = c.cdw12;
        s.cdw13 = c.cdw13;
        (s.prp1, s.prp2) = match c.prp_kind {
            0 => (SCRATCH + c.offset, LIST),
            1 => (SCRATCH + c.offset, SCRATCH + (4 << 20)),
            _ => c.garbage,
        };
        self.h.push(q as u16, &s);
        self.submitted.insert(cid, q as u16);
        self.outstanding[q] += 1;
    }

    fn reap(&mut self, cq: usize) -> Result<(), TestCaseError> {
        for c in self.h.reap(cq as u16) {
            *self.completed.entry(c.cid).or_default() += 1;
            if AER_CIDS.contains(&c.cid) {
                prop_assert_eq!((cq, c.sq_id), (0, 0));
                self.aers -= 1;
                continue;
            }
            let sq = self.submitted.get(&c.cid).copied();
            prop_assert_eq!(
                sq,
                Some(c.sq_id),
                "completion {:?} for an unknown command",
                c
            );
            prop_assert_eq!(cq, if c.sq_id == 0 { 0 } else { 1 });
            self.outstanding[c.sq_id as usize] -= 1;
        }
        Ok(())
    }

    /// A doorbell write the controller must ignore.
    fn bad_doorbell(&mut self, kind: u8, v: u32) {
        let (off, value) = match kind {
            0 => (sq_tail_doorbell(3 + (v % 2) as u16), v >> 16),
            1 => (cq_head_doorbell(2 + (v % 3) as u16), v >> 16),
            2 => {
                let q = (v % 3) as usize;
                (sq_tail_doorbell(q as u16), SQ_SIZES[q] + (v >> 20))
            }
            3 => {
                let q = (v % 2) as usize;
                (cq_head_doorbell(q as u16), CQ_SIZES[q] + (v >> 20))
            }
            4 => (0x2000 + u64::from(v % 0x800) * 4, v),
            5 => {
                // A CQ head beyond the entries posted.
                let q = (v % 2) as u16;
                let i = self.h.ctrl.cq_info(q).unwrap();
                let used = (i.tail + i.entries - i.head) % i.entries;
                let free = i.entries - 1 - used;
                if free == 0 {
                    return;
                }
                (
                    cq_head_doorbell(q),
                    (i.tail + 1 + (v >> 8) % free) % i.entries,
                )
            }
            _ => {
                // An SQ tail moving back over commands not fetched yet.
                let q = (v % 3) as u16;
                let i = self.h.ctrl.sq_info(q).unwrap();
                let pending = (i.tail + i.entries - i.head) % i.entries;
                if pending == 0 {
                    return;
                }
                (
                    sq_tail_doorbell(q),
                    (i.head + (v >> 8) % pending) % i.entries,
                )
            }
        };
        self.h.write(off, value);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_command_completes_once(ops in proptest::collection::vec(op(), 1..150)) {
        let mut w = World::new();
        for op in &ops {
            match op {
                Op::Submit(q, c) => w.submit(*q, c),
                Op::Ring(q) => w.h.ring(*q as u16),
                Op::Reap(q) => w.reap(*q)?,
                Op::Process { budget, dt } => {
                    w.now += dt;
                    let p = w.process(*budget);
                    prop_assert!(p.fetched + p.completed <= (*budget).max(1) * 2);
                }
                Op::BadDoorbell(k, v) => w.bad_doorbell(*k, *v),
                Op::Namespace(n, true) => {
                    let _ = w.h.ctrl.attach_namespace(*n);
                }
                Op::Namespace(n, false) => {
                    let _ = w.h.ctrl.detach_namespace(*n);
                }
                Op::Time(ms) => w.h.ctrl.advance_time(*ms),
            }
            prop_assert_eq!(w.h.ctrl.state(), State::Ready);
        }
        // Drain: ring every queue, let time pass, reap until nothing is left.
        for q in 0..3 {
            w.h.ring(q);
        }
        for _ in 0..200 {
            w.now += 100;
            w.process(1000);
            w.reap(0)?;
            w.reap(1)?;
            if w.outstanding == [0; 3] && !w.h.ctrl.has_work(w.now) {
                break;
            }
        }
        prop_assert_eq!(w.h.ctrl.state(), State::Ready);
        for (cid, q) in &w.submitted {
            prop_assert_eq!(w.completed.get(cid).copied(), Some(1), "CID {} on SQ {}", cid, q);
        }
        for (cid, n) in &w.completed {
            prop_assert!(*n == 1, "CID {} completed {} times", cid, n);
        }
        let aers = AER_CIDS.iter().filter(|c| w.completed.contains_key(c)).count() as u32;
        prop_assert_eq!(w.outstanding, [0; 3]);
        prop_assert_eq!(w.aers, AER_CIDS.len() as u32 - aers);
    }
}

/// Register and doorbell writes for the chaos test.
#[derive(Clone, Debug)]
enum Poke {
    /// Any access at all.
    Mmio(u64, u8, u64),
    /// A plausible admin queue setup and enable (or disable when `en` is false).
    Setup {
        entries: u32,
        sq_page: u64,
        cq_page: u64,
        mps: u32,
        en: bool,
    },
    /// A doorbell of queue `q` (CQ head if `cq`): a plausible one for `v < 60`, else `v`.
    Doorbell(u16, bool, u32),
    /// Processing with a budget, after `dt` time units.
    Process(u32, u64),
    /// Attach (`true`) or detach namespace `nsid`, whatever its state.
    Namespace(u32, bool),
}

/// Delays one completion in four by 5 time units.
struct Sometimes;

impl Timing for Sometimes {
    fn complete_at(&mut self, now: u64, _sqid: u16, sqe: &Sqe, _status: Status) -> u64 {
        now + if sqe.cid().is_multiple_of(4) { 5 } else { 0 }
    }
}

/// Pages of chaos memory.
const CHAOS_PAGES: u64 = 64;

fn setup() -> impl Strategy<Value = Poke> {
    (
        2u32..64,
        0..CHAOS_PAGES,
        0..CHAOS_PAGES,
        prop_oneof![4 => Just(0u32), 1 => Just(1u32)],
        prop::bool::weighted(0.95),
    )
        .prop_map(|(entries, sq_page, cq_page, mps, en)| Poke::Setup {
            entries,
            sq_page,
            cq_page,
            mps,
            en,
        })
}

fn poke() -> impl Strategy<Value = Poke> {
    prop_oneof![
        1 => (
            prop_oneof![0u64..0x40, 0x1000u64..0x1040, any::<u64>()],
            prop::sample::select(vec![1u8, 2, 4, 4, 8]),
            any::<u64>(),
        )
            .prop_map(|(o, s, v)| Poke::Mmio(o, s, v)),
        1 => setup(),
        16 => (
            prop_oneof![3 => Just(0u16), 4 => 1u16..5, 1 => 5u16..70],
            prop::bool::weighted(0.3),
            0u32..70,
        )
            .prop_map(|(q, cq, v)| Poke::Doorbell(q, cq, v)),
        12 => (0u32..40, 0u64..30).prop_map(|(b, dt)| Poke::Process(b, dt)),
        1 => (0u32..4, any::<bool>()).prop_map(|(n, a)| Poke::Namespace(n, a)),
    ]
}

/// Guest memory full of plausible-looking commands: mostly known opcodes with small NSIDs,
/// page addresses inside the memory, small queue IDs, sizes, vectors, flags and block
/// ranges; sometimes anything. Each page starts with valid I/O queue creations.
fn chaos_memory(seed: u64) -> Mem {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let admin = [
        0x00u8, 0x01, 0x02, 0x04, 0x05, 0x05, 0x01, 0x06, 0x08, 0x09, 0x0a, 0x0c, 0x10, 0x11, 0x18,
        0x7f, 0x80,
    ];
    let io = [0x00u8, 0x01, 0x01, 0x02, 0x05, 0x08, 0x09, 0x0e];
    let mut m = vec![0u8; (CHAOS_PAGES * 4096) as usize];
    for sqe in m.chunks_exact_mut(64) {
        let r = next();
        let mut s = Sqe::new(0, (r >> 16) as u16);
        let is_admin = r & 1 == 0;
        s.cdw0 |= u32::from(if is_admin {
            admin[(r >> 8) as usize % admin.len()]
        } else {
            io[(r >> 8) as usize % io.len()]
        });
        s.nsid = (next() % 4) as u32;
        let page = |v: u64| {
            let off = if v & 0x100_0000 != 0 {
                v >> 40 & 0xffc
            } else {
                0
            };
            (v % CHAOS_PAGES) * 4096 + off
        };
        s.prp1 = page(next());
        s.prp2 = page(next());
        let field = |v: u64, mask: u32| (v >> 3) as u32 & mask;
        if is_admin {
            // Queue ID 0-3 and size up to 63; CNS or log page 0-3; flags, vector or CQ ID.
            s.cdw10 = field(next(), 0x003f_0003);
            s.cdw11 = field(next(), 0x0003_0003);
        } else {
            // A few blocks near the start, or a small count of ranges.
            s.cdw10 = field(next(), 0x1f);
            s.cdw12 = field(next(), 0x0200_0007);
            // SLBA bits 63:32 clear; Dataset Management attributes.
            s.cdw11 = if s.opcode() == io_opcode::DATASET_MANAGEMENT {
                field(next(), 0x7)
            } else {
                0
            };
        }
        if r >> 58 == 0 {
            for d in [
                &mut s.cdw0,
                &mut s.cdw10,
                &mut s.cdw11,
                &mut s.cdw12,
                &mut s.cdw13,
            ] {
                *d = next() as u32;
            }
        }
        sqe.copy_from_slice(&s.to_bytes());
    }
    // Every page starts with commands creating I/O queue pairs 1 and 2, so that an admin
    // queue placed anywhere soon has I/O queues to play with.
    for page in m.chunks_exact_mut(4096) {
        for (q, slots) in [1u16, 2].into_iter().zip(page.chunks_exact_mut(128)) {
            let mut cq = Host::create_cq_cmd(q, 16, q);
            cq.prp1 = next() % CHAOS_PAGES * 4096;
            let mut sq = Host::create_sq_cmd(q, 16, q);
            sq.prp1 = next() % CHAOS_PAGES * 4096;
            slots[..64].copy_from_slice(&cq.to_bytes());
            slots[64..].copy_from_slice(&sq.to_bytes());
        }
    }
    Mem(m)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Anything a host may do, with garbage in memory, never panics, never asks the backing
    /// for data outside a namespace, and keeps CSTS consistent with the state.
    #[test]
    fn chaos_never_panics(
        seed in any::<u64>(),
        first in setup(),
        pokes in proptest::collection::vec(poke(), 1..250),
    ) {
        let namespaces = [
            NamespaceConfig { lba_size: 512, blocks: 64 },
            NamespaceConfig { lba_size: 4096, blocks: 16 },
        ];
        let c = Config { mdts: 2, mqes: 63, namespaces: &namespaces, ..config() };
        let mut ctrl = Ctrl::new(Params::new(&c).unwrap()).unwrap();
        let mut mem = chaos_memory(seed);
        let mut disk = Disk::new(&namespaces);
        let mut irq = Irqs::default();
        let mut now = 0;
        for p in std::iter::once(first).chain(pokes) {
            match p {
                Poke::Mmio(off, size, v) => {
                    let _ = ctrl.mmio_write(off, size, v);
                    let _ = ctrl.mmio_read(off, size);
                }
                Poke::Setup { entries, sq_page, cq_page, mps, en } => {
                    let _ = ctrl.mmio_write(CC, 4, 0);
                    let _ = ctrl.mmio_write(AQA, 4, u64::from((entries - 1) << 16 | (entries - 1)));
                    let _ = ctrl.mmio_write(ASQ, 8, sq_page * 4096);
                    let _ = ctrl.mmio_write(ACQ, 8, cq_page * 4096);
                    if en {
                        let _ = ctrl.mmio_write(CC, 4, u64::from(cc_enable(mps)));
                    }
                }
                Poke::Doorbell(q, cq, v) => {
                    // Mostly what a host would write (consume every posted entry; submit a
                    // few more commands), sometimes the raw value.
                    let info = if cq { ctrl.cq_info(q) } else { ctrl.sq_info(q) };
                    let value = match info {
                        Some(i) if v < 60 && cq => i.tail,
                        Some(i) if v < 60 => (i.tail + 1 + v % 8) % i.entries,
                        _ => v,
                    };
                    let off = if cq { cq_head_doorbell(q) } else { sq_tail_doorbell(q) };
                    let _ = ctrl.mmio_write(off, 4, u64::from(value));
                }
                Poke::Process(budget, dt) => {
                    now += dt;
                    let p = ctrl.process_timed(&mut mem, &mut disk, &mut irq, &mut Sometimes, now, budget);
                    prop_assert!(p.fetched <= budget && p.completed <= budget);
                    ctrl.advance_time(dt);
                }
                Poke::Namespace(n, true) => {
                    let _ = ctrl.attach_namespace(n);
                }
                Poke::Namespace(n, false) => {
                    let _ = ctrl.detach_namespace(n);
                }
            }
            let csts = ctrl.csts();
            let expect = match ctrl.state() {
                State::Disabled | State::Enabling => 0,
                State::Ready => CSTS_RDY,
                State::ShutdownProcessing => CSTS_RDY | CSTS_SHST_OCCURRING,
                State::ShutdownComplete => CSTS_RDY | CSTS_SHST_COMPLETE,
                State::Fatal { ready } => CSTS_CFS | u32::from(ready),
            };
            prop_assert_eq!(csts, expect);
            prop_assert_eq!(ctrl.mmio_read(CSTS, 4).unwrap(), u64::from(csts));
        }
    }
}
