//! Multi-threaded stress test: forests of chains and fan-in trees built by
//! calls split across threads in shuffled orders, with blocking and timed
//! resolvers running before and while the calls land, then checked answer
//! by answer against the planned forest.
//!
//! The size scales from `DEFAULT_REFS` (in `tests/common/stress.rs`); set
//! `HALO_STRESS_REFS` to run longer, and `HALO_STRESS_SEED` to replay a
//! failing seed (each test prints the seed it used), e.g.
//! `HALO_STRESS_REFS=1000000 cargo test --release --test stress_forest`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::forest::{check_forest, check_partial_equivalent, Call, Forest};
use common::stress::{config_for, register_concurrently, rng, stress_refs, Finally, THREAD_COUNTS};
use halo_alias::AliasError;

/// The main stress test: `stress_refs()` refs per thread count, registered
/// concurrently, built into chains and fan-in trees by calls split across
/// threads in shuffled orders (with some repeats), while blocking resolvers
/// wait on refs whose calls have not happened yet and a poller calls
/// `resolve_timeout`, `try_resolve` and `equivalent`. Afterwards every answer
/// is checked against the planned forest.
#[test]
fn forests_built_from_shuffled_calls_across_threads() {
    let n = stress_refs();
    let mut rng = rng("forests_built_from_shuffled_calls_across_threads");
    for (run, threads) in THREAD_COUNTS.into_iter().enumerate() {
        let config = config_for(run, [0, 4, 2]);
        eprintln!("{threads} threads, {n} refs, {}", config.name);
        let table = config.build(n);
        let refs = register_concurrently(&table, n, threads, config.exact_limit);
        let mut refs = refs;
        // Nodes get refs in random order, so edges point both ways in index.
        rng.shuffle(&mut refs);
        // Indexed by index; threads may leave reserved indexes unused, so
        // indexes can reach past `n`.
        let mut node_of = vec![
            0;
            refs.iter()
                .map(|r| r.index() as usize + 1)
                .max()
                .unwrap_or(0)
        ];
        for (node, r) in refs.iter().enumerate() {
            node_of[r.index() as usize] = node;
        }

        let forest = Forest::generate(&mut rng, n);
        let mut calls = forest.calls();
        // Repeats, which may race their originals.
        for _ in 0..calls.len() / 50 {
            let repeat = calls[rng.usize(..calls.len())];
            calls.push(repeat);
        }
        rng.shuffle(&mut calls);
        let per_worker: Vec<Vec<Call>> = calls
            .chunks(calls.len().div_ceil(threads).max(1))
            .map(<[Call]>::to_vec)
            .collect();

        let resolvable: Vec<usize> = (0..n).filter(|&node| forest.canonical(node)).collect();
        let resolvers = (threads / 2).max(1);
        let resolver_samples: Vec<Vec<usize>> = (0..resolvers)
            .map(|_| {
                (0..n / 10 / resolvers)
                    .map(|_| resolvable[rng.usize(..resolvable.len())])
                    .collect()
            })
            .collect();
        let poller_sample: Vec<usize> = (0..n / 100).map(|_| rng.usize(..n)).collect();

        let (table, forest, refs, node_of) = (&table, &forest, &refs, &node_of);
        let workers_left = AtomicUsize::new(per_worker.len());
        let workers_left = &workers_left;
        thread::scope(|s| {
            // Resolvers first, so that they find paths still open.
            for sample in resolver_samples {
                s.spawn(move || {
                    for node in sample {
                        let r = refs[node];
                        assert_eq!(
                            table.resolve(r),
                            Ok(refs[forest.root(node)]),
                            "resolve({r})"
                        );
                    }
                });
            }
            s.spawn(move || {
                for (i, &node) in poller_sample.iter().enumerate() {
                    let r = refs[node];
                    let root = refs[forest.root(node)];
                    let canonical = forest.canonical(node);
                    match table.resolve_timeout(r, Duration::from_micros(20 * (i as u64 % 4))) {
                        Ok(c) => assert!(canonical && c == root, "resolve_timeout({r}) = {c}"),
                        Err(e) => assert_eq!(e, AliasError::Timeout(r)),
                    }
                    match table.try_resolve(r) {
                        Ok(Some(c)) => assert!(canonical && c == root, "try_resolve({r}) = {c}"),
                        Ok(None) => {}
                        Err(e) => panic!("try_resolve({r}): {e}"),
                    }
                    let got = table.equivalent(r).expect("no cycles");
                    check_partial_equivalent(forest, refs, node_of, node, &got);
                }
            });
            for calls in per_worker {
                s.spawn(move || {
                    // A failing worker completes every path on its way
                    // out, so that no resolver waits forever.
                    let _release = Finally(|| {
                        if thread::panicking() {
                            for &r in refs {
                                let _ = table.add_canonical(r);
                            }
                        }
                    });
                    for call in calls {
                        assert_eq!(call.apply(table, refs), Ok(()), "{call:?}");
                    }
                    workers_left.fetch_sub(1, Ordering::Release);
                });
            }
        });
        assert_eq!(workers_left.load(Ordering::Acquire), 0);
        check_forest(table, forest, refs, &mut rng);
    }
}
