// SPDX-License-Identifier: GPL-2.0

//! Zoned Namespace Command Set: random sequences of writes, appends, reads, Zone Management
//! Send actions (single and Select All), media events and controller resets, against a
//! reference written from the specification's transition table. After every command the
//! status and every zone's state and write pointer (in the records and by Report Zones) equal
//! the reference's, and the open and active counts stay within MOR and MAR.

#[path = "nvme_zns_util.rs"]
mod zns;

use nvmock_model::nvme::regs::*;
use nvmock_model::nvme::*;
use proptest::prelude::*;
use zns::util::*;
use zns::*;
use ZoneState::*;

/// Zones the random commands aim at (the rest stay Empty, and are checked to).
const AIM: u64 = 6;

/// The Zone Management Send transition table (single zone), from the specification: the state
/// a zone goes to, or the status the action fails with. Resources are the reference's
/// business (see [`Reference::take_resources`]).
const SEND_TABLE: [(ZoneState, u8, Result<ZoneState, Status>); 35] = {
    const IST: Result<ZoneState, Status> = Err(Status::ZONE_INVALID_TRANSITION);
    [
        (Empty, OPEN, Ok(ExplicitlyOpened)),
        (ImplicitlyOpened, OPEN, Ok(ExplicitlyOpened)),
        (ExplicitlyOpened, OPEN, Ok(ExplicitlyOpened)),
        (Closed, OPEN, Ok(ExplicitlyOpened)),
        (Full, OPEN, IST),
        (ReadOnly, OPEN, IST),
        (Offline, OPEN, IST),
        (Empty, CLOSE, IST),
        (ImplicitlyOpened, CLOSE, Ok(Closed)),
        (ExplicitlyOpened, CLOSE, Ok(Closed)),
        (Closed, CLOSE, Ok(Closed)),
        (Full, CLOSE, IST),
        (ReadOnly, CLOSE, IST),
        (Offline, CLOSE, IST),
        (Empty, FINISH, Ok(Full)),
        (ImplicitlyOpened, FINISH, Ok(Full)),
        (ExplicitlyOpened, FINISH, Ok(Full)),
        (Closed, FINISH, Ok(Full)),
        (Full, FINISH, Ok(Full)),
        (ReadOnly, FINISH, IST),
        (Offline, FINISH, IST),
        (Empty, RESET, Ok(Empty)),
        (ImplicitlyOpened, RESET, Ok(Empty)),
        (ExplicitlyOpened, RESET, Ok(Empty)),
        (Closed, RESET, Ok(Empty)),
        (Full, RESET, Ok(Empty)),
        (ReadOnly, RESET, IST),
        (Offline, RESET, IST),
        (Empty, OFFLINE, IST),
        (ImplicitlyOpened, OFFLINE, IST),
        (ExplicitlyOpened, OFFLINE, IST),
        (Closed, OFFLINE, IST),
        (Full, OFFLINE, IST),
        (ReadOnly, OFFLINE, Ok(Offline)),
        (Offline, OFFLINE, Ok(Offline)),
    ]
};

/// Which zones Select All applies an action to.
fn select_all_takes(action: u8, s: ZoneState) -> bool {
    match action {
        CLOSE => matches!(s, ImplicitlyOpened | ExplicitlyOpened),
        FINISH => matches!(s, ImplicitlyOpened | ExplicitlyOpened | Closed),
        OPEN => s == Closed,
        RESET => matches!(s, ImplicitlyOpened | ExplicitlyOpened | Closed | Full),
        OFFLINE => s == ReadOnly,
        _ => false,
    }
}

fn open(s: ZoneState) -> bool {
    matches!(s, ImplicitlyOpened | ExplicitlyOpened)
}

fn active(s: ZoneState) -> bool {
    open(s) || s == Closed
}

/// The reference: every zone's state and write pointer (blocks from its start).
#[derive(Clone, Debug)]
struct Reference {
    zones: Vec<(ZoneState, u64)>,
    mor: Option<u64>,
    mar: Option<u64>,
    razb: bool,
}

impl Reference {
    fn count(&self, f: fn(ZoneState) -> bool) -> u64 {
        self.zones.iter().filter(|z| f(z.0)).count() as u64
    }

