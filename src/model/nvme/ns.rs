// SPDX-License-Identifier: GPL-2.0

//! Namespaces at run time: the namespace slots, whether each holds a namespace (is allocated)
//! and whether that namespace is attached (active), the LBA format each is in, and the
//! commands that change them: Format NVM, Namespace Management and Namespace Attachment.
//!
//! The namespaces of [`Params`] (NSIDs 1 to [`Params::namespace_count`]) are *slots*. Each slot
//! has a fixed capacity in bytes, the one [`Params`] gives its namespace: the caller's
//! [`Backing`] holds that much for the NSID, and the model never asks for bytes beyond it. A
//! slot is unallocated, or holds a namespace that is detached or attached. At first every slot
//! holds the namespace [`Params`] describes, attached, in its format and with the slot's whole
//! capacity.
//!
//! Namespace Management deletes namespaces (detaching an attached one first) and creates them,
//! detached, in the lowest-numbered unallocated slot whose capacity holds the requested size;
//! Namespace Attachment, or the caller with [`Controller::attach_namespace`] and
//! [`Controller::detach_namespace`], attaches and detaches them (the same transitions, reported
//! the same way). Every namespace offers two LBA formats, neither with metadata: format 0 of
//! 512-byte blocks and format 1 of 4096-byte blocks. A namespace has a capacity in bytes (its
//! slot's for the namespaces of [`Params`], NSZE blocks of the format it was created in for a
//! created one) that Format NVM keeps; its size in blocks is as many whole blocks of the
//! current format as fit in it. Slots, attachment and formats are kept across controller
//! resets.

use super::super::le::{u16_at, u64_at};
use super::admin::ASYNC_NAMESPACE_NOTICES;
use super::ctrl::Controller;
use super::identify::{self, CONTROLLER_ID};
use super::params::{Namespace, Params, MAX_NAMESPACES};
use super::prp::{copy_in, Prp};
use super::queue::Sqe;
use super::status::Status;
use super::{Backing, HostMemory};

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

/// The LBA format index of a Format NVM LBAF / LBAFU pair or of an FLBAS field (bits 3:0 and
/// the upper bits 5:4 of the index), as a block size shift: Invalid Format for an unsupported
/// format.
fn format_shift(low: u32, high: u32) -> Result<u8, Status> {
    let index = (low & 0xf) | (high & 3) << 4;
    usize::try_from(index)
        .ok()
        .and_then(|i| LBA_FORMATS.get(i))
        .copied()
        .ok_or(Status::INVALID_FORMAT)
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

// Namespace Management and Namespace Attachment CDW10 is Select (bits 3:0), the other bits
// reserved: the commands match all of CDW10 against the Select values, so that a reserved bit
// set is Invalid Field like an unknown Select value.

/// Namespace Management Select: create.
const SEL_CREATE: u32 = 0;
/// Namespace Management Select: delete.
const SEL_DELETE: u32 = 1;
/// Namespace Attachment Select: controller attach.
const SEL_ATTACH: u32 = 0;
/// Namespace Attachment Select: controller detach.
const SEL_DETACH: u32 = 1;
/// Namespace Management CDW11: Command Set Identifier (31:24); 0 is the NVM command set.
const CSI_SHIFT: u32 = 24;
/// Size of the data of Namespace Management create (an Identify Namespace structure) and of
/// Namespace Attachment (a Controller List).
const DATA_SIZE: usize = 4096;
/// Namespace Management create data: NMIC bit 0, shared namespace.
const NMIC_SHARED: u8 = 1;

/// Why [`Controller::attach_namespace`] or [`Controller::detach_namespace`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NsError {
    /// The NSID is not one of the namespace slots (1 to [`Params::namespace_count`]).
    Invalid,
    /// The slot holds no namespace: Namespace Management deleted it (and has not created one
    /// there since).
    Unallocated,
    /// The namespace is already attached.
    AlreadyAttached,
    /// The namespace is not attached.
    NotAttached,
}

impl NsError {
    /// The status a Namespace Attachment command completes with for this refusal.
    fn status(self) -> Status {
        match self {
            NsError::Invalid | NsError::Unallocated => Status::INVALID_NAMESPACE,
            NsError::AlreadyAttached => Status::NAMESPACE_ALREADY_ATTACHED,
            NsError::NotAttached => Status::NAMESPACE_NOT_ATTACHED,
        }
    }
}

