//! The reverse table: for each target, the list of refs that alias it.
//!
//! Each ref has a list head, `first`, in its row of the reverse table, and a `next` link in the high half of its target-table link word
//! (see `target`). A ref has at most one target, so it is in at most one
//! list, and the lists need no memory besides these words: no allocation
//! per edge.
//!
//! | value   | in `first`          | in `next`                          |
//! |---------|---------------------|------------------------------------|
//! | `0`     | empty list          | `Unlisted`: not in any list yet    |
//! | `1`     | (never written)     | `End`: last in its target's list   |
//! | `i + 2` | first alias is `i`  | the next sibling is `i`            |
//!
//! # Insertion protocol
//!
//! Lists are insert-only. Inserting alias `a` into target `t`'s list:
//!
//! 1. **Choose the successor.** Read `t.first` as `s`, or, if this thread
//!    last spliced ref `b` into `t`'s list, read `b.next` as `s` (so that
//!    threads aliasing many refs to one hot target write their own nodes'
//!    cache lines, not the shared head). The CAS that
//!    commits `a`'s edge (`Open` -> `Alias(t)`) writes `s` into `a.next` in
//!    the same word, so the successor is fixed exactly when the edge is,
//!    by the one call that won the edge. From then on `a.next` changes only
//!    through step 2 run for *another* node (splicing after `a`).
//! 2. **Splice before the successor.** Walk from `t.first` (from `b`, if
//!    step 1 read `b.next`: `s` was after `b`, so its link is too); if the walk
//!    meets `a`, it is in the list: done. At the link that holds `s`, CAS
//!    it from `s` to `a`. If that CAS fails, the link changed (another
//!    node was spliced there): re-read the same link and go on.
//! 3. **Mark** `a` listed (the `LISTED` bit of its stamp; only the call that
//!    committed the edge marks it, see `target`), so that a
//!    repeated `alias` call returns in O(1) instead of walking the list.
//!
//! Invariants, and why no interleaving breaks them:
//!
//! * **A reachable node stays reachable.** The only writes to a link are
//!   step 2's CAS from `s` to `a` where `a.next` already holds `s`: the
//!   node `s` moves one step down, it is never cut out.
//! * **`s` is reachable, so the walk finds its link.** `s` was a head value
//!   or the `next` of a listed node (or `End`), hence reachable then, hence
//!   forever. Every node between `b` (or the head) and `s` was spliced
//!   after `s` was read, in front of it, so a walk from `b` finds it too.
//! * **`a` is spliced at most once.** Once `a` is reachable, it lies
//!   between the head and `s` (it was spliced in front of `s`, and nodes
//!   spliced later go in front of their own successors, never behind `s`),
//!   so every walk meets `a` before the link that holds `s`, and stops.
//! * **Idempotent and helpable.** Any number of threads may run step 2 for
//!   the same `(t, a)`: all read the same `s` from `a.next`, and exactly one
//!   splice succeeds. So a repeated `alias` call can finish the insertion
//!   for a stalled original and return only once the edge is listed: nobody
//!   waits on anyone (lock-free). `LISTED` is only a shortcut: it is set
//!   after the splice, so a repeat that sees it needs no walk, and one that
//!   does not runs step 2, which finds `a` if it is there.
//!
//! With no contention an insertion is one load and one CAS (the head's, or
//! `b.next`'s), besides the edge's commit CAS that it shares. The remembered
//! `b` is thread-local and only ever a node this thread itself listed under
//! `t` in this table; lists are insert-only, so it stays in `t`'s list.
//!
//! Orderings: every CAS that makes a node reachable is `AcqRel`, and every
//! read of a link is `Acquire`: a reader that reaches a node through a link
//! sees that node's `next` as written before the link (the commit, or a
//! later splice).

use std::cell::Cell;

use crate::segments::Segments;
use crate::sync::{thread_local, AtomicU32, Ordering, UniqueIds};
use crate::target::{Link, TargetSlot};
use crate::ObjRef;

