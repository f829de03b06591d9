//! Slot recycling: released slots come back with the next generation, old
//! refs stay stale, a slot is retired after its last generation, and memory
//! stays flat under churn (the soak: `HALO_CHURN_CYCLES` cycles per thread
//! count, default 200,000, e.g. `HALO_CHURN_CYCLES=10000000 cargo test
//! --release --test recycle -- --nocapture`).

use std::collections::HashSet;

use halo_alias::{AliasError, AliasTable, ObjRef};

/// Registers `n` refs, stores them and lets them go: all released.
fn churn_round(table: &AliasTable, n: usize) -> Vec<ObjRef> {
    let refs: Vec<ObjRef> = (0..n).map(|_| table.register().unwrap()).collect();
    for &r in &refs {
        table.add_canonical(r).unwrap();
        table.decref(r).unwrap();
    }
    refs
}

#[test]
fn released_slots_are_reused_with_the_next_generation() {
    let table = AliasTable::new();
    let old = churn_round(&table, 1000);
    assert_eq!(table.len(), 0);
    // Reuse waits for the epoch to pass; a few more rounds let it.
    let mut reused = Vec::new();
    for _ in 0..20 {
        reused.extend(
            churn_round(&table, 1000)
                .into_iter()
                .filter(|r| r.generation() > 0),
        );
    }
    assert!(!reused.is_empty(), "no slot was reused");
    let old_indexes: HashSet<u32> = old.iter().map(|r| r.index()).collect();
    assert!(reused.iter().any(|r| old_indexes.contains(&r.index())));
    // Old refs of reused slots are stale, never the new ref's answers.
    // A live ref in a reused slot: churn until `register` hands one out.
    let fresh = (0..100)
        .find_map(|_| {
            let r = table.register().unwrap();
            if r.generation() > 0 {
                return Some(r);
            }
            table.add_canonical(r).unwrap();
            table.decref(r).unwrap();
            churn_round(&table, 1000);
            None
        })
        .expect("register never reused a slot");
    let stale = ObjRef::new(fresh.index(), fresh.generation() - 1);
    assert_eq!(table.resolve(stale), Err(AliasError::StaleRef(stale)));
    assert_eq!(table.holders(stale), Err(AliasError::StaleRef(stale)));
    assert_eq!(table.incref(stale), Err(AliasError::StaleRef(stale)));
    assert_eq!(table.decref(stale), Err(AliasError::StaleRef(stale)));
    assert_eq!(table.holders(fresh), Ok(1));
    assert_eq!(table.target(fresh), Ok(None));
    let next = ObjRef::new(fresh.index(), fresh.generation() + 1);
    assert_eq!(table.holders(next), Err(AliasError::UnknownRef(next)));
    for r in old {
        assert_eq!(table.try_resolve(r), Err(AliasError::StaleRef(r)));
    }
}

#[test]
fn a_slot_is_retired_after_its_last_generation() {
    // sharded-slab #80, #83: generation arithmetic that only breaks at
    // unusual sizes. Two generations per slot force wrap-around at once.
    let table = AliasTable::builder().generations(2).build();
    let mut seen: HashSet<ObjRef> = HashSet::new();
    let mut indexes: HashSet<u32> = HashSet::new();
    for _ in 0..60 {
        for r in churn_round(&table, 500) {
            assert!(r.generation() < 2, "{r} passed the limit");
            assert!(seen.insert(r), "{r} handed out twice");
            indexes.insert(r.index());
        }
    }
    // Each slot holds at most two refs, so the refs needed at least half
    // as many slots; retired slots really are left alone.
    assert!(indexes.len() * 2 >= seen.len());
    assert!(seen.iter().any(|r| r.generation() == 1), "no reuse at all");
    for r in seen {
        assert_eq!(table.decref(r), Err(AliasError::StaleRef(r)));
    }
    assert_eq!(table.len(), 0);
}

#[test]
fn memory_stays_flat_under_churn() {
    // sharded-slab #18: released slots that never reach a free list.
    let cycles: usize = std::env::var("HALO_CHURN_CYCLES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(200_000);
    for threads in [2, 4, 8] {
        let table = AliasTable::new();
        let per_thread = cycles / threads;
        let warm = std::sync::Barrier::new(threads + 1);
        let after_warm_up = std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for cycle in 0..per_thread {
                        if cycle == per_thread / 10 {
                            warm.wait();
                        }
                        // The seed's h / g / f, resolved, then let go.
                        let [h, g, f] = [(); 3].map(|()| table.register().unwrap());
                        table.alias(h, g).unwrap();
                        table.alias(g, f).unwrap();
                        table.add_canonical(f).unwrap();
                        assert_eq!(table.resolve(h), Ok(f));
                        for r in [f, g, h] {
                            table.decref(r).unwrap();
                        }
                        assert_eq!(table.resolve(h), Err(AliasError::StaleRef(h)));
                    }
                });
            }
            warm.wait();
            table.memory_bytes()
        });
        let at_end = table.memory_bytes();
        println!(
            "{threads} threads, {} cycles: {after_warm_up} bytes after warm-up, {at_end} at the end, len {}",
            per_thread * threads,
            table.len()
        );
        assert_eq!(table.len(), 0, "every ref released");
        // Live refs never exceed 3 per thread. Besides them a run holds
        // slots waiting out the epoch, a backlog that follows how long
        // preempted threads hold guards, not the number of cycles: so the
        // check is against what the cycles after the warm-up would cost
        // with no reuse at all, of which at most half may appear.
        let without_reuse = per_thread * threads * 9 / 10 * 3 * AliasTable::BYTES_PER_REF;
        assert!(
            at_end <= after_warm_up + without_reuse / 2,
            "memory grew from {after_warm_up} to {at_end} bytes (no reuse: {without_reuse} more)"
        );
    }
}
