//! [`Indexes`]: which slot indexes `register` hands out, without a counter
//! that every registering thread writes, and with a bound on how many
//! indexes are left unused.
//!
//! A counter bumped by every `register` is one cache line that every
//! registering core writes in turn; measured on two cores, registering
//! through it was slower than registering on one. So a thread *claims* a
//! block of indexes at a time and hands them out from its own *lane* of
//! the table, touching shared state once per block.
//!
//! # Lanes
//!
//! A table has [`LANES`] lanes, each on cache lines of its own, and one
//! shared lane.
//!
//! * A lane is free until a thread CASes its token into the lane's owner
//!   word (`0 -> token`). The word never changes again, and a token is
//!   unique to a thread for the life of the process, so a lane has at most
//!   one owner, ever; a thread that exits keeps its lanes.
//! * A lane holds its owner's *reservation* `next..end` (the unused rest of
//!   the owner's last claim) and its count of registrations. Only the
//!   owner reads or writes the reservation and only it writes the count,
//!   so a `register` that takes from its lane does plain loads and stores,
//!   no RMW.
//! * A thread finds its lane by scanning the owner words (and CASing the
//!   first free one if it owns none), and remembers the answer for
//!   [`CACHED_TABLES`] tables in a thread-local. The reservation lives in
//!   the table, not in the thread-local, so forgetting an answer strands
//!   nothing: the next scan finds the same lane and its reservation.
//! * A thread that finds every lane owned by other threads (more than
//!   `LANES` threads registered in the table) registers through the shared
//!   lane. Owner words never change back, so that answer is final too.
//!
//! # The claim word
//!
//! `claims` packs two indexes into one atomic word: `claimed` and the
//! shared lane's next index `shared`. Every write to it is a CAS.
//!
//! * `0..claimed` are claimed, each by exactly one claim: a claim is a CAS
//!   of `claimed` from `c` to `c + n`, so claimed ranges never overlap.
//!   The claimer grows both tables' segments over the range *before* the
//!   CAS: a claimed index always has its slots, and a claim that fails
//!   (out of room or memory) changes nothing.
//! * The shared lane holds the indexes from `shared` up to the next
//!   multiple of [`BLOCK`], none if `shared` is one. A shared `register`
//!   takes `shared` (CAS `shared -> shared + 1`) or, if the lane is empty,
//!   claims a block and puts its rest into the lane *in the same CAS*
//!   (`claimed: c -> e`, `shared -> c + 1`). Claiming and refilling being
//!   one CAS, two threads cannot both refill the same empty lane: the one
//!   whose CAS fails re-reads the word and takes from the lane the other
//!   refilled. No claimed block is ever in a thread's hands outside a
//!   lane, so none can be dropped.
//! * A claim for an owned lane, and a single claim, raise `claimed` and
//!   leave `shared` as it is.
//!
//! So every value of the word satisfies: `shared <= claimed`; the shared
//! lane's indexes were claimed by the refill that put them there and have
//! been handed to no one; `shared` only grows, so the indexes one thread
//! takes from the shared lane increase.
//!
//! # States of an index
//!
//! ```text
//!   free ──(claim)──▶ reserved ──(register: publish)──▶ registered
//! ```
//!
//! A reserved index is in a lane's reservation, in the shared lane, or
//! taken by a `register` that has yet to publish its slot (`target`'s
//! generation word). Only then is it registered; every lookup rejects an
//! unpublished index (`UnknownRef`) and every iteration skips it.
//!
//! # Block size and alignment
//!
//! A claim at `claimed = c` takes the block from `c` up to the next
//! multiple of [`BLOCK`] if at least [`BLOCK_THRESHOLD`] indexes would
//! remain below `max` after it, and the single index `c` otherwise. So the
//! last `BLOCK_THRESHOLD` indexes are claimed one at a time: a table whose
//! `max_refs` is at most that hands out exactly `max_refs` refs. Every
//! block ends at a multiple of `BLOCK` and starts at one too, unless a
//! single claim came just before it (in the tail, or from a `register` in
//! a thread-local destructor, see [`Indexes::take`]); that block is
//! shorter and the next one is aligned again. On `std` that keeps each
//! block inside one segment and its slots on cache lines that only its
//! lane's thread writes (segment bases aside). Correctness does not depend
//! on it: a claim grows every segment its range touches.
//!
//! # How many indexes go unused
//!
//! A claim hands out its first index at once, so a lane's reservation and
//! the shared lane each hold at most `BLOCK - 1` indexes. At any moment,
//! however many refs have been registered, at most
//! `(LANES + 1) * (BLOCK - 1)` indexes of a table (2079 on `std`) are
//! reserved, plus one per `register` still running. A lane's indexes wait
//! for its owner and the shared lane's for any thread without a lane; they
//! stay unused for good only if those stop registering in the table (a
//! thread that exits, say), and every call rejects them as `UnknownRef`.
//! Threads never take from each other's lanes, so near `max`, `register`
//! can fail while lanes still hold indexes.
//!
//! # Counting
//!
//! `len` must count registrations without a shared counter either, and
//! without an RMW per `register` (a locked instruction that waits for the
//! thread's earlier stores to drain). A lane's owner counts in its lane,
//! with a plain load and store. Registrations through the shared lane, and
//! single claims without a lane (see [`Indexes::take`]), count in the
//! shared count with `fetch_add`. [`Indexes::registered`] sums them all;
//! it is exact once the registering calls have returned and
//! happened-before the read. Releases count the same way, in the releasing
//! thread's lane (claimed for it if it has none) or the shared count.
//!
//! # Orderings
//!
//! * Owner words, Relaxed: the CAS only has to pick one owner, and nothing
//!   is published through the word (only the owner reads its
//!   reservation).
//! * A lane's reservation and count, Relaxed loads and stores: only the
//!   owner thread accesses the reservation, so program order is all it
//!   needs; the counts are statistics, read by `registered`.
//! * `claims`, claims for a lane and single claims, Relaxed: the CAS
//!   hands each index out once, which any RMW guarantees, and the claimer
//!   grew the range itself. The slots are published to other threads by
//!   the Release store of each slot's generation word (the segments by
//!   their own AcqRel CAS), never through `claims`.
//! * `claims`, shared lane, AcqRel on success: here one thread grows a
//!   block and others use it. A refill's Release pairs with the Acquire of
//!   the CAS that takes a later index of its block, so the taker sees the
//!   segments grown before the refill (its `publish` finds them). The
//!   takes and claims in between are RMWs, which continue the refill's
//!   release sequence whatever their ordering. The first load and a failed
//!   CAS are Relaxed: what they read is only used to try the next CAS,
//!   which acquires if it succeeds.
//! * Counts, Relaxed: statistics that order nothing; a reader that must
//!   see a registration gets it through the happens-before edge it already
//!   needs.

