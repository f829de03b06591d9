//! [`AliasError`]: every way a call can be refused.

use std::fmt;

use crate::ObjRef;

/// Why an [`AliasTable`](crate::AliasTable) call was refused.
///
/// A call that returns an error has changed nothing, with one documented
/// exception: [`AliasError::Cycle`] from racing `alias` calls that closed a
/// cycle *together* (see the crate's Consistency section).
///
/// ```
/// use halo_alias::{AliasError, AliasTable};
///
/// let table = AliasTable::new();
/// let a = table.register().unwrap();
/// assert_eq!(table.alias(a, a), Err(AliasError::SelfAlias(a)));
/// assert_eq!(table.alias(a, a).unwrap_err().to_string(), "ref#0.0 cannot alias itself");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AliasError {
    /// The table never handed out this ref (wrong index or generation).
    UnknownRef(ObjRef),
    /// The ref was released: no call can use it any more (its slot may
    /// hold a newer ref by now).
    StaleRef(ObjRef),
    /// `decref` on a ref with no holders.
    NotHeld(ObjRef),
    /// The ref's count of holders (or of holders and aliases) is full.
    TooManyHolders(ObjRef),
    /// `alias(r, r)`: a ref cannot be its own alias (use `add_canonical`).
    SelfAlias(ObjRef),
    /// `alias` is already aliased to another target, or `add_canonical` was
    /// called on an aliased ref.
    AlreadyAliased {
        /// The ref whose edge was to be set.
        alias: ObjRef,
        /// The target it already has.
        existing: ObjRef,
    },
    /// The ref is canonical, so it cannot become an alias.
    AlreadyCanonical(ObjRef),
    /// The ref is on, or leads into, a cycle of aliases.
    Cycle(ObjRef),
    /// `resolve_timeout` gave up: the ref's canonical ref was still unknown.
    Timeout(ObjRef),
    /// The table holds as many refs as it may (or memory ran out).
    CapacityExhausted,
}

impl fmt::Display for AliasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AliasError::UnknownRef(r) => write!(f, "{r} is not a ref of this table"),
            AliasError::StaleRef(r) => write!(f, "{r} was released"),
            AliasError::NotHeld(r) => write!(f, "{r} has no holders to drop"),
            AliasError::TooManyHolders(r) => write!(f, "{r} has too many holders"),
            AliasError::SelfAlias(r) => write!(f, "{r} cannot alias itself"),
            AliasError::AlreadyAliased { alias, existing } => {
                write!(f, "{alias} is already an alias of {existing}")
            }
            AliasError::AlreadyCanonical(r) => {
                write!(f, "{r} is canonical and cannot become an alias")
            }
            AliasError::Cycle(r) => write!(f, "{r} is on or leads into a cycle of aliases"),
            AliasError::Timeout(r) => write!(f, "timed out waiting for the canonical ref of {r}"),
            AliasError::CapacityExhausted => write!(f, "the alias table is full"),
        }
    }
}

impl std::error::Error for AliasError {}
