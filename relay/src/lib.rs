//! The corridor relay: the daemon's parts and the commands of the `corridor` binary.
//!
//! - [`settings`]: layered settings validated into typed ones, errors naming their key.
//! - [`keys`]: the relay's ed25519 identity file.
//! - [`rocks`]: RocksDB behind the core's `Store` trait.
//! - [`daemon`]: `corridor start`, the drivers around the sans-IO core
//!   (`corridor-relay-core`) and the QUIC transport (`corridor-quic`).
//! - [`demo`]: the embedded devnet demo (`corridor devnet`).
//! - [`vectors`]: runs folders of verification vectors (`corridor vectors ...`).

pub mod daemon;
pub mod demo;
pub mod keys;
pub mod rocks;
pub mod settings;
pub mod vectors;
