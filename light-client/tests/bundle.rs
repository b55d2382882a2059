//! `verify_bundle`: the one check every receiver makes of a proof bundle, with each refusal
//! asserted by its reason.

mod common;

use corridor_light_client::bundle::{
    verify_batch, verify_bundle, AnyBundle, BundleError, ProofBundle, MAX_BUNDLE_LIGHT_BLOCKS,
};
use corridor_light_client::client::{ClientError, LightClient, TrustRoot};
use corridor_light_client::envelope::{DocumentKind, TradeMessage};
use corridor_light_client::family::{CometProof, CommitmentRoot, Family, LeafProofError};
use corridor_light_client::merkle::MerkleTree;
use corridor_light_client::native::{LightBlock, NativeVerifier};
use corridor_light_client::signature::SigningKey;
use corridor_light_client::testgen::{self, BlockContents, ChainSpec};
use corridor_light_client::{codec, ChainId, Hash32, Height, Options, Time};

const CHAIN: &str = "cn-shanghai";

fn message(sequence: u64, nonce: u64) -> TradeMessage {
    common::trade_message(CHAIN, DocumentKind::BillOfLading, 3, sequence, nonce, 1)
}

/// A chain of `count` blocks whose block 4 commits three messages; the bundle for the
/// second of them, from a receiver that trusts block 1.
struct World {
    spec: ChainSpec,
    blocks: Vec<LightBlock>,
    bundle: ProofBundle<NativeVerifier>,
    now: Time,
}

fn world() -> World {
    let spec = ChainSpec::simple(CHAIN, 4);
    let messages: Vec<TradeMessage> = (1..=3).map(|s| message(s, s)).collect();
    let leaves: Vec<Vec<u8>> = messages.iter().map(|m| m.leaf().unwrap()).collect();
    let tree = MerkleTree::from_leaves(&leaves);
    let mut blocks = Vec::new();
    let mut parent = Hash32::ZERO;
    for h in 1..=6u64 {
        let contents = BlockContents {
            messages_root: if h == 4 { tree.root() } else { Hash32::ZERO },
            ..BlockContents::default()
        };
        let b = testgen::block(&spec, Height(h), parent, contents);
        parent = b.header().hash();
        blocks.push(b);
    }
    let bundle = ProofBundle {
        message: messages[1].clone(),
        proof: tree.prove(1).unwrap(),
        height: Height(4),
        light_blocks: blocks[1..4].to_vec(),
    };
    World {
        now: spec.time_at(Height(10)),
        spec,
        blocks,
        bundle,
    }
}

fn client(w: &World) -> LightClient<NativeVerifier> {
    LightClient::trusting(w.blocks[0].clone(), Options::default()).unwrap()
}

#[test]
fn a_valid_bundle_verifies_and_moves_the_client() {
    let w = world();
    let mut c = client(&w);
    let before = c.revision();
    let verified = verify_bundle(&mut c, &w.bundle, w.now).unwrap();
    assert_eq!(verified.message, w.bundle.message);
    assert_eq!(verified.height, Height(4));
    assert_eq!(verified.header_hash, w.blocks[3].header().hash());
    assert_eq!(verified.commitment, w.bundle.message.commitment().unwrap());
    assert_eq!(c.latest_height(), Height(4));
    assert_ne!(c.revision(), before);
    // Again, with no light blocks: the client trusts height 4 already.
    let mut again = w.bundle.clone();
    again.light_blocks.clear();
    let revision = c.revision();
    assert_eq!(verify_bundle(&mut c, &again, w.now).unwrap(), verified);
    assert_eq!(c.revision(), revision, "nothing new to persist");
}

