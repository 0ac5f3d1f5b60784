// SPDX-License-Identifier: GPL-2.0

//! Compile-time checks of the pure model's NFIT layout (`src/model/nfit/layout.rs`, whose
//! offsets the table writer and parser share) against the kernel's own structures: ACPICA's
//! `struct acpi_table_nfit` and `struct acpi_nfit_*` (`include/acpi/actbl2.h`) as the
//! kernel crate's bindings lay them out.
//!
//! For every structure the writer emits: every field of the C structure is named here (a
//! field the list leaves out does not compile), each at the model's offset and of the
//! model's width (elements of the trailing arrays too), and the structure's size is the
//! model's length. The structure type codes and the flag bits the model writes are checked
//! against ACPICA's too. A mismatch is a build error naming the structure and field.

use crate::model::nfit::{
    flags,
    layout::{
        block_window, capabilities, control_region, flush, header, interleave, memdev, smbios, spa,
        table,
    },
    structure_type as ty, SIGNATURE,
};
use kernel::bindings;

/// Checks the kernel's `struct $c` against the model: with `: $hty`, a first field `header`
/// of type `struct $hty`; then each field `$f` at the offset and of the width of the
/// model's [`Field`](crate::model::nfit::layout::Field) `$m`; then the trailing array `$arr`,
/// whose first element is `$am`; and the size `$size`. The list must name every field.
macro_rules! check_structure {
    (
        $c:ident $(: $hty:ident)? {
            $($f:ident => $m:expr,)*
            $([$arr:ident] => $am:expr,)?
        } size $size:expr
    ) => {
        const _: () = {
            use core::mem::{offset_of, size_of};
            type S = bindings::$c;

            /// The width of the value `read` returns: that of the field it reads (by
            /// value: the ACPI structures are packed).
            const fn width<S, T>(_read: fn(S) -> T) -> usize {
                size_of::<T>()
            }
            /// The width of the elements of the flexible array `read` returns.
            #[allow(dead_code)]
            const fn element_width<S, T>(
                _read: fn(S) -> bindings::__IncompleteArrayField<T>,
            ) -> usize {
                size_of::<T>()
            }
            // Every field of the C structure is listed (no `..`), the header with its type.
            #[allow(dead_code)]
            fn fields(s: S) {
                let S {
                    $(header: bindings::$hty { .. },)?
                    $($f: _,)*
                    $($arr: _,)?
                } = s;
            }

            $(
                let _: Option<bindings::$hty> = None;
                assert!(
                    offset_of!(S, header) == 0,
                    concat!("struct ", stringify!($c), ": header is not first"),
                );
            )?
            $(
                assert!(
                    offset_of!(S, $f) == $m.offset(),
                    concat!("struct ", stringify!($c), ".", stringify!($f),
                        ": the model's offset differs from the kernel's"),
                );
                assert!(
                    width(|s: S| s.$f) == $m.width(),
                    concat!("struct ", stringify!($c), ".", stringify!($f),
                        ": the model's width differs from the kernel's"),
                );
            )*
            $(
                assert!(
                    offset_of!(S, $arr) == $am.offset(),
                    concat!("struct ", stringify!($c), ".", stringify!($arr),
                        "[]: the model's offset differs from the kernel's"),
                );
                assert!(
                    element_width(|s: S| s.$arr) == $am.width(),
                    concat!("struct ", stringify!($c), ".", stringify!($arr),
                        "[]: the model's element width differs from the kernel's"),
                );
            )?
            assert!(
                size_of::<S>() == $size,
                concat!("struct ", stringify!($c), ": the model's length differs from sizeof"),
            );
        };
    };
}

check_structure!(acpi_table_header {
    signature => table::SIGNATURE,
    length => table::LENGTH,
    revision => table::REVISION,
    checksum => table::CHECKSUM,
    oem_id => table::OEM_ID,
    oem_table_id => table::OEM_TABLE_ID,
    oem_revision => table::OEM_REVISION,
    asl_compiler_id => table::CREATOR_ID,
    asl_compiler_revision => table::CREATOR_REVISION,
} size table::RESERVED.offset());

check_structure!(acpi_table_nfit: acpi_table_header {
    reserved => table::RESERVED,
} size table::LEN);

