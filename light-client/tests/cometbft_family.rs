//! The CometBFT family in the generic light client: trust root, conflicts and freezing, and
//! `verify_bundle` with two-layer ICS-23 proofs (IAVL store, then multistore) against the
//! app hash.

mod common;

use std::time::Duration;

use common::comet::{light_block, light_block_with_app_hash, members, BlockSpec, Member};
use corridor_light_client::bundle::{message_key, verify_bundle, ProofBundle};
use corridor_light_client::client::{
    ClientError, ConflictProof, LightClient, TrustRoot, UpdateOutcome,
};
use corridor_light_client::cometbft::{Address, CometVerifier, CommitSig, LightBlock};
use corridor_light_client::envelope::{DocumentKind, TradeMessage};
use corridor_light_client::family::{
    CometProof, CommitmentRoot, Family, FamilyKind, LeafProofError, COMET_STORE,
    MAX_COMET_PROOF_LAYER_BYTES,
};
use corridor_light_client::verifier::ValidatorSetKind;
use corridor_light_client::{Height, Options, Time, TrustThreshold, VerificationError};
use sha2::{Digest, Sha256};

const CHAIN: &str = "trade-cosmos-1";

fn t(s: u64) -> Time {
    Time::from_unix_secs(1_700_000_000 + s).unwrap()
}

fn block(h: u64, time: Time, vals: &[Member], signs: &dyn Fn(usize) -> bool) -> LightBlock {
    light_block(&BlockSpec {
        chain_id: CHAIN,
        height: h,
        time,
        validators: vals,
        next_validators: vals,
        signs,
    })
}

fn options() -> Options {
    Options {
        trusting_period: Duration::from_secs(3600),
        ..Options::default()
    }
}

#[test]
fn a_cometbft_client_follows_and_freezes_only_on_proven_conflicts() {
    let vals = members(21, 4, |i| 10 + i as u64);
    let all = |_: usize| true;
    let root = block(100, t(0), &vals, &all);
    let mut client = LightClient::<CometVerifier>::trusting(root.clone(), options()).unwrap();
    assert_eq!(client.family(), FamilyKind::Cometbft);
    assert_eq!(client.latest(), Some(&root));
    assert_eq!(client.trusted_until(), Some(t(3600)));
    let b101 = block(101, t(5), &vals, &all);
    assert_eq!(
        client.update(b101.clone(), t(10)).unwrap(),
        UpdateOutcome::Trusted(Height(101))
    );
    assert_eq!(client.trusted_until(), Some(t(3605)));

    // A stranger's block at 101, fully signed by its own set: refused, no freeze.
    let strangers = members(99, 1, |_| 1000);
    let fake = block(101, t(6), &strangers, &all);
    assert!(CometVerifier.signers(&fake).is_ok());
    assert!(matches!(
        client.update(fake, t(10)),
        Err(ClientError::UnprovenConflict { height: Height(101), double_signed, .. })
            if double_signed.tallied == 0 && double_signed.total == 46
    ));
    // A conflicting block with too little of its own set: its claimed overlap (one
    // validator, power 13 of 46) cannot prove double signing, and it does not verify from
    // the trusted block below: unproven, no freeze.
    let weak = block(101, t(7), &vals, &|i| i == 0);
    assert!(matches!(
        client.update(weak, t(10)),
        Err(ClientError::UnprovenConflict { double_signed, .. })
            if (double_signed.tallied, double_signed.total) == (13, 46)
    ));
    assert!(!client.is_frozen());

    // Three of the four validators (powers 13, 12, 11 in canonical order) sign another
    // block 101: double signing by 36 of 46, more than a third.
    let fork = block(101, t(8), &vals, &|i| i < 3);
    let outcome = client.update(fork.clone(), t(10)).unwrap();
    let UpdateOutcome::Misbehaviour(e) = outcome else {
        panic!("expected misbehaviour, got {outcome:?}");
    };
    assert_eq!(e.proven_by, ConflictProof::DoubleSigning);
    assert_eq!(e.conflicting, fork);
    assert_eq!(e.trusted, b101);
    assert_eq!((e.double_signed.tallied, e.double_signed.total), (36, 46));
    assert_eq!(e.double_signers.len(), 3);
    assert!(client.is_frozen());
}

