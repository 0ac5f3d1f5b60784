// SPDX-License-Identifier: GPL-2.0
/*
 * nvmock_msi: the MSI controller of an nvmock virtual PCI host bridge.
 *
 * Each bridge (src/glue/nvme/pci_host.rs) gets an MSI parent irq domain of its own, set as
 * the bridge device's MSI domain before its root bus is scanned, so the PCI core gives the
 * bridge's functions per-device PCI/MSI-X domains below it and pci_alloc_irq_vectors()
 * with PCI_IRQ_MSIX succeeds. The PCI core then programs each MSI-X table entry with the
 * message this domain composes: the bridge's doorbell address and, as data, the domain's
 * hardware interrupt number.
 *
 * There is no interrupt controller behind it: the emulated function "writes" a message by
 * calling nvmock_msi_send() with the address and data from its table entry, and a message
 * to the doorbell raises the Linux interrupt of that hardware number. Any other address, or
 * data naming no allocated vector, is a stray write and is refused, as a root complex
 * would drop it. The doorbells are fake physical addresses nothing real uses (one 4 KiB
 * page per bridge from NVMOCK_MSI_DOORBELL_BASE); the message is never a memory access.
 *
 * Written against the MSI parent domain interface (kernel/irq/msi.c,
 * msi_create_parent_irq_domain()); it needs neither IRQ_MSI_LIB nor an arch MSI domain, so
 * it builds on every arch with PCI_MSI.
 */
#include <linux/bitmap.h>
#include <linux/idr.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/module.h>
#include <linux/msi.h>
#include <linux/pci.h>
#include <linux/slab.h>

/* Vectors per bridge: enough for the largest MSI-X table nvmock's functions offer. */
#define NVMOCK_MSI_VECTORS 256
/* First doorbell: above any RAM or MMIO of UML or the x86_64 test guests. */
#define NVMOCK_MSI_DOORBELL_BASE 0x7e0000000000ULL

struct nvmock_msi {
	struct fwnode_handle *fwnode;
	struct irq_domain *domain;
	u64 doorbell;
	int id;
	/* Protects @used. */
	struct mutex lock;
	DECLARE_BITMAP(used, NVMOCK_MSI_VECTORS);
};

static DEFINE_IDA(nvmock_msi_ida);

static void nvmock_msi_compose(struct irq_data *d, struct msi_msg *msg)
{
	struct nvmock_msi *m = irq_data_get_irq_chip_data(d);

	msg->address_lo = lower_32_bits(m->doorbell);
	msg->address_hi = upper_32_bits(m->doorbell);
	msg->data = d->hwirq;
}

/*
 * The bottom chip only composes messages: masking is the PCI/MSI-X device domain's, through
 * the function's table, and nothing needs acknowledging.
 */
static struct irq_chip nvmock_msi_chip = {
	.name = "nvmock-MSI",
	.irq_compose_msi_msg = nvmock_msi_compose,
};

static int nvmock_msi_alloc(struct irq_domain *domain, unsigned int virq,
			    unsigned int nr_irqs, void *arg)
{
	struct nvmock_msi *m = domain->host_data;
	unsigned int i, hw;

	mutex_lock(&m->lock);
	for (i = 0; i < nr_irqs; i++) {
		hw = find_first_zero_bit(m->used, NVMOCK_MSI_VECTORS);
		if (hw >= NVMOCK_MSI_VECTORS)
			break;
		__set_bit(hw, m->used);
		irq_domain_set_info(domain, virq + i, hw, &nvmock_msi_chip, m,
				    handle_simple_irq, NULL, NULL);
	}
	if (i < nr_irqs) {
		/* Out of vectors: undo this call's allocations. */
		while (i--) {
			struct irq_data *d = irq_domain_get_irq_data(domain, virq + i);

			__clear_bit(d->hwirq, m->used);
			irq_domain_reset_irq_data(d);
		}
		mutex_unlock(&m->lock);
		return -ENOSPC;
	}
	mutex_unlock(&m->lock);
	return 0;
}

static void nvmock_msi_free(struct irq_domain *domain, unsigned int virq,
			    unsigned int nr_irqs)
{
	struct nvmock_msi *m = domain->host_data;
	unsigned int i;

	for (i = 0; i < nr_irqs; i++) {
		struct irq_data *d = irq_domain_get_irq_data(domain, virq + i);

		if (!d)
			continue;
		mutex_lock(&m->lock);
		__clear_bit(d->hwirq, m->used);
		mutex_unlock(&m->lock);
		irq_domain_reset_irq_data(d);
	}
}

static const struct irq_domain_ops nvmock_msi_domain_ops = {
	.alloc = nvmock_msi_alloc,
	.free = nvmock_msi_free,
};

/*
 * Only PCI/MSI-X device domains directly below this domain: the functions offer no MSI
 * capability. Affinity is not a thing here (a software message reaches whichever CPU the
 * poller runs on), hence MSI_FLAG_NO_AFFINITY.
 */
#define NVMOCK_MSI_REQUIRED (MSI_FLAG_USE_DEF_DOM_OPS | MSI_FLAG_USE_DEF_CHIP_OPS | \
			     MSI_FLAG_NO_AFFINITY)
#define NVMOCK_MSI_SUPPORTED (MSI_GENERIC_FLAGS_MASK | MSI_FLAG_PCI_MSIX | \
			      MSI_FLAG_PCI_MSIX_ALLOC_DYN)

