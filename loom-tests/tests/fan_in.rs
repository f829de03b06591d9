//! One target, two aliases inserted concurrently with its `add_canonical`.
//!
//! Refs `t` (index 0), `x` (1) and `y` (2). `alias(x, t)`, `alias(y, t)`
//! and `add_canonical(t)` run on three threads; both aliases go into `t`'s
//! reverse list at the same time, through the insert-only list protocol
//! (`reverse`). For every interleaving:
//!
//! * every call returns `Ok`;
//! * `aliases(t) = [x, y]` (each once, index order), `aliases(x)` and
//!   `aliases(y)` are empty;
//! * `equivalent` of each of the three is `[t, x, y]`, and each resolves
//!   to `t` (`try_resolve` and `resolve`).
//!
//! * `fan_in`: exhaustive within preemption bound 2 (3 before the
//!   lifecycle's operations multiplied the interleavings).
//! * `fan_in_with_resolver` adds a fourth thread blocked in `resolve(x)`,
//!   which must be woken with `Ok(t)`: bound 1 (bound 2 passes too, in
//!   about 70 s for both orders: `LOOM_MAX_PREEMPTIONS=2`; a resolver
//!   racing a chain's completion is modelled at bound 2 with four threads
//!   in `resolve_orderings`).
//! * `fan_in_with_reader` replaces `add_canonical` with a concurrent
//!   `equivalent(t)` on a target that stays open (so both `alias` calls
//!   take the cycle post-check path): the reader's answer starts with `t`
//!   and holds only refs of `{x, y}` after it, each once, in index order.
//!   Bound 2 (3 before the lifecycle).
//! * `fan_in_after_own_node`: one thread calls `alias(x, t)` then
//!   `alias(z, t)`, so its second splice goes in behind its own `x`
//!   rather than at the head; a second thread calls `alias(y, t)` and a
//!   third repeats `alias(z, t)`, helping from the head. `aliases(t) =
//!   [x, y, z]`, each once. Bound 2. Teeth: committing the head's value as
//!   the successor while splicing from `x` fails the list's debug
//!   assertion (the successor is never found behind `x`).
//!
//! Each model runs in both spawn orders.

#![cfg(loom)]

use halo_alias::{AliasError, AliasTable, ObjRef};
use loom::sync::Arc;
use loom_tests::{join_all, model_in_orders, spawn_all, table_with, task, Order, Task};

#[derive(Debug, PartialEq)]
enum Done {
    Call(Result<(), AliasError>),
    Resolved(Result<ObjRef, AliasError>),
    Equivalent(Result<Vec<ObjRef>, AliasError>),
}

fn alias(table: &Arc<AliasTable>, x: ObjRef, t: ObjRef) -> Task<Done> {
    let table = table.clone();
    task(move || Done::Call(table.alias(x, t)))
}

fn assert_fan_in(table: &AliasTable, [t, x, y]: [ObjRef; 3], canonical: bool) {
    assert_eq!(table.target(x), Ok(Some(t)));
    assert_eq!(table.target(y), Ok(Some(t)));
    assert_eq!(table.aliases(t), Ok(vec![x, y]));
    assert_eq!(table.aliases(x), Ok(vec![]));
    assert_eq!(table.aliases(y), Ok(vec![]));
    for r in [t, x, y] {
        assert_eq!(table.equivalent(r), Ok(vec![t, x, y]), "equivalent({r:?})");
        if canonical {
            assert_eq!(table.try_resolve(r), Ok(Some(t)), "try_resolve({r:?})");
            assert_eq!(table.resolve(r), Ok(t), "resolve({r:?})");
        } else {
            assert_eq!(table.try_resolve(r), Ok(None), "try_resolve({r:?})");
        }
    }
}

fn fan_in_model(order: Order, with_resolver: bool) {
    let (table, refs) = table_with::<3>();
    let [t, x, y] = refs;
    let mut tasks = vec![
        {
            let table = table.clone();
            task(move || Done::Call(table.add_canonical(t)))
        },
        alias(&table, x, t),
        alias(&table, y, t),
    ];
    if with_resolver {
        let table = table.clone();
        tasks.push(task(move || Done::Resolved(table.resolve(x))));
    }
    let results = join_all(spawn_all(order, tasks));
    for result in &results[..3] {
        assert_eq!(result, &Done::Call(Ok(())));
    }
    if with_resolver {
        assert_eq!(results[3], Done::Resolved(Ok(t)));
    }
    assert_fan_in(&table, refs, true);
}

#[test]
fn fan_in() {
    model_in_orders("fan_in", 2, |order| fan_in_model(order, false));
}

#[test]
fn fan_in_with_resolver() {
    model_in_orders("fan_in_with_resolver", 1, |order| fan_in_model(order, true));
}

#[test]
fn fan_in_with_reader() {
    model_in_orders("fan_in_with_reader", 2, |order| {
        let (table, refs) = table_with::<3>();
        let [t, x, y] = refs;
        let tasks = vec![
            {
                let table = table.clone();
                task(move || Done::Equivalent(table.equivalent(t)))
            },
            alias(&table, x, t),
            alias(&table, y, t),
        ];
        let mut results = join_all(spawn_all(order, tasks));
        assert_eq!(results[1], Done::Call(Ok(())));
        assert_eq!(results[2], Done::Call(Ok(())));
        let Done::Equivalent(Ok(seen)) = results.remove(0) else {
            panic!("equivalent(t) failed");
        };
        assert_eq!(seen.first(), Some(&t), "{seen:?}");
        let rest = &seen[1..];
        assert!(rest.iter().all(|r| [x, y].contains(r)), "{seen:?}");
        assert!(
            rest.windows(2).all(|w| w[0].index() < w[1].index()),
            "{seen:?}"
        );
        assert_fan_in(&table, refs, false);
    });
}

#[test]
fn fan_in_after_own_node() {
    model_in_orders("fan_in_after_own_node", 2, |order| {
        let (table, [t, x, y, z]) = table_with::<4>();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || table.alias(x, t).and_then(|()| table.alias(z, t)))
            },
            {
                let table = table.clone();
                task(move || table.alias(y, t))
            },
            {
                let table = table.clone();
                task(move || table.alias(z, t))
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        assert_eq!(results, [Ok(()), Ok(()), Ok(())]);
        assert_eq!(table.aliases(t), Ok(vec![x, y, z]));
        assert_eq!(table.equivalent(z), Ok(vec![t, x, y, z]));
    });
}
