//! The physical limit, not a competitor: a preallocated array written with
//! plain stores and read with plain loads, checking nothing, keeping no
//! reverse edges, never waiting. `resolve` is one load (the least any
//! table can do to answer), so it is not a correct resolver of chains.

use std::sync::atomic::{AtomicU32, Ordering};

use super::{Aliasing, OPEN};

/// `Vec<AtomicU32>`, Relaxed stores and loads.
pub(crate) struct Floor {
    targets: Vec<AtomicU32>,
    registered: AtomicU32,
}

impl Aliasing for Floor {
    const NAME: &'static str = "Floor";
    const RESOLVES: bool = false;

    fn with_capacity(refs: usize) -> Self {
        Floor {
            targets: (0..refs).map(|_| AtomicU32::new(OPEN)).collect(),
            registered: AtomicU32::new(0),
        }
    }

    fn register(&self) -> u32 {
        self.registered.fetch_add(1, Ordering::Relaxed)
    }

    fn alias(&self, alias: u32, target: u32) {
        self.targets[alias as usize].store(target, Ordering::Relaxed);
    }

    fn add_canonical(&self, r: u32) {
        self.targets[r as usize].store(r, Ordering::Relaxed);
    }

    fn resolve(&self, r: u32) -> u32 {
        self.targets[r as usize].load(Ordering::Relaxed)
    }

    fn memory_bytes(&self) -> usize {
        self.targets.capacity() * 4
    }
}
