//! `uf_rush`, the lock-free union-find a user might reach for when only
//! equivalence matters: `unite` stands in for `alias`, `find` for
//! `resolve`. It has no waiting and no reverse links, and its
//! representative is not the canonical ref, so it appears only in the
//! workloads it can express (insert and resolve).

use std::sync::atomic::{AtomicU32, Ordering};

use uf_rush::UFRush;

use super::Aliasing;

/// `uf_rush::UFRush`, preallocated.
pub(crate) struct UfRush {
    sets: UFRush,
    registered: AtomicU32,
}

impl Aliasing for UfRush {
    const NAME: &'static str = "UfRush";
    const RESOLVES: bool = false;

    fn with_capacity(refs: usize) -> Self {
        UfRush {
            sets: UFRush::new(refs),
            registered: AtomicU32::new(0),
        }
    }

    fn register(&self) -> u32 {
        self.registered.fetch_add(1, Ordering::Relaxed)
    }

    fn alias(&self, alias: u32, target: u32) {
        self.sets.unite(alias as usize, target as usize);
    }

    fn add_canonical(&self, _r: u32) {
        // A set needs no declaration.
    }

    fn resolve(&self, r: u32) -> u32 {
        self.sets.find(r as usize) as u32
    }

    fn memory_bytes(&self) -> usize {
        self.sets.size() * std::mem::size_of::<usize>()
    }
}
