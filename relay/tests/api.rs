//! The trader API (`corridor_relay::api`) against real devnet chains running in this
//! process, real relay cores driven the way the daemon drives them, and real RocksDB
//! stores; served over HTTP on loopback and called with an HTTP client.
//!
//! - A message goes from an exporter on `cn-shanghai` to an importer on `kz-astana`
//!   through two relay cores: both relays' APIs show its timeline (committed height and
//!   proof at the source, receipt height and proof at the destination), only to its two
//!   parties and the operator; its event streams replay from any `Last-Event-ID`, also
//!   after the API restarts on the same store.
//! - Every rejection of issue 9 answers its own problem type, names the field, and leaves
//!   nothing behind: no API record, no event, nothing in the source chain's outbox.
//! - Lists filter and page; the rate limit answers 429 with `Retry-After` and counts it;
//!   the chains' light-client status shows lag, trust expiry and freezes.
//! - Every answer of these tests is checked against the OpenAPI document, and the document
//!   against the router's routes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corridor_adapters::any::AnyAdapter;
use corridor_adapters::bundle::sync_client;
use corridor_adapters::devnet::{AdminToken, DevnetAdapter};
use corridor_adapters::{AdapterError, ChainAdapter};
use corridor_devnet::{devnet_trader_key, genesis_block, DevnetChain, DevnetConfig, DevnetHandle};
use corridor_light_client::any::{AnyFamily, AnyLeafProof};
use corridor_light_client::client::{LightClient, TrustRoot};
use corridor_light_client::documents::examples::example;
use corridor_light_client::envelope::{
    payload_from_json, Deadline, DocumentKind, MessageBody, SignedMessage, TradeMessage, VERSION,
};
use corridor_light_client::family::FamilyKind;
use corridor_light_client::merkle::InclusionProof;
use corridor_light_client::signature::SigningKey;
use corridor_light_client::testkit::TempDir;
use corridor_light_client::verifier::Verifier;
use corridor_light_client::{hash, ChainId, Hash32, Height, Options, Time};
use corridor_relay::api::auth::token_request_bytes;
use corridor_relay::api::error::PROBLEMS;
use corridor_relay::api::{
    router, ApiAuth, ApiContext, ApiLimits, ChainStatus, StageEvent, OPENAPI, ROUTES,
};
use corridor_relay::configs::CONFIGS;
use corridor_relay::rocks::RocksStore;
use corridor_relay_core::core::{
    Action, AuditRecord, Core, CoreConfig, Event, PeerId, Stage, StoredEntry,
};
use corridor_relay_core::store::{Column, Store};
use corridor_relay_core::wire::{Frame, Lane, Limits};
use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};

type F = AnyFamily;

const EXPORTER: &str = "shanghai-exporter";
const IMPORTER: &str = "astana-importer";
const OPERATOR: &str = "operator-credential-for-the-tests";

fn now() -> Time {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    Time::from_unix_nanos(u64::try_from(nanos).unwrap())
}

fn options() -> Options {
    Options {
        trusting_period: Duration::from_secs(10 * 365 * 86_400),
        ..Options::default()
    }
}

struct Chain {
    _handle: DevnetHandle,
    url: String,
    adapter: DevnetAdapter,
    id: ChainId,
    root: TrustRoot,
}

async fn start_chain(name: &str, dir: &Path) -> Chain {
    let text = CONFIGS.iter().find(|(n, _)| *n == name).unwrap().1;
    let mut config = DevnetConfig::from_toml(text).unwrap();
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.admin_listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.store_path = dir.join(name);
    config.spec.block_interval = Duration::from_millis(100);
    let genesis = genesis_block(&config.spec);
    let id = config.chain_id().clone();
    let handle = DevnetChain::start(config).await.unwrap();
    let url = handle.url();
    let adapter = DevnetAdapter::new(id.clone(), &url).unwrap();
    Chain {
        _handle: handle,
        url,
        adapter,
        root: TrustRoot {
            chain_id: id.clone(),
            height: genesis.height(),
            header_hash: genesis.header().hash(),
            pin: None,
        },
        id,
    }
}

// ---------------------------------------------------------------------------------------
// One relay's core, driven as the daemon drives it: every step's writes applied to the
// store before its actions, one stage event per audit record the step wrote.

struct Node {
    me: PeerId,
    core: Core<F>,
    store: Arc<dyn Store>,
    events: broadcast::Sender<StageEvent>,
    home: AnyAdapter<DevnetAdapter>,
    remote: ChainId,
    handed: Option<Height>,
    frames: Vec<Frame<F>>,
    deliveries: Vec<(Lane, corridor_light_client::bundle::ProofBundle<F>)>,
    /// The daemon's observer: what entry each stage event carries.
    observer: corridor_relay::observe::Observer,
}

impl Node {
    fn new(me: u8, peer: u8, home: &Chain, remote: &Chain, store: Arc<dyn Store>) -> Self {
        let config = CoreConfig {
            home: [home.id.clone()].into(),
            routes: [(remote.id.clone(), [peer; 32])].into(),
            limits: Limits::default(),
            window: 64,
            resend_after: Duration::from_secs(2),
            penalty_threshold: 100,
            max_delivery_batch: corridor_relay_core::DEFAULT_DELIVERY_BATCH,
        };
        let clients = vec![
            LightClient::new(home.root.clone(), options()),
            LightClient::new(remote.root.clone(), options()),
        ];
        let core = Core::restore(config, clients, &*store).unwrap();
        let events = broadcast::channel(1024).0;
        let registry = prometheus::Registry::new();
        let observer = corridor_relay::observe::Observer::new(
            Arc::new(
                corridor_relay::metrics::Metrics::new(&registry, &Default::default()).unwrap(),
            ),
            BTreeMap::new(),
            [home.id.clone()].into(),
            std::path::PathBuf::from("."),
            Arc::new(std::sync::Mutex::new(corridor_relay::metrics::Readiness {
                failing: Vec::new(),
            })),
            watch::channel(Vec::new()).0,
            events.clone(),
        );
        Self {
            me: [me; 32],
            core,
            store,
            events,
            home: AnyAdapter(Arc::new(home.adapter.clone())),
            remote: remote.id.clone(),
            handed: None,
            frames: Vec::new(),
            deliveries: Vec::new(),
            observer,
        }
    }

    fn handle(&mut self, event: Event<F>) {
        let now = now();
        let mut closing = self.observer.entries_before(&event, &self.core);
        let out = self.core.handle(event, now);
        self.store.write(&out.writes).unwrap();
        // Each stage's entry as the daemon takes it, right after the step.
        let entries: Vec<_> = out
            .actions
            .iter()
            .map(|a| self.observer.entry_for(a, &self.core, &mut closing))
            .collect();
        for (action, entry) in out.actions.into_iter().zip(entries) {
            match action {
                Action::Stage {
                    lane,
                    sequence,
                    stage,
                } => {
                    let record = AuditRecord {
                        lane,
                        sequence,
                        stage,
                        at: now,
                    };
                    // The record the core wrote is the event.
                    assert!(self
                        .store
                        .get(Column::Audit, &record.key())
                        .unwrap()
                        .is_some());
                    let _ = self.events.send(StageEvent {
                        audit: record,
                        entry: entry.map(Box::new),
                    });
                }
                Action::Send { frame, .. } => self.frames.push(frame),
                Action::Deliver { lane, bundles, .. } => self
                    .deliveries
                    .extend(bundles.into_iter().map(|b| (lane.clone(), b))),
                // A resend that crossed its ack is dropped as a duplicate; nothing else
                // honest is ever refused.
                Action::Rejected { reason, detail, .. } => {
                    assert_eq!(reason, "duplicate", "refused: {detail}")
                }
                Action::Frozen { chain, reason } => panic!("{chain} froze: {reason}"),
                _ => {}
            }
        }
    }

    /// One watcher round (the daemon's `watch_round`, shortened).
    async fn watch(&mut self) {
        let chain = self.home.chain_id().clone();
        let tip = self.home.status().await.unwrap().latest_height;
        if self.handed.is_some_and(|h| tip <= h) {
            return;
        }
        let mut client = self.core.client(&chain).unwrap().clone();
        let scanned = self.core.scanned(&chain);
        let from = Height(scanned.0.saturating_add(1).max(client.root().height.0));
        if tip < from {
            return;
        }
        let before = client.latest().map(|_| client.latest_height());
        sync_client(&self.home, &mut client, tip, now())
            .await
            .unwrap();
        let messages = self.home.outbound_messages(from, tip).await.unwrap();
        let receipts = self.home.receipts(from, tip).await.unwrap();
        let mut heights: Vec<Height> = messages.iter().map(|m| m.height).collect();
        heights.extend(receipts.iter().map(|r| r.height));
        for h in &heights {
            if client.trusted_at(*h).is_none() {
                sync_client(&self.home, &mut client, *h, now())
                    .await
                    .unwrap();
            }
        }
        let blocks: Vec<_> = client
            .trusted_range(..)
            .filter(|b| {
                let h = AnyFamily.block_height(b);
                before.is_none_or(|l| h > l) || heights.contains(&h)
            })
            .cloned()
            .collect();
        if !blocks.is_empty() {
            self.handle(Event::HomeBlocks {
                chain: chain.clone(),
                blocks,
            });
        }
        let mut by_height: BTreeMap<Height, Vec<_>> = BTreeMap::new();
        for m in messages {
            by_height
                .entry(m.height)
                .or_default()
                .push((m.message, m.proof));
        }
        for (height, messages) in by_height {
            self.handle(Event::Committed {
                chain: chain.clone(),
                height,
                messages,
            });
        }
        let mut receipts_by: BTreeMap<Height, Vec<_>> = BTreeMap::new();
        for r in receipts {
            receipts_by.entry(r.height).or_default().push(r);
        }
        for (height, receipts) in receipts_by {
            self.handle(Event::ReceiptsCommitted {
                chain: chain.clone(),
                height,
                receipts,
            });
        }
        self.handle(Event::Scanned {
            chain: chain.clone(),
            height: tip,
        });
        if let Ok(s) = self.home.inner().client_status(&self.remote).await {
            self.handle(Event::InboxTrust {
                chain: chain.clone(),
                source: self.remote.clone(),
                root: s.root.height,
                latest: s.latest_height(),
            });
        }
        self.handed = Some(tip);
    }

