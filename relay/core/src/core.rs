//! The channel core: every lane's outbound and inbound state machines, sans-IO.
//!
//! [`Core::handle`] takes one [`Event`] and the time, and returns an [`Output`]: the writes
//! to persist ([`WriteBatch`]) and the actions to perform. The driver applies the writes,
//! synced, **before** it performs any action, so nobody is ever told about a state that a
//! crash could lose. [`Core::restore`] rebuilds the core from what was written.
//!
//! ## The two sides of a lane
//! - **Outbound** (this relay follows the lane's source chain): a message committed on the
//!   source is verified against this relay's own light client (pending), grouped with the
//!   lane's other messages of the same block into a [`MessageBatch`] under one batch proof
//!   (their inclusion proofs joined into one multiproof), carrying the light blocks the
//!   peer needs once (sent), acknowledged by the peer once persisted there
//!   (forwarded), and closed by a receipt proven against this relay's light client of the
//!   destination (done). Unacknowledged batches go again after `resend_after` and on every
//!   reconnect; the number of messages in flight to a peer is bounded (`window`).
//! - **Inbound** (this relay follows the lane's destination chain): a batch is checked
//!   cheaply first (lane served, sizes, order, sequences), then its light blocks update this
//!   relay's light client of the source (trusting nothing the peer says), then the batch
//!   proof is checked against the verified header, which gives each message its own
//!   inclusion proof back (the destination chain takes one per delivery); one forged
//!   message refuses the batch. Verified messages are persisted (held) before the ack goes
//!   out. They are delivered in channel order, one at a time, through the
//!   destination's adapter; the receipt the destination commits is proven against this
//!   relay's own light client of the destination and sent back until the source side
//!   acknowledges it.
//!
//! ## Peers
//! Every refusal of something a peer sent is an [`Action::Rejected`] with a stable reason;
//! past `penalty_threshold` refusals the core asks for a disconnect. Replays of what is
//! already held are dropped (and acknowledged again, since an honest peer resends after a
//! lost ack) and counted as `duplicate`, without penalty.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use corridor_light_client::bundle::{verify_batch, verify_bundle, ProofBundle};
use corridor_light_client::client::{LightClient, UpdateOutcome};
use corridor_light_client::envelope::TradeMessage;
use corridor_light_client::family::Family;
use corridor_light_client::receipt::{
    verify_receipt, verify_receipts, Receipt, ReceiptProof, ReceiptResult,
};
use corridor_light_client::{ChainId, Height, Time};
use serde::{Deserialize, Serialize};

use crate::store::{Column, Store, StoreError, WriteBatch};
use crate::wire::{
    Ack, ClientTrust, Frame, Lane, Limits, MessageBatch, ReceiptAck, ReceiptBatch, TrustStatus,
};

/// Longest a changed light client waits before it is written (see `flush_clients`).
pub const CLIENT_PERSIST_INTERVAL: Duration = Duration::from_secs(5);

/// A peer relay, by its ed25519 public key.
pub type PeerId = [u8; 32];

/// Hex of a peer's key, for logs.
pub fn peer_hex(peer: &PeerId) -> String {
    hex::encode(peer)
}

/// What the core needs to know about its place in the corridor.
#[derive(Clone, Debug)]
pub struct CoreConfig {
    /// Chains this relay follows itself (through adapters): it sends their messages out
    /// and delivers into them.
    pub home: BTreeSet<ChainId>,
    /// Which peer serves each remote chain.
    pub routes: BTreeMap<ChainId, PeerId>,
    /// Frame bounds.
    pub limits: Limits,
    /// Most messages (and receipts) in flight, unacknowledged, per peer.
    pub window: usize,
    /// Resend what is unacknowledged after this long.
    pub resend_after: Duration,
    /// Refusals of a peer's input before the core asks to disconnect it.
    pub penalty_threshold: u32,
    /// Most bundles handed to an inbox in one [`Action::Deliver`].
    pub max_delivery_batch: usize,
}

/// The default [`CoreConfig::max_delivery_batch`]: what a devnet chain takes in one request.
pub const DEFAULT_DELIVERY_BATCH: usize = 256;

/// A step's result: persist `writes` first, then perform `actions` in order.
#[derive(Debug)]
pub struct Output<F: Family> {
    /// Writes to apply in one synced batch before any action.
    pub writes: WriteBatch,
    /// Actions, in order.
    pub actions: Vec<Action<F>>,
}

impl<F: Family> Default for Output<F> {
    fn default() -> Self {
        Self {
            writes: WriteBatch::default(),
            actions: Vec::new(),
        }
    }
}

/// Something that happened.
#[derive(Debug)]
pub enum Event<F: Family> {
    /// Light blocks of a home chain fetched by its watcher (verified here).
    HomeBlocks {
        /// The chain.
        chain: ChainId,
        /// Blocks in increasing height order.
        blocks: Vec<F::LightBlock>,
    },
    /// Outbound messages a home chain committed at `height`, each with its proof. The
    /// core's client of the chain must trust `height` (feed it first).
    Committed {
        /// The chain.
        chain: ChainId,
        /// The block.
        height: Height,
        /// The messages with their proofs.
        messages: Vec<(TradeMessage, F::LeafProof)>,
    },
    /// Receipts a home chain committed at `height`, each with its proof.
    ReceiptsCommitted {
        /// The chain.
        chain: ChainId,
        /// The block.
        height: Height,
        /// The receipts.
        receipts: Vec<ReceiptProof<F>>,
    },
    /// What a home chain's inbox client of `source` trusts (its latest height).
    InboxTrust {
        /// The destination (home) chain.
        chain: ChainId,
        /// The source chain of the inbox's client.
        source: ChainId,
        /// Its trust root height.
        root: Height,
        /// Its latest trusted height.
        latest: Option<Height>,
    },
    /// The destination took a delivery: it will commit this receipt result.
    Delivered {
        /// The lane.
        lane: Lane,
        /// The sequence.
        sequence: u64,
        /// The result the receipt will carry.
        result: ReceiptResult,
    },
    /// A delivery failed for a reason that may pass (the chain is down, busy); it is tried
    /// again on a later tick.
    DeliveryFailed {
        /// The lane.
        lane: Lane,
        /// The sequence.
        sequence: u64,
        /// Why.
        reason: String,
    },
    /// A peer's hello was accepted.
    PeerUp {
        /// The peer.
        peer: PeerId,
    },
    /// A peer's connection ended.
    PeerDown {
        /// The peer.
        peer: PeerId,
    },
    /// A frame from a peer (already decoded and bounded by [`Frame::decode`]).
    Frame {
        /// The peer.
        peer: PeerId,
        /// The frame.
        frame: Frame<F>,
    },
    /// A peer sent bytes that are not a frame within limits (refused by [`Frame::decode`]
    /// or by the transport).
    BadFrame {
        /// The peer.
        peer: PeerId,
        /// Stable label.
        reason: &'static str,
        /// What.
        detail: String,
    },
    /// The driver handed over every message and receipt of `chain` up to `height`. The
    /// watermark moves (and is persisted) only if nothing of the chain was refused since
    /// the last one, so a restart scans again from where nothing was lost.
    Scanned {
        /// The chain.
        chain: ChainId,
        /// Scanned up to here.
        height: Height,
    },
    /// Time passed: resend what is due, deliver what is next.
    Tick,
}

/// Something the driver must do (after persisting the step's writes).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // Actions are moved once, from the core to its driver.
pub enum Action<F: Family> {
    /// Send a frame to a peer (when it is connected; otherwise drop it: everything
    /// unacknowledged is sent again on reconnect).
    Send {
        /// The peer.
        peer: PeerId,
        /// The frame.
        frame: Frame<F>,
    },
    /// Hand consecutive deliveries of one lane to a home chain's inbox, in one request
    /// where the chain allows, then report [`Event::Delivered`] for each one taken, in
    /// order, and [`Event::DeliveryFailed`] for the first one refused (or for the first one
    /// when the request failed as a whole).
    Deliver {
        /// The destination chain.
        chain: ChainId,
        /// The lane.
        lane: Lane,
        /// The bundles for the inbox's light client, in sequence order.
        bundles: Vec<ProofBundle<F>>,
    },
    /// Something a peer sent was refused.
    Rejected {
        /// The peer.
        peer: PeerId,
        /// Stable label.
        reason: &'static str,
        /// What and where.
        detail: String,
    },
    /// Too many refusals: drop the peer's connection and back off.
    Disconnect {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: String,
    },
    /// A light client froze on misbehaviour: the chain's lanes stop.
    Frozen {
        /// The chain.
        chain: ChainId,
        /// Why, with the height.
        reason: String,
    },
    /// A home chain's endpoint served something that did not verify.
    EndpointFault {
        /// The chain.
        chain: ChainId,
        /// Stable label.
        reason: &'static str,
        /// What and where.
        detail: String,
    },
    /// A message moved to a new stage (for the API, metrics and audit).
    Stage {
        /// The lane.
        lane: Lane,
        /// The sequence.
        sequence: u64,
        /// The stage.
        stage: Stage,
    },
}

/// A message's stage (DESIGN.md "Message lifecycle"), as seen by this relay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Committed on the source and verified by this relay (outbound).
    Committed,
    /// The peer persisted it (outbound).
    Forwarded,
    /// Verified and persisted here (inbound).
    Received,
    /// The destination took it (inbound).
    Delivered(ReceiptResult),
    /// Its receipt is proven (both sides); closed.
    Acknowledged(ReceiptResult),
}

