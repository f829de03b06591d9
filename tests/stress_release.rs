//! Multi-threaded stress test of the lifecycle: racing `decref`s (with
//! holders lending their units by `incref`, and the trees' own `alias` and
//! `add_canonical` calls landing meanwhile) release every ref exactly once,
//! each alias before its target and each tree's `Object` after all its
//! `Alias` reports; and an `incref` racing the last `decref` either keeps
//! the ref alive or gets `StaleRef`, never `Ok` after the release.
//!
//! The size scales from `DEFAULT_REFS` (in `tests/common/stress.rs`); set
//! `HALO_STRESS_REFS` to run longer, and `HALO_STRESS_SEED` to replay a
//! failing seed (each test prints the seed it used), e.g.
//! `HALO_STRESS_REFS=1000000 cargo test --release --test stress_release`.

mod common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::forest::{Forest, Shape};
use common::stress::{rng, spin, stress_refs, wait_until, Finally, THREAD_COUNTS};
use dashmap::DashMap;
use halo_alias::{AliasError, AliasTable, ObjRef, Released};

/// One report, with the log's clock when the handler started and when it
/// was about to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Report {
    released: Released,
    start: u64,
    end: u64,
}

/// Every report, per released ref. Sharded rather than one lock, so that
/// handlers on different threads run side by side, as they would in a
/// scheduler: a report that starts too early is then seen overlapping.
#[derive(Default)]
struct Log {
    reports: DashMap<ObjRef, Vec<Report>>,
    clock: AtomicU64,
}

impl Log {
    /// A table whose handler records into a new log. `Alias` handlers
    /// spin a little (by the ref's index) between their start and end, to
    /// widen the window in which an early `Object` would overlap them.
    fn table(capacity: usize) -> (AliasTable, Arc<Log>) {
        let log = Arc::new(Log::default());
        let recorder = Arc::clone(&log);
        let table = AliasTable::builder()
            .capacity(capacity)
            .on_release(move |released| recorder.record(released))
            .build();
        (table, log)
    }

    fn record(&self, released: Released) {
        // SeqCst: one total order of starts and ends across all threads.
        // An `Object` handler that starts after an `Alias` handler returned
        // (happens-after) takes a later tick.
        let start = self.clock.fetch_add(1, Ordering::SeqCst);
        let r = match released {
            Released::Alias { alias, .. } => {
                spin(alias.index().wrapping_mul(2_654_435_761) >> 26);
                alias
            }
            Released::Object { canonical } => canonical,
            other => panic!("unexpected report {other:?}"),
        };
        let end = self.clock.fetch_add(1, Ordering::SeqCst);
        self.reports.entry(r).or_default().push(Report {
            released,
            start,
            end,
        });
    }

    /// The reports of `r`, in the order they were made.
    fn of(&self, r: ObjRef) -> Vec<Report> {
        self.reports.get(&r).map(|v| v.clone()).unwrap_or_default()
    }

    /// Reports in all.
    fn count(&self) -> usize {
        self.reports.iter().map(|entry| entry.value().len()).sum()
    }
}

/// Asserts that `result` is `Err(StaleRef(r))`.
#[track_caller]
fn assert_stale<T: std::fmt::Debug>(r: ObjRef, call: &str, result: Result<T, AliasError>) {
    assert!(
        matches!(result, Err(AliasError::StaleRef(x)) if x == r),
        "{call}({r}) on a released ref: {result:?}"
    );
}

/// One step of a racing thread. Each job owns what it drops: a holder
/// unit (`Decref`, `Lend`) or, for `Alias`, the task's hold on the target.
#[derive(Clone, Copy, Debug)]
enum Job {
    /// Drops one holder.
    Decref(ObjRef),
    /// A holder lends its unit: `incref` (which must succeed, the unit
    /// keeping the ref alive), then drops both units.
    Lend(ObjRef),
    /// A task's output that is a ref: `alias(c, p)`, then the task drops
    /// the hold it had on its argument `p`.
    Alias(ObjRef, ObjRef),
    /// A task's output stored: `add_canonical(root)`.
    Canonical(ObjRef),
}

