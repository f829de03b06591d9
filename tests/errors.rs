//! Every `AliasError` variant from every method that can return it, with a
//! check that the refused call changed nothing and that the message names
//! the refs involved; and idempotence of repeated calls.

mod common;

use std::time::Duration;

use common::{assert_ok_unchanged, assert_refused, for_each_config, register_n, snapshot, SHORT};
use halo_alias::{AliasError, AliasTable, ObjRef};

/// A small forest with every kind of ref:
///
/// ```text
/// h -> g -> f (canonical)      x -> f
/// p -> o (open)                q (open, alone)
/// ```
#[derive(Clone, Copy, Debug)]
struct Forest {
    f: ObjRef,
    g: ObjRef,
    h: ObjRef,
    x: ObjRef,
    o: ObjRef,
    p: ObjRef,
    q: ObjRef,
}

impl Forest {
    const REFS: usize = 7;

    fn build(table: &AliasTable) -> Forest {
        let [f, g, h, x, o, p, q] = <[ObjRef; 7]>::try_from(register_n(table, Self::REFS)).unwrap();
        table.add_canonical(f).unwrap();
        table.alias(g, f).unwrap();
        table.alias(h, g).unwrap();
        table.alias(x, f).unwrap();
        table.alias(p, o).unwrap();
        let forest = Forest {
            f,
            g,
            h,
            x,
            o,
            p,
            q,
        };
        forest.check(table);
        forest
    }

    fn all(&self) -> [ObjRef; 7] {
        [self.f, self.g, self.h, self.x, self.o, self.p, self.q]
    }

    /// The forest is intact.
    fn check(&self, table: &AliasTable) {
        let Forest {
            f,
            g,
            h,
            x,
            o,
            p,
            q,
        } = *self;
        assert_eq!(table.target(f), Ok(Some(f)));
        assert_eq!(table.target(g), Ok(Some(f)));
        assert_eq!(table.target(h), Ok(Some(g)));
        assert_eq!(table.target(x), Ok(Some(f)));
        assert_eq!(table.target(o), Ok(None));
        assert_eq!(table.target(p), Ok(Some(o)));
        assert_eq!(table.target(q), Ok(None));
        assert_eq!(table.aliases(f), Ok(vec![g, x]));
        assert_eq!(table.aliases(g), Ok(vec![h]));
        assert_eq!(table.aliases(o), Ok(vec![p]));
        for r in [h, x, p, q] {
            assert_eq!(table.aliases(r), Ok(vec![]));
        }
        for r in [f, g, h, x] {
            assert_eq!(table.try_resolve(r), Ok(Some(f)));
            assert_eq!(table.equivalent(r), Ok(vec![f, g, h, x]));
            assert_eq!(table.is_canonical(r), Ok(r == f));
        }
        for r in [o, p] {
            assert_eq!(table.try_resolve(r), Ok(None));
            assert_eq!(table.equivalent(r), Ok(vec![o, p]));
            assert_eq!(table.is_canonical(r), Ok(false));
        }
        assert_eq!(table.equivalent(q), Ok(vec![q]));
    }
}

/// Refs this table never handed out, for a table with `len` refs: wrong
/// generations of registered slots and indexes never registered (in and
/// beyond allocated segments, up to the largest encodable index).
fn unknown_refs(len: usize) -> Vec<ObjRef> {
    let len = len as u32;
    vec![
        ObjRef::new(0, 1),
        ObjRef::new(1, 2),
        ObjRef::new(len - 1, u32::MAX),
        ObjRef::new(len, 0),
        ObjRef::new(len + 1, 0),
        ObjRef::new(63, 0),
        ObjRef::new(64, 0),
        ObjRef::new(100_000, 0),
        ObjRef::new(u32::MAX - 3, 0),
        ObjRef::new(u32::MAX, 0),
        ObjRef::from_bits(u64::MAX),
    ]
}

