//! Verification of native light blocks.
//!
//! ## Implements
//! The CometBFT light client's `verify` (spec: `light-client/verification`), in its order:
//! 1. the trusted state is within its trusting period;
//! 2. the untrusted block is well formed: commit height and block hash match the header,
//!    both validator sets hash to what the header says, the proposer is a validator;
//! 3. same chain, height and time increase, header not from the future (`now + drift`);
//! 4. adjacent (`h = trusted + 1`): the header's validators are the trusted next validators,
//!    and its parent hash is the trusted header's hash (CometBFT's verifier leaves the
//!    parent link unchecked; the native family has the trusted header at hand, so it does);
//! 5. skipping (`h > trusted + 1`): more than the trust threshold of the trusted next
//!    validators' power is claimed by the commit's signers, else
//!    [`Verdict::NotEnoughTrust`] (before any signature: see below);
//! 6. the commit: every signature is by a member of the header's set, no signer twice,
//!    more than 2/3 of the set's power claimed, then every signature valid (one batch).
//!
//! Cheap checks first: power is tallied from the claimed signers before any signature is
//! verified, so a commit that could not pass with every signature valid costs no signature
//! work. A skipping step whose signers do not hold enough of the trusted set is "not enough
//! trust" even if its signatures are forged; that verdict trusts nothing (the caller
//! bisects), and a forged block at a height the bisection reaches is invalid there.
//!
//! A commit with an invalid signature is invalid even when the valid ones would be enough:
//! a block that carries forged signatures comes from a faulty source.
//!
//! As in the `cometbft` family, a trusted state's prepared next validator set
//! ([`crate::prepared`]) stands in for hashing and decompressing a set equal to it.

use std::collections::HashSet;

use super::{LightBlock, TrustedState, ValidatorSet, Vote};
use crate::prepared::PreparedSet;
use crate::signature::{self, BatchKey, PublicKey, Signature};
use crate::types::{Options, Time, TrustThreshold};
use crate::verifier::{
    predicates, ValidatorSetKind, Verdict, VerificationError, Verifier, VotingPowerTally,
};
use crate::Height;

/// The verifier of the native `corridor` family.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NativeVerifier;

impl NativeVerifier {
    /// Checks that `block` is internally consistent and validly signed by more than 2/3 of
    /// its own validator set. Returns the signers' keys. Needs no trusted state: this is
    /// also what misbehaviour detection checks of a conflicting block.
    pub fn verify_self_consistent(
        &self,
        block: &LightBlock,
    ) -> Result<Vec<PublicKey>, VerificationError> {
        self.self_consistent(block, None)
    }

