//! Retrying transient adapter errors with exponential backoff and a bound.
//!
//! [`retry`] calls an operation until it succeeds, fails with an error that is not
//! [transient](crate::AdapterError::is_transient), or has been tried
//! [`RetryPolicy::max_attempts`] times. Between attempts it sleeps `initial_backoff`,
//! doubling each time up to `max_backoff`. The last error is returned as it is.

use core::future::Future;
use core::time::Duration;

use crate::error::AdapterError;

/// How often and how patiently to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, at least 1 (1 means no retry).
    pub max_attempts: u32,
    /// Sleep before the second attempt.
    pub initial_backoff: Duration,
    /// Longest sleep between two attempts.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// No retry at all.
    pub const NONE: Self = Self {
        max_attempts: 1,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
    };

    /// The sleep before attempt `attempt + 1` (attempts count from 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

impl Default for RetryPolicy {
    /// Five attempts, 100 ms doubling to at most 2 s (about 1.5 s of waiting in all).
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// Runs `op` under `policy`; see the module docs.
///
/// Cancel-safe as far as `op` is: dropping the future stops between or during attempts.
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    mut op: F,
) -> Result<T, AdapterError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AdapterError>>,
{
    let mut attempt: u32 = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && attempt < policy.max_attempts => {
                let wait = policy.backoff(attempt);
                tracing::debug!(what, attempt, wait_ms = wait.as_millis() as u64, error = %e, "retrying");
                tokio::time::sleep(wait).await;
                attempt = attempt.saturating_add(1);
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn unreachable() -> AdapterError {
        AdapterError::Unreachable {
            chain: "c".into(),
            endpoint: "e".into(),
            reason: "refused".into(),
        }
    }

    fn fast(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(700),
        };
        let waits: Vec<u128> = (1..6).map(|a| p.backoff(a).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 700, 700]);
        assert_eq!(p.backoff(200), Duration::from_millis(700));
    }

    #[tokio::test]
    async fn transient_errors_are_retried_up_to_the_bound() {
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = retry(&fast(4), "t", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(unreachable())
        })
        .await;
        assert_eq!(r, Err(unreachable()));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn success_after_transient_failures() {
        let calls = AtomicU32::new(0);
        let r = retry(&fast(5), "t", || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(unreachable())
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(r, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let rejected = AdapterError::Rejected {
            chain: "c".into(),
            problem: "duplicate".into(),
            status: 409,
            detail: "d".into(),
        };
        let r: Result<(), _> = retry(&fast(5), "t", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(rejected.clone())
        })
        .await;
        assert_eq!(r, Err(rejected));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
