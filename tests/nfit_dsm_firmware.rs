// SPDX-License-Identifier: GPL-2.0

//! Intel firmware update and activation: the update state machine on the virtual clock,
//! payloads byte for byte, bus-wide activation with its quiesce limit, and the dispatcher
//! routing the DIMM and bus functions.

use nvmock_model::nfit::ars::Ars;
use nvmock_model::nfit::dsm::{self, intel, intel_bus, Dimm, Target, BUS_FAMILY_INTEL};
use nvmock_model::nfit::firmware::*;
use nvmock_model::nfit::label::LabelArea;
use nvmock_model::nfit::DeviceHandle;

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

fn start(f: &mut Firmware) -> (u32, u32) {
    let mut b = [0xeeu8; START_LEN];
    f.start(&mut b).unwrap();
    (u32_at(&b, 0), u32_at(&b, 4))
}

fn send(f: &mut Firmware, ctx: u32, off: u32, len: u32) -> u32 {
    let mut b = vec![0xeeu8; SEND_HDR + len as usize + 4];
    b[0..4].copy_from_slice(&ctx.to_le_bytes());
    b[4..8].copy_from_slice(&off.to_le_bytes());
    b[8..12].copy_from_slice(&len.to_le_bytes());
    let d = f.send(&mut b).unwrap();
    assert_eq!(d.written, b.len());
    u32_at(&b, SEND_HDR + len as usize)
}

fn finish(f: &mut Firmware, flags: u8, ctx: u32, now: u64) -> u32 {
    let mut b = [0u8; FINISH_LEN];
    b[0] = flags;
    b[4..8].copy_from_slice(&ctx.to_le_bytes());
    f.finish(&mut b, now).unwrap();
    u32_at(&b, 8)
}

fn query(f: &mut Firmware, ctx: u32, now: u64) -> (u32, u64) {
    let mut b = [0xeeu8; QUERY_LEN];
    b[0..4].copy_from_slice(&ctx.to_le_bytes());
    f.query(&mut b, now).unwrap();
    (u32_at(&b, 4), u64_at(&b, 8))
}

fn arm(f: &mut Firmware, v: u8) -> u32 {
    let mut b = [v, 0xee, 0xee, 0xee, 0xee];
    f.arm(&mut b).unwrap();
    u32_at(&b, 1)
}

/// Runs a DIMM's update to Staged from `now`; returns the time after.
fn stage(f: &mut Firmware, now: u64) -> u64 {
    let (st, ctx) = start(f);
    assert_eq!(st, 0);
    assert_eq!(send(f, ctx, 0, 4096), 0);
    assert_eq!(finish(f, 0, ctx, now), 0);
    assert_eq!(query(f, ctx, now + VERIFY_NS), (0, STAGED_VERSION));
    now + VERIFY_NS
}

#[test]
fn info_layout() {
    let f = Firmware::DEFAULT;
    let mut b = [0xffu8; INFO_LEN + 4];
    assert_eq!(f.info(&mut b).unwrap().written, INFO_LEN);
    assert_eq!(u32_at(&b, 0), 0);
    assert_eq!(u32_at(&b, 4), 0x10_0000);
    assert_eq!(u32_at(&b, 8), 0xffec);
    assert_eq!(u32_at(&b, 12), 250_000);
    assert_eq!(u32_at(&b, 16), 3_000_000);
    assert_eq!(&b[20..24], &[0, 0, 0, 0]);
    assert_eq!(u32_at(&b, 24), 0x0105);
    assert_eq!(u64_at(&b, 28), 0);
    assert_eq!(u64_at(&b, 36), 0);
    assert_eq!(&b[INFO_LEN..], &[0xff; 4], "nothing past the payload");
    assert!(f.info(&mut [0; INFO_LEN - 1]).is_err());
}

