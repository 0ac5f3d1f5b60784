// SPDX-License-Identifier: GPL-2.0

//! KUnit: an emulated controller in a hot-plug slot of a fabric's root port, driven by the
//! kernel's own `pciehp` through the port driver: the slot registered and its notifications
//! enabled; powered off and on as a write to `/sys/bus/pci/slots/<n>/power` does (the driver
//! unbinds, the function loses its state, the namespace's data stays, the driver binds
//! again); the adapter pulled out without notice and put back; the slot's reset (Secondary Bus
//! Reset under `pciehp`'s masking) with the nvme driver's reset handlers; and slots the
//! topology rules refuse.

#[kernel::macros::kunit_tests(nvmock_pci_slot)]
mod tests {
    use crate::glue::iomap::c_types::c;
    use crate::glue::nvme::dev::{FabricMember, NvmeDev, Profile};
    use crate::glue::nvme::fabric::{Fabric, PortIds, SlotEvent};
    use crate::glue::nvme::instance::Instance;
    use crate::kunit::nvme::wait_until;
    use crate::kunit::nvme_io::{open_ns, pattern};
    use crate::model::pci::slot::{SLTCTL_HPIE, SLTCTL_PCC, SLTSTA_CC, SLTSTA_PDS};
    use crate::model::pci::{Kind, Node, SlotConfig, Topology, TopologyError};
    use core::sync::atomic::Ordering;
    use kernel::alloc::KVVec;
    use kernel::prelude::*;
    use kernel::sync::Arc;

    /// The root port with the slot, and the controller's node below it.
    const PORT: usize = 1;
    const EP: usize = 2;

    /// A root port with slot `slot` and a controller in it.
    fn topology(slot: SlotConfig) -> [Node; 3] {
        [
            Node::host_bridge(0, 0),
            Node {
                slot: Some(slot),
                ..Node::at(Kind::RootPort, 0, 0)
            },
            Node::at(Kind::Endpoint, PORT, 0),
        ]
    }

    /// Builds the fabric of [`topology`] with a small controller and waits until the driver
    /// has bound it and `pciehp` has enabled the slot's notifications.
    fn build(slot: SlotConfig) -> Result<(Arc<Fabric>, NvmeDev)> {
        let profile = Profile {
            ns_mib: 4,
            io_queues: 1,
            // A fabric's functions use INTx on x86_64 (NvmeDev::new_fabric).
            msix_vectors: 0,
            ..Profile::default()
        };
        let members = [FabricMember {
            profile: &profile,
            instance: Instance::alloc()?,
            node: EP,
        }];
        let (fabric, devs) = NvmeDev::new_fabric(&topology(slot), PortIds::QEMU, &[], &members)?;
        let dev = devs.into_iter().next().ok_or(ENODEV)?;
        if !bound(&dev, 0) {
            pr_err!("nvmock_pci_slot: the driver did not bind the controller\n");
            return Err(ETIMEDOUT);
        }
        let hp_on = wait_until(|| {
            fabric
                .slot_registers(PORT)
                .is_some_and(|(ctl, _)| ctl & SLTCTL_HPIE != 0)
        });
        if !hp_on {
            pr_err!("nvmock_pci_slot: pciehp did not enable the slot's notifications (CONFIG_HOTPLUG_PCI_PCIE?)\n");
            return Err(ETIMEDOUT);
        }
        Ok((fabric, dev))
    }

    /// Waits until the driver is bound to the function and has enabled the controller more
    /// than `enables` times in all.
    fn bound(d: &NvmeDev, enables: u64) -> bool {
        wait_until(|| {
            // SAFETY: `p` holds a reference to the live device.
            d.pdev()
                .is_some_and(|p| !unsafe { (*p.as_ptr()).driver }.is_null())
        }) && wait_until(|| d.stats().enables.load(Ordering::Relaxed) > enables)
    }

    /// Writes 8 KiB of pattern `seed` at 1 MiB.
    fn write_at_1m(d: &NvmeDev, seed: u64) -> Result {
        let bdev = open_ns(d)?;
        let mut out = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        pattern(seed, &mut out);
        bdev.transfer(true, 1 << 20, &mut out, 2)
    }

    /// Whether the 8 KiB at 1 MiB hold pattern `seed`.
    fn holds(d: &NvmeDev, seed: u64) -> Result<bool> {
        let bdev = open_ns(d)?;
        let mut want = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        pattern(seed, &mut want);
        let mut back = KVVec::from_elem(0u8, 8192, GFP_KERNEL)?;
        bdev.transfer(false, 1 << 20, &mut back, 2)?;
        Ok(back == want)
    }