    /// Resources for zone `i` going from `from` to `to`: an active one if it becomes active,
    /// an open one if it opens (closing the lowest-numbered implicitly opened zone at the
    /// open limit).
    fn take_resources(&mut self, from: ZoneState, to: ZoneState) -> Result<(), Status> {
        if !active(from) && active(to) && self.mar.is_some_and(|m| self.count(active) >= m) {
            return Err(Status::ZONE_TOO_MANY_ACTIVE);
        }
        if !open(from) && open(to) && self.mor.is_some_and(|m| self.count(open) >= m) {
            let victim = self
                .zones
                .iter()
                .position(|z| z.0 == ImplicitlyOpened)
                .ok_or(Status::ZONE_TOO_MANY_OPEN)?;
            self.zones[victim].0 = Closed;
        }
        Ok(())
    }

    /// A write (or append) of `nlb` blocks at `slba`, `append` for a Zone Append to the zone
    /// starting at `slba`. Returns the LBA written.
    fn write(&mut self, slba: u64, nlb: u64, append: bool) -> Result<u64, Status> {
        if slba >= ZONES * ZSZE || (!append && slba + nlb > ZONES * ZSZE) {
            return Err(Status::LBA_OUT_OF_RANGE);
        }
        if append && !slba.is_multiple_of(ZSZE) {
            return Err(Status::INVALID_FIELD);
        }
        let i = (slba / ZSZE) as usize;
        let (s, wp) = self.zones[i];
        match s {
            Full => return Err(Status::ZONE_IS_FULL),
            ReadOnly => return Err(Status::ZONE_IS_READ_ONLY),
            Offline => return Err(Status::ZONE_IS_OFFLINE),
            _ => {}
        }
        let start = i as u64 * ZSZE;
        if !append && slba != start + wp {
            return Err(Status::ZONE_INVALID_WRITE);
        }
        if wp + nlb > ZCAP {
            return Err(Status::ZONE_BOUNDARY_ERROR);
        }
        self.take_resources(s, ImplicitlyOpened)?;
        let now = if open(s) { s } else { ImplicitlyOpened };
        let wp2 = wp + nlb;
        self.zones[i] = if wp2 == ZCAP {
            (Full, ZCAP)
        } else {
            (now, wp2)
        };
        Ok(start + wp)
    }

    fn read(&self, slba: u64, nlb: u64) -> Result<(), Status> {
        if slba + nlb > ZONES * ZSZE {
            return Err(Status::LBA_OUT_OF_RANGE);
        }
        let (first, last) = (slba / ZSZE, (slba + nlb - 1) / ZSZE);
        if first != last && !self.razb {
            return Err(Status::ZONE_BOUNDARY_ERROR);
        }
        if (first..=last).any(|z| self.zones[z as usize].0 == Offline) {
            return Err(Status::ZONE_IS_OFFLINE);
        }
        Ok(())
    }

    /// Zone `i` after a successful `action`.
    fn settle(&mut self, i: usize, to: ZoneState) {
        let wp = self.zones[i].1;
        self.zones[i] = match to {
            Empty | Offline => (to, 0),
            Full => (Full, ZCAP),
            _ => (to, wp),
        };
    }

    fn send(&mut self, i: usize, action: u8) -> Result<(), Status> {
        let from = self.zones[i].0;
        let to = SEND_TABLE
            .iter()
            .find(|r| r.0 == from && r.1 == action)
            .expect("table row")
            .2?;
        self.take_resources(from, to)?;
        self.settle(i, to);
        Ok(())
    }

    fn send_all(&mut self, action: u8) -> Result<(), Status> {
        if action == OPEN
            && self
                .mor
                .is_some_and(|m| self.count(open) + self.count(|s| s == Closed) > m)
        {
            return Err(Status::ZONE_TOO_MANY_OPEN);
        }
        for i in 0..self.zones.len() {
            if select_all_takes(action, self.zones[i].0) {
                self.send(i, action)?;
            }
        }
        Ok(())
    }

    fn read_only(&mut self, i: usize) -> bool {
        if self.zones[i].0 == Offline {
            return false;
        }
        self.zones[i].0 = ReadOnly;
        true
    }

    fn offline(&mut self, i: usize) {
        self.zones[i] = (Offline, 0);
    }

