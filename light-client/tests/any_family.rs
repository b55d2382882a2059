//! `AnyFamily`: every family as one. Each rule is the family's own (the same verdicts as
//! the family alone), and data of one family is refused against data of another, by its
//! reason, before any signature is checked.

mod common;

use corridor_light_client::any::{
    AnyBatchProof, AnyFamily, AnyLeafProof, AnyLightBlock, AnyTrusted,
};
use corridor_light_client::bundle::{verify_bundle, BundleError, ProofBundle};
use corridor_light_client::client::{ClientError, LightClient, TrustRoot, UpdateOutcome};
use corridor_light_client::envelope::{DocumentKind, TradeMessage};
use corridor_light_client::evm::{EvmFamily, EvmLogProof, ReceiptProof as EvmReceiptProof};
use corridor_light_client::family::{
    CometProof, CommitmentRoot, Family, FamilyKind, LeafProofError,
};
use corridor_light_client::merkle::MerkleTree;
use corridor_light_client::native::{LightBlock, NativeVerifier};
use corridor_light_client::testgen::{self, BlockContents, ChainSpec};
use corridor_light_client::verifier::{Verdict, Verifier};
use corridor_light_client::{codec, ChainId, Hash32, Height, Options, Time, VerificationError};

const CHAIN: &str = "cn-shanghai";

fn message(sequence: u64) -> TradeMessage {
    common::trade_message(CHAIN, DocumentKind::BillOfLading, 3, sequence, sequence, 1)
}

/// Six native blocks; block 4 commits three messages.
struct Native {
    blocks: Vec<LightBlock>,
    messages: Vec<TradeMessage>,
    tree: MerkleTree,
    now: Time,
}

fn native() -> Native {
    let spec = ChainSpec::simple(CHAIN, 4);
    let messages: Vec<TradeMessage> = (1..=3).map(message).collect();
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
    Native {
        now: spec.time_at(Height(10)),
        blocks,
        messages,
        tree,
    }
}

fn any(block: &LightBlock) -> AnyLightBlock {
    AnyLightBlock::from(block.clone())
}

fn root_of(block: &LightBlock) -> TrustRoot {
    TrustRoot {
        chain_id: ChainId::new(CHAIN).unwrap(),
        height: block.header().height,
        header_hash: block.header().hash(),
        pin: None,
    }
}

/// An EVM block of the same chain id, height and time as `like`.
fn evm_block(like: &LightBlock) -> AnyLightBlock {
    AnyLightBlock::from(testgen::evm_block(
        &like.header().chain_id,
        like.header().height,
        like.header().time,
    ))
}

#[test]
fn a_native_chain_verifies_as_it_does_alone() {
    let w = native();
    let options = Options::default();
    let mut alone: LightClient<NativeVerifier> =
        LightClient::trusting(w.blocks[0].clone(), options).unwrap();
    let mut mixed: LightClient<AnyFamily> =
        LightClient::for_family(FamilyKind::Corridor, root_of(&w.blocks[0]), options).unwrap();
    assert_eq!(mixed.family(), FamilyKind::Corridor);
    assert!(matches!(
        mixed.update(any_of(&w, 0), w.now),
        Ok(UpdateOutcome::Trusted(Height(1)))
    ));
    // Adjacent, then skipping: the same outcome each time.
    for i in [1, 3, 5] {
        let a = alone
            .update(w.blocks[i].clone(), w.now)
            .map(|o| height_of(&o));
        let b = mixed.update(any_of(&w, i), w.now).map(|o| height_of(&o));
        assert_eq!(a, b, "block {}", i + 1);
    }
    assert_eq!(mixed.latest_height(), Height(6));
    // A forged signature: refused by both, for the same reason.
    let mut forged = w.blocks[2].clone();
    forged = testgen::with_bad_signature(forged, 0);
    let mut fresh: LightClient<AnyFamily> =
        LightClient::for_family(FamilyKind::Corridor, root_of(&w.blocks[0]), options).unwrap();
    fresh.update(any_of(&w, 0), w.now).unwrap();
    fresh.update(any_of(&w, 1), w.now).unwrap();
    let mut lone: LightClient<NativeVerifier> =
        LightClient::trusting(w.blocks[0].clone(), options).unwrap();
    lone.update(w.blocks[1].clone(), w.now).unwrap();
    let e_any = fresh.update(any(&forged), w.now).unwrap_err();
    let e_alone = lone.update(forged, w.now).unwrap_err();
    assert!(matches!(
        e_any,
        ClientError::Invalid(VerificationError::InvalidSignature { .. })
    ));
    assert_eq!(e_any, e_alone);
}

