//! [`Segments`]: an array of slots that grows without moving.
//!
//! Slots live in segments, in groups of `2^GROUP_SHIFT` equal segments;
//! each group's segments are twice as long as the previous group's: group
//! `g` holds segments of `FIRST << g` slots. Growing one segment at a time,
//! the table never holds more than `1 + 2^-GROUP_SHIFT` times the slots in
//! use plus one group-0 segment: with eight segments per group, at most
//! 12.5% headroom, where plain doubling would allow 100%. A lookup is a few
//! shifts and one pointer load, and no slot ever moves.
//!
//! # Protocol
//!
//! * State: each directory entry is null (segment absent) or points to a
//!   fully zero-initialised segment of exactly the entry's length, which
//!   starts on a 64-byte boundary (on std: segments are allocated as whole
//!   cache lines of slots, see [`Slot`]), so that slots never straddle a
//!   line and the 64-index blocks that `indexes` hands to threads never
//!   share one.
//! * Writes: only `null -> segment`, by a successful CAS. A thread that
//!   loses the race frees its own, never-shared allocation. Segments are
//!   freed only in `Drop`, which has `&mut self`: no reader can hold a slot.
//! * So a non-null pointer, once seen, stays valid for `&self`'s lifetime,
//!   and growth never stops or invalidates a reader.
//!
//! Orderings: the CAS is `AcqRel` and readers load with `Acquire`, so the
//! zeroed contents written before the CAS happen before any read of a slot.

use std::marker::PhantomData;

use crate::sync::{AtomicPtr, AtomicUsize, Ordering};

/// log2 of a group-0 segment's length. Under loom segments start at one
/// slot, two per group, and the index space is cut to 64, so that a model
/// crosses growth boundaries with a handful of refs and the directory stays
/// small; the indexing logic is the same for every value.
const FIRST_SHIFT: u32 = if cfg!(loom) { 0 } else { 6 };
/// log2 of the number of segments per group.
const GROUP_SHIFT: u32 = if cfg!(loom) { 1 } else { 3 };
/// Indexes below `2^INDEX_BITS` have a place.
const INDEX_BITS: u32 = if cfg!(loom) { 6 } else { 32 };

const FIRST: u64 = 1 << FIRST_SHIFT;
/// Slots in group 0 (and the offset that makes the group arithmetic exact).
const GROUP_BASE: u64 = FIRST << GROUP_SHIFT;
/// `index + GROUP_BASE < 2^(INDEX_BITS + 1)`, so its top bit is at most
/// `INDEX_BITS`, which bounds the group number.
const GROUPS: u32 = INDEX_BITS - FIRST_SHIFT - GROUP_SHIFT + 1;
const SEGMENTS: usize = (GROUPS << GROUP_SHIFT) as usize;

/// A slot type whose segments can be allocated in one step, 64-byte
/// aligned.
///
/// On std that is zeroed memory (no per-slot initialisation, and the kernel
/// maps untouched pages lazily), allocated as whole cache lines of slots
/// (`Line`), so that every segment starts on a cache line and no slot
/// straddles two. Loom's atomics carry model state, so under loom each
/// slot is built with `Default` and alignment does not matter.
#[cfg(not(loom))]
pub(crate) trait Slot: Sized {
    /// `PER_LINE` slots filling one 64-byte cache line exactly.
    type Line: bytemuck::Zeroable;
    /// Slots per line; divides every segment's length.
    const PER_LINE: usize;
}
/// See the std definition.
#[cfg(loom)]
pub(crate) trait Slot: Default {}
#[cfg(loom)]
impl<T: Default> Slot for T {}

/// `N` slots on one cache line of their own.
#[cfg(not(loom))]
#[repr(C, align(64))]
pub(crate) struct Line<T, const N: usize>([T; N]);

// SAFETY: an array of zeroable `T` (`repr(C)`; any padding up to the
// alignment is never read as `T`) is zeroable.
#[cfg(not(loom))]
unsafe impl<T: bytemuck::Zeroable, const N: usize> bytemuck::Zeroable for Line<T, N> {}

