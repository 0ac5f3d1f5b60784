// SPDX-License-Identifier: GPL-2.0

//! Completions held back by the timing hook until they are due.
//!
//! A command executes when it is fetched; [`Timing`](super::Timing) says when its completion
//! may be posted. Completions that are not due yet wait here, in one pool per controller, so
//! that a submission queue keeps being fetched from while earlier commands of it are in
//! flight: several commands of one queue can be outstanding, each with its own due time, as
//! on a real SSD with internal parallelism.
//!
//! The pool holds [`PENDING_PER_QUEUE`] entries per queue pair of the controller, inline (no
//! allocation: the caller places the whole controller). It is shared by all queues, with
//! [`PENDING_PER_QUEUE`] entries kept for the admin queue, so that completions withheld on
//! I/O queues never keep the host from aborting commands or deleting queues. A queue is not
//! fetched from while the pool has no room for it (the controller stops fetching, as a
//! device whose internal command slots are all busy does).
//!
//! Entries are kept sorted by due time, and in fetch order among equal times; due entries are
//! posted in that order (an entry whose completion queue is full waits without holding up
//! entries for other completion queues).

use super::queue::Cqe;
use super::status::Status;

/// Completions the pool holds per queue pair of the controller.
pub const PENDING_PER_QUEUE: usize = 64;

/// A completion that has been produced but not yet posted, with the time it may be posted.
#[derive(Clone, Copy, Debug)]
pub(super) struct Held {
    /// The entry; its SQ ID names the submission queue, its SQ head and phase are filled in
    /// when it is posted.
    pub(super) cqe: Cqe,
    /// When it may be posted.
    pub(super) due: u64,
    /// Posted (or dropped): [`Pending::sweep_front`] removes it.
    posted: bool,
}

impl Held {
    const EMPTY: Held = Held {
        cqe: Cqe {
            result: 0,
            dw1: 0,
            sq_head: 0,
            sq_id: 0,
            cid: 0,
            phase: false,
            status: Status::SUCCESS,
        },
        due: 0,
        posted: false,
    };

    /// A held completion of `cqe`, due at `due`.
    pub(super) fn new(cqe: Cqe, due: u64) -> Held {
        Held {
            cqe,
            due,
            posted: false,
        }
    }
}

/// The pool of held completions of a controller with `QUEUES` queue pairs: a ring of
/// `QUEUES * PENDING_PER_QUEUE` entries.
///
/// # Invariants
///
/// `len <= QUEUES * PENDING_PER_QUEUE` and `head < QUEUES * PENDING_PER_QUEUE` (or 0); the
/// `len` entries from `head` (wrapping) are sorted by `due`, ascending, entries with equal
/// `due` in insertion order.
pub(super) struct Pending<const QUEUES: usize> {
    ring: [[Held; PENDING_PER_QUEUE]; QUEUES],
    head: usize,
    len: usize,
}

impl<const QUEUES: usize> Pending<QUEUES> {
    /// An empty pool.
    pub(super) const NEW: Self = Pending {
        ring: [[Held::EMPTY; PENDING_PER_QUEUE]; QUEUES],
        head: 0,
        len: 0,
    };

    /// Initialises an empty pool at `p` without building it on the stack.
    ///
    /// # Safety
    ///
    /// `p` is valid for writes of a `Self`.
    pub(super) unsafe fn init_raw(p: *mut Self) {
        // SAFETY: `p` is valid for writes (the caller's guarantee); every field is written
        // through a raw pointer to it, the ring entry by entry.
        unsafe {
            let ring = core::ptr::addr_of_mut!((*p).ring).cast::<Held>();
            for i in 0..Self::capacity() {
                ring.add(i).write(Held::EMPTY);
            }
            core::ptr::addr_of_mut!((*p).head).write(0);
            core::ptr::addr_of_mut!((*p).len).write(0);
        }
    }

    /// Entries the pool holds at most.
    pub(super) const fn capacity() -> usize {
        QUEUES * PENDING_PER_QUEUE
    }

    /// Held completions.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Whether a command fetched from submission queue `qid` could be held: an I/O queue
    /// leaves [`PENDING_PER_QUEUE`] entries to the admin queue.
    pub(super) fn has_room(&self, qid: usize) -> bool {
        let free = Self::capacity() - self.len;
        if qid == 0 {
            free > 0
        } else {
            free > PENDING_PER_QUEUE
        }
    }

    fn slot(&self, i: usize) -> usize {
        // head + i < 2 * capacity: no overflow.
        (self.head + i) % Self::capacity()
    }

    /// The entry `i` places after the earliest (`i < len`).
    pub(super) fn get(&self, i: usize) -> Held {
        let s = self.slot(i);
        self.ring
            .as_flattened()
            .get(s)
            .copied()
            .unwrap_or(Held::EMPTY)
    }

    fn set(&mut self, i: usize, h: Held) {
        let s = self.slot(i);
        if let Some(e) = self.ring.as_flattened_mut().get_mut(s) {
            *e = h;
        }
    }

    /// Holds `h`, after every entry due no later than it; gives it back if the pool is full.
    pub(super) fn insert(&mut self, h: Held) -> Result<(), Held> {
        if self.len >= Self::capacity() {
            return Err(h);
        }
        let mut i = self.len;
        while i > 0 {
            let prev = self.get(i - 1);
            if prev.due <= h.due {
                break;
            }
            self.set(i, prev);
            i -= 1;
        }
        self.set(i, h);
        // INVARIANT: below capacity, and `h` went where it keeps the order.
        self.len += 1;
        Ok(())
    }

    /// Entries due at `now` (the leading ones); withheld entries (due at `u64::MAX`) never
    /// are.
    pub(super) fn due_count(&self, now: u64) -> usize {
        (0..self.len)
            .take_while(|&i| {
                let due = self.get(i).due;
                due <= now && due != u64::MAX
            })
            .count()
    }

    /// The earliest due time after `now`, leaving out withheld entries (due at `u64::MAX`).
    pub(super) fn next_due_after(&self, now: u64) -> Option<u64> {
        (0..self.len)
            .map(|i| self.get(i).due)
            .find(|&due| due > now)
            .filter(|&due| due != u64::MAX)
    }

    /// Marks entry `i` posted, for [`Pending::sweep_front`].
    pub(super) fn mark_posted(&mut self, i: usize) {
        if i < self.len {
            let mut e = self.get(i);
            e.posted = true;
            self.set(i, e);
        }
    }

    /// Removes the entries marked posted among the first `n`, keeping the order.
    pub(super) fn sweep_front(&mut self, n: usize) {
        let n = n.min(self.len);
        // Compact the unposted ones to the front of the swept part...
        let mut w = 0;
        for i in 0..n {
            let e = self.get(i);
            if !e.posted {
                if w != i {
                    self.set(w, e);
                }
                w += 1;
            }
        }
        let removed = n - w;
        // ... then move them up against the rest, and drop the gap at the front.
        for j in (0..w).rev() {
            let e = self.get(j);
            self.set(j + removed, e);
        }
        // INVARIANT: the order is kept; head stays below capacity.
        self.head = self.slot(removed);
        self.len -= removed;
    }

    /// Drops every entry.
    pub(super) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}
