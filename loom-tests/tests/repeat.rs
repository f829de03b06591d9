//! Repeated and conflicting `alias` calls.
//!
//! Refs `t` (index 0), `a` (1), `b` (2). In the `repeated_alias_*` models
//! two threads both call `alias(a, t)` while a third calls `alias(b, t)`.
//! The repeat that loses the edge CAS finishes the reverse listing itself
//! (the list insertion is idempotent and helpable), so for every
//! interleaving:
//!
//! * all three calls return `Ok`;
//! * `target(a) = target(b) = t`, `aliases(t) = [a, b]` with each exactly
//!   once (`aliases` copies the list without deduplicating, so a ref
//!   listed twice would show twice), and `equivalent(t) = [t, a, b]`.
//!
//! `repeated_alias_open_target` leaves `t` open, so every call runs the
//! cycle post-check; `repeated_alias_canonical_target` makes `t` canonical
//! first, so the pre-check ends at a canonical ref. Both: bound 2 (3 before
//! the lifecycle's operations multiplied the interleavings).
//!
//! `conflicting_calls`: `alias(a, t)`, `alias(a, b)` and
//! `add_canonical(a)` race. Exactly one takes effect; the others return
//! the matching error (`AlreadyAliased` naming the edge that won, or
//! `AlreadyCanonical`) and change nothing: `a`'s edge is the winner's and
//! only the winner's target lists `a`. Bound 2 (3 before the lifecycle).
//!
//! Each model runs in both spawn orders.

#![cfg(loom)]

use halo_alias::AliasError;
use loom_tests::{join_all, model_in_orders, spawn_all, table_with, task, Order};

fn repeated_alias(order: Order, canonical_target: bool) {
    let (table, [t, a, b]) = table_with::<3>();
    if canonical_target {
        table.add_canonical(t).unwrap();
    }
    let tasks = [(a, t), (a, t), (b, t)]
        .into_iter()
        .map(|(x, y)| {
            let table = table.clone();
            task(move || table.alias(x, y))
        })
        .collect();
    for result in join_all(spawn_all(order, tasks)) {
        assert_eq!(result, Ok(()));
    }
    assert_eq!(table.target(a), Ok(Some(t)));
    assert_eq!(table.target(b), Ok(Some(t)));
    assert_eq!(table.aliases(t), Ok(vec![a, b]));
    assert_eq!(table.aliases(a), Ok(vec![]));
    assert_eq!(table.aliases(b), Ok(vec![]));
    for r in [t, a, b] {
        assert_eq!(table.equivalent(r), Ok(vec![t, a, b]), "equivalent({r:?})");
    }
    let expected = if canonical_target { Some(t) } else { None };
    assert_eq!(table.try_resolve(a), Ok(expected));
}

#[test]
fn repeated_alias_open_target() {
    model_in_orders("repeated_alias_open_target", 2, |order| {
        repeated_alias(order, false)
    });
}

#[test]
fn repeated_alias_canonical_target() {
    model_in_orders("repeated_alias_canonical_target", 2, |order| {
        repeated_alias(order, true)
    });
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    AliasT,
    AliasB,
    Canonical,
}

#[test]
fn conflicting_calls() {
    model_in_orders("conflicting_calls", 2, |order| {
        let (table, [t, a, b]) = table_with::<3>();
        let calls = [Call::AliasT, Call::AliasB, Call::Canonical];
        let tasks = calls
            .into_iter()
            .map(|call| {
                let table = table.clone();
                task(move || match call {
                    Call::AliasT => table.alias(a, t),
                    Call::AliasB => table.alias(a, b),
                    Call::Canonical => table.add_canonical(a),
                })
            })
            .collect();
        let results: Vec<_> = calls
            .into_iter()
            .zip(join_all(spawn_all(order, tasks)))
            .collect();
        let winners: Vec<Call> = results
            .iter()
            .filter(|(_, result)| result.is_ok())
            .map(|&(call, _)| call)
            .collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        let won = winners[0];
        let edge = match won {
            Call::AliasT => t,
            Call::AliasB => b,
            Call::Canonical => a,
        };
        assert_eq!(table.target(a), Ok(Some(edge)));
        for &(call, result) in &results {
            if call == won {
                continue;
            }
            let expected = match won {
                Call::Canonical => AliasError::AlreadyCanonical(a),
                Call::AliasT | Call::AliasB => AliasError::AlreadyAliased {
                    alias: a,
                    existing: edge,
                },
            };
            assert_eq!(result, Err(expected), "{call:?} lost to {won:?}");
        }
        let listed = |call| if won == call { vec![a] } else { vec![] };
        assert_eq!(table.aliases(t), Ok(listed(Call::AliasT)));
        assert_eq!(table.aliases(b), Ok(listed(Call::AliasB)));
        assert_eq!(table.aliases(a), Ok(vec![]));
        assert_eq!(table.is_canonical(a), Ok(won == Call::Canonical));
    });
}
