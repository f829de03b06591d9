//! Slot reuse (`recycle`): a stale ref's reader racing the release of its
//! ref and the reuse of its slot gets the old answer or `StaleRef`, never
//! the new ref's. Under loom the epoch is a stand-in that counts readers
//! (see `recycle`), and batches hold one slot, so a slot can be reused
//! within the model.
//!
//! * `stale_resolve_racing_reuse`: `x -> y`, `y` canonical and cached in
//!   `x`'s row; one thread resolves `x` (the unguarded fast path: a seqlock
//!   read of `x`'s row) while another releases both, registers two refs
//!   (taking the slots if they are free by then) and builds and resolves
//!   the same shape in them.
//! * `stale_walk_racing_reuse`: `g -> f`, `g` not resolved yet, so
//!   `try_resolve(g)` walks under a guard; the other thread releases both,
//!   registers two refs (reusing their slots if free) and builds
//!   `new_g -> new_f` with `new_f` canonical.
//! * `stale_alias_racing_reuse`: `alias(a, t)` finds `a` open, while the
//!   other thread stores `a`, releases it, registers a ref (reusing `a`'s
//!   slot if free) and aliases `t` to it: the walk from `t` may meet `a`'s
//!   slot holding the new ref, which must not read as `alias(a, t)`
//!   closing a cycle (`a` is stale, or the call took effect first).
//! * `repeat_racing_the_targets_reuse`: `alias(a, t)` (`t` canonical)
//!   races `t`'s release, a `register` that may reuse `t`'s slot, and
//!   `alias(a, new)`: if `a` ends up aliasing the newer ref in `t`'s slot,
//!   the call about `t` must not read that edge as its own repeat.

#![cfg(loom)]

use halo_alias::{AliasError, AliasTable, ObjRef};
use loom::sync::Arc;
use loom_tests::{join_all, model_in_orders, spawn_all, table_with, task};

/// Registers a ref and reports whether it took one of `slots`.
fn register_noting_reuse(table: &AliasTable, slots: &[ObjRef]) -> ObjRef {
    let fresh = table.register().unwrap();
    if let Some(old) = slots.iter().find(|old| old.index() == fresh.index()) {
        assert_eq!(
            fresh.generation(),
            old.generation() + 1,
            "{fresh} reuses {old}"
        );
    }
    fresh
}

#[test]
fn stale_resolve_racing_reuse() {
    model_in_orders("stale_resolve_racing_reuse", 3, |order| {
        let (table, [x, y]) = table_with::<2>();
        table.alias(x, y).unwrap();
        table.add_canonical(y).unwrap();
        // Cache y in x's row: the resolver below reads it unguarded.
        assert_eq!(table.resolve(x), Ok(y));
        let tasks = vec![
            {
                let table = table.clone();
                task(move || Some(table.resolve(x)))
            },
            {
                let table: Arc<AliasTable> = table.clone();
                task(move || {
                    table.decref(y).unwrap();
                    table.decref(x).unwrap();
                    // The same shape again in the reused slots, cached too.
                    let new_x = register_noting_reuse(&table, &[x, y]);
                    let new_y = register_noting_reuse(&table, &[x, y]);
                    table.alias(new_x, new_y).unwrap();
                    table.add_canonical(new_y).unwrap();
                    assert_eq!(table.resolve(new_x), Ok(new_y));
                    assert_eq!(table.resolve(new_y), Ok(new_y));
                    None
                })
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        let answer = results[0].expect("the resolver's answer");
        assert!(
            answer == Ok(y) || answer == Err(AliasError::StaleRef(x)),
            "{answer:?}"
        );
        assert_eq!(table.resolve(x), Err(AliasError::StaleRef(x)));
    });
}

#[test]
fn stale_walk_racing_reuse() {
    model_in_orders("stale_walk_racing_reuse", 2, |order| {
        let (table, [g, f]) = table_with::<2>();
        table.alias(g, f).unwrap();
        table.add_canonical(f).unwrap();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || Some(table.try_resolve(g)))
            },
            {
                let table: Arc<AliasTable> = table.clone();
                task(move || {
                    table.decref(f).unwrap();
                    table.decref(g).unwrap();
                    let new_g = register_noting_reuse(&table, &[g, f]);
                    let new_f = register_noting_reuse(&table, &[g, f]);
                    table.alias(new_g, new_f).unwrap();
                    table.add_canonical(new_f).unwrap();
                    None
                })
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        let answer = results[0].expect("the walker's answer");
        assert!(
            answer == Ok(Some(f)) || answer == Err(AliasError::StaleRef(g)),
            "{answer:?}"
        );
        assert_eq!(table.len(), 2);
    });
}

#[test]
fn stale_alias_racing_reuse() {
    model_in_orders("stale_alias_racing_reuse", 3, |order| {
        let (table, [a, t]) = table_with::<2>();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || Some(table.alias(a, t)))
            },
            {
                let table: Arc<AliasTable> = table.clone();
                task(move || {
                    // Refused if the other call committed first.
                    if table.add_canonical(a).is_ok() {
                        table.decref(a).unwrap(); // released: stored, unheld
                        let new = register_noting_reuse(&table, &[a]);
                        assert_eq!(table.holders(new), Ok(1));
                        table.alias(t, new).unwrap();
                    }
                    None
                })
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        let answer = results[0].expect("the alias call's answer");
        assert!(
            answer.is_ok()
                || answer == Err(AliasError::StaleRef(a))
                || answer == Err(AliasError::AlreadyCanonical(a)),
            "alias({a}, {t}) = {answer:?}"
        );
        if answer.is_ok() {
            assert_eq!(table.target(a), Ok(Some(t)));
        } else {
            assert_eq!(table.target(a), Err(AliasError::StaleRef(a)));
        }
    });
}

#[test]
fn repeat_racing_the_targets_reuse() {
    model_in_orders("repeat_racing_the_targets_reuse", 3, |order| {
        let (table, [a, t]) = table_with::<2>();
        table.add_canonical(t).unwrap();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || Some(table.alias(a, t)))
            },
            {
                let table: Arc<AliasTable> = table.clone();
                task(move || {
                    table.decref(t).unwrap(); // released, unless `a` pins it
                    let new = register_noting_reuse(&table, &[t]);
                    table.add_canonical(new).unwrap();
                    let _ = table.alias(a, new); // refused if `a -> t` won
                    None
                })
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        let answer = results[0].expect("the alias call's answer");
        match answer {
            Ok(()) => assert_eq!(table.target(a), Ok(Some(t)), "alias({a}, {t}) = Ok"),
            Err(AliasError::StaleRef(x)) => assert_eq!(x, t),
            Err(AliasError::AlreadyAliased { alias, existing }) => {
                assert_eq!(alias, a);
                assert_ne!(existing, t);
                assert_eq!(table.target(a), Ok(Some(existing)));
            }
            other => panic!("alias({a}, {t}) = {other:?}"),
        }
    });
}
