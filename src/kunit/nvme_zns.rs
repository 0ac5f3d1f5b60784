// SPDX-License-Identifier: GPL-2.0

//! KUnit: zoned namespaces (the Zoned Namespace Command Set) under the real nvme driver and
//! the block layer's zoned support.
//!
//! Each controller has a conventional namespace 1 and a zoned namespace 2, as a file system
//! that keeps its metadata apart would use them. The cases check what the kernel sees (its
//! zone report, the block layer's own record of a zone, the sector a Zone Append landed at,
//! the errno of a refused write) against the model's own zone records, not against numbers
//! written into the test.
//!
//! To put commands in flight at a known moment, the corner cases clear Bus Master Enable in
//! the function's Command register: the controller then fetches nothing (as a real function
//! may not master the bus), so a write the driver has started waits in its submission queue
//! while the test fails its zone or issues a zone operation, and runs when the bit is set
//! again.

use crate::glue::nvme::dev::{NvmeDev, Profile};
use crate::kunit::blk_io::{nvme_namespace_devts, BlockDev};
use core::sync::atomic::{AtomicI32, Ordering};
use kernel::bindings;
use kernel::sync::{Arc, Completion};
use kernel::workqueue;

/// Opens the zoned (`zoned`) or the conventional namespace of `dev` once the driver has
/// scanned them both (see [`crate::kunit::nvme_io::open_ns`]).
pub(crate) fn open_kind(dev: &NvmeDev, zoned: bool) -> Result<BlockDev> {
    let mut opened = Err(ETIMEDOUT);
    crate::kunit::nvme::wait_until(|| {
        let Some(devts) = dev.pdev().map(|p| nvme_namespace_devts(&p)) else {
            return false;
        };
        let devts = match devts {
            Ok(d) => d,
            Err(e) => {
                opened = Err(e);
                return true;
            }
        };
        for devt in devts.iter() {
            match BlockDev::open(*devt) {
                Ok(b) if b.is_zoned() == zoned => {
                    opened = Ok(b);
                    return true;
                }
                // Not added yet (ENXIO), or the other kind.
                Ok(_) | Err(_) => {}
            }
        }
        false
    });
    opened
}

use kernel::prelude::*;

/// Namespace size of the test controllers.
pub(crate) const NS_MIB: u32 = 16;
/// Zone size of their zoned namespace: 16 zones.
pub(crate) const ZONE_KIB: u32 = 1024;
/// A zone in bytes.
pub(crate) const ZONE: u64 = (ZONE_KIB as u64) << 10;

/// The profile of the suite's controllers, with the zoned namespace's limits.
pub(crate) fn zoned_profile(max_open: u32, max_active: u32) -> Profile {
    Profile {
        ns_mib: NS_MIB,
        namespaces: 2,
        zoned: 1,
        zone_kib: ZONE_KIB,
        max_open,
        max_active,
        ..Default::default()
    }
}

/// What a test and the work item running a zone operation for it share.
#[pin_data]
struct MgmtJob {
    #[pin]
    done: Completion,
    /// 0, or the errno the operation failed with.
    errno: AtomicI32,
}

/// Runs `blkdev_zone_mgmt(op)` on the zones of bytes `offset..offset + len` of `bdev` on the
/// system workqueue (it waits for the device, which the test may be holding off).
fn spawn_mgmt(
    bdev: &Arc<BlockDev>,
    op: bindings::req_op,
    offset: u64,
    len: u64,
) -> Result<Arc<MgmtJob>> {
    let job = Arc::pin_init(
        pin_init!(MgmtJob {
            done <- Completion::new(),
            errno: AtomicI32::new(0),
        }),
        GFP_KERNEL,
    )?;
    let (j, b) = (job.clone(), bdev.clone());
    workqueue::system().try_spawn(GFP_KERNEL, move || {
        let r = b.zone_mgmt(op, offset, len);
        // The test's reference, not the worker's, closes the device.
        drop(b);
        j.errno
            .store(r.err().map_or(0, |e| e.to_errno()), Ordering::Relaxed);
        j.done.complete_all();
    })?;
    Ok(job)
}

/// Runs `f` with Bus Master Enable cleared in the function's Command register, so that the
/// controller fetches and completes nothing meanwhile (commands wait in their queues), and
/// sets the bit again however `f` ends.
fn paused<T>(dev: &NvmeDev, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let p = dev.pdev().ok_or(ENODEV)?;
    // SAFETY: `p` holds a reference to the live device, to which the driver is bound.
    unsafe { bindings::pci_clear_master(p.as_ptr()) };
    let r = f();
    // SAFETY: as above.
    unsafe { bindings::pci_set_master(p.as_ptr()) };
    r
}

