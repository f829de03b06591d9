//! resolve, hot set: read-mostly resolution of completed chains of length
//! 1, 16 and 1024, heads picked at random by every thread. Each thread
//! resolves the same 1,000 picks in every iteration, so the refs it touches
//! stay in its core's caches: this measures a table in L1, not memory
//! (`resolve_large` does).

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};

use super::chains::Chains;
use super::{sized, thread_counts, timed_on_threads, Sequence};
use crate::impls::Aliasing;

/// Refs in all chains together (so that every length touches as much memory).
const REFS: usize = 1 << 16;

/// Resolves per thread per iteration: few, because every iteration of a
/// sample runs in the same timed section.
const RESOLVES_PER_THREAD: usize = 1_000;

/// The chain lengths (alias edges from head to canonical) measured.
pub(crate) const LENGTHS: [usize; 3] = [1, 16, 1024];

pub(crate) fn run<I: Aliasing>(group: &mut BenchmarkGroup<'_, WallTime>, length: usize) {
    let resolves_per_thread = sized(RESOLVES_PER_THREAD, 100);
    let chains = Chains::<I>::warmed(REFS, length);
    let (table, heads) = (&chains.table, &chains.heads);
    let picks: Vec<Vec<usize>> = (0..8)
        .map(|thread| {
            let mut sequence = Sequence::new(thread as u64);
            (0..resolves_per_thread)
                .map(|_| sequence.below(heads.len()))
                .collect()
        })
        .collect();
    for &threads in thread_counts() {
        group.throughput(Throughput::Elements((threads * resolves_per_thread) as u64));
        group.bench_function(BenchmarkId::new(I::NAME, threads), |b| {
            // The table is read-only here, so all of criterion's iterations
            // run in one timed section: releasing and joining the threads
            // is paid once, not per iteration.
            b.iter_custom(|iters| {
                timed_on_threads(threads, |thread| {
                    let mut checksum = 0u64;
                    for _ in 0..iters {
                        for &pick in &picks[thread] {
                            checksum += u64::from(table.resolve(heads[pick]));
                        }
                    }
                    std::hint::black_box(checksum);
                })
            })
        });
    }
    chains.check();
}
