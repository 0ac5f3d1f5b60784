// SPDX-License-Identifier: GPL-2.0
/*
 * nvmock NFIT glue: presents an emulated NVDIMM bus to the relinked ACPI NFIT driver
 * (tools-testing/nvdimm) the way platform firmware would, for a Rust owner that holds the
 * bus's topology, memory and _DSM state (src/glue/nfit/bus.rs). What the KUnit suites
 * inspect (device-dax, badblocks, labels, a test's own mapping) is in a module of its own,
 * mock/nvmock_nvdimm_kunit.c, so that this one, which `modprobe nfit_test` loads for
 * ndctl, needs no KUnit.
 *
 * This is C only because the ACPI NFIT driver's descriptor (struct acpi_nfit_desc in
 * drivers/acpi/nfit/nfit.h), device attributes and device classes have no Rust
 * abstractions. Each bus is:
 *
 * - the platform device "nfit_test.<id>" (the provider name ndctl's tests look for), bound
 *   to this module's platform driver, whose probe hands the owner's NFIT to
 *   acpi_nfit_init() and routes every _DSM (struct nvdimm_bus_descriptor's ->ndctl) to the
 *   owner's ->ctl;
 * - a fake ACPI handle (the bus itself) on which _FIT returns the hot-plug NFIT, answered
 *   through the shim's ACPI wrappers (mock/nvmock_iomap.c), so that the driver's own
 *   notification path (__acpi_nfit_notify(), event 0x80) adds the hot-plugged DIMM;
 * - class devices nfit_test_dimm/test_dimm<N> under it, with the fail_cmd, fail_cmd_code
 *   and lock_dimm controls ndctl's tests write, and the DIMM's nfit_mem as driver data for
 *   health notifications (__acpi_nvdimm_notify()).
 */
#define pr_fmt(fmt) "nvmock_nfit: " fmt

#include <linux/acpi.h>
#include <linux/device.h>
#include <linux/libnvdimm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/ndctl.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <nfit.h>

#include "nvmock_iomap.h"
#include "nvmock_nfit.h"

/* DIMMs one bus may have (nfit_test.0 has five with its hot-plugged one). */
#define NVMOCK_NFIT_MAX_DIMMS	32

struct nvmock_nfit_bus {
	struct platform_device pdev;
	struct acpi_nfit_desc acpi_desc;
	struct nvmock_nfit_ops *ops;
	struct list_head list;
	/* Raises NFIT_NOTIFY_UC_MEMORY_ERROR outside the _DSM that asked for it. */
	struct work_struct uc_work;
	/* The NFIT _FIT returns: the hot-plug one once delivered, else the initial one. */
	const void *fit;
	u32 fit_len;
	int probe_rc;
	/* The bus number in use (the platform device's id). */
	int id;
	/* DIMM i's test_dimm number; valid for i < ops->ndimms once numbered. */
	u32 dimm_no[NVMOCK_NFIT_MAX_DIMMS];
	u32 dimms_numbered;
	struct device *dimm_dev[NVMOCK_NFIT_MAX_DIMMS];
};

/* Bus numbers and test_dimm numbers in use (see NVMOCK_NFIT_AUTO). */
static DEFINE_IDA(nvmock_nfit_bus_ida);
static DEFINE_IDA(nvmock_nfit_dimm_ida);

/* The buses, for the fake ACPI handles' lookup. */
static LIST_HEAD(nvmock_nfit_buses);
static DEFINE_MUTEX(nvmock_nfit_lock);

static const struct class nvmock_nfit_dimm_class = {
	.name = "nfit_test_dimm",
};

static struct nvmock_nfit_bus *to_bus(struct platform_device *pdev)
{
	return container_of(pdev, struct nvmock_nfit_bus, pdev);
}

