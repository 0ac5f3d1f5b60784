// SPDX-License-Identifier: GPL-2.0

//! Shared harness of the NVMe controller model tests: guest memory, namespaces and interrupts
//! on `Vec`s, and a minimal host driver. The other `nvme_*` tests include it with `#[path]`;
//! built on its own it has no tests.

// Built as a test crate of its own, its helpers are unused and undocumented public items;
// as a module of the other tests they are private.
#![allow(dead_code, missing_docs, clippy::new_without_default)]

use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;

/// Guest memory size.
pub const MEM_SIZE: usize = 32 << 20;
/// Queue pairs of the test controller (admin + 4 I/O).
pub const Q: usize = 5;
/// The test controller.
pub type Ctrl = Controller<Q>;

pub const ASQ_BASE: u64 = 0x1_0000;
pub const ACQ_BASE: u64 = 0x2_0000;
/// I/O SQ `i` lives at `IO_SQ_BASE + i * 0x10_0000`, CQ `i` at `IO_CQ_BASE + i * 0x10_0000`.
pub const IO_SQ_BASE: u64 = 0x10_0000;
pub const IO_CQ_BASE: u64 = 0x18_0000;
/// Data buffers are allocated from here up.
pub const DATA_BASE: u64 = 0x80_0000;

/// Guest memory: a `Vec` at guest address 0.
pub struct Mem(pub Vec<u8>);

impl Mem {
    pub fn new() -> Mem {
        Mem(vec![0; MEM_SIZE])
    }

    fn range(&self, addr: u64, len: usize) -> Result<std::ops::Range<usize>, MemError> {
        let start = usize::try_from(addr).map_err(|_| MemError::Unmapped)?;
        let end = start.checked_add(len).ok_or(MemError::Unmapped)?;
        if end > self.0.len() {
            return Err(MemError::Unmapped);
        }
        Ok(start..end)
    }

    pub fn get(&self, addr: u64, len: usize) -> &[u8] {
        &self.0[addr as usize..addr as usize + len]
    }

    pub fn put(&mut self, addr: u64, data: &[u8]) {
        self.0[addr as usize..addr as usize + data.len()].copy_from_slice(data);
    }

    pub fn put_u64(&mut self, addr: u64, v: u64) {
        self.put(addr, &v.to_le_bytes());
    }
}

impl HostMemory for Mem {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let r = self.range(addr, buf.len())?;
        buf.copy_from_slice(&self.0[r]);
        Ok(())
    }

    fn write(&mut self, addr: u64, buf: &[u8]) -> Result<(), MemError> {
        let r = self.range(addr, buf.len())?;
        self.0[r].copy_from_slice(buf);
        Ok(())
    }
}

/// Namespace contents, one `Vec` per namespace (NSID 1 first).
pub struct Disk {
    pub ns: Vec<Vec<u8>>,
    pub flushes: Vec<u32>,
    pub deallocated: Vec<(u32, u64, u64)>,
    pub fail: bool,
    /// Zone records per namespace (empty for a conventional one).
    pub zones: Vec<Vec<Zone>>,
}

impl Disk {
    pub fn new(namespaces: &[NamespaceConfig]) -> Disk {
        Disk {
            ns: namespaces
                .iter()
                .map(|n| vec![0; (n.blocks * u64::from(n.lba_size)) as usize])
                .collect(),
            flushes: Vec::new(),
            deallocated: Vec::new(),
            fail: false,
            zones: vec![Vec::new(); namespaces.len()],
        }
    }

    fn span(&mut self, nsid: u32, offset: u64, len: u64) -> Result<&mut [u8], BackingError> {
        if self.fail {
            return Err(BackingError::Io);
        }
        let ns = self
            .ns
            .get_mut(nsid as usize - 1)
            .expect("model asked for a bad NSID");
        let end = offset.checked_add(len).expect("overflowing backing range");
        assert!(end <= ns.len() as u64, "model asked beyond the namespace");
        Ok(&mut ns[offset as usize..end as usize])
    }
}

