//! [`AnyFamily`]: every family corridor knows, as one [`Family`], for a relay that follows
//! chains of several families with one core.
//!
//! A relay's channel joins two chains that may be of different families: the source
//! relay proves messages under the source chain's rules and checks receipts under the
//! destination's, the destination relay the other way round. So one core holds light
//! clients of several families, and its bundles, receipts and stored clients carry blocks
//! and proofs of whichever family their chain is. [`AnyFamily`] is that sum: each of its
//! types ([`AnyLightBlock`], [`AnyTrusted`], [`AnyLeafProof`], [`AnyBatchProof`]) is tagged
//! with its family, and each rule is the family's own rule, applied to the family's own
//! data. Nothing is converted across families: a block checked against a trusted state, or
//! a proof against a block, of another family is refused with
//! [`VerificationError::FamilyMismatch`] or [`LeafProofError::FamilyMismatch`], before any
//! hashing or signature work.
//!
//! A client of this family is made for one family ([`crate::client::LightClient::for_family`])
//! and refuses blocks of any other ([`crate::client::ClientError::WrongFamily`]), so a
//! chain configured as `evm` never takes a native block, even as its root.

use serde::{Deserialize, Serialize};

use crate::bundle::ProofBundle;
use crate::cometbft::{self, CometVerifier};
use crate::evm::{EvmBlock, EvmFamily, EvmLogProof, EvmTrusted};
use crate::family::{CometProof, CommitmentRoot, Family, FamilyKind, LeafProofError, Signer};
use crate::merkle::{InclusionProof, MultiProof};
use crate::native::{self, NativeVerifier};
use crate::receipt::ReceiptProof;
use crate::types::{ChainId, Hash32, Height, Options, Time};
use crate::verifier::{Verdict, VerificationError, Verifier};

/// Every family, dispatched by the family its data is tagged with. Stateless, like each
/// family it dispatches to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnyFamily;

/// A light block of any family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnyLightBlock {
    /// A native chain's block.
    Corridor(Box<native::LightBlock>),
    /// A CometBFT chain's block.
    Cometbft(Box<cometbft::LightBlock>),
    /// An EVM chain's block.
    Evm(Box<EvmBlock>),
}

impl AnyLightBlock {
    /// The block's family.
    pub fn family(&self) -> FamilyKind {
        match self {
            Self::Corridor(_) => FamilyKind::Corridor,
            Self::Cometbft(_) => FamilyKind::Cometbft,
            Self::Evm(_) => FamilyKind::Evm,
        }
    }
}

impl From<native::LightBlock> for AnyLightBlock {
    fn from(block: native::LightBlock) -> Self {
        Self::Corridor(Box::new(block))
    }
}

impl From<cometbft::LightBlock> for AnyLightBlock {
    fn from(block: cometbft::LightBlock) -> Self {
        Self::Cometbft(Box::new(block))
    }
}

impl From<EvmBlock> for AnyLightBlock {
    fn from(block: EvmBlock) -> Self {
        Self::Evm(Box::new(block))
    }
}

/// The trusted state of a block of any family.
#[derive(Clone, Debug)]
pub enum AnyTrusted {
    /// Of a native block.
    Corridor(Box<native::TrustedState>),
    /// Of a CometBFT block.
    Cometbft(Box<cometbft::TrustedState>),
    /// Of an EVM block.
    Evm(Box<EvmTrusted>),
}

impl AnyTrusted {
    /// The family of the block the state was made from.
    pub fn family(&self) -> FamilyKind {
        match self {
            Self::Corridor(_) => FamilyKind::Corridor,
            Self::Cometbft(_) => FamilyKind::Cometbft,
            Self::Evm(_) => FamilyKind::Evm,
        }
    }
}

/// A leaf proof of any family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnyLeafProof {
    /// An RFC 6962 inclusion proof under a native header's root.
    Corridor(InclusionProof),
    /// An ICS-23 proof under a CometBFT header's app hash.
    Cometbft(CometProof),
    /// A receipt proof and log index under an EVM header's receipts root.
    Evm(Box<EvmLogProof>),
}

impl AnyLeafProof {
    /// The proof's family.
    pub fn family(&self) -> FamilyKind {
        match self {
            Self::Corridor(_) => FamilyKind::Corridor,
            Self::Cometbft(_) => FamilyKind::Cometbft,
            Self::Evm(_) => FamilyKind::Evm,
        }
    }
}

impl From<InclusionProof> for AnyLeafProof {
    fn from(proof: InclusionProof) -> Self {
        Self::Corridor(proof)
    }
}

impl From<CometProof> for AnyLeafProof {
    fn from(proof: CometProof) -> Self {
        Self::Cometbft(proof)
    }
}

