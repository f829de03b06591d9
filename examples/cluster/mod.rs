//! A miniature of the seed's task system, in one process, built only on
//! `halo-alias`'s public API: a scheduler thread, `W` worker threads each
//! with a local object store, remote calls that return refs at once, tasks
//! that return values or refs, pulls, and reference counting that frees
//! every object from every store.
//!
//! # Actors and messages
//!
//! * The **client** (any thread, including a running task) makes remote
//!   calls: [`Client::call`] registers one ref per output and submits the
//!   task; it returns the outputs' [`Ref`] handles before the task runs.
//! * The **scheduler** owns the object directory (which stores hold a copy
//!   of each canonical object) and turns the table's events into messages:
//!   it places tasks, forwards resolutions, asks owners to ship objects and
//!   broadcasts releases.
//! * Each **worker** runs tasks and owns its [`store`]: a map from ref to a
//!   shared object handle, which knows only the aliases the scheduler told
//!   it. A task's value goes into the worker's store, then to
//!   `add_canonical`; a returned ref becomes `alias(output, returned)`.
//!
//! A pull of `r` on worker `w` (also how a task's by-value arguments
//! arrive) never parks a thread:
//!
//! ```text
//! w: on_resolved(r, cb)  ...  the call that completes r's path runs cb:
//! cb: Event::Resolved(w, r -> c) ──▶ scheduler ──▶ w: Msg::Resolved (alias r -> c)
//!                                              └─▶ owner of c: Msg::Ship(c, to w)
//! owner ──▶ w: Msg::Object(c)        w's store applies the aliases queued for c,
//!                                    then answers the pulls of r
//! ```
//!
//! A release runs the other way: the last [`Ref`] of an object drops, the
//! table reports each dead ref once (aliases first), and the scheduler
//! tells every store to drop that entry.
//!
//! # Why every message about a ref comes before its `Free`
//!
//! * A store gets an alias entry `r -> c` only from the notification that
//!   answers one of its own waiters of `r`, and a copy of `c` only from a
//!   ship made for such a waiter. The waiter holds a [`Ref`] of `r` until
//!   both are in the store, so `r`, and `c` which `r`'s path pins, stay
//!   live until then; their releases, and so their `Free`s, come after.
//! * The owner stores `c` before it sends `Stored(c)` and calls
//!   `add_canonical(c)`, on its own thread; `c`'s release is reported in
//!   that call at the earliest (if nobody holds `c`), so its `Free` reaches
//!   the owner's inbox after.
//! * Releases are reported inside the call that lets go of the last unit
//!   (a [`Ref`]'s drop, or a worker's `alias`/`add_canonical`), which sends
//!   `Released` to the scheduler; the scheduler's inbox is FIFO in
//!   happens-before order, so it broadcasts `Free` after everything sent
//!   before that call. The scheduler module argues the directory's order.
//!
//! A task counts as outstanding until its outputs are settled and its
//! arguments and body are dropped, so once [`Cluster::shutdown`] sees none,
//! every release of the run's own refs has been sent before its `Stop`.

mod scheduler;
mod store;
mod trace;
mod worker;
pub(crate) mod workload;

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};

use halo_alias::{AliasError, AliasTable, ObjRef};

use scheduler::{Event, Scheduler};
pub(crate) use store::StoreReport;
use trace::Trace;
use worker::{Msg, Worker};

/// An object's value: the seed's array.
pub(crate) type Object = Vec<u64>;

/// The value of an output whose task failed (a by-value argument on a
/// cycle) or whose returned ref was refused (it would close a cycle): the
/// seed stores the error as the value. No task here returns an empty array.
pub(crate) fn failure() -> Object {
    Vec::new()
}

/// What a pull yields: the object, as the puller's store holds it.
pub(crate) type PullAnswer = Result<Arc<Object>, AliasError>;

/// Where a pull's answer goes.
type Reply = Box<dyn FnOnce(PullAnswer) + Send>;

