//! A deterministic generator of signed native light blocks.
//!
//! Everything is a function of a [`ChainSpec`] and a height: the validator keys are derived
//! from the spec's seed, the validator set at height `h` is a sliding window over those keys
//! that moves by `rotate_count` every `rotate_every` blocks, and block times follow the
//! spec's interval. So tests, the golden vectors and the devnet chains (which restart from
//! their store) all produce identical blocks from identical inputs.
//!
//! Faults are separate functions on a finished block: [`with_bad_signature`],
//! [`with_signers`] (drop signatures), [`fork`] (a different block at the same height signed
//! by the same validators) and [`resign`].

use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::hash;
use crate::native::vectors::NativeVector;
use crate::native::{
    Commit, CommitSig, Header, LightBlock, SignedHeader, Validator, ValidatorSet, Vote,
};
use crate::signature::SigningKey;
use crate::types::{ChainId, Hash32, Height, Options, Time};

/// The shape of a generated chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainSpec {
    /// The chain id.
    pub chain_id: ChainId,
    /// Seed from which every validator key is derived.
    pub seed: String,
    /// Validators per set.
    pub validators: u32,
    /// Blocks between validator-set rotations (0: never rotate).
    pub rotate_every: u64,
    /// Validators replaced at each rotation.
    pub rotate_count: u32,
    /// Time of block 1.
    pub genesis_time: Time,
    /// Time between blocks.
    pub block_interval: Duration,
}

impl ChainSpec {
    /// A spec with `validators` validators, no rotation, one-second blocks from 2026-01-01.
    pub fn simple(chain_id: &str, validators: u32) -> Self {
        Self {
            // Invariant: callers pass literal, valid ids; fall back to a fixed one otherwise.
            chain_id: ChainId::new(chain_id).unwrap_or_else(|_| fallback_chain_id()),
            seed: chain_id.to_owned(),
            validators,
            rotate_every: 0,
            rotate_count: 0,
            genesis_time: Time::from_unix_nanos(1_767_225_600_000_000_000),
            block_interval: Duration::from_secs(1),
        }
    }

    /// The signing key with global index `index` of this chain.
    pub fn key(&self, index: u32) -> SigningKey {
        let mut data = self.seed.as_bytes().to_vec();
        data.extend(index.to_be_bytes());
        SigningKey::from_seed(hash::tagged(b"corridor/testgen/key/v1\0", &data).0)
    }

    /// Voting power of the validator with global index `index` (varied, 10 to 14).
    pub fn power(&self, index: u32) -> u64 {
        10 + u64::from(index % 5)
    }

    /// Global key indices of the set that signs `height`.
    pub fn key_indices(&self, height: Height) -> core::ops::Range<u32> {
        let epoch = match self.rotate_every {
            0 => 0,
            every => height.0.saturating_sub(1).checked_div(every).unwrap_or(0),
        };
        let start =
            u32::try_from(epoch.saturating_mul(u64::from(self.rotate_count))).unwrap_or(u32::MAX);
        start..start.saturating_add(self.validators)
    }

    /// The signing keys of the set that signs `height`.
    pub fn keys_at(&self, height: Height) -> Vec<SigningKey> {
        self.key_indices(height).map(|i| self.key(i)).collect()
    }

    /// The validator set that signs `height`.
    pub fn validator_set(&self, height: Height) -> ValidatorSet {
        let vals = self
            .key_indices(height)
            .map(|i| Validator {
                pub_key: self.key(i).public_key(),
                power: self.power(i),
            })
            .collect();
        // Invariant: keys from distinct indices are distinct and powers are 10..=14.
        ValidatorSet::new(vals).unwrap_or_else(|_| fallback_set())
    }

    /// Time of block `height`.
    pub fn time_at(&self, height: Height) -> Time {
        let steps = u32::try_from(height.0.saturating_sub(1)).unwrap_or(u32::MAX);
        self.genesis_time
            .checked_add(self.block_interval.saturating_mul(steps))
            .unwrap_or(self.genesis_time)
    }
}

fn fallback_chain_id() -> ChainId {
    ChainId::new("invalid-chain-id").unwrap_or_else(|_| fallback_chain_id())
}

