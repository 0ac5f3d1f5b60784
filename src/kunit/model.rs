// SPDX-License-Identifier: GPL-2.0

//! KUnit: the pure models, built into the kernel, behave as on the host.

#[kernel::macros::kunit_tests(nvmock_model)]
mod tests {
    use crate::model::range::{Lookup, RangeError, Registry, Release, Removal};

    #[test]
    fn range_registry_in_kernel() {
        let mut r: Registry<4> = Registry::new(0x10_0000_0000, 1 << 20);
        let h = r
            .insert(0x10_0000_1000, 0x1000, 0xffff_0000_0000_0000)
            .unwrap();
        assert_eq!(
            r.map(0x10_0000_1800, 8),
            Lookup::Hit {
                handle: h,
                host: 0xffff_0000_0000_0800
            }
        );
        assert_eq!(
            r.map(0x10_0000_1800, 0x1000),
            Lookup::Refused(RangeError::Straddle)
        );
        assert_eq!(r.map(0x1, 8), Lookup::Miss);
        assert_eq!(r.remove(h), Ok(Removal::Deferred));
        assert_eq!(r.unmap(0xffff_0000_0000_0800), Release::Freed(h));
        assert_eq!(r.count(), 0);
    }
}
