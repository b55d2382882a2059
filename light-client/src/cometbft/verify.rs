//! Verification of CometBFT light blocks: [`CometVerifier`].
//!
//! ## Implements
//! tendermint-rs `light-client-verifier` 0.41 (`PredicateVerifier::verify_update_header`
//! with `ProdPredicates`, `ProdVotingPowerCalculator`, `ProdCommitValidator`), check for
//! check and in its order, so that both give the same verdict class on every input:
//!
//! 1. the untrusted block on its own: its validator set and next validator set hash to what
//!    the header says; the header hashes to the commit's block ID; the commit has at least
//!    one non-absent signature, exactly one entry per validator, and every non-absent
//!    entry's address is in the set;
//! 2. against the trusted state: the trusted header is within its trusting period
//!    (`trusted_time + period > now`), the header time is after the trusted time, same
//!    chain id; an adjacent header (`h = trusted + 1`) must name the trusted next
//!    validators as its validators, any other must be above the trusted height;
//! 3. the header is not from the future (`time < now + clock_drift`);
//! 4. voting power: skipping steps need more than the trust threshold of the *trusted*
//!    next validators' power (else [`Verdict::NotEnoughTrust`]) and, for every step, more
//!    than 2/3 of the header's own validators' power.
//!
//! Step 4 works as tendermint-rs does: only `Commit` votes count (nil votes are neither
//! counted nor verified); a validator that signs twice is an error; votes are matched to
//! validators by address; each set is walked in canonical order, a vote's signature is
//! verified when its validator is reached, and the walk stops as soon as the threshold is
//! exceeded. Which signatures get verified thus depends on voting powers only, so this
//! verifier first works out that list, then checks it in one batch
//! ([`crate::signature::verify_all`], ZIP-215 rules, the same rules tendermint-rs applies
//! one signature at a time), then tallies. A bad signature in that list makes the block
//! invalid, and the validator named is the first bad one in walk order, as tendermint-rs
//! would name it. A bad signature past the point where the threshold was reached is not
//! looked at, by either verifier.
//!
//! A trusted state may carry its next validator set prepared ([`crate::prepared`]): when
//! its hash is the trusted header's `next_validators_hash`, a set of the block equal to it
//! takes its hash from it instead of being hashed again, and the signatures of its members
//! are checked with its decompressed keys (and precomputed tables). Same verdicts, less work.
//!
//! The commit's height must equal the header's; tendermint-rs refuses the mismatch when it
//! builds a `SignedHeader`, this verifier checks it first as well (types here have public
//! fields).

use super::vote::VoteTemplate;
use super::{Address, CommitSig, LightBlock, TrustedState, ValidatorSet};
use crate::prepared::PreparedSet;
use crate::signature::{self, BatchKey, KeyCache, PublicKey, Signature};
use crate::types::{Hash32, Height, Options, Time, TrustThreshold};
use crate::verifier::{
    predicates, ValidatorSetKind, Verdict, VerificationError, Verifier, VotingPowerTally,
};

/// The verifier of the `cometbft` family. Stateless.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CometVerifier;

/// A `Commit` vote of the commit: who signed, when, and the signature.
#[derive(Clone, Copy)]
struct CommitVote {
    address: Address,
    timestamp: super::Timestamp,
    signature: Signature,
}

/// What the voting-power walk of one set decided.
struct Walk<'a> {
    tally: u64,
    /// Indices (into the sorted votes) whose signatures the walk verifies, in walk order,
    /// with the key of the validator that verifies each.
    to_verify: Vec<(usize, BatchKey<'a>)>,
}

