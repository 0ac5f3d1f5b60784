// SPDX-License-Identifier: GPL-2.0
/*
 * nvmock iomap shim: the `__wrap_X` half of `ld --wrap=X` for the kernel modules nvmock
 * relinks (see tools-testing/Kbuild and mock/wrapped.syms).
 *
 * A relinked module's calls to ioremap(), memremap(), request_mem_region(), the PCI config
 * accessors, ... land here. Each wrapper asks the registered owners (Rust modules holding
 * test memory and emulated devices, see struct nvmock_iomap_ops) whether the address or
 * device is theirs, and falls through to the real kernel function when none claims it.
 *
 * Fake physical memory lives in one window of physical address space that nothing real
 * uses, claimed in iomem_resource at load ("nvmock" in /proc/iomem). Each owner gets its own
 * span inside the window, so owners cannot shadow each other or real memory, and regions
 * requested in a span are inserted in the real resource tree, under the span, where the
 * real kernel reports conflicts exactly as it does for hardware.
 *
 * Owners are kept on an SRCU-protected list: a wrapper holds the SRCU read lock for the
 * whole call into an owner (ops may sleep), and nvmock_iomap_unregister() waits for every
 * such call to end. A host pointer handed out by ->map stays valid after the read lock is
 * dropped because the owner counted the mapping and keeps the memory until ->unmap.
 *
 * The devmem reservation (x86_64): guest RAM the kernel's command line reserved
 * (memmap=SIZE$START, an E820 "Reserved" range the kernel neither uses nor maps) and names to
 * this module (nvmock_iomap.devmem=SIZE@START; scripts/vm.sh passes both). Unlike the fake
 * window it is real memory without struct pages: memremap_pages() gives its ranges real
 * ZONE_DEVICE pages and a direct mapping, which P2PDMA, fsdax and device-dax need. An owner
 * asks for a span of it with NVMOCK_SPAN_DEVMEM and backs its ranges with that memory
 * (nvmock_devmem_map()); the wrappers ask it about its ranges as about any other.
 *
 * On UML, MMIO goes through logic_iomem: readl() and friends only work on addresses that
 * logic_iomem's ioremap() returned. There the window is registered as a logic_iomem region
 * whose accessors read and write the owner's memory, and a hit in the wrapped ioremap() is
 * mapped through logic_iomem. logic_iomem has no way to remove a region, so on UML this
 * module cannot be unloaded.
 */
#define pr_fmt(fmt) "nvmock_iomap: " fmt

#include <linux/acpi.h>
#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/io.h>
#include <linux/memremap.h>
#include <linux/percpu-refcount.h>
#include <linux/ioport.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rculist.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/xarray.h>
#ifdef CONFIG_INDIRECT_IOMEM
#include <linux/logic_iomem.h>
#endif

#include "nvmock_iomap.h"

/* Where the window may go, and how large it is (the largest size that fits is used). */
#define NVMOCK_WINDOW_MIN	SZ_64G
static const u64 nvmock_window_sizes[] = { SZ_256G, SZ_64G, SZ_16G, SZ_4G };

struct nvmock_owner {
	struct list_head list;
	struct nvmock_iomap_ops *ops;
	struct resource span;
};

static LIST_HEAD(nvmock_owners);
static DEFINE_MUTEX(nvmock_owners_lock);
DEFINE_STATIC_SRCU(nvmock_srcu);

static struct resource nvmock_window = {
	.name = "nvmock",
	.flags = IORESOURCE_MEM,
};

#define for_each_owner(o) \
	list_for_each_entry_srcu(o, &nvmock_owners, list, srcu_read_lock_held(&nvmock_srcu))

static bool nvmock_in_window(u64 start, u64 n)
{
	return n && start >= nvmock_window.start && start + n - 1 <= nvmock_window.end &&
	       start + n - 1 >= start;
}

static char *devmem;
module_param(devmem, charp, 0444);
MODULE_PARM_DESC(devmem, "SIZE@START: guest RAM reserved with memmap=SIZE$START, for owners that need ZONE_DEVICE pages (x86_64)");

/* The devmem reservation in iomem_resource (empty without devmem=). */
static struct resource nvmock_devmem = {
	.name = "nvmock devmem",
	.flags = IORESOURCE_MEM,
};
/*
 * Where devmem spans are allocated: nvmock_devmem, or the firmware's "Reserved" entry when
 * it is exactly the same range (insert_resource() then puts it under nvmock_devmem). NULL
 * without a reservation. Set at load, read-only after.
 */
static struct resource *nvmock_devmem_parent;

static bool nvmock_in_devmem(u64 start, u64 n)
{
	return nvmock_devmem_parent && n && start >= nvmock_devmem.start &&
	       start + n - 1 <= nvmock_devmem.end && start + n - 1 >= start;
}

/* Addresses the wrappers ask owners about: the fake window and the devmem reservation. */
static bool nvmock_ours(u64 start, u64 n)
{
	return nvmock_in_window(start, n) || nvmock_in_devmem(start, n);
}

/* Asks each owner in turn; returns the first answer that is not NVMOCK_MISS. */
static int nvmock_map(u64 phys, u64 len, void **host)
{
	struct nvmock_owner *o;
	int idx, rc = NVMOCK_MISS;

	idx = srcu_read_lock(&nvmock_srcu);
	for_each_owner(o) {
		rc = o->ops->map(o->ops->ctx, phys, len, host);
		if (rc != NVMOCK_MISS)
			break;
	}
	srcu_read_unlock(&nvmock_srcu, idx);
	return rc;
}

/* Unmaps of owner memory that nothing mapped, answered by the shim (see nvmock_unbalanced()). */
static atomic_long_t nvmock_unbalanced_unmaps = ATOMIC_LONG_INIT(0);
/* Unmaps no owner claimed, passed to the real iounmap()/memunmap(). */
static atomic_long_t nvmock_real_unmaps = ATOMIC_LONG_INIT(0);

/*
 * An unmap of test memory that nothing maps: a second unmap of one mapping, or an unmap of
 * an address no wrapper handed out. It is answered here and never reaches the real
 * iounmap()/memunmap() (which would tear down, or WARN about, memory that is no ioremap()
 * mapping). One error line per such unmap, with a fixed text the runner counts (not a WARN:
 * a test provokes it on purpose), and a count tests read with nvmock_iomap_unmap_counts().
 */
static void nvmock_unbalanced(const char *fn, const volatile void *addr, unsigned long caller)
{
	atomic_long_inc(&nvmock_unbalanced_unmaps);
	pr_err("unbalanced unmap of %p by %s() from %pS: not mapped, not passed on\n",
	       (const void *)addr, fn, (void *)caller);
}

/*
 * Asks each owner in turn about an unmap of @host; returns the first answer that is not
 * NVMOCK_MISS: 0 (a mapping dropped) or -errno (the owner's memory, but not mapped).
 */
static int nvmock_unmap(const void *host)
{
	struct nvmock_owner *o;
	int idx, rc = NVMOCK_MISS;

	idx = srcu_read_lock(&nvmock_srcu);
	for_each_owner(o) {
		rc = o->ops->unmap(o->ops->ctx, host);
		if (rc != NVMOCK_MISS)
			break;
	}
	srcu_read_unlock(&nvmock_srcu, idx);
	return rc;
}

static int nvmock_region(u64 start, u64 n, bool request)
{
	struct nvmock_owner *o;
	int idx, rc = NVMOCK_MISS;

	idx = srcu_read_lock(&nvmock_srcu);
	for_each_owner(o) {
		rc = request ? o->ops->request(o->ops->ctx, start, n) :
			       o->ops->release(o->ops->ctx, start, n);
		if (rc != NVMOCK_MISS)
			break;
	}
	srcu_read_unlock(&nvmock_srcu, idx);
	return rc;
}

/*
 * Map a hit: a pointer into the owner's memory; NULL for an address in the window that no
 * owner backs (never the real ioremap() of a fake address); or the real function's result
 * (@real is called) when the address is not in the window at all.
 */