impl Backing for Disk {
    fn read(&mut self, nsid: u32, offset: u64, buf: &mut [u8]) -> Result<(), BackingError> {
        buf.copy_from_slice(self.span(nsid, offset, buf.len() as u64)?);
        Ok(())
    }

    fn write(&mut self, nsid: u32, offset: u64, buf: &[u8]) -> Result<(), BackingError> {
        self.span(nsid, offset, buf.len() as u64)?
            .copy_from_slice(buf);
        Ok(())
    }

    fn zero(&mut self, nsid: u32, offset: u64, len: u64) -> Result<(), BackingError> {
        self.span(nsid, offset, len)?.fill(0);
        Ok(())
    }

    fn deallocate(&mut self, nsid: u32, offset: u64, len: u64) -> Result<(), BackingError> {
        self.deallocated.push((nsid, offset, len));
        self.zero(nsid, offset, len)
    }

    fn flush(&mut self, nsid: u32) -> Result<(), BackingError> {
        if self.fail {
            return Err(BackingError::Io);
        }
        self.flushes.push(nsid);
        Ok(())
    }

    fn zones(&mut self, nsid: u32) -> Option<&mut [Zone]> {
        let z = self.zones.get_mut(nsid.checked_sub(1)? as usize)?;
        (!z.is_empty()).then_some(z.as_mut_slice())
    }
}

/// Interrupts raised, in order.
#[derive(Default)]
pub struct Irqs(pub Vec<u16>);

impl InterruptSink for Irqs {
    fn raise(&mut self, vector: u16) {
        self.0.push(vector);
    }
}

/// Namespace 1: 512-byte blocks, 1 MiB. Namespace 2: 4096-byte blocks, 4 MiB.
pub const NAMESPACES: [NamespaceConfig; 2] = [
    NamespaceConfig {
        lba_size: 512,
        blocks: 2048,
    },
    NamespaceConfig {
        lba_size: 4096,
        blocks: 1024,
    },
];

pub fn config() -> Config<'static> {
    Config {
        vendor_id: 0x1b36,
        subsystem_vendor_id: 0x1af4,
        serial: "NVMOCK0001",
        model: "nvmock NVMe model",
        firmware: "1.0",
        io_queues: 4,
        mqes: 1023,
        mdts: 10,
        timeout: 20,
        vectors: 8,
        namespaces: &NAMESPACES,
    }
}

/// The CC value a Linux host writes to enable: NVM, 4 KiB pages (MPS `mps`), round robin,
/// 64/16-byte entries.
pub fn cc_enable(mps: u32) -> u32 {
    CC_EN | mps << CC_MPS_SHIFT | IOSQES << CC_IOSQES_SHIFT | IOCQES << CC_IOCQES_SHIFT
}

/// Host-side view of a queue.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostQueue {
    pub base: u64,
    pub size: u32,
    /// SQ: tail. CQ: head.
    pub ptr: u32,
    /// CQ: expected phase.
    pub phase: bool,
}

/// A test host driving one controller.
pub struct Host {
    pub ctrl: Box<Ctrl>,
    pub mem: Mem,
    pub disk: Disk,
    pub irq: Irqs,
    pub sq: [HostQueue; Q],
    pub cq: [HostQueue; Q],
    pub page: u64,
    next_data: u64,
}

impl Host {
    pub fn new() -> Host {
        Host::with(&config())
    }

    pub fn with(c: &Config<'_>) -> Host {
        Host::with_params(c, Params::new(c).expect("valid test parameters"))
    }

