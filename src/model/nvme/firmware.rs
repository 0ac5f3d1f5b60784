// SPDX-License-Identifier: GPL-2.0

//! Firmware slots: Firmware Image Download, Firmware Commit and the Firmware Slot Information
//! log.
//!
//! There are seven slots. Slot 1 is read-only and holds the revision of [`Params`]; slots 2
//! to 7 start empty. Images are not stored: a download only keeps track of which dword ranges
//! of the pending image have arrived (pieces may come in any order but must not overlap, and
//! the image is at most [`FIRMWARE_IMAGE_MAX`] bytes). Committing a complete image (one
//! contiguous range from offset 0) puts a new revision in a slot, `IMG` and five decimal
//! digits counting the images committed since the controller was created (modulo 100000).
//!
//! Commit actions: 000b replaces the image in a slot; 001b also activates it at the next
//! controller reset; 010b activates the image already in a slot at the next controller
//! reset; 011b activates at once (the downloaded image if there is one, otherwise the one in
//! the slot). A controller reset (CC.EN 1 -> 0) discards a partial download and runs the slot
//! set to be activated next, or else the active slot (whose image 000b may have replaced).
//! Slots and the active slot are kept across controller resets.

use super::super::le::put;
use super::logs::PAGE_512;
use super::params::Params;
use super::status::Status;

/// Firmware slots (Identify Controller FRMW): slot 1 is read-only.
pub(super) const FIRMWARE_SLOTS: u8 = 7;
/// Largest firmware image Firmware Image Download accepts, in bytes (16 MiB).
pub const FIRMWARE_IMAGE_MAX: u32 = 16 << 20;
/// Separate (not adjoining) pieces of a pending image tracked at once: a download that would
/// need more fails with Invalid Field.
const PIECES: usize = 8;

/// A firmware revision: 8 ASCII bytes, all zeroes for an empty slot.
pub(super) type Revision = [u8; 8];

/// The dword ranges of the image being downloaded.
///
/// # Invariants
///
/// `ranges[..count]` are non-empty half-open ranges, ending at most at
/// `FIRMWARE_IMAGE_MAX / 4`, sorted, and neither overlapping nor adjoining.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pieces {
    ranges: [(u32, u32); PIECES],
    count: usize,
}

impl Pieces {
    const EMPTY: Pieces = Pieces {
        ranges: [(0, 0); PIECES],
        count: 0,
    };

    fn ranges(&self) -> &[(u32, u32)] {
        self.ranges.get(..self.count).unwrap_or(&[])
    }

    /// These pieces and dwords `start..end` (non-empty, within the image limit): Overlapping
    /// Range if they overlap a piece already there, Invalid Field if there is no room.
    fn with(&self, start: u32, end: u32) -> Result<Pieces, Status> {
        if self.ranges().iter().any(|&(s, e)| start < e && s < end) {
            return Err(Status::OVERLAPPING_RANGE);
        }
        let mut merged = (start, end);
        let mut out = Pieces::EMPTY;
        let mut placed = false;
        for &(s, e) in self.ranges() {
            if e == merged.0 || s == merged.1 {
                merged = (merged.0.min(s), merged.1.max(e));
                continue;
            }
            if !placed && s > merged.1 {
                out.push(merged)?;
                placed = true;
            }
            out.push((s, e))?;
        }
        if !placed {
            out.push(merged)?;
        }
        // INVARIANT: the input was sorted, disjoint and not adjoining; `merged` swallowed its
        // neighbours and went in at its place.
        Ok(out)
    }

    fn push(&mut self, r: (u32, u32)) -> Result<(), Status> {
        let slot = self
            .ranges
            .get_mut(self.count)
            .ok_or(Status::INVALID_FIELD)?;
        *slot = r;
        self.count += 1;
        Ok(())
    }

    /// Whether the pieces make one image: a single range from offset 0.
    fn complete(&self) -> bool {
        matches!(self.ranges(), [(0, _)])
    }
}

/// The firmware slots and the download in progress.
///
/// # Invariants
///
/// `active` is 1 to [`FIRMWARE_SLOTS`] and names a slot holding an image, as does `next` if
/// set; slot 1 always holds the revision of the parameters; `running` is what the controller
/// runs (Identify Controller FR).
#[derive(Clone, Copy, Debug)]
pub(super) struct Firmware {
    slots: [Revision; FIRMWARE_SLOTS as usize],
    active: u8,
    next: Option<u8>,
    running: Revision,
    pending: Pieces,
    /// Images committed so far.
    images: u32,
}

impl Firmware {
    /// Slot 1 active, holding the revision of `p`; the other slots empty.
    pub(super) fn new(p: &Params) -> Firmware {
        let mut slots = [[0; 8]; FIRMWARE_SLOTS as usize];
        if let Some(s) = slots.first_mut() {
            *s = *p.firmware();
        }
        Firmware {
            slots,
            active: 1,
            next: None,
            running: *p.firmware(),
            pending: Pieces::EMPTY,
            images: 0,
        }
    }

    /// The running revision.
    pub(super) fn running(&self) -> &Revision {
        &self.running
    }

    fn slot(&self, slot: u8) -> Option<&Revision> {
        self.slots.get(usize::from(slot).checked_sub(1)?)
    }

    fn occupied(&self, slot: u8) -> bool {
        self.slot(slot).is_some_and(|r| *r != [0; 8])
    }

