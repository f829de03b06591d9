//! Regression: a resolver woken by `alias(g, f)` could run `equivalent(f)`
//! before that call had listed `g` under `f`, and miss `h` and `g` (found
//! by the scheduler-mix benchmark). Every call that follows an edge now
//! finishes its listing first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use halo_alias::AliasTable;

const TASKS: usize = 20_000;

#[test]
fn equivalent_after_resolve_includes_the_resolved_path() {
    let table = AliasTable::with_capacity(3 * TASKS);
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| [(); 3].map(|()| table.register().unwrap()))
        .collect();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        // The writer completes each chain in one of the orders that ends
        // with an alias call, so the resolver is woken by an alias.
        s.spawn(|| {
            for (task, &[h, g, f]) in tasks.iter().enumerate() {
                table.add_canonical(f).unwrap();
                if task % 2 == 0 {
                    table.alias(h, g).unwrap();
                    table.alias(g, f).unwrap();
                } else {
                    table.alias(g, f).unwrap();
                    table.alias(h, g).unwrap();
                }
            }
            done.store(true, Ordering::Release);
        });
        for &[h, g, f] in &tasks {
            assert_eq!(table.resolve(h), Ok(f));
            assert_eq!(table.equivalent(f), Ok(vec![f, h, g]));
            assert_eq!(table.aliases(g), Ok(vec![h]));
        }
    });
    assert!(done.load(Ordering::Acquire));
}

#[test]
fn try_resolve_and_target_list_the_edges_they_report() {
    let table = AliasTable::new();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| [(); 3].map(|()| table.register().unwrap()))
        .collect();
    thread::scope(|s| {
        s.spawn(|| {
            for &[h, g, f] in &tasks {
                table.alias(g, f).unwrap();
                table.add_canonical(f).unwrap();
                table.alias(h, g).unwrap();
            }
        });
        for &[h, g, f] in &tasks {
            while table.target(g).unwrap().is_none() {
                std::hint::spin_loop();
            }
            assert!(
                table.aliases(f).unwrap().contains(&g),
                "target reported g -> f unlisted"
            );
            while table.try_resolve(h).unwrap().is_none() {
                std::hint::spin_loop();
            }
            assert_eq!(table.equivalent(f), Ok(vec![f, h, g]));
        }
    });
}
