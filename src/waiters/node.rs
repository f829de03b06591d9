//! Waiter nodes: one allocation per waiter, with the callback inline.
//!
//! A callback's node is a [`CallbackNode<F>`]: the common [`Node`] header
//! (`#[repr(C)]`, first), then the closure itself, so registering a
//! callback allocates once. The header's vtable knows `F`: how to run the
//! closure, move it to a new node, drop it uncalled, and free the node. A
//! future's first node is a [`FutureCell`]: the header, then the slot the
//! future polls, in one `Arc`, whose counts are the future's and the
//! list's; a future's waiter moved to another list gets a bare header
//! holding a count of the cell.
//!
//! # Who owns a node
//!
//! * A [`NewNode`] is a node in no list, owned by one thread: made by a
//!   registrant (or by a move), then pushed, which publishes it.
//! * A listed node is `ARMED` until one thread claims it (a CAS to
//!   `CLAIMED`): that thread then holds a [`Claimed`], and only it touches
//!   the payload, until it answers the waiter, moves it to a new node, or
//!   drops it uncalled, and in each case stores `DONE` as its last access
//!   (Release).
//! * A claimer that moves the waiter to an open end served by the same
//!   list may **re-arm** the node in place instead of remaking it: it
//!   stores the new open end, then `ARMED` (Release), then announces, as a
//!   push would; from `ARMED` on, the node is claimable again, by exactly
//!   one thread as before. A scan for the old open end cannot take it: that
//!   open end completed once, and its one scan is the mover's own.
//! * Only a `DONE` node is garbage: the list's sweeper unlinks it and frees
//!   it through the epoch. A `CLAIMED` node is never freed, so a
//!   [`Claimed`] needs no guard.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};
use std::sync::Arc;

use std::task::Waker;

use super::{Answer, FutureSlot};
use crate::sync::{AtomicPtr, AtomicU32, AtomicU64, Ordering, UnsafeCell};
use crate::ObjRef;

/// Node states.
const ARMED: u32 = 0;
const CLAIMED: u32 = 1;
const DONE: u32 = 2;

/// A waiter in a list: the header every node starts with.
#[repr(C)]
pub(super) struct Node {
    /// The node behind this one. Written by the pusher before the push, and
    /// later only by the list's sweeper.
    pub(super) next: AtomicPtr<Node>,
    /// The open end this waiter waits at: index, generation (packed).
    /// Written before the push publishes the node, and again only by a
    /// claimer re-arming it; scans read it while the claimer may write.
    at: AtomicU64,
    r: ObjRef,
    state: AtomicU32,
    /// What waits, and what the rest of the allocation is. Fixed at the
    /// making; a future's slot is readable at any time (the sweeper checks
    /// whether the future was dropped).
    payload: Payload,
}

/// What a node carries.
enum Payload {
    /// A `CallbackNode` of the vtable's type.
    Callback(&'static CallbackVTable),
    /// The header of a [`FutureCell`], made by `Arc::into_raw`: this node
    /// holds one count of its own cell.
    Future,
    /// A future's waiter moved here from its cell's node: a bare `Node`
    /// from `Box::new`, holding a count of the cell.
    Moved(Arc<FutureCell>),
}

/// A `resolved` future's first node and the slot it shares with the
/// future: one allocation.
#[repr(C)]
pub(crate) struct FutureCell {
    node: Node,
    slot: FutureSlot,
}

impl FutureCell {
    /// The slot the future polls.
    pub(crate) fn slot(&self) -> &FutureSlot {
        &self.slot
    }
}

/// A callback's node: the header, then the closure, present until the
/// node is `DONE`.
#[repr(C)]
struct CallbackNode<F> {
    node: Node,
    f: UnsafeCell<ManuallyDrop<F>>,
}

/// What a header needs to know of its callback's type.
struct CallbackVTable {
    /// Runs the callback, freeing the node first if `owned` (the caller
    /// owns it outright). Otherwise the caller holds the claim.
    run: unsafe fn(NonNull<Node>, Answer, bool),
    /// Moves the callback into a new node. The caller holds the claim.
    remake: unsafe fn(NonNull<Node>) -> NewNode,
    /// Drops the callback uncalled. The caller holds the claim.
    discard: unsafe fn(NonNull<Node>),
    /// Frees the node, dropping the callback unless it is `DONE`. The
    /// caller owns the node, which no other thread can reach.
    free: unsafe fn(NonNull<Node>),
    /// The node's size, closure included.
    size: usize,
}

struct VTableOf<F>(PhantomData<F>);

impl<F: FnOnce(Answer) + Send + 'static> VTableOf<F> {
    const VTABLE: CallbackVTable = CallbackVTable {
        run: run::<F>,
        remake: remake::<F>,
        discard: discard::<F>,
        free: free::<F>,
        size: std::mem::size_of::<CallbackNode<F>>(),
    };
}

