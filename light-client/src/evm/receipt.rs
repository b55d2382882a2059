//! Transaction receipts, receipt proofs and logs inside a proven receipt.
//!
//! A receipt is stored in the block's receipts trie under `rlp(transactionIndex)` (the key
//! is not hashed). Its encoding is `rlp([statusOrPostState, cumulativeGasUsed, logsBloom,
//! logs])` with `logs = [[address, [topic, ...], data], ...]`; a typed receipt (EIP-2718,
//! type 1 and up) is its type byte followed by that list, a legacy one is the list alone.
//! Before Byzantium (EIP-658) the first field is the 32-byte post-transaction state root,
//! after it the status (empty for failure, `0x01` for success).
//!
//! [`ReceiptProof::verify`] proves a receipt against a receipts root (inclusion required),
//! [`ReceiptProof::verify_log`] then selects one log of it, and [`verify_receipt_absent`]
//! proves that no receipt exists at an index.
//!
//! ## Implements
//! - Yellow Paper section 4.3.1 (receipt), EIP-658 (status code), EIP-2718 (typed
//!   envelopes: `type || rlp(payload)`), EIP-2930, EIP-1559, EIP-4844, EIP-7702 receipt
//!   types (all share the payload shape).

use serde_json::Value as Json;

use super::header::{json_data, json_fixed, json_quantity};
use super::rlp::{self, RlpError};
use super::trie::{self, ProofError, ProofLimits};
use super::{Address, JsonError, U256};
use crate::types::Hash32;

/// Most logs accepted in one receipt.
pub const MAX_LOGS: usize = 4096;
/// Most topics in one log (the EVM's `LOG4` has four).
pub const MAX_TOPICS: usize = 4;

/// One log (event) emitted by a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// The emitting contract.
    pub address: Address,
    /// Indexed topics; the first is usually the event signature hash.
    pub topics: Vec<Hash32>,
    /// Unindexed data.
    pub data: Vec<u8>,
}

/// The first receipt field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Byzantium and later: whether the transaction succeeded.
    Status(bool),
    /// Before Byzantium: the state root after the transaction.
    PostState(Hash32),
}

/// A transaction receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// 0 for legacy, else the EIP-2718 type.
    pub tx_type: u8,
    /// Status or post-state root.
    pub outcome: Outcome,
    /// Gas used in the block up to and including this transaction.
    pub cumulative_gas_used: u64,
    /// Bloom filter of the logs.
    pub logs_bloom: Box<[u8; 256]>,
    /// The logs.
    pub logs: Vec<Log>,
}