/* ->ndctl of every bus: checks what the driver core would, then asks the owner. */
static int nvmock_nfit_ctl(struct nvdimm_bus_descriptor *nd_desc, struct nvdimm *nvdimm,
			   unsigned int cmd, void *buf, unsigned int buf_len, int *cmd_rc)
{
	struct acpi_nfit_desc *acpi_desc = to_acpi_desc(nd_desc);
	struct nvmock_nfit_bus *bus = container_of(acpi_desc, struct nvmock_nfit_bus, acpi_desc);
	struct nvmock_nfit_ops *ops = bus->ops;
	u32 target = NVMOCK_NFIT_BUS;
	struct nd_cmd_pkg *pkg = buf;
	int local_rc;

	if (!cmd_rc)
		cmd_rc = &local_rc;
	*cmd_rc = 0;
	if (cmd == ND_CMD_CALL) {
		if (buf_len < sizeof(*pkg) ||
		    (u64)pkg->nd_size_in + pkg->nd_size_out > buf_len - sizeof(*pkg))
			return -EINVAL;
	}
	if (nvdimm) {
		struct nfit_mem *nfit_mem = nvdimm_provider_data(nvdimm);
		unsigned long cmd_mask = nvdimm_cmd_mask(nvdimm);

		if (!nfit_mem)
			return -ENOTTY;
		if (cmd == ND_CMD_CALL) {
			if (pkg->nd_family != nfit_mem->family)
				return -ENOTTY;
		} else if (cmd >= BITS_PER_LONG || !test_bit(cmd, &cmd_mask) ||
			   !test_bit(cmd, &nfit_mem->dsm_mask)) {
			return -ENOTTY;
		}
		target = __to_nfit_memdev(nfit_mem)->device_handle;
	} else if (cmd == ND_CMD_CALL) {
		if (pkg->nd_family != NVDIMM_BUS_FAMILY_NFIT &&
		    pkg->nd_family != NVDIMM_BUS_FAMILY_INTEL)
			return -ENOTTY;
	} else if (cmd >= BITS_PER_LONG || !test_bit(cmd, &nd_desc->cmd_mask)) {
		return -ENOTTY;
	}
	return ops->ctl(ops->ctx, target, cmd, buf, buf_len, cmd_rc);
}

/* test_dimm<N>: the DIMM numbered N is the DIMM's index in the owner's handles. */
static int dimm_idx(struct device *dev, struct nvmock_nfit_bus **busp)
{
	struct nvmock_nfit_bus *bus = to_bus(to_platform_device(dev->parent));
	unsigned int n;
	u32 i;

	if (sscanf(dev_name(dev), "test_dimm%u", &n) != 1)
		return -ENXIO;
	for (i = 0; i < bus->dimms_numbered; i++) {
		if (bus->dimm_no[i] == n) {
			*busp = bus;
			return i;
		}
	}
	return -ENXIO;
}

static ssize_t dimm_attr_show(struct device *dev, int attr, const char *fmt, char *buf)
{
	struct nvmock_nfit_bus *bus;
	int idx = dimm_idx(dev, &bus), rc;
	long val;

	if (idx < 0)
		return idx;
	rc = bus->ops->dimm_attr(bus->ops->ctx, idx, attr, false, &val);
	if (rc)
		return rc;
	return sysfs_emit(buf, fmt, val);
}

static ssize_t dimm_attr_store(struct device *dev, int attr, const char *buf, size_t size)
{
	struct nvmock_nfit_bus *bus;
	int idx = dimm_idx(dev, &bus), rc;
	long val;

	if (idx < 0)
		return idx;
	rc = kstrtol(buf, 0, &val);
	if (rc)
		return rc;
	rc = bus->ops->dimm_attr(bus->ops->ctx, idx, attr, true, &val);
	return rc ? rc : size;
}

static ssize_t handle_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct nvmock_nfit_bus *bus;
	int idx = dimm_idx(dev, &bus);

	if (idx < 0)
		return idx;
	return sysfs_emit(buf, "%#x\n", bus->ops->handles[idx]);
}
static DEVICE_ATTR_RO(handle);

static ssize_t fail_cmd_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return dimm_attr_show(dev, NVMOCK_DIMM_FAIL_CMD, "%#lx\n", buf);
}

static ssize_t fail_cmd_store(struct device *dev, struct device_attribute *attr,
			      const char *buf, size_t size)
{
	return dimm_attr_store(dev, NVMOCK_DIMM_FAIL_CMD, buf, size);
}
static DEVICE_ATTR_RW(fail_cmd);

static ssize_t fail_cmd_code_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return dimm_attr_show(dev, NVMOCK_DIMM_FAIL_CMD_CODE, "%ld\n", buf);
}

static ssize_t fail_cmd_code_store(struct device *dev, struct device_attribute *attr,
				   const char *buf, size_t size)
{
	return dimm_attr_store(dev, NVMOCK_DIMM_FAIL_CMD_CODE, buf, size);
}
static DEVICE_ATTR_RW(fail_cmd_code);

static ssize_t lock_dimm_store(struct device *dev, struct device_attribute *attr,
			       const char *buf, size_t size)
{
	return dimm_attr_store(dev, NVMOCK_DIMM_LOCK, buf, size);
}
static DEVICE_ATTR_WO(lock_dimm);

