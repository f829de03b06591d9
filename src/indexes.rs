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
//! * A thread keeps reservations for [`CACHED_TABLES`] tables. Needing
//!   another for a block, it replaces a used-up one if it has one, else
//!   the least recently used (a single claim, see below, keeps nothing and
//!   replaces nothing). So a reservation is abandoned with indexes left
//!   only when its thread exits, or when the thread has claimed blocks in
//!   four other tables since it last registered in this one. Those indexes
//!   stay unpublished gaps for good: indexes of refs registered by
//!   different threads are not dense, and a gap costs its slots' bytes.
//!
//! # Block size
//!
//! A claim takes [`BLOCK`] indexes if at least [`BLOCK_THRESHOLD`] would
//! remain below `max_refs` after it, and one index otherwise. So the last
//! `BLOCK_THRESHOLD` indexes are claimed one at a time: a table whose
//! `max_refs` is at most that hands out exactly `max_refs` refs, and a
//! larger one strands at most `BLOCK - 1` indexes per abandoned
//! reservation. Blocks start at multiples of `BLOCK`, since single claims
//! only follow blocks (with one exception: a `register` from a
//! thread-local destructor, see [`Indexes::take`]); on `std` that keeps
//! each block inside one segment and its slots on cache lines that only
//! its thread writes (segment bases aside). Correctness does not depend on
//! it: a claim grows every segment its range touches.
//!
//! # Counting
//!
//! `len` must count registrations without a shared counter either, and
//! without an RMW per `register` (a locked instruction that waits for the
//! thread's earlier stores to drain). The table has [`OWNERS`] counters,
//! each on its own cache line and each *owned* by at most one thread:
//!
//! * An owner word goes `0 -> token` once, by CAS, and never changes
//!   again; `token` is unique to a thread for the life of the process, so
//!   each counter has at most one owner, ever.
//! * Only the owner writes its counter, so it increments with a plain load
//!   and store. A thread finds its counter when it claims a block (a scan
//!   of the owner words, then a CAS on a free one) and keeps its position
//!   in its reservation.
//! * Threads that find every counter owned by others use `unowned`, with
//!   `fetch_add`. A thread that exits keeps its counter (its count stays),
//!   so the first [`OWNERS`] threads to register in a table own its
//!   counters for the table's life and any later thread pays one RMW per
//!   `register`.
//!
//! [`Indexes::registered`] sums them all. It is exact once the registering
//! calls have returned and happened-before the read.
//!
//! Orderings: every atomic here is `Relaxed`. A claim's CAS only has to
//! hand each index out once, which any RMW guarantees; the slots of a
//! claimed range are published to other threads by the Release store of
//! each slot's generation word (and the segments by their own AcqRel CAS),
//! never through `claimed`. An owner CAS only has to pick one winner. The
//! counters are statistics that order nothing: a reader that must see a
//! registration gets it through the happens-before edge it already needs.

use std::cell::Cell;
use std::ops::Range;

use crate::sync::{thread_local, AtomicU32, AtomicU64, AtomicUsize, Ordering, UniqueIds};

/// Indexes per claim. Under loom two, so that a model crosses a block
/// boundary with three refs.
pub(crate) const BLOCK: u32 = if cfg!(loom) { 2 } else { 64 };

/// Claims take a whole block only if at least this many indexes remain
/// after it.
const BLOCK_THRESHOLD: u32 = if cfg!(loom) { 2 * BLOCK } else { 64 * BLOCK };

/// Tables per thread whose reservations the thread keeps at once.
pub(crate) const CACHED_TABLES: usize = 4;

/// Owned registration counters per table. Under loom two, so that a model
/// with three registering threads also counts through `unowned`.
const OWNERS: usize = if cfg!(loom) { 2 } else { 8 };

/// A reservation's counter: an index into `owners`, or `unowned`.
const UNOWNED: u32 = u32::MAX;

/// Which indexes of one table are claimed, and how many are registered.
pub(crate) struct Indexes {
    /// Identifies the table in the threads' reservations; never reused.
    table: u64,
    /// `0..claimed` have been claimed (module docs).
    claimed: AtomicU32,
    max: u32,
    owners: [Owner; OWNERS],
    /// Registrations by threads that own no counter.
    unowned: AtomicUsize,
}

/// A registration counter and its owner, on a cache line of their own
/// (two lines: adjacent-line prefetchers pair them).
#[repr(align(128))]
#[derive(Default)]
struct Owner {
    /// `0` (free) or the owning thread's token.
    thread: AtomicU64,
    /// Registrations by the owner; only the owner writes it.
    registered: AtomicUsize,
}

