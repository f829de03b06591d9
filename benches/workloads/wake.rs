//! wake latency: two threads play ping-pong through the table. One
//! completes ref `ping[i]` and blocks resolving `pong[i]`; the other blocks
//! resolving `ping[i]`, then completes `pong[i]`. Each round trip is two
//! wake-ups of a blocked resolver. `TwoMutex` is the `Mutex` + `Condvar`
//! waiter to beat.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Throughput};

use super::{sized, timed_on_threads};
use crate::impls::Scheduling;

pub(crate) fn run<I: Scheduling>(group: &mut BenchmarkGroup<'_, WallTime>) {
    let rounds = sized(2_000, 10);
    // Elements = round trips, so that time per element is one round trip.
    group.throughput(Throughput::Elements(rounds as u64));
    group.bench_function(BenchmarkId::new(I::NAME, 2), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let table = I::with_capacity(2 * rounds);
                    let pings: Vec<u32> = (0..rounds).map(|_| table.register()).collect();
                    let pongs: Vec<u32> = (0..rounds).map(|_| table.register()).collect();
                    timed_on_threads(2, |me| {
                        for (&ping, &pong) in pings.iter().zip(&pongs) {
                            if me == 0 {
                                table.add_canonical(ping);
                                table.resolve(pong);
                            } else {
                                table.resolve(ping);
                                table.add_canonical(pong);
                            }
                        }
                    })
                })
                .sum()
        })
    });
}
