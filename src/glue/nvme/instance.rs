// SPDX-License-Identifier: GPL-2.0

//! Instance numbers of emulated controllers, and the serial numbers made from them.
//!
//! A controller's instance number names its poller thread (`nvmock-nvme<n>`) and its serial
//! number (`NVMOCK` and eight digits), which the nvme driver folds into the subsystem NQN:
//! two live controllers with one number would look like two paths to one subsystem. So the
//! numbers come from one allocator, shared by `nvme=`, configfs and the KUnit suites, none of
//! which can reach a common device struct: a counter that never hands out a number twice
//! while the module is loaded. `nvme=` controllers are made first, at load, and get 0 up.

use core::sync::atomic::{AtomicU32, Ordering};
use kernel::prelude::*;

/// The next instance number. Global because the three users above share no device struct;
/// it only ever grows.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// Highest instance number: the serial number has eight digits.
const MAX: u32 = 99_999_999;

/// An instance number from the allocator.
///
/// # Invariants
///
/// No other `Instance` with the same number was handed out since the module was loaded, and
/// the number is at most [`MAX`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Instance(u32);

impl Instance {
    /// The next unused instance number; `ENOSPC` once all are used.
    pub(crate) fn alloc() -> Result<Self> {
        NEXT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n <= MAX).then_some(n + 1)
        })
        // INVARIANT: `fetch_update` hands each value of the counter out once, and only values
        // up to `MAX`.
        .map(Instance)
        .map_err(|_| ENOSPC)
    }

    /// The number.
    pub(crate) fn number(self) -> u32 {
        self.0
    }

    /// The serial number of the controller with this instance number.
    pub(crate) fn serial(self) -> Serial {
        let mut s = *b"NVMOCK00000000";
        let mut n = self.0;
        for b in s[6..].iter_mut().rev() {
            *b = b'0' + (n % 10) as u8;
            n /= 10;
        }
        Serial(s)
    }
}

/// A serial number: "NVMOCK" and the instance number in eight digits.
pub(crate) struct Serial([u8; 14]);

impl Serial {
    /// The serial number as text.
    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("NVMOCK")
    }
}