    /// A host for `params` (made from `c`, then changed, e.g. with zoned namespaces, whose
    /// zone records the disk then holds, all Empty).
    pub fn with_params(c: &Config<'_>, params: Params) -> Host {
        let mut disk = Disk::new(c.namespaces);
        for (i, z) in disk.zones.iter_mut().enumerate() {
            if let Some(g) = params.zoned_namespace(i as u32 + 1) {
                *z = vec![Zone::EMPTY; g.zones() as usize];
            }
        }
        Host {
            ctrl: Box::new(Ctrl::new(params).expect("fits")),
            mem: Mem::new(),
            disk,
            irq: Irqs::default(),
            sq: [HostQueue::default(); Q],
            cq: [HostQueue::default(); Q],
            page: 4096,
            next_data: DATA_BASE,
        }
    }

    /// A host with a ready controller: admin queues of `entries` entries.
    pub fn ready() -> Host {
        let mut h = Host::new();
        h.enable(32, 32, 0);
        h
    }

    /// A ready host with I/O queue pair 1 of 64 entries.
    pub fn ready_io() -> Host {
        let mut h = Host::ready();
        h.setup_io(1, 64, 1);
        h
    }

    pub fn read(&self, off: u64) -> u32 {
        self.ctrl.mmio_read(off, 4).expect("valid read") as u32
    }

    pub fn write(&mut self, off: u64, v: u32) {
        self.ctrl
            .mmio_write(off, 4, u64::from(v))
            .expect("valid write");
    }

    pub fn write64(&mut self, off: u64, v: u64) {
        self.ctrl.mmio_write(off, 8, v).expect("valid write");
    }

    pub fn csts(&self) -> u32 {
        self.read(CSTS)
    }

    /// Programs the admin queues, sets CC and runs the controller once.
    pub fn enable(&mut self, sq_entries: u32, cq_entries: u32, mps: u32) {
        self.write(AQA, (cq_entries - 1) << 16 | (sq_entries - 1));
        self.write64(ASQ, ASQ_BASE);
        self.write64(ACQ, ACQ_BASE);
        self.write(CC, cc_enable(mps) & !CC_EN);
        self.write(CC, cc_enable(mps));
        self.run();
        assert_eq!(self.csts(), CSTS_RDY, "controller became ready");
        self.page = 4096 << mps;
        self.adopt_admin(sq_entries, cq_entries);
    }

    /// Resets the host's view of the admin queues (at `ASQ_BASE`/`ACQ_BASE`) to empty.
    pub fn adopt_admin(&mut self, sq_entries: u32, cq_entries: u32) {
        // Like a driver, clear the completion queue so stale entries have no valid phase.
        self.mem.put(ACQ_BASE, &vec![0; cq_entries as usize * 16]);
        self.sq[0] = HostQueue {
            base: ASQ_BASE,
            size: sq_entries,
            ptr: 0,
            phase: true,
        };
        self.cq[0] = HostQueue {
            base: ACQ_BASE,
            size: cq_entries,
            ptr: 0,
            phase: true,
        };
    }

    /// Runs the controller with a generous budget.
    pub fn run(&mut self) -> Progress {
        self.ctrl
            .process(&mut self.mem, &mut self.disk, &mut self.irq, 10_000)
    }

    /// Writes `sqe` at the host's tail of SQ `qid` without ringing the doorbell.
    pub fn push(&mut self, qid: u16, sqe: &Sqe) {
        let q = &mut self.sq[qid as usize];
        let addr = q.base + u64::from(q.ptr) * SQE_SIZE;
        q.ptr = (q.ptr + 1) % q.size;
        self.mem.put(addr, &sqe.to_bytes());
    }

    pub fn ring(&mut self, qid: u16) {
        let tail = self.sq[qid as usize].ptr;
        self.write(sq_tail_doorbell(qid), tail);
    }

    pub fn submit(&mut self, qid: u16, sqe: &Sqe) {
        self.push(qid, sqe);
        self.ring(qid);
    }

    /// The entry at the host's head of CQ `qid`, if its phase says it is new.
    pub fn peek(&self, qid: u16) -> Option<Cqe> {
        let q = &self.cq[qid as usize];
        let addr = q.base + u64::from(q.ptr) * CQE_SIZE;
        let cqe = Cqe::from_bytes(self.mem.get(addr, 16).try_into().unwrap());
        (cqe.phase == q.phase).then_some(cqe)
    }

