// SPDX-License-Identifier: GPL-2.0

//! Registry of fake physical ranges answered by test-owned memory.
//!
//! The C shim (`mock/nvmock_iomap.c`) gives every registered owner a *span* of fake physical
//! address space that no real device or RAM uses. The owner places test buffers in its span
//! through this registry; the shim's wrapped `ioremap()`, `memremap()`, `request_mem_region()`
//! and their release counterparts then ask the registry whether an address is one of ours:
//!
//! - an address outside the span is a [`Lookup::Miss`]: the shim falls through to the real
//!   kernel function;
//! - an address inside the span is answered from the registry: a live range yields the host
//!   address of the buffer, anything else is refused (never handed to the real kernel, which
//!   would map whatever happens to live at that physical address).
//!
//! Ranges are reference counted by their users (mappings and requested regions): removing a
//! range that is still in use only marks it dying; new lookups are refused, and the owner is
//! told to free the buffer when the last user lets go ([`Release::Freed`]).
//!
//! The registry uses no allocation: its slots live inline, in memory the caller provides.

/// A fake physical address.
pub type Phys = u64;

/// Identifies one registered range.
///
/// # Invariants
///
/// A handle names the slot at `index` only while that slot's generation equals `gen`, so a
/// stale handle of a freed and reused slot is rejected instead of naming the new range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle {
    index: u16,
    gen: u16,
}

impl Handle {
    /// The slot index, for diagnostics.
    pub fn index(self) -> usize {
        usize::from(self.index)
    }
}

/// Why the registry refused something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeError {
    /// A zero length.
    Empty,
    /// `start + len` (or `host + len`) overflows.
    Overflow,
    /// The range is not inside this registry's span.
    OutsideSpan,
    /// The range overlaps a registered range (physical or host side).
    Overlap,
    /// Every slot is in use.
    Full,
    /// The handle does not name a registered range.
    BadHandle,
    /// No free hole of that size and alignment is left in the span.
    NoSpace,
    /// The alignment is not a power of two.
    BadAlign,
    /// The address is in the span but not backed by any range.
    Unbacked,
    /// The address crosses the end of the range it starts in.
    Straddle,
    /// The range has been removed and waits for its last user.
    Gone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    Live,
    Dying,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    state: State,
    gen: u16,
    start: Phys,
    len: u64,
    host: usize,
    maps: u32,
    requests: u32,
}

impl Slot {
    const FREE: Slot = Slot {
        state: State::Free,
        gen: 0,
        start: 0,
        len: 0,
        host: 0,
        maps: 0,
        requests: 0,
    };

    fn in_use(&self) -> bool {
        self.state != State::Free
    }

    fn users(&self) -> u64 {
        u64::from(self.maps) + u64::from(self.requests)
    }

    /// Last physical address, inclusive (`len > 0` for every slot in use).
    fn last(&self) -> Phys {
        self.start + (self.len - 1)
    }

    fn host_last(&self) -> usize {
        // `insert` checked that `host + len` does not overflow.
        self.host + (self.len as usize - 1)
    }
}

/// What [`Registry::map`] and [`Registry::request`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Not in this registry's span: the caller falls through to the real kernel.
    Miss,
    /// A live range; `host` is the host address of `phys`. The range's use count was raised.
    Hit {
        /// The range.
        handle: Handle,
        /// Host address corresponding to the looked-up physical address.
        host: usize,
    },
    /// In this registry's span, but refused.
    Refused(RangeError),
}

/// What [`Registry::unmap`] and [`Registry::release`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Not one of ours: the caller falls through to the real kernel.
    Miss,
    /// One user of the range let go; the range stays.
    Dropped(Handle),
    /// The last user of a removed range let go: the slot is free and the owner must free the
    /// buffer now.
    Freed(Handle),
    /// In our span (or host buffers), but nothing is mapped or requested there.
    NotHeld,
}

/// What [`Registry::remove`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// The range had no users and is gone: the owner may free its buffer.
    Freed,
    /// The range is still mapped or requested: it is dying, and a later [`Release::Freed`]
    /// tells the owner when to free the buffer.
    Deferred,
}

/// A snapshot of one registered range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeInfo {
    /// First fake physical address.
    pub start: Phys,
    /// Length in bytes.
    pub len: u64,
    /// Host address of the backing buffer.
    pub host: usize,
    /// Live mappings.
    pub maps: u32,
    /// Requested regions.
    pub requests: u32,
    /// Removed, waiting for its last user.
    pub dying: bool,
}

