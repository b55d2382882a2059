//! The [`Verifier`] trait and its three-way [`Verdict`].
//!
//! A verifier decides whether an untrusted light block can be trusted given a trusted state,
//! the options and the caller's `now`. There are three answers, as in the CometBFT light
//! client model (and tendermint-rs's `Verdict`):
//!
//! - [`Verdict::Success`]: the block is valid and trusted.
//! - [`Verdict::NotEnoughTrust`]: the block may be fine, but too little of the trusted
//!   validator set signed it to skip to it; the caller should bisect (see
//!   [`crate::bisection`]). This is not an error.
//! - [`Verdict::Invalid`]: the block breaks a rule; [`VerificationError`] says which, at
//!   which height.

use core::time::Duration;

use crate::types::{ChainId, Hash32, Height, Options, Time, TrustThreshold};

/// The result of verifying one untrusted light block against a trusted state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Verdict {
    /// Verified: the block can be trusted.
    Success,
    /// Too little of the trusted set signed to skip to this block: bisect.
    NotEnoughTrust(VotingPowerTally),
    /// The block breaks a rule.
    Invalid(VerificationError),
}

impl Verdict {
    /// The verdict class as the upper-case name the model-based vectors use.
    pub fn class(&self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::NotEnoughTrust(_) => "NOT_ENOUGH_TRUST",
            Self::Invalid(_) => "INVALID",
        }
    }
}

/// Voting power counted towards a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VotingPowerTally {
    /// Total power of the set that was counted against.
    pub total: u64,
    /// Power of that set that validly signed.
    pub tallied: u64,
    /// The fraction that had to be exceeded.
    pub trust_threshold: TrustThreshold,
}

impl core::fmt::Display for VotingPowerTally {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} of {} power signed, more than {} needed",
            self.tallied, self.total, self.trust_threshold
        )
    }
}

/// Which validator set a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidatorSetKind {
    /// The set that signs this header (`validators_hash`).
    Current,
    /// The set that signs the next header (`next_validators_hash`).
    Next,
}

impl core::fmt::Display for ValidatorSetKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Current => "validator set",
            Self::Next => "next validator set",
        })
    }
}