    /// Consumes every new entry of CQ `qid` and rings its head doorbell.
    pub fn reap(&mut self, qid: u16) -> Vec<Cqe> {
        let mut out = Vec::new();
        while let Some(c) = self.peek(qid) {
            out.push(c);
            let q = &mut self.cq[qid as usize];
            q.ptr = (q.ptr + 1) % q.size;
            if q.ptr == 0 {
                q.phase = !q.phase;
            }
        }
        if !out.is_empty() {
            let head = self.cq[qid as usize].ptr;
            self.write(cq_head_doorbell(qid), head);
        }
        out
    }

    /// Submits `sqe` on queue `qid`, runs the controller and returns the one completion.
    pub fn exec(&mut self, qid: u16, sqe: &Sqe) -> Cqe {
        self.submit(qid, sqe);
        self.run();
        let c = self.reap(qid);
        assert_eq!(c.len(), 1, "one completion for {sqe:x?}: {c:x?}");
        assert_eq!(c[0].cid, sqe.cid());
        c[0]
    }

    pub fn admin(&mut self, sqe: &Sqe) -> Cqe {
        self.exec(0, sqe)
    }

    pub fn create_cq_cmd(qid: u16, entries: u32, iv: u16) -> Sqe {
        let mut s = Sqe::new(admin_opcode::CREATE_IO_CQ, 0x100 + qid);
        s.prp1 = IO_CQ_BASE + u64::from(qid) * 0x10_0000;
        s.cdw10 = (entries - 1) << 16 | u32::from(qid);
        s.cdw11 = u32::from(iv) << 16 | 0b11;
        s
    }

    pub fn create_sq_cmd(qid: u16, entries: u32, cqid: u16) -> Sqe {
        let mut s = Sqe::new(admin_opcode::CREATE_IO_SQ, 0x200 + qid);
        s.prp1 = IO_SQ_BASE + u64::from(qid) * 0x10_0000;
        s.cdw10 = (entries - 1) << 16 | u32::from(qid);
        s.cdw11 = u32::from(cqid) << 16 | 1;
        s
    }

    /// Creates I/O CQ and SQ `qid` of `entries` entries, the CQ on vector `iv`.
    pub fn setup_io(&mut self, qid: u16, entries: u32, iv: u16) {
        let c = self.admin(&Self::create_cq_cmd(qid, entries, iv));
        assert_eq!(c.status, Status::SUCCESS, "create CQ {qid}");
        let c = self.admin(&Self::create_sq_cmd(qid, entries, qid));
        assert_eq!(c.status, Status::SUCCESS, "create SQ {qid}");
        let sq = Self::create_sq_cmd(qid, entries, qid).prp1;
        let cq = Self::create_cq_cmd(qid, entries, iv).prp1;
        self.mem.put(cq, &vec![0; entries as usize * 16]);
        self.sq[qid as usize] = HostQueue {
            base: sq,
            size: entries,
            ptr: 0,
            phase: true,
        };
        self.cq[qid as usize] = HostQueue {
            base: cq,
            size: entries,
            ptr: 0,
            phase: true,
        };
    }

    /// Allocates `len` bytes aligned to `align` from the data area.
    pub fn alloc(&mut self, len: u64, align: u64) -> u64 {
        let a = self.next_data.next_multiple_of(align);
        self.next_data = a + len;
        assert!(
            self.next_data <= MEM_SIZE as u64,
            "test data area exhausted"
        );
        a
    }