fn any_of(w: &Native, i: usize) -> AnyLightBlock {
    any(&w.blocks[i])
}

/// The height an update outcome names (none for misbehaviour, which these tests never make).
fn height_of<B>(outcome: &UpdateOutcome<B>) -> Option<Height> {
    match outcome {
        UpdateOutcome::Trusted(h)
        | UpdateOutcome::AlreadyTrusted(h)
        | UpdateOutcome::NotEnoughTrust(h, _) => Some(*h),
        UpdateOutcome::Misbehaviour(_) => None,
    }
}

#[test]
fn a_block_of_another_family_is_refused_by_the_client_before_any_check() {
    let w = native();
    let options = Options::default();
    // As the root: an evm block where a corridor chain's root is expected.
    let mut c: LightClient<AnyFamily> =
        LightClient::for_family(FamilyKind::Corridor, root_of(&w.blocks[0]), options).unwrap();
    let e = c.update(evm_block(&w.blocks[0]), w.now).unwrap_err();
    assert_eq!(
        e,
        ClientError::WrongFamily {
            chain: ChainId::new(CHAIN).unwrap(),
            height: Height(1),
            expected: FamilyKind::Corridor,
            got: FamilyKind::Evm,
        }
    );
    assert_eq!(e.reason(), "wrong-family");
    assert_eq!(c.revision(), 0, "nothing taken");
    // Later: the same, with the client's trusted blocks unchanged.
    c.update(any_of(&w, 0), w.now).unwrap();
    let before = c.revision();
    let e = c.update(evm_block(&w.blocks[1]), w.now).unwrap_err();
    assert_eq!(e.reason(), "wrong-family");
    assert_eq!(c.revision(), before);
    assert_eq!(c.latest_height(), Height(1));
    // A client made for evm refuses native blocks, even the root's.
    let mut e_client: LightClient<AnyFamily> =
        LightClient::for_family(FamilyKind::Evm, root_of(&w.blocks[0]), options).unwrap();
    assert!(matches!(
        e_client.update(any_of(&w, 0), w.now),
        Err(ClientError::WrongFamily {
            expected: FamilyKind::Evm,
            got: FamilyKind::Corridor,
            ..
        })
    ));
    // A single-family client type is of its family only.
    assert!(LightClient::<NativeVerifier>::for_family(
        FamilyKind::Evm,
        root_of(&w.blocks[0]),
        options
    )
    .is_none());
    assert!(LightClient::<NativeVerifier>::for_family(
        FamilyKind::Corridor,
        root_of(&w.blocks[0]),
        options
    )
    .is_some());
}

#[test]
fn a_block_against_a_trusted_state_of_another_family_is_invalid() {
    let w = native();
    let trusted = AnyFamily.trusted_state(&any_of(&w, 0));
    assert_eq!(AnyFamily.trusted_height(&trusted), Height(1));
    let verdict = AnyFamily.verify_update(
        &evm_block(&w.blocks[1]),
        &trusted,
        &Options::default(),
        w.now,
    );
    assert_eq!(
        verdict,
        Verdict::Invalid(VerificationError::FamilyMismatch {
            height: Height(2),
            expected: FamilyKind::Corridor,
            got: FamilyKind::Evm,
        })
    );
    // The same family: the family's own verdict.
    assert_eq!(
        AnyFamily.verify_update(&any_of(&w, 1), &trusted, &Options::default(), w.now),
        NativeVerifier.verify_update(
            &w.blocks[1],
            &NativeVerifier.trusted_state(&w.blocks[0]),
            &Options::default(),
            w.now
        )
    );
    // After a state of another family, a state is made fresh from the block.
    let after = AnyFamily.trusted_state_after(&evm_block(&w.blocks[1]), &trusted);
    assert_eq!(after.family(), FamilyKind::Evm);
    assert_eq!(AnyFamily.trusted_height(&after), Height(2));
    let after = AnyFamily.trusted_state_after(&any_of(&w, 1), &trusted);
    assert_eq!(after.family(), FamilyKind::Corridor);
    assert_eq!(AnyFamily.trusted_height(&after), Height(2));
}

