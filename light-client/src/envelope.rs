//! The trade message envelope: what a trader submits and a chain commits.
//!
//! A trader builds a [`MessageBody`] (chains, channel, sender, receiver, document kind,
//! payload and its hash, deadline, and a nonce of its choosing) and signs its canonical CBOR
//! under the tag `corridor/message-sign/v1` ([`SignedMessage`]). The payload must pass
//! [`crate::documents::validate`] for its kind. The source chain's outbox then assigns the
//! channel sequence number, giving a [`TradeMessage`], whose [`leaf`](TradeMessage::leaf) a
//! block's messages root commits to and whose [`commitment`](TradeMessage::commitment) is
//! that leaf's SHA3-256.
//!
//! ## Departure from DESIGN.md
//! DESIGN.md lists the sequence among the fields the trader signs, but the outbox assigns
//! it after the trader has signed. So the trader signs everything except the sequence, and
//! includes a `nonce`; the pair (sender, nonce) makes resubmission idempotent
//! ([`SignedMessage::id`]), and the commitment covers the sequence and the signature.

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::hash::{self, TAG_MESSAGE, TAG_TRADER_SIGN};
use crate::signature::{PublicKey, Signature, SigningKey};
use crate::types::{ChainId, Hash32, Height, Time};

/// The envelope version this code writes and accepts.
pub const VERSION: u16 = 1;
/// Default limit of a payload's canonical CBOR, in bytes.
pub const DEFAULT_MAX_PAYLOAD: usize = 64 * 1024;

/// The kinds of trade document corridor carries (see TRADE-DOCS.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Bill of lading / eBL (DCSA eBL 3.0).
    BillOfLading,
    /// Certificate of origin (RCEP, ATIGA Form D, ACFTA Form E).
    CertificateOfOrigin,
    /// Commercial invoice (UN/CEFACT CII).
    CommercialInvoice,
    /// Documentary credit (SWIFT MT700, UCP 600).
    LetterOfCredit,
    /// Payment instruction (ISO 20022 pacs.008 / pain.001).
    PaymentInstruction,
    /// Customs declaration (WCO Data Model).
    CustomsDeclaration,
    /// Packing list (UN/CEFACT CIEPL).
    PackingList,
    /// Any other document; no required fields.
    Generic,
}

impl DocumentKind {
    /// Every kind.
    pub const ALL: [Self; 8] = [
        Self::BillOfLading,
        Self::CertificateOfOrigin,
        Self::CommercialInvoice,
        Self::LetterOfCredit,
        Self::PaymentInstruction,
        Self::CustomsDeclaration,
        Self::PackingList,
        Self::Generic,
    ];

    /// The snake_case name used on the wire and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BillOfLading => "bill_of_lading",
            Self::CertificateOfOrigin => "certificate_of_origin",
            Self::CommercialInvoice => "commercial_invoice",
            Self::LetterOfCredit => "letter_of_credit",
            Self::PaymentInstruction => "payment_instruction",
            Self::CustomsDeclaration => "customs_declaration",
            Self::PackingList => "packing_list",
            Self::Generic => "generic",
        }
    }

    /// Top-level payload fields this kind must carry (TRADE-DOCS.md).
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            Self::BillOfLading => &[
                "bl_number",
                "doc_type",
                "carrier_code",
                "to_order",
                "shipper",
                "consignee",
                "port_of_loading",
                "port_of_discharge",
                "vessel",
                "voyage",
                "on_board_date",
                "issue_date",
                "goods",
                "containers",
                "doc_hash",
            ],
            Self::CertificateOfOrigin => &[
                "co_number",
                "agreement",
                "exporter",
                "consignee",
                "port_of_discharge",
                "departure_date",
                "items",
                "invoice_number",
                "issuer",
                "issue_date",
            ],
            Self::CommercialInvoice => &[
                "invoice_number",
                "issue_date",
                "seller",
                "buyer",
                "currency",
                "incoterm",
                "incoterm_place",
                "lines",
                "line_total",
                "tax_total",
                "grand_total",
            ],
            Self::LetterOfCredit => &[
                "credit_number",
                "form",
                "issue_date",
                "rules",
                "expiry_date",
                "expiry_place",
                "applicant",
                "beneficiary",
                "currency",
                "amount",
                "available_with",
                "available_by",
                "partial_shipments",
                "transhipment",
                "latest_shipment",
                "goods",
                "documents_required",
                "confirmation",
            ],
            Self::PaymentInstruction => &[
                "msg_id",
                "created_at",
                "tx_count",
                "end_to_end_id",
                "uetr",
                "amount",
                "currency",
                "value_date",
                "charge_bearer",
                "debtor",
                "creditor",
                "debtor_agent",
                "creditor_agent",
            ],
            Self::CustomsDeclaration => &[
                "declaration_type",
                "function_code",
                "lrn",
                "customs_office",
                "declarant",
                "exporter",
                "importer",
                "goods",
                "invoice_amount",
                "currency",
                "incoterm",
                "procedure_code",
            ],
            Self::PackingList => &[
                "packing_list_number",
                "issue_date",
                "consignor",
                "consignee",
                "invoice_ref",
                "packages",
            ],
            Self::Generic => &[],
        }
    }
}

