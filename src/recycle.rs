//! Slot recycling: a released ref's slot goes back to `register`, with the
//! next generation, once no thread can still be reading it as the old ref.
//!
//! # When a slot is free
//!
//! A slot is *freed* when nothing leads to it any more: a released
//! canonical ref (or cycle member) at its release; a released alias when
//! its target is released, because until then it is still a node of the
//! target's reverse list (lists are insert-only while their owner lives,
//! see `reverse`). Every node of a released ref's list is released (a
//! live alias would pin the ref), so the release of a ref frees its whole
//! list at once. Each slot is in at most one list and each ref is released
//! once, so each slot is freed once.
//!
//! # Who may still read it
//!
//! * Walks (`resolve` and `try_resolve` beyond the canonical cache,
//!   `equivalent`, `aliases`, `target`, `to_dot`) and the release path
//!   (which reads the lists it frees) run under a read guard ([`Recycler::pin`]) and validate
//!   their ref after pinning. A freed slot is handed out again only after
//!   every guard that was held when it was freed is dropped
//!   ([`Recycler::retire`]). That is crossbeam-epoch's guarantee; its
//!   `pin` costs 10 to 15 ns, so the paths that must stay cheap do not use
//!   it:
//! * `resolve` and `try_resolve` of a ref with its canonical cached,
//!   `is_canonical` and `holders` read the row and then validate the
//!   generation word again (a seqlock read): a slot is reset for reuse only
//!   after it was marked dead, with Release stores that the reader's
//!   Acquire loads pair with, so a reader that saw any reset value sees the
//!   ref dead on its second check and answers `StaleRef`.
//! * `alias` (of its target, and of the alias on a repeat), `incref` and
//!   `decref` hold a unit of the ref's life word for the length of the
//!   call (`table::lifecycle`): a ref with a unit held is not released, so
//!   its slot is not freed. (So a ref whose last other unit goes while such
//!   a call runs is released by that call, when it gives its unit back.)
//!   The open ref that `alias` or `add_canonical` completes needs no unit:
//!   its completing CAS carries the ref's generation as the open word's
//!   tag (see `target`), so it fails on a newer ref in the slot.
//! * A resolver that sleeps holds a unit of the open end it sleeps on, so
//!   that the futex word is not reset under it.
//!
//! # Free lists without a shared hot spot
//!
//! A releasing thread collects freed slots in a batch of its own (per
//! table, in a thread-local cache of a few tables); a full batch of
//! [`BATCH`] is retired under a guard and, once the guard's epoch is past,
//! pushed onto the table's queue of free batches. A registering thread
//! takes slots from a batch of its own, popping a whole batch from the
//! queue when it runs out. So the queue is touched once per [`BATCH`]
//! releases and once per [`BATCH`] registrations. A thread's batches (at
//! most `2 * BATCH - 2` slots per table) go back to the queue when its
//! cache entry is evicted or the thread exits.
//!
//! A slot whose generation would pass the table's limit is retired for
//! good instead (never reused), so a generation never wraps.
//!
//! # Under loom
//!
//! crossbeam-epoch cannot be modelled from a dependent crate (crossbeam
//! issue #1173), so under `cfg(loom)` a stand-in defers instead: guards
//! count readers, and retired batches are released when the last guard
//! drops (a batch is always retired under a guard), under the lock that
//! retiring takes, so that no batch is released while a guard it was
//! retired under is held. That is stricter than an epoch (it waits for
//! guards taken after the retirement too, and may keep a batch longer), so
//! every interleaving it allows is one crossbeam-epoch allows; the price is
//! that the models explore fewer reuses than an epoch permits. Batches have one
//! slot under loom, so that a model can reuse a slot at once.

use std::cell::RefCell;

use crate::sync::{thread_local, AtomicBool, Ordering, UniqueIds};

/// Slots per batch of freed or reusable slots.
pub(crate) const BATCH: usize = if cfg!(loom) { 1 } else { 64 };

/// How many tables' batches one thread keeps.
const CACHED_TABLES: usize = 8;

static RECYCLER_IDS: UniqueIds = UniqueIds::new();

#[cfg(not(loom))]
type Queue = std::sync::Arc<crossbeam_queue::SegQueue<Vec<u32>>>;
#[cfg(loom)]
type Queue = loom::sync::Arc<LoomQueue>;

/// The loom build's queue of batches: a mutex, with a count beside it so
/// that `register` finds an empty queue without taking the lock (fewer
/// states for the models).
#[cfg(loom)]
#[derive(Default)]
pub(crate) struct LoomQueue {
    batches: loom::sync::Mutex<Vec<Vec<u32>>>,
    queued: crate::sync::AtomicUsize,
}

/// Whether the queue may hold a batch (see `Recycler::queued`).
#[cfg(not(loom))]
fn may_hold_a_batch(queue: &Queue) -> bool {
    // `SegQueue::is_empty` is two loads of lines that change only when
    // batches come and go, which is once per `BATCH` slots: far cheaper
    // than a `pop` attempt on every `register`.
    !queue.is_empty()
}

