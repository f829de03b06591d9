//! The lifecycle: holders, pending outputs, pins, release exactly once and
//! in order, from every trigger; stale refs; cycles; the new errors, each
//! with a check that the refused call changed nothing.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{assert_refused, registered_refs, snapshot};
use halo_alias::{AliasError, AliasTable, ObjRef, Released};

/// A table whose releases are recorded, in order.
fn recording() -> (AliasTable, Arc<Mutex<Vec<Released>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&events);
    let table = AliasTable::builder()
        .on_release(move |released| log.lock().unwrap().push(released))
        .build();
    (table, events)
}

fn take(events: &Mutex<Vec<Released>>) -> Vec<Released> {
    std::mem::take(&mut *events.lock().unwrap())
}

fn alias(alias: ObjRef, target: ObjRef) -> Released {
    Released::Alias { alias, target }
}

fn object(canonical: ObjRef) -> Released {
    Released::Object { canonical }
}

#[test]
fn a_chain_is_released_bottom_up_once_its_last_holder_goes() {
    let (table, events) = recording();
    let [h, g, f] = [(); 3].map(|()| table.register().unwrap());
    table.alias(h, g).unwrap();
    table.alias(g, f).unwrap();
    table.add_canonical(f).unwrap();
    // f and g are pinned by their aliases: dropping their holders frees nothing.
    table.decref(f).unwrap();
    table.decref(g).unwrap();
    assert_eq!(take(&events), []);
    assert_eq!(
        (table.len(), table.holders(f), table.holders(g)),
        (3, Ok(0), Ok(0))
    );
    assert_eq!(table.resolve(h), Ok(f));
    table.decref(h).unwrap();
    assert_eq!(take(&events), [alias(h, g), alias(g, f), object(f)]);
    assert_eq!(table.len(), 0);
}

#[test]
fn an_output_is_not_released_before_it_is_reported() {
    // The original scheduler's issue #120: every holder let go while the
    // task ran; the object must survive until it is stored, then go.
    let (table, events) = recording();
    let f = table.register().unwrap();
    table.decref(f).unwrap();
    assert_eq!(take(&events), []);
    assert_eq!(table.holders(f), Ok(0));
    assert_eq!(table.try_resolve(f), Ok(None));
    table.add_canonical(f).unwrap();
    assert_eq!(take(&events), [object(f)]);
    assert_eq!(table.resolve(f), Err(AliasError::StaleRef(f)));

    // The same for an output that is a ref: released by `alias` itself,
    // which drops the last unit of the alias and then of its target.
    let [g, t] = [(); 2].map(|()| table.register().unwrap());
    table.add_canonical(t).unwrap();
    table.decref(g).unwrap();
    assert_eq!(take(&events), [], "g is pending");
    table.alias(g, t).unwrap();
    assert_eq!(take(&events), [alias(g, t)]);
    table.decref(t).unwrap();
    assert_eq!(take(&events), [object(t)]);
    assert_eq!(table.len(), 0);
}

#[test]
fn a_tree_gives_one_object_event_after_all_its_alias_events() {
    let (table, events) = recording();
    // f <- a, b; a <- c, d; b <- e
    let [f, a, b, c, d, e] = [(); 6].map(|()| table.register().unwrap());
    table.add_canonical(f).unwrap();
    for (x, t) in [(a, f), (b, f), (c, a), (d, a), (e, b)] {
        table.alias(x, t).unwrap();
    }
    // Inner refs are pinned: letting them go releases nothing.
    for r in [f, a, b] {
        table.decref(r).unwrap();
    }
    assert_eq!(take(&events), []);
    table.decref(d).unwrap();
    assert_eq!(take(&events), [alias(d, a)]);
    table.decref(e).unwrap();
    assert_eq!(take(&events), [alias(e, b), alias(b, f)]);
    assert_eq!(table.equivalent(c).unwrap(), vec![f, a, c]);
    assert_eq!(table.aliases(f).unwrap(), vec![a]);
    assert_eq!(table.decref(d), Err(AliasError::StaleRef(d)));
    assert_eq!((table.holders(a), table.len()), (Ok(0), 3));
    assert!(!table.to_dot().contains(&format!("\"{b}\"")));
    table.decref(c).unwrap();
    assert_eq!(take(&events), [alias(c, a), alias(a, f), object(f)]);
    assert_eq!(table.len(), 0);
}

