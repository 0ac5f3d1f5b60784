// SPDX-License-Identifier: GPL-2.0
/*
 * drivers/nvdimm/core.c, relinked into libnvdimm (see ../Kbuild).
 * The watermark and the configuration checks of the whole module live here.
 */
#include <linux/build_bug.h>
#include <linux/kconfig.h>

/* The production module must be a module, or it would be used instead of this copy. */
static_assert(IS_MODULE(CONFIG_LIBNVDIMM), "nvmock relinks libnvdimm: CONFIG_LIBNVDIMM must be m");

#include <../nvdimm/core.c>

#include "../watermark.h"
nvmock_watermark(libnvdimm);

static_assert(IS_ENABLED(CONFIG_BTT) && IS_ENABLED(CONFIG_NVDIMM_PFN) && IS_ENABLED(CONFIG_NVDIMM_DAX),
	      "ndctl's suite needs BTT, PFN and DAX namespaces in libnvdimm");
