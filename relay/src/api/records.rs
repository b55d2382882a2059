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
//! | `api/stages/<id>` | the record's stages and result (CBOR), rewritten alone by most stages |
//! | `api/settled/<lane key>` | sequence S (8 bytes BE): every message of the lane up to S has its last stage indexed |
//!
//! The core records a message's stages in its audit column and tells the API through
//! [`super::StageEvent`]s. The indexer maps each (lane, sequence) to its message id: for a
//! message submitted here the submission wrote the mapping; for one this relay only sees
//! pass (committed elsewhere, addressed to a trader here) it reads the core's open entry.
//! It copies what the core later drops (the committed height and inclusion proof, the
//! receipt's height and proof) into the message's record, and appends one event per new
//! stage to the event log that the SSE streams replay. Events missed while the broadcast
//! lagged, and audit records written while the API was not running, are picked up by a
//! scan of the audit column ([`Writer::catch_up`]), each lane from its settled watermark on:
//! a catch-up reads what is still moving, not the relay's whole history.
//!
//! Every change goes through the one [`Writer`] (a mutex): compute, one synced batch,
//! then tell the streams. Stages that wait together are taken together
//! ([`Writer::stages`]): one synced batch for all of them, each stage reading the records as
//! the stages before it in the batch left them.
//!
//! [`ApiLimits::event_log`]: super::ApiLimits::event_log

use std::collections::HashMap;
use std::sync::Arc;

use corridor_light_client::any::{AnyFamily, AnyLeafProof};
use corridor_light_client::envelope::{SignedMessage, TradeMessage};
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
/// A record's stages and result, apart from the rest of it: a stage that changes nothing
/// else rewrites this small value, not the whole record (see [`Writer::put_record`]).
const STAGES: &[u8] = b"api/stages/";
/// Per lane, the sequence up to which every message has its last stage indexed.
const SETTLED: &[u8] = b"api/settled/";
/// Most acknowledged sequences above a lane's watermark that the writer remembers (beyond,
/// the watermark just waits: it stays a sure lower bound).
const SETTLED_AHEAD: usize = 65_536;
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

/// The part of a [`MessageRecord`] that most stages change.
#[derive(Serialize, Deserialize)]
struct StageState {
    stages: Vec<u8>,
    result: Option<ReceiptResult>,
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

    /// The record of message `id`: its `api/msg/` value, with the stages and result of its
    /// `api/stages/` value where there is one (stores written before it existed have none).
    pub fn message(&self, id: &Hash32) -> Result<Option<MessageRecord>, ApiError> {
        let stages = self.stages(id)?;
        self.message_with(id, stages)
    }

