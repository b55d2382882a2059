//! Domain-separated SHA3-256.
//!
//! Every hash of the native family is `SHA3-256(tag || bytes)` with a tag that names the
//! structure and its version, so bytes of one kind can never be replayed as another.

use sha3::{Digest, Sha3_256};

use crate::types::Hash32;

/// Tag of a native header hash.
pub const TAG_HEADER: &[u8] = b"corridor/header/v1\0";
/// Tag of the bytes a validator signs for a commit vote.
pub const TAG_VOTE: &[u8] = b"corridor/vote/v1\0";
/// Tag of a validator-set entry (a Merkle leaf's data).
pub const TAG_VALIDATOR: &[u8] = b"corridor/validator/v1\0";
/// Tag of the bytes a trader signs.
pub const TAG_TRADER_SIGN: &[u8] = b"corridor/message-sign/v1\0";
/// Tag of a trade message commitment.
pub const TAG_MESSAGE: &[u8] = b"corridor/message/v1\0";
/// Tag of a delivery receipt commitment.
pub const TAG_RECEIPT: &[u8] = b"corridor/receipt/v1\0";

/// SHA3-256 of `tag || data`.
pub fn tagged(tag: &[u8], data: &[u8]) -> Hash32 {
    let mut h = Sha3_256::new();
    h.update(tag);
    h.update(data);
    Hash32(h.finalize().into())
}

/// Plain SHA3-256 of `data`.
pub fn sha3(data: &[u8]) -> Hash32 {
    Hash32(Sha3_256::digest(data).into())
}
