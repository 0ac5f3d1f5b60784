// SPDX-License-Identifier: GPL-2.0

//! NVM command set I/O commands.

use super::admin::check_cdw0;
use super::ctrl::Controller;
use super::ns::NSID_ALL;
use super::prp::{copy_in, Prp};
use super::queue::Sqe;
use super::regs::{Cc, CC_CSS_IO_SETS};
use super::status::Status;
use super::{Backing, HostMemory};

/// NVM command set I/O opcodes.
pub mod opcode {
    /// Flush.
    pub const FLUSH: u8 = 0x00;
    /// Write.
    pub const WRITE: u8 = 0x01;
    /// Read.
    pub const READ: u8 = 0x02;
    /// Compare.
    pub const COMPARE: u8 = 0x05;
    /// Write Zeroes.
    pub const WRITE_ZEROES: u8 = 0x08;
    /// Dataset Management.
    pub const DATASET_MANAGEMENT: u8 = 0x09;
    /// Zone Management Send (Zoned Namespace Command Set).
    pub const ZONE_MANAGEMENT_SEND: u8 = 0x79;
    /// Zone Management Receive (Zoned Namespace Command Set).
    pub const ZONE_MANAGEMENT_RECEIVE: u8 = 0x7a;
    /// Zone Append (Zoned Namespace Command Set).
    pub const ZONE_APPEND: u8 = 0x7d;
}

/// Write Zeroes CDW12: deallocate.
const WZ_DEAC: u32 = 1 << 25;
/// Dataset Management CDW11: attribute deallocate.
const DSM_AD: u32 = 1 << 2;
/// Size of one Dataset Management range.
const DSM_RANGE: usize = 16;

/// Which way data moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dir {
    /// Namespace to host.
    Read,
    /// Host to namespace.
    Write,
    /// Host against namespace.
    Compare,
}

/// Starting LBA (CDW11:CDW10) and number of blocks (CDW12 15:0, 0-based) of `sqe`.
fn lba_range(sqe: &Sqe) -> (u64, u64) {
    let slba = u64::from(sqe.cdw11) << 32 | u64::from(sqe.cdw10);
    (slba, u64::from(sqe.cdw12 & 0xffff) + 1)
}

/// Moves the data of `prp` between host memory and namespace `nsid` from byte `offset`,
/// through `buf`.
pub(super) fn transfer<M: HostMemory, B: Backing>(
    dir: Dir,
    nsid: u32,
    mut offset: u64,
    prp: &mut Prp,
    mem: &mut M,
    backing: &mut B,
    buf: &mut [u8],
) -> Result<(), Status> {
    let dte = |_| Status::DATA_TRANSFER_ERROR;
    let chunk = match dir {
        Dir::Compare => buf.len() / 2,
        Dir::Read | Dir::Write => buf.len(),
    };
    if chunk == 0 {
        return Err(Status::INTERNAL_ERROR);
    }
    while let Some(seg) = prp.next_segment(mem)? {
        let mut addr = seg.addr;
        let mut left = seg.len;
        while left > 0 {
            let n = usize::try_from(left).unwrap_or(usize::MAX).min(chunk);
            let (a, b) = buf
                .split_at_mut_checked(chunk)
                .ok_or(Status::INTERNAL_ERROR)?;
            let a = a.get_mut(..n).ok_or(Status::INTERNAL_ERROR)?;
            match dir {
                Dir::Read => {
                    backing
                        .read(nsid, offset, a)
                        .map_err(|_| Status::UNRECOVERED_READ_ERROR)?;
                    mem.write(addr, a).map_err(dte)?;
                }
                Dir::Write => {
                    mem.read(addr, a).map_err(dte)?;
                    backing
                        .write(nsid, offset, a)
                        .map_err(|_| Status::WRITE_FAULT)?;
                }
                Dir::Compare => {
                    let b = b.get_mut(..n).ok_or(Status::INTERNAL_ERROR)?;
                    mem.read(addr, a).map_err(dte)?;
                    backing
                        .read(nsid, offset, b)
                        .map_err(|_| Status::UNRECOVERED_READ_ERROR)?;
                    if a != b {
                        return Err(Status::COMPARE_FAILURE);
                    }
                }
            }
            let n = n as u64;
            addr = addr.wrapping_add(n);
            offset = offset.saturating_add(n);
            left -= n;
        }
    }
    Ok(())
}

impl<const QUEUES: usize> Controller<QUEUES> {
    /// Executes I/O command `sqe`; returns its DW1:DW0 or its error status.
    ///
    /// The zoned commands exist for zoned namespaces only, and every command to a zoned
    /// namespace is Invalid Command Opcode while CC.CSS selects the NVM Command Set alone.
    pub(super) fn io<M: HostMemory, B: Backing>(
        &mut self,
        sqe: &Sqe,
        mem: &mut M,
        backing: &mut B,
    ) -> Result<u64, Status> {
        check_cdw0(sqe)?;
        let zoned_set = self.params.has_zoned();
        if self.params.zoned_namespace(sqe.nsid).is_some() && Cc(self.cc).css() != CC_CSS_IO_SETS {
            return Err(Status::INVALID_OPCODE);
        }
        let dw0 = match sqe.opcode() {
            opcode::FLUSH => self.flush(sqe, backing),
            opcode::WRITE => self.read_write(Dir::Write, sqe, mem, backing),
            opcode::READ => self.read_write(Dir::Read, sqe, mem, backing),
            opcode::COMPARE => self.read_write(Dir::Compare, sqe, mem, backing),
            opcode::WRITE_ZEROES => self.write_zeroes(sqe, backing),
            opcode::DATASET_MANAGEMENT => self.dataset_management(sqe, mem, backing),
            // The zoned commands: Invalid Namespace or Format for an NSID that is no active
            // namespace, Invalid Command Opcode for a conventional one.
            opcode::ZONE_MANAGEMENT_SEND if zoned_set => {
                return self.zone_management_send(sqe, backing)
            }
            opcode::ZONE_MANAGEMENT_RECEIVE if zoned_set => {
                return self.zone_management_receive(sqe, mem, backing)
            }
            opcode::ZONE_APPEND if zoned_set => return self.zone_append(sqe, mem, backing),
            _ => Err(Status::INVALID_OPCODE),
        };
        dw0.map(u64::from)
    }

