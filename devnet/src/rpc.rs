//! The devnet chain's HTTP JSON RPC (axum).
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /status` | [`ChainStatus`] of the latest published block |
//! | `GET /blocks/latest` | the latest published [`LightBlock`] |
//! | `GET /blocks/{height}` | the published [`LightBlock`] at `height` (404 above the tip or withheld) |
//! | `GET /blocks/{height}/conflicting` | the conflicting block the fork fault signed at `height` |
//! | `GET /outbox?from=H&to=H&index=I` | a [`Page`] of [`OutboundMessage`]s with proofs, from leaf `I` (default 0) of block `from` to the end of block `to` (at most 256 heights), within the page budget |
//! | `POST /tx` | submit a [`SignedMessage`]: 202 [`TxAccepted`] (200 when already known) |
//! | `GET /tx/{id}` | where the outbox put a message ([`MessageLocation`]) |
//! | `POST /deliveries` | submit an [`InboxBundle`] (its light blocks and proof tagged with the source chain's family: `{"corridor": ...}` or `{"evm": ...}`): 202 [`DeliveryAck`] (200 with the original acknowledgement when the same message was delivered before; 409 `duplicate` for another message at a consumed sequence) |
//! | `POST /deliveries/batch` | submit up to 256 [`InboxBundle`]s of consecutive sequences of one lane: 200 [`DeliveryBatchAnswer`] (the acknowledgements of those taken, in order, and the problem of the first refused), or the problem when none was taken |
//! | `GET /receipts?from=H&to=H&index=I` | a [`Page`] of [`ReceiptProof`]s, the same way |
//! | `GET /clients/{chain_id}` | the inbox's light client of a source chain ([`ClientStatus`]) |
//!
//! The admin RPC, on its own listener (`admin_listen`), each request with
//! `Authorization: Bearer <admin token>` (else 401 `unauthorized`, naming what is missing):
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /admin/status` | [`NodeStatus`] (produced vs published height, ticks, faults) |
//! | `POST /admin/faults` | set [`FaultState`], answers [`NodeStatus`] |
//!
//! Both listeners take only a `Host` header naming their own address, `localhost` (or
//! `127.0.0.1`, `[::1]`) with their port, or one of `allowed_hosts`; anything else (a page
//! reaching the port through DNS rebinding) is refused as `bad-host` (421).
//!
//! Errors are `application/problem+json` ([`Problem`]); a body that does not parse is a
//! `malformed-request` problem that quotes the parser, a body over the configured limit is
//! `body-too-large` (413). Ranges are served in pages of at most `limits.page_bytes` of
//! JSON with a (height, index) cursor, so one full block or a long range never makes a
//! response larger than a client reads; the config check makes sure one item always fits. Reads go to the store directly (on the blocking pool for ranges);
//! writes go to the node as commands on a bounded channel, so a burst waits for capacity
//! instead of growing a queue.
//!
//! ## Deliveries: cheap checks first, signatures off the node's thread
//! A delivery costs the chain signature checks only when it brings light blocks its inbox
//! does not trust yet. So, in this order:
//! 1. the batch's shape: 1 to [`MAX_DELIVERY_BATCH`] bundles for this chain, all of one
//!    lane (source chain and channel) with consecutive sequences, at most
//!    [`MAX_BUNDLE_LIGHT_BLOCKS`] light blocks in all (`bad-batch`,
//!    `too-many-light-blocks`), from a configured source (`unknown-source`);
//! 2. the lane, read from the store: a bundle below the lane's next sequence is a repeat
//!    (answered with its original acknowledgement when its commitment matches) or
//!    `duplicate`; one above it is `out-of-order`;
//! 3. the light blocks the inbox's client does not already trust count against the
//!    client address's budget (`limits.verify_per_second`, `limits.verify_burst`; over it:
//!    429 `rate-limited` with `Retry-After`);
//! 4. those bundles are verified on a copy of the client on the blocking pool, at most two
//!    at a time (the claimed voting power is tallied before any signature, in the light
//!    client); only what verified goes to the node, which replaces its client with the
//!    verified copy when nothing moved it meanwhile, and otherwise verifies again.
//!
//! A flood of forged deliveries thus costs the node's thread nothing, and costs the
//! blocking pool at most the sender's budget.
//!
//! [`LightBlock`]: corridor_light_client::native::LightBlock
//! [`SignedMessage`]: corridor_light_client::envelope::SignedMessage
//! [`FaultState`]: corridor_adapters::devnet::FaultState

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use corridor_adapters::adapter::MAX_RANGE;
use corridor_adapters::devnet::{
    ClientStatus, Cursor, DeliveryBatchAnswer, FaultState, MessageLocation, NodeStatus, Page,
    Problem, TxAccepted,
};
use corridor_adapters::types::{
    ChainStatus, DeliveryAck, InboxBundle, InboxClient, OutboundMessage, Receipt, ReceiptProof,
    MAX_DELIVERY_BATCH,
};
use corridor_light_client::any::AnyFamily;
use corridor_light_client::bundle::{verify_bundle, BundleError, MAX_BUNDLE_LIGHT_BLOCKS};
use corridor_light_client::envelope::{SignedMessage, TradeMessage};
use corridor_light_client::family::Family;
use corridor_light_client::merkle::MerkleTree;
use corridor_light_client::native::LightBlock;
use corridor_light_client::verifier::Verifier;
use corridor_light_client::{ChainId, Hash32, Height};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