/// Walks `set` in canonical order, counting the power of validators that have a vote,
/// until more than `threshold` of the set's power is counted. `keys`, when given, is the
/// set's key cache.
fn walk<'a>(
    set: &ValidatorSet,
    keys: Option<&'a KeyCache>,
    votes: &[CommitVote],
    threshold: TrustThreshold,
) -> Walk<'a> {
    let total = set.total_power();
    let mut tally: u64 = 0;
    let mut to_verify = Vec::new();
    for (j, v) in set.validators().iter().enumerate() {
        if let Ok(i) = votes.binary_search_by(|vote| vote.address.cmp(&v.address())) {
            let key = keys
                .and_then(|c| c.batch_key(j, v.pub_key()))
                .unwrap_or(BatchKey::Bytes(*v.pub_key()));
            to_verify.push((i, key));
            // Members are distinct and their total fits in u64.
            tally = tally.saturating_add(v.power());
            if threshold.is_exceeded_by(tally, total) {
                break;
            }
        }
    }
    Walk { tally, to_verify }
}

impl CometVerifier {
    /// Step 1: the untrusted block is internally consistent. Needs no trusted state.
    pub fn verify_block_shape(&self, block: &LightBlock) -> Result<Hash32, VerificationError> {
        self.block_shape(block, None)
    }

