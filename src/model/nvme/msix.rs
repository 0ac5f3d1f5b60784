// SPDX-License-Identifier: GPL-2.0

//! MSI-X: the capability in configuration space, the table and the Pending Bit Array in a
//! memory BAR, and the function's side of message delivery.
//!
//! What the PCI Local Bus specification 3.0 (section 6.8.2) and the PCI Express Base
//! specification (section 7.7.2, "MSI-X Capability and Table Structure") define, as far as a
//! function that sends messages needs it:
//!
//! - the capability (ID 11h) holds Message Control (Table Size - 1 in bits 10:0, read-only;
//!   Function Mask, bit 14, and MSI-X Enable, bit 15, read-write), then the Table Offset/BIR
//!   and PBA Offset/BIR dwords (read-only): a BAR Indicator in bits 2:0 and a QWORD-aligned
//!   offset into that BAR;
//! - each table entry is 16 bytes: Message Address (low dword, bits 1:0 zero; high dword),
//!   Message Data, Vector Control (bit 0 the Mask Bit, set after reset);
//! - the PBA has one bit per entry in QWORDs, read-only to software;
//! - while a vector is masked (its Mask Bit, or Function Mask) the function may not send its
//!   message: it sets the vector's Pending Bit instead, and sends the message (clearing the
//!   bit) once the vector is unmasked;
//! - while MSI-X Enable is clear the function sends no MSI-X message (and uses INTx).
//!
//! Linux (drivers/pci/msi/msi.c) sets MSI-X Enable together with Function Mask, maps the
//! table through the BIR, writes every entry's address and data with the Mask Bit set,
//! unmasks the entries it uses, and then clears Function Mask.
//!
//! The table and PBA live in BAR memory the host writes with plain stores: [`Msix`] reads an
//! entry when it has a message to send (as hardware does) and keeps the pending bits itself,
//! mirroring them into the PBA. The enable and mask bits come from configuration space
//! ([`control`]). Unmasking is noticed by polling: [`Msix::deliver_pending`] sends every
//! pending vector that is no longer masked.
//!
//! The model is generic PCI; the NVMe function uses it with the table and PBA in BAR0 after
//! the doorbells, where real controllers keep them.

use super::super::pcicfg::{CfgError, ConfigSpace};
use super::shadow::Bar;

/// PCI capability ID: MSI-X.
pub const CAP_ID_MSIX: u8 = 0x11;
/// Message Control, from the capability start (16 bits).
pub const MSIX_FLAGS: u16 = 2;
/// Table Offset/Table BIR, from the capability start (32 bits).
pub const MSIX_TABLE: u16 = 4;
/// PBA Offset/PBA BIR, from the capability start (32 bits).
pub const MSIX_PBA: u16 = 8;
/// Message Control: Table Size - 1.
pub const FLAGS_QSIZE: u16 = 0x07ff;
/// Message Control: Function Mask.
pub const FLAGS_MASKALL: u16 = 0x4000;
/// Message Control: MSI-X Enable.
pub const FLAGS_ENABLE: u16 = 0x8000;
/// Table/PBA dword: the BAR Indicator Register bits.
pub const BIR_MASK: u32 = 0x7;
/// Bytes per table entry.
pub const ENTRY_SIZE: u64 = 16;
/// Entry: Message Address, low dword.
pub const ENTRY_LOWER_ADDR: u64 = 0;
/// Entry: Message Address, high dword.
pub const ENTRY_UPPER_ADDR: u64 = 4;
/// Entry: Message Data.
pub const ENTRY_DATA: u64 = 8;
/// Entry: Vector Control.
pub const ENTRY_VECTOR_CTRL: u64 = 12;
/// Vector Control: Mask Bit.
pub const VECTOR_CTRL_MASKBIT: u32 = 1;
/// Most table entries (Table Size is 11 bits).
pub const MAX_VECTORS: u16 = 2048;
/// Bytes of the capability after its ID and next pointer.
const BODY: usize = 10;

/// Why a layout was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsixError {
    /// The table size is 0 or above [`MAX_VECTORS`].
    BadSize,
    /// The BAR indicator is not 0 to 5.
    BadBir,
    /// An offset is not QWORD aligned.
    Misaligned,
    /// The table or the PBA does not fit in the BAR.
    Outside,
    /// The table and the PBA overlap.
    Overlap,
}

/// Where the table and PBA are, and how many vectors there are.
///
/// # Invariants
///
/// `1 <= vectors <= MAX_VECTORS`, `bir <= 5`, both offsets QWORD aligned, the table and the
/// PBA within a BAR of `bar_size` bytes and disjoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    vectors: u16,
    bir: u8,
    table: u32,
    pba: u32,
}

