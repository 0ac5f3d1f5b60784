// SPDX-License-Identifier: GPL-2.0

//! Emulated NVMe controllers created and removed at run time through configfs.
//!
//! ```text
//! mkdir /sys/kernel/config/nvmock_nvme/ssd0       # a controller description, with defaults
//! echo 4096 > /sys/kernel/config/nvmock_nvme/ssd0/lba_size
//! echo 1 > /sys/kernel/config/nvmock_nvme/ssd0/power   # create it: the driver binds
//! cat /sys/kernel/config/nvmock_nvme/ssd0/serial       # NVMOCK00000001
//! echo 0 > /sys/kernel/config/nvmock_nvme/ssd0/power   # remove it (driver unbinds first)
//! rmdir /sys/kernel/config/nvmock_nvme/ssd0            # removes it too, if still powered
//!
//! mkdir /sys/kernel/config/nvmock_nvme/zns0       # a conventional and a zoned namespace
//! cd /sys/kernel/config/nvmock_nvme/zns0
//! echo 2 > namespaces; echo 1 > zoned; echo 4096 > zone_kib; echo 8 > max_active
//! echo 1 > power                                  # nvme<n>n2 is a host-managed zoned disk
//!
//! mkdir /sys/kernel/config/nvmock_nvme/slow0      # completions after 200 us, 8 at a time
//! cd /sys/kernel/config/nvmock_nvme/slow0
//! echo simple > timing; echo 200000 > read_latency; echo 200000 > write_latency
//! echo 1 > power; cat /sys/kernel/debug/nvmock_nvme<instance>/timing   # the counters
//!
//! mkdir /sys/kernel/config/nvmock_nvme/cz0        # a conventional and a ConZone-like zoned
//! cd /sys/kernel/config/nvmock_nvme/cz0           # namespace: zone capacity 3 MiB (two of
//! echo 256 > ns_mib; echo 2 > namespaces; echo 1 > zoned   # the preset's 1536 KiB superblock
//! echo 4096 > zone_kib; echo 3072 > zone_cap_kib  # steps) in 4 MiB zones
//! echo conzone-like > timing; echo 4096 > l2p_entries      # a 16 MiB L2P reach
//! echo 1 > power; cat /sys/kernel/debug/nvmock_nvme<instance>/timing   # cache, pSLC, zones
//!
//! mkdir /sys/kernel/config/nvmock_nvme/p2p0       # x86_64: a 16 MiB CMB (BAR 2), 8 MiB PMR
//! cd /sys/kernel/config/nvmock_nvme/p2p0          # (BAR 4), both in the devmem reservation
//! echo 16 > cmb_mib; echo 8 > pmr_mib; echo 1 > power   # the driver publishes the CMB:
//! cat /sys/bus/pci/devices/<bdf>/p2pmem/size      # 16777216
//! ```
//!
//! `timing` is `none` (the default), `simple`, `nand`, `zms`, or a preset (`optane-like`,
//! `970pro-like`, `conzone-like`, `zn540-like`) that also sets its model's parameters (so
//! write `timing` before the parameters); the parameters of the `simple` and `nand` models,
//! and four of the `zms` model's (`l2p_entries`, `wb_count`, `slc_superblocks`,
//! `wb_flush_ns`), are attributes named as the model names them (`model::nvme::timing`: times
//! in ns, bandwidths in bytes per second, sizes in bytes), and a value the model would refuse
//! is refused when written, with the attribute and the rule in the kernel log. A `nand`
//! model's capacity is the namespaces' (its blocks per die follow from it). A `zms` model
//! times the zoned namespaces, with the zone geometry fitted to theirs: a profile without
//! one, or with a zone capacity (`zone_cap_kib`) that is not a whole number of the preset's
//! superblock steps, is refused at power-on with the attribute named (see
//! `glue::nvme::timing`).
//!
//! The attributes are the fields of [`Profile`]; they can only change while the controller is
//! off (`EBUSY` otherwise), and invalid values are refused when written (`EINVAL`, with the
//! attribute named in the kernel log) or, for combinations, when powering on. Each directory
//! gets an instance number from [`Instance::alloc`], which names the serial number and the
//! poller thread and stays the directory's across power cycles.

use crate::glue::nvme::dev::{NvmeDev, Profile};
use crate::glue::nvme::instance::Instance;
use kernel::{
    alloc::KVVec,
    configfs::{self, AttributeOperations},
    configfs_attrs,
    fmt::Write as _,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    str::kstrtobool_bytes,
    sync::Mutex,
};

