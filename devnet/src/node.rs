//! The devnet chain's node: the one writer of the chain's state.
//!
//! [`Node`] owns the outbox, the inbox with its light clients, the fault modes and the
//! latest block, and is the only code that writes the store. It runs on its own thread and
//! takes [`Command`]s from a bounded channel: a `Tick` from the block timer, a transaction,
//! a delivery, a fault change, `Shutdown`. Each command is handled to the end before the
//! next, so there is no lock and no interleaving to reason about; RPC readers read the
//! store (whose batches are atomic) and the [`NodeStatus`] the node publishes on a watch
//! channel after every change.
//!
//! Every change follows the same order: compute the new state, write it in one synced batch,
//! then apply it in memory and answer. A failed write changes nothing and is reported.
//!
//! Blocks: `testgen::block_at` signs each block with every validator of the spec's set at
//! that height (so the set rotates every `rotate_every` blocks), stamped with the real clock
//! (never earlier than the parent's time plus 1 ns). Block 1 is the deterministic genesis of
//! [`crate::config::genesis_block`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use corridor_adapters::devnet::{FaultState, MessageLocation, NodeStatus, TxAccepted};
use corridor_adapters::types::{
    DeliveryAck, InboxBundle, InboxClient, Receipt, ReceiptResult, RejectReason,
};
use corridor_light_client::bundle::{verify_bundle, BundleError};
use corridor_light_client::client::ClientError;
use corridor_light_client::envelope::{SignedMessage, TradeMessage};
use corridor_light_client::hash;
use corridor_light_client::merkle::MerkleTree;
use corridor_light_client::native::LightBlock;
use corridor_light_client::testgen::{self, BlockContents};
use corridor_light_client::{ChainId, Hash32, Height, Time};
use tokio::sync::{mpsc, oneshot, watch};

use crate::api::ChainError;
use crate::config::{genesis_block, DevnetConfig};
use crate::store::{
    height_key, Cf, DeliveryRecord, Direction, Lane, LaneKey, RocksStore, StoreError,
};

/// Most light blocks one delivery may carry.
pub use corridor_light_client::bundle::MAX_BUNDLE_LIGHT_BLOCKS;

const META_HEIGHT: &[u8] = b"height";
const META_PUBLISHED: &[u8] = b"published";
/// Where stores of an earlier layout kept every lane in one map.
const META_SEQUENCES: &[u8] = b"sequences";
const META_FAULTS: &[u8] = b"faults";
const META_PENDING_COUNTER: &[u8] = b"pending_counter";
const PENDING_OUT: u8 = b'o';
const PENDING_IN: u8 = b'i';
const TAG_STATE: &[u8] = b"corridor/devnet/state/v2\0";
const TAG_LANE: &[u8] = b"corridor/devnet/lane/v1\0";
const TAG_FORK: &[u8] = b"corridor/devnet/fork/v1\0";

/// A request to the node.
pub(crate) enum Command {
    /// The block timer fired.
    Tick,
    /// A trader's transaction.
    SubmitTx(
        Box<SignedMessage>,
        oneshot::Sender<Result<TxAccepted, ChainError>>,
    ),
    /// Inbound deliveries of one lane, checked by the RPC (see [`Deliveries`]).
    Deliver(Box<Deliveries>, oneshot::Sender<DeliveryOutcome>),
    /// New fault modes.
    SetFaults(FaultState, oneshot::Sender<Result<NodeStatus, ChainError>>),
    /// Stop after the current command.
    Shutdown,
}

/// The next sequence of every lane: in memory here, one key per lane in the store's `lanes`
/// column family, so a transaction writes only the lane it moves.
///
/// ## State root
/// A header's state root is `tagged(TAG_STATE, R)`, where `R` is the root of the Merkle tree
/// (`MerkleTree`, RFC 6962 style) over one leaf per lane, in ascending order of the lanes'
/// canonical key bytes ([`LaneKey`]): leaf = `TAG_LANE || key || next sequence (u64
/// big-endian)`. A lane key is self-delimiting (length-prefixed chain id, fixed-width
/// channel), so every leaf parses one way only. A lane that was never used has no leaf (its
/// next sequence is 1). The root is computed when a block is produced, and only when a lane
/// moved since the last block.
#[derive(Default)]
struct Lanes {
    next: BTreeMap<LaneKey, u64>,
    /// The root over `next`, while no lane moved since it was computed.
    root: Option<Hash32>,
}

impl Lanes {
    /// The next sequence of a lane: to assign (outbound) or to expect (inbound).
    fn next(&self, key: &LaneKey) -> u64 {
        self.next.get(key).copied().unwrap_or(1)
    }

    /// Records a lane's next sequence (after the store has it).
    fn set(&mut self, key: LaneKey, next: u64) {
        self.next.insert(key, next);
        self.root = None;
    }

    /// The state root (see the type's docs).
    fn root(&mut self) -> Hash32 {
        if let Some(root) = self.root {
            return root;
        }
        let leaves: Vec<Vec<u8>> = self
            .next
            .iter()
            .map(|(key, next)| {
                let mut leaf = TAG_LANE.to_vec();
                leaf.extend_from_slice(key.as_bytes());
                leaf.extend_from_slice(&next.to_be_bytes());
                leaf
            })
            .collect();
        let root = hash::tagged(
            TAG_STATE,
            MerkleTree::from_leaves(&leaves).root().as_bytes(),
        );
        self.root = Some(root);
        root
    }
}

