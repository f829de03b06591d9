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
//! blocks, so a lost wake-up is a loom deadlock) and shrinks its first
//! segment to two slots, so that a model crosses growth boundaries after a
//! handful of registrations.
//!
//! Every model states its preemption bound in code, through [`model`]:
//! within that bound loom explores every interleaving (and every value a
//! weak load may return). `LOOM_MAX_PREEMPTIONS` overrides the bound of
//! every model for one run.

#[cfg(loom)]
pub use harness::*;

#[cfg(loom)]
mod harness {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use halo_alias::{AliasTable, ObjRef};
    use loom::sync::Arc;

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

    /// A fresh table, shared, with `n` refs registered (indexes `0..n`).
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

    /// Sorts refs by index (the order `aliases` documents).
    pub fn by_index(mut refs: Vec<ObjRef>) -> Vec<ObjRef> {
        refs.sort_by_key(|r| r.index());
        refs
    }
}
