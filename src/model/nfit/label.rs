// SPDX-License-Identifier: GPL-2.0

//! A DIMM's label storage area (the "config data" of the NVDIMM `_DSM` interface): Get Config
//! Size, Get Config Data and Set Config Data, answered the way nfit_test answers them
//! (`nfit_test_cmd_get_config_size()`, `nfit_test_cmd_get_config_data()`,
//! `nfit_test_cmd_set_config_data()` in `tools/testing/nvdimm/test/nfit.c`).
//!
//! Every command works on one in/out buffer, as `nd_desc->ndctl()` hands it over: the input
//! fields first, the output fields after them (`include/uapi/linux/ndctl.h`).
//!
//! # Decisions
//!
//! - The area is the caller's slice; its length is the config size nfit_test reports as
//!   `LABEL_SIZE` (128 KiB there). It must fit in 32 bits ([`LabelArea::new`]).
//! - Max transfer is [`MAX_XFER`] (4 KiB) whatever the area's size, as nfit_test reports it;
//!   like nfit_test, reads and writes do not enforce it.
//! - Invalid requests (buffer shorter than the header, offset at or past the end, length not
//!   fitting in the buffer) fail as a whole ([`DsmError::Invalid`], nfit_test's `-EINVAL`)
//!   and leave the payload's status field untouched. A length running past the end of the
//!   area is cut to the area and succeeds with status 0, as in nfit_test.
//! - The residual byte count nfit_test returns as a positive `rc` (buffer bytes the command
//!   did not use) is [`Done::residual`].

use super::super::le::{put_u32, u32_at};
use super::dsm::{Done, DsmError};
use core::ops::{Deref, DerefMut};

/// Largest transfer Get Config Size reports (nfit_test's `SZ_4K`).
pub const MAX_XFER: u32 = 4096;
/// Get Config Size payload: status, config size, max transfer.
pub const GET_SIZE_LEN: usize = 12;
/// Get Config Data header: offset, length, status (data follows).
pub const GET_DATA_HDR: usize = 12;
/// Set Config Data header: offset, length (data, then a status, follow).
pub const SET_DATA_HDR: usize = 8;

/// A DIMM's label storage area over memory the caller provides.
///
/// # Invariants
///
/// `data.len()` fits in a `u32`; commands never change it.
#[derive(Debug)]
pub struct LabelArea<'a> {
    data: &'a mut [u8],
}

impl<'a> LabelArea<'a> {
    /// A label area over `data`, or `None` if it is 4 GiB or more.
    pub fn new(data: &'a mut [u8]) -> Option<LabelArea<'a>> {
        u32::try_from(data.len()).ok()?;
        Some(LabelArea { data })
    }

    /// The area's bytes (also through `Deref`, so that a [`super::dsm::Dimm`] can keep
    /// its label area as a `LabelArea`).
    pub fn bytes(&self) -> &[u8] {
        self.data
    }

    /// The config size reported (the area's length).
    pub fn size(&self) -> u32 {
        // Fits by the invariant.
        u32::try_from(self.data.len()).unwrap_or(u32::MAX)
    }

    /// Get Config Size (`ND_CMD_GET_CONFIG_SIZE`): writes status 0, the size and
    /// [`MAX_XFER`] to a buffer of at least [`GET_SIZE_LEN`] bytes.
    pub fn get_config_size(&self, buf: &mut [u8]) -> Result<Done, DsmError> {
        if buf.len() < GET_SIZE_LEN {
            return Err(DsmError::Invalid);
        }
        put_u32(buf, 0, 0);
        put_u32(buf, 4, self.size());
        put_u32(buf, 8, MAX_XFER);
        Ok(Done::written(GET_SIZE_LEN))
    }

    /// Get Config Data (`ND_CMD_GET_CONFIG_DATA`): the header's `in_length` bytes from
    /// `in_offset` (cut at the end of the area) follow the status; the buffer must hold the
    /// header and `in_length` bytes.
    pub fn get_config_data(&self, buf: &mut [u8]) -> Result<Done, DsmError> {
        if buf.len() < GET_DATA_HDR {
            return Err(DsmError::Invalid);
        }
        let (offset, length) = (u32_at(buf, 0) as usize, u32_at(buf, 4) as usize);
        let size = self.data.len();
        if offset >= size || length.saturating_add(GET_DATA_HDR) > buf.len() {
            return Err(DsmError::Invalid);
        }
        let len = length.min(size - offset);
        put_u32(buf, 8, 0);
        let src = self.data.get(offset..offset + len).unwrap_or(&[]);
        if let Some(dst) = buf.get_mut(GET_DATA_HDR..GET_DATA_HDR + src.len()) {
            dst.copy_from_slice(src);
        }
        let written = GET_DATA_HDR + len;
        Ok(Done {
            residual: buf.len() - written,
            ..Done::written(written)
        })
    }

    /// Set Config Data (`ND_CMD_SET_CONFIG_DATA`): writes the header's `in_length` bytes
    /// (cut at the end of the area) at `in_offset`, then status 0 after the data; the buffer
    /// must hold the header, `in_length` bytes and the status.
    pub fn set_config_data(&mut self, buf: &mut [u8]) -> Result<Done, DsmError> {
        if buf.len() < SET_DATA_HDR {
            return Err(DsmError::Invalid);
        }
        let (offset, length) = (u32_at(buf, 0) as usize, u32_at(buf, 4) as usize);
        let size = self.data.len();
        if offset >= size || length.saturating_add(SET_DATA_HDR + 4) > buf.len() {
            return Err(DsmError::Invalid);
        }
        let status_at = SET_DATA_HDR + length;
        put_u32(buf, status_at, 0);
        let len = length.min(size - offset);
        let src = buf.get(SET_DATA_HDR..SET_DATA_HDR + len).unwrap_or(&[]);
        if let Some(dst) = self.data.get_mut(offset..offset + src.len()) {
            dst.copy_from_slice(src);
        }
        Ok(Done {
            residual: buf.len() - (SET_DATA_HDR + len + 4),
            ..Done::written(status_at + 4)
        })
    }
}

impl Deref for LabelArea<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.data
    }
}

impl DerefMut for LabelArea<'_> {
    /// The bytes, writable; the length cannot change, so the invariant holds.
    fn deref_mut(&mut self) -> &mut [u8] {
        self.data
    }
}
