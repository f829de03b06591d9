//! Property tests: random forests built by calls in random orders (with
//! repeats, invalid calls, and `incref` / `decref` that release refs
//! mixed in), checked answer by answer, and release by release, against a
//! plain sequential model; and `ObjRef`'s encoding.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use halo_alias::{AliasError, AliasTable, AliasTableBuilder, ObjRef, Released};
use proptest::prelude::*;
use proptest::sample::Index;

/// The most refs in one generated forest.
const MAX_REFS: usize = 32;

/// What the generator intends for one ref.
#[derive(Clone, Debug)]
enum Plan {
    Canonical,
    /// An alias of a ref created earlier (the first ref stays open).
    AliasOfEarlier(Index),
    Open,
}

/// One scheduler call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Alias(ObjRef, ObjRef),
    Canonical(ObjRef),
    Incref(ObjRef),
    Decref(ObjRef),
}

impl Call {
    fn apply(self, table: &AliasTable) -> Result<(), AliasError> {
        match self {
            Call::Alias(a, t) => table.alias(a, t),
            Call::Canonical(c) => table.add_canonical(c),
            Call::Incref(x) => table.incref(x),
            Call::Decref(x) => table.decref(x),
        }
    }
}

/// A kind of extra call mixed into the intended ones.
#[derive(Clone, Debug)]
enum Extra {
    /// `alias(a, a)`.
    SelfAlias(Index),
    /// `alias(a, t)` for a planned alias `a` and some other `t`.
    Realias(Index, Index),
    /// `alias(c, t)` for a planned canonical `c`.
    AliasOfCanonical(Index, Index),
    /// `add_canonical(a)` for a planned alias `a`.
    CanonicalOfAlias(Index),
    /// `alias(root, x)` for a ref `x` of `root`'s planned tree.
    CloseCycle(Index),
    /// One of the intended calls again.
    Repeat(Index),
    /// A call with a ref the table never handed out.
    Unknown(Index, u32, bool),
}

/// A lifecycle call mixed into the others.
#[derive(Clone, Debug)]
enum Holding {
    Incref(Index),
    Decref(Index),
    /// `incref` or `decref` (if true) of a generation never handed out.
    Unknown(Index, bool),
}

fn holding() -> impl Strategy<Value = Holding> {
    prop_oneof![
        2 => any::<Index>().prop_map(Holding::Incref),
        5 => any::<Index>().prop_map(Holding::Decref),
        1 => (any::<Index>(), any::<bool>()).prop_map(|(r, decref)| Holding::Unknown(r, decref)),
    ]
}

/// The lifecycle calls: one per `holdings` entry, and if `let_go`, one
/// `decref` of every ref (its registering holder), so that whole trees
/// are often released.
fn holding_calls(n: usize, holdings: &[Holding], let_go: bool) -> Vec<Call> {
    let mut calls: Vec<Call> = holdings
        .iter()
        .map(|holding| match holding {
            Holding::Incref(x) => Call::Incref(r(x.index(n))),
            Holding::Decref(x) => Call::Decref(r(x.index(n))),
            Holding::Unknown(x, false) => Call::Incref(ObjRef::new(x.index(n) as u32, 1)),
            Holding::Unknown(x, true) => Call::Decref(ObjRef::new(x.index(n) as u32, 1)),
        })
        .collect();
    if let_go {
        calls.extend((0..n).map(|i| Call::Decref(r(i))));
    }
    calls
}

fn plan() -> impl Strategy<Value = Plan> {
    prop_oneof![
        3 => Just(Plan::Canonical),
        6 => any::<Index>().prop_map(Plan::AliasOfEarlier),
        1 => Just(Plan::Open),
    ]
}

fn extra() -> impl Strategy<Value = Extra> {
    prop_oneof![
        1 => any::<Index>().prop_map(Extra::SelfAlias),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, t)| Extra::Realias(a, t)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(c, t)| Extra::AliasOfCanonical(c, t)),
        1 => any::<Index>().prop_map(Extra::CanonicalOfAlias),
        1 => any::<Index>().prop_map(Extra::CloseCycle),
        3 => any::<Index>().prop_map(Extra::Repeat),
        1 => (any::<Index>(), 0..3u32, any::<bool>()).prop_map(|(r, g, alias)| Extra::Unknown(r, g, alias)),
    ]
}

