//! What the API keeps in the store, in [`Column::Meta`] under `api/`, and the indexer that
//! keeps it in step with the core.
//!
//! | key | value |
//! |---|---|
//! | `api/msg/<id>` | [`MessageRecord`] (CBOR) |
//! | `api/seq/<lane key>/<sequence, 8 bytes BE>` | the message id (32 bytes) |
//! | `api/time/<seen at, 8 bytes BE><id>` | empty: the list order |
//! | `api/party/<sender or receiver key><seen at, 8 bytes BE><id>` | empty: each party's list, in the same order |
//! | `api/ev/<event number, 8 bytes BE>` | [`EventRecord`] (CBOR), the last [`ApiLimits::event_log`] kept |
//!
//! The core records a message's stages in its audit column and tells the API through
//! [`super::StageEvent`]s. The indexer maps each (lane, sequence) to its message id: for a
//! message submitted here the submission wrote the mapping; for one this relay only sees
//! pass (committed elsewhere, addressed to a trader here) it reads the core's open entry.
//! It copies what the core later drops (the committed height and inclusion proof, the
//! receipt's height and proof) into the message's record, and appends one event per new
//! stage to the event log that the SSE streams replay. Events missed while the broadcast
//! lagged, and audit records written while the API was not running, are picked up by a
//! scan of the audit column ([`Writer::catch_up`]).
//!
//! Every change goes through the one [`Writer`] (a mutex): compute, one synced batch,
//! then tell the streams.
//!
//! [`ApiLimits::event_log`]: super::ApiLimits::event_log

use std::sync::Arc;

use corridor_light_client::envelope::{SignedMessage, TradeMessage};
use corridor_light_client::native::NativeVerifier;
use corridor_light_client::receipt::ReceiptResult;
use corridor_light_client::signature::PublicKey;
use corridor_light_client::{Hash32, Height, Time};
use corridor_relay_core::core::{stored_inbound, stored_outbound, AuditRecord, Stage, StoredEntry};
use corridor_relay_core::store::{Column, Store, WriteBatch};
use corridor_relay_core::wire::Lane;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::error::ApiError;
use super::model::Status;

const MSG: &[u8] = b"api/msg/";
const SEQ: &[u8] = b"api/seq/";
const TIME: &[u8] = b"api/time/";
const EV: &[u8] = b"api/ev/";
const PARTY: &[u8] = b"api/party/";
/// Set once every record has its party entries (stores written before they existed get
/// them when the writer opens).
const PARTY_INDEXED: &[u8] = b"api/party-indexed";

/// A block height and the proof of something under that block's root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchored {
    /// The height.
    pub height: Height,
    /// The proof, as JSON text.
    pub proof: String,
}

/// Everything the API knows of one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Its id.
    pub id: Hash32,
    /// The message with its sequence.
    pub message: TradeMessage,
    /// When this relay first saw it (submitted here, or its first stage).
    pub seen_at: Time,
    /// When it was submitted through this API.
    pub submitted_at: Option<Time>,
    /// The source block that committed it, with the inclusion proof.
    pub committed: Option<Anchored>,
    /// The destination block of its receipt, with the receipt's proof.
    pub receipt: Option<Anchored>,
    /// The receipt's result, once known.
    pub result: Option<ReceiptResult>,
    /// Audit records (their stage byte) already turned into events.
    pub stages: Vec<u8>,
}

