//! Execution-layer block headers of every shape from Frontier to Prague.
//!
//! A [`Header`] has the 15 fields of the Yellow Paper's block header, then, each present
//! only from its fork on and each implying all the fields before it: `baseFeePerGas`
//! (London), `withdrawalsRoot` (Shanghai), `blobGasUsed`, `excessBlobGas`,
//! `parentBeaconBlockRoot` (Cancun), `requestsHash` (Prague). So an encoded header has 15,
//! 16, 17, 20 or 21 fields; any other count is refused ([`HeaderError::FieldCount`]).
//!
//! [`Header::decode`] reads the strict RLP form ([`super::rlp`]) and keeps the hash of the
//! exact input; [`Header::from_json`] reads a JSON-RPC block object (`eth_getBlockByNumber`)
//! or an ethereum/tests header (`uncleHash`, `coinbase`, `transactionsTrie`, `receiptTrie`,
//! `bloom`), and [`Header::hash`] is `keccak256(rlp(header))`. [`check_linkage`] checks that
//! each header of a chain names the previous one as its parent.
//!
//! ## Implements
//! - Yellow Paper section 4.3 (block header) and Appendix B (RLP).
//! - EIP-1559 (`baseFeePerGas`), EIP-4895 (`withdrawalsRoot`), EIP-4844 (`blobGasUsed`,
//!   `excessBlobGas`), EIP-4788 (`parentBeaconBlockRoot`), EIP-7685 (`requestsHash`).

use serde_json::Value as Json;

use super::rlp::{self, RlpError};
use super::{keccak256, Address, JsonError, U256};
use crate::types::Hash32;

/// Longest `extraData` accepted (mainnet allows 32 bytes; Clique checkpoints carry the
/// signer list, BSC carries validators and votes).
pub const MAX_EXTRA_DATA: usize = 64 * 1024;
/// Longest header encoding accepted, checked before decoding.
pub const MAX_HEADER_BYTES: usize = 72 * 1024;

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The RLP is not canonical or not a list of strings.
    #[error("header: {0}")]
    Rlp(#[from] RlpError),
    /// A field count that matches no fork's shape.
    #[error("header: {count} fields (expected 15, 16, 17, 20 or 21)")]
    FieldCount {
        /// The count found.
        count: usize,
    },
    /// The encoding is larger than [`MAX_HEADER_BYTES`].
    #[error("header: {len} bytes exceeds {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A named field has a bad RLP form.
    #[error("header field {field}: {source}")]
    Field {
        /// The field.
        field: &'static str,
        /// Why.
        source: RlpError,
    },
    /// `extraData` is longer than [`MAX_EXTRA_DATA`].
    #[error("header {number}: extraData of {len} bytes exceeds {max}")]
    ExtraDataTooLong {
        /// The block number.
        number: u64,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A JSON field is missing or not valid `0x` hex of the right width.
    #[error("header: {0}")]
    Json(#[from] JsonError),
    /// A fork field is present without the fields of earlier forks.
    #[error("header JSON: field {field} is present but {missing} is not")]
    ForkFieldGap {
        /// The field that is present.
        field: &'static str,
        /// The earlier field that is missing.
        missing: &'static str,
    },
    /// The header does not hash to the hash it was given with.
    #[error("header {number}: hash {computed} does not match the claimed {claimed}")]
    HashMismatch {
        /// The block number.
        number: u64,
        /// keccak256 of the encoding.
        computed: Hash32,
        /// The claimed hash.
        claimed: Hash32,
    },
    /// A header in a chain does not name the previous header as its parent.
    #[error(
        "header {number}: parentHash {parent_hash} is not the previous header's hash {expected}"
    )]
    BrokenLink {
        /// The block number of the child.
        number: u64,
        /// Its parentHash.
        parent_hash: Hash32,
        /// The previous header's hash.
        expected: Hash32,
    },
    /// A header in a chain does not have the previous header's number plus one.
    #[error("header {number}: follows header {previous}, expected number {previous}+1")]
    NonConsecutive {
        /// Its number.
        number: u64,
        /// The previous header's number.
        previous: u64,
    },
}

