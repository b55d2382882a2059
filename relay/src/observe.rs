//! What the core loop tells the metrics and the trader API: every event before the core
//! takes it, every action after its writes are durable (each stage also goes to the API as
//! the audit record the core wrote), and (at most once a second) the gauges read off the
//! core's state, the chains' status the API serves and the readiness verdict of `/readyz`.
//!
//! Kept apart from the core (which stays sans-IO and knows nothing of Prometheus) and from
//! the daemon's plumbing; it reads, never changes, the core and the store.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use corridor_light_client::{ChainId, Time};
use corridor_relay_core::core::{Action, AuditRecord, Core, Event, PeerId, Stage, StoredEntry};
use corridor_relay_core::store::{Column, Store};
use corridor_relay_core::wire::{Frame, Lane};

use crate::api::{ChainStatus, StageEvent};
use crate::metrics::{reason_label, Metrics, Readiness, HEADER_FAILURE_REASONS, REJECTION_REASONS};

type F = corridor_light_client::any::AnyFamily;

/// How often the gauges are read off the core.
const REFRESH: Duration = Duration::from_secs(1);
/// How often the store's folder is measured.
const SIZE_REFRESH: Duration = Duration::from_secs(10);
/// A home chain whose light client is more blocks than this behind its tip is not synced.
pub const READY_LAG_BLOCKS: i64 = 32;

/// Entries a step is about to close, by (lane, sequence).
pub type Closing = BTreeMap<(Lane, u64), StoredEntry<F>>;

/// The core loop's observer.
pub struct Observer {
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// Configured peers' names.
    pub names: BTreeMap<PeerId, String>,
    /// Home chains.
    pub home: BTreeSet<ChainId>,
    /// The store's folder (for its size).
    pub store_dir: PathBuf,
    /// The verdict `/readyz` serves.
    pub readiness: Arc<Mutex<Readiness>>,
    /// The chains' status, for the trader API.
    pub chains: tokio::sync::watch::Sender<Vec<ChainStatus>>,
    /// Every stage a message reaches, for the trader API.
    pub stages: tokio::sync::broadcast::Sender<StageEvent>,
    /// Why each frozen light client froze (as the core said).
    frozen: BTreeMap<ChainId, String>,
    connected: BTreeSet<PeerId>,
    last_refresh: Option<Time>,
    last_size: Option<Time>,
    /// A walk of the store's folder is under way.
    size_walk: Arc<std::sync::atomic::AtomicBool>,
}

fn secs_between(later: Time, earlier: Time) -> f64 {
    // Nanoseconds to seconds: f64 holds the difference of two u64s well enough for a gauge.
    #[allow(clippy::cast_precision_loss)]
    let d = later.unix_nanos() as f64 - earlier.unix_nanos() as f64;
    d / 1e9
}

fn elapsed(now: Time, since: Option<Time>, period: Duration) -> bool {
    since
        .is_none_or(|s| now.unix_nanos().saturating_sub(s.unix_nanos()) >= period.as_nanos() as u64)
}

impl Observer {
    /// An observer of a relay whose peers are `names` and home chains `home`.
    pub fn new(
        metrics: Arc<Metrics>,
        names: BTreeMap<PeerId, String>,
        home: BTreeSet<ChainId>,
        store_dir: PathBuf,
        readiness: Arc<Mutex<Readiness>>,
        chains: tokio::sync::watch::Sender<Vec<ChainStatus>>,
        stages: tokio::sync::broadcast::Sender<StageEvent>,
    ) -> Self {
        Self {
            metrics,
            names,
            home,
            store_dir,
            readiness,
            chains,
            stages,
            frozen: BTreeMap::new(),
            connected: BTreeSet::new(),
            last_refresh: None,
            last_size: None,
            size_walk: Arc::default(),
        }
    }

    fn peer(&self, peer: &PeerId) -> &str {
        // Only configured peers reach the core (the transport refuses others).
        self.names.get(peer).map_or("unknown", String::as_str)
    }

