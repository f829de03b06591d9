//! Multi-threaded stress tests of `equivalent` racing inserts: every alias
//! whose call returned before `equivalent` began is included, also while
//! the alias of the very ref asked about is in flight
//! (`equivalent_during_alias_of_its_ref*`).
//!
//! The size scales from `DEFAULT_REFS` (in `tests/common/stress.rs`); set
//! `HALO_STRESS_REFS` to run longer, and `HALO_STRESS_SEED` to replay a
//! failing seed (each test prints the seed it used), e.g.
//! `HALO_STRESS_REFS=1000000 cargo test --release --test stress_equivalent`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::forest::{check_forest, check_partial_equivalent, Call, Forest, Shape};
use common::stress::{config_for, rng, stress_refs, wait_until, Finally, THREAD_COUNTS};
use halo_alias::{AliasTable, ObjRef};

/// `equivalent` racing inserts: every alias whose `alias` call returned
/// before `equivalent` began (with its whole path to the root) is included,
/// and nothing outside the tree is.
#[test]
fn equivalent_includes_every_returned_alias() {
    const TREES: usize = 4;
    let size = (stress_refs() / 40).max(16);
    let mut rng = rng("equivalent_includes_every_returned_alias");
    for (run, threads) in THREAD_COUNTS.into_iter().enumerate() {
        let config = config_for(run, [1, 3, 5]);
        let n = TREES * size;
        eprintln!(
            "{threads} threads, {TREES} trees of {size} refs, {}",
            config.name
        );
        let table = config.build(n);
        let refs = common::register_n(&table, n);
        let mut forest = Forest::default();
        for shape in [
            Shape::Fan,
            Shape::ChainsAndFans,
            Shape::Random,
            Shape::Chain,
        ] {
            forest.add_tree(&mut rng, shape, size, true);
        }
        let node_of: Vec<usize> = (0..n).collect();
        let mut calls = forest.calls();
        rng.shuffle(&mut calls);
        let per_worker: Vec<Vec<Call>> = calls
            .chunks(calls.len().div_ceil(threads))
            .map(<[Call]>::to_vec)
            .collect();
        // done[x]: alias(x, parent) has returned (Release after the return).
        let done: Vec<AtomicBool> = (0..n).map(|_| AtomicBool::new(false)).collect();
        let workers_left = AtomicUsize::new(per_worker.len());
        let checks = AtomicUsize::new(0);
        let (table, forest, refs, node_of, done, workers_left, checks) = (
            &table,
            &forest,
            &refs,
            &node_of,
            &done,
            &workers_left,
            &checks,
        );
        thread::scope(|s| {
            for checker in 0..2 {
                let mut rng = fastrand::Rng::with_seed(rng.u64(..));
                s.spawn(move || {
                    // Keep checking until the workers are done, then once more.
                    let mut last = false;
                    while !last {
                        last = workers_left.load(Ordering::Acquire) == 0;
                        let tree = rng.usize(..TREES);
                        let nodes = &forest.trees[tree].0;
                        let node = nodes[rng.usize(..nodes.len())];
                        // returned[j]: alias(j, parent) returned before
                        // `equivalent` below begins.
                        let base = nodes[0];
                        let returned: Vec<bool> = nodes
                            .iter()
                            .map(|&j| done[j].load(Ordering::Acquire))
                            .collect();
                        let got = table.equivalent(refs[node]).expect("no cycles");
                        check_partial_equivalent(forest, refs, node_of, node, &got);
                        let (root, members) = (got[0], &got[1..]);
                        let listed =
                            |j: usize| refs[j] == root || members.binary_search(&refs[j]).is_ok();
                        // anchored[j]: j is on `node`'s path up to the root
                        // that `equivalent` found, or j's call returned and
                        // its target is anchored. The result must hold all
                        // of them: the path by the documented guarantee,
                        // the rest as aliases whose calls returned before
                        // the call began, in the root's tree.
                        let mut anchored = vec![false; nodes.len()];
                        let mut at = node;
                        loop {
                            anchored[at - base] = true;
                            match forest.parent[at] {
                                Some(p) if refs[at] != root => at = p,
                                _ => break,
                            }
                        }
                        for &j in nodes {
                            if let Some(p) = forest.parent[j] {
                                anchored[j - base] |= returned[j - base] && anchored[p - base];
                            }
                        }
                        // If every call on node's path returned, the root
                        // found is the tree's root.
                        let complete = {
                            let mut at = node;
                            loop {
                                match forest.parent[at] {
                                    Some(p) if returned[at - base] => at = p,
                                    Some(_) => break false,
                                    None => break true,
                                }
                            }
                        };
                        if complete {
                            assert_eq!(
                                root, refs[base],
                                "checker {checker}: root of {}",
                                refs[node]
                            );
                        }
                        for &j in nodes {
                            assert!(
                                !anchored[j - base] || listed(j),
                                "checker {checker}: equivalent({}) = {got:?} misses {}, \
                                 whose call and path returned before it began",
                                refs[node],
                                refs[j]
                            );
                        }
                        checks.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            for calls in per_worker {
                s.spawn(move || {
                    // Counted out even if it fails, so the checkers stop.
                    let _done = Finally(|| {
                        workers_left.fetch_sub(1, Ordering::Release);
                    });
                    for call in calls {
                        assert_eq!(call.apply(table, refs), Ok(()), "{call:?}");
                        if let Call::Alias(a, _) = call {
                            done[a].store(true, Ordering::Release);
                        }
                    }
                });
            }
        });
        assert!(checks.load(Ordering::Relaxed) >= 2);
        check_forest(table, forest, refs, &mut rng);
    }
}

/// `equivalent(g)` while `alias(g, f)` is in flight, where `x -> g` was set
/// (and its call returned) before: the result holds `g`'s own path and
/// everything hanging from it, so `x` too, whether or not `g` is listed
/// under `f` yet.
///
/// Each worker has a checker that waits for `g`'s edge to appear and then
/// calls `equivalent(g)` at once, and resolvers asleep on `g` (in
/// `resolve(x)`), so that the worker's `alias(g, f)` makes a wake syscall
/// between setting the edge and listing `g` under `f`, which widens the
/// window the checker aims at.
#[test]
fn equivalent_during_alias_of_its_ref() {
    const SLEEPERS: usize = 4;
    let rounds = (stress_refs() / 2500).max(20);
    let mut rng = rng("equivalent_during_alias_of_its_ref");
    for (run, threads) in THREAD_COUNTS.into_iter().enumerate() {
        let config = config_for(run, [0, 2, 3]);
        let teams = (threads / 2).max(1);
        eprintln!(
            "{teams} workers with a checker and {SLEEPERS} resolvers each, {rounds} rounds, {}",
            config.name
        );
        let table = config.build(3 * rounds);
        // Per round: f (canonical), g, x with x -> g.
        let triples: Vec<[ObjRef; 3]> = (0..rounds)
            .map(|_| {
                let [f, g, x] = [(); 3].map(|()| table.register().unwrap());
                table.alias(x, g).unwrap();
                table.add_canonical(f).unwrap();
                [f, g, x]
            })
            .collect();
        let mut order: Vec<usize> = (0..rounds).collect();
        rng.shuffle(&mut order);
        let checks = AtomicUsize::new(0);
        let (table, triples, checks) = (&table, &triples, &checks);
        thread::scope(|s| {
            for rounds in order.chunks(rounds.div_ceil(teams)) {
                let team =
                    s.spawn(move || team_round_trip(table, triples, rounds, SLEEPERS, checks));
                drop(team);
            }
        });
        let checks = checks.load(Ordering::Relaxed);
        eprintln!("{checks} checks");
        assert!(checks > 0);
    }
}

/// One team of `equivalent_during_alias_of_its_ref`: a worker (this
/// thread), its checker and its sleeping resolvers, through `rounds`.
fn team_round_trip(
    table: &AliasTable,
    triples: &[[ObjRef; 3]],
    rounds: &[usize],
    sleepers: usize,
    checks: &AtomicUsize,
) {
    const IDLE: usize = usize::MAX - 1;
    // The round the worker is at (IDLE before the first, usize::MAX when
    // done), and how many resolvers started and finished, over all rounds.
    let current = AtomicUsize::new(IDLE);
    let (asleep, woken) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let (current, asleep, woken) = (&current, &asleep, &woken);
    thread::scope(|s| {
        for _ in 0..sleepers {
            s.spawn(move || {
                let mut last = IDLE;
                loop {
                    let k = current.load(Ordering::Acquire);
                    if k == usize::MAX {
                        break;
                    }
                    if k == IDLE || k == last {
                        thread::yield_now();
                        continue;
                    }
                    last = k;
                    let [f, _, x] = triples[k];
                    asleep.fetch_add(1, Ordering::AcqRel);
                    assert_eq!(table.resolve(x), Ok(f));
                    woken.fetch_add(1, Ordering::AcqRel);
                }
            });
        }
        s.spawn(move || loop {
            let k = current.load(Ordering::Acquire);
            if k == usize::MAX {
                break;
            }
            if k == IDLE {
                std::hint::spin_loop();
                continue;
            }
            let [f, g, x] = triples[k];
            // Wait for g's edge (or for the worker to move on).
            while table.target(g) == Ok(None) && current.load(Ordering::Acquire) == k {
                std::hint::spin_loop();
            }
            let got = table.equivalent(g).unwrap();
            assert!(
                got == [g, x] || got == [f, g, x],
                "round {k}: equivalent({g}) = {got:?}, but {x} -> {g} returned \
                 before it began (f = {f})"
            );
            checks.fetch_add(1, Ordering::Relaxed);
            // On to the worker's next round.
            while current.load(Ordering::Acquire) == k {
                std::hint::spin_loop();
            }
        });
        // The worker. Marked done even if it fails, so the others stop.
        let _done = Finally(|| current.store(usize::MAX, Ordering::Release));
        for (i, &k) in rounds.iter().enumerate() {
            current.store(k, Ordering::Release);
            // Let the resolvers fall asleep on g (pacing only: the checks
            // hold however the threads interleave).
            wait_until(|| asleep.load(Ordering::Acquire) == (i + 1) * sleepers);
            thread::sleep(Duration::from_micros(50));
            let [f, g, _] = triples[k];
            assert_eq!(table.alias(g, f), Ok(()));
            wait_until(|| woken.load(Ordering::Acquire) == (i + 1) * sleepers);
        }
    });
}

/// The race of `equivalent_during_alias_of_its_ref` without sleepers, many
/// more rounds, and checkers calling `equivalent(g)` on a random worker's
/// current round without waiting for its edge.
#[test]
fn equivalent_during_alias_of_its_ref_random_checks() {
    let rounds = (stress_refs() / 5).max(100);
    let mut rng = rng("equivalent_during_alias_of_its_ref_random_checks");
    for (run, threads) in THREAD_COUNTS.into_iter().enumerate() {
        let config = config_for(run, [0, 2, 3]);
        eprintln!("{threads} threads, {rounds} rounds, {}", config.name);
        let table = config.build(3 * rounds);
        let triples: Vec<[ObjRef; 3]> = (0..rounds)
            .map(|_| {
                let [f, g, x] = [(); 3].map(|()| table.register().unwrap());
                table.alias(x, g).unwrap();
                if rng.bool() {
                    table.add_canonical(f).unwrap();
                }
                [f, g, x]
            })
            .collect();
        let mut order: Vec<usize> = (0..rounds).collect();
        rng.shuffle(&mut order);
        let workers = (threads / 2).max(1);
        let current: Vec<AtomicUsize> = (0..workers).map(|_| AtomicUsize::new(0)).collect();
        let (table, triples, current) = (&table, &triples, &current);
        thread::scope(|s| {
            for (rounds, current) in order.chunks(rounds.div_ceil(workers)).zip(current) {
                s.spawn(move || {
                    let _done = Finally(|| current.store(usize::MAX, Ordering::Release));
                    for &k in rounds {
                        current.store(k, Ordering::Release);
                        let [f, g, _] = triples[k];
                        assert_eq!(table.alias(g, f), Ok(()));
                    }
                });
            }
            for _ in 0..threads - workers {
                let mut rng = fastrand::Rng::with_seed(rng.u64(..));
                s.spawn(move || loop {
                    let live: Vec<usize> = current
                        .iter()
                        .map(|c| c.load(Ordering::Acquire))
                        .filter(|&k| k != usize::MAX)
                        .collect();
                    if live.is_empty() {
                        break;
                    }
                    let k = live[rng.usize(..live.len())];
                    let [f, g, x] = triples[k];
                    let got = table.equivalent(g).unwrap();
                    assert!(
                        got == [g, x] || got == [f, g, x],
                        "round {k}: equivalent({g}) = {got:?}, f = {f}, x = {x}"
                    );
                });
            }
        });
    }
}