impl core::fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a message must be delivered by, on the destination chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// Delivered in a block at or below this height.
    Height(Height),
    /// Delivered in a block whose time is at or before this.
    Time(Time),
}

/// A payload: canonical CBOR bytes of the document.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Payload(pub Vec<u8>);

impl core::fmt::Debug for Payload {
    // Trade documents are confidential: never print their contents.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Payload({} bytes)", self.0.len())
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(&self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Payload;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("payload bytes or hex")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Payload, E> {
                Ok(Payload(v.to_vec()))
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Payload, E> {
                Ok(Payload(v))
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<Payload, E> {
                hex::decode(v)
                    .map(Payload)
                    .map_err(|e| E::custom(format!("bad hex: {e}")))
            }
        }
        if d.is_human_readable() {
            d.deserialize_str(V)
        } else {
            d.deserialize_byte_buf(V)
        }
    }
}

/// Everything a trader signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBody {
    /// Envelope version ([`VERSION`]).
    pub version: u16,
    /// Chain the message leaves from.
    pub source_chain: ChainId,
    /// Chain it goes to.
    pub destination_chain: ChainId,
    /// Channel from source to destination.
    pub channel: u32,
    /// Trader-chosen number that makes (sender, nonce) unique.
    pub nonce: u64,
    /// The trader's key.
    pub sender: PublicKey,
    /// The addressee's key.
    pub receiver: PublicKey,
    /// Document kind.
    pub kind: DocumentKind,
    /// The document, canonical CBOR.
    pub payload: Payload,
    /// SHA3-256 of `payload`.
    pub payload_hash: Hash32,
    /// Deadline on the destination chain.
    pub deadline: Deadline,
}

impl MessageBody {
    /// The bytes the trader signs: tag || canonical CBOR.
    pub fn sign_bytes(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = TAG_TRADER_SIGN.to_vec();
        out.extend(codec::encode("message body", self)?);
        Ok(out)
    }

    /// Signs the body with the trader's key.
    pub fn sign(self, key: &SigningKey) -> Result<SignedMessage, CodecError> {
        let signature = key.sign(&self.sign_bytes()?);
        Ok(SignedMessage {
            body: self,
            signature,
        })
    }
}

/// A body with the trader's signature: what a trader submits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedMessage {
    /// What was signed.
    pub body: MessageBody,
    /// The sender's signature over [`MessageBody::sign_bytes`].
    pub signature: Signature,
}

/// Limits a chain or relay applies to envelopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest payload, bytes.
    pub max_payload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }
}

