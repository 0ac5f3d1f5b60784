// SPDX-License-Identifier: GPL-2.0

//! KUnit: zoned namespaces (the Zoned Namespace Command Set) under the real nvme driver and
//! the block layer's zoned support.
//!
//! Each controller has a conventional namespace 1 and a zoned namespace 2, as a file system
//! that keeps its metadata apart would use them. The cases check what the kernel sees (its
//! zone report, the sector a Zone Append landed at, the errno of a refused write) against the
//! model's own zone records, not against numbers written into the test.

use crate::glue::nvme::dev::{NvmeDev, Profile};
use crate::kunit::blk_io::{nvme_namespace_devts, BlockDev};

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

#[kernel::macros::kunit_tests(nvmock_nvme_zns)]
mod tests {
    use super::{open_kind, zoned_profile, NS_MIB, ZONE, ZONE_KIB};
    use crate::glue::nvme::dev::{NvmeDev, Profile};
    use crate::glue::nvme::instance::Instance;
    use crate::kunit::blk_io::BlockDev;
    use crate::kunit::nvme::wait_until;
    use crate::kunit::nvme_io::pattern;
    use crate::model::nvme::ZoneState;
    use core::sync::atomic::Ordering;
    use kernel::alloc::KVVec;
    use kernel::bindings;
    use kernel::prelude::*;

    /// The zoned namespace's NSID.
    const ZNS: u32 = 2;
    /// Sectors (the block layer's unit) per zone.
    const ZONE_SECTORS: u64 = ZONE / 512;

    /// The kernel's report of zone `i`.
    fn report(bdev: &BlockDev, i: u64) -> Result<bindings::blk_zone> {
        let mut out = KVec::with_capacity(1, GFP_KERNEL)?;
        bdev.report_zones(i * ZONE, &mut out)?;
        out.first().copied().ok_or(ENODATA)
    }

    /// Whether the kernel's report of zone `i` agrees with the model's record of it: the same
    /// state, and the write pointer where the model has it.
    fn agrees(dev: &NvmeDev, bdev: &BlockDev, i: u64) -> Result<bool> {
        let z = report(bdev, i)?;
        let m = dev.zone(ZNS, i as u32).ok_or(ENODATA)?;
        let wp = match m.state() {
            // Linux puts the write pointer of a Full zone at its end (whatever the device
            // reports); Read Only and Offline zones have none (the device reports all ones).
            ZoneState::Full => z.start + z.len,
            ZoneState::ReadOnly | ZoneState::Offline => z.wp,
            _ => z.start + m.written(),
        };
        Ok(z.cond == m.state().code() && z.wp == wp)
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
        let bad = [
            // The zone size does not divide the namespace.
            Profile { zone_kib: 3 * ZONE_KIB, ..base },
            // Larger than the namespace.
            Profile { zone_kib: 2 * (NS_MIB << 10), ..base },
            // Not a multiple of a 4 KiB block.
            Profile { lba_size: 4096, zone_kib: 2, ns_mib: 2, ..base },
            // Capacity above the zone size.
            Profile { zone_cap_kib: 2 * ZONE_KIB, ..base },
            // More open than active zones, or more active zones than there are.
            Profile { max_open: 4, max_active: 3, ..base },
            Profile { max_active: 17, ..base },
            // More zoned namespaces than namespaces.
            Profile { zoned: 3, ..base },
            // A Zone Append limit above MDTS.
            Profile { zasl: base.mdts + 1, ..base },
        ];
        for p in bad.iter() {
            check!(NvmeDev::new(p, Instance::alloc()?).err() == Some(EINVAL));
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
}
