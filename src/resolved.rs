//! The futures of [`AliasTable::resolved`] and
//! [`AliasTable::resolved_owned`]: one poll state, borrowed or owned
//! table.
//!
//! The first poll answers at once if it can (no allocation). Otherwise it
//! allocates its waiter node together with the slot it shares with it
//! (`waiters::FutureCell`, one allocation), with the poll's waker
//! registered before the node is listed, so that a completion racing the
//! registration wakes it. Later polls register their
//! waker and then check the slot. Dropping a pending future marks the slot
//! abandoned; the list's sweeper frees the node.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::waiters::{Answer, FutureCell, NewNode};
use crate::{AliasError, AliasTable, ObjRef};

/// Where a future is.
enum Stage {
    /// Not polled yet.
    Start,
    /// Waiting: its waiter is in a list.
    Waiting(Arc<FutureCell>),
    /// Answered (further polls give the answer again).
    Done(Answer),
}

/// A future's poll state, shared by both futures.
struct Wait {
    r: ObjRef,
    stage: Stage,
}

impl Wait {
    fn poll(&mut self, table: &AliasTable, cx: &mut Context<'_>) -> Poll<Answer> {
        let answer = match &self.stage {
            Stage::Done(answer) => Some(*answer),
            Stage::Waiting(cell) => cell.slot().poll(cx.waker()),
            Stage::Start => self.start(table, cx),
        };
        match answer {
            Some(answer) => {
                self.stage = Stage::Done(answer);
                Poll::Ready(answer)
            }
            None => Poll::Pending,
        }
    }

    /// The first poll: the answer if it is known, else a waiter listed.
    fn start(&mut self, table: &AliasTable, cx: &mut Context<'_>) -> Option<Answer> {
        match table.known_answer(self.r) {
            Err(error) => return Some(Err(error)),
            Ok(Some(answer)) => return Some(answer),
            Ok(None) => {}
        }
        let (node, cell) = NewNode::future(self.r, cx.waker());
        if let Err(error) = table.listen(self.r, node) {
            return Some(Err(error));
        }
        // `listen` may have answered at once.
        let answer = cell.slot().answer();
        self.stage = Stage::Waiting(cell);
        answer
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if let Stage::Waiting(cell) = &self.stage {
            cell.slot().abandon();
        }
    }
}

/// The future of [`AliasTable::resolved`]: `r`'s canonical ref, or why
/// there is none. See there.
#[must_use = "futures do nothing unless polled"]
pub struct Resolved<'a> {
    table: &'a AliasTable,
    wait: Wait,
}

impl<'a> Resolved<'a> {
    pub(crate) fn new(table: &'a AliasTable, r: ObjRef) -> Self {
        Resolved {
            table,
            wait: Wait {
                r,
                stage: Stage::Start,
            },
        }
    }
}

impl Future for Resolved<'_> {
    type Output = Result<ObjRef, AliasError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.wait.poll(this.table, cx)
    }
}

/// The future of [`AliasTable::resolved_owned`]: [`Resolved`] holding an
/// `Arc` of its table, so `'static`.
#[must_use = "futures do nothing unless polled"]
pub struct OwnedResolved {
    table: Arc<AliasTable>,
    wait: Wait,
}

impl OwnedResolved {
    pub(crate) fn new(table: Arc<AliasTable>, r: ObjRef) -> Self {
        OwnedResolved {
            table,
            wait: Wait {
                r,
                stage: Stage::Start,
            },
        }
    }
}

impl Future for OwnedResolved {
    type Output = Result<ObjRef, AliasError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.wait.poll(&this.table, cx)
    }
}

impl fmt::Debug for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match &self.stage {
            Stage::Start => "start",
            Stage::Waiting(_) => "waiting",
            Stage::Done(_) => "done",
        };
        f.debug_struct("Wait")
            .field("r", &self.r)
            .field("stage", &stage)
            .finish()
    }
}

impl fmt::Debug for Resolved<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved")
            .field("r", &self.wait.r)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for OwnedResolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedResolved")
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}
