//! The hello each side sends first: protocol version, relay key, chains served.
//!
//! On the wire (one bidirectional stream, opened by the dialling side, each direction
//! finished after its hello): a 4-byte big-endian length, then the hello in deterministic
//! CBOR (RFC 8949 §4.2.1: map keys in bytewise order of their encodings, shortest integer
//! and length forms). A hello that does not re-encode to the same bytes is refused, so one
//! hello has exactly one encoding.

use std::{collections::BTreeSet, fmt};

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::{relay_key_hex, PROTOCOL_VERSION};

/// Largest encoded hello accepted, in bytes (the length prefix excluded).
pub const MAX_HELLO_BYTES: usize = 64 * 1024;
/// Most chains a hello may list.
pub const MAX_CHAINS: usize = 64;
/// Longest chain id in a hello, in bytes.
pub const MAX_CHAIN_ID_BYTES: usize = 128;

/// First frame each way: the sender's protocol version, its relay key (which must equal the
/// key it proved in TLS) and the chains it serves.
///
/// Fields are declared in the deterministic CBOR order of their names (`chains` < `version`
/// < `relay_key`: shorter text first), so the derived encoding is the canonical one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// Chain ids the sender serves: at most [`MAX_CHAINS`], each 1 to [`MAX_CHAIN_ID_BYTES`]
    /// bytes, no duplicates.
    pub chains: Vec<String>,
    /// The sender's protocol version ([`PROTOCOL_VERSION`]).
    pub version: u32,
    /// The sender's ed25519 relay key (a 32-byte CBOR byte string).
    #[serde(with = "key_bytes")]
    pub relay_key: [u8; 32],
}

