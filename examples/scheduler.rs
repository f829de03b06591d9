//! The seed's task system in miniature: a scheduler, worker threads with
//! local object stores, remote calls returning refs, and `halo-alias`
//! keeping the alias tables (see `cluster/mod.rs` for the design).
//!
//! 1. A traced run: `h` returns `g()`, `g` returns `f()`, and every worker
//!    pulls `ref_h`; a tree of refs passed by value and returned; a task
//!    with three outputs mixing values and an alias; the release of it all.
//! 2. A larger run of the same patterns, with a progress line and a
//!    summary: tasks/s, pulls, notifications, peak live refs, memory, and
//!    whether every object was released.
//!
//! Run with `cargo run --release --example scheduler [-- --workers W --jobs N]`.

mod cluster;

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use cluster::{workload, Arg, Cluster, Output};
use halo_alias::AliasError;

fn main() -> ExitCode {
    let mut workers = 4;
    let mut jobs = 500_000;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|value| value.parse().ok());
        match (flag.as_str(), value) {
            ("--workers", Some(w)) if (1..=64).contains(&w) => workers = w,
            ("--jobs", Some(n)) => jobs = n,
            _ => {
                eprintln!("usage: scheduler [--workers 1..=64] [--jobs N]");
                return ExitCode::FAILURE;
            }
        }
    }
    match traced(workers.min(3)).and_then(|()| larger(workers, jobs)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn traced(workers: usize) -> Result<(), AliasError> {
    println!("== traced: h returns g(), g returns f(); every worker pulls ref_h ==");
    let cluster = Cluster::start(workers, true);
    let client = cluster.client();
    let h = workload::chain(client, 2, vec![1, 2, 3])?;
    let pulls: Vec<_> = (0..workers).map(|w| client.pull(&h, w)).collect();
    for (w, pull) in pulls.into_iter().enumerate() {
        let object = pull.recv().expect("a pull is answered")?;
        println!("           => worker {w} pulled ref_h = {object:?}");
    }

    println!("\n== traced: a tree: ref_f passed by reference and returned ==");
    let f = client.call1("f", vec![], |_| Output::Value(vec![42]))?;
    let a = workload::pass(client, &f)?;
    let b = workload::pass(client, &f)?;
    let c = workload::pass(client, &a)?;
    let pull = client.pull(&c, 0);
    let object = pull.recv().expect("a pull is answered")?;
    println!("           => pulled {} = {object:?}", client.name(c.id()));
    let equivalent = client.table().equivalent(b.id())?;
    println!(
        "           equivalent(ref_pass2) = {}",
        client.names(equivalent)
    );

    println!("\n== traced: three outputs, values and an alias, from a by-value argument ==");
    let outputs = workload::split(client, &h)?;
    let pull = client.pull(&outputs[1], workers - 1);
    println!(
        "           => pulled ref_split.1 = {:?}",
        pull.recv().expect("answered")?
    );
    let args = vec![
        Arg::Value(outputs[0].clone()),
        Arg::Value(outputs[2].clone()),
    ];
    let sum = client.call1("sum", args, |input| {
        let sum = input.values.iter().flat_map(|v| v.iter()).sum();
        Output::Value(vec![sum])
    })?;
    println!(
        "           => pulled ref_sum = {:?}",
        client.pull(&sum, 0).recv().expect("answered")?
    );

    println!("\n== traced: the last handles drop ==");
    drop((h, f, a, b, c, outputs, sum));
    let report = cluster.shutdown();
    println!(
        "           live refs {}, stores {:?}\n",
        report.live_refs,
        report.stores.iter().map(|s| s.entries).collect::<Vec<_>>()
    );
    Ok(())
}

fn larger(workers: usize, jobs: usize) -> Result<bool, AliasError> {
    println!("== {jobs} jobs on {workers} workers (chains, trees, multi-output tasks) ==");
    let cluster = Cluster::start(workers, false);
    let client = cluster.client();
    let stats = client.stats();
    let outcome = workload::run(client, jobs, 1024, 0x5eed, |done| {
        println!(
            "  {done:>8} jobs, {:>9} tasks, {:>9} pulls, {:>6} live refs",
            stats.tasks.load(Ordering::Relaxed),
            stats.pulls.load(Ordering::Relaxed),
            client.table().len()
        );
    })?;
    let client = client.clone();
    let report = cluster.shutdown();
    let stats = client.stats();
    let count = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
    let tasks = count(&stats.tasks);
    let seconds = outcome.elapsed.as_secs_f64();
    println!("summary");
    println!(
        "  tasks          {tasks} in {seconds:.2} s: {:.0} tasks/s",
        tasks as f64 / seconds
    );
    println!(
        "  pulls          {} ({} right, {} wrong)",
        count(&stats.pulls),
        outcome.pulls_right,
        outcome.pulls_wrong
    );
    println!(
        "  notifications  {} alias -> canonical ({} queued until the object came), {} shipments",
        count(&stats.notifications),
        count(&stats.queued),
        count(&stats.ships)
    );
    println!(
        "  peak live refs {} ; table memory {} KiB; peak store entries {:?}",
        stats.peak_live_refs.load(Ordering::Relaxed),
        report.table_bytes / 1024,
        report
            .stores
            .iter()
            .map(|s| s.peak_entries)
            .collect::<Vec<_>>()
    );
    if let Some(peak) = peak_resident_kib() {
        println!("  peak resident  {} MiB", peak / 1024);
    }
    println!(
        "  released       {} objects, {} aliases; live refs at the end {}, errors {}",
        count(&stats.released_objects),
        count(&stats.released_aliases),
        report.live_refs,
        count(&stats.errors)
    );
    let ok = report.all_released() && outcome.pulls_wrong == 0 && count(&stats.errors) == 0;
    println!(
        "  {}",
        if ok {
            "every pull right; every object released from every store"
        } else {
            "FAILED: see the counts above"
        }
    );
    Ok(ok)
}

/// The process's peak resident set (Linux), in KiB.
fn peak_resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
