// SPDX-License-Identifier: GPL-2.0

//! Controller parameters: what the controller is, as opposed to what state it is in.
//!
//! A caller describes the controller with a [`Config`] (borrowed strings and namespace list)
//! and turns it into [`Params`] with [`Params::new`], which checks every field and names the
//! first bad one. [`Params`] owns copies of everything, so the controller borrows nothing.

/// Most namespaces a controller can have.
pub const MAX_NAMESPACES: usize = 16;
/// Largest Maximum Data Transfer Size accepted: `2^MAX_MDTS` pages of 4 KiB (4 MiB).
pub const MAX_MDTS: u8 = 10;
/// Most interrupt vectors (the MSI-X table size limit).
pub const MAX_VECTORS: u16 = 2048;

const SERIAL_LEN: usize = 20;
const MODEL_LEN: usize = 40;
const FIRMWARE_LEN: usize = 8;

/// One namespace as the caller describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamespaceConfig {
    /// Logical block size in bytes: 512 or 4096.
    pub lba_size: u32,
    /// Capacity in logical blocks (at least 1).
    pub blocks: u64,
}

/// The zoned geometry and limits of a namespace of the Zoned Namespace Command Set (CSI 02h),
/// as the caller describes it; see [`Params::zoned`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZonedConfig {
    /// Zone size in bytes: a multiple of the logical block size that divides the namespace's
    /// capacity (Identify ZSZE is this in blocks; Linux wants a power of two of blocks).
    pub zone_size: u64,
    /// Zone capacity in bytes: the writable part of each zone, a multiple of the logical
    /// block size, 1 block to [`ZonedConfig::zone_size`].
    pub zone_capacity: u64,
    /// Most zones open at once (Implicitly or Explicitly Opened); 0 for no limit. At most
    /// [`ZonedConfig::max_active`] when that is limited.
    pub max_open: u32,
    /// Most zones active at once (opened or Closed); 0 for no limit.
    pub max_active: u32,
    /// Read Across Zone Boundaries (OZCS bit 0): a read may span zones. Without it a read
    /// that does fails with Zone Boundary Error.
    pub read_across_zones: bool,
}

/// The controller as the caller describes it; see [`Params::new`].
#[derive(Clone, Copy, Debug)]
pub struct Config<'a> {
    /// PCI Vendor ID reported by Identify Controller.
    pub vendor_id: u16,
    /// PCI Subsystem Vendor ID reported by Identify Controller.
    pub subsystem_vendor_id: u16,
    /// Serial number: 1 to 20 printable ASCII characters.
    pub serial: &'a str,
    /// Model number: 1 to 40 printable ASCII characters.
    pub model: &'a str,
    /// Firmware revision: 1 to 8 printable ASCII characters.
    pub firmware: &'a str,
    /// Number of I/O submission/completion queue pairs the controller can allocate (at least 1).
    pub io_queues: u16,
    /// CAP.MQES: maximum I/O queue entries, 0-based (at least 1, i.e. two entries).
    pub mqes: u16,
    /// Maximum Data Transfer Size as a power of two of 4 KiB pages, 1 to [`MAX_MDTS`].
    pub mdts: u8,
    /// CAP.TO: worst-case time to become ready, in 500 ms units (at least 1).
    pub timeout: u8,
    /// Number of interrupt vectors a completion queue may use, 1 to [`MAX_VECTORS`].
    pub vectors: u16,
    /// The namespaces, numbered from 1 in order; at most [`MAX_NAMESPACES`].
    pub namespaces: &'a [NamespaceConfig],
}

