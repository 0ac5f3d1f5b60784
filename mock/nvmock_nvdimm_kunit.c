// SPDX-License-Identifier: GPL-2.0
/*
 * nvmock_nvdimm_kunit: what the NVDIMM KUnit suites (src/kunit/nfit.rs, src/kunit/dax.rs in
 * the nvmock_nvdimm module) look at below an emulated bus, kept out of mock/nvmock_nfit.c so
 * that the module ndctl loads (`modprobe nfit_test`) needs no KUnit. Loaded before
 * nvmock_nvdimm, after nvmock_nfit and libnvdimm (whose symbols it uses).
 *
 * Tests look at what the stack made of a bus: the device-dax instances and regions
 * libnvdimm created under it and the namespace index block a DIMM's driver took (their
 * structures are private to drivers/dax and drivers/nvdimm, so this is C), and they map a
 * device-dax instance into the KUnit test's own address space.
 */
#define pr_fmt(fmt) "nvmock_nvdimm_kunit: " fmt

#include <linux/badblocks.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/libnvdimm.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pgtable.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/sched/task.h>
#include <nfit.h>
#include <kunit/test.h>
#include <kunit/test-bug.h>
#include <dax-private.h>
#include <nd.h>
#include <nd-core.h>

#include "nvmock_nfit.h"

struct below {
	void *data;
	int (*fn)(struct device *dev, void *data);
};

static int visit(struct device *dev, void *data)
{
	struct below *b = data;

	return b->fn(dev, b->data) ?: device_for_each_child(dev, b, visit);
}

/* Calls @fn on every device below @dev, depth first, until it returns non-zero. */
static int for_each_below(struct device *dev, void *data, int (*fn)(struct device *, void *))
{
	struct below b = { .data = data, .fn = fn };

	return device_for_each_child(dev, &b, visit);
}

static int find_dax(struct device *dev, void *data)
{
	struct nvmock_nfit_dax *out = data;
	struct dev_dax *dev_dax;
	int i;

	/* Only device-dax instances sit on the dax bus (drivers/dax/bus.c). */
	if (!dev->bus || strcmp(dev->bus->name, "dax"))
		return 0;
	/* Static instances (dax_pmem's) keep their ranges for life: no dax_region_rwsem. */
	dev_dax = to_dev_dax(dev);
	strscpy(out->name, dev_name(dev), sizeof(out->name));
	out->nr_range = dev_dax->nr_range;
	out->start = dev_dax->nr_range ? dev_dax->ranges[0].range.start : 0;
	out->size = 0;
	for (i = 0; i < dev_dax->nr_range; i++)
		out->size += range_len(&dev_dax->ranges[i].range);
	out->align = dev_dax->align;
	device_lock(dev);
	out->bound = dev->driver && !strcmp(dev->driver->name, "device_dax");
	device_unlock(dev);
	return 1;
}

/**
 * nvmock_nfit_find_dax - the first device-dax instance under a bus
 * @ops: the bus
 * @out: filled with its name, ranges, alignment and whether device_dax drives it
 *
 * Returns 0, or -ENODEV if the bus has none (yet).
 */
int nvmock_nfit_find_dax(struct nvmock_nfit_ops *ops, struct nvmock_nfit_dax *out)
{
	struct device *bus = nvmock_nfit_bus_dev(ops);

	if (!bus)
		return -ENODEV;
	return for_each_below(bus, out, find_dax) ? 0 : -ENODEV;
}
EXPORT_SYMBOL_GPL(nvmock_nfit_find_dax);

/**
 * nvmock_nfit_settle - wait until libnvdimm has added and probed what it queued
 *
 * libnvdimm adds regions, namespaces and their claims from its own async domain
 * (nd_synchronize() waits for it, including work queued meanwhile); the driver core may
 * probe asynchronously too.
 */
void nvmock_nfit_settle(void)
{
	nd_synchronize();
	wait_for_device_probe();
	nd_synchronize();
}
EXPORT_SYMBOL_GPL(nvmock_nfit_settle);

/**
 * nvmock_nfit_label_index - which namespace index block libnvdimm took for a DIMM
 * @ops: the bus
 * @idx: the DIMM
 * @cur: set to the index block its driver took as current (0 or 1), -1 for none
 * @label_size: set to the label size it settled on
 *
 * Returns 0, or -ENODEV if the DIMM has no nvdimm device or no driver bound to it.
 */