static void *nvmock_lookup(u64 phys, u64 len, bool *real)
{
	void *host = NULL;
	int rc;

	*real = false;
	if (!nvmock_ours(phys, len)) {
		*real = true;
		return NULL;
	}
	rc = nvmock_map(phys, len, &host);
	if (rc) {
		pr_debug("map of %#llx+%#llx refused: %d\n", phys, len, rc);
		return NULL;
	}
	return host;
}

/*
 * Owner memory that does not decode host accesses: an emulated BAR whose function has Memory
 * Space Enable clear. Through logic_iomem (UML) its reads return all ones and its writes are
 * dropped, as a root complex completes accesses no function claims; elsewhere the host's
 * mapping is the memory itself, and the owner floats it to all ones instead. A fixed table,
 * since it changes on configuration writes, under the PCI core's raw spinlock: no allocation.
 */
#define NVMOCK_FLOAT_MAX	64
static DEFINE_RAW_SPINLOCK(nvmock_float_lock);
static struct {
	unsigned long start, end;
} nvmock_float[NVMOCK_FLOAT_MAX];
static atomic_t nvmock_floating = ATOMIC_INIT(0);

/**
 * nvmock_iomap_float - stop or resume decoding host accesses to owner memory
 * @host: the owner's address of the range's first byte (as its ->map hands out)
 * @len: its length
 * @on: true: accesses through logic_iomem read all ones and writes are dropped; false: they
 *	reach the memory again
 *
 * Any context. Returns 0, -EINVAL for an empty range, or -ENOSPC when %NVMOCK_FLOAT_MAX
 * ranges float already (the range then still decodes).
 */
int nvmock_iomap_float(const void *host, size_t len, bool on)
{
	unsigned long start = (unsigned long)host, flags;
	int i, free = -1, rc = 0;

	if (!host || !len)
		return -EINVAL;
	raw_spin_lock_irqsave(&nvmock_float_lock, flags);
	for (i = 0; i < NVMOCK_FLOAT_MAX; i++) {
		if (nvmock_float[i].start == start)
			break;
		if (free < 0 && !nvmock_float[i].start)
			free = i;
	}
	if (on && i == NVMOCK_FLOAT_MAX) {
		if (free < 0) {
			rc = -ENOSPC;
		} else {
			nvmock_float[free].start = start;
			nvmock_float[free].end = start + len;
			atomic_inc(&nvmock_floating);
		}
	} else if (!on && i < NVMOCK_FLOAT_MAX) {
		nvmock_float[i].start = 0;
		nvmock_float[i].end = 0;
		atomic_dec(&nvmock_floating);
	}
	raw_spin_unlock_irqrestore(&nvmock_float_lock, flags);
	return rc;
}
EXPORT_SYMBOL_GPL(nvmock_iomap_float);

#ifdef CONFIG_INDIRECT_IOMEM
/* Whether [@p, @p + @size) is in a floating range (nvmock_iomap_float()). */
static bool nvmock_floats(const void *p, int size)
{
	unsigned long a = (unsigned long)p, flags;
	bool hit = false;
	int i;

	if (!atomic_read(&nvmock_floating))
		return false;
	raw_spin_lock_irqsave(&nvmock_float_lock, flags);
	for (i = 0; i < NVMOCK_FLOAT_MAX && !hit; i++)
		hit = nvmock_float[i].start && a >= nvmock_float[i].start &&
		      a + size <= nvmock_float[i].end;
	raw_spin_unlock_irqrestore(&nvmock_float_lock, flags);
	return hit;
}

/*
 * logic_iomem accessors: @priv is the owner's host address of the mapping's first byte.
 * Floating ranges read all ones and ignore writes.
 */
static unsigned long nvmock_lio_read(void *priv, unsigned int offset, int size)
{
	void *p = priv + offset;

	if (nvmock_floats(p, size))
		return ~0UL;
	switch (size) {
	case 1: return READ_ONCE(*(u8 *)p);
	case 2: return READ_ONCE(*(u16 *)p);
	case 4: return READ_ONCE(*(u32 *)p);
	case 8: return READ_ONCE(*(u64 *)p);
	}
	return ~0UL;
}

static void nvmock_lio_write(void *priv, unsigned int offset, int size, unsigned long val)
{
	void *p = priv + offset;

	if (nvmock_floats(p, size))
		return;
	switch (size) {
	case 1: WRITE_ONCE(*(u8 *)p, val); break;
	case 2: WRITE_ONCE(*(u16 *)p, val); break;
	case 4: WRITE_ONCE(*(u32 *)p, val); break;
	case 8: WRITE_ONCE(*(u64 *)p, val); break;
	}
}

static void nvmock_lio_set(void *priv, unsigned int offset, u8 value, int size)
{
	if (!nvmock_floats(priv + offset, size))
		memset(priv + offset, value, size);
}

static void nvmock_lio_copy_from(void *priv, void *buffer, unsigned int offset, int size)
{
	if (nvmock_floats(priv + offset, size))
		memset(buffer, 0xff, size);
	else
		memcpy(buffer, priv + offset, size);
}

static void nvmock_lio_copy_to(void *priv, unsigned int offset, const void *buffer, int size)
{
	if (!nvmock_floats(priv + offset, size))
		memcpy(priv + offset, buffer, size);
}

static void nvmock_lio_unmap(void *priv)
{
	/*
	 * Only live cookies get here (__wrap_iounmap(), or built-in code's iounmap() of its own
	 * mapping): the owner counted the mapping.
	 */
	int rc = nvmock_unmap(priv);

	if (rc)
		pr_err("logic_iomem unmap of %p: %s\n", priv,
		       rc == NVMOCK_MISS ? "no owner" : "not mapped");
}

static const struct logic_iomem_ops nvmock_lio_ops = {
	.read = nvmock_lio_read,
	.write = nvmock_lio_write,
	.set = nvmock_lio_set,
	.copy_from = nvmock_lio_copy_from,
	.copy_to = nvmock_lio_copy_to,
	.unmap = nvmock_lio_unmap,
};

/*
 * The logic_iomem cookies nvmock_lio_ioremap() handed out, by cookie: live until their
 * __wrap_iounmap(), then retired until logic_iomem hands the same cookie out again. A
 * cookie is only an index into logic_iomem's table of areas, which a second iounmap() would
 * WARN about or, once the area is reused, tear down someone else's mapping: the retired
 * entries let __wrap_iounmap() answer a second unmap itself.
 */
static DEFINE_XARRAY(nvmock_lio_cookies);
#define NVMOCK_LIO_LIVE		xa_mk_value(1)
#define NVMOCK_LIO_RETIRED	xa_mk_value(2)

/* Records a cookie nvmock_lio_ioremap() returned as live; -ENOMEM if it cannot. */
static int nvmock_lio_track(void __iomem *cookie)
{
	return xa_err(xa_store(&nvmock_lio_cookies, (unsigned long)cookie, NVMOCK_LIO_LIVE,
			       GFP_KERNEL));
}

/* A cookie the real ioremap() returned is someone else's now, whatever it was before. */
static void nvmock_lio_forget(void __iomem *cookie)
{
	if (cookie)
		xa_erase(&nvmock_lio_cookies, (unsigned long)cookie);
}

/*
 * __wrap_iounmap() of a logic_iomem cookie: true when it was handled here (a live cookie
 * unmapped through logic_iomem, which reaches the owner through nvmock_lio_unmap(); or a
 * retired one answered as unbalanced), false when the cookie is not nvmock's.
 */
static bool nvmock_lio_iounmap(volatile void __iomem *addr, unsigned long caller)
{
	void *old = xa_cmpxchg(&nvmock_lio_cookies, (unsigned long)addr, NVMOCK_LIO_LIVE,
			       NVMOCK_LIO_RETIRED, GFP_ATOMIC);

	if (old == NVMOCK_LIO_LIVE) {
		iounmap(addr);
		return true;
	}
	if (old == NVMOCK_LIO_RETIRED) {
		nvmock_unbalanced("iounmap", (__force const volatile void *)addr, caller);
		return true;
	}
	return false;
}

