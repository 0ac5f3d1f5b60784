// SPDX-License-Identifier: GPL-2.0

//! Zoned Namespace Command Set (ZNS 1.1): parameters, I/O Command Set selection, the zoned
//! Identify structures and effects log, every zone transition and every zoned error status.

#[path = "nvme_zns_util.rs"]
mod zns;

use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;
use zns::util::*;
use zns::*;

// -------------------------------------------------------------------------------------------
// Parameters.

#[test]
fn zoned_parameters_are_validated_field_by_field() {
    let base = Params::new(&zns_config()).unwrap();
    let ok = zoned_config();
    let bad = |z: ZonedConfig| base.zoned(ZNS, &z).unwrap_err();
    assert_eq!(base.zoned(3, &ok), Err(ParamError::ZonedNamespace));
    assert_eq!(base.zoned(0, &ok), Err(ParamError::ZonedNamespace));
    // Zone size: zero, not a multiple of the block, not dividing the capacity.
    for zone_size in [0, 1000, 3 * 512] {
        let z = ZonedConfig {
            zone_size,
            zone_capacity: 512,
            ..ok
        };
        assert_eq!(bad(z), ParamError::ZoneSize(1), "zone size {zone_size}");
    }
    // Zero zones: a zone larger than the namespace.
    let z = ZonedConfig {
        zone_size: 2 << 20,
        ..ok
    };
    assert_eq!(bad(z), ParamError::ZoneCount(1));
    // Capacity: zero, above the size, not a multiple of the block.
    for zone_capacity in [0, ZSZE * 512 + 512, 700] {
        let z = ZonedConfig {
            zone_capacity,
            ..ok
        };
        assert_eq!(
            bad(z),
            ParamError::ZoneCapacity(1),
            "capacity {zone_capacity}"
        );
    }
    // MOR above MAR (or unlimited beside a limited MAR), limits above the zone count.
    for (max_open, max_active) in [(4, 3), (0, 3), (33, 0), (2, 33)] {
        let z = ZonedConfig {
            max_open,
            max_active,
            ..ok
        };
        assert_eq!(bad(z), ParamError::ZoneLimits(1), "{max_open}/{max_active}");
    }
    // ZASL above MDTS.
    assert_eq!(base.zone_append_limit(11), Err(ParamError::Zasl));
    // Valid: capacity equal to the size, no limits, MOR equal to MAR.
    for (cap, mor, mar) in [(ZSZE, 0, 0), (1, 3, 3), (ZCAP, 5, 0)] {
        let z = ZonedConfig {
            zone_capacity: cap * 512,
            max_open: mor,
            max_active: mar,
            ..ok
        };
        let p = base.zoned(ZNS, &z).unwrap();
        let g = p.zoned_namespace(ZNS).unwrap();
        assert_eq!(g.zones(), ZONES as u32);
        assert_eq!(g.max_open(), (mor != 0).then_some(mor));
        assert_eq!(g.max_active(), (mar != 0).then_some(mar));
        assert!(p.has_zoned() && p.zoned_namespace(CONV).is_none());
    }
    assert!(!base.has_zoned());
}

// -------------------------------------------------------------------------------------------
// I/O Command Set selection and Identify.

#[test]
fn cap_advertises_command_set_selection_with_a_zoned_namespace() {
    let h = zoned_host();
    assert_eq!(h.ctrl.mmio_read(CAP, 8).unwrap() >> 37 & 0xff, 0x41);
    let plain = Host::new();
    assert_eq!(plain.ctrl.mmio_read(CAP, 8).unwrap() >> 37 & 0xff, 0x01);
    // CC.CSS 110b needs CAP.CSS bit 6; 111b (admin only) is not supported.
    let mut plain = Host::new();
    assert_eq!(enable_css(&mut plain, 6), CSTS_CFS);
    assert_eq!(plain.ctrl.enable_error(), Some(EnableError::CommandSet));
    let mut h = Host::with_params(&zns_config(), zns_params(&zoned_config(), 0));
    assert_eq!(enable_css(&mut h, 7), CSTS_CFS);
    assert_eq!(h.ctrl.enable_error(), Some(EnableError::CommandSet));
    h.write(CC, 0);
    h.run();
    assert_eq!(enable_css(&mut h, 0), CSTS_RDY, "NVM only is still fine");
}

fn identify_csi(h: &mut Host, cns: u32, nsid: u32, csi: u8) -> (Cqe, Vec<u8>) {
    let buf = h.buffer(4096, 0, 0);
    let mut s = Sqe::new(admin_opcode::IDENTIFY, 0x700 + cns as u16);
    s.nsid = nsid;
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    s.cdw10 = cns;
    s.cdw11 = u32::from(csi) << 24;
    let c = h.admin(&s);
    (c, buf.read(&h.mem))
}

