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
//! # The batch equation
//! [`verify_all`] checks a batch with ZIP-215's cofactored batch equation
//! `[8](-(sum z_i s_i) B + sum z_i R_i + sum (z_i k_i) A_i) = 0` itself, on
//! `curve25519-dalek` 4 (whose multiscalar multiplication uses AVX2 when the CPU has it),
//! with the same rules as `ed25519-consensus`: `s` must be canonical, `R` and `A` are
//! decompressed accepting non-canonical encodings, `k = SHA-512(R || A || M)` over the bytes
//! as given. A batch that fails is re-checked one signature at a time with
//! `ed25519-consensus` to name the culprit, so single checks are always the reference.
//!
//! # Determinism
//! A batch needs random coefficients. The crate stays pure by drawing them from ChaCha20
//! seeded with SHA3-256 over every (key, signature, message) of the batch: a forger cannot
//! pick signatures that cancel, since any change to the batch changes every coefficient.

use core::fmt;
use std::sync::OnceLock;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint, VartimeEdwardsPrecomputation};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{
    IsIdentity, VartimeMultiscalarMul, VartimePrecomputedMultiscalarMul,
};
use ed25519_consensus::{Signature as EdSignature, VerificationKey};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha512;
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

/// A public key decompressed to its curve point once, for checking many signatures under
/// it (the keys of a validator set that signs header after header).
///
/// Built only by [`PreparedKey::new`], which decompresses the bytes it keeps: the point is
/// always the point of the key bytes, so a prepared key verifies exactly what its bytes do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PreparedKey {
    key: PublicKey,
    point: EdwardsPoint,
}

impl PreparedKey {
    /// Decompresses `key` (accepting non-canonical encodings, as ZIP-215 does); `None` when
    /// the bytes are not a curve point.
    pub fn new(key: PublicKey) -> Option<Self> {
        CompressedEdwardsY(key.0)
            .decompress()
            .map(|point| Self { key, point })
    }

    /// The key's bytes.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }
}

/// The keys of a validator set, in the set's order, each decompressed the first time a
/// signature under it is checked and kept for every later check; and, once
/// [`KeyCache::precompute`] is called, tables of multiples of every key and of the base
/// point, which make a batch of signatures all under these keys cheaper still.
///
/// Entry `i` is only ever computed from key `i` of the list the cache was built from, and
/// [`KeyCache::prepared`] hands it out only to a caller asking for that same key; the
/// tables are computed from the entries, in order, then the base point.
#[derive(Default)]
pub struct KeyCache {
    keys: Vec<PublicKey>,
    points: Vec<OnceLock<Option<PreparedKey>>>,
    tables: OnceLock<Option<VartimeEdwardsPrecomputation>>,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCache")
            .field("keys", &self.keys.len())
            .field("decompressed", &self.decompressed())
            .field("precomputed", &self.is_precomputed())
            .finish()
    }
}

/// Key `index` of a [`KeyCache`], decompressed; made only by [`KeyCache::batch_key`].
#[derive(Clone, Copy, Debug)]
pub struct CachedKey<'a> {
    cache: &'a KeyCache,
    index: usize,
    key: &'a PreparedKey,
}

impl KeyCache {
    /// A cache of `keys`, nothing decompressed yet.
    pub fn new(keys: Vec<PublicKey>) -> Self {
        let points = keys.iter().map(|_| OnceLock::new()).collect();
        Self {
            keys,
            points,
            tables: OnceLock::new(),
        }
    }

    /// A cache of `keys` that takes over every key `previous` has decompressed already
    /// (matched by key bytes, wherever it sits in either list).
    pub fn reusing(keys: Vec<PublicKey>, previous: &Self) -> Self {
        let mut done: Vec<PreparedKey> = previous
            .points
            .iter()
            .filter_map(|p| p.get().copied().flatten())
            .collect();
        done.sort_unstable_by_key(|p| p.key);
        let points = keys
            .iter()
            .map(|key| {
                let cell = OnceLock::new();
                if let Ok(i) = done.binary_search_by(|p| p.key.cmp(key)) {
                    if let Some(p) = done.get(i) {
                        // A fresh cell: setting it cannot fail.
                        let _ = cell.set(Some(*p));
                    }
                }
                cell
            })
            .collect();
        Self {
            keys,
            points,
            tables: OnceLock::new(),
        }
    }

