//! The handlers of the request-and-answer routes (the streams are in `events`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use corridor_adapters::AdapterError;
use corridor_light_client::envelope::{Deadline, DocumentKind, EnvelopeError, SignedMessage};
use corridor_light_client::signature::PublicKey;
use corridor_light_client::{Hash32, Time};
use corridor_relay_core::core::Stage;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::model::{
    ChainView, MessagePage, MessageSummary, MessageView, StageView, Status, SubmitRequest,
    SubmitResponse, TokenRequest, TokenResponse,
};
use super::records::{status_of, MessageRecord};
use super::{now, Api, Principal, OPENAPI};

/// The request body, or why there is none within the limit.
fn body_bytes(api: &Api, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::BodyTooLarge {
                limit: api.limits.max_body_bytes,
            }
        } else {
            ApiError::MalformedJson {
                field: "body".into(),
                detail: format!("the request body could not be read: {e}"),
            }
        }
    })
}

/// Parses JSON, naming the field at fault.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "(root)".to_owned()
        } else {
            path
        };
        ApiError::MalformedJson {
            detail: format!("{field}: {}", e.inner()),
            field,
        }
    })?;
    de.end().map_err(|e| ApiError::MalformedJson {
        field: "(root)".into(),
        detail: format!("trailing characters after the JSON value: {e}"),
    })?;
    Ok(value)
}

fn time_text(t: Time) -> String {
    t.to_string()
}

