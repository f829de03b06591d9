//! What a Rust developer reaches for first: two `DashMap`s, waiters on a
//! condition variable.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex};

use dashmap::DashMap;

use super::{gather, walk, Aliasing, Scheduling, OPEN};

/// `DashMap<u32, u32>` targets + `DashMap<u32, Vec<u32>>` reverse edges.
pub(crate) struct DashMapTables {
    targets: DashMap<u32, u32>,
    reverse: DashMap<u32, Vec<u32>>,
    registered: AtomicU32,
    /// Resolvers asleep on `completed`.
    waiters: Mutex<usize>,
    completed: Condvar,
}

impl DashMapTables {
    fn target_of(&self, r: u32) -> u32 {
        self.targets.get(&r).map_or(OPEN, |target| *target)
    }

    fn completed(&self) {
        if *self.waiters.lock().unwrap() > 0 {
            self.completed.notify_all();
        }
    }
}

impl Aliasing for DashMapTables {
    const NAME: &'static str = "DashMap";

    fn with_capacity(refs: usize) -> Self {
        DashMapTables {
            targets: DashMap::with_capacity(refs),
            reverse: DashMap::with_capacity(refs / 2),
            registered: AtomicU32::new(0),
            waiters: Mutex::new(0),
            completed: Condvar::new(),
        }
    }

    fn register(&self) -> u32 {
        // Absent from the map means UNINITIALIZED: registering is a count.
        self.registered.fetch_add(1, Ordering::Relaxed)
    }

    fn alias(&self, alias: u32, target: u32) {
        // Reverse edge first: a resolver that sees the target must find the
        // reverse edge too (the other order loses it from `equivalent`).
        self.reverse.entry(target).or_default().push(alias);
        self.targets.insert(alias, target);
        self.completed();
    }

    fn add_canonical(&self, r: u32) {
        self.targets.insert(r, r);
        self.completed();
    }

    fn resolve(&self, r: u32) -> u32 {
        if let Ok(canonical) = walk(r, |at| self.target_of(at)) {
            return canonical;
        }
        let mut waiters = self.waiters.lock().unwrap();
        loop {
            if let Ok(canonical) = walk(r, |at| self.target_of(at)) {
                return canonical;
            }
            *waiters += 1;
            waiters = self.completed.wait(waiters).unwrap();
            *waiters -= 1;
        }
    }

    fn memory_bytes(&self) -> usize {
        // hashbrown: one control byte per bucket beside each (key, value);
        // capacity() reports usable buckets, a lower bound.
        let targets = self.targets.capacity() * (std::mem::size_of::<(u32, u32)>() + 1);
        let reverse_entries =
            self.reverse.capacity() * (std::mem::size_of::<(u32, Vec<u32>)>() + 1);
        let reverse_lists: usize = self
            .reverse
            .iter()
            .map(|entry| entry.value().capacity() * 4)
            .sum();
        targets + reverse_entries + reverse_lists
    }
}

impl Scheduling for DashMapTables {
    fn equivalent(&self, r: u32) -> Vec<u32> {
        let root = walk(r, |at| self.target_of(at)).unwrap_or_else(|open| open);
        gather(root, |target, out| {
            if let Some(aliases) = self.reverse.get(&target) {
                out.extend_from_slice(&aliases);
            }
        })
    }
}