/// The planned direct edge of every ref: `Some(i)` for itself if canonical.
fn planned_edges(plans: &[Plan]) -> Vec<Option<usize>> {
    plans
        .iter()
        .enumerate()
        .map(|(i, plan)| match plan {
            Plan::Canonical => Some(i),
            Plan::AliasOfEarlier(_) if i == 0 => None,
            Plan::AliasOfEarlier(target) => Some(target.index(i)),
            Plan::Open => None,
        })
        .collect()
}

fn r(index: usize) -> ObjRef {
    ObjRef::new(index as u32, 0)
}

/// The intended calls, one per ref that is not left open, then the extras.
fn calls(plans: &[Plan], extras: &[Extra]) -> Vec<Call> {
    let n = plans.len();
    let edges = planned_edges(plans);
    let intended: Vec<Call> = edges
        .iter()
        .enumerate()
        .filter_map(|(i, edge)| match *edge {
            Some(t) if t == i => Some(Call::Canonical(r(i))),
            Some(t) => Some(Call::Alias(r(i), r(t))),
            None => None,
        })
        .collect();
    let aliased: Vec<usize> = (0..n)
        .filter(|&i| matches!(edges[i], Some(t) if t != i))
        .collect();
    let canonical: Vec<usize> = (0..n).filter(|&i| edges[i] == Some(i)).collect();
    let planned_root = |mut i: usize| {
        while let Some(t) = edges[i].filter(|&t| t != i) {
            i = t;
        }
        i
    };
    // A ref other than `not`, if there is one.
    let other = |pick: &Index, not: usize| (n > 1).then(|| (not + 1 + pick.index(n - 1)) % n);

    let mut all = intended.clone();
    for extra in extras {
        let call = match extra {
            Extra::SelfAlias(a) => Some(Call::Alias(r(a.index(n)), r(a.index(n)))),
            Extra::Realias(a, t) if !aliased.is_empty() => {
                let a = aliased[a.index(aliased.len())];
                let planned = edges[a].unwrap();
                other(t, planned)
                    .filter(|&t| t != a)
                    .map(|t| Call::Alias(r(a), r(t)))
            }
            Extra::AliasOfCanonical(c, t) if !canonical.is_empty() => {
                let c = canonical[c.index(canonical.len())];
                other(t, c).map(|t| Call::Alias(r(c), r(t)))
            }
            Extra::CanonicalOfAlias(a) if !aliased.is_empty() => {
                Some(Call::Canonical(r(aliased[a.index(aliased.len())])))
            }
            Extra::CloseCycle(x) => {
                let x = x.index(n);
                let root = planned_root(x);
                (root != x).then(|| Call::Alias(r(root), r(x)))
            }
            Extra::Repeat(i) if !intended.is_empty() => Some(intended[i.index(intended.len())]),
            Extra::Unknown(i, generation, alias) => {
                // Generation 0 beyond the registered refs, or a wrong
                // generation of a registered one.
                let unknown = if *generation == 0 {
                    r(n + i.index(4))
                } else {
                    ObjRef::new(i.index(n) as u32, *generation)
                };
                let known = r(i.index(n));
                Some(match (alias, generation % 2 == 0) {
                    (false, _) => Call::Canonical(unknown),
                    (true, true) => Call::Alias(unknown, known),
                    (true, false) => Call::Alias(known, unknown),
                })
            }
            _ => None,
        };
        all.extend(call);
    }
    all
}

/// A test case: table configuration, number of refs, calls in order.
/// A third of the cases have no lifecycle calls (nothing is released).
fn case() -> impl Strategy<Value = (usize, usize, Vec<Call>)> {
    (
        0..BUILDERS.len(),
        prop::collection::vec(plan(), 1..=MAX_REFS),
        prop::collection::vec(extra(), 0..MAX_REFS),
        prop_oneof![
            1 => Just((Vec::new(), false)),
            2 => (prop::collection::vec(holding(), 0..2 * MAX_REFS), any::<bool>()),
        ],
    )
        .prop_flat_map(|(config, plans, extras, (holdings, let_go))| {
            let mut calls = calls(&plans, &extras);
            calls.extend(holding_calls(plans.len(), &holdings, let_go));
            (Just(config), Just(plans.len()), Just(calls).prop_shuffle())
        })
}

/// A builder for a table that will hold at most `refs` refs.
type Builder = fn(refs: usize) -> AliasTableBuilder;

