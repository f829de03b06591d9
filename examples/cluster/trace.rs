//! A readable trace of a small run: one line per step, refs by name.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use halo_alias::ObjRef;

use super::Arg;

/// Prints steps when enabled; costs one branch when not.
#[derive(Debug)]
pub(super) struct Trace {
    enabled: bool,
    start: Instant,
    names: Mutex<Names>,
}

/// Refs' names, each unique: the second `ref_f` is `ref_f2`.
#[derive(Debug, Default)]
struct Names {
    of: HashMap<ObjRef, String>,
    uses: HashMap<String, usize>,
}

impl Trace {
    pub(super) fn new(enabled: bool) -> Trace {
        Trace {
            enabled,
            start: Instant::now(),
            names: Mutex::default(),
        }
    }

    /// Prints `who: line()`.
    pub(super) fn say(&self, who: &str, line: impl FnOnce() -> String) {
        if self.enabled {
            let at = self.start.elapsed().as_secs_f64() * 1e3;
            println!("{at:8.3} ms  {who:<10} {}", line());
        }
    }

    /// Names `r` in later lines (ref_h rather than ref#7.0).
    pub(super) fn name(&self, r: ObjRef, name: impl FnOnce() -> String) {
        if self.enabled {
            let mut names = self.names.lock().expect("no panic holds this lock");
            let name = name();
            let uses = names.uses.entry(name.clone()).or_default();
            *uses += 1;
            let unique = match *uses {
                1 => name,
                n => format!("{name}{n}"),
            };
            names.of.insert(r, unique);
        }
    }

    /// `r`'s name, or the ref itself.
    pub(super) fn of(&self, r: ObjRef) -> String {
        let names = self.names.lock().expect("no panic holds this lock");
        match names.of.get(&r) {
            Some(name) => name.clone(),
            None => r.to_string(),
        }
    }

    /// `[ref_a, ref_b]`.
    pub(super) fn refs(&self, refs: impl IntoIterator<Item = ObjRef>) -> String {
        let names: Vec<String> = refs.into_iter().map(|r| self.of(r)).collect();
        format!("[{}]", names.join(", "))
    }

    /// `ref_a, &ref_b` (by value, by reference).
    pub(super) fn args(&self, args: &[Arg]) -> String {
        let names: Vec<String> = args
            .iter()
            .map(|arg| match arg {
                Arg::Value(r) => self.of(r.id()),
                Arg::Ref(r) => format!("&{}", self.of(r.id())),
            })
            .collect();
        names.join(", ")
    }
}
