//! `resolve`, `resolve_timeout` and `try_resolve`: from a ref to its
//! canonical ref.
//!
//! **Resolvers** walk to the open end of the path and sleep on its `jump`
//! word after flagging its edge (see `target` for why no wake-up is lost). When it completes they
//! continue from there. A ref on or leading into a cycle has no open end:
//! the walk reports the cycle and the resolver returns `Err(Cycle)`, so
//! nothing sleeps on a cycle.

use std::time::{Duration, Instant};

use super::AliasTable;
use crate::sync::spin_until;
use crate::target::Edge;
use crate::walk::{compress, compress_to_canonical, walk, Follow, WalkEnd, Walked};
use crate::{AliasError, ObjRef};

impl AliasTable {
    /// `r`'s canonical ref if it is known now; never blocks.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released (also if it is
    ///   released while this call runs).
    /// * [`AliasError::Cycle`]: `r` is on or leads into a cycle.
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let (g, f) = (table.register()?, table.register()?);
    /// table.alias(g, f)?;
    /// assert_eq!(table.try_resolve(g)?, None);
    /// table.add_canonical(f)?;
    /// assert_eq!(table.try_resolve(g)?, Some(f));
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn try_resolve(&self, r: ObjRef) -> Result<Option<ObjRef>, AliasError> {
        if let Some(canonical) = self.resolved_from_own_row(r) {
            return Ok(Some(canonical));
        }
        // Checked under the guard: `r`'s slot, and its path while `r` is
        // live, are not reused before the guard drops (see `recycle`).
        let _guard = self.recycler.pin();
        // `r` may die during the walk and its path be completed after, by
        // a ref released since: the answer is `r`'s only if `r` is still
        // live after the walk.
        let walked = self.read_live(r, |_| self.walk(r.index(), None, Follow::Jumps, None))?;
        compress(|i| self.slot_at(i), r.index(), walked);
        match walked.end {
            WalkEnd::Canonical(c) => Ok(Some(ObjRef::new(c.index, c.generation))),
            WalkEnd::Open(_) => Ok(None),
            WalkEnd::Cycle => Err(AliasError::Cycle(r)),
            WalkEnd::Stopped | WalkEnd::TimedOut(_) => {
                unreachable!("walk without a stop or deadline")
            }
        }
    }

    /// `r`'s canonical ref, waiting until the scheduler knows it.
    ///
    /// The caller sleeps on a futex while `r`'s path is open and wakes as
    /// soon as the call that completes it returns, whichever call that is.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released (also if it is
    ///   released while this call runs).
    /// * [`AliasError::Cycle`]: `r` is on or leads into a cycle (also if the
    ///   cycle closes while the caller waits).
    ///
    /// # Examples
    ///
    /// ```
    /// use halo_alias::AliasTable;
    ///
    /// let table = AliasTable::new();
    /// let (g, f) = (table.register()?, table.register()?);
    /// std::thread::scope(|s| {
    ///     let waiter = s.spawn(|| table.resolve(g));
    ///     table.alias(g, f).unwrap();
    ///     table.add_canonical(f).unwrap();
    ///     assert_eq!(waiter.join().unwrap(), Ok(f));
    /// });
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn resolve(&self, r: ObjRef) -> Result<ObjRef, AliasError> {
        self.resolve_until(r, None)
    }

    /// Like [`resolve`](Self::resolve), but gives up after `timeout`.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released (also if it is
    ///   released while this call runs).
    /// * [`AliasError::Cycle`]: `r` is on or leads into a cycle.
    /// * [`AliasError::Timeout`]: `r`'s path was still open at the deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use halo_alias::{AliasError, AliasTable};
    ///
    /// let table = AliasTable::new();
    /// let r = table.register()?;
    /// assert_eq!(table.resolve_timeout(r, Duration::from_millis(1)), Err(AliasError::Timeout(r)));
    /// # Ok::<(), AliasError>(())
    /// ```
    pub fn resolve_timeout(&self, r: ObjRef, timeout: Duration) -> Result<ObjRef, AliasError> {
        // A deadline past the end of time is no deadline.
        self.resolve_until(r, Instant::now().checked_add(timeout))
    }

    #[inline]
    fn resolve_until(&self, r: ObjRef, deadline: Option<Instant>) -> Result<ObjRef, AliasError> {
        match self.resolved_from_own_row(r) {
            Some(canonical) => Ok(canonical),
            None => self.resolve_by_walking(r, deadline),
        }
    }

