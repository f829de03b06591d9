//! fan-in: all threads alias fresh refs to one shared target (one hot
//! reverse-table entry), then `equivalent` on it.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};

use super::{share, sized, thread_counts, timed_on_threads};
use crate::impls::Scheduling;

pub(crate) fn run<I: Scheduling>(group: &mut BenchmarkGroup<'_, WallTime>) {
    // A fixed total shared out among the threads (see `insert`).
    let aliases = sized(200_000, 100);
    // Elements: the aliases (register + alias each); the closing
    // `equivalent` is inside the timed section too.
    group.throughput(Throughput::Elements(aliases as u64));
    for &threads in thread_counts() {
        group.bench_function(BenchmarkId::new(I::NAME, threads), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let table = I::with_capacity(aliases + 1);
                        let target = table.register();
                        table.add_canonical(target);
                        let mut elapsed = timed_on_threads(threads, |thread| {
                            for _ in share(aliases, threads, thread) {
                                let alias = table.register();
                                table.alias(alias, target);
                            }
                        });
                        let closing = std::time::Instant::now();
                        let members = table.equivalent(target);
                        elapsed += closing.elapsed();
                        assert_eq!(members.len(), aliases + 1);
                        elapsed
                    })
                    .sum()
            })
        });
    }
}
