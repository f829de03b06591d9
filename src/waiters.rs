//! Waiter lists: callbacks and futures that wait for a ref's canonical
//! ref with no thread asleep (`on_resolved`, `resolved`).
//!
//! # Where a waiter waits
//!
//! Like a sleeping resolver, a waiter for ref `r` waits at the open end `e`
//! of `r`'s path: the one ref whose edge decides `r`'s answer next. It is a
//! node in one of the table's waiter lists, the list of `e`'s region of
//! [`REFS_PER_LIST`] consecutive indexes, marked with `e`'s index and
//! generation (so a node is never taken for a newer ref in `e`'s slot, or
//! for a neighbour). A completion scans its region's list only, so its
//! cost follows the waiters of a few refs, not of the whole table. The
//! lists live in `Segments`, made when a waiter first comes to their
//! region: a table nobody waits on has none, and a region with waiters
//! costs 2 bytes per ref.
//!
//! # The handshake with the completion: no waiter is lost
//!
//! A **registrant** (a new waiter, or one being moved) pushes its node onto
//! the list (a CAS on the head), then announces it on `e`'s edge: a CAS
//! that sets the edge's `listeners` flag, made even when the flag is set
//! already (see `target`). A **completion** of `e` (`alias` or
//! `add_canonical` replacing the open edge by CAS) that found `listeners`
//! set scans `e`'s list and claims every node marked with `e`.
//!
//! Both CASes are RMWs on `e.link`, so one comes first. If the
//! announcement does, the completion's CAS reads from it (or from a later
//! RMW of the word), synchronizes with it (AcqRel), and so its scan, which
//! starts after, sees the push. If the completion does, the announcement
//! fails (the edge is no longer open) and the registrant claims its node
//! back and looks at `e` again. Either way the node is claimed. A claim is
//! one CAS of the node's state from `ARMED` to `CLAIMED`, so exactly one
//! thread takes each waiter: the completion, the registrant taking it
//! back, or the sweeper of a dropped future's node.
//!
//! # Delivering (in `table::events`)
//!
//! The completing call, once its own work is done, looks where `e`'s edge
//! now leads: to a canonical ref `c`, and every waiter it claimed gets
//! `Ok(c)`; round a cycle, `Err(Cycle)`; to another open end `e2`, and the
//! waiters **move** there, pushed and announced at `e2` like new ones. So a
//! waiter is handed on once per edge its open end gets, and answered by
//! the call that completes its path: no relay through the path's refs.
//!
//! # Freeing nodes
//!
//! A node is garbage once `DONE`: its claimer has answered, moved or
//! dropped the waiter (see `node`; a `CLAIMED` node is never freed, so a
//! claimer answers with no guard held), or the sweeper claimed the node
//! of a dropped future. Only a
//! list's **sweeper** unlinks nodes, at most one sweeper per list at a time
//! (a flag taken by CAS; a thread that finds it taken leaves the sweep to
//! a later change, and never waits). So the sweeper is the only writer of
//! interior links, and pushes change only the head. A scan may still be on
//! a node the sweeper unlinks: nodes are freed through the epoch (see
//! `recycle`), after every guard held at the unlinking; scanners and
//! registrants hold one. A list is swept when its pushes and claims since
//! the last sweep outnumber the nodes that sweep left (and at least
//! [`SWEEP_MIN`]): the nodes of a list stay within about twice its most
//! waiters plus a constant, at O(1) amortized per push or claim.

use std::ptr::NonNull;
use std::task::Waker;

mod node;

use node::{free_node, Node, RetiredNode};
pub(crate) use node::{Claimed, FutureCell, NewNode};

use crate::recycle::ReadGuard;
#[cfg(not(loom))]
use crate::segments::{slots_per_line, OutOfMemory, Segments};
use crate::sync::{AtomicPtr, AtomicU32, AtomicUsize, Ordering, UnsafeCell, WakerSlot};
use crate::{AliasError, ObjRef};

/// A waiter's answer: the canonical ref, or why there is none.
pub(crate) type Answer = Result<ObjRef, AliasError>;

