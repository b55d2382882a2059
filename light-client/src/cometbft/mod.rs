//! The `cometbft` chain family: light clients of CometBFT chains (Cosmos SDK chains and
//! consortium chains of the same lineage).
//!
//! - [`Header`], [`Commit`], [`CommitSig`], [`ValidatorSet`], [`LightBlock`]: the data, as
//!   CometBFT v0.34 to v0.38 define it. [`json`] parses the JSON forms (tendermint-rs test
//!   files and node RPC responses) and checks what can be checked on parse: each validator
//!   address is the first 20 bytes of SHA-256 of its ed25519 key, hashes are 32 bytes, a
//!   signed header's commit is for the header's height.
//! - [`Header::hash`]: the simple Merkle tree (SHA-256, RFC 6962 leaf/inner prefixes) over
//!   the protobuf encoding of each of the 14 header fields, as CometBFT's `Header.Hash`.
//! - [`ValidatorSet::hash`]: the same tree over each validator's `SimpleValidator`
//!   encoding, in canonical order (voting power descending, then address ascending).
//! - [`vote`]: canonical vote sign bytes (`CanonicalVote`, length-prefixed).
//! - [`CometVerifier`]: adjacent and skipping verification with the rules, check order and
//!   verdict classes of tendermint-rs's `tendermint-light-client-verifier` (module `verify`).
//! - `vectors` (feature `testkit`): runners for the public vector formats (model-based single-step files, RPC
//!   fixtures, the amino-era bisection files).
//!
//! # Departures from tendermint-rs
//! - Only ed25519 validator keys: the key type every CometBFT chain corridor follows uses;
//!   secp256k1 or BLS keys are refused on parse with an error naming the key type.
//! - A validator set with two entries for one address is refused on parse (CometBFT's own
//!   `ValidatorSet` can never hold one). tendermint-rs accepts such a set and, depending on
//!   where the duplicate sits in the walk, may count it. No header signed by a correct chain
//!   commits to such a set.
//! - Header times before 1970 are refused on parse ([`crate::Time`] counts from the epoch).

pub mod json;
pub(crate) mod proto;
pub mod time;
#[cfg(feature = "testkit")]
pub mod vectors;
mod verify;
pub mod vote;

use core::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::prepared::{PreparableSet, SetCache};
use crate::signature::{PublicKey, Signature};
use crate::types::{ChainId, Hash32, Height, Time};

pub use time::Timestamp;
pub use verify::CometVerifier;

/// Largest total voting power of a set (CometBFT's `MaxTotalVotingPower`, `i64::MAX / 8`).
pub const MAX_TOTAL_VOTING_POWER: u64 = (i64::MAX as u64) / 8;

/// A validator address: the first 20 bytes of SHA-256 of its public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The address of an ed25519 key.
    pub fn from_key(key: &PublicKey) -> Self {
        let digest = Sha256::digest(key.as_bytes());
        let mut out = [0u8; 20];
        out.copy_from_slice(digest.get(..20).unwrap_or(&[0; 20]));
        Self(out)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode_upper(self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

/// One validator: key, derived address and voting power.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(PublicKey, u64)", into = "(PublicKey, u64)")]
pub struct Validator {
    /// `SHA-256(pub_key)[..20]` (checked when built).
    address: Address,
    /// The ed25519 key.
    pub_key: PublicKey,
    /// Voting power (at most [`MAX_TOTAL_VOTING_POWER`]).
    power: u64,
}

impl Validator {
    /// A validator from its key and power; the address is derived from the key.
    pub fn new(pub_key: PublicKey, power: u64) -> Self {
        Self {
            address: Address::from_key(&pub_key),
            pub_key,
            power,
        }
    }

    /// The address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The key.
    pub fn pub_key(&self) -> &PublicKey {
        &self.pub_key
    }

    /// The voting power.
    pub fn power(&self) -> u64 {
        self.power
    }

    /// Protobuf `SimpleValidator { PublicKey pub_key = 1; int64 voting_power = 2; }`, the
    /// leaf of the validator-set hash.
    pub fn hash_bytes(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(34);
        proto::put_bytes(&mut key, 1, self.pub_key.as_bytes()); // PublicKey.ed25519
        let mut out = Vec::with_capacity(48);
        proto::put_message(&mut out, 1, &key);
        // power <= MAX_TOTAL_VOTING_POWER < i64::MAX
        proto::put_int(&mut out, 2, i64::try_from(self.power).unwrap_or(i64::MAX));
        out
    }
}

/// A validator set in canonical order (power descending, then address ascending), without
/// two entries for one address, total power at most [`MAX_TOTAL_VOTING_POWER`]. It may be
/// empty: the model-based vectors contain empty sets, and the verifier rejects them.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<Validator>", into = "Vec<Validator>")]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    /// `(address, index into validators)`, sorted by address, for lookups in O(log n).
    by_address: Vec<(Address, usize)>,
    total_power: u64,
}

impl From<(PublicKey, u64)> for Validator {
    fn from((pub_key, power): (PublicKey, u64)) -> Self {
        Self::new(pub_key, power)
    }
}

impl From<Validator> for (PublicKey, u64) {
    fn from(v: Validator) -> Self {
        (v.pub_key, v.power)
    }
}

impl TryFrom<Vec<Validator>> for ValidatorSet {
    type Error = ValidatorSetError;
    fn try_from(validators: Vec<Validator>) -> Result<Self, Self::Error> {
        Self::new(validators)
    }
}

impl From<ValidatorSet> for Vec<Validator> {
    fn from(set: ValidatorSet) -> Self {
        set.validators
    }
}

/// Why a validator set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidatorSetError {
    /// Two entries with the same address.
    #[error("validator {0} appears twice in the set")]
    Duplicate(Address),
    /// Total power above [`MAX_TOTAL_VOTING_POWER`].
    #[error("total voting power exceeds {MAX_TOTAL_VOTING_POWER}")]
    TotalPowerTooLarge,
}