/// Whether an allocated namespace is attached to the controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Attachment {
    /// Active: listed by Identify, reachable by I/O.
    Attached,
    /// Inactive: Identify Namespace reads zeroes, commands to it fail.
    Detached,
}

/// A namespace in a slot.
///
/// # Invariants
///
/// `lba_shift` is one of [`LBA_FORMATS`]; `bytes` holds at least one block of it
/// (`Namespace::sized(bytes, lba_shift)` is `Some`) and is at most the capacity of the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct NsState {
    attachment: Attachment,
    /// The capacity in bytes, which Format NVM keeps.
    bytes: u64,
    lba_shift: u8,
    /// 0 for the namespaces of [`Params`], then counting the namespaces created (for the
    /// NGUID).
    generation: u32,
}

impl NsState {
    /// The namespace in its current format.
    fn namespace(&self) -> Option<Namespace> {
        Namespace::sized(self.bytes, self.lba_shift)
    }

    /// The index of the current LBA format (Identify Namespace FLBAS).
    fn format_index(&self) -> u8 {
        LBA_FORMATS
            .iter()
            .position(|&s| s == self.lba_shift)
            .unwrap_or(0) as u8
    }
}

/// A namespace slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Slot {
    /// No namespace: Namespace Management may create one here.
    Unallocated,
    /// A namespace, attached or detached.
    Allocated(NsState),
}

/// The namespace slots (slot `n - 1` for NSID `n`; those beyond [`Params::namespace_count`]
/// are never looked at).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Namespaces {
    slots: [Slot; MAX_NAMESPACES],
    /// The generation of the namespace created last (wraps, skipping 0).
    created: u32,
}

impl Namespaces {
    /// Every slot holding the namespace the parameters describe, attached, in its format.
    pub(super) fn new(p: &Params) -> Namespaces {
        let mut slots = [Slot::Unallocated; MAX_NAMESPACES];
        for (nsid, s) in (1u32..).zip(slots.iter_mut()) {
            if let Some(ns) = p.namespace(nsid) {
                // INVARIANT: the slot's own capacity in its own format holds `ns.blocks() >= 1`
                // blocks.
                *s = Slot::Allocated(NsState {
                    attachment: Attachment::Attached,
                    bytes: ns.bytes(),
                    lba_shift: ns.lba_shift(),
                    generation: 0,
                });
            }
        }
        Namespaces { slots, created: 0 }
    }
}

impl<const QUEUES: usize> Controller<QUEUES> {
    /// Namespace slot `nsid` (1 to [`Params::namespace_count`]).
    fn slot(&self, nsid: u32) -> Option<&Slot> {
        self.params.namespace(nsid)?;
        self.namespaces
            .slots
            .get(usize::try_from(nsid.checked_sub(1)?).ok()?)
    }

    fn slot_mut(&mut self, nsid: u32) -> Option<&mut Slot> {
        self.params.namespace(nsid)?;
        self.namespaces
            .slots
            .get_mut(usize::try_from(nsid.checked_sub(1)?).ok()?)
    }

    /// The capacity in bytes of slot `nsid`.
    fn slot_capacity(&self, nsid: u32) -> u64 {
        self.params.namespace(nsid).map_or(0, |n| n.bytes())
    }

    /// The state of allocated namespace `nsid`.
    fn ns_state(&self, nsid: u32) -> Option<&NsState> {
        match self.slot(nsid)? {
            Slot::Allocated(s) => Some(s),
            Slot::Unallocated => None,
        }
    }

    /// Allocated namespace `nsid` (attached or not) in its current format: its size in blocks
    /// and its block size. `None` for an unallocated slot or an NSID that is not a slot.
    pub fn current_namespace(&self, nsid: u32) -> Option<Namespace> {
        self.ns_state(nsid)?.namespace()
    }

    /// Namespace `nsid` in its current format if it is active; Invalid Namespace or Format if
    /// it is not allocated or not attached.
    pub(super) fn active_namespace(&self, nsid: u32) -> Result<Namespace, Status> {
        self.active_format(nsid)
            .map(|(ns, _)| ns)
            .ok_or(Status::INVALID_NAMESPACE)
    }

