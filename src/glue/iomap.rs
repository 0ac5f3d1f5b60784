// SPDX-License-Identifier: GPL-2.0

//! An owner of fake physical memory: test buffers that the wrapped `ioremap()`,
//! `memremap()` and `request_mem_region()` of relinked modules reach through the C shim
//! (`mock/nvmock_iomap.c`), and PCI devices whose config accesses it answers.
//!
//! The lookup logic is the pure [`Registry`]; this file only holds it under a lock, owns the
//! buffers, and adapts it to the shim's `struct nvmock_iomap_ops`.

use crate::model::range::{Handle, Lookup, Phys, RangeError, Registry, Release, Removal};
use core::ffi::{c_int, c_void};
use kernel::ffi::c_char;
use kernel::{
    alloc::KVVec, bindings, error::to_result, new_mutex, prelude::*, sync::Mutex, types::Opaque,
};

/// What only the KUnit suites ask of an owner (`src/kunit/access/iomap.rs`): a child module,
/// so that it sees the owner's private state, built only into the modules with suites.
#[cfg(nvmock_kunit)]
#[path = "../kunit/access/iomap.rs"]
mod kunit_access;

/// Ranges one owner can hold.
pub(crate) const RANGES: usize = 64;

/// `NVMOCK_MISS`: "not mine, ask the next owner or the real kernel".
const NVMOCK_MISS: c_int = 1;
/// `PCIBIOS_DEVICE_NOT_FOUND`, what a config access to a removed device returns.
pub(crate) const PCIBIOS_DEVICE_NOT_FOUND: c_int = 0x86;

/// The C glue's structures, for the layout checks of the mirrors (here and in `nfit/`).
#[path = "c_types.rs"]
pub(crate) mod c_types;

/// Mirror of `struct nvmock_iomap_ops` in `mock/nvmock_iomap.h`; the shim checks `size`,
/// the build every field's offset and width (the `check_mirror!` below).
#[repr(C)]
struct Ops {
    size: u32,
    flags: u32,
    name: *const c_char,
    span: u64,
    ctx: *mut c_void,
    map: unsafe extern "C" fn(*mut c_void, u64, u64, *mut *mut c_void) -> c_int,
    unmap: unsafe extern "C" fn(*mut c_void, *const c_void) -> c_int,
    request: unsafe extern "C" fn(*mut c_void, u64, u64) -> c_int,
    release: unsafe extern "C" fn(*mut c_void, u64, u64) -> c_int,
    cfg_read: unsafe extern "C" fn(*mut c_void, *const c_void, c_int, c_int, *mut u32) -> c_int,
    cfg_write: unsafe extern "C" fn(*mut c_void, *const c_void, c_int, c_int, u32) -> c_int,
    base: u64,
    shim: *mut c_void,
}

c_types::check_mirror!(Ops => c_types::c::nvmock_iomap_ops {
    size, flags, name, span, ctx, map, unmap, request, release, cfg_read, cfg_write, base, shim,
});

extern "C" {
    fn nvmock_iomap_register(ops: *mut Ops) -> c_int;
    fn nvmock_iomap_unregister(ops: *mut Ops);
    fn nvmock_iomap_span(ops: *mut Ops) -> *mut bindings::resource;
    fn nvmock_devmem_map(ops: *const Ops, phys: u64, len: u64) -> *mut c_void;
    fn nvmock_devmem_unmap(ops: *const Ops, addr: *mut c_void);
    fn nvmock_devmem_range(start: *mut u64, size: *mut u64) -> bool;
}

/// `NVMOCK_SPAN_DEVMEM` (mock/nvmock_iomap.h): the span is carved from the devmem reservation.
const SPAN_DEVMEM: u32 = 1 << 0;
/// `NVMOCK_SPAN_UC`: the span's ranges are mapped uncached.
const SPAN_UC: u32 = 1 << 1;

/// How an owner's span of the devmem reservation (reserved guest RAM, which gets real
/// ZONE_DEVICE pages) is mapped: as the page map that will cover it maps it (x86's PAT
/// refuses two types for one range).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DevMemKind {
    /// Write-back: PMEM (fsdax), device-dax and generic page maps.
    #[cfg_attr(
        not(CONFIG_X86),
        allow(dead_code, reason = "only x86_64's suite (UML has no devmem)")
    )]
    WriteBack,
    /// Uncached: a PCI BAR the P2PDMA layer maps (`MEMORY_DEVICE_PCI_P2PDMA`).
    Uncached,
}

