//! The `evm` chain family: Ethereum-style chains (Ethereum itself, Clique-sealed consortium
//! chains, and EVM chains with no usable seal).
//!
//! - [`rlp`]: strict RLP decoding (non-canonical input refused with its reason) and
//!   canonical encoding.
//! - [`header`]: block headers of every shape from Frontier (15 fields) to Prague (21), from
//!   RLP and from JSON-RPC objects; `keccak256(rlp(header))`; parent-hash linkage.
//! - [`trie`]: Merkle-Patricia proofs (inclusion and exclusion) with size bounds checked
//!   before hashing, and a root builder for full key sets.
//! - [`account`]: EIP-1186 (`eth_getProof`) account and storage proofs.
//! - [`receipt`]: receipts (legacy and typed), receipt proofs against a receipts root, and
//!   logs inside a proven receipt.
//! - [`clique`]: Clique (EIP-225) seals: signer recovery, signer sets from checkpoints,
//!   in-turn and out-of-turn difficulty, the recent-signer rule and signer votes.
//! - [`attest`]: k-of-n attestations of a header hash by configured operator keys, for
//!   chains with no usable seal. This is a weaker trust model than a light client.
//! - [`verifier`]: [`EvmVerifier`], which checks a header (or a chain of headers from a
//!   trusted checkpoint) under the configured [`TrustRule`] and checks receipt proofs and
//!   logs against a [`VerifiedHeader`].
//! - [`family`]: [`EvmFamily`], the family behind the generic [`crate::client::LightClient`]
//!   and [`crate::bundle::verify_bundle`]: one header per light block ([`EvmBlock`]),
//!   adjacent Clique steps, attested headers at any later height, Clique equivocation as
//!   the only Clique misbehaviour, and corridor logs proven against the receipts root.
//! - `vectors` (feature `testkit`): the runner of the shared EVM vector folders.
//!
//! ## Two ways in
//! [`EvmVerifier`] checks a chain of headers from a configured checkpoint in one call
//! ([`EvmLightBlock`], [`EvmTrustedState`]), for a caller that keeps its own state (the
//! vector runner). [`EvmFamily`] is the same rules for the generic client, where the chain's
//! parameters ride in the root block built from configuration (see [`family`]). Header
//! times are seconds, the crate's [`crate::Time`] nanoseconds.
//!
//! BSC's Parlia is not implemented: its seal is Clique's with the chain id prepended, but
//! its validator set and fast-finality vote attestations live in `extraData` in a format
//! that changed across forks and for which no public vector is available; a Parlia chain
//! can be followed with [`attest`] until then.
//!
//! ## Implements
//! - Ethereum Yellow Paper, Appendix B (RLP), Appendix D (Modified Merkle Patricia Trie),
//!   section 4.3 (block header), section 4.3.1 (receipts).
//! - EIP-1186 (`eth_getProof`), EIP-2718 (typed receipts), EIP-225 (Clique).

pub mod account;
pub mod attest;
pub mod clique;
pub mod family;
pub mod header;
pub mod receipt;
pub mod rlp;
pub mod trie;
#[cfg(feature = "testkit")]
pub mod vectors;
pub mod verifier;

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha3::{Digest, Keccak256};

use crate::types::Hash32;

pub use account::{Account, AccountError, AccountProof, StorageProof};
pub use attest::{AttestError, Attestation, AttestorKey, WeakTrustAttestationQuorum};
pub use clique::{CliqueConfig, CliqueError, CliqueSnapshot};
pub use family::{
    CorridorContracts, EvmBlock, EvmFamily, EvmLeafError, EvmLogProof, EvmSeal, EvmTrusted,
};
pub use header::{Header, HeaderError};
pub use receipt::{Log, Receipt, ReceiptError, ReceiptProof};
pub use rlp::RlpError;
pub use trie::{ProofError, ProofLimits};
pub use verifier::{
    EvmError, EvmLightBlock, EvmTrustedState, EvmVerifier, TrustRule, VerifiedHeader,
};