#[kernel::macros::kunit_tests(nvmock_nvme_zns)]
mod tests {
    use super::{open_kind, paused, spawn_mgmt, zoned_profile, NS_MIB, ZONE, ZONE_KIB};
    use crate::glue::nvme::dev::{NvmeDev, Profile};
    use crate::glue::nvme::instance::Instance;
    use crate::kunit::blk_io::BlockDev;
    use crate::kunit::nvme::wait_until;
    use crate::kunit::nvme_io::pattern;
    use crate::model::nvme::{Zone, ZoneState};
    use core::sync::atomic::Ordering;
    use kernel::alloc::KVVec;
    use kernel::bindings;
    use kernel::prelude::*;
    use kernel::sync::Arc;

    /// The zoned namespace's NSID.
    const ZNS: u32 = 2;
    /// Sectors (the block layer's unit) per zone.
    const ZONE_SECTORS: u64 = ZONE / 512;
    /// The size of each write the corner cases keep in flight, and how many per zone.
    const CHUNK: usize = 8192;
    const BATCH: usize = 8;
    const WRITE: bindings::req_op = bindings::req_op_REQ_OP_WRITE;

    /// The kernel's report of zone `i`.
    fn report(bdev: &BlockDev, i: u64) -> Result<bindings::blk_zone> {
        let mut out = KVec::with_capacity(1, GFP_KERNEL)?;
        bdev.report_zones(i * ZONE, &mut out)?;
        out.first().copied().ok_or(ENODATA)
    }

    /// Sectors in `blocks` logical blocks of `bdev`.
    fn sectors(bdev: &BlockDev, blocks: u64) -> u64 {
        blocks * u64::from(bdev.block_size() / 512)
    }

    /// Whether a zone of the kernel's report, `z`, shows the model's record `m` of it: the
    /// same state, and the write pointer where the model has it.
    fn shows(bdev: &BlockDev, z: &bindings::blk_zone, m: &Zone) -> bool {
        let wp = match m.state() {
            // Linux puts the write pointer of a Full zone at its end (whatever the device
            // reports); Read Only and Offline zones have none (the device reports all ones).
            ZoneState::Full => z.start + z.len,
            ZoneState::ReadOnly | ZoneState::Offline => z.wp,
            _ => z.start + sectors(bdev, m.written()),
        };
        z.cond == m.state().code() && z.wp == wp
    }

    /// Whether the kernel's report of zone `i` agrees with the model's record of it.
    fn agrees(dev: &NvmeDev, bdev: &BlockDev, i: u64) -> Result<bool> {
        let z = report(bdev, i)?;
        let m = dev.zone(ZNS, i as u32).ok_or(ENODATA)?;
        Ok(z.start == i * ZONE_SECTORS && shows(bdev, &z, &m))
    }

    /// Whether the block layer's own record of zone `i` (its cached condition and the write
    /// pointer of its zone write plug, `blkdev_get_zone_info()`) agrees with the model's.
    fn cached_agrees(dev: &NvmeDev, bdev: &BlockDev, i: u64) -> Result<bool> {
        use bindings::{
            blk_zone_cond_BLK_ZONE_COND_ACTIVE as ACTIVE, blk_zone_cond_BLK_ZONE_COND_EMPTY as EMPTY,
            blk_zone_cond_BLK_ZONE_COND_FULL as FULL, blk_zone_cond_BLK_ZONE_COND_OFFLINE as OFFLINE,
            blk_zone_cond_BLK_ZONE_COND_READONLY as READONLY,
        };
        let z = bdev.zone_info(i * ZONE)?;
        let m = dev.zone(ZNS, i as u32).ok_or(ENODATA)?;
        let start = i * ZONE_SECTORS;
        let (cond, wp) = match m.state() {
            ZoneState::Empty => (EMPTY, Some(start)),
            ZoneState::ImplicitlyOpened | ZoneState::ExplicitlyOpened | ZoneState::Closed => {
                (ACTIVE, Some(start + sectors(bdev, m.written())))
            }
            ZoneState::Full => (FULL, None),
            ZoneState::ReadOnly => (READONLY, None),
            ZoneState::Offline => (OFFLINE, None),
        };
        Ok(u32::from(z.cond) == cond && z.start == start && wp.is_none_or(|w| z.wp == w))
    }

    /// The model's count of Zone Management Receive commands.
    fn receives(dev: &NvmeDev) -> u64 {
        dev.with_ctrl(|c| c.zone_receives())
    }