/// The node's answer to a delivery.
pub(crate) struct Delivery {
    /// The acknowledgement.
    pub(crate) ack: DeliveryAck,
    /// Whether the same message had been delivered before (this is its original answer).
    pub(crate) repeat: bool,
}

/// Deliveries of one lane, in sequence order, that passed the RPC's cheap checks and, when
/// they brought light blocks the inbox did not trust, verified on a copy of the inbox's
/// client off this thread (`crate::rpc` explains the order of the checks).
pub(crate) struct Deliveries {
    /// The bundles to take, in order.
    pub(crate) bundles: Vec<InboxBundle>,
    /// The client copy they verified on: the revision it was copied at, and the copy after.
    /// When the node's client is still at that revision, the copy replaces it, so the
    /// light blocks' signatures are not checked again here; otherwise they are.
    pub(crate) verified: Option<(u64, InboxClient)>,
    /// Why the bundle after `bundles` was refused before reaching the node, if one was.
    pub(crate) then_refused: Option<ChainError>,
}

/// The node's answer to [`Deliveries`]: one [`Delivery`] per bundle taken, in order, and
/// why the next one was refused, if one was.
#[derive(Default)]
pub(crate) struct DeliveryOutcome {
    /// The bundles taken.
    pub(crate) deliveries: Vec<Delivery>,
    /// Why the bundle after them was refused.
    pub(crate) refused: Option<ChainError>,
}

impl DeliveryOutcome {
    /// Nothing taken, for this reason.
    pub(crate) fn refused(e: ChainError) -> Self {
        Self {
            deliveries: Vec::new(),
            refused: Some(e),
        }
    }
}

/// The inbox's light clients as last persisted, shared with the RPC so that deliveries'
/// light blocks are verified on copies, off the node's thread.
#[derive(Clone, Default)]
pub(crate) struct ClientSnapshots(Arc<RwLock<BTreeMap<ChainId, Arc<InboxClient>>>>);

impl ClientSnapshots {
    /// The client of `source`, as last persisted.
    pub(crate) fn get(&self, source: &ChainId) -> Option<Arc<InboxClient>> {
        // A poisoned lock only means a panic elsewhere between two whole-value writes.
        let map = self.0.read().unwrap_or_else(PoisonError::into_inner);
        map.get(source).cloned()
    }

    fn set(&self, source: &ChainId, client: &InboxClient) {
        let client = Arc::new(client.clone());
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        map.insert(source.clone(), client);
    }
}

/// What [`Node::accept_delivery`] decided.
enum Acceptance {
    /// The lane's next message: its receipt, and the lane's next sequence after it.
    New {
        receipt: Receipt,
        lane: LaneKey,
        next: u64,
    },
    /// The message that consumed its sequence, again: the original acknowledgement.
    Repeat(DeliveryAck),
}

/// Transactions of one group on their way to one synced write: its batch and what later
/// transactions of the group must see of the earlier ones.
struct TxGroup<'a> {
    batch: crate::store::Batch<'a>,
    /// Lanes' next sequences after the group.
    lanes: BTreeMap<LaneKey, u64>,
    /// Messages taken by the group, by id.
    ids: BTreeMap<Hash32, MessageLocation>,
    /// The pending counter after the group.
    counter: u64,
    /// Messages for the next block, in order.
    queued: Vec<PendingOut>,
}

/// Most transactions written together (one synced write).
const MAX_TX_GROUP: usize = 512;

struct PendingOut {
    key: Vec<u8>,
    id: Hash32,
    message: TradeMessage,
}

struct PendingIn {
    key: Vec<u8>,
    receipt: Receipt,
}

/// The node. See the module docs.
pub(crate) struct Node {
    config: Arc<DevnetConfig>,
    store: Arc<RocksStore>,
    /// The latest produced block, correctly signed.
    latest: LightBlock,
    /// Height, hash and time of the latest published block.
    published: (Height, Hash32, Time),
    lanes: Lanes,
    pending_out: VecDeque<PendingOut>,
    pending_in: VecDeque<PendingIn>,
    pending_counter: u64,
    clients: BTreeMap<ChainId, InboxClient>,
    snapshots: ClientSnapshots,
    faults: FaultState,
    ticks: u64,
    status: watch::Sender<NodeStatus>,
}

/// The current time from the system clock.
pub(crate) fn system_now() -> Time {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Time::from_unix_nanos(nanos)
}

