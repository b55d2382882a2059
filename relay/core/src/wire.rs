//! The frames relays exchange after their hello (DESIGN.md "Relay-to-relay transport").
//!
//! A frame is canonical CBOR; the transport prefixes its length and bounds it. Every field
//! that a peer controls is bounded here again ([`Limits`]), before any signature or proof
//! is looked at: a peer is an untrusted courier, and the cheapest message that makes a relay
//! do expensive work must be refused at the price of a length check.
//!
//! - [`MessageBatch`]: the messages of one lane committed in one source block under one
//!   proof against that block's header (a multiproof for native chains: each sibling hash
//!   once), and the light blocks the receiver needs to trust the block, once for the whole
//!   batch.
//! - [`Ack`]: the receiver persisted these sequences of a lane (sent only after its synced
//!   write), and what its light client of the source chain now trusts.
//! - [`ReceiptBatch`]: receipts the destination chain committed in one block under one
//!   proof against that block's header (a multiproof for native chains), with the light
//!   blocks, travelling back to the source side.
//! - [`ReceiptAck`]: the source side persisted these receipts.
//! - [`TrustStatus`]: what the sender's light clients of the receiver's chains trust (root
//!   height and latest height), so the receiver can plan light blocks for them.

use corridor_light_client::any::{AnyFamily, Member};
use corridor_light_client::envelope::TradeMessage;
use corridor_light_client::family::Family;
use corridor_light_client::receipt::Receipt;
use corridor_light_client::{ChainId, Height};
use serde::{Deserialize, Serialize};

/// An ordered lane of messages: (source chain, destination chain, channel).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Lane {
    /// Source chain.
    pub source: ChainId,
    /// Destination chain.
    pub destination: ChainId,
    /// Channel number.
    pub channel: u32,
}

impl Lane {
    /// The lane of a message.
    pub fn of(message: &TradeMessage) -> Self {
        let body = &message.message.body;
        Self {
            source: body.source_chain.clone(),
            destination: body.destination_chain.clone(),
            channel: body.channel,
        }
    }

    /// A stable key: `source/destination/channel` (chain ids never contain `/`).
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.source, self.destination, self.channel)
    }
}

impl core::fmt::Display for Lane {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} -> {} #{}",
            self.source, self.destination, self.channel
        )
    }
}

/// Messages of one lane committed in one source block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct MessageBatch<F: Family> {
    /// The lane.
    pub lane: Lane,
    /// Height of the source block whose header commits every message.
    pub height: Height,
    /// Source light blocks from what the receiver trusts up to `height`, increasing, the
    /// block at `height` last; empty when the receiver trusts `height` already.
    pub light_blocks: Vec<F::LightBlock>,
    /// The messages in increasing sequence order.
    pub messages: Vec<TradeMessage>,
    /// One proof of all of them against the messages commitment of the header at
    /// `height` ([`Family::verify_leaves`]); `None` exactly when there are no messages.
    pub proof: Option<F::BatchProof>,
}

impl<F: Member> MessageBatch<F> {
    /// The batch as a relay of every family ([`AnyFamily`]) carries it: the same blocks and
    /// proof, tagged with their family.
    pub fn into_any(self) -> MessageBatch<AnyFamily> {
        MessageBatch {
            lane: self.lane,
            height: self.height,
            light_blocks: self
                .light_blocks
                .into_iter()
                .map(F::block_into_any)
                .collect(),
            messages: self.messages,
            proof: self.proof.map(F::batch_into_any),
        }
    }
}

/// The receiver persisted these sequences of `lane`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The lane.
    pub lane: Lane,
    /// Sequences persisted (or already held), increasing.
    pub sequences: Vec<u64>,
    /// The latest height the receiver's light client of the lane's source now trusts.
    pub trusted_height: Option<Height>,
}

/// Receipts of one destination block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ReceiptBatch<F: Family> {
    /// The destination chain.
    pub chain: ChainId,
    /// Height of the destination block that commits every receipt.
    pub height: Height,
    /// Destination light blocks up to `height`, as in [`MessageBatch::light_blocks`].
    pub light_blocks: Vec<F::LightBlock>,
    /// The receipts, in the order of their leaves in the block's receipts commitment.
    pub receipts: Vec<Receipt>,
    /// One proof of all of them against the receipts commitment of the header at `height`
    /// ([`Family::join_proofs`]); `None` exactly when there are no receipts.
    pub proof: Option<F::BatchProof>,
}