/// The first field of a [`Config`] that is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamError {
    /// [`Config::serial`] is empty, too long or not printable ASCII.
    Serial,
    /// [`Config::model`] is empty, too long or not printable ASCII.
    Model,
    /// [`Config::firmware`] is empty, too long or not printable ASCII.
    Firmware,
    /// [`Config::io_queues`] is zero, or more than the controller has room for.
    IoQueues,
    /// [`Config::mqes`] is below 1.
    Mqes,
    /// [`Config::mdts`] is outside `1..=MAX_MDTS`.
    Mdts,
    /// [`Config::timeout`] is zero.
    Timeout,
    /// [`Config::vectors`] is outside `1..=MAX_VECTORS`.
    Vectors,
    /// More than [`MAX_NAMESPACES`] namespaces.
    Namespaces,
    /// Namespace `index` (0-based) has a block size other than 512 or 4096.
    LbaSize(usize),
    /// Namespace `index` (0-based) has no blocks, or a capacity in bytes that overflows.
    Blocks(usize),
    /// [`Params::zoned`] names an NSID that is not one of the namespaces.
    ZonedNamespace,
    /// Zoned namespace `index` (0-based): [`ZonedConfig::zone_size`] is zero, not a multiple
    /// of the logical block size, or does not divide the namespace's capacity.
    ZoneSize(usize),
    /// Zoned namespace `index` (0-based) has no zone (the zone size is above its capacity),
    /// or more than `u32::MAX` zones.
    ZoneCount(usize),
    /// Zoned namespace `index` (0-based): [`ZonedConfig::zone_capacity`] is zero, above the
    /// zone size, or not a multiple of the logical block size.
    ZoneCapacity(usize),
    /// Zoned namespace `index` (0-based): [`ZonedConfig::max_open`] is above (or, with
    /// [`ZonedConfig::max_active`] limited, unlimited while) the active limit (MOR above MAR),
    /// or a limit is above the number of zones.
    ZoneLimits(usize),
    /// [`Params::zone_append_limit`]: ZASL above MDTS.
    Zasl,
}

/// A validated zoned geometry (see [`ZonedConfig`]), in bytes so that it holds in every LBA
/// format the geometry allows.
///
/// # Invariants
///
/// `0 < zone_capacity <= zone_size`, `1 <= zones <= u32::MAX`, `max_open <= max_active` when
/// `max_active` is not 0 and both at most `zones`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zoned {
    zone_size: u64,
    zone_capacity: u64,
    zones: u32,
    max_open: u32,
    max_active: u32,
    read_across_zones: bool,
}

impl Zoned {
    /// Zone size in bytes.
    pub fn zone_size(&self) -> u64 {
        self.zone_size
    }

    /// Zone capacity in bytes.
    pub fn zone_capacity(&self) -> u64 {
        self.zone_capacity
    }

    /// Number of zones.
    pub fn zones(&self) -> u32 {
        self.zones
    }

    /// Most open zones, `None` for no limit.
    pub fn max_open(&self) -> Option<u32> {
        (self.max_open != 0).then_some(self.max_open)
    }

    /// Most active zones, `None` for no limit.
    pub fn max_active(&self) -> Option<u32> {
        (self.max_active != 0).then_some(self.max_active)
    }

    /// Whether reads may cross zone boundaries.
    pub fn read_across_zones(&self) -> bool {
        self.read_across_zones
    }

    /// Whether the geometry holds in blocks of `2^lba_shift` bytes: zone size and capacity
    /// are whole numbers of blocks.
    pub fn fits_format(&self, lba_shift: u8) -> bool {
        let mask = (1u64 << (lba_shift & 63)) - 1;
        self.zone_size & mask == 0 && self.zone_capacity & mask == 0
    }
}

/// A validated namespace.
///
/// # Invariants
///
/// `lba_shift` is 9 or 12, `blocks >= 1`, and `blocks << lba_shift` fits in a `u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Namespace {
    lba_shift: u8,
    blocks: u64,
}

impl Namespace {
    const NONE: Namespace = Namespace {
        lba_shift: 9,
        blocks: 1,
    };

    /// Log2 of the logical block size.
    pub fn lba_shift(&self) -> u8 {
        self.lba_shift
    }

    /// Logical block size in bytes.
    pub fn lba_size(&self) -> u32 {
        1 << self.lba_shift
    }

    /// Capacity in logical blocks.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Capacity in bytes.
    pub fn bytes(&self) -> u64 {
        // INVARIANT (of the type): does not overflow.
        self.blocks << self.lba_shift
    }

    /// `bytes` of storage formatted with blocks of `2^lba_shift` bytes (9 or 12): as many
    /// whole blocks as fit. `None` for another shift, or if not one block fits.
    pub(super) fn sized(bytes: u64, lba_shift: u8) -> Option<Namespace> {
        if lba_shift != 9 && lba_shift != 12 {
            return None;
        }
        let blocks = bytes >> lba_shift;
        // INVARIANT: `blocks << lba_shift <= bytes`, which fits in a `u64`.
        (blocks >= 1).then_some(Namespace { lba_shift, blocks })
    }

    /// The byte range of `nlb` blocks from `slba`, if it lies inside the namespace.
    pub fn range(&self, slba: u64, nlb: u64) -> Option<(u64, u64)> {
        let end = slba.checked_add(nlb)?;
        if end > self.blocks {
            return None;
        }
        // Both are at most `blocks`, so the shifts do not overflow.
        Some((slba << self.lba_shift, nlb << self.lba_shift))
    }
}