/// `POST /v1/tokens`.
pub(super) async fn token(
    State(api): State<Arc<Api>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<TokenResponse>, ApiError> {
    let bytes = body_bytes(&api, body)?;
    let request: TokenRequest = parse_json(&bytes)?;
    let now = now();
    // The signature first: nobody drains another trader's bucket with forged requests.
    api.auth.check_request(&request, now)?;
    api.admit_key(&request.key)?;
    let (token, expires) = api.auth.issue(&request.key, now);
    Ok(Json(TokenResponse {
        token,
        expires_at: time_text(expires),
        key: request.key,
    }))
}

/// Maps an envelope refusal to its problem, naming the field.
fn envelope_error(e: EnvelopeError) -> ApiError {
    let invalid = |field: &str, detail: String| ApiError::InvalidMessage {
        field: field.into(),
        detail,
    };
    match e {
        EnvelopeError::Version(v) => invalid(
            "body.version",
            format!(
                "version {v} is not supported (expected {})",
                corridor_light_client::envelope::VERSION
            ),
        ),
        EnvelopeError::SameChain(c) => invalid(
            "body.destination_chain",
            format!("source and destination are both {c}"),
        ),
        EnvelopeError::PayloadTooLarge { len, max } => ApiError::PayloadTooLarge { len, max },
        EnvelopeError::PayloadHashMismatch { claimed, actual } => invalid(
            "body.payload_hash",
            format!("{claimed} is not the SHA3-256 of the payload ({actual})"),
        ),
        EnvelopeError::PayloadNotCanonical(reason) => ApiError::InvalidDocument {
            field: "body.payload".into(),
            detail: format!("not a canonical CBOR map: {reason}"),
        },
        EnvelopeError::Document(d) => ApiError::InvalidDocument {
            field: format!("body.payload.{}", d.field),
            detail: format!("{} {}", d.kind, d.problem),
        },
        EnvelopeError::BadSignature(_) => ApiError::BadSignature {
            field: "signature".into(),
        },
        EnvelopeError::Expired { deadline, .. } => ApiError::DeadlinePassed {
            detail: format!("{deadline:?}"),
        },
        other => invalid("body", other.to_string()),
    }
}

/// Maps a source chain's refusal.
fn adapter_error(chain: &str, e: AdapterError, message: &SignedMessage) -> ApiError {
    match e {
        AdapterError::Rejected {
            problem, detail, ..
        } => match problem.as_str() {
            "unknown-trader" => ApiError::UnregisteredTrader {
                sender: message.body.sender.to_string(),
                chain: chain.to_owned(),
            },
            "unknown-destination" => ApiError::UnknownChain {
                field: "body.destination_chain".into(),
                chain: message.body.destination_chain.to_string(),
                role: "can reach from its source",
            },
            "expired" => ApiError::DeadlinePassed { detail },
            "bad-signature" => ApiError::BadSignature {
                field: "signature".into(),
            },
            _ => ApiError::ChainRefused {
                chain: chain.to_owned(),
                problem,
                detail,
            },
        },
        other => ApiError::ChainUnavailable {
            chain: chain.to_owned(),
            detail: other.to_string(),
        },
    }
}

/// `POST /v1/messages`: checks in order (JSON, rate, envelope and document, chains,
/// idempotency, deadline), then submits through the source chain's adapter and records
/// the message. Nothing is written before the chain took the message.
pub(super) async fn submit(
    State(api): State<Arc<Api>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = body_bytes(&api, body)?;
    let request: SubmitRequest = parse_json(&bytes)?;
    let message = request.into_signed()?;
    // The signature first: nobody drains another trader's bucket with forged messages.
    let signed_bytes = message
        .body
        .sign_bytes()
        .map_err(|e| envelope_error(e.into()))?;
    if !message
        .body
        .sender
        .verify(&signed_bytes, &message.signature)
    {
        return Err(ApiError::BadSignature {
            field: "signature".into(),
        });
    }
    api.admit_key(&message.body.sender)?;
    message
        .validate(&api.limits.envelope)
        .map_err(envelope_error)?;
    let b = &message.body;
    let Some(adapter) = api.submitters.get(&b.source_chain).cloned() else {
        return Err(ApiError::UnknownChain {
            field: "body.source_chain".into(),
            chain: b.source_chain.to_string(),
            role: "submits to",
        });
    };
    let destination = api
        .chains
        .borrow()
        .iter()
        .find(|c| c.chain == b.destination_chain)
        .cloned();
    let Some(destination) = destination else {
        return Err(ApiError::UnknownChain {
            field: "body.destination_chain".into(),
            chain: b.destination_chain.to_string(),
            role: "follows",
        });
    };
    let id = message.id().map_err(|e| envelope_error(e.into()))?;
    if let Some(record) = api.records.message(&id)? {
        let status = api.records.status(&record)?;
        return Ok((StatusCode::OK, Json(submit_response(&record, status, true))).into_response());
    }
    let now = now();
    match b.deadline {
        Deadline::Time(t) if now > t => {
            return Err(ApiError::DeadlinePassed {
                detail: format!("time {t} is before now ({now})"),
            });
        }
        Deadline::Height(h) => {
            let seen = destination.head_height.max(destination.trusted_height);
            if let Some(head) = seen.filter(|head| *head > h) {
                return Err(ApiError::DeadlinePassed {
                    detail: format!("height {h} is below {}'s height {head}", destination.chain),
                });
            }
        }
        Deadline::Time(_) => {}
    }
    let chain = b.source_chain.to_string();
    let accepted = adapter
        .submit_message(&message)
        .await
        .map_err(|e| adapter_error(&chain, e, &message))?;
    if accepted.id != id {
        return Err(ApiError::ChainRefused {
            chain,
            problem: "id-mismatch".into(),
            detail: format!("the chain answered for message {}, not {id}", accepted.id),
        });
    }
    let (record, known) = api
        .writer()
        .submitted(id, message, accepted.sequence, now)?;
    let status = api.records.status(&record)?;
    tracing::debug!(%id, sequence = accepted.sequence, "message submitted");
    let code = if known || accepted.duplicate {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((
        code,
        Json(submit_response(
            &record,
            status,
            known || accepted.duplicate,
        )),
    )
        .into_response())
}

fn submit_response(record: &MessageRecord, status: Status, duplicate: bool) -> SubmitResponse {
    let b = &record.message.message.body;
    SubmitResponse {
        id: record.id,
        status,
        source_chain: b.source_chain.clone(),
        destination_chain: b.destination_chain.clone(),
        channel: b.channel,
        sequence: record.message.sequence,
        duplicate,
    }
}

fn parse_id(text: &str) -> Result<Hash32, ApiError> {
    Hash32::from_hex(text).map_err(|e| ApiError::InvalidQuery {
        field: "id".into(),
        detail: format!("is not 64 hex digits: {e}"),
    })
}

/// The record of `id` if `principal` may read it.
pub(super) fn readable(
    api: &Api,
    principal: &Principal,
    id: &Hash32,
) -> Result<MessageRecord, ApiError> {
    let record = api
        .records
        .message(id)?
        .ok_or_else(|| ApiError::NotFound(format!("message {id}")))?;
    let b = &record.message.message.body;
    if !principal.may_read(&b.sender, &b.receiver) {
        return Err(ApiError::Forbidden(id.to_string()));
    }
    Ok(record)
}

/// `GET /v1/messages/{id}`.
pub(super) async fn message(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<MessageView>, ApiError> {
    let principal = api.caller(&headers)?;
    let id = parse_id(&id)?;
    let record = readable(&api, &principal, &id)?;
    view(&api, &record).map(Json)
}

fn view(api: &Api, record: &MessageRecord) -> Result<MessageView, ApiError> {
    let m = &record.message;
    let b = &m.message.body;
    let audit = api.records.taken_audit(record)?;
    let proof = |p: &str| serde_json::from_str::<serde_json::Value>(p).ok();
    let mut timeline = Vec::new();
    if let Some(at) = record.submitted_at {
        timeline.push(StageView {
            stage: "submitted".into(),
            at: time_text(at),
            at_unix_nanos: at.unix_nanos(),
            chain: b.source_chain.clone(),
            height: None,
            result: None,
            proof: None,
        });
    }
    for a in &audit {
        let (chain, anchor) = match &a.stage {
            // Received: verified here against the source block that committed it.
            Stage::Committed | Stage::Received => (&b.source_chain, record.committed.as_ref()),
            Stage::Forwarded => (&b.destination_chain, None),
            Stage::Delivered(_) | Stage::Acknowledged(_) => {
                (&b.destination_chain, record.receipt.as_ref())
            }
        };
        let result = match &a.stage {
            Stage::Delivered(r) | Stage::Acknowledged(r) => Some(result_name(r).to_owned()),
            _ => None,
        };
        timeline.push(StageView {
            stage: a.stage.name().into(),
            at: time_text(a.at),
            at_unix_nanos: a.at.unix_nanos(),
            chain: chain.clone(),
            height: anchor.map(|x| x.height),
            result,
            proof: anchor.and_then(|x| proof(&x.proof)),
        });
    }
    let commitment = m.commitment().map_err(|e| ApiError::Corrupt {
        key: format!("message {}", record.id),
        reason: e.to_string(),
    })?;
    Ok(MessageView {
        id: record.id,
        status: status_of(&audit),
        source_chain: b.source_chain.clone(),
        destination_chain: b.destination_chain.clone(),
        channel: b.channel,
        sequence: m.sequence,
        sender: b.sender,
        receiver: b.receiver,
        kind: b.kind,
        payload_hash: b.payload_hash,
        deadline: b.deadline,
        seen_at: time_text(record.seen_at),
        commitment,
        timeline,
        // Plain data: always serialises.
        message: serde_json::to_value(m).unwrap_or_default(),
    })
}

fn result_name(r: &corridor_light_client::receipt::ReceiptResult) -> &'static str {
    use corridor_light_client::receipt::ReceiptResult;
    match r {
        ReceiptResult::Delivered => "delivered",
        ReceiptResult::Expired => "expired",
        ReceiptResult::Rejected { .. } => "rejected",
    }
}

/// The filters of `GET /v1/messages`.
#[derive(Default)]
struct Filter {
    status: Option<Vec<Status>>,
    chain: Option<String>,
    channel: Option<u32>,
    counterparty: Option<PublicKey>,
    kind: Option<DocumentKind>,
    since: Option<Time>,
    until: Option<Time>,
    limit: Option<usize>,
    cursor: Option<Vec<u8>>,
}

fn query_pairs(raw: Option<&str>) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| ApiError::InvalidQuery {
                field: k.to_owned(),
                detail: "bad percent-encoding".into(),
            })
        };
        let (k, v) = (decode(k)?, decode(v)?);
        if out.insert(k.clone(), v).is_some() {
            return Err(ApiError::InvalidQuery {
                field: k,
                detail: "given twice".into(),
            });
        }
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn parse_filter(raw: Option<&str>, page_max: usize) -> Result<Filter, ApiError> {
    let mut f = Filter::default();
    let bad = |field: &str, detail: String| ApiError::InvalidQuery {
        field: field.into(),
        detail,
    };
    let secs = |field: &str, v: &str| {
        v.parse::<u64>()
            .ok()
            .and_then(Time::from_unix_secs)
            .ok_or_else(|| bad(field, format!("{v:?} is not a time in Unix seconds")))
    };
    for (k, v) in query_pairs(raw)? {
        match k.as_str() {
            "status" => {
                let mut list = Vec::new();
                for s in v.split(',') {
                    let status = Status::ALL
                        .into_iter()
                        .find(|x| x.as_str() == s)
                        .ok_or_else(|| {
                            bad(
                                "status",
                                format!(
                                    "{s:?} is not one of {}",
                                    Status::ALL.map(Status::as_str).join(", ")
                                ),
                            )
                        })?;
                    list.push(status);
                }
                f.status = Some(list);
            }
            "chain" => {
                corridor_light_client::ChainId::new(v.clone())
                    .map_err(|e| bad("chain", format!("{v:?} is not a chain id: {e}")))?;
                f.chain = Some(v);
            }
            "channel" => {
                f.channel = Some(
                    v.parse()
                        .map_err(|_| bad("channel", format!("{v:?} is not a channel number")))?,
                );
            }
            "counterparty" => {
                let key: [u8; 32] = hex::decode(&v)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| bad("counterparty", "is not a key (64 hex digits)".into()))?;
                f.counterparty = Some(PublicKey(key));
            }
            "kind" => {
                f.kind = Some(
                    DocumentKind::ALL
                        .into_iter()
                        .find(|x| x.as_str() == v)
                        .ok_or_else(|| bad("kind", format!("{v:?} is not a document kind")))?,
                );
            }
            "since" => f.since = Some(secs("since", &v)?),
            "until" => f.until = Some(secs("until", &v)?),
            "limit" => {
                let n: usize = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=page_max).contains(n))
                    .ok_or_else(|| bad("limit", format!("must be 1 to {page_max}")))?;
                f.limit = Some(n);
            }
            "cursor" => {
                f.cursor = Some(
                    hex::decode(&v)
                        .ok()
                        .filter(|c| c.len() == 40)
                        .ok_or_else(|| bad("cursor", "is not a cursor of this API".into()))?,
                );
            }
            other => return Err(bad(other, "is not a filter of this route".into())),
        }
    }
    Ok(f)
}

