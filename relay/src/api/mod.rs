//! The trader API (DESIGN.md "Trader API", issue 9): traders submit signed trade messages
//! and follow them to delivery over HTTP with JSON.
//!
//! | method and path | answer |
//! |---|---|
//! | `POST /v1/tokens` | a bearer token bound to a trader's key, for a signed time ([`auth`]) |
//! | `POST /v1/messages` | submit a signed message: 202 [`SubmitResponse`] (200 when known) |
//! | `GET /v1/messages` | [`MessagePage`]: filters `status`, `chain`, `channel`, `counterparty`, `kind`, `since`, `until` (Unix seconds), `limit`, `cursor` |
//! | `GET /v1/messages/{id}` | [`MessageView`]: status, timeline with heights and proofs |
//! | `GET /v1/messages/{id}/events` | server-sent [`EventView`]s of one message |
//! | `GET /v1/events` | server-sent [`EventView`]s of every message the caller may read |
//! | `GET /v1/chains` | [`ChainView`]s: light-client status of every followed chain |
//! | `GET /v1/messages/{id}/evidence` | the message's [`evidence::Evidence`] file, when the API can read both its chains |
//! | `GET /v1/openapi.json` | the OpenAPI 3.1 document of all this |
//! | `GET /` | the tracking page: sign in with a token, see your messages and their timelines |
//!
//! Every read needs `Authorization: Bearer` with a trader's token (it sees the messages it
//! sent or that are addressed to it) or the operator's credential (it sees all). Errors are
//! `application/problem+json` ([`error`]). Request bodies are limited
//! ([`ApiLimits::max_body_bytes`]); each trader key has a token bucket
//! ([`ApiLimits::rate_burst`], [`ApiLimits::rate_per_second`]), past which the answer is 429
//! with `Retry-After`. No CORS headers are sent, so browsers keep other origins out.
//! Nothing confidential is logged or labelled: no payload, no party, no key.
//!
//! ## What the daemon feeds it ([`ApiContext`])
//! - the store the core writes (the API reads the audit column and open entries, and keeps
//!   its own records under `api/` in the meta column: [`records`]);
//! - the home chains' adapters, through which submissions go;
//! - a `watch` of every followed chain's [`ChainStatus`], published by the core loop;
//! - a `broadcast` of every [`StageEvent`] (the core's audit records, sent after they are
//!   written). A lagging receiver costs nothing but a scan: the API catches up from the
//!   audit column, as it does when it starts.
//!
//! [`router`] spawns the indexer task (it must run inside a Tokio runtime); the task ends
//! when every sender of the stage events is dropped.

pub mod auth;
pub mod error;
mod events;
pub mod evidence;
mod handlers;
pub mod model;
pub mod records;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use corridor_adapters::devnet::DevnetAdapter;
use corridor_light_client::any::AnyFamily;
use corridor_light_client::envelope::Limits;
use corridor_light_client::ChainId;
use corridor_relay_core::core::{AuditRecord, StoredEntry};
use corridor_relay_core::store::Store;
use prometheus::{IntCounterVec, Opts, Registry};
use tokio::sync::{broadcast, watch};

pub use auth::{ApiAuth, Principal};
pub use error::{ApiError, ProblemDocument};
pub use model::{
    ChainStatus, ChainView, EventView, MessagePage, MessageSummary, MessageView, Status,
    SubmitResponse,
};

/// A stage one message reached at this relay: the audit record the core wrote for it, and
/// the message's open entry on that side as the store held it right after the stage was
/// written. The entry travels with the event because the core may close (and delete) it
/// before the indexer gets to the event; without it, a message the API did not take itself
/// (one arriving at the destination relay) could be missed.
#[derive(Clone, Debug)]
pub struct StageEvent {
    /// The audit record.
    pub audit: AuditRecord,
    /// The entry on the stage's side (outbound when the lane's source is a home chain),
    /// boxed: the channel's slots stay small however many it has.
    pub entry: Option<Box<StoredEntry<AnyFamily>>>,
}

/// Stage events the broadcast to the indexer holds before it lags (then the indexer
/// catches up from the audit log): room for several full blocks' worth of stages while
/// the indexer writes, so that a relay working through a backlog does not lag.
pub const STAGE_EVENTS: usize = 16_384;

