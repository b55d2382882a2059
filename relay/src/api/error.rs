//! Every refusal of the trader API, as an `application/problem+json` document (RFC 9457).
//!
//! `type` is `urn:corridor:problem:<name>` with `<name>` one of [`ApiError::problem`],
//! stable per cause; `detail` says what exactly is wrong and `field`, when the cause is one
//! field of the request, names it (`body.payload.goods[0].hs_code`, `signature`, the query
//! parameter). Details never quote a payload or a party's name.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use corridor_adapters::devnet::PROBLEM_PREFIX;
use corridor_relay_core::store::StoreError;
use serde::{Deserialize, Serialize};

/// Why the API refused a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not the JSON the route takes.
    #[error("{detail}")]
    MalformedJson {
        /// Where in the body (`body.nonce`), or `body` for the whole.
        field: String,
        /// What the parser said.
        detail: String,
    },
    /// The request body is over the API's limit.
    #[error("the request body is over the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The payload is over the envelope's limit.
    #[error("body.payload is {len} bytes, over the limit of {max}")]
    PayloadTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The trader's signature does not verify under the sender key.
    #[error("{field} does not verify under the sender's key")]
    BadSignature {
        /// `signature`.
        field: String,
    },
    /// A field of the envelope breaks a rule (version, chains, payload hash).
    #[error("{field}: {detail}")]
    InvalidMessage {
        /// The field.
        field: String,
        /// What is wrong.
        detail: String,
    },
    /// The document in the payload lacks a field or has a malformed one (TRADE-DOCS.md).
    #[error("{field}: {detail}")]
    InvalidDocument {
        /// `body.payload.<path>`.
        field: String,
        /// What is wrong.
        detail: String,
    },
    /// A chain this relay does not serve (source) or follow (destination).
    #[error("{field} {chain} is not a chain this relay {role}")]
    UnknownChain {
        /// The field naming it.
        field: String,
        /// The chain id given.
        chain: String,
        /// "submits to" or "follows".
        role: &'static str,
    },
    /// The source chain does not know the sender as a trader.
    #[error("body.sender {sender} is not a registered trader of {chain}")]
    UnregisteredTrader {
        /// The sender key (hex).
        sender: String,
        /// The source chain.
        chain: String,
    },
    /// The deadline has passed on the destination.
    #[error("body.deadline passed: {detail}")]
    DeadlinePassed {
        /// Which deadline and the destination's state.
        detail: String,
    },
    /// Too many requests from one trader.
    #[error("too many requests from this trader: try again in {} s", retry_after.as_secs())]
    RateLimited {
        /// When a request will be taken again.
        retry_after: Duration,
    },
    /// No credential given.
    #[error("this route needs a credential: Authorization: Bearer <token> (POST /v1/tokens)")]
    Unauthenticated,
    /// The credential given is not valid (unknown, expired, malformed or a bad signature).
    #[error("{0}")]
    InvalidCredential(String),
    /// The credential is valid but may not read this.
    #[error("message {0} is neither sent by nor addressed to this trader")]
    Forbidden(String),
    /// Nothing with this id.
    #[error("{0} not found")]
    NotFound(String),
    /// A query parameter or path segment does not parse.
    #[error("{field}: {detail}")]
    InvalidQuery {
        /// The parameter.
        field: String,
        /// What is wrong.
        detail: String,
    },
    /// The source chain cannot be reached now.
    #[error("chain {chain} is unavailable: {detail}")]
    ChainUnavailable {
        /// The chain.
        chain: String,
        /// Why.
        detail: String,
    },
    /// The source chain refused the message for a reason the API does not check itself.
    #[error("chain {chain} refused the message ({problem}): {detail}")]
    ChainRefused {
        /// The chain.
        chain: String,
        /// The chain's problem name.
        problem: String,
        /// The chain's detail.
        detail: String,
    },
    /// The evidence file cannot be assembled (yet).
    #[error("{0}")]
    EvidenceUnavailable(String),
    /// Every event stream slot is taken.
    #[error("{0} event streams are open, the most this relay serves: try again later")]
    TooManyStreams(usize),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A record of the store does not decode.
    #[error("store record {key} does not decode: {reason}")]
    Corrupt {
        /// Which.
        key: String,
        /// Why.
        reason: String,
    },
}