int nvmock_nfit_label_index(struct nvmock_nfit_ops *ops, u32 idx, int *cur,
			    int *label_size)
{
	struct device *dimm = nvmock_nfit_dimm_dev(ops, idx);
	struct nvdimm_drvdata *ndd;
	struct nfit_mem *nfit_mem;
	struct device *dev;
	int rc = -ENODEV;

	if (!dimm)
		return -ENODEV;
	nfit_mem = dev_get_drvdata(dimm);
	if (!nfit_mem || !nfit_mem->nvdimm)
		return -ENODEV;
	dev = &nfit_mem->nvdimm->dev;
	device_lock(dev);
	ndd = dev_get_drvdata(dev);
	if (dev->driver && ndd) {
		*cur = ndd->ns_current;
		*label_size = ndd->nslabel_size;
		rc = 0;
	}
	device_unlock(dev);
	return rc;
}
EXPORT_SYMBOL_GPL(nvmock_nfit_label_index);

struct poison_query {
	u64 start;
	u64 len;
	int found;	/* bad sectors in the range, or -errno */
	bool clear;
};

static int query_region(struct device *dev, void *data)
{
	struct poison_query *q = data;
	struct nd_region *nd_region;
	sector_t first, sectors, bad_first, bad_len;
	u64 end, rstart, rend;

	/* libnvdimm's regions: "region<N>" on the nd bus (is_nd_region() is not exported). */
	if (!dev->bus || strcmp(dev->bus->name, "nd") || strncmp(dev_name(dev), "region", 6))
		return 0;
	nd_region = to_nd_region(dev);
	rstart = nd_region->ndr_start;
	rend = rstart + nd_region->ndr_size;
	end = q->start + q->len;
	if (q->start < rstart || end > rend)
		return 0;
	first = (q->start - rstart) >> SECTOR_SHIFT;
	sectors = DIV_ROUND_UP(q->len, SECTOR_SIZE);
	if (q->clear) {
		long cleared = nvdimm_clear_poison(dev, q->start, q->len);

		q->found = cleared < 0 ? cleared : 0;
		return 1;
	}
	bad_len = 0;
	q->found = badblocks_check(&nd_region->bb, first, sectors, &bad_first, &bad_len) ?
		   bad_len : 0;
	return 1;
}

/**
 * nvmock_nfit_badblocks - whether libnvdimm knows of poison in a bus's memory
 * @ops: the bus
 * @start: system physical address
 * @len: bytes
 *
 * Returns the length in sectors of the first bad range the region holding the range
 * records in it (0: none), or -ENODEV if no region of the bus holds all of it.
 */
int nvmock_nfit_badblocks(struct nvmock_nfit_ops *ops, u64 start, u64 len)
{
	struct device *bus = nvmock_nfit_bus_dev(ops);
	struct poison_query q = { .start = start, .len = len };

	if (!bus || !for_each_below(bus, &q, query_region))
		return -ENODEV;
	return q.found;
}
EXPORT_SYMBOL_GPL(nvmock_nfit_badblocks);

/**
 * nvmock_nfit_clear_poison - clear poison as the pmem driver does on a write
 * @ops: the bus
 * @start: system physical address
 * @len: bytes
 *
 * Runs nvdimm_clear_poison() (Clear Uncorrectable Error through the bus's _DSM, then the
 * region's and namespace's badblocks) on the region holding the range. Returns 0, or
 * -ENODEV if no region of the bus holds all of it.
 */
int nvmock_nfit_clear_poison(struct nvmock_nfit_ops *ops, u64 start, u64 len)
{
	struct device *bus = nvmock_nfit_bus_dev(ops);
	struct poison_query q = { .start = start, .len = len, .clear = true };

	if (!bus || !for_each_below(bus, &q, query_region))
		return -ENODEV;
	return q.found;
}
EXPORT_SYMBOL_GPL(nvmock_nfit_clear_poison);

/*
 * Opens /dev/@name as the system's init (pid 1) sees it. Kernel threads, the KUnit test's
 * among them, keep the kernel's own root, which is not the root init mounted devtmpfs
 * under.
 */
static struct file *open_dev_node(const char *name)
{
	struct task_struct *init;
	struct path root;
	struct pid *pid;
	char path[48];
	struct file *file;

