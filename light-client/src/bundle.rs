//! Proof bundles and the one function every receiver calls on them: [`verify_bundle`].
//!
//! A [`ProofBundle`] (DESIGN.md "proof bundle") carries a trade message, its proof against
//! a commitment of a source header, that header's height, and the source light blocks a
//! receiver may need to reach that height from what it trusts. [`AnyBundle`] tags a bundle
//! with its family, so a receiver that follows chains of several families can route it.
//!
//! [`verify_bundle`] checks, cheapest first, and says which rule failed
//! ([`BundleError::reason`] is a bounded label for metrics and problem types):
//! 1. shape, no hashing: the message is for the client's chain, the bundle's blocks are at
//!    most [`MAX_BUNDLE_LIGHT_BLOCKS`], of that chain, in strictly increasing height order,
//!    the last at the bundle's height, a sequence from 1;
//! 2. the light blocks, one by one, through the receiver's own [`LightClient`] (verified
//!    progress is kept even when a later check fails; a proven conflict freezes it);
//! 3. the leaf proof against the trusted header at the bundle's height.
//!
//! It is pure: the caller persists the client when [`LightClient::revision`] moved.

use serde::{Deserialize, Serialize};

use crate::client::{ClientError, LightClient, UpdateOutcome};
use crate::codec::CodecError;
use crate::cometbft::CometVerifier;
use crate::envelope::TradeMessage;
use crate::evm::EvmFamily;
use crate::family::{CommitmentRoot, Family, FamilyKind, LeafProofError};
use crate::native::NativeVerifier;
use crate::types::{ChainId, Hash32, Height, Time};
use crate::verifier::VotingPowerTally;

/// Most light blocks one bundle may carry.
pub const MAX_BUNDLE_LIGHT_BLOCKS: usize = 64;

/// A message with its proof and the light blocks to reach the proof's header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ProofBundle<F: Family> {
    /// The message with its channel sequence.
    pub message: TradeMessage,
    /// Proof of the message's leaf against the messages commitment of the header at
    /// `height`.
    pub proof: F::LeafProof,
    /// Height of the source header the proof is against.
    pub height: Height,
    /// Source light blocks from the receiver's trusted state up to `height`, in increasing
    /// height order, the block at `height` last. Empty when the receiver trusts `height`.
    pub light_blocks: Vec<F::LightBlock>,
}

/// A bundle of any family, tagged with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum AnyBundle {
    /// A native chain's bundle.
    Corridor(ProofBundle<NativeVerifier>),
    /// A CometBFT chain's bundle.
    Cometbft(ProofBundle<CometVerifier>),
    /// An EVM chain's bundle.
    Evm(ProofBundle<EvmFamily>),
}

impl AnyBundle {
    /// The family of the source chain.
    pub fn family(&self) -> FamilyKind {
        match self {
            Self::Corridor(_) => FamilyKind::Corridor,
            Self::Cometbft(_) => FamilyKind::Cometbft,
            Self::Evm(_) => FamilyKind::Evm,
        }
    }

    /// The message carried.
    pub fn message(&self) -> &TradeMessage {
        match self {
            Self::Corridor(b) => &b.message,
            Self::Cometbft(b) => &b.message,
            Self::Evm(b) => &b.message,
        }
    }
}

/// A message whose commitment by its source chain was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedMessage {
    /// The message.
    pub message: TradeMessage,
    /// Height of the source header that commits it.
    pub height: Height,
    /// Hash of that header.
    pub header_hash: Hash32,
    /// Its commitment ([`TradeMessage::commitment`]).
    pub commitment: Hash32,
}