#[test]
fn each_refusal_names_its_reason() {
    let w = world();
    let cases: Vec<(&str, ProofBundle<NativeVerifier>, &str)> = vec![
        (
            "another source chain",
            {
                let mut b = w.bundle.clone();
                b.message = {
                    let mut m = message(2, 2);
                    m.message.body.source_chain = ChainId::new("pk-karachi").unwrap();
                    m
                };
                b
            },
            "wrong-source-chain",
        ),
        (
            "sequence 0",
            {
                let mut b = w.bundle.clone();
                b.message.sequence = 0;
                b
            },
            "zero-sequence",
        ),
        (
            "too many blocks",
            {
                let mut b = w.bundle.clone();
                b.light_blocks = vec![w.blocks[1].clone(); MAX_BUNDLE_LIGHT_BLOCKS + 1];
                b
            },
            "too-many-light-blocks",
        ),
        (
            "a block of another chain",
            {
                let mut b = w.bundle.clone();
                let other = ChainSpec::simple("pk-karachi", 4);
                b.light_blocks[0] =
                    testgen::block(&other, Height(2), Hash32::ZERO, Default::default());
                b
            },
            "light-block-chain",
        ),
        (
            "blocks out of order",
            {
                let mut b = w.bundle.clone();
                b.light_blocks.swap(0, 1);
                b
            },
            "light-block-order",
        ),
        (
            "the last block is not at the bundle's height",
            {
                let mut b = w.bundle.clone();
                b.light_blocks.push(w.blocks[4].clone());
                b
            },
            "light-block-order",
        ),
        (
            "a forged signature on a light block",
            {
                let mut b = w.bundle.clone();
                b.light_blocks[1] = testgen::with_bad_signature(b.light_blocks[1].clone(), 0);
                b
            },
            "invalid-light-block",
        ),
        (
            "no block reaches the bundle's height",
            {
                let mut b = w.bundle.clone();
                b.light_blocks.clear();
                b
            },
            "untrusted-height",
        ),
        (
            "the proof of another message",
            {
                let mut b = w.bundle.clone();
                b.message = message(2, 99);
                b
            },
            "invalid-proof",
        ),
        (
            "a message re-signed at its sequence with a changed body",
            {
                let mut b = w.bundle.clone();
                let key = SigningKey::from_seed([1; 32]);
                let mut body = b.message.message.body.clone();
                body.channel = 4;
                b.message.message = body.sign(&key).unwrap();
                b
            },
            "invalid-proof",
        ),
    ];
    for (label, bundle, reason) in cases {
        let mut c = client(&w);
        let err = verify_bundle(&mut c, &bundle, w.now).unwrap_err();
        assert_eq!(err.reason(), reason, "{label}: {err}");
        assert!(!c.is_frozen(), "{label}");
    }
}

#[test]
fn cheap_checks_come_before_any_signature() {
    // A bundle that is wrong in shape and carries forged blocks is refused for its shape:
    // the forged signatures are never looked at (the client is untouched).
    let w = world();
    let mut c = client(&w);
    let mut b = w.bundle.clone();
    b.light_blocks = b
        .light_blocks
        .iter()
        .map(|l| testgen::with_bad_signature(l.clone(), 0))
        .rev()
        .collect();
    let err = verify_bundle(&mut c, &b, w.now).unwrap_err();
    assert!(matches!(err, BundleError::LightBlockOrder { .. }), "{err}");
    assert_eq!(c.revision(), 1);
}

#[test]
fn verified_progress_is_kept_when_the_proof_fails() {
    let w = world();
    let mut c = client(&w);
    let mut b = w.bundle.clone();
    b.message = message(2, 99);
    let err = verify_bundle(&mut c, &b, w.now).unwrap_err();
    assert!(matches!(
        err,
        BundleError::InvalidProof {
            sequence: 2,
            height: Height(4),
            source: LeafProofError::Merkle(_)
        }
    ));
    assert_eq!(c.latest_height(), Height(4));
}

