/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvmock NFIT glue: the interface between mock/nvmock_nfit.c, which hands an NFIT to the
 * relinked ACPI NFIT driver the way firmware would, and the Rust module that owns the bus
 * (its topology, backing memory and _DSM state). The Rust side mirrors struct
 * nvmock_nfit_ops with #[repr(C)]; ->size guards the layout.
 */
#ifndef _NVMOCK_NFIT_H
#define _NVMOCK_NFIT_H

#include <linux/types.h>

struct device;
struct module;

/* ->ctl target for bus-scope commands (DIMM commands name the DIMM's NFIT device handle). */
#define NVMOCK_NFIT_BUS		0xffffffffU

/* The attributes of /sys/devices/platform/nfit_test.N/nfit_test_dimm/test_dimmM. */
enum nvmock_nfit_dimm_attr {
	NVMOCK_DIMM_FAIL_CMD = 0,	/* rw: mask of commands that fail */
	NVMOCK_DIMM_FAIL_CMD_CODE = 1,	/* rw: the errno they fail with (0: -EIO) */
	NVMOCK_DIMM_LOCK = 2,		/* wo: lock the DIMM (security tests) */
};

/*
 * Bus and test_dimm numbers. Each number is in use by one bus at a time (two IDAs in the
 * glue). The presets (nvmock's nfit_test module) ask for the numbers of the kernel's C
 * nfit_test, which ndctl's tests know: buses 0 and 1, test_dimm0 to test_dimm6. Any other
 * bus (the KUnit suites') asks for NVMOCK_NFIT_AUTO and gets numbers above those, so it can
 * never take a preset's.
 */
#define NVMOCK_NFIT_AUTO		(-1)
#define NVMOCK_NFIT_DIMM_AUTO		0xffffffffU
#define NVMOCK_NFIT_FIRST_AUTO_BUS	2
#define NVMOCK_NFIT_FIRST_AUTO_DIMM	7

/**
 * struct nvmock_nfit_ops - one emulated NVDIMM bus
 * @size: sizeof(struct nvmock_nfit_ops) as the owner was built; checked at registration
 * @owner: the module that owns the bus (held while libnvdimm uses the bus)
 * @ctx: passed back to every callback
 * @id: the bus is the platform device "nfit_test.<id>", as ndctl's tests expect; or
 *	%NVMOCK_NFIT_AUTO: the glue allocates a number from %NVMOCK_NFIT_FIRST_AUTO_BUS up
 * @nfit: the NFIT structures (no table header) the bus starts with
 * @nfit_len: their length
 * @hotplug_nfit: optional: the structures after a hot plug, delivered through _FIT and
 *	notification 0x80 right after the bus has probed (as nfit_test.0 does); NULL for none
 * @hotplug_len: their length
 * @handles: NFIT device handles of the bus's DIMMs
 * @ndimms: number of @handles; DIMM i gets the class device test_dimm<@dimm_base + i>
 * @dimm_base: see @ndimms; or %NVMOCK_NFIT_DIMM_AUTO: each DIMM gets a number the glue
 *	allocates from %NVMOCK_NFIT_FIRST_AUTO_DIMM up
 * @bus_cmd_force_en: ND_CMD_* bus commands the bus supports
 * @bus_dsm_mask: NVDIMM_BUS_FAMILY_NFIT functions the bus supports
 * @bus_intel_mask: NVDIMM_BUS_FAMILY_INTEL functions the bus supports
 * @dimm_cmd_force_en: DIMM commands and Intel functions the DIMMs support
 * @ctl: runs command @cmd (an ND_CMD_*, or ND_CMD_CALL with the whole struct nd_cmd_pkg
 *	in @buf) for @target: returns 0, a positive residual, or -errno, and the command's
 *	own status in *@cmd_rc. May sleep. Events are raised with nvmock_nfit_notify_*().
 * @dimm_attr: reads (@store false) or writes a test_dimm attribute of DIMM @idx
 * @glue: private to the glue
 */
struct nvmock_nfit_ops {
	u32 size;
	struct module *owner;
	void *ctx;
	int id;
	const void *nfit;
	u32 nfit_len;
	const void *hotplug_nfit;
	u32 hotplug_len;
	const u32 *handles;
	u32 ndimms;
	u32 dimm_base;
	unsigned long bus_cmd_force_en;
	unsigned long bus_dsm_mask;
	unsigned long bus_intel_mask;
	unsigned long dimm_cmd_force_en;
	int (*ctl)(void *ctx, u32 target, unsigned int cmd, void *buf, unsigned int len,
		   int *cmd_rc);
	int (*dimm_attr)(void *ctx, u32 idx, int attr, bool store, long *val);
	void *glue;
};

/**
 * struct nvmock_nfit_dax - a device-dax instance under a bus, as nvmock_nfit_find_dax()
 * (KUnit only) found it
 * @name: its device name, "dax<region>.<id>" (also its /dev node)
 * @start: system physical address of its first range
 * @size: bytes in all its ranges
 * @align: its fault granularity
 * @nr_range: how many ranges it has
 * @bound: device_dax drives it (its character device works)
 */
struct nvmock_nfit_dax {
	char name[32];
	u64 start;
	u64 size;
	u32 align;
	u32 nr_range;
	bool bound;
};

int nvmock_nfit_add(struct nvmock_nfit_ops *ops);
void nvmock_nfit_remove(struct nvmock_nfit_ops *ops);
void nvmock_nfit_notify_bus(struct nvmock_nfit_ops *ops, u32 event);
void nvmock_nfit_notify_dimm(struct nvmock_nfit_ops *ops, u32 idx, u32 event);
struct device *nvmock_nfit_bus_dev(struct nvmock_nfit_ops *ops);
struct device *nvmock_nfit_dimm_dev(struct nvmock_nfit_ops *ops, u32 idx);

/* KUnit only: mock/nvmock_nvdimm_kunit.c (module nvmock_nvdimm_kunit). */
void nvmock_nfit_settle(void);
int nvmock_nfit_label_index(struct nvmock_nfit_ops *ops, u32 idx, int *cur,
			    int *label_size);
int nvmock_nfit_find_dax(struct nvmock_nfit_ops *ops, struct nvmock_nfit_dax *out);
int nvmock_nfit_badblocks(struct nvmock_nfit_ops *ops, u64 start, u64 len);
int nvmock_nfit_clear_poison(struct nvmock_nfit_ops *ops, u64 start, u64 len);
int nvmock_nfit_dax_mmap(const char *name, unsigned long len, unsigned long *addr);
int nvmock_nfit_dax_munmap(unsigned long addr, unsigned long len);
int nvmock_nfit_user_leaf(unsigned long addr, u64 *size, u64 *phys);

#endif /* _NVMOCK_NFIT_H */