/// The configfs subsystem `nvmock_nvme`.
pub(crate) fn subsystem() -> impl PinInit<configfs::Subsystem<Controllers>, Error> {
    let item_type = configfs_attrs! {
        container: configfs::Subsystem<Controllers>,
        data: Controllers,
        child: ControllerDir,
        attributes: [
            attributes: 0,
        ],
    };
    configfs::Subsystem::new(
        c"nvmock_nvme",
        item_type,
        try_pin_init!(Controllers {}),
    )
}

/// The subsystem's data (none: instance numbers come from [`Instance::alloc`]).
#[pin_data]
pub(crate) struct Controllers {}

#[vtable]
impl AttributeOperations<0> for Controllers {
    type Data = Controllers;

    fn show(_this: &Controllers, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        w.write_str(
            "power,lba_size,ns_mib,io_queues,queue_entries,mdts,serial,namespaces,vendor_id,device_id,\
             zoned,zone_kib,zone_cap_kib,max_open,max_active,read_across_zones,zasl,\
             timing,read_latency,write_latency,read_bw,write_bw,slots,\
             channels,luns,planes,page_size,pages_per_block,op_percent,tr_4k,tr_page,read_jitter,\
             tprog,tbers,channel_bw,pcie_bw,fw_read_4k,fw_read,fw_wbuf0,fw_wbuf1,wb_size,seed,\
             l2p_entries,wb_count,slc_superblocks,wb_flush_ns,cmb_mib,pmr_mib\n",
        )?;
        Ok(w.bytes_written())
    }
}

#[vtable]
impl configfs::GroupOperations for Controllers {
    type Child = ControllerDir;

    fn make_group(
        &self,
        name: &CStr,
    ) -> Result<impl PinInit<configfs::Group<ControllerDir>, Error>> {
        let item_type = configfs_attrs! {
            container: configfs::Group<ControllerDir>,
            data: ControllerDir,
            attributes: [
                power: 0,
                lba_size: 1,
                ns_mib: 2,
                io_queues: 3,
                queue_entries: 4,
                mdts: 5,
                serial: 6,
                namespaces: 7,
                vendor_id: 8,
                device_id: 9,
                zoned: 10,
                zone_kib: 11,
                zone_cap_kib: 12,
                max_open: 13,
                max_active: 14,
                read_across_zones: 15,
                zasl: 16,
                timing: 20,
                read_latency: 21,
                write_latency: 22,
                read_bw: 23,
                write_bw: 24,
                slots: 25,
                channels: 26,
                luns: 27,
                planes: 28,
                page_size: 29,
                pages_per_block: 30,
                op_percent: 31,
                tr_4k: 32,
                tr_page: 33,
                read_jitter: 34,
                tprog: 35,
                tbers: 36,
                channel_bw: 37,
                pcie_bw: 38,
                fw_read_4k: 39,
                fw_read: 40,
                fw_wbuf0: 41,
                fw_wbuf1: 42,
                wb_size: 43,
                seed: 44,
                l2p_entries: 45,
                wb_count: 46,
                slc_superblocks: 47,
                wb_flush_ns: 48,
                cmb_mib: 50,
                pmr_mib: 51,
            ],
        };
        let instance = Instance::alloc()?;
        Ok(configfs::Group::new(
            name.try_into()?,
            item_type,
            try_pin_init!(ControllerDir {
                inner <- new_mutex!(Inner {
                    profile: Profile::default(),
                    instance,
                    dev: None,
                    pmr: None,
                }),
            }),
        ))
    }
}

/// One directory: a controller's profile, and the controller while powered on.
#[pin_data]
pub(crate) struct ControllerDir {
    #[pin]
    inner: Mutex<Inner>,
}

struct Inner {
    profile: Profile,
    /// The controller's instance number, for its life in configfs: its serial number stays
    /// the same across power cycles.
    instance: Instance,
    dev: Option<NvmeDev>,
    /// The PMR's contents while the controller is off: a PMR is persistent, so power-off
    /// saves them and power-on (with a PMR of the same size) puts them back.
    pmr: Option<KVVec<u8>>,
}

fn parse<T: core::str::FromStr>(page: &[u8]) -> Result<T> {
    core::str::from_utf8(page)?
        .trim()
        .parse::<T>()
        .map_err(|_| EINVAL)
}

#[vtable]
impl AttributeOperations<0> for ControllerDir {
    type Data = ControllerDir;

    fn show(this: &ControllerDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        let on = this.inner.lock().dev.is_some();
        w.write_str(if on { "1\n" } else { "0\n" })?;
        Ok(w.bytes_written())
    }

