//! The scheduler example (`examples/scheduler.rs`), run small: pulls of a
//! chain's head on every worker, a tree of aliases reaching one object, a
//! task with several outputs, a notification that must wait for its
//! object, a long chain of dependent tasks on one worker, a returned ref
//! that the table refuses, and every store empty once the last handle
//! drops. A lost answer fails a test after a minute instead of hanging it.

#![cfg(not(loom))]

#[allow(dead_code, reason = "the tests use part of the example's cluster")]
#[path = "../examples/cluster/mod.rs"]
mod cluster;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::{workload, Arg, Cluster, Output, PullAnswer, Ref};
use halo_alias::ObjRef;

const WORKERS: usize = 3;

/// How long a test waits for something that must happen before calling it
/// lost (a hang guard, not a speed check).
const LOST_AFTER: Duration = Duration::from_secs(60);

/// A pull's answer; a lost one fails the test instead of hanging it.
fn answer(pull: mpsc::Receiver<PullAnswer>) -> Arc<Vec<u64>> {
    pull.recv_timeout(LOST_AFTER)
        .expect("a pull is answered (none in 60 s: lost)")
        .expect("the pulled ref resolves")
}

/// Waits until `done()`, failing the test if that takes longer than
/// [`LOST_AFTER`].
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + LOST_AFTER;
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::yield_now();
    }
}

/// `h` returns `g()`, `g` returns `f()`; `f` waits for `gate` before it
/// returns its array, so that pulls may arrive before the calls.
fn gated_chain(client: &cluster::Client, gate: mpsc::Receiver<()>) -> Ref {
    client
        .call1("h", vec![], move |input| {
            let g = input.client.call1("g", vec![], move |input| {
                let f = input.client.call1("f", vec![], move |_| {
                    // The gate's sender drops or sends: either opens it.
                    let _ = gate.recv();
                    Output::Value(vec![1, 2, 3])
                });
                Output::Ref(f.expect("registers"))
            });
            Output::Ref(g.expect("registers"))
        })
        .expect("registers")
}

#[test]
fn every_workers_pull_of_ref_h_returns_fs_array() {
    for round in 0..50 {
        let cluster = Cluster::start(WORKERS, false);
        let client = cluster.client();
        let (open, gate) = mpsc::channel();
        let h = gated_chain(client, gate);
        // Even rounds pull while f is held back, odd ones after it ran.
        if round % 2 == 1 {
            open.send(()).unwrap();
            assert_eq!(answer(client.pull(&h, 0)).as_slice(), [1, 2, 3]);
        }
        let listens = client.stats().listens.load(Ordering::Relaxed);
        let pulls: Vec<_> = (0..WORKERS).map(|w| client.pull(&h, w)).collect();
        if round % 2 == 0 {
            // h, g and f run on workers 0, 1 and 2 (round robin), and f is
            // held back: the pulls on 0 and 1 must wait through
            // `on_resolved` before any call completes h's path.
            wait_until("two pulls wait on ref_h", || {
                client.stats().listens.load(Ordering::Relaxed) >= listens + 2
            });
        }
        drop(open);
        for (w, pull) in pulls.into_iter().enumerate() {
            let object = answer(pull);
            assert_eq!(object.as_slice(), [1, 2, 3], "round {round}, worker {w}");
        }
        drop(h);
        let report = cluster.shutdown();
        assert!(report.all_released(), "round {round}: {report:?}");
    }
}

#[test]
fn the_trees_refs_all_reach_one_object() {
    let cluster = Cluster::start(WORKERS, false);
    let client = cluster.client();
    let root = client
        .call1("f", vec![], |_| Output::Value(vec![42, 43]))
        .unwrap();
    // Each ref is passed to two tasks that return it: a binary tree of
    // aliases three levels deep under the root.
    let mut tree = vec![root];
    for i in 0..14 {
        let alias = workload::pass(client, &tree[i / 2]).unwrap();
        tree.push(alias);
    }
    for w in 0..WORKERS {
        let pulls: Vec<_> = tree.iter().map(|r| client.pull(r, w)).collect();
        let objects: Vec<Arc<Vec<u64>>> = pulls.into_iter().map(answer).collect();
        for object in &objects {
            // One object per store: every entry shares the first's handle.
            assert!(Arc::ptr_eq(object, &objects[0]), "worker {w}");
            assert_eq!(object.as_slice(), [42, 43]);
        }
    }
    let table = client.table();
    let ids: BTreeSet<ObjRef> = tree.iter().map(Ref::id).collect();
    let equivalent: BTreeSet<ObjRef> = table
        .equivalent(tree[9].id())
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(equivalent, ids);
    for r in &ids {
        assert_eq!(table.try_resolve(*r), Ok(Some(tree[0].id())));
    }
    drop(tree);
    let report = cluster.shutdown();
    assert!(report.all_released(), "{report:?}");
}