/// The devmem reservation the shim was loaded with (first address, length), if any.
pub(crate) fn devmem_range() -> Option<(Phys, u64)> {
    let (mut start, mut size) = (0, 0);
    // SAFETY: both out pointers are valid for writes.
    unsafe { nvmock_devmem_range(&mut start, &mut size) }.then_some((start, size))
}

/// A range's memory: a buffer of the owner's, or (devmem spans) the owner's mapping of
/// reserved RAM.
enum Buf {
    /// Held only to be freed with the range.
    Mem(#[allow(dead_code)] KVVec<u8>),
    Dev(DevMap),
}

/// The owner's mapping of `len` bytes of reserved RAM, unmapped when dropped.
///
/// # Invariants
///
/// `addr` was returned by `nvmock_devmem_map(ops, ..)`, and `ops` (the owner's, which only
/// drops its buffers while it lives) outlives this.
struct DevMap {
    ops: *const Ops,
    addr: *mut u8,
}

impl Drop for DevMap {
    fn drop(&mut self) {
        // SAFETY: mapped by `nvmock_devmem_map` for `ops` (type invariant), unmapped once.
        unsafe { nvmock_devmem_unmap(self.ops, self.addr.cast()) };
    }
}

// SAFETY: a kernel mapping may be dropped from any thread.
unsafe impl Send for DevMap {}

/// A range of test memory, as handed to the test that added it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Region {
    /// The range in the registry.
    pub(crate) handle: Handle,
    /// Its fake physical address.
    pub(crate) phys: Phys,
    /// Its length.
    pub(crate) len: usize,
    /// Kernel address of the buffer: valid while the range is registered or mapped.
    pub(crate) host: *mut u8,
}

/// What a PCI device key (a `struct pci_dev` address) is answered with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PciState {
    /// Surprise-removed: reads return all-ones and `PCIBIOS_DEVICE_NOT_FOUND`.
    Removed,
}

/// Failure injection: the `nth` map or region request that reaches the owner (a hit in
/// its registry) fails, as if `ioremap()`/`memremap()` found no space or the region were
/// taken.
#[derive(Clone, Copy, Default)]
struct Inject {
    /// Which hit fails, counting from 1; 0: none.
    nth: u32,
    /// Hits since injection was set.
    hits: u32,
}

impl Inject {
    /// Counts a hit; whether it must fail.
    fn hit(&mut self) -> bool {
        self.hits = self.hits.saturating_add(1);
        self.hits == self.nth
    }
}

struct State {
    reg: Registry<RANGES>,
    inject: Inject,
    /// Buffers, indexed like the registry's slots.
    bufs: KVec<Option<Buf>>,
    /// PCI devices this owner answers for.
    pci: KVec<(usize, PciState)>,
    /// Buffers freed since creation (for tests: deferred frees happen at the last unmap).
    #[cfg(nvmock_kunit)]
    freed: usize,
}

/// One owner, registered with the shim for its whole life.
///
/// # Invariants
///
/// `ops` is registered with the shim from the end of [`IoMock::new`] until `drop`, with
/// `ctx` pointing at this (pinned) owner. Buffers of ranges with users are never freed while
/// those users may reach them.
#[pin_data(PinnedDrop)]
pub(crate) struct IoMock {
    #[pin]
    state: Mutex<State>,
    #[pin]
    ops: Opaque<Ops>,
}

// SAFETY: `ops` is only written before registration; the state is behind a mutex.
unsafe impl Send for IoMock {}
// SAFETY: as above; the shim calls the ops concurrently, and they only take the mutex.
unsafe impl Sync for IoMock {}

fn errno(e: RangeError) -> c_int {
    let e = match e {
        RangeError::Gone | RangeError::Unbacked => ENXIO,
        RangeError::Full | RangeError::NoSpace => ENOSPC,
        RangeError::Overlap => EBUSY,
        _ => EINVAL,
    };
    e.to_errno()
}

impl IoMock {
    /// Creates an owner named `name` with a span of `span` bytes of fake physical space.
    pub(crate) fn new(name: &'static CStr, span: u64) -> Result<Pin<KBox<Self>>> {
        Self::with_flags(name, span, 0)
    }

