// SPDX-License-Identifier: GPL-2.0

//! KUnit: the relinked drivers nvmock.ko runs against are the relinked copies.
//!
//! Each relinked module exports `nvmock_watermark_<name>()` (tools-testing/watermark.h),
//! answering which watermark it carries and which module it was built into. Calling them
//! makes this module need the relinked copies (loading fails with an unresolved symbol if
//! a production module of the same name was loaded instead), and the answers must name the
//! module each is expected in.

use kernel::ffi::c_char;

extern "C" {
    fn nvmock_watermark_nvme_core() -> *const c_char;
    fn nvmock_watermark_nvme() -> *const c_char;
    fn nvmock_watermark_phram() -> *const c_char;
}

#[kernel::macros::kunit_tests(nvmock_relinked)]
mod tests {
    use super::*;
    use crate::kunit::watermark::says;
    use kernel::prelude::*;

    #[test]
    fn nvme_core_is_the_relinked_copy() -> Result {
        // SAFETY: a watermark function.
        check!(unsafe { says(nvmock_watermark_nvme_core, c"nvmock relinked nvme_core in nvme_core") });
        Ok(())
    }

    #[test]
    fn nvme_is_the_relinked_copy() -> Result {
        // SAFETY: a watermark function.
        check!(unsafe { says(nvmock_watermark_nvme, c"nvmock relinked nvme in nvme") });
        Ok(())
    }

    #[test]
    fn phram_is_the_relinked_copy() -> Result {
        // SAFETY: a watermark function.
        check!(unsafe { says(nvmock_watermark_phram, c"nvmock relinked phram in phram") });
        Ok(())
    }
}