/// `keccak256("")`: the code hash of an account without code.
pub const EMPTY_CODE_HASH: Hash32 = Hash32([
    0xc5, 0xd2, 0x46, 0x01, 0x86, 0xf7, 0x23, 0x3c, 0x92, 0x7e, 0x7d, 0xb2, 0xdc, 0xc7, 0x03, 0xc0,
    0xe5, 0x00, 0xb6, 0x53, 0xca, 0x82, 0x27, 0x3b, 0x7b, 0xfa, 0xd8, 0x04, 0x5d, 0x85, 0xa4, 0x70,
]);

/// `keccak256(0x80)`: the root of an empty trie.
pub const EMPTY_TRIE_ROOT: Hash32 = Hash32([
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
]);

/// `keccak256(0xc0)`: the ommers hash of a block without uncles.
pub const EMPTY_OMMERS_HASH: Hash32 = Hash32([
    0x1d, 0xcc, 0x4d, 0xe8, 0xde, 0xc7, 0x5d, 0x7a, 0xab, 0x85, 0xb5, 0x67, 0xb6, 0xcc, 0xd4, 0x1a,
    0xd3, 0x12, 0x45, 0x1b, 0x94, 0x8a, 0x74, 0x13, 0xf0, 0xa1, 0x42, 0xfd, 0x40, 0xd4, 0x93, 0x47,
]);

/// Keccak-256 (the original Keccak padding, as Ethereum uses it; not NIST SHA3-256).
pub fn keccak256(data: &[u8]) -> Hash32 {
    Hash32(Keccak256::digest(data).into())
}

/// A JSON field (of a JSON-RPC object) that is missing or not the expected `0x` hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("JSON field {field}: {reason}")]
pub struct JsonError {
    /// The field, by its JSON-RPC name.
    pub field: &'static str,
    /// What is wrong.
    pub reason: &'static str,
}

/// A 20-byte account address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The zero address.
    pub const ZERO: Self = Self([0; 20]);

    /// Parses `0x`-prefixed (or bare) hex of 20 bytes.
    pub fn from_hex(s: &str) -> Result<Self, hex::FromHexError> {
        let mut out = [0u8; 20];
        hex::decode_to_slice(s.strip_prefix("0x").unwrap_or(s), &mut out)?;
        Ok(Self(out))
    }

    /// The address of an uncompressed secp256k1 public key (`x || y`, 64 bytes): the last 20
    /// bytes of its Keccak-256.
    pub fn from_public_key(xy: &[u8; 64]) -> Self {
        let h = keccak256(xy);
        let mut out = [0u8; 20];
        out.copy_from_slice(h.0.get(12..).unwrap_or(&[0; 20]));
        Self(out)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::types::bytes_or_hex::<D, 20>(d).map(Self)
    }
}

/// Serde for byte strings of light blocks and proofs: CBOR bytes, or hex in human-readable
/// formats (JSON). Lengths are bounded where the bytes are used, before any hashing.
pub(crate) mod serde_bytes {
    use core::fmt;

    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};

    /// Serializes `bytes`.
    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(bytes))
        } else {
            s.serialize_bytes(bytes)
        }
    }

    struct BytesVisitor;

    impl Visitor<'_> for BytesVisitor {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("bytes or hex digits")
        }
        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<Vec<u8>, E> {
            hex::decode(v.strip_prefix("0x").unwrap_or(v))
                .map_err(|e| E::custom(format!("bad hex: {e}")))
        }
    }

    /// Deserializes bytes.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() {
            d.deserialize_str(BytesVisitor)
        } else {
            d.deserialize_byte_buf(BytesVisitor)
        }
    }

    /// A list of byte strings (proof nodes).
    pub(crate) mod list {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        #[derive(Serialize, Deserialize)]
        #[serde(transparent)]
        struct Item(#[serde(with = "super")] Vec<u8>);

        /// Serializes `items`.
        pub(crate) fn serialize<S: Serializer>(items: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(items.iter().map(|i| Item(i.clone())))
        }

        /// Deserializes a list of byte strings.
        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Vec<Vec<u8>>, D::Error> {
            Ok(Vec::<Item>::deserialize(d)?
                .into_iter()
                .map(|i| i.0)
                .collect())
        }
    }
}

