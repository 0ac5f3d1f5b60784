// SPDX-License-Identifier: GPL-2.0

//! KUnit: device-dax on an emulated NVDIMM bus.
//!
//! Each test lays a device-dax info block (`NVDIMM_DAX_INFO`, from the pure model) into
//! the bus's PMEM before the bus probes, as if the namespace had been reconfigured with
//! `ndctl create-namespace -m devdax` earlier: nd_pmem then leaves the namespace to
//! dax_pmem, which creates the instance device_dax drives. The tests map the instance into
//! their own address space, as a process maps /dev/daxX.Y, fault its pages in and read the
//! page tables the faults filled (`nvmock_nfit_user_leaf()`).
//!
//! The buses' memory is a span of the devmem reservation (reserved RAM: real ZONE_DEVICE
//! pages, physically contiguous), so an instance aligned to 2 MiB faults 2 MiB at a time,
//! as on real PMEM; the suite needs the reservation (x86_64's default, `NVMOCK_DEVMEM`).
//! One case asks for a bus on the fake window's vmalloc'd memory instead, whose pages are
//! not contiguous: nvmock's device_dax (tools-testing/nvdimm/dax_device.c) serves
//! page-sized faults only there, and a 2 MiB-aligned instance refuses every fault (SIGBUS)
//! rather than map memory that is not the bus's. nfit_test has that limit everywhere.

#[kernel::macros::kunit_tests(nvmock_dax)]
mod tests {
    use crate::glue::iomap::Region;
    use crate::model::nfit::info_block::{self, InfoBlock, Kind, Layout, Memmap};
    use crate::model::nfit::{dsm, preset as topo, Mapping, Topology};
    use crate::glue::nfit::bus::{BusDesc, AUTO_DIMMS, AUTO_ID, DaxInfo, NfitBus};
    use core::ffi::{c_char, c_int, c_ulong};
    use kernel::error::to_result;
    use kernel::prelude::*;
    use kernel::time::{delay::fsleep, Delta};
    use kernel::uaccess::{UserPtr, UserSlice};

    extern "C" {
        fn nvmock_nfit_dax_mmap(name: *const c_char, len: c_ulong, addr: *mut c_ulong) -> c_int;
        fn nvmock_nfit_dax_munmap(addr: c_ulong, len: c_ulong) -> c_int;
        fn nvmock_nfit_user_leaf(addr: c_ulong, size: *mut u64, phys: *mut u64) -> c_int;
    }

    const PAGE: u64 = 4096;
    const MIB: u64 = 1 << 20;
    /// What the tests map of an instance.
    const MAP_LEN: usize = 64 << 10;

