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
//! `0` or `c + 1`, where `c` is the canonical ref at the end of this ref's
//! path. It is written only after `c` was seen canonical, and a path that
//! reaches a canonical ref never changes again, so every writer writes the
//! same value and a set cache is never wrong. It holds canonical refs only:
//! a cache never points into an unfinished path, which keeps cycle detection
//! on unfinished paths exact.
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
    /// The word was open and now holds the new edge.
    Done,
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

    /// Sets the edge if it is still open, calling `wake` with the word if
    /// the value it replaced announced sleepers.
    #[inline]
    pub(crate) fn complete(&self, edge: Edge, wake: impl FnOnce(&AtomicU32)) -> Completion {
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
                        Ok(_) => {
                            if waited {
                                wake(&self.edge);
                            }
                            return Completion::Done;
                        }
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

    /// The cached canonical index at the end of this ref's path, if known.
    #[inline]
    pub(crate) fn cached_canonical(&self) -> Option<u32> {
        self.cache.load(Ordering::Acquire).checked_sub(1)
    }

    /// Records that this ref's path ends at canonical `index`.
    #[inline]
    pub(crate) fn cache_canonical(&self, index: u32) {
        self.cache.store(index + 1, Ordering::Release);
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
