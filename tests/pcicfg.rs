// SPDX-License-Identifier: GPL-2.0

//! Host tests of the PCI configuration-space model.

use nvmock_model::pcicfg::*;
use proptest::prelude::*;

const HDR: Header = Header {
    vendor: 0x1b36,
    device: 0x0010,
    class: 0x010802,
    revision: 0x02,
    subsys_vendor: 0x1af4,
    subsys_id: 0x1100,
    interrupt_pin: 1,
};

fn cs() -> ConfigSpace {
    ConfigSpace::new(&HDR).unwrap()
}

fn bar_reg(index: usize) -> u16 {
    PCI_BASE_ADDRESS_0 + 4 * index as u16
}

/// Writes all ones to BAR `index` and returns what reads back.
fn size_probe(c: &mut ConfigSpace, index: usize) -> u32 {
    c.write(bar_reg(index), 4, 0xffff_ffff).unwrap();
    c.read(bar_reg(index), 4).unwrap()
}

#[test]
fn header_reads_back() {
    let c = cs();
    assert_eq!(c.read(PCI_VENDOR_ID, 4).unwrap(), 0x0010_1b36);
    assert_eq!(c.read(PCI_VENDOR_ID, 2).unwrap(), 0x1b36);
    assert_eq!(c.read(PCI_DEVICE_ID, 2).unwrap(), 0x0010);
    assert_eq!(c.read(PCI_CLASS_REVISION, 4).unwrap(), 0x0108_0202);
    assert_eq!(c.read(PCI_REVISION_ID, 1).unwrap(), 0x02);
    assert_eq!(c.read(0x0b, 1).unwrap(), 0x01);
    assert_eq!(c.read(PCI_HEADER_TYPE, 1).unwrap(), 0);
    assert_eq!(c.read(PCI_SUBSYSTEM_VENDOR_ID, 2).unwrap(), 0x1af4);
    assert_eq!(c.read(PCI_SUBSYSTEM_ID, 2).unwrap(), 0x1100);
    assert_eq!(c.read(PCI_INTERRUPT_PIN, 1).unwrap(), 1);
    assert_eq!(c.read(PCI_CAPABILITY_LIST, 1).unwrap(), 0);
    assert_eq!(c.status(), 0);
    assert_eq!(c.read(0x100, 4).unwrap(), 0);
    assert_eq!(c.read(0xffc, 4).unwrap(), 0);
    assert_eq!(c.raw()[0..2], [0x36, 0x1b]);
}

#[test]
fn bad_headers_are_refused() {
    for h in [
        Header {
            vendor: 0xffff,
            ..HDR
        },
        Header { vendor: 0, ..HDR },
        Header {
            class: 1 << 24,
            ..HDR
        },
        Header {
            interrupt_pin: 5,
            ..HDR
        },
    ] {
        assert_eq!(ConfigSpace::new(&h).err(), Some(CfgError::BadHeader));
    }
    let mut c = cs();
    c.write(PCI_INTERRUPT_LINE, 1, 9).unwrap();
    assert_eq!(
        c.reset(&Header { vendor: 0, ..HDR }),
        Err(CfgError::BadHeader)
    );
    assert_eq!(c.read(PCI_INTERRUPT_LINE, 1).unwrap(), 9);
    c.reset(&HDR).unwrap();
    assert_eq!(c.read(PCI_INTERRUPT_LINE, 1).unwrap(), 0);
}

#[test]
fn read_only_fields_ignore_writes() {
    let mut c = cs();
    let before = *c.raw();
    for off in [
        PCI_VENDOR_ID,
        PCI_CLASS_REVISION,
        PCI_SUBSYSTEM_VENDOR_ID,
        PCI_ROM_ADDRESS,
    ] {
        c.write(off, 4, 0xdead_beef).unwrap();
    }
    c.write(PCI_HEADER_TYPE, 1, 0x80).unwrap();
    c.write(PCI_CAPABILITY_LIST, 1, 0x40).unwrap();
    c.write(PCI_INTERRUPT_PIN, 1, 3).unwrap();
    c.write(0x200, 4, 0xffff_ffff).unwrap();
    assert_eq!(c.raw(), &before);
}

