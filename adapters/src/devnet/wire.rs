//! The JSON shapes the devnet RPC speaks that are specific to the devnet (the shared ones,
//! such as [`OutboundMessage`] and [`Receipt`], are in [`crate::types`]).
//!
//! They are defined here, with the client ([`super::DevnetAdapter`]), so that a relay can
//! talk to a devnet chain without linking the chain itself; the chain program
//! (`corridor-devnet`) serves the same types.
//!
//! Errors are `application/problem+json` (RFC 9457) documents ([`Problem`]): `type` is
//! `urn:corridor:problem:<name>`, plus `title`, `status` and a `detail` that names the
//! field, height or sequence at fault.
//!
//! [`OutboundMessage`]: crate::types::OutboundMessage
//! [`Receipt`]: crate::types::Receipt

use corridor_light_client::any::{AnyFamily, AnyLightBlock};
use corridor_light_client::client::TrustRoot;
use corridor_light_client::hash;
use corridor_light_client::native::LightBlock;
use corridor_light_client::verifier::Verifier;
use corridor_light_client::{ChainId, Hash32, Height, Time};
use serde::{Deserialize, Serialize};

/// Prefix of every problem type.
pub const PROBLEM_PREFIX: &str = "urn:corridor:problem:";

/// The answer to an accepted transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxAccepted {
    /// The message id (idempotency key).
    pub id: Hash32,
    /// Destination chain.
    pub destination: ChainId,
    /// Channel.
    pub channel: u32,
    /// Sequence the outbox assigned.
    pub sequence: u64,
    /// Whether the same message had been submitted before (and this is its first answer).
    pub duplicate: bool,
}

/// A position in the items committed over a range of blocks: the leaf `index` of the block
/// at `height`. Pages of `/outbox` and `/receipts` start at one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Cursor {
    /// Block height.
    pub height: Height,
    /// Leaf index in that block, from 0.
    pub index: u64,
}

/// One page of `/outbox` or `/receipts`: items in (height, index) order, at most the
/// chain's page budget of JSON (but always at least one item when any remain), and where
/// the next page starts when more remain in the range asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts; `None` when the range is done.
    pub next: Option<Cursor>,
}

/// What the devnet node reports about itself (admin view; includes unpublished state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The chain.
    pub chain_id: ChainId,
    /// Highest block produced.
    pub produced_height: Height,
    /// Highest block published (below `produced_height` while blocks are withheld).
    pub published_height: Height,
    /// Hash of the highest published header.
    pub published_hash: Hash32,
    /// Time of the highest published header.
    pub published_time: Time,
    /// Producer ticks since start (they go on while stalled).
    pub ticks: u64,
    /// Fault modes in force.
    pub faults: FaultState,
    /// Messages waiting for a block.
    pub pending_messages: usize,
    /// Receipts waiting for a block.
    pub pending_receipts: usize,
}

/// The inbox's light client of one source chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientStatus {
    /// The source chain.
    pub chain_id: ChainId,
    /// The client's trust root (public: a height and that header's hash).
    pub root: TrustRoot,
    /// Its latest trusted light block, tagged with the source chain's family; `None` until
    /// a delivery brought the root block.
    pub latest: Option<AnyLightBlock>,
    /// Whether misbehaviour froze it.
    pub frozen: bool,
}

impl ClientStatus {
    /// The latest trusted height, if any.
    pub fn latest_height(&self) -> Option<Height> {
        self.latest.as_ref().map(|b| AnyFamily.block_height(b))
    }

    /// What a bundle of a native source chain for this client must start from (a block of
    /// another family counts as none: [`crate::bundle::build_bundle`] builds native bundles).
    pub fn receiver_trust(&self) -> crate::bundle::ReceiverTrust<'_, LightBlock> {
        match &self.latest {
            Some(AnyLightBlock::Corridor(block)) => crate::bundle::ReceiverTrust::Latest(block),
            _ => crate::bundle::ReceiverTrust::RootOnly(self.root.height),
        }
    }
}