/// Declares `$slot`'s line: `$per_line` of them fill 64 bytes exactly.
macro_rules! slots_per_line {
    ($slot:ty, $per_line:expr) => {
        #[cfg(not(loom))]
        impl $crate::segments::Slot for $slot {
            type Line = $crate::segments::Line<$slot, $per_line>;
            const PER_LINE: usize = $per_line;
        }
        #[cfg(not(loom))]
        const _: () = assert!(
            std::mem::size_of::<$crate::segments::Line<$slot, $per_line>>() == 64
                && $per_line * std::mem::size_of::<$slot>() == 64
        );
    };
}
pub(crate) use slots_per_line;

/// Where index `i` lives: segment number, offset in it, segment length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place {
    segment: usize,
    offset: usize,
    len: usize,
}

impl Place {
    /// The place of `index`, if the index space reaches it.
    #[inline]
    fn of(index: u32) -> Option<Place> {
        let index = u64::from(index);
        if index >> INDEX_BITS != 0 {
            return None;
        }
        let shifted = index + GROUP_BASE;
        let group = 63 - shifted.leading_zeros() - FIRST_SHIFT - GROUP_SHIFT;
        let in_group = shifted - (GROUP_BASE << group);
        let len_shift = FIRST_SHIFT + group;
        Some(Place {
            segment: ((group << GROUP_SHIFT) as usize) + (in_group >> len_shift) as usize,
            offset: (in_group & ((1 << len_shift) - 1)) as usize,
            len: 1 << len_shift,
        })
    }

    /// The length of segment number `segment`.
    fn segment_len(segment: usize) -> usize {
        (FIRST as usize) << (segment >> GROUP_SHIFT)
    }
}

/// A grow-only array of `T`, addressed by `u32` index.
pub(crate) struct Segments<T: Slot> {
    directory: [AtomicPtr<T>; SEGMENTS],
    bytes: AtomicUsize,
    _owns: PhantomData<T>,
}

impl<T: Slot> Segments<T> {
    pub(crate) fn new() -> Self {
        Segments {
            directory: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            bytes: AtomicUsize::new(0),
            _owns: PhantomData,
        }
    }

    /// The slot at `index`, if its segment has been allocated.
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<&T> {
        let place = Place::of(index)?;
        // Acquire: pairs with the AcqRel CAS in `grow_to`, making the
        // segment's initialised contents visible.
        let segment = self.directory[place.segment].load(Ordering::Acquire);
        if segment.is_null() {
            return None;
        }
        // SAFETY: a non-null entry points to a live segment of `place.len`
        // slots (module invariant) that is freed only by `Drop`, which
        // cannot run while `&self` is borrowed; `place.offset < place.len`
        // by construction of `Place`.
        Some(unsafe { &*segment.add(place.offset) })
    }

    /// Makes sure the slot at `index` exists. Fails only if memory runs out.
    #[inline]
    pub(crate) fn grow_to(&self, index: u32) -> Result<(), OutOfMemory> {
        let place = Place::of(index).ok_or(OutOfMemory)?;
        if !self.directory[place.segment]
            .load(Ordering::Acquire)
            .is_null()
        {
            return Ok(());
        }
        self.grow_segment(place)
    }

    /// Makes sure every slot in `indexes` exists. Fails only if memory runs
    /// out; segments allocated before the failure stay.
    pub(crate) fn grow_range(&self, indexes: std::ops::Range<u32>) -> Result<(), OutOfMemory> {
        let mut index = u64::from(indexes.start);
        while index < u64::from(indexes.end) {
            let at = u32::try_from(index).map_err(|_| OutOfMemory)?;
            let place = Place::of(at).ok_or(OutOfMemory)?;
            self.grow_to(at)?;
            // On to the first index of the next segment.
            index += (place.len - place.offset) as u64;
        }
        Ok(())
    }

    /// The first index of every segment that holds an index below `count`.
    pub(crate) fn segment_starts(count: u32) -> impl Iterator<Item = u32> {
        let segments = count
            .checked_sub(1)
            .and_then(Place::of)
            .map_or(0, |last| last.segment + 1);
        (0..segments).scan(0u64, |start, segment| {
            let this = *start;
            *start += Place::segment_len(segment) as u64;
            u32::try_from(this).ok()
        })
    }