impl Job {
    /// Runs the job; every call must succeed. Failures are returned, not
    /// panicked on, so that no thread leaves its barrier partners waiting.
    fn run(self, table: &AliasTable) -> Result<(), String> {
        let step = |call: &str, result: Result<(), AliasError>| {
            result.map_err(|e| format!("{self:?}: {call}: {e:?}"))
        };
        match self {
            Job::Decref(r) => step("decref", table.decref(r)),
            Job::Lend(r) => {
                step("incref", table.incref(r))?;
                step("decref", table.decref(r))?;
                step("decref", table.decref(r))
            }
            Job::Alias(c, p) => {
                step("alias", table.alias(c, p))?;
                step("decref of the argument", table.decref(p))
            }
            Job::Canonical(r) => step("add_canonical", table.add_canonical(r)),
        }
    }
}

/// Small trees of every shape, all canonical, `n` nodes in all.
fn small_trees(rng: &mut fastrand::Rng, n: usize) -> Forest {
    let shapes = [
        Shape::Chain,
        Shape::Fan,
        Shape::ChainsAndFans,
        Shape::Random,
    ];
    let mut forest = Forest::default();
    while forest.parent.len() < n {
        let size = rng.usize(1..=8).min(n - forest.parent.len());
        let shape = shapes[rng.usize(..shapes.len())];
        forest.add_tree(rng, shape, size, true);
    }
    forest
}

