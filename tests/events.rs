//! `on_resolved` and `resolved`: answers in every order of the h/g/f
//! calls, exactly once, refused refs, waiters moving along a path, many
//! waiters, and the memory of dropped futures.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use halo_alias::{AliasError, AliasTable, ObjRef};

type Log = Arc<Mutex<Vec<(ObjRef, Result<ObjRef, AliasError>)>>>;

/// Registers a callback on `r` that logs its answer.
fn log_answer(table: &AliasTable, log: &Log, r: ObjRef) {
    let log = Arc::clone(log);
    table
        .on_resolved(r, move |answer| log.lock().unwrap().push((r, answer)))
        .unwrap();
}

fn sorted(log: &Log) -> Vec<(ObjRef, Result<ObjRef, AliasError>)> {
    let mut entries = log.lock().unwrap().clone();
    entries.sort_by_key(|(r, _)| r.to_bits());
    entries
}

/// A waker that unparks the thread that made it: the smallest executor.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `future` to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

#[test]
fn callbacks_and_futures_in_every_order_of_the_three_calls() {
    for order in 0..6usize {
        let table = Arc::new(AliasTable::new());
        let (h, g, f) = (
            table.register().unwrap(),
            table.register().unwrap(),
            table.register().unwrap(),
        );
        let log: Log = Arc::default();
        for r in [h, g, f] {
            log_answer(&table, &log, r);
        }
        let pulls: Vec<_> = [h, g, f]
            .into_iter()
            .map(|r| {
                let table = Arc::clone(&table);
                thread::spawn(move || block_on(table.resolved_owned(r)))
            })
            .collect();
        let calls: [&dyn Fn(); 3] = [
            &|| table.alias(h, g).unwrap(),
            &|| table.alias(g, f).unwrap(),
            &|| table.add_canonical(f).unwrap(),
        ];
        let permutation = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ][order];
        for (done, &call) in permutation.iter().enumerate() {
            calls[call]();
            // Answered: exactly the refs whose path is complete so far.
            let answered: Vec<_> = sorted(&log).into_iter().map(|(r, _)| r).collect();
            let complete: Vec<_> = [h, g, f]
                .into_iter()
                .filter(|&r| table.try_resolve(r).unwrap().is_some())
                .collect();
            assert_eq!(answered, complete, "order {permutation:?} after {done}");
        }
        assert_eq!(
            sorted(&log),
            vec![(h, Ok(f)), (g, Ok(f)), (f, Ok(f))],
            "order {permutation:?}"
        );
        for pull in pulls {
            assert_eq!(pull.join().unwrap(), Ok(f), "order {permutation:?}");
        }
    }
}

#[test]
fn a_known_answer_runs_at_once() {
    let table = AliasTable::new();
    let (g, f) = (table.register().unwrap(), table.register().unwrap());
    table.alias(g, f).unwrap();
    table.add_canonical(f).unwrap();
    let log: Log = Arc::default();
    log_answer(&table, &log, g);
    assert_eq!(sorted(&log), vec![(g, Ok(f))]);
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(pin!(table.resolved(g)).poll(&mut cx), Poll::Ready(Ok(f)));
}

#[test]
fn a_refused_cycle_answers_nobody() {
    let table = AliasTable::new();
    let (a, b) = (table.register().unwrap(), table.register().unwrap());
    let log: Log = Arc::default();
    log_answer(&table, &log, a);
    table.alias(a, b).unwrap();
    // The cycle is visible before the commit: refused, nothing changes.
    assert_eq!(table.alias(b, a), Err(AliasError::Cycle(b)));
    assert!(log.lock().unwrap().is_empty());
    table.add_canonical(b).unwrap();
    assert_eq!(sorted(&log), vec![(a, Ok(b))]);
}

