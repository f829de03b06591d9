//! A worker: runs tasks, keeps its store, answers pulls.
//!
//! A pull, or a task's by-value argument, that the store cannot answer
//! waits in `waiting` under its ref; the first waiter of a ref registers
//! one `on_resolved` callback, which only sends an event to the scheduler.
//! No thread waits on a ref: the worker goes on with its inbox, and the
//! waiters are answered when the object (and the alias entry) arrive.

use std::collections::HashMap;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use halo_alias::{AliasError, ObjRef};

use super::scheduler::Event;
use super::store::{Notified, Store, StoreReport};
use super::{failure, Arg, Client, Object, Output, PullAnswer, Ref, Reply, Stats, Task, TaskInput};

/// What reaches a worker.
pub(super) enum Msg {
    /// Run this task once its by-value arguments are here.
    Run(Task),
    /// Bring `r`'s object here, then reply.
    Pull { r: Ref, reply: Reply },
    /// What `r` resolved to (the scheduler's alias notification).
    Resolved {
        r: ObjRef,
        answer: Result<ObjRef, AliasError>,
    },
    /// Send a copy of `canonical`'s object to worker `to`.
    Ship { canonical: ObjRef, to: usize },
    /// A shipped object.
    Object {
        canonical: ObjRef,
        object: Arc<Object>,
    },
    /// `r` was released: drop its entry.
    Free(ObjRef),
    /// Stop and report the store.
    Stop,
}

/// Something waiting for a ref's object in this store.
enum Waiter {
    Pull { r: Ref, reply: Reply },
    Argument { task: u64, slot: usize },
}

/// A task waiting for its by-value arguments.
struct Blocked {
    task: Task,
    values: Vec<Option<Arc<Object>>>,
    missing: usize,
    failed: Option<AliasError>,
}

pub(super) struct Worker {
    id: usize,
    /// "worker 3", for the trace.
    name: String,
    inbox: Receiver<Msg>,
    client: Client,
    store: Store,
    waiting: HashMap<ObjRef, Vec<Waiter>>,
    blocked: HashMap<u64, Blocked>,
    /// Tasks whose arguments are all here, run from the inbox loop (not
    /// from inside the call that delivered the last one, which would nest
    /// a chain of dependent tasks as deep as it is long).
    ready: Vec<Blocked>,
    next_task: u64,
    peak_entries: usize,
}

impl Worker {
    pub(super) fn new(id: usize, inbox: Receiver<Msg>, client: Client) -> Worker {
        Worker {
            id,
            name: format!("worker {id}"),
            inbox,
            client,
            store: Store::default(),
            waiting: HashMap::new(),
            blocked: HashMap::new(),
            ready: Vec::new(),
            next_task: 0,
            peak_entries: 0,
        }
    }

    pub(super) fn run(mut self) -> StoreReport {
        while let Ok(msg) = self.inbox.recv() {
            match msg {
                Msg::Run(task) => self.start(task),
                Msg::Pull { r, reply } => {
                    let id = r.id();
                    self.need(id, Waiter::Pull { r, reply });
                }
                Msg::Resolved { r, answer } => self.resolved(r, answer),
                Msg::Ship { canonical, to } => self.ship(canonical, to),
                Msg::Object { canonical, object } => {
                    let trace = &self.client.shared.trace;
                    trace.say(&self.name, || {
                        format!("store: got {} {object:?}", trace.of(canonical))
                    });
                    for r in self.store.insert_object(canonical, object) {
                        self.answer(r);
                    }
                }
                Msg::Free(r) => {
                    if self.store.free(r) {
                        let trace = &self.client.shared.trace;
                        trace.say(&self.name, || format!("store: dropped {}", trace.of(r)));
                    }
                }
                Msg::Stop => break,
            }
            while let Some(task) = self.ready.pop() {
                self.execute(task);
            }
            self.peak_entries = self.peak_entries.max(self.store.len());
        }
        let waiting = self.waiting.values().map(Vec::len).sum::<usize>() + self.blocked.len();
        self.store.report(waiting, self.peak_entries)
    }