impl From<EvmLogProof> for AnyLeafProof {
    fn from(proof: EvmLogProof) -> Self {
        Self::Evm(Box::new(proof))
    }
}

/// A batch proof of any family.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnyBatchProof {
    /// A native multiproof.
    Corridor(MultiProof),
    /// One ICS-23 proof per leaf.
    Cometbft(Vec<CometProof>),
    /// One receipt proof per leaf.
    Evm(Vec<EvmLogProof>),
}

impl AnyBatchProof {
    /// The proof's family.
    pub fn family(&self) -> FamilyKind {
        match self {
            Self::Corridor(_) => FamilyKind::Corridor,
            Self::Cometbft(_) => FamilyKind::Cometbft,
            Self::Evm(_) => FamilyKind::Evm,
        }
    }
}

/// Applies `$body` to the family's own verifier and block, whichever family `$block` is.
macro_rules! each {
    ($block:expr, |$family:ident, $b:ident| $body:expr) => {
        match $block {
            AnyLightBlock::Corridor($b) => {
                let $family = NativeVerifier;
                let $b = &**$b;
                $body
            }
            AnyLightBlock::Cometbft($b) => {
                let $family = CometVerifier;
                let $b = &**$b;
                $body
            }
            AnyLightBlock::Evm($b) => {
                let $family = EvmFamily;
                let $b = &**$b;
                $body
            }
        }
    };
}

fn block_mismatch(block: &AnyLightBlock, expected: FamilyKind) -> VerificationError {
    VerificationError::FamilyMismatch {
        height: AnyFamily.block_height(block),
        expected,
        got: block.family(),
    }
}

fn proof_mismatch(block: &AnyLightBlock, proof: FamilyKind) -> LeafProofError {
    LeafProofError::FamilyMismatch {
        block: block.family(),
        proof,
    }
}

impl Verifier for AnyFamily {
    type LightBlock = AnyLightBlock;
    type TrustedState = AnyTrusted;

    fn verify_update(
        &self,
        untrusted: &AnyLightBlock,
        trusted: &AnyTrusted,
        options: &Options,
        now: Time,
    ) -> Verdict {
        match (untrusted, trusted) {
            (AnyLightBlock::Corridor(b), AnyTrusted::Corridor(t)) => {
                NativeVerifier.verify_update(b, t, options, now)
            }
            (AnyLightBlock::Cometbft(b), AnyTrusted::Cometbft(t)) => {
                CometVerifier.verify_update(b, t, options, now)
            }
            (AnyLightBlock::Evm(b), AnyTrusted::Evm(t)) => {
                EvmFamily.verify_update(b, t, options, now)
            }
            _ => Verdict::Invalid(block_mismatch(untrusted, trusted.family())),
        }
    }

    fn trusted_state(&self, verified: &AnyLightBlock) -> AnyTrusted {
        match verified {
            AnyLightBlock::Corridor(b) => {
                AnyTrusted::Corridor(Box::new(NativeVerifier.trusted_state(b)))
            }
            AnyLightBlock::Cometbft(b) => {
                AnyTrusted::Cometbft(Box::new(CometVerifier.trusted_state(b)))
            }
            AnyLightBlock::Evm(b) => AnyTrusted::Evm(Box::new(EvmFamily.trusted_state(b))),
        }
    }

    /// The family's own [`Verifier::trusted_state_after`] when `previous` is of the same
    /// family (the prepared validator set carries over), else [`Verifier::trusted_state`].
    fn trusted_state_after(&self, verified: &AnyLightBlock, previous: &AnyTrusted) -> AnyTrusted {
        match (verified, previous) {
            (AnyLightBlock::Corridor(b), AnyTrusted::Corridor(p)) => {
                AnyTrusted::Corridor(Box::new(NativeVerifier.trusted_state_after(b, p)))
            }
            (AnyLightBlock::Cometbft(b), AnyTrusted::Cometbft(p)) => {
                AnyTrusted::Cometbft(Box::new(CometVerifier.trusted_state_after(b, p)))
            }
            // Equivalent to the fallback below today (the evm family prepares nothing, so
            // its `trusted_state_after` is its `trusted_state`); kept so that the sum
            // passes on whatever the family prepares once it does.
            (AnyLightBlock::Evm(b), AnyTrusted::Evm(p)) => {
                AnyTrusted::Evm(Box::new(EvmFamily.trusted_state_after(b, p)))
            }
            _ => self.trusted_state(verified),
        }
    }

    fn block_height(&self, block: &AnyLightBlock) -> Height {
        each!(block, |family, b| family.block_height(b))
    }

    fn trusted_height(&self, state: &AnyTrusted) -> Height {
        match state {
            AnyTrusted::Corridor(s) => NativeVerifier.trusted_height(s),
            AnyTrusted::Cometbft(s) => CometVerifier.trusted_height(s),
            AnyTrusted::Evm(s) => EvmFamily.trusted_height(s),
        }
    }
}