/// Validated controller parameters.
///
/// # Invariants
///
/// - `serial`, `model` and `firmware` are printable ASCII, padded with spaces.
/// - `io_queues >= 1`, `mqes >= 1`, `1 <= mdts <= MAX_MDTS`, `timeout >= 1`,
///   `1 <= vectors <= MAX_VECTORS`, `ns_count <= MAX_NAMESPACES`.
/// - The first `ns_count` entries of `namespaces` are the namespaces 1 to `ns_count`.
/// - Only those entries of `zoned` can be `Some`, each a geometry that holds in its
///   namespace's block size and divides its capacity; `zasl <= mdts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    vendor_id: u16,
    subsystem_vendor_id: u16,
    serial: [u8; SERIAL_LEN],
    model: [u8; MODEL_LEN],
    firmware: [u8; FIRMWARE_LEN],
    io_queues: u16,
    mqes: u16,
    mdts: u8,
    timeout: u8,
    vectors: u16,
    namespaces: [Namespace; MAX_NAMESPACES],
    ns_count: u8,
    /// The zoned geometry of each namespace of the Zoned Namespace Command Set.
    zoned: [Option<Zoned>; MAX_NAMESPACES],
    /// Zone Append Size Limit (a power of two of 4 KiB pages; 0: MDTS).
    zasl: u8,
}

/// `s` as a space-padded ASCII field of `N` bytes, if it is 1 to `N` printable characters.
fn ascii<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.is_empty() || s.len() > N || !s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    let mut out = [b' '; N];
    out.iter_mut().zip(s.bytes()).for_each(|(d, b)| *d = b);
    Some(out)
}

impl Params {
    /// Checks `c` and returns the parameters it describes, or the first invalid field.
    pub fn new(c: &Config<'_>) -> Result<Params, ParamError> {
        let serial = ascii(c.serial).ok_or(ParamError::Serial)?;
        let model = ascii(c.model).ok_or(ParamError::Model)?;
        let firmware = ascii(c.firmware).ok_or(ParamError::Firmware)?;
        if c.io_queues == 0 {
            return Err(ParamError::IoQueues);
        }
        if c.mqes == 0 {
            return Err(ParamError::Mqes);
        }
        if !(1..=MAX_MDTS).contains(&c.mdts) {
            return Err(ParamError::Mdts);
        }
        if c.timeout == 0 {
            return Err(ParamError::Timeout);
        }
        if !(1..=MAX_VECTORS).contains(&c.vectors) {
            return Err(ParamError::Vectors);
        }
        if c.namespaces.len() > MAX_NAMESPACES {
            return Err(ParamError::Namespaces);
        }
        let mut namespaces = [Namespace::NONE; MAX_NAMESPACES];
        for (i, (n, slot)) in c.namespaces.iter().zip(namespaces.iter_mut()).enumerate() {
            let lba_shift = match n.lba_size {
                512 => 9,
                4096 => 12,
                _ => return Err(ParamError::LbaSize(i)),
            };
            if n.blocks == 0 || n.blocks.leading_zeros() < u32::from(lba_shift) {
                return Err(ParamError::Blocks(i));
            }
            *slot = Namespace {
                lba_shift,
                blocks: n.blocks,
            };
        }
        // INVARIANT: every field checked above; at most MAX_NAMESPACES (16) namespaces.
        Ok(Params {
            vendor_id: c.vendor_id,
            subsystem_vendor_id: c.subsystem_vendor_id,
            serial,
            model,
            firmware,
            io_queues: c.io_queues,
            mqes: c.mqes,
            mdts: c.mdts,
            timeout: c.timeout,
            vectors: c.vectors,
            namespaces,
            ns_count: c.namespaces.len() as u8,
            zoned: [None; MAX_NAMESPACES],
            zasl: 0,
        })
    }