    /// [`Self::verify_self_consistent`], taking the hash and keys of a set equal to the
    /// `prepared` one from it.
    fn self_consistent(
        &self,
        block: &LightBlock,
        prepared: Option<&PreparedSet<ValidatorSet>>,
    ) -> Result<Vec<PublicKey>, VerificationError> {
        let header = block.header();
        let height = header.height;
        if height.0 == 0 {
            return Err(VerificationError::ZeroHeight);
        }
        let commit = &block.signed_header.commit;
        if commit.height != height {
            return Err(VerificationError::CommitHeightMismatch {
                height,
                commit_height: commit.height,
            });
        }
        let header_hash = header.hash();
        if commit.block_hash != header_hash {
            return Err(VerificationError::CommitBlockHashMismatch {
                height,
                header_hash,
                commit_hash: commit.block_hash,
            });
        }
        for (kind, set, expected) in [
            (
                ValidatorSetKind::Current,
                &block.validators,
                header.validators_hash,
            ),
            (
                ValidatorSetKind::Next,
                &block.next_validators,
                header.next_validators_hash,
            ),
        ] {
            let got = prepared.map_or_else(|| set.hash(), |p| p.hash_of(set));
            if got != expected {
                return Err(VerificationError::ValidatorSetHashMismatch {
                    height,
                    kind,
                    expected,
                    got,
                });
            }
        }
        if block.validators.find(&header.proposer).is_none() {
            return Err(VerificationError::Malformed {
                height,
                reason: format!("proposer {} is not in the validator set", header.proposer),
            });
        }
        if commit.signatures.is_empty() {
            return Err(VerificationError::NoSignatures { height });
        }
        let mut seen = HashSet::with_capacity(commit.signatures.len());
        let mut signed_power: u64 = 0;
        for sig in &commit.signatures {
            if !seen.insert(sig.validator) {
                return Err(VerificationError::DuplicateValidator {
                    height,
                    validator: sig.validator.to_string(),
                });
            }
            let member = block.validators.find(&sig.validator).ok_or_else(|| {
                VerificationError::UnknownSigner {
                    height,
                    validator: sig.validator.to_string(),
                }
            })?;
            // Cannot overflow: members are distinct and the set's total fits in u64.
            signed_power = signed_power.saturating_add(member.power);
        }
        // The claimed power is tallied before any signature is checked: a commit that could
        // not pass even with every signature valid costs no signature work.
        let total = block.validators.total_power();
        if !TrustThreshold::TWO_THIRDS.is_exceeded_by(signed_power, total) {
            return Err(VerificationError::InsufficientCommitPower {
                height,
                tally: VotingPowerTally {
                    total,
                    tallied: signed_power,
                    trust_threshold: TrustThreshold::TWO_THIRDS,
                },
            });
        }
        let vote = Vote {
            chain_id: header.chain_id.clone(),
            height,
            round: commit.round,
            block_hash: header_hash,
        };
        let sign_bytes = vote.sign_bytes();
        let keys = prepared.and_then(|p| p.keys_of(&block.validators));
        let items: Vec<(BatchKey<'_>, &[u8], Signature)> = commit
            .signatures
            .iter()
            .map(|s| {
                let key = keys
                    .zip(block.validators.position(&s.validator))
                    .and_then(|(c, i)| c.batch_key(i, &s.validator))
                    .unwrap_or(BatchKey::Bytes(s.validator));
                (key, sign_bytes.as_slice(), s.signature)
            })
            .collect();
        if let Some(bad) = signature::verify_batch(&items) {
            let validator = commit.signatures.get(bad).map(|s| s.validator.to_string());
            return Err(VerificationError::InvalidSignature {
                height,
                validator: validator.unwrap_or_default(),
            });
        }
        Ok(commit.signatures.iter().map(|s| s.validator).collect())
    }

    fn verify_inner(
        &self,
        untrusted: &LightBlock,
        trusted: &TrustedState,
        options: &Options,
        now: Time,
    ) -> Result<Option<VotingPowerTally>, VerificationError> {
        let th = &trusted.header;
        let uh = untrusted.header();
        // The trusted set's prepared data, if it is of the set the trusted header names.
        let prepared = trusted.cache.for_header(th.next_validators_hash);
        predicates::is_within_trust_period(th.height, th.time, options, now)?;
        if uh.chain_id != th.chain_id {
            return Err(VerificationError::ChainIdMismatch {
                height: uh.height,
                expected: th.chain_id.clone(),
                got: uh.chain_id.clone(),
            });
        }
        predicates::is_monotonic(uh.height, uh.time, th.height, th.time)?;
        predicates::is_header_from_past(uh.height, uh.time, options, now)?;
        let adjacent = th.height.increment() == Some(uh.height);
        if adjacent && uh.validators_hash != th.next_validators_hash {
            return Err(VerificationError::NextValidatorsMismatch {
                height: uh.height,
                expected: th.next_validators_hash,
                got: uh.validators_hash,
            });
        }
        if adjacent {
            let expected = th.hash();
            if uh.parent_hash != expected {
                return Err(VerificationError::ParentHashMismatch {
                    height: uh.height,
                    expected,
                    got: uh.parent_hash,
                });
            }
        }
        if adjacent {
            self.self_consistent(untrusted, prepared)?;
            return Ok(None);
        }
        // Skipping: the trusted set's claimed share is tallied before any signature. Too
        // little is "not enough trust" whatever the signatures: nothing is trusted on it,
        // and a forged commit makes us do no signature work.
        let trusted_set = &trusted.next_validators;
        let tallied = untrusted
            .signed_header
            .commit
            .signatures
            .iter()
            .filter_map(|s| trusted_set.find(&s.validator))
            .fold(0u64, |acc, v| acc.saturating_add(v.power));
        let tally = VotingPowerTally {
            total: trusted_set.total_power(),
            tallied,
            trust_threshold: options.trust_threshold,
        };
        if !options.trust_threshold.is_exceeded_by(tallied, tally.total) {
            return Ok(Some(tally));
        }
        self.self_consistent(untrusted, prepared)?;
        Ok(None)
    }
}

impl Verifier for NativeVerifier {
    type LightBlock = LightBlock;
    type TrustedState = TrustedState;

    fn verify_update(
        &self,
        untrusted: &LightBlock,
        trusted: &TrustedState,
        options: &Options,
        now: Time,
    ) -> Verdict {
        match self.verify_inner(untrusted, trusted, options, now) {
            Ok(None) => Verdict::Success,
            Ok(Some(tally)) => Verdict::NotEnoughTrust(tally),
            Err(e) => Verdict::Invalid(e),
        }
    }

    fn trusted_state(&self, verified: &LightBlock) -> TrustedState {
        TrustedState::from_block(verified)
    }

    fn trusted_state_after(&self, verified: &LightBlock, previous: &TrustedState) -> TrustedState {
        TrustedState::after(verified, previous)
    }

    fn block_height(&self, block: &LightBlock) -> Height {
        block.height()
    }

    fn trusted_height(&self, state: &TrustedState) -> Height {
        state.header.height
    }
}
