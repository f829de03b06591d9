//! The lifecycle protocol (`table::lifecycle`): release exactly once and in
//! order, no resurrection, and cycles released as a unit.
//!
//! * `racing_decrefs_on_two_members`: `g -> f`, `f` canonical; `decref(g)`
//!   and `decref(f)` race. Exactly one `Object`, after the `Alias` report
//!   of `g` has returned; both refs stale afterwards.
//! * `decref_racing_alias_into_the_class`: `f` canonical, held once;
//!   `decref(f)` races `alias(a, f)`. Either the alias took effect and `f`
//!   lives until `a` goes, or `alias` got `StaleRef(f)` and `a` is
//!   unchanged (open, pending, held).
//! * `incref_racing_the_last_decref`: either the `incref` kept `f` alive
//!   (one holder left) or it got `StaleRef` and `f` was released once:
//!   never `Ok` after the release began.
//! * `equivalent_racing_a_release`: `x, y -> f`; `decref(x)` races
//!   `equivalent(y)`, which holds `f` and `y` and at most `x` besides.
//! * `release_racing_a_cycles_closing`: `alias(a, b); decref(a)` races
//!   `alias(b, a); decref(b)`. If both edges took effect (a cycle), both
//!   refs are released, once each; otherwise one call was refused (the
//!   cycle was visible, or its target already released by the other
//!   thread) and the chain's root is pending until the main thread stores
//!   it, and then everything is released.
//! * `try_resolve_racing_release_and_completion` and
//!   `resolve_racing_release_and_completion`: `r` open; one thread
//!   resolves `r` while the other aliases `r -> t`, lets go of both (`r`
//!   dies at once unless the resolver holds a unit of it; `t` lives on,
//!   pending) and only then stores `t`, which releases it. A resolver must
//!   not answer with `t` if `r` died before `t` was stored: the answer
//!   would be a released ref, read through slots freed under the walk.
//! * `equivalent_of_a_ref_released_before_a_cycle`: `r -> e`, `e` and
//!   `x` open; `decref(r)` (releasing `r`) then `alias(e, x)`, racing
//!   `alias(x, e)` and `equivalent(r)`. The cycle `e <-> x` can only close
//!   after `r` died, so `equivalent(r)` must not answer `Cycle(r)`.
//!
//! Each model runs in both spawn orders (see the crate docs).

#![cfg(loom)]

use std::sync::Mutex;

use halo_alias::{AliasError, AliasTable, ObjRef, Released};
use loom::sync::Arc;
use loom_tests::{join_all, model_in_orders, spawn_all, task};

/// A table recording its releases, in the order the handler calls
/// *returned* for aliases and *started* for objects: so that an `Object`
/// listed after an `Alias` started after that report returned. (A plain
/// `std` mutex: it guards no loom operation, so the model cannot block in
/// it.)
fn recording<const N: usize>() -> (Arc<AliasTable>, [ObjRef; N], Arc<Mutex<Vec<Released>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = events.clone();
    let table = Arc::new(
        AliasTable::builder()
            .on_release(move |released| log.lock().unwrap().push(released))
            .build(),
    );
    let refs = [(); N].map(|()| table.register().expect("register"));
    (table, refs, events)
}

fn events(log: &Mutex<Vec<Released>>) -> Vec<Released> {
    log.lock().unwrap().clone()
}

#[test]
fn racing_decrefs_on_two_members() {
    model_in_orders("racing_decrefs_on_two_members", 4, |order| {
        let (table, [g, f], log) = recording::<2>();
        table.add_canonical(f).unwrap();
        table.alias(g, f).unwrap();
        let results = join_all(spawn_all(
            order,
            [g, f]
                .map(|r| {
                    let table = table.clone();
                    task(move || table.decref(r))
                })
                .into(),
        ));
        assert_eq!(results, [Ok(()), Ok(())]);
        assert_eq!(
            events(&log),
            [
                Released::Alias {
                    alias: g,
                    target: f
                },
                Released::Object { canonical: f }
            ]
        );
        for r in [g, f] {
            assert_eq!(table.try_resolve(r), Err(AliasError::StaleRef(r)));
        }
        assert_eq!(table.len(), 0);
    });
}

#[test]
fn decref_racing_alias_into_the_class() {
    model_in_orders("decref_racing_alias_into_the_class", 4, |order| {
        let (table, [a, f], log) = recording::<2>();
        table.add_canonical(f).unwrap();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || table.decref(f))
            },
            {
                let table = table.clone();
                task(move || table.alias(a, f))
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        assert_eq!(results[0], Ok(()));
        match results[1] {
            Ok(()) => {
                assert_eq!(events(&log), []);
                assert_eq!(table.resolve(a), Ok(f));
                table.decref(a).unwrap();
                assert_eq!(
                    events(&log),
                    [
                        Released::Alias {
                            alias: a,
                            target: f
                        },
                        Released::Object { canonical: f }
                    ]
                );
            }
            Err(AliasError::StaleRef(stale)) => {
                assert_eq!(stale, f);
                assert_eq!(events(&log), [Released::Object { canonical: f }]);
                // `a` is as it was: open, pending, held once.
                assert_eq!(table.target(a), Ok(None));
                assert_eq!(table.holders(a), Ok(1));
                assert_eq!(table.len(), 1);
            }
            other => panic!("alias returned {other:?}"),
        }
    });
}