    async fn deliver(&mut self) {
        for (lane, bundle) in std::mem::take(&mut self.deliveries) {
            let sequence = bundle.message.sequence;
            let event = match self.home.submit_delivery(&bundle).await {
                Ok(ack) => Event::Delivered {
                    lane,
                    sequence,
                    result: ack.result,
                },
                Err(e) => Event::DeliveryFailed {
                    lane,
                    sequence,
                    reason: e.to_string(),
                },
            };
            self.handle(event);
        }
    }
}

/// Frames sent by `from` so far reach `to` (one network hop).
fn hop(from: &mut Node, to: &mut Node) {
    for frame in std::mem::take(&mut from.frames) {
        let peer = from.me;
        to.handle(Event::Frame { peer, frame });
    }
}

/// One round of the two relays: watch their chains, one hop of frames each way, deliver.
async fn round(a: &mut Node, b: &mut Node) {
    a.watch().await;
    b.watch().await;
    hop(a, b);
    hop(b, a);
    a.deliver().await;
    b.deliver().await;
    a.handle(Event::Tick);
    b.handle(Event::Tick);
}

// ---------------------------------------------------------------------------------------
// The API, served on loopback.

struct Served {
    url: String,
    registry: prometheus::Registry,
    chains: watch::Sender<Vec<ChainStatus>>,
    store: Arc<dyn Store>,
}

fn chain_status(chain: &ChainId, home: bool) -> ChainStatus {
    ChainStatus {
        chain: chain.clone(),
        home,
        trusted_height: Some(Height(1)),
        trusted_time: None,
        head_height: None,
        trusted_until: None,
        frozen: None,
        family: FamilyKind::Corridor,
        trust: "light-client".into(),
    }
}

async fn serve(
    store: Arc<dyn Store>,
    home: &Chain,
    remote: &ChainId,
    events: &broadcast::Sender<StageEvent>,
    limits: ApiLimits,
) -> Served {
    serve_with(store, home, remote, events, limits, |_| {}).await
}

async fn serve_with(
    store: Arc<dyn Store>,
    home: &Chain,
    remote: &ChainId,
    events: &broadcast::Sender<StageEvent>,
    limits: ApiLimits,
    adjust: impl FnOnce(&mut ApiContext),
) -> Served {
    let registry = prometheus::Registry::new();
    let (chains, chains_rx) = watch::channel(vec![
        chain_status(&home.id, true),
        chain_status(remote, false),
    ]);
    let mut ctx = ApiContext {
        store: store.clone(),
        submitters: [(home.id.clone(), Arc::new(home.adapter.clone()))].into(),
        readers: [(home.id.clone(), Arc::new(home.adapter.clone()))].into(),
        trust_roots: [(home.id.clone(), (home.root.clone(), options()))].into(),
        chains: chains_rx,
        events: events.clone(),
        auth: ApiAuth::new(Some(AdminToken::new(OPERATOR).unwrap()), relay_key()),
        limits,
        registry: registry.clone(),
    };
    adjust(&mut ctx);
    let app = router(ctx).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Served {
        url,
        registry,
        chains,
        store,
    }
}

fn open_store(dir: &Path, name: &str) -> Arc<dyn Store> {
    Arc::new(RocksStore::open(&dir.join(name)).unwrap())
}

/// An answer: status, headers, and the body as JSON (`Null` when empty).
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

/// Calls `method path` (matching the route `template`) and checks the answer against the
/// OpenAPI document: a documented status, and a body that matches its schema.
async fn call(
    served: &Served,
    method: &str,
    template: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> Answer {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", served.url);
    let mut request = match method {
        "GET" => client.get(url),
        "POST" => client.post(url),
        other => panic!("{other}"),
    };
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(b) = body {
        request = request.header("content-type", "application/json").body(b);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let html = headers
        .get("content-type")
        .is_some_and(|c| c.to_str().unwrap().starts_with("text/html"));
    let body: Value = if bytes.is_empty() {
        Value::Null
    } else if html {
        Value::String(String::from_utf8(bytes.to_vec()).unwrap())
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e})"))
    };
    openapi_check(method, template, status, &headers, &body);
    Answer {
        status,
        headers,
        body,
    }
}

async fn post(served: &Served, template: &str, body: &Value, token: Option<&str>) -> Answer {
    call(
        served,
        "POST",
        template,
        template,
        token,
        Some(serde_json::to_vec(body).unwrap()),
    )
    .await
}

async fn get(served: &Served, template: &str, path: &str, token: Option<&str>) -> Answer {
    call(served, "GET", template, path, token, None).await
}

fn assert_problem(a: &Answer, status: u16, name: &str, field: Option<&str>) {
    assert_eq!(
        (a.status, a.body["type"].as_str()),
        (
            status,
            Some(format!("urn:corridor:problem:{name}").as_str())
        ),
        "{}",
        a.body
    );
    assert_eq!(
        a.headers["content-type"], "application/problem+json",
        "{}",
        a.body
    );
    assert_eq!(a.body["status"], status);
    assert_eq!(a.body["field"].as_str(), field, "{}", a.body);
    assert!(!a.body["detail"].as_str().unwrap().is_empty());
}

/// The key of the relay the tests' API serves for.
fn relay_key() -> corridor_light_client::signature::PublicKey {
    SigningKey::from_seed([0x5e; 32]).public_key()
}

async fn token_for(served: &Served, key: &SigningKey) -> String {
    let at = now().unix_nanos() / 1_000_000_000;
    let relay = relay_key();
    let signature = key.sign(&token_request_bytes(&key.public_key(), at, &relay));
    let a = post(
        served,
        "/v1/tokens",
        &json!({ "key": key.public_key(), "at": at, "relay": relay, "signature": signature }),
        None,
    )
    .await;
    assert_eq!(a.headers["corridor-relay"], relay.to_string().as_str());
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["token"].as_str().unwrap().to_owned()
}

#[allow(clippy::too_many_arguments)]
fn message(
    sender: &SigningKey,
    receiver: &SigningKey,
    from: &ChainId,
    to: &ChainId,
    channel: u32,
    nonce: u64,
    kind: DocumentKind,
    deadline: Deadline,
) -> SignedMessage {
    let payload = payload_from_json(&example(kind)).unwrap();
    MessageBody {
        version: VERSION,
        source_chain: from.clone(),
        destination_chain: to.clone(),
        channel,
        nonce,
        sender: sender.public_key(),
        receiver: receiver.public_key(),
        kind,
        payload_hash: hash::sha3(&payload.0),
        payload,
        deadline,
    }
    .sign(sender)
    .unwrap()
}

fn far() -> Deadline {
    Deadline::Height(Height(10_000_000))
}

/// The request of a signed message, with the payload as its typed document.
fn as_document(m: &SignedMessage) -> Value {
    let mut v = serde_json::to_value(m).unwrap();
    v["body"]["payload"] = json!({ "document": example(m.body.kind) });
    v
}

async fn until<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads SSE events from `path` until `count` have come; returns (id, data) pairs.
async fn read_events(
    served: &Served,
    template: &str,
    path: &str,
    token: &str,
    last_event_id: Option<u64>,
    count: usize,
) -> Vec<(u64, Value)> {
    let mut request = reqwest::Client::new()
        .get(format!("{}{path}", served.url))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id.to_string());
    }
    let mut response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while out.len() < count {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("{path}: only {} of {count} events: {text}", out.len()))
            .unwrap()
            .expect("stream ended");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let mut id = None;
            let mut data = None;
            let mut kind = None;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.parse::<u64>().unwrap());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str::<Value>(v).unwrap());
                } else if let Some(v) = line.strip_prefix("event: ") {
                    kind = Some(v.to_owned());
                }
            }
            if let (Some(id), Some(data)) = (id, data) {
                assert_eq!(kind.as_deref(), Some("status"));
                assert_eq!(data["event"], id);
                schema_check(&schema("EventView"), &data, "EventView");
                assert!(
                    openapi()["paths"][template]["get"]["responses"]["200"]["content"]
                        ["text/event-stream"]
                        .is_object()
                );
                out.push((id, data));
            }
        }
    }
    out
}

