//! `on_resolved` and `resolved`: being told a ref's canonical ref instead
//! of sleeping for it, and the completing calls' side of it (handing
//! waiters on). The lists and their handshake are in `waiters`.
//!
//! A waiter is registered at the open end of its ref's path, found by a
//! walk under a guard (as in `resolve`). The completing call (`alias` or
//! `add_canonical` whose CAS found `listeners`) claims the waiters at the
//! ref it completed, before it settles that ref (so the ref is still
//! pending and the path behind it pinned: every ref the hand-on walks is
//! live). It walks on from there: a canonical ref or a cycle answers them,
//! another open end takes them over. The answers run after the guard is
//! dropped, so a callback may call back into the table.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::AliasTable;
use crate::resolved::{OwnedResolved, Resolved};
use crate::waiters::{Answer, NewNode};
use crate::walk::{compress, Follow, WalkEnd};
use crate::{AliasError, ObjRef};

impl AliasTable {
    /// Runs `f` exactly once with `r`'s resolution: `Ok(canonical)`, or
    /// `Err(Cycle(r))` if `r` is on or leads into a cycle, or
    /// `Err(StaleRef(r))` if `r` was released before its path completed.
    ///
    /// If the answer is known, `f` runs at once on this thread. Otherwise
    /// it runs on the thread whose call completes `r`'s path (or closes
    /// the cycle it leads into), after that call's effects are visible,
    /// before that call returns, and outside any lock: `f` may call back
    /// into the table. It runs before that call settles the ref it
    /// completed: an output that nobody holds is released after the
    /// callbacks, not before. If a callback panics, the others still run,
    /// the completing call finishes its work, and then the panic goes on
    /// from that call. Waiting holds nothing: keep a holder of `r` while
    /// the answer matters. No thread sleeps and no lock is taken; a
    /// pending `r` costs one allocation, a node holding `f`, and one more
    /// each time its waiter moves to an open end served by another waiter
    /// list (lists serve 16 consecutive refs).
    /// `f` never runs if the table is dropped first.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released (also if it is
    ///   released while this call runs).
    ///
    /// On an error `f` is dropped without being called.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use halo_alias::AliasTable;
    ///
    /// let table = AliasTable::new();
    /// let (g, f) = (table.register()?, table.register()?);
    /// let (sender, answers) = mpsc::channel();
    /// table.on_resolved(g, move |answer| sender.send(answer).unwrap())?;
    /// table.alias(g, f)?;
    /// assert!(answers.try_recv().is_err()); // f's value is not stored yet
    /// table.add_canonical(f)?; // runs the callback, on this thread
    /// assert_eq!(answers.try_recv(), Ok(Ok(f)));
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn on_resolved<F>(&self, r: ObjRef, f: F) -> Result<(), AliasError>
    where
        F: FnOnce(Result<ObjRef, AliasError>) + Send + 'static,
    {
        match self.known_answer(r)? {
            Some(answer) => {
                f(answer);
                Ok(())
            }
            None => self.listen(r, NewNode::callback(r, f)),
        }
    }