impl Layout {
    /// A table of `vectors` entries at `table` and its PBA at `pba`, both in BAR `bir` of
    /// `bar_size` bytes.
    pub fn new(
        vectors: u16,
        bir: u8,
        table: u32,
        pba: u32,
        bar_size: u64,
    ) -> Result<Self, MsixError> {
        if vectors == 0 || vectors > MAX_VECTORS {
            return Err(MsixError::BadSize);
        }
        if bir > 5 {
            return Err(MsixError::BadBir);
        }
        if !table.is_multiple_of(8) || !pba.is_multiple_of(8) {
            return Err(MsixError::Misaligned);
        }
        let t = (
            u64::from(table),
            u64::from(table) + u64::from(vectors) * ENTRY_SIZE,
        );
        let p = (u64::from(pba), u64::from(pba) + pba_bytes(vectors));
        if t.1 > bar_size || p.1 > bar_size {
            return Err(MsixError::Outside);
        }
        if t.0 < p.1 && p.0 < t.1 {
            return Err(MsixError::Overlap);
        }
        // INVARIANT: checked above.
        Ok(Layout {
            vectors,
            bir,
            table,
            pba,
        })
    }

    /// The number of table entries.
    pub fn vectors(&self) -> u16 {
        self.vectors
    }

    /// The BAR holding the table and the PBA.
    pub fn bir(&self) -> u8 {
        self.bir
    }

    /// Offset of the table in the BAR.
    pub fn table(&self) -> u32 {
        self.table
    }

    /// Offset of the PBA in the BAR.
    pub fn pba(&self) -> u32 {
        self.pba
    }

    /// Offset in the BAR of entry `vector`'s field at `field` (an `ENTRY_*` constant).
    pub fn entry_offset(&self, vector: u16, field: u64) -> u64 {
        u64::from(self.table) + u64::from(vector) * ENTRY_SIZE + field
    }

    /// Offset in the BAR of the PBA dword holding `vector`'s bit.
    pub fn pba_dword(&self, vector: u16) -> u64 {
        u64::from(self.pba) + u64::from(vector / 32) * 4
    }

    /// Appends the MSI-X capability to `cs` and returns its offset. Function Mask and MSI-X
    /// Enable start clear and are the only writable bits.
    pub fn add_capability(&self, cs: &mut ConfigSpace) -> Result<u8, CfgError> {
        let mut body = [0u8; BODY];
        let mut w = [0u8; BODY];
        let at = |off: u16| usize::from(off) - 2;
        let flags = (self.vectors - 1) & FLAGS_QSIZE;
        body[at(MSIX_FLAGS)..at(MSIX_FLAGS) + 2].copy_from_slice(&flags.to_le_bytes());
        w[at(MSIX_FLAGS)..at(MSIX_FLAGS) + 2]
            .copy_from_slice(&(FLAGS_MASKALL | FLAGS_ENABLE).to_le_bytes());
        let bir = u32::from(self.bir);
        body[at(MSIX_TABLE)..at(MSIX_TABLE) + 4].copy_from_slice(&(self.table | bir).to_le_bytes());
        body[at(MSIX_PBA)..at(MSIX_PBA) + 4].copy_from_slice(&(self.pba | bir).to_le_bytes());
        cs.add_capability(CAP_ID_MSIX, &body, &w)
    }
}

/// Bytes of the PBA of `vectors` entries: whole QWORDs.
pub fn pba_bytes(vectors: u16) -> u64 {
    u64::from(vectors).div_ceil(64) * 8
}

/// The MSI-X bits of Message Control.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Control {
    /// MSI-X Enable.
    pub enabled: bool,
    /// Function Mask: every vector is masked.
    pub function_mask: bool,
}

/// The MSI-X bits of the capability at `cap` in `cs` (both clear if `cap` is not readable).
pub fn control(cs: &ConfigSpace, cap: u8) -> Control {
    let flags = cs.read(u16::from(cap) + MSIX_FLAGS, 2).unwrap_or(0) as u16;
    Control {
        enabled: flags & FLAGS_ENABLE != 0,
        function_mask: flags & FLAGS_MASKALL != 0,
    }
}

/// One table entry as the host programmed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Message Address (bits 1:0 forced to zero).
    pub address: u64,
    /// Message Data.
    pub data: u32,
    /// The entry's Mask Bit.
    pub masked: bool,
}

/// Where the function's messages go: a memory write of `data` to `address`.
pub trait MessageSink {
    /// Writes the message.
    fn message(&mut self, address: u64, data: u32);
}

/// What [`Msix::signal`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The message was sent.
    Sent,
    /// The vector is masked: its Pending Bit is set.
    Pending,
    /// MSI-X is not enabled: nothing was sent or recorded (the function uses INTx).
    Disabled,
    /// No such table entry: nothing was sent or recorded.
    NoVector,
}

/// Words of the pending bitmap: one bit per possible vector.
const PENDING_WORDS: usize = MAX_VECTORS as usize / 64;

/// The function's MSI-X state: the layout and the pending bits.
///
/// # Invariants
///
/// Only bits below `layout.vectors()` are set in `pending`; `any` is true when a bit is set.
#[derive(Clone, Debug)]
pub struct Msix {
    layout: Layout,
    pending: [u64; PENDING_WORDS],
    any: bool,
}

