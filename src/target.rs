//! The target table's row of one ref: 16 bytes, four to a cache line,
//! holding everything that `resolve`, `alias` and `add_canonical` touch in
//! the ref itself.
//!
//! | word         | bits | contents                                                   |
//! |--------------|------|------------------------------------------------------------|
//! | `link`       | 64   | low half: the edge; high half: `next` in the target's list |
//! | `jump`       | 32   | `0`, or `i + 1`: ref `i` lies further on this ref's path    |
//! | `stamp`      | 32   | low half: the generation word; high half: `canon`          |
//!
//! The two halves of `stamp`:
//!
//! | half         | bits | contents                                                   |
//! |--------------|------|------------------------------------------------------------|
//! | generation   | 16   | `0` until registered, then generation + 1; flags `LISTED`, `DEAD` |
//! | `canon`      | 16   | `0`, or `g + 1`: `jump` holds the canonical ref, of generation `g` |
//!
//! They share a word so that one load tells both whose row it is and
//! whether the canonical is cached: `resolve`'s fast path is a seqlock read
//! of three loads (`stamp`, `jump`, `stamp` again; see `recycle`).
//!
//! # The link word
//!
//! The edge (low half):
//!
//! | value   | state              | meaning                                             |
//! |---------|--------------------|-----------------------------------------------------|
//! | `0..=3` | `Open`             | no target yet (UNINITIALIZED); two flags, below     |
//! | `4`     | `Canonical`        | the ref is canonical: it maps to itself             |
//! | `i + 5` | `Alias(i)`         | the ref is an alias of the ref at index `i`         |
//!
//! An open edge's two flags: bit 0, `sleepers`, resolvers may be asleep on
//! `jump`; bit 1, `listeners`, callbacks or futures may wait at this ref in
//! the table's waiter lists (see `waiters`). Neither is ever cleared while
//! the edge is open.
//!
//! ```text
//!   Open ──(resolver or listener, CAS)──▶ Open with a flag more
//!   Open (any flags) ──(alias, CAS)──▶ Alias(i)
//!   Open (any flags) ──(add_canonical, CAS)──▶ Canonical
//! ```
//!
//! `Alias` and `Canonical` are final: an edge, once set, never changes, so
//! every path only ever grows at its open end.
//!
//! The high half is the ref's `next` link in its target's reverse list
//! (see `reverse`). While the edge is open it is not a link but the ref's
//! *tag*, its generation, so that a CAS that completes or flags the edge of
//! ref `(i, g)` cannot succeed on a newer ref in the same slot (whose open
//! word has another tag): a completion needs no other proof that the slot
//! is still its ref's. The link is then fixed by the
//! *same CAS* that commits `Alias(t)`, so that the commit also chooses the
//! successor in front of which the ref will be spliced, and later changed
//! only by splices of other refs behind this one. Putting both in one word
//! saves the separate successor CAS an insertion would otherwise need.
//!
//! # Waiting: the `jump` word is the futex word
//!
//! A resolver that must sleep on open ref `e` sets `sleepers` by CAS on
//! `e.link`, then sleeps in a futex wait on `e.jump` expecting `0`. The
//! `jump` of an open ref is always `0` (hints are written only on refs
//! whose edge is set). A completion whose CAS replaced an edge with
//! `sleepers` set writes `jump` (CAS from `0` to the new target, or to the
//! ref itself when it becomes canonical; a hint or cache written meanwhile
//! is as good) and then wakes every sleeper on `jump`.
//!
//! **No stranded sleeper.** The completion's CAS and the resolver's
//! announcing CAS are RMWs on one word, so one of them comes first. If the
//! announcement came first, the completion sees `sleepers` and makes `jump`
//! non-zero before it wakes: a sleeper whose futex check ran before that
//! write is in the queue the wake empties, and one whose check ran after
//! it does not sleep. If the completion came first, the announcing CAS
//! fails and the resolver does not sleep. A completion that replaced an
//! `Open` without `sleepers` makes no syscall and writes no `jump`: nobody
//! can sleep on a ref whose `sleepers` was never set. (`listeners` is the
//! same handshake for the waiter lists: a completion that sees it hands
//! the lists' waiters on, see `waiters`.) The flag is cleared only by the
//! completion: a resolver that times out leaves it behind, which costs that
//! one completion a wake with nobody asleep.
//!
//! # Jumps and the canonical cache
//!
//! `jump` lets walks skip along a path (path compression); the original
//! edges stay, for `target`, `aliases` and `equivalent`. Its invariants:
//!
//! * A non-zero `jump` of ref `x` names a ref on `x`'s path other than `x`
//!   ("further on"). Edges are final, so that stays true forever, and a
//!   walk that follows jumps visits a subsequence of the edge walk: it
//!   reaches the same end, and on a path without a cycle it can never meet
//!   a ref twice (so Brent's cycle check has no false alarms).
//! * Once `canon` is non-zero, `jump` holds the canonical ref and never
//!   changes again. Canonical writers swap `jump` and then set `canon`
//!   (both Release); every other `jump` write is a CAS from the value its writer
//!   read, so none can land after a canonical store unless its writer read
//!   the canonical value itself. So a hint writer replaces only a jump
//!   that names an *alias* (a ref its walk passed through, or one before
//!   an end it has just re-checked as open, see `walk`): an alias's index
//!   is never a canonical cache's value, so the CAS cannot succeed against
//!   one, even if the word held a hint to the same ref earlier. (Checking
//!   "is the named ref canonical" instead races: a hint to a ref that
//!   becomes canonical later has the canonical cache's value.)
//! * A reader that sees `canon != 0` (Acquire, pairing with the writer's
//!   Release) then reads `jump` and gets the canonical: the one value of
//!   `jump` from the canonical store on. So a completed alias resolves from
//!   its own row, including the returned ref's generation.
//! * `canon` is set only on a ref marked `LISTED`, by a CAS on `stamp`
//!   that keeps the generation half (an alias whose listing is still in
//!   flight just goes without the cache for now). So until `LISTED` the
//!   `alias` call that set the edge is the only writer of `stamp`, and its
//!   `mark_listed` may be a plain store.
//!
//! # The generation word
//!
//! `0` until `register` publishes the slot (Release), then generation + 1
//! in the low 14 bits and two flags:
//!
//! * `LISTED` (bit 15), set once the ref is in its target's reverse list
//!   (Release, after the splice), so that a repeated `alias` knows in O(1)
//!   that there is nothing left to help with;
//! * `DEAD` (bit 14), set by the thread that released the ref (see
//!   `table::lifecycle`) before it reports the release, or earlier by a
//!   call that found the release begun: from then on every call with the
//!   ref answers `StaleRef`. Set by a CAS that checks the generation, so
//!   never on a newer ref in the slot.
//!
//! A `register` that publishes the slot is its only writer until the ref's
//! edge is set, and the `alias` call that set it until it marks the ref
//! listed; afterwards `DEAD` and `canon` are set by CAS, which leaves the
//! rest of the word alone.