/*
 * The mapping __wrap_ioremap() looked up (its physical address, length and the owner's host
 * address), for nvmock_lio_map() to pick up while __wrap_ioremap() calls logic_iomem's
 * ioremap(). Written under nvmock_lio_lock; read by nvmock_lio_map() under logic_iomem's
 * own lock, which also serialises the ioremap() of the kernel's built-in code.
 */
static DEFINE_MUTEX(nvmock_lio_lock);
static struct {
	u64 phys;
	size_t size;
	void *host;
} nvmock_lio_pending;

static long nvmock_lio_map(unsigned long offset, size_t size, const struct logic_iomem_ops **ops,
			   void **priv)
{
	u64 phys = nvmock_window.start + offset;
	void *host = READ_ONCE(nvmock_lio_pending.host);
	bool real;

	/*
	 * Not the mapping __wrap_ioremap() is making: an ioremap() of the window by built-in
	 * code, which was not relinked, e.g. the PCI core mapping an emulated function's MSI-X
	 * table in its BAR (drivers/pci/msi/msi.c). The owner answers it as it answers a
	 * wrapped one; its iounmap() (never wrapped) reaches the owner through
	 * nvmock_lio_unmap().
	 */
	if (!host || READ_ONCE(nvmock_lio_pending.phys) != phys ||
	    READ_ONCE(nvmock_lio_pending.size) != size)
		host = nvmock_lookup(phys, size, &real);
	if (!host)
		return -ENXIO;
	*ops = &nvmock_lio_ops;
	*priv = host;
	return 0;
}

/* Map an owner's @host through logic_iomem, so that readl() and friends reach it. */
static void __iomem *nvmock_lio_ioremap(u64 phys, unsigned long size, void *host)
{
	void __iomem *ret;

	mutex_lock(&nvmock_lio_lock);
	WRITE_ONCE(nvmock_lio_pending.phys, phys);
	WRITE_ONCE(nvmock_lio_pending.size, size);
	WRITE_ONCE(nvmock_lio_pending.host, host);
	ret = ioremap(phys, size);	/* calls nvmock_lio_map() */
	WRITE_ONCE(nvmock_lio_pending.host, NULL);
	mutex_unlock(&nvmock_lio_lock);
	if (!ret) {
		nvmock_unmap(host);
		return NULL;
	}
	if (nvmock_lio_track(ret)) {
		iounmap(ret);	/* reaches the owner through nvmock_lio_unmap() */
		return NULL;
	}
	return ret;
}

static const struct logic_iomem_region_ops nvmock_lio_region_ops = {
	.map = nvmock_lio_map,
};
#endif /* CONFIG_INDIRECT_IOMEM */

/**
 * __wrap_ioremap - ioremap() for relinked modules
 * @offset: physical address
 * @size: length
 *
 * Matches addresses in an owner's span: returns an MMIO cookie for the owner's memory (on
 * UML a logic_iomem mapping, elsewhere the memory's kernel address), or NULL when the
 * owner refuses. Addresses outside the nvmock window go to the real ioremap(). The cookie
 * stays valid until __wrap_iounmap(), even if the owner removes the range meanwhile.
 */
void __iomem *__wrap_ioremap(resource_size_t offset, unsigned long size)
{
	bool real;
	void *host;

	host = nvmock_lookup(offset, size, &real);
#ifdef CONFIG_INDIRECT_IOMEM
	if (real) {
		void __iomem *ret = ioremap(offset, size);

		nvmock_lio_forget(ret);
		return ret;
	}
	if (host)
		return nvmock_lio_ioremap(offset, size, host);
#else
	if (real)
		return ioremap(offset, size);
#endif
	return (void __iomem *)host;
}
EXPORT_SYMBOL_GPL(__wrap_ioremap);

#ifdef CONFIG_X86
/**
 * __wrap_ioremap_wc - ioremap_wc() for relinked modules
 * @offset: physical address
 * @size: length
 *
 * As __wrap_ioremap(); the owner's memory is ordinary cacheable memory either way. Falls
 * back to the real ioremap_wc().
 */
void __iomem *__wrap_ioremap_wc(resource_size_t offset, unsigned long size)
{
	bool real;
	void *host = nvmock_lookup(offset, size, &real);

	return real ? ioremap_wc(offset, size) : (void __iomem *)host;
}
EXPORT_SYMBOL_GPL(__wrap_ioremap_wc);

/**
 * __wrap_ioremap_cache - ioremap_cache() for relinked modules
 * @offset: physical address
 * @size: length
 *
 * As __wrap_ioremap(); falls back to the real ioremap_cache().
 */
void __iomem *__wrap_ioremap_cache(resource_size_t offset, unsigned long size)
{
	bool real;
	void *host = nvmock_lookup(offset, size, &real);

	return real ? ioremap_cache(offset, size) : (void __iomem *)host;
}
EXPORT_SYMBOL_GPL(__wrap_ioremap_cache);
#endif

/**
 * __wrap_iounmap - iounmap() for relinked modules
 * @addr: a cookie from one of the ioremap wrappers
 *
 * Drops the owner's count of the mapping (on UML through logic_iomem's iounmap(), which
 * reaches the owner through nvmock_lio_unmap()). A cookie of owner memory that nothing
 * maps any more (a second unmap) is answered here, reported and counted (see
 * nvmock_unbalanced()), and never reaches the real iounmap(). Cookies no owner handed out
 * go to the real iounmap().
 */
void __wrap_iounmap(volatile void __iomem *addr)
{
	int rc;

#ifdef CONFIG_INDIRECT_IOMEM
	if (nvmock_lio_iounmap(addr, _RET_IP_))
		return;
#endif
	rc = nvmock_unmap((__force const void *)addr);
	if (rc == NVMOCK_MISS) {
		atomic_long_inc(&nvmock_real_unmaps);
		iounmap(addr);
	} else if (rc) {
		nvmock_unbalanced("iounmap", (__force const volatile void *)addr, _RET_IP_);
	}
}
EXPORT_SYMBOL_GPL(__wrap_iounmap);

/**
 * __wrap_memremap - memremap() for relinked modules
 * @offset: physical address
 * @size: length
 * @flags: MEMREMAP_* (ignored for owner memory, which is ordinary kernel memory)
 *
 * Matches addresses in an owner's span and returns the owner's memory, valid until
 * __wrap_memunmap(); NULL when refused. Other addresses go to the real memremap().
 */
void *__wrap_memremap(resource_size_t offset, size_t size, unsigned long flags)
{
	bool real;
	void *host = nvmock_lookup(offset, size, &real);

	return real ? memremap(offset, size, flags) : host;
}
EXPORT_SYMBOL_GPL(__wrap_memremap);

/**
 * __wrap_memunmap - memunmap() for relinked modules
 * @addr: an address from __wrap_memremap()
 *
 * Drops the owner's count of the mapping. Owner memory that nothing maps any more (a
 * second unmap) is answered here, reported and counted (see nvmock_unbalanced()), and
 * never reaches the real memunmap(). Addresses no owner has go to the real memunmap().
 */
void __wrap_memunmap(void *addr)
{
	int rc = nvmock_unmap(addr);

	if (rc == NVMOCK_MISS) {
		atomic_long_inc(&nvmock_real_unmaps);
		memunmap(addr);
	} else if (rc) {
		nvmock_unbalanced("memunmap", addr, _RET_IP_);
	}
}
EXPORT_SYMBOL_GPL(__wrap_memunmap);

static void nvmock_devm_memunmap(void *addr)
{
	__wrap_memunmap(addr);
}

/**
 * __wrap_devm_memremap - devm_memremap() for relinked modules
 * @dev: device whose unbind unmaps
 * @offset: physical address
 * @size: length
 * @flags: MEMREMAP_*
 *
 * As __wrap_memremap(), unmapped when @dev is unbound. Returns ERR_PTR(-ENXIO) when an
 * owner refuses; other addresses go to the real devm_memremap().
 */