/// An execution-layer block header. Fork fields are `Some` from their fork on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Hash of the parent header.
    pub parent_hash: Hash32,
    /// Hash of the RLP list of uncle headers (`sha3Uncles`).
    pub ommers_hash: Hash32,
    /// Fee recipient (`miner`, `coinbase`); in Clique, the target of a signer vote.
    pub beneficiary: Address,
    /// State trie root.
    pub state_root: Hash32,
    /// Transactions trie root.
    pub transactions_root: Hash32,
    /// Receipts trie root.
    pub receipts_root: Hash32,
    /// Bloom filter of the block's logs.
    pub logs_bloom: Box<[u8; 256]>,
    /// Proof-of-work difficulty; in Clique 1 (out of turn) or 2 (in turn); 0 after the merge.
    pub difficulty: U256,
    /// Block number.
    pub number: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Unix time in seconds.
    pub timestamp: u64,
    /// Free-form data; in Clique, vanity, signers (at checkpoints) and the seal.
    pub extra_data: Vec<u8>,
    /// Proof-of-work mix hash; `prevRandao` after the merge.
    pub mix_hash: Hash32,
    /// Proof-of-work nonce; in Clique, the vote (all zero or all `0xff`).
    pub nonce: [u8; 8],
    /// EIP-1559 base fee (London).
    pub base_fee_per_gas: Option<U256>,
    /// EIP-4895 withdrawals root (Shanghai).
    pub withdrawals_root: Option<Hash32>,
    /// EIP-4844 blob gas used (Cancun).
    pub blob_gas_used: Option<u64>,
    /// EIP-4844 excess blob gas (Cancun).
    pub excess_blob_gas: Option<u64>,
    /// EIP-4788 parent beacon block root (Cancun).
    pub parent_beacon_block_root: Option<Hash32>,
    /// EIP-7685 requests hash (Prague).
    pub requests_hash: Option<Hash32>,
}

const FIELD_NAMES: [&str; 21] = [
    "parentHash",
    "sha3Uncles",
    "miner",
    "stateRoot",
    "transactionsRoot",
    "receiptsRoot",
    "logsBloom",
    "difficulty",
    "number",
    "gasLimit",
    "gasUsed",
    "timestamp",
    "extraData",
    "mixHash",
    "nonce",
    "baseFeePerGas",
    "withdrawalsRoot",
    "blobGasUsed",
    "excessBlobGas",
    "parentBeaconBlockRoot",
    "requestsHash",
];

impl Header {
    /// Decodes the strict RLP encoding of a header and returns it with its hash.
    pub fn decode(encoded: &[u8]) -> Result<(Self, Hash32), HeaderError> {
        if encoded.len() > MAX_HEADER_BYTES {
            return Err(HeaderError::TooLarge {
                len: encoded.len(),
                max: MAX_HEADER_BYTES,
            });
        }
        let item = rlp::decode(encoded)?;
        let header = Self::from_item(&item)?;
        Ok((header, keccak256(encoded)))
    }

