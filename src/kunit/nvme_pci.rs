// SPDX-License-Identifier: GPL-2.0

//! KUnit: the emulated NVMe function on its virtual PCI bus, as the PCI core re-enumerates
//! it: removed and scanned again (what `/sys/bus/pci/devices/<bdf>/remove` and
//! `/sys/bus/pci/rescan` do), with and without I/O in flight; the Command register's Bus
//! Master Enable and Memory Space Enable honoured; and Function Level Reset through the PCI
//! core's `pci_reset_function()` (what `/sys/bus/pci/devices/<bdf>/reset` does), idle and
//! under I/O, with the nvme driver's `reset_prepare`/`reset_done` recovering.

#[kernel::macros::kunit_tests(nvmock_nvme_pci)]
mod tests {
    use crate::glue::nvme::dev::{NvmeDev, Profile};
    use crate::glue::nvme::instance::Instance;
    use crate::glue::nvme::pci_host::{pdev_bar, PciHost};
    use crate::kunit::blk_io::{BlockDev, CtrlRef};
    use crate::kunit::nvme::wait_until;
    use crate::kunit::nvme_io::{open_ns, pattern, Inflight};
    use crate::model::nvme::{function, regs, State};
    use crate::model::pcicfg::{PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY};
    use core::ffi::c_void;
    use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
    use kernel::alloc::KVVec;
    use kernel::bindings;
    use kernel::prelude::*;
    use kernel::sync::Arc;
    use kernel::time::{delay::fsleep, Delta};
    use kernel::workqueue;

    extern "C" {
        // mock/nvmock_iomap.c: the ioremap() and iounmap() the relinked nvme driver calls.
        fn __wrap_ioremap(offset: u64, size: usize) -> *mut c_void;
        fn __wrap_iounmap(addr: *mut c_void);
    }

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

    /// Indices into the PCI core's table of reset methods (`pci_reset_fn_methods[]` in
    /// drivers/pci/pci.c of the pinned kernel), which `pci_dev.reset_methods` lists.
    const RESET_FLR: u8 = 3;
    const RESET_PM: u8 = 5;
    const RESET_BUS: u8 = 6;

    /// The function advertises Function Level Reset, and the PCI core offers it and nothing
    /// else: no `pm` reset (No_Soft_Reset is set: D3hot and back resets nothing) and no `bus`
    /// reset (the function sits on a root bus, with no bridge above it whose Secondary Bus
    /// Reset could reset it, and no hot-plug slot).
    #[test]
    fn flr_is_the_only_reset_method() -> Result {
        let dev = small()?;
        let p = dev.pdev().ok_or(ENODEV)?;
        // SAFETY: `p` holds a reference to the live device; both fields are set at scan.
        let (devcap, methods) = unsafe { ((*p.as_ptr()).devcap, (*p.as_ptr()).reset_methods) };
        check!(devcap & function::DEVCAP_FLR != 0);
        check!(methods[0] == RESET_FLR && methods[1] == 0);
        check!(!methods.contains(&RESET_PM) && !methods.contains(&RESET_BUS));
        Ok(())
    }

    /// `pci_reset_function()` with the driver bound and idle: the driver quiesces the
    /// controller, the PCI core saves the configuration space, performs the FLR and restores
    /// it, and the driver enables the controller again. The controller went through an FLR,
    /// the namespace kept its data, and I/O works.
    #[test]
    fn flr_of_an_idle_controller_keeps_the_data() -> Result {
        let dev = small()?;
        data_round_trip(&dev, 530)?;
        let resets = dev.stats().function_resets.load(Ordering::Relaxed);
        let enables = dev.stats().enables.load(Ordering::Relaxed);
        let p = dev.pdev().ok_or(ENODEV)?;
        // SAFETY: `p` holds a reference to the live device; process context, no locks held.
        let rc = unsafe { bindings::pci_reset_function(p.as_ptr()) };
        check!(rc == 0);
        check!(dev.stats().function_resets.load(Ordering::Relaxed) == resets + 1);
        check!(wait_until(
            || dev.stats().enables.load(Ordering::Relaxed) > enables
        ));
        // The PCI core restored the Command register (the driver's decode and mastering).
        let mut cmd = 0u16;
        // SAFETY: as above.
        unsafe { bindings::pci_read_config_word(p.as_ptr(), PCI_COMMAND.into(), &mut cmd) };
        check!(cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER) == PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
        drop(p);
        // What `data_round_trip` wrote before the reset is there.
        let bdev = open_ns(&dev)?;
        let mut want = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        pattern(530, &mut want);
        let mut back = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        bdev.transfer(false, 1 << 20, &mut back, 2)?;
        check!(back == want);
        drop(bdev);
        data_round_trip(&dev, 531)
    }

