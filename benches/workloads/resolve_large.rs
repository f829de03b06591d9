//! resolve, large table: 512 Ki completed chains of one alias and its
//! canonical ref (1 Mi refs; 4 MiB even for `Floor`, the smallest table,
//! twice the 2 MiB L2 per core of the machine in `BENCHMARKS.md`), every
//! head resolved once before timing. Each thread probes heads uniformly at
//! random over all chains, in its own order (its own seed), so that most
//! resolves miss the core's caches: the counterpart of `resolve_hot` for a
//! table that lives in memory.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};

use super::chains::Chains;
use super::{sized, thread_counts, timed_on_threads, Sequence};
use crate::impls::Aliasing;

/// Chains of one alias edge, two refs each.
const CHAINS: usize = 1 << 19;

/// Probes per thread per iteration: many, so that even a sample of one
/// iteration is a timed section of milliseconds (about 2 ms for `Floor`,
/// the fastest, at one thread).
const PROBES_PER_THREAD: usize = 1 << 20;

pub(crate) fn run<I: Aliasing>(group: &mut BenchmarkGroup<'_, WallTime>) {
    let probes_per_thread = sized(PROBES_PER_THREAD, 100);
    let chains = Chains::<I>::warmed(2 * sized(CHAINS, 512), 1);
    let table = &chains.table;
    let most_threads = thread_counts().iter().copied().max().unwrap_or(1);
    // Drawn here, so that generating random numbers is not timed; the heads
    // themselves, not positions in `heads`, so that the only random reads
    // timed are the table's.
    let probes: Vec<Vec<u32>> = (0..most_threads)
        .map(|thread| {
            let mut sequence = Sequence::new(thread as u64);
            (0..probes_per_thread)
                .map(|_| chains.heads[sequence.below(chains.heads.len())])
                .collect()
        })
        .collect();
    for &threads in thread_counts() {
        group.throughput(Throughput::Elements((threads * probes_per_thread) as u64));
        group.bench_function(BenchmarkId::new(I::NAME, threads), |b| {
            // Read-only, so all of a sample's iterations share one timed
            // section, as in `resolve_hot`.
            b.iter_custom(|iters| {
                timed_on_threads(threads, |thread| {
                    let mut checksum = 0u64;
                    for _ in 0..iters {
                        for &head in &probes[thread] {
                            checksum += u64::from(table.resolve(head));
                        }
                    }
                    std::hint::black_box(checksum);
                })
            })
        });
    }
    chains.check();
}