    /// Reads a header from an already decoded RLP list (for example element 0 of a block).
    pub fn from_item(item: &rlp::Item<'_>) -> Result<Self, HeaderError> {
        let fields = item.as_list()?;
        let count = fields.len();
        if !matches!(count, 15 | 16 | 17 | 20 | 21) {
            return Err(HeaderError::FieldCount { count });
        }
        let field = |i: usize| -> Result<&rlp::Item<'_>, HeaderError> {
            fields.get(i).ok_or(HeaderError::FieldCount { count })
        };
        let name = |i: usize| FIELD_NAMES.get(i).copied().unwrap_or("unknown");
        let wrap = |i: usize| {
            move |source: RlpError| HeaderError::Field {
                field: name(i),
                source,
            }
        };
        let hash = |i: usize| -> Result<Hash32, HeaderError> {
            field(i)?.as_array::<32>().map(Hash32).map_err(wrap(i))
        };
        let u64_at = |i: usize| -> Result<u64, HeaderError> { field(i)?.as_u64().map_err(wrap(i)) };
        let u256_at = |i: usize| -> Result<U256, HeaderError> {
            field(i)?
                .as_uint(32)
                .map(U256::from_be_slice)
                .map_err(wrap(i))
        };
        let number = u64_at(8)?;
        let extra_data = field(12)?.as_bytes().map_err(wrap(12))?.to_vec();
        if extra_data.len() > MAX_EXTRA_DATA {
            return Err(HeaderError::ExtraDataTooLong {
                number,
                len: extra_data.len(),
                max: MAX_EXTRA_DATA,
            });
        }
        Ok(Self {
            parent_hash: hash(0)?,
            ommers_hash: hash(1)?,
            beneficiary: Address(field(2)?.as_array::<20>().map_err(wrap(2))?),
            state_root: hash(3)?,
            transactions_root: hash(4)?,
            receipts_root: hash(5)?,
            logs_bloom: Box::new(field(6)?.as_array::<256>().map_err(wrap(6))?),
            difficulty: u256_at(7)?,
            number,
            gas_limit: u64_at(9)?,
            gas_used: u64_at(10)?,
            timestamp: u64_at(11)?,
            extra_data,
            mix_hash: hash(13)?,
            nonce: field(14)?.as_array::<8>().map_err(wrap(14))?,
            base_fee_per_gas: if count >= 16 {
                Some(u256_at(15)?)
            } else {
                None
            },
            withdrawals_root: if count >= 17 { Some(hash(16)?) } else { None },
            blob_gas_used: if count >= 20 { Some(u64_at(17)?) } else { None },
            excess_blob_gas: if count >= 20 { Some(u64_at(18)?) } else { None },
            parent_beacon_block_root: if count >= 20 { Some(hash(19)?) } else { None },
            requests_hash: if count >= 21 { Some(hash(20)?) } else { None },
        })
    }

    /// The number of RLP fields this header encodes to (15, 16, 17, 20 or 21).
    pub fn field_count(&self) -> usize {
        if self.requests_hash.is_some() {
            21
        } else if self.parent_beacon_block_root.is_some() {
            20
        } else if self.withdrawals_root.is_some() {
            17
        } else if self.base_fee_per_gas.is_some() {
            16
        } else {
            15
        }
    }

    /// The canonical RLP encoding.
    ///
    /// A fork field is written when it or any later fork field is set (a later field implies
    /// the earlier ones; [`Header::decode`] and [`Header::from_json`] never build a gap).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with_extra(&self.extra_data)
    }

    /// The encoding with `extra` in place of `extraData` (the Clique seal hash cuts the seal).
    pub(crate) fn encode_with_extra(&self, extra: &[u8]) -> Vec<u8> {
        let mut p = Vec::with_capacity(640);
        rlp::put_bytes(&mut p, &self.parent_hash.0);
        rlp::put_bytes(&mut p, &self.ommers_hash.0);
        rlp::put_bytes(&mut p, &self.beneficiary.0);
        rlp::put_bytes(&mut p, &self.state_root.0);
        rlp::put_bytes(&mut p, &self.transactions_root.0);
        rlp::put_bytes(&mut p, &self.receipts_root.0);
        rlp::put_bytes(&mut p, &self.logs_bloom[..]);
        rlp::put_uint(&mut p, &self.difficulty.0);
        rlp::put_u64(&mut p, self.number);
        rlp::put_u64(&mut p, self.gas_limit);
        rlp::put_u64(&mut p, self.gas_used);
        rlp::put_u64(&mut p, self.timestamp);
        rlp::put_bytes(&mut p, extra);
        rlp::put_bytes(&mut p, &self.mix_hash.0);
        rlp::put_bytes(&mut p, &self.nonce);
        let count = self.field_count();
        if count >= 16 {
            let fee = self.base_fee_per_gas.unwrap_or(U256::ZERO);
            rlp::put_uint(&mut p, &fee.0);
        }
        if count >= 17 {
            let root = self.withdrawals_root.unwrap_or(Hash32::ZERO);
            rlp::put_bytes(&mut p, &root.0);
        }
        if count >= 20 {
            rlp::put_u64(&mut p, self.blob_gas_used.unwrap_or(0));
            rlp::put_u64(&mut p, self.excess_blob_gas.unwrap_or(0));
            let root = self.parent_beacon_block_root.unwrap_or(Hash32::ZERO);
            rlp::put_bytes(&mut p, &root.0);
        }
        if count >= 21 {
            let hash = self.requests_hash.unwrap_or(Hash32::ZERO);
            rlp::put_bytes(&mut p, &hash.0);
        }
        rlp::list(&p)
    }

    /// `keccak256(rlp(header))`, the block hash.
    pub fn hash(&self) -> Hash32 {
        keccak256(&self.encode())
    }

    /// Reads a JSON-RPC block object or an ethereum/tests header object.
    ///
    /// Quantities are `0x` hex (leading zeros tolerated: the JSON form is not what is
    /// hashed); data fields must have their exact width. A fork field present without an
    /// earlier fork's field is refused. Keys that are not header fields are ignored. When
    /// the object has a `hash`, it must equal [`Header::hash`].
    pub fn from_json(obj: &Json) -> Result<Self, HeaderError> {
        let get = |names: &[&'static str]| names.iter().find_map(|n| obj.get(*n));
        let req = |names: &[&'static str]| {
            let first = names.first().copied().unwrap_or("field");
            get(names).ok_or(JsonError {
                field: first,
                reason: "missing",
            })
        };
        let hash = |names: &[&'static str]| -> Result<Hash32, HeaderError> {
            let first = names.first().copied().unwrap_or("field");
            Ok(json_fixed::<32>(first, req(names)?).map(Hash32)?)
        };
        let opt_hash = |name: &'static str| -> Result<Option<Hash32>, HeaderError> {
            Ok(obj
                .get(name)
                .map(|v| json_fixed::<32>(name, v).map(Hash32))
                .transpose()?)
        };
        let u64_of = |name: &'static str, v: &Json| -> Result<u64, HeaderError> {
            let q = json_quantity(name, v)?;
            let wide = U256::from_be_slice(&q);
            Ok(wide.to_u64().ok_or(JsonError {
                field: name,
                reason: "quantity exceeds 64 bits",
            })?)
        };
        let u64_req = |name: &'static str| u64_of(name, req(&[name])?);
        let opt_u64 = |name: &'static str| obj.get(name).map(|v| u64_of(name, v)).transpose();
        let u256 = |name: &'static str, v: &Json| -> Result<U256, HeaderError> {
            Ok(U256::from_be_slice(&json_quantity(name, v)?))
        };

        let number = u64_req("number")?;
        let extra_data = json_data("extraData", req(&["extraData"])?)?;
        if extra_data.len() > MAX_EXTRA_DATA {
            return Err(HeaderError::ExtraDataTooLong {
                number,
                len: extra_data.len(),
                max: MAX_EXTRA_DATA,
            });
        }
        let header = Self {
            parent_hash: hash(&["parentHash"])?,
            ommers_hash: hash(&["sha3Uncles", "uncleHash"])?,
            beneficiary: Address(json_fixed::<20>("miner", req(&["miner", "coinbase"])?)?),
            state_root: hash(&["stateRoot"])?,
            transactions_root: hash(&["transactionsRoot", "transactionsTrie"])?,
            receipts_root: hash(&["receiptsRoot", "receiptTrie"])?,
            logs_bloom: Box::new(json_fixed::<256>(
                "logsBloom",
                req(&["logsBloom", "bloom"])?,
            )?),
            difficulty: u256("difficulty", req(&["difficulty"])?)?,
            number,
            gas_limit: u64_req("gasLimit")?,
            gas_used: u64_req("gasUsed")?,
            timestamp: u64_req("timestamp")?,
            extra_data,
            mix_hash: hash(&["mixHash"])?,
            nonce: json_fixed::<8>("nonce", req(&["nonce"])?)?,
            base_fee_per_gas: obj
                .get("baseFeePerGas")
                .map(|v| u256("baseFeePerGas", v))
                .transpose()?,
            withdrawals_root: opt_hash("withdrawalsRoot")?,
            blob_gas_used: opt_u64("blobGasUsed")?,
            excess_blob_gas: opt_u64("excessBlobGas")?,
            parent_beacon_block_root: opt_hash("parentBeaconBlockRoot")?,
            requests_hash: opt_hash("requestsHash")?,
        };
        header.check_fork_fields()?;
        if let Some(claimed) = obj.get("hash") {
            let claimed = Hash32(json_fixed::<32>("hash", claimed)?);
            header.check_hash(&claimed)?;
        }
        Ok(header)
    }

    /// Refuses a fork field present without an earlier fork's field.
    fn check_fork_fields(&self) -> Result<(), HeaderError> {
        let present = [
            ("baseFeePerGas", self.base_fee_per_gas.is_some()),
            ("withdrawalsRoot", self.withdrawals_root.is_some()),
            ("blobGasUsed", self.blob_gas_used.is_some()),
            ("excessBlobGas", self.excess_blob_gas.is_some()),
            (
                "parentBeaconBlockRoot",
                self.parent_beacon_block_root.is_some(),
            ),
            ("requestsHash", self.requests_hash.is_some()),
        ];
        let mut missing: Option<&'static str> = None;
        for (name, is_present) in present {
            match (is_present, missing) {
                (true, Some(gap)) => {
                    return Err(HeaderError::ForkFieldGap {
                        field: name,
                        missing: gap,
                    })
                }
                (false, None) => missing = Some(name),
                _ => {}
            }
        }
        Ok(())
    }

    /// Checks that the header hashes to `claimed`.
    pub fn check_hash(&self, claimed: &Hash32) -> Result<(), HeaderError> {
        let computed = self.hash();
        if computed != *claimed {
            return Err(HeaderError::HashMismatch {
                number: self.number,
                computed,
                claimed: *claimed,
            });
        }
        Ok(())
    }
}