    /// An FLR while the controller holds a read (its completion withheld): the driver's
    /// `reset_prepare` ends the command, the FLR drops what the controller still held, and the
    /// read ends, with the right data or an error, never hung and never with other data;
    /// afterwards I/O works.
    #[test]
    fn flr_with_a_command_held_by_the_controller() -> Result {
        let dev = small()?;
        let bdev = open_ns(&dev)?;
        let mut out = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        pattern(540, &mut out);
        bdev.transfer(true, 0, &mut out, 1)?;
        bdev.set_timeout_ms(2000);
        let commands = dev.stats().commands.load(Ordering::Relaxed);
        dev.faults().withhold_io.store(1, Ordering::Release);
        let job = Inflight::spawn(bdev, Some(540))?;
        check!(wait_until(
            || dev.stats().commands.load(Ordering::Relaxed) > commands
        ));
        check!(!job.finished());
        let resets = dev.stats().function_resets.load(Ordering::Relaxed);
        let p = dev.pdev().ok_or(ENODEV)?;
        // SAFETY: `p` holds a reference to the live device; process context.
        let rc = unsafe { bindings::pci_reset_function(p.as_ptr()) };
        drop(p);
        dev.faults().withhold_io.store(0, Ordering::Release);
        check!(rc == 0);
        check!(dev.stats().function_resets.load(Ordering::Relaxed) == resets + 1);
        check!(wait_until(|| job.finished()));
        check!(job.errno() != EBADMSG.to_errno());
        pr_info!("nvmock_nvme_pci: the held read ended with errno {}\n", job.errno());
        drop(job);
        data_round_trip(&dev, 541)
    }

    /// Writers of distinct 4 KiB blocks on the system workqueue, each block written once,
    /// recording what became of each write.
    struct Writers {
        stop: AtomicBool,
        running: AtomicU32,
        ended: AtomicU32,
        /// Per block: 0 not written, 1 written, or the negative errno of a failed write.
        results: KVec<AtomicI32>,
    }

    impl Writers {
        /// Seed of block `b`'s pattern.
        const SEED: u64 = 0x5eed_0000;

        fn new(blocks: usize) -> Result<Arc<Self>> {
            let mut results = KVec::with_capacity(blocks, GFP_KERNEL)?;
            for _ in 0..blocks {
                results.push(AtomicI32::new(0), GFP_KERNEL)?;
            }
            Ok(Arc::new(
                Writers {
                    stop: AtomicBool::new(false),
                    running: AtomicU32::new(0),
                    ended: AtomicU32::new(0),
                    results,
                },
                GFP_KERNEL,
            )?)
        }

        /// Starts writer `first` of `step`: blocks `first`, `first + step`, ...
        fn spawn(this: &Arc<Self>, bdev: BlockDev, first: usize, step: usize) -> Result {
            let w = this.clone();
            this.running.fetch_add(1, Ordering::AcqRel);
            let r = workqueue::system().try_spawn(GFP_KERNEL, move || {
                let mut buf = KVVec::from_elem(0u8, 4096, GFP_KERNEL);
                let mut b = first;
                while b < w.results.len() && !w.stop.load(Ordering::Acquire) {
                    let r = match &mut buf {
                        Ok(buf) => {
                            pattern(Self::SEED + b as u64, buf);
                            match bdev.transfer(true, (b * 4096) as u64, buf, 1) {
                                Ok(()) => 1,
                                Err(e) => e.to_errno(),
                            }
                        }
                        Err(_) => ENOMEM.to_errno(),
                    };
                    w.results[b].store(r, Ordering::Release);
                    w.ended.fetch_add(1, Ordering::AcqRel);
                    b += step;
                }
                drop(bdev);
                w.running.fetch_sub(1, Ordering::AcqRel);
            });
            if r.is_err() {
                this.running.fetch_sub(1, Ordering::AcqRel);
            }
            Ok(r?)
        }
    }

