//! The one import point for atomics, fences, thread locals, spin hints
//! and the futex.
//!
//! Under `cfg(loom)` every item here is loom's model of it, so the loom
//! models in `loom-tests/` explore the real code paths; otherwise it is
//! `std`. No other module names `std::sync::atomic` or `loom` directly.

mod futex;

pub(crate) use futex::Futex;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};
#[cfg(loom)]
pub(crate) use loom::thread_local;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::thread_local;

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
