// SPDX-License-Identifier: GPL-2.0

//! The function's interrupts: MSI-X messages while the driver has MSI-X enabled, INTx
//! otherwise.
//!
//! The controller model names the vector of each completion queue that got entries
//! (`InterruptSink`). While MSI-X Enable is set in the function's capability, each vector is
//! signalled through the pure MSI-X model (`model::nvme::msix`): the message of its table
//! entry in BAR0 goes to the bridge's MSI controller ([`BusData::msi_send`]), or, while the
//! vector or the function is masked, its Pending Bit is set, and [`Interrupts::poll`] sends
//! it once the vector is unmasked. Without MSI-X (the profile offers none, or the driver did
//! not enable it), any vector asserts the INTx line, unless the driver set Interrupt Disable
//! in the Command register.

use crate::glue::nvme::pci_host::BusData;
use crate::glue::soft_irq::SoftIrq;
use crate::model::nvme::msix::{self, Control, Delivery, Layout, MessageSink, Msix};
use crate::model::nvme::{Bar, InterruptSink};
use crate::model::pcicfg::PCI_COMMAND_INTX_DISABLE;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::SpinLock;

/// Most MSI-X vectors a function offers here (the controller has 17 queue pairs).
pub(crate) const MAX_VECTORS: u16 = 64;

/// The vectors a model pass raised, one bit each (vectors are below [`MAX_VECTORS`]: a
/// completion queue's vector is checked against the controller's vector count).
#[derive(Default)]
pub(crate) struct Raised(pub(crate) u64);

impl InterruptSink for Raised {
    fn raise(&mut self, vector: u16) {
        self.0 |= 1u64.checked_shl(u32::from(vector)).unwrap_or(0);
    }
}

/// Interrupt counters, for tests and diagnostics.
pub(crate) struct IrqStats {
    /// INTx assertions.
    pub(crate) intx: AtomicU64,
    /// MSI-X messages sent, per vector.
    pub(crate) messages: [AtomicU64; MAX_VECTORS as usize],
    /// Interrupts held as a Pending Bit (the vector or the function was masked).
    pub(crate) held: AtomicU64,
    /// Pending messages sent on unmask.
    pub(crate) released: AtomicU64,
    /// Messages the bridge refused (an entry with an address or data it never composed).
    pub(crate) stray: AtomicU64,
}

impl Default for IrqStats {
    fn default() -> Self {
        IrqStats {
            intx: AtomicU64::new(0),
            messages: [const { AtomicU64::new(0) }; MAX_VECTORS as usize],
            held: AtomicU64::new(0),
            released: AtomicU64::new(0),
            stray: AtomicU64::new(0),
        }
    }
}

/// Where messages go: the bridge's MSI controller.
struct ToBridge<'a> {
    bus: &'a BusData,
    stats: &'a IrqStats,
    /// The vector whose message this is (for the per-vector count).
    vector: u16,
}

