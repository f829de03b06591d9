//! The larger run's mix of jobs, each a pattern of the seed's: chains of
//! tasks returning refs (`h` returns `g()` returns `f()`), trees of refs
//! passed by value and returned, and tasks with several outputs that mix
//! values and aliases and take a by-value argument. Every pull's answer is
//! checked against the value the job expects.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use halo_alias::AliasError;

use super::{Arg, Client, Object, Output, PullAnswer, Ref};

/// The value of a job's first object.
pub(crate) fn value_of(seed: u64) -> Object {
    vec![seed, seed.wrapping_mul(3), seed ^ 0xa11a5, 7]
}

/// `depth` nested remote calls returning refs, ending in a value: depth 2
/// is the seed's `h` returning `g()` returning `f()`.
pub(crate) fn chain(client: &Client, depth: usize, value: Object) -> Result<Ref, AliasError> {
    if depth == 0 {
        return client.call1("f", vec![], move |_| Output::Value(value));
    }
    let name = if depth == 1 { "g" } else { "h" };
    client.call1(name, vec![], move |input| {
        let inner = chain(input.client, depth - 1, value).expect("a nested call registers");
        Output::Ref(inner)
    })
}

/// A task that returns the ref it was given: its output aliases it.
pub(crate) fn pass(client: &Client, r: &Ref) -> Result<Ref, AliasError> {
    client.call1("pass", vec![Arg::Ref(r.clone())], |mut input| {
        Output::Ref(input.refs.pop().expect("one by-ref argument"))
    })
}

/// Three outputs from one by-value argument: its sum (a value), the
/// argument's own ref (an alias) and its reverse (a value).
pub(crate) fn split(client: &Client, r: &Ref) -> Result<Vec<Ref>, AliasError> {
    let args = vec![Arg::Value(r.clone()), Arg::Ref(r.clone())];
    client.call("split", args, 3, |mut input| {
        let value = input.values.pop().expect("one by-value argument");
        let same = input.refs.pop().expect("one by-ref argument");
        let mut reversed = Object::clone(&value);
        reversed.reverse();
        vec![
            Output::Value(vec![value.iter().fold(0, |a, b| a.wrapping_add(*b))]),
            Output::Ref(same),
            Output::Value(reversed),
        ]
    })
}

/// What a run of the mix did.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) jobs: usize,
    /// Pulls answered with the expected value.
    pub(crate) pulls_right: u64,
    /// Pulls answered with another value or an error.
    pub(crate) pulls_wrong: u64,
    pub(crate) elapsed: Duration,
}

/// One job's handles (kept until its pulls are answered) and pulls.
struct Job {
    handles: Vec<Ref>,
    pulls: Vec<(usize, Object)>,
}

fn job(client: &Client, seed: u64, rng: &mut fastrand::Rng) -> Result<Job, AliasError> {
    let value = value_of(seed);
    let workers = client.workers();
    let mut pick = || rng.usize(0..workers);
    Ok(match seed % 3 {
        0 => {
            let head = chain(client, 1 + (seed as usize / 3) % 4, value.clone())?;
            Job {
                pulls: vec![(pick(), value)],
                handles: vec![head],
            }
        }
        1 => {
            let root = client.call1("f", vec![], {
                let value = value.clone();
                move |_| Output::Value(value)
            })?;
            let mut handles = vec![root];
            for i in 0..4 {
                // Each pass returns the root or an earlier alias: a tree.
                let parent = &handles[i / 2];
                let alias = pass(client, parent)?;
                handles.push(alias);
            }
            let pulls = (0..2).map(|_| (pick(), value.clone())).collect();
            // Pull the two deepest aliases.
            handles.swap(0, 4);
            handles.swap(1, 3);
            Job { handles, pulls }
        }
        _ => {
            let head = chain(client, 2, value.clone())?;
            let outputs = split(client, &head)?;
            let sum = value.iter().fold(0u64, |a, b| a.wrapping_add(*b));
            let mut reversed = value.clone();
            reversed.reverse();
            let pulls = vec![(pick(), vec![sum]), (pick(), value), (pick(), reversed)];
            let mut handles = outputs;
            handles.push(head);
            Job { handles, pulls }
        }
    })
}

/// Runs `jobs` jobs, at most `window` at a time, calling `progress` about
/// every half second with the jobs finished so far.
pub(crate) fn run(
    client: &Client,
    jobs: usize,
    window: usize,
    seed: u64,
    mut progress: impl FnMut(usize),
) -> Result<Outcome, AliasError> {
    let start = Instant::now();
    let mut rng = fastrand::Rng::with_seed(seed);
    let (answers, answered) = mpsc::channel::<(usize, Object, PullAnswer)>();
    let mut running: Vec<Option<(Job, usize)>> = Vec::new();
    let mut free_slots = Vec::new();
    let (mut submitted, mut finished) = (0, 0);
    let mut outcome = Outcome::default();
    let mut last_progress = Instant::now();
    while finished < jobs {
        if submitted < jobs && submitted - finished < window {
            let job = job(client, seed.wrapping_add(submitted as u64), &mut rng)?;
            let slot = free_slots.pop().unwrap_or_else(|| {
                running.push(None);
                running.len() - 1
            });
            for (i, (worker, expected)) in job.pulls.iter().enumerate() {
                let answers = answers.clone();
                let expected = expected.clone();
                client.pull_with(&job.handles[i], *worker, move |answer| {
                    let _ = answers.send((slot, expected, answer));
                });
            }
            let pending = job.pulls.len();
            running[slot] = Some((job, pending));
            submitted += 1;
            continue;
        }
        let (slot, expected, answer) = answered.recv().expect("the sender is alive");
        match answer {
            Ok(object) if *object == expected => outcome.pulls_right += 1,
            _ => outcome.pulls_wrong += 1,
        }
        let (_, pending) = running[slot].as_mut().expect("a pull's job runs");
        *pending -= 1;
        if *pending == 0 {
            running[slot] = None; // drops the job's handles
            free_slots.push(slot);
            finished += 1;
            if last_progress.elapsed() >= Duration::from_millis(500) {
                last_progress = Instant::now();
                progress(finished);
            }
        }
    }
    outcome.jobs = jobs;
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}