    fn write(bdev: &BlockDev, offset: u64, len: usize, seed: u64) -> Result<KVVec<u8>> {
        let mut buf = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
        pattern(seed, &mut buf);
        bdev.transfer(true, offset, &mut buf, 32)?;
        Ok(buf)
    }

    fn read(bdev: &BlockDev, offset: u64, len: usize) -> Result<KVVec<u8>> {
        let mut buf = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
        bdev.transfer(false, offset, &mut buf, 32)?;
        Ok(buf)
    }

    /// The kernel sees namespace 2 as a host-managed zoned disk with the profile's geometry,
    /// every zone Empty; namespace 1 stays conventional. A write moves the zone's write
    /// pointer in the model and in the kernel's report alike, and reads back.
    #[test]
    fn geometry_and_write_pointer() -> Result {
        let dev = NvmeDev::new(&zoned_profile(0, 0), Instance::alloc()?)?;
        let conv = open_kind(&dev, false)?;
        let bdev = open_kind(&dev, true)?;
        let mut zones = KVec::with_capacity(64, GFP_KERNEL)?;
        check!(conv.report_zones(0, &mut zones).is_err());
        let n = bdev.report_zones(0, &mut zones)?;
        check!(n as u64 == (u64::from(NS_MIB) << 20) / ZONE);
        for (i, z) in zones.iter().enumerate() {
            let start = i as u64 * ZONE_SECTORS;
            check!(z.start == start && z.len == ZONE_SECTORS && z.capacity == ZONE_SECTORS);
            check!(z.type_ == bindings::blk_zone_type_BLK_ZONE_TYPE_SEQWRITE_REQ as u8);
            check!(z.cond == ZoneState::Empty.code() && z.wp == start);
        }
        let data = write(&bdev, 3 * ZONE, 64 << 10, 3)?;
        check!(dev.zone(ZNS, 3).map(|z| z.state()) == Some(ZoneState::ImplicitlyOpened));
        check!(dev.zone(ZNS, 3).map(|z| z.written()) == Some(128));
        check!(agrees(&dev, &bdev, 3)?);
        check!(read(&bdev, 3 * ZONE, 64 << 10)? == data);
        // The conventional namespace takes writes anywhere.
        let data = write(&conv, 5 << 20, 8192, 1)?;
        check!(read(&conv, 5 << 20, 8192)? == data);
        Ok(())
    }

    /// Zone Append: the device picks the sector (the zone's write pointer) and the block
    /// layer hands it back in the bio; two appends land one after the other.
    #[test]
    fn zone_append_returns_the_assigned_sector() -> Result {
        let dev = NvmeDev::new(&zoned_profile(0, 0), Instance::alloc()?)?;
        let bdev = open_kind(&dev, true)?;
        let start = 5 * ZONE;
        let mut a = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        let mut b = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        pattern(51, &mut a);
        pattern(52, &mut b);
        check!(bdev.zone_append(start, &mut a)? == start);
        check!(bdev.zone_append(start, &mut b)? == start + 8192);
        check!(dev.zone(ZNS, 5).map(|z| z.written()) == Some(24));
        check!(agrees(&dev, &bdev, 5)?);
        check!(read(&bdev, start, 8192)? == a);
        check!(read(&bdev, start + 8192, 4096)? == b);
        Ok(())
    }

