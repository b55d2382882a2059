//! Who is asking: the operator's credential, a trader's token, and the per-trader rate
//! limit.
//!
//! A trader proves its key by signing the current time ([`token_request_bytes`]) to
//! `POST /v1/tokens` and gets a bearer token bound to the key for [`ApiAuth::token_ttl`].
//! Tokens are stateless: `ct1.<hex of key, expiry, MAC>`, the MAC a tagged SHA3-256 under a
//! secret drawn when the API starts (so a restart ends every token). A submission needs no
//! token: its own signature authenticates the sender.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use corridor_adapters::devnet::AdminToken;
use corridor_light_client::hash;
use corridor_light_client::signature::PublicKey;
use corridor_light_client::Time;

use super::error::ApiError;
use super::model::TokenRequest;

const TOKEN_PREFIX: &str = "ct1.";
const TAG_TOKEN: &[u8] = b"corridor/api-token/v1\0";
const TAG_TOKEN_REQUEST: &[u8] = b"corridor/api-token-request/v2\0";
/// How far a token request's time may be from the relay's clock.
pub const TOKEN_REQUEST_SKEW: Duration = Duration::from_secs(120);

/// The credentials the API takes.
#[derive(Clone)]
pub struct ApiAuth {
    /// The operator's credential: sees every message. `None`: no operator access.
    pub operator: Option<AdminToken>,
    /// How long a trader's token lasts.
    pub token_ttl: Duration,
    /// This relay's key: a token request is signed for one relay, and another relay
    /// refuses it (a request seen on its way cannot be replayed elsewhere).
    pub relay: PublicKey,
    secret: [u8; 32],
}

impl core::fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ApiAuth")
            .field("operator", &self.operator)
            .field("token_ttl", &self.token_ttl)
            .field("relay", &self.relay)
            .finish_non_exhaustive()
    }
}

impl ApiAuth {
    /// Credentials of the relay with key `relay`: the operator's token (if any), tokens
    /// lasting 15 minutes, and a fresh token secret.
    pub fn new(operator: Option<AdminToken>, relay: PublicKey) -> Self {
        Self {
            operator,
            token_ttl: Duration::from_secs(15 * 60),
            relay,
            secret: rand::random(),
        }
    }

    fn mac(&self, key: &PublicKey, expires: u64) -> [u8; 32] {
        let mut data = self.secret.to_vec();
        data.extend_from_slice(key.as_bytes());
        data.extend_from_slice(&expires.to_be_bytes());
        hash::tagged(TAG_TOKEN, &data).0
    }

    /// A token for `key`, valid until `now + token_ttl`.
    pub fn issue(&self, key: &PublicKey, now: Time) -> (String, Time) {
        let expires = now
            .checked_add(self.token_ttl)
            .unwrap_or(Time::from_unix_nanos(u64::MAX));
        let mut raw = key.as_bytes().to_vec();
        raw.extend_from_slice(&expires.unix_nanos().to_be_bytes());
        raw.extend_from_slice(&self.mac(key, expires.unix_nanos()));
        (format!("{TOKEN_PREFIX}{}", hex::encode(raw)), expires)
    }

    /// Checks a token request: its time is near `now` and its signature verifies.
    pub fn check_request(&self, request: &TokenRequest, now: Time) -> Result<(), ApiError> {
        let at = Time::from_unix_secs(request.at).ok_or_else(|| ApiError::InvalidQuery {
            field: "at".into(),
            detail: "is not a time".into(),
        })?;
        let skew = if at > now {
            at.saturating_duration_since(now)
        } else {
            now.saturating_duration_since(at)
        };
        if skew > TOKEN_REQUEST_SKEW {
            return Err(ApiError::InvalidCredential(format!(
                "at is {} s from the relay's clock, more than {} s",
                skew.as_secs(),
                TOKEN_REQUEST_SKEW.as_secs()
            )));
        }
        if request.relay != self.relay {
            return Err(ApiError::InvalidCredential(format!(
                "the request is signed for relay {}; this relay is {} (the {RELAY_HEADER} \
                 header of any answer)",
                request.relay, self.relay
            )));
        }
        if !request.key.verify(
            &token_request_bytes(&request.key, request.at, &request.relay),
            &request.signature,
        ) {
            return Err(ApiError::BadSignature {
                field: "signature".into(),
            });
        }
        Ok(())
    }

