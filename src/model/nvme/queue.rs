// SPDX-License-Identifier: GPL-2.0

//! Queue entries and queue state.

use super::status::Status;

/// Size of a submission queue entry in bytes.
pub const SQE_SIZE: u64 = 64;
/// Size of a completion queue entry in bytes.
pub const CQE_SIZE: u64 = 16;

/// A submission queue entry (a command), decoded into its dwords.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sqe {
    /// CDW0: opcode (7:0), fused operation (9:8), PRP or SGL (15:14), command ID (31:16).
    pub cdw0: u32,
    /// Namespace ID.
    pub nsid: u32,
    /// Command dword 2.
    pub cdw2: u32,
    /// Command dword 3.
    pub cdw3: u32,
    /// Metadata pointer.
    pub mptr: u64,
    /// PRP entry 1.
    pub prp1: u64,
    /// PRP entry 2.
    pub prp2: u64,
    /// Command dword 10.
    pub cdw10: u32,
    /// Command dword 11.
    pub cdw11: u32,
    /// Command dword 12.
    pub cdw12: u32,
    /// Command dword 13.
    pub cdw13: u32,
    /// Command dword 14.
    pub cdw14: u32,
    /// Command dword 15.
    pub cdw15: u32,
}

/// The little-endian dword at `i` of `b` (0 past the end).
fn dword(b: &[u8], i: usize) -> u32 {
    let mut d = [0u8; 4];
    if let Some(s) = b.get(i * 4..i * 4 + 4) {
        d.iter_mut().zip(s).for_each(|(d, s)| *d = *s);
    }
    u32::from_le_bytes(d)
}

/// Stores `v` little-endian at dword `i` of `b` (dropped past the end).
fn put_dword(b: &mut [u8], i: usize, v: u32) {
    if let Some(d) = b.get_mut(i * 4..i * 4 + 4) {
        d.iter_mut().zip(v.to_le_bytes()).for_each(|(d, s)| *d = s);
    }
}

fn qword(lo: u32, hi: u32) -> u64 {
    u64::from(hi) << 32 | u64::from(lo)
}

impl Sqe {
    /// A command with `opcode` and command ID `cid`, everything else zero.
    pub const fn new(opcode: u8, cid: u16) -> Sqe {
        Sqe {
            cdw0: (cid as u32) << 16 | opcode as u32,
            nsid: 0,
            cdw2: 0,
            cdw3: 0,
            mptr: 0,
            prp1: 0,
            prp2: 0,
            cdw10: 0,
            cdw11: 0,
            cdw12: 0,
            cdw13: 0,
            cdw14: 0,
            cdw15: 0,
        }
    }

    /// Opcode.
    pub const fn opcode(&self) -> u8 {
        self.cdw0 as u8
    }

    /// Fused operation (00b: normal).
    pub const fn fuse(&self) -> u8 {
        (self.cdw0 >> 8) as u8 & 3
    }

    /// PRP or SGL for data transfer (00b: PRPs).
    pub const fn psdt(&self) -> u8 {
        (self.cdw0 >> 14) as u8 & 3
    }

    /// Command identifier.
    pub const fn cid(&self) -> u16 {
        (self.cdw0 >> 16) as u16
    }

    /// The entry as it lies in a submission queue.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        let dw = [
            self.cdw0,
            self.nsid,
            self.cdw2,
            self.cdw3,
            self.mptr as u32,
            (self.mptr >> 32) as u32,
            self.prp1 as u32,
            (self.prp1 >> 32) as u32,
            self.prp2 as u32,
            (self.prp2 >> 32) as u32,
            self.cdw10,
            self.cdw11,
            self.cdw12,
            self.cdw13,
            self.cdw14,
            self.cdw15,
        ];
        for (i, v) in dw.into_iter().enumerate() {
            put_dword(&mut b, i, v);
        }
        b
    }

    /// Decodes an entry read from a submission queue.
    pub fn from_bytes(b: &[u8; 64]) -> Sqe {
        let d = |i| dword(b, i);
        Sqe {
            cdw0: d(0),
            nsid: d(1),
            cdw2: d(2),
            cdw3: d(3),
            mptr: qword(d(4), d(5)),
            prp1: qword(d(6), d(7)),
            prp2: qword(d(8), d(9)),
            cdw10: d(10),
            cdw11: d(11),
            cdw12: d(12),
            cdw13: d(13),
            cdw14: d(14),
            cdw15: d(15),
        }
    }
}

/// A completion queue entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cqe {
    /// DW0: command specific result.
    pub result: u32,
    /// DW1: reserved (command specific in later revisions).
    pub dw1: u32,
    /// SQ Head Pointer.
    pub sq_head: u16,
    /// SQ Identifier.
    pub sq_id: u16,
    /// Command Identifier.
    pub cid: u16,
    /// Phase Tag.
    pub phase: bool,
    /// Status Field.
    pub status: Status,
}

impl Cqe {
    /// The entry as it lies in a completion queue.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        put_dword(&mut b, 0, self.result);
        put_dword(&mut b, 1, self.dw1);
        put_dword(
            &mut b,
            2,
            u32::from(self.sq_id) << 16 | u32::from(self.sq_head),
        );
        let dw3 =
            u32::from(self.status.raw()) << 17 | u32::from(self.phase) << 16 | u32::from(self.cid);
        put_dword(&mut b, 3, dw3);
        b
    }

    /// Decodes an entry read from a completion queue.
    pub fn from_bytes(b: &[u8; 16]) -> Cqe {
        let dw2 = dword(b, 2);
        let dw3 = dword(b, 3);
        Cqe {
            result: dword(b, 0),
            dw1: dword(b, 1),
            sq_head: dw2 as u16,
            sq_id: (dw2 >> 16) as u16,
            cid: dw3 as u16,
            phase: dw3 & 1 << 16 != 0,
            status: Status::from_raw((dw3 >> 17) as u16),
        }
    }
}

