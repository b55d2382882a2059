//! The relay's sans-IO channel core (DESIGN.md "The relay's inside").
//!
//! - [`wire`]: the frames relays exchange, bounded before anything is verified.
//! - [`store`]: the [`store::Store`] trait, its column families and an in-memory store.
//! - [`core`]: every lane's outbound and inbound state machines: events in, writes and
//!   actions out, the time an argument.
//!
//! The core is generic over the light client's `Family`. The daemon runs it over
//! `AnyFamily` (every family as one: a channel may join chains of different families, and
//! one core holds the light clients of both ends); the simulator and most tests run it over
//! the native family alone, which is the same code with the same rules.
//!
//! This crate does no IO: no tokio, no sockets, no RocksDB, no clock. That is why it is a
//! crate of its own (a departure from DESIGN.md's single `relay/` crate): the compiler then
//! guarantees that the simulator exercises exactly the logic the daemon runs, and the core
//! builds and tests without RocksDB's C++.

pub mod core;
pub mod store;
pub mod wire;

pub use crate::core::{
    Action, AuditRecord, Core, CoreConfig, Event, Output, PeerId, Stage, DEFAULT_DELIVERY_BATCH,
};
pub use crate::store::{Column, MemStore, Store, StoreError, Write, WriteBatch};
pub use crate::wire::{Frame, Lane, Limits};