    #[cold]
    fn grow_segment(&self, place: Place) -> Result<(), OutOfMemory> {
        let entry = &self.directory[place.segment];
        if !entry.load(Ordering::Acquire).is_null() {
            return Ok(());
        }
        let fresh = new_segment::<T>(place.len)?;
        match entry.compare_exchange(
            std::ptr::null_mut(),
            fresh,
            // AcqRel: Release publishes the zeroed segment to `get`'s
            // Acquire; Acquire on failure lets us use the winner's segment.
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // Relaxed: a statistic, read without ordering by `bytes`.
                self.bytes
                    .fetch_add(place.len * std::mem::size_of::<T>(), Ordering::Relaxed);
            }
            Err(_) => {
                // SAFETY: `fresh` came from `new_segment` of `place.len`
                // slots just above and was never shared: the CAS that would
                // have published it failed.
                unsafe { free_segment(fresh, place.len) };
            }
        }
        Ok(())
    }

    /// Every slot of every allocated segment.
    #[cfg_attr(
        loom,
        allow(dead_code, reason = "only the std waiter lists walk their slots")
    )]
    pub(crate) fn slots(&self) -> impl Iterator<Item = &T> {
        self.directory
            .iter()
            .enumerate()
            .flat_map(|(number, entry)| {
                // Acquire: as in `get`.
                let segment = entry.load(Ordering::Acquire);
                let slots: &[T] = if segment.is_null() {
                    &[]
                } else {
                    // SAFETY: as in `get`: a non-null entry points to a
                    // live segment of exactly its number's length, freed
                    // only by `Drop`, which cannot run while `&self` is
                    // borrowed.
                    unsafe { std::slice::from_raw_parts(segment, Place::segment_len(number)) }
                };
                slots
            })
    }

    /// Bytes held by allocated segments (the directory is inline).
    pub(crate) fn heap_bytes(&self) -> usize {
        // Relaxed: a statistic; it orders nothing.
        self.bytes.load(Ordering::Relaxed)
    }
}

impl<T: Slot> Drop for Segments<T> {
    fn drop(&mut self) {
        for (number, entry) in self.directory.iter().enumerate() {
            // Relaxed would do (`&mut self` excludes other threads); Acquire
            // keeps the load legal in loom's model too.
            let segment = entry.load(Ordering::Acquire);
            if !segment.is_null() {
                let len = Place::segment_len(number);
                // SAFETY: non-null entries come from `new_segment` of
                // segment `number`'s length (`grow_segment`), and `&mut self`
                // means no reference into it survives.
                unsafe { free_segment(segment, len) };
            }
        }
    }
}