impl MessageSink for ToBridge<'_> {
    fn message(&mut self, address: u64, data: u32) {
        match self.bus.msi_send(address, data) {
            Ok(()) => {
                if let Some(c) = self.stats.messages.get(usize::from(self.vector)) {
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                self.stats.stray.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The function's interrupt sources.
///
/// # Invariants
///
/// `cap` is `Some` exactly when `model` holds `Some`: the function's configuration space has
/// the MSI-X capability at that offset, with the table and PBA of the model's layout in BAR0.
#[pin_data]
pub(crate) struct Interrupts {
    intx: SoftIrq,
    cap: Option<u8>,
    /// The pending bits and the table accesses; taken by the poller and by tests.
    #[pin]
    model: SpinLock<Option<Msix>>,
    stats: IrqStats,
}

impl Interrupts {
    /// INTx on `intx`, and MSI-X as `msix` models it when the capability is at `cap` (the
    /// table already reset in BAR0 before the driver could see the function).
    pub(crate) fn new(intx: SoftIrq, msix: Option<(u8, Msix)>) -> impl PinInit<Self> {
        let (cap, model) = match msix {
            Some((c, m)) => (Some(c), Some(m)),
            None => (None, None),
        };
        pin_init!(Interrupts {
            intx,
            cap,
            model <- kernel::new_spinlock!(model, "nvmock_msix"),
            stats: IrqStats::default(),
        })
    }

    /// The MSI-X model of a function with `layout`, its table and PBA reset in `bar`.
    pub(crate) fn reset_msix<B: Bar>(layout: Layout, bar: &B) -> Msix {
        let mut m = Msix::new(layout);
        m.reset(bar);
        m
    }

    /// After a Function Level Reset: nothing pending. (The table and PBA are back to their
    /// power-on state in BAR0 with the rest of the registers, and the capability's Message
    /// Control with the configuration space.)
    pub(crate) fn function_reset(&self) {
        let mut model = self.model.lock();
        if let Some(m) = (*model).as_mut() {
            *m = Msix::new(*m.layout());
        }
    }

    /// The MSI-X bits of the function's Message Control (both clear without the capability).
    pub(crate) fn control(&self, bus: &BusData) -> Control {
        match self.cap {
            Some(cap) => bus.with_cfg(|cs| msix::control(cs, cap)),
            None => Control::default(),
        }
    }

    /// Signals every vector in `raised`.
    pub(crate) fn raise<B: Bar>(&self, raised: &Raised, bar: &B, bus: &BusData) {
        if raised.0 == 0 {
            return;
        }
        let ctl = self.control(bus);
        if ctl.enabled {
            let mut model = self.model.lock();
            let Some(m) = (*model).as_mut() else { return };
            let mut bits = raised.0;
            while bits != 0 {
                let vector = bits.trailing_zeros() as u16;
                bits &= bits - 1;
                let mut sink = ToBridge {
                    bus,
                    stats: &self.stats,
                    vector,
                };
                match m.signal(ctl, bar, vector, &mut sink) {
                    Delivery::Pending => {
                        self.stats.held.fetch_add(1, Ordering::Relaxed);
                    }
                    Delivery::NoVector => {
                        self.stats.stray.fetch_add(1, Ordering::Relaxed);
                    }
                    Delivery::Sent | Delivery::Disabled => {}
                }
            }
            return;
        }
        if bus.command() & PCI_COMMAND_INTX_DISABLE == 0 {
            self.stats.intx.fetch_add(1, Ordering::Relaxed);
            self.intx.raise();
        }
    }

    /// Sends the pending messages of vectors the driver has unmasked since. Cheap when
    /// nothing is pending. Returns how many were sent.
    pub(crate) fn poll<B: Bar>(&self, bar: &B, bus: &BusData) -> u32 {
        let mut model = self.model.lock();
        let Some(m) = (*model).as_mut() else { return 0 };
        if !m.any_pending() {
            return 0;
        }
        let ctl = self.control(bus);
        let mut sent = 0;
        // One vector at a time, so each message is counted for its vector.
        for vector in 0..m.layout().vectors() {
            if !m.is_pending(vector) {
                continue;
            }
            let mut sink = ToBridge {
                bus,
                stats: &self.stats,
                vector,
            };
            sent += m.deliver_one(ctl, bar, vector, &mut sink);
        }
        self.stats
            .released
            .fetch_add(u64::from(sent), Ordering::Relaxed);
        sent
    }

    /// Whether `vector`'s Pending Bit is set.
    pub(crate) fn pending(&self, vector: u16) -> bool {
        self.model.lock().as_ref().is_some_and(|m| m.is_pending(vector))
    }

    /// The INTx line's Linux interrupt number.
    pub(crate) fn intx_irq(&self) -> u32 {
        self.intx.irq()
    }

    /// Counters.
    pub(crate) fn stats(&self) -> &IrqStats {
        &self.stats
    }
}
