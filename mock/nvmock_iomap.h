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

/*
 * Span flags (struct nvmock_iomap_ops.flags). NVMOCK_SPAN_DEVMEM: the span is carved from
 * the devmem reservation (guest RAM the kernel left alone, nvmock_iomap.devmem=SIZE@START),
 * not from the fake window: memremap_pages() gives it real ZONE_DEVICE pages, and the owner
 * backs its ranges with that memory (nvmock_devmem_map()), not with buffers of its own.
 * NVMOCK_SPAN_UC: the span's ranges are mapped uncached, as a PCI BAR that the P2PDMA layer
 * maps (MEMORY_DEVICE_PCI_P2PDMA); without it write-back, as PMEM and device-dax map theirs.
 * The owner's mapping and the page map must agree (x86's PAT refuses a second type).
 */
#define NVMOCK_SPAN_DEVMEM	(1U << 0)
#define NVMOCK_SPAN_UC		(1U << 1)

/**
 * struct nvmock_iomap_ops - one owner of fake physical memory and emulated PCI devices
 * @size: sizeof(struct nvmock_iomap_ops) as the owner was built; checked at registration
 * @flags: NVMOCK_SPAN_* (0: a span of the fake window, backed by the owner's buffers)
 * @name: names the owner's span in /proc/iomem; must outlive the registration
 * @span: bytes of fake physical address space the owner wants
 * @ctx: passed back to every op
 * @map: ioremap()/memremap() of [@phys, @phys + @len): 0 and *@host on a hit,
 *	NVMOCK_MISS when not ours, -errno when ours but refused
 * @unmap: iounmap()/memunmap() of @host: 0 when it dropped a mapping @map counted,
 *	NVMOCK_MISS when @host is not in the owner's memory, -ENOENT when it is but nothing
 *	maps it (an unbalanced unmap: a second one, or of an address @map never returned).
 *	The shim never passes an address an owner answered to the real function: it reports
 *	an unbalanced unmap once ("nvmock_iomap: unbalanced unmap of ...", an error line,
 *	not a WARN) and counts it (nvmock_iomap_unmap_counts()).
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
	u32 flags;
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
bool nvmock_iomap_in_window(u64 start, u64 n);
void *nvmock_iomap_translate(u64 phys, u64 len);
void nvmock_iomap_unmap_counts(u64 *unbalanced, u64 *real);
int nvmock_iomap_float(const void *host, size_t len, bool on);

#ifdef __KERNEL__
#include <linux/mm.h>
#include <linux/vmalloc.h>

/*
 * The page frame behind an owner's memory at @host: owners allocate with kvmalloc(), so
 * the memory is vmalloc'd or, for smaller buffers, in the linear map.
 */
static inline unsigned long nvmock_host_pfn(const void *host)
{
	return is_vmalloc_addr(host) ? vmalloc_to_pfn(host) : page_to_pfn(virt_to_page(host));
}
#endif
void nvmock_iomap_unregister(struct nvmock_iomap_ops *ops);
struct resource *nvmock_iomap_span(struct nvmock_iomap_ops *ops);
void *nvmock_devmem_map(const struct nvmock_iomap_ops *ops, u64 phys, u64 len);
void nvmock_devmem_unmap(const struct nvmock_iomap_ops *ops, void *addr);
bool nvmock_devmem_range(u64 *start, u64 *size);

#ifdef CONFIG_ACPI
#include <linux/acpi.h>

/**
 * struct nvmock_acpi_ops - the owner of fake ACPI handles (one at a time)
 * @evaluate_object: acpi_evaluate_object() on @handle: NVMOCK_MISS when the handle is not
 *	the owner's, else 0 with the result in *@st (and @buf filled as ACPI would)
 * @evaluate_dsm: acpi_evaluate_dsm() on @handle: ERR_PTR(-ENXIO) when not the owner's,
 *	else the result object (freed by the caller with ACPI_FREE(), i.e. kfree()) or NULL
 *
 * Called under SRCU; may sleep.
 */
struct nvmock_acpi_ops {
	int (*evaluate_object)(acpi_handle handle, const char *path,
			       struct acpi_object_list *args, struct acpi_buffer *buf,
			       acpi_status *st);
	union acpi_object *(*evaluate_dsm)(acpi_handle handle, const guid_t *guid, u64 rev,
					   u64 func, union acpi_object *argv4);
};

int nvmock_acpi_register(const struct nvmock_acpi_ops *ops);
#endif

#endif /* _NVMOCK_IOMAP_H */