use crate::sync::{AtomicU32, AtomicU64, Ordering};

/// The largest index a table hands out (`u32::MAX - 5`): the edge needs
/// five values besides `i + 5`.
pub(crate) const MAX_INDEX: u32 = u32::MAX - 5;

/// Generations a slot can have: `0..GENERATIONS`. The generation word
/// keeps 14 bits for generation + 1.
pub(crate) const GENERATIONS: u32 = (1 << 14) - 1;

/// An open edge is `OPEN` with the flags below.
const OPEN: u32 = 0;
const SLEEPERS: u32 = 1;
const LISTENERS: u32 = 2;
const CANONICAL: u32 = 4;
const ALIAS_BASE: u32 = 5;

const UNLISTED: u32 = 0;
const END: u32 = 1;
const NODE_BASE: u32 = 2;

const LISTED: u32 = 1 << 15;
const DEAD: u32 = 1 << 14;
const GENERATION_BITS: u32 = DEAD - 1;
/// Where `canon` starts in the stamp word.
const CANON_SHIFT: u32 = 16;

/// A decoded edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Edge {
    /// No target yet; `sleepers` if a resolver announced it may sleep,
    /// `listeners` if a waiter was put in the waiter lists at this ref.
    Open { sleepers: bool, listeners: bool },
    /// Maps to itself.
    Canonical,
    /// An alias of the ref at this index.
    Alias(u32),
}

