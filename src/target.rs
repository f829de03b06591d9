//! The target table's slot: the edge word, the canonical cache and the
//! generation word of one ref.
//!
//! # The edge word
//!
//! | value   | state              | meaning                                         |
//! |---------|--------------------|-------------------------------------------------|
//! | `0`     | `Open`             | no target yet (UNINITIALIZED); nobody sleeps on it |
//! | `1`     | `Open` + `waited`  | no target yet; resolvers may be asleep on this word |
//! | `2`     | `Canonical`        | the ref is canonical: it maps to itself          |
//! | `i + 3` | `Alias(i)`         | the ref is an alias of the ref at index `i`      |
//!
//! Legal transitions, and who makes them:
//!
//! ```text
//!   Open ──(resolver, CAS)──▶ Open+waited
//!   Open, Open+waited ──(alias, CAS)──▶ Alias(i)
//!   Open, Open+waited ──(add_canonical, CAS)──▶ Canonical
//! ```
//!
//! `Alias` and `Canonical` are final: an edge, once set, never changes, so
//! every path in the alias graph only ever grows at its open end.
//!
//! **No stranded sleeper.** A resolver sleeps only through a futex wait
//! that expects `1` (`Open+waited`). The only writes that leave `1` are
//! the completing CASes, and a completing CAS that replaced `1` wakes every
//! sleeper on the word. A completion that replaced `0` makes no syscall:
//! nobody can be asleep on a word that never held `1`. Because the waiter
//! flag and the edge share one word, the CAS order on it decides everything
//! and no fence is needed. The flag is cleared only by the completion: a
//! resolver that times out leaves it behind (clearing it could strand other
//! sleepers that announced through the same flag), which costs that one
//! completion a wake with nobody asleep.
//!
//! # The cache word
//!
//! | value   | state       | meaning                                            |
//! |---------|-------------|----------------------------------------------------|
//! | `0`     | `Listed`    | nothing cached; if the ref is an alias, it is listed in its target's reverse list |
//! | `1`     | `Unlisted`  | the ref's `alias` call may still be listing it      |
//! | `c + 2` | `Canonical` | the path ends at canonical ref `c`, and every ref on it is listed |
//!
//! **Listing before anyone relies on an edge.** `alias` marks the word
//! `Unlisted` *before* the CAS that sets the edge, lists the ref, then CASes
//! `Unlisted -> Listed`. So a reader that sees the edge (Acquire) sees
//! `Unlisted` or a later value, and a reader that sees `Unlisted` finishes
//! the listing itself (it is idempotent and helpable: see `reverse`) before
//! it relies on the edge. Hence every call that returns having followed an
//! edge `a -> t` leaves `a` listed under `t`: an `equivalent(c)` after a
//! `resolve(a) == c` includes `a`. A mark made by an `alias` call that then
//! lost its CAS is stale but harmless: it only makes a reader check a
//! listing that is already there.
//!
//! `Canonical` is written only after `c` was seen canonical and the path
//! listed; a path that reaches a canonical ref never changes again, so
//! every writer writes the same value. The cache holds canonical refs only:
//! it never points into an unfinished path, which keeps cycle detection on
//! unfinished paths exact.
//!
//! # The generation word
//!
//! `0` until `register` publishes the slot, then `generation + 1`.

use crate::sync::{AtomicU32, Ordering};

/// The largest index a table hands out (`u32::MAX - 3`): the edge word
/// needs three values besides `i + 3`.
pub(crate) const MAX_INDEX: u32 = u32::MAX - 3;

const OPEN: u32 = 0;
const OPEN_WAITED: u32 = 1;
const CANONICAL: u32 = 2;
const ALIAS_BASE: u32 = 3;

const LISTED: u32 = 0;
const UNLISTED: u32 = 1;
const CANONICAL_BASE: u32 = 2;

/// A decoded cache word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cache {
    /// Nothing cached; an alias ref is listed.
    Listed,
    /// The ref's listing may be in flight.
    Unlisted,
    /// The path ends at this canonical ref and is listed throughout.
    Canonical(u32),
}

/// A decoded edge word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Edge {
    /// No target yet; `waited` if a resolver announced it may sleep.
    Open { waited: bool },
    /// Maps to itself.
    Canonical,
    /// An alias of the ref at this index.
    Alias(u32),
}

impl Edge {
    #[inline]
    pub(crate) fn decode(word: u32) -> Edge {
        match word {
            OPEN => Edge::Open { waited: false },
            OPEN_WAITED => Edge::Open { waited: true },
            CANONICAL => Edge::Canonical,
            alias => Edge::Alias(alias - ALIAS_BASE),
        }
    }

    #[inline]
    pub(crate) fn encode(self) -> u32 {
        match self {
            Edge::Open { waited: false } => OPEN,
            Edge::Open { waited: true } => OPEN_WAITED,
            Edge::Canonical => CANONICAL,
            Edge::Alias(index) => {
                debug_assert!(index <= MAX_INDEX);
                index + ALIAS_BASE
            }
        }
    }
}

