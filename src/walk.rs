//! Following a ref's path through the target table, and compressing it.
//!
//! A walk reads edges (and the jumps and canonical caches of `target`) from
//! a starting ref until it reaches a canonical ref, an open ref, a ref it
//! was told to stop at, proof of a cycle, or its deadline. Edges never
//! change once set, so every walk sees a prefix of the path's final form;
//! only the open end moves on.
//!
//! Cycles are found with Brent's algorithm: a checkpoint ref is moved to the
//! walk's position at steps 1, 2, 4, 8, ..., and meeting the checkpoint again
//! proves a cycle. That costs one comparison per step and no memory. Jumps
//! always lead further on the path (see `target`), so on a path without a
//! cycle a walk never meets a ref twice: no false alarm. On a cycle, jumps
//! are only written by walks that started before it closed (a walk on a
//! cycle finds no end to compress to), so they change finitely often and
//! the walk's function is eventually fixed: Brent finds the cycle.
//!
//! A jump can lead past the ref a walk was told to stop at once that ref's
//! edge is set. Where that matters (the cycle post-check in `table::alias`), a
//! cycle found with jumps is confirmed by an edge-only walk.
//!
//! # Compression
//!
//! After a walk from `start` ends at canonical `c`, every ref on the way
//! gets `c` in its canonical cache: the path is final, so that is true
//! forever. After a long walk ends at open ref `e`, every ref on the way
//! gets a jump to `e`. A ref on the way is before `e` only while `e` is
//! open (afterwards a jump written by someone else may lead past it), so
//! the compressing walk checks `e` after reading each ref's jump and before
//! replacing it: a jump that leads past `e` was written by a walk that saw
//! `e`'s edge set, and reading that jump (Acquire) makes the edge visible to
//! the check, which then stops. So every jump it replaces names an alias
//! before `e`, never a canonical cache of the same value (see `target`). A
//! timed-out walk replaces only the jump it followed from its start.

use std::time::Instant;

use crate::target::{Cached, Edge, TargetSlot};

/// Where a walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WalkEnd {
    /// At this canonical ref.
    Canonical(Cached),
    /// At this ref, which has no target yet.
    Open(u32),
    /// At the ref the walk was told to stop at.
    Stopped,
    /// The path runs into a cycle.
    Cycle,
    /// The deadline passed first, at this ref of the path.
    TimedOut(u32),
}

/// What a walk may follow besides edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Follow {
    /// Jumps and canonical caches: amortized O(1) on any path.
    Jumps,
    /// Edges and canonical caches only: meets every ref of the path, so a
    /// stop ref is never skipped.
    Edges,
}

/// A finished walk: its end, the number of links it followed, and the
/// jump it followed from its start (if its first step was a jump).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Walked {
    pub(crate) end: WalkEnd,
    pub(crate) steps: u32,
    start_jump: Option<u32>,
}

/// Walks shorter than this are not compressed toward an open end: the
/// jump would save little and cost a CAS on the hot insert path.
/// Under loom two, so that models with a handful of refs compress.
const COMPRESS_OPEN_AFTER: u32 = if cfg!(loom) { 2 } else { 4 };

/// How many steps a walk takes between looks at the clock.
const STEPS_PER_CLOCK_CHECK: u32 = 1024;

