// SPDX-License-Identifier: GPL-2.0
/*
 * drivers/nvdimm/pmem.c, relinked into nd_pmem (see ../Kbuild), with the strong
 * __pmem_direct_access() its __weak one gives way to.
 */
#include <linux/build_bug.h>
#include <linux/kconfig.h>

/* The production module must be a module, or it would be used instead of this copy. */
static_assert(IS_MODULE(CONFIG_BLK_DEV_PMEM), "nvmock relinks nd_pmem: CONFIG_BLK_DEV_PMEM must be m");

#include <../nvdimm/pmem.c>

#include "../watermark.h"
nvmock_watermark(nd_pmem);
