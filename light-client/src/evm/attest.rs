//! k-of-n operator attestations of a header hash: a WEAKER trust model than a light client.
//!
//! Some EVM chains carry no seal a light client can check (proof-of-stake chains whose
//! finality lives elsewhere, permissioned chains with BFT seals in undocumented formats,
//! BSC's Parlia here). For those, an operator may configure a set of attestor keys and a
//! threshold k: a header is accepted when k distinct configured attestors signed its hash.
//!
//! This is **not** a light client. Nothing about the chain's own consensus is checked: if k
//! attestors collude or are compromised, they can make this verifier accept any header,
//! including one the chain never produced. The type name
//! ([`WeakTrustAttestationQuorum`]) says so, and so must every configuration key, API field
//! and metric label that exposes it.
//!
//! What an attestor signs: the 32-byte digest
//! `keccak256("corridor/evm-header-attestation/v1" || chain_id (8 bytes, big-endian) ||
//! number (8 bytes, big-endian) || header hash)` ([`attestation_digest`]). A secp256k1
//! attestor signs that digest (65 bytes `r || s || v`, `v` 0 or 1 or 27 or 28, low `s`
//! only, as Solidity's `ecrecover` users require) and is named by its Ethereum address, so
//! an inbox contract can check the same attestation with `ecrecover`; an ed25519 attestor
//! signs the digest's 32 bytes and is checked under ZIP-215 ([`crate::signature`]).

use std::collections::BTreeSet;

use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::{keccak256, Address};
use crate::signature::{PublicKey, Signature};
use crate::types::Hash32;

/// Domain tag of the attestation digest.
pub const ATTESTATION_TAG: &[u8] = b"corridor/evm-header-attestation/v1";
/// Most attestors in one quorum.
pub const MAX_ATTESTORS: usize = 256;

/// An attestor's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttestorKey {
    /// A secp256k1 key, named by its Ethereum address.
    Secp256k1(Address),
    /// An ed25519 key.
    Ed25519(PublicKey),
}

/// One attestation: which configured attestor, and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attestation {
    /// A 65-byte `r || s || v` secp256k1 signature of the digest.
    Secp256k1(#[serde(with = "sig65")] [u8; 65]),
    /// An ed25519 signature of the digest, with the signer's key.
    Ed25519 {
        /// The signer.
        key: PublicKey,
        /// The signature.
        signature: Signature,
    },
}

/// Why attestations were refused, or a quorum could not be configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestError {
    /// The threshold is zero or above the number of attestors.
    #[error("attestation quorum: threshold {threshold} of {attestors} attestors is invalid")]
    BadThreshold {
        /// The threshold.
        threshold: usize,
        /// Configured attestors.
        attestors: usize,
    },
    /// No attestors, too many, or one listed twice.
    #[error("attestation quorum: {attestors} attestors (1 to {max}, no duplicates)")]
    BadAttestorSet {
        /// Configured attestors.
        attestors: usize,
        /// The bound.
        max: usize,
    },
    /// More attestations than attestors were given.
    #[error("header {number}: {count} attestations for {attestors} attestors")]
    TooManyAttestations {
        /// The block number.
        number: u64,
        /// Attestations given.
        count: usize,
        /// Configured attestors.
        attestors: usize,
    },
    /// An attestation does not verify, or is by a key that is not configured.
    #[error("header {number}: attestation {index} is invalid or not by a configured attestor")]
    InvalidAttestation {
        /// The block number.
        number: u64,
        /// Which attestation.
        index: usize,
    },
    /// One attestor signed twice.
    #[error("header {number}: attestation {index} repeats an attestor")]
    DuplicateAttestor {
        /// The block number.
        number: u64,
        /// Which attestation.
        index: usize,
    },
    /// Fewer than k distinct attestors signed.
    #[error("header {number}: {valid} valid attestations, {threshold} required")]
    BelowThreshold {
        /// The block number.
        number: u64,
        /// Distinct valid attestations.
        valid: usize,
        /// The threshold.
        threshold: usize,
    },
}

