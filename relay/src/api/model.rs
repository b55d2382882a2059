//! The JSON shapes of the trader API (requests and answers). `openapi.json` describes the
//! same shapes; a test checks every answer of the test suite against it.

use corridor_light_client::envelope::{
    payload_from_json, Deadline, DocumentKind, MessageBody, Payload, SignedMessage,
};
use corridor_light_client::receipt::ReceiptResult;
use corridor_light_client::signature::{PublicKey, Signature};
use corridor_light_client::{ChainId, Hash32, Height, Time};
use corridor_relay_core::core::Stage;
use serde::{Deserialize, Serialize};

use super::error::ApiError;

/// `POST /v1/messages`: the envelope of DESIGN.md in JSON, signed by the sender.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// What the trader signed.
    pub body: BodyInput,
    /// The sender's ed25519 signature over the body's sign bytes, hex.
    pub signature: Signature,
}

/// The signed body, with the payload in one of three forms.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyInput {
    /// Envelope version.
    pub version: u16,
    /// Source chain.
    pub source_chain: ChainId,
    /// Destination chain.
    pub destination_chain: ChainId,
    /// Channel.
    pub channel: u32,
    /// The trader's nonce.
    pub nonce: u64,
    /// The trader's key, hex.
    pub sender: PublicKey,
    /// The addressee's key, hex.
    pub receiver: PublicKey,
    /// Document kind.
    pub kind: DocumentKind,
    /// The document.
    pub payload: PayloadInput,
    /// SHA3-256 of the payload's canonical CBOR, hex.
    pub payload_hash: Hash32,
    /// `{"height": H}` or `{"time": unix nanos}` on the destination.
    pub deadline: Deadline,
}

/// A payload: the canonical CBOR in hex (as the envelope serialises it), in base64, or the
/// typed document as JSON (encoded to canonical CBOR here, as the trader did to sign it).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum PayloadInput {
    /// Hex of the canonical CBOR.
    Hex(Payload),
    /// `{"base64": "..."}`.
    Base64 {
        /// Base64 (standard alphabet, padded) of the canonical CBOR.
        base64: String,
    },
    /// `{"document": {...}}`.
    Document {
        /// The document.
        document: serde_json::Value,
    },
}

impl SubmitRequest {
    /// The signed message this request carries.
    pub fn into_signed(self) -> Result<SignedMessage, ApiError> {
        use base64::Engine as _;
        let b = self.body;
        let payload = match b.payload {
            PayloadInput::Hex(p) => p,
            PayloadInput::Base64 { base64 } => Payload(
                base64::engine::general_purpose::STANDARD
                    .decode(base64.as_bytes())
                    .map_err(|e| ApiError::MalformedJson {
                        field: "body.payload.base64".into(),
                        detail: format!("body.payload.base64 is not base64: {e}"),
                    })?,
            ),
            PayloadInput::Document { document } => {
                payload_from_json(&document).map_err(|e| ApiError::InvalidDocument {
                    field: "body.payload.document".into(),
                    detail: format!("does not encode as CBOR: {e}"),
                })?
            }
        };
        Ok(SignedMessage {
            body: MessageBody {
                version: b.version,
                source_chain: b.source_chain,
                destination_chain: b.destination_chain,
                channel: b.channel,
                nonce: b.nonce,
                sender: b.sender,
                receiver: b.receiver,
                kind: b.kind,
                payload,
                payload_hash: b.payload_hash,
                deadline: b.deadline,
            },
            signature: self.signature,
        })
    }
}

/// A message's status (DESIGN.md "Message lifecycle").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The source chain's outbox took it and assigned its sequence.
    Submitted,
    /// Committed in a source block and verified by the source relay.
    Committed,
    /// The destination relay persisted it.
    Forwarded,
    /// The destination chain took it in.
    Delivered,
    /// Its delivery receipt is proven.
    Acknowledged,
    /// The destination refused it on its own rules.
    Rejected,
    /// Its deadline passed before delivery.
    TimedOut,
}