use crate::api::ChainError;
use crate::config::DevnetConfig;
use crate::node::{bundle_error, ClientSnapshots, Command, Deliveries, Delivery, DeliveryOutcome};
use crate::store::{height_key, Cf, DeliveryRecord, Direction, Lane, RocksStore};

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct RpcState {
    pub(crate) config: Arc<DevnetConfig>,
    pub(crate) store: Arc<RocksStore>,
    pub(crate) status: watch::Receiver<NodeStatus>,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) clients: ClientSnapshots,
    pub(crate) verify: Arc<VerifyBudget>,
}

/// Most deliveries verified on the blocking pool at once.
const MAX_CONCURRENT_VERIFICATIONS: usize = 2;
/// Most client addresses the budget remembers; past it, addresses that are back to a full
/// budget are forgotten.
const MAX_TRACKED_ADDRESSES: usize = 65_536;

/// The per-address budget of light blocks to verify, and the verification slots.
pub(crate) struct VerifyBudget {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    slots: Semaphore,
}

impl VerifyBudget {
    /// The budget of `config.verify_per_second` light blocks per second and
    /// `config.verify_burst` at once, per client address.
    pub(crate) fn new(config: &DevnetConfig) -> Self {
        let rate = NonZeroU32::new(config.verify_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(config.verify_burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            slots: Semaphore::new(MAX_CONCURRENT_VERIFICATIONS),
        }
    }

    /// Takes `blocks` light blocks of `address`'s budget, or says how many seconds until
    /// they can be taken.
    fn take(&self, address: IpAddr, blocks: usize) -> Result<(), ChainError> {
        let Some(n) = u32::try_from(blocks).ok().and_then(NonZeroU32::new) else {
            return Ok(());
        };
        if self.limiter.len() >= MAX_TRACKED_ADDRESSES {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key_n(&address, n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(ChainError::RateLimited {
                    blocks,
                    retry_after_secs: wait.as_secs().saturating_add(1),
                })
            }
            // More than the burst: refused by the batch checks before this.
            Err(_) => Err(ChainError::TooManyLightBlocks {
                got: blocks,
                max: MAX_BUNDLE_LIGHT_BLOCKS,
            }),
        }
    }
}

/// The public router, for the listener bound at `addr`.
pub(crate) fn router(state: RpcState, addr: SocketAddr) -> Router {
    let limit = state.config.max_body_bytes;
    let hosts = Arc::new(allowed_hosts(&state.config, addr));
    Router::new()
        .route("/status", get(status))
        .route("/blocks/latest", get(latest_block))
        .route("/blocks/{height}", get(block))
        .route("/blocks/{height}/conflicting", get(conflicting_block))
        .route("/outbox", get(outbox))
        .route("/tx", post(submit_tx))
        .route("/tx/{id}", get(tx_location))
        .route("/deliveries", post(submit_delivery))
        .route("/deliveries/batch", post(submit_deliveries))
        .route("/receipts", get(receipts))
        .route("/clients/{chain_id}", get(client_status))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(hosts, check_host))
        .with_state(state)
}