#[test]
fn signers_checks_every_signature_and_names_the_signers() {
    let vals = members(22, 4, |i| 10 + i as u64);
    let b = block(100, t(0), &vals, &|i| i != 1);
    let signers = CometVerifier.signers(&b).unwrap();
    assert_eq!(signers.len(), 3);
    assert_eq!(signers.iter().map(|s| s.power).sum::<u64>(), 13 + 11 + 10);
    assert!(signers.windows(2).all(|w| w[0].key < w[1].key));
    assert_eq!(CometVerifier.signing_power(&b), 46);
    assert_eq!(CometVerifier.block_hash(&b), b.header().hash());
    assert_eq!(CometVerifier.block_time(&b), t(0));
    // A forged signature anywhere in the commit, even past two thirds, is refused.
    let mut forged = b.clone();
    if let Some(CommitSig::Commit { signature, .. }) =
        forged.signed_header.commit.signatures.last_mut()
    {
        signature.0[0] ^= 1;
    }
    assert!(matches!(
        CometVerifier.signers(&forged),
        Err(VerificationError::InvalidSignature { .. })
    ));
}

// ---- two-layer ICS-23 proofs, built by hand ----

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn sha(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// The leaf hash of ICS-23's leaf op (SHA-256, value prehashed, VAR_PROTO lengths).
fn leaf_hash(prefix: &[u8], key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut data = prefix.to_vec();
    varint(key.len() as u64, &mut data);
    data.extend(key);
    let v = sha(value);
    varint(v.len() as u64, &mut data);
    data.extend(v);
    sha(&data)
}

fn field_bytes(tag: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push(tag << 3 | 2);
    varint(bytes.len() as u64, out);
    out.extend(bytes);
}

fn field_int(tag: u8, v: u64, out: &mut Vec<u8>) {
    out.push(tag << 3);
    varint(v, out);
}

/// Protobuf `CommitmentProof { exist: ExistenceProof }` with SHA-256 leaf and inner ops.
fn existence(key: &[u8], value: &[u8], leaf_prefix: &[u8], path: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut leaf = Vec::new();
    field_int(1, 1, &mut leaf); // hash SHA256
    field_int(3, 1, &mut leaf); // prehash_value SHA256
    field_int(4, 1, &mut leaf); // length VAR_PROTO
    field_bytes(5, leaf_prefix, &mut leaf);
    let mut exist = Vec::new();
    field_bytes(1, key, &mut exist);
    field_bytes(2, value, &mut exist);
    field_bytes(3, &leaf, &mut exist);
    for (prefix, suffix) in path {
        let mut inner = Vec::new();
        field_int(1, 1, &mut inner);
        field_bytes(2, prefix, &mut inner);
        field_bytes(3, suffix, &mut inner);
        field_bytes(4, &inner, &mut exist);
    }
    let mut proof = Vec::new();
    field_bytes(1, &exist, &mut proof);
    proof
}

/// An IAVL store holding `key -> value` alone, and a multistore of two stores whose left
/// one is `corridor`: the proof layers and the app hash.
fn prove(key: &[u8], value: &[u8]) -> (CometProof, Vec<u8>) {
    // IAVL leaf prefix: height 0, size 1, version 1 (zig-zag varints).
    let iavl_prefix = [0u8, 2, 2];
    let store_root = leaf_hash(&iavl_prefix, key, value);
    let corridor_leaf = leaf_hash(&[0], COMET_STORE, &store_root);
    let sibling = leaf_hash(&[0], b"zzz", b"another store's root");
    let mut inner = vec![1u8];
    inner.extend(&corridor_leaf);
    inner.extend(&sibling);
    let app_hash = sha(&inner);
    let layers = vec![
        existence(key, value, &iavl_prefix, &[]),
        existence(COMET_STORE, &store_root, &[0], &[(vec![1], sibling)]),
    ];
    (CometProof { layers }, app_hash)
}

fn message(sequence: u64) -> TradeMessage {
    common::trade_message(
        CHAIN,
        DocumentKind::CertificateOfOrigin,
        7,
        sequence,
        sequence,
        5,
    )
}

#[test]
fn message_keys_are_namespaced_and_fixed_width() {
    let m = message(0x0102);
    let key = message_key(&m);
    let mut expected = b"outbox/".to_vec();
    expected.push(9);
    expected.extend(b"kz-astana");
    expected.extend([0, 0, 0, 7]);
    expected.extend([0, 0, 0, 0, 0, 0, 1, 2]);
    assert_eq!(key, expected);
    assert_eq!(CommitmentRoot::Receipts.store_prefix(), b"receipts/");
    assert_eq!(
        [FamilyKind::Corridor, FamilyKind::Cometbft, FamilyKind::Evm].map(|f| f.to_string()),
        ["corridor", "cometbft", "evm"]
    );
}

#[test]
fn a_cometbft_bundle_verifies_against_the_app_hash_and_each_refusal_is_named() {
    let vals = members(23, 4, |_| 10);
    let all = |_: usize| true;
    let m = message(1);
    let key = message_key(&m);
    let leaf = m.leaf().unwrap();
    let (proof, app_hash) = prove(&key, &leaf);
    let root = block(100, t(0), &vals, &all);
    let at = |app: Vec<u8>| {
        light_block_with_app_hash(
            &BlockSpec {
                chain_id: CHAIN,
                height: 101,
                time: t(5),
                validators: &vals,
                next_validators: &vals,
                signs: &all,
            },
            app,
        )
    };
    let header = at(app_hash.clone());
    let bundle = ProofBundle::<CometVerifier> {
        message: m.clone(),
        proof: proof.clone(),
        height: Height(101),
        light_blocks: vec![header.clone()],
    };
    let mut client = LightClient::<CometVerifier>::trusting(root.clone(), options()).unwrap();
    let verified = verify_bundle(&mut client, &bundle, t(10)).unwrap();
    assert_eq!(verified.header_hash, header.header().hash());

    let refuse = |b: &ProofBundle<CometVerifier>| {
        let mut c = LightClient::<CometVerifier>::trusting(root.clone(), options()).unwrap();
        verify_bundle(&mut c, b, t(10)).unwrap_err()
    };
    // Another message under the same proof.
    let mut other = bundle.clone();
    other.message = message(2);
    assert_eq!(refuse(&other).reason(), "invalid-proof");
    // The right proof under another app hash.
    let mut moved = bundle.clone();
    moved.light_blocks = vec![at(vec![9; 32])];
    assert_eq!(refuse(&moved).reason(), "invalid-proof");
    // A flipped byte in either layer.
    for layer in 0..2 {
        let mut flipped = bundle.clone();
        let bytes = &mut flipped.proof.layers[layer];
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(refuse(&flipped).reason(), "invalid-proof", "layer {layer}");
    }

    // Shape checks come before decoding.
    let check = |root_kind, proof: &CometProof| {
        CometVerifier
            .verify_leaf(&header, root_kind, &key, &leaf, proof)
            .unwrap_err()
    };
    assert!(matches!(
        check(CommitmentRoot::Receipts, &proof),
        LeafProofError::KeyNamespace { expected } if expected == "receipts/"
    ));
    assert!(matches!(
        check(
            CommitmentRoot::Messages,
            &CometProof {
                layers: proof.layers[..1].to_vec()
            }
        ),
        LeafProofError::Layers {
            expected: 2,
            got: 1
        }
    ));
    // The limit is 64 KiB.
    assert_eq!(MAX_COMET_PROOF_LAYER_BYTES, 65_536);
    let mut big = proof.clone();
    big.layers[1] = vec![0; MAX_COMET_PROOF_LAYER_BYTES + 1];
    assert!(matches!(
        check(CommitmentRoot::Messages, &big),
        LeafProofError::LayerTooLarge { layer: 1, got, max }
            if got == MAX_COMET_PROOF_LAYER_BYTES + 1 && max == MAX_COMET_PROOF_LAYER_BYTES
    ));
    // At the limit, the size is not what refuses it.
    big.layers[1] = vec![0; MAX_COMET_PROOF_LAYER_BYTES];
    assert!(matches!(
        check(CommitmentRoot::Messages, &big),
        LeafProofError::Ics23(_)
    ));
}

/// The root block is taken only with the validator sets and commit its header commits to:
/// the root's header with a stranger's set and a commit the strangers signed (over their own
/// block) is refused for its set, before any signature, and the real root is taken after.
#[test]
fn a_root_header_with_a_strangers_set_and_commit_is_refused() {
    let vals = members(23, 4, |i| 10 + i as u64);
    let all = |_: usize| true;
    let root = block(100, t(0), &vals, &all);
    let strangers = members(98, 4, |_| 1000);
    let theirs = block(100, t(0), &strangers, &all);
    let mut forged = root.clone();
    forged.validators = theirs.validators.clone();
    forged.next_validators = theirs.next_validators.clone();
    forged.signed_header.commit = theirs.signed_header.commit.clone();
    let trust_root = TrustRoot {
        chain_id: root.header().chain_id.clone(),
        height: Height(100),
        header_hash: root.header().hash(),
        pin: None,
    };
    let mut client = LightClient::<CometVerifier>::new(trust_root, options());
    let err = client.update(forged, t(10)).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Invalid(VerificationError::ValidatorSetHashMismatch {
                height: Height(100),
                kind: ValidatorSetKind::Current,
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(client.trusted_len(), 0);
    assert_eq!(
        client.update(root, t(10)).unwrap(),
        UpdateOutcome::Trusted(Height(100))
    );
}

/// `verify_commit_power`, which checks a block's `last_commit` against a set known from
/// elsewhere: a commit its set signed passes; a forged signature, too little of the set's
/// power, or too little of a trusted set's power are each refused by their own rule.
#[test]
fn a_commit_is_checked_against_a_known_set_by_signature_and_power() {
    let vals = members(24, 4, |i| 10 + i as u64);
    let b = block(100, t(0), &vals, &|_| true);
    let chain = &b.header().chain_id;
    let commit = &b.signed_header.commit;
    assert_eq!(
        CometVerifier.verify_commit_power(chain, commit, &b.validators, None),
        Ok(None)
    );
    // The first signer in the set's order is one the power walk must count.
    let mut forged = commit.clone();
    if let Some(CommitSig::Commit { signature, .. }) = forged.signatures.first_mut() {
        signature.0[0] ^= 1;
    }
    assert!(matches!(
        CometVerifier.verify_commit_power(chain, &forged, &b.validators, None),
        Err(VerificationError::InvalidSignature {
            height: Height(100),
            ..
        })
    ));
    let weak = block(100, t(0), &vals, &|i| i == 0);
    assert!(matches!(
        CometVerifier.verify_commit_power(chain, &weak.signed_header.commit, &weak.validators, None),
        Err(VerificationError::InsufficientCommitPower { height: Height(100), tally })
            if tally.total == 46
    ));
    // A trusted set none of whose members signed: not enough trust, with what was counted.
    let others = members(97, 3, |_| 10);
    let trusted = common::comet::set_of(&others);
    assert!(matches!(
        CometVerifier.verify_commit_power(
            chain,
            commit,
            &b.validators,
            Some((&trusted, TrustThreshold::ONE_THIRD))
        ),
        Ok(Some(tally)) if tally.tallied == 0 && tally.total == 30
    ));
}

/// A commit's nil vote counts for nobody, but its signer must still be in the set: a nil
/// vote by a stranger makes the block malformed even though the members' votes carry it.
#[test]
fn a_nil_vote_by_a_stranger_is_an_unknown_signer() {
    let vals = members(25, 4, |i| 10 + i as u64);
    let mut b = block(100, t(0), &vals, &|_| true);
    assert!(CometVerifier.verify_signed_by_own_set(&b).is_ok());
    let stranger = Address::from_key(&members(96, 1, |_| 10)[0].key.public_key());
    let last = b.signed_header.commit.signatures.last_mut().unwrap();
    let CommitSig::Commit {
        timestamp,
        signature,
        ..
    } = *last
    else {
        panic!("every member signed")
    };
    *last = CommitSig::Nil {
        validator_address: stranger,
        timestamp,
        signature,
    };
    assert_eq!(
        CometVerifier.verify_signed_by_own_set(&b),
        Err(VerificationError::UnknownSigner {
            height: Height(100),
            validator: stranger.to_string(),
        })
    );
}