impl From<AuditRecord> for StageEvent {
    /// An event without its entry: the indexer reads the store for it.
    fn from(audit: AuditRecord) -> Self {
        Self { audit, entry: None }
    }
}

/// The API's limits.
#[derive(Clone, Debug)]
pub struct ApiLimits {
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// The envelope's limits (largest payload).
    pub envelope: Limits,
    /// Requests a trader may make at once.
    pub rate_burst: u32,
    /// Requests a trader may make per second, on average.
    pub rate_per_second: f64,
    /// Signed requests (submissions, token requests) a client address may make at once,
    /// counted before their signature is checked.
    pub address_burst: u32,
    /// ... and per second, on average.
    pub address_per_second: f64,
    /// Most messages in one page of `GET /v1/messages`.
    pub page_max: usize,
    /// Events kept for resuming streams.
    pub event_log: u64,
    /// Most event streams open at once (each holds a connection and a feed receiver).
    pub max_streams: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        let envelope = Limits::default();
        Self {
            // A payload in hex or base64, with the envelope around it.
            max_body_bytes: envelope.max_payload * 2 + 16 * 1024,
            envelope,
            rate_burst: 20,
            rate_per_second: 5.0,
            address_burst: 200,
            address_per_second: 100.0,
            page_max: 200,
            event_log: 10_000,
            max_streams: 256,
        }
    }
}

/// What the API needs from a running relay.
pub struct ApiContext {
    /// The relay's store (audit log, open entries; the API's records under `api/`).
    pub store: Arc<dyn Store>,
    /// The home chains' adapters: submissions go to their source chain's.
    pub submitters: BTreeMap<ChainId, Arc<DevnetAdapter>>,
    /// Chains whose RPC the API reads to assemble evidence files: the home chains, and any
    /// partner chain whose public RPC the operator configured. A message's evidence needs
    /// both its chains.
    pub readers: BTreeMap<ChainId, Arc<DevnetAdapter>>,
    /// The trust roots evidence files start from (the relay's configured ones).
    pub trust_roots: evidence::TrustRoots,
    /// Every followed chain's light-client status, as the core loop publishes it.
    pub chains: watch::Receiver<Vec<ChainStatus>>,
    /// The core's stage events, one per audit record, sent after the record is written.
    pub events: broadcast::Sender<StageEvent>,
    /// Credentials.
    pub auth: ApiAuth,
    /// Limits.
    pub limits: ApiLimits,
    /// The relay's metrics registry.
    pub registry: Registry,
}

/// Why the API could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// A metric could not be registered (registered twice?).
    #[error("registering the API's metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] ApiError),
}

/// One route of the API: its method, its path template and the statuses it answers with.
#[derive(Clone, Copy, Debug)]
pub struct RouteInfo {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The axum path template.
    pub path: &'static str,
    /// Every status it answers with (the OpenAPI document lists the same).
    pub statuses: &'static [u16],
}

/// Every route the router serves.
pub const ROUTES: [RouteInfo; 10] = [
    RouteInfo {
        method: "GET",
        path: "/",
        statuses: &[200],
    },
    RouteInfo {
        method: "POST",
        path: "/v1/tokens",
        statuses: &[200, 400, 401, 413, 429],
    },
    RouteInfo {
        method: "POST",
        path: "/v1/messages",
        statuses: &[200, 202, 400, 401, 403, 413, 422, 429, 500, 503],
    },
    RouteInfo {
        method: "GET",
        path: "/v1/messages",
        statuses: &[200, 400, 401, 429, 500],
    },
    RouteInfo {
        method: "GET",
        path: "/v1/messages/{id}",
        statuses: &[200, 400, 401, 403, 404, 429, 500],
    },
    RouteInfo {
        method: "GET",
        path: "/v1/messages/{id}/events",
        statuses: &[200, 400, 401, 403, 404, 429, 500, 503],
    },
    RouteInfo {
        method: "GET",
        path: "/v1/messages/{id}/evidence",
        statuses: &[200, 400, 401, 403, 404, 409, 429, 500],
    },
    RouteInfo {
        method: "GET",
        path: "/v1/events",
        statuses: &[200, 400, 401, 429, 500, 503],
    },
    RouteInfo {
        method: "GET",
        path: "/v1/chains",
        statuses: &[200, 401, 429],
    },
    RouteInfo {
        method: "GET",
        path: "/v1/openapi.json",
        statuses: &[200],
    },
];

