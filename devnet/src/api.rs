//! The errors the devnet chain answers with.
//!
//! Every [`ChainError`] goes out as an `application/problem+json` document (RFC 9457,
//! [`Problem`]): `type` is `urn:corridor:problem:<name>` with `<name>` one of
//! [`ChainError::problem`], plus `title`, `status` and a `detail` that names the field,
//! height or sequence at fault. The JSON shapes of the RPC live with its client, in
//! [`corridor_adapters::devnet`].

use corridor_adapters::devnet::Problem;
use corridor_light_client::envelope::EnvelopeError;
use corridor_light_client::signature::PublicKey;
use corridor_light_client::{ChainId, Height};

use crate::store::StoreError;

/// Why the devnet chain refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// A chain id field names another chain.
    #[error("{field} is {got}, but this chain is {expected}")]
    WrongChain {
        /// The field.
        field: &'static str,
        /// This chain.
        expected: ChainId,
        /// The value given.
        got: ChainId,
    },
    /// The destination is not a peer of this chain.
    #[error("body.destination_chain {0} is not a peer of this chain")]
    UnknownDestination(ChainId),
    /// The sender is not registered.
    #[error("body.sender {0} is not a registered trader")]
    UnknownTrader(PublicKey),
    /// The envelope breaks a rule.
    #[error("message refused: {0}")]
    InvalidMessage(EnvelopeError),
    /// Too many messages wait for a block.
    #[error("outbox is full: {0} messages wait for a block")]
    OutboxFull(usize),
    /// The source chain has no trust root here.
    #[error("no light client of source chain {0}")]
    UnknownSource(ChainId),
    /// The bundle carries too many light blocks.
    #[error("bundle carries {got} light blocks, at most {max} allowed")]
    TooManyLightBlocks {
        /// Given.
        got: usize,
        /// Limit.
        max: usize,
    },
    /// A light block of the bundle did not verify.
    #[error("light block at height {height} refused: {reason}")]
    InvalidLightBlock {
        /// Its height.
        height: Height,
        /// Why.
        reason: String,
    },
    /// Too little of the trusted validators signed a light block: add blocks in between.
    #[error("not enough trust to reach height {height}: include the light blocks in between")]
    NotEnoughTrust {
        /// The height.
        height: Height,
    },
    /// Two valid, different headers at one height: the light client froze.
    #[error("misbehaviour of {chain} at height {height}: its light client is now frozen")]
    Misbehaviour {
        /// The source chain.
        chain: ChainId,
        /// The height.
        height: Height,
    },
    /// The source's light client is frozen.
    #[error("light client of {0} is frozen after misbehaviour")]
    ClientFrozen(ChainId),
    /// The proof's height is not trusted and the bundle did not bring its block.
    #[error("height {height} of {chain} is not trusted: include its light block")]
    UntrustedHeight {
        /// The source chain.
        chain: ChainId,
        /// The height.
        height: Height,
    },
    /// The inclusion proof does not lead to the trusted root.
    #[error("inclusion proof against messages root at height {height} fails: {reason}")]
    InvalidProof {
        /// The height.
        height: Height,
        /// Why.
        reason: String,
    },
    /// Already delivered.
    #[error("{source_chain} channel {channel} sequence {sequence} was already delivered")]
    Duplicate {
        /// The source chain.
        source_chain: ChainId,
        /// Channel.
        channel: u32,
        /// Sequence.
        sequence: u64,
    },
    /// Not the next sequence of its channel.
    #[error("{source_chain} channel {channel}: expected sequence {expected}, got {got}")]
    OutOfOrder {
        /// The source chain.
        source_chain: ChainId,
        /// Channel.
        channel: u32,
        /// The next sequence.
        expected: u64,
        /// The one given.
        got: u64,
    },
    /// Too many receipts wait for a block.
    #[error("inbox is full: {0} receipts wait for a block")]
    InboxFull(usize),
    #[error("{blocks} light blocks to verify are over this address's budget: retry in {retry_after_secs} s")]
    /// The light blocks a delivery brings are over its sender's verification budget.
    RateLimited {
        /// Light blocks the delivery would have verified.
        blocks: usize,
        /// Seconds until the budget has them.
        retry_after_secs: u64,
    },
    #[error("batch refused: {0}")]
    /// A batch of deliveries that is not consecutive sequences of one lane, or too long.
    BadBatch(String),
    /// Nothing there (or withheld).
    #[error("{0} not found")]
    NotFound(String),
    /// A request that does not parse.
    #[error("{0}")]
    Malformed(String),
    /// A bad fault setting.
    #[error("{0}")]
    BadFaults(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node is shutting down.
    #[error("the chain is shutting down")]
    Stopped,
}

impl ChainError {
    /// The problem name (the last part of the problem `type`).
    pub fn problem(&self) -> &'static str {
        match self {
            Self::WrongChain { .. } => "wrong-chain",
            Self::UnknownDestination(_) => "unknown-destination",
            Self::UnknownTrader(_) => "unknown-trader",
            Self::InvalidMessage(e) => match e {
                EnvelopeError::PayloadTooLarge { .. } => "payload-too-large",
                EnvelopeError::BadSignature(_) => "bad-signature",
                EnvelopeError::SameChain(_) => "wrong-chain",
                EnvelopeError::Expired { .. } => "expired",
                _ => "invalid-message",
            },
            Self::OutboxFull(_) => "outbox-full",
            Self::UnknownSource(_) => "unknown-source",
            Self::TooManyLightBlocks { .. } => "too-many-light-blocks",
            Self::InvalidLightBlock { .. } => "invalid-light-block",
            Self::NotEnoughTrust { .. } => "not-enough-trust",
            Self::Misbehaviour { .. } => "misbehaviour",
            Self::ClientFrozen(_) => "client-frozen",
            Self::UntrustedHeight { .. } => "untrusted-height",
            Self::InvalidProof { .. } => "invalid-proof",
            Self::Duplicate { .. } => "duplicate",
            Self::OutOfOrder { .. } => "out-of-order",
            Self::InboxFull(_) => "inbox-full",
            Self::RateLimited { .. } => "rate-limited",
            Self::BadBatch(_) => "bad-batch",
            Self::NotFound(_) => "not-found",
            Self::Malformed(_) => "malformed-request",
            Self::BadFaults(_) => "bad-faults",
            Self::Store(_) => "store-failure",
            Self::Stopped => "stopped",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidMessage(EnvelopeError::PayloadTooLarge { .. }) => 413,
            Self::InvalidMessage(EnvelopeError::BadSignature(_)) => 401,
            Self::UnknownTrader(_) => 403,
            Self::Duplicate { .. } | Self::OutOfOrder { .. } => 409,
            Self::NotFound(_) => 404,
            Self::Malformed(_) | Self::BadFaults(_) | Self::BadBatch(_) => 400,
            Self::RateLimited { .. } => 429,
            Self::OutboxFull(_) | Self::InboxFull(_) | Self::Stopped => 503,
            Self::Store(_) => 500,
            _ => 422,
        }
    }
}

impl From<&ChainError> for Problem {
    fn from(e: &ChainError) -> Self {
        Self::new(e.problem(), e.status(), e.to_string())
    }
}