use std::cell::Cell;
use std::ops::Range;

use crate::sync::{thread_local, AtomicU32, AtomicU64, AtomicUsize, Ordering, UniqueIds};

/// Indexes per claim. Under loom two, so that a model crosses a block
/// boundary with three refs.
pub(crate) const BLOCK: u32 = if cfg!(loom) { 2 } else { 64 };

/// Claims take a whole block only if at least this many indexes remain
/// after it.
const BLOCK_THRESHOLD: u32 = if cfg!(loom) { 2 * BLOCK } else { 64 * BLOCK };

/// Owned lanes per table, 128 bytes each. Under loom two, so that a model
/// with three registering threads also reaches the shared lane.
const LANES: usize = if cfg!(loom) { 2 } else { 32 };

/// Tables per thread whose lane the thread remembers. Forgetting one
/// costs a scan of the owner words, nothing more.
const CACHED_TABLES: usize = 8;

/// A remembered answer of "which lane": an index into `lanes`, or this,
/// the shared lane.
const SHARED: u32 = u32::MAX;

/// Which indexes of one table are claimed, who holds them, and how many
/// are registered.
pub(crate) struct Indexes {
    /// Identifies the table in the threads' caches; never reused.
    table: u64,
    max: u32,
    /// Each lane's owner: `0` (free) or the owning thread's token. Apart
    /// from the lanes, which their owners write on every `register`, so
    /// that a scan reads lines written once per lane.
    owners: [AtomicU64; LANES],
    shared: Shared,
    lanes: [Lane; LANES],
}

