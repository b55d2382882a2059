//! Chain adapters of corridor and the devnet partner chain.
//!
//! A relay talks to every partner chain through a [`ChainAdapter`]: chain status, light
//! blocks, outbound trade messages with their inclusion proofs, inbound deliveries and
//! receipts. One implementation exists per chain family and endpoint kind.
//!
//! Layout:
//! - [`adapter`]: the async [`ChainAdapter`] trait (and what each method promises about
//!   cancellation).
//! - [`types`]: what crosses the adapter boundary: [`ChainStatus`], [`OutboundMessage`],
//!   [`ProofBundle`], [`Receipt`], [`ReceiptProof`], [`DeliveryAck`].
//! - [`error`]: the typed [`AdapterError`] (unreachable, unavailable, not found, invalid
//!   response, rejected by the chain, unsupported) and which of them are transient.
//! - [`retry`]: exponential backoff with a bound for transient errors.
//! - [`bundle`]: builds a [`ProofBundle`] for a receiver from what the receiver already
//!   trusts, fetching the light blocks a bisection needs.
//! - [`devnet`]: the devnet partner chain (a real program: block producer, outbox, inbox,
//!   RocksDB store, HTTP JSON RPC, fault modes) and [`devnet::DevnetAdapter`], its client.
//! - [`cometbft`]: [`cometbft::CometBftAdapter`], a client of CometBFT's RPC.
//!
//! Dependencies point one way: `corridor-light-client` <- this crate <- the relay.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod adapter;
pub mod bundle;
pub mod cometbft;
pub mod devnet;
pub mod error;
mod http;
pub mod retry;
pub mod types;

pub use adapter::ChainAdapter;
pub use error::AdapterError;
pub use retry::RetryPolicy;
pub use types::{
    ChainStatus, DeliveryAck, OutboundMessage, ProofBundle, Receipt, ReceiptProof, ReceiptResult,
    RejectReason,
};
