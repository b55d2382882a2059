//! Chain adapters of corridor: the clients a relay talks to partner chains with.
//!
//! A relay talks to every partner chain through a [`ChainAdapter`]: chain status, light
//! blocks, outbound trade messages with their inclusion proofs, inbound deliveries and
//! receipts. One implementation exists per chain family and endpoint kind.
//!
//! Layout:
//! - [`adapter`]: the async [`ChainAdapter`] trait (and what each method promises about
//!   cancellation).
//! - [`any`]: [`any::AnyAdapter`], an adapter of one family as one of the sum family
//!   `AnyFamily`, for a relay core that follows chains of several families.
//! - [`types`]: what crosses the adapter boundary: [`ChainStatus`], [`OutboundMessage`],
//!   [`ProofBundle`], [`Receipt`], [`ReceiptProof`], [`DeliveryAck`].
//! - [`error`]: the typed [`AdapterError`] (unreachable, unavailable, not found, invalid
//!   response, rejected by the chain, unsupported) and which of them are transient.
//! - [`retry`]: exponential backoff with a bound for transient errors.
//! - [`bundle`]: builds a [`ProofBundle`] for a receiver from what the receiver already
//!   trusts, fetching the light blocks a bisection needs.
//! - [`devnet`]: [`devnet::DevnetAdapter`], a client of the devnet partner chain's RPC, and
//!   the JSON shapes that RPC speaks. The chain itself is the `corridor-devnet` crate.
//! - [`cometbft`]: [`cometbft::CometBftAdapter`], a client of CometBFT's RPC.
//! - [`evm`]: [`evm::EvmAdapter`], a client of an EVM chain's JSON-RPC with corridor's
//!   outbox and inbox contracts (`adapters/evm-contracts/`).
//!
//! This crate holds clients only: it links no store and no HTTP server.
//!
//! Dependencies point one way: `corridor-light-client` <- this crate <- `corridor-devnet`
//! (the devnet chain program) <- the relay.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod adapter;
pub mod any;
pub mod bundle;
pub mod cometbft;
pub mod devnet;
pub mod error;
pub mod evm;
mod http;
pub mod retry;
pub mod types;

pub use adapter::ChainAdapter;
pub use error::AdapterError;
pub use http::MAX_RESPONSE_BYTES;
pub use retry::RetryPolicy;
pub use types::{
    ChainStatus, DeliveryAck, DeliveryBatchAck, OutboundMessage, ProofBundle, Receipt,
    ReceiptProof, ReceiptResult, RejectReason, MAX_DELIVERY_BATCH,
};
