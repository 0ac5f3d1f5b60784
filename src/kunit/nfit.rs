// SPDX-License-Identifier: GPL-2.0

//! KUnit: emulated NVDIMM buses under the relinked ACPI NFIT driver and libnvdimm.

#[kernel::macros::kunit_tests(nvmock_nfit)]
mod tests {
    use crate::model::nfit::{dsm, label_index, preset as topo};
    use crate::glue::nfit::bus::{BusDesc, AUTO_DIMMS, AUTO_ID, NfitBus};
    use kernel::prelude::*;
    use kernel::time::{delay::fsleep, Delta};

    /// nfit_test.1's flat topology (one 32 MiB PMEM DIMM, a virtual CD, an unmapped DIMM)
    /// named `name`, with labels on its DIMMs and ARS on the bus; its bus and DIMM numbers
    /// are the next free ones the glue hands out.
    macro_rules! flat_bus {
        ($name:literal) => {
            BusDesc {
                id: AUTO_ID,
                name: $name,
                span: topo::NFIT_TEST1_SPAN,
                topology: topo::NFIT_TEST1,
                hotplug: None,
                dimm_base: AUTO_DIMMS,
                package_calls: false,
                bus_cmds: (1 << dsm::CMD_ARS_CAP)
                    | (1 << dsm::CMD_ARS_START)
                    | (1 << dsm::CMD_ARS_STATUS)
                    | (1 << dsm::CMD_CLEAR_ERROR),
                bus_dsm: 0,
                bus_intel: 0,
                dimm_cmds: (1 << dsm::CMD_GET_CONFIG_SIZE)
                    | (1 << dsm::CMD_GET_CONFIG_DATA)
                    | (1 << dsm::CMD_SET_CONFIG_DATA),
                page_backed: false,
            }
        };
    }

    /// Virtual nanoseconds per real one for the buses' long operations: nfit_test's
    /// default, a one-second scrub in a millisecond.
    const TIME_SCALE: u32 = 1000;

    static PROBE: BusDesc = flat_bus!(c"nvmock_nfit.probe");
    static LABEL_FAIL: BusDesc = flat_bus!(c"nvmock_nfit.label_fail");
    static ARS_OVERFLOW: BusDesc = flat_bus!(c"nvmock_nfit.ars_overflow");
    static UNWIND: BusDesc = flat_bus!(c"nvmock_nfit.unwind");
    static LABEL_INDEX: BusDesc = flat_bus!(c"nvmock_nfit.label_index");

