// SPDX-License-Identifier: GPL-2.0

//! Identify data structures (4096 bytes each).

use super::admin::{ABORT_LIMIT, AER_SLOTS};
use super::logs::{put, ERROR_LOG_ENTRIES};
use super::params::{Namespace, Params};
use super::regs::VERSION;

/// Size of every Identify data structure.
pub(super) const SIZE: usize = 4096;

/// Identify Controller ONCS: Compare, Dataset Management, Write Zeroes.
pub(super) const ONCS: u16 = 1 << 0 | 1 << 2 | 1 << 3;
/// Identify Controller VWC: a volatile write cache is present, and Flush with the broadcast
/// NSID (0xffffffff) is supported.
pub(super) const VWC: u8 = 0x07;
/// Identify Namespace DLFEAT: deallocated blocks read as zeroes; Write Zeroes may deallocate.
pub(super) const DLFEAT: u8 = 0x09;

/// Identify Controller (CNS 01h) into `buf` (zeroed by the caller).
pub(super) fn controller(p: &Params, buf: &mut [u8]) {
    put(buf, 0, &p.vendor_id().to_le_bytes());
    put(buf, 2, &p.subsystem_vendor_id().to_le_bytes());
    put(buf, 4, p.serial());
    put(buf, 24, p.model());
    put(buf, 64, p.firmware());
    put(buf, 77, &[p.mdts()]);
    put(buf, 80, &VERSION.to_le_bytes());
    // CNTRLTYPE: I/O controller.
    put(buf, 111, &[1]);
    put(buf, 258, &[ABORT_LIMIT - 1, AER_SLOTS as u8 - 1]);
    // FRMW: one firmware slot, read-only. LPA: extended Get Log Page data (NUMDU, offsets).
    put(buf, 260, &[0x03, 0x04, ERROR_LOG_ENTRIES as u8 - 1]);
    // WCTEMP 343 K, CCTEMP 358 K.
    put(buf, 266, &343u16.to_le_bytes());
    put(buf, 268, &358u16.to_le_bytes());
    // SQES, CQES: required and maximum entry sizes 2^6 and 2^4.
    put(buf, 512, &[0x66, 0x44]);
    put(buf, 516, &p.namespace_count().to_le_bytes());
    put(buf, 520, &ONCS.to_le_bytes());
    put(buf, 525, &[VWC]);
    // SUBNQN.
    let prefix = b"nqn.2024-11.dev.nvmock:";
    put(buf, 768, prefix);
    let serial = p.serial();
    let len = serial.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    put(buf, 768 + prefix.len(), serial.get(..len).unwrap_or(&[]));
    // Power state 0: 25 W.
    put(buf, 2048, &2500u16.to_le_bytes());
}

/// The NGUID of namespace `nsid`: a hash of the serial number, then the NSID.
fn nguid(p: &Params, nsid: u32) -> [u8; 16] {
    // FNV-1a.
    let hash = p.serial().iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let mut id = [0u8; 16];
    put(&mut id, 0, &hash.to_be_bytes());
    put(&mut id, 8, b"nvmk");
    put(&mut id, 12, &nsid.to_be_bytes());
    id
}

/// Identify Namespace (CNS 00h) of namespace `nsid` into `buf` (zeroed by the caller).
pub(super) fn namespace(p: &Params, nsid: u32, ns: &Namespace, buf: &mut [u8]) {
    let blocks = ns.blocks().to_le_bytes();
    put(buf, 0, &blocks); // NSZE
    put(buf, 8, &blocks); // NCAP
    put(buf, 16, &blocks); // NUSE
    put(buf, 33, &[DLFEAT]);
    put(buf, 48, &ns.bytes().to_le_bytes()); // NVMCAP (128 bits)
    put(buf, 104, &nguid(p, nsid));
    // LBA format 0 (the only one, NLBAF = 0, FLBAS = 0): no metadata, LBADS.
    put(buf, 128, &(u32::from(ns.lba_shift()) << 16).to_le_bytes());
}

/// Active Namespace ID list (CNS 02h): the active NSIDs above `nsid`, ascending, into `buf`
/// (zeroed by the caller).
pub(super) fn active_list(p: &Params, nsid: u32, buf: &mut [u8]) {
    let ids = nsid.saturating_add(1)..=p.namespace_count();
    for (i, id) in ids.take(SIZE / 4).enumerate() {
        put(buf, i * 4, &id.to_le_bytes());
    }
}

/// Namespace Identification Descriptor list (CNS 03h) of namespace `nsid` into `buf` (zeroed
/// by the caller): one NGUID descriptor.
pub(super) fn descriptors(p: &Params, nsid: u32, buf: &mut [u8]) {
    // NIDT 02h (NGUID), NIDL 16.
    put(buf, 0, &[0x02, 16, 0, 0]);
    put(buf, 4, &nguid(p, nsid));
}
