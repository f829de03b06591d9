//! Helpers shared by the integration tests: table configurations and
//! whole-table snapshots; for the stress tests, planned forests (`forest`)
//! and run sizes, seeds and thread helpers (`stress`).

// Each test binary uses its own subset of these helpers (the stress
// submodules are unused by `errors` and `model`, for instance).
#![allow(dead_code)]

pub(crate) mod forest;
pub(crate) mod stress;

use std::time::Duration;

use halo_alias::{AliasError, AliasTable, ObjRef};

/// One way of building a table, for tests that must hold for all of them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    pub(crate) name: &'static str,
    /// Builds a table for a test that registers at most `refs` refs.
    build: fn(refs: usize) -> AliasTable,
    /// Whether the table refuses to register more than `refs` refs.
    pub(crate) exact_limit: bool,
}

impl Config {
    /// A table for a test that registers at most `refs` refs.
    pub(crate) fn build(&self, refs: usize) -> AliasTable {
        (self.build)(refs)
    }
}

/// Every configuration a table can be built in: growing from empty,
/// preallocated (fully and partly), and with a `max_refs` limit (exactly the
/// test's need, with headroom, and above `MAX_REFS`, which is lowered).
pub(crate) const CONFIGS: [Config; 6] = [
    Config {
        name: "AliasTable::new()",
        build: |_| AliasTable::new(),
        exact_limit: false,
    },
    Config {
        name: "AliasTable::default()",
        build: |_| AliasTable::default(),
        exact_limit: false,
    },
    Config {
        name: "AliasTable::with_capacity(refs)",
        build: AliasTable::with_capacity,
        exact_limit: false,
    },
    Config {
        name: "builder().capacity(refs / 3).max_refs(refs + 100)",
        build: |refs| {
            AliasTable::builder()
                .capacity(refs / 3)
                .max_refs(refs + 100)
                .build()
        },
        exact_limit: false,
    },
    Config {
        name: "builder().max_refs(refs)",
        build: |refs| AliasTable::builder().max_refs(refs).build(),
        exact_limit: true,
    },
    Config {
        name: "builder().capacity(1 << 16).max_refs(usize::MAX)",
        // A limit above MAX_REFS is lowered to it.
        build: |_| {
            AliasTable::builder()
                .capacity(1 << 16)
                .max_refs(usize::MAX)
                .build()
        },
        exact_limit: false,
    },
];

/// Runs `test` once per configuration, on a fresh table sized for `refs`
/// refs. A failure names the configuration in the captured output.
pub(crate) fn for_each_config(refs: usize, mut test: impl FnMut(&Config, AliasTable)) {
    for config in &CONFIGS {
        eprintln!("table configuration: {}", config.name);
        let table = config.build(refs);
        assert!(table.is_empty(), "{}: a new table is empty", config.name);
        if config.exact_limit {
            assert_eq!(table.max_refs(), refs, "{}", config.name);
        }
        test(config, table);
    }
}

/// Registers `n` refs and checks that they are numbered `0..n` in order.
pub(crate) fn register_n(table: &AliasTable, n: usize) -> Vec<ObjRef> {
    let first = table.len();
    (0..n)
        .map(|i| {
            let r = table.register().expect("register within capacity");
            assert_eq!(r, ObjRef::new((first + i) as u32, 0));
            r
        })
        .collect()
}

/// Everything the table answers about one ref, through the non-blocking
/// queries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RefState {
    pub(crate) r: ObjRef,
    pub(crate) target: Result<Option<ObjRef>, AliasError>,
    pub(crate) aliases: Result<Vec<ObjRef>, AliasError>,
    pub(crate) is_canonical: Result<bool, AliasError>,
    pub(crate) try_resolve: Result<Option<ObjRef>, AliasError>,
    pub(crate) equivalent: Result<Vec<ObjRef>, AliasError>,
    pub(crate) holders: Result<u32, AliasError>,
}

/// The whole table as its public API shows it: `len`, the DOT export and
/// every registered ref's answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) len: usize,
    pub(crate) dot: String,
    pub(crate) refs: Vec<RefState>,
}

/// What `r` answers now.
pub(crate) fn ref_state(table: &AliasTable, r: ObjRef) -> RefState {
    RefState {
        r,
        target: table.target(r),
        aliases: table.aliases(r),
        is_canonical: table.is_canonical(r),
        try_resolve: table.try_resolve(r),
        equivalent: table.equivalent(r),
        holders: table.holders(r),
    }
}

/// The refs a single test thread registered in `table`, live or released:
/// indexes from 0 until the first never handed out, each at its latest
/// generation.
pub(crate) fn registered_refs(table: &AliasTable) -> Vec<ObjRef> {
    let handed_out = |r: ObjRef| !matches!(table.holders(r), Err(AliasError::UnknownRef(_)));
    let mut refs = Vec::new();
    for index in 0.. {
        let first = ObjRef::new(index, 0);
        if !handed_out(first) {
            return refs;
        }
        let mut latest = first;
        while handed_out(ObjRef::new(index, latest.generation() + 1)) {
            latest = ObjRef::new(index, latest.generation() + 1);
        }
        refs.push(latest);
    }
    refs
}

/// A snapshot of a table that no other thread is changing (and into
/// which one thread registered).
pub(crate) fn snapshot(table: &AliasTable) -> Snapshot {
    Snapshot {
        len: table.len(),
        dot: table.to_dot(),
        refs: registered_refs(table)
            .into_iter()
            .map(|r| ref_state(table, r))
            .collect(),
    }
}

/// Runs `call`, which must fail with `expected`, and checks that it
/// changed nothing and that its message names every ref in `named`.
#[track_caller]
pub(crate) fn assert_refused<T: std::fmt::Debug>(
    table: &AliasTable,
    expected: AliasError,
    named: &[ObjRef],
    call: impl FnOnce() -> Result<T, AliasError>,
) {
    let before = snapshot(table);
    let result = call();
    assert_eq!(result.as_ref().err(), Some(&expected), "got {result:?}");
    let message = expected.to_string();
    for r in named {
        assert!(
            message.contains(&r.to_string()),
            "{message:?} should name {r}"
        );
    }
    let after = snapshot(table);
    assert_eq!(before, after, "the refused call changed the table");
}

/// Runs `call`, which must succeed, and checks that it changed nothing
/// (a repeat of a call that already took effect).
#[track_caller]
pub(crate) fn assert_ok_unchanged<T: std::fmt::Debug>(
    table: &AliasTable,
    call: impl FnOnce() -> Result<T, AliasError>,
) -> T {
    let before = snapshot(table);
    let result = call();
    let after = snapshot(table);
    assert_eq!(before, after, "the repeated call changed the table");
    result.expect("a repeat of a call that took effect is Ok")
}

/// A timeout short enough for a test, for refs whose path stays open.
pub(crate) const SHORT: Duration = Duration::from_millis(2);