/// In light blocks a header travels as its RLP encoding (hex in JSON), and is read back with
/// the strict decoder: [`MAX_HEADER_BYTES`] is checked before anything is decoded.
impl serde::Serialize for Header {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        super::serde_bytes::serialize(&self.encode(), s)
    }
}

impl<'de> serde::Deserialize<'de> for Header {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = super::serde_bytes::deserialize(d)?;
        Self::decode(&bytes)
            .map(|(header, _)| header)
            .map_err(serde::de::Error::custom)
    }
}

/// Checks that each header's `parentHash` is the hash of the one before it and that the
/// numbers are consecutive. `first_parent`, when given, is the trusted hash the first
/// header must build on. Returns the hash of the last header (or `first_parent` when the
/// chain is empty).
pub fn check_linkage(
    first_parent: Option<Hash32>,
    headers: &[Header],
) -> Result<Option<Hash32>, HeaderError> {
    let mut previous: Option<(u64, Hash32)> = None;
    let mut last = first_parent;
    for header in headers {
        let expected = previous.map(|(_, h)| h).or(first_parent);
        if let Some(expected) = expected {
            if header.parent_hash != expected {
                return Err(HeaderError::BrokenLink {
                    number: header.number,
                    parent_hash: header.parent_hash,
                    expected,
                });
            }
        }
        if let Some((prev_number, _)) = previous {
            if prev_number.checked_add(1) != Some(header.number) {
                return Err(HeaderError::NonConsecutive {
                    number: header.number,
                    previous: prev_number,
                });
            }
        }
        let hash = header.hash();
        previous = Some((header.number, hash));
        last = Some(hash);
    }
    Ok(last)
}

