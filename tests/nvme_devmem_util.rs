// SPDX-License-Identifier: GPL-2.0

//! Shared harness of the CMB and PMR tests: the test host of `nvme_util.rs` with the
//! controller's own memory (CMB, PMR) on `Vec`s, given to the model through
//! [`HostMemory::cmb`] and [`HostMemory::pmr`]. Built on its own it has no tests.

#![allow(dead_code, missing_docs)]

#[path = "nvme_util.rs"]
pub mod util;

use nvmock_model::nvme::*;
pub use util::*;

/// Guest memory plus the controller's CMB and PMR memory (empty: not given).
pub struct DevMem<'a> {
    pub mem: &'a mut Mem,
    pub cmb: &'a mut Vec<u8>,
    pub pmr: &'a mut Vec<u8>,
}

impl HostMemory for DevMem<'_> {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        self.mem.read(addr, buf)
    }

    fn write(&mut self, addr: u64, buf: &[u8]) -> Result<(), MemError> {
        self.mem.write(addr, buf)
    }

    fn cmb(&mut self) -> Option<&mut [u8]> {
        (!self.cmb.is_empty()).then_some(self.cmb.as_mut_slice())
    }

    fn pmr(&mut self) -> Option<&mut [u8]> {
        (!self.pmr.is_empty()).then_some(self.pmr.as_mut_slice())
    }
}

/// A test host whose controller has its own memory.
pub struct Dev {
    pub h: Host,
    pub cmb: Vec<u8>,
    pub pmr: Vec<u8>,
}

impl Dev {
    /// A disabled controller with `cmb` and `pmr` (whose memory is zeroed `Vec`s of their
    /// sizes).
    pub fn new(cmb: Option<Cmb>, pmr: Option<Pmr>) -> Dev {
        let mut h = Host::new();
        if let Some(c) = cmb {
            h.ctrl.set_cmb(c).expect("CMB accepted");
        }
        if let Some(p) = pmr {
            h.ctrl.set_pmr(p).expect("PMR accepted");
        }
        Dev {
            cmb: vec![0; cmb.map_or(0, |c| c.size() as usize)],
            pmr: vec![0; pmr.map_or(0, |p| p.size() as usize)],
            h,
        }
    }

    /// [`Dev::new`], enabled, with I/O queue pair 1 of 64 entries in host memory.
    pub fn ready_io(cmb: Option<Cmb>, pmr: Option<Pmr>) -> Dev {
        let mut d = Dev::new(cmb, pmr);
        d.h.enable(32, 32, 0);
        d.h.setup_io(1, 64, 1);
        d
    }

    /// Runs the controller with its own memory.
    pub fn run(&mut self) -> Progress {
        let mut m = DevMem {
            mem: &mut self.h.mem,
            cmb: &mut self.cmb,
            pmr: &mut self.pmr,
        };
        self.h
            .ctrl
            .process(&mut m, &mut self.h.disk, &mut self.h.irq, 10_000)
    }

    /// Submits `sqe` on `qid` (in host memory), runs, returns the one completion.
    pub fn exec(&mut self, qid: u16, sqe: &Sqe) -> Cqe {
        self.h.submit(qid, sqe);
        self.run();
        let c = self.h.reap(qid);
        assert_eq!(c.len(), 1, "one completion for {sqe:x?}: {c:x?}");
        c[0]
    }

    /// An I/O command on namespace 1 (512-byte blocks) with explicit PRPs.
    pub fn io(opcode: u8, cid: u16, slba: u64, blocks: u16, prp1: u64, prp2: u64) -> Sqe {
        let mut s = Sqe::new(opcode, cid);
        s.nsid = 1;
        s.prp1 = prp1;
        s.prp2 = prp2;
        s.cdw10 = slba as u32;
        s.cdw11 = (slba >> 32) as u32;
        s.cdw12 = u32::from(blocks - 1);
        s
    }

    /// The bytes of namespace 1 at `slba`.
    pub fn ns1(&self, slba: u64, len: usize) -> &[u8] {
        &self.h.disk.ns[0][slba as usize * 512..slba as usize * 512 + len]
    }
}