/// What a completing write found in the edge word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Completion {
    /// The word was open and now holds the new edge. If `sleepers`, the
    /// caller must wake the word (`Futex::wake_all`) once it may be relied on.
    Done { sleepers: bool },
    /// The word already held an edge, which is returned.
    AlreadySet(Edge),
}

/// One ref's row of the target table.
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct TargetSlot {
    edge: AtomicU32,
    cache: AtomicU32,
    generation: AtomicU32,
}

// SAFETY: `TargetSlot` is three `AtomicU32`s (`repr(C)`, no padding), and
// all-zero is a valid `AtomicU32`; all-zero is also the slot's initial
// state (open, no cache, unregistered).
#[cfg(not(loom))]
unsafe impl bytemuck::Zeroable for TargetSlot {}

// Orderings, for the whole impl: every load is Acquire and every successful
// write Release (or AcqRel for CAS), pairing edge with edge, cache with
// cache and generation with generation: whoever sees a value also sees
// everything its writer saw. On x86 and ARMv8 these cost what Relaxed
// does for loads. The one place that needs more than acquire/release, the
// cycle check across two edge words, adds its own SeqCst fence in `alias`.
impl TargetSlot {
    #[inline]
    pub(crate) fn edge(&self) -> Edge {
        Edge::decode(self.edge.load(Ordering::Acquire))
    }

    /// The word resolvers sleep on.
    #[inline]
    pub(crate) fn edge_word(&self) -> &AtomicU32 {
        &self.edge
    }

    /// Sets the edge if it is still open.
    #[inline]
    pub(crate) fn complete(&self, edge: Edge) -> Completion {
        debug_assert!(!matches!(edge, Edge::Open { .. }));
        let mut current = self.edge.load(Ordering::Acquire);
        loop {
            match Edge::decode(current) {
                Edge::Open { waited } => {
                    match self.edge.compare_exchange(
                        current,
                        edge.encode(),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => return Completion::Done { sleepers: waited },
                        // The waiter flag was set or the edge completed
                        // under us: decide again on the new value.
                        Err(now) => current = now,
                    }
                }
                set => return Completion::AlreadySet(set),
            }
        }
    }

    /// Announces a sleeper: `Open` -> `Open+waited`. Returns `false` if the
    /// edge completed first (nothing to wait for).
    #[inline]
    pub(crate) fn announce_waiter(&self) -> bool {
        match self
            .edge
            .compare_exchange(OPEN, OPEN_WAITED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(now) => now == OPEN_WAITED,
        }
    }

    /// The value a sleeper expects to find in the edge word.
    pub(crate) const WAITED_WORD: u32 = OPEN_WAITED;

    /// The cache word.
    #[inline]
    pub(crate) fn cache(&self) -> Cache {
        match self.cache.load(Ordering::Acquire) {
            LISTED => Cache::Listed,
            UNLISTED => Cache::Unlisted,
            canonical => Cache::Canonical(canonical - CANONICAL_BASE),
        }
    }

    /// The cached canonical index at the end of this ref's path, if known.
    #[inline]
    pub(crate) fn cached_canonical(&self) -> Option<u32> {
        match self.cache() {
            Cache::Canonical(canonical) => Some(canonical),
            Cache::Listed | Cache::Unlisted => None,
        }
    }

    /// Marks the ref `Unlisted`, just before the CAS that makes it an alias.
    #[inline]
    pub(crate) fn mark_unlisted(&self) {
        // Relaxed: the edge CAS that follows is AcqRel and publishes this
        // mark to every reader that sees the edge. Failure means the word
        // is already `Unlisted` (a racing twin) or holds a cache: both fine.
        let _ = self
            .cache
            .compare_exchange(LISTED, UNLISTED, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Records that the ref is listed in its target's reverse list.
    #[inline]
    pub(crate) fn mark_listed(&self) {
        // Release: a reader that Acquire-loads `Listed` sees the listing.
        // Failure means someone else marked it, or a cache was written
        // (which implies the listing too).
        let _ = self
            .cache
            .compare_exchange(UNLISTED, LISTED, Ordering::Release, Ordering::Relaxed);
    }

    /// Records that this ref's path ends at canonical `index`. Call only
    /// once every ref on the path is listed.
    #[inline]
    pub(crate) fn cache_canonical(&self, index: u32) {
        self.cache.store(index + CANONICAL_BASE, Ordering::Release);
    }

    /// The generation this slot was registered with, if it was.
    #[inline]
    pub(crate) fn generation(&self) -> Option<u32> {
        self.generation.load(Ordering::Acquire).checked_sub(1)
    }

    /// Publishes the slot as registered at generation 0.
    pub(crate) fn publish(&self) {
        self.generation.store(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_round_trip() {
        for edge in [
            Edge::Open { waited: false },
            Edge::Open { waited: true },
            Edge::Canonical,
            Edge::Alias(0),
            Edge::Alias(12345),
            Edge::Alias(MAX_INDEX),
        ] {
            assert_eq!(Edge::decode(edge.encode()), edge);
        }
    }

    #[test]
    fn every_word_decodes_to_one_edge() {
        for word in [0, 1, 2, 3, 4, u32::MAX] {
            assert_eq!(Edge::decode(word).encode(), word);
        }
    }
}
