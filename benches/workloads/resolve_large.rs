//! resolve, large table: 512 Ki completed chains of one alias and its
//! canonical ref (1 Mi refs; 4 MiB even for `Floor`, the smallest table,
//! twice the 2 MiB L2 per core of the machine in `BENCHMARKS.md`), every
//! head resolved once before timing. Each thread probes heads uniformly at
//! random over all chains, in its own order (its own seed), so that most
//! resolves miss the core's caches: the counterpart of `resolve_hot` for a
//! table that lives in memory.

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;

use super::chains::Chains;
use super::{sized, thread_counts};
use crate::impls::Aliasing;

/// Chains of one alias edge, two refs each.
const CHAINS: usize = 1 << 19;

/// Probes per thread per iteration: many, so that even a sample of one
/// iteration is a timed section of milliseconds (about 2 ms for `Floor`,
/// the fastest, at one thread).
const PROBES_PER_THREAD: usize = 1 << 20;

pub(crate) fn run<I: Aliasing>(group: &mut BenchmarkGroup<'_, WallTime>) {
    let chains = Chains::<I>::warmed(2 * sized(CHAINS, 512), 1);
    let most_threads = thread_counts().iter().copied().max().unwrap_or(1);
    let probes = chains.random_heads(most_threads, sized(PROBES_PER_THREAD, 100));
    chains.bench_resolves(group, &probes);
    chains.check();
}
