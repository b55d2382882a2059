//! Which ed25519 signatures CometBFT chains accept, and whether ed25519-dalek accepts the
//! same: the evidence behind using ed25519-consensus (ZIP-215) for the `cometbft` family.
//!
//! CometBFT (curve25519-voi with ZIP-215 options) and tendermint-rs (ed25519-consensus)
//! verify with the cofactored equation `[8][s]B = [8]R + [8][k]A` and accept non-canonical
//! encodings of `R` and `A`. ed25519-dalek's `verify` checks the cofactorless equation and
//! compares `R` byte for byte; `verify_strict` additionally refuses small-order keys.
//!
//! Finding: every signature in the vectors verifies under both crates, so the vectors alone
//! do not tell them apart; but a validator can sign votes that ZIP-215 (and therefore the
//! chain) accepts and ed25519-dalek refuses. A dalek-based client would then reject commits
//! the chain accepted (or disagree between its batch and single paths), so this family uses
//! ed25519-consensus through `corridor_light_client::signature`.

mod common;

use common::{json_files, read_json, vectors_dir};
use corridor_light_client::cometbft::vote::VoteTemplate;
use corridor_light_client::cometbft::{json, CommitSig};
use corridor_light_client::signature::{verify_all, PublicKey, Signature};
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use ed25519_dalek::Verifier as _;
use sha2::{Digest, Sha512};

fn dalek(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> (bool, bool) {
    let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(key) else {
        return (false, false);
    };
    let sig = ed25519_dalek::Signature::from_bytes(sig);
    (
        vk.verify(msg, &sig).is_ok(),
        vk.verify_strict(msg, &sig).is_ok(),
    )
}

fn consensus(key: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    PublicKey(*key).verify(msg, &Signature(*sig))
}

fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(msg);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

fn sig_bytes(r: [u8; 32], s: Scalar) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&r);
    out[32..].copy_from_slice(s.as_bytes());
    out
}

/// A key pair from a fixed scalar.
fn key_pair(seed: u8) -> (Scalar, [u8; 32]) {
    let a = Scalar::from_bytes_mod_order([seed; 32]);
    (a, (ED25519_BASEPOINT_POINT * a).compress().to_bytes())
}

#[test]
fn zip215_accepts_what_dalek_refuses() {
    let msg = b"precommit for block 42";
    let (a, key) = key_pair(7);

    // 1. R with a small-order (torsion) component: valid under the cofactored equation.
    let r = Scalar::from_bytes_mod_order([9; 32]);
    let r_point: EdwardsPoint = ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[1];
    let r_bytes = r_point.compress().to_bytes();
    let s = r + challenge(&r_bytes, &key, msg) * a;
    let torsion_sig = sig_bytes(r_bytes, s);
    assert!(consensus(&key, msg, &torsion_sig));
    assert_eq!(dalek(&key, msg, &torsion_sig), (false, false));

    // 2. R = the identity, encoded non-canonically (y = p + 1).
    let mut non_canonical = [0xff; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    let s = challenge(&non_canonical, &key, msg) * a;
    let nc_sig = sig_bytes(non_canonical, s);
    assert!(consensus(&key, msg, &nc_sig));
    assert_eq!(dalek(&key, msg, &nc_sig), (false, false));

    // 3. A small-order key (the identity) with the trivial signature R = identity, s = 0.
    let identity = EdwardsPoint::identity().compress().to_bytes();
    let trivial = sig_bytes(identity, Scalar::ZERO);
    assert!(consensus(&identity, msg, &trivial));
    assert_eq!(dalek(&identity, msg, &trivial), (true, false));

    // The batch path gives the same answers as the single path (ZIP-215's point).
    let items = [
        (PublicKey(key), &msg[..], Signature(torsion_sig)),
        (PublicKey(key), &msg[..], Signature(nc_sig)),
        (PublicKey(identity), &msg[..], Signature(trivial)),
    ];
    assert_eq!(verify_all(&items), None);
    let mut bad = items;
    bad[1].2 .0[40] ^= 1;
    assert_eq!(verify_all(&bad), Some(1));
}

#[test]
fn every_vector_signature_verifies_under_both_crates() {
    let Some(dir) = vectors_dir("ed25519 rules") else {
        return;
    };
    let (mut total, mut dalek_ok, mut strict_ok, mut consensus_ok) = (0, 0, 0, 0);
    let mut check = |key: &PublicKey, msg: &[u8], sig: &Signature| {
        total += 1;
        let (d, s) = dalek(&key.0, msg, &sig.0);
        dalek_ok += usize::from(d);
        strict_ok += usize::from(s);
        consensus_ok += usize::from(consensus(&key.0, msg, &sig.0));
    };
    for path in json_files(&dir.join("cometbft/model_based/single_step")) {
        let v = read_json(&path);
        for input in v["input"].as_array().unwrap() {
            let Ok(block) = json::light_block(&input["block"]) else {
                continue;
            };
            let commit = &block.signed_header.commit;
            let template =
                VoteTemplate::precommit(&block.header().chain_id, commit, Some(&commit.block_id));
            for s in &commit.signatures {
                if let CommitSig::Commit {
                    validator_address,
                    timestamp,
                    signature,
                } = s
                {
                    if let Some(v) = block.validators.find(validator_address) {
                        check(v.pub_key(), &template.sign_bytes(timestamp), signature);
                    }
                }
            }
        }
    }
    eprintln!("vector signatures: {total}; dalek verify {dalek_ok}, verify_strict {strict_ok}, consensus {consensus_ok}");
    assert!(total >= 250, "{total}");
    assert_eq!((dalek_ok, strict_ok, consensus_ok), (total, total, total));
}