#[test]
fn every_call_with_a_released_ref_is_stale_and_changes_nothing() {
    let (table, events) = recording();
    let [f, g, live] = [(); 3].map(|()| table.register().unwrap());
    table.add_canonical(f).unwrap();
    table.alias(g, f).unwrap();
    table.add_canonical(live).unwrap();
    table.decref(g).unwrap();
    assert_eq!(take(&events), [alias(g, f)]);
    let stale = AliasError::StaleRef(g);
    assert_refused(&table, stale, &[g], || table.incref(g));
    assert_refused(&table, stale, &[g], || table.decref(g));
    assert_refused(&table, stale, &[g], || table.holders(g));
    assert_refused(&table, stale, &[g], || table.resolve(g));
    assert_refused(&table, stale, &[g], || table.try_resolve(g));
    assert_refused(&table, stale, &[g], || table.target(g));
    assert_refused(&table, stale, &[g], || table.aliases(g));
    assert_refused(&table, stale, &[g], || table.equivalent(g));
    assert_refused(&table, stale, &[g], || table.is_canonical(g));
    assert_refused(&table, stale, &[g], || table.add_canonical(g));
    assert_refused(&table, stale, &[g], || table.alias(g, live));
    // A released target: `alias` names the target.
    let a = table.register().unwrap();
    assert_refused(&table, stale, &[g], || table.alias(a, g));
    // A generation never handed out is unknown, not stale.
    let never = ObjRef::new(g.index(), g.generation() + 1);
    assert_refused(&table, AliasError::UnknownRef(never), &[never], || {
        table.incref(never)
    });
    assert_eq!(take(&events), []);
}

#[test]
fn decref_without_holders_is_refused_and_changes_nothing() {
    let table = AliasTable::new();
    let [g, f] = [(); 2].map(|()| table.register().unwrap());
    table.alias(g, f).unwrap();
    table.decref(f).unwrap();
    // f is alive (pinned by g, pending) but nobody holds it.
    assert_refused(&table, AliasError::NotHeld(f), &[f], || table.decref(f));
    assert_eq!(table.holders(f), Ok(0));
    table.incref(f).unwrap();
    assert_eq!(table.holders(f), Ok(1));
}

#[test]
fn a_full_holder_count_is_refused_and_never_wraps() {
    // sharded-slab #22: a count that wraps to zero frees a held ref.
    let (table, events) = recording();
    let r = table.register().unwrap();
    table.add_canonical(r).unwrap();
    for _ in 1..u16::MAX {
        table.incref(r).unwrap();
    }
    assert_eq!(table.holders(r), Ok(u32::from(u16::MAX)));
    assert_refused(&table, AliasError::TooManyHolders(r), &[r], || {
        table.incref(r)
    });
    assert_eq!(table.holders(r), Ok(u32::from(u16::MAX)));
    assert_eq!(take(&events), []);
    for _ in 1..u16::MAX {
        table.decref(r).unwrap();
    }
    assert_eq!(take(&events), []);
    assert_eq!(table.try_resolve(r), Ok(Some(r)), "still held once");
    table.decref(r).unwrap();
    assert_eq!(take(&events), [object(r)]);
}

#[test]
fn the_handler_sees_the_ref_stale_and_may_call_back_into_the_table() {
    // A scheduler decrefs the refs a freed object contained, from the
    // handler; and whatever the handler asks about the released ref is
    // already stale.
    /// A release and what `try_resolve` answered about it in the handler.
    type Seen = (Released, Result<Option<ObjRef>, AliasError>);
    struct Scheduler {
        table: AliasTable,
        contained: Mutex<Vec<(ObjRef, ObjRef)>>,
        seen: Mutex<Vec<Seen>>,
    }
    let scheduler: Arc<Scheduler> = Arc::new_cyclic(|weak: &std::sync::Weak<Scheduler>| {
        let weak = weak.clone();
        Scheduler {
            table: AliasTable::builder()
                .on_release(move |released| {
                    let scheduler = weak.upgrade().expect("the table lives in the scheduler");
                    let Released::Object { canonical } = released else {
                        return;
                    };
                    let answer = scheduler.table.try_resolve(canonical);
                    scheduler.seen.lock().unwrap().push((released, answer));
                    let inner: Vec<ObjRef> = {
                        let mut contained = scheduler.contained.lock().unwrap();
                        let (inner, rest) = contained
                            .drain(..)
                            .partition(|&(outer, _)| outer == canonical);
                        *contained = rest;
                        inner.into_iter().map(|(_, inner)| inner).collect()
                    };
                    for inner in inner {
                        scheduler.table.decref(inner).unwrap();
                    }
                })
                .build(),
            contained: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
        }
    });
    let table = &scheduler.table;
    // outer contains inner, which contains innermost.
    let [outer, inner, innermost] = [(); 3].map(|()| table.register().unwrap());
    for r in [outer, inner, innermost] {
        table.add_canonical(r).unwrap();
    }
    scheduler
        .contained
        .lock()
        .unwrap()
        .extend([(outer, inner), (inner, innermost)]);
    table.decref(outer).unwrap();
    let seen = scheduler.seen.lock().unwrap().clone();
    let stale = |r| (object(r), Err(AliasError::StaleRef(r)));
    assert_eq!(seen, [stale(outer), stale(inner), stale(innermost)]);
    assert_eq!(table.len(), 0);
}