#[test]
fn block_identity_is_the_familys_own() {
    let w = native();
    let b = &w.blocks[3];
    let a = any(b);
    assert_eq!(AnyFamily.block_hash(&a), NativeVerifier.block_hash(b));
    assert_eq!(AnyFamily.block_time(&a), NativeVerifier.block_time(b));
    assert_eq!(AnyFamily.block_chain(&a), NativeVerifier.block_chain(b));
    assert_eq!(AnyFamily.block_height(&a), Height(4));
    assert_eq!(AnyFamily.signing_power(&a), NativeVerifier.signing_power(b));
    assert_eq!(AnyFamily.signers(&a), NativeVerifier.signers(b));
    assert!(!AnyFamily.signers(&a).unwrap().is_empty());
    assert_eq!(
        AnyFamily.claimed_signers(&a),
        NativeVerifier.claimed_signers(b)
    );
    assert_eq!(AnyFamily.block_family(&a), FamilyKind::Corridor);
    assert_eq!(AnyFamily.block_family(&evm_block(b)), FamilyKind::Evm);
    // The evm block's identity is the evm family's.
    let e = evm_block(b);
    let AnyLightBlock::Evm(inner) = &e else {
        panic!("an evm block")
    };
    assert_eq!(AnyFamily.block_hash(&e), inner.header.hash());
    assert_ne!(AnyFamily.block_hash(&e), AnyFamily.block_hash(&a));
}

fn leaves(w: &Native, which: &[usize]) -> Vec<(Vec<u8>, Vec<u8>)> {
    which
        .iter()
        .map(|&i| (vec![], w.messages[i].leaf().unwrap()))
        .collect()
}

fn evm_proof() -> EvmLogProof {
    EvmLogProof {
        receipt: EvmReceiptProof {
            index: 0,
            nodes: vec![vec![0x80]],
        },
        log_index: 0,
    }
}

