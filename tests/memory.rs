//! The memory bounds: 26 bytes per ref of slot storage across the three
//! tables (target row, reverse row with the life word, holder count), at
//! most 28 bytes per live ref at a million refs, and never more than the
//! segments' 12.5% headroom above the slot storage, with and without
//! preallocation.

use halo_alias::AliasTable;

const REFS: usize = 1 << 20;

/// The segments' headroom bound (see `AliasTable::memory_bytes`).
const MOST_PER_REF: f64 = AliasTable::BYTES_PER_REF as f64 * 1.125 + 0.05;

fn bytes_per_ref(table: &AliasTable) -> f64 {
    table.memory_bytes() as f64 / table.len() as f64
}

#[test]
fn grown_on_demand_stays_within_the_headroom_and_28_bytes_at_a_million() {
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
        if registered == 1_000_000 {
            let at_a_million = bytes_per_ref(&table);
            println!("bytes per ref at 1,000,000 refs: {at_a_million:.2}");
            assert!(at_a_million <= 28.0, "{at_a_million:.2} bytes per ref");
        }
    }
    println!("worst bytes per ref from 100k to {REFS} refs: {worst:.2}");
    assert!(worst <= MOST_PER_REF, "{worst:.2} bytes per ref");
    assert!(bytes_per_ref(&table) <= MOST_PER_REF);
}

#[test]
fn preallocated_stays_within_the_headroom() {
    let table = AliasTable::with_capacity(REFS);
    for _ in 0..REFS {
        table.register().unwrap();
    }
    let per_ref = bytes_per_ref(&table);
    println!("bytes per ref with capacity {REFS}: {per_ref:.2}");
    assert!(per_ref <= MOST_PER_REF, "{per_ref:.2} bytes per ref");
    // Preallocation is real: registering did not grow the tables.
    assert_eq!(
        table.memory_bytes(),
        AliasTable::with_capacity(REFS).memory_bytes()
    );
}

#[test]
fn slot_storage_is_26_bytes_per_ref() {
    assert_eq!(AliasTable::BYTES_PER_REF, 26);
}
