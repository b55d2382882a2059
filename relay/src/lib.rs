//! The corridor relay: the daemon's parts. The `corridor` binary's commands (the devnet
//! demo, the bench, the vector runner) live with the binary in `main.rs`'s modules.
//!
//! - [`settings`]: layered settings validated into typed ones, errors naming their key.
//! - [`keys`]: the relay's ed25519 identity file.
//! - [`rocks`]: RocksDB behind the core's `Store` trait.
//! - [`daemon`]: `corridor start`, the drivers around the sans-IO core
//!   (`corridor-relay-core`) and the QUIC transport (`corridor-quic`).
//! - [`api`]: the trader API (submit, track and follow trade messages over HTTP).
//! - [`configs`]: the devnet chains' configs, embedded.
//! - [`metrics`]: the metrics catalog and `/metrics`, `/healthz`, `/readyz`;
//!   [`observe`] feeds it from the core loop.

pub mod api;
pub mod configs;
pub mod daemon;
pub mod keys;
pub mod metrics;
pub mod observe;
pub mod rocks;
pub mod settings;

/// The wall clock, as the light client's time (the daemon, the trader API and the CLI
/// share this one reading of it).
pub fn now() -> corridor_light_client::Time {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    corridor_light_client::Time::from_unix_nanos(nanos)
}