	if (snprintf(path, sizeof(path), "dev/%s", name) >= sizeof(path))
		return ERR_PTR(-ENAMETOOLONG);
	pid = find_get_pid(1);
	init = get_pid_task(pid, PIDTYPE_PID);
	put_pid(pid);
	if (!init)
		return ERR_PTR(-ESRCH);
	task_lock(init);
	if (!init->fs) {
		task_unlock(init);
		put_task_struct(init);
		return ERR_PTR(-ESRCH);
	}
	get_fs_root(init->fs, &root);
	task_unlock(init);
	put_task_struct(init);
	file = file_open_root(&root, path, O_RDWR, 0);
	path_put(&root);
	return file;
}

/**
 * nvmock_nfit_dax_mmap - map a device-dax instance into the running KUnit test
 * @name: the instance's name (its /dev node, from devtmpfs)
 * @len: bytes from its start, a multiple of its alignment
 * @addr: where it was mapped
 *
 * Gives the test's kthread an address space (kunit_attach_mm(); it goes with the test)
 * and maps the device there shared and writable, as a process would: faults on @addr
 * take device-dax's fault path. Returns 0 or -errno.
 */
int nvmock_nfit_dax_mmap(const char *name, unsigned long len, unsigned long *addr)
{
	struct file *file;
	unsigned long a;
	int rc, i;

	if (!kunit_get_current_test())
		return -EINVAL;
	/* devtmpfs creates the node soon after the device is added: give it a second. */
	for (i = 0;; i++) {
		file = open_dev_node(name);
		if (!IS_ERR(file) || PTR_ERR(file) != -ENOENT || i == 100)
			break;
		msleep(10);
	}
	if (IS_ERR(file))
		return PTR_ERR(file);
	rc = kunit_attach_mm();
	if (!rc) {
		a = vm_mmap(file, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
		if (IS_ERR_VALUE(a))
			rc = (int)a;
		else
			*addr = a;
	}
	/* The mapping holds its own reference. */
	fput(file);
	return rc;
}
EXPORT_SYMBOL_GPL(nvmock_nfit_dax_mmap);

/**
 * nvmock_nfit_dax_munmap - undo nvmock_nfit_dax_mmap()
 * @addr: where it was mapped
 * @len: its length
 */
int nvmock_nfit_dax_munmap(unsigned long addr, unsigned long len)
{
	return vm_munmap(addr, len);
}
EXPORT_SYMBOL_GPL(nvmock_nfit_dax_munmap);

/**
 * nvmock_nfit_user_leaf - how the running KUnit test's page tables map a user address
 * @addr: an address in the test's address space (nvmock_nfit_dax_mmap())
 * @size: set to the size of the entry that maps @addr: PUD_SIZE or PMD_SIZE for a huge
 *	leaf (the fault that filled it was that size), PAGE_SIZE when a page table hangs
 *	below the PMD (page-sized faults; the PTE itself is not looked at)
 * @phys: set to the physical address a huge leaf maps @addr to (0 below a PMD table)
 *
 * Walks the page tables under the mmap lock, as the fault handler filled them. Returns 0,
 * -EINVAL without an address space, -ENOENT when nothing maps @addr at PMD level or above.
 */
int nvmock_nfit_user_leaf(unsigned long addr, u64 *size, u64 *phys)
{
	struct mm_struct *mm = current->mm;
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pudp, pud;
	pmd_t pmd;
	int rc = -ENOENT;

	if (!mm)
		return -EINVAL;
	*phys = 0;
	mmap_read_lock(mm);
	pgd = pgd_offset(mm, addr);
	if (pgd_none(*pgd) || pgd_bad(*pgd))
		goto out;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) || p4d_bad(*p4d))
		goto out;
	pudp = pud_offset(p4d, addr);
	pud = READ_ONCE(*pudp);
	if (!pud_present(pud))
		goto out;
	if (pud_leaf(pud)) {
		*size = PUD_SIZE;
		*phys = PFN_PHYS(pud_pfn(pud)) + (addr & ~PUD_MASK);
		rc = 0;
		goto out;
	}
	pmd = pmdp_get_lockless(pmd_offset(pudp, addr));
	if (!pmd_present(pmd))
		goto out;
	if (pmd_leaf(pmd)) {
		*size = PMD_SIZE;
		*phys = PFN_PHYS(pmd_pfn(pmd)) + (addr & ~PMD_MASK);
	} else {
		*size = PAGE_SIZE;
	}
	rc = 0;
out:
	mmap_read_unlock(mm);
	return rc;
}
EXPORT_SYMBOL_GPL(nvmock_nfit_user_leaf);

MODULE_DESCRIPTION("nvmock: what the NVDIMM KUnit suites inspect below an emulated bus");
MODULE_LICENSE("GPL");