impl Stage {
    /// Stable label for metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Committed => "committed",
            Self::Forwarded => "forwarded",
            Self::Received => "received",
            Self::Delivered(_) => "delivered",
            Self::Acknowledged(_) => "acknowledged",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
struct OutEntry<F: Family> {
    message: TradeMessage,
    proof: F::LeafProof,
    height: Height,
    /// Acknowledged by the peer (persisted there).
    forwarded: bool,
    /// Closed by a proven receipt.
    done: Option<ReceiptResult>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound = "")]
struct InEntry<F: Family> {
    message: TradeMessage,
    proof: F::LeafProof,
    height: Height,
    /// What the destination said it will commit.
    delivered: Option<ReceiptResult>,
    /// The proven receipt, once seen on the destination.
    receipt: Option<ReceiptProof<F>>,
}

impl PeerState {
    /// The peer says its light client of `chain` trusts `height` (only ever moves up).
    fn trusts(&mut self, chain: &ChainId, height: Height) {
        let t = self
            .trust
            .entry(chain.clone())
            .or_insert_with(|| ClientTrust {
                chain: chain.clone(),
                root_height: height,
                latest: None,
            });
        t.latest = Some(t.latest.map_or(height, |l| l.max(height)));
    }
}

#[derive(Debug, Default)]
struct PeerState {
    connected: bool,
    /// What the peer's light clients trust, by chain.
    trust: BTreeMap<ChainId, ClientTrust>,
    /// Messages and receipts sent and not acknowledged: (lane, sequence, receipt?) -> sent at.
    in_flight: BTreeMap<(Lane, u64, bool), Time>,
    penalties: u32,
}

impl PeerState {
    /// When each sequence of `lane` in flight (its receipt when `receipt`) was sent, in
    /// increasing sequence order: one range of the map per lane, so that a pump walks its
    /// lane's sequences beside this list instead of looking each one up by its lane.
    fn flying<'a>(
        &'a self,
        lane: &Lane,
        receipt: bool,
    ) -> std::iter::Peekable<impl Iterator<Item = (u64, Time)> + 'a> {
        let range = (lane.clone(), 0, false)..=(lane.clone(), u64::MAX, true);
        self.in_flight
            .range(range)
            .filter(move |((_, _, r), _)| *r == receipt)
            .map(|((_, s, _), t)| (*s, *t))
            .peekable()
    }
}

/// When `sequence` was sent, from a lane's [`PeerState::flying`] list walked in increasing
/// sequence order.
fn sent_at(
    flying: &mut std::iter::Peekable<impl Iterator<Item = (u64, Time)>>,
    sequence: u64,
) -> Option<Time> {
    while flying.next_if(|(s, _)| *s < sequence).is_some() {}
    flying.next_if(|(s, _)| *s == sequence).map(|(_, t)| t)
}

/// Why the core could not be restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record did not decode.
    #[error("store record {column}/{key} does not decode: {reason}")]
    Record {
        /// Column.
        column: &'static str,
        /// Key (lossy UTF-8).
        key: String,
        /// Why.
        reason: String,
    },
    /// The stored light client of a chain follows another trust root than configured.
    #[error("the stored light client of {chain} has another trust root than the configured one")]
    RootChanged {
        /// The chain.
        chain: ChainId,
    },
}

/// Every lane's state machines. See the module doc.
#[derive(Debug)]
pub struct Core<F: Family> {
    config: CoreConfig,
    clients: BTreeMap<ChainId, LightClient<F>>,
    out: BTreeMap<Lane, BTreeMap<u64, OutEntry<F>>>,
    inb: BTreeMap<Lane, BTreeMap<u64, InEntry<F>>>,
    /// Per outbound lane: the sequences neither acknowledged by the peer nor closed, the
    /// only ones [`Self::pump_outbound`] may send. Derived from `out` (never persisted) and
    /// kept in step with it by [`Self::index_out`], so that a step costs what is sendable,
    /// not every message held.
    out_unsent: BTreeMap<Lane, BTreeSet<u64>>,
    /// Per inbound lane: the sequences holding a proven receipt that the source side has
    /// not acknowledged, the only ones [`Self::pump_receipts`] may send. Derived from `inb`
    /// and kept in step with it by [`Self::index_in`].
    inb_proven: BTreeMap<Lane, BTreeSet<u64>>,
    /// Per inbound lane: the next sequence to deliver.
    next_delivery: BTreeMap<Lane, u64>,
    /// Per inbound lane: a delivery batch is in flight (its last sequence).
    delivering: BTreeMap<Lane, u64>,
    /// Per inbound lane: the last delivery failed at this time; retried `resend_after` later.
    delivery_failed: BTreeMap<Lane, Time>,
    /// Per outbound lane: highest sequence closed (for dedupe of late receipts).
    closed_up_to: BTreeMap<Lane, u64>,
    /// Per home chain: scanned up to this height (persisted).
    scanned: BTreeMap<ChainId, Height>,
    /// Home chains with a refusal since their last scan watermark.
    faulted: BTreeSet<ChainId>,
    /// Light clients changed since they were last written.
    dirty: BTreeSet<ChainId>,
    /// When each light client was last written.
    client_written: BTreeMap<ChainId, Time>,
    /// Per (peer, home chain): when its light client was last refreshed.
    refreshed: BTreeMap<(PeerId, ChainId), Time>,
    /// Per (destination, source): the inbox client's root height and latest height.
    inbox_trust: BTreeMap<(ChainId, ChainId), (Height, Option<Height>)>,
    /// Verified blocks that open entries are proven against, kept past the clients'
    /// windows so that a message waiting long can still be sent and delivered.
    anchors: BTreeMap<(ChainId, Height), F::LightBlock>,
    peers: BTreeMap<PeerId, PeerState>,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // The core's own records always encode (plain data, no maps with non-string keys).
    ciborium::into_writer(value, &mut out).unwrap_or_default();
    out
}