/// One ref's row of the reverse table: the head of its list of aliases,
/// and the ref's life word (holders, pins and state; see
/// `table::lifecycle`), which changes when aliases come and go.
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct ReverseSlot {
    first: AtomicU32,
    life: AtomicU32,
}

crate::segments::slots_per_line!(ReverseSlot, 8);

// SAFETY: two `AtomicU32`s (`repr(C)`, no padding); all-zero is a valid
// `AtomicU32` and the row's initial state (no aliases; the life word is
// set by `register` before the ref is published).
#[cfg(not(loom))]
unsafe impl bytemuck::Zeroable for ReverseSlot {}

/// An empty head reads as the end of the list.
#[inline]
fn decode_first(word: u32) -> Link {
    match Link::decode(word) {
        Link::Unlisted => Link::End,
        link => link,
    }
}

/// Where this thread last spliced a node: table id, target and node, each
/// ref with its generation (the slots may hold newer refs by now).
#[derive(Clone, Copy)]
struct LastSplice {
    table: u64,
    target: ObjRef,
    node: ObjRef,
}

thread_local! {
    #[allow(
        clippy::missing_const_for_thread_local,
        reason = "loom's `thread_local!` takes no `const` block"
    )]
    static LAST_SPLICE: Cell<LastSplice> = Cell::new(LastSplice {
        table: 0,
        target: ObjRef::new(0, 0),
        node: ObjRef::new(0, 0),
    });
}

/// Reverse-table ids (never 0), for `LAST_SPLICE`.
static TABLE_IDS: UniqueIds = UniqueIds::new();

/// Step 1's choice: the successor, and the listed node it was read from
/// (`None`: the head).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Successor {
    pub(crate) link: Link,
    after: Option<u32>,
}

/// The reverse table.
#[derive(Debug)]
pub(crate) struct ReverseTable {
    slots: Segments<ReverseSlot>,
    id: u64,
}

impl ReverseTable {
    pub(crate) fn new() -> Self {
        ReverseTable {
            slots: Segments::new(),
            id: TABLE_IDS.next(),
        }
    }

    pub(crate) fn segments(&self) -> &Segments<ReverseSlot> {
        &self.slots
    }

    /// The row of a registered ref.
    #[inline]
    fn row(&self, index: u32) -> &ReverseSlot {
        self.slots
            .get(index)
            .expect("registered refs have their reverse slot allocated before they are published")
    }

    /// The head of a registered ref.
    #[inline]
    fn head(&self, index: u32) -> &AtomicU32 {
        &self.row(index).first
    }

    /// The life word of a registered ref (see `table::lifecycle`).
    #[inline]
    pub(crate) fn life(&self, index: u32) -> &AtomicU32 {
        &self.row(index).life
    }

