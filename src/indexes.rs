//! [`Indexes`]: which slot indexes `register` hands out, without a counter
//! that every registering thread writes.
//!
//! A counter bumped by every `register` is one cache line that every
//! registering core writes in turn; measured on two cores, registering
//! through it was slower than registering on one. So each thread *claims*
//! a block of indexes at a time and hands them out from a thread-local
//! reservation, touching shared state once per block.
//!
//! # States of an index
//!
//! ```text
//!   free ──(claim: CAS on `claimed`)──▶ reserved ──(register: publish)──▶ registered
//! ```
//!
//! * `0..claimed` are claimed, each by exactly one thread: a claim is a CAS
//!   of `claimed` from `c` to `c + n`, so claimed ranges never overlap. The
//!   claimer grows both tables' segments over the range *before* the CAS:
//!   a claimed index always has its slots, and a claim that fails (out of
//!   room or memory) leaves `claimed` as it was.
//! * A claimed index sits in its claimer's reservation (thread-local: no
//!   other thread reads or writes it) until that thread's `register`
//!   publishes its slot (`target`'s generation word). Only then is it
//!   registered; every lookup rejects an unpublished index (`UnknownRef`)
//!   and every iteration skips it.
//! * A reservation can be abandoned with indexes left: when its thread
//!   exits, or when the thread registers in more than [`CACHED_TABLES`]
//!   tables in turn and evicts it. Those indexes stay unpublished holes
//!   for good: indexes of refs registered by different threads are not
//!   dense, and a hole costs its slots' bytes.
//!
//! # Block size
//!
//! A claim takes [`BLOCK`] indexes while at least [`BLOCK_THRESHOLD`]
//! remain below `max_refs`, and one index after that. So a table whose
//! `max_refs` is small hands out exactly `max_refs` refs, densely, and a
//! large one strands at most `BLOCK - 1` indexes per abandoned reservation.
//! Blocks start at multiples of `BLOCK` (single claims only ever follow
//! blocks), which on `std` keeps each block inside one segment and its
//! slots on cache lines that only its thread writes (segment bases aside).
//!
//! # Counting
//!
//! [`Indexes::registered`] sums per-stripe counters that `register` bumps
//! after publishing; each thread uses the stripe it was given on first
//! use, so threads rarely share a stripe's line. The sum is exact once the
//! registering calls have returned (and happened-before the read).
//!
//! Orderings: `claimed` and the stripes are `Relaxed`. A claim's CAS only
//! has to hand each index out once, which any RMW guarantees; the slots of
//! a claimed range are published to other threads by the Release store of
//! each slot's generation word (and the segments by their own AcqRel CAS),
//! never through `claimed`. The stripes are statistics that order nothing.

use std::cell::Cell;
use std::ops::Range;

use crate::sync::{thread_local, AtomicU32, AtomicUsize, Ordering};

/// Indexes per claim. Under loom two, so that a model crosses a block
/// boundary with three refs.
pub(crate) const BLOCK: u32 = if cfg!(loom) { 2 } else { 64 };

/// Claims take a whole block only while at least this many indexes remain.
const BLOCK_THRESHOLD: u32 = if cfg!(loom) { 2 * BLOCK } else { 64 * BLOCK };

/// Tables per thread whose reservations the thread keeps at once.
pub(crate) const CACHED_TABLES: usize = 4;

/// Counter stripes per table, each on its own cache line. Under loom one:
/// threads get stripes from a process-wide counter, which differs from one
/// execution to the next, and loom must be able to replay every execution.
const STRIPES: usize = if cfg!(loom) { 1 } else { 8 };

/// Which indexes of one table are claimed, and how many are registered.
pub(crate) struct Indexes {
    /// Identifies the table in the threads' reservations; never reused.
    table: u64,
    /// `0..claimed` have been claimed (module docs).
    claimed: AtomicU32,
    max: u32,
    registered: [Stripe; STRIPES],
}

/// One counter on a cache line of its own (two lines: adjacent-line
/// prefetchers pair them).
#[repr(align(128))]
#[derive(Default)]
struct Stripe(AtomicUsize);

/// A thread's unused indexes `next..end` of the table `table`.
#[derive(Clone, Copy)]
struct Reservation {
    table: u64,
    next: u32,
    end: u32,
}

/// One thread's reservations, and its counter stripe.
struct ThreadState {
    reservations: [Cell<Reservation>; CACHED_TABLES],
    /// The reservation to evict next (round robin).
    victim: Cell<usize>,
    stripe: usize,
}

thread_local! {
    static THREAD: ThreadState = ThreadState::new();
}

