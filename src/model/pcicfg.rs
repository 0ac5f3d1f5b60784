// SPDX-License-Identifier: GPL-2.0

//! Model of a PCI function's configuration space (type-0 header, or the type-1 header of a
//! PCI-to-PCI bridge with [`ConfigSpace::make_bridge`]).
//!
//! The model keeps the 4 KiB PCIe configuration space inline, together with two per-byte
//! masks: the bits software may change with a configuration write, and the bits that are
//! write-1-to-clear (RW1C). Every configuration read and write of the mocked function goes
//! through [`ConfigSpace::read`] and [`ConfigSpace::write`], which enforce the access rules of
//! the PCI Local Bus specification: natural alignment, read-only fields, RW1C status bits and
//! the BAR sizing protocol (write all ones, read back the size mask).
//!
//! The device side sets the function up with [`ConfigSpace::new`], [`ConfigSpace::set_bar`]
//! and [`ConfigSpace::add_capability`], and raises status bits with
//! [`ConfigSpace::set_status_bits`]. Standard capabilities live in `0x40..0x100`, PCI Express
//! extended capabilities ([`ConfigSpace::add_ext_capability`]) in `0x100..0x1000`; space no
//! capability uses reads as zero and ignores writes. [`ConfigSpace::mark_rw1c`] makes bits of
//! a capability write-1-to-clear and [`ConfigSpace::device_write`] changes read-only fields the
//! way the device itself does (status bits, link and slot state).
//!
//! No operation panics or allocates: every fallible one returns a [`CfgError`].

/// Size of the (PCIe extended) configuration space in bytes.
pub const CFG_SIZE: usize = 4096;

/// Vendor ID (16 bits).
pub const PCI_VENDOR_ID: u16 = 0x00;
/// Device ID (16 bits).
pub const PCI_DEVICE_ID: u16 = 0x02;
/// Command register (16 bits).
pub const PCI_COMMAND: u16 = 0x04;
/// Status register (16 bits).
pub const PCI_STATUS: u16 = 0x06;
/// Revision ID (8 bits, low byte of the class/revision dword).
pub const PCI_REVISION_ID: u16 = 0x08;
/// Revision ID and 24-bit class code (32 bits).
pub const PCI_CLASS_REVISION: u16 = 0x08;
/// Cache line size (8 bits).
pub const PCI_CACHE_LINE_SIZE: u16 = 0x0c;
/// Latency timer (8 bits).
pub const PCI_LATENCY_TIMER: u16 = 0x0d;
/// Header type (8 bits).
pub const PCI_HEADER_TYPE: u16 = 0x0e;
/// Base address register 0 (32 bits); BAR `n` is at `PCI_BASE_ADDRESS_0 + 4 * n`.
pub const PCI_BASE_ADDRESS_0: u16 = 0x10;
/// Subsystem vendor ID (16 bits).
pub const PCI_SUBSYSTEM_VENDOR_ID: u16 = 0x2c;
/// Subsystem ID (16 bits).
pub const PCI_SUBSYSTEM_ID: u16 = 0x2e;
/// Expansion ROM base address (32 bits); not implemented, reads as zero.
pub const PCI_ROM_ADDRESS: u16 = 0x30;
/// Capabilities pointer (8 bits).
pub const PCI_CAPABILITY_LIST: u16 = 0x34;
/// Interrupt line (8 bits).
pub const PCI_INTERRUPT_LINE: u16 = 0x3c;
/// Interrupt pin (8 bits): 0 for none, 1..=4 for INTA..INTD.
pub const PCI_INTERRUPT_PIN: u16 = 0x3d;
/// Type 1: primary bus number (8 bits).
pub const PCI_PRIMARY_BUS: u16 = 0x18;
/// Type 1: secondary bus number (8 bits).
pub const PCI_SECONDARY_BUS: u16 = 0x19;
/// Type 1: subordinate bus number (8 bits).
pub const PCI_SUBORDINATE_BUS: u16 = 0x1a;
/// Type 1: secondary latency timer (8 bits).
pub const PCI_SEC_LATENCY_TIMER: u16 = 0x1b;
/// Type 1: I/O base (8 bits); no I/O window in this model (reads zero).
pub const PCI_IO_BASE: u16 = 0x1c;
/// Type 1: secondary status (16 bits).
pub const PCI_SEC_STATUS: u16 = 0x1e;
/// Type 1: memory base (16 bits, bits 15:4 are address bits 31:20).
pub const PCI_MEMORY_BASE: u16 = 0x20;
/// Type 1: memory limit (16 bits).
pub const PCI_MEMORY_LIMIT: u16 = 0x22;
/// Type 1: prefetchable memory base (16 bits; bits 3:0 = 1: 64-bit).
pub const PCI_PREF_MEMORY_BASE: u16 = 0x24;
/// Type 1: prefetchable memory limit (16 bits).
pub const PCI_PREF_MEMORY_LIMIT: u16 = 0x26;
/// Type 1: prefetchable base, upper 32 bits.
pub const PCI_PREF_BASE_UPPER32: u16 = 0x28;
/// Type 1: prefetchable limit, upper 32 bits.
pub const PCI_PREF_LIMIT_UPPER32: u16 = 0x2c;
/// Type 1: expansion ROM base address (32 bits); not implemented, reads as zero.
pub const PCI_ROM_ADDRESS1: u16 = 0x38;
/// Type 1: bridge control (16 bits).
pub const PCI_BRIDGE_CONTROL: u16 = 0x3e;
/// Bridge control: secondary bus reset.
pub const PCI_BRIDGE_CTL_BUS_RESET: u16 = 0x40;
/// The bridge control bits software may change in this model: parity, SERR, ISA, VGA,
/// master abort mode, secondary bus reset.
pub const PCI_BRIDGE_CTL_WRITABLE: u16 = 0x006f;
/// Header type 1: PCI-to-PCI bridge.
pub const PCI_HEADER_TYPE_BRIDGE: u8 = 1;
/// Size of the standard type-0 header; capabilities start here.
pub const PCI_STD_HEADER_SIZEOF: u16 = 0x40;
/// End of the standard (non-extended) configuration space.
pub const PCI_CFG_SPACE_SIZE: u16 = 0x100;

