//! [`AliasTable`]: the two tables, how refs are registered, and the
//! lookups every call shares. The calls themselves live in submodules, one
//! concept each: `alias` (setting edges, and the cycle protocol),
//! `resolve` (from a ref to its canonical ref), `events` (being told it:
//! callbacks and futures), `lifecycle` and `queries`.
//!
//! **Progress.** `register`, `alias`, `add_canonical`, `incref`, `decref`
//! and every query are lock-free: each loop retries only when another
//! thread's CAS succeeded (or a weak CAS failed spuriously), and no call
//! ever waits for another thread to finish its own steps. Two exceptions:
//! the counts of refs on a cycle change under a per-table lock
//! (`lifecycle`), and a call that releases refs runs the release handler
//! before it returns (and a completing call runs the callbacks waiting on
//! its path). `on_resolved` and polling a `resolved` future are lock-free
//! too. Only `resolve` and `resolve_timeout` block, and only while the path
//! is open.

mod alias;
mod events;
mod lifecycle;
mod queries;
mod resolve;

pub use lifecycle::Released;
use std::fmt;

use crate::indexes::Indexes;
use crate::recycle::Recycler;
use crate::reverse::ReverseTable;
use crate::segments::Segments;
use crate::sync::{Futex, Mutex};
use crate::target::{Registration, TargetSlot, GENERATIONS, MAX_INDEX};
use crate::waiters::Waiters;
use crate::{AliasError, ObjRef};
use lifecycle::{HolderSlot, ReleaseHandler, REGISTERED};

/// Lock-free alias tables: which ref aliases which, and which are canonical.
///
/// See the [crate documentation](crate) for the model, the guarantees and
/// an example with threads. Every method takes `&self`; share the table
/// with `Arc` or scoped threads.
///
/// # Examples
///
/// ```
/// use halo_alias::AliasTable;
///
/// let table = AliasTable::new();
/// let (h, g, f) = (table.register()?, table.register()?, table.register()?);
/// table.alias(h, g)?;
/// table.add_canonical(f)?;
/// assert_eq!(table.try_resolve(h)?, None); // g's target is not known yet
/// table.alias(g, f)?;
/// assert_eq!(table.resolve(h)?, f);
/// assert_eq!(table.equivalent(h)?, vec![f, h, g]);
/// # Ok::<(), halo_alias::AliasError>(())
/// ```
pub struct AliasTable {
    targets: Segments<TargetSlot>,
    reverse: ReverseTable,
    holders: Segments<HolderSlot>,
    indexes: Indexes,
    futex: Futex,
    /// Taken only to change the life words of refs on cycles (`lifecycle`).
    rings: Mutex<()>,
    on_release: Option<ReleaseHandler>,
    recycler: Recycler,
    /// Callbacks and futures waiting for open paths (`events`).
    waiters: Waiters,
    /// Refs one slot may hold: generations `0..generations`.
    generations: u32,
}

/// Configures an [`AliasTable`] before it is built.
///
/// ```
/// use halo_alias::AliasTable;
///
/// let table = AliasTable::builder().capacity(1 << 16).max_refs(1 << 20).build();
/// assert_eq!(table.max_refs(), 1 << 20);
/// assert!(table.memory_bytes() >= (1 << 16) * AliasTable::BYTES_PER_REF);
/// ```
#[derive(Clone)]
pub struct AliasTableBuilder {
    capacity: usize,
    max_refs: usize,
    generations: u32,
    on_release: Option<ReleaseHandler>,
}

impl fmt::Debug for AliasTableBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliasTableBuilder")
            .field("capacity", &self.capacity)
            .field("max_refs", &self.max_refs)
            .field("generations", &self.generations)
            .field("on_release", &self.on_release.is_some())
            .finish()
    }
}

impl AliasTableBuilder {
    /// Allocates room for `refs` refs up front (default 0). The table still
    /// grows past it on demand. The room is real allocation (zeroed memory,
    /// which most kernels back with pages only when first touched), and it
    /// counts in [`AliasTable::memory_bytes`] whether used or not. If memory runs out while preallocating, the
    /// table keeps what it got and grows later like any other.
    pub fn capacity(mut self, refs: usize) -> Self {
        self.capacity = refs;
        self
    }