/// Why a light block is invalid. Every variant names the height it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerificationError {
    /// The untrusted header is for another chain.
    #[error("header at height {height} is for chain {got}, expected {expected}")]
    ChainIdMismatch {
        /// Height of the untrusted header.
        height: Height,
        /// The trusted chain id.
        expected: ChainId,
        /// The header's chain id.
        got: ChainId,
    },
    /// The untrusted header is not above the trusted one.
    #[error("header height {height} is not above the trusted height {trusted}")]
    NonIncreasingHeight {
        /// Height of the untrusted header.
        height: Height,
        /// Height of the trusted header.
        trusted: Height,
    },
    /// A header with height zero.
    #[error("header height must be positive")]
    ZeroHeight,
    /// The untrusted header's time is not after the trusted header's time.
    #[error(
        "header at height {height} has time {time}, not after the trusted time {trusted_time}"
    )]
    NonIncreasingTime {
        /// Height of the untrusted header.
        height: Height,
        /// Its time.
        time: Time,
        /// The trusted header's time.
        trusted_time: Time,
    },
    /// The trusted state has expired: it can no longer vouch for anything.
    #[error("trusted header at height {trusted_height} expired at {expires_at} (now {now})")]
    NotWithinTrustPeriod {
        /// Height of the trusted header.
        trusted_height: Height,
        /// When its trusting period ended.
        expires_at: Time,
        /// The caller's time.
        now: Time,
    },
    /// The untrusted header claims a time too far in the future.
    #[error("header at height {height} has time {time}, later than now + drift ({max_allowed})")]
    HeaderFromFuture {
        /// Height of the untrusted header.
        height: Height,
        /// Its time.
        time: Time,
        /// `now + clock_drift`.
        max_allowed: Time,
    },
    /// A validator set does not hash to what the header says.
    #[error("{kind} at height {height} hashes to {got}, header says {expected}")]
    ValidatorSetHashMismatch {
        /// Height of the header.
        height: Height,
        /// Which set.
        kind: ValidatorSetKind,
        /// The hash in the header.
        expected: Hash32,
        /// The hash of the set given.
        got: Hash32,
    },
    /// In an adjacent step, the header's validators are not the trusted next validators.
    #[error(
        "header at height {height} has validators hash {got}, but the trusted header named \
         {expected} as the next validators"
    )]
    NextValidatorsMismatch {
        /// Height of the untrusted header.
        height: Height,
        /// The trusted header's next validators hash.
        expected: Hash32,
        /// The untrusted header's validators hash.
        got: Hash32,
    },
    /// In an adjacent step, the header's parent is not the trusted header.
    #[error(
        "header at height {height} names parent {got}, but the trusted header hashes to {expected}"
    )]
    ParentHashMismatch {
        /// Height of the untrusted header.
        height: Height,
        /// Hash of the trusted header.
        expected: Hash32,
        /// The untrusted header's parent hash.
        got: Hash32,
    },
    /// The commit is for another height than its header.
    #[error("commit for height {commit_height} attached to header at height {height}")]
    CommitHeightMismatch {
        /// Height of the header.
        height: Height,
        /// Height in the commit.
        commit_height: Height,
    },
    /// The commit signs another block than the header.
    #[error("commit at height {height} signs block {commit_hash}, header hashes to {header_hash}")]
    CommitBlockHashMismatch {
        /// Height of the header.
        height: Height,
        /// Hash of the header.
        header_hash: Hash32,
        /// Block hash in the commit.
        commit_hash: Hash32,
    },
    /// A signature in the commit does not verify.
    #[error("invalid signature by validator {validator} in the commit at height {height}")]
    InvalidSignature {
        /// Height of the commit.
        height: Height,
        /// The validator (public key or address, hex).
        validator: String,
    },
    /// The same validator signs twice, or appears twice in a set.
    #[error("validator {validator} appears twice at height {height}")]
    DuplicateValidator {
        /// Height of the header or commit.
        height: Height,
        /// The validator (public key or address, hex).
        validator: String,
    },
    /// A commit signature by a key that is not in the header's validator set.
    #[error(
        "commit at height {height} has a signature by {validator}, who is not in its validator set"
    )]
    UnknownSigner {
        /// Height of the commit.
        height: Height,
        /// The signer (public key or address, hex).
        validator: String,
    },
    /// Too little of the header's own validator set signed.
    #[error("commit at height {height} is not signed by enough of its validators: {tally}")]
    InsufficientCommitPower {
        /// Height of the commit.
        height: Height,
        /// What was counted.
        tally: VotingPowerTally,
    },
    /// The commit has no signatures at all.
    #[error("commit at height {height} has no signatures")]
    NoSignatures {
        /// Height of the commit.
        height: Height,
    },
    /// The commit's signature list does not line up with the validator set.
    #[error(
        "commit at height {height} has {signatures} signature slots for {validators} validators"
    )]
    SignatureCountMismatch {
        /// Height of the commit.
        height: Height,
        /// Number of signature slots.
        signatures: usize,
        /// Number of validators.
        validators: usize,
    },
    /// A structure is malformed (empty set, zero power, bad key, over a limit, ...).
    #[error("malformed light block at height {height}: {reason}")]
    Malformed {
        /// Height it was found at.
        height: Height,
        /// What is wrong.
        reason: String,
    },
    /// An `evm` family rule is broken (header, Clique seal, attestations; see
    /// [`crate::evm::family`]).
    #[error("evm light block at height {height}: {source}")]
    Evm {
        /// Height of the light block.
        height: Height,
        /// Which rule.
        source: Box<crate::evm::EvmError>,
    },
    /// A block of one family checked against a trusted state of another
    /// ([`AnyFamily`](crate::any::AnyFamily)).
    #[error("light block at height {height} is of family {got}, the trusted state of {expected}")]
    FamilyMismatch {
        /// Height of the block.
        height: Height,
        /// The trusted state's family.
        expected: crate::family::FamilyKind,
        /// The block's family.
        got: crate::family::FamilyKind,
    },
    /// Trusting period or time arithmetic would overflow.
    #[error("time arithmetic overflowed at height {height} (trusting period {trusting_period:?})")]
    TimeOverflow {
        /// Height of the header.
        height: Height,
        /// The trusting period used.
        trusting_period: Duration,
    },
}

/// A light-client verifier of one chain family.
///
/// Implementations are pure: no IO, no clock. `now` is the caller's current time.
pub trait Verifier {
    /// The family's light block: header, commit and validator sets.
    type LightBlock: Clone
        + core::fmt::Debug
        + PartialEq
        + serde::Serialize
        + serde::de::DeserializeOwned
        + Send
        + Sync;
    /// What the verifier keeps of a block it trusts.
    type TrustedState: Clone + core::fmt::Debug + Send + Sync;

    /// Verifies `untrusted` against `trusted`: adjacent when the heights are consecutive,
    /// skipping otherwise.
    fn verify_update(
        &self,
        untrusted: &Self::LightBlock,
        trusted: &Self::TrustedState,
        options: &Options,
        now: Time,
    ) -> Verdict;