/// The digest an attestor signs for the header `hash` at `number` on `chain_id`.
pub fn attestation_digest(chain_id: u64, number: u64, hash: &Hash32) -> Hash32 {
    let mut msg = Vec::with_capacity(ATTESTATION_TAG.len().saturating_add(48));
    msg.extend_from_slice(ATTESTATION_TAG);
    msg.extend_from_slice(&chain_id.to_be_bytes());
    msg.extend_from_slice(&number.to_be_bytes());
    msg.extend_from_slice(&hash.0);
    keccak256(&msg)
}

/// Recovers the address behind a low-`s` secp256k1 signature (`v` 0, 1, 27 or 28).
fn recover_strict(digest: &Hash32, sig: &[u8; 65]) -> Option<Address> {
    let (rs, v) = sig.split_at(64);
    let v = match *v.first()? {
        v @ (0 | 1) => v,
        v @ (27 | 28) => v.wrapping_sub(27),
        _ => return None,
    };
    let signature = EcdsaSignature::from_slice(rs).ok()?;
    if signature.normalize_s().is_some() {
        return None; // high s: refused, as OpenZeppelin's ECDSA.recover refuses it
    }
    let recid = RecoveryId::from_byte(v)?;
    let key = VerifyingKey::recover_from_prehash(&digest.0, &signature, recid).ok()?;
    let point = key.to_encoded_point(false);
    let xy = point
        .as_bytes()
        .get(1..)
        .and_then(|b| <&[u8; 64]>::try_from(b).ok())?;
    Some(Address::from_public_key(xy))
}

/// Serde of a 65-byte secp256k1 signature (bytes, or hex in JSON).
mod sig65 {
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(sig: &[u8; 65], s: S) -> Result<S::Ok, S::Error> {
        crate::evm::serde_bytes::serialize(sig, s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 65], D::Error> {
        crate::types::bytes_or_hex::<D, 65>(d)
    }
}

/// A quorum as configured or carried in a light block, checked by
/// [`WeakTrustAttestationQuorum::new`] when read.
#[derive(Serialize, Deserialize)]
struct RawQuorum {
    chain_id: u64,
    attestors: Vec<AttestorKey>,
    threshold: usize,
}

impl TryFrom<RawQuorum> for WeakTrustAttestationQuorum {
    type Error = AttestError;
    fn try_from(raw: RawQuorum) -> Result<Self, AttestError> {
        Self::new(raw.chain_id, &raw.attestors, raw.threshold)
    }
}

impl From<WeakTrustAttestationQuorum> for RawQuorum {
    fn from(q: WeakTrustAttestationQuorum) -> Self {
        Self {
            chain_id: q.chain_id,
            attestors: q.attestors.into_iter().collect(),
            threshold: q.threshold,
        }
    }
}

/// k-of-n attestations by configured operator keys. A WEAKER trust model than a light
/// client: see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawQuorum", into = "RawQuorum")]
pub struct WeakTrustAttestationQuorum {
    chain_id: u64,
    attestors: BTreeSet<AttestorKey>,
    threshold: usize,
}

impl WeakTrustAttestationQuorum {
    /// A quorum of `threshold` among `attestors` for the chain `chain_id` (its EIP-155 id).
    pub fn new(
        chain_id: u64,
        attestors: &[AttestorKey],
        threshold: usize,
    ) -> Result<Self, AttestError> {
        let set: BTreeSet<AttestorKey> = attestors.iter().copied().collect();
        if set.is_empty() || set.len() != attestors.len() || set.len() > MAX_ATTESTORS {
            return Err(AttestError::BadAttestorSet {
                attestors: attestors.len(),
                max: MAX_ATTESTORS,
            });
        }
        if threshold == 0 || threshold > set.len() {
            return Err(AttestError::BadThreshold {
                threshold,
                attestors: set.len(),
            });
        }
        Ok(Self {
            chain_id,
            attestors: set,
            threshold,
        })
    }

    /// The threshold k.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// The chain id attestations are bound to.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The configured attestors, ascending.
    pub fn attestors(&self) -> impl Iterator<Item = &AttestorKey> {
        self.attestors.iter()
    }

    /// The number n of configured attestors.
    pub fn attestor_count(&self) -> usize {
        self.attestors.len()
    }