    /// Waits, at most `limit`, while the trader API's indexer has more than half of the
    /// stage broadcast's room ([`crate::api::STAGE_EVENTS`]) still to take: the core loop
    /// calls it before a group of events, so a relay working through a backlog slows to
    /// its indexer's pace instead of overflowing the broadcast (a lag would make the
    /// indexer catch up from the store, where a message closed meanwhile no longer has its
    /// entry). Past `limit` (an indexer that stopped) the loop goes on. Whether the
    /// indexer was within bounds at the end.
    pub async fn wait_for_indexer(&self, limit: Duration) -> bool {
        const HIGH_WATER: usize = crate::api::STAGE_EVENTS / 2;
        let started = std::time::Instant::now();
        while self.stages.receiver_count() > 0 && self.stages.len() > HIGH_WATER {
            if started.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }

    /// Counts an event before the core handles it.
    pub fn event(&mut self, event: &Event<F>) {
        let m = &self.metrics;
        match event {
            Event::HomeBlocks { chain, blocks } => {
                m.header_verifications
                    .with_label_values(&[chain.as_str()])
                    .inc_by(blocks.len() as u64);
            }
            Event::Frame { peer, frame } => match frame {
                Frame::Batch(batch) => {
                    m.header_verifications
                        .with_label_values(&[batch.lane.source.as_str()])
                        .inc_by(batch.light_blocks.len() as u64);
                }
                Frame::Ack(_) => {
                    m.peer_bundles_acked
                        .with_label_values(&[self.peer(peer)])
                        .inc();
                }
                Frame::Receipts(_) | Frame::ReceiptAck(_) | Frame::Trust(_) => {}
            },
            Event::PeerUp { peer } => {
                self.connected.insert(*peer);
                m.peer_connected
                    .with_label_values(&[self.peer(peer)])
                    .set(1);
            }
            Event::PeerDown { peer } => {
                self.connected.remove(peer);
                let name = self.peer(peer).to_owned();
                m.peer_connected.with_label_values(&[&name]).set(0);
                m.peer_disconnects.with_label_values(&[&name]).inc();
            }
            _ => {}
        }
    }

    /// The open inbound entries that `event` is about to close, taken before the core
    /// handles it: a source relay's receipt ack closes the destination relay's entries in
    /// the same step that stages them `acknowledged`, and the entry is what carries the
    /// proven receipt to the trader API ([`Self::entry_for`] takes them from here).
    pub fn entries_before(&self, event: &Event<F>, core: &Core<F>) -> Closing {
        match event {
            Event::Frame {
                frame: Frame::ReceiptAck(ack),
                ..
            } if self.stages.receiver_count() > 0 && !self.home.contains(&ack.lane.source) => ack
                .sequences
                .iter()
                .filter_map(|s| {
                    let entry = core.open_entry(&ack.lane, *s, false)?;
                    Some(((ack.lane.clone(), *s), entry))
                })
                .collect(),
            _ => Closing::new(),
        }
    }

    /// What [`Self::action`] needs of the core for `action`, taken right after the step
    /// that asked for it: for a stage the API will hear of, the message's open entry as
    /// that step left it (a later step of the same group may close it), or, when the step
    /// closed it, as it was before the step (`closing`, from [`Self::entries_before`]).
    pub fn entry_for(
        &self,
        action: &Action<F>,
        core: &Core<F>,
        closing: &mut Closing,
    ) -> Option<StoredEntry<F>> {
        match action {
            Action::Stage { lane, sequence, .. } if self.stages.receiver_count() > 0 => core
                .open_entry(lane, *sequence, self.home.contains(&lane.source))
                .or_else(|| closing.remove(&(lane.clone(), *sequence))),
            _ => None,
        }
    }

    /// Counts an action the core asked for (its writes are durable by now); `entry` is
    /// what [`Self::entry_for`] took for it.
    pub fn action(
        &mut self,
        action: &Action<F>,
        entry: Option<StoredEntry<F>>,
        store: &dyn Store,
        now: Time,
    ) {
        let m = &self.metrics;
        match action {
            Action::Send { peer, frame } => {
                if matches!(frame, Frame::Batch(_)) {
                    m.peer_bundles_sent
                        .with_label_values(&[self.peer(peer)])
                        .inc();
                }
            }
            Action::Rejected { peer, reason, .. } => {
                m.peer_rejections
                    .with_label_values(&[self.peer(peer), reason_label(reason, REJECTION_REASONS)])
                    .inc();
            }
            Action::Frozen { chain, reason } => {
                self.frozen.insert(chain.clone(), reason.clone());
                m.misbehaviour.with_label_values(&[chain.as_str()]).inc();
                m.header_failures
                    .with_label_values(&[chain.as_str(), "misbehaviour"])
                    .inc();
            }
            Action::EndpointFault { chain, reason, .. } => {
                m.header_failures
                    .with_label_values(&[
                        chain.as_str(),
                        reason_label(reason, HEADER_FAILURE_REASONS),
                    ])
                    .inc();
            }
            Action::Stage {
                lane,
                sequence,
                stage,
            } => {
                let channel = m.channel(lane);
                m.channel_messages
                    .with_label_values(&[&channel, stage.name()])
                    .inc();
                // No receiver (the API not running) is not an error; then nothing is read.
                if self.stages.receiver_count() > 0 {
                    let audit = AuditRecord {
                        lane: lane.clone(),
                        sequence: *sequence,
                        stage: stage.clone(),
                        at: now,
                    };
                    let _ = self.stages.send(StageEvent {
                        audit,
                        entry: entry.map(Box::new),
                    });
                }
                // End to end: the source's relay saw the commit and now the proven receipt.
                if matches!(stage, Stage::Acknowledged(_)) && self.home.contains(&lane.source) {
                    if let Some(committed) = committed_at(store, lane, *sequence) {
                        m.channel_latency
                            .with_label_values(&[&channel])
                            .observe(secs_between(now, committed).max(0.0));
                    }
                }
            }
            Action::Deliver { .. } | Action::Disconnect { .. } => {}
        }
    }

    /// Reads the gauges off the core (at most once a second) and judges readiness.
    pub fn refresh(&mut self, core: &Core<F>, store: &dyn Store, now: Time) {
        if !elapsed(now, self.last_refresh, REFRESH) {
            return;
        }
        self.last_refresh = Some(now);
        let m = &self.metrics;
        let mut failing = Vec::new();
        let mut statuses = Vec::new();
        for client in core.clients() {
            let chain = client.chain_id().as_str();
            let trusted = i64::try_from(client.latest_height().0).unwrap_or(i64::MAX);
            m.chain_trusted_height
                .with_label_values(&[chain])
                .set(trusted);
            let head_gauge = m.chain_head_height.with_label_values(&[chain]);
            let home = self.home.contains(client.chain_id());
            if !home && head_gauge.get() < trusted {
                // A remote chain's head is the highest block its peer has shown us.
                head_gauge.set(trusted);
            }
            let head = head_gauge.get();
            let lag = (head - trusted).max(0);
            m.chain_lag_blocks.with_label_values(&[chain]).set(lag);
            let remaining = client
                .trusted_until()
                .map_or(0.0, |until| secs_between(until, now));
            m.chain_trusting_remaining
                .with_label_values(&[chain])
                .set(remaining);
            m.chain_frozen
                .with_label_values(&[chain])
                .set(i64::from(client.is_frozen()));
            statuses.push(ChainStatus::of(
                client,
                home,
                (head > 0).then(|| corridor_light_client::Height(head.unsigned_abs())),
                client.is_frozen().then(|| {
                    self.frozen
                        .get(client.chain_id())
                        .cloned()
                        .unwrap_or_else(|| {
                            "frozen on misbehaviour evidence (kept in the store)".to_owned()
                        })
                }),
            ));
            if client.is_frozen() {
                failing.push(format!(
                    "light client of {chain} is frozen on misbehaviour evidence"
                ));
            } else if client.latest().is_some() && remaining <= 0.0 {
                failing.push(format!("light client of {chain}: trusting period ended"));
            } else if home && head == 0 {
                failing.push(format!("{chain}: no block seen from its endpoint yet"));
            } else if home && lag > READY_LAG_BLOCKS {
                failing.push(format!(
                    "light client of {chain} is {lag} blocks behind its tip"
                ));
            }
        }
        let open = core.outbound_open();
        let waiting = core.inbound_waiting();
        let oldest = core.oldest_open();
        let mut lanes: BTreeSet<&Lane> = open.keys().collect();
        lanes.extend(waiting.keys());
        for lane in lanes {
            let channel = m.channel(lane);
            let count = |map: &BTreeMap<Lane, usize>| {
                i64::try_from(map.get(lane).copied().unwrap_or(0)).unwrap_or(i64::MAX)
            };
            m.channel_backlog
                .with_label_values(&[&channel, "outbound"])
                .set(count(&open));
            m.channel_backlog
                .with_label_values(&[&channel, "inbound"])
                .set(count(&waiting));
            let (age, sequence) = match oldest.get(lane) {
                Some(&s) => (
                    committed_at(store, lane, s).map_or(0.0, |at| secs_between(now, at).max(0.0)),
                    i64::try_from(s).unwrap_or(i64::MAX),
                ),
                None => (0.0, 0),
            };
            m.channel_oldest_age.with_label_values(&[&channel]).set(age);
            m.channel_oldest_sequence
                .with_label_values(&[&channel])
                .set(sequence);
        }
        for (peer, name) in &self.names {
            let in_flight = i64::try_from(core.in_flight(peer)).unwrap_or(i64::MAX);
            m.peer_window.with_label_values(&[name]).set(in_flight);
            if !self.connected.contains(peer) {
                failing.push(format!("peer {name} is not connected"));
            }
        }
        if elapsed(now, self.last_size, SIZE_REFRESH) {
            self.last_size = Some(now);
            // The walk of the store's folder runs on the blocking pool, never in the core
            // loop, and one at a time.
            let walking = self.size_walk.clone();
            if !walking.swap(true, std::sync::atomic::Ordering::AcqRel) {
                let (dir, gauge) = (self.store_dir.clone(), m.store_size.clone());
                let walk = move || {
                    let size = crate::metrics::dir_size(&dir);
                    gauge.set(i64::try_from(size).unwrap_or(i64::MAX));
                    walking.store(false, std::sync::atomic::Ordering::Release);
                };
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => drop(runtime.spawn_blocking(walk)),
                    Err(_) => walk(),
                }
            }
        }
        self.chains.send_replace(statuses);
        m.ready.set(i64::from(failing.is_empty()));
        self.readiness
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .failing = failing;
    }
}