/// The table configurations of `common::CONFIGS` (`new()` and `default()`
/// being both `builder().build()`), as builders, so that each can be
/// given a release handler.
const BUILDERS: [(&str, Builder); 5] = [
    ("AliasTable::builder()", |_| AliasTable::builder()),
    ("builder().capacity(refs)", |refs| {
        AliasTable::builder().capacity(refs)
    }),
    (
        "builder().capacity(refs / 3).max_refs(refs + 100)",
        |refs| {
            AliasTable::builder()
                .capacity(refs / 3)
                .max_refs(refs + 100)
        },
    ),
    ("builder().max_refs(refs)", |refs| {
        AliasTable::builder().max_refs(refs)
    }),
    ("builder().capacity(1 << 16).max_refs(usize::MAX)", |_| {
        AliasTable::builder().capacity(1 << 16).max_refs(usize::MAX)
    }),
];

/// A table in configuration `config`, for `refs` refs, whose releases
/// are recorded in order.
fn recording_table(config: usize, refs: usize) -> (AliasTable, Arc<Mutex<Vec<Released>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&events);
    let table = (BUILDERS[config].1)(refs)
        .on_release(move |released| log.lock().unwrap().push(released))
        .build();
    (table, events)
}

/// Where a ref's path ends in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Canonical(usize),
    Open(usize),
}

/// The sequential model: a target map and a reverse map, and each ref's
/// holders and whether it was released.
///
/// The lifecycle rules, as plainly as they can be put: a ref is *pending*
/// while its edge is unset (its own `alias` or `add_canonical` has not
/// taken effect), and *pinned* while a live (unreleased) alias targets
/// it. It dies once it has no holders and is neither pending nor pinned;
/// a dying alias may leave its target to die in turn.
#[derive(Debug)]
struct Model {
    /// `Some(t)`: an alias of `t`, or canonical if `t` is the ref itself.
    edge: Vec<Option<usize>>,
    /// Direct aliases of each ref, in the order they were added (released
    /// ones included).
    aliases: Vec<Vec<usize>>,
    holders: Vec<u32>,
    released: Vec<bool>,
}

impl Model {
    fn new(n: usize) -> Model {
        Model {
            edge: vec![None; n],
            aliases: vec![Vec::new(); n],
            holders: vec![1; n],
            released: vec![false; n],
        }
    }

    /// `x`'s index if the table handed `x` out and has not released it.
    fn known(&self, x: ObjRef) -> Result<usize, AliasError> {
        let index = x.index() as usize;
        if x.generation() != 0 || index >= self.edge.len() {
            Err(AliasError::UnknownRef(x))
        } else if self.released[index] {
            Err(AliasError::StaleRef(x))
        } else {
            Ok(index)
        }
    }

    fn pending(&self, i: usize) -> bool {
        self.edge[i].is_none()
    }

    fn pinned(&self, i: usize) -> bool {
        self.aliases[i].iter().any(|&a| !self.released[a])
    }

    /// Releases `i` if nothing keeps it alive, then its target if that
    /// alias was the last thing keeping it, and so on up the path;
    /// appending the reports in order.
    fn release_dead(&mut self, mut i: usize, events: &mut Vec<Released>) {
        while !self.released[i] && self.holders[i] == 0 && !self.pending(i) && !self.pinned(i) {
            self.released[i] = true;
            match self.edge[i] {
                Some(t) if t == i => {
                    events.push(Released::Object { canonical: r(i) });
                    return;
                }
                Some(t) => {
                    events.push(Released::Alias {
                        alias: r(i),
                        target: r(t),
                    });
                    i = t;
                }
                None => unreachable!("an open ref is pending"),
            }
        }
    }

    /// Walks from `i` (the model never holds a cycle).
    fn end(&self, mut i: usize) -> End {
        for _ in 0..=self.edge.len() {
            match self.edge[i] {
                None => return End::Open(i),
                Some(t) if t == i => return End::Canonical(i),
                Some(t) => i = t,
            }
        }
        panic!("the model holds a cycle through {i}");
    }

    /// Whether `from`'s path passes through `to`.
    fn leads_to(&self, mut from: usize, to: usize) -> bool {
        loop {
            if from == to {
                return true;
            }
            match self.edge[from] {
                Some(t) if t != from => from = t,
                _ => return false,
            }
        }
    }

