// SPDX-License-Identifier: GPL-2.0

//! The relinked modules' watermarks, as the suites check them (tools-testing/watermark.h).

use kernel::ffi::c_char;
use kernel::str::{CStr, CStrExt};

/// A relinked module's watermark function.
pub(crate) type Watermark = unsafe extern "C" fn() -> *const c_char;

/// Whether watermark `mark` says `want`; says what it got when not.
///
/// # Safety
///
/// `mark` is a relinked module's watermark function (it returns a static C string).
pub(crate) unsafe fn says(mark: Watermark, want: &CStr) -> bool {
    // SAFETY: the watermark returns a static NUL-terminated string (per the safety
    // requirements).
    let got = unsafe { CStr::from_char_ptr(mark()) };
    if got != want {
        kernel::pr_err!("watermark: {:?}, expected {:?}\n", got, want);
    }
    got == want
}
