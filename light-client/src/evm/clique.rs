//! Clique (EIP-225) proof-of-authority seals.
//!
//! A Clique header's `extraData` is 32 bytes of vanity, then (only at checkpoint blocks,
//! `number % epoch == 0`) the sorted list of authorised signers, 20 bytes each, then a
//! 65-byte secp256k1 signature `r || s || v`. The signer signs the seal hash:
//! `keccak256(rlp(header))` with the 65-byte seal cut from `extraData`. [`seal_signer`]
//! recovers the signer's address from it.
//!
//! [`CliqueSnapshot`] is the signer state geth's `clique.Snapshot` keeps, and
//! [`CliqueSnapshot::apply`] checks one header against it and returns the next state:
//! parent linkage, the header rules (`verifyHeader`), the cascading rules
//! (`verifyCascadingFields`: the period between blocks, the checkpoint's signer list) and the
//! seal (`verifySeal`: the signer is authorised, has not signed one of the last
//! `floor(N/2)` blocks, so at most one block in any `floor(N/2)+1`, and the difficulty is 2
//! in turn, `number % N == position of the signer`, and 1 out of turn), then the vote the
//! header carries (`beneficiary` and `nonce`), which adds or removes a signer when more than
//! half of the signers agree.
//!
//! A snapshot starts from a trusted checkpoint header ([`CliqueSnapshot::from_checkpoint`]):
//! its signer list is taken from its `extraData`; no recent signers are known, as when geth
//! itself starts from a checkpoint.
//!
//! Signatures are accepted as geth's `ecrecover` accepts them: `v` from 0 to 3 and `s` in
//! either half of the group order (a high `s` is normalised, and `v`'s parity flipped,
//! before recovery). A chain produced by geth only ever carries low `s`.
//!
//! ## Implements
//! - EIP-225 (Clique), with the exact rules of go-ethereum `consensus/clique/clique.go` and
//!   `snapshot.go` (v1.13): `extraVanity = 32`, `extraSeal = 65`, `nonceAuthVote =
//!   0xffffffffffffffff`, `nonceDropVote = 0x0000000000000000`, `diffInTurn = 2`,
//!   `diffNoTurn = 1`, uncle hash = `keccak256(rlp([]))`, mix digest zero.

use std::collections::{BTreeMap, BTreeSet};

use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::header::Header;
use super::{keccak256, Address, EMPTY_OMMERS_HASH, U256};
use crate::types::Hash32;

/// Vanity bytes at the start of `extraData`.
pub const EXTRA_VANITY: usize = 32;
/// Seal bytes at the end of `extraData`.
pub const EXTRA_SEAL: usize = 65;
/// Most signers accepted in a checkpoint.
pub const MAX_SIGNERS: usize = 1024;
/// The nonce of a vote to add a signer.
pub const NONCE_AUTH_VOTE: [u8; 8] = [0xff; 8];
/// The nonce of a vote to remove a signer (and of every checkpoint).
pub const NONCE_DROP_VOTE: [u8; 8] = [0; 8];

/// A Clique chain's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliqueConfig {
    /// Blocks between checkpoints (30000 on Goerli and geth's default).
    pub epoch: u64,
    /// Minimum seconds between blocks (15 on Goerli).
    pub period: u64,
}

/// Why a Clique header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CliqueError {
    /// The configured epoch is zero.
    #[error("clique: epoch must be at least 1")]
    ZeroEpoch,
    /// `extraData` is shorter than vanity plus seal.
    #[error("clique block {number}: extraData of {len} bytes has no room for vanity and seal")]
    MissingSeal {
        /// The block number.
        number: u64,
        /// Its length.
        len: usize,
    },
    /// A non-checkpoint block lists signers, or a checkpoint's list is not whole addresses.
    #[error("clique block {number}: {len} bytes of signer list (checkpoint: {checkpoint})")]
    BadSignerList {
        /// The block number.
        number: u64,
        /// Bytes between vanity and seal.
        len: usize,
        /// Whether the block is a checkpoint.
        checkpoint: bool,
    },
    /// A checkpoint's signer list is empty, too long, or not strictly ascending.
    #[error("clique block {number}: signer list is empty, too long or not sorted")]
    UnsortedSigners {
        /// The block number.
        number: u64,
    },
    /// The starting header is not a checkpoint.
    #[error("clique block {number} is not a checkpoint (epoch {epoch})")]
    NotCheckpoint {
        /// The block number.
        number: u64,
        /// The epoch.
        epoch: u64,
    },
    /// A checkpoint names a beneficiary or a vote.
    #[error("clique block {number}: checkpoint with a beneficiary or a vote nonce")]
    CheckpointVote {
        /// The block number.
        number: u64,
    },
    /// The nonce is neither an add nor a drop vote.
    #[error("clique block {number}: nonce is not a vote")]
    InvalidVote {
        /// The block number.
        number: u64,
    },
    /// The mix digest is not zero.
    #[error("clique block {number}: non-zero mix digest")]
    NonZeroMixDigest {
        /// The block number.
        number: u64,
    },
    /// The uncle hash is not that of an empty list.
    #[error("clique block {number}: has uncles")]
    HasUncles {
        /// The block number.
        number: u64,
    },
    /// The difficulty is neither 1 nor 2.
    #[error("clique block {number}: difficulty {difficulty} is neither 1 nor 2")]
    InvalidDifficulty {
        /// The block number.
        number: u64,
        /// The difficulty.
        difficulty: U256,
    },
    /// The header is not the next block after the snapshot's.
    #[error("clique block {number}: does not follow block {previous} ({reason})")]
    NotNext {
        /// The block number.
        number: u64,
        /// The snapshot's block.
        previous: u64,
        /// `number` or `parentHash`.
        reason: &'static str,
    },
    /// The block came sooner than `period` seconds after its parent.
    #[error("clique block {number}: timestamp {timestamp} is before parent's {parent} + period {period}")]
    TooSoon {
        /// The block number.
        number: u64,
        /// Its timestamp.
        timestamp: u64,
        /// The parent's timestamp.
        parent: u64,
        /// The configured period.
        period: u64,
    },
    /// A checkpoint's signer list differs from the signer set.
    #[error("clique block {number}: checkpoint signers differ from the signer set")]
    CheckpointSignersMismatch {
        /// The block number.
        number: u64,
    },
    /// The seal is not a recoverable secp256k1 signature.
    #[error("clique block {number}: seal does not recover a signer")]
    BadSignature {
        /// The block number.
        number: u64,
    },
    /// The recovered signer is not authorised.
    #[error("clique block {number}: signer {signer} is not authorised")]
    Unauthorized {
        /// The block number.
        number: u64,
        /// The recovered signer.
        signer: Address,
    },
    /// The signer signed one of the most recent blocks.
    #[error("clique block {number}: signer {signer} signed recently (block {last})")]
    RecentlySigned {
        /// The block number.
        number: u64,
        /// The recovered signer.
        signer: Address,
        /// The block it signed before.
        last: u64,
    },
    /// The difficulty does not match the signer's turn.
    #[error("clique block {number}: difficulty {difficulty} but signer in turn: {in_turn}")]
    WrongDifficulty {
        /// The block number.
        number: u64,
        /// The difficulty.
        difficulty: U256,
        /// Whether the signer is in turn.
        in_turn: bool,
    },
}