fn stages(view: &Value) -> Vec<&str> {
    view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_goes_from_post_to_acknowledged_and_both_relays_show_its_timeline() {
    let tmp = TempDir::new("api-lifecycle");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = start_chain("kz-astana", tmp.path()).await;
    let mut a = Node::new(1, 2, &cn, &kz, open_store(tmp.path(), "relay-a"));
    let mut b = Node::new(2, 1, &kz, &cn, open_store(tmp.path(), "relay-b"));
    let api_a = serve(
        a.store.clone(),
        &cn,
        &kz.id,
        &a.events,
        ApiLimits::default(),
    )
    .await;
    let api_b = serve(
        b.store.clone(),
        &kz,
        &cn.id,
        &b.events,
        ApiLimits::default(),
    )
    .await;

    let exporter = devnet_trader_key(EXPORTER);
    let importer = devnet_trader_key(IMPORTER);
    let stranger = SigningKey::from_seed([7; 32]);
    let t_exporter = token_for(&api_a, &exporter).await;
    let t_importer_a = token_for(&api_a, &importer).await;
    let t_importer_b = token_for(&api_b, &importer).await;
    let t_stranger = token_for(&api_a, &stranger).await;

    let m = message(
        &exporter,
        &importer,
        &cn.id,
        &kz.id,
        0,
        1,
        DocumentKind::BillOfLading,
        far(),
    );
    let id = m.id().unwrap();
    let first = post(&api_a, "/v1/messages", &as_document(&m), None).await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["id"], id.to_string());
    assert_eq!(first.body["status"], "submitted");
    assert_eq!(first.body["duplicate"], false);
    // The same signed message again, its payload in hex this time: the same id and status.
    let again = post(
        &api_a,
        "/v1/messages",
        &serde_json::to_value(&m).unwrap(),
        None,
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["id"], id.to_string());
    assert_eq!(again.body["sequence"], first.body["sequence"]);
    assert_eq!(again.body["duplicate"], true);

    let path = format!("/v1/messages/{id}");
    let t = "/v1/messages/{id}";
    let view = get(&api_a, t, &path, Some(&t_exporter)).await;
    assert_eq!(view.status, 200);
    assert_eq!(view.body["status"], "submitted");
    assert_eq!(stages(&view.body), ["submitted"]);
    // Only its parties and the operator read it.
    assert_eq!(get(&api_a, t, &path, Some(&t_importer_a)).await.status, 200);
    assert_eq!(get(&api_a, t, &path, Some(OPERATOR)).await.status, 200);
    assert_problem(
        &get(&api_a, t, &path, Some(&t_stranger)).await,
        403,
        "forbidden",
        None,
    );
    assert_problem(
        &get(&api_a, t, &path, None).await,
        401,
        "unauthenticated",
        None,
    );
    // The last digit changed (to another digit than it was).
    let (head, last) = t_exporter.split_at(t_exporter.len() - 1);
    let forged = format!("{head}{}", if last == "0" { "1" } else { "0" });
    assert_problem(
        &get(&api_a, t, &path, Some(&forged)).await,
        401,
        "invalid-credential",
        None,
    );

    // The two cores carry it: one network hop per round.
    a.handle(Event::PeerUp { peer: b.me });
    b.handle(Event::PeerUp { peer: a.me });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        round(&mut a, &mut b).await;
        let v = get(&api_a, t, &path, Some(&t_exporter)).await;
        if v.body["status"] == "acknowledged" {
            break;
        }
        assert!(Instant::now() < deadline, "not acknowledged: {}", v.body);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }

    // The source relay: committed at the height the chain says, with its proof.
    let location = cn.adapter.message_location(id).await.unwrap();
    let view = get(&api_a, t, &path, Some(&t_exporter)).await.body;
    assert_eq!(
        stages(&view),
        ["submitted", "committed", "forwarded", "acknowledged"]
    );
    let committed = &view["timeline"][1];
    assert_eq!(committed["chain"], cn.id.as_str());
    assert_eq!(committed["height"], location.height.unwrap().0);
    assert!(committed["proof"]["path"].is_array(), "{committed}");
    assert_eq!(view["timeline"][3]["result"], "delivered");
    assert_eq!(view["sequence"], location.sequence);
    let times: Vec<u64> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["at_unix_nanos"].as_u64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    // The destination relay knows it from its core alone: received, proven at the source
    // height (with the proof), and delivered into the destination chain. (A view shows a
    // stage once the relay's API has taken it, so the source side may have shown its
    // `acknowledged` a round after the destination took the source's receipt ack.)
    let view_b = until("the destination relay to deliver", 30, async || {
        let v = get(&api_b, t, &path, Some(&t_importer_b)).await.body;
        (v["status"] == "delivered" || v["status"] == "acknowledged").then_some(v)
    })
    .await;
    assert_eq!(stages(&view_b)[..2], ["received", "delivered"]);
    let received = &view_b["timeline"][0];
    assert_eq!(received["chain"], cn.id.as_str());
    assert_eq!(received["height"], location.height.unwrap().0);
    assert_eq!(received["proof"], committed["proof"]);
    assert_eq!(view_b["timeline"][1]["chain"], kz.id.as_str());
    assert_eq!(view_b["timeline"][1]["result"], "delivered");
    assert_eq!(view_b["commitment"], view["commitment"]);
    // Once the source side took the receipt, the destination relay shows the receipt's
    // block and proof: the entry that carried them closed in that same step.
    let deadline = Instant::now() + Duration::from_secs(60);
    let view_b = loop {
        round(&mut a, &mut b).await;
        let v = get(&api_b, t, &path, Some(&t_importer_b)).await.body;
        if v["status"] == "acknowledged" {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "not acknowledged at the destination: {v}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    assert_eq!(stages(&view_b), ["received", "delivered", "acknowledged"]);
    let acknowledged = &view_b["timeline"][2];
    assert_eq!(acknowledged["chain"], kz.id.as_str());
    assert!(acknowledged["height"].as_u64().is_some(), "{view_b}");
    assert!(acknowledged["proof"].is_object(), "{view_b}");
    assert_eq!(view_b["timeline"][1]["height"], acknowledged["height"]);
    let t_stranger_b = token_for(&api_b, &stranger).await;
    assert_problem(
        &get(&api_b, t, &path, Some(&t_stranger_b)).await,
        403,
        "forbidden",
        None,
    );

    // The events of the message, from the start and resumed.
    let ev = "/v1/messages/{id}/events";
    let ev_path = format!("{path}/events");
    let all = read_events(&api_a, ev, &ev_path, &t_exporter, None, 4).await;
    let names: Vec<&str> = all
        .iter()
        .map(|(_, d)| d["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["submitted", "committed", "forwarded", "acknowledged"]
    );
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "{all:?}");
    assert_eq!(all[3].1["status"], "acknowledged");
    let resumed = read_events(&api_a, ev, &ev_path, &t_exporter, Some(all[1].0), 2).await;
    assert_eq!(resumed, all[2..].to_vec());
    // The stream of everything, as the importer may see it at the destination.
    let everything = read_events(&api_b, "/v1/events", "/v1/events", &t_importer_b, None, 2).await;
    assert!(everything.iter().all(|(_, d)| d["id"] == id.to_string()));
    assert_problem(
        &get(&api_a, ev, &ev_path, Some(&t_stranger)).await,
        403,
        "forbidden",
        None,
    );

    // The API restarted on the same store: the same answers, the same event numbers.
    let restarted = serve(
        a.store.clone(),
        &cn,
        &kz.id,
        &a.events,
        ApiLimits::default(),
    )
    .await;
    let t_again = token_for(&restarted, &exporter).await;
    assert_eq!(get(&restarted, t, &path, Some(&t_again)).await.body, view);
    let replay = read_events(&restarted, ev, &ev_path, &t_again, Some(all[0].0), 3).await;
    assert_eq!(replay, all[1..].to_vec());
    let old = get(&restarted, t, &path, Some(&t_exporter)).await;
    assert_problem(&old, 401, "invalid-credential", None);
}

const BIN: &str = env!("CARGO_BIN_EXE_corridor");

/// A key file as `corridor keys generate` writes it.
fn key_file(dir: &Path, name: &str, key: &SigningKey) -> std::path::PathBuf {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!("{name}.key"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(
        &mut f,
        format!("{}\n", hex::encode(key.to_seed())).as_bytes(),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_sends_a_document_and_tracks_it_until_it_is_delivered() {
    let tmp = TempDir::new("api-cli");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = start_chain("kz-astana", tmp.path()).await;
    let mut a = Node::new(1, 2, &cn, &kz, open_store(tmp.path(), "relay-a"));
    let mut b = Node::new(2, 1, &kz, &cn, open_store(tmp.path(), "relay-b"));
    let api = serve(
        a.store.clone(),
        &cn,
        &kz.id,
        &a.events,
        ApiLimits::default(),
    )
    .await;
    let exporter = key_file(tmp.path(), "exporter", &devnet_trader_key(EXPORTER));
    let importer = key_file(tmp.path(), "importer", &devnet_trader_key(IMPORTER));
    let stranger = key_file(tmp.path(), "stranger", &SigningKey::from_seed([7; 32]));
    let doc = tmp.path().join("invoice.json");
    std::fs::write(&doc, example(DocumentKind::CommercialInvoice).to_string()).unwrap();
    let receiver = devnet_trader_key(IMPORTER).public_key().to_string();
    let send = |doc: &Path, nonce: &str| {
        let mut c = tokio::process::Command::new(BIN);
        c.args(["send", "--api", &api.url, "--key"])
            .arg(&exporter)
            .arg("--doc")
            .arg(doc)
            .args([
                "--kind",
                "commercial_invoice",
                "--from",
                "cn-shanghai",
                "--to",
            ])
            .args(["kz-astana", "--receiver", &receiver, "--nonce", nonce])
            .args(["--deadline-height", "10000000"]);
        c
    };

    let out = send(&doc, "41").output().await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(Hash32::from_hex(&id).is_ok(), "{id}");
    // Sent again: the same id, said to be known.
    let again = send(&doc, "41").output().await.unwrap();
    assert!(again.status.success());
    assert_eq!(String::from_utf8(again.stdout).unwrap().trim(), id);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already submitted"));
    // A document without its seller is refused with the problem and the field.
    let mut broken = example(DocumentKind::CommercialInvoice);
    broken.as_object_mut().unwrap().remove("seller");
    let bad = tmp.path().join("broken.json");
    std::fs::write(&bad, broken.to_string()).unwrap();
    let out = send(&bad, "42").output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid-document") && err.contains("body.payload.seller"),
        "{err}"
    );

    // A stranger may not follow it.
    let track = |key: &Path, timeout: &str| {
        let mut c = tokio::process::Command::new(BIN);
        c.args(["track", &id, "--api", &api.url, "--key"])
            .arg(key)
            .args(["--timeout-secs", timeout])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c
    };
    let out = track(&stranger, "5").output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("forbidden"));
    // Nothing moves yet: the wait runs out at submitted.
    let out = track(&importer, "1").output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The exporter follows it while the relays carry it. The relays start once it has
    // shown where the message stands, so every later change is one it must follow.
    let mut child = track(&exporter, "90").spawn().unwrap();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    tokio::time::timeout(
        Duration::from_secs(30),
        tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut text),
    )
    .await
    .expect("track showed no status")
    .unwrap();
    let done = tokio::spawn(async move {
        let mut rest = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut rest)
            .await
            .unwrap();
        (child.wait_with_output().await.unwrap(), rest)
    });
    a.handle(Event::PeerUp { peer: b.me });
    b.handle(Event::PeerUp { peer: a.me });
    let deadline = Instant::now() + Duration::from_secs(90);
    while !done.is_finished() {
        assert!(Instant::now() < deadline, "track did not finish");
        round(&mut a, &mut b).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let (out, rest) = done.await.unwrap();
    text.push_str(&rest);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statuses: Vec<&str> = text
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    // From the status when it started (the chain may have committed it already), each
    // change once, in order, to the end.
    let all = ["submitted", "committed", "forwarded", "acknowledged"];
    assert!(statuses.len() >= 3, "{text}");
    assert_eq!(statuses, all[all.len() - statuses.len()..], "{text}");
    // Tracked again once settled: one line, and done.
    let out = track(&importer, "5").output().await.unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("{id}: acknowledged")
    );
}

