//! A planned forest of aliases for the stress tests: chains, fan-in trees
//! and random trees, the scheduler calls that build it, and checks of a
//! table's answers against the plan, both while it is being built and once
//! it is finished.

use halo_alias::{AliasError, AliasTable, ObjRef};

/// A planned forest. Nodes are numbered so that every node's parent has a
/// smaller number, and each tree's nodes are consecutive, root first.
#[derive(Debug, Default)]
pub(crate) struct Forest {
    /// The final edge of each node (`None` for a root).
    pub(crate) parent: Vec<Option<usize>>,
    /// The tree of each node.
    pub(crate) tree: Vec<usize>,
    /// Each tree's nodes (root first) and whether its root becomes canonical.
    pub(crate) trees: Vec<(Vec<usize>, bool)>,
}

/// The shape of one planned tree.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    /// `n0 <- n1 <- n2 <- ...`: h -> g -> f chains.
    Chain,
    /// Every node aliases the root: one target, many aliases.
    Fan,
    /// h -> g -> f chains with extra aliases of their first three refs.
    ChainsAndFans,
    /// Each node aliases a random earlier node.
    Random,
}

impl Forest {
    /// Plans one more tree of `size` nodes, whose root becomes canonical if
    /// `canonical`.
    pub(crate) fn add_tree(
        &mut self,
        rng: &mut fastrand::Rng,
        shape: Shape,
        size: usize,
        canonical: bool,
    ) {
        let root = self.parent.len();
        let id = self.trees.len();
        for j in 0..size {
            let parent = match (j, shape) {
                (0, _) => None,
                (_, Shape::Chain) => Some(j - 1),
                (_, Shape::Fan) => Some(0),
                (_, Shape::ChainsAndFans) if rng.bool() => Some(j - 1),
                (_, Shape::ChainsAndFans) => Some(rng.usize(..j.min(3))),
                (_, Shape::Random) => Some(rng.usize(..j)),
            };
            self.parent.push(parent.map(|p| root + p));
            self.tree.push(id);
        }
        self.trees.push(((root..root + size).collect(), canonical));
    }

    /// Many small trees of every shape, plus a long chain and a wide fan,
    /// `n` nodes in all. One tree in ten stays open (no canonical ref).
    pub(crate) fn generate(rng: &mut fastrand::Rng, n: usize) -> Forest {
        let mut forest = Forest::default();
        let big = (n / 50).clamp(1, 2000);
        if n >= 4 * big {
            forest.add_tree(rng, Shape::Chain, big, true);
            forest.add_tree(rng, Shape::Fan, big, true);
        }
        let shapes = [
            Shape::Chain,
            Shape::Fan,
            Shape::ChainsAndFans,
            Shape::Random,
        ];
        while forest.parent.len() < n {
            let size = rng.usize(1..=12).min(n - forest.parent.len());
            let shape = shapes[rng.usize(..shapes.len())];
            let canonical = rng.usize(..10) != 0;
            forest.add_tree(rng, shape, size, canonical);
        }
        forest
    }

    /// The root of `node`'s tree.
    pub(crate) fn root(&self, node: usize) -> usize {
        self.trees[self.tree[node]].0[0]
    }

    /// Whether `node`'s tree gets a canonical root.
    pub(crate) fn canonical(&self, node: usize) -> bool {
        self.trees[self.tree[node]].1
    }

    /// Whether `ancestor` is `node` or on its final path.
    pub(crate) fn leads_to(&self, mut node: usize, ancestor: usize) -> bool {
        loop {
            if node == ancestor {
                return true;
            }
            match self.parent[node] {
                Some(p) => node = p,
                None => return false,
            }
        }
    }

