// SPDX-License-Identifier: GPL-2.0

//! KUnit: MSI-X under the real nvme driver.
//!
//! The emulated function offers an MSI-X table in BAR0 and its bridge an MSI parent domain
//! (mock/nvmock_msi.c), so the driver allocates one vector per interrupt-driven queue
//! through the PCI core and creates each completion queue with its own vector. The cases
//! check what the driver got (one I/O queue per possible CPU, up to the controller's 16, each
//! on a distinct Linux interrupt of its own, shown in /proc/interrupts), that the
//! completions of I/O submitted on each CPU arrive as messages on that CPU's queue's vector,
//! that a vector masked through the table or the function's mask holds its interrupt as a
//! Pending Bit and delivers it on unmask, that stray messages are refused, and that a
//! function without MSI-X falls back to INTx.
//!
//! Both arches: UML (one CPU: one I/O queue) and x86_64 (two CPUs under QEMU: two I/O
//! queues), where BAR0, and the MSI-X table in it, is in the devmem reservation
//! (`src/glue/nvme/bar0.rs`).

use crate::glue::nvme::dev::{NvmeDev, QUEUES};
use core::sync::atomic::Ordering;
use kernel::bindings;
use kernel::cpu::CpuId;
use kernel::cpumask::Cpumask;
#[cfg(CONFIG_SMP)]
use kernel::cpumask::CpumaskVar;
use kernel::prelude::*;

/// The I/O completion queues the driver created: (queue ID, vector) pairs.
fn io_queues(dev: &NvmeDev) -> Result<KVec<(u16, u16)>> {
    let links: [Option<u16>; QUEUES] =
        dev.with_ctrl(|c| core::array::from_fn(|q| c.cq_info(q as u16).map(|i| i.link)));
    let mut v = KVec::new();
    for (qid, link) in links.iter().enumerate().skip(1) {
        if let Some(link) = *link {
            v.push((qid as u16, link), GFP_KERNEL)?;
        }
    }
    Ok(v)
}

/// The CPUs the kernel may ever run (`num_possible_cpus()`): the driver makes one I/O queue
/// for each, up to what the controller offers.
fn possible_cpus() -> u32 {
    // SAFETY: the possible mask is set up at boot and never freed.
    unsafe { Cpumask::from_raw(&raw const bindings::__cpu_possible_mask) }.weight()
}

/// Whether `cpu` is online.
fn cpu_online(cpu: CpuId) -> bool {
    // SAFETY: the online mask is never freed; a racy read is fine for a test's choice.
    unsafe { Cpumask::from_raw(&raw const bindings::__cpu_online_mask) }.test(cpu)
}

/// Runs `f` with the test's thread on `cpu` alone, then lets it run anywhere again.
#[cfg(not(CONFIG_SMP))]
fn on_cpu<R>(cpu: CpuId, f: impl FnOnce() -> R) -> Result<R> {
    // One CPU: the thread is on it.
    if cpu.as_u32() != 0 {
        return Err(EINVAL);
    }
    Ok(f())
}