/// Why an envelope was refused. Names the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// Unknown envelope version.
    #[error("version {0} is not supported (expected {VERSION})")]
    Version(u16),
    /// Source and destination are the same chain.
    #[error("source and destination are both {0}")]
    SameChain(ChainId),
    /// Payload over the limit.
    #[error("payload is {len} bytes, over the limit of {max}")]
    PayloadTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `payload_hash` is not the SHA3-256 of the payload.
    #[error("payload_hash {claimed} does not match the payload (SHA3-256 {actual})")]
    PayloadHashMismatch {
        /// The hash in the body.
        claimed: Hash32,
        /// The payload's hash.
        actual: Hash32,
    },
    /// The payload is not canonical CBOR of a map with text keys.
    #[error("payload is not a canonical CBOR map: {0}")]
    PayloadNotCanonical(String),
    /// A document field is missing or malformed.
    #[error(transparent)]
    Document(#[from] crate::documents::DocumentError),
    /// The trader's signature does not verify.
    #[error("signature does not verify under sender key {0}")]
    BadSignature(PublicKey),
    /// The deadline passed before delivery.
    #[error("deadline {deadline:?} passed (destination at height {height}, time {time})")]
    Expired {
        /// The deadline.
        deadline: Deadline,
        /// Destination height at the check.
        height: Height,
        /// Destination time at the check.
        time: Time,
    },
    /// Encoding failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

impl SignedMessage {
    /// The id that makes submission idempotent: tagged hash of the signed body.
    pub fn id(&self) -> Result<Hash32, CodecError> {
        Ok(hash::tagged(
            b"corridor/message-id/v1\0",
            &self.body.sign_bytes()?,
        ))
    }

    /// Checks everything that does not depend on chain state: version, chains, payload
    /// size, hash and form, the kind's required fields, and the signature.
    pub fn validate(&self, limits: &Limits) -> Result<(), EnvelopeError> {
        let b = &self.body;
        if b.version != VERSION {
            return Err(EnvelopeError::Version(b.version));
        }
        if b.source_chain == b.destination_chain {
            return Err(EnvelopeError::SameChain(b.source_chain.clone()));
        }
        if b.payload.0.len() > limits.max_payload {
            return Err(EnvelopeError::PayloadTooLarge {
                len: b.payload.0.len(),
                max: limits.max_payload,
            });
        }
        let actual = hash::sha3(&b.payload.0);
        if actual != b.payload_hash {
            return Err(EnvelopeError::PayloadHashMismatch {
                claimed: b.payload_hash,
                actual,
            });
        }
        let doc = payload_value(&b.payload.0)?;
        crate::documents::validate(b.kind, &doc)?;
        if !b.sender.verify(&b.sign_bytes()?, &self.signature) {
            return Err(EnvelopeError::BadSignature(b.sender));
        }
        Ok(())
    }
}

/// The payload decoded, if it is canonical CBOR of a map with text keys.
fn payload_value(payload: &[u8]) -> Result<ciborium::Value, EnvelopeError> {
    let value: ciborium::Value = codec::decode("payload", payload)
        .map_err(|e| EnvelopeError::PayloadNotCanonical(e.to_string()))?;
    let ciborium::Value::Map(entries) = &value else {
        return Err(EnvelopeError::PayloadNotCanonical(
            "top level is not a map".into(),
        ));
    };
    if entries
        .iter()
        .any(|(k, _)| !matches!(k, ciborium::Value::Text(_)))
    {
        return Err(EnvelopeError::PayloadNotCanonical(
            "a map key is not text".into(),
        ));
    }
    Ok(value)
}

/// A signed message with the sequence number its source outbox assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeMessage {
    /// Sequence on the channel, from 1.
    pub sequence: u64,
    /// The trader's signed message.
    pub message: SignedMessage,
}

impl TradeMessage {
    /// Canonical CBOR.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec::encode("trade message", self)
    }

    /// Decodes canonical CBOR.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        codec::decode("trade message", bytes)
    }

    /// Leaf data committed in the messages root: tag || canonical CBOR.
    pub fn leaf(&self) -> Result<Vec<u8>, CodecError> {
        let mut out = TAG_MESSAGE.to_vec();
        out.extend(self.encode()?);
        Ok(out)
    }

    /// The commitment: SHA3-256 over the message tag and the canonical CBOR.
    pub fn commitment(&self) -> Result<Hash32, CodecError> {
        Ok(hash::tagged(TAG_MESSAGE, &self.encode()?))
    }

    /// Whether the deadline still allows delivery at destination `height` and `time`.
    pub fn check_deadline(&self, height: Height, time: Time) -> Result<(), EnvelopeError> {
        let deadline = self.message.body.deadline;
        let ok = match deadline {
            Deadline::Height(h) => height <= h,
            Deadline::Time(t) => time <= t,
        };
        if ok {
            Ok(())
        } else {
            Err(EnvelopeError::Expired {
                deadline,
                height,
                time,
            })
        }
    }
}