/// Walks from `start` through `slot_of`'s table; stops early at `stop`
/// and gives up at `deadline`.
#[inline]
pub(crate) fn walk<'t>(
    slot_of: impl Fn(u32) -> &'t TargetSlot,
    start: u32,
    stop: Option<u32>,
    follow: Follow,
    deadline: Option<Instant>,
) -> Walked {
    let mut at = start;
    let mut checkpoint = start;
    let mut steps: u32 = 0;
    let mut steps_since_checkpoint: u32 = 0;
    let mut checkpoint_interval: u32 = 1;
    let mut start_jump = None;
    let end = loop {
        if Some(at) == stop {
            break WalkEnd::Stopped;
        }
        let slot = slot_of(at);
        match slot.edge() {
            Edge::Canonical => {
                break WalkEnd::Canonical(Cached {
                    index: at,
                    generation: slot.generation().unwrap_or(0),
                })
            }
            Edge::Open { .. } => break WalkEnd::Open(at),
            Edge::Alias(next) => {
                if let Some(canonical) = slot.cached_canonical() {
                    debug_assert_eq!(
                        slot_of(canonical.index).edge(),
                        Edge::Canonical,
                        "cache of {at}"
                    );
                    break WalkEnd::Canonical(canonical);
                }
                let jump = match follow {
                    Follow::Jumps => slot.jump(),
                    Follow::Edges => None,
                };
                if steps == 0 {
                    start_jump = jump;
                }
                at = jump.unwrap_or(next);
            }
        }
        steps = steps.wrapping_add(1);
        if at == checkpoint {
            break WalkEnd::Cycle;
        }
        steps_since_checkpoint += 1;
        if steps_since_checkpoint == checkpoint_interval {
            checkpoint = at;
            steps_since_checkpoint = 0;
            checkpoint_interval = checkpoint_interval.saturating_mul(2);
        }
        if steps.is_multiple_of(STEPS_PER_CLOCK_CHECK)
            && deadline.is_some_and(|d| Instant::now() >= d)
        {
            break WalkEnd::TimedOut(at);
        }
    };
    Walked {
        end,
        steps,
        start_jump,
    }
}

/// Compresses `start`'s path after a walk from it: canonical caches if it
/// ended at a canonical ref, jumps if a long walk ended at an open ref, and
/// a jump from `start` to where a timed-out walk stopped, so that the next
/// timed walk goes on from there instead of starting over.
#[inline]
pub(crate) fn compress<'t>(
    slot_of: impl Fn(u32) -> &'t TargetSlot + Copy,
    start: u32,
    walked: Walked,
) {
    match walked.end {
        WalkEnd::Canonical(canonical) => compress_to_canonical(slot_of, start, canonical),
        WalkEnd::Open(end) if walked.steps >= COMPRESS_OPEN_AFTER => {
            compress_to_open(slot_of, start, end, walked.steps)
        }
        WalkEnd::TimedOut(reached) if reached != start => {
            // `reached` was reached from `start`: further on its path. Replace
            // only the jump the walk followed (or none): that ref was walked
            // through, so it is an alias and the value can never be a
            // canonical cache, whatever happened to the word since.
            slot_of(start).advance_jump(walked.start_jump, reached);
        }
        _ => {}
    }
}

/// Caches `canonical` on every ref of `start`'s path up to it.
///
/// Call only after a walk from `start` (or from a ref on its path) ended at
/// `canonical`: the path is then final and free of cycles.
pub(crate) fn compress_to_canonical<'t>(
    slot_of: impl Fn(u32) -> &'t TargetSlot,
    start: u32,
    canonical: Cached,
) {
    debug_assert_eq!(slot_of(canonical.index).edge(), Edge::Canonical);
    let mut at = start;
    while at != canonical.index {
        let slot = slot_of(at);
        if slot.cached_canonical().is_some() {
            // The rest of the path was compressed by an earlier resolver.
            return;
        }
        let Edge::Alias(next) = slot.edge() else {
            debug_assert!(false, "a ref before the canonical end must be an alias");
            return;
        };
        let jump = slot.jump();
        slot.cache_canonical(canonical);
        at = jump.unwrap_or(next);
    }
}

/// Gives every ref of `start`'s path before open ref `end` a jump to it,
/// for at most `steps` refs (the length of the walk that found `end`).
fn compress_to_open<'t>(
    slot_of: impl Fn(u32) -> &'t TargetSlot + Copy,
    start: u32,
    end: u32,
    steps: u32,
) {
    let end_slot = slot_of(end);
    let mut at = start;
    for _ in 0..steps {
        if at == end {
            return;
        }
        let slot = slot_of(at);
        let Edge::Alias(next) = slot.edge() else {
            return;
        };
        if slot.cached_canonical().is_some() {
            // The path reached a canonical ref meanwhile: `end` is not open.
            return;
        }
        let jump = slot.jump();
        // `at` is before `end`; so is the ref its jump or edge names while
        // `end` is open (module docs). Checked after reading the jump and
        // before replacing it: a jump before the open end names an alias,
        // so the CAS below can only replace a hint, never a canonical
        // cache holding the same value (the canonical ref lies past `end`).
        if !matches!(end_slot.edge(), Edge::Open { .. }) {
            return;
        }
        if next != end && jump != Some(end) {
            slot.advance_jump(jump, end);
        }
        at = jump.unwrap_or(next);
    }
}

