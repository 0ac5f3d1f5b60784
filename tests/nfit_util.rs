// SPDX-License-Identifier: GPL-2.0

//! Shared harness of the NFIT model tests: an owned description ([`Desc`]) that lends out a
//! [`Topology`], and the reconstruction of a description from a parsed table. The other
//! `nfit_*` tests include it with `#[path]`; built on its own it has no tests.

#![allow(dead_code, missing_docs)]

use nvmock_model::nfit::*;

/// A description that owns its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desc {
    pub oem: Oem,
    pub base: u64,
    pub spas: Vec<Spa>,
    pub dimms: Vec<Dimm>,
    pub dcrs: Vec<ControlRegion>,
    pub bdws: Vec<BlockWindow>,
    pub mappings: Vec<Mapping>,
    /// (index, line size, line offsets)
    pub interleaves: Vec<(u16, u32, Vec<u32>)>,
    /// (DIMM, addresses)
    pub flush: Vec<(DeviceHandle, Vec<u64>)>,
    pub smbios: Vec<Vec<u8>>,
    pub caps: Option<Capabilities>,
}

impl Desc {
    /// A description with no structures.
    pub fn empty(oem: Oem, base: u64) -> Desc {
        Desc {
            oem,
            base,
            spas: Vec::new(),
            dimms: Vec::new(),
            dcrs: Vec::new(),
            bdws: Vec::new(),
            mappings: Vec::new(),
            interleaves: Vec::new(),
            flush: Vec::new(),
            smbios: Vec::new(),
            caps: None,
        }
    }

    pub fn from_topology(t: &Topology<'_>) -> Desc {
        Desc {
            oem: t.oem,
            base: t.base,
            spas: t.spas.to_vec(),
            dimms: t.dimms.to_vec(),
            dcrs: t.control_regions.to_vec(),
            bdws: t.block_windows.to_vec(),
            mappings: t.mappings.to_vec(),
            interleaves: t
                .interleaves
                .iter()
                .map(|i| (i.index, i.line_size, i.line_offsets.to_vec()))
                .collect(),
            flush: t
                .flush_hints
                .iter()
                .map(|f| (f.dimm, f.addresses.to_vec()))
                .collect(),
            smbios: t.smbios.iter().map(|b| b.to_vec()).collect(),
            caps: t.capabilities,
        }
    }

