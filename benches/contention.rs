//! The contention suite: `AliasTable` against the designs a scheduler
//! would otherwise use, in the same run, on the same workloads.
//!
//! * Full suite: `cargo bench --bench contention`
//! * Quick variant (a few minutes once built): `HALO_BENCH_QUICK=1 cargo bench --bench contention`
//! * Chain building at chosen sizes only (comma-separated):
//!   `HALO_CHAIN_BUILD_N=10000 cargo bench --bench contention -- chain-build/`
//! * Report: `python3 benches/report.py --write BENCHMARKS.md`
//!
//! Under `cargo test` every benchmark runs once, on small inputs, as a
//! smoke test. See `BENCHMARKS.md` for the workloads and the figures.

mod impls;
mod workloads;

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, Criterion, SamplingMode};

use impls::{DashMapTables, Floor, Halo, RwLockTables, TwoMutex, UfRush};
use workloads::churn::{HaloChurn, SeedRule};
use workloads::pull_storm::{HaloListening, Shape, TwoMutexCallbacks};
use workloads::{
    chain_build, churn, fan_in, insert, memory, mix, pull_storm, resolve_hot, resolve_large, wake,
};

fn config() -> Criterion {
    let quick = std::env::var_os("HALO_BENCH_QUICK").is_some();
    let (warm_up, measure) = if quick { (200, 600) } else { (1000, 3000) };
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(warm_up))
        .measurement_time(Duration::from_millis(measure))
}

/// A group whose samples all run the same number of iterations: linear
/// sampling would run the slowest baselines 5.5 times as often.
fn flat_group(c: &mut Criterion, name: String) -> BenchmarkGroup<'_, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group
}

/// Runs `$workload::run` for each implementation in one criterion group.
macro_rules! group {
    ($c:expr, $name:expr, $workload:ident; $($implementation:ty),+) => {{
        let mut group = flat_group($c, $name);
        $( $workload::run::<$implementation>(&mut group); )+
        group.finish();
    }};
    ($c:expr, $name:expr, $workload:ident, $arg:expr; $($implementation:ty),+) => {{
        let mut group = flat_group($c, $name);
        $( $workload::run::<$implementation>(&mut group, $arg); )+
        group.finish();
    }};
}

fn insert(c: &mut Criterion) {
    group!(c, "insert".into(), insert; Halo, TwoMutex, RwLockTables, DashMapTables, Floor, UfRush);
}

fn resolve_hot(c: &mut Criterion) {
    for length in resolve_hot::LENGTHS {
        let name = format!("resolve-hot-len{length}");
        group!(c, name, resolve_hot, length;
            Halo, TwoMutex, RwLockTables, DashMapTables, Floor, UfRush);
    }
}

fn resolve_large(c: &mut Criterion) {
    group!(c, "resolve-large".into(), resolve_large;
        Halo, TwoMutex, RwLockTables, DashMapTables, Floor, UfRush);
}

fn chain_build(c: &mut Criterion) {
    group!(c, "chain-build".into(), chain_build;
        Halo, TwoMutex, RwLockTables, DashMapTables, Floor, UfRush);
}

fn fan_in(c: &mut Criterion) {
    group!(c, "fan-in".into(), fan_in; Halo, TwoMutex, RwLockTables, DashMapTables);
}

fn scheduler_mix(c: &mut Criterion) {
    group!(c, "scheduler-mix".into(), mix; Halo, TwoMutex, RwLockTables, DashMapTables);
}

fn churn(c: &mut Criterion) {
    group!(c, "churn".into(), churn; HaloChurn, SeedRule);
}

fn pull_storm(c: &mut Criterion) {
    for shape in [Shape::Spread, Shape::OneRef] {
        group!(c, shape.name().into(), pull_storm, shape; HaloListening, TwoMutexCallbacks);
    }
}

fn wake_latency(c: &mut Criterion) {
    group!(c, "wake-latency".into(), wake; Halo, TwoMutex, RwLockTables, DashMapTables);
}

criterion_group! {
    name = benches;
    config = config();
    targets = insert, resolve_hot, resolve_large, chain_build, fan_in, scheduler_mix, churn, pull_storm, wake_latency
}

fn main() {
    memory::report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