/// Regression tests for walks that re-walked long open paths on every call
/// (quadratic chain building, slow calls on open chains, deadlines missed
/// inside one long walk, repeats that walked their target's list).
#[cfg(all(test, not(loom)))]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{AliasError, AliasTable, ObjRef};

    fn refs(table: &AliasTable, n: usize) -> Vec<ObjRef> {
        (0..n).map(|_| table.register().unwrap()).collect()
    }

    fn steps_from(table: &AliasTable, r: ObjRef) -> u32 {
        table.walk(r.index(), None, Follow::Jumps, None).steps
    }

    #[test]
    fn building_a_chain_from_its_root_end_walks_a_bounded_distance() {
        let table = AliasTable::new();
        let x = refs(&table, 20_001);
        for k in (0..20_000).rev() {
            table.alias(x[k], x[k + 1]).unwrap();
            // The next alias's pre-check walks from `x[k]`.
            let steps = steps_from(&table, x[k]);
            assert!(steps <= COMPRESS_OPEN_AFTER, "{steps} steps from x[{k}]");
        }
        table.add_canonical(x[20_000]).unwrap();
        assert_eq!(table.resolve(x[0]), Ok(x[20_000]));
    }

    #[test]
    fn a_long_open_chain_is_walked_once_then_jumped() {
        let table = AliasTable::new();
        let x = refs(&table, 100_001);
        for k in 0..100_000 {
            table.alias(x[k], x[k + 1]).unwrap();
        }
        assert_eq!(steps_from(&table, x[0]), 100_000);
        assert_eq!(table.try_resolve(x[0]), Ok(None));
        assert_eq!(steps_from(&table, x[0]), 1);
        // A new alias of the head, and its target's later walks, too.
        let y = table.register().unwrap();
        table.alias(y, x[0]).unwrap();
        assert!(steps_from(&table, y) <= 2);
        // The jumps never hide the path's refs from `equivalent`.
        assert_eq!(table.equivalent(x[0]).unwrap().len(), 100_002);
        // Completing the end turns the jumps into canonical caches.
        table.add_canonical(x[100_000]).unwrap();
        assert_eq!(table.resolve(x[0]), Ok(x[100_000]));
        assert_eq!(table.resolve(y), Ok(x[100_000]));
        assert_eq!(steps_from(&table, x[0]), 0, "cached in its own row");
    }

    #[test]
    fn a_timed_out_walk_stops_at_its_deadline_and_keeps_its_progress() {
        let table = AliasTable::new();
        let n = 50 * STEPS_PER_CLOCK_CHECK as usize;
        let x = refs(&table, n + 1);
        for k in 0..n {
            table.alias(x[k], x[k + 1]).unwrap();
        }
        let passed = Some(Instant::now());
        let walked = table.walk(x[0].index(), None, Follow::Jumps, passed);
        assert_eq!(
            walked.steps, STEPS_PER_CLOCK_CHECK,
            "the first clock check ends it"
        );
        assert!(matches!(walked.end, WalkEnd::TimedOut(_)));
        // Each timed-out resolve resumes where the last one stopped, so a
        // bounded number of them reach the end of the path.
        let mut calls = 0;
        while steps_from(&table, x[0]) > 1 {
            assert_eq!(
                table.resolve_timeout(x[0], Duration::ZERO),
                Err(AliasError::Timeout(x[0]))
            );
            calls += 1;
            assert!(
                calls <= n / STEPS_PER_CLOCK_CHECK as usize + 1,
                "no progress"
            );
        }
    }

    #[test]
    fn a_repeated_alias_under_a_hot_target_needs_no_list_walk() {
        let table = AliasTable::new();
        let target = table.register().unwrap();
        let aliases = refs(&table, 10_000);
        for &a in &aliases {
            table.alias(a, target).unwrap();
        }
        for &a in &aliases {
            // Marked listed: the repeat below returns without a list walk.
            assert!(table.slot_at(a.index()).is_listed());
            assert_eq!(table.alias(a, target), Ok(()));
        }
        assert_eq!(table.aliases(target).unwrap(), aliases);
    }
}