#[test]
fn a_million_ref_chain_is_released_without_deep_recursion() {
    // A small stack: a recursive cascade would overflow it.
    std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            const N: usize = 1_000_000;
            let (table, events) = recording();
            let refs: Vec<ObjRef> = (0..N).map(|_| table.register().unwrap()).collect();
            table.add_canonical(refs[N - 1]).unwrap();
            for pair in refs.windows(2).rev() {
                table.alias(pair[0], pair[1]).unwrap();
            }
            for &r in &refs[1..] {
                table.decref(r).unwrap();
            }
            assert_eq!(table.len(), N);
            table.decref(refs[0]).unwrap();
            let events = take(&events);
            assert_eq!(events.len(), N);
            assert_eq!(events[0], alias(refs[0], refs[1]));
            assert_eq!(events[N - 1], object(refs[N - 1]));
            assert_eq!(table.len(), 0);
        })
        .unwrap()
        .join()
        .unwrap();
}

/// Races `alias(a, b)` against `alias(b, a)` on fresh refs until both take
/// effect (a cycle), which needs the two calls to overlap. Returns the
/// cycle's refs, each still held once, and `w -> a` (held) leading into it.
/// Pairs that did not close a cycle, and extra cycles, are released and
/// checked.
///
/// The two threads meet before every pair by spinning on a shared count:
/// a blocking barrier's wake-up takes longer than a call, so the calls
/// after it almost never overlapped on a loaded machine.
fn racing_cycle(table: &AliasTable, events: &Mutex<Vec<Released>>) -> [ObjRef; 3] {
    const PAIRS: usize = 256;
    for _ in 0..2_000 {
        let pairs: Vec<[ObjRef; 3]> = (0..PAIRS)
            .map(|_| {
                let [a, b, w] = [(); 3].map(|()| table.register().unwrap());
                table.alias(w, a).unwrap();
                [a, b, w]
            })
            .collect();
        let arrived = AtomicUsize::new(0);
        let meet = |pair: usize| {
            arrived.fetch_add(1, Ordering::SeqCst);
            let mut spins = 0u32;
            while arrived.load(Ordering::SeqCst) < 2 * (pair + 1) {
                spins += 1;
                if spins.is_multiple_of(1024) {
                    std::thread::yield_now(); // the other thread lost its core
                }
                std::hint::spin_loop();
            }
        };
        let race = |call: fn(&AliasTable, ObjRef, ObjRef) -> Result<(), AliasError>| {
            let calls = pairs.iter().enumerate().map(|(i, &[a, b, _])| {
                meet(i);
                call(table, a, b)
            });
            calls.collect::<Vec<_>>()
        };
        let (forward, backward) = std::thread::scope(|s| {
            let other = s.spawn(|| race(|table, a, b| table.alias(b, a)));
            (race(|table, a, b| table.alias(a, b)), other.join().unwrap())
        });
        let mut cycle = None;
        for ((&[a, b, w], ab), ba) in pairs.iter().zip(forward).zip(backward) {
            if table.target(a) == Ok(Some(b)) && table.target(b) == Ok(Some(a)) {
                assert!(ab.is_err() || ba.is_err(), "a cycle closed unnoticed");
                if cycle.is_none() {
                    cycle = Some([a, b, w]);
                    continue;
                }
                for r in [a, b, w] {
                    table.decref(r).unwrap();
                }
                assert_eq!(take(events).len(), 3);
                continue;
            }
            // One call was refused: a chain w -> a -> b or w -> a <- b,
            // whose root is still pending. Let go of it all, then store
            // the root.
            assert!(ab.is_ok() != ba.is_ok(), "{ab:?} {ba:?}");
            let root = if ab.is_ok() { b } else { a };
            for r in [a, b, w] {
                table.decref(r).unwrap();
            }
            assert_eq!(take(events).len(), 2);
            table.add_canonical(root).unwrap();
            assert_eq!(take(events), [object(root)]);
        }
        if let Some(cycle) = cycle {
            return cycle;
        }
    }
    panic!("racing calls never closed a cycle");
}

