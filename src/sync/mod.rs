//! The one import point for atomics, fences, the mutex, thread locals,
//! unique ids, spin hints and the futex.
//!
//! Under `cfg(loom)` every item here but `UniqueIds` is loom's model of
//! it, so the loom models in `loom-tests/` explore the real code paths;
//! otherwise it is `std`. No other module names `std::sync::atomic` or `loom` directly.

mod futex;

pub(crate) use futex::Futex;

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