fn fallback_set() -> ValidatorSet {
    let v = Validator {
        pub_key: SigningKey::from_seed([0; 32]).public_key(),
        power: 1,
    };
    ValidatorSet::new(vec![v]).unwrap_or_else(|_| fallback_set())
}

/// Contents of one block apart from what the spec decides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockContents {
    /// Root of outbound message commitments.
    pub messages_root: Hash32,
    /// Root of inbound delivery receipts.
    pub receipts_root: Hash32,
    /// Application state root.
    pub state_root: Hash32,
}

/// Builds block `height` on top of `parent_hash`, signed by every validator of its set.
pub fn block(
    spec: &ChainSpec,
    height: Height,
    parent_hash: Hash32,
    contents: BlockContents,
) -> LightBlock {
    block_at(spec, height, parent_hash, contents, spec.time_at(height))
}

/// As [`block`], but with the block time given instead of taken from the spec's schedule.
///
/// The devnet chains stamp blocks with their real clock; everything else (keys, sets,
/// proposer, signatures) still follows the spec, so a block is a function of its inputs.
pub fn block_at(
    spec: &ChainSpec,
    height: Height,
    parent_hash: Hash32,
    contents: BlockContents,
    time: Time,
) -> LightBlock {
    let validators = spec.validator_set(height);
    let next_height = height.increment().unwrap_or(height);
    let next_validators = spec.validator_set(next_height);
    let keys = spec.keys_at(height);
    let proposer_index =
        usize::try_from(height.0.checked_rem(keys.len() as u64).unwrap_or(0)).unwrap_or(0);
    let proposer = keys
        .get(proposer_index)
        .map(SigningKey::public_key)
        .unwrap_or(validators.validators()[0].pub_key);
    let header = Header {
        chain_id: spec.chain_id.clone(),
        height,
        time,
        parent_hash,
        validators_hash: validators.hash(),
        next_validators_hash: next_validators.hash(),
        messages_root: contents.messages_root,
        receipts_root: contents.receipts_root,
        state_root: contents.state_root,
        proposer,
    };
    let commit = sign(&header, 0, &keys);
    LightBlock {
        signed_header: SignedHeader { header, commit },
        validators,
        next_validators,
    }
}

/// Generates blocks 1 to `count` with empty contents.
pub fn chain(spec: &ChainSpec, count: u64) -> Vec<LightBlock> {
    let mut out: Vec<LightBlock> = Vec::new();
    let mut parent = Hash32::ZERO;
    for h in 1..=count {
        let b = block(spec, Height(h), parent, BlockContents::default());
        parent = b.header().hash();
        out.push(b);
    }
    out
}

/// A commit of `header` signed by `keys`.
pub fn sign(header: &Header, round: u32, keys: &[SigningKey]) -> Commit {
    let block_hash = header.hash();
    let vote = Vote {
        chain_id: header.chain_id.clone(),
        height: header.height,
        round,
        block_hash,
    };
    let bytes = vote.sign_bytes();
    Commit {
        height: header.height,
        round,
        block_hash,
        signatures: keys
            .iter()
            .map(|k| CommitSig {
                validator: k.public_key(),
                signature: k.sign(&bytes),
            })
            .collect(),
    }
}

/// Re-signs `block`'s (possibly edited) header with `keys`, fixing the commit's hash.
pub fn resign(mut block: LightBlock, keys: &[SigningKey]) -> LightBlock {
    block.signed_header.commit = sign(
        &block.signed_header.header,
        block.signed_header.commit.round,
        keys,
    );
    block
}

/// `block` with the signature at `index` corrupted (one bit flipped).
pub fn with_bad_signature(mut block: LightBlock, index: usize) -> LightBlock {
    if let Some(sig) = block.signed_header.commit.signatures.get_mut(index) {
        sig.signature.0[0] ^= 1;
    }
    block
}

/// `block` keeping only the signatures of the validators at `keep` (positions in the commit).
pub fn with_signers(mut block: LightBlock, keep: &[usize]) -> LightBlock {
    let sigs = &block.signed_header.commit.signatures;
    block.signed_header.commit.signatures =
        keep.iter().filter_map(|&i| sigs.get(i).copied()).collect();
    block
}

