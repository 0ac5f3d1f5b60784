// SPDX-License-Identifier: GPL-2.0

//! Identify data structures (4096 bytes each).

use super::super::le::put;
use super::admin::{ABORT_LIMIT, AER_SLOTS};
use super::firmware::{Revision, FIRMWARE_SLOTS};
use super::logs::ERROR_LOG_ENTRIES;
use super::ns::LBA_FORMATS;
use super::params::{Namespace, Params, Zoned};
use super::regs::VERSION;

/// Size of every Identify data structure.
pub(super) const SIZE: usize = 4096;

/// The Controller ID of the controller (Identify Controller CNTLID): the one entry of every
/// Controller List (Identify CNS 12h and 13h) and the only one Namespace Attachment accepts.
pub const CONTROLLER_ID: u16 = 0;

/// Identify Controller OACS: Format NVM, Firmware Commit and Firmware Image Download,
/// Namespace Management and Namespace Attachment.
pub(super) const OACS: u16 = 1 << 1 | 1 << 2 | 1 << 3;
/// Identify Controller OAES: Namespace Attribute Notices.
pub(super) const OAES: u32 = 1 << 8;
/// Identify Controller FRMW: slot 1 read-only, the number of slots, activation without reset.
pub(super) const FRMW: u8 = 1 | FIRMWARE_SLOTS << 1 | 1 << 4;
/// Identify Controller LPA: Commands Supported and Effects log, extended Get Log Page data
/// (NUMDU, offsets).
pub(super) const LPA: u8 = 1 << 1 | 1 << 2;
/// Identify Controller FWUG: no restriction on firmware download granularity (dwords).
pub(super) const FWUG: u8 = 0xff;
/// Identify Controller ONCS: Compare, Dataset Management, Write Zeroes, Timestamp.
pub(super) const ONCS: u16 = 1 << 0 | 1 << 2 | 1 << 3 | 1 << 6;
/// Identify Controller VWC: a volatile write cache is present, and Flush with the broadcast
/// NSID (0xffffffff) is supported.
pub(super) const VWC: u8 = 0x07;
/// Identify Namespace DLFEAT: deallocated blocks read as zeroes; Write Zeroes may deallocate.
pub(super) const DLFEAT: u8 = 0x09;

