// SPDX-License-Identifier: GPL-2.0

//! KUnit: the real nvme driver's error handling against injected controller faults.

#[kernel::macros::kunit_tests(nvmock_nvme_fault)]
mod tests {
    use crate::nvme_dev::{NvmeDev, Profile};
    use crate::nvme_io_test::{open_ns, pattern};
    use core::sync::atomic::Ordering;
    use kernel::alloc::KVVec;
    use kernel::prelude::*;
    use kernel::time::{delay::fsleep, Delta};

    /// A read whose completion the controller never posts: the driver times it out, aborts
    /// it (the controller cannot), times it out again, disables and resets the controller, and
    /// retries the read, which then succeeds with the data written before.
    #[test]
    fn withheld_completion_times_out_and_resets() -> Result {
        let dev = NvmeDev::new(&Profile {
            id: 400,
            ns_mib: 8,
            ..Default::default()
        })?;
        let bdev = open_ns(&dev)?;
        bdev.set_timeout_ms(500);
        let mut out = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        pattern(400, &mut out);
        bdev.transfer(true, 1 << 20, &mut out, 2)?;
        let enables = dev.stats().enables.load(Ordering::Relaxed);
        check!(enables == 1);

        dev.faults().withhold_io.store(1, Ordering::Release);
        let mut back = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        bdev.transfer(false, 1 << 20, &mut back, 2)?;
        check!(back == out);
        // The fault was applied, and the driver recovers with a controller reset. The read
        // may complete before the reset does (the withheld completion is posted when the
        // driver deletes the queue on its way to disabling the controller), so wait for it.
        check!(dev.faults().withhold_io.load(Ordering::Acquire) == 0);
        let mut reset = false;
        for _ in 0..crate::nvme_test::WAIT_MS / 10 {
            reset = dev.stats().enables.load(Ordering::Relaxed) > enables;
            if reset {
                break;
            }
            fsleep(Delta::from_millis(10));
        }
        check!(reset);
        // The controller still works after the reset.
        back.fill(0);
        bdev.transfer(false, 1 << 20, &mut back, 2)?;
        check!(back == out);
        Ok(())
    }
}