/// Messages a list request reads from the store at a time.
const LIST_CHUNK: usize = 256;
/// Most messages one list request examines (filters can make matches rare).
const LIST_BUDGET: usize = 10_000;

/// `GET /v1/messages`.
pub(super) async fn list(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Json<MessagePage>, ApiError> {
    let principal = api.caller(&headers)?;
    let f = parse_filter(query.as_deref(), api.limits.page_max)?;
    let limit = f.limit.unwrap_or(50.min(api.limits.page_max));
    let mut items = Vec::new();
    let mut next = None;
    // A trader's list is read from its own index; the operator's from the whole list. The
    // walk goes in chunks and examines at most LIST_BUDGET messages: past that, the page
    // ends early with a cursor where the walk stopped.
    let reader = match principal {
        Principal::Trader(k) => Some(k),
        Principal::Operator => None,
    };
    let mut after = f.cursor.clone();
    let mut examined = 0usize;
    let mut candidates = Vec::new().into_iter();
    loop {
        let Some((position, id)) = candidates.next() else {
            if examined >= LIST_BUDGET {
                next = after.as_ref().map(hex::encode);
                break;
            }
            let chunk = api
                .records
                .ids_after(reader.as_ref(), after.as_deref(), LIST_CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            candidates = chunk.into_iter();
            continue;
        };
        examined += 1;
        after = Some(position.clone());
        let Some(record) = api.records.message(&id)? else {
            continue;
        };
        let b = &record.message.message.body;
        if !principal.may_read(&b.sender, &b.receiver) {
            continue;
        }
        if f.since.is_some_and(|t| record.seen_at < t)
            || f.until.is_some_and(|t| record.seen_at > t)
        {
            continue;
        }
        if f.chain
            .as_ref()
            .is_some_and(|c| b.source_chain.as_str() != c && b.destination_chain.as_str() != c)
        {
            continue;
        }
        if f.channel.is_some_and(|c| b.channel != c) || f.kind.is_some_and(|k| b.kind != k) {
            continue;
        }
        if let Some(other) = &f.counterparty {
            let matches = match principal {
                Principal::Trader(me) => {
                    (b.sender == me && &b.receiver == other)
                        || (b.receiver == me && &b.sender == other)
                }
                Principal::Operator => &b.sender == other || &b.receiver == other,
            };
            if !matches {
                continue;
            }
        }
        let status = api.records.status(&record)?;
        if f.status.as_ref().is_some_and(|s| !s.contains(&status)) {
            continue;
        }
        if items.len() == limit {
            next = items
                .last()
                .map(|(p, _): &(Vec<u8>, MessageSummary)| hex::encode(p));
            break;
        }
        items.push((
            position,
            MessageSummary {
                id: record.id,
                status,
                source_chain: b.source_chain.clone(),
                destination_chain: b.destination_chain.clone(),
                channel: b.channel,
                sequence: record.message.sequence,
                sender: b.sender,
                receiver: b.receiver,
                kind: b.kind,
                seen_at: time_text(record.seen_at),
            },
        ));
    }
    Ok(Json(MessagePage {
        items: items.into_iter().map(|(_, s)| s).collect(),
        next,
    }))
}

/// `GET /v1/chains`.
pub(super) async fn chains(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
) -> Result<Json<Vec<ChainView>>, ApiError> {
    api.caller(&headers)?;
    let now = now();
    let chains = api.chains.borrow().clone();
    Ok(Json(
        chains
            .into_iter()
            .map(|c| ChainView {
                lag: c
                    .head_height
                    .zip(c.trusted_height)
                    .map(|(h, t)| h.0.saturating_sub(t.0)),
                trust_expires_in_secs: c
                    .trusted_until
                    .map(|u| u.saturating_duration_since(now).as_secs()),
                frozen: c.frozen.is_some(),
                frozen_reason: c.frozen,
                trusted_time: c.trusted_time.map(time_text),
                chain: c.chain,
                home: c.home,
                family: c.family,
                trust: c.trust,
                trusted_height: c.trusted_height,
                head_height: c.head_height,
            })
            .collect(),
    ))
}

/// `GET /v1/openapi.json`.
pub(super) async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// `GET /`: the tracking page, under a policy that lets it run only its own script.
pub(super) async fn page(State(api): State<Arc<Api>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, api.page_policy.as_str()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        super::PAGE,
    )
        .into_response()
}

/// `GET /v1/messages/{id}/evidence`: assembled from the message's two chains (see
/// [`super::evidence`]), and verified before it is served.
pub(super) async fn evidence(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    use super::evidence::{build, verify, EvidenceError};
    let principal = api.caller(&headers)?;
    let id = parse_id(&id)?;
    let record = readable(&api, &principal, &id)?;
    let b = &record.message.message.body;
    let reader = |chain: &corridor_light_client::ChainId| {
        api.readers.get(chain).cloned().ok_or_else(|| {
            ApiError::EvidenceUnavailable(format!(
                "this relay reads no RPC of {chain}: ask a relay that does, or assemble it with `corridor evidence get`"
            ))
        })
    };
    let (source, destination) = (reader(&b.source_chain)?, reader(&b.destination_chain)?);
    let unavailable = |e: EvidenceError| ApiError::EvidenceUnavailable(e.to_string());
    let file = build(&source, &destination, &api.trust_roots, id, now())
        .await
        .map_err(unavailable)?;
    verify(&file, &api.trust_roots).map_err(unavailable)?;
    let disposition = format!("attachment; filename=\"evidence-{id}.json\"");
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(file)).into_response())
}