/// The claim word and the shared count, on a cache line of their own (two
/// lines: adjacent-line prefetchers pair them).
#[repr(align(128))]
struct Shared {
    /// A [`Claims`] (module docs).
    claims: AtomicU64,
    /// Registrations through the shared lane or a single claim without a
    /// lane.
    registered: AtomicUsize,
    /// Releases by threads without a lane of their own.
    released: AtomicUsize,
}

/// One thread's reservation `next..end` and count, on a cache line of
/// their own; only the owner writes them.
#[repr(align(128))]
#[derive(Default)]
struct Lane {
    next: AtomicU32,
    end: AtomicU32,
    registered: AtomicUsize,
    released: AtomicUsize,
}

/// A value of the claim word: `claimed` in the low half, the shared lane's
/// next index in the high half.
#[derive(Clone, Copy)]
struct Claims(u64);

impl Claims {
    fn new(claimed: u32, shared: u32) -> Self {
        Claims(u64::from(shared) << 32 | u64::from(claimed))
    }

    /// `0..claimed` are claimed.
    fn claimed(self) -> u32 {
        self.0 as u32
    }

    /// The shared lane's next index; it holds the indexes from here up to
    /// the next multiple of `BLOCK`.
    fn shared(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Whether the shared lane holds an index (`shared()`).
    fn shared_has_index(self) -> bool {
        !self.shared().is_multiple_of(BLOCK)
    }
}

/// A thread's remembered lane in the table `table`.
#[derive(Clone, Copy)]
struct CachedLane {
    table: u64,
    lane: u32,
}

/// One thread's remembered lanes and its token.
struct ThreadState {
    cache: [Cell<CachedLane>; CACHED_TABLES],
    /// The entry the next miss overwrites (round robin: a miss strands
    /// nothing, so the policy only affects how often the thread scans).
    victim: Cell<usize>,
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
        const NONE: CachedLane = CachedLane {
            table: 0, // no table has id 0
            lane: SHARED,
        };
        ThreadState {
            cache: [const { Cell::new(NONE) }; CACHED_TABLES],
            victim: Cell::new(0),
            token: THREAD_TOKENS.next(),
        }
    }
}

impl Indexes {
    /// Nothing claimed yet; at most `max` indexes will be.
    pub(crate) fn new(max: u32) -> Self {
        Indexes {
            table: TABLE_IDS.next(),
            max,
            owners: std::array::from_fn(|_| AtomicU64::new(0)),
            shared: Shared {
                claims: AtomicU64::new(Claims::new(0, 0).0),
                registered: AtomicUsize::new(0),
                released: AtomicUsize::new(0),
            },
            lanes: std::array::from_fn(|_| Lane::default()),
        }
    }

    /// The most indexes this table hands out.
    pub(crate) fn max(&self) -> u32 {
        self.max
    }

    /// Indexes claimed so far: every registered index is below this.
    pub(crate) fn claimed(&self) -> u32 {
        // Relaxed: a bound for iteration, which checks each slot itself.
        Claims(self.shared.claims.load(Ordering::Relaxed)).claimed()
    }

    /// Takes and counts an index for `register`: from this thread's lane
    /// (claiming a block into it when it is empty), or from the shared lane
    /// if every lane is owned by other threads. `grow` must make the slots
    /// of a range exist (it runs before the claim, see the module docs).
    /// `None` if `max` indexes are claimed and the lane it would take from
    /// is empty, or if `grow` failed; nothing changes then.
    ///
    /// The index counts in `len` from here on; the caller publishes its
    /// slot before returning it (a `register` still returning may count).
    ///
    /// If the thread's locals are already torn down (a `register` from
    /// another thread-local's destructor), the thread cannot tell which
    /// lane is its own: it claims a single index, which is above every
    /// index it took before, and counts it in the shared count. The next
    /// block claimed is one index shorter, so blocks stay aligned. With
    /// native thread locals (Linux, macOS, Windows) that cannot happen:
    /// the state has no destructor, so it is never torn down. Where thread
    /// locals are OS keys and get destroyed, it can.
    #[inline]
    pub(crate) fn take(&self, grow: impl Fn(Range<u32>) -> bool) -> Option<u32> {
        match THREAD.try_with(|thread| self.lane_of(thread)) {
            Ok(lane) => match self.lanes.get(lane as usize) {
                Some(lane) => self.take_from_lane(lane, &grow),
                None => self.take_shared(&grow),
            },
            Err(_) => self.take_single(&grow),
        }
    }

