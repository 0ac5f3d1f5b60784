// SPDX-License-Identifier: GPL-2.0

//! Host tests of the configuration-space header's limits, found missing by `make mutants`.
//! Core only, so that they also run as KUnit cases.

use nvmock_model::pcicfg::*;

const HDR: Header = Header {
    vendor: 0x8086,
    device: 0x5845,
    class: 0x010802,
    revision: 0x01,
    subsys_vendor: 0x8086,
    subsys_id: 0x0001,
    interrupt_pin: 1,
};

#[test]
fn every_interrupt_pin_up_to_intd_is_accepted() {
    let mut c = ConfigSpace::new(&HDR).unwrap();
    for pin in 0..=4u8 {
        let h = Header {
            interrupt_pin: pin,
            ..HDR
        };
        assert_eq!(c.reset(&h), Ok(()));
        assert_eq!(c.read(PCI_INTERRUPT_PIN, 1), Ok(u32::from(pin)));
    }
    // A fifth pin does not exist; the space keeps INTD.
    let h = Header {
        interrupt_pin: 5,
        ..HDR
    };
    assert_eq!(c.reset(&h), Err(CfgError::BadHeader));
    assert_eq!(c.read(PCI_INTERRUPT_PIN, 1), Ok(4));
}

#[test]
fn the_largest_class_code_is_accepted() {
    let mut c = ConfigSpace::new(&HDR).unwrap();
    let h = Header {
        class: 0xff_ffff,
        revision: 0xff,
        ..HDR
    };
    assert_eq!(c.reset(&h), Ok(()));
    assert_eq!(c.read(PCI_CLASS_REVISION, 4), Ok(0xffff_ffff));
    let h = Header {
        class: 0x100_0000,
        ..HDR
    };
    assert_eq!(c.reset(&h), Err(CfgError::BadHeader));
}

#[test]
fn the_capabilities_list_ends() {
    let mut c = ConfigSpace::new(&HDR).unwrap();
    // Bounded walks: an iterator that never ends must fail here, not hang.
    let bound = MAX_CAP_HOPS + 1;
    assert_eq!(c.capabilities().take(bound).count(), 0);
    let pm = c.add_capability(0x01, &[0x03, 0x00, 0x08, 0x00, 0x00, 0x00], &[]);
    let exp = c.add_capability(0x10, &[0x02, 0x00], &[]);
    let mut caps = c.capabilities();
    assert_eq!(caps.next(), Some((pm.unwrap(), 0x01)));
    assert_eq!(caps.next(), Some((exp.unwrap(), 0x10)));
    assert_eq!(caps.next(), None);
    assert_eq!(c.capabilities().take(bound).count(), 2);
}

/// A `core::fmt::Write` sink into a fixed buffer.
struct Text {
    buf: [u8; 512],
    len: usize,
}

impl core::fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let dst = self
            .buf
            .get_mut(self.len..self.len + s.len())
            .ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

impl Text {
    fn contains(&self, needle: &str) -> bool {
        self.buf[..self.len]
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }
}

#[test]
fn debug_shows_identity_and_registers() {
    let mut c = ConfigSpace::new(&HDR).unwrap();
    c.write(PCI_COMMAND, 2, u32::from(PCI_COMMAND_MEMORY))
        .unwrap();
    let mut t = Text {
        buf: [0; 512],
        len: 0,
    };
    core::fmt::write(&mut t, format_args!("{c:?}")).unwrap();
    assert!(t.contains("ConfigSpace"));
    // 0x8086 and 0x5845, the vendor and device IDs, in decimal.
    assert!(t.contains("vendor: Ok(32902)"));
    assert!(t.contains("device: Ok(22597)"));
    assert!(t.contains("command: 2"));
}