    /// Who the request's `Authorization` header says is asking.
    pub fn principal(&self, headers: &HeaderMap, now: Time) -> Result<Principal, ApiError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthenticated);
        };
        let text = value
            .to_str()
            .map_err(|_| ApiError::InvalidCredential("Authorization is not text".into()))?;
        let Some(token) = text.strip_prefix("Bearer ") else {
            return Err(ApiError::InvalidCredential(
                "Authorization must be `Bearer <token>`".into(),
            ));
        };
        let token = token.trim();
        if let Some(raw) = token.strip_prefix(TOKEN_PREFIX) {
            return self.trader(raw, now);
        }
        match &self.operator {
            Some(op) if op.matches(token) => Ok(Principal::Operator),
            _ => Err(ApiError::InvalidCredential(
                "the bearer token is neither a trader token nor the operator's".into(),
            )),
        }
    }

    fn trader(&self, raw: &str, now: Time) -> Result<Principal, ApiError> {
        let bad = || ApiError::InvalidCredential("the trader token is malformed".into());
        let bytes = hex::decode(raw).map_err(|_| bad())?;
        if bytes.len() != 72 {
            return Err(bad());
        }
        let key = PublicKey(bytes[..32].try_into().map_err(|_| bad())?);
        let expires = u64::from_be_bytes(bytes[32..40].try_into().map_err(|_| bad())?);
        let mac: [u8; 32] = bytes[40..].try_into().map_err(|_| bad())?;
        let want = self.mac(&key, expires);
        let diff = want
            .iter()
            .zip(mac.iter())
            .fold(0u8, |a, (x, y)| a | (x ^ y));
        if diff != 0 {
            return Err(ApiError::InvalidCredential(
                "the trader token was not issued by this relay (or it restarted)".into(),
            ));
        }
        if now.unix_nanos() > expires {
            return Err(ApiError::InvalidCredential(
                "the trader token expired: ask POST /v1/tokens for another".into(),
            ));
        }
        Ok(Principal::Trader(key))
    }
}

/// The header every answer of the API carries: the relay's key, hex (what a token request
/// is signed for).
pub const RELAY_HEADER: &str = "corridor-relay";

/// What a trader signs to get a token: a tag, its key, the time in Unix seconds and the
/// key of the relay it asks.
pub fn token_request_bytes(key: &PublicKey, at: u64, relay: &PublicKey) -> Vec<u8> {
    let mut out = TAG_TOKEN_REQUEST.to_vec();
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&at.to_be_bytes());
    out.extend_from_slice(relay.as_bytes());
    out
}

/// Who is asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The relay's operator: reads everything.
    Operator,
    /// A trader: reads what it sent or what is addressed to it.
    Trader(PublicKey),
}

impl Principal {
    /// Whether this principal may read a message between `sender` and `receiver`.
    pub fn may_read(&self, sender: &PublicKey, receiver: &PublicKey) -> bool {
        match self {
            Self::Operator => true,
            Self::Trader(k) => k == sender || k == receiver,
        }
    }
}