#[test]
fn identify_reports_the_zoned_command_set() {
    let z = ZonedConfig {
        read_across_zones: true,
        ..zoned_config()
    };
    let mut h = zoned_host_with(&z, 3);
    // CNS 03h: NGUID, then the CSI descriptor (what Linux needs with CC.CSS 110b).
    for (nsid, csi) in [(CONV, 0), (ZNS, 2)] {
        let (c, d) = h.identify(3, nsid);
        assert_status(&c, Status::SUCCESS);
        assert_eq!(d[..4], [0x02, 16, 0, 0]);
        assert_eq!(d[20..25], [0x04, 1, 0, 0, csi], "NSID {nsid}");
        assert_eq!(d[25], 0, "list ends");
    }
    // CNS 05h, CSI 2: the zoned namespace's structure.
    let (c, d) = identify_csi(&mut h, 5, ZNS, CSI_ZONED);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(le16(&d, 0), 0, "ZOC");
    assert_eq!(le16(&d, 2), 1, "OZCS: read across zone boundaries");
    assert_eq!(le32(&d, 4), MAR - 1, "MAR (0-based)");
    assert_eq!(le32(&d, 8), MOR - 1, "MOR (0-based)");
    assert_eq!(le64(&d, 2816), ZSZE, "LBAF 0 ZSZE");
    assert_eq!(d[2816 + 8], 0, "ZDES");
    assert_eq!(le64(&d, 2832), ZSZE / 8, "LBAF 1 ZSZE (4 KiB blocks)");
    // CSI 0 for a zoned namespace (Linux asks): the NVM structure, zeroes.
    let (c, d) = identify_csi(&mut h, 5, ZNS, 0);
    assert_status(&c, Status::SUCCESS);
    assert!(d.iter().all(|&b| b == 0));
    // CSI 2 for the conventional namespace, or another command set: Invalid Field.
    assert_status(
        &identify_csi(&mut h, 5, CONV, CSI_ZONED).0,
        Status::INVALID_FIELD,
    );
    assert_status(&identify_csi(&mut h, 5, ZNS, 1).0, Status::INVALID_FIELD);
    // CNS 06h, CSI 2: ZASL.
    let (c, d) = identify_csi(&mut h, 6, 0, CSI_ZONED);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d[0], 3);
    assert!(d[1..].iter().all(|&b| b == 0));
    // CNS 1Ch: NVM and Zoned in combination 0.
    let (c, d) = h.identify(0x1c, 0);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(le64(&d, 0), 0b101);
    // CNS 07h: the active NSIDs of a command set.
    for (csi, list) in [(0, [CONV, 0]), (CSI_ZONED, [ZNS, 0])] {
        let (c, d) = identify_csi(&mut h, 7, 0, csi);
        assert_status(&c, Status::SUCCESS);
        assert_eq!([le32(&d, 0), le32(&d, 4)], list, "CSI {csi}");
    }
    let (_, d) = identify_csi(&mut h, 7, ZNS, CSI_ZONED);
    assert_eq!(le32(&d, 0), 0, "above NSID 2: none");
    assert_status(&identify_csi(&mut h, 7, 0, 1).0, Status::INVALID_FIELD);
    // CNS 08h: ready.
    let (c, d) = h.identify(8, ZNS);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d[14], 1, "NSTAT ready");
    assert_status(&h.identify(8, 9).0, Status::INVALID_NAMESPACE);
    // CNS 00h: the whole zoned namespace in blocks.
    let (_, d) = h.identify(0, ZNS);
    assert_eq!(le64(&d, 0), ZONES * ZSZE);
}

#[test]
fn identify_zoned_structures_for_inactive_and_broadcast_nsids() {
    let mut h = zoned_host();
    h.ctrl.detach_namespace(ZNS).unwrap();
    let (c, d) = identify_csi(&mut h, 5, ZNS, CSI_ZONED);
    assert_status(&c, Status::SUCCESS);
    assert!(d.iter().all(|&b| b == 0), "inactive reads as zeroes");
    let (c, d) = h.identify(8, ZNS);
    assert_status(&c, Status::SUCCESS);
    assert!(d.iter().all(|&b| b == 0));
    let (c, d) = identify_csi(&mut h, 5, 0xffff_ffff, CSI_ZONED);
    assert_status(&c, Status::SUCCESS);
    assert!(d.iter().all(|&b| b == 0));
    // Zero MOR/MAR: no limit, all ones.
    let z = ZonedConfig {
        max_open: 0,
        max_active: 0,
        ..zoned_config()
    };
    let mut h = zoned_host_with(&z, 0);
    let (_, d) = identify_csi(&mut h, 5, ZNS, CSI_ZONED);
    assert_eq!((le32(&d, 4), le32(&d, 8)), (u32::MAX, u32::MAX));
    // Without a zoned namespace, CSI 2 does not exist.
    let mut plain = Host::ready();
    assert_status(
        &identify_csi(&mut plain, 6, 0, CSI_ZONED).0,
        Status::INVALID_FIELD,
    );
    let (_, d) = plain.identify(3, 1);
    assert_eq!(d[20..], vec![0; 4076][..], "no CSI descriptor");
    assert_status(&plain.identify(7, 0).0, Status::INVALID_FIELD);
}

fn effects(h: &mut Host, csi: u8) -> (Cqe, Vec<u8>) {
    let buf = h.buffer(4096, 0, 0);
    let mut s = Sqe::new(admin_opcode::GET_LOG_PAGE, 0x4c);
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    s.cdw10 = 1023 << 16 | u32::from(log_id::COMMAND_EFFECTS);
    s.cdw14 = u32::from(csi) << 24;
    let c = h.admin(&s);
    (c, buf.read(&h.mem))
}