fn decode<T: serde::de::DeserializeOwned>(
    column: Column,
    key: &[u8],
    value: &[u8],
) -> Result<T, RestoreError> {
    ciborium::from_reader(value).map_err(|e| RestoreError::Record {
        column: column.name(),
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

fn entry_key(lane: &Lane, sequence: u64) -> Vec<u8> {
    let mut k = lane.key().into_bytes();
    k.push(b'/');
    k.extend_from_slice(&sequence.to_be_bytes());
    k
}

fn next_key(lane: &Lane) -> Vec<u8> {
    format!("next/{}", lane.key()).into_bytes()
}

fn closed_key(lane: &Lane) -> Vec<u8> {
    format!("closed/{}", lane.key()).into_bytes()
}

/// One stage of one message, as the audit log keeps it (key: lane, sequence, stage).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The lane.
    pub lane: Lane,
    /// The sequence.
    pub sequence: u64,
    /// The stage reached.
    pub stage: Stage,
    /// When this relay recorded it.
    pub at: Time,
}

impl AuditRecord {
    /// Decodes a record of the audit column.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        ciborium::from_reader(bytes).ok()
    }

    /// The key of the record of `stage` of `sequence` on `lane` in the audit column.
    pub fn key_of(lane: &Lane, sequence: u64, stage: &Stage) -> Vec<u8> {
        audit_key(lane, sequence, stage)
    }
}

fn audit_key(lane: &Lane, sequence: u64, stage: &Stage) -> Vec<u8> {
    let mut k = entry_key(lane, sequence);
    k.push(match stage {
        Stage::Committed => 1,
        Stage::Forwarded => 2,
        Stage::Received => 3,
        Stage::Delivered(_) => 4,
        Stage::Acknowledged(_) => 5,
    });
    k
}

#[derive(Serialize, Deserialize)]
struct EntryRecord<T> {
    lane: Lane,
    sequence: u64,
    entry: T,
}

impl<F: Family> Core<F>
where
    F::LightBlock: Serialize + serde::de::DeserializeOwned,
{
    /// A core with fresh light clients (one per chain it knows, home and remote).
    pub fn new(config: CoreConfig, clients: Vec<LightClient<F>>) -> Self {
        let clients = clients
            .into_iter()
            .map(|c| (c.chain_id().clone(), c))
            .collect();
        Self {
            config,
            clients,
            out: BTreeMap::new(),
            inb: BTreeMap::new(),
            out_unsent: BTreeMap::new(),
            inb_proven: BTreeMap::new(),
            next_delivery: BTreeMap::new(),
            delivering: BTreeMap::new(),
            delivery_failed: BTreeMap::new(),
            closed_up_to: BTreeMap::new(),
            inbox_trust: BTreeMap::new(),
            anchors: BTreeMap::new(),
            scanned: BTreeMap::new(),
            refreshed: BTreeMap::new(),
            dirty: BTreeSet::new(),
            client_written: BTreeMap::new(),
            faulted: BTreeSet::new(),
            peers: BTreeMap::new(),
        }
    }

    /// Rebuilds a core from `store`; `clients` are the configured fresh clients, replaced by
    /// the stored ones when those follow the same trust root.
    pub fn restore(
        config: CoreConfig,
        clients: Vec<LightClient<F>>,
        store: &dyn Store,
    ) -> Result<Self, RestoreError> {
        let mut core = Self::new(config, clients);
        for (key, value) in store.scan(Column::Clients, b"anchor/")? {
            let (chain, height, block): (ChainId, Height, F::LightBlock) =
                decode(Column::Clients, &key, &value)?;
            core.anchors.insert((chain, height), block);
        }
        for (key, value) in store.scan(Column::Clients, b"client/")? {
            let stored: LightClient<F> = decode(Column::Clients, &key, &value)?;
            let chain = stored.chain_id().clone();
            if let Some(configured) = core.clients.get(&chain) {
                if configured.root() != stored.root() {
                    return Err(RestoreError::RootChanged { chain });
                }
                core.clients.insert(chain, stored);
            }
        }
        for (key, value) in store.scan(Column::Outbound, b"")? {
            let r: EntryRecord<OutEntry<F>> = decode(Column::Outbound, &key, &value)?;
            core.out
                .entry(r.lane.clone())
                .or_default()
                .insert(r.sequence, r.entry);
            core.index_out(&r.lane, r.sequence);
        }
        for (key, value) in store.scan(Column::Inbound, b"")? {
            let r: EntryRecord<InEntry<F>> = decode(Column::Inbound, &key, &value)?;
            core.inb
                .entry(r.lane.clone())
                .or_default()
                .insert(r.sequence, r.entry);
            core.index_in(&r.lane, r.sequence);
        }
        for (key, value) in store.scan(Column::Meta, b"next/")? {
            let (lane, next): (Lane, u64) = decode(Column::Meta, &key, &value)?;
            core.next_delivery.insert(lane, next);
        }
        for (key, value) in store.scan(Column::Meta, b"scan/")? {
            let (chain, height): (ChainId, Height) = decode(Column::Meta, &key, &value)?;
            core.scanned.insert(chain, height);
        }
        for (key, value) in store.scan(Column::Meta, b"closed/")? {
            let (lane, up_to): (Lane, u64) = decode(Column::Meta, &key, &value)?;
            core.closed_up_to.insert(lane, up_to);
        }
        Ok(core)
    }

    /// The light client of `chain`.
    pub fn client(&self, chain: &ChainId) -> Option<&LightClient<F>> {
        self.clients.get(chain)
    }

    /// How far the driver has scanned `chain` (0 before the first scan).
    pub fn scanned(&self, chain: &ChainId) -> Height {
        self.scanned.get(chain).copied().unwrap_or(Height(0))
    }

    /// The highest sequence of an outbound lane closed by a proven receipt, with every
    /// lower one closed too.
    pub fn closed_up_to(&self, lane: &Lane) -> u64 {
        self.closed_up_to.get(lane).copied().unwrap_or(0)
    }

    /// Every light client.
    pub fn clients(&self) -> impl Iterator<Item = &LightClient<F>> {
        self.clients.values()
    }

    /// Messages of outbound lanes not yet closed by a receipt, per lane.
    pub fn outbound_open(&self) -> BTreeMap<Lane, usize> {
        self.out
            .iter()
            .map(|(l, e)| (l.clone(), e.values().filter(|e| e.done.is_none()).count()))
            .collect()
    }

    /// The lowest open outbound sequence of each lane (the oldest pending message).
    pub fn oldest_open(&self) -> BTreeMap<Lane, u64> {
        self.out
            .iter()
            .filter_map(|(l, e)| {
                e.iter()
                    .find(|(_, e)| e.done.is_none())
                    .map(|(s, _)| (l.clone(), *s))
            })
            .collect()
    }

    /// Messages held on inbound lanes and not yet delivered, per lane.
    pub fn inbound_waiting(&self) -> BTreeMap<Lane, usize> {
        self.inb
            .iter()
            .map(|(l, e)| {
                (
                    l.clone(),
                    e.values().filter(|e| e.delivered.is_none()).count(),
                )
            })
            .collect()
    }

    /// The open entry of (`lane`, `sequence`) as this core holds it, which is what
    /// [`stored_outbound`] (with `outbound`) or [`stored_inbound`] reads once the step's
    /// writes are applied: a reader told of a step's stages takes it from here instead of
    /// reading and decoding the store again.
    pub fn open_entry(&self, lane: &Lane, sequence: u64, outbound: bool) -> Option<StoredEntry<F>> {
        if outbound {
            let e = self.out.get(lane)?.get(&sequence)?;
            Some(StoredEntry {
                message: e.message.clone(),
                proof: e.proof.clone(),
                height: e.height,
                receipt: None,
            })
        } else {
            let e = self.inb.get(lane)?.get(&sequence)?;
            Some(StoredEntry {
                message: e.message.clone(),
                proof: e.proof.clone(),
                height: e.height,
                receipt: e.receipt.clone(),
            })
        }
    }

    /// Messages and receipts in flight to `peer`.
    pub fn in_flight(&self, peer: &PeerId) -> usize {
        self.peers.get(peer).map_or(0, |p| p.in_flight.len())
    }

    /// What this relay's peer-fed clients trust (sent to peers on connect).
    pub fn trust_status(&self) -> TrustStatus {
        TrustStatus {
            clients: self
                .clients
                .values()
                .filter(|c| !self.config.home.contains(c.chain_id()))
                .map(|c| ClientTrust {
                    chain: c.chain_id().clone(),
                    root_height: c.root().height,
                    latest: c.latest().map(|_| c.latest_height()),
                })
                .collect(),
        }
    }

    /// Handles one event at time `now`.
    pub fn handle(&mut self, event: Event<F>, now: Time) -> Output<F> {
        let mut out = Output::default();
        match event {
            Event::HomeBlocks { chain, blocks } => {
                self.on_home_blocks(&chain, blocks, now, &mut out)
            }
            Event::Committed {
                chain,
                height,
                messages,
            } => self.on_committed(&chain, height, messages, now, &mut out),
            Event::ReceiptsCommitted {
                chain,
                height,
                receipts,
            } => self.on_receipts_committed(&chain, height, receipts, &mut out),
            Event::InboxTrust {
                chain,
                source,
                root,
                latest,
            } => {
                self.inbox_trust.insert((chain, source), (root, latest));
            }
            Event::Delivered {
                lane,
                sequence,
                result,
            } => self.on_delivered(lane, sequence, result, &mut out),
            Event::DeliveryFailed { lane, sequence, .. } => {
                // A batch in flight ends at its first refusal.
                if self
                    .delivering
                    .get(&lane)
                    .is_some_and(|last| sequence <= *last)
                {
                    self.delivering.remove(&lane);
                    self.delivery_failed.insert(lane, now);
                }
            }
            Event::PeerUp { peer } => {
                let state = self.peers.entry(peer).or_default();
                state.connected = true;
                state.in_flight.clear();
                out.actions.push(Action::Send {
                    peer,
                    frame: Frame::Trust(self.trust_status()),
                });
            }
            Event::PeerDown { peer } => {
                let state = self.peers.entry(peer).or_default();
                state.connected = false;
                state.in_flight.clear();
            }
            Event::Frame { peer, frame } => self.on_frame(peer, frame, now, &mut out),
            Event::BadFrame {
                peer,
                reason,
                detail,
            } => self.reject(peer, reason, detail, &mut out),
            Event::Scanned { chain, height } => {
                if !self.faulted.remove(&chain) && height > self.scanned(&chain) {
                    out.writes.put(
                        Column::Meta,
                        format!("scan/{chain}"),
                        encode(&(chain.clone(), height)),
                    );
                    self.scanned.insert(chain, height);
                }
            }
            Event::Tick => {}
        }
        for a in &out.actions {
            match a {
                Action::EndpointFault { chain, .. } | Action::Frozen { chain, .. } => {
                    self.faulted.insert(chain.clone());
                }
                Action::Stage {
                    lane,
                    sequence,
                    stage,
                } => {
                    let record = AuditRecord {
                        lane: lane.clone(),
                        sequence: *sequence,
                        stage: stage.clone(),
                        at: now,
                    };
                    out.writes.put(
                        Column::Audit,
                        audit_key(lane, *sequence, stage),
                        encode(&record),
                    );
                }
                _ => {}
            }
        }
        self.pump(now, &mut out);
        self.flush_clients(now, &mut out.writes);
        out
    }

    /// Marks a light client changed; [`Self::flush_clients`] writes it.
    fn persist_client(&mut self, chain: &ChainId, _writes: &mut WriteBatch) {
        self.dirty.insert(chain.clone());
    }

    /// Writes changed light clients: a frozen one at once (a restart must never unfreeze
    /// it), others at most every [`CLIENT_PERSIST_INTERVAL`]. A client is up to a few
    /// thousand blocks, so writing it on every block would cost more than the messages;
    /// and a restart from an older client loses nothing: every open entry keeps the block
    /// it is proven against (its anchor), a followed chain is synced again from its
    /// endpoint, and peers plan from the trust this relay tells them after it reconnects.
    fn flush_clients(&mut self, now: Time, writes: &mut WriteBatch) {
        let due: Vec<ChainId> = self
            .dirty
            .iter()
            .filter(|chain| {
                let frozen = self.clients.get(*chain).is_some_and(LightClient::is_frozen);
                let last = self.client_written.get(*chain);
                frozen
                    || last.is_none_or(|t| {
                        now.saturating_duration_since(*t) >= CLIENT_PERSIST_INTERVAL
                    })
            })
            .cloned()
            .collect();
        for chain in due {
            if let Some(c) = self.clients.get(&chain) {
                writes.put(Column::Clients, format!("client/{chain}"), encode(c));
            }
            self.dirty.remove(&chain);
            self.client_written.insert(chain, now);
        }
    }

    fn anchor_key(chain: &ChainId, height: Height) -> Vec<u8> {
        let mut k = format!("anchor/{chain}/").into_bytes();
        k.extend_from_slice(&height.0.to_be_bytes());
        k
    }

    /// Keeps the trusted block at `height` of `chain` while entries are proven against it.
    fn anchor(&mut self, chain: &ChainId, height: Height, writes: &mut WriteBatch) {
        let key = (chain.clone(), height);
        if self.anchors.contains_key(&key) {
            return;
        }
        let Some(block) = self.clients.get(chain).and_then(|c| c.trusted_at(height)) else {
            return;
        };
        writes.put(
            Column::Clients,
            Self::anchor_key(chain, height),
            encode(&(chain.clone(), height, block.clone())),
        );
        self.anchors.insert(key, block.clone());
    }

    /// Drops anchors no open entry needs.
    fn gc_anchors(&mut self, writes: &mut WriteBatch) {
        let mut needed: BTreeSet<(ChainId, Height)> = BTreeSet::new();
        for (lane, entries) in &self.out {
            for e in entries.values().filter(|e| e.done.is_none()) {
                needed.insert((lane.source.clone(), e.height));
            }
        }
        for (lane, entries) in &self.inb {
            for e in entries.values() {
                needed.insert((lane.source.clone(), e.height));
                if let Some(r) = &e.receipt {
                    needed.insert((lane.destination.clone(), r.height));
                }
            }
        }
        let stale: Vec<_> = self
            .anchors
            .keys()
            .filter(|k| !needed.contains(*k))
            .cloned()
            .collect();
        for (chain, height) in stale {
            writes.delete(Column::Clients, Self::anchor_key(&chain, height));
            self.anchors.remove(&(chain, height));
        }
    }

    fn persist_out(&self, lane: &Lane, sequence: u64, writes: &mut WriteBatch) {
        if let Some(e) = self.out.get(lane).and_then(|l| l.get(&sequence)) {
            let record = EntryRecord {
                lane: lane.clone(),
                sequence,
                entry: e.clone(),
            };
            writes.put(Column::Outbound, entry_key(lane, sequence), encode(&record));
        }
    }

    fn persist_in(&self, lane: &Lane, sequence: u64, writes: &mut WriteBatch) {
        if let Some(e) = self.inb.get(lane).and_then(|l| l.get(&sequence)) {
            let record = EntryRecord {
                lane: lane.clone(),
                sequence,
                entry: e.clone(),
            };
            writes.put(Column::Inbound, entry_key(lane, sequence), encode(&record));
        }
    }

    fn on_home_blocks(
        &mut self,
        chain: &ChainId,
        blocks: Vec<F::LightBlock>,
        now: Time,
        out: &mut Output<F>,
    ) {
        let family = F::default();
        let Some(client) = self.clients.get_mut(chain) else {
            return;
        };
        let before = client.revision();
        for block in blocks {
            let height = family.block_height(&block);
            match client.update(block, now) {
                Ok(UpdateOutcome::Trusted(_) | UpdateOutcome::AlreadyTrusted(_)) => {}
                Ok(UpdateOutcome::NotEnoughTrust(h, _)) => {
                    out.actions.push(Action::EndpointFault {
                        chain: chain.clone(),
                        reason: "not-enough-trust",
                        detail: format!("block {h} of {chain} needs bisection"),
                    });
                    break;
                }
                Ok(UpdateOutcome::Misbehaviour(_)) => {
                    out.actions.push(Action::Frozen {
                        chain: chain.clone(),
                        reason: format!(
                            "two valid blocks of {chain} at height {height}: light client frozen, its lanes stop"
                        ),
                    });
                    break;
                }
                Err(e) => {
                    out.actions.push(Action::EndpointFault {
                        chain: chain.clone(),
                        reason: e.reason(),
                        detail: format!("block {height} of {chain}: {e}"),
                    });
                    break;
                }
            }
        }
        if client.revision() != before {
            self.persist_client(chain, &mut out.writes);
        }
    }

    fn on_committed(
        &mut self,
        chain: &ChainId,
        height: Height,
        messages: Vec<(TradeMessage, F::LeafProof)>,
        now: Time,
        out: &mut Output<F>,
    ) {
        // The messages of lanes this relay routes that it does not hold yet, each once.
        let mut seen = BTreeSet::new();
        let fresh: Vec<(TradeMessage, F::LeafProof)> = messages
            .into_iter()
            .filter(|(message, _)| {
                let lane = Lane::of(message);
                let sequence = message.sequence;
                let closed = self.closed_up_to.get(&lane).copied().unwrap_or(0);
                self.config.routes.contains_key(&lane.destination)
                    && sequence > closed
                    && !self
                        .out
                        .get(&lane)
                        .is_some_and(|l| l.contains_key(&sequence))
                    && seen.insert((lane, sequence))
            })
            .collect();
        let Some(client) = self.clients.get_mut(chain) else {
            return;
        };
        if fresh.is_empty() {
            return;
        }
        // One pass over the block's proofs together (their multiproof); only when that
        // fails is each checked on its own, to name the ones the endpoint got wrong. (The
        // verdicts are the same either way: the joint check only saves the per-message
        // header hash and path walks, so a mutant that skips it changes speed alone.)
        let family = F::default();
        let (list, proofs): (Vec<TradeMessage>, Vec<F::LeafProof>) = fresh.into_iter().unzip();
        let together = family
            .join_proofs(&proofs)
            .is_some_and(|proof| verify_batch(client, height, &list, &proof).is_ok());
        let mut held = Vec::new();
        for (message, proof) in list.into_iter().zip(proofs) {
            let bundle = ProofBundle::<F> {
                message,
                proof,
                height,
                light_blocks: Vec::new(),
            };
            let verdict = if together {
                Ok(())
            } else {
                verify_bundle(client, &bundle, now).map(|_| ())
            };
            match verdict {
                Ok(()) => held.push(bundle),
                Err(e) => out.actions.push(Action::EndpointFault {
                    chain: chain.clone(),
                    reason: e.reason(),
                    detail: format!(
                        "message {} of lane {} at height {height}: {e}",
                        bundle.message.sequence,
                        Lane::of(&bundle.message)
                    ),
                }),
            }
        }
        if !held.is_empty() {
            self.anchor(chain, height, &mut out.writes);
        }
        for bundle in held {
            let lane = Lane::of(&bundle.message);
            let sequence = bundle.message.sequence;
            self.out.entry(lane.clone()).or_default().insert(
                sequence,
                OutEntry {
                    message: bundle.message,
                    proof: bundle.proof,
                    height,
                    forwarded: false,
                    done: None,
                },
            );
            self.index_out(&lane, sequence);
            self.persist_out(&lane, sequence, &mut out.writes);
            out.actions.push(Action::Stage {
                lane,
                sequence,
                stage: Stage::Committed,
            });
        }
    }

    fn on_receipts_committed(
        &mut self,
        chain: &ChainId,
        height: Height,
        receipts: Vec<ReceiptProof<F>>,
        out: &mut Output<F>,
    ) {
        // The receipts of messages this relay holds and has no receipt for yet, each once.
        let mut seen = BTreeSet::new();
        let wanted: Vec<(Lane, ReceiptProof<F>)> = receipts
            .into_iter()
            .filter_map(|proof| {
                let r = &proof.receipt;
                let lane = Lane {
                    source: r.source_chain.clone(),
                    destination: r.destination_chain.clone(),
                    channel: r.channel,
                };
                let open = self
                    .inb
                    .get(&lane)
                    .and_then(|l| l.get(&r.sequence))
                    .is_some_and(|e| e.receipt.is_none());
                (proof.height == height && open && seen.insert((lane.clone(), r.sequence)))
                    .then_some((lane, proof))
            })
            .collect();
        let Some(client) = self.clients.get(chain) else {
            return;
        };
        if wanted.is_empty() {
            return;
        }
        // One pass over the block's receipt proofs together (their multiproof); only when
        // that fails is each checked on its own, to name the ones the endpoint got wrong.
        // (The verdicts are the same either way: the joint check saves per-receipt walks.)
        let family = F::default();
        let proofs: Vec<F::LeafProof> = wanted.iter().map(|(_, p)| p.proof.clone()).collect();
        let list: Vec<Receipt> = wanted.iter().map(|(_, p)| p.receipt.clone()).collect();
        let together = family
            .join_proofs(&proofs)
            .is_some_and(|proof| verify_receipts(client, height, &list, &proof).is_ok());
        for (lane, proof) in wanted {
            let sequence = proof.receipt.sequence;
            let verdict = match self.clients.get(chain) {
                _ if together => Ok(()),
                Some(client) => verify_receipt(client, &proof).map(|_| ()),
                None => return,
            };
            if let Err(e) = verdict {
                out.actions.push(Action::EndpointFault {
                    chain: chain.clone(),
                    reason: e.reason(),
                    detail: format!("receipt {sequence} of lane {lane} at height {height}: {e}"),
                });
                continue;
            }
            let matches = self
                .inb
                .get(&lane)
                .and_then(|l| l.get(&sequence))
                .is_some_and(|e| {
                    e.message
                        .commitment()
                        .is_ok_and(|c| c == proof.receipt.message_commitment)
                });
            if !matches {
                out.actions.push(Action::EndpointFault {
                    chain: chain.clone(),
                    reason: "receipt-mismatch",
                    detail: format!(
                        "receipt {sequence} of lane {lane} is for another message than the one delivered"
                    ),
                });
                continue;
            }
            // The receipt proves the delivery. Its `Delivered` event may come later than the
            // receipt (the delivery request answers after the chain's block is out), or after
            // the entry closed, or never (the request failed after the chain took it): the
            // lane's next delivery must not wait for it.
            let delivered = self
                .inb
                .get(&lane)
                .and_then(|l| l.get(&sequence))
                .is_some_and(|e| e.delivered.is_some());
            if !delivered {
                self.on_delivered(lane.clone(), sequence, proof.receipt.result.clone(), out);
            }
            self.anchor(chain, height, &mut out.writes);
            if let Some(e) = self.inb.get_mut(&lane).and_then(|l| l.get_mut(&sequence)) {
                e.receipt = Some(proof);
            }
            self.index_in(&lane, sequence);
            self.persist_in(&lane, sequence, &mut out.writes);
        }
    }

    fn on_delivered(
        &mut self,
        lane: Lane,
        sequence: u64,
        result: ReceiptResult,
        out: &mut Output<F>,
    ) {
        if self.delivering.get(&lane) == Some(&sequence) {
            self.delivering.remove(&lane);
        }
        self.delivery_failed.remove(&lane);
        let Some(entry) = self.inb.get_mut(&lane).and_then(|l| l.get_mut(&sequence)) else {
            return;
        };
        if entry.delivered.is_some() {
            return;
        }
        entry.delivered = Some(result.clone());
        self.persist_in(&lane, sequence, &mut out.writes);
        let next = self.next_delivery.entry(lane.clone()).or_insert(1);
        if *next == sequence {
            *next = sequence.saturating_add(1);
        }
        out.writes.put(
            Column::Meta,
            next_key(&lane),
            encode(&(lane.clone(), *next)),
        );
        out.actions.push(Action::Stage {
            lane,
            sequence,
            stage: Stage::Delivered(result),
        });
    }

    fn reject(&mut self, peer: PeerId, reason: &'static str, detail: String, out: &mut Output<F>) {
        let state = self.peers.entry(peer).or_default();
        state.penalties = state.penalties.saturating_add(1);
        out.actions.push(Action::Rejected {
            peer,
            reason,
            detail,
        });
        if state.penalties == self.config.penalty_threshold {
            out.actions.push(Action::Disconnect {
                peer,
                reason: format!(
                    "{} refusals of its input (the last: {reason})",
                    state.penalties
                ),
            });
        }
    }

    /// Counts a duplicate without penalty.
    fn duplicate(peer: PeerId, detail: String, out: &mut Output<F>) {
        out.actions.push(Action::Rejected {
            peer,
            reason: "duplicate",
            detail,
        });
    }

    /// Penalties counted against `peer` so far.
    pub fn penalties(&self, peer: &PeerId) -> u32 {
        self.peers.get(peer).map_or(0, |p| p.penalties)
    }

    /// Forgets a disconnected peer's penalties (after its back-off).
    pub fn forgive(&mut self, peer: &PeerId) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.penalties = 0;
        }
    }

    fn on_frame(&mut self, peer: PeerId, frame: Frame<F>, now: Time, out: &mut Output<F>) {
        if let Err(e) = frame.check(&self.config.limits) {
            self.reject(peer, e.reason(), e.to_string(), out);
            return;
        }
        match frame {
            Frame::Batch(batch) => self.on_batch(peer, batch, now, out),
            Frame::Ack(ack) => self.on_ack(peer, ack, out),
            Frame::Receipts(batch) => self.on_receipt_batch(peer, batch, now, out),
            Frame::ReceiptAck(ack) => self.on_receipt_ack(peer, ack, out),
            Frame::Trust(status) => {
                let state = self.peers.entry(peer).or_default();
                state.trust = status
                    .clients
                    .into_iter()
                    .map(|c| (c.chain.clone(), c))
                    .collect();
            }
        }
    }

    /// Updates the peer-fed client of `chain` with `blocks`; the reason label on refusal.
    fn update_remote(
        &mut self,
        chain: &ChainId,
        blocks: &[F::LightBlock],
        now: Time,
        out: &mut Output<F>,
    ) -> Result<(), (&'static str, String)> {
        let family = F::default();
        let Some(client) = self.clients.get_mut(chain) else {
            return Err(("unknown-chain", format!("no light client of {chain}")));
        };
        if client.is_frozen() {
            return Err((
                "client-frozen",
                format!("the light client of {chain} is frozen"),
            ));
        }
        let before = client.revision();
        let mut result = Ok(());
        for block in blocks {
            let height = family.block_height(block);
            if family.block_chain(block) != chain {
                result = Err((
                    "light-block-chain",
                    format!("a light block of another chain than {chain}"),
                ));
                break;
            }
            match client.update(block.clone(), now) {
                Ok(UpdateOutcome::Trusted(_) | UpdateOutcome::AlreadyTrusted(_)) => {}
                Ok(UpdateOutcome::NotEnoughTrust(h, _)) => {
                    result = Err((
                        "not-enough-trust",
                        format!("light block {h} of {chain} has not enough trust"),
                    ));
                    break;
                }
                Ok(UpdateOutcome::Misbehaviour(_)) => {
                    out.actions.push(Action::Frozen {
                        chain: chain.clone(),
                        reason: format!(
                            "two valid blocks of {chain} at height {height}: light client frozen, its lanes stop"
                        ),
                    });
                    result = Err((
                        "misbehaviour",
                        format!("conflicting block {height} of {chain}"),
                    ));
                    break;
                }
                Err(e) => {
                    result = Err((e.reason(), format!("light block {height} of {chain}: {e}")));
                    break;
                }
            }
        }
        if client.revision() != before {
            self.persist_client(chain, &mut out.writes);
        }
        result
    }

    fn on_batch(&mut self, peer: PeerId, batch: MessageBatch<F>, now: Time, out: &mut Output<F>) {
        let lane = batch.lane.clone();
        // Cheap checks first: the lane is ours and comes from this peer, the messages are
        // the lane's, in increasing order.
        if !self.config.home.contains(&lane.destination) {
            return self.reject(
                peer,
                "lane-not-served",
                format!(
                    "lane {lane}: this relay does not serve {}",
                    lane.destination
                ),
                out,
            );
        }
        if self.config.routes.get(&lane.source) != Some(&peer) {
            return self.reject(
                peer,
                "wrong-peer",
                format!("lane {lane}: this peer does not serve {}", lane.source),
                out,
            );
        }
        let mut previous = 0u64;
        for m in &batch.messages {
            if Lane::of(m) != lane || m.sequence <= previous {
                return self.reject(
                    peer,
                    "batch-shape",
                    format!(
                        "lane {lane} height {}: message {} is not of the lane or out of order",
                        batch.height, m.sequence
                    ),
                    out,
                );
            }
            previous = m.sequence;
        }
        if batch.messages.is_empty() != batch.proof.is_none() {
            return self.reject(
                peer,
                "batch-shape",
                format!(
                    "lane {lane} height {}: a batch carries a proof exactly when it carries messages",
                    batch.height
                ),
                out,
            );
        }
        // A batch without messages refreshes the light client (see `pump_refresh`): its
        // blocks are verified like any others, and the ack tells the sender what is trusted.
        let Some(proof) = batch.proof else {
            if batch.light_blocks.is_empty() {
                return;
            }
            if let Err((reason, detail)) =
                self.update_remote(&lane.source, &batch.light_blocks, now, out)
            {
                return self.reject(peer, reason, detail, out);
            }
            let trusted_height = self
                .clients
                .get(&lane.source)
                .and_then(|c| c.latest().map(|_| c.latest_height()));
            out.actions.push(Action::Send {
                peer,
                frame: Frame::Ack(Ack {
                    lane,
                    sequences: Vec::new(),
                    trusted_height,
                }),
            });
            return;
        };
        // Drop what is already held or delivered, before any signature.
        let delivered_below = self.next_delivery.get(&lane).copied().unwrap_or(1);
        let held = self.inb.get(&lane);
        let fresh: Vec<bool> = batch
            .messages
            .iter()
            .map(|m| {
                m.sequence >= delivered_below && !held.is_some_and(|h| h.contains_key(&m.sequence))
            })
            .collect();
        let mut acked: Vec<u64> = (batch.messages.iter().zip(&fresh))
            .filter(|(_, fresh)| !**fresh)
            .map(|(m, _)| m.sequence)
            .collect();
        if !acked.is_empty() {
            Self::duplicate(
                peer,
                format!(
                    "lane {lane}: {} message(s) already held (first {})",
                    acked.len(),
                    acked.first().copied().unwrap_or_default()
                ),
                out,
            );
        }
        if fresh.contains(&true) {
            if let Err((reason, detail)) =
                self.update_remote(&lane.source, &batch.light_blocks, now, out)
            {
                return self.reject(peer, reason, detail, out);
            }
            let Some(client) = self.clients.get(&lane.source) else {
                return;
            };
            // One proof for the whole batch: the held ones are checked with the rest.
            match verify_batch(client, batch.height, &batch.messages, &proof) {
                Ok(proofs) => {
                    self.anchor(&lane.source, batch.height, &mut out.writes);
                    let messages = batch.messages.into_iter().zip(proofs).zip(fresh);
                    for ((message, proof), _) in messages.filter(|(_, fresh)| *fresh) {
                        let sequence = message.sequence;
                        self.inb.entry(lane.clone()).or_default().insert(
                            sequence,
                            InEntry {
                                message,
                                proof,
                                height: batch.height,
                                delivered: None,
                                receipt: None,
                            },
                        );
                        self.index_in(&lane, sequence);
                        self.persist_in(&lane, sequence, &mut out.writes);
                        acked.push(sequence);
                        out.actions.push(Action::Stage {
                            lane: lane.clone(),
                            sequence,
                            stage: Stage::Received,
                        });
                    }
                }
                Err(e) => {
                    let detail = format!(
                        "lane {lane} batch of {} at height {}: {e}",
                        batch.messages.len(),
                        batch.height
                    );
                    self.reject(peer, e.reason(), detail, out);
                }
            }
        }
        self.finish_ack(peer, &lane, acked, out);
    }

    fn finish_ack(&mut self, peer: PeerId, lane: &Lane, mut acked: Vec<u64>, out: &mut Output<F>) {
        if acked.is_empty() {
            return;
        }
        acked.sort_unstable();
        let trusted_height = self
            .clients
            .get(&lane.source)
            .and_then(|c| c.latest().map(|_| c.latest_height()));
        out.actions.push(Action::Send {
            peer,
            frame: Frame::Ack(Ack {
                lane: lane.clone(),
                sequences: acked,
                trusted_height,
            }),
        });
    }

    fn on_ack(&mut self, peer: PeerId, ack: Ack, out: &mut Output<F>) {
        let lane = ack.lane;
        if self.config.routes.get(&lane.destination) != Some(&peer) {
            return self.reject(
                peer,
                "wrong-peer",
                format!("ack of lane {lane} from a peer that does not serve its destination"),
                out,
            );
        }
        let state = self.peers.entry(peer).or_default();
        if let Some(h) = ack.trusted_height {
            state.trusts(&lane.source, h);
        }
        for sequence in &ack.sequences {
            state.in_flight.remove(&(lane.clone(), *sequence, false));
        }
        for sequence in ack.sequences {
            if let Some(e) = self.out.get_mut(&lane).and_then(|l| l.get_mut(&sequence)) {
                if !e.forwarded {
                    e.forwarded = true;
                    self.index_out(&lane, sequence);
                    self.persist_out(&lane, sequence, &mut out.writes);
                    out.actions.push(Action::Stage {
                        lane: lane.clone(),
                        sequence,
                        stage: Stage::Forwarded,
                    });
                }
            }
        }
    }

    fn on_receipt_batch(
        &mut self,
        peer: PeerId,
        batch: ReceiptBatch<F>,
        now: Time,
        out: &mut Output<F>,
    ) {
        let chain = batch.chain.clone();
        if self.config.routes.get(&chain) != Some(&peer) {
            return self.reject(
                peer,
                "wrong-peer",
                format!("receipts of {chain} from a peer that does not serve it"),
                out,
            );
        }
        if batch.receipts.is_empty() != batch.proof.is_none() {
            return self.reject(
                peer,
                "batch-shape",
                format!(
                    "receipts of {chain} at {}: a batch carries a proof exactly when it carries receipts",
                    batch.height
                ),
                out,
            );
        }
        // Cheap checks of every receipt first: its lane, and each (lane, sequence) once.
        let mut fresh = Vec::new();
        let mut named = BTreeSet::new();
        let mut acks: BTreeMap<Lane, Vec<u64>> = BTreeMap::new();
        for r in &batch.receipts {
            let lane = Lane {
                source: r.source_chain.clone(),
                destination: r.destination_chain.clone(),
                channel: r.channel,
            };
            if lane.destination != chain
                || !self.config.home.contains(&lane.source)
                || !named.insert((lane.clone(), r.sequence))
            {
                return self.reject(
                    peer,
                    "batch-shape",
                    format!(
                        "receipt {} of lane {lane} does not belong in a batch of {chain} at {} (another chain's, or named twice)",
                        r.sequence, batch.height
                    ),
                    out,
                );
            }
            let open = self
                .out
                .get(&lane)
                .and_then(|l| l.get(&r.sequence))
                .is_some_and(|e| e.done.is_none());
            if open {
                fresh.push((lane, r));
            } else {
                acks.entry(lane).or_default().push(r.sequence);
            }
        }
        if !acks.is_empty() {
            Self::duplicate(
                peer,
                format!("receipts of {chain} at {} already closed", batch.height),
                out,
            );
        }
        if let (false, Some(proof)) = (fresh.is_empty(), &batch.proof) {
            if let Err((reason, detail)) = self.update_remote(&chain, &batch.light_blocks, now, out)
            {
                return self.reject(peer, reason, detail, out);
            }
            let Some(client) = self.clients.get(&chain) else {
                return self.reject(
                    peer,
                    "unknown-chain",
                    format!("no light client of {chain}"),
                    out,
                );
            };
            // One proof for the whole batch: receipts already closed are checked with the
            // rest, and one forged receipt refuses the batch.
            if let Err(e) = verify_receipts(client, batch.height, &batch.receipts, proof) {
                let detail = format!(
                    "receipts of {chain}: batch of {} at height {}: {e}",
                    batch.receipts.len(),
                    batch.height
                );
                return self.reject(peer, e.reason(), detail, out);
            }
            for (lane, receipt) in fresh {
                let sequence = receipt.sequence;
                if let Err((reason, detail)) = self.check_receipt(&lane, receipt) {
                    self.reject(peer, reason, detail, out);
                    continue;
                }
                let result = receipt.result.clone();
                if let Some(e) = self.out.get_mut(&lane).and_then(|l| l.get_mut(&sequence)) {
                    e.done = Some(result.clone());
                    e.forwarded = true;
                }
                self.index_out(&lane, sequence);
                self.persist_out(&lane, sequence, &mut out.writes);
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.in_flight.remove(&(lane.clone(), sequence, false));
                }
                out.actions.push(Action::Stage {
                    lane: lane.clone(),
                    sequence,
                    stage: Stage::Acknowledged(result),
                });
                acks.entry(lane).or_default().push(sequence);
            }
            self.compact_out(&mut out.writes);
            self.gc_anchors(&mut out.writes);
        }
        let trusted_height = self
            .clients
            .get(&chain)
            .and_then(|c| c.latest().map(|_| c.latest_height()));
        for (lane, mut sequences) in acks {
            sequences.sort_unstable();
            out.actions.push(Action::Send {
                peer,
                frame: Frame::ReceiptAck(ReceiptAck {
                    lane,
                    sequences,
                    trusted_height,
                }),
            });
        }
    }

    /// Checks that a receipt whose proof verified is for the message this relay sent.
    fn check_receipt(&self, lane: &Lane, receipt: &Receipt) -> Result<(), (&'static str, String)> {
        let sequence = receipt.sequence;
        let entry = self.out.get(lane).and_then(|l| l.get(&sequence)).ok_or((
            "unknown-message",
            format!("no message {sequence} on lane {lane}"),
        ))?;
        let expected = entry
            .message
            .commitment()
            .map_err(|e| ("malformed-message", e.to_string()))?;
        if receipt.message_commitment != expected {
            return Err((
                "receipt-mismatch",
                format!("receipt {sequence} of lane {lane} is for another message"),
            ));
        }
        Ok(())
    }

    /// Drops closed outbound entries from memory and store once every lower one is closed,
    /// keeping the lane's closed watermark.
    fn compact_out(&mut self, writes: &mut WriteBatch) {
        for (lane, entries) in &mut self.out {
            let mut up_to = self.closed_up_to.get(lane).copied().unwrap_or(0);
            let before = up_to;
            while let Some(entry) = entries.first_key_value() {
                let (seq, e) = (*entry.0, entry.1);
                if e.done.is_none() || seq != up_to.saturating_add(1) {
                    break;
                }
                up_to = seq;
                entries.pop_first();
                writes.delete(Column::Outbound, entry_key(lane, seq));
            }
            if up_to != before {
                self.closed_up_to.insert(lane.clone(), up_to);
                writes.put(
                    Column::Meta,
                    closed_key(lane),
                    encode(&(lane.clone(), up_to)),
                );
            }
        }
    }

    fn on_receipt_ack(&mut self, peer: PeerId, ack: ReceiptAck, out: &mut Output<F>) {
        let lane = ack.lane;
        if self.config.routes.get(&lane.source) != Some(&peer) {
            return self.reject(
                peer,
                "wrong-peer",
                format!("receipt ack of lane {lane} from a peer that does not serve its source"),
                out,
            );
        }
        let state = self.peers.entry(peer).or_default();
        if let Some(h) = ack.trusted_height {
            state.trusts(&lane.destination, h);
        }
        for sequence in ack.sequences {
            state.in_flight.remove(&(lane.clone(), sequence, true));
            let Some(entries) = self.inb.get_mut(&lane) else {
                continue;
            };
            let proven = entries
                .get(&sequence)
                .and_then(|e| e.receipt.as_ref())
                .map(|r| r.receipt.result.clone());
            if let Some(result) = proven {
                entries.remove(&sequence);
                if let Some(proven) = self.inb_proven.get_mut(&lane) {
                    proven.remove(&sequence);
                }
                out.writes
                    .delete(Column::Inbound, entry_key(&lane, sequence));
                // The source side holds the proven receipt: closed on both sides.
                out.actions.push(Action::Stage {
                    lane: lane.clone(),
                    sequence,
                    stage: Stage::Acknowledged(result),
                });
            }
        }
        self.gc_anchors(&mut out.writes);
    }

    /// The verified block of `chain` at `height`: in the client's window or anchored.
    fn verified_block(&self, chain: &ChainId, height: Height) -> Option<&F::LightBlock> {
        self.clients
            .get(chain)
            .and_then(|c| c.trusted_at(height))
            .or_else(|| self.anchors.get(&(chain.clone(), height)))
    }

    /// Verified blocks of `chain` with heights in `(from, to]`, increasing: the client's
    /// window and the anchors.
    fn verified_range(&self, chain: &ChainId, from: Height, to: Height) -> Vec<F::LightBlock> {
        use core::ops::Bound::{Excluded, Included};
        let mut blocks: BTreeMap<Height, &F::LightBlock> = BTreeMap::new();
        if let Some(c) = self.clients.get(chain) {
            let family = F::default();
            for b in c.trusted_range((Excluded(from), Included(to))) {
                blocks.insert(family.block_height(b), b);
            }
        }
        for ((_, h), b) in self.anchors.range((
            Excluded((chain.clone(), from)),
            Included((chain.clone(), to)),
        )) {
            blocks.insert(*h, b);
        }
        blocks.into_values().cloned().collect()
    }

    /// The light blocks a party needs to reach `target` of `chain` when it trusts
    /// `trusted` (its latest height) or, trusting no block yet, only its root at `root`
    /// (this relay's root when unknown). The last `max_light_blocks` of the path: the
    /// party verifies the first of them by skipping from what it trusts.
    fn path_for(
        &self,
        chain: &ChainId,
        trusted: Option<Height>,
        root: Option<Height>,
        target: Height,
        now: Time,
    ) -> Option<Vec<F::LightBlock>> {
        let target_block = self.verified_block(chain, target)?;
        let max = self.config.limits.max_light_blocks;
        match trusted {
            // The party verifies `target` from its nearest trusted block below.
            Some(latest) if latest >= target => Some(vec![target_block.clone()]),
            Some(latest) => {
                let mut blocks = self.verified_range(chain, latest, target);
                if blocks.len() > max {
                    if let Some(path) = self.skipping_path(chain, latest, target, now) {
                        return Some(path);
                    }
                    let cut = blocks.len().saturating_sub(max);
                    blocks.drain(..cut);
                }
                Some(blocks)
            }
            None => {
                let root = root.or_else(|| self.clients.get(chain).map(|c| c.root().height))?;
                let mut blocks = vec![self.verified_block(chain, root)?.clone()];
                // The blocks above the root, none when the target is not above it (the
                // range is empty then; `max` keeps its bounds in order).
                let mut rest = self.verified_range(chain, root, target.max(root));
                let cut = rest.len().saturating_sub(max.saturating_sub(1));
                rest.drain(..cut);
                blocks.extend(rest);
                Some(blocks)
            }
        }
    }

    /// A skipping path from the verified block at `from` to `target`, planned by the light
    /// client's bisection over the blocks this relay holds (no IO): each block of it
    /// verifies from the one before. `None` when a block the plan asks for is not held.
    fn skipping_path(
        &self,
        chain: &ChainId,
        from: Height,
        target: Height,
        now: Time,
    ) -> Option<Vec<F::LightBlock>> {
        use corridor_light_client::bisection::{Bisection, Outcome};
        let family = F::default();
        let client = self.clients.get(chain)?;
        let base = self.verified_block(chain, from)?;
        let mut plan = Bisection::new(
            family,
            family.trusted_state(base),
            target,
            *client.options(),
        );
        while let Some(height) = plan.next_height() {
            let block = self.verified_block(chain, height)?;
            plan.handle_light_block(block, now).ok()?;
        }
        if !matches!(plan.outcome(), Outcome::Done(_)) {
            return None;
        }
        // The plan's path holds the states it verified, never its base: every one is
        // above `from`.
        let path: Vec<_> = plan
            .path()
            .iter()
            .filter_map(|s| {
                self.verified_block(chain, family.trusted_height(s))
                    .cloned()
            })
            .collect();
        (path.len() <= self.config.limits.max_light_blocks).then_some(path)
    }

    /// Sends what is due, delivers what is next.
    fn pump(&mut self, now: Time, out: &mut Output<F>) {
        self.pump_refresh(now, out);
        self.pump_outbound(now, out);
        self.pump_receipts(now, out);
        self.pump_deliveries(now, out);
    }

    /// Keeps peers' light clients of this relay's chains fresh when no message flows: once
    /// half the trusting period has passed since the block a peer trusts, send it the path
    /// to this relay's latest block (a batch without messages), at most once per
    /// `resend_after`.
    fn pump_refresh(&mut self, now: Time, out: &mut Output<F>) {
        let family = F::default();
        let mut sends = Vec::new();
        for (peer, state) in &self.peers {
            if !state.connected {
                continue;
            }
            // A lane of ours into the peer: any chain the peer serves as destination.
            let Some(destination) = self
                .config
                .routes
                .iter()
                .find(|(_, p)| *p == peer)
                .map(|(c, _)| c.clone())
            else {
                continue;
            };
            for (chain, trust) in &state.trust {
                let Some(client) = self.clients.get(chain) else {
                    continue;
                };
                let Some(latest) = trust.latest else { continue };
                if !self.config.home.contains(chain) || client.latest_height() <= latest {
                    continue;
                }
                let Some(block) = self.verified_block(chain, latest) else {
                    continue;
                };
                let half = client.options().trusting_period / 2;
                let stale = family
                    .block_time(block)
                    .checked_add(half)
                    .is_none_or(|t| t <= now);
                let recently = self
                    .refreshed
                    .get(&(*peer, chain.clone()))
                    .is_some_and(|t| !self.due(Some(t), now));
                if stale && !recently {
                    sends.push((*peer, chain.clone(), destination.clone(), latest));
                }
            }
        }
        for (peer, chain, destination, latest) in sends {
            let Some(client) = self.clients.get(&chain) else {
                continue;
            };
            let target = client.latest_height();
            let Some(light_blocks) = self.path_for(&chain, Some(latest), None, target, now) else {
                continue;
            };
            self.refreshed.insert((peer, chain.clone()), now);
            out.actions.push(Action::Send {
                peer,
                frame: Frame::Batch(MessageBatch {
                    lane: Lane {
                        source: chain,
                        destination,
                        channel: 0,
                    },
                    height: target,
                    light_blocks,
                    messages: Vec::new(),
                    proof: None,
                }),
            });
        }
    }

    /// Brings `out_unsent` in step with the outbound entry (`lane`, `sequence`) after it
    /// changed: listed while it is held, not acknowledged and not closed.
    fn index_out(&mut self, lane: &Lane, sequence: u64) {
        let unsent = self
            .out
            .get(lane)
            .and_then(|l| l.get(&sequence))
            .is_some_and(|e| !e.forwarded && e.done.is_none());
        let set = self.out_unsent.entry(lane.clone()).or_default();
        if unsent {
            set.insert(sequence);
        } else {
            set.remove(&sequence);
        }
    }

    /// Brings `inb_proven` in step with the inbound entry (`lane`, `sequence`) after it
    /// changed: listed while it is held with a proven receipt.
    fn index_in(&mut self, lane: &Lane, sequence: u64) {
        let proven = self
            .inb
            .get(lane)
            .and_then(|l| l.get(&sequence))
            .is_some_and(|e| e.receipt.is_some());
        let set = self.inb_proven.entry(lane.clone()).or_default();
        if proven {
            set.insert(sequence);
        } else {
            set.remove(&sequence);
        }
    }

    /// Messages and receipts in flight to a peer and not yet due for a resend: what takes
    /// room in its window.
    fn waiting(&self, state: &PeerState, now: Time) -> usize {
        state
            .in_flight
            .values()
            .filter(|t| !self.due(Some(t), now))
            .count()
    }

    fn due(&self, sent: Option<&Time>, now: Time) -> bool {
        sent.is_none_or(|t| now.saturating_duration_since(*t) >= self.config.resend_after)
    }

    fn pump_outbound(&mut self, now: Time, out: &mut Output<F>) {
        // Per batch to be: the peer, the lane, the source height, the messages with their
        // own proofs (joined into one batch proof below).
        type Group<F> = (
            PeerId,
            Lane,
            Height,
            Vec<(TradeMessage, <F as Family>::LeafProof)>,
        );
        let mut groups: Vec<Group<F>> = Vec::new();
        let mut waiting: BTreeMap<PeerId, usize> = BTreeMap::new();
        for (lane, unsent) in &self.out_unsent {
            let Some(entries) = self.out.get(lane) else {
                continue;
            };
            let Some(peer) = self.config.routes.get(&lane.destination).copied() else {
                continue;
            };
            let Some(state) = self.peers.get(&peer) else {
                continue;
            };
            if !state.connected || self.clients.get(&lane.source).is_none_or(|c| c.is_frozen()) {
                continue;
            }
            // What is due for a resend goes again within the window: only what is in
            // flight and not yet due takes room (a lost batch that filled the window must
            // not stall the lane).
            let waiting = *waiting
                .entry(peer)
                .or_insert_with(|| self.waiting(state, now));
            let mut budget = self.config.window.saturating_sub(waiting);
            let mut current: Option<Group<F>> = None;
            let mut flying = state.flying(lane, false);
            for (seq, e) in unsent.iter().filter_map(|s| Some((s, entries.get(s)?))) {
                if budget == 0 {
                    break;
                }
                if !self.due(sent_at(&mut flying, *seq).as_ref(), now) {
                    continue;
                }
                let full = current.as_ref().is_some_and(|(_, _, height, messages)| {
                    *height != e.height || messages.len() >= self.config.limits.max_batch_messages
                });
                if full {
                    groups.extend(current.take());
                }
                let group =
                    current.get_or_insert_with(|| (peer, lane.clone(), e.height, Vec::new()));
                group.3.push((e.message.clone(), e.proof.clone()));
                budget -= 1;
            }
            groups.extend(current);
        }
        let family = F::default();
        let mut batches: Vec<(PeerId, MessageBatch<F>)> = Vec::new();
        for (peer, lane, height, messages) in groups {
            let (list, proofs): (Vec<TradeMessage>, Vec<F::LeafProof>) =
                messages.into_iter().unzip();
            let batch = |messages: Vec<TradeMessage>, proof| MessageBatch {
                lane: lane.clone(),
                height,
                light_blocks: Vec::new(),
                messages,
                proof: Some(proof),
            };
            match family.join_proofs(&proofs) {
                Some(proof) => batches.push((peer, batch(list, proof))),
                // Proofs that do not join (not of one tree, which a verified source block
                // does not give) go one message per batch.
                None => batches.extend(list.into_iter().zip(&proofs).filter_map(|(m, p)| {
                    let proof = family.join_proofs(std::slice::from_ref(p))?;
                    Some((peer, batch(vec![m], proof)))
                })),
            }
        }
        for (peer, mut batch) in batches {
            let trust = self
                .peers
                .get(&peer)
                .and_then(|p| p.trust.get(&batch.lane.source));
            let (latest, root) = (trust.and_then(|t| t.latest), trust.map(|t| t.root_height));
            let Some(path) = self.path_for(&batch.lane.source, latest, root, batch.height, now)
            else {
                continue;
            };
            // The peer's trust moves only on its acks (sent after it persisted): a lost
            // batch must not make later ones skip the blocks it carried.
            batch.light_blocks = path;
            if let Some(p) = self.peers.get_mut(&peer) {
                for m in &batch.messages {
                    p.in_flight
                        .insert((batch.lane.clone(), m.sequence, false), now);
                }
            }
            out.actions.push(Action::Send {
                peer,
                frame: Frame::Batch(batch),
            });
        }
    }

    fn pump_receipts(&mut self, now: Time, out: &mut Output<F>) {
        // Group due receipts by (peer, destination height, lane): a lane's receipts of one
        // block are leaves of one tree in sequence order, so their proofs join.
        type Group<F> = Vec<(Receipt, <F as Family>::LeafProof)>;
        let mut groups: BTreeMap<(PeerId, Height, Lane), Group<F>> = BTreeMap::new();
        let mut waiting: BTreeMap<PeerId, usize> = BTreeMap::new();
        for (lane, proven) in &self.inb_proven {
            let Some(entries) = self.inb.get(lane) else {
                continue;
            };
            let Some(peer) = self.config.routes.get(&lane.source).copied() else {
                continue;
            };
            let Some(state) = self.peers.get(&peer) else {
                continue;
            };
            if !state.connected {
                continue;
            }
            // What is due for a resend goes again within the window: only what is in
            // flight and not yet due takes room (a lost batch that filled the window must
            // not stall the lane).
            let waiting = *waiting
                .entry(peer)
                .or_insert_with(|| self.waiting(state, now));
            let mut budget = self.config.window.saturating_sub(waiting);
            let mut flying = state.flying(lane, true);
            for (seq, e) in proven.iter().filter_map(|s| Some((s, entries.get(s)?))) {
                if budget == 0 {
                    break;
                }
                let Some(proof) = &e.receipt else { continue };
                if !self.due(sent_at(&mut flying, *seq).as_ref(), now) {
                    continue;
                }
                let group = groups
                    .entry((peer, proof.height, lane.clone()))
                    .or_default();
                if group.len() < self.config.limits.max_batch_messages {
                    group.push((proof.receipt.clone(), proof.proof.clone()));
                    budget -= 1;
                }
            }
        }
        let family = F::default();
        let mut batches: Vec<(PeerId, Lane, ReceiptBatch<F>)> = Vec::new();
        for ((peer, height, lane), group) in groups {
            let (receipts, proofs): (Vec<Receipt>, Vec<F::LeafProof>) = group.into_iter().unzip();
            let batch = |receipts: Vec<Receipt>, proof| ReceiptBatch {
                chain: lane.destination.clone(),
                height,
                light_blocks: Vec::new(),
                receipts,
                proof: Some(proof),
            };
            match family.join_proofs(&proofs) {
                Some(proof) => batches.push((peer, lane.clone(), batch(receipts, proof))),
                // Proofs that do not join (not of one tree, which a verified destination
                // block does not give) go one receipt per batch.
                None => batches.extend(receipts.into_iter().zip(&proofs).filter_map(|(r, p)| {
                    let proof = family.join_proofs(std::slice::from_ref(p))?;
                    Some((peer, lane.clone(), batch(vec![r], proof)))
                })),
            }
        }
        for (peer, lane, mut batch) in batches {
            let trust = self
                .peers
                .get(&peer)
                .and_then(|p| p.trust.get(&batch.chain));
            let (latest, root) = (trust.and_then(|t| t.latest), trust.map(|t| t.root_height));
            let Some(path) = self.path_for(&batch.chain, latest, root, batch.height, now) else {
                continue;
            };
            batch.light_blocks = path;
            if let Some(p) = self.peers.get_mut(&peer) {
                for r in &batch.receipts {
                    p.in_flight.insert((lane.clone(), r.sequence, true), now);
                }
            }
            out.actions.push(Action::Send {
                peer,
                frame: Frame::Receipts(batch),
            });
        }
    }

    /// Starts a delivery batch on every inbound lane that has none in flight: the lane's
    /// next messages in sequence order, up to `max_delivery_batch` of them and
    /// `limits.max_light_blocks` light blocks in all (at most
    /// [`corridor_light_client::bundle::MAX_BUNDLE_LIGHT_BLOCKS`] by default, what an inbox takes in one request). The first bundle carries the path
    /// from what the inbox trusts to its height, each later one the path from the bundle
    /// before it (nothing when both are of one source block).
    fn pump_deliveries(&mut self, now: Time, out: &mut Output<F>) {
        let mut deliveries = Vec::new();
        for (lane, entries) in &self.inb {
            let backing_off = self
                .delivery_failed
                .get(lane)
                .is_some_and(|t| !self.due(Some(t), now));
            if backing_off
                || self.delivering.contains_key(lane)
                || self.clients.get(&lane.source).is_none_or(|c| c.is_frozen())
            {
                continue;
            }
            let (root, mut trusted) = match self
                .inbox_trust
                .get(&(lane.destination.clone(), lane.source.clone()))
            {
                Some((root, latest)) => (Some(*root), *latest),
                None => (None, None),
            };
            let mut bundles: Vec<ProofBundle<F>> = Vec::new();
            let mut light_blocks = 0usize;
            let mut sequence = self.next_delivery.get(lane).copied().unwrap_or(1);
            while bundles.len() < self.config.max_delivery_batch.max(1) {
                let Some(e) = entries.get(&sequence) else {
                    break;
                };
                if e.delivered.is_some() {
                    break;
                }
                let path = match trusted {
                    // Of the source block of the bundle before: nothing more to verify.
                    Some(t) if t == e.height && !bundles.is_empty() => Vec::new(),
                    _ => match self.path_for(&lane.source, trusted, root, e.height, now) {
                        Some(path) => path,
                        None => break,
                    },
                };
                light_blocks = light_blocks.saturating_add(path.len());
                if light_blocks > self.config.limits.max_light_blocks && !bundles.is_empty() {
                    break;
                }
                bundles.push(ProofBundle {
                    message: e.message.clone(),
                    proof: e.proof.clone(),
                    height: e.height,
                    light_blocks: path,
                });
                trusted = Some(e.height);
                sequence = sequence.saturating_add(1);
            }
            if let Some(last) = bundles.last() {
                deliveries.push((lane.clone(), last.message.sequence, last.height, bundles));
            }
        }
        for (lane, last, height, bundles) in deliveries {
            out.actions.push(Action::Deliver {
                chain: lane.destination.clone(),
                lane: lane.clone(),
                bundles,
            });
            let key = (lane.destination.clone(), lane.source.clone());
            // The inbox will trust the batch's heights once it took it.
            if let Some((_, latest)) = self.inbox_trust.get_mut(&key) {
                *latest = Some(latest.map_or(height, |h| h.max(height)));
            }
            self.delivering.insert(lane, last);
        }
    }
}

