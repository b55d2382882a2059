//! Canonical CBOR.
//!
//! Every structure is encoded with ciborium through serde, so the field order is the
//! declaration order and integers take their shortest form. Decoding is strict: the bytes
//! must be exactly what encoding the decoded value gives back. That rejects trailing bytes,
//! reordered or unknown map keys, non-minimal integers and indefinite lengths, so one value
//! has one encoding and every relay computes the same commitment from it.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest canonical object the decoder accepts (16 MiB).
pub const MAX_DECODE_LEN: usize = 16 * 1024 * 1024;

/// Why bytes were not accepted as canonical CBOR of a type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The value could not be encoded (a type with no CBOR form).
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// The encoder's message.
        reason: String,
    },
    /// The bytes are not CBOR of the expected shape.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// The bytes decode but are not the canonical encoding of their value.
    #[error("{what} is not in canonical form ({len} bytes, canonical form has {canonical_len})")]
    NotCanonical {
        /// What was being decoded.
        what: &'static str,
        /// Length of the input.
        len: usize,
        /// Length of the canonical encoding of the decoded value.
        canonical_len: usize,
    },
    /// The input is larger than [`MAX_DECODE_LEN`].
    #[error("{what} is {len} bytes, more than the limit of {MAX_DECODE_LEN}")]
    TooLarge {
        /// What was being decoded.
        what: &'static str,
        /// Length of the input.
        len: usize,
    },
}

/// Encodes `value` as canonical CBOR.
pub fn encode<T: Serialize + ?Sized>(what: &'static str, value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| CodecError::Encode {
        what,
        reason: e.to_string(),
    })?;
    Ok(out)
}

/// Decodes `bytes` as the canonical CBOR of a `T`, refusing any other encoding of it.
pub fn decode<T: Serialize + DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, CodecError> {
    if bytes.len() > MAX_DECODE_LEN {
        return Err(CodecError::TooLarge {
            what,
            len: bytes.len(),
        });
    }
    let value: T = ciborium::from_reader(bytes).map_err(|e| CodecError::Decode {
        what,
        reason: e.to_string(),
    })?;
    let canonical = encode(what, &value)?;
    if canonical != bytes {
        return Err(CodecError::NotCanonical {
            what,
            len: bytes.len(),
            canonical_len: canonical.len(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Pair {
        a: u64,
        b: String,
    }

    #[test]
    fn round_trip_and_strictness() {
        let p = Pair {
            a: 7,
            b: "x".into(),
        };
        let bytes = encode("pair", &p).unwrap();
        assert_eq!(decode::<Pair>("pair", &bytes).unwrap(), p);

        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            decode::<Pair>("pair", &trailing),
            Err(CodecError::NotCanonical { .. })
        ));

        // Same map with keys swapped: decodes, but is not canonical.
        let mut swapped = Vec::new();
        ciborium::into_writer(
            &ciborium::Value::Map(vec![
                (
                    ciborium::Value::Text("b".into()),
                    ciborium::Value::Text("x".into()),
                ),
                (
                    ciborium::Value::Text("a".into()),
                    ciborium::Value::Integer(7.into()),
                ),
            ]),
            &mut swapped,
        )
        .unwrap();
        assert!(matches!(
            decode::<Pair>("pair", &swapped),
            Err(CodecError::NotCanonical { .. })
        ));

        // Non-minimal integer: 7 encoded in two bytes (0x18 0x07).
        let mut long_int = bytes.clone();
        let pos = long_int.iter().position(|&b| b == 0x07).unwrap();
        long_int.splice(pos..=pos, [0x18, 0x07]);
        assert!(decode::<Pair>("pair", &long_int).is_err());

        assert!(matches!(
            decode::<Pair>("pair", &[0xff]),
            Err(CodecError::Decode { .. })
        ));
    }

    /// A canonical byte string (major type 2, four-byte length) of exactly `len` bytes.
    fn byte_string_of_len(len: usize) -> Vec<u8> {
        let content = len - 5;
        let mut out = vec![0x5a];
        out.extend(u32::try_from(content).unwrap().to_be_bytes());
        out.resize(len, 0xab);
        out
    }

    #[test]
    fn the_decode_limit_is_16_mib_exactly() {
        let limit = 16 * 1024 * 1024;
        let at = byte_string_of_len(limit);
        let value: ciborium::Value = decode("blob", &at).unwrap();
        assert_eq!(value, ciborium::Value::Bytes(at[5..].to_vec()));

        // One byte over is refused for its size, before it is parsed.
        for len in [limit + 1, limit + 2] {
            let over = byte_string_of_len(len);
            let err = decode::<ciborium::Value>("blob", &over).unwrap_err();
            assert_eq!(err, CodecError::TooLarge { what: "blob", len });
            assert_eq!(
                err.to_string(),
                format!("blob is {len} bytes, more than the limit of 16777216")
            );
        }
    }
}