/// Command: respond to I/O space accesses.
pub const PCI_COMMAND_IO: u16 = 0x0001;
/// Command: respond to memory space accesses.
pub const PCI_COMMAND_MEMORY: u16 = 0x0002;
/// Command: bus master enable.
pub const PCI_COMMAND_MASTER: u16 = 0x0004;
/// Command: parity error response.
pub const PCI_COMMAND_PARITY: u16 = 0x0040;
/// Command: SERR# enable.
pub const PCI_COMMAND_SERR: u16 = 0x0100;
/// Command: INTx emulation disable.
pub const PCI_COMMAND_INTX_DISABLE: u16 = 0x0400;
/// The Command bits software may change in this model.
pub const PCI_COMMAND_WRITABLE: u16 = PCI_COMMAND_IO
    | PCI_COMMAND_MEMORY
    | PCI_COMMAND_MASTER
    | PCI_COMMAND_PARITY
    | PCI_COMMAND_SERR
    | PCI_COMMAND_INTX_DISABLE;

/// Status: the capabilities list is implemented.
pub const PCI_STATUS_CAP_LIST: u16 = 0x0010;
/// Status: the write-1-to-clear error bits (parity, aborts, SERR).
pub const PCI_STATUS_ERROR_BITS: u16 = 0xf900;

/// BAR bit 0: the BAR decodes I/O space.
pub const PCI_BASE_ADDRESS_SPACE_IO: u32 = 0x01;
/// BAR bits 2:1 = `10b`: a 64-bit memory BAR.
pub const PCI_BASE_ADDRESS_MEM_TYPE_64: u32 = 0x04;
/// BAR bit 3: the memory BAR is prefetchable.
pub const PCI_BASE_ADDRESS_MEM_PREFETCH: u32 = 0x08;
/// Address bits of a memory BAR dword.
pub const PCI_BASE_ADDRESS_MEM_MASK: u32 = !0x0f;
/// Address bits of an I/O BAR dword.
pub const PCI_BASE_ADDRESS_IO_MASK: u32 = !0x03;

/// Number of BARs of a type-0 header.
pub const BAR_COUNT: usize = 6;
/// Number of BARs of a type-1 (bridge) header.
pub const BRIDGE_BAR_COUNT: usize = 2;
/// Start of the PCI Express extended configuration space (extended capabilities).
pub const PCI_EXT_CAP_START: u16 = 0x100;
/// Most capabilities [`ConfigSpace::capabilities`] visits, so a corrupted list cannot loop.
pub const MAX_CAP_HOPS: usize = 48;

/// Why the configuration space refused something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CfgError {
    /// The [`Header`] is invalid (vendor ID, class code or interrupt pin).
    BadHeader,
    /// The BAR index, size or layout is invalid, or the slot holds no such BAR.
    BadBar,
    /// A bad access size, alignment, range, or capability write mask length.
    BadAccess,
    /// The capability does not fit in the standard (or extended) capability area.
    NoSpace,
    /// The operation needs the other header type (bridge registers on a type-0 function,
    /// BARs 2 to 5 on a bridge, or making a bridge of a function that has them).
    HeaderType,
    /// The space given as a function's power-on state has another layout (other writable
    /// bits, RW1C bits or BARs): it is not the same function's.
    Layout,
}