impl Node {
    /// Opens the chain from its store, or writes its genesis when the store is new.
    pub(crate) fn open(
        config: Arc<DevnetConfig>,
        store: Arc<RocksStore>,
    ) -> Result<(Self, watch::Receiver<NodeStatus>), ChainError> {
        let produced: Option<u64> = store.get(Cf::Meta, META_HEIGHT)?;
        if produced.is_none() {
            Self::write_genesis(&config, &store)?;
        }
        let produced = Height(store.get(Cf::Meta, META_HEIGHT)?.unwrap_or(1u64));
        let latest: LightBlock = store
            .get(Cf::Blocks, &height_key(produced))?
            .ok_or_else(|| ChainError::NotFound(format!("stored block at height {produced}")))?;
        // The stored block may carry a corrupted signature (fault mode); only its header is
        // used as a parent, and the header is the same.
        let published_height = Height(store.get(Cf::Meta, META_PUBLISHED)?.unwrap_or(produced.0));
        let published_block: LightBlock = store
            .get(Cf::Blocks, &height_key(published_height))?
            .ok_or_else(|| {
                ChainError::NotFound(format!("stored block at height {published_height}"))
            })?;
        if store.get_raw(Cf::Meta, META_SEQUENCES)?.is_some() {
            return Err(ChainError::Store(StoreError::Corrupt {
                cf: "meta",
                reason: "the store has the earlier layout (all lanes in one `sequences` value); \
                         delete its folder to start this devnet chain from genesis"
                    .into(),
            }));
        }
        let mut lanes = Lanes::default();
        for (key, next) in store.scan::<u64>(Cf::Lanes, &[])? {
            lanes.set(LaneKey::from_stored(key), next);
        }
        let faults: FaultState = store
            .get(Cf::Meta, META_FAULTS)?
            .unwrap_or_else(|| config.faults.clone());
        let pending_counter: u64 = store.get(Cf::Meta, META_PENDING_COUNTER)?.unwrap_or(0);
        let mut pending_out = VecDeque::new();
        for (key, message) in store.scan::<TradeMessage>(Cf::Pending, &[PENDING_OUT])? {
            let id = message
                .message
                .id()
                .map_err(|e| ChainError::Malformed(e.to_string()))?;
            pending_out.push_back(PendingOut { key, id, message });
        }
        let mut pending_in = VecDeque::new();
        for (key, receipt) in store.scan::<Receipt>(Cf::Pending, &[PENDING_IN])? {
            pending_in.push_back(PendingIn { key, receipt });
        }
        let mut clients = BTreeMap::new();
        for peer in &config.peers {
            let id = peer.chain_id().clone();
            let client = match store.get::<InboxClient>(Cf::Clients, id.as_str().as_bytes())? {
                // A client stored under another trust root than the configured one is not
                // silently kept or replaced: the operator decides.
                Some(c) if c.root() != &peer.root => {
                    return Err(ChainError::Malformed(format!(
                        "the stored light client of {id} trusts the header {} at height {}, \
                         the config names {} at height {}: restore the config or delete the \
                         store",
                        c.root().header_hash,
                        c.root().height,
                        peer.root.header_hash,
                        peer.root.height
                    )));
                }
                Some(c) => c,
                None => peer.new_client(),
            };
            clients.insert(id, client);
        }
        let header = published_block.header();
        let published = (published_height, header.hash(), header.time);
        let initial = NodeStatus {
            chain_id: config.chain_id().clone(),
            produced_height: produced,
            published_height,
            published_hash: published.1,
            published_time: published.2,
            ticks: 0,
            faults: faults.clone(),
            pending_messages: pending_out.len(),
            pending_receipts: pending_in.len(),
        };
        let (status, status_rx) = watch::channel(initial);
        let snapshots = ClientSnapshots::default();
        for (id, client) in &clients {
            snapshots.set(id, client);
        }
        tracing::info!(chain = %config.chain_id(), height = produced.0, "devnet chain opened");
        Ok((
            Self {
                config,
                store,
                latest,
                published,
                lanes,
                pending_out,
                pending_in,
                pending_counter,
                clients,
                snapshots,
                faults,
                ticks: 0,
                status,
            },
            status_rx,
        ))
    }

    fn write_genesis(config: &DevnetConfig, store: &RocksStore) -> Result<(), ChainError> {
        let genesis = genesis_block(&config.spec);
        let mut batch = store.batch();
        batch.put(Cf::Blocks, &height_key(Height(1)), &genesis)?;
        batch.put(Cf::Meta, META_HEIGHT, &1u64)?;
        batch.put(Cf::Meta, META_PUBLISHED, &1u64)?;
        batch.put(Cf::Meta, META_FAULTS, &config.faults)?;
        for peer in &config.peers {
            let client = peer.new_client();
            batch.put(Cf::Clients, peer.chain_id().as_str().as_bytes(), &client)?;
        }
        store.commit(batch)?;
        tracing::info!(chain = %config.chain_id(), hash = %genesis.header().hash(), "genesis written");
        Ok(())
    }

    fn chain_id(&self) -> &ChainId {
        &self.config.spec.chain_id
    }

    /// The inbox clients' snapshots, for the RPC.
    pub(crate) fn snapshots(&self) -> ClientSnapshots {
        self.snapshots.clone()
    }

