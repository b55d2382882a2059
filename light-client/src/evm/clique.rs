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
}
