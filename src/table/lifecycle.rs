//! The lifecycle: holders, pins, and the release of every ref exactly once,
//! in order, including refs on cycles.
//!
//! # The model
//!
//! * `register` returns a ref with one holder (the caller) that is
//!   *pending*: pinned until its own `alias(r, _)` or `add_canonical(r)`
//!   takes effect, so a task's output cannot be released before the task
//!   reported it (the original scheduler's issue #120).
//! * Each live alias *pins* its target. A ref *dies* when it has no
//!   holders, is not pending and no live alias pins it. A dying alias drops
//!   its pin after its release is reported, which may kill its target in
//!   the same call: release cascades up the path, bottom-up, in a loop.
//! * An object (its canonical ref) therefore dies exactly when no ref of
//!   its tree is held or pending, the seed's rule, without scanning the
//!   tree on every decrement.
//!
//! # The life word
//!
//! One `u32` per ref, in its reverse-table row (it changes when aliases
//! come and go, like the list head beside it):
//!
//! | bits  | name       | meaning                                                   |
//! |-------|------------|-----------------------------------------------------------|
//! | 31    | `RELEASED` | the ref died; final                                       |
//! | 30    | `PENDING`  | the ref's own `alias` / `add_canonical` has not taken effect |
//! | 29    | `RING`     | the ref is on a cycle; the word changes only under the ring lock |
//! | 0..29 | count      | holders + pins (live aliases, and `alias` calls about to commit one) |
//!
//! The exact number of holders is kept apart, in a `u16` per ref (the
//! holder table), for [`AliasTable::holders`] and so that a `decref` can
//! never take a pin's unit: `holders <= count` always, because `incref`
//! raises the count before the holders and `decref` lowers the holders
//! before the count (both AcqRel, so the second step of one call is ordered
//! after the first step of any call whose effect it read).
//!
//! Transitions, each one CAS on the life word:
//!
//! * **add** (`incref`, and `alias` pinning its target before it commits
//!   the edge): count + 1, refused if `RELEASED` (the ref's release has
//!   begun: it is never resurrected) or if the count is full.
//! * **sub** (an `alias` that lost its commit, a dying alias dropping its
//!   pin, a call giving back the unit it held): count - 1; **sub two**
//!   (`decref`: the holder's unit and the one the call held).
//! * **settle** (the ref's own `alias` or `add_canonical` took effect):
//!   clears `PENDING`.
//!
//! A call that changes a ref's counts first *holds* a unit of it (add,
//! then check the generation again; see `recycle`), so that the ref, and
//! with it the slot, stays the same for the rest of the call. The one ref
//! that needs no unit is the pending ref an `alias` or `add_canonical`
//! completes: its CAS fails on a newer ref in the slot (see `target`), and
//! once it succeeded the ref stays pending until the call settles it.
//!
//! A sub or settle whose result has count 0 and no `PENDING` sets
//! `RELEASED` *in the same CAS*. So exactly one call sees the ref die, and
//! no add can slip in between the decision and the release: an add that
//! reads the old value fails its CAS and re-reads `RELEASED`.
//!
//! # Releasing
//!
//! The call that set `RELEASED` marks the row `DEAD` (the generation
//! word's flag, which every call checks: from here on the ref is stale),
//! reports the release to the handler, and only then, for an alias, drops
//! its pin on its target. So an `Object` report starts only after every
//! `Alias` report of its tree has returned, on whatever threads they ran.
//! If the pin was the target's last unit, the same loop goes on with the
//! target: a chain of any length is released without recursion. Nothing
//! is held while the handler runs, so it may call back into the table.
//!
//! # Cycles
//!
//! On a cycle every member is pinned by the member before it, so none
//! could ever die by the rule above, and the refs on a cycle would leak.
//! A cycle is therefore released as one unit, when it is *at rest*: every
//! member's count is 1 (its ring pin only: no holders, no alias from
//! outside) and none is pending. Members must die together: a walk from a
//! ref leading into the cycle goes round all of it, so no member may
//! disappear while another lives.
//!
//! * The `alias` call that finds its own edge closes a cycle (the cycle
//!   protocol in `table::alias`: at least one of the calls that close a
//!   cycle does) takes the table's ring lock and sets `RING` on every
//!   member. It is still pending itself; its `settle` comes after the
//!   marking.
//! * Every change of a `RING` word is made under the ring lock; a change
//!   that leaves a member at count 1 and not pending checks the cycle.
//!   A lock-free CAS that read a word before `RING` was set fails, re-reads
//!   it and takes the lock.
//! * The check walks the cycle by its (final) edges, and if every member
//!   is at rest sets `RELEASED` on all of them, still under the lock, so no
//!   change to any member can come in between. The releases are reported
//!   after the lock is dropped.
//!
//! The last change that brings a cycle to rest is made after the marking:
//! the marking call's own `settle` comes after it, and a cycle whose
//! marking call is pending is not at rest. Made after the marking, that
//! change takes the lock and checks, so a cycle at rest is released.
//! The lock is only ever taken for refs on cycles, which are a caller's
//! error; every other ref's lifecycle is lock-free.