impl Edge {
    #[inline]
    fn decode(word: u32) -> Edge {
        match word {
            flags if flags < CANONICAL => Edge::Open {
                sleepers: flags & SLEEPERS != 0,
                listeners: flags & LISTENERS != 0,
            },
            CANONICAL => Edge::Canonical,
            alias => Edge::Alias(alias - ALIAS_BASE),
        }
    }

    #[inline]
    fn encode(self) -> u32 {
        match self {
            Edge::Open {
                sleepers,
                listeners,
            } => OPEN | (u32::from(sleepers) * SLEEPERS) | (u32::from(listeners) * LISTENERS),
            Edge::Canonical => CANONICAL,
            Edge::Alias(index) => {
                debug_assert!(index <= MAX_INDEX);
                index + ALIAS_BASE
            }
        }
    }
}

/// A decoded list link: a `next` word, or a list head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    /// Not in any list yet (only in `next`).
    Unlisted,
    /// The end of the list.
    End,
    /// The ref at this index.
    Node(u32),
}

impl Link {
    #[inline]
    pub(crate) fn decode(word: u32) -> Link {
        match word {
            UNLISTED => Link::Unlisted,
            END => Link::End,
            node => Link::Node(node - NODE_BASE),
        }
    }

    #[inline]
    pub(crate) fn encode(self) -> u32 {
        match self {
            Link::Unlisted => UNLISTED,
            Link::End => END,
            Link::Node(index) => index + NODE_BASE,
        }
    }
}

/// Packs an edge and a `next` link into a link word.
#[inline]
fn pack(edge: Edge, next: Link) -> u64 {
    u64::from(edge.encode()) | (u64::from(next.encode()) << 32)
}

#[inline]
fn edge_of(word: u64) -> Edge {
    Edge::decode(word as u32)
}

#[inline]
fn next_of(word: u64) -> Link {
    Link::decode((word >> 32) as u32)
}

/// What a completing write found in the edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Completion {
    /// The edge was open and now holds the new edge; `listeners` if the
    /// replaced edge had that flag (the caller hands its waiters on).
    Done { listeners: bool },
    /// The edge was already set, to this.
    AlreadySet(Edge),
    /// The slot holds a newer ref (its open word has another tag): the
    /// caller's ref was released.
    Stale,
}

/// The link word of an open ref of generation `generation`, with no flags.
#[inline]
fn open_word(generation: u32) -> u64 {
    u64::from(OPEN) | (u64::from(generation) << 32)
}

#[inline]
fn tag_of(word: u64) -> u32 {
    (word >> 32) as u32
}

/// A canonical ref cached in a row: index and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cached {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// One ref's row of the target table.
#[derive(Debug, Default)]
#[repr(C, align(16))]
pub(crate) struct TargetSlot {
    link: AtomicU64,
    jump: AtomicU32,
    stamp: AtomicU32,
}

crate::segments::slots_per_line!(TargetSlot, 4);

// SAFETY: `TargetSlot` is an `AtomicU64` and two `AtomicU32`s
// (`repr(C)`, 16 bytes, no padding), and all-zero is a valid
// value of each; it is also the row's initial state (open, unlisted, no
// jump, unregistered).
#[cfg(not(loom))]
unsafe impl bytemuck::Zeroable for TargetSlot {}

// Orderings, for the whole impl unless a method says otherwise: loads are
// Acquire and successful writes Release (AcqRel for CAS), pairing each word
// with itself: whoever reads a value also sees what its writer saw before
// writing it. On x86 and ARMv8 Acquire loads cost what Relaxed ones do. The
// cycle check across refs adds its own SeqCst fence in `table::alias`.
impl TargetSlot {
    /// The edge.
    #[inline]
    pub(crate) fn edge(&self) -> Edge {
        edge_of(self.link.load(Ordering::Acquire))
    }

    /// The `next` link (meaningful once the ref is an alias; while it is
    /// open the high half is its tag).
    #[inline]
    pub(crate) fn next(&self) -> Link {
        let word = self.link.load(Ordering::Acquire);
        debug_assert!(!matches!(edge_of(word), Edge::Open { .. }));
        next_of(word)
    }

