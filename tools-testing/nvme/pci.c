// SPDX-License-Identifier: GPL-2.0
/*
 * drivers/nvme/host/pci.c, relinked into the module nvme: its ioremap() of BAR0 and its PCI
 * config accesses reach nvmock's shim, so it binds to nvmock's emulated controllers (and to
 * real ones, whose addresses the shim passes through).
 */
#include <linux/build_bug.h>
#include <linux/kconfig.h>

/* The production nvme must be a module, or it would bind instead of this copy. */
static_assert(IS_MODULE(CONFIG_BLK_DEV_NVME), "nvmock relinks nvme: CONFIG_BLK_DEV_NVME must be m");

#include <../host/pci.c>

#include "../watermark.h"
nvmock_watermark(nvme);
