// SPDX-License-Identifier: GPL-2.0

//! KUnit: a real driver, relinked. The production phram driver (tools-testing/), bound to a
//! platform device whose memory lies in an owner's span, reads and writes the owner's buffer
//! through MTD.
//!
//! x86 only: phram dereferences its ioremap() cookie as plain memory, which UML's
//! logic_iomem cookies are not (on UML, ioremap memory is reached only through readl() and
//! friends, which the `nvmock_iomap` suite covers).

use core::ffi::{c_int, c_void};

extern "C" {
    fn mtd_read(mtd: *mut c_void, from: i64, len: usize, retlen: *mut usize, buf: *mut u8)
        -> c_int;
    fn mtd_write(
        mtd: *mut c_void,
        to: i64,
        len: usize,
        retlen: *mut usize,
        buf: *const u8,
    ) -> c_int;
}

#[kernel::macros::kunit_tests(nvmock_phram)]
mod tests {
    use super::*;
    use crate::glue::iomap::IoMock;
    use crate::model::range::Removal;
    use kernel::{bindings, c_str, page::PAGE_SIZE, prelude::*};

    fn pattern(i: usize) -> u8 {
        (i * 7 % 253) as u8
    }

    #[test]
    fn phram_serves_test_memory() -> Result {
        // That phram is the relinked copy is checked by the nvmock_relinked suite.
        let mock = IoMock::new(c_str!("nvmock-phram"), 1 << 24)?;
        let len = 16 * PAGE_SIZE;
        let r = mock.add(len, 0)?;
        for i in 0..len {
            // SAFETY: `host` is the live buffer of `r`, `len` bytes long.
            unsafe { *r.host.add(i) = pattern(i) };
        }
        // SAFETY: all-zero is a valid `resource` (null pointers, no flags).
        let mut res: bindings::resource = unsafe { core::mem::zeroed() };
        res.start = r.phys;
        res.end = r.phys + len as u64 - 1;
        res.flags = bindings::IORESOURCE_MEM as _;
        res.name = c_str!("nvmock-phram").as_char_ptr();
        // SAFETY: all-zero is a valid `platform_device_info`.
        let mut info: bindings::platform_device_info = unsafe { core::mem::zeroed() };
        info.name = c_str!("phram").as_char_ptr();
        info.id = bindings::PLATFORM_DEVID_AUTO;
        info.res = &res;
        info.num_res = 1;
        // SAFETY: `info` and `res` are valid; the resource is copied.
        let pdev = unsafe { bindings::platform_device_register_full(&info) };
        check!(!pdev.is_null() && !kernel::error::from_err_ptr(pdev).is_err());
        // phram's driver data is its `struct phram_mtd_list`, whose first member is the
        // `struct mtd_info`. Null means phram did not bind: its ioremap() missed.
        // SAFETY: `pdev` is a registered platform device.
        let mtd = unsafe { (*pdev).dev.driver_data };
        check!(!mtd.is_null());
        check!((mock.users(&r)?) == ((1, 0)));

        let mut buf = [0u8; 300];
        let mut got = 0usize;
        if !mtd.is_null() {
            // SAFETY: `mtd` is phram's live MTD device; `buf` holds 300 bytes.
            let rc = unsafe { mtd_read(mtd, 1000, buf.len(), &mut got, buf.as_mut_ptr()) };
            check!(((rc, got)) == ((0, buf.len())));
            check!(buf.iter().enumerate().all(|(i, b)| *b == pattern(1000 + i)));
            let src = [0xa5u8; 100];
            // SAFETY: as above; `src` holds 100 bytes.
            let rc = unsafe { mtd_write(mtd, 5000, src.len(), &mut got, src.as_ptr()) };
            check!((rc) == (0));
            // SAFETY: `host` is the live buffer of `r`.
            check!((5000..5100).all(|i| unsafe { *r.host.add(i) } == 0xa5));
            // SAFETY: as above.
            check!((unsafe { *r.host.add(5100) }) == (pattern(5100)));
        }
        // Unbinding unmaps: the owner sees the mapping go.
        // SAFETY: `pdev` was registered above and is not used after this.
        unsafe { bindings::platform_device_unregister(pdev) };
        check!((mock.users(&r)?) == ((0, 0)));
        check!((mock.remove(&r)?) == (Removal::Freed));
        Ok(())
    }
}
