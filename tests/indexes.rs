//! How `register` hands out indexes: consecutive per thread and table,
//! unique across threads, gaps left by unused reservations rejected as
//! unknown, which reservation a fifth table replaces, exact limits, `len`
//! counting registered refs only, and registration from a thread-local
//! destructor.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::thread;

use common::assert_refused;
use halo_alias::{AliasError, AliasTable, ObjRef};

/// Every index below the highest handed out that is not in `refs` must be
/// unknown to every call, and refusing it must change nothing.
fn assert_gaps_unknown(table: &AliasTable, refs: &BTreeSet<ObjRef>) {
    let known = *refs.first().expect("some refs");
    let last = refs.last().expect("some refs").index();
    let gaps: Vec<ObjRef> = (0..last)
        .map(|index| ObjRef::new(index, 0))
        .filter(|r| !refs.contains(r))
        .collect();
    for &gap in &gaps {
        let unknown = AliasError::UnknownRef(gap);
        assert_refused(table, unknown, &[gap], || table.alias(gap, known));
        assert_refused(table, unknown, &[gap], || table.alias(known, gap));
        assert_refused(table, unknown, &[gap], || table.add_canonical(gap));
        assert_eq!(table.try_resolve(gap), Err(unknown));
        assert_eq!(table.equivalent(gap), Err(unknown));
    }
}

#[test]
fn one_thread_gets_consecutive_indexes() {
    let table = AliasTable::new();
    for expected in 0..1000 {
        assert_eq!(table.register(), Ok(ObjRef::new(expected, 0)));
    }
    assert_eq!(table.len(), 1000);
}

#[test]
fn threads_get_unique_indexes_and_their_gaps_are_unknown() {
    let table = AliasTable::new();
    let per_thread = 10;
    let refs: Vec<ObjRef> = thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..per_thread)
                        .map(|_| table.register().unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect::<Vec<ObjRef>>()
    });
    let unique: BTreeSet<ObjRef> = refs.iter().copied().collect();
    assert_eq!(
        unique.len(),
        4 * per_thread,
        "an index was handed out twice"
    );
    assert_eq!(table.len(), 4 * per_thread);
    // Each thread's refs are one run of consecutive indexes.
    for run in refs.chunks(per_thread) {
        for pair in run.windows(2) {
            assert_eq!(pair[1].index(), pair[0].index() + 1, "{run:?}");
        }
    }
    assert_gaps_unknown(&table, &unique);
    for &r in &refs {
        assert_eq!(table.target(r), Ok(None));
    }
}

#[test]
fn a_thread_keeps_reservations_in_four_tables() {
    let tables: Vec<AliasTable> = (0..4).map(|_| AliasTable::new()).collect();
    for round in 0..100 {
        for table in &tables {
            assert_eq!(table.register(), Ok(ObjRef::new(round, 0)));
        }
    }
}

#[test]
fn a_fifth_table_evicts_a_reservation_and_leaves_a_gap() {
    let tables: Vec<AliasTable> = (0..5).map(|_| AliasTable::new()).collect();
    let mut handed_out: Vec<BTreeSet<ObjRef>> = vec![BTreeSet::new(); tables.len()];
    for _round in 0..3 {
        for (table, refs) in tables.iter().zip(&mut handed_out) {
            assert!(refs.insert(table.register().unwrap()), "handed out twice");
        }
    }
    // Round robin over five tables with room for four: every register
    // after the first round finds its reservation evicted.
    let first = &handed_out[0];
    assert_eq!(
        first.iter().map(|r| r.index()).collect::<Vec<_>>(),
        [0, 64, 128]
    );
    for (table, refs) in tables.iter().zip(&handed_out) {
        assert_eq!(table.len(), refs.len());
        assert_gaps_unknown(table, refs);
    }
}

