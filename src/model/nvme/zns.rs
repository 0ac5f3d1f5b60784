// SPDX-License-Identifier: GPL-2.0

//! The Zoned Namespace Command Set (NVMe ZNS 1.1, CSI 02h): zones, their state machine and
//! resource accounting, and the zoned I/O commands (Zone Management Send and Receive, Zone
//! Append, and the zoned rules for Read, Write, Write Zeroes and Compare).
//!
//! A zoned namespace is split into [`Zoned::zones`] zones of [`Zoned::zone_size`] bytes, of
//! which the first [`Zoned::zone_capacity`] bytes can be written, sequentially from the zone's
//! write pointer. The zones' states live in caller memory: [`Backing::zones`] hands the model
//! the zone records of a namespace (at least one [`Zone`] per zone, [`Zone::EMPTY`] at first),
//! which persist like the namespace's contents. Nothing else is kept: the open and active
//! counts are recounted from the records when a zone would open or become active.
//!
//! Every transition is a function of its own on [`Zones`] with an exhaustive `match` on the
//! state. Resource rules:
//!
//! - a zone is *open* in the Implicitly or Explicitly Opened state and *active* when open or
//!   Closed; opening needs an open resource (and an active one from Empty);
//! - with the active limit reached, a zone that would become active fails with Too Many
//!   Active Zones (nothing changes);
//! - with the open limit reached, the controller closes the lowest-numbered Implicitly Opened
//!   zone to make room (implicit close), or fails with Too Many Open Zones if none is.
//!
//! # Decisions where the specification leaves a choice
//!
//! - Finish from Empty goes straight to Full and needs no resources; Close of an open zone
//!   goes to Closed even when nothing was written (unlike ZBC's return to Empty).
//! - Open with Select All opens every Closed zone, or none (Too Many Open Zones) if they do
//!   not all fit under the open limit beside the zones already open; it closes no implicitly
//!   opened zone to make room.
//! - A controller reset (CC.EN 1 -> 0) and a shutdown close every open zone, as the loss of
//!   the controller's volatile open-zone resources; the reset's closing happens at the next
//!   [`Controller::process`] call (the model reaches zone records only through the
//!   [`Backing`] that call brings).
//! - Reset Zone deallocates the zone ([`Backing::deallocate`]); blocks at and above a write
//!   pointer are never written and read as zeroes, as do the blocks between the zone
//!   capacity and the zone size. Finish Zone changes no data.
//! - Report Zones gives Full zones the write pointer ZSLBA + ZCAP, and Read Only and Offline
//!   zones (whose write pointer is not valid) all ones. Zone descriptor extensions are not
//!   supported (ZDES 0): Extended Report Zones and Set Zone Descriptor Extension are Invalid
//!   Field. Zone attributes are all zero (no Zone Active Excursions).
//! - While CC.CSS selects the NVM Command Set only (000b), every I/O command to a zoned
//!   namespace is Invalid Command Opcode.
//! - Write Zeroes is a write (at the write pointer, advancing it); Dataset Management
//!   deallocates as on a conventional namespace and changes no zone state. Flush is as
//!   for any namespace.
//! - Not implemented: the Changed Zone List log page and its Zone Descriptor Changed
//!   notices, Zone Active Excursions and the reset/finish recommendations (RRL, FRL 0),
//!   variable zone capacity, zone random write areas.

use super::super::le::put;
use super::ctrl::Controller;
use super::io::{transfer, Dir};
use super::params::{Namespace, Zoned};
use super::prp::Prp;
use super::queue::Sqe;
use super::status::Status;
use super::{Backing, HostMemory};

/// Command Set Identifier of the Zoned Namespace Command Set.
pub const CSI_ZONED: u8 = 2;

/// The state of a zone (Zone Descriptor ZS bits 7:4 as [`ZoneState::code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ZoneState {
    /// ZSE: nothing written, no resources used.
    Empty,
    /// ZSIO: opened by a write or a Zone Append.
    ImplicitlyOpened,
    /// ZSEO: opened by Zone Management Send Open.
    ExplicitlyOpened,
    /// ZSC: partly written, not open, still active.
    Closed,
    /// ZSRO: made read-only by the controller (a media event): readable, not writable.
    ReadOnly,
    /// ZSF: written to capacity or finished.
    Full,
    /// ZSO: neither readable nor writable.
    Offline,
}

impl ZoneState {
    /// The Zone State value of a Zone Descriptor (ZS bits 7:4) and of a Report Zones filter
    /// (ZRASF): 1h Empty, 2h Implicitly Opened, 3h Explicitly Opened, 4h Closed, Dh Read Only,
    /// Eh Full, Fh Offline.
    pub const fn code(self) -> u8 {
        match self {
            ZoneState::Empty => 0x1,
            ZoneState::ImplicitlyOpened => 0x2,
            ZoneState::ExplicitlyOpened => 0x3,
            ZoneState::Closed => 0x4,
            ZoneState::ReadOnly => 0xd,
            ZoneState::Full => 0xe,
            ZoneState::Offline => 0xf,
        }
    }