impl Status {
    /// Every status.
    pub const ALL: [Self; 7] = [
        Self::Submitted,
        Self::Committed,
        Self::Forwarded,
        Self::Delivered,
        Self::Acknowledged,
        Self::Rejected,
        Self::TimedOut,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Committed => "committed",
            Self::Forwarded => "forwarded",
            Self::Delivered => "delivered",
            Self::Acknowledged => "acknowledged",
            Self::Rejected => "rejected",
            Self::TimedOut => "timed_out",
        }
    }

    /// The status a message has once it reached `stage`.
    pub fn of_stage(stage: &Stage) -> Self {
        let settled = |result: &ReceiptResult, ok: Self| match result {
            ReceiptResult::Delivered => ok,
            ReceiptResult::Expired => Self::TimedOut,
            ReceiptResult::Rejected { .. } => Self::Rejected,
        };
        match stage {
            Stage::Committed => Self::Committed,
            Stage::Forwarded | Stage::Received => Self::Forwarded,
            Stage::Delivered(r) => settled(r, Self::Delivered),
            Stage::Acknowledged(r) => settled(r, Self::Acknowledged),
        }
    }

    /// Whether nothing more happens to the message.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Acknowledged | Self::Rejected | Self::TimedOut)
    }
}

/// The answer to a submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResponse {
    /// The message id (idempotency key).
    pub id: Hash32,
    /// Its status now.
    pub status: Status,
    /// Source chain.
    pub source_chain: ChainId,
    /// Destination chain.
    pub destination_chain: ChainId,
    /// Channel.
    pub channel: u32,
    /// Sequence the source outbox assigned.
    pub sequence: u64,
    /// Whether this message had been submitted before.
    pub duplicate: bool,
}

/// One stage of a message's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageView {
    /// `submitted`, `committed`, `forwarded`, `received`, `delivered` or `acknowledged`.
    pub stage: String,
    /// When this relay recorded it (RFC 3339, UTC).
    pub at: String,
    /// The same time in Unix nanoseconds.
    pub at_unix_nanos: u64,
    /// The chain the stage happened on.
    pub chain: ChainId,
    /// The block height, when the stage is a block's: committed and received, the source
    /// block that committed the message; delivered and acknowledged, the destination block
    /// of the receipt, when this relay holds its proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<Height>,
    /// The receipt's result (`delivered`, `expired`, `rejected`), for delivered and
    /// acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The inclusion proof a third party checks against that block's root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<serde_json::Value>,
}

/// One message, as `GET /v1/messages/{id}` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    /// The id.
    pub id: Hash32,
    /// Status.
    pub status: Status,
    /// Source chain.
    pub source_chain: ChainId,
    /// Destination chain.
    pub destination_chain: ChainId,
    /// Channel.
    pub channel: u32,
    /// Sequence.
    pub sequence: u64,
    /// Sender key.
    pub sender: PublicKey,
    /// Receiver key.
    pub receiver: PublicKey,
    /// Document kind.
    pub kind: DocumentKind,
    /// SHA3-256 of the payload.
    pub payload_hash: Hash32,
    /// The deadline.
    pub deadline: Deadline,
    /// When this relay first saw it (RFC 3339).
    pub seen_at: String,
    /// Its commitment (the leaf hash under the source block's messages root).
    pub commitment: Hash32,
    /// Stages in order.
    pub timeline: Vec<StageView>,
    /// The signed message with its sequence, as the chains carry it (payload in hex).
    pub message: serde_json::Value,
}

/// One message in a list (no payload, no proofs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSummary {
    /// The id.
    pub id: Hash32,
    /// Status.
    pub status: Status,
    /// Source chain.
    pub source_chain: ChainId,
    /// Destination chain.
    pub destination_chain: ChainId,
    /// Channel.
    pub channel: u32,
    /// Sequence.
    pub sequence: u64,
    /// Sender key.
    pub sender: PublicKey,
    /// Receiver key.
    pub receiver: PublicKey,
    /// Document kind.
    pub kind: DocumentKind,
    /// When this relay first saw it (RFC 3339).
    pub seen_at: String,
}