/// A conflicting block at the same height: a different state root, signed by `keys`.
pub fn fork(block: &LightBlock, keys: &[SigningKey], state_root: Hash32) -> LightBlock {
    let mut forked = block.clone();
    forked.signed_header.header.state_root = state_root;
    resign(forked, keys)
}

/// The golden vectors: one case per verdict and per rejection rule, by file name.
pub fn golden_vectors() -> Result<Vec<(String, NativeVector)>, crate::codec::CodecError> {
    let opts = Options::default();
    let mut spec = ChainSpec::simple("golden-chain", 4);
    spec.rotate_every = 4;
    spec.rotate_count = 2;
    let blocks = chain(&spec, 12);
    let b = |h: usize| {
        blocks
            .get(h.saturating_sub(1))
            .cloned()
            .unwrap_or_else(|| blocks[0].clone())
    };
    let now = spec.time_at(Height(13));
    let mut fully_rotated = spec.clone();
    fully_rotated.rotate_every = 2;
    fully_rotated.rotate_count = 4;
    let rot = chain(&fully_rotated, 5);
    let other_chain = chain(
        &ChainSpec {
            chain_id: ChainId::new("golden-other").unwrap_or_else(|_| fallback_chain_id()),
            ..spec.clone()
        },
        2,
    );

    // Powers 10, 11, 12: signers 10 + 12 hold exactly 2/3.
    let thirds = chain(&ChainSpec::simple("golden-thirds", 3), 2);
    let before_genesis = spec
        .genesis_time
        .checked_sub(Duration::from_secs(20))
        .unwrap_or(Time::EPOCH);
    let mut cases: Vec<(&str, &str, LightBlock, LightBlock, Options, Time)> = vec![
        (
            "adjacent_success",
            "adjacent header signed by the trusted next validators",
            b(1),
            b(2),
            opts,
            now,
        ),
        (
            "adjacent_rotation_success",
            "adjacent header across a rotation of half the set",
            b(4),
            b(5),
            opts,
            now,
        ),
        (
            "skipping_success",
            "skip from 1 to 4: the trusted set still holds all of the power",
            b(1),
            b(4),
            opts,
            now,
        ),
        (
            "skipping_partial_overlap_success",
            "skip from 2 to 6: half the trusted set signed, more than 1/3",
            b(2),
            b(6),
            opts,
            now,
        ),
        (
            "skipping_not_enough_trust",
            "skip across a full rotation: none of the trusted set signed",
            rot[0].clone(),
            rot[3].clone(),
            opts,
            now,
        ),
        (
            "invalid_bad_signature",
            "one signature of the commit is corrupted",
            b(1),
            with_bad_signature(b(2), 1),
            opts,
            now,
        ),
        (
            "invalid_insufficient_commit_power",
            "one of four validators signed",
            b(1),
            with_signers(b(2), &[0]),
            opts,
            now,
        ),
        (
            "invalid_exactly_two_thirds",
            "signers hold exactly 2/3 of the power, not more",
            thirds[0].clone(),
            two_thirds_exactly(thirds[1].clone()),
            opts,
            now,
        ),
        (
            "invalid_no_signatures",
            "a commit with no signatures",
            b(1),
            with_signers(b(2), &[]),
            opts,
            now,
        ),
        (
            "invalid_duplicate_signer",
            "the same validator signs twice",
            b(1),
            duplicate_first(b(2)),
            opts,
            now,
        ),
        (
            "invalid_unknown_signer",
            "a key outside the set signs",
            b(1),
            with_stranger(&spec, b(2)),
            opts,
            now,
        ),
        (
            "invalid_wrong_chain_id",
            "header of another chain",
            b(1),
            other_chain[1].clone(),
            opts,
            now,
        ),
        (
            "invalid_non_increasing_height",
            "header at the trusted height",
            b(2),
            b(2),
            opts,
            now,
        ),
        (
            "invalid_non_increasing_time",
            "header time equal to the trusted time",
            b(1),
            same_time(&spec, &b(1), b(2)),
            opts,
            now,
        ),
        (
            "invalid_header_from_future",
            "header time beyond now + drift",
            b(1),
            b(2),
            opts,
            before_genesis,
        ),
        (
            "invalid_trust_expired",
            "trusted header older than the trusting period",
            b(1),
            b(2),
            Options {
                trusting_period: Duration::from_secs(1),
                ..opts
            },
            now,
        ),
        (
            "invalid_validator_set_hash",
            "validator set does not match the header",
            b(1),
            swap_validators(b(2), &b(5)),
            opts,
            now,
        ),
        (
            "invalid_next_validators_mismatch",
            "adjacent header whose validators are not the trusted next set",
            b(4),
            resign_with_validators(&spec, b(5), &b(1)),
            opts,
            now,
        ),
        (
            "invalid_commit_block_hash",
            "commit signs another block",
            b(1),
            commit_for(b(2), &b(3)),
            opts,
            now,
        ),
        (
            "invalid_commit_height",
            "commit for another height",
            b(1),
            commit_height(b(2), 9),
            opts,
            now,
        ),
        (
            "invalid_parent_hash",
            "adjacent header whose parent is not the trusted header",
            b(1),
            with_parent(&spec, b(2)),
            opts,
            now,
        ),
        (
            "invalid_proposer_not_validator",
            "proposer outside the validator set",
            b(1),
            with_proposer(&spec, b(2)),
            opts,
            now,
        ),
    ];
    let mut out = Vec::with_capacity(cases.len());
    for (name, desc, trusted, untrusted, options, at) in cases.drain(..) {
        out.push((
            name.to_owned(),
            NativeVector::build(desc, &trusted, &untrusted, options, at)?,
        ));
    }
    Ok(out)
}