/// Runs `f` with the test's thread on `cpu` alone, then lets it run anywhere again.
#[cfg(CONFIG_SMP)]
fn on_cpu<R>(cpu: CpuId, f: impl FnOnce() -> R) -> Result<R> {
    let mut mask = CpumaskVar::new_zero(GFP_KERNEL)?;
    mask.set(cpu);
    let task = kernel::current!().as_ptr();
    // SAFETY: `task` is the running thread; the mask is valid for the call (the scheduler
    // copies it), and the thread is on `cpu` when the call returns.
    kernel::error::to_result(unsafe { bindings::set_cpus_allowed_ptr(task, mask.as_raw()) })?;
    let r = f();
    // SAFETY: as above, with the possible mask, which is never freed.
    unsafe { bindings::set_cpus_allowed_ptr(task, &raw const bindings::__cpu_possible_mask) };
    Ok(r)
}

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
    use super::{
        cpu_online, io_queues, messages, msix_state, on_cpu, possible_cpus, proc_interrupts_line,
        vector_irq,
    };
    use crate::glue::nvme::dev::{NvmeDev, Profile, QUEUES};
    #[cfg(CONFIG_X86)]
    use crate::glue::{iomap::devmem_range, nvme::pci_host::pdev_bar};
    use crate::glue::nvme::instance::Instance;
    use crate::kunit::nvme::wait_until;
    use crate::kunit::nvme_io::{open_ns, pattern, Inflight};
    use crate::model::nvme::msix::{FLAGS_ENABLE, FLAGS_MASKALL, MSIX_FLAGS};
    use core::sync::atomic::Ordering;
    use kernel::bindings;
    use kernel::cpu::CpuId;
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

    /// The driver runs its admin queue on vector 0 and one I/O queue per possible CPU on
    /// vectors 1 to N: N + 1 MSI-X interrupts of their own, not the INTx line, listed in
    /// /proc/interrupts. I/O submitted on each CPU completes through one I/O queue, as
    /// messages on that queue's vector alone, and the CPUs between them use every queue.
    #[test]
    fn each_queue_gets_its_own_vector() -> Result {
        let dev = NvmeDev::new(&small(), Instance::alloc()?)?;
        let bdev = open_ns(&dev)?;
        let (enabled, cap) = msix_state(&dev);
        check!(enabled && cap != 0);
        check!(dev.with_ctrl(|c| c.cq_info(0).map(|q| q.link)) == Some(0));
        let queues = io_queues(&dev)?;
        let want = possible_cpus().min(16) as usize;
        pr_info!("nvme_msix: {} I/O queues for {} possible CPUs\n", queues.len(), possible_cpus());
        check!(queues.len() == want);
        check!(queues.iter().all(|&(qid, link)| qid == link));
        let intx = dev.interrupts().intx_irq();
        let mut irqs = KVec::new();
        for v in 0..=queues.len() as u32 {
            let irq = vector_irq(&dev, v).ok_or(ENXIO)?;
            check!(irq != intx && !irqs.contains(&irq));
            irqs.push(irq, GFP_KERNEL)?;
        }
        // A round trip on each online CPU: its messages go to one I/O vector.
        let mut used = [false; QUEUES];
        for cpu in (0..kernel::cpu::nr_cpu_ids()).filter_map(CpuId::from_u32) {
            if !cpu_online(cpu) {
                continue;
            }
            let before: [u64; QUEUES] = core::array::from_fn(|v| messages(&dev, v));
            check!(on_cpu(cpu, || round_trip(&bdev, 4096 * u64::from(cpu.as_u32()), 1))??);
            let rose = (1..QUEUES).filter(|&v| messages(&dev, v) >= before[v] + 2);
            let mut n = 0;
            for v in rose {
                pr_info!("nvme_msix: CPU {}: completions on vector {}\n", cpu.as_u32(), v);
                used[v] = true;
                n += 1;
            }
            check!(n == 1);
        }
        check!(queues
            .iter()
            .all(|&(_, link)| used.get(usize::from(link)).copied().unwrap_or(false)));
        let s = dev.interrupts().stats();
        check!(s.intx.load(Ordering::Relaxed) == 0);
        check!(s.stray.load(Ordering::Relaxed) == 0);
        for (v, &irq) in irqs.iter().enumerate() {
            check!(proc_interrupts_line(irq, messages(&dev, v)));
        }
        Ok(())
    }

    /// The I/O queues' vectors masked in the table (`disable_irq()` without lazy disable
    /// masks the entry): a read's completion is held as its vector's Pending Bit, and the
    /// message goes once the entry is unmasked.
    #[test]
    fn masked_vector_delivers_its_pending_bit_on_unmask() -> Result {
        let dev = NvmeDev::new(&small(), Instance::alloc()?)?;
        let bdev = open_ns(&dev)?;
        check!(round_trip(&bdev, 0, 3)?);
        let queues = io_queues(&dev)?;
        let mut irqs = KVec::new();
        for &(_, link) in queues.iter() {
            irqs.push(vector_irq(&dev, u32::from(link)).ok_or(ENXIO)?, GFP_KERNEL)?;
        }
        let any_pending = || queues.iter().any(|&(_, link)| dev.interrupts().pending(link));
        let stats = dev.interrupts().stats();
        let released = stats.released.load(Ordering::Relaxed);
        for &irq in irqs.iter() {
            // SAFETY: `irq` is the driver's live vector; masking it in the table holds its
            // interrupts, which the unmask below releases.
            unsafe {
                bindings::irq_modify_status(irq, 0, bindings::IRQ_DISABLE_UNLAZY as _);
                bindings::disable_irq(irq);
            }
        }
        // The read runs on whichever CPU its thread gets: every I/O queue's vector is masked.
        let job = Inflight::spawn(bdev, Some(3));
        let held = job.is_ok() && wait_until(&any_pending);
        // The read stays unfinished while its completion's message is held.
        fsleep(Delta::from_millis(50));
        let waited = job.as_ref().is_ok_and(|j| !j.finished());
        for &irq in irqs.iter() {
            // SAFETY: as above: unmask and restore lazy disable.
            unsafe {
                bindings::enable_irq(irq);
                bindings::irq_modify_status(irq, bindings::IRQ_DISABLE_UNLAZY as _, 0);
            }
        }
        let job = job?;
        check!(!queues.is_empty());
        check!(held && waited);
        check!(wait_until(|| job.finished()));
        check!(job.errno() == 0);
        check!(!any_pending());
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
        let queues = io_queues(&dev)?;
        let any_pending = || queues.iter().any(|&(_, link)| dev.interrupts().pending(link));
        let released = dev.interrupts().stats().released.load(Ordering::Relaxed);
        let job = Inflight::spawn(bdev, None);
        let held = job.is_ok() && wait_until(&any_pending);
        fsleep(Delta::from_millis(50));
        let waited = job.as_ref().is_ok_and(|j| !j.finished());
        // SAFETY: as above.
        unsafe { bindings::pci_write_config_word(pdev.as_ptr(), at, flags) };
        let job = job?;
        check!(!queues.is_empty());
        check!(held && waited);
        check!(wait_until(|| job.finished()));
        check!(job.errno() == 0);
        check!(!any_pending());
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
        // The driver has vectors 0 to N (N I/O queues, at most 16) of the 256 the bridge can
        // allocate; 255 is free.
        check!(bus.msi_send(doorbell, 255) == Err(ENOENT));
        check!(bus.msi_send(doorbell, 1 << 20) == Err(ENOENT));
        Ok(())
    }

    /// x86_64: a function with MSI-X has BAR0 (and the table in it) in the devmem
    /// reservation, placed from the reservation's end down, where the PCI core's real
    /// `ioremap()` of the table reaches the buffer; without the reservation the default
    /// profile offers no MSI-X and a profile asking for it is refused. A function without
    /// MSI-X keeps BAR0 out of the reservation.
    #[cfg(CONFIG_X86)]
    #[test]
    fn x86_msix_bar0_is_in_the_devmem_reservation() -> Result {
        let in_devmem = |dev: &NvmeDev| -> Result<Option<bool>> {
            let pdev = dev.pdev().ok_or(ENODEV)?;
            let Some((bar, len)) = pdev_bar(pdev.as_ptr(), 0) else {
                return Ok(None);
            };
            Ok(Some(devmem_range().is_some_and(|(start, size)| {
                bar >= start && bar + len <= start + size && bar + len > start + size - (2 << 20)
            })))
        };
        match devmem_range() {
            Some(_) => {
                check!(Profile::default().msix_vectors == QUEUES as u16);
                let dev = NvmeDev::new(&small(), Instance::alloc()?)?;
                check!(in_devmem(&dev)? == Some(true));
            }
            None => {
                check!(Profile::default().msix_vectors == 0);
                let asked = NvmeDev::new(
                    &Profile {
                        msix_vectors: 4,
                        ..small()
                    },
                    Instance::alloc()?,
                );
                check!(matches!(asked, Err(e) if e == ENODEV));
            }
        }
        let intx = NvmeDev::new(
            &Profile {
                msix_vectors: 0,
                ..small()
            },
            Instance::alloc()?,
        )?;
        check!(in_devmem(&intx)? == Some(false));
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
