//! [`AliasTable`]: the three scheduler calls and the queries on top of the
//! target table (`target`) and the reverse table (`reverse`).
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
//!
//! **Resolvers** walk to the open end of the path and sleep on its `jump`
//! word after flagging its edge (see `target` for why no wake-up is lost). When it completes they
//! continue from there. A ref on or leading into a cycle has no open end:
//! the walk reports the cycle and the resolver returns `Err(Cycle)`, so
//! nothing sleeps on a cycle.
//!
//! **Progress.** `register`, `alias`, `add_canonical` and every query are
//! lock-free: each loop retries only when another thread's CAS succeeded,
//! and no call ever waits for another thread to finish its own steps (a
//! repeat finishes the original's reverse listing instead of waiting for it).
//! Only `resolve` and `resolve_timeout` block, and only while the path is
//! open.

use std::fmt;
use std::time::{Duration, Instant};

use crate::indexes::Indexes;
use crate::reverse::ReverseTable;
use crate::segments::Segments;
use crate::sync::{fence, spin_until, Futex, Ordering};
use crate::target::{Completion, Edge, Link, TargetSlot, GENERATIONS, MAX_INDEX};
use crate::walk::{compress, compress_to_canonical, walk, Follow, WalkEnd, Walked};
use crate::{AliasError, ObjRef};

/// Lock-free alias tables: which ref aliases which, and which are canonical.
///
/// See the [crate documentation](crate) for the model, the guarantees and
/// an example with threads. Every method takes `&self`; share the table
/// with `Arc` or scoped threads.
///
/// # Examples
///
/// ```
/// use halo_alias::AliasTable;
///
/// let table = AliasTable::new();
/// let (h, g, f) = (table.register()?, table.register()?, table.register()?);
/// table.alias(h, g)?;
/// table.add_canonical(f)?;
/// assert_eq!(table.try_resolve(h)?, None); // g's target is not known yet
/// table.alias(g, f)?;
/// assert_eq!(table.resolve(h)?, f);
/// assert_eq!(table.equivalent(h)?, vec![f, h, g]);
/// # Ok::<(), halo_alias::AliasError>(())
/// ```
pub struct AliasTable {
    targets: Segments<TargetSlot>,
    reverse: ReverseTable,
    indexes: Indexes,
    futex: Futex,
}

/// Configures an [`AliasTable`] before it is built.
///
/// ```
/// use halo_alias::AliasTable;
///
/// let table = AliasTable::builder().capacity(1 << 16).max_refs(1 << 20).build();
/// assert_eq!(table.max_refs(), 1 << 20);
/// assert!(table.memory_bytes() >= (1 << 16) * AliasTable::BYTES_PER_REF);
/// ```
#[derive(Clone, Debug)]
pub struct AliasTableBuilder {
    capacity: usize,
    max_refs: usize,
}

impl AliasTableBuilder {
    /// Allocates room for `refs` refs up front (default 0). The table still
    /// grows past it on demand. The room is real allocation (zeroed memory,
    /// which most kernels back with pages only when first touched), and it
    /// counts in [`AliasTable::memory_bytes`] whether used or not. If memory runs out while preallocating, the
    /// table keeps what it got and grows later like any other.
    pub fn capacity(mut self, refs: usize) -> Self {
        self.capacity = refs;
        self
    }

    /// The most refs the table will hand out; `register` returns
    /// [`AliasError::CapacityExhausted`] beyond it. Values above
    /// [`AliasTable::MAX_REFS`] (the default) are lowered to it.
    pub fn max_refs(mut self, refs: usize) -> Self {
        self.max_refs = refs;
        self
    }

    /// Builds the table.
    pub fn build(self) -> AliasTable {
        let max_refs =
            u32::try_from(self.max_refs.min(AliasTable::MAX_REFS)).expect("MAX_REFS fits in u32");
        let table = AliasTable {
            targets: Segments::new(),
            reverse: ReverseTable::new(),
            indexes: Indexes::new(max_refs),
            futex: Futex::default(),
        };
        let preallocate = u32::try_from(self.capacity.min(max_refs as usize)).unwrap_or(max_refs);
        // Both tables segment by segment, so that running out of memory
        // leaves them with (nearly) the same room. Best effort, as documented: a
        // failure only means later growth.
        for start in Segments::<TargetSlot>::segment_starts(preallocate) {
            let grown = table
                .targets
                .grow_to(start)
                .and_then(|()| table.reverse.segments().grow_to(start));
            if grown.is_err() {
                break;
            }
        }
        table
    }
}