/// The main stress test, once per thread count: many small trees (chains,
/// fans, mixed), every ref held one to four times. About half of the
/// trees' edges are set up front; the other half are the pending outputs,
/// whose `alias` / `add_canonical` calls race the `decref`s (a task's
/// `alias(c, p)` holds `p` until it returned). Then every holder is
/// dropped by racing threads, tree window by tree window so that the
/// threads work on the same few trees at once, in random orders.
///
/// Checked afterwards: every ref was reported exactly once, as `Alias`
/// with its direct target or (a root) as `Object`; each alias's report
/// returned before its target's started, and each tree's `Object` started
/// after all its `Alias` reports returned; `len() == 0`; and every call
/// with a released ref returns `StaleRef` and reports nothing.
#[test]
fn racing_decrefs_release_every_ref_exactly_once() {
    let n = (stress_refs() / 2).max(64);
    let mut rng = rng("racing_decrefs_release_every_ref_exactly_once");
    for (run, threads) in THREAD_COUNTS.into_iter().enumerate() {
        let capacity = [0, n, n / 3][run];
        eprintln!("{threads} threads, {n} refs, capacity {capacity}");
        let (table, log) = Log::table(capacity);
        let refs = common::register_n(&table, n);
        let forest = small_trees(&mut rng, n);

        // Set up holders and half of the edges; the rest become jobs. Jobs
        // go into windows of a few trees each, shuffled within the window.
        let mut windows: Vec<Vec<Job>> = Vec::new();
        let mut window = Vec::new();
        for (nodes, _) in &forest.trees {
            for &node in nodes {
                let r = refs[node];
                let extra = rng.usize(0..=3);
                for _ in 0..extra {
                    table.incref(r).unwrap();
                }
                for _ in 0..=extra {
                    window.push(if rng.usize(..4) == 0 {
                        Job::Lend(r)
                    } else {
                        Job::Decref(r)
                    });
                }
                let edge = match forest.parent[node] {
                    Some(p) => Job::Alias(r, refs[p]),
                    None => Job::Canonical(r),
                };
                match edge {
                    Job::Alias(c, p) if rng.bool() => table.alias(c, p).unwrap(),
                    Job::Canonical(c) if rng.bool() => table.add_canonical(c).unwrap(),
                    Job::Alias(_, p) => {
                        // The task's argument, held until its output lands.
                        table.incref(p).unwrap();
                        window.push(edge);
                    }
                    _ => window.push(edge),
                }
            }
            if window.len() >= 6 * threads {
                rng.shuffle(&mut window);
                windows.push(std::mem::take(&mut window));
            }
        }
        rng.shuffle(&mut window);
        windows.push(window);
        assert_eq!(log.count(), 0, "a held ref was released");
        assert_eq!(table.len(), n);

        // Deal each window's jobs round-robin, each with a short jitter.
        let mut per_thread: Vec<Vec<Vec<(Job, u32)>>> = vec![Vec::new(); threads];
        for window in &windows {
            for (t, mine) in per_thread.iter_mut().enumerate() {
                mine.push(
                    window
                        .iter()
                        .skip(t)
                        .step_by(threads)
                        .map(|&job| (job, rng.u32(..16)))
                        .collect(),
                );
            }
        }
        let barrier = Barrier::new(threads);
        let (table, barrier) = (&table, &barrier);
        let failures: Vec<String> = thread::scope(|s| {
            let workers: Vec<_> = per_thread
                .into_iter()
                .map(|windows| {
                    s.spawn(move || {
                        let mut failures = Vec::new();
                        for jobs in windows {
                            barrier.wait();
                            for (job, jitter) in jobs {
                                spin(jitter);
                                if let Err(failure) = job.run(table) {
                                    failures.push(failure);
                                }
                            }
                        }
                        failures
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        assert!(
            failures.is_empty(),
            "{} calls failed, the first: {:?}",
            failures.len(),
            &failures[..failures.len().min(5)]
        );

        // Exactly once, each as what it is.
        let reports: Vec<Report> = refs
            .iter()
            .zip(&forest.parent)
            .map(|(&r, parent)| {
                let reports = log.of(r);
                let expected = match *parent {
                    Some(p) => Released::Alias {
                        alias: r,
                        target: refs[p],
                    },
                    None => Released::Object { canonical: r },
                };
                assert_eq!(
                    reports.len(),
                    1,
                    "{r} reported {} times: {reports:?}",
                    reports.len()
                );
                assert_eq!(reports[0].released, expected);
                reports[0]
            })
            .collect();
        assert_eq!(log.count(), n, "reports of refs never registered");
        // Bottom-up: an alias's report returned before its target's began;
        // and each tree's `Object` began after all its `Alias` reports.
        for (node, parent) in forest.parent.iter().enumerate() {
            if let Some(p) = *parent {
                assert!(
                    reports[node].end < reports[p].start,
                    "{:?} began before {:?} returned",
                    reports[p],
                    reports[node]
                );
            }
        }
        for (nodes, _) in &forest.trees {
            let object = reports[nodes[0]];
            for &node in &nodes[1..] {
                assert!(
                    reports[node].end < object.start,
                    "{object:?} began before {:?} returned",
                    reports[node]
                );
            }
        }
        assert_eq!(table.len(), 0);
        assert!(table.is_empty());

        // Released refs are stale for good, and refusing them reports
        // nothing and changes nothing.
        let fresh = table.register().unwrap();
        for &r in &refs {
            assert_stale(r, "incref", table.incref(r));
            assert_stale(r, "decref", table.decref(r));
            assert_stale(r, "holders", table.holders(r));
            assert_stale(r, "target", table.target(r));
            assert_stale(r, "is_canonical", table.is_canonical(r));
            assert_stale(r, "aliases", table.aliases(r));
            assert_stale(r, "equivalent", table.equivalent(r));
            assert_stale(r, "try_resolve", table.try_resolve(r));
            assert_stale(r, "resolve", table.resolve(r));
            assert_stale(
                r,
                "resolve_timeout",
                table.resolve_timeout(r, Duration::ZERO),
            );
            assert_stale(r, "add_canonical", table.add_canonical(r));
            assert_stale(r, "alias(r, fresh)", table.alias(r, fresh));
            assert_stale(r, "alias(fresh, r)", table.alias(fresh, r));
        }
        assert_eq!(log.count(), n);
        assert_eq!((table.len(), table.target(fresh)), (1, Ok(None)));
        assert_eq!(table.holders(fresh), Ok(1));
        assert_eq!(table.aliases(fresh), Ok(vec![]));
    }
}

/// `incref(r)` races the last `decref(r)`, many times, on a canonical
/// ref or on an alias `r -> f` whose release would release `f` too.
/// Either the `incref` won (`r` is alive, with one holder, nothing was
/// reported, and it is released once its new holder goes) or it got
/// `StaleRef(r)` and `r` was released exactly once: never `Ok` once the
/// release began. Both outcomes must occur.
#[test]
fn incref_racing_the_last_decref() {
    const JITTER: u32 = 256;
    let rounds = (stress_refs() / 20).max(200);
    let mut rng = rng("incref_racing_the_last_decref");
    let (table, log) = Log::table(2 * rounds);
    // Each round's ref, and the canonical ref it aliases (if any), which
    // only its pin keeps alive.
    let plan: Vec<(ObjRef, Option<ObjRef>)> = (0..rounds)
        .map(|_| {
            let r = table.register().unwrap();
            if rng.bool() {
                table.add_canonical(r).unwrap();
                (r, None)
            } else {
                let f = table.register().unwrap();
                table.add_canonical(f).unwrap();
                table.alias(r, f).unwrap();
                table.decref(f).unwrap();
                (r, Some(f))
            }
        })
        .collect();
    assert_eq!(log.count(), 0);
    // Per round, how long each side spins before its call, so that the
    // calls start at varying offsets and often overlap; and whether the
    // `incref` waits until the `decref` is about to start, so that even
    // on a busy machine (the two threads taking turns on one CPU) the
    // race goes both ways.
    let jitter: Vec<([u32; 2], bool)> = (0..rounds)
        .map(|_| ([rng.u32(..JITTER), rng.u32(..JITTER)], rng.usize(..8) == 0))
        .collect();
    let expected = |r: ObjRef, f: Option<ObjRef>| match f {
        Some(f) => [
            Some(Released::Alias {
                alias: r,
                target: f,
            }),
            Some(Released::Object { canonical: f }),
        ],
        None => [Some(Released::Object { canonical: r }), None],
    };

    let ready = AtomicUsize::new(0);
    let go = AtomicUsize::new(0);
    let started = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let (table, log, plan, jitter) = (&table, &log, &plan, &jitter);
    let (ready, go, started, finished) = (&ready, &go, &started, &finished);
    let (mut won, mut lost) = (0, 0);
    let decrefs = thread::scope(|s| {
        // The last holder.
        let last = s.spawn(move || {
            let mut results = Vec::with_capacity(rounds);
            for (k, &(r, _)) in plan.iter().enumerate() {
                ready.store(k + 1, Ordering::Release);
                wait_until(|| go.load(Ordering::Acquire) > k);
                spin(jitter[k].0[0]);
                started.store(k + 1, Ordering::Release);
                results.push(table.decref(r));
                finished.store(k + 1, Ordering::Release);
            }
            results
        });
        // If a check below fails, let the other thread run to its end.
        let _release = Finally(|| {
            if thread::panicking() {
                go.store(usize::MAX, Ordering::Release);
            }
        });
        for (k, &(r, f)) in plan.iter().enumerate() {
            wait_until(|| ready.load(Ordering::Acquire) > k);
            go.store(k + 1, Ordering::Release);
            let ([_, delay], after_start) = jitter[k];
            if after_start {
                wait_until(|| started.load(Ordering::Acquire) > k);
            }
            spin(delay);
            let incref = table.incref(r);
            wait_until(|| finished.load(Ordering::Acquire) > k);
            match incref {
                Ok(()) => {
                    won += 1;
                    assert_eq!(log.of(r), [], "round {k}: incref Ok, yet {r} was released");
                    assert_eq!(table.holders(r), Ok(1), "round {k}");
                    assert_eq!(table.try_resolve(r), Ok(Some(f.unwrap_or(r))));
                    if let Some(f) = f {
                        assert_eq!(log.of(f), [], "round {k}: {f} released under {r}");
                    }
                    table.decref(r).unwrap();
                }
                Err(AliasError::StaleRef(x)) if x == r => lost += 1,
                other => panic!("round {k}: incref({r}) = {other:?}"),
            }
            // Either way `r` is released now, exactly once, and bottom-up.
            let [first, second] = expected(r, f);
            let of_r = log.of(r);
            assert_eq!(
                of_r.iter()
                    .map(|report| Some(report.released))
                    .collect::<Vec<_>>(),
                [first],
                "round {k} (incref {incref:?})"
            );
            if let (Some(f), Some(second)) = (f, second) {
                let of_f = log.of(f);
                assert_eq!(of_f.len(), 1, "round {k}: {of_f:?}");
                assert_eq!(of_f[0].released, second);
                assert!(of_r[0].end < of_f[0].start, "round {k}: {of_r:?} {of_f:?}");
            }
            assert_stale(r, "incref", table.incref(r));
            assert_stale(r, "holders", table.holders(r));
        }
        last.join().unwrap()
    });
    for (k, result) in decrefs.into_iter().enumerate() {
        assert_eq!(result, Ok(()), "round {k}: the last holder's decref");
    }
    eprintln!("{rounds} rounds: incref won {won}, got StaleRef {lost}");
    assert!(
        won > 0 && lost > 0,
        "the race went one way only (won {won}, lost {lost})"
    );
    assert_eq!(table.len(), 0);
    assert_eq!(
        log.count(),
        plan.iter().map(|(_, f)| 1 + usize::from(f.is_some())).sum()
    );
}
