// SPDX-License-Identifier: GPL-2.0

//! NVMe controller model: Firmware Image Download, Firmware Commit (commit actions 000b to
//! 011b), the Firmware Slot Information log and activation at reset.

#[path = "nvme_util.rs"]
mod util;

use std::collections::BTreeSet;

use nvmock_model::nvme::*;
use proptest::prelude::*;
use util::*;

const REPLACE: u32 = 0b000;
const REPLACE_ACTIVATE: u32 = 0b001;
const ACTIVATE: u32 = 0b010;
const NOW: u32 = 0b011;
const FACTORY: &[u8; 8] = b"1.0     ";

/// AFI and the seven slot revisions of the Firmware Slot Information log.
fn slots(h: &mut Host) -> (u8, Vec<[u8; 8]>) {
    let (c, l) = h.log(log_id::FIRMWARE_SLOT, 512, 0, false, 0);
    assert_status(&c, Status::SUCCESS);
    let frs = (0..7)
        .map(|i| l[8 + 8 * i..16 + 8 * i].try_into().unwrap())
        .collect();
    (l[0], frs)
}

fn image(n: u32) -> [u8; 8] {
    format!("IMG{n:05}").into_bytes().try_into().unwrap()
}

/// Downloads a complete 8 KiB image in two pieces.
fn download(h: &mut Host) {
    assert_status(&h.fw_download(0, 1024), Status::SUCCESS);
    assert_status(&h.fw_download(1024, 1024), Status::SUCCESS);
}

#[test]
fn identify_and_initial_slots() {
    let mut h = Host::ready();
    let (_, id) = h.identify(1, 0);
    assert_eq!(
        id[260], 0x1f,
        "FRMW: slot 1 read-only, 7 slots, activation without reset"
    );
    assert_eq!(le16(&id, 256) & 4, 4, "OACS: firmware download and commit");
    assert_eq!(id[319], 0xff, "FWUG: no restriction");
    assert_eq!(&id[64..72], FACTORY);
    let (afi, frs) = slots(&mut h);
    assert_eq!(afi, 1);
    assert_eq!(&frs[0], FACTORY);
    assert!(frs[1..].iter().all(|r| *r == [0; 8]));
}

#[test]
fn replace_without_activation() {
    let mut h = Host::ready();
    download(&mut h);
    assert_status(&h.fw_commit(2, REPLACE), Status::SUCCESS);
    let (afi, frs) = slots(&mut h);
    assert_eq!(afi, 1, "still slot 1, nothing next");
    assert_eq!(frs[1], image(1));
    assert_eq!(h.firmware_revision(), FACTORY);
    h.reset();
    assert_eq!(h.firmware_revision(), FACTORY, "not activated");
    // The image was consumed.
    assert_status(&h.fw_commit(3, REPLACE), Status::INVALID_FIRMWARE_IMAGE);
}

#[test]
fn activation_at_the_next_reset() {
    let mut h = Host::ready();
    download(&mut h);
    assert_status(&h.fw_commit(3, REPLACE_ACTIVATE), Status::SUCCESS);
    assert_eq!(slots(&mut h).0, 0x31, "slot 3 next, slot 1 active");
    assert_eq!(h.firmware_revision(), FACTORY);
    h.reset();
    let (afi, frs) = slots(&mut h);
    assert_eq!(afi, 3);
    assert_eq!(frs[2], image(1));
    assert_eq!(h.firmware_revision(), image(1));

    // 010b: back to the factory image at the next reset.
    assert_status(&h.fw_commit(1, ACTIVATE), Status::SUCCESS);
    assert_eq!(slots(&mut h).0, 0x13);
    h.reset();
    assert_eq!(slots(&mut h).0, 1);
    assert_eq!(h.firmware_revision(), FACTORY);
    // Activating an empty slot, or no slot.
    assert_status(&h.fw_commit(5, ACTIVATE), Status::INVALID_FIRMWARE_IMAGE);
    assert_status(&h.fw_commit(0, ACTIVATE), Status::INVALID_FIRMWARE_SLOT);
    assert_eq!(slots(&mut h).0, 1);
}