    /// Applies `call`, appending the releases it makes to `events`.
    fn apply(&mut self, call: Call, events: &mut Vec<Released>) -> Result<(), AliasError> {
        match call {
            Call::Alias(a, t) => {
                let ai = self.known(a)?;
                let ti = self.known(t)?;
                if ai == ti {
                    return Err(AliasError::SelfAlias(a));
                }
                match self.edge[ai] {
                    Some(e) if e == ai => Err(AliasError::AlreadyCanonical(a)),
                    Some(e) if e == ti => Ok(()),
                    Some(e) => Err(AliasError::AlreadyAliased {
                        alias: a,
                        existing: r(e),
                    }),
                    None if self.leads_to(ti, ai) => Err(AliasError::Cycle(a)),
                    None => {
                        self.edge[ai] = Some(ti);
                        self.aliases[ti].push(ai);
                        self.release_dead(ai, events);
                        Ok(())
                    }
                }
            }
            Call::Canonical(c) => {
                let ci = self.known(c)?;
                match self.edge[ci] {
                    None => {
                        self.edge[ci] = Some(ci);
                        self.release_dead(ci, events);
                        Ok(())
                    }
                    Some(e) if e == ci => Ok(()),
                    Some(e) => Err(AliasError::AlreadyAliased {
                        alias: c,
                        existing: r(e),
                    }),
                }
            }
            Call::Incref(x) => {
                let i = self.known(x)?;
                self.holders[i] += 1;
                Ok(())
            }
            Call::Decref(x) => {
                let i = self.known(x)?;
                if self.holders[i] == 0 {
                    return Err(AliasError::NotHeld(x));
                }
                self.holders[i] -= 1;
                self.release_dead(i, events);
                Ok(())
            }
        }
    }

    /// Checks every query of every ref against the model.
    fn check(&self, table: &AliasTable) -> Result<(), TestCaseError> {
        let n = self.edge.len();
        let live = self.released.iter().filter(|&&released| !released).count();
        prop_assert_eq!(table.len(), live);
        prop_assert_eq!(table.is_empty(), live == 0);
        let ends: Vec<End> = (0..n).map(|i| self.end(i)).collect();
        for i in 0..n {
            let x = r(i);
            if self.released[i] {
                let stale = AliasError::StaleRef(x);
                prop_assert_eq!(table.holders(x), Err(stale), "holders({})", x);
                prop_assert_eq!(table.target(x), Err(stale), "target({})", x);
                prop_assert_eq!(table.aliases(x), Err(stale), "aliases({})", x);
                prop_assert_eq!(table.is_canonical(x), Err(stale), "is_canonical({})", x);
                prop_assert_eq!(table.try_resolve(x), Err(stale), "try_resolve({})", x);
                prop_assert_eq!(table.resolve(x), Err(stale), "resolve({})", x);
                prop_assert_eq!(table.resolve_timeout(x, Duration::ZERO), Err(stale));
                prop_assert_eq!(table.equivalent(x), Err(stale), "equivalent({})", x);
                continue;
            }
            prop_assert_eq!(table.holders(x), Ok(self.holders[i]), "holders({})", x);
            prop_assert_eq!(table.target(x), Ok(self.edge[i].map(r)), "target({})", x);
            let mut aliases = self.aliases[i].clone();
            aliases.retain(|&a| !self.released[a]);
            aliases.sort_unstable();
            prop_assert_eq!(
                table.aliases(x),
                Ok(aliases.into_iter().map(r).collect::<Vec<_>>()),
                "aliases({})",
                x
            );
            prop_assert_eq!(
                table.is_canonical(x),
                Ok(self.edge[i] == Some(i)),
                "is_canonical({})",
                x
            );
            let (root, resolved) = match ends[i] {
                End::Canonical(c) => (c, Some(r(c))),
                End::Open(o) => (o, None),
            };
            prop_assert_eq!(table.try_resolve(x), Ok(resolved), "try_resolve({})", x);
            match resolved {
                Some(c) => {
                    prop_assert_eq!(table.resolve(x), Ok(c), "resolve({})", x);
                    prop_assert_eq!(table.resolve_timeout(x, Duration::ZERO), Ok(c));
                }
                None => prop_assert_eq!(
                    table.resolve_timeout(x, Duration::ZERO),
                    Err(AliasError::Timeout(x))
                ),
            }
            let mut equivalent = vec![r(root)];
            equivalent.extend(
                (0..n)
                    .filter(|&j| j != root && !self.released[j] && ends[j] == ends[i])
                    .map(r),
            );
            prop_assert_eq!(table.equivalent(x), Ok(equivalent), "equivalent({})", x);
        }
        Ok(())
    }
}