/// The signer list and seal of a header's `extraData`.
fn split_extra(header: &Header) -> Result<(&[u8], &[u8; 65]), CliqueError> {
    let len = header.extra_data.len();
    let seal_start = len
        .checked_sub(EXTRA_SEAL)
        .filter(|&s| s >= EXTRA_VANITY)
        .ok_or(CliqueError::MissingSeal {
            number: header.number,
            len,
        })?;
    let signers = header
        .extra_data
        .get(EXTRA_VANITY..seal_start)
        .unwrap_or_default();
    let seal = header
        .extra_data
        .get(seal_start..)
        .and_then(|s| <&[u8; 65]>::try_from(s).ok())
        .ok_or(CliqueError::MissingSeal {
            number: header.number,
            len,
        })?;
    Ok((signers, seal))
}

/// The seal hash: `keccak256(rlp(header))` with the 65-byte seal cut from `extraData`.
pub fn seal_hash(header: &Header) -> Result<Hash32, CliqueError> {
    let len = header.extra_data.len();
    let cut = len
        .checked_sub(EXTRA_SEAL)
        .ok_or(CliqueError::MissingSeal {
            number: header.number,
            len,
        })?;
    let extra = header.extra_data.get(..cut).unwrap_or_default();
    Ok(keccak256(&header.encode_with_extra(extra)))
}

/// Recovers the address that signed `prehash` with the 65-byte `r || s || v` signature,
/// accepting what geth's `ecrecover` accepts (`v` 0 to 3, `s` high or low).
pub fn recover_address(prehash: &Hash32, sig: &[u8; 65]) -> Option<Address> {
    let (rs, v) = sig.split_at(64);
    let mut recid = RecoveryId::from_byte(*v.first()?)?;
    let mut signature = Signature::from_slice(rs).ok()?;
    if let Some(low) = signature.normalize_s() {
        signature = low;
        recid = RecoveryId::new(!recid.is_y_odd(), recid.is_x_reduced());
    }
    let key = VerifyingKey::recover_from_prehash(&prehash.0, &signature, recid).ok()?;
    let point = key.to_encoded_point(false);
    let xy = point
        .as_bytes()
        .get(1..)
        .and_then(|b| <&[u8; 64]>::try_from(b).ok())?;
    Some(Address::from_public_key(xy))
}

/// Recovers the signer of a Clique header from its seal.
pub fn seal_signer(header: &Header) -> Result<Address, CliqueError> {
    let (_, seal) = split_extra(header)?;
    let hash = seal_hash(header)?;
    recover_address(&hash, seal).ok_or(CliqueError::BadSignature {
        number: header.number,
    })
}

/// The signers a checkpoint's `extraData` lists (strictly ascending, at least one).
pub fn checkpoint_signers(header: &Header) -> Result<Vec<Address>, CliqueError> {
    let (list, _) = split_extra(header)?;
    if list.len() % 20 != 0 {
        return Err(CliqueError::BadSignerList {
            number: header.number,
            len: list.len(),
            checkpoint: true,
        });
    }
    let signers: Vec<Address> = list
        .chunks_exact(20)
        .filter_map(|c| <[u8; 20]>::try_from(c).ok().map(Address))
        .collect();
    let sorted = signers.windows(2).all(|w| matches!(w, [a, b] if a < b));
    if signers.is_empty() || signers.len() > MAX_SIGNERS || !sorted {
        return Err(CliqueError::UnsortedSigners {
            number: header.number,
        });
    }
    Ok(signers)
}

/// A pending vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Vote {
    signer: Address,
    address: Address,
    authorize: bool,
}

/// The running count of votes about one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Tally {
    authorize: bool,
    votes: usize,
}

/// The Clique signer state after a verified header (geth's `clique.Snapshot`).
///
/// It travels inside light blocks ([`super::family::EvmBlock`]); a snapshot read from a peer
/// is only ever used after [`CliqueSnapshot::agrees_with`] a trusted one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CliqueSnapshot {
    config: CliqueConfig,
    number: u64,
    hash: Hash32,
    timestamp: u64,
    signers: BTreeSet<Address>,
    #[serde(with = "pairs")]
    recents: BTreeMap<u64, Address>,
    votes: Vec<Vote>,
    #[serde(with = "pairs")]
    tally: BTreeMap<Address, Tally>,
}

/// Maps as lists of `(key, value)` pairs: a map with integer keys does not survive JSON
/// inside an internally tagged enum (a bundle), a list does.
mod pairs {
    use std::collections::BTreeMap;

    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub(super) fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: DeserializeOwned + Ord,
        V: DeserializeOwned,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

impl CliqueSnapshot {
    /// Starts from a trusted checkpoint header (its hash comes from configuration). Only the
    /// format of its `extraData` is checked; its seal is not needed.
    pub fn from_checkpoint(config: CliqueConfig, header: &Header) -> Result<Self, CliqueError> {
        if config.epoch == 0 {
            return Err(CliqueError::ZeroEpoch);
        }
        if !header.number.is_multiple_of(config.epoch) {
            return Err(CliqueError::NotCheckpoint {
                number: header.number,
                epoch: config.epoch,
            });
        }
        let signers = checkpoint_signers(header)?;
        Ok(Self {
            config,
            number: header.number,
            hash: header.hash(),
            timestamp: header.timestamp,
            signers: signers.into_iter().collect(),
            recents: BTreeMap::new(),
            votes: Vec::new(),
            tally: BTreeMap::new(),
        })
    }

    /// The block this snapshot is at.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The hash of the block this snapshot is at.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }

    /// The authorised signers, ascending.
    pub fn signers(&self) -> impl Iterator<Item = &Address> {
        self.signers.iter()
    }

    /// The chain's parameters.
    pub fn config(&self) -> CliqueConfig {
        self.config
    }

    /// The number of authorised signers.
    pub fn signer_count(&self) -> usize {
        self.signers.len()
    }

    /// Whether this snapshot (read from a peer) may stand for `trusted` (computed from
    /// trusted headers) at the same block: everything equal but the recent signers, of
    /// which this one may know more. A client that started from a later checkpoint than
    /// the peer knows no signer of the blocks before it (as geth, starting from a
    /// checkpoint); the peer's fuller list only refuses more, and every entry must lie in
    /// the window of the last `floor(N/2) + 1` blocks.
    pub fn agrees_with(&self, trusted: &Self) -> bool {
        let window = (self.signers.len() / 2).saturating_add(1) as u64;
        let oldest = self.number.saturating_sub(window);
        self.config == trusted.config
            && self.number == trusted.number
            && self.hash == trusted.hash
            && self.timestamp == trusted.timestamp
            && self.signers == trusted.signers
            && self.votes == trusted.votes
            && self.tally == trusted.tally
            && trusted
                .recents
                .iter()
                .all(|(n, a)| self.recents.get(n) == Some(a))
            && self.recents.keys().all(|&n| n > oldest && n <= self.number)
    }