/// Encodes a JSON-like document as canonical CBOR (for tools and tests building payloads).
pub fn payload_from_json(doc: &serde_json::Value) -> Result<Payload, CodecError> {
    codec::encode("payload", doc).map(Payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn body(kind: DocumentKind, doc: serde_json::Value, key: &SigningKey) -> MessageBody {
        let payload = payload_from_json(&doc).unwrap();
        MessageBody {
            version: VERSION,
            source_chain: ChainId::new("cn-shanghai").unwrap(),
            destination_chain: ChainId::new("kz-astana").unwrap(),
            channel: 0,
            nonce: 1,
            sender: key.public_key(),
            receiver: SigningKey::from_seed([2; 32]).public_key(),
            kind,
            payload_hash: hash::sha3(&payload.0),
            payload,
            deadline: Deadline::Height(Height(100)),
        }
    }

    fn packing_list() -> serde_json::Value {
        crate::documents::examples::example(DocumentKind::PackingList)
    }

    #[test]
    fn valid_message_passes_and_round_trips() {
        let key = SigningKey::from_seed([1; 32]);
        let signed = body(DocumentKind::PackingList, packing_list(), &key)
            .sign(&key)
            .unwrap();
        signed.validate(&Limits::default()).unwrap();
        let msg = TradeMessage {
            sequence: 7,
            message: signed,
        };
        let bytes = msg.encode().unwrap();
        assert_eq!(TradeMessage::decode(&bytes).unwrap(), msg);
        assert_eq!(msg.commitment().unwrap(), hash::tagged(TAG_MESSAGE, &bytes));
    }

    #[test]
    fn each_rejection_names_its_field() {
        let key = SigningKey::from_seed([1; 32]);
        let good = body(DocumentKind::PackingList, packing_list(), &key);
        let limits = Limits::default();
        let check = |b: MessageBody| b.sign(&key).unwrap().validate(&limits);

        let mut b = good.clone();
        b.version = 2;
        assert_eq!(check(b), Err(EnvelopeError::Version(2)));

        let mut b = good.clone();
        b.destination_chain = b.source_chain.clone();
        assert!(matches!(check(b), Err(EnvelopeError::SameChain(_))));

        let mut b = good.clone();
        b.payload_hash = Hash32::ZERO;
        assert!(matches!(
            check(b),
            Err(EnvelopeError::PayloadHashMismatch { .. })
        ));

        let mut doc = packing_list();
        doc.as_object_mut().unwrap().remove("invoice_ref");
        let b = body(DocumentKind::PackingList, doc, &key);
        assert!(matches!(check(b), Err(EnvelopeError::Document(e)) if e.field == "invoice_ref"));

        let b = body(DocumentKind::Generic, serde_json::json!([1, 2]), &key);
        assert!(matches!(
            check(b),
            Err(EnvelopeError::PayloadNotCanonical(_))
        ));

        let big = serde_json::json!({ "blob": "x".repeat(DEFAULT_MAX_PAYLOAD) });
        let b = body(DocumentKind::Generic, big, &key);
        assert!(matches!(
            check(b),
            Err(EnvelopeError::PayloadTooLarge { .. })
        ));

        let mut signed = good.clone().sign(&key).unwrap();
        signed.body.nonce = 2;
        assert!(matches!(
            signed.validate(&limits),
            Err(EnvelopeError::BadSignature(_))
        ));
    }

    #[test]
    fn deadlines() {
        let key = SigningKey::from_seed([1; 32]);
        let signed = body(DocumentKind::Generic, serde_json::json!({}), &key)
            .sign(&key)
            .unwrap();
        let msg = TradeMessage {
            sequence: 1,
            message: signed,
        };
        assert!(msg.check_deadline(Height(100), Time::EPOCH).is_ok());
        assert!(matches!(
            msg.check_deadline(Height(101), Time::EPOCH),
            Err(EnvelopeError::Expired { .. })
        ));
    }

    fn message(kind: DocumentKind, doc: serde_json::Value, sequence: u64) -> TradeMessage {
        let key = SigningKey::from_seed([1; 32]);
        TradeMessage {
            sequence,
            message: body(kind, doc, &key).sign(&key).unwrap(),
        }
    }

    /// A `Generic` payload `{"blob": "xx…"}` whose canonical CBOR is exactly `len` bytes.
    fn payload_of_len(len: usize) -> serde_json::Value {
        let doc = |n: usize| serde_json::json!({ "blob": "x".repeat(n) });
        // Text of 256 to 65535 bytes has a 3-byte header, so the size grows one for one.
        let base = payload_from_json(&doc(1000)).unwrap().0.len();
        let n = 1000 + len - base;
        let out = doc(n);
        assert_eq!(payload_from_json(&out).unwrap().0.len(), len);
        out
    }

    #[test]
    fn payload_limit_holds_at_exactly_the_limit_and_refuses_one_byte_over() {
        let key = SigningKey::from_seed([1; 32]);
        let check = |len: usize, limits: &Limits| {
            body(DocumentKind::Generic, payload_of_len(len), &key)
                .sign(&key)
                .unwrap()
                .validate(limits)
        };
        // The default limit is 64 KiB.
        let limits = Limits::default();
        assert_eq!(check(64 * 1024, &limits), Ok(()));
        assert_eq!(
            check(64 * 1024 + 1, &limits),
            Err(EnvelopeError::PayloadTooLarge {
                len: 64 * 1024 + 1,
                max: 64 * 1024
            })
        );
        // A chain's own limit, likewise.
        let limits = Limits { max_payload: 2000 };
        assert_eq!(check(2000, &limits), Ok(()));
        let err = check(2001, &limits).unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::PayloadTooLarge {
                len: 2001,
                max: 2000
            }
        );
        assert_eq!(
            err.to_string(),
            "payload is 2001 bytes, over the limit of 2000"
        );
    }

    #[test]
    fn deadline_by_height_allows_its_own_block_and_not_one_more() {
        let msg = message(DocumentKind::Generic, serde_json::json!({}), 1);
        let deadline = Deadline::Height(Height(100));
        assert_eq!(msg.message.body.deadline, deadline);
        let far = Time::from_unix_nanos(u64::MAX);
        assert_eq!(msg.check_deadline(Height(1), far), Ok(()));
        assert_eq!(msg.check_deadline(Height(99), far), Ok(()));
        assert_eq!(msg.check_deadline(Height(100), far), Ok(()));
        assert_eq!(
            msg.check_deadline(Height(101), Time::EPOCH),
            Err(EnvelopeError::Expired {
                deadline,
                height: Height(101),
                time: Time::EPOCH
            })
        );
    }

    #[test]
    fn deadline_by_time_allows_its_own_nanosecond_and_not_one_more() {
        let mut msg = message(DocumentKind::Generic, serde_json::json!({}), 1);
        let t = Time::from_unix_nanos(1_700_000_000_000_000_000);
        let deadline = Deadline::Time(t);
        msg.message.body.deadline = deadline;
        let before = Time::from_unix_nanos(t.unix_nanos() - 1);
        let after = Time::from_unix_nanos(t.unix_nanos() + 1);
        // The height does not matter for a time deadline.
        assert_eq!(msg.check_deadline(Height(u64::MAX), Time::EPOCH), Ok(()));
        assert_eq!(msg.check_deadline(Height(u64::MAX), before), Ok(()));
        assert_eq!(msg.check_deadline(Height(u64::MAX), t), Ok(()));
        assert_eq!(
            msg.check_deadline(Height(1), after),
            Err(EnvelopeError::Expired {
                deadline,
                height: Height(1),
                time: after
            })
        );
    }

    /// Every way of changing one field of a message, each named for its field.
    fn each_field_changed(msg: &TradeMessage) -> Vec<(&'static str, TradeMessage)> {
        let change = |f: &dyn Fn(&mut TradeMessage)| {
            let mut m = msg.clone();
            f(&mut m);
            m
        };
        let other = SigningKey::from_seed([9; 32]).public_key();
        let payload = payload_from_json(&serde_json::json!({ "note": "other" })).unwrap();
        vec![
            ("sequence", change(&|m| m.sequence += 1)),
            ("version", change(&|m| m.message.body.version += 1)),
            (
                "source_chain",
                change(&|m| m.message.body.source_chain = ChainId::new("vn-hanoi").unwrap()),
            ),
            (
                "destination_chain",
                change(&|m| m.message.body.destination_chain = ChainId::new("vn-hanoi").unwrap()),
            ),
            ("channel", change(&|m| m.message.body.channel += 1)),
            ("nonce", change(&|m| m.message.body.nonce += 1)),
            ("sender", change(&|m| m.message.body.sender = other)),
            ("receiver", change(&|m| m.message.body.receiver = other)),
            (
                "kind",
                change(&|m| m.message.body.kind = DocumentKind::PackingList),
            ),
            (
                "payload",
                change(&|m| m.message.body.payload = payload.clone()),
            ),
            (
                "payload_hash",
                change(&|m| m.message.body.payload_hash.0[0] ^= 1),
            ),
            (
                "deadline",
                change(&|m| m.message.body.deadline = Deadline::Height(Height(101))),
            ),
            (
                "deadline kind",
                change(&|m| m.message.body.deadline = Deadline::Time(Time::from_unix_nanos(100))),
            ),
            ("signature", change(&|m| m.message.signature.0[0] ^= 1)),
        ]
    }

    #[test]
    fn leaf_is_the_tagged_canonical_message_and_hashes_to_the_commitment() {
        let msg = message(DocumentKind::Generic, serde_json::json!({ "note": "n" }), 7);
        let leaf = msg.leaf().unwrap();
        let body = leaf.strip_prefix(TAG_MESSAGE).unwrap();
        assert_eq!(TradeMessage::decode(body).unwrap(), msg);
        assert_eq!(hash::sha3(&leaf), msg.commitment().unwrap());
    }

    #[test]
    fn leaf_commitment_and_id_are_bound_to_every_field() {
        let msg = message(DocumentKind::Generic, serde_json::json!({ "note": "n" }), 7);
        let (leaf, commitment, id) = (
            msg.leaf().unwrap(),
            msg.commitment().unwrap(),
            msg.message.id().unwrap(),
        );
        assert_eq!(
            msg.clone().leaf().unwrap(),
            leaf,
            "the leaf is deterministic"
        );
        assert_eq!(
            msg.message.clone().id().unwrap(),
            id,
            "the id is deterministic"
        );
        let mut leaves = std::collections::BTreeSet::from([leaf]);
        let mut ids = std::collections::BTreeSet::from([id]);
        for (field, changed) in each_field_changed(&msg) {
            assert!(
                leaves.insert(changed.leaf().unwrap()),
                "leaf ignores {field}"
            );
            assert_ne!(
                changed.commitment().unwrap(),
                commitment,
                "commitment ignores {field}"
            );
            // The id covers what the trader signed: not the sequence the outbox assigns,
            // nor the signature, so a resubmission is recognised whatever it is signed with.
            let new_id = changed.message.id().unwrap();
            if matches!(field, "sequence" | "signature") {
                assert_eq!(new_id, id, "id depends on {field}");
            } else {
                assert!(ids.insert(new_id), "id ignores {field}");
            }
        }
    }

    #[test]
    fn kind_names_are_the_wire_names_and_display() {
        let mut names = std::collections::BTreeSet::new();
        for kind in DocumentKind::ALL {
            let name = kind.as_str();
            assert!(names.insert(name), "{name} twice");
            assert_eq!(kind.to_string(), name);
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(name.into())
            );
            let parsed: DocumentKind = serde_json::from_value(name.into()).unwrap();
            assert_eq!(parsed, kind);
        }
        assert_eq!(DocumentKind::BillOfLading.as_str(), "bill_of_lading");
        assert_eq!(DocumentKind::Generic.to_string(), "generic");
    }

    #[test]
    fn required_fields_are_exactly_the_fields_a_kind_cannot_do_without() {
        for kind in DocumentKind::ALL {
            let example = crate::documents::examples::example(kind);
            let required = kind.required_fields();
            assert_eq!(required.is_empty(), kind == DocumentKind::Generic, "{kind}");
            for field in example.as_object().unwrap().keys() {
                let mut doc = example.clone();
                doc.as_object_mut().unwrap().remove(field);
                let value = payload_value(&payload_from_json(&doc).unwrap().0).unwrap();
                let result = crate::documents::validate(kind, &value);
                if required.contains(&field.as_str()) {
                    assert_eq!(result.unwrap_err().field, *field, "{kind}");
                } else if let Err(e) = result {
                    // An optional field may still enter a cross-check (an invoice's
                    // `charges` add to its `grand_total`), but is never reported missing.
                    assert_ne!(e.field, *field, "{kind}: {field} is not required");
                }
            }
            for field in required {
                assert!(example.get(field).is_some(), "{kind} example lacks {field}");
            }
        }
    }

    #[test]
    fn payload_debug_shows_the_size_and_never_the_contents() {
        let payload = Payload(b"secret terms".to_vec());
        let text = format!("{payload:?}");
        assert_eq!(text, "Payload(12 bytes)");
        let msg = message(
            DocumentKind::Generic,
            serde_json::json!({ "note": "secret" }),
            1,
        );
        assert!(!format!("{msg:?}").contains("secret"));
    }

    #[test]
    fn payload_decodes_from_bytes_and_from_text_to_what_was_encoded() {
        let payload = Payload(vec![0, 1, 0xab, 0xff]);
        // Binary formats carry the bytes, read back whole or through a borrowed slice.
        let cbor = codec::encode("payload", &payload).unwrap();
        assert_eq!(cbor, [0x44, 0, 1, 0xab, 0xff]);
        assert_eq!(codec::decode::<Payload>("payload", &cbor).unwrap(), payload);
        let value = ciborium::Value::Bytes(payload.0.clone());
        assert_eq!(value.deserialized::<Payload>().unwrap(), payload);
        // Text formats carry hex.
        let json = serde_json::to_string(&payload).unwrap();
        assert_eq!(json, "\"0001abff\"");
        assert_eq!(serde_json::from_str::<Payload>(&json).unwrap(), payload);
        // And so does a whole message.
        let msg = message(DocumentKind::PackingList, packing_list(), 3);
        let text = serde_json::to_string(&msg).unwrap();
        assert_eq!(serde_json::from_str::<TradeMessage>(&text).unwrap(), msg);
        // An empty payload stays empty, and is not mistaken for anything else.
        assert_eq!(
            serde_json::from_str::<Payload>("\"\"").unwrap(),
            Payload::default()
        );
    }

    #[test]
    fn payload_refusals_say_what_was_expected() {
        let err = serde_json::from_str::<Payload>("\"0g\"").unwrap_err();
        assert!(err.to_string().starts_with("bad hex:"), "{err}");
        let err = serde_json::from_str::<Payload>("5").unwrap_err();
        assert!(
            err.to_string().contains("expected payload bytes or hex"),
            "{err}"
        );
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config(256))]

        #[test]
        fn payload_round_trips_through_bytes_and_text(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let payload = Payload(bytes);
            let cbor = codec::encode("payload", &payload).unwrap();
            prop_assert_eq!(&codec::decode::<Payload>("payload", &cbor).unwrap(), &payload);
            let value = ciborium::Value::Bytes(payload.0.clone());
            prop_assert_eq!(&value.deserialized::<Payload>().unwrap(), &payload);
            let json = serde_json::to_string(&payload).unwrap();
            prop_assert_eq!(&serde_json::from_str::<Payload>(&json).unwrap(), &payload);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = TradeMessage::decode(&bytes);
            let _ = crate::native::LightBlock::decode(&bytes);
            let _ = payload_value(&bytes);
        }

        #[test]
        fn message_round_trips(nonce: u64, channel: u32, seq: u64, text in ".{0,64}", h: u64) {
            let key = SigningKey::from_seed([3; 32]);
            let mut b = body(DocumentKind::Generic, serde_json::json!({ "note": text }), &key);
            b.nonce = nonce;
            b.channel = channel;
            b.deadline = Deadline::Height(Height(h));
            let msg = TradeMessage { sequence: seq, message: b.sign(&key).unwrap() };
            let bytes = msg.encode().unwrap();
            prop_assert_eq!(TradeMessage::decode(&bytes).unwrap(), msg);
        }
    }
}