/// Why a bundle was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The message does not come from the client's chain.
    #[error("the message comes from {got}, this light client follows {expected}")]
    WrongSourceChain {
        /// The client's chain.
        expected: ChainId,
        /// The message's source chain.
        got: ChainId,
    },
    /// A receipt of another destination chain than the client's.
    #[error("the receipt is from {got}, this light client follows {expected}")]
    WrongDestinationChain {
        /// The client's chain.
        expected: ChainId,
        /// The receipt's destination chain.
        got: ChainId,
    },
    /// More light blocks than [`MAX_BUNDLE_LIGHT_BLOCKS`].
    #[error("bundle carries {got} light blocks, at most {max} allowed")]
    TooManyLightBlocks {
        /// Blocks carried.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A light block of another chain.
    #[error("light block at height {height} is of chain {got}, expected {expected}")]
    LightBlockChain {
        /// Its height.
        height: Height,
        /// The client's chain.
        expected: ChainId,
        /// The block's chain.
        got: ChainId,
    },
    /// Light blocks not in strictly increasing order, or not ending at the bundle height.
    #[error("light blocks must increase strictly and end at height {height}: {reason}")]
    LightBlockOrder {
        /// The bundle's height.
        height: Height,
        /// What is out of order.
        reason: &'static str,
    },
    /// The receiver's client of the source chain is frozen: it vouches for nothing.
    #[error("the light client of {chain} is frozen")]
    ClientFrozen {
        /// The chain.
        chain: ChainId,
    },
    /// Sequence 0 (sequences start at 1).
    #[error("sequence 0 is not a message sequence")]
    ZeroSequence,
    /// A light block was refused by the client.
    #[error("light block at height {height}: {source}")]
    LightBlock {
        /// Its height.
        height: Height,
        /// Why.
        source: ClientError,
    },
    /// Not enough of the trusted set signed a light block to skip to it.
    #[error("not enough trust to skip to height {height}: {tally}")]
    NotEnoughTrust {
        /// Its height.
        height: Height,
        /// What was signed.
        tally: VotingPowerTally,
    },
    /// A light block proved misbehaviour: the client is now frozen.
    #[error("light block at height {height} proves misbehaviour of {chain}: client frozen")]
    Misbehaviour {
        /// The chain.
        chain: ChainId,
        /// Height of the conflict.
        height: Height,
    },
    /// The client does not trust the header at the bundle's height.
    #[error("height {height} of {chain} is not trusted")]
    UntrustedHeight {
        /// The chain.
        chain: ChainId,
        /// The bundle's height.
        height: Height,
    },
    /// The message cannot be encoded (so it has no leaf).
    #[error("message: {0}")]
    Encoding(#[from] CodecError),
    /// The proof does not lead to the header's commitment.
    #[error("proof of sequence {sequence} against height {height}: {source}")]
    InvalidProof {
        /// The message's sequence.
        sequence: u64,
        /// The bundle's height.
        height: Height,
        /// Why.
        source: LeafProofError,
    },
}

impl BundleError {
    /// A short, stable name of the reason, for metric labels and problem types.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::WrongSourceChain { .. } => "wrong-source-chain",
            Self::WrongDestinationChain { .. } => "wrong-destination-chain",
            Self::TooManyLightBlocks { .. } => "too-many-light-blocks",
            Self::LightBlockChain { .. } => "light-block-chain",
            Self::LightBlockOrder { .. } => "light-block-order",
            Self::ClientFrozen { .. } => "client-frozen",
            Self::ZeroSequence => "zero-sequence",
            Self::LightBlock { source, .. } => source.reason(),
            Self::NotEnoughTrust { .. } => "not-enough-trust",
            Self::Misbehaviour { .. } => "misbehaviour",
            Self::UntrustedHeight { .. } => "untrusted-height",
            Self::Encoding(_) => "malformed-message",
            Self::InvalidProof { .. } => "invalid-proof",
        }
    }
}

/// Key of a message in a source chain's outbox commitment: `outbox/`, then the destination
/// chain id with a one-byte length, the channel (4 bytes) and the sequence (8 bytes), big
/// endian. The native family commits by position and does not use it; CometBFT chains'
/// `corridor` store does.
pub fn message_key(message: &TradeMessage) -> Vec<u8> {
    let body = &message.message.body;
    let dest = body.destination_chain.as_str().as_bytes();
    let mut key = CommitmentRoot::Messages.store_prefix().to_vec();
    // Chain ids are at most 50 bytes (`ChainId`'s invariant).
    key.push(u8::try_from(dest.len()).unwrap_or(u8::MAX));
    key.extend_from_slice(dest);
    key.extend_from_slice(&body.channel.to_be_bytes());
    key.extend_from_slice(&message.sequence.to_be_bytes());
    key
}

