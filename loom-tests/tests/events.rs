//! Callbacks and futures racing the calls that complete their path (the
//! handshake in `waiters`): every waiter answered exactly once, never lost.
//!
//! Under loom a future is driven by `loom::future::block_on`, which really
//! blocks until woken: a lost wake-up is a loom deadlock.
//!
//! * `registration_racing_completion`: `on_resolved(g)` ||
//!   `add_canonical(g)`: the callback runs once, with `Ok(g)`.
//! * `second_listener_racing_completion`: a callback on `g` already
//!   waiting (the edge's flag set); another `on_resolved(g)` ||
//!   `add_canonical(g)`: both run once. (An announcement that only loaded
//!   the flag would let the completion's scan miss the second.)
//! * `waiter_moving_while_the_next_end_completes`: `h -> g` set and a
//!   callback on `h` waiting at `g`; `alias(g, f)` (moves it to `f`) ||
//!   `add_canonical(f)`: once, `Ok(f)`.
//! * `future_racing_completion`: `block_on(resolved(g))` ||
//!   `add_canonical(g)`: `Ok(g)`, no lost wake-up.
//! * `future_dropped_while_the_completion_runs`: a future on `g` polled
//!   once and dropped || `add_canonical(g)`: no use after free, no double
//!   answer (loom checks the answer cell for races); then a second future
//!   answers at once.
//! * `cycle_closing_with_waiters`: callbacks on `a` and `b`; `alias(a, b)`
//!   || `alias(b, a)`: if a cycle closed, both get `Err(Cycle)`; else both
//!   get the open end once it is stored.

#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use halo_alias::{AliasError, AliasTable, ObjRef};
use loom_tests::{join_all, model_in_orders, on, spawn_all, table_with, task};

type Log = std::sync::Arc<Mutex<Vec<(ObjRef, Result<ObjRef, AliasError>)>>>;

/// A callback on `r` that logs its answer (a plain `std` mutex: it only
/// records, outside the model).
fn log_answer(table: &AliasTable, log: &Log, r: ObjRef) -> Result<(), AliasError> {
    let log = log.clone();
    table.on_resolved(r, move |answer| log.lock().unwrap().push((r, answer)))
}

fn sorted(log: &Log) -> Vec<(ObjRef, Result<ObjRef, AliasError>)> {
    let mut entries = log.lock().unwrap().clone();
    entries.sort_by_key(|(r, _)| r.to_bits());
    entries
}

#[test]
fn registration_racing_completion() {
    model_in_orders("registration_racing_completion", 6, |order| {
        let (table, [g]) = table_with::<1>();
        let log = Log::default();
        let tasks = vec![
            {
                let log = log.clone();
                on(&table, move |t| log_answer(t, &log, g))
            },
            on(&table, move |t| t.add_canonical(g)),
        ];
        for result in join_all(spawn_all(order, tasks)) {
            assert_eq!(result, Ok(()));
        }
        assert_eq!(sorted(&log), vec![(g, Ok(g))]);
    });
}

#[test]
fn second_listener_racing_completion() {
    model_in_orders("second_listener_racing_completion", 3, |order| {
        let (table, [g, first]) = table_with::<2>();
        table.alias(first, g).unwrap();
        let log = Log::default();
        log_answer(&table, &log, first).unwrap();
        let tasks = vec![
            {
                let log = log.clone();
                on(&table, move |t| log_answer(t, &log, g))
            },
            on(&table, move |t| t.add_canonical(g)),
        ];
        for result in join_all(spawn_all(order, tasks)) {
            assert_eq!(result, Ok(()));
        }
        assert_eq!(sorted(&log), vec![(g, Ok(g)), (first, Ok(g))]);
    });
}

/// `h -> g` with a waiter on `h`; `alias(g, f)` moves it to `f` while
/// `add_canonical(f)` races: it is answered once, with `f`.
fn moved_waiter_answered_once(
    name: &str,
    bound: usize,
    chain: fn() -> (loom::sync::Arc<AliasTable>, [ObjRef; 3]),
) {
    model_in_orders(name, bound, move |order| {
        let (table, [h, g, f]) = chain();
        table.alias(h, g).unwrap();
        let log = Log::default();
        log_answer(&table, &log, h).unwrap();
        let tasks = vec![
            on(&table, move |t| t.alias(g, f)),
            on(&table, move |t| t.add_canonical(f)),
        ];
        for result in join_all(spawn_all(order, tasks)) {
            assert_eq!(result, Ok(()));
        }
        assert_eq!(sorted(&log), vec![(h, Ok(f))]);
    });
}

#[test]
fn waiter_moving_while_the_next_end_completes() {
    moved_waiter_answered_once(
        "waiter_moving_while_the_next_end_completes",
        5,
        table_with::<3>,
    );
}

/// Four refs, `[h, g, f]` chosen so that `g` and `f` share a waiter list
/// (the loom build has two, by index parity): a waiter moved from `g` to
/// `f` is re-armed in place rather than remade.
fn chain_with_g_and_f_in_one_list() -> (loom::sync::Arc<AliasTable>, [ObjRef; 3]) {
    let (table, [h, g, x, y]) = table_with::<4>();
    let f = if x.index() % 2 == g.index() % 2 { x } else { y };
    assert_eq!(
        f.index() % 2,
        g.index() % 2,
        "two of three indexes share a parity"
    );
    (table, [h, g, f])
}