/// Takes `F` out of its node and stores `DONE`: the node's last access.
///
/// # Safety
///
/// `node` is a live `CallbackNode<F>` whose callback is present, and the
/// caller holds its claim (or owns it outright).
unsafe fn take<F>(node: NonNull<Node>) -> (ObjRef, F) {
    // SAFETY: the header is the first field of a `repr(C)` `CallbackNode`.
    let node = unsafe { node.cast::<CallbackNode<F>>().as_ref() };
    // SAFETY: the claim makes this thread the only one touching `f`, which
    // is present until this take (the caller's contract).
    let f = node.f.with_mut(|f| unsafe { ManuallyDrop::take(&mut *f) });
    let r = node.node.r;
    // Release: the sweeper frees the node only after it sees this, which
    // is after the last access above.
    node.node.state.store(DONE, Ordering::Release);
    (r, f)
}

/// # Safety
///
/// As [`take`]; if `owned`, the caller owns the node outright, as for
/// [`free`].
unsafe fn run<F: FnOnce(Answer)>(node: NonNull<Node>, answer: Answer, owned: bool) {
    // SAFETY: forwarded.
    let (_, f) = unsafe { take::<F>(node) };
    if owned {
        // SAFETY: owned (contract), and `DONE`: only the memory is freed.
        unsafe { free::<F>(node) };
    }
    f(answer);
}

/// # Safety
///
/// As [`take`].
unsafe fn remake<F: FnOnce(Answer) + Send + 'static>(node: NonNull<Node>) -> NewNode {
    // SAFETY: forwarded.
    let (r, f) = unsafe { take::<F>(node) };
    NewNode::callback(r, f)
}

/// # Safety
///
/// As [`take`].
unsafe fn discard<F>(node: NonNull<Node>) {
    // SAFETY: forwarded.
    drop(unsafe { take::<F>(node) });
}

/// # Safety
///
/// `node` is a `CallbackNode<F>` made by [`NewNode::callback`], owned by
/// the caller alone (unlisted, or unlinked and past every guard).
unsafe fn free<F>(node: NonNull<Node>) {
    // SAFETY: made by `Box::new` of a `CallbackNode<F>` (the caller's
    // contract), and owned by the caller alone.
    let node = unsafe { Box::from_raw(node.cast::<CallbackNode<F>>().as_ptr()) };
    // Acquire: the node is the caller's alone; this pairs with the Release
    // of `DONE` for the model checker's sake.
    if node.node.state.load(Ordering::Acquire) != DONE {
        // SAFETY: not `DONE`, so the callback was never taken.
        node.f.with_mut(|f| unsafe { ManuallyDrop::drop(&mut *f) });
    }
}

impl Node {
    fn header(r: ObjRef, payload: Payload) -> Node {
        Node {
            next: AtomicPtr::new(ptr::null_mut()),
            at: AtomicU64::new(0),
            r,
            state: AtomicU32::new(ARMED),
            payload,
        }
    }

    /// The slot of the future `node` waits for, if it is a future's.
    ///
    /// # Safety
    ///
    /// `node` is live for `'a` and carries its allocation's provenance (it
    /// is the pointer the node was made with, not one derived from a
    /// `&Node`, which would cover the header only).
    unsafe fn slot<'a>(node: NonNull<Node>) -> Option<&'a FutureSlot> {
        // SAFETY: live for `'a` (contract).
        match &unsafe { node.as_ref() }.payload {
            Payload::Callback(_) => None,
            Payload::Future => {
                // SAFETY: a `Future` node is the first field of a
                // `repr(C)` `FutureCell`, which lives while the node does,
                // and `node` covers the whole cell (contract).
                let cell = unsafe { node.cast::<FutureCell>().as_ref() };
                Some(&cell.slot)
            }
            Payload::Moved(cell) => Some(&cell.slot),
        }
    }