use crate::recycle::ReadGuard;
use crate::sync::{AtomicU16, AtomicU32, MutexGuard, Ordering};
use crate::target::{Edge, TargetSlot};
use crate::{AliasError, AliasTable, ObjRef};

/// A release, as told to the handler set with
/// [`AliasTableBuilder::on_release`](crate::AliasTableBuilder::on_release).
///
/// Inside the handler the released ref is already stale: every call with
/// it returns [`AliasError::StaleRef`].
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use halo_alias::{AliasTable, Released};
///
/// let events = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&events);
/// let table = AliasTable::builder()
///     .on_release(move |released| log.lock().unwrap().push(released))
///     .build();
/// let (g, f) = (table.register()?, table.register()?);
/// table.alias(g, f)?;
/// table.add_canonical(f)?;
/// table.decref(f)?; // g still pins f
/// table.decref(g)?;
/// assert_eq!(
///     *events.lock().unwrap(),
///     [Released::Alias { alias: g, target: f }, Released::Object { canonical: f }]
/// );
/// assert_eq!(table.len(), 0);
/// # Ok::<(), halo_alias::AliasError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Released {
    /// An alias died; its object may live on through other refs.
    Alias {
        /// The released alias.
        alias: ObjRef,
        /// Its direct target (which it pinned until this report returned).
        target: ObjRef,
    },
    /// The canonical ref died: no ref of the object remains, free it.
    Object {
        /// The released canonical ref.
        canonical: ObjRef,
    },
}

/// The handler of a table's releases.
pub(crate) type ReleaseHandler = std::sync::Arc<dyn Fn(Released) + Send + Sync>;

const RELEASED: u32 = 1 << 31;
const PENDING: u32 = 1 << 30;
const RING: u32 = 1 << 29;
const COUNT: u32 = RING - 1;

/// The life word of a freshly registered ref: pending, one holder.
pub(crate) const REGISTERED: u32 = PENDING | 1;

/// One ref's exact number of holders.
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct HolderSlot(AtomicU16);

crate::segments::slots_per_line!(HolderSlot, 32);

// SAFETY: one `AtomicU16` (`repr(transparent)`); all-zero is a valid
// `AtomicU16` (and `register` sets the count before publishing the ref).
#[cfg(not(loom))]
unsafe impl bytemuck::Zeroable for HolderSlot {}

impl HolderSlot {
    pub(crate) fn reset(&self, holders: u16) {
        // Published with the ref by `register`'s Release store of the
        // generation word. Release too, for a reused slot: a stale reader
        // that sees this value then sees its ref dead (see `recycle`).
        self.0.store(holders, Ordering::Release);
    }
}

/// A change of a life word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Add,
    Sub,
    /// Clear `PENDING`.
    Settle,
    /// Drop two units (a holder's and the one its `decref` held).
    SubTwo,
}

/// Why an add was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The ref's release has begun.
    Released,
    /// The count is full.
    Full,
}

/// What a change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Changed {
    /// The ref lives on.
    Alive,
    /// This change released the ref; the caller releases it.
    Released,
    /// A ring member was left with its ring pin only: check its cycle.
    RingAtRest,
}

