// SPDX-License-Identifier: GPL-2.0

//! Intel security functions: the passphrase state machine, freeze, erase, overwrite on the
//! virtual clock, the master passphrase, payload layouts and short payloads.

use nvmock_model::nfit::security::*;

const Z: [u8; PASSPHRASE_LEN] = [0; PASSPHRASE_LEN];
const A: [u8; PASSPHRASE_LEN] = [b'a'; PASSPHRASE_LEN];
const B: [u8; PASSPHRASE_LEN] = [b'b'; PASSPHRASE_LEN];

fn two(old: [u8; PASSPHRASE_LEN], new: [u8; PASSPHRASE_LEN]) -> Vec<u8> {
    let mut b = old.to_vec();
    b.extend_from_slice(&new);
    b.extend_from_slice(&[0xee; 4]);
    b
}

fn one(p: [u8; PASSPHRASE_LEN]) -> Vec<u8> {
    let mut b = p.to_vec();
    b.extend_from_slice(&[0xee; 4]);
    b
}

fn st(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn set(s: &mut Security, old: [u8; 32], new: [u8; 32]) -> u32 {
    let mut b = two(old, new);
    let d = s.set_passphrase(&mut b).unwrap();
    assert_eq!(d.written, TWO_PASS_LEN);
    st(&b, 64)
}

fn with_one(
    s: &mut Security,
    f: fn(
        &mut Security,
        &mut [u8],
    ) -> Result<nvmock_model::nfit::dsm::Done, nvmock_model::nfit::dsm::DsmError>,
    p: [u8; 32],
) -> u32 {
    let mut b = one(p);
    let d = f(s, &mut b).unwrap();
    assert_eq!(d.written, ONE_PASS_LEN);
    st(&b, 32)
}

fn bits(s: &Security) -> (u8, u8) {
    let mut b = [0xffu8; STATE_LEN];
    assert_eq!(s.get_state(&mut b).unwrap().written, STATE_LEN);
    assert_eq!(st(&b, 0), 0);
    assert_eq!(&b[5..8], &[0, 0, 0]);
    assert_eq!(&b[9..12], &[0, 0, 0]);
    (b[8], b[4])
}

#[test]
fn starts_disabled_with_master_enabled() {
    let s = Security::DEFAULT;
    assert_eq!(bits(&s), (0, ext_state::ENABLED));
    assert_eq!(s.lock_state(), Lock::Disabled);
}

#[test]
fn set_update_disable() {
    let mut s = Security::DEFAULT;
    assert_eq!(
        set(&mut s, B, A),
        status::INVALID_PASS,
        "old must be the zero key"
    );
    assert_eq!(bits(&s).0, 0);
    assert_eq!(set(&mut s, Z, A), 0);
    assert_eq!(bits(&s).0, state::ENABLED);
    assert_eq!(set(&mut s, Z, B), status::INVALID_PASS);
    assert_eq!(set(&mut s, A, B), 0);
    assert_eq!(
        with_one(&mut s, Security::disable_passphrase, A),
        status::INVALID_PASS
    );
    assert_eq!(bits(&s).0, state::ENABLED);
    assert_eq!(with_one(&mut s, Security::disable_passphrase, B), 0);
    assert_eq!(bits(&s).0, 0);
    assert_eq!(
        with_one(&mut s, Security::disable_passphrase, Z),
        status::INVALID_STATE
    );
    // Setting the zero key is disabling.
    assert_eq!(set(&mut s, Z, A), 0);
    assert_eq!(set(&mut s, A, Z), 0);
    assert_eq!(s.lock_state(), Lock::Disabled);
}

#[test]
fn lock_and_unlock() {
    let mut s = Security::DEFAULT;
    assert!(s.lock().is_err(), "nothing to lock with");
    assert_eq!(with_one(&mut s, Security::unlock, Z), status::INVALID_STATE);
    assert_eq!(set(&mut s, Z, A), 0);
    s.lock().unwrap();
    assert_eq!(bits(&s).0, state::ENABLED | state::LOCKED);
    assert_eq!(set(&mut s, A, B), status::INVALID_STATE, "locked");
    assert_eq!(
        with_one(&mut s, Security::disable_passphrase, A),
        status::INVALID_STATE
    );
    assert_eq!(with_one(&mut s, Security::unlock, B), status::INVALID_PASS);
    assert_eq!(s.lock_state(), Lock::Locked);
    assert_eq!(with_one(&mut s, Security::unlock, A), 0);
    assert_eq!(bits(&s).0, state::ENABLED);
    assert_eq!(with_one(&mut s, Security::unlock, A), status::INVALID_STATE);
}

#[test]
fn freeze_blocks_changes_until_reset() {
    let mut s = Security::DEFAULT;
    let mut b = [0xeeu8; 4];
    s.freeze(&mut b).unwrap();
    assert_eq!(st(&b, 0), status::INVALID_STATE, "nothing to freeze");
    assert_eq!(set(&mut s, Z, A), 0);
    s.freeze(&mut b).unwrap();
    assert_eq!(st(&b, 0), 0);
    assert!(s.frozen());
    assert_eq!(bits(&s).0, state::ENABLED | state::FROZEN);
    assert_eq!(
        with_one(&mut s, Security::disable_passphrase, A),
        status::INVALID_STATE
    );
    assert_eq!(set(&mut s, A, B), status::INVALID_STATE);
    assert_eq!(
        with_one(&mut s, Security::secure_erase, A),
        status::INVALID_STATE
    );
    let mut o = one(A);
    s.overwrite_start(&mut o, 0).unwrap();
    assert_eq!(st(&o, 32), status::INVALID_STATE);
    let mut reset = Security::DEFAULT;
    assert_eq!(set(&mut reset, Z, A), 0, "a reset DIMM is not frozen");
}

#[test]
fn secure_erase_clears_both_passphrases() {
    let mut s = Security::DEFAULT;
    assert_eq!(set(&mut s, Z, A), 0);
    let mut m = two(Z, B);
    s.set_master(&mut m).unwrap();
    assert_eq!(st(&m, 64), 0);
    assert_eq!(
        with_one(&mut s, Security::secure_erase, B),
        status::INVALID_PASS
    );
    assert_eq!(s.lock_state(), Lock::Unlocked);
    assert_eq!(with_one(&mut s, Security::secure_erase, A), 0);
    assert_eq!(bits(&s), (0, ext_state::ENABLED));
    // The master passphrase is back to zeroes.
    assert_eq!(
        with_one(&mut s, Security::master_erase, B),
        status::INVALID_PASS
    );
    assert_eq!(with_one(&mut s, Security::master_erase, Z), 0);
    // Erasing a disabled DIMM takes the zero key only.
    assert_eq!(
        with_one(&mut s, Security::secure_erase, A),
        status::INVALID_PASS
    );
    assert_eq!(with_one(&mut s, Security::secure_erase, Z), 0);
}

#[test]
fn erase_works_on_a_locked_dimm() {
    let mut s = Security::DEFAULT;
    assert_eq!(set(&mut s, Z, A), 0);
    s.lock().unwrap();
    assert_eq!(with_one(&mut s, Security::secure_erase, A), 0);
    assert_eq!(s.lock_state(), Lock::Disabled);
}

#[test]
fn master_erase_keeps_the_master_passphrase() {
    let mut s = Security::DEFAULT;
    let mut m = two(B, A);
    s.set_master(&mut m).unwrap();
    assert_eq!(st(&m, 64), status::INVALID_PASS);
    let mut m = two(Z, A);
    s.set_master(&mut m).unwrap();
    assert_eq!(st(&m, 64), 0);
    assert_eq!(set(&mut s, Z, B), 0);
    s.lock().unwrap();
    assert_eq!(
        with_one(&mut s, Security::master_erase, B),
        status::INVALID_PASS
    );
    assert_eq!(s.lock_state(), Lock::Locked);
    assert_eq!(with_one(&mut s, Security::master_erase, A), 0);
    assert_eq!(bits(&s), (0, ext_state::ENABLED));
    assert_eq!(
        with_one(&mut s, Security::master_erase, A),
        0,
        "still the master passphrase"
    );
}

#[test]
fn overwrite_runs_on_the_virtual_clock_and_restores_the_state() {
    let mut s = Security::DEFAULT;
    let mut q = [0xeeu8; 4];
    s.overwrite_query(&mut q, 0).unwrap();
    assert_eq!(st(&q, 0), status::OQUERY_SEQUENCE_ERR);
    assert_eq!(set(&mut s, Z, A), 0);
    let mut o = one(B);
    s.overwrite_start(&mut o, 100).unwrap();
    assert_eq!(st(&o, 32), status::INVALID_PASS);
    assert!(s.overwrite().is_none());
    let mut o = one(A);
    s.overwrite_start(&mut o, 100).unwrap();
    assert_eq!(st(&o, 32), 0);
    assert_eq!(bits(&s).0, state::OVERWRITE);
    // Everything else waits.
    assert_eq!(set(&mut s, A, B), status::INVALID_STATE);
    assert_eq!(
        with_one(&mut s, Security::secure_erase, A),
        status::INVALID_STATE
    );
    let mut o2 = one(A);
    s.overwrite_start(&mut o2, 200).unwrap();
    assert_eq!(st(&o2, 32), status::INVALID_STATE);
    s.overwrite_query(&mut q, 100 + OVERWRITE_NS - 1).unwrap();
    assert_eq!(st(&q, 0), status::OQUERY_IN_PROGRESS);
    assert_eq!(bits(&s).0, state::OVERWRITE);
    s.overwrite_query(&mut q, 100 + OVERWRITE_NS).unwrap();
    assert_eq!(st(&q, 0), 0);
    assert_eq!(bits(&s).0, state::ENABLED);
    s.overwrite_query(&mut q, u64::MAX).unwrap();
    assert_eq!(st(&q, 0), status::OQUERY_SEQUENCE_ERR, "reported once");
    // A disabled DIMM overwrites with any passphrase; the clock saturates.
    let mut s = Security::DEFAULT;
    let mut o = one(B);
    s.overwrite_start(&mut o, u64::MAX - 1).unwrap();
    assert_eq!(st(&o, 32), 0);
    assert_eq!(s.overwrite().unwrap().until, u64::MAX);
    assert!(s.lock().is_err(), "no locking during an overwrite");
}

#[test]
fn short_payloads_are_invalid_and_change_nothing() {
    let mut s = Security::DEFAULT;
    assert_eq!(set(&mut s, Z, A), 0);
    let before = s;
    assert!(s.get_state(&mut [0; STATE_LEN - 1]).is_err());
    assert!(s
        .set_passphrase(&mut two(A, B)[..TWO_PASS_LEN - 1])
        .is_err());
    assert!(s
        .disable_passphrase(&mut one(A)[..ONE_PASS_LEN - 1])
        .is_err());
    assert!(s.unlock(&mut [0; 3]).is_err());
    assert!(s.freeze(&mut [0; 3]).is_err());
    assert!(s.secure_erase(&mut one(A)[..ONE_PASS_LEN - 1]).is_err());
    assert!(s
        .overwrite_start(&mut one(A)[..ONE_PASS_LEN - 1], 0)
        .is_err());
    assert!(s.overwrite_query(&mut [0; 3], 0).is_err());
    assert!(s.set_master(&mut two(Z, B)[..TWO_PASS_LEN - 1]).is_err());
    assert!(s.master_erase(&mut one(Z)[..ONE_PASS_LEN - 1]).is_err());
    assert_eq!(s, before);
}

#[test]
fn master_commands_need_the_master_passphrase_enabled() {
    let mut s = Security::without_master();
    assert_eq!(bits(&s), (0, 0));
    let mut m = two(Z, A);
    s.set_master(&mut m).unwrap();
    assert_eq!(st(&m, 64), status::NOT_SUPPORTED);
    assert_eq!(
        with_one(&mut s, Security::master_erase, Z),
        status::NOT_SUPPORTED
    );
    // A user secure erase enables it.
    assert_eq!(with_one(&mut s, Security::secure_erase, Z), 0);
    assert_eq!(bits(&s), (0, ext_state::ENABLED));
    assert_eq!(with_one(&mut s, Security::master_erase, Z), 0);
}