/// Consecutive ref indexes that share a waiter list: few enough that a
/// completion scans a short list, enough that a list (32 bytes) costs 2
/// bytes per ref.
#[cfg(not(loom))]
pub(crate) const REFS_PER_LIST: u32 = 16;

/// Under loom two lists made at once, and indexes share them modulo two,
/// so that models with few refs share a list; the lazy making through
/// `Segments` is what the growth models check.
#[cfg(loom)]
const LOOM_LISTS: usize = 2;

/// A list is swept after at least this many pushes and claims.
const SWEEP_MIN: u32 = if cfg!(loom) { 2 } else { 32 };

/// Sweeper flag states.
const IDLE: u32 = 0;
const BUSY: u32 = 1;

/// The state a `resolved` future shares with its waiter node.
pub(crate) struct FutureSlot {
    /// `WAITING`, then `READY` (answer written) or `ABANDONED` (the future
    /// was dropped); never changes after that.
    state: AtomicU32,
    /// Written once, by the one thread that claimed the waiter, before
    /// `READY`; read only after `READY` is seen.
    answer: UnsafeCell<Option<Answer>>,
    waker: WakerSlot,
}

// SAFETY: the answer cell is written once, by the one claimer, before
// `READY` (Release), and read only after `READY` is seen (Acquire); the
// other fields are atomics or the waker slot, which is `Sync`.
unsafe impl Sync for FutureSlot {}

const WAITING: u32 = 0;
const READY: u32 = 1;
const ABANDONED: u32 = 2;

impl FutureSlot {
    pub(crate) fn new(waker: &Waker) -> Self {
        let slot = FutureSlot {
            state: AtomicU32::new(WAITING),
            answer: UnsafeCell::new(None),
            waker: WakerSlot::new(),
        };
        slot.waker.register(waker);
        slot
    }

    /// Registers `waker` for the wake-up (replacing the one before) and
    /// returns the answer if it is there. Registering first, checking
    /// after: a completion between the two wakes the new waker.
    pub(crate) fn poll(&self, waker: &Waker) -> Option<Answer> {
        self.waker.register(waker);
        let answer = self.answer();
        if answer.is_some() {
            // Done with wakers: the node may outlive this future a while.
            self.waker.forget();
        }
        answer
    }

    /// The answer, if it is there.
    pub(crate) fn answer(&self) -> Option<Answer> {
        // Acquire: pairs with `complete`'s Release, so the answer written
        // before `READY` is seen.
        if self.state.load(Ordering::Acquire) != READY {
            return None;
        }
        // SAFETY: `READY` was set after the only write of the answer
        // (Release/Acquire above), and the answer is never written again.
        self.answer.with(|answer| unsafe { *answer })
    }

    fn complete(&self, answer: Answer) {
        // Relaxed: only skips the work for a future already dropped; the
        // CAS below decides.
        if self.state.load(Ordering::Relaxed) == ABANDONED {
            return;
        }
        // SAFETY: only the thread that claimed this future's waiter writes
        // the answer, once (a claim is exclusive); readers read it only
        // after the `READY` below.
        self.answer.with_mut(|slot| unsafe { *slot = Some(answer) });
        // Release: publishes the answer. Fails only if the future was
        // dropped meanwhile, and then nobody reads it.
        if self
            .state
            .compare_exchange(WAITING, READY, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.waker.wake();
        }
    }

    /// The future is dropped: its node becomes garbage.
    pub(crate) fn abandon(&self) {
        // AcqRel: a failure means `READY` (nothing left to do); the
        // sweeper's Acquire load of `ABANDONED` then frees the node.
        let _ =
            self.state
                .compare_exchange(WAITING, ABANDONED, Ordering::AcqRel, Ordering::Acquire);
        // Nobody polls any more; the node may wait for its sweep a while.
        self.waker.forget();
    }

    fn is_abandoned(&self) -> bool {
        self.state.load(Ordering::Acquire) == ABANDONED
    }
}

/// A node pushed by [`Waiters::push`], for [`Waiters::take_back`].
pub(crate) struct Pushed(NonNull<Node>);

