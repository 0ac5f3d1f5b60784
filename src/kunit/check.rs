// SPDX-License-Identifier: GPL-2.0

//! `check!`, the assertion of nvmock's KUnit tests that own devices.

/// A test check that fails the calling function with an error instead of ending the test's
/// thread: KUnit's assertions exit the thread on failure without running destructors, which
/// would leave an emulated device (and its poller thread, and the driver bound to it) behind.
/// Tests that own devices use this and return `Result`.
macro_rules! check {
    ($cond:expr) => {
        if !($cond) {
            kernel::pr_err!(
                "{}:{}: check failed: {}\n",
                file!(),
                line!(),
                stringify!($cond)
            );
            return Err(kernel::error::code::EBADMSG);
        }
    };
}
