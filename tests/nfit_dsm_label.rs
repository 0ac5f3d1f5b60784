// SPDX-License-Identifier: GPL-2.0

//! Label area commands: Get Config Size, Get Config Data, Set Config Data, byte for byte and
//! every invalid offset and length.

use nvmock_model::nfit::dsm::{DsmError, CMD_GET_CONFIG_DATA};
use nvmock_model::nfit::label::*;

fn hdr(offset: u32, length: u32, total: usize) -> Vec<u8> {
    let mut b = vec![0xeeu8; total];
    b[0..4].copy_from_slice(&offset.to_le_bytes());
    b[4..8].copy_from_slice(&length.to_le_bytes());
    b
}

#[test]
fn get_config_size_layout() {
    let mut mem = vec![0u8; 128 << 10];
    let area = LabelArea::new(&mut mem).unwrap();
    let mut buf = [0xffu8; 12];
    let done = area.get_config_size(&mut buf).unwrap();
    assert_eq!(done.written, 12);
    assert_eq!(done.residual, 0);
    assert_eq!(buf, [0, 0, 0, 0, 0, 0, 2, 0, 0, 0x10, 0, 0]);
    // A longer buffer is fine, the rest untouched.
    let mut buf = [0xffu8; 16];
    area.get_config_size(&mut buf).unwrap();
    assert_eq!(&buf[12..], &[0xff; 4]);
    for len in 0..12 {
        let mut buf = vec![0xffu8; len];
        assert_eq!(area.get_config_size(&mut buf), Err(DsmError::Invalid));
        assert!(buf.iter().all(|&b| b == 0xff));
    }
}

#[test]
fn get_config_data_layout_and_residual() {
    let mut mem: Vec<u8> = (0..1024u32).map(|i| i as u8).collect();
    let area = LabelArea::new(&mut mem).unwrap();
    let mut buf = hdr(16, 4, 12 + 4);
    let done = area.get_config_data(&mut buf).unwrap();
    assert_eq!(buf, [16, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 16, 17, 18, 19]);
    assert_eq!((done.written, done.residual), (16, 0));
    // A larger buffer: residual counts the unused bytes.
    let mut buf = hdr(0, 8, 12 + 100);
    let done = area.get_config_data(&mut buf).unwrap();
    assert_eq!(&buf[12..20], &[0, 1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(buf[20], 0xee);
    assert_eq!((done.written, done.residual), (20, 92));
    // Length past the end is cut to the area, status 0.
    let mut buf = hdr(1020, 16, 12 + 16);
    let done = area.get_config_data(&mut buf).unwrap();
    assert_eq!(&buf[8..12], &[0; 4]);
    assert_eq!(&buf[12..16], &[252, 253, 254, 255]);
    assert_eq!(buf[16], 0xee);
    assert_eq!((done.written, done.residual), (16, 12));
    // Zero length.
    let mut buf = hdr(5, 0, 12);
    assert_eq!(area.get_config_data(&mut buf).unwrap().written, 12);
}

#[test]
fn get_config_data_invalid() {
    let mut mem = vec![7u8; 1024];
    let area = LabelArea::new(&mut mem).unwrap();
    let cases: &[(u32, u32, usize)] = &[
        (1024, 1, 13),         // offset at the end
        (u32::MAX, 1, 13),     // offset far past
        (0, 2, 13),            // length does not fit in the buffer
        (0, u32::MAX, 64),     // huge length
        (1023, 1000, 12 + 10), // cut length would fit, asked length does not
    ];
    for &(off, len, total) in cases {
        let mut buf = hdr(off, len, total);
        let before = buf.clone();
        assert_eq!(area.get_config_data(&mut buf), Err(DsmError::Invalid));
        assert_eq!(buf, before, "{off} {len} {total}");
    }
    for total in 0..12 {
        let mut buf = vec![0u8; total];
        assert_eq!(area.get_config_data(&mut buf), Err(DsmError::Invalid));
    }
    let _ = CMD_GET_CONFIG_DATA;
}

#[test]
fn set_config_data_layout() {
    let mut mem = vec![0u8; 256];
    let mut area = LabelArea::new(&mut mem).unwrap();
    let mut buf = hdr(10, 3, 8 + 3 + 4 + 5);
    buf[8..11].copy_from_slice(&[1, 2, 3]);
    let done = area.set_config_data(&mut buf).unwrap();
    assert_eq!(&buf[11..15], &[0; 4]);
    assert_eq!(&buf[15..], &[0xee; 5]);
    assert_eq!((done.written, done.residual), (15, 5));
    assert_eq!(&area.bytes()[9..14], &[0, 1, 2, 3, 0]);
    // Cut at the end; the status still follows the asked length.
    let mut buf = hdr(254, 4, 8 + 4 + 4);
    buf[8..12].copy_from_slice(&[9, 9, 9, 9]);
    let done = area.set_config_data(&mut buf).unwrap();
    assert_eq!(&buf[12..16], &[0; 4]);
    assert_eq!(&area.bytes()[252..], &[0, 0, 9, 9]);
    assert_eq!(area.bytes().len(), 256);
    assert_eq!((done.written, done.residual), (16, 2));
}

#[test]
fn set_config_data_invalid() {
    let mut mem = vec![0u8; 256];
    let mut area = LabelArea::new(&mut mem).unwrap();
    let cases: &[(u32, u32, usize)] = &[
        (256, 1, 13),
        (0, 1, 12), // no room for the status
        (0, 0, 11), // no room for the status
        (0, u32::MAX, 64),
    ];
    for &(off, len, total) in cases {
        let mut buf = hdr(off, len, total);
        let before = buf.clone();
        assert_eq!(area.set_config_data(&mut buf), Err(DsmError::Invalid));
        assert_eq!(buf, before);
    }
    for total in 0..8 {
        let mut buf = vec![0u8; total];
        assert_eq!(area.set_config_data(&mut buf), Err(DsmError::Invalid));
    }
    assert!(area.bytes().iter().all(|&b| b == 0));
}

#[test]
fn write_then_read_back() {
    let mut mem = vec![0u8; 4096];
    let mut area = LabelArea::new(&mut mem).unwrap();
    let data: Vec<u8> = (0..200).map(|i| (i * 7) as u8).collect();
    let mut buf = hdr(1000, 200, 8 + 200 + 4);
    buf[8..208].copy_from_slice(&data);
    area.set_config_data(&mut buf).unwrap();
    let mut buf = hdr(1000, 200, 12 + 200);
    area.get_config_data(&mut buf).unwrap();
    assert_eq!(&buf[12..], &data[..]);
}