#[test]
fn replacing_the_active_slot_takes_effect_at_reset() {
    let mut h = Host::ready();
    download(&mut h);
    assert_status(&h.fw_commit(2, NOW), Status::SUCCESS);
    assert_eq!(h.firmware_revision(), image(1));
    download(&mut h);
    assert_status(&h.fw_commit(2, REPLACE), Status::SUCCESS);
    assert_eq!(
        h.firmware_revision(),
        image(1),
        "still running the old image"
    );
    assert_eq!(
        slots(&mut h),
        (2, {
            let mut v = vec![[0u8; 8]; 7];
            v[0] = *FACTORY;
            v[1] = image(2);
            v
        })
    );
    h.reset();
    assert_eq!(h.firmware_revision(), image(2));
}

#[test]
fn immediate_activation() {
    let mut h = Host::ready();
    download(&mut h);
    assert_status(&h.fw_commit(4, NOW), Status::SUCCESS);
    assert_eq!(h.firmware_revision(), image(1));
    assert_eq!(slots(&mut h).0, 4);
    // Without a download, 011b activates what the slot holds.
    assert_status(&h.fw_commit(1, NOW), Status::SUCCESS);
    assert_eq!(h.firmware_revision(), FACTORY);
    assert_status(&h.fw_commit(4, NOW), Status::SUCCESS);
    assert_eq!(h.firmware_revision(), image(1));
    assert_status(&h.fw_commit(6, NOW), Status::INVALID_FIRMWARE_IMAGE);
    assert_status(&h.fw_commit(0, NOW), Status::INVALID_FIRMWARE_SLOT);
    // It cancels an activation planned for the next reset.
    assert_status(&h.fw_commit(1, ACTIVATE), Status::SUCCESS);
    assert_status(&h.fw_commit(4, NOW), Status::SUCCESS);
    assert_eq!(slots(&mut h).0, 4);
    h.reset();
    assert_eq!(h.firmware_revision(), image(1));
}

#[test]
fn pieces_in_any_order_without_overlap() {
    let mut h = Host::ready();
    assert_status(&h.fw_download(512, 512), Status::SUCCESS);
    assert_status(&h.fw_download(2048, 16), Status::SUCCESS);
    for (o, n) in [(512, 1), (1023, 2), (0, 513), (2000, 100), (2063, 1)] {
        assert_status(&h.fw_download(o, n), Status::OVERLAPPING_RANGE);
    }
    assert_status(&h.fw_download(1024, 1024), Status::SUCCESS);
    assert_status(&h.fw_download(0, 512), Status::SUCCESS);
    assert_status(&h.fw_commit(2, REPLACE), Status::SUCCESS);
    assert_eq!(slots(&mut h).1[1], image(1));
}

#[test]
fn incomplete_images_are_refused_and_dropped() {
    let mut h = Host::ready();
    assert_status(&h.fw_commit(2, REPLACE), Status::INVALID_FIRMWARE_IMAGE);
    // A gap.
    assert_status(&h.fw_download(0, 16), Status::SUCCESS);
    assert_status(&h.fw_download(32, 16), Status::SUCCESS);
    assert_status(&h.fw_commit(2, REPLACE), Status::INVALID_FIRMWARE_IMAGE);
    // The pieces are gone: filling the gap does not complete the image.
    assert_status(&h.fw_download(16, 16), Status::SUCCESS);
    assert_status(&h.fw_commit(2, REPLACE), Status::INVALID_FIRMWARE_IMAGE);
    // Not starting at 0.
    assert_status(&h.fw_download(16, 16), Status::SUCCESS);
    assert_status(&h.fw_commit(2, NOW), Status::INVALID_FIRMWARE_IMAGE);
    assert_eq!(h.firmware_revision(), FACTORY);
    assert!(slots(&mut h).1[1..].iter().all(|r| *r == [0; 8]));
    // A reset drops a partial download.
    assert_status(&h.fw_download(0, 16), Status::SUCCESS);
    h.reset();
    assert_status(&h.fw_commit(2, REPLACE), Status::INVALID_FIRMWARE_IMAGE);
}