    /// Decompresses every key and computes the tables of multiples of every key and of the
    /// base point (about as much work as one batch of as many signatures): worth it for a
    /// set that signs many headers. Nothing happens when a key is not a curve point.
    pub fn precompute(&self) {
        self.tables.get_or_init(|| {
            let points: Option<Vec<EdwardsPoint>> = self
                .keys
                .iter()
                .enumerate()
                .map(|(i, key)| self.prepared(i, key).map(|p| p.point))
                .chain([Some(ED25519_BASEPOINT_POINT)])
                .collect();
            points.map(VartimeEdwardsPrecomputation::new)
        });
    }

    /// Whether the tables of [`Self::precompute`] are there.
    pub fn is_precomputed(&self) -> bool {
        matches!(self.tables.get(), Some(Some(_)))
    }

    /// Key `i` for a batch, decompressed, if it is `key` and a curve point.
    pub fn batch_key(&self, i: usize, key: &PublicKey) -> Option<BatchKey<'_>> {
        self.prepared(i, key).map(|p| {
            BatchKey::Cached(CachedKey {
                cache: self,
                index: i,
                key: p,
            })
        })
    }

    /// Key `i`, decompressed (now, or already by an earlier check), if it is `key` and a
    /// curve point.
    pub fn prepared(&self, i: usize, key: &PublicKey) -> Option<&PreparedKey> {
        if self.keys.get(i) != Some(key) {
            return None;
        }
        self.points
            .get(i)?
            .get_or_init(|| PreparedKey::new(*key))
            .as_ref()
    }

    /// How many keys are decompressed so far.
    pub fn decompressed(&self) -> usize {
        self.points
            .iter()
            .filter(|p| matches!(p.get(), Some(Some(_))))
            .count()
    }
}

/// The key of one item of a batch: its bytes, or the key decompressed already.
#[derive(Clone, Copy, Debug)]
pub enum BatchKey<'a> {
    /// Bytes, decompressed by the batch.
    Bytes(PublicKey),
    /// A key decompressed once for many batches.
    Prepared(&'a PreparedKey),
    /// A key of a [`KeyCache`] ([`KeyCache::batch_key`]): a batch whose keys are all of one
    /// precomputed cache uses its tables.
    Cached(CachedKey<'a>),
}

impl BatchKey<'_> {
    fn bytes(&self) -> &PublicKey {
        match self {
            Self::Bytes(key) => key,
            Self::Prepared(p) => &p.key,
            Self::Cached(c) => &c.key.key,
        }
    }

    fn point(&self) -> Option<EdwardsPoint> {
        match self {
            Self::Bytes(key) => CompressedEdwardsY(key.0).decompress(),
            Self::Prepared(p) => Some(p.point),
            Self::Cached(c) => Some(c.key.point),
        }
    }
}