/// `a - b` modulo `size`, for `a, b < size`.
fn distance(a: u32, b: u32, size: u32) -> u32 {
    if a >= b {
        a - b
    } else {
        (a + size).saturating_sub(b)
    }
}

/// `x + 1` modulo `size`, for `x < size`.
fn next(x: u32, size: u32) -> u32 {
    if x.saturating_add(1) >= size {
        0
    } else {
        x + 1
    }
}

/// A doorbell value that is out of range or moves a pointer backwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct BadDoorbell;

/// Whether a queue of `entries` entries of `entry_size` bytes at `base` stays inside the
/// 64-bit address space.
pub(super) fn fits(base: u64, entries: u32, entry_size: u64) -> bool {
    u64::from(entries)
        .checked_mul(entry_size)
        .and_then(|len| base.checked_add(len))
        .is_some()
}

/// A submission queue.
///
/// # Invariants
///
/// While `live`: `2 <= size <= 65536`, `head < size`, `tail < size`,
/// `base + size * SQE_SIZE` does not overflow, and `cqid` names a live completion queue.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sq {
    pub(super) live: bool,
    pub(super) base: u64,
    pub(super) size: u32,
    pub(super) head: u32,
    pub(super) tail: u32,
    pub(super) cqid: u16,
}

impl Sq {
    pub(super) const NONE: Sq = Sq {
        live: false,
        base: 0,
        size: 0,
        head: 0,
        tail: 0,
        cqid: 0,
    };

    /// A live, empty queue; the caller has checked the invariants.
    pub(super) fn new(base: u64, size: u32, cqid: u16) -> Sq {
        Sq {
            live: true,
            base,
            size,
            cqid,
            ..Sq::NONE
        }
    }

    /// Whether commands wait to be fetched.
    pub(super) fn has_commands(&self) -> bool {
        self.live && self.head != self.tail
    }

    /// The address of the entry at the head, and advances the head past it.
    pub(super) fn pop(&mut self) -> Option<u64> {
        if !self.has_commands() {
            return None;
        }
        let addr = u64::from(self.head)
            .checked_mul(SQE_SIZE)
            .and_then(|off| self.base.checked_add(off))?;
        self.head = next(self.head, self.size);
        Some(addr)
    }

    /// A tail doorbell write: `value` must be inside the queue and must not drop commands that
    /// were submitted but not fetched yet.
    pub(super) fn ring(&mut self, value: u32) -> Result<(), BadDoorbell> {
        if value >= self.size
            || distance(value, self.head, self.size) < distance(self.tail, self.head, self.size)
        {
            return Err(BadDoorbell);
        }
        // INVARIANT: value < size.
        self.tail = value;
        Ok(())
    }
}

/// A completion queue.
///
/// # Invariants
///
/// While `live`: `2 <= size <= 65536`, `head < size`, `tail < size`, and
/// `base + size * CQE_SIZE` does not overflow. The entries from `head` up to `tail` are
/// posted and not yet consumed; the queue is full when `tail + 1 == head` modulo `size`.
/// `phase` is the phase tag of the next entry posted at `tail`; it starts at 1 and flips each
/// time `tail` wraps.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cq {
    pub(super) live: bool,
    pub(super) base: u64,
    pub(super) size: u32,
    pub(super) head: u32,
    pub(super) tail: u32,
    pub(super) phase: bool,
    pub(super) ien: bool,
    pub(super) iv: u16,
    /// Entries were posted since the last interrupt.
    pub(super) notify: bool,
}

impl Cq {
    pub(super) const NONE: Cq = Cq {
        live: false,
        base: 0,
        size: 0,
        head: 0,
        tail: 0,
        phase: true,
        ien: false,
        iv: 0,
        notify: false,
    };

    /// A live, empty queue; the caller has checked the invariants.
    pub(super) fn new(base: u64, size: u32, ien: bool, iv: u16) -> Cq {
        Cq {
            live: true,
            base,
            size,
            ien,
            iv,
            ..Cq::NONE
        }
    }

    /// Whether posting another entry would overwrite one the host has not consumed.
    pub(super) fn is_full(&self) -> bool {
        !self.live || next(self.tail, self.size) == self.head
    }

    /// Where the next entry goes and its phase tag, if the queue is not full.
    pub(super) fn slot(&self) -> Option<(u64, bool)> {
        if self.is_full() {
            return None;
        }
        let addr = u64::from(self.tail)
            .checked_mul(CQE_SIZE)
            .and_then(|off| self.base.checked_add(off))?;
        Some((addr, self.phase))
    }

    /// Accounts for the entry just written at [`Cq::slot`].
    pub(super) fn advance(&mut self) {
        self.tail = next(self.tail, self.size);
        if self.tail == 0 {
            self.phase = !self.phase;
        }
        self.notify = true;
    }

    /// A head doorbell write: `value` must be inside the queue and must not release entries
    /// that have not been posted.
    pub(super) fn ring(&mut self, value: u32) -> Result<(), BadDoorbell> {
        if value >= self.size
            || distance(value, self.head, self.size) > distance(self.tail, self.head, self.size)
        {
            return Err(BadDoorbell);
        }
        // INVARIANT: value < size, and only posted entries are released.
        self.head = value;
        Ok(())
    }
}
