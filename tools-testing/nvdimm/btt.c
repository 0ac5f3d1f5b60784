// SPDX-License-Identifier: GPL-2.0
/*
 * drivers/nvdimm/btt.c, relinked into nd_btt (see ../Kbuild).
 */
#include <linux/build_bug.h>
#include <linux/kconfig.h>

/* The production module must be a module, or it would be used instead of this copy. */
static_assert(IS_MODULE(CONFIG_ND_BTT), "nvmock relinks nd_btt: CONFIG_ND_BTT must be m");

#include <../nvdimm/btt.c>

#include "../watermark.h"
nvmock_watermark(nd_btt);