    /// Splices: replaces `next == expected` by `new`, keeping the edge.
    /// Fails (returning the link found) if `next` changed.
    #[inline]
    pub(crate) fn replace_next(&self, expected: Link, new: Link) -> Result<(), Link> {
        let current = self.link.load(Ordering::Acquire);
        if next_of(current) != expected {
            return Err(next_of(current));
        }
        // The edge half of a listed ref is final, so the only way this CAS
        // fails is a change of `next`.
        let edge = edge_of(current);
        self.link
            .compare_exchange(
                current,
                pack(edge, new),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map(|_| ())
            .map_err(next_of)
    }

    /// Sets the edge of the ref of generation `generation` if it is still
    /// open, with `next` as the successor in the target's list, and wakes
    /// sleepers through `wake` if the value it replaced announced them (the
    /// module's waiting protocol).
    #[inline]
    pub(crate) fn complete(
        &self,
        own_index: u32,
        generation: u32,
        edge: Edge,
        next: Link,
        wake: impl FnOnce(&AtomicU32),
    ) -> Completion {
        debug_assert!(!matches!(edge, Edge::Open { .. }));
        // An open ref's word is one of two values: try the common one
        // first rather than loading.
        let mut current = open_word(generation);
        loop {
            match edge_of(current) {
                Edge::Open { .. } if tag_of(current) != generation => return Completion::Stale,
                Edge::Open {
                    sleepers,
                    listeners,
                } => {
                    match self.link.compare_exchange(
                        current,
                        pack(edge, next),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => {
                            if sleepers {
                                self.wake_sleepers(own_index, edge, wake);
                            }
                            return Completion::Done { listeners };
                        }
                        // A flag was set or the edge completed under us:
                        // decide again on the value found.
                        Err(now) => current = now,
                    }
                }
                set => return Completion::AlreadySet(set),
            }
        }
    }

    /// Makes `jump` non-zero, then wakes its sleepers.
    #[cold]
    fn wake_sleepers(&self, own_index: u32, edge: Edge, wake: impl FnOnce(&AtomicU32)) {
        let value = match edge {
            // The direct target is a valid jump.
            Edge::Alias(target) => target + 1,
            // Walks never read the jump of a canonical ref.
            _ => own_index + 1,
        };
        // AcqRel CAS: a failure means a hint or the canonical cache is
        // already there, which is non-zero too; never overwrite those.
        let _ = self
            .jump
            .compare_exchange(0, value, Ordering::AcqRel, Ordering::Acquire);
        wake(&self.jump);
    }

    /// Announces a sleeper: sets `sleepers`, keeping the tag. Returns
    /// `false` if the edge completed first (nothing to wait for). The
    /// caller holds a unit of the ref, so the slot is its ref's.
    #[inline]
    pub(crate) fn announce_sleeper(&self) -> bool {
        // The caller's unit: the open word's tag is the ref's own.
        self.flag_open_edge(SLEEPERS, None, true)
    }

    /// Announces a listener at the ref of generation `generation`: sets
    /// `listeners` by CAS, even if it is set already. Returns `false` if
    /// the edge completed first or the slot holds a newer ref.
    ///
    /// Always an RMW, never just a load that finds the flag: the waiter
    /// was put in its list before this call, and the completion must see
    /// it there. The completion's CAS reads from this RMW or a later one
    /// on the word (RMWs read the latest value), so it synchronizes with
    /// this Release and its scan of the list sees the waiter; a load that
    /// found the flag set by another listener would order nothing.
    #[inline]
    pub(crate) fn announce_listener(&self, generation: u32) -> bool {
        self.flag_open_edge(LISTENERS, Some(generation), false)
    }

    /// Sets `flag` on the open edge by CAS, keeping the tag; `false` once
    /// the edge is set, or if `generation` is given and the open word's tag
    /// is another. With `load_suffices`, a load that finds the flag set
    /// answers `true` without writing (a flag is never cleared while open).
    #[inline]
    fn flag_open_edge(&self, flag: u32, generation: Option<u32>, load_suffices: bool) -> bool {
        let mut current = self.link.load(Ordering::Acquire);
        loop {
            if !matches!(edge_of(current), Edge::Open { .. })
                || generation.is_some_and(|generation| tag_of(current) != generation)
            {
                return false;
            }
            let flagged = current | u64::from(flag);
            if load_suffices && flagged == current {
                return true;
            }
            match self
                .link
                .compare_exchange(current, flagged, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(now) => current = now,
            }
        }
    }

    /// The futex word resolvers sleep on, and the value they expect in it.
    #[inline]
    pub(crate) fn sleep_word(&self) -> (&AtomicU32, u32) {
        (&self.jump, 0)
    }

    /// The canonical ref cached in this row, if any.
    #[inline]
    pub(crate) fn cached_canonical(&self) -> Option<Cached> {
        self.cached_canonical_in(self.stamp.load(Ordering::Acquire))
    }

    /// [`cached_canonical`](Self::cached_canonical), from a stamp the
    /// caller has loaded (Acquire).
    #[inline]
    pub(crate) fn cached_canonical_in(&self, stamp: u32) -> Option<Cached> {
        let canon = stamp >> CANON_SHIFT;
        if canon == 0 {
            return None;
        }
        // The Acquire load of `canon` saw a canonical writer's
        // Release, which came after its store of `jump`; from that store on
        // `jump` never changes (module invariants) until the slot is reset
        // for reuse. Acquire, not Relaxed, for that case: the caller's
        // second check of the generation must not be read before it (a
        // seqlock read, see `recycle`); a reset `jump` of 0 wraps, and the
        // second check rejects it.
        let jump = self.jump.load(Ordering::Acquire);
        Some(Cached {
            index: jump.wrapping_sub(1),
            generation: canon - 1,
        })
    }

    /// The jump: a ref further on this ref's path, if one is recorded.
    #[inline]
    pub(crate) fn jump(&self) -> Option<u32> {
        self.jump.load(Ordering::Acquire).checked_sub(1)
    }

    /// Records that this ref's path ends at canonical `canonical`, if the
    /// ref is listed (module invariants: until then the `alias` call that
    /// set its edge writes its stamp with a plain store).
    ///
    /// Call only after `canonical` was seen canonical on this ref's path.
    #[inline]
    pub(crate) fn cache_canonical(&self, canonical: Cached) {
        if !self.is_listed() {
            return;
        }
        // Release: a hint writer that reads this value (Acquire) then sees
        // the ref canonical and leaves it alone (module invariants). A swap,
        // not a store: every other write of `jump` is an RMW, and loom 0.7
        // can order a plain store inside another thread's RMW on the same
        // atomic (tokio-rs/loom#254), which the models then report.
        self.jump.swap(canonical.index + 1, Ordering::Release);
        let canon = (canonical.generation + 1) << CANON_SHIFT;
        // Release: a reader that sees `canon` sees the swap above. The CAS
        // keeps the generation half, where `DEAD` may be set meanwhile; a
        // `canon` already there is this same value (one canonical per path).
        let _ = self
            .stamp
            .fetch_update(Ordering::Release, Ordering::Relaxed, |stamp| {
                (stamp >> CANON_SHIFT == 0).then_some(stamp | canon)
            });
    }

    /// Replaces the jump `seen` (read by the caller) by `further`, a ref
    /// further on this ref's path. Loses quietly to any other write.
    ///
    /// `seen` must name an alias, or be `None` (see the module's
    /// invariants): then the CAS can never replace a canonical cache.
    #[inline]
    pub(crate) fn advance_jump(&self, seen: Option<u32>, further: u32) {
        let seen = seen.map_or(0, |index| index + 1);
        // AcqRel on success (the impl's rule); Relaxed on failure: the
        // value found is not used.
        let _ = self
            .jump
            .compare_exchange(seen, further + 1, Ordering::AcqRel, Ordering::Relaxed);
    }

    /// The generation this slot was registered with, if it was (also
    /// once the ref is dead).
    #[inline]
    pub(crate) fn generation(&self) -> Option<u32> {
        (self.stamp.load(Ordering::Acquire) & GENERATION_BITS).checked_sub(1)
    }

    /// Whether the slot holds the live ref of generation `generation`, a
    /// released one of that generation, or neither.
    #[inline]
    pub(crate) fn registration(&self, generation: u32) -> Registration {
        let word = self.stamp.load(Ordering::Acquire);
        match (word & GENERATION_BITS).checked_sub(1) {
            Some(current) if current == generation && word & DEAD == 0 => Registration::Live,
            Some(current) if current >= generation => Registration::Dead,
            _ => Registration::Unknown,
        }
    }

    /// For the fast paths: the stamp, if it says the slot holds the live
    /// ref of generation `generation` (whole, for
    /// [`unchanged`](Self::unchanged) and
    /// [`cached_canonical_in`](Self::cached_canonical_in)).
    #[inline]
    pub(crate) fn live_stamp(&self, generation: u32) -> Option<u32> {
        let stamp = self.stamp.load(Ordering::Acquire);
        (stamp & (GENERATION_BITS | DEAD) == generation.wrapping_add(1)).then_some(stamp)
    }

    /// The second check of a seqlock read (see `recycle`): the stamp still
    /// holds `stamp`. Any change (a listing, a cache, a death, a reuse)
    /// sends the caller down its slow path, which is right in every case.
    #[inline]
    pub(crate) fn unchanged(&self, stamp: u32) -> bool {
        self.stamp.load(Ordering::Acquire) == stamp
    }

    /// The generation registered in this slot and whether that ref is
    /// released, from one load of the word (`None`: never registered).
    #[inline]
    pub(crate) fn generation_and_death(&self) -> Option<(u32, bool)> {
        let word = self.stamp.load(Ordering::Acquire);
        let generation = (word & GENERATION_BITS).checked_sub(1)?;
        Some((generation, word & DEAD != 0))
    }

    /// Whether the ref in this slot has been released.
    #[inline]
    pub(crate) fn is_dead(&self) -> bool {
        self.stamp.load(Ordering::Acquire) & DEAD != 0
    }

    /// Whether the ref is listed in its target's reverse list.
    #[inline]
    pub(crate) fn is_listed(&self) -> bool {
        self.stamp.load(Ordering::Acquire) & LISTED != 0
    }

    /// Records that the ref, registered at `generation`, is listed.
    ///
    /// A plain store, for the `alias` call that set the edge and only for
    /// it: until it marks the ref, nobody else writes the stamp (`DEAD`
    /// needs the ref released, which its pending state rules out before
    /// this call settles it, and `canon` needs `LISTED`). A repeat that
    /// helps with the splice leaves the mark to that call.
    #[inline]
    pub(crate) fn mark_listed(&self, generation: u32) {
        // (Not under loom: an extra load there only widens the models.)
        #[cfg(not(loom))]
        debug_assert_eq!(self.stamp.load(Ordering::Relaxed), generation + 1);
        self.stamp
            .store((generation + 1) | LISTED, Ordering::Release);
    }

    /// Marks the ref of generation `generation` released, if the slot
    /// still holds it: the releasing thread does, and so does any call that
    /// finds the release begun (its life word says so) before the releaser
    /// got here, so that every call after it answers `StaleRef` too. A
    /// slot that holds a newer ref by then is left alone.
    #[inline]
    pub(crate) fn mark_dead(&self, generation: u32) {
        // Release: pairs with the Acquire of `registration`, so a call that
        // sees the ref dead also sees what the releaser did before. A word
        // already marked is left unwritten: no store to a line other
        // threads read, and none racing the slot's reuse (loom's partial
        // modification order would let the reusing thread read such a
        // store back after its own publication, which no real execution
        // can: this RMW read the word before that publication).
        let _ = self
            .stamp
            .fetch_update(Ordering::Release, Ordering::Relaxed, |word| {
                (word & GENERATION_BITS == generation + 1 && word & DEAD == 0)
                    .then_some(word | DEAD)
            });
    }

    /// Resets a freed slot's row for its next ref, of `generation`: open
    /// with that tag, no jump
    /// (see `recycle`). The stamp keeps the old ref's, dead, until
    /// [`publish`](Self::publish) replaces it, `canon` included.
    pub(crate) fn reset(&self, generation: u32) {
        // Release: a reader that sees a reset value then sees the old ref
        // dead. Plain stores: nothing else writes a freed row (no walk or
        // resolver reaches it any more, see `recycle`; a completion meant
        // for the old ref fails on the new tag).
        self.link.store(open_word(generation), Ordering::Release);
        self.jump.store(0, Ordering::Release);
    }

    /// Publishes the slot as registered at `generation`: no flags, no
    /// `canon`.
    pub(crate) fn publish(&self, generation: u32) {
        debug_assert!(generation < GENERATIONS);
        self.stamp.store(generation + 1, Ordering::Release);
    }
}

/// What a slot says about one generation of its ref.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Registration {
    /// The slot holds that ref, not released.
    Live,
    /// That ref was released (or a later generation holds the slot).
    Dead,
    /// The slot never held that generation.
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_round_trip() {
        for edge in [
            Edge::Open {
                sleepers: false,
                listeners: false,
            },
            Edge::Open {
                sleepers: true,
                listeners: false,
            },
            Edge::Open {
                sleepers: false,
                listeners: true,
            },
            Edge::Open {
                sleepers: true,
                listeners: true,
            },
            Edge::Canonical,
            Edge::Alias(0),
            Edge::Alias(12345),
            Edge::Alias(MAX_INDEX),
        ] {
            assert_eq!(Edge::decode(edge.encode()), edge);
        }
        for word in [0, 1, 2, 3, 4, u32::MAX] {
            assert_eq!(Edge::decode(word).encode(), word);
        }
    }