/// The source side persisted these receipts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptAck {
    /// The lane.
    pub lane: Lane,
    /// Sequences whose receipts are persisted.
    pub sequences: Vec<u64>,
    /// The latest height the sender's light client of the destination now trusts.
    pub trusted_height: Option<Height>,
}

/// What one light client trusts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientTrust {
    /// The chain.
    pub chain: ChainId,
    /// The client's trust root height.
    pub root_height: Height,
    /// Its latest trusted height, if it trusts any block yet.
    pub latest: Option<Height>,
}

/// What the sender's peer-fed light clients trust.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustStatus {
    /// One entry per chain.
    pub clients: Vec<ClientTrust>,
}

/// A frame between relays.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "", tag = "type", rename_all = "snake_case")]
pub enum Frame<F: Family> {
    /// Messages of one lane and block.
    Batch(MessageBatch<F>),
    /// The receiver persisted messages.
    Ack(Ack),
    /// Receipts of one destination block.
    Receipts(ReceiptBatch<F>),
    /// The source side persisted receipts.
    ReceiptAck(ReceiptAck),
    /// What the sender's light clients trust.
    Trust(TrustStatus),
}

/// Bounds on what a peer may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded frame.
    pub max_frame_bytes: usize,
    /// Most messages (or receipts) in one batch.
    pub max_batch_messages: usize,
    /// Most light blocks in one batch.
    pub max_light_blocks: usize,
    /// Most sequences in one ack.
    pub max_ack_sequences: usize,
    /// Most chains in a trust status.
    pub max_trust_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 8 * 1024 * 1024,
            max_batch_messages: 256,
            max_light_blocks: corridor_light_client::bundle::MAX_BUNDLE_LIGHT_BLOCKS,
            max_ack_sequences: 4096,
            max_trust_entries: 64,
        }
    }
}

/// Why a frame was refused before any verification.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Larger than [`Limits::max_frame_bytes`].
    #[error("frame of {len} bytes, at most {max} allowed")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not the CBOR of a frame.
    #[error("undecodable frame: {0}")]
    Decode(String),
    /// A list longer than its limit.
    #[error("{what}: {got} entries, at most {max} allowed")]
    TooMany {
        /// Which list.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// Could not encode (a bug, never a peer's fault).
    #[error("cannot encode frame: {0}")]
    Encode(String),
}

impl FrameError {
    /// Short stable label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "frame-too-large",
            Self::Decode(_) => "bad-frame",
            Self::TooMany { .. } => "frame-limits",
            Self::Encode(_) => "encode",
        }
    }
}

fn bound(what: &'static str, got: usize, max: usize) -> Result<(), FrameError> {
    if got > max {
        return Err(FrameError::TooMany { what, got, max });
    }
    Ok(())
}

impl<F: Family> Frame<F> {
    /// Canonical CBOR.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::new();
        ciborium::into_writer(self, &mut out).map_err(|e| FrameError::Encode(e.to_string()))?;
        Ok(out)
    }

    /// Decodes a frame, checking its size first and every list's length after.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self, FrameError> {
        if bytes.len() > limits.max_frame_bytes {
            return Err(FrameError::TooLarge {
                len: bytes.len(),
                max: limits.max_frame_bytes,
            });
        }
        let frame: Self =
            ciborium::from_reader(bytes).map_err(|e| FrameError::Decode(e.to_string()))?;
        frame.check(limits)?;
        Ok(frame)
    }

    /// Checks every list against `limits`.
    pub fn check(&self, limits: &Limits) -> Result<(), FrameError> {
        match self {
            Self::Batch(b) => {
                bound(
                    "batch messages",
                    b.messages.len(),
                    limits.max_batch_messages,
                )?;
                bound(
                    "light blocks",
                    b.light_blocks.len(),
                    limits.max_light_blocks,
                )
            }
            Self::Receipts(b) => {
                bound(
                    "batch receipts",
                    b.receipts.len(),
                    limits.max_batch_messages,
                )?;
                bound(
                    "light blocks",
                    b.light_blocks.len(),
                    limits.max_light_blocks,
                )
            }
            Self::Ack(a) => bound("ack sequences", a.sequences.len(), limits.max_ack_sequences),
            Self::ReceiptAck(a) => {
                bound("ack sequences", a.sequences.len(), limits.max_ack_sequences)
            }
            Self::Trust(t) => bound("trust entries", t.clients.len(), limits.max_trust_entries),
        }
    }
}