    /// The most refs the table will hand out; `register` returns
    /// [`AliasError::CapacityExhausted`] beyond it. Values above
    /// [`AliasTable::MAX_REFS`] (the default) are lowered to it.
    pub fn max_refs(mut self, refs: usize) -> Self {
        self.max_refs = refs;
        self
    }

    /// How many refs one slot holds in turn before it is retired: released
    /// slots are reused with generations `0..generations`, and a slot whose
    /// last generation is released is never reused, so a generation never
    /// wraps. The default and the most is [`AliasTable::GENERATIONS`];
    /// values are clamped to `1..=GENERATIONS`. Lowering it costs memory
    /// under churn (a retired slot stays allocated) and is mainly for
    /// testing wrap-around.
    ///
    /// ```
    /// use halo_alias::{AliasError, AliasTable};
    ///
    /// // One generation per slot: a released ref's slot is never reused.
    /// let table = AliasTable::builder().generations(1).build();
    /// let r = table.register()?;
    /// table.add_canonical(r)?;
    /// table.decref(r)?;
    /// assert_eq!(table.resolve(r), Err(AliasError::StaleRef(r)));
    /// assert_ne!(table.register()?.index(), r.index());
    /// # Ok::<(), AliasError>(())
    /// ```
    pub fn generations(mut self, generations: u32) -> Self {
        self.generations = generations.clamp(1, AliasTable::GENERATIONS);
        self
    }

    /// Calls `handler` once for every ref that dies, on the thread whose
    /// call released it, after the ref became stale and before that call
    /// returns (see [`Released`] and the crate's Lifecycle section).
    ///
    /// An `Object` report starts only after every `Alias` report of its
    /// tree has returned. The handler runs with no lock held and may call
    /// back into the table (to `decref` the refs a freed object contained,
    /// say). If it panics, the panic reaches the call that released the
    /// ref, and the refs that this release would have released in turn
    /// stay alive; the released ref's slot (and its list's) is not reused;
    /// in the release of a cycle, the members not reported yet are released
    /// without a report.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use halo_alias::{AliasTable, Released};
    ///
    /// let freed = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&freed);
    /// let table = AliasTable::builder()
    ///     .on_release(move |released| {
    ///         if let Released::Object { .. } = released {
    ///             counter.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .build();
    /// let f = table.register()?;
    /// table.add_canonical(f)?;
    /// table.decref(f)?;
    /// assert_eq!(freed.load(Ordering::Relaxed), 1);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn on_release(mut self, handler: impl Fn(Released) + Send + Sync + 'static) -> Self {
        self.on_release = Some(std::sync::Arc::new(handler));
        self
    }

    /// Builds the table.
    pub fn build(self) -> AliasTable {
        let max_refs =
            u32::try_from(self.max_refs.min(AliasTable::MAX_REFS)).expect("MAX_REFS fits in u32");
        let table = AliasTable {
            targets: Segments::new(),
            reverse: ReverseTable::new(),
            holders: Segments::new(),
            indexes: Indexes::new(max_refs),
            futex: Futex::default(),
            rings: Mutex::new(()),
            on_release: self.on_release,
            recycler: Recycler::new(),
            waiters: Waiters::new(),
            generations: self.generations,
        };
        let preallocate = u32::try_from(self.capacity.min(max_refs as usize)).unwrap_or(max_refs);
        // Both tables segment by segment, so that running out of memory
        // leaves them with (nearly) the same room. Best effort, as documented: a
        // failure only means later growth.
        for start in Segments::<TargetSlot>::segment_starts(preallocate) {
            let grown = table
                .targets
                .grow_to(start)
                .and_then(|()| table.reverse.segments().grow_to(start))
                .and_then(|()| table.holders.grow_to(start));
            if grown.is_err() {
                break;
            }
        }
        table
    }
}

impl Default for AliasTableBuilder {
    fn default() -> Self {
        AliasTableBuilder {
            capacity: 0,
            max_refs: AliasTable::MAX_REFS,
            generations: AliasTable::GENERATIONS,
            on_release: None,
        }
    }
}