#[test]
fn download_limits() {
    let mut h = Host::ready();
    // MDTS is 4 MiB (2^20 dwords); the image at most 16 MiB (2^22 dwords).
    let mut s = Sqe::new(admin_opcode::FIRMWARE_IMAGE_DOWNLOAD, 1);
    s.cdw10 = 1 << 20;
    assert_status(&h.admin(&s), Status::INVALID_FIELD);
    s.cdw10 = u32::MAX;
    assert_status(&h.admin(&s), Status::INVALID_FIELD);
    assert_status(&h.fw_download((1 << 22) - 1, 2), Status::INVALID_FIELD);
    assert_status(&h.fw_download(u32::MAX, 1), Status::INVALID_FIELD);
    assert_status(&h.fw_download((1 << 22) - 1, 1), Status::SUCCESS);
    assert_eq!(FIRMWARE_IMAGE_MAX, 16 << 20);
    // Eight separate pieces at most.
    for i in 1..8 {
        assert_status(&h.fw_download(i * 64, 1), Status::SUCCESS);
    }
    assert_status(&h.fw_download(9 * 64, 1), Status::INVALID_FIELD);
    // A piece that joins two others makes room.
    assert_status(&h.fw_download(65, 63), Status::SUCCESS);
    assert_status(&h.fw_download(9 * 64, 1), Status::SUCCESS);

    // Transfer errors: the piece is not recorded.
    h.reset();
    let mut s = Sqe::new(admin_opcode::FIRMWARE_IMAGE_DOWNLOAD, 2);
    s.cdw10 = 15;
    s.prp1 = DATA_BASE + 2;
    assert_status(&h.admin(&s), Status::INVALID_PRP_OFFSET);
    s.prp1 = 1 << 40;
    assert_eq!(h.admin(&s).status, Status::DATA_TRANSFER_ERROR);
    assert_status(&h.fw_download(0, 16), Status::SUCCESS);
    assert_status(&h.fw_commit(2, REPLACE), Status::SUCCESS);
    // Data spanning pages through a PRP list.
    let buf = h.buffer(3 * 4096 + 512, 512, 8);
    let mut s = Sqe::new(admin_opcode::FIRMWARE_IMAGE_DOWNLOAD, 3);
    s.prp1 = buf.prp1;
    s.prp2 = buf.prp2;
    s.cdw10 = (3 * 4096 + 512) / 4 - 1;
    assert_status(&h.admin(&s), Status::SUCCESS);
    assert_status(&h.fw_commit(2, REPLACE), Status::SUCCESS);
    assert_eq!(slots(&mut h).1[1], image(2));
}

#[test]
fn slot_selection_and_errors() {
    let mut h = Host::ready();
    download(&mut h);
    assert_status(&h.fw_commit(1, REPLACE), Status::INVALID_FIRMWARE_SLOT);
    assert_status(
        &h.fw_commit(1, REPLACE_ACTIVATE),
        Status::INVALID_FIRMWARE_SLOT,
    );
    // The failed commits left the image.
    for ca in [0b100, 0b101, 0b110, 0b111] {
        assert_status(&h.fw_commit(2, ca), Status::INVALID_FIELD);
    }
    let mut s = Sqe::new(admin_opcode::FIRMWARE_COMMIT, 9);
    s.cdw10 = 1 << 6 | 2;
    assert_status(&h.admin(&s), Status::INVALID_FIELD);
    // FS 0: the first empty slot, then the first neither active nor next.
    for n in 1..=6 {
        if n > 1 {
            download(&mut h);
        }
        assert_status(&h.fw_commit(0, REPLACE), Status::SUCCESS);
        assert_eq!(slots(&mut h).1[n as usize], image(n));
    }
    download(&mut h);
    assert_status(&h.fw_commit(2, NOW), Status::SUCCESS);
    assert_status(&h.fw_commit(3, ACTIVATE), Status::SUCCESS);
    download(&mut h);
    assert_status(&h.fw_commit(0, REPLACE), Status::SUCCESS);
    let (afi, frs) = slots(&mut h);
    assert_eq!(afi, 0x32);
    assert_eq!(frs[1], image(7), "slot 2 got the immediate image");
    assert_eq!(frs[3], image(8), "slot 4: first not active nor next");
}

// ---------------------------------------------------------------------------------------------
// A random walk over downloads (in 1 KiB units), commits and resets against a reference model.

#[derive(Clone, Debug)]
enum FwOp {
    /// Units `start..start + len` (a unit is 256 dwords).
    Download(u32, u32),
    Commit {
        fs: u32,
        ca: u32,
    },
    Reset,
}

fn fw_op() -> impl Strategy<Value = FwOp> {
    prop_oneof![
        5 => (0u32..12, 1u32..4).prop_map(|(s, l)| FwOp::Download(s, l)),
        4 => (0u32..8, prop_oneof![4 => 0u32..4, 1 => 4u32..8]).prop_map(|(fs, ca)| FwOp::Commit { fs, ca }),
        1 => Just(FwOp::Reset),
    ]
}

#[derive(Debug)]
struct FwModel {
    slots: [Option<u32>; 7],
    active: usize,
    next: Option<usize>,
    running: Option<u32>,
    units: BTreeSet<u32>,
    images: u32,
}

