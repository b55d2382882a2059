//! CometBFT RPC JSON shapes, private to the adapter, and their conversion into the
//! adapter's parsed types ([`super::types`]).
//!
//! Only the fields the adapter needs are read; unknown fields are ignored (nodes of several
//! versions add fields). Conventions (../shared/vectors/README.md): 64-bit integers are
//! decimal strings, hashes and addresses upper-case hex, keys and signatures base64, the
//! part-set header is `parts` or `part_set_header`.

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::time::parse_rfc3339;
use super::types::{
    AbciQuery, BlockId, BlockIdFlag, Commit, CommitSig, Header, ProofOp, SignedHeader, Validator,
};
use corridor_light_client::signature::PublicKey;
use corridor_light_client::{ChainId, Height, Time};

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

#[derive(Deserialize)]
pub(super) struct CommitResult {
    pub(super) signed_header: SignedHeaderJson,
}

#[derive(Deserialize)]
pub(super) struct SignedHeaderJson {
    header: HeaderJson,
    commit: CommitJson,
}

#[derive(Deserialize)]
struct VersionJson {
    block: String,
    #[serde(default)]
    app: Option<String>,
}

#[derive(Deserialize)]
struct HeaderJson {
    version: VersionJson,
    chain_id: String,
    height: String,
    time: String,
    last_block_id: Option<BlockIdJson>,
    last_commit_hash: String,
    data_hash: String,
    validators_hash: String,
    next_validators_hash: String,
    consensus_hash: String,
    app_hash: String,
    last_results_hash: String,
    evidence_hash: String,
    proposer_address: String,
}

#[derive(Deserialize)]
struct BlockIdJson {
    hash: String,
    #[serde(alias = "part_set_header")]
    parts: PartsJson,
}

#[derive(Deserialize)]
struct PartsJson {
    total: u32,
    hash: String,
}

#[derive(Deserialize)]
struct CommitJson {
    height: String,
    round: u32,
    block_id: BlockIdJson,
    signatures: Option<Vec<CommitSigJson>>,
}

#[derive(Deserialize)]
struct CommitSigJson {
    block_id_flag: u8,
    validator_address: String,
    timestamp: String,
    signature: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ValidatorsResult {
    pub(super) validators: Vec<ValidatorJson>,
    pub(super) total: String,
}

#[derive(Deserialize)]
pub(super) struct ValidatorJson {
    address: String,
    pub_key: PubKeyJson,
    voting_power: String,
    #[serde(default)]
    proposer_priority: Option<String>,
}

#[derive(Deserialize)]
struct PubKeyJson {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

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

/// Parses a decimal-string integer.
pub(super) fn int(field: &str, s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|e| format!("{field}: {s:?} is not an integer: {e}"))
}

fn signed_int(field: &str, s: &str) -> Result<i64, String> {
    s.parse::<i64>()
        .map_err(|e| format!("{field}: {s:?} is not an integer: {e}"))
}

/// Parses hex (either case); an empty string is no bytes.
pub(super) fn hex_bytes(field: &str, s: &str) -> Result<Vec<u8>, String> {
    hex::decode(s).map_err(|e| format!("{field}: {s:?} is not hex: {e}"))
}

fn base64_bytes(field: &str, s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("{field}: not base64: {e}"))
}

fn time(field: &str, s: &str) -> Result<Time, String> {
    parse_rfc3339(s).map_err(|e| format!("{field}: {e}"))
}

fn block_id(field: &str, b: &BlockIdJson) -> Result<BlockId, String> {
    Ok(BlockId {
        hash: hex_bytes(&format!("{field}.hash"), &b.hash)?,
        part_set_total: b.parts.total,
        part_set_hash: hex_bytes(&format!("{field}.parts.hash"), &b.parts.hash)?,
    })
}

impl SignedHeaderJson {
    /// Converts, checking every field's form.
    pub(super) fn parse(&self) -> Result<SignedHeader, String> {
        let h = &self.header;
        let chain_id =
            ChainId::new(h.chain_id.clone()).map_err(|e| format!("header.chain_id: {e}"))?;
        let last_block_id = match &h.last_block_id {
            Some(b) if !b.hash.is_empty() => Some(block_id("header.last_block_id", b)?),
            _ => None,
        };
        let header = Header {
            version_block: int("header.version.block", &h.version.block)?,
            version_app: h
                .version
                .app
                .as_deref()
                .map(|a| int("header.version.app", a))
                .transpose()?
                .unwrap_or(0),
            chain_id,
            height: Height(int("header.height", &h.height)?),
            time: time("header.time", &h.time)?,
            last_block_id,
            last_commit_hash: hex_bytes("header.last_commit_hash", &h.last_commit_hash)?,
            data_hash: hex_bytes("header.data_hash", &h.data_hash)?,
            validators_hash: hex_bytes("header.validators_hash", &h.validators_hash)?,
            next_validators_hash: hex_bytes(
                "header.next_validators_hash",
                &h.next_validators_hash,
            )?,
            consensus_hash: hex_bytes("header.consensus_hash", &h.consensus_hash)?,
            app_hash: hex_bytes("header.app_hash", &h.app_hash)?,
            last_results_hash: hex_bytes("header.last_results_hash", &h.last_results_hash)?,
            evidence_hash: hex_bytes("header.evidence_hash", &h.evidence_hash)?,
            proposer_address: hex_bytes("header.proposer_address", &h.proposer_address)?,
        };
        let c = &self.commit;
        let mut signatures = Vec::new();
        for (i, s) in c.signatures.iter().flatten().enumerate() {
            let field = format!("commit.signatures[{i}]");
            let flag = match s.block_id_flag {
                1 => BlockIdFlag::Absent,
                2 => BlockIdFlag::Commit,
                3 => BlockIdFlag::Nil,
                other => return Err(format!("{field}.block_id_flag: unknown value {other}")),
            };
            let signature = match s.signature.as_deref() {
                None | Some("") => None,
                Some(sig) => {
                    let bytes = base64_bytes(&format!("{field}.signature"), sig)?;
                    if bytes.len() != 64 {
                        return Err(format!("{field}.signature: {} bytes, not 64", bytes.len()));
                    }
                    Some(bytes)
                }
            };
            if flag != BlockIdFlag::Absent && signature.is_none() {
                return Err(format!("{field}: a vote without a signature"));
            }
            signatures.push(CommitSig {
                flag,
                validator_address: hex_bytes(
                    &format!("{field}.validator_address"),
                    &s.validator_address,
                )?,
                // Absent votes carry the zero time (year 1), before the epoch.
                timestamp: parse_rfc3339(&s.timestamp).ok(),
                signature,
            });
        }
        let commit = Commit {
            height: Height(int("commit.height", &c.height)?),
            round: c.round,
            block_id: block_id("commit.block_id", &c.block_id)?,
            signatures,
        };
        Ok(SignedHeader { header, commit })
    }
}