    /// nfit_test.1's PMEM DIMM and range alone, armed and healthy (nfit_test.1 marks it
    /// not armed, which makes its region read-only): one writable 32 MiB region.
    const MAPPING: Mapping = Mapping {
        flags: 0,
        ..topo::NFIT_TEST1.mappings[0]
    };
    const TOPOLOGY: Topology<'static> = Topology {
        spas: &[topo::NFIT_TEST1.spas[0]],
        dimms: &[topo::NFIT_TEST1.dimms[0]],
        control_regions: &[topo::NFIT_TEST1.control_regions[0]],
        mappings: &[MAPPING],
        ..topo::NFIT_TEST1
    };

    /// The bus named `name` (bus and DIMM numbers from the glue): no label commands, so the
    /// region has one label-less namespace over all of it; ARS and clear error on the bus.
    /// Its memory is reserved RAM, or with `page_backed` vmalloc'd.
    macro_rules! dax_bus {
        ($name:literal) => {
            dax_bus!($name, false)
        };
        ($name:literal, $page_backed:literal) => {
            BusDesc {
                id: AUTO_ID,
                name: $name,
                span: topo::NFIT_TEST1_SPAN,
                topology: TOPOLOGY,
                hotplug: None,
                dimm_base: AUTO_DIMMS,
                package_calls: false,
                bus_cmds: (1 << dsm::CMD_ARS_CAP)
                    | (1 << dsm::CMD_ARS_START)
                    | (1 << dsm::CMD_ARS_STATUS)
                    | (1 << dsm::CMD_CLEAR_ERROR),
                bus_dsm: 0,
                bus_intel: 0,
                dimm_cmds: 0,
                page_backed: $page_backed,
            }
        };
    }

    /// Virtual nanoseconds per real one for the buses' long operations: nfit_test's
    /// default, a one-second scrub in a millisecond.
    const TIME_SCALE: u32 = 1000;

    static MAPS: BusDesc = dax_bus!(c"nvmock_dax.maps");
    static REVOKE: BusDesc = dax_bus!(c"nvmock_dax.revoke");
    static PMD: BusDesc = dax_bus!(c"nvmock_dax.pmd");
    static PAGE_BACKED: BusDesc = dax_bus!(c"nvmock_dax.page_backed", true);
    static POISON: BusDesc = dax_bus!(c"nvmock_dax.poison");

    fn module() -> &'static ThisModule {
        kernel::module::this_module::<crate::LocalModule>()
    }

    /// The byte the tests leave at offset `off` of an instance's data.
    fn pattern(off: usize) -> u8 {
        (off ^ (off >> 12) ^ 0x5a) as u8
    }

    /// Where the PMEM namespace starts (the whole range: it has no labels).
    fn namespace(base: u64) -> Result<(u64, u64)> {
        let spa = TOPOLOGY.spas.first().ok_or(EINVAL)?;
        Ok((base + spa.address, spa.length))
    }

    /// Lays a device-dax info block with `align` into the namespace and the pattern over
    /// the first [`MAP_LEN`] bytes of its data; returns the namespace's start and the layout.
    fn plant(base: u64, regions: &[Region], align: u32) -> Result<(u64, Layout)> {
        let (start, size) = namespace(base)?;
        let layout = info_block::layout(start, size, align, Memmap::Ram).map_err(|e| {
            pr_err!("nvmock_dax: no layout for align {:#x}: {:?}\n", align, e);
            EINVAL
        })?;
        let region = regions.iter().find(|r| r.phys == start).ok_or(EINVAL)?;
        // SAFETY: the bus has not probed: nothing maps its memory, and `regions` are live.
        let mem = unsafe { region.bytes() };
        let blk = InfoBlock {
            kind: Kind::Dax,
            uuid: *b"nvmock-dax-kunit",
            parent_uuid: [0; 16],
            memmap: Memmap::Ram,
            layout,
        };
        let at = info_block::OFFSET as usize;
        blk.write(mem.get_mut(at..at + info_block::LEN).ok_or(EINVAL)?)
            .map_err(|_| EINVAL)?;
        let data = usize::try_from(layout.dataoff)?;
        for (i, b) in mem
            .get_mut(data..data + MAP_LEN)
            .ok_or(EINVAL)?
            .iter_mut()
            .enumerate()
        {
            *b = pattern(i);
        }
        Ok((start, layout))
    }

    /// Waits (at most 30 s: namespaces probe asynchronously) for a device-dax instance
    /// under the bus that device_dax drives.
    fn bound_dax(bus: &NfitBus) -> Result<DaxInfo> {
        for _ in 0..3000 {
            if let Some(d) = bus.dax().filter(|d| d.bound) {
                return Ok(d);
            }
            fsleep(Delta::from_millis(10));
        }
        pr_err!("nvmock_dax: no device-dax instance bound to device_dax\n");
        Err(ENODEV)
    }

    /// A device-dax instance mapped shared into the test's address space.
    ///
    /// # Invariants
    ///
    /// `addr..addr + len` is the mapping, in the current test's address space, until drop.
    struct UserMap {
        addr: usize,
        len: usize,
    }

    impl UserMap {
        fn new(dax: &DaxInfo, len: usize) -> Result<Self> {
            let mut addr: c_ulong = 0;
            // SAFETY: `name` is NUL-terminated (the glue writes it with strscpy()), and
            // `addr` is valid for writes.
            to_result(unsafe {
                nvmock_nfit_dax_mmap(dax.name.as_ptr().cast(), len as c_ulong, &mut addr)
            })
            .inspect_err(|e| pr_err!("nvmock_dax: cannot map the instance: {:?}\n", e))?;
            Ok(UserMap {
                addr: addr as usize,
                len,
            })
        }

        /// Reads `out.len()` bytes at `off` through the mapping (faulting pages in).
        fn read(&self, off: usize, out: &mut [u8]) -> Result {
            UserSlice::new(UserPtr::from_addr(self.addr + off), out.len())
                .reader()
                .read_slice(out)
                .inspect_err(|e| pr_info!("nvmock_dax: read at {:#x}: {:?}\n", off, e))
        }

        /// How the page tables map `off`: the size of the entry (2 MiB, 1 GiB; 4 KiB for a
        /// page table below the PMD) and, for a huge one, the physical address.
        fn leaf(&self, off: usize) -> Result<(u64, u64)> {
            let (mut size, mut phys) = (0u64, 0u64);
            // SAFETY: both out pointers are valid for writes; the address is only looked up.
            to_result(unsafe {
                nvmock_nfit_user_leaf((self.addr + off) as c_ulong, &mut size, &mut phys)
            })?;
            Ok((size, phys))
        }

        /// Writes `data` at `off` through the mapping.
        fn write(&self, off: usize, data: &[u8]) -> Result {
            UserSlice::new(UserPtr::from_addr(self.addr + off), data.len())
                .writer()
                .write_slice(data)
                .inspect_err(|e| pr_info!("nvmock_dax: write at {:#x}: {:?}\n", off, e))
        }
    }

    impl Drop for UserMap {
        fn drop(&mut self) {
            // SAFETY: by the type invariant, this is our mapping.
            unsafe { nvmock_nfit_dax_munmap(self.addr as c_ulong, self.len as c_ulong) };
        }
    }

    #[test]
    fn devdax_maps_the_bus_memory_page_by_page() -> Result {
        let mut planted = None;
        let bus = NfitBus::new_with(module(), &MAPS, TIME_SCALE, |_, p| {
            planted = Some(plant(p.base, p.regions, PAGE as u32)?);
            Ok(())
        })?;
        let (start, layout) = planted.ok_or(EINVAL)?;
        check!(bus.memory().is_devmem());
        let dax = bound_dax(&bus)?;
        // dax_pmem took the namespace at the info block's word: data from dataoff, every
        // page of it, page-sized faults.
        check!(dax.nr_range == 1);
        check!(dax.start == start + layout.dataoff);
        check!(dax.size == layout.npfns * PAGE);
        check!(dax.align == PAGE as u32);
        check!(layout.dataoff == 2 * MIB);

        // Reads through the mapping fault each page in and see the bus's memory.
        let map = UserMap::new(&dax, MAP_LEN)?;
        let mut buf = KVec::from_elem(0u8, MAP_LEN, GFP_KERNEL)?;
        map.read(0, &mut buf)?;
        let wrong = buf
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b != pattern(i))
            .count();
        check!(wrong == 0);
        // Page-sized faults: a page table below the PMD, not a huge leaf.
        check!(map.leaf(0)?.0 == PAGE);
        // A store through the mapping lands in the bus's memory, at its page.
        let at = 3 * PAGE as usize + 100;
        map.write(at, &[0xc3; 64])?;
        map.read(at - 1, &mut buf[..66])?;
        check!(buf[0] == pattern(at - 1) && buf[65] == pattern(at + 64));
        let region = bus.regions().first().ok_or(EINVAL)?;
        let data = usize::try_from(layout.dataoff)? + at;
        drop(map);
        // SAFETY: the mapping is gone and the bus still registers its memory.
        let mem = unsafe { region.bytes() };
        check!(mem[data..data + 64].iter().all(|&b| b == 0xc3));
        check!(mem[data - 1] == pattern(at - 1));

        bus.remove();
        check!(bus.released()?);
        Ok(())
    }

    #[test]
    fn removal_revokes_a_live_mapping() -> Result {
        let bus = NfitBus::new_with(module(), &REVOKE, TIME_SCALE, |_, p| {
            plant(p.base, p.regions, PAGE as u32).map(|_| ())
        })?;
        let dax = bound_dax(&bus)?;
        let map = UserMap::new(&dax, MAP_LEN)?;
        let mut buf = [0u8; 16];
        map.read(0, &mut buf)?;
        check!(buf[0] == pattern(0));
        // The bus goes away under the mapping: device-dax zaps it, later faults fail, and
        // nothing holds the bus's memory (which is freed with the bus).
        bus.remove();
        check!(map.read(0, &mut buf) == Err(EFAULT));
        check!(map.read(PAGE as usize, &mut buf) == Err(EFAULT));
        check!(map.write(0, &buf) == Err(EFAULT));
        check!(bus.released()?);
        drop(map);
        Ok(())
    }

    #[test]
    fn pmd_aligned_instance_faults_at_pmd_size() -> Result {
        let align = 2 * MIB;
        let mut planted = None;
        let bus = NfitBus::new_with(module(), &PMD, TIME_SCALE, |_, p| {
            planted = Some(plant(p.base, p.regions, align as u32)?);
            Ok(())
        })?;
        let (start, layout) = planted.ok_or(EINVAL)?;
        // Reserved RAM: the instance's pages are real ZONE_DEVICE pages, contiguous.
        check!(bus.memory().is_devmem());
        let dax = bound_dax(&bus)?;
        check!(dax.align == align as u32);
        check!(dax.start == start + layout.dataoff);
        check!(dax.start % align == 0);
        let len = 2 * align as usize;
        let map = UserMap::new(&dax, len)?;
        // device-dax places the mapping at its alignment.
        check!(map.addr % align as usize == 0);

        // A read faults the first 2 MiB in whole: one PMD leaf maps the instance's first
        // 2 MiB, at the bus's memory, and the planted data reads back through it.
        let mut buf = KVec::from_elem(0u8, MAP_LEN, GFP_KERNEL)?;
        map.read(0, &mut buf)?;
        check!(buf.iter().enumerate().all(|(i, &b)| b == pattern(i)));
        check!(map.leaf(0)? == (align, dax.start));
        let last = align as usize - 8;
        check!(map.leaf(last)? == (align, dax.start + last as u64));
        // Nothing maps the second 2 MiB yet; a store there faults it in at PMD size too.
        check!(map.leaf(align as usize) == Err(ENOENT));
        let at = align as usize + 5 * PAGE as usize + 100;
        map.write(at, &[0xa5; 64])?;
        check!(map.leaf(at)? == (align, dax.start + at as u64));
        drop(map);

        // The store is in the bus's memory, at the instance's offset, and nothing else moved.
        let region = bus.regions().first().ok_or(EINVAL)?;
        let data = usize::try_from(layout.dataoff)?;
        // SAFETY: the mapping is gone and the bus still registers its memory.
        let mem = unsafe { region.bytes() };
        check!(mem[data + at..data + at + 64].iter().all(|&b| b == 0xa5));
        check!(mem[data + at - 1] == 0 && mem[data + at + 64] == 0);
        check!(mem[data..data + MAP_LEN]
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pattern(i)));
        bus.remove();
        check!(bus.released()?);
        Ok(())
    }

    #[test]
    fn pmd_aligned_instance_refuses_faults_on_page_backed_memory() -> Result {
        let align = 2 * MIB as u32;
        let bus = NfitBus::new_with(module(), &PAGE_BACKED, TIME_SCALE, |_, p| {
            plant(p.base, p.regions, align).map(|_| ())
        })?;
        check!(!bus.memory().is_devmem());
        let dax = bound_dax(&bus)?;
        check!(dax.align == align);
        check!(dax.start % u64::from(align) == 0);
        // The mapping itself is allowed; its first fault (a PMD fault, which the bus's
        // scattered pages cannot back) is SIGBUS, not a mapping of other memory.
        let map = UserMap::new(&dax, align as usize)?;
        let mut buf = [0u8; 16];
        check!(map.read(0, &mut buf) == Err(EFAULT));
        check!(map.read(align as usize - 16, &mut buf) == Err(EFAULT));
        check!(map.leaf(0) == Err(ENOENT));
        drop(map);
        bus.remove();
        check!(bus.released()?);
        Ok(())
    }

    #[test]
    fn poison_in_a_dax_range_is_reported_and_cleared() -> Result {
        let mut bad = 0;
        let bus = NfitBus::new_with(module(), &POISON, TIME_SCALE, |st, p| {
            let (_, layout) = plant(p.base, p.regions, PAGE as u32)?;
            let (start, _) = namespace(p.base)?;
            bad = start + layout.dataoff + 5 * PAGE;
            st.add_error(bad, 512)
        })?;
        let dax = bound_dax(&bus)?;
        check!(dax.start <= bad && bad < dax.start + dax.size);
        // The probe's ARS finds the error and the region records it (the NFIT driver polls
        // ARS no sooner than a second after starting it: allow 60 s).
        let mut sectors = 0;
        for _ in 0..600 {
            sectors = bus.badblocks(bad, 512)?;
            if sectors != 0 {
                break;
            }
            fsleep(Delta::from_millis(100));
        }
        check!(sectors == 1);
        check!(bus.badblocks(bad + 512, 512)? == 0);
        check!(bus.badblocks(bad - 512, 512)? == 0);
        // Poison does not unbind the instance.
        check!(bus.dax().is_some_and(|d| d.bound));
        // Clearing it goes through the bus's Clear Uncorrectable Error and empties both
        // the region's record and the bus's error list.
        let before = bus.with_state(|s| s.bus_calls()).calls[dsm::CMD_CLEAR_ERROR as usize];
        bus.clear_poison(bad, 512)?;
        let calls = bus.with_state(|s| s.bus_calls());
        check!(calls.calls[dsm::CMD_CLEAR_ERROR as usize] == before + 1);
        check!(calls.errors[dsm::CMD_CLEAR_ERROR as usize] == 0);
        check!(bus.badblocks(bad, 512)? == 0);
        check!(!bus.with_state(|s| s.has_error(bad, 512)));
        // Outside the bus's memory there is no region to ask.
        check!(bus.badblocks(dax.start + dax.size + 64 * MIB, 512) == Err(ENODEV));
        bus.remove();
        check!(bus.released()?);
        Ok(())
    }
}