static struct attribute *nvmock_nfit_dimm_attrs[] = {
	&dev_attr_handle.attr,
	&dev_attr_fail_cmd.attr,
	&dev_attr_fail_cmd_code.attr,
	&dev_attr_lock_dimm.attr,
	NULL,
};
ATTRIBUTE_GROUPS(nvmock_nfit_dimm);

static void nvmock_nfit_dimms_del(void *data)
{
	struct nvmock_nfit_bus *bus = data;
	u32 i;

	for (i = 0; i < bus->ops->ndimms; i++)
		if (bus->dimm_dev[i])
			device_unregister(bus->dimm_dev[i]);
	memset(bus->dimm_dev, 0, sizeof(bus->dimm_dev));
}

static int nvmock_nfit_dimms_add(struct nvmock_nfit_bus *bus)
{
	struct device *dev = &bus->pdev.dev;
	u32 i;

	for (i = 0; i < bus->ops->ndimms; i++) {
		struct device *d = device_create_with_groups(&nvmock_nfit_dimm_class, dev, 0, NULL,
							     nvmock_nfit_dimm_groups, "test_dimm%u",
							     bus->dimm_no[i]);

		if (IS_ERR(d)) {
			nvmock_nfit_dimms_del(bus);
			return PTR_ERR(d);
		}
		bus->dimm_dev[i] = d;
	}
	return devm_add_action_or_reset(dev, nvmock_nfit_dimms_del, bus);
}

static int nvmock_nfit_probe(struct platform_device *pdev)
{
	struct nvmock_nfit_bus *bus = to_bus(pdev);
	struct nvmock_nfit_ops *ops = bus->ops;
	struct acpi_nfit_desc *acpi_desc = &bus->acpi_desc;
	struct nvdimm_bus_descriptor *nd_desc = &acpi_desc->nd_desc;
	struct device *dev = &pdev->dev;
	struct nfit_mem *nfit_mem;
	int rc;

	rc = nvmock_nfit_dimms_add(bus);
	if (rc)
		goto out;
	acpi_desc->bus_cmd_force_en = ops->bus_cmd_force_en;
	acpi_desc->bus_dsm_mask = ops->bus_dsm_mask;
	acpi_desc->family_dsm_mask[NVDIMM_BUS_FAMILY_INTEL] = ops->bus_intel_mask;
	acpi_desc->dimm_cmd_force_en = ops->dimm_cmd_force_en;
	acpi_nfit_desc_init(acpi_desc, dev);
	/* The provider name is then the device's: "nfit_test.<id>". */
	nd_desc->provider_name = NULL;
	nd_desc->module = ops->owner;
	nd_desc->ndctl = nvmock_nfit_ctl;

	bus->fit = ops->nfit;
	bus->fit_len = ops->nfit_len;
	/* acpi_nfit_init() copies what it keeps of the table. */
	rc = acpi_nfit_init(acpi_desc, (void *)ops->nfit, ops->nfit_len);
	if (rc) {
		/*
		 * As acpi_nfit_probe() does: a failed init may already have put the descriptor
		 * on the driver's list (for MCE notifications); take it off before devm frees
		 * it. (Found by nvmock_nfit's unwinding test; nfit_test has the same gap.)
		 */
		acpi_nfit_shutdown(acpi_desc);
		goto out;
	}
	rc = devm_add_action_or_reset(dev, acpi_nfit_shutdown, acpi_desc);
	if (rc)
		goto out;

	if (ops->hotplug_nfit) {
		mutex_lock(&nvmock_nfit_lock);
		bus->fit = ops->hotplug_nfit;
		bus->fit_len = ops->hotplug_len;
		mutex_unlock(&nvmock_nfit_lock);
		/* As firmware signals a hot plug: the driver evaluates _FIT on our handle. */
		__acpi_nfit_notify(dev, bus, NFIT_NOTIFY_UPDATE);
	}

	/* Health notifications find the DIMM's nfit_mem through its test_dimm device. */
	mutex_lock(&acpi_desc->init_mutex);
	list_for_each_entry(nfit_mem, &acpi_desc->dimms, list) {
		u32 handle = __to_nfit_memdev(nfit_mem)->device_handle, i;

		for (i = 0; i < ops->ndimms; i++)
			if (ops->handles[i] == handle)
				dev_set_drvdata(bus->dimm_dev[i], nfit_mem);
	}
	mutex_unlock(&acpi_desc->init_mutex);
out:
	bus->probe_rc = rc;
	return rc;
}