    fn store(this: &ControllerDir, page: &[u8]) -> Result {
        let on = kstrtobool_bytes(page)?;
        let mut g = this.inner.lock();
        match (g.dev.is_some(), on) {
            (false, true) => {
                let dev = NvmeDev::new(&g.profile, g.instance)?;
                if let Some(saved) = g.pmr.take() {
                    // A PMR of another size starts empty, as the new BAR is a new PMR.
                    if let Err(e) = dev.pmr_restore(&saved) {
                        pr_info!("nvmock_nvme: PMR contents not restored: {:?}\n", e);
                    }
                }
                g.dev = Some(dev);
            }
            (true, false) => {
                let saved = g.dev.as_ref().map(|d| d.pmr_save()).transpose()?.flatten();
                g.pmr = saved;
                drop(g.dev.take());
            }
            (true, true) | (false, false) => {}
        }
        Ok(())
    }
}

/// A PCI ID: hexadecimal with or without `0x`, as lspci shows them.
fn parse_pci_id(page: &[u8]) -> Result<u16> {
    let s = core::str::from_utf8(page)?.trim();
    let digits = s.strip_prefix("0x").unwrap_or(s);
    u16::from_str_radix(digits, 16).map_err(|_| EINVAL)
}

fn parse_bool(page: &[u8]) -> Result<bool> {
    kstrtobool_bytes(page)
}

fn show_bool(w: &mut kernel::str::Formatter<'_>, v: bool) -> Result {
    Ok(w.write_str(if v { "1\n" } else { "0\n" })?)
}

fn show_number<T: kernel::fmt::Display>(w: &mut kernel::str::Formatter<'_>, v: T) -> Result {
    Ok(w.write_fmt(fmt!("{}\n", v))?)
}

fn show_pci_id(w: &mut kernel::str::Formatter<'_>, v: u16) -> Result {
    Ok(w.write_fmt(fmt!("{:#06x}\n", v))?)
}

/// A numeric profile field as an attribute: shown as a number (PCI IDs in hexadecimal),
/// written only while off.
macro_rules! profile_attr {
    ($id:literal, $field:ident, $ty:ty, $valid:expr) => {
        profile_attr!($id, $field, $ty, $valid, parse, show_number);
    };
    ($id:literal, $field:ident, $ty:ty, $valid:expr, $parse:expr, $show:ident) => {
        #[vtable]
        impl AttributeOperations<$id> for ControllerDir {
            type Data = ControllerDir;

            fn show(this: &ControllerDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
                let mut w = kernel::str::Formatter::new(page);
                $show(&mut w, this.inner.lock().profile.$field)?;
                Ok(w.bytes_written())
            }

            fn store(this: &ControllerDir, page: &[u8]) -> Result {
                let v: $ty = $parse(page)?;
                let valid: fn($ty) -> bool = $valid;
                if !valid(v) {
                    pr_err!(
                        "nvmock_nvme: {}: value out of range\n",
                        stringify!($field)
                    );
                    return Err(EINVAL);
                }
                let mut g = this.inner.lock();
                if g.dev.is_some() {
                    return Err(EBUSY);
                }
                g.profile.$field = v;
                Ok(())
            }
        }
    };
}

profile_attr!(1, lba_size, u32, |v| v == 512 || v == 4096);
profile_attr!(2, ns_mib, u32, |v| v >= 1);
profile_attr!(3, io_queues, u16, |v| v >= 1
    && usize::from(v) < crate::glue::nvme::dev::QUEUES);
profile_attr!(4, queue_entries, u32, |v| (2..=65536).contains(&v));
profile_attr!(5, mdts, u8, |v| (1..=crate::model::nvme::MAX_MDTS)
    .contains(&v));
profile_attr!(7, namespaces, u32, |v| usize::try_from(v)
    .is_ok_and(|n| (1..=crate::model::nvme::MAX_NAMESPACES).contains(&n)));
profile_attr!(
    8,
    vendor_id,
    u16,
    |v| v != 0 && v != 0xffff,
    parse_pci_id,
    show_pci_id
);
profile_attr!(
    9,
    device_id,
    u16,
    |v| v != 0 && v != 0xffff,
    parse_pci_id,
    show_pci_id
);

profile_attr!(10, zoned, u32, |v| usize::try_from(v)
    .is_ok_and(|n| n <= crate::model::nvme::MAX_NAMESPACES));
profile_attr!(11, zone_kib, u32, |v| v >= 1);
profile_attr!(12, zone_cap_kib, u32, |_| true);
profile_attr!(13, max_open, u32, |_| true);
profile_attr!(14, max_active, u32, |_| true);
profile_attr!(
    15,
    read_across_zones,
    bool,
    |_| true,
    parse_bool,
    show_bool
);
profile_attr!(16, zasl, u8, |v| v <= crate::model::nvme::MAX_MDTS);
// The CMB and PMR (x86_64, in the devmem reservation): sizes in MiB, 0 for none; the rules
// (a multiple of 2; a power of two from 2) are checked again, with the reason, at power-on.
profile_attr!(50, cmb_mib, u32, |v| v % 2 == 0 && v <= 1 << 14);
profile_attr!(51, pmr_mib, u32, |v| v == 0 || (v >= 2 && v <= 1 << 14 && v.is_power_of_two()));

