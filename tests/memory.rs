//! The memory bound: at most 24 bytes per registered ref across both
//! tables, at scale, with and without preallocation.

use halo_alias::AliasTable;

const REFS: usize = 1 << 20;

fn bytes_per_ref(table: &AliasTable) -> f64 {
    table.memory_bytes() as f64 / table.len() as f64
}

#[test]
fn grown_on_demand_stays_within_24_bytes_per_ref() {
    let table = AliasTable::new();
    let mut worst: f64 = 0.0;
    for registered in 1..=REFS {
        let r = table.register().unwrap();
        if registered >= 100_000 && registered % 4099 == 0 {
            worst = worst.max(bytes_per_ref(&table));
        }
        if registered % 3 == 0 {
            // Edges cost nothing extra: they live in the slots.
            table.add_canonical(r).unwrap();
        }
    }
    println!("worst bytes per ref from 100k to {REFS} refs: {worst:.2}");
    assert!(worst <= 24.0, "{worst:.2} bytes per ref");
    assert!(bytes_per_ref(&table) <= 24.0);
}

#[test]
fn preallocated_stays_within_24_bytes_per_ref() {
    let table = AliasTable::with_capacity(REFS);
    for _ in 0..REFS {
        table.register().unwrap();
    }
    let per_ref = bytes_per_ref(&table);
    println!("bytes per ref with capacity {REFS}: {per_ref:.2}");
    assert!(per_ref <= 24.0, "{per_ref:.2} bytes per ref");
    // Preallocation is real: registering did not grow the tables.
    assert_eq!(
        table.memory_bytes(),
        AliasTable::with_capacity(REFS).memory_bytes()
    );
}

#[test]
fn slot_storage_is_20_bytes_per_ref() {
    assert_eq!(AliasTable::BYTES_PER_REF, 20);
}
