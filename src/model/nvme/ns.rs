// SPDX-License-Identifier: GPL-2.0

//! Namespaces at run time: which of the allocated namespaces are attached (active), the LBA
//! format each is in, and Format NVM.
//!
//! The namespaces of [`Params`] are the allocated ones (NSIDs 1 to
//! [`Params::namespace_count`]); the caller attaches and detaches them with
//! [`Controller::attach_namespace`] and [`Controller::detach_namespace`] (there is no
//! Namespace Attachment command). Every namespace offers two LBA formats, neither with
//! metadata: format 0 of 512-byte blocks and format 1 of 4096-byte blocks. Its capacity in
//! bytes is fixed by [`Params`]; its capacity in blocks is as many whole blocks of the current
//! format as fit in it. Attachment and formats are kept across controller resets.

use super::admin::ASYNC_NAMESPACE_NOTICES;
use super::ctrl::Controller;
use super::params::{Namespace, Params, MAX_NAMESPACES};
use super::queue::Sqe;
use super::status::Status;
use super::Backing;

/// The broadcast namespace ID.
pub(super) const NSID_ALL: u32 = 0xffff_ffff;

/// The LBA formats every namespace supports, by index (Identify Namespace LBAF0 and LBAF1):
/// log2 of the logical block size. No metadata, no protection information.
pub(super) const LBA_FORMATS: [u8; 2] = [9, 12];

/// The bit of NSID `nsid` (1 to 32) in a namespace mask; 0 for other NSIDs.
fn ns_bit(nsid: u32) -> u32 {
    nsid.checked_sub(1)
        .and_then(|i| 1u32.checked_shl(i))
        .unwrap_or(0)
}

/// Format NVM CDW10: LBA Format (3:0).
const FORMAT_LBAF: u32 = 0xf;
/// Format NVM CDW10: Protection Information (7:5).
const FORMAT_PI: u32 = 7 << 5;
/// Format NVM CDW10: Protection Information Location (8).
const FORMAT_PIL: u32 = 1 << 8;
/// Format NVM CDW10: Secure Erase Settings (11:9).
const FORMAT_SES_SHIFT: u32 = 9;
/// Format NVM CDW10: LBA Format upper bits (13:12).
const FORMAT_LBAFU_SHIFT: u32 = 12;
/// Format NVM CDW10: reserved bits (31:14).
const FORMAT_RESERVED: u32 = !0x3fff;

/// Why [`Controller::attach_namespace`] or [`Controller::detach_namespace`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsError {
    /// The NSID is not one of the allocated namespaces (1 to [`Params::namespace_count`]).
    Invalid,
    /// The namespace is already attached.
    AlreadyAttached,
    /// The namespace is not attached.
    NotAttached,
}

/// Whether an allocated namespace is attached to the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Attachment {
    /// Active: listed by Identify, reachable by I/O.
    Attached,
    /// Inactive: Identify Namespace reads zeroes, commands to it fail.
    Detached,
}

/// The run-time state of an allocated namespace.
///
/// # Invariants
///
/// For an allocated namespace `ns` of the parameters, `lba_shift` is one of [`LBA_FORMATS`]
/// and `ns.reformatted(lba_shift)` is `Some`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct NsState {
    pub(super) attachment: Attachment,
    pub(super) lba_shift: u8,
}

impl NsState {
    /// The state of a slot beyond the allocated namespaces (never looked at).
    const NONE: NsState = NsState {
        attachment: Attachment::Detached,
        lba_shift: 9,
    };

    /// Every allocated namespace attached, in the format the parameters give it.
    pub(super) fn initial(p: &Params) -> [NsState; MAX_NAMESPACES] {
        let mut all = [NsState::NONE; MAX_NAMESPACES];
        for (nsid, s) in (1u32..).zip(all.iter_mut()) {
            if let Some(ns) = p.namespace(nsid) {
                // INVARIANT: `reformatted` with the namespace's own shift is itself.
                *s = NsState {
                    attachment: Attachment::Attached,
                    lba_shift: ns.lba_shift(),
                };
            }
        }
        all
    }

