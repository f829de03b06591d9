//! resolve: read-mostly resolution of completed chains of length 1, 16 and
//! 1024, heads picked at random by every thread.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};

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
    let (table, heads, canonicals) = chains::<I>(length);
    for &head in &heads {
        // The first resolution may compress the path: not what is measured.
        table.resolve(head);
    }
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
    // Keep every implementation honest about what it returns (Floor and
    // UfRush answer something else by design).
    if I::NAME == "AliasTable" || I::NAME == "TwoMutex" {
        assert_eq!(table.resolve(heads[0]), canonicals[0]);
    }
}

/// Completed chains of `length` edges filling `REFS` refs: heads and
/// their canonical refs.
fn chains<I: Aliasing>(length: usize) -> (I, Vec<u32>, Vec<u32>) {
    let table = I::with_capacity(REFS + length + 1);
    let (mut heads, mut canonicals) = (Vec::new(), Vec::new());
    while heads.len() * (length + 1) < REFS.max(length + 1) {
        let refs: Vec<u32> = (0..=length).map(|_| table.register()).collect();
        for pair in refs.windows(2) {
            table.alias(pair[0], pair[1]);
        }
        table.add_canonical(refs[length]);
        heads.push(refs[0]);
        canonicals.push(refs[length]);
    }
    (table, heads, canonicals)
}
