//! The three scheduler calls of a chain `h -> g -> f`, in every order,
//! with a resolver already waiting on `h`.
//!
//! `alias(h, g)`, `alias(g, f)` and `add_canonical(f)` run on three threads
//! while a fourth blocks in `resolve(h)` (refs `h`, `g`, `f` have indexes
//! 0, 1, 2). Whatever the interleaving:
//!
//! * every call returns `Ok`;
//! * the resolver is woken and returns `Ok(f)` (a lost wake-up would leave
//!   it blocked: loom reports a deadlock);
//! * the tables end the same: `target(h) = g`, `target(g) = f`,
//!   `target(f) = f`, `aliases(g) = [h]`, `aliases(f) = [g]`,
//!   `aliases(h) = []`, and `h`, `g`, `f` all resolve to `f` (`try_resolve`
//!   and `resolve`) and have `equivalent = [f, h, g]` (the root, then the
//!   others in index order).
//!
//! * `all_orderings_with_waiting_resolver`: all four threads at once,
//!   exhaustive within preemption bound 1, in both spawn orders (2 before
//!   the lifecycle's count and pin operations multiplied the
//!   interleavings: `LOOM_MAX_PREEMPTIONS=2 scripts/loom.sh --test
//!   resolve_orderings -- --exact all_orderings_with_waiting_resolver`).
//! * `alias_h_g_first`, `alias_g_f_first`, `add_canonical_f_first`: one
//!   call completes on the main thread before the resolver and the other
//!   two calls are spawned; those three threads are explored within bound
//!   2 (3 before the lifecycle), in both spawn orders. Every order of the three calls starts with
//!   one of them, so together these cover every order of the three calls
//!   with a waiting resolver, at a deeper bound than the four-thread model
//!   (which alone also covers the calls overlapping each other).

#![cfg(loom)]

use halo_alias::{AliasTable, ObjRef};
use loom_tests::{
    equivalence_class, join_all, model_in_orders, spawn_all, table_with, task, Order,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    AliasHG,
    AliasGF,
    CanonicalF,
}

const CALLS: [Call; 3] = [Call::AliasHG, Call::AliasGF, Call::CanonicalF];

fn run(table: &AliasTable, [h, g, f]: [ObjRef; 3], call: Call) {
    let result = match call {
        Call::AliasHG => table.alias(h, g),
        Call::AliasGF => table.alias(g, f),
        Call::CanonicalF => table.add_canonical(f),
    };
    assert_eq!(result, Ok(()), "{call:?}");
}

fn assert_final_tables(table: &AliasTable, [h, g, f]: [ObjRef; 3]) {
    assert_eq!(table.target(h), Ok(Some(g)));
    assert_eq!(table.target(g), Ok(Some(f)));
    assert_eq!(table.target(f), Ok(Some(f)));
    assert_eq!(table.is_canonical(f), Ok(true));
    assert_eq!(table.is_canonical(g), Ok(false));
    assert_eq!(table.aliases(h), Ok(vec![]));
    assert_eq!(table.aliases(g), Ok(vec![h]));
    assert_eq!(table.aliases(f), Ok(vec![g]));
    let class = equivalence_class(f, &[h, g]);
    assert_eq!(class, vec![f, h, g]);
    for r in [h, g, f] {
        assert_eq!(table.try_resolve(r), Ok(Some(f)), "try_resolve({r:?})");
        assert_eq!(table.resolve(r), Ok(f), "resolve({r:?})");
        assert_eq!(table.equivalent(r), Ok(class.clone()), "equivalent({r:?})");
    }
}

/// Runs `first` (if any) on the main thread, then the resolver and the
/// other calls each on its own thread; checks the outcome.
fn orderings(first: Option<Call>, order: Order) {
    let (table, refs) = table_with::<3>();
    let [h, _, f] = refs;
    if let Some(call) = first {
        run(&table, refs, call);
    }
    let mut tasks = vec![{
        let table = table.clone();
        task(move || Some(table.resolve(h)))
    }];
    for call in CALLS.into_iter().filter(|&call| Some(call) != first) {
        let table = table.clone();
        tasks.push(task(move || {
            run(&table, refs, call);
            None
        }));
    }
    let results = join_all(spawn_all(order, tasks));
    assert_eq!(results[0], Some(Ok(f)), "the resolver");
    assert_final_tables(&table, refs);
}

#[test]
fn all_orderings_with_waiting_resolver() {
    model_in_orders("all_orderings_with_waiting_resolver", 1, |order| {
        orderings(None, order)
    });
}

#[test]
fn alias_h_g_first() {
    model_in_orders("alias_h_g_first", 2, |order| {
        orderings(Some(Call::AliasHG), order)
    });
}

#[test]
fn alias_g_f_first() {
    model_in_orders("alias_g_f_first", 2, |order| {
        orderings(Some(Call::AliasGF), order)
    });
}

#[test]
fn add_canonical_f_first() {
    model_in_orders("add_canonical_f_first", 2, |order| {
        orderings(Some(Call::CanonicalF), order)
    });
}
