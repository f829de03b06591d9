//! [`ObjRef`]: a 64-bit object reference, slot index plus generation.

use std::fmt;

/// A reference to an object that may not exist yet.
///
/// An `ObjRef` is 64 bits: the low 32 are the index of its slot in an
/// [`AliasTable`](crate::AliasTable), the high 32 its generation: how many
/// refs the slot held before this one. Released slots are reused with the
/// next generation, so a stale ref is told apart from the slot's current
/// ref (and answered [`AliasError::StaleRef`](crate::AliasError::StaleRef)).
///
/// # Examples
///
/// ```
/// use halo_alias::ObjRef;
///
/// let r = ObjRef::new(7, 2);
/// assert_eq!((r.index(), r.generation()), (7, 2));
/// assert_eq!(ObjRef::from_bits(r.to_bits()), r);
/// assert_eq!(r.to_string(), "ref#7.2");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjRef(u64);

/// Where each field sits in the 64 bits: derived once, used by every accessor.
struct Field {
    shift: u32,
    mask: u64,
}

impl Field {
    const INDEX: Field = Field::at(0, 32);
    const GENERATION: Field = Field::at(32, 32);

    const fn at(shift: u32, width: u32) -> Field {
        let mask = if width == 64 {
            u64::MAX
        } else {
            (1 << width) - 1
        };
        Field { shift, mask }
    }

    const fn get(&self, bits: u64) -> u32 {
        ((bits >> self.shift) & self.mask) as u32
    }

    const fn put(&self, value: u32) -> u64 {
        (value as u64 & self.mask) << self.shift
    }
}

impl ObjRef {
    /// The ref with this slot index and generation.
    ///
    /// Refs are normally handed out by
    /// [`AliasTable::register`](crate::AliasTable::register); building one by
    /// hand is for tests and for decoding. A ref that a table did not hand
    /// out is rejected by it with [`AliasError::UnknownRef`](crate::AliasError::UnknownRef).
    ///
    /// ```
    /// # use halo_alias::ObjRef;
    /// assert_eq!(ObjRef::new(1, 0).index(), 1);
    /// ```
    pub const fn new(index: u32, generation: u32) -> ObjRef {
        ObjRef(Field::INDEX.put(index) | Field::GENERATION.put(generation))
    }

    /// The slot index.
    ///
    /// ```
    /// # use halo_alias::ObjRef;
    /// assert_eq!(ObjRef::new(9, 1).index(), 9);
    /// ```
    pub const fn index(self) -> u32 {
        Field::INDEX.get(self.0)
    }

    /// The slot's generation when the ref was handed out.
    ///
    /// ```
    /// # use halo_alias::ObjRef;
    /// assert_eq!(ObjRef::new(9, 1).generation(), 1);
    /// ```
    pub const fn generation(self) -> u32 {
        Field::GENERATION.get(self.0)
    }

    /// The 64-bit wire form.
    ///
    /// ```
    /// # use halo_alias::ObjRef;
    /// assert_eq!(ObjRef::new(1, 2).to_bits(), (2 << 32) | 1);
    /// ```
    pub const fn to_bits(self) -> u64 {
        self.0
    }

    /// Decodes the wire form; every `u64` is a well-formed ref.
    ///
    /// ```
    /// # use halo_alias::ObjRef;
    /// assert_eq!(ObjRef::from_bits((2 << 32) | 1), ObjRef::new(1, 2));
    /// ```
    pub const fn from_bits(bits: u64) -> ObjRef {
        ObjRef(bits)
    }
}

impl fmt::Debug for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjRef({}.{})", self.index(), self.generation())
    }
}

impl fmt::Display for ObjRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ref#{}.{}", self.index(), self.generation())
    }
}

impl From<ObjRef> for u64 {
    fn from(r: ObjRef) -> u64 {
        r.to_bits()
    }
}

impl From<u64> for ObjRef {
    fn from(bits: u64) -> ObjRef {
        ObjRef::from_bits(bits)
    }
}