/// Applies `step` to `word` by CAS (module docs). `None`: the word is a
/// ring member's and `locked` is false; retry under the ring lock.
fn change(word: &AtomicU32, step: Step, locked: bool) -> Option<Result<Changed, Refused>> {
    // Acquire: a value read here is only a CAS's expected value; the CAS
    // below does the ordering.
    let mut current = word.load(Ordering::Acquire);
    loop {
        if current & RING != 0 && !locked {
            return None;
        }
        let next = match step {
            Step::Add if current & RELEASED != 0 => return Some(Err(Refused::Released)),
            Step::Add if current & COUNT == COUNT => return Some(Err(Refused::Full)),
            Step::Add => current + 1,
            Step::Sub => {
                debug_assert!(current & COUNT != 0 && current & RELEASED == 0);
                current - 1
            }
            Step::SubTwo => {
                debug_assert!(current & COUNT >= 2 && current & RELEASED == 0);
                current - 2
            }
            Step::Settle => {
                debug_assert!(current & PENDING != 0 && current & RELEASED == 0);
                current & !PENDING
            }
        };
        let at_rest = next & (COUNT | PENDING);
        let (next, changed) = if next & RING != 0 {
            let changed = if at_rest == 1 {
                Changed::RingAtRest
            } else {
                Changed::Alive
            };
            (next, changed)
        } else if at_rest == 0 {
            (next | RELEASED, Changed::Released)
        } else {
            (next, Changed::Alive)
        };
        // AcqRel: Release so that the thread that releases the ref sees
        // every holder's work before its last unit went (as `Arc`'s drop);
        // Acquire for that thread, and so that an add or pin that follows a
        // change it read is ordered after it.
        match word.compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Some(Ok(changed)),
            Err(now) => current = now,
        }
    }
}