#[test]
fn incref_racing_the_last_decref() {
    model_in_orders("incref_racing_the_last_decref", 4, |order| {
        let (table, [f], log) = recording::<1>();
        table.add_canonical(f).unwrap();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || table.decref(f))
            },
            {
                let table = table.clone();
                task(move || table.incref(f))
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        assert_eq!(results[0], Ok(()));
        match results[1] {
            Ok(()) => {
                assert_eq!(events(&log), []);
                assert_eq!(table.holders(f), Ok(1));
                table.decref(f).unwrap();
            }
            Err(AliasError::StaleRef(stale)) => assert_eq!(stale, f),
            other => panic!("incref returned {other:?}"),
        }
        assert_eq!(events(&log), [Released::Object { canonical: f }]);
        assert_eq!(table.incref(f), Err(AliasError::StaleRef(f)));
    });
}

#[test]
fn equivalent_racing_a_release() {
    model_in_orders("equivalent_racing_a_release", 4, |order| {
        let (table, [f, x, y], log) = recording::<3>();
        table.add_canonical(f).unwrap();
        table.alias(x, f).unwrap();
        table.alias(y, f).unwrap();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || {
                    table.decref(x).unwrap();
                    None
                })
            },
            {
                let table = table.clone();
                task(move || Some(table.equivalent(y)))
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        let class = results[1].clone().expect("equivalent's result");
        assert!(
            class == Ok(vec![f, x, y]) || class == Ok(vec![f, y]),
            "{class:?}"
        );
        assert_eq!(
            events(&log),
            [Released::Alias {
                alias: x,
                target: f
            }]
        );
        assert_eq!(table.equivalent(y), Ok(vec![f, y]));
    });
}

#[test]
fn release_racing_a_cycles_closing() {
    model_in_orders("release_racing_a_cycles_closing", 4, |order| {
        let (table, [a, b], log) = recording::<2>();
        let tasks = [(a, b), (b, a)]
            .map(|(alias, target)| {
                let table = table.clone();
                task(move || {
                    let result = table.alias(alias, target);
                    table.decref(alias).unwrap();
                    result
                })
            })
            .into();
        let results = join_all(spawn_all(order, tasks));
        let mut released = events(&log);
        // A cycle cannot close unnoticed; and a call whose target was
        // released by the other thread's decref is refused.
        let refused = |result: &Result<(), AliasError>| {
            matches!(result, Err(AliasError::Cycle(_) | AliasError::StaleRef(_)))
        };
        assert!(results.iter().any(refused), "{results:?}");
        if released.len() < 2 {
            // One call was refused: a chain whose root is still pending.
            assert_eq!(released.len(), 1, "{released:?}");
            let root = if results[0].is_ok() { b } else { a };
            table.add_canonical(root).unwrap();
            released = events(&log);
            assert_eq!(released.last(), Some(&Released::Object { canonical: root }));
        } else {
            // A cycle: both released, each once, as aliases of each other.
            released.sort_by_key(|event| format!("{event:?}"));
            assert_eq!(
                released,
                [
                    Released::Alias {
                        alias: a,
                        target: b
                    },
                    Released::Alias {
                        alias: b,
                        target: a
                    }
                ]
            );
        }
        assert_eq!(table.len(), 0);
    });
}

/// The shared body of the two resolver models: `resolve` is `try_resolve`
/// or `resolve`, its answer mapped to `Option`.
fn resolver_racing_release_and_completion(
    name: &str,
    resolve: fn(&AliasTable, ObjRef) -> Result<Option<ObjRef>, AliasError>,
) {
    model_in_orders(name, 3, move |order| {
        let (table, [r, t], log) = recording::<2>();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || Some((resolve(&table, r), false)))
            },
            {
                let table = table.clone();
                task(move || {
                    table.alias(r, t).unwrap();
                    table.decref(r).unwrap();
                    table.decref(t).unwrap(); // pending: lives until stored
                    let dead_first = table.holders(r) == Err(AliasError::StaleRef(r));
                    table.add_canonical(t).unwrap();
                    Some((Ok(None), dead_first))
                })
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        let (answer, _) = results[0].expect("the resolver's answer");
        let (_, dead_first) = results[1].expect("the other thread's report");
        // Before `r` died: `None` (open) or `t`; after: `StaleRef`.
        let allowed = [Ok(None), Ok(Some(t)), Err(AliasError::StaleRef(r))];
        assert!(allowed.contains(&answer), "{answer:?}");
        if dead_first {
            assert_ne!(answer, Ok(Some(t)), "r died before t was stored");
        }
        assert_eq!(table.len(), 0, "everything released");
        assert_eq!(
            events(&log),
            [
                Released::Alias {
                    alias: r,
                    target: t
                },
                Released::Object { canonical: t }
            ]
        );
    });
}

#[test]
fn try_resolve_racing_release_and_completion() {
    resolver_racing_release_and_completion(
        "try_resolve_racing_release_and_completion",
        AliasTable::try_resolve,
    );
}

#[test]
fn resolve_racing_release_and_completion() {
    resolver_racing_release_and_completion("resolve_racing_release_and_completion", |table, r| {
        table.resolve(r).map(Some)
    });
}

#[test]
fn equivalent_of_a_ref_released_before_a_cycle() {
    model_in_orders("equivalent_of_a_ref_released_before_a_cycle", 2, |order| {
        let (table, [r, e, x], _log) = recording::<3>();
        table.alias(r, e).unwrap();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || Some(table.equivalent(r).map(|_| ())))
            },
            {
                let table = table.clone();
                task(move || {
                    table.decref(r).unwrap(); // released: stored, unheld
                    let _ = table.alias(e, x);
                    None
                })
            },
            {
                let table = table.clone();
                task(move || {
                    let _ = table.alias(x, e);
                    None
                })
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        let answer = results[0].expect("the answer of equivalent");
        assert!(
            answer.is_ok() || answer == Err(AliasError::StaleRef(r)),
            "equivalent({r}) = {answer:?}"
        );
    });
}