/// The OpenAPI 3.1 document of the API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The tracking page: one file, no build step, no external assets.
pub const PAGE: &str = include_str!("page.html");

/// The page's Content-Security-Policy: nothing but its own inline script and style (by
/// their hashes) and requests to this origin.
fn page_policy() -> String {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let hash_of = |open: &str, close: &str| {
        let inner = PAGE
            .split_once(open)
            .and_then(|(_, rest)| rest.split_once(close))
            .map_or("", |(inner, _)| inner);
        let digest = Sha256::digest(inner.as_bytes());
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(digest)
        )
    };
    format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hash_of("<script>", "</script>"),
        hash_of("<style>", "</style>")
    )
}

struct Metrics {
    requests: IntCounterVec,
    limited: IntCounterVec,
}

impl Metrics {
    fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "corridor_api_requests_total",
                "Trader API requests answered, by route template and status",
            ),
            &["route", "status"],
        )?;
        let limited = IntCounterVec::new(
            Opts::new(
                "corridor_api_rate_limited_total",
                "Trader API requests refused by the per-trader rate limit, by route template",
            ),
            &["route"],
        )?;
        for r in ROUTES {
            for s in r.statuses {
                requests.with_label_values(&[r.path, &s.to_string()]);
            }
            limited.with_label_values(&[r.path]);
        }
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(limited.clone()))?;
        Ok(Self { requests, limited })
    }
}

/// What every handler shares.
struct Api {
    records: records::Records,
    writer: Mutex<records::Writer>,
    feed: broadcast::Sender<records::EventRecord>,
    submitters: BTreeMap<ChainId, Arc<DevnetAdapter>>,
    readers: BTreeMap<ChainId, Arc<DevnetAdapter>>,
    trust_roots: evidence::TrustRoots,
    chains: watch::Receiver<Vec<ChainStatus>>,
    auth: ApiAuth,
    limits: ApiLimits,
    rate: auth::RateLimiter,
    /// Signed requests per client address, before their signature is checked.
    by_address: auth::RateLimiter<std::net::IpAddr>,
    streams: Arc<tokio::sync::Semaphore>,
    page_policy: String,
    metrics: Metrics,
}

impl Api {
    fn writer(&self) -> std::sync::MutexGuard<'_, records::Writer> {
        // A poisoned lock means a panic mid-write; the store batch was written whole or
        // not at all, and the writer's counter only ever moves up: it is still usable.
        self.writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes one request of `principal` from its bucket (the operator has none).
    fn admit(&self, principal: &Principal) -> Result<(), ApiError> {
        match principal {
            Principal::Operator => Ok(()),
            Principal::Trader(key) => self.admit_key(key),
        }
    }

    fn admit_key(&self, key: &corridor_light_client::signature::PublicKey) -> Result<(), ApiError> {
        self.rate
            .take(key, std::time::Instant::now())
            .map_err(|retry_after| ApiError::RateLimited { retry_after })
    }

    /// Who is asking, and one request taken from its bucket.
    fn caller(&self, headers: &axum::http::HeaderMap) -> Result<Principal, ApiError> {
        let principal = self.auth.principal(headers, now())?;
        self.admit(&principal)?;
        Ok(principal)
    }
}

pub(crate) use crate::now;

