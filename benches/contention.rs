//! Contention benchmarks (the full suite is its own piece of work).

fn main() {}