check_structure!(acpi_nfit_header {
    type_ => header::TYPE,
    length => header::LENGTH,
} size header::LEN);

check_structure!(acpi_nfit_system_address: acpi_nfit_header {
    range_index => spa::RANGE_INDEX,
    flags => spa::FLAGS,
    reserved => spa::RESERVED,
    proximity_domain => spa::PROXIMITY_DOMAIN,
    range_guid => spa::RANGE_GUID,
    address => spa::ADDRESS,
    length => spa::LENGTH,
    memory_mapping => spa::MEMORY_MAPPING,
    location_cookie => spa::LOCATION_COOKIE,
} size spa::LEN_COOKIE);

check_structure!(acpi_nfit_memory_map: acpi_nfit_header {
    device_handle => memdev::DEVICE_HANDLE,
    physical_id => memdev::PHYSICAL_ID,
    region_id => memdev::REGION_ID,
    range_index => memdev::RANGE_INDEX,
    region_index => memdev::REGION_INDEX,
    region_size => memdev::REGION_SIZE,
    region_offset => memdev::REGION_OFFSET,
    address => memdev::ADDRESS,
    interleave_index => memdev::INTERLEAVE_INDEX,
    interleave_ways => memdev::INTERLEAVE_WAYS,
    flags => memdev::FLAGS,
    reserved => memdev::RESERVED,
} size memdev::LEN);

check_structure!(acpi_nfit_interleave: acpi_nfit_header {
    interleave_index => interleave::INTERLEAVE_INDEX,
    reserved => interleave::RESERVED,
    line_count => interleave::LINE_COUNT,
    line_size => interleave::LINE_SIZE,
    [line_offset] => interleave::LINE_OFFSET,
} size interleave::LEN);

check_structure!(acpi_nfit_smbios: acpi_nfit_header {
    reserved => smbios::RESERVED,
    [data] => smbios::DATA,
} size smbios::LEN);

check_structure!(acpi_nfit_control_region: acpi_nfit_header {
    region_index => control_region::REGION_INDEX,
    vendor_id => control_region::VENDOR_ID,
    device_id => control_region::DEVICE_ID,
    revision_id => control_region::REVISION_ID,
    subsystem_vendor_id => control_region::SUBSYSTEM_VENDOR_ID,
    subsystem_device_id => control_region::SUBSYSTEM_DEVICE_ID,
    subsystem_revision_id => control_region::SUBSYSTEM_REVISION_ID,
    valid_fields => control_region::VALID_FIELDS,
    manufacturing_location => control_region::MANUFACTURING_LOCATION,
    manufacturing_date => control_region::MANUFACTURING_DATE,
    reserved => control_region::RESERVED,
    serial_number => control_region::SERIAL_NUMBER,
    code => control_region::CODE,
    windows => control_region::WINDOWS,
    window_size => control_region::WINDOW_SIZE,
    command_offset => control_region::COMMAND_OFFSET,
    command_size => control_region::COMMAND_SIZE,
    status_offset => control_region::STATUS_OFFSET,
    status_size => control_region::STATUS_SIZE,
    flags => control_region::FLAGS,
    reserved1 => control_region::RESERVED1,
} size control_region::LEN);

check_structure!(acpi_nfit_data_region: acpi_nfit_header {
    region_index => block_window::REGION_INDEX,
    windows => block_window::WINDOWS,
    offset => block_window::OFFSET,
    size => block_window::SIZE,
    capacity => block_window::CAPACITY,
    start_address => block_window::START_ADDRESS,
} size block_window::LEN);

check_structure!(acpi_nfit_flush_address: acpi_nfit_header {
    device_handle => flush::DEVICE_HANDLE,
    hint_count => flush::HINT_COUNT,
    reserved => flush::RESERVED,
    [hint_address] => flush::HINT_ADDRESS,
} size flush::LEN);

check_structure!(acpi_nfit_capabilities: acpi_nfit_header {
    highest_capability => capabilities::HIGHEST_CAPABILITY,
    reserved => capabilities::RESERVED,
    capabilities => capabilities::CAPABILITIES,
    reserved2 => capabilities::RESERVED2,
} size capabilities::LEN);

