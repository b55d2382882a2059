//! Chain families: what the generic [`crate::client::LightClient`] and
//! [`crate::bundle::verify_bundle`] need of each.
//!
//! A family is a [`Verifier`] (a light block against a trusted state) plus three things the
//! generic code cannot know: how a block is identified (hash, time, chain), who validly
//! signed a block on its own (for misbehaviour evidence), and how a leaf is proven against a
//! verified header ([`Family::verify_leaf`]):
//!
//! | family | [`FamilyKind`] | leaf proof | against |
//! |---|---|---|---|
//! | native ([`NativeVerifier`]) | `corridor` | RFC 6962 [`InclusionProof`] | the header's messages or receipts root |
//! | CometBFT ([`CometVerifier`]) | `cometbft` | ICS-23 [`CometProof`]: IAVL store, then multistore | the header's app hash |
//! | EVM ([`EvmFamily`](crate::evm::EvmFamily)) | `evm` | Merkle-Patricia receipt proof and log index, [`EvmLogProof`](crate::evm::EvmLogProof) | the header's receipts root; the log of the outbox or inbox contract |
//!
//! The EVM family's light blocks, conflict rule and leaf encoding are in [`crate::evm::family`].
//!
//! A CometBFT app hash in the header at height `h` commits the state after block `h - 1`:
//! a proof of state queried at height `h - 1` is checked against the header at `h`, and the
//! bundle names `h`.

use core::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::cometbft::{self, CometVerifier};
use crate::evm::EvmLeafError;
use crate::ics23::{self, CommitmentProof, Ics23Error};
use crate::merkle::{leaf_hash, InclusionProof, MultiProof, ProofError};
use crate::native::{self, NativeVerifier};
use crate::signature::PublicKey;
use crate::types::{ChainId, Hash32, Time};
use crate::verifier::{VerificationError, Verifier};

/// The chain families corridor knows, as named in config, bundles and metric labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FamilyKind {
    /// The native format of DESIGN.md (the devnet chains).
    Corridor,
    /// CometBFT chains, with ICS-23 proofs against the app hash.
    Cometbft,
    /// EVM chains (Clique seals, or k-of-n attestations as a weaker trust model), with
    /// receipt proofs of the corridor contracts' logs.
    Evm,
}

impl FamilyKind {
    /// The name in config and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Corridor => "corridor",
            Self::Cometbft => "cometbft",
            Self::Evm => "evm",
        }
    }
}

impl core::fmt::Display for FamilyKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which commitment of a verified header a leaf proof is against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitmentRoot {
    /// Outbound trade messages of the source chain.
    Messages,
    /// Receipts of inbound deliveries of the destination chain.
    Receipts,
}

impl CommitmentRoot {
    /// Key prefix of this commitment in a CometBFT chain's `corridor` store.
    pub fn store_prefix(self) -> &'static [u8] {
        match self {
            Self::Messages => b"outbox/",
            Self::Receipts => b"receipts/",
        }
    }
}

