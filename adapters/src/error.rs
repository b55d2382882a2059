//! The adapters' error type.
//!
//! Every variant names the chain (its id, or the endpoint when the id is not known yet) and
//! what was asked, so a log line or an alert says which chain misbehaved and how.
//! [`AdapterError::is_transient`] says what [`crate::retry`] may retry: an endpoint that
//! could not be reached or answered "busy" may do better later; a chain that rejected a
//! delivery, or an answer that does not parse, will not.

/// Why an adapter call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// No answer: connection refused or reset, or a timeout. Transient.
    #[error("{chain}: endpoint {endpoint} unreachable: {reason}")]
    Unreachable {
        /// Chain (or endpoint) asked.
        chain: String,
        /// URL or operation.
        endpoint: String,
        /// What the transport said.
        reason: String,
    },
    /// The endpoint answered that it cannot serve now (HTTP 5xx, 429). Transient.
    #[error("{chain}: {endpoint} unavailable (HTTP {status}): {detail}")]
    Unavailable {
        /// Chain asked.
        chain: String,
        /// URL or operation.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The endpoint's explanation.
        detail: String,
    },
    /// The chain has no such thing (a height above its tip, or withheld).
    #[error("{chain}: {what} not found")]
    NotFound {
        /// Chain asked.
        chain: String,
        /// What was missing, e.g. `light block at height 12`.
        what: String,
    },
    /// The answer did not parse, or contradicts the request (wrong height, wrong chain).
    #[error("{chain}: invalid response from {endpoint}: {reason}")]
    InvalidResponse {
        /// Chain asked.
        chain: String,
        /// URL or operation.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The chain refused the request (a bad transaction or delivery).
    #[error("{chain}: rejected ({problem}, HTTP {status}): {detail}")]
    Rejected {
        /// Chain asked.
        chain: String,
        /// Machine-readable reason, such as `duplicate` or `invalid-proof`.
        problem: String,
        /// HTTP status.
        status: u16,
        /// Human-readable detail.
        detail: String,
    },
    /// The chain family or endpoint cannot do this at all.
    #[error("{chain}: {operation} is not supported by {family} chains: {reason}")]
    Unsupported {
        /// Chain asked.
        chain: String,
        /// Family of the adapter.
        family: &'static str,
        /// The operation.
        operation: &'static str,
        /// Why.
        reason: &'static str,
    },
}

impl AdapterError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Unavailable { .. })
    }

    /// The problem name of a [`Self::Rejected`] error, if it is one.
    pub fn problem(&self) -> Option<&str> {
        match self {
            Self::Rejected { problem, .. } => Some(problem),
            _ => None,
        }
    }
}
