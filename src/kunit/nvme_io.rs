// SPDX-License-Identifier: GPL-2.0

//! KUnit: data through the block layer, the real nvme driver and the emulated controller.
//!
//! Each case writes a pattern with bios of a chosen size (so the driver builds PRP1 only,
//! PRP1 + PRP2, or PRP lists, and the block layer splits at MDTS), reads it back, and checks
//! the emulated medium itself: the data must be at the right byte offset of the namespace,
//! not just come back from somewhere.

use crate::kunit::blk_io::{nvme_namespace_devt, BlockDev};
use crate::glue::nvme::dev::NvmeDev;
use core::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use kernel::alloc::KVVec;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};
use kernel::workqueue;

/// Fills `buf` with a pattern that depends on `seed` and the position.
pub(crate) fn pattern(seed: u64, buf: &mut [u8]) {
    let mut x = seed | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}

/// A 4 KiB read at offset 0 running on the system workqueue, and what became of it: for
/// the suites that remove or stall a device under I/O. The job closes the block device
/// itself when the read ends, before it reports [`Inflight::finished`].
#[pin_data]
pub(crate) struct Inflight {
    #[pin]
    bdev: Mutex<Option<BlockDev>>,
    finished: AtomicBool,
    /// 0, or the errno the read failed with (`EBADMSG`: it returned other data than
    /// expected).
    errno: AtomicI32,
}

impl Inflight {
    /// Starts the read on `bdev`; with `expect`, the data must be `pattern(expect)`.
    pub(crate) fn spawn(bdev: BlockDev, expect: Option<u64>) -> Result<Arc<Self>> {
        let job = Arc::pin_init(
            pin_init!(Inflight {
                bdev <- kernel::new_mutex!(Some(bdev)),
                finished: AtomicBool::new(false),
                errno: AtomicI32::new(0),
            }),
            GFP_KERNEL,
        )?;
        let j = job.clone();
        // The buffers on the heap: a worker's stack (16 KiB on UML) also carries the block
        // layer and the driver below the transfer.
        let mut buf = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        let mut want = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        workqueue::system().try_spawn(GFP_KERNEL, move || {
            if let Some(seed) = expect {
                pattern(seed, &mut want[..]);
            }
            let bdev = j.bdev.lock().take();
            let r = match &bdev {
                Some(b) => b.transfer(false, 0, &mut buf[..], 1),
                None => Err(EINVAL),
            };
            match r {
                Err(e) => j.errno.store(e.to_errno(), Ordering::Relaxed),
                Ok(()) if expect.is_some() && buf[..] != want[..] => {
                    j.errno.store(EBADMSG.to_errno(), Ordering::Relaxed)
                }
                Ok(()) => {}
            }
            drop(bdev);
            j.finished.store(true, Ordering::Release);
        })?;
        Ok(job)
    }

    /// Whether the read has ended (and the block device is closed).
    pub(crate) fn finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    /// 0, or the errno it ended with.
    pub(crate) fn errno(&self) -> i32 {
        self.errno.load(Ordering::Relaxed)
    }
}

/// Opens the namespace of `dev` once the driver has scanned it. The disk's device shows
/// up before `add_disk()` completes, and opening it fails with ENXIO until then.
pub(crate) fn open_ns(dev: &NvmeDev) -> Result<BlockDev> {
    let mut opened = Err(ETIMEDOUT);
    crate::kunit::nvme::wait_until(|| match dev.pdev().and_then(|p| nvme_namespace_devt(&p)) {
        None => false,
        Some(devt) => {
            opened = BlockDev::open(devt);
            !matches!(&opened, Err(e) if *e == ENXIO)
        }
    });
    opened
}

#[kernel::macros::kunit_tests(nvmock_nvme_io)]
mod tests {
    use super::{open_ns, pattern};
    use crate::glue::nvme::dev::{NvmeDev, Profile};
    use crate::glue::nvme::instance::Instance;
    use kernel::alloc::KVVec;
    use kernel::prelude::*;

    /// Namespace size of the test controllers.
    const NS_MIB: u32 = 16;

    fn round_trip(lba: u32) -> Result {
        let dev = NvmeDev::new(
            &Profile {
                lba_size: lba,
                ns_mib: NS_MIB,
                ..Default::default()
            },
            Instance::alloc()?,
        )?;
        let bdev = open_ns(&dev).inspect_err(|e| pr_err!("opening the namespace: {:?}\n", e))?;
        check!(bdev.block_size() == lba);
        let l = u64::from(lba);
        let end = u64::from(NS_MIB) << 20;
        // (byte offset, length, pages per bio)
        let cases: [(u64, usize, usize); 7] = [
            (0, lba as usize, 1),             // one block, PRP1 only
            (3 * l, 8192, 2),                 // PRP1 + PRP2
            (1 << 20, 12288, 3),              // a PRP list
            (2 << 20, 128 << 10, 32),         // one MDTS-sized command
            (4 << 20, 1 << 20, 256),          // split by the block layer at MDTS
            (end - (64 << 10), 64 << 10, 16), // the last blocks
            (5 << 20, 3 * lba as usize, 1),   // sub-page when blocks are 512 bytes
        ];
        let mut out = KVVec::from_elem(0u8, 1 << 20, GFP_KERNEL)?;
        let mut back = KVVec::from_elem(0u8, 1 << 20, GFP_KERNEL)?;
        for (i, &(off, len, ppb)) in cases.iter().enumerate() {
            let out = &mut out[..len];
            pattern(off ^ (i as u64) << 40 ^ u64::from(lba), out);
            bdev.transfer(true, off, out, ppb)
                .inspect_err(|e| pr_err!("write of {} at {}: {:?}\n", len, off, e))?;
            let back = &mut back[..len];
            back.fill(0);
            bdev.transfer(false, off, back, ppb)
                .inspect_err(|e| pr_err!("read of {} at {}: {:?}\n", len, off, e))?;
            check!(back == &out[..]);
            back.fill(0);
            dev.read_medium(1, off, back)?;
            check!(back == &out[..]);
        }
        // Past the end: refused by the block layer, nothing reaches the controller.
        check!(bdev.transfer(false, end, &mut back[..4096], 1).is_err());
        Ok(())
    }

    /// A 4-entry I/O queue (three commands in flight at most): hundreds of commands wrap its
    /// submission and completion queues around again and again, with the phase tag flipping
    /// on every lap.
    #[test]
    fn tiny_queues_wrap_around() -> Result {
        let dev = NvmeDev::new(
            &Profile {
            ns_mib: 4,
            queue_entries: 4,
            ..Default::default()
        },
            Instance::alloc()?,
        )?;
        let bdev = open_ns(&dev)?;
        let sq = dev.with_ctrl(|c| c.sq_info(1)).ok_or(ENODEV)?;
        check!(sq.entries == 4);
        let mut out = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        let mut back = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        for i in 0..256u64 {
            pattern(i, &mut out);
            bdev.transfer(true, i * 4096, &mut out, 1)?;
        }
        for i in 0..256u64 {
            pattern(i, &mut out);
            bdev.transfer(false, i * 4096, &mut back, 1)?;
            check!(back == out);
        }
        // Many laps around the 4-entry queue, and it is still consistent.
        check!(
            dev.stats()
                .commands
                .load(core::sync::atomic::Ordering::Relaxed)
                >= 512
        );
        Ok(())
    }

    #[test]
    fn data_round_trip_512_byte_blocks() -> Result {
        round_trip(512)
    }

    #[test]
    fn data_round_trip_4k_blocks() -> Result {
        round_trip(4096)
    }
}