#[cfg(loom)]
fn may_hold_a_batch(queue: &Queue) -> bool {
    queue.queued.load(crate::sync::Ordering::SeqCst) != 0
}

/// A table's free slots, and the deferral of their reuse.
pub(crate) struct Recycler {
    id: u64,
    queue: Queue,
    /// Whether any slot was ever freed: until then `take` has nothing to
    /// look for, and a table that only grows skips its thread-local lookup.
    freed_any: AtomicBool,
    #[cfg(loom)]
    stand_in: StandIn,
}

impl std::fmt::Debug for Recycler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recycler")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Held while a thread reads slots it has not pinned otherwise.
#[must_use]
pub(crate) struct ReadGuard<'r> {
    #[cfg(not(loom))]
    guard: crossbeam_epoch::Guard,
    #[cfg(not(loom))]
    _recycler: std::marker::PhantomData<&'r Recycler>,
    #[cfg(loom)]
    recycler: &'r Recycler,
}

impl ReadGuard<'_> {
    /// Runs `f` once every guard held now, this one included, is dropped:
    /// for freeing what a reader under such a guard may still see.
    pub(crate) fn defer(&self, f: impl FnOnce() + Send + 'static) {
        #[cfg(not(loom))]
        self.guard.defer(f);
        #[cfg(loom)]
        self.recycler.stand_in.defer(Deferred::Call(Box::new(f)));
    }
}

/// One thread's batches for one table.
struct Local {
    recycler: u64,
    queue: Queue,
    /// Freed, not yet retired.
    freed: Vec<u32>,
    /// Reusable, taken by this thread's `register`.
    reusable: Vec<u32>,
}

impl Drop for Local {
    fn drop(&mut self) {
        // The thread exits or the entry is evicted: hand the batches on.
        let freed = std::mem::take(&mut self.freed);
        if !freed.is_empty() {
            retire_batch(&self.queue, freed, None);
        }
        let reusable = std::mem::take(&mut self.reusable);
        if !reusable.is_empty() {
            push(&self.queue, reusable);
        }
    }
}

thread_local! {
    #[allow(
        clippy::missing_const_for_thread_local,
        reason = "loom's `thread_local!` takes no `const` block"
    )]
    static LOCAL: RefCell<Vec<Local>> = RefCell::new(Vec::new());
}

fn push(queue: &Queue, batch: Vec<u32>) {
    #[cfg(not(loom))]
    queue.push(batch);
    #[cfg(loom)]
    {
        let mut batches = queue
            .batches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        batches.push(batch);
        queue.queued.fetch_add(1, crate::sync::Ordering::SeqCst);
    }
}

fn pop(queue: &Queue) -> Option<Vec<u32>> {
    #[cfg(not(loom))]
    return queue.pop();
    #[cfg(loom)]
    {
        let mut batches = queue
            .batches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let batch = batches.pop();
        if batch.is_some() {
            queue.queued.fetch_sub(1, crate::sync::Ordering::SeqCst);
        }
        batch
    }
}

/// Makes `batch` reusable once every guard held now is dropped.
#[cfg(not(loom))]
fn retire_batch(queue: &Queue, batch: Vec<u32>, guard: Option<&ReadGuard<'_>>) {
    let queue = std::sync::Arc::clone(queue);
    let push_later = move || queue.push(batch);
    let pinned;
    let guard = match guard {
        Some(guard) => &guard.guard,
        None => {
            pinned = crossbeam_epoch::pin();
            &pinned
        }
    };
    guard.defer(push_later);
    // Hand the thread's deferred work to the global queue now, so that any
    // thread's next collection can reuse the batch, rather than waiting
    // until this thread has deferred a bagful.
    guard.flush();
}

#[cfg(loom)]
fn retire_batch(queue: &Queue, batch: Vec<u32>, guard: Option<&ReadGuard<'_>>) {
    match guard {
        Some(guard) => guard.recycler.stand_in.defer(Deferred::Batch(batch)),
        // A thread-local destructor: the recycler may be gone. Models
        // never get here (their batches hold one slot and retire at once).
        None => push(queue, batch),
    }
}

impl Recycler {
    pub(crate) fn new() -> Self {
        Recycler {
            id: RECYCLER_IDS.next(),
            queue: Queue::new(Default::default()),
            freed_any: AtomicBool::new(false),
            #[cfg(loom)]
            stand_in: StandIn::default(),
        }
    }