impl Family for AnyFamily {
    /// The kind a client of this family has when nothing names another
    /// ([`crate::client::LightClient::new`]); a relay makes each client for its chain's
    /// configured family ([`crate::client::LightClient::for_family`]).
    const KIND: FamilyKind = FamilyKind::Corridor;
    type LeafProof = AnyLeafProof;
    type BatchProof = AnyBatchProof;

    fn takes_kind(_kind: FamilyKind) -> bool {
        true
    }

    fn block_family(&self, block: &AnyLightBlock) -> FamilyKind {
        block.family()
    }

    fn block_hash(&self, block: &AnyLightBlock) -> Hash32 {
        each!(block, |family, b| family.block_hash(b))
    }

    fn root_pin(&self, block: &AnyLightBlock) -> Option<Hash32> {
        each!(block, |family, b| family.root_pin(b))
    }

    fn block_time(&self, block: &AnyLightBlock) -> Time {
        each!(block, |family, b| family.block_time(b))
    }

    fn block_chain<'a>(&self, block: &'a AnyLightBlock) -> &'a ChainId {
        each!(block, |family, b| family.block_chain(b))
    }

    fn signing_power(&self, block: &AnyLightBlock) -> u64 {
        each!(block, |family, b| family.signing_power(b))
    }

    fn signers(&self, block: &AnyLightBlock) -> Result<Vec<Signer>, VerificationError> {
        each!(block, |family, b| family.signers(b))
    }

    fn claimed_signers(&self, block: &AnyLightBlock) -> Vec<Signer> {
        each!(block, |family, b| family.claimed_signers(b))
    }

    fn verify_leaf(
        &self,
        block: &AnyLightBlock,
        root: CommitmentRoot,
        key: &[u8],
        leaf: &[u8],
        proof: &AnyLeafProof,
    ) -> Result<(), LeafProofError> {
        match (block, proof) {
            (AnyLightBlock::Corridor(b), AnyLeafProof::Corridor(p)) => {
                NativeVerifier.verify_leaf(b, root, key, leaf, p)
            }
            (AnyLightBlock::Cometbft(b), AnyLeafProof::Cometbft(p)) => {
                CometVerifier.verify_leaf(b, root, key, leaf, p)
            }
            (AnyLightBlock::Evm(b), AnyLeafProof::Evm(p)) => {
                EvmFamily.verify_leaf(b, root, key, leaf, p)
            }
            _ => Err(proof_mismatch(block, proof.family())),
        }
    }

    /// The family's own join of proofs all of one family; `None` for proofs of several
    /// families (then each goes on its own, and is refused on its own).
    fn join_proofs(&self, proofs: &[AnyLeafProof]) -> Option<AnyBatchProof> {
        match proofs.first()? {
            AnyLeafProof::Corridor(_) => {
                let inner: Option<Vec<InclusionProof>> = proofs
                    .iter()
                    .map(|p| match p {
                        AnyLeafProof::Corridor(p) => Some(p.clone()),
                        _ => None,
                    })
                    .collect();
                NativeVerifier
                    .join_proofs(&inner?)
                    .map(AnyBatchProof::Corridor)
            }
            AnyLeafProof::Cometbft(_) => {
                let inner: Option<Vec<CometProof>> = proofs
                    .iter()
                    .map(|p| match p {
                        AnyLeafProof::Cometbft(p) => Some(p.clone()),
                        _ => None,
                    })
                    .collect();
                CometVerifier
                    .join_proofs(&inner?)
                    .map(AnyBatchProof::Cometbft)
            }
            AnyLeafProof::Evm(_) => {
                let inner: Option<Vec<EvmLogProof>> = proofs
                    .iter()
                    .map(|p| match p {
                        AnyLeafProof::Evm(p) => Some((**p).clone()),
                        _ => None,
                    })
                    .collect();
                EvmFamily.join_proofs(&inner?).map(AnyBatchProof::Evm)
            }
        }
    }

    fn verify_leaves(
        &self,
        block: &AnyLightBlock,
        root: CommitmentRoot,
        leaves: &[(Vec<u8>, Vec<u8>)],
        proof: &AnyBatchProof,
    ) -> Result<Vec<AnyLeafProof>, LeafProofError> {
        match (block, proof) {
            (AnyLightBlock::Corridor(b), AnyBatchProof::Corridor(p)) => Ok(NativeVerifier
                .verify_leaves(b, root, leaves, p)?
                .into_iter()
                .map(AnyLeafProof::from)
                .collect()),
            (AnyLightBlock::Cometbft(b), AnyBatchProof::Cometbft(p)) => Ok(CometVerifier
                .verify_leaves(b, root, leaves, p)?
                .into_iter()
                .map(AnyLeafProof::from)
                .collect()),
            (AnyLightBlock::Evm(b), AnyBatchProof::Evm(p)) => Ok(EvmFamily
                .verify_leaves(b, root, leaves, p)?
                .into_iter()
                .map(AnyLeafProof::from)
                .collect()),
            _ => Err(proof_mismatch(block, proof.family())),
        }
    }

    fn check_leaves(
        &self,
        block: &AnyLightBlock,
        root: CommitmentRoot,
        leaves: &[(Vec<u8>, Vec<u8>)],
        proof: &AnyBatchProof,
    ) -> Result<(), LeafProofError> {
        match (block, proof) {
            (AnyLightBlock::Corridor(b), AnyBatchProof::Corridor(p)) => {
                NativeVerifier.check_leaves(b, root, leaves, p)
            }
            (AnyLightBlock::Cometbft(b), AnyBatchProof::Cometbft(p)) => {
                CometVerifier.check_leaves(b, root, leaves, p)
            }
            (AnyLightBlock::Evm(b), AnyBatchProof::Evm(p)) => {
                EvmFamily.check_leaves(b, root, leaves, p)
            }
            _ => Err(proof_mismatch(block, proof.family())),
        }
    }
}