    /// The fast path of `resolve` and `try_resolve`: `r` live, and
    /// canonical or with its canonical cached, read from `r`'s row
    /// without a guard (a seqlock read, see `recycle`). `None` sends the
    /// caller down the guarded path, which also tells every error apart.
    #[inline]
    fn resolved_from_own_row(&self, r: ObjRef) -> Option<ObjRef> {
        let slot = self.targets.get(r.index())?;
        let stamp = slot.live_stamp(r.generation())?;
        let canonical = match slot.cached_canonical_in(stamp) {
            Some(canonical) => ObjRef::new(canonical.index, canonical.generation),
            None if slot.edge() == Edge::Canonical => r,
            None => return None,
        };
        slot.unchanged(stamp).then_some(canonical)
    }

    /// Walks `r`'s path, sleeping at its open end until the path completes.
    #[inline(never)]
    fn resolve_by_walking(
        &self,
        r: ObjRef,
        deadline: Option<Instant>,
    ) -> Result<ObjRef, AliasError> {
        let mut from = r.index();
        // The open end this resolver slept on, which it holds a unit of:
        // no guard can be held while sleeping, and the unit keeps the futex
        // word from being reset for a newer ref (see `recycle`).
        let mut held: Option<u32> = None;
        let result = loop {
            // Checked under the guard: `r`'s slot, and its path while `r`
            // is live, are not reused before the guard drops.
            let guard = self.recycler.pin();
            // From the open end slept on (still held, so not reused) or
            // from `r`; checked as in `try_resolve`.
            let walked = match self.read_live(r, |_| self.walk(from, None, Follow::Jumps, deadline))
            {
                Ok(walked) => walked,
                Err(error) => break Err(error),
            };
            if let Some(open_end) = held.take() {
                // `r` is live, so the path through `from` is too.
                self.sub_life(open_end);
            }
            match walked.end {
                WalkEnd::Canonical(canonical) => {
                    compress_to_canonical(|i| self.slot_at(i), r.index(), canonical);
                    break Ok(ObjRef::new(canonical.index, canonical.generation));
                }
                WalkEnd::Cycle => break Err(AliasError::Cycle(r)),
                WalkEnd::TimedOut(_) => {
                    compress(|i| self.slot_at(i), from, walked);
                    break Err(AliasError::Timeout(r));
                }
                WalkEnd::Open(open_end) => {
                    compress(|i| self.slot_at(i), from, walked);
                    // Held across the sleep. Refused only if its count is
                    // full (then this resolver yields instead of sleeping)
                    // or if it was completed and released since the walk,
                    // which needs `r` released first (the check at the top
                    // of the loop finds it stale).
                    if self.add_life(open_end) {
                        held = Some(open_end);
                        drop(guard);
                        if let Err(error) = self.wait_for_edge(r, open_end, deadline) {
                            break Err(error);
                        }
                    } else {
                        drop(guard);
                        std::thread::yield_now();
                    }
                    // Edges before the open end are final: go on from there.
                    from = open_end;
                }
                WalkEnd::Stopped => unreachable!("walk without a stop"),
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                break Err(AliasError::Timeout(r));
            }
        };
        if let Some(open_end) = held {
            self.sub_life(open_end);
        }
        result
    }

    /// `walk` through this table.
    #[inline]
    pub(crate) fn walk(
        &self,
        start: u32,
        stop: Option<u32>,
        follow: Follow,
        deadline: Option<Instant>,
    ) -> Walked {
        walk(|i| self.slot_at(i), start, stop, follow, deadline)
    }

    /// Sleeps until `open_end`'s edge may have been set (or the deadline).
    #[cold]
    fn wait_for_edge(
        &self,
        r: ObjRef,
        open_end: u32,
        deadline: Option<Instant>,
    ) -> Result<(), AliasError> {
        let slot = self.slot_at(open_end);
        if spin_until(|| !matches!(slot.edge(), Edge::Open { .. })) {
            return Ok(());
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Err(AliasError::Timeout(r));
        }
        if !slot.announce_sleeper() {
            return Ok(());
        }
        let (word, expected) = slot.sleep_word();
        match deadline {
            None => self.futex.wait(word, expected),
            Some(deadline) => self.futex.wait_until(word, expected, deadline),
        }
        Ok(())
    }
}
