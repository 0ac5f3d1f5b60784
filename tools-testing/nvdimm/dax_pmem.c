// SPDX-License-Identifier: GPL-2.0
/*
 * drivers/dax/pmem.c, relinked into dax_pmem (see ../Kbuild).
 */
#include <linux/build_bug.h>
#include <linux/kconfig.h>

/* The production module must be a module, or it would be used instead of this copy. */
static_assert(IS_MODULE(CONFIG_DEV_DAX_PMEM), "nvmock relinks dax_pmem: CONFIG_DEV_DAX_PMEM must be m");

#include <../dax/pmem.c>

#include "../watermark.h"
nvmock_watermark(dax_pmem);
