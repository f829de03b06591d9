//! Multi-threaded stress test of conflicting calls for one ref (`alias` to
//! different targets, `add_canonical`, and repeats) racing from different
//! threads: exactly one edge wins, and every other call names it.
//!
//! The size scales from `DEFAULT_REFS` (in `tests/common/stress.rs`); set
//! `HALO_STRESS_REFS` to run longer, and `HALO_STRESS_SEED` to replay a
//! failing seed (each test prints the seed it used), e.g.
//! `HALO_STRESS_REFS=1000000 cargo test --release --test stress_conflicts`.

mod common;

use std::thread;

use common::stress::{config_for, rng, stress_refs, THREAD_COUNTS};
use halo_alias::{AliasError, ObjRef};

/// Conflicting calls for one ref (`alias(a, b)`, `alias(a, c)`,
/// `add_canonical(a)`, and repeats of them) race from different threads:
/// exactly one edge takes effect, its calls return `Ok`, every other call
/// returns the error naming the edge that won.
#[test]
fn conflicting_calls_exactly_one_wins() {
    let subjects = (stress_refs() / 10).max(8);
    let mut rng = rng("conflicting_calls_exactly_one_wins");
    for (run, threads) in THREAD_COUNTS.into_iter().enumerate() {
        let config = config_for(run, [2, 4, 0]);
        let pool_size = 16;
        let n = subjects + pool_size;
        eprintln!(
            "{threads} threads, {subjects} contested refs, {}",
            config.name
        );
        let table = config.build(n);
        let refs = common::register_n(&table, n);
        let (pool, subjects) = refs.split_at(pool_size);
        for &p in pool {
            table.add_canonical(p).unwrap();
        }
        // Each subject's contenders, each on its own thread.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Contender {
            Alias(ObjRef, ObjRef),
            Canonical(ObjRef),
        }
        let mut per_thread: Vec<Vec<(usize, Contender)>> = vec![Vec::new(); threads];
        for (i, &s) in subjects.iter().enumerate() {
            let mut contenders = vec![
                Contender::Alias(s, pool[rng.usize(..pool_size)]),
                Contender::Alias(s, pool[rng.usize(..pool_size)]),
                Contender::Canonical(s),
            ];
            rng.shuffle(&mut contenders);
            contenders.truncate(rng.usize(2..=3));
            if rng.bool() {
                contenders.push(contenders[0]); // a twin
            }
            let first = rng.usize(..threads);
            for (k, c) in contenders.into_iter().enumerate() {
                per_thread[(first + k) % threads].push((i, c));
            }
        }
        for calls in &mut per_thread {
            rng.shuffle(calls);
        }
        let resolver_sample: Vec<usize> = (0..subjects.len().min(5000))
            .map(|_| rng.usize(..subjects.len()))
            .collect();
        let table = &table;
        let (results, resolved) = thread::scope(|s| {
            let resolver = s.spawn(|| {
                resolver_sample
                    .iter()
                    .map(|&i| (i, table.resolve(subjects[i])))
                    .collect::<Vec<_>>()
            });
            let workers: Vec<_> = per_thread
                .into_iter()
                .map(|calls| {
                    s.spawn(move || {
                        calls
                            .into_iter()
                            .map(|(i, c)| {
                                let result = match c {
                                    Contender::Alias(a, t) => table.alias(a, t),
                                    Contender::Canonical(a) => table.add_canonical(a),
                                };
                                (i, c, result)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let results: Vec<_> = workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect();
            (results, resolver.join().unwrap())
        });
        let mut oks = vec![0usize; subjects.len()];
        let mut expected_aliases = vec![Vec::new(); pool_size];
        for &s in subjects {
            match table.target(s).unwrap() {
                Some(t) if t == s => {}
                Some(t) => expected_aliases[t.index() as usize].push(s),
                None => panic!("{s} was left open"),
            }
        }
        for (i, contender, result) in results {
            let s = subjects[i];
            let won = table.target(s).unwrap().unwrap();
            let expected = match contender {
                Contender::Alias(_, t) if t == won => Ok(()),
                Contender::Canonical(_) if won == s => Ok(()),
                Contender::Alias(..) if won == s => Err(AliasError::AlreadyCanonical(s)),
                _ => Err(AliasError::AlreadyAliased {
                    alias: s,
                    existing: won,
                }),
            };
            assert_eq!(result, expected, "{contender:?} with {s} -> {won}");
            oks[i] += usize::from(result.is_ok());
        }
        assert!(
            oks.iter().all(|&ok| ok >= 1),
            "every contested ref got an edge by some call"
        );
        for (i, result) in resolved {
            let s = subjects[i];
            assert_eq!(
                result,
                Ok(table.target(s).unwrap().unwrap()),
                "resolve({s})"
            );
        }
        for (p, expected) in pool.iter().zip(expected_aliases) {
            assert_eq!(table.aliases(*p), Ok(expected));
        }
    }
}
