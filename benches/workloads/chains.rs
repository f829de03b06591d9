//! Completed chains for the read-only workloads (`resolve_hot` and
//! `resolve_large`), built and warmed before anything is timed.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};

use super::{thread_counts, timed_on_threads, Sequence};
use crate::impls::Aliasing;

/// A table of completed chains whose heads have each been resolved once.
pub(crate) struct Chains<I> {
    /// The table.
    pub(crate) table: I,
    /// Each chain's first ref.
    pub(crate) heads: Vec<u32>,
    /// Each chain's canonical ref, at its head's position.
    pub(crate) canonicals: Vec<u32>,
}

impl<I: Aliasing> Chains<I> {
    /// Completed chains of `length` alias edges filling `refs` refs (at
    /// least one chain), every head then resolved once: the first
    /// resolution may compress the path, which is not what is measured.
    pub(crate) fn warmed(refs: usize, length: usize) -> Self {
        let table = I::with_capacity(refs + length + 1);
        let (mut heads, mut canonicals) = (Vec::new(), Vec::new());
        while heads.len() * (length + 1) < refs.max(length + 1) {
            let chain: Vec<u32> = (0..=length).map(|_| table.register()).collect();
            for pair in chain.windows(2) {
                table.alias(pair[0], pair[1]);
            }
            table.add_canonical(chain[length]);
            heads.push(chain[0]);
            canonicals.push(chain[length]);
        }
        for &head in &heads {
            table.resolve(head);
        }
        Chains {
            table,
            heads,
            canonicals,
        }
    }

    /// Asserts every head's answer, where `resolve` is a real resolver:
    /// keeps the implementations honest about what they return.
    pub(crate) fn check(&self) {
        if I::RESOLVES {
            for (&head, &canonical) in self.heads.iter().zip(&self.canonicals) {
                assert_eq!(self.table.resolve(head), canonical);
            }
        }
    }

    /// For each of `threads` threads, `count` heads picked uniformly at
    /// random with the thread's own seed. Drawn before timing, and heads
    /// rather than positions in `heads`, so that the only reads timed are
    /// the table's.
    pub(crate) fn random_heads(&self, threads: usize, count: usize) -> Vec<Vec<u32>> {
        (0..threads)
            .map(|thread| {
                let mut sequence = Sequence::new(thread as u64);
                (0..count)
                    .map(|_| self.heads[sequence.below(self.heads.len())])
                    .collect()
            })
            .collect()
    }

    /// One benchmark per thread count: each thread resolves its own list
    /// of `probes`. The table is read-only here, so all of a sample's
    /// iterations run in one timed section: releasing and joining the
    /// threads is paid once, not per iteration.
    pub(crate) fn bench_resolves(
        &self,
        group: &mut BenchmarkGroup<'_, WallTime>,
        probes: &[Vec<u32>],
    ) {
        for &threads in thread_counts() {
            let per_thread = probes[0].len();
            group.throughput(Throughput::Elements((threads * per_thread) as u64));
            group.bench_function(BenchmarkId::new(I::NAME, threads), |b| {
                b.iter_custom(|iters| {
                    timed_on_threads(threads, |thread| {
                        let mut checksum = 0u64;
                        for _ in 0..iters {
                            for &head in &probes[thread] {
                                checksum += u64::from(self.table.resolve(head));
                            }
                        }
                        std::hint::black_box(checksum);
                    })
                })
            });
        }
    }
}
