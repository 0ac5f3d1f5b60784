// SPDX-License-Identifier: GPL-2.0

//! Host tests of the e820 bus's size rules.

use nvmock_model::e820::*;

const GIB: u64 = 1 << 30;

#[test]
fn whole_subsections_inside_the_reservation_are_taken() {
    assert_eq!(bytes(2, Some(GIB)), Ok(2 * MIB));
    assert_eq!(bytes(256, Some(2 * GIB)), Ok(256 * MIB));
    assert_eq!(bytes(3072, Some(4608 * MIB)), Ok(3 * GIB));
    // The whole reservation is allowed; whether it is still free is the shim's to say.
    assert_eq!(bytes(2048, Some(2 * GIB)), Ok(2 * GIB));
}

#[test]
fn zero_is_refused() {
    assert_eq!(bytes(0, Some(GIB)), Err(E820Error::Zero));
}

#[test]
fn sizes_that_are_not_whole_subsections_are_refused() {
    for mib in [1, 3, 255, 3071] {
        assert_eq!(
            bytes(mib, Some(8 * GIB)),
            Err(E820Error::NotSubsections { mib }),
            "mib={mib}"
        );
    }
}

#[test]
fn no_reservation_is_refused() {
    assert_eq!(bytes(256, None), Err(E820Error::NoReservation));
}

#[test]
fn more_than_the_reservation_is_refused_naming_both_sizes() {
    assert_eq!(
        bytes(3072, Some(2 * GIB)),
        Err(E820Error::LargerThanReservation {
            mib: 3072,
            reservation_mib: 2048
        })
    );
    // The largest parameter does not overflow.
    assert_eq!(
        bytes(u32::MAX - 1, Some(8 * GIB)),
        Err(E820Error::LargerThanReservation {
            mib: u32::MAX - 1,
            reservation_mib: 8192
        })
    );
}

#[test]
fn messages_name_the_parameter() {
    let msg = format!("{}", E820Error::NotSubsections { mib: 3 });
    assert!(msg.starts_with("mib=3: "), "{msg}");
    let e = E820Error::LargerThanReservation {
        mib: 4096,
        reservation_mib: 2048,
    };
    let msg = format!("{e}");
    assert!(
        msg.contains("mib=4096") && msg.contains("2048 MiB") && msg.contains("NVMOCK_DEVMEM"),
        "{msg}"
    );
}