static const struct platform_device_id nvmock_nfit_id[] = {
	{ "nfit_test" },
	{ },
};

static struct platform_driver nvmock_nfit_driver = {
	.probe = nvmock_nfit_probe,
	.driver = {
		.name = "nfit_test",
	},
	.id_table = nvmock_nfit_id,
};

static void nvmock_nfit_uc_work(struct work_struct *work)
{
	struct nvmock_nfit_bus *bus = container_of(work, struct nvmock_nfit_bus, uc_work);
	struct device *dev = &bus->pdev.dev;

	/* Only while bound: the driver's notify handler needs its descriptor. */
	device_lock(dev);
	if (dev->driver)
		__acpi_nfit_notify(dev, bus, NFIT_NOTIFY_UC_MEMORY_ERROR);
	device_unlock(dev);
}

/* Looks a fake handle up; the caller holds nvmock_nfit_lock. */
static struct nvmock_nfit_bus *nvmock_nfit_find(acpi_handle handle)
{
	struct nvmock_nfit_bus *bus;

	list_for_each_entry(bus, &nvmock_nfit_buses, list)
		if ((void *)bus == (void *)handle)
			return bus;
	return NULL;
}

/* _FIT on a bus handle returns its current NFIT as a buffer object; nothing else exists. */
static int nvmock_nfit_evaluate_object(acpi_handle handle, const char *path,
				       struct acpi_object_list *args, struct acpi_buffer *buf,
				       acpi_status *st)
{
	struct nvmock_nfit_bus *bus;
	union acpi_object *obj;

	mutex_lock(&nvmock_nfit_lock);
	bus = nvmock_nfit_find(handle);
	if (!bus) {
		mutex_unlock(&nvmock_nfit_lock);
		return NVMOCK_MISS;
	}
	if (strcmp(path, "_FIT") || !buf || buf->length != ACPI_ALLOCATE_BUFFER) {
		mutex_unlock(&nvmock_nfit_lock);
		*st = buf && strcmp(path, "_FIT") == 0 ? AE_BAD_PARAMETER : AE_NOT_FOUND;
		return 0;
	}
	obj = kzalloc(sizeof(*obj) + bus->fit_len, GFP_KERNEL);
	if (!obj) {
		mutex_unlock(&nvmock_nfit_lock);
		*st = AE_NO_MEMORY;
		return 0;
	}
	obj->type = ACPI_TYPE_BUFFER;
	obj->buffer.length = bus->fit_len;
	obj->buffer.pointer = (u8 *)(obj + 1);
	memcpy(obj->buffer.pointer, bus->fit, bus->fit_len);
	mutex_unlock(&nvmock_nfit_lock);
	buf->pointer = obj;
	buf->length = sizeof(*obj) + obj->buffer.length;
	*st = AE_OK;
	return 0;
}

/* The buses answer _DSM through ->ndctl only: a _DSM on their handles has no result. */
static union acpi_object *nvmock_nfit_evaluate_dsm(acpi_handle handle, const guid_t *guid,
						   u64 rev, u64 func, union acpi_object *argv4)
{
	bool ours;

	mutex_lock(&nvmock_nfit_lock);
	ours = nvmock_nfit_find(handle);
	mutex_unlock(&nvmock_nfit_lock);
	return ours ? NULL : ERR_PTR(-ENXIO);
}

static const struct nvmock_acpi_ops nvmock_nfit_acpi_ops = {
	.evaluate_object = nvmock_nfit_evaluate_object,
	.evaluate_dsm = nvmock_nfit_evaluate_dsm,
};

static void nvmock_nfit_release(struct device *dev)
{
	kfree(to_bus(to_platform_device(dev)));
}

/* Gives back the bus's numbers (once its devices, which carry them in their names, are gone). */
static void nvmock_nfit_unnumber(struct nvmock_nfit_bus *bus)
{
	while (bus->dimms_numbered)
		ida_free(&nvmock_nfit_dimm_ida, bus->dimm_no[--bus->dimms_numbered]);
	if (bus->id >= 0)
		ida_free(&nvmock_nfit_bus_ida, bus->id);
	bus->id = -1;
}

/*
 * Takes the bus's numbers: those @ops asks for, or free ones for NVMOCK_NFIT_AUTO. -EEXIST
 * when an asked-for number is taken.
 */
