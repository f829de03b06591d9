//! `register` claiming blocks of indexes and growing the tables while
//! other threads use fresh refs.
//!
//! Under `cfg(loom)` the tables' segments are tiny (see `src/segments.rs`):
//! they hold indexes `[0]`, `[1]`, `[2, 3]`, `[4, 5]`, `[6..=9]`, ... and
//! a thread claims indexes two at a time (see `src/indexes.rs`), or one at
//! a time once fewer than four remain below `max_refs`. A claimer first
//! allocates the segments of its block in both tables, then CASes the
//! claim counter; two claimers racing may both allocate a segment (one
//! frees its copy) and one of them retries its CAS for the next block.
//! Other threads learn a fresh ref only by guessing its index
//! (`ObjRef::new(index, 0)`); the table answers `UnknownRef` until the ref
//! is published (its segment not yet visible, or its slot not yet
//! published), changing nothing.
//!
//! * `alias_across_boundary`: `a` (0, canonical) and `b` (1) are
//!   registered. One thread registers `c` (index 2, which starts a
//!   segment and a block) and calls `alias(c, a)`; one retries
//!   `alias(b, c)` until `c` is known; one resolves `b`. All calls return
//!   `Ok`, the resolver `Ok(a)`, and the tables end `b -> c -> a`,
//!   `aliases(a) = [c]`, `aliases(c) = [b]`, `equivalent(b) = [a, b, c]`.
//!   Bound 2.
//! * `two_registrars_race_for_blocks`: as above, but two threads each
//!   register a ref (claiming blocks `[2, 3]` and `[4, 5]`, each one new
//!   segment, in either order) and alias it to `a`, while a third tries
//!   `alias(b, ObjRef(4))` once (the second block's ref, in a segment that
//!   may be growing): `Ok`, or `UnknownRef` with `b` unchanged. Then
//!   (after linking `b` if that was too early) `b` resolves to `a`,
//!   `aliases(a)` lists both fresh refs, every ref's `equivalent` is all
//!   four, and the unused reserved indexes 3 and 5 are `UnknownRef`.
//!   The registrars also race for the table's last free lane (two under
//!   loom, the first owned by the main thread): one owns it and claims its
//!   block for it, the other claims its block into the shared lane (one
//!   CAS for both, modelled in `indexes.rs`), and `len` must be exact either
//!   way. Bound 1 (2 before the lifecycle's count and pin operations
//!   multiplied the interleavings; `LOOM_MAX_PREEMPTIONS=2` runs it so).
//! * `registrars_share_a_segment`: the same with three more refs
//!   registered by the main thread first (indexes 2 to 4, index 5 left in
//!   its reservation), so the two registrars claim `[6, 7]` and `[8, 9]`,
//!   two blocks of the one segment `[6..=9]`, and both may race to
//!   allocate it; the third thread tries to link `b` to index 8. Bound 1
//!   (2 before the lifecycle, as above).
//! * `blocks_then_single_claims`: `max_refs(7)`. The main thread registers
//!   `a`, claiming the block `[0, 1]` (seven indexes left, enough for a
//!   block and the four-index single-claim tail). Two threads register at
//!   once: five left, so each claims a single index, 2 and 3 in either
//!   order. The main thread then gets 1 from its reservation and 4, 5 and
//!   6 one by one, and the next `register` fails: all seven handed out,
//!   no gap. Bound 2.
//! * `exact_limit_claims_one_at_a_time`: `max_refs(3)` with `a` registered:
//!   two threads register at once. With fewer than four indexes left,
//!   claims are single, so they get indexes 1 and 2 (in either order),
//!   `len` is 3 and the next `register` fails with `CapacityExhausted`,
//!   changing nothing. Bound 2.
//! * `dot_racing_register`: `to_dot` while a ref that starts a segment is
//!   registered. `to_dot` must not panic and must draw `a` and `b`.
//!   Bound 4 (10 before the lifecycle, when the execution count had
//!   stopped growing there; `to_dot` now takes a read guard per ref, whose
//!   operations multiply the interleavings).
//!
//! Each model runs in both spawn orders.

#![cfg(loom)]

use loom::sync::Arc;

use halo_alias::{AliasError, AliasTable, ObjRef};
use loom_tests::{join_all, model_in_orders, spawn_all, table_with, task, Order};

/// Calls `f` until it stops answering `UnknownRef` (the guessed ref is not
/// registered yet), yielding in between.
fn retry<T>(mut f: impl FnMut() -> Result<T, AliasError>) -> Result<T, AliasError> {
    loop {
        match f() {
            Err(AliasError::UnknownRef(_)) => loom::thread::yield_now(),
            other => return other,
        }
    }
}