#[test]
fn commands_supported_and_effects_per_command_set() {
    let mut h = zoned_host();
    let io = |d: &[u8], op: u8| le32(d, 1024 + 4 * op as usize);
    let (c, d) = effects(&mut h, CSI_ZONED);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(io(&d, io_opcode::ZONE_MANAGEMENT_SEND), 0b11);
    assert_eq!(io(&d, io_opcode::ZONE_MANAGEMENT_RECEIVE), 0b01);
    assert_eq!(io(&d, io_opcode::ZONE_APPEND), 0b11, "Linux needs CSUPP");
    assert_eq!(io(&d, io_opcode::WRITE), 0b11);
    assert_eq!(le32(&d, 4 * admin_opcode::IDENTIFY as usize), 1);
    let (c, d) = effects(&mut h, 0);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(io(&d, io_opcode::ZONE_APPEND), 0);
    assert_eq!(io(&d, io_opcode::READ), 1);
    assert_status(&effects(&mut h, 1).0, Status::INVALID_FIELD);
    let mut plain = Host::ready();
    assert_status(&effects(&mut plain, CSI_ZONED).0, Status::INVALID_FIELD);
}

#[test]
fn nvm_only_selection_fences_off_the_zoned_namespace() {
    let mut h = Host::with_params(&zns_config(), zns_params(&zoned_config(), 0));
    assert_eq!(enable_css(&mut h, 0), CSTS_RDY);
    h.adopt_admin(32, 32);
    h.setup_io(1, 64, 1);
    assert_status(&write(&mut h, 0, 1), Status::INVALID_OPCODE);
    assert_status(&read(&mut h, 0, 1).0, Status::INVALID_OPCODE);
    assert_status(&zms(&mut h, ZNS, 0, OPEN, false), Status::INVALID_OPCODE);
    let (c, _) = io(&mut h, io_opcode::WRITE, CONV, 7, 3, 1);
    assert_status(&c, Status::SUCCESS);
}

#[test]
fn conventional_namespace_beside_a_zoned_one() {
    let mut h = zoned_host();
    // Random writes anywhere on NSID 1; zoned commands do not exist there.
    for slba in [100, 3, 2040] {
        let (c, _) = io(&mut h, io_opcode::WRITE, CONV, slba, 8, slba as u8);
        assert_status(&c, Status::SUCCESS);
    }
    assert_status(&zms(&mut h, CONV, 0, OPEN, false), Status::INVALID_OPCODE);
    let (c, _) = io(&mut h, io_opcode::ZONE_APPEND, CONV, 0, 1, 0);
    assert_status(&c, Status::INVALID_OPCODE);
    let (c, _, _) = report(&mut h, CONV, 0, 0, false, 4096);
    assert_status(&c, Status::INVALID_OPCODE);
    // A zoned command to an NSID that is no active namespace.
    assert_status(&zms(&mut h, 7, 0, OPEN, false), Status::INVALID_NAMESPACE);
    h.ctrl.detach_namespace(ZNS).unwrap();
    assert_status(&zms(&mut h, ZNS, 0, OPEN, false), Status::INVALID_NAMESPACE);
}

// -------------------------------------------------------------------------------------------
// Transitions.

use ZoneState::*;

/// Puts zone `z` of a fresh host in `state` by commands (or events for Read Only and
/// Offline); zone `z` gets `written` blocks where the state allows it.
fn prepare(h: &mut Host, z: u64, state: ZoneState) {
    let at = z * ZSZE;
    match state {
        Empty => {}
        ImplicitlyOpened => assert_status(&write(h, at, 4), Status::SUCCESS),
        ExplicitlyOpened => assert_status(&zms(h, ZNS, at, OPEN, false), Status::SUCCESS),
        Closed => {
            assert_status(&write(h, at, 4), Status::SUCCESS);
            assert_status(&zms(h, ZNS, at, CLOSE, false), Status::SUCCESS);
        }
        Full => assert_status(&write(h, at, ZCAP), Status::SUCCESS),
        ReadOnly => {
            assert_status(&write(h, at, 4), Status::SUCCESS);
            h.ctrl.zone_read_only(&mut h.disk, ZNS, z as u32).unwrap();
        }
        Offline => h.ctrl.zone_offline(&mut h.disk, ZNS, z as u32).unwrap(),
    }
    assert_eq!(records(h)[z as usize].0, state);
}

const STATES: [ZoneState; 7] = [
    Empty,
    ImplicitlyOpened,
    ExplicitlyOpened,
    Closed,
    Full,
    ReadOnly,
    Offline,
];

/// What each Zone Management Send action does to a zone in each state (with resources to
/// spare): the state after, or the error.
fn expected(action: u8, from: ZoneState) -> Result<ZoneState, Status> {
    let invalid = Err(Status::ZONE_INVALID_TRANSITION);
    match (action, from) {
        (OPEN, Empty | ImplicitlyOpened | ExplicitlyOpened | Closed) => Ok(ExplicitlyOpened),
        (OPEN, Full | ReadOnly | Offline) => invalid,
        (CLOSE, ImplicitlyOpened | ExplicitlyOpened | Closed) => Ok(Closed),
        (CLOSE, Empty | Full | ReadOnly | Offline) => invalid,
        (FINISH, Empty | ImplicitlyOpened | ExplicitlyOpened | Closed | Full) => Ok(Full),
        (FINISH, ReadOnly | Offline) => invalid,
        (RESET, Empty | ImplicitlyOpened | ExplicitlyOpened | Closed | Full) => Ok(Empty),
        (RESET, ReadOnly | Offline) => invalid,
        (OFFLINE, ReadOnly | Offline) => Ok(Offline),
        (OFFLINE, _) => invalid,
        _ => unreachable!(),
    }
}

