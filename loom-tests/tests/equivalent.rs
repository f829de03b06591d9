//! `equivalent` while the tree it searches is being built.
//!
//! Refs `f` (index 0), `g` (1), `h` (2), `x` (3); `alias(x, g)` is done
//! first. Then `alias(g, f)`, `alias(h, g)` and `equivalent(h)` run on
//! three threads. Whatever the interleaving, the reader's answer:
//!
//! * starts with a root that lies on `h`'s final path (`h`, `g` or `f`);
//! * holds `h` and every ref on `h`'s path to that root, even if the
//!   reverse listing of `h` (or `g`) is still in flight;
//! * holds only refs whose final path leads to that root (nothing outside
//!   the root's tree), each once, in index order after the root;
//! * if the root is `g` or `f`, holds `x` too, whose `alias` call returned
//!   before the reader began.
//!
//! The writers return `Ok` and the final `equivalent` of every ref is
//! `[f, g, h, x]`. Exhaustive within preemption bound 3, in both spawn
//! orders.

#![cfg(loom)]

use halo_alias::{AliasError, AliasTable, ObjRef};
use loom_tests::{join_all, model_in_orders, spawn_all, table_with, task};

#[derive(Debug, PartialEq)]
enum Done {
    Call(Result<(), AliasError>),
    Equivalent(Result<Vec<ObjRef>, AliasError>),
}

/// `from`'s final path, `from` first, up to its canonical or open end.
fn final_path(table: &AliasTable, from: ObjRef) -> Vec<ObjRef> {
    let mut path = vec![from];
    let mut at = from;
    while let Some(next) = table.target(at).unwrap() {
        if next == at {
            break;
        }
        path.push(next);
        at = next;
    }
    path
}

#[test]
fn equivalent_during_build() {
    model_in_orders("equivalent_during_build", 3, |order| {
        let (table, [f, g, h, x]) = table_with::<4>();
        table.alias(x, g).unwrap();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || Done::Call(table.alias(g, f)))
            },
            {
                let table = table.clone();
                task(move || Done::Call(table.alias(h, g)))
            },
            {
                let table = table.clone();
                task(move || Done::Equivalent(table.equivalent(h)))
            },
        ];
        let mut results = join_all(spawn_all(order, tasks));
        let Done::Equivalent(Ok(seen)) = results.pop().unwrap() else {
            panic!("equivalent(h) failed");
        };
        assert_eq!(results, [Done::Call(Ok(())), Done::Call(Ok(()))]);

        let root = seen[0];
        let h_path = final_path(&table, h);
        assert_eq!(h_path, [h, g, f]);
        let to_root = &h_path[..=h_path
            .iter()
            .position(|&r| r == root)
            .expect("root on h's path")];
        for r in to_root {
            assert!(seen.contains(r), "{r:?} on h's path missing from {seen:?}");
        }
        let members = &seen[1..];
        assert!(
            members.windows(2).all(|w| w[0].index() < w[1].index()),
            "not in index order, or twice: {seen:?}"
        );
        for &m in members {
            assert_ne!(m, root, "{seen:?}");
            assert!(
                final_path(&table, m).contains(&root),
                "{m:?} outside {root:?}'s tree: {seen:?}"
            );
        }
        if root != h {
            assert!(
                seen.contains(&x),
                "x, listed before the reader began, missing: {seen:?}"
            );
        }
        for r in [f, g, h, x] {
            assert_eq!(table.equivalent(r), Ok(vec![f, g, h, x]));
        }
    });
}
