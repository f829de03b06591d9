//! Property tests: random forests built by calls in random orders (with
//! repeats and invalid calls mixed in), checked answer by answer against a
//! plain sequential model; and `ObjRef`'s encoding.

mod common;

use std::time::Duration;

use common::CONFIGS;
use halo_alias::{AliasError, AliasTable, ObjRef};
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
fn case() -> impl Strategy<Value = (usize, usize, Vec<Call>)> {
    (
        0..CONFIGS.len(),
        prop::collection::vec(plan(), 1..=MAX_REFS),
        prop::collection::vec(extra(), 0..MAX_REFS),
    )
        .prop_flat_map(|(config, plans, extras)| {
            let calls = calls(&plans, &extras);
            (Just(config), Just(plans.len()), Just(calls).prop_shuffle())
        })
}

/// Where a ref's path ends in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    Canonical(usize),
    Open(usize),
}

/// The sequential model: a target map and a reverse map.
#[derive(Debug)]
struct Model {
    /// `Some(t)`: an alias of `t`, or canonical if `t` is the ref itself.
    edge: Vec<Option<usize>>,
    /// Direct aliases of each ref, in the order they were added.
    aliases: Vec<Vec<usize>>,
}

impl Model {
    fn new(n: usize) -> Model {
        Model {
            edge: vec![None; n],
            aliases: vec![Vec::new(); n],
        }
    }

    fn known(&self, x: ObjRef) -> Result<usize, AliasError> {
        let index = x.index() as usize;
        if x.generation() == 0 && index < self.edge.len() {
            Ok(index)
        } else {
            Err(AliasError::UnknownRef(x))
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

    fn apply(&mut self, call: Call) -> Result<(), AliasError> {
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
                        Ok(())
                    }
                }
            }
            Call::Canonical(c) => {
                let ci = self.known(c)?;
                match self.edge[ci] {
                    None => {
                        self.edge[ci] = Some(ci);
                        Ok(())
                    }
                    Some(e) if e == ci => Ok(()),
                    Some(e) => Err(AliasError::AlreadyAliased {
                        alias: c,
                        existing: r(e),
                    }),
                }
            }
        }
    }

    /// Checks every query of every ref against the model.
    fn check(&self, table: &AliasTable) -> Result<(), TestCaseError> {
        let n = self.edge.len();
        prop_assert_eq!(table.len(), n);
        let ends: Vec<End> = (0..n).map(|i| self.end(i)).collect();
        for i in 0..n {
            let x = r(i);
            prop_assert_eq!(table.target(x), Ok(self.edge[i].map(r)), "target({})", x);
            let mut aliases = self.aliases[i].clone();
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
            equivalent.extend((0..n).filter(|&j| j != root && ends[j] == ends[i]).map(r));
            prop_assert_eq!(table.equivalent(x), Ok(equivalent), "equivalent({})", x);
        }
        Ok(())
    }
}

fn apply_and_check(config: usize, n: usize, calls: &[Call]) -> Result<(), TestCaseError> {
    let table = CONFIGS[config].build(n);
    let refs = common::register_n(&table, n);
    prop_assert_eq!(refs.len(), n);
    let mut model = Model::new(n);
    model.check(&table)?;
    for (step, &call) in calls.iter().enumerate() {
        let expected = model.apply(call);
        let actual = match call {
            Call::Alias(a, t) => table.alias(a, t),
            Call::Canonical(c) => table.add_canonical(c),
        };
        prop_assert_eq!(
            actual,
            expected,
            "call {} of {}: {:?}",
            step,
            calls.len(),
            call
        );
        model.check(&table)?;
    }
    Ok(())
}

proptest! {
    /// Every answer of the table equals the sequential model's, after every
    /// call, for random forests built in random orders with repeats and
    /// refused calls mixed in.
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
                let result = match call {
                    Call::Alias(a, t) => table.alias(a, t),
                    Call::Canonical(c) => table.add_canonical(c),
                };
                prop_assert_eq!(result, Ok(()), "{:?}", call);
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