    /// Flush: namespace `nsid`, or every attached namespace for the broadcast NSID.
    fn flush<B: Backing>(&mut self, sqe: &Sqe, backing: &mut B) -> Result<u32, Status> {
        if sqe.nsid == NSID_ALL {
            for nsid in 1..=self.params.namespace_count() {
                if self.is_attached(nsid) {
                    backing.flush(nsid).map_err(|_| Status::WRITE_FAULT)?;
                }
            }
            return Ok(0);
        }
        self.active_namespace(sqe.nsid)?;
        backing.flush(sqe.nsid).map_err(|_| Status::WRITE_FAULT)?;
        Ok(0)
    }

    fn read_write<M: HostMemory, B: Backing>(
        &mut self,
        dir: Dir,
        sqe: &Sqe,
        mem: &mut M,
        backing: &mut B,
    ) -> Result<u32, Status> {
        let ns = self.active_namespace(sqe.nsid)?;
        let (slba, nlb) = lba_range(sqe);
        // At most 2^16 blocks of at most 2^12 bytes: no overflow.
        if nlb << ns.lba_shift() > self.params.max_transfer() {
            return Err(Status::INVALID_FIELD);
        }
        let (offset, len) = ns.range(slba, nlb).ok_or(Status::LBA_OUT_OF_RANGE)?;
        let mut prp = Prp::new(sqe.prp1, sqe.prp2, len, self.page_size())?;
        let zone = match (dir, self.params.zoned_namespace(sqe.nsid).copied()) {
            (_, None) => None,
            (Dir::Read | Dir::Compare, Some(_)) => {
                self.zoned_read_check(backing, sqe.nsid, slba, nlb)?;
                None
            }
            (Dir::Write, Some(z)) => {
                Some(self.zoned_write_begin(backing, sqe.nsid, &z, &ns, slba, nlb)?)
            }
        };
        transfer(dir, sqe.nsid, offset, &mut prp, mem, backing, &mut self.buf)?;
        if let Some(i) = zone {
            self.zoned_write_done(backing, sqe.nsid, i, nlb)?;
        }
        match dir {
            Dir::Read | Dir::Compare => self.logs.count_read(len),
            Dir::Write => self.logs.count_write(len),
        }
        Ok(0)
    }

    fn write_zeroes<B: Backing>(&mut self, sqe: &Sqe, backing: &mut B) -> Result<u32, Status> {
        let ns = self.active_namespace(sqe.nsid)?;
        let (slba, nlb) = lba_range(sqe);
        let (offset, len) = ns.range(slba, nlb).ok_or(Status::LBA_OUT_OF_RANGE)?;
        let zone = match self.params.zoned_namespace(sqe.nsid).copied() {
            Some(z) => Some(self.zoned_write_begin(backing, sqe.nsid, &z, &ns, slba, nlb)?),
            None => None,
        };
        let r = if sqe.cdw12 & WZ_DEAC != 0 {
            backing.deallocate(sqe.nsid, offset, len)
        } else {
            backing.zero(sqe.nsid, offset, len)
        };
        r.map_err(|_| Status::WRITE_FAULT)?;
        if let Some(i) = zone {
            self.zoned_write_done(backing, sqe.nsid, i, nlb)?;
        }
        Ok(0)
    }

    /// Dataset Management: every range is checked before any is deallocated. Without the
    /// deallocate attribute the ranges are only hints and the command does nothing.
    fn dataset_management<M: HostMemory, B: Backing>(
        &mut self,
        sqe: &Sqe,
        mem: &mut M,
        backing: &mut B,
    ) -> Result<u32, Status> {
        let ns = self.active_namespace(sqe.nsid)?;
        let count = (sqe.cdw10 & 0xff) as usize + 1;
        let len = count * DSM_RANGE;
        let mut prp = Prp::new(sqe.prp1, sqe.prp2, len as u64, self.page_size())?;
        let ranges = self.buf.get_mut(..len).ok_or(Status::INTERNAL_ERROR)?;
        copy_in(mem, &mut prp, ranges)?;
        if sqe.cdw11 & DSM_AD == 0 {
            return Ok(0);
        }
        let decode = |r: &[u8]| {
            let mut b = [0u8; DSM_RANGE];
            b.iter_mut().zip(r).for_each(|(d, s)| *d = *s);
            let [_, _, _, _, n0, n1, n2, n3, l0, l1, l2, l3, l4, l5, l6, l7] = b;
            let nlb = u32::from_le_bytes([n0, n1, n2, n3]);
            let slba = u64::from_le_bytes([l0, l1, l2, l3, l4, l5, l6, l7]);
            ns.range(slba, u64::from(nlb))
        };
        if ranges.chunks_exact(DSM_RANGE).any(|r| decode(r).is_none()) {
            return Err(Status::LBA_OUT_OF_RANGE);
        }
        for (offset, len) in ranges.chunks_exact(DSM_RANGE).filter_map(decode) {
            if len > 0 {
                backing
                    .deallocate(sqe.nsid, offset, len)
                    .map_err(|_| Status::WRITE_FAULT)?;
            }
        }
        Ok(0)
    }
}
