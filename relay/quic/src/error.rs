//! The crate's one error type, and the stable labels metrics use for it.

use std::{io, net::SocketAddr, time::Duration};

use quinn::{ConnectionError, TransportErrorCode, VarInt};

use crate::{hello::HelloError, CLOSE_BAD_HELLO};

/// TLS alert `certificate_unknown` (RFC 8446 §6.2): what rustls sends when our verifier
/// refuses a key, and only then (the verifier reports every refusal as `Other`).
pub(crate) const ALERT_CERTIFICATE_UNKNOWN: u8 = 46;

/// Why a transport operation failed. Variants name the peer where it is known: `peer` is the
/// hex of its relay key, `addr` its UDP address.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A [`TransportConfig`](crate::TransportConfig) limit is unusable.
    #[error("invalid transport config: {reason}")]
    InvalidConfig {
        /// Which limit, and what it must be.
        reason: &'static str,
    },
    /// The relay key could not be turned into a certificate.
    #[error("cannot build the TLS identity from the relay key: {source}")]
    Identity {
        /// The PKCS#8 or certificate error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// rustls refused the TLS configuration.
    #[error("cannot build the TLS configuration: {source}")]
    Tls {
        /// The rustls error.
        source: rustls::Error,
    },
    /// The UDP socket could not be bound (or no Tokio runtime was running).
    #[error("cannot bind UDP {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The socket error.
        source: io::Error,
    },
    /// A connection could not even be started (endpoint closed, unusable address).
    #[error("cannot dial {addr}: {source}")]
    Connect {
        /// The address dialled.
        addr: SocketAddr,
        /// quinn's reason.
        source: quinn::ConnectError,
    },
    /// The TLS handshake or the hello exchange was cut short: a key refused by us or by the
    /// peer, a hello the peer refused, or the connection lost. [`TransportError::reason`]
    /// tells these apart.
    #[error("handshake with {addr} failed: {source}")]
    Handshake {
        /// The peer's address.
        addr: SocketAddr,
        /// How the connection ended; for TLS refusals it carries rustls' message, which names
        /// the refused key.
        source: ConnectionError,
    },
    /// The handshake and hello exchange took longer than `handshake_timeout`.
    #[error("handshake with {addr} did not finish within {after:?}")]
    HandshakeTimeout {
        /// The peer's address.
        addr: SocketAddr,
        /// The budget that ran out.
        after: Duration,
    },
    /// The peer passed TLS but its hello is unacceptable; the link was closed with
    /// [`CLOSE_BAD_HELLO`].
    #[error("bad hello from relay {peer} at {addr}: {source}")]
    BadHello {
        /// The peer's TLS-verified key, in hex.
        peer: String,
        /// The peer's address.
        addr: SocketAddr,
        /// What is wrong with it.
        source: HelloError,
    },
    /// A frame above `max_frame_bytes`: refused before sending, or (receiving) refused on its
    /// length prefix before its body was read, and its stream stopped.
    #[error("frame of {len} bytes for link with relay {peer} is above the {max}-byte limit")]
    FrameTooLarge {
        /// The peer's key, in hex.
        peer: String,
        /// The frame's (declared) length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A stream from the peer ended before its length prefix or its declared length.
    #[error("frame from relay {peer} ended before its declared length")]
    Truncated {
        /// The peer's key, in hex.
        peer: String,
    },
    /// A stream from the peer carried bytes after its frame (one frame per stream).
    #[error("frame of {len} bytes from relay {peer} is followed by more bytes")]
    TrailingBytes {
        /// The peer's key, in hex.
        peer: String,
        /// The declared frame length.
        len: usize,
    },
    /// The peer stopped the stream of a frame we were sending (for example because it is
    /// above the peer's own limit).
    #[error("relay {peer} stopped the stream of our frame (code {code:?})")]
    StreamStopped {
        /// The peer's key, in hex.
        peer: String,
        /// The peer's stop code, if it sent one.
        code: Option<u64>,
    },
    /// The link is closed: by us, by the peer, or lost (timeout).
    #[error("link with relay {peer} is closed: {source}")]
    Closed {
        /// The peer's key, in hex.
        peer: String,
        /// How the connection ended.
        source: ConnectionError,
    },
    /// A local socket error.
    #[error("socket error: {source}")]
    Io {
        /// The error.
        source: io::Error,
    },
}

impl TransportError {
    /// A short stable label for metrics and logs: `"unknown-peer"`, `"bad-hello"`,
    /// `"frame-too-large"`, ...
    ///
    /// Handshake failures are split by cause: `"unknown-peer"` (we refused the peer's key),
    /// `"refused-by-peer"` (the peer refused ours), `"hello-refused"` (the peer refused our
    /// hello), otherwise `"handshake"`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidConfig { .. } => "config",
            Self::Identity { .. } => "identity",
            Self::Tls { .. } => "tls-config",
            Self::Bind { .. } => "bind",
            Self::Connect { .. } => "connect",
            Self::Handshake { source, .. } => handshake_reason(source),
            Self::HandshakeTimeout { .. } => "handshake-timeout",
            Self::BadHello { .. } => "bad-hello",
            Self::FrameTooLarge { .. } => "frame-too-large",
            Self::Truncated { .. } => "truncated",
            Self::TrailingBytes { .. } => "trailing-bytes",
            Self::StreamStopped { .. } => "stream-stopped",
            Self::Closed { .. } => "closed",
            Self::Io { .. } => "io",
        }
    }
}

fn handshake_reason(source: &ConnectionError) -> &'static str {
    let refused = TransportErrorCode::crypto(ALERT_CERTIFICATE_UNKNOWN);
    match source {
        ConnectionError::TransportError(local) if local.code == refused => "unknown-peer",
        ConnectionError::ConnectionClosed(remote) if remote.error_code == refused => {
            "refused-by-peer"
        }
        ConnectionError::ApplicationClosed(remote)
            if remote.error_code == VarInt::from_u32(CLOSE_BAD_HELLO) =>
        {
            "hello-refused"
        }
        _ => "handshake",
    }
}