    /// The open end the node waits at.
    pub(super) fn at(&self) -> (u32, u32) {
        // Relaxed: a scan that must see a value has it ordered before it by
        // the push (head CAS, Release/Acquire) or by the announcement that
        // its completion read from (module docs of `waiters`); any other
        // value only makes it skip a node that is not its own.
        unpack(self.at.load(Ordering::Relaxed))
    }

    /// The bytes the node's allocation holds (a future's: with its slot).
    pub(super) fn bytes(&self) -> usize {
        match &self.payload {
            Payload::Callback(vtable) => vtable.size,
            // The cell, and `Arc`'s two counts.
            Payload::Future => std::mem::size_of::<FutureCell>() + 2 * std::mem::size_of::<usize>(),
            // The cell too: it lives on through this node after its own is
            // swept (until then, counted twice: an overcount, never an
            // undercount).
            Payload::Moved(_) => {
                std::mem::size_of::<Node>()
                    + std::mem::size_of::<FutureCell>()
                    + 2 * std::mem::size_of::<usize>()
            }
        }
    }

    /// Claims the node if it is still armed: at most one caller ever does.
    fn claim(&self) -> bool {
        // AcqRel: the winner sees the node as its pusher wrote it.
        self.state
            .compare_exchange(ARMED, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Whether the sweeper may unlink `node`: `DONE`, or a dropped
    /// future's (claimed and made `DONE` here, so no completion delivers it).
    ///
    /// # Safety
    ///
    /// As [`Node::slot`], for the duration of the call.
    pub(super) unsafe fn is_garbage(node: NonNull<Node>) -> bool {
        // SAFETY: live (contract).
        let header = unsafe { node.as_ref() };
        match header.state.load(Ordering::Acquire) {
            DONE => true,
            // SAFETY: forwarded.
            ARMED if unsafe { Node::slot(node) }.is_some_and(FutureSlot::is_abandoned) => {
                if !header.claim() {
                    return false;
                }
                // Release: as in `take`; a future's payload stays with the
                // node until it is freed.
                header.state.store(DONE, Ordering::Release);
                true
            }
            _ => false,
        }
    }
}

/// Stores `DONE` when dropped: the last access of a claimed node.
struct MarkDone<'a>(&'a AtomicU32);

impl Drop for MarkDone<'_> {
    fn drop(&mut self) {
        // Release: as in `take`: the sweeper frees the node only after it
        // sees this, which is after the claimer's last access.
        self.0.store(DONE, Ordering::Release);
    }
}

fn pack((index, generation): (u32, u32)) -> u64 {
    (u64::from(index) << 32) | u64::from(generation)
}

fn unpack(at: u64) -> (u32, u32) {
    ((at >> 32) as u32, at as u32)
}

/// A node in no list, owned by the thread holding this.
pub(crate) struct NewNode(NonNull<Node>);

// SAFETY: the node is owned by this value alone, and its payload is `Send`:
// a `Send` closure, or (a count of) a `FutureCell`, which is `Send + Sync`
// by its fields (atomics, read-only header fields, and `FutureSlot`, whose
// `Sync` is argued where it is declared).
unsafe impl Send for NewNode {}

