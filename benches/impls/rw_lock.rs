//! The two-lock design with `RwLock`s, so that resolvers read in parallel;
//! waiters sleep on a condition variable beside them.

use std::sync::{Condvar, Mutex, RwLock};

use super::{gather, vec_tables_bytes, walk, Aliasing, Scheduling, OPEN};

/// `RwLock<Vec<u32>>` targets + `RwLock<Vec<Vec<u32>>>` reverse edges.
pub(crate) struct RwLockTables {
    targets: RwLock<Vec<u32>>,
    reverse: RwLock<Vec<Vec<u32>>>,
    /// Resolvers asleep on `completed`.
    waiters: Mutex<usize>,
    completed: Condvar,
}

impl RwLockTables {
    fn set(&self, r: u32, target: u32, alias_of: Option<u32>) {
        {
            let mut targets = self.targets.write().unwrap();
            targets[r as usize] = target;
            if let Some(target) = alias_of {
                self.reverse.write().unwrap()[target as usize].push(r);
            }
        }
        // After the update: a resolver checks under `waiters`, so it either
        // saw the update or is asleep by the time this lock is ours.
        if *self.waiters.lock().unwrap() > 0 {
            self.completed.notify_all();
        }
    }

    fn try_resolve(&self, r: u32) -> Option<u32> {
        let targets = self.targets.read().unwrap();
        walk(r, |at| targets[at as usize]).ok()
    }
}

impl Aliasing for RwLockTables {
    const NAME: &'static str = "RwLock";

    fn with_capacity(refs: usize) -> Self {
        RwLockTables {
            targets: RwLock::new(Vec::with_capacity(refs)),
            reverse: RwLock::new(Vec::with_capacity(refs)),
            waiters: Mutex::new(0),
            completed: Condvar::new(),
        }
    }

    fn register(&self) -> u32 {
        let mut targets = self.targets.write().unwrap();
        let index = targets.len() as u32;
        targets.push(OPEN);
        self.reverse.write().unwrap().push(Vec::new());
        index
    }

    fn alias(&self, alias: u32, target: u32) {
        self.set(alias, target, Some(target));
    }

    fn add_canonical(&self, r: u32) {
        self.set(r, r, None);
    }

    fn resolve(&self, r: u32) -> u32 {
        if let Some(canonical) = self.try_resolve(r) {
            return canonical;
        }
        let mut waiters = self.waiters.lock().unwrap();
        loop {
            if let Some(canonical) = self.try_resolve(r) {
                return canonical;
            }
            *waiters += 1;
            waiters = self.completed.wait(waiters).unwrap();
            *waiters -= 1;
        }
    }

    fn memory_bytes(&self) -> usize {
        vec_tables_bytes(&self.targets.read().unwrap(), &self.reverse.read().unwrap())
    }
}

impl Scheduling for RwLockTables {
    fn equivalent(&self, r: u32) -> Vec<u32> {
        let targets = self.targets.read().unwrap();
        let root = walk(r, |at| targets[at as usize]).unwrap_or_else(|open| open);
        let reverse = self.reverse.read().unwrap();
        gather(root, |target, out| {
            out.extend_from_slice(&reverse[target as usize])
        })
    }
}
