//! The read-only queries: `is_canonical`, `target`, `aliases` and
//! `equivalent` (every ref of one object, for reference counting).

use super::AliasTable;
use crate::target::Edge;
use crate::walk::{compress, Follow, WalkEnd};
use crate::{AliasError, ObjRef};

impl AliasTable {
    /// Whether `r` is canonical.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released (also if it is
    ///   released while this call runs).
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let r = table.register()?;
    /// assert!(!table.is_canonical(r)?);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn is_canonical(&self, r: ObjRef) -> Result<bool, AliasError> {
        self.read_live(r, |slot| slot.edge() == Edge::Canonical)
    }

    /// `r`'s direct edge: its target, itself if canonical, `None` if unknown.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released (also if it is
    ///   released while this call runs).
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let (h, g) = (table.register()?, table.register()?);
    /// table.alias(h, g)?;
    /// assert_eq!(table.target(h)?, Some(g));
    /// assert_eq!(table.target(g)?, None);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn target(&self, r: ObjRef) -> Result<Option<ObjRef>, AliasError> {
        // Checked under the guard: `r`'s slot and its target's (which `r`
        // pins while live) are not reused before it drops (see `recycle`).
        let _guard = self.recycler.pin();
        self.read_live(r, |slot| match slot.edge() {
            Edge::Alias(target) => Some(self.ref_at(target)),
            Edge::Canonical => Some(r),
            Edge::Open { .. } => None,
        })
    }

    /// The refs whose direct target is `r`, in index order.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released (also if it is
    ///   released while this call runs).
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let (f, x, y) = (table.register()?, table.register()?, table.register()?);
    /// table.alias(y, f)?;
    /// table.alias(x, f)?;
    /// assert_eq!(table.aliases(f)?, vec![x, y]);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn aliases(&self, r: ObjRef) -> Result<Vec<ObjRef>, AliasError> {
        // The guard keeps every node of the list from being reused while
        // the list is read (see `recycle`).
        let _guard = self.recycler.pin();
        let mut aliases = self.read_live(r, |_| {
            let mut aliases = Vec::new();
            self.reverse.for_each_alias(
                |i| self.slot_at(i),
                r.index(),
                |index, generation| aliases.push(ObjRef::new(index, generation)),
            );
            aliases
        })?;
        aliases.sort_unstable_by_key(|alias| alias.index());
        Ok(aliases)
    }

    /// Every ref of `r`'s object: the root of `r`'s tree first (its
    /// canonical ref, or while unresolved the furthest known target), then
    /// every ref that aliases the root directly or transitively, in index
    /// order, each once.
    ///
    /// The result always holds `r` and every ref on `r`'s path to the
    /// root, and every ref whose path to the root consists of edges that
    /// are on `r`'s path or whose `alias` calls returned before this call
    /// began. It never holds a ref
    /// outside the root's tree, nor any ref twice.
    ///
    /// # Errors
    ///
    /// * [`AliasError::UnknownRef`]: `r` was not handed out by this table.
    /// * [`AliasError::StaleRef`]: `r` was released (also if it is
    ///   released while this call runs).
    /// * [`AliasError::Cycle`]: `r` is on or leads into a cycle (it has no
    ///   root). A cycle that racing calls close through the root during the
    ///   search may also end it with this error.
    ///
    /// # Examples
    ///
    /// ```
    /// let table = halo_alias::AliasTable::new();
    /// let (f, x, y, z) = (table.register()?, table.register()?, table.register()?, table.register()?);
    /// table.alias(x, f)?;
    /// table.alias(y, f)?;
    /// table.alias(z, x)?;
    /// assert_eq!(table.equivalent(z)?, vec![f, x, y, z]);
    /// # Ok::<(), halo_alias::AliasError>(())
    /// ```
    pub fn equivalent(&self, r: ObjRef) -> Result<Vec<ObjRef>, AliasError> {
        // The guard keeps every slot the search reads from being reused
        // under it (see `recycle`).
        let _guard = self.recycler.pin();
        let slot = self.slot(r)?;
        let walked = self.walk(r.index(), None, Follow::Jumps, None);
        // Every answer is `r`'s only if `r` is still live after what it
        // was read from (as in `read_live`, whose one read this search
        // does not fit): a ref that died mid-call may have had a cycle
        // closed beyond its path since.
        let cycle = || {
            Self::check_live(slot, r)
                .err()
                .unwrap_or(AliasError::Cycle(r))
        };
        let root = match walked.end {
            WalkEnd::Canonical(root) => root.index,
            WalkEnd::Open(root) => root,
            WalkEnd::Cycle => return Err(cycle()),
            WalkEnd::Stopped | WalkEnd::TimedOut(_) => {
                unreachable!("walk without a stop or deadline")
            }
        };
        compress(|i| self.slot_at(i), r.index(), walked);
        // The refs of `r`'s own path, by edges, bottom up, whose reverse
        // listing may still be in flight in other threads (not marked
        // listed yet): their edges are there, their list entries may not be.
        let mut path = Vec::new();
        let mut at = r.index();
        while at != root {
            let slot = self.slot_at(at);
            if !slot.is_listed() {
                path.push(at);
            }
            match slot.edge() {
                Edge::Alias(next) => at = next,
                // Unreachable: the walk above reached `root` along these
                // final edges.
                _ => break,
            }
        }
        let mut gathering = Gathering::new(root, &path);
        self.gather(root, &mut gathering)
            .map_err(|ClosedCycle| cycle())?;
        // A path ref not reached from above is not listed yet: its subtree
        // hangs from it alone, so gather it from there.
        for position in (0..path.len()).rev() {
            if !gathering.reached[position] {
                gathering.reach(self.ref_at(path[position]));
                self.gather(path[position], &mut gathering)
                    .map_err(|ClosedCycle| cycle())?;
            }
        }
        let mut members = gathering.members;
        members.sort_unstable_by_key(|member| member.index());
        debug_assert!(
            members
                .windows(2)
                .all(|pair| pair[0].index() != pair[1].index()),
            "a ref gathered twice"
        );
        let mut equivalent = Vec::with_capacity(members.len() + 1);
        equivalent.push(self.ref_at(root));
        equivalent.extend(members);
        // Checked again: `r` live now was live throughout, pinning its path
        // and root, and the other members were read live; had `r` died
        // meanwhile, its tree might have been released under the search.
        Self::check_live(slot, r)?;
        Ok(equivalent)
    }

    /// Adds every ref listed below `from` (depth first) to `gathering`.
    ///
    /// Every ref is in at most one list, so the only ref the search can meet
    /// twice is the root, and only once the root's own edge has closed a
    /// cycle through its tree (racing `alias` calls): that is the error.
    fn gather(&self, from: u32, gathering: &mut Gathering) -> Result<(), ClosedCycle> {
        let mut pending = vec![from];
        let mut closed_cycle = false;
        while let Some(target) = pending.pop() {
            self.reverse.for_each_alias(
                |i| self.slot_at(i),
                target,
                |alias, generation| {
                    if alias == gathering.root {
                        closed_cycle = true;
                    } else {
                        gathering.reach(ObjRef::new(alias, generation));
                        pending.push(alias);
                    }
                },
            );
            if closed_cycle {
                return Err(ClosedCycle);
            }
        }
        Ok(())
    }

    /// Calls `f` with every live ref and its direct edge.
    pub(crate) fn for_each_edge(&self, mut f: impl FnMut(ObjRef, Option<ObjRef>)) {
        for index in 0..self.indexes.claimed() {
            // One guard per ref, so that a long export holds up no reuse:
            // a live ref's target is live and not reused under it.
            let _guard = self.recycler.pin();
            // The claim count is Relaxed, so the slot's segment may not be
            // visible yet; such an index is not registered yet.
            let Some(slot) = self.targets.get(index) else {
                continue;
            };
            // One load: a ref seen live after the guard was taken is not
            // reused under it (two loads could pair an old generation with
            // a newer ref's liveness).
            let Some((generation, dead)) = slot.generation_and_death() else {
                continue; // reserved, not registered (yet)
            };
            if dead {
                continue; // released
            }
            let r = ObjRef::new(index, generation);
            let target = match slot.edge() {
                Edge::Alias(target) => Some(self.ref_at(target)),
                Edge::Canonical => Some(r),
                Edge::Open { .. } => None,
            };
            f(r, target);
        }
    }
}

/// The state of one `equivalent` search.
struct Gathering {
    root: u32,
    /// The searched ref's path to the root, sorted, with positions in `path`.
    path_sorted: Vec<(u32, usize)>,
    /// Which refs of the path the search has reached, by position in `path`.
    reached: Vec<bool>,
    members: Vec<ObjRef>,
}

impl Gathering {
    fn new(root: u32, path: &[u32]) -> Self {
        let mut path_sorted: Vec<(u32, usize)> = path
            .iter()
            .enumerate()
            .map(|(position, &index)| (index, position))
            .collect();
        path_sorted.sort_unstable();
        Gathering {
            root,
            path_sorted,
            reached: vec![false; path.len()],
            members: Vec::new(),
        }
    }

    fn reach(&mut self, member: ObjRef) {
        let index = member.index();
        self.members.push(member);
        if let Ok(found) = self
            .path_sorted
            .binary_search_by_key(&index, |&(ref_index, _)| ref_index)
        {
            self.reached[self.path_sorted[found].1] = true;
        }
    }
}

/// `equivalent` met its root again below itself.
struct ClosedCycle;