/// Why a receipt, receipt proof or log was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The receipt proof is invalid.
    #[error("receipt {index}: {source}")]
    Proof {
        /// The transaction index.
        index: u64,
        /// Why.
        source: ProofError,
    },
    /// The proof shows no receipt at the index.
    #[error("receipt {index}: the proof shows no receipt at this index")]
    Absent {
        /// The transaction index.
        index: u64,
    },
    /// The proof shows a receipt at an index claimed absent.
    #[error("receipt {index}: the proof shows a receipt at this index")]
    Present {
        /// The transaction index.
        index: u64,
    },
    /// The receipt's encoding is not canonical or not the receipt shape.
    #[error("receipt: {0}")]
    Rlp(#[from] RlpError),
    /// The receipt's shape is wrong.
    #[error("receipt: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// A typed receipt with a type byte of 0 or 0x80 and above.
    #[error("receipt: type byte {byte:#04x} is not an EIP-2718 type")]
    BadType {
        /// The byte.
        byte: u8,
    },
    /// The proven receipt differs from the receipt claimed.
    #[error("receipt {index}: the proven receipt differs from the one claimed")]
    Mismatch {
        /// The transaction index.
        index: u64,
    },
    /// The transaction failed, so its logs do not count.
    #[error("receipt {index}: the transaction failed")]
    Failed {
        /// The transaction index.
        index: u64,
    },
    /// The receipt has no log at the index.
    #[error("receipt {index}: no log {log_index} (it has {count})")]
    NoSuchLog {
        /// The transaction index.
        index: u64,
        /// The log index within the receipt.
        log_index: usize,
        /// Logs in the receipt.
        count: usize,
    },
    /// The log is not the one expected.
    #[error("receipt {index}, log {log_index}: {field} differs from the expected log")]
    LogMismatch {
        /// The transaction index.
        index: u64,
        /// The log index within the receipt.
        log_index: usize,
        /// Which part differs (`address`, `topics`, `data`).
        field: &'static str,
    },
    /// A JSON receipt is missing a field or has malformed hex.
    #[error("receipt JSON: {0}")]
    Json(#[from] JsonError),
}

impl Receipt {
    /// The encoding stored in the receipts trie (with its type byte when typed).
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::new();
        match self.outcome {
            Outcome::Status(true) => rlp::put_u64(&mut p, 1),
            Outcome::Status(false) => rlp::put_u64(&mut p, 0),
            Outcome::PostState(root) => rlp::put_bytes(&mut p, &root.0),
        }
        rlp::put_u64(&mut p, self.cumulative_gas_used);
        rlp::put_bytes(&mut p, &self.logs_bloom[..]);
        let mut logs = Vec::new();
        for log in &self.logs {
            let mut l = Vec::new();
            rlp::put_bytes(&mut l, &log.address.0);
            let mut topics = Vec::with_capacity(log.topics.len().saturating_mul(33));
            for t in &log.topics {
                rlp::put_bytes(&mut topics, &t.0);
            }
            rlp::put_list(&mut l, &topics);
            rlp::put_bytes(&mut l, &log.data);
            rlp::put_list(&mut logs, &l);
        }
        rlp::put_list(&mut p, &logs);
        let mut out = Vec::with_capacity(p.len().saturating_add(10));
        if self.tx_type != 0 {
            out.push(self.tx_type);
        }
        rlp::put_list(&mut out, &p);
        out
    }

    /// Decodes a receipts-trie value strictly (legacy list or typed envelope).
    pub fn decode(encoded: &[u8]) -> Result<Self, ReceiptError> {
        let first = *encoded.first().ok_or(ReceiptError::Malformed {
            reason: "empty receipt",
        })?;
        let (tx_type, body) = if first >= 0xc0 {
            (0, encoded)
        } else if (1..0x80).contains(&first) {
            (first, encoded.get(1..).unwrap_or_default())
        } else {
            return Err(ReceiptError::BadType { byte: first });
        };
        let item = rlp::decode(body)?;
        let fields = item.as_list()?;
        let [outcome, gas, bloom, logs] = fields else {
            return Err(ReceiptError::Malformed {
                reason: "receipt is not a 4-item list",
            });
        };
        let outcome = match outcome.as_bytes()? {
            [] => Outcome::Status(false),
            [1] => Outcome::Status(true),
            b if b.len() == 32 && tx_type == 0 => Outcome::PostState(Hash32(outcome.as_array()?)),
            _ => {
                return Err(ReceiptError::Malformed {
                    reason: "status is neither 0, 1 nor a 32-byte state root",
                })
            }
        };
        let logs = logs.as_list()?;
        if logs.len() > MAX_LOGS {
            return Err(ReceiptError::Malformed {
                reason: "too many logs",
            });
        }
        let mut out = Vec::with_capacity(logs.len());
        for log in logs {
            let [address, topics, data] = log.as_list()? else {
                return Err(ReceiptError::Malformed {
                    reason: "log is not a 3-item list",
                });
            };
            let topics = topics.as_list()?;
            if topics.len() > MAX_TOPICS {
                return Err(ReceiptError::Malformed {
                    reason: "more than 4 topics",
                });
            }
            out.push(Log {
                address: Address(address.as_array()?),
                topics: topics
                    .iter()
                    .map(|t| t.as_array().map(Hash32))
                    .collect::<Result<_, _>>()?,
                data: data.as_bytes()?.to_vec(),
            });
        }
        Ok(Self {
            tx_type,
            outcome,
            cumulative_gas_used: gas.as_u64()?,
            logs_bloom: Box::new(bloom.as_array()?),
            logs: out,
        })
    }

    /// Reads a JSON-RPC receipt (`eth_getTransactionReceipt`, `eth_getBlockReceipts`).
    pub fn from_json(obj: &Json) -> Result<Self, ReceiptError> {
        let field = |name: &'static str| {
            obj.get(name).ok_or(JsonError {
                field: name,
                reason: "missing",
            })
        };
        let u64_of = |name: &'static str, v: &Json| -> Result<u64, JsonError> {
            U256::from_be_slice(&json_quantity(name, v)?)
                .to_u64()
                .ok_or(JsonError {
                    field: name,
                    reason: "exceeds 64 bits",
                })
        };
        let tx_type = match obj.get("type") {
            None => 0,
            Some(v) => u8::try_from(u64_of("type", v)?).map_err(|_| JsonError {
                field: "type",
                reason: "above 0x7f",
            })?,
        };
        if tx_type >= 0x80 {
            return Err(ReceiptError::BadType { byte: tx_type });
        }
        let outcome = match (obj.get("status"), obj.get("root")) {
            (Some(s), _) => match u64_of("status", s)? {
                0 => Outcome::Status(false),
                1 => Outcome::Status(true),
                _ => {
                    return Err(JsonError {
                        field: "status",
                        reason: "neither 0x0 nor 0x1",
                    }
                    .into())
                }
            },
            (None, Some(r)) => Outcome::PostState(Hash32(json_fixed::<32>("root", r)?)),
            (None, None) => {
                return Err(JsonError {
                    field: "status",
                    reason: "missing (and no root)",
                }
                .into())
            }
        };
        let logs_json = field("logs")?.as_array().ok_or(JsonError {
            field: "logs",
            reason: "not an array",
        })?;
        if logs_json.len() > MAX_LOGS {
            return Err(ReceiptError::Malformed {
                reason: "too many logs",
            });
        }
        let mut logs = Vec::with_capacity(logs_json.len());
        for l in logs_json {
            let lf = |name: &'static str| {
                l.get(name).ok_or(JsonError {
                    field: name,
                    reason: "missing",
                })
            };
            let topics = lf("topics")?.as_array().ok_or(JsonError {
                field: "topics",
                reason: "not an array",
            })?;
            if topics.len() > MAX_TOPICS {
                return Err(ReceiptError::Malformed {
                    reason: "more than 4 topics",
                });
            }
            logs.push(Log {
                address: Address(json_fixed::<20>("address", lf("address")?)?),
                topics: topics
                    .iter()
                    .map(|t| json_fixed::<32>("topics", t).map(Hash32))
                    .collect::<Result<_, _>>()?,
                data: json_data("data", lf("data")?)?,
            });
        }
        Ok(Self {
            tx_type,
            outcome,
            cumulative_gas_used: u64_of("cumulativeGasUsed", field("cumulativeGasUsed")?)?,
            logs_bloom: Box::new(json_fixed::<256>("logsBloom", field("logsBloom")?)?),
            logs,
        })
    }

    /// Whether the transaction succeeded (`None` before Byzantium, where receipts carry a
    /// state root instead of a status).
    pub fn succeeded(&self) -> Option<bool> {
        match self.outcome {
            Outcome::Status(s) => Some(s),
            Outcome::PostState(_) => None,
        }
    }
}

