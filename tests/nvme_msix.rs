// SPDX-License-Identifier: GPL-2.0

//! MSI-X against the PCI specification (PCI Local Bus 3.0 section 6.8.2, PCI Express Base
//! "MSI-X Capability and Table Structure"), driven the way Linux's drivers/pci/msi/msi.c
//! drives it: Enable with Function Mask, program the entries masked, unmask them, clear
//! Function Mask.

use nvmock_model::nvme::function;
use nvmock_model::nvme::msix::*;
use nvmock_model::pcicfg::*;
use std::cell::Cell;
use std::mem::MaybeUninit;

const BAR: u64 = 0x4000;

/// A BAR as dwords of plain memory, filled with garbage.
struct Mem(Vec<Cell<u32>>);

impl Mem {
    fn new() -> Mem {
        Mem((0..BAR / 4).map(|_| Cell::new(0xdead_beef)).collect())
    }
}

impl nvmock_model::nvme::Bar for Mem {
    fn read32(&self, offset: u64) -> u32 {
        self.0[(offset / 4) as usize].get()
    }
    fn write32(&self, offset: u64, value: u32) {
        self.0[(offset / 4) as usize].set(value)
    }
}

/// The messages written, in order.
#[derive(Default)]
struct Sink(Vec<(u64, u32)>);

impl MessageSink for Sink {
    fn message(&mut self, address: u64, data: u32) {
        self.0.push((address, data));
    }
}

fn space() -> Box<ConfigSpace> {
    let h = Header {
        vendor: 0x1b36,
        device: 0x00f0,
        class: function::CLASS_NVME,
        revision: 0,
        subsys_vendor: 0x1b36,
        subsys_id: 0x00f0,
        interrupt_pin: 1,
    };
    let mut slot = Box::new(MaybeUninit::<ConfigSpace>::uninit());
    let cs = ConfigSpace::init_in_place(&mut slot, &h).unwrap();
    function::setup(cs, BAR).unwrap();
    // SAFETY: init_in_place initialised it.
    unsafe { Box::from_raw(Box::into_raw(slot).cast::<ConfigSpace>()) }
}

/// A function with `vectors` entries after NVMe registers of 0x1088 bytes, its table reset.
fn function(vectors: u16) -> (Box<ConfigSpace>, u8, Msix, Mem) {
    let mut cs = space();
    let layout = function::msix_layout(vectors, 0x1088, BAR).unwrap();
    let cap = function::add_msix(&mut cs, &layout).unwrap();
    let mem = Mem::new();
    let mut m = Msix::new(layout);
    m.reset(&mem);
    (cs, cap, m, mem)
}

fn flags(cs: &ConfigSpace, cap: u8) -> u16 {
    cs.read(u16::from(cap) + MSIX_FLAGS, 2).unwrap() as u16
}

fn set_flags(cs: &mut ConfigSpace, cap: u8, v: u16) {
    cs.write(u16::from(cap) + MSIX_FLAGS, 2, u32::from(v))
        .unwrap();
}

/// Programs entry `v` as Linux does: Mask Bit set while address and data are written.
fn program(m: &Msix, mem: &Mem, v: u16, addr: u64, data: u32) {
    use nvmock_model::nvme::Bar;
    let l = m.layout();
    mem.write32(l.entry_offset(v, ENTRY_VECTOR_CTRL), VECTOR_CTRL_MASKBIT);
    mem.write32(l.entry_offset(v, ENTRY_LOWER_ADDR), addr as u32);
    mem.write32(l.entry_offset(v, ENTRY_UPPER_ADDR), (addr >> 32) as u32);
    mem.write32(l.entry_offset(v, ENTRY_DATA), data);
}

fn mask(m: &Msix, mem: &Mem, v: u16, masked: bool) {
    use nvmock_model::nvme::Bar;
    mem.write32(
        m.layout().entry_offset(v, ENTRY_VECTOR_CTRL),
        u32::from(masked),
    );
}

fn pba_bit(m: &Msix, mem: &Mem, v: u16) -> bool {
    use nvmock_model::nvme::Bar;
    mem.read32(m.layout().pba_dword(v)) & 1 << (v % 32) != 0
}