#[test]
fn update_goes_through_verification_on_the_virtual_clock() {
    let mut f = Firmware::DEFAULT;
    let (st, ctx) = start(&mut f);
    assert_eq!((st, ctx), (0, 1));
    assert_eq!(start(&mut f).0, status::BUSY, "one update at a time");
    assert_eq!(send(&mut f, ctx + 1, 0, 16), status::BUSY, "wrong context");
    assert_eq!(
        send(&mut f, ctx, 0, MAX_SEND_LEN + 1),
        status::INVALID_PARAM
    );
    assert_eq!(
        send(&mut f, ctx, STORAGE_SIZE - 8, 16),
        status::INVALID_PARAM
    );
    assert_eq!(
        send(&mut f, ctx, u32::MAX, 16),
        status::INVALID_PARAM,
        "no wrap"
    );
    assert_eq!(send(&mut f, ctx, 0, 16), 0);
    assert_eq!(
        f.update(),
        Update::Receiving {
            context: ctx,
            received: 16
        }
    );
    assert_eq!(
        query(&mut f, ctx, 0).0,
        status::SEQUENCE,
        "query while receiving"
    );
    assert_eq!(finish(&mut f, 0, ctx + 1, 10), status::BUSY);
    assert_eq!(finish(&mut f, 0, ctx, 10), 0);
    assert_eq!(
        send(&mut f, ctx, 16, 16),
        status::RETRY,
        "no data after finish"
    );
    assert_eq!(finish(&mut f, 0, ctx, 10), status::SEQUENCE);
    assert_eq!(
        query(&mut f, ctx, 10 + VERIFY_NS - 1),
        (status::ALREADY_STAGED, 0)
    );
    assert_eq!(query(&mut f, ctx + 1, 10 + VERIFY_NS).0, status::BUSY);
    assert_eq!(query(&mut f, ctx, 10 + VERIFY_NS), (0, STAGED_VERSION));
    assert_eq!(f.update(), Update::Staged { context: ctx });
    assert_eq!(query(&mut f, ctx, 0), (0, STAGED_VERSION), "stays staged");
    assert_eq!(finish(&mut f, 0, ctx, 0), status::ALREADY_STAGED);
    assert_eq!(
        finish(&mut f, 1, ctx, 0),
        status::ALREADY_STAGED,
        "no abort once staged"
    );
    assert_eq!(start(&mut f).0, status::BUSY);
    let mut b = [0u8; INFO_LEN];
    f.info(&mut b).unwrap();
    assert_eq!(u64_at(&b, 36), STAGED_VERSION);
    assert_eq!(u64_at(&b, 28), 0, "not running before activation");
}

#[test]
fn abort_and_bad_flags() {
    let mut f = Firmware::DEFAULT;
    let (_, ctx) = start(&mut f);
    assert_eq!(
        finish(&mut f, 1, 0, 0),
        status::SEQUENCE,
        "abort reports its own status"
    );
    assert_eq!(f.update(), Update::Idle);
    let (_, ctx2) = start(&mut f);
    assert_eq!(ctx2, ctx + 1, "a new context per update");
    let mut b = [0u8; FINISH_LEN];
    b[0] = 2;
    assert!(f.finish(&mut b, 0).is_err());
    assert_eq!(
        f.update(),
        Update::Receiving {
            context: ctx2,
            received: 0
        }
    );
    assert!(f.finish(&mut [0; FINISH_LEN - 1], 0).is_err());
}

