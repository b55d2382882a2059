//! corridor/1: QUIC between relays.
//!
//! Relays of different operators, in different countries, forward trade messages to each
//! other over this transport. Each relay is named by its ed25519 key; an operator pins the
//! keys of its partner relays in config, and this crate refuses everyone else during the TLS
//! handshake (mutual TLS 1.3, self-signed certificates judged by their key alone, handshake
//! signatures really verified). Even a pinned peer is an untrusted courier: everything it
//! sends is bounded and checked, and errors name it so that the relay can count them against
//! it.
//!
//! - [`Endpoint`]: one UDP socket, both server and client. [`Endpoint::connect`] and
//!   [`Endpoint::accept`] return a [`Link`] only after TLS and the [`Hello`] exchange
//!   succeeded, within `handshake_timeout`.
//! - [`Hello`]: the first message each way (one bidirectional stream): protocol version,
//!   the relay key (must equal the one proved in TLS), the chains served. Deterministic
//!   CBOR, at most [`MAX_HELLO_BYTES`].
//! - [`Link`]: frames. Each frame is one unidirectional stream carrying a 4-byte big-endian
//!   length and the bytes (the framing Sui's anemo uses); frames above `max_frame_bytes` are
//!   refused on their length, before their body is read. What a peer can make us buffer is
//!   bounded by [`TransportConfig`] and [`RECEIVE_BUDGET_FRAMES`].
//! - [`Backoff`]: reconnect delays with full jitter.
//! - [`TransportError`]: what went wrong and with whom; [`TransportError::reason`] gives a
//!   stable label for metrics.
//!
//! What frames mean (bundles, acks, receipts) is the relay core's business; this crate moves
//! bytes between verified peers.

mod backoff;
mod config;
mod endpoint;
mod error;
mod hello;
mod link;
mod tls;

pub use backoff::Backoff;
pub use config::TransportConfig;
pub use endpoint::{Endpoint, Incoming};
pub use error::TransportError;
pub use hello::{Hello, HelloError, MAX_CHAINS, MAX_CHAIN_ID_BYTES, MAX_HELLO_BYTES};
pub use link::{Link, LinkStats, RECEIVE_BUDGET_FRAMES};

use ed25519_dalek::VerifyingKey;

/// The ALPN protocol id both sides must offer.
pub const ALPN: &[u8] = b"corridor/1";

/// The protocol version this crate speaks, sent and required in the [`Hello`].
pub const PROTOCOL_VERSION: u32 = 1;

/// Application close code of [`Endpoint::close`] (reason `"shutdown"`).
pub const CLOSE_SHUTDOWN: u32 = 0;
/// Application close code when a peer's hello is refused; the reason says why.
pub const CLOSE_BAD_HELLO: u32 = 1;

/// Stop code sent on a frame stream whose length prefix is above our `max_frame_bytes`.
pub const STOP_FRAME_TOO_LARGE: u32 = 1;
/// Stop code sent on a frame stream that carries bytes after its frame.
pub const STOP_MALFORMED: u32 = 2;

/// A relay key in lowercase hex, as errors, logs and the allowlist message name it.
pub fn relay_key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}