impl Default for AliasTableBuilder {
    fn default() -> Self {
        AliasTableBuilder {
            capacity: 0,
            max_refs: AliasTable::MAX_REFS,
        }
    }
}

impl AliasTable {
    /// The most refs any table can hold: `2^32 - 3`.
    pub const MAX_REFS: usize = MAX_INDEX as usize + 1;

    /// Bytes each ref costs across both tables, once its segment exists.
    pub const BYTES_PER_REF: usize =
        std::mem::size_of::<TargetSlot>() + std::mem::size_of::<crate::reverse::ReverseSlot>();

    /// An empty table that allocates as refs are registered.
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// assert_eq!(table.len(), 0);
    /// ```
    pub fn new() -> Self {
        AliasTable::builder().build()
    }

    /// An empty table with room for `refs` refs before it grows.
    ///
    /// ```
    /// let table = halo_alias::AliasTable::with_capacity(1000);
    /// assert!(table.memory_bytes() >= 1000 * halo_alias::AliasTable::BYTES_PER_REF);
    /// ```
    pub fn with_capacity(refs: usize) -> Self {
        AliasTable::builder().capacity(refs).build()
    }

    /// A builder for the less common settings.
    ///
    /// ```
    /// let table = halo_alias::AliasTable::builder().max_refs(2).build();
    /// table.register().unwrap();
    /// table.register().unwrap();
    /// assert!(table.register().is_err());
    /// ```
    pub fn builder() -> AliasTableBuilder {
        AliasTableBuilder::default()
    }