impl ValidatorSet {
    /// Builds a set from validators in any order.
    pub fn new(mut validators: Vec<Validator>) -> Result<Self, ValidatorSetError> {
        let mut total: u64 = 0;
        for v in &validators {
            total = total
                .checked_add(v.power)
                .filter(|t| *t <= MAX_TOTAL_VOTING_POWER)
                .ok_or(ValidatorSetError::TotalPowerTooLarge)?;
        }
        validators.sort_by(|a, b| b.power.cmp(&a.power).then(a.address.cmp(&b.address)));
        let mut by_address: Vec<(Address, usize)> = validators
            .iter()
            .enumerate()
            .map(|(i, v)| (v.address, i))
            .collect();
        by_address.sort_unstable();
        if let Some(w) = by_address
            .windows(2)
            .find(|w| w.first().map(|x| x.0) == w.get(1).map(|x| x.0))
        {
            return Err(ValidatorSetError::Duplicate(
                w.first().map(|x| x.0).unwrap_or_default(),
            ));
        }
        Ok(Self {
            validators,
            by_address,
            total_power: total,
        })
    }

    /// The validators, in canonical order.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Sum of the voting power.
    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Whether the set has no validators.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// The validator with `address`, if any.
    pub fn find(&self, address: &Address) -> Option<&Validator> {
        let i = self
            .by_address
            .binary_search_by(|(a, _)| a.cmp(address))
            .ok()?;
        self.by_address
            .get(i)
            .and_then(|(_, j)| self.validators.get(*j))
    }

    /// The set's hash: the simple Merkle root over each validator's `SimpleValidator`
    /// encoding, in canonical order. The empty set hashes to SHA-256 of nothing.
    pub fn hash(&self) -> Hash32 {
        let leaves: Vec<Vec<u8>> = self.validators.iter().map(Validator::hash_bytes).collect();
        merkle_root(&leaves)
    }
}

/// The part-set header of a block ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartSetHeader {
    /// Number of parts.
    pub total: u32,
    /// Merkle root of the parts (absent when there are none).
    pub hash: Option<Hash32>,
}

/// A block ID: the header hash and the part-set header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BlockId {
    /// The header hash (absent in a zero block ID).
    pub hash: Option<Hash32>,
    /// The part-set header.
    pub part_set_header: PartSetHeader,
}

impl BlockId {
    /// Whether this is the zero block ID (no hash, no parts).
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    fn encode_parts(&self) -> Vec<u8> {
        let mut psh = Vec::with_capacity(40);
        proto::put_uint(&mut psh, 1, u64::from(self.part_set_header.total));
        proto::put_bytes(&mut psh, 2, hash_bytes(&self.part_set_header.hash));
        psh
    }

    /// Protobuf `BlockID { bytes hash = 1; PartSetHeader part_set_header = 2; }`; the
    /// part-set header is non-nullable, so always written. `CanonicalBlockID` has the same
    /// layout.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80);
        proto::put_bytes(&mut out, 1, hash_bytes(&self.hash));
        proto::put_message(&mut out, 2, &self.encode_parts());
        out
    }
}

fn hash_bytes(h: &Option<Hash32>) -> &[u8] {
    match h {
        Some(h) => h.as_bytes(),
        None => &[],
    }
}

