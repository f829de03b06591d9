//! Loom models of `halo-alias`'s protocols.
//!
//! The models live in `tests/`, one file per protocol; each file is
//! `#![cfg(loom)]`, so without `--cfg loom` this crate builds to (almost)
//! nothing. Run them with `scripts/loom.sh`, which does
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --profile loom -p loom-tests --tests
//! ```
//!
//! with its own target directory. Under `cfg(loom)` the crate under test
//! swaps every atomic, fence and its futex for loom's (a futex wait really
//! blocks, so a lost wake-up is a loom deadlock) and shrinks its segments
//! to one or two slots, so that a model crosses growth boundaries after a
//! handful of registrations.
//!
//! Every model states its preemption bound in code, through `model`:
//! within that bound loom explores the interleavings (and the values a
//! weak load may return) its partial-order reduction generates, which is
//! every interleaving but for the gap below. `LOOM_MAX_PREEMPTIONS`
//! overrides the bound of every model for one run; `LOOM_MAX_BRANCHES`
//! overrides `MAX_BRANCHES`. Each model prints its name, bound, number of
//! executions and time (visible with `-- --nocapture`).
//!
//! # Spawn orders
//!
//! Loom 0.7's partial-order reduction remembers only the last access to
//! each atomic. If thread A loads `x`, and thread B later loads `x` and
//! then writes it, the race between B's write and A's load is never
//! seen, so no execution runs B's write before A's load
//! (tokio-rs/loom#392, #166). Loom's first execution runs the spawned
//! threads one after the other in spawn order, so which thread runs
//! "first" in such a pair is decided by the spawn order. The models
//! therefore run twice, through `model_in_orders`: once spawning their
//! threads in the order written (`Order::Forward`) and once in reverse
//! (`Order::Reverse`), so that of every pair of threads each runs first in
//! some explored execution, and the other's reads can see its writes.

#[cfg(loom)]
pub use harness::*;

#[cfg(loom)]
mod harness {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use halo_alias::{AliasTable, ObjRef};
    use loom::sync::Arc;
    use loom::thread::JoinHandle;

    /// Branches (scheduling and load-value choices) one execution may take
    /// before loom calls it a livelock, unless `LOOM_MAX_BRANCHES` says
    /// otherwise. Loom's default (1000) is too small for models whose main
    /// thread checks the final tables with many queries; a real livelock
    /// still fails, only later.
    pub const MAX_BRANCHES: usize = 20_000;

    /// Checks `f` under every interleaving loom explores within
    /// `preemption_bound` preemptions (or `LOOM_MAX_PREEMPTIONS`, if set),
    /// printing the model's name, bound, iteration count and run time.
    ///
    /// # Panics
    ///
    /// If an execution of `f` panics or deadlocks (loom reports the
    /// interleaving), or if `LOOM_MAX_PREEMPTIONS` is not a number.
    pub fn model<F>(name: &str, preemption_bound: usize, f: F)
    where
        F: Fn() + Sync + Send + 'static,
    {
        let bound = match std::env::var("LOOM_MAX_PREEMPTIONS") {
            Ok(value) => value
                .parse()
                .expect("LOOM_MAX_PREEMPTIONS must be a number"),
            Err(_) => preemption_bound,
        };
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(bound);
        if std::env::var_os("LOOM_MAX_BRANCHES").is_none() {
            builder.max_branches = MAX_BRANCHES;
        }
        eprintln!("loom model {name}: preemption bound {bound}");

        // A plain std counter: it lives outside the model and only counts.
        let iterations = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = iterations.clone();
        let start = Instant::now();
        builder.check(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            f();
        });
        eprintln!(
            "loom model {name}: bound {bound}, {} executions, {:.2?}",
            iterations.load(Ordering::Relaxed),
            start.elapsed()
        );
    }

    /// The order in which [`spawn_all`] starts its tasks.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Order {
        /// In the order the model lists them.
        Forward,
        /// Last listed first.
        Reverse,
    }

    /// [`model`] once per [`Order`], named `name/forward` and `name/reverse`
    /// (see the crate docs for why).
    pub fn model_in_orders<F>(name: &str, preemption_bound: usize, f: F)
    where
        F: Fn(Order) + Sync + Send + 'static,
    {
        let f = std::sync::Arc::new(f);
        for (order, suffix) in [(Order::Forward, "forward"), (Order::Reverse, "reverse")] {
            let f = f.clone();
            model(&format!("{name}/{suffix}"), preemption_bound, move || {
                f(order)
            });
        }
    }

    /// A task for [`spawn_all`].
    pub type Task<R> = Box<dyn FnOnce() -> R + Send + 'static>;

    /// Boxes a closure as a [`Task`].
    pub fn task<R>(f: impl FnOnce() -> R + Send + 'static) -> Task<R> {
        Box::new(f)
    }

    /// A task running `f` on a shared table.
    pub fn on<R: Send + 'static>(
        table: &Arc<AliasTable>,
        f: impl FnOnce(&AliasTable) -> R + Send + 'static,
    ) -> Task<R> {
        let table = table.clone();
        task(move || f(&table))
    }

    /// Spawns one loom thread per task, in `order`; returns the handles in
    /// the order of `tasks`, whatever the spawn order.
    pub fn spawn_all<R: Send + 'static>(order: Order, tasks: Vec<Task<R>>) -> Vec<JoinHandle<R>> {
        let count = tasks.len();
        let mut indexed: Vec<(usize, Task<R>)> = tasks.into_iter().enumerate().collect();
        if order == Order::Reverse {
            indexed.reverse();
        }
        let mut handles: Vec<Option<JoinHandle<R>>> = (0..count).map(|_| None).collect();
        for (index, task) in indexed {
            handles[index] = Some(loom::thread::spawn(task));
        }
        handles.into_iter().map(|h| h.expect("spawned")).collect()
    }

    /// Joins every handle, in order, and returns the results.
    ///
    /// # Panics
    ///
    /// If a thread panicked.
    pub fn join_all<R>(handles: Vec<JoinHandle<R>>) -> Vec<R> {
        handles
            .into_iter()
            .map(|h| h.join().expect("model thread panicked"))
            .collect()
    }

    /// A fresh table, shared, with `N` refs registered (indexes `0..N`).
    pub fn table_with<const N: usize>() -> (Arc<AliasTable>, [ObjRef; N]) {
        let table = Arc::new(AliasTable::new());
        let refs = [(); N].map(|()| table.register().expect("register"));
        (table, refs)
    }

    /// What `equivalent` documents: the root first, then every other
    /// member in index order, each once.
    pub fn equivalence_class(root: ObjRef, others: &[ObjRef]) -> Vec<ObjRef> {
        let mut members: Vec<ObjRef> = others.iter().copied().filter(|&r| r != root).collect();
        members.sort_by_key(|r| r.index());
        members.dedup();
        let mut class = vec![root];
        class.extend(members);
        class
    }
}