/// A proof of the receipt at a transaction index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceiptProof {
    /// The transaction index in the block.
    pub index: u64,
    /// The proof nodes, root first (bounded by [`ProofLimits`] before any is hashed).
    #[serde(with = "super::serde_bytes::list")]
    pub nodes: Vec<Vec<u8>>,
}

impl ReceiptProof {
    /// Proves the receipt at [`ReceiptProof::index`] against `receipts_root` and decodes it.
    pub fn verify(
        &self,
        receipts_root: &Hash32,
        limits: &ProofLimits,
    ) -> Result<Receipt, ReceiptError> {
        let key = rlp::u64_bytes(self.index);
        let value =
            trie::verify_proof(receipts_root, &key, &self.nodes, limits).map_err(|source| {
                ReceiptError::Proof {
                    index: self.index,
                    source,
                }
            })?;
        let value = value.ok_or(ReceiptError::Absent { index: self.index })?;
        Receipt::decode(&value)
    }

    /// Proves the receipt, requires that its transaction succeeded (a pre-Byzantium receipt
    /// has no status and is accepted as is), and returns its log `log_index`.
    pub fn verify_log(
        &self,
        receipts_root: &Hash32,
        log_index: usize,
        limits: &ProofLimits,
    ) -> Result<Log, ReceiptError> {
        let receipt = self.verify(receipts_root, limits)?;
        if receipt.succeeded() == Some(false) {
            return Err(ReceiptError::Failed { index: self.index });
        }
        let count = receipt.logs.len();
        receipt
            .logs
            .into_iter()
            .nth(log_index)
            .ok_or(ReceiptError::NoSuchLog {
                index: self.index,
                log_index,
                count,
            })
    }

