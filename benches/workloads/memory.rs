//! memory: bytes per ref for every implementation at 1M refs, three
//! quarters in chains of four and a quarter in fan-in trees of 64 aliases.
//! Computed (each implementation reports what its tables hold), printed,
//! and written to `target/criterion/memory.json` for the report.

use std::fmt::Write;

use super::{benching, sized};
use crate::impls::{Aliasing, DashMapTables, Floor, Halo, RwLockTables, TwoMutex, UfRush};

fn bytes_per_ref<I: Aliasing>(refs: usize) -> (&'static str, f64) {
    let table = I::with_capacity(refs);
    let chained = refs / 4 * 3;
    let mut built = 0;
    while built + 4 <= chained {
        let chain = [(); 4].map(|()| table.register());
        for link in 0..3 {
            table.alias(chain[link], chain[link + 1]);
        }
        table.add_canonical(chain[3]);
        built += 4;
    }
    while built + 65 <= refs {
        let target = table.register();
        table.add_canonical(target);
        for _ in 0..64 {
            let alias = table.register();
            table.alias(alias, target);
        }
        built += 65;
    }
    (I::NAME, table.memory_bytes() as f64 / built as f64)
}

/// Computes, prints and (when benching) saves the memory figures.
pub(crate) fn report() {
    let refs = sized(1 << 20, 1 << 10);
    let figures = [
        bytes_per_ref::<Halo>(refs),
        bytes_per_ref::<TwoMutex>(refs),
        bytes_per_ref::<RwLockTables>(refs),
        bytes_per_ref::<DashMapTables>(refs),
        bytes_per_ref::<Floor>(refs),
        bytes_per_ref::<UfRush>(refs),
    ];
    println!("memory: bytes per ref at {refs} refs (chains of 4 and fan-in of 64)");
    let mut json = format!("{{\"refs\": {refs}, \"bytes_per_ref\": {{");
    for (position, (name, bytes)) in figures.iter().enumerate() {
        println!("  {name:<12} {bytes:6.2}");
        let comma = if position == 0 { "" } else { ", " };
        write!(json, "{comma}\"{name}\": {bytes:.2}").unwrap();
    }
    json.push_str("}}\n");
    if benching() {
        let dir = std::path::Path::new("target/criterion");
        std::fs::create_dir_all(dir).expect("create target/criterion");
        std::fs::write(dir.join("memory.json"), json).expect("write memory.json");
    }
}