#[test]
fn writable_bytes_take_writes() {
    let mut c = cs();
    c.write(PCI_CACHE_LINE_SIZE, 2, 0x4010).unwrap();
    assert_eq!(c.read(PCI_CACHE_LINE_SIZE, 4).unwrap(), 0x0000_4010);
    c.write(PCI_INTERRUPT_LINE, 4, 0xffff_ff0b).unwrap();
    assert_eq!(c.read(PCI_INTERRUPT_LINE, 4).unwrap(), 0x0000_010b);
}

#[test]
fn command_register_mask() {
    let mut c = cs();
    c.write(PCI_COMMAND, 2, 0xffff).unwrap();
    assert_eq!(c.command(), 0x0547);
    assert_eq!(c.command(), PCI_COMMAND_WRITABLE);
    c.write(
        PCI_COMMAND,
        2,
        u32::from(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER),
    )
    .unwrap();
    assert_eq!(c.read(PCI_COMMAND, 2).unwrap(), 0x0006);
    // A byte write to the high half leaves the low half alone.
    c.write(PCI_COMMAND + 1, 1, 0xff).unwrap();
    assert_eq!(c.command(), 0x0506);
}

#[test]
fn status_error_bits_are_rw1c() {
    let mut c = cs();
    c.set_status_bits(0xf900 | 0x0010);
    assert_eq!(c.status(), 0xf910);
    // Writing zeroes changes nothing; the command half is untouched by the status bits.
    c.write(PCI_COMMAND, 4, 0x0000_0002).unwrap();
    assert_eq!(c.status(), 0xf910);
    assert_eq!(c.command(), 0x0002);
    // Ones clear only RW1C bits; bit 4 is read-only.
    c.write(PCI_STATUS, 2, 0x2010).unwrap();
    assert_eq!(c.status(), 0xd910);
    c.write(PCI_COMMAND, 4, 0xffff_0000).unwrap();
    assert_eq!(c.status(), 0x0010);
    assert_eq!(c.command(), 0);
}

#[test]
fn mem32_bar_sizing_and_address() {
    let mut c = cs();
    c.set_bar(
        0,
        Bar::Mem32 {
            size: 0x4000,
            prefetchable: false,
        },
    )
    .unwrap();
    c.set_bar(
        1,
        Bar::Mem32 {
            size: 1 << 20,
            prefetchable: true,
        },
    )
    .unwrap();
    assert_eq!(c.read(bar_reg(0), 4).unwrap(), 0);
    assert_eq!(c.read(bar_reg(1), 4).unwrap(), 0x8);
    assert_eq!(size_probe(&mut c, 0), 0xffff_c000);
    assert_eq!(size_probe(&mut c, 1), 0xfff0_0008);
    c.write(bar_reg(0), 4, 0xfebf_0000).unwrap();
    assert_eq!(c.bar_address(0).unwrap(), 0xfebf_0000);
    // Bits below the size are not writable.
    c.write(bar_reg(1), 4, 0xe012_3456).unwrap();
    assert_eq!(c.read(bar_reg(1), 4).unwrap(), 0xe010_0008);
    assert_eq!(c.bar_address(1).unwrap(), 0xe010_0000);
    assert_eq!(
        c.bar(1).unwrap(),
        Bar::Mem32 {
            size: 1 << 20,
            prefetchable: true
        }
    );
}

