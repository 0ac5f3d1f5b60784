// SPDX-License-Identifier: GPL-2.0
/*
 * phram, relinked: the unmodified drivers/mtd/devices/phram.c of the kernel tree, built into
 * a module named phram whose ioremap()/iounmap() are nvmock's (see Kbuild). A test creates a
 * "phram" platform device whose memory resource lies in an nvmock owner's span, and reads and
 * writes the owner's buffer through MTD.
 */
#include <linux/build_bug.h>
#include <linux/kconfig.h>

/* The production phram must be a module, or it would answer instead of this copy. */
static_assert(IS_MODULE(CONFIG_MTD_PHRAM), "nvmock relinks phram: CONFIG_MTD_PHRAM must be m");

#include "phram.c"	/* found through -I$(srctree)/drivers/mtd/devices */

#include "watermark.h"
nvmock_watermark(phram);