fn apply_and_check(config: usize, n: usize, calls: &[Call]) -> Result<(), TestCaseError> {
    let (table, events) = recording_table(config, n);
    let refs = common::register_n(&table, n);
    prop_assert_eq!(refs.len(), n);
    let mut model = Model::new(n);
    model.check(&table)?;
    for (step, &call) in calls.iter().enumerate() {
        let mut expected_events = Vec::new();
        let expected = model.apply(call, &mut expected_events);
        let actual = call.apply(&table);
        prop_assert_eq!(
            actual,
            expected,
            "call {} of {}: {:?} ({})",
            step,
            calls.len(),
            call,
            BUILDERS[config].0
        );
        let actual_events = std::mem::take(&mut *events.lock().unwrap());
        prop_assert_eq!(
            actual_events,
            expected_events,
            "releases by call {} of {}: {:?}",
            step,
            calls.len(),
            call
        );
        model.check(&table)?;
    }
    // Nor did the last check's queries release anything (an earlier
    // check's releases would have shown up with the next call's).
    prop_assert_eq!(events.lock().unwrap().len(), 0);
    Ok(())
}

proptest! {
    /// Every answer of the table equals the sequential model's, after every
    /// call, for random forests built in random orders with repeats,
    /// refused calls, and `incref` / `decref` mixed in; and every call
    /// reports exactly the releases the model makes, in the same order.
    #[test]
    fn table_matches_sequential_model((config, n, calls) in case()) {
        apply_and_check(config, n, &calls)?;
    }

    /// The same consistent calls (the intended ones, without extras) in
    /// two random orders leave the same tables (order independence), and
    /// every call succeeds.
    #[test]
    fn consistent_calls_give_the_same_tables_in_any_order(
        (n, first, second) in prop::collection::vec(plan(), 1..=MAX_REFS).prop_flat_map(|plans| {
            let intended = calls(&plans, &[]);
            (
                Just(plans.len()),
                Just(intended.clone()).prop_shuffle(),
                Just(intended).prop_shuffle(),
            )
        })
    ) {
        let build = |order: &[Call]| -> Result<common::Snapshot, TestCaseError> {
            let table = AliasTable::new();
            common::register_n(&table, n);
            for &call in order {
                prop_assert_eq!(call.apply(&table), Ok(()), "{:?}", call);
            }
            Ok(common::snapshot(&table))
        };
        prop_assert_eq!(build(&first)?, build(&second)?);
    }

    /// `ObjRef`'s fields and its 64-bit form round-trip.
    #[test]
    fn obj_ref_fields_round_trip(index in any::<u32>(), generation in any::<u32>()) {
        let x = ObjRef::new(index, generation);
        prop_assert_eq!(x.index(), index);
        prop_assert_eq!(x.generation(), generation);
        prop_assert_eq!(x.to_bits(), (u64::from(generation) << 32) | u64::from(index));
        prop_assert_eq!(ObjRef::from_bits(x.to_bits()), x);
        prop_assert_eq!(u64::from(x), x.to_bits());
        prop_assert_eq!(ObjRef::from(x.to_bits()), x);
        prop_assert_eq!(x.to_string(), format!("ref#{index}.{generation}"));
        prop_assert_eq!(format!("{x:?}"), format!("ObjRef({index}.{generation})"));
    }

    /// Every `u64` is a ref, and decodes back to itself.
    #[test]
    fn obj_ref_bits_round_trip(bits in any::<u64>()) {
        let x = ObjRef::from_bits(bits);
        prop_assert_eq!(x.to_bits(), bits);
        prop_assert_eq!(ObjRef::new(x.index(), x.generation()), x);
        prop_assert_eq!(u64::from(x.index()), bits & 0xffff_ffff);
        prop_assert_eq!(u64::from(x.generation()), bits >> 32);
    }

    /// Distinct fields give distinct refs.
    #[test]
    fn obj_ref_is_injective(a in any::<(u32, u32)>(), b in any::<(u32, u32)>()) {
        prop_assert_eq!(ObjRef::new(a.0, a.1) == ObjRef::new(b.0, b.1), a == b);
    }
}