void *__wrap_devm_memremap(struct device *dev, resource_size_t offset, size_t size,
			   unsigned long flags)
{
	bool real;
	void *host = nvmock_lookup(offset, size, &real);
	int rc;

	if (real)
		return devm_memremap(dev, offset, size, flags);
	if (!host)
		return ERR_PTR(-ENXIO);
	rc = devm_add_action_or_reset(dev, nvmock_devm_memunmap, host);
	return rc ? ERR_PTR(rc) : host;
}
EXPORT_SYMBOL_GPL(__wrap_devm_memremap);

/**
 * __wrap_devm_memunmap - devm_memunmap() for relinked modules
 * @dev: device the mapping was made for
 * @addr: an address from __wrap_devm_memremap()
 *
 * Unmaps early an owner's mapping, or calls the real devm_memunmap().
 */
void __wrap_devm_memunmap(struct device *dev, void *addr)
{
	if (devm_remove_action_nowarn(dev, nvmock_devm_memunmap, addr) == 0) {
		__wrap_memunmap(addr);
		return;
	}
	devm_memunmap(dev, addr);
}
EXPORT_SYMBOL_GPL(__wrap_devm_memunmap);

/**
 * __wrap___request_region - __request_region() (request_mem_region()) for relinked modules
 * @parent: resource tree root (&iomem_resource for memory)
 * @start: first address
 * @n: length
 * @name: owner of the region
 * @flags: IORESOURCE_* flags
 *
 * For memory in an owner's span, the owner must back it (else NULL); the region is then
 * requested from the real resource tree, under the owner's span, so conflicts are found and
 * reported by the real __request_region(). The returned resource is valid until
 * __wrap___release_region(). Other regions go straight to the real function.
 */
struct resource *__wrap___request_region(struct resource *parent, resource_size_t start,
					 resource_size_t n, const char *name, int flags)
{
	struct resource *res;
	int rc;

	if (parent != &iomem_resource || !nvmock_ours(start, n))
		return __request_region(parent, start, n, name, flags);
	rc = nvmock_region(start, n, true);
	if (rc) {
		pr_debug("request of %#llx+%#llx by %s refused: %d\n", (u64)start, (u64)n, name, rc);
		return NULL;
	}
	res = __request_region(parent, start, n, name, flags);
	if (!res)
		nvmock_region(start, n, false);
	return res;
}
EXPORT_SYMBOL_GPL(__wrap___request_region);

/**
 * __wrap___release_region - __release_region() for relinked modules
 * @parent: resource tree root
 * @start: first address
 * @n: length
 *
 * Releases the region in the real resource tree and, for memory in an owner's span, drops
 * the owner's count of it.
 */
void __wrap___release_region(struct resource *parent, resource_size_t start, resource_size_t n)
{
	__release_region(parent, start, n);
	if (parent == &iomem_resource && nvmock_ours(start, n))
		nvmock_region(start, n, false);
}
EXPORT_SYMBOL_GPL(__wrap___release_region);

struct nvmock_region_devres {
	struct resource *parent;
	resource_size_t start;
	resource_size_t n;
};

static void nvmock_devm_region_release(struct device *dev, void *res)
{
	struct nvmock_region_devres *r = res;

	__wrap___release_region(r->parent, r->start, r->n);
}

static int nvmock_devm_region_match(struct device *dev, void *res, void *match)
{
	struct nvmock_region_devres *r = res, *m = match;

	return r->parent == m->parent && r->start == m->start && r->n == m->n;
}

/**
 * __wrap___devm_request_region - __devm_request_region() for relinked modules
 * @dev: device whose unbind releases the region
 * @parent: resource tree root
 * @start: first address
 * @n: length
 * @name: owner of the region
 *
 * As __wrap___request_region(), released when @dev is unbound. The release goes through
 * the shim too (the real devm release would skip the owner's count).
 */
struct resource *__wrap___devm_request_region(struct device *dev, struct resource *parent,
					      resource_size_t start, resource_size_t n,
					      const char *name)
{
	struct nvmock_region_devres *dr;
	struct resource *res;

	dr = devres_alloc(nvmock_devm_region_release, sizeof(*dr), GFP_KERNEL);
	if (!dr)
		return NULL;
	res = __wrap___request_region(parent, start, n, name, 0);
	if (!res) {
		devres_free(dr);
		return NULL;
	}
	dr->parent = parent;
	dr->start = start;
	dr->n = n;
	devres_add(dev, dr);
	return res;
}
EXPORT_SYMBOL_GPL(__wrap___devm_request_region);

/**
 * __wrap___devm_release_region - __devm_release_region() for relinked modules
 * @dev: device the region was requested for
 * @parent: resource tree root
 * @start: first address
 * @n: length
 *
 * Releases early a region __wrap___devm_request_region() requested.
 */
void __wrap___devm_release_region(struct device *dev, struct resource *parent,
				  resource_size_t start, resource_size_t n)
{
	struct nvmock_region_devres match = { .parent = parent, .start = start, .n = n };

	WARN_ON(devres_release(dev, nvmock_devm_region_release, nvmock_devm_region_match,
			       &match));
}
EXPORT_SYMBOL_GPL(__wrap___devm_release_region);

static void nvmock_devm_iounmap(void *addr)
{
	__wrap_iounmap((void __iomem *)addr);
}

/**
 * __wrap_devm_ioremap - devm_ioremap() for relinked modules
 * @dev: device whose unbind unmaps
 * @offset: physical address
 * @size: length
 *
 * As __wrap_ioremap(), unmapped when @dev is unbound (libnvdimm maps flush hint pages
 * this way). Other addresses go to the real devm_ioremap().
 */
void __iomem *__wrap_devm_ioremap(struct device *dev, resource_size_t offset,
				  resource_size_t size)
{
	void __iomem *addr;

	if (!nvmock_ours(offset, size))
		return devm_ioremap(dev, offset, size);
	addr = __wrap_ioremap(offset, size);
	if (!addr)
		return NULL;
	if (devm_add_action_or_reset(dev, nvmock_devm_iounmap, (__force void *)addr))
		return NULL;
	return addr;
}
EXPORT_SYMBOL_GPL(__wrap_devm_ioremap);

#ifdef CONFIG_ZONE_DEVICE
static void nvmock_pgmap_release(struct percpu_ref *ref)
{
	struct dev_pagemap *pgmap = container_of(ref, struct dev_pagemap, ref);

	complete(&pgmap->done);
}

struct nvmock_pgmap {
	struct dev_pagemap *pgmap;
	void *host;
};

static void nvmock_pgmap_kill(void *data)
{
	struct nvmock_pgmap *p = data;

	percpu_ref_kill(&p->pgmap->ref);
	wait_for_completion(&p->pgmap->done);
	percpu_ref_exit(&p->pgmap->ref);
	__wrap_memunmap(p->host);
	kfree(p);
}

/* The NVMOCK_SPAN_* flags of the owner whose span holds @start; 0 if none does. */
static u32 nvmock_span_flags(u64 start)
{
	struct nvmock_owner *o;
	u32 flags = 0;
	int idx;

	idx = srcu_read_lock(&nvmock_srcu);
	for_each_owner(o) {
		if (start >= o->span.start && start <= o->span.end) {
			flags = o->ops->flags;
			break;
		}
	}
	srcu_read_unlock(&nvmock_srcu, idx);
	return flags;
}

/*
 * The devmem page maps made through the wrap, so that a page map overlapping one that is
 * live is refused here: the kernel would take it as far as pagemap_range() and WARN there
 * ("Conflicting mapping in same section"). A page map is listed from its check, under the
 * lock, until after its teardown, so two callers cannot both pass the check.
 */
struct nvmock_devmem_pgmap {
	struct list_head node;
	struct dev_pagemap *pgmap;
	void *host;
};
static LIST_HEAD(nvmock_devmem_pgmaps);
static DEFINE_MUTEX(nvmock_devmem_pgmaps_lock);

/* Devres action, added before the real mapping: after its teardown, the bookkeeping goes. */
static void nvmock_devmem_pgmap_release(void *data)
{
	struct nvmock_devmem_pgmap *p = data;

	mutex_lock(&nvmock_devmem_pgmaps_lock);
	list_del(&p->node);
	mutex_unlock(&nvmock_devmem_pgmaps_lock);
	__wrap_memunmap(p->host);
	kfree(p);
}