impl ValidatorJson {
    /// Converts, checking that the address is the first 20 bytes of SHA-256 of the key.
    pub(super) fn parse(&self, field: &str) -> Result<Validator, String> {
        if self.pub_key.kind != "tendermint/PubKeyEd25519" {
            return Err(format!(
                "{field}.pub_key.type: {:?} is not an ed25519 key",
                self.pub_key.kind
            ));
        }
        let key = base64_bytes(&format!("{field}.pub_key.value"), &self.pub_key.value)?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|k: Vec<u8>| format!("{field}.pub_key.value: {} bytes, not 32", k.len()))?;
        let address = hex_bytes(&format!("{field}.address"), &self.address)?;
        let expected = &Sha256::digest(key)[..20];
        if address != expected {
            return Err(format!(
                "{field}.address {} is not the address of its key ({})",
                self.address,
                hex::encode_upper(expected)
            ));
        }
        let mut addr = [0u8; 20];
        addr.copy_from_slice(expected);
        let voting_power = int(&format!("{field}.voting_power"), &self.voting_power)?;
        let proposer_priority = self
            .proposer_priority
            .as_deref()
            .map(|p| signed_int(&format!("{field}.proposer_priority"), p))
            .transpose()?
            .unwrap_or(0);
        Ok(Validator {
            address: addr,
            pub_key: PublicKey(key),
            voting_power,
            proposer_priority,
        })
    }
}

impl AbciQueryResult {
    /// Converts.
    pub(super) fn parse(&self) -> Result<AbciQuery, String> {
        let r = &self.response;
        let opt_b64 = |field: &str, v: &Option<String>| -> Result<Vec<u8>, String> {
            match v.as_deref() {
                None | Some("") => Ok(Vec::new()),
                Some(s) => base64_bytes(field, s),
            }
        };
        let mut proof_ops = Vec::new();
        for (i, op) in r.proof_ops.iter().flat_map(|p| &p.ops).enumerate() {
            proof_ops.push(ProofOp {
                kind: op.kind.clone(),
                key: opt_b64(&format!("response.proofOps.ops[{i}].key"), &op.key)?,
                data: opt_b64(&format!("response.proofOps.ops[{i}].data"), &op.data)?,
            });
        }
        Ok(AbciQuery {
            code: r.code,
            log: r.log.clone(),
            codespace: r.codespace.clone(),
            key: opt_b64("response.key", &r.key)?,
            value: opt_b64("response.value", &r.value)?,
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

    const VALIDATOR: &str = r#"{
        "address": "2DD9F44FD9067555C322243C3C913BA7B51D2BE0",
        "pub_key": {"type": "tendermint/PubKeyEd25519",
                    "value": "bNNlGls5R25wC3Sd8720F/3+7IZBhXcD22MNFtPk/v0="},
        "voting_power": "10", "proposer_priority": "-5"}"#;

    #[test]
    fn validator_address_is_checked() {
        let v: ValidatorJson = serde_json::from_str(VALIDATOR).unwrap();
        let parsed = v.parse("validators[0]").unwrap();
        assert_eq!(parsed.voting_power, 10);
        assert_eq!(parsed.proposer_priority, -5);
        let wrong = VALIDATOR.replace("2DD9F44F", "2DD9F44E");
        let v: ValidatorJson = serde_json::from_str(&wrong).unwrap();
        let err = v.parse("validators[0]").unwrap_err();
        assert!(err.contains("validators[0].address"), "{err}");
        let secp = VALIDATOR.replace("PubKeyEd25519", "PubKeySecp256k1");
        let v: ValidatorJson = serde_json::from_str(&secp).unwrap();
        assert!(v.parse("v").unwrap_err().contains("pub_key.type"));
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(int("header.height", "ten")
            .unwrap_err()
            .contains("header.height"));
        assert!(hex_bytes("header.app_hash", "zz")
            .unwrap_err()
            .contains("app_hash"));
        assert_eq!(hex_bytes("x", "").unwrap(), Vec::<u8>::new());
    }
}