/// The lengths the writer uses besides the sizes: an SPA range without its location cookie
/// ends where the cookie starts, and a control region truncated before its block control
/// fields where `window_size` starts (`sizeof_dcr()` of `drivers/acpi/nfit/core.c`).
const _: () = {
    use core::mem::offset_of;
    assert!(spa::LEN == offset_of!(bindings::acpi_nfit_system_address, location_cookie));
    assert!(
        control_region::LEN_SHORT == offset_of!(bindings::acpi_nfit_control_region, window_size)
    );
};

/// `true` if `a` and `b` hold the same bytes.
const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The signature, the structure type codes and the flag bits the model writes, against
/// ACPICA's.
const _: () = {
    // `ACPI_SIG_NFIT` is the C string "NFIT".
    let sig = bindings::ACPI_SIG_NFIT;
    assert!(same(&SIGNATURE, sig.split_last().expect("C string").1));

    assert!(ty::SPA as u32 == bindings::acpi_nfit_type_ACPI_NFIT_TYPE_SYSTEM_ADDRESS);
    assert!(ty::MEMDEV as u32 == bindings::acpi_nfit_type_ACPI_NFIT_TYPE_MEMORY_MAP);
    assert!(ty::INTERLEAVE as u32 == bindings::acpi_nfit_type_ACPI_NFIT_TYPE_INTERLEAVE);
    assert!(ty::SMBIOS as u32 == bindings::acpi_nfit_type_ACPI_NFIT_TYPE_SMBIOS);
    assert!(ty::CONTROL_REGION as u32 == bindings::acpi_nfit_type_ACPI_NFIT_TYPE_CONTROL_REGION);
    assert!(ty::BLOCK_WINDOW as u32 == bindings::acpi_nfit_type_ACPI_NFIT_TYPE_DATA_REGION);
    assert!(ty::FLUSH as u32 == bindings::acpi_nfit_type_ACPI_NFIT_TYPE_FLUSH_ADDRESS);
    assert!(ty::CAPABILITIES as u32 == bindings::acpi_nfit_type_ACPI_NFIT_TYPE_CAPABILITIES);

    assert!(flags::SPA_ADD_ONLINE_ONLY as u32 == bindings::ACPI_NFIT_ADD_ONLINE_ONLY);
    assert!(flags::SPA_PROXIMITY_VALID as u32 == bindings::ACPI_NFIT_PROXIMITY_VALID);
    assert!(flags::SPA_LOCATION_COOKIE_VALID as u32 == bindings::ACPI_NFIT_LOCATION_COOKIE_VALID);
    assert!(flags::MEM_SAVE_FAILED as u32 == bindings::ACPI_NFIT_MEM_SAVE_FAILED);
    assert!(flags::MEM_RESTORE_FAILED as u32 == bindings::ACPI_NFIT_MEM_RESTORE_FAILED);
    assert!(flags::MEM_FLUSH_FAILED as u32 == bindings::ACPI_NFIT_MEM_FLUSH_FAILED);
    assert!(flags::MEM_NOT_ARMED as u32 == bindings::ACPI_NFIT_MEM_NOT_ARMED);
    assert!(flags::MEM_HEALTH_OBSERVED as u32 == bindings::ACPI_NFIT_MEM_HEALTH_OBSERVED);
    assert!(flags::MEM_HEALTH_ENABLED as u32 == bindings::ACPI_NFIT_MEM_HEALTH_ENABLED);
    assert!(flags::MEM_MAP_FAILED as u32 == bindings::ACPI_NFIT_MEM_MAP_FAILED);
    assert!(flags::DCR_MFG_INFO_VALID as u32 == bindings::ACPI_NFIT_CONTROL_MFG_INFO_VALID);
    assert!(flags::DCR_BUFFERED as u32 == bindings::ACPI_NFIT_CONTROL_BUFFERED);
    assert!(flags::CAP_CACHE_FLUSH == bindings::ACPI_NFIT_CAPABILITY_CACHE_FLUSH);
    assert!(flags::CAP_MEM_FLUSH == bindings::ACPI_NFIT_CAPABILITY_MEM_FLUSH);
    assert!(flags::CAP_MEM_MIRRORING == bindings::ACPI_NFIT_CAPABILITY_MEM_MIRRORING);
};