/// The identity of a function, written into the read-only header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Vendor ID; neither `0x0000` nor `0xffff`.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// 24-bit class code: base class, subclass, programming interface (e.g. `0x010802`).
    pub class: u32,
    /// Revision ID.
    pub revision: u8,
    /// Subsystem vendor ID.
    pub subsys_vendor: u16,
    /// Subsystem ID.
    pub subsys_id: u16,
    /// Interrupt pin: 0 for none, 1..=4 for INTA..INTD.
    pub interrupt_pin: u8,
}

/// A base address register as the device implements it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bar {
    /// Not implemented: reads as zero, ignores writes.
    Unused,
    /// A 32-bit memory BAR of `size` bytes (a power of two, at least 16).
    Mem32 {
        /// Size in bytes.
        size: u32,
        /// Whether the region is prefetchable.
        prefetchable: bool,
    },
    /// A 64-bit memory BAR of `size` bytes (a power of two, at least 16), using two slots.
    Mem64 {
        /// Size in bytes.
        size: u64,
        /// Whether the region is prefetchable.
        prefetchable: bool,
    },
    /// An I/O BAR of `size` bytes (a power of two, 4 to 256).
    Io {
        /// Size in bytes.
        size: u32,
    },
}

/// What occupies one of the six BAR slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The BAR starting in this slot ([`Bar::Unused`] when free).
    Bar(Bar),
    /// The upper dword of the [`Bar::Mem64`] in the previous slot.
    Upper,
}

/// The configuration space of one PCI function with a type-0 header.
///
/// This is about 12 KiB: in the kernel, keep it in allocated memory, not on the stack (see
/// [`ConfigSpace::reset`]).
///
/// # Invariants
///
/// - Only bits set in `wmask` or `rw1c` ever change through [`ConfigSpace::write`].
/// - `slots` describes the BAR dwords: a [`Bar::Mem64`] in slot `i < 5` is followed by
///   [`Slot::Upper`] in slot `i + 1`, and `Upper` appears nowhere else.
/// - `cap_end` is dword aligned and within `0x40..=0x100`; capabilities are linked in order of
///   offset from the capabilities pointer, and `cap_last` is the offset of the last one (0 when
///   there is none), whose next pointer is 0.
/// - `ext_end` is dword aligned and within `0x100..=0x1000`; extended capabilities are linked
///   in order of offset from `0x100`, and `ext_last` is the offset of the last one (0 when there
///   is none), whose next offset is 0.
/// - With a type-1 header, slots 2 to 5 are [`Bar::Unused`].
#[derive(Clone)]
pub struct ConfigSpace {
    data: [u8; CFG_SIZE],
    wmask: [u8; CFG_SIZE],
    rw1c: [u8; CFG_SIZE],
    slots: [Slot; BAR_COUNT],
    cap_end: u16,
    cap_last: u8,
    ext_end: u16,
    ext_last: u16,
}

/// Stores the low `len` bytes of `val` little-endian at `off`; bytes beyond the end are dropped
/// (callers only pass offsets inside the header).
fn put(arr: &mut [u8; CFG_SIZE], off: u16, len: u16, val: u32) {
    for i in 0..len.min(4) {
        if let Some(b) = arr.get_mut(usize::from(off) + usize::from(i)) {
            *b = (val >> (8 * i)) as u8;
        }
    }
}

/// Offset of the dword of BAR `index` (any `index < BAR_COUNT`).
fn bar_offset(index: usize) -> u16 {
    PCI_BASE_ADDRESS_0 + 4 * (index.min(BAR_COUNT) as u16)
}

impl ConfigSpace {
    /// A function with header `h`, no BARs, no capabilities, and everything else zero.
    pub fn new(h: &Header) -> Result<Self, CfgError> {
        let mut cs = ConfigSpace {
            data: [0; CFG_SIZE],
            wmask: [0; CFG_SIZE],
            rw1c: [0; CFG_SIZE],
            slots: [Slot::Bar(Bar::Unused); BAR_COUNT],
            cap_end: PCI_STD_HEADER_SIZEOF,
            cap_last: 0,
            ext_end: PCI_EXT_CAP_START,
            ext_last: 0,
        };
        cs.reset(h)?;
        Ok(cs)
    }