    /// The calls that build the forest: one per alias and canonical root.
    pub(crate) fn calls(&self) -> Vec<Call> {
        let mut calls = Vec::with_capacity(self.parent.len());
        for (node, parent) in self.parent.iter().enumerate() {
            match parent {
                Some(p) => calls.push(Call::Alias(node, *p)),
                None if self.canonical(node) => calls.push(Call::Canonical(node)),
                None => {}
            }
        }
        calls
    }
}

/// A scheduler call between forest nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Call {
    Alias(usize, usize),
    Canonical(usize),
}

impl Call {
    /// Makes the call on `table`, with node `i` as `refs[i]`.
    pub(crate) fn apply(self, table: &AliasTable, refs: &[ObjRef]) -> Result<(), AliasError> {
        match self {
            Call::Alias(a, t) => table.alias(refs[a], refs[t]),
            Call::Canonical(c) => table.add_canonical(refs[c]),
        }
    }
}

/// Checks `equivalent(refs[node])` taken while the forest was being built:
/// sorted, `node` included, the root on `node`'s final path, and nothing
/// outside `node`'s tree.
pub(crate) fn check_partial_equivalent(
    forest: &Forest,
    refs: &[ObjRef],
    node_of: &[usize],
    node: usize,
    got: &[ObjRef],
) {
    let r = refs[node];
    let (root, members) = got.split_first().expect("equivalent is never empty");
    let root_node = node_of[root.index() as usize];
    assert!(
        forest.leads_to(node, root_node),
        "equivalent({r}): root {root} is not on its path"
    );
    assert!(
        members.windows(2).all(|w| w[0] < w[1]),
        "equivalent({r}) unsorted: {got:?}"
    );
    assert!(
        !members.contains(root),
        "equivalent({r}) lists its root twice"
    );
    assert!(
        root == &r || members.contains(&r),
        "equivalent({r}) lacks {r}"
    );
    let tree = forest.tree[node];
    for m in got {
        assert_eq!(
            forest.tree[node_of[m.index() as usize]],
            tree,
            "equivalent({r}) holds {m} of another tree"
        );
    }
}

/// Checks the finished forest, answer by answer.
pub(crate) fn check_forest(
    table: &AliasTable,
    forest: &Forest,
    refs: &[ObjRef],
    rng: &mut fastrand::Rng,
) {
    assert_eq!(table.len(), refs.len());
    let mut children = vec![Vec::new(); refs.len()];
    for (node, parent) in forest.parent.iter().enumerate() {
        if let Some(p) = parent {
            children[*p].push(refs[node]);
        }
    }
    for (nodes, canonical) in &forest.trees {
        let root = refs[nodes[0]];
        let mut equivalent: Vec<ObjRef> = nodes[1..].iter().map(|&n| refs[n]).collect();
        equivalent.sort_unstable();
        equivalent.insert(0, root);
        // Every member of small trees; a sample of the big ones.
        let sample: Vec<usize> = if nodes.len() <= 64 {
            nodes.clone()
        } else {
            (0..64).map(|_| nodes[rng.usize(..nodes.len())]).collect()
        };
        for &node in nodes {
            let r = refs[node];
            let expected_target = match forest.parent[node] {
                Some(p) => Some(refs[p]),
                None if *canonical => Some(r),
                None => None,
            };
            assert_eq!(table.target(r), Ok(expected_target), "target({r})");
            let mut aliases = children[node].clone();
            aliases.sort_unstable();
            assert_eq!(table.aliases(r), Ok(aliases), "aliases({r})");
            assert_eq!(table.is_canonical(r), Ok(*canonical && node == nodes[0]));
            let resolved = canonical.then_some(root);
            assert_eq!(table.try_resolve(r), Ok(resolved), "try_resolve({r})");
            if let Some(root) = resolved {
                assert_eq!(table.resolve(r), Ok(root), "resolve({r})");
            }
        }
        for node in sample {
            let r = refs[node];
            assert_eq!(
                table.equivalent(r).as_ref(),
                Ok(&equivalent),
                "equivalent({r})"
            );
        }
    }
}
