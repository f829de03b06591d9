//! The implementations under test, behind one small trait each workload
//! drives generically: `AliasTable` and the designs a scheduler author
//! would otherwise write. Refs are `u32` indexes; the baselines check
//! nothing (they trust their caller), which only flatters them.

mod dash_map;
mod floor;
mod halo;
mod rw_lock;
mod two_mutex;
mod union_find;

pub(crate) use dash_map::DashMapTables;
pub(crate) use floor::Floor;
pub(crate) use halo::Halo;
pub(crate) use rw_lock::RwLockTables;
pub(crate) use two_mutex::TwoMutex;
pub(crate) use union_find::UfRush;

/// The index every table uses for "no target yet".
pub(crate) const OPEN: u32 = u32::MAX;

/// What every implementation can do: the three calls and resolution.
pub(crate) trait Aliasing: Send + Sync {
    /// The name in benchmark ids, charts and tables.
    const NAME: &'static str;
    /// Whether `resolve` follows a chain to its canonical ref, so that
    /// workloads can check the answer (`Floor` and `UfRush` answer
    /// something else by design).
    const RESOLVES: bool = true;
    /// A table with room for `refs` refs.
    fn with_capacity(refs: usize) -> Self;
    /// A new ref, UNINITIALIZED.
    fn register(&self) -> u32;
    /// `alias -> target`.
    fn alias(&self, alias: u32, target: u32);
    /// `r -> r`.
    fn add_canonical(&self, r: u32);
    /// `r`'s canonical ref (for `Floor`: the one load any answer costs).
    fn resolve(&self, r: u32) -> u32;
    /// Bytes the tables hold.
    fn memory_bytes(&self) -> usize;
}

/// Implementations with a reverse table and blocking resolvers: `resolve`
/// waits until the answer is known.
pub(crate) trait Scheduling: Aliasing {
    /// Every ref of `r`'s object, root first.
    fn equivalent(&self, r: u32) -> Vec<u32>;
}

/// Follows `next` from `r` to its canonical ref: `Some(canonical)`, or
/// `None` at an open end. The walk every lock-based baseline does under
/// its lock.
#[inline]
pub(crate) fn walk(r: u32, next: impl Fn(u32) -> u32) -> Result<u32, u32> {
    let mut at = r;
    loop {
        match next(at) {
            OPEN => return Err(at),
            target if target == at => return Ok(at),
            target => at = target,
        }
    }
}

/// The refs below `root` in a reverse table, depth first.
pub(crate) fn gather(root: u32, aliases_of: impl Fn(u32, &mut Vec<u32>)) -> Vec<u32> {
    let mut members = vec![root];
    let mut next = 0;
    while next < members.len() {
        let target = members[next];
        aliases_of(target, &mut members);
        next += 1;
    }
    members
}

/// Bytes held by a `Vec<u32>` target table and a `Vec<Vec<u32>>` reverse
/// table (the lock-based baselines' layout), by capacity.
#[allow(clippy::ptr_arg, reason = "capacity needs the Vec, not a slice")]
pub(crate) fn vec_tables_bytes(targets: &Vec<u32>, reverse: &Vec<Vec<u32>>) -> usize {
    targets.capacity() * 4
        + reverse.capacity() * std::mem::size_of::<Vec<u32>>()
        + reverse
            .iter()
            .map(|aliases| aliases.capacity() * 4)
            .sum::<usize>()
}