#[test]
fn every_send_action_from_every_state() {
    for action in [OPEN, CLOSE, FINISH, RESET, OFFLINE] {
        for from in STATES {
            let mut h = zoned_host();
            prepare(&mut h, 5, from);
            let before = records(&h)[5];
            let c = zms(&mut h, ZNS, 5 * ZSZE, action, false);
            let after = records(&h)[5];
            match expected(action, from) {
                Ok(to) => {
                    assert_status(&c, Status::SUCCESS);
                    assert_eq!(after.0, to, "action {action} from {from:?}");
                    let wp = match to {
                        Empty => 0,
                        Full => ZCAP,
                        Offline => 0,
                        _ => before.1,
                    };
                    assert_eq!(after.1, wp, "write pointer, action {action} from {from:?}");
                }
                Err(s) => {
                    assert_status(&c, s);
                    assert_eq!(after, before, "unchanged, action {action} from {from:?}");
                }
            }
            // The report agrees with the records.
            let rep = reported(&mut h);
            assert_eq!(rep[5].0, after.0.code());
        }
    }
}

#[test]
fn writes_open_implicitly_and_fill_zones() {
    let mut h = zoned_host();
    assert_status(&write(&mut h, 0, 8), Status::SUCCESS);
    assert_eq!(records(&h)[0], (ImplicitlyOpened, 8));
    // Closed -> Implicitly Opened by a write at the write pointer.
    assert_status(&zms(&mut h, ZNS, 0, CLOSE, false), Status::SUCCESS);
    assert_status(&write(&mut h, 8, 8), Status::SUCCESS);
    assert_eq!(records(&h)[0], (ImplicitlyOpened, 16));
    // Implicitly Opened -> Full at capacity.
    assert_status(&write(&mut h, 16, ZCAP - 16), Status::SUCCESS);
    assert_eq!(records(&h)[0], (Full, ZCAP));
    // Explicitly Opened stays so, then -> Full.
    assert_status(&zms(&mut h, ZNS, ZSZE, OPEN, false), Status::SUCCESS);
    assert_status(&write(&mut h, ZSZE, 1), Status::SUCCESS);
    assert_eq!(records(&h)[1], (ExplicitlyOpened, 1));
    assert_status(&write(&mut h, ZSZE + 1, ZCAP - 1), Status::SUCCESS);
    assert_eq!(records(&h)[1], (Full, ZCAP));
    // Empty -> Full by one write of the whole capacity.
    assert_status(&write(&mut h, 2 * ZSZE, ZCAP), Status::SUCCESS);
    assert_eq!(records(&h)[2], (Full, ZCAP));
    // Write Zeroes writes at the write pointer too.
    let mut s = Sqe::new(io_opcode::WRITE_ZEROES, 0x08);
    s.nsid = ZNS;
    s.cdw10 = (3 * ZSZE) as u32;
    s.cdw12 = 3;
    assert_status(&h.exec(1, &s), Status::SUCCESS);
    assert_eq!(records(&h)[3], (ImplicitlyOpened, 4));
    s.cdw10 = (3 * ZSZE + 1) as u32;
    assert_status(&h.exec(1, &s), Status::ZONE_INVALID_WRITE);
}

#[test]
fn open_limit_closes_the_lowest_implicitly_opened_zone() {
    let mut h = zoned_host();
    assert_status(&write(&mut h, 2 * ZSZE, 1), Status::SUCCESS);
    assert_status(&write(&mut h, ZSZE, 1), Status::SUCCESS);
    // MOR 2 reached: a third zone closes zone 1 (lowest implicitly opened).
    assert_status(&write(&mut h, 0, 1), Status::SUCCESS);
    let r = records(&h);
    assert_eq!(
        (r[0].0, r[1].0, r[2].0),
        (ImplicitlyOpened, Closed, ImplicitlyOpened)
    );
    // MAR 3 reached (zones 0, 1, 2 active): a fourth zone cannot become active.
    assert_status(&write(&mut h, 3 * ZSZE, 1), Status::ZONE_TOO_MANY_ACTIVE);
    assert_status(
        &zms(&mut h, ZNS, 3 * ZSZE, OPEN, false),
        Status::ZONE_TOO_MANY_ACTIVE,
    );
    assert_eq!(records(&h)[3].0, Empty);
    // Explicit opens are never closed by the controller: both open resources taken
    // explicitly leave an implicit open of a Closed zone nowhere to go.
    assert_status(&zms(&mut h, ZNS, 0, OPEN, false), Status::SUCCESS);
    assert_status(&zms(&mut h, ZNS, 2 * ZSZE, OPEN, false), Status::SUCCESS);
    assert_status(&write(&mut h, ZSZE + 1, 1), Status::ZONE_TOO_MANY_OPEN);
    assert_status(
        &zms(&mut h, ZNS, ZSZE, OPEN, false),
        Status::ZONE_TOO_MANY_OPEN,
    );
    assert_eq!(records(&h)[1], (Closed, 1));
    // An explicit open of a Closed zone closes an implicitly opened one.
    let mut h = zoned_host();
    assert_status(&write(&mut h, 0, 1), Status::SUCCESS);
    assert_status(&zms(&mut h, ZNS, 0, CLOSE, false), Status::SUCCESS);
    assert_status(&write(&mut h, ZSZE, 1), Status::SUCCESS);
    assert_status(&write(&mut h, 2 * ZSZE, 1), Status::SUCCESS);
    assert_status(&zms(&mut h, ZNS, 0, OPEN, false), Status::SUCCESS);
    let r = records(&h);
    assert_eq!(
        (r[0].0, r[1].0, r[2].0),
        (ExplicitlyOpened, Closed, ImplicitlyOpened)
    );
}

