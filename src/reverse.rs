//! The reverse table: for each target, the list of refs that alias it.
//!
//! Each ref has two link words: `first`, the head of the list of its own
//! aliases, and `next`, its place in its target's list. A ref has at most
//! one target, so it is in at most one list, and the lists need no memory
//! besides these two words: no allocation per edge.
//!
//! # Link words
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
//! 1. **Fix the successor.** Read `t.first` as `s` and CAS `a.next` from
//!    `Unlisted` to `s`. If the CAS fails, someone else already fixed it:
//!    use the value found. From now on `a.next` never changes except
//!    through step 2 run for *another* node (splicing after `a`).
//! 2. **Splice before the successor.** Walk from `t.first`; if the walk
//!    meets `a`, it is in the list: done. At the link that holds `s`, CAS
//!    it from `s` to `a`. If that CAS fails, the link changed (another
//!    node was spliced there): re-read the same link and go on.
//!
//! Invariants, and why no interleaving breaks them:
//!
//! * **A reachable node stays reachable.** The only writes to a link are
//!   step 2's CAS from `s` to `a` where `a.next` already holds `s`: the
//!   node `s` moves one step down, it is never cut out.
//! * **`s` is reachable, so the walk finds its link.** `s` was a head value
//!   (or `End`), hence reachable then, hence forever. Every node between
//!   the head and `s` was spliced after `s`, in front of it.
//! * **`a` is spliced at most once.** Once `a` is reachable, it lies
//!   between the head and `s` (it was spliced in front of `s`, and nodes
//!   spliced later go in front of their own successors, never behind `s`),
//!   so every walk meets `a` before the link that holds `s`, and stops.
//! * **Idempotent and helpable.** Any number of threads may run the
//!   protocol for the same `(t, a)`: all agree on `s` (step 1) and exactly
//!   one splice succeeds. So a duplicate `alias` call can finish the
//!   insertion for a stalled original and return only once the edge is
//!   listed: nobody waits on anyone (lock-free).
//!
//! The fast path, with no contention, is one load and two CASes.
//!
//! Orderings: every CAS that makes a node reachable (or fixes `a.next`) is
//! `AcqRel`, and every read of a link is `Acquire`: a reader that reaches a
//! node through a link sees that node's `next` as written before the link.

use crate::segments::Segments;
use crate::sync::{AtomicU32, Ordering};

const UNLISTED: u32 = 0;
const END: u32 = 1;
const NODE_BASE: u32 = 2;

/// A decoded link word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    Unlisted,
    End,
    Node(u32),
}

impl Link {
    fn decode_next(word: u32) -> Link {
        match word {
            UNLISTED => Link::Unlisted,
            END => Link::End,
            node => Link::Node(node - NODE_BASE),
        }
    }

    /// A head word: an empty head reads as the end of the list.
    fn decode_first(word: u32) -> Link {
        match Link::decode_next(word) {
            Link::Unlisted => Link::End,
            link => link,
        }
    }

    fn encode(self) -> u32 {
        match self {
            Link::Unlisted => UNLISTED,
            Link::End => END,
            Link::Node(index) => index + NODE_BASE,
        }
    }
}

/// One ref's row of the reverse table.
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct ReverseSlot {
    first: AtomicU32,
    next: AtomicU32,
}

// SAFETY: two `AtomicU32`s (`repr(C)`, no padding); all-zero is a valid
// `AtomicU32` and the slot's initial state (no aliases, unlisted).
#[cfg(not(loom))]
unsafe impl bytemuck::Zeroable for ReverseSlot {}

/// The reverse table.
#[derive(Debug)]
pub(crate) struct ReverseTable {
    slots: Segments<ReverseSlot>,
}

impl ReverseTable {
    pub(crate) fn new() -> Self {
        ReverseTable {
            slots: Segments::new(),
        }
    }

    pub(crate) fn segments(&self) -> &Segments<ReverseSlot> {
        &self.slots
    }

    /// The slot of a registered ref.
    #[inline]
    fn slot(&self, index: u32) -> &ReverseSlot {
        self.slots
            .get(index)
            .expect("registered refs have their reverse slot allocated before they are published")
    }

    /// Lists `alias` among `target`'s aliases (the module's protocol).
    /// Safe to call any number of times, from any threads, for one pair.
    pub(crate) fn insert(&self, target: u32, alias: u32) {
        let head = &self.slot(target).first;
        let alias_next = &self.slot(alias).next;
        let me = Link::Node(alias);

        // Step 1: fix the successor.
        let proposed = Link::decode_first(head.load(Ordering::Acquire));
        let successor = match alias_next.compare_exchange(
            UNLISTED,
            proposed.encode(),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => proposed,
            Err(fixed) => Link::decode_next(fixed),
        };

        // Step 2: splice in front of the successor.
        let mut link: &AtomicU32 = head;
        let mut decode: fn(u32) -> Link = Link::decode_first;
        loop {
            let word = link.load(Ordering::Acquire);
            let current = decode(word);
            if current == me {
                return;
            }
            if current == successor {
                match link.compare_exchange(word, me.encode(), Ordering::AcqRel, Ordering::Acquire)
                {
                    Ok(_) => return,
                    // Another node was spliced here: look at it next.
                    Err(_) => continue,
                }
            }
            match current {
                Link::Node(index) => {
                    link = &self.slot(index).next;
                    decode = Link::decode_next;
                }
                // Unreachable by the module's invariants: `successor` is
                // always reachable. Stop rather than spin if they broke.
                Link::End | Link::Unlisted => {
                    debug_assert!(false, "successor of {alias} not found in {target}'s list");
                    return;
                }
            }
        }
    }

    /// Calls `f` with every direct alias of `target`, newest first.
    pub(crate) fn for_each_alias(&self, target: u32, mut f: impl FnMut(u32)) {
        let mut link = Link::decode_first(self.slot(target).first.load(Ordering::Acquire));
        while let Link::Node(index) = link {
            f(index);
            link = Link::decode_next(self.slot(index).next.load(Ordering::Acquire));
        }
    }
}