/// Keeps a subset of signers whose power is exactly 2/3 of the total.
fn two_thirds_exactly(block: LightBlock) -> LightBlock {
    // Re-weight is impossible without re-hashing, so search the commit for a subset whose
    // power is exactly 2/3 of the total; fall back to the full commit if there is none.
    let total = block.validators.total_power();
    let sigs = block.signed_header.commit.signatures.clone();
    let n = sigs.len().min(16);
    for mask in 1u32..(1u32 << n) {
        let power: u64 = (0..n)
            .filter(|i| mask & (1 << i) != 0)
            .filter_map(|i| {
                sigs.get(i)
                    .and_then(|s| block.validators.find(&s.validator))
            })
            .map(|v| v.power)
            .sum();
        if power.saturating_mul(3) == total.saturating_mul(2) {
            let keep: Vec<usize> = (0..n).filter(|i| mask & (1 << i) != 0).collect();
            return with_signers(block, &keep);
        }
    }
    block
}

fn duplicate_first(mut block: LightBlock) -> LightBlock {
    if let Some(first) = block.signed_header.commit.signatures.first().copied() {
        block.signed_header.commit.signatures.push(first);
    }
    block
}

fn with_stranger(spec: &ChainSpec, mut block: LightBlock) -> LightBlock {
    let stranger = spec.key(9_999);
    let commit = &block.signed_header.commit;
    let vote = Vote {
        chain_id: block.header().chain_id.clone(),
        height: commit.height,
        round: commit.round,
        block_hash: commit.block_hash,
    };
    let sig = CommitSig {
        validator: stranger.public_key(),
        signature: stranger.sign(&vote.sign_bytes()),
    };
    block.signed_header.commit.signatures.push(sig);
    block
}

fn same_time(spec: &ChainSpec, trusted: &LightBlock, mut block: LightBlock) -> LightBlock {
    block.signed_header.header.time = trusted.header().time;
    let keys = spec.keys_at(block.height());
    resign(block, &keys)
}

fn swap_validators(mut block: LightBlock, other: &LightBlock) -> LightBlock {
    block.validators = other.validators.clone();
    block
}

fn resign_with_validators(
    spec: &ChainSpec,
    mut block: LightBlock,
    set_from: &LightBlock,
) -> LightBlock {
    // Header claims the set of `set_from` (heights 1-4) and is signed by it, consistently.
    block.signed_header.header.validators_hash = set_from.validators.hash();
    block.validators = set_from.validators.clone();
    let keys = spec.keys_at(set_from.height());
    resign(block, &keys)
}

