// SPDX-License-Identifier: GPL-2.0

//! KUnit: the emulated NVMe function on its virtual PCI bus, as the PCI core re-enumerates
//! it: removed and scanned again (what `/sys/bus/pci/devices/<bdf>/remove` and
//! `/sys/bus/pci/rescan` do), with and without I/O in flight, and the Command register's
//! Bus Master Enable honoured.

#[kernel::macros::kunit_tests(nvmock_nvme_pci)]
mod tests {
    use crate::glue::nvme::dev::{NvmeDev, Profile};
    use crate::glue::nvme::instance::Instance;
    use crate::glue::nvme::pci_host::{pdev_bar, PciHost};
    use crate::kunit::blk_io::CtrlRef;
    use crate::kunit::nvme::wait_until;
    use crate::kunit::nvme_io::{open_ns, pattern, Inflight};
    use core::sync::atomic::Ordering;
    use kernel::alloc::KVVec;
    use kernel::bindings;
    use kernel::prelude::*;
    use kernel::time::{delay::fsleep, Delta};

    /// A small controller for these tests.
    fn small() -> Result<NvmeDev> {
        NvmeDev::new(
            &Profile {
                ns_mib: 8,
                ..Default::default()
            },
            Instance::alloc()?,
        )
    }

    fn host(dev: &NvmeDev) -> Result<&PciHost> {
        dev.host().ok_or(ENODEV)
    }

    /// Whether the nvme driver is bound to the function as it is now.
    fn bound(dev: &NvmeDev) -> bool {
        match dev.pdev() {
            // SAFETY: `p` holds a reference to the live device.
            Some(p) => !unsafe { (*p.as_ptr()).driver }.is_null(),
            None => false,
        }
    }

    /// Writes 8 KiB at 1 MiB and reads it back through a fresh open of the namespace.
    fn data_round_trip(dev: &NvmeDev, seed: u64) -> Result {
        let bdev = open_ns(dev)?;
        let mut out = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        pattern(seed, &mut out);
        bdev.transfer(true, 1 << 20, &mut out, 2)?;
        let mut back = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        bdev.transfer(false, 1 << 20, &mut back, 2)?;
        check!(back == out);
        Ok(())
    }

    /// Removed and scanned again, the function comes back as a new `pci_dev` with its BAR at
    /// the same place and an interrupt line, the driver binds it again, and I/O works; while
    /// it is removed, nothing hands out the old device.
    #[test]
    fn remove_and_rescan_bring_the_controller_back() -> Result {
        let dev = small()?;
        data_round_trip(&dev, 500)?;
        let (bar, irq) = {
            let p = dev.pdev().ok_or(ENODEV)?;
            // SAFETY: `p` holds a reference to the live device.
            (pdev_bar(p.as_ptr(), 0).ok_or(ENXIO)?, unsafe { (*p.as_ptr()).irq })
        };
        let enables = dev.stats().enables.load(Ordering::Relaxed);

        host(&dev)?.remove_function()?;
        check!(dev.pdev().is_none());
        check!(host(&dev)?.remove_function() == Err(ENODEV));

        host(&dev)?.rescan();
        let p = dev.pdev().ok_or(ENODEV)?;
        check!(pdev_bar(p.as_ptr(), 0) == Some(bar));
        // SAFETY: `p` holds a reference to the live device.
        check!(unsafe { (*p.as_ptr()).irq } == irq && irq != 0);
        drop(p);
        check!(wait_until(|| bound(&dev)));
        // The driver enabled the controller again and its namespace is back.
        check!(wait_until(
            || dev.stats().enables.load(Ordering::Relaxed) > enables
        ));
        data_round_trip(&dev, 501)?;

        // Once more: a second cycle finds the function again too.
        host(&dev)?.remove_function()?;
        host(&dev)?.rescan();
        check!(wait_until(|| bound(&dev)));
        data_round_trip(&dev, 502)
    }

    /// Removing the function while a read is outstanding (its completion withheld by the
    /// controller) ends the read, successfully or with an error but never hung, and a rescan
    /// brings back a controller that works.
    #[test]
    fn removal_during_io_ends_it_and_rescan_recovers() -> Result {
        let dev = small()?;
        let bdev = open_ns(&dev)?;
        // The driver's removal waits for the withheld read to time out (then cancels it):
        // half a second, not the default 30.
        bdev.set_timeout_ms(500);
        let commands = dev.stats().commands.load(Ordering::Relaxed);
        dev.faults().withhold_io.store(1, Ordering::Release);
        let job = Inflight::spawn(bdev, None)?;
        check!(wait_until(
            || dev.stats().commands.load(Ordering::Relaxed) > commands
        ));
        check!(!job.finished());

        // Keep the controller until the job has closed its block device (see `CtrlRef`).
        let ctrl = dev.pdev().and_then(|p| CtrlRef::get(&p)).ok_or(ENODEV)?;
        host(&dev)?.remove_function()?;
        check!(wait_until(|| job.finished()));
        check!(dev.pdev().is_none());
        // The block device the job opened is the removed controller's: it is closed; then
        // the controller goes.
        drop(job);
        drop(ctrl);
        dev.faults().withhold_io.store(0, Ordering::Release);

        host(&dev)?.rescan();
        check!(wait_until(|| bound(&dev)));
        data_round_trip(&dev, 510)
    }

    /// With Bus Master Enable cleared in the Command register, the function fetches and
    /// completes nothing: a read waits (its doorbell is rung, the command is not fetched),
    /// and completes with the right data once the bit is set again.
    #[test]
    fn bus_master_off_holds_commands_until_set_again() -> Result {
        let dev = small()?;
        let bdev = open_ns(&dev)?;
        let mut out = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        pattern(520, &mut out);
        bdev.transfer(true, 0, &mut out, 1)?;
        let p = dev.pdev().ok_or(ENODEV)?;
        // SAFETY: `p` holds a reference to the live device, to which the driver is bound.
        unsafe { bindings::pci_clear_master(p.as_ptr()) };
        let commands = dev.stats().commands.load(Ordering::Relaxed);
        let job = Inflight::spawn(bdev, Some(520))?;
        // Well inside the driver's 30 s I/O timeout: nothing moves.
        fsleep(Delta::from_millis(300));
        let held = !job.finished()
            && dev.stats().commands.load(Ordering::Relaxed) == commands;
        // SAFETY: as above.
        unsafe { bindings::pci_set_master(p.as_ptr()) };
        check!(held);
        check!(wait_until(|| job.finished()));
        check!(job.errno() == 0);
        check!(dev.stats().commands.load(Ordering::Relaxed) > commands);
        Ok(())
    }

    /// A rescan with nothing new to find changes nothing: with the function bound, the same
    /// device stays bound; with the function gone from the bus (unplugged), nothing appears.
    #[test]
    fn rescan_with_nothing_to_find() -> Result {
        let dev = small()?;
        check!(wait_until(|| bound(&dev)));
        let before = dev.pdev().ok_or(ENODEV)?.as_ptr();
        host(&dev)?.rescan();
        let after = dev.pdev().ok_or(ENODEV)?;
        check!(after.as_ptr() == before && bound(&dev));
        drop(after);

        host(&dev)?.remove_function()?;
        dev.surprise_remove();
        host(&dev)?.rescan();
        check!(dev.pdev().is_none());
        Ok(())
    }
}
