//! Single-threaded baseline figures for `AliasTable`: resolving completed
//! chains of several lengths, and building h/g/f tasks.
//!
//! `cargo bench --bench contention`; under `cargo test` each benchmark runs
//! once as a smoke test.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use halo_alias::{AliasTable, ObjRef};
use std::hint::black_box;

/// A completed chain `refs[0] -> refs[1] -> ... -> refs[len]` (canonical).
fn chain(table: &AliasTable, len: usize) -> Vec<ObjRef> {
    let refs: Vec<ObjRef> = (0..=len).map(|_| table.register().unwrap()).collect();
    for pair in refs.windows(2) {
        table.alias(pair[0], pair[1]).unwrap();
    }
    table.add_canonical(refs[len]).unwrap();
    refs
}

fn resolve_completed_chain(c: &mut Criterion) {
    let mut group = c.benchmark_group("resolve");
    group.throughput(Throughput::Elements(1));
    for len in [1, 16, 1024] {
        let table = AliasTable::new();
        let refs = chain(&table, len);
        let head = refs[0];
        table.resolve(head).unwrap(); // the first resolution compresses the path
        group.bench_with_input(BenchmarkId::new("AliasTable", len), &head, |b, &head| {
            b.iter(|| table.resolve(black_box(head)).unwrap())
        });
    }
    group.finish();
}

fn build_tasks(c: &mut Criterion) {
    const TASKS: usize = 1000;
    let mut group = c.benchmark_group("h-g-f task");
    group.throughput(Throughput::Elements(TASKS as u64));
    group.bench_function("AliasTable", |b| {
        b.iter(|| {
            let table = AliasTable::new();
            for _ in 0..TASKS {
                let [h, g, f] = [(); 3].map(|()| table.register().unwrap());
                table.alias(h, g).unwrap();
                table.add_canonical(f).unwrap();
                table.alias(g, f).unwrap();
                black_box(table.resolve(h).unwrap());
            }
            table
        })
    });
    group.finish();
}

criterion_group!(benches, resolve_completed_chain, build_tasks);
criterion_main!(benches);