    /// Answers `waiter` from the store, or files it under `r`.
    fn need(&mut self, r: ObjRef, waiter: Waiter) {
        if let Some(object) = self.store.get(r) {
            self.give(waiter, Ok(object));
            return;
        }
        let waiters = self.waiting.entry(r).or_default();
        waiters.push(waiter);
        if waiters.len() > 1 {
            return; // the first one registered the callback
        }
        let trace = &self.client.shared.trace;
        trace.say(&self.name, || {
            format!("waits for {} (on_resolved)", trace.of(r))
        });
        Stats::count(&self.client.shared.stats.listens);
        let (worker, scheduler) = (self.id, self.client.shared.scheduler.clone());
        let registered = self.client.table().on_resolved(r, move |answer| {
            // Runs on whichever thread completes r's path: only a send.
            let _ = scheduler.send(Event::Resolved { worker, r, answer });
        });
        if let Err(error) = registered {
            self.fail(r, error);
        }
    }

    /// The scheduler's notification of `r`'s canonical ref.
    fn resolved(&mut self, r: ObjRef, answer: Result<ObjRef, AliasError>) {
        let canonical = match answer {
            Ok(canonical) => canonical,
            Err(error) => return self.fail(r, error),
        };
        if canonical != r {
            let stats = &self.client.shared.stats;
            Stats::count(&stats.notifications);
            let notified = self.store.notify(r, canonical);
            let trace = &self.client.shared.trace;
            trace.say(&self.name, || {
                let (r, canonical) = (trace.of(r), trace.of(canonical));
                match notified {
                    Notified::Applied => format!("store: {r} -> {canonical}"),
                    Notified::Queued => {
                        format!("store: {r} -> {canonical} queued (object not here yet)")
                    }
                }
            });
            if notified == Notified::Queued {
                Stats::count(&stats.queued);
            }
        }
        self.answer(r);
    }

    /// Answers whatever waits for `r`, if the store has it now.
    fn answer(&mut self, r: ObjRef) {
        let Some(object) = self.store.get(r) else {
            return; // its object is on its way
        };
        for waiter in self.waiting.remove(&r).unwrap_or_default() {
            self.give(waiter, Ok(Arc::clone(&object)));
        }
    }

    fn fail(&mut self, r: ObjRef, error: AliasError) {
        Stats::count(&self.client.shared.stats.errors);
        for waiter in self.waiting.remove(&r).unwrap_or_default() {
            self.give(waiter, Err(error));
        }
    }

    fn give(&mut self, waiter: Waiter, answer: PullAnswer) {
        match waiter {
            Waiter::Pull { r, reply } => {
                let trace = &self.client.shared.trace;
                trace.say(&self.name, || match &answer {
                    Ok(object) => format!("pull {} = {object:?}", trace.of(r.id())),
                    Err(error) => format!("pull {}: {error}", trace.of(r.id())),
                });
                Stats::count(&self.client.shared.stats.pulls);
                // The holder goes before the reply, so that a release it
                // causes is reported before the puller can shut down.
                drop(r);
                reply(answer);
            }
            Waiter::Argument { task, slot } => {
                let blocked = self
                    .blocked
                    .get_mut(&task)
                    .expect("a waiting task is blocked");
                match answer {
                    Ok(object) => blocked.values[slot] = Some(object),
                    Err(error) => blocked.failed = Some(error),
                }
                blocked.missing -= 1;
                if blocked.missing == 0 {
                    let blocked = self.blocked.remove(&task).expect("just seen");
                    self.ready.push(blocked);
                }
            }
        }
    }

    /// Runs `task` at once, or files it until its by-value arguments are here.
    fn start(&mut self, task: Task) {
        let wanted: Vec<ObjRef> = task
            .args
            .iter()
            .filter_map(|arg| match arg {
                Arg::Value(r) => Some(r.id()),
                Arg::Ref(_) => None,
            })
            .collect();
        let id = self.next_task;
        self.next_task += 1;
        let blocked = Blocked {
            task,
            values: vec![None; wanted.len()],
            missing: wanted.len(),
            failed: None,
        };
        if wanted.is_empty() {
            return self.ready.push(blocked);
        }
        self.blocked.insert(id, blocked);
        for (slot, r) in wanted.into_iter().enumerate() {
            self.need(r, Waiter::Argument { task: id, slot });
        }
    }