/// Up to `N` ranges inside the span `[base, base + span)`.
///
/// # Invariants
///
/// - Slots in use have `len > 0`, lie inside the span, and neither their physical ranges nor
///   their host ranges overlap each other.
/// - A `Dying` slot has at least one user; a slot becomes `Free` as soon as it has none.
pub struct Registry<const N: usize> {
    base: Phys,
    span: u64,
    slots: [Slot; N],
}

impl<const N: usize> Registry<N> {
    /// An empty registry owning the fake physical span `[base, base + span)`.
    ///
    /// A span that would overflow is clipped to the end of the address space.
    pub const fn new(base: Phys, span: u64) -> Self {
        let span = if base.checked_add(span).is_none() {
            u64::MAX - base
        } else {
            span
        };
        // INVARIANT: no slot is in use.
        Registry {
            base,
            span,
            slots: [Slot::FREE; N],
        }
    }

    /// The span: first address and length.
    pub fn span(&self) -> (Phys, u64) {
        (self.base, self.span)
    }

    fn in_span(&self, phys: Phys) -> bool {
        phys >= self.base && phys - self.base < self.span
    }

    fn slot(&self, h: Handle) -> Result<&Slot, RangeError> {
        match self.slots.get(usize::from(h.index)) {
            Some(s) if s.in_use() && s.gen == h.gen => Ok(s),
            _ => Err(RangeError::BadHandle),
        }
    }

    fn handle(&self, index: usize) -> Handle {
        // `N` fits in u16: checked by `insert` before any slot is used.
        Handle {
            index: index as u16,
            gen: self.slots[index].gen,
        }
    }

    /// Registers `[start, start + len)` backed by the host buffer at `host`.
    pub fn insert(&mut self, start: Phys, len: u64, host: usize) -> Result<Handle, RangeError> {
        if len == 0 {
            return Err(RangeError::Empty);
        }
        let last = start.checked_add(len - 1).ok_or(RangeError::Overflow)?;
        let host_len = usize::try_from(len).map_err(|_| RangeError::Overflow)?;
        let host_last = host.checked_add(host_len - 1).ok_or(RangeError::Overflow)?;
        if !self.in_span(start) || !self.in_span(last) {
            return Err(RangeError::OutsideSpan);
        }
        if N > usize::from(u16::MAX) {
            return Err(RangeError::Full);
        }
        let mut free = None;
        for (i, s) in self.slots.iter().enumerate() {
            if !s.in_use() {
                free = free.or(Some(i));
                continue;
            }
            if start <= s.last() && s.start <= last {
                return Err(RangeError::Overlap);
            }
            if host <= s.host_last() && s.host <= host_last {
                return Err(RangeError::Overlap);
            }
        }
        let i = free.ok_or(RangeError::Full)?;
        let gen = self.slots[i].gen;
        // INVARIANT: checked above: non-empty, inside the span, no overlap.
        self.slots[i] = Slot {
            state: State::Live,
            gen,
            start,
            len,
            host,
            maps: 0,
            requests: 0,
        };
        Ok(self.handle(i))
    }

    /// Finds the lowest free hole of `len` bytes aligned to `align` in the span and registers
    /// it backed by `host`. Returns the handle and the chosen fake physical address.
    pub fn alloc(
        &mut self,
        len: u64,
        align: u64,
        host: usize,
    ) -> Result<(Handle, Phys), RangeError> {
        if len == 0 {
            return Err(RangeError::Empty);
        }
        if !align.is_power_of_two() {
            return Err(RangeError::BadAlign);
        }
        let end = self.base + self.span; // `new` clipped the span: no overflow.
        let mut cand = align_up(self.base, align).ok_or(RangeError::NoSpace)?;
        // Each pass either returns or moves `cand` past one slot: at most N + 1 passes.
        for _ in 0..=N {
            let cand_end = cand.checked_add(len).ok_or(RangeError::NoSpace)?;
            if cand_end > end {
                return Err(RangeError::NoSpace);
            }
            let blocker = self
                .slots
                .iter()
                .filter(|s| s.in_use() && cand <= s.last() && s.start < cand_end)
                .map(|s| s.last())
                .max();
            match blocker {
                None => return self.insert(cand, len, host).map(|h| (h, cand)),
                Some(last) => {
                    let next = last.checked_add(1).ok_or(RangeError::NoSpace)?;
                    cand = align_up(next, align).ok_or(RangeError::NoSpace)?;
                }
            }
        }
        Err(RangeError::NoSpace)
    }

    /// Removes a range. See [`Removal`].
    pub fn remove(&mut self, h: Handle) -> Result<Removal, RangeError> {
        let s = self.slot(h)?;
        if s.state == State::Dying {
            return Err(RangeError::Gone);
        }
        let i = usize::from(h.index);
        if s.users() == 0 {
            self.free(i);
            Ok(Removal::Freed)
        } else {
            // INVARIANT: dying with at least one user.
            self.slots[i].state = State::Dying;
            Ok(Removal::Deferred)
        }
    }