#[test]
fn media_events_take_zones_read_only_and_offline() {
    let mut h = zoned_host();
    assert_status(&write(&mut h, 0, 4), Status::SUCCESS);
    h.ctrl.zone_read_only(&mut h.disk, ZNS, 0).unwrap();
    assert_eq!(records(&h)[0], (ReadOnly, 4));
    // The data stays readable, writes and appends are refused.
    let (c, d) = read(&mut h, 0, 4);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d, pattern(4 * 512, 0));
    assert_status(&write(&mut h, 4, 1), Status::ZONE_IS_READ_ONLY);
    assert_status(&append(&mut h, 0, 1), Status::ZONE_IS_READ_ONLY);
    // Its resources are free again.
    assert_status(&write(&mut h, ZSZE, 1), Status::SUCCESS);
    assert_status(&write(&mut h, 2 * ZSZE, 1), Status::SUCCESS);
    for state in [
        Empty,
        ImplicitlyOpened,
        ExplicitlyOpened,
        Closed,
        Full,
        ReadOnly,
    ] {
        let mut h = zoned_host();
        prepare(&mut h, 4, state);
        h.ctrl.zone_offline(&mut h.disk, ZNS, 4).unwrap();
        assert_eq!(records(&h)[4].0, Offline, "from {state:?}");
        assert_status(&read(&mut h, 4 * ZSZE, 1).0, Status::ZONE_IS_OFFLINE);
        assert_status(&write(&mut h, 4 * ZSZE, 1), Status::ZONE_IS_OFFLINE);
        assert_status(&append(&mut h, 4 * ZSZE, 1), Status::ZONE_IS_OFFLINE);
    }
    // Refusals.
    let mut h = zoned_host();
    assert_eq!(
        h.ctrl.zone_read_only(&mut h.disk, CONV, 0),
        Err(ZoneError::NotZoned)
    );
    assert_eq!(
        h.ctrl.zone_offline(&mut h.disk, ZNS, ZONES as u32),
        Err(ZoneError::NoZone)
    );
    h.ctrl.zone_offline(&mut h.disk, ZNS, 0).unwrap();
    assert_eq!(
        h.ctrl.zone_read_only(&mut h.disk, ZNS, 0),
        Err(ZoneError::Offline)
    );
    h.disk.zones[1].clear();
    assert_eq!(
        h.ctrl.zone_offline(&mut h.disk, ZNS, 0),
        Err(ZoneError::NoRecords)
    );
    // Without records, zoned commands fail with Internal Error (no DNR).
    assert_eq!(
        write(&mut h, 0, 1).status.code(),
        Status::INTERNAL_ERROR.code()
    );
}

#[test]
fn controller_reset_and_shutdown_close_open_zones() {
    let mut h = zoned_host();
    assert_status(&write(&mut h, 0, 3), Status::SUCCESS);
    assert_status(&zms(&mut h, ZNS, ZSZE, OPEN, false), Status::SUCCESS);
    assert_status(&write(&mut h, 2 * ZSZE, ZCAP), Status::SUCCESS);
    h.write(CC, 0);
    h.run();
    let r = records(&h);
    assert_eq!((r[0], r[1], r[2]), ((Closed, 3), (Closed, 0), (Full, ZCAP)));
    assert_eq!(enable_css(&mut h, CC_CSS_IO_SETS), CSTS_RDY);
    h.adopt_admin(32, 32);
    h.setup_io(1, 64, 1);
    assert_status(&write(&mut h, 3, 1), Status::SUCCESS);
    assert_eq!(records(&h)[0], (ImplicitlyOpened, 4));
    // Shutdown.
    h.write(CC, h.read(CC) | CC_SHN_NORMAL);
    h.run();
    assert_eq!(h.csts() & CSTS_SHST_COMPLETE, CSTS_SHST_COMPLETE);
    assert_eq!(records(&h)[0], (Closed, 4));
}

// -------------------------------------------------------------------------------------------
// Writes, appends and reads.