impl NewNode {
    /// A node for `on_resolved`'s callback: one allocation.
    pub(crate) fn callback<F: FnOnce(Answer) + Send + 'static>(r: ObjRef, f: F) -> NewNode {
        let vtable: &'static CallbackVTable = &VTableOf::<F>::VTABLE;
        let node = Box::new(CallbackNode {
            node: Node::header(r, Payload::Callback(vtable)),
            f: UnsafeCell::new(ManuallyDrop::new(f)),
        });
        NewNode(NonNull::from(Box::leak(node)).cast())
    }

    /// A `resolved` future's cell (its slot with `waker` registered) and
    /// the node that is its first half: one allocation.
    pub(crate) fn future(r: ObjRef, waker: &Waker) -> (NewNode, Arc<FutureCell>) {
        let cell = Arc::new(FutureCell {
            node: Node::header(r, Payload::Future),
            slot: FutureSlot::new(waker),
        });
        let ours = Arc::clone(&cell);
        // The count `into_raw` keeps is the node's; `into_slot_holder`
        // takes it back with `Arc::from_raw`.
        let node = Arc::into_raw(cell).cast_mut().cast::<Node>();
        let node = NonNull::new(node).expect("Arc::into_raw is never null");
        (NewNode(node), ours)
    }

    /// Sets the open end and gives up ownership, for the push that
    /// publishes the node.
    pub(super) fn into_raw(self, at: (u32, u32)) -> NonNull<Node> {
        let node = ManuallyDrop::new(self).0;
        // SAFETY: owned by this value alone, and not yet published.
        // Relaxed: published by the push's Release CAS.
        unsafe { node.as_ref() }
            .at
            .store(pack(at), Ordering::Relaxed);
        node
    }

    /// Answers the waiter without ever listing it.
    pub(crate) fn answer(self, answer: Answer) {
        let node = ManuallyDrop::new(self).0;
        // SAFETY: the node is ours alone (never published).
        let header = unsafe { node.as_ref() };
        match &header.payload {
            // SAFETY: ours alone, callback present.
            Payload::Callback(vtable) => unsafe { (vtable.run)(node, answer, true) },
            // Freed (our count of it dropped) even if the waker panics.
            _ => {
                // SAFETY: ours alone: the count goes with the node.
                let slot_holder = unsafe { into_slot_holder(node) };
                slot_holder.slot().complete(answer);
            }
        }
    }
}

/// What keeps a future's slot alive once its node is gone: the cell.
///
/// # Safety
///
/// `node` is a future's node (`Future` or `Moved`), owned by the caller
/// alone; it is freed here, its count of the cell handed to the result.
unsafe fn into_slot_holder(node: NonNull<Node>) -> Arc<FutureCell> {
    // SAFETY: owned by the caller (contract).
    match unsafe { node.as_ref() }.payload {
        // SAFETY: made by `Arc::into_raw` of a `FutureCell`, whose first
        // field this node is; the node's count becomes the result.
        Payload::Future => unsafe { Arc::from_raw(node.as_ptr().cast::<FutureCell>()) },
        Payload::Moved(_) => {
            // SAFETY: a bare `Node` from `Box::new`, ours alone.
            let boxed = unsafe { Box::from_raw(node.as_ptr()) };
            match boxed.payload {
                Payload::Moved(cell) => cell,
                _ => unreachable!("matched above"),
            }
        }
        Payload::Callback(_) => unreachable!("a future's node"),
    }
}

impl Drop for NewNode {
    fn drop(&mut self) {
        // SAFETY: ours alone (never published): free it, and its payload.
        unsafe { free_node(self.0) };
    }
}

/// Frees a node and whatever payload it still holds.
///
/// # Safety
///
/// The caller owns `node` alone: unlisted, or unlinked and past every
/// guard that could still reach it.
pub(super) unsafe fn free_node(node: NonNull<Node>) {
    // SAFETY: owned by the caller (contract), so the header is readable.
    match unsafe { node.as_ref() }.payload {
        // SAFETY: a callback node was made as a `CallbackNode` of the type
        // this vtable was made for.
        Payload::Callback(vtable) => unsafe { (vtable.free)(node) },
        // SAFETY: a future's node, owned by the caller (contract).
        Payload::Future | Payload::Moved(_) => drop(unsafe { into_slot_holder(node) }),
    }
}

/// A claimed node: its payload is this holder's alone until it answers,
/// remakes or drops it. The node is `CLAIMED`, so no sweeper frees it.
pub(crate) struct Claimed<'w> {
    node: NonNull<Node>,
    _lists: PhantomData<&'w ()>,
}