    /// The index of the current LBA format (Identify Namespace FLBAS).
    pub(super) fn format_index(&self) -> u8 {
        LBA_FORMATS
            .iter()
            .position(|&s| s == self.lba_shift)
            .unwrap_or(0) as u8
    }
}

impl<const QUEUES: usize> Controller<QUEUES> {
    /// The state of allocated namespace `nsid`.
    fn ns_state(&self, nsid: u32) -> Option<&NsState> {
        self.params.namespace(nsid)?;
        self.namespaces
            .get(usize::try_from(nsid.checked_sub(1)?).ok()?)
    }

    fn ns_state_mut(&mut self, nsid: u32) -> Option<&mut NsState> {
        self.params.namespace(nsid)?;
        self.namespaces
            .get_mut(usize::try_from(nsid.checked_sub(1)?).ok()?)
    }

    /// Allocated namespace `nsid` in its current format, attached or not.
    pub(super) fn current_namespace(&self, nsid: u32) -> Option<Namespace> {
        let s = self.ns_state(nsid)?;
        self.params.namespace(nsid)?.reformatted(s.lba_shift)
    }

    /// Namespace `nsid` in its current format if it is active; Invalid Namespace or Format if
    /// it is not allocated or not attached.
    pub(super) fn active_namespace(&self, nsid: u32) -> Result<Namespace, Status> {
        match self.ns_state(nsid).map(|s| s.attachment) {
            Some(Attachment::Attached) => self
                .current_namespace(nsid)
                .ok_or(Status::INVALID_NAMESPACE),
            Some(Attachment::Detached) | None => Err(Status::INVALID_NAMESPACE),
        }
    }

    /// Namespace `nsid` in its current format and the index of that format, if it is active.
    pub(super) fn active_format(&self, nsid: u32) -> Option<(Namespace, u8)> {
        let s = self.ns_state(nsid)?;
        match s.attachment {
            Attachment::Attached => Some((self.current_namespace(nsid)?, s.format_index())),
            Attachment::Detached => None,
        }
    }

    /// The active namespaces: bit `n - 1` for NSID `n`.
    pub(super) fn attached_mask(&self) -> u32 {
        (1..=self.params.namespace_count())
            .filter(|&n| self.is_attached(n))
            .fold(0, |m, n| m | ns_bit(n))
    }

    /// Whether namespace `nsid` is allocated and attached.
    pub fn is_attached(&self, nsid: u32) -> bool {
        self.ns_state(nsid)
            .is_some_and(|s| s.attachment == Attachment::Attached)
    }

    /// The current logical block size of allocated namespace `nsid` (attached or not): the
    /// one [`Params::namespace`] gives until a Format NVM changes it.
    pub fn lba_size(&self, nsid: u32) -> Option<u32> {
        self.current_namespace(nsid).map(|n| n.lba_size())
    }

    /// Attaches allocated namespace `nsid`: detached -> attached. The namespace becomes
    /// active (Identify lists it, I/O reaches it), is added to the Changed Namespace List, and
    /// a Namespace Attribute Changed notice is raised if the host enabled them. Works in any
    /// controller state.
    pub fn attach_namespace(&mut self, nsid: u32) -> Result<(), NsError> {
        let s = self.ns_state_mut(nsid).ok_or(NsError::Invalid)?;
        match s.attachment {
            Attachment::Attached => Err(NsError::AlreadyAttached),
            Attachment::Detached => {
                s.attachment = Attachment::Attached;
                self.namespace_changed(nsid);
                Ok(())
            }
        }
    }

