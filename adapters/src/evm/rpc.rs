//! Ethereum JSON-RPC over HTTP: the envelope, quantities and data in `0x` hex, and the
//! mapping of JSON-RPC errors onto [`AdapterError`].

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::error::AdapterError;
use crate::http::Http;
use crate::retry::{retry, RetryPolicy};

/// A JSON-RPC error object.
#[derive(Debug, Deserialize)]
struct RpcError {
    code: i64,
    message: String,
    #[serde(default)]
    data: Option<Json>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    result: Option<Json>,
    #[serde(default)]
    error: Option<RpcError>,
}

/// The JSON-RPC error code of a reverted call (`eth_call`, `eth_estimateGas`).
const EXECUTION_REVERTED: i64 = 3;
/// The selector of Solidity's `Error(string)`.
const ERROR_STRING_SELECTOR: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];

/// A JSON-RPC client of one endpoint.
#[derive(Clone, Debug)]
pub(crate) struct Rpc {
    http: Http,
    retry: RetryPolicy,
}

impl Rpc {
    pub(crate) fn new(http: Http, retry: RetryPolicy) -> Self {
        Self { http, retry }
    }

    pub(crate) fn set_retry(&mut self, retry: RetryPolicy) {
        self.retry = retry;
    }

    pub(crate) fn chain(&self) -> &str {
        self.http.chain()
    }

    pub(crate) fn invalid(&self, method: &str, reason: impl Into<String>) -> AdapterError {
        AdapterError::InvalidResponse {
            chain: self.chain().to_owned(),
            endpoint: method.to_owned(),
            reason: reason.into(),
        }
    }

    /// Calls `method` with `params`, retrying transient failures; returns `result` (which
    /// may be `null`).
    pub(crate) async fn call(&self, method: &str, params: Json) -> Result<Json, AdapterError> {
        retry(&self.retry, method, || {
            self.call_once(method, params.clone())
        })
        .await
    }

    /// Calls `method` once, without retry (for sends, which must not be repeated blindly).
    pub(crate) async fn call_once(&self, method: &str, params: Json) -> Result<Json, AdapterError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let answer = self.http.post("", &body).await?;
        match serde_json::from_slice::<Envelope>(&answer.body) {
            Ok(Envelope { error: Some(e), .. }) => Err(self.rpc_error(method, e)),
            Ok(Envelope {
                result: Some(r), ..
            }) => Ok(r),
            Ok(Envelope { result: None, .. }) if (200..300).contains(&answer.status) => {
                Ok(Json::Null)
            }
            _ if !(200..300).contains(&answer.status) => {
                Err(self.http.status_error(method, &answer))
            }
            Ok(_) => Err(self.invalid(method, "neither result nor error")),
            Err(e) => Err(self.invalid(method, e.to_string())),
        }
    }

    fn rpc_error(&self, method: &str, e: RpcError) -> AdapterError {
        if e.code == EXECUTION_REVERTED {
            let reason = e
                .data
                .as_ref()
                .and_then(Json::as_str)
                .and_then(|d| hex::decode(d.trim_start_matches("0x")).ok())
                .and_then(|d| revert_reason(&d))
                .unwrap_or_else(|| e.message.clone());
            return AdapterError::Rejected {
                chain: self.chain().to_owned(),
                problem: "reverted".into(),
                status: 200,
                detail: reason,
            };
        }
        AdapterError::Rejected {
            chain: self.chain().to_owned(),
            problem: format!("jsonrpc{}", e.code),
            status: 200,
            detail: format!("{method}: {}", e.message),
        }
    }
}

/// The reason string of Solidity's `Error(string)` revert data, if that is what it is.
pub(crate) fn revert_reason(data: &[u8]) -> Option<String> {
    let body = data.strip_prefix(&ERROR_STRING_SELECTOR[..])?;
    let len_word = body.get(32..64)?;
    if len_word.get(..24)?.iter().any(|&b| b != 0) {
        return None;
    }
    let len = usize::try_from(u64::from_be_bytes(len_word.get(24..)?.try_into().ok()?)).ok()?;
    let text = body.get(64..64usize.checked_add(len)?)?;
    String::from_utf8(text.to_vec()).ok()
}

/// `0x` hex of a quantity.
pub(crate) fn quantity(v: u64) -> String {
    format!("{v:#x}")
}

/// `0x` hex of data.
pub(crate) fn data(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Reads a quantity field that fits a `u64`.
pub(crate) fn u64_field(obj: &Json, field: &str) -> Result<u64, String> {
    let s = obj
        .get(field)
        .and_then(Json::as_str)
        .ok_or_else(|| format!("{field}: missing or not a string"))?;
    parse_u64(s).ok_or_else(|| format!("{field}: {s:?} is not a hex quantity of 64 bits"))
}

/// Parses a `0x` hex quantity of at most 64 bits.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    let digits = s.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// Reads a data field.
pub(crate) fn bytes_field(obj: &Json, field: &str) -> Result<Vec<u8>, String> {
    let s = obj
        .get(field)
        .and_then(Json::as_str)
        .ok_or_else(|| format!("{field}: missing or not a string"))?;
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| format!("{field}: no 0x prefix"))?;
    hex::decode(digits).map_err(|e| format!("{field}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revert_reasons_are_read() {
        // Error("replay")
        let mut d = ERROR_STRING_SELECTOR.to_vec();
        d.extend([0u8; 31]);
        d.push(32);
        d.extend([0u8; 31]);
        d.push(6);
        d.extend(b"replay");
        d.extend([0u8; 26]);
        assert_eq!(revert_reason(&d).as_deref(), Some("replay"));
        assert_eq!(revert_reason(&d[..40]), None);
        assert_eq!(revert_reason(&[1, 2, 3, 4]), None);
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_u64("0x1a"), Some(26));
        assert_eq!(parse_u64("0x"), None);
        assert_eq!(parse_u64("1a"), None);
        assert_eq!(parse_u64("0x10000000000000000"), None);
        assert_eq!(quantity(26), "0x1a");
    }
}