/// Hand out table ids and thread stripes. These are plain `std` atomics
/// even under loom: only uniqueness matters (and a spread of stripes,
/// which loom does not see: `STRIPES`), so loom need not explore them.
static NEXT_TABLE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
static NEXT_THREAD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl ThreadState {
    #[cfg_attr(
        loom,
        allow(clippy::modulo_one, reason = "one stripe under loom (see `STRIPES`)")
    )]
    fn new() -> Self {
        const NONE: Reservation = Reservation {
            table: 0, // no table has id 0
            next: 0,
            end: 0,
        };
        ThreadState {
            reservations: [const { Cell::new(NONE) }; CACHED_TABLES],
            victim: Cell::new(0),
            stripe: NEXT_THREAD.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % STRIPES,
        }
    }
}

impl Indexes {
    /// Nothing claimed yet; at most `max` indexes will be.
    pub(crate) fn new(max: u32) -> Self {
        Indexes {
            table: NEXT_TABLE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            claimed: AtomicU32::new(0),
            max,
            registered: std::array::from_fn(|_| Stripe::default()),
        }
    }

    /// The most indexes this table hands out.
    pub(crate) fn max(&self) -> u32 {
        self.max
    }

    /// Indexes claimed so far: every registered index is below this.
    pub(crate) fn claimed(&self) -> u32 {
        // Relaxed: a bound for iteration, which checks each slot itself.
        self.claimed.load(Ordering::Relaxed)
    }

    /// Takes an index for `register`: the next one this thread reserved,
    /// or the first of a new claim. `grow` must make the slots of a range
    /// exist (it runs before the claim, see the module docs). `None` if
    /// `max` indexes are claimed or `grow` failed; nothing changes then.
    #[inline]
    pub(crate) fn take(&self, grow: impl FnMut(Range<u32>) -> bool) -> Option<u32> {
        // `try_with` fails only while the thread's locals are being torn
        // down (a `register` from another thread-local's destructor): claim
        // a single index then, and keep no reservation.
        match THREAD.try_with(|thread| self.take_reserved(thread)) {
            Ok(Some(index)) => Some(index),
            Ok(None) => self.claim_into_reservation(grow),
            Err(_) => self.claim(grow, 1).map(|range| range.start),
        }
    }

    /// The next index of this thread's reservation for this table.
    #[inline]
    fn take_reserved(&self, thread: &ThreadState) -> Option<u32> {
        let cell = thread
            .reservations
            .iter()
            .find(|cell| cell.get().table == self.table)?;
        let reservation = cell.get();
        if reservation.next == reservation.end {
            return None;
        }
        cell.set(Reservation {
            next: reservation.next + 1,
            ..reservation
        });
        Some(reservation.next)
    }

    #[cold]
    fn claim_into_reservation(&self, grow: impl FnMut(Range<u32>) -> bool) -> Option<u32> {
        let range = self.claim(grow, BLOCK)?;
        // `claim` ran no code that touches thread locals, and the first
        // `try_with` succeeded, so this one does too.
        let _ = THREAD.try_with(|thread| {
            let cell = match thread
                .reservations
                .iter()
                .find(|cell| cell.get().table == self.table)
            {
                Some(cell) => cell,
                None => {
                    let victim = thread.victim.get();
                    thread.victim.set((victim + 1) % CACHED_TABLES);
                    &thread.reservations[victim]
                }
            };
            cell.set(Reservation {
                table: self.table,
                next: range.start + 1,
                end: range.end,
            });
        });
        Some(range.start)
    }

    /// Claims up to `block` indexes (fewer near `max`, module docs).
    fn claim(&self, mut grow: impl FnMut(Range<u32>) -> bool, block: u32) -> Option<Range<u32>> {
        let mut count = self.claimed.load(Ordering::Relaxed);
        loop {
            let remaining = self.max.checked_sub(count).filter(|&left| left > 0)?;
            let size = if remaining >= BLOCK_THRESHOLD {
                block
            } else {
                1
            };
            let range = count..count + size;
            if !grow(range.clone()) {
                return None;
            }
            match self.claimed.compare_exchange_weak(
                count,
                range.end,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(range),
                Err(now) => count = now,
            }
        }
    }

    /// Counts one registration (after its slot is published).
    #[inline]
    pub(crate) fn count_registered(&self) {
        let stripe = THREAD.try_with(|thread| thread.stripe).unwrap_or(0);
        // Relaxed: a statistic (module docs).
        self.registered[stripe].0.fetch_add(1, Ordering::Relaxed);
    }

    /// Registrations counted so far.
    pub(crate) fn registered(&self) -> usize {
        self.registered
            .iter()
            // Relaxed: a statistic (module docs).
            .map(|stripe| stripe.0.load(Ordering::Relaxed))
            .sum()
    }
}