/// `alias(a, b)` racing `alias(b, a)`, with waiters on both and on a tail
/// leading into them: a cycle answers all with `Cycle`, else the open end
/// left answers all when it is stored.
#[test]
fn a_cycle_closed_by_racing_calls_answers_every_waiter_of_its_tree() {
    const ROUNDS: usize = 5_000;
    let mut cycles = 0;
    for _ in 0..ROUNDS {
        let table = Arc::new(AliasTable::new());
        let (a, b, tail) = (
            table.register().unwrap(),
            table.register().unwrap(),
            table.register().unwrap(),
        );
        table.alias(tail, a).unwrap();
        let log: Log = Arc::default();
        for r in [a, b, tail] {
            log_answer(&table, &log, r);
        }
        // Both threads spin until both are there, so the calls overlap.
        let ready = Arc::new(AtomicUsize::new(0));
        let racer = |x: ObjRef, y: ObjRef| {
            let (table, ready) = (Arc::clone(&table), Arc::clone(&ready));
            thread::spawn(move || {
                ready.fetch_add(1, Ordering::SeqCst);
                while ready.load(Ordering::SeqCst) < 2 {
                    std::hint::spin_loop();
                }
                table.alias(x, y)
            })
        };
        let (first, second) = (racer(a, b), racer(b, a));
        let results = [first.join().unwrap(), second.join().unwrap()];
        let closed = table.target(a).unwrap().is_some() && table.target(b).unwrap().is_some();
        if closed {
            cycles += 1;
            assert!(results.iter().any(Result::is_err), "{results:?}");
            assert_eq!(
                sorted(&log),
                vec![
                    (a, Err(AliasError::Cycle(a))),
                    (b, Err(AliasError::Cycle(b))),
                    (tail, Err(AliasError::Cycle(tail)))
                ]
            );
        } else {
            assert!(log.lock().unwrap().is_empty());
            let open_end = if table.target(a).unwrap().is_some() {
                b
            } else {
                a
            };
            table.add_canonical(open_end).unwrap();
            assert_eq!(
                sorted(&log),
                vec![(a, Ok(open_end)), (b, Ok(open_end)), (tail, Ok(open_end))]
            );
        }
    }
    // Not asserted above 0 (it depends on the scheduler), but reported.
    println!("{cycles} of {ROUNDS} rounds closed a cycle");
}

