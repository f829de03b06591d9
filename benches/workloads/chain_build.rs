//! chain building from the root end: one thread registers refs `x[0..=n]`,
//! then calls `alias(x[n-1], x[n])`, `alias(x[n-2], x[n-1])`, ...,
//! `alias(x[0], x[1])`, so that each new alias's target is the head of an
//! ever longer open path, then `add_canonical(x[n])` and `resolve(x[0])`
//! (checked to be `x[n]` where `resolve` is a real resolver). A table
//! whose `alias` walks the target's open path is quadratic in `n` here.
//!
//! Only the calls are timed, one build per iteration: building the table
//! and registering the refs are not (`insert` measures `register`).
//! `n` is 10,000, 100,000 and 1,000,000; `HALO_CHAIN_BUILD_N`
//! (comma-separated, e.g. `HALO_CHAIN_BUILD_N=10000`) replaces the list
//! when benching, for a table too slow at the larger sizes. Under
//! `cargo test`, n = 100. A sample holds at least one build, so a slow
//! build at 1,000,000 costs ten of them (the suite's ten samples, the
//! fewest criterion takes).

use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};

use super::benching;
use crate::impls::Aliasing;

/// The sizes measured unless `N_VAR` says otherwise.
const N: [usize; 3] = [10_000, 100_000, 1_000_000];

/// The environment variable that replaces `N`.
const N_VAR: &str = "HALO_CHAIN_BUILD_N";

pub(crate) fn run<I: Aliasing>(group: &mut BenchmarkGroup<'_, WallTime>) {
    for n in sizes() {
        // One element per alias call.
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new(I::NAME, n), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| build::<I>(n)).sum())
        });
    }
}

/// One chain of `n` alias edges built from the root end; returns the time
/// its calls took.
fn build<I: Aliasing>(n: usize) -> Duration {
    let table = I::with_capacity(n + 1);
    let x: Vec<u32> = (0..=n).map(|_| table.register()).collect();
    let started = Instant::now();
    for pair in x.windows(2).rev() {
        table.alias(pair[0], pair[1]);
    }
    table.add_canonical(x[n]);
    let root = table.resolve(x[0]);
    let elapsed = started.elapsed();
    if I::RESOLVES {
        assert_eq!(root, x[n]);
    }
    elapsed
}

/// `N`, or the list in `N_VAR` when benching; 100 under `cargo test`.
fn sizes() -> Vec<usize> {
    if !benching() {
        return vec![100];
    }
    let Some(list) = std::env::var_os(N_VAR) else {
        return N.to_vec();
    };
    let list = list
        .into_string()
        .unwrap_or_else(|list| panic!("{N_VAR}={list:?} is not Unicode"));
    list.split(',')
        .map(|n| match n.trim().parse() {
            Ok(n) if n > 0 => n,
            _ => panic!("{N_VAR}: {n:?} is not a positive integer"),
        })
        .collect()
}