fn commit_for(mut block: LightBlock, other: &LightBlock) -> LightBlock {
    block.signed_header.commit = other.signed_header.commit.clone();
    block.signed_header.commit.height = block.height();
    block
}

fn with_parent(spec: &ChainSpec, mut block: LightBlock) -> LightBlock {
    block.signed_header.header.parent_hash = Hash32([0xab; 32]);
    let keys = spec.keys_at(block.height());
    resign(block, &keys)
}

fn with_proposer(spec: &ChainSpec, mut block: LightBlock) -> LightBlock {
    block.signed_header.header.proposer = spec.key(9_999).public_key();
    let keys = spec.keys_at(block.height());
    resign(block, &keys)
}

fn commit_height(mut block: LightBlock, height: u64) -> LightBlock {
    block.signed_header.commit.height = Height(height);
    block
}

/// An EVM block of `chain` at `height` and `time` (whole seconds), unsealed, trusted through
/// a one-of-one attestation quorum of an ed25519 key and carrying no attestation: a block
/// of another family than the native one, for tests of what refuses a family's data
/// elsewhere (as a root block it verifies; any later one needs its attestation).
pub fn evm_block(chain: &ChainId, height: Height, time: Time) -> crate::evm::EvmBlock {
    use crate::evm::{
        Address, AttestorKey, CorridorContracts, EvmBlock, Header as EvmHeader,
        WeakTrustAttestationQuorum, EMPTY_OMMERS_HASH, EMPTY_TRIE_ROOT, U256,
    };
    let header = EvmHeader {
        parent_hash: Hash32::ZERO,
        ommers_hash: EMPTY_OMMERS_HASH,
        beneficiary: Address::ZERO,
        state_root: Hash32([1; 32]),
        transactions_root: EMPTY_TRIE_ROOT,
        receipts_root: EMPTY_TRIE_ROOT,
        logs_bloom: Box::new([0; 256]),
        difficulty: U256::from_u64(0),
        number: height.0,
        gas_limit: 8_000_000,
        gas_used: 0,
        timestamp: time.unix_nanos() / 1_000_000_000,
        extra_data: Vec::new(),
        mix_hash: Hash32::ZERO,
        nonce: [0; 8],
        base_fee_per_gas: Some(U256::from_u64(7)),
        withdrawals_root: None,
        blob_gas_used: None,
        excess_blob_gas: None,
        parent_beacon_block_root: None,
        requests_hash: None,
    };
    let attestor = AttestorKey::Ed25519(SigningKey::from_seed([7; 32]).public_key());
    let quorum = WeakTrustAttestationQuorum::new(31_337, &[attestor], 1)
        .unwrap_or_else(|_| unreachable!("a one-of-one quorum is valid"));
    let contracts = CorridorContracts {
        outbox: Address([0x0b; 20]),
        inbox: Address([0x1b; 20]),
    };
    EvmBlock::attested_root(chain.clone(), contracts, quorum, header, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::NativeVerifier;

    #[test]
    fn generation_is_deterministic_and_self_consistent() {
        let mut spec = ChainSpec::simple("gen-test", 4);
        spec.rotate_every = 3;
        spec.rotate_count = 2;
        let a = chain(&spec, 10);
        let b = chain(&spec, 10);
        assert_eq!(a, b);
        for (i, blk) in a.iter().enumerate() {
            NativeVerifier.verify_self_consistent(blk).unwrap();
            if i > 0 {
                assert_eq!(blk.header().parent_hash, a[i - 1].header().hash());
                assert_eq!(
                    blk.header().validators_hash,
                    a[i - 1].header().next_validators_hash
                );
            }
        }
        // heights 1-3 share a set, 4 rotates two of four validators
        assert_eq!(spec.key_indices(Height(3)), 0..4);
        assert_eq!(spec.key_indices(Height(4)), 2..6);
        assert_ne!(a[2].validators, a[3].validators);
    }
}