static int nvmock_nfit_number(struct nvmock_nfit_bus *bus)
{
	const struct nvmock_nfit_ops *ops = bus->ops;
	int n;
	u32 i;

	if (ops->id == NVMOCK_NFIT_AUTO)
		n = ida_alloc_min(&nvmock_nfit_bus_ida, NVMOCK_NFIT_FIRST_AUTO_BUS, GFP_KERNEL);
	else
		n = ida_alloc_range(&nvmock_nfit_bus_ida, ops->id, ops->id, GFP_KERNEL);
	if (n < 0)
		return n == -ENOSPC ? -EEXIST : n;
	bus->id = n;
	for (i = 0; i < ops->ndimms; i++) {
		if (ops->dimm_base == NVMOCK_NFIT_DIMM_AUTO)
			n = ida_alloc_min(&nvmock_nfit_dimm_ida, NVMOCK_NFIT_FIRST_AUTO_DIMM,
					  GFP_KERNEL);
		else
			n = ida_alloc_range(&nvmock_nfit_dimm_ida, ops->dimm_base + i,
					    ops->dimm_base + i, GFP_KERNEL);
		if (n < 0) {
			nvmock_nfit_unnumber(bus);
			return n == -ENOSPC ? -EEXIST : n;
		}
		bus->dimm_no[bus->dimms_numbered++] = n;
	}
	return 0;
}

/**
 * nvmock_nfit_add - create and probe an emulated NVDIMM bus
 * @ops: the bus; must stay valid, with everything it points to, until
 *	nvmock_nfit_remove()
 *
 * Returns 0 once the bus is bound (its regions are then registered with libnvdimm), or
 * -EINVAL for malformed @ops, -EEXIST when a bus or test_dimm number @ops asks for is in use,
 * or the probe's error.
 */