#[test]
fn unknown_ref_from_every_method() {
    for_each_config(Forest::REFS, |_, table| {
        let forest = Forest::build(&table);
        for bad in unknown_refs(table.len()) {
            let err = AliasError::UnknownRef(bad);
            let t = &table;
            assert_refused(t, err, &[bad], || t.add_canonical(bad));
            assert_refused(t, err, &[bad], || t.try_resolve(bad));
            assert_refused(t, err, &[bad], || t.resolve(bad));
            assert_refused(t, err, &[bad], || t.resolve_timeout(bad, SHORT));
            assert_refused(t, err, &[bad], || t.resolve_timeout(bad, Duration::MAX));
            assert_refused(t, err, &[bad], || t.is_canonical(bad));
            assert_refused(t, err, &[bad], || t.target(bad));
            assert_refused(t, err, &[bad], || t.aliases(bad));
            assert_refused(t, err, &[bad], || t.equivalent(bad));
            // alias, with the unknown ref on either side, and on both
            // (which is UnknownRef, not SelfAlias).
            assert_refused(t, err, &[bad], || t.alias(bad, bad));
            for good in forest.all() {
                assert_refused(t, err, &[bad], || t.alias(bad, good));
                assert_refused(t, err, &[bad], || t.alias(good, bad));
            }
            // Two unknown refs: either may be named.
            let other = ObjRef::new(bad.index() ^ 1, bad.generation().wrapping_add(1));
            let before = snapshot(t);
            let result = t.alias(bad, other);
            assert!(
                result == Err(AliasError::UnknownRef(bad))
                    || result == Err(AliasError::UnknownRef(other)),
                "alias({bad}, {other}) = {result:?}"
            );
            assert_eq!(snapshot(t), before);
        }
        forest.check(&table);
    });
}

#[test]
fn unknown_ref_in_a_table_with_no_refs() {
    for_each_config(1, |_, table| {
        for bad in [ObjRef::new(0, 0), ObjRef::new(1, 0), ObjRef::new(0, 1)] {
            let err = AliasError::UnknownRef(bad);
            let t = &table;
            assert_refused(t, err, &[bad], || t.alias(bad, ObjRef::new(5, 0)));
            assert_refused(t, err, &[bad], || t.add_canonical(bad));
            assert_refused(t, err, &[bad], || t.resolve(bad));
            assert_refused(t, err, &[bad], || t.equivalent(bad));
        }
        assert!(table.is_empty());
        // The first ref registered is index 0: the refused calls did not
        // make it known, and it starts open.
        let r = table.register().unwrap();
        assert_eq!(r, ObjRef::new(0, 0));
        assert_eq!(table.target(r), Ok(None));
        assert_eq!(table.equivalent(r), Ok(vec![r]));
    });
}

#[test]
fn self_alias() {
    for_each_config(Forest::REFS, |_, table| {
        let forest = Forest::build(&table);
        // Canonical, alias, root with aliases, open root, open alone.
        for r in forest.all() {
            assert_refused(&table, AliasError::SelfAlias(r), &[r], || table.alias(r, r));
        }
        forest.check(&table);
    });
}

#[test]
fn already_aliased_from_alias() {
    for_each_config(Forest::REFS, |_, table| {
        let Forest {
            f,
            g,
            h,
            x,
            o,
            p,
            q,
        } = Forest::build(&table);
        let cases = [
            // Re-aliasing to any other target: in the same tree (a sibling,
            // the tree's root past the direct target, an alias of its own),
            // in another tree, or a lone ref.
            (g, [x, h, o, p, q], f),
            (h, [f, x, o, p, q], g),
            (x, [g, h, o, p, q], f),
            (p, [f, g, h, x, q], o),
        ];
        for (alias, targets, existing) in cases {
            for target in targets {
                assert_refused(
                    &table,
                    AliasError::AlreadyAliased { alias, existing },
                    &[alias, existing],
                    || table.alias(alias, target),
                );
            }
        }
        Forest {
            f,
            g,
            h,
            x,
            o,
            p,
            q,
        }
        .check(&table);
    });
}

