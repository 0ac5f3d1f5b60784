// SPDX-License-Identifier: GPL-2.0

//! KUnit: the NVDIMM stack nvmock_nvdimm runs against is the relinked one (see
//! `src/kunit/relinked.rs` for how the watermarks are checked).

use kernel::ffi::c_char;

extern "C" {
    fn nvmock_watermark_libnvdimm() -> *const c_char;
    fn nvmock_watermark_nd_pmem() -> *const c_char;
    fn nvmock_watermark_nd_btt() -> *const c_char;
    fn nvmock_watermark_nd_e820() -> *const c_char;
    fn nvmock_watermark_nfit() -> *const c_char;
    fn nvmock_watermark_device_dax() -> *const c_char;
    fn nvmock_watermark_dax_pmem() -> *const c_char;
}

#[kernel::macros::kunit_tests(nvmock_relinked_nvdimm)]
mod tests {
    use super::*;
    use crate::kunit::watermark::says;
    use kernel::prelude::*;

    /// Every module of the stack, by watermark and the module it must be in.
    #[test]
    fn every_module_of_the_stack_is_the_relinked_copy() -> Result {
        let marks: [(crate::kunit::watermark::Watermark, &CStr); 7] = [
            (nvmock_watermark_libnvdimm, c"nvmock relinked libnvdimm in libnvdimm"),
            (nvmock_watermark_nd_pmem, c"nvmock relinked nd_pmem in nd_pmem"),
            (nvmock_watermark_nd_btt, c"nvmock relinked nd_btt in nd_btt"),
            (nvmock_watermark_nd_e820, c"nvmock relinked nd_e820 in nd_e820"),
            (nvmock_watermark_nfit, c"nvmock relinked nfit in nfit"),
            (nvmock_watermark_device_dax, c"nvmock relinked device_dax in device_dax"),
            (nvmock_watermark_dax_pmem, c"nvmock relinked dax_pmem in dax_pmem"),
        ];
        let mut all = true;
        for (mark, want) in marks {
            // SAFETY: a watermark function.
            all &= unsafe { says(mark, want) };
        }
        check!(all);
        Ok(())
    }
}