#[test]
fn leaves_are_proven_by_their_familys_proofs_and_refused_across_families() {
    let w = native();
    let block = any_of(&w, 3);
    let proofs: Vec<AnyLeafProof> = (0..3)
        .map(|i| AnyLeafProof::from(w.tree.prove(i).unwrap()))
        .collect();
    let leaf = w.messages[1].leaf().unwrap();
    AnyFamily
        .verify_leaf(&block, CommitmentRoot::Messages, &[], &leaf, &proofs[1])
        .unwrap();
    // The wrong leaf: the native family's own refusal.
    assert!(matches!(
        AnyFamily.verify_leaf(&block, CommitmentRoot::Messages, &[], &leaf, &proofs[0]),
        Err(LeafProofError::Merkle(_))
    ));
    // Proofs of other families: refused by family before any hashing.
    let comet = AnyLeafProof::from(CometProof { layers: vec![] });
    assert_eq!(
        AnyFamily.verify_leaf(&block, CommitmentRoot::Messages, &[], &leaf, &comet),
        Err(LeafProofError::FamilyMismatch {
            block: FamilyKind::Corridor,
            proof: FamilyKind::Cometbft,
        })
    );
    let evm = AnyLeafProof::from(evm_proof());
    assert_eq!(evm.family(), FamilyKind::Evm);
    assert_eq!(
        AnyFamily.verify_leaf(
            &evm_block(&w.blocks[3]),
            CommitmentRoot::Messages,
            &[],
            &leaf,
            &proofs[1]
        ),
        Err(LeafProofError::FamilyMismatch {
            block: FamilyKind::Evm,
            proof: FamilyKind::Corridor,
        })
    );

    // Joined: the native multiproof, proving all three at once.
    let joined = AnyFamily.join_proofs(&proofs).unwrap();
    assert!(matches!(joined, AnyBatchProof::Corridor(_)));
    let all = leaves(&w, &[0, 1, 2]);
    let each = AnyFamily
        .verify_leaves(&block, CommitmentRoot::Messages, &all, &joined)
        .unwrap();
    assert_eq!(each, proofs, "each leaf's own proof back");
    AnyFamily
        .check_leaves(&block, CommitmentRoot::Messages, &all, &joined)
        .unwrap();
    let swapped = leaves(&w, &[0, 2, 1]);
    assert!(matches!(
        AnyFamily.check_leaves(&block, CommitmentRoot::Messages, &swapped, &joined),
        Err(LeafProofError::Merkle(_))
    ));
    assert!(AnyFamily
        .verify_leaves(&block, CommitmentRoot::Messages, &swapped, &joined)
        .is_err());
    // Proofs of several families do not join; a batch of another family is refused.
    assert_eq!(
        AnyFamily.join_proofs(&[proofs[0].clone(), comet.clone()]),
        None
    );
    assert_eq!(AnyFamily.join_proofs(&[]), None);
    let comet_batch = AnyFamily.join_proofs(&[comet.clone(), comet]).unwrap();
    assert!(matches!(&comet_batch, AnyBatchProof::Cometbft(p) if p.len() == 2));
    let two = leaves(&w, &[0, 1]);
    assert_eq!(
        AnyFamily.check_leaves(&block, CommitmentRoot::Messages, &two, &comet_batch),
        Err(LeafProofError::FamilyMismatch {
            block: FamilyKind::Corridor,
            proof: FamilyKind::Cometbft,
        })
    );
    assert_eq!(
        AnyFamily.verify_leaves(&block, CommitmentRoot::Messages, &two, &comet_batch),
        Err(LeafProofError::FamilyMismatch {
            block: FamilyKind::Corridor,
            proof: FamilyKind::Cometbft,
        })
    );
    let evm_batch = AnyFamily.join_proofs(&[evm.clone(), evm]).unwrap();
    assert!(matches!(&evm_batch, AnyBatchProof::Evm(p) if p.len() == 2));
}

#[test]
fn a_bundle_verifies_through_any_family_and_refuses_a_proof_of_another() {
    let w = native();
    let bundle = ProofBundle::<AnyFamily> {
        message: w.messages[1].clone(),
        proof: AnyLeafProof::from(w.tree.prove(1).unwrap()),
        height: Height(4),
        light_blocks: (1..4).map(|i| any_of(&w, i)).collect(),
    };
    let fresh = || {
        let mut c: LightClient<AnyFamily> = LightClient::for_family(
            FamilyKind::Corridor,
            root_of(&w.blocks[0]),
            Options::default(),
        )
        .unwrap();
        c.update(any_of(&w, 0), w.now).unwrap();
        c
    };
    let mut c = fresh();
    let verified = verify_bundle(&mut c, &bundle, w.now).unwrap();
    assert_eq!(verified.header_hash, w.blocks[3].header().hash());
    assert_eq!(c.latest_height(), Height(4));

    let mut wrong = bundle.clone();
    wrong.proof = AnyLeafProof::from(evm_proof());
    let mut c = fresh();
    let e = verify_bundle(&mut c, &wrong, w.now).unwrap_err();
    assert!(
        matches!(
            &e,
            BundleError::InvalidProof {
                sequence: 2,
                height: Height(4),
                source: LeafProofError::FamilyMismatch {
                    block: FamilyKind::Corridor,
                    proof: FamilyKind::Evm,
                },
            }
        ),
        "{e:?}"
    );

    // Tagged on the wire: a round trip keeps each variant.
    let bytes = codec::encode("bundle", &bundle).unwrap();
    let back: ProofBundle<AnyFamily> = codec::decode("bundle", &bytes).unwrap();
    assert_eq!(back, bundle);
    let evm = evm_block(&w.blocks[0]);
    let back: AnyLightBlock =
        codec::decode("block", &codec::encode("block", &evm).unwrap()).unwrap();
    assert_eq!(back, evm);
}