/// Why a leaf proof was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeafProofError {
    /// A native Merkle proof does not lead to the header's root.
    #[error(transparent)]
    Merkle(#[from] ProofError),
    /// An ICS-23 proof does not verify.
    #[error(transparent)]
    Ics23(#[from] Ics23Error),
    /// An EVM receipt proof or log does not verify.
    #[error(transparent)]
    Evm(#[from] EvmLeafError),
    /// The proof has the wrong number of layers.
    #[error("proof has {got} layers, {expected} expected")]
    Layers {
        /// Layers the family needs.
        expected: usize,
        /// Layers given.
        got: usize,
    },
    /// A proof layer is larger than [`MAX_COMET_PROOF_LAYER_BYTES`].
    #[error("proof layer {layer} is {got} bytes, at most {max} allowed")]
    LayerTooLarge {
        /// Which layer.
        layer: usize,
        /// Its size.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// The key is not in the namespace of the commitment it is claimed under.
    #[error("key does not start with {expected:?}")]
    KeyNamespace {
        /// The prefix the key needs.
        expected: String,
    },
    /// A proof of one family against a block of another
    /// ([`AnyFamily`](crate::any::AnyFamily)).
    #[error("a {proof} proof cannot prove a leaf of a {block} block")]
    FamilyMismatch {
        /// The block's family.
        block: FamilyKind,
        /// The proof's family.
        proof: FamilyKind,
    },
    /// A batch proof proves another number of leaves than it is given.
    #[error("batch proof proves {proves} leaves, {leaves} given")]
    BatchSize {
        /// Leaves given.
        leaves: usize,
        /// Leaves the proof proves.
        proves: usize,
    },
}

/// A validator that signed a block, with its power in the block's own validator set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Signer {
    /// Its key.
    pub key: PublicKey,
    /// Its voting power in the set that signed the block.
    pub power: u64,
}

/// A chain family. See the module doc.
pub trait Family: Verifier + Clone + Copy + Default + Debug + Send + Sync + 'static {
    /// The family's name.
    const KIND: FamilyKind;
    /// A proof of a leaf against a verified header.
    type LeafProof: Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync;
    /// A proof of several leaves of one commitment of one header, as a relay's bundle
    /// carries it (DESIGN.md: one multiproof per block): a [`MultiProof`] for the native
    /// family, one leaf proof per leaf for families without a multiproof.
    type BatchProof: Clone + Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync;

    /// Whether a client of this family type can be of family `kind` (a stored client names
    /// its family; one of another family's type is refused on load). Only [`Self::KIND`],
    /// but for [`AnyFamily`](crate::any::AnyFamily), which can be any.
    fn takes_kind(kind: FamilyKind) -> bool {
        kind == Self::KIND
    }

    /// The family of `block`: [`Self::KIND`], but for
    /// [`AnyFamily`](crate::any::AnyFamily), whose blocks are each of their own family.
    fn block_family(&self, block: &Self::LightBlock) -> FamilyKind {
        let _ = block;
        Self::KIND
    }

    /// Hash of the block's header, as its commit signs it.
    fn block_hash(&self, block: &Self::LightBlock) -> Hash32;

    /// A digest of what a block trusts beyond its header that its header hash does not
    /// commit: an EVM block's corridor contracts and its quorum or Clique parameters.
    /// A [`TrustRoot`](crate::client::TrustRoot) names it beside the root's hash, so whoever
    /// hands a client its root block cannot choose them. `None` (the default) for families
    /// whose header hash commits all they trust.
    fn root_pin(&self, block: &Self::LightBlock) -> Option<Hash32> {
        // cargo-mutants' "replace with None" of this default is this very body: equivalent.
        let _ = block;
        None
    }

    /// Time of the block's header.
    fn block_time(&self, block: &Self::LightBlock) -> Time;

    /// Chain of the block's header.
    fn block_chain<'a>(&self, block: &'a Self::LightBlock) -> &'a ChainId;

    /// Total power of the set that signs `block`.
    fn signing_power(&self, block: &Self::LightBlock) -> u64;

    /// Checks that `block` is internally consistent and validly signed by more than 2/3 of
    /// its own validator set, and returns who signed it (sorted by key). Needs no trusted
    /// state: this is what misbehaviour detection asks of both conflicting blocks.
    fn signers(&self, block: &Self::LightBlock) -> Result<Vec<Signer>, VerificationError>;

    /// Who `block`'s commit says signed it (sorted by key, each once, with its power in
    /// the block's own set), read without checking any signature: what a cheap tally
    /// counts before [`Family::signers`] checks anything. A family whose signers cannot be
    /// read without a signature check answers with the checked ones (none when they do
    /// not check).
    fn claimed_signers(&self, block: &Self::LightBlock) -> Vec<Signer> {
        self.signers(block).unwrap_or_default()
    }

    /// Checks that `leaf` is committed under `key` in the `root` commitment of the verified
    /// `block`.
    fn verify_leaf(
        &self,
        block: &Self::LightBlock,
        root: CommitmentRoot,
        key: &[u8],
        leaf: &[u8],
        proof: &Self::LeafProof,
    ) -> Result<(), LeafProofError>;

    /// Joins the proofs of leaves of one commitment of one block, in their leaves' order,
    /// into one batch proof; `None` when they do not join (then each goes on its own).
    /// Proves nothing by itself: [`Family::verify_leaves`] checks the result.
    fn join_proofs(&self, proofs: &[Self::LeafProof]) -> Option<Self::BatchProof>;

    /// Checks that every `(key, leaf)` of `leaves` is committed in the `root` commitment of
    /// the verified `block` by `proof`, and returns each leaf's own proof, in order (what a
    /// destination chain takes with each delivery).
    fn verify_leaves(
        &self,
        block: &Self::LightBlock,
        root: CommitmentRoot,
        leaves: &[(Vec<u8>, Vec<u8>)],
        proof: &Self::BatchProof,
    ) -> Result<Vec<Self::LeafProof>, LeafProofError>;

    /// [`Family::verify_leaves`] for a caller that does not keep each leaf's own proof (a
    /// source relay checking receipts): the same verdict, without building the proofs.
    fn check_leaves(
        &self,
        block: &Self::LightBlock,
        root: CommitmentRoot,
        leaves: &[(Vec<u8>, Vec<u8>)],
        proof: &Self::BatchProof,
    ) -> Result<(), LeafProofError> {
        self.verify_leaves(block, root, leaves, proof).map(|_| ())
    }
}