/// The kernel's enable sequence for entries `0..n`; returns the control bits after it.
fn linux_enable(cs: &mut ConfigSpace, cap: u8, m: &Msix, mem: &Mem, n: u16) -> Control {
    set_flags(cs, cap, FLAGS_ENABLE | FLAGS_MASKALL);
    for v in 0..n {
        program(
            m,
            mem,
            v,
            0xfee0_0000 + u64::from(v) * 0x1000,
            0x40 + u32::from(v),
        );
        mask(m, mem, v, false);
    }
    set_flags(cs, cap, FLAGS_ENABLE);
    control(cs, cap)
}

#[test]
fn layout_refuses_bad_sizes_birs_alignment_and_overlap() {
    assert_eq!(Layout::new(0, 0, 0, 0x800, BAR), Err(MsixError::BadSize));
    assert_eq!(
        Layout::new(2049, 0, 0, 0x8000, 1 << 20),
        Err(MsixError::BadSize)
    );
    assert_eq!(Layout::new(1, 6, 0, 0x800, BAR), Err(MsixError::BadBir));
    assert_eq!(Layout::new(1, 0, 4, 0x800, BAR), Err(MsixError::Misaligned));
    assert_eq!(Layout::new(1, 0, 0, 0x804, BAR), Err(MsixError::Misaligned));
    assert_eq!(
        Layout::new(2, 0, BAR as u32 - 16, 0, BAR),
        Err(MsixError::Outside)
    );
    assert_eq!(
        Layout::new(1, 0, 0, BAR as u32, BAR),
        Err(MsixError::Outside)
    );
    // 65 entries need two PBA QWORDs: a PBA at 0x10 overlaps a table at 0x18.
    assert_eq!(Layout::new(65, 0, 0x18, 0x10, BAR), Err(MsixError::Overlap));
    assert_eq!(Layout::new(1, 0, 0x0, 0x8, BAR), Err(MsixError::Overlap));
    assert!(Layout::new(1, 0, 0x8, 0x0, BAR).is_ok());
    // Table and PBA may share a 4 KiB page if they do not overlap.
    let l = Layout::new(2048, 5, 0, 0x8000, 0x8100).unwrap();
    assert_eq!(
        (l.vectors(), l.bir(), l.table(), l.pba()),
        (2048, 5, 0, 0x8000)
    );
    assert_eq!(pba_bytes(1), 8);
    assert_eq!(pba_bytes(64), 8);
    assert_eq!(pba_bytes(65), 16);
}

#[test]
fn nvme_layout_puts_table_and_pba_in_pages_of_their_own_after_the_doorbells() {
    let l = function::msix_layout(17, 0x1088, BAR).unwrap();
    assert_eq!((l.bir(), l.table(), l.pba()), (0, 0x2000, 0x3000));
    let l = function::msix_layout(256, 0x1088, BAR).unwrap();
    assert_eq!((l.table(), l.pba()), (0x2000, 0x3000));
    // 257 entries spill the table into the PBA's page: the PBA moves out of the BAR.
    assert_eq!(
        function::msix_layout(257, 0x1088, BAR),
        Err(MsixError::Outside)
    );
}

#[test]
fn capability_reports_table_size_and_locations_read_only() {
    let (mut cs, cap, m, _) = function(17);
    assert_eq!(cs.find_capability(CAP_ID_MSIX), Some(cap));
    // PM and PCIe come first.
    assert!(cs.find_capability(function::CAP_ID_PM).unwrap() < cap);
    assert_eq!(flags(&cs, cap), 16);
    let table = cs.read(u16::from(cap) + MSIX_TABLE, 4).unwrap();
    let pba = cs.read(u16::from(cap) + MSIX_PBA, 4).unwrap();
    assert_eq!(
        (table & BIR_MASK, table & !BIR_MASK),
        (0, m.layout().table())
    );
    assert_eq!((pba & BIR_MASK, pba & !BIR_MASK), (0, m.layout().pba()));
    // Only Enable and Function Mask are writable.
    set_flags(&mut cs, cap, 0xffff);
    assert_eq!(flags(&cs, cap), FLAGS_ENABLE | FLAGS_MASKALL | 16);
    cs.write(u16::from(cap) + MSIX_TABLE, 4, !0).unwrap();
    cs.write(u16::from(cap) + MSIX_PBA, 4, 0).unwrap();
    assert_eq!(cs.read(u16::from(cap) + MSIX_TABLE, 4).unwrap(), table);
    assert_eq!(cs.read(u16::from(cap) + MSIX_PBA, 4).unwrap(), pba);
    set_flags(&mut cs, cap, 0);
    assert_eq!(control(&cs, cap), Control::default());
}

