//! `AliasTable` behind the benchmark trait.

use halo_alias::{AliasTable, ObjRef};

use super::{Aliasing, Scheduling};

/// `halo_alias::AliasTable`.
pub(crate) struct Halo(AliasTable);

fn obj(index: u32) -> ObjRef {
    ObjRef::new(index, 0)
}

impl Aliasing for Halo {
    const NAME: &'static str = "AliasTable";

    fn with_capacity(refs: usize) -> Self {
        Halo(AliasTable::with_capacity(refs))
    }

    fn register(&self) -> u32 {
        self.0.register().expect("capacity").index()
    }

    fn alias(&self, alias: u32, target: u32) {
        self.0
            .alias(obj(alias), obj(target))
            .expect("consistent calls");
    }

    fn add_canonical(&self, r: u32) {
        self.0.add_canonical(obj(r)).expect("consistent calls");
    }

    fn resolve(&self, r: u32) -> u32 {
        self.0.resolve(obj(r)).expect("no cycles").index()
    }

    fn memory_bytes(&self) -> usize {
        self.0.memory_bytes()
    }
}

impl Scheduling for Halo {
    fn equivalent(&self, r: u32) -> Vec<u32> {
        let refs = self.0.equivalent(obj(r)).expect("no cycles");
        refs.into_iter().map(ObjRef::index).collect()
    }
}