/*
 * Whether @pgmap can be made in the reservation: every range in it and aligned to
 * memremap_compat_align() (the kernel's subsection, 2 MiB on x86_64; a misaligned one fails
 * deep in the memory hotplug code), and none overlapping a live page map's. Called with
 * nvmock_devmem_pgmaps_lock held.
 */
static int nvmock_devmem_pgmap_check(struct device *dev, struct dev_pagemap *pgmap)
{
	unsigned long align = memremap_compat_align();
	struct nvmock_devmem_pgmap *p;
	int i, j;

	for (i = 0; i < pgmap->nr_range; i++) {
		const struct range *r = &pgmap->ranges[i];

		if (r->end < r->start || !IS_ALIGNED(r->start | range_len(r), align)) {
			dev_err(dev, "nvmock: page map range %d [%#llx-%#llx] is not aligned to %lu KiB\n",
				i, r->start, r->end, align >> 10);
			return -EINVAL;
		}
		if (!nvmock_in_devmem(r->start, range_len(r))) {
			dev_err(dev, "nvmock: page map range %d [%#llx-%#llx] is not in the devmem reservation\n",
				i, r->start, r->end);
			return -EINVAL;
		}
		list_for_each_entry(p, &nvmock_devmem_pgmaps, node) {
			for (j = 0; j < p->pgmap->nr_range; j++) {
				const struct range *o = &p->pgmap->ranges[j];

				if (r->start <= o->end && o->start <= r->end) {
					dev_err(dev, "nvmock: page map range %d [%#llx-%#llx] overlaps the live page map of [%#llx-%#llx]\n",
						i, r->start, r->end, o->start, o->end);
					return -EBUSY;
				}
			}
		}
	}
	return 0;
}

/*
 * devm_memremap_pages() of devmem: the owner is asked first (its map of the range, counted
 * until @dev is unbound, may be refused or failed on purpose), then the real
 * devm_memremap_pages() creates ZONE_DEVICE pages for the reserved RAM and returns its
 * direct mapping. The page map's type must agree with how the span is mapped.
 */
static void *nvmock_devmem_memremap_pages(struct device *dev, struct dev_pagemap *pgmap)
{
	u64 start = pgmap->range.start, len = range_len(&pgmap->range);
	bool real, uc = nvmock_span_flags(start) & NVMOCK_SPAN_UC;
	struct nvmock_devmem_pgmap *p;
	void *addr;
	int rc;

	if (pgmap->nr_range < 1)
		return ERR_PTR(-EINVAL);
	/* Reserved RAM is ordinary addressable memory: no device-private or coherent pages. */
	if (pgmap->type != MEMORY_DEVICE_GENERIC && pgmap->type != MEMORY_DEVICE_FS_DAX &&
	    pgmap->type != MEMORY_DEVICE_PCI_P2PDMA) {
		dev_err(dev, "nvmock: page map type %d is not one devmem can back (generic, fsdax or P2PDMA)\n",
			pgmap->type);
		return ERR_PTR(-EINVAL);
	}
	if (uc != (pgmap->type == MEMORY_DEVICE_PCI_P2PDMA)) {
		dev_err(dev, "nvmock: page map type %d on a %s devmem span [%#llx-%#llx]: P2PDMA page maps need an uncached span (NVMOCK_SPAN_UC), others a write-back one\n",
			pgmap->type, uc ? "uncached" : "write-back", start, start + len - 1);
		return ERR_PTR(-EINVAL);
	}
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return ERR_PTR(-ENOMEM);
	p->pgmap = pgmap;
	mutex_lock(&nvmock_devmem_pgmaps_lock);
	rc = nvmock_devmem_pgmap_check(dev, pgmap);
	if (rc)
		goto out_free;
	p->host = nvmock_lookup(start, len, &real);
	if (!p->host) {
		rc = -ENXIO;
		goto out_free;
	}
	list_add(&p->node, &nvmock_devmem_pgmaps);
	mutex_unlock(&nvmock_devmem_pgmaps_lock);
	/* Added first, so that it runs after the real teardown has dropped the pages. */
	rc = devm_add_action_or_reset(dev, nvmock_devmem_pgmap_release, p);
	if (rc)
		return ERR_PTR(rc);
	addr = devm_memremap_pages(dev, pgmap);
	if (IS_ERR(addr))
		devm_release_action(dev, nvmock_devmem_pgmap_release, p);
	return addr;

out_free:
	mutex_unlock(&nvmock_devmem_pgmaps_lock);
	kfree(p);
	return ERR_PTR(rc);
}

/**
 * __wrap_devm_memremap_pages - devm_memremap_pages() for relinked modules
 * @dev: device whose unbind tears the mapping down
 * @pgmap: the range to map; only its first range is used for owner memory
 *
 * Fake-window owner memory is vmalloc'd test memory, which already has ordinary struct
 * pages: no ZONE_DEVICE pages are created for it. The page map's reference count is set up
 * as the real function does (the pmem and device-dax drivers take and drop references on
 * it), and the owner's memory is returned, mapped until @dev is unbound. The relinked
 * drivers' direct-access paths (tools-testing/nvdimm) then hand out the vmalloc pages one
 * page at a time. Devmem ranges get real ZONE_DEVICE pages once their owner agreed
 * (nvmock_devmem_memremap_pages()). Other ranges go to the real devm_memremap_pages().
 */
void *__wrap_devm_memremap_pages(struct device *dev, struct dev_pagemap *pgmap)
{
	u64 start = pgmap->range.start, len = range_len(&pgmap->range);
	struct nvmock_pgmap *p;
	bool real;
	void *host;
	int rc;

	if (nvmock_in_devmem(start, len))
		return nvmock_devmem_memremap_pages(dev, pgmap);
	if (!nvmock_in_window(start, len))
		return devm_memremap_pages(dev, pgmap);
	host = nvmock_lookup(start, len, &real);
	if (!host)
		return ERR_PTR(-ENXIO);
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p) {
		__wrap_memunmap(host);
		return ERR_PTR(-ENOMEM);
	}
	p->pgmap = pgmap;
	p->host = host;
	init_completion(&pgmap->done);
	rc = percpu_ref_init(&pgmap->ref, nvmock_pgmap_release, 0, GFP_KERNEL);
	if (rc) {
		__wrap_memunmap(host);
		kfree(p);
		return ERR_PTR(rc);
	}
	rc = devm_add_action_or_reset(dev, nvmock_pgmap_kill, p);
	return rc ? ERR_PTR(rc) : host;
}
EXPORT_SYMBOL_GPL(__wrap_devm_memremap_pages);
#endif /* CONFIG_ZONE_DEVICE */

/**
 * __wrap_insert_resource - insert_resource() for relinked modules
 * @parent: resource tree root
 * @res: the resource to insert
 *
 * The ACPI NFIT driver inserts each SPA range as a "Persistent Memory" resource. For a
 * range in an owner's span, the owner must back it (else -ENXIO); it is then inserted in
 * the real tree, under the span, where the pmem driver's later region requests nest in it
 * as they do on hardware. Other resources go to the real insert_resource().
 */
int __wrap_insert_resource(struct resource *parent, struct resource *res)
{
	bool real;
	void *host;

	if (parent != &iomem_resource || !nvmock_ours(res->start, resource_size(res)))
		return insert_resource(parent, res);
	host = nvmock_lookup(res->start, resource_size(res), &real);
	if (!host)
		return -ENXIO;
	nvmock_unmap(host);
	return insert_resource(parent, res);
}
EXPORT_SYMBOL_GPL(__wrap_insert_resource);

/**
 * __wrap_remove_resource - remove_resource() for relinked modules
 * @res: a resource __wrap_insert_resource() inserted
 *
 * The real remove_resource(): inserted owner ranges are ordinary resources in the tree.
 * Wrapped so that every resource-tree change of a relinked module passes the shim.
 */