#[test]
fn mem64_bar_sizing_and_address() {
    let mut c = cs();
    c.set_bar(
        0,
        Bar::Mem64 {
            size: 0x4000,
            prefetchable: false,
        },
    )
    .unwrap();
    assert_eq!(c.read(bar_reg(0), 4).unwrap(), 0x4);
    assert_eq!(size_probe(&mut c, 0), 0xffff_c004);
    assert_eq!(size_probe(&mut c, 1), 0xffff_ffff);
    c.write(bar_reg(0), 4, 0xfe00_0000).unwrap();
    c.write(bar_reg(1), 4, 0x0000_0080).unwrap();
    assert_eq!(c.bar_address(0).unwrap(), 0x80_fe00_0000);
    assert_eq!(c.bar_address(1), Err(CfgError::BadBar));
    assert_eq!(c.bar(1), Err(CfgError::BadBar));
}

#[test]
fn mem64_bar_above_4g() {
    let mut c = cs();
    c.set_bar(
        2,
        Bar::Mem64 {
            size: 8 << 30,
            prefetchable: true,
        },
    )
    .unwrap();
    assert_eq!(size_probe(&mut c, 2), 0x0000_000c);
    assert_eq!(size_probe(&mut c, 3), 0xffff_fffe);
    c.write(bar_reg(2), 4, 0).unwrap();
    c.write(bar_reg(3), 4, 0x0000_0004).unwrap();
    assert_eq!(c.bar_address(2).unwrap(), 0x4_0000_0000);
    // Exactly 4 GiB: the whole low dword is fixed, the high dword's bit 0 is the size.
    c.set_bar(
        4,
        Bar::Mem64 {
            size: 1 << 32,
            prefetchable: false,
        },
    )
    .unwrap();
    assert_eq!(size_probe(&mut c, 4), 0x4);
    assert_eq!(size_probe(&mut c, 5), 0xffff_ffff);
}

#[test]
fn io_bar_sizing_and_address() {
    let mut c = cs();
    c.set_bar(4, Bar::Io { size: 0x100 }).unwrap();
    c.set_bar(5, Bar::Io { size: 4 }).unwrap();
    assert_eq!(c.read(bar_reg(4), 4).unwrap(), 0x1);
    assert_eq!(size_probe(&mut c, 4), 0xffff_ff01);
    assert_eq!(size_probe(&mut c, 5), 0xffff_fffd);
    c.write(bar_reg(4), 4, 0xc000).unwrap();
    assert_eq!(c.bar_address(4).unwrap(), 0xc000);
    assert_eq!(c.read(bar_reg(4), 4).unwrap(), 0xc001);
}

#[test]
fn bad_bars_are_refused() {
    let mut c = cs();
    let bad = [
        (
            5,
            Bar::Mem64 {
                size: 0x1000,
                prefetchable: false,
            },
        ),
        (
            6,
            Bar::Mem32 {
                size: 0x1000,
                prefetchable: false,
            },
        ),
        (
            0,
            Bar::Mem32 {
                size: 0x3000,
                prefetchable: false,
            },
        ),
        (
            0,
            Bar::Mem32 {
                size: 8,
                prefetchable: false,
            },
        ),
        (
            0,
            Bar::Mem32 {
                size: 0,
                prefetchable: false,
            },
        ),
        (
            0,
            Bar::Mem64 {
                size: (1 << 33) + 16,
                prefetchable: false,
            },
        ),
        (
            0,
            Bar::Mem64 {
                size: 8,
                prefetchable: true,
            },
        ),
        (0, Bar::Io { size: 2 }),
        (0, Bar::Io { size: 512 }),
        (0, Bar::Io { size: 12 }),
    ];
    for (i, b) in bad {
        assert_eq!(c.set_bar(i, b), Err(CfgError::BadBar), "{i} {b:?}");
    }
    assert_eq!(c.bar_address(0), Err(CfgError::BadBar));
    assert_eq!(c.bar_address(9), Err(CfgError::BadBar));
    assert_eq!(c.raw(), cs().raw());
}

