// SPDX-License-Identifier: GPL-2.0

//! Intel SMART commands: payloads byte for byte, thresholds and injection.

use nvmock_model::nfit::dsm::{DsmError, Event};
use nvmock_model::nfit::smart::*;

fn inj(flags: u64, mtemp: Option<u16>, spares: Option<u8>, fatal: bool, unsafe_: bool) -> Vec<u8> {
    let mut b = vec![0xeeu8; INJECT_LEN];
    b[0..8].copy_from_slice(&flags.to_le_bytes());
    b[8] = mtemp.is_some() as u8;
    b[9..11].copy_from_slice(&mtemp.unwrap_or(0).to_le_bytes());
    b[11] = spares.is_some() as u8;
    b[12] = spares.unwrap_or(0);
    b[13] = fatal as u8;
    b[14] = unsafe_ as u8;
    b
}

fn set_thr(alarm: u16, spares: u8, mtemp: u16, ctemp: u16) -> Vec<u8> {
    let mut b = vec![0xeeu8; 11];
    b[0..2].copy_from_slice(&alarm.to_le_bytes());
    b[2] = spares;
    b[3..5].copy_from_slice(&mtemp.to_le_bytes());
    b[5..7].copy_from_slice(&ctemp.to_le_bytes());
    b
}

#[test]
fn get_smart_default_layout() {
    let s = Smart::DEFAULT;
    let mut buf = [0xffu8; 140];
    let done = s.get(&mut buf).unwrap();
    assert_eq!(done.written, 132);
    let mut want = [0u8; 132];
    want[4..8].copy_from_slice(&0x63fu32.to_le_bytes());
    want[12] = 1; // non-critical
    want[13] = 75; // spares
    want[14] = 5; // life used
    want[15] = 3; // spare and temperature trip
    want[16..18].copy_from_slice(&(23u16 * 16).to_le_bytes());
    want[18..20].copy_from_slice(&(25u16 * 16).to_le_bytes());
    want[20..24].copy_from_slice(&42u32.to_le_bytes());
    want[24] = 1; // AIT status
    want[25..27].copy_from_slice(&(40u16 * 16).to_le_bytes());
    assert_eq!(&buf[..132], &want[..]);
    assert_eq!(&buf[132..], &[0xff; 8]);
    assert_eq!(s.get(&mut [0u8; 131]), Err(DsmError::Invalid));
    assert!(!s.alarming());
}

#[test]
fn threshold_layout_and_set() {
    let mut s = Smart::DEFAULT;
    let mut buf = [0xffu8; 12];
    s.get_threshold(&mut buf).unwrap();
    assert_eq!(buf, [0, 0, 0, 0, 3, 0, 5, 0x80, 0x02, 0xe0, 0x01, 0]);
    assert_eq!(s.get_threshold(&mut [0u8; 11]), Err(DsmError::Invalid));

    let mut b = set_thr(7, 80, 0x1234, 0x0567);
    let done = s.set_threshold(&mut b).unwrap();
    assert_eq!(&b[7..11], &[0; 4]);
    // Spares 75 <= 80 with spare trip enabled: health event.
    assert_eq!(done.event, Event::Health);
    let mut buf = [0u8; 12];
    s.get_threshold(&mut buf).unwrap();
    assert_eq!(buf, [0, 0, 0, 0, 7, 0, 80, 0x34, 0x12, 0x67, 0x05, 0]);
    // Below 7 bytes is invalid; 7 bytes works (no room for the status).
    assert_eq!(s.set_threshold(&mut [0u8; 6]), Err(DsmError::Invalid));
    let mut b7 = set_thr(0, 0, 0, 0);
    b7.truncate(7);
    assert_eq!(s.set_threshold(&mut b7).unwrap().event, Event::None);
}