#[test]
fn skipping_without_enough_trust_and_misbehaviour_are_named() {
    let w = world();
    // A set rotated away from the receiver's trust: skipping lacks trust.
    let mut spec = ChainSpec::simple(CHAIN, 3);
    spec.rotate_every = 1;
    spec.rotate_count = 3;
    let rotated = testgen::chain(&spec, 5);
    let mut c = LightClient::trusting(rotated[0].clone(), Options::default()).unwrap();
    let mut b = w.bundle.clone();
    b.light_blocks = vec![rotated[3].clone()];
    let err = verify_bundle(&mut c, &b, w.now).unwrap_err();
    assert!(
        matches!(
            err,
            BundleError::NotEnoughTrust {
                height: Height(4),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.reason(), "not-enough-trust");

    // A fork of block 4 signed by the same validators: the client freezes, and refuses
    // every bundle after.
    let mut c = client(&w);
    verify_bundle(&mut c, &w.bundle, w.now).unwrap();
    let fork = testgen::fork(&w.blocks[3], &w.spec.keys_at(Height(4)), Hash32([9; 32]));
    let mut b = w.bundle.clone();
    b.light_blocks = vec![fork];
    let err = verify_bundle(&mut c, &b, w.now).unwrap_err();
    assert_eq!(err.reason(), "misbehaviour", "{err}");
    assert!(c.is_frozen());
    let err = verify_bundle(&mut c, &w.bundle, w.now).unwrap_err();
    assert_eq!(err.reason(), "client-frozen", "{err}");
}

#[test]
fn a_client_without_its_root_takes_it_from_the_bundle_only_if_it_is_the_root() {
    let w = world();
    let root = TrustRoot {
        chain_id: ChainId::new(CHAIN).unwrap(),
        height: Height(1),
        header_hash: w.blocks[0].header().hash(),
        pin: None,
    };
    let mut c = LightClient::<NativeVerifier>::new(root, Options::default());
    let err = verify_bundle(&mut c, &w.bundle, w.now).unwrap_err();
    assert!(
        matches!(
            &err,
            BundleError::LightBlock {
                source: ClientError::NotTheRoot { .. },
                ..
            }
        ),
        "{err}"
    );
    let mut b = w.bundle.clone();
    b.light_blocks.insert(0, w.blocks[0].clone());
    verify_bundle(&mut c, &b, w.now).unwrap();
}

#[test]
fn bundles_are_tagged_with_their_family_on_the_wire() {
    let w = world();
    let any = AnyBundle::Corridor(w.bundle.clone());
    let json = serde_json::to_value(&any).unwrap();
    assert_eq!(json["family"], "corridor");
    let back: AnyBundle = serde_json::from_value(json).unwrap();
    assert_eq!(back, any);
    let bytes = codec::encode("bundle", &any).unwrap();
    let back: AnyBundle = codec::decode("bundle", &bytes).unwrap();
    assert_eq!(back.message(), &w.bundle.message);
}

#[test]
fn cometbft_leaf_proofs_check_their_shape_first() {
    use corridor_light_client::cometbft::CometVerifier;
    let Some(dir) = common::vectors_dir("cometbft leaf proofs") else {
        return;
    };
    let v = common::read_json(
        &dir.join("cometbft/model_based/single_step/MC10_3_faulty_TestFailure.json"),
    );
    let block =
        corridor_light_client::cometbft::json::light_block(&v["input"][0]["block"]).unwrap();
    let key = b"outbox/x".to_vec();
    let cases = [
        (
            CommitmentRoot::Receipts,
            CometProof {
                layers: vec![vec![], vec![]],
            },
            "key does not start with",
        ),
        (
            CommitmentRoot::Messages,
            CometProof {
                layers: vec![vec![]],
            },
            "1 layers, 2 expected",
        ),
        (
            CommitmentRoot::Messages,
            CometProof {
                layers: vec![vec![0; 64 * 1024 + 1], vec![]],
            },
            "proof layer 0 is 65537 bytes",
        ),
    ];
    for (root, proof, reason) in cases {
        let err = CometVerifier
            .verify_leaf(&block, root, &key, b"leaf", &proof)
            .unwrap_err();
        assert!(err.to_string().contains(reason), "{err}");
    }
    // A batch is one proof per leaf, each checked as above; one too few or too many is
    // refused before any of them.
    let one = CometProof {
        layers: vec![vec![]],
    };
    let batch = CometVerifier
        .join_proofs(std::slice::from_ref(&one))
        .unwrap();
    assert_eq!(batch, vec![one.clone()]);
    let leaves = vec![(key.clone(), b"leaf".to_vec())];
    assert_eq!(
        CometVerifier.verify_leaves(&block, CommitmentRoot::Messages, &leaves, &batch),
        Err(LeafProofError::Layers {
            expected: 2,
            got: 1
        })
    );
    // The check without each leaf's proof back gives the same verdict.
    assert_eq!(
        CometVerifier.check_leaves(&block, CommitmentRoot::Messages, &leaves, &batch),
        Err(LeafProofError::Layers {
            expected: 2,
            got: 1
        })
    );
    for proofs in [vec![], vec![one.clone(), one]] {
        assert_eq!(
            CometVerifier.verify_leaves(&block, CommitmentRoot::Messages, &leaves, &proofs),
            Err(LeafProofError::BatchSize {
                leaves: 1,
                proves: proofs.len()
            })
        );
    }
}

#[test]
fn receipts_verify_against_the_destinations_receipts_root() {
    use corridor_light_client::receipt::{
        receipt_key, verify_receipt, verify_receipts, Receipt, ReceiptProof, ReceiptResult,
        RejectReason,
    };
    let spec = ChainSpec::simple("kz-astana", 4);
    let receipts: Vec<Receipt> = (1..=3)
        .map(|s| Receipt {
            source_chain: ChainId::new(CHAIN).unwrap(),
            destination_chain: spec.chain_id.clone(),
            channel: 3,
            sequence: s,
            message_commitment: Hash32([s as u8; 32]),
            result: if s == 2 {
                ReceiptResult::Rejected {
                    reason: RejectReason::PayloadHashMismatch,
                }
            } else {
                ReceiptResult::Delivered
            },
        })
        .collect();
    let leaves: Vec<Vec<u8>> = receipts.iter().map(|r| r.leaf().unwrap()).collect();
    let tree = MerkleTree::from_leaves(&leaves);
    let genesis = testgen::block(&spec, Height(1), Hash32::ZERO, Default::default());
    let b2 = testgen::block(
        &spec,
        Height(2),
        genesis.header().hash(),
        BlockContents {
            receipts_root: tree.root(),
            ..BlockContents::default()
        },
    );
    let mut client = LightClient::trusting(genesis, Options::default()).unwrap();
    let proof = ReceiptProof::<NativeVerifier> {
        height: Height(2),
        receipt: receipts[1].clone(),
        proof: tree.prove(1).unwrap(),
    };
    let now = spec.time_at(Height(5));
    // The client must trust the height first.
    assert_eq!(
        verify_receipt(&client, &proof).unwrap_err().reason(),
        "untrusted-height"
    );
    client.update(b2, now).unwrap();
    assert_eq!(verify_receipt(&client, &proof).unwrap(), &receipts[1]);
    // Another result under the same proof.
    let mut changed = proof.clone();
    changed.receipt.result = ReceiptResult::Delivered;
    assert_eq!(
        verify_receipt(&client, &changed).unwrap_err().reason(),
        "invalid-proof"
    );
    // A receipt of another destination.
    let mut other = proof.clone();
    other.receipt.destination_chain = ChainId::new("pk-karachi").unwrap();
    assert_eq!(
        verify_receipt(&client, &other).unwrap_err().reason(),
        "wrong-destination-chain"
    );
    let key = receipt_key(&proof.receipt);
    assert!(key.starts_with(b"receipts/"));
    assert_eq!(key.len(), 9 + 1 + CHAIN.len() + 4 + 8);

    // All three under one multiproof, then each refusal of the batch by its reason.
    let singles: Vec<_> = (0..3).map(|i| tree.prove(i).unwrap()).collect();
    let all = NativeVerifier.join_proofs(&singles).unwrap();
    verify_receipts(&client, Height(2), &receipts, &all).unwrap();
    let two = NativeVerifier
        .join_proofs(&[singles[0].clone(), singles[2].clone()])
        .unwrap();
    verify_receipts(
        &client,
        Height(2),
        &[receipts[0].clone(), receipts[2].clone()],
        &two,
    )
    .unwrap();
    let refuse = |list: &[Receipt], height| {
        verify_receipts(&client, height, list, &all)
            .unwrap_err()
            .reason()
    };
    let mut forged = receipts.clone();
    forged[2].result = ReceiptResult::Expired;
    assert_eq!(refuse(&forged, Height(2)), "invalid-proof");
    let mut swapped = receipts.clone();
    swapped.swap(0, 1);
    assert_eq!(refuse(&swapped, Height(2)), "invalid-proof");
    assert_eq!(
        verify_receipts(&client, Height(2), &receipts[..2], &all).unwrap_err(),
        BundleError::InvalidProof {
            sequence: 1,
            height: Height(2),
            source: LeafProofError::BatchSize {
                leaves: 2,
                proves: 3
            }
        }
    );
    let mut elsewhere = receipts.clone();
    elsewhere[1].destination_chain = ChainId::new("pk-karachi").unwrap();
    assert_eq!(refuse(&elsewhere, Height(2)), "wrong-destination-chain");
    assert_eq!(refuse(&receipts, Height(3)), "untrusted-height");
}

/// The light-block limit is inclusive: a bundle with exactly [`MAX_BUNDLE_LIGHT_BLOCKS`]
/// blocks verifies, and the same bundle with one block more (the root, which the client
/// trusts already) is refused for its size alone, before any block is looked at.
#[test]
fn a_bundle_may_carry_exactly_the_maximum_of_light_blocks() {
    let spec = ChainSpec::simple(CHAIN, 4);
    let top = u64::try_from(MAX_BUNDLE_LIGHT_BLOCKS).unwrap() + 1;
    let m = message(1, 1);
    let tree = MerkleTree::from_leaves(&[m.leaf().unwrap()]);
    let mut blocks = Vec::new();
    let mut parent = Hash32::ZERO;
    for h in 1..=top {
        let contents = BlockContents {
            messages_root: if h == top { tree.root() } else { Hash32::ZERO },
            ..BlockContents::default()
        };
        let b = testgen::block(&spec, Height(h), parent, contents);
        parent = b.header().hash();
        blocks.push(b);
    }
    let now = spec.time_at(Height(top + 1));
    let bundle = ProofBundle::<NativeVerifier> {
        message: m,
        proof: tree.prove(0).unwrap(),
        height: Height(top),
        light_blocks: blocks[1..].to_vec(),
    };
    assert_eq!(bundle.light_blocks.len(), MAX_BUNDLE_LIGHT_BLOCKS);
    let mut c = LightClient::trusting(blocks[0].clone(), Options::default()).unwrap();
    let mut over = bundle.clone();
    over.light_blocks.insert(0, blocks[0].clone());
    let err = verify_bundle(&mut c, &over, now).unwrap_err();
    assert!(
        matches!(
            err,
            BundleError::TooManyLightBlocks { got, max }
                if got == MAX_BUNDLE_LIGHT_BLOCKS + 1 && max == MAX_BUNDLE_LIGHT_BLOCKS
        ),
        "{err}"
    );
    assert_eq!(c.latest_height(), Height(1), "nothing verified");
    let verified = verify_bundle(&mut c, &bundle, now).unwrap();
    assert_eq!(verified.height, Height(top));
    assert_eq!(c.latest_height(), Height(top));
}

/// The world's block 4 commits messages 1 to 3; a relay's bundle proves them all under
/// one multiproof.
fn batch(w: &World) -> (Vec<TradeMessage>, corridor_light_client::merkle::MultiProof) {
    let messages: Vec<TradeMessage> = (1..=3).map(|s| message(s, s)).collect();
    let leaves: Vec<Vec<u8>> = messages.iter().map(|m| m.leaf().unwrap()).collect();
    let tree = MerkleTree::from_leaves(&leaves);
    let proofs: Vec<_> = (0..3).map(|i| tree.prove(i).unwrap()).collect();
    let proof = NativeVerifier.join_proofs(&proofs).unwrap();
    assert_eq!(tree.root(), w.blocks[3].header().messages_root);
    (messages, proof)
}

#[test]
fn a_batch_under_one_multiproof_verifies_and_gives_each_message_its_own_proof() {
    let w = world();
    let mut c = client(&w);
    verify_bundle(&mut c, &w.bundle, w.now).unwrap();
    let (messages, proof) = batch(&w);
    assert_eq!(proof.indices, vec![0, 1, 2]);
    let singles = verify_batch(&c, Height(4), &messages, &proof).unwrap();
    assert_eq!(singles.len(), 3);
    // Each proof is a bundle of its own that verifies, as the destination chain takes it.
    for (m, p) in messages.iter().zip(&singles) {
        let single = ProofBundle::<NativeVerifier> {
            message: m.clone(),
            proof: p.clone(),
            height: Height(4),
            light_blocks: Vec::new(),
        };
        verify_bundle(&mut c, &single, w.now).unwrap();
    }
    assert_eq!(singles[1], w.bundle.proof);
    // Two of the three, under the multiproof of those two.
    let two = NativeVerifier
        .join_proofs(&[singles[0].clone(), singles[2].clone()])
        .unwrap();
    let pair = [messages[0].clone(), messages[2].clone()];
    assert_eq!(
        verify_batch(&c, Height(4), &pair, &two).unwrap(),
        vec![singles[0].clone(), singles[2].clone()]
    );
}

#[test]
fn each_refusal_of_a_batch_names_its_reason() {
    let w = world();
    let mut c = client(&w);
    verify_bundle(&mut c, &w.bundle, w.now).unwrap();
    let (messages, proof) = batch(&w);
    let refuse = |messages: &[TradeMessage], proof, height| {
        verify_batch(&c, height, messages, proof).unwrap_err()
    };
    let mut other_chain = messages.clone();
    other_chain[2].message.body.source_chain = ChainId::new("pk-karachi").unwrap();
    assert_eq!(
        refuse(&other_chain, &proof, Height(4)).reason(),
        "wrong-source-chain"
    );
    let mut zero = messages.clone();
    zero[1].sequence = 0;
    assert_eq!(refuse(&zero, &proof, Height(4)).reason(), "zero-sequence");
    assert_eq!(
        refuse(&messages, &proof, Height(5)).reason(),
        "untrusted-height"
    );
    // One changed message refuses the batch, naming the batch's first sequence.
    let mut forged = messages.clone();
    forged[2] = message(3, 99);
    assert!(matches!(
        refuse(&forged, &proof, Height(4)),
        BundleError::InvalidProof {
            sequence: 1,
            height: Height(4),
            source: LeafProofError::Merkle(_)
        }
    ));
    // Messages in another order than the proof's leaves.
    let mut swapped = messages.clone();
    swapped.swap(0, 1);
    assert_eq!(
        refuse(&swapped, &proof, Height(4)).reason(),
        "invalid-proof"
    );
    // A message left out, or one more than the proof proves.
    assert_eq!(
        refuse(&messages[..2], &proof, Height(4)),
        BundleError::InvalidProof {
            sequence: 1,
            height: Height(4),
            source: LeafProofError::BatchSize {
                leaves: 2,
                proves: 3
            }
        }
    );
    let mut frozen = client(&w);
    verify_bundle(&mut frozen, &w.bundle, w.now).unwrap();
    let conflicting = testgen::block(
        &w.spec,
        Height(4),
        w.blocks[2].header().hash(),
        BlockContents {
            messages_root: Hash32([7; 32]),
            ..BlockContents::default()
        },
    );
    let _ = frozen.update(conflicting, w.now);
    assert!(frozen.is_frozen());
    assert_eq!(
        verify_batch(&frozen, Height(4), &messages, &proof)
            .unwrap_err()
            .reason(),
        "client-frozen"
    );
}
