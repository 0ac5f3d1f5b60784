// SPDX-License-Identifier: GPL-2.0

//! KUnit: MSI-X under the real nvme driver.
//!
//! The emulated function offers an MSI-X table in BAR0 and its bridge an MSI parent domain
//! (mock/nvmock_msi.c), so the driver allocates one vector per interrupt-driven queue
//! through the PCI core and creates each completion queue with its own vector. The cases
//! check what the driver got (distinct Linux interrupts, one per queue, shown in
//! /proc/interrupts), that each queue's completions arrive as messages on its vector, that a
//! vector masked through the table or the function's mask holds its interrupt as a Pending
//! Bit and delivers it on unmask, that stray messages are refused, and that a function
//! without MSI-X falls back to INTx.

use crate::glue::nvme::dev::NvmeDev;
use core::sync::atomic::Ordering;
use kernel::bindings;
use kernel::prelude::*;

/// The Linux interrupt of the function's vector `nr`, if the driver allocated it.
fn vector_irq(dev: &NvmeDev, nr: u32) -> Option<u32> {
    let pdev = dev.pdev()?;
    // SAFETY: `pdev` holds a reference to the live device.
    let irq = unsafe { bindings::pci_irq_vector(pdev.as_ptr(), nr) };
    u32::try_from(irq).ok().filter(|&i| i != 0)
}

/// Whether the PCI core has MSI-X enabled on the function, and its capability offset.
fn msix_state(dev: &NvmeDev) -> (bool, u8) {
    let Some(pdev) = dev.pdev() else {
        return (false, 0);
    };
    // SAFETY: `pdev` holds a reference to the live device.
    unsafe { ((*pdev.as_ptr()).msix_enabled() != 0, (*pdev.as_ptr()).msix_cap) }
}