/// Verifies messages of one source block under one batch proof (a relay's bundle, DESIGN.md
/// "Batching") against the header at `height` that the receiver's `client` already trusts
/// (feed the bundle's light blocks to the client first), and returns each message's own
/// leaf proof, in order. The same rules as [`verify_bundle`] for each message (its source
/// chain, a sequence from 1, its leaf), then one check of the batch proof: one forged
/// message refuses the batch.
pub fn verify_batch<F: Family>(
    client: &LightClient<F>,
    height: Height,
    messages: &[TradeMessage],
    proof: &F::BatchProof,
) -> Result<Vec<F::LeafProof>, BundleError> {
    let family = F::default();
    let chain = client.chain_id().clone();
    if client.is_frozen() {
        return Err(BundleError::ClientFrozen { chain });
    }
    for m in messages {
        let source = &m.message.body.source_chain;
        if *source != chain {
            return Err(BundleError::WrongSourceChain {
                expected: chain,
                got: source.clone(),
            });
        }
        if m.sequence == 0 {
            return Err(BundleError::ZeroSequence);
        }
    }
    let Some(header) = client.trusted_at(height) else {
        return Err(BundleError::UntrustedHeight { chain, height });
    };
    let leaves = messages
        .iter()
        .map(|m| Ok((message_key(m), m.leaf()?)))
        .collect::<Result<Vec<_>, CodecError>>()?;
    family
        .verify_leaves(header, CommitmentRoot::Messages, &leaves, proof)
        .map_err(|source| BundleError::InvalidProof {
            sequence: messages.first().map_or(0, |m| m.sequence),
            height,
            source,
        })
}

/// Verifies `bundle` with the receiver's `client` of the source chain at time `now`; see
/// the module doc for the order of the checks.
pub fn verify_bundle<F: Family>(
    client: &mut LightClient<F>,
    bundle: &ProofBundle<F>,
    now: Time,
) -> Result<VerifiedMessage, BundleError> {
    let family = F::default();
    let chain = client.chain_id().clone();
    if client.is_frozen() {
        return Err(BundleError::ClientFrozen { chain });
    }
    let body = &bundle.message.message.body;
    if body.source_chain != chain {
        return Err(BundleError::WrongSourceChain {
            expected: chain,
            got: body.source_chain.clone(),
        });
    }
    if bundle.message.sequence == 0 {
        return Err(BundleError::ZeroSequence);
    }
    if bundle.light_blocks.len() > MAX_BUNDLE_LIGHT_BLOCKS {
        return Err(BundleError::TooManyLightBlocks {
            got: bundle.light_blocks.len(),
            max: MAX_BUNDLE_LIGHT_BLOCKS,
        });
    }
    let mut previous: Option<Height> = None;
    for block in &bundle.light_blocks {
        let height = family.block_height(block);
        let block_chain = family.block_chain(block);
        if block_chain != &chain {
            return Err(BundleError::LightBlockChain {
                height,
                expected: chain,
                got: block_chain.clone(),
            });
        }
        if previous.is_some_and(|p| p >= height) {
            return Err(BundleError::LightBlockOrder {
                height: bundle.height,
                reason: "heights do not increase",
            });
        }
        previous = Some(height);
    }
    if previous.is_some_and(|last| last != bundle.height) {
        return Err(BundleError::LightBlockOrder {
            height: bundle.height,
            reason: "the last block is not at the bundle's height",
        });
    }

    for block in &bundle.light_blocks {
        let height = family.block_height(block);
        match client.update(block.clone(), now) {
            Ok(UpdateOutcome::Trusted(_) | UpdateOutcome::AlreadyTrusted(_)) => {}
            Ok(UpdateOutcome::NotEnoughTrust(height, tally)) => {
                return Err(BundleError::NotEnoughTrust { height, tally });
            }
            Ok(UpdateOutcome::Misbehaviour(_)) => {
                return Err(BundleError::Misbehaviour { chain, height });
            }
            Err(source) => return Err(BundleError::LightBlock { height, source }),
        }
    }

    let Some(header) = client.trusted_at(bundle.height) else {
        return Err(BundleError::UntrustedHeight {
            chain,
            height: bundle.height,
        });
    };
    let leaf = bundle.message.leaf()?;
    family
        .verify_leaf(
            header,
            CommitmentRoot::Messages,
            &message_key(&bundle.message),
            &leaf,
            &bundle.proof,
        )
        .map_err(|source| BundleError::InvalidProof {
            sequence: bundle.message.sequence,
            height: bundle.height,
            source,
        })?;
    Ok(VerifiedMessage {
        message: bundle.message.clone(),
        height: bundle.height,
        header_hash: family.block_hash(header),
        commitment: bundle.message.commitment()?,
    })
}
