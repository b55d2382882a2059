//! The native `corridor` chain family: the format the devnet chains use.
//!
//! - [`Header`]: chain id, height, time, parent hash, validators hash, next validators hash,
//!   messages root, receipts root, state root, proposer. Its hash is
//!   `SHA3-256("corridor/header/v1\0" || canonical CBOR)`.
//! - [`ValidatorSet`]: ed25519 keys with voting power, sorted by key, no duplicates; its hash
//!   is the Merkle root ([`crate::merkle`]) over the canonical CBOR of each entry, tagged.
//! - [`Commit`]: signatures over [`Vote`] sign bytes (tag, chain id, height, round, block
//!   hash), each naming its signer by public key. Valid when more than 2/3 of the header's
//!   own validator set signed.
//! - [`NativeVerifier`]: adjacent and skipping verification with the CometBFT model's rules.
//!
//! Every structure decodes only from its canonical encoding (see [`crate::codec`]), and a
//! validator set cannot be built with duplicate keys, zero power or too much total power.

#[cfg(feature = "testkit")]
pub mod vectors;
mod verify;

use core::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::hash::{self, TAG_HEADER, TAG_VALIDATOR, TAG_VOTE};
use crate::merkle::MerkleTree;
use crate::prepared::{PreparableSet, SetCache};
use crate::signature::{PublicKey, Signature};
use crate::types::{ChainId, Hash32, Height, Time};

pub use verify::NativeVerifier;

/// Largest validator set accepted.
pub const MAX_VALIDATORS: usize = 10_000;
/// Largest total voting power (as CometBFT: `i64::MAX / 8`), so sums never overflow.
pub const MAX_TOTAL_VOTING_POWER: u64 = (i64::MAX as u64) / 8;

/// A validator: an ed25519 key and its voting power.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    /// The validator's key.
    pub pub_key: PublicKey,
    /// Its voting power, at least 1.
    pub power: u64,
}

/// A validator set: sorted by public key, no duplicates, each power positive, total at most
/// [`MAX_TOTAL_VOTING_POWER`], between 1 and [`MAX_VALIDATORS`] members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawValidatorSet", into = "RawValidatorSet")]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total_power: u64,
}

#[derive(Serialize, Deserialize)]
struct RawValidatorSet {
    validators: Vec<Validator>,
}

/// Why a validator set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidatorSetError {
    /// No validators, or more than [`MAX_VALIDATORS`].
    #[error("validator set has {0} members, must have 1 to {MAX_VALIDATORS}")]
    Size(usize),
    /// A validator with zero power.
    #[error("validator {0} has zero voting power")]
    ZeroPower(PublicKey),
    /// The same key twice.
    #[error("validator {0} appears twice")]
    Duplicate(PublicKey),
    /// Keys out of order (the canonical order is ascending key bytes).
    #[error("validators are not sorted by public key at {0}")]
    Unsorted(PublicKey),
    /// Total power above [`MAX_TOTAL_VOTING_POWER`].
    #[error("total voting power exceeds {MAX_TOTAL_VOTING_POWER}")]
    TotalPowerTooLarge,
}

impl ValidatorSet {
    /// Builds a set from validators in any order; sorts them by key.
    pub fn new(mut validators: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        validators.sort_by_key(|v| v.pub_key);
        Self::from_sorted(validators)
    }

    /// Builds a set from validators that must already be in canonical order.
    fn from_sorted(validators: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        if validators.is_empty() || validators.len() > MAX_VALIDATORS {
            return Err(ValidatorSetError::Size(validators.len()));
        }
        let mut total: u64 = 0;
        for (i, v) in validators.iter().enumerate() {
            if v.power == 0 {
                return Err(ValidatorSetError::ZeroPower(v.pub_key));
            }
            if let Some(prev) = i.checked_sub(1).and_then(|p| validators.get(p)) {
                match prev.pub_key.cmp(&v.pub_key) {
                    Ordering::Less => {}
                    Ordering::Equal => return Err(ValidatorSetError::Duplicate(v.pub_key)),
                    Ordering::Greater => return Err(ValidatorSetError::Unsorted(v.pub_key)),
                }
            }
            total = total
                .checked_add(v.power)
                .filter(|t| *t <= MAX_TOTAL_VOTING_POWER)
                .ok_or(ValidatorSetError::TotalPowerTooLarge)?;
        }
        Ok(Self {
            validators,
            total_power: total,
        })
    }