    /// Creates an owner named `name` with a span of `span` bytes of the devmem reservation,
    /// mapped as `kind` says: its ranges are reserved RAM that `memremap_pages()` gives real
    /// ZONE_DEVICE pages. `ENODEV` (with a line in the log) without a reservation, `EBUSY`
    /// when it has no room.
    pub(crate) fn new_devmem(
        name: &'static CStr,
        span: u64,
        kind: DevMemKind,
    ) -> Result<Pin<KBox<Self>>> {
        let uc = match kind {
            DevMemKind::WriteBack => 0,
            DevMemKind::Uncached => SPAN_UC,
        };
        Self::with_flags(name, span, SPAN_DEVMEM | uc)
    }

    fn with_flags(name: &'static CStr, span: u64, flags: u32) -> Result<Pin<KBox<Self>>> {
        let mut bufs = KVec::with_capacity(RANGES, GFP_KERNEL)?;
        for _ in 0..RANGES {
            bufs.push(None, GFP_KERNEL)?;
        }
        let this = KBox::pin_init(
            try_pin_init!(IoMock {
                state <- new_mutex!(State {
                    reg: Registry::new(0, 0),
                    inject: Inject::default(),
                    bufs,
                    pci: KVec::new(),
                    #[cfg(nvmock_kunit)]
                    freed: 0,
                }),
                ops <- Opaque::ffi_init(move |p: *mut Ops| {
                    // SAFETY: `p` is valid for writes (pin-init of this field).
                    unsafe {
                        p.write(Ops {
                            size: core::mem::size_of::<Ops>() as u32,
                            flags,
                            name: name.as_char_ptr(),
                            span,
                            ctx: core::ptr::null_mut(),
                            map: map_cb,
                            unmap: unmap_cb,
                            request: request_cb,
                            release: release_cb,
                            cfg_read: cfg_read_cb,
                            cfg_write: cfg_write_cb,
                            base: 0,
                            shim: core::ptr::null_mut(),
                        })
                    };
                }),
            }),
            GFP_KERNEL,
        )?;
        let ops = this.ops.get();
        // SAFETY: `this` is pinned: `ctx` stays valid until `drop` unregisters. `ops` is
        // initialised and not yet shared with anyone.
        unsafe { (*ops).ctx = (&*this as *const Self).cast_mut().cast() };
        // SAFETY: `ops` is fully initialised and outlives the registration (see `drop`).
        to_result(unsafe { nvmock_iomap_register(ops) })?;
        // SAFETY: registration wrote `base`; nothing writes it again.
        let base = unsafe { (*ops).base };
        // INVARIANT: registered; lookups before this point found an empty registry.
        this.state.lock().reg = Registry::new(base, span);
        Ok(this)
    }

    /// The owner's span as a resource in iomem_resource, for a PCI host bridge's window. Valid
    /// while the owner lives.
    pub(crate) fn span_resource(&self) -> *mut bindings::resource {
        // SAFETY: registered (type invariant).
        unsafe { nvmock_iomap_span(self.ops.get()) }
    }

    /// The owner's span: first fake physical address and length.
    pub(crate) fn span(&self) -> (Phys, u64) {
        self.state.lock().reg.span()
    }

    /// Whether the span is carved from the devmem reservation.
    pub(crate) fn is_devmem(&self) -> bool {
        // SAFETY: `flags` is only written before registration.
        unsafe { (*self.ops.get()).flags & SPAN_DEVMEM != 0 }
    }

    /// Maps `len` bytes of reserved RAM at `phys` for a range of a devmem span, filled with
    /// `fill` (left as they are with `None`).
    fn devmem_buf(&self, phys: Phys, len: usize, fill: Option<u8>) -> Result<Buf> {
        let ops = self.ops.get().cast_const();
        // SAFETY: registered (type invariant); the shim checks the range against the span.
        let addr = unsafe { nvmock_devmem_map(ops, phys, len as u64) }.cast::<u8>();
        if addr.is_null() {
            return Err(ENOMEM);
        }
        if let Some(fill) = fill {
            // SAFETY: `addr` maps `len` bytes of RAM nothing else uses (the span is ours).
            unsafe { core::ptr::write_bytes(addr, fill, len) };
        }
        // INVARIANT: just mapped for `ops`.
        Ok(Buf::Dev(DevMap { ops, addr }))
    }

    fn place(&self, phys: Option<Phys>, len: usize, fill: u8) -> Result<Region> {
        if self.is_devmem() {
            return self.place_devmem(phys, len, Some(fill));
        }
        let mut buf = KVVec::from_elem(fill, len, GFP_KERNEL)?;
        let host = buf.as_mut_ptr();
        let mut st = self.state.lock();
        let res = match phys {
            Some(p) => st.reg.insert(p, len as u64, host as usize).map(|h| (h, p)),
            None => st
                .reg
                .alloc(len as u64, kernel::page::PAGE_SIZE as u64, host as usize),
        };
        let (handle, phys) = res.map_err(|e| Error::from_errno(errno(e)))?;
        st.bufs[handle.index()] = Some(Buf::Mem(buf));
        Ok(Region {
            handle,
            phys,
            len,
            host,
        })
    }

