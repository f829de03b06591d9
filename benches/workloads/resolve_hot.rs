//! resolve, hot set: read-mostly resolution of completed chains of length
//! 1, 16 and 1024, heads picked at random by every thread. Each thread
//! resolves the same 1,000 picks in every iteration, so the refs it touches
//! stay in its core's caches: this measures a table in L1, not memory
//! (`resolve_large` does).

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;

use super::chains::Chains;
use super::sized;
use crate::impls::Aliasing;

/// Refs in all chains together (so that every length touches as much memory).
const REFS: usize = 1 << 16;

/// Resolves per thread per iteration: few, because every iteration of a
/// sample runs in the same timed section.
const RESOLVES_PER_THREAD: usize = 1_000;

/// The chain lengths (alias edges from head to canonical) measured.
pub(crate) const LENGTHS: [usize; 3] = [1, 16, 1024];

pub(crate) fn run<I: Aliasing>(group: &mut BenchmarkGroup<'_, WallTime>, length: usize) {
    let chains = Chains::<I>::warmed(REFS, length);
    // The same picks in every iteration: the hot set.
    let picks = chains.random_heads(8, sized(RESOLVES_PER_THREAD, 100));
    chains.bench_resolves(group, &picks);
    chains.check();
}