    /// A guard for reading slots: no slot freed while it is held is reused
    /// before it is dropped.
    #[inline]
    pub(crate) fn pin(&self) -> ReadGuard<'_> {
        #[cfg(not(loom))]
        return ReadGuard {
            guard: crossbeam_epoch::pin(),
            _recycler: std::marker::PhantomData,
        };
        #[cfg(loom)]
        {
            self.stand_in.enter();
            ReadGuard { recycler: self }
        }
    }

    /// Frees `index` (its ref was released and nothing leads to it): it
    /// becomes reusable once every guard held now, `guard` included, is
    /// dropped.
    pub(crate) fn free(&self, guard: &ReadGuard<'_>, index: u32) {
        // Relaxed: only a hint for `take`. A `take` that still reads
        // `false` takes a fresh index instead, which is correct; the batch
        // this slot joins is published through the queue, not this flag.
        if !self.freed_any.load(Ordering::Relaxed) {
            self.freed_any.store(true, Ordering::Relaxed);
        }
        let full = self.with_local(|local| {
            local.freed.push(index);
            (local.freed.len() >= BATCH).then(|| std::mem::take(&mut local.freed))
        });
        match full {
            Some(Some(batch)) => retire_batch(&self.queue, batch, Some(guard)),
            Some(None) => {}
            // No thread-local state (a thread-local destructor): retire alone.
            None => retire_batch(&self.queue, vec![index], Some(guard)),
        }
    }

    /// A reusable slot for `register`, if any.
    pub(crate) fn take(&self) -> Option<u32> {
        // Relaxed: see `free`.
        if !self.freed_any.load(Ordering::Relaxed) {
            return None;
        }
        self.with_local(|local| {
            if local.reusable.is_empty() {
                if !may_hold_a_batch(&self.queue) {
                    return None;
                }
                local.reusable = pop(&self.queue)?;
            }
            local.reusable.pop()
        })
        .unwrap_or_else(|| {
            // No thread-local state: take one slot of a batch, return the rest.
            let mut batch = pop(&self.queue)?;
            let index = batch.pop();
            if !batch.is_empty() {
                push(&self.queue, batch);
            }
            index
        })
    }

    /// Runs `f` on this thread's batches for this table (`None` if the
    /// thread's locals are gone).
    fn with_local<R>(&self, f: impl FnOnce(&mut Local) -> R) -> Option<R> {
        LOCAL
            .try_with(|cell| {
                let mut locals = cell.borrow_mut();
                let position = match locals.iter().position(|l| l.recycler == self.id) {
                    Some(position) => position,
                    None => {
                        if locals.len() == CACHED_TABLES {
                            // Evict the oldest; its drop hands its batches on.
                            locals.remove(0);
                        }
                        locals.push(Local {
                            recycler: self.id,
                            queue: self.queue.clone(),
                            freed: Vec::new(),
                            reusable: Vec::new(),
                        });
                        locals.len() - 1
                    }
                };
                f(&mut locals[position])
            })
            .ok()
    }
}

#[cfg(loom)]
#[derive(Default)]
struct StandIn {
    readers: crate::sync::AtomicUsize,
    /// Batches in `deferred`, so that a guard's drop takes the lock only
    /// when there is something to flush (fewer states for the models).
    waiting: crate::sync::AtomicUsize,
    deferred: loom::sync::Mutex<Vec<Deferred>>,
}

/// What the stand-in holds back until the last guard drops.
#[cfg(loom)]
enum Deferred {
    /// Freed slots, for the queue.
    Batch(Vec<u32>),
    /// A call from [`ReadGuard::defer`].
    Call(Box<dyn FnOnce() + Send>),
}

#[cfg(loom)]
impl Deferred {
    fn run(self, queue: &Queue) {
        match self {
            Deferred::Batch(batch) => push(queue, batch),
            Deferred::Call(call) => call(),
        }
    }
}

#[cfg(loom)]
impl StandIn {
    fn enter(&self) {
        self.readers.fetch_add(1, crate::sync::Ordering::SeqCst);
    }

    fn leave(&self, queue: &Queue) {
        // SeqCst, as every access here. With nothing waiting, leave
        // without the lock: a batch retired meanwhile is its retirer's
        // (whose guard is still held) to flush, or a later guard's.
        if self.waiting.load(crate::sync::Ordering::SeqCst) == 0 {
            self.readers.fetch_sub(1, crate::sync::Ordering::SeqCst);
            return;
        }
        // Under the lock that `defer` takes too: no batch can be added
        // between the count reaching zero and the batches being taken, so
        // none is released while a guard it was retired under is held.
        let deferred = {
            let mut deferred = self.deferred.lock().unwrap();
            if self.readers.fetch_sub(1, crate::sync::Ordering::SeqCst) != 1 {
                return;
            }
            self.waiting
                .fetch_sub(deferred.len(), crate::sync::Ordering::SeqCst);
            std::mem::take(&mut *deferred)
        };
        for item in deferred {
            item.run(queue);
        }
    }

    fn defer(&self, item: Deferred) {
        // The retiring thread holds a guard itself: the `leave` that brings
        // the count to zero, its own or a later one, flushes the batch.
        let mut deferred = self.deferred.lock().unwrap();
        deferred.push(item);
        self.waiting.fetch_add(1, crate::sync::Ordering::SeqCst);
    }
}

#[cfg(loom)]
impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        self.recycler.stand_in.leave(&self.recycler.queue);
    }
}