/// Counts its calls, and its drops.
struct Probe {
    calls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn unknown_and_stale_refs_are_refused_and_the_callback_dropped_uncalled() {
    let table = AliasTable::new();
    let r = table.register().unwrap();
    table.add_canonical(r).unwrap();
    table.decref(r).unwrap();
    let unknown = ObjRef::new(1000, 0);
    let (calls, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    for (bad, error) in [
        (r, AliasError::StaleRef(r)),
        (unknown, AliasError::UnknownRef(unknown)),
    ] {
        let probe = Probe {
            calls: Arc::clone(&calls),
            drops: Arc::clone(&drops),
        };
        let result = table.on_resolved(bad, move |_| {
            probe.calls.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(result, Err(error));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(
            pin!(table.resolved(bad)).poll(&mut cx),
            Poll::Ready(Err(error))
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn a_waiter_whose_ref_is_released_while_it_waits_gets_stale_ref() {
    let table = AliasTable::new();
    let (g, f) = (table.register().unwrap(), table.register().unwrap());
    let log: Log = Arc::default();
    log_answer(&table, &log, g);
    // g's task reports its output (g -> f), then g's last holder goes:
    // g is released, and f is still pending.
    table.alias(g, f).unwrap();
    table.decref(g).unwrap();
    assert!(log.lock().unwrap().is_empty());
    table.add_canonical(f).unwrap();
    assert_eq!(sorted(&log), vec![(g, Err(AliasError::StaleRef(g)))]);
}

#[test]
fn waiters_move_along_a_growing_path_and_are_answered_once() {
    let table = AliasTable::new();
    let refs: Vec<_> = (0..6).map(|_| table.register().unwrap()).collect();
    let log: Log = Arc::default();
    log_answer(&table, &log, refs[0]);
    for pair in refs.windows(2) {
        table.alias(pair[0], pair[1]).unwrap();
        log_answer(&table, &log, pair[1]);
        assert!(log.lock().unwrap().is_empty());
    }
    let last = *refs.last().unwrap();
    table.add_canonical(last).unwrap();
    let answers = sorted(&log);
    assert_eq!(answers.len(), refs.len());
    assert!(answers.iter().all(|(_, answer)| *answer == Ok(last)));
}

#[test]
fn a_callback_may_call_back_into_the_table() {
    let table = Arc::new(AliasTable::new());
    let (g, f, later) = (
        table.register().unwrap(),
        table.register().unwrap(),
        table.register().unwrap(),
    );
    let inner = Arc::clone(&table);
    table
        .on_resolved(g, move |answer| {
            let canonical = answer.unwrap();
            inner.alias(later, canonical).unwrap();
            assert_eq!(inner.resolve(later), Ok(canonical));
        })
        .unwrap();
    table.alias(g, f).unwrap();
    table.add_canonical(f).unwrap();
    assert_eq!(table.try_resolve(later), Ok(Some(f)));
}

#[test]
fn many_waiters_on_one_ref_and_on_many_refs_are_each_answered_once() {
    const WAITERS: usize = 100_000;
    let table = AliasTable::new();
    let f = table.register().unwrap();
    let counts: Arc<Vec<AtomicUsize>> =
        Arc::new((0..WAITERS).map(|_| AtomicUsize::new(0)).collect());
    for i in 0..WAITERS {
        let counts = Arc::clone(&counts);
        table
            .on_resolved(f, move |answer| {
                assert_eq!(answer, Ok(f));
                counts[i].fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
    }
    table.add_canonical(f).unwrap();
    assert!(counts.iter().all(|count| count.load(Ordering::SeqCst) == 1));

    // One waiter on each of many refs, all aliases of one open end.
    let target = table.register().unwrap();
    let refs: Vec<_> = (0..WAITERS).map(|_| table.register().unwrap()).collect();
    let answered = Arc::new(AtomicUsize::new(0));
    for &r in &refs {
        let answered = Arc::clone(&answered);
        table
            .on_resolved(r, move |answer| {
                assert_eq!(answer, Ok(target));
                answered.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        table.alias(r, target).unwrap();
    }
    assert_eq!(answered.load(Ordering::SeqCst), 0);
    table.add_canonical(target).unwrap();
    assert_eq!(answered.load(Ordering::SeqCst), WAITERS);
}

#[test]
fn futures_dropped_while_pending_leave_memory_flat() {
    let table = AliasTable::new();
    let r = table.register().unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let mut poll_and_drop = |times: usize| {
        for _ in 0..times {
            let mut pull = table.resolved(r);
            assert!(Pin::new(&mut pull).poll(&mut cx).is_pending());
        }
    };
    poll_and_drop(1_000);
    let settled = table.memory_bytes();
    poll_and_drop(1_000_000);
    let after = table.memory_bytes();
    // The list is swept as it grows: within a few dozen nodes of where it
    // was, not a million.
    assert!(
        after <= settled + 64 * 128,
        "memory grew from {settled} to {after} bytes"
    );
    // The ref still resolves, and a future polled now gets the answer.
    let mut pull = pin!(table.resolved(r));
    assert!(pull.as_mut().poll(&mut cx).is_pending());
    table.add_canonical(r).unwrap();
    assert_eq!(pull.poll(&mut cx), Poll::Ready(Ok(r)));
}

#[test]
fn a_repoll_with_another_waker_is_the_one_woken() {
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let table = AliasTable::new();
    let r = table.register().unwrap();
    let (first, second) = (
        Arc::new(Count(AtomicUsize::new(0))),
        Arc::new(Count(AtomicUsize::new(0))),
    );
    let mut pull = pin!(table.resolved(r));
    let first_waker = Waker::from(Arc::clone(&first));
    let second_waker = Waker::from(Arc::clone(&second));
    assert!(pull
        .as_mut()
        .poll(&mut Context::from_waker(&first_waker))
        .is_pending());
    assert!(pull
        .as_mut()
        .poll(&mut Context::from_waker(&second_waker))
        .is_pending());
    table.add_canonical(r).unwrap();
    assert_eq!(first.0.load(Ordering::SeqCst), 0);
    assert_eq!(second.0.load(Ordering::SeqCst), 1);
    assert_eq!(
        pull.as_mut().poll(&mut Context::from_waker(&second_waker)),
        Poll::Ready(Ok(r))
    );
    // Polled again after the answer: the same answer.
    assert_eq!(
        pull.poll(&mut Context::from_waker(&second_waker)),
        Poll::Ready(Ok(r))
    );
}

#[test]
fn registration_racing_completion_answers_each_waiter_once() {
    const ROUNDS: usize = 2_000;
    for _ in 0..ROUNDS {
        let table = Arc::new(AliasTable::new());
        let (h, g, f) = (
            table.register().unwrap(),
            table.register().unwrap(),
            table.register().unwrap(),
        );
        let answers = Arc::new(AtomicUsize::new(0));
        let listener = {
            let (table, answers) = (Arc::clone(&table), Arc::clone(&answers));
            thread::spawn(move || {
                for r in [h, g, f, h, g, f] {
                    let answers = Arc::clone(&answers);
                    table
                        .on_resolved(r, move |answer| {
                            assert_eq!(answer, Ok(f));
                            answers.fetch_add(1, Ordering::SeqCst);
                        })
                        .unwrap();
                }
            })
        };
        table.alias(h, g).unwrap();
        table.alias(g, f).unwrap();
        table.add_canonical(f).unwrap();
        listener.join().unwrap();
        assert_eq!(answers.load(Ordering::SeqCst), 6);
    }
}

#[test]
fn a_panicking_callback_loses_no_other_waiter_and_no_release() {
    let table = AliasTable::new();
    let f = table.register().unwrap();
    let log: Log = Arc::default();
    table
        .on_resolved(f, |_| panic!("a callback's own bug"))
        .unwrap();
    log_answer(&table, &log, f);
    // Nobody holds f: storing it releases it.
    table.decref(f).unwrap();
    let stored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| table.add_canonical(f)));
    assert!(
        stored.is_err(),
        "the callback's panic goes on from add_canonical"
    );
    assert_eq!(sorted(&log), vec![(f, Ok(f))]);
    assert_eq!(table.len(), 0);
    assert_eq!(table.try_resolve(f), Err(AliasError::StaleRef(f)));
}

/// Counts its drops: a callback's captured state.
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn pending_callbacks_are_dropped_uncalled_with_the_table() {
    let (called, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let table = AliasTable::new();
    let [h, g, f] = [(); 3].map(|()| table.register().unwrap());
    for r in [h, g, f, h] {
        let (called, dropped) = (Arc::clone(&called), DropCounter(Arc::clone(&dropped)));
        table
            .on_resolved(r, move |_| {
                let _keep = &dropped;
                called.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
    }
    // h's waiters move to g's list, then to f's: every node a callback
    // was in stays accounted for.
    table.alias(h, g).unwrap();
    table.alias(g, f).unwrap();
    assert_eq!(dropped.load(Ordering::Relaxed), 0);
    drop(table);
    assert_eq!(called.load(Ordering::Relaxed), 0);
    assert_eq!(
        dropped.load(Ordering::Relaxed),
        4,
        "each callback dropped once"
    );
}

#[test]
fn an_answered_callback_is_dropped_once_after_it_ran() {
    let (called, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let table = AliasTable::new();
    let [g, f] = [(); 2].map(|()| table.register().unwrap());
    let (counter, guard) = (Arc::clone(&called), DropCounter(Arc::clone(&dropped)));
    table
        .on_resolved(g, move |answer| {
            let _keep = guard;
            assert_eq!(answer, Ok(f));
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    table.alias(g, f).unwrap();
    table.add_canonical(f).unwrap();
    assert_eq!(called.load(Ordering::Relaxed), 1);
    assert_eq!(dropped.load(Ordering::Relaxed), 1);
    drop(table);
    assert_eq!(
        dropped.load(Ordering::Relaxed),
        1,
        "not dropped again with the table"
    );
}

/// A waker that counts its clones through its `Arc`.
struct CountedWaker;

impl Wake for CountedWaker {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn a_finished_or_dropped_future_lets_go_of_its_waker() {
    let table = AliasTable::new();
    let [g, h] = [(); 2].map(|()| table.register().unwrap());
    let counted = Arc::new(CountedWaker);
    let waker = Waker::from(Arc::clone(&counted));
    let mut cx = Context::from_waker(&waker);
    {
        let mut answered = pin!(table.resolved(g));
        assert!(answered.as_mut().poll(&mut cx).is_pending());
        let mut dropped = pin!(table.resolved(h));
        assert!(dropped.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            Arc::strong_count(&counted),
            4,
            "ours, cx's, and one per future"
        );
        table.add_canonical(g).unwrap();
        assert_eq!(answered.as_mut().poll(&mut cx), Poll::Ready(Ok(g)));
    }
    // Both futures are gone; their nodes may wait for a sweep, but hold
    // no waker: a waker can keep a whole task alive.
    assert_eq!(Arc::strong_count(&counted), 2);
}

#[test]
fn answered_callbacks_free_their_nodes_in_a_quiet_region() {
    const WAITERS: usize = 1_000;
    let table = AliasTable::new();
    let g = table.register().unwrap();
    let before = table.memory_bytes();
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..WAITERS {
        let (ran, payload) = (Arc::clone(&ran), [7u8; 4096]);
        table
            .on_resolved(g, move |_| {
                ran.fetch_add(usize::from(payload[0] == 7), Ordering::Relaxed);
            })
            .unwrap();
    }
    let waiting = table.memory_bytes();
    assert!(
        waiting >= before + WAITERS * 4096,
        "the closures are counted"
    );
    table.add_canonical(g).unwrap();
    assert_eq!(ran.load(Ordering::Relaxed), WAITERS);
    // Nothing else happens in this region, yet the answered nodes leave
    // the list: their claims are counted once they are done.
    let after = table.memory_bytes();
    assert!(
        after < before + 64 * 1024,
        "before {before}, waiting {waiting}, after {after}"
    );
}
