//! What crosses the adapter boundary.
//!
//! - [`ChainStatus`]: a chain's latest published block.
//! - [`OutboundMessage`]: a trade message a source chain committed, with its inclusion proof
//!   against the messages root of the block at `height`.
//! - [`ProofBundle`]: what a destination chain's inbox takes (DESIGN.md "proof bundle"): the
//!   message, its inclusion proof, the height of the header whose messages root the proof is
//!   against, and the source light blocks the receiver needs to reach that height from what
//!   it trusts, in increasing height order, the block at `height` last.
//! - [`Receipt`]: the destination chain's record of what became of (source, channel,
//!   sequence), with a result code ([`ReceiptResult`]: delivered, expired, or rejected with
//!   a typed [`RejectReason`]); [`ReceiptProof`] proves it against the receipts root of
//!   the destination block that took the delivery in.
//!
//! Everything here is plain data with serde (JSON on the devnet RPC, canonical CBOR where
//! it is hashed or stored).

use corridor_light_client::codec::{self, CodecError};
use corridor_light_client::envelope::{DocumentKind, EnvelopeError, TradeMessage};
use corridor_light_client::hash::TAG_RECEIPT;
use corridor_light_client::merkle::InclusionProof;
use corridor_light_client::native::NativeVerifier;
use corridor_light_client::{ChainId, Hash32, Height, Time};
use serde::{Deserialize, Serialize};

/// A chain's latest published block, as its endpoint reports it (untrusted until verified).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// The chain.
    pub chain_id: ChainId,
    /// Its family: `corridor` (native) or `cometbft`.
    pub family: String,
    /// Latest published height.
    pub latest_height: Height,
    /// Hash of the latest published header.
    pub latest_hash: Hash32,
    /// Time of the latest published header.
    pub latest_time: Time,
}

/// A committed outbound trade message and its proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    /// Height of the block whose messages root commits the message.
    pub height: Height,
    /// The message with its channel sequence.
    pub message: TradeMessage,
    /// Inclusion of [`TradeMessage::leaf`] under that block's messages root.
    pub proof: InclusionProof,
}

/// A delivery for a native destination chain's inbox (see
/// [`corridor_light_client::bundle`]).
pub type ProofBundle = corridor_light_client::bundle::ProofBundle<NativeVerifier>;

/// A light client of a native chain.
pub type NativeClient = corridor_light_client::client::LightClient<NativeVerifier>;

/// What became of a delivered message. Every result consumes the message's sequence.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptResult {
    /// Delivered to the destination before its deadline.
    Delivered,
    /// The deadline had passed: the sequence is consumed, the message is not delivered.
    Expired,
    /// The destination refused the proven message on its own rules (a smaller payload
    /// limit, a document check): the sequence is consumed, the message is not delivered.
    Rejected {
        /// Why.
        reason: RejectReason,
    },
}

/// Why a destination refused a message whose inclusion proof verified.
///
/// Part of the receipt (so hashed into the receipts root): typed and without free text, so
/// that metrics and problem types can name it and every chain encodes it the same way.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectReason {
    /// The envelope version is not one the destination supports.
    UnsupportedVersion {
        /// The message's version.
        version: u16,
    },
    /// Source and destination are the same chain.
    SameChain,
    /// The payload is over the destination's limit.
    PayloadTooLarge {
        /// Payload size, bytes.
        len: u64,
        /// The destination's limit, bytes.
        max: u64,
    },
    /// `payload_hash` is not the SHA3-256 of the payload.
    PayloadHashMismatch,
    /// The payload is not canonical CBOR of a map with text keys.
    PayloadNotCanonical,
    /// A field the document kind requires is missing or malformed.
    InvalidDocument {
        /// The document kind.
        kind: DocumentKind,
        /// Path of the field, e.g. `lines[0].amount`.
        field: String,
    },
    /// The trader's signature does not verify under the sender key.
    BadSignature,
}

impl RejectReason {
    /// The reason a destination gives for an envelope it refuses, when the refusal is a rule
    /// about the message itself. `None` for what is not such a rule (a deadline, an encoding
    /// failure, a kind of error this version does not know): the delivery is then refused
    /// without consuming the sequence.
    pub fn from_envelope(error: &EnvelopeError) -> Option<Self> {
        let size = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        Some(match error {
            EnvelopeError::Version(version) => Self::UnsupportedVersion { version: *version },
            EnvelopeError::SameChain(_) => Self::SameChain,
            EnvelopeError::PayloadTooLarge { len, max } => Self::PayloadTooLarge {
                len: size(*len),
                max: size(*max),
            },
            EnvelopeError::PayloadHashMismatch { .. } => Self::PayloadHashMismatch,
            EnvelopeError::PayloadNotCanonical(_) => Self::PayloadNotCanonical,
            EnvelopeError::Document(e) => Self::InvalidDocument {
                kind: e.kind,
                field: e.field.clone(),
            },
            EnvelopeError::BadSignature(_) => Self::BadSignature,
            _ => return None,
        })
    }

    /// A short name for logs and metric labels, e.g. `payload-too-large`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::UnsupportedVersion { .. } => "unsupported-version",
            Self::SameChain => "same-chain",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::PayloadHashMismatch => "payload-hash-mismatch",
            Self::PayloadNotCanonical => "payload-not-canonical",
            Self::InvalidDocument { .. } => "invalid-document",
            Self::BadSignature => "bad-signature",
        }
    }
}

/// The destination chain's record of one delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Chain the message came from.
    pub source_chain: ChainId,
    /// Chain that took it in.
    pub destination_chain: ChainId,
    /// Channel.
    pub channel: u32,
    /// Sequence on the channel.
    pub sequence: u64,
    /// [`TradeMessage::commitment`] of the delivered message.
    pub message_commitment: Hash32,
    /// Result code.
    pub result: ReceiptResult,
}

impl Receipt {
    /// Leaf data committed in the receipts root: the receipt tag and canonical CBOR.
    pub fn leaf(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = TAG_RECEIPT.to_vec();
        out.extend(codec::encode("receipt", self)?);
        Ok(out)
    }
}

/// A receipt with its proof against the receipts root of the block at `height`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptProof {
    /// Height of the destination block that took the delivery in.
    pub height: Height,
    /// The receipt.
    pub receipt: Receipt,
    /// Inclusion of [`Receipt::leaf`] under that block's receipts root.
    pub proof: InclusionProof,
}

/// A destination chain's answer to an accepted delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAck {
    /// Chain the message came from.
    pub source_chain: ChainId,
    /// Channel.
    pub channel: u32,
    /// Sequence.
    pub sequence: u64,
    /// Result the receipt will carry.
    pub result: ReceiptResult,
}