#[test]
fn already_aliased_from_add_canonical() {
    for_each_config(Forest::REFS, |_, table| {
        let forest = Forest::build(&table);
        let Forest {
            f, g, h, x, o, p, ..
        } = forest;
        // Resolved aliases, an alias of an alias, an alias of an open ref.
        for (alias, existing) in [(g, f), (h, g), (x, f), (p, o)] {
            assert_refused(
                &table,
                AliasError::AlreadyAliased { alias, existing },
                &[alias, existing],
                || table.add_canonical(alias),
            );
        }
        forest.check(&table);
    });
}

#[test]
fn already_aliased_message() {
    for_each_config(3, |_, table| {
        let [a, b, c] = <[ObjRef; 3]>::try_from(register_n(&table, 3)).unwrap();
        table.alias(b, c).unwrap();
        let expected = AliasError::AlreadyAliased {
            alias: ObjRef::new(1, 0),
            existing: ObjRef::new(2, 0),
        };
        assert_refused(&table, expected, &[b, c], || table.alias(b, a));
        assert_eq!(
            expected.to_string(),
            "ref#1.0 is already an alias of ref#2.0"
        );
    });
}

#[test]
fn already_canonical() {
    for_each_config(Forest::REFS + 1, |_, table| {
        let forest = Forest::build(&table);
        let Forest { f, o, q, .. } = forest;
        // Canonical f cannot become an alias: not of an open ref, not of a
        // ref of another tree, not of its own aliases (that would also be a
        // cycle, but the edge is checked first).
        for target in [forest.g, forest.h, forest.x, o, forest.p, q] {
            assert_refused(&table, AliasError::AlreadyCanonical(f), &[f], || {
                table.alias(f, target)
            });
        }
        // A second canonical ref, with no aliases.
        let c = table.register().unwrap();
        table.add_canonical(c).unwrap();
        for target in forest.all() {
            assert_refused(&table, AliasError::AlreadyCanonical(c), &[c], || {
                table.alias(c, target)
            });
        }
        forest.check(&table);
    });
}

#[test]
fn cycle_of_two() {
    for_each_config(Forest::REFS + 2, |_, table| {
        let forest = Forest::build(&table);
        let Forest { o, p, .. } = forest;
        // p -> o: o -> p would close a cycle.
        assert_refused(&table, AliasError::Cycle(o), &[o], || table.alias(o, p));
        forest.check(&table);
        // Two fresh refs.
        let a = table.register().unwrap();
        let b = table.register().unwrap();
        table.alias(b, a).unwrap();
        assert_refused(&table, AliasError::Cycle(a), &[a], || table.alias(a, b));
        assert_eq!(table.target(a), Ok(None));
        assert_eq!(table.equivalent(b), Ok(vec![a, b]));
    });
}

/// Long chains (crossing the cycle detector's checkpoint intervals and the
/// first segment boundary) and trees: aliasing the open root to any ref
/// that leads to it is refused, naming the root.
#[test]
fn longer_cycles() {
    const CHAIN: usize = 70;
    for_each_config(CHAIN + 12, |_, table| {
        // chain[i] -> chain[i + 1]; the last is open.
        let chain = register_n(&table, CHAIN);
        for pair in chain.windows(2) {
            table.alias(pair[0], pair[1]).unwrap();
        }
        let end = *chain.last().unwrap();
        // Cycles of every length would make the whole-table snapshots
        // quadratic; a spread of lengths (2, 3, ..., CHAIN) is enough.
        let starts = (0..CHAIN - 1).step_by(9).chain([CHAIN - 3, CHAIN - 2]);
        for start in starts.map(|i| chain[i]) {
            assert_refused(&table, AliasError::Cycle(end), &[end], || {
                table.alias(end, start)
            });
        }
        // A tree: two fans under root, chains under the fans.
        let [root, a, b, a1, a2, b1, a11, a111] =
            <[ObjRef; 8]>::try_from(register_n(&table, 8)).unwrap();
        for (alias, target) in [
            (a, root),
            (b, root),
            (a1, a),
            (a2, a),
            (b1, b),
            (a11, a1),
            (a111, a11),
        ] {
            table.alias(alias, target).unwrap();
        }
        for target in [a, b, a1, a2, b1, a11, a111] {
            assert_refused(&table, AliasError::Cycle(root), &[root], || {
                table.alias(root, target)
            });
        }
        // The refused calls left both structures usable: completing the
        // open ends resolves everything.
        let [c1, c2] = <[ObjRef; 2]>::try_from(register_n(&table, 2)).unwrap();
        table.add_canonical(c1).unwrap();
        table.alias(end, c1).unwrap();
        table.alias(root, c2).unwrap();
        table.add_canonical(c2).unwrap();
        for &r in &chain {
            assert_eq!(table.resolve(r), Ok(c1));
        }
        let mut expected = vec![c1];
        expected.extend(&chain);
        assert_eq!(table.equivalent(chain[0]), Ok(expected));
        for r in [root, a, b, a1, a2, b1, a11, a111] {
            assert_eq!(table.resolve(r), Ok(c2));
            assert_eq!(
                table.equivalent(r),
                Ok(vec![c2, root, a, b, a1, a2, b1, a11, a111])
            );
        }
        // Now that the paths end at canonical refs, the same calls meet
        // the canonical check instead of the cycle check.
        assert_refused(&table, AliasError::AlreadyCanonical(c1), &[c1], || {
            table.alias(c1, chain[0])
        });
        assert_refused(
            &table,
            AliasError::AlreadyAliased {
                alias: end,
                existing: c1,
            },
            &[end, c1],
            || table.alias(end, chain[0]),
        );
    });
}