    /// Stops the writers and waits for them to end when dropped (also when a check fails),
    /// so that no writer holds the namespace open while the controller goes.
    struct StopOnDrop<'a>(&'a Writers);

    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.stop.store(true, Ordering::Release);
            wait_until(|| self.0.running.load(Ordering::Acquire) == 0);
        }
    }

    /// An FLR while four writers keep the queue busy: every write ends, completed or failed
    /// with an error (none hangs), every completed one is on the medium, and I/O works after.
    #[test]
    fn flr_under_io_completes_or_fails_writes_cleanly() -> Result {
        const WRITERS: usize = 4;
        const BLOCKS: usize = 1024;
        let dev = small()?;
        check!(wait_until(|| bound(&dev)));
        let w = Writers::new(BLOCKS)?;
        let stopper = StopOnDrop(&w);
        for i in 0..WRITERS {
            Writers::spawn(&w, open_ns(&dev)?, i, WRITERS)?;
        }
        check!(wait_until(|| w.ended.load(Ordering::Acquire) >= 64));
        let under_way = w.running.load(Ordering::Acquire);
        let resets = dev.stats().function_resets.load(Ordering::Relaxed);
        let p = dev.pdev().ok_or(ENODEV)?;
        // SAFETY: `p` holds a reference to the live device; process context.
        let rc = unsafe { bindings::pci_reset_function(p.as_ptr()) };
        drop(p);
        let at_reset = w.ended.load(Ordering::Acquire);
        // Writes go on after the reset; then stop the writers.
        let more = wait_until(|| {
            w.ended.load(Ordering::Acquire) >= at_reset + 64
                || w.running.load(Ordering::Acquire) == 0
        });
        drop(stopper);
        check!(w.running.load(Ordering::Acquire) == 0);
        check!(rc == 0);
        check!(under_way == WRITERS as u32);
        check!(more);
        check!(dev.stats().function_resets.load(Ordering::Relaxed) == resets + 1);
        let (mut ok, mut failed) = (0u32, 0u32);
        let bdev = open_ns(&dev)?;
        let mut want = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        let mut back = KVVec::from_elem(0u8, 64 * 4096, GFP_KERNEL)?;
        let mut same = true;
        for chunk in 0..BLOCKS / 64 {
            bdev.transfer(false, (chunk * 64 * 4096) as u64, &mut back, 16)?;
            for i in 0..64 {
                let b = chunk * 64 + i;
                match w.results[b].load(Ordering::Acquire) {
                    1 => {
                        ok += 1;
                        pattern(Writers::SEED + b as u64, &mut want);
                        same &= back[i * 4096..(i + 1) * 4096] == want[..];
                    }
                    0 => {}
                    _ => failed += 1,
                }
            }
        }
        pr_info!(
            "nvmock_nvme_pci: around the FLR {} writes completed, {} failed\n",
            ok,
            failed
        );
        check!(same);
        check!(ok + failed == w.ended.load(Ordering::Acquire));
        check!(ok >= 64);
        drop(bdev);
        data_round_trip(&dev, 542)
    }

    /// With Memory Space Enable cleared in the Command register, BAR0 reads all ones through
    /// the mapping the driver uses and writes to it are dropped: a write of CC that would
    /// reset the controller and a doorbell of a queue that does not exist (which the
    /// controller would log as an error) change nothing. Set again, the registers read as
    /// before and the controller works.
    #[test]
    fn memory_space_off_hides_bar0_and_drops_writes() -> Result {
        let dev = small()?;
        data_round_trip(&dev, 550)?;
        let p = dev.pdev().ok_or(ENODEV)?;
        let (bar0, _) = pdev_bar(p.as_ptr(), 0).ok_or(ENXIO)?;
        // SAFETY: BAR0 is the owner's; this maps it as the relinked driver's ioremap() does.
        let regs = unsafe { __wrap_ioremap(bar0, 0x2000) };
        check!(!regs.is_null());
        if regs.is_null() {
            return Err(ENOMEM);
        }
        let rd = |off: u64| {
            // SAFETY: `regs` maps the first 8 KiB of BAR0 until unmapped below.
            unsafe { bindings::readl(regs.cast::<u8>().add(off as usize).cast()) }
        };
        let wr = |off: u64, v: u32| {
            // SAFETY: as above.
            unsafe { bindings::writel(v, regs.cast::<u8>().add(off as usize).cast()) }
        };
        // The doorbell of SQ 16: no such queue (UML's driver makes one I/O queue per CPU).
        let stray = regs::DOORBELLS + 8 * 16;
        let (cap, cc, sq0) = (rd(regs::CAP), rd(regs::CC), rd(regs::DOORBELLS));
        check!(cap != 0 && cap != !0);
        check!(rd(regs::CSTS) & regs::CSTS_RDY != 0);
        let errors = dev.with_ctrl(|c| c.error_count());
        let mut cmd = 0u16;
        // SAFETY: `p` holds a reference to the live device.
        unsafe { bindings::pci_read_config_word(p.as_ptr(), PCI_COMMAND.into(), &mut cmd) };
        check!(cmd & PCI_COMMAND_MEMORY != 0);
        // SAFETY: as above.
        unsafe {
            bindings::pci_write_config_word(p.as_ptr(), PCI_COMMAND.into(), cmd & !PCI_COMMAND_MEMORY)
        };
        let hidden = [regs::CAP, regs::CAP + 4, regs::CC, regs::CSTS, regs::DOORBELLS]
            .iter()
            .all(|&r| rd(r) == !0);
        wr(regs::CC, 0);
        wr(stray, 1);
        // Several poller passes.
        fsleep(Delta::from_millis(50));
        let still_hidden = rd(regs::CC) == !0 && rd(stray) == !0;
        let ready = dev.with_ctrl(|c| c.state() == State::Ready);
        let no_error = dev.with_ctrl(|c| c.error_count()) == errors;
        // SAFETY: as above.
        unsafe { bindings::pci_write_config_word(p.as_ptr(), PCI_COMMAND.into(), cmd) };
        let back = rd(regs::CAP) == cap && rd(regs::CC) == cc && rd(regs::DOORBELLS) == sq0;
        let stray_dropped = rd(stray) == 0;
        let csts = rd(regs::CSTS);
        // SAFETY: mapped above, unmapped once.
        unsafe { __wrap_iounmap(regs) };
        drop(p);
        check!(hidden);
        check!(still_hidden);
        check!(ready);
        check!(no_error);
        check!(back);
        check!(stray_dropped);
        check!(csts & regs::CSTS_RDY != 0 && csts != !0);
        fsleep(Delta::from_millis(50));
        check!(dev.with_ctrl(|c| c.error_count()) == errors);
        data_round_trip(&dev, 551)
    }
}