/// The answer to `POST /deliveries/batch` when at least one bundle was taken: their
/// acknowledgements in order, and the problem of the first bundle refused, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryBatchAnswer {
    /// One per bundle taken, in the batch's order.
    pub acks: Vec<crate::types::DeliveryAck>,
    /// Why the bundle at index `acks.len()` was refused (the rest were not looked at).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Problem>,
}

/// An RFC 9457 problem document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// `urn:corridor:problem:<name>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary (the name, in words).
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What exactly is wrong.
    pub detail: String,
}

impl Problem {
    /// A problem from its name, status and detail.
    pub fn new(name: &str, status: u16, detail: String) -> Self {
        Self {
            kind: format!("{PROBLEM_PREFIX}{name}"),
            title: name.replace('-', " "),
            status,
            detail,
        }
    }

    /// The name: `type` without [`PROBLEM_PREFIX`].
    pub fn name(&self) -> &str {
        self.kind.strip_prefix(PROBLEM_PREFIX).unwrap_or(&self.kind)
    }
}

/// Fault modes, for tests: set in `[faults]` or through `POST /admin/faults`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultState {
    /// Also sign a conflicting block (another state root, same validators) at this height;
    /// it is served at `GET /blocks/{height}/conflicting`.
    #[serde(default)]
    pub fork_at_height: Option<u64>,
    /// Serve every block produced while this is on with one corrupted commit signature.
    #[serde(default)]
    pub bad_signatures: bool,
    /// Keep producing blocks but publish none of them while this is on.
    #[serde(default)]
    pub withhold: bool,
    /// Produce no blocks while this is on (transactions are still accepted).
    #[serde(default)]
    pub stall: bool,
}

/// The admin RPC's bearer token: a secret, never printed (its `Debug` is redacted).
#[derive(Clone, Eq)]
pub struct AdminToken(String);

/// Shortest admin token accepted, bytes.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

impl AdminToken {
    /// A token from its text: at least [`MIN_ADMIN_TOKEN_LEN`] bytes of visible ASCII.
    pub fn new(text: impl Into<String>) -> Result<Self, String> {
        let text = text.into();
        if text.len() < MIN_ADMIN_TOKEN_LEN {
            return Err(format!(
                "must be at least {MIN_ADMIN_TOKEN_LEN} bytes, got {}",
                text.len()
            ));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be visible ASCII without spaces".into());
        }
        Ok(Self(text))
    }

    /// A fresh random token (64 hex digits) for an embedded chain (the demo, tests).
    ///
    /// The randomness is the standard library's per-process hash keys, which it seeds from
    /// the operating system: good enough for a devnet's loopback admin RPC. A production
    /// operator writes its token with a real secret generator.
    pub fn generate() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut seed = Vec::with_capacity(32);
        for round in 0u64..4 {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(round);
            hasher.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            seed.extend_from_slice(&hasher.finish().to_le_bytes());
        }
        Self(hex::encode(hash::sha3(&seed).0))
    }

    /// The token's text, to put in an `Authorization: Bearer` header.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Whether `given` is this token, in time that does not depend on where they differ:
    /// both are hashed and the digests compared in full.
    pub fn matches(&self, given: &str) -> bool {
        use sha2::{Digest, Sha256};
        let a = Sha256::digest(self.0.as_bytes());
        let b = Sha256::digest(given.as_bytes());
        let diff = a
            .iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y));
        core::hint::black_box(diff) == 0
    }
}

impl PartialEq for AdminToken {
    fn eq(&self, other: &Self) -> bool {
        self.matches(&other.0)
    }
}

impl core::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// Where the outbox put a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLocation {
    /// Destination chain.
    pub destination: ChainId,
    /// Channel.
    pub channel: u32,
    /// Sequence assigned.
    pub sequence: u64,
    /// Block that committed it, once committed.
    pub height: Option<Height>,
}
