//! The relay's metrics (monitoring/README.md is the catalog) and its `/metrics`,
//! `/healthz` and `/readyz` endpoints.
//!
//! - **One registry**, passed in: [`Metrics::new`] registers every metric of the catalog on
//!   it, and the trader API registers its own on the same one.
//! - **Every series exists from startup:** the chains, peers and lanes the config names are
//!   known at startup, and each of their series is created at zero; each reason label is
//!   created for every reason in [`REJECTION_REASONS`] / [`HEADER_FAILURE_REASONS`].
//! - **Bounded labels:** chain ids and peer names come from the config; a reason outside the
//!   known lists is counted as `other`; a lane (`source/destination/channel`) that the
//!   config did not name gets a series of its own only while fewer than
//!   [`MAX_CHANNEL_SERIES`] exist, and `other` after that, since a trader picks the channel
//!   number. Nothing confidential (payloads, traders, parties) is ever a label.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use corridor_light_client::family::FamilyKind;
use corridor_light_client::ChainId;
use corridor_relay_core::wire::Lane;
use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Reasons a peer's input is refused, as labels of `corridor_peer_rejections_total`.
pub const REJECTION_REASONS: &[&str] = &[
    "duplicate",
    "bad-frame",
    "frame-too-large",
    "frame-limits",
    "truncated",
    "trailing-bytes",
    "invalid-proof",
    "invalid-light-block",
    "invalid-document",
    "bad-signature",
    "malformed-message",
    "payload-hash-mismatch",
    "payload-not-canonical",
    "payload-too-large",
    "unsupported-version",
    "same-chain",
    "zero-sequence",
    "not-enough-trust",
    "untrusted-height",
    "client-frozen",
    "wrong-family",
    "below-trust-root",
    "not-the-trust-root",
    "unproven-conflict",
    "misbehaviour",
    "light-block-chain",
    "light-block-order",
    "too-many-light-blocks",
    "wrong-source-chain",
    "wrong-destination-chain",
    "receipt-mismatch",
    "batch-shape",
    "lane-not-served",
    "unknown-chain",
    "unknown-message",
    "unknown-peer",
    "wrong-peer",
    "other",
];

/// Reasons a chain's light block is refused, as labels of
/// `corridor_chain_header_failures_total`.
pub const HEADER_FAILURE_REASONS: &[&str] = &[
    "invalid-light-block",
    "not-enough-trust",
    "below-trust-root",
    "not-the-trust-root",
    "unproven-conflict",
    "client-frozen",
    "wrong-family",
    "misbehaviour",
    "other",
];

/// Message stages, as labels of `corridor_channel_messages_total`.
pub const STAGES: &[&str] = &[
    "committed",
    "forwarded",
    "received",
    "delivered",
    "acknowledged",
];

/// Most lane series (the config's lanes included); more lanes share the label `other`.
pub const MAX_CHANNEL_SERIES: usize = 64;

/// End-to-end latency buckets: seconds, up to five minutes.
const LATENCY_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];
/// Request and write latency buckets: a millisecond to ten seconds.
const FAST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// How the relay trusts the headers of a chain of `family`: its light client's rules, or,
/// for an EVM chain (the relay drives attested ones only), k-of-n operator attestations,
/// a WEAKER trust model than a light client.
pub fn trust_model(family: FamilyKind) -> &'static str {
    match family {
        FamilyKind::Corridor | FamilyKind::Cometbft => "light-client",
        FamilyKind::Evm => "weak-trust-attestations",
    }
}

/// What the metrics are created for at startup.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Every chain the relay has a light client of.
    pub chains: Vec<ChainId>,
    /// Each chain's family (a chain not listed shows as `corridor`).
    pub families: BTreeMap<ChainId, FamilyKind>,
    /// The lanes the config implies (each home chain to every other chain and back).
    pub lanes: Vec<Lane>,
    /// The configured peers' names.
    pub peers: Vec<String>,
}