    /// Firmware Image Download of dwords `offset..offset + count`: checks the range and where
    /// it goes, calls `transfer` to move the data, and records the piece if both succeed.
    /// Invalid Field for a range beyond [`FIRMWARE_IMAGE_MAX`] or too many pieces,
    /// Overlapping Range for a piece that overlaps one already downloaded.
    pub(super) fn download(
        &mut self,
        offset: u64,
        count: u64,
        transfer: impl FnOnce() -> Result<(), Status>,
    ) -> Result<(), Status> {
        let end = offset.saturating_add(count);
        if count == 0 || end > u64::from(FIRMWARE_IMAGE_MAX / 4) {
            return Err(Status::INVALID_FIELD);
        }
        // Both below 2^22.
        let next = self.pending.with(offset as u32, end as u32)?;
        transfer()?;
        self.pending = next;
        Ok(())
    }

    /// Firmware Commit with CDW10 `cdw10`: Firmware Slot (2:0), Commit Action (5:3).
    ///
    /// Commit actions 000b, 001b and 011b with a downloaded image need a writable slot: FS 1
    /// is Invalid Firmware Slot; FS 0 picks the first empty one of slots 2 to 7, or else the
    /// first that is neither active nor to be activated next. They consume the download,
    /// whether it is complete or not (Invalid Firmware Image). Commit actions 010b, and 011b
    /// without a download, activate slot FS (1 to 7; FS 0 is Invalid Firmware Slot), which must
    /// hold an image (Invalid Firmware Image). Boot partition and reserved actions, and
    /// reserved bits, are Invalid Field.
    pub(super) fn commit(&mut self, cdw10: u32) -> Result<u32, Status> {
        if cdw10 & 0x7fff_ffc0 != 0 {
            return Err(Status::INVALID_FIELD);
        }
        let fs = (cdw10 & 7) as u8;
        match cdw10 >> 3 & 7 {
            0b000 => {
                let slot = self.writable_slot(fs)?;
                self.install(slot)?;
            }
            0b001 => {
                let slot = self.writable_slot(fs)?;
                self.install(slot)?;
                self.next = Some(slot);
            }
            0b010 => {
                let slot = self.filled_slot(fs)?;
                self.next = Some(slot);
            }
            0b011 => {
                let slot = if self.pending.count == 0 {
                    self.filled_slot(fs)?
                } else {
                    let slot = self.writable_slot(fs)?;
                    self.install(slot)?;
                    slot
                };
                self.activate(slot);
            }
            // 110b and 111b (boot partitions, not supported), 100b and 101b (reserved).
            _ => return Err(Status::INVALID_FIELD),
        }
        // DW0: no multiple update detected.
        Ok(0)
    }

    /// The slot a new image goes to for Firmware Slot `fs`.
    fn writable_slot(&self, fs: u8) -> Result<u8, Status> {
        match fs {
            0 => {
                let free = (2..=FIRMWARE_SLOTS).find(|&s| !self.occupied(s));
                let idle = (2..=FIRMWARE_SLOTS).find(|&s| s != self.active && Some(s) != self.next);
                free.or(idle).ok_or(Status::INVALID_FIRMWARE_SLOT)
            }
            2..=FIRMWARE_SLOTS => Ok(fs),
            // Slot 1 is read-only; there are no others.
            _ => Err(Status::INVALID_FIRMWARE_SLOT),
        }
    }

    /// Slot `fs`, which must hold an image, for activation.
    fn filled_slot(&self, fs: u8) -> Result<u8, Status> {
        if fs == 0 || fs > FIRMWARE_SLOTS {
            return Err(Status::INVALID_FIRMWARE_SLOT);
        }
        if !self.occupied(fs) {
            return Err(Status::INVALID_FIRMWARE_IMAGE);
        }
        Ok(fs)
    }

    /// Takes the downloaded image into `slot` (a writable one), with the next revision.
    fn install(&mut self, slot: u8) -> Result<(), Status> {
        let complete = self.pending.complete();
        self.pending = Pieces::EMPTY;
        if !complete {
            return Err(Status::INVALID_FIRMWARE_IMAGE);
        }
        self.images = self.images.wrapping_add(1);
        let mut rev = *b"IMG00000";
        let mut n = self.images % 100_000;
        for b in rev.iter_mut().skip(3).rev() {
            *b = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let i = usize::from(slot).checked_sub(1).filter(|&i| i > 0);
        let s = i
            .and_then(|i| self.slots.get_mut(i))
            .ok_or(Status::INTERNAL_ERROR)?;
        // INVARIANT: slot 1 is never written; the revision is not all zeroes.
        *s = rev;
        Ok(())
    }

    /// Runs the image in `slot` (one holding an image) from now on.
    fn activate(&mut self, slot: u8) {
        if let Some(&rev) = self.slot(slot) {
            // INVARIANT: `slot` holds an image.
            self.active = slot;
            self.running = rev;
            self.next = None;
        }
    }

    /// A controller reset: the partial download is dropped, and the controller runs the slot
    /// to be activated next, or else the active one.
    pub(super) fn reset(&mut self) {
        self.pending = Pieces::EMPTY;
        let slot = self.next.take().unwrap_or(self.active);
        self.activate(slot);
    }

    /// The Firmware Slot Information log into `buf` (zeroed by the caller); returns its size.
    pub(super) fn slot_log(&self, buf: &mut [u8]) -> usize {
        // AFI: active slot (2:0), slot activated at the next reset (6:4).
        put(buf, 0, &[self.active | self.next.unwrap_or(0) << 4]);
        for (i, rev) in self.slots.iter().enumerate() {
            put(buf, 8 + 8 * i, rev);
        }
        PAGE_512
    }
}