/// A token bucket per key (a trader's public key, or a client address): `burst` requests
/// at once, `per_second` on average.
#[derive(Debug)]
pub struct RateLimiter<K = PublicKey> {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Most traders tracked at once; past it, full buckets are forgotten.
const MAX_BUCKETS: usize = 100_000;

impl<K: Eq + std::hash::Hash + Copy> RateLimiter<K> {
    /// A limiter of `burst` requests refilled at `per_second`.
    pub fn new(burst: u32, per_second: f64) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            per_second: per_second.max(f64::MIN_POSITIVE),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request of `key` at `now`, or says how long until one is taken.
    pub fn take(&self, key: &K, now: Instant) -> Result<(), Duration> {
        // A poisoned lock only means a panic elsewhere mid-update of a bucket: the map is
        // still usable.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS {
            let (burst, rate) = (self.burst, self.per_second);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let b = buckets.entry(*key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / self.per_second;
            // Whole seconds, rounded up: what Retry-After can say.
            Err(Duration::from_secs(wait.ceil().max(1.0) as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_light_client::signature::SigningKey;

    fn relay_key() -> PublicKey {
        SigningKey::from_seed([9; 32]).public_key()
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        h
    }

    #[test]
    fn a_token_names_its_key_until_it_expires_and_not_after_a_change() {
        let auth = ApiAuth::new(
            Some(AdminToken::new("operator-secret-123").unwrap()),
            relay_key(),
        );
        let key = SigningKey::from_seed([4; 32]).public_key();
        let t0 = Time::from_unix_secs(1_800_000_000).unwrap();
        let (token, expires) = auth.issue(&key, t0);
        assert_eq!(expires, t0.checked_add(auth.token_ttl).unwrap());
        assert_eq!(
            auth.principal(&bearer(&token), t0).unwrap(),
            Principal::Trader(key)
        );
        assert_eq!(
            auth.principal(&bearer(&token), expires).unwrap(),
            Principal::Trader(key)
        );
        let later = Time::from_unix_nanos(expires.unix_nanos() + 1);
        assert!(matches!(
            auth.principal(&bearer(&token), later),
            Err(ApiError::InvalidCredential(m)) if m.contains("expired")
        ));
        // Any changed digit (key, expiry or MAC) is refused.
        for i in TOKEN_PREFIX.len()..token.len() {
            let mut t = token.clone().into_bytes();
            t[i] = if t[i] == b'0' { b'1' } else { b'0' };
            let t = String::from_utf8(t).unwrap();
            assert!(auth.principal(&bearer(&t), t0).is_err(), "digit {i}");
        }
        // Another relay (or this one restarted) did not issue it.
        let other = ApiAuth::new(None, relay_key());
        assert!(other.principal(&bearer(&token), t0).is_err());
        // The operator's credential, and nothing else.
        assert_eq!(
            auth.principal(&bearer("operator-secret-123"), t0).unwrap(),
            Principal::Operator
        );
        assert!(auth.principal(&bearer("operator-secret-124"), t0).is_err());
        assert!(other.principal(&bearer("operator-secret-123"), t0).is_err());
        assert!(matches!(
            auth.principal(&HeaderMap::new(), t0),
            Err(ApiError::Unauthenticated)
        ));
    }

    #[test]
    fn a_token_request_needs_the_keys_signature_over_a_recent_time() {
        let auth = ApiAuth::new(None, relay_key());
        let signer = SigningKey::from_seed([5; 32]);
        let now = Time::from_unix_secs(1_800_000_000).unwrap();
        let request_for = |at: u64, by: &SigningKey, relay: PublicKey| TokenRequest {
            key: signer.public_key(),
            at,
            relay,
            signature: by.sign(&token_request_bytes(&signer.public_key(), at, &relay)),
        };
        let request = |at: u64, by: &SigningKey| request_for(at, by, relay_key());
        let secs = 1_800_000_000;
        assert!(auth.check_request(&request(secs, &signer), now).is_ok());
        assert!(auth
            .check_request(&request(secs - 120, &signer), now)
            .is_ok());
        assert!(auth
            .check_request(&request(secs + 120, &signer), now)
            .is_ok());
        assert!(matches!(
            auth.check_request(&request(secs - 121, &signer), now),
            Err(ApiError::InvalidCredential(_))
        ));
        assert!(matches!(
            auth.check_request(&request(secs, &SigningKey::from_seed([6; 32])), now),
            Err(ApiError::BadSignature { .. })
        ));
        // A request signed for another relay is refused here, naming both relays.
        let elsewhere = SigningKey::from_seed([7; 32]).public_key();
        match auth.check_request(&request_for(secs, &signer, elsewhere), now) {
            Err(ApiError::InvalidCredential(detail)) => {
                assert!(detail.contains(&elsewhere.to_string()), "{detail}");
                assert!(detail.contains(&relay_key().to_string()), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        // ... and so is one whose relay field was changed after signing.
        let mut moved = request_for(secs, &signer, elsewhere);
        moved.relay = relay_key();
        assert!(matches!(
            auth.check_request(&moved, now),
            Err(ApiError::BadSignature { .. })
        ));
    }

    #[test]
    fn the_bucket_takes_its_burst_then_one_per_refill_and_says_how_long_to_wait() {
        let limiter = RateLimiter::new(2, 0.5);
        let a = SigningKey::from_seed([1; 32]).public_key();
        let b = SigningKey::from_seed([2; 32]).public_key();
        let t = Instant::now();
        assert_eq!(limiter.take(&a, t), Ok(()));
        assert_eq!(limiter.take(&a, t), Ok(()));
        assert_eq!(limiter.take(&a, t), Err(Duration::from_secs(2)));
        // Another key has its own bucket.
        assert_eq!(limiter.take(&b, t), Ok(()));
        // Half the refill time later, still a second to wait; then one more is taken.
        let half = t + Duration::from_secs(1);
        assert_eq!(limiter.take(&a, half), Err(Duration::from_secs(1)));
        assert_eq!(limiter.take(&a, t + Duration::from_secs(2)), Ok(()));
        assert!(limiter.take(&a, t + Duration::from_secs(2)).is_err());
    }
}