    /// The `hotplug_slot` `pciehp` registered for the controller's slot: what
    /// `/sys/bus/pci/slots/<n>/` stands for. It lives as long as the port's `pciehp`, that is
    /// as long as the fabric.
    fn hotplug_slot(d: &NvmeDev) -> Result<*mut c::hotplug_slot> {
        let p = d.pdev().ok_or(ENODEV)?;
        // SAFETY: `p` holds a reference to the live device; `slot` is set by
        // `pci_create_slot()` for the devices on the slot's bus.
        let slot = unsafe { (*p.as_ptr()).slot };
        if slot.is_null() {
            pr_err!("nvmock_pci_slot: the controller's pci_dev has no slot\n");
            return Err(ENODEV);
        }
        // SAFETY: `slot` is live while the port's hot-plug driver is (see above).
        let h = unsafe { (*slot).hotplug }.cast::<c::hotplug_slot>();
        if h.is_null() {
            return Err(ENODEV);
        }
        Ok(h)
    }

    /// What writing `on` to the slot's sysfs `power` does: the hot-plug driver's
    /// `enable_slot` or `disable_slot`, which return once the slot is on (the device scanned
    /// and added) or off (the device removed, the slot powered off).
    fn power(h: *mut c::hotplug_slot, on: bool) -> Result {
        // SAFETY: `h` is a registered hot-plug slot (see `hotplug_slot`); its ops are static.
        let ops = unsafe { &*(*h).ops };
        let f = if on { ops.enable_slot } else { ops.disable_slot };
        let f = f.ok_or(EOPNOTSUPP)?;
        // SAFETY: as above; process context, no locks held.
        kernel::error::to_result(unsafe { f(h) })
    }

    /// The slot is `pciehp`'s: registered under its physical number, with the slot powered
    /// and occupied, and notifications enabled; the port's interrupt reached `pciehp` (its
    /// handler cleared the Command Completed of its commands, which stays set otherwise);
    /// the endpoint's node has no slot.
    #[test]
    fn pciehp_takes_the_slot() -> Result {
        let (fabric, dev) = build(SlotConfig::hotplug(21))?;
        check!(wait_until(|| fabric
            .slot_registers(PORT)
            .is_some_and(|(_, sta)| sta & SLTSTA_CC == 0)));
        let (ctl, sta) = fabric.slot_registers(PORT).ok_or(ENODEV)?;
        check!(ctl & SLTCTL_PCC == 0);
        check!(sta & SLTSTA_PDS != 0);
        check!(fabric.link_up(PORT) == Some(true));
        check!(fabric.slot_registers(EP).is_none());
        let h = hotplug_slot(&dev)?;
        // SAFETY: `h` is registered (see `hotplug_slot`); its `pci_slot` and the kobject's
        // name live as long as it does.
        let name = unsafe { kernel::str::CStr::from_char_ptr((*(*h).pci_slot).kobj.name) };
        check!(name.to_bytes() == b"21");
        Ok(())
    }

    /// Powering the slot off removes the controller and resets the function (the power is
    /// gone); on again, the function is scanned, the driver binds it, and the data written
    /// before is there. Twice.
    #[test]
    fn power_off_and_on_through_the_slot() -> Result {
        let (fabric, dev) = build(SlotConfig::hotplug(22))?;
        write_at_1m(&dev, 2200)?;
        let h = hotplug_slot(&dev)?;
        for round in 0..2u64 {
            let resets = dev.stats().function_resets.load(Ordering::Relaxed);
            let enables = dev.stats().enables.load(Ordering::Relaxed);
            power(h, false)?;
            check!(dev.pdev().is_none());
            let (ctl, _) = fabric.slot_registers(PORT).ok_or(ENODEV)?;
            check!(ctl & SLTCTL_PCC != 0);
            check!(fabric.link_up(PORT) == Some(false));
            check!(wait_until(
                || dev.stats().function_resets.load(Ordering::Relaxed) > resets
            ));
            // Off twice is refused, as sysfs answers it.
            check!(power(h, false).is_err());

            power(h, true)?;
            check!(fabric.link_up(PORT) == Some(true));
            check!(bound(&dev, enables));
            check!(holds(&dev, 2200 + round)?);
            write_at_1m(&dev, 2201 + round)?;
        }
        Ok(())
    }