    /// Handles commands until `Shutdown` or until every sender is gone.
    pub(crate) fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let span = tracing::info_span!("devnet-node", chain = %self.chain_id());
        let _entered = span.enter();
        // A command taken while gathering transactions, to run next.
        let mut held = None;
        while let Some(command) = held.take().or_else(|| commands.blocking_recv()) {
            match command {
                Command::Tick => {
                    if let Err(e) = self.tick() {
                        tracing::error!(error = %e, "block production failed");
                    }
                }
                Command::SubmitTx(message, reply) => {
                    // Transactions waiting together are written together.
                    let mut group = vec![(*message, reply)];
                    while group.len() < MAX_TX_GROUP {
                        match commands.try_recv() {
                            Ok(Command::SubmitTx(message, reply)) => group.push((*message, reply)),
                            Ok(other) => {
                                held = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    let (messages, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
                    for (reply, result) in replies.into_iter().zip(self.submit(messages)) {
                        let _ = reply.send(result);
                    }
                }
                Command::Deliver(deliveries, reply) => {
                    let _ = reply.send(self.deliver(*deliveries));
                }
                Command::SetFaults(faults, reply) => {
                    let _ = reply.send(self.set_faults(faults));
                }
                Command::Shutdown => break,
            }
        }
        tracing::info!(height = self.latest.height().0, "devnet node stopped");
    }

    fn publish_status(&self) {
        self.status.send_replace(NodeStatus {
            chain_id: self.chain_id().clone(),
            produced_height: self.latest.height(),
            published_height: self.published.0,
            published_hash: self.published.1,
            published_time: self.published.2,
            ticks: self.ticks,
            faults: self.faults.clone(),
            pending_messages: self.pending_out.len(),
            pending_receipts: self.pending_in.len(),
        });
    }

    /// Produces the next block (unless stalled).
    fn tick(&mut self) -> Result<(), ChainError> {
        self.ticks = self.ticks.saturating_add(1);
        if self.faults.stall {
            self.publish_status();
            return Ok(());
        }
        let parent = self.latest.header();
        let height = parent
            .height
            .increment()
            .ok_or_else(|| ChainError::Malformed("height overflow".into()))?;
        let per_block = self.config.max_messages_per_block;
        let outs: Vec<&PendingOut> = self.pending_out.iter().take(per_block).collect();
        let ins: Vec<&PendingIn> = self.pending_in.iter().take(per_block).collect();
        let message_leaves = outs
            .iter()
            .map(|p| p.message.leaf())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ChainError::Malformed(e.to_string()))?;
        let receipt_leaves = ins
            .iter()
            .map(|p| p.receipt.leaf())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ChainError::Malformed(e.to_string()))?;
        let contents = BlockContents {
            messages_root: MerkleTree::from_leaves(&message_leaves).root(),
            receipts_root: MerkleTree::from_leaves(&receipt_leaves).root(),
            state_root: self.lanes.root(),
        };
        let one_ns = core::time::Duration::from_nanos(1);
        let earliest = parent.time.checked_add(one_ns).unwrap_or(parent.time);
        let time = system_now().max(earliest);
        let block = testgen::block_at(&self.config.spec, height, parent.hash(), contents, time);
        let served = if self.faults.bad_signatures {
            testgen::with_bad_signature(block.clone(), 0)
        } else {
            block.clone()
        };
        let key = height_key(height);
        let mut batch = self.store.batch();
        batch.put(Cf::Blocks, &key, &served)?;
        if !outs.is_empty() {
            let messages: Vec<&TradeMessage> = outs.iter().map(|p| &p.message).collect();
            batch.put(Cf::Messages, &key, &messages)?;
        }
        for p in &outs {
            batch.delete(Cf::Pending, &p.key)?;
            let body = &p.message.message.body;
            let location = MessageLocation {
                destination: body.destination_chain.clone(),
                channel: body.channel,
                sequence: p.message.sequence,
                height: Some(height),
            };
            batch.put(Cf::Ids, p.id.as_bytes(), &location)?;
        }
        if !ins.is_empty() {
            let receipts: Vec<&Receipt> = ins.iter().map(|p| &p.receipt).collect();
            batch.put(Cf::Receipts, &key, &receipts)?;
        }
        for p in &ins {
            batch.delete(Cf::Pending, &p.key)?;
        }
        batch.put(Cf::Meta, META_HEIGHT, &height.0)?;
        if !self.faults.withhold {
            batch.put(Cf::Meta, META_PUBLISHED, &height.0)?;
        }
        if self.faults.fork_at_height == Some(height.0) {
            batch.put(Cf::Forks, &key, &self.conflicting(&block))?;
        }
        let (n_out, n_in) = (outs.len(), ins.len());
        self.store.commit(batch)?;

        self.pending_out.drain(..n_out);
        self.pending_in.drain(..n_in);
        let header = block.header();
        if !self.faults.withhold {
            self.published = (height, header.hash(), header.time);
        }
        tracing::debug!(
            height = height.0,
            messages = n_out,
            receipts = n_in,
            withheld = self.faults.withhold,
            "block produced"
        );
        if self.faults.fork_at_height == Some(height.0) {
            tracing::warn!(height = height.0, "fault: signed a conflicting block");
        }
        self.latest = block;
        self.publish_status();
        Ok(())
    }

    /// A block conflicting with `block`: another state root, signed by the same validators.
    fn conflicting(&self, block: &LightBlock) -> LightBlock {
        let keys = self.config.spec.keys_at(block.height());
        let root = hash::tagged(TAG_FORK, block.header().state_root.as_bytes());
        testgen::fork(block, &keys, root)
    }

    /// Accepts traders' messages into the outbox.
    ///
    /// Takes transactions in order, in one synced write: each is checked on its own (a
    /// refusal answers that one only), gets the next sequence of its lane after the ones
    /// before it, and is queued for the next block once the write is done. A message already
    /// taken (before, or earlier in the same group) gets its original place back, marked
    /// duplicate. If the write fails, every message the group would have taken gets the
    /// store's error and nothing of it is kept.
    fn submit(&mut self, messages: Vec<SignedMessage>) -> Vec<Result<TxAccepted, ChainError>> {
        let mut group = TxGroup {
            batch: self.store.batch(),
            lanes: BTreeMap::new(),
            ids: BTreeMap::new(),
            counter: self.pending_counter,
            queued: Vec::new(),
        };
        let mut results: Vec<Result<TxAccepted, ChainError>> = messages
            .into_iter()
            .map(|message| self.stage_tx(message, &mut group))
            .collect();
        if group.queued.is_empty() {
            return results;
        }
        let TxGroup {
            batch,
            lanes,
            counter,
            queued,
            ..
        } = group;
        if let Err(e) = self.store.commit(batch) {
            for r in &mut results {
                if matches!(r, Ok(a) if !a.duplicate) {
                    *r = Err(ChainError::Store(e.clone()));
                }
            }
            return results;
        }
        for (lane, next) in lanes {
            self.lanes.set(lane, next);
        }
        self.pending_counter = counter;
        for pending in queued {
            tracing::debug!(
                destination = %pending.message.message.body.destination_chain,
                channel = pending.message.message.body.channel,
                sequence = pending.message.sequence,
                "message accepted"
            );
            self.pending_out.push_back(pending);
        }
        self.publish_status();
        results
    }

    /// Checks one transaction of a group and adds its writes to the group's batch.
    fn stage_tx(
        &self,
        message: SignedMessage,
        group: &mut TxGroup<'_>,
    ) -> Result<TxAccepted, ChainError> {
        let body = &message.body;
        if &body.source_chain != self.chain_id() {
            return Err(ChainError::WrongChain {
                field: "body.source_chain",
                expected: self.chain_id().clone(),
                got: body.source_chain.clone(),
            });
        }
        if !self
            .config
            .traders
            .iter()
            .any(|t| t.public_key == body.sender)
        {
            return Err(ChainError::UnknownTrader(body.sender));
        }
        message
            .validate(&self.config.limits)
            .map_err(ChainError::InvalidMessage)?;
        let destination = body.destination_chain.clone();
        if self.config.peer(&destination).is_none() {
            return Err(ChainError::UnknownDestination(destination));
        }
        let id = message
            .id()
            .map_err(|e| ChainError::InvalidMessage(e.into()))?;
        let taken = match group.ids.get(&id) {
            Some(loc) => Some(loc.clone()),
            None => self.store.get::<MessageLocation>(Cf::Ids, id.as_bytes())?,
        };
        if let Some(loc) = taken {
            return Ok(TxAccepted {
                id,
                destination: loc.destination,
                channel: loc.channel,
                sequence: loc.sequence,
                duplicate: true,
            });
        }
        let pending = self.pending_out.len().saturating_add(group.queued.len());
        if pending >= self.config.max_pending {
            return Err(ChainError::OutboxFull(pending));
        }
        let channel = body.channel;
        let lane = Lane {
            direction: Direction::Outbound,
            chain: &destination,
            channel,
        }
        .key();
        let sequence = match group.lanes.get(&lane) {
            Some(next) => *next,
            None => self.lanes.next(&lane),
        };
        let next = sequence.saturating_add(1);
        let (key, counter) = pending_key(PENDING_OUT, group.counter);
        let trade = TradeMessage { sequence, message };
        let location = MessageLocation {
            destination: destination.clone(),
            channel,
            sequence,
            height: None,
        };
        group.batch.put(Cf::Pending, &key, &trade)?;
        group.batch.put(Cf::Ids, id.as_bytes(), &location)?;
        group.batch.put(Cf::Lanes, lane.as_bytes(), &next)?;
        group.batch.put(Cf::Meta, META_PENDING_COUNTER, &counter)?;
        group.lanes.insert(lane, next);
        group.ids.insert(id, location);
        group.counter = counter;
        group.queued.push(PendingOut {
            key,
            id,
            message: trade,
        });
        Ok(TxAccepted {
            id,
            destination,
            channel,
            sequence,
            duplicate: false,
        })
    }

    /// Takes deliveries of one lane in order, in one synced write: each is verified (its
    /// light blocks are already trusted when the RPC's verified copy of the client could
    /// replace this one, so only its proof is checked here) and, when it is the next of its
    /// channel, its receipt is queued; a repeat of an accepted delivery gets its original
    /// acknowledgement. Stops at the first refusal.
    fn deliver(&mut self, deliveries: Deliveries) -> DeliveryOutcome {
        let Some(first) = deliveries.bundles.first() else {
            return DeliveryOutcome {
                deliveries: Vec::new(),
                refused: deliveries.then_refused,
            };
        };
        let body = &first.message.message.body;
        if &body.destination_chain != self.chain_id() {
            return DeliveryOutcome::refused(ChainError::WrongChain {
                field: "message.body.destination_chain",
                expected: self.chain_id().clone(),
                got: body.destination_chain.clone(),
            });
        }
        let source = body.source_chain.clone();
        let Some(mut client) = self.clients.remove(&source) else {
            return DeliveryOutcome::refused(ChainError::UnknownSource(source));
        };
        let outcome = self.deliver_with(&source, &mut client, deliveries);
        self.clients.insert(source, client);
        outcome.unwrap_or_else(DeliveryOutcome::refused)
    }

    fn deliver_with(
        &mut self,
        source: &ChainId,
        client: &mut InboxClient,
        deliveries: Deliveries,
    ) -> Result<DeliveryOutcome, ChainError> {
        let now = system_now();
        let revision = client.revision();
        if let Some((base, verified)) = deliveries.verified {
            if base == revision && verified.chain_id() == source {
                *client = verified;
            }
        }
        let mut outcome = DeliveryOutcome::default();
        let mut moved: BTreeMap<LaneKey, u64> = BTreeMap::new();
        let mut receipts: Vec<PendingIn> = Vec::new();
        let mut counter = self.pending_counter;
        let mut batch = self.store.batch();
        for bundle in &deliveries.bundles {
            let step = verify_bundle(client, bundle, now)
                .map_err(|e| bundle_error(source, bundle, e))
                .and_then(|_| self.accept_delivery(bundle, now, &moved, receipts.len()));
            match step {
                Ok(Acceptance::New {
                    receipt,
                    lane,
                    next,
                }) => {
                    let (key, after) = pending_key(PENDING_IN, counter);
                    counter = after;
                    let record = DeliveryRecord {
                        message_commitment: receipt.message_commitment,
                        result: receipt.result.clone(),
                    };
                    batch.put(Cf::Pending, &key, &receipt)?;
                    batch.put(Cf::Lanes, lane.as_bytes(), &next)?;
                    batch.put(
                        Cf::Deliveries,
                        &lane.delivery_key(receipt.sequence),
                        &record,
                    )?;
                    moved.insert(lane, next);
                    outcome.deliveries.push(Delivery {
                        ack: DeliveryAck {
                            source_chain: receipt.source_chain.clone(),
                            channel: receipt.channel,
                            sequence: receipt.sequence,
                            result: receipt.result.clone(),
                        },
                        repeat: false,
                    });
                    receipts.push(PendingIn { key, receipt });
                }
                Ok(Acceptance::Repeat(ack)) => {
                    outcome.deliveries.push(Delivery { ack, repeat: true });
                }
                Err(e) => {
                    if matches!(e, ChainError::Misbehaviour { .. }) {
                        tracing::error!(chain = %source, error = %e, "misbehaviour: conflicting headers; light client frozen");
                    }
                    outcome.refused = Some(e);
                    break;
                }
            }
        }
        if outcome.refused.is_none() {
            outcome.refused = deliveries.then_refused;
        }
        // Verified progress (or a freeze) is kept even when no delivery is.
        let client_moved = client.revision() != revision;
        if client_moved {
            batch.put(Cf::Clients, source.as_str().as_bytes(), &*client)?;
        }
        if !receipts.is_empty() {
            batch.put(Cf::Meta, META_PENDING_COUNTER, &counter)?;
        }
        if client_moved || !receipts.is_empty() {
            self.store.commit(batch)?;
        }

        for (lane, next) in moved {
            self.lanes.set(lane, next);
        }
        self.pending_counter = counter;
        if client_moved {
            self.snapshots.set(source, client);
        }
        for d in &outcome.deliveries {
            let ack = &d.ack;
            match &ack.result {
                ReceiptResult::Rejected { reason } if !d.repeat => tracing::info!(
                    source = %ack.source_chain,
                    channel = ack.channel,
                    sequence = ack.sequence,
                    reason = reason.name(),
                    "delivery rejected; its sequence is consumed"
                ),
                _ => tracing::debug!(
                    source = %ack.source_chain,
                    channel = ack.channel,
                    sequence = ack.sequence,
                    repeat = d.repeat,
                    "delivery taken"
                ),
            }
        }
        if let Some(e) = &outcome.refused {
            tracing::info!(%source, problem = e.problem(), error = %e, "delivery refused");
        }
        if !receipts.is_empty() {
            self.pending_in.extend(receipts);
            self.publish_status();
        }
        Ok(outcome)
    }

    /// Decides what a delivery whose inclusion proof verified does to its lane: a repeat of
    /// the message that consumed its sequence gets that delivery's acknowledgement again;
    /// the lane's next sequence is consumed with a receipt that says delivered, expired, or
    /// rejected with the reason (this chain's own rules: payload limit, document checks,
    /// signature); anything else is refused and consumes nothing. `moved` holds the lanes
    /// this command moved so far and `queued` the receipts it queued (not yet in `self`).
    fn accept_delivery(
        &self,
        bundle: &InboxBundle,
        now: Time,
        moved: &BTreeMap<LaneKey, u64>,
        queued: usize,
    ) -> Result<Acceptance, ChainError> {
        let message = &bundle.message;
        let body = &message.message.body;
        let lane = Lane {
            direction: Direction::Inbound,
            chain: &body.source_chain,
            channel: body.channel,
        }
        .key();
        let commitment = message
            .commitment()
            .map_err(|e| ChainError::InvalidMessage(e.into()))?;
        let expected = moved
            .get(&lane)
            .copied()
            .unwrap_or_else(|| self.lanes.next(&lane));
        if message.sequence < expected {
            let key = lane.delivery_key(message.sequence);
            return match self.store.get::<DeliveryRecord>(Cf::Deliveries, &key)? {
                Some(record) if record.message_commitment == commitment => {
                    Ok(Acceptance::Repeat(DeliveryAck {
                        source_chain: body.source_chain.clone(),
                        channel: body.channel,
                        sequence: message.sequence,
                        result: record.result,
                    }))
                }
                _ => Err(ChainError::Duplicate {
                    source_chain: body.source_chain.clone(),
                    channel: body.channel,
                    sequence: message.sequence,
                }),
            };
        }
        if message.sequence > expected {
            return Err(ChainError::OutOfOrder {
                source_chain: body.source_chain.clone(),
                channel: body.channel,
                expected,
                got: message.sequence,
            });
        }
        let pending = self.pending_in.len().saturating_add(queued);
        if pending >= self.config.max_pending {
            return Err(ChainError::InboxFull(pending));
        }
        let including = self
            .latest
            .height()
            .increment()
            .unwrap_or(self.latest.height());
        let result = match message.message.validate(&self.config.limits) {
            Ok(()) => match message.check_deadline(including, now) {
                Ok(()) => ReceiptResult::Delivered,
                Err(_) => ReceiptResult::Expired,
            },
            Err(e) => match RejectReason::from_envelope(&e) {
                Some(reason) => ReceiptResult::Rejected { reason },
                None => return Err(ChainError::InvalidMessage(e)),
            },
        };
        let receipt = Receipt {
            source_chain: body.source_chain.clone(),
            destination_chain: body.destination_chain.clone(),
            channel: body.channel,
            sequence: message.sequence,
            message_commitment: commitment,
            result,
        };
        Ok(Acceptance::New {
            receipt,
            lane,
            next: message.sequence.saturating_add(1),
        })
    }

    /// Applies new fault modes.
    fn set_faults(&mut self, faults: FaultState) -> Result<NodeStatus, ChainError> {
        if faults.fork_at_height.is_some_and(|h| h < 2) {
            return Err(ChainError::BadFaults(
                "fork_at_height must be 2 or above (1 is genesis)".into(),
            ));
        }
        let produced = self.latest.height();
        let mut batch = self.store.batch();
        batch.put(Cf::Meta, META_FAULTS, &faults)?;
        if let Some(h) = faults.fork_at_height.map(Height) {
            let exists = self.store.get::<LightBlock>(Cf::Forks, &height_key(h))?;
            if h <= produced && exists.is_none() {
                let block: LightBlock = self
                    .store
                    .get(Cf::Blocks, &height_key(h))?
                    .ok_or_else(|| ChainError::NotFound(format!("block at height {h}")))?;
                batch.put(Cf::Forks, &height_key(h), &self.conflicting(&block))?;
                tracing::warn!(height = h.0, "fault: signed a conflicting block");
            }
        }
        let release = self.faults.withhold && !faults.withhold;
        if release {
            batch.put(Cf::Meta, META_PUBLISHED, &produced.0)?;
        }
        self.store.commit(batch)?;
        if release {
            let header = self.latest.header();
            self.published = (produced, header.hash(), header.time);
        }
        tracing::warn!(?faults, "fault modes changed");
        self.faults = faults;
        self.publish_status();
        Ok(self.status.borrow().clone())
    }
}

/// The store key of the pending item number `counter`, and the counter after it.
fn pending_key(kind: u8, counter: u64) -> (Vec<u8>, u64) {
    let mut key = vec![kind];
    key.extend(counter.to_be_bytes());
    (key, counter.saturating_add(1))
}

/// The inbox's answer to a refused bundle, by [`BundleError::reason`].
pub(crate) fn bundle_error(source: &ChainId, bundle: &InboxBundle, e: BundleError) -> ChainError {
    match e {
        BundleError::WrongSourceChain { .. } => ChainError::UnknownSource(source.clone()),
        BundleError::TooManyLightBlocks { got, max } => ChainError::TooManyLightBlocks { got, max },
        BundleError::NotEnoughTrust { height, .. } => ChainError::NotEnoughTrust { height },
        BundleError::Misbehaviour { chain, height } => ChainError::Misbehaviour { chain, height },
        BundleError::ClientFrozen { chain } => ChainError::ClientFrozen(chain),
        BundleError::LightBlock {
            source: ClientError::Frozen { chain, .. },
            ..
        } => ChainError::ClientFrozen(chain),
        BundleError::UntrustedHeight { chain, height } => {
            ChainError::UntrustedHeight { chain, height }
        }
        BundleError::InvalidProof { height, source, .. } => ChainError::InvalidProof {
            height,
            reason: source.to_string(),
        },
        BundleError::Encoding(e) => ChainError::Malformed(e.to_string()),
        BundleError::LightBlock { height, source } => ChainError::InvalidLightBlock {
            height,
            reason: source.to_string(),
        },
        other => ChainError::InvalidLightBlock {
            height: bundle.height,
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use corridor_light_client::envelope::{
        payload_from_json, Deadline, DocumentKind, MessageBody, VERSION,
    };
    use corridor_light_client::signature::SigningKey;
    use corridor_light_client::testkit::{now, TempDir};

    use super::*;
    use crate::config::{devnet_trader_key, Trader};

    fn chain(name: &str, dir: &TempDir) -> DevnetConfig {
        let genesis = now().checked_sub(Duration::from_secs(1)).unwrap();
        let id = ChainId::new(name).unwrap();
        DevnetConfig::simple(
            id,
            4,
            Duration::from_millis(50),
            genesis,
            dir.path().join(name),
        )
    }

    fn message(key: &SigningKey, to: &DevnetConfig, channel: u32, nonce: u64) -> SignedMessage {
        let payload = payload_from_json(&serde_json::json!({ "note": nonce })).unwrap();
        MessageBody {
            version: VERSION,
            source_chain: ChainId::new("grp-a").unwrap(),
            destination_chain: to.chain_id().clone(),
            channel,
            nonce,
            sender: key.public_key(),
            receiver: key.public_key(),
            kind: DocumentKind::Generic,
            payload_hash: hash::sha3(&payload.0),
            payload,
            deadline: Deadline::Height(Height(1_000_000)),
        }
        .sign(key)
        .unwrap()
    }

    /// Sends `messages` to a node of `config` all waiting at once, then stops it; returns
    /// each message's answer.
    fn submit_together(
        config: &Arc<DevnetConfig>,
        messages: &[SignedMessage],
    ) -> Vec<Result<TxAccepted, ChainError>> {
        let store = Arc::new(RocksStore::open(&config.store_path).unwrap());
        let (node, _status) = Node::open(config.clone(), store).unwrap();
        let (commands, queue) = mpsc::channel(messages.len() + 1);
        let answers: Vec<_> = messages
            .iter()
            .map(|m| {
                let (reply, answer) = oneshot::channel();
                commands
                    .try_send(Command::SubmitTx(Box::new(m.clone()), reply))
                    .unwrap_or_else(|_| panic!("the queue holds them all"));
                answer
            })
            .collect();
        commands
            .try_send(Command::Shutdown)
            .unwrap_or_else(|_| panic!("the queue holds them all"));
        node.run(queue);
        answers
            .into_iter()
            .map(|a| a.blocking_recv().unwrap())
            .collect()
    }

    #[test]
    fn transactions_waiting_together_are_written_together_each_on_its_own_merits() {
        let dir = TempDir::new("tx-group");
        let mut config = chain("grp-a", &dir);
        let b = chain("grp-b", &dir);
        config.peers.push(b.as_peer(Duration::from_secs(3600)));
        let trader = devnet_trader_key("exporter");
        config.traders.push(Trader {
            name: "exporter".to_owned(),
            public_key: trader.public_key(),
        });
        config.max_pending = 5;
        let config = Arc::new(config);
        let stranger = devnet_trader_key("stranger");
        let m = |channel, nonce| message(&trader, &b, channel, nonce);

        let answers = submit_together(
            &config,
            &[
                m(0, 1),
                m(0, 2),
                m(0, 1),
                message(&stranger, &b, 0, 3),
                m(7, 4),
                m(0, 5),
                m(0, 6),
                m(0, 7),
            ],
        );
        let placed: Vec<_> = answers
            .iter()
            .map(|a| a.as_ref().map(|a| (a.channel, a.sequence, a.duplicate)))
            .collect();
        assert_eq!(
            placed,
            vec![
                Ok((0, 1, false)),
                Ok((0, 2, false)),
                // The same message again, earlier in the same group: its place, duplicate.
                Ok((0, 1, true)),
                Err(&ChainError::UnknownTrader(stranger.public_key())),
                Ok((7, 1, false)),
                Ok((0, 3, false)),
                Ok((0, 4, false)),
                // Five taken by this group fill the outbox.
                Err(&ChainError::OutboxFull(5)),
            ]
        );
        assert_eq!(answers[0].as_ref().unwrap().id, m(0, 1).id().unwrap());
        assert_eq!(answers[2].as_ref().unwrap().id, m(0, 1).id().unwrap());

        // All of it was written: reopened, the chain knows the messages, their lanes and
        // its full outbox.
        let again = submit_together(&config, &[m(0, 2), m(0, 8)]);
        assert_eq!(
            again[0].as_ref().map(|a| (a.sequence, a.duplicate)),
            Ok((2, true))
        );
        assert_eq!(again[1], Err(ChainError::OutboxFull(5)));
    }
}
