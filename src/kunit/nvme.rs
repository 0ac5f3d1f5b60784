// SPDX-License-Identifier: GPL-2.0

//! KUnit: emulated NVMe controllers under the real (relinked) nvme driver.
//!
//! The runner loads nvme-core and nvme before nvmock, so the driver binds to every controller
//! a test creates; its probe is asynchronous, so the tests wait for the controller to reach a
//! state (bounded, [`WAIT_MS`]) rather than assume it.

use kernel::time::{delay::fsleep, Delta};

/// How long a test waits for the driver to act before failing.
pub(crate) const WAIT_MS: u32 = 20_000;

/// Polls `cond` every 10 ms until it holds or [`WAIT_MS`] have passed; returns whether it held.
pub(crate) fn wait_until(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..WAIT_MS / 10 {
        if cond() {
            return true;
        }
        fsleep(Delta::from_millis(10));
    }
    cond()
}

#[kernel::macros::kunit_tests(nvmock_nvme)]
mod tests {
    use super::wait_until;
    use crate::model::nvme::State;
    use crate::model::pcicfg::{PCI_CLASS_REVISION, PCI_VENDOR_ID};
    use crate::glue::nvme::dev::{NvmeDev, Profile};
    use crate::glue::nvme::instance::Instance;
    use crate::glue::nvme::pci_host::pdev_bar;
    use core::sync::atomic::Ordering;
    use kernel::bindings;
    use kernel::prelude::*;

    /// A configuration dword of the function; all ones while it is removed.
    fn cfg_read(dev: &NvmeDev, off: u16) -> u32 {
        let Some(pdev) = dev.pdev() else {
            return !0;
        };
        let mut v = 0u32;
        // SAFETY: `pdev` holds a reference to the live device.
        unsafe { bindings::pci_read_config_dword(pdev.as_ptr(), off.into(), &mut v) };
        v
    }

    fn io_queue_live(dev: &NvmeDev) -> bool {
        dev.with_ctrl(|c| c.state() == State::Ready && c.sq_info(1).is_some())
    }

    fn driver_name(dev: &NvmeDev) -> Option<&'static CStr> {
        let pdev = dev.pdev()?;
        // SAFETY: `pdev` holds a reference to the live device; a bound driver's name is
        // static.
        unsafe {
            let drv = (*pdev.as_ptr()).driver;
            if drv.is_null() {
                None
            } else {
                Some(CStr::from_char_ptr((*drv).name))
            }
        }
    }

    #[test]
    fn enumerates_as_an_nvme_controller() -> Result {
        let dev = NvmeDev::new(&Profile::default(), Instance::alloc()?)?;
        check!(cfg_read(&dev, PCI_VENDOR_ID) & 0xffff == 0x1b36);
        check!(cfg_read(&dev, PCI_CLASS_REVISION) >> 8 == 0x010802);
        let pdev = dev.pdev().ok_or(ENODEV)?;
        let (start, len) = pdev_bar(pdev.as_ptr(), 0).ok_or(ENXIO)?;
        check!(len >= 0x4000);
        // BAR0 is naturally aligned.
        check!(start % len == 0);
        // SAFETY: `pdev` is live. INTx is routed.
        check!(unsafe { (*pdev.as_ptr()).irq } != 0);
        Ok(())
    }

    #[test]
    fn driver_binds_and_creates_io_queues() -> Result {
        let dev = NvmeDev::new(&Profile::default(), Instance::alloc()?)?;
        // The driver enabled the controller and created an I/O queue.
        check!(wait_until(|| io_queue_live(&dev)));
        check!(driver_name(&dev).map(|n| n.to_bytes()) == Some(&b"nvme"[..]));
        // Identify, features, queue creation.
        check!(dev.stats().commands.load(Ordering::Relaxed) >= 4);
        // Completions were signalled.
        check!(dev.stats().interrupts.load(Ordering::Relaxed) > 0);
        Ok(())
    }

    #[test]
    fn several_controllers_at_once() -> Result {
        let a = NvmeDev::new(&Profile::default(), Instance::alloc()?)?;
        let b = NvmeDev::new(
            &Profile {
            lba_size: 4096,
            ns_mib: 16,
            ..Default::default()
        },
            Instance::alloc()?,
        )?;
        check!(wait_until(|| io_queue_live(&a)));
        check!(wait_until(|| io_queue_live(&b)));
        let (pa, pb) = (a.pdev().ok_or(ENODEV)?, b.pdev().ok_or(ENODEV)?);
        let (sa, _) = pdev_bar(pa.as_ptr(), 0).ok_or(ENXIO)?;
        let (sb, _) = pdev_bar(pb.as_ptr(), 0).ok_or(ENXIO)?;
        check!(sa != sb);
        Ok(())
    }

    #[test]
    fn surprise_removal_reads_all_ones_and_removes_cleanly() -> Result {
        let dev = NvmeDev::new(&Profile::default(), Instance::alloc()?)?;
        check!(wait_until(|| io_queue_live(&dev)));
        // Let the driver's namespace scan finish first (the namespace opens once its disk is
        // added): a vanished device never answers, so an Identify still outstanding would
        // hold the removal for the driver's admin timeout. That the driver fails commands in
        // flight at removal is nvmock_nvme_fault's and nvmock_nvme_pci's subject.
        drop(crate::kunit::nvme_io::open_ns(&dev)?);
        dev.surprise_remove();
        check!(cfg_read(&dev, PCI_VENDOR_ID) == 0xffff_ffff);
        // Dropping removes the bus with the driver bound to a vanished device.
        drop(dev);
        Ok(())
    }

    /// Waits until the namespace's block device is there (`want`) or gone.
    fn wait_ns(dev: &NvmeDev, want: bool) -> bool {
        wait_until(|| dev.pdev()
                .and_then(|p| crate::kunit::blk_io::nvme_namespace_devt(&p))
                .is_some()
                == want)
    }

    /// Namespace hot remove and hot add: the controller raises a Namespace Attribute Changed
    /// notice, and the driver rescans and removes or adds the block device.
    #[test]
    fn namespace_hot_remove_and_add_reach_the_driver() -> Result {
        let dev = NvmeDev::new(
            &Profile {
            ns_mib: 4,
            ..Default::default()
        },
            Instance::alloc()?,
        )?;
        check!(wait_ns(&dev, true));
        dev.detach_namespace(1)?;
        check!(wait_ns(&dev, false));
        check!(dev.detach_namespace(1).is_err());
        dev.attach_namespace(1)?;
        check!(wait_ns(&dev, true));
        check!(dev.attach_namespace(2).is_err());
        Ok(())
    }

    #[test]
    fn bad_profiles_are_refused() -> Result {
        // One profile at a time (a profile is large: eleven of them in an array made a
        // 9.7 KiB frame on UML's 16 KiB stack).
        let bad: [fn(&mut Profile); 11] = [
            |p| p.lba_size = 1024,
            |p| p.ns_mib = 0,
            |p| p.io_queues = 0,
            |p| p.io_queues = crate::glue::nvme::dev::QUEUES as u16,
            |p| p.mdts = 0,
            |p| p.queue_entries = 1,
            |p| p.queue_entries = 65537,
            |p| p.namespaces = 0,
            |p| p.namespaces = crate::model::nvme::MAX_NAMESPACES as u32 + 1,
            |p| p.vendor_id = 0xffff,
            |p| p.device_id = 0,
        ];
        for make_bad in bad {
            let mut p = Profile::default();
            make_bad(&mut p);
            check!(NvmeDev::new(&p, Instance::alloc()?).err() == Some(EINVAL));
        }
        Ok(())
    }
}