#[test]
fn send_checks_its_own_length_against_the_buffer() {
    let mut f = Firmware::DEFAULT;
    let (_, ctx) = start(&mut f);
    let mut b = vec![0u8; SEND_HDR + 8];
    b[0..4].copy_from_slice(&ctx.to_le_bytes());
    b[8..12].copy_from_slice(&8u32.to_le_bytes());
    assert!(f.send(&mut b).is_err(), "no room for the status");
    b[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(f.send(&mut b).is_err());
    assert!(f.send(&mut [0; SEND_HDR - 1]).is_err());
    assert_eq!(
        f.update(),
        Update::Receiving {
            context: ctx,
            received: 0
        }
    );
}

#[test]
fn arm_values() {
    let mut f = Firmware::DEFAULT;
    assert_eq!(arm(&mut f, 1), 0);
    assert!(f.armed());
    assert_eq!(arm(&mut f, 2), status::INVALID_PARAM);
    assert!(f.armed());
    assert_eq!(arm(&mut f, 0), 0);
    assert!(!f.armed());
}

fn bus_info(a: &Activation, fws: &[Firmware], now: u64) -> (u8, u8, u64, u64) {
    let mut b = [0xeeu8; BUS_INFO_LEN];
    a.bus_info(fws, &mut b, now).unwrap();
    assert_eq!(u32_at(&b, 0), 0);
    assert_eq!(u64_at(&b, 8), u64_at(&b, 16));
    assert_eq!(u64_at(&b, 8), u64_at(&b, 24));
    (b[6], b[7], u64_at(&b, 8), u64_at(&b, 32))
}

fn dimm_info(f: &Firmware, a: &Activation, fws_armed: usize, now: u64) -> (u16, u8) {
    let mut b = [0xeeu8; DIMM_INFO_LEN];
    f.activate_info(a.view(fws_armed, now), &mut b).unwrap();
    assert_eq!(u32_at(&b, 0), 0);
    assert_eq!(&b[7..], &[0; 7]);
    (u16::from_le_bytes([b[4], b[5]]), b[6])
}

fn activate(a: &mut Activation, fws: &mut [Firmware], now: u64) -> u32 {
    let mut b = [0u8; ACTIVATE_LEN];
    a.activate(fws, &mut b, now).unwrap();
    u32_at(&b, 1)
}

#[test]
fn activation_counts_armed_dimms_against_the_quiesce_limit() {
    let mut a = Activation::default();
    let mut fws = [Firmware::DEFAULT; 4];
    let caps = cap::FWQUIESCE | cap::OSQUIESCE | cap::RESET;
    assert_eq!(bus_info(&a, &fws, 0), (fwa::IDLE, caps, 0, 3_000_000));
    assert_eq!(activate(&mut a, &mut fws, 0), status::NOARM);
    let mut now = 0;
    for f in &mut fws[..3] {
        now = stage(f, now);
        assert_eq!(arm(f, 1), 0);
    }
    assert_eq!(
        bus_info(&a, &fws, now),
        (fwa::ARMED, caps, 3_000_000, 3_000_000)
    );
    assert_eq!(dimm_info(&fws[0], &a, 3, now), (result::NONE, fwa::ARMED));
    assert_eq!(dimm_info(&fws[3], &a, 3, now), (result::NONE, fwa::IDLE));
    // The fourth, unstaged, goes past the limit: the kernel calls that overflow.
    assert_eq!(arm(&mut fws[3], 1), 0);
    let (state, _, tmo, max) = bus_info(&a, &fws, now);
    assert_eq!(state, fwa::ARMED);
    assert!(tmo > max);
    assert_eq!(activate(&mut a, &mut fws, now), status::FWA_TMO);
    // Busy for a while: activating again is refused, DIMMs report nothing yet.
    assert_eq!(bus_info(&a, &fws, now).0, fwa::BUSY);
    assert_eq!(dimm_info(&fws[0], &a, 0, now), (result::NONE, fwa::BUSY));
    assert_eq!(activate(&mut a, &mut fws, now + 1), status::FWA_BUSY);
    let later = now + ACTIVATE_BUSY_NS;
    assert_eq!(bus_info(&a, &fws, later).0, fwa::IDLE);
    for f in &fws[..3] {
        assert_eq!(dimm_info(f, &a, 0, later), (result::SUCCESS, fwa::IDLE));
        assert_eq!(f.running(), STAGED_VERSION);
        assert_eq!(f.update(), Update::Idle);
        assert!(!f.armed());
    }
    assert_eq!(
        dimm_info(&fws[3], &a, 0, later),
        (result::NOT_STAGED, fwa::IDLE)
    );
    assert_eq!(fws[3].running(), 0);
    // The next activation's results replace these: a DIMM not armed for it reports none.
    now = stage(&mut fws[0], later);
    assert_eq!(arm(&mut fws[0], 1), 0);
    assert_eq!(activate(&mut a, &mut fws, now), 0);
    let later = now + ACTIVATE_BUSY_NS;
    assert_eq!(
        dimm_info(&fws[0], &a, 0, later),
        (result::SUCCESS, fwa::IDLE)
    );
    assert_eq!(dimm_info(&fws[1], &a, 0, later), (result::NONE, fwa::IDLE));
}

#[test]
fn short_bus_payloads_are_invalid() {
    let mut a = Activation::default();
    let mut fws = [Firmware::DEFAULT; 1];
    assert_eq!(arm(&mut fws[0], 1), 0);
    assert!(a.bus_info(&fws, &mut [0; BUS_INFO_LEN - 1], 0).is_err());
    assert!(a.activate(&mut fws, &mut [0; ACTIVATE_LEN - 1], 0).is_err());
    assert!(fws[0].armed(), "nothing activated");
    assert!(fws[0]
        .activate_info(a.view(1, 0), &mut [0; DIMM_INFO_LEN - 1])
        .is_err());
}

fn pkg(family: u64, func: u64, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; dsm::PKG_HDR];
    b[0..8].copy_from_slice(&family.to_le_bytes());
    b[8..16].copy_from_slice(&func.to_le_bytes());
    b[20..24].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    b.extend_from_slice(payload);
    b
}

