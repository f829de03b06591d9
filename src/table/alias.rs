//! `alias` and `add_canonical`: the calls that set edges, and the
//! protocol that keeps `alias` from closing a cycle unnoticed.
//!
//! # The alias protocol
//!
//! `alias(a, t)` must set `a`'s edge to `t` unless that closes a cycle.
//! Whether it does depends on other refs' edges, which other threads set at
//! the same time, so no single CAS can decide it. The protocol:
//!
//! 1. **Validate** both refs and read `a`'s edge: an existing edge to `t`
//!    is a repeat (go to 5), any other edge is an error.
//! 2. **Pre-check:** walk from `t`. Reaching `a` means the cycle is already
//!    visible: return `Err(Cycle)` having written nothing. Reaching a
//!    canonical ref means `t`'s path is final, so no cycle is possible.
//! 3. **Commit:** CAS `a`'s edge from open to `Alias(t)`, with `a`'s list
//!    successor in the same word (waking sleepers if the flag was set),
//!    then splice `a` into `t`'s reverse list and mark it listed.
//! 4. **Post-check** (only if step 2 ended at an open ref `e`): a SeqCst
//!    fence, then walk from `e`. Reaching `a` means racing calls closed a
//!    cycle together: return `Err(Cycle)`. The edge stays: it has already
//!    taken effect and other threads may have followed it.
//! 5. **Repeat:** unless `a` is marked listed, help finish the splice (it
//!    is idempotent and helpable), fence and walk from `t` as in 4, and
//!    return `Ok` unless the edge is part of a cycle.
//!
//! **Why racing calls cannot all miss their cycle.** Suppose calls
//! `alias(a_1, t_1) .. alias(a_k, t_k)` each committed and together close a
//! cycle. Edges are final, so the cycle stays. Each call fenced after its
//! commit; take the call `j` whose fence is last in the SeqCst total order.
//! Every other call's commit is sequenced before its own fence, which
//! precedes `j`'s fence, so `j`'s post-check loads see those edges (the
//! fence-to-fence rule of the C++/Rust memory model). `j` walks from the
//! open end `e_j` it found before committing: `t_j`'s path reaches `e_j`
//! and from there the other cycle edges lead back to `a_j`, so `j` returns
//! `Err(Cycle)`. Walks detect cycles by themselves (Brent), so no walk can
//! loop on a cycle that it is not the one to report. Walks follow jumps
//! (see `walk`), and a jump written by a walk that passed through `a_j`
//! after its commit may lead past `a_j`: `j`'s walk then finds a cycle
//! without stopping at `a_j`, and an edge-by-edge walk from `e_j`, which
//! meets every ref of the path, decides whether it passes through `a_j`.
//!
//! A call whose pre-check ended at a canonical ref skips the fence: its
//! edge leads to a canonical ref forever and cannot lie on a cycle.

use super::events::{self, Panic};
use super::AliasTable;
use crate::reverse::ReverseTable;
use crate::sync::{fence, Ordering};
use crate::target::{Completion, Edge, Link, TargetSlot};
use crate::walk::{compress, Follow, WalkEnd};
use crate::{AliasError, ObjRef};

/// Whether `alias_open` committed the edge (so the unit held on the
/// target is now its pin).
enum Outcome {
    /// With the panic of a waiter's callback, if one panicked.
    Committed(Result<(), AliasError>, Option<Panic>),
    NotCommitted(Result<(), AliasError>),
}

