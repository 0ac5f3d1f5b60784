// SPDX-License-Identifier: GPL-2.0
/*
 * drivers/acpi/nfit/core.c, relinked into nfit (see ../Kbuild).
 * The module's watermark and configuration check live here.
 */
#include <linux/build_bug.h>
#include <linux/kconfig.h>

/* The production module must be a module, or it would be used instead of this copy. */
static_assert(IS_MODULE(CONFIG_ACPI_NFIT), "nvmock relinks nfit: CONFIG_ACPI_NFIT must be m");

#include <../acpi/nfit/core.c>

#include "../watermark.h"
nvmock_watermark(nfit);