/// The precomputed cache every item's key is of, if there is one.
fn common_tables<'a>(
    items: &[(BatchKey<'a>, &[u8], Signature)],
) -> Option<(&'a KeyCache, &'a VartimeEdwardsPrecomputation)> {
    let (BatchKey::Cached(first), _, _) = items.first()? else {
        return None;
    };
    let cache = first.cache;
    let all = items
        .iter()
        .all(|(k, _, _)| matches!(k, BatchKey::Cached(c) if core::ptr::eq(c.cache, cache)));
    let tables = cache.tables.get()?.as_ref()?;
    all.then_some((cache, tables))
}

/// Verifies every `(key, message, signature)` item; returns the index of the first that
/// fails, or `None` when all are valid.
///
/// One batch for all items; only when the batch fails are items checked one by one to name
/// the culprit. Results equal checking each item alone (ZIP-215 rules).
pub fn verify_all(items: &[(PublicKey, &[u8], Signature)]) -> Option<usize> {
    let items: Vec<(BatchKey<'_>, &[u8], Signature)> = items
        .iter()
        .map(|(key, msg, sig)| (BatchKey::Bytes(*key), *msg, *sig))
        .collect();
    verify_batch(&items)
}

/// [`verify_all`], with keys that may be decompressed already. The verdict is the same as
/// with every key given as bytes.
pub fn verify_batch(items: &[(BatchKey<'_>, &[u8], Signature)]) -> Option<usize> {
    match items {
        // One item is checked alone, which is no more work than a batch of one and gives
        // the same verdict (ZIP-215): a shortcut only, no different answer. (An empty
        // batch needs no arm: its equation is 0 = 0, so it holds.)
        [(key, msg, sig)] => (!key.bytes().verify(msg, sig)).then_some(0),
        _ => {
            let mut seed = Sha3_256::new();
            for (key, msg, sig) in items {
                seed.update(key.bytes().0);
                seed.update(sig.0);
                seed.update((msg.len() as u64).to_le_bytes());
                seed.update(msg);
            }
            let mut rng = ChaCha20Rng::from_seed(seed.finalize().into());
            if batch_holds(items, &mut rng) {
                None
            } else {
                items
                    .iter()
                    .position(|(key, msg, sig)| !key.bytes().verify(msg, sig))
            }
        }
    }
}

/// Whether ZIP-215's batch equation holds for `items`, with coefficients from `rng`.
/// False as soon as a key or `R` does not decompress or an `s` is not canonical.
// Scalar arithmetic is modulo the group order: it cannot overflow or panic.
#[allow(clippy::arithmetic_side_effects)]
fn batch_holds(items: &[(BatchKey<'_>, &[u8], Signature)], rng: &mut ChaCha20Rng) -> bool {
    let n = items.len();
    let mut scalars: Vec<Scalar> = Vec::with_capacity(n.saturating_mul(2).saturating_add(1));
    let mut points: Vec<EdwardsPoint> = Vec::with_capacity(n.saturating_mul(2).saturating_add(1));
    let mut b_coefficient = Scalar::ZERO;
    // With one precomputed cache for every key: its keys and the base point are the static
    // points (coefficients by index, the base point last), only the Rs are dynamic.
    let tables = common_tables(items);
    let mut static_scalars: Vec<Scalar> = match tables {
        Some((cache, _)) => vec![Scalar::ZERO; cache.keys.len().saturating_add(1)],
        None => Vec::new(),
    };
    for (key, msg, sig) in items {
        let mut r_bytes = [0u8; 32];
        let mut s_bytes = [0u8; 32];
        r_bytes.copy_from_slice(sig.0.get(..32).unwrap_or(&[0; 32]));
        s_bytes.copy_from_slice(sig.0.get(32..).unwrap_or(&[0; 32]));
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
            return false;
        };
        let (Some(r), Some(a)) = (CompressedEdwardsY(r_bytes).decompress(), key.point()) else {
            return false;
        };
        let mut h = Sha512::new();
        h.update(r_bytes);
        h.update(key.bytes().0);
        h.update(msg);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        // A 128-bit random coefficient, as ed25519-consensus draws.
        let mut z_bytes = [0u8; 32];
        rng.fill_bytes(z_bytes.get_mut(..16).unwrap_or(&mut []));
        let z = Scalar::from_bytes_mod_order(z_bytes);
        b_coefficient -= z * s;
        scalars.push(z);
        points.push(r);
        match key {
            // Only where the key's multiples are in the tables; the other arm computes the
            // same sum without them (slower), so this guard changes speed, not verdicts.
            BatchKey::Cached(c) if tables.is_some() => {
                let Some(slot) = static_scalars.get_mut(c.index) else {
                    return false;
                };
                *slot += z * k;
            }
            _ => {
                scalars.push(z * k);
                points.push(a);
            }
        }
    }
    let sum = match tables {
        Some((_, tables)) => {
            let Some(last) = static_scalars.last_mut() else {
                return false;
            };
            *last = b_coefficient;
            tables.vartime_mixed_multiscalar_mul(static_scalars, scalars, points)
        }
        None => {
            scalars.push(b_coefficient);
            points.push(ED25519_BASEPOINT_POINT);
            EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        }
    };
    sum.mul_by_cofactor().is_identity()
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
    fn batch_equals_single_checks_on_random_and_broken_items() {
        use rand_core::RngCore as _;
        let mut rng = ChaCha20Rng::from_seed([3; 32]);
        for round in 0..40 {
            let n = 2 + round % 9;
            let keys: Vec<SigningKey> = (0..n)
                .map(|i| SigningKey::from_seed([round as u8 ^ (i as u8).wrapping_mul(31); 32]))
                .collect();
            let msgs: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; 1 + i * 7]).collect();
            let mut items: Vec<(PublicKey, &[u8], Signature)> = keys
                .iter()
                .zip(&msgs)
                .map(|(k, m)| (k.public_key(), m.as_slice(), k.sign(m)))
                .collect();
            if round % 2 == 1 {
                let victim = (rng.next_u32() as usize) % n;
                let byte = (rng.next_u32() as usize) % 64;
                items[victim].2 .0[byte] ^= 1 << (rng.next_u32() % 8);
            }
            let single = items.iter().position(|(k, m, s)| !k.verify(m, s));
            assert_eq!(verify_all(&items), single, "round {round}");
        }
        // A non-canonical s (top bits set, so s >= l) fails in the batch and alone.
        let k = SigningKey::from_seed([1; 32]);
        let mut sig = k.sign(b"m");
        sig.0[63] |= 0xf0;
        let items = [
            (k.public_key(), &b"m"[..], sig),
            (k.public_key(), &b"m"[..], k.sign(b"m")),
        ];
        assert_eq!(verify_all(&items), Some(0));
    }

    fn signed_items(n: u8) -> (Vec<SigningKey>, Vec<Vec<u8>>) {
        let keys = (0..n).map(|i| SigningKey::from_seed([i; 32])).collect();
        let msgs = (0..n).map(|i| vec![i; 1 + usize::from(i)]).collect();
        (keys, msgs)
    }

    #[test]
    fn the_batch_equation_holds_for_valid_signatures_and_not_for_a_bad_one() {
        // verify_all falls back to single checks when the batch fails, so a broken batch
        // equation would only be slower, not wrong: check the equation itself.
        let (keys, msgs) = signed_items(6);
        let prepared: Vec<PreparedKey> = keys
            .iter()
            .map(|k| PreparedKey::new(k.public_key()).unwrap())
            .collect();
        for use_prepared in [false, true] {
            let mut items: Vec<(BatchKey<'_>, &[u8], Signature)> = keys
                .iter()
                .zip(&msgs)
                .zip(&prepared)
                .map(|((k, m), p)| {
                    let key = if use_prepared {
                        BatchKey::Prepared(p)
                    } else {
                        BatchKey::Bytes(k.public_key())
                    };
                    (key, m.as_slice(), k.sign(m))
                })
                .collect();
            for seed in 0..4 {
                let mut rng = ChaCha20Rng::from_seed([seed; 32]);
                assert!(batch_holds(&items, &mut rng), "seed {seed}");
            }
            items[2].1 = b"another message";
            let mut rng = ChaCha20Rng::from_seed([0; 32]);
            assert!(!batch_holds(&items, &mut rng));
        }
    }

    #[test]
    fn prepared_keys_give_the_verdicts_of_key_bytes() {
        let (keys, msgs) = signed_items(5);
        let cache = KeyCache::new(keys.iter().map(SigningKey::public_key).collect());
        assert_eq!(cache.decompressed(), 0);
        for bad in [None, Some(0), Some(3)] {
            let mut sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
            if let Some(i) = bad {
                sigs[i].0[5] ^= 1;
            }
            let items: Vec<(BatchKey<'_>, &[u8], Signature)> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let key = cache.prepared(i, &k.public_key()).unwrap();
                    (BatchKey::Prepared(key), msgs[i].as_slice(), sigs[i])
                })
                .collect();
            let plain: Vec<(PublicKey, &[u8], Signature)> = keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.public_key(), msgs[i].as_slice(), sigs[i]))
                .collect();
            assert_eq!(verify_batch(&items), bad);
            assert_eq!(verify_all(&plain), bad);
            assert_eq!(verify_batch(&items[..1]), bad.filter(|i| *i == 0));
        }
        assert_eq!(cache.decompressed(), 5);
        // Asked for another key than the one at that index, the cache gives nothing.
        assert!(cache.prepared(1, &keys[0].public_key()).is_none());
        assert!(cache.prepared(9, &keys[0].public_key()).is_none());
        assert_eq!(
            cache.prepared(2, &keys[2].public_key()).unwrap().key(),
            &keys[2].public_key()
        );
        // A key that is not a curve point is never prepared, and a batch with it fails.
        let mut bad = [0u8; 32];
        bad[0] = 2;
        assert!(PreparedKey::new(PublicKey(bad)).is_none());
        let odd = KeyCache::new(vec![PublicKey(bad), keys[0].public_key()]);
        assert!(odd.prepared(0, &PublicKey(bad)).is_none());
        assert_eq!(odd.decompressed(), 0);
        assert!(odd.prepared(1, &keys[0].public_key()).is_some());
        assert_eq!(odd.decompressed(), 1);
    }

    #[test]
    fn a_precomputed_cache_gives_the_verdicts_of_key_bytes() {
        let (keys, msgs) = signed_items(7);
        let pk: Vec<PublicKey> = keys.iter().map(SigningKey::public_key).collect();
        let cache = KeyCache::new(pk.clone());
        assert!(!cache.is_precomputed());
        cache.precompute();
        assert!(cache.is_precomputed());
        assert_eq!(cache.decompressed(), 7);
        let other = KeyCache::new(pk.clone());
        for bad in [None, Some(0), Some(4), Some(6)] {
            let mut sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
            if let Some(i) = bad {
                sigs[i].0[40] ^= 4;
            }
            // Keys 1 and 3 twice (two messages each), key 5 not at all.
            let picks = [0usize, 1, 1, 2, 3, 3, 4, 6];
            fn item<'a>(
                c: &'a KeyCache,
                i: usize,
                twice: bool,
                (keys, msgs, sigs): (&[SigningKey], &'a [Vec<u8>], &[Signature]),
            ) -> (BatchKey<'a>, &'a [u8], Signature) {
                let msg: &[u8] = if twice { b"second" } else { &msgs[i] };
                let sig = if twice { keys[i].sign(msg) } else { sigs[i] };
                (c.batch_key(i, &keys[i].public_key()).unwrap(), msg, sig)
            }
            let ctx = (keys.as_slice(), msgs.as_slice(), sigs.as_slice());
            let mut items: Vec<(BatchKey<'_>, &[u8], Signature)> = Vec::new();
            for (n, &i) in picks.iter().enumerate() {
                let twice = n > 0 && picks[n - 1] == i;
                items.push(item(&cache, i, twice, ctx));
            }
            let expected = bad.and_then(|b| picks.iter().position(|&i| i == b));
            assert!(common_tables(&items).is_some());
            assert_eq!(verify_batch(&items), expected, "bad {bad:?}");
            let mut rng = ChaCha20Rng::from_seed([1; 32]);
            assert_eq!(batch_holds(&items, &mut rng), expected.is_none());
            // One key of another cache, or as bytes: the general path, the same verdict.
            let mut mixed = items.clone();
            mixed[2] = item(&other, 1, true, ctx);
            assert!(common_tables(&mixed).is_none());
            assert_eq!(verify_batch(&mixed), expected);
            mixed[2].0 = BatchKey::Bytes(pk[1]);
            assert!(common_tables(&mixed).is_none());
            assert_eq!(verify_batch(&mixed), expected);
            let mut rng = ChaCha20Rng::from_seed([1; 32]);
            assert_eq!(batch_holds(&mixed, &mut rng), expected.is_none());
        }
        // Not precomputed: no tables, whatever the keys.
        let items = [(
            other.batch_key(0, &pk[0]).unwrap(),
            &msgs[0][..],
            keys[0].sign(&msgs[0]),
        )];
        assert!(common_tables(&items).is_none());
        // A cache with a key that is not a point never gets tables.
        let mut bad = [0u8; 32];
        bad[0] = 2;
        let odd = KeyCache::new(vec![pk[0], PublicKey(bad)]);
        odd.precompute();
        assert!(!odd.is_precomputed());
        assert!(format!("{odd:?}").contains("precomputed: false"));
    }

    #[test]
    fn a_renewed_cache_takes_over_decompressed_keys_by_their_bytes() {
        let (keys, _) = signed_items(4);
        let pk: Vec<PublicKey> = keys.iter().map(SigningKey::public_key).collect();
        let old = KeyCache::new(pk.clone());
        old.prepared(0, &pk[0]).unwrap();
        old.prepared(2, &pk[2]).unwrap();
        // Reordered, one key gone, one new.
        let new = KeyCache::reusing(vec![pk[3], pk[2], pk[0]], &old);
        assert_eq!(new.decompressed(), 2);
        assert_eq!(new.prepared(1, &pk[2]).unwrap().key(), &pk[2]);
        assert_eq!(new.prepared(2, &pk[0]).unwrap().key(), &pk[0]);
        assert_eq!(new.decompressed(), 2);
        assert_eq!(new.prepared(0, &pk[3]).unwrap().key(), &pk[3]);
        assert_eq!(new.decompressed(), 3);
    }

    #[test]
    fn keys_print_as_hex_and_a_signing_key_never_prints_its_seed() {
        let key = SigningKey::from_seed([7; 32]);
        assert_eq!(key.to_seed(), [7; 32]);
        let public = key.public_key();
        let hex = hex::encode(public.0);
        assert_eq!(public.as_bytes(), &public.0);
        assert_eq!(public.to_string(), hex);
        assert_eq!(format!("{public:?}"), format!("PublicKey({hex})"));
        assert_eq!(format!("{key:?}"), format!("SigningKey(public {hex})"));
        assert!(!format!("{key:?}").contains(&hex::encode([7u8; 32])));
        let sig = key.sign(b"m");
        assert_eq!(
            format!("{sig:?}"),
            format!("Signature({})", hex::encode(sig.0))
        );
        // Text formats carry hex, binary ones the bytes.
        assert_eq!(
            serde_json::to_string(&public).unwrap(),
            format!("\"{hex}\"")
        );
        assert_eq!(
            serde_json::from_str::<PublicKey>(&format!("\"{hex}\"")).unwrap(),
            public
        );
        let text = serde_json::to_string(&sig).unwrap();
        assert_eq!(text, format!("\"{}\"", hex::encode(sig.0)));
        assert_eq!(serde_json::from_str::<Signature>(&text).unwrap(), sig);
        let cbor = crate::codec::encode("key", &public).unwrap();
        assert_eq!(cbor.len(), 2 + 32);
        assert_eq!(
            crate::codec::decode::<PublicKey>("key", &cbor).unwrap(),
            public
        );
        let cbor = crate::codec::encode("signature", &sig).unwrap();
        assert_eq!(cbor.len(), 2 + 64);
        assert_eq!(
            crate::codec::decode::<Signature>("signature", &cbor).unwrap(),
            sig
        );
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