    fn free(&mut self, i: usize) {
        let gen = self.slots[i].gen.wrapping_add(1);
        self.slots[i] = Slot { gen, ..Slot::FREE };
    }

    /// A snapshot of a range.
    pub fn info(&self, h: Handle) -> Result<RangeInfo, RangeError> {
        let s = self.slot(h)?;
        Ok(RangeInfo {
            start: s.start,
            len: s.len,
            host: s.host,
            maps: s.maps,
            requests: s.requests,
            dying: s.state == State::Dying,
        })
    }

    /// Users (mappings plus requested regions) of the range in slot `index`; 0 for a free or
    /// out-of-range slot. Lets an owner that is going away tell which buffers may still be
    /// reached by a driver.
    pub fn slot_users(&self, index: usize) -> u64 {
        self.slots.get(index).map_or(0, |s| s.users())
    }

    /// Number of ranges in use (live or dying).
    pub fn count(&self) -> usize {
        self.slots.iter().filter(|s| s.in_use()).count()
    }

    /// Looks up `[phys, phys + len)` for a caller that will hold it (a mapping or a requested
    /// region), and on a hit counts one more user of `kind`.
    fn hold(&mut self, phys: Phys, len: u64, kind: Use) -> Lookup {
        if !self.in_span(phys) {
            return Lookup::Miss;
        }
        if len == 0 {
            return Lookup::Refused(RangeError::Empty);
        }
        let Some(i) = self
            .slots
            .iter()
            .position(|s| s.in_use() && s.start <= phys && phys <= s.last())
        else {
            return Lookup::Refused(RangeError::Unbacked);
        };
        let s = &mut self.slots[i];
        let off = phys - s.start;
        if len > s.len - off {
            return Lookup::Refused(RangeError::Straddle);
        }
        if s.state == State::Dying {
            return Lookup::Refused(RangeError::Gone);
        }
        let count = match kind {
            Use::Map => &mut s.maps,
            Use::Request => &mut s.requests,
        };
        let Some(n) = count.checked_add(1) else {
            return Lookup::Refused(RangeError::Full);
        };
        *count = n;
        Lookup::Hit {
            handle: self.handle(i),
            // `off < len`, and `host + len` fits (checked at insert).
            host: self.slots[i].host + off as usize,
        }
    }

    /// Drops one user of `kind` from slot `i`; frees a dying slot whose last user left.
    fn drop_user(&mut self, i: usize, kind: Use) -> Release {
        let h = self.handle(i);
        let s = &mut self.slots[i];
        let count = match kind {
            Use::Map => &mut s.maps,
            Use::Request => &mut s.requests,
        };
        if *count == 0 {
            return Release::NotHeld;
        }
        *count -= 1;
        if s.state == State::Dying && s.users() == 0 {
            self.free(i);
            Release::Freed(h)
        } else {
            Release::Dropped(h)
        }
    }

    /// `ioremap()`/`memremap()`: maps `[phys, phys + len)`.
    pub fn map(&mut self, phys: Phys, len: u64) -> Lookup {
        self.hold(phys, len, Use::Map)
    }

    /// `iounmap()`/`memunmap()`: `host` is an address [`Registry::map`] returned.
    pub fn unmap(&mut self, host: usize) -> Release {
        match self
            .slots
            .iter()
            .position(|s| s.in_use() && s.host <= host && host <= s.host_last())
        {
            Some(i) => self.drop_user(i, Use::Map),
            None => Release::Miss,
        }
    }

    /// `request_mem_region()`: claims `[phys, phys + len)` on behalf of the caller. Conflicts
    /// between requests are the real resource tree's business (the shim inserts the region
    /// under its span); this only checks that the memory is backed and keeps the range alive.
    pub fn request(&mut self, phys: Phys, len: u64) -> Lookup {
        self.hold(phys, len, Use::Request)
    }

    /// `release_mem_region()` of a region [`Registry::request`] accepted.
    pub fn release(&mut self, phys: Phys) -> Release {
        if !self.in_span(phys) {
            return Release::Miss;
        }
        match self
            .slots
            .iter()
            .position(|s| s.in_use() && s.start <= phys && phys <= s.last())
        {
            Some(i) => self.drop_user(i, Use::Request),
            None => Release::NotHeld,
        }
    }
}

#[derive(Clone, Copy)]
enum Use {
    Map,
    Request,
}

fn align_up(x: u64, align: u64) -> Option<u64> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}