    /// [`IoMock::place`] in a devmem span: the address is chosen first (2 MiB aligned, the
    /// granularity of `memremap_pages()`), then the reserved RAM there is mapped and
    /// registered.
    fn place_devmem(&self, phys: Option<Phys>, len: usize, fill: Option<u8>) -> Result<Region> {
        const ALIGN: u64 = 2 << 20;
        let mut st = self.state.lock();
        // A trial registration checks the range or finds a hole (host address 0: no buffer
        // is there) before the memory is touched; the lock is held until the real one, so
        // nothing sees it.
        let trial = match phys {
            Some(p) => st.reg.insert(p, len as u64, 0).map(|h| (h, p)),
            None => st.reg.alloc(len as u64, ALIGN, 0),
        };
        let (h, phys) = trial.map_err(|e| Error::from_errno(errno(e)))?;
        st.reg.remove(h).map_err(|e| Error::from_errno(errno(e)))?;
        let buf = self.devmem_buf(phys, len, fill)?;
        let Buf::Dev(ref d) = buf else {
            return Err(EINVAL);
        };
        let host = d.addr;
        let handle = st
            .reg
            .insert(phys, len as u64, host as usize)
            .map_err(|e| Error::from_errno(errno(e)))?;
        st.bufs[handle.index()] = Some(buf);
        Ok(Region {
            handle,
            phys,
            len,
            host,
        })
    }

    /// Adds `len` bytes of test memory filled with `fill`, wherever the span has room.
    pub(crate) fn add(&self, len: usize, fill: u8) -> Result<Region> {
        self.place(None, len, fill)
    }

    /// Adds `len` bytes of a devmem span wherever it has room, as the reserved RAM holds them:
    /// persistent memory, which keeps its contents from one owner of the span to the next
    /// (zeroes after boot). `EINVAL` for an owner of the fake window, whose buffers are its
    /// own allocations.
    pub(crate) fn add_persistent(&self, len: usize) -> Result<Region> {
        if !self.is_devmem() {
            return Err(EINVAL);
        }
        self.place_devmem(None, len, None)
    }

    /// Adds `len` bytes of test memory at fake physical address `phys`.
    pub(crate) fn add_at(&self, phys: Phys, len: usize, fill: u8) -> Result<Region> {
        self.place(Some(phys), len, fill)
    }

    /// Removes a range. Its buffer is freed now, or at its last unmap or release.
    pub(crate) fn remove(&self, r: &Region) -> Result<Removal> {
        let mut st = self.state.lock();
        let removal = st
            .reg
            .remove(r.handle)
            .map_err(|e| Error::from_errno(errno(e)))?;
        if removal == Removal::Freed {
            st.bufs[r.handle.index()] = None;
            #[cfg(nvmock_kunit)]
            {
                st.freed += 1;
            }
        }
        Ok(removal)
    }

    /// Surprise-removes the PCI device whose `struct pci_dev` is at `dev`: its config reads
    /// return all-ones from now on.
    pub(crate) fn pci_remove(&self, dev: *const c_void) -> Result {
        self.state
            .lock()
            .pci
            .push((dev as usize, PciState::Removed), GFP_KERNEL)?;
        Ok(())
    }

    fn pci_state(&self, dev: *const c_void) -> Option<PciState> {
        let st = self.state.lock();
        st.pci
            .iter()
            .find(|(d, _)| *d == dev as usize)
            .map(|(_, s)| *s)
    }

    fn on_release(st: &mut State, rel: Release) -> c_int {
        match rel {
            Release::Miss => NVMOCK_MISS,
            Release::Dropped(_) => 0,
            Release::Freed(h) => {
                st.bufs[h.index()] = None;
                #[cfg(nvmock_kunit)]
                {
                    st.freed += 1;
                }
                0
            }
            Release::NotHeld => ENOENT.to_errno(),
        }
    }
}