/// A 256-bit unsigned integer, big-endian (balances, difficulty, base fee, storage values).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct U256(pub [u8; 32]);

impl U256 {
    /// Zero.
    pub const ZERO: Self = Self([0; 32]);

    /// From big-endian bytes of at most 32 (longer input keeps its low 32 bytes; callers
    /// bound the width first).
    pub fn from_be_slice(be: &[u8]) -> Self {
        let mut out = [0u8; 32];
        let n = be.len().min(32);
        let src = be.get(be.len().saturating_sub(n)..).unwrap_or_default();
        if let Some(dst) = out.get_mut(32usize.saturating_sub(n)..) {
            dst.copy_from_slice(src);
        }
        Self(out)
    }

    /// From a `u64`.
    pub fn from_u64(v: u64) -> Self {
        Self::from_be_slice(&v.to_be_bytes())
    }

    /// The value as a `u64`, if it fits.
    pub fn to_u64(&self) -> Option<u64> {
        let (high, low) = self.0.split_at(24);
        if high.iter().any(|&b| b != 0) {
            return None;
        }
        // `|` adds the byte: the low byte of `acc << 8` is zero (so `^` would do the same).
        Some(low.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// The minimal big-endian bytes (empty for zero).
    pub fn to_minimal_be(&self) -> &[u8] {
        let skip = self.0.iter().take_while(|&&b| b == 0).count();
        self.0.get(skip..).unwrap_or_default()
    }

    /// Whether this is zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 32]
    }
}

impl fmt::Display for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.to_minimal_be();
        if m.is_empty() {
            f.write_str("0x0")
        } else {
            let s = hex::encode(m);
            write!(f, "0x{}", s.trim_start_matches('0'))
        }
    }
}