/// Every metric of the relay itself (the trader API registers its own).
#[derive(Debug)]
pub struct Metrics {
    /// `corridor_relay_ready`.
    pub ready: IntGauge,
    /// `corridor_chain_trusted_height`.
    pub chain_trusted_height: IntGaugeVec,
    /// `corridor_chain_head_height`.
    pub chain_head_height: IntGaugeVec,
    /// `corridor_chain_lag_blocks`.
    pub chain_lag_blocks: IntGaugeVec,
    /// `corridor_chain_trusting_period_remaining_seconds`.
    pub chain_trusting_remaining: GaugeVec,
    /// `corridor_chain_frozen`.
    pub chain_frozen: IntGaugeVec,
    /// `corridor_chain_trust_model`.
    pub chain_trust_model: IntGaugeVec,
    /// `corridor_chain_header_verifications_total`.
    pub header_verifications: IntCounterVec,
    /// `corridor_chain_header_failures_total`.
    pub header_failures: IntCounterVec,
    /// `corridor_chain_misbehaviour_total`.
    pub misbehaviour: IntCounterVec,
    /// `corridor_adapter_request_duration_seconds`.
    pub adapter_duration: HistogramVec,
    /// `corridor_adapter_errors_total`.
    pub adapter_errors: IntCounterVec,
    /// `corridor_channel_messages_total`.
    pub channel_messages: IntCounterVec,
    /// `corridor_channel_backlog_messages`.
    pub channel_backlog: IntGaugeVec,
    /// `corridor_channel_oldest_pending_age_seconds`.
    pub channel_oldest_age: GaugeVec,
    /// `corridor_channel_oldest_pending_sequence`.
    pub channel_oldest_sequence: IntGaugeVec,
    /// `corridor_channel_latency_seconds`.
    pub channel_latency: HistogramVec,
    /// `corridor_peer_connected`.
    pub peer_connected: IntGaugeVec,
    /// `corridor_peer_rtt_seconds`.
    pub peer_rtt: GaugeVec,
    /// `corridor_peer_sent_bytes_total`.
    pub peer_sent_bytes: IntCounterVec,
    /// `corridor_peer_received_bytes_total`.
    pub peer_received_bytes: IntCounterVec,
    /// `corridor_peer_frames_sent_total`.
    pub peer_frames_sent: IntCounterVec,
    /// `corridor_peer_frames_received_total`.
    pub peer_frames_received: IntCounterVec,
    /// `corridor_peer_bundles_sent_total`.
    pub peer_bundles_sent: IntCounterVec,
    /// `corridor_peer_bundles_acknowledged_total`.
    pub peer_bundles_acked: IntCounterVec,
    /// `corridor_peer_window_in_use`.
    pub peer_window: IntGaugeVec,
    /// `corridor_peer_rejections_total`.
    pub peer_rejections: IntCounterVec,
    /// `corridor_peer_disconnects_total`.
    pub peer_disconnects: IntCounterVec,
    /// `corridor_store_write_duration_seconds`.
    pub store_write: Histogram,
    /// `corridor_store_size_bytes`.
    pub store_size: IntGauge,
    /// The lane labels handed out so far.
    channels: Mutex<BTreeSet<String>>,
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help)
}

