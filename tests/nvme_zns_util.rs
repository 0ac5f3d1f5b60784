// SPDX-License-Identifier: GPL-2.0

//! Shared harness of the Zoned Namespace Command Set tests: a controller with a conventional
//! namespace (NSID 1) next to a zoned one (NSID 2), enabled with CC.CSS 110b, and helpers for
//! the zoned commands. The `nvme_zns*` tests include it with `#[path]` (it brings
//! `nvme_util.rs` as `util`); built on its own it has no tests.

#![allow(dead_code, missing_docs)]

#[path = "nvme_util.rs"]
pub mod util;

use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;
use util::*;

/// The zoned namespace.
pub const ZNS: u32 = 2;
/// The conventional namespace.
pub const CONV: u32 = 1;
/// Zone size and capacity in 512-byte blocks, and the number of zones (1 MiB namespace).
pub const ZSZE: u64 = 64;
pub const ZCAP: u64 = 48;
pub const ZONES: u64 = 32;
/// Open and active limits of the default zoned namespace.
pub const MOR: u32 = 2;
pub const MAR: u32 = 3;

/// The zoned geometry of NSID 2 in the default set-up.
pub fn zoned_config() -> ZonedConfig {
    ZonedConfig {
        zone_size: ZSZE * 512,
        zone_capacity: ZCAP * 512,
        max_open: MOR,
        max_active: MAR,
        read_across_zones: false,
    }
}

/// NSID 1 and 2: 512-byte blocks, 1 MiB each.
pub const ZNS_NAMESPACES: [NamespaceConfig; 2] = [
    NamespaceConfig {
        lba_size: 512,
        blocks: 2048,
    },
    NamespaceConfig {
        lba_size: 512,
        blocks: 2048,
    },
];

pub fn zns_config() -> Config<'static> {
    Config {
        namespaces: &ZNS_NAMESPACES,
        ..config()
    }
}

/// Parameters with NSID 2 zoned as `z` and Zone Append Size Limit `zasl`.
pub fn zns_params(z: &ZonedConfig, zasl: u8) -> Params {
    Params::new(&zns_config())
        .unwrap()
        .zoned(ZNS, z)
        .expect("valid zoned geometry")
        .zone_append_limit(zasl)
        .expect("valid ZASL")
}

/// Programs the admin queues and enables with CC.CSS `css`; returns CSTS after one run.
pub fn enable_css(h: &mut Host, css: u32) -> u32 {
    h.write(AQA, 31 << 16 | 31);
    h.write64(ASQ, ASQ_BASE);
    h.write64(ACQ, ACQ_BASE);
    let cc = cc_enable(0) | css << CC_CSS_SHIFT;
    h.write(CC, cc & !CC_EN);
    h.write(CC, cc);
    h.run();
    h.csts()
}

/// A ready host (CC.CSS 110b) with I/O queue pair 1, NSID 2 zoned as `z`.
pub fn zoned_host_with(z: &ZonedConfig, zasl: u8) -> Host {
    let mut h = Host::with_params(&zns_config(), zns_params(z, zasl));
    assert_eq!(enable_css(&mut h, CC_CSS_IO_SETS), CSTS_RDY);
    h.adopt_admin(32, 32);
    h.setup_io(1, 64, 1);
    h
}

/// The default zoned host.
pub fn zoned_host() -> Host {
    zoned_host_with(&zoned_config(), 0)
}

/// Zone Management Send `action` to the zone at `slba` (or every zone with `all`).
pub fn zms(h: &mut Host, nsid: u32, slba: u64, action: u8, all: bool) -> Cqe {
    let mut s = Sqe::new(io_opcode::ZONE_MANAGEMENT_SEND, 0x79);
    s.nsid = nsid;
    s.cdw10 = slba as u32;
    s.cdw11 = (slba >> 32) as u32;
    s.cdw13 = u32::from(action) | u32::from(all) << 8;
    h.exec(1, &s)
}

pub const CLOSE: u8 = 1;
pub const FINISH: u8 = 2;
pub const OPEN: u8 = 3;
pub const RESET: u8 = 4;
pub const OFFLINE: u8 = 5;

