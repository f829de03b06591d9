//! insert: every thread registers refs and builds chains of length 4
//! (3 `alias` + 1 `add_canonical`) in shuffled call order. The tasks are a
//! fixed total shared out among the threads, so that every thread count
//! does the same work and the timed section is long next to the cost of
//! releasing and joining the threads.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};

use super::{share, sized, thread_counts, timed_on_threads, Sequence};
use crate::impls::Aliasing;

/// Chain refs per task: `r0 -> r1 -> r2 -> r3` (canonical).
const REFS: usize = 4;
/// Operations per task: 4 `register` + 3 `alias` + 1 `add_canonical`.
pub(crate) const OPS_PER_TASK: usize = 8;

pub(crate) fn run<I: Aliasing>(group: &mut BenchmarkGroup<'_, WallTime>) {
    let tasks = sized(128_000, 100);
    let orders = call_orders(tasks);
    group.throughput(Throughput::Elements((tasks * OPS_PER_TASK) as u64));
    for &threads in thread_counts() {
        group.bench_function(BenchmarkId::new(I::NAME, threads), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let table = I::with_capacity(tasks * REFS);
                        timed_on_threads(threads, |thread| {
                            for order in &orders[share(tasks, threads, thread)] {
                                let refs = [(); REFS].map(|()| table.register());
                                for &call in order {
                                    match call {
                                        3 => table.add_canonical(refs[3]),
                                        link => table.alias(refs[link], refs[link + 1]),
                                    }
                                }
                            }
                        })
                    })
                    .sum()
            })
        });
    }
}

/// Per task, the four calls in a shuffled order: `0..3` is
/// `alias(r[i], r[i + 1])`, `3` is `add_canonical(r[3])`.
fn call_orders(tasks: usize) -> Vec<[usize; REFS]> {
    let mut sequence = Sequence::new(4);
    (0..tasks)
        .map(|_| {
            let mut order = [0, 1, 2, 3];
            sequence.shuffle(&mut order);
            order
        })
        .collect()
}