#[test]
fn reset_masks_every_entry_and_clears_the_pba() {
    let (_, _, m, mem) = function(17);
    for v in 0..17 {
        let e = m.entry(&mem, v).unwrap();
        assert_eq!(
            e,
            Entry {
                address: 0,
                data: 0,
                masked: true
            }
        );
        assert!(!pba_bit(&m, &mem, v));
    }
    assert_eq!(m.entry(&mem, 17), None);
    assert!(!m.any_pending());
}

#[test]
fn enabled_unmasked_vectors_send_their_own_message() {
    let (mut cs, cap, mut m, mem) = function(17);
    let ctl = linux_enable(&mut cs, cap, &m, &mem, 17);
    assert_eq!(
        ctl,
        Control {
            enabled: true,
            function_mask: false
        }
    );
    let mut sink = Sink::default();
    for v in [0, 5, 16] {
        assert_eq!(m.signal(ctl, &mem, v, &mut sink), Delivery::Sent);
    }
    assert_eq!(
        sink.0,
        vec![
            (0xfee0_0000, 0x40),
            (0xfee0_5000, 0x45),
            (0xfee1_0000, 0x50)
        ]
    );
    assert!(!m.any_pending());
}

#[test]
fn message_address_keeps_its_high_dword_and_drops_the_reserved_bits() {
    let (mut cs, cap, mut m, mem) = function(4);
    let ctl = linux_enable(&mut cs, cap, &m, &mem, 4);
    program(&m, &mem, 2, 0x0000_0010_8000_0003, 7);
    mask(&m, &mem, 2, false);
    let mut sink = Sink::default();
    assert_eq!(m.signal(ctl, &mem, 2, &mut sink), Delivery::Sent);
    assert_eq!(sink.0, vec![(0x0000_0010_8000_0000, 7)]);
}

#[test]
fn disabled_msix_sends_and_records_nothing() {
    let (cs, cap, mut m, mem) = function(4);
    let ctl = control(&cs, cap);
    let mut sink = Sink::default();
    assert_eq!(m.signal(ctl, &mem, 0, &mut sink), Delivery::Disabled);
    assert!(sink.0.is_empty());
    assert!(!m.any_pending());
    assert!(!pba_bit(&m, &mem, 0));
}

#[test]
fn a_vector_beyond_the_table_sends_nothing() {
    let (mut cs, cap, mut m, mem) = function(4);
    let ctl = linux_enable(&mut cs, cap, &m, &mem, 4);
    let mut sink = Sink::default();
    assert_eq!(m.signal(ctl, &mem, 4, &mut sink), Delivery::NoVector);
    assert!(sink.0.is_empty());
    assert!(!m.any_pending());
}

#[test]
fn masked_vector_sets_its_pending_bit_and_sends_once_on_unmask() {
    let (mut cs, cap, mut m, mem) = function(17);
    let ctl = linux_enable(&mut cs, cap, &m, &mem, 17);
    let mut sink = Sink::default();
    mask(&m, &mem, 3, true);
    // Two interrupts while masked: one pending bit, one message later.
    assert_eq!(m.signal(ctl, &mem, 3, &mut sink), Delivery::Pending);
    assert_eq!(m.signal(ctl, &mem, 3, &mut sink), Delivery::Pending);
    assert!(sink.0.is_empty());
    assert!(m.is_pending(3) && pba_bit(&m, &mem, 3));
    assert!(!m.is_pending(2) && !pba_bit(&m, &mem, 2));
    // Other vectors are unaffected.
    assert_eq!(m.signal(ctl, &mem, 4, &mut sink), Delivery::Sent);
    assert_eq!(sink.0, vec![(0xfee0_4000, 0x44)]);
    // Still masked: nothing to deliver.
    assert_eq!(m.deliver_pending(ctl, &mem, &mut sink), 0);
    assert!(m.is_pending(3));
    mask(&m, &mem, 3, false);
    assert_eq!(m.deliver_pending(ctl, &mem, &mut sink), 1);
    assert_eq!(sink.0, vec![(0xfee0_4000, 0x44), (0xfee0_3000, 0x43)]);
    assert!(!m.is_pending(3) && !pba_bit(&m, &mem, 3) && !m.any_pending());
    assert_eq!(m.deliver_pending(ctl, &mem, &mut sink), 0);
    assert_eq!(sink.0.len(), 2);
}