/// One waiter list. All zeros is a valid empty list (a zero threshold
/// counts as [`SWEEP_MIN`]), so lists come in zeroed segments.
#[derive(Default)]
struct List {
    head: AtomicPtr<Node>,
    /// Pushes and claims since the last sweep.
    changes: AtomicU32,
    /// Sweep again after this many changes.
    threshold: AtomicU32,
    /// Bytes of the nodes in the list, garbage included (for
    /// `memory_bytes`).
    bytes: AtomicUsize,
    sweeper: AtomicU32,
}

// SAFETY: every field is an atomic integer or pointer, for which all
// zeros is a valid value (null, 0).
#[cfg(not(loom))]
unsafe impl bytemuck::Zeroable for List {}
#[cfg(not(loom))]
slots_per_line!(List, 2);

/// A table's waiter lists (module docs).
pub(crate) struct Waiters {
    /// List `i` serves indexes `i * REFS_PER_LIST ..`.
    #[cfg(not(loom))]
    lists: Segments<List>,
    #[cfg(loom)]
    lists: Box<[List]>,
}

impl Waiters {
    pub(crate) fn new() -> Self {
        Waiters {
            #[cfg(not(loom))]
            lists: Segments::new(),
            #[cfg(loom)]
            lists: (0..LOOM_LISTS).map(|_| List::default()).collect(),
        }
    }

    /// Whether one list serves open ends `a` and `b`.
    pub(crate) fn share_a_list(a: u32, b: u32) -> bool {
        #[cfg(not(loom))]
        return a / REFS_PER_LIST == b / REFS_PER_LIST;
        #[cfg(loom)]
        (a as usize % LOOM_LISTS == b as usize % LOOM_LISTS)
    }

    /// Moves a claimed waiter to open end `at`: re-armed in place if its
    /// list serves `at` too, else in a new node pushed there. The caller
    /// announces it next, as after [`push`](Self::push).
    pub(crate) fn move_to(
        &self,
        at: (u32, u32),
        waiter: Claimed<'_>,
        guard: &ReadGuard<'_>,
    ) -> Result<Pushed, NewNode> {
        if Self::share_a_list(waiter.at().0, at.0) {
            return Ok(Pushed(waiter.rearm(at)));
        }
        self.push(at, waiter.remake(), guard)
    }

    /// The list of `index`'s region, if a waiter ever came there.
    fn list(&self, index: u32) -> Option<&List> {
        #[cfg(not(loom))]
        return self.lists.get(index / REFS_PER_LIST);
        #[cfg(loom)]
        Some(&self.lists[index as usize % LOOM_LISTS])
    }

    /// The list of `index`'s region, made now if need be; `None` only if
    /// memory ran out.
    fn list_or_make(&self, index: u32) -> Option<&List> {
        #[cfg(not(loom))]
        self.lists
            .grow_to(index / REFS_PER_LIST)
            .map_err(|OutOfMemory| ())
            .ok()?;
        self.list(index)
    }

    /// Every list made so far.
    fn made(&self) -> impl Iterator<Item = &List> {
        #[cfg(not(loom))]
        return self.lists.slots();
        #[cfg(loom)]
        self.lists.iter()
    }

    /// Heap bytes of the lists and their nodes. Visits every list made.
    pub(crate) fn heap_bytes(&self) -> usize {
        // Relaxed: a size report, ordered with nothing.
        let nodes: usize = self
            .made()
            .map(|list| list.bytes.load(Ordering::Relaxed))
            .sum();
        #[cfg(not(loom))]
        let lists = self.lists.heap_bytes();
        #[cfg(loom)]
        let lists = std::mem::size_of_val(&*self.lists);
        lists + nodes
    }

