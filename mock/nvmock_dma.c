// SPDX-License-Identifier: GPL-2.0
/*
 * nvmock_dma: what an emulated bus-master needs from the kernel that Rust cannot call (the
 * helpers are inline or macros): the kernel address of memory a driver handed to the device
 * by DMA address, and raw spinlocks (which the bindings only reach as functions when
 * CONFIG_DEBUG_SPINLOCK makes them out-of-line).
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
#include <linux/spinlock.h>

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

/**
 * nvmock_raw_spin_lock_init - initialise a raw spinlock
 * @lock: the lock
 * @name: its lockdep name
 * @key: its lockdep class
 *
 * raw_spin_lock_init() with the caller's class instead of one per call site, so that each
 * Rust lock type gets its own class.
 */
void nvmock_raw_spin_lock_init(raw_spinlock_t *lock, const char *name, struct lock_class_key *key)
{
#ifdef CONFIG_DEBUG_SPINLOCK
	__raw_spin_lock_init(lock, name, key, LD_WAIT_SPIN);
#else
	*lock = (raw_spinlock_t)__RAW_SPIN_LOCK_UNLOCKED(*lock);
#endif
}
EXPORT_SYMBOL_GPL(nvmock_raw_spin_lock_init);

/** nvmock_raw_spin_lock_irqsave - raw_spin_lock_irqsave(); returns the saved flags */
unsigned long nvmock_raw_spin_lock_irqsave(raw_spinlock_t *lock)
{
	unsigned long flags;

	raw_spin_lock_irqsave(lock, flags);
	return flags;
}
EXPORT_SYMBOL_GPL(nvmock_raw_spin_lock_irqsave);

/** nvmock_raw_spin_unlock_irqrestore - raw_spin_unlock_irqrestore() */
void nvmock_raw_spin_unlock_irqrestore(raw_spinlock_t *lock, unsigned long flags)
{
	raw_spin_unlock_irqrestore(lock, flags);
}
EXPORT_SYMBOL_GPL(nvmock_raw_spin_unlock_irqrestore);

MODULE_DESCRIPTION("nvmock: DMA address translation and raw spinlocks for emulated devices");
MODULE_LICENSE("GPL");