#[test]
fn a_familys_data_goes_into_the_sum_and_back_and_no_other_comes_out() {
    use corridor_light_client::any::{bundle_from_any, bundle_into_any, receipt_into_any, Member};
    use corridor_light_client::cometbft::CometVerifier;
    use corridor_light_client::evm::EvmFamily;
    use corridor_light_client::receipt::{Receipt, ReceiptProof, ReceiptResult};

    let w = native();
    let bundle = ProofBundle::<NativeVerifier> {
        message: w.messages[1].clone(),
        proof: w.tree.prove(1).unwrap(),
        height: Height(4),
        light_blocks: w.blocks[1..4].to_vec(),
    };
    let any = bundle_into_any(bundle.clone());
    assert!(matches!(any.proof, AnyLeafProof::Corridor(_)));
    assert!(any
        .light_blocks
        .iter()
        .all(|b| b.family() == FamilyKind::Corridor));
    assert_eq!(bundle_from_any::<NativeVerifier>(any.clone()), Ok(bundle));
    // Out as another family: refused with the family the data is of.
    assert_eq!(
        bundle_from_any::<EvmFamily>(any.clone()).map(|_| ()),
        Err(FamilyKind::Corridor)
    );
    assert_eq!(
        bundle_from_any::<CometVerifier>(any.clone()).map(|_| ()),
        Err(FamilyKind::Corridor)
    );
    // A native proof with an evm block among the light blocks: refused at the block.
    let mut mixed = any;
    mixed.light_blocks[1] = evm_block(&w.blocks[2]);
    assert_eq!(
        bundle_from_any::<NativeVerifier>(mixed).map(|_| ()),
        Err(FamilyKind::Evm)
    );
    // Blocks and proofs one by one.
    let e = evm_block(&w.blocks[0]);
    let inner = EvmFamily::block_from_any(e.clone()).unwrap();
    assert_eq!(EvmFamily::block_into_any(inner), e);
    assert_eq!(
        NativeVerifier::block_from_any(e).map(|_| ()),
        Err(FamilyKind::Evm)
    );
    let p = evm_proof();
    assert_eq!(
        EvmFamily::proof_from_any(EvmFamily::proof_into_any(p.clone())),
        Ok(p.clone())
    );
    assert_eq!(
        NativeVerifier::proof_from_any(AnyLeafProof::from(p)).map(|_| ()),
        Err(FamilyKind::Evm)
    );
    let c = CometProof {
        layers: vec![vec![1]],
    };
    assert_eq!(
        CometVerifier::proof_from_any(CometVerifier::proof_into_any(c.clone())),
        Ok(c.clone())
    );
    assert_eq!(
        EvmFamily::proof_from_any(AnyLeafProof::from(c)).map(|_| ()),
        Err(FamilyKind::Cometbft)
    );
    assert!(matches!(
        NativeVerifier::batch_into_any(
            NativeVerifier
                .join_proofs(&[w.tree.prove(0).unwrap()])
                .unwrap()
        ),
        AnyBatchProof::Corridor(_)
    ));
    assert!(matches!(
        EvmFamily::batch_into_any(vec![evm_proof()]),
        AnyBatchProof::Evm(p) if p.len() == 1
    ));
    assert!(matches!(
        CometVerifier::batch_into_any(vec![]),
        AnyBatchProof::Cometbft(p) if p.is_empty()
    ));
    // A receipt's proof keeps its receipt and height.
    let receipt = ReceiptProof::<NativeVerifier> {
        height: Height(9),
        receipt: Receipt {
            source_chain: ChainId::new(CHAIN).unwrap(),
            destination_chain: ChainId::new("kz-astana").unwrap(),
            channel: 3,
            sequence: 2,
            message_commitment: w.messages[1].commitment().unwrap(),
            result: ReceiptResult::Delivered,
        },
        proof: w.tree.prove(2).unwrap(),
    };
    let any = receipt_into_any(receipt.clone());
    assert_eq!(any.height, Height(9));
    assert_eq!(any.receipt, receipt.receipt);
    assert_eq!(any.proof, AnyLeafProof::from(receipt.proof));
}

