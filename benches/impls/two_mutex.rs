//! The classic scheduler design: a mutex around the target table, another
//! around the reverse table, waiters on a condition variable.

use std::sync::{Condvar, Mutex};

use super::{gather, vec_tables_bytes, walk, Aliasing, Scheduling, OPEN};

/// `Mutex<Vec<u32>>` targets + `Mutex<Vec<Vec<u32>>>` reverse edges.
pub(crate) struct TwoMutex {
    targets: Mutex<Targets>,
    reverse: Mutex<Vec<Vec<u32>>>,
    completed: Condvar,
}

struct Targets {
    edges: Vec<u32>,
    /// Resolvers asleep on `completed`: completions notify only if any.
    waiters: usize,
}

impl TwoMutex {
    fn set(&self, r: u32, target: u32, alias_of: Option<u32>) {
        let mut targets = self.targets.lock().unwrap();
        targets.edges[r as usize] = target;
        if let Some(target) = alias_of {
            self.reverse.lock().unwrap()[target as usize].push(r);
        }
        if targets.waiters > 0 {
            self.completed.notify_all();
        }
    }
}

impl Aliasing for TwoMutex {
    const NAME: &'static str = "TwoMutex";

    fn with_capacity(refs: usize) -> Self {
        TwoMutex {
            targets: Mutex::new(Targets {
                edges: Vec::with_capacity(refs),
                waiters: 0,
            }),
            reverse: Mutex::new(Vec::with_capacity(refs)),
            completed: Condvar::new(),
        }
    }

    fn register(&self) -> u32 {
        let mut targets = self.targets.lock().unwrap();
        let index = targets.edges.len() as u32;
        targets.edges.push(OPEN);
        self.reverse.lock().unwrap().push(Vec::new());
        index
    }

    fn alias(&self, alias: u32, target: u32) {
        self.set(alias, target, Some(target));
    }

    fn add_canonical(&self, r: u32) {
        self.set(r, r, None);
    }

    fn resolve(&self, r: u32) -> u32 {
        let mut targets = self.targets.lock().unwrap();
        loop {
            if let Ok(canonical) = walk(r, |at| targets.edges[at as usize]) {
                return canonical;
            }
            targets.waiters += 1;
            targets = self.completed.wait(targets).unwrap();
            targets.waiters -= 1;
        }
    }

    fn memory_bytes(&self) -> usize {
        let targets = self.targets.lock().unwrap();
        vec_tables_bytes(&targets.edges, &self.reverse.lock().unwrap())
    }
}

impl Scheduling for TwoMutex {
    fn equivalent(&self, r: u32) -> Vec<u32> {
        let targets = self.targets.lock().unwrap();
        let root = walk(r, |at| targets.edges[at as usize]).unwrap_or_else(|open| open);
        let reverse = self.reverse.lock().unwrap();
        gather(root, |target, out| {
            out.extend_from_slice(&reverse[target as usize])
        })
    }
}