#[test]
fn dispatcher_routes_firmware_and_security() {
    let h = [
        DeviceHandle::new(0, 0, 0, 0, 0),
        DeviceHandle::new(0, 0, 0, 0, 1),
    ];
    let (mut m0, mut m1) = (vec![0u8; 1024], vec![0u8; 1024]);
    let mut dimms = [
        Dimm::new(h[0], LabelArea::new(&mut m0).unwrap()),
        Dimm::new(h[1], LabelArea::new(&mut m1).unwrap()),
    ];
    let mut ars: Ars<8> = Ars::new(1000);
    let mut a = Activation::default();
    let mut run = |dimms: &mut [Dimm<LabelArea<'_>>],
                   ars: &mut Ars<8>,
                   t: Target,
                   fam: u64,
                   func: u64,
                   p: &[u8]| {
        let mut b = pkg(fam, func, p);
        dsm::ctl(
            ars,
            &mut a,
            &nvmock_model::nfit::preset::NFIT_TEST0,
            dimms,
            t,
            dsm::CMD_CALL,
            &mut b,
        )
        .map(|_| b[dsm::PKG_HDR..].to_vec())
    };
    // Arm DIMM 1 through its package; the bus sees it, DIMM 0 does not.
    let out = run(
        &mut dimms,
        &mut ars,
        Target::Dimm(h[1]),
        0,
        intel::FW_ACTIVATE_ARM,
        &[1, 0, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(u32_at(&out, 1), 0);
    assert!(dimms[1].firmware.armed() && !dimms[0].firmware.armed());
    let out = run(
        &mut dimms,
        &mut ars,
        Target::Bus,
        BUS_FAMILY_INTEL,
        intel_bus::FW_ACTIVATE_BUSINFO,
        &[0; BUS_INFO_LEN],
    )
    .unwrap();
    assert_eq!((out[6], u64_at(&out, 8)), (fwa::ARMED, 1_000_000));
    let out = run(
        &mut dimms,
        &mut ars,
        Target::Dimm(h[0]),
        0,
        intel::FW_ACTIVATE_DIMMINFO,
        &[0; DIMM_INFO_LEN],
    )
    .unwrap();
    assert_eq!(out[6], fwa::IDLE);
    let out = run(
        &mut dimms,
        &mut ars,
        Target::Dimm(h[1]),
        0,
        intel::FW_ACTIVATE_DIMMINFO,
        &[0; DIMM_INFO_LEN],
    )
    .unwrap();
    assert_eq!(out[6], fwa::ARMED);
    let out = run(
        &mut dimms,
        &mut ars,
        Target::Bus,
        BUS_FAMILY_INTEL,
        intel_bus::FW_ACTIVATE,
        &[0; ACTIVATE_LEN],
    )
    .unwrap();
    assert_eq!(u32_at(&out, 1), 0);
    assert!(!dimms[1].firmware.armed());
    // Time comes from the bus's clock.
    ars.advance(ACTIVATE_BUSY_NS);
    let out = run(
        &mut dimms,
        &mut ars,
        Target::Dimm(h[1]),
        0,
        intel::FW_ACTIVATE_DIMMINFO,
        &[0; DIMM_INFO_LEN],
    )
    .unwrap();
    assert_eq!(
        (u16::from_le_bytes([out[4], out[5]]), out[6]),
        (result::NOT_STAGED, fwa::IDLE)
    );
    // Security through the dispatcher.
    let mut p = vec![0u8; 32];
    p.extend_from_slice(&[7u8; 32]);
    p.extend_from_slice(&[0xee; 4]);
    let out = run(
        &mut dimms,
        &mut ars,
        Target::Dimm(h[0]),
        0,
        intel::SET_PASSPHRASE,
        &p,
    )
    .unwrap();
    assert_eq!(u32_at(&out, 64), 0);
    let out = run(
        &mut dimms,
        &mut ars,
        Target::Dimm(h[0]),
        0,
        intel::GET_SECURITY_STATE,
        &[0; 12],
    )
    .unwrap();
    assert_eq!(out[8], nvmock_model::nfit::security::state::ENABLED);
    // Unknown bus-family functions are not supported.
    assert!(run(
        &mut dimms,
        &mut ars,
        Target::Bus,
        BUS_FAMILY_INTEL,
        3,
        &[0; 8]
    )
    .is_err());
}