    fn controller_reset(&mut self) {
        for z in &mut self.zones {
            if open(z.0) {
                z.0 = Closed;
            }
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// A write at the write pointer of `zone` moved by `delta` blocks.
    Write {
        zone: u64,
        delta: i8,
        nlb: u64,
    },
    /// A Zone Append to `zone` (one block off its start if `misaligned`).
    Append {
        zone: u64,
        misaligned: bool,
        nlb: u64,
    },
    /// A read from block `at` of `zone`.
    Read {
        zone: u64,
        at: u64,
        nlb: u64,
    },
    Send {
        zone: u64,
        action: u8,
        all: bool,
    },
    ReadOnly {
        zone: u64,
    },
    Offline {
        zone: u64,
    },
    ControllerReset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..AIM, -1i8..=1, 1..=ZCAP).prop_map(|(zone, delta, nlb)| {
            let delta = if delta == 0 || nlb % 5 != 0 { 0 } else { delta };
            Op::Write { zone, delta, nlb: nlb.clamp(1, ZCAP / 2) }
        }),
        3 => (0..AIM, any::<bool>(), 1..=ZCAP / 2)
            .prop_map(|(zone, m, nlb)| Op::Append { zone, misaligned: m && nlb % 7 == 0, nlb }),
        2 => (0..AIM, 0..ZSZE, 1..=ZSZE)
            .prop_map(|(zone, at, nlb)| Op::Read { zone, at, nlb }),
        6 => (0..AIM, 1u8..=5, any::<bool>())
            .prop_map(|(zone, action, all)| Op::Send { zone, action, all: all && action % 2 == 0 }),
        1 => (0..AIM).prop_map(|zone| Op::ReadOnly { zone }),
        1 => (0..AIM).prop_map(|zone| Op::Offline { zone }),
        1 => Just(Op::ControllerReset),
    ]
}

/// Open/active limits: (MOR, MAR), 0 for none.
fn limits() -> impl Strategy<Value = (u32, u32)> {
    prop_oneof![
        Just((0, 0)),
        Just((1, 1)),
        Just((2, 3)),
        Just((1, 4)),
        Just((3, 0)),
    ]
}