/// Decodes `0x`-prefixed hex of any (even) length.
pub(crate) fn json_data(field: &'static str, v: &Json) -> Result<Vec<u8>, JsonError> {
    let s = v.as_str().ok_or(JsonError {
        field,
        reason: "not a string",
    })?;
    let digits = s.strip_prefix("0x").ok_or(JsonError {
        field,
        reason: "no 0x prefix",
    })?;
    hex::decode(digits).map_err(|_| JsonError {
        field,
        reason: "not an even number of hex digits",
    })
}

/// Decodes `0x`-prefixed hex of exactly `N` bytes.
pub(crate) fn json_fixed<const N: usize>(
    field: &'static str,
    v: &Json,
) -> Result<[u8; N], JsonError> {
    let bytes = json_data(field, v)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| JsonError {
        field,
        reason: "wrong width",
    })
}

/// Decodes a `0x` hex quantity (odd digit counts and leading zeros allowed) to minimal
/// big-endian bytes of at most 32.
pub(crate) fn json_quantity(field: &'static str, v: &Json) -> Result<Vec<u8>, JsonError> {
    let s = v.as_str().ok_or(JsonError {
        field,
        reason: "not a string",
    })?;
    let digits = s.strip_prefix("0x").ok_or(JsonError {
        field,
        reason: "no 0x prefix",
    })?;
    let digits = digits.trim_start_matches('0');
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits.to_owned()
    };
    let bytes = hex::decode(padded).map_err(|_| JsonError {
        field,
        reason: "not hex",
    })?;
    if bytes.len() > 32 {
        return Err(JsonError {
            field,
            reason: "quantity exceeds 256 bits",
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            parent_hash: Hash32([1; 32]),
            ommers_hash: Hash32([2; 32]),
            beneficiary: Address([3; 20]),
            state_root: Hash32([4; 32]),
            transactions_root: Hash32([5; 32]),
            receipts_root: Hash32([6; 32]),
            logs_bloom: Box::new([0; 256]),
            difficulty: U256::from_u64(2),
            number: 7,
            gas_limit: 30_000_000,
            gas_used: 0,
            timestamp: 1_700_000_000,
            extra_data: vec![0; 32],
            mix_hash: Hash32::ZERO,
            nonce: [0; 8],
            base_fee_per_gas: None,
            withdrawals_root: None,
            blob_gas_used: None,
            excess_blob_gas: None,
            parent_beacon_block_root: None,
            requests_hash: None,
        }
    }

    #[test]
    fn every_shape_round_trips() {
        let mut h = sample();
        for count in [15, 16, 17, 20, 21] {
            if count >= 16 {
                h.base_fee_per_gas = Some(U256::from_u64(7));
            }
            if count >= 17 {
                h.withdrawals_root = Some(Hash32([9; 32]));
            }
            if count >= 20 {
                h.blob_gas_used = Some(0);
                h.excess_blob_gas = Some(131_072);
                h.parent_beacon_block_root = Some(Hash32([8; 32]));
            }
            if count >= 21 {
                h.requests_hash = Some(Hash32([10; 32]));
            }
            assert_eq!(h.field_count(), count);
            let enc = h.encode();
            let (back, hash) = Header::decode(&enc).unwrap();
            assert_eq!(back, h);
            assert_eq!(hash, h.hash());
        }
    }

    #[test]
    fn refuses_shapes_of_no_fork() {
        let enc = sample().encode();
        let item = rlp::decode(&enc).unwrap();
        let mut payload = Vec::new();
        for f in item.as_list().unwrap() {
            payload.extend_from_slice(f.raw);
        }
        for _ in 0..3 {
            rlp::put_u64(&mut payload, 0);
        }
        assert!(matches!(
            Header::decode(&rlp::list(&payload)),
            Err(HeaderError::FieldCount { count: 18 })
        ));
    }

    #[test]
    fn refuses_non_canonical_quantity() {
        let h = sample();
        let enc = h.encode();
        let item = rlp::decode(&enc).unwrap();
        let mut payload = Vec::new();
        for (i, f) in item.as_list().unwrap().iter().enumerate() {
            if i == 8 {
                payload.extend_from_slice(&[0x82, 0x00, 0x07]);
            } else {
                payload.extend_from_slice(f.raw);
            }
        }
        assert!(matches!(
            Header::decode(&rlp::list(&payload)),
            Err(HeaderError::Field {
                field: "number",
                source: RlpError::LeadingZeroInInteger { .. }
            })
        ));
    }

    #[test]
    fn linkage() {
        let a = sample();
        let mut b = sample();
        b.number = 8;
        b.parent_hash = a.hash();
        assert_eq!(
            check_linkage(Some(a.parent_hash), &[a.clone(), b.clone()]).unwrap(),
            Some(b.hash())
        );
        b.parent_hash = Hash32([0xee; 32]);
        assert!(matches!(
            check_linkage(None, &[a, b]),
            Err(HeaderError::BrokenLink { number: 8, .. })
        ));
    }

    /// `h` as a JSON-RPC block object (`eth_getBlockByNumber` without transactions).
    fn to_json(h: &Header) -> Json {
        let hx = |b: &[u8]| format!("0x{}", hex::encode(b));
        let q = |v: u64| format!("{v:#x}");
        let mut obj = serde_json::json!({
            "parentHash": hx(&h.parent_hash.0),
            "sha3Uncles": hx(&h.ommers_hash.0),
            "miner": hx(&h.beneficiary.0),
            "stateRoot": hx(&h.state_root.0),
            "transactionsRoot": hx(&h.transactions_root.0),
            "receiptsRoot": hx(&h.receipts_root.0),
            "logsBloom": hx(&h.logs_bloom[..]),
            "difficulty": hx(h.difficulty.to_minimal_be()),
            "number": q(h.number),
            "gasLimit": q(h.gas_limit),
            "gasUsed": q(h.gas_used),
            "timestamp": q(h.timestamp),
            "extraData": hx(&h.extra_data),
            "mixHash": hx(&h.mix_hash.0),
            "nonce": hx(&h.nonce),
        });
        if let Some(fee) = h.base_fee_per_gas {
            obj["baseFeePerGas"] = Json::from(hx(fee.to_minimal_be()));
        }
        if let Some(root) = h.withdrawals_root {
            obj["withdrawalsRoot"] = Json::from(hx(&root.0));
        }
        if let Some(gas) = h.blob_gas_used {
            obj["blobGasUsed"] = Json::from(q(gas));
        }
        if let Some(gas) = h.excess_blob_gas {
            obj["excessBlobGas"] = Json::from(q(gas));
        }
        if let Some(root) = h.parent_beacon_block_root {
            obj["parentBeaconBlockRoot"] = Json::from(hx(&root.0));
        }
        if let Some(hash) = h.requests_hash {
            obj["requestsHash"] = Json::from(hx(&hash.0));
        }
        obj["hash"] = Json::from(hx(&h.hash().0));
        obj
    }

    fn prague() -> Header {
        Header {
            base_fee_per_gas: Some(U256::from_u64(7)),
            withdrawals_root: Some(Hash32([9; 32])),
            blob_gas_used: Some(131_072),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(Hash32([8; 32])),
            requests_hash: Some(Hash32([10; 32])),
            ..sample()
        }
    }

    #[test]
    fn extra_data_and_encoding_at_their_limits() {
        let mut h = sample();
        h.extra_data = vec![0xab; MAX_EXTRA_DATA];
        let enc = h.encode();
        assert_eq!(Header::decode(&enc).map(|(back, _)| back), Ok(h.clone()));
        assert_eq!(Header::from_json(&to_json(&h)), Ok(h.clone()));

        h.extra_data.push(0xab);
        let too_long = Err(HeaderError::ExtraDataTooLong {
            number: 7,
            len: MAX_EXTRA_DATA + 1,
            max: 64 * 1024,
        });
        assert_eq!(Header::decode(&h.encode()).map(|(back, _)| back), too_long);
        assert_eq!(Header::from_json(&to_json(&h)), too_long);

        // An encoding of exactly MAX_HEADER_BYTES is read (and refused for its extraData,
        // which such a size needs); one byte more is refused before it is decoded.
        let short = MAX_HEADER_BYTES - h.encode().len();
        h.extra_data.extend(vec![0xab; short]);
        let enc = h.encode();
        assert_eq!(enc.len(), 72 * 1024);
        assert!(matches!(
            Header::decode(&enc),
            Err(HeaderError::ExtraDataTooLong { number: 7, .. })
        ));
        let mut over = enc.clone();
        over.push(0);
        assert_eq!(
            Header::decode(&over),
            Err(HeaderError::TooLarge {
                len: MAX_HEADER_BYTES + 1,
                max: MAX_HEADER_BYTES,
            })
        );
    }

    #[test]
    fn json_headers_of_every_fork_and_their_gaps() {
        let full = prague();
        assert_eq!(Header::from_json(&to_json(&full)), Ok(full.clone()));
        let mut obj = to_json(&sample());
        assert_eq!(Header::from_json(&obj), Ok(sample()));
        // A wrong claimed hash.
        obj["hash"] = Json::from(format!("0x{}", hex::encode([0xee; 32])));
        assert!(matches!(
            Header::from_json(&obj),
            Err(HeaderError::HashMismatch { number: 7, .. })
        ));
        // Each fork field present while an earlier one is missing.
        let names = [
            "baseFeePerGas",
            "withdrawalsRoot",
            "blobGasUsed",
            "excessBlobGas",
            "parentBeaconBlockRoot",
            "requestsHash",
        ];
        for (i, gap) in names.iter().enumerate() {
            let Some(next) = names.get(i + 1) else {
                break;
            };
            let mut obj = to_json(&full);
            let obj_map = obj.as_object_mut().unwrap();
            obj_map.remove("hash");
            obj_map.remove(*gap);
            assert_eq!(
                Header::from_json(&obj),
                Err(HeaderError::ForkFieldGap {
                    field: next,
                    missing: gap,
                }),
                "{gap}"
            );
        }
    }

    #[test]
    fn json_quantities_data_and_fixed_widths() {
        let q = |s: &str| json_quantity("q", &Json::from(s));
        assert_eq!(q("0x"), Ok(vec![]));
        assert_eq!(q("0x0"), Ok(vec![]));
        assert_eq!(q("0x1"), Ok(vec![1]));
        assert_eq!(q("0x123"), Ok(vec![0x01, 0x23]));
        assert_eq!(q("0x1234"), Ok(vec![0x12, 0x34]));
        assert_eq!(q("0x0001234"), Ok(vec![0x12, 0x34]));
        let max = format!("0x{}", "ff".repeat(32));
        assert_eq!(q(&max), Ok(vec![0xff; 32]));
        let refused = |reason| Err(JsonError { field: "q", reason });
        assert_eq!(
            q(&format!("0x1{}", "00".repeat(32))),
            refused("quantity exceeds 256 bits")
        );
        assert_eq!(q(&format!("0x00{}", "ff".repeat(32))), Ok(vec![0xff; 32]));
        assert_eq!(q("0xg"), refused("not hex"));
        assert_eq!(q("12"), refused("no 0x prefix"));
        assert_eq!(json_quantity("q", &Json::from(1)), refused("not a string"));

        let d = |s: &str| json_data("q", &Json::from(s));
        assert_eq!(d("0x"), Ok(vec![]));
        assert_eq!(d("0x00ab"), Ok(vec![0x00, 0xab]));
        assert_eq!(d("0xabc"), refused("not an even number of hex digits"));
        assert_eq!(d("ab"), refused("no 0x prefix"));
        assert_eq!(
            json_fixed::<2>("q", &Json::from("0x00ab")),
            Ok([0x00, 0xab])
        );
        assert_eq!(
            json_fixed::<2>("q", &Json::from("0xab")),
            Err(JsonError {
                field: "q",
                reason: "wrong width"
            })
        );
    }

    #[test]
    fn linkage_needs_consecutive_numbers() {
        let a = sample();
        let mut b = sample();
        b.number = 9;
        b.parent_hash = a.hash();
        assert_eq!(
            check_linkage(None, &[a.clone(), b.clone()]),
            Err(HeaderError::NonConsecutive {
                number: 9,
                previous: 7
            })
        );
        b.number = 8;
        assert_eq!(
            check_linkage(None, &[a.clone(), b.clone()]),
            Ok(Some(b.hash()))
        );
        // The first header builds on the trusted parent; nothing to check builds on nothing.
        assert!(matches!(
            check_linkage(Some(Hash32([0xee; 32])), std::slice::from_ref(&a)),
            Err(HeaderError::BrokenLink { number: 7, .. })
        ));
        assert_eq!(
            check_linkage(Some(a.parent_hash), &[]),
            Ok(Some(a.parent_hash))
        );
        assert_eq!(check_linkage(None, &[]), Ok(None));
        let mut last = sample();
        last.number = u64::MAX;
        let mut after = sample();
        after.parent_hash = last.hash();
        after.number = 0;
        assert_eq!(
            check_linkage(None, &[last, after]),
            Err(HeaderError::NonConsecutive {
                number: 0,
                previous: u64::MAX
            })
        );
    }

    #[test]
    fn a_header_travels_as_its_encoding() {
        let h = prague();
        let json = serde_json::to_value(&h).unwrap();
        assert_eq!(json, Json::from(hex::encode(h.encode())));
        let back: Header = serde_json::from_value(json).unwrap();
        assert_eq!(back, h);
    }
}