#[test]
fn write_errors() {
    let mut h = zoned_host();
    // Not at the write pointer (Empty zone: its start).
    assert_status(&write(&mut h, 1, 1), Status::ZONE_INVALID_WRITE);
    assert_status(&write(&mut h, 0, 2), Status::SUCCESS);
    assert_status(&write(&mut h, 1, 1), Status::ZONE_INVALID_WRITE);
    assert_status(&write(&mut h, 3, 1), Status::ZONE_INVALID_WRITE);
    // Past the capacity, or in the part of the zone beyond it.
    assert_status(&write(&mut h, 2, ZCAP - 1), Status::ZONE_BOUNDARY_ERROR);
    assert_status(&write(&mut h, ZCAP, 1), Status::ZONE_INVALID_WRITE);
    assert_eq!(
        records(&h)[0],
        (ImplicitlyOpened, 2),
        "failed writes change nothing"
    );
    // Full.
    assert_status(&write(&mut h, ZSZE, ZCAP), Status::SUCCESS);
    assert_status(&write(&mut h, ZSZE + ZCAP, 1), Status::ZONE_IS_FULL);
    assert_status(&write(&mut h, ZSZE, 1), Status::ZONE_IS_FULL);
    // Past the namespace.
    assert_status(&write(&mut h, ZONES * ZSZE, 1), Status::LBA_OUT_OF_RANGE);
}

#[test]
fn zone_append_returns_the_assigned_lba() {
    let mut h = zoned_host();
    let z = 7 * ZSZE;
    let c = append(&mut h, z, 5);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(assigned(&c), z);
    let c = append(&mut h, z, 3);
    assert_eq!(assigned(&c), z + 5);
    assert_eq!(records(&h)[7], (ImplicitlyOpened, 8));
    let (c, d) = read(&mut h, z + 5, 3);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d, pattern(3 * 512, 0xa5));
    // To capacity, then Full.
    let c = append(&mut h, z, ZCAP - 8);
    assert_eq!(assigned(&c), z + 8);
    assert_eq!(records(&h)[7], (Full, ZCAP));
    assert_status(&append(&mut h, z, 1), Status::ZONE_IS_FULL);
    // Bad appends: not a zone start (Invalid Field), past the capacity (boundary), past
    // the namespace.
    assert_status(&append(&mut h, 1, 1), Status::INVALID_FIELD);
    assert_status(&append(&mut h, 0, ZCAP + 1), Status::ZONE_BOUNDARY_ERROR);
    assert_status(&append(&mut h, ZONES * ZSZE, 1), Status::LBA_OUT_OF_RANGE);
    // DW1 carries the upper half (a namespace past 2^32 blocks is too big for a test:
    // the split is checked on the completion layout instead).
    assert_eq!(c.dw1, 0);
}

#[test]
fn zone_append_size_limit() {
    // ZASL 1: 8 KiB = 16 blocks.
    let z = ZonedConfig {
        zone_capacity: ZSZE * 512,
        ..zoned_config()
    };
    let mut h = zoned_host_with(&z, 1);
    assert_status(&append(&mut h, 0, 16), Status::SUCCESS);
    assert_status(&append(&mut h, 0, 17), Status::INVALID_FIELD);
    assert_eq!(records(&h)[0], (ImplicitlyOpened, 16));
    // Writes are bound by MDTS only.
    assert_status(&write(&mut h, 16, 32), Status::SUCCESS);
}

#[test]
fn reads_and_zone_boundaries() {
    let mut h = zoned_host();
    assert_status(&write(&mut h, 0, 4), Status::SUCCESS);
    // Past the write pointer and past the capacity: zeroes.
    let (c, d) = read(&mut h, 0, ZSZE);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(d[..4 * 512], pattern(4 * 512, 0)[..]);
    assert!(d[4 * 512..].iter().all(|&b| b == 0));
    // Across a zone boundary without RAZB.
    assert_status(&read(&mut h, ZSZE - 1, 2).0, Status::ZONE_BOUNDARY_ERROR);
    let (c, _) = io(&mut h, io_opcode::COMPARE, ZNS, ZSZE - 1, 2, 0);
    assert_status(&c, Status::ZONE_BOUNDARY_ERROR);
    // With RAZB: fine, unless a zone it reaches is offline.
    let z = ZonedConfig {
        read_across_zones: true,
        ..zoned_config()
    };
    let mut h = zoned_host_with(&z, 0);
    assert_status(&read(&mut h, ZSZE - 1, ZSZE + 2).0, Status::SUCCESS);
    h.ctrl.zone_offline(&mut h.disk, ZNS, 2).unwrap();
    assert_status(&read(&mut h, ZSZE - 1, ZSZE + 2).0, Status::ZONE_IS_OFFLINE);
    assert_status(&read(&mut h, ZSZE - 1, ZSZE).0, Status::SUCCESS);
}

#[test]
fn reset_deallocates_the_zone() {
    let mut h = zoned_host();
    assert_status(&write(&mut h, ZSZE, 8), Status::SUCCESS);
    assert_status(&zms(&mut h, ZNS, ZSZE, RESET, false), Status::SUCCESS);
    assert!(h.disk.deallocated.contains(&(ZNS, ZSZE * 512, ZSZE * 512)));
    let (_, d) = read(&mut h, ZSZE, 8);
    assert!(d.iter().all(|&b| b == 0));
    assert_status(&write(&mut h, ZSZE, 1), Status::SUCCESS);
    // A failing deallocation is a Write Fault and leaves the zone as it was.
    h.disk.fail = true;
    let c = zms(&mut h, ZNS, ZSZE, RESET, false);
    assert_eq!(c.status.code(), Status::WRITE_FAULT.code());
    h.disk.fail = false;
    assert_eq!(records(&h)[1], (ImplicitlyOpened, 1));
}