/// A task's code: it gets its by-value arguments' objects, its by-ref
/// arguments' handles and a client for nested remote calls.
type Body = Box<dyn FnOnce(TaskInput<'_>) -> Vec<Output> + Send>;

/// One holder of a ref: cloning adds a holder, dropping removes it, and
/// the last drop of an object's refs frees it from every store.
pub(crate) struct Ref {
    r: ObjRef,
    table: Arc<AliasTable>,
}

impl Ref {
    /// The ref this handle holds.
    pub(crate) fn id(&self) -> ObjRef {
        self.r
    }
}

impl Clone for Ref {
    fn clone(&self) -> Self {
        // A held ref is live, and the example never nears u16::MAX holders.
        self.table
            .incref(self.r)
            .expect("a held ref takes another holder");
        Ref {
            r: self.r,
            table: Arc::clone(&self.table),
        }
    }
}

impl Drop for Ref {
    fn drop(&mut self) {
        // This handle owns one holder, so the decref cannot be refused; a
        // failure would be a bug of the example, which the checks of a run
        // (every ref released at the end) would report.
        let dropped = self.table.decref(self.r);
        debug_assert_eq!(dropped, Ok(()), "a Ref owns one holder of {}", self.r);
    }
}

impl fmt::Debug for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ref({})", self.r)
    }
}

/// One argument of a remote call.
#[derive(Debug)]
pub(crate) enum Arg {
    /// Passed by value: the task runs once the object is in its store.
    Value(Ref),
    /// Passed by reference: the task gets the handle, and may return it.
    Ref(Ref),
}

/// One output of a task.
#[derive(Debug)]
pub(crate) enum Output {
    /// A value: stored locally, then `add_canonical(output)`.
    Value(Object),
    /// A ref: `alias(output, returned)`.
    Ref(Ref),
}

/// What a task's body gets.
pub(crate) struct TaskInput<'a> {
    /// The by-value arguments' objects, in argument order.
    pub(crate) values: Vec<Arc<Object>>,
    /// The by-reference arguments' handles, in argument order.
    pub(crate) refs: Vec<Ref>,
    /// For remote calls from inside the task (`g` calling `f()`).
    pub(crate) client: &'a Client,
}

/// A submitted task, as the scheduler places it and a worker runs it.
pub(crate) struct Task {
    name: &'static str,
    args: Vec<Arg>,
    /// Pending refs, kept alive by the table until their call takes effect.
    outputs: Vec<ObjRef>,
    body: Body,
}

/// Counters of one run, shared by every actor.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Refs registered (task outputs).
    pub(crate) registered: AtomicU64,
    pub(crate) tasks: AtomicU64,
    pub(crate) pulls: AtomicU64,
    /// Alias -> canonical notifications that stores applied.
    pub(crate) notifications: AtomicU64,
    /// Of those, the ones that arrived before the object and were queued.
    pub(crate) queued: AtomicU64,
    pub(crate) ships: AtomicU64,
    pub(crate) released_objects: AtomicU64,
    pub(crate) released_aliases: AtomicU64,
    pub(crate) peak_live_refs: AtomicUsize,
    /// Calls the table refused, and error answers to a worker's waiters
    /// (one per ref and worker).
    pub(crate) errors: AtomicU64,
    /// `on_resolved` registrations (pulls and arguments that had to wait).
    pub(crate) listens: AtomicU64,
}