/// Protocol versions of a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Version {
    /// Block protocol version.
    pub block: u64,
    /// Application version.
    pub app: u64,
}

/// A CometBFT block header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Protocol versions.
    pub version: Version,
    /// The chain.
    pub chain_id: ChainId,
    /// Height, from 1 (at most `i64::MAX`).
    pub height: Height,
    /// Block time.
    pub time: Time,
    /// ID of the previous block (absent at the first height).
    pub last_block_id: Option<BlockId>,
    /// Hash of the previous block's commit.
    pub last_commit_hash: Option<Hash32>,
    /// Hash of the transactions.
    pub data_hash: Option<Hash32>,
    /// Hash of the set that signs this block.
    pub validators_hash: Hash32,
    /// Hash of the set that signs the next block.
    pub next_validators_hash: Hash32,
    /// Hash of the consensus parameters.
    pub consensus_hash: Hash32,
    /// The application's state root after the previous block (any length).
    pub app_hash: Vec<u8>,
    /// Hash of the previous block's transaction results.
    pub last_results_hash: Option<Hash32>,
    /// Hash of the evidence in the block.
    pub evidence_hash: Option<Hash32>,
    /// Address of the proposer.
    pub proposer_address: Address,
}

impl Header {
    /// The protobuf encoding of each field, in field order: the leaves of the header hash.
    pub fn field_encodings(&self) -> [Vec<u8>; 14] {
        let wrapped = |b: &[u8]| {
            // gogoproto's BytesValue / StringValue: `bytes value = 1`.
            let mut out = Vec::with_capacity(b.len().saturating_add(2));
            proto::put_bytes(&mut out, 1, b);
            out
        };
        let mut version = Vec::with_capacity(8);
        proto::put_uint(&mut version, 1, self.version.block);
        proto::put_uint(&mut version, 2, self.version.app);
        let mut height = Vec::with_capacity(10);
        proto::put_int(
            &mut height,
            1,
            i64::try_from(self.height.0).unwrap_or(i64::MAX),
        );
        [
            version,
            wrapped(self.chain_id.as_str().as_bytes()),
            height,
            Timestamp::from_time(self.time).encode(),
            self.last_block_id.unwrap_or_default().encode(),
            wrapped(hash_bytes(&self.last_commit_hash)),
            wrapped(hash_bytes(&self.data_hash)),
            wrapped(self.validators_hash.as_bytes()),
            wrapped(self.next_validators_hash.as_bytes()),
            wrapped(self.consensus_hash.as_bytes()),
            wrapped(&self.app_hash),
            wrapped(hash_bytes(&self.last_results_hash)),
            wrapped(hash_bytes(&self.evidence_hash)),
            wrapped(&self.proposer_address.0),
        ]
    }

    /// The header hash (the block hash): the simple Merkle root of
    /// [`Self::field_encodings`].
    pub fn hash(&self) -> Hash32 {
        merkle_root(&self.field_encodings())
    }
}

/// How a validator took part in a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommitSig {
    /// No vote received (`block_id_flag` 1).
    Absent,
    /// A precommit for the committed block (`block_id_flag` 2).
    Commit {
        /// The signer.
        validator_address: Address,
        /// The vote's time.
        timestamp: Timestamp,
        /// The signature over the vote's sign bytes.
        signature: Signature,
    },
    /// A precommit for nil (`block_id_flag` 3): counted by nobody, checked only for its
    /// signer being a member.
    Nil {
        /// The signer.
        validator_address: Address,
        /// The vote's time.
        timestamp: Timestamp,
        /// The signature over the nil vote.
        signature: Signature,
    },
}

impl CommitSig {
    /// The signer's address, unless absent.
    pub fn validator_address(&self) -> Option<Address> {
        match self {
            Self::Absent => None,
            Self::Commit {
                validator_address, ..
            }
            | Self::Nil {
                validator_address, ..
            } => Some(*validator_address),
        }
    }
}

/// The precommits that commit a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// Height of the block (0 only in the empty `last_commit` of a chain's first block).
    pub height: Height,
    /// Consensus round.
    pub round: u32,
    /// The block committed.
    pub block_id: BlockId,
    /// One entry per validator of the block's set, in the set's canonical order.
    pub signatures: Vec<CommitSig>,
}

/// A header and the commit that signs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHeader {
    /// The header.
    pub header: Header,
    /// Its commit.
    pub commit: Commit,
}

/// Everything needed to verify one header: the signed header and both validator sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LightBlock {
    /// Header and commit.
    pub signed_header: SignedHeader,
    /// The set that signs this header.
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
}

