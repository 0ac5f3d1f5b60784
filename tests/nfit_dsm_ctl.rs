// SPDX-License-Identifier: GPL-2.0

//! The dispatcher: routing by target and command, packages, failure injection, and a
//! property test that random command sequences never panic and keep the invariants.

use nvmock_model::nfit::ars::{Ars, Scrub};
use nvmock_model::nfit::dsm::*;
use nvmock_model::nfit::firmware::Activation;
use nvmock_model::nfit::label::LabelArea;
use nvmock_model::nfit::security::{state, Lock};
use nvmock_model::nfit::smart::Smart;
use nvmock_model::nfit::DeviceHandle;
use proptest::prelude::*;

const H0: DeviceHandle = DeviceHandle::new(0, 0, 0, 0, 0);
const H1: DeviceHandle = DeviceHandle::new(0, 0, 0, 0, 1);

fn pkg(family: u64, func: u64, size_in: u32, size_out: u32, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; PKG_HDR];
    b[0..8].copy_from_slice(&family.to_le_bytes());
    b[8..16].copy_from_slice(&func.to_le_bytes());
    b[16..20].copy_from_slice(&size_in.to_le_bytes());
    b[20..24].copy_from_slice(&size_out.to_le_bytes());
    b.extend_from_slice(payload);
    b
}

