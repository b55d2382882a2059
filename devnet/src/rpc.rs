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
//! | `POST /deliveries` | submit a [`ProofBundle`]: 202 [`DeliveryAck`] (200 with the original acknowledgement when the same message was delivered before; 409 `duplicate` for another message at a consumed sequence) |
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
//! [`LightBlock`]: corridor_light_client::native::LightBlock
//! [`SignedMessage`]: corridor_light_client::envelope::SignedMessage
//! [`FaultState`]: corridor_adapters::devnet::FaultState

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use corridor_adapters::adapter::MAX_RANGE;
use corridor_adapters::devnet::{
    ClientStatus, Cursor, FaultState, MessageLocation, NodeStatus, Page, Problem, TxAccepted,
};
use corridor_adapters::types::{
    ChainStatus, DeliveryAck, NativeClient, OutboundMessage, ProofBundle, Receipt, ReceiptProof,
};
use corridor_light_client::envelope::{SignedMessage, TradeMessage};
use corridor_light_client::merkle::MerkleTree;
use corridor_light_client::native::LightBlock;
use corridor_light_client::{ChainId, Hash32, Height};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use crate::api::ChainError;
use crate::config::DevnetConfig;
use crate::node::Command;
use crate::store::{height_key, Cf, RocksStore};

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct RpcState {
    pub(crate) config: Arc<DevnetConfig>,
    pub(crate) store: Arc<RocksStore>,
    pub(crate) status: watch::Receiver<NodeStatus>,
    pub(crate) commands: mpsc::Sender<Command>,
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
        Some(h) => ApiError(Problem::new(
            "bad-host",
            StatusCode::MISDIRECTED_REQUEST.as_u16(),
            format!("Host {h:?} is not this listener's address or localhost"),
        ))
        .into_response(),
        None => ApiError(Problem::new(
            "bad-host",
            StatusCode::MISDIRECTED_REQUEST.as_u16(),
            "the request has no Host header".into(),
        ))
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
            let mut response = ApiError(Problem::new("unauthorized", 401, detail)).into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}

/// A handler's error: a problem document.
struct ApiError(Problem);

impl From<ChainError> for ApiError {
    fn from(e: ChainError) -> Self {
        Self(Problem::from(&e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

fn malformed(status: StatusCode, what: &str, text: String) -> ApiError {
    let name = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "body-too-large"
    } else {
        "malformed-request"
    };
    ApiError(Problem::new(
        name,
        status.as_u16(),
        format!("{what}: {text}"),
    ))
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
    body: Result<Json<ProofBundle>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<DeliveryAck>)> {
    let Json(bundle) = body?;
    let delivery = ask(&state, |tx| Command::Deliver(Box::new(bundle), tx)).await?;
    let code = if delivery.repeat {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((code, Json(delivery.ack)))
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
    let client: NativeClient = blocking(move || {
        store
            .get::<NativeClient>(Cf::Clients, &key)?
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
