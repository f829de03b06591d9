//! The one import point for atomics, fences, spin hints and the futex.
//!
//! Under `cfg(loom)` every item here is loom's model of it, so the loom
//! models in `loom-tests/` explore the real code paths; otherwise it is
//! `std`. No other module names `std::sync::atomic` or `loom` directly.

mod futex;

pub(crate) use futex::Futex;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

/// How many times a resolver re-reads an open word before it sleeps.
///
/// Completions usually land within a few hundred nanoseconds of each other;
/// spinning briefly saves the syscall pair. Under loom a spin is only extra
/// state to explore, so it is off.
pub(crate) const SPIN_LIMIT: u32 = if cfg!(loom) { 0 } else { 64 };

/// A processor hint inside a spin loop (a yield point under loom).
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}