#[test]
fn mem64_slots_do_not_overlap() {
    let mut c = cs();
    c.set_bar(1, Bar::Io { size: 16 }).unwrap();
    let m64 = Bar::Mem64 {
        size: 0x1000,
        prefetchable: false,
    };
    assert_eq!(c.set_bar(0, m64), Err(CfgError::BadBar));
    c.set_bar(2, m64).unwrap();
    // The upper half can neither be replaced nor used by a neighbour.
    assert_eq!(c.set_bar(3, Bar::Unused), Err(CfgError::BadBar));
    assert_eq!(c.set_bar(1, Bar::Unused), Ok(()));
    assert_eq!(c.set_bar(1, m64), Err(CfgError::BadBar));
    // Replacing the Mem64 (even by another Mem64) frees or reuses its upper half.
    c.set_bar(
        2,
        Bar::Mem64 {
            size: 1 << 34,
            prefetchable: true,
        },
    )
    .unwrap();
    assert_eq!(size_probe(&mut c, 3), 0xffff_fffc);
    c.set_bar(
        2,
        Bar::Mem32 {
            size: 0x1000,
            prefetchable: false,
        },
    )
    .unwrap();
    assert_eq!(c.bar(3), Ok(Bar::Unused));
    assert_eq!(size_probe(&mut c, 3), 0);
    c.set_bar(3, Bar::Io { size: 4 }).unwrap();
}