    /// Checks the seal of the checkpoint header this snapshot was made from, against the
    /// signer list the header itself carries (so it needs no parent): the header rules of
    /// a checkpoint (no vote, zero mix digest, no uncles), an authorised signer, and the
    /// difficulty of its turn. Returns the signer. The genesis block carries no seal.
    pub fn checkpoint_sealer(&self, header: &Header) -> Result<Address, CliqueError> {
        let number = header.number;
        if number != self.number || header.hash() != self.hash {
            return Err(CliqueError::NotNext {
                number,
                previous: self.number,
                reason: "not this checkpoint",
            });
        }
        if header.beneficiary != Address::ZERO || header.nonce != NONCE_DROP_VOTE {
            return Err(CliqueError::CheckpointVote { number });
        }
        if header.mix_hash != Hash32::ZERO {
            return Err(CliqueError::NonZeroMixDigest { number });
        }
        if header.ommers_hash != EMPTY_OMMERS_HASH {
            return Err(CliqueError::HasUncles { number });
        }
        let signer = seal_signer(header)?;
        if !self.signers.contains(&signer) {
            return Err(CliqueError::Unauthorized { number, signer });
        }
        let in_turn = self.in_turn(number, &signer);
        let expected = U256::from_u64(if in_turn { 2 } else { 1 });
        if header.difficulty != expected {
            return Err(CliqueError::WrongDifficulty {
                number,
                difficulty: header.difficulty,
                in_turn,
            });
        }
        Ok(signer)
    }

    /// The signer of block `number`, while it is among the recent signers this snapshot
    /// keeps (the block it is at always is, once applied).
    pub fn recent_signer(&self, number: u64) -> Option<Address> {
        self.recents.get(&number).copied()
    }

    /// Whether `signer` is in turn at `number`.
    pub fn in_turn(&self, number: u64, signer: &Address) -> bool {
        let n = self.signers.len() as u64;
        let offset = self.signers.iter().take_while(|s| *s != signer).count() as u64;
        number.checked_rem(n) == Some(offset)
    }

    /// Checks that `header` is a valid next block and returns the state after it.
    pub fn apply(&self, header: &Header) -> Result<Self, CliqueError> {
        let number = header.number;
        if self.number.checked_add(1) != Some(number) {
            return Err(CliqueError::NotNext {
                number,
                previous: self.number,
                reason: "number",
            });
        }
        if header.parent_hash != self.hash {
            return Err(CliqueError::NotNext {
                number,
                previous: self.number,
                reason: "parentHash",
            });
        }
        let epoch = self.config.epoch.max(1);
        let checkpoint = number.is_multiple_of(epoch);

        // verifyHeader
        if checkpoint && header.beneficiary != Address::ZERO {
            return Err(CliqueError::CheckpointVote { number });
        }
        if header.nonce != NONCE_AUTH_VOTE && header.nonce != NONCE_DROP_VOTE {
            return Err(CliqueError::InvalidVote { number });
        }
        if checkpoint && header.nonce != NONCE_DROP_VOTE {
            return Err(CliqueError::CheckpointVote { number });
        }
        let (list, _) = split_extra(header)?;
        if !checkpoint && !list.is_empty() {
            return Err(CliqueError::BadSignerList {
                number,
                len: list.len(),
                checkpoint,
            });
        }
        if checkpoint && list.len() % 20 != 0 {
            return Err(CliqueError::BadSignerList {
                number,
                len: list.len(),
                checkpoint,
            });
        }
        if header.mix_hash != Hash32::ZERO {
            return Err(CliqueError::NonZeroMixDigest { number });
        }
        if header.ommers_hash != EMPTY_OMMERS_HASH {
            return Err(CliqueError::HasUncles { number });
        }
        let one = U256::from_u64(1);
        let two = U256::from_u64(2);
        if header.difficulty != one && header.difficulty != two {
            return Err(CliqueError::InvalidDifficulty {
                number,
                difficulty: header.difficulty,
            });
        }

        // verifyCascadingFields
        let earliest = self.timestamp.saturating_add(self.config.period);
        if header.timestamp < earliest {
            return Err(CliqueError::TooSoon {
                number,
                timestamp: header.timestamp,
                parent: self.timestamp,
                period: self.config.period,
            });
        }
        if checkpoint {
            let expected: Vec<u8> = self.signers.iter().flat_map(|a| a.0).collect();
            if list != expected.as_slice() {
                return Err(CliqueError::CheckpointSignersMismatch { number });
            }
        }

        // Snapshot.apply with verifySeal's checks.
        let mut next = self.clone();
        if checkpoint {
            next.votes.clear();
            next.tally.clear();
        }
        let limit = (next.signers.len() / 2).saturating_add(1) as u64;
        if let Some(old) = number.checked_sub(limit) {
            next.recents.remove(&old);
        }
        let signer = seal_signer(header)?;
        if !next.signers.contains(&signer) {
            return Err(CliqueError::Unauthorized { number, signer });
        }
        if let Some((&last, _)) = next.recents.iter().find(|(_, s)| **s == signer) {
            return Err(CliqueError::RecentlySigned {
                number,
                signer,
                last,
            });
        }
        let in_turn = next.in_turn(number, &signer);
        let expected = if in_turn { two } else { one };
        if header.difficulty != expected {
            return Err(CliqueError::WrongDifficulty {
                number,
                difficulty: header.difficulty,
                in_turn,
            });
        }
        next.recents.insert(number, signer);

        let target = header.beneficiary;
        if let Some(i) = next
            .votes
            .iter()
            .position(|v| v.signer == signer && v.address == target)
        {
            let old = next.votes.remove(i);
            next.uncast(&old.address, old.authorize);
        }
        let authorize = header.nonce == NONCE_AUTH_VOTE;
        if next.cast(&target, authorize) {
            next.votes.push(Vote {
                signer,
                address: target,
                authorize,
            });
        }
        if let Some(tally) = next.tally.get(&target).copied() {
            if tally.votes > next.signers.len() / 2 {
                if tally.authorize {
                    next.signers.insert(target);
                } else {
                    next.signers.remove(&target);
                    let limit = (next.signers.len() / 2).saturating_add(1) as u64;
                    if let Some(old) = number.checked_sub(limit) {
                        next.recents.remove(&old);
                    }
                    let mut kept = Vec::with_capacity(next.votes.len());
                    for v in std::mem::take(&mut next.votes) {
                        if v.signer == target {
                            next.uncast(&v.address, v.authorize);
                        } else {
                            kept.push(v);
                        }
                    }
                    next.votes = kept;
                }
                next.votes.retain(|v| v.address != target);
                next.tally.remove(&target);
            }
        }
        next.number = number;
        next.hash = header.hash();
        next.timestamp = header.timestamp;
        Ok(next)
    }

    /// Counts a vote, if it makes sense (geth's `Snapshot.cast`).
    fn cast(&mut self, address: &Address, authorize: bool) -> bool {
        if self.signers.contains(address) == authorize {
            return false;
        }
        match self.tally.get_mut(address) {
            // Never taken (kept as geth has it): a tally's direction is the one the check
            // above lets through, and the signer set changes for `address` only when its
            // tally is settled and removed.
            Some(t) if t.authorize != authorize => false,
            Some(t) => {
                t.votes = t.votes.saturating_add(1);
                true
            }
            None => {
                self.tally.insert(
                    *address,
                    Tally {
                        authorize,
                        votes: 1,
                    },
                );
                true
            }
        }
    }