impl<'w> Claimed<'w> {
    /// Claims `node` if it is still armed.
    ///
    /// # Safety
    ///
    /// `node` is a listed node, kept from being freed (by a guard) for the
    /// duration of this call; `'w` does not outlive the lists.
    pub(super) unsafe fn claim(node: NonNull<Node>) -> Option<Claimed<'w>> {
        // SAFETY: live for this call (contract).
        if !unsafe { node.as_ref() }.claim() {
            return None;
        }
        // Made only now: dropping a `Claimed` drops its waiter.
        Some(Claimed {
            node,
            _lists: PhantomData,
        })
    }

    fn header(&self) -> &Node {
        // SAFETY: a `CLAIMED` node is not freed (module docs).
        unsafe { self.node.as_ref() }
    }

    /// The ref the waiter waits for.
    pub(crate) fn r(&self) -> ObjRef {
        self.header().r
    }

    /// The open end the node was listed at.
    pub(super) fn at(&self) -> (u32, u32) {
        self.header().at()
    }

    /// Re-arms the node in place for open end `at`, which the same list
    /// serves (module docs); the caller then announces it, as after a
    /// push, and may take it back the same way.
    pub(super) fn rearm(self, at: (u32, u32)) -> NonNull<Node> {
        let this = ManuallyDrop::new(self);
        let header = this.header();
        // Relaxed: published by the Release store of `ARMED` below, and
        // to the next completion through the announcement after it.
        header.at.store(pack(at), Ordering::Relaxed);
        // Release: a claimer that sees `ARMED` (its AcqRel CAS) sees the
        // node as it is now; this is the last access under this claim.
        header.state.store(ARMED, Ordering::Release);
        this.node
    }

    /// Runs the callback or completes the future.
    pub(crate) fn answer(self, answer: Answer) {
        let this = ManuallyDrop::new(self);
        let header = this.header();
        // SAFETY: `CLAIMED` (so live), and `this.node` is the pointer the
        // node was made with.
        match (&header.payload, unsafe { Node::slot(this.node) }) {
            // SAFETY: we hold the claim; `run` stores `DONE` last.
            (Payload::Callback(vtable), _) => unsafe { (vtable.run)(this.node, answer, false) },
            (_, slot) => {
                // `DONE` even if the waker panics, so the node is swept.
                let _done = MarkDone(&header.state);
                slot.expect("a future's node").complete(answer);
            }
        }
    }

    /// The waiter in a new node, for a list elsewhere; this node is `DONE`.
    pub(crate) fn remake(self) -> NewNode {
        let this = ManuallyDrop::new(self);
        let header = this.header();
        let cell = match &header.payload {
            // SAFETY: we hold the claim; `remake` stores `DONE` last.
            Payload::Callback(vtable) => return unsafe { (vtable.remake)(this.node) },
            Payload::Future => {
                let cell = this.node.as_ptr().cast::<FutureCell>().cast_const();
                // SAFETY: this node is a cell's header, made by
                // `Arc::into_raw` and holding a count, so the cell is live;
                // the new count is the new node's.
                unsafe {
                    Arc::increment_strong_count(cell);
                    Arc::from_raw(cell)
                }
            }
            Payload::Moved(cell) => Arc::clone(cell),
        };
        let new = Node::header(header.r, Payload::Moved(cell));
        // Release: as in `take`: the last access of the old node.
        header.state.store(DONE, Ordering::Release);
        NewNode(NonNull::from(Box::leak(Box::new(new))))
    }
}

impl Drop for Claimed<'_> {
    /// Drops the waiter unanswered.
    fn drop(&mut self) {
        match self.header().payload {
            // SAFETY: we hold the claim; `discard` stores `DONE` last.
            Payload::Callback(vtable) => unsafe { (vtable.discard)(self.node) },
            // Release: as in `take`.
            _ => self.header().state.store(DONE, Ordering::Release),
        }
    }
}

/// An unlinked node, freed when this is dropped (in a deferred call).
pub(super) struct RetiredNode(pub(super) NonNull<Node>);

// SAFETY: the node is unlinked and owned by this value alone; its payload
// is `Send` (see `NewNode`).
unsafe impl Send for RetiredNode {}

