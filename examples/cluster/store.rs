//! A worker's local object store: ref -> shared object handle.
//!
//! The store knows only what it was told: objects it produced or was
//! shipped, and the aliases the scheduler named. An alias notification
//! that arrives before its canonical object is queued and applied when the
//! object arrives, as in the seed, so a lookup never finds an alias
//! without its object.

use std::collections::HashMap;
use std::sync::Arc;

use halo_alias::ObjRef;

use super::Object;

/// One worker's objects and alias entries.
#[derive(Debug, Default)]
pub(super) struct Store {
    /// Canonical refs and the aliases applied so far, each to its object.
    entries: HashMap<ObjRef, Arc<Object>>,
    /// Canonical ref -> aliases named before its object arrived.
    queued: HashMap<ObjRef, Vec<ObjRef>>,
}

/// What became of an alias notification.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub(super) enum Notified {
    /// The canonical object is here: the alias maps to it now.
    Applied,
    /// Queued until the canonical object arrives.
    Queued,
}

/// A store's contents, as a test or a summary reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreReport {
    /// Entries (canonical refs and aliases).
    pub(crate) entries: usize,
    /// Distinct objects the entries point to.
    pub(crate) objects: usize,
    /// Alias notifications still waiting for their object.
    pub(crate) queued: usize,
    /// Pulls and task arguments still waiting.
    pub(crate) waiting: usize,
    /// Largest number of entries the store ever held.
    pub(crate) peak_entries: usize,
}

impl StoreReport {
    /// Whether nothing is left: no entry, no queued alias, no waiter.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries == 0 && self.queued == 0 && self.waiting == 0
    }
}

impl Store {
    /// The object `r` names here, if the store knows `r`.
    pub(super) fn get(&self, r: ObjRef) -> Option<Arc<Object>> {
        self.entries.get(&r).cloned()
    }

    /// Takes in `canonical`'s object; returns the refs that now map to it
    /// (`canonical` and the aliases queued for it).
    pub(super) fn insert_object(&mut self, canonical: ObjRef, object: Arc<Object>) -> Vec<ObjRef> {
        let mut now_known = self.queued.remove(&canonical).unwrap_or_default();
        for &alias in &now_known {
            self.entries.insert(alias, Arc::clone(&object));
        }
        self.entries.insert(canonical, object);
        now_known.push(canonical);
        now_known
    }

    /// The scheduler's "`alias` -> `canonical`".
    pub(super) fn notify(&mut self, alias: ObjRef, canonical: ObjRef) -> Notified {
        match self.entries.get(&canonical) {
            Some(object) => {
                let object = Arc::clone(object);
                self.entries.insert(alias, object);
                Notified::Applied
            }
            None => {
                self.queued.entry(canonical).or_default().push(alias);
                Notified::Queued
            }
        }
    }

    /// Drops `r`'s entry (an alias, or a canonical ref and its object);
    /// returns whether there was one.
    pub(super) fn free(&mut self, r: ObjRef) -> bool {
        let queued = self.queued.remove(&r).is_some();
        self.entries.remove(&r).is_some() || queued
    }

    /// The number of entries.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The store's contents; `waiting` and `peak_entries` are the worker's.
    pub(super) fn report(&self, waiting: usize, peak_entries: usize) -> StoreReport {
        let mut objects: Vec<*const Object> = self.entries.values().map(Arc::as_ptr).collect();
        objects.sort_unstable();
        objects.dedup();
        StoreReport {
            entries: self.entries.len(),
            objects: objects.len(),
            queued: self.queued.values().map(Vec::len).sum(),
            waiting,
            peak_entries,
        }
    }
}