    #[test]
    fn links_round_trip() {
        for link in [
            Link::Unlisted,
            Link::End,
            Link::Node(0),
            Link::Node(MAX_INDEX),
        ] {
            assert_eq!(Link::decode(link.encode()), link);
        }
    }

    #[test]
    fn edge_and_next_share_the_word_without_overlap() {
        let open = Edge::Open {
            sleepers: true,
            listeners: true,
        };
        for edge in [open, Edge::Alias(MAX_INDEX)] {
            for next in [Link::Unlisted, Link::End, Link::Node(MAX_INDEX)] {
                let word = pack(edge, next);
                assert_eq!((edge_of(word), next_of(word)), (edge, next));
            }
        }
    }

    #[test]
    fn a_row_is_a_quarter_of_a_cache_line() {
        assert_eq!(std::mem::size_of::<TargetSlot>(), 16);
        assert_eq!(std::mem::align_of::<TargetSlot>(), 16);
    }

    #[test]
    fn the_flags_leave_the_generation_alone() {
        let slot = TargetSlot::default();
        assert_eq!(slot.generation(), None);
        assert_eq!(slot.registration(0), Registration::Unknown);
        let top = GENERATIONS - 1;
        slot.publish(top);
        assert!(!slot.is_listed() && !slot.is_dead());
        assert_eq!(slot.registration(top), Registration::Live);
        slot.mark_listed(top);
        assert!(slot.is_listed());
        assert_eq!(slot.generation(), Some(top));
        slot.mark_dead(top);
        assert!(slot.is_listed() && slot.is_dead());
        assert_eq!(slot.generation(), Some(top));
        assert_eq!(slot.registration(top), Registration::Dead);
        assert_eq!(slot.registration(top - 1), Registration::Dead);
    }

    #[test]
    fn the_canonical_cache_carries_the_generation() {
        let slot = TargetSlot::default();
        let own = GENERATIONS - 1;
        slot.publish(own);
        assert_eq!(slot.cached_canonical(), None);
        slot.advance_jump(None, 7);
        assert_eq!((slot.jump(), slot.cached_canonical()), (Some(7), None));
        let canonical = Cached {
            index: 9,
            generation: GENERATIONS - 1,
        };
        // Not listed yet: its `alias` call still owns the stamp.
        slot.cache_canonical(canonical);
        assert_eq!((slot.jump(), slot.cached_canonical()), (Some(7), None));
        slot.mark_listed(own);
        slot.cache_canonical(canonical);
        assert_eq!(slot.cached_canonical(), Some(canonical));
        // Both halves of the stamp keep their values.
        assert_eq!(slot.registration(own), Registration::Live);
        slot.mark_dead(own);
        assert_eq!(slot.cached_canonical(), Some(canonical));
        assert_eq!(slot.registration(own), Registration::Dead);
        // A hint writer that read the old jump loses to the cache.
        slot.advance_jump(Some(7), 8);
        assert_eq!(slot.cached_canonical(), Some(canonical));
    }
}
