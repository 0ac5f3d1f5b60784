// SPDX-License-Identifier: GPL-2.0

//! A software interrupt line: an emulated device's INTx.
//!
//! The line is an interrupt descriptor with no hardware behind it (the dummy chip, the simple
//! flow handler). The device raises it from its worker thread with
//! `generic_handle_irq_safe()`, which runs the handlers a driver requested with interrupts
//! disabled, as a real interrupt would.

use kernel::bindings;
use kernel::prelude::*;

/// A Linux interrupt number this owns.
///
/// # Invariants
///
/// `irq` was allocated by `__irq_alloc_descs` with the dummy chip and the simple handler, and
/// is freed in `drop`.
pub(crate) struct SoftIrq {
    irq: u32,
}

impl SoftIrq {
    /// Allocates a line that drivers may request. The line has no owning module: the device
    /// that raises it is removed (and its driver's handler freed) before it is freed.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: any number from 1, any node, no owner, no affinity.
        let irq = unsafe {
            bindings::__irq_alloc_descs(
                -1,
                1,
                1,
                bindings::NUMA_NO_NODE,
                core::ptr::null_mut(),
                core::ptr::null(),
            )
        };
        if irq < 0 {
            return Err(Error::from_errno(irq));
        }
        let irq = irq as u32;
        // SAFETY: `irq` is ours; the dummy chip and the simple handler are static.
        unsafe {
            bindings::irq_set_chip_and_handler_name(
                irq,
                &raw const bindings::dummy_irq_chip,
                Some(bindings::handle_simple_irq),
                core::ptr::null(),
            );
            bindings::irq_modify_status(
                irq,
                bindings::IRQ_NOREQUEST as _,
                bindings::IRQ_NOPROBE as _,
            );
        }
        // INVARIANT: allocated and set up above.
        Ok(SoftIrq { irq })
    }

    /// The interrupt number.
    pub(crate) fn irq(&self) -> u32 {
        self.irq
    }

    /// Runs the handlers of the line, as if the device had asserted it.
    pub(crate) fn raise(&self) {
        // SAFETY: `irq` is a live descriptor (type invariant); callable from any context.
        unsafe { bindings::generic_handle_irq_safe(self.irq) };
    }
}

impl Drop for SoftIrq {
    fn drop(&mut self) {
        // SAFETY: allocated in `new`; its users (the PCI device's driver) are gone.
        unsafe { bindings::irq_free_descs(self.irq, 1) };
    }
}