/// A thread's unused indexes `next..end` of the table `table`, the
/// counter the thread counts its registrations in, and when it last used
/// the reservation.
#[derive(Clone, Copy)]
struct Reservation {
    table: u64,
    next: u32,
    end: u32,
    counter: u32,
    last_use: u64,
}

impl Reservation {
    /// How much replacing this reservation would cost, lowest first: a
    /// used-up reservation strands nothing, then least recently used.
    fn eviction_cost(self) -> u64 {
        if self.next == self.end {
            0
        } else {
            self.last_use + 1
        }
    }
}

/// One thread's reservations, its clock for their `last_use`, and its
/// token.
struct ThreadState {
    reservations: [Cell<Reservation>; CACHED_TABLES],
    clock: Cell<u64>,
    /// Unique to this thread for the life of the process; never 0.
    token: u64,
}

thread_local! {
    static THREAD: ThreadState = ThreadState::new();
}

/// Table ids and thread tokens.
static TABLE_IDS: UniqueIds = UniqueIds::new();
static THREAD_TOKENS: UniqueIds = UniqueIds::new();

impl ThreadState {
    fn new() -> Self {
        const NONE: Reservation = Reservation {
            table: 0, // no table has id 0
            next: 0,
            end: 0,
            counter: UNOWNED,
            last_use: 0,
        };
        ThreadState {
            reservations: [const { Cell::new(NONE) }; CACHED_TABLES],
            clock: Cell::new(0),
            token: THREAD_TOKENS.next(),
        }
    }
}

impl ThreadState {
    /// The next `last_use` stamp.
    #[inline]
    fn tick(&self) -> u64 {
        let now = self.clock.get() + 1;
        self.clock.set(now);
        now
    }
}

impl Indexes {
    /// Nothing claimed yet; at most `max` indexes will be.
    pub(crate) fn new(max: u32) -> Self {
        Indexes {
            table: TABLE_IDS.next(),
            claimed: AtomicU32::new(0),
            max,
            owners: std::array::from_fn(|_| Owner::default()),
            unowned: AtomicUsize::new(0),
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

    /// Takes and counts an index for `register`: the next one this thread
    /// reserved, or the first of a new claim. `grow` must make the slots of
    /// a range exist (it runs before the claim, see the module docs).
    /// `None` if `max` indexes are claimed or `grow` failed; nothing
    /// changes then.
    ///
    /// The index counts in `len` from here on; the caller publishes its
    /// slot before returning it (a `register` still returning may count).
    ///
    /// If the thread's locals are already torn down (a `register` from
    /// another thread-local's destructor), it claims a single index and
    /// keeps no reservation: blocks claimed after that no longer start at
    /// multiples of `BLOCK`, which costs only cache-line sharing at their
    /// edges. With native thread locals (Linux, macOS, Windows) that cannot
    /// happen: the state has no destructor, so it is never torn down. Where
    /// thread locals are OS keys and get destroyed, it can.
    #[inline]
    pub(crate) fn take(&self, grow: impl Fn(Range<u32>) -> bool) -> Option<u32> {
        let taken = THREAD.try_with(|thread| match self.take_reserved(thread) {
            Some(index) => Some(index),
            None => self.claim_into_reservation(thread, &grow),
        });
        taken.unwrap_or_else(|_| self.take_unreserved(&grow))
    }

    /// Takes and counts a single index without a reservation.
    #[cold]
    fn take_unreserved(&self, grow: &impl Fn(Range<u32>) -> bool) -> Option<u32> {
        let range = self.claim(grow, 1)?;
        self.count(UNOWNED);
        Some(range.start)
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
            last_use: thread.tick(),
            ..reservation
        });
        self.count(reservation.counter);
        Some(reservation.next)
    }

    /// Claims a block into this thread's reservation for this table
    /// (evicting another table's if this table has none) and takes its
    /// first index.
    #[cold]
    fn claim_into_reservation(
        &self,
        thread: &ThreadState,
        grow: &impl Fn(Range<u32>) -> bool,
    ) -> Option<u32> {
        let range = self.claim(grow, BLOCK)?;
        let reservations = &thread.reservations;
        let cell = match reservations
            .iter()
            .find(|cell| cell.get().table == self.table)
        {
            Some(cell) => cell,
            // A single claim leaves nothing to keep: evicting another
            // table's reservation for it would only strand that one.
            None if range.len() == 1 => {
                let counter = self.counter_of(thread.token);
                self.count(counter);
                return Some(range.start);
            }
            None => reservations
                .iter()
                .min_by_key(|cell| cell.get().eviction_cost())
                .expect("CACHED_TABLES > 0"),
        };
        let counter = match cell.get() {
            reservation if reservation.table == self.table => reservation.counter,
            _ => self.counter_of(thread.token),
        };
        cell.set(Reservation {
            table: self.table,
            next: range.start + 1,
            end: range.end,
            counter,
            last_use: thread.tick(),
        });
        self.count(counter);
        Some(range.start)
    }

