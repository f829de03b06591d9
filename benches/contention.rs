//! The contention suite: `AliasTable` against the designs a scheduler
//! would otherwise use, in the same run, on the same workloads.
//!
//! * Full suite: `cargo bench --bench contention`
//! * Quick variant (under 3 minutes): `HALO_BENCH_QUICK=1 cargo bench --bench contention`
//! * Report: `python3 benches/report.py --write BENCHMARKS.md`
//!
//! Under `cargo test` every benchmark runs once, on small inputs, as a
//! smoke test. See `BENCHMARKS.md` for the workloads and the figures.

mod impls;
mod workloads;

use std::time::Duration;

use criterion::{criterion_group, Criterion};

use impls::{DashMapTables, Floor, Halo, RwLockTables, TwoMutex, UfRush};
use workloads::{fan_in, insert, memory, mix, resolve, wake};

fn config() -> Criterion {
    let quick = std::env::var_os("HALO_BENCH_QUICK").is_some();
    let (warm_up, measure) = if quick { (200, 600) } else { (1000, 3000) };
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(warm_up))
        .measurement_time(Duration::from_millis(measure))
}

fn insert(c: &mut Criterion) {
    let mut group = c.benchmark_group("insert");
    insert::run::<Halo>(&mut group);
    insert::run::<TwoMutex>(&mut group);
    insert::run::<RwLockTables>(&mut group);
    insert::run::<DashMapTables>(&mut group);
    insert::run::<Floor>(&mut group);
    insert::run::<UfRush>(&mut group);
    group.finish();
}

fn resolve(c: &mut Criterion) {
    for length in resolve::LENGTHS {
        let mut group = c.benchmark_group(format!("resolve-len{length}"));
        resolve::run::<Halo>(&mut group, length);
        resolve::run::<TwoMutex>(&mut group, length);
        resolve::run::<RwLockTables>(&mut group, length);
        resolve::run::<DashMapTables>(&mut group, length);
        resolve::run::<Floor>(&mut group, length);
        resolve::run::<UfRush>(&mut group, length);
        group.finish();
    }
}

fn fan_in(c: &mut Criterion) {
    let mut group = c.benchmark_group("fan-in");
    fan_in::run::<Halo>(&mut group);
    fan_in::run::<TwoMutex>(&mut group);
    fan_in::run::<RwLockTables>(&mut group);
    fan_in::run::<DashMapTables>(&mut group);
    group.finish();
}

fn scheduler_mix(c: &mut Criterion) {
    let mut group = c.benchmark_group("scheduler-mix");
    mix::run::<Halo>(&mut group);
    mix::run::<TwoMutex>(&mut group);
    mix::run::<RwLockTables>(&mut group);
    mix::run::<DashMapTables>(&mut group);
    group.finish();
}

fn wake_latency(c: &mut Criterion) {
    let mut group = c.benchmark_group("wake-latency");
    wake::run::<Halo>(&mut group);
    wake::run::<TwoMutex>(&mut group);
    wake::run::<RwLockTables>(&mut group);
    wake::run::<DashMapTables>(&mut group);
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = insert, resolve, fan_in, scheduler_mix, wake_latency
}

fn main() {
    memory::report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