    /// Step 1: the successor an alias of `target` committed now gets.
    /// `target` must be live and held by the caller.
    #[inline]
    pub(crate) fn successor_for<'t>(
        &self,
        slot_of: impl Fn(u32) -> &'t TargetSlot,
        target: ObjRef,
    ) -> Successor {
        // `try_with`: a call from a thread-local destructor just uses the head.
        let last = LAST_SPLICE.try_with(Cell::get).ok();
        match last {
            // The same target (its slot not reused since), and the same node,
            // which therefore is still in the target's list: a node leaves a
            // list only when the list's owner is released (see `recycle`),
            // and the caller holds the target.
            Some(last)
                if last.table == self.id
                    && last.target == target
                    && slot_of(last.node.index()).generation() == Some(last.node.generation()) =>
            {
                Successor {
                    link: slot_of(last.node.index()).next(),
                    after: Some(last.node.index()),
                }
            }
            _ => Successor {
                link: decode_first(self.head(target.index()).load(Ordering::Acquire)),
                after: None,
            },
        }
    }

    /// The successor that a committed, unlisted alias holds in its `next`,
    /// for a repeat that helps: searched for from the head.
    pub(crate) fn committed(link: Link) -> Successor {
        Successor { link, after: None }
    }

    /// Step 2: splices `alias`, whose committed `next` is `successor`, into
    /// `target`'s list. Safe to call any number of times, from any threads,
    /// for one pair.
    pub(crate) fn splice<'t>(
        &self,
        slot_of: impl Fn(u32) -> &'t TargetSlot + Copy,
        target: ObjRef,
        alias: ObjRef,
        successor: Successor,
    ) {
        self.splice_from(slot_of, target.index(), alias.index(), successor);
        // Remembered only once listed, so it is always a node of the list.
        let _ = LAST_SPLICE.try_with(|last| {
            last.set(LastSplice {
                table: self.id,
                target,
                node: alias,
            })
        });
    }

    fn splice_from<'t>(
        &self,
        slot_of: impl Fn(u32) -> &'t TargetSlot,
        target: u32,
        alias: u32,
        successor: Successor,
    ) {
        let Successor {
            link: successor,
            after,
        } = successor;
        let me = Link::Node(alias);
        let head = self.head(target);
        // The link being looked at: the head, or a node's `next`.
        let mut at: Option<u32> = after;
        loop {
            let (word, current) = match at {
                None => {
                    let word = head.load(Ordering::Acquire);
                    (word, decode_first(word))
                }
                Some(node) => (0, slot_of(node).next()),
            };
            if current == me {
                return;
            }
            if current == successor {
                let spliced = match at {
                    None => head
                        .compare_exchange(word, me.encode(), Ordering::AcqRel, Ordering::Acquire)
                        .is_ok(),
                    Some(node) => slot_of(node).replace_next(successor, me).is_ok(),
                };
                if spliced {
                    return;
                }
                // Another node was spliced here: look at it next.
                continue;
            }
            match current {
                Link::Node(index) => at = Some(index),
                // Unreachable by the module's invariants: `successor` is
                // always reachable. Stop rather than spin if they broke.
                Link::End | Link::Unlisted => {
                    debug_assert!(false, "successor of {alias} not found in {target}'s list");
                    return;
                }
            }
        }
    }

    /// Calls `f` with every node of `target`'s list, released or not.
    pub(crate) fn for_each_node<'t>(
        &self,
        slot_of: impl Fn(u32) -> &'t TargetSlot,
        target: u32,
        mut f: impl FnMut(u32),
    ) {
        let mut link = decode_first(self.head(target).load(Ordering::Acquire));
        while let Link::Node(index) = link {
            // Read before `f`, which may free the node.
            link = slot_of(index).next();
            f(index);
        }
    }

    /// Resets the row of a freed slot for its next ref (see `recycle`):
    /// no aliases, and the life word of a fresh registration.
    pub(crate) fn reset(&self, index: u32, life: u32) {
        let row = self.row(index);
        // Release: a reader that sees a reset value then sees the old ref
        // dead (see `recycle`).
        row.first.store(0, Ordering::Release);
        row.life.store(life, Ordering::Release);
    }

    /// Calls `f` with every direct alias of `target` that is not released,
    /// in list order, and the generation it was registered with (read from
    /// the row that holds its `next` link anyway). A released alias has no
    /// live alias of its own (they would pin it), so nothing below it is
    /// skipped that is not released too.
    pub(crate) fn for_each_alias<'t>(
        &self,
        slot_of: impl Fn(u32) -> &'t TargetSlot,
        target: u32,
        mut f: impl FnMut(u32, u32),
    ) {
        let mut link = decode_first(self.head(target).load(Ordering::Acquire));
        while let Link::Node(index) = link {
            let slot = slot_of(index);
            if !slot.is_dead() {
                f(index, slot.generation().unwrap_or(0));
            }
            link = slot.next();
        }
    }
}