    /// The lane of the calling thread (`SHARED` if it owns none and none
    /// is free), from its cache if it is there.
    #[inline]
    fn lane_of(&self, thread: &ThreadState) -> u32 {
        match thread
            .cache
            .iter()
            .find(|cell| cell.get().table == self.table)
        {
            Some(cell) => cell.get().lane,
            None => self.find_lane(thread),
        }
    }

    /// [`lane_of`](Self::lane_of) on a cache miss: scans the owner words,
    /// and remembers the answer in place of the next victim.
    #[cold]
    fn find_lane(&self, thread: &ThreadState) -> u32 {
        let lane = self.lane_owned_by(thread.token);
        let victim = thread.victim.get();
        thread.cache[victim].set(CachedLane {
            table: self.table,
            lane,
        });
        thread.victim.set((victim + 1) % CACHED_TABLES);
        lane
    }

    /// The lane the thread with `token` owns, taking a free one if it owns
    /// none yet; `SHARED` if all are owned by other threads.
    fn lane_owned_by(&self, token: u64) -> u32 {
        // Relaxed: owner words order nothing (module docs).
        if let Some(owned) = self
            .owners
            .iter()
            .position(|owner| owner.load(Ordering::Relaxed) == token)
        {
            return owned as u32;
        }
        for (position, owner) in self.owners.iter().enumerate() {
            if owner
                .compare_exchange(0, token, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                return position as u32;
            }
        }
        SHARED
    }

    /// Takes and counts the next index of `lane`, which the calling thread
    /// owns, claiming for it if it is empty.
    #[inline]
    fn take_from_lane(&self, lane: &Lane, grow: &impl Fn(Range<u32>) -> bool) -> Option<u32> {
        // Relaxed, and loads and stores rather than RMWs: only this
        // thread, the owner, writes the lane (module docs).
        let next = lane.next.load(Ordering::Relaxed);
        let index = if next < lane.end.load(Ordering::Relaxed) {
            lane.next.store(next + 1, Ordering::Relaxed);
            next
        } else {
            let range = self.claim(grow, false)?;
            lane.next.store(range.start + 1, Ordering::Relaxed);
            lane.end.store(range.end, Ordering::Relaxed);
            range.start
        };
        let count = lane.registered.load(Ordering::Relaxed);
        lane.registered.store(count + 1, Ordering::Relaxed);
        Some(index)
    }