/// Every problem name the API answers with, for the OpenAPI document and the tests.
pub const PROBLEMS: [&str; 21] = [
    "malformed-json",
    "body-too-large",
    "payload-too-large",
    "bad-signature",
    "invalid-message",
    "invalid-document",
    "unknown-chain",
    "unregistered-trader",
    "deadline-passed",
    "rate-limited",
    "unauthenticated",
    "invalid-credential",
    "forbidden",
    "not-found",
    "invalid-query",
    "chain-unavailable",
    "chain-refused",
    "store-failure",
    "method-not-allowed",
    "too-many-streams",
    "evidence-unavailable",
];

impl ApiError {
    /// The problem name (the last part of `type`).
    pub fn problem(&self) -> &'static str {
        match self {
            Self::MalformedJson { .. } => "malformed-json",
            Self::BodyTooLarge { .. } => "body-too-large",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::BadSignature { .. } => "bad-signature",
            Self::InvalidMessage { .. } => "invalid-message",
            Self::InvalidDocument { .. } => "invalid-document",
            Self::UnknownChain { .. } => "unknown-chain",
            Self::UnregisteredTrader { .. } => "unregistered-trader",
            Self::DeadlinePassed { .. } => "deadline-passed",
            Self::RateLimited { .. } => "rate-limited",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredential(_) => "invalid-credential",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::InvalidQuery { .. } => "invalid-query",
            Self::ChainUnavailable { .. } => "chain-unavailable",
            Self::ChainRefused { .. } => "chain-refused",
            Self::TooManyStreams(_) => "too-many-streams",
            Self::EvidenceUnavailable(_) => "evidence-unavailable",
            Self::Store(_) | Self::Corrupt { .. } => "store-failure",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedJson { .. } | Self::InvalidQuery { .. } => StatusCode::BAD_REQUEST,
            Self::BodyTooLarge { .. } | Self::PayloadTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::BadSignature { .. } | Self::Unauthenticated | Self::InvalidCredential(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::UnregisteredTrader { .. } | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::EvidenceUnavailable(_) => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ChainUnavailable { .. } | Self::TooManyStreams(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Store(_) | Self::Corrupt { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            Self::InvalidMessage { .. }
            | Self::InvalidDocument { .. }
            | Self::UnknownChain { .. }
            | Self::DeadlinePassed { .. }
            | Self::ChainRefused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// The request field at fault, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::MalformedJson { field, .. }
            | Self::BadSignature { field }
            | Self::InvalidMessage { field, .. }
            | Self::InvalidDocument { field, .. }
            | Self::UnknownChain { field, .. }
            | Self::InvalidQuery { field, .. } => Some(field),
            Self::PayloadTooLarge { .. } => Some("body.payload"),
            Self::UnregisteredTrader { .. } => Some("body.sender"),
            Self::DeadlinePassed { .. } => Some("body.deadline"),
            _ => None,
        }
    }

    /// The problem document.
    pub fn to_problem(&self) -> ProblemDocument {
        let status = self.status();
        let name = self.problem();
        ProblemDocument::new(name, status.as_u16(), self.to_string(), self.field())
    }
}

/// An RFC 9457 problem document, with the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemDocument {
    /// `urn:corridor:problem:<name>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The name, in words.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What exactly is wrong.
    pub detail: String,
    /// The request field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ProblemDocument {
    /// A problem from its name, status, detail and field.
    pub fn new(name: &str, status: u16, detail: String, field: Option<&str>) -> Self {
        Self {
            kind: format!("{PROBLEM_PREFIX}{name}"),
            title: name.replace('-', " "),
            status,
            detail,
            field: field.map(str::to_owned),
        }
    }

    /// The response.
    pub fn response(&self, status: StatusCode) -> Response {
        // A problem document is plain strings and numbers: it always serialises.
        let body = serde_json::to_vec(self).unwrap_or_default();
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            body,
        )
            .into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, Self::Store(_) | Self::Corrupt { .. }) {
            tracing::error!(error = %self, "trader API: store failure");
        }
        let mut response = self.to_problem().response(self.status());
        match &self {
            Self::RateLimited { retry_after } => {
                let secs = retry_after.as_secs().max(1);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            Self::TooManyStreams(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(5u64));
            }
            Self::Unauthenticated | Self::InvalidCredential(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"corridor\""),
                );
            }
            _ => {}
        }
        response
    }
}
