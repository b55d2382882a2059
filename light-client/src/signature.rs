//! ed25519 keys, signatures and deterministic batch verification.
//!
//! # The rule
//! Both chain families accept signatures under the ZIP-215 rules, as implemented by the
//! `ed25519-consensus` crate. CometBFT chains sign and accept under those rules, and for the
//! native family one rule for everything keeps it simple. ZIP-215's key property is that
//! batch verification and single verification accept exactly the same signatures, so a
//! batch is never a different verdict, only a faster one. (ed25519-dalek's `verify_batch`
//! does not have that property against its `verify_strict`.)
//!
//! # Determinism
//! A batch needs random coefficients. The crate stays pure by drawing them from ChaCha20
//! seeded with SHA3-256 over every (key, signature, message) of the batch: a forger cannot
//! pick signatures that cancel, since any change to the batch changes every coefficient.

use core::fmt;

use ed25519_consensus::{batch, Signature as EdSignature, VerificationKey, VerificationKeyBytes};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha3::{Digest, Sha3_256};

/// An ed25519 public key (32 bytes, not yet checked to be a curve point).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey(pub [u8; 32]);

/// An ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl PublicKey {
    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Verifies one signature over `msg` under ZIP-215 rules.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> bool {
        VerificationKey::try_from(self.0)
            .and_then(|vk| vk.verify(&EdSignature::from(sig.0), msg))
            .is_ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::types::bytes_or_hex::<D, 32>(d).map(Self)
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::types::bytes_or_hex::<D, 64>(d).map(Self)
    }
}

/// A signing key, for the generator, the devnet and traders' tools.
#[derive(Clone)]
pub struct SigningKey(ed25519_consensus::SigningKey);

impl SigningKey {
    /// A key from its 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(ed25519_consensus::SigningKey::from(seed))
    }

    /// The 32-byte seed.
    pub fn to_seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verification_key().to_bytes())
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.0.sign(msg).to_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public {})", self.public_key())
    }
}

/// Verifies every `(key, message, signature)` item; returns the index of the first that
/// fails, or `None` when all are valid.
///
/// One batch for all items; only when the batch fails are items checked one by one to name
/// the culprit. Results equal checking each item alone (ZIP-215 rules).
pub fn verify_all(items: &[(PublicKey, &[u8], Signature)]) -> Option<usize> {
    match items {
        [] => None,
        [(key, msg, sig)] => (!key.verify(msg, sig)).then_some(0),
        _ => {
            let mut seed = Sha3_256::new();
            let mut verifier = batch::Verifier::new();
            for (key, msg, sig) in items {
                seed.update(key.0);
                seed.update(sig.0);
                seed.update((msg.len() as u64).to_le_bytes());
                seed.update(msg);
                verifier.queue((
                    VerificationKeyBytes::from(key.0),
                    EdSignature::from(sig.0),
                    msg,
                ));
            }
            let rng = ChaCha20Rng::from_seed(seed.finalize().into());
            if verifier.verify(rng).is_ok() {
                None
            } else {
                items
                    .iter()
                    .position(|(key, msg, sig)| !key.verify(msg, sig))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_names_the_bad_signature() {
        let keys: Vec<SigningKey> = (0u8..5).map(|i| SigningKey::from_seed([i; 32])).collect();
        let msgs: Vec<Vec<u8>> = (0u8..5).map(|i| vec![i; 10]).collect();
        let mut items: Vec<(PublicKey, &[u8], Signature)> = keys
            .iter()
            .zip(&msgs)
            .map(|(k, m)| (k.public_key(), m.as_slice(), k.sign(m)))
            .collect();
        assert_eq!(verify_all(&items), None);
        items[3].2 .0[0] ^= 1;
        assert_eq!(verify_all(&items), Some(3));
        assert_eq!(verify_all(&items[3..4]), Some(0));
        assert_eq!(verify_all(&[]), None);
    }

    #[test]
    fn invalid_key_bytes_fail_not_panic() {
        // y = 2 is not on the curve.
        let mut bad = [0u8; 32];
        bad[0] = 2;
        let key = PublicKey(bad);
        assert!(!key.verify(b"m", &Signature([0; 64])));
        let good = SigningKey::from_seed([9; 32]);
        let items = [
            (good.public_key(), &b"m"[..], good.sign(b"m")),
            (key, &b"m"[..], Signature([0; 64])),
        ];
        assert_eq!(verify_all(&items), Some(1));
    }
}
