//! Resolvers racing the call that completes their path.
//!
//! A resolver walks to the open end of its path, announces itself in the
//! edge (the open edge's `sleepers` flag) and sleeps on the ref's `jump` word,
//! which the completion makes non-zero before it wakes; a completion that
//! replaces an open edge without that flag makes no wake-up call at all. Under
//! loom the futex really blocks, so a lost wake-up leaves a resolver
//! blocked forever and loom reports a deadlock. Every model checks the
//! resolver's answer too, and runs in both spawn orders.
//!
//! * `resolve_vs_add_canonical`: `resolve(g)` || `add_canonical(g)` ->
//!   `Ok(g)`. Bound 5 (10, where the execution count had stopped growing,
//!   before the lifecycle's operations multiplied the interleavings).
//! * `resolve_vs_alias_to_canonical`: `f` canonical first; `resolve(g)` ||
//!   `alias(g, f)` -> `Ok(f)`. Bound 5 (likewise).
//! * `two_resolvers_one_completion`: two `resolve(g)` || `add_canonical(g)`:
//!   both woken (wake-all). Bound 2 (3 before the lifecycle).
//! * `resolver_moves_along_open_ends`: `h -> g` set first; `resolve(h)` ||
//!   `alias(g, f)` || `add_canonical(f)`: the resolver may sleep on `g`
//!   and then on `f`, and returns `Ok(f)`. Bound 2 (3 before the lifecycle).
//! * `resolve_timeout_on_completing_chain`: `f` canonical first;
//!   `resolve_timeout(h, one hour)` || `alias(h, g)` || `alias(g, f)` ->
//!   `Ok(f)`. Under loom a timed wait blocks like an untimed one (time does
//!   not pass in the model), so this checks the timed path's wake-ups.
//!   Bound 2 (3 before the lifecycle).

#![cfg(loom)]

use std::time::Duration;

use halo_alias::{AliasError, AliasTable, ObjRef};
use loom::sync::Arc;
use loom_tests::{join_all, model_in_orders, on, spawn_all, table_with, Task};

#[derive(Debug, PartialEq)]
enum Done {
    Call(Result<(), AliasError>),
    Resolved(Result<ObjRef, AliasError>),
}

fn resolve(table: &Arc<AliasTable>, r: ObjRef) -> Task<Done> {
    on(table, move |t| Done::Resolved(t.resolve(r)))
}

fn call(
    table: &Arc<AliasTable>,
    f: impl FnOnce(&AliasTable) -> Result<(), AliasError> + Send + 'static,
) -> Task<Done> {
    on(table, move |t| Done::Call(f(t)))
}

#[test]
fn resolve_vs_add_canonical() {
    model_in_orders("resolve_vs_add_canonical", 5, |order| {
        let (table, [g]) = table_with::<1>();
        let tasks = vec![
            resolve(&table, g),
            call(&table, move |t| t.add_canonical(g)),
        ];
        let results = join_all(spawn_all(order, tasks));
        assert_eq!(results, [Done::Resolved(Ok(g)), Done::Call(Ok(()))]);
    });
}

#[test]
fn resolve_vs_alias_to_canonical() {
    model_in_orders("resolve_vs_alias_to_canonical", 5, |order| {
        let (table, [g, f]) = table_with::<2>();
        table.add_canonical(f).unwrap();
        let tasks = vec![resolve(&table, g), call(&table, move |t| t.alias(g, f))];
        let results = join_all(spawn_all(order, tasks));
        assert_eq!(results, [Done::Resolved(Ok(f)), Done::Call(Ok(()))]);
        assert_eq!(table.try_resolve(g), Ok(Some(f)));
    });
}

#[test]
fn two_resolvers_one_completion() {
    model_in_orders("two_resolvers_one_completion", 2, |order| {
        let (table, [g]) = table_with::<1>();
        let tasks = vec![
            resolve(&table, g),
            resolve(&table, g),
            call(&table, move |t| t.add_canonical(g)),
        ];
        let results = join_all(spawn_all(order, tasks));
        assert_eq!(
            results,
            [
                Done::Resolved(Ok(g)),
                Done::Resolved(Ok(g)),
                Done::Call(Ok(()))
            ]
        );
    });
}

#[test]
fn resolver_moves_along_open_ends() {
    model_in_orders("resolver_moves_along_open_ends", 2, |order| {
        let (table, [h, g, f]) = table_with::<3>();
        table.alias(h, g).unwrap();
        let tasks = vec![
            resolve(&table, h),
            call(&table, move |t| t.alias(g, f)),
            call(&table, move |t| t.add_canonical(f)),
        ];
        let results = join_all(spawn_all(order, tasks));
        assert_eq!(
            results,
            [
                Done::Resolved(Ok(f)),
                Done::Call(Ok(())),
                Done::Call(Ok(()))
            ]
        );
        for r in [h, g, f] {
            assert_eq!(table.try_resolve(r), Ok(Some(f)));
        }
    });
}

#[test]
fn resolve_timeout_on_completing_chain() {
    model_in_orders("resolve_timeout_on_completing_chain", 2, |order| {
        let (table, [h, g, f]) = table_with::<3>();
        table.add_canonical(f).unwrap();
        let tasks = vec![
            on(&table, move |t| {
                Done::Resolved(t.resolve_timeout(h, Duration::from_secs(3600)))
            }),
            call(&table, move |t| t.alias(h, g)),
            call(&table, move |t| t.alias(g, f)),
        ];
        let results = join_all(spawn_all(order, tasks));
        assert_eq!(
            results,
            [
                Done::Resolved(Ok(f)),
                Done::Call(Ok(())),
                Done::Call(Ok(()))
            ]
        );
        assert_eq!(table.equivalent(h), Ok(vec![f, h, g]));
    });
}
