//! `corridor start`: one operator's relay. The drivers around the sans-IO core.
//!
//! - **The core loop** owns the [`Core`] and the store. It takes commands one at a time,
//!   applies each step's writes in one synced batch, and only then performs its actions:
//!   frames go to peer tasks, deliveries to delivery tasks.
//! - **A watcher per followed chain** polls the chain's adapter (a devnet chain's, or an
//!   EVM chain's through [`EvmHome`], which attests each header with the relay's key): it brings a copy of the
//!   core's light client to the tip (skipping verification and bisection through
//!   [`sync_client`], and to every height that commits something), hands the verified
//!   blocks to the core (which verifies them again), then the messages and receipts of each
//!   height, then the scan watermark, then what the chain's inbox clients trust.
//! - **A task per peer** keeps one QUIC link: the relay with the lower key dials (with
//!   back-off and jitter), the other accepts, and dials too when no link came within a
//!   grace period (after a restart its peer may still hold the dead link, until its idle
//!   timeout, and would not dial). Frames are decoded and bounded before the
//!   core sees them; bad bytes are counted against the peer. A disconnect for misbehaviour
//!   backs the peer off before it may talk again.
//! - **Shutdown:** Ctrl-C or SIGTERM stops the tasks and closes the links; nothing is lost
//!   since every state change was durable before anyone heard of it (SIGKILL included).
//! - **Deliveries** go to a devnet chain's inbox as bundles its light clients verify, or to
//!   an EVM chain's inbox attested by the relay ([`EvmHome::deliver_all`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use corridor_adapters::any::AnyAdapter;
use corridor_adapters::bundle::sync_client;
use corridor_adapters::devnet::{Cursor, DevnetAdapter};
use corridor_adapters::evm::{EvmAdapter, EvmHome, Sender};
use corridor_adapters::ChainAdapter;
use corridor_light_client::any::{AnyFamily, Member};
use corridor_light_client::bundle::ProofBundle;
use corridor_light_client::client::LightClient;
use corridor_light_client::verifier::Verifier;
use corridor_light_client::{ChainId, Height};
use corridor_quic::{Backoff, Endpoint, Hello, Link, TransportConfig};
use corridor_relay_core::core::{Action, Core, CoreConfig, Event, PeerId};
use corridor_relay_core::store::{Store, WriteBatch};
use corridor_relay_core::wire::{Frame, Limits};
use ed25519_dalek::{SigningKey, VerifyingKey};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use crate::metrics::{config_lanes, Layout, Metrics, MetricsState, Readiness};
use crate::observe::Observer;
use crate::rocks::RocksStore;
use crate::settings::Settings;