    /// Registers a new ref. It starts UNINITIALIZED: no target, not canonical.
    ///
    /// Each thread claims indexes in blocks of 64 and hands them out from
    /// its own lane of the table, so registering threads do not contend.
    /// A table has 32 lanes; each belongs for the table's life to the
    /// first thread that registers through it, and threads beyond those 32
    /// share one more lane, taking its indexes one CAS at a time. The refs
    /// one thread registers in one table have increasing indexes
    /// (consecutive within a block, for a thread with a lane of its own);
    /// across threads they are unique but not dense. The rest of a block
    /// (at most 63 indexes) waits in its lane, in the table, however many
    /// other tables the thread registers in; it stays unused for good only
    /// if the lane's threads stop registering in this table (when they
    /// exit, say). So, `register` calls still running aside, at most
    /// 33 × 63 = 2079 indexes of a table are unused at any time, however
    /// many refs are registered, and every call rejects them as
    /// [`AliasError::UnknownRef`]. The last 4096 indexes below
    /// [`max_refs`](Self::max_refs) are claimed one at a time, so a table
    /// whose limit is at most 4096 hands out exactly `max_refs` refs.
    ///
    /// # Errors
    ///
    /// * [`AliasError::CapacityExhausted`]: every index below `max_refs`
    ///   is registered or waits in a lane the caller does not take from,
    ///   or memory for a new segment could not be had. The tables'
    ///   contents do not change (a segment allocated before the failure is
    ///   kept as room for later refs).
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let r = table.register()?;
    /// assert_eq!(table.target(r)?, None);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn register(&self) -> Result<ObjRef, AliasError> {
        let index = self
            .indexes
            .take(|range| {
                self.targets
                    .grow_range(range.clone())
                    .and_then(|()| self.reverse.segments().grow_range(range))
                    .is_ok()
            })
            .ok_or(AliasError::CapacityExhausted)?;
        self.slot_at(index).publish(0);
        Ok(ObjRef::new(index, 0))
    }

    /// Records that `alias` refers to the same object as `target`.
    ///
    /// Repeating a call that took effect returns `Ok` and changes nothing,
    /// unless its edge lies on a cycle that racing calls closed: then it
    /// returns `Err(Cycle)` like the call that found the cycle.
    /// The call returns only once the reverse edge is listed, so an
    /// [`equivalent`](Self::equivalent) or [`aliases`](Self::aliases) that
    /// starts afterwards includes `alias`.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: either ref was not handed out by this table.
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
        self.slot(target)?;
        if alias == target {
            return Err(AliasError::SelfAlias(alias));
        }
        let (a, t) = (alias.index(), target.index());
        match alias_slot.edge() {
            Edge::Open { .. } => {}
            set => return self.alias_already_set(alias, alias_slot, target, set),
        }

        // Step 2: refuse a cycle that is already visible. `a` is open, so
        // a path that reaches it ends there and no jump can lead past it.
        let walked = self.walk(t, Some(a), Follow::Jumps, None);
        let end = match walked.end {
            WalkEnd::Stopped => return Err(AliasError::Cycle(alias)),
            WalkEnd::Cycle => return Err(AliasError::Cycle(target)),
            end => end,
        };
        // Keep later pre-checks through `t` short.
        compress(|i| self.slot_at(i), t, walked);

        // Step 3: commit the edge together with its list successor, then
        // splice it in.
        let successor = self.reverse.successor_for(|i| self.slot_at(i), t);
        let wake = |word: &_| self.futex.wake_all(word);
        match alias_slot.complete(a, Edge::Alias(t), successor.link, wake) {
            Completion::Done => {}
            Completion::AlreadySet(set) => {
                return self.alias_already_set(alias, alias_slot, target, set)
            }
        }
        self.reverse.splice(|i| self.slot_at(i), t, a, successor);
        alias_slot.mark_listed(alias.generation());

        // Step 4: a cycle closed by racing calls.
        match end {
            WalkEnd::Open(open_end) => self.check_no_cycle_through(alias, open_end),
            _ => Ok(()),
        }
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
                        .splice(|i| self.slot_at(i), existing, alias.index(), successor);
                    alias_slot.mark_listed(alias.generation());
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
    /// through it. Repeating it returns `Ok`.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
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
        match slot.complete(r.index(), Edge::Canonical, Link::Unlisted, wake) {
            Completion::Done | Completion::AlreadySet(Edge::Canonical) => Ok(()),
            Completion::AlreadySet(Edge::Alias(existing)) => Err(AliasError::AlreadyAliased {
                alias: r,
                existing: self.ref_at(existing),
            }),
            Completion::AlreadySet(Edge::Open { .. }) => {
                unreachable!("completion never leaves an edge open")
            }
        }
    }

    /// `r`'s canonical ref if it is known now; never blocks.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
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
        let slot = self.slot(r)?;
        if let Some(canonical) = Self::resolved_in_one_step(slot, r) {
            return Ok(Some(canonical));
        }
        let walked = self.walk(r.index(), None, Follow::Jumps, None);
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
        let slot = self.slot(r)?;
        match Self::resolved_in_one_step(slot, r) {
            Some(canonical) => Ok(canonical),
            None => self.resolve_by_walking(r, deadline),
        }
    }

    /// The common case, from `r`'s own row: `r` is canonical or has its
    /// canonical cached (index and generation both).
    #[inline]
    fn resolved_in_one_step(slot: &TargetSlot, r: ObjRef) -> Option<ObjRef> {
        if let Some(canonical) = slot.cached_canonical() {
            return Some(ObjRef::new(canonical.index, canonical.generation));
        }
        (slot.edge() == Edge::Canonical).then_some(r)
    }

    /// Walks `r`'s path, sleeping at its open end until the path completes.
    #[inline(never)]
    fn resolve_by_walking(
        &self,
        r: ObjRef,
        deadline: Option<Instant>,
    ) -> Result<ObjRef, AliasError> {
        let mut from = r.index();
        loop {
            let walked = self.walk(from, None, Follow::Jumps, deadline);
            match walked.end {
                WalkEnd::Canonical(canonical) => {
                    compress_to_canonical(|i| self.slot_at(i), r.index(), canonical);
                    return Ok(ObjRef::new(canonical.index, canonical.generation));
                }
                WalkEnd::Cycle => return Err(AliasError::Cycle(r)),
                WalkEnd::TimedOut(_) => {
                    compress(|i| self.slot_at(i), from, walked);
                    return Err(AliasError::Timeout(r));
                }
                WalkEnd::Open(open_end) => {
                    compress(|i| self.slot_at(i), from, walked);
                    self.wait_for_edge(r, open_end, deadline)?;
                    // Edges before the open end are final: go on from there.
                    from = open_end;
                }
                WalkEnd::Stopped => unreachable!("walk without a stop"),
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(AliasError::Timeout(r));
            }
        }
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
        if !slot.announce_waiter() {
            return Ok(());
        }
        let (word, expected) = slot.sleep_word();
        match deadline {
            None => self.futex.wait(word, expected),
            Some(deadline) => self.futex.wait_until(word, expected, deadline),
        }
        Ok(())
    }

    /// Whether `r` is canonical.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let r = table.register()?;
    /// assert!(!table.is_canonical(r)?);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn is_canonical(&self, r: ObjRef) -> Result<bool, AliasError> {
        Ok(self.slot(r)?.edge() == Edge::Canonical)
    }

    /// `r`'s direct edge: its target, itself if canonical, `None` if unknown.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let (h, g) = (table.register()?, table.register()?);
    /// table.alias(h, g)?;
    /// assert_eq!(table.target(h)?, Some(g));
    /// assert_eq!(table.target(g)?, None);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn target(&self, r: ObjRef) -> Result<Option<ObjRef>, AliasError> {
        Ok(match self.slot(r)?.edge() {
            Edge::Alias(target) => Some(self.ref_at(target)),
            Edge::Canonical => Some(r),
            Edge::Open { .. } => None,
        })
    }

    /// The refs whose direct target is `r`, in index order.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let (f, x, y) = (table.register()?, table.register()?, table.register()?);
    /// table.alias(y, f)?;
    /// table.alias(x, f)?;
    /// assert_eq!(table.aliases(f)?, vec![x, y]);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn aliases(&self, r: ObjRef) -> Result<Vec<ObjRef>, AliasError> {
        self.slot(r)?;
        let mut aliases = Vec::new();
        self.reverse.for_each_alias(
            |i| self.slot_at(i),
            r.index(),
            |index, generation| aliases.push(ObjRef::new(index, generation)),
        );
        aliases.sort_unstable_by_key(|alias| alias.index());
        Ok(aliases)
    }

    /// Every ref of `r`'s object: the root of `r`'s tree first (its
    /// canonical ref, or while unresolved the furthest known target), then
    /// every ref that aliases the root directly or transitively, in index
    /// order, each once.
    ///
    /// The result always holds `r` and every ref on `r`'s path to the
    /// root, and every ref whose path to the root consists of edges that
    /// are on `r`'s path or whose `alias` calls returned before this call
    /// began. It never holds a ref
    /// outside the root's tree, nor any ref twice.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    /// * [`AliasError::Cycle`]: `r` is on or leads into a cycle (it has no
    ///   root). A cycle that racing calls close through the root during the
    ///   search may also end it with this error.
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let (f, x, y, z) = (table.register()?, table.register()?, table.register()?, table.register()?);
    /// table.alias(x, f)?;
    /// table.alias(y, f)?;
    /// table.alias(z, x)?;
    /// assert_eq!(table.equivalent(z)?, vec![f, x, y, z]);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn equivalent(&self, r: ObjRef) -> Result<Vec<ObjRef>, AliasError> {
        self.slot(r)?;
        let walked = self.walk(r.index(), None, Follow::Jumps, None);
        let root = match walked.end {
            WalkEnd::Canonical(root) => root.index,
            WalkEnd::Open(root) => root,
            WalkEnd::Cycle => return Err(AliasError::Cycle(r)),
            WalkEnd::Stopped | WalkEnd::TimedOut(_) => {
                unreachable!("walk without a stop or deadline")
            }
        };
        compress(|i| self.slot_at(i), r.index(), walked);
        // The refs of `r`'s own path, by edges, bottom up, whose reverse
        // listing may still be in flight in other threads (not marked
        // listed yet): their edges are there, their list entries may not be.
        let mut path = Vec::new();
        let mut at = r.index();
        while at != root {
            let slot = self.slot_at(at);
            if !slot.is_listed() {
                path.push(at);
            }
            match slot.edge() {
                Edge::Alias(next) => at = next,
                // Unreachable: the walk above reached `root` along these
                // final edges.
                _ => break,
            }
        }
        let mut gathering = Gathering::new(root, &path);
        self.gather(root, &mut gathering)
            .map_err(|_| AliasError::Cycle(r))?;
        // A path ref not reached from above is not listed yet: its subtree
        // hangs from it alone, so gather it from there.
        for position in (0..path.len()).rev() {
            if !gathering.reached[position] {
                gathering.reach(self.ref_at(path[position]));
                self.gather(path[position], &mut gathering)
                    .map_err(|_| AliasError::Cycle(r))?;
            }
        }
        let mut members = gathering.members;
        members.sort_unstable_by_key(|member| member.index());
        debug_assert!(
            members
                .windows(2)
                .all(|pair| pair[0].index() != pair[1].index()),
            "a ref gathered twice"
        );
        let mut equivalent = Vec::with_capacity(members.len() + 1);
        equivalent.push(self.ref_at(root));
        equivalent.extend(members);
        Ok(equivalent)
    }

    /// Adds every ref listed below `from` (depth first) to `gathering`.
    ///
    /// Every ref is in at most one list, so the only ref the search can meet
    /// twice is the root, and only once the root's own edge has closed a
    /// cycle through its tree (racing `alias` calls): that is the error.
    fn gather(&self, from: u32, gathering: &mut Gathering) -> Result<(), ClosedCycle> {
        let mut pending = vec![from];
        let mut closed_cycle = false;
        while let Some(target) = pending.pop() {
            self.reverse.for_each_alias(
                |i| self.slot_at(i),
                target,
                |alias, generation| {
                    if alias == gathering.root {
                        closed_cycle = true;
                    } else {
                        gathering.reach(ObjRef::new(alias, generation));
                        pending.push(alias);
                    }
                },
            );
            if closed_cycle {
                return Err(ClosedCycle);
            }
        }
        Ok(())
    }

    /// How many refs have been registered. Indexes reserved by a thread
    /// but not yet registered do not count; a `register` still returning
    /// may or may not.
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// table.register()?;
    /// assert_eq!(table.len(), 1);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.indexes.registered()
    }

    /// Whether no ref has been registered.
    ///
    /// ```
    /// assert!(halo_alias::AliasTable::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most refs this table hands out.
    ///
    /// ```
    /// assert_eq!(halo_alias::AliasTable::new().max_refs(), halo_alias::AliasTable::MAX_REFS);
    /// ```
    pub fn max_refs(&self) -> usize {
        self.indexes.max() as usize
    }

    /// Bytes the tables hold: the allocated segments of both tables plus
    /// the table itself. Each registered ref costs
    /// [`BYTES_PER_REF`](Self::BYTES_PER_REF); segments are allocated so
    /// that, past any capacity reserved up front, at most 12.5% (plus 64
    /// slots) of the slots are headroom.
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let empty = table.memory_bytes();
    /// table.register()?;
    /// assert!(table.memory_bytes() > empty);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.targets.heap_bytes()
            + self.reverse.segments().heap_bytes()
    }

    /// The slot of a ref handed out by this table, or `UnknownRef`.
    #[inline]
    fn slot(&self, r: ObjRef) -> Result<&TargetSlot, AliasError> {
        let slot = self
            .targets
            .get(r.index())
            .ok_or(AliasError::UnknownRef(r))?;
        if slot.generation() == Some(r.generation()) && r.generation() < GENERATIONS {
            Ok(slot)
        } else {
            Err(AliasError::UnknownRef(r))
        }
    }

    /// The slot at an index that an edge or a list points to: registered.
    #[inline]
    pub(crate) fn slot_at(&self, index: u32) -> &TargetSlot {
        self.targets
            .get(index)
            .expect("edges and lists only point to registered refs, whose segments exist")
    }

    /// The ref registered at `index`.
    #[inline]
    pub(crate) fn ref_at(&self, index: u32) -> ObjRef {
        ObjRef::new(index, self.slot_at(index).generation().unwrap_or(0))
    }

    /// Calls `f` with every published ref and its direct edge.
    pub(crate) fn for_each_edge(&self, mut f: impl FnMut(ObjRef, Option<ObjRef>)) {
        for index in 0..self.indexes.claimed() {
            // The claim count is Relaxed, so the slot's segment may not be
            // visible yet; such an index is not registered yet.
            let Some(slot) = self.targets.get(index) else {
                continue;
            };
            let Some(generation) = slot.generation() else {
                continue; // reserved, not registered (yet)
            };
            let r = ObjRef::new(index, generation);
            let target = match slot.edge() {
                Edge::Alias(target) => Some(self.ref_at(target)),
                Edge::Canonical => Some(r),
                Edge::Open { .. } => None,
            };
            f(r, target);
        }
    }
}