#[test]
fn alias_across_boundary() {
    model_in_orders("alias_across_boundary", 2, |order| {
        let (table, [a, b]) = table_with::<2>();
        table.add_canonical(a).unwrap();
        let c = ObjRef::new(2, 0);
        let tasks = vec![
            {
                let table = table.clone();
                task(move || {
                    assert_eq!(table.register(), Ok(c));
                    table.alias(c, a).map(|()| c)
                })
            },
            {
                let table = table.clone();
                task(move || retry(|| table.alias(b, c)).map(|()| b))
            },
            {
                let table = table.clone();
                task(move || table.resolve(b))
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        assert_eq!(results, [Ok(c), Ok(b), Ok(a)]);
        assert_eq!(table.len(), 3);
        assert_eq!(table.target(b), Ok(Some(c)));
        assert_eq!(table.target(c), Ok(Some(a)));
        assert_eq!(table.aliases(a), Ok(vec![c]));
        assert_eq!(table.aliases(c), Ok(vec![b]));
        for r in [a, b, c] {
            assert_eq!(table.try_resolve(r), Ok(Some(a)));
            assert_eq!(table.equivalent(r), Ok(vec![a, b, c]));
        }
    });
}

/// `a` (0, canonical), `b` (1) and `extra` more refs registered by the
/// main thread; two threads register and alias their ref to `a`; a third
/// tries once to link `b` to the first index of the later block
/// (`UnknownRef` if it is too early, and then the main thread links it
/// afterwards).
fn two_registrars(order: Order, extra: u32) {
    let (table, [a, b]) = table_with::<2>();
    table.add_canonical(a).unwrap();
    let mut class = vec![a, b];
    for _ in 0..extra {
        let r = table.register().unwrap();
        table.alias(r, a).unwrap();
        class.push(r);
    }
    // The main thread's reservation ends at the next even index; the two
    // registrars claim the two blocks after it.
    let first_block = (2 + extra).next_multiple_of(2);
    let first = ObjRef::new(first_block, 0);
    let second = ObjRef::new(first_block + 2, 0);
    let mut tasks: Vec<_> = (0..2)
        .map(|_| {
            let table = table.clone();
            task(move || {
                let r = table.register()?;
                table.alias(r, a).map(|()| r)
            })
        })
        .collect();
    tasks.push({
        let table = table.clone();
        task(move || table.alias(b, second).map(|()| second))
    });
    let results = join_all(spawn_all(order, tasks));
    match results[2] {
        Ok(linked) => assert_eq!(linked, second),
        // Too early: the ref was not published yet, and nothing changed.
        Err(AliasError::UnknownRef(r)) => {
            assert_eq!(r, second);
            assert_eq!(table.target(b), Ok(None));
            table.alias(b, second).unwrap();
        }
        Err(other) => panic!("alias(b, {second:?}): {other:?}"),
    }
    assert_eq!(table.resolve(b), Ok(a));
    let mut fresh = [results[0].unwrap(), results[1].unwrap()];
    fresh.sort();
    assert_eq!(fresh, [first, second]);
    assert_eq!(table.len(), 4 + extra as usize);
    for hole in [first_block + 1, first_block + 3] {
        let hole = ObjRef::new(hole, 0);
        assert_eq!(table.target(hole), Err(AliasError::UnknownRef(hole)));
    }
    assert_eq!(table.target(b), Ok(Some(second)));
    assert_eq!(table.aliases(second), Ok(vec![b]));
    class.extend(fresh);
    let mut listed = class[2..].to_vec();
    listed.sort();
    assert_eq!(table.aliases(a), Ok(listed));
    class.sort();
    for &r in &class {
        assert_eq!(table.try_resolve(r), Ok(Some(a)));
        assert_eq!(table.equivalent(r), Ok(class.clone()));
    }
}

#[test]
fn two_registrars_race_for_blocks() {
    model_in_orders("two_registrars_race_for_blocks", 1, |order| {
        two_registrars(order, 0)
    });
}

#[test]
fn registrars_share_a_segment() {
    model_in_orders("registrars_share_a_segment", 1, |order| {
        two_registrars(order, 3)
    });
}

#[test]
fn blocks_then_single_claims() {
    model_in_orders("blocks_then_single_claims", 2, |order| {
        let table = Arc::new(AliasTable::builder().max_refs(7).build());
        assert_eq!(table.register(), Ok(ObjRef::new(0, 0)));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let table = table.clone();
                task(move || table.register())
            })
            .collect();
        let mut singles: Vec<ObjRef> = join_all(spawn_all(order, tasks))
            .into_iter()
            .map(Result::unwrap)
            .collect();
        singles.sort();
        assert_eq!(singles, [ObjRef::new(2, 0), ObjRef::new(3, 0)]);
        for expected in [1, 4, 5, 6] {
            assert_eq!(table.register(), Ok(ObjRef::new(expected, 0)));
        }
        assert_eq!(table.register(), Err(AliasError::CapacityExhausted));
        assert_eq!(table.len(), 7);
    });
}

#[test]
fn exact_limit_claims_one_at_a_time() {
    model_in_orders("exact_limit_claims_one_at_a_time", 2, |order| {
        let table = Arc::new(AliasTable::builder().max_refs(3).build());
        let a = table.register().unwrap();
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let table = table.clone();
                task(move || table.register())
            })
            .collect();
        let results = join_all(spawn_all(order, tasks));
        let mut won: Vec<ObjRef> = results.iter().map(|r| r.unwrap()).collect();
        won.sort();
        assert_eq!(won, [ObjRef::new(1, 0), ObjRef::new(2, 0)]);
        assert_eq!(table.len(), 3);
        assert_eq!(table.register(), Err(AliasError::CapacityExhausted));
        assert_eq!(table.target(a), Ok(None));
    });
}

/// `to_dot` reads the registered count (`Relaxed`) and then visits every
/// index below it, so it can see a count that includes a ref whose segment
/// it cannot see yet: it must skip that ref, not panic.
#[test]
fn dot_racing_register() {
    model_in_orders("dot_racing_register", 4, |order| {
        let (table, [a, b]) = table_with::<2>();
        table.alias(b, a).unwrap();
        let tasks = vec![
            {
                let table = table.clone();
                task(move || table.register().map(|r| r.to_string()))
            },
            {
                let table = table.clone();
                task(move || Ok(table.to_dot()))
            },
        ];
        let results = join_all(spawn_all(order, tasks));
        assert_eq!(results[0], Ok(ObjRef::new(2, 0).to_string()));
        let dot = results[1].as_ref().unwrap();
        assert!(dot.contains(&format!("\"{b}\" -> \"{a}\";")), "{dot}");
        assert!(dot.contains(&format!("\"{a}\" [style=dashed];")), "{dot}");
    });
}