#[test]
fn timeout() {
    for_each_config(Forest::REFS, |_, table| {
        let forest = Forest::build(&table);
        let Forest { f, h, o, p, q, .. } = forest;
        for timeout in [Duration::ZERO, Duration::from_nanos(1), SHORT] {
            // The error names the ref asked about, not the open end.
            for r in [o, p, q] {
                assert_refused(&table, AliasError::Timeout(r), &[r], || {
                    table.resolve_timeout(r, timeout)
                });
            }
            // Resolved refs answer at once whatever the timeout.
            assert_eq!(table.resolve_timeout(h, timeout), Ok(f));
            assert_eq!(table.resolve_timeout(f, timeout), Ok(f));
        }
        forest.check(&table);
        // Once the path completes, the same call succeeds; a timeout too
        // large for a deadline means no deadline.
        table.add_canonical(o).unwrap();
        assert_eq!(table.resolve_timeout(p, Duration::ZERO), Ok(o));
        assert_eq!(table.resolve_timeout(p, Duration::MAX), Ok(o));
        assert_refused(&table, AliasError::Timeout(q), &[q], || {
            table.resolve_timeout(q, SHORT)
        });
    });
}

#[test]
fn resolve_timeout_wakes_on_completion() {
    for_each_config(3, |_, table| {
        let [h, g, f] = <[ObjRef; 3]>::try_from(register_n(&table, 3)).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| table.resolve_timeout(h, Duration::MAX));
            let timed = s.spawn(|| table.resolve_timeout(h, Duration::from_secs(3600)));
            table.alias(h, g).unwrap();
            table.alias(g, f).unwrap();
            table.add_canonical(f).unwrap();
            assert_eq!(waiter.join().unwrap(), Ok(f));
            assert_eq!(timed.join().unwrap(), Ok(f));
        });
    });
}

#[test]
fn capacity_exhausted() {
    for max in [0, 1, 2, 3, 63, 64, 65, 130] {
        for table in [
            AliasTable::builder().max_refs(max).build(),
            AliasTable::builder().capacity(1000).max_refs(max).build(),
            AliasTable::builder().capacity(max).max_refs(max).build(),
        ] {
            assert_eq!(table.max_refs(), max);
            let refs = register_n(&table, max);
            // Some edges, so that the snapshot has something to compare.
            if let [a, b, rest @ ..] = refs.as_slice() {
                table.alias(*a, *b).unwrap();
                table.add_canonical(*b).unwrap();
                if let [c, ..] = rest {
                    table.alias(*c, *a).unwrap();
                }
            }
            for _ in 0..3 {
                assert_refused(&table, AliasError::CapacityExhausted, &[], || {
                    table.register()
                });
            }
            assert_eq!(table.len(), max);
            assert_eq!(table.is_empty(), max == 0);
            assert!(!AliasError::CapacityExhausted.to_string().is_empty());
            // Refs beyond the limit are unknown.
            let beyond = ObjRef::new(max as u32, 0);
            assert_refused(&table, AliasError::UnknownRef(beyond), &[beyond], || {
                table.target(beyond)
            });
        }
    }
}

