//! scheduler mix: per task, register 3 refs, issue the three calls of the
//! h/g/f example in a random order from different threads, resolve `ref_h`
//! (blocking until the calls land), take `equivalent(ref_f)`.
//!
//! Thread `j % threads` owns task `j`: it registers the refs and publishes
//! them, later resolves and takes the equivalent set. The task's calls are
//! made by the next threads round the ring, so with two or more threads
//! the resolver usually waits for calls made elsewhere.

use std::sync::atomic::{AtomicU32, Ordering};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};

use super::{sized, thread_counts, timed_on_threads, Sequence};
use crate::impls::{Scheduling, OPEN};

pub(crate) fn run<I: Scheduling>(group: &mut BenchmarkGroup<'_, WallTime>) {
    // A fixed total shared out among the threads (see `insert`).
    let tasks = sized(40_000, 40);
    let orders = call_orders(tasks);
    group.throughput(Throughput::Elements(tasks as u64));
    for &threads in thread_counts() {
        group.bench_function(BenchmarkId::new(I::NAME, threads), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let table = I::with_capacity(3 * tasks);
                        let published: Vec<[AtomicU32; 3]> = (0..tasks)
                            .map(|_| [(); 3].map(|()| AtomicU32::new(OPEN)))
                            .collect();
                        timed_on_threads(threads, |me| {
                            let owned = (me..tasks).step_by(threads);
                            for task in owned.clone() {
                                for slot in &published[task] {
                                    // Release: hands the ref to the callers' Acquire.
                                    slot.store(table.register(), Ordering::Release);
                                }
                            }
                            for (task, order) in orders.iter().enumerate() {
                                for (position, &call) in order.iter().enumerate() {
                                    if (task + 1 + position) % threads == me {
                                        let [h, g, f] = wait_for_refs(&published[task]);
                                        match call {
                                            0 => table.alias(h, g),
                                            1 => table.alias(g, f),
                                            _ => table.add_canonical(f),
                                        }
                                    }
                                }
                            }
                            for task in owned {
                                let [h, _, f] = wait_for_refs(&published[task]);
                                assert_eq!(table.resolve(h), f);
                                // Not `== 3`: an alias call that woke the
                                // resolver may still be listing its edge.
                                assert!(table.equivalent(f).contains(&f));
                            }
                        })
                    })
                    .sum()
            })
        });
    }
}

/// The task's refs, once its owner has published them.
fn wait_for_refs(slots: &[AtomicU32; 3]) -> [u32; 3] {
    slots.each_ref().map(|slot| loop {
        match slot.load(Ordering::Acquire) {
            OPEN => std::thread::yield_now(),
            r => break r,
        }
    })
}

/// Per task, the three calls in a shuffled order: `0` = `alias(h, g)`,
/// `1` = `alias(g, f)`, `2` = `add_canonical(f)`.
fn call_orders(tasks: usize) -> Vec<[usize; 3]> {
    let mut sequence = Sequence::new(3);
    (0..tasks)
        .map(|_| {
            let mut order = [0, 1, 2];
            sequence.shuffle(&mut order);
            order
        })
        .collect()
}