    /// Puts `node` in the list of open end `at`. The caller then
    /// announces it on `at`'s edge, under the same `guard`, and takes it
    /// back with [`take_back`](Self::take_back) if that fails. Gives the
    /// node back only if memory for `at`'s list ran out.
    pub(crate) fn push(
        &self,
        at: (u32, u32),
        node: NewNode,
        guard: &ReadGuard<'_>,
    ) -> Result<Pushed, NewNode> {
        let Some(list) = self.list_or_make(at.0) else {
            return Err(node);
        };
        let pushed = node.into_raw(at);
        let node = pushed.as_ptr();
        // Relaxed: a count for `heap_bytes` only.
        // SAFETY: ours until the CAS below publishes it.
        list.bytes
            .fetch_add(unsafe { pushed.as_ref() }.bytes(), Ordering::Relaxed);
        // Relaxed: only the CAS's expected value; the CAS checks it, and
        // the pusher never dereferences the head.
        let mut head = list.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: `node` is ours until the CAS below publishes it.
            // Relaxed: published by the CAS's Release.
            unsafe { (*node).next.store(head, Ordering::Relaxed) };
            // Release: a scan that reads the new head (Acquire) sees the
            // node as written above.
            match list
                .head
                .compare_exchange(head, node, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
        self.changed(list, 1, guard);
        Ok(Pushed(pushed))
    }

    /// Takes back a waiter that [`push`](Self::push) put in a list, unless
    /// a completion claimed it first (then it is the completion's to
    /// deliver).
    pub(crate) fn take_back(&self, pushed: Pushed, guard: &ReadGuard<'_>) -> Option<Claimed<'_>> {
        // SAFETY: the node was pushed under `guard`, which is still held,
        // so even if it was claimed and unlinked since, it is not freed.
        let claimed = unsafe { Claimed::claim(pushed.0) }?;
        let list = self
            .list(claimed.at().0)
            .expect("the node was pushed there");
        self.changed(list, 1, guard);
        Some(claimed)
    }

    /// Claims every waiter at open end `at` (just completed).
    /// The caller counts the claims with [`claims_done`](Self::claims_done)
    /// once it is done with them; `_guard` keeps the scanned nodes alive.
    pub(crate) fn claim(&self, at: (u32, u32), _guard: &ReadGuard<'_>) -> Vec<Claimed<'_>> {
        // A list always exists where a listener was announced; `None` only
        // if nobody ever waited in this region.
        let Some(list) = self.list(at.0) else {
            return Vec::new();
        };
        let mut claimed = Vec::new();
        // Acquire: sees every node pushed before the head it reads, and
        // (through the completion's CAS, module docs) every node announced
        // at `at` before the completion.
        let mut current = list.head.load(Ordering::Acquire);
        while let Some(node) = NonNull::new(current) {
            // SAFETY: nodes are freed only through the epoch, after `_guard`
            // (held since before this load) is dropped; an unlinked node's
            // `next` still leads on into the list.
            let header = unsafe { node.as_ref() };
            if header.at() == at {
                // SAFETY: listed, and kept by `guard` as above.
                claimed.extend(unsafe { Claimed::claim(node) });
            }
            current = header.next.load(Ordering::Acquire);
        }
        claimed
    }

    /// Counts `count` claims at `index`'s list once the claimer is done
    /// with them (answered or moved), so that the sweep they may start
    /// finds them garbage: counted at the claim, a quiet region's sweep
    /// would see them claimed, keep them, and wait for as many changes
    /// again.
    pub(crate) fn claims_done(&self, index: u32, count: usize, guard: &ReadGuard<'_>) {
        if let Some(list) = self.list(index) {
            if count > 0 {
                self.changed(list, count, guard);
            }
        }
    }

    /// Counts `count` pushes or claims, and sweeps if they are due.
    fn changed(&self, list: &List, count: usize, guard: &ReadGuard<'_>) {
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        // Relaxed: the counts only decide when to sweep; the sweep itself
        // synchronizes through the head and the node states.
        let changes = list
            .changes
            .fetch_add(count, Ordering::Relaxed)
            .saturating_add(count);
        if changes >= list.threshold.load(Ordering::Relaxed).max(SWEEP_MIN) {
            Self::sweep(list, guard);
        }
    }

    /// One pass over the list unlinking its garbage, unless another
    /// thread is sweeping it. One pass only: changes made during it count
    /// towards the next sweep, which the change past the threshold starts,
    /// so no caller sweeps for longer than one pass over the list (and
    /// holds its guard, which keeps the epoch from moving, no longer).
    fn sweep(list: &List, guard: &ReadGuard<'_>) {
        // Acquire: sees the links the last sweeper wrote (its Release).
        if list
            .sweeper
            .compare_exchange(IDLE, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        // Relaxed, both counts: they only decide when to sweep (`changed`).
        list.changes.store(0, Ordering::Relaxed);
        let live = Self::unlink_garbage(list, guard);
        list.threshold.store(live.max(SWEEP_MIN), Ordering::Relaxed);
        // Release: the next sweeper sees the links written here.
        list.sweeper.store(IDLE, Ordering::Release);
    }

    /// One pass of the sweeper: unlinks and retires every garbage node,
    /// returns how many nodes are left.
    fn unlink_garbage(list: &List, guard: &ReadGuard<'_>) -> u32 {
        let mut live = 0u32;
        // Freed together, in one deferred call: one epoch entry per sweep
        // rather than per node.
        let mut retired = Vec::new();
        // The last node kept: its `next` is ours to write.
        let mut kept: Option<&Node> = None;
        let mut current = list.head.load(Ordering::Acquire);
        while let Some(pointer) = NonNull::new(current) {
            // SAFETY: as in `claim`; besides, only this sweeper frees nodes
            // of this list, and it frees them only through the epoch.
            let node = unsafe { pointer.as_ref() };
            let next = node.next.load(Ordering::Acquire);
            // SAFETY: as above; `pointer` is the pointer the node was
            // pushed with.
            if unsafe { Node::is_garbage(pointer) } {
                Self::unlink(list, kept, current, next);
                // Relaxed: a count for `heap_bytes` only.
                list.bytes.fetch_sub(node.bytes(), Ordering::Relaxed);
                retired.push(RetiredNode(pointer));
            } else {
                live = live.saturating_add(1);
                kept = Some(node);
            }
            current = next;
        }
        if !retired.is_empty() {
            // SAFETY (of the drops in the deferred call): the nodes are
            // unlinked, so no scan that starts from now on reaches them,
            // and the epoch runs the call only after every guard held now,
            // which covers every scan still on one of them, is dropped.
            guard.defer(move || drop(retired));
        }
        live
    }

    /// Unlinks `node`, whose predecessor is `kept` (or the head, or a node
    /// pushed since) and successor `next`.
    fn unlink(list: &List, kept: Option<&Node>, node: *mut Node, next: *mut Node) {
        // Release: a scan that reads the new link sees `next` as written.
        if let Some(kept) = kept {
            // Interior links are the sweeper's alone: `kept.next` is `node`.
            kept.next.store(next, Ordering::Release);
            return;
        }
        if list
            .head
            .compare_exchange(node, next, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return;
        }
        // Pushed in front since: find the new predecessor.
        let mut before = list.head.load(Ordering::Acquire);
        loop {
            // SAFETY: the nodes pushed since are live (only this sweeper
            // unlinks), and `node` is behind them.
            let candidate = unsafe { &*before };
            let after = candidate.next.load(Ordering::Acquire);
            if after == node {
                candidate.next.store(next, Ordering::Release);
                return;
            }
            before = after;
        }
    }
}

impl Drop for Waiters {
    fn drop(&mut self) {
        for list in self.made() {
            let mut current = list.head.load(Ordering::Acquire);
            while let Some(node) = NonNull::new(current) {
                // SAFETY: the table is being dropped, so no other thread
                // uses the list (and no `Claimed` outlives `&self`); each
                // linked node is freed once here (unlinked ones were
                // retired and are freed by the epoch).
                current = unsafe { node.as_ref() }.next.load(Ordering::Acquire);
                // SAFETY: as above.
                unsafe { free_node(node) };
            }
        }
    }
}

impl std::fmt::Debug for Waiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiters")
            .field("heap_bytes", &self.heap_bytes())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The README and BENCHMARKS give the lists' cost: 2 bytes per ref
    /// of a region with waiters, none elsewhere.
    #[test]
    fn a_list_costs_2_bytes_per_ref_and_only_where_waited() {
        assert_eq!(std::mem::size_of::<List>() / REFS_PER_LIST as usize, 2);
        let waiters = Waiters::new();
        assert_eq!(waiters.heap_bytes(), 0);
        assert!(waiters.list(5).is_none());
        assert!(waiters.list_or_make(5).is_some());
        // One segment of lists, the first: 64 lists, 1024 refs.
        assert_eq!(waiters.heap_bytes(), 64 * 32);
        assert!(waiters.list(1023).is_some() && waiters.list(1024).is_none());
    }
}