/// What a client keeps of a trusted block: the header and the set that signs the next one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedState {
    /// The trusted header.
    pub header: Header,
    /// Its next validator set.
    pub next_validators: ValidatorSet,
    /// The next validator set prepared for verification (see [`crate::prepared`]); used
    /// only when its hash is the header's `next_validators_hash`.
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

/// CometBFT's simple Merkle root: SHA-256, leaves `0x00 || leaf`, inner nodes
/// `0x01 || left || right`, split at the largest power of two below the count; the empty
/// tree hashes to SHA-256 of nothing.
pub fn merkle_root<T: AsRef<[u8]>>(leaves: &[T]) -> Hash32 {
    match leaves {
        [] => Hash32(Sha256::digest([]).into()),
        [leaf] => {
            let mut h = Sha256::new();
            h.update([0u8]);
            h.update(leaf.as_ref());
            Hash32(h.finalize().into())
        }
        _ => {
            // len >= 2: the split point is in 1..len.
            let split = leaves.len().next_power_of_two() / 2;
            let (left, right) = leaves.split_at(split);
            let mut h = Sha256::new();
            h.update([1u8]);
            h.update(merkle_root(left).0);
            h.update(merkle_root(right).0);
            Hash32(h.finalize().into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merkle_root_matches_cometbft_shapes() {
        let empty: [&[u8]; 0] = [];
        assert_eq!(
            merkle_root(&empty).to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // CometBFT crypto/merkle tests: leaf hash of "" and the 2-leaf root.
        let one: [&[u8]; 1] = [b""];
        assert_eq!(
            merkle_root(&one).to_string(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        // 3 leaves split 2 + 1.
        let three: [&[u8]; 3] = [b"a", b"b", b"c"];
        let ab = {
            let two: [&[u8]; 2] = [b"a", b"b"];
            merkle_root(&two)
        };
        let c = merkle_root(&[b"c"]);
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(ab.0);
        h.update(c.0);
        assert_eq!(merkle_root(&three).0, <[u8; 32]>::from(h.finalize()));
    }

    #[test]
    fn an_address_reads_as_upper_case_hex() {
        // SHA-256 of the 32 zero bytes, its first 20 bytes.
        let address = Address::from_key(&PublicKey([0; 32]));
        let text = "66687AADF862BD776C8FC18B8E9F8E20089714856EE233B3902A591D0D5F2925";
        assert_eq!(address.to_string(), text[..40]);
        assert_eq!(format!("{address:?}"), format!("Address({})", &text[..40]));
    }

    #[test]
    fn validator_sets_sort_and_refuse_duplicates() {
        let k = |i: u8| crate::signature::SigningKey::from_seed([i; 32]).public_key();
        let set = ValidatorSet::new(vec![
            Validator::new(k(1), 5),
            Validator::new(k(2), 10),
            Validator::new(k(3), 5),
        ])
        .unwrap();
        assert_eq!(set.validators()[0].power(), 10);
        assert!(set.validators()[1].address() < set.validators()[2].address());
        assert_eq!(set.total_power(), 20);
        assert_eq!(set.len(), 3);
        assert!(!set.is_empty());
        assert!(ValidatorSet::default().is_empty());
        // Stored and sent as its list of (key, power): decodes to the same set, and a list
        // naming one key twice does not decode.
        let bytes = crate::codec::encode("set", &set).unwrap();
        assert_eq!(crate::codec::decode::<ValidatorSet>("set", &bytes), Ok(set));
        let twice = vec![Validator::new(k(1), 5), Validator::new(k(1), 6)];
        let bytes = crate::codec::encode("list", &twice).unwrap();
        let err = crate::codec::decode::<ValidatorSet>("set", &bytes).unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
        assert!(matches!(
            ValidatorSet::new(vec![Validator::new(k(1), 5), Validator::new(k(1), 6)]),
            Err(ValidatorSetError::Duplicate(_))
        ));
        // CometBFT's MaxTotalVotingPower, i64::MAX / 8: a set of exactly that total is
        // taken, one unit more is refused.
        let most = 1_152_921_504_606_846_975;
        let full = ValidatorSet::new(vec![
            Validator::new(k(1), most - 1),
            Validator::new(k(2), 1),
        ])
        .unwrap();
        assert_eq!(full.total_power(), most);
        assert_eq!(
            ValidatorSet::new(vec![Validator::new(k(1), most), Validator::new(k(2), 1)]),
            Err(ValidatorSetError::TotalPowerTooLarge)
        );
        assert_eq!(
            ValidatorSet::default().hash().to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