/// The API's router, and its indexer task spawned on the current Tokio runtime.
pub fn router(ctx: ApiContext) -> Result<Router, SetupError> {
    let metrics = Metrics::new(&ctx.registry)?;
    let (feed, _) = broadcast::channel(1024);
    let writer = records::Writer::new(ctx.store.clone(), ctx.limits.event_log, feed.clone())?;
    let api = Arc::new(Api {
        records: records::Records::new(ctx.store.clone()),
        writer: Mutex::new(writer),
        feed,
        submitters: ctx.submitters,
        readers: ctx.readers,
        trust_roots: ctx.trust_roots,
        chains: ctx.chains,
        rate: auth::RateLimiter::new(ctx.limits.rate_burst, ctx.limits.rate_per_second),
        by_address: auth::RateLimiter::new(ctx.limits.address_burst, ctx.limits.address_per_second),
        streams: Arc::new(tokio::sync::Semaphore::new(ctx.limits.max_streams)),
        page_policy: page_policy(),
        auth: ctx.auth,
        limits: ctx.limits,
        metrics,
    });
    tokio::spawn(index(api.clone(), ctx.events.subscribe()));
    let body_limit = api.limits.max_body_bytes;
    Ok(Router::new()
        .route("/", get(handlers::page))
        .route(
            "/v1/tokens",
            post(handlers::token).layer(middleware::from_fn_with_state(api.clone(), admit_address)),
        )
        .route(
            "/v1/messages",
            post(handlers::submit)
                .layer(middleware::from_fn_with_state(api.clone(), admit_address))
                .get(handlers::list),
        )
        .route("/v1/messages/{id}", get(handlers::message))
        .route("/v1/messages/{id}/events", get(events::message_events))
        .route("/v1/messages/{id}/evidence", get(handlers::evidence))
        .route("/v1/events", get(events::all_events))
        .route("/v1/chains", get(handlers::chains))
        .route("/v1/openapi.json", get(handlers::openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(api.clone(), observe))
        .with_state(api))
}

/// Stage events the indexer takes into one synced write, at most.
const INDEX_BATCH: usize = 512;

/// Follows the core's stage events into the API's records, catching up from the audit
/// column at start and after a lag. Events waiting together are written together (one
/// synced batch for up to [`INDEX_BATCH`]), on the blocking pool, so a busy relay pays one
/// disk sync per batch rather than per stage, and the runtime's threads never wait on it.
async fn index(api: Arc<Api>, mut events: broadcast::Receiver<StageEvent>) {
    let write = |api: &Arc<Api>, batch: Option<Vec<StageEvent>>| {
        let api = api.clone();
        let task = tokio::task::spawn_blocking(move || {
            let mut writer = api.writer();
            let result = match &batch {
                Some(batch) => writer.stages(batch.iter().map(|e| (&e.audit, e.entry.as_deref()))),
                None => writer.catch_up(),
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "trader API: writing its records failed");
            }
        });
        async move {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "trader API: its records' writer stopped");
            }
        }
    };
    write(&api, None).await;
    loop {
        let first = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "trader API: stage events lagged; catching up");
                write(&api, None).await;
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let mut batch = vec![first];
        let mut lagged = false;
        while batch.len() < INDEX_BATCH {
            match events.try_recv() {
                Ok(event) => batch.push(event),
                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "trader API: stage events lagged; catching up");
                    lagged = true;
                    break;
                }
                Err(_) => break,
            }
        }
        write(&api, Some(batch)).await;
        if lagged {
            write(&api, None).await;
        }
    }
}

/// Takes one request of the client address's budget for signed requests, before the
/// handler checks a signature (the server is run with connect info; without it, as in
/// tests that serve the router bare, there is no address to count).
async fn admit_address(State(api): State<Arc<Api>>, request: Request, next: Next) -> Response {
    let address = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = address {
        if let Err(retry_after) = api.by_address.take(&ip, std::time::Instant::now()) {
            return ApiError::RateLimited { retry_after }.into_response();
        }
    }
    next.run(request).await
}

/// Counts every answer by route template and status.
async fn observe(State(api): State<Arc<Api>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let mut response = next.run(request).await;
    // Every answer names the relay, which a token request is signed for.
    if let Ok(relay) = axum::http::HeaderValue::from_str(&api.auth.relay.to_string()) {
        response.headers_mut().insert(auth::RELAY_HEADER, relay);
    }
    let status = response.status();
    api.metrics
        .requests
        .with_label_values(&[&route, status.as_str()])
        .inc();
    if status == axum::http::StatusCode::TOO_MANY_REQUESTS {
        api.metrics.limited.with_label_values(&[&route]).inc();
    }
    response
}

async fn not_found(uri: axum::http::Uri) -> Response {
    ApiError::NotFound(format!("route {}", uri.path())).into_response()
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    ProblemDocument::new(
        "method-not-allowed",
        status.as_u16(),
        format!("{method} is not allowed on {}", uri.path()),
        None,
    )
    .response(status)
}