    /// Open, Close, Finish and Reset through the block layer, each state as the model and the
    /// kernel's report see it; a Full zone refuses writes; Reset deallocates (reads zeroes).
    #[test]
    fn management_transitions() -> Result {
        let dev = NvmeDev::new(&zoned_profile(0, 0), Instance::alloc()?)?;
        let bdev = open_kind(&dev, true)?;
        let z = 6u64;
        let state = || dev.zone(ZNS, z as u32).map(|r| r.state());
        bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_OPEN, z * ZONE, ZONE)?;
        check!(state() == Some(ZoneState::ExplicitlyOpened));
        check!(agrees(&dev, &bdev, z)?);
        write(&bdev, z * ZONE, 4096, 6)?;
        bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_CLOSE, z * ZONE, ZONE)?;
        check!(state() == Some(ZoneState::Closed));
        check!(agrees(&dev, &bdev, z)?);
        bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_FINISH, z * ZONE, ZONE)?;
        check!(state() == Some(ZoneState::Full));
        check!(agrees(&dev, &bdev, z)?);
        check!(write(&bdev, z * ZONE + 4096, 4096, 7).is_err());
        bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_RESET, z * ZONE, ZONE)?;
        check!(state() == Some(ZoneState::Empty));
        check!(agrees(&dev, &bdev, z)?);
        check!(read(&bdev, z * ZONE, 4096)?.iter().all(|&b| b == 0));
        // Reset of every zone at once (the block layer's reset-all).
        write(&bdev, 2 * ZONE, 4096, 2)?;
        write(&bdev, 9 * ZONE, 4096, 9)?;
        bdev.zone_mgmt(
            bindings::req_op_REQ_OP_ZONE_RESET,
            0,
            u64::from(NS_MIB) << 20,
        )?;
        for i in 0..16 {
            check!(dev.zone(ZNS, i).map(|r| r.state()) == Some(ZoneState::Empty));
        }
        Ok(())
    }

    /// With at most 2 open and 3 active zones: a write to a third zone makes the device close
    /// an implicitly opened one; a write to a fourth fails with the block layer's "active
    /// zones exceeded" (EOVERFLOW) until a zone is finished; a third explicit open fails with
    /// "open zones exceeded" (ETOOMANYREFS).
    #[test]
    fn open_and_active_limits() -> Result {
        let dev = NvmeDev::new(&zoned_profile(2, 3), Instance::alloc()?)?;
        let bdev = open_kind(&dev, true)?;
        for z in 0..3u64 {
            write(&bdev, z * ZONE, 4096, z)?;
        }
        let count = |f: fn(ZoneState) -> bool| {
            (0..16)
                .filter(|&i| dev.zone(ZNS, i).is_some_and(|r| f(r.state())))
                .count()
        };
        check!(count(ZoneState::is_open) == 2);
        check!(count(ZoneState::is_active) == 3);
        for z in 0..3 {
            check!(agrees(&dev, &bdev, z)?);
        }
        let e = write(&bdev, 3 * ZONE, 4096, 3).err();
        check!(e == Some(EOVERFLOW));
        check!(dev.zone(ZNS, 3).map(|r| r.state()) == Some(ZoneState::Empty));
        // After a failed write the block layer holds the zone's writes until a report of
        // the zone tells it the write pointer again (as a file system does).
        check!(agrees(&dev, &bdev, 3)?);
        let step = |what: &'static str| move |e: &Error| pr_err!("{}: {:?}\n", what, e);
        bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_FINISH, 0, ZONE)
            .inspect_err(step("finish zone 0"))?;
        write(&bdev, 3 * ZONE, 4096, 3).inspect_err(step("write zone 3 after finish"))?;
        check!(count(ZoneState::is_active) == 3);
        // Explicit opens: zones 1 and 2 are active; finish them, then open 4 and 5 and 6.
        bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_FINISH, ZONE, 2 * ZONE)
            .inspect_err(step("finish zones 1-2"))?;
        bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_FINISH, 3 * ZONE, ZONE)
            .inspect_err(step("finish zone 3"))?;
        bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_OPEN, 4 * ZONE, ZONE)
            .inspect_err(step("open zone 4"))?;
        bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_OPEN, 5 * ZONE, ZONE)
            .inspect_err(step("open zone 5"))?;
        let e = bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_OPEN, 6 * ZONE, ZONE).err();
        check!(e == Some(ETOOMANYREFS));
        check!(count(ZoneState::is_open) == 2);
        Ok(())
    }

    /// Media events: a zone that turns Read Only keeps its data readable and refuses writes;
    /// an Offline one refuses both; the kernel's report follows the model.
    #[test]
    fn read_only_and_offline_zones() -> Result {
        let dev = NvmeDev::new(&zoned_profile(0, 0), Instance::alloc()?)?;
        let bdev = open_kind(&dev, true)?;
        let data = write(&bdev, 7 * ZONE, 8192, 70)?;
        write(&bdev, 8 * ZONE, 8192, 80)?;
        dev.zone_fail(ZNS, 7, false)?;
        dev.zone_fail(ZNS, 8, true)?;
        check!(dev.zone(ZNS, 7).map(|r| r.state()) == Some(ZoneState::ReadOnly));
        check!(dev.zone(ZNS, 8).map(|r| r.state()) == Some(ZoneState::Offline));
        check!(agrees(&dev, &bdev, 7)?);
        check!(agrees(&dev, &bdev, 8)?);
        check!(read(&bdev, 7 * ZONE, 8192)? == data);
        check!(write(&bdev, 7 * ZONE + 8192, 4096, 71).is_err());
        check!(read(&bdev, 8 * ZONE, 4096).is_err());
        check!(write(&bdev, 8 * ZONE + 8192, 4096, 81).is_err());
        // An Offline zone cannot fail again; a zone the namespace lacks, or a conventional
        // namespace, is refused.
        check!(dev.zone_fail(ZNS, 8, false) == Err(EBUSY));
        check!(dev.zone_fail(ZNS, 16, true) == Err(EINVAL));
        check!(dev.zone_fail(1, 0, true) == Err(EINVAL));
        // The other zones work on.
        let data = write(&bdev, 9 * ZONE, 4096, 90)?;
        check!(read(&bdev, 9 * ZONE, 4096)? == data);
        Ok(())
    }

    /// A controller reset (the driver's timeout recovery) with a zone open: the controller
    /// closes it, keeping its write pointer, and appends continue from there.
    #[test]
    fn controller_reset_closes_open_zones() -> Result {
        let dev = NvmeDev::new(&zoned_profile(0, 0), Instance::alloc()?)?;
        let bdev = open_kind(&dev, true)?;
        bdev.set_timeout_ms(500);
        write(&bdev, ZONE, 8192, 10)?;
        check!(dev.zone(ZNS, 1).map(|r| r.state()) == Some(ZoneState::ImplicitlyOpened));
        let enables = dev.stats().enables.load(Ordering::Relaxed);
        dev.faults().withhold_io.store(1, Ordering::Release);
        // Served after the reset the withheld completion forces.
        let data = read(&bdev, ZONE, 8192)?;
        check!(wait_until(|| dev.stats().enables.load(Ordering::Relaxed) > enables));
        let mut x = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        pattern(10, &mut x);
        check!(data == x);
        check!(wait_until(|| dev.zone(ZNS, 1).map(|r| r.state()) == Some(ZoneState::Closed)));
        check!(dev.zone(ZNS, 1).map(|r| r.written()) == Some(16));
        check!(agrees(&dev, &bdev, 1)?);
        let mut more = KVVec::from_elem(0u8, 4096, GFP_KERNEL)?;
        pattern(11, &mut more);
        check!(bdev.zone_append(ZONE, &mut more)? == ZONE + 8192);
        Ok(())
    }

    /// Zoned profiles the controller cannot have are refused before anything is created.
    #[test]
    fn bad_zoned_profiles_are_refused() -> Result {
        let base = zoned_profile(0, 0);
        // One profile at a time (a profile is large: an array of them made a 4.5 KiB frame on
        // UML's 16 KiB stack, under NvmeDev::new and the model's construction).
        let bad: [fn(&mut Profile); 8] = [
            // The zone size does not divide the namespace.
            |p| p.zone_kib = 3 * ZONE_KIB,
            // Larger than the namespace.
            |p| p.zone_kib = 2 * (NS_MIB << 10),
            // Not a multiple of a 4 KiB block.
            |p| {
                p.lba_size = 4096;
                p.zone_kib = 2;
                p.ns_mib = 2;
            },
            // Capacity above the zone size.
            |p| p.zone_cap_kib = 2 * ZONE_KIB,
            // More open than active zones, or more active zones than there are.
            |p| {
                p.max_open = 4;
                p.max_active = 3;
            },
            |p| p.max_active = 17,
            // More zoned namespaces than namespaces.
            |p| p.zoned = 3,
            // A Zone Append limit above MDTS.
            |p| p.zasl = p.mdts + 1,
        ];
        for make_bad in bad {
            let mut p = base;
            make_bad(&mut p);
            check!(NvmeDev::new(&p, Instance::alloc()?).err() == Some(EINVAL));
        }
        // And a smaller capacity is fine: the report shows it.
        let dev = NvmeDev::new(
            &Profile {
                zone_cap_kib: ZONE_KIB / 2,
                ..base
            },
            Instance::alloc()?,
        )?;
        let bdev = open_kind(&dev, true)?;
        let mut zones = KVec::with_capacity(1, GFP_KERNEL)?;
        bdev.report_zones(0, &mut zones)?;
        check!(zones.first().map(|z| z.capacity) == Some(ZONE_SECTORS / 2));
        Ok(())
    }

    /// A pattern of `len` bytes seeded `seed`.
    fn patterned(len: usize, seed: u64) -> Result<KVVec<u8>> {
        let mut buf = KVVec::from_elem(0u8, len, GFP_KERNEL)?;
        pattern(seed, &mut buf);
        Ok(buf)
    }

    /// Zones failing under writes. Zones A, B and C each have a head written and a batch of
    /// sequential writes in flight behind it (one at the device, the rest held by the block
    /// layer's zone write plug) when A goes Offline and B Read Only. Every write of A and B
    /// fails with EIO (Zone Is Offline / Read Only at the device, the held ones aborted),
    /// every write of C completes; the kernel's report shows A Offline and B Read Only with
    /// B's head kept, and their next writes fail with EIO too. A controller reset makes the
    /// driver rescan the namespace and revalidate its zones: the block layer's own record of
    /// every zone (read without a Zone Management Receive) then agrees with the model,
    /// Offline and Read Only included, and C and a fresh zone take writes.
    #[test]
    fn zones_fail_under_writes() -> Result {
        let dev = NvmeDev::new(&zoned_profile(0, 0), Instance::alloc()?)?;
        let bdev = open_kind(&dev, true)?;
        let zones = [10u64, 11, 12];
        let (a, b, c) = (zones[0], zones[1], zones[2]);
        let head = 2 * CHUNK;
        let mut heads = KVec::with_capacity(zones.len(), GFP_KERNEL)?;
        let mut data = KVec::with_capacity(zones.len(), GFP_KERNEL)?;
        for &z in zones.iter() {
            heads.push(write(&bdev, z * ZONE, head, z)?, GFP_KERNEL)?;
            data.push(patterned(BATCH * CHUNK, 100 + z)?, GFP_KERNEL)?;
        }
        let head_blocks = dev.zone(ZNS, b as u32).map(|r| r.written());
        let mut batches = KVec::with_capacity(zones.len(), GFP_KERNEL)?;
        let held = paused(&dev, || {
            for (&z, d) in zones.iter().zip(data.iter()) {
                batches.push(bdev.start_writes(z * ZONE + head as u64, d, CHUNK)?, GFP_KERNEL)?;
            }
            // One write of each zone is at the device (started by the driver, not fetched).
            check!(wait_until(|| bdev.started(WRITE) >= zones.len()));
            dev.zone_fail(ZNS, a as u32, true)?;
            dev.zone_fail(ZNS, b as u32, false)?;
            Ok(())
        });
        let mut results = KVec::with_capacity(zones.len(), GFP_KERNEL)?;
        for w in batches.iter_mut() {
            results.push(w.wait()?, GFP_KERNEL)?;
        }
        drop(batches);
        held?;
        check!(results[0].iter().all(|r| *r == Err(EIO)));
        check!(results[1].iter().all(|r| *r == Err(EIO)));
        check!(results[2].iter().all(|r| r.is_ok()));
        // The model: A Offline, B Read Only with only its head, C written on.
        check!(dev.zone(ZNS, a as u32).map(|r| r.state()) == Some(ZoneState::Offline));
        check!(dev.zone(ZNS, b as u32).map(|r| r.state()) == Some(ZoneState::ReadOnly));
        check!(dev.zone(ZNS, b as u32).map(|r| r.written()) == head_blocks);
        let c_blocks = ((head + BATCH * CHUNK) / bdev.block_size() as usize) as u64;
        check!(dev.zone(ZNS, c as u32).map(|r| r.written()) == Some(c_blocks));
        // The kernel's report (which also gives the block layer the zones' write pointers
        // again after the failed writes).
        for &z in zones.iter() {
            check!(agrees(&dev, &bdev, z)?);
        }
        check!(read(&bdev, b * ZONE, head)? == heads[1]);
        check!(read(&bdev, a * ZONE, head).err() == Some(EIO));
        let c_all = read(&bdev, c * ZONE, head + BATCH * CHUNK)?;
        check!(c_all[..head] == heads[2][..] && c_all[head..] == data[2][..]);
        // Their next writes fail the same way.
        check!(write(&bdev, a * ZONE + head as u64, CHUNK, 1).err() == Some(EIO));
        check!(write(&bdev, b * ZONE + head as u64, CHUNK, 2).err() == Some(EIO));
        for &z in [a, b].iter() {
            check!(agrees(&dev, &bdev, z)?);
            let cached = bdev.zone_info(z * ZONE)?;
            pr_info!(
                "zones_fail_under_writes: zone {} before revalidation: cached condition {:#x}\n",
                z,
                cached.cond
            );
        }

        // A read whose completion is withheld: the driver times it out and resets the
        // controller, then rescans the namespaces (the read is served after the reset).
        bdev.set_timeout_ms(500);
        let enables = dev.stats().enables.load(Ordering::Relaxed);
        let before = receives(&dev);
        dev.faults().withhold_io.store(1, Ordering::Release);
        check!(read(&bdev, c * ZONE, head)? == heads[2]);
        check!(wait_until(|| dev.stats().enables.load(Ordering::Relaxed) > enables));
        let all = u64::from(NS_MIB) * (1 << 20) / ZONE;
        check!(wait_until(|| (0..all).all(|i| cached_agrees(&dev, &bdev, i) == Ok(true))));
        // The rescan reported the zones to the block layer; the records above are its own.
        check!(receives(&dev) > before);
        let before = receives(&dev);
        for i in 0..all {
            check!(cached_agrees(&dev, &bdev, i)?);
        }
        check!(receives(&dev) == before);
        // The other zones work on: C from its write pointer (Closed by the reset), and a
        // fresh zone.
        let more = write(&bdev, c * ZONE + (head + BATCH * CHUNK) as u64, CHUNK, 3)?;
        check!(read(&bdev, c * ZONE + (head + BATCH * CHUNK) as u64, CHUNK)? == more);
        let fresh = write(&bdev, 13 * ZONE, CHUNK, 13)?;
        check!(read(&bdev, 13 * ZONE, CHUNK)? == fresh);
        check!(agrees(&dev, &bdev, c)? && agrees(&dev, &bdev, 13)?);
        Ok(())
    }

    /// Zone operation `op` (`REQ_OP_ZONE_FINISH` or `_RESET`) through `blkdev_zone_mgmt()`
    /// while sequential writes to the zone are in flight: one write and the operation are at
    /// the device together, more writes held behind. Every write either completed before the
    /// operation (a prefix of them, whose data is there after a finish) or failed with EIO
    /// leaving nothing behind; the model's state and write pointer, the kernel's report and
    /// the block layer's own record agree; the zone takes writes again after a reset.
    fn transition_racing_writes(name: &str, op: bindings::req_op) -> Result {
        let dev = NvmeDev::new(&zoned_profile(0, 0), Instance::alloc()?)?;
        let bdev = Arc::new(open_kind(&dev, true)?, GFP_KERNEL)?;
        let z = 4u64;
        let head = write(&bdev, z * ZONE, 2 * CHUNK, 40)?;
        let data = patterned(BATCH * CHUNK, 41)?;
        let from = z * ZONE + head.len() as u64;
        let mut batch = None;
        let mut job = None;
        let held = paused(&dev, || {
            batch = Some(bdev.start_writes(from, &data, CHUNK)?);
            check!(wait_until(|| bdev.started(WRITE) >= 1));
            job = Some(spawn_mgmt(&bdev, op, z * ZONE, ZONE)?);
            check!(wait_until(|| bdev.started(op) >= 1));
            Ok(())
        });
        if let Some(j) = &job {
            j.done.wait_for_completion();
        }
        let results = match batch.as_mut() {
            Some(w) => w.wait()?,
            None => KVec::new(),
        };
        drop(batch);
        held?;
        check!(job.map(|j| j.errno.load(Ordering::Relaxed)) == Some(0));
        let ok = results.iter().take_while(|r| r.is_ok()).count();
        check!(results[ok..].iter().all(|r| *r == Err(EIO)));
        pr_info!(
            "{}: {} of the {} writes in flight completed before it\n",
            name,
            ok,
            results.len()
        );
        let state = dev.zone(ZNS, z as u32).map(|r| r.state());
        check!(agrees(&dev, &bdev, z)?);
        check!(cached_agrees(&dev, &bdev, z)?);
        if op == bindings::req_op_REQ_OP_ZONE_FINISH {
            check!(state == Some(ZoneState::Full));
            check!(read(&bdev, z * ZONE, head.len())? == head);
            for (i, r) in results.iter().enumerate() {
                let got = read(&bdev, from + (i * CHUNK) as u64, CHUNK)?;
                if r.is_ok() {
                    check!(got[..] == data[i * CHUNK..(i + 1) * CHUNK]);
                } else {
                    check!(got.iter().all(|&b| b == 0));
                }
            }
            bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_RESET, z * ZONE, ZONE)?;
        } else {
            check!(state == Some(ZoneState::Empty));
            // Whatever was written before the reset is gone; nothing written after it.
            let all = read(&bdev, z * ZONE, head.len() + data.len())?;
            check!(all.iter().all(|&b| b == 0));
        }
        check!(dev.zone(ZNS, z as u32).map(|r| r.state()) == Some(ZoneState::Empty));
        check!(agrees(&dev, &bdev, z)?);
        let again = write(&bdev, z * ZONE, CHUNK, 42)?;
        check!(read(&bdev, z * ZONE, CHUNK)? == again);
        check!(agrees(&dev, &bdev, z)? && cached_agrees(&dev, &bdev, z)?);
        Ok(())
    }

    /// Finish Zone racing sequential writes (see `transition_racing_writes`).
    #[test]
    fn finish_racing_writes() -> Result {
        transition_racing_writes("finish_racing_writes", bindings::req_op_REQ_OP_ZONE_FINISH)
    }

    /// Reset Zone racing sequential writes (see `transition_racing_writes`).
    #[test]
    fn reset_racing_writes() -> Result {
        transition_racing_writes("reset_racing_writes", bindings::req_op_REQ_OP_ZONE_RESET)
    }

    /// Report Zones paged by the driver. With the smallest MDTS (8 KiB) and 64 KiB zones, the
    /// driver's report buffer (`nvme_zns_alloc_report_buffer()`: a 64-byte header and a
    /// 64-byte descriptor per zone asked for, at most the disk's zones, no more than the
    /// queue's `max_hw_sectors` and `max_segments` pages) holds fewer descriptors than the
    /// namespace has zones, so `nvme_ns_report_zones()` sends one Zone Management Receive per
    /// buffer full from the next zone on. With zones in every state on both sides of the
    /// page boundaries, a report of all the zones returns each one once, in order, as the
    /// model has it, and the model counts the pages that took; so does a report from a zone
    /// inside the first page.
    #[test]
    fn report_zones_paged_by_the_driver() -> Result {
        /// The size of the Report Zones header and of a Zone Descriptor.
        const DESC: usize = 64;
        let profile = Profile {
            mdts: 1,
            zone_kib: 64,
            ..zoned_profile(0, 0)
        };
        let zone = u64::from(profile.zone_kib) << 10;
        let zone_sectors = zone / 512;
        let dev = NvmeDev::new(&profile, Instance::alloc()?)?;
        let bdev = open_kind(&dev, true)?;
        let n = bdev.nr_zones() as usize;
        check!(n > 1 && dev.zone(ZNS, n as u32 - 1).is_some() && dev.zone(ZNS, n as u32).is_none());
        let (hw_sectors, segments) = bdev.hw_limits();
        // Descriptors per page of a report asking the driver for `asked` zones.
        let per_page = |asked: usize| {
            let len = (DESC * (1 + asked.min(n)))
                .min(hw_sectors as usize * 512)
                .min(usize::from(segments) * kernel::page::PAGE_SIZE);
            (len / DESC).saturating_sub(1)
        };
        let p = per_page(n);
        check!(p > 1 && p < n);
        // Every state, beside the page boundaries.
        let block = bdev.block_size() as usize;
        let at = |i: usize| i as u64 * zone;
        let prepare = |i: usize, what: u8| -> Result {
            if i >= n {
                return Ok(());
            }
            match what {
                0 => write(&bdev, at(i), block, i as u64).map(|_| ()),
                1 => bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_OPEN, at(i), zone),
                2 => {
                    write(&bdev, at(i), 2 * block, i as u64)?;
                    bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_CLOSE, at(i), zone)
                }
                3 => bdev.zone_mgmt(bindings::req_op_REQ_OP_ZONE_FINISH, at(i), zone),
                4 => {
                    write(&bdev, at(i), 3 * block, i as u64)?;
                    dev.zone_fail(ZNS, i as u32, false)
                }
                _ => dev.zone_fail(ZNS, i as u32, true),
            }
        };
        for (i, what) in [(p - 1, 0), (p, 1), (p + 1, 2), (2 * p - 1, 3), (2 * p, 4), (n - 1, 5)] {
            prepare(i, what)?;
        }
        for first in [0, p - 1] {
            let mut got = KVec::with_capacity(n - first, GFP_KERNEL)?;
            // The block layer asks the driver for as many zones as `got` holds.
            let per = per_page(got.capacity());
            let before = receives(&dev);
            check!(bdev.report_zones(at(first), &mut got)? == n - first);
            let used = (receives(&dev) - before) as usize;
            pr_info!(
                "report_zones_paged_by_the_driver: zones {}..{}: {} pages of {} zones\n",
                first,
                n,
                used,
                per
            );
            check!(used > 1 && used == (n - first).div_ceil(per.max(1)));
            for (k, z) in got.iter().enumerate() {
                let i = first + k;
                let m = dev.zone(ZNS, i as u32).ok_or(ENODATA)?;
                check!(z.start == i as u64 * zone_sectors && z.len == zone_sectors);
                check!(shows(&bdev, z, &m));
            }
        }
        Ok(())
    }
}
