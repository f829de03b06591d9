//! The scheduler: places tasks, forwards resolutions, has objects shipped
//! and broadcasts releases. One thread, one inbox; it never waits on a ref.
//!
//! Its inbox is FIFO in happens-before order, which the protocol relies
//! on twice: a worker sends `Stored(c)` before it calls `add_canonical(c)`,
//! so the directory knows `c`'s owner before any resolution to `c` arrives;
//! and a release is reported after the call that dropped the last holder,
//! so `Free(r)` follows every message about `r`.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;

use halo_alias::{AliasError, ObjRef, Released};

use super::worker::Msg;
use super::{Client, Stats, Task};

/// What reaches the scheduler.
pub(super) enum Event {
    /// A remote call.
    Submit(Task),
    /// `worker` stored `canonical`'s object and is about to declare it.
    Stored { canonical: ObjRef, worker: usize },
    /// A worker's `on_resolved(r)` fired (on the completing thread).
    Resolved {
        worker: usize,
        r: ObjRef,
        answer: Result<ObjRef, AliasError>,
    },
    /// The table's release report.
    Released(Released),
    /// Pass on what came before, then stop every worker.
    Stop,
}

/// Which stores hold a copy of one canonical object.
#[derive(Debug)]
struct Copies {
    owner: usize,
    /// Bit `w`: worker `w` holds a copy or has one on its way.
    stores: u64,
}

pub(super) struct Scheduler {
    inbox: Receiver<Event>,
    client: Client,
    directory: HashMap<ObjRef, Copies>,
    next_worker: usize,
}

impl Scheduler {
    pub(super) fn new(inbox: Receiver<Event>, client: Client) -> Scheduler {
        Scheduler {
            inbox,
            client,
            directory: HashMap::new(),
            next_worker: 0,
        }
    }

    pub(super) fn run(mut self) {
        while let Ok(event) = self.inbox.recv() {
            match event {
                Event::Submit(task) => self.place(task),
                Event::Stored { canonical, worker } => {
                    let copies = Copies {
                        owner: worker,
                        stores: 1 << worker,
                    };
                    self.directory.insert(canonical, copies);
                }
                Event::Resolved { worker, r, answer } => self.resolved(worker, r, answer),
                Event::Released(released) => self.released(released),
                Event::Stop => break,
            }
        }
        for worker in 0..self.client.workers() {
            self.send(worker, Msg::Stop);
        }
    }

    /// Round robin: by-value arguments are shipped wherever a task lands.
    fn place(&mut self, task: Task) {
        let worker = self.next_worker;
        self.next_worker = (worker + 1) % self.client.workers();
        self.send(worker, Msg::Run(task));
    }

    /// Tells `worker` what `r` resolved to and, the first time that store
    /// needs the object, has its owner ship it.
    fn resolved(&mut self, worker: usize, r: ObjRef, answer: Result<ObjRef, AliasError>) {
        if let Ok(canonical) = answer {
            let trace = &self.client.shared.trace;
            match self.directory.get_mut(&canonical) {
                Some(copies) if copies.stores & (1 << worker) == 0 => {
                    copies.stores |= 1 << worker;
                    let owner = copies.owner;
                    trace.say("scheduler", || {
                        let c = trace.of(canonical);
                        if r == canonical {
                            format!("{c} is canonical: worker {owner} ships it to worker {worker}")
                        } else {
                            let r = trace.of(r);
                            format!("{r} -> {c}: notify worker {worker}; worker {owner} ships {c}")
                        }
                    });
                    Stats::count(&self.client.shared.stats.ships);
                    self.send(
                        owner,
                        Msg::Ship {
                            canonical,
                            to: worker,
                        },
                    );
                }
                Some(_) => trace.say("scheduler", || {
                    format!(
                        "{} -> {}: notify worker {worker} (it has the object)",
                        trace.of(r),
                        trace.of(canonical)
                    )
                }),
                // Stored always precedes the resolution (see the module).
                None => unreachable!("{canonical} resolved before it was stored"),
            }
        }
        self.send(worker, Msg::Resolved { r, answer });
    }

    fn released(&mut self, released: Released) {
        let stats = &self.client.shared.stats;
        let trace = &self.client.shared.trace;
        let r = match released {
            Released::Alias { alias, target } => {
                Stats::count(&stats.released_aliases);
                trace.say("release", || {
                    format!("alias {} (of {})", trace.of(alias), trace.of(target))
                });
                alias
            }
            Released::Object { canonical } => {
                Stats::count(&stats.released_objects);
                let copies = self.directory.remove(&canonical);
                trace.say("release", || {
                    let stores = copies.map_or(0, |copies| copies.stores.count_ones());
                    format!(
                        "object {}: freed from {stores} store(s)",
                        trace.of(canonical)
                    )
                });
                canonical
            }
            // `Released` is non-exhaustive; this example knows two kinds.
            other => {
                trace.say("release", || format!("{other:?}"));
                return;
            }
        };
        // Every store: an alias entry may be anywhere a pull went.
        for worker in 0..self.client.workers() {
            self.send(worker, Msg::Free(r));
        }
    }

    fn send(&self, worker: usize, msg: Msg) {
        // Workers run until the Stop that ends this thread's loop.
        let _ = self.client.shared.workers[worker].send(msg);
    }
}
