// SPDX-License-Identifier: GPL-2.0
/*
 * nvmock_dma: what an emulated bus-master needs from the kernel that Rust cannot call (the
 * helpers are inline or macros): the kernel address of memory a driver handed to the device
 * by DMA address. (Raw spinlocks are mock/nvmock_raw_lock.c.)
 *
 * nvmock's PCI host bridges have no IOMMU: their devices use direct DMA, where a DMA address
 * is a physical address (plus the device's DMA offset, if any). The emulated device then
 * reads and writes the driver's buffers, queues and PRP lists through the direct map, as the
 * real device would through the bus.
 */
#include <linux/device.h>
#include <linux/dma-direct.h>
#include <linux/mm.h>
#include <linux/module.h>

/**
 * nvmock_dma_to_virt - kernel address of a DMA address range of @dev
 * @dev: the device the driver mapped the memory for
 * @addr: the DMA address
 * @len: bytes the device accesses from @addr
 *
 * Returns the direct-map address of @addr, or NULL when any page of the range is not RAM
 * the kernel knows (a bogus address from the driver, or a wrap-around). The address stays
 * valid as long as the driver keeps the memory mapped for the device; the caller accesses it
 * only while the command that names it is in flight.
 */
void *nvmock_dma_to_virt(struct device *dev, dma_addr_t addr, size_t len)
{
	phys_addr_t phys = dma_to_phys(dev, addr);
	unsigned long pfn;

	if (!len || phys + len - 1 < phys)
		return NULL;
	for (pfn = PHYS_PFN(phys); pfn <= PHYS_PFN(phys + len - 1); pfn++)
		if (!pfn_valid(pfn))
			return NULL;
	return phys_to_virt(phys);
}
EXPORT_SYMBOL_GPL(nvmock_dma_to_virt);

MODULE_DESCRIPTION("nvmock: DMA address translation for emulated devices");
MODULE_LICENSE("GPL");
