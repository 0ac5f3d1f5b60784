// SPDX-License-Identifier: GPL-2.0

//! Physical Region Page (PRP) walking and data transfer.
//!
//! A command names its data buffer with PRP1 and PRP2, in memory pages of CC.MPS size:
//!
//! - PRP1 points at the first byte; it may have an offset into its page (dword aligned). The
//!   first segment runs to the end of that page.
//! - If the rest fits in one page, PRP2 points at that page (offset 0).
//! - Otherwise PRP2 points at a PRP list (qword aligned, may have an offset): 8-byte entries,
//!   each a page-aligned data page. When the rest of the transfer needs more entries than fit
//!   in the list's page, the page's last entry instead points at the next list page (page
//!   aligned), and so on.
//!
//! [`Prp`] yields the data segments one at a time, reading list entries from host memory as
//! it goes. It never yields more than the requested length, and each call does at most two
//! 8-byte reads, so a walk takes at most `len / page + 1` calls whatever the lists contain.

use super::status::Status;
use super::HostMemory;

/// A contiguous piece of a data buffer in host memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Host physical address.
    pub addr: u64,
    /// Length in bytes (at least 1).
    pub len: u64,
}

#[derive(Clone, Copy, Debug)]
enum Stage {
    First { prp1: u64, prp2: u64 },
    Second { prp2: u64 },
    List { entry: u64 },
    Done,
}

/// A walk over the data segments described by PRP1 and PRP2.
///
/// # Invariants
///
/// `page` is a power of two of at least 4096. The segments yielded so far plus `remaining`
/// add up to the requested length. After an error the walk is over (`Done`).
#[derive(Clone, Copy, Debug)]
pub struct Prp {
    page: u64,
    remaining: u64,
    stage: Stage,
}

impl Prp {
    /// A walk over `len` bytes described by `prp1` and `prp2` with memory page size `page`.
    ///
    /// Fails with Invalid Field in Command if `page` is not a power of two of at least 4096.
    pub fn new(prp1: u64, prp2: u64, len: u64, page: u64) -> Result<Prp, Status> {
        if !page.is_power_of_two() || page < 4096 {
            return Err(Status::INVALID_FIELD);
        }
        let stage = if len == 0 {
            Stage::Done
        } else {
            Stage::First { prp1, prp2 }
        };
        // INVARIANT: `page` checked; nothing yielded yet.
        Ok(Prp {
            page,
            remaining: len,
            stage,
        })
    }

    /// Bytes not yet yielded.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// The next segment, `None` at the end, or the status the command fails with: Invalid
    /// PRP Offset for a misaligned entry, Data Transfer Error for an unreadable PRP list.
    pub fn next_segment<M: HostMemory>(&mut self, mem: &mut M) -> Result<Option<Segment>, Status> {
        let r = self.step(mem);
        if r.is_err() {
            self.stage = Stage::Done;
        }
        r
    }

    fn offset(&self, addr: u64) -> u64 {
        addr & (self.page - 1)
    }

    /// Takes `len` bytes at `addr` from the remaining length and picks what follows.
    fn take(&mut self, addr: u64, len: u64, then: Stage) -> Option<Segment> {
        self.remaining -= len;
        self.stage = if self.remaining == 0 {
            Stage::Done
        } else {
            then
        };
        Some(Segment { addr, len })
    }