#[test]
fn threshold_crossings_raise_health_events() {
    let mut s = Smart::DEFAULT;
    // Media temperature threshold at the current temperature.
    let e = s
        .set_threshold(&mut set_thr(2, 0, 23 * 16, 0xffff))
        .unwrap()
        .event;
    assert_eq!(e, Event::Health);
    let e = s
        .set_threshold(&mut set_thr(2, 0, 23 * 16 + 1, 0))
        .unwrap()
        .event;
    assert_eq!(e, Event::None);
    // Controller temperature only counts when enabled.
    let e = s
        .set_threshold(&mut set_thr(3, 0, 0xffff, 0))
        .unwrap()
        .event;
    assert_eq!(e, Event::None);
    let e = s
        .set_threshold(&mut set_thr(4, 0, 0xffff, 25 * 16))
        .unwrap()
        .event;
    assert_eq!(e, Event::Health);
    // Spares at the threshold.
    let e = s.set_threshold(&mut set_thr(1, 75, 0, 0)).unwrap().event;
    assert_eq!(e, Event::Health);
    let e = s.set_threshold(&mut set_thr(1, 74, 0, 0)).unwrap().event;
    assert_eq!(e, Event::None);
}

#[test]
fn inject_media_temperature_and_spares() {
    let mut s = Smart::DEFAULT;
    let mut b = inj(inject::MTEMP, Some(45 * 16), None, false, false);
    let done = s.inject(&mut b).unwrap();
    assert_eq!(&b[15..19], &[0; 4]);
    assert_eq!(done.written, 19);
    assert_eq!(s.health.media_temperature, 45 * 16);
    assert_eq!(done.event, Event::Health); // 45 >= 40 degrees
                                           // Alarm flags stay as nfit_test has them.
    assert_eq!(s.health.alarm_flags, trip::SPARE | trip::MTEMP);
    let done = s
        .inject(&mut inj(inject::MTEMP, None, None, false, false))
        .unwrap();
    assert_eq!(s.health.media_temperature, 23 * 16);
    assert_eq!(done.event, Event::None);

    let done = s
        .inject(&mut inj(inject::SPARE, None, Some(4), false, false))
        .unwrap();
    assert_eq!((s.health.spares, done.event), (4, Event::Health));
    let done = s
        .inject(&mut inj(inject::SPARE, None, None, false, false))
        .unwrap();
    assert_eq!((s.health.spares, done.event), (75, Event::None));
    // Values without their flag are ignored.
    s.inject(&mut inj(0, Some(99 * 16), Some(1), true, true))
        .unwrap();
    assert_eq!(s, Smart::DEFAULT);
}

#[test]
fn inject_fatal_and_unsafe_shutdown() {
    let mut s = Smart::DEFAULT;
    let done = s
        .inject(&mut inj(inject::FATAL, None, None, true, false))
        .unwrap();
    assert_eq!(
        (s.health.health, done.event),
        (health::FATAL, Event::Health)
    );
    s.inject(&mut inj(inject::FATAL, None, None, false, false))
        .unwrap();
    assert_eq!(s.health.health, health::NON_CRITICAL);

    let done = s
        .inject(&mut inj(inject::SHUTDOWN, None, None, false, true))
        .unwrap();
    assert_eq!((s.health.shutdown_state, s.health.shutdown_count), (1, 43));
    assert_eq!(done.event, Event::Health);
    s.inject(&mut inj(inject::SHUTDOWN, None, None, false, true))
        .unwrap();
    assert_eq!(s.health.shutdown_count, 44);
    let done = s
        .inject(&mut inj(inject::SHUTDOWN, None, None, false, false))
        .unwrap();
    assert_eq!((s.health.shutdown_state, s.health.shutdown_count), (0, 44));
    assert_eq!(done.event, Event::None);
    let mut buf = [0u8; 132];
    s.get(&mut buf).unwrap();
    assert_eq!(&buf[20..24], &44u32.to_le_bytes());
    assert_eq!(buf[35], 0);
}

#[test]
fn inject_wants_exact_length() {
    let mut s = Smart::DEFAULT;
    for len in [0usize, 15, 18, 20, 64] {
        let mut b = vec![0xffu8; len];
        assert_eq!(s.inject(&mut b), Err(DsmError::Invalid));
        assert!(b.iter().all(|&x| x == 0xff));
    }
    assert_eq!(s, Smart::DEFAULT);
}