impl AuditRecord {
    /// This record's key in [`Column::Audit`].
    pub fn key(&self) -> Vec<u8> {
        audit_key(&self.lane, self.sequence, &self.stage)
    }

    /// The prefix every audit record of (`lane`, `sequence`) starts with: a scan of it
    /// gives the message's stages in lifecycle order.
    pub fn prefix(lane: &Lane, sequence: u64) -> Vec<u8> {
        entry_key(lane, sequence)
    }
}

/// An open entry as the store holds it, for readers outside the core (the trader API):
/// the message, its inclusion proof and the source height it is proven at, and on the
/// inbound side the destination's receipt once proven. Closed entries leave the store.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEntry<F: Family> {
    /// The message with its sequence.
    pub message: TradeMessage,
    /// Its inclusion proof under the source block's messages root.
    pub proof: F::LeafProof,
    /// The source height the proof is against.
    pub height: Height,
    /// Inbound only: the destination's receipt, once proven.
    pub receipt: Option<ReceiptProof<F>>,
}

/// The open outbound entry of (`lane`, `sequence`) in `store`, if there is one.
pub fn stored_outbound<F: Family>(
    store: &dyn Store,
    lane: &Lane,
    sequence: u64,
) -> Result<Option<StoredEntry<F>>, RestoreError> {
    let key = entry_key(lane, sequence);
    let Some(bytes) = store.get(Column::Outbound, &key)? else {
        return Ok(None);
    };
    let r: EntryRecord<OutEntry<F>> = decode(Column::Outbound, &key, &bytes)?;
    Ok(Some(StoredEntry {
        message: r.entry.message,
        proof: r.entry.proof,
        height: r.entry.height,
        receipt: None,
    }))
}

/// The open inbound entry of (`lane`, `sequence`) in `store`, if there is one.
pub fn stored_inbound<F: Family>(
    store: &dyn Store,
    lane: &Lane,
    sequence: u64,
) -> Result<Option<StoredEntry<F>>, RestoreError> {
    let key = entry_key(lane, sequence);
    let Some(bytes) = store.get(Column::Inbound, &key)? else {
        return Ok(None);
    };
    let r: EntryRecord<InEntry<F>> = decode(Column::Inbound, &key, &bytes)?;
    Ok(Some(StoredEntry {
        message: r.entry.message,
        proof: r.entry.proof,
        height: r.entry.height,
        receipt: r.entry.receipt,
    }))
}
