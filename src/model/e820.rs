// SPDX-License-Identifier: GPL-2.0

//! Legacy persistent memory (an E820 type-12 range, "Persistent Memory (legacy)"): the size
//! rules of nvmock's `e820` bus, decided once when its module loads.
//!
//! On hardware the firmware's memory map (or `memmap=nn!ss` on the command line) marks the
//! range, and the kernel's E820 code and `arch/x86/kernel/pmem.c` publish it for
//! `drivers/nvdimm/e820.c`. nvmock carves the range from its devmem reservation (reserved
//! RAM that `memremap_pages()` gives ZONE_DEVICE pages), so the size must be one the kernel
//! can map and the reservation can hold.

use core::fmt;

/// One MiB.
pub const MIB: u64 = 1 << 20;

/// The granularity of ZONE_DEVICE memory on x86_64, and so of the range: `memremap_pages()`
/// adds memory in subsections (`SUBSECTION_SIZE`, `1 << SUBSECTION_SHIFT` = 2 MiB) and
/// refuses a range that is not made of whole ones (`check_pfn_span()`), and the pfn and
/// device-dax info blocks need the namespace's start aligned to `memremap_compat_align()`,
/// the same 2 MiB (`nd_pfn_init()`).
pub const SUBSECTION: u64 = 2 * MIB;

/// Why a size for the bus is refused. Each names the module parameter (`mib`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum E820Error {
    /// `mib=0`: a bus needs memory.
    Zero,
    /// Not a whole number of 2 MiB subsections ([`SUBSECTION`]).
    NotSubsections {
        /// The size asked for.
        mib: u32,
    },
    /// The guest has no devmem reservation (UML, or x86_64 booted with `NVMOCK_DEVMEM=0`).
    NoReservation,
    /// More than the whole reservation.
    LargerThanReservation {
        /// The size asked for.
        mib: u32,
        /// The reservation's size.
        reservation_mib: u64,
    },
}

impl fmt::Display for E820Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            E820Error::Zero => write!(f, "mib=0: the e820 bus needs at least 2 MiB"),
            E820Error::NotSubsections { mib } => write!(
                f,
                "mib={mib}: not a multiple of 2 (memremap_pages() maps whole 2 MiB subsections)"
            ),
            E820Error::NoReservation => write!(
                f,
                "no devmem reservation (boot with memmap=SIZE$START and nvmock_iomap.devmem=SIZE@START; NVMOCK_DEVMEM)"
            ),
            E820Error::LargerThanReservation {
                mib,
                reservation_mib,
            } => write!(
                f,
                "mib={mib}: larger than the whole devmem reservation ({reservation_mib} MiB): boot with a larger NVMOCK_DEVMEM"
            ),
        }
    }
}

/// The bus's size in bytes for `mib=` with a devmem reservation of `reservation` bytes (or
/// none). Whether the reservation still has that much free, at the alignment the shim
/// places spans at, only the shim knows (it says so when it refuses the span).
pub fn bytes(mib: u32, reservation: Option<u64>) -> Result<u64, E820Error> {
    let len = u64::from(mib) * MIB;
    if len == 0 {
        return Err(E820Error::Zero);
    }
    if !len.is_multiple_of(SUBSECTION) {
        return Err(E820Error::NotSubsections { mib });
    }
    let reservation = reservation.ok_or(E820Error::NoReservation)?;
    if len > reservation {
        return Err(E820Error::LargerThanReservation {
            mib,
            reservation_mib: reservation / MIB,
        });
    }
    Ok(len)
}