    /// Withdraws a vote (geth's `Snapshot.uncast`).
    fn uncast(&mut self, address: &Address, authorize: bool) {
        if let Some(t) = self.tally.get_mut(address) {
            if t.authorize != authorize {
                return;
            }
            if t.votes > 1 {
                t.votes = t.votes.saturating_sub(1);
            } else {
                self.tally.remove(address);
            }
        }
    }
}

/// Test helpers: a signer that seals generated Clique headers.
#[cfg(test)]
pub(crate) mod testkit {
    use k256::ecdsa::SigningKey;

    use super::*;

    /// A signer from a seed byte.
    pub(crate) fn signer(seed: u8) -> (SigningKey, Address) {
        let key = SigningKey::from_bytes(&[seed; 32].into()).unwrap();
        let point = key.verifying_key().to_encoded_point(false);
        let xy: &[u8; 64] = point.as_bytes()[1..].try_into().unwrap();
        (key, Address::from_public_key(xy))
    }

    /// Seals `header` in place: its extraData must end with 65 placeholder bytes.
    pub(crate) fn seal(header: &mut Header, key: &SigningKey) {
        let hash = seal_hash(header).unwrap();
        let (sig, recid) = key.sign_prehash_recoverable(&hash.0).unwrap();
        let n = header.extra_data.len();
        header.extra_data[n - 65..n - 1].copy_from_slice(&sig.to_bytes());
        header.extra_data[n - 1] = recid.to_byte();
    }

    /// An unsealed child of `parent` with Clique's fixed fields.
    pub(crate) fn child(parent: &Header, difficulty: u64) -> Header {
        let mut h = parent.clone();
        h.parent_hash = parent.hash();
        h.number = parent.number + 1;
        h.timestamp = parent.timestamp + 15;
        h.difficulty = U256::from_u64(difficulty);
        h.beneficiary = Address::ZERO;
        h.nonce = NONCE_DROP_VOTE;
        h.extra_data = vec![0; EXTRA_VANITY + EXTRA_SEAL];
        h
    }

