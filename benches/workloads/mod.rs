//! The workloads, each generic over the implementation, each throughput
//! workload at 1, 2, 4 and 8 threads (`chain_build` runs on one, over chain
//! lengths). Only the contended section is timed: threads are spawned and
//! tables built first, a `Barrier` releases the threads together, and the
//! clock stops when the last one finishes (`iter_custom`).

pub(crate) mod chain_build;
mod chains;
pub(crate) mod churn;
pub(crate) mod fan_in;
pub(crate) mod insert;
pub(crate) mod memory;
pub(crate) mod mix;
pub(crate) mod pull_storm;
pub(crate) mod resolve_hot;
pub(crate) mod resolve_large;
pub(crate) mod wake;

use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

/// Thread counts of every throughput workload. This machine class has two
/// cores: 4 and 8 measure oversubscription, which schedulers live with.
pub(crate) fn thread_counts() -> &'static [usize] {
    if benching() {
        &[1, 2, 4, 8]
    } else {
        &[1, 2]
    }
}

/// `cargo bench` passes `--bench`; under `cargo test` each benchmark runs
/// once as a smoke test, so the workloads shrink.
pub(crate) fn benching() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// `full` when benching, `smoke` under `cargo test`.
pub(crate) fn sized(full: usize, smoke: usize) -> usize {
    if benching() {
        full
    } else {
        smoke
    }
}

/// The share of `total` items that thread `thread` of `threads` takes:
/// every item exactly once, shares differing by at most one.
pub(crate) fn share(total: usize, threads: usize, thread: usize) -> std::ops::Range<usize> {
    let start = |t: usize| total * t / threads;
    start(thread)..start(thread + 1)
}

/// Runs `work(thread)` on `threads` threads released together by a barrier
/// and returns the time until the last one finished.
pub(crate) fn timed_on_threads(threads: usize, work: impl Fn(usize) + Sync) -> Duration {
    let barrier = Barrier::new(threads + 1);
    let (work, barrier) = (&work, &barrier);
    let started = thread::scope(|s| {
        for thread in 0..threads {
            s.spawn(move || {
                barrier.wait();
                work(thread);
            });
        }
        barrier.wait();
        Instant::now()
    });
    started.elapsed()
}

/// A cheap, fixed pseudo-random sequence (splitmix64), so that every
/// implementation sees the same shuffled orders.
pub(crate) struct Sequence(u64);

impl Sequence {
    pub(crate) fn new(seed: u64) -> Self {
        Sequence(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `items` in a random order (Fisher-Yates).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}