    /// Namespace `nsid` in its current format and the index of that format, if it is active.
    pub(super) fn active_format(&self, nsid: u32) -> Option<(Namespace, u8)> {
        let s = self.ns_state(nsid)?;
        match s.attachment {
            Attachment::Attached => Some((s.namespace()?, s.format_index())),
            Attachment::Detached => None,
        }
    }

    /// Namespace `nsid` in its current format and the index of that format, if it is
    /// allocated (attached or not).
    pub(super) fn allocated_format(&self, nsid: u32) -> Option<(Namespace, u8)> {
        let s = self.ns_state(nsid)?;
        Some((s.namespace()?, s.format_index()))
    }

    /// The NGUID of namespace `nsid` (of generation 0 if it is not allocated).
    pub(super) fn nguid(&self, nsid: u32) -> [u8; 16] {
        let generation = self.ns_state(nsid).map_or(0, |s| s.generation);
        identify::nguid(&self.params, nsid, generation)
    }

    /// The slots whose state satisfies `f`: bit `n - 1` for NSID `n`.
    fn mask(&self, f: impl Fn(&Slot) -> bool) -> u32 {
        (1..=self.params.namespace_count())
            .filter(|&n| self.slot(n).is_some_and(&f))
            .fold(0, |m, n| m | ns_bit(n))
    }

    /// The active namespaces: bit `n - 1` for NSID `n`.
    pub(super) fn attached_mask(&self) -> u32 {
        self.mask(|s| {
            matches!(
                s,
                Slot::Allocated(NsState {
                    attachment: Attachment::Attached,
                    ..
                })
            )
        })
    }

    /// The allocated namespaces: bit `n - 1` for NSID `n`.
    pub(super) fn allocated_mask(&self) -> u32 {
        self.mask(|s| matches!(s, Slot::Allocated(_)))
    }

    /// The capacity in bytes of the unallocated slots (Identify Controller UNVMCAP).
    pub(super) fn unallocated_capacity(&self) -> u128 {
        (1..=self.params.namespace_count())
            .filter(|&n| matches!(self.slot(n), Some(Slot::Unallocated)))
            .fold(0u128, |t, n| {
                t.saturating_add(u128::from(self.slot_capacity(n)))
            })
    }

    /// Whether namespace `nsid` is allocated and attached.
    pub fn is_attached(&self, nsid: u32) -> bool {
        self.ns_state(nsid)
            .is_some_and(|s| s.attachment == Attachment::Attached)
    }

    /// Whether slot `nsid` holds a namespace (attached or not).
    pub fn is_allocated(&self, nsid: u32) -> bool {
        self.ns_state(nsid).is_some()
    }

    /// The current logical block size of allocated namespace `nsid` (attached or not): the
    /// one [`Params::namespace`] gives (or Namespace Management created it with) until a
    /// Format NVM changes it.
    pub fn lba_size(&self, nsid: u32) -> Option<u32> {
        self.current_namespace(nsid).map(|n| n.lba_size())
    }

    // ---------------------------------------------------------------------------------------
    // Slot state transitions: one function each.

    /// Attaches allocated namespace `nsid`: detached -> attached. The namespace becomes
    /// active (Identify lists it, I/O reaches it), is added to the Changed Namespace List, and
    /// a Namespace Attribute Changed notice is raised if the host enabled them. Works in any
    /// controller state; Namespace Attachment (attach) does the same.
    ///
    /// Refused with [`NsError::Invalid`] for an NSID that is not a slot,
    /// [`NsError::Unallocated`] for an empty slot, [`NsError::AlreadyAttached`] for an attached
    /// namespace.
    pub fn attach_namespace(&mut self, nsid: u32) -> Result<(), NsError> {
        match self.slot_mut(nsid).ok_or(NsError::Invalid)? {
            Slot::Unallocated => Err(NsError::Unallocated),
            Slot::Allocated(s) => match s.attachment {
                Attachment::Attached => Err(NsError::AlreadyAttached),
                Attachment::Detached => {
                    s.attachment = Attachment::Attached;
                    self.namespace_changed(nsid);
                    Ok(())
                }
            },
        }
    }

