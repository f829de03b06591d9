//! Following a ref's path through the target table.
//!
//! A walk reads edge words (and canonical caches) from a starting ref until
//! it reaches a canonical ref, an open ref, a ref it was told to stop at,
//! or proof of a cycle. Edges never change once set, so every walk sees a
//! prefix of the path's final form; only the open end can move on.
//!
//! Cycles are found with Brent's algorithm: a checkpoint ref is moved to the
//! walk's position at steps 1, 2, 4, 8, ..., and meeting the checkpoint again
//! proves a cycle. That costs one comparison per step and no memory, and
//! finds a cycle within a small multiple of the path's length. Caches hold
//! canonical refs only (see `target`), so a path with a cycle never takes a
//! cache jump and the walk is a plain function iteration, as Brent needs.

use crate::target::{Edge, TargetSlot};

/// Where a walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WalkEnd {
    /// At this canonical ref.
    Canonical(u32),
    /// At this ref, which has no target yet.
    Open(u32),
    /// At the ref the walk was told to stop at.
    Stopped,
    /// The path runs into a cycle.
    Cycle,
}

/// Walks from `start` through `slot_of`'s table; stops early at `stop`.
#[inline]
pub(crate) fn walk<'t>(
    slot_of: impl Fn(u32) -> &'t TargetSlot,
    start: u32,
    stop: Option<u32>,
) -> WalkEnd {
    let mut at = start;
    let mut checkpoint = start;
    let mut steps_since_checkpoint: u32 = 0;
    let mut checkpoint_interval: u32 = 1;
    loop {
        if Some(at) == stop {
            return WalkEnd::Stopped;
        }
        let slot = slot_of(at);
        match slot.edge() {
            Edge::Canonical => return WalkEnd::Canonical(at),
            Edge::Open { .. } => return WalkEnd::Open(at),
            Edge::Alias(next) => {
                if let Some(canonical) = slot.cached_canonical() {
                    return WalkEnd::Canonical(canonical);
                }
                at = next;
            }
        }
        if at == checkpoint {
            return WalkEnd::Cycle;
        }
        steps_since_checkpoint += 1;
        if steps_since_checkpoint == checkpoint_interval {
            checkpoint = at;
            steps_since_checkpoint = 0;
            checkpoint_interval = checkpoint_interval.saturating_mul(2);
        }
    }
}

/// Caches `canonical` on every ref of `start`'s path up to it (path
/// compression), so later resolutions of those refs take one jump.
///
/// Call only after a walk from `start` (or from a ref on its path) ended at
/// `canonical`: the path is then final and free of cycles.
pub(crate) fn compress<'t>(slot_of: impl Fn(u32) -> &'t TargetSlot, start: u32, canonical: u32) {
    let mut at = start;
    while at != canonical {
        let slot = slot_of(at);
        if slot.cached_canonical().is_some() {
            // The rest of the path was compressed by an earlier resolver.
            return;
        }
        let Edge::Alias(next) = slot.edge() else {
            debug_assert!(false, "a ref before the canonical end must be an alias");
            return;
        };
        slot.cache_canonical(canonical);
        at = next;
    }
}
