//! The one import point for atomics, fences, the mutex, thread locals,
//! unique ids, spin hints, the futex, cells and wakers.
//!
//! Under `cfg(loom)` every item here but `UniqueIds` is loom's model of
//! it, so the loom models in `loom-tests/` explore the real code paths;
//! otherwise it is `std`. No other module names `std::sync::atomic` or `loom` directly.

mod futex;

pub(crate) use futex::Futex;

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread_local;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread_local;

/// `std`'s `UnsafeCell` with loom's closure API, so that the loom build
/// checks every access for data races.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a shared pointer to the value.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a unique pointer to the value.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// The waker of one waiting future: registering replaces the waker
/// before, and a wake reaches the waker registered last. The
/// `atomic-waker` crate on std, loom's model of the same protocol under
/// loom.
#[derive(Debug, Default)]
pub(crate) struct WakerSlot {
    #[cfg(not(loom))]
    waker: atomic_waker::AtomicWaker,
    #[cfg(loom)]
    waker: loom::future::AtomicWaker,
}

impl WakerSlot {
    pub(crate) fn new() -> Self {
        WakerSlot::default()
    }

    /// Makes `waker` the one to wake.
    pub(crate) fn register(&self, waker: &std::task::Waker) {
        #[cfg(not(loom))]
        self.waker.register(waker);
        #[cfg(loom)]
        self.waker.register_by_ref(waker);
    }

    /// Wakes the registered waker, if any.
    pub(crate) fn wake(&self) {
        self.waker.wake();
    }

    /// Drops the registered waker, if any, unwoken (it may keep a task's
    /// memory alive).
    pub(crate) fn forget(&self) {
        #[cfg(not(loom))]
        drop(self.waker.take());
        #[cfg(loom)]
        drop(self.waker.take_waker());
    }
}

/// Hands out process-wide unique ids, starting at 1. A plain `std` atomic
/// even under loom: ids are only compared for equality, so no interleaving
/// of their allocation matters and loom need not explore it.
pub(crate) struct UniqueIds(std::sync::atomic::AtomicU64);

impl UniqueIds {
    pub(crate) const fn new() -> Self {
        UniqueIds(std::sync::atomic::AtomicU64::new(1))
    }

    /// A new id, never 0 and never handed out before (a `u64` does not
    /// wrap in practice).
    pub(crate) fn next(&self) -> u64 {
        // Relaxed: uniqueness needs only the RMW, not any ordering.
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

/// Re-checks `done` a few times with a spin hint between, before a caller
/// commits to sleeping. Returns whether `done` became true.
///
/// Completions usually land within a few hundred nanoseconds of each other;
/// spinning briefly saves the syscall pair. Under loom a spin is only extra
/// state to explore, so `done` is checked once.
#[inline]
pub(crate) fn spin_until(mut done: impl FnMut() -> bool) -> bool {
    #[cfg(not(loom))]
    for _ in 0..64 {
        if done() {
            return true;
        }
        std::hint::spin_loop();
    }
    done()
}
