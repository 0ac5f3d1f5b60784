// SPDX-License-Identifier: GPL-2.0

//! The PRP walker's remaining count, segment by segment (found missing by `make mutants`).
//! Core only, so that it also runs as a KUnit case.

use nvmock_model::nvme::*;

/// 16 KiB of guest memory at address 0.
struct Mem([u8; 0x4000]);

impl HostMemory for Mem {
    fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let a = usize::try_from(addr).map_err(|_| MemError::Unmapped)?;
        let end = a.checked_add(buf.len()).ok_or(MemError::Unmapped)?;
        buf.copy_from_slice(self.0.get(a..end).ok_or(MemError::Unmapped)?);
        Ok(())
    }

    fn write(&mut self, _addr: u64, _buf: &[u8]) -> Result<(), MemError> {
        Err(MemError::Denied)
    }
}

#[test]
fn remaining_counts_down_per_segment() {
    let mut m = Mem([0; 0x4000]);
    // A two-entry list at 0x3000.
    m.0[0x3000..0x3008].copy_from_slice(&0x7000u64.to_le_bytes());
    m.0[0x3008..0x3010].copy_from_slice(&0x9000u64.to_le_bytes());
    let len = 4096 * 2 + 100;
    let mut p = Prp::new(0x1004, 0x3000, len, 4096).unwrap();
    assert_eq!(p.remaining(), len);
    let s = p.next_segment(&mut m).unwrap().unwrap();
    assert_eq!((s.addr, s.len), (0x1004, 4092));
    assert_eq!(p.remaining(), len - 4092);
    let s = p.next_segment(&mut m).unwrap().unwrap();
    assert_eq!((s.addr, s.len), (0x7000, 4096));
    assert_eq!(p.remaining(), 104);
    let s = p.next_segment(&mut m).unwrap().unwrap();
    assert_eq!((s.addr, s.len), (0x9000, 104));
    assert_eq!(p.remaining(), 0);
    assert_eq!(p.next_segment(&mut m), Ok(None));
}
