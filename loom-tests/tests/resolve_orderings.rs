//! The three scheduler calls of a chain `h -> g -> f`, in every order,
//! with a resolver already waiting on `h`.
//!
//! `alias(h, g)`, `alias(g, f)` and `add_canonical(f)` run on three threads
//! while a fourth blocks in `resolve(h)`. Whatever the interleaving:
//!
//! * every call returns `Ok`;
//! * the resolver is woken and returns `Ok(f)` (a lost wake-up would leave
//!   it blocked: loom reports a deadlock);
//! * the tables end the same: `target(h) = g`, `target(g) = f`,
//!   `target(f) = f`, `aliases(g) = [h]`, `aliases(f) = [g]`,
//!   `aliases(h) = []`, and `h`, `g`, `f` all resolve to `f` (`try_resolve`
//!   and `resolve`) and have `equivalent = [f, h, g]` (root first, then
//!   index order: `h` is index 0, `g` index 1).
//!
//! `all_orderings_with_waiting_resolver` runs all four threads at once:
//! exhaustive within preemption bound 2. The three `*_first` models
//! complete one call before spawning the resolver and the other two
//! writers, and explore those three threads within bound 3; together they
//! cover every order of the three calls with a waiting resolver at a
//! deeper bound than the four-thread model.

#![cfg(loom)]

use halo_alias::{AliasTable, ObjRef};
use loom::thread;
use loom_tests::{equivalence_class, model, table_with};

#[derive(Clone, Copy, Debug)]
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
fn orderings(first: Option<Call>) {
    let (table, refs) = table_with::<3>();
    let [h, _, f] = refs;
    if let Some(call) = first {
        run(&table, refs, call);
    }
    let resolver = {
        let table = table.clone();
        thread::spawn(move || table.resolve(h))
    };
    let writers: Vec<_> = CALLS
        .into_iter()
        .filter(|call| !matches!(first, Some(done) if std::mem::discriminant(&done) == std::mem::discriminant(call)))
        .map(|call| {
            let table = table.clone();
            thread::spawn(move || run(&table, refs, call))
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(resolver.join().unwrap(), Ok(f));
    assert_final_tables(&table, refs);
}

#[test]
fn all_orderings_with_waiting_resolver() {
    model("all_orderings_with_waiting_resolver", 2, || orderings(None));
}

#[test]
fn alias_h_g_first() {
    model("alias_h_g_first", 3, || orderings(Some(Call::AliasHG)));
}

#[test]
fn alias_g_f_first() {
    model("alias_g_f_first", 3, || orderings(Some(Call::AliasGF)));
}

#[test]
fn add_canonical_f_first() {
    model("add_canonical_f_first", 3, || orderings(Some(Call::CanonicalF)));
}