    /// A data buffer of `len` bytes starting `offset` bytes into its first page, spread over
    /// pages allocated in reverse order, with its PRP list (if any) starting `list_offset`
    /// bytes into a page, chained as needed.
    pub fn buffer(&mut self, len: u64, offset: u64, list_offset: u64) -> Buffer {
        let page = self.page;
        let first = (page - offset).min(len);
        let rest_pages = (len - first).div_ceil(page);
        let mut pages: Vec<u64> = (0..=rest_pages).map(|_| self.alloc(page, page)).collect();
        pages.reverse();
        let mut segs = vec![(pages[0] + offset, first)];
        let mut left = len - first;
        for &p in &pages[1..] {
            segs.push((p, left.min(page)));
            left -= left.min(page);
        }
        let prp1 = segs[0].0;
        let prp2 = match rest_pages {
            0 => 0,
            1 => pages[1],
            _ => self.prp_list(&pages[1..], list_offset),
        };
        Buffer { prp1, prp2, segs }
    }

    /// Writes a PRP list of `entries`, starting `list_offset` into a fresh page, chaining
    /// through further pages as needed. Returns the list pointer.
    pub fn prp_list(&mut self, entries: &[u64], list_offset: u64) -> u64 {
        let page = self.page;
        let start = self.alloc(page, page) + list_offset;
        let mut at = start;
        let mut i = 0;
        while i < entries.len() {
            let last_slot = (at + 8).is_multiple_of(page);
            if last_slot && entries.len() - i > 1 {
                let next = self.alloc(page, page);
                self.mem.put_u64(at, next);
                at = next;
                continue;
            }
            self.mem.put_u64(at, entries[i]);
            at += 8;
            i += 1;
        }
        start
    }

    /// Identify with `cns` and `nsid` into a fresh page: the completion and the data.
    pub fn identify(&mut self, cns: u32, nsid: u32) -> (Cqe, Vec<u8>) {
        let buf = self.buffer(4096, 0, 0);
        let mut s = Sqe::new(admin_opcode::IDENTIFY, 0x600 + cns as u16);
        s.nsid = nsid;
        s.prp1 = buf.prp1;
        s.prp2 = buf.prp2;
        s.cdw10 = cns;
        let c = self.admin(&s);
        (c, buf.read(&self.mem))
    }
}

impl Host {
    /// Get Log Page `lid`, `len` bytes (a multiple of 4) from byte `offset`, into a fresh
    /// buffer: the completion and the data.
    pub fn log(&mut self, lid: u8, len: u64, offset: u64, rae: bool, nsid: u32) -> (Cqe, Vec<u8>) {
        let numd0 = (len / 4 - 1) as u32;
        let buf = self.buffer(len, 0, 0);
        let mut s = Sqe::new(admin_opcode::GET_LOG_PAGE, 0x4c);
        s.nsid = nsid;
        s.prp1 = buf.prp1;
        s.prp2 = buf.prp2;
        s.cdw10 = (numd0 & 0xffff) << 16 | u32::from(rae) << 15 | u32::from(lid);
        s.cdw11 = numd0 >> 16;
        s.cdw12 = offset as u32;
        s.cdw13 = (offset >> 32) as u32;
        let c = self.admin(&s);
        (c, buf.read(&self.mem))
    }

    /// The NSIDs of the Changed Namespace List (read with `rae`), up to the first zero.
    pub fn changed_namespaces(&mut self, rae: bool) -> Vec<u32> {
        let (c, l) = self.log(log_id::CHANGED_NAMESPACES, 4096, 0, rae, 0xffff_ffff);
        assert_status(&c, Status::SUCCESS);
        l.chunks_exact(4)
            .map(|d| u32::from_le_bytes(d.try_into().unwrap()))
            .take_while(|&n| n != 0)
            .collect()
    }

    /// Set Features `fid` with CDW11 `cdw11` and no data.
    pub fn set_feature(&mut self, fid: u8, cdw11: u32) -> Cqe {
        let mut s = Sqe::new(admin_opcode::SET_FEATURES, 0x5e);
        s.cdw10 = u32::from(fid);
        s.cdw11 = cdw11;
        self.admin(&s)
    }

