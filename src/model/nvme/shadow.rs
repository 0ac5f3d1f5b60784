// SPDX-License-Identifier: GPL-2.0

//! BAR0 as plain memory: the registers a driver writes with `writel()` are seen by polling.
//!
//! On x86_64 the wrapped `ioremap()` hands the driver the kernel address of a buffer, so MMIO
//! writes are ordinary stores that nothing traps. [`Shadow`] bridges that buffer and a
//! [`Controller`]: [`Shadow::pull`] reads the host-writable registers and the doorbells,
//! compares them with what it saw last, and turns every change into a
//! [`Controller::mmio_write`]; [`Shadow::push`] writes the registers the controller owns
//! (CAP, VS, CSTS) back into the buffer for the driver to read.
//!
//! # What polling cannot see, and why it does not matter here
//!
//! - A write of the value already there is invisible. For a doorbell that is harmless: a
//!   submission queue tail or completion queue head written twice with the same value means
//!   no new entries (a queue holds at most `entries - 1`, so the pointer cannot travel a full
//!   lap between two polls). After a controller reset the old doorbell values would alias
//!   new ones, so [`Shadow::push`] zeroes the doorbells when the controller becomes disabled,
//!   before CSTS.RDY reads 0; a driver only rings doorbells after it has seen CSTS.RDY = 1.
//! - INTMS and INTMC read back as the value last written, not as the mask; a write of the same
//!   value twice acts once, and writing INTMC equal to the last INTMC value is lost. Linux's
//!   nvme driver uses neither.
//! - Registers are read in the reverse of the order a driver programs them: CC first, then
//!   AQA/ASQ/ACQ. A driver writes the admin queue registers before setting CC.EN (with
//!   `writel()` ordering), so once the new CC is seen the queue registers are current too.
//!
//! The shadow never writes a host-writable register, so a driver's write is never clobbered.

use super::ctrl::Controller;
use super::regs;

/// 32-bit accesses to the BAR0 buffer. The kernel implements them with volatile accesses;
/// the driver may write concurrently.
pub trait Bar {
    /// Reads the dword at `offset`.
    fn read32(&self, offset: u64) -> u32;
    /// Writes the dword at `offset`.
    fn write32(&self, offset: u64, value: u32);
}

/// What [`Shadow::pull`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pulled {
    /// Registers (not doorbells) that changed.
    pub registers: u32,
    /// Doorbells that changed.
    pub doorbells: u32,
}

impl Pulled {
    /// Whether anything changed.
    pub fn any(&self) -> bool {
        self.registers != 0 || self.doorbells != 0
    }
}

/// Host-writable registers, in the order [`Shadow::pull`] reads them.
const WRITABLE: [u64; 8] = [
    regs::CC,
    regs::INTMS,
    regs::INTMC,
    regs::AQA,
    regs::ASQ,
    regs::ASQ + 4,
    regs::ACQ,
    regs::ACQ + 4,
];

/// The last values seen in a BAR0 buffer of a controller with `QUEUES` queue pairs.
///
/// # Invariants
///
/// `regs[i]` is the value of `WRITABLE[i]` and `doorbells[q]` the SQ tail and CQ head
/// doorbells of queue pair `q` as last read from (or written to) the buffer.
pub struct Shadow<const QUEUES: usize> {
    regs: [u32; WRITABLE.len()],
    doorbells: [[u32; 2]; QUEUES],
    /// Whether the controller was enabled at the last [`Shadow::push`].
    enabled: bool,
}

impl<const QUEUES: usize> Default for Shadow<QUEUES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const QUEUES: usize> Shadow<QUEUES> {
    /// The shadow of an all-zero buffer.
    pub const fn new() -> Self {
        Shadow {
            regs: [0; WRITABLE.len()],
            doorbells: [[0; 2]; QUEUES],
            enabled: false,
        }
    }

    /// Zeroes the buffer's first `len` bytes (rounded down to dwords) and publishes the
    /// controller-owned registers: the buffer of a newly created controller.
    pub fn reset<B: Bar>(&mut self, bar: &B, len: u64, ctrl: &Controller<QUEUES>) {
        let mut off = 0;
        while off + 4 <= len {
            bar.write32(off, 0);
            off += 4;
        }
        *self = Self::new();
        self.push(bar, ctrl);
    }

    /// Feeds every register and doorbell the driver changed since the last call to `ctrl`.
    pub fn pull<B: Bar>(&mut self, bar: &B, ctrl: &mut Controller<QUEUES>) -> Pulled {
        let mut seen = [0u32; WRITABLE.len()];
        for (v, off) in seen.iter_mut().zip(WRITABLE) {
            *v = bar.read32(off);
        }
        let mut p = Pulled::default();
        // Apply in the order a driver writes: queue registers, masks, then CC.
        for i in (0..WRITABLE.len()).rev() {
            if seen[i] != self.regs[i] {
                self.regs[i] = seen[i];
                // 4-byte aligned offsets below the doorbells are always accepted.
                let _ = ctrl.mmio_write(WRITABLE[i], 4, u64::from(seen[i]));
                p.registers += 1;
            }
        }
        for q in 0..QUEUES {
            for (k, last) in self.doorbells[q].iter_mut().enumerate() {
                let off = regs::DOORBELLS + 8 * q as u64 + 4 * k as u64;
                let v = bar.read32(off);
                if v != *last {
                    *last = v;
                    let _ = ctrl.mmio_write(off, 4, u64::from(v));
                    p.doorbells += 1;
                }
            }
        }
        p
    }

    /// Publishes CAP, VS and CSTS. When the controller has become disabled since the last
    /// call, first zeroes the doorbells (see the module documentation).
    pub fn push<B: Bar>(&mut self, bar: &B, ctrl: &Controller<QUEUES>) {
        let enabled = ctrl.csts() & regs::CSTS_RDY != 0 || self.regs[0] & regs::CC_EN != 0;
        if self.enabled && !enabled {
            for (q, pair) in self.doorbells.iter_mut().enumerate() {
                for (k, last) in pair.iter_mut().enumerate() {
                    bar.write32(regs::DOORBELLS + 8 * q as u64 + 4 * k as u64, 0);
                    *last = 0;
                }
            }
        }
        self.enabled = enabled;
        for off in [regs::CAP, regs::CAP + 4, regs::VS] {
            // Aligned 4-byte reads of registers always succeed.
            bar.write32(off, ctrl.mmio_read(off, 4).unwrap_or(0) as u32);
        }
        bar.write32(regs::CSTS, ctrl.csts());
    }
}
