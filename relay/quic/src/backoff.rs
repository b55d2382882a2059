//! Reconnect delays: capped exponential backoff with full jitter.

use std::time::Duration;

use rand::Rng;

/// Reconnect delays: the cap for attempt `n` is `base * 2^n`, at most `max`; the delay is
/// drawn uniformly from `[0, cap]` ("full jitter"), so relays that lost a peer together do
/// not all redial at the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The cap of the first attempt (attempt 0).
    pub base: Duration,
    /// The largest cap.
    pub max: Duration,
}

impl Backoff {
    /// The largest delay for `attempt` (0 for the first retry): `min(base * 2^attempt, max)`,
    /// saturating rather than overflowing.
    pub fn cap(&self, attempt: u32) -> Duration {
        2u32.checked_pow(attempt)
            .and_then(|factor| self.base.checked_mul(factor))
            .map_or(self.max, |cap| cap.min(self.max))
    }

    /// The delay before retry `attempt`: uniform in `[0, cap(attempt)]`, from the caller's
    /// `rng` (seed it to make delays reproducible).
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let cap = self.cap(attempt);
        // Nanoseconds keep the draw exact; caps beyond u64 nanoseconds (584 years) are clamped.
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.gen_range(0..=nanos))
    }
}