    /// A genesis checkpoint listing `signers`.
    pub(crate) fn genesis(signers: &[Address]) -> Header {
        let mut sorted = signers.to_vec();
        sorted.sort();
        let mut extra = vec![0; EXTRA_VANITY];
        for s in &sorted {
            extra.extend_from_slice(&s.0);
        }
        extra.extend_from_slice(&[0; EXTRA_SEAL]);
        Header {
            parent_hash: Hash32::ZERO,
            ommers_hash: EMPTY_OMMERS_HASH,
            beneficiary: Address::ZERO,
            state_root: Hash32([1; 32]),
            transactions_root: super::super::EMPTY_TRIE_ROOT,
            receipts_root: super::super::EMPTY_TRIE_ROOT,
            logs_bloom: Box::new([0; 256]),
            difficulty: U256::from_u64(1),
            number: 0,
            gas_limit: 8_000_000,
            gas_used: 0,
            timestamp: 1_600_000_000,
            extra_data: extra,
            mix_hash: Hash32::ZERO,
            nonce: [0; 8],
            base_fee_per_gas: None,
            withdrawals_root: None,
            blob_gas_used: None,
            excess_blob_gas: None,
            parent_beacon_block_root: None,
            requests_hash: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;

    const CONFIG: CliqueConfig = CliqueConfig {
        epoch: 30_000,
        period: 15,
    };

    /// Three signers, sorted by address; the in-turn signer of block n is n % 3.
    fn setup() -> (
        Vec<(k256::ecdsa::SigningKey, Address)>,
        Header,
        CliqueSnapshot,
    ) {
        let mut keys: Vec<_> = (1u8..=3).map(signer).collect();
        keys.sort_by_key(|(_, a)| *a);
        let addrs: Vec<Address> = keys.iter().map(|(_, a)| *a).collect();
        let g = genesis(&addrs);
        let snap = CliqueSnapshot::from_checkpoint(CONFIG, &g).unwrap();
        (keys, g, snap)
    }

    #[test]
    fn in_turn_and_out_of_turn_blocks_verify() {
        let (keys, g, snap) = setup();
        let mut h1 = child(&g, 2);
        seal(&mut h1, &keys[1].0); // 1 % 3 == 1: in turn
        let snap = snap.apply(&h1).unwrap();
        let mut h2 = child(&h1, 1);
        seal(&mut h2, &keys[0].0); // out of turn
        let snap = snap.apply(&h2).unwrap();
        assert_eq!(snap.number(), 2);
        assert_eq!(seal_signer(&h2).unwrap(), keys[0].1);
    }

    #[test]
    fn refusals_name_the_rule() {
        let (keys, g, snap) = setup();
        // Wrong difficulty for an in-turn signer.
        let mut h = child(&g, 1);
        seal(&mut h, &keys[1].0);
        assert!(matches!(
            snap.apply(&h),
            Err(CliqueError::WrongDifficulty { in_turn: true, .. })
        ));
        // Unauthorised signer.
        let (outsider, addr) = signer(9);
        let mut h = child(&g, 1);
        seal(&mut h, &outsider);
        assert_eq!(
            snap.apply(&h),
            Err(CliqueError::Unauthorized {
                number: 1,
                signer: addr
            })
        );
        // The same signer twice in a row (limit = 3/2+1 = 2).
        let mut h1 = child(&g, 2);
        seal(&mut h1, &keys[1].0);
        let s1 = snap.apply(&h1).unwrap();
        let mut h2 = child(&h1, 1);
        seal(&mut h2, &keys[1].0);
        assert!(matches!(
            s1.apply(&h2),
            Err(CliqueError::RecentlySigned { last: 1, .. })
        ));
        // A flipped byte anywhere in the header changes the recovered signer.
        let mut h = child(&g, 2);
        seal(&mut h, &keys[1].0);
        h.gas_used ^= 1;
        assert!(matches!(
            snap.apply(&h),
            Err(CliqueError::Unauthorized { .. } | CliqueError::BadSignature { .. })
        ));
        // Too soon.
        let mut h = child(&g, 2);
        h.timestamp = g.timestamp + 1;
        seal(&mut h, &keys[1].0);
        assert!(matches!(snap.apply(&h), Err(CliqueError::TooSoon { .. })));
        // Not the next block.
        let mut h = child(&g, 2);
        h.parent_hash = Hash32([9; 32]);
        seal(&mut h, &keys[1].0);
        assert!(matches!(
            snap.apply(&h),
            Err(CliqueError::NotNext {
                reason: "parentHash",
                ..
            })
        ));
    }

    #[test]
    fn high_s_is_normalised_like_ecrecover() {
        let (keys, g, _) = setup();
        let mut h = child(&g, 2);
        seal(&mut h, &keys[1].0);
        let n = h.extra_data.len();
        let sig = Signature::from_slice(&h.extra_data[n - 65..n - 1]).unwrap();
        let (r, s) = sig.split_scalars();
        let high = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        h.extra_data[n - 65..n - 1].copy_from_slice(&high.to_bytes());
        h.extra_data[n - 1] ^= 1;
        assert_eq!(seal_signer(&h).unwrap(), keys[1].1);
    }

    #[test]
    fn votes_add_a_signer_by_majority() {
        let (keys, g, mut snap) = setup();
        let (_, newcomer) = signer(7);
        let mut parent = g;
        // Blocks 1 and 2 vote to add the newcomer: 2 of 3 is a majority.
        for number in 1u64..=2 {
            let idx = (number % 3) as usize;
            let mut h = child(&parent, 2);
            h.beneficiary = newcomer;
            h.nonce = NONCE_AUTH_VOTE;
            seal(&mut h, &keys[idx].0);
            snap = snap.apply(&h).unwrap();
            parent = h;
        }
        assert!(snap.signers().any(|s| *s == newcomer));
        assert_eq!(snap.signers().count(), 4);
    }

    #[test]
    fn votes_remove_a_signer_and_the_removed_signer_is_refused() {
        let (keys, g, mut snap) = setup();
        let target = keys[0].1;
        let mut parent = g;
        // Blocks 1 and 2 (signers 1 and 2, in turn) vote to drop signer 0.
        for number in 1u64..=2 {
            let mut h = child(&parent, 2);
            h.beneficiary = target;
            h.nonce = NONCE_DROP_VOTE;
            seal(&mut h, &keys[(number % 3) as usize].0);
            snap = snap.apply(&h).unwrap();
            parent = h;
        }
        assert_eq!(snap.signers().count(), 2);
        let mut h = child(&parent, 1);
        seal(&mut h, &keys[0].0);
        assert_eq!(
            snap.apply(&h),
            Err(CliqueError::Unauthorized {
                number: 3,
                signer: target
            })
        );
    }

    #[test]
    fn checkpoint_and_extra_data_rules() {
        let (keys, g, _) = setup();
        let config = CliqueConfig {
            epoch: 2,
            period: 15,
        };
        let snap = CliqueSnapshot::from_checkpoint(config, &g).unwrap();
        // A non-checkpoint block listing signers.
        let mut h1 = child(&g, 2);
        h1.extra_data = g.extra_data.clone();
        seal(&mut h1, &keys[1].0);
        assert!(matches!(
            snap.apply(&h1),
            Err(CliqueError::BadSignerList {
                checkpoint: false,
                ..
            })
        ));
        let mut h1 = child(&g, 2);
        seal(&mut h1, &keys[1].0);
        let snap = snap.apply(&h1).unwrap();
        // Block 2 is a checkpoint: it must list the signer set, and carry no vote.
        let mut h2 = child(&h1, 2);
        seal(&mut h2, &keys[2].0);
        assert_eq!(
            snap.apply(&h2),
            Err(CliqueError::CheckpointSignersMismatch { number: 2 })
        );
        let mut h2 = child(&h1, 2);
        h2.extra_data = g.extra_data.clone();
        h2.beneficiary = Address([5; 20]);
        seal(&mut h2, &keys[2].0);
        assert_eq!(
            snap.apply(&h2),
            Err(CliqueError::CheckpointVote { number: 2 })
        );
        let mut h2 = child(&h1, 2);
        h2.extra_data = g.extra_data.clone();
        seal(&mut h2, &keys[2].0);
        assert_eq!(snap.apply(&h2).unwrap().number(), 2);
        // Starting from a block that is not a checkpoint.
        assert_eq!(
            CliqueSnapshot::from_checkpoint(config, &h1),
            Err(CliqueError::NotCheckpoint {
                number: 1,
                epoch: 2
            })
        );
    }

    type Key = k256::ecdsa::SigningKey;

    /// A sealed child of `parent` by `key`, after `edit`.
    fn sealed(
        parent: &Header,
        key: &Key,
        difficulty: u64,
        edit: impl FnOnce(&mut Header),
    ) -> Header {
        let mut h = child(parent, difficulty);
        edit(&mut h);
        seal(&mut h, key);
        h
    }

    /// `n` ascending addresses (no key behind them).
    fn addresses(n: usize) -> Vec<Address> {
        (1..=n)
            .map(|i| {
                let mut a = [0u8; 20];
                a[..8].copy_from_slice(&(i as u64).to_be_bytes());
                Address(a)
            })
            .collect()
    }

    /// A genesis header whose signer list is the raw bytes `list`.
    fn with_list(list: &[u8]) -> Header {
        let mut g = genesis(&[]);
        g.extra_data = [&[0; EXTRA_VANITY][..], list, &[0; EXTRA_SEAL][..]].concat();
        g
    }

    #[test]
    fn extra_data_holds_vanity_and_seal_at_least() {
        let (keys, g, snap) = setup();
        // Exactly vanity and seal: no list, a seal.
        let h = sealed(&g, &keys[1].0, 2, |_| {});
        assert_eq!(h.extra_data.len(), EXTRA_VANITY + EXTRA_SEAL);
        assert_eq!(snap.apply(&h).unwrap().number(), 1);
        let mut short = child(&g, 2);
        short.extra_data = vec![0; EXTRA_VANITY + EXTRA_SEAL - 1];
        assert_eq!(
            snap.apply(&short),
            Err(CliqueError::MissingSeal { number: 1, len: 96 })
        );
        assert_eq!(
            seal_signer(&short),
            Err(CliqueError::MissingSeal { number: 1, len: 96 })
        );
        // The seal hash needs the seal only.
        short.extra_data = vec![0; EXTRA_SEAL];
        assert!(seal_hash(&short).is_ok());
        short.extra_data = vec![0; EXTRA_SEAL - 1];
        assert_eq!(
            seal_hash(&short),
            Err(CliqueError::MissingSeal { number: 1, len: 64 })
        );
    }

    #[test]
    fn checkpoint_lists_are_one_to_1024_ascending_addresses() {
        let flat = |a: &[Address]| a.iter().flat_map(|a| a.0).collect::<Vec<u8>>();
        let all = addresses(MAX_SIGNERS + 1);
        assert_eq!(
            checkpoint_signers(&with_list(&flat(&all[..1]))),
            Ok(all[..1].to_vec())
        );
        assert_eq!(
            checkpoint_signers(&with_list(&flat(&all[..MAX_SIGNERS]))),
            Ok(all[..MAX_SIGNERS].to_vec())
        );
        let unsorted = CliqueError::UnsortedSigners { number: 0 };
        for list in [
            flat(&all),
            vec![],
            flat(&[all[1], all[0]]),
            flat(&[all[0], all[0]]),
            flat(&[all[0], all[2], all[1]]),
        ] {
            assert_eq!(
                checkpoint_signers(&with_list(&list)),
                Err(unsorted.clone()),
                "{} bytes",
                list.len()
            );
        }
        for len in [19, 21, 39, 41] {
            assert_eq!(
                CliqueSnapshot::from_checkpoint(CONFIG, &with_list(&vec![1; len])),
                Err(CliqueError::BadSignerList {
                    number: 0,
                    len,
                    checkpoint: true
                })
            );
        }
    }

    #[test]
    fn a_snapshot_starts_at_a_checkpoint_of_a_nonzero_epoch() {
        let (keys, g, _) = setup();
        let zero = CliqueConfig {
            epoch: 0,
            period: 15,
        };
        assert_eq!(
            CliqueSnapshot::from_checkpoint(zero, &g),
            Err(CliqueError::ZeroEpoch)
        );
        let config = CliqueConfig {
            epoch: 3,
            period: 5,
        };
        let mut h = g.clone();
        h.number = 6;
        let snap = CliqueSnapshot::from_checkpoint(config, &h).unwrap();
        assert_eq!(snap.number(), 6);
        assert_eq!(snap.hash(), h.hash());
        assert_eq!(snap.config(), config);
        assert_eq!(snap.signer_count(), 3);
        let addrs: Vec<Address> = keys.iter().map(|(_, a)| *a).collect();
        assert_eq!(snap.signers().copied().collect::<Vec<_>>(), addrs);
        h.number = 7;
        assert_eq!(
            CliqueSnapshot::from_checkpoint(config, &h),
            Err(CliqueError::NotCheckpoint {
                number: 7,
                epoch: 3
            })
        );
    }

    #[test]
    fn header_rules_name_each_refusal() {
        let (keys, g, snap) = setup();
        let k1 = &keys[1].0;
        let refused = |edit: &dyn Fn(&mut Header), difficulty: u64| {
            snap.apply(&sealed(&g, k1, difficulty, edit)).unwrap_err()
        };
        assert_eq!(
            refused(&|h| h.number = 2, 2),
            CliqueError::NotNext {
                number: 2,
                previous: 0,
                reason: "number"
            }
        );
        assert_eq!(
            refused(&|h| h.nonce = [1; 8], 2),
            CliqueError::InvalidVote { number: 1 }
        );
        assert_eq!(
            refused(&|h| h.mix_hash = Hash32([1; 32]), 2),
            CliqueError::NonZeroMixDigest { number: 1 }
        );
        assert_eq!(
            refused(&|h| h.ommers_hash = Hash32([1; 32]), 2),
            CliqueError::HasUncles { number: 1 }
        );
        for difficulty in [0, 3] {
            assert_eq!(
                refused(&|_| {}, difficulty),
                CliqueError::InvalidDifficulty {
                    number: 1,
                    difficulty: U256::from_u64(difficulty)
                }
            );
        }
        // One second short of the period.
        assert_eq!(
            refused(&|h| h.timestamp = g.timestamp + 14, 2),
            CliqueError::TooSoon {
                number: 1,
                timestamp: g.timestamp + 14,
                parent: g.timestamp,
                period: 15
            }
        );
        // An out-of-turn signer claiming the in-turn difficulty.
        assert_eq!(
            snap.apply(&sealed(&g, &keys[0].0, 2, |_| {})),
            Err(CliqueError::WrongDifficulty {
                number: 1,
                difficulty: U256::from_u64(2),
                in_turn: false
            })
        );
        // At a checkpoint (epoch 2, block 2): no add vote, a list of whole addresses.
        let config = CliqueConfig {
            epoch: 2,
            period: 15,
        };
        let snap = CliqueSnapshot::from_checkpoint(config, &g).unwrap();
        let h1 = sealed(&g, k1, 2, |_| {});
        let s1 = snap.apply(&h1).unwrap();
        let list = g.extra_data.clone();
        let h2 = sealed(&h1, &keys[2].0, 2, |h| {
            h.extra_data = list.clone();
            h.nonce = NONCE_AUTH_VOTE;
        });
        assert_eq!(
            s1.apply(&h2),
            Err(CliqueError::CheckpointVote { number: 2 })
        );
        let mut long = list.clone();
        long.insert(EXTRA_VANITY, 0);
        let h2 = sealed(&h1, &keys[2].0, 2, |h| h.extra_data = long.clone());
        assert_eq!(
            s1.apply(&h2),
            Err(CliqueError::BadSignerList {
                number: 2,
                len: 61,
                checkpoint: true
            })
        );
    }

    #[test]
    fn turns_go_round_the_sorted_signers() {
        let (keys, _, snap) = setup();
        for number in 0..6u64 {
            for (i, (_, a)) in keys.iter().enumerate() {
                assert_eq!(snap.in_turn(number, a), number % 3 == i as u64);
            }
        }
        let (_, outsider) = signer(9);
        assert!((0..6).all(|n| !snap.in_turn(n, &outsider)));
    }

    /// With four signers, a signer may seal at most one of any three blocks in a row
    /// (`floor(4/2) + 1`): block 1's signer is refused at block 3 and taken at block 4.
    #[test]
    fn a_signer_waits_out_the_last_half_of_the_signers() {
        let mut keys: Vec<_> = (1u8..=4).map(signer).collect();
        keys.sort_by_key(|(_, a)| *a);
        let addrs: Vec<Address> = keys.iter().map(|(_, a)| *a).collect();
        let g = genesis(&addrs);
        let snap = CliqueSnapshot::from_checkpoint(CONFIG, &g).unwrap();
        let h1 = sealed(&g, &keys[1].0, 2, |_| {});
        let s1 = snap.apply(&h1).unwrap();
        assert_eq!(s1.recent_signer(1), Some(keys[1].1));
        let h2 = sealed(&h1, &keys[2].0, 2, |_| {});
        let s2 = s1.apply(&h2).unwrap();
        let early = sealed(&h2, &keys[1].0, 1, |_| {});
        assert_eq!(
            s2.apply(&early),
            Err(CliqueError::RecentlySigned {
                number: 3,
                signer: keys[1].1,
                last: 1
            })
        );
        let h3 = sealed(&h2, &keys[3].0, 2, |_| {});
        let s3 = s2.apply(&h3).unwrap();
        let h4 = sealed(&h3, &keys[1].0, 1, |_| {});
        let s4 = s3.apply(&h4).unwrap();
        assert_eq!(s4.recent_signer(4), Some(keys[1].1));
        assert_eq!(s4.recent_signer(3), Some(keys[3].1));
        assert_eq!(s4.recent_signer(2), Some(keys[2].1));
        // Block 1 left the window when block 4 came.
        assert_eq!(s4.recent_signer(1), None);
        assert_eq!(s4.number(), 4);
        assert_eq!(s4.hash(), h4.hash());

        // With three signers (floor(3/2) + 1 = 2), block 1's signer may seal block 3.
        let (keys, g, snap) = setup();
        let h1 = sealed(&g, &keys[1].0, 2, |_| {});
        let h2 = sealed(&h1, &keys[2].0, 2, |_| {});
        let h3 = sealed(&h2, &keys[1].0, 1, |_| {});
        let s = snap.apply(&h1).unwrap().apply(&h2).unwrap();
        assert_eq!(s.apply(&h3).unwrap().recent_signer(3), Some(keys[1].1));
    }

    /// Applies `votes` (signer index, target, add?) as consecutive blocks after `g`, each
    /// by the given signer with the difficulty of its turn.
    fn vote_chain(
        keys: &[(Key, Address)],
        g: &Header,
        snap: &CliqueSnapshot,
        votes: &[(usize, Address, bool)],
    ) -> Result<(Header, CliqueSnapshot), CliqueError> {
        let mut parent = g.clone();
        let mut snap = snap.clone();
        for &(who, target, add) in votes {
            let (key, address) = &keys[who];
            let number = parent.number + 1;
            let difficulty = if snap.in_turn(number, address) { 2 } else { 1 };
            let h = sealed(&parent, key, difficulty, |h| {
                h.beneficiary = target;
                h.nonce = if add {
                    NONCE_AUTH_VOTE
                } else {
                    NONCE_DROP_VOTE
                };
            });
            snap = snap.apply(&h)?;
            parent = h;
        }
        Ok((parent, snap))
    }

    #[test]
    fn a_signer_is_added_by_more_than_half_and_one_signer_counts_once() {
        let (keys, g, snap) = setup();
        let (_, x) = signer(7);
        // One vote of three is not enough.
        let (_, s) = vote_chain(&keys, &g, &snap, &[(1, x, true)]).unwrap();
        assert_eq!(s.signer_count(), 3);
        assert_eq!(s.tally.get(&x).map(|t| t.votes), Some(1));
        // Signer 1 votes again at block 3: still one vote.
        let (_, s) = vote_chain(
            &keys,
            &g,
            &snap,
            &[(1, x, true), (2, Address::ZERO, false), (1, x, true)],
        )
        .unwrap();
        assert_eq!(s.signer_count(), 3);
        assert_eq!(s.tally.get(&x).map(|t| t.votes), Some(1));
        assert_eq!(s.votes.len(), 1);
        // A second signer makes two of three: added, and its votes settled.
        let (_, s) = vote_chain(
            &keys,
            &g,
            &snap,
            &[
                (1, x, true),
                (2, Address::ZERO, false),
                (1, x, true),
                (0, x, true),
            ],
        )
        .unwrap();
        assert!(s.signers().any(|a| *a == x));
        assert!(s.votes.is_empty());
        assert!(s.tally.is_empty());
        // Votes that would change nothing are not counted: adding a signer, dropping a
        // stranger.
        let (_, s) = vote_chain(&keys, &g, &snap, &[(1, keys[0].1, true), (2, x, false)]).unwrap();
        assert!(s.votes.is_empty());
        assert!(s.tally.is_empty());
    }

    #[test]
    fn votes_about_several_addresses_are_tallied_apart() {
        let (keys, g, snap) = setup();
        let (_, x) = signer(7);
        let (_, y) = signer(8);
        // Signer 1 votes for x, signer 2 for y: one vote each.
        let (_, s) = vote_chain(&keys, &g, &snap, &[(1, x, true), (2, y, true)]).unwrap();
        assert_eq!(s.tally.get(&x).map(|t| t.votes), Some(1));
        assert_eq!(s.tally.get(&y).map(|t| t.votes), Some(1));
        assert_eq!(s.votes.len(), 2);
        assert_eq!(s.signer_count(), 3);
        // Signer 1 votes for y at block 3: y has two of three and is added; signer 1's
        // vote for x stays pending.
        let (_, s) = vote_chain(
            &keys,
            &g,
            &snap,
            &[(1, x, true), (2, y, true), (1, y, true)],
        )
        .unwrap();
        assert!(s.signers().any(|a| *a == y));
        assert!(!s.signers().any(|a| *a == x));
        assert_eq!(s.tally.get(&x).map(|t| t.votes), Some(1));
        assert_eq!(s.tally.get(&y), None);
        assert_eq!(s.votes.len(), 1);
    }

    #[test]
    fn a_dropped_signer_loses_its_pending_votes() {
        let (keys, g, snap) = setup();
        let (_, x) = signer(7);
        let dropped = keys[0].1;
        // Signer 0 votes for x; signers 1 and 2 then drop signer 0.
        let (parent, s) = vote_chain(
            &keys,
            &g,
            &snap,
            &[(0, x, true), (1, dropped, false), (2, dropped, false)],
        )
        .unwrap();
        assert_eq!(s.signer_count(), 2);
        assert!(!s.signers().any(|a| *a == dropped));
        assert!(s.tally.is_empty(), "{:?}", s.tally);
        assert!(s.votes.is_empty());
        // Two signers now (floor(2/2) + 1 = 2): they take turns.
        assert_eq!(s.recent_signer(3), Some(keys[2].1));
        assert_eq!(s.recent_signer(2), Some(keys[1].1));
        let difficulty = |who: usize| if s.in_turn(4, &keys[who].1) { 2 } else { 1 };
        let again = sealed(&parent, &keys[2].0, difficulty(2), |_| {});
        assert_eq!(
            s.apply(&again),
            Err(CliqueError::RecentlySigned {
                number: 4,
                signer: keys[2].1,
                last: 3
            })
        );
        let h4 = sealed(&parent, &keys[1].0, difficulty(1), |_| {});
        assert_eq!(s.apply(&h4).unwrap().recent_signer(4), Some(keys[1].1));
        // The dropped signer is refused.
        let h4 = sealed(&parent, &keys[0].0, 1, |_| {});
        assert_eq!(
            s.apply(&h4),
            Err(CliqueError::Unauthorized {
                number: 4,
                signer: dropped
            })
        );
    }

    #[test]
    fn a_checkpoint_clears_pending_votes() {
        let (keys, g, _) = setup();
        let config = CliqueConfig {
            epoch: 2,
            period: 15,
        };
        let snap = CliqueSnapshot::from_checkpoint(config, &g).unwrap();
        let (_, x) = signer(7);
        let (h1, s1) = vote_chain(&keys, &g, &snap, &[(1, x, true)]).unwrap();
        assert_eq!(s1.votes.len(), 1);
        let list = g.extra_data.clone();
        let h2 = sealed(&h1, &keys[2].0, 2, |h| h.extra_data = list);
        let s2 = s1.apply(&h2).unwrap();
        assert!(s2.votes.is_empty());
        assert!(s2.tally.is_empty());
    }

    #[test]
    fn a_peers_snapshot_agrees_only_when_equal_but_for_more_recent_signers() {
        let (keys, g, snap) = setup();
        // Blocks 1 to 5, each in turn; the trusted snapshot after 5 knows 4 and 5.
        let mut parent = g;
        let mut s = snap;
        for n in 1..=5u64 {
            let h = sealed(&parent, &keys[(n % 3) as usize].0, 2, |_| {});
            s = s.apply(&h).unwrap();
            parent = h;
        }
        let trusted = s;
        assert!(trusted.agrees_with(&trusted));
        let differs = |edit: &dyn Fn(&mut CliqueSnapshot)| {
            let mut peer = trusted.clone();
            edit(&mut peer);
            peer.agrees_with(&trusted)
        };
        assert!(!differs(&|p| p.config.period = 16));
        assert!(!differs(&|p| p.number = 6));
        assert!(!differs(&|p| p.hash = Hash32([1; 32])));
        assert!(!differs(&|p| p.timestamp += 1));
        assert!(!differs(&|p| {
            p.signers.insert(Address([1; 20]));
        }));
        assert!(!differs(&|p| p.votes.push(Vote {
            signer: keys[0].1,
            address: Address([1; 20]),
            authorize: true
        })));
        assert!(!differs(&|p| {
            p.tally.insert(
                Address([1; 20]),
                Tally {
                    authorize: true,
                    votes: 1,
                },
            );
        }));
        // A recent signer the trusted one knows, forgotten or changed.
        assert!(!differs(&|p| {
            p.recents.remove(&5);
        }));
        assert!(!differs(&|p| {
            p.recents.insert(5, keys[0].1);
        }));
        // Window of floor(3/2) + 1 = 2 blocks: 4 and 5, not 3 nor 6.
        let mut fewer = trusted.clone();
        fewer.recents.remove(&4);
        assert!(trusted.agrees_with(&fewer));
        assert!(!fewer.agrees_with(&trusted));
        assert!(!differs(&|p| {
            p.recents.insert(3, keys[0].1);
        }));
        assert!(!differs(&|p| {
            p.recents.insert(6, keys[0].1);
        }));

        // Four signers: a window of floor(4/2) + 1 = 3 blocks, 3 to 5 after block 5.
        let mut keys: Vec<_> = (1u8..=4).map(signer).collect();
        keys.sort_by_key(|(_, a)| *a);
        let addrs: Vec<Address> = keys.iter().map(|(_, a)| *a).collect();
        let mut parent = genesis(&addrs);
        let mut s = CliqueSnapshot::from_checkpoint(CONFIG, &parent).unwrap();
        for n in 1..=5u64 {
            let h = sealed(&parent, &keys[(n % 4) as usize].0, 2, |_| {});
            s = s.apply(&h).unwrap();
            parent = h;
        }
        assert_eq!(s.recents.keys().copied().collect::<Vec<_>>(), [3, 4, 5]);
        assert!(s.agrees_with(&s));
        let mut older = s.clone();
        older.recents.insert(2, keys[2].1);
        assert!(!older.agrees_with(&s));
    }

    #[test]
    fn a_checkpoints_own_seal_is_checked_against_its_own_list() {
        let (keys, g, _) = setup();
        let config = CliqueConfig {
            epoch: 2,
            period: 15,
        };
        let h1 = sealed(&g, &keys[1].0, 2, |_| {});
        let list = g.extra_data.clone();
        let checkpoint = |key: &Key, difficulty: u64, edit: &dyn Fn(&mut Header)| {
            let h2 = sealed(&h1, key, difficulty, |h| {
                h.extra_data = list.clone();
                edit(h);
            });
            let snap = CliqueSnapshot::from_checkpoint(config, &h2).unwrap();
            (snap.checkpoint_sealer(&h2), snap, h2)
        };
        // Block 2 is signer 2's turn.
        let (sealer, snap, h2) = checkpoint(&keys[2].0, 2, &|_| {});
        assert_eq!(sealer, Ok(keys[2].1));
        assert_eq!(checkpoint(&keys[0].0, 1, &|_| {}).0, Ok(keys[0].1));
        // Another header than the snapshot's.
        assert_eq!(
            snap.checkpoint_sealer(&h1),
            Err(CliqueError::NotNext {
                number: 1,
                previous: 2,
                reason: "not this checkpoint"
            })
        );
        let mut other = h2.clone();
        other.gas_used += 1;
        assert!(matches!(
            snap.checkpoint_sealer(&other),
            Err(CliqueError::NotNext { number: 2, .. })
        ));
        let k2 = &keys[2].0;
        assert_eq!(
            checkpoint(k2, 2, &|h| h.beneficiary = Address([5; 20])).0,
            Err(CliqueError::CheckpointVote { number: 2 })
        );
        assert_eq!(
            checkpoint(k2, 2, &|h| h.nonce = NONCE_AUTH_VOTE).0,
            Err(CliqueError::CheckpointVote { number: 2 })
        );
        assert_eq!(
            checkpoint(k2, 2, &|h| h.mix_hash = Hash32([1; 32])).0,
            Err(CliqueError::NonZeroMixDigest { number: 2 })
        );
        assert_eq!(
            checkpoint(k2, 2, &|h| h.ommers_hash = Hash32([1; 32])).0,
            Err(CliqueError::HasUncles { number: 2 })
        );
        let (outsider, addr) = signer(9);
        assert_eq!(
            checkpoint(&outsider, 2, &|_| {}).0,
            Err(CliqueError::Unauthorized {
                number: 2,
                signer: addr
            })
        );
        assert_eq!(
            checkpoint(k2, 1, &|_| {}).0,
            Err(CliqueError::WrongDifficulty {
                number: 2,
                difficulty: U256::from_u64(1),
                in_turn: true
            })
        );
        assert_eq!(
            checkpoint(&keys[0].0, 2, &|_| {}).0,
            Err(CliqueError::WrongDifficulty {
                number: 2,
                difficulty: U256::from_u64(2),
                in_turn: false
            })
        );
    }

    #[test]
    fn snapshots_round_trip_through_json_and_cbor() {
        let (keys, g, snap) = setup();
        let (_, x) = signer(7);
        let (_, s) =
            vote_chain(&keys, &g, &snap, &[(1, x, true), (2, Address::ZERO, false)]).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<CliqueSnapshot>(&json).unwrap(), s);
        let mut cbor = Vec::new();
        ciborium::into_writer(&s, &mut cbor).unwrap();
        assert_eq!(
            ciborium::from_reader::<CliqueSnapshot, _>(cbor.as_slice()).unwrap(),
            s
        );
    }

    /// Four sorted signers and the snapshot of their genesis checkpoint.
    fn four() -> (Vec<(Key, Address)>, Header, CliqueSnapshot) {
        let mut keys: Vec<_> = (1u8..=4).map(signer).collect();
        keys.sort_by_key(|(_, a)| *a);
        let addrs: Vec<Address> = keys.iter().map(|(_, a)| *a).collect();
        let g = genesis(&addrs);
        let snap = CliqueSnapshot::from_checkpoint(CONFIG, &g).unwrap();
        (keys, g, snap)
    }

    /// Of four signers, three must vote (more than 4/2); a signer that votes again
    /// replaces its vote, so the tally stays at two until a third signer votes.
    #[test]
    fn four_signers_add_by_three_votes() {
        let (keys, g, snap) = four();
        let (_, x) = signer(7);
        let none = Address::ZERO;
        let votes = [
            (0, x, true),
            (1, x, true),
            (3, none, false),
            (0, x, true),
            (2, x, true),
        ];
        for n in 1..votes.len() {
            let (_, s) = vote_chain(&keys, &g, &snap, &votes[..n]).unwrap();
            assert_eq!(s.signer_count(), 4, "after {n} blocks");
            let expected = if n == 1 { 1 } else { 2 };
            assert_eq!(
                s.tally.get(&x).map(|t| t.votes),
                Some(expected),
                "after {n}"
            );
        }
        let (_, s) = vote_chain(&keys, &g, &snap, &votes).unwrap();
        assert_eq!(s.signer_count(), 5);
        assert!(s.tally.is_empty());
    }

    /// Dropping one of four signers shrinks the recent-signer window from three blocks to
    /// two at once: block 1's signer may seal block 4 right after the drop at block 3.
    #[test]
    fn a_drop_shrinks_the_recent_signer_window() {
        let (keys, g, snap) = four();
        let dropped = keys[3].1;
        let (_, s) = vote_chain(
            &keys,
            &g,
            &snap,
            &[
                (0, dropped, false),
                (1, dropped, false),
                (2, dropped, false),
            ],
        )
        .unwrap();
        assert_eq!(s.signer_count(), 3);
        assert_eq!(s.recent_signer(1), None);
        let (_, s) = vote_chain(
            &keys,
            &g,
            &snap,
            &[
                (0, dropped, false),
                (1, dropped, false),
                (2, dropped, false),
                (0, Address::ZERO, false),
            ],
        )
        .unwrap();
        assert_eq!(s.recent_signer(4), Some(keys[0].1));
    }
}
