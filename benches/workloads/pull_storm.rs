//! pull-storm: many pulls waiting on unresolved refs, completed in bulk,
//! as a scheduler sees when a wave of tasks returns. The table is built
//! first (untimed): `chains` chains `h -> g -> ?`, `f` registered but not
//! stored. Timed, on every thread: register `WAITERS_PER_CHAIN`
//! callbacks per chain of the thread's share (on `h` and on `g`), then, after
//! a barrier, complete the *next* thread's share (`alias(g, f)`, which
//! moves the waiters to `f`, then `add_canonical(f)`, which runs them).
//! Every callback bumps a shared counter; the run checks that each ran
//! once. Two shapes: waiters spread over 100k chains (tables larger than
//! the caches), and all on one chain (one hot ref).
//!
//! Against `AliasTable::on_resolved`: `TwoMutexCallbacks`, the two-mutex
//! design with a `Vec` of boxed callbacks per open end, what a scheduler
//! author writes: registration walks under the target lock and pushes onto
//! the open end's `Vec`; `alias` moves the alias's `Vec` onto the new open
//! end (or takes it, if the path is complete); `add_canonical` takes it;
//! the taken callbacks run after the lock is dropped.

use std::mem;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};

use super::{share, sized, thread_counts, timed_on_threads};
use crate::impls::{walk, OPEN};

/// Waiters registered per chain: one on `h`, one on `g`.
pub(crate) const WAITERS_PER_CHAIN: usize = 2;

/// A boxed callback, as both designs store one.
type Callback = Box<dyn FnOnce(u32) + Send>;

/// What the pull storm needs.
pub(crate) trait Listening: Send + Sync {
    const NAME: &'static str;
    type Ref: Copy + Send + Sync;
    fn new(refs: usize) -> Self;
    fn register(&self) -> Self::Ref;
    fn alias(&self, alias: Self::Ref, target: Self::Ref);
    fn add_canonical(&self, r: Self::Ref);
    /// Runs `f` once `r`'s canonical ref is known.
    fn on_resolved(&self, r: Self::Ref, f: impl FnOnce() + Send + 'static);
}

/// The two shapes: spread over many chains, or all on one.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    Spread,
    OneRef,
}

impl Shape {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Shape::Spread => "pull-storm",
            Shape::OneRef => "pull-storm-one-ref",
        }
    }
}

pub(crate) fn run<I: Listening>(group: &mut BenchmarkGroup<'_, WallTime>, shape: Shape) {
    let waiters = sized(200_000, 200);
    let chains = match shape {
        Shape::Spread => waiters / WAITERS_PER_CHAIN,
        Shape::OneRef => 1,
    };
    group.throughput(Throughput::Elements(waiters as u64));
    for &threads in thread_counts() {
        group.bench_function(BenchmarkId::new(I::NAME, threads), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| storm::<I>(chains, waiters, threads))
                    .sum()
            })
        });
    }
}

fn storm<I: Listening>(chains: usize, waiters: usize, threads: usize) -> std::time::Duration {
    let table = I::new(3 * chains);
    let refs: Vec<[I::Ref; 3]> = (0..chains)
        .map(|_| {
            let [h, g, f] = [(); 3].map(|()| table.register());
            table.alias(h, g);
            [h, g, f]
        })
        .collect();
    let ran = Arc::new(AtomicUsize::new(0));
    let halfway = Barrier::new(threads);
    let elapsed = timed_on_threads(threads, |thread| {
        // Waiter `w` goes on chain `w % chains`, alternately on h and g.
        for w in share(waiters, threads, thread) {
            let [h, g, _] = refs[w % chains];
            let ran = Arc::clone(&ran);
            let on = if (w / chains).is_multiple_of(2) { h } else { g };
            // Relaxed: counted, and read after the threads are joined.
            table.on_resolved(on, move || {
                ran.fetch_add(1, Ordering::Relaxed);
            });
        }
        halfway.wait();
        let next = (thread + 1) % threads;
        for chain in share(chains, threads, next) {
            let [_, g, f] = refs[chain];
            table.alias(g, f);
            table.add_canonical(f);
        }
    });
    assert_eq!(
        ran.load(Ordering::Relaxed),
        waiters,
        "{}: each waiter ran once",
        I::NAME
    );
    elapsed
}