/// A family [`AnyFamily`] holds: how its blocks and proofs go into the sum and come back
/// out. Out of the sum, data of another family is refused with the family it is of.
pub trait Member: Family {
    /// `block` in the sum.
    fn block_into_any(block: Self::LightBlock) -> AnyLightBlock;
    /// The family's own block, or the family `block` is of.
    fn block_from_any(block: AnyLightBlock) -> Result<Self::LightBlock, FamilyKind>;
    /// `proof` in the sum.
    fn proof_into_any(proof: Self::LeafProof) -> AnyLeafProof;
    /// The family's own proof, or the family `proof` is of.
    fn proof_from_any(proof: AnyLeafProof) -> Result<Self::LeafProof, FamilyKind>;
    /// `proof` in the sum.
    fn batch_into_any(proof: Self::BatchProof) -> AnyBatchProof;
}

macro_rules! member {
    ($family:ty, $variant:ident, |$b:ident| $unbox_block:expr, |$p:ident| $unbox_proof:expr) => {
        impl Member for $family {
            fn block_into_any(block: Self::LightBlock) -> AnyLightBlock {
                AnyLightBlock::from(block)
            }

            fn block_from_any(block: AnyLightBlock) -> Result<Self::LightBlock, FamilyKind> {
                match block {
                    AnyLightBlock::$variant($b) => Ok($unbox_block),
                    other => Err(other.family()),
                }
            }

            fn proof_into_any(proof: Self::LeafProof) -> AnyLeafProof {
                AnyLeafProof::from(proof)
            }

            fn proof_from_any(proof: AnyLeafProof) -> Result<Self::LeafProof, FamilyKind> {
                match proof {
                    AnyLeafProof::$variant($p) => Ok($unbox_proof),
                    other => Err(other.family()),
                }
            }

            fn batch_into_any(proof: Self::BatchProof) -> AnyBatchProof {
                AnyBatchProof::$variant(proof)
            }
        }
    };
}

member!(NativeVerifier, Corridor, |b| *b, |p| p);
member!(CometVerifier, Cometbft, |b| *b, |p| p);
member!(EvmFamily, Evm, |b| *b, |p| *p);

/// `bundle` of family `F` as a bundle of [`AnyFamily`].
pub fn bundle_into_any<F: Member>(bundle: ProofBundle<F>) -> ProofBundle<AnyFamily> {
    ProofBundle {
        message: bundle.message,
        proof: F::proof_into_any(bundle.proof),
        height: bundle.height,
        light_blocks: bundle
            .light_blocks
            .into_iter()
            .map(F::block_into_any)
            .collect(),
    }
}

/// A bundle of [`AnyFamily`] as one of family `F`, or the family of the first part (proof,
/// then blocks in order) that is of another.
pub fn bundle_from_any<F: Member>(
    bundle: ProofBundle<AnyFamily>,
) -> Result<ProofBundle<F>, FamilyKind> {
    Ok(ProofBundle {
        message: bundle.message,
        proof: F::proof_from_any(bundle.proof)?,
        height: bundle.height,
        light_blocks: bundle
            .light_blocks
            .into_iter()
            .map(F::block_from_any)
            .collect::<Result<_, _>>()?,
    })
}

/// A receipt's proof of family `F` as one of [`AnyFamily`].
pub fn receipt_into_any<F: Member>(receipt: ReceiptProof<F>) -> ReceiptProof<AnyFamily> {
    ReceiptProof {
        height: receipt.height,
        receipt: receipt.receipt,
        proof: F::proof_into_any(receipt.proof),
    }
}