    /// [`ConfigSpace::new`], built directly in `slot` instead of on the stack (the kernel's
    /// stacks are too small for a configuration space). Returns the initialised space.
    pub fn init_in_place<'a>(
        slot: &'a mut core::mem::MaybeUninit<Self>,
        h: &Header,
    ) -> Result<&'a mut Self, CfgError> {
        let p = slot.as_mut_ptr();
        // SAFETY: `p` is valid for writes of a `Self` (it comes from `slot`). Every field is
        // written through `addr_of_mut!` without creating a reference to uninitialised
        // memory; the byte arrays are zeroed and the slots written one by one, so the whole
        // value is initialised before `assume_init_mut`.
        let cs = unsafe {
            core::ptr::addr_of_mut!((*p).data)
                .cast::<u8>()
                .write_bytes(0, CFG_SIZE);
            core::ptr::addr_of_mut!((*p).wmask)
                .cast::<u8>()
                .write_bytes(0, CFG_SIZE);
            core::ptr::addr_of_mut!((*p).rw1c)
                .cast::<u8>()
                .write_bytes(0, CFG_SIZE);
            let slots = core::ptr::addr_of_mut!((*p).slots).cast::<Slot>();
            for i in 0..BAR_COUNT {
                slots.add(i).write(Slot::Bar(Bar::Unused));
            }
            core::ptr::addr_of_mut!((*p).cap_end).write(PCI_STD_HEADER_SIZEOF);
            core::ptr::addr_of_mut!((*p).cap_last).write(0);
            core::ptr::addr_of_mut!((*p).ext_end).write(PCI_EXT_CAP_START);
            core::ptr::addr_of_mut!((*p).ext_last).write(0);
            slot.assume_init_mut()
        };
        cs.reset(h)?;
        Ok(cs)
    }

    /// A bitwise copy of `self` built directly in `slot` instead of on the stack (see
    /// [`ConfigSpace::init_in_place`]): how a function keeps its power-on state for
    /// [`ConfigSpace::reset_to`]. Returns the copy.
    pub fn clone_in_place<'a>(&self, slot: &'a mut core::mem::MaybeUninit<Self>) -> &'a mut Self {
        // Every field is plain `Copy` data without a destructor (checked here: a field added
        // to `ConfigSpace` must be listed, and must be `Copy`), so a bitwise copy is a valid,
        // independent value.
        fn copy<T: Copy>(_: &T) {}
        let ConfigSpace {
            data,
            wmask,
            rw1c,
            slots,
            cap_end,
            cap_last,
            ext_end,
            ext_last,
        } = self;
        copy(data);
        copy(wmask);
        copy(rw1c);
        copy(slots);
        copy(cap_end);
        copy(cap_last);
        copy(ext_end);
        copy(ext_last);
        // SAFETY: `slot` is valid for writes of a `Self` and, exclusively borrowed, does not
        // overlap `self`; the copy initialises all of it (see above), before
        // `assume_init_mut`.
        unsafe {
            core::ptr::copy_nonoverlapping(self as *const Self, slot.as_mut_ptr(), 1);
            slot.assume_init_mut()
        }
    }

    /// A reset of what software can change: every bit that is writable or RW1C takes its value
    /// in `initial` again, except the bits `keep` lists as `(offset, size, mask)` (an access of
    /// `size` 1, 2 or 4 bytes at `offset`, as for [`ConfigSpace::read`]). Read-only bits,
    /// including those the device changed with [`ConfigSpace::device_write`] or
    /// [`ConfigSpace::set_status_bits`], keep their values. This is the register half of a
    /// function reset (a PCI Express Function Level Reset, for example): `initial` is the same
    /// function before software touched it (a [`ConfigSpace::clone_in_place`] copy).
    ///
    /// Fails with [`CfgError::Layout`] if `initial` has other writable, RW1C or BAR layout,
    /// and [`CfgError::BadAccess`] for a bad `keep` entry; `self` is unchanged then.
    pub fn reset_to(
        &mut self,
        initial: &ConfigSpace,
        keep: &[(u16, u8, u32)],
    ) -> Result<(), CfgError> {
        if self.wmask != initial.wmask || self.rw1c != initial.rw1c || self.slots != initial.slots {
            return Err(CfgError::Layout);
        }
        for &(off, size, _) in keep {
            Self::span(off, size)?;
        }
        let kept = |i: usize| {
            keep.iter().fold(0u8, |acc, &(off, size, mask)| {
                let start = usize::from(off);
                if (start..start + usize::from(size)).contains(&i) {
                    acc | (mask >> (8 * (i - start))) as u8
                } else {
                    acc
                }
            })
        };
        let bytes = self
            .data
            .iter_mut()
            .zip(&initial.data)
            .zip(self.wmask.iter().zip(&self.rw1c));
        for (i, ((d, &init), (&w, &c))) in bytes.enumerate() {
            let m = (w | c) & !kept(i);
            *d = *d & !m | init & m;
        }
        Ok(())
    }

    /// Reinitialises `self` in place exactly as [`ConfigSpace::new`] would, without building a
    /// second copy on the stack. On error `self` is left unchanged.
    pub fn reset(&mut self, h: &Header) -> Result<(), CfgError> {
        if h.vendor == 0 || h.vendor == 0xffff || h.class >= 1 << 24 || h.interrupt_pin > 4 {
            return Err(CfgError::BadHeader);
        }
        self.data.fill(0);
        self.wmask.fill(0);
        self.rw1c.fill(0);
        self.slots = [Slot::Bar(Bar::Unused); BAR_COUNT];
        self.cap_end = PCI_STD_HEADER_SIZEOF;
        self.cap_last = 0;
        self.ext_end = PCI_EXT_CAP_START;
        self.ext_last = 0;

        let d = &mut self.data;
        put(d, PCI_VENDOR_ID, 2, h.vendor.into());
        put(d, PCI_DEVICE_ID, 2, h.device.into());
        put(
            d,
            PCI_CLASS_REVISION,
            4,
            h.class << 8 | u32::from(h.revision),
        );
        put(d, PCI_HEADER_TYPE, 1, 0);
        put(d, PCI_SUBSYSTEM_VENDOR_ID, 2, h.subsys_vendor.into());
        put(d, PCI_SUBSYSTEM_ID, 2, h.subsys_id.into());
        put(d, PCI_INTERRUPT_PIN, 1, h.interrupt_pin.into());

        let w = &mut self.wmask;
        put(w, PCI_COMMAND, 2, PCI_COMMAND_WRITABLE.into());
        put(w, PCI_CACHE_LINE_SIZE, 1, 0xff);
        put(w, PCI_LATENCY_TIMER, 1, 0xff);
        put(w, PCI_INTERRUPT_LINE, 1, 0xff);
        put(&mut self.rw1c, PCI_STATUS, 2, PCI_STATUS_ERROR_BITS.into());
        Ok(())
    }

    /// Implements BAR `index` (0..=5) as `bar`, with a base address of zero.
    ///
    /// A [`Bar::Mem64`] also takes slot `index + 1`, which must be free. Replacing a `Mem64`
    /// frees its upper slot; the upper slot itself cannot be set on its own.
    pub fn set_bar(&mut self, index: usize, bar: Bar) -> Result<(), CfgError> {
        let cur = *self.slots.get(index).ok_or(CfgError::BadBar)?;
        if self.is_bridge()
            && (index >= BRIDGE_BAR_COUNT
                || matches!(bar, Bar::Mem64 { .. }) && index + 1 >= BRIDGE_BAR_COUNT)
        {
            return Err(CfgError::HeaderType);
        }
        if cur == Slot::Upper {
            return Err(CfgError::BadBar);
        }
        let was64 = matches!(cur, Slot::Bar(Bar::Mem64 { .. }));
        // (type bits, writable mask) of the low dword, and the writable mask of the upper one.
        let (bits, mask, upper) = match bar {
            Bar::Unused => (0, 0, None),
            Bar::Mem32 { size, prefetchable } if size.is_power_of_two() && size >= 16 => {
                let pf = if prefetchable {
                    PCI_BASE_ADDRESS_MEM_PREFETCH
                } else {
                    0
                };
                (pf, !(size - 1), None)
            }
            Bar::Mem64 { size, prefetchable } if size.is_power_of_two() && size >= 16 => {
                let free = match self.slots.get(index + 1) {
                    Some(Slot::Bar(Bar::Unused)) => true,
                    Some(Slot::Upper) => was64,
                    _ => false,
                };
                if !free {
                    return Err(CfgError::BadBar);
                }
                let pf = if prefetchable {
                    PCI_BASE_ADDRESS_MEM_PREFETCH
                } else {
                    0
                };
                let m = !(size - 1);
                (
                    PCI_BASE_ADDRESS_MEM_TYPE_64 | pf,
                    m as u32,
                    Some((m >> 32) as u32),
                )
            }
            Bar::Io { size } if size.is_power_of_two() && (4..=256).contains(&size) => {
                (PCI_BASE_ADDRESS_SPACE_IO, !(size - 1), None)
            }
            _ => return Err(CfgError::BadBar),
        };

        if was64 {
            self.set_slot(index + 1, Slot::Bar(Bar::Unused), 0, 0);
        }
        if let Some(upper_mask) = upper {
            self.set_slot(index + 1, Slot::Upper, 0, upper_mask);
        }
        self.set_slot(index, Slot::Bar(bar), bits, mask);
        Ok(())
    }

    /// Sets slot `index` (already checked to exist) and its dword's value and write mask.
    fn set_slot(&mut self, index: usize, slot: Slot, val: u32, mask: u32) {
        if let Some(s) = self.slots.get_mut(index) {
            *s = slot;
            put(&mut self.data, bar_offset(index), 4, val);
            put(&mut self.wmask, bar_offset(index), 4, mask);
        }
    }

    /// The BAR implemented in slot `index`; an error for the upper half of a `Mem64`.
    pub fn bar(&self, index: usize) -> Result<Bar, CfgError> {
        match self.slots.get(index) {
            Some(Slot::Bar(bar)) => Ok(*bar),
            _ => Err(CfgError::BadBar),
        }
    }

    /// The base address software programmed into BAR `index` (both halves of a `Mem64`).
    pub fn bar_address(&self, index: usize) -> Result<u64, CfgError> {
        let dword = |i: usize| self.read(bar_offset(i), 4);
        match self.bar(index)? {
            Bar::Unused => Err(CfgError::BadBar),
            Bar::Mem32 { .. } => Ok(u64::from(dword(index)? & PCI_BASE_ADDRESS_MEM_MASK)),
            Bar::Io { .. } => Ok(u64::from(dword(index)? & PCI_BASE_ADDRESS_IO_MASK)),
            Bar::Mem64 { .. } => {
                let lo = dword(index)? & PCI_BASE_ADDRESS_MEM_MASK;
                Ok(u64::from(dword(index + 1)?) << 32 | u64::from(lo))
            }
        }
    }

    /// Appends a standard capability with ID `id` and `body` (the bytes after the ID and next
    /// pointer) at the next free dword in `0x40..0x100`, links it at the end of the list, and
    /// returns its offset.
    ///
    /// `writable` is the write mask of the body: as long as `body`, or empty for a read-only
    /// body. The ID and next pointer are always read-only.
    pub fn add_capability(&mut self, id: u8, body: &[u8], writable: &[u8]) -> Result<u8, CfgError> {
        if !writable.is_empty() && writable.len() != body.len() {
            return Err(CfgError::BadAccess);
        }
        let start = usize::from(self.cap_end);
        let end = body.len().checked_add(start + 2).ok_or(CfgError::NoSpace)?;
        let off = u8::try_from(start).map_err(|_| CfgError::NoSpace)?;
        if end > usize::from(PCI_CFG_SPACE_SIZE) {
            return Err(CfgError::NoSpace);
        }
        let data = self.data.get_mut(start..end).ok_or(CfgError::NoSpace)?;
        let wmask = self.wmask.get_mut(start..end).ok_or(CfgError::NoSpace)?;
        data.fill(0);
        wmask.fill(0);
        if let Some((hdr, rest)) = data.split_first_chunk_mut::<2>() {
            *hdr = [id, 0];
            rest.iter_mut().zip(body).for_each(|(d, s)| *d = *s);
        }
        if let Some((_, rest)) = wmask.split_first_chunk_mut::<2>() {
            rest.iter_mut().zip(writable).for_each(|(d, s)| *d = *s);
        }

        let link = if self.cap_last == 0 {
            self.set_status_bits(PCI_STATUS_CAP_LIST);
            PCI_CAPABILITY_LIST
        } else {
            u16::from(self.cap_last) + 1
        };
        put(&mut self.data, link, 1, off.into());
        self.cap_last = off;
        // `end <= 0x100`, so this fits and stays within the area.
        self.cap_end = u16::try_from(end.next_multiple_of(4)).unwrap_or(PCI_CFG_SPACE_SIZE);
        Ok(off)
    }

    /// The capabilities list, in link order, as `(offset, id)` pairs.
    pub fn capabilities(&self) -> Capabilities<'_> {
        Capabilities {
            cs: self,
            next: self.byte(PCI_CAPABILITY_LIST),
            hops: 0,
        }
    }

    /// The offset of the first capability with ID `id`, if any.
    pub fn find_capability(&self, id: u8) -> Option<u8> {
        self.capabilities()
            .find(|&(_, i)| i == id)
            .map(|(off, _)| off)
    }

    /// Whether the header is type 1 (a PCI-to-PCI bridge).
    pub fn is_bridge(&self) -> bool {
        self.byte(PCI_HEADER_TYPE) & 0x7f == PCI_HEADER_TYPE_BRIDGE
    }

    /// Turns the type-0 header into the type-1 header of a PCI-to-PCI bridge: bus numbers,
    /// secondary latency timer, a 32-bit memory window and a 64-bit prefetchable window
    /// (base and limit registers writable, closed at first: everything zero), no I/O window
    /// and no expansion ROM (read as zero), bridge control, and a secondary status whose error
    /// bits are RW1C. Only BARs 0 and 1 remain; the subsystem ID fields of type 0 are gone.
    ///
    /// Fails with [`CfgError::HeaderType`] on a bridge or a function with BARs beyond 1.
    pub fn make_bridge(&mut self) -> Result<(), CfgError> {
        let used = self
            .slots
            .get(BRIDGE_BAR_COUNT..)
            .is_none_or(|s| s.iter().any(|&b| b != Slot::Bar(Bar::Unused)));
        if self.is_bridge() || used {
            return Err(CfgError::HeaderType);
        }
        // 0x18..0x34 and 0x38..0x3c: the bridge registers replace BARs 2-5, CardBus CIS,
        // subsystem IDs and the type-0 ROM.
        for r in [0x18usize..0x34, 0x38..0x3c, 0x3e..0x40] {
            for a in [&mut self.data, &mut self.wmask, &mut self.rw1c] {
                if let Some(b) = a.get_mut(r.clone()) {
                    b.fill(0);
                }
            }
        }
        let hdr = self.byte(PCI_HEADER_TYPE);
        put(
            &mut self.data,
            PCI_HEADER_TYPE,
            1,
            u32::from(hdr & 0x80 | PCI_HEADER_TYPE_BRIDGE),
        );
        // 64-bit prefetchable window (type bits 01b in base and limit).
        put(&mut self.data, PCI_PREF_MEMORY_BASE, 2, 1);
        put(&mut self.data, PCI_PREF_MEMORY_LIMIT, 2, 1);
        let w = &mut self.wmask;
        put(w, PCI_PRIMARY_BUS, 4, 0xffff_ffff);
        put(w, PCI_MEMORY_BASE, 4, 0xfff0_fff0);
        put(w, PCI_PREF_MEMORY_BASE, 4, 0xfff0_fff0);
        put(w, PCI_PREF_BASE_UPPER32, 4, 0xffff_ffff);
        put(w, PCI_PREF_LIMIT_UPPER32, 4, 0xffff_ffff);
        put(w, PCI_BRIDGE_CONTROL, 2, PCI_BRIDGE_CTL_WRITABLE.into());
        put(
            &mut self.rw1c,
            PCI_SEC_STATUS,
            2,
            PCI_STATUS_ERROR_BITS.into(),
        );
        Ok(())
    }

    /// Appends a PCI Express extended capability with ID `id`, version `version` (4 bits) and
    /// `body` (the bytes after the 4-byte header) at the next free dword in `0x100..0x1000`,
    /// links it at the end of the extended list, and returns its offset. `writable` is the
    /// write mask of the body, as for [`ConfigSpace::add_capability`].
    pub fn add_ext_capability(
        &mut self,
        id: u16,
        version: u8,
        body: &[u8],
        writable: &[u8],
    ) -> Result<u16, CfgError> {
        if version > 0xf || (!writable.is_empty() && writable.len() != body.len()) {
            return Err(CfgError::BadAccess);
        }
        let start = usize::from(self.ext_end);
        let end = body.len().checked_add(start + 4).ok_or(CfgError::NoSpace)?;
        if end > CFG_SIZE {
            return Err(CfgError::NoSpace);
        }
        let off = self.ext_end;
        let data = self.data.get_mut(start..end).ok_or(CfgError::NoSpace)?;
        let wmask = self.wmask.get_mut(start..end).ok_or(CfgError::NoSpace)?;
        data.fill(0);
        wmask.fill(0);
        if let Some((hdr, rest)) = data.split_first_chunk_mut::<4>() {
            *hdr = (u32::from(id) | u32::from(version) << 16).to_le_bytes();
            rest.iter_mut().zip(body).for_each(|(d, s)| *d = *s);
        }
        if let Some((_, rest)) = wmask.split_first_chunk_mut::<4>() {
            rest.iter_mut().zip(writable).for_each(|(d, s)| *d = *s);
        }
        if self.ext_last != 0 {
            let last = self.ext_last;
            let hdr = self.read(last, 4)?;
            put(
                &mut self.data,
                last,
                4,
                hdr & 0x000f_ffff | u32::from(off) << 20,
            );
        }
        self.ext_last = off;
        // `end <= 0x1000`.
        self.ext_end = u16::try_from(end.next_multiple_of(4)).unwrap_or(CFG_SIZE as u16);
        Ok(off)
    }

    /// The offset of the first extended capability with ID `id`, if any.
    pub fn find_ext_capability(&self, id: u16) -> Option<u16> {
        let mut off = PCI_EXT_CAP_START;
        for _ in 0..(CFG_SIZE - usize::from(PCI_EXT_CAP_START)) / 4 {
            let hdr = self.read(off, 4).ok()?;
            if hdr == 0 {
                return None;
            }
            if hdr & 0xffff == u32::from(id) {
                return Some(off);
            }
            let next = (hdr >> 20) as u16 & !3;
            if next < PCI_EXT_CAP_START {
                return None;
            }
            off = next;
        }
        None
    }

    /// Makes the bits set in `mask` at `offset` write-1-to-clear (and not otherwise
    /// writable): for the status registers of a capability. Only inside capabilities.
    pub fn mark_rw1c(&mut self, offset: u16, mask: &[u8]) -> Result<(), CfgError> {
        let start = usize::from(offset);
        let end = start.checked_add(mask.len()).ok_or(CfgError::BadAccess)?;
        let in_caps = start >= usize::from(PCI_STD_HEADER_SIZEOF)
            && (end <= usize::from(self.cap_end)
                || start >= usize::from(PCI_EXT_CAP_START) && end <= usize::from(self.ext_end));
        if !in_caps {
            return Err(CfgError::BadAccess);
        }
        let rw1c = self.rw1c.get_mut(start..end).ok_or(CfgError::BadAccess)?;
        let wmask = self.wmask.get_mut(start..end).ok_or(CfgError::BadAccess)?;
        for ((c, w), &m) in rw1c.iter_mut().zip(wmask.iter_mut()).zip(mask) {
            *c |= m;
            *w &= !m;
        }
        Ok(())
    }

    /// Writes the low `size` (1, 2 or 4) bytes of `value` at `offset` as the device does:
    /// every bit, read-only ones included (link state, slot state, status bits).
    pub fn device_write(&mut self, offset: u16, size: u8, value: u32) -> Result<(), CfgError> {
        let span = Self::span(offset, size)?;
        let data = self.data.get_mut(span).ok_or(CfgError::BadAccess)?;
        for (i, d) in data.iter_mut().enumerate() {
            *d = (value >> (8 * i)) as u8;
        }
        Ok(())
    }

    /// Reads `size` (1, 2 or 4) bytes at `offset`, little-endian, as software sees them.
    pub fn read(&self, offset: u16, size: u8) -> Result<u32, CfgError> {
        let bytes = self
            .data
            .get(Self::span(offset, size)?)
            .ok_or(CfgError::BadAccess)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0, |acc, &b| acc << 8 | u32::from(b)))
    }

    /// Writes the low `size` (1, 2 or 4) bytes of `value` at `offset`, as software would:
    /// only writable bits change, and RW1C bits written as one are cleared.
    pub fn write(&mut self, offset: u16, size: u8, value: u32) -> Result<(), CfgError> {
        let span = Self::span(offset, size)?;
        let data = self.data.get_mut(span.clone()).ok_or(CfgError::BadAccess)?;
        let wmask = self.wmask.get(span.clone()).ok_or(CfgError::BadAccess)?;
        let rw1c = self.rw1c.get(span).ok_or(CfgError::BadAccess)?;
        for (i, ((d, &w), &c)) in data.iter_mut().zip(wmask).zip(rw1c).enumerate() {
            let v = (value >> (8 * (i & 3))) as u8;
            *d = ((*d & !w) | (v & w)) & !(v & c);
        }
        Ok(())
    }

    /// Raises `bits` in the Status register, as the device does when it reports an event.
    pub fn set_status_bits(&mut self, bits: u16) {
        let status = self.read(PCI_STATUS, 2).unwrap_or(0);
        put(&mut self.data, PCI_STATUS, 2, status | u32::from(bits));
    }

    /// The Command register.
    pub fn command(&self) -> u16 {
        self.read(PCI_COMMAND, 2).unwrap_or(0) as u16
    }

    /// The Status register.
    pub fn status(&self) -> u16 {
        self.read(PCI_STATUS, 2).unwrap_or(0) as u16
    }

    /// The whole configuration space as software would read it.
    pub fn raw(&self) -> &[u8; CFG_SIZE] {
        &self.data
    }

    /// One byte of the space (zero outside it).
    fn byte(&self, offset: u16) -> u8 {
        self.data.get(usize::from(offset)).copied().unwrap_or(0)
    }

    /// The bytes an access of `size` at `offset` covers, if it is valid.
    fn span(offset: u16, size: u8) -> Result<core::ops::Range<usize>, CfgError> {
        let (off, len) = (usize::from(offset), usize::from(size));
        if !matches!(size, 1 | 2 | 4) || off % len != 0 || off + len > CFG_SIZE {
            return Err(CfgError::BadAccess);
        }
        Ok(off..off + len)
    }
}

impl core::fmt::Debug for ConfigSpace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConfigSpace")
            .field("vendor", &self.read(PCI_VENDOR_ID, 2))
            .field("device", &self.read(PCI_DEVICE_ID, 2))
            .field("command", &self.command())
            .field("status", &self.status())
            .field("slots", &self.slots)
            .finish_non_exhaustive()
    }
}

/// Iterator over the capabilities list of a [`ConfigSpace`], yielding `(offset, id)`.
///
/// # Invariants
///
/// `hops <= MAX_CAP_HOPS`: the walk ends after that many capabilities even if the list loops.
pub struct Capabilities<'a> {
    cs: &'a ConfigSpace,
    next: u8,
    hops: usize,
}

impl Iterator for Capabilities<'_> {
    type Item = (u8, u8);

    fn next(&mut self) -> Option<(u8, u8)> {
        // The two low bits of a capability pointer are reserved.
        let off = self.next & !3;
        if u16::from(off) < PCI_STD_HEADER_SIZEOF || self.hops >= MAX_CAP_HOPS {
            return None;
        }
        self.hops += 1;
        self.next = self.cs.byte(u16::from(off) + 1);
        Some((off, self.cs.byte(off.into())))
    }
}
