//! Futex wait and wake on one `AtomicU32`, for std and for loom.
//!
//! * std: [`atomic_wait`] for the untimed wait and for wakes; the timed wait
//!   (which `atomic-wait` lacks) is one `FUTEX_WAIT` syscall on Linux with a
//!   relative timeout recomputed from the caller's deadline on every call, so
//!   spurious returns and `EINTR` never stretch it. Other platforms poll in
//!   steps of at most a millisecond for the timed wait only.
//! * loom: a compare-and-sleep under a loom `Mutex`, sleeping on a loom
//!   `Condvar`. A waiter that nobody wakes stays blocked, so a lost wake-up
//!   is reported by loom as a deadlock rather than hidden by a spin.
//!
//! Every wait may return spuriously; callers re-check their condition.

use std::time::Instant;

use super::AtomicU32;

/// The parking place for resolvers of one table.
///
/// Zero-sized on std, where the kernel keys sleepers by the word's address.
/// Under loom it holds the mutex and condition variable of the model.
#[derive(Debug, Default)]
pub(crate) struct Futex {
    #[cfg(loom)]
    lock: loom::sync::Mutex<()>,
    #[cfg(loom)]
    sleepers: loom::sync::Condvar,
}

#[cfg(not(loom))]
impl Futex {
    /// Sleeps while `word` holds `expected`, until woken (or spuriously).
    #[inline]
    pub(crate) fn wait(&self, word: &AtomicU32, expected: u32) {
        atomic_wait::wait(word, expected);
    }

    /// Like [`Futex::wait`], but returns by `deadline` at the latest.
    pub(crate) fn wait_until(&self, word: &AtomicU32, expected: u32, deadline: Instant) {
        let Some(remaining) = deadline.checked_duration_since(Instant::now()) else {
            return;
        };
        timed_wait(word, expected, remaining);
    }

    /// Wakes every thread sleeping on `word`.
    #[inline]
    pub(crate) fn wake_all(&self, word: &AtomicU32) {
        atomic_wait::wake_all(word);
    }
}

#[cfg(all(not(loom), target_os = "linux"))]
fn timed_wait(word: &AtomicU32, expected: u32, remaining: std::time::Duration) {
    let timeout = libc::timespec {
        // Saturate: a wait of 2^63 seconds is forever in practice.
        tv_sec: libc::time_t::try_from(remaining.as_secs()).unwrap_or(libc::time_t::MAX),
        // Always below 10^9, so it fits every `c_long`.
        tv_nsec: remaining.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a live, aligned `AtomicU32` for the whole call, which
    // the kernel only reads atomically; `timeout` outlives the call; the
    // operation is FUTEX_WAIT, which ignores the remaining arguments. This is
    // the same private futex key that `atomic_wait::wake_all` wakes. The
    // result is ignored on purpose: woken, timed out, EINTR and EAGAIN (the
    // word already changed) all mean "re-check", which every caller does.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word as *const AtomicU32,
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            &timeout as *const libc::timespec,
        );
    }
}

#[cfg(all(not(loom), not(target_os = "linux")))]
fn timed_wait(word: &AtomicU32, expected: u32, remaining: std::time::Duration) {
    // No portable timed futex: poll. Only `resolve_timeout` comes here.
    let step = remaining.min(std::time::Duration::from_millis(1));
    // Relaxed: only decides whether to nap; the caller re-checks the word
    // with its own ordering after this returns.
    if word.load(super::Ordering::Relaxed) == expected {
        std::thread::sleep(step);
    }
}

#[cfg(loom)]
impl Futex {
    /// Sleeps while `word` holds `expected`, until woken.
    ///
    /// The check happens under the lock that `wake_all` takes before it
    /// notifies, so a wake cannot fall between the check and the sleep.
    pub(crate) fn wait(&self, word: &AtomicU32, expected: u32) {
        let guard = self.lock.lock().unwrap();
        // SeqCst: the model's check must not read a value older than the
        // one the waker wrote before taking the lock; the lock already
        // orders them, SeqCst only removes doubt.
        if word.load(super::Ordering::SeqCst) == expected {
            drop(self.sleepers.wait(guard).unwrap());
        }
    }

    /// Under loom time does not pass: a timed wait blocks like [`Futex::wait`].
    pub(crate) fn wait_until(&self, word: &AtomicU32, expected: u32, _deadline: Instant) {
        self.wait(word, expected);
    }

    /// Wakes every thread sleeping on this table (a superset of `word`'s).
    pub(crate) fn wake_all(&self, _word: &AtomicU32) {
        let _guard = self.lock.lock().unwrap();
        self.sleepers.notify_all();
    }
}