impl FwModel {
    fn runs(units: &BTreeSet<u32>) -> usize {
        units
            .iter()
            .filter(|&&u| u == 0 || !units.contains(&(u - 1)))
            .count()
    }

    fn complete(&self) -> bool {
        !self.units.is_empty() && self.units.contains(&0) && Self::runs(&self.units) == 1
    }

    fn writable(&self, fs: usize) -> Result<usize, Status> {
        match fs {
            0 => Ok((2..=7)
                .find(|&s| self.slots[s - 1].is_none())
                .or_else(|| (2..=7).find(|&s| s != self.active && Some(s) != self.next))
                .unwrap()),
            1 => Err(Status::INVALID_FIRMWARE_SLOT),
            s => Ok(s),
        }
    }

    fn filled(&self, fs: usize) -> Result<usize, Status> {
        match fs {
            0 => Err(Status::INVALID_FIRMWARE_SLOT),
            s if self.slots[s - 1].is_none() => Err(Status::INVALID_FIRMWARE_IMAGE),
            s => Ok(s),
        }
    }

    fn install(&mut self, slot: usize) -> Result<(), Status> {
        let ok = self.complete();
        self.units.clear();
        if !ok {
            return Err(Status::INVALID_FIRMWARE_IMAGE);
        }
        self.images += 1;
        self.slots[slot - 1] = Some(self.images);
        Ok(())
    }

    fn commit(&mut self, fs: usize, ca: u32) -> Result<(), Status> {
        match ca {
            0 | 1 => {
                let s = self.writable(fs)?;
                self.install(s)?;
                if ca == 1 {
                    self.next = Some(s);
                }
            }
            2 => self.next = Some(self.filled(fs)?),
            3 => {
                let s = if self.units.is_empty() {
                    self.filled(fs)?
                } else {
                    let s = self.writable(fs)?;
                    self.install(s)?;
                    s
                };
                self.active = s;
                self.running = self.slots[s - 1];
                self.next = None;
            }
            _ => return Err(Status::INVALID_FIELD),
        }
        Ok(())
    }

    fn revision(r: Option<u32>) -> [u8; 8] {
        r.map_or(*FACTORY, image)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn firmware_walk_matches_the_model(ops in proptest::collection::vec(fw_op(), 1..50)) {
        let mut h = Host::ready();
        let mut m = FwModel {
            slots: [None; 7],
            active: 1,
            next: None,
            running: None,
            units: BTreeSet::new(),
            images: 0,
        };
        // Slot 1 holds the factory image: represent it as a filled slot.
        m.slots[0] = Some(0);
        for op in &ops {
            match *op {
                FwOp::Download(start, len) => {
                    let c = h.fw_download(start * 256, len * 256);
                    let new: BTreeSet<u32> = (start..start + len).collect();
                    let expect = if !m.units.is_disjoint(&new) {
                        Status::OVERLAPPING_RANGE
                    } else {
                        let mut all = m.units.clone();
                        all.extend(&new);
                        if FwModel::runs(&all) > 8 {
                            Status::INVALID_FIELD
                        } else {
                            m.units = all;
                            Status::SUCCESS
                        }
                    };
                    prop_assert_eq!(c.status.code(), expect.code(), "{:?}", op);
                }
                FwOp::Commit { fs, ca } => {
                    let c = h.fw_commit(fs, ca);
                    let expect = m.commit(fs as usize, ca).err().unwrap_or(Status::SUCCESS);
                    prop_assert_eq!(c.status.code(), expect.code(), "{:?} {:?}", op, m);
                }
                FwOp::Reset => {
                    h.reset();
                    m.units.clear();
                    if let Some(n) = m.next.take() {
                        m.active = n;
                    }
                    m.running = m.slots[m.active - 1];
                }
            }
            let (afi, frs) = slots(&mut h);
            let next = m.next.unwrap_or(0) as u8;
            prop_assert_eq!(afi, m.active as u8 | next << 4, "{:?}", m);
            for (i, r) in frs.iter().enumerate() {
                let want = match m.slots[i] {
                    None => [0; 8],
                    Some(n) => FwModel::revision((n > 0).then_some(n)),
                };
                prop_assert_eq!(*r, want, "slot {}", i + 1);
            }
            let running = m.running.filter(|&n| n > 0);
            prop_assert_eq!(h.firmware_revision(), FwModel::revision(running).to_vec());
        }
    }
}