impl Stats {
    fn count(counter: &AtomicU64) {
        // Relaxed: statistics, read after the threads are joined.
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Tasks submitted and not yet finished; `shutdown` waits for zero. A
/// nested call is counted before its parent finishes, so zero means idle.
#[derive(Debug, Default)]
struct Outstanding {
    tasks: Mutex<usize>,
    idle: Condvar,
}

impl Outstanding {
    fn add(&self) {
        *self.tasks.lock().expect("no panic holds this lock") += 1;
    }

    fn finish(&self) {
        let mut tasks = self.tasks.lock().expect("no panic holds this lock");
        *tasks -= 1;
        if *tasks == 0 {
            self.idle.notify_all();
        }
    }

    fn wait_idle(&self) {
        let tasks = self.tasks.lock().expect("no panic holds this lock");
        let _idle = self
            .idle
            .wait_while(tasks, |tasks| *tasks > 0)
            .expect("no panic holds this lock");
    }
}

/// What every actor shares.
struct Shared {
    table: Arc<AliasTable>,
    scheduler: Sender<Event>,
    workers: Vec<Sender<Msg>>,
    stats: Stats,
    trace: Trace,
    outstanding: Outstanding,
}

/// Makes remote calls and pulls; cheap to clone, usable from any thread.
#[derive(Clone)]
pub(crate) struct Client {
    shared: Arc<Shared>,
}

impl Client {
    /// The cluster's alias table.
    pub(crate) fn table(&self) -> &AliasTable {
        &self.shared.table
    }

    /// The run's counters.
    pub(crate) fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// `r`'s trace name (`ref_h`).
    pub(crate) fn name(&self, r: ObjRef) -> String {
        self.shared.trace.of(r)
    }

    /// `[ref_a, ref_b]`: the refs by their trace names.
    pub(crate) fn names(&self, refs: impl IntoIterator<Item = ObjRef>) -> String {
        self.shared.trace.refs(refs)
    }

    /// How many workers run tasks.
    pub(crate) fn workers(&self) -> usize {
        self.shared.workers.len()
    }

    /// A remote call: registers `outputs` refs, submits the task and
    /// returns the refs' handles at once.
    ///
    /// # Errors
    ///
    /// Only the table's refusal to register a ref; nothing is submitted
    /// then, and the outputs registered before it are declared canonical
    /// and dropped, so that they are released.
    pub(crate) fn call(
        &self,
        name: &'static str,
        args: Vec<Arg>,
        outputs: usize,
        body: impl FnOnce(TaskInput<'_>) -> Vec<Output> + Send + 'static,
    ) -> Result<Vec<Ref>, AliasError> {
        let table = &self.shared.table;
        let mut refs = Vec::with_capacity(outputs);
        for _ in 0..outputs {
            match table.register() {
                Ok(r) => refs.push(Ref {
                    r,
                    table: Arc::clone(table),
                }),
                Err(error) => {
                    for output in &refs {
                        // No longer pending: released with its handle.
                        let _ = table.add_canonical(output.id());
                    }
                    return Err(error);
                }
            }
        }
        // Relaxed: statistics.
        self.shared
            .stats
            .registered
            .fetch_add(refs.len() as u64, Ordering::Relaxed);
        self.shared
            .stats
            .peak_live_refs
            .fetch_max(table.len(), Ordering::Relaxed);
        let trace = &self.shared.trace;
        for (i, output) in refs.iter().enumerate() {
            trace.name(output.r, || match outputs {
                1 => format!("ref_{name}"),
                _ => format!("ref_{name}.{i}"),
            });
        }
        trace.say("client", || {
            format!(
                "call {name}({}) -> {}",
                trace.args(&args),
                trace.refs(refs.iter().map(Ref::id))
            )
        });
        let task = Task {
            name,
            args,
            outputs: refs.iter().map(Ref::id).collect(),
            body: Box::new(body),
        };
        self.shared.outstanding.add();
        self.send(Event::Submit(task));
        Ok(refs)
    }

    /// A remote call with one output.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub(crate) fn call1(
        &self,
        name: &'static str,
        args: Vec<Arg>,
        body: impl FnOnce(TaskInput<'_>) -> Output + Send + 'static,
    ) -> Result<Ref, AliasError> {
        let mut refs = self.call(name, args, 1, |input| vec![body(input)])?;
        Ok(refs.pop().expect("one output"))
    }

    /// Pulls `r` into `worker`'s store; `reply` gets the object once it is
    /// there (or the error that refuses `r`). The pull holds `r` until then.
    pub(crate) fn pull_with(
        &self,
        r: &Ref,
        worker: usize,
        reply: impl FnOnce(PullAnswer) + Send + 'static,
    ) {
        let pull = Msg::Pull {
            r: r.clone(),
            reply: Box::new(reply),
        };
        // Fails only after shutdown: a client that outlives its cluster
        // is inert (see `Cluster::shutdown`).
        let _ = self.shared.workers[worker].send(pull);
    }

    /// [`pull_with`](Self::pull_with), answered on a channel.
    pub(crate) fn pull(&self, r: &Ref, worker: usize) -> Receiver<PullAnswer> {
        let (sender, answer) = mpsc::channel();
        self.pull_with(r, worker, move |pulled| {
            let _ = sender.send(pulled);
        });
        answer
    }

    fn send(&self, event: Event) {
        // Fails only after shutdown, as in `pull_with`.
        let _ = self.shared.scheduler.send(event);
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("workers", &self.workers())
            .field("live_refs", &self.table().len())
            .finish()
    }
}

/// The scheduler and its workers, running.
#[derive(Debug)]
pub(crate) struct Cluster {
    client: Client,
    scheduler: JoinHandle<()>,
    workers: Vec<JoinHandle<StoreReport>>,
}

/// What a stopped cluster left behind.
#[derive(Debug)]
pub(crate) struct Report {
    /// Each worker's store at the end.
    pub(crate) stores: Vec<StoreReport>,
    /// Refs still live in the table.
    pub(crate) live_refs: usize,
    /// The table's memory at the end, in bytes.
    pub(crate) table_bytes: usize,
}

impl Cluster {
    /// Starts a scheduler and `workers` workers (1 to 64); `trace` prints
    /// every step.
    pub(crate) fn start(workers: usize, trace: bool) -> Cluster {
        assert!((1..=64).contains(&workers), "1 to 64 workers");
        let (scheduler_sender, scheduler_inbox) = mpsc::channel();
        let releases = scheduler_sender.clone();
        let table = Arc::new(
            AliasTable::builder()
                .on_release(move |released| {
                    // Fails only for refs released after shutdown (kept
                    // by the caller past it): no store hears of those.
                    let _ = releases.send(Event::Released(released));
                })
                .build(),
        );
        let (senders, inboxes): (Vec<_>, Vec<_>) = (0..workers).map(|_| mpsc::channel()).unzip();
        let shared = Arc::new(Shared {
            table,
            scheduler: scheduler_sender,
            workers: senders,
            stats: Stats::default(),
            trace: Trace::new(trace),
            outstanding: Outstanding::default(),
        });
        let client = Client { shared };
        let workers = inboxes
            .into_iter()
            .enumerate()
            .map(|(id, inbox)| {
                let worker = Worker::new(id, inbox, client.clone());
                thread::Builder::new()
                    .name(format!("worker-{id}"))
                    .spawn(move || worker.run())
                    .expect("spawn a worker thread")
            })
            .collect();
        let scheduler = Scheduler::new(scheduler_inbox, client.clone());
        let scheduler = thread::Builder::new()
            .name("scheduler".into())
            .spawn(move || scheduler.run())
            .expect("spawn the scheduler thread");
        Cluster {
            client,
            scheduler,
            workers,
        }
    }

    /// The client of this cluster.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Waits until no task is outstanding, then stops the scheduler (after
    /// it has passed on every release so far) and the workers. Refs the
    /// caller still holds stay its own: dropped later, they are released
    /// in the table, but no store hears of it (the report shows them), and
    /// a [`Client`] kept past this point sends into the void.
    pub(crate) fn shutdown(self) -> Report {
        let Cluster {
            client,
            scheduler,
            workers,
        } = self;
        client.shared.outstanding.wait_idle();
        client.send(Event::Stop);
        scheduler.join().expect("the scheduler does not panic");
        let stores = workers
            .into_iter()
            .map(|worker| worker.join().expect("a worker does not panic"))
            .collect();
        let table = client.table();
        Report {
            stores,
            live_refs: table.len(),
            table_bytes: table.memory_bytes(),
        }
    }
}

impl Report {
    /// Whether every store is empty and no ref is live.
    pub(crate) fn all_released(&self) -> bool {
        self.live_refs == 0 && self.stores.iter().all(StoreReport::is_empty)
    }
}