    /// The validators in canonical order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Sum of all voting power.
    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Always false: a set has at least one member ([`ValidatorSet::new`] and decoding
    /// refuse an empty one), so there is nothing to look at.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The validator with `key`, if any (binary search).
    pub fn find(&self, key: &PublicKey) -> Option<&Validator> {
        self.validators
            .binary_search_by(|v| v.pub_key.cmp(key))
            .ok()
            .and_then(|i| self.validators.get(i))
    }

    /// Index of the validator with `key` in canonical order, if any (binary search).
    pub fn position(&self, key: &PublicKey) -> Option<usize> {
        self.validators
            .binary_search_by(|v| v.pub_key.cmp(key))
            .ok()
    }

    /// The set's hash: the Merkle root over each entry's tagged canonical CBOR.
    pub fn hash(&self) -> Hash32 {
        let leaves: Vec<Vec<u8>> = self.validators.iter().map(validator_leaf).collect();
        MerkleTree::from_leaves(&leaves).root()
    }
}

/// Leaf data of one validator: tag || CBOR of (key, power).
fn validator_leaf(v: &Validator) -> Vec<u8> {
    let mut leaf = TAG_VALIDATOR.to_vec();
    // A 32-byte key and a u64 always encode; an empty leaf would hash distinctly anyway.
    leaf.extend(codec::encode("validator", v).unwrap_or_default());
    leaf
}

impl TryFrom<RawValidatorSet> for ValidatorSet {
    type Error = ValidatorSetError;
    fn try_from(raw: RawValidatorSet) -> Result<Self, Self::Error> {
        Self::from_sorted(raw.validators)
    }
}

impl From<ValidatorSet> for RawValidatorSet {
    fn from(set: ValidatorSet) -> Self {
        Self {
            validators: set.validators,
        }
    }
}

/// A native block header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The chain.
    pub chain_id: ChainId,
    /// Height, from 1.
    pub height: Height,
    /// Block time.
    pub time: Time,
    /// Hash of the header at `height - 1` (zero at height 1).
    pub parent_hash: Hash32,
    /// Hash of the set that signs this header.
    pub validators_hash: Hash32,
    /// Hash of the set that signs the next header.
    pub next_validators_hash: Hash32,
    /// Merkle root of the commitments of the messages this block sends out.
    pub messages_root: Hash32,
    /// Merkle root of the receipts of the deliveries this block took in.
    pub receipts_root: Hash32,
    /// Root of the chain's application state.
    pub state_root: Hash32,
    /// The validator that proposed the block.
    pub proposer: PublicKey,
}

impl Header {
    /// Canonical CBOR of the header.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec::encode("header", self)
    }

    /// The header's hash: SHA3-256 over the header tag and the canonical CBOR.
    pub fn hash(&self) -> Hash32 {
        // A header is plain data (ids, heights, times, hashes, keys) and always encodes;
        // were it ever not to, the empty input's hash matches no signed header.
        hash::tagged(TAG_HEADER, &self.encode().unwrap_or_default())
    }
}

/// What a validator signs to vote for a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The chain.
    pub chain_id: ChainId,
    /// Height of the block.
    pub height: Height,
    /// Consensus round.
    pub round: u32,
    /// Hash of the header voted for.
    pub block_hash: Hash32,
}

impl Vote {
    /// The bytes a validator signs: the vote tag and the vote's canonical CBOR.
    pub fn sign_bytes(&self) -> Vec<u8> {
        let mut out = TAG_VOTE.to_vec();
        // A vote is plain data and always encodes; were it ever not to, the tag alone is
        // what no validator signed.
        out.extend(codec::encode("vote", self).unwrap_or_default());
        out
    }
}

/// One validator's signature in a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitSig {
    /// The signer.
    pub validator: PublicKey,
    /// Its signature over the vote sign bytes.
    pub signature: Signature,
}

/// The signatures that commit a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// Height of the block.
    pub height: Height,
    /// Consensus round.
    pub round: u32,
    /// Hash of the header signed.
    pub block_hash: Hash32,
    /// The signatures, one per signer.
    pub signatures: Vec<CommitSig>,
}

/// A header with the commit that signs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHeader {
    /// The header.
    pub header: Header,
    /// Its commit.
    pub commit: Commit,
}

/// Everything needed to verify one header: signed header and both validator sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LightBlock {
    /// Header and commit.
    pub signed_header: SignedHeader,
    /// The set that signed it.
    pub validators: ValidatorSet,
    /// The set that signs the next header.
    pub next_validators: ValidatorSet,
}

impl LightBlock {
    /// The header.
    pub fn header(&self) -> &Header {
        &self.signed_header.header
    }

    /// The block's height.
    pub fn height(&self) -> Height {
        self.signed_header.header.height
    }

    /// Canonical CBOR.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec::encode("light block", self)
    }

    /// Decodes canonical CBOR.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode("light block", bytes)
    }
}

/// What the client keeps of a trusted block: its header and the set that signs the next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedState {
    /// The trusted header.
    pub header: Header,
    /// Its next validator set (hash checked against the header when built from a block).
    pub next_validators: ValidatorSet,
    /// The next validator set prepared for verification (see [`crate::prepared`]); used
    /// only when its hash is the header's `next_validators_hash`. Never serialized.
    #[serde(skip)]
    pub cache: SetCache<ValidatorSet>,
}