    /// The trusted state a verified block becomes.
    fn trusted_state(&self, verified: &Self::LightBlock) -> Self::TrustedState;

    /// The trusted state `verified` becomes when it was verified from `previous` and more
    /// blocks will be verified from it (a stream of headers): as [`Self::trusted_state`],
    /// plus what the family can prepare of the block's next validator set for the next
    /// verification, taken over from `previous` where it was computed from the same data
    /// (see [`crate::prepared`]). Verdicts are the same from either state.
    fn trusted_state_after(
        &self,
        verified: &Self::LightBlock,
        previous: &Self::TrustedState,
    ) -> Self::TrustedState {
        let _ = previous;
        self.trusted_state(verified)
    }

    /// Height of a light block.
    fn block_height(&self, block: &Self::LightBlock) -> Height;

    /// Height of a trusted state.
    fn trusted_height(&self, state: &Self::TrustedState) -> Height;
}

/// Checks shared by every family, in the order the CometBFT light client runs them.
pub mod predicates {
    use super::*;

    /// The trusted state must not have expired: `trusted_time + trusting_period > now`.
    pub fn is_within_trust_period(
        trusted_height: Height,
        trusted_time: Time,
        options: &Options,
        now: Time,
    ) -> Result<(), VerificationError> {
        let expires_at = trusted_time.checked_add(options.trusting_period).ok_or(
            VerificationError::TimeOverflow {
                height: trusted_height,
                trusting_period: options.trusting_period,
            },
        )?;
        if expires_at > now {
            Ok(())
        } else {
            Err(VerificationError::NotWithinTrustPeriod {
                trusted_height,
                expires_at,
                now,
            })
        }
    }

    /// The untrusted header must not be from the future: `time < now + clock_drift`.
    pub fn is_header_from_past(
        height: Height,
        time: Time,
        options: &Options,
        now: Time,
    ) -> Result<(), VerificationError> {
        let max_allowed =
            now.checked_add(options.clock_drift)
                .ok_or(VerificationError::TimeOverflow {
                    height,
                    trusting_period: options.trusting_period,
                })?;
        if time < max_allowed {
            Ok(())
        } else {
            Err(VerificationError::HeaderFromFuture {
                height,
                time,
                max_allowed,
            })
        }
    }

    /// Height and time must both increase from the trusted header.
    pub fn is_monotonic(
        height: Height,
        time: Time,
        trusted_height: Height,
        trusted_time: Time,
    ) -> Result<(), VerificationError> {
        if height <= trusted_height {
            return Err(VerificationError::NonIncreasingHeight {
                height,
                trusted: trusted_height,
            });
        }
        if time <= trusted_time {
            return Err(VerificationError::NonIncreasingTime {
                height,
                time,
                trusted_time,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::predicates::*;
    use super::*;

    fn secs(s: u64) -> Time {
        Time::from_unix_secs(s).unwrap()
    }

    #[test]
    fn trust_period_is_exclusive_at_expiry() {
        let o = Options {
            trusting_period: Duration::from_secs(100),
            ..Options::default()
        };
        assert!(is_within_trust_period(Height(1), secs(1000), &o, secs(1099)).is_ok());
        assert!(matches!(
            is_within_trust_period(Height(1), secs(1000), &o, secs(1100)),
            Err(VerificationError::NotWithinTrustPeriod { .. })
        ));
        let huge = Options {
            trusting_period: Duration::from_secs(u64::MAX),
            ..o
        };
        assert!(matches!(
            is_within_trust_period(Height(1), secs(1000), &huge, secs(1100)),
            Err(VerificationError::TimeOverflow { .. })
        ));
    }

    #[test]
    fn future_headers_are_refused() {
        let o = Options {
            clock_drift: Duration::from_secs(5),
            ..Options::default()
        };
        assert!(is_header_from_past(Height(2), secs(104), &o, secs(100)).is_ok());
        assert!(matches!(
            is_header_from_past(Height(2), secs(105), &o, secs(100)),
            Err(VerificationError::HeaderFromFuture { .. })
        ));
    }

    #[test]
    fn monotonicity() {
        assert!(is_monotonic(Height(3), secs(3), Height(2), secs(2)).is_ok());
        assert!(matches!(
            is_monotonic(Height(2), secs(3), Height(2), secs(2)),
            Err(VerificationError::NonIncreasingHeight { .. })
        ));
        assert!(matches!(
            is_monotonic(Height(3), secs(2), Height(2), secs(2)),
            Err(VerificationError::NonIncreasingTime { .. })
        ));
    }
}