#[test]
fn function_mask_holds_every_vector_until_it_is_cleared() {
    let (mut cs, cap, mut m, mem) = function(17);
    linux_enable(&mut cs, cap, &m, &mem, 17);
    set_flags(&mut cs, cap, FLAGS_ENABLE | FLAGS_MASKALL);
    let ctl = control(&cs, cap);
    assert!(ctl.function_mask);
    let mut sink = Sink::default();
    for v in [1, 16] {
        assert_eq!(m.signal(ctl, &mem, v, &mut sink), Delivery::Pending);
    }
    assert!(sink.0.is_empty());
    assert_eq!(m.deliver_pending(ctl, &mem, &mut sink), 0);
    // Vector 16 is also masked in the table: only 1 goes once the function mask clears.
    mask(&m, &mem, 16, true);
    set_flags(&mut cs, cap, FLAGS_ENABLE);
    let ctl = control(&cs, cap);
    assert_eq!(m.deliver_pending(ctl, &mem, &mut sink), 1);
    assert_eq!(sink.0, vec![(0xfee0_1000, 0x41)]);
    assert!(m.is_pending(16) && pba_bit(&m, &mem, 16));
    mask(&m, &mem, 16, false);
    assert_eq!(m.deliver_pending(ctl, &mem, &mut sink), 1);
    assert_eq!(sink.0[1], (0xfee1_0000, 0x50));
    assert!(!m.any_pending());
}

#[test]
fn pending_bits_survive_a_disable_and_go_out_after_reenable() {
    let (mut cs, cap, mut m, mem) = function(4);
    let ctl = linux_enable(&mut cs, cap, &m, &mem, 4);
    let mut sink = Sink::default();
    mask(&m, &mem, 1, true);
    assert_eq!(m.signal(ctl, &mem, 1, &mut sink), Delivery::Pending);
    mask(&m, &mem, 1, false);
    set_flags(&mut cs, cap, 0);
    assert_eq!(m.deliver_pending(control(&cs, cap), &mem, &mut sink), 0);
    assert!(m.is_pending(1));
    set_flags(&mut cs, cap, FLAGS_ENABLE);
    assert_eq!(m.deliver_pending(control(&cs, cap), &mem, &mut sink), 1);
    assert_eq!(sink.0, vec![(0xfee0_1000, 0x41)]);
}

#[test]
fn pba_bits_land_in_the_right_dword_and_qword() {
    let (mut cs, cap, mut m, mem) = function(100);
    use nvmock_model::nvme::Bar;
    let ctl = linux_enable(&mut cs, cap, &m, &mem, 100);
    let mut sink = Sink::default();
    for v in [0, 31, 32, 63, 64, 99] {
        mask(&m, &mem, v, true);
        assert_eq!(m.signal(ctl, &mem, v, &mut sink), Delivery::Pending);
    }
    let pba = u64::from(m.layout().pba());
    assert_eq!(mem.read32(pba), 1 | 1 << 31);
    assert_eq!(mem.read32(pba + 4), 1 | 1 << 31);
    assert_eq!(mem.read32(pba + 8), 1);
    assert_eq!(mem.read32(pba + 12), 1 << 3);
    // A host write to the read-only PBA is repaired by the next change.
    mem.write32(pba, 0);
    mask(&m, &mem, 31, false);
    assert_eq!(m.deliver_pending(ctl, &mem, &mut sink), 1);
    assert_eq!(mem.read32(pba), 1);
    assert_eq!(sink.0, vec![(0xfee1_f000, 0x40 + 31)]);
    // A reset clears everything.
    m.reset(&mem);
    assert!(!m.any_pending());
    for off in 0..4 {
        assert_eq!(mem.read32(pba + 4 * off), 0);
    }
}