/// One entry of the event log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The event number.
    pub number: u64,
    /// The message.
    pub id: Hash32,
    /// `submitted` or a core stage name.
    pub stage: String,
    /// The status after it.
    pub status: Status,
    /// When.
    pub at: Time,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Records are plain data (no maps with non-string keys): encoding cannot fail.
    ciborium::into_writer(value, &mut out).unwrap_or_default();
    out
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, ApiError> {
    ciborium::from_reader(bytes).map_err(|e| ApiError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

fn key(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(rest);
    k
}

fn seq_key(lane: &Lane, sequence: u64) -> Vec<u8> {
    let mut k = key(SEQ, lane.key().as_bytes());
    k.push(b'/');
    k.extend_from_slice(&sequence.to_be_bytes());
    k
}

/// The byte the core's audit key ends with for `stage` (its lifecycle order).
fn stage_byte(stage: &Stage) -> u8 {
    match stage {
        Stage::Committed => 1,
        Stage::Forwarded => 2,
        Stage::Received => 3,
        Stage::Delivered(_) => 4,
        Stage::Acknowledged(_) => 5,
    }
}

/// Reads of the API's records.
#[derive(Clone)]
pub struct Records {
    store: Arc<dyn Store>,
}

impl Records {
    /// Over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The record of message `id`.
    pub fn message(&self, id: &Hash32) -> Result<Option<MessageRecord>, ApiError> {
        let k = key(MSG, id.as_bytes());
        match self.store.get(Column::Meta, &k)? {
            Some(bytes) => decode(&k, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// At most `limit` message ids in the order first seen, each with its list position
    /// (the time first seen, then the id: what a list cursor names), after the position
    /// `after`: every message for the operator (`reader` `None`), only those a trader
    /// sent or receives for that trader.
    pub fn ids_after(
        &self,
        reader: Option<&PublicKey>,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Hash32)>, ApiError> {
        let prefix = match reader {
            None => TIME.to_vec(),
            Some(party) => key(PARTY, party.as_bytes()),
        };
        let after = after.map(|a| key(&prefix, a));
        let mut out = Vec::new();
        for (k, _) in self
            .store
            .scan_after(Column::Meta, &prefix, after.as_deref(), limit)?
        {
            let rest = &k[prefix.len()..];
            let Some(id) = rest.get(8..).and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
                return Err(ApiError::Corrupt {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    reason: "not a list key".into(),
                });
            };
            out.push((rest.to_vec(), Hash32(id)));
        }
        Ok(out)
    }

    /// The message's audit records, in lifecycle order.
    pub fn audit(&self, lane: &Lane, sequence: u64) -> Result<Vec<AuditRecord>, ApiError> {
        let prefix = AuditRecord::prefix(lane, sequence);
        let mut out = Vec::new();
        for (k, v) in self.store.scan(Column::Audit, &prefix)? {
            // The prefix of (lane, 1) is also one of no other entry: the sequence is fixed
            // width, so only the stage byte follows it.
            if k.len() != prefix.len() + 1 {
                continue;
            }
            let record = AuditRecord::decode(&v).ok_or_else(|| ApiError::Corrupt {
                key: String::from_utf8_lossy(&k).into_owned(),
                reason: "not an audit record".into(),
            })?;
            out.push(record);
        }
        Ok(out)
    }

    /// The message's status from its audit records.
    pub fn status(&self, record: &MessageRecord) -> Result<Status, ApiError> {
        let lane = Lane::of(&record.message);
        let audit = self.audit(&lane, record.message.sequence)?;
        Ok(status_of(&audit))
    }

    /// Events after `after`, oldest first, at most `limit`.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>, ApiError> {
        let mut out = Vec::new();
        for (k, v) in self.store.scan(Column::Meta, EV)? {
            let Some(n) = k[EV.len()..].try_into().ok().map(u64::from_be_bytes) else {
                continue;
            };
            if n > after {
                out.push(decode(&k, &v)?);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// The status that a message's audit records give it.
pub fn status_of(audit: &[AuditRecord]) -> Status {
    audit
        .iter()
        .map(|r| Status::of_stage(&r.stage))
        .max_by_key(|s| rank(*s))
        .unwrap_or(Status::Submitted)
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Submitted => 0,
        Status::Committed => 1,
        Status::Forwarded => 2,
        Status::Delivered => 3,
        Status::Acknowledged | Status::Rejected | Status::TimedOut => 4,
    }
}

/// The one writer of the API's records and event log.
pub struct Writer {
    store: Arc<dyn Store>,
    records: Records,
    next_event: u64,
    keep_events: u64,
    feed: broadcast::Sender<EventRecord>,
}

impl Writer {
    /// Over `store`, numbering events after the last one stored; keeps the last
    /// `keep_events` events and tells `feed` about new ones.
    pub fn new(
        store: Arc<dyn Store>,
        keep_events: u64,
        feed: broadcast::Sender<EventRecord>,
    ) -> Result<Self, ApiError> {
        let records = Records::new(store.clone());
        let last = store
            .scan(Column::Meta, EV)?
            .last()
            .and_then(|(k, _)| k[EV.len()..].try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0);
        if store.get(Column::Meta, PARTY_INDEXED)?.is_none() {
            let mut batch = WriteBatch::default();
            for (k, v) in store.scan(Column::Meta, MSG)? {
                let record: MessageRecord = decode(&k, &v)?;
                Self::put_parties(&mut batch, &record);
            }
            batch.put(Column::Meta, PARTY_INDEXED.to_vec(), Vec::new());
            store.write(&batch)?;
        }
        Ok(Self {
            store,
            records,
            next_event: last.saturating_add(1),
            keep_events: keep_events.max(1),
            feed,
        })
    }

    fn push_event(&mut self, batch: &mut WriteBatch, event: &mut EventRecord) {
        event.number = self.next_event;
        self.next_event = self.next_event.saturating_add(1);
        batch.put(
            Column::Meta,
            key(EV, &event.number.to_be_bytes()),
            encode(event),
        );
        if let Some(old) = event.number.checked_sub(self.keep_events) {
            batch.delete(Column::Meta, key(EV, &old.to_be_bytes()));
        }
    }

    fn put_record(batch: &mut WriteBatch, record: &MessageRecord, new: bool) {
        batch.put(Column::Meta, key(MSG, record.id.as_bytes()), encode(record));
        if new {
            let lane = Lane::of(&record.message);
            batch.put(
                Column::Meta,
                seq_key(&lane, record.message.sequence),
                record.id.as_bytes().to_vec(),
            );
            batch.put(Column::Meta, key(TIME, &list_position(record)), Vec::new());
            Self::put_parties(batch, record);
        }
    }

    /// The entries of `record` in its sender's and receiver's lists.
    fn put_parties(batch: &mut WriteBatch, record: &MessageRecord) {
        let body = &record.message.message.body;
        let position = list_position(record);
        for party in [body.sender, body.receiver] {
            let mut k = key(PARTY, party.as_bytes());
            k.extend_from_slice(&position);
            batch.put(Column::Meta, k, Vec::new());
        }
    }

    /// Records a message the source chain took from this API; returns its record and
    /// whether it had been submitted here before.
    pub fn submitted(
        &mut self,
        id: Hash32,
        message: SignedMessage,
        sequence: u64,
        now: Time,
    ) -> Result<(MessageRecord, bool), ApiError> {
        if let Some(mut record) = self.records.message(&id)? {
            if record.submitted_at.is_some() {
                return Ok((record, true));
            }
            // The core saw it committed before the submission's answer came back.
            record.submitted_at = Some(now);
            let mut batch = WriteBatch::default();
            Self::put_record(&mut batch, &record, false);
            self.store.write(&batch)?;
            return Ok((record, false));
        }
        let record = MessageRecord {
            id,
            message: TradeMessage { sequence, message },
            seen_at: now,
            submitted_at: Some(now),
            committed: None,
            receipt: None,
            result: None,
            stages: Vec::new(),
        };
        let mut batch = WriteBatch::default();
        Self::put_record(&mut batch, &record, true);
        let mut event = EventRecord {
            number: 0,
            id,
            stage: "submitted".into(),
            status: Status::Submitted,
            at: now,
        };
        self.push_event(&mut batch, &mut event);
        self.store.write(&batch)?;
        let _ = self.feed.send(event);
        Ok((record, false))
    }

    /// Takes one stage the core recorded: finds the message (in the store, or in `entry`,
    /// the entry the event carried when the store no longer has it), copies what the core
    /// will drop, and appends an event if the stage is new to the API.
    pub fn stage(
        &mut self,
        audit: &AuditRecord,
        entry: Option<&StoredEntry<NativeVerifier>>,
    ) -> Result<(), ApiError> {
        let lane = &audit.lane;
        let sequence = audit.sequence;
        let stored_id = self.store.get(Column::Meta, &seq_key(lane, sequence))?;
        let existing = match stored_id.and_then(|b| <[u8; 32]>::try_from(b).ok()) {
            Some(id) => self.records.message(&Hash32(id))?,
            None => None,
        };
        // A stage the API has already taken (a catch-up going over old audit records)
        // brings nothing new: what a later stage copies comes with that stage's own event.
        if existing
            .as_ref()
            .is_some_and(|r| r.stages.contains(&stage_byte(&audit.stage)))
        {
            return Ok(());
        }
        let outbound =
            stored_outbound::<NativeVerifier>(&*self.store, lane, sequence).map_err(|e| {
                ApiError::Corrupt {
                    key: format!("outbound {lane} #{sequence}"),
                    reason: e.to_string(),
                }
            })?;
        let inbound =
            stored_inbound::<NativeVerifier>(&*self.store, lane, sequence).map_err(|e| {
                ApiError::Corrupt {
                    key: format!("inbound {lane} #{sequence}"),
                    reason: e.to_string(),
                }
            })?;
        let (mut record, new) = match existing {
            Some(r) => (r, false),
            None => {
                let Some(entry) = outbound.as_ref().or(inbound.as_ref()).or(entry) else {
                    // Closed before the API saw it (the API was not running): the core
                    // keeps only its audit record, without the message.
                    tracing::debug!(%lane, sequence, "stage of a message no longer stored");
                    return Ok(());
                };
                let id = entry.message.message.id().map_err(|e| ApiError::Corrupt {
                    key: format!("entry {lane} #{sequence}"),
                    reason: e.to_string(),
                })?;
                let record = MessageRecord {
                    id,
                    message: entry.message.clone(),
                    seen_at: audit.at,
                    submitted_at: None,
                    committed: None,
                    receipt: None,
                    result: None,
                    stages: Vec::new(),
                };
                (record, true)
            }
        };
        let before = record.clone();
        if record.committed.is_none() {
            if let Some(e) = outbound.as_ref().or(inbound.as_ref()).or(entry) {
                record.committed = Some(Anchored {
                    height: e.height,
                    proof: proof_json(&e.proof),
                });
            }
        }
        if record.receipt.is_none() {
            let receipt = inbound.as_ref().or(entry).and_then(|e| e.receipt.as_ref());
            if let Some(r) = receipt {
                record.receipt = Some(Anchored {
                    height: r.height,
                    proof: proof_json(&r.proof),
                });
            }
        }
        if let Stage::Delivered(result) | Stage::Acknowledged(result) = &audit.stage {
            record.result = Some(result.clone());
        }
        let byte = stage_byte(&audit.stage);
        let fresh = !record.stages.contains(&byte);
        if fresh {
            record.stages.push(byte);
            record.stages.sort_unstable();
        }
        if record == before && !new {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        Self::put_record(&mut batch, &record, new);
        let mut event = None;
        if fresh {
            let audit_now = self.records.audit(lane, sequence)?;
            let mut e = EventRecord {
                number: 0,
                id: record.id,
                stage: audit.stage.name().into(),
                status: status_of(&audit_now),
                at: audit.at,
            };
            self.push_event(&mut batch, &mut e);
            event = Some(e);
        }
        self.store.write(&batch)?;
        if let Some(e) = event {
            let _ = self.feed.send(e);
        }
        Ok(())
    }

    /// Takes every audit record of the store (after a lag, or at start).
    pub fn catch_up(&mut self) -> Result<(), ApiError> {
        for (k, v) in self.store.scan(Column::Audit, b"")? {
            let Some(audit) = AuditRecord::decode(&v) else {
                tracing::warn!(key = %String::from_utf8_lossy(&k), "audit record does not decode");
                continue;
            };
            self.stage(&audit, None)?;
        }
        Ok(())
    }
}

/// Where a record stands in the lists: when it was first seen, then its id.
fn list_position(record: &MessageRecord) -> Vec<u8> {
    let mut t = record.seen_at.unix_nanos().to_be_bytes().to_vec();
    t.extend_from_slice(record.id.as_bytes());
    t
}

/// A proof as JSON text (proofs are plain data: they always serialise).
fn proof_json<T: Serialize>(proof: &T) -> String {
    serde_json::to_string(proof).unwrap_or_default()
}