    /// The counter the thread with `token` owns, taking a free one if it
    /// owns none yet; `UNOWNED` if all are taken by other threads.
    fn counter_of(&self, token: u64) -> u32 {
        // Relaxed: owner words order nothing (module docs).
        if let Some(owned) = self
            .owners
            .iter()
            .position(|owner| owner.thread.load(Ordering::Relaxed) == token)
        {
            return owned as u32;
        }
        for (position, owner) in self.owners.iter().enumerate() {
            if owner
                .thread
                .compare_exchange(0, token, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                return position as u32;
            }
        }
        UNOWNED
    }

    /// Claims up to `block` indexes (fewer near `max`, module docs).
    fn claim(&self, grow: &impl Fn(Range<u32>) -> bool, block: u32) -> Option<Range<u32>> {
        // Relaxed, here and in the CAS: a claim only has to hand each index
        // out once; slots are published through their generation words.
        let mut count = self.claimed.load(Ordering::Relaxed);
        loop {
            let remaining = self.max.checked_sub(count).filter(|&left| left > 0)?;
            let size = if remaining >= BLOCK_THRESHOLD + block {
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

    /// Counts one registration in `counter`, which the calling thread owns
    /// (or `UNOWNED`).
    #[inline]
    fn count(&self, counter: u32) {
        // Relaxed: statistics (module docs).
        match self.owners.get(counter as usize) {
            Some(owner) => {
                // Not an RMW: only this thread, the owner, writes it.
                let count = owner.registered.load(Ordering::Relaxed);
                owner.registered.store(count + 1, Ordering::Relaxed);
            }
            None => {
                self.unowned.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Registrations counted so far.
    pub(crate) fn registered(&self) -> usize {
        // Relaxed: statistics (module docs).
        let owned: usize = self
            .owners
            .iter()
            .map(|owner| owner.registered.load(Ordering::Relaxed))
            .sum();
        owned + self.unowned.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn always(_: Range<u32>) -> bool {
        true
    }

    #[test]
    fn a_take_without_reservation_claims_one_index_after_the_blocks() {
        let indexes = Indexes::new(1 << 20);
        assert_eq!(indexes.take(always), Some(0));
        assert_eq!(indexes.claimed(), BLOCK);
        assert_eq!(indexes.take_unreserved(&always), Some(BLOCK));
        assert_eq!(indexes.take(always), Some(1));
        assert_eq!(indexes.claimed(), BLOCK + 1);
        assert_eq!(indexes.registered(), 3);
    }

    #[test]
    fn a_failed_claim_changes_nothing() {
        let indexes = Indexes::new(1 << 20);
        assert_eq!(indexes.take(|_| false), None);
        assert_eq!(indexes.take_unreserved(&|_| false), None);
        assert_eq!((indexes.claimed(), indexes.registered()), (0, 0));
        assert_eq!(indexes.take(always), Some(0));
    }

    #[test]
    fn a_block_is_claimed_only_if_the_threshold_remains_after_it() {
        let exactly_enough = Indexes::new(BLOCK_THRESHOLD + BLOCK);
        assert_eq!(exactly_enough.take(always), Some(0));
        assert_eq!(exactly_enough.claimed(), BLOCK);
        let one_short = Indexes::new(BLOCK_THRESHOLD + BLOCK - 1);
        assert_eq!(one_short.take(always), Some(0));
        assert_eq!(one_short.claimed(), 1);
    }

    #[test]
    fn the_last_threshold_indexes_are_claimed_one_at_a_time() {
        let max = BLOCK_THRESHOLD + BLOCK + 3;
        let indexes = Indexes::new(max);
        assert_eq!(indexes.take(always), Some(0));
        assert_eq!(indexes.claimed(), BLOCK);
        // Another thread now finds `BLOCK_THRESHOLD + 3` left, too few for
        // a block: one index per claim from here to the end.
        let taken = std::thread::scope(|s| {
            s.spawn(|| {
                let mut taken = Vec::new();
                while let Some(index) = indexes.take(always) {
                    taken.push(index);
                    assert_eq!(indexes.claimed(), index + 1, "a single claim");
                }
                taken
            })
            .join()
            .unwrap()
        });
        assert_eq!(taken, (BLOCK..max).collect::<Vec<_>>());
        assert_eq!(indexes.registered(), 1 + taken.len());
    }
}