    /// A future of `r`'s resolution, for any executor: it yields what
    /// [`on_resolved`](Self::on_resolved) would pass to its callback, or
    /// the error it would return.
    ///
    /// Polling never blocks or takes a lock. An answer known at the first
    /// poll costs no allocation; a pending one allocates once (its waiter
    /// node and the slot it shares with it, together), and once more each
    /// time its waiter moves to an open end another list serves. Polling
    /// again with another waker replaces the old one, and dropping a
    /// pending future removes its waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::pin;
    /// use std::task::{Context, Poll, Waker};
    /// use halo_alias::AliasTable;
    ///
    /// let table = AliasTable::new();
    /// let (g, f) = (table.register()?, table.register()?);
    /// let mut pull = pin!(table.resolved(g));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(pull.as_mut().poll(&mut cx).is_pending());
    /// table.alias(g, f)?;
    /// table.add_canonical(f)?;
    /// assert_eq!(pull.poll(&mut cx), Poll::Ready(Ok(f)));
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn resolved(&self, r: ObjRef) -> Resolved<'_> {
        Resolved::new(self, r)
    }

    /// [`resolved`](Self::resolved), owning an `Arc` of the table: a
    /// `'static` future, for spawned tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::Future;
    /// use std::pin::Pin;
    /// use std::sync::Arc;
    /// use std::task::{Context, Poll, Waker};
    /// use halo_alias::AliasTable;
    ///
    /// let table = Arc::new(AliasTable::new());
    /// let f = table.register()?;
    /// let mut pull = Arc::clone(&table).resolved_owned(f);
    /// table.add_canonical(f)?;
    /// let polled = std::thread::spawn(move || {
    ///     let mut cx = Context::from_waker(Waker::noop());
    ///     Pin::new(&mut pull).poll(&mut cx)
    /// });
    /// assert_eq!(polled.join().unwrap(), Poll::Ready(Ok(f)));
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn resolved_owned(self: Arc<Self>, r: ObjRef) -> OwnedResolved {
        OwnedResolved::new(self, r)
    }

    /// The answer if it is known now, `None` if `r`'s path is open, or the
    /// error that refuses `r`.
    pub(crate) fn known_answer(&self, r: ObjRef) -> Result<Option<Answer>, AliasError> {
        match self.try_resolve(r) {
            Ok(Some(canonical)) => Ok(Some(Ok(canonical))),
            Ok(None) => Ok(None),
            Err(AliasError::Cycle(_)) => Ok(Some(Err(AliasError::Cycle(r)))),
            Err(error) => Err(error),
        }
    }

    /// Puts a waiter for `r` at the open end of its path, or answers it at
    /// once if the path completed meanwhile. `Err` (with the payload
    /// dropped) if `r` is not a live ref of this table, or
    /// `CapacityExhausted` if memory for its waiter list ran out.
    pub(crate) fn listen(&self, r: ObjRef, mut waiter: NewNode) -> Result<(), AliasError> {
        let answer = loop {
            // Checked under the guard: `r`'s slot, and its path while `r`
            // is live, are not reused before the guard drops.
            let guard = self.recycler.pin();
            let walked = self.read_live(r, |_| self.walk(r.index(), None, Follow::Jumps, None))?;
            compress(|i| self.slot_at(i), r.index(), walked);
            match walked.end {
                WalkEnd::Canonical(c) => break Ok(ObjRef::new(c.index, c.generation)),
                WalkEnd::Cycle => break Err(AliasError::Cycle(r)),
                WalkEnd::Open(open_end) => {
                    // `open_end` is on live `r`'s path: pinned, so its
                    // slot holds it.
                    let at = (open_end, self.ref_at(open_end).generation());
                    let pushed = self
                        .waiters
                        .push(at, waiter, &guard)
                        .map_err(|_unplaced| AliasError::CapacityExhausted)?;
                    if self.slot_at(open_end).announce_listener(at.1) {
                        return Ok(());
                    }
                    // Completed first: ours to look at again, unless the
                    // completion claimed the waiter (then it answers).
                    match self.waiters.take_back(pushed, &guard) {
                        Some(back) => waiter = back.remake(),
                        None => return Ok(()),
                    }
                }
                WalkEnd::Stopped | WalkEnd::TimedOut(_) => {
                    unreachable!("walk without a stop or deadline")
                }
            }
        };
        waiter.answer(answer);
        Ok(())
    }

    /// Hands on the waiters at `completed`, whose open edge of generation
    /// `generation` the caller has just set (and found `listeners` on),
    /// with its own work done but `completed` not yet settled.
    ///
    /// Every waiter is answered even if a callback (or a waker) before it
    /// panics; the first panic is returned, for the caller to resume once
    /// it has settled `completed`, so that no waiter is lost and no ref
    /// stays pending because of someone else's callback.
    #[cold]
    pub(crate) fn hand_on_waiters(&self, completed: u32, generation: u32) -> Option<Panic> {
        let guard = self.recycler.pin();
        let mut waiters = self.waiters.claim((completed, generation), &guard);
        let claimed = waiters.len();
        let mut from = completed;
        // Waiters whose next list could not be made: answered with
        // `CapacityExhausted` (the only other way out would be to lose them).
        let mut unplaced = Vec::new();
        let answer = loop {
            if waiters.is_empty() {
                break None;
            }
            // `completed` is pending, so it and its path are live.
            let walked = self.walk(from, None, Follow::Jumps, None);
            match walked.end {
                WalkEnd::Canonical(c) => break Some(Ok(ObjRef::new(c.index, c.generation))),
                WalkEnd::Cycle => break Some(Err(())),
                WalkEnd::Open(open_end) => {
                    let at = (open_end, self.ref_at(open_end).generation());
                    let mut pushed = Vec::with_capacity(waiters.len());
                    for waiter in waiters.drain(..) {
                        match self.waiters.move_to(at, waiter, &guard) {
                            Ok(node) => pushed.push(node),
                            Err(waiter) => unplaced.push(waiter),
                        }
                    }
                    if pushed.is_empty() || self.slot_at(open_end).announce_listener(at.1) {
                        break None;
                    }
                    // `open_end` completed first: take back what its
                    // completion did not claim, and look on from there.
                    waiters = pushed
                        .into_iter()
                        .filter_map(|pushed| self.waiters.take_back(pushed, &guard))
                        .collect();
                    from = open_end;
                }
                WalkEnd::Stopped | WalkEnd::TimedOut(_) => {
                    unreachable!("walk without a stop or deadline")
                }
            }
        };
        drop(guard);
        if answer.is_none() && unplaced.is_empty() {
            // Every waiter moved: remade (its old node done) or re-armed.
            self.waiters
                .claims_done(completed, claimed, &self.recycler.pin());
            return None;
        }
        // No answer: every waiter was placed, and `waiters` is empty.
        debug_assert!(answer.is_some() || waiters.is_empty());
        let mut first_panic = None;
        let mut answer_one = |run: &mut dyn FnMut()| {
            // Unwind safety: a panicking callback leaves nothing of the
            // table's half-done; the rest are answered as if it returned.
            if let Err(panic) = catch_unwind(AssertUnwindSafe(run)) {
                first_panic.get_or_insert(panic);
            }
        };
        if let Some(answer) = answer {
            for waiter in waiters {
                // A waiter's own ref may have been released while it waited.
                let answer = match (self.slot(waiter.r()), answer) {
                    (Err(error), _) => Err(error),
                    (Ok(_), Ok(canonical)) => Ok(canonical),
                    (Ok(_), Err(())) => Err(AliasError::Cycle(waiter.r())),
                };
                let mut waiter = Some(waiter);
                answer_one(&mut || waiter.take().expect("run once").answer(answer));
            }
        }
        // The claims count towards a sweep now that their nodes are done.
        self.waiters
            .claims_done(completed, claimed, &self.recycler.pin());
        for node in unplaced {
            let mut node = Some(node);
            answer_one(&mut || {
                let node = node.take().expect("run once");
                node.answer(Err(AliasError::CapacityExhausted));
            });
        }
        first_panic
    }
}

/// A callback's panic, carried to the end of the call that ran it.
pub(crate) type Panic = Box<dyn Any + Send>;

/// Resumes a panic that [`AliasTable::hand_on_waiters`] caught.
pub(crate) fn resume(panic: Option<Panic>) {
    if let Some(panic) = panic {
        std::panic::resume_unwind(panic);
    }
}
