// SPDX-License-Identifier: GPL-2.0

//! The C glue's shared structures as the C compiler lays them out, and compile-time checks
//! that the Rust `#[repr(C)]` mirrors of them agree.
//!
//! `src/modules/Kbuild` runs bindgen, with the flags the C glue is compiled with, over
//! `c_types.h` (which includes `mock/nvmock_iomap.h` and `mock/nvmock_nfit.h`) and passes the
//! output's directory to rustc as `NVMOCK_GEN`. [`check_mirror!`] then compares a mirror
//! with the bindgen type: the same field names, and for each field the same offset and
//! width, and the same size. A mismatch is a build error that names the field.

/// bindgen's output for `c_types.h`: only the `nvmock_*` structures the Rust glue mirrors, and
/// `struct hotplug_slot` with its ops (which the kernel crate's bindings leave opaque).
#[allow(
    dead_code,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    unreachable_pub,
    clippy::all,
    missing_docs
)]
pub(crate) mod c {
    // The types the structures refer to (`u32`, `struct module`, ...) are the kernel's.
    #[allow(unused_imports)]
    use kernel::bindings::*;
    include!(concat!(env!("NVMOCK_GEN"), "/c_types.rs"));
}

/// Checks at compile time that the `#[repr(C)]` Rust structure `$rust` mirrors the C
/// structure `$c`: exactly the fields listed (a field missing from the list, or from
/// either structure, does not compile), each at the same offset and of the same width,
/// and the same size.
macro_rules! check_mirror {
    ($rust:path => $c:path { $($f:ident),+ $(,)? }) => {
        const _: () = {
            /// The width of the value `read` returns: that of the field it reads.
            const fn width<S, T>(_read: fn(S) -> T) -> usize {
                core::mem::size_of::<T>()
            }
            // Every field of each structure is listed (no `..`).
            #[allow(dead_code)]
            fn fields(r: $rust, c: $c) {
                let $rust { $($f: _),+ } = r;
                let $c { $($f: _),+ } = c;
            }
            assert!(
                core::mem::size_of::<$rust>() == core::mem::size_of::<$c>(),
                concat!(stringify!($rust), ": size differs from C's ", stringify!($c)),
            );
            $(
                assert!(
                    core::mem::offset_of!($rust, $f) == core::mem::offset_of!($c, $f),
                    concat!(stringify!($rust), ".", stringify!($f), ": offset differs from C's"),
                );
                assert!(
                    width(|s: $rust| s.$f) == width(|s: $c| s.$f),
                    concat!(stringify!($rust), ".", stringify!($f), ": width differs from C's"),
                );
            )+
        };
    };
}
pub(crate) use check_mirror;
