//! The futures on a real runtime: spawned tasks awaiting `resolved_owned`
//! while other threads make the calls, and a `select!` with a timeout in a
//! loop on a ref that never resolves. Not built under `cfg(loom)`.

#![cfg(not(loom))]

use std::sync::Arc;
use std::time::Duration;

use halo_alias::AliasTable;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_pulls_get_the_canonical_ref_whatever_the_order() {
    for round in 0..200 {
        let table = Arc::new(AliasTable::new());
        let [h, g, f] = [(); 3].map(|()| table.register().unwrap());
        let pulls: Vec<_> = [h, g, f, h]
            .into_iter()
            .map(|r| tokio::spawn(Arc::clone(&table).resolved_owned(r)))
            .collect();
        let calls = {
            let table = Arc::clone(&table);
            std::thread::spawn(move || {
                if round % 2 == 0 {
                    table.add_canonical(f).unwrap();
                    table.alias(h, g).unwrap();
                    table.alias(g, f).unwrap();
                } else {
                    table.alias(g, f).unwrap();
                    table.alias(h, g).unwrap();
                    table.add_canonical(f).unwrap();
                }
            })
        };
        for pull in pulls {
            assert_eq!(pull.await.unwrap(), Ok(f), "round {round}");
        }
        calls.join().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_select_in_a_loop_keeps_memory_flat() {
    let table = Arc::new(AliasTable::new());
    let r = table.register().unwrap();
    let mut settled = 0;
    for round in 0..3_000 {
        tokio::select! {
            answer = table.resolved(r) => panic!("never resolves, got {answer:?}"),
            () = tokio::time::sleep(Duration::from_micros(1)) => {}
        }
        if round == 500 {
            settled = table.memory_bytes();
        }
    }
    let after = table.memory_bytes();
    assert!(
        after <= settled + 64 * 128,
        "memory grew from {settled} to {after} bytes"
    );
    // Still answered once it resolves.
    let pull = tokio::spawn(Arc::clone(&table).resolved_owned(r));
    table.add_canonical(r).unwrap();
    assert_eq!(pull.await.unwrap(), Ok(r));
}
