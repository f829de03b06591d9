//! Multi-threaded stress tests: forests of chains and fan-in trees built by
//! calls split across threads in shuffled orders, with blocking and timed
//! resolvers running before and while the calls land; `equivalent` racing
//! inserts; conflicting calls racing; cycles closed by racing calls.
//!
//! The size is `DEFAULT_REFS` refs per run; set `HALO_STRESS_REFS` to run
//! longer, and `HALO_STRESS_SEED` to replay a failing seed (each test prints
//! the seed it used).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::{Config, CONFIGS};
use halo_alias::{AliasError, AliasTable, ObjRef};

/// Refs per run of the main stress test (the other tests scale from it).
const DEFAULT_REFS: usize = 100_000;

/// Thread counts each test runs with.
const THREAD_COUNTS: [usize; 3] = [2, 4, 8];

fn stress_refs() -> usize {
    match std::env::var("HALO_STRESS_REFS") {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("HALO_STRESS_REFS={value:?} is not a number")),
        Err(_) => DEFAULT_REFS,
    }
}

/// A seeded generator; the seed is printed so that a failure can be replayed.
fn rng(test: &str) -> fastrand::Rng {
    let seed = match std::env::var("HALO_STRESS_SEED") {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("HALO_STRESS_SEED={value:?} is not a number")),
        Err(_) => fastrand::u64(..),
    };
    eprintln!("{test}: HALO_STRESS_SEED={seed}");
    fastrand::Rng::with_seed(seed)
}

/// The table configuration for run `run` (one run per thread count) of a
/// test: each test takes its own turn through `CONFIGS`, given as indexes.
fn config_for(run: usize, turn: [usize; 3]) -> &'static Config {
    &CONFIGS[turn[run]]
}

/// Registers `n` refs from `threads` threads at once, and checks that every
/// index `0..n` was handed out exactly once. Tables with an exact limit are
/// filled until `register` refuses.
fn register_concurrently(table: &AliasTable, n: usize, threads: usize, exact: bool) -> Vec<ObjRef> {
    let per_thread = n.div_ceil(threads);
    let mut refs: Vec<ObjRef> = thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut mine = Vec::new();
                    if exact {
                        loop {
                            match table.register() {
                                Ok(r) => mine.push(r),
                                Err(AliasError::CapacityExhausted) => break mine,
                                Err(e) => panic!("register: {e}"),
                            }
                        }
                    } else {
                        let count = per_thread.min(n.saturating_sub(t * per_thread));
                        (0..count).map(|_| table.register().unwrap()).collect()
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    refs.sort_unstable();
    assert_eq!(refs.len(), n);
    for (i, r) in refs.iter().enumerate() {
        assert_eq!(*r, ObjRef::new(i as u32, 0), "index {i} handed out once");
    }
    assert_eq!(table.len(), n);
    refs
}

/// A planned forest. Nodes are numbered so that every node's parent has a
/// smaller number, and each tree's nodes are consecutive, root first.
#[derive(Debug, Default)]
struct Forest {
    /// The final edge of each node (`None` for a root).
    parent: Vec<Option<usize>>,
    /// The tree of each node.
    tree: Vec<usize>,
    /// Each tree's nodes (root first) and whether its root becomes canonical.
    trees: Vec<(Vec<usize>, bool)>,
}

#[derive(Clone, Copy, Debug)]
enum Shape {
    /// `n0 <- n1 <- n2 <- ...`: h -> g -> f chains.
    Chain,
    /// Every node aliases the root: one target, many aliases.
    Fan,
    /// h -> g -> f chains with extra aliases of their first three refs.
    ChainsAndFans,
    /// Each node aliases a random earlier node.
    Random,
}

impl Forest {
    fn add_tree(&mut self, rng: &mut fastrand::Rng, shape: Shape, size: usize, canonical: bool) {
        let root = self.parent.len();
        let id = self.trees.len();
        for j in 0..size {
            let parent = match (j, shape) {
                (0, _) => None,
                (_, Shape::Chain) => Some(j - 1),
                (_, Shape::Fan) => Some(0),
                (_, Shape::ChainsAndFans) if rng.bool() => Some(j - 1),
                (_, Shape::ChainsAndFans) => Some(rng.usize(..j.min(3))),
                (_, Shape::Random) => Some(rng.usize(..j)),
            };
            self.parent.push(parent.map(|p| root + p));
            self.tree.push(id);
        }
        self.trees.push(((root..root + size).collect(), canonical));
    }

    /// Many small trees of every shape, plus a long chain and a wide fan,
    /// `n` nodes in all. One tree in ten stays open (no canonical ref).
    fn generate(rng: &mut fastrand::Rng, n: usize) -> Forest {
        let mut forest = Forest::default();
        let big = (n / 50).clamp(1, 2000);
        if n >= 4 * big {
            forest.add_tree(rng, Shape::Chain, big, true);
            forest.add_tree(rng, Shape::Fan, big, true);
        }
        let shapes = [
            Shape::Chain,
            Shape::Fan,
            Shape::ChainsAndFans,
            Shape::Random,
        ];
        while forest.parent.len() < n {
            let size = rng.usize(1..=12).min(n - forest.parent.len());
            let shape = shapes[rng.usize(..shapes.len())];
            let canonical = rng.usize(..10) != 0;
            forest.add_tree(rng, shape, size, canonical);
        }
        forest
    }

    fn root(&self, node: usize) -> usize {
        self.trees[self.tree[node]].0[0]
    }

    fn canonical(&self, node: usize) -> bool {
        self.trees[self.tree[node]].1
    }

    /// Whether `ancestor` is `node` or on its final path.
    fn leads_to(&self, mut node: usize, ancestor: usize) -> bool {
        loop {
            if node == ancestor {
                return true;
            }
            match self.parent[node] {
                Some(p) => node = p,
                None => return false,
            }
        }
    }

    /// The calls that build the forest: one per alias and canonical root.
    fn calls(&self) -> Vec<Call> {
        let mut calls = Vec::with_capacity(self.parent.len());
        for (node, parent) in self.parent.iter().enumerate() {
            match parent {
                Some(p) => calls.push(Call::Alias(node, *p)),
                None if self.canonical(node) => calls.push(Call::Canonical(node)),
                None => {}
            }
        }
        calls
    }
}

/// A scheduler call between forest nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Alias(usize, usize),
    Canonical(usize),
}