impl TrustedState {
    /// The trusted state of a verified light block, with nothing prepared.
    pub fn from_block(block: &LightBlock) -> Self {
        Self {
            header: block.header().clone(),
            next_validators: block.next_validators.clone(),
            cache: SetCache::empty(),
        }
    }

    /// The trusted state of a verified light block that was verified from `previous`, with
    /// its next validator set prepared ([`SetCache::carry`]).
    pub fn after(block: &LightBlock, previous: &Self) -> Self {
        Self {
            cache: SetCache::carry(&block.next_validators, &previous.cache),
            ..Self::from_block(block)
        }
    }
}

impl PreparableSet for ValidatorSet {
    fn keys(&self) -> Vec<PublicKey> {
        self.validators.iter().map(|v| v.pub_key).collect()
    }

    fn hash(&self) -> Hash32 {
        Self::hash(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u8) -> PublicKey {
        PublicKey([i; 32])
    }

    #[test]
    fn validator_set_invariants() {
        let v = |k, p| Validator {
            pub_key: key(k),
            power: p,
        };
        let set = ValidatorSet::new(vec![v(3, 1), v(1, 2)]).unwrap();
        assert_eq!(set.validators()[0].pub_key, key(1));
        assert_eq!(set.total_power(), 3);
        assert_eq!(set.len(), 2);
        assert!(!set.is_empty());
        assert!(set.find(&key(3)).is_some());
        assert!(set.find(&key(2)).is_none());
        assert_eq!(ValidatorSet::new(vec![]), Err(ValidatorSetError::Size(0)));
        assert_eq!(
            ValidatorSet::new(vec![v(1, 0)]),
            Err(ValidatorSetError::ZeroPower(key(1)))
        );
        assert_eq!(
            ValidatorSet::new(vec![v(1, 1), v(1, 2)]),
            Err(ValidatorSetError::Duplicate(key(1)))
        );
        // CometBFT's bound, i64::MAX / 8: a set of exactly that total power is taken, one
        // unit more is refused.
        let most = 1_152_921_504_606_846_975;
        let full = ValidatorSet::new(vec![v(1, most - 1), v(2, 1)]).unwrap();
        assert_eq!(full.total_power(), most);
        assert_eq!(
            ValidatorSet::new(vec![v(1, most), v(2, 1)]),
            Err(ValidatorSetError::TotalPowerTooLarge)
        );
        assert_eq!(
            ValidatorSet::new(vec![v(1, u64::MAX), v(2, u64::MAX)]),
            Err(ValidatorSetError::TotalPowerTooLarge)
        );
    }

    #[test]
    fn decoding_refuses_unsorted_or_duplicate_sets() {
        let raw = |vals: Vec<Validator>| {
            codec::encode("raw", &RawValidatorSet { validators: vals }).unwrap()
        };
        let v = |k, p| Validator {
            pub_key: key(k),
            power: p,
        };
        let unsorted = raw(vec![v(2, 1), v(1, 1)]);
        let err = codec::decode::<ValidatorSet>("set", &unsorted).unwrap_err();
        assert!(err.to_string().contains("not sorted"), "{err}");
        let dup = raw(vec![v(1, 1), v(1, 1)]);
        assert!(codec::decode::<ValidatorSet>("set", &dup)
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let good = raw(vec![v(1, 1), v(2, 1)]);
        assert_eq!(
            codec::decode::<ValidatorSet>("set", &good).unwrap().len(),
            2
        );
    }

    #[test]
    fn hashes_depend_on_every_field() {
        let set = ValidatorSet::new(vec![Validator {
            pub_key: key(1),
            power: 5,
        }])
        .unwrap();
        let other = ValidatorSet::new(vec![Validator {
            pub_key: key(1),
            power: 6,
        }])
        .unwrap();
        assert_ne!(set.hash(), other.hash());
        let h = Header {
            chain_id: ChainId::new("a").unwrap(),
            height: Height(1),
            time: Time::from_unix_nanos(1),
            parent_hash: Hash32::ZERO,
            validators_hash: set.hash(),
            next_validators_hash: set.hash(),
            messages_root: Hash32::ZERO,
            receipts_root: Hash32::ZERO,
            state_root: Hash32::ZERO,
            proposer: key(1),
        };
        let mut h2 = h.clone();
        h2.state_root.0[31] = 1;
        assert_ne!(h.hash(), h2.hash());
        let vote = Vote {
            chain_id: h.chain_id.clone(),
            height: h.height,
            round: 0,
            block_hash: h.hash(),
        };
        let mut other_chain = vote.clone();
        other_chain.chain_id = ChainId::new("b").unwrap();
        assert_ne!(vote.sign_bytes(), other_chain.sign_bytes());
    }
}
