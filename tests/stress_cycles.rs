//! Multi-threaded stress test of racing `alias` calls closing a cycle, with
//! a resolver waiting on a ref that leads into it: at least one call sees
//! the cycle, and a closed cycle is reported and refused everywhere.
//!
//! The size scales from `DEFAULT_REFS` (in `tests/common/stress.rs`); set
//! `HALO_STRESS_REFS` to run longer, and `HALO_STRESS_SEED` to replay a
//! failing seed (each test prints the seed it used), e.g.
//! `HALO_STRESS_REFS=1000000 cargo test --release --test stress_cycles`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::stress::{rng, spin, stress_refs, wait_until, Finally};
use halo_alias::{AliasError, AliasTable, ObjRef};

/// Racing `alias` calls close a cycle: `alias(a, b)`, whose target starts an
/// open chain `b -> ... -> end`, against `alias(end, a)`, with a
/// resolver waiting on `c -> a`. Whichever way the race goes, at least one
/// call returns `Cycle`; if both took effect, every ref on or leading into
/// the cycle answers `Cycle`, the waiting resolver is woken and reports it,
/// and new calls into the cycle are refused with no change.
#[test]
fn racing_calls_closing_a_cycle() {
    const CHAIN: usize = 4;
    const JITTER: u32 = 32;
    let rounds = (stress_refs() / 200).max(10);
    let mut rng = rng("racing_calls_closing_a_cycle");
    let table = AliasTable::with_capacity(rounds * (CHAIN + 3));
    // Per round: a, c -> a, d (for probes), and the chain b = chain[0].
    struct Round {
        a: ObjRef,
        c: ObjRef,
        d: ObjRef,
        chain: Vec<ObjRef>,
    }
    let plan: Vec<Round> = (0..rounds)
        .map(|_| {
            let [a, c, d] = [(); 3].map(|()| table.register().unwrap());
            table.alias(c, a).unwrap();
            let chain: Vec<ObjRef> = (0..CHAIN).map(|_| table.register().unwrap()).collect();
            for pair in chain.windows(2) {
                table.alias(pair[0], pair[1]).unwrap();
            }
            Round { a, c, d, chain }
        })
        .collect();
    // Per round, how long each side spins before its call, so that the
    // two calls start at varying offsets and sometimes overlap.
    let jitter: Vec<[u32; 2]> = (0..rounds)
        .map(|_| [rng.u32(..JITTER), rng.u32(..JITTER)])
        .collect();
    let ready = AtomicUsize::new(0);
    let go = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let (table, plan, jitter) = (&table, &plan, &jitter);
    let (ready, go, finished) = (&ready, &go, &finished);
    let mut cycles = 0;
    let mut outcomes = Vec::with_capacity(rounds);
    let (a_results, resolved) = thread::scope(|s| {
        let resolver = s.spawn(|| {
            plan.iter()
                .map(|round| table.resolve(round.c))
                .collect::<Vec<_>>()
        });
        let closer = s.spawn(|| {
            let mut results = Vec::with_capacity(rounds);
            for (k, round) in plan.iter().enumerate() {
                ready.store(k + 1, Ordering::Release);
                wait_until(|| go.load(Ordering::Acquire) > k);
                spin(jitter[k][0]);
                let result = table.alias(round.a, round.chain[0]);
                // While the other call may still be closing the cycle.
                let equivalent = table.equivalent(round.c);
                results.push((result, equivalent));
                finished.store(k + 1, Ordering::Release);
            }
            results
        });
        // If a check below fails, release the closer and complete every
        // path, so that the scope's threads finish and the failure shows.
        let _release = Finally(|| {
            if thread::panicking() {
                go.store(usize::MAX, Ordering::Release);
                for round in plan {
                    let _ = table.add_canonical(round.a);
                    let _ = table.add_canonical(*round.chain.last().unwrap());
                }
            }
        });
        for (k, round) in plan.iter().enumerate() {
            let (a, c, d, b) = (round.a, round.c, round.d, round.chain[0]);
            let end = *round.chain.last().unwrap();
            wait_until(|| ready.load(Ordering::Acquire) > k);
            go.store(k + 1, Ordering::Release);
            spin(jitter[k][1]);
            let mine = table.alias(end, a);
            wait_until(|| finished.load(Ordering::Acquire) > k);
            let edges = (table.target(a).unwrap(), table.target(end).unwrap());
            match edges {
                (Some(t), None) => {
                    assert_eq!(t, b);
                    assert_eq!(mine, Err(AliasError::Cycle(end)), "round {k}");
                    table.add_canonical(end).unwrap();
                }
                (None, Some(t)) => {
                    assert_eq!(t, a);
                    assert_eq!(mine, Ok(()), "round {k}");
                    table.add_canonical(a).unwrap();
                }
                (Some(t), Some(u)) => {
                    assert_eq!((t, u), (b, a));
                    cycles += 1;
                    assert!(
                        [Ok(()), Err(AliasError::Cycle(end))].contains(&mine),
                        "round {k}: {mine:?}"
                    );
                    for &x in [a, c].iter().chain(&round.chain) {
                        let cycle = Err(AliasError::Cycle(x));
                        assert_eq!(table.try_resolve(x), cycle.map(Some));
                        assert_eq!(table.resolve(x), cycle);
                        assert_eq!(table.resolve_timeout(x, Duration::MAX), cycle);
                        assert_eq!(table.resolve_timeout(x, Duration::ZERO), cycle);
                        assert_eq!(table.equivalent(x), cycle.map(|r| vec![r]));
                    }
                    // New calls into the cycle are refused, naming the target
                    // that leads into it, and change nothing.
                    let local = |x: ObjRef| (table.target(x), table.aliases(x));
                    let watched: Vec<ObjRef> = [a, c, d]
                        .into_iter()
                        .chain(round.chain.iter().copied())
                        .collect();
                    let before: Vec<_> = watched.iter().map(|&x| local(x)).collect();
                    assert_eq!(table.alias(d, a), Err(AliasError::Cycle(a)));
                    assert_eq!(table.alias(d, c), Err(AliasError::Cycle(c)));
                    assert_eq!(table.alias(d, end), Err(AliasError::Cycle(end)));
                    assert_eq!(
                        table.add_canonical(a),
                        Err(AliasError::AlreadyAliased {
                            alias: a,
                            existing: b
                        })
                    );
                    // Repeats of the calls whose edges form the cycle: the
                    // target's path leads back to the alias.
                    assert_eq!(table.alias(a, b), Err(AliasError::Cycle(a)));
                    assert_eq!(table.alias(end, a), Err(AliasError::Cycle(end)));
                    // A repeat of `c -> a`, an edge leading into the cycle
                    // but not on it, is a repeat like any other.
                    assert_eq!(table.alias(c, a), Ok(()), "repeat alias({c}, {a})");
                    let after: Vec<_> = watched.iter().map(|&x| local(x)).collect();
                    assert_eq!(before, after, "round {k}: refused calls changed the cycle");
                }
                (None, None) => panic!("round {k}: neither alias took effect"),
            }
            outcomes.push((edges, mine));
        }
        (closer.join().unwrap(), resolver.join().unwrap())
    });
    for (k, round) in plan.iter().enumerate() {
        let end = *round.chain.last().unwrap();
        let (a, c) = (round.a, round.c);
        let (edges, mine) = outcomes[k];
        let (theirs, equivalent) = &a_results[k];
        let theirs = *theirs;
        // equivalent(c) during the race: a set of this round's refs holding
        // a and c, or the cycle if it was already closed.
        match equivalent {
            Ok(set) => {
                assert!(set.contains(&a) && set.contains(&c), "round {k}: {set:?}");
                let round_refs: Vec<ObjRef> = [a, c]
                    .into_iter()
                    .chain(round.chain.iter().copied())
                    .collect();
                assert!(
                    set.iter().all(|x| round_refs.contains(x)),
                    "round {k}: {set:?}"
                );
            }
            Err(e) => {
                assert_eq!(*e, AliasError::Cycle(c), "round {k}");
                assert!(
                    matches!(edges, (Some(_), Some(_))),
                    "round {k}: no cycle, {e}"
                );
            }
        }
        match edges {
            (Some(_), None) => {
                assert_eq!(theirs, Ok(()), "round {k}");
                assert_eq!(resolved[k], Ok(end), "round {k}");
            }
            (None, Some(_)) => {
                assert_eq!(theirs, Err(AliasError::Cycle(a)), "round {k}");
                assert_eq!(resolved[k], Ok(a), "round {k}");
            }
            _ => {
                // Both edges stayed: at least one of the two calls saw the
                // cycle, and each error names its own alias.
                assert!(
                    [Ok(()), Err(AliasError::Cycle(a))].contains(&theirs),
                    "round {k}"
                );
                assert!(
                    theirs.is_err() || mine.is_err(),
                    "round {k}: both calls closing the cycle returned Ok"
                );
                assert_eq!(resolved[k], Err(AliasError::Cycle(c)), "round {k}");
            }
        }
    }
    eprintln!("{cycles} of {rounds} rounds closed a cycle together");
}