/// [`Family::verify_leaves`] for a family whose batch proof is one leaf proof per leaf.
pub fn verify_each<F: Family>(
    family: &F,
    block: &F::LightBlock,
    root: CommitmentRoot,
    leaves: &[(Vec<u8>, Vec<u8>)],
    proofs: &[F::LeafProof],
) -> Result<Vec<F::LeafProof>, LeafProofError> {
    if leaves.len() != proofs.len() {
        return Err(LeafProofError::BatchSize {
            leaves: leaves.len(),
            proves: proofs.len(),
        });
    }
    for ((key, leaf), proof) in leaves.iter().zip(proofs) {
        family.verify_leaf(block, root, key, leaf, proof)?;
    }
    Ok(proofs.to_vec())
}

impl Family for NativeVerifier {
    const KIND: FamilyKind = FamilyKind::Corridor;
    type LeafProof = InclusionProof;
    type BatchProof = MultiProof;

    fn block_hash(&self, block: &native::LightBlock) -> Hash32 {
        block.header().hash()
    }

    fn block_time(&self, block: &native::LightBlock) -> Time {
        block.header().time
    }

    fn block_chain<'a>(&self, block: &'a native::LightBlock) -> &'a ChainId {
        &block.header().chain_id
    }

    fn signing_power(&self, block: &native::LightBlock) -> u64 {
        block.validators.total_power()
    }

    fn claimed_signers(&self, block: &native::LightBlock) -> Vec<Signer> {
        let commit = &block.signed_header.commit;
        let mut signers: Vec<Signer> = commit
            .signatures
            .iter()
            .filter_map(|s| {
                block.validators.find(&s.validator).map(|v| Signer {
                    key: s.validator,
                    power: v.power,
                })
            })
            .collect();
        signers.sort();
        signers.dedup_by_key(|s| s.key);
        signers
    }

    fn signers(&self, block: &native::LightBlock) -> Result<Vec<Signer>, VerificationError> {
        let keys = self.verify_self_consistent(block)?;
        let mut signers: Vec<Signer> = keys
            .into_iter()
            .filter_map(|key| {
                block.validators.find(&key).map(|v| Signer {
                    key,
                    power: v.power,
                })
            })
            .collect();
        signers.sort();
        Ok(signers)
    }

    /// Native trees commit leaves by position: the key is not part of the proof (the leaf
    /// itself names its channel and sequence).
    fn verify_leaf(
        &self,
        block: &native::LightBlock,
        root: CommitmentRoot,
        _key: &[u8],
        leaf: &[u8],
        proof: &InclusionProof,
    ) -> Result<(), LeafProofError> {
        let header = block.header();
        let root = match root {
            CommitmentRoot::Messages => &header.messages_root,
            CommitmentRoot::Receipts => &header.receipts_root,
        };
        Ok(proof.verify(leaf, root)?)
    }

    fn join_proofs(&self, proofs: &[InclusionProof]) -> Option<MultiProof> {
        MultiProof::join(proofs)
    }

    /// One pass over the multiproof, each leaf hashed once; then each leaf's own path is
    /// read off the nodes that pass computed ([`MultiProof::split`]).
    fn verify_leaves(
        &self,
        block: &native::LightBlock,
        root: CommitmentRoot,
        leaves: &[(Vec<u8>, Vec<u8>)],
        proof: &MultiProof,
    ) -> Result<Vec<InclusionProof>, LeafProofError> {
        let hashes = check_multiproof(block, root, leaves, proof)?;
        Ok(proof.split(&hashes)?)
    }

    fn check_leaves(
        &self,
        block: &native::LightBlock,
        root: CommitmentRoot,
        leaves: &[(Vec<u8>, Vec<u8>)],
        proof: &MultiProof,
    ) -> Result<(), LeafProofError> {
        check_multiproof(block, root, leaves, proof).map(|_| ())
    }
}

/// Checks `proof` of `leaves` under `block`'s `root` in one pass; returns the leaves' hashes.
fn check_multiproof(
    block: &native::LightBlock,
    root: CommitmentRoot,
    leaves: &[(Vec<u8>, Vec<u8>)],
    proof: &MultiProof,
) -> Result<Vec<Hash32>, LeafProofError> {
    if leaves.len() != proof.indices.len() {
        return Err(LeafProofError::BatchSize {
            leaves: leaves.len(),
            proves: proof.indices.len(),
        });
    }
    let header = block.header();
    let root = match root {
        CommitmentRoot::Messages => &header.messages_root,
        CommitmentRoot::Receipts => &header.receipts_root,
    };
    let hashes: Vec<Hash32> = leaves.iter().map(|(_, leaf)| leaf_hash(leaf)).collect();
    proof.verify_hashes(&hashes, root)?;
    Ok(hashes)
}

