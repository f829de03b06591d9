//! The scheduler's view of `h` returning `g()` returning `f()`.
//!
//! 1. The three calls `alias(h, g)`, `alias(g, f)` and `add_canonical(f)`
//!    in all six orders, each on its own thread, with a puller already
//!    waiting in `resolve(h)`.
//! 2. Refs passed by value: one target with many aliases, and the
//!    `equivalent` set that reference counting would free together.
//! 3. Reference counting: a chain whose user drops the last holder, and
//!    the release events it produces, bottom-up, then the object.
//! 4. A short concurrent run of the whole scheduler mix, printing ops/s.
//!
//! Run with `cargo run --release --example halo`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use std::sync::{Arc, Mutex};

use halo_alias::{AliasError, AliasTable, ObjRef, Released};

/// One of the three scheduler calls of the h/g/f example.
#[derive(Clone, Copy, Debug)]
enum Call {
    AliasHG,
    AliasGF,
    CanonicalF,
}

impl Call {
    fn apply(self, table: &AliasTable, [h, g, f]: [ObjRef; 3]) -> Result<(), AliasError> {
        match self {
            Call::AliasHG => table.alias(h, g),
            Call::AliasGF => table.alias(g, f),
            Call::CanonicalF => table.add_canonical(f),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Call::AliasHG => "alias(h, g)",
            Call::AliasGF => "alias(g, f)",
            Call::CanonicalF => "add_canonical(f)",
        }
    }
}

const ORDERS: [[Call; 3]; 6] = [
    [Call::AliasHG, Call::AliasGF, Call::CanonicalF],
    [Call::AliasHG, Call::CanonicalF, Call::AliasGF],
    [Call::AliasGF, Call::AliasHG, Call::CanonicalF],
    [Call::AliasGF, Call::CanonicalF, Call::AliasHG],
    [Call::CanonicalF, Call::AliasHG, Call::AliasGF],
    [Call::CanonicalF, Call::AliasGF, Call::AliasHG],
];

fn main() -> Result<(), AliasError> {
    all_six_orders()?;
    passed_by_value()?;
    release()?;
    throughput();
    Ok(())
}

fn all_six_orders() -> Result<(), AliasError> {
    println!("== h returns g(), g returns f(): the three calls in every order ==");
    for order in ORDERS {
        let table = AliasTable::new();
        let refs @ [h, g, f] = [table.register()?, table.register()?, table.register()?];
        let table = &table;
        let names: Vec<_> = order.iter().map(|call| call.describe()).collect();
        thread::scope(|s| {
            let puller = s.spawn(|| (table.resolve(h), Instant::now()));
            // Give the puller time to fall asleep: it waits before any call.
            thread::sleep(Duration::from_millis(5));
            let mut last_call_began = Instant::now();
            for call in order {
                // Each call on its own thread, in this order.
                last_call_began = Instant::now();
                s.spawn(move || call.apply(table, refs))
                    .join()
                    .expect("call thread panicked")
                    .expect("a consistent call cannot fail");
            }
            let (resolved, woke) = puller.join().expect("puller panicked");
            let waited = woke.saturating_duration_since(last_call_began);
            let canonical = resolved.expect("h resolves");
            assert_eq!(canonical, f);
            assert_eq!([table.resolve(g), table.resolve(f)], [Ok(f), Ok(f)]);
            println!(
                "{:<46} puller woke {:>9.2?} after the last call began: h -> {canonical}",
                names.join(", "),
                waited
            );
        });
        assert_eq!(table.equivalent(h)?, vec![f, h, g]);
    }
    println!("every order: h, g and f resolve to f; equivalent = [f, h, g]\n");
    Ok(())
}