impl Msix {
    /// A function with `layout`, nothing pending.
    pub fn new(layout: Layout) -> Self {
        Msix {
            layout,
            pending: [0; PENDING_WORDS],
            any: false,
        }
    }

    /// The layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The table and PBA after a function reset: every entry masked with a zero address and
    /// data, nothing pending.
    pub fn reset<B: Bar>(&mut self, bar: &B) {
        for v in 0..self.layout.vectors {
            bar.write32(self.layout.entry_offset(v, ENTRY_LOWER_ADDR), 0);
            bar.write32(self.layout.entry_offset(v, ENTRY_UPPER_ADDR), 0);
            bar.write32(self.layout.entry_offset(v, ENTRY_DATA), 0);
            bar.write32(
                self.layout.entry_offset(v, ENTRY_VECTOR_CTRL),
                VECTOR_CTRL_MASKBIT,
            );
        }
        self.pending = [0; PENDING_WORDS];
        self.any = false;
        let mut off = 0;
        while off < pba_bytes(self.layout.vectors) {
            bar.write32(u64::from(self.layout.pba) + off, 0);
            off += 4;
        }
    }

    /// Entry `vector` of the table in `bar`, or `None` beyond the table.
    pub fn entry<B: Bar>(&self, bar: &B, vector: u16) -> Option<Entry> {
        if vector >= self.layout.vectors {
            return None;
        }
        let rd = |f| bar.read32(self.layout.entry_offset(vector, f));
        Some(Entry {
            address: u64::from(rd(ENTRY_UPPER_ADDR)) << 32 | u64::from(rd(ENTRY_LOWER_ADDR) & !3),
            data: rd(ENTRY_DATA),
            masked: rd(ENTRY_VECTOR_CTRL) & VECTOR_CTRL_MASKBIT != 0,
        })
    }

    /// Whether `vector`'s Pending Bit is set.
    pub fn is_pending(&self, vector: u16) -> bool {
        let (w, b) = (usize::from(vector / 64), vector % 64);
        self.pending.get(w).is_some_and(|x| x & 1 << b != 0)
    }

    /// Whether any Pending Bit is set.
    pub fn any_pending(&self) -> bool {
        self.any
    }

    /// Sets or clears `vector`'s Pending Bit (an existing entry) and mirrors it into the PBA.
    fn set_pending<B: Bar>(&mut self, bar: &B, vector: u16, on: bool) {
        let (w, b) = (usize::from(vector / 64), vector % 64);
        if let Some(x) = self.pending.get_mut(w) {
            if on {
                *x |= 1 << b;
            } else {
                *x &= !(1 << b);
            }
            let shift = if vector % 64 >= 32 { 32 } else { 0 };
            bar.write32(self.layout.pba_dword(vector), (*x >> shift) as u32);
        }
        self.any = self.pending.iter().any(|&x| x != 0);
    }

    /// The function has an interrupt for `vector`: sends its message, or sets its Pending
    /// Bit while it is masked.
    pub fn signal<B: Bar, S: MessageSink>(
        &mut self,
        ctl: Control,
        bar: &B,
        vector: u16,
        sink: &mut S,
    ) -> Delivery {
        if !ctl.enabled {
            return Delivery::Disabled;
        }
        let Some(e) = self.entry(bar, vector) else {
            return Delivery::NoVector;
        };
        if ctl.function_mask || e.masked {
            self.set_pending(bar, vector, true);
            return Delivery::Pending;
        }
        sink.message(e.address, e.data);
        Delivery::Sent
    }

    /// Sends the message of pending `vector` if it is no longer masked, and clears its
    /// Pending Bit. Returns 1 if it was sent, else 0.
    pub fn deliver_one<B: Bar, S: MessageSink>(
        &mut self,
        ctl: Control,
        bar: &B,
        vector: u16,
        sink: &mut S,
    ) -> u32 {
        if !self.is_pending(vector) || !ctl.enabled || ctl.function_mask {
            return 0;
        }
        match self.entry(bar, vector) {
            Some(e) if !e.masked => {
                self.set_pending(bar, vector, false);
                sink.message(e.address, e.data);
                1
            }
            _ => 0,
        }
    }

    /// Sends the message of every pending vector that is no longer masked and clears its
    /// Pending Bit. Returns how many were sent.
    pub fn deliver_pending<B: Bar, S: MessageSink>(
        &mut self,
        ctl: Control,
        bar: &B,
        sink: &mut S,
    ) -> u32 {
        if !self.any || !ctl.enabled || ctl.function_mask {
            return 0;
        }
        let mut sent = 0;
        for w in 0..PENDING_WORDS {
            let mut bits = self.pending.get(w).copied().unwrap_or(0);
            while bits != 0 {
                let b = bits.trailing_zeros();
                bits &= bits - 1;
                sent += self.deliver_one(ctl, bar, (w * 64) as u16 + b as u16, sink);
            }
        }
        sent
    }
}