// -------------------------------------------------------------------------------------------
// Zone Management Send and Receive: fields, Select All, reports.

#[test]
fn send_field_errors() {
    let mut h = zoned_host();
    assert_status(&zms(&mut h, ZNS, 1, OPEN, false), Status::INVALID_FIELD);
    assert_status(
        &zms(&mut h, ZNS, ZONES * ZSZE, OPEN, false),
        Status::LBA_OUT_OF_RANGE,
    );
    for action in [0, 6, 0x10, 0x11, 0xff] {
        assert_status(&zms(&mut h, ZNS, 0, action, false), Status::INVALID_FIELD);
    }
    // Reserved bits (ZSASO included).
    let mut s = Sqe::new(io_opcode::ZONE_MANAGEMENT_SEND, 0x79);
    s.nsid = ZNS;
    s.cdw13 = u32::from(OPEN) | 1 << 9;
    assert_status(&h.exec(1, &s), Status::INVALID_FIELD);
    assert_eq!(records(&h)[0].0, Empty);
}

#[test]
fn select_all_actions() {
    let mut h = zoned_host();
    prepare(&mut h, 0, ImplicitlyOpened);
    prepare(&mut h, 1, ExplicitlyOpened);
    prepare(&mut h, 3, Full);
    prepare(&mut h, 4, ReadOnly);
    // Close all: the open ones.
    assert_status(&zms(&mut h, ZNS, 0, CLOSE, true), Status::SUCCESS);
    let st = |h: &Host| records(h).iter().map(|r| r.0).take(6).collect::<Vec<_>>();
    assert_eq!(st(&h), [Closed, Closed, Empty, Full, ReadOnly, Empty]);
    // Open all: the Closed ones (two fit under MOR 2).
    assert_status(&zms(&mut h, ZNS, 99, OPEN, true), Status::SUCCESS);
    assert_eq!(st(&h)[..2], [ExplicitlyOpened, ExplicitlyOpened]);
    // Finish all: opened and Closed.
    assert_status(&zms(&mut h, ZNS, 0, FINISH, true), Status::SUCCESS);
    assert_eq!(st(&h), [Full, Full, Empty, Full, ReadOnly, Empty]);
    // Reset all: everything but Read Only, Offline (and Empty).
    assert_status(&zms(&mut h, ZNS, 0, RESET, true), Status::SUCCESS);
    assert_eq!(st(&h), [Empty, Empty, Empty, Empty, ReadOnly, Empty]);
    // Offline all: the Read Only ones.
    assert_status(&zms(&mut h, ZNS, 0, OFFLINE, true), Status::SUCCESS);
    assert_eq!(st(&h)[4], Offline);
    // Open all that would pass MOR: nothing changes.
    for z in 0..3 {
        prepare(&mut h, z, Closed);
    }
    assert_status(&zms(&mut h, ZNS, 0, OPEN, true), Status::ZONE_TOO_MANY_OPEN);
    assert_eq!(st(&h)[..3], [Closed, Closed, Closed]);
}

#[test]
fn report_zones_filters_and_partial_reports() {
    let mut h = zoned_host();
    prepare(&mut h, 0, ImplicitlyOpened);
    prepare(&mut h, 2, Full);
    prepare(&mut h, 3, ReadOnly);
    prepare(&mut h, 5, Offline);
    prepare(&mut h, 6, Closed);
    prepare(&mut h, 7, ExplicitlyOpened);
    let (c, count, d) = report(&mut h, ZNS, 0, 0, false, 4096);
    assert_status(&c, Status::SUCCESS);
    assert_eq!((count, d.len()), (ZONES, ZONES as usize));
    assert_eq!(
        d[0],
        Desc {
            zt: 2,
            zs: 0x20,
            za: 0,
            zcap: ZCAP,
            zslba: 0,
            wp: 4
        }
    );
    assert_eq!((d[1].zs, d[1].wp), (0x10, ZSZE));
    assert_eq!((d[2].zs, d[2].wp), (0xe0, 2 * ZSZE + ZCAP));
    assert_eq!((d[3].zs, d[3].wp), (0xd0, u64::MAX));
    assert_eq!((d[5].zs, d[5].wp), (0xf0, u64::MAX));
    assert_eq!((d[6].zs, d[6].wp), (0x40, 6 * ZSZE + 4));
    assert_eq!((d[7].zs, d[7].zslba), (0x30, 7 * ZSZE));
    // One filter per state, from zone 2 on (the start LBA may be inside a zone).
    for (zrasf, zones) in [
        (1, vec![4u64]),
        (2, vec![]),
        (3, vec![7]),
        (4, vec![6]),
        (5, vec![2]),
        (6, vec![3]),
        (7, vec![5]),
    ] {
        let (c, count, d) = report(&mut h, ZNS, 2 * ZSZE + 9, zrasf, false, 4096);
        assert_status(&c, Status::SUCCESS);
        let got: Vec<u64> = d.iter().map(|d| d.zslba / ZSZE).collect();
        if zrasf == 1 {
            assert_eq!(count, ZONES - 2 - 5, "Empty from zone 2");
            assert_eq!(got[0], 4);
        } else {
            assert_eq!((count, got), (zones.len() as u64, zones), "filter {zrasf}");
        }
    }
    // Partial Report: the count is what the buffer holds; without it, every match.
    let (c, count, d) = report(&mut h, ZNS, 0, 0, true, 64 * 4);
    assert_status(&c, Status::SUCCESS);
    assert_eq!((count, d.len()), (3, 3));
    let (_, count, d) = report(&mut h, ZNS, 0, 0, false, 64 * 4);
    assert_eq!((count, d.len()), (ZONES, 3));
    let (_, count, _) = report(&mut h, ZNS, 0, 0, true, 32);
    assert_eq!(count, 0, "no room for a descriptor");
    // A report larger than a page, from the last zones.
    let (c, count, d) = report(&mut h, ZNS, 0, 0, false, 64 * (ZONES + 8));
    assert_status(&c, Status::SUCCESS);
    assert_eq!((count, d.len()), (ZONES, ZONES as usize));
    assert_eq!(d[31].zslba, 31 * ZSZE);
    let (_, count, d) = report(&mut h, ZNS, ZONES * ZSZE - 1, 0, false, 4096);
    assert_eq!((count, d.len()), (1, 1));
}