    /// Detaches allocated namespace `nsid`: attached -> detached. The namespace becomes
    /// inactive (Identify Namespace reads zeroes, commands to it fail with Invalid Namespace
    /// or Format; its contents and format are kept), and is reported as in
    /// [`Controller::attach_namespace`]. Namespace Attachment (detach) does the same.
    ///
    /// Refused with [`NsError::Invalid`] for an NSID that is not a slot,
    /// [`NsError::Unallocated`] for an empty slot, [`NsError::NotAttached`] for a detached
    /// namespace.
    pub fn detach_namespace(&mut self, nsid: u32) -> Result<(), NsError> {
        match self.slot_mut(nsid).ok_or(NsError::Invalid)? {
            Slot::Unallocated => Err(NsError::Unallocated),
            Slot::Allocated(s) => match s.attachment {
                Attachment::Detached => Err(NsError::NotAttached),
                Attachment::Attached => {
                    s.attachment = Attachment::Detached;
                    self.namespace_changed(nsid);
                    Ok(())
                }
            },
        }
    }

    /// Creates a namespace of `bytes` bytes in format `lba_shift` in slot `nsid`: unallocated
    /// -> allocated and detached. Not reported (the namespace is not attached). Internal Error
    /// if the slot is not an unallocated one, or the namespace would not fit in it or hold a
    /// block (the caller checked all that).
    fn allocate(&mut self, nsid: u32, bytes: u64, lba_shift: u8) -> Result<(), Status> {
        if bytes > self.slot_capacity(nsid) || Namespace::sized(bytes, lba_shift).is_none() {
            return Err(Status::INTERNAL_ERROR);
        }
        let generation = self.namespaces.created.wrapping_add(1).max(1);
        let slot = self.slot_mut(nsid).ok_or(Status::INTERNAL_ERROR)?;
        match slot {
            Slot::Allocated(_) => Err(Status::INTERNAL_ERROR),
            Slot::Unallocated => {
                // INVARIANT: checked above.
                *slot = Slot::Allocated(NsState {
                    attachment: Attachment::Detached,
                    bytes,
                    lba_shift,
                    generation,
                });
                self.namespaces.created = generation;
                Ok(())
            }
        }
    }

