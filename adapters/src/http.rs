//! The HTTP plumbing the adapters share: one `reqwest` client per adapter with timeouts,
//! bounded response bodies, and the mapping of transport failures and HTTP statuses onto
//! [`AdapterError`].

use core::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::AdapterError;

/// Largest response body an adapter reads, bytes (a devnet chain checks at config load
/// that its largest page fits).
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// Timeout of one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of connecting.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A response read to the end: status and body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// An HTTP client bound to one endpoint.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    chain: String,
    base: String,
    client: reqwest::Client,
    /// `Authorization` header sent with every request (marked sensitive: never printed).
    authorization: Option<reqwest::header::HeaderValue>,
}

impl Http {
    /// A client of `base` (e.g. `http://127.0.0.1:26701`), labelled `chain` in errors.
    pub(crate) fn new(chain: &str, base: &str) -> Result<Self, AdapterError> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| AdapterError::Unreachable {
                chain: chain.to_owned(),
                endpoint: base.to_owned(),
                reason: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(Self {
            chain: chain.to_owned(),
            base: base.trim_end_matches('/').to_owned(),
            client,
            authorization: None,
        })
    }

    /// The same client, sending `Authorization: Bearer <token>` with every request.
    pub(crate) fn with_bearer(mut self, token: &str) -> Result<Self, AdapterError> {
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| AdapterError::InvalidResponse {
                chain: self.chain.clone(),
                endpoint: self.base.clone(),
                reason: "the bearer token is not a valid header value".into(),
            })?;
        value.set_sensitive(true);
        self.authorization = Some(value);
        Ok(self)
    }

    /// The label used in errors.
    pub(crate) fn chain(&self) -> &str {
        &self.chain
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GETs `path`.
    pub(crate) async fn get(&self, path: &str) -> Result<Answer, AdapterError> {
        let url = self.url(path);
        let request = self.client.get(&url);
        self.send(&url, request).await
    }

    /// POSTs `body` as JSON to `path`.
    pub(crate) async fn post<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<Answer, AdapterError> {
        let url = self.url(path);
        let request = self.client.post(&url).json(body);
        self.send(&url, request).await
    }

    async fn send(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, AdapterError> {
        let request = match &self.authorization {
            Some(value) => request.header(reqwest::header::AUTHORIZATION, value.clone()),
            None => request,
        };
        let unreachable = |e: reqwest::Error| AdapterError::Unreachable {
            chain: self.chain.clone(),
            endpoint: url.to_owned(),
            reason: e.to_string(),
        };
        let mut response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        if response
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
        {
            return Err(self.too_large(url));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len().saturating_add(chunk.len()) > MAX_RESPONSE_BYTES {
                return Err(self.too_large(url));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, body })
    }

    fn too_large(&self, url: &str) -> AdapterError {
        AdapterError::InvalidResponse {
            chain: self.chain.clone(),
            endpoint: url.to_owned(),
            reason: format!("response larger than {MAX_RESPONSE_BYTES} bytes"),
        }
    }

    /// Parses a JSON body.
    pub(crate) fn parse<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &[u8],
    ) -> Result<T, AdapterError> {
        serde_json::from_slice(body).map_err(|e| AdapterError::InvalidResponse {
            chain: self.chain.clone(),
            endpoint: self.url(path),
            reason: e.to_string(),
        })
    }

    /// The error for a response with a non-success status that is not a problem document.
    pub(crate) fn status_error(&self, path: &str, answer: &Answer) -> AdapterError {
        let detail = String::from_utf8_lossy(&answer.body)
            .chars()
            .take(512)
            .collect::<String>();
        match answer.status {
            404 => AdapterError::NotFound {
                chain: self.chain.clone(),
                what: format!("{path}: {detail}"),
            },
            429 | 500..=599 => AdapterError::Unavailable {
                chain: self.chain.clone(),
                endpoint: self.url(path),
                status: answer.status,
                detail,
            },
            status => AdapterError::Rejected {
                chain: self.chain.clone(),
                problem: format!("http-{status}"),
                status,
                detail,
            },
        }
    }
}