impl AliasTable {
    /// Records that `alias` refers to the same object as `target`.
    ///
    /// Repeating a call that took effect returns `Ok` and changes nothing,
    /// unless its edge lies on a cycle that racing calls closed: then it
    /// returns `Err(Cycle)` like the call that found the cycle; or unless
    /// `alias` has been released since (a call that settles an unheld
    /// `alias` releases it at once): then `Err(StaleRef)`.
    /// The call returns only once the reverse edge is listed, so an
    /// [`equivalent`](Self::equivalent) or [`aliases`](Self::aliases) that
    /// starts afterwards includes `alias`.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: either ref was not handed out by this table.
    /// * [`AliasError::StaleRef`]: either ref was released (naming `alias`
    ///   if both were), also if its release races this call.
    /// * [`AliasError::TooManyHolders`]: `target` has as many holders and
    ///   aliases as its count holds (2^29 - 1).
    /// * [`AliasError::SelfAlias`]: `alias == target`.
    /// * [`AliasError::AlreadyAliased`]: `alias` already has another target.
    /// * [`AliasError::AlreadyCanonical`]: `alias` is canonical.
    /// * [`AliasError::Cycle`]: `target`'s path leads to `alias` (naming
    ///   `alias`) or into a cycle (naming `target`). Nothing changes, except
    ///   when racing calls closed the cycle together: see the crate's
    ///   Consistency section.
    ///
    /// # Examples
    ///
    /// ```
    /// use halo_alias::{AliasError, AliasTable};
    ///
    /// let table = AliasTable::new();
    /// let (a, b) = (table.register()?, table.register()?);
    /// table.alias(a, b)?;
    /// table.alias(a, b)?; // a retry: fine
    /// assert_eq!(table.alias(b, a), Err(AliasError::Cycle(b)));
    /// # Ok::<(), AliasError>(())
    /// ```
    pub fn alias(&self, alias: ObjRef, target: ObjRef) -> Result<(), AliasError> {
        let alias_slot = self.slot(alias)?;
        let target_slot = self.slot(target)?;
        if alias == target {
            return Err(AliasError::SelfAlias(alias));
        }
        if !matches!(alias_slot.edge(), Edge::Open { .. }) {
            return self.alias_repeat(alias, target);
        }
        // Hold `target` for the call (see `lifecycle`): it is not released,
        // nor its slot reused, under it, and the unit becomes the edge's pin
        // if the edge is committed, so that `target` cannot be released
        // between the commit and the pin. `alias` needs no unit: the commit
        // CAS fails on a newer ref in its slot (the open word's tag), and
        // once committed it is pending until this call settles it.
        self.hold_checked(target_slot, target)?;
        match self.alias_open(alias, target) {
            Outcome::Committed(result, panic) => {
                // The edge took effect: `alias` is no longer pending, and
                // if nobody holds it, it is released now.
                self.settle(alias.index());
                events::resume(panic);
                result
            }
            Outcome::NotCommitted(result) => {
                self.sub_life(target.index());
                result
            }
        }
    }

    /// `alias` whose edge was set when the call began (a repeat, most
    /// likely): answered with `alias` held, since it may be released at
    /// any time.
    fn alias_repeat(&self, alias: ObjRef, target: ObjRef) -> Result<(), AliasError> {
        self.hold(alias)?;
        let alias_slot = self.slot_at(alias.index());
        let result = self.alias_already_set(alias, alias_slot, target, alias_slot.edge());
        // `target` was checked live when the call began, not since: if it
        // was released meanwhile, the call is about a stale ref. (An edge
        // to `target` itself keeps it alive: `alias` is held and pins it.)
        let result = match result {
            Err(error) => self.slot(target).and(Err(error)),
            ok => ok,
        };
        self.sub_life(alias.index());
        result
    }

    /// The alias protocol (module docs) for an `alias` found open, with
    /// `target` held.
    fn alias_open(&self, alias: ObjRef, target: ObjRef) -> Outcome {
        let (a, t) = (alias.index(), target.index());
        let alias_slot = self.slot_at(a);

        // Step 2: refuse a cycle that is already visible. `a` is open, so
        // a path that reaches it ends there and no jump can lead past it.
        let walked = self.walk(t, Some(a), Follow::Jumps, None);
        let refused = match walked.end {
            WalkEnd::Stopped => Some(AliasError::Cycle(alias)),
            WalkEnd::Cycle => Some(AliasError::Cycle(target)),
            _ => None,
        };
        if let Some(error) = refused {
            // `alias` was open when the call began, but a racing call may
            // have completed and released it and its slot taken a newer
            // ref, which the walk met: the answer is `alias`'s only if its
            // generation is unchanged now (generations only grow, so then
            // the slot held `alias` throughout the walk).
            return Outcome::NotCommitted(self.slot(alias).and(Err(error)));
        }
        let end = walked.end;
        // Keep later pre-checks through `t` short.
        compress(|i| self.slot_at(i), t, walked);

        // Step 3: commit the edge together with its list successor, then
        // splice it in.
        let successor = self.reverse.successor_for(|i| self.slot_at(i), target);
        let wake = |word: &_| self.futex.wake_all(word);
        let generation = alias.generation();
        let listeners =
            match alias_slot.complete(a, generation, Edge::Alias(t), successor.link, wake) {
                Completion::Done { listeners } => listeners,
                Completion::Stale => {
                    return Outcome::NotCommitted(Err(AliasError::StaleRef(alias)))
                }
                // Set by a racing call (or the slot holds a newer ref by now,
                // which the repeat path tells).
                Completion::AlreadySet(_) => {
                    return Outcome::NotCommitted(self.alias_repeat(alias, target))
                }
            };
        self.reverse
            .splice(|i| self.slot_at(i), target, alias, successor);
        alias_slot.mark_listed(generation);

        // Step 4: a cycle closed by racing calls.
        let checked = match end {
            WalkEnd::Open(open_end) => self.check_no_cycle_through(alias, open_end),
            _ => Ok(()),
        };
        if checked.is_err() {
            // This edge closed a cycle: its refs live and die as one.
            self.close_ring(a);
        }
        // Before the caller settles `alias`: see `events`.
        let panic = if listeners {
            self.hand_on_waiters(a, generation)
        } else {
            None
        };
        Outcome::Committed(checked, panic)
    }