/// Two adjacent CometBFT blocks signed by all of four equal validators.
fn comet_pair() -> (
    corridor_light_client::cometbft::LightBlock,
    corridor_light_client::cometbft::LightBlock,
    Time,
) {
    use common::comet::{light_block, members, BlockSpec};
    let set = members(5, 4, |_| 10);
    let t0 = Time::from_unix_secs(1_700_000_000).unwrap();
    let t1 = Time::from_unix_secs(1_700_000_005).unwrap();
    let spec = |height, time| BlockSpec {
        chain_id: "cosmos-hub",
        height,
        time,
        validators: &set,
        next_validators: &set,
        signs: &|_| true,
    };
    let b1 = light_block(&spec(1, t0));
    let b2 = light_block(&spec(2, t1));
    (b1, b2, Time::from_unix_secs(1_700_000_060).unwrap())
}

/// Every family's blocks verify through the sum exactly as through the family, and a state
/// made from a previous one of the same family carries its prepared set.
#[test]
fn each_familys_blocks_verify_through_the_sum_as_alone() {
    use corridor_light_client::cometbft::CometVerifier;
    use corridor_light_client::evm::attest::attestation_digest;
    use corridor_light_client::evm::{Attestation, EvmFamily, EvmSeal};
    use corridor_light_client::signature::SigningKey;

    let options = Options::default();
    // CometBFT.
    let (b1, b2, now) = comet_pair();
    let own = CometVerifier.verify_update(&b2, &CometVerifier.trusted_state(&b1), &options, now);
    assert_eq!(own, Verdict::Success);
    let (a1, a2) = (AnyLightBlock::from(b1), AnyLightBlock::from(b2));
    let trusted = AnyFamily.trusted_state(&a1);
    assert_eq!(
        AnyFamily.verify_update(&a2, &trusted, &options, now),
        Verdict::Success
    );
    let AnyTrusted::Cometbft(after) = AnyFamily.trusted_state_after(&a2, &trusted) else {
        panic!("a cometbft state")
    };
    assert!(after.cache.prepared().is_some(), "the next set prepared");
    let AnyTrusted::Cometbft(fresh) = AnyFamily.trusted_state(&a2) else {
        panic!("a cometbft state")
    };
    assert!(fresh.cache.prepared().is_none());

    // Native: the same carry.
    let w = native();
    let trusted = AnyFamily.trusted_state(&any_of(&w, 0));
    let AnyTrusted::Corridor(after) = AnyFamily.trusted_state_after(&any_of(&w, 1), &trusted)
    else {
        panic!("a native state")
    };
    assert!(after.cache.prepared().is_some(), "the next set prepared");

    // EVM: an attested block after the root, attested by the quorum's one key.
    let root = testgen::evm_block(
        &ChainId::new(CHAIN).unwrap(),
        Height(1),
        Time::from_unix_secs(1_700_000_000).unwrap(),
    );
    let mut next = root.clone();
    next.header.number = 2;
    next.header.timestamp += 12;
    next.header.parent_hash = root.header.hash();
    let key = SigningKey::from_seed([7; 32]);
    let digest = attestation_digest(31_337, 2, &next.header.hash());
    let EvmSeal::Attested { attestations, .. } = &mut next.seal else {
        panic!("an attested block")
    };
    attestations.push(Attestation::Ed25519 {
        key: key.public_key(),
        signature: key.sign(&digest.0),
    });
    let now = Time::from_unix_secs(1_700_000_060).unwrap();
    let own = EvmFamily.verify_update(&next, &EvmFamily.trusted_state(&root), &options, now);
    assert_eq!(own, Verdict::Success);
    let trusted = AnyFamily.trusted_state(&AnyLightBlock::from(root));
    assert_eq!(
        AnyFamily.verify_update(&AnyLightBlock::from(next), &trusted, &options, now),
        Verdict::Success
    );
}