#[test]
fn a_cycle_is_released_once_nothing_outside_holds_it() {
    let (table, events) = recording();
    let [a, b, w] = racing_cycle(&table, &events);
    table.decref(a).unwrap();
    table.decref(b).unwrap();
    assert_eq!(take(&events), [], "w still leads into it");
    assert_eq!(table.resolve(w), Err(AliasError::Cycle(w)));
    table.decref(w).unwrap();
    let mut released = take(&events);
    assert_eq!(released.remove(0), alias(w, a));
    let mut expected = [alias(a, b), alias(b, a)];
    released.sort_by_key(|event| format!("{event:?}"));
    expected.sort_by_key(|event| format!("{event:?}"));
    assert_eq!(released, expected);
    assert_eq!(table.len(), 0);
}

#[test]
fn a_cycle_let_go_before_it_closed_is_released_by_the_closing_call() {
    let (table, events) = recording();
    let [a, b, w] = racing_cycle(&table, &events);
    // Holders of a cycle let go in any order, w (outside) last here.
    table.decref(b).unwrap();
    table.decref(w).unwrap();
    assert_eq!(take(&events), [alias(w, a)]);
    table.decref(a).unwrap();
    assert_eq!(take(&events).len(), 2);
    assert_eq!(table.len(), 0);
}

#[test]
fn released_refs_leave_every_query_but_nothing_else_changes() {
    let (table, events) = recording();
    let [f, x, y] = [(); 3].map(|()| table.register().unwrap());
    table.add_canonical(f).unwrap();
    table.alias(x, f).unwrap();
    table.alias(y, f).unwrap();
    let before = snapshot(&table);
    table.decref(x).unwrap();
    assert_eq!(take(&events), [alias(x, f)]);
    let after = snapshot(&table);
    assert_eq!(after.len, 2);
    assert_eq!(table.aliases(f).unwrap(), vec![y]);
    assert_eq!(table.equivalent(y).unwrap(), vec![f, y]);
    assert!(!after.dot.contains(&format!("\"{x}\"")));
    // y's edge and answer are as before; x is stale.
    let state = |snapshot: &common::Snapshot, r: ObjRef| {
        snapshot
            .refs
            .iter()
            .find(|state| state.r == r)
            .cloned()
            .unwrap()
    };
    let (was, is) = (state(&before, y), state(&after, y));
    assert_eq!((was.target, was.try_resolve), (is.target, is.try_resolve));
    assert_eq!(state(&after, x).target, Err(AliasError::StaleRef(x)));
    assert_eq!(registered_refs(&table), vec![f, x, y]);
}

#[test]
fn a_resolver_racing_the_release_of_its_path_answers_and_nothing_leaks() {
    // The resolver walks from h to the open end e and may hold e across
    // its sleep, while h is released and e is completed and released.
    let table = AliasTable::builder().generations(1).build();
    let mut outcomes = [0usize; 2];
    for round in 0..3000 {
        let (h, e) = (table.register().unwrap(), table.register().unwrap());
        table.alias(h, e).unwrap();
        table.decref(e).unwrap(); // h's pin and e's pending keep e alive
        let barrier = std::sync::Barrier::new(2);
        let answer = std::thread::scope(|s| {
            let resolver = s.spawn(|| {
                barrier.wait();
                table.resolve(h)
            });
            barrier.wait();
            for _ in 0..(round % 64) {
                std::hint::spin_loop();
            }
            table.decref(h).unwrap();
            table.add_canonical(e).unwrap();
            resolver.join().unwrap()
        });
        match answer {
            Ok(canonical) => {
                assert_eq!(canonical, e);
                outcomes[0] += 1;
            }
            Err(error) => {
                assert_eq!(error, AliasError::StaleRef(h));
                outcomes[1] += 1;
            }
        }
    }
    assert_eq!(table.len(), 0, "{outcomes:?}");
}