    fn step<M: HostMemory>(&mut self, mem: &mut M) -> Result<Option<Segment>, Status> {
        match self.stage {
            Stage::Done => Ok(None),
            Stage::First { prp1, prp2 } => {
                if prp1 & 3 != 0 {
                    return Err(Status::INVALID_PRP_OFFSET);
                }
                let len = (self.page - self.offset(prp1)).min(self.remaining);
                let rest = self.remaining - len;
                let then = if rest <= self.page {
                    Stage::Second { prp2 }
                } else if prp2 & 7 != 0 {
                    return Err(Status::INVALID_PRP_OFFSET);
                } else {
                    Stage::List { entry: prp2 }
                };
                Ok(self.take(prp1, len, then))
            }
            Stage::Second { prp2 } => {
                if self.offset(prp2) != 0 {
                    return Err(Status::INVALID_PRP_OFFSET);
                }
                Ok(self.take(prp2, self.remaining, Stage::Done))
            }
            Stage::List { mut entry } => {
                // The last slot of a list page chains to the next list page when more than
                // one entry is still needed.
                if self.offset(entry) == self.page - 8 && self.remaining > self.page {
                    entry = read_entry(mem, entry)?;
                    if self.offset(entry) != 0 {
                        return Err(Status::INVALID_PRP_OFFSET);
                    }
                }
                let addr = read_entry(mem, entry)?;
                if self.offset(addr) != 0 {
                    return Err(Status::INVALID_PRP_OFFSET);
                }
                let len = self.page.min(self.remaining);
                let next = entry.checked_add(8).ok_or(Status::DATA_TRANSFER_ERROR)?;
                Ok(self.take(addr, len, Stage::List { entry: next }))
            }
        }
    }
}

fn read_entry<M: HostMemory>(mem: &mut M, addr: u64) -> Result<u64, Status> {
    let mut b = [0u8; 8];
    mem.read(addr, &mut b)
        .map_err(|_| Status::DATA_TRANSFER_ERROR)?;
    Ok(u64::from_le_bytes(b))
}

const ZEROES: [u8; 256] = [0; 256];

/// Writes the whole transfer of `prp` to host memory: `src`, then zeroes for whatever the
/// transfer has beyond `src`.
pub(super) fn copy_out<M: HostMemory>(
    mem: &mut M,
    prp: &mut Prp,
    src: &[u8],
) -> Result<(), Status> {
    let mut src = src;
    while let Some(seg) = prp.next_segment(mem)? {
        let mut addr = seg.addr;
        let mut left = seg.len;
        while left > 0 {
            let (chunk, rest) = if src.is_empty() {
                (&ZEROES[..], src)
            } else {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(src.len());
                src.split_at_checked(n).unwrap_or((src, &[]))
            };
            let n = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
            let chunk = chunk.get(..n).unwrap_or(&[]);
            mem.write(addr, chunk)
                .map_err(|_| Status::DATA_TRANSFER_ERROR)?;
            src = rest;
            addr = addr.wrapping_add(n as u64);
            left -= n as u64;
        }
    }
    Ok(())
}

/// Reads the whole transfer of `prp` from host memory into the start of `dst`, which must be
/// large enough (Internal Error otherwise).
pub(super) fn copy_in<M: HostMemory>(
    mem: &mut M,
    prp: &mut Prp,
    dst: &mut [u8],
) -> Result<(), Status> {
    let mut pos = 0usize;
    while let Some(seg) = prp.next_segment(mem)? {
        let n = usize::try_from(seg.len).map_err(|_| Status::INTERNAL_ERROR)?;
        let end = pos.checked_add(n).ok_or(Status::INTERNAL_ERROR)?;
        let d = dst.get_mut(pos..end).ok_or(Status::INTERNAL_ERROR)?;
        mem.read(seg.addr, d)
            .map_err(|_| Status::DATA_TRANSFER_ERROR)?;
        pos = end;
    }
    Ok(())
}

/// Reads the whole transfer of `prp` from host memory, `scratch` at a time, and drops it: for
/// data the controller only needs to have received (Internal Error for an empty `scratch`).
pub(super) fn discard_in<M: HostMemory>(
    mem: &mut M,
    prp: &mut Prp,
    scratch: &mut [u8],
) -> Result<(), Status> {
    if scratch.is_empty() {
        return Err(Status::INTERNAL_ERROR);
    }
    while let Some(seg) = prp.next_segment(mem)? {
        let mut addr = seg.addr;
        let mut left = seg.len;
        while left > 0 {
            let n = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(scratch.len());
            let d = scratch.get_mut(..n).ok_or(Status::INTERNAL_ERROR)?;
            mem.read(addr, d).map_err(|_| Status::DATA_TRANSFER_ERROR)?;
            addr = addr.wrapping_add(n as u64);
            left -= n as u64;
        }
    }
    Ok(())
}