    /// As [`ReceiptProof::verify_log`], and checks the log equals `expected`.
    pub fn verify_expected_log(
        &self,
        receipts_root: &Hash32,
        log_index: usize,
        expected: &Log,
        limits: &ProofLimits,
    ) -> Result<Log, ReceiptError> {
        let log = self.verify_log(receipts_root, log_index, limits)?;
        let mismatch = |field| ReceiptError::LogMismatch {
            index: self.index,
            log_index,
            field,
        };
        if log.address != expected.address {
            return Err(mismatch("address"));
        }
        if log.topics != expected.topics {
            return Err(mismatch("topics"));
        }
        if log.data != expected.data {
            return Err(mismatch("data"));
        }
        Ok(log)
    }
}

/// Proves that the block whose receipts root is `receipts_root` has no receipt at `index`.
pub fn verify_receipt_absent(
    receipts_root: &Hash32,
    index: u64,
    nodes: &[Vec<u8>],
    limits: &ProofLimits,
) -> Result<(), ReceiptError> {
    let key = rlp::u64_bytes(index);
    match trie::verify_proof(receipts_root, &key, nodes, limits) {
        Ok(None) => Ok(()),
        Ok(Some(_)) => Err(ReceiptError::Present { index }),
        Err(source) => Err(ReceiptError::Proof { index, source }),
    }
}