    /// Detaches allocated namespace `nsid`: attached -> detached. The namespace becomes
    /// inactive (Identify Namespace reads zeroes, commands to it fail with Invalid Namespace
    /// or Format; its contents and format are kept), and is reported as in
    /// [`Controller::attach_namespace`].
    pub fn detach_namespace(&mut self, nsid: u32) -> Result<(), NsError> {
        let s = self.ns_state_mut(nsid).ok_or(NsError::Invalid)?;
        match s.attachment {
            Attachment::Detached => Err(NsError::NotAttached),
            Attachment::Attached => {
                s.attachment = Attachment::Detached;
                self.namespace_changed(nsid);
                Ok(())
            }
        }
    }

    /// The attributes of namespace `nsid` changed: it joins the Changed Namespace List, and a
    /// notice is queued if Asynchronous Event Configuration enables namespace notices.
    fn namespace_changed(&mut self, nsid: u32) {
        self.logs.namespace_changed(nsid);
        if self.features.async_config & ASYNC_NAMESPACE_NOTICES != 0 {
            self.events.namespace_notice();
        }
    }

    /// Format NVM: namespace `nsid`, or every attached namespace for the broadcast NSID.
    ///
    /// Invalid Field for reserved bits or a secure erase other than none or user data erase
    /// (cryptographic erase is not supported); Invalid Namespace or Format for an NSID that
    /// is not an attached namespace; Invalid Format for an LBA format other than 0 and 1,
    /// protection information, PI location first, or a format in which a namespace would not
    /// hold one block. MSET is ignored: the formats have no metadata. Nothing is formatted
    /// unless every check passes. Each namespace is then zeroed in full and switched to the
    /// new format, in NSID order; a backing failure stops there with Write Fault (that
    /// namespace keeps its old format).
    pub(super) fn format_nvm<B: Backing>(
        &mut self,
        sqe: &Sqe,
        backing: &mut B,
    ) -> Result<u32, Status> {
        let f = sqe.cdw10;
        if f & FORMAT_RESERVED != 0 {
            return Err(Status::INVALID_FIELD);
        }
        match f >> FORMAT_SES_SHIFT & 7 {
            // No secure erase, user data erase: both zero the namespace.
            0 | 1 => {}
            // Cryptographic erase (Identify Controller FNA bit 2 clear) and reserved values.
            _ => return Err(Status::INVALID_FIELD),
        }
        let count = self.params.namespace_count();
        // Bit n - 1: NSID n.
        let targets: u32 = if sqe.nsid == NSID_ALL {
            self.attached_mask()
        } else if self.is_attached(sqe.nsid) {
            ns_bit(sqe.nsid)
        } else {
            return Err(Status::INVALID_NAMESPACE);
        };
        let index = (f & FORMAT_LBAF) | (f >> FORMAT_LBAFU_SHIFT & 3) << 4;
        let shift = usize::try_from(index)
            .ok()
            .and_then(|i| LBA_FORMATS.get(i))
            .copied()
            .ok_or(Status::INVALID_FORMAT)?;
        if f & (FORMAT_PI | FORMAT_PIL) != 0 {
            return Err(Status::INVALID_FORMAT);
        }
        let chosen = |n: u32| targets & ns_bit(n) != 0;
        for nsid in (1..=count).filter(|&n| chosen(n)) {
            let ns = self.params.namespace(nsid).ok_or(Status::INTERNAL_ERROR)?;
            ns.reformatted(shift).ok_or(Status::INVALID_FORMAT)?;
        }
        for nsid in (1..=count).filter(|&n| chosen(n)) {
            let bytes = self
                .params
                .namespace(nsid)
                .ok_or(Status::INTERNAL_ERROR)?
                .bytes();
            backing
                .zero(nsid, 0, bytes)
                .map_err(|_| Status::WRITE_FAULT)?;
            if let Some(s) = self.ns_state_mut(nsid) {
                // INVARIANT: `reformatted(shift)` was checked above.
                s.lba_shift = shift;
            }
            self.namespace_changed(nsid);
        }
        Ok(0)
    }
}