    fn module() -> &'static ThisModule {
        kernel::module::this_module::<crate::LocalModule>()
    }

    #[test]
    fn probe_reads_labels_maps_pmem_and_lets_go() -> Result {
        let bus = NfitBus::new(module(), &PROBE, TIME_SCALE)?;
        let calls = bus.with_state(|s| s.dimm_calls(0)).ok_or(EINVAL)?;
        // libnvdimm sized and read the label area of the PMEM DIMM, without errors.
        check!(calls.calls[dsm::CMD_GET_CONFIG_SIZE as usize] >= 1);
        check!(calls.calls[dsm::CMD_GET_CONFIG_DATA as usize] >= 1);
        check!(calls.errors.iter().all(|&e| e == 0));
        // The pmem driver maps the persistent range for its namespace; libnvdimm probes
        // namespaces asynchronously, so wait for it (at most 30 s).
        let mut mapped = false;
        for _ in 0..3000 {
            mapped = bus.mapped_ranges()? >= 1;
            if mapped {
                break;
            }
            fsleep(Delta::from_millis(10));
        }
        check!(mapped);
        // Removal unbinds everything: no mapping or region of the bus's memory is left.
        bus.remove();
        check!(bus.released()?);
        Ok(())
    }

    #[test]
    fn failing_label_reads_are_seen_and_unwound() -> Result {
        // Every Get Config Size of the PMEM DIMM fails with -ENXIO.
        let bus = NfitBus::new_with(module(), &LABEL_FAIL, TIME_SCALE, |st, _| {
            st.fail(0, 1 << dsm::CMD_GET_CONFIG_SIZE, ENXIO.to_errno())
        })?;
        let calls = bus.with_state(|s| s.dimm_calls(0)).ok_or(EINVAL)?;
        check!(calls.errors[dsm::CMD_GET_CONFIG_SIZE as usize] >= 1);
        // Without a label size nothing reads label data.
        check!(calls.calls[dsm::CMD_GET_CONFIG_DATA as usize] == 0);
        // The other DIMM was not affected.
        let other = bus.with_state(|s| s.dimm_calls(1)).ok_or(EINVAL)?;
        check!(other.errors.iter().all(|&e| e == 0));
        bus.remove();
        check!(bus.released()?);
        Ok(())
    }

    #[test]
    fn ars_overflow_is_continued_until_every_error_is_reported() -> Result {
        // Five media errors in the PMEM range, two records per ARS Status: the driver
        // must restart the scrub at the restart range twice to learn them all.
        let spa = topo::NFIT_TEST1
            .spas
            .iter()
            .find(|s| s.range_type == crate::model::nfit::Guid::PERSISTENT)
            .ok_or(EINVAL)?
            .address;
        let mut fifth = 0;
        let bus = NfitBus::new_with(module(), &ARS_OVERFLOW, TIME_SCALE, |st, p| {
            st.set_max_ars_records(2)?;
            for k in 0..5u64 {
                fifth = p.base + spa + k * 0x1000;
                st.add_error(fifth, 0x200)?;
            }
            Ok(())
        })?;
        // The NFIT driver polls ARS no sooner than a second after starting it: allow 60 s.
        let mut settled = false;
        for _ in 0..600 {
            settled = bus.with_state(|s| {
                s.ars_settled() && s.bus_calls().overflows[dsm::CMD_ARS_STATUS as usize] >= 2
            });
            if settled {
                break;
            }
            fsleep(Delta::from_millis(100));
        }
        let calls = bus.with_state(|s| s.bus_calls());
        check!(settled);
        check!(calls.calls[dsm::CMD_ARS_START as usize] >= 3);
        check!(calls.errors[dsm::CMD_ARS_START as usize] == 0);
        check!(calls.errors[dsm::CMD_ARS_STATUS as usize] == 0);
        // The last scrub began where the second overflow said: at the fifth error.
        check!(bus.with_state(|s| s.last_scrub()).0 == fifth);
        bus.remove();
        check!(bus.released()?);
        Ok(())
    }

    #[test]
    fn each_failing_mapping_or_request_is_unwound() -> Result {
        // Probe the bus again and again, failing the first, second, ... map or region
        // request that reaches its memory, until a probe meets no failure. Each time the
        // drivers must give up what they took before the failure (devm unwinding in
        // nd_pmem, libnvdimm's region and namespace setup) and the bus must go away clean.
        let mut failed_runs = 0;
        for n in 1..=32u32 {
            let bus = match NfitBus::new_with(module(), &UNWIND, TIME_SCALE, |_, p| {
                p.mem.fail_nth(n);
                Ok(())
            }) {
                Ok(bus) => bus,
                // The failure made the bus's own probe fail (the glue's ENXIO) and the bus
                // was taken down again; its memory went with it (an owner dropped while
                // its memory is in use says so, and scripts/boot fails the run on it).
                Err(e) if e == ENXIO => {
                    failed_runs += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            // libnvdimm registers and probes regions and namespaces asynchronously.
            bus.settle();
            let (hits, failed) = bus.memory().injected();
            let mapped = bus.mapped_ranges()?;
            bus.remove();
            check!(bus.released()?);
            if failed == 0 {
                pr_info!(
                    "nvmock_nfit: {} probes unwound, one per map or request of the bus's memory\n",
                    failed_runs
                );
                // Past the last call: the probe the failures were cut from, complete.
                check!(hits == n - 1);
                check!(mapped >= 1);
                check!(failed_runs >= 2);
                return Ok(());
            }
            check!(failed == 1);
            failed_runs += 1;
        }
        pr_err!("nvmock_nfit: more than 31 maps and requests in one probe\n");
        Err(E2BIG)
    }

    #[test]
    fn damaged_label_index_falls_back_to_the_other_copy() -> Result {
        // The PMEM DIMM's label area starts with two valid index blocks, sequence 1 and 2;
        // then the newer one is damaged; then both are. libnvdimm must take the newer
        // valid copy, then the older one, then none, and never write labels on its own.
        let l = label_index::layout(topo::LABEL_SIZE as u32, 256).ok_or(EINVAL)?;
        let cases: [(&[usize], Option<usize>); 3] =
            [(&[], Some(1)), (&[1], Some(0)), (&[1, 0], None)];
        for (damaged, want) in cases {
            let bus = NfitBus::new_with(module(), &LABEL_INDEX, TIME_SCALE, |st, _| {
                let area = st.label_mut(0).ok_or(EINVAL)?;
                label_index::write(area, &l, 0, 1).ok_or(EINVAL)?;
                label_index::write(area, &l, 1, 2).ok_or(EINVAL)?;
                for &which in damaged {
                    // One bit of the free-slot bitmap: only the checksum notices.
                    area[which * l.index_size + label_index::HDR + 3] ^= 0x10;
                }
                // The model agrees with what the kernel is expected to pick.
                if label_index::current(area, &l) != want {
                    return Err(EINVAL);
                }
                Ok(())
            })?;
            bus.settle();
            let (current, size) = bus.label_index(0)?;
            check!(current == want);
            if want.is_some() {
                check!(size == 256);
            }
            let calls = bus.with_state(|s| s.dimm_calls(0)).ok_or(EINVAL)?;
            check!(calls.calls[dsm::CMD_GET_CONFIG_DATA as usize] >= 1);
            check!(calls.calls[dsm::CMD_SET_CONFIG_DATA as usize] == 0);
            bus.remove();
            check!(bus.released()?);
        }
        Ok(())
    }
}