    /// Whether the zone holds an open resource.
    pub const fn is_open(self) -> bool {
        match self {
            ZoneState::ImplicitlyOpened | ZoneState::ExplicitlyOpened => true,
            ZoneState::Empty
            | ZoneState::Closed
            | ZoneState::ReadOnly
            | ZoneState::Full
            | ZoneState::Offline => false,
        }
    }

    /// Whether the zone holds an active resource.
    pub const fn is_active(self) -> bool {
        match self {
            ZoneState::ImplicitlyOpened | ZoneState::ExplicitlyOpened | ZoneState::Closed => true,
            ZoneState::Empty | ZoneState::ReadOnly | ZoneState::Full | ZoneState::Offline => false,
        }
    }
}

/// The record of one zone, kept in caller memory (see [`Backing::zones`]). Only the model
/// changes it; a caller creates records as [`Zone::EMPTY`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone {
    state: ZoneState,
    /// The write pointer, in blocks from the zone's start (the zone capacity when Full).
    wp: u64,
}

impl Zone {
    /// An Empty zone with its write pointer at its start.
    pub const EMPTY: Zone = Zone {
        state: ZoneState::Empty,
        wp: 0,
    };

    /// The zone's state.
    pub fn state(&self) -> ZoneState {
        self.state
    }

    /// Blocks written since the zone was last reset (its write pointer minus its start; the
    /// zone capacity once Full).
    pub fn written(&self) -> u64 {
        self.wp
    }
}

/// Why [`Controller::zone_read_only`] or [`Controller::zone_offline`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneError {
    /// The NSID is not a zoned namespace.
    NotZoned,
    /// The namespace has no zone of that index.
    NoZone,
    /// [`Backing::zones`] gave no records (or too few) for the namespace.
    NoRecords,
    /// The zone is Offline: it cannot become Read Only.
    Offline,
}

/// Zone Management Send actions (CDW13 ZSA).
mod zsa {
    pub const CLOSE: u8 = 0x01;
    pub const FINISH: u8 = 0x02;
    pub const OPEN: u8 = 0x03;
    pub const RESET: u8 = 0x04;
    pub const OFFLINE: u8 = 0x05;
    pub const SET_DESCRIPTOR_EXTENSION: u8 = 0x10;
}

/// Zone Management Send CDW13: Select All.
const ZMS_SELECT_ALL: u32 = 1 << 8;
/// Zone Management Receive CDW13: Partial Report.
const ZMR_PARTIAL: u32 = 1 << 16;
/// Zone Management Receive action: Report Zones (Extended Report Zones is 01h).
const ZRA_REPORT: u8 = 0x00;
/// Size of the Report Zones header and of one Zone Descriptor.
const DESCRIPTOR: u64 = 64;
/// Zone Type: Sequential Write Required.
const ZT_SEQ_WRITE_REQUIRED: u8 = 0x2;

/// The zones of one namespace: their records and geometry in blocks of the current format.
///
/// # Invariants
///
/// `zones.len()` is the number of zones; `0 < zcap <= zsze`.
pub(super) struct Zones<'a> {
    zones: &'a mut [Zone],
    zsze: u64,
    zcap: u64,
    max_open: Option<u32>,
    max_active: Option<u32>,
}