impl fmt::Debug for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_the_hashes_they_name() {
        assert_eq!(keccak256(b""), EMPTY_CODE_HASH);
        assert_eq!(keccak256(&[0x80]), EMPTY_TRIE_ROOT);
        assert_eq!(keccak256(&[0xc0]), EMPTY_OMMERS_HASH);
    }

    #[test]
    fn u256_conversions() {
        let v = U256::from_u64(0x1234);
        assert_eq!(v.to_minimal_be(), &[0x12, 0x34]);
        assert_eq!(v.to_u64(), Some(0x1234));
        assert_eq!(v.to_string(), "0x1234");
        assert_eq!(U256::ZERO.to_string(), "0x0");
        assert!(U256([1; 32]).to_u64().is_none());
    }

    #[test]
    fn addresses_read_hex_with_or_without_prefix_and_print_it_back() {
        let text = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf";
        let a = Address::from_hex(text).unwrap();
        assert_eq!(a.0[0], 0x7e);
        assert_eq!(a.0[19], 0xdf);
        assert_eq!(Address::from_hex(&text[2..]).unwrap(), a);
        assert_eq!(a.to_string(), text);
        assert_eq!(format!("{a:?}"), text);
        assert!(Address::from_hex("0x7e5f").is_err());
        assert!(Address::from_hex(&format!("{text}00")).is_err());
    }

    #[test]
    fn the_address_of_a_public_key_is_its_hash_tail() {
        // Private key 1: its public key is the generator, its address a well-known one.
        let xy: [u8; 64] = hex::decode(
            "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798\
             483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
        )
        .unwrap()
        .try_into()
        .unwrap();
        assert_eq!(
            Address::from_public_key(&xy),
            Address::from_hex("7e5f4552091a69125d5dfcb7b8c2659029395bdf").unwrap()
        );
    }

    #[test]
    fn addresses_are_hex_in_json_and_bytes_in_cbor() {
        let a = Address([0xab; 20]);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(20)));
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), a);
        let mut cbor = Vec::new();
        ciborium::into_writer(&a, &mut cbor).unwrap();
        // A CBOR byte string of 20 (0x54), then the bytes.
        assert_eq!(cbor[0], 0x54);
        assert_eq!(&cbor[1..], &[0xab; 20]);
        assert_eq!(
            ciborium::from_reader::<Address, _>(cbor.as_slice()).unwrap(),
            a
        );
        assert!(serde_json::from_str::<Address>("\"abab\"").is_err());
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Bytes(#[serde(with = "serde_bytes")] Vec<u8>);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Nodes(#[serde(with = "serde_bytes::list")] Vec<Vec<u8>>);

    #[test]
    fn byte_strings_are_hex_in_json_and_bytes_in_cbor() {
        let b = Bytes(vec![1, 2, 0xff]);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(json, "\"0102ff\"");
        assert_eq!(serde_json::from_str::<Bytes>(&json).unwrap(), b);
        assert_eq!(serde_json::from_str::<Bytes>("\"0x0102ff\"").unwrap(), b);
        assert_eq!(
            serde_json::from_str::<Bytes>("\"\"").unwrap(),
            Bytes(vec![])
        );
        let e = serde_json::from_str::<Bytes>("\"0x0g\"").unwrap_err();
        assert!(e.to_string().contains("bad hex"), "{e}");
        let e = serde_json::from_str::<Bytes>("12").unwrap_err();
        assert!(e.to_string().contains("bytes or hex digits"), "{e}");
        let mut cbor = Vec::new();
        ciborium::into_writer(&b, &mut cbor).unwrap();
        assert_eq!(cbor, [0x43, 1, 2, 0xff]);
        assert_eq!(
            ciborium::from_reader::<Bytes, _>(cbor.as_slice()).unwrap(),
            b
        );
        // A deserializer that lends its bytes (serde's own value deserializer).
        let lent = serde::de::value::BytesDeserializer::<serde::de::value::Error>::new(&[7, 8]);
        assert_eq!(serde_bytes::deserialize(lent), Ok(vec![7, 8]));

        let nodes = Nodes(vec![vec![0xaa], vec![], vec![1, 2]]);
        let json = serde_json::to_string(&nodes).unwrap();
        assert_eq!(json, "[\"aa\",\"\",\"0102\"]");
        assert_eq!(serde_json::from_str::<Nodes>(&json).unwrap(), nodes);
        let mut cbor = Vec::new();
        ciborium::into_writer(&nodes, &mut cbor).unwrap();
        assert_eq!(
            ciborium::from_reader::<Nodes, _>(cbor.as_slice()).unwrap(),
            nodes
        );
    }

    #[test]
    fn u256_reads_big_endian_and_keeps_the_low_32_bytes() {
        let mut be = vec![0x99; 3];
        be.extend_from_slice(&[0; 31]);
        be.push(5);
        let v = U256::from_be_slice(&be);
        assert_eq!(v.to_u64(), Some(5));
        assert_eq!(U256::from_be_slice(&[1, 0]).0[30..], [1, 0]);
        assert_eq!(U256::from_be_slice(&[]), U256::ZERO);
        assert_eq!(U256::from_u64(u64::MAX).to_u64(), Some(u64::MAX));
        assert_eq!(
            U256::from_u64(0x0102_0304_0506_0708).to_u64(),
            Some(0x0102_0304_0506_0708)
        );
        let mut over = U256::from_u64(1);
        over.0[23] = 1;
        assert_eq!(over.to_u64(), None);
        assert!(U256::ZERO.is_zero());
        assert!(!U256::from_u64(1).is_zero());
        assert!(!over.is_zero());
        assert_eq!(U256::ZERO.to_minimal_be(), &[] as &[u8]);
        assert_eq!(U256([0xff; 32]).to_minimal_be(), &[0xff; 32]);
        // Leading zero nibbles are not printed either.
        assert_eq!(U256::from_u64(0x0abc).to_string(), "0xabc");
        assert_eq!(format!("{:?}", U256::from_u64(0x10)), "0x10");
    }
}
