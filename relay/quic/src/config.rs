//! Limits and timers of the transport, checked once when an endpoint is bound.

use std::{sync::Arc, time::Duration};

use quinn::{IdleTimeout, VarInt};

use crate::TransportError;

/// Limits and timers of one endpoint, applied to every link it makes or accepts.
///
/// The peer's quinn stack negotiates the idle timeout (the lower of the two wins); the
/// other limits are enforced locally on what the peer sends.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// Largest frame accepted or sent, in bytes (the length prefix excluded). At most
    /// `u32::MAX`, since the prefix is four bytes.
    pub max_frame_bytes: usize,
    /// Unidirectional streams (so frames in flight) the peer may have open towards us at once.
    pub max_concurrent_streams: u32,
    /// A link with no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Ping interval that keeps an otherwise quiet link open; zero disables keep-alives.
    pub keep_alive: Duration,
    /// Budget for the TLS handshake and the hello exchange together.
    pub handshake_timeout: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: 8 * 1024 * 1024,
            max_concurrent_streams: 64,
            idle_timeout: Duration::from_secs(30),
            keep_alive: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl TransportConfig {
    /// Checks the limits and builds the quinn transport parameters used on both sides.
    pub(crate) fn quinn(&self) -> Result<Arc<quinn::TransportConfig>, TransportError> {
        let invalid = |reason| TransportError::InvalidConfig { reason };
        if self.max_frame_bytes == 0 || u32::try_from(self.max_frame_bytes).is_err() {
            return Err(invalid("max_frame_bytes must be between 1 and u32::MAX"));
        }
        if self.max_concurrent_streams == 0 {
            return Err(invalid("max_concurrent_streams must be at least 1"));
        }
        if self.handshake_timeout.is_zero() {
            return Err(invalid("handshake_timeout must be above zero"));
        }
        let idle = IdleTimeout::try_from(self.idle_timeout)
            .map_err(|_| invalid("idle_timeout is above QUIC's 2^62 ms"))?;
        if self.idle_timeout.is_zero() {
            return Err(invalid("idle_timeout must be above zero"));
        }

        let mut quinn = quinn::TransportConfig::default();
        quinn
            .max_concurrent_uni_streams(VarInt::from_u32(self.max_concurrent_streams))
            // One bidirectional stream per connection: the hello exchange. It is set to
            // zero once the hello is done.
            .max_concurrent_bidi_streams(VarInt::from_u32(1))
            .max_idle_timeout(Some(idle))
            .keep_alive_interval((!self.keep_alive.is_zero()).then_some(self.keep_alive));
        Ok(Arc::new(quinn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unusable_limits() {
        let base = TransportConfig::default();
        assert!(base.quinn().is_ok());
        for config in [
            TransportConfig {
                max_frame_bytes: 0,
                ..base.clone()
            },
            TransportConfig {
                max_concurrent_streams: 0,
                ..base.clone()
            },
            TransportConfig {
                handshake_timeout: Duration::ZERO,
                ..base.clone()
            },
            TransportConfig {
                idle_timeout: Duration::ZERO,
                ..base.clone()
            },
        ] {
            let err = config.quinn().err();
            assert!(
                matches!(err, Some(TransportError::InvalidConfig { .. })),
                "{config:?} gave {err:?}"
            );
        }
    }
}
