//! Waiter nodes: one allocation per waiter, with the callback inline.
//!
//! A callback's node is a [`CallbackNode<F>`]: the common [`Node`] header
//! (`#[repr(C)]`, first), then the closure itself, so registering a
//! callback allocates once. The header's vtable knows `F`: how to run the
//! closure, move it to a new node, drop it uncalled, and free the node. A
//! future's node is a bare header; its payload is the `Arc` it shares with
//! the future.
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
    /// A future's shared half, readable at any time (the sweeper checks
    /// whether the future was dropped).
    future: Option<Arc<FutureSlot>>,
    /// A callback node's operations; `None` for a future's node.
    callback: Option<&'static CallbackVTable>,
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
    fn header(
        r: ObjRef,
        future: Option<Arc<FutureSlot>>,
        callback: Option<&'static CallbackVTable>,
    ) -> Node {
        Node {
            next: AtomicPtr::new(ptr::null_mut()),
            at: AtomicU64::new(0),
            r,
            state: AtomicU32::new(ARMED),
            future,
            callback,
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
        match self.callback {
            Some(vtable) => vtable.size,
            None => std::mem::size_of::<Node>() + std::mem::size_of::<FutureSlot>(),
        }
    }

    /// Claims the node if it is still armed: at most one caller ever does.
    fn claim(&self) -> bool {
        // AcqRel: the winner sees the node as its pusher wrote it.
        self.state
            .compare_exchange(ARMED, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Whether the sweeper may unlink the node: `DONE`, or a dropped
    /// future's (claimed and made `DONE` here, so no completion delivers it).
    pub(super) fn is_garbage(&self) -> bool {
        match self.state.load(Ordering::Acquire) {
            DONE => true,
            ARMED if self.future.as_ref().is_some_and(|slot| slot.is_abandoned()) => {
                if !self.claim() {
                    return false;
                }
                // Release: as in `take`; a future's payload stays with the
                // node until it is freed.
                self.state.store(DONE, Ordering::Release);
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

// SAFETY: the node is owned by this value alone, and its payload (a `Send`
// closure or an `Arc` of a `Sync` slot) is `Send`.
unsafe impl Send for NewNode {}

impl NewNode {
    /// A node for `on_resolved`'s callback: one allocation.
    pub(crate) fn callback<F: FnOnce(Answer) + Send + 'static>(r: ObjRef, f: F) -> NewNode {
        let vtable: &'static CallbackVTable = &VTableOf::<F>::VTABLE;
        let node = Box::new(CallbackNode {
            node: Node::header(r, None, Some(vtable)),
            f: UnsafeCell::new(ManuallyDrop::new(f)),
        });
        NewNode(NonNull::from(Box::leak(node)).cast())
    }

    /// A node for a `resolved` future's slot.
    pub(crate) fn future(r: ObjRef, slot: Arc<FutureSlot>) -> NewNode {
        let node = Box::new(Node::header(r, Some(slot), None));
        NewNode(NonNull::from(Box::leak(node)))
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
        match (header.callback, &header.future) {
            // SAFETY: ours alone, callback present.
            (Some(vtable), _) => unsafe { (vtable.run)(node, answer, true) },
            (None, _) => {
                // SAFETY: a future's node is a bare `Node` from `Box::new`,
                // ours alone. Freed first, so that a panicking waker
                // leaks nothing.
                let mut boxed = unsafe { Box::from_raw(node.as_ptr()) };
                let slot = boxed.future.take();
                drop(boxed);
                if let Some(slot) = slot {
                    slot.complete(answer);
                }
            }
        }
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
    match unsafe { node.as_ref() }.callback {
        // SAFETY: a callback node was made as a `CallbackNode` of the type
        // this vtable was made for.
        Some(vtable) => unsafe { (vtable.free)(node) },
        // SAFETY: a future's node is a bare `Node` from `Box::new`.
        None => drop(unsafe { Box::from_raw(node.as_ptr()) }),
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
        match this.header().callback {
            // SAFETY: we hold the claim; `run` stores `DONE` last.
            Some(vtable) => unsafe { (vtable.run)(this.node, answer, false) },
            None => {
                let header = this.header();
                // `DONE` even if the waker panics, so the node is swept.
                let _done = MarkDone(&header.state);
                if let Some(slot) = &header.future {
                    slot.complete(answer);
                }
            }
        }
    }

    /// The waiter in a new node, for a list elsewhere; this node is `DONE`.
    pub(crate) fn remake(self) -> NewNode {
        let this = ManuallyDrop::new(self);
        match this.header().callback {
            // SAFETY: we hold the claim; `remake` stores `DONE` last.
            Some(vtable) => unsafe { (vtable.remake)(this.node) },
            None => {
                let header = this.header();
                let new = Node::header(header.r, header.future.clone(), None);
                // Release: as in `take`.
                header.state.store(DONE, Ordering::Release);
                NewNode(NonNull::from(Box::leak(Box::new(new))))
            }
        }
    }
}

impl Drop for Claimed<'_> {
    /// Drops the waiter unanswered.
    fn drop(&mut self) {
        match self.header().callback {
            // SAFETY: we hold the claim; `discard` stores `DONE` last.
            Some(vtable) => unsafe { (vtable.discard)(self.node) },
            // Release: as in `take`.
            None => self.header().state.store(DONE, Ordering::Release),
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
}