/// A proof of a block's own family gets the family's own verdict through the sum, not a
/// family mismatch: each family's refusal of a bad proof, by its reason.
#[test]
fn each_familys_proofs_get_the_familys_own_verdict_through_the_sum() {
    use corridor_light_client::cometbft::CometVerifier;
    use corridor_light_client::evm::EvmFamily;

    let (b1, _, _) = comet_pair();
    let comet = CometProof {
        layers: vec![vec![1]],
    };
    let leaf = b"leaf".to_vec();
    let key = b"outbox/key".to_vec();
    let own = CometVerifier.verify_leaf(&b1, CommitmentRoot::Messages, &key, &leaf, &comet);
    assert!(matches!(own, Err(LeafProofError::Layers { .. })), "{own:?}");
    let block = AnyLightBlock::from(b1.clone());
    assert_eq!(
        AnyFamily.verify_leaf(
            &block,
            CommitmentRoot::Messages,
            &key,
            &leaf,
            &AnyLeafProof::from(comet.clone())
        ),
        own
    );
    let leaves = vec![(key.clone(), leaf.clone())];
    let batch = AnyBatchProof::Cometbft(vec![comet.clone()]);
    assert_eq!(
        AnyFamily
            .verify_leaves(&block, CommitmentRoot::Messages, &leaves, &batch)
            .map(|_| ()),
        own
    );
    assert_eq!(
        AnyFamily.check_leaves(&block, CommitmentRoot::Messages, &leaves, &batch),
        own
    );

    let w = native();
    let evm = testgen::evm_block(
        &ChainId::new(CHAIN).unwrap(),
        Height(1),
        w.blocks[0].header().time,
    );
    let proof = evm_proof();
    let own = EvmFamily.verify_leaf(&evm, CommitmentRoot::Messages, &key, &leaf, &proof);
    assert!(matches!(own, Err(LeafProofError::Evm(_))), "{own:?}");
    let block = AnyLightBlock::from(evm);
    assert_eq!(
        AnyFamily.verify_leaf(
            &block,
            CommitmentRoot::Messages,
            &key,
            &leaf,
            &AnyLeafProof::from(proof.clone())
        ),
        own
    );
    let batch = AnyBatchProof::Evm(vec![proof]);
    assert_eq!(
        AnyFamily
            .verify_leaves(&block, CommitmentRoot::Messages, &leaves, &batch)
            .map(|_| ()),
        own
    );
    assert_eq!(
        AnyFamily.check_leaves(&block, CommitmentRoot::Messages, &leaves, &batch),
        own
    );
}

/// A client of the sum made from a root block is made for the block's family: it takes the
/// root, and refuses a block of any other family afterwards.
#[test]
fn a_client_made_from_a_root_block_is_of_the_blocks_family() {
    let w = native();
    let evm = evm_block(&w.blocks[0]);
    for (root, other, kind) in [
        (evm.clone(), any_of(&w, 1), FamilyKind::Evm),
        (any_of(&w, 0), evm_block(&w.blocks[1]), FamilyKind::Corridor),
    ] {
        // The root pins the block's terms where its family has any (an EVM block's
        // contracts and quorum), through the sum as alone.
        let pin = match &root {
            AnyLightBlock::Evm(b) => {
                let pin = EvmFamily.root_pin(b);
                assert!(pin.is_some());
                pin
            }
            _ => None,
        };
        assert_eq!(AnyFamily.root_pin(&root), pin);
        let mut client = LightClient::<AnyFamily>::trusting(root, Options::default()).unwrap();
        assert_eq!(client.root().pin, pin);
        assert_eq!(client.family(), kind);
        assert_eq!(client.trusted_len(), 1);
        let e = client.update(other, w.now).unwrap_err();
        assert!(
            matches!(e, ClientError::WrongFamily { expected, .. } if expected == kind),
            "{e}"
        );
    }
    // A root block that is not the configured root's is refused, whatever its family.
    let e =
        LightClient::<AnyFamily>::with_root_block(root_of(&w.blocks[0]), Options::default(), evm)
            .unwrap_err();
    assert!(matches!(e, ClientError::NotTheRoot { .. }), "{e}");
}
