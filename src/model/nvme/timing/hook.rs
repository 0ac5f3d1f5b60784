// SPDX-License-Identifier: GPL-2.0

//! The controller's [`Timing`] hook over a timing [`Model`].
//!
//! Each command the controller fetches becomes a [`Command`]: Read and Compare are reads,
//! Write and Zone Append writes, Flush a flush, each with the byte range its starting LBA and
//! block count give in the namespace's current block size; Zone Management Send with the
//! Reset or Finish action is a zone reset or finish ([`Op::ZoneReset`], [`Op::ZoneFinish`]) of
//! the zone its SLBA starts (length 0) or, with Select All, of every zone (offset 0, length
//! `u64::MAX`); everything else (admin commands, Write Zeroes, Dataset Management, other zone
//! management), a command that failed, and a command to a namespace without a known block
//! size move no data ([`Op::Other`]). Its submission
//! time is the `now` of the controller's [`Controller::process_timed`](super::super::Controller::process_timed)
//! call, which the caller keeps in nanoseconds.

use super::super::{io_opcode, Sqe, Status, Timing, MAX_NAMESPACES};
use super::{Command, Model, Op};

/// A [`Timing`] that asks a [`Model`] when each completion is due.
///
/// The caller builds one per [`Controller::process_timed`](super::super::Controller::process_timed)
/// call, with the namespaces' block sizes as the controller has them then.
pub struct ModelTiming<'a, M: ?Sized> {
    model: &'a mut M,
    lba_sizes: [u32; MAX_NAMESPACES],
}

impl<'a, M: Model + ?Sized> ModelTiming<'a, M> {
    /// Times commands with `model`; `lba_size` gives the block size of NSIDs 1 to
    /// [`MAX_NAMESPACES`] (`None` for a namespace that is not there).
    pub fn new(model: &'a mut M, lba_size: impl Fn(u32) -> Option<u32>) -> Self {
        let mut lba_sizes = [0; MAX_NAMESPACES];
        for (i, s) in lba_sizes.iter_mut().enumerate() {
            // i < MAX_NAMESPACES <= 16.
            *s = lba_size(i as u32 + 1).unwrap_or(0);
        }
        ModelTiming { model, lba_sizes }
    }

    /// The [`Command`] the model sees for `sqe`, fetched from queue `sqid` at `now` and
    /// finished with `status`.
    pub fn command(&self, now: u64, sqid: u16, sqe: &Sqe, status: Status) -> Command {
        let other = Command {
            op: Op::Other,
            nsid: sqe.nsid,
            offset: 0,
            len: 0,
            submit: now,
        };
        if sqid == 0 || !status.is_success() {
            return other;
        }
        // Zone Management Send: ZSA in CDW13 7:0 (02h Finish Zone, 04h Reset Zone), Select
        // All in bit 8.
        let zsa = sqe.cdw13 & 0xff;
        let select_all = sqe.cdw13 & 0x100 != 0;
        let op = match sqe.opcode() {
            io_opcode::READ | io_opcode::COMPARE => Op::Read,
            io_opcode::WRITE | io_opcode::ZONE_APPEND => Op::Write,
            io_opcode::ZONE_MANAGEMENT_SEND if zsa == 0x04 => Op::ZoneReset,
            io_opcode::ZONE_MANAGEMENT_SEND if zsa == 0x02 => Op::ZoneFinish,
            io_opcode::FLUSH => {
                return Command {
                    op: Op::Flush,
                    ..other
                }
            }
            _ => return other,
        };
        let lba = sqe
            .nsid
            .checked_sub(1)
            .and_then(|i| self.lba_sizes.get(i as usize))
            .map_or(0, |&s| u64::from(s));
        if lba == 0 {
            return other;
        }
        let slba = u64::from(sqe.cdw11) << 32 | u64::from(sqe.cdw10);
        let blocks = u64::from(sqe.cdw12 & 0xffff) + 1;
        let (offset, len) = match op {
            Op::ZoneReset | Op::ZoneFinish if select_all => (0, u64::MAX),
            Op::ZoneReset | Op::ZoneFinish => (slba.saturating_mul(lba), 0),
            _ => (slba.saturating_mul(lba), blocks * lba),
        };
        Command {
            op,
            nsid: sqe.nsid,
            offset,
            len,
            submit: now,
        }
    }

    /// The model.
    pub fn model(&mut self) -> &mut M {
        self.model
    }
}

impl<M: Model + ?Sized> Timing for ModelTiming<'_, M> {
    fn complete_at(&mut self, now: u64, sqid: u16, sqe: &Sqe, status: Status) -> u64 {
        let cmd = self.command(now, sqid, sqe, status);
        self.model.complete(&cmd)
    }
}