impl Drop for RetiredNode {
    fn drop(&mut self) {
        // SAFETY: unlinked, retired once (the sweeper retires each node it
        // unlinks, and unlinks it once), and dropped only by the epoch after
        // every guard that could reach it.
        unsafe { free_node(self.0) };
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts calls and drops of one callback.
    #[derive(Default)]
    struct Counts {
        calls: AtomicUsize,
        drops: AtomicUsize,
    }

    struct Tracked(Arc<Counts>);

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.drops.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn tracked_node(counts: &Arc<Counts>) -> NewNode {
        let tracked = Tracked(Arc::clone(counts));
        NewNode::callback(ObjRef::new(1, 0), move |_| {
            tracked.0.calls.fetch_add(1, Ordering::Relaxed);
        })
    }

    fn seen(counts: &Counts) -> (usize, usize) {
        (
            counts.calls.load(Ordering::Relaxed),
            counts.drops.load(Ordering::Relaxed),
        )
    }

    /// Regression: a losing claim once built (and dropped) a `Claimed`,
    /// dropping the winner's callback under it.
    #[test]
    fn a_lost_claim_leaves_the_waiter_to_the_winner() {
        let counts = Arc::default();
        let node = tracked_node(&counts).into_raw((1, 0));
        // SAFETY: the node is live until `free_node` below.
        let winner = unsafe { Claimed::claim(node) }.expect("armed");
        // SAFETY: as above.
        assert!(unsafe { Claimed::claim(node) }.is_none());
        assert_eq!(seen(&counts), (0, 0));
        winner.answer(Ok(ObjRef::new(2, 0)));
        assert_eq!(seen(&counts), (1, 1));
        // SAFETY: `DONE`, and ours alone.
        unsafe { free_node(node) };
        assert_eq!(seen(&counts), (1, 1), "freeing a DONE node drops nothing");
    }

    #[test]
    fn each_way_out_drops_the_callback_once() {
        // Never listed, answered.
        let counts = Arc::default();
        tracked_node(&counts).answer(Ok(ObjRef::new(2, 0)));
        assert_eq!(seen(&counts), (1, 1));
        // Never listed, dropped.
        let counts = Arc::default();
        drop(tracked_node(&counts));
        assert_eq!(seen(&counts), (0, 1));
        // Claimed, remade, then the new node answered.
        let counts = Arc::default();
        let node = tracked_node(&counts).into_raw((1, 0));
        // SAFETY: live until `free_node` below.
        let remade = unsafe { Claimed::claim(node) }.unwrap().remake();
        assert_eq!(seen(&counts), (0, 0));
        remade.answer(Ok(ObjRef::new(2, 0)));
        // SAFETY: `DONE` after the remake, ours alone.
        unsafe { free_node(node) };
        assert_eq!(seen(&counts), (1, 1));
        // Claimed and dropped unanswered.
        let counts = Arc::default();
        let node = tracked_node(&counts).into_raw((1, 0));
        // SAFETY: live until `free_node` below.
        drop(unsafe { Claimed::claim(node) }.unwrap());
        // SAFETY: `DONE`, ours alone.
        unsafe { free_node(node) };
        assert_eq!(seen(&counts), (0, 1));
        // Listed and freed armed (the table dropped first).
        let counts = Arc::default();
        let node = tracked_node(&counts).into_raw((1, 0));
        // SAFETY: armed and ours alone.
        unsafe { free_node(node) };
        assert_eq!(seen(&counts), (0, 1));
    }

    #[test]
    fn a_futures_cell_is_one_allocation_whose_counts_come_back() {
        let answer = Ok(ObjRef::new(2, 0));
        // Listed, claimed, remade in another list, answered there: the
        // moved node holds the cell until it is freed.
        let (node, cell) = NewNode::future(ObjRef::new(1, 0), Waker::noop());
        assert_eq!(Arc::strong_count(&cell), 2, "the future's and the node's");
        let first = node.into_raw((1, 0));
        // SAFETY: live until `free_node` below.
        let moved = unsafe { Claimed::claim(first) }.unwrap().remake();
        assert_eq!(Arc::strong_count(&cell), 3);
        let second = moved.into_raw((40, 0));
        // SAFETY: live until `free_node` below.
        unsafe { Claimed::claim(second) }.unwrap().answer(answer);
        assert_eq!(cell.slot().answer(), Some(answer));
        // SAFETY: both `DONE` and ours alone.
        unsafe {
            free_node(first);
            free_node(second);
        }
        assert_eq!(Arc::strong_count(&cell), 1);
        // Never listed, answered at once; and dropped unanswered.
        let (node, cell) = NewNode::future(ObjRef::new(1, 0), Waker::noop());
        node.answer(answer);
        assert_eq!(
            (cell.slot().answer(), Arc::strong_count(&cell)),
            (Some(answer), 1)
        );
        let (node, cell) = NewNode::future(ObjRef::new(1, 0), Waker::noop());
        drop(node);
        assert_eq!((cell.slot().answer(), Arc::strong_count(&cell)), (None, 1));
    }
}