/// Why a peer's hello was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HelloError {
    /// Longer than [`MAX_HELLO_BYTES`].
    #[error("hello of {len} bytes is above the {max}-byte limit")]
    TooLarge {
        /// The declared or received length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The stream's length does not match the hello's length prefix.
    #[error("hello stream carried {received} bytes after its length prefix {declared:?}")]
    Length {
        /// The length prefix (`None` if the stream ended within it).
        declared: Option<usize>,
        /// The bytes after the prefix.
        received: usize,
    },
    /// The hello stream was reset or stopped by the peer.
    #[error("hello stream aborted by the peer")]
    Aborted,
    /// Not CBOR of a hello.
    #[error("undecodable hello: {0}")]
    Undecodable(#[source] ciborium::de::Error<std::io::Error>),
    /// Decodable, but not in the one canonical encoding.
    #[error("hello is not in canonical CBOR")]
    NotCanonical,
    /// Another protocol version.
    #[error("version {got}, we speak {PROTOCOL_VERSION}")]
    Version {
        /// The peer's version.
        got: u32,
    },
    /// The hello names another key than the one the peer proved in TLS.
    #[error("hello claims relay key {claimed} but TLS proved {proved}")]
    KeyMismatch {
        /// The key in the hello, in hex.
        claimed: String,
        /// The TLS-verified key, in hex.
        proved: String,
    },
    /// More than [`MAX_CHAINS`] chains.
    #[error("hello lists {count} chains, at most {MAX_CHAINS} allowed")]
    TooManyChains {
        /// How many.
        count: usize,
    },
    /// A chain id that is empty or longer than [`MAX_CHAIN_ID_BYTES`].
    #[error("chain id {index} is {len} bytes, must be 1 to {MAX_CHAIN_ID_BYTES}")]
    ChainId {
        /// Its position in the list.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// A chain listed twice.
    #[error("chain {0:?} is listed twice")]
    DuplicateChain(String),
}

impl Hello {
    /// The hello of a relay with key `key` serving `chains`, at [`PROTOCOL_VERSION`].
    pub fn new(key: &VerifyingKey, chains: Vec<String>) -> Self {
        Self {
            chains,
            version: PROTOCOL_VERSION,
            relay_key: key.to_bytes(),
        }
    }

    /// The canonical CBOR encoding (without the length prefix).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Invariant: serialising strings, an integer and bytes into a Vec cannot fail (no
        // IO error, no unsupported type).
        ciborium::into_writer(self, &mut out).expect("a hello always serialises");
        out
    }

    /// Decodes a hello, refusing any encoding but the canonical one and any list outside the
    /// limits. The version and key are checked by [`Hello::check`].
    pub fn decode(bytes: &[u8]) -> Result<Self, HelloError> {
        if bytes.len() > MAX_HELLO_BYTES {
            return Err(HelloError::TooLarge {
                len: bytes.len(),
                max: MAX_HELLO_BYTES,
            });
        }
        let hello: Self = ciborium::from_reader(bytes).map_err(HelloError::Undecodable)?;
        if hello.encode() != bytes {
            return Err(HelloError::NotCanonical);
        }
        if hello.chains.len() > MAX_CHAINS {
            return Err(HelloError::TooManyChains {
                count: hello.chains.len(),
            });
        }
        let mut seen = BTreeSet::new();
        for (index, chain) in hello.chains.iter().enumerate() {
            if chain.is_empty() || chain.len() > MAX_CHAIN_ID_BYTES {
                return Err(HelloError::ChainId {
                    index,
                    len: chain.len(),
                });
            }
            if !seen.insert(chain.as_str()) {
                return Err(HelloError::DuplicateChain(chain.clone()));
            }
        }
        Ok(hello)
    }

    /// Checks a decoded peer hello against what TLS proved: our version, the proved key.
    pub fn check(&self, proved: &VerifyingKey) -> Result<(), HelloError> {
        if self.version != PROTOCOL_VERSION {
            return Err(HelloError::Version { got: self.version });
        }
        if self.relay_key != proved.to_bytes() {
            return Err(HelloError::KeyMismatch {
                claimed: hex::encode(self.relay_key),
                proved: relay_key_hex(proved),
            });
        }
        Ok(())
    }
}

/// The relay key as a CBOR byte string rather than serde's default array of 32 integers.
mod key_bytes {
    use super::fmt;
    use serde::{de, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(key: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(key)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        d.deserialize_bytes(KeyVisitor)
    }

    struct KeyVisitor;

    impl de::Visitor<'_> for KeyVisitor {
        type Value = [u8; 32];

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a 32-byte string")
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
            <[u8; 32]>::try_from(v).map_err(|_| E::invalid_length(v.len(), &self))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn hello() -> Hello {
        let key = SigningKey::from_bytes(&[3; 32]).verifying_key();
        Hello::new(&key, vec!["cn-shanghai-trade".into(), "kz-customs".into()])
    }

    #[test]
    fn round_trips_in_canonical_form() {
        let bytes = hello().encode();
        // Map of 3; first key "chains" (text of 6), as RFC 8949 §4.2.1 orders them.
        assert_eq!(&bytes[..2], &[0xa3, 0x66]);
        assert_eq!(Hello::decode(&bytes).expect("decodes"), hello());
    }

    #[test]
    fn refuses_other_encodings_of_the_same_hello() {
        // The key as an array of integers instead of a byte string.
        #[derive(Serialize)]
        struct Loose {
            chains: Vec<String>,
            version: u32,
            relay_key: [u8; 32],
        }
        let h = hello();
        let mut bytes = Vec::new();
        ciborium::into_writer(
            &Loose {
                chains: h.chains,
                version: h.version,
                relay_key: h.relay_key,
            },
            &mut bytes,
        )
        .expect("encodes");
        assert!(matches!(
            Hello::decode(&bytes),
            Err(HelloError::Undecodable(_))
        ));

        // Fields in declaration order of the API rather than canonical order.
        #[derive(Serialize)]
        struct Reordered<'a> {
            version: u32,
            #[serde(with = "key_bytes")]
            relay_key: [u8; 32],
            chains: &'a [String],
        }
        let h = hello();
        let mut bytes = Vec::new();
        ciborium::into_writer(
            &Reordered {
                version: h.version,
                relay_key: h.relay_key,
                chains: &h.chains,
            },
            &mut bytes,
        )
        .expect("encodes");
        assert!(matches!(
            Hello::decode(&bytes),
            Err(HelloError::NotCanonical)
        ));
    }

    #[test]
    fn refuses_lists_outside_the_limits() {
        let mut h = hello();
        h.chains = (0..=MAX_CHAINS).map(|i| format!("chain-{i}")).collect();
        assert!(matches!(
            Hello::decode(&h.encode()),
            Err(HelloError::TooManyChains { count }) if count == MAX_CHAINS + 1
        ));
        let mut h = hello();
        h.chains.push("x".repeat(MAX_CHAIN_ID_BYTES + 1));
        assert!(matches!(
            Hello::decode(&h.encode()),
            Err(HelloError::ChainId { index: 2, .. })
        ));
        let mut h = hello();
        h.chains.push(String::new());
        assert!(matches!(
            Hello::decode(&h.encode()),
            Err(HelloError::ChainId { len: 0, .. })
        ));
        let mut h = hello();
        h.chains.push("kz-customs".into());
        assert!(matches!(
            Hello::decode(&h.encode()),
            Err(HelloError::DuplicateChain(_))
        ));
        assert!(matches!(
            Hello::decode(&vec![0; MAX_HELLO_BYTES + 1]),
            Err(HelloError::TooLarge { .. })
        ));
    }

    #[test]
    fn check_names_version_and_key() {
        let proved = SigningKey::from_bytes(&[3; 32]).verifying_key();
        assert!(hello().check(&proved).is_ok());
        let mut h = hello();
        h.version = 2;
        let err = h.check(&proved).expect_err("version");
        assert_eq!(err.to_string(), "version 2, we speak 1");
        let other = SigningKey::from_bytes(&[4; 32]).verifying_key();
        let err = hello().check(&other).expect_err("key");
        assert!(matches!(err, HelloError::KeyMismatch { .. }), "{err}");
    }
}
