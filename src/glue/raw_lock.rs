// SPDX-License-Identifier: GPL-2.0

//! A raw spinlock with interrupts disabled while held.
//!
//! The PCI core calls a host bridge's `pci_ops` under `pci_lock`, a raw spinlock, with
//! interrupts off. A `spinlock_t` taken inside it is a sleeping lock on PREEMPT_RT, and
//! lockdep (PROVE_RAW_LOCK_NESTING) reports the nesting; the kernel crate only wraps
//! `spinlock_t`, so the emulated configuration spaces use this.

use core::cell::UnsafeCell;
use core::marker::PhantomPinned;
use core::ops::{Deref, DerefMut};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::LockClassKey;
use kernel::types::{NotThreadSafe, Opaque};

// mock/nvmock_raw_lock.c (module nvmock_raw_lock): raw spinlocks as functions in every
// configuration (without CONFIG_DEBUG_SPINLOCK the kernel's are inline, out of the bindings'
// reach).
extern "C" {
    fn nvmock_raw_spin_lock_init(
        lock: *mut bindings::raw_spinlock_t,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    );
    fn nvmock_raw_spin_lock_irqsave(lock: *mut bindings::raw_spinlock_t) -> kernel::ffi::c_ulong;
    fn nvmock_raw_spin_unlock_irqrestore(
        lock: *mut bindings::raw_spinlock_t,
        flags: kernel::ffi::c_ulong,
    );
}

/// `T` protected by a `raw_spinlock_t`.
///
/// # Invariants
///
/// `lock` is initialised, and `data` is only accessed through a [`RawGuard`], which exists
/// only while `lock` is held.
#[pin_data]
pub(crate) struct RawSpinLock<T> {
    #[pin]
    lock: Opaque<bindings::raw_spinlock_t>,
    data: UnsafeCell<T>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: the lock hands out `&mut T` to one holder at a time, so `T: Send` suffices for both.
unsafe impl<T: Send> Send for RawSpinLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for RawSpinLock<T> {}

impl<T> RawSpinLock<T> {
    /// An initialiser of a lock named `name` holding `data`, in lock class `key`.
    pub(crate) fn new(
        data: T,
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            lock <- Opaque::ffi_init(move |p: *mut bindings::raw_spinlock_t| {
                // SAFETY: `p` is valid for writes (pin-init of this field); `name` and `key`
                // are static.
                unsafe {
                    nvmock_raw_spin_lock_init(p, name.as_char_ptr(), key.as_ptr())
                }
            }),
            data: UnsafeCell::new(data),
            _pin: PhantomPinned,
        })
    }

    /// Takes the lock with interrupts disabled.
    pub(crate) fn lock(&self) -> RawGuard<'_, T> {
        // SAFETY: `lock` is initialised (type invariant).
        let flags = unsafe { nvmock_raw_spin_lock_irqsave(self.lock.get()) };
        // INVARIANT: the lock is held until the guard drops.
        RawGuard {
            lock: self,
            flags,
            _not_send: NotThreadSafe,
        }
    }
}

/// Access to the data of a held [`RawSpinLock`]; releases it when dropped.
///
/// The guard is not [`Send`]: the lock was taken with interrupts disabled on this CPU, and
/// must be released, and the saved interrupt state restored, by the same task on the same
/// CPU. Moving a guard to another thread does not compile:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// fn give_away(lock: &RawSpinLock<u32>) {
///     send(lock.lock()); // error: `*mut ()` cannot be sent between threads safely
/// }
/// ```
pub(crate) struct RawGuard<'a, T> {
    lock: &'a RawSpinLock<T>,
    flags: kernel::ffi::c_ulong,
    /// Makes the guard `!Send` (see above).
    _not_send: NotThreadSafe,
}

// SAFETY: a shared guard only hands out `&T`, as a shared `&T` would: `T: Sync` suffices.
unsafe impl<T: Sync> Sync for RawGuard<'_, T> {}

impl<T> Deref for RawGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the lock is held (type invariant of `RawSpinLock`).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for RawGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the lock is held, and this guard is its only holder.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for RawGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: taken in `lock` with these flags, on this CPU (interrupts are off, so the
        // task cannot have migrated).
        unsafe { nvmock_raw_spin_unlock_irqrestore(self.lock.lock.get(), self.flags) };
    }
}