#[test]
fn capability_chain() {
    let mut c = cs();
    assert_eq!(c.find_capability(0x01), None);
    let pm = c
        .add_capability(0x01, &[0x03, 0x00, 0x08, 0x00, 0x00, 0x00], &[])
        .unwrap();
    let msi = c
        .add_capability(
            0x05,
            &[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            &[0x01, 0, 0xfc, 0xff],
        )
        .err();
    assert_eq!(msi, Some(CfgError::BadAccess));
    let body = [
        0x80u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let mut wm = [0u8; 22];
    wm[0] = 0x71; // MSI control: enable + multiple message enable; bit 7 (64-bit) stays.
    wm[2..10].fill(0xff); // Address.
    let msi = c.add_capability(0x05, &body, &wm).unwrap();
    let exp = c.add_capability(0x10, &[0x02, 0x00], &[]).unwrap();
    assert_eq!((pm, msi, exp), (0x40, 0x48, 0x60));

    assert_eq!(c.status() & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
    assert_eq!(c.read(PCI_CAPABILITY_LIST, 1).unwrap(), 0x40);
    assert_eq!(c.find_capability(0x01), Some(pm));
    assert_eq!(c.find_capability(0x05), Some(msi));
    assert_eq!(c.find_capability(0x10), Some(exp));
    assert_eq!(c.find_capability(0x11), None);

    // Walk the list by hand, the way a driver does.
    let mut seen = Vec::new();
    let mut ptr = c.read(PCI_CAPABILITY_LIST, 1).unwrap() as u16;
    while ptr != 0 {
        let hdr = c.read(ptr, 2).unwrap();
        seen.push((ptr as u8, hdr as u8));
        ptr = (hdr >> 8) as u16;
    }
    assert_eq!(seen, [(0x40, 0x01), (0x48, 0x05), (0x60, 0x10)]);
    assert_eq!(c.capabilities().collect::<Vec<_>>(), seen);

    // Headers are read-only; the body follows its write mask.
    c.write(u16::from(msi), 4, 0xffff_ffff).unwrap();
    assert_eq!(c.read(u16::from(msi), 4).unwrap(), 0x00f1_6005);
    c.write(u16::from(msi) + 4, 4, 0xfee0_1000).unwrap();
    assert_eq!(c.read(u16::from(msi) + 4, 4).unwrap(), 0xfee0_1000);
    c.write(u16::from(pm) + 4, 4, 0xffff_ffff).unwrap();
    assert_eq!(c.read(u16::from(pm) + 4, 4).unwrap(), 0x0000_0008);
}

#[test]
fn capability_area_runs_out() {
    let mut c = cs();
    let big = [0u8; 0xb0];
    assert_eq!(c.add_capability(0x09, &big, &[]).unwrap(), 0x40);
    // 0xf4 is free: 10 bytes fit exactly, 11 do not.
    assert_eq!(
        c.add_capability(0x09, &[0; 11], &[]),
        Err(CfgError::NoSpace)
    );
    assert_eq!(c.add_capability(0x0a, &[0; 10], &[]), Ok(0xf4));
    assert_eq!(c.add_capability(0x0b, &[], &[]), Err(CfgError::NoSpace));
    assert_eq!(c.capabilities().count(), 2);
    assert_eq!(c.read(0x100, 4).unwrap(), 0);

    let mut c = cs();
    assert_eq!(
        c.add_capability(0x09, &[0; 0xbf], &[]),
        Err(CfgError::NoSpace)
    );
    assert_eq!(c.add_capability(0x09, &[0; 0xbe], &[]), Ok(0x40));
}

#[test]
fn bad_accesses_are_refused() {
    let mut c = cs();
    for (off, size) in [
        (1, 2),
        (2, 4),
        (3, 4),
        (0, 3),
        (0, 0),
        (0, 8),
        (4096, 1),
        (4094, 4),
    ] {
        assert_eq!(c.read(off, size), Err(CfgError::BadAccess), "{off} {size}");
        assert_eq!(
            c.write(off, size, 0),
            Err(CfgError::BadAccess),
            "{off} {size}"
        );
    }
    assert_eq!(c.read(u16::MAX, 1), Err(CfgError::BadAccess));
    assert_eq!(c.read(4095, 1), Ok(0));
    assert_eq!(c.read(4092, 4), Ok(0));
}

/// A function with a 64-bit BAR, a capability with a writable and an RW1C word, and its
/// power-on copy made with `clone_in_place`.
fn function_and_copy() -> (ConfigSpace, Box<ConfigSpace>) {
    let mut c = cs();
    c.set_bar(
        0,
        Bar::Mem64 {
            size: 0x4000,
            prefetchable: false,
        },
    )
    .unwrap();
    let off = u16::from(
        c.add_capability(
            0x10,
            &[0x11, 0x22, 0, 0, 0x33, 0x44],
            &[0, 0, 0xff, 0xff, 0, 0],
        )
        .unwrap(),
    );
    c.mark_rw1c(off + 6, &[0xff, 0]).unwrap();
    let mut slot = Box::new(std::mem::MaybeUninit::<ConfigSpace>::uninit());
    c.clone_in_place(&mut slot);
    // SAFETY: initialised by `clone_in_place`.
    let copy = unsafe { Box::from_raw(Box::into_raw(slot).cast::<ConfigSpace>()) };
    (c, copy)
}

#[test]
fn clone_in_place_is_an_independent_copy() {
    let (mut c, copy) = function_and_copy();
    assert_eq!(c.raw(), copy.raw());
    assert_eq!(c.bar(0), copy.bar(0));
    assert_eq!(
        c.capabilities().collect::<Vec<_>>(),
        copy.capabilities().collect::<Vec<_>>()
    );
    c.write(PCI_COMMAND, 2, 0x6).unwrap();
    assert_eq!(copy.command(), 0);
    // The copy behaves as the original: same writable bits.
    let mut d = copy.clone();
    d.write(PCI_COMMAND, 2, 0x6).unwrap();
    assert_eq!(c.raw(), d.raw());
}

#[test]
fn reset_to_restores_writable_and_rw1c_bits_only() {
    let (mut c, init) = function_and_copy();
    let off = u16::from(c.find_capability(0x10).unwrap());
    c.write(PCI_COMMAND, 2, 0x0406).unwrap();
    c.write(PCI_INTERRUPT_LINE, 1, 9).unwrap();
    c.write(PCI_BASE_ADDRESS_0, 4, 0x8000).unwrap();
    c.write(PCI_BASE_ADDRESS_0 + 4, 4, 0x2).unwrap();
    c.write(off + 4, 2, 0xbeef).unwrap();
    c.device_write(off + 6, 2, 0x00ff).unwrap();
    c.set_status_bits(0x8000);
    // Read-only bits the device changed stay.
    c.device_write(off + 2, 2, 0x5566).unwrap();
    c.reset_to(&init, &[]).unwrap();
    assert_eq!(c.command(), 0);
    assert_eq!(c.read(PCI_INTERRUPT_LINE, 1), Ok(0));
    assert_eq!(c.bar_address(0), Ok(0));
    assert_eq!(c.read(off + 4, 2), Ok(0));
    // The RW1C byte takes its power-on value (0x33) again; the read-only byte above it keeps
    // what the device wrote (0x00).
    assert_eq!(
        c.read(off + 6, 2),
        Ok(0x0033),
        "RW1C bits back to their power-on value"
    );
    assert_eq!(c.status(), PCI_STATUS_CAP_LIST);
    assert_eq!(
        c.read(off + 2, 2),
        Ok(0x5566),
        "read-only bits are the device's"
    );
}

#[test]
fn reset_to_keeps_the_bits_asked_for() {
    let (mut c, init) = function_and_copy();
    let off = u16::from(c.find_capability(0x10).unwrap());
    c.write(off + 4, 2, 0xbeef).unwrap();
    c.write(PCI_COMMAND, 2, 0x0406).unwrap();
    c.reset_to(&init, &[(off + 5, 1, 0xf0), (PCI_COMMAND, 4, 0x0002)])
        .unwrap();
    assert_eq!(c.read(off + 4, 2), Ok(0xb000));
    assert_eq!(c.command(), 0x0002);
    // Bad entries are refused before anything changes.
    c.write(PCI_COMMAND, 2, 0x0406).unwrap();
    assert_eq!(
        c.reset_to(&init, &[(off + 5, 2, 0xff)]),
        Err(CfgError::BadAccess)
    );
    assert_eq!(
        c.reset_to(&init, &[(4095, 4, 0xff)]),
        Err(CfgError::BadAccess)
    );
    assert_eq!(c.command(), 0x0406);
}

#[test]
fn reset_to_refuses_another_functions_layout() {
    let (mut c, _) = function_and_copy();
    c.write(PCI_COMMAND, 2, 0x0006).unwrap();
    let before = *c.raw();
    let plain = cs();
    assert_eq!(c.reset_to(&plain, &[]), Err(CfgError::Layout));
    let mut other_bar = cs();
    other_bar
        .set_bar(
            0,
            Bar::Mem64 {
                size: 0x8000,
                prefetchable: false,
            },
        )
        .unwrap();
    assert_eq!(c.reset_to(&other_bar, &[]), Err(CfgError::Layout));
    assert_eq!(*c.raw(), before, "unchanged");
}

/// Mostly valid access sizes, with some invalid ones mixed in.
fn access_size() -> impl Strategy<Value = u8> {
    prop_oneof![Just(1u8), Just(2), Just(4), 0u8..9]
}

proptest! {
    #[test]
    fn mem32_sizing(shift in 4u32..=31, pf: bool, index in 0usize..6) {
        let size = 1u32 << shift;
        let mut c = cs();
        c.set_bar(index, Bar::Mem32 { size, prefetchable: pf }).unwrap();
        let ty = if pf { 0x8 } else { 0 };
        prop_assert_eq!(size_probe(&mut c, index), !(size - 1) | ty);
    }

    #[test]
    fn mem64_sizing(shift in 4u32..=40, pf: bool, index in 0usize..5) {
        let size = 1u64 << shift;
        let mut c = cs();
        c.set_bar(index, Bar::Mem64 { size, prefetchable: pf }).unwrap();
        let ty = if pf { 0xc } else { 0x4 };
        let lo = size_probe(&mut c, index);
        let hi = size_probe(&mut c, index + 1);
        prop_assert_eq!(lo, (!(size - 1) as u32 & !0xf) | ty);
        prop_assert_eq!(u64::from(hi) << 32 | u64::from(lo & !0xf), !(size - 1));
        // Software's size computation recovers the size.
        prop_assert_eq!((!(u64::from(hi) << 32 | u64::from(lo & !0xf))).wrapping_add(1), size);
        prop_assert_eq!(c.bar_address(index).unwrap(), !(size - 1));
    }

    #[test]
    fn io_sizing(shift in 2u32..=8, index in 0usize..6) {
        let size = 1u32 << shift;
        let mut c = cs();
        c.set_bar(index, Bar::Io { size }).unwrap();
        prop_assert_eq!(size_probe(&mut c, index), !(size - 1) | 1);
    }

    #[test]
    fn random_accesses_keep_identity(
        ops in prop::collection::vec((0u16..4200, access_size(), any::<u32>()), 0..200),
    ) {
        let mut c = cs();
        c.set_bar(0, Bar::Mem64 { size: 0x4000, prefetchable: false }).unwrap();
        c.set_bar(2, Bar::Io { size: 0x20 }).unwrap();
        c.add_capability(0x01, &[0; 6], &[0xff, 0xff, 0, 0, 0, 0]).unwrap();
        c.add_capability(0x05, &[0; 10], &[0xff; 10]).unwrap();
        c.set_status_bits(0xffff);
        let before = *c.raw();
        for (off, size, val) in ops {
            let ok = matches!(size, 1 | 2 | 4)
                && off % u16::from(size) == 0
                && usize::from(off) + usize::from(size) <= CFG_SIZE;
            prop_assert_eq!(c.write(off, size, val).is_ok(), ok);
            prop_assert_eq!(c.read(off, size).is_ok(), ok);
        }
        let raw = c.raw();
        // Vendor, device, class/revision, header type, subsystem, cap pointer, interrupt pin.
        for i in [0, 1, 2, 3, 8, 9, 10, 11, 14, 0x2c, 0x2d, 0x2e, 0x2f, 0x34, 0x3d] {
            prop_assert_eq!(raw[i], before[i], "byte {:#x}", i);
        }
        // Read-only status bits survive; the cap list and BAR type bits too.
        prop_assert_eq!(c.status() & !PCI_STATUS_ERROR_BITS, !PCI_STATUS_ERROR_BITS);
        prop_assert_eq!(c.read(PCI_BASE_ADDRESS_0, 4).unwrap() & 0xf, 0x4);
        prop_assert_eq!(c.read(PCI_BASE_ADDRESS_0 + 8, 4).unwrap() & 0x3, 0x1);
        prop_assert_eq!(c.capabilities().collect::<Vec<_>>(), vec![(0x40, 0x01), (0x48, 0x05)]);
        prop_assert!(raw[0x100..].iter().all(|&b| b == 0));
    }

    #[test]
    fn capability_walk_is_bounded(
        caps in prop::collection::vec((any::<u8>(), 0usize..12), 0..80),
        writes in prop::collection::vec((0x40u16..0x100, any::<u32>()), 0..64),
    ) {
        let mut c = cs();
        let mut added = Vec::new();
        for (id, len) in caps {
            let body = vec![0xa5u8; len];
            match c.add_capability(id, &body, &vec![0xff; len]) {
                Ok(off) => added.push((off, id)),
                Err(e) => prop_assert_eq!(e, CfgError::NoSpace),
            }
        }
        // Bodies are fully writable: scribble over the whole area.
        for (off, val) in writes {
            c.write(off & !3, 4, val).unwrap();
        }
        let walked: Vec<_> = c.capabilities().collect();
        prop_assert!(walked.len() <= MAX_CAP_HOPS);
        prop_assert_eq!(&walked[..], &added[..added.len().min(MAX_CAP_HOPS)]);
        for id in 0..=255u8 {
            let want = walked.iter().find(|&&(_, i)| i == id).map(|&(o, _)| o);
            prop_assert_eq!(c.find_capability(id), want);
        }
    }
}