impl<T: Slot> std::fmt::Debug for Segments<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segments")
            // Relaxed: a statistic, as in `heap_bytes`.
            .field("bytes", &self.bytes.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The allocator refused a segment, or the index space ends.
#[derive(Debug)]
pub(crate) struct OutOfMemory;

/// A zeroed segment of `len` slots, as a pointer to its first slot.
#[cfg(not(loom))]
fn new_segment<T: Slot>(len: usize) -> Result<*mut T, OutOfMemory> {
    debug_assert_eq!(len % T::PER_LINE, 0);
    let lines = bytemuck::allocation::try_zeroed_slice_box::<T::Line>(len / T::PER_LINE)
        .map_err(|()| OutOfMemory)?;
    // A line is `PER_LINE` slots with no padding (`slots_per_line!`), so
    // the lines are `len` consecutive slots.
    Ok(Box::into_raw(lines).cast::<T>())
}

/// Frees a segment made by `new_segment`.
///
/// # Safety
///
/// `segment` came from `new_segment::<T>(len)` and nothing refers to its
/// slots any more.
#[cfg(not(loom))]
unsafe fn free_segment<T: Slot>(segment: *mut T, len: usize) {
    let lines = std::ptr::slice_from_raw_parts_mut(segment.cast::<T::Line>(), len / T::PER_LINE);
    // SAFETY: by the caller's contract `lines` is the boxed slice that
    // `new_segment` leaked, with its length, and is no longer shared.
    drop(unsafe { Box::from_raw(lines) });
}

#[cfg(loom)]
fn new_segment<T: Slot>(len: usize) -> Result<*mut T, OutOfMemory> {
    let slots: Box<[T]> = (0..len).map(|_| T::default()).collect();
    Ok(Box::into_raw(slots).cast::<T>())
}

/// See the std definition.
#[cfg(loom)]
unsafe fn free_segment<T: Slot>(segment: *mut T, len: usize) {
    // SAFETY: as in the std definition, for the boxed slice of slots.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(segment, len)) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_tile_the_index_space() {
        let mut expected = Place {
            segment: 0,
            offset: 0,
            len: FIRST as usize,
        };
        for index in 0..300_000u32 {
            assert_eq!(Place::of(index), Some(expected), "index {index}");
            assert_eq!(Place::segment_len(expected.segment), expected.len);
            expected.offset += 1;
            if expected.offset == expected.len {
                let segment = expected.segment + 1;
                expected = Place {
                    segment,
                    offset: 0,
                    len: Place::segment_len(segment),
                };
            }
        }
    }

    #[test]
    fn the_largest_index_has_a_segment() {
        let place = Place::of(u32::MAX).unwrap();
        assert!(place.segment < SEGMENTS);
        assert!(place.offset < place.len);
    }

    #[test]
    fn headroom_stays_below_one_eighth() {
        // After growing for index i: allocated <= 9/8 (i + 1) + FIRST.
        let mut allocated = 0u64;
        let mut last_segment = None;
        for index in 0..2_000_000u32 {
            let place = Place::of(index).unwrap();
            if last_segment != Some(place.segment) {
                allocated += place.len as u64;
                last_segment = Some(place.segment);
            }
            assert!(
                allocated * 8 <= (u64::from(index) + 1) * 9 + 8 * FIRST,
                "index {index}"
            );
        }
    }

    #[test]
    fn segment_starts_are_the_offset_zero_places() {
        let starts: Vec<u32> =
            Segments::<crate::reverse::ReverseSlot>::segment_starts(5000).collect();
        assert_eq!(starts[0], 0);
        for (segment, &start) in starts.iter().enumerate() {
            assert_eq!(
                Place::of(start).map(|p| (p.segment, p.offset)),
                Some((segment, 0))
            );
        }
        let last = Place::of(4999).unwrap();
        assert_eq!(starts.len(), last.segment + 1);
        assert!(Segments::<crate::reverse::ReverseSlot>::segment_starts(0)
            .next()
            .is_none());
    }

    /// Regression: segment bases were 16 or 32 bytes off a cache line, so
    /// every block boundary shared a line between two threads' blocks.
    #[test]
    fn every_segment_starts_on_a_cache_line() {
        let targets = Segments::<crate::target::TargetSlot>::new();
        let reverse = Segments::<crate::reverse::ReverseSlot>::new();
        for start in Segments::<crate::target::TargetSlot>::segment_starts(300_000) {
            targets.grow_to(start).unwrap();
            reverse.grow_to(start).unwrap();
            let target: *const _ = targets.get(start).unwrap();
            let row: *const _ = reverse.get(start).unwrap();
            assert_eq!(target as usize % 64, 0, "target segment at {start}");
            assert_eq!(row as usize % 64, 0, "reverse segment at {start}");
        }
        // So every 64-index block, and every fourth target row, starts a line.
        let row: *const _ = targets.get(64 * 7 + 4).unwrap();
        assert_eq!(row as usize % 64, 0);
    }

    #[test]
    fn slots_keep_their_address_across_growth() {
        let segments = Segments::<crate::reverse::ReverseSlot>::new();
        segments.grow_to(0).unwrap();
        let first: *const _ = segments.get(0).unwrap();
        for index in [1, 63, 64, 1000, 100_000] {
            segments.grow_to(index).unwrap();
            assert!(segments.get(index).is_some());
        }
        assert!(segments.get(10_000_000).is_none());
        assert_eq!(first, segments.get(0).unwrap() as *const _);
    }
}