impl AliasTable {
    /// The most refs any table can hold: `2^32 - 5`.
    pub const MAX_REFS: usize = MAX_INDEX as usize + 1;

    /// The most refs one slot holds in turn (generations `0..GENERATIONS`,
    /// `2^14 - 1`); see [`AliasTableBuilder::generations`].
    pub const GENERATIONS: u32 = GENERATIONS;

    /// Bytes each ref costs across the tables, once its segment exists.
    pub const BYTES_PER_REF: usize = std::mem::size_of::<TargetSlot>()
        + std::mem::size_of::<crate::reverse::ReverseSlot>()
        + std::mem::size_of::<HolderSlot>();

    /// An empty table that allocates as refs are registered.
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// assert_eq!(table.len(), 0);
    /// ```
    pub fn new() -> Self {
        AliasTable::builder().build()
    }

    /// An empty table with room for `refs` refs before it grows.
    ///
    /// ```
    /// let table = halo_alias::AliasTable::with_capacity(1000);
    /// assert!(table.memory_bytes() >= 1000 * halo_alias::AliasTable::BYTES_PER_REF);
    /// ```
    pub fn with_capacity(refs: usize) -> Self {
        AliasTable::builder().capacity(refs).build()
    }

    /// A builder for the less common settings.
    ///
    /// ```
    /// let table = halo_alias::AliasTable::builder().max_refs(2).build();
    /// table.register().unwrap();
    /// table.register().unwrap();
    /// assert!(table.register().is_err());
    /// ```
    pub fn builder() -> AliasTableBuilder {
        AliasTableBuilder::default()
    }