static bool nvmock_msi_init_dev_msi_info(struct device *dev, struct irq_domain *domain,
					 struct irq_domain *real_parent,
					 struct msi_domain_info *info)
{
	const struct msi_parent_ops *pops = real_parent->msi_parent_ops;

	if (domain != real_parent || info->bus_token != DOMAIN_BUS_PCI_DEVICE_MSIX ||
	    !info->chip->irq_write_msi_msg)
		return false;
	info->flags &= pops->supported_flags;
	info->flags |= pops->required_flags;
	return true;
}

static const struct msi_parent_ops nvmock_msi_parent_ops = {
	.required_flags = NVMOCK_MSI_REQUIRED,
	.supported_flags = NVMOCK_MSI_SUPPORTED,
	.bus_select_token = DOMAIN_BUS_NEXUS,
	.prefix = "nvmock-",
	.init_dev_msi_info = nvmock_msi_init_dev_msi_info,
};

/**
 * nvmock_msi_create - an MSI controller for one virtual host bridge
 *
 * Returns the controller or an ERR_PTR(). Give it to the bridge with nvmock_msi_attach();
 * destroy it with nvmock_msi_destroy() once the bridge's functions are gone (their device
 * domains are children of this one).
 */
struct nvmock_msi *nvmock_msi_create(void)
{
	struct irq_domain_info info = {
		.ops = &nvmock_msi_domain_ops,
		.size = NVMOCK_MSI_VECTORS,
	};
	struct nvmock_msi *m;
	int rc;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return ERR_PTR(-ENOMEM);
	mutex_init(&m->lock);
	rc = ida_alloc_max(&nvmock_msi_ida, 0xffff, GFP_KERNEL);
	if (rc < 0)
		goto free;
	m->id = rc;
	m->doorbell = NVMOCK_MSI_DOORBELL_BASE + ((u64)m->id << PAGE_SHIFT);
	m->fwnode = irq_domain_alloc_named_id_fwnode("nvmock-msi", m->id);
	if (!m->fwnode) {
		rc = -ENOMEM;
		goto id;
	}
	info.fwnode = m->fwnode;
	info.host_data = m;
	m->domain = msi_create_parent_irq_domain(&info, &nvmock_msi_parent_ops);
	if (!m->domain) {
		rc = -ENOMEM;
		goto fwnode;
	}
	return m;

fwnode:
	irq_domain_free_fwnode(m->fwnode);
id:
	ida_free(&nvmock_msi_ida, m->id);
free:
	kfree(m);
	return ERR_PTR(rc);
}
EXPORT_SYMBOL_GPL(nvmock_msi_create);

/**
 * nvmock_msi_attach - makes @m the MSI controller of @bridge
 * @m: the controller
 * @bridge: a bridge allocated and not yet registered (before pci_scan_root_bus_bridge()):
 *          the PCI core hands its root bus, and the functions on it, @m's domain
 */
void nvmock_msi_attach(struct nvmock_msi *m, struct pci_host_bridge *bridge)
{
	dev_set_msi_domain(&bridge->dev, m->domain);
}
EXPORT_SYMBOL_GPL(nvmock_msi_attach);

/**
 * nvmock_msi_destroy - removes an MSI controller made by nvmock_msi_create()
 * @m: the controller; no function behind it may have MSI-X vectors any more, and no caller
 *     of nvmock_msi_send() may be running (with vectors left, it is leaked and says so)
 */
void nvmock_msi_destroy(struct nvmock_msi *m)
{
	if (!bitmap_empty(m->used, NVMOCK_MSI_VECTORS)) {
		/* A caller's bug: keep the domain (leaked) rather than free it under its users. */
		pr_err("nvmock_msi %d: not destroyed: vectors still allocated\n", m->id);
		return;
	}
	irq_domain_remove(m->domain);
	irq_domain_free_fwnode(m->fwnode);
	ida_free(&nvmock_msi_ida, m->id);
	kfree(m);
}
EXPORT_SYMBOL_GPL(nvmock_msi_destroy);

/**
 * nvmock_msi_doorbell - the address of @m's messages
 * @m: the controller
 */
u64 nvmock_msi_doorbell(const struct nvmock_msi *m)
{
	return m->doorbell;
}
EXPORT_SYMBOL_GPL(nvmock_msi_doorbell);

/**
 * nvmock_msi_send - a function behind @m writes an MSI message
 * @m: the controller
 * @address: the message address from the function's table entry
 * @data: the message data from the entry
 *
 * Runs the handlers of the interrupt the message names, with interrupts disabled, as the
 * arrival of a real message would. Callable from any context.
 *
 * Returns 0 when delivered, -EFAULT for an address other than @m's doorbell, -ENOENT for
 * data naming no allocated vector (both stray writes, dropped).
 */
int nvmock_msi_send(struct nvmock_msi *m, u64 address, u32 data)
{
	if (address != m->doorbell)
		return -EFAULT;
	if (data >= NVMOCK_MSI_VECTORS || !test_bit(data, m->used))
		return -ENOENT;
	return generic_handle_domain_irq_safe(m->domain, data) ? -ENOENT : 0;
}
EXPORT_SYMBOL_GPL(nvmock_msi_send);

MODULE_DESCRIPTION("nvmock: MSI controller of the virtual PCI host bridges");
MODULE_LICENSE("GPL");