impl AliasTable {
    /// Adds a holder to `r`.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was never handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released (also if its release
    ///   began while this call ran: a released ref never comes back).
    /// * [`AliasError::TooManyHolders`]: `r` has `u16::MAX` holders, or
    ///   its count of holders and aliases is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let r = table.register()?;
    /// table.incref(r)?;
    /// assert_eq!(table.holders(r)?, 2);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn incref(&self, r: ObjRef) -> Result<(), AliasError> {
        self.hold(r)?;
        let index = r.index();
        // The unit just held is the new holder's.
        if !self.update_holders(index, |holders| holders.checked_add(1)) {
            // Give the unit back; if everything else let go meanwhile,
            // this releases the ref as that would have.
            self.sub_life(index);
            return Err(AliasError::TooManyHolders(r));
        }
        Ok(())
    }

    /// Drops a holder of `r`; if it was the last unit keeping `r` alive,
    /// releases `r` (and whatever that releases in turn) before returning.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was never handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released.
    /// * [`AliasError::NotHeld`]: `r` has no holders (its aliases or its
    ///   pending output keep it alive, and those are not the caller's to drop).
    ///
    /// # Examples
    ///
    /// ```
    /// use halo_alias::{AliasError, AliasTable};
    ///
    /// let table = AliasTable::new();
    /// let f = table.register()?;
    /// table.decref(f)?; // no holders, but pending: f lives until stored
    /// assert_eq!(table.decref(f), Err(AliasError::NotHeld(f)));
    /// table.add_canonical(f)?; // stored with nobody holding it: released
    /// assert_eq!(table.decref(f), Err(AliasError::StaleRef(f)));
    /// # Ok::<(), AliasError>(())
    /// ```
    pub fn decref(&self, r: ObjRef) -> Result<(), AliasError> {
        // Held for the call, so that the holder count below is `r`'s (its
        // slot cannot be reused while a unit is held).
        self.hold(r)?;
        let index = r.index();
        if !self.update_holders(index, |holders| holders.checked_sub(1)) {
            self.sub_life(index);
            return Err(AliasError::NotHeld(r));
        }
        // The holder's unit and the one held: two units, one CAS.
        let _ = self.change_life(index, Step::SubTwo);
        Ok(())
    }

    /// How many holders `r` has (pins by aliases and a pending output do
    /// not count).
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was never handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released.
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let (g, f) = (table.register()?, table.register()?);
    /// table.alias(g, f)?;
    /// table.decref(f)?;
    /// assert_eq!(table.holders(f)?, 0); // alive: g pins it
    /// assert_eq!(table.holders(g)?, 1);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn holders(&self, r: ObjRef) -> Result<u32, AliasError> {
        // Acquire: pairs with the holder RMWs, and keeps `read_live`'s
        // second check after the read.
        let holders =
            self.read_live(r, |_| self.holder_slot(r.index()).0.load(Ordering::Acquire))?;
        Ok(u32::from(holders))
    }

    /// Holds a unit of live ref `r` for the length of a call (`alias` of
    /// its target, and of its alias on a repeat; `incref`; `decref`):
    /// while it is held, `r` is not released and
    /// its slot not reused. The unit is added first and `r` checked again
    /// after: a unit that landed on a newer ref in the same slot is given
    /// back (that ref could not be released in between, since the unit
    /// kept it alive, so the unit goes back to the ref it was added to).
    /// Giving it back releases that ref if everything else let go
    /// meanwhile: the one trace a stale call can leave, stated in the
    /// README. Keeping it out would take a generation in the life word
    /// (no room beside a 29-bit count) or an epoch pin per call.
    pub(crate) fn hold(&self, r: ObjRef) -> Result<(), AliasError> {
        // Checked before too: the life word of a slot never registered is
        // not a ref's, and `register` writes it with a plain store.
        self.hold_checked(self.slot(r)?, r)
    }

    /// [`hold`](Self::hold) for a caller that has just checked `r` live
    /// and passes its slot.
    pub(crate) fn hold_checked(&self, slot: &TargetSlot, r: ObjRef) -> Result<(), AliasError> {
        self.change_life(r.index(), Step::Add)
            .map_err(|refused| match refused {
                Refused::Released => {
                    // The release has begun; make every later call see
                    // it, whether or not the releaser has marked it yet.
                    slot.mark_dead(r.generation());
                    AliasError::StaleRef(r)
                }
                Refused::Full => AliasError::TooManyHolders(r),
            })?;
        if let Err(error) = Self::check_live(slot, r) {
            self.sub_life(r.index());
            return Err(error);
        }
        Ok(())
    }

    /// Adds a unit to ref `index`, found open (so pending) by a walk from a
    /// live ref. Returns whether it was added: not if the count is full,
    /// nor if the ref was completed and released since (then the ref the
    /// walk started from was released before it, and the caller finds it
    /// stale).
    pub(crate) fn add_life(&self, index: u32) -> bool {
        self.change_life(index, Step::Add).is_ok()
    }

    /// Drops one unit of `index`'s count (a holder's, already taken off
    /// the holder table, or a pin), releasing what dies.
    pub(crate) fn sub_life(&self, index: u32) {
        let _ = self.change_life(index, Step::Sub);
    }

    /// Clears `index`'s `PENDING`: its own `alias` or `add_canonical`
    /// took effect. Releases the ref if nothing else keeps it alive.
    pub(crate) fn settle(&self, index: u32) {
        let _ = self.change_life(index, Step::Settle);
    }

    /// Applies `step` to `index`'s life word (under the ring lock if it is
    /// a ring member's) and releases whatever it kills.
    fn change_life(&self, index: u32, step: Step) -> Result<(), Refused> {
        let word = self.reverse.life(index);
        match change(word, step, false) {
            Some(Ok(Changed::Released)) => {
                self.release_from(index);
                Ok(())
            }
            Some(changed) => changed.map(|_| ()),
            None => {
                let rings = self.lock_rings();
                let changed = change(word, step, true).expect("locked changes always apply")?;
                if changed == Changed::RingAtRest {
                    let released = self.release_ring_if_at_rest(&rings, index);
                    drop(rings);
                    self.report_ring(&released);
                }
                Ok(())
            }
        }
    }

    /// Releases `index`, whose life word this thread just set `RELEASED`,
    /// and every target up the path that dies with it, bottom-up.
    fn release_from(&self, mut index: u32) {
        loop {
            let released = self.mark_released(index);
            match self.slot_at(index).edge() {
                Edge::Canonical => {
                    self.report(Released::Object {
                        canonical: released,
                    });
                    let guard = self.recycler.pin();
                    self.free_aliases_of(&guard, index);
                    self.free_slot(&guard, index);
                    return;
                }
                Edge::Alias(target) => {
                    self.report(Released::Alias {
                        alias: released,
                        target: self.ref_at(target),
                    });
                    // Its own aliases are released; it stays in its
                    // target's list until the target is released. (The
                    // guard is taken only here, not across the handler:
                    // a slow handler must not hold up reuse everywhere.)
                    self.free_aliases_of(&self.recycler.pin(), index);
                    // The pin goes only now: the target outlives the report.
                    match change(self.reverse.life(target), Step::Sub, false) {
                        Some(Ok(Changed::Released)) => index = target,
                        Some(Ok(_)) => return,
                        Some(Err(_)) => unreachable!("a sub is never refused"),
                        // A target on a cycle (this alias led into it).
                        None => {
                            let _ = self.change_life(target, Step::Sub);
                            return;
                        }
                    }
                }
                Edge::Open { .. } => unreachable!("an open ref is pending, so alive"),
            }
        }
    }

    /// Frees every node of released ref `index`'s list: all released (a
    /// live alias would have pinned it), and reachable through nothing else.
    fn free_aliases_of(&self, guard: &ReadGuard<'_>, index: u32) {
        self.reverse.for_each_node(
            |i| self.slot_at(i),
            index,
            |alias| self.free_slot(guard, alias),
        );
    }

    /// Frees the slot of a released ref that nothing leads to any more:
    /// reusable with the next generation, or retired if that would pass the
    /// table's limit.
    fn free_slot(&self, guard: &ReadGuard<'_>, index: u32) {
        let generation = self
            .slot_at(index)
            .generation()
            .expect("released refs were registered");
        if generation + 1 < self.generations {
            self.recycler.free(guard, index);
        }
    }

    /// Marks the row of a ref that was just released `DEAD` and counts it.
    fn mark_released(&self, index: u32) -> ObjRef {
        let released = self.ref_at(index);
        self.slot_at(index).mark_dead(released.generation());
        self.indexes.count_released();
        released
    }

    fn report(&self, released: Released) {
        if let Some(handler) = &self.on_release {
            handler(released);
        }
    }

    /// Reports the members of a cycle released together, and frees them
    /// and what hangs below them: every member is a node of another
    /// member's list.
    fn report_ring(&self, members: &[u32]) {
        if members.is_empty() {
            return;
        }
        let released: Vec<(ObjRef, ObjRef)> = members
            .iter()
            .map(|&member| {
                let target = match self.slot_at(member).edge() {
                    Edge::Alias(target) => target,
                    _ => unreachable!("cycle members are aliases"),
                };
                (self.ref_at(member), self.ref_at(target))
            })
            .collect();
        for &member in members {
            self.mark_released(member);
        }
        for (alias, target) in released {
            self.report(Released::Alias { alias, target });
        }
        let guard = self.recycler.pin();
        for &member in members {
            self.free_aliases_of(&guard, member);
        }
    }

    fn lock_rings(&self) -> MutexGuard<'_, ()> {
        // Nothing panics under the lock but the allocator: a poisoned lock
        // guards no broken state.
        self.rings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks every member of the cycle through `alias`, whose `alias` call
    /// found that its edge closed it. That call is still pending, so the
    /// cycle cannot be at rest yet: its `settle`, which comes next and
    /// takes the ring lock, is the first change that can bring it to rest.
    pub(crate) fn close_ring(&self, alias: u32) {
        let _rings = self.lock_rings();
        for member in self.ring_members(alias) {
            // Relaxed: a lock-free CAS that read the word before fails,
            // being an RMW on the same word, and re-reads it; everything
            // else about ring members is ordered by the lock.
            self.reverse.life(member).fetch_or(RING, Ordering::Relaxed);
        }
    }

    /// The members of the cycle through `member`, by their final edges,
    /// starting with `member`.
    fn ring_members(&self, member: u32) -> Vec<u32> {
        let mut members = vec![member];
        let mut at = member;
        loop {
            at = match self.slot_at(at).edge() {
                Edge::Alias(target) => target,
                _ => unreachable!("a cycle has no open or canonical ref"),
            };
            if at == member {
                return members;
            }
            members.push(at);
        }
    }

    /// Under the ring lock: releases the cycle through `member` if every
    /// member is at rest, returning the members released.
    fn release_ring_if_at_rest(&self, _rings: &MutexGuard<'_, ()>, member: u32) -> Vec<u32> {
        let members = self.ring_members(member);
        // Acquire: pairs with the AcqRel changes made before the lock was
        // taken (the lock orders those made under it).
        let at_rest = members.iter().all(|&member| {
            self.reverse.life(member).load(Ordering::Acquire) & (RELEASED | PENDING | COUNT) == 1
        });
        if !at_rest {
            return Vec::new();
        }
        for &member in &members {
            // Every change of a ring member's word is made under the lock
            // this thread holds: the word is still at rest.
            self.reverse
                .life(member)
                .fetch_or(RELEASED, Ordering::AcqRel);
        }
        members
    }

    /// Applies `f` to `index`'s holder count; `false` if `f` refused.
    fn update_holders(&self, index: u32, f: impl FnMut(u16) -> Option<u16>) -> bool {
        // AcqRel: see the module docs (holders <= count).
        self.holder_slot(index)
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, f)
            .is_ok()
    }

    pub(crate) fn holder_slot(&self, index: u32) -> &HolderSlot {
        self.holders
            .get(index)
            .expect("registered refs have their holder slot allocated before they are published")
    }
}
