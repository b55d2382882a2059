//! Receipts: the destination chain's record of what became of (source, channel, sequence)
//! (DESIGN.md "receipt"), their proofs, and [`verify_receipt`], which a source-side relay
//! or a third party calls with its light client of the destination chain.
//!
//! Every result consumes the sequence, so one refused message never blocks its lane: a
//! proven message the destination's own rules refuse gets a [`ReceiptResult::Rejected`]
//! receipt with a typed [`RejectReason`].

use serde::{Deserialize, Serialize};

use crate::bundle::BundleError;
use crate::client::LightClient;
use crate::codec::{self, CodecError};
use crate::envelope::{DocumentKind, EnvelopeError};
use crate::family::{CommitmentRoot, Family};
use crate::hash::TAG_RECEIPT;
use crate::types::{ChainId, Hash32, Height};

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
    /// [`crate::envelope::TradeMessage::commitment`] of the delivered message.
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

/// A receipt with its proof against the receipts commitment of the destination header at
/// `height`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ReceiptProof<F: Family> {
    /// Height of the destination block that took the delivery in.
    pub height: Height,
    /// The receipt.
    pub receipt: Receipt,
    /// Proof of [`Receipt::leaf`] under that block's receipts commitment.
    pub proof: F::LeafProof,
}

/// Key of a receipt in a destination chain's receipts commitment: `receipts/`, then the
/// source chain id with a one-byte length, the channel (4 bytes) and the sequence (8
/// bytes), big endian (as [`crate::bundle::message_key`]).
pub fn receipt_key(receipt: &Receipt) -> Vec<u8> {
    let source = receipt.source_chain.as_str().as_bytes();
    let mut key = CommitmentRoot::Receipts.store_prefix().to_vec();
    // Chain ids are at most 50 bytes (`ChainId`'s invariant).
    key.push(u8::try_from(source.len()).unwrap_or(u8::MAX));
    key.extend_from_slice(source);
    key.extend_from_slice(&receipt.channel.to_be_bytes());
    key.extend_from_slice(&receipt.sequence.to_be_bytes());
    key
}

/// Verifies that the destination chain followed by `client` committed `proof`'s receipt in
/// the block at its height, which the client must trust already (bring it there first, e.g.
/// with the adapters' `sync_client`). Returns the receipt.
pub fn verify_receipt<'a, F: Family>(
    client: &LightClient<F>,
    proof: &'a ReceiptProof<F>,
) -> Result<&'a Receipt, BundleError> {
    let chain = client.chain_id().clone();
    if client.is_frozen() {
        return Err(BundleError::ClientFrozen { chain });
    }
    if proof.receipt.destination_chain != chain {
        return Err(BundleError::WrongDestinationChain {
            expected: chain,
            got: proof.receipt.destination_chain.clone(),
        });
    }
    let Some(header) = client.trusted_at(proof.height) else {
        return Err(BundleError::UntrustedHeight {
            chain,
            height: proof.height,
        });
    };
    let leaf = proof.receipt.leaf()?;
    F::default()
        .verify_leaf(
            header,
            CommitmentRoot::Receipts,
            &receipt_key(&proof.receipt),
            &leaf,
            &proof.proof,
        )
        .map_err(|source| BundleError::InvalidProof {
            sequence: proof.receipt.sequence,
            height: proof.height,
            source,
        })?;
    Ok(&proof.receipt)
}

/// Verifies that the destination chain followed by `client` committed every one of
/// `receipts` in the block at `height` (which the client must trust already), under one
/// batch proof ([`Family::join_proofs`] of their leaf proofs, in the same order). The same
/// rules as [`verify_receipt`] for each receipt (its destination chain), then one check of
/// the batch proof: one forged receipt refuses them all. Nothing is returned: the caller
/// that needs each receipt's own proof joins, and keeps, the proofs it was given.
pub fn verify_receipts<F: Family>(
    client: &LightClient<F>,
    height: Height,
    receipts: &[Receipt],
    proof: &F::BatchProof,
) -> Result<(), BundleError> {
    let chain = client.chain_id().clone();
    if client.is_frozen() {
        return Err(BundleError::ClientFrozen { chain });
    }
    if let Some(r) = receipts.iter().find(|r| r.destination_chain != chain) {
        return Err(BundleError::WrongDestinationChain {
            expected: chain,
            got: r.destination_chain.clone(),
        });
    }
    let Some(header) = client.trusted_at(height) else {
        return Err(BundleError::UntrustedHeight { chain, height });
    };
    let leaves = receipts
        .iter()
        .map(|r| Ok((receipt_key(r), r.leaf()?)))
        .collect::<Result<Vec<_>, CodecError>>()?;
    F::default()
        .check_leaves(header, CommitmentRoot::Receipts, &leaves, proof)
        .map_err(|source| BundleError::InvalidProof {
            sequence: receipts.first().map_or(0, |r| r.sequence),
            height,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::DocumentError;
    use crate::signature::PublicKey;

    #[test]
    fn every_rule_about_the_message_becomes_a_typed_reason_with_a_stable_name() {
        let chain = ChainId::new("kz-astana").unwrap();
        let cases = [
            (
                EnvelopeError::Version(9),
                RejectReason::UnsupportedVersion { version: 9 },
                "unsupported-version",
            ),
            (
                EnvelopeError::SameChain(chain),
                RejectReason::SameChain,
                "same-chain",
            ),
            (
                EnvelopeError::PayloadTooLarge { len: 70, max: 64 },
                RejectReason::PayloadTooLarge { len: 70, max: 64 },
                "payload-too-large",
            ),
            (
                EnvelopeError::PayloadHashMismatch {
                    claimed: Hash32([1; 32]),
                    actual: Hash32([2; 32]),
                },
                RejectReason::PayloadHashMismatch,
                "payload-hash-mismatch",
            ),
            (
                EnvelopeError::PayloadNotCanonical("x".into()),
                RejectReason::PayloadNotCanonical,
                "payload-not-canonical",
            ),
            (
                EnvelopeError::Document(DocumentError {
                    kind: DocumentKind::CommercialInvoice,
                    field: "lines[0].amount".into(),
                    problem: "missing".into(),
                }),
                RejectReason::InvalidDocument {
                    kind: DocumentKind::CommercialInvoice,
                    field: "lines[0].amount".into(),
                },
                "invalid-document",
            ),
            (
                EnvelopeError::BadSignature(PublicKey([3; 32])),
                RejectReason::BadSignature,
                "bad-signature",
            ),
        ];
        for (error, reason, name) in cases {
            let got = RejectReason::from_envelope(&error);
            assert_eq!(got.as_ref(), Some(&reason), "{error}");
            assert_eq!(reason.name(), name);
        }
    }
}