/// The receipts root of a block's full receipt list (in transaction order).
pub fn receipts_root(receipts: &[Receipt]) -> Hash32 {
    let encoded: Vec<Vec<u8>> = receipts.iter().map(Receipt::encode).collect();
    trie::ordered_root(&encoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evm::trie::{build_proof, TrieBuilder};

    fn receipt(i: u8, tx_type: u8) -> Receipt {
        Receipt {
            tx_type,
            outcome: Outcome::Status(i % 5 != 4),
            cumulative_gas_used: 21_000 * u64::from(i + 1),
            logs_bloom: Box::new([i; 256]),
            logs: vec![Log {
                address: Address([i; 20]),
                topics: vec![Hash32([1; 32]), Hash32([i; 32])],
                data: vec![i; usize::from(i)],
            }],
        }
    }

    #[test]
    fn legacy_and_typed_round_trip() {
        for t in [0u8, 1, 2, 3, 4] {
            let r = receipt(3, t);
            assert_eq!(Receipt::decode(&r.encode()).unwrap(), r);
        }
        assert!(matches!(
            Receipt::decode(&[0x80, 0xc0]),
            Err(ReceiptError::BadType { byte: 0x80 })
        ));
    }

    #[test]
    fn proofs_of_receipts_and_logs() {
        let limits = ProofLimits::default();
        let receipts: Vec<Receipt> = (0u8..140).map(|i| receipt(i, i % 3)).collect();
        let root = receipts_root(&receipts);
        let mut t = TrieBuilder::new();
        for (i, r) in receipts.iter().enumerate() {
            t.insert(&rlp::u64_bytes(i as u64), &r.encode()).unwrap();
        }
        assert_eq!(t.root(), root);
        for index in [0u64, 1, 127, 128, 139] {
            let proof = ReceiptProof {
                index,
                nodes: build_proof(&t, &rlp::u64_bytes(index)),
            };
            let r = &receipts[index as usize];
            assert_eq!(&proof.verify(&root, &limits).unwrap(), r);
            if r.succeeded() == Some(true) {
                let log = proof
                    .verify_expected_log(&root, 0, &r.logs[0], &limits)
                    .unwrap();
                assert_eq!(log, r.logs[0]);
                let mut other = r.logs[0].clone();
                other.data.push(0);
                assert!(matches!(
                    proof.verify_expected_log(&root, 0, &other, &limits),
                    Err(ReceiptError::LogMismatch { field: "data", .. })
                ));
                assert!(matches!(
                    proof.verify_log(&root, 1, &limits),
                    Err(ReceiptError::NoSuchLog {
                        log_index: 1,
                        count: 1,
                        ..
                    })
                ));
            } else {
                assert!(matches!(
                    proof.verify_log(&root, 0, &limits),
                    Err(ReceiptError::Failed { .. })
                ));
            }
        }
        let absent = build_proof(&t, &rlp::u64_bytes(140));
        assert_eq!(verify_receipt_absent(&root, 140, &absent, &limits), Ok(()));
        let proof = ReceiptProof {
            index: 140,
            nodes: absent,
        };
        assert!(matches!(
            proof.verify(&root, &limits),
            Err(ReceiptError::Absent { index: 140 })
        ));
    }

    /// A receipt's JSON-RPC form, as `eth_getTransactionReceipt` gives it.
    fn to_json(r: &Receipt) -> Json {
        let hx = |b: &[u8]| format!("0x{}", hex::encode(b));
        let logs: Vec<Json> = r
            .logs
            .iter()
            .map(|l| {
                serde_json::json!({
                    "address": hx(&l.address.0),
                    "topics": l.topics.iter().map(|t| hx(&t.0)).collect::<Vec<_>>(),
                    "data": hx(&l.data),
                })
            })
            .collect();
        let mut obj = serde_json::json!({
            "type": format!("{:#x}", r.tx_type),
            "cumulativeGasUsed": format!("{:#x}", r.cumulative_gas_used),
            "logsBloom": hx(&r.logs_bloom[..]),
            "logs": logs,
        });
        match r.outcome {
            Outcome::Status(s) => obj["status"] = Json::from(format!("{:#x}", u8::from(s))),
            Outcome::PostState(root) => obj["root"] = Json::from(hx(&root.0)),
        }
        obj
    }

    /// The receipt encoding with its first field replaced by `status` (raw RLP string).
    fn with_status(tx_type: u8, status: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        rlp::put_bytes(&mut p, status);
        rlp::put_u64(&mut p, 21_000);
        rlp::put_bytes(&mut p, &[0; 256]);
        rlp::put_list(&mut p, &[]);
        let mut out = Vec::new();
        if tx_type != 0 {
            out.push(tx_type);
        }
        rlp::put_list(&mut out, &p);
        out
    }

    #[test]
    fn status_and_post_state_by_shape_and_type() {
        let decoded = |tx_type, status: &[u8]| Receipt::decode(&with_status(tx_type, status));
        assert_eq!(
            decoded(0, &[]).map(|r| r.outcome),
            Ok(Outcome::Status(false))
        );
        assert_eq!(
            decoded(2, &[1]).map(|r| r.outcome),
            Ok(Outcome::Status(true))
        );
        // Before Byzantium: a legacy receipt's 32-byte state root.
        let legacy = decoded(0, &[0x5a; 32]).unwrap();
        assert_eq!(legacy.outcome, Outcome::PostState(Hash32([0x5a; 32])));
        assert_eq!(legacy.succeeded(), None);
        assert_eq!(legacy.encode(), with_status(0, &[0x5a; 32]));
        let bad_status = ReceiptError::Malformed {
            reason: "status is neither 0, 1 nor a 32-byte state root",
        };
        // Typed receipts came after Byzantium: no state root in them.
        assert_eq!(decoded(1, &[0x5a; 32]), Err(bad_status.clone()));
        assert_eq!(decoded(0, &[2]), Err(bad_status.clone()));
        assert_eq!(decoded(0, &[0x5a; 31]), Err(bad_status.clone()));
        assert_eq!(decoded(0, &[0x5a; 33]), Err(bad_status));
        assert_eq!(
            Receipt::decode(&[]),
            Err(ReceiptError::Malformed {
                reason: "empty receipt"
            })
        );
        assert_eq!(
            Receipt::decode(&[0x00, 0xc0]),
            Err(ReceiptError::BadType { byte: 0x00 })
        );
        let mut r = receipt(3, 0x7f);
        assert_eq!(Receipt::decode(&r.encode()), Ok(r.clone()));
        r.tx_type = 0;
        assert_eq!(r.encode().first(), Some(&0xf9));
    }

    #[test]
    fn log_and_topic_counts_at_their_limits() {
        let full = Log {
            address: Address([7; 20]),
            topics: vec![Hash32([9; 32]); MAX_TOPICS],
            data: vec![],
        };
        let mut r = receipt(1, 2);
        r.logs = vec![full.clone(); MAX_LOGS];
        assert_eq!(Receipt::decode(&r.encode()), Ok(r.clone()));
        assert_eq!(Receipt::from_json(&to_json(&r)), Ok(r.clone()));
        r.logs.push(full);
        let too_many = Err(ReceiptError::Malformed {
            reason: "too many logs",
        });
        assert_eq!(Receipt::decode(&r.encode()), too_many);
        assert_eq!(Receipt::from_json(&to_json(&r)), too_many);

        let mut r = receipt(1, 2);
        r.logs[0].topics = vec![Hash32([9; 32]); MAX_TOPICS + 1];
        let five = Err(ReceiptError::Malformed {
            reason: "more than 4 topics",
        });
        assert_eq!(Receipt::decode(&r.encode()), five);
        assert_eq!(Receipt::from_json(&to_json(&r)), five);
    }

    #[test]
    fn json_receipts_read_type_status_and_root() {
        for r in [receipt(3, 0), receipt(4, 2), receipt(3, 0x7f)] {
            assert_eq!(Receipt::from_json(&to_json(&r)), Ok(r));
        }
        let pre_byzantium = Receipt {
            outcome: Outcome::PostState(Hash32([0x5a; 32])),
            ..receipt(3, 0)
        };
        let mut obj = to_json(&pre_byzantium);
        obj.as_object_mut().unwrap().remove("type");
        assert_eq!(Receipt::from_json(&obj), Ok(pre_byzantium));
        let json_error = |field, reason| Err(ReceiptError::Json(JsonError { field, reason }));
        let mut obj = to_json(&receipt(3, 2));
        obj["type"] = Json::from("0x80");
        assert_eq!(
            Receipt::from_json(&obj),
            Err(ReceiptError::BadType { byte: 0x80 })
        );
        obj["type"] = Json::from("0x100");
        assert_eq!(Receipt::from_json(&obj), json_error("type", "above 0x7f"));
        let mut obj = to_json(&receipt(3, 2));
        obj["status"] = Json::from("0x2");
        assert_eq!(
            Receipt::from_json(&obj),
            json_error("status", "neither 0x0 nor 0x1")
        );
        obj.as_object_mut().unwrap().remove("status");
        assert_eq!(
            Receipt::from_json(&obj),
            json_error("status", "missing (and no root)")
        );
    }

    #[test]
    fn expected_log_is_compared_field_by_field() {
        let limits = ProofLimits::default();
        let r = receipt(3, 2);
        let mut t = TrieBuilder::new();
        t.insert(&rlp::u64_bytes(0), &r.encode()).unwrap();
        let root = t.root();
        let proof = ReceiptProof {
            index: 0,
            nodes: build_proof(&t, &rlp::u64_bytes(0)),
        };
        let expected = &r.logs[0];
        assert_eq!(
            proof.verify_expected_log(&root, 0, expected, &limits),
            Ok(expected.clone())
        );
        let mismatch = |field| {
            Err(ReceiptError::LogMismatch {
                index: 0,
                log_index: 0,
                field,
            })
        };
        let other = Log {
            address: Address([0xee; 20]),
            ..expected.clone()
        };
        assert_eq!(
            proof.verify_expected_log(&root, 0, &other, &limits),
            mismatch("address")
        );
        let other = Log {
            topics: vec![Hash32([1; 32])],
            ..expected.clone()
        };
        assert_eq!(
            proof.verify_expected_log(&root, 0, &other, &limits),
            mismatch("topics")
        );
    }

    #[test]
    fn a_pre_byzantium_receipt_gives_its_logs_and_absence_is_proven_both_ways() {
        let limits = ProofLimits::default();
        let r = Receipt {
            outcome: Outcome::PostState(Hash32([0x5a; 32])),
            ..receipt(4, 0)
        };
        let mut t = TrieBuilder::new();
        t.insert(&rlp::u64_bytes(0), &r.encode()).unwrap();
        t.insert(&rlp::u64_bytes(1), &receipt(2, 0).encode())
            .unwrap();
        let root = t.root();
        let nodes = build_proof(&t, &rlp::u64_bytes(0));
        let proof = ReceiptProof {
            index: 0,
            nodes: nodes.clone(),
        };
        assert_eq!(proof.verify_log(&root, 0, &limits), Ok(r.logs[0].clone()));
        // A receipt that is there is not absent; a broken proof proves nothing.
        assert_eq!(
            verify_receipt_absent(&root, 0, &nodes, &limits),
            Err(ReceiptError::Present { index: 0 })
        );
        assert!(matches!(
            verify_receipt_absent(&root, 0, &nodes[..nodes.len() - 1], &limits),
            Err(ReceiptError::Proof {
                index: 0,
                source: ProofError::MissingNode { .. }
            })
        ));
        assert_eq!(
            verify_receipt_absent(&root, 2, &build_proof(&t, &rlp::u64_bytes(2)), &limits),
            Ok(())
        );
    }
}
