// SPDX-License-Identifier: GPL-2.0
/*
 * The strong __pmem_direct_access() of the relinked nd_pmem (see ../Kbuild): the tree's
 * drivers/nvdimm/pmem.c defines it __weak for this.
 */
#include <linux/badblocks.h>
#include <linux/blkdev.h>
#include <linux/dax.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <pmem.h>

#include "../../mock/nvmock_iomap.h"

/*
 * __pmem_direct_access - DAX access to a pmem namespace
 *
 * As the tree's version, except for namespaces on nvmock's fake physical memory: that is
 * vmalloc'd, so its pages are not contiguous and have no ZONE_DEVICE pages. There the
 * access is limited to one page, whose page frame is the vmalloc page's own (so faults
 * map real memory). Poisoned ranges answer as the tree's version does.
 */
long __pmem_direct_access(struct pmem_device *pmem, pgoff_t pgoff, long nr_pages,
			  enum dax_access_mode mode, void **kaddr, unsigned long *pfn)
{
	resource_size_t offset = PFN_PHYS(pgoff) + pmem->data_offset;
	sector_t sector = PFN_PHYS(pgoff) >> SECTOR_SHIFT;
	unsigned int num = PFN_PHYS(nr_pages) >> SECTOR_SHIFT;
	struct badblocks *bb = &pmem->bb;
	sector_t first_bad, num_bad;
	bool fake = nvmock_iomap_in_window(pmem->phys_addr + offset, PAGE_SIZE);

	if (kaddr)
		*kaddr = pmem->virt_addr + offset;
	if (pfn)
		*pfn = fake ? nvmock_host_pfn(pmem->virt_addr + offset) :
			      PHYS_PFN(pmem->phys_addr + offset);

	if (bb->count && badblocks_check(bb, sector, num, &first_bad, &num_bad)) {
		long good;

		if (mode != DAX_RECOVERY_WRITE)
			return -EHWPOISON;
		/* Recovery writes go one kernel page at a time, up to the first bad sector. */
		good = PHYS_PFN(PAGE_ALIGN((first_bad - sector) << SECTOR_SHIFT));
		return good ? (fake ? 1 : good) : 1;
	}
	if (fake)
		return 1;
	if (bb->count)
		return nr_pages;
	return PHYS_PFN(pmem->size - pmem->pfn_pad - offset);
}