/// The core holds light clients of every family; each chain's client is made for its
/// configured family and refuses blocks of any other.
type F = AnyFamily;

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] corridor_relay_core::store::StoreError),
    /// The stored state could not be restored.
    #[error(transparent)]
    Restore(#[from] corridor_relay_core::core::RestoreError),
    /// The QUIC endpoint could not start.
    #[error(transparent)]
    Transport(#[from] corridor_quic::TransportError),
    /// An adapter could not be built.
    #[error(transparent)]
    Adapter(#[from] corridor_adapters::AdapterError),
    /// A chain of a family the relay's light clients cannot be (none today: the core's
    /// family takes every one).
    #[error("chain {chain}: no light client of family {family}")]
    Family {
        /// The chain.
        chain: ChainId,
        /// Its configured family.
        family: corridor_light_client::family::FamilyKind,
    },
    /// The relay's delivery key of an EVM chain could not be read.
    #[error("chains {chain}: evm.delivery_key_file: {source}")]
    DeliveryKey {
        /// The chain.
        chain: ChainId,
        /// Why.
        source: crate::keys::KeyError,
    },
    /// A peer's configured key is not an ed25519 key.
    #[error("peer {0}: not an ed25519 public key")]
    PeerKey(String),
    /// The metrics could not be registered (a bug: names are fixed).
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The trader API could not be set up.
    #[error("trader API: {0}")]
    Api(#[from] crate::api::SetupError),
    /// An HTTP listener could not bind.
    #[error("{key}: cannot listen on {address}: {source}")]
    Listen {
        /// The settings key.
        key: &'static str,
        /// The address.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A command for the core loop.
enum Cmd {
    Event(Event<F>),
    /// A copy of a chain's light client and its scan watermark.
    Watch {
        chain: ChainId,
        reply: oneshot::Sender<(LightClient<F>, Height)>,
    },
    Forgive(PeerId),
}

/// A peer task's control messages.
enum Control {
    Disconnect(String),
}

struct PeerSlot {
    frames: Option<mpsc::Sender<Vec<u8>>>,
    control: mpsc::Sender<Control>,
}

type Peers = Arc<std::sync::Mutex<BTreeMap<PeerId, PeerSlot>>>;

/// A chain the relay follows itself: the driver of its endpoint and inbox.
#[derive(Clone)]
enum Home {
    /// A devnet chain: its inbox runs light clients of the source chains.
    Devnet(Arc<DevnetAdapter>),
    /// An EVM chain: its headers and deliveries attested by this relay.
    Evm(Arc<EvmHome>),
}

impl Home {
    /// The driver of `chain` (`settings` with an endpoint) for the relay of `key`.
    fn new(
        chain: &ChainId,
        settings: &crate::settings::ChainSettings,
        key: &SigningKey,
    ) -> Result<Self, DaemonError> {
        let endpoint = settings.endpoint.clone().unwrap_or_default();
        let Some(evm) = &settings.evm else {
            return Ok(Self::Devnet(Arc::new(DevnetAdapter::new(
                chain.clone(),
                &endpoint,
            )?)));
        };
        let key_error = |source| DaemonError::DeliveryKey {
            chain: chain.clone(),
            source,
        };
        let file = evm.delivery_key_file.clone().unwrap_or_default();
        let seed = crate::keys::load(&file).map_err(key_error)?.to_bytes();
        let sender = Sender::from_seed(seed, evm.evm_chain_id)
            .map_err(|_| key_error(crate::keys::KeyError::Malformed(file.clone())))?;
        let adapter = EvmAdapter::new(chain.clone(), &endpoint, evm.contracts, evm.quorum.clone())?
            .with_sender(sender);
        let attestor = corridor_light_client::signature::SigningKey::from_seed(key.to_bytes());
        Ok(Self::Evm(Arc::new(EvmHome::new(adapter, attestor)?)))
    }

    /// The devnet adapter, for what only a devnet chain has (its trader gateway, its
    /// inbox's light clients).
    fn devnet(&self) -> Option<&Arc<DevnetAdapter>> {
        match self {
            Self::Devnet(a) => Some(a),
            Self::Evm(_) => None,
        }
    }

    /// Hands a lane's consecutive deliveries to the chain's inbox.
    async fn deliver(
        &self,
        bundles: Vec<ProofBundle<F>>,
    ) -> Result<corridor_adapters::DeliveryBatchAck, corridor_adapters::AdapterError> {
        match self {
            Self::Devnet(a) => a.submit_any(&bundles).await,
            Self::Evm(h) => h.deliver_all(bundles).await,
        }
    }
}

use crate::now;

/// What the relay exposes while it runs (tests and the demo read it).
#[derive(Clone, Debug)]
pub struct Running {
    /// The QUIC address it listens on.
    pub listen: std::net::SocketAddr,
    /// Its public key.
    pub key: VerifyingKey,
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub metrics: std::net::SocketAddr,
    /// Where the trader API is served.
    pub api: std::net::SocketAddr,
}

/// Runs the relay until `shutdown` resolves. `started` receives where it listens.
pub async fn run(
    settings: Settings,
    key: SigningKey,
    shutdown: impl std::future::Future<Output = ()>,
    started: Option<oneshot::Sender<Running>>,
) -> Result<(), DaemonError> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
        corridor_relay_core::store::StoreError {
            operation: "create data dir",
            reason: format!("{}: {e}", settings.data_dir.display()),
        }
    })?;
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(&settings.data_dir.join("store"))?);
    let me: PeerId = key.verifying_key().to_bytes();
    let home: Vec<ChainId> = settings
        .chains
        .iter()
        .filter(|(_, c)| c.endpoint.is_some())
        .map(|(id, _)| id.clone())
        .collect();
    let routes = settings
        .peers
        .iter()
        .flat_map(|p| p.chains.iter().map(move |c| (c.clone(), p.key)))
        .collect();
    let limits = Limits {
        max_frame_bytes: settings.limits.max_frame_bytes,
        max_batch_messages: settings.limits.max_batch_messages,
        ..Limits::default()
    };
    let config = CoreConfig {
        home: home.iter().cloned().collect(),
        routes,
        limits,
        window: settings.limits.window,
        resend_after: settings.limits.resend_after,
        penalty_threshold: settings.limits.penalty_threshold,
        max_delivery_batch: corridor_relay_core::DEFAULT_DELIVERY_BATCH,
    };
    let clients = settings
        .chains
        .values()
        .map(|c| {
            LightClient::<F>::for_family(c.family, c.root.clone(), c.options).ok_or_else(|| {
                DaemonError::Family {
                    chain: c.root.chain_id.clone(),
                    family: c.family,
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let core = Core::restore(config, clients, &*store)?;

    let registry = prometheus::Registry::new();
    let all: Vec<ChainId> = settings.chains.keys().cloned().collect();
    let layout = Layout {
        lanes: config_lanes(&home, &all),
        chains: all,
        families: settings
            .chains
            .iter()
            .map(|(id, c)| (id.clone(), c.family))
            .collect(),
        peers: settings.peers.iter().map(|p| p.name.clone()).collect(),
    };
    let metrics = Arc::new(Metrics::new(&registry, &layout)?);
    let readiness = Arc::new(std::sync::Mutex::new(Readiness {
        failing: vec!["starting".into()],
    }));
    let (metrics_listener, metrics_address) =
        listen("relay.metrics_listen", settings.metrics_listen).await?;
    let (api_listener, api_address) = listen("relay.api_listen", settings.api_listen).await?;
    let (chains_tx, chains_rx) = watch::channel(Vec::new());
    let (stages_tx, _) = tokio::sync::broadcast::channel(crate::api::STAGE_EVENTS);
    let mut observer = Observer::new(
        metrics.clone(),
        settings
            .peers
            .iter()
            .map(|p| (p.key, p.name.clone()))
            .collect(),
        home.iter().cloned().collect(),
        settings.data_dir.join("store"),
        readiness.clone(),
        chains_tx,
        stages_tx.clone(),
    );
    // The chains' status and the gauges exist before the API and /metrics answer.
    observer.refresh(&core, &*store, now());
    let operator = settings.operator_token.clone();

    let allowed = settings
        .peers
        .iter()
        .map(|p| VerifyingKey::from_bytes(&p.key).map_err(|_| DaemonError::PeerKey(p.name.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    let transport = TransportConfig {
        max_frame_bytes: settings.limits.max_frame_bytes,
        ..TransportConfig::default()
    };
    let endpoint = Endpoint::bind(settings.listen, &key, allowed, transport)?;
    let listen = endpoint.local_addr()?;
    let hello = Hello::new(
        &key.verifying_key(),
        home.iter().map(|c| c.to_string()).collect(),
    );
    info!(
        relay = %hex::encode(me),
        %listen,
        metrics = %metrics_address,
        api = %api_address,
        chains = ?home,
        "relay started"
    );
    if let Some(started) = started {
        let _ = started.send(Running {
            listen,
            key: key.verifying_key(),
            metrics: metrics_address,
            api: api_address,
        });
    }

    let (cmd_tx, cmd_rx) = mpsc::channel::<Cmd>(4096);
    let (stop_tx, stop_rx) = watch::channel(false);
    let peers: Peers = Arc::default();
    let mut adapters: BTreeMap<ChainId, Home> = BTreeMap::new();
    for id in &home {
        adapters.insert(id.clone(), Home::new(id, &settings.chains[id], &key)?);
    }
    let devnets: BTreeMap<ChainId, Arc<DevnetAdapter>> = adapters
        .iter()
        .filter_map(|(id, h)| Some((id.clone(), h.devnet()?.clone())))
        .collect();
    let remote: Vec<ChainId> = settings
        .chains
        .iter()
        .filter(|(_, c)| c.endpoint.is_none())
        .map(|(id, _)| id.clone())
        .collect();

    let mut readers = devnets.clone();
    for (id, c) in &settings.chains {
        if let (None, Some(url), None) = (&c.endpoint, &c.evidence_endpoint, &c.evm) {
            readers.insert(id.clone(), Arc::new(DevnetAdapter::new(id.clone(), url)?));
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    let api = crate::api::router(crate::api::ApiContext {
        store: store.clone(),
        submitters: devnets.clone(),
        // Evidence files need both chains' RPC: the home chains' and the partner chains'
        // public RPCs the operator configured.
        readers,
        trust_roots: settings
            .chains
            .iter()
            .map(|(id, c)| (id.clone(), (c.root.clone(), c.options)))
            .collect(),
        chains: chains_rx,
        events: stages_tx,
        auth: crate::api::ApiAuth::new(
            operator,
            corridor_light_client::signature::PublicKey(key.verifying_key().to_bytes()),
        ),
        limits: crate::api::ApiLimits {
            rate_burst: settings.limits.api_rate_burst,
            rate_per_second: f64::from(settings.limits.api_rate_per_second),
            address_burst: settings.limits.api_address_rate_burst,
            address_per_second: f64::from(settings.limits.api_address_rate_per_second),
            ..crate::api::ApiLimits::default()
        },
        registry: registry.clone(),
    })?;
    tasks.spawn(crate::metrics::serve_router(
        api_listener,
        api,
        "trader API",
        stop_rx.clone(),
    ));
    tasks.spawn(crate::metrics::serve(
        metrics_listener,
        MetricsState {
            registry: registry.clone(),
            readiness,
        },
        stop_rx.clone(),
    ));
    for (chain, home) in &adapters {
        let (interval, cmd, stop, metrics) = (
            settings.limits.poll_interval,
            cmd_tx.clone(),
            stop_rx.clone(),
            metrics.clone(),
        );
        match home {
            Home::Devnet(adapter) => tasks.spawn(watcher(Watcher {
                chain: chain.clone(),
                adapter: AnyAdapter(adapter.clone()),
                inbox: Some((adapter.clone(), remote.clone())),
                interval,
                cmd,
                stop,
                metrics,
            })),
            Home::Evm(adapter) => tasks.spawn(watcher(Watcher {
                chain: chain.clone(),
                adapter: AnyAdapter(adapter.clone()),
                inbox: None,
                interval,
                cmd,
                stop,
                metrics,
            })),
        };
    }
    let mut incoming_tx: BTreeMap<PeerId, mpsc::Sender<Link>> = BTreeMap::new();
    for p in &settings.peers {
        let (control_tx, control_rx) = mpsc::channel(8);
        let (in_tx, in_rx) = mpsc::channel(4);
        incoming_tx.insert(p.key, in_tx);
        peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                p.key,
                PeerSlot {
                    frames: None,
                    control: control_tx,
                },
            );
        tasks.spawn(peer_task(PeerTask {
            me,
            peer: p.key,
            name: p.name.clone(),
            address: p.address,
            endpoint: endpoint.clone(),
            hello: hello.clone(),
            limits,
            backoff: Backoff {
                base: settings.limits.reconnect_min,
                max: settings.limits.reconnect_max,
            },
            penalty_backoff: settings.limits.penalty_backoff,
            peers: peers.clone(),
            cmd: cmd_tx.clone(),
            control: control_rx,
            incoming: in_rx,
            stop: stop_rx.clone(),
            metrics: metrics.clone(),
        }));
    }
    tasks.spawn(acceptor(
        endpoint.clone(),
        hello.clone(),
        incoming_tx,
        stop_rx.clone(),
    ));
    {
        let cmd = cmd_tx.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = stop.changed() => return,
                }
                if cmd.send(Cmd::Event(Event::Tick)).await.is_err() {
                    return;
                }
            }
        });
    }
    let core_loop = tokio::spawn(core_loop(
        core,
        store,
        cmd_rx,
        cmd_tx.clone(),
        adapters.clone(),
        peers.clone(),
        observer,
    ));
    drop(cmd_tx);
    let mut core_loop = core_loop;
    // A failed store write ends the core loop: the relay stops (its supervisor restarts it
    // from what the store holds) rather than run on without a core.
    let failure = tokio::select! {
        () = shutdown => None,
        ended = &mut core_loop => Some(match ended {
            Ok(Err(e)) => DaemonError::Store(e),
            _ => DaemonError::Store(corridor_relay_core::store::StoreError {
                operation: "core loop",
                reason: "ended unexpectedly".into(),
            }),
        }),
    };
    info!("shutting down: closing links, stopping tasks");
    let _ = stop_tx.send(true);
    endpoint.close();
    while tasks.join_next().await.is_some() {}
    core_loop.abort();
    let _ = core_loop.await;
    endpoint.wait_idle().await;
    info!("stopped");
    failure.map_or(Ok(()), Err)
}

/// Binds an HTTP listener; the error names the settings key.
async fn listen(
    key: &'static str,
    address: std::net::SocketAddr,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), DaemonError> {
    let error = |source| DaemonError::Listen {
        key,
        address,
        source,
    };
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(error)?;
    let bound = listener.local_addr().map_err(error)?;
    Ok((listener, bound))
}

async fn core_loop(
    mut core: Core<F>,
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Cmd>,
    tx: mpsc::Sender<Cmd>,
    adapters: BTreeMap<ChainId, Home>,
    peers: Peers,
    mut observer: Observer,
) -> Result<(), corridor_relay_core::store::StoreError> {
    while let Some(cmd) = rx.recv().await {
        let Cmd::Event(event) = cmd else {
            answer(cmd, &mut core);
            continue;
        };
        if !observer.wait_for_indexer(INDEXER_WAIT).await {
            warn!("trader API: its indexer is far behind; going on without it");
        }
        // Group commit: the events already waiting (up to EVENT_GROUP) are handled one by
        // one, their writes go to the store in one synced write, and only then are their
        // actions performed, in order. A command that is not an event ends the group and
        // is answered after the write.
        let mut writes = WriteBatch::default();
        let mut actions = Vec::new();
        let mut next = Some(Cmd::Event(event));
        let mut after = None;
        let mut handled = 0;
        while let Some(cmd) = next.take() {
            let Cmd::Event(event) = cmd else {
                after = Some(cmd);
                break;
            };
            observer.event(&event);
            let mut closing = observer.entries_before(&event, &core);
            let at = now();
            let output = core.handle(event, at);
            writes.extend(output.writes);
            for action in output.actions {
                let entry = observer.entry_for(&action, &core, &mut closing);
                actions.push((action, entry, at));
            }
            handled += 1;
            if handled < EVENT_GROUP {
                next = rx.try_recv().ok();
            }
        }
        let timer = observer.metrics.store_write.start_timer();
        let written = store.write(&writes);
        timer.observe_duration();
        if let Err(e) = written {
            // Nothing may be told before it is durable: stop here.
            warn!(error = %e, "store write failed: stopping the relay");
            return Err(e);
        }
        for (action, entry, at) in actions {
            observer.action(&action, entry, &*store, at);
            perform(action, &adapters, &peers, &tx, &observer.metrics);
        }
        observer.refresh(&core, &*store, now());
        if let Some(cmd) = after {
            answer(cmd, &mut core);
        }
    }
    Ok(())
}

/// Answers a command that is not an event.
fn answer(cmd: Cmd, core: &mut Core<F>) {
    match cmd {
        Cmd::Watch { chain, reply } => {
            if let Some(c) = core.client(&chain) {
                let _ = reply.send((c.clone(), core.scanned(&chain)));
            }
        }
        Cmd::Forgive(peer) => core.forgive(&peer),
        Cmd::Event(_) => {}
    }
}

/// Most events handled together before their writes go to the store in one synced write.
const EVENT_GROUP: usize = 64;

/// Longest the core loop waits for the trader API's indexer before a group of events.
const INDEXER_WAIT: Duration = Duration::from_secs(2);

fn perform(
    action: Action<F>,
    adapters: &BTreeMap<ChainId, Home>,
    peers: &Peers,
    tx: &mpsc::Sender<Cmd>,
    metrics: &Arc<Metrics>,
) {
    let slots = || {
        peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    match action {
        Action::Send { peer, frame } => {
            let Ok(bytes) = frame.encode() else {
                warn!("a frame did not encode");
                return;
            };
            if let Some(sender) = slots().get(&peer).and_then(|s| s.frames.clone()) {
                // A full queue drops the frame: it is resent when its ack is overdue.
                let _ = sender.try_send(bytes);
            }
        }
        Action::Deliver {
            chain,
            lane,
            bundles,
        } => {
            let Some(home) = adapters.get(&chain).cloned() else {
                return;
            };
            let tx = tx.clone();
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let first = bundles.first().map_or(0, |b| b.message.sequence);
                let sequences: Vec<u64> = bundles.iter().map(|b| b.message.sequence).collect();
                let (acks, refused) = match metrics.adapter(&chain, home.deliver(bundles)).await {
                    Ok(batch) => (batch.acks, batch.refused),
                    Err(e) => (Vec::new(), Some(e)),
                };
                let taken = acks.len();
                for ack in acks {
                    let event = Event::Delivered {
                        lane: lane.clone(),
                        sequence: ack.sequence,
                        result: ack.result,
                    };
                    let _ = tx.send(Cmd::Event(event)).await;
                }
                let Some(&refused_at) = sequences.get(taken) else {
                    return;
                };
                let reason = refused.map_or_else(
                    || "the chain answered for fewer bundles than it was given".to_owned(),
                    |e| e.to_string(),
                );
                warn!(%lane, sequence = refused_at, first, taken, error = %reason, "delivery failed; retried later");
                let source = lane.source.clone();
                let inbox = match home.devnet() {
                    Some(devnet) => devnet.client_status(&source).await.ok(),
                    None => None,
                };
                if let Some(status) = inbox {
                    let _ = tx
                        .send(Cmd::Event(Event::InboxTrust {
                            chain: chain.clone(),
                            source,
                            root: status.root.height,
                            latest: status.latest_height(),
                        }))
                        .await;
                }
                let event = Event::DeliveryFailed {
                    lane,
                    sequence: refused_at,
                    reason,
                };
                let _ = tx.send(Cmd::Event(event)).await;
            });
        }
        Action::Rejected {
            peer,
            reason,
            detail,
        } => {
            if reason == "duplicate" {
                info!(peer = %hex::encode(peer), reason, %detail, "dropped a replay");
            } else {
                warn!(peer = %hex::encode(peer), reason, %detail, "refused a peer's input");
            }
        }
        Action::Disconnect { peer, reason } => {
            warn!(peer = %hex::encode(peer), %reason, "disconnecting a misbehaving peer");
            if let Some(slot) = slots().get(&peer) {
                let _ = slot.control.try_send(Control::Disconnect(reason));
            }
        }
        Action::Frozen { chain, reason } => {
            warn!(%chain, %reason, "LIGHT CLIENT FROZEN: the chain's lanes stop");
        }
        Action::EndpointFault {
            chain,
            reason,
            detail,
        } => {
            warn!(%chain, reason, %detail, "the chain's endpoint served something that does not verify");
        }
        Action::Stage {
            lane,
            sequence,
            stage,
        } => {
            tracing::debug!(%lane, sequence, stage = stage.name(), "stage");
        }
    }
}

async fn ask_watch(cmd: &mpsc::Sender<Cmd>, chain: &ChainId) -> Option<(LightClient<F>, Height)> {
    let (reply, rx) = oneshot::channel();
    cmd.send(Cmd::Watch {
        chain: chain.clone(),
        reply,
    })
    .await
    .ok()?;
    rx.await.ok()
}

/// Most heights a watcher takes in one round (bounds the work per round).
const ROUND_HEIGHTS: u64 = 256;

struct Watcher<A> {
    chain: ChainId,
    adapter: AnyAdapter<A>,
    /// A devnet chain's inbox, whose light clients of the `remote` chains it reports.
    inbox: Option<(Arc<DevnetAdapter>, Vec<ChainId>)>,
    interval: Duration,
    cmd: mpsc::Sender<Cmd>,
    stop: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
}

async fn watcher<A>(mut w: Watcher<A>)
where
    A: ChainAdapter + 'static,
    A::Family: Member,
{
    // The highest height handed to the core; a round with no newer block asks nothing of
    // the core (its light client is copied for a round, which is not free).
    let mut handed: Option<Height> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(w.interval) => {}
            _ = w.stop.changed() => return,
        }
        match watch_round(&w, handed).await {
            Ok(Some(to)) => handed = Some(to),
            Ok(None) => {}
            Err(e) => {
                warn!(chain = %w.chain, error = %e, "watching the chain failed; trying again")
            }
        }
    }
}

async fn watch_round<A>(
    w: &Watcher<A>,
    handed: Option<Height>,
) -> Result<Option<Height>, corridor_adapters::bundle::BundleError>
where
    A: ChainAdapter + 'static,
    A::Family: Member,
{
    let (chain, adapter, cmd, metrics) = (&w.chain, &w.adapter, &w.cmd, &w.metrics);
    let tip = metrics
        .adapter(chain, adapter.status())
        .await?
        .latest_height;
    metrics
        .chain_head_height
        .with_label_values(&[chain.as_str()])
        .set(i64::try_from(tip.0).unwrap_or(i64::MAX));
    if handed.is_some_and(|h| tip <= h) {
        return Ok(None);
    }
    let Some((mut client, scanned)) = ask_watch(cmd, chain).await else {
        return Ok(None);
    };
    if client.is_frozen() {
        return Ok(None);
    }
    let from = Height(scanned.0.saturating_add(1).max(client.root().height.0));
    if tip < from {
        return Ok(None);
    }
    let to = Height(tip.0.min(from.0.saturating_add(ROUND_HEIGHTS - 1)));
    let before = client.latest().map(|_| client.latest_height());
    sync_client(adapter, &mut client, to, now()).await?;
    let send = |e| cmd.send(Cmd::Event(e));
    // The blocks the client took on its way to `to`; the core skips what it trusts
    // already and verifies the rest again.
    let blocks: Vec<_> = client
        .trusted_range(..)
        .filter(|b| before.is_none_or(|l| AnyFamily.block_height(b) > l))
        .cloned()
        .collect();
    if !blocks.is_empty() {
        let _ = send(Event::HomeBlocks {
            chain: chain.clone(),
            blocks,
        })
        .await;
    }
    // Messages, then receipts, a page at a time (each page at most what the endpoint
    // answers in one response), each page's blocks handed over before what they commit.
    let start = Cursor {
        height: from,
        index: 0,
    };
    let mut cursor = Some(start);
    while let Some(at) = cursor {
        let page = metrics
            .adapter(chain, adapter.outbound_page(at, to))
            .await?;
        cursor = page.next;
        let mut by_height: BTreeMap<Height, Vec<_>> = BTreeMap::new();
        for m in page.items {
            by_height
                .entry(m.height)
                .or_default()
                .push((m.message, m.proof));
        }
        hand_blocks(adapter, &mut client, chain, by_height.keys(), cmd).await?;
        for (height, messages) in by_height {
            let _ = send(Event::Committed {
                chain: chain.clone(),
                height,
                messages,
            })
            .await;
        }
    }
    let mut cursor = Some(start);
    while let Some(at) = cursor {
        let page = metrics
            .adapter(chain, adapter.receipts_page(at, to))
            .await?;
        cursor = page.next;
        let mut by_height: BTreeMap<Height, Vec<_>> = BTreeMap::new();
        for r in page.items {
            by_height.entry(r.height).or_default().push(r);
        }
        hand_blocks(adapter, &mut client, chain, by_height.keys(), cmd).await?;
        for (height, receipts) in by_height {
            let _ = send(Event::ReceiptsCommitted {
                chain: chain.clone(),
                height,
                receipts,
            })
            .await;
        }
    }
    let _ = send(Event::Scanned {
        chain: chain.clone(),
        height: to,
    })
    .await;
    let (inbox, remote) = match &w.inbox {
        Some((inbox, remote)) => (Some(inbox), remote.as_slice()),
        None => (None, &[][..]),
    };
    for (inbox, source) in remote.iter().filter_map(|s| Some((inbox?, s))) {
        if let Ok(s) = metrics.adapter(chain, inbox.client_status(source)).await {
            let _ = send(Event::InboxTrust {
                chain: chain.clone(),
                source: source.clone(),
                root: s.root.height,
                latest: s.latest_height(),
            })
            .await;
        }
    }
    Ok(Some(to))
}

/// Hands the core the blocks at `heights` (the heights a page of messages or receipts is
/// proven at), bringing the client to each first, with every block the client took on the
/// way (the core verifies them again from its own client, so it needs the whole path). The
/// core takes a block it already trusts for the price of a hash comparison.
async fn hand_blocks<'a, A>(
    adapter: &AnyAdapter<A>,
    client: &mut LightClient<F>,
    chain: &ChainId,
    heights: impl Iterator<Item = &'a Height> + Clone,
    cmd: &mpsc::Sender<Cmd>,
) -> Result<(), corridor_adapters::bundle::BundleError>
where
    A: ChainAdapter,
    A::Family: Member,
{
    let known: BTreeSet<Height> = client
        .trusted_range(..)
        .map(|b| AnyFamily.block_height(b))
        .collect();
    for h in heights.clone() {
        if client.trusted_at(*h).is_none() {
            sync_client(adapter, client, *h, now()).await?;
        }
    }
    let wanted: BTreeSet<Height> = heights.copied().collect();
    let blocks: Vec<_> = client
        .trusted_range(..)
        .filter(|b| {
            let h = AnyFamily.block_height(b);
            !known.contains(&h) || wanted.contains(&h)
        })
        .cloned()
        .collect();
    if !blocks.is_empty() {
        let _ = cmd
            .send(Cmd::Event(Event::HomeBlocks {
                chain: chain.clone(),
                blocks,
            }))
            .await;
    }
    Ok(())
}

/// Most incoming handshakes in progress at once; more attempts are refused outright.
const MAX_HANDSHAKES: usize = 16;
/// Most incoming handshakes in progress at once from one address, so that one source of
/// stalled handshakes cannot take every slot from the partners.
const MAX_HANDSHAKES_PER_ADDRESS: usize = 2;

/// The handshakes in progress: at most [`MAX_HANDSHAKES`] in all and
/// [`MAX_HANDSHAKES_PER_ADDRESS`] per remote address. A slot is held by its guard.
#[derive(Clone, Default)]
struct HandshakeSlots(Arc<std::sync::Mutex<BTreeMap<std::net::IpAddr, usize>>>);

/// A handshake slot, given back on drop.
struct HandshakeSlot {
    slots: HandshakeSlots,
    ip: std::net::IpAddr,
}

impl HandshakeSlots {
    /// A slot for an attempt from `ip`, or the reason there is none.
    fn take(&self, ip: std::net::IpAddr) -> Result<HandshakeSlot, &'static str> {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.values().sum::<usize>() >= MAX_HANDSHAKES {
            return Err("too-many-handshakes");
        }
        let n = map.entry(ip).or_default();
        if *n >= MAX_HANDSHAKES_PER_ADDRESS {
            return Err("too-many-handshakes-from-address");
        }
        *n += 1;
        Ok(HandshakeSlot {
            slots: self.clone(),
            ip,
        })
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut map = self
            .slots
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Accepts incoming links, each handshake in a task of its own (at most
/// [`MAX_HANDSHAKES`] at once, [`MAX_HANDSHAKES_PER_ADDRESS`] from one address), so a
/// connection that never completes its handshake holds up no partner; hands each link to
/// its peer's task.
async fn acceptor(
    endpoint: Endpoint,
    hello: Hello,
    incoming: BTreeMap<PeerId, mpsc::Sender<Link>>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = HandshakeSlots::default();
    let incoming = Arc::new(incoming);
    let mut handshakes = tokio::task::JoinSet::new();
    loop {
        let next = tokio::select! {
            n = endpoint.incoming() => n,
            _ = stop.changed() => return,
        };
        let Some(attempt) = next else { return };
        while handshakes.try_join_next().is_some() {}
        let addr = attempt.remote_addr();
        let slot = match slots.take(addr.ip()) {
            Ok(slot) => slot,
            Err(reason) => {
                warn!(%addr, reason, "refused an incoming connection");
                attempt.refuse();
                continue;
            }
        };
        let (hello, incoming) = (hello.clone(), incoming.clone());
        handshakes.spawn(async move {
            let _slot = slot;
            match attempt.accept(&hello).await {
                Err(e) => warn!(error = %e, reason = e.reason(), "refused an incoming connection"),
                Ok(link) => match incoming.get(&link.peer_key().to_bytes()) {
                    Some(tx) => {
                        let _ = tx.try_send(link);
                    }
                    None => link.close(1, "not a configured peer"),
                },
            }
        });
    }
}

struct PeerTask {
    me: PeerId,
    peer: PeerId,
    name: String,
    address: std::net::SocketAddr,
    endpoint: Endpoint,
    hello: Hello,
    limits: Limits,
    backoff: Backoff,
    penalty_backoff: Duration,
    peers: Peers,
    cmd: mpsc::Sender<Cmd>,
    control: mpsc::Receiver<Control>,
    incoming: mpsc::Receiver<Link>,
    stop: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
}

/// How long the relay with the higher key waits for its peer's dial before it dials.
const ACCEPT_GRACE: Duration = Duration::from_secs(2);

/// The next link to the peer: dialled (at once when this relay has the lower key, after
/// [`ACCEPT_GRACE`] otherwise) or accepted.
/// `None` when the relay stops; `Some(None)` when a dial failed.
async fn next_link(t: &mut PeerTask, dialer: bool, peer_key: VerifyingKey) -> Option<Option<Link>> {
    // Either side may open the link: the lower key dials, both accept.
    let link = if dialer {
        let connect = t.endpoint.connect(t.address, peer_key, &t.hello);
        tokio::select! {
            r = connect => match r {
                Ok(link) => Some(link),
                Err(e) => {
                    tracing::debug!(peer = %t.name, error = %e, "dial failed");
                    None
                }
            },
            l = t.incoming.recv() => l,
            _ = t.stop.changed() => return None,
        }
    } else {
        // The higher key waits for the peer's dial; when none comes within the grace
        // period it dials itself: after this relay restarts, the peer may still hold the
        // dead link (it learns only at its idle timeout) and would not dial.
        tokio::select! {
            l = t.incoming.recv() => l,
            () = tokio::time::sleep(ACCEPT_GRACE) => {
                let connect = t.endpoint.connect(t.address, peer_key, &t.hello);
                tokio::select! {
                    r = connect => r.ok(),
                    l = t.incoming.recv() => l,
                    _ = t.stop.changed() => return None,
                }
            }
            _ = t.stop.changed() => return None,
        }
    };
    Some(link)
}

async fn peer_task(mut t: PeerTask) {
    let Ok(peer_key) = VerifyingKey::from_bytes(&t.peer) else {
        return;
    };
    let dialer = t.me < t.peer;
    let mut attempt = 0u32;
    let mut rng = rand::rngs::StdRng::from_entropy();
    let mut pending: Option<Link> = None;
    loop {
        let link = match pending.take() {
            Some(l) => Some(l),
            None => match next_link(&mut t, dialer, peer_key).await {
                Some(l) => l,
                None => return,
            },
        };
        let Some(link) = link else {
            let delay = t.backoff.delay(attempt, &mut rng);
            attempt = attempt.saturating_add(1);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = t.stop.changed() => return,
            }
            continue;
        };
        attempt = 0;
        info!(peer = %t.name, addr = %link.remote_addr(), "peer connected");
        let (frames_tx, mut frames_rx) = mpsc::channel::<Vec<u8>>(1024);
        if let Some(slot) = t
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&t.peer)
        {
            slot.frames = Some(frames_tx);
        }
        let _ = t.cmd.send(Cmd::Event(Event::PeerUp { peer: t.peer })).await;
        let mut penalised = false;
        let label = [t.name.as_str()];
        let m = &t.metrics;
        let (frames_in, bytes_in) = (
            m.peer_frames_received.with_label_values(&label),
            m.peer_received_bytes.with_label_values(&label),
        );
        let (frames_out, bytes_out) = (
            m.peer_frames_sent.with_label_values(&label),
            m.peer_sent_bytes.with_label_values(&label),
        );
        let rtt = m.peer_rtt.with_label_values(&label);
        rtt.set(link.rtt().as_secs_f64());
        loop {
            tokio::select! {
                received = link.recv() => match received {
                    Ok(bytes) => {
                        frames_in.inc();
                        bytes_in.inc_by(bytes.len() as u64);
                        rtt.set(link.rtt().as_secs_f64());
                        let event = match Frame::<F>::decode(&bytes, &t.limits) {
                            Ok(frame) => Event::Frame { peer: t.peer, frame },
                            Err(e) => Event::BadFrame { peer: t.peer, reason: e.reason(), detail: e.to_string() },
                        };
                        if t.cmd.send(Cmd::Event(event)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) if matches!(e.reason(), "frame-too-large" | "truncated" | "trailing-bytes") => {
                        let _ = t.cmd.send(Cmd::Event(Event::BadFrame { peer: t.peer, reason: e.reason(), detail: e.to_string() })).await;
                    }
                    Err(e) => {
                        info!(peer = %t.name, reason = e.reason(), "peer link ended: {e}");
                        break;
                    }
                },
                Some(bytes) = frames_rx.recv() => {
                    if let Err(e) = link.send(&bytes).await {
                        info!(peer = %t.name, reason = e.reason(), "sending to the peer failed: {e}");
                        break;
                    }
                    frames_out.inc();
                    bytes_out.inc_by(bytes.len() as u64);
                }
                Some(newer) = t.incoming.recv() => {
                    // The peer restarted and dialled again: the newer link wins.
                    link.close(0, "replaced by a newer link");
                    pending = Some(newer);
                    break;
                }
                Some(Control::Disconnect(reason)) = t.control.recv() => {
                    link.close(2, &reason);
                    penalised = true;
                    break;
                }
                _ = t.stop.changed() => {
                    link.close(0, "shutdown");
                    return;
                }
            }
        }
        if let Some(slot) = t
            .peers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&t.peer)
        {
            slot.frames = None;
        }
        let _ = t
            .cmd
            .send(Cmd::Event(Event::PeerDown { peer: t.peer }))
            .await;
        if penalised {
            tokio::select! {
                _ = tokio::time::sleep(t.penalty_backoff) => {}
                _ = t.stop.changed() => return,
            }
            // Links that arrived during the back-off are dropped.
            while let Ok(l) = t.incoming.try_recv() {
                l.close(2, "backed off");
            }
            let _ = t.cmd.send(Cmd::Forgive(t.peer)).await;
        }
    }
}

use rand::SeedableRng as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_slots_are_bounded_in_all_and_per_address() {
        let slots = HandshakeSlots::default();
        let ip = |n: u8| std::net::IpAddr::from([127, 0, 0, n]);
        let a1 = slots.take(ip(1)).unwrap();
        let _a2 = slots.take(ip(1)).unwrap();
        assert_eq!(
            slots.take(ip(1)).err(),
            Some("too-many-handshakes-from-address")
        );
        // Another address is not held back by the first one's attempts.
        let mut held = vec![slots.take(ip(2)).unwrap()];
        // A slot given back can be taken again.
        drop(a1);
        held.push(slots.take(ip(1)).unwrap());
        // In all, at most MAX_HANDSHAKES, whatever the addresses.
        for n in 3..=255u8 {
            match slots.take(ip(n)) {
                Ok(s) => held.push(s),
                Err(reason) => {
                    assert_eq!(reason, "too-many-handshakes");
                    break;
                }
            }
        }
        assert_eq!(
            held.len() + 1,
            MAX_HANDSHAKES,
            "the _a2 slot and the ones held"
        );
        drop(held);
        assert!(slots.take(ip(9)).is_ok());
    }
}