    /// Step 1, taking the hash of a set equal to the `prepared` one from it.
    fn block_shape(
        &self,
        block: &LightBlock,
        prepared: Option<&PreparedSet<ValidatorSet>>,
    ) -> Result<Hash32, VerificationError> {
        let header = block.header();
        let height = header.height;
        let commit = &block.signed_header.commit;
        if height.0 == 0 {
            return Err(VerificationError::ZeroHeight);
        }
        if commit.height != height {
            return Err(VerificationError::CommitHeightMismatch {
                height,
                commit_height: commit.height,
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
        let header_hash = header.hash();
        if commit.block_id.hash != Some(header_hash) {
            return Err(VerificationError::CommitBlockHashMismatch {
                height,
                header_hash,
                commit_hash: commit.block_id.hash.unwrap_or(Hash32::ZERO),
            });
        }
        if commit
            .signatures
            .iter()
            .all(|s| matches!(s, CommitSig::Absent))
        {
            return Err(VerificationError::NoSignatures { height });
        }
        if commit.signatures.len() != block.validators.len() {
            return Err(VerificationError::SignatureCountMismatch {
                height,
                signatures: commit.signatures.len(),
                validators: block.validators.len(),
            });
        }
        for address in commit
            .signatures
            .iter()
            .filter_map(CommitSig::validator_address)
        {
            if block.validators.find(&address).is_none() {
                return Err(VerificationError::UnknownSigner {
                    height,
                    validator: address.to_string(),
                });
            }
        }
        Ok(header_hash)
    }

    /// Checks that `block` is internally consistent (step 1) and that more than 2/3 of its
    /// own set's power signed it, verifying **every** `Commit` signature (not only those a
    /// walk reaches): misbehaviour evidence names exactly who signed, so each signer's
    /// signature must have been checked. Returns the signers, sorted by key.
    pub fn verify_signed_by_own_set(
        &self,
        block: &LightBlock,
    ) -> Result<Vec<crate::family::Signer>, VerificationError> {
        self.verify_block_shape(block)?;
        let commit = &block.signed_header.commit;
        let height = commit.height;
        let template =
            VoteTemplate::precommit(&block.header().chain_id, commit, Some(&commit.block_id));
        let mut signers = Vec::new();
        let mut sign_bytes = Vec::new();
        let mut signatures = Vec::new();
        for sig in &commit.signatures {
            if let CommitSig::Commit {
                validator_address,
                timestamp,
                signature,
            } = sig
            {
                // verify_block_shape checked every address is in the set.
                let Some(v) = block.validators.find(validator_address) else {
                    return Err(VerificationError::UnknownSigner {
                        height,
                        validator: validator_address.to_string(),
                    });
                };
                signers.push(crate::family::Signer {
                    key: *v.pub_key(),
                    power: v.power(),
                });
                sign_bytes.push(template.sign_bytes(timestamp));
                signatures.push((*validator_address, *signature));
            }
        }
        let items: Vec<(PublicKey, &[u8], Signature)> = signers
            .iter()
            .zip(&sign_bytes)
            .zip(&signatures)
            .map(|((s, msg), (_, sig))| (s.key, msg.as_slice(), *sig))
            .collect();
        if let Some(bad) = signature::verify_all(&items) {
            let validator = signatures
                .get(bad)
                .map(|(a, _)| a.to_string())
                .unwrap_or_default();
            return Err(VerificationError::InvalidSignature { height, validator });
        }
        signers.sort();
        if let Some(w) = signers
            .windows(2)
            .find(|w| w.first().map(|s| s.key) == w.get(1).map(|s| s.key))
        {
            return Err(VerificationError::DuplicateValidator {
                height,
                validator: w.first().map(|s| s.key.to_string()).unwrap_or_default(),
            });
        }
        let tallied = signers.iter().fold(0u64, |t, s| t.saturating_add(s.power));
        let total = block.validators.total_power();
        if !TrustThreshold::TWO_THIRDS.is_exceeded_by(tallied, total) {
            return Err(VerificationError::InsufficientCommitPower {
                height,
                tally: VotingPowerTally {
                    total,
                    tallied,
                    trust_threshold: TrustThreshold::TWO_THIRDS,
                },
            });
        }
        Ok(signers)
    }

    /// Steps 2 and 3: the block against the trusted state and the clock.
    fn verify_against_trusted(
        &self,
        untrusted: &LightBlock,
        trusted: &TrustedState,
        options: &Options,
        now: Time,
    ) -> Result<bool, VerificationError> {
        let th = &trusted.header;
        let uh = untrusted.header();
        predicates::is_within_trust_period(th.height, th.time, options, now)?;
        if uh.time <= th.time {
            return Err(VerificationError::NonIncreasingTime {
                height: uh.height,
                time: uh.time,
                trusted_time: th.time,
            });
        }
        if uh.chain_id != th.chain_id {
            return Err(VerificationError::ChainIdMismatch {
                height: uh.height,
                expected: th.chain_id.clone(),
                got: uh.chain_id.clone(),
            });
        }
        let adjacent = th.height.increment() == Some(uh.height);
        if adjacent {
            if uh.validators_hash != th.next_validators_hash {
                return Err(VerificationError::NextValidatorsMismatch {
                    height: uh.height,
                    expected: th.next_validators_hash,
                    got: uh.validators_hash,
                });
            }
        } else if uh.height <= th.height {
            return Err(VerificationError::NonIncreasingHeight {
                height: uh.height,
                trusted: th.height,
            });
        }
        predicates::is_header_from_past(uh.height, uh.time, options, now)?;
        Ok(adjacent)
    }

    /// Step 4: signatures and voting power of `commit` (of a block of `chain_id`) by its
    /// own `validators` (more than 2/3 needed) and, in a skipping step, by the trusted next
    /// validator set (more than its threshold, else `Ok(Some(tally))`).
    ///
    /// Public because it is also what checks a block's `last_commit` against a known set.
    pub fn verify_commit_power(
        &self,
        chain_id: &crate::ChainId,
        commit: &super::Commit,
        validators: &ValidatorSet,
        trusted: Option<(&ValidatorSet, TrustThreshold)>,
    ) -> Result<Option<VotingPowerTally>, VerificationError> {
        self.commit_power(
            chain_id,
            commit,
            (validators, None),
            trusted.map(|(set, threshold)| (set, None, threshold)),
        )
    }

    /// Step 4, with the key caches of the sets where known.
    fn commit_power(
        &self,
        chain_id: &crate::ChainId,
        commit: &super::Commit,
        (validators, own_keys): (&ValidatorSet, Option<&KeyCache>),
        trusted: Option<(&ValidatorSet, Option<&KeyCache>, TrustThreshold)>,
    ) -> Result<Option<VotingPowerTally>, VerificationError> {
        let height = commit.height;
        let mut votes: Vec<CommitVote> = commit
            .signatures
            .iter()
            .filter_map(|s| match *s {
                CommitSig::Commit {
                    validator_address,
                    timestamp,
                    signature,
                } => Some(CommitVote {
                    address: validator_address,
                    timestamp,
                    signature,
                }),
                _ => None,
            })
            .collect();
        votes.sort_by_key(|v| v.address);
        if let Some(w) = votes
            .windows(2)
            .find(|w| w.first().map(|v| v.address) == w.get(1).map(|v| v.address))
        {
            return Err(VerificationError::DuplicateValidator {
                height,
                validator: w.first().map(|v| v.address.to_string()).unwrap_or_default(),
            });
        }

        let trusted_walk = trusted
            .map(|(set, keys, threshold)| (walk(set, keys, &votes, threshold), set, threshold));
        let own = walk(validators, own_keys, &votes, TrustThreshold::TWO_THIRDS);

        // Every signature either walk verifies, each once, in walk order.
        let mut verified = vec![false; votes.len()];
        let mut order: Vec<(usize, BatchKey<'_>)> = Vec::with_capacity(votes.len());
        let walks = trusted_walk.iter().map(|(w, _, _)| w).chain([&own]);
        for w in walks {
            for &(i, key) in &w.to_verify {
                if let Some(seen) = verified.get_mut(i) {
                    if !*seen {
                        *seen = true;
                        order.push((i, key));
                    }
                }
            }
        }
        let template = VoteTemplate::precommit(chain_id, commit, Some(&commit.block_id));
        let mut sign_bytes: Vec<Vec<u8>> = Vec::with_capacity(order.len());
        for &(i, _) in &order {
            let ts = votes
                .get(i)
                .map(|v| v.timestamp)
                .unwrap_or(super::Timestamp::GO_ZERO);
            sign_bytes.push(template.sign_bytes(&ts));
        }
        let items: Vec<(BatchKey<'_>, &[u8], Signature)> = order
            .iter()
            .zip(&sign_bytes)
            .filter_map(|(&(i, key), msg)| votes.get(i).map(|v| (key, msg.as_slice(), v.signature)))
            .collect();
        if let Some(bad) = signature::verify_batch(&items) {
            let validator = order
                .get(bad)
                .and_then(|&(i, _)| votes.get(i))
                .map(|v| v.address.to_string())
                .unwrap_or_default();
            return Err(VerificationError::InvalidSignature { height, validator });
        }

        if let Some((w, set, threshold)) = &trusted_walk {
            let tally = VotingPowerTally {
                total: set.total_power(),
                tallied: w.tally,
                trust_threshold: *threshold,
            };
            if !threshold.is_exceeded_by(tally.tallied, tally.total) {
                return Ok(Some(tally));
            }
        }
        let total = validators.total_power();
        if !TrustThreshold::TWO_THIRDS.is_exceeded_by(own.tally, total) {
            return Err(VerificationError::InsufficientCommitPower {
                height,
                tally: VotingPowerTally {
                    total,
                    tallied: own.tally,
                    trust_threshold: TrustThreshold::TWO_THIRDS,
                },
            });
        }
        Ok(None)
    }

    fn verify_inner(
        &self,
        untrusted: &LightBlock,
        trusted: &TrustedState,
        options: &Options,
        now: Time,
    ) -> Result<Option<VotingPowerTally>, VerificationError> {
        // The trusted set's prepared data, if it is of the set the trusted header names.
        let prepared = trusted
            .cache
            .for_header(trusted.header.next_validators_hash);
        self.block_shape(untrusted, prepared)?;
        let adjacent = self.verify_against_trusted(untrusted, trusted, options, now)?;
        let keys_of = |set| prepared.and_then(|p| p.keys_of(set));
        let trusted_set = (!adjacent).then_some((
            &trusted.next_validators,
            keys_of(&trusted.next_validators),
            options.trust_threshold,
        ));
        self.commit_power(
            &untrusted.header().chain_id,
            &untrusted.signed_header.commit,
            (&untrusted.validators, keys_of(&untrusted.validators)),
            trusted_set,
        )
    }
}

impl Verifier for CometVerifier {
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