#[pinned_drop]
impl PinnedDrop for IoMock {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `shim` is only written by the shim's registration.
        if unsafe { (*self.ops.get()).shim }.is_null() {
            // Registration failed (`new` returns the error): nothing to undo.
            return;
        }
        // SAFETY: registered in `new` (type invariant); `unregister` waits for every callback
        // to return, after which the shim no longer uses `ops` or `self`.
        unsafe { nvmock_iomap_unregister(self.ops.get()) };
        let mut st = self.state.lock();
        let mut leaked = 0;
        for i in 0..RANGES {
            if st.reg.slot_users(i) != 0 {
                // A driver still maps or holds this memory: freeing it would hand the driver
                // freed memory. Leak it, loudly.
                if let Some(buf) = st.bufs[i].take() {
                    core::mem::forget(buf);
                    leaked += 1;
                }
            }
        }
        if leaked != 0 {
            pr_err!(
                "owner dropped while {} ranges were still in use: leaking them\n",
                leaked
            );
        }
    }
}

/// # Safety
///
/// `ctx` must be the `ctx` of a registered [`IoMock`]'s ops.
unsafe fn owner<'a>(ctx: *mut c_void) -> &'a IoMock {
    // SAFETY: the shim only calls ops of registered owners, which stay alive until
    // unregistration returns (type invariant of `IoMock`).
    unsafe { &*ctx.cast::<IoMock>() }
}

unsafe extern "C" fn map_cb(
    ctx: *mut c_void,
    phys: u64,
    len: u64,
    host: *mut *mut c_void,
) -> c_int {
    // SAFETY: called by the shim with our `ctx`.
    let this = unsafe { owner(ctx) };
    let mut st = this.state.lock();
    match st.reg.map(phys, len) {
        Lookup::Miss => NVMOCK_MISS,
        Lookup::Hit { host: h, .. } if st.inject.hit() => {
            // Undo the mapping the registry just counted; the range is not being removed,
            // so nothing is freed.
            let _ = st.reg.unmap(h);
            ENOMEM.to_errno()
        }
        Lookup::Hit { host: h, .. } => {
            // SAFETY: the shim passes a valid out pointer.
            unsafe { *host = h as *mut c_void };
            0
        }
        Lookup::Refused(e) => errno(e),
    }
}

unsafe extern "C" fn unmap_cb(ctx: *mut c_void, host: *const c_void) -> c_int {
    // SAFETY: called by the shim with our `ctx`.
    let this = unsafe { owner(ctx) };
    let mut st = this.state.lock();
    let rel = st.reg.unmap(host as usize);
    IoMock::on_release(&mut st, rel)
}

unsafe extern "C" fn request_cb(ctx: *mut c_void, start: u64, n: u64) -> c_int {
    // SAFETY: called by the shim with our `ctx`.
    let this = unsafe { owner(ctx) };
    let mut st = this.state.lock();
    match st.reg.request(start, n) {
        Lookup::Miss => NVMOCK_MISS,
        Lookup::Hit { .. } if st.inject.hit() => {
            // Undo the request the registry just counted (nothing is freed: see map_cb).
            let _ = st.reg.release(start);
            EBUSY.to_errno()
        }
        Lookup::Hit { .. } => 0,
        Lookup::Refused(e) => errno(e),
    }
}

unsafe extern "C" fn release_cb(ctx: *mut c_void, start: u64, _n: u64) -> c_int {
    // SAFETY: called by the shim with our `ctx`.
    let this = unsafe { owner(ctx) };
    let mut st = this.state.lock();
    let rel = st.reg.release(start);
    IoMock::on_release(&mut st, rel)
}

unsafe extern "C" fn cfg_read_cb(
    ctx: *mut c_void,
    dev: *const c_void,
    _where: c_int,
    _size: c_int,
    val: *mut u32,
) -> c_int {
    // SAFETY: called by the shim with our `ctx`.
    let this = unsafe { owner(ctx) };
    match this.pci_state(dev) {
        None => NVMOCK_MISS,
        Some(PciState::Removed) => {
            // SAFETY: the shim passes a valid out pointer.
            unsafe { *val = u32::MAX };
            PCIBIOS_DEVICE_NOT_FOUND
        }
    }
}

unsafe extern "C" fn cfg_write_cb(
    ctx: *mut c_void,
    dev: *const c_void,
    _where: c_int,
    _size: c_int,
    _val: u32,
) -> c_int {
    // SAFETY: called by the shim with our `ctx`.
    let this = unsafe { owner(ctx) };
    match this.pci_state(dev) {
        None => NVMOCK_MISS,
        Some(PciState::Removed) => PCIBIOS_DEVICE_NOT_FOUND,
    }
}