/// When this relay recorded the commit of `sequence` on `lane` (its audit record).
fn committed_at(store: &dyn Store, lane: &Lane, sequence: u64) -> Option<Time> {
    let bytes = store
        .get(
            Column::Audit,
            &AuditRecord::key_of(lane, sequence, &Stage::Committed),
        )
        .ok()??;
    AuditRecord::decode(&bytes).map(|r| r.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_relay_core::core::AuditRecord;

    fn observer(stages: tokio::sync::broadcast::Sender<StageEvent>) -> Observer {
        let registry = prometheus::Registry::new();
        let metrics = Arc::new(Metrics::new(&registry, &Default::default()).unwrap());
        let readiness = Arc::new(Mutex::new(Readiness { failing: vec![] }));
        let (chains, _) = tokio::sync::watch::channel(Vec::new());
        Observer::new(
            metrics,
            BTreeMap::new(),
            BTreeSet::new(),
            PathBuf::from("."),
            readiness,
            chains,
            stages,
        )
    }

    fn event(sequence: u64) -> StageEvent {
        StageEvent::from(AuditRecord {
            lane: Lane {
                source: ChainId::new("cn-shanghai").unwrap(),
                destination: ChainId::new("kz-astana").unwrap(),
                channel: 0,
            },
            sequence,
            stage: Stage::Committed,
            at: Time::from_unix_nanos(sequence),
        })
    }

    #[tokio::test]
    async fn the_core_loop_waits_for_an_indexer_past_half_its_room_and_not_for_ever() {
        let (tx, _) = tokio::sync::broadcast::channel(crate::api::STAGE_EVENTS);
        let o = observer(tx.clone());
        // Nobody indexing: nothing to wait for, however much was sent.
        for s in 0..crate::api::STAGE_EVENTS as u64 {
            let _ = tx.send(event(s));
        }
        assert!(o.wait_for_indexer(Duration::ZERO).await);
        // An indexer at exactly half: within bounds.
        let mut rx = tx.subscribe();
        for s in 0..(crate::api::STAGE_EVENTS / 2) as u64 {
            tx.send(event(s)).unwrap();
        }
        assert!(o.wait_for_indexer(Duration::ZERO).await);
        // One more, and an indexer that takes nothing: the wait ends at its limit, saying so.
        tx.send(event(0)).unwrap();
        assert!(!o.wait_for_indexer(Duration::from_millis(20)).await);
        // An indexer that takes what waits: the loop goes on once it is back within bounds.
        let drain = tokio::spawn(async move {
            let mut taken = 0usize;
            while rx.recv().await.is_ok() {
                taken += 1;
            }
            taken
        });
        assert!(o.wait_for_indexer(Duration::from_secs(60)).await);
        assert!(tx.len() <= crate::api::STAGE_EVENTS / 2);
        drop(tx);
        drop(o);
        assert!(drain.await.unwrap() > 10);
    }
}