fn check(h: &mut Host, r: &Reference, what: &Op) {
    let got = records(h);
    assert_eq!(got, r.zones, "records after {what:?}");
    let rep = reported(h);
    for (i, (&(code, wp), &(s, w))) in rep.iter().zip(&r.zones).enumerate() {
        assert_eq!(code, s.code(), "reported state of zone {i} after {what:?}");
        let start = i as u64 * ZSZE;
        let want = match s {
            ReadOnly | Offline => u64::MAX,
            Full => start + ZCAP,
            _ => start + w,
        };
        assert_eq!(
            wp, want,
            "reported write pointer of zone {i} after {what:?}"
        );
    }
    if let Some(m) = r.mor {
        assert!(r.count(open) <= m);
    }
    if let Some(m) = r.mar {
        assert!(r.count(active) <= m);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn zones_follow_the_transition_table(
        (mor, mar) in limits(),
        razb in any::<bool>(),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let z = ZonedConfig {
            max_open: mor,
            max_active: mar,
            read_across_zones: razb,
            ..zoned_config()
        };
        let mut h = zoned_host_with(&z, 0);
        let lim = |l: u32| (l != 0).then_some(u64::from(l));
        let mut r = Reference {
            zones: vec![(Empty, 0); ZONES as usize],
            mor: lim(mor),
            mar: lim(mar),
            razb,
        };
        for o in &ops {
            match *o {
                Op::Write { zone, delta, nlb } => {
                    let start = zone * ZSZE;
                    let slba = (start + r.zones[zone as usize].1).saturating_add_signed(delta.into());
                    let want = r.write(slba, nlb, false);
                    let c = write(&mut h, slba, nlb);
                    prop_assert_eq!(c.status.code(), want.map_or_else(|e| e.code(), |_| (0, 0)), "{:?}", o);
                }
                Op::Append { zone, misaligned, nlb } => {
                    let zslba = zone * ZSZE + u64::from(misaligned);
                    let want = r.write(zslba, nlb, true);
                    let c = append(&mut h, zslba, nlb);
                    match want {
                        Ok(lba) => {
                            prop_assert_eq!(c.status, Status::SUCCESS, "{:?}", o);
                            prop_assert_eq!(assigned(&c), lba);
                        }
                        Err(e) => prop_assert_eq!(c.status.code(), e.code(), "{:?}", o),
                    }
                }
                Op::Read { zone, at, nlb } => {
                    let slba = zone * ZSZE + at;
                    let want = r.read(slba, nlb);
                    let c = read(&mut h, slba, nlb).0;
                    prop_assert_eq!(c.status.code(), want.map_or_else(|e| e.code(), |_| (0, 0)), "{:?}", o);
                }
                Op::Send { zone, action, all } => {
                    let want = if all { r.send_all(action) } else { r.send(zone as usize, action) };
                    let c = zms(&mut h, ZNS, zone * ZSZE, action, all);
                    prop_assert_eq!(c.status.code(), want.map_or_else(|e| e.code(), |_| (0, 0)), "{:?}", o);
                }
                Op::ReadOnly { zone } => {
                    let want = r.read_only(zone as usize);
                    let got = h.ctrl.zone_read_only(&mut h.disk, ZNS, zone as u32);
                    prop_assert_eq!(got.is_ok(), want);
                }
                Op::Offline { zone } => {
                    r.offline(zone as usize);
                    h.ctrl.zone_offline(&mut h.disk, ZNS, zone as u32).unwrap();
                }
                Op::ControllerReset => {
                    r.controller_reset();
                    h.write(CC, 0);
                    h.run();
                    prop_assert_eq!(enable_css(&mut h, CC_CSS_IO_SETS), CSTS_RDY);
                    h.adopt_admin(32, 32);
                    h.setup_io(1, 64, 1);
                }
            }
            check(&mut h, &r, o);
        }
    }
}

#[derive(Clone, Debug)]
enum DataOp {
    Write { zone: u64, nlb: u64 },
    Append { zone: u64, nlb: u64 },
    Reset { zone: u64 },
    Finish { zone: u64 },
}

fn data_op() -> impl Strategy<Value = DataOp> {
    prop_oneof![
        4 => (0..AIM, 1..=ZCAP / 3).prop_map(|(zone, nlb)| DataOp::Write { zone, nlb }),
        4 => (0..AIM, 1..=ZCAP / 3).prop_map(|(zone, nlb)| DataOp::Append { zone, nlb }),
        1 => (0..AIM).prop_map(|zone| DataOp::Reset { zone }),
        1 => (0..AIM).prop_map(|zone| DataOp::Finish { zone }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The data lands where the write pointer (or the LBA a Zone Append reports) says, a
    /// reset zone reads as zeroes again, and nothing else on the namespace changes.
    #[test]
    fn zone_data_follows_the_write_pointers(ops in prop::collection::vec(data_op(), 1..40)) {
        let z = ZonedConfig { max_open: 0, max_active: 0, ..zoned_config() };
        let mut h = zoned_host_with(&z, 0);
        let mut image = vec![0u8; (ZONES * ZSZE * 512) as usize];
        for o in &ops {
            let wp = |h: &Host, zone: u64| records(h)[zone as usize].1;
            match *o {
                DataOp::Write { zone, nlb } => {
                    let slba = zone * ZSZE + wp(&h, zone);
                    if write(&mut h, slba, nlb).status == Status::SUCCESS {
                        let at = (slba * 512) as usize;
                        image[at..at + (nlb * 512) as usize]
                            .copy_from_slice(&pattern((nlb * 512) as usize, slba as u8));
                    }
                }
                DataOp::Append { zone, nlb } => {
                    let before = wp(&h, zone);
                    let c = append(&mut h, zone * ZSZE, nlb);
                    if c.status == Status::SUCCESS {
                        prop_assert_eq!(assigned(&c), zone * ZSZE + before);
                        let at = (assigned(&c) * 512) as usize;
                        image[at..at + (nlb * 512) as usize]
                            .copy_from_slice(&pattern((nlb * 512) as usize, 0xa5));
                    }
                }
                DataOp::Reset { zone } => {
                    prop_assert_eq!(zms(&mut h, ZNS, zone * ZSZE, RESET, false).status, Status::SUCCESS);
                    let at = (zone * ZSZE * 512) as usize;
                    image[at..at + (ZSZE * 512) as usize].fill(0);
                }
                DataOp::Finish { zone } => {
                    prop_assert_eq!(zms(&mut h, ZNS, zone * ZSZE, FINISH, false).status, Status::SUCCESS);
                }
            }
            let aimed = (AIM * ZSZE * 512) as usize;
            prop_assert!(h.disk.ns[ZNS as usize - 1][..aimed] == image[..aimed], "contents after {:?}", o);
        }
        prop_assert!(h.disk.ns[ZNS as usize - 1] == image);
        prop_assert!(h.disk.ns[CONV as usize - 1] == vec![0u8; image.len()]);
    }
}