fn reg<M: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: M,
) -> Result<M, prometheus::Error> {
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

fn counter(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec, prometheus::Error> {
    reg(r, IntCounterVec::new(opts(name, help), labels)?)
}

fn int_gauge(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntGaugeVec, prometheus::Error> {
    reg(r, IntGaugeVec::new(opts(name, help), labels)?)
}

fn gauge(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<GaugeVec, prometheus::Error> {
    reg(r, GaugeVec::new(opts(name, help), labels)?)
}

fn histogram(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> Result<HistogramVec, prometheus::Error> {
    reg(
        r,
        HistogramVec::new(
            HistogramOpts::new(name, help).buckets(buckets.to_vec()),
            labels,
        )?,
    )
}

/// The label of a reason: itself when it is in `known`, else `other`.
pub fn reason_label(reason: &str, known: &'static [&'static str]) -> &'static str {
    known
        .iter()
        .find(|k| **k == reason)
        .copied()
        .unwrap_or("other")
}

impl Metrics {
    /// Registers every metric on `registry` and creates the series of `layout`.
    pub fn new(registry: &Registry, layout: &Layout) -> Result<Self, prometheus::Error> {
        let r = registry;
        let build = int_gauge(
            r,
            "corridor_build_info",
            "The relay's build (always 1).",
            &["version"],
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let start = reg(
            r,
            Gauge::with_opts(opts(
                "corridor_relay_start_time_seconds",
                "Unix time the relay started.",
            ))?,
        )?;
        start.set(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        );
        let m = Self {
            ready: reg(
                r,
                IntGauge::with_opts(opts(
                    "corridor_relay_ready",
                    "1 when /readyz says ready: store open, light clients synced and not frozen, peers connected.",
                ))?,
            )?,
            chain_trusted_height: int_gauge(
                r,
                "corridor_chain_trusted_height",
                "Latest height the relay's light client of the chain trusts.",
                &["chain"],
            )?,
            chain_head_height: int_gauge(
                r,
                "corridor_chain_head_height",
                "Highest height of the chain seen (its endpoint's tip, or peers' blocks for a remote chain).",
                &["chain"],
            )?,
            chain_lag_blocks: int_gauge(
                r,
                "corridor_chain_lag_blocks",
                "Head height minus trusted height.",
                &["chain"],
            )?,
            chain_trusting_remaining: gauge(
                r,
                "corridor_chain_trusting_period_remaining_seconds",
                "Seconds until the light client's trusted state expires (negative: expired).",
                &["chain"],
            )?,
            chain_frozen: int_gauge(
                r,
                "corridor_chain_frozen",
                "1 when the light client is frozen on misbehaviour evidence.",
                &["chain"],
            )?,
            chain_trust_model: int_gauge(
                r,
                "corridor_chain_trust_model",
                "1 per chain, labelled with its family and how its headers are trusted: light-client, or weak-trust-attestations (k-of-n operator attestations, a WEAKER trust model than a light client).",
                &["chain", "family", "trust"],
            )?,
            header_verifications: counter(
                r,
                "corridor_chain_header_verifications_total",
                "Light blocks of the chain checked by the relay's light client.",
                &["chain"],
            )?,
            header_failures: counter(
                r,
                "corridor_chain_header_failures_total",
                "Light blocks of the chain refused, by reason.",
                &["chain", "reason"],
            )?,
            misbehaviour: counter(
                r,
                "corridor_chain_misbehaviour_total",
                "Conflicting blocks of the chain detected (the light client froze).",
                &["chain"],
            )?,
            adapter_duration: histogram(
                r,
                "corridor_adapter_request_duration_seconds",
                "Latency of requests to the chain's endpoint.",
                &["chain"],
                FAST_BUCKETS,
            )?,
            adapter_errors: counter(
                r,
                "corridor_adapter_errors_total",
                "Requests to the chain's endpoint that failed.",
                &["chain"],
            )?,
            channel_messages: counter(
                r,
                "corridor_channel_messages_total",
                "Messages of the lane reaching each stage at this relay.",
                &["channel", "stage"],
            )?,
            channel_backlog: int_gauge(
                r,
                "corridor_channel_backlog_messages",
                "Outbound: committed, not yet acknowledged. Inbound: received, not yet delivered.",
                &["channel", "direction"],
            )?,
            channel_oldest_age: gauge(
                r,
                "corridor_channel_oldest_pending_age_seconds",
                "Age of the oldest unacknowledged outbound message of the lane (0 when none).",
                &["channel"],
            )?,
            channel_oldest_sequence: int_gauge(
                r,
                "corridor_channel_oldest_pending_sequence",
                "Sequence of the oldest unacknowledged outbound message of the lane (0 when none).",
                &["channel"],
            )?,
            channel_latency: histogram(
                r,
                "corridor_channel_latency_seconds",
                "From the commit seen on the source to its receipt proven back, in seconds.",
                &["channel"],
                LATENCY_BUCKETS,
            )?,
            peer_connected: int_gauge(
                r,
                "corridor_peer_connected",
                "1 while the QUIC link to the peer is up.",
                &["peer"],
            )?,
            peer_rtt: gauge(
                r,
                "corridor_peer_rtt_seconds",
                "QUIC round-trip time to the peer.",
                &["peer"],
            )?,
            peer_sent_bytes: counter(
                r,
                "corridor_peer_sent_bytes_total",
                "Frame bytes sent to the peer.",
                &["peer"],
            )?,
            peer_received_bytes: counter(
                r,
                "corridor_peer_received_bytes_total",
                "Frame bytes received from the peer.",
                &["peer"],
            )?,
            peer_frames_sent: counter(
                r,
                "corridor_peer_frames_sent_total",
                "Frames sent to the peer.",
                &["peer"],
            )?,
            peer_frames_received: counter(
                r,
                "corridor_peer_frames_received_total",
                "Frames received from the peer.",
                &["peer"],
            )?,
            peer_bundles_sent: counter(
                r,
                "corridor_peer_bundles_sent_total",
                "Message batches (one lane, one source block, one proof) sent to the peer.",
                &["peer"],
            )?,
            peer_bundles_acked: counter(
                r,
                "corridor_peer_bundles_acknowledged_total",
                "Acknowledgements of message batches received from the peer.",
                &["peer"],
            )?,
            peer_window: int_gauge(
                r,
                "corridor_peer_window_in_use",
                "Messages and receipts in flight to the peer, not yet acknowledged.",
                &["peer"],
            )?,
            peer_rejections: counter(
                r,
                "corridor_peer_rejections_total",
                "Refusals of what the peer sent, by reason (duplicate: a replay, dropped without penalty).",
                &["peer", "reason"],
            )?,
            peer_disconnects: counter(
                r,
                "corridor_peer_disconnects_total",
                "Times the link to the peer ended.",
                &["peer"],
            )?,
            store_write: reg(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "corridor_store_write_duration_seconds",
                        "Latency of the store's synced batch writes.",
                    )
                    .buckets(FAST_BUCKETS.to_vec()),
                )?,
            )?,
            store_size: reg(
                r,
                IntGauge::with_opts(opts(
                    "corridor_store_size_bytes",
                    "Size of the store's files on disk.",
                ))?,
            )?,
            channels: Mutex::new(BTreeSet::new()),
        };
        for chain in &layout.chains {
            let c = chain.as_str();
            m.chain_trusted_height.with_label_values(&[c]);
            m.chain_head_height.with_label_values(&[c]);
            m.chain_lag_blocks.with_label_values(&[c]);
            m.chain_trusting_remaining.with_label_values(&[c]);
            m.chain_frozen.with_label_values(&[c]);
            let family = layout
                .families
                .get(chain)
                .copied()
                .unwrap_or(FamilyKind::Corridor);
            m.chain_trust_model
                .with_label_values(&[c, family.as_str(), trust_model(family)])
                .set(1);
            m.header_verifications.with_label_values(&[c]);
            for reason in HEADER_FAILURE_REASONS {
                m.header_failures.with_label_values(&[c, reason]);
            }
            m.misbehaviour.with_label_values(&[c]);
            m.adapter_duration.with_label_values(&[c]);
            m.adapter_errors.with_label_values(&[c]);
        }
        for peer in &layout.peers {
            let p = peer.as_str();
            for v in [
                &m.peer_sent_bytes,
                &m.peer_received_bytes,
                &m.peer_frames_sent,
                &m.peer_frames_received,
                &m.peer_bundles_sent,
                &m.peer_bundles_acked,
                &m.peer_disconnects,
            ] {
                v.with_label_values(&[p]);
            }
            m.peer_connected.with_label_values(&[p]);
            m.peer_rtt.with_label_values(&[p]);
            m.peer_window.with_label_values(&[p]);
            for reason in REJECTION_REASONS {
                m.peer_rejections.with_label_values(&[p, reason]);
            }
        }
        for lane in &layout.lanes {
            m.channel(lane);
        }
        Ok(m)
    }

    /// The label of `lane`, creating its series the first time (see the module docs).
    pub fn channel(&self, lane: &Lane) -> String {
        let key = lane.key();
        let mut known = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        let label = if known.contains(&key) || known.len() < MAX_CHANNEL_SERIES {
            key
        } else {
            "other".to_owned()
        };
        if known.insert(label.clone()) {
            let l = label.as_str();
            for stage in STAGES {
                self.channel_messages.with_label_values(&[l, stage]);
            }
            for direction in ["outbound", "inbound"] {
                self.channel_backlog.with_label_values(&[l, direction]);
            }
            self.channel_oldest_age.with_label_values(&[l]);
            self.channel_oldest_sequence.with_label_values(&[l]);
            self.channel_latency.with_label_values(&[l]);
        }
        label
    }

    /// The lane labels handed out so far.
    pub fn channels(&self) -> Vec<String> {
        self.channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// Times an adapter request of `chain`, counting its failure.
    pub async fn adapter<T, E>(
        &self,
        chain: &ChainId,
        request: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let timer = self
            .adapter_duration
            .with_label_values(&[chain.as_str()])
            .start_timer();
        let result = request.await;
        timer.observe_duration();
        if result.is_err() {
            self.adapter_errors
                .with_label_values(&[chain.as_str()])
                .inc();
        }
        result
    }
}

/// The relay's readiness, as `/readyz` reports it: every check that fails, in words.
#[derive(Clone, Debug, Default)]
pub struct Readiness {
    /// What is not ready (empty: ready).
    pub failing: Vec<String>,
}

/// What the metrics server serves.
#[derive(Clone)]
pub struct MetricsState {
    /// The registry to encode.
    pub registry: Registry,
    /// The latest readiness verdict.
    pub readiness: Arc<Mutex<Readiness>>,
}

/// `/metrics`, `/healthz` and `/readyz`.
pub fn router(state: MetricsState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(State(state): State<MetricsState>) -> Response {
    let mut body = Vec::new();
    match TextEncoder::new().encode(&state.registry.gather(), &mut body) {
        Ok(()) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], body).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics failed: {e}\n"),
        )
            .into_response(),
    }
}

async fn readyz(State(state): State<MetricsState>) -> Response {
    let failing = state
        .readiness
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .failing
        .clone();
    let ready = failing.is_empty();
    let body = serde_json::json!({ "ready": ready, "failing": failing });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// Serves [`router`] on `listener` until `stop` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: MetricsState,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    serve_router(listener, router(state), "metrics server", stop).await;
}

/// Serves `app` on `listener` until `stop` turns true; `what` names it in the log.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    what: &'static str,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let shutdown = async move {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                return;
            }
        }
    };
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::warn!(error = %e, "the {what} stopped");
    }
}

/// Sizes of the files under `dir` (the store's folder), in bytes.
pub fn dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) => total = total.saturating_add(m.len()),
                Err(_) => {}
            }
        }
    }
    total
}

/// Lanes the config implies: from each home chain to every other chain, and from every
/// other chain to each home chain, on channel 0 (the default channel).
pub fn config_lanes(home: &[ChainId], all: &[ChainId]) -> Vec<Lane> {
    let mut lanes = BTreeMap::new();
    for h in home {
        for other in all.iter().filter(|c| *c != h) {
            for (source, destination) in [(h, other), (other, h)] {
                let lane = Lane {
                    source: source.clone(),
                    destination: destination.clone(),
                    channel: 0,
                };
                lanes.insert(lane.key(), lane);
            }
        }
    }
    lanes.into_values().collect()
}
