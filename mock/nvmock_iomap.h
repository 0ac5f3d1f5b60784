/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvmock iomap shim: the interface between the C `--wrap` shims and the Rust owners of
 * test memory. The Rust side mirrors struct nvmock_iomap_ops with #[repr(C)]; ->size
 * guards the layout.
 */
#ifndef _NVMOCK_IOMAP_H
#define _NVMOCK_IOMAP_H

#include <linux/types.h>

struct pci_dev;

/* Returned by an op for an address (or device) the owner does not own. */
#define NVMOCK_MISS 1

/**
 * struct nvmock_iomap_ops - one owner of fake physical memory and emulated PCI devices
 * @size: sizeof(struct nvmock_iomap_ops) as the owner was built; checked at registration
 * @name: names the owner's span in /proc/iomem; must outlive the registration
 * @span: bytes of fake physical address space the owner wants
 * @ctx: passed back to every op
 * @map: ioremap()/memremap() of [@phys, @phys + @len): 0 and *@host on a hit,
 *	NVMOCK_MISS when not ours, -errno when ours but refused
 * @unmap: iounmap()/memunmap() of an address @map returned: 0 or NVMOCK_MISS
 * @request: request_mem_region() of [@start, @start + @n): 0 (the shim then inserts the
 *	region in the resource tree), NVMOCK_MISS, or -errno
 * @release: undoes a successful @request: 0, NVMOCK_MISS or -errno
 * @cfg_read: PCI config read of @size bytes at @where: 0 and *@val, NVMOCK_MISS, or a
 *	PCIBIOS_* error (positive, >= 0x80) to return to the caller
 * @cfg_write: PCI config write, same conventions
 * @base: set by nvmock_iomap_register(): first address of the owner's span
 * @shim: private to the shim
 *
 * Ops are called under SRCU and may sleep; they may run concurrently with each other.
 */
struct nvmock_iomap_ops {
	u32 size;
	const char *name;
	u64 span;
	void *ctx;
	int (*map)(void *ctx, u64 phys, u64 len, void **host);
	int (*unmap)(void *ctx, const void *host);
	int (*request)(void *ctx, u64 start, u64 n);
	int (*release)(void *ctx, u64 start, u64 n);
	int (*cfg_read)(void *ctx, const struct pci_dev *dev, int where, int size, u32 *val);
	int (*cfg_write)(void *ctx, const struct pci_dev *dev, int where, int size, u32 val);
	u64 base;
	void *shim;
};

int nvmock_iomap_register(struct nvmock_iomap_ops *ops);
void nvmock_iomap_unregister(struct nvmock_iomap_ops *ops);
struct resource *nvmock_iomap_span(struct nvmock_iomap_ops *ops);

#endif /* _NVMOCK_IOMAP_H */