/// Identify Controller (CNS 01h) into `buf` (zeroed by the caller); `firmware` is the running
/// revision, `unallocated` the capacity in bytes of the namespace slots no namespace uses.
pub(super) fn controller(p: &Params, firmware: &Revision, unallocated: u128, buf: &mut [u8]) {
    put(buf, 0, &p.vendor_id().to_le_bytes());
    put(buf, 2, &p.subsystem_vendor_id().to_le_bytes());
    put(buf, 4, p.serial());
    put(buf, 24, p.model());
    put(buf, 64, firmware);
    put(buf, 77, &[p.mdts()]);
    put(buf, 78, &CONTROLLER_ID.to_le_bytes());
    put(buf, 80, &VERSION.to_le_bytes());
    put(buf, 92, &OAES.to_le_bytes());
    // CNTRLTYPE: I/O controller.
    put(buf, 111, &[1]);
    put(buf, 256, &OACS.to_le_bytes());
    put(buf, 258, &[ABORT_LIMIT - 1, AER_SLOTS as u8 - 1]);
    put(buf, 260, &[FRMW, LPA, ERROR_LOG_ENTRIES as u8 - 1]);
    // WCTEMP 343 K, CCTEMP 358 K.
    put(buf, 266, &343u16.to_le_bytes());
    put(buf, 268, &358u16.to_le_bytes());
    // TNVMCAP: every namespace slot; UNVMCAP: the unallocated ones.
    let total = (1..=p.namespace_count())
        .filter_map(|n| p.namespace(n))
        .fold(0u128, |t, n| t.saturating_add(u128::from(n.bytes())));
    put(buf, 280, &total.to_le_bytes());
    put(buf, 296, &unallocated.to_le_bytes());
    put(buf, 319, &[FWUG]);
    // SQES, CQES: required and maximum entry sizes 2^6 and 2^4.
    put(buf, 512, &[0x66, 0x44]);
    // NN: the namespace slots. MNAN (540) stays 0: NN is also the most namespaces.
    put(buf, 516, &p.namespace_count().to_le_bytes());
    put(buf, 520, &ONCS.to_le_bytes());
    // FNA (524) stays 0: Format NVM and secure erase work per namespace, there is no
    // cryptographic erase, and Format NVM takes the broadcast NSID.
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

/// The NGUID of namespace `nsid` of generation `generation` (0 for the namespaces of
/// [`Params`], then counting the namespaces Namespace Management created): a hash of the
/// serial number offset by the generation, then the NSID. A namespace created again at an
/// NSID gets another NGUID.
pub(super) fn nguid(p: &Params, nsid: u32, generation: u32) -> [u8; 16] {
    // FNV-1a; multiplying by an odd constant keeps distinct generations apart.
    let hash = p
        .serial()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
        .wrapping_add(u64::from(generation).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut id = [0u8; 16];
    put(&mut id, 0, &hash.to_be_bytes());
    put(&mut id, 8, b"nvmk");
    put(&mut id, 12, &nsid.to_be_bytes());
    id
}

/// The fields of Identify Namespace every namespace shares, into `buf`: NLBAF, DLFEAT and the
/// LBA formats (no metadata, LBADS, best relative performance).
fn namespace_capabilities(buf: &mut [u8]) {
    // NLBAF (0-based).
    put(buf, 25, &[LBA_FORMATS.len() as u8 - 1]);
    put(buf, 33, &[DLFEAT]);
    for (i, shift) in LBA_FORMATS.iter().enumerate() {
        put(buf, 128 + 4 * i, &(u32::from(*shift) << 16).to_le_bytes());
    }
}

/// Identify Namespace (CNS 00h, or 11h) of a namespace with NGUID `nguid`, `ns` in its current
/// format, LBA format `index`, into `buf` (zeroed by the caller). NMIC stays 0: private.
pub(super) fn namespace(nguid: &[u8; 16], ns: &Namespace, index: u8, buf: &mut [u8]) {
    let blocks = ns.blocks().to_le_bytes();
    put(buf, 0, &blocks); // NSZE
    put(buf, 8, &blocks); // NCAP
    put(buf, 16, &blocks); // NUSE
    namespace_capabilities(buf);
    // FLBAS: the format index, bits 3:0 and 6:5; no extended metadata.
    put(buf, 26, &[index & 0xf | (index >> 4 & 3) << 5]);
    put(buf, 48, &ns.bytes().to_le_bytes()); // NVMCAP (128 bits)
    put(buf, 104, nguid);
}

/// Identify Namespace (CNS 00h) for the broadcast NSID into `buf` (zeroed by the caller): what
/// all namespaces have in common, for a host about to create one (sizes and FLBAS zero).
pub(super) fn common_namespace(buf: &mut [u8]) {
    namespace_capabilities(buf);
}

/// Identify I/O Command Set data structure (CNS 1Ch) into `buf` (zeroed by the caller): I/O
/// Command Set Combination 0 is the NVM Command Set (bit 0), with the Zoned Namespace Command
/// Set (bit 2) if `zoned`; the other 511 are unused.
pub(super) fn command_set_combinations(zoned: bool, buf: &mut [u8]) {
    let vector: u64 = if zoned { 1 | 1 << 2 } else { 1 };
    put(buf, 0, &vector.to_le_bytes());
}

/// Zoned Namespace Command Set specific Identify Namespace (CNS 05h, CSI 02h) of a namespace of
/// geometry `z` into `buf` (zeroed by the caller): no zone operation characteristics (ZOC 0),
/// OZCS bit 0 for Read Across Zone Boundaries, MAR and MOR (0-based, all ones for no limit),
/// no reset or finish recommendations, and for each LBA format the zone size in its blocks
/// (ZSZE; 0 for a format the geometry does not hold in) with no descriptor extension (ZDES 0).
pub(super) fn zoned_namespace(z: &Zoned, buf: &mut [u8]) {
    put(buf, 2, &u16::from(z.read_across_zones()).to_le_bytes());
    let limit = |l: Option<u32>| l.map_or(u32::MAX, |n| n - 1);
    put(buf, 4, &limit(z.max_active()).to_le_bytes());
    put(buf, 8, &limit(z.max_open()).to_le_bytes());
    for (i, &shift) in LBA_FORMATS.iter().enumerate() {
        let zsze = if z.fits_format(shift) {
            z.zone_size() >> shift
        } else {
            0
        };
        put(buf, 2816 + 16 * i, &zsze.to_le_bytes());
    }
}

/// Zoned Namespace Command Set specific Identify Controller (CNS 06h, CSI 02h) into `buf`
/// (zeroed by the caller): the Zone Append Size Limit.
pub(super) fn zoned_controller(p: &Params, buf: &mut [u8]) {
    put(buf, 0, &[p.zasl()]);
}

/// I/O Command Set Independent Identify Namespace (CNS 08h) of an active namespace into `buf`
/// (zeroed by the caller): private (NMIC 0), not write protected, ready (NSTAT bit 0); no
/// reservations, formatting progress, ANA group, NVM set or endurance group.
pub(super) fn independent_namespace(buf: &mut [u8]) {
    put(buf, 14, &[1]);
}

/// A Namespace ID list (CNS 02h of the active NSIDs, 10h of the allocated ones): the NSIDs of
/// `set` (bit `n - 1` for NSID `n`) above `nsid`, ascending, into `buf` (zeroed by the
/// caller).
pub(super) fn ns_list(set: u32, nsid: u32, buf: &mut [u8]) {
    let ids = (1u32..=32)
        .filter(|&n| n > nsid && set >> (n - 1) & 1 != 0)
        .take(SIZE / 4);
    for (i, id) in ids.enumerate() {
        put(buf, i * 4, &id.to_le_bytes());
    }
}

/// A Controller List (CNS 12h, 13h): the identifiers of `ids` (ascending) from `cntid` on,
/// after their count, into `buf` (zeroed by the caller).
pub(super) fn controller_list(ids: &[u16], cntid: u16, buf: &mut [u8]) {
    // At most 2047 entries fit after the count.
    let mut count = 0u16;
    for id in ids.iter().filter(|&&id| id >= cntid).take(SIZE / 2 - 1) {
        count += 1;
        put(buf, usize::from(count) * 2, &id.to_le_bytes());
    }
    put(buf, 0, &count.to_le_bytes());
}

/// Namespace Identification Descriptor list (CNS 03h) of a namespace with NGUID `nguid` into
/// `buf` (zeroed by the caller): an NGUID descriptor, then with `csi` (on a controller that
/// supports I/O Command Set selection) a Command Set Identifier descriptor.
pub(super) fn descriptors(nguid: &[u8; 16], csi: Option<u8>, buf: &mut [u8]) {
    // NIDT 02h (NGUID), NIDL 16.
    put(buf, 0, &[0x02, 16, 0, 0]);
    put(buf, 4, nguid);
    if let Some(csi) = csi {
        // NIDT 04h (CSI), NIDL 1.
        put(buf, 20, &[0x04, 1, 0, 0, csi]);
    }
}