#[test]
fn the_least_recently_used_reservation_is_the_one_replaced() {
    let tables: Vec<AliasTable> = (0..6).map(|_| AliasTable::new()).collect();
    let [a, b, c, d, e, f] = [0, 1, 2, 3, 4, 5].map(|i| &tables[i]);
    for table in [a, b, c, d, a, e, a, f, a] {
        table.register().unwrap();
    }
    // `a` was used between every new table, so it kept its reservation;
    // `e` replaced `b` (least recently used) and `f` replaced `c`.
    assert_eq!(a.register(), Ok(ObjRef::new(4, 0)));
    assert_eq!(d.register(), Ok(ObjRef::new(1, 0)));
    assert_eq!(b.register(), Ok(ObjRef::new(64, 0)));
    assert_eq!(c.register(), Ok(ObjRef::new(64, 0)));
}

#[test]
fn a_used_up_reservation_is_replaced_before_the_least_recently_used() {
    let tables: Vec<AliasTable> = (0..5).map(|_| AliasTable::new()).collect();
    let [a, b, c, used_up, e] = [0, 1, 2, 3, 4].map(|i| &tables[i]);
    for table in [a, b, c] {
        table.register().unwrap();
    }
    for _ in 0..64 {
        used_up.register().unwrap(); // its whole block, most recently
    }
    e.register().unwrap();
    // `e` took the used-up reservation, not `a`'s (least recently used).
    assert_eq!(a.register(), Ok(ObjRef::new(1, 0)));
}

#[test]
fn a_table_with_a_small_limit_replaces_no_reservation() {
    let big: Vec<AliasTable> = (0..4).map(|_| AliasTable::new()).collect();
    let small = AliasTable::builder().max_refs(100).build();
    for round in 0..10 {
        for table in &big {
            assert_eq!(table.register(), Ok(ObjRef::new(round, 0)));
        }
        assert_eq!(small.register(), Ok(ObjRef::new(round, 0)));
    }
}

#[test]
fn a_long_lived_table_stays_dense_beside_short_lived_ones() {
    let long_lived = AliasTable::new();
    for job in 0..1000 {
        let short_lived = AliasTable::new();
        short_lived.register().unwrap();
        assert_eq!(long_lived.register(), Ok(ObjRef::new(job, 0)));
    }
}

#[test]
fn a_limit_of_4096_is_handed_out_exactly_even_if_a_thread_leaves() {
    let table = AliasTable::builder().max_refs(4096).build();
    thread::scope(|s| s.spawn(|| table.register().unwrap()).join().unwrap());
    let mut handed_out = 1;
    while table.register().is_ok() {
        handed_out += 1;
    }
    assert_eq!(handed_out, 4096);
    assert_eq!(table.len(), 4096);
}

/// A thread-local whose destructor registers a ref, while the thread's
/// locals are being torn down: `register` must still work. With native
/// thread locals (Linux, macOS, Windows) the table's own per-thread state
/// has no destructor and is still there, so this takes the usual path; the
/// path for state already gone is covered by the unit tests in
/// `src/indexes.rs`, which call it directly.
struct RegistersOnDrop(
    Arc<AliasTable>,
    std::sync::mpsc::Sender<Result<ObjRef, AliasError>>,
);

impl Drop for RegistersOnDrop {
    fn drop(&mut self) {
        let _ = self.1.send(self.0.register());
    }
}

thread_local! {
    static ON_EXIT: std::cell::RefCell<Option<RegistersOnDrop>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn registering_from_a_thread_local_destructor_works() {
    let table = Arc::new(AliasTable::new());
    let (sender, receiver) = std::sync::mpsc::channel();
    let worker = {
        let table = Arc::clone(&table);
        thread::spawn(move || {
            let first = table.register().unwrap();
            ON_EXIT.with(|slot| *slot.borrow_mut() = Some(RegistersOnDrop(table, sender)));
            first
        })
    };
    let first = worker.join().unwrap();
    let late = receiver
        .recv()
        .unwrap()
        .expect("register while thread locals are torn down");
    assert_ne!(late, first);
    assert_eq!(table.len(), 2);
    assert_eq!(table.target(late), Ok(None));
}