#[test]
fn max_refs_above_the_limit_is_lowered() {
    assert_eq!(AliasTable::new().max_refs(), AliasTable::MAX_REFS);
    assert_eq!(AliasTable::MAX_REFS, (1 << 32) - 5);
    for max in [AliasTable::MAX_REFS, AliasTable::MAX_REFS + 1, usize::MAX] {
        let table = AliasTable::builder().max_refs(max).build();
        assert_eq!(table.max_refs(), AliasTable::MAX_REFS);
        assert_eq!(table.register(), Ok(ObjRef::new(0, 0)));
    }
}

#[test]
fn repeated_calls_are_ok_and_change_nothing() {
    for_each_config(Forest::REFS + 1, |_, table| {
        let forest = Forest::build(&table);
        let Forest {
            f,
            g,
            h,
            x,
            o,
            p,
            q,
        } = forest;
        for _ in 0..3 {
            assert_ok_unchanged(&table, || table.add_canonical(f));
            assert_ok_unchanged(&table, || table.alias(g, f));
            assert_ok_unchanged(&table, || table.alias(h, g));
            assert_ok_unchanged(&table, || table.alias(x, f));
            // A repeat whose target is still open.
            assert_ok_unchanged(&table, || table.alias(p, o));
        }
        forest.check(&table);
        // Repeats keep working as the forest grows around them.
        let y = table.register().unwrap();
        table.alias(o, q).unwrap();
        table.alias(y, o).unwrap();
        assert_ok_unchanged(&table, || table.alias(p, o));
        assert_ok_unchanged(&table, || table.alias(o, q));
        table.add_canonical(q).unwrap();
        assert_ok_unchanged(&table, || table.alias(p, o));
        assert_ok_unchanged(&table, || table.alias(o, q));
        assert_ok_unchanged(&table, || table.add_canonical(q));
        assert_eq!(table.aliases(o), Ok(vec![p, y]));
        assert_eq!(table.aliases(q), Ok(vec![o]));
        assert_eq!(table.equivalent(p), Ok(vec![q, o, p, y]));
        for r in [o, p, y, q] {
            assert_eq!(table.resolve(r), Ok(q));
        }
    });
}

#[test]
fn display_names_the_refs() {
    let a = ObjRef::new(3, 0);
    let b = ObjRef::new(7, 1);
    let cases = [
        (AliasError::UnknownRef(a), vec!["ref#3.0"]),
        (AliasError::SelfAlias(a), vec!["ref#3.0"]),
        (
            AliasError::AlreadyAliased {
                alias: a,
                existing: b,
            },
            vec!["ref#3.0", "ref#7.1"],
        ),
        (AliasError::AlreadyCanonical(b), vec!["ref#7.1"]),
        (AliasError::Cycle(a), vec!["ref#3.0"]),
        (AliasError::Timeout(b), vec!["ref#7.1"]),
    ];
    for (err, names) in cases {
        let message = err.to_string();
        for name in names {
            assert!(message.contains(name), "{message:?} should name {name}");
        }
        // Usable as a boxed error.
        let boxed: Box<dyn std::error::Error> = Box::new(err);
        assert_eq!(boxed.to_string(), message);
    }
    // The alias is named before the ref it already aliases.
    let message = AliasError::AlreadyAliased {
        alias: a,
        existing: b,
    }
    .to_string();
    assert!(
        message.find("ref#3.0") < message.find("ref#7.1"),
        "{message}"
    );
    assert_eq!(
        AliasError::SelfAlias(ObjRef::new(0, 0)).to_string(),
        "ref#0.0 cannot alias itself"
    );
}