    /// Runs `f` on the topology this description lends out.
    pub fn with<R>(&self, f: impl FnOnce(&Topology<'_>) -> R) -> R {
        let interleaves: Vec<Interleave<'_>> = self
            .interleaves
            .iter()
            .map(|(index, line_size, lines)| Interleave {
                index: *index,
                line_size: *line_size,
                line_offsets: lines,
            })
            .collect();
        let flush: Vec<FlushHints<'_>> = self
            .flush
            .iter()
            .map(|(dimm, addresses)| FlushHints {
                dimm: *dimm,
                addresses,
            })
            .collect();
        let smbios: Vec<&[u8]> = self.smbios.iter().map(|b| b.as_slice()).collect();
        let t = Topology {
            oem: self.oem,
            base: self.base,
            spas: &self.spas,
            dimms: &self.dimms,
            control_regions: &self.dcrs,
            block_windows: &self.bdws,
            mappings: &self.mappings,
            interleaves: &interleaves,
            flush_hints: &flush,
            smbios: &smbios,
            capabilities: self.caps,
        };
        f(&t)
    }

    pub fn validate(&self) -> Result<(), TopologyError> {
        self.with(|t| t.validate())
    }

    /// The complete table.
    pub fn table(&self) -> Vec<u8> {
        self.with(|t| {
            let mut buf = vec![0u8; t.table_len()];
            let n = t.write_table(&mut buf).expect("valid description");
            assert_eq!(n, buf.len());
            buf
        })
    }

    /// The DIMMs sorted by handle: the table has no DIMM order.
    pub fn normalized(mut self) -> Desc {
        self.dimms.sort_by_key(|d| d.handle);
        self
    }
}

/// Sum of all bytes, modulo 256.
pub fn byte_sum(b: &[u8]) -> u8 {
    b.iter().fold(0u8, |s, x| s.wrapping_add(*x))
}

/// Recomputes the checksum byte of a table in place.
pub fn fix_checksum(b: &mut [u8]) {
    b[9] = 0;
    b[9] = checksum(b);
}

/// Offsets (into the table) and (type, length) of every structure, walking the raw bytes.
pub fn walk(table: &[u8]) -> Vec<(usize, u16, u16)> {
    let mut out = Vec::new();
    let mut off = HEADER_LEN;
    while off + 4 <= table.len() {
        let kind = u16::from_le_bytes([table[off], table[off + 1]]);
        let len = u16::from_le_bytes([table[off + 2], table[off + 3]]);
        out.push((off, kind, len));
        if len == 0 {
            break;
        }
        off += usize::from(len);
    }
    out
}

/// Rebuilds a description from a parsed table, checking on the way that what the table
/// repeats (a DIMM's identity in each control region, its physical id in each mapping)
/// agrees, and that no structure is left unexplained.
pub fn reconstruct(table: &Table<'_>, base: u64) -> Desc {
    let mut d = Desc::empty(table.header().oem, base);
    let mut memdevs = Vec::new();
    let mut raw_dcrs = Vec::new();
    for s in table.structures() {
        match s {
            Structure::Spa(mut spa) => {
                spa.address = spa.address.wrapping_sub(base);
                d.spas.push(spa);
            }
            Structure::Memdev(m) => memdevs.push(m),
            Structure::Interleave(i) => {
                assert_eq!(i.line_offsets().count(), i.line_count());
                d.interleaves
                    .push((i.interleave_index, i.line_size, i.line_offsets().collect()))
            }
            Structure::Smbios(b) => d.smbios.push(b.to_vec()),
            Structure::ControlRegion(c) => raw_dcrs.push(c),
            Structure::BlockWindow(b) => d.bdws.push(b),
            Structure::Flush(f) => {
                assert_eq!(f.addresses().count(), f.hint_count());
                d.flush.push((
                    f.device_handle,
                    f.addresses().map(|a| a.wrapping_sub(base)).collect(),
                ))
            }
            Structure::Capabilities(c) => {
                assert!(d.caps.is_none(), "two capability structures");
                d.caps = Some(c);
            }
        }
    }
    for m in &memdevs {
        d.mappings.push(Mapping {
            dimm: m.device_handle,
            range_index: m.range_index,
            region_index: m.region_index,
            region_id: m.region_id,
            region_size: m.region_size,
            region_offset: m.region_offset,
            dpa: m.address,
            interleave_index: m.interleave_index,
            interleave_ways: m.interleave_ways,
            flags: m.flags,
        });
    }
    for c in &raw_dcrs {
        let owner = memdevs
            .iter()
            .find(|m| m.region_index == c.region_index)
            .expect("control region referenced by a mapping")
            .device_handle;
        d.dcrs.push(ControlRegion {
            region_index: c.region_index,
            dimm: owner,
            format_code: c.code,
            block: c.block,
        });
    }
    for m in &memdevs {
        if let Some(dimm) = d.dimms.iter().find(|x| x.handle == m.device_handle) {
            assert_eq!(dimm.physical_id, m.physical_id, "physical id differs");
            continue;
        }
        let c = raw_dcrs
            .iter()
            .find(|c| {
                memdevs
                    .iter()
                    .any(|o| o.device_handle == m.device_handle && o.region_index == c.region_index)
            })
            .expect("DIMM with a control region");
        d.dimms.push(dimm_of(m, c));
    }
    // Every control region of a DIMM carries the same identity.
    for c in &raw_dcrs {
        let owner = d
            .dcrs
            .iter()
            .find(|x| x.region_index == c.region_index)
            .unwrap();
        let dimm = d.dimms.iter().find(|x| x.handle == owner.dimm).unwrap();
        let m = memdevs
            .iter()
            .find(|m| m.device_handle == dimm.handle)
            .unwrap();
        assert_eq!(
            *dimm,
            dimm_of(m, c),
            "identity differs between control regions"
        );
    }
    d
}

fn dimm_of(m: &Memdev, c: &Dcr) -> Dimm {
    Dimm {
        handle: m.device_handle,
        physical_id: m.physical_id,
        vendor_id: c.vendor_id,
        device_id: c.device_id,
        revision_id: c.revision_id,
        subsystem_vendor_id: c.subsystem_vendor_id,
        subsystem_device_id: c.subsystem_device_id,
        subsystem_revision_id: c.subsystem_revision_id,
        manufacturing: (c.valid_fields & flags::DCR_MFG_INFO_VALID != 0).then_some(Manufacturing {
            location: c.manufacturing_location,
            date: c.manufacturing_date,
        }),
        serial_number: c.serial_number,
    }
}

/// Writes `desc`, parses the table back and checks it describes the same bus.
pub fn round_trip(desc: &Desc) {
    let bytes = desc.table();
    assert_eq!(byte_sum(&bytes), 0);
    let table = parse(&bytes).expect("own table parses");
    assert_eq!(table.header().length as usize, bytes.len());
    let back = reconstruct(&table, desc.base);
    assert_eq!(back.normalized(), desc.clone().normalized());
    // The structures alone are the table's body.
    let body = desc.with(|t| {
        let mut buf = vec![0u8; t.structures_len()];
        assert_eq!(t.write_structures(&mut buf), Ok(buf.len()));
        buf
    });
    assert_eq!(body.as_slice(), &bytes[HEADER_LEN..]);
    assert_eq!(table.body(), &bytes[HEADER_LEN..]);
}
