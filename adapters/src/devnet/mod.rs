//! The client side of the devnet partner chain: [`DevnetAdapter`] and the JSON shapes its
//! RPC speaks ([`wire`]).
//!
//! The chain itself (block producer, outbox, inbox, RocksDB store, HTTP RPC, fault modes)
//! is a program of its own, the `corridor-devnet` crate: a relay that talks to a devnet
//! chain links only this client.

mod client;
pub mod wire;

pub use client::DevnetAdapter;
pub use wire::{
    AdminToken, ClientStatus, Cursor, DeliveryBatchAnswer, FaultState, MessageLocation, NodeStatus,
    Page, Problem, TxAccepted, MIN_ADMIN_TOKEN_LEN, PROBLEM_PREFIX,
};