#[test]
fn a_task_with_several_outputs_settles_each() {
    let cluster = Cluster::start(WORKERS, false);
    let client = cluster.client();
    let head = workload::chain(client, 2, vec![5, 6, 7]).unwrap();
    let outputs = workload::split(client, &head).unwrap();
    let answers: Vec<Vec<u64>> = outputs
        .iter()
        .enumerate()
        .map(|(w, r)| answer(client.pull(r, w % WORKERS)).to_vec())
        .collect();
    assert_eq!(answers, [vec![18], vec![5, 6, 7], vec![7, 6, 5]]);
    let table = client.table();
    assert_eq!(table.target(outputs[1].id()), Ok(Some(head.id())));
    assert!(table.is_canonical(outputs[0].id()).unwrap());
    assert!(table.is_canonical(outputs[2].id()).unwrap());
    drop((head, outputs));
    let report = cluster.shutdown();
    assert!(report.all_released(), "{report:?}");
}

#[test]
fn a_notification_before_its_object_waits_in_the_store() {
    // Two workers, placed round robin: f on 0, pass on 1, block on 0.
    let cluster = Cluster::start(2, false);
    let client = cluster.client();
    let f = client
        .call1("f", vec![], |_| Output::Value(vec![9]))
        .unwrap();
    let alias = workload::pass(client, &f).unwrap();
    let (open, gate) = mpsc::channel::<()>();
    let block = client
        .call1("block", vec![], move |_| {
            let _ = gate.recv();
            Output::Value(vec![0])
        })
        .unwrap();
    // Worker 1 learns alias -> f at once, but f's owner is held up and
    // cannot ship it: the store must queue the notification.
    let pull = client.pull(&alias, 1);
    let stats = client.stats();
    wait_until("the notification is queued", || {
        stats.queued.load(Ordering::Relaxed) > 0
    });
    assert!(pull.try_recv().is_err(), "answered before the object came");
    drop(open);
    assert_eq!(answer(pull).as_slice(), [9]);
    drop((f, alias, block));
    let report = cluster.shutdown();
    assert!(report.all_released(), "{report:?}");
}

#[test]
fn after_the_last_handle_drops_every_store_is_empty() {
    let cluster = Cluster::start(WORKERS, false);
    let client = cluster.client().clone();
    let outcome = workload::run(&client, 3_000, 64, 7, |_| {}).unwrap();
    assert_eq!(outcome.pulls_wrong, 0);
    assert_eq!(
        outcome.pulls_right,
        client.stats().pulls.load(Ordering::Relaxed)
    );
    let report = cluster.shutdown();
    let stats = client.stats();
    assert!(report.stores.iter().all(|store| store.peak_entries > 0));
    assert!(report.all_released(), "{report:?}");
    assert_eq!(stats.errors.load(Ordering::Relaxed), 0);
    // Every job made one object at least, and each was freed once.
    assert!(stats.released_objects.load(Ordering::Relaxed) >= 3_000);
    // Every ref registered was reported released exactly once.
    let released = stats.released_objects.load(Ordering::Relaxed)
        + stats.released_aliases.load(Ordering::Relaxed);
    assert_eq!(released, stats.registered.load(Ordering::Relaxed));
}

#[test]
fn a_long_chain_of_dependent_tasks_on_one_worker_runs_without_nesting() {
    // Each task takes the one before by value; all of them wait on the
    // chain's head, whose f runs last, and then run one after another.
    const TASKS: u64 = 5_000;
    let cluster = Cluster::start(1, false);
    let client = cluster.client();
    let mut last = workload::chain(client, 2, vec![0]).unwrap();
    for _ in 0..TASKS {
        last = client
            .call1("next", vec![Arg::Value(last.clone())], |input| {
                Output::Value(vec![input.values[0][0] + 1])
            })
            .unwrap();
    }
    assert_eq!(answer(client.pull(&last, 0)).as_slice(), [TASKS]);
    drop(last);
    let report = cluster.shutdown();
    assert!(report.all_released(), "{report:?}");
}

#[test]
fn a_returned_ref_that_would_close_a_cycle_fails_its_output() {
    // a returns b, but b = pass(a) already aliases a: alias(a, b) is
    // refused, and a gets the error value instead of staying pending.
    let cluster = Cluster::start(2, false);
    let client = cluster.client();
    let (give, take) = mpsc::channel::<Ref>();
    let a = client
        .call1("a", vec![], move |_| {
            Output::Ref(take.recv().expect("the test sends b"))
        })
        .unwrap();
    let b = workload::pass(client, &a).unwrap();
    wait_until("b aliases a", || {
        client.table().target(b.id()) == Ok(Some(a.id()))
    });
    give.send(b.clone()).unwrap();
    assert_eq!(*answer(client.pull(&b, 0)), cluster::failure());
    assert_eq!(client.table().try_resolve(b.id()), Ok(Some(a.id())));
    assert!(client.stats().errors.load(Ordering::Relaxed) >= 1);
    drop((a, b));
    let report = cluster.shutdown();
    assert!(report.all_released(), "{report:?}");
}