    /// Checks that at least k distinct configured attestors signed the header `hash` at
    /// `number`. Every attestation given must be valid and by a configured attestor, and
    /// none may repeat one: a bad attestation is refused, not skipped.
    pub fn verify(
        &self,
        number: u64,
        hash: &Hash32,
        attestations: &[Attestation],
    ) -> Result<(), AttestError> {
        self.attestors_of(number, hash, attestations).map(|_| ())
    }

    /// As [`Self::verify`], and returns the attestors that signed, ascending.
    pub fn attestors_of(
        &self,
        number: u64,
        hash: &Hash32,
        attestations: &[Attestation],
    ) -> Result<Vec<AttestorKey>, AttestError> {
        if attestations.len() > self.attestors.len() {
            return Err(AttestError::TooManyAttestations {
                number,
                count: attestations.len(),
                attestors: self.attestors.len(),
            });
        }
        let digest = attestation_digest(self.chain_id, number, hash);
        let mut seen = BTreeSet::new();
        for (index, a) in attestations.iter().enumerate() {
            let key = match a {
                Attestation::Secp256k1(sig) => {
                    recover_strict(&digest, sig).map(AttestorKey::Secp256k1)
                }
                Attestation::Ed25519 { key, signature } => key
                    .verify(&digest.0, signature)
                    .then_some(AttestorKey::Ed25519(*key)),
            };
            let key = key
                .filter(|k| self.attestors.contains(k))
                .ok_or(AttestError::InvalidAttestation { number, index })?;
            if !seen.insert(key) {
                return Err(AttestError::DuplicateAttestor { number, index });
            }
        }
        if seen.len() < self.threshold {
            return Err(AttestError::BelowThreshold {
                number,
                valid: seen.len(),
                threshold: self.threshold,
            });
        }
        Ok(seen.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evm::clique::testkit::signer;
    use crate::signature::SigningKey;

    fn secp_attest(key: &k256::ecdsa::SigningKey, digest: &Hash32) -> Attestation {
        let (sig, recid) = key.sign_prehash_recoverable(&digest.0).unwrap();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = recid.to_byte() + 27;
        Attestation::Secp256k1(out)
    }

    #[test]
    fn two_of_three_mixed_keys() {
        let (k1, a1) = signer(1);
        let (k2, a2) = signer(2);
        let ed = SigningKey::from_seed([3; 32]);
        let q = WeakTrustAttestationQuorum::new(
            5,
            &[
                AttestorKey::Secp256k1(a1),
                AttestorKey::Secp256k1(a2),
                AttestorKey::Ed25519(ed.public_key()),
            ],
            2,
        )
        .unwrap();
        let hash = Hash32([7; 32]);
        let digest = attestation_digest(5, 10, &hash);
        let ed_att = Attestation::Ed25519 {
            key: ed.public_key(),
            signature: ed.sign(&digest.0),
        };
        assert_eq!(
            q.verify(10, &hash, &[secp_attest(&k1, &digest), ed_att.clone()]),
            Ok(())
        );
        assert_eq!(
            q.verify(10, &hash, &[secp_attest(&k1, &digest)]),
            Err(AttestError::BelowThreshold {
                number: 10,
                valid: 1,
                threshold: 2
            })
        );
        assert_eq!(
            q.verify(
                10,
                &hash,
                &[secp_attest(&k2, &digest), secp_attest(&k2, &digest)]
            ),
            Err(AttestError::DuplicateAttestor {
                number: 10,
                index: 1
            })
        );
        // Signed for another height: refused.
        assert_eq!(
            q.verify(11, &hash, &[secp_attest(&k1, &digest), ed_att]),
            Err(AttestError::InvalidAttestation {
                number: 11,
                index: 0
            })
        );
        let (outsider, _) = signer(9);
        assert_eq!(
            q.verify(10, &hash, &[secp_attest(&outsider, &digest)]),
            Err(AttestError::InvalidAttestation {
                number: 10,
                index: 0
            })
        );
        assert!(matches!(
            WeakTrustAttestationQuorum::new(5, &[AttestorKey::Secp256k1(a1)], 2),
            Err(AttestError::BadThreshold { .. })
        ));
    }

    /// `n` distinct secp256k1 attestors by address (no key behind them: enough to
    /// configure a quorum).
    fn addresses(n: usize) -> Vec<AttestorKey> {
        (0..n)
            .map(|i| {
                let mut a = [0u8; 20];
                a[..8].copy_from_slice(&(i as u64).to_be_bytes());
                AttestorKey::Secp256k1(Address(a))
            })
            .collect()
    }

    /// Three secp256k1 attestors with their keys, sorted by address, and a quorum of `k`
    /// of them on chain 5.
    fn three_of(k: usize) -> (Vec<k256::ecdsa::SigningKey>, WeakTrustAttestationQuorum) {
        let mut keys: Vec<_> = (1u8..=3).map(signer).collect();
        keys.sort_by_key(|(_, a)| *a);
        let attestors: Vec<_> = keys
            .iter()
            .map(|(_, a)| AttestorKey::Secp256k1(*a))
            .collect();
        let q = WeakTrustAttestationQuorum::new(5, &attestors, k).unwrap();
        (keys.into_iter().map(|(k, _)| k).collect(), q)
    }

    #[test]
    fn attestor_sets_hold_one_to_the_maximum_distinct_keys() {
        let q = WeakTrustAttestationQuorum::new(1, &addresses(1), 1).unwrap();
        assert_eq!(q.attestor_count(), 1);
        let all = addresses(MAX_ATTESTORS);
        let q = WeakTrustAttestationQuorum::new(1, &all, MAX_ATTESTORS).unwrap();
        assert_eq!(q.attestor_count(), MAX_ATTESTORS);
        assert_eq!(q.threshold(), MAX_ATTESTORS);
        assert_eq!(
            WeakTrustAttestationQuorum::new(1, &addresses(MAX_ATTESTORS + 1), 1),
            Err(AttestError::BadAttestorSet {
                attestors: MAX_ATTESTORS + 1,
                max: MAX_ATTESTORS
            })
        );
        assert_eq!(
            WeakTrustAttestationQuorum::new(1, &[], 1),
            Err(AttestError::BadAttestorSet {
                attestors: 0,
                max: MAX_ATTESTORS
            })
        );
        // One attestor listed twice is refused, not silently merged.
        let mut twice = addresses(3);
        twice.push(twice[1]);
        assert_eq!(
            WeakTrustAttestationQuorum::new(1, &twice, 2),
            Err(AttestError::BadAttestorSet {
                attestors: 4,
                max: MAX_ATTESTORS
            })
        );
    }

    #[test]
    fn thresholds_run_from_one_to_the_number_of_attestors() {
        let keys = addresses(3);
        for k in 1..=3 {
            let q = WeakTrustAttestationQuorum::new(7, &keys, k).unwrap();
            assert_eq!(q.threshold(), k);
            assert_eq!(q.chain_id(), 7);
            assert_eq!(q.attestors().copied().collect::<Vec<_>>(), keys);
        }
        for k in [0, 4] {
            assert_eq!(
                WeakTrustAttestationQuorum::new(7, &keys, k),
                Err(AttestError::BadThreshold {
                    threshold: k,
                    attestors: 3
                })
            );
        }
    }

    #[test]
    fn k_minus_one_of_n_is_refused_and_k_accepted() {
        let (keys, q) = three_of(3);
        let hash = Hash32([4; 32]);
        let digest = attestation_digest(5, 20, &hash);
        let all: Vec<_> = keys.iter().map(|k| secp_attest(k, &digest)).collect();
        let mut expected: Vec<_> = q.attestors().copied().collect();
        expected.sort();
        assert_eq!(q.attestors_of(20, &hash, &all), Ok(expected));
        assert_eq!(
            q.verify(20, &hash, &all[..2]),
            Err(AttestError::BelowThreshold {
                number: 20,
                valid: 2,
                threshold: 3
            })
        );
        assert_eq!(
            q.verify(20, &hash, &[]),
            Err(AttestError::BelowThreshold {
                number: 20,
                valid: 0,
                threshold: 3
            })
        );
        // One attestor twice counts once, and is refused as a repeat: k - 1 distinct
        // attestors with a repeat do not make k.
        let (_, q2) = three_of(2);
        assert_eq!(
            q2.verify(20, &hash, &[all[0].clone(), all[0].clone()]),
            Err(AttestError::DuplicateAttestor {
                number: 20,
                index: 1
            })
        );
        assert_eq!(q2.verify(20, &hash, &all[1..]), Ok(()));
    }

    #[test]
    fn at_most_one_attestation_per_attestor_is_read() {
        let (keys, q) = three_of(2);
        let hash = Hash32([4; 32]);
        let digest = attestation_digest(5, 20, &hash);
        let mut list: Vec<_> = keys.iter().map(|k| secp_attest(k, &digest)).collect();
        assert_eq!(q.verify(20, &hash, &list), Ok(()));
        list.push(list[0].clone());
        assert_eq!(
            q.verify(20, &hash, &list),
            Err(AttestError::TooManyAttestations {
                number: 20,
                count: 4,
                attestors: 3
            })
        );
    }

    #[test]
    fn the_digest_binds_chain_height_and_hash() {
        let hash = Hash32([4; 32]);
        // The documented layout, which an inbox contract rebuilds with abi.encodePacked.
        let mut packed = ATTESTATION_TAG.to_vec();
        packed.extend_from_slice(&5u64.to_be_bytes());
        packed.extend_from_slice(&20u64.to_be_bytes());
        packed.extend_from_slice(&[4; 32]);
        assert_eq!(attestation_digest(5, 20, &hash), keccak256(&packed));
        let (keys, q) = three_of(1);
        // Signed for another chain, height or hash: not an attestation of this header.
        for digest in [
            attestation_digest(6, 20, &hash),
            attestation_digest(5, 21, &hash),
            attestation_digest(5, 20, &Hash32([5; 32])),
        ] {
            assert_eq!(
                q.verify(20, &hash, &[secp_attest(&keys[0], &digest)]),
                Err(AttestError::InvalidAttestation {
                    number: 20,
                    index: 0
                })
            );
        }
    }

    #[test]
    fn secp256k1_attestations_take_v_0_1_27_28_and_low_s_only() {
        let (keys, q) = three_of(1);
        let hash = Hash32([4; 32]);
        let digest = attestation_digest(5, 20, &hash);
        let Attestation::Secp256k1(sig) = secp_attest(&keys[0], &digest) else {
            unreachable!()
        };
        let with_v = |v: u8| {
            let mut s = sig;
            s[64] = v;
            Attestation::Secp256k1(s)
        };
        let recid = sig[64] - 27;
        assert_eq!(q.verify(20, &hash, &[with_v(recid)]), Ok(()));
        assert_eq!(q.verify(20, &hash, &[with_v(recid + 27)]), Ok(()));
        let refused = Err(AttestError::InvalidAttestation {
            number: 20,
            index: 0,
        });
        // The other parity recovers another key; 2, 3 and 29 are no `v` ecrecover takes.
        for v in [1 - recid, 28 - recid, 2, 3, 29, 255] {
            assert_eq!(q.verify(20, &hash, &[with_v(v)]), refused, "v = {v}");
        }
        // The same signature with a high `s` (and the parity flipped, so that it still
        // recovers the signer) is refused, as OpenZeppelin's ECDSA.recover refuses it.
        let low = EcdsaSignature::from_slice(&sig[..64]).unwrap();
        let (r, s) = low.split_scalars();
        let high = EcdsaSignature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        let mut high_sig = [0u8; 65];
        high_sig[..64].copy_from_slice(&high.to_bytes());
        high_sig[64] = (1 - recid) + 27;
        assert_eq!(
            q.verify(20, &hash, &[Attestation::Secp256k1(high_sig)]),
            refused
        );
    }

    #[test]
    fn quorums_round_trip_and_are_checked_when_read() {
        let (_, q) = three_of(2);
        let json = serde_json::to_string(&q).unwrap();
        assert_eq!(
            serde_json::from_str::<WeakTrustAttestationQuorum>(&json).unwrap(),
            q
        );
        let mut cbor = Vec::new();
        ciborium::into_writer(&q, &mut cbor).unwrap();
        assert_eq!(
            ciborium::from_reader::<WeakTrustAttestationQuorum, _>(cbor.as_slice()).unwrap(),
            q
        );
        let over = json.replace("\"threshold\":2", "\"threshold\":4");
        assert!(serde_json::from_str::<WeakTrustAttestationQuorum>(&over).is_err());
    }
}