    /// These parameters with namespace `nsid` a zoned namespace (CSI 02h) of geometry `z`, or
    /// the first invalid field of `z` (the error carries the namespace's 0-based index).
    pub fn zoned(mut self, nsid: u32, z: &ZonedConfig) -> Result<Params, ParamError> {
        let ns = *self.namespace(nsid).ok_or(ParamError::ZonedNamespace)?;
        let i = (nsid - 1) as usize;
        let block = u64::from(ns.lba_size());
        if z.zone_size == 0
            || !z.zone_size.is_multiple_of(block)
            || !ns.bytes().is_multiple_of(z.zone_size)
        {
            return Err(if z.zone_size > ns.bytes() {
                ParamError::ZoneCount(i)
            } else {
                ParamError::ZoneSize(i)
            });
        }
        let zones =
            u32::try_from(ns.bytes() / z.zone_size).map_err(|_| ParamError::ZoneCount(i))?;
        if zones == 0 {
            return Err(ParamError::ZoneCount(i));
        }
        if z.zone_capacity == 0
            || z.zone_capacity > z.zone_size
            || !z.zone_capacity.is_multiple_of(block)
        {
            return Err(ParamError::ZoneCapacity(i));
        }
        let open_above_active = z.max_active != 0 && (z.max_open == 0 || z.max_open > z.max_active);
        if open_above_active || z.max_open > zones || z.max_active > zones {
            return Err(ParamError::ZoneLimits(i));
        }
        let slot = self.zoned.get_mut(i).ok_or(ParamError::ZonedNamespace)?;
        // INVARIANT: checked above.
        *slot = Some(Zoned {
            zone_size: z.zone_size,
            zone_capacity: z.zone_capacity,
            zones,
            max_open: z.max_open,
            max_active: z.max_active,
            read_across_zones: z.read_across_zones,
        });
        Ok(self)
    }

    /// These parameters with Zone Append Size Limit `zasl` (Identify Controller, Zoned
    /// Namespace Command Set: a power of two of 4 KiB pages; 0 means MDTS). Refused with
    /// [`ParamError::Zasl`] above MDTS.
    pub fn zone_append_limit(mut self, zasl: u8) -> Result<Params, ParamError> {
        if zasl > self.mdts {
            return Err(ParamError::Zasl);
        }
        self.zasl = zasl;
        Ok(self)
    }

    /// The zoned geometry of namespace `nsid`, if it is a zoned namespace.
    pub fn zoned_namespace(&self, nsid: u32) -> Option<&Zoned> {
        self.namespace(nsid)?;
        self.zoned.get(usize::try_from(nsid - 1).ok()?)?.as_ref()
    }

    /// Whether any namespace is zoned: the controller then supports I/O Command Set selection
    /// (CAP.CSS bit 6) and the Zoned Namespace Command Set.
    pub fn has_zoned(&self) -> bool {
        self.zoned.iter().any(Option::is_some)
    }

    /// Zone Append Size Limit (0: MDTS).
    pub fn zasl(&self) -> u8 {
        self.zasl
    }

    /// Largest Zone Append data size in bytes.
    pub fn max_append(&self) -> u64 {
        match self.zasl {
            0 => self.max_transfer(),
            z => 4096 << z.min(MAX_MDTS),
        }
    }

    /// PCI Vendor ID.
    pub fn vendor_id(&self) -> u16 {
        self.vendor_id
    }

    /// PCI Subsystem Vendor ID.
    pub fn subsystem_vendor_id(&self) -> u16 {
        self.subsystem_vendor_id
    }

    /// Serial number, space padded.
    pub fn serial(&self) -> &[u8; SERIAL_LEN] {
        &self.serial
    }

    /// Model number, space padded.
    pub fn model(&self) -> &[u8; MODEL_LEN] {
        &self.model
    }

    /// Firmware revision, space padded.
    pub fn firmware(&self) -> &[u8; FIRMWARE_LEN] {
        &self.firmware
    }

    /// Number of I/O queue pairs the controller can allocate.
    pub fn io_queues(&self) -> u16 {
        self.io_queues
    }

    /// CAP.MQES (0-based).
    pub fn mqes(&self) -> u16 {
        self.mqes
    }

    /// MDTS (power of two of 4 KiB pages).
    pub fn mdts(&self) -> u8 {
        self.mdts
    }

    /// Maximum data transfer size in bytes.
    pub fn max_transfer(&self) -> u64 {
        4096 << self.mdts.min(MAX_MDTS)
    }

    /// CAP.TO (500 ms units).
    pub fn timeout(&self) -> u8 {
        self.timeout
    }

    /// Number of interrupt vectors.
    pub fn vectors(&self) -> u16 {
        self.vectors
    }

    /// Number of namespaces (Identify Controller NN).
    pub fn namespace_count(&self) -> u32 {
        u32::from(self.ns_count)
    }

    /// Namespace `nsid`, if it exists (`1..=namespace_count()`).
    pub fn namespace(&self, nsid: u32) -> Option<&Namespace> {
        if nsid == 0 || nsid > self.namespace_count() {
            return None;
        }
        self.namespaces.get(usize::try_from(nsid - 1).ok()?)
    }
}
