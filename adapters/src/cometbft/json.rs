//! The parts of a CometBFT node's JSON-RPC answers that belong to the RPC, not to the
//! chain's data: the JSON-RPC envelope and its error, `/status`'s `node_info` and
//! `sync_info`, `/validators`' paging fields, `/abci_query`'s response.
//!
//! The chain's data inside them (signed headers, validators, times) is left as
//! [`serde_json::Value`] and parsed by the light client's parsers
//! ([`corridor_light_client::cometbft::json`]), so the adapter and the light client read
//! CometBFT's JSON one way. Unknown fields are ignored (nodes of several versions add
//! fields); 64-bit integers are decimal strings, bytes base64.

use base64::Engine as _;
use corridor_light_client::Height;
use serde::Deserialize;
use serde_json::Value;

use super::{AbciQuery, ProofOp};

/// A JSON-RPC 2.0 response.
#[derive(Deserialize)]
pub(super) struct Envelope<T> {
    pub(super) result: Option<T>,
    pub(super) error: Option<RpcError>,
}

/// A JSON-RPC error object.
#[derive(Deserialize)]
pub(super) struct RpcError {
    pub(super) code: i64,
    pub(super) message: String,
    #[serde(default)]
    pub(super) data: Option<String>,
}

/// `/status`.
#[derive(Deserialize)]
pub(super) struct StatusResult {
    pub(super) node_info: NodeInfo,
    pub(super) sync_info: SyncInfo,
}

#[derive(Deserialize)]
pub(super) struct NodeInfo {
    pub(super) network: String,
}

#[derive(Deserialize)]
pub(super) struct SyncInfo {
    pub(super) latest_block_hash: String,
    pub(super) latest_block_height: String,
    pub(super) latest_block_time: String,
}

/// `/commit`: the signed header is the light client's to parse.
#[derive(Deserialize)]
pub(super) struct CommitResult {
    pub(super) signed_header: Value,
}

/// One page of `/validators`: the validators are the light client's to parse.
#[derive(Deserialize)]
pub(super) struct ValidatorsResult {
    pub(super) validators: Value,
    /// Validators on this page.
    pub(super) count: String,
    /// Validators in the whole set.
    pub(super) total: String,
}

/// `/abci_query`.
#[derive(Deserialize)]
pub(super) struct AbciQueryResult {
    response: AbciResponseJson,
}

#[derive(Deserialize)]
struct AbciResponseJson {
    #[serde(default)]
    code: u32,
    #[serde(default)]
    log: String,
    #[serde(default)]
    codespace: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default, rename = "proofOps", alias = "proof_ops")]
    proof_ops: Option<ProofOpsJson>,
    #[serde(default)]
    height: Option<String>,
}

#[derive(Deserialize)]
struct ProofOpsJson {
    #[serde(default)]
    ops: Vec<ProofOpJson>,
}

#[derive(Deserialize)]
struct ProofOpJson {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    data: Option<String>,
}

/// Parses a decimal-string integer of the RPC's own fields.
pub(super) fn int(field: &str, s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|e| format!("{field}: {s:?} is not an integer: {e}"))
}

/// Parses optional base64: absent or empty is no bytes.
fn base64_bytes(field: &str, v: Option<&str>) -> Result<Vec<u8>, String> {
    match v {
        None | Some("") => Ok(Vec::new()),
        Some(s) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| format!("{field}: not base64: {e}")),
    }
}

impl AbciQueryResult {
    /// Converts, naming the field that does not parse.
    pub(super) fn parse(&self) -> Result<AbciQuery, String> {
        let r = &self.response;
        let mut proof_ops = Vec::new();
        for (i, op) in r.proof_ops.iter().flat_map(|p| &p.ops).enumerate() {
            let field = format!("response.proofOps.ops[{i}]");
            proof_ops.push(ProofOp {
                kind: op.kind.clone(),
                key: base64_bytes(&format!("{field}.key"), op.key.as_deref())?,
                data: base64_bytes(&format!("{field}.data"), op.data.as_deref())?,
            });
        }
        Ok(AbciQuery {
            code: r.code,
            log: r.log.clone(),
            codespace: r.codespace.clone(),
            key: base64_bytes("response.key", r.key.as_deref())?,
            value: base64_bytes("response.value", r.value.as_deref())?,
            height: Height(
                r.height
                    .as_deref()
                    .map(|h| int("response.height", h))
                    .transpose()?
                    .unwrap_or(0),
            ),
            proof_ops,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_fields_are_named() {
        let err = int("total", "ten").unwrap_err();
        assert!(err.starts_with("total: \"ten\" is not an integer"), "{err}");
        let q: AbciQueryResult = serde_json::from_str(
            r#"{"response": {"code": 0, "key": "AQ==", "value": "",
                "proofOps": {"ops": [{"type": "ics23:iavl", "key": "AQ==", "data": "*"}]},
                "height": "7"}}"#,
        )
        .unwrap();
        let err = q.parse().unwrap_err();
        assert!(
            err.starts_with("response.proofOps.ops[0].data: not base64"),
            "{err}"
        );
    }
}