    /// Enables (or disables) Namespace Attribute Notices, keeping no other event enabled.
    pub fn namespace_notices(&mut self, on: bool) {
        let c = self.set_feature(feature::ASYNC_EVENT_CONFIG, u32::from(on) << 8);
        assert_status(&c, Status::SUCCESS);
    }

    /// Format NVM of `nsid` with CDW10 `cdw10`.
    pub fn format(&mut self, nsid: u32, cdw10: u32) -> Cqe {
        let mut s = Sqe::new(admin_opcode::FORMAT_NVM, 0xf0);
        s.nsid = nsid;
        s.cdw10 = cdw10;
        self.admin(&s)
    }

    /// Firmware Image Download of `dwords` dwords at dword offset `offset` from a fresh buffer.
    pub fn fw_download(&mut self, offset: u32, dwords: u32) -> Cqe {
        let buf = self.buffer(u64::from(dwords) * 4, 0, 0);
        let mut s = Sqe::new(admin_opcode::FIRMWARE_IMAGE_DOWNLOAD, 0xd1);
        s.prp1 = buf.prp1;
        s.prp2 = buf.prp2;
        s.cdw10 = dwords - 1;
        s.cdw11 = offset;
        self.admin(&s)
    }

    /// Firmware Commit with commit action `ca` to firmware slot `fs`.
    pub fn fw_commit(&mut self, fs: u32, ca: u32) -> Cqe {
        let mut s = Sqe::new(admin_opcode::FIRMWARE_COMMIT, 0xc0);
        s.cdw10 = ca << 3 | fs;
        self.admin(&s)
    }

    /// Identify Controller FR: the running firmware revision.
    pub fn firmware_revision(&mut self) -> Vec<u8> {
        let (c, id) = self.identify(1, 0);
        assert_status(&c, Status::SUCCESS);
        id[64..72].to_vec()
    }

    /// A controller reset (CC.EN 1 -> 0), then enabling again with admin queues of 32
    /// entries.
    pub fn reset(&mut self) {
        self.write(CC, 0);
        self.run();
        self.enable(32, 32, 0);
    }
}

/// The little-endian `u16` at `o` of `b`.
pub fn le16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}

/// The little-endian `u32` at `o` of `b`.
pub fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

/// The little-endian `u64` at `o` of `b`.
pub fn le64(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// A data buffer and its PRPs.
#[derive(Clone, Debug)]
pub struct Buffer {
    pub prp1: u64,
    pub prp2: u64,
    pub segs: Vec<(u64, u64)>,
}

impl Buffer {
    pub fn fill(&self, mem: &mut Mem, data: &[u8]) {
        let mut pos = 0;
        for &(a, l) in &self.segs {
            mem.put(a, &data[pos..pos + l as usize]);
            pos += l as usize;
        }
        assert_eq!(pos, data.len());
    }

    pub fn read(&self, mem: &Mem) -> Vec<u8> {
        let mut out = Vec::new();
        for &(a, l) in &self.segs {
            out.extend_from_slice(mem.get(a, l as usize));
        }
        out
    }
}

/// An I/O command with a 64-bit starting LBA and a 0-based block count.
pub fn rw(opcode: u8, cid: u16, nsid: u32, slba: u64, nlb0: u16, buf: &Buffer) -> Sqe {
    let mut s = Sqe::new(opcode, cid);
    s.nsid = nsid;
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    s.cdw10 = slba as u32;
    s.cdw11 = (slba >> 32) as u32;
    s.cdw12 = u32::from(nlb0);
    s
}

/// Deterministic test data.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

/// Asserts that `c` completed with `expect` (compared without DNR), and that DNR is set for
/// every error.
#[track_caller]
pub fn assert_status(c: &Cqe, expect: Status) {
    assert_eq!(c.status.code(), expect.code(), "status of {c:x?}");
    assert_eq!(c.status.dnr(), !expect.is_success(), "DNR of {c:x?}");
}