/// The dispatcher with no firmware activation state to keep (these tests do not arm).
fn ctl<const N: usize>(
    ars: &mut Ars<N>,
    dimms: &mut [Dimm<LabelArea<'_>>],
    target: Target,
    cmd: u32,
    buf: &mut [u8],
) -> Result<Done, DsmError> {
    nvmock_model::nfit::dsm::ctl(
        ars,
        &mut Activation::default(),
        &nvmock_model::nfit::preset::NFIT_TEST0,
        dimms,
        target,
        cmd,
        buf,
    )
}

fn with_bus<R>(f: impl FnOnce(&mut Ars<8>, &mut [Dimm<LabelArea<'_>>]) -> R) -> R {
    let mut m0 = vec![0u8; 1024];
    let mut m1 = vec![0u8; 1024];
    let mut dimms = [
        Dimm::new(H0, LabelArea::new(&mut m0).unwrap()),
        Dimm::new(H1, LabelArea::new(&mut m1).unwrap()),
    ];
    let mut ars = Ars::new(1000);
    f(&mut ars, &mut dimms)
}

#[test]
fn routing() {
    with_bus(|ars, dimms| {
        let mut b = [0u8; 12];
        let done = ctl(ars, dimms, Target::Dimm(H1), CMD_GET_CONFIG_SIZE, &mut b).unwrap();
        assert_eq!(done.written, 12);
        assert_eq!(&b[4..8], &1024u32.to_le_bytes());
        let unknown = DeviceHandle::new(1, 0, 0, 0, 0);
        assert_eq!(
            ctl(
                ars,
                dimms,
                Target::Dimm(unknown),
                CMD_GET_CONFIG_SIZE,
                &mut b
            ),
            Err(DsmError::NoDevice)
        );
        for cmd in [0, 1, 2, 3, 7, 8, 9, 11, 64, u32::MAX] {
            assert_eq!(
                ctl(ars, dimms, Target::Dimm(H0), cmd, &mut [0u8; 256]),
                Err(DsmError::NotSupported)
            );
        }
        for cmd in [0, 5, 6, 9, 11, u32::MAX] {
            assert_eq!(
                ctl(ars, dimms, Target::Bus, cmd, &mut [0u8; 256]),
                Err(DsmError::NotSupported)
            );
        }
        let mut b = [0u8; 32];
        ctl(ars, dimms, Target::Bus, CMD_ARS_CAP, &mut b).unwrap();
        assert_eq!(&b[24..28], &256u32.to_le_bytes());
        ctl(ars, dimms, Target::Bus, CMD_ARS_START, &mut b).unwrap();
        assert!(matches!(ars.scrub(), Scrub::Running { .. }));
    });
}

#[test]
fn packages() {
    with_bus(|ars, dimms| {
        let mut b = pkg(FAMILY_INTEL, intel::SMART, 0, 132, &[0xff; 140]);
        let done = ctl(ars, dimms, Target::Dimm(H0), CMD_CALL, &mut b).unwrap();
        assert_eq!(done.written, 132);
        assert_eq!(b[PKG_HDR + 13], 75);
        // The payload is only size_in + size_out bytes.
        let mut b = pkg(FAMILY_INTEL, intel::SMART, 0, 131, &[0xff; 140]);
        assert_eq!(
            ctl(ars, dimms, Target::Dimm(H0), CMD_CALL, &mut b),
            Err(DsmError::Invalid)
        );
        // The package claims more than the buffer holds.
        let mut b = pkg(FAMILY_INTEL, intel::SMART, 100, 100, &[0; 100]);
        assert_eq!(
            ctl(ars, dimms, Target::Dimm(H0), CMD_CALL, &mut b),
            Err(DsmError::Invalid)
        );
        let mut b = pkg(FAMILY_INTEL, intel::SMART, u32::MAX, u32::MAX, &[]);
        assert_eq!(
            ctl(ars, dimms, Target::Dimm(H0), CMD_CALL, &mut b),
            Err(DsmError::Invalid)
        );
        assert_eq!(
            ctl(ars, dimms, Target::Dimm(H0), CMD_CALL, &mut [0u8; 63]),
            Err(DsmError::Invalid)
        );
        // Other families and functions.
        let mut b = pkg(1, intel::SMART, 0, 132, &[0; 132]);
        assert_eq!(
            ctl(ars, dimms, Target::Dimm(H0), CMD_CALL, &mut b),
            Err(DsmError::NotSupported)
        );
        let mut b = pkg(FAMILY_INTEL, 3, 0, 132, &[0; 132]);
        assert_eq!(
            ctl(ars, dimms, Target::Dimm(H0), CMD_CALL, &mut b),
            Err(DsmError::NotSupported)
        );
        // DIMMs that do not take packages (nfit_test's second bus).
        dimms[1].package_calls = false;
        let mut b = pkg(FAMILY_INTEL, intel::SMART, 0, 132, &[0; 132]);
        assert_eq!(
            ctl(ars, dimms, Target::Dimm(H1), CMD_CALL, &mut b),
            Err(DsmError::Invalid)
        );
        // Latch system shutdown status.
        let mut b = pkg(
            FAMILY_INTEL,
            intel::ENABLE_LSS_STATUS,
            1,
            4,
            &[1, 9, 9, 9, 9],
        );
        ctl(ars, dimms, Target::Dimm(H0), CMD_CALL, &mut b).unwrap();
        assert_eq!(&b[PKG_HDR + 1..], &[0; 4]);
        let mut b = pkg(
            FAMILY_INTEL,
            intel::ENABLE_LSS_STATUS,
            1,
            4,
            &[2, 9, 9, 9, 9],
        );
        ctl(ars, dimms, Target::Dimm(H0), CMD_CALL, &mut b).unwrap();
        assert_eq!(&b[PKG_HDR + 1..], &[3, 0, 0, 0]);
        // Bus packages: error injection.
        let mut p = [0u8; 21];
        p[0..8].copy_from_slice(&0x4000u64.to_le_bytes());
        p[8..16].copy_from_slice(&0x200u64.to_le_bytes());
        let mut b = pkg(BUS_FAMILY_NFIT, nfit_bus::ARS_INJECT_SET, 17, 4, &p);
        ctl(ars, dimms, Target::Bus, CMD_CALL, &mut b).unwrap();
        assert_eq!(ars.errors().entries().len(), 1);
        let mut b = pkg(1, nfit_bus::ARS_INJECT_SET, 17, 4, &p);
        assert_eq!(
            ctl(ars, dimms, Target::Bus, CMD_CALL, &mut b),
            Err(DsmError::NotSupported)
        );
    });
}

#[test]
fn fail_cmd_fails_exactly_the_masked_commands() {
    // func -> (native?, payload)
    let cmds: [(u64, bool, usize); 7] = [
        (4, true, 12),
        (5, true, 16),
        (6, true, 16),
        (intel::SMART, false, 132),
        (intel::SMART_THRESHOLD, false, 12),
        (intel::SMART_SET_THRESHOLD, false, 11),
        (intel::SMART_INJECT, false, 19),
    ];
    for mask in [0u64, 1 << 5, (1 << 4) | (1 << 17), 1 << 1, 1 << 18, !0] {
        for code in [0i32, -6, -95] {
            with_bus(|ars, dimms| {
                dimms[0].fail = FailControl { mask, code };
                for &(func, native, len) in &cmds {
                    let mut payload = vec![0u8; len];
                    let r = if native {
                        ctl(ars, dimms, Target::Dimm(H0), func as u32, &mut payload)
                    } else {
                        let mut b = pkg(FAMILY_INTEL, func, 0, len as u32, &payload);
                        ctl(ars, dimms, Target::Dimm(H0), CMD_CALL, &mut b)
                    };
                    let r1 = {
                        let mut payload = vec![0u8; len];
                        if native {
                            ctl(ars, dimms, Target::Dimm(H1), func as u32, &mut payload)
                        } else {
                            let mut b = pkg(FAMILY_INTEL, func, 0, len as u32, &payload);
                            ctl(ars, dimms, Target::Dimm(H1), CMD_CALL, &mut b)
                        }
                    };
                    assert!(r1.is_ok(), "other DIMM unaffected: {func}");
                    if mask & (1 << func) != 0 {
                        let want = if code == 0 { -5 } else { code };
                        assert_eq!(r, Err(DsmError::Failed(want)), "{mask:#x} {func}");
                        assert_eq!(r.unwrap_err().errno(), want);
                    } else {
                        assert!(r.is_ok(), "{mask:#x} {func}: {r:?}");
                    }
                }
                // Bus commands are never overridden.
                let mut b = [0u8; 32];
                assert!(ctl(ars, dimms, Target::Bus, CMD_ARS_CAP, &mut b).is_ok());
            });
        }
    }
}

#[test]
fn failed_commands_still_run() {
    with_bus(|ars, dimms| {
        dimms[0].fail = FailControl {
            mask: 1 << 6,
            code: 0,
        };
        let mut b = vec![0u8; 8 + 2 + 4];
        b[4..8].copy_from_slice(&2u32.to_le_bytes());
        b[8..10].copy_from_slice(&[0xab, 0xcd]);
        assert_eq!(
            ctl(ars, dimms, Target::Dimm(H0), CMD_SET_CONFIG_DATA, &mut b),
            Err(DsmError::Failed(-5))
        );
        assert_eq!(&dimms[0].label.bytes()[..2], &[0xab, 0xcd]);
    });
}

#[test]
fn errnos() {
    assert_eq!(DsmError::Invalid.errno(), -22);
    assert_eq!(DsmError::NotSupported.errno(), -25);
    assert_eq!(DsmError::NoDevice.errno(), -6);
    assert_eq!(DsmError::NoMemory.errno(), -12);
    assert_eq!(CmdRc::Ok.errno(), 0);
    assert_eq!(CmdRc::Busy.errno(), -16);
    assert_eq!(CmdRc::NoSpace.errno(), -28);
    assert_eq!(
        Smart::DEFAULT,
        Dimm::new(H0, LabelArea::new(&mut []).unwrap()).smart
    );
}

#[derive(Debug, Clone)]
enum Op {
    Ctl {
        dimm: Option<u8>,
        cmd: u32,
        family: u64,
        func: u64,
        size_in: u32,
        size_out: u32,
        bytes: Vec<u8>,
    },
    Advance(u64),
    Fail(u8, u64, i32),
}

fn op() -> impl Strategy<Value = Op> {
    let cmd = prop_oneof![0u32..12, any::<u32>()];
    let func = prop_oneof![0u64..20, any::<u64>()];
    let size = prop_oneof![0u32..160, any::<u32>()];
    let bytes = prop::collection::vec(
        prop_oneof![any::<u8>(), Just(0u8), Just(0xffu8), 0u8..4],
        0..300,
    );
    prop_oneof![
        6 => (
            prop::option::of(0u8..3),
            cmd,
            0u64..3,
            func,
            size.clone(),
            size,
            bytes
        )
            .prop_map(|(dimm, cmd, family, func, size_in, size_out, bytes)| Op::Ctl {
                dimm,
                cmd,
                family,
                func,
                size_in,
                size_out,
                bytes
            }),
        1 => prop_oneof![0u64..3000, any::<u64>()].prop_map(Op::Advance),
        1 => (0u8..2, any::<u64>(), any::<i32>()).prop_map(|(d, m, c)| Op::Fail(d, m, c)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_sequences_never_panic(ops in prop::collection::vec(op(), 1..60)) {
        let mut m0 = vec![0u8; 300];
        let mut m1 = vec![0u8; 77];
        let mut dimms = [
            Dimm::new(H0, LabelArea::new(&mut m0).unwrap()),
            Dimm::new(H1, LabelArea::new(&mut m1).unwrap()),
        ];
        let mut ars: Ars<4> = Ars::new(1000);
        let mut fwa = Activation::default();
        let topo = nvmock_model::nfit::Topology {
            base: 0x1_0000_0000,
            ..nvmock_model::nfit::preset::NFIT_TEST0
        };
        for op in ops {
            match op {
                Op::Ctl { dimm, cmd, family, func, size_in, size_out, mut bytes } => {
                    let target = match dimm {
                        None => Target::Bus,
                        Some(0) => Target::Dimm(H0),
                        Some(1) => Target::Dimm(H1),
                        Some(_) => Target::Dimm(DeviceHandle(0xffff)),
                    };
                    if cmd == CMD_CALL && bytes.len() >= PKG_HDR && (func & 1) == 0 {
                        // Make half the packages well-formed enough to reach the commands.
                        bytes[0..8].copy_from_slice(&family.to_le_bytes());
                        // Up to the last Intel function (30); bus Intel functions are 1, 2.
                        bytes[8..16].copy_from_slice(&(func % 32).to_le_bytes());
                        let room = (bytes.len() - PKG_HDR) as u32;
                        let si = size_in % (room + 1);
                        let so = size_out % (room - si + 1);
                        bytes[16..20].copy_from_slice(&si.to_le_bytes());
                        bytes[20..24].copy_from_slice(&so.to_le_bytes());
                    }
                    let len = bytes.len();
                    let rc = nvmock_model::nfit::dsm::ctl(
                        &mut ars, &mut fwa, &topo, &mut dimms, target, cmd, &mut bytes,
                    );
                    if let Ok(done) = rc {
                        prop_assert!(done.written <= len);
                        prop_assert!(done.residual <= len);
                    }
                    prop_assert_eq!(bytes.len(), len);
                }
                Op::Advance(ns) => ars.advance(ns),
                Op::Fail(d, mask, code) => dimms[d as usize].fail = FailControl { mask, code },
            }
            prop_assert!(ars.errors().entries().len() <= 4);
            prop_assert_eq!(dimms[0].label.bytes().len(), 300);
            prop_assert_eq!(dimms[1].label.bytes().len(), 77);
            if let Scrub::Running { until } = ars.scrub() {
                prop_assert!(until > ars.now());
            }
            for d in &dimms {
                let (st, _) = d.security.bits();
                match (d.security.lock_state(), d.security.overwrite()) {
                    (_, Some(_)) => prop_assert_eq!(st, state::OVERWRITE),
                    (Lock::Disabled, None) => prop_assert_eq!(st & (state::ENABLED | state::LOCKED), 0),
                    (Lock::Unlocked, None) => prop_assert_eq!(st & (state::ENABLED | state::LOCKED), state::ENABLED),
                    (Lock::Locked, None) => prop_assert_eq!(st & (state::ENABLED | state::LOCKED), state::ENABLED | state::LOCKED),
                }
            }
        }
    }
}

/// A DIMM may own its label storage (the bus keeps a buffer per DIMM): label commands read
/// and write that storage in place, and other DIMMs' storage is not touched.
#[test]
fn owned_label_storage_is_served_in_place() {
    let mut dimms = [Dimm::new(H0, vec![0u8; 256]), Dimm::new(H1, vec![7u8; 64])];
    let mut ars: Ars<8> = Ars::new(1000);
    let mut run = |dimms: &mut [Dimm<Vec<u8>>], t, cmd, b: &mut [u8]| {
        nvmock_model::nfit::dsm::ctl(
            &mut ars,
            &mut Activation::default(),
            &nvmock_model::nfit::preset::NFIT_TEST0,
            dimms,
            t,
            cmd,
            b,
        )
    };
    let mut size = [0u8; 12];
    run(&mut dimms, Target::Dimm(H1), CMD_GET_CONFIG_SIZE, &mut size).unwrap();
    assert_eq!(u32::from_le_bytes(size[4..8].try_into().unwrap()), 64);
    let mut set = vec![0u8; 8 + 3 + 4];
    set[0..4].copy_from_slice(&100u32.to_le_bytes());
    set[4..8].copy_from_slice(&3u32.to_le_bytes());
    set[8..11].copy_from_slice(&[1, 2, 3]);
    run(&mut dimms, Target::Dimm(H0), CMD_SET_CONFIG_DATA, &mut set).unwrap();
    assert_eq!(&dimms[0].label[100..103], &[1, 2, 3]);
    assert!(dimms[1].label.iter().all(|&b| b == 7));
    let mut get = vec![0u8; 12 + 4];
    get[0..4].copy_from_slice(&99u32.to_le_bytes());
    get[4..8].copy_from_slice(&4u32.to_le_bytes());
    let done = run(&mut dimms, Target::Dimm(H0), CMD_GET_CONFIG_DATA, &mut get).unwrap();
    assert_eq!(done.written, 16);
    assert_eq!(&get[12..16], &[0, 1, 2, 3]);
}
