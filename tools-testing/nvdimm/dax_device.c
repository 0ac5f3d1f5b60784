// SPDX-License-Identifier: GPL-2.0
/*
 * drivers/dax/device.c, relinked into device_dax (see ../Kbuild), with its own
 * dax_pgoff_to_phys(): the tree's is a __weak function of the dax core, which is built in
 * (FS_DAX forces DAX=y), so this module's copy is the one its fault handlers call.
 */
#include <linux/build_bug.h>
#include <linux/kconfig.h>

/* The production module must be a module, or it would be used instead of this copy. */
static_assert(IS_MODULE(CONFIG_DEV_DAX), "nvmock relinks device_dax: CONFIG_DEV_DAX must be m");

#include <../dax/device.c>

#include "../../mock/nvmock_iomap.h"
#include "../watermark.h"
nvmock_watermark(device_dax);

/*
 * dax_pgoff_to_phys - physical address of page @pgoff of a device-dax instance
 *
 * As the tree's version, except on nvmock's fake physical memory, which is vmalloc'd:
 * there the answer is the physical address of the vmalloc page behind it, and only for
 * page-sized faults (the pages are not contiguous, so a PMD or PUD fault gets -1, which
 * the fault handler turns into SIGBUS).
 */
phys_addr_t dax_pgoff_to_phys(struct dev_dax *dev_dax, pgoff_t pgoff, unsigned long size)
{
	int i;

	for (i = 0; i < dev_dax->nr_range; i++) {
		struct dev_dax_range *dax_range = &dev_dax->ranges[i];
		struct range *range = &dax_range->range;
		unsigned long long last = dax_range->pgoff + PHYS_PFN(range_len(range)) - 1;
		phys_addr_t addr;
		void *host;

		if (pgoff < dax_range->pgoff || pgoff > last)
			continue;
		addr = PFN_PHYS(pgoff - dax_range->pgoff) + range->start;
		if (addr + size - 1 > range->end)
			break;
		if (!nvmock_iomap_in_window(addr, size))
			return addr;
		if (size != PAGE_SIZE)
			return -1;
		host = nvmock_iomap_translate(addr, size);
		return host ? PFN_PHYS(nvmock_host_pfn(host)) : -1;
	}
	return -1;
}
