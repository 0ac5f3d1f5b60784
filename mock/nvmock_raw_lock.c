// SPDX-License-Identifier: GPL-2.0
/*
 * nvmock_raw_lock: raw spinlocks as functions in every configuration, for Rust
 * (src/glue/raw_lock.rs). The kernel's are inline without CONFIG_DEBUG_SPINLOCK, out of the
 * bindings' reach, and the kernel crate only wraps spinlock_t. The emulated PCI host bridge
 * needs raw ones: the PCI core calls its config accessors under pci_lock, a raw spinlock.
 */
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/spinlock.h>

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

MODULE_DESCRIPTION("nvmock: raw spinlocks as functions for Rust");
MODULE_LICENSE("GPL");