    /// The adapter pulled out without notice: `pciehp` sees the presence and link change and
    /// removes the controller; put back, it is enabled again and the data is there.
    #[test]
    fn surprise_pull_and_insert() -> Result {
        let (fabric, dev) = build(SlotConfig {
            surprise: true,
            ..SlotConfig::hotplug(23)
        })?;
        write_at_1m(&dev, 2300)?;
        let enables = dev.stats().enables.load(Ordering::Relaxed);
        fabric.slot_event(PORT, SlotEvent::Pull)?;
        check!(fabric.link_up(PORT) == Some(false));
        check!(wait_until(|| dev.pdev().is_none()));
        let (_, sta) = fabric.slot_registers(PORT).ok_or(ENODEV)?;
        check!(sta & SLTSTA_PDS == 0);
        // pciehp turns the empty slot's power off once the device is gone.
        check!(wait_until(|| fabric
            .slot_registers(PORT)
            .is_some_and(|(ctl, _)| ctl & SLTCTL_PCC != 0)));

        fabric.slot_event(PORT, SlotEvent::Insert)?;
        check!(bound(&dev, enables));
        check!(holds(&dev, 2300)?);
        // No button on this slot; events for a node without a slot are refused.
        check!(fabric.slot_event(PORT, SlotEvent::Button) == Err(EINVAL));
        check!(fabric.slot_event(EP, SlotEvent::Pull) == Err(EINVAL));
        Ok(())
    }

    /// A reset of the slot (`pci_reset_bus()` on the controller: the hot-plug driver masks
    /// its presence and link events and pulses the port's Secondary Bus Reset) resets the
    /// function, the driver's reset handlers bring it back, and the controller stays bound,
    /// with its data.
    #[test]
    fn slot_reset_resets_the_function_and_the_driver_recovers() -> Result {
        let (fabric, dev) = build(SlotConfig::hotplug(24))?;
        write_at_1m(&dev, 2400)?;
        // The reset goes through the hot-plug slot (pciehp's reset_slot, which masks the
        // link event the hot reset causes).
        let _ = hotplug_slot(&dev)?;
        let resets = dev.stats().function_resets.load(Ordering::Relaxed);
        let enables = dev.stats().enables.load(Ordering::Relaxed);
        let p = dev.pdev().ok_or(ENODEV)?;
        // SAFETY: `p` holds a reference to the live device; process context.
        kernel::error::to_result(unsafe { kernel::bindings::pci_reset_bus(p.as_ptr()) })?;
        check!(dev.stats().function_resets.load(Ordering::Relaxed) > resets);
        // The same pci_dev: the device was reset, not removed.
        check!(dev.pdev().is_some_and(|q| q.as_ptr() == p.as_ptr()));
        drop(p);
        check!(bound(&dev, enables));
        check!(holds(&dev, 2400)?);
        // The slot stayed on: its link is up and pciehp saw no removal.
        check!(fabric.link_up(PORT) == Some(true));
        check!(fabric
            .slot_registers(PORT)
            .is_some_and(|(ctl, _)| ctl & SLTCTL_PCC == 0));
        Ok(())
    }

    /// Slots the rules refuse: on a switch upstream port, on an endpoint, a switch in a
    /// slot, a physical slot number of 0.
    #[test]
    fn refused_slots() -> Result {
        let profile = Profile {
            ns_mib: 4,
            msix_vectors: 0,
            ..Profile::default()
        };
        let try_build = |nodes: &[Node], ep: usize| -> Result<bool> {
            let m = [FabricMember {
                profile: &profile,
                instance: Instance::alloc()?,
                node: ep,
            }];
            Ok(matches!(
                NvmeDev::new_fabric(nodes, PortIds::QEMU, &[], &m),
                Err(e) if e == EINVAL
            ))
        };
        let slot = Some(SlotConfig::hotplug(25));
        let switch = |at: usize| -> [Node; 5] {
            let mut n = [
                Node::host_bridge(0, 0),
                Node::at(Kind::RootPort, 0, 0),
                Node::at(Kind::SwitchUpstream, 1, 0),
                Node::at(Kind::SwitchDownstream, 2, 0),
                Node::at(Kind::Endpoint, 3, 0),
            ];
            n[at].slot = slot;
            n
        };
        // Each refused for its own reason, and by the fabric.
        let mut zero = topology(SlotConfig::hotplug(1));
        zero[PORT].slot = Some(SlotConfig::hotplug(0));
        let cases: [(&[Node], usize, TopologyError); 4] = [
            (&switch(1), 4, TopologyError::SwitchInSlot(1)),
            (&switch(2), 4, TopologyError::SlotNotOnPort(2)),
            (&switch(4), 4, TopologyError::SlotNotOnPort(4)),
            (&zero, EP, TopologyError::Slot(PORT)),
        ];
        for (nodes, ep, why) in cases {
            check!(Topology::new(nodes).err() == Some(why));
            check!(try_build(nodes, ep)?);
        }
        // The slot on the downstream port is accepted.
        let ok = switch(3);
        let m = [FabricMember {
            profile: &profile,
            instance: Instance::alloc()?,
            node: 4,
        }];
        let (_fabric, devs) = NvmeDev::new_fabric(&ok, PortIds::QEMU, &[], &m)?;
        // Bound before it goes (as in `build`).
        check!(devs.iter().all(|d| bound(d, 0)));
        Ok(())
    }
}