impl Call {
    fn apply(self, table: &AliasTable, refs: &[ObjRef]) -> Result<(), AliasError> {
        match self {
            Call::Alias(a, t) => table.alias(refs[a], refs[t]),
            Call::Canonical(c) => table.add_canonical(refs[c]),
        }
    }
}

/// Checks `equivalent(refs[node])` taken while the forest was being built:
/// sorted, `node` included, the root on `node`'s final path, and nothing
/// outside `node`'s tree.
fn check_partial_equivalent(
    forest: &Forest,
    refs: &[ObjRef],
    node_of: &[usize],
    node: usize,
    got: &[ObjRef],
) {
    let r = refs[node];
    let (root, members) = got.split_first().expect("equivalent is never empty");
    let root_node = node_of[root.index() as usize];
    assert!(
        forest.leads_to(node, root_node),
        "equivalent({r}): root {root} is not on its path"
    );
    assert!(
        members.windows(2).all(|w| w[0] < w[1]),
        "equivalent({r}) unsorted: {got:?}"
    );
    assert!(
        !members.contains(root),
        "equivalent({r}) lists its root twice"
    );
    assert!(
        root == &r || members.contains(&r),
        "equivalent({r}) lacks {r}"
    );
    let tree = forest.tree[node];
    for m in got {
        assert_eq!(
            forest.tree[node_of[m.index() as usize]],
            tree,
            "equivalent({r}) holds {m} of another tree"
        );
    }
}

/// Checks the finished forest, answer by answer.
fn check_forest(table: &AliasTable, forest: &Forest, refs: &[ObjRef], rng: &mut fastrand::Rng) {
    assert_eq!(table.len(), refs.len());
    let mut children = vec![Vec::new(); refs.len()];
    for (node, parent) in forest.parent.iter().enumerate() {
        if let Some(p) = parent {
            children[*p].push(refs[node]);
        }
    }
    for (nodes, canonical) in &forest.trees {
        let root = refs[nodes[0]];
        let mut equivalent: Vec<ObjRef> = nodes[1..].iter().map(|&n| refs[n]).collect();
        equivalent.sort_unstable();
        equivalent.insert(0, root);
        // Every member of small trees; a sample of the big ones.
        let sample: Vec<usize> = if nodes.len() <= 64 {
            nodes.clone()
        } else {
            (0..64).map(|_| nodes[rng.usize(..nodes.len())]).collect()
        };
        for &node in nodes {
            let r = refs[node];
            let expected_target = match forest.parent[node] {
                Some(p) => Some(refs[p]),
                None if *canonical => Some(r),
                None => None,
            };
            assert_eq!(table.target(r), Ok(expected_target), "target({r})");
            let mut aliases = children[node].clone();
            aliases.sort_unstable();
            assert_eq!(table.aliases(r), Ok(aliases), "aliases({r})");
            assert_eq!(table.is_canonical(r), Ok(*canonical && node == nodes[0]));
            let resolved = canonical.then_some(root);
            assert_eq!(table.try_resolve(r), Ok(resolved), "try_resolve({r})");
            if let Some(root) = resolved {
                assert_eq!(table.resolve(r), Ok(root), "resolve({r})");
            }
        }
        for node in sample {
            let r = refs[node];
            assert_eq!(
                table.equivalent(r).as_ref(),
                Ok(&equivalent),
                "equivalent({r})"
            );
        }
    }
}

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
        let mut node_of = vec![0; n];
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

/// Spins until `condition` holds. Spinning (rather than yielding at once)
/// keeps both racing threads on a CPU so that their calls can overlap; a
/// yield now and then keeps a waiter from starving the thread it waits for.
fn wait_until(condition: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !condition() {
        spins = spins.wrapping_add(1);
        if spins % (1 << 14) == 0 {
            thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Busy-waits for about `iterations` spin-loop hints.
fn spin(iterations: u32) {
    for _ in 0..iterations {
        std::hint::spin_loop();
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

/// Runs its closure when dropped, also while unwinding from a failed check.
struct Finally<F: FnMut()>(F);

impl<F: FnMut()> Drop for Finally<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}