    /// The `api/stages/` value of message `id`, if it has one.
    fn stages(&self, id: &Hash32) -> Result<Option<StageState>, ApiError> {
        let k = key(STAGES, id.as_bytes());
        match self.store.get(Column::Meta, &k)? {
            Some(bytes) => decode(&k, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The record of message `id` with `stages` (its `api/stages/` value, already read).
    fn message_with(
        &self,
        id: &Hash32,
        stages: Option<StageState>,
    ) -> Result<Option<MessageRecord>, ApiError> {
        let k = key(MSG, id.as_bytes());
        let Some(bytes) = self.store.get(Column::Meta, &k)? else {
            return Ok(None);
        };
        let mut record: MessageRecord = decode(&k, &bytes)?;
        if let Some(stages) = stages {
            record.stages = stages.stages;
            record.result = stages.result;
        }
        Ok(Some(record))
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

    /// The message's audit records whose stages its record has taken, in lifecycle order:
    /// what the API shows of a message. The core writes an audit record before the indexer
    /// takes its stage (and copies what the stage brings, such as the receipt's block and
    /// proof, into the record), so a stage is shown only once the record has it: a view
    /// never says `acknowledged` before it can show the receipt that came with it.
    pub fn taken_audit(&self, record: &MessageRecord) -> Result<Vec<AuditRecord>, ApiError> {
        let lane = Lane::of(&record.message);
        let mut audit = self.audit(&lane, record.message.sequence)?;
        audit.retain(|a| record.stages.contains(&stage_byte(&a.stage)));
        Ok(audit)
    }

    /// The message's status from the audit records its record has taken.
    pub fn status(&self, record: &MessageRecord) -> Result<Status, ApiError> {
        Ok(status_of(&self.taken_audit(record)?))
    }

    /// Events after `after`, oldest first, at most `limit`.
    ///
    /// Reads only those: event keys sort by number, so the scan starts past `after`.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>, ApiError> {
        let from = key(EV, &after.to_be_bytes());
        let mut out = Vec::new();
        for (k, v) in self
            .store
            .scan_after(Column::Meta, EV, Some(&from), limit)?
        {
            out.push(decode(&k, &v)?);
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

/// The status that the stages the API has taken of `record` (its `stages`, with its
/// `result`) give it: [`status_of`] over those stages.
fn status_of_record(record: &MessageRecord) -> Status {
    let result = record.result.clone().unwrap_or(ReceiptResult::Delivered);
    record
        .stages
        .iter()
        .filter_map(|byte| {
            Some(match byte {
                1 => Stage::Committed,
                2 => Stage::Forwarded,
                3 => Stage::Received,
                4 => Stage::Delivered(result.clone()),
                5 => Stage::Acknowledged(result.clone()),
                _ => return None,
            })
        })
        .map(|stage| Status::of_stage(&stage))
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
    cache: RecordCache,
    /// Per lane key, as far as the writer has read or moved it.
    settled: HashMap<String, Settled>,
}

/// A lane's settled watermark ([`SETTLED`]) and the acknowledged sequences above it.
#[derive(Clone, Default)]
struct Settled {
    up_to: u64,
    above: std::collections::BTreeSet<u64>,
}

impl Settled {
    /// Takes acknowledged `sequence`, moving the watermark over what is now contiguous.
    fn take(&mut self, sequence: u64) {
        if sequence <= self.up_to {
            return;
        }
        if sequence == self.up_to.saturating_add(1) || self.above.len() < SETTLED_AHEAD {
            self.above.insert(sequence);
        }
        while self.above.remove(&self.up_to.saturating_add(1)) {
            self.up_to = self.up_to.saturating_add(1);
        }
    }
}

/// Most records [`RecordCache`] keeps.
const CACHED_RECORDS: usize = 4096;

/// The records the writer wrote last, by id, and their ids by (lane, sequence) key: what
/// the next stages of the same messages read, without reading and decoding the store. The
/// writer is the only one that writes records, and it puts a record here only once the
/// store has it, so what this holds is what the store holds.
#[derive(Default)]
struct RecordCache {
    records: HashMap<Hash32, MessageRecord>,
    ids: HashMap<Vec<u8>, Hash32>,
    /// Ids, oldest first: the first goes when the cache is full.
    order: std::collections::VecDeque<Hash32>,
}

impl RecordCache {
    fn put(&mut self, record: MessageRecord) {
        let id = record.id;
        let seq = seq_key(&Lane::of(&record.message), record.message.sequence);
        if self.records.insert(id, record).is_none() {
            self.ids.insert(seq, id);
            self.order.push_back(id);
        }
        while self.order.len() > CACHED_RECORDS {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(r) = self.records.remove(&old) {
                self.ids
                    .remove(&seq_key(&Lane::of(&r.message), r.message.sequence));
            }
        }
    }
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
            cache: RecordCache::default(),
            settled: HashMap::new(),
        })
    }

    /// The settled state of `lane_key`, read from the store the first time.
    fn settled_of(&mut self, lane_key: &str) -> Result<&mut Settled, ApiError> {
        if !self.settled.contains_key(lane_key) {
            let k = key(SETTLED, lane_key.as_bytes());
            let up_to = match self.store.get(Column::Meta, &k)? {
                Some(b) => {
                    u64::from_be_bytes(b.as_slice().try_into().map_err(|_| ApiError::Corrupt {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        reason: format!("{} bytes, not 8", b.len()),
                    })?)
                }
                None => 0,
            };
            self.settled.insert(
                lane_key.to_owned(),
                Settled {
                    up_to,
                    above: Default::default(),
                },
            );
        }
        Ok(self.settled.entry(lane_key.to_owned()).or_default())
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

    /// Writes `record`: its stages and result always, the rest only when `whole` (a stage
    /// that moves the record on without changing anything else writes a few bytes, not the
    /// message and its proofs again).
    fn put_record(batch: &mut WriteBatch, record: &MessageRecord, new: bool, whole: bool) {
        let stages = StageState {
            stages: record.stages.clone(),
            result: record.result.clone(),
        };
        batch.put(
            Column::Meta,
            key(STAGES, record.id.as_bytes()),
            encode(&stages),
        );
        if whole || new {
            batch.put(Column::Meta, key(MSG, record.id.as_bytes()), encode(record));
        }
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
            Self::put_record(&mut batch, &record, false, true);
            self.store.write(&batch)?;
            self.cache.put(record.clone());
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
        Self::put_record(&mut batch, &record, true, true);
        let mut event = EventRecord {
            number: 0,
            id,
            stage: "submitted".into(),
            status: Status::Submitted,
            at: now,
        };
        self.push_event(&mut batch, &mut event);
        self.store.write(&batch)?;
        self.cache.put(record.clone());
        let _ = self.feed.send(event);
        Ok((record, false))
    }

    /// Takes stages the core recorded, in order, and writes what they change in one synced
    /// batch. A stage that cannot be indexed (a corrupt record) is logged and skipped; the
    /// others are written. For each stage: finds the message (in the store, or in `entry`,
    /// the entry the event carried), copies what the core will drop, and appends an event
    /// if the stage is new to the API.
    pub fn stages<'a>(
        &mut self,
        stages: impl IntoIterator<Item = (&'a AuditRecord, Option<&'a StoredEntry<AnyFamily>>)>,
    ) -> Result<(), ApiError> {
        let mut pending = Pending::default();
        for (audit, entry) in stages {
            match self.stage_into(&mut pending, audit, entry) {
                // The last stage, taken (or taken before, or of a message closed before
                // the API saw it): the message is settled for the catch-ups.
                Ok(()) if matches!(audit.stage, Stage::Acknowledged(_)) => {
                    pending.settled.push((audit.lane.key(), audit.sequence))
                }
                Ok(()) => {}
                Err(e) => tracing::error!(
                    lane = %audit.lane,
                    sequence = audit.sequence,
                    error = %e,
                    "trader API: indexing a stage failed"
                ),
            }
        }
        self.commit(pending)
    }

    /// Writes `pending` (one synced batch, with the lanes' watermarks it moves), then tells
    /// the streams of its events.
    fn commit(&mut self, mut pending: Pending) -> Result<(), ApiError> {
        let mut moved: HashMap<String, Settled> = HashMap::new();
        for (lane, sequence) in std::mem::take(&mut pending.settled) {
            if !moved.contains_key(&lane) {
                let state = self.settled_of(&lane)?.clone();
                moved.insert(lane.clone(), state);
            }
            if let Some(state) = moved.get_mut(&lane) {
                state.take(sequence);
            }
        }
        for (lane, state) in &moved {
            if self
                .settled
                .get(lane)
                .is_none_or(|s| s.up_to != state.up_to)
            {
                pending.batch.put(
                    Column::Meta,
                    key(SETTLED, lane.as_bytes()),
                    state.up_to.to_be_bytes().to_vec(),
                );
            }
        }
        if pending.batch.is_empty() {
            self.settled.extend(moved);
            return Ok(());
        }
        if let Err(e) = self.store.write(&pending.batch) {
            // Nothing was written: the numbers handed out go back, and the stages are
            // taken again by the next catch-up.
            self.next_event = pending.first_event;
            return Err(e.into());
        }
        for event in pending.events {
            let _ = self.feed.send(event);
        }
        for record in pending.records.into_values() {
            self.cache.put(record);
        }
        self.settled.extend(moved);
        Ok(())
    }

    /// The record of the message at (`lane`, `sequence`), as the batch being built leaves it.
    fn pending_record(
        &self,
        pending: &Pending,
        lane: &Lane,
        sequence: u64,
        stage: u8,
    ) -> Result<Known, ApiError> {
        let k = seq_key(lane, sequence);
        let id = match pending.ids.get(&k).or_else(|| self.cache.ids.get(&k)) {
            Some(id) => Some(*id),
            None => self
                .store
                .get(Column::Meta, &k)?
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(Hash32),
        };
        let Some(id) = id else {
            return Ok(Known::Record(None));
        };
        if let Some(record) = pending
            .records
            .get(&id)
            .or_else(|| self.cache.records.get(&id))
        {
            return Ok(Known::Record(Some(record.clone())));
        }
        // Not written lately: its stages alone say whether this one is taken (what a
        // catch-up mostly finds), before the whole record is read and decoded.
        let stages = self.records.stages(&id)?;
        if stages.as_ref().is_some_and(|s| s.stages.contains(&stage)) {
            return Ok(Known::Taken);
        }
        self.records.message_with(&id, stages).map(Known::Record)
    }

    /// Adds one stage's changes to `pending`; changes nothing when it fails.
    fn stage_into(
        &mut self,
        pending: &mut Pending,
        audit: &AuditRecord,
        entry: Option<&StoredEntry<AnyFamily>>,
    ) -> Result<(), ApiError> {
        let lane = &audit.lane;
        let sequence = audit.sequence;
        let byte = stage_byte(&audit.stage);
        // A stage the API has already taken (a catch-up going over old audit records)
        // brings nothing new: what a later stage copies comes with that stage's own event.
        let existing = match self.pending_record(pending, lane, sequence, byte)? {
            Known::Taken => return Ok(()),
            Known::Record(r) if r.as_ref().is_some_and(|r| r.stages.contains(&byte)) => {
                return Ok(())
            }
            Known::Record(r) => r,
        };
        // The entry the event carried is the stage's own side as the core left it; the
        // store is read only for stages without one (a catch-up).
        // Only what the record still lacks is read: its message and committing block (either
        // side's entry), its receipt (only an inbound entry has one).
        let lacks_commit = existing.as_ref().is_none_or(|r| r.committed.is_none());
        let lacks_receipt = existing.as_ref().is_none_or(|r| r.receipt.is_none());
        let (outbound, inbound) = match entry {
            Some(_) => (None, None),
            None => (
                if lacks_commit {
                    stored_outbound::<AnyFamily>(&*self.store, lane, sequence).map_err(|e| {
                        ApiError::Corrupt {
                            key: format!("outbound {lane} #{sequence}"),
                            reason: e.to_string(),
                        }
                    })?
                } else {
                    None
                },
                if lacks_commit || lacks_receipt {
                    stored_inbound::<AnyFamily>(&*self.store, lane, sequence).map_err(|e| {
                        ApiError::Corrupt {
                            key: format!("inbound {lane} #{sequence}"),
                            reason: e.to_string(),
                        }
                    })?
                } else {
                    None
                },
            ),
        };
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
        let fresh = !record.stages.contains(&byte);
        if fresh {
            record.stages.push(byte);
            record.stages.sort_unstable();
        }
        if record == before && !new {
            return Ok(());
        }
        // The status after this stage: from the stages the API has taken of the message,
        // this one included (not from the audit log, which may hold later stages of the
        // same group that the next events tell).
        let status = fresh.then(|| status_of_record(&record));
        let whole = record.committed != before.committed
            || record.receipt != before.receipt
            || record.submitted_at != before.submitted_at;
        Self::put_record(&mut pending.batch, &record, new, whole);
        if new {
            pending.ids.insert(seq_key(lane, sequence), record.id);
        }
        if let Some(status) = status {
            let mut e = EventRecord {
                number: 0,
                id: record.id,
                stage: audit.stage.name().into(),
                status,
                at: audit.at,
            };
            if pending.events.is_empty() {
                pending.first_event = self.next_event;
            }
            self.push_event(&mut pending.batch, &mut e);
            pending.events.push(e);
        }
        pending.records.insert(record.id, record);
        Ok(())
    }

    /// Takes the audit records of the store (after a lag, or at start) that may bring
    /// something new: each lane's from its settled watermark on, a page of
    /// 256 records at a time (one synced write each). However long the audit log, a
    /// catch-up holds one page of it and reads the messages still moving.
    pub fn catch_up(&mut self) -> Result<(), ApiError> {
        // Audit keys are `<lane key>/<sequence, 8 bytes><stage byte>`: the lane is what
        // comes before the last 10 bytes. The first key past a lane's last possible one
        // starts the next lane.
        let mut next_lane_after: Option<Vec<u8>> = None;
        loop {
            let first = self
                .store
                .scan_after(Column::Audit, b"", next_lane_after.as_deref(), 1)?;
            let Some((first_key, _)) = first.first() else {
                return Ok(());
            };
            let Some(lane_len) = first_key.len().checked_sub(10) else {
                tracing::warn!(key = %String::from_utf8_lossy(first_key), "audit key too short");
                let mut past = first_key.clone();
                past.push(0);
                next_lane_after = Some(past);
                continue;
            };
            let lane_key = String::from_utf8_lossy(&first_key[..lane_len]).into_owned();
            let mut prefix = first_key[..=lane_len].to_vec();
            let up_to = self.settled_of(&lane_key)?.up_to;
            let mut after = (up_to > 0).then(|| {
                let mut k = prefix.clone();
                k.extend_from_slice(&up_to.to_be_bytes());
                k.push(u8::MAX);
                k
            });
            loop {
                let page = self.store.scan_after(
                    Column::Audit,
                    &prefix,
                    after.as_deref(),
                    CATCH_UP_BATCH,
                )?;
                let records: Vec<AuditRecord> = page
                    .iter()
                    .filter_map(|(k, v)| {
                        let audit = AuditRecord::decode(v);
                        if audit.is_none() {
                            tracing::warn!(key = %String::from_utf8_lossy(k), "audit record does not decode");
                        }
                        audit
                    })
                    .collect();
                self.stages(records.iter().map(|a| (a, None)))?;
                match page.last() {
                    Some((last, _)) if page.len() == CATCH_UP_BATCH => after = Some(last.clone()),
                    _ => break,
                }
            }
            prefix.extend_from_slice(&[u8::MAX; 9]);
            next_lane_after = Some(prefix);
        }
    }
}

/// Audit records a catch-up reads per page, and takes per synced write.
const CATCH_UP_BATCH: usize = 256;

/// What the writer knows of the message a stage is of.
// A return value, moved once and never stored: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Known {
    /// Its record has the stage already.
    Taken,
    /// Its record as the batch being built leaves it, if it has one.
    Record(Option<MessageRecord>),
}

/// The changes of stages not yet written: the batch, and what reads must see of it.
#[derive(Default)]
struct Pending {
    batch: WriteBatch,
    /// `api/seq/` keys added, with their ids.
    ids: HashMap<Vec<u8>, Hash32>,
    /// Records written, as they will be.
    records: HashMap<Hash32, MessageRecord>,
    /// Events to tell the streams once written.
    events: Vec<EventRecord>,
    /// The number of the first of them.
    first_event: u64,
    /// (lane key, sequence) of messages whose last stage the batch takes.
    settled: Vec<(String, u64)>,
}

/// Where a record stands in the lists: when it was first seen, then its id.
fn list_position(record: &MessageRecord) -> Vec<u8> {
    let mut t = record.seen_at.unix_nanos().to_be_bytes().to_vec();
    t.extend_from_slice(record.id.as_bytes());
    t
}

/// A proof as JSON text, in its family's own shape (the family is the chain's, which the
/// API names elsewhere). Proofs are plain data: they always serialise.
fn proof_json(proof: &AnyLeafProof) -> String {
    match proof {
        AnyLeafProof::Corridor(p) => serde_json::to_string(p),
        AnyLeafProof::Cometbft(p) => serde_json::to_string(p),
        AnyLeafProof::Evm(p) => serde_json::to_string(p),
    }
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use corridor_light_client::documents::examples::example;
    use corridor_light_client::envelope::{
        payload_from_json, Deadline, DocumentKind, MessageBody, VERSION,
    };
    use corridor_light_client::merkle::InclusionProof;
    use corridor_light_client::receipt::ReceiptProof;
    use corridor_light_client::signature::SigningKey;
    use corridor_light_client::{hash, ChainId};
    use corridor_relay_core::store::MemStore;

    use super::*;

    fn lane() -> Lane {
        Lane {
            source: ChainId::new("cn-shanghai").unwrap(),
            destination: ChainId::new("kz-astana").unwrap(),
            channel: 0,
        }
    }

    fn entry(sequence: u64) -> StoredEntry<AnyFamily> {
        let sender = SigningKey::from_seed([1; 32]);
        let receiver = SigningKey::from_seed([2; 32]);
        let payload = payload_from_json(&example(DocumentKind::CommercialInvoice)).unwrap();
        let lane = lane();
        let message = MessageBody {
            version: VERSION,
            source_chain: lane.source,
            destination_chain: lane.destination,
            channel: lane.channel,
            nonce: sequence,
            sender: sender.public_key(),
            receiver: receiver.public_key(),
            kind: DocumentKind::CommercialInvoice,
            payload_hash: hash::sha3(&payload.0),
            payload,
            deadline: Deadline::Height(Height(1_000_000)),
        }
        .sign(&sender)
        .unwrap();
        StoredEntry {
            message: TradeMessage { sequence, message },
            proof: AnyLeafProof::from(InclusionProof {
                index: 0,
                tree_size: 1,
                path: Vec::new(),
            }),
            height: Height(7),
            receipt: None,
        }
    }

    /// Writes `stage` of `sequence` to the audit column, as the core does before telling.
    fn audit(store: &dyn Store, sequence: u64, stage: Stage, at: u64) -> AuditRecord {
        audit_on(store, &lane(), sequence, stage, at)
    }

    /// [`audit`] on `lane`.
    fn audit_on(
        store: &dyn Store,
        lane: &Lane,
        sequence: u64,
        stage: Stage,
        at: u64,
    ) -> AuditRecord {
        let record = AuditRecord {
            lane: lane.clone(),
            sequence,
            stage,
            at: Time::from_unix_nanos(at),
        };
        let mut bytes = Vec::new();
        ciborium::into_writer(&record, &mut bytes).unwrap();
        let mut batch = WriteBatch::default();
        batch.put(Column::Audit, record.key(), bytes);
        store.write(&batch).unwrap();
        record
    }

    /// A store that counts its writes and its reads of the API's records, and remembers the
    /// largest page asked of a scan of the whole audit log and of the event log.
    #[derive(Default)]
    struct Counting {
        inner: MemStore,
        writes: std::sync::atomic::AtomicUsize,
        /// Reads of the API's records (message records and their (lane, sequence) ids).
        record_reads: std::sync::atomic::AtomicUsize,
        largest_page: std::sync::atomic::AtomicUsize,
        largest_event_page: std::sync::atomic::AtomicUsize,
        /// Audit records that scans returned.
        audit_read: std::sync::atomic::AtomicUsize,
        /// Reads of whole message records.
        msg_reads: std::sync::atomic::AtomicUsize,
    }

    impl Store for Counting {
        fn get(
            &self,
            column: Column,
            key: &[u8],
        ) -> Result<Option<Vec<u8>>, corridor_relay_core::store::StoreError> {
            if column == Column::Meta && (key.starts_with(MSG) || key.starts_with(SEQ)) {
                self.record_reads
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            if column == Column::Meta && key.starts_with(MSG) {
                self.msg_reads
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            self.inner.get(column, key)
        }
        fn write(&self, batch: &WriteBatch) -> Result<(), corridor_relay_core::store::StoreError> {
            self.writes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.write(batch)
        }
        fn scan_after(
            &self,
            column: Column,
            prefix: &[u8],
            after: Option<&[u8]>,
            limit: usize,
        ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, corridor_relay_core::store::StoreError> {
            if column == Column::Audit {
                self.largest_page
                    .fetch_max(limit, std::sync::atomic::Ordering::SeqCst);
            }
            if column == Column::Meta && prefix == EV {
                self.largest_event_page
                    .fetch_max(limit, std::sync::atomic::Ordering::SeqCst);
            }
            let found = self.inner.scan_after(column, prefix, after, limit)?;
            if column == Column::Audit {
                self.audit_read
                    .fetch_add(found.len(), std::sync::atomic::Ordering::SeqCst);
            }
            Ok(found)
        }
    }

    #[test]
    fn stages_waiting_together_are_one_write_and_each_sees_the_ones_before_it() {
        let store = Arc::new(Counting::default());
        let (feed, mut told) = broadcast::channel(64);
        let mut writer = Writer::new(store.clone(), 100, feed).unwrap();
        let before = store.writes.load(std::sync::atomic::Ordering::SeqCst);
        let one = entry(1);
        let two = entry(2);
        // Message 1 reaches three stages and message 2 one, all in one batch; the second
        // `committed` of message 1 is a repeat and adds nothing.
        let a = audit(&*store, 1, Stage::Committed, 10);
        let b = audit(&*store, 2, Stage::Committed, 11);
        let c = audit(&*store, 1, Stage::Forwarded, 12);
        let d = audit(
            &*store,
            1,
            Stage::Acknowledged(ReceiptResult::Delivered),
            13,
        );
        let writes_of_audit = 4;
        writer
            .stages([
                (&a, Some(&one)),
                (&b, Some(&two)),
                (&c, Some(&one)),
                (&a, Some(&one)),
                (&d, Some(&one)),
            ])
            .unwrap();
        assert_eq!(
            store.writes.load(std::sync::atomic::Ordering::SeqCst) - before,
            writes_of_audit + 1,
            "one synced write for the batch"
        );
        let records = Records::new(store.clone());
        let id1 = one.message.message.id().unwrap();
        let r1 = records.message(&id1).unwrap().unwrap();
        assert_eq!(r1.stages, vec![1, 2, 5]);
        assert_eq!(r1.seen_at, Time::from_unix_nanos(10));
        assert_eq!(r1.result, Some(ReceiptResult::Delivered));
        assert_eq!(r1.committed.as_ref().map(|c| c.height), Some(Height(7)));
        // The message is listed once, however many of its stages the batch held.
        let listed = records.ids_after(None, None, 10).unwrap();
        let ids: Vec<Hash32> = listed.iter().map(|(_, id)| *id).collect();
        assert_eq!(ids, vec![id1, two.message.message.id().unwrap()]);
        let events = records.events_after(0, 10).unwrap();
        let got: Vec<(u64, &str, Status)> = events
            .iter()
            .map(|e| (e.number, e.stage.as_str(), e.status))
            .collect();
        // Each event carries the status after its own stage, though the audit log held
        // all of them before the first was indexed.
        assert_eq!(
            got,
            vec![
                (1, "committed", Status::Committed),
                (2, "committed", Status::Committed),
                (3, "forwarded", Status::Forwarded),
                (4, "acknowledged", Status::Acknowledged),
            ]
        );
        // The streams hear of them, in order, once they are written.
        let heard: Vec<u64> = std::iter::from_fn(|| told.try_recv().ok())
            .map(|e| e.number)
            .collect();
        assert_eq!(heard, vec![1, 2, 3, 4]);
    }

    #[test]
    fn a_records_status_is_the_status_its_stages_give_in_the_audit_log() {
        let results = [
            ReceiptResult::Delivered,
            ReceiptResult::Expired,
            ReceiptResult::Rejected {
                reason: corridor_light_client::receipt::RejectReason::BadSignature,
            },
        ];
        let e = entry(1);
        for result in &results {
            // Every set of the five stages, as the API takes them (in lifecycle order).
            for set in 0u8..32 {
                let stages: Vec<Stage> = (0..5)
                    .filter(|i| set & (1 << i) != 0)
                    .map(|i| match i {
                        0 => Stage::Committed,
                        1 => Stage::Forwarded,
                        2 => Stage::Received,
                        3 => Stage::Delivered(result.clone()),
                        _ => Stage::Acknowledged(result.clone()),
                    })
                    .collect();
                let audit: Vec<AuditRecord> = stages
                    .iter()
                    .map(|stage| AuditRecord {
                        lane: lane(),
                        sequence: 1,
                        stage: stage.clone(),
                        at: Time::from_unix_nanos(1),
                    })
                    .collect();
                let settled = stages
                    .iter()
                    .any(|s| matches!(s, Stage::Delivered(_) | Stage::Acknowledged(_)));
                let record = MessageRecord {
                    id: Hash32([1; 32]),
                    message: e.message.clone(),
                    seen_at: Time::from_unix_nanos(1),
                    submitted_at: None,
                    committed: None,
                    receipt: None,
                    result: settled.then(|| result.clone()),
                    stages: stages.iter().map(stage_byte).collect(),
                };
                assert_eq!(status_of_record(&record), status_of(&audit), "{stages:?}");
            }
        }
    }

    #[test]
    fn a_stage_is_shown_once_the_record_has_taken_it() {
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let (feed, _told) = broadcast::channel(64);
        let mut writer = Writer::new(store.clone(), 100, feed).unwrap();
        let records = Records::new(store.clone());
        let one = entry(1);
        let id = one.message.message.id().unwrap();
        let a = audit(&*store, 1, Stage::Committed, 10);
        writer.stages([(&a, Some(&one))]).unwrap();
        // The core wrote two more stages; the indexer has not taken them yet.
        let b = audit(&*store, 1, Stage::Forwarded, 11);
        let c = audit(
            &*store,
            1,
            Stage::Acknowledged(ReceiptResult::Delivered),
            12,
        );
        let record = records.message(&id).unwrap().unwrap();
        assert_eq!(records.audit(&lane(), 1).unwrap().len(), 3);
        assert_eq!(records.taken_audit(&record).unwrap(), vec![a.clone()]);
        assert_eq!(records.status(&record).unwrap(), Status::Committed);
        // Taken: shown, with the status it gives.
        writer.stages([(&b, Some(&one)), (&c, Some(&one))]).unwrap();
        let record = records.message(&id).unwrap().unwrap();
        assert_eq!(records.taken_audit(&record).unwrap(), vec![a, b, c]);
        assert_eq!(records.status(&record).unwrap(), Status::Acknowledged);
    }

    #[test]
    fn the_record_cache_keeps_the_last_records_up_to_its_bound() {
        let record = |sequence: u64| {
            let e = entry(sequence);
            MessageRecord {
                id: e.message.message.id().unwrap(),
                message: e.message,
                seen_at: Time::from_unix_nanos(sequence),
                submitted_at: None,
                committed: None,
                receipt: None,
                result: None,
                stages: vec![1],
            }
        };
        let mut cache = RecordCache::default();
        let first = record(1);
        cache.put(first.clone());
        let mut again = first.clone();
        again.stages.push(2);
        cache.put(again.clone());
        assert_eq!(
            cache.records[&first.id], again,
            "a record put again replaces itself"
        );
        assert_eq!(cache.order.len(), 1);
        for sequence in 2..=CACHED_RECORDS as u64 {
            cache.put(record(sequence));
        }
        assert_eq!(
            cache.records.len(),
            CACHED_RECORDS,
            "full, nothing dropped yet"
        );
        assert_eq!(cache.ids[&seq_key(&lane(), 1)], first.id);
        let last = record(CACHED_RECORDS as u64 + 1);
        cache.put(last.clone());
        assert_eq!(cache.records.len(), CACHED_RECORDS);
        assert_eq!(cache.ids.len(), CACHED_RECORDS);
        assert!(!cache.records.contains_key(&first.id), "the oldest went");
        assert!(!cache.ids.contains_key(&seq_key(&lane(), 1)));
        assert_eq!(cache.ids[&seq_key(&lane(), 2)], record(2).id);
        assert_eq!(
            cache.ids[&seq_key(&lane(), CACHED_RECORDS as u64 + 1)],
            last.id
        );
    }

    #[test]
    fn later_stages_of_a_message_take_its_record_from_what_the_writer_wrote() {
        let store = Arc::new(Counting::default());
        let (feed, _told) = broadcast::channel(64);
        let mut writer = Writer::new(store.clone(), 100, feed).unwrap();
        let one = entry(1);
        let reads = || store.record_reads.load(std::sync::atomic::Ordering::SeqCst);
        let a = audit(&*store, 1, Stage::Committed, 10);
        writer.stages([(&a, Some(&one))]).unwrap();
        let first = reads();
        assert!(
            first > 0,
            "a message new to the writer is looked up in the store"
        );
        let b = audit(&*store, 1, Stage::Forwarded, 11);
        writer.stages([(&b, Some(&one))]).unwrap();
        let c = audit(
            &*store,
            1,
            Stage::Acknowledged(ReceiptResult::Delivered),
            12,
        );
        writer.stages([(&c, Some(&one))]).unwrap();
        assert_eq!(reads(), first, "the later stages read no record back");
        let r = Records::new(store.clone())
            .message(&one.message.message.id().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(r.stages, vec![1, 2, 5]);
        assert_eq!(r.result, Some(ReceiptResult::Delivered));
        // A new writer (a restart) knows nothing yet and reads the store, then takes on.
        let (feed, _told) = broadcast::channel(64);
        let mut again = Writer::new(store.clone(), 100, feed).unwrap();
        let d = audit(&*store, 1, Stage::Received, 13);
        again.stages([(&d, Some(&one))]).unwrap();
        assert!(reads() > first);
        let r = Records::new(store.clone())
            .message(&one.message.message.id().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(r.stages, vec![1, 2, 3, 5], "nothing written before is lost");
    }

    #[test]
    fn a_stage_that_changes_only_stages_leaves_the_rest_of_the_record_where_it_is() {
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let (feed, _told) = broadcast::channel(64);
        let mut writer = Writer::new(store.clone(), 100, feed).unwrap();
        let one = entry(1);
        let id = one.message.message.id().unwrap();
        let msg = || store.get(Column::Meta, &key(MSG, id.as_bytes())).unwrap();
        let records = Records::new(store.clone());
        let a = audit(&*store, 1, Stage::Committed, 10);
        writer.stages([(&a, Some(&one))]).unwrap();
        let written = msg().expect("the whole record, with its committing block");
        // Forwarded and then delivered change the stages and the result alone.
        let b = audit(&*store, 1, Stage::Forwarded, 11);
        let c = audit(&*store, 1, Stage::Delivered(ReceiptResult::Expired), 12);
        writer.stages([(&b, Some(&one)), (&c, Some(&one))]).unwrap();
        assert_eq!(
            msg().as_ref(),
            Some(&written),
            "the message and proof not rewritten"
        );
        let r = records.message(&id).unwrap().unwrap();
        assert_eq!(r.stages, vec![1, 2, 4]);
        assert_eq!(r.result, Some(ReceiptResult::Expired));
        assert_eq!(r.committed.as_ref().map(|c| c.height), Some(Height(7)));
        // A store from before the split (no stages value) reads the record's own.
        let mut batch = WriteBatch::default();
        batch.delete(Column::Meta, key(STAGES, id.as_bytes()));
        store.write(&batch).unwrap();
        let old = records.message(&id).unwrap().unwrap();
        assert_eq!((old.stages, old.result), (vec![1], None));
        // A receipt changes more: the whole record is written again, stages and all.
        let mut proven = one.clone();
        proven.receipt = Some(ReceiptProof {
            height: Height(9),
            receipt: corridor_light_client::receipt::Receipt {
                source_chain: lane().source,
                destination_chain: lane().destination,
                channel: lane().channel,
                sequence: 1,
                message_commitment: one.message.commitment().unwrap(),
                result: ReceiptResult::Expired,
            },
            proof: AnyLeafProof::from(InclusionProof {
                index: 0,
                tree_size: 1,
                path: Vec::new(),
            }),
        });
        let d = audit(&*store, 1, Stage::Acknowledged(ReceiptResult::Expired), 13);
        writer.stages([(&d, Some(&proven))]).unwrap();
        assert_ne!(msg().as_ref(), Some(&written));
        let mut batch = WriteBatch::default();
        batch.delete(Column::Meta, key(STAGES, id.as_bytes()));
        store.write(&batch).unwrap();
        let r = records.message(&id).unwrap().unwrap();
        assert_eq!(
            r.stages,
            vec![1, 2, 4, 5],
            "the whole record carries its stages"
        );
        assert_eq!(r.receipt.as_ref().map(|a| a.height), Some(Height(9)));
    }

    #[test]
    fn a_stage_that_cannot_be_indexed_is_skipped_and_the_rest_of_its_batch_is_written() {
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let (feed, _told) = broadcast::channel(64);
        let mut writer = Writer::new(store.clone(), 100, feed).unwrap();
        let one = entry(1);
        let two = entry(2);
        // Message 1's record is corrupt in the store.
        let id1 = one.message.message.id().unwrap();
        let mut batch = WriteBatch::default();
        batch.put(Column::Meta, seq_key(&lane(), 1), id1.as_bytes().to_vec());
        batch.put(Column::Meta, key(MSG, id1.as_bytes()), vec![0xff]);
        store.write(&batch).unwrap();
        let a = audit(&*store, 1, Stage::Forwarded, 10);
        let b = audit(&*store, 2, Stage::Committed, 11);
        writer.stages([(&a, Some(&one)), (&b, Some(&two))]).unwrap();
        let records = Records::new(store.clone());
        assert!(matches!(
            records.message(&id1),
            Err(ApiError::Corrupt { .. })
        ));
        let r2 = records
            .message(&two.message.message.id().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(r2.stages, vec![1]);
        let events = records.events_after(0, 10).unwrap();
        assert_eq!(events.len(), 1, "only message 2's stage: {events:?}");
        assert_eq!(events[0].number, 1, "the skipped stage took no number");
    }

    /// Writes the core's open outbound entry of `entry`, as the core stores it.
    fn put_outbound(store: &dyn Store, entry: &StoredEntry<AnyFamily>) {
        #[derive(Serialize)]
        struct Out<'a> {
            message: &'a TradeMessage,
            proof: &'a AnyLeafProof,
            height: Height,
            forwarded: bool,
            done: Option<ReceiptResult>,
        }
        #[derive(Serialize)]
        struct Record<'a> {
            lane: Lane,
            sequence: u64,
            entry: Out<'a>,
        }
        let sequence = entry.message.sequence;
        let mut bytes = Vec::new();
        ciborium::into_writer(
            &Record {
                lane: lane(),
                sequence,
                entry: Out {
                    message: &entry.message,
                    proof: &entry.proof,
                    height: entry.height,
                    forwarded: false,
                    done: None,
                },
            },
            &mut bytes,
        )
        .unwrap();
        let mut batch = WriteBatch::default();
        batch.put(
            Column::Outbound,
            AuditRecord::prefix(&lane(), sequence),
            bytes,
        );
        store.write(&batch).unwrap();
    }

    #[test]
    fn long_audit_and_event_logs_are_read_a_page_at_a_time_and_nothing_is_missed() {
        let store = Arc::new(Counting::default());
        // Two full pages and part of a third, with a record that does not decode on the
        // boundary of the first two pages.
        let messages = 2 * CATCH_UP_BATCH as u64 + 88;
        for sequence in 1..=messages {
            let e = entry(sequence);
            put_outbound(&*store, &e);
            if sequence == CATCH_UP_BATCH as u64 {
                let mut batch = WriteBatch::default();
                batch.put(
                    Column::Audit,
                    AuditRecord::key_of(&lane(), sequence, &Stage::Committed),
                    vec![0xff],
                );
                store.write(&batch).unwrap();
            } else {
                audit(&*store, sequence, Stage::Committed, sequence);
            }
        }
        let (feed, _told) = broadcast::channel(64);
        let mut writer = Writer::new(store.clone(), 10_000, feed).unwrap();
        let writes = || store.writes.load(std::sync::atomic::Ordering::SeqCst);
        let before = writes();
        writer.catch_up().unwrap();
        assert_eq!(writes() - before, 3, "one synced write per page");
        assert_eq!(
            store.largest_page.load(std::sync::atomic::Ordering::SeqCst),
            CATCH_UP_BATCH,
            "the audit log is read a page at a time"
        );
        let records = Records::new(store.clone());
        let events = records.events_after(0, 10_000).unwrap();
        let taken: Vec<u64> = events
            .iter()
            .map(|e| records.message(&e.id).unwrap().unwrap().message.sequence)
            .collect();
        let expected: Vec<u64> = (1..=messages)
            .filter(|s| *s != CATCH_UP_BATCH as u64)
            .collect();
        assert_eq!(taken, expected, "every record that decodes, once, in order");
        // A second catch-up finds everything taken and adds nothing; after a restart (the
        // writer remembering nothing) it learns so from each record's stages alone.
        writer.catch_up().unwrap();
        assert_eq!(records.events_after(0, 10_000).unwrap().len(), events.len());
        let (feed, _told) = broadcast::channel(64);
        let mut writer = Writer::new(store.clone(), 10_000, feed).unwrap();
        let msg_reads = || store.msg_reads.load(std::sync::atomic::Ordering::SeqCst);
        let before = msg_reads();
        writer.catch_up().unwrap();
        assert_eq!(msg_reads(), before, "no whole record read");
        assert_eq!(records.events_after(0, 10_000).unwrap().len(), events.len());
        // A reader of the event log gets the events after the one it names, and the store
        // is asked for no more than that.
        store
            .largest_event_page
            .store(0, std::sync::atomic::Ordering::SeqCst);
        let later = records.events_after(300, 5).unwrap();
        let numbers: Vec<u64> = later.iter().map(|e| e.number).collect();
        assert_eq!(numbers, vec![301, 302, 303, 304, 305]);
        assert_eq!(
            store
                .largest_event_page
                .load(std::sync::atomic::Ordering::SeqCst),
            5
        );
        let last = events.last().unwrap().number;
        assert_eq!(records.events_after(last - 1, 5).unwrap().len(), 1);
        assert!(records.events_after(last, 5).unwrap().is_empty());
    }

    #[test]
    fn a_catch_up_reads_each_lane_from_its_settled_watermark_on() {
        let store = Arc::new(Counting::default());
        let (feed, _told) = broadcast::channel(64);
        let mut writer = Writer::new(store.clone(), 10_000, feed).unwrap();
        let other = Lane {
            channel: 1,
            ..lane()
        };
        let settled = |lane: &Lane| {
            store
                .get(Column::Meta, &key(SETTLED, lane.key().as_bytes()))
                .unwrap()
                .map(|b| u64::from_be_bytes(b.try_into().unwrap()))
        };
        let write_audit = |lane: &Lane, sequence: u64, stage: Stage| {
            audit_on(&*store, lane, sequence, stage, sequence)
        };
        let done = Stage::Acknowledged(ReceiptResult::Delivered);
        // 300 messages of one lane and 5 of another go through to the end, in one batch
        // each.
        for (lane, count) in [(lane(), 300u64), (other.clone(), 5)] {
            let mut staged = Vec::new();
            for sequence in 1..=count {
                let mut e = entry(sequence);
                e.message.message.body.channel = lane.channel;
                for stage in [Stage::Committed, done.clone()] {
                    staged.push((write_audit(&lane, sequence, stage), e.clone()));
                }
            }
            writer
                .stages(staged.iter().map(|(a, e)| (a, Some(e))))
                .unwrap();
        }
        assert_eq!(settled(&lane()), Some(300));
        assert_eq!(settled(&other), Some(5));
        // Message 301 is committed while the API is down.
        put_outbound(&*store, &entry(301));
        write_audit(&lane(), 301, Stage::Committed);

        // A restart: the catch-up reads the first key of each lane and what is past the
        // watermark (301's one record), not the 610 records of history.
        let (feed, _told) = broadcast::channel(64);
        let mut writer = Writer::new(store.clone(), 10_000, feed).unwrap();
        let reads = || store.audit_read.load(std::sync::atomic::Ordering::SeqCst);
        let before = reads();
        writer.catch_up().unwrap();
        assert_eq!(
            reads() - before,
            3,
            "a probe per lane and one record past the mark"
        );
        let records = Records::new(store.clone());
        let id = entry(301).message.message.id().unwrap();
        assert_eq!(records.message(&id).unwrap().unwrap().stages, vec![1]);

        // 303 is acknowledged (closed before the API saw it): the mark waits for 301 and
        // 302, then moves over all three.
        write_audit(&lane(), 303, done.clone());
        writer.catch_up().unwrap();
        assert_eq!(settled(&lane()), Some(300));
        write_audit(&lane(), 301, done.clone());
        writer.catch_up().unwrap();
        assert_eq!(settled(&lane()), Some(301));
        write_audit(&lane(), 302, done.clone());
        writer.catch_up().unwrap();
        assert_eq!(settled(&lane()), Some(303));
        assert_eq!(records.message(&id).unwrap().unwrap().stages, vec![1, 5]);
        let before = reads();
        writer.catch_up().unwrap();
        assert_eq!(reads() - before, 2, "nothing past either mark");
    }

    #[test]
    fn the_entry_an_event_carries_is_taken_over_the_stores_and_a_catch_up_reads_the_store() {
        let store: Arc<dyn Store> = Arc::new(MemStore::new());
        let (feed, _told) = broadcast::channel(64);
        let mut writer = Writer::new(store.clone(), 100, feed).unwrap();
        let one = entry(1);
        // The core's outbound entry of (lane, 1) does not decode.
        let mut k = lane().key().into_bytes();
        k.push(b'/');
        k.extend_from_slice(&1u64.to_be_bytes());
        let mut batch = WriteBatch::default();
        batch.put(Column::Outbound, k, vec![0xff]);
        store.write(&batch).unwrap();
        let a = audit(&*store, 1, Stage::Committed, 10);
        // Without the entry (a catch-up), the store is read and the stage cannot be taken.
        writer.catch_up().unwrap();
        assert!(Records::new(store.clone())
            .events_after(0, 10)
            .unwrap()
            .is_empty());
        // With it, the store's copy is not needed.
        writer.stages([(&a, Some(&one))]).unwrap();
        let r = Records::new(store.clone())
            .message(&one.message.message.id().unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(r.stages, vec![1]);
    }
}