/// MSI-X messages the function sent on vector `v`.
fn messages(dev: &NvmeDev, v: usize) -> u64 {
    dev.interrupts().stats().messages.get(v).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// What /proc/interrupts shows for `irq`, printed in its layout (number, count of our
/// messages, chip, hardware number, flow, action), and whether it is an MSI-X interrupt of
/// nvmock's bridge ("nvmock-" domain prefix) handling one of the driver's queues ("nvme").
fn proc_interrupts_line(irq: u32, count: u64) -> bool {
    // SAFETY: `irq` is a live interrupt of the driver's (it holds the vectors while the
    // namespace is open); its chip and action names are static strings.
    let (chip, hwirq, action) = unsafe {
        let d = bindings::irq_get_irq_data(irq);
        if d.is_null() || (*d).chip.is_null() {
            return false;
        }
        // The descriptor embeds its top-level irq_data.
        let desc = kernel::container_of!(d, bindings::irq_desc, irq_data);
        if (*desc).action.is_null() {
            return false;
        }
        (
            CStr::from_char_ptr((*(*d).chip).name),
            (*d).hwirq,
            CStr::from_char_ptr((*(*desc).action).name),
        )
    };
    pr_info!(
        "nvme_msix: {:>3}: {:>10} {:?} {} {:?}\n",
        irq,
        count,
        chip,
        hwirq,
        action
    );
    let has = |s: &CStr, w: &[u8]| s.to_bytes().windows(w.len()).any(|x| x == w);
    chip.to_bytes().starts_with(b"nvmock-") && has(chip, b"MSI") && has(action, b"nvme")
}

#[kernel::macros::kunit_tests(nvmock_nvme_msix)]
mod tests {
    use super::{messages, msix_state, proc_interrupts_line, vector_irq};
    use crate::glue::nvme::dev::{NvmeDev, Profile};
    use crate::glue::nvme::instance::Instance;
    use crate::kunit::nvme::wait_until;
    use crate::kunit::nvme_io::{open_ns, pattern, Inflight};
    use crate::model::nvme::msix::{FLAGS_ENABLE, FLAGS_MASKALL, MSIX_FLAGS};
    use core::sync::atomic::Ordering;
    use kernel::bindings;
    use kernel::prelude::*;
    use kernel::time::{delay::fsleep, Delta};

    fn small() -> Profile {
        Profile {
            ns_mib: 8,
            ..Default::default()
        }
    }

    /// Writes `pattern(seed)` to the page at `offset` and reads it back.
    fn round_trip(bdev: &crate::kunit::blk_io::BlockDev, offset: u64, seed: u64) -> Result<bool> {
        // On the heap: the transfer runs the block layer and the driver on this stack.
        let mut out = kernel::alloc::KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        let mut back = kernel::alloc::KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        pattern(seed, &mut out[..]);
        bdev.transfer(true, offset, &mut out[..], 1)?;
        bdev.transfer(false, offset, &mut back[..], 1)?;
        Ok(out[..] == back[..])
    }

    /// The driver runs its admin queue on vector 0 and its I/O queue on vector 1 (UML has one
    /// CPU: one I/O queue): two MSI-X interrupts of their own, not the INTx line, listed in
    /// /proc/interrupts; the I/O queue's completions arrive as messages on vector 1.
    #[test]
    fn each_queue_gets_its_own_vector() -> Result {
        let dev = NvmeDev::new(&small(), Instance::alloc()?)?;
        let bdev = open_ns(&dev)?;
        let (enabled, cap) = msix_state(&dev);
        check!(enabled && cap != 0);
        let (admin, io) = dev.with_ctrl(|c| (c.cq_info(0), c.cq_info(1)));
        check!(admin.map(|q| q.link) == Some(0));
        check!(io.map(|q| q.link) == Some(1));
        let irq0 = vector_irq(&dev, 0).ok_or(ENXIO)?;
        let irq1 = vector_irq(&dev, 1).ok_or(ENXIO)?;
        let intx = dev.interrupts().intx_irq();
        check!(irq0 != irq1 && irq0 != intx && irq1 != intx);
        let before = messages(&dev, 1);
        check!(round_trip(&bdev, 0, 1)?);
        check!(messages(&dev, 1) >= before + 2);
        let s = dev.interrupts().stats();
        check!(s.intx.load(Ordering::Relaxed) == 0);
        check!(s.stray.load(Ordering::Relaxed) == 0);
        check!(proc_interrupts_line(irq0, messages(&dev, 0)));
        check!(proc_interrupts_line(irq1, messages(&dev, 1)));
        Ok(())
    }

    /// The I/O queue's vector masked in the table (`disable_irq()` without lazy disable
    /// masks the entry): a read's completion is held as the vector's Pending Bit, and the
    /// message goes once the entry is unmasked.
    #[test]
    fn masked_vector_delivers_its_pending_bit_on_unmask() -> Result {
        let dev = NvmeDev::new(&small(), Instance::alloc()?)?;
        let bdev = open_ns(&dev)?;
        check!(round_trip(&bdev, 0, 3)?);
        let irq1 = vector_irq(&dev, 1).ok_or(ENXIO)?;
        let stats = dev.interrupts().stats();
        let released = stats.released.load(Ordering::Relaxed);
        // SAFETY: `irq1` is the driver's live vector; masking it in the table holds its
        // interrupts, which the unmask below releases.
        unsafe {
            bindings::irq_modify_status(irq1, 0, bindings::IRQ_DISABLE_UNLAZY as _);
            bindings::disable_irq(irq1);
        }
        let job = Inflight::spawn(bdev, Some(3));
        let held = job.is_ok() && wait_until(|| dev.interrupts().pending(1));
        // The read stays unfinished while its completion's message is held.
        fsleep(Delta::from_millis(50));
        let waited = job.as_ref().is_ok_and(|j| !j.finished());
        // SAFETY: as above: unmask and restore lazy disable.
        unsafe {
            bindings::enable_irq(irq1);
            bindings::irq_modify_status(irq1, bindings::IRQ_DISABLE_UNLAZY as _, 0);
        }
        let job = job?;
        check!(held && waited);
        check!(wait_until(|| job.finished()));
        check!(job.errno() == 0);
        check!(!dev.interrupts().pending(1));
        check!(stats.released.load(Ordering::Relaxed) > released);
        check!(stats.held.load(Ordering::Relaxed) > 0);
        drop(job);
        Ok(())
    }

    /// Function Mask holds every vector: a read's completion is pending until the mask is
    /// cleared in Message Control.
    #[test]
    fn function_mask_holds_until_cleared() -> Result {
        let dev = NvmeDev::new(&small(), Instance::alloc()?)?;
        let bdev = open_ns(&dev)?;
        check!(round_trip(&bdev, 4096, 4)?);
        let (_, cap) = msix_state(&dev);
        check!(cap != 0);
        let pdev = dev.pdev().ok_or(ENODEV)?;
        let at = i32::from(cap) + i32::from(MSIX_FLAGS);
        let mut flags = 0u16;
        // SAFETY: `pdev` holds a reference to the live device.
        unsafe { bindings::pci_read_config_word(pdev.as_ptr(), at, &mut flags) };
        check!(flags & FLAGS_ENABLE != 0 && flags & FLAGS_MASKALL == 0);
        // SAFETY: as above; the mask is cleared again below.
        unsafe { bindings::pci_write_config_word(pdev.as_ptr(), at, flags | FLAGS_MASKALL) };
        let released = dev.interrupts().stats().released.load(Ordering::Relaxed);
        let job = Inflight::spawn(bdev, None);
        let held = job.is_ok() && wait_until(|| dev.interrupts().pending(1));
        fsleep(Delta::from_millis(50));
        let waited = job.as_ref().is_ok_and(|j| !j.finished());
        // SAFETY: as above.
        unsafe { bindings::pci_write_config_word(pdev.as_ptr(), at, flags) };
        let job = job?;
        check!(held && waited);
        check!(wait_until(|| job.finished()));
        check!(job.errno() == 0);
        check!(!dev.interrupts().pending(1));
        check!(dev.interrupts().stats().released.load(Ordering::Relaxed) > released);
        drop(job);
        Ok(())
    }

    /// Messages the bridge never composed are dropped, as a root complex drops a stray
    /// write: an entry pointing elsewhere, or data naming no vector of the bridge.
    #[test]
    fn stray_messages_are_refused() -> Result {
        let dev = NvmeDev::new(&small(), Instance::alloc()?)?;
        // The driver is bound and has its vectors once the namespace is there.
        drop(open_ns(&dev)?);
        check!(vector_irq(&dev, 1).is_some());
        let bus = dev.host().ok_or(ENODEV)?.bus_data();
        let doorbell = bus.msi_doorbell();
        check!(doorbell != 0);
        check!(bus.msi_send(doorbell + 4, 0) == Err(EFAULT));
        check!(bus.msi_send(0xfee0_0000, 0) == Err(EFAULT));
        // The driver has vectors 0 and 1 of the 256 the bridge can allocate; 255 is free.
        check!(bus.msi_send(doorbell, 255) == Err(ENOENT));
        check!(bus.msi_send(doorbell, 1 << 20) == Err(ENOENT));
        Ok(())
    }

    /// A function without the MSI-X capability: the driver falls back to INTx, one vector
    /// for every queue, and I/O works.
    #[test]
    fn no_msix_capability_falls_back_to_intx() -> Result {
        let dev = NvmeDev::new(
            &Profile {
                msix_vectors: 0,
                ..small()
            },
            Instance::alloc()?,
        )?;
        let bdev = open_ns(&dev)?;
        check!(msix_state(&dev) == (false, 0));
        check!(vector_irq(&dev, 0) == Some(dev.interrupts().intx_irq()));
        check!(dev.with_ctrl(|c| c.cq_info(1).map(|q| q.link)) == Some(0));
        let intx = dev.interrupts().stats().intx.load(Ordering::Relaxed);
        check!(round_trip(&bdev, 0, 5)?);
        check!(dev.interrupts().stats().intx.load(Ordering::Relaxed) > intx);
        check!((0..4).all(|v| messages(&dev, v) == 0));
        Ok(())
    }
}