    /// `alias(alias, target)` found `alias`'s edge already set to `set`.
    fn alias_already_set(
        &self,
        alias: ObjRef,
        alias_slot: &TargetSlot,
        target: ObjRef,
        set: Edge,
    ) -> Result<(), AliasError> {
        match set {
            // The same slot, but a newer ref in it: `target` was released
            // and its slot reused since the call began (`existing`, which
            // the held `alias` pins, is the ref the slot holds now).
            Edge::Alias(existing)
                if existing == target.index() && self.ref_at(existing) != target =>
            {
                Err(AliasError::StaleRef(target))
            }
            // Step 5: a repeat (or a twin racing us) that took effect.
            Edge::Alias(existing) if existing == target.index() => {
                if !alias_slot.is_listed() {
                    // The original may be stalled before or in its splice:
                    // finish it. `next` is the committed successor unless
                    // the ref was spliced already and another node went in
                    // behind it; then the walk from the head meets the ref
                    // itself first, and stops.
                    let successor = ReverseTable::committed(alias_slot.next());
                    self.reverse
                        .splice(|i| self.slot_at(i), target, alias, successor);
                    // The mark is left to the call that set the edge (see
                    // `target`): until it is there, repeats help again.
                }
                self.check_no_cycle_through(alias, existing)
            }
            Edge::Alias(existing) => Err(AliasError::AlreadyAliased {
                alias,
                existing: self.ref_at(existing),
            }),
            Edge::Canonical => Err(AliasError::AlreadyCanonical(alias)),
            Edge::Open { .. } => unreachable!("callers pass a set edge"),
        }
    }

    /// The post-check of the module's protocol: does `from`'s path lead
    /// back to `alias`, whose edge is committed? Only a cycle through
    /// `alias` is this call's error.
    fn check_no_cycle_through(&self, alias: ObjRef, from: u32) -> Result<(), AliasError> {
        // SeqCst: totally orders this fence with the fences of racing alias
        // calls; the last of them sees every committed edge of a cycle (see
        // the module's proof). The loads after it may then be Acquire.
        fence(Ordering::SeqCst);
        let a = Some(alias.index());
        let walked = self.walk(from, a, Follow::Jumps, None);
        match walked.end {
            WalkEnd::Stopped => Err(AliasError::Cycle(alias)),
            // Jumps may lead past `alias` once its edge is set: only an
            // edge-by-edge walk tells whether the cycle passes through it.
            // A cycle further on that does not was closed by other calls,
            // and is theirs to report: the walk of the last of them to
            // fence goes round it back to its own alias.
            WalkEnd::Cycle => match self.walk(from, a, Follow::Edges, None).end {
                WalkEnd::Stopped => Err(AliasError::Cycle(alias)),
                _ => Ok(()),
            },
            WalkEnd::Canonical(_) | WalkEnd::Open(_) => {
                compress(|i| self.slot_at(i), from, walked);
                Ok(())
            }
            WalkEnd::TimedOut(_) => unreachable!("walk without a deadline"),
        }
    }

    /// Declares `r` canonical: it maps to itself and ends every path
    /// through it. Repeating it returns `Ok` while `r` lives (`StaleRef`
    /// once it is released: storing an unheld `r` releases it at once).
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released (also if it is
    ///   released while this call runs).
    /// * [`AliasError::AlreadyAliased`]: `r` is an alias (`existing` names its target).
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let f = table.register()?;
    /// table.add_canonical(f)?;
    /// assert!(table.is_canonical(f)?);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn add_canonical(&self, r: ObjRef) -> Result<(), AliasError> {
        let slot = self.slot(r)?;
        let wake = |word: &_| self.futex.wake_all(word);
        // The CAS fails on a newer ref in the slot (the open word's tag).
        let answer = match slot.complete(
            r.index(),
            r.generation(),
            Edge::Canonical,
            Link::Unlisted,
            wake,
        ) {
            Completion::Done { listeners } => {
                let panic = if listeners {
                    self.hand_on_waiters(r.index(), r.generation())
                } else {
                    None
                };
                // Stored: no longer pending; released now if nobody holds
                // it and no alias pins it.
                self.settle(r.index());
                events::resume(panic);
                return Ok(());
            }
            Completion::Stale => return Err(AliasError::StaleRef(r)),
            Completion::AlreadySet(Edge::Canonical) => Ok(()),
            Completion::AlreadySet(Edge::Alias(existing)) => Err(AliasError::AlreadyAliased {
                alias: r,
                existing: self.ref_at(existing),
            }),
            Completion::AlreadySet(Edge::Open { .. }) => {
                unreachable!("completion never leaves an edge open")
            }
        };
        // What was read is `r`'s (and `existing`, which `r` pins, is the
        // right ref) if `r` is still live now: a seqlock read.
        self.slot(r)?;
        answer
    }
}