impl<'a> Zones<'a> {
    /// The zones of namespace `nsid`, `z` in blocks of `2^shift` bytes, from `backing`:
    /// Internal Error if the backing has no (or too few) records, or the geometry does not
    /// hold in the format.
    pub(super) fn of<B: Backing>(
        backing: &'a mut B,
        nsid: u32,
        z: &Zoned,
        shift: u8,
    ) -> Result<Zones<'a>, Status> {
        let count = usize::try_from(z.zones()).map_err(|_| Status::INTERNAL_ERROR)?;
        let zsze = z.zone_size() >> shift;
        let zcap = z.zone_capacity() >> shift;
        if !z.fits_format(shift) || zcap == 0 || zcap > zsze {
            return Err(Status::INTERNAL_ERROR);
        }
        let zones = backing
            .zones(nsid)
            .and_then(|r| r.get_mut(..count))
            .ok_or(Status::INTERNAL_ERROR)?;
        // INVARIANT: checked above.
        Ok(Zones {
            zones,
            zsze,
            zcap,
            max_open: z.max_open(),
            max_active: z.max_active(),
        })
    }

    /// Number of zones.
    pub(super) fn count(&self) -> u64 {
        self.zones.len() as u64
    }

    /// The zone holding `lba` (not checked against the namespace).
    fn index_of(&self, lba: u64) -> u64 {
        lba / self.zsze
    }

    fn get(&self, i: u64) -> Result<Zone, Status> {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.zones.get(i))
            .copied()
            .ok_or(Status::INTERNAL_ERROR)
    }

    fn set(&mut self, i: u64, z: Zone) -> Result<(), Status> {
        let slot = usize::try_from(i)
            .ok()
            .and_then(|i| self.zones.get_mut(i))
            .ok_or(Status::INTERNAL_ERROR)?;
        *slot = z;
        Ok(())
    }

    fn set_state(&mut self, i: u64, state: ZoneState, wp: u64) -> Result<(), Status> {
        self.set(i, Zone { state, wp })
    }

    fn count_where(&self, f: impl Fn(ZoneState) -> bool) -> u64 {
        self.zones.iter().filter(|z| f(z.state)).count() as u64
    }

    /// Zones holding an open resource.
    pub(super) fn open_count(&self) -> u64 {
        self.count_where(ZoneState::is_open)
    }

    /// Zones holding an active resource.
    pub(super) fn active_count(&self) -> u64 {
        self.count_where(ZoneState::is_active)
    }

    /// Makes room for one more open zone, and one more active zone if `activate`: Too Many
    /// Active Zones if the active limit is reached (nothing changes); at the open limit,
    /// closes the lowest-numbered Implicitly Opened zone, or fails with Too Many Open Zones.
    fn make_room(&mut self, activate: bool) -> Result<(), Status> {
        if activate
            && self
                .max_active
                .is_some_and(|m| self.active_count() >= u64::from(m))
        {
            return Err(Status::ZONE_TOO_MANY_ACTIVE);
        }
        if self
            .max_open
            .is_some_and(|m| self.open_count() >= u64::from(m))
        {
            let victim = self
                .zones
                .iter()
                .position(|z| z.state == ZoneState::ImplicitlyOpened)
                .ok_or(Status::ZONE_TOO_MANY_OPEN)?;
            self.implicit_close(victim as u64)?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Transitions: one function each.

    /// A write or Zone Append reaches zone `i`: Empty and Closed -> Implicitly Opened (with
    /// the resources that takes); open zones stay as they are. Zone Is Full, Zone Is Read
    /// Only or Zone Is Offline in those states.
    pub(super) fn implicit_open(&mut self, i: u64) -> Result<(), Status> {
        let z = self.get(i)?;
        match z.state {
            ZoneState::Empty => {
                self.make_room(true)?;
                self.set_state(i, ZoneState::ImplicitlyOpened, z.wp)
            }
            ZoneState::Closed => {
                self.make_room(false)?;
                self.set_state(i, ZoneState::ImplicitlyOpened, z.wp)
            }
            ZoneState::ImplicitlyOpened | ZoneState::ExplicitlyOpened => Ok(()),
            ZoneState::Full => Err(Status::ZONE_IS_FULL),
            ZoneState::ReadOnly => Err(Status::ZONE_IS_READ_ONLY),
            ZoneState::Offline => Err(Status::ZONE_IS_OFFLINE),
        }
    }

    /// The controller closes Implicitly Opened zone `i` to free an open resource:
    /// Implicitly Opened -> Closed. Other states are left alone.
    fn implicit_close(&mut self, i: u64) -> Result<(), Status> {
        let z = self.get(i)?;
        match z.state {
            ZoneState::ImplicitlyOpened => self.set_state(i, ZoneState::Closed, z.wp),
            ZoneState::Empty
            | ZoneState::ExplicitlyOpened
            | ZoneState::Closed
            | ZoneState::ReadOnly
            | ZoneState::Full
            | ZoneState::Offline => Ok(()),
        }
    }

    /// Open Zone: Empty and Closed -> Explicitly Opened (with the resources that takes),
    /// Implicitly -> Explicitly Opened; Explicitly Opened stays. Zone Invalid State
    /// Transition from Full, Read Only and Offline.
    pub(super) fn open(&mut self, i: u64) -> Result<(), Status> {
        let z = self.get(i)?;
        match z.state {
            ZoneState::Empty => {
                self.make_room(true)?;
                self.set_state(i, ZoneState::ExplicitlyOpened, z.wp)
            }
            ZoneState::Closed => {
                self.make_room(false)?;
                self.set_state(i, ZoneState::ExplicitlyOpened, z.wp)
            }
            ZoneState::ImplicitlyOpened => self.set_state(i, ZoneState::ExplicitlyOpened, z.wp),
            ZoneState::ExplicitlyOpened => Ok(()),
            ZoneState::Full | ZoneState::ReadOnly | ZoneState::Offline => {
                Err(Status::ZONE_INVALID_TRANSITION)
            }
        }
    }

    /// Close Zone: Implicitly and Explicitly Opened -> Closed; Closed stays. Zone Invalid
    /// State Transition from Empty, Full, Read Only and Offline.
    pub(super) fn close(&mut self, i: u64) -> Result<(), Status> {
        let z = self.get(i)?;
        match z.state {
            ZoneState::ImplicitlyOpened | ZoneState::ExplicitlyOpened => {
                self.set_state(i, ZoneState::Closed, z.wp)
            }
            ZoneState::Closed => Ok(()),
            ZoneState::Empty | ZoneState::Full | ZoneState::ReadOnly | ZoneState::Offline => {
                Err(Status::ZONE_INVALID_TRANSITION)
            }
        }
    }

    /// Finish Zone: Empty, opened and Closed -> Full (write pointer at the capacity); Full
    /// stays. Zone Invalid State Transition from Read Only and Offline.
    pub(super) fn finish(&mut self, i: u64) -> Result<(), Status> {
        let z = self.get(i)?;
        match z.state {
            ZoneState::Empty
            | ZoneState::ImplicitlyOpened
            | ZoneState::ExplicitlyOpened
            | ZoneState::Closed => self.set_state(i, ZoneState::Full, self.zcap),
            ZoneState::Full => Ok(()),
            ZoneState::ReadOnly | ZoneState::Offline => Err(Status::ZONE_INVALID_TRANSITION),
        }
    }

    /// Whether Reset Zone applies to zone `i` (and its data must be deallocated): opened,
    /// Closed and Full zones; `false` for an Empty one; Zone Invalid State Transition for Read
    /// Only and Offline.
    fn reset_applies(&self, i: u64) -> Result<bool, Status> {
        match self.get(i)?.state {
            ZoneState::ImplicitlyOpened
            | ZoneState::ExplicitlyOpened
            | ZoneState::Closed
            | ZoneState::Full => Ok(true),
            ZoneState::Empty => Ok(false),
            ZoneState::ReadOnly | ZoneState::Offline => Err(Status::ZONE_INVALID_TRANSITION),
        }
    }

    /// Reset Zone: opened, Closed and Full -> Empty (write pointer at the start); Empty
    /// stays. Zone Invalid State Transition from Read Only and Offline.
    pub(super) fn reset(&mut self, i: u64) -> Result<(), Status> {
        let z = self.get(i)?;
        match z.state {
            ZoneState::ImplicitlyOpened
            | ZoneState::ExplicitlyOpened
            | ZoneState::Closed
            | ZoneState::Full => self.set(i, Zone::EMPTY),
            ZoneState::Empty => Ok(()),
            ZoneState::ReadOnly | ZoneState::Offline => Err(Status::ZONE_INVALID_TRANSITION),
        }
    }

    /// Offline Zone: Read Only -> Offline; Offline stays. Zone Invalid State Transition from
    /// every other state.
    pub(super) fn offline(&mut self, i: u64) -> Result<(), Status> {
        let z = self.get(i)?;
        match z.state {
            ZoneState::ReadOnly => self.set_state(i, ZoneState::Offline, 0),
            ZoneState::Offline => Ok(()),
            ZoneState::Empty
            | ZoneState::ImplicitlyOpened
            | ZoneState::ExplicitlyOpened
            | ZoneState::Closed
            | ZoneState::Full => Err(Status::ZONE_INVALID_TRANSITION),
        }
    }

    /// `nlb` blocks were written at the write pointer of open zone `i`: it advances, and the
    /// zone becomes Full at its capacity. Internal Error for a zone that is not open (the
    /// caller opened it) or a write past the capacity (the caller checked).
    pub(super) fn advance(&mut self, i: u64, nlb: u64) -> Result<(), Status> {
        let z = self.get(i)?;
        let wp =
            z.wp.checked_add(nlb)
                .filter(|&w| w <= self.zcap)
                .ok_or(Status::INTERNAL_ERROR)?;
        match z.state {
            ZoneState::ImplicitlyOpened | ZoneState::ExplicitlyOpened if wp == self.zcap => {
                self.set_state(i, ZoneState::Full, wp)
            }
            ZoneState::ImplicitlyOpened | ZoneState::ExplicitlyOpened => {
                self.set_state(i, z.state, wp)
            }
            ZoneState::Empty
            | ZoneState::Closed
            | ZoneState::ReadOnly
            | ZoneState::Full
            | ZoneState::Offline => Err(Status::INTERNAL_ERROR),
        }
    }

    /// The controller loses its open resources (controller reset, shutdown): opened ->
    /// Closed; other states stay.
    pub(super) fn power_close(&mut self, i: u64) -> Result<(), Status> {
        let z = self.get(i)?;
        match z.state {
            ZoneState::ImplicitlyOpened | ZoneState::ExplicitlyOpened => {
                self.set_state(i, ZoneState::Closed, z.wp)
            }
            ZoneState::Empty
            | ZoneState::Closed
            | ZoneState::ReadOnly
            | ZoneState::Full
            | ZoneState::Offline => Ok(()),
        }
    }

    /// A media event makes zone `i` read-only: every state but Offline -> Read Only (giving
    /// up its resources); Read Only stays. Zone Is Offline for an Offline zone.
    pub(super) fn fail_read_only(&mut self, i: u64) -> Result<(), Status> {
        let z = self.get(i)?;
        match z.state {
            ZoneState::Empty
            | ZoneState::ImplicitlyOpened
            | ZoneState::ExplicitlyOpened
            | ZoneState::Closed
            | ZoneState::Full => self.set_state(i, ZoneState::ReadOnly, z.wp),
            ZoneState::ReadOnly => Ok(()),
            ZoneState::Offline => Err(Status::ZONE_IS_OFFLINE),
        }
    }

    /// A media event takes zone `i` offline: every state -> Offline.
    pub(super) fn fail_offline(&mut self, i: u64) -> Result<(), Status> {
        let z = self.get(i)?;
        match z.state {
            ZoneState::Empty
            | ZoneState::ImplicitlyOpened
            | ZoneState::ExplicitlyOpened
            | ZoneState::Closed
            | ZoneState::ReadOnly
            | ZoneState::Full => self.set_state(i, ZoneState::Offline, 0),
            ZoneState::Offline => Ok(()),
        }
    }

    // ---------------------------------------------------------------------------------------
    // Checks.

    /// Checks a write of `nlb` blocks at `slba` (inside the namespace): the zone's state
    /// (Zone Is Full / Read Only / Offline), the write pointer (Zone Invalid Write) and the
    /// capacity (Zone Boundary Error). Returns the zone.
    fn check_write(&self, slba: u64, nlb: u64) -> Result<u64, Status> {
        let i = self.index_of(slba);
        let z = self.get(i)?;
        check_writable(z.state)?;
        let start = i.checked_mul(self.zsze).ok_or(Status::INTERNAL_ERROR)?;
        if slba != start.saturating_add(z.wp) {
            return Err(Status::ZONE_INVALID_WRITE);
        }
        if z.wp.saturating_add(nlb) > self.zcap {
            return Err(Status::ZONE_BOUNDARY_ERROR);
        }
        Ok(i)
    }

    /// Checks a Zone Append of `nlb` blocks to the zone starting at `zslba` (inside the
    /// namespace): Invalid Field if `zslba` is not a zone's first block, then as
    /// [`Zones::check_write`]. Returns the zone and the LBA the data goes to.
    fn check_append(&self, zslba: u64, nlb: u64) -> Result<(u64, u64), Status> {
        if !zslba.is_multiple_of(self.zsze) {
            return Err(Status::INVALID_FIELD);
        }
        let i = self.index_of(zslba);
        let z = self.get(i)?;
        check_writable(z.state)?;
        if z.wp.saturating_add(nlb) > self.zcap {
            return Err(Status::ZONE_BOUNDARY_ERROR);
        }
        Ok((i, zslba.saturating_add(z.wp)))
    }

    /// Checks a read of `nlb` blocks at `slba` (inside the namespace): Zone Boundary Error
    /// if it spans zones and `across` is false, Zone Is Offline if a zone it reaches is.
    fn check_read(&self, slba: u64, nlb: u64, across: bool) -> Result<(), Status> {
        let first = self.index_of(slba);
        let last = self.index_of(slba.saturating_add(nlb.saturating_sub(1)));
        if first != last && !across {
            return Err(Status::ZONE_BOUNDARY_ERROR);
        }
        for i in first..=last {
            if self.get(i)?.state == ZoneState::Offline {
                return Err(Status::ZONE_IS_OFFLINE);
            }
        }
        Ok(())
    }

    /// The 64-byte Zone Descriptor of zone `i`.
    fn descriptor(&self, i: u64) -> [u8; DESCRIPTOR as usize] {
        let z = self.get(i).unwrap_or(Zone::EMPTY);
        let start = i.saturating_mul(self.zsze);
        let wp = match z.state {
            ZoneState::ReadOnly | ZoneState::Offline => u64::MAX,
            ZoneState::Full => start.saturating_add(self.zcap),
            ZoneState::Empty
            | ZoneState::ImplicitlyOpened
            | ZoneState::ExplicitlyOpened
            | ZoneState::Closed => start.saturating_add(z.wp),
        };
        let mut d = [0u8; DESCRIPTOR as usize];
        put(&mut d, 0, &[ZT_SEQ_WRITE_REQUIRED, z.state.code() << 4, 0]);
        put(&mut d, 8, &self.zcap.to_le_bytes());
        put(&mut d, 16, &start.to_le_bytes());
        put(&mut d, 24, &wp.to_le_bytes());
        d
    }
}

/// Zone Is Full / Read Only / Offline for a zone in a state writes cannot reach.
fn check_writable(state: ZoneState) -> Result<(), Status> {
    match state {
        ZoneState::Empty
        | ZoneState::ImplicitlyOpened
        | ZoneState::ExplicitlyOpened
        | ZoneState::Closed => Ok(()),
        ZoneState::Full => Err(Status::ZONE_IS_FULL),
        ZoneState::ReadOnly => Err(Status::ZONE_IS_READ_ONLY),
        ZoneState::Offline => Err(Status::ZONE_IS_OFFLINE),
    }
}

/// Whether a Report Zones filter (ZRASF) takes a zone in `state`: 0 all, 1h-7h one state
/// each (Empty, Implicitly Opened, Explicitly Opened, Closed, Full, Read Only, Offline).
fn filter_takes(zrasf: u8, state: ZoneState) -> bool {
    let want = match zrasf {
        0x00 => return true,
        0x01 => ZoneState::Empty,
        0x02 => ZoneState::ImplicitlyOpened,
        0x03 => ZoneState::ExplicitlyOpened,
        0x04 => ZoneState::Closed,
        0x05 => ZoneState::Full,
        0x06 => ZoneState::ReadOnly,
        0x07 => ZoneState::Offline,
        _ => return false,
    };
    state == want
}

impl<const QUEUES: usize> Controller<QUEUES> {
    /// The zoned geometry of active namespace `nsid` and the namespace in its current format:
    /// Invalid Namespace or Format if it is not active, Invalid Command Opcode if it is not
    /// zoned (the zoned commands do not exist for it).
    pub(super) fn zoned_ns(&self, nsid: u32) -> Result<(Zoned, Namespace), Status> {
        let ns = self.active_namespace(nsid)?;
        let z = *self
            .params
            .zoned_namespace(nsid)
            .ok_or(Status::INVALID_OPCODE)?;
        Ok((z, ns))
    }

    /// Checks a read (or compare) of `nlb` blocks at `slba` against the zones of zoned
    /// namespace `nsid` (the range is inside the namespace).
    pub(super) fn zoned_read_check<B: Backing>(
        &self,
        backing: &mut B,
        nsid: u32,
        slba: u64,
        nlb: u64,
    ) -> Result<(), Status> {
        let (z, ns) = self.zoned_ns(nsid)?;
        let zones = Zones::of(backing, nsid, &z, ns.lba_shift())?;
        zones.check_read(slba, nlb, z.read_across_zones())
    }

    /// Prepares a write of `nlb` blocks at `slba` to zoned namespace `nsid` (the range is
    /// inside the namespace): checks it and opens the zone implicitly. Returns the zone, for
    /// [`Controller::zoned_write_done`].
    pub(super) fn zoned_write_begin<B: Backing>(
        &self,
        backing: &mut B,
        nsid: u32,
        z: &Zoned,
        ns: &Namespace,
        slba: u64,
        nlb: u64,
    ) -> Result<u64, Status> {
        let mut zones = Zones::of(backing, nsid, z, ns.lba_shift())?;
        let i = zones.check_write(slba, nlb)?;
        zones.implicit_open(i)?;
        Ok(i)
    }

    /// `nlb` blocks were written to zone `i` of zoned namespace `nsid`: its write pointer
    /// advances.
    pub(super) fn zoned_write_done<B: Backing>(
        &self,
        backing: &mut B,
        nsid: u32,
        i: u64,
        nlb: u64,
    ) -> Result<(), Status> {
        let (z, ns) = self.zoned_ns(nsid)?;
        Zones::of(backing, nsid, &z, ns.lba_shift())?.advance(i, nlb)
    }

    /// Zone Append (opcode 7Dh): writes `NLB` blocks at the write pointer of the zone whose
    /// first LBA is CDW11:CDW10 and returns the LBA they went to (completion DW1:DW0).
    ///
    /// LBA Out of Range for a ZSLBA past the namespace; Invalid Field for one that is not a
    /// zone's first LBA or data above the Zone Append Size Limit (or MDTS); then the checks
    /// and the implicit open of a write.
    pub(super) fn zone_append<M: HostMemory, B: Backing>(
        &mut self,
        sqe: &Sqe,
        mem: &mut M,
        backing: &mut B,
    ) -> Result<u64, Status> {
        let (z, ns) = self.zoned_ns(sqe.nsid)?;
        let zslba = u64::from(sqe.cdw11) << 32 | u64::from(sqe.cdw10);
        let nlb = u64::from(sqe.cdw12 & 0xffff) + 1;
        if zslba >= ns.blocks() {
            return Err(Status::LBA_OUT_OF_RANGE);
        }
        let bytes = nlb << ns.lba_shift();
        if bytes > self.params.max_append() || bytes > self.params.max_transfer() {
            return Err(Status::INVALID_FIELD);
        }
        let (i, lba) = {
            let mut zones = Zones::of(backing, sqe.nsid, &z, ns.lba_shift())?;
            let (i, lba) = zones.check_append(zslba, nlb)?;
            ns.range(lba, nlb).ok_or(Status::INTERNAL_ERROR)?;
            zones.implicit_open(i)?;
            (i, lba)
        };
        let (offset, len) = ns.range(lba, nlb).ok_or(Status::INTERNAL_ERROR)?;
        let mut prp = Prp::new(sqe.prp1, sqe.prp2, len, self.page_size())?;
        transfer(
            Dir::Write,
            sqe.nsid,
            offset,
            &mut prp,
            mem,
            backing,
            &mut self.buf,
        )?;
        self.logs.count_write(len);
        self.zoned_write_done(backing, sqe.nsid, i, nlb)?;
        Ok(lba)
    }

    /// Zone Management Send (opcode 79h): the action of CDW13 ZSA on the zone whose first LBA
    /// is CDW11:CDW10, or with Select All (CDW13 bit 8) on every zone it applies to.
    ///
    /// Invalid Field for reserved CDW13 bits (ZSASO included: no zone random write area),
    /// an unknown action or Set Zone Descriptor Extension (ZDES is 0); for a single zone LBA
    /// Out of Range past the namespace and Invalid Field for an LBA that is not a zone's
    /// first. Then the transition's own status.
    pub(super) fn zone_management_send<B: Backing>(
        &mut self,
        sqe: &Sqe,
        backing: &mut B,
    ) -> Result<u64, Status> {
        let (z, ns) = self.zoned_ns(sqe.nsid)?;
        if sqe.cdw13 & !(0xff | ZMS_SELECT_ALL) != 0 {
            return Err(Status::INVALID_FIELD);
        }
        let action = sqe.cdw13 as u8;
        let all = sqe.cdw13 & ZMS_SELECT_ALL != 0;
        match action {
            zsa::CLOSE | zsa::FINISH | zsa::OPEN | zsa::RESET | zsa::OFFLINE => {}
            zsa::SET_DESCRIPTOR_EXTENSION => return Err(Status::INVALID_FIELD),
            _ => return Err(Status::INVALID_FIELD),
        }
        let shift = ns.lba_shift();
        let nsid = sqe.nsid;
        if all {
            return self
                .zone_send_all(backing, nsid, &z, shift, action)
                .map(|()| 0);
        }
        let slba = u64::from(sqe.cdw11) << 32 | u64::from(sqe.cdw10);
        if slba >= ns.blocks() {
            return Err(Status::LBA_OUT_OF_RANGE);
        }
        let mut zones = Zones::of(backing, nsid, &z, shift)?;
        if !slba.is_multiple_of(zones.zsze) {
            return Err(Status::INVALID_FIELD);
        }
        let i = zones.index_of(slba);
        match action {
            zsa::CLOSE => zones.close(i)?,
            zsa::FINISH => zones.finish(i)?,
            zsa::OPEN => zones.open(i)?,
            zsa::OFFLINE => zones.offline(i)?,
            _ => {
                // `zones` is done with: the backing is free for the deallocation.
                if zones.reset_applies(i)? {
                    zone_deallocate(backing, nsid, &z, i)?;
                    Zones::of(backing, nsid, &z, shift)?.reset(i)?;
                }
            }
        }
        Ok(0)
    }

    /// Zone Management Send with Select All: Close every opened zone, Finish every opened and
    /// Closed zone, Open every Closed zone (all or none: Too Many Open Zones if they do not
    /// fit under the open limit), Reset every opened, Closed and Full zone, Offline every Read
    /// Only zone.
    fn zone_send_all<B: Backing>(
        &mut self,
        backing: &mut B,
        nsid: u32,
        z: &Zoned,
        shift: u8,
        action: u8,
    ) -> Result<(), Status> {
        let count = Zones::of(backing, nsid, z, shift)?.count();
        if action == zsa::OPEN {
            let zones = Zones::of(backing, nsid, z, shift)?;
            let closed = zones.count_where(|s| s == ZoneState::Closed);
            if zones
                .max_open
                .is_some_and(|m| zones.open_count() + closed > u64::from(m))
            {
                return Err(Status::ZONE_TOO_MANY_OPEN);
            }
        }
        for i in 0..count {
            let mut zones = Zones::of(backing, nsid, z, shift)?;
            let state = zones.get(i)?.state;
            match action {
                zsa::CLOSE if state.is_open() => zones.close(i)?,
                zsa::FINISH if state.is_active() => zones.finish(i)?,
                zsa::OPEN if state == ZoneState::Closed => zones.open(i)?,
                zsa::OFFLINE if state == ZoneState::ReadOnly => zones.offline(i)?,
                zsa::RESET if state.is_active() || state == ZoneState::Full => {
                    zone_deallocate(backing, nsid, z, i)?;
                    Zones::of(backing, nsid, z, shift)?.reset(i)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Zone Management Receive (opcode 7Ah): Report Zones (ZRA 00h) of the zones from the one
    /// holding CDW11:CDW10 to the last, those the filter (ZRASF, CDW13 15:8) takes, into
    /// NUMD + 1 dwords (CDW12): a 64-byte header with the number of zones (those the filter
    /// takes, or with Partial Report those the data holds), then one 64-byte descriptor each.
    ///
    /// Invalid Field for Extended Report Zones (no descriptor extensions) and other actions,
    /// a filter above 7h, reserved CDW13 bits or a transfer above MDTS; LBA Out of Range for a
    /// start past the namespace.
    pub(super) fn zone_management_receive<M: HostMemory, B: Backing>(
        &mut self,
        sqe: &Sqe,
        mem: &mut M,
        backing: &mut B,
    ) -> Result<u64, Status> {
        self.zone_receives = self.zone_receives.wrapping_add(1);
        let (z, ns) = self.zoned_ns(sqe.nsid)?;
        let zra = sqe.cdw13 as u8;
        let zrasf = (sqe.cdw13 >> 8) as u8;
        let partial = sqe.cdw13 & ZMR_PARTIAL != 0;
        if zra != ZRA_REPORT || zrasf > 0x07 || sqe.cdw13 & !(0xffff | ZMR_PARTIAL) != 0 {
            return Err(Status::INVALID_FIELD);
        }
        let len = (u64::from(sqe.cdw12) + 1) * 4;
        if len > self.params.max_transfer() {
            return Err(Status::INVALID_FIELD);
        }
        let slba = u64::from(sqe.cdw11) << 32 | u64::from(sqe.cdw10);
        if slba >= ns.blocks() {
            return Err(Status::LBA_OUT_OF_RANGE);
        }
        let page = self.page_size();
        let zones = Zones::of(backing, sqe.nsid, &z, ns.lba_shift())?;
        let first = zones.index_of(slba);
        let takes = |i: u64| zones.get(i).is_ok_and(|z| filter_takes(zrasf, z.state));
        let matching = (first..zones.count()).filter(|&i| takes(i)).count() as u64;
        let room = len.saturating_sub(DESCRIPTOR) / DESCRIPTOR;
        let reported = if partial {
            matching.min(room)
        } else {
            matching
        };
        let mut prp = Prp::new(sqe.prp1, sqe.prp2, len, page)?;
        // The entry (0: the header, n: the n-th descriptor) held in `entry`, and the next
        // zone to look at for a descriptor.
        let mut entry = [0u8; DESCRIPTOR as usize];
        put(&mut entry, 0, &reported.to_le_bytes());
        let mut held = 0u64;
        let mut cursor = first;
        let mut pos = 0u64;
        while let Some(seg) = prp.next_segment(mem)? {
            let mut addr = seg.addr;
            let mut left = seg.len;
            while left > 0 {
                let want = pos / DESCRIPTOR;
                while held < want {
                    held += 1;
                    entry = [0; DESCRIPTOR as usize];
                    while cursor < zones.count() && !takes(cursor) {
                        cursor += 1;
                    }
                    if cursor < zones.count() {
                        entry = zones.descriptor(cursor);
                        cursor += 1;
                    }
                }
                let off = pos % DESCRIPTOR;
                let n = (DESCRIPTOR - off).min(left);
                let bytes = entry
                    .get(off as usize..(off + n) as usize)
                    .ok_or(Status::INTERNAL_ERROR)?;
                mem.write(addr, bytes)
                    .map_err(|_| Status::DATA_TRANSFER_ERROR)?;
                addr = addr.wrapping_add(n);
                pos += n;
                left -= n;
            }
        }
        Ok(0)
    }

    /// Zone Management Receive commands executed since the controller was created, whatever
    /// their outcome (a controller reset keeps the count): a host that pages its zone report
    /// sends one per page.
    pub fn zone_receives(&self) -> u64 {
        self.zone_receives
    }

    /// Zeroes the zone records of zoned namespace `nsid` back to Empty (Format NVM).
    pub(super) fn zones_format<B: Backing>(&self, backing: &mut B, nsid: u32) {
        if let Some(z) = self.params.zoned_namespace(nsid) {
            let count = usize::try_from(z.zones()).unwrap_or(usize::MAX);
            if let Some(records) = backing.zones(nsid) {
                records
                    .iter_mut()
                    .take(count)
                    .for_each(|r| *r = Zone::EMPTY);
            }
        }
    }

    /// Closes every open zone of every zoned namespace (controller reset, shutdown).
    pub(super) fn zones_power_close<B: Backing>(&self, backing: &mut B) {
        for nsid in 1..=self.params.namespace_count() {
            let Some(z) = self.params.zoned_namespace(nsid).copied() else {
                continue;
            };
            let Some((ns, _)) = self.allocated_format(nsid) else {
                continue;
            };
            if let Ok(mut zones) = Zones::of(backing, nsid, &z, ns.lba_shift()) {
                for i in 0..zones.count() {
                    let _ = zones.power_close(i);
                }
            }
        }
    }

    /// Zone `zone` of zoned namespace `nsid` in `backing`, with `f` applied to it.
    fn zone_event<B: Backing>(
        &mut self,
        backing: &mut B,
        nsid: u32,
        zone: u32,
        f: impl FnOnce(&mut Zones<'_>, u64) -> Result<(), Status>,
    ) -> Result<(), ZoneError> {
        let z = *self
            .params
            .zoned_namespace(nsid)
            .ok_or(ZoneError::NotZoned)?;
        let (ns, _) = self.allocated_format(nsid).ok_or(ZoneError::NotZoned)?;
        if zone >= z.zones() {
            return Err(ZoneError::NoZone);
        }
        let mut zones =
            Zones::of(backing, nsid, &z, ns.lba_shift()).map_err(|_| ZoneError::NoRecords)?;
        f(&mut zones, u64::from(zone)).map_err(|_| ZoneError::Offline)
    }

    /// A media event: zone `zone` (0-based) of zoned namespace `nsid` becomes Read Only,
    /// giving up its open and active resources (its data stays readable, writes fail with
    /// Zone Is Read Only; Offline Zone can then take it offline). Works in any controller
    /// state. Refused for a namespace that is not zoned, a zone it does not have, missing
    /// zone records, or an Offline zone.
    pub fn zone_read_only<B: Backing>(
        &mut self,
        backing: &mut B,
        nsid: u32,
        zone: u32,
    ) -> Result<(), ZoneError> {
        self.zone_event(backing, nsid, zone, |z, i| z.fail_read_only(i))
    }

    /// A media event: zone `zone` (0-based) of zoned namespace `nsid` goes Offline from any
    /// state (reads and writes then fail with Zone Is Offline). As
    /// [`Controller::zone_read_only`] otherwise.
    pub fn zone_offline<B: Backing>(
        &mut self,
        backing: &mut B,
        nsid: u32,
        zone: u32,
    ) -> Result<(), ZoneError> {
        self.zone_event(backing, nsid, zone, |z, i| z.fail_offline(i))
    }
}

/// Deallocates the data of zone `i` of zoned namespace `nsid` (Reset Zone).
fn zone_deallocate<B: Backing>(
    backing: &mut B,
    nsid: u32,
    z: &Zoned,
    i: u64,
) -> Result<(), Status> {
    let start = i.checked_mul(z.zone_size()).ok_or(Status::INTERNAL_ERROR)?;
    backing
        .deallocate(nsid, start, z.zone_size())
        .map_err(|_| Status::WRITE_FAULT)
}