int __wrap_remove_resource(struct resource *res)
{
	return remove_resource(res);
}
EXPORT_SYMBOL_GPL(__wrap_remove_resource);

/**
 * nvmock_iomap_unmap_counts - what became of the unmaps that reached the shim
 * @unbalanced: set to the unmaps of owner memory that nothing mapped, answered by the shim
 *	(each also reported once in the log: "nvmock_iomap: unbalanced unmap of ...")
 * @real: set to the unmaps no owner claimed, passed to the real iounmap()/memunmap()
 *
 * Both count from the module's load; a test compares them before and after.
 */
void nvmock_iomap_unmap_counts(u64 *unbalanced, u64 *real)
{
	*unbalanced = atomic_long_read(&nvmock_unbalanced_unmaps);
	*real = atomic_long_read(&nvmock_real_unmaps);
}
EXPORT_SYMBOL_GPL(nvmock_iomap_unmap_counts);

/**
 * nvmock_iomap_in_window - whether a range is fake physical memory
 * @start: first address
 * @n: length
 *
 * For the relinked drivers' direct-access overrides (tools-testing/nvdimm): owner memory
 * is vmalloc'd and must be handed out by its real page frame, one page at a time.
 */
bool nvmock_iomap_in_window(u64 start, u64 n)
{
	return nvmock_in_window(start, n);
}
EXPORT_SYMBOL_GPL(nvmock_iomap_in_window);

/**
 * nvmock_iomap_translate - the kernel address of fake physical memory
 * @phys: first address
 * @len: length
 *
 * The owner's memory at @phys, or NULL when no owner backs the whole range. The caller
 * must already hold a mapping of the range (as device-dax holds its page map), which keeps
 * the memory alive: the lookup itself is not counted.
 */
void *nvmock_iomap_translate(u64 phys, u64 len)
{
	bool real;
	void *host = nvmock_lookup(phys, len, &real);

	if (host)
		nvmock_unmap(host);
	return host;
}
EXPORT_SYMBOL_GPL(nvmock_iomap_translate);

#ifdef CONFIG_ACPI
/* The one ACPI owner (nvmock_nfit), under nvmock_srcu. */
static const struct nvmock_acpi_ops __rcu *nvmock_acpi;

/**
 * nvmock_acpi_register - install the owner of fake ACPI handles
 * @ops: answers for the handles it made up; NULL to remove the current owner
 *
 * Returns 0, or -EBUSY when another owner is installed. Removal waits for every call
 * into the previous owner to return.
 */
int nvmock_acpi_register(const struct nvmock_acpi_ops *ops)
{
	int rc = 0;

	mutex_lock(&nvmock_owners_lock);
	if (ops && rcu_access_pointer(nvmock_acpi))
		rc = -EBUSY;
	else
		rcu_assign_pointer(nvmock_acpi, ops);
	mutex_unlock(&nvmock_owners_lock);
	if (!ops)
		synchronize_srcu(&nvmock_srcu);
	return rc;
}
EXPORT_SYMBOL_GPL(nvmock_acpi_register);

/**
 * __wrap_acpi_evaluate_object - acpi_evaluate_object() for relinked modules
 * @handle: ACPI handle (a fake one for an nvmock bus)
 * @path: method name
 * @args: arguments
 * @buf: result buffer
 *
 * Lets the ACPI owner answer methods on its fake handles (the NFIT driver evaluates _FIT
 * on a hot-plug notification); everything else reaches ACPI.
 */
acpi_status __wrap_acpi_evaluate_object(acpi_handle handle, acpi_string path,
					struct acpi_object_list *args, struct acpi_buffer *buf)
{
	const struct nvmock_acpi_ops *ops;
	acpi_status st = AE_NOT_FOUND;
	int idx, rc = NVMOCK_MISS;

	idx = srcu_read_lock(&nvmock_srcu);
	ops = srcu_dereference(nvmock_acpi, &nvmock_srcu);
	if (ops)
		rc = ops->evaluate_object(handle, path, args, buf, &st);
	srcu_read_unlock(&nvmock_srcu, idx);
	return rc == NVMOCK_MISS ? acpi_evaluate_object(handle, path, args, buf) : st;
}
EXPORT_SYMBOL_GPL(__wrap_acpi_evaluate_object);

/**
 * __wrap_acpi_evaluate_dsm - acpi_evaluate_dsm() for relinked modules
 * @handle: ACPI handle (a fake one for an nvmock bus or DIMM)
 * @guid: _DSM interface
 * @rev: revision
 * @func: function index
 * @argv4: input package
 *
 * Lets the ACPI owner run _DSM functions on its fake handles (acpi_nfit_ctl() reaches
 * firmware this way); everything else reaches ACPI.
 */
union acpi_object *__wrap_acpi_evaluate_dsm(acpi_handle handle, const guid_t *guid, u64 rev,
					    u64 func, union acpi_object *argv4)
{
	const struct nvmock_acpi_ops *ops;
	union acpi_object *obj = ERR_PTR(-ENXIO);
	int idx;

	idx = srcu_read_lock(&nvmock_srcu);
	ops = srcu_dereference(nvmock_acpi, &nvmock_srcu);
	if (ops)
		obj = ops->evaluate_dsm(handle, guid, rev, func, argv4);
	srcu_read_unlock(&nvmock_srcu, idx);
	return IS_ERR(obj) ? acpi_evaluate_dsm(handle, guid, rev, func, argv4) : obj;
}
EXPORT_SYMBOL_GPL(__wrap_acpi_evaluate_dsm);
#endif /* CONFIG_ACPI */

#ifdef CONFIG_PCI
static int nvmock_cfg(const struct pci_dev *dev, int where, int size, u32 *val, bool write)
{
	struct nvmock_owner *o;
	int idx, rc = NVMOCK_MISS;

	idx = srcu_read_lock(&nvmock_srcu);
	for_each_owner(o) {
		rc = write ? o->ops->cfg_write(o->ops->ctx, dev, where, size, *val) :
			     o->ops->cfg_read(o->ops->ctx, dev, where, size, val);
		if (rc != NVMOCK_MISS)
			break;
	}
	srcu_read_unlock(&nvmock_srcu, idx);
	return rc;
}

/*
 * The PCI config accessors: an owner that claims @dev answers (an emulated config space,
 * an injected error, all-ones after a surprise removal); otherwise the real accessor runs.
 * On an owner's error the read value is PCI_ERROR_RESPONSE, as the real accessors do.
 */