    fn execute(&mut self, blocked: Blocked) {
        let Blocked {
            task,
            values,
            failed,
            ..
        } = blocked;
        let Task {
            name,
            args,
            outputs,
            body,
        } = task;
        let failed = failed.is_some();
        let results = if failed {
            drop((args, body)); // holders go before `finish` below
                                // The seed stores a failed task's error as its outputs' values.
            outputs.iter().map(|_| Output::Value(failure())).collect()
        } else {
            {
                let values = values
                    .into_iter()
                    .map(|v| v.expect("all arrived"))
                    .collect();
                let mut refs = Vec::new();
                let mut by_value = Vec::new();
                for arg in args {
                    match arg {
                        Arg::Value(r) => by_value.push(r),
                        Arg::Ref(r) => refs.push(r),
                    }
                }
                let input = TaskInput {
                    values,
                    refs,
                    client: &self.client,
                };
                let results = body(input);
                drop(by_value); // the task is done with its arguments
                results
            }
        };
        Stats::count(&self.client.shared.stats.tasks);
        assert_eq!(
            results.len(),
            outputs.len(),
            "task {name}: one result per output"
        );
        for (output, result) in outputs.into_iter().zip(results) {
            self.settle(name, output, result);
        }
        self.client.shared.outstanding.finish();
    }

    /// Hands one output to the table: a value is stored here first (and
    /// the scheduler told where), a returned ref becomes an alias.
    fn settle(&mut self, name: &str, output: ObjRef, result: Output) {
        let target = match result {
            Output::Value(value) => return self.store_value(name, output, value),
            Output::Ref(target) => target,
        };
        let shared = Arc::clone(&self.client.shared);
        let trace = &shared.trace;
        trace.say(&self.name, || {
            let (output, target) = (trace.of(output), trace.of(target.id()));
            format!("{name} returns {target}: alias({output}, {target})")
        });
        // The alias pins its target; the task's holder goes after.
        let aliased = shared.table.alias(output, target.id());
        drop(target);
        if let Err(error) = aliased {
            // Refused (it would close a cycle): left so, the output would
            // stay pending forever. It fails instead, as in the seed.
            Stats::count(&shared.stats.errors);
            trace.say(&self.name, || format!("{name}: {error}"));
            self.store_value(name, output, failure());
        }
    }

    /// Stores `value` as `output`'s object, tells the scheduler where it
    /// is, then declares it: in that order (see `scheduler`).
    fn store_value(&mut self, name: &str, output: ObjRef, value: Object) {
        let shared = Arc::clone(&self.client.shared);
        let trace = &shared.trace;
        trace.say(&self.name, || {
            format!(
                "{name} returns {value:?}: add_canonical({})",
                trace.of(output)
            )
        });
        for r in self.store.insert_object(output, Arc::new(value)) {
            self.answer(r);
        }
        let stored = Event::Stored {
            canonical: output,
            worker: self.id,
        };
        let _ = shared.scheduler.send(stored);
        if let Err(error) = shared.table.add_canonical(output) {
            Stats::count(&shared.stats.errors);
            trace.say(&self.name, || format!("{name}: {error}"));
        }
    }

    fn ship(&self, canonical: ObjRef, to: usize) {
        // The requester holds a ref of this object, so it is still here.
        let object = self.store.get(canonical).expect("a shipped object is live");
        let trace = &self.client.shared.trace;
        trace.say(&self.name, || {
            format!("ships {} to worker {to}", trace.of(canonical))
        });
        let copy = Msg::Object {
            canonical,
            object: Arc::new(Object::clone(&object)),
        };
        let _ = self.client.shared.workers[to].send(copy);
    }
}