#[test]
fn waiter_rearmed_while_the_next_end_completes() {
    moved_waiter_answered_once(
        "waiter_rearmed_while_the_next_end_completes",
        5,
        chain_with_g_and_f_in_one_list,
    );
}

/// The same with a future's waiter (polled once before the calls): its
/// cell's node is remade as a bare node holding the cell, or re-armed.
fn moved_future_answered_once(
    name: &str,
    bound: usize,
    chain: fn() -> (loom::sync::Arc<AliasTable>, [ObjRef; 3]),
) {
    model_in_orders(name, bound, move |order| {
        let (table, [h, g, f]) = chain();
        table.alias(h, g).unwrap();
        let mut future = Box::pin(table.resolved(h));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        let tasks = vec![
            on(&table, move |t| t.alias(g, f)),
            on(&table, move |t| t.add_canonical(f)),
        ];
        for result in join_all(spawn_all(order, tasks)) {
            assert_eq!(result, Ok(()));
        }
        assert_eq!(future.as_mut().poll(&mut cx), Poll::Ready(Ok(f)));
    });
}

#[test]
fn future_moving_while_the_next_end_completes() {
    moved_future_answered_once(
        "future_moving_while_the_next_end_completes",
        5,
        table_with::<3>,
    );
}

#[test]
fn future_rearmed_while_the_next_end_completes() {
    moved_future_answered_once(
        "future_rearmed_while_the_next_end_completes",
        5,
        chain_with_g_and_f_in_one_list,
    );
}

/// A registrant whose announcement fails takes its node back; the
/// completion it lost to may have re-armed that node for the next open end
/// in the meantime (another waiter's flag made it scan). Every waiter is
/// still answered once.
#[test]
fn registrant_taking_back_a_rearmed_node() {
    model_in_orders("registrant_taking_back_a_rearmed_node", 2, |order| {
        let (table, [h, g, f]) = chain_with_g_and_f_in_one_list();
        table.alias(h, g).unwrap();
        let log = Log::default();
        log_answer(&table, &log, g).unwrap(); // g's flag is set already
        let registrant = {
            let (table, log) = (table.clone(), log.clone());
            task(move || log_answer(&table, &log, h))
        };
        let tasks = vec![
            registrant,
            on(&table, move |t| t.alias(g, f)),
            on(&table, move |t| t.add_canonical(f)),
        ];
        for result in join_all(spawn_all(order, tasks)) {
            assert_eq!(result, Ok(()));
        }
        assert_eq!(sorted(&log), vec![(h, Ok(f)), (g, Ok(f))]);
    });
}

#[test]
fn future_racing_completion() {
    model_in_orders("future_racing_completion", 6, |order| {
        let (table, [g]) = table_with::<1>();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || loom::future::block_on(table.resolved(g)))
            },
            {
                let table = table.clone();
                task(move || table.add_canonical(g).map(|()| g))
            },
        ];
        for result in join_all(spawn_all(order, tasks)) {
            assert_eq!(result, Ok(g));
        }
    });
}

#[test]
fn future_dropped_while_the_completion_runs() {
    model_in_orders("future_dropped_while_the_completion_runs", 6, |order| {
        let (table, [g]) = table_with::<1>();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || {
                    let mut pull = table.resolved(g);
                    let mut cx = Context::from_waker(Waker::noop());
                    let polled = Pin::new(&mut pull).poll(&mut cx);
                    drop(pull);
                    polled.map(|answer| answer.unwrap()).is_ready()
                })
            },
            {
                let table = table.clone();
                task(move || {
                    table.add_canonical(g).unwrap();
                    true
                })
            },
        ];
        join_all(spawn_all(order, tasks));
        assert_eq!(loom::future::block_on(table.resolved(g)), Ok(g));
    });
}

#[test]
fn cycle_closing_with_waiters() {
    model_in_orders("cycle_closing_with_waiters", 3, |order| {
        let (table, [a, b]) = table_with::<2>();
        let log = Log::default();
        log_answer(&table, &log, a).unwrap();
        log_answer(&table, &log, b).unwrap();
        let tasks = vec![
            on(&table, move |t| t.alias(a, b)),
            on(&table, move |t| t.alias(b, a)),
        ];
        join_all(spawn_all(order, tasks));
        let expected = match (table.target(a).unwrap(), table.target(b).unwrap()) {
            (Some(_), Some(_)) => vec![
                (a, Err(AliasError::Cycle(a))),
                (b, Err(AliasError::Cycle(b))),
            ],
            (Some(_), None) | (None, Some(_)) => {
                assert!(
                    log.lock().unwrap().is_empty(),
                    "answered before the path completed"
                );
                let open_end = if table.target(a).unwrap().is_some() {
                    b
                } else {
                    a
                };
                table.add_canonical(open_end).unwrap();
                vec![(a, Ok(open_end)), (b, Ok(open_end))]
            }
            (None, None) => unreachable!("one of the calls always takes effect"),
        };
        assert_eq!(sorted(&log), expected);
    });
}
