// SPDX-License-Identifier: GPL-2.0

//! The controller's own memory on x86_64: a Controller Memory Buffer in BAR 2 and a
//! Persistent Memory Region in BAR 4 (`model::nvme::cmb`, `model::nvme::pmr`), backed by the
//! devmem reservation (reserved guest RAM, `mock/nvmock_iomap.c`).
//!
//! - Memory: both BARs sit in a span of the devmem reservation that the virtual host bridge
//!   offers as a 64-bit prefetchable window ([`crate::glue::nvme::pci_host::PciHost::new`]),
//!   so the PCI core assigns them there. The BARs are real RAM: the driver's
//!   `pci_p2pdma_add_resource()` (built in, not relinked) gives the CMB real ZONE_DEVICE pages
//!   (`MEMORY_DEVICE_PCI_P2PDMA`) and a direct mapping, and its bus address is its physical
//!   address (the bridge's windows have no offset). The controller reaches the same bytes
//!   through the owner's uncached mapping of each BAR ([`HostMemory::cmb`] and
//!   [`HostMemory::pmr`] of the engine's DMA view), the type the P2PDMA page map uses too.
//! - Registers: BAR0 is a buffer the driver writes with plain stores ([`Shadow`]'s
//!   module documentation); [`DevMemRegs`] does for the CMB and PMR registers what
//!   [`Shadow`] does for the others: it pulls CMBMSC, PMRCTL and PMRMSC when the driver
//!   changed them and publishes the read-only ones.
//!
//! # What the buffer cannot show
//!
//! CMBLOC and CMBSZ read as zero until the host sets CMBMSC.CRE, and Linux reads them right
//! after writing CRE, sooner than a poller sees the write. The buffer therefore always holds
//! the values they take with CRE set; the model's own registers stay exact (a host that reads
//! them before writing CRE, unlike Linux, would see the sizes early). Likewise host accesses
//! through the PMR's BAR reach the memory whether or not the PMR is ready (PMRSTS.NRDY and the
//! health are reported, not enforced on loads and stores, which nothing traps).
//!
//! [`Shadow`]: crate::model::nvme::Shadow
//! [`HostMemory::cmb`]: crate::model::nvme::HostMemory::cmb
//! [`HostMemory::pmr`]: crate::model::nvme::HostMemory::pmr

use crate::model::nvme::cmb::{CMBLOC, CMBMSC, CMBMSC_CRE, CMBSTS, CMBSZ};
use crate::model::nvme::pmr::{PMRCAP, PMRCTL, PMREBS, PMRMSCL, PMRMSCU, PMRSTS, PMRSWTP};
use crate::model::nvme::{Bar, Controller};

/// The host-writable CMB and PMR registers, in the order they are applied: CMBMSC's high
/// dword before its low one (Linux's `hi_lo_writeq()`, so the low dword's CMSE sees the whole
/// CBA), PMRMSC before PMRCTL.
const WRITABLE: [u64; 5] = [CMBMSC + 4, CMBMSC, PMRMSCU, PMRMSCL, PMRCTL];

/// The read-only PMR registers the buffer shows.
const PMR_READ_ONLY: [u64; 4] = [PMRCAP, PMRSTS, PMREBS, PMRSWTP];

/// The last values of [`WRITABLE`] seen in a BAR0 buffer.
///
/// # Invariants
///
/// `seen[i]` is the value of `WRITABLE[i]` as last read from the buffer (zero for a fresh
/// buffer, which [`crate::model::nvme::Shadow::reset`] zeroes).
#[derive(Default)]
pub(crate) struct DevMemRegs {
    seen: [u32; WRITABLE.len()],
}

impl DevMemRegs {
    /// Feeds the CMB and PMR registers the driver changed since the last call to `ctrl`;
    /// returns how many changed. Call after [`crate::model::nvme::Shadow::pull`]: a driver
    /// writes them before it rings the doorbell of a command that relies on them, and reads
    /// in that order cannot see the doorbell without them.
    pub(crate) fn pull<B: Bar, const Q: usize>(
        &mut self,
        bar: &B,
        ctrl: &mut Controller<Q>,
    ) -> u32 {
        if ctrl.cmb().is_none() && ctrl.pmr().is_none() {
            return 0;
        }
        let mut changed = 0;
        for (last, off) in self.seen.iter_mut().zip(WRITABLE) {
            let v = bar.read32(off);
            if v != *last {
                *last = v;
                // Aligned 4-byte writes below the doorbells are always accepted.
                let _ = ctrl.mmio_write(off, 4, u64::from(v));
                changed += 1;
            }
        }
        changed
    }

    /// Publishes CMBLOC, CMBSZ (as with CMBMSC.CRE set: see the module documentation),
    /// CMBSTS and the read-only PMR registers.
    pub(crate) fn push<B: Bar, const Q: usize>(&self, bar: &B, ctrl: &Controller<Q>) {
        if let Some(c) = ctrl.cmb() {
            let mut on = *c;
            on.write_msc(c.cmbmsc() | CMBMSC_CRE);
            bar.write32(CMBLOC, on.cmbloc());
            bar.write32(CMBSZ, on.cmbsz());
            bar.write32(CMBSTS, c.cmbsts());
        }
        if ctrl.pmr().is_some() {
            for off in PMR_READ_ONLY {
                // Aligned 4-byte reads of registers always succeed.
                bar.write32(off, ctrl.mmio_read(off, 4).unwrap_or(0) as u32);
            }
        }
    }
}