/// Nothing of a refused message anywhere: no API record or event, nothing in the outbox.
async fn assert_nothing_left(served: &Served, chain: &Chain, ids: &[Hash32]) {
    let api: Vec<_> = served
        .store
        .scan(Column::Meta, b"api/")
        .unwrap()
        .into_iter()
        .map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
        // The writer's mark that the party lists are built, from its start.
        .filter(|k| k != "api/party-indexed")
        .collect();
    assert!(api.is_empty(), "API records left: {api:?}");
    for id in ids {
        match chain.adapter.message_location(*id).await {
            Err(AdapterError::NotFound { .. }) => {}
            other => panic!("message {id} reached the outbox: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejection_answers_its_problem_type_and_leaves_no_partial_state() {
    let tmp = TempDir::new("api-rejections");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = ChainId::new("kz-astana").unwrap();
    let store = open_store(tmp.path(), "relay");
    let events = broadcast::channel(16).0;
    let served = serve(store, &cn, &kz, &events, ApiLimits::default()).await;
    // The destination's light client trusts height 50.
    served
        .chains
        .send_modify(|c| c[1].trusted_height = Some(Height(50)));
    let exporter = devnet_trader_key(EXPORTER);
    let importer = devnet_trader_key(IMPORTER);
    let msg = |nonce: u64, kind: DocumentKind| {
        message(&exporter, &importer, &cn.id, &kz, 0, nonce, kind, far())
    };
    let m = "/v1/messages";
    let mut ids = Vec::new();
    let mut refused = async |body: Value, status: u16, name: &str, field: Option<&str>| {
        let a = post(&served, m, &body, None).await;
        assert_problem(&a, status, name, field);
        if let Ok(s) = serde_json::from_value::<SignedMessage>(body) {
            ids.push(s.id().unwrap());
        }
    };

    // Bad signature.
    let mut v = serde_json::to_value(msg(1, DocumentKind::Generic)).unwrap();
    v["signature"] = json!(hex::encode([7u8; 64]));
    refused(v, 401, "bad-signature", Some("signature")).await;
    // Signed by another key than the sender's.
    let mut s = msg(2, DocumentKind::Generic);
    s.signature = importer.sign(&s.body.sign_bytes().unwrap());
    refused(
        serde_json::to_value(s).unwrap(),
        401,
        "bad-signature",
        Some("signature"),
    )
    .await;

    // Unregistered trader: the source chain says so.
    let nobody = SigningKey::from_seed([9; 32]);
    let s = message(
        &nobody,
        &importer,
        &cn.id,
        &kz,
        0,
        3,
        DocumentKind::Generic,
        far(),
    );
    refused(
        serde_json::to_value(s).unwrap(),
        403,
        "unregistered-trader",
        Some("body.sender"),
    )
    .await;

    // A missing document field, then a malformed one.
    for (field, change) in [
        ("invoice_ref", None),
        ("packages", Some(json!("not a list"))),
    ] {
        let mut doc = example(DocumentKind::PackingList);
        match change {
            None => {
                doc.as_object_mut().unwrap().remove(field);
            }
            Some(bad) => doc[field] = bad,
        }
        let payload = payload_from_json(&doc).unwrap();
        let mut body = msg(4, DocumentKind::PackingList).body;
        body.payload_hash = hash::sha3(&payload.0);
        body.payload = payload;
        let s = body.sign(&exporter).unwrap();
        let expected = format!("body.payload.{field}");
        refused(
            serde_json::to_value(&s).unwrap(),
            422,
            "invalid-document",
            Some(expected.as_str()),
        )
        .await;
    }
    // A payload that does not match its hash.
    let mut s = msg(5, DocumentKind::Generic);
    s.body.payload_hash = Hash32([1; 32]);
    let s = s.body.sign(&exporter).unwrap();
    refused(
        serde_json::to_value(s).unwrap(),
        422,
        "invalid-message",
        Some("body.payload_hash"),
    )
    .await;
    // An unknown envelope version.
    let mut body = msg(6, DocumentKind::Generic).body;
    body.version = 9;
    refused(
        serde_json::to_value(body.sign(&exporter).unwrap()).unwrap(),
        422,
        "invalid-message",
        Some("body.version"),
    )
    .await;

    // Too large: the payload over the envelope's limit, the body over the API's.
    let doc = json!({ "blob": "x".repeat(64 * 1024) });
    let payload = payload_from_json(&doc).unwrap();
    let mut body = msg(7, DocumentKind::Generic).body;
    body.payload_hash = hash::sha3(&payload.0);
    body.payload = payload;
    refused(
        serde_json::to_value(body.sign(&exporter).unwrap()).unwrap(),
        413,
        "payload-too-large",
        Some("body.payload"),
    )
    .await;
    let huge = vec![b' '; ApiLimits::default().max_body_bytes + 1];
    let a = call(&served, "POST", m, m, None, Some(huge)).await;
    assert_problem(&a, 413, "body-too-large", None);

    // Malformed JSON: broken syntax, a missing field, a field of the wrong type.
    let a = call(&served, "POST", m, m, None, Some(b"{\"body\": ".to_vec())).await;
    assert_problem(&a, 400, "malformed-json", Some("body"));
    let mut v = serde_json::to_value(msg(8, DocumentKind::Generic)).unwrap();
    v["body"].as_object_mut().unwrap().remove("nonce");
    let a = post(&served, m, &v, None).await;
    assert_problem(&a, 400, "malformed-json", Some("body"));
    assert!(
        a.body["detail"].as_str().unwrap().contains("nonce"),
        "{}",
        a.body
    );
    let mut v = serde_json::to_value(msg(9, DocumentKind::Generic)).unwrap();
    v["body"]["channel"] = json!("zero");
    assert_problem(
        &post(&served, m, &v, None).await,
        400,
        "malformed-json",
        Some("body.channel"),
    );

    // Unknown chains: a source this relay does not submit to, a destination it does not
    // follow.
    let elsewhere = ChainId::new("vn-hanoi").unwrap();
    let s = message(
        &exporter,
        &importer,
        &elsewhere,
        &kz,
        0,
        10,
        DocumentKind::Generic,
        far(),
    );
    refused(
        serde_json::to_value(s).unwrap(),
        422,
        "unknown-chain",
        Some("body.source_chain"),
    )
    .await;
    let s = message(
        &exporter,
        &importer,
        &cn.id,
        &elsewhere,
        0,
        11,
        DocumentKind::Generic,
        far(),
    );
    refused(
        serde_json::to_value(s).unwrap(),
        422,
        "unknown-chain",
        Some("body.destination_chain"),
    )
    .await;

    // Expired deadlines: a time past, a height the destination is already above.
    let past = Time::from_unix_nanos(now().unix_nanos() - 1_000_000_000);
    for (nonce, deadline) in [
        (12, Deadline::Time(past)),
        (13, Deadline::Height(Height(49))),
    ] {
        let s = message(
            &exporter,
            &importer,
            &cn.id,
            &kz,
            0,
            nonce,
            DocumentKind::Generic,
            deadline,
        );
        refused(
            serde_json::to_value(s).unwrap(),
            422,
            "deadline-passed",
            Some("body.deadline"),
        )
        .await;
    }

    assert_nothing_left(&served, &cn, &ids).await;
    // And every one was refused before the adapter: the chain never saw any of them but
    // the unregistered trader's, which it refused itself.
    assert_eq!(ids.len(), 12);

    // Reads without a credential, or reading another trader's message, with a message
    // there to read.
    let good = msg(20, DocumentKind::Generic);
    assert_eq!(
        post(&served, m, &serde_json::to_value(&good).unwrap(), None)
            .await
            .status,
        202
    );
    let path = format!("/v1/messages/{}", good.id().unwrap());
    let t = "/v1/messages/{id}";
    assert_problem(
        &get(&served, t, &path, None).await,
        401,
        "unauthenticated",
        None,
    );
    assert_problem(
        &get(&served, m, m, None).await,
        401,
        "unauthenticated",
        None,
    );
    assert_problem(
        &get(&served, "/v1/chains", "/v1/chains", None).await,
        401,
        "unauthenticated",
        None,
    );
    assert_problem(
        &get(&served, "/v1/events", "/v1/events", None).await,
        401,
        "unauthenticated",
        None,
    );
    let other = token_for(&served, &devnet_trader_key("shanghai-freight-forwarder")).await;
    assert_problem(
        &get(&served, t, &path, Some(&other)).await,
        403,
        "forbidden",
        None,
    );
    let missing = format!("/v1/messages/{}", Hash32([3; 32]));
    assert_problem(
        &get(&served, t, &missing, Some(&other)).await,
        404,
        "not-found",
        None,
    );
    assert_problem(
        &get(&served, t, "/v1/messages/xyz", Some(&other)).await,
        400,
        "invalid-query",
        Some("id"),
    );
    // A token request with a bad signature, or a time far from now.
    let key = devnet_trader_key(EXPORTER);
    let at = now().unix_nanos() / 1_000_000_000;
    let bad = json!({
        "key": key.public_key(), "at": at, "relay": relay_key(), "signature": importer.sign(b"x"),
    });
    assert_problem(
        &post(&served, "/v1/tokens", &bad, None).await,
        401,
        "bad-signature",
        Some("signature"),
    );
    let old = at - 3600;
    let stale = json!({
        "key": key.public_key(), "at": old, "relay": relay_key(),
        "signature": key.sign(&token_request_bytes(&key.public_key(), old, &relay_key())),
    });
    assert_problem(
        &post(&served, "/v1/tokens", &stale, None).await,
        401,
        "invalid-credential",
        None,
    );
    // A request signed for another relay (seen on its way there, replayed here).
    let elsewhere = importer.public_key();
    let replayed = json!({
        "key": key.public_key(), "at": at, "relay": elsewhere,
        "signature": key.sign(&token_request_bytes(&key.public_key(), at, &elsewhere)),
    });
    let a = post(&served, "/v1/tokens", &replayed, None).await;
    assert_problem(&a, 401, "invalid-credential", None);
    assert!(a.body["detail"]
        .as_str()
        .unwrap()
        .contains("signed for relay"));
    // Unknown routes and methods.
    let a = call(&served, "GET", "(none)", "/v2/nothing", None, None).await;
    assert_problem(&a, 404, "not-found", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filter_and_page_and_show_each_trader_only_its_own() {
    let tmp = TempDir::new("api-lists");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = ChainId::new("kz-astana").unwrap();
    let pk = ChainId::new("pk-karachi").unwrap();
    let events = broadcast::channel(16).0;
    let served = serve(
        open_store(tmp.path(), "relay"),
        &cn,
        &kz,
        &events,
        ApiLimits::default(),
    )
    .await;
    served
        .chains
        .send_modify(|c| c.push(chain_status(&pk, false)));
    let exporter = devnet_trader_key(EXPORTER);
    let forwarder = devnet_trader_key("shanghai-freight-forwarder");
    let importer = devnet_trader_key(IMPORTER);
    let karachi = devnet_trader_key("karachi-importer");

    // Five messages: the exporter sends four (three kinds, two destinations, two
    // channels), the forwarder one.
    let sent = [
        (&exporter, &importer, &kz, 0, DocumentKind::BillOfLading),
        (
            &exporter,
            &importer,
            &kz,
            0,
            DocumentKind::CommercialInvoice,
        ),
        (&exporter, &karachi, &pk, 1, DocumentKind::PackingList),
        (&exporter, &importer, &kz, 1, DocumentKind::BillOfLading),
        (&forwarder, &importer, &kz, 0, DocumentKind::PackingList),
    ];
    let start = now().unix_nanos() / 1_000_000_000;
    let mut ids = Vec::new();
    for (i, (from, to, dest, channel, kind)) in sent.iter().enumerate() {
        let s = message(
            from,
            to,
            &cn.id,
            dest,
            *channel,
            100 + i as u64,
            *kind,
            far(),
        );
        let a = post(&served, "/v1/messages", &as_document(&s), None).await;
        assert_eq!(a.status, 202, "{}", a.body);
        ids.push(s.id().unwrap().to_string());
    }
    let t_exporter = token_for(&served, &exporter).await;
    let t_importer = token_for(&served, &importer).await;
    let t_karachi = token_for(&served, &karachi).await;
    let list = async |query: &str, token: &str| {
        let a = get(
            &served,
            "/v1/messages",
            &format!("/v1/messages{query}"),
            Some(token),
        )
        .await;
        assert_eq!(a.status, 200, "{query}: {}", a.body);
        let ids: Vec<String> = a.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect();
        (ids, a.body["next"].as_str().map(str::to_owned))
    };
    let pick = |which: &[usize]| which.iter().map(|i| ids[*i].clone()).collect::<Vec<_>>();

    assert_eq!(list("", OPERATOR).await.0, ids);
    assert_eq!(list("", &t_exporter).await.0, pick(&[0, 1, 2, 3]));
    assert_eq!(list("", &t_importer).await.0, pick(&[0, 1, 3, 4]));
    assert_eq!(list("", &t_karachi).await.0, pick(&[2]));
    assert_eq!(
        list("?kind=bill_of_lading", &t_exporter).await.0,
        pick(&[0, 3])
    );
    assert_eq!(list("?channel=1", &t_exporter).await.0, pick(&[2, 3]));
    assert_eq!(list("?chain=pk-karachi", OPERATOR).await.0, pick(&[2]));
    let cp = format!("?counterparty={}", karachi.public_key());
    assert_eq!(list(&cp, &t_exporter).await.0, pick(&[2]));
    let cp = format!("?counterparty={}", forwarder.public_key());
    assert_eq!(list(&cp, &t_importer).await.0, pick(&[4]));
    assert_eq!(
        list("?status=submitted", &t_exporter).await.0,
        pick(&[0, 1, 2, 3])
    );
    assert_eq!(
        list("?status=delivered,acknowledged", &t_exporter).await.0,
        Vec::<String>::new()
    );
    let since = format!("?since={start}&until={}", start + 3600);
    assert_eq!(list(&since, OPERATOR).await.0, ids);
    let later = format!("?since={}", start + 3600);
    assert!(list(&later, OPERATOR).await.0.is_empty());
    // Pages of two, following the cursor, give every message once.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let (page, next) = list(&query, OPERATOR).await;
        assert!(page.len() <= 2);
        seen.extend(page);
        match next {
            Some(c) => query = format!("?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    // Bad filters name their parameter.
    // A store written before the party lists existed gets them when the API opens it:
    // drop them and the mark, serve the store again, and each trader's list is the same.
    let mut batch = corridor_relay_core::store::WriteBatch::default();
    for (k, _) in served.store.scan(Column::Meta, b"api/party").unwrap() {
        batch.delete(Column::Meta, k);
    }
    served.store.write(&batch).unwrap();
    let again = serve(
        served.store.clone(),
        &cn,
        &kz,
        &events,
        ApiLimits::default(),
    )
    .await;
    let token = token_for(&again, &importer).await;
    let a = get(&again, "/v1/messages", "/v1/messages", Some(&token)).await;
    let listed: Vec<&str> = a.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, pick(&[0, 1, 3, 4]));

    for (query, field) in [
        ("?status=lost", "status"),
        ("?kind=poem", "kind"),
        ("?channel=-1", "channel"),
        ("?limit=0", "limit"),
        ("?cursor=zz", "cursor"),
        ("?since=yesterday", "since"),
        ("?colour=red", "colour"),
        ("?counterparty=abc", "counterparty"),
    ] {
        let a = get(
            &served,
            "/v1/messages",
            &format!("/v1/messages{query}"),
            Some(OPERATOR),
        )
        .await;
        assert_problem(&a, 400, "invalid-query", Some(field));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trader_over_its_rate_gets_429_with_retry_after_and_it_is_counted() {
    let tmp = TempDir::new("api-rate");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = ChainId::new("kz-astana").unwrap();
    let events = broadcast::channel(16).0;
    let limits = ApiLimits {
        rate_burst: 3,
        rate_per_second: 0.01,
        ..ApiLimits::default()
    };
    let served = serve(open_store(tmp.path(), "relay"), &cn, &kz, &events, limits).await;
    let counter = |name: &str, labels: &[(&str, &str)]| -> Option<u64> {
        served
            .registry
            .gather()
            .iter()
            .find(|f| f.name() == name)?
            .get_metric()
            .iter()
            .find(|m| {
                labels.iter().all(|(k, v)| {
                    m.get_label()
                        .iter()
                        .any(|l| l.name() == *k && l.value() == *v)
                })
            })
            .map(|m| m.get_counter().get_value() as u64)
    };
    // Every route's series exist from the start, at zero.
    for r in ROUTES {
        assert_eq!(
            counter("corridor_api_rate_limited_total", &[("route", r.path)]),
            Some(0)
        );
        for s in r.statuses {
            let s = s.to_string();
            assert_eq!(
                counter(
                    "corridor_api_requests_total",
                    &[("route", r.path), ("status", &s)]
                ),
                Some(0),
                "{} {s}",
                r.path
            );
        }
    }

    let exporter = devnet_trader_key(EXPORTER);
    let token = token_for(&served, &exporter).await; // 1
    let m = "/v1/messages";
    assert_eq!(get(&served, m, m, Some(&token)).await.status, 200); // 2
    let s = message(
        &exporter,
        &devnet_trader_key(IMPORTER),
        &cn.id,
        &kz,
        0,
        1,
        DocumentKind::Generic,
        far(),
    );
    assert_eq!(
        post(&served, m, &serde_json::to_value(&s).unwrap(), None)
            .await
            .status,
        202
    ); // 3
    let a = get(&served, m, m, Some(&token)).await;
    assert_problem(&a, 429, "rate-limited", None);
    let retry: u64 = a.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=100).contains(&retry), "{retry}");
    // A submission of the same trader is refused too, and leaves nothing.
    let s2 = message(
        &exporter,
        &devnet_trader_key(IMPORTER),
        &cn.id,
        &kz,
        0,
        2,
        DocumentKind::Generic,
        far(),
    );
    let a = post(&served, m, &serde_json::to_value(&s2).unwrap(), None).await;
    assert_problem(&a, 429, "rate-limited", None);
    match cn.adapter.message_location(s2.id().unwrap()).await {
        Err(AdapterError::NotFound { .. }) => {}
        other => panic!("{other:?}"),
    }
    // Another trader and the operator are not held back.
    let other = token_for(&served, &devnet_trader_key(IMPORTER)).await;
    assert_eq!(get(&served, m, m, Some(&other)).await.status, 200);
    assert_eq!(get(&served, m, m, Some(OPERATOR)).await.status, 200);

    assert_eq!(
        counter("corridor_api_rate_limited_total", &[("route", m)]),
        Some(2)
    );
    assert_eq!(
        counter(
            "corridor_api_requests_total",
            &[("route", m), ("status", "429")]
        ),
        Some(2)
    );
    assert_eq!(
        counter(
            "corridor_api_requests_total",
            &[("route", m), ("status", "202")]
        ),
        Some(1)
    );
    // No party, key or payload in any label.
    let text = prometheus::TextEncoder::new()
        .encode_to_string(&served.registry.gather())
        .unwrap();
    assert!(!text.contains(&exporter.public_key().to_string()));
    assert!(!text.contains(EXPORTER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_requests_over_an_addresss_budget_are_refused_before_their_signature() {
    let tmp = TempDir::new("api-address");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = ChainId::new("kz-astana").unwrap();
    let events = broadcast::channel(16).0;
    let limits = ApiLimits {
        address_burst: 2,
        address_per_second: 0.001,
        ..ApiLimits::default()
    };
    let served = serve(open_store(tmp.path(), "relay"), &cn, &kz, &events, limits).await;
    // Token requests with a forged signature: the first two are checked (and refused for
    // their signature), the third is refused for the address's budget before any check.
    let key = devnet_trader_key(EXPORTER);
    let at = now().unix_nanos() / 1_000_000_000;
    let forged = json!({
        "key": key.public_key(),
        "at": at,
        "relay": relay_key(),
        "signature": devnet_trader_key(IMPORTER).sign(b"something else"),
    });
    for _ in 0..2 {
        let a = post(&served, "/v1/tokens", &forged, None).await;
        assert_eq!(a.status, 401, "{}", a.body);
    }
    let a = post(&served, "/v1/tokens", &forged, None).await;
    assert_problem(&a, 429, "rate-limited", None);
    assert!(a.headers.contains_key("retry-after"));
    // So is a submission from that address, valid or not.
    let m = message(
        &key,
        &devnet_trader_key(IMPORTER),
        &cn.id,
        &kz,
        0,
        1,
        DocumentKind::Generic,
        far(),
    );
    let a = post(
        &served,
        "/v1/messages",
        &serde_json::to_value(&m).unwrap(),
        None,
    )
    .await;
    assert_problem(&a, 429, "rate-limited", None);
    // Reads with a token are not signed requests: not counted here.
    let a = get(&served, "/v1/chains", "/v1/chains", Some(OPERATOR)).await;
    assert_eq!(a.status, 200);
    // Another address has its own budget.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let answer = other
        .post(format!("{}/v1/tokens", served.url))
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_show_their_light_client_status() {
    let tmp = TempDir::new("api-chains");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = ChainId::new("kz-astana").unwrap();
    let events = broadcast::channel(16).0;
    let served = serve(
        open_store(tmp.path(), "relay"),
        &cn,
        &kz,
        &events,
        ApiLimits::default(),
    )
    .await;
    let until = Time::from_unix_nanos(now().unix_nanos() + 3_600_000_000_000);
    served.chains.send_replace(vec![
        ChainStatus {
            chain: cn.id.clone(),
            home: true,
            trusted_height: Some(Height(90)),
            trusted_time: Some(Time::from_unix_nanos(1_700_000_000_000_000_000)),
            head_height: Some(Height(100)),
            trusted_until: Some(until),
            frozen: None,
            family: FamilyKind::Corridor,
            trust: "light-client".into(),
        },
        ChainStatus {
            chain: kz.clone(),
            home: false,
            trusted_height: Some(Height(7)),
            trusted_time: None,
            head_height: None,
            trusted_until: Some(Time::from_unix_nanos(1)),
            frozen: Some("two valid headers at height 7".into()),
            family: FamilyKind::Evm,
            trust: "weak-trust-attestations".into(),
        },
    ]);
    let token = token_for(&served, &devnet_trader_key(IMPORTER)).await;
    let a = get(&served, "/v1/chains", "/v1/chains", Some(&token)).await;
    assert_eq!(a.status, 200);
    let before = a.body.clone();
    let home = &a.body[0];
    assert_eq!(home["chain"], cn.id.as_str());
    assert_eq!(home["lag"], 10);
    assert_eq!(home["trusted_time"], "2023-11-14T22:13:20.000000000Z");
    let left = home["trust_expires_in_secs"].as_u64().unwrap();
    assert!((3590..=3600).contains(&left), "{left}");
    assert_eq!(home["frozen"], false);
    assert_eq!(
        (&home["family"], &home["trust"]),
        (&Value::from("corridor"), &Value::from("light-client"))
    );
    let remote = &a.body[1];
    // An EVM chain's weaker trust model is labelled as such.
    assert_eq!(
        (&remote["family"], &remote["trust"]),
        (&Value::from("evm"), &Value::from("weak-trust-attestations"))
    );
    assert_eq!(remote["frozen"], true);
    assert_eq!(remote["frozen_reason"], "two valid headers at height 7");
    assert_eq!(remote["trust_expires_in_secs"], 0);
    assert_eq!(remote["lag"], Value::Null);

    // What the core loop publishes, from its light clients.
    let text = CONFIGS.iter().find(|(n, _)| *n == "cn-shanghai").unwrap().1;
    let genesis = genesis_block(&DevnetConfig::from_toml(text).unwrap().spec);
    let client = LightClient::<F>::trusting(genesis.clone().into(), options()).unwrap();
    let status = ChainStatus::of(&client, true, Some(Height(4)), None);
    let time = genesis.header().time;
    assert_eq!(status.chain, cn.id);
    assert_eq!(
        (status.family, status.trust.as_str()),
        (FamilyKind::Corridor, "light-client")
    );
    assert_eq!(status.trusted_height, Some(Height(1)));
    assert_eq!(status.trusted_time, Some(time));
    assert_eq!(
        status.trusted_until,
        time.checked_add(options().trusting_period)
    );
    assert_eq!(
        (status.head_height, status.frozen.clone()),
        (Some(Height(4)), None)
    );
    let fresh = LightClient::<F>::new(cn.root.clone(), options());
    let status = ChainStatus::of(&fresh, false, None, Some("why".into()));
    assert_eq!(status.trusted_height, None);
    // A client of an EVM chain is labelled with the weaker model before its root arrives.
    let evm = LightClient::<F>::for_family(FamilyKind::Evm, cn.root.clone(), options()).unwrap();
    let evm_status = ChainStatus::of(&evm, false, None, None);
    assert_eq!(
        (evm_status.family, evm_status.trust.as_str()),
        (FamilyKind::Evm, "weak-trust-attestations")
    );
    assert_eq!(status.trusted_until, None);
    assert_eq!(status.frozen.as_deref(), Some("why"));
    served.chains.send_replace(vec![status]);
    let a = get(&served, "/v1/chains", "/v1/chains", Some(&token)).await;
    assert_ne!(a.body, before);
    assert_eq!(a.body[0]["trusted_height"], Value::Null);
    assert_eq!(a.body[0]["frozen_reason"], "why");
}

/// A folder with the trust roots of `chains`, as an auditor keeps them.
fn trust_roots(dir: &Path, chains: &[&Chain]) -> std::path::PathBuf {
    let roots = dir.join("trust-roots");
    std::fs::create_dir_all(&roots).unwrap();
    for c in chains {
        let file = roots.join(format!("{}.json", c.id));
        std::fs::write(file, serde_json::to_vec(&c.root).unwrap()).unwrap();
    }
    roots
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_of_a_delivered_message_verifies_offline_and_one_flipped_byte_breaks_it() {
    use corridor_relay::api::evidence::{load_trust_roots, parse, verify};
    let tmp = TempDir::new("api-evidence");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = start_chain("kz-astana", tmp.path()).await;
    let mut a = Node::new(1, 2, &cn, &kz, open_store(tmp.path(), "relay-a"));
    let mut b = Node::new(2, 1, &kz, &cn, open_store(tmp.path(), "relay-b"));
    let api = serve(
        a.store.clone(),
        &cn,
        &kz.id,
        &a.events,
        ApiLimits::default(),
    )
    .await;
    let exporter = devnet_trader_key(EXPORTER);
    let m = message(
        &exporter,
        &devnet_trader_key(IMPORTER),
        &cn.id,
        &kz.id,
        0,
        77,
        DocumentKind::LetterOfCredit,
        far(),
    );
    let id = m.id().unwrap();
    assert_eq!(
        post(&api, "/v1/messages", &as_document(&m), None)
            .await
            .status,
        202
    );
    let roots_dir = trust_roots(tmp.path(), &[&cn, &kz]);
    let file = tmp.path().join("evidence.json");
    let evidence_get = || {
        let mut c = tokio::process::Command::new(BIN);
        c.args(["evidence", "get", &id.to_string(), "--from", "cn-shanghai"])
            .args([
                "--from-rpc",
                &cn.url,
                "--to",
                "kz-astana",
                "--to-rpc",
                &kz.url,
            ])
            .arg("--trust-roots")
            .arg(&roots_dir)
            .arg("--out")
            .arg(&file);
        c
    };
    // Before delivery there is nothing to prove yet, and nothing is written.
    let out = evidence_get().output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!file.exists());

    a.handle(Event::PeerUp { peer: b.me });
    b.handle(Event::PeerUp { peer: a.me });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        round(&mut a, &mut b).await;
        let out = evidence_get().output().await.unwrap();
        if out.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let location = cn.adapter.message_location(id).await.unwrap();
    let committed = location.height.unwrap();

    // Offline: the file and the trust roots, nothing else.
    let verify_cli = |path: &Path| {
        std::process::Command::new(BIN)
            .args(["evidence", "verify"])
            .arg(path)
            .arg("--trust-roots")
            .arg(&roots_dir)
            .output()
            .unwrap()
    };
    let out = verify_cli(&file);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "cn-shanghai committed message {id} (letter_of_credit, channel 0 sequence {}",
            location.sequence
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("at height {committed}, block time ")),
        "{text}"
    );
    assert!(text.contains("kz-astana delivered it at height "), "{text}");

    let roots = load_trust_roots(&roots_dir).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let proven = verify(&parse(&bytes).unwrap(), &roots).unwrap();
    assert_eq!((proven.id, proven.committed_height), (id, committed));
    assert_eq!(
        proven.result,
        corridor_light_client::receipt::ReceiptResult::Delivered
    );

    // The relay's API serves it when it reads both chains' RPCs, to the message's parties.
    let e = "/v1/messages/{id}/evidence";
    let e_path = format!("/v1/messages/{id}/evidence");
    let token = token_for(&api, &exporter).await;
    let refused = get(&api, e, &e_path, Some(&token)).await;
    assert_problem(&refused, 409, "evidence-unavailable", None);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains("kz-astana"), "{detail}");
    let full = serve_with(
        a.store.clone(),
        &cn,
        &kz.id,
        &a.events,
        ApiLimits::default(),
        |ctx| {
            ctx.readers
                .insert(kz.id.clone(), Arc::new(kz.adapter.clone()));
            ctx.trust_roots = roots.clone();
        },
    )
    .await;
    let token = token_for(&full, &exporter).await;
    let served_file = get(&full, e, &e_path, Some(&token)).await;
    assert_eq!(served_file.status, 200, "{}", served_file.body);
    assert_eq!(
        served_file.headers["content-disposition"],
        format!("attachment; filename=\"evidence-{id}.json\"").as_str()
    );
    let served: corridor_relay::api::evidence::Evidence =
        serde_json::from_value(served_file.body).unwrap();
    assert_eq!(verify(&served, &roots).unwrap(), proven);
    let stranger = token_for(&full, &SigningKey::from_seed([7; 32])).await;
    assert_problem(
        &get(&full, e, &e_path, Some(&stranger)).await,
        403,
        "forbidden",
        None,
    );
    // And the command gets it from there, verified before it is written.
    let importer = key_file(tmp.path(), "importer", &devnet_trader_key(IMPORTER));
    let fetched = tmp.path().join("fetched.json");
    let out = tokio::process::Command::new(BIN)
        .args([
            "evidence",
            "get",
            &id.to_string(),
            "--api",
            &full.url,
            "--key",
        ])
        .arg(&importer)
        .arg("--trust-roots")
        .arg(&roots_dir)
        .arg("--out")
        .arg(&fetched)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fetched = parse(&std::fs::read(&fetched).unwrap()).unwrap();
    assert_eq!(verify(&fetched, &roots).unwrap(), proven);
    let out = tokio::process::Command::new(BIN)
        .args([
            "evidence",
            "get",
            &id.to_string(),
            "--api",
            &api.url,
            "--key",
        ])
        .arg(&importer)
        .arg("--trust-roots")
        .arg(&roots_dir)
        .arg("--out")
        .arg(tmp.path().join("never.json"))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("evidence-unavailable"));
    assert!(!tmp.path().join("never.json").exists());

    // One flipped bit anywhere (every byte of a spread of positions) and it proves nothing,
    // saying where.
    let step = (bytes.len() / 1500).max(1);
    let mut places = BTreeMap::<String, usize>::new();
    for i in (0..bytes.len()).step_by(step) {
        let mut flipped = bytes.clone();
        flipped[i] ^= 1;
        let Err(e) = parse(&flipped).and_then(|e| verify(&e, &roots)) else {
            let at =
                String::from_utf8_lossy(&bytes[i.saturating_sub(60)..(i + 20).min(bytes.len())])
                    .into_owned();
            panic!("byte {i} flipped still verifies: ...{at}...");
        };
        let text = e.to_string();
        let part = text.split([':', '[', ' ']).next().unwrap().to_owned();
        assert!(
            [
                "the",
                "version",
                "source",
                "source.message.signature",
                "destination_blocks",
                "receipt",
                "receipt.receipt.message_commitment"
            ]
            .contains(&part.as_str()),
            "byte {i}: {text}"
        );
        *places.entry(part).or_default() += 1;
    }
    // Flips landed in every part of the file.
    for part in ["the", "source", "destination_blocks", "receipt"] {
        assert!(places.contains_key(part), "{places:?}");
    }
    // The command says it too.
    let bad = tmp.path().join("flipped.json");
    let text = String::from_utf8(bytes.clone()).unwrap();
    let at = text.find("\"receipt\"").unwrap()
        + text[text.find("\"receipt\"").unwrap()..]
            .find("\"height\": ")
            .unwrap()
        + 10;
    let mut flipped = bytes.clone();
    flipped[at] ^= 1;
    std::fs::write(&bad, &flipped).unwrap();
    let out = verify_cli(&bad);
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("NOT VERIFIED: receipt"), "{said}");
    // Another trust root for the source: nothing proven either.
    let mut other = roots.clone();
    other.get_mut(&cn.id).unwrap().0.header_hash = Hash32([9; 32]);
    let e = verify(&parse(&bytes).unwrap(), &other)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("source: "), "{e}");
    other.remove(&kz.id);
    let e = verify(&parse(&bytes).unwrap(), &{
        let mut r = roots.clone();
        r.remove(&kz.id);
        r
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("no trust root for chain kz-astana"), "{e}");
}

/// Debian's Chromium (scripts/test.sh installs it). `None` (the page test skips) when it
/// is missing, except under `CI=true`, where that fails.
fn chromium() -> Option<String> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|b| {
        std::process::Command::new("which")
            .arg(b)
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "chromium is not installed and CI=true (apt-get install chromium)"
        );
        eprintln!("the tracking page test: skipped, chromium is not installed");
    }
    found.map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracking_page_shows_a_delivered_message_and_its_timeline() {
    let Some(browser) = chromium() else { return };
    let tmp = TempDir::new("api-page");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = start_chain("kz-astana", tmp.path()).await;
    let mut a = Node::new(1, 2, &cn, &kz, open_store(tmp.path(), "relay-a"));
    let mut b = Node::new(2, 1, &kz, &cn, open_store(tmp.path(), "relay-b"));
    let api = serve(
        a.store.clone(),
        &cn,
        &kz.id,
        &a.events,
        ApiLimits::default(),
    )
    .await;
    let exporter = devnet_trader_key(EXPORTER);
    let m = message(
        &exporter,
        &devnet_trader_key(IMPORTER),
        &cn.id,
        &kz.id,
        0,
        9,
        DocumentKind::CertificateOfOrigin,
        far(),
    );
    let id = m.id().unwrap().to_string();
    assert_eq!(
        post(&api, "/v1/messages", &as_document(&m), None)
            .await
            .status,
        202
    );
    let token = token_for(&api, &exporter).await;
    a.handle(Event::PeerUp { peer: b.me });
    b.handle(Event::PeerUp { peer: a.me });
    let path = format!("/v1/messages/{id}");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        round(&mut a, &mut b).await;
        let v = get(&api, "/v1/messages/{id}", &path, Some(&token)).await;
        if v.body["status"] == "acknowledged" {
            break;
        }
        assert!(Instant::now() < deadline, "not acknowledged: {}", v.body);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let height = cn
        .adapter
        .message_location(m.id().unwrap())
        .await
        .unwrap()
        .height
        .unwrap()
        .0;

    // The page loads nothing from elsewhere and runs only its own script.
    let page = get(&api, "/", "/", None).await;
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'sha256-"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
    let html = page.body.as_str().unwrap();
    assert!(!html.contains("src=") && !html.contains("href=\""));

    // Signed in through the link's fragment, the browser shows the message and, opened,
    // its timeline across the two chains.
    let url = format!("{}/#token={token}&message={id}", api.url);
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(&browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu"])
            .args(["--virtual-time-budget=10000", "--dump-dom", &url])
            .output(),
    )
    .await
    .expect("chromium timed out")
    .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains(&format!(r#"data-id="{id}" data-status="acknowledged""#)),
        "the list lacks the message: {dom}"
    );
    assert!(
        dom.contains(r#"id="detail" data-status="acknowledged""#),
        "{dom}"
    );
    let stages: Vec<&str> = dom
        .split(r#"class="stage" data-stage=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["submitted", "committed", "forwarded", "acknowledged"],
        "{dom}"
    );
    let committed = format!(
        r#"data-stage="committed" data-chain="{}" data-height="{height}""#,
        cn.id
    );
    assert!(dom.contains(&committed), "{dom}");
    assert!(dom.contains(&format!("height {height}")), "{dom}");
    // The evidence file can be downloaded from it.
    assert!(
        dom.contains(r#"<button id="evidence" type="button">"#),
        "{dom}"
    );
    // No refusal shown.
    assert!(
        dom.contains(r#"<p id="error" class="problem" hidden"#),
        "{dom}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_streams_are_bounded() {
    let tmp = TempDir::new("api-streams");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = ChainId::new("kz-astana").unwrap();
    let events = broadcast::channel(16).0;
    let limits = ApiLimits {
        max_streams: 1,
        ..ApiLimits::default()
    };
    let served = serve(open_store(tmp.path(), "relay"), &cn, &kz, &events, limits).await;
    let token = token_for(&served, &devnet_trader_key(IMPORTER)).await;
    let first = reqwest::Client::new()
        .get(format!("{}/v1/events", served.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let a = get(&served, "/v1/events", "/v1/events", Some(&token)).await;
    assert_problem(&a, 503, "too-many-streams", None);
    assert_eq!(a.headers["retry-after"], "5");
    drop(first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_core_closed_before_the_indexer_ran_is_indexed_from_its_event() {
    let tmp = TempDir::new("api-closed");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = ChainId::new("kz-astana").unwrap();
    let events = broadcast::channel(16).0;
    let store = open_store(tmp.path(), "relay");
    let served = serve(store.clone(), &cn, &kz, &events, ApiLimits::default()).await;
    // A message from kz-astana arrives at this relay (cn-shanghai's): the core wrote its
    // `received` audit record, and by the time the indexer runs it has closed the entry.
    let m = message(
        &devnet_trader_key(IMPORTER),
        &devnet_trader_key(EXPORTER),
        &kz,
        &cn.id,
        0,
        1,
        DocumentKind::CommercialInvoice,
        far(),
    );
    let id = m.id().unwrap();
    let lane = Lane {
        source: kz.clone(),
        destination: cn.id.clone(),
        channel: 0,
    };
    let audit = AuditRecord {
        lane,
        sequence: 1,
        stage: Stage::Received,
        at: now(),
    };
    let mut bytes = Vec::new();
    ciborium::into_writer(&audit, &mut bytes).unwrap();
    let mut batch = corridor_relay_core::store::WriteBatch::default();
    batch.put(Column::Audit, audit.key(), bytes);
    store.write(&batch).unwrap();
    let entry = StoredEntry::<AnyFamily> {
        message: TradeMessage {
            sequence: 1,
            message: m,
        },
        proof: AnyLeafProof::from(InclusionProof {
            index: 0,
            tree_size: 1,
            path: Vec::new(),
        }),
        height: Height(7),
        receipt: None,
    };
    events
        .send(StageEvent {
            audit,
            entry: Some(Box::new(entry)),
        })
        .unwrap();
    let path = format!("/v1/messages/{id}");
    let view = until("the message is indexed", 20, async || {
        let a = get(&served, "/v1/messages/{id}", &path, Some(OPERATOR)).await;
        (a.status == 200).then_some(a.body)
    })
    .await;
    assert_eq!(stages(&view), ["received"]);
    assert_eq!(view["sequence"], 1);
    assert_eq!(view["source_chain"], "kz-astana");
}

// ---------------------------------------------------------------------------------------
// The OpenAPI document.

fn openapi() -> Value {
    serde_json::from_str(OPENAPI).unwrap()
}

fn schema(name: &str) -> Value {
    openapi()["components"]["schemas"][name].clone()
}

/// Checks an answer against the document: its status is one the operation lists, and its
/// body matches the schema given for it.
fn openapi_check(
    method: &str,
    template: &str,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
) {
    let doc = openapi();
    let Some(op) = doc["paths"][template].get(method.to_lowercase()) else {
        // Not a route of the API (the tests of unknown routes): a problem document.
        schema_check(&schema("Problem"), body, "Problem");
        return;
    };
    let response = op["responses"]
        .get(status.to_string())
        .unwrap_or_else(|| panic!("{method} {template} answered {status}, not documented"));
    let content_type = headers["content-type"].to_str().unwrap();
    let media = response["content"]
        .get(content_type)
        .unwrap_or_else(|| panic!("{method} {template} {status}: {content_type} not documented"));
    schema_check(
        &media["schema"],
        body,
        &format!("{method} {template} {status}"),
    );
}

fn resolve(s: &Value) -> Value {
    match s["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").unwrap();
            resolve(&schema(name))
        }
        None => s.clone(),
    }
}

/// Whether `v` matches schema `s`: types, enums, required and known properties (recursively).
fn schema_errors(s: &Value, v: &Value, at: &str) -> Vec<String> {
    let s = resolve(s);
    if let Some(options) = s["oneOf"].as_array() {
        let matching = options
            .iter()
            .filter(|o| schema_errors(o, v, at).is_empty())
            .count();
        return if matching == 1 {
            vec![]
        } else {
            vec![format!("{at}: {matching} of oneOf match {v}")]
        };
    }
    if let Some(values) = s["enum"].as_array() {
        if !values.contains(v) {
            return vec![format!("{at}: {v} not in {values:?}")];
        }
    }
    let ok = match s["type"].as_str() {
        Some("object") => v.is_object(),
        Some("array") => v.is_array(),
        Some("string") => v.is_string(),
        Some("integer") => v.is_u64() || v.is_i64(),
        Some("boolean") => v.is_boolean(),
        Some("null") => v.is_null(),
        None => true,
        Some(other) => panic!("schema type {other}"),
    };
    if !ok {
        return vec![format!("{at}: {v} is not {}", s["type"])];
    }
    let mut errors = Vec::new();
    if let (Some(obj), Some(props)) = (v.as_object(), s["properties"].as_object()) {
        for r in s["required"].as_array().into_iter().flatten() {
            if !obj.contains_key(r.as_str().unwrap()) {
                errors.push(format!("{at}: required {r} missing"));
            }
        }
        for (k, value) in obj {
            match props.get(k) {
                Some(p) => errors.extend(schema_errors(p, value, &format!("{at}.{k}"))),
                None if s["additionalProperties"] == false => {
                    errors.push(format!("{at}: property {k} not in the schema"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(schema)) = (v.as_array(), s.get("items")) {
        for (i, item) in items.iter().enumerate() {
            errors.extend(schema_errors(schema, item, &format!("{at}[{i}]")));
        }
    }
    errors
}

fn schema_check(s: &Value, v: &Value, what: &str) {
    let errors = schema_errors(s, v, "$");
    assert!(
        errors.is_empty(),
        "{what} does not match its schema: {errors:#?}"
    );
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_and_statuses_of_the_router() {
    let doc = openapi();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let statuses: BTreeSet<u16> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|s| s.parse().unwrap())
                .collect();
            documented.insert((method.to_uppercase(), path.clone(), statuses));
        }
    }
    let routes: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.statuses.iter().copied().collect::<BTreeSet<u16>>(),
            )
        })
        .collect();
    assert_eq!(documented, routes);
    // Every reference resolves, and every problem answer is a problem document.
    let text = OPENAPI;
    for (i, _) in text.match_indices("#/components/schemas/") {
        let name: String = text[i + 21..]
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        assert!(doc["components"]["schemas"].get(&name).is_some(), "{name}");
    }
    // Every problem type is named in the document.
    let description = doc["info"]["description"].as_str().unwrap();
    for name in PROBLEMS {
        assert!(description.contains(name), "{name}");
    }
    // A value that breaks a schema is caught (the checker itself can fail).
    let bad = json!({ "id": "x", "status": "lost" });
    assert!(!schema_errors(&schema("SubmitResponse"), &bad, "$").is_empty());
    let extra = json!({ "type": "t", "title": "t", "status": 1, "detail": "d", "more": 1 });
    assert!(!schema_errors(&schema("Problem"), &extra, "$").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_of_the_router_answers_and_serves_its_openapi_document() {
    let tmp = TempDir::new("api-routes");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = ChainId::new("kz-astana").unwrap();
    let events = broadcast::channel(16).0;
    let served = serve(
        open_store(tmp.path(), "relay"),
        &cn,
        &kz,
        &events,
        ApiLimits::default(),
    )
    .await;
    let counted = |route: &str| -> u64 {
        served
            .registry
            .gather()
            .iter()
            .filter(|f| f.name() == "corridor_api_requests_total")
            .flat_map(|f| f.get_metric().to_vec())
            .filter(|m| {
                m.get_label()
                    .iter()
                    .any(|l| l.name() == "route" && l.value() == route)
            })
            .map(|m| m.get_counter().get_value() as u64)
            .sum()
    };
    let id = Hash32([5; 32]).to_string();
    for r in ROUTES {
        let path = r.path.replace("{id}", &id);
        let body = (r.method == "POST").then(|| b"{}".to_vec());
        let a = call(&served, r.method, r.path, &path, None, body).await;
        assert_ne!(a.status, 405, "{} {}", r.method, r.path);
        // The router matched it (the metric's route label is its template).
        assert!(counted(r.path) >= 1, "{} {} not matched", r.method, r.path);
    }
    let a = get(&served, "/v1/openapi.json", "/v1/openapi.json", None).await;
    assert_eq!(a.body, openapi());
}
