//! Verification-ready data of a trusted validator set, kept from one header to the next.
//!
//! A relay verifies a stream of adjacent headers, mostly signed by one validator set. Each
//! header carries that set (twice: as its validators and its next validators) and a commit
//! under it. What does not change from header to header is the set's hash and its keys'
//! curve points; a [`PreparedSet`] holds both, so the next header pays only for its own
//! signatures and hashes.
//!
//! # Keyed by what it was computed from
//! A [`PreparedSet`] is built from one set and holds a copy of it: its hash is that set's
//! hash, computed by [`PreparedSet::new`], and key `i` of its [`KeyCache`] is decompressed
//! from key `i` of that set, no earlier than when a signature needs it. It answers only for
//! a set **equal** to its own ([`PreparedSet::hash_of`], [`PreparedSet::keys_of`]); for any
//! other set the caller computes afresh. So nothing it gives out can be other than what
//! fresh computation gives, wherever the prepared set came from.
//!
//! A trusted state carries one in a [`SetCache`], for the state's next validator set, and
//! the verifiers use it only when its hash is the trusted header's `next_validators_hash`
//! ([`SetCache::for_header`]). [`SetCache::carry`] moves it from one trusted state to the
//! next: the same set keeps the same prepared set, and from its second header on also gets
//! precomputed tables of multiples of every key and of the base point
//! ([`KeyCache::precompute`], about the work of one header, 10 KiB a key), which a batch
//! whose keys are all of the set uses; a changed set (a new power, a new member) gets a new
//! prepared set that takes over the keys already decompressed, so a chain whose powers
//! change every block still decompresses each key once and never pays for tables.
//!
//! Verdicts never depend on the cache: the vectors, mutated streams and a property test in
//! `tests/streams.rs` check that streamed, fresh and client verification agree.

use std::sync::Arc;

use crate::signature::{KeyCache, PublicKey};
use crate::types::Hash32;

/// A validator set a [`PreparedSet`] can be made of.
pub trait PreparableSet: PartialEq {
    /// The members' keys, in the set's order.
    fn keys(&self) -> Vec<PublicKey>;
    /// The set's hash, as headers commit to it.
    fn hash(&self) -> Hash32;
}

/// A validator set with its hash and its keys' curve points. See the module doc.
#[derive(Debug)]
pub struct PreparedSet<S> {
    set: S,
    hash: Hash32,
    keys: KeyCache,
}

impl<S: PreparableSet + Clone> PreparedSet<S> {
    /// Prepares `set`: hashes it; keys are decompressed when first used.
    pub fn new(set: &S) -> Self {
        Self {
            set: set.clone(),
            hash: set.hash(),
            keys: KeyCache::new(set.keys()),
        }
    }

    /// Prepares `set`, taking over the keys `previous` decompressed already (by key bytes).
    pub fn reusing(set: &S, previous: &Self) -> Self {
        Self {
            set: set.clone(),
            hash: set.hash(),
            keys: KeyCache::reusing(set.keys(), &previous.keys),
        }
    }

    /// The set.
    pub fn set(&self) -> &S {
        &self.set
    }

    /// The set's hash.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }

    /// The set's keys.
    pub fn keys(&self) -> &KeyCache {
        &self.keys
    }

    /// The hash of `set`: the prepared one when `set` is the prepared set, else computed.
    pub fn hash_of(&self, set: &S) -> Hash32 {
        if self.set == *set {
            self.hash
        } else {
            set.hash()
        }
    }

    /// The key cache, when `set` is the prepared set.
    pub fn keys_of(&self, set: &S) -> Option<&KeyCache> {
        (self.set == *set).then_some(&self.keys)
    }
}

/// An optional [`PreparedSet`] carried in a trusted state. It is a cache, not part of the
/// state's value: two states compare equal whatever their caches hold.
pub struct SetCache<S>(Option<Arc<PreparedSet<S>>>);

impl<S> SetCache<S> {
    /// An empty cache.
    pub fn empty() -> Self {
        Self(None)
    }

    /// The prepared set, if any, whatever its hash.
    pub fn prepared(&self) -> Option<&PreparedSet<S>> {
        self.0.as_deref()
    }
}

impl<S: PreparableSet + Clone> SetCache<S> {
    /// A cache of `set` for a state after one whose cache was `previous`: `previous`'s
    /// prepared set itself when it is of `set`, else a new one that takes over its keys.
    pub fn carry(set: &S, previous: &Self) -> Self {
        Self(Some(match &previous.0 {
            Some(p) if p.set == *set => {
                // The set signs a second header at least: worth its tables.
                p.keys.precompute();
                Arc::clone(p)
            }
            Some(p) => Arc::new(PreparedSet::reusing(set, p)),
            None => Arc::new(PreparedSet::new(set)),
        }))
    }

    /// The prepared set, if its hash is `next_validators_hash` (the trusted header's).
    pub fn for_header(&self, next_validators_hash: Hash32) -> Option<&PreparedSet<S>> {
        self.0.as_deref().filter(|p| p.hash == next_validators_hash)
    }
}

impl<S> Clone for SetCache<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<S> Default for SetCache<S> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<S> PartialEq for SetCache<S> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<S> Eq for SetCache<S> {}

impl<S> core::fmt::Debug for SetCache<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0 {
            Some(p) => write!(f, "SetCache({})", p.hash),
            None => f.write_str("SetCache(empty)"),
        }
    }
}