/// A page of `GET /v1/messages`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePage {
    /// The messages, oldest first.
    pub items: Vec<MessageSummary>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A chain's light-client status as the relay's core publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// The chain.
    pub chain: ChainId,
    /// Whether this relay follows the chain itself (a home chain) or through peers.
    pub home: bool,
    /// The light client's latest trusted height.
    pub trusted_height: Option<Height>,
    /// The time of that header.
    pub trusted_time: Option<Time>,
    /// The chain's head as last seen (home chains).
    pub head_height: Option<Height>,
    /// When the trusting period of the latest trusted header ends.
    pub trusted_until: Option<Time>,
    /// Why the light client froze, if it did.
    pub frozen: Option<String>,
    /// The chain's family.
    pub family: corridor_light_client::family::FamilyKind,
    /// How its headers are trusted ([`crate::metrics::trust_model`]).
    pub trust: String,
}

impl ChainStatus {
    /// The status of `client`, the core's light client of a chain: `home` when this relay
    /// follows the chain itself, `head_height` the chain's tip as its watcher last saw it,
    /// `frozen` the reason the core gave when the client froze (`Action::Frozen`).
    pub fn of<F: corridor_light_client::family::Family>(
        client: &corridor_light_client::client::LightClient<F>,
        home: bool,
        head_height: Option<Height>,
        frozen: Option<String>,
    ) -> Self {
        let trusted_until = client.trusted_until();
        Self {
            chain: client.chain_id().clone(),
            home,
            trusted_height: client.latest().map(|_| client.latest_height()),
            trusted_time: trusted_until
                .and_then(|until| until.checked_sub(client.options().trusting_period)),
            head_height,
            trusted_until,
            family: client.family(),
            trust: crate::metrics::trust_model(client.family()).to_owned(),
            frozen: frozen.or_else(|| {
                client
                    .is_frozen()
                    .then(|| "frozen after proven misbehaviour".to_owned())
            }),
        }
    }
}

/// A chain as `GET /v1/chains` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainView {
    /// The chain.
    pub chain: ChainId,
    /// Whether this relay follows it itself.
    pub home: bool,
    /// Its family: `corridor`, `cometbft` or `evm`.
    pub family: corridor_light_client::family::FamilyKind,
    /// How its headers are trusted: `light-client`, or `weak-trust-attestations` (k-of-n
    /// operator attestations of its header hashes, a WEAKER trust model than a light
    /// client).
    pub trust: String,
    /// Latest trusted height.
    pub trusted_height: Option<Height>,
    /// Its header time (RFC 3339).
    pub trusted_time: Option<String>,
    /// The head height last seen.
    pub head_height: Option<Height>,
    /// Head minus trusted height.
    pub lag: Option<u64>,
    /// Seconds until the trusting period ends (0 once it has).
    pub trust_expires_in_secs: Option<u64>,
    /// Whether the light client is frozen.
    pub frozen: bool,
    /// Why.
    pub frozen_reason: Option<String>,
}

/// `POST /v1/tokens`: a trader proves its key by signing the current time.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The trader's key, hex.
    pub key: PublicKey,
    /// Now, in Unix seconds (within two minutes of the relay's clock).
    pub at: u64,
    /// The key of the relay asked, hex (its `corridor-relay` answer header).
    pub relay: PublicKey,
    /// Signature over [`super::auth::token_request_bytes`], hex.
    pub signature: Signature,
}

/// The answer: a bearer token bound to the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// Use as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// The key it is bound to.
    pub key: PublicKey,
}

/// A status change, as the event streams carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// Monotonic event number (the SSE `id`).
    pub event: u64,
    /// The message.
    pub id: Hash32,
    /// The stage reached.
    pub stage: String,
    /// The message's status after it.
    pub status: Status,
    /// When (RFC 3339).
    pub at: String,
}