#[vtable]
impl AttributeOperations<6> for ControllerDir {
    type Data = ControllerDir;

    fn show(this: &ControllerDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        let serial = this.inner.lock().instance.serial();
        w.write_str(serial.as_str())?;
        w.write_str("\n")?;
        Ok(w.bytes_written())
    }
}

/// `timing`: the model, `none`, `simple`, `nand`, `zms` or a preset (`optane-like`,
/// `970pro-like`, `conzone-like`, `zn540-like`, which also sets that model's parameters).
#[vtable]
impl AttributeOperations<20> for ControllerDir {
    type Data = ControllerDir;

    fn show(this: &ControllerDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        w.write_str(this.inner.lock().profile.timing.name())?;
        w.write_str("\n")?;
        Ok(w.bytes_written())
    }

    fn store(this: &ControllerDir, page: &[u8]) -> Result {
        let name = core::str::from_utf8(page).map_err(|_| EINVAL)?.trim();
        let mut g = this.inner.lock();
        if g.dev.is_some() {
            return Err(EBUSY);
        }
        let mut t = g.profile.timing;
        if t.select(name).is_err() {
            pr_err!(
                "nvmock_nvme: timing: {} is not none, simple, nand, zms, optane-like, 970pro-like, conzone-like or zn540-like\n",
                name
            );
            return Err(EINVAL);
        }
        g.profile.timing = t;
        Ok(())
    }
}

/// A parameter of a timing model as an attribute, named after the parameter: shown as a
/// number, written only while off, and refused (naming the attribute and the rule it breaks)
/// if the model's parameters would not be valid with it.
macro_rules! timing_attr {
    ($id:literal, $model:ident, $field:ident, $ty:ty) => {
        #[vtable]
        impl AttributeOperations<$id> for ControllerDir {
            type Data = ControllerDir;

            fn show(this: &ControllerDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
                let mut w = kernel::str::Formatter::new(page);
                show_number(&mut w, this.inner.lock().profile.timing.$model.$field)?;
                Ok(w.bytes_written())
            }

            fn store(this: &ControllerDir, page: &[u8]) -> Result {
                let v: $ty = parse(page).inspect_err(|_| {
                    pr_err!(
                        "nvmock_nvme: {}: not a number\n",
                        stringify!($field)
                    );
                })?;
                let mut g = this.inner.lock();
                if g.dev.is_some() {
                    return Err(EBUSY);
                }
                let mut t = g.profile.timing;
                t.$model.$field = v;
                let bytes = u64::from(g.profile.ns_mib) * u64::from(g.profile.namespaces) << 20;
                if let Err(e) = t.preset(bytes) {
                    pr_err!(
                        "nvmock_nvme: {}: {} refused: {} {}\n",
                        stringify!($field),
                        v,
                        e.param,
                        e.rule
                    );
                    return Err(EINVAL);
                }
                g.profile.timing = t;
                Ok(())
            }
        }
    };
}

timing_attr!(21, simple, read_latency, u64);
timing_attr!(22, simple, write_latency, u64);
timing_attr!(23, simple, read_bw, u64);
timing_attr!(24, simple, write_bw, u64);
timing_attr!(25, simple, slots, u32);
timing_attr!(26, nand, channels, u32);
timing_attr!(27, nand, luns, u32);
timing_attr!(28, nand, planes, u32);
timing_attr!(29, nand, page_size, u64);
timing_attr!(30, nand, pages_per_block, u32);
timing_attr!(31, nand, op_percent, u32);
timing_attr!(32, nand, tr_4k, u64);
timing_attr!(33, nand, tr_page, u64);
timing_attr!(34, nand, read_jitter, u64);
timing_attr!(35, nand, tprog, u64);
timing_attr!(36, nand, tbers, u64);
timing_attr!(37, nand, channel_bw, u64);
timing_attr!(38, nand, pcie_bw, u64);
timing_attr!(39, nand, fw_read_4k, u64);
timing_attr!(40, nand, fw_read, u64);
timing_attr!(41, nand, fw_wbuf0, u64);
timing_attr!(42, nand, fw_wbuf1, u64);
timing_attr!(43, nand, wb_size, u64);
timing_attr!(44, nand, seed, u64);
timing_attr!(45, zms, l2p_entries, u32);
timing_attr!(46, zms, wb_count, u32);
timing_attr!(47, zms, slc_superblocks, u32);
timing_attr!(48, zms, wb_flush_ns, u64);