/// One Zone Descriptor of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Desc {
    pub zt: u8,
    pub zs: u8,
    pub za: u8,
    pub zcap: u64,
    pub zslba: u64,
    pub wp: u64,
}

/// Report Zones from `slba` with filter `zrasf`, Partial Report `partial`, `len` bytes (a
/// multiple of 4): the completion, the header's count and the descriptors the data holds
/// (up to the first all-zero one).
pub fn report(
    h: &mut Host,
    nsid: u32,
    slba: u64,
    zrasf: u8,
    partial: bool,
    len: u64,
) -> (Cqe, u64, Vec<Desc>) {
    let buf = h.buffer(len, 0, 0);
    let mut s = Sqe::new(io_opcode::ZONE_MANAGEMENT_RECEIVE, 0x7a);
    s.nsid = nsid;
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    s.cdw10 = slba as u32;
    s.cdw11 = (slba >> 32) as u32;
    s.cdw12 = (len / 4 - 1) as u32;
    s.cdw13 = u32::from(zrasf) << 8 | u32::from(partial) << 16;
    let c = h.exec(1, &s);
    let d = buf.read(&h.mem);
    let count = if d.len() >= 8 { le64(&d, 0) } else { 0 };
    let descs = d
        .chunks_exact(64)
        .skip(1)
        .map(|e| Desc {
            zt: e[0],
            zs: e[1],
            za: e[2],
            zcap: le64(e, 8),
            zslba: le64(e, 16),
            wp: le64(e, 24),
        })
        .take_while(|d| d.zt != 0)
        .collect();
    (c, count, descs)
}

/// Every zone of the zoned namespace by Report Zones: (state code, write pointer).
pub fn reported(h: &mut Host) -> Vec<(u8, u64)> {
    let (c, count, d) = report(h, ZNS, 0, 0, false, 64 * (ZONES + 1));
    assert_status(&c, Status::SUCCESS);
    assert_eq!(count, ZONES);
    d.iter().map(|d| (d.zs >> 4, d.wp)).collect()
}

/// The zone records the disk holds for the zoned namespace.
pub fn records(h: &Host) -> Vec<(ZoneState, u64)> {
    h.disk.zones[ZNS as usize - 1]
        .iter()
        .map(|z| (z.state(), z.written()))
        .collect()
}

/// An I/O command `opcode` of `nlb` blocks at `slba` with a fresh buffer (filled with a
/// pattern seeded `seed`): the completion and the buffer.
pub fn io(h: &mut Host, opcode: u8, nsid: u32, slba: u64, nlb: u64, seed: u8) -> (Cqe, Buffer) {
    let buf = h.buffer(nlb * 512, 0, 0);
    buf.fill(&mut h.mem, &pattern((nlb * 512) as usize, seed));
    let s = rw(opcode, 0x10, nsid, slba, (nlb - 1) as u16, &buf);
    (h.exec(1, &s), buf)
}

/// Write of `nlb` blocks at `slba` of the zoned namespace.
pub fn write(h: &mut Host, slba: u64, nlb: u64) -> Cqe {
    io(h, io_opcode::WRITE, ZNS, slba, nlb, slba as u8).0
}

/// Zone Append of `nlb` blocks to the zone starting at `zslba`.
pub fn append(h: &mut Host, zslba: u64, nlb: u64) -> Cqe {
    io(h, io_opcode::ZONE_APPEND, ZNS, zslba, nlb, 0xa5).0
}

/// Read of `nlb` blocks at `slba` of the zoned namespace: the completion and the data.
pub fn read(h: &mut Host, slba: u64, nlb: u64) -> (Cqe, Vec<u8>) {
    let (c, buf) = io(h, io_opcode::READ, ZNS, slba, nlb, 0);
    (c, buf.read(&h.mem))
}

/// The assigned LBA of a Zone Append completion (DW1:DW0).
pub fn assigned(c: &Cqe) -> u64 {
    u64::from(c.dw1) << 32 | u64::from(c.result)
}