fn passed_by_value() -> Result<(), AliasError> {
    println!("== refs passed by value: one target, many aliases ==");
    let table = AliasTable::new();
    let f = table.register()?;
    // Five tasks each returned f's ref; two of those results were returned
    // again by other tasks.
    let direct: Vec<ObjRef> = (0..5).map(|_| table.register()).collect::<Result<_, _>>()?;
    let indirect = [table.register()?, table.register()?];
    let table = &table;
    thread::scope(|s| {
        for &alias in &direct {
            s.spawn(move || table.alias(alias, f).expect("alias"));
        }
        let (first, fourth) = (direct[0], direct[3]);
        s.spawn(move || table.alias(indirect[0], first).expect("alias"));
        s.spawn(move || table.alias(indirect[1], fourth).expect("alias"));
        s.spawn(move || table.add_canonical(f).expect("canonical"));
    });
    println!("aliases({f}) = {}", list(&table.aliases(f)?));
    println!(
        "equivalent({}) = {}",
        indirect[1],
        list(&table.equivalent(indirect[1])?)
    );
    for r in direct.iter().chain(&indirect) {
        assert_eq!(table.resolve(*r)?, f);
    }
    println!("all 7 aliases resolve to {f}\n");
    println!("{}", table.to_dot());
    Ok(())
}

fn release() -> Result<(), AliasError> {
    println!("== reference counting: the last holder of h lets go ==");
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&events);
    let table = AliasTable::builder()
        .on_release(move |released| {
            // A scheduler frees the object from its stores here.
            let line = match released {
                Released::Alias { alias, target } => {
                    format!("released alias {alias} (of {target})")
                }
                Released::Object { canonical } => format!("released object {canonical}: free it"),
                other => format!("released {other:?}"),
            };
            log.lock().unwrap().push(line);
        })
        .build();
    // Each ref starts with one holder (its caller) and pending: it lives
    // at least until its task reports its output.
    let [h, g, f] = [(); 3].map(|()| table.register().unwrap());
    table.add_canonical(f)?;
    table.alias(g, f)?;
    table.alias(h, g)?;
    // The tasks that made g and f are done with them; h's caller still
    // holds h, and the aliases pin their targets.
    table.decref(f)?;
    table.decref(g)?;
    println!(
        "  holders: h {}, g {}, f {}; live refs: {}",
        table.holders(h)?,
        table.holders(g)?,
        table.holders(f)?,
        table.len()
    );
    println!("  resolve(h) = {}", table.resolve(h)?);
    table.decref(h)?;
    for line in events.lock().unwrap().iter() {
        println!("  {line}");
    }
    println!(
        "  live refs: {}; resolve(h) now: {:?}",
        table.len(),
        table.resolve(h)
    );
    println!();
    Ok(())
}

fn list(refs: &[ObjRef]) -> String {
    let names: Vec<String> = refs.iter().map(ToString::to_string).collect();
    format!("[{}]", names.join(", "))
}

fn throughput() {
    const TASKS: usize = 200_000;
    let threads = thread::available_parallelism().map_or(2, usize::from);
    println!("== scheduler mix on {threads} threads: {TASKS} tasks ==");
    println!("(per task: register 3 refs, alias h->g, alias g->f, add_canonical f, resolve h)");
    let table = AliasTable::with_capacity(3 * TASKS);
    let next_task = AtomicUsize::new(0);
    let started = Instant::now();
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while next_task.fetch_add(1, Ordering::Relaxed) < TASKS {
                    let [h, g, f] = [(); 3].map(|()| table.register().expect("capacity"));
                    table.alias(h, g).expect("alias");
                    table.add_canonical(f).expect("canonical");
                    table.alias(g, f).expect("alias");
                    assert_eq!(table.resolve(h), Ok(f));
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let ops = (TASKS * 7) as f64;
    println!(
        "{TASKS} tasks in {elapsed:.2?}: {:.1} M ops/s, {:.2} M tasks/s, {} bytes for {} refs ({} per ref)",
        ops / elapsed.as_secs_f64() / 1e6,
        TASKS as f64 / elapsed.as_secs_f64() / 1e6,
        table.memory_bytes(),
        table.len(),
        table.memory_bytes() / table.len()
    );
}