/// The state of one `equivalent` search.
struct Gathering {
    root: u32,
    /// The searched ref's path to the root, sorted, with positions in `path`.
    path_sorted: Vec<(u32, usize)>,
    /// Which refs of the path the search has reached, by position in `path`.
    reached: Vec<bool>,
    members: Vec<ObjRef>,
}

impl Gathering {
    fn new(root: u32, path: &[u32]) -> Self {
        let mut path_sorted: Vec<(u32, usize)> = path
            .iter()
            .enumerate()
            .map(|(position, &index)| (index, position))
            .collect();
        path_sorted.sort_unstable();
        Gathering {
            root,
            path_sorted,
            reached: vec![false; path.len()],
            members: Vec::new(),
        }
    }

    fn reach(&mut self, member: ObjRef) {
        let index = member.index();
        self.members.push(member);
        if let Ok(found) = self
            .path_sorted
            .binary_search_by_key(&index, |&(ref_index, _)| ref_index)
        {
            self.reached[self.path_sorted[found].1] = true;
        }
    }
}

/// `equivalent` met its root again below itself.
struct ClosedCycle;

impl Default for AliasTable {
    fn default() -> Self {
        AliasTable::new()
    }
}

impl fmt::Debug for AliasTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliasTable")
            .field("len", &self.len())
            .field("max_refs", &self.max_refs())
            .field("memory_bytes", &self.memory_bytes())
            .finish_non_exhaustive()
    }
}
