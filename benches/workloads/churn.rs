//! churn: the whole lifecycle of the seed's objects, over and over. Each
//! cycle registers `h`, `g` and `f`, makes the three calls (`alias(h, g)`,
//! `alias(g, f)`, `add_canonical(f)`), resolves `h`, then drops the three
//! holders, which releases all three. The cycles are a fixed total shared
//! out among the threads; released refs are recycled, so the tables stay
//! small.
//!
//! Against `AliasTable`: `SeedRule`, the two-mutex design extended with the
//! original scheduler's rule (a count per ref, which holds a pending unit
//! until the ref's own call lands; `equivalent` on every decrement to zero;
//! the class freed when every member's count is zero, its indexes going to
//! a free list).

use std::sync::Mutex;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};

use super::{share, sized, thread_counts, timed_on_threads};
use crate::impls::{walk, OPEN};

/// Operations per cycle: 3 `register` + 2 `alias` + 1 `add_canonical` +
/// 1 `resolve` + 3 `decref`.
pub(crate) const OPS_PER_CYCLE: usize = 10;

/// What the churn workload needs: the calls, with counts.
pub(crate) trait Churning: Send + Sync {
    const NAME: &'static str;
    type Ref: Copy + Send + Sync;
    fn new() -> Self;
    fn register(&self) -> Self::Ref;
    fn alias(&self, alias: Self::Ref, target: Self::Ref);
    fn add_canonical(&self, r: Self::Ref);
    fn resolve(&self, r: Self::Ref) -> Self::Ref;
    fn decref(&self, r: Self::Ref);
    /// Live refs.
    fn len(&self) -> usize;
}

pub(crate) fn run<I: Churning>(group: &mut BenchmarkGroup<'_, WallTime>) {
    let cycles = sized(200_000, 100);
    group.throughput(Throughput::Elements((cycles * OPS_PER_CYCLE) as u64));
    for &threads in thread_counts() {
        group.bench_function(BenchmarkId::new(I::NAME, threads), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let table = I::new();
                        let elapsed = timed_on_threads(threads, |thread| {
                            for _ in share(cycles, threads, thread) {
                                let [h, g, f] = [(); 3].map(|()| table.register());
                                table.alias(h, g);
                                table.alias(g, f);
                                table.add_canonical(f);
                                let _ = std::hint::black_box(table.resolve(h));
                                for r in [f, g, h] {
                                    table.decref(r);
                                }
                            }
                        });
                        assert_eq!(table.len(), 0, "{}: every ref released", I::NAME);
                        elapsed
                    })
                    .sum()
            })
        });
    }
}

/// `AliasTable` with its own counts and recycling.
pub(crate) struct HaloChurn(halo_alias::AliasTable);

impl Churning for HaloChurn {
    const NAME: &'static str = "AliasTable";
    type Ref = halo_alias::ObjRef;

    fn new() -> Self {
        HaloChurn(halo_alias::AliasTable::new())
    }

    fn register(&self) -> Self::Ref {
        self.0.register().unwrap()
    }

    fn alias(&self, alias: Self::Ref, target: Self::Ref) {
        self.0.alias(alias, target).unwrap();
    }

    fn add_canonical(&self, r: Self::Ref) {
        self.0.add_canonical(r).unwrap();
    }

    fn resolve(&self, r: Self::Ref) -> Self::Ref {
        self.0.resolve(r).unwrap()
    }

    fn decref(&self, r: Self::Ref) {
        self.0.decref(r).unwrap();
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The two-mutex design with the seed's counting rule.
pub(crate) struct SeedRule {
    targets: Mutex<Targets>,
    reverse: Mutex<Vec<Vec<u32>>>,
}

struct Targets {
    edges: Vec<u32>,
    /// Holders, plus one until the ref's own call lands (PR #120's unit).
    counts: Vec<u32>,
    free: Vec<u32>,
    live: usize,
}

impl SeedRule {
    /// Drops one unit of `r`; at zero, frees `r`'s class if every member
    /// is at zero too.
    fn drop_unit(&self, r: u32) {
        let mut targets = self.targets.lock().unwrap();
        targets.counts[r as usize] -= 1;
        if targets.counts[r as usize] != 0 {
            return;
        }
        let root = walk(r, |at| targets.edges[at as usize]).unwrap_or_else(|open| open);
        let mut reverse = self.reverse.lock().unwrap();
        let class = crate::impls::gather(root, |target, out| {
            out.extend_from_slice(&reverse[target as usize])
        });
        if class
            .iter()
            .all(|&member| targets.counts[member as usize] == 0)
        {
            for member in class {
                targets.edges[member as usize] = OPEN;
                reverse[member as usize].clear();
                targets.free.push(member);
                targets.live -= 1;
            }
        }
    }
}

impl Churning for SeedRule {
    const NAME: &'static str = "SeedRule";
    type Ref = u32;

    fn new() -> Self {
        SeedRule {
            targets: Mutex::new(Targets {
                edges: Vec::new(),
                counts: Vec::new(),
                free: Vec::new(),
                live: 0,
            }),
            reverse: Mutex::new(Vec::new()),
        }
    }

    fn register(&self) -> u32 {
        let mut targets = self.targets.lock().unwrap();
        targets.live += 1;
        if let Some(index) = targets.free.pop() {
            targets.counts[index as usize] = 2;
            return index;
        }
        let index = targets.edges.len() as u32;
        targets.edges.push(OPEN);
        targets.counts.push(2);
        self.reverse.lock().unwrap().push(Vec::new());
        index
    }

    fn alias(&self, alias: u32, target: u32) {
        {
            let mut targets = self.targets.lock().unwrap();
            targets.edges[alias as usize] = target;
            self.reverse.lock().unwrap()[target as usize].push(alias);
        }
        self.drop_unit(alias);
    }

    fn add_canonical(&self, r: u32) {
        self.targets.lock().unwrap().edges[r as usize] = r;
        self.drop_unit(r);
    }

    fn resolve(&self, r: u32) -> u32 {
        let targets = self.targets.lock().unwrap();
        walk(r, |at| targets.edges[at as usize]).expect("the churn resolves completed paths")
    }

    fn decref(&self, r: u32) {
        self.drop_unit(r);
    }

    fn len(&self) -> usize {
        self.targets.lock().unwrap().live
    }
}