/// An ICS-23 proof of a key in a CometBFT chain's `corridor` store: the IAVL proof of the
/// key under the store's root, then the multistore proof of the store under the app hash
/// (the two-layer path IBC verifies). Each layer is a `CommitmentProof` in protobuf, as a
/// node's `abci_query` returns it; a layer is decoded only after its size is checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CometProof {
    /// Layer 0: the key under the `corridor` store's root (IAVL spec); layer 1: the store
    /// under the app hash (tendermint spec).
    pub layers: Vec<Vec<u8>>,
}

/// Largest protobuf `CommitmentProof` of one layer (an IAVL path of depth 64 is < 8 KiB).
pub const MAX_COMET_PROOF_LAYER_BYTES: usize = 64 * 1024;

/// Name of corridor's store in a CometBFT application's multistore.
pub const COMET_STORE: &[u8] = b"corridor";

impl Family for CometVerifier {
    const KIND: FamilyKind = FamilyKind::Cometbft;
    type LeafProof = CometProof;
    type BatchProof = Vec<CometProof>;

    fn block_hash(&self, block: &cometbft::LightBlock) -> Hash32 {
        block.header().hash()
    }

    fn block_time(&self, block: &cometbft::LightBlock) -> Time {
        block.header().time
    }

    fn block_chain<'a>(&self, block: &'a cometbft::LightBlock) -> &'a ChainId {
        &block.header().chain_id
    }

    fn signing_power(&self, block: &cometbft::LightBlock) -> u64 {
        block.validators.total_power()
    }

    fn claimed_signers(&self, block: &cometbft::LightBlock) -> Vec<Signer> {
        let commit = &block.signed_header.commit;
        let mut signers: Vec<Signer> = commit
            .signatures
            .iter()
            .filter_map(|s| match s {
                cometbft::CommitSig::Commit {
                    validator_address, ..
                } => block.validators.find(validator_address).map(|v| Signer {
                    key: *v.pub_key(),
                    power: v.power(),
                }),
                _ => None,
            })
            .collect();
        signers.sort();
        signers.dedup_by_key(|s| s.key);
        signers
    }

    fn signers(&self, block: &cometbft::LightBlock) -> Result<Vec<Signer>, VerificationError> {
        self.verify_signed_by_own_set(block)
    }

    fn verify_leaf(
        &self,
        block: &cometbft::LightBlock,
        root: CommitmentRoot,
        key: &[u8],
        leaf: &[u8],
        proof: &CometProof,
    ) -> Result<(), LeafProofError> {
        let prefix = root.store_prefix();
        if !key.starts_with(prefix) {
            return Err(LeafProofError::KeyNamespace {
                expected: String::from_utf8_lossy(prefix).into_owned(),
            });
        }
        let [store, multistore] = proof.layers.as_slice() else {
            return Err(LeafProofError::Layers {
                expected: 2,
                got: proof.layers.len(),
            });
        };
        for (layer, bytes) in [store, multistore].into_iter().enumerate() {
            if bytes.len() > MAX_COMET_PROOF_LAYER_BYTES {
                return Err(LeafProofError::LayerTooLarge {
                    layer,
                    got: bytes.len(),
                    max: MAX_COMET_PROOF_LAYER_BYTES,
                });
            }
        }
        let store = &ics23::decode::commitment_proof(store)?;
        let multistore = &ics23::decode::commitment_proof(multistore)?;
        // Each layer is one plain existence proof, as IBC's Merkle paths are: the store
        // layer's root is what the multistore layer must prove under the store's name.
        let CommitmentProof::Exist(exist) = store else {
            return Err(LeafProofError::Ics23(Ics23Error::NoProofForKey));
        };
        let iavl = ics23::iavl_spec();
        let store_root = ics23::calculate_existence_root(exist, Some(&iavl))?;
        ics23::verify_membership(&iavl, &store_root, store, key, leaf)?;
        ics23::verify_membership(
            &ics23::tendermint_spec(),
            &block.header().app_hash,
            multistore,
            COMET_STORE,
            &store_root,
        )?;
        Ok(())
    }

    fn join_proofs(&self, proofs: &[CometProof]) -> Option<Vec<CometProof>> {
        Some(proofs.to_vec())
    }

    fn verify_leaves(
        &self,
        block: &cometbft::LightBlock,
        root: CommitmentRoot,
        leaves: &[(Vec<u8>, Vec<u8>)],
        proofs: &Vec<CometProof>,
    ) -> Result<Vec<CometProof>, LeafProofError> {
        verify_each(self, block, root, leaves, proofs)
    }
}