#define NVMOCK_PCI_READ(sz, type)							\
int __wrap_pci_read_config_##sz(const struct pci_dev *dev, int where, type *val)	\
{											\
	u32 v = 0;									\
	int rc = nvmock_cfg(dev, where, sizeof(type), &v, false);			\
											\
	if (rc == NVMOCK_MISS)								\
		return pci_read_config_##sz(dev, where, val);				\
	*val = rc ? (type)PCI_ERROR_RESPONSE : (type)v;					\
	return rc;									\
}											\
EXPORT_SYMBOL_GPL(__wrap_pci_read_config_##sz)

#define NVMOCK_PCI_WRITE(sz, type)							\
int __wrap_pci_write_config_##sz(const struct pci_dev *dev, int where, type val)	\
{											\
	u32 v = val;									\
	int rc = nvmock_cfg(dev, where, sizeof(type), &v, true);			\
											\
	if (rc == NVMOCK_MISS)								\
		return pci_write_config_##sz(dev, where, val);				\
	return rc;									\
}											\
EXPORT_SYMBOL_GPL(__wrap_pci_write_config_##sz)

/** __wrap_pci_read_config_byte - pci_read_config_byte() for relinked modules */
NVMOCK_PCI_READ(byte, u8);
/** __wrap_pci_read_config_word - pci_read_config_word() for relinked modules */
NVMOCK_PCI_READ(word, u16);
/** __wrap_pci_read_config_dword - pci_read_config_dword() for relinked modules */
NVMOCK_PCI_READ(dword, u32);
/** __wrap_pci_write_config_byte - pci_write_config_byte() for relinked modules */
NVMOCK_PCI_WRITE(byte, u8);
/** __wrap_pci_write_config_word - pci_write_config_word() for relinked modules */
NVMOCK_PCI_WRITE(word, u16);
/** __wrap_pci_write_config_dword - pci_write_config_dword() for relinked modules */
NVMOCK_PCI_WRITE(dword, u32);
#endif /* CONFIG_PCI */

/*
 * Where a small devmem span goes (under 2 MiB: a controller's BAR0, which holds its MSI-X
 * table, on x86_64): at the top of the highest free gap that holds it. Such spans may live
 * as long as the module (nvme=), so they stack down from the end of the reservation and
 * leave its start to the large spans, placed lowest first (an NVDIMM bus needs up to 1 GiB
 * aligned to its size, a CMB 2 MiB sections).
 *
 * allocate_resource() takes the first gap, lowest first, that its callback accepts, so the
 * survey callback accepts none: it notes the highest place a gap offers and moves the
 * allocation past the gap (refused: the reservation ends far below the top of the address
 * space, so this does not wrap). The span is then claimed at the place noted. Both steps run
 * under nvmock_place_lock, which every placement in the reservation takes, so nothing takes
 * the place in between (removals only free space).
 */
struct nvmock_top_down {
	resource_size_t start;
	bool found;
};

static DEFINE_MUTEX(nvmock_place_lock);

static resource_size_t nvmock_span_survey(void *data, const struct resource *avail,
					  const struct resource *empty, resource_size_t size,
					  resource_size_t align)
{
	struct nvmock_top_down *t = data;
	resource_size_t start;

	if (avail->end >= avail->start && avail->end - avail->start >= size - 1) {
		start = ALIGN_DOWN(avail->end - size + 1, align);
		if (start >= avail->start) {
			t->start = start;
			t->found = true;
		}
	}
	return empty->end + 1;
}

/* Places @o's span of @size bytes, aligned to @align, in @parent: see nvmock_span_survey(). */
static int nvmock_place_span(struct resource *parent, struct nvmock_owner *o,
			     resource_size_t size, resource_size_t align)
{
	struct nvmock_top_down t = {};
	int rc;

	mutex_lock(&nvmock_place_lock);
	if (parent == &nvmock_window || size >= SZ_2M) {
		rc = allocate_resource(parent, &o->span, size, parent->start, parent->end, align,
				       NULL, NULL);
		goto out;
	}
	/* Only surveys: every gap is refused. */
	allocate_resource(parent, &o->span, size, parent->start, parent->end, align,
			  nvmock_span_survey, &t);
	rc = -EBUSY;
	if (t.found) {
		o->span.start = t.start;
		o->span.end = t.start + size - 1;
		rc = request_resource(parent, &o->span);
	}
out:
	mutex_unlock(&nvmock_place_lock);
	return rc;
}

/**
 * nvmock_iomap_register - add an owner of fake memory and emulated devices
 * @ops: the owner; must stay valid until nvmock_iomap_unregister()
 *
 * Gives the owner a span of @ops->span bytes in the window (@ops->base) and starts asking
 * it about addresses and devices. Returns 0, -EINVAL for a malformed @ops, -EBUSY when no
 * span of that size is free.
 */
int nvmock_iomap_register(struct nvmock_iomap_ops *ops)
{
	struct nvmock_owner *o;
	int rc;

	struct resource *parent = &nvmock_window;

	if (!ops || ops->size != sizeof(*ops) || !ops->name || !ops->span || !ops->map ||
	    !ops->unmap || !ops->request || !ops->release || !ops->cfg_read || !ops->cfg_write ||
	    (ops->flags & ~(NVMOCK_SPAN_DEVMEM | NVMOCK_SPAN_UC)) ||
	    ((ops->flags & NVMOCK_SPAN_UC) && !(ops->flags & NVMOCK_SPAN_DEVMEM)))
		return -EINVAL;
	if (ops->flags & NVMOCK_SPAN_DEVMEM) {
		if (!nvmock_devmem_parent) {
			pr_err("%s: no devmem reservation (boot with memmap=SIZE$START and nvmock_iomap.devmem=SIZE@START)\n",
			       ops->name);
			return -ENODEV;
		}
		parent = nvmock_devmem_parent;
	}
	if (parent == &nvmock_window && ops->span > resource_size(parent))
		return -EINVAL;
	o = kzalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		return -ENOMEM;
	o->ops = ops;
	o->span.name = ops->name;
	/*
	 * A devmem span is placed as a typeless resource: for memory, x86's allocator hook
	 * (arch_remove_reservations()) keeps out of every E820 entry unless the kernel runs with
	 * pci=no_e820, and the reservation is one. The span is memory once placed.
	 */
	o->span.flags = parent == &nvmock_window ? IORESOURCE_MEM : 0;
	rc = nvmock_place_span(parent, o, ops->span,
			       min_t(u64, roundup_pow_of_two(ops->span), SZ_1G));
	o->span.flags = IORESOURCE_MEM;
	if (rc) {
		if (parent != &nvmock_window)
			pr_err("%s: no %#llx bytes free in the devmem reservation %pR\n", ops->name,
			       ops->span, &nvmock_devmem);
		kfree(o);
		return -EBUSY;
	}
	ops->base = o->span.start;
	ops->shim = o;
	mutex_lock(&nvmock_owners_lock);
	list_add_tail_rcu(&o->list, &nvmock_owners);
	mutex_unlock(&nvmock_owners_lock);
	return 0;
}
EXPORT_SYMBOL_GPL(nvmock_iomap_register);

/**
 * nvmock_iomap_unregister - remove an owner
 * @ops: an owner nvmock_iomap_register() accepted
 *
 * Returns once no wrapper is inside one of @ops' callbacks. The owner must have no mapped
 * or requested memory left: its span is released from the resource tree.
 */
void nvmock_iomap_unregister(struct nvmock_iomap_ops *ops)
{
	struct nvmock_owner *o = ops->shim;

	mutex_lock(&nvmock_owners_lock);
	list_del_rcu(&o->list);
	mutex_unlock(&nvmock_owners_lock);
	synchronize_srcu(&nvmock_srcu);
	WARN_ON(release_resource(&o->span));
	ops->shim = NULL;
	kfree(o);
}
EXPORT_SYMBOL_GPL(nvmock_iomap_unregister);

/**
 * nvmock_iomap_span - the resource of an owner's span
 * @ops: an owner nvmock_iomap_register() accepted
 *
 * The span is a child of the nvmock window in iomem_resource, neither busy nor requested:
 * an owner hands it to a PCI host bridge as its memory window, and the PCI core allocates
 * the bridge's BARs inside it. Valid until nvmock_iomap_unregister(@ops), which must come
 * after every child is gone.
 */
struct resource *nvmock_iomap_span(struct nvmock_iomap_ops *ops)
{
	struct nvmock_owner *o = ops->shim;

	return &o->span;
}
EXPORT_SYMBOL_GPL(nvmock_iomap_span);

/**
 * nvmock_devmem_map - map a range of an owner's devmem span for the owner
 * @ops: an owner nvmock_iomap_register() accepted with NVMOCK_SPAN_DEVMEM
 * @phys: first address, in the owner's span
 * @len: length
 *
 * The owner's own kernel mapping of reserved RAM it backs a range with: uncached
 * (ioremap()) for an NVMOCK_SPAN_UC span, else write-back (memremap()), the type the later
 * page map of the range uses. NULL when the range is not in the span or cannot be mapped.
 * Undone with nvmock_devmem_unmap().
 */
void *nvmock_devmem_map(const struct nvmock_iomap_ops *ops, u64 phys, u64 len)
{
	struct nvmock_owner *o = ops->shim;

	if (!(ops->flags & NVMOCK_SPAN_DEVMEM) || !len || phys < o->span.start ||
	    phys + len - 1 > o->span.end || phys + len - 1 < phys)
		return NULL;
	if (ops->flags & NVMOCK_SPAN_UC)
		return (__force void *)ioremap(phys, len);
	return memremap(phys, len, MEMREMAP_WB);
}
EXPORT_SYMBOL_GPL(nvmock_devmem_map);

/**
 * nvmock_devmem_unmap - undo nvmock_devmem_map()
 * @ops: the owner that mapped @addr
 * @addr: what nvmock_devmem_map() returned
 */
void nvmock_devmem_unmap(const struct nvmock_iomap_ops *ops, void *addr)
{
	if (ops->flags & NVMOCK_SPAN_UC)
		iounmap((void __iomem *)addr);
	else
		memunmap(addr);
}
EXPORT_SYMBOL_GPL(nvmock_devmem_unmap);

#ifdef CONFIG_ZONE_DEVICE
/**
 * nvmock_devmem_page - what the memory map says about an address (for tests)
 * @phys: a physical address
 * @page_map: set to the page map the address's struct page belongs to, if it has one and it
 *	is a ZONE_DEVICE page (pfn_to_page(), page_pgmap()); else NULL
 * @virt: set to the kernel address of that page (page_address()) plus the offset into it,
 *	or NULL
 *
 * Returns the page map get_dev_pagemap() finds for the address (its reference dropped: the
 * pointer is for comparison only), or NULL.
 */
struct dev_pagemap *nvmock_devmem_page(u64 phys, struct dev_pagemap **page_map, void **virt)
{
	unsigned long pfn = PHYS_PFN(phys);
	struct dev_pagemap *pgmap = get_dev_pagemap(pfn);
	struct page *page;

	put_dev_pagemap(pgmap);
	*page_map = NULL;
	*virt = NULL;
	if (!pfn_valid(pfn))
		return pgmap;
	page = pfn_to_page(pfn);
	if (is_zone_device_page(page)) {
		*page_map = page_pgmap(page);
		*virt = page_address(page) + offset_in_page(phys);
	}
	return pgmap;
}
EXPORT_SYMBOL_GPL(nvmock_devmem_page);

/**
 * nvmock_devmem_pgmap_hold - a reference on the page map of an address (for tests)
 * @phys: a physical address
 *
 * Returns get_dev_pagemap()'s answer, its reference kept: the page map's teardown waits
 * until nvmock_devmem_pgmap_unhold() drops it. NULL if the address has no live page map.
 */
struct dev_pagemap *nvmock_devmem_pgmap_hold(u64 phys)
{
	return get_dev_pagemap(PHYS_PFN(phys));
}
EXPORT_SYMBOL_GPL(nvmock_devmem_pgmap_hold);

/**
 * nvmock_devmem_pgmap_unhold - drops a reference nvmock_devmem_pgmap_hold() took
 * @pgmap: its answer (NULL is ignored)
 */
void nvmock_devmem_pgmap_unhold(struct dev_pagemap *pgmap)
{
	put_dev_pagemap(pgmap);
}
EXPORT_SYMBOL_GPL(nvmock_devmem_pgmap_unhold);
#endif

/**
 * nvmock_devmem_range - the devmem reservation
 * @start: set to its first address
 * @size: set to its length
 *
 * Returns false (and sets nothing) when the module was loaded without one.
 */
bool nvmock_devmem_range(u64 *start, u64 *size)
{
	if (!nvmock_devmem_parent)
		return false;
	*start = nvmock_devmem.start;
	*size = resource_size(&nvmock_devmem);
	return true;
}
EXPORT_SYMBOL_GPL(nvmock_devmem_range);

/*
 * Claims the devmem reservation devmem=SIZE@START names: 2 MiB aligned (memremap_pages()'s
 * granularity), disjoint from System RAM, reserved in full by the firmware's memory map
 * (memmap=SIZE$START), and not in use. Loading fails otherwise, with the reason.
 */
static int __init nvmock_devmem_init(void)
{
	u64 start, size, align;
	char *p;

	if (!devmem || !*devmem)
		return 0;
	if (!IS_ENABLED(CONFIG_ZONE_DEVICE)) {
		pr_err("devmem=%s: this kernel has no ZONE_DEVICE\n", devmem);
		return -EINVAL;
	}
	size = memparse(devmem, &p);
	if (*p != '@') {
		pr_err("devmem=%s: expected SIZE@START (e.g. 1G@0x100000000)\n", devmem);
		return -EINVAL;
	}
	start = memparse(p + 1, &p);
	if (*p && *p != '\n') {
		pr_err("devmem=%s: expected SIZE@START (e.g. 1G@0x100000000)\n", devmem);
		return -EINVAL;
	}
#ifdef CONFIG_ZONE_DEVICE
	align = memremap_compat_align();
#else
	align = SZ_2M;
#endif
	if (!size || start + size - 1 < start || !IS_ALIGNED(start | size, align)) {
		pr_err("devmem=%s: start and size must be non-zero multiples of %#llx\n", devmem,
		       align);
		return -EINVAL;
	}
	if (region_intersects(start, size, IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) !=
	    REGION_DISJOINT) {
		pr_err("devmem=%s: overlaps System RAM: reserve it with memmap=%#llx$%#llx on the kernel command line\n",
		       devmem, size, start);
		return -EINVAL;
	}
	if (region_intersects(start, size, IORESOURCE_MEM, IORES_DESC_RESERVED) !=
	    REGION_INTERSECTS) {
		pr_err("devmem=%s: not all of it is reserved: boot with memmap=%#llx$%#llx\n",
		       devmem, size, start);
		return -EINVAL;
	}
	nvmock_devmem.start = start;
	nvmock_devmem.end = start + size - 1;
	if (insert_resource(&iomem_resource, &nvmock_devmem)) {
		pr_err("devmem=%s: the range is in use\n", devmem);
		return -EBUSY;
	}
	nvmock_devmem_parent = &nvmock_devmem;
	if (nvmock_devmem.child && nvmock_devmem.child->start == nvmock_devmem.start &&
	    nvmock_devmem.child->end == nvmock_devmem.end)
		nvmock_devmem_parent = nvmock_devmem.child;
	pr_info("devmem reservation %pR (spans under %s)\n", &nvmock_devmem,
		nvmock_devmem_parent->name);
	return 0;
}

static void nvmock_devmem_exit(void)
{
	/* The firmware's entry, if it is below, goes back where it was. */
	if (nvmock_devmem_parent)
		remove_resource(&nvmock_devmem);
	nvmock_devmem_parent = NULL;
}

static int __init nvmock_iomap_init(void)
{
	int i, rc = nvmock_devmem_init();

	if (rc)
		return rc;
	rc = -EBUSY;

	for (i = 0; i < ARRAY_SIZE(nvmock_window_sizes) && rc; i++) {
		u64 size = nvmock_window_sizes[i];

#ifdef CONFIG_INDIRECT_IOMEM
		/* logic_iomem_add_region() requests the resource itself: find a hole first. */
		struct resource probe = { .name = "nvmock", .flags = IORESOURCE_MEM };

		rc = allocate_resource(&iomem_resource, &probe, size, NVMOCK_WINDOW_MIN,
				       iomem_resource.end, size, NULL, NULL);
		if (rc)
			continue;
		release_resource(&probe);
		nvmock_window.start = probe.start;
		nvmock_window.end = probe.end;
		rc = logic_iomem_add_region(&nvmock_window, &nvmock_lio_region_ops);
#else
		rc = allocate_resource(&iomem_resource, &nvmock_window, size, NVMOCK_WINDOW_MIN,
				       iomem_resource.end, size, NULL, NULL);
#endif
	}
	if (rc) {
		pr_err("no free physical address space for the nvmock window\n");
		nvmock_devmem_exit();
		return -EBUSY;
	}
	pr_info("fake physical window %pR\n", &nvmock_window);
	return 0;
}
module_init(nvmock_iomap_init);

#ifndef CONFIG_INDIRECT_IOMEM
static void __exit nvmock_iomap_exit(void)
{
	nvmock_devmem_exit();
	release_resource(&nvmock_window);
}
module_exit(nvmock_iomap_exit);
#endif

MODULE_DESCRIPTION("nvmock: ioremap/memremap/region/PCI config wrappers for relinked modules");
MODULE_LICENSE("GPL");