int nvmock_nfit_add(struct nvmock_nfit_ops *ops)
{
	struct nvmock_nfit_bus *bus;
	int rc;

	if (!ops || ops->size != sizeof(*ops) || !ops->ctl || !ops->dimm_attr || !ops->nfit ||
	    !ops->nfit_len || (ops->id < 0 && ops->id != NVMOCK_NFIT_AUTO) ||
	    ops->ndimms > NVMOCK_NFIT_MAX_DIMMS || (ops->ndimms && !ops->handles) ||
	    (ops->hotplug_nfit && !ops->hotplug_len) ||
	    (ops->dimm_base != NVMOCK_NFIT_DIMM_AUTO && ops->ndimms &&
	     ops->dimm_base > INT_MAX - ops->ndimms))
		return -EINVAL;
	bus = kzalloc(sizeof(*bus), GFP_KERNEL);
	if (!bus)
		return -ENOMEM;
	bus->ops = ops;
	bus->id = -1;
	rc = nvmock_nfit_number(bus);
	if (rc) {
		kfree(bus);
		return rc;
	}
	INIT_WORK(&bus->uc_work, nvmock_nfit_uc_work);
	bus->pdev.name = "nfit_test";
	bus->pdev.id = bus->id;
	bus->pdev.dev.release = nvmock_nfit_release;

	mutex_lock(&nvmock_nfit_lock);
	list_add_tail(&bus->list, &nvmock_nfit_buses);
	mutex_unlock(&nvmock_nfit_lock);
	ops->glue = bus;

	rc = platform_device_register(&bus->pdev);
	if (rc) {
		mutex_lock(&nvmock_nfit_lock);
		list_del(&bus->list);
		mutex_unlock(&nvmock_nfit_lock);
		ops->glue = NULL;
		nvmock_nfit_unnumber(bus);
		put_device(&bus->pdev.dev);
		return rc;
	}
	/* Kept until nvmock_nfit_remove(), past platform_device_unregister(). */
	get_device(&bus->pdev.dev);
	if (!bus->pdev.dev.driver) {
		rc = bus->probe_rc ? bus->probe_rc : -ENODEV;
		pr_err("%s did not bind: %d\n", dev_name(&bus->pdev.dev), rc);
		nvmock_nfit_remove(ops);
		return rc;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(nvmock_nfit_add);

/**
 * nvmock_nfit_remove - unbind and delete a bus nvmock_nfit_add() created
 * @ops: the bus
 *
 * Returns once libnvdimm has let go of the bus: no callback into @ops runs afterwards.
 */
void nvmock_nfit_remove(struct nvmock_nfit_ops *ops)
{
	struct nvmock_nfit_bus *bus = ops->glue;

	if (!bus)
		return;
	platform_device_unregister(&bus->pdev);
	cancel_work_sync(&bus->uc_work);
	mutex_lock(&nvmock_nfit_lock);
	list_del(&bus->list);
	mutex_unlock(&nvmock_nfit_lock);
	ops->glue = NULL;
	nvmock_nfit_unnumber(bus);
	put_device(&bus->pdev.dev);
}
EXPORT_SYMBOL_GPL(nvmock_nfit_remove);

/**
 * nvmock_nfit_notify_bus - raise a bus notification, as firmware's Notify() would
 * @ops: the bus
 * @event: NFIT_NOTIFY_UC_MEMORY_ERROR (the only one the driver acts on besides updates)
 *
 * Asynchronous: callable from ->ctl.
 */
void nvmock_nfit_notify_bus(struct nvmock_nfit_ops *ops, u32 event)
{
	struct nvmock_nfit_bus *bus = ops->glue;

	if (bus && event == NFIT_NOTIFY_UC_MEMORY_ERROR)
		schedule_work(&bus->uc_work);
	else if (bus)
		pr_warn("%s: bus event %#x not emulated\n", dev_name(&bus->pdev.dev), event);
}
EXPORT_SYMBOL_GPL(nvmock_nfit_notify_bus);

/**
 * nvmock_nfit_notify_dimm - raise a DIMM notification (0x81: health event)
 * @ops: the bus
 * @idx: the DIMM's index in @ops->handles
 * @event: the notification value
 *
 * Synchronous, as nfit_test raises it from the SMART commands; callable from ->ctl.
 */
void nvmock_nfit_notify_dimm(struct nvmock_nfit_ops *ops, u32 idx, u32 event)
{
	struct nvmock_nfit_bus *bus = ops->glue;

	if (!bus || idx >= ops->ndimms || !bus->dimm_dev[idx])
		return;
	/* Until the bus has probed, the device has no nfit_mem to notify. */
	if (dev_get_drvdata(bus->dimm_dev[idx]))
		__acpi_nvdimm_notify(bus->dimm_dev[idx], event);
}
EXPORT_SYMBOL_GPL(nvmock_nfit_notify_dimm);

/**
 * nvmock_nfit_bus_dev - the platform device of a bus
 * @ops: the bus
 *
 * For the KUnit helpers (mock/nvmock_nvdimm_kunit.c), which look at what libnvdimm made
 * of the bus below it. Returns NULL if the bus is not registered; valid until
 * nvmock_nfit_remove(@ops).
 */
struct device *nvmock_nfit_bus_dev(struct nvmock_nfit_ops *ops)
{
	struct nvmock_nfit_bus *bus = ops->glue;

	return bus ? &bus->pdev.dev : NULL;
}
EXPORT_SYMBOL_GPL(nvmock_nfit_bus_dev);

/**
 * nvmock_nfit_dimm_dev - the test_dimm class device of a bus's DIMM
 * @ops: the bus
 * @idx: the DIMM
 *
 * Its driver data is the DIMM's struct nfit_mem. Returns NULL if the bus is not
 * registered or has no such DIMM; valid until nvmock_nfit_remove(@ops).
 */
struct device *nvmock_nfit_dimm_dev(struct nvmock_nfit_ops *ops, u32 idx)
{
	struct nvmock_nfit_bus *bus = ops->glue;

	if (!bus || idx >= ops->ndimms)
		return NULL;
	return bus->dimm_dev[idx];
}
EXPORT_SYMBOL_GPL(nvmock_nfit_dimm_dev);

static int __init nvmock_nfit_init(void)
{
	int rc;

	rc = class_register(&nvmock_nfit_dimm_class);
	if (rc)
		return rc;
	rc = nvmock_acpi_register(&nvmock_nfit_acpi_ops);
	if (rc)
		goto err_class;
	rc = platform_driver_register(&nvmock_nfit_driver);
	if (rc)
		goto err_acpi;
	return 0;
err_acpi:
	nvmock_acpi_register(NULL);
err_class:
	class_unregister(&nvmock_nfit_dimm_class);
	return rc;
}
module_init(nvmock_nfit_init);

static void __exit nvmock_nfit_exit(void)
{
	platform_driver_unregister(&nvmock_nfit_driver);
	nvmock_acpi_register(NULL);
	class_unregister(&nvmock_nfit_dimm_class);
}
module_exit(nvmock_nfit_exit);

MODULE_DESCRIPTION("nvmock: emulated NVDIMM buses for the relinked ACPI NFIT driver");
MODULE_LICENSE("GPL");