#[test]
fn report_zones_field_errors() {
    let mut h = zoned_host();
    let mut s = Sqe::new(io_opcode::ZONE_MANAGEMENT_RECEIVE, 0x7a);
    s.nsid = ZNS;
    let buf = h.buffer(4096, 0, 0);
    s.prp1 = buf.prp1;
    s.cdw12 = 1023;
    let receives = h.ctrl.zone_receives();
    for cdw13 in [1, 2, 8 << 8, 0xff << 8, 1 << 17] {
        s.cdw13 = cdw13;
        assert_status(&h.exec(1, &s), Status::INVALID_FIELD);
    }
    s.cdw13 = 0;
    s.cdw10 = (ZONES * ZSZE) as u32;
    assert_status(&h.exec(1, &s), Status::LBA_OUT_OF_RANGE);
    s.cdw10 = 0;
    s.cdw12 = (8 << 20) / 4 - 1;
    assert_status(&h.exec(1, &s), Status::INVALID_FIELD);
    // Every Zone Management Receive counts, refused or not; other commands do not.
    assert_eq!(h.ctrl.zone_receives(), receives + 7);
    report(&mut h, ZNS, 0, 0, true, 4096);
    write(&mut h, 0, 1);
    assert_eq!(h.ctrl.zone_receives(), receives + 8);
}

// -------------------------------------------------------------------------------------------
// Format NVM and Namespace Management.

#[test]
fn format_resets_zones_and_keeps_the_geometry() {
    let mut h = zoned_host();
    prepare(&mut h, 0, Full);
    prepare(&mut h, 1, ImplicitlyOpened);
    assert_status(&h.format(ZNS, 1), Status::SUCCESS);
    assert!(records(&h).iter().all(|&r| r == (Empty, 0)));
    // 4 KiB blocks: 8 per zone, 6 writable.
    let buf = h.buffer(6 * 4096, 0, 0);
    let s = rw(io_opcode::WRITE, 1, ZNS, 8, 5, &buf);
    assert_status(&h.exec(1, &s), Status::SUCCESS);
    assert_eq!(records(&h)[1], (Full, 6));
    let (_, count, d) = report(&mut h, ZNS, 8, 0, false, 128);
    assert_eq!((count, d[0].zslba, d[0].zcap), (ZONES - 1, 8, 6));
    // A geometry that is not whole 4 KiB blocks cannot take that format.
    let z = ZonedConfig {
        zone_capacity: 3 * 512,
        ..zoned_config()
    };
    let mut h = zoned_host_with(&z, 0);
    assert_status(&h.format(ZNS, 1), Status::INVALID_FORMAT);
    assert_status(&h.format(ZNS, 0), Status::SUCCESS);
}

#[test]
fn namespace_management_leaves_zoned_slots_alone() {
    let mut h = zoned_host();
    let mut del = Sqe::new(admin_opcode::NAMESPACE_MANAGEMENT, 0xd0);
    del.nsid = 0xffff_ffff;
    del.cdw10 = 1;
    assert_status(&h.admin(&del), Status::SUCCESS);
    let create = |h: &mut Host, blocks: u64| {
        let buf = h.buffer(4096, 0, 0);
        let mut id = vec![0u8; 4096];
        id[..8].copy_from_slice(&blocks.to_le_bytes());
        id[8..16].copy_from_slice(&blocks.to_le_bytes());
        buf.fill(&mut h.mem, &id);
        let mut s = Sqe::new(admin_opcode::NAMESPACE_MANAGEMENT, 0xd1);
        s.prp1 = buf.prp1;
        h.admin(&s)
    };
    let c = create(&mut h, 16);
    assert_status(&c, Status::SUCCESS);
    assert_eq!(c.result, CONV, "the conventional slot");
    assert_status(&create(&mut h, 16), Status::NAMESPACE_ID_UNAVAILABLE);
}