/// `AliasTable::on_resolved`.
pub(crate) struct HaloListening(halo_alias::AliasTable);

impl Listening for HaloListening {
    const NAME: &'static str = "AliasTable";
    type Ref = halo_alias::ObjRef;

    fn new(refs: usize) -> Self {
        HaloListening(halo_alias::AliasTable::with_capacity(refs))
    }

    fn register(&self) -> Self::Ref {
        self.0.register().unwrap()
    }

    fn alias(&self, alias: Self::Ref, target: Self::Ref) {
        self.0.alias(alias, target).unwrap();
    }

    fn add_canonical(&self, r: Self::Ref) {
        self.0.add_canonical(r).unwrap();
    }

    fn on_resolved(&self, r: Self::Ref, f: impl FnOnce() + Send + 'static) {
        self.0
            .on_resolved(r, move |answer| {
                answer.unwrap();
                f();
            })
            .unwrap();
    }
}

/// Two mutexes and a `Vec` of callbacks per open end.
pub(crate) struct TwoMutexCallbacks {
    targets: Mutex<Targets>,
    reverse: Mutex<Vec<Vec<u32>>>,
}

struct Targets {
    edges: Vec<u32>,
    /// The callbacks waiting on each open end.
    callbacks: Vec<Vec<Callback>>,
}

impl TwoMutexCallbacks {
    /// Sets `r`'s edge; returns the callbacks that are now due (with the
    /// canonical ref), moving the rest onto the new open end.
    fn set(&self, r: u32, target: u32) -> Option<(u32, Vec<Callback>)> {
        let mut targets = self.targets.lock().unwrap();
        targets.edges[r as usize] = target;
        if target != r {
            self.reverse.lock().unwrap()[target as usize].push(r);
        }
        let waiting = mem::take(&mut targets.callbacks[r as usize]);
        if waiting.is_empty() {
            return None;
        }
        match walk(r, |at| targets.edges[at as usize]) {
            Ok(canonical) => Some((canonical, waiting)),
            Err(open) => {
                let open = &mut targets.callbacks[open as usize];
                if open.is_empty() {
                    *open = waiting;
                } else {
                    open.extend(waiting);
                }
                None
            }
        }
    }

    fn run_due(due: Option<(u32, Vec<Callback>)>) {
        if let Some((canonical, callbacks)) = due {
            for callback in callbacks {
                callback(canonical);
            }
        }
    }
}

impl Listening for TwoMutexCallbacks {
    const NAME: &'static str = "TwoMutexCallbacks";
    type Ref = u32;

    fn new(refs: usize) -> Self {
        TwoMutexCallbacks {
            targets: Mutex::new(Targets {
                edges: Vec::with_capacity(refs),
                callbacks: Vec::with_capacity(refs),
            }),
            reverse: Mutex::new(Vec::with_capacity(refs)),
        }
    }

    fn register(&self) -> u32 {
        let mut targets = self.targets.lock().unwrap();
        let index = targets.edges.len() as u32;
        targets.edges.push(OPEN);
        targets.callbacks.push(Vec::new());
        self.reverse.lock().unwrap().push(Vec::new());
        index
    }

    fn alias(&self, alias: u32, target: u32) {
        Self::run_due(self.set(alias, target));
    }

    fn add_canonical(&self, r: u32) {
        Self::run_due(self.set(r, r));
    }

    fn on_resolved(&self, r: u32, f: impl FnOnce() + Send + 'static) {
        let mut targets = self.targets.lock().unwrap();
        match walk(r, |at| targets.edges[at as usize]) {
            Ok(_) => {
                drop(targets);
                f();
            }
            Err(open) => targets.callbacks[open as usize].push(Box::new(move |_| f())),
        }
    }
}
