// SPDX-License-Identifier: GPL-2.0

//! KUnit: the real nvme driver's error handling against injected controller faults.

#[kernel::macros::kunit_tests(nvmock_nvme_fault)]
mod tests {
    use crate::glue::nvme::dev::{NvmeDev, Profile};
    use crate::glue::nvme::instance::Instance;
    use crate::kunit::nvme_io::{open_ns, pattern, Inflight};
    use crate::kunit::blk_io::CtrlRef;
    use crate::kunit::nvme::wait_until;
    use core::sync::atomic::Ordering;
    use kernel::alloc::KVVec;
    use kernel::prelude::*;

    /// A read whose completion the controller never posts: the driver times it out, aborts
    /// it (the controller cannot), times it out again, disables and resets the controller, and
    /// retries the read, which then succeeds with the data written before.
    #[test]
    fn withheld_completion_times_out_and_resets() -> Result {
        let dev = NvmeDev::new(
            &Profile {
            ns_mib: 8,
            ..Default::default()
        },
            Instance::alloc()?,
        )?;
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
        check!(wait_until(
            || dev.stats().enables.load(Ordering::Relaxed) > enables
        ));
        // The controller still works after the reset.
        back.fill(0);
        bdev.transfer(false, 1 << 20, &mut back, 2)?;
        check!(back == out);
        Ok(())
    }

    /// The device disappears (config space and BAR all ones) while a read is in flight:
    /// removing it must fail the read, not hang it, and leave nothing behind.
    #[test]
    fn surprise_removal_fails_inflight_io() -> Result {
        let dev = NvmeDev::new(
            &Profile {
            ns_mib: 8,
            ..Default::default()
        },
            Instance::alloc()?,
        )?;
        let bdev = open_ns(&dev)?;
        let commands = dev.stats().commands.load(Ordering::Relaxed);
        dev.faults().withhold_io.store(1, Ordering::Release);
        let job = Inflight::spawn(bdev, None)?;
        // Wait until the controller has fetched the read (its completion is withheld).
        check!(wait_until(
            || dev.stats().commands.load(Ordering::Relaxed) > commands
        ));
        check!(!job.finished());
        // Keep the controller until the job has closed its block device (see `CtrlRef`).
        let ctrl = dev.pdev().and_then(|p| CtrlRef::get(&p)).ok_or(ENODEV)?;
        dev.surprise_remove();
        drop(dev);
        check!(wait_until(|| job.finished()));
        check!(job.errno() != 0);
        drop(ctrl);
        Ok(())
    }
}