    /// Registers a new ref. It starts UNINITIALIZED: no target, not canonical.
    ///
    /// Each thread claims indexes in blocks of 64 and hands them out from
    /// its own lane of the table, so registering threads do not contend.
    /// A table has 32 lanes; each belongs for the table's life to the
    /// first thread that registers through it, and threads beyond those 32
    /// share one more lane, taking its indexes one CAS at a time. The refs
    /// one thread registers in one table have increasing indexes
    /// (consecutive within a block, for a thread with a lane of its own);
    /// across threads they are unique but not dense. The rest of a block
    /// (at most 63 indexes) waits in its lane, in the table, however many
    /// other tables the thread registers in; it stays unused for good only
    /// if the lane's threads stop registering in this table (when they
    /// exit, say). So, `register` calls still running aside, at most
    /// 33 × 63 = 2079 indexes of a table are unused at any time, however
    /// many refs are registered, and every call rejects them as
    /// [`AliasError::UnknownRef`]. The last 4096 indexes below
    /// [`max_refs`](Self::max_refs) are claimed one at a time, so a table
    /// whose limit is at most 4096 hands out exactly `max_refs` refs.
    ///
    /// # Errors
    ///
    /// * [`AliasError::CapacityExhausted`]: every index below `max_refs`
    ///   is registered or waits in a lane the caller does not take from,
    ///   or memory for a new segment could not be had. The tables'
    ///   contents do not change (a segment allocated before the failure is
    ///   kept as room for later refs).
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let r = table.register()?;
    /// assert_eq!(table.target(r)?, None);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn register(&self) -> Result<ObjRef, AliasError> {
        if let Some(index) = self.recycler.take() {
            // A freed slot, past every reader of its old ref (`recycle`).
            let slot = self.slot_at(index);
            let generation = slot.generation().expect("freed slots were registered") + 1;
            slot.reset(generation);
            self.reverse.reset(index, REGISTERED);
            self.holder_slot(index).reset(1);
            slot.publish(generation);
            self.indexes.count_registered();
            return Ok(ObjRef::new(index, generation));
        }
        let index = self
            .indexes
            .take(|range| {
                self.targets
                    .grow_range(range.clone())
                    .and_then(|()| self.reverse.segments().grow_range(range.clone()))
                    .and_then(|()| self.holders.grow_range(range))
                    .is_ok()
            })
            .ok_or(AliasError::CapacityExhausted)?;
        // Relaxed: published with the ref by the Release store of its
        // generation word, which every call reads (Acquire) first.
        self.reverse
            .life(index)
            .store(REGISTERED, crate::sync::Ordering::Relaxed);
        self.holder_slot(index).reset(1);
        self.slot_at(index).publish(0);
        Ok(ObjRef::new(index, 0))
    }

    /// How many refs are live: registered and not released. Exact once
    /// the calls that registered and released them have returned and
    /// happened-before this call; calls still running may or may not count.
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let r = table.register()?;
    /// assert_eq!(table.len(), 1);
    /// table.add_canonical(r)?;
    /// table.decref(r)?;
    /// assert_eq!(table.len(), 0);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn len(&self) -> usize {
        // The counts are statistics, read with Relaxed loads: while calls
        // run, the difference may be off for a moment (never below zero).
        let released = self.indexes.released();
        self.indexes.registered().saturating_sub(released)
    }

    /// Whether no ref is live.
    ///
    /// ```
    /// assert!(halo_alias::AliasTable::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most refs this table hands out.
    ///
    /// ```
    /// assert_eq!(halo_alias::AliasTable::new().max_refs(), halo_alias::AliasTable::MAX_REFS);
    /// ```
    pub fn max_refs(&self) -> usize {
        self.indexes.max() as usize
    }

    /// Bytes the tables hold: the allocated segments of both tables plus
    /// the table itself. Each registered ref costs
    /// [`BYTES_PER_REF`](Self::BYTES_PER_REF); segments are allocated so
    /// that, past any capacity reserved up front, at most 12.5% (plus 64
    /// slots) of the slots are headroom.
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let empty = table.memory_bytes();
    /// table.register()?;
    /// assert!(table.memory_bytes() > empty);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.targets.heap_bytes()
            + self.reverse.segments().heap_bytes()
            + self.holders.heap_bytes()
            + self.waiters.heap_bytes()
    }

    /// The slot of a live ref handed out by this table, or `UnknownRef`
    /// or `StaleRef`.
    #[inline]
    fn slot(&self, r: ObjRef) -> Result<&TargetSlot, AliasError> {
        let slot = self
            .targets
            .get(r.index())
            .ok_or(AliasError::UnknownRef(r))?;
        Self::check_live(slot, r).map(|()| slot)
    }

    /// A seqlock read of live ref `r` (see `recycle`): `r` is checked
    /// live, `read` runs on its slot, and `r` is checked again, so that
    /// what `read` returned is `r`'s: live after, it was live throughout
    /// (generations only grow). `read`'s loads are Acquire, which keeps
    /// the second check after them. A caller that reads other refs' rows
    /// through `r` (its path, its list) holds a guard, so that none of
    /// them is reused under it while `r` lives.
    #[inline]
    pub(crate) fn read_live<T>(
        &self,
        r: ObjRef,
        read: impl FnOnce(&TargetSlot) -> T,
    ) -> Result<T, AliasError> {
        let slot = self.slot(r)?;
        let value = read(slot);
        Self::check_live(slot, r)?;
        Ok(value)
    }

    /// Whether `slot`, the slot of `r`'s index, holds `r` live now.
    #[inline]
    pub(crate) fn check_live(slot: &TargetSlot, r: ObjRef) -> Result<(), AliasError> {
        match slot.registration(r.generation()) {
            Registration::Live => Ok(()),
            Registration::Dead => Err(AliasError::StaleRef(r)),
            Registration::Unknown => Err(AliasError::UnknownRef(r)),
        }
    }

    /// The slot at an index that an edge or a list points to: registered.
    #[inline]
    pub(crate) fn slot_at(&self, index: u32) -> &TargetSlot {
        self.targets
            .get(index)
            .expect("edges and lists only point to registered refs, whose segments exist")
    }

    /// The ref registered at `index`.
    #[inline]
    pub(crate) fn ref_at(&self, index: u32) -> ObjRef {
        ObjRef::new(index, self.slot_at(index).generation().unwrap_or(0))
    }
}

impl Default for AliasTable {
    fn default() -> Self {
        AliasTable::new()
    }
}

impl fmt::Debug for AliasTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AliasTable")
            .field("len", &self.len())
            .field("max_refs", &self.max_refs())
            .field("memory_bytes", &self.memory_bytes())
            .finish_non_exhaustive()
    }
}