/// The admin router, for the listener bound at `addr`: every route needs the admin token.
pub(crate) fn admin_router(state: RpcState, addr: SocketAddr) -> Router {
    let limit = state.config.max_body_bytes;
    let hosts = Arc::new(allowed_hosts(&state.config, addr));
    Router::new()
        .route("/admin/status", get(admin_status))
        .route("/admin/faults", post(set_faults))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), check_token))
        .layer(middleware::from_fn_with_state(hosts, check_host))
        .with_state(state)
}

/// The `Host` values a listener bound at `addr` answers to, in lower case.
fn allowed_hosts(config: &DevnetConfig, addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut hosts = vec![
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    if !addr.ip().is_unspecified() {
        hosts.push(addr.to_string().to_ascii_lowercase());
    }
    hosts.extend(config.allowed_hosts.iter().cloned());
    hosts
}

/// Refuses a request whose `Host` (or, without one, URI authority) is not one of `hosts`.
async fn check_host(
    State(hosts): State<Arc<Vec<String>>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    match host {
        Some(h) if hosts.contains(&h.to_ascii_lowercase()) => next.run(request).await,
        Some(h) => ApiError(
            Problem::new(
                "bad-host",
                StatusCode::MISDIRECTED_REQUEST.as_u16(),
                format!("Host {h:?} is not this listener's address or localhost"),
            ),
            None,
        )
        .into_response(),
        None => ApiError(
            Problem::new(
                "bad-host",
                StatusCode::MISDIRECTED_REQUEST.as_u16(),
                "the request has no Host header".into(),
            ),
            None,
        )
        .into_response(),
    }
}

/// Refuses an admin request without the admin bearer token (401, naming what is wrong).
async fn check_token(State(state): State<RpcState>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    let refused = match (given, &state.config.admin_token) {
        (_, None) => Some("the admin RPC has no token configured".to_owned()),
        (None, _) => {
            Some("no Authorization header: send `Authorization: Bearer <admin token>`".to_owned())
        }
        (Some(value), Some(token)) => match value.strip_prefix("Bearer ") {
            None => Some("the Authorization header is not a bearer token".to_owned()),
            Some(given) if token.matches(given.trim()) => None,
            Some(_) => Some("the bearer token is not this chain's admin token".to_owned()),
        },
    };
    match refused {
        None => next.run(request).await,
        Some(detail) => {
            tracing::warn!(path = %request.uri().path(), %detail, "admin request refused");
            let mut response =
                ApiError(Problem::new("unauthorized", 401, detail), None).into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}

/// A handler's error: a problem document, with `Retry-After` seconds when it has one.
struct ApiError(Problem, Option<u64>);

impl From<ChainError> for ApiError {
    fn from(e: ChainError) -> Self {
        let retry_after = match &e {
            ChainError::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        Self(Problem::from(&e), retry_after)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if let Some(secs) = self.1 {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        response
    }
}

fn malformed(status: StatusCode, what: &str, text: String) -> ApiError {
    let name = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "body-too-large"
    } else {
        "malformed-request"
    };
    ApiError(
        Problem::new(name, status.as_u16(), format!("{what}: {text}")),
        None,
    )
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        malformed(r.status(), "request body", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        malformed(StatusCode::BAD_REQUEST, "path", r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        malformed(StatusCode::BAD_REQUEST, "query", r.body_text())
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Runs a blocking store read on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ChainError> + Send + 'static,
) -> Result<T, ChainError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ChainError::Stopped)?
}

/// Sends a command and waits for its answer.
async fn ask<T>(
    state: &RpcState,
    make: impl FnOnce(oneshot::Sender<Result<T, ChainError>>) -> Command,
) -> Result<T, ChainError> {
    let (tx, rx) = oneshot::channel();
    state
        .commands
        .send(make(tx))
        .await
        .map_err(|_| ChainError::Stopped)?;
    rx.await.map_err(|_| ChainError::Stopped)?
}

async fn status(State(state): State<RpcState>) -> Json<ChainStatus> {
    let s = state.status.borrow().clone();
    Json(ChainStatus {
        chain_id: s.chain_id,
        family: "corridor".into(),
        latest_height: s.published_height,
        latest_hash: s.published_hash,
        latest_time: s.published_time,
    })
}

async fn admin_status(State(state): State<RpcState>) -> Json<NodeStatus> {
    Json(state.status.borrow().clone())
}

fn published_block(state: &RpcState, height: Height, cf: Cf) -> Result<LightBlock, ChainError> {
    let published = state.status.borrow().published_height;
    let what = || match cf {
        Cf::Forks => format!("conflicting block at height {height}"),
        _ => format!("light block at height {height}"),
    };
    if height > published || height.0 == 0 {
        return Err(ChainError::NotFound(what()));
    }
    state
        .store
        .get(cf, &height_key(height))?
        .ok_or_else(|| ChainError::NotFound(what()))
}

async fn latest_block(State(state): State<RpcState>) -> ApiResult<Json<LightBlock>> {
    let height = state.status.borrow().published_height;
    Ok(Json(published_block(&state, height, Cf::Blocks)?))
}

async fn block(
    State(state): State<RpcState>,
    height: Result<Path<u64>, PathRejection>,
) -> ApiResult<Json<LightBlock>> {
    let Path(h) = height?;
    Ok(Json(published_block(&state, Height(h), Cf::Blocks)?))
}

async fn conflicting_block(
    State(state): State<RpcState>,
    height: Result<Path<u64>, PathRejection>,
) -> ApiResult<Json<LightBlock>> {
    let Path(h) = height?;
    Ok(Json(published_block(&state, Height(h), Cf::Forks)?))
}

/// `?from=H&to=H&index=I`.
#[derive(Deserialize)]
struct Range {
    from: u64,
    to: u64,
    /// First leaf index in block `from`.
    #[serde(default)]
    index: u64,
}

/// The published heights of a range, checked.
fn published_range(state: &RpcState, range: &Range) -> Result<(u64, u64), ChainError> {
    corridor_adapters::adapter::check_range("", Height(range.from), Height(range.to)).map_err(
        |_| {
            ChainError::Malformed(format!(
                "range from={} to={} must start at 1 or above and span 1 to {MAX_RANGE} heights",
                range.from, range.to
            ))
        },
    )?;
    let published = state.status.borrow().published_height.0;
    Ok((range.from, range.to.min(published)))
}

/// A page of the items committed at the heights of a range, with their inclusion proofs,
/// from leaf `start` of the first height, within `budget` bytes of JSON (at least one item).
fn proven_page<T, R>(
    store: &RocksStore,
    cf: Cf,
    (from, to): (u64, u64),
    start: u64,
    budget: usize,
    leaf: impl Fn(&T) -> Result<Vec<u8>, corridor_light_client::codec::CodecError>,
    make: impl Fn(Height, T, corridor_light_client::merkle::InclusionProof) -> R,
) -> Result<Page<R>, ChainError>
where
    T: Serialize + serde::de::DeserializeOwned,
    R: Serialize,
{
    let mut items = Vec::new();
    let mut used = 0usize;
    for h in from..=to {
        let height = Height(h);
        let Some(stored) = store.get::<Vec<T>>(cf, &height_key(height))? else {
            continue;
        };
        let leaves = stored
            .iter()
            .map(&leaf)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ChainError::Malformed(e.to_string()))?;
        let tree = MerkleTree::from_leaves(&leaves);
        let first = if h == from { start } else { 0 };
        for (index, item) in (0u64..).zip(stored) {
            if index < first {
                continue;
            }
            let proof = tree
                .prove(index)
                .ok_or_else(|| ChainError::NotFound(format!("leaf {index} at height {h}")))?;
            let item = make(height, item, proof);
            // The item's JSON and the comma that separates it from the next.
            let size = serde_json::to_vec(&item)
                .map_err(|e| ChainError::Malformed(e.to_string()))?
                .len()
                .saturating_add(1);
            if !items.is_empty() && used.saturating_add(size) > budget {
                return Ok(Page {
                    items,
                    next: Some(Cursor { height, index }),
                });
            }
            used = used.saturating_add(size);
            items.push(item);
        }
    }
    Ok(Page { items, next: None })
}

async fn outbox(
    State(state): State<RpcState>,
    range: Result<Query<Range>, QueryRejection>,
) -> ApiResult<Json<Page<OutboundMessage>>> {
    let Query(range) = range?;
    let span = published_range(&state, &range)?;
    let store = state.store.clone();
    let budget = state.config.page_bytes;
    let page = blocking(move || {
        proven_page(
            &store,
            Cf::Messages,
            span,
            range.index,
            budget,
            TradeMessage::leaf,
            |height, message, proof| OutboundMessage {
                height,
                message,
                proof,
            },
        )
    })
    .await?;
    Ok(Json(page))
}

async fn receipts(
    State(state): State<RpcState>,
    range: Result<Query<Range>, QueryRejection>,
) -> ApiResult<Json<Page<ReceiptProof>>> {
    let Query(range) = range?;
    let span = published_range(&state, &range)?;
    let store = state.store.clone();
    let budget = state.config.page_bytes;
    let page = blocking(move || {
        proven_page(
            &store,
            Cf::Receipts,
            span,
            range.index,
            budget,
            Receipt::leaf,
            |height, receipt, proof| ReceiptProof {
                height,
                receipt,
                proof,
            },
        )
    })
    .await?;
    Ok(Json(page))
}

async fn submit_tx(
    State(state): State<RpcState>,
    body: Result<Json<SignedMessage>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<TxAccepted>)> {
    let Json(message) = body?;
    let accepted = ask(&state, |tx| Command::SubmitTx(Box::new(message), tx)).await?;
    let code = if accepted.duplicate {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((code, Json(accepted)))
}

async fn tx_location(
    State(state): State<RpcState>,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<MessageLocation>> {
    let Path(id) = id?;
    let id = Hash32::from_hex(&id)
        .map_err(|e| ChainError::Malformed(format!("message id {id:?}: {e}")))?;
    let location = state
        .store
        .get::<MessageLocation>(Cf::Ids, id.as_bytes())
        .map_err(ChainError::from)?
        .ok_or_else(|| ChainError::NotFound(format!("message {id}")))?;
    Ok(Json(location))
}

async fn submit_delivery(
    State(state): State<RpcState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    body: Result<Json<InboxBundle>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<DeliveryAck>)> {
    let Json(bundle) = body?;
    let mut outcome = deliver(&state, from.ip(), vec![bundle]).await;
    match (outcome.deliveries.pop(), outcome.refused) {
        (Some(delivery), _) => {
            let code = if delivery.repeat {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            Ok((code, Json(delivery.ack)))
        }
        (None, refused) => Err(refused.unwrap_or(ChainError::Stopped).into()),
    }
}

async fn submit_deliveries(
    State(state): State<RpcState>,
    ConnectInfo(from): ConnectInfo<SocketAddr>,
    body: Result<Json<Vec<InboxBundle>>, JsonRejection>,
) -> ApiResult<Json<DeliveryBatchAnswer>> {
    let Json(bundles) = body?;
    let outcome = deliver(&state, from.ip(), bundles).await;
    if outcome.deliveries.is_empty() {
        return Err(outcome.refused.unwrap_or(ChainError::Stopped).into());
    }
    Ok(Json(DeliveryBatchAnswer {
        acks: outcome.deliveries.into_iter().map(|d| d.ack).collect(),
        refused: outcome.refused.as_ref().map(Problem::from),
    }))
}

/// Takes deliveries of one lane (see the module docs for the order of the checks).
async fn deliver(state: &RpcState, from: IpAddr, bundles: Vec<InboxBundle>) -> DeliveryOutcome {
    let (mut answered, rest) = match check_deliveries(state, bundles) {
        Ok(checked) => checked,
        Err(e) => return DeliveryOutcome::refused(e),
    };
    let Checked::Next(rest) = rest else {
        let Checked::Refused(refused) = rest else {
            return answered;
        };
        answered.refused = Some(refused);
        return answered;
    };
    let deliveries = match verify_off_node(state, from, rest).await {
        Ok(d) => d,
        Err(e) => {
            answered.refused = Some(e);
            return answered;
        }
    };
    let taken = if deliveries.bundles.is_empty() {
        DeliveryOutcome {
            deliveries: Vec::new(),
            refused: deliveries.then_refused,
        }
    } else {
        let (tx, rx) = oneshot::channel();
        let sent = state
            .commands
            .send(Command::Deliver(Box::new(deliveries), tx))
            .await;
        match sent {
            Ok(()) => rx
                .await
                .unwrap_or_else(|_| DeliveryOutcome::refused(ChainError::Stopped)),
            Err(_) => DeliveryOutcome::refused(ChainError::Stopped),
        }
    };
    answered.deliveries.extend(taken.deliveries);
    answered.refused = taken.refused;
    answered
}

/// What is left of a batch after the cheap checks.
enum Checked {
    /// Bundles from the lane's next sequence on.
    Next(Vec<InboxBundle>),
    /// The first bundle not answered was refused.
    Refused(ChainError),
    /// Every bundle was answered (repeats).
    Done,
}

/// Steps 1 and 2 of the module docs: the batch's shape, then repeats answered from the
/// store, then the lane's order.
fn check_deliveries(
    state: &RpcState,
    bundles: Vec<InboxBundle>,
) -> Result<(DeliveryOutcome, Checked), ChainError> {
    let chain = state.config.chain_id();
    let Some(first) = bundles.first() else {
        return Err(ChainError::BadBatch("no bundle".into()));
    };
    if bundles.len() > MAX_DELIVERY_BATCH {
        return Err(ChainError::BadBatch(format!(
            "{} bundles, at most {MAX_DELIVERY_BATCH} allowed",
            bundles.len()
        )));
    }
    let body = &first.message.message.body;
    let (source, channel) = (body.source_chain.clone(), body.channel);
    let mut light_blocks = 0usize;
    for (i, bundle) in bundles.iter().enumerate() {
        let b = &bundle.message.message.body;
        if &b.destination_chain != chain {
            return Err(ChainError::WrongChain {
                field: "message.body.destination_chain",
                expected: chain.clone(),
                got: b.destination_chain.clone(),
            });
        }
        if b.source_chain != source || b.channel != channel {
            return Err(ChainError::BadBatch(format!(
                "bundle {i} is of {} channel {}, bundle 0 of {source} channel {channel}",
                b.source_chain, b.channel
            )));
        }
        let expected = first.message.sequence.checked_add(i as u64);
        if expected != Some(bundle.message.sequence) {
            return Err(ChainError::BadBatch(format!(
                "bundle {i} has sequence {}, bundle 0 has {}: sequences must be consecutive",
                bundle.message.sequence, first.message.sequence
            )));
        }
        light_blocks = light_blocks.saturating_add(bundle.light_blocks.len());
    }
    if light_blocks > MAX_BUNDLE_LIGHT_BLOCKS {
        return Err(ChainError::TooManyLightBlocks {
            got: light_blocks,
            max: MAX_BUNDLE_LIGHT_BLOCKS,
        });
    }
    if state.config.peer(&source).is_none() {
        return Err(ChainError::UnknownSource(source));
    }
    let lane = Lane {
        direction: Direction::Inbound,
        chain: &source,
        channel,
    }
    .key();
    let next: u64 = state.store.get(Cf::Lanes, lane.as_bytes())?.unwrap_or(1);
    let mut answered = DeliveryOutcome::default();
    let mut bundles = bundles.into_iter().peekable();
    while let Some(bundle) = bundles.next_if(|b| b.message.sequence < next) {
        let sequence = bundle.message.sequence;
        let record: Option<DeliveryRecord> = state
            .store
            .get(Cf::Deliveries, &lane.delivery_key(sequence))?;
        let commitment = bundle
            .message
            .commitment()
            .map_err(|e| ChainError::InvalidMessage(e.into()))?;
        match record {
            Some(r) if r.message_commitment == commitment => answered.deliveries.push(Delivery {
                ack: DeliveryAck {
                    source_chain: source.clone(),
                    channel,
                    sequence,
                    result: r.result,
                },
                repeat: true,
            }),
            _ => {
                let duplicate = ChainError::Duplicate {
                    source_chain: source.clone(),
                    channel,
                    sequence,
                };
                return Ok((answered, Checked::Refused(duplicate)));
            }
        }
    }
    let rest: Vec<InboxBundle> = bundles.collect();
    let checked = match rest.first() {
        None => Checked::Done,
        Some(b) if b.message.sequence > next => Checked::Refused(ChainError::OutOfOrder {
            source_chain: source,
            channel,
            expected: next,
            got: b.message.sequence,
        }),
        Some(_) => Checked::Next(rest),
    };
    Ok((answered, checked))
}

/// Steps 3 and 4 of the module docs: bundles whose light blocks the inbox already trusts
/// go to the node as they are (it checks their proofs); the others are verified on a copy
/// of the client, within `from`'s budget, and only the verified prefix goes on.
async fn verify_off_node(
    state: &RpcState,
    from: IpAddr,
    bundles: Vec<InboxBundle>,
) -> Result<Deliveries, ChainError> {
    let source = bundles
        .first()
        .map(|b| b.message.message.body.source_chain.clone())
        .ok_or_else(|| ChainError::BadBatch("no bundle".into()))?;
    let snapshot = state
        .clients
        .get(&source)
        .ok_or_else(|| ChainError::UnknownSource(source.clone()))?;
    let untrusted = bundles
        .iter()
        .flat_map(|b| &b.light_blocks)
        .filter(|block| {
            snapshot
                .trusted_at(AnyFamily.block_height(block))
                .is_none_or(|t| AnyFamily.block_hash(t) != AnyFamily.block_hash(block))
        })
        .count();
    if untrusted == 0 {
        return Ok(Deliveries {
            bundles,
            verified: None,
            then_refused: None,
        });
    }
    state.verify.take(from, untrusted)?;
    let _slot = state
        .verify
        .slots
        .acquire()
        .await
        .map_err(|_| ChainError::Stopped)?;
    tokio::task::spawn_blocking(move || verify_copy(&source, &snapshot, bundles))
        .await
        .map_err(|_| ChainError::Stopped)
}

/// Verifies `bundles` in order on a copy of `client`, up to the first refusal. A bundle
/// that shows misbehaviour goes on to the node unverified there, with no copy: the node
/// finds the same conflict on its own client and freezes it.
fn verify_copy(source: &ChainId, client: &InboxClient, bundles: Vec<InboxBundle>) -> Deliveries {
    let now = crate::node::system_now();
    let mut copy = client.clone();
    let base = copy.revision();
    let mut verified = Vec::with_capacity(bundles.len());
    let mut then_refused = None;
    let mut misbehaviour = false;
    for bundle in bundles {
        match verify_bundle(&mut copy, &bundle, now) {
            Ok(_) => verified.push(bundle),
            Err(BundleError::Misbehaviour { .. }) => {
                verified.push(bundle);
                misbehaviour = true;
                break;
            }
            Err(e) => {
                then_refused = Some(bundle_error(source, &bundle, e));
                break;
            }
        }
    }
    Deliveries {
        bundles: verified,
        verified: (!misbehaviour).then_some((base, copy)),
        then_refused,
    }
}

async fn client_status(
    State(state): State<RpcState>,
    chain: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<ClientStatus>> {
    let Path(chain) = chain?;
    let chain_id = ChainId::new(chain.clone())
        .map_err(|e| ChainError::Malformed(format!("chain id {chain:?}: {e}")))?;
    let store = state.store.clone();
    let key = chain_id.as_str().as_bytes().to_vec();
    let client: InboxClient = blocking(move || {
        store
            .get::<InboxClient>(Cf::Clients, &key)?
            .ok_or_else(|| ChainError::NotFound(format!("light client of {chain}")))
    })
    .await?;
    Ok(Json(ClientStatus {
        chain_id,
        root: client.root().clone(),
        latest: client.latest().cloned(),
        frozen: client.is_frozen(),
    }))
}

async fn set_faults(
    State(state): State<RpcState>,
    body: Result<Json<FaultState>, JsonRejection>,
) -> ApiResult<Json<NodeStatus>> {
    let Json(faults) = body?;
    Ok(Json(
        ask(&state, |tx| Command::SetFaults(faults, tx)).await?,
    ))
}
