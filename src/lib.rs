//! Lock-free object-reference alias tables for task schedulers.
//!
//! In a distributed task system a remote call returns object references
//! ("refs") at once and attaches the values later. A task may return a *ref*
//! instead of a value: if `h` returns `g()` and `g` returns `f()`, the
//! scheduler receives, in any order and from any threads,
//!
//! * [`alias(ref_h, ref_g)`](AliasTable::alias) and `alias(ref_g, ref_f)`,
//! * [`add_canonical(ref_f)`](AliasTable::add_canonical) once `f`'s value is stored.
//!
//! [`AliasTable`] keeps the **target table** (each ref's direct edge:
//! UNINITIALIZED, an alias of another ref, or canonical, mapping to itself)
//! and the **reverse table** (each ref's direct aliases), answers
//! [`resolve`](AliasTable::resolve) (the canonical ref, waiting until it is
//! known) and [`equivalent`](AliasTable::equivalent) (every ref of one
//! object, for reference counting). Refs passed by value give one target
//! many aliases: the alias graph is a forest.
//!
//! # Usage
//!
//! ```
//! use halo_alias::AliasTable;
//!
//! let table = AliasTable::new();
//! let [h, g, f] = [(); 3].map(|()| table.register().unwrap());
//! std::thread::scope(|s| {
//!     let puller = s.spawn(|| table.resolve(h)); // waits: nothing known yet
//!     s.spawn(|| table.add_canonical(f).unwrap());
//!     s.spawn(|| table.alias(g, f).unwrap());
//!     s.spawn(|| table.alias(h, g).unwrap());
//!     assert_eq!(puller.join().unwrap(), Ok(f));
//! });
//! assert_eq!(table.equivalent(g).unwrap(), vec![f, h, g]);
//! ```
//!
//! # Lifecycle
//!
//! [`register`](AliasTable::register) returns a ref with one holder that
//! is *pending* until its own `alias` or `add_canonical` takes effect;
//! [`incref`](AliasTable::incref) and [`decref`](AliasTable::decref) add
//! and drop holders, and each live alias pins its target. A ref dies when
//! it has no holders, is not pending and no live alias pins it, and the
//! handler set with [`on_release`](AliasTableBuilder::on_release) is told
//! once per dead ref ([`Released::Alias`]) and once per object
//! ([`Released::Object`]), bottom-up: an object's report starts after every
//! report of its aliases has returned. A released ref is stale: every call
//! with it returns [`AliasError::StaleRef`]. Refs on a cycle are released
//! together, once nothing outside holds them.
//!
//! ```
//! use halo_alias::{AliasTable, Released};
//!
//! let table = AliasTable::builder()
//!     .on_release(|released| println!("{released:?}"))
//!     .build();
//! let (g, f) = (table.register()?, table.register()?);
//! table.alias(g, f)?;
//! table.add_canonical(f)?;
//! table.decref(f)?; // g still pins f
//! table.decref(g)?; // prints the Alias of g, then the Object of f
//! assert_eq!(table.len(), 0);
//! # Ok::<(), halo_alias::AliasError>(())
//! ```
//!
//! # Consistency
//!
//! * **Order independence.** For a consistent set of calls (each ref given
//!   one target or declared canonical, no cycle), every interleaving leaves
//!   the same tables, and every resolver that returns `Ok` returns the same
//!   canonical ref. Of conflicting calls (`alias(a, b)` racing `alias(a, c)`
//!   or `add_canonical(a)`) exactly one takes effect; every other returns
//!   an error (none takes effect only if each of them would close a cycle).
//! * **Idempotence.** Repeating a call that took effect returns `Ok` and
//!   changes nothing; the exceptions are an `alias` whose edge lies on a
//!   cycle that racing calls closed (its repeats return `Err(Cycle)`, so
//!   that a retrying scheduler learns of the cycle), and a call whose ref
//!   has been released since (`Err(StaleRef)`: the release may have been
//!   that call's own doing, if nobody held the ref).
//! * **Errors change nothing.** Every error leaves both tables as they
//!   were, with one exception: when racing `alias` calls close a cycle
//!   *together*, each has already taken effect by the time the cycle exists.
//!   At least one of them returns [`AliasError::Cycle`], the edges stay, and
//!   every ref on or leading into the cycle answers `Err(Cycle)` to
//!   `resolve`, `resolve_timeout`, `try_resolve` and `equivalent` from then
//!   on. A cycle visible when `alias` starts is refused with no change.
//! * **No hang on cycles.** Resolvers never sleep on a cycle: a path with a
//!   cycle has no open end to sleep on, and a resolver asleep on an open end
//!   that a cycle closes is woken and reports it.
//! * **Visibility.** A call that returned happens-before every call ordered
//!   after it (on the same thread, or after any synchronisation: a join, a
//!   channel, an RPC reply): `aliases(t)` includes every alias of `t` whose
//!   `alias` call returned before it began, and `equivalent(r)` every ref
//!   whose path to `r`'s root consists of edges that are on `r`'s own path
//!   or whose `alias` calls returned before it began (and all of `r`'s own
//!   path in any case); `resolve`
//!   wakes as soon as the call that completes the path returns. Release
//!   never depends on `equivalent`: it counts pins instead.
//!
//! # Progress and cost
//!
//! `register`, `alias`, `add_canonical`, `try_resolve`, `target`,
//! `aliases`, `equivalent`, `is_canonical`, `incref`, `decref` and
//! `holders` are lock-free: no locks, and no call waits for another
//! thread's progress (except that the counts of refs on a cycle change
//! under a per-table lock). `resolve` sleeps on a futex
//! only while the answer is unknown; a completion makes a wake syscall only
//! if a resolver announced itself on that ref (a resolver that timed out
//! leaves its announcement, costing that completion one needless wake).
//!
//! `register` takes indexes from the calling thread's own lane of the
//! table, refilled 64 at a time, so registering threads share no counter; indexes are unique but, across
//! threads, not dense (see [`AliasTable::register`]). Resolving a
//! completed path is amortized O(1) whatever its length (path compression
//! into a per-ref canonical cache, beside the original edges), and so are
//! calls on unfinished paths (jumps toward the open end). Each ref
//! costs [`AliasTable::BYTES_PER_REF`] (26) bytes across the tables, and
//! no edge allocates. The tables grow in segments that never move (at most
//! 12.5% headroom), up to [`AliasTable::MAX_REFS`] refs.
//!
//! # Safety and correctness
//!
//! Each protocol is written down at the top of its module: the 16-byte row
//! with its edge, waiter flag, jump and canonical cache (`target`), walks
//! and path compression (`walk`), the insert-only reverse lists
//! (`reverse`), cycle detection across racing calls (`table::alias`), the
//! lifecycle (`table::lifecycle`), growth
//! (`segments`), index lanes (`indexes`). All atomics,
//! thread locals and the futex go through one `sync` module that becomes
//! loom's under `cfg(loom)`; the models in `loom-tests/`
//! check the protocols exhaustively under a stated preemption bound, with a
//! futex shim that really blocks, so a lost wake-up is a loom deadlock.
//! `unsafe` is confined to segment pointers and the timed futex syscall.

mod dot;
mod error;
mod indexes;
mod obj_ref;
mod recycle;
mod resolved;
mod reverse;
mod segments;
mod sync;
mod table;
mod target;
mod waiters;
mod walk;

pub use error::AliasError;
pub use obj_ref::ObjRef;
pub use resolved::{OwnedResolved, Resolved};
pub use table::{AliasTable, AliasTableBuilder, Released};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
