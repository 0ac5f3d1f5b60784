// SPDX-License-Identifier: GPL-2.0
/*
 * drivers/nvdimm/e820.c, relinked into nd_e820 (see ../Kbuild).
 */
#include <linux/build_bug.h>
#include <linux/kconfig.h>

/* The production module must be a module, or it would be used instead of this copy. */
static_assert(IS_MODULE(CONFIG_X86_PMEM_LEGACY), "nvmock relinks nd_e820: CONFIG_X86_PMEM_LEGACY must be m");

#include <../nvdimm/e820.c>

#include "../watermark.h"
nvmock_watermark(nd_e820);
