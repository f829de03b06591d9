//! Helpers shared by the multi-threaded stress tests (`tests/stress_*.rs`):
//! the run size (`HALO_STRESS_REFS`), seeded generators (`HALO_STRESS_SEED`),
//! thread counts and table configurations per run, concurrent registration,
//! spin-waits, and a drop guard.

use std::thread;

use halo_alias::{AliasError, AliasTable, ObjRef};

use super::{Config, CONFIGS};

/// Refs per run of the main stress test (the other tests scale from it).
pub(crate) const DEFAULT_REFS: usize = 100_000;

/// Thread counts each test runs with.
pub(crate) const THREAD_COUNTS: [usize; 3] = [2, 4, 8];

/// The run size: `HALO_STRESS_REFS` if set, else `DEFAULT_REFS`.
pub(crate) fn stress_refs() -> usize {
    match std::env::var("HALO_STRESS_REFS") {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("HALO_STRESS_REFS={value:?} is not a number")),
        Err(_) => DEFAULT_REFS,
    }
}

/// A seeded generator; the seed is printed so that a failure can be replayed.
pub(crate) fn rng(test: &str) -> fastrand::Rng {
    let seed = match std::env::var("HALO_STRESS_SEED") {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("HALO_STRESS_SEED={value:?} is not a number")),
        Err(_) => fastrand::u64(..),
    };
    eprintln!("{test}: HALO_STRESS_SEED={seed}");
    fastrand::Rng::with_seed(seed)
}

/// The table configuration for run `run` (one run per thread count) of a
/// test: each test takes its own turn through `CONFIGS`, given as indexes.
pub(crate) fn config_for(run: usize, turn: [usize; 3]) -> &'static Config {
    &CONFIGS[turn[run]]
}

/// Registers `n` refs from `threads` threads at once, and checks that no
/// index was handed out twice and that `len` counts every ref. Tables with
/// an exact limit are filled until `register` refuses: then every index
/// `0..n` must have been handed out (nothing is left reserved, since each
/// thread registers until its own reservation is used up too). Otherwise
/// each thread may leave reserved indexes unused, which must stay unknown.
pub(crate) fn register_concurrently(
    table: &AliasTable,
    n: usize,
    threads: usize,
    exact: bool,
) -> Vec<ObjRef> {
    let per_thread = n.div_ceil(threads);
    let mut refs: Vec<ObjRef> = thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut mine = Vec::new();
                    if exact {
                        loop {
                            match table.register() {
                                Ok(r) => mine.push(r),
                                Err(AliasError::CapacityExhausted) => break mine,
                                Err(e) => panic!("register: {e}"),
                            }
                        }
                    } else {
                        let count = per_thread.min(n.saturating_sub(t * per_thread));
                        (0..count).map(|_| table.register().unwrap()).collect()
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    refs.sort_unstable();
    assert_eq!(refs.len(), n);
    if exact {
        for (i, r) in refs.iter().enumerate() {
            assert_eq!(*r, ObjRef::new(i as u32, 0), "index {i} handed out once");
        }
    } else {
        for pair in refs.windows(2) {
            assert!(pair[0] < pair[1], "{} handed out twice", pair[0]);
        }
        let last = refs.last().map_or(0, |r| r.index());
        let mut handed_out = refs.iter().map(|r| r.index()).peekable();
        for index in 0..last {
            if handed_out.next_if_eq(&index).is_none() {
                let hole = ObjRef::new(index, 0);
                assert_eq!(table.target(hole), Err(AliasError::UnknownRef(hole)));
            }
        }
    }
    assert_eq!(table.len(), n);
    refs
}

/// Spins until `condition` holds. Spinning (rather than yielding at once)
/// keeps both racing threads on a CPU so that their calls can overlap; a
/// yield now and then keeps a waiter from starving the thread it waits for.
pub(crate) fn wait_until(condition: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !condition() {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1 << 14) {
            thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Busy-waits for about `iterations` spin-loop hints.
pub(crate) fn spin(iterations: u32) {
    for _ in 0..iterations {
        std::hint::spin_loop();
    }
}

/// Runs its closure when dropped, also while unwinding from a failed check.
pub(crate) struct Finally<F: FnMut()>(pub(crate) F);

impl<F: FnMut()> Drop for Finally<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}