    /// Deletes detached namespace `nsid`: allocated and detached -> unallocated. Not reported
    /// (the namespace was not attached). Invalid Namespace or Format for an NSID that is not
    /// an allocated namespace; Internal Error for an attached one (it must be detached first).
    fn deallocate(&mut self, nsid: u32) -> Result<(), Status> {
        let slot = self.slot_mut(nsid).ok_or(Status::INVALID_NAMESPACE)?;
        match *slot {
            Slot::Unallocated => Err(Status::INVALID_NAMESPACE),
            Slot::Allocated(NsState {
                attachment: Attachment::Attached,
                ..
            }) => Err(Status::INTERNAL_ERROR),
            Slot::Allocated(NsState {
                attachment: Attachment::Detached,
                ..
            }) => {
                *slot = Slot::Unallocated;
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

    // ---------------------------------------------------------------------------------------
    // Commands.

    /// Format NVM: namespace `nsid`, or every attached namespace for the broadcast NSID.
    ///
    /// Invalid Field for reserved bits or a secure erase other than none or user data erase
    /// (cryptographic erase is not supported); Invalid Namespace or Format for an NSID that
    /// is not an attached namespace; Invalid Format for an LBA format other than 0 and 1,
    /// protection information, PI location first, or a format in which a namespace would not
    /// hold one block. MSET is ignored: the formats have no metadata. Nothing is formatted
    /// unless every check passes. Each namespace is then zeroed in full (its capacity in
    /// bytes, which it keeps) and switched to the new format, in NSID order; a backing failure
    /// stops there with Write Fault (that namespace keeps its old format).
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
        let shift = format_shift(f & FORMAT_LBAF, f >> FORMAT_LBAFU_SHIFT)?;
        if f & (FORMAT_PI | FORMAT_PIL) != 0 {
            return Err(Status::INVALID_FORMAT);
        }
        let chosen = |n: u32| targets & ns_bit(n) != 0;
        for nsid in (1..=count).filter(|&n| chosen(n)) {
            let s = self.ns_state(nsid).ok_or(Status::INTERNAL_ERROR)?;
            Namespace::sized(s.bytes, shift).ok_or(Status::INVALID_FORMAT)?;
            // A zoned namespace keeps its zones: their size and capacity must be whole
            // blocks of the new format.
            if let Some(z) = self.params.zoned_namespace(nsid) {
                if !z.fits_format(shift) {
                    return Err(Status::INVALID_FORMAT);
                }
            }
        }
        for nsid in (1..=count).filter(|&n| chosen(n)) {
            let bytes = self.ns_state(nsid).ok_or(Status::INTERNAL_ERROR)?.bytes;
            backing
                .zero(nsid, 0, bytes)
                .map_err(|_| Status::WRITE_FAULT)?;
            if let Some(Slot::Allocated(s)) = self.slot_mut(nsid) {
                // INVARIANT: `Namespace::sized(bytes, shift)` was checked above.
                s.lba_shift = shift;
            }
            self.zones_format(backing, nsid);
            self.namespace_changed(nsid);
        }
        Ok(0)
    }

    /// Namespace Management: create (SEL 0) or delete (SEL 1) a namespace. Invalid Field for
    /// another SEL, reserved CDW10 bits, or a command set (CDW11 CSI) other than NVM.
    pub(super) fn namespace_management<M: HostMemory, B: Backing>(
        &mut self,
        sqe: &Sqe,
        mem: &mut M,
        backing: &mut B,
    ) -> Result<u32, Status> {
        if sqe.cdw11 >> CSI_SHIFT != 0 {
            return Err(Status::INVALID_FIELD);
        }
        match sqe.cdw10 {
            SEL_CREATE => self.create_namespace(sqe, mem, backing),
            SEL_DELETE => self.delete_namespaces(sqe.nsid).map(|()| 0),
            _ => Err(Status::INVALID_FIELD),
        }
    }

    /// Namespace Management create: a namespace of NSZE blocks of the LBA format FLBAS selects
    /// (from the Identify Namespace structure the host sends), detached, zero filled, in the
    /// lowest-numbered unallocated slot that holds it. Returns its NSID (completion DW0).
    ///
    /// The NSID field must be 0 (Invalid Field otherwise). Invalid Field for NSZE 0 or a
    /// shared namespace (NMIC bit 0: the controller is the only one); Invalid Format for an
    /// LBA format other than 0 and 1 or protection information (DPS); Thin Provisioning Not
    /// Supported for NCAP other than NSZE; Namespace Identifier Unavailable if every slot is
    /// allocated; Namespace Insufficient Capacity if no unallocated slot is large enough. The
    /// other fields of the structure are ignored. A backing failure while zeroing completes
    /// with Write Fault, and nothing is allocated.
    fn create_namespace<M: HostMemory, B: Backing>(
        &mut self,
        sqe: &Sqe,
        mem: &mut M,
        backing: &mut B,
    ) -> Result<u32, Status> {
        if sqe.nsid != 0 {
            return Err(Status::INVALID_FIELD);
        }
        let mut prp = Prp::new(sqe.prp1, sqe.prp2, DATA_SIZE as u64, self.page_size())?;
        let data = self
            .buf
            .get_mut(..DATA_SIZE)
            .ok_or(Status::INTERNAL_ERROR)?;
        copy_in(mem, &mut prp, data)?;
        let data = self.buf.get(..DATA_SIZE).ok_or(Status::INTERNAL_ERROR)?;
        let byte = |off: usize| data.get(off).copied().unwrap_or(0);
        let (nsze, ncap) = (u64_at(data, 0), u64_at(data, 8));
        let (flbas, dps, nmic) = (byte(26), byte(29), byte(30));
        if nsze == 0 {
            return Err(Status::INVALID_FIELD);
        }
        let shift = format_shift(u32::from(flbas), u32::from(flbas >> 5))?;
        if dps != 0 {
            return Err(Status::INVALID_FORMAT);
        }
        if ncap != nsze {
            return Err(Status::THIN_PROVISIONING_NOT_SUPPORTED);
        }
        if nmic & NMIC_SHARED != 0 {
            return Err(Status::INVALID_FIELD);
        }
        // Too large for a u64: larger than any slot.
        let bytes = nsze.checked_mul(1 << shift);
        // Zoned slots hold zoned namespaces only, which Namespace Management does not create.
        let free = (1..=self.params.namespace_count()).filter(|&n| {
            matches!(self.slot(n), Some(Slot::Unallocated))
                && self.params.zoned_namespace(n).is_none()
        });
        let mut any = false;
        let mut chosen = None;
        for n in free {
            any = true;
            if bytes.is_some_and(|b| b <= self.slot_capacity(n)) {
                chosen = Some(n);
                break;
            }
        }
        let (nsid, bytes) = match (chosen, bytes) {
            (Some(n), Some(b)) => (n, b),
            _ if !any => return Err(Status::NAMESPACE_ID_UNAVAILABLE),
            _ => return Err(Status::NAMESPACE_INSUFFICIENT_CAPACITY),
        };
        backing
            .zero(nsid, 0, bytes)
            .map_err(|_| Status::WRITE_FAULT)?;
        self.allocate(nsid, bytes, shift)?;
        Ok(nsid)
    }

    /// Namespace Management delete: allocated namespace `nsid`, or every allocated namespace
    /// for the broadcast NSID (none is fine). Invalid Namespace or Format for NSID 0, an NSID
    /// that is not a slot, or an unallocated slot.
    fn delete_namespaces(&mut self, nsid: u32) -> Result<(), Status> {
        if nsid != NSID_ALL {
            return self.delete_namespace(nsid);
        }
        for n in 1..=self.params.namespace_count() {
            if self.is_allocated(n) {
                self.delete_namespace(n)?;
            }
        }
        Ok(())
    }

    /// Deletes allocated namespace `nsid`: an attached namespace is detached first (and
    /// reported as such), then its slot becomes unallocated. Its contents stay in the backing
    /// until a namespace created there zeroes them.
    fn delete_namespace(&mut self, nsid: u32) -> Result<(), Status> {
        if self.is_attached(nsid) {
            self.detach_namespace(nsid).map_err(NsError::status)?;
        }
        self.deallocate(nsid)
    }

    /// Namespace Attachment: attach (SEL 0) or detach (SEL 1) allocated namespace `nsid`
    /// to or from the controllers of the Controller List the host sends, which must be exactly
    /// this controller.
    ///
    /// Invalid Field for another SEL, reserved CDW10 bits, NSID 0 or the broadcast NSID;
    /// Invalid Namespace or Format for an NSID that is not an allocated namespace; Controller
    /// List Invalid for a list other than one entry of [`CONTROLLER_ID`] (identifiers in a
    /// list are unique); Namespace Already Attached or Namespace Not Attached if the namespace
    /// is already in the state asked for. Otherwise as [`Controller::attach_namespace`] and
    /// [`Controller::detach_namespace`].
    pub(super) fn namespace_attachment<M: HostMemory>(
        &mut self,
        sqe: &Sqe,
        mem: &mut M,
    ) -> Result<u32, Status> {
        let attach = match sqe.cdw10 {
            SEL_ATTACH => true,
            SEL_DETACH => false,
            _ => return Err(Status::INVALID_FIELD),
        };
        if sqe.nsid == 0 || sqe.nsid == NSID_ALL {
            return Err(Status::INVALID_FIELD);
        }
        if !self.is_allocated(sqe.nsid) {
            return Err(Status::INVALID_NAMESPACE);
        }
        let mut prp = Prp::new(sqe.prp1, sqe.prp2, DATA_SIZE as u64, self.page_size())?;
        let data = self
            .buf
            .get_mut(..DATA_SIZE)
            .ok_or(Status::INTERNAL_ERROR)?;
        copy_in(mem, &mut prp, data)?;
        if u16_at(data, 0) != 1 || u16_at(data, 2) != CONTROLLER_ID {
            return Err(Status::CONTROLLER_LIST_INVALID);
        }
        let r = if attach {
            self.attach_namespace(sqe.nsid)
        } else {
            self.detach_namespace(sqe.nsid)
        };
        r.map_err(NsError::status)?;
        Ok(0)
    }
}
