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
use crate::native::{
    Commit, CommitSig, Header, LightBlock, SignedHeader, Validator, ValidatorSet, Vote,
};
use crate::signature::SigningKey;
use crate::types::{ChainId, Hash32, Height, Time};

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
            every => height.0.saturating_sub(1) / every,
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
    let validators = spec.validator_set(height);
    let next_height = height.increment().unwrap_or(height);
    let next_validators = spec.validator_set(next_height);
    let keys = spec.keys_at(height);
    let proposer_index = usize::try_from(height.0 % keys.len().max(1) as u64).unwrap_or(0);
    let proposer = keys
        .get(proposer_index)
        .map(SigningKey::public_key)
        .unwrap_or(validators.validators()[0].pub_key);
    let header = Header {
        chain_id: spec.chain_id.clone(),
        height,
        time: spec.time_at(height),
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