    /// Takes and counts an index from the shared lane, refilling it with a
    /// new claim (in the same CAS) if it is empty.
    fn take_shared(&self, grow: &impl Fn(Range<u32>) -> bool) -> Option<u32> {
        // Relaxed: only a base for the CAS, which acquires (module docs).
        let mut claims = Claims(self.shared.claims.load(Ordering::Relaxed));
        loop {
            let (index, after) = if claims.shared_has_index() {
                let index = claims.shared();
                (index, Claims::new(claims.claimed(), index + 1))
            } else {
                let range = self.next_claim(claims.claimed(), grow, false)?;
                // The block's rest goes into the lane; a single claim has none.
                let shared = if range.len() > 1 {
                    range.start + 1
                } else {
                    claims.shared()
                };
                (range.start, Claims::new(range.end, shared))
            };
            // AcqRel: a refill releases the segments it grew to the CAS
            // that takes a later index of its block, which acquires them
            // (through the release sequence of RMWs in between).
            match self.shared.claims.compare_exchange_weak(
                claims.0,
                after.0,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.count_shared();
                    return Some(index);
                }
                Err(now) => claims = Claims(now),
            }
        }
    }

    /// Takes and counts a single index without a lane (`take`'s torn-down
    /// case).
    #[cold]
    fn take_single(&self, grow: &impl Fn(Range<u32>) -> bool) -> Option<u32> {
        let range = self.claim(grow, true)?;
        self.count_shared();
        Some(range.start)
    }

    /// Claims the next block (or single index, module docs), or one index
    /// if `single`, leaving the shared lane as it is.
    #[cold]
    fn claim(&self, grow: &impl Fn(Range<u32>) -> bool, single: bool) -> Option<Range<u32>> {
        // Relaxed, here and in the CAS: this claim only has to hand each
        // index out once, and its claimer grew the range itself; slots are
        // published through their generation words.
        let mut claims = Claims(self.shared.claims.load(Ordering::Relaxed));
        loop {
            let range = self.next_claim(claims.claimed(), grow, single)?;
            let after = Claims::new(range.end, claims.shared());
            match self.shared.claims.compare_exchange_weak(
                claims.0,
                after.0,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(range),
                Err(now) => claims = Claims(now),
            }
        }
    }

    /// The range a claim at `claimed` takes (module docs), one index if
    /// `single`, once `grow` made its slots exist; `None` if no index is
    /// left or `grow` failed.
    fn next_claim(
        &self,
        claimed: u32,
        grow: &impl Fn(Range<u32>) -> bool,
        single: bool,
    ) -> Option<Range<u32>> {
        let remaining = self.max.checked_sub(claimed).filter(|&left| left > 0)?;
        let block = BLOCK - claimed % BLOCK;
        let size = if !single && remaining >= BLOCK_THRESHOLD + block {
            block
        } else {
            1
        };
        let range = claimed..claimed + size;
        grow(range.clone()).then_some(range)
    }

    /// Counts one registration that has no lane of its own.
    fn count_shared(&self) {
        // Relaxed: statistics (module docs).
        self.shared.registered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one registration of a reused slot, which did not come
    /// through [`take`](Self::take).
    pub(crate) fn count_registered(&self) {
        self.count(|lane| &lane.registered, &self.shared.registered);
    }

    /// Counts one released ref, in the calling thread's lane like a
    /// registration (module docs).
    pub(crate) fn count_released(&self) {
        self.count(|lane| &lane.released, &self.shared.released);
    }

    /// Adds one to a count: the calling thread's lane's (claimed for it if
    /// it has none), or `shared`.
    fn count(&self, of_lane: impl Fn(&Lane) -> &AtomicUsize, shared: &AtomicUsize) {
        let lane = THREAD
            .try_with(|thread| self.lane_of(thread))
            .ok()
            .and_then(|lane| self.lanes.get(lane as usize));
        match lane {
            Some(lane) => {
                // Relaxed: owner-only, statistics (module docs).
                let count = of_lane(lane);
                count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            }
            // Relaxed: statistics.
            None => _ = shared.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Refs released so far (see [`registered`](Self::registered)).
    pub(crate) fn released(&self) -> usize {
        self.total(|lane| &lane.released, &self.shared.released)
    }

    /// Registrations counted so far.
    pub(crate) fn registered(&self) -> usize {
        self.total(|lane| &lane.registered, &self.shared.registered)
    }

    /// A count summed over the lanes and `shared`.
    fn total(&self, of_lane: impl Fn(&Lane) -> &AtomicUsize, shared: &AtomicUsize) -> usize {
        // Relaxed: statistics (module docs).
        let owned: usize = self
            .lanes
            .iter()
            .map(|lane| of_lane(lane).load(Ordering::Relaxed))
            .sum();
        owned + shared.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn always(_: Range<u32>) -> bool {
        true
    }

    #[test]
    fn a_take_without_thread_state_claims_one_index_and_the_next_block_realigns() {
        let indexes = Indexes::new(1 << 20);
        assert_eq!(indexes.take(always), Some(0));
        assert_eq!(indexes.claimed(), BLOCK);
        assert_eq!(indexes.take_single(&always), Some(BLOCK));
        assert_eq!(indexes.claimed(), BLOCK + 1);
        for expected in 1..BLOCK {
            assert_eq!(indexes.take(always), Some(expected));
        }
        // The lane is used up: the next block ends at the next multiple.
        assert_eq!(indexes.take(always), Some(BLOCK + 1));
        assert_eq!(indexes.claimed(), 2 * BLOCK);
        for expected in BLOCK + 2..2 * BLOCK {
            assert_eq!(indexes.take(always), Some(expected));
        }
        assert_eq!(indexes.take(always), Some(2 * BLOCK));
        assert_eq!(indexes.claimed(), 3 * BLOCK);
        assert_eq!(indexes.registered(), 2 * BLOCK as usize + 1);
    }

    #[test]
    fn the_documented_bound_on_unused_indexes_is_the_constants() {
        // `register`'s docs and the README state these figures.
        assert_eq!((LANES, BLOCK), (32, 64));
        assert_eq!((LANES + 1) * (BLOCK as usize - 1), 2079);
    }

    #[test]
    fn a_failed_claim_changes_nothing() {
        let indexes = Indexes::new(1 << 20);
        assert_eq!(indexes.take(|_| false), None);
        assert_eq!(indexes.take_single(&|_| false), None);
        assert_eq!(indexes.take_shared(&|_| false), None);
        assert_eq!((indexes.claimed(), indexes.registered()), (0, 0));
        assert_eq!(indexes.take(always), Some(0));
        assert_eq!(indexes.take_shared(&always), Some(BLOCK));
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

    #[test]
    fn the_shared_lane_keeps_its_block_across_other_claims() {
        let indexes = Indexes::new(1 << 20);
        assert_eq!(indexes.take_shared(&always), Some(0));
        assert_eq!(indexes.claimed(), BLOCK);
        // A lane's claim comes after the shared block and leaves it alone.
        assert_eq!(indexes.take(always), Some(BLOCK));
        assert_eq!(indexes.take_single(&always), Some(2 * BLOCK));
        for expected in 1..BLOCK {
            assert_eq!(indexes.take_shared(&always), Some(expected));
        }
        assert_eq!(indexes.claimed(), 2 * BLOCK + 1);
        // Used up: the refill is the shorter, realigning block.
        assert_eq!(indexes.take_shared(&always), Some(2 * BLOCK + 1));
        assert_eq!(indexes.take_shared(&always), Some(2 * BLOCK + 2));
        assert_eq!(indexes.claimed(), 3 * BLOCK);
        assert_eq!(indexes.registered(), BLOCK as usize + 4);
    }

    #[test]
    fn the_shared_lane_is_used_up_in_the_tail() {
        // One block, then the single-claim tail.
        let max = BLOCK_THRESHOLD + BLOCK;
        let indexes = Indexes::new(max);
        assert_eq!(indexes.take_shared(&always), Some(0));
        let mut taken = vec![0];
        while let Some(index) = indexes.take_shared(&always) {
            taken.push(index);
        }
        assert_eq!(taken, (0..max).collect::<Vec<_>>());
        assert_eq!(indexes.registered(), max as usize);
    }

    #[test]
    fn a_forgotten_lane_is_found_again_with_its_reservation() {
        let tables: Vec<Indexes> = (0..2 * CACHED_TABLES)
            .map(|_| Indexes::new(1 << 20))
            .collect();
        // Round robin over more tables than the cache holds: every take
        // misses, scans, and finds its lane and reservation in the table.
        for expected in 0..3 * BLOCK {
            for table in &tables {
                assert_eq!(table.take(always), Some(expected));
            }
        }
    }

    #[test]
    fn every_lane_taken_sends_later_threads_to_the_shared_lane() {
        let indexes = Indexes::new(1 << 20);
        std::thread::scope(|s| {
            for lane in 0..LANES as u32 {
                let taken = s.spawn(|| indexes.take(always)).join().unwrap();
                assert_eq!(taken, Some(lane * BLOCK));
            }
            for expected in 0..3 {
                let taken = s.spawn(|| indexes.take(always)).join().unwrap();
                assert_eq!(taken, Some(LANES as u32 * BLOCK + expected));
            }
        });
        assert_eq!(indexes.claimed(), (LANES as u32 + 1) * BLOCK);
        assert_eq!(indexes.registered(), LANES + 3);
    }
}
