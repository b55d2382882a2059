//! The devnet chain end to end, in-process on 127.0.0.1 port 0 with 50 ms blocks: blocks
//! across validator-set rotations, the outbox and its proofs, the transaction endpoint's
//! rejections, the inbox (exactly once, in order, verified), restart, and every fault mode.

mod common;

use std::collections::BTreeSet;

use common::*;
use corridor_adapters::bundle::build_bundle;
use corridor_adapters::devnet::{genesis_block, DevnetAdapter, DevnetChain, FaultState};
use corridor_adapters::types::NativeClient;
use corridor_adapters::{AdapterError, ChainAdapter, ProofBundle, ReceiptResult};
use corridor_light_client::bisection::{Bisection, Outcome};
use corridor_light_client::client::{ClientError, ConflictProof, UpdateOutcome};
use corridor_light_client::native::{NativeVerifier, TrustedState};
use corridor_light_client::testgen::{self, ChainSpec};
use corridor_light_client::verifier::VerificationError;
use corridor_light_client::{Height, Options};

fn adapter(chain: &str, url: &str) -> DevnetAdapter {
    DevnetAdapter::new(id(chain), url).unwrap()
}

fn problem(r: Result<impl std::fmt::Debug, AdapterError>) -> String {
    match r {
        Err(AdapterError::Rejected { problem, .. }) => problem,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_verify_with_the_light_client_across_rotations() {
    let dir = TempDir::new("rotation");
    let mut config = chain_config("rot-a", &dir);
    config.spec.rotate_every = 3;
    config.spec.rotate_count = 1;
    let spec = config.spec.clone();
    let chain = DevnetChain::start(config).await.unwrap();
    chain
        .wait_for(WAIT, |s| s.published_height >= Height(14))
        .await
        .unwrap();
    let a = adapter("rot-a", &chain.url());

    let root = a.light_block(Height(1)).await.unwrap();
    assert_eq!(
        root,
        genesis_block(&spec),
        "genesis follows from the config"
    );
    let mut client = NativeClient::trusting(root.clone(), Options::default()).unwrap();
    let mut sets = BTreeSet::new();
    for h in 2..=14 {
        let block = a.light_block(Height(h)).await.unwrap();
        sets.insert(block.validators.hash());
        assert_eq!(
            client.update(block, now()).unwrap(),
            UpdateOutcome::Trusted(Height(h)),
            "adjacent block {h}"
        );
    }
    assert!(sets.len() >= 5, "validator set rotated every 3 blocks");

    // Heights 13 and 14 are signed by keys 4..8, none of the genesis set 0..4: skipping there
    // lacks trust, and bisection finds the way.
    let target = a.light_block(Height(14)).await.unwrap();
    let mut fresh = NativeClient::trusting(root.clone(), Options::default()).unwrap();
    assert!(matches!(
        fresh.update(target.clone(), now()).unwrap(),
        UpdateOutcome::NotEnoughTrust(Height(14), _)
    ));
    let mut plan = Bisection::new(
        NativeVerifier,
        TrustedState::from_block(&root),
        Height(14),
        Options::default(),
    );
    while let Some(h) = plan.next_height() {
        let block = a.light_block(h).await.unwrap();
        plan.handle_light_block(&block, now()).unwrap();
    }
    assert!(matches!(plan.outcome(), Outcome::Done(s) if s.header == *target.header()));
    assert!(plan.steps() > 1);

    let status = a.status().await.unwrap();
    assert_eq!(status.family, "corridor");
    assert!(status.latest_height >= Height(14));
    assert!(matches!(
        a.light_block(Height(1_000_000)).await,
        Err(AdapterError::NotFound { .. })
    ));
    chain.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitted_message_is_committed_with_a_proof_that_verifies() {
    let dir = TempDir::new("outbox");
    let mut config = chain_config("out-a", &dir);
    let b = chain_config("out-b", &dir);
    peer(&mut config, &b);
    let trader = register_trader(&mut config, "exporter");
    let spec = config.spec.clone();
    let chain = DevnetChain::start(config).await.unwrap();
    let a = adapter("out-a", &chain.url());

    let m1 = message(&trader, "out-a", "out-b", 0, 1);
    let accepted = a.submit_message(&m1).await.unwrap();
    assert_eq!((accepted.sequence, accepted.duplicate), (1, false));
    assert_eq!(accepted.id, m1.id().unwrap());
    let again = a.submit_message(&m1).await.unwrap();
    assert_eq!((again.sequence, again.duplicate), (1, true), "idempotent");
    let m2 = message(&trader, "out-a", "out-b", 0, 2);
    assert_eq!(a.submit_message(&m2).await.unwrap().sequence, 2);
    let other_channel = message(&trader, "out-a", "out-b", 5, 3);
    assert_eq!(a.submit_message(&other_channel).await.unwrap().sequence, 1);

    let out = committed(&a, accepted.id).await;
    assert_eq!(out.message.sequence, 1);
    assert_eq!(out.message.message, m1);
    let block = a.light_block(out.height).await.unwrap();
    out.proof
        .verify(&out.message.leaf().unwrap(), &block.header().messages_root)
        .unwrap();
    // The header that carries the root verifies from the chain's genesis.
    let mut client = NativeClient::trusting(genesis_block(&spec), Options::default()).unwrap();
    assert!(matches!(
        client.update(block.clone(), now()).unwrap(),
        UpdateOutcome::Trusted(_)
    ));
    // A proof is bound to its message: another sequence does not verify.
    let mut altered = out.message.clone();
    altered.sequence = 9;
    assert!(out
        .proof
        .verify(&altered.leaf().unwrap(), &block.header().messages_root)
        .is_err());
    chain.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_endpoint_rejects_bad_messages_with_clear_problems() {
    let dir = TempDir::new("tx");
    let mut config = chain_config("tx-a", &dir);
    let b = chain_config("tx-b", &dir);
    peer(&mut config, &b);
    config.limits.max_payload = 1024;
    config.max_body_bytes = 8 * 1024;
    let trader = register_trader(&mut config, "exporter");
    let chain = DevnetChain::start(config).await.unwrap();
    let a = adapter("tx-a", &chain.url());

    let mut forged = message(&trader, "tx-a", "tx-b", 0, 1);
    forged.body.nonce = 2;
    assert_eq!(problem(a.submit_message(&forged).await), "bad-signature");

    let stranger = corridor_adapters::devnet::devnet_trader_key("stranger");
    let unknown = message(&stranger, "tx-a", "tx-b", 0, 1);
    assert_eq!(problem(a.submit_message(&unknown).await), "unknown-trader");

    let mut big = message(&trader, "tx-a", "tx-b", 0, 3).body;
    big.payload = corridor_light_client::envelope::payload_from_json(
        &serde_json::json!({ "note": "x".repeat(2000) }),
    )
    .unwrap();
    big.kind = corridor_light_client::envelope::DocumentKind::Generic;
    big.payload_hash = corridor_light_client::hash::sha3(&big.payload.0);
    let big = big.sign(&trader).unwrap();
    let err = a.submit_message(&big).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::Rejected { problem, status: 413, .. } if problem == "payload-too-large"),
        "{err}"
    );

    let wrong_chain = message(&trader, "tx-b", "tx-a", 0, 4);
    let err = a.submit_message(&wrong_chain).await.unwrap_err();
    assert_eq!(err.problem(), Some("wrong-chain"));
    assert!(err.to_string().contains("body.source_chain"), "{err}");

    let nowhere = message(&trader, "tx-a", "tx-z", 0, 5);
    assert_eq!(
        problem(a.submit_message(&nowhere).await),
        "unknown-destination"
    );

    // Malformed bodies, straight over HTTP: problem+json, naming what failed.
    let http = reqwest::Client::new();
    let url = format!("{}/tx", chain.url());
    for (body, status) in [
        ("{not json".to_owned(), 400),
        (r#"{"body": {"version": 1}}"#.to_owned(), 422),
        (format!("{{\"pad\": \"{}\"}}", "x".repeat(10_000)), 413),
    ] {
        let resp = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status);
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let p: serde_json::Value = resp.json().await.unwrap();
        assert!(p["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:corridor:problem:"));
        assert!(!p["detail"].as_str().unwrap().is_empty());
    }
    // Nothing of the above reached the outbox.
    assert_eq!(chain.status().pending_messages, 0);
    let good = message(&trader, "tx-a", "tx-b", 0, 6);
    assert_eq!(a.submit_message(&good).await.unwrap().sequence, 1);
    chain.shutdown().await.unwrap();
}

/// A copy of `bundle` whose last light block is re-signed by validators the receiver has
/// never heard of (consistently: hashes and signatures all fit together).
fn signed_by_strangers(bundle: &ProofBundle, spec: &ChainSpec) -> ProofBundle {
    let mut forged = bundle.clone();
    let block = forged.light_blocks.last_mut().unwrap();
    let strangers = ChainSpec {
        seed: "strangers".into(),
        ..spec.clone()
    };
    let h = block.height();
    let set = strangers.validator_set(h);
    block.validators = set.clone();
    block.next_validators = set.clone();
    block.signed_header.header.validators_hash = set.hash();
    block.signed_header.header.next_validators_hash = set.hash();
    block.signed_header.header.proposer = strangers.keys_at(h)[0].public_key();
    *block = testgen::resign(block.clone(), &strangers.keys_at(h));
    NativeVerifier.verify_self_consistent(block).unwrap();
    forged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_takes_a_valid_delivery_once_and_refuses_forgeries() {
    let dir = TempDir::new("inbox");
    let mut a_config = chain_config("in-a", &dir);
    let mut b_config = chain_config("in-b", &dir);
    let c_config = chain_config("in-c", &dir);
    peer(&mut a_config, &b_config);
    peer(&mut a_config, &c_config);
    peer(&mut b_config, &a_config);
    let trader = register_trader(&mut a_config, "exporter");
    let a_spec = a_config.spec.clone();
    let chain_a = DevnetChain::start(a_config).await.unwrap();
    let chain_b = DevnetChain::start(b_config).await.unwrap();
    let a = adapter("in-a", &chain_a.url());
    let b = adapter("in-b", &chain_b.url());

    let m1 = a
        .submit_message(&message(&trader, "in-a", "in-b", 0, 1))
        .await
        .unwrap();
    let m2 = a
        .submit_message(&message(&trader, "in-a", "in-b", 0, 2))
        .await
        .unwrap();
    let m3 = a
        .submit_message(&message(&trader, "in-a", "in-c", 0, 3))
        .await
        .unwrap();
    let (o1, o2, o3) = (
        committed(&a, m1.id).await,
        committed(&a, m2.id).await,
        committed(&a, m3.id).await,
    );
    let trusted = b.client_status(&id("in-a")).await.unwrap();
    assert!(!trusted.frozen);
    let opts = Options::default();
    let bundle = |o| build_bundle(&a, &trusted.latest, o, opts, now());
    let (b1, b2, b3) = (
        bundle(o1.clone()).await.unwrap(),
        bundle(o2).await.unwrap(),
        bundle(o3).await.unwrap(),
    );

    // A header signed by validators B does not know.
    let p = problem(b.submit_delivery(&signed_by_strangers(&b1, &a_spec)).await);
    assert!(
        p == "invalid-light-block" || p == "not-enough-trust",
        "unknown validators refused as {p}"
    );
    // A forged proof: the message's sequence changed, so its leaf is not under the root.
    let mut forged = b1.clone();
    forged.message.sequence = 2;
    assert_eq!(problem(b.submit_delivery(&forged).await), "invalid-proof");
    let mut forged = b1.clone();
    forged
        .proof
        .path
        .push(forged.proof.path.first().copied().unwrap_or_default());
    assert_eq!(problem(b.submit_delivery(&forged).await), "invalid-proof");
    // A message meant for another chain, with a valid proof.
    let err = b.submit_delivery(&b3).await.unwrap_err();
    assert_eq!(err.problem(), Some("wrong-chain"));
    assert!(err.to_string().contains("destination_chain"), "{err}");
    // Out of order: sequence 2 before 1.
    assert_eq!(problem(b.submit_delivery(&b2).await), "out-of-order");
    // The valid delivery, once.
    let before = chain_b.status().produced_height;
    let ack = b.submit_delivery(&b1).await.unwrap();
    assert_eq!((ack.sequence, ack.result), (1, ReceiptResult::Delivered));
    let err = b.submit_delivery(&b1).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::Rejected { problem, status: 409, .. } if problem == "duplicate"),
        "{err}"
    );
    assert_eq!(b.submit_delivery(&b2).await.unwrap().sequence, 2);
    assert!(!b.client_status(&id("in-a")).await.unwrap().frozen);

    // Both receipts are committed in B's blocks, with proofs against the receipts roots.
    let status = chain_b
        .wait_for(WAIT, |s| {
            s.pending_receipts == 0 && s.published_height > before
        })
        .await
        .unwrap();
    let receipts = b
        .receipts(before.increment().unwrap(), status.published_height)
        .await
        .unwrap();
    assert_eq!(receipts.len(), 2);
    for (r, seq) in receipts.iter().zip([1, 2]) {
        assert_eq!(r.receipt.sequence, seq);
        assert_eq!(r.receipt.result, ReceiptResult::Delivered);
        let header = b.light_block(r.height).await.unwrap();
        r.proof
            .verify(&r.receipt.leaf().unwrap(), &header.header().receipts_root)
            .unwrap();
    }
    assert_eq!(
        receipts[0].receipt.message_commitment,
        o1.message.commitment().unwrap()
    );
    chain_a.shutdown().await.unwrap();
    chain_b.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_chain_keeps_its_height_and_state() {
    let dir = TempDir::new("restart");
    let mut config = chain_config("re-a", &dir);
    let b = chain_config("re-b", &dir);
    peer(&mut config, &b);
    let trader = register_trader(&mut config, "exporter");
    let spec = config.spec.clone();

    let chain = DevnetChain::start(config.clone()).await.unwrap();
    let a = adapter("re-a", &chain.url());
    let m1 = message(&trader, "re-a", "re-b", 0, 1);
    let first = a.submit_message(&m1).await.unwrap();
    let out = committed(&a, first.id).await;
    let before = chain
        .wait_for(WAIT, |s| s.produced_height.0 >= out.height.0 + 2)
        .await
        .unwrap();
    chain.shutdown().await.unwrap();
    let stopped_at = before.produced_height.0.max(out.height.0 + 2);

    let chain = DevnetChain::start(config).await.unwrap();
    let status = chain.status();
    assert!(status.produced_height.0 >= stopped_at, "height kept");
    let a = adapter("re-a", &chain.url());
    let again = a.outbound_messages(out.height, out.height).await.unwrap();
    assert_eq!(again, vec![out.clone()], "outbox and proofs kept");
    let dup = a.submit_message(&m1).await.unwrap();
    assert_eq!((dup.sequence, dup.duplicate), (1, true), "message ids kept");
    let second = a
        .submit_message(&message(&trader, "re-a", "re-b", 0, 2))
        .await
        .unwrap();
    assert_eq!(second.sequence, 2, "sequences kept");
    committed(&a, second.id).await;
    // The chain goes on from where it stopped: every block verifies from genesis.
    let tip = a.status().await.unwrap().latest_height;
    let mut client = NativeClient::trusting(genesis_block(&spec), Options::default()).unwrap();
    for h in 2..=tip.0 {
        let block = a.light_block(Height(h)).await.unwrap();
        assert_eq!(
            client.update(block, now()).unwrap(),
            UpdateOutcome::Trusted(Height(h))
        );
    }
    chain.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_fault_signs_a_conflicting_block() {
    let dir = TempDir::new("fork");
    let mut config = chain_config("fk-a", &dir);
    config.faults.fork_at_height = Some(3);
    let spec = config.spec.clone();
    let chain = DevnetChain::start(config).await.unwrap();
    chain
        .wait_for(WAIT, |s| s.published_height >= Height(4))
        .await
        .unwrap();
    let a = adapter("fk-a", &chain.url());
    let canonical = a.light_block(Height(3)).await.unwrap();
    let conflicting = a.conflicting_block(Height(3)).await.unwrap();
    assert_ne!(canonical.header().hash(), conflicting.header().hash());
    let mut client = NativeClient::trusting(genesis_block(&spec), Options::default()).unwrap();
    client.update(canonical, now()).unwrap();
    let outcome = client.update(conflicting, now()).unwrap();
    let UpdateOutcome::Misbehaviour(evidence) = outcome else {
        panic!("expected misbehaviour, got {outcome:?}");
    };
    assert_eq!(evidence.double_signers.len(), 4);
    assert_eq!(evidence.proven_by, ConflictProof::DoubleSigning);
    let next = a.light_block(Height(4)).await.unwrap();
    assert!(matches!(
        client.update(next, now()),
        Err(ClientError::Frozen { .. })
    ));
    assert!(matches!(
        a.conflicting_block(Height(2)).await,
        Err(AdapterError::NotFound { .. })
    ));

    // Through the admin endpoint, at a height already produced.
    let status = a
        .set_faults(&FaultState {
            fork_at_height: Some(2),
            ..FaultState::default()
        })
        .await
        .unwrap();
    assert_eq!(status.faults.fork_at_height, Some(2));
    let canonical = a.light_block(Height(2)).await.unwrap();
    let conflicting = a.conflicting_block(Height(2)).await.unwrap();
    let mut client = NativeClient::trusting(genesis_block(&spec), Options::default()).unwrap();
    client.update(canonical, now()).unwrap();
    assert!(matches!(
        client.update(conflicting, now()).unwrap(),
        UpdateOutcome::Misbehaviour(_)
    ));
    chain.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signature_withhold_and_stall_faults_do_what_they_say() {
    let dir = TempDir::new("faults");
    let mut config = chain_config("ft-a", &dir);
    let b = chain_config("ft-b", &dir);
    peer(&mut config, &b);
    let trader = register_trader(&mut config, "exporter");
    let chain = DevnetChain::start(config).await.unwrap();
    let a = adapter("ft-a", &chain.url());
    chain
        .wait_for(WAIT, |s| s.published_height >= Height(2))
        .await
        .unwrap();

    // Bad signatures: blocks produced meanwhile carry a corrupted commit signature.
    let on = a
        .set_faults(&FaultState {
            bad_signatures: true,
            ..FaultState::default()
        })
        .await
        .unwrap();
    let bad_height = on.produced_height.increment().unwrap();
    chain
        .wait_for(WAIT, |s| s.published_height >= bad_height)
        .await
        .unwrap();
    let off = a.set_faults(&FaultState::default()).await.unwrap();
    let bad = a.light_block(bad_height).await.unwrap();
    assert!(matches!(
        NativeVerifier.verify_self_consistent(&bad),
        Err(VerificationError::InvalidSignature { .. })
    ));
    let good_height = off.produced_height.increment().unwrap();
    chain
        .wait_for(WAIT, |s| s.published_height >= good_height)
        .await
        .unwrap();
    let good = a.light_block(good_height).await.unwrap();
    NativeVerifier.verify_self_consistent(&good).unwrap();

    // Withhold: blocks are produced but not published, until released.
    let on = a
        .set_faults(&FaultState {
            withhold: true,
            ..FaultState::default()
        })
        .await
        .unwrap();
    let held = on.published_height;
    chain
        .wait_for(WAIT, |s| s.produced_height.0 >= held.0 + 3)
        .await
        .unwrap();
    assert_eq!(a.status().await.unwrap().latest_height, held);
    assert_eq!(a.latest_light_block().await.unwrap().height(), held);
    let hidden = held.increment().unwrap();
    assert!(matches!(
        a.light_block(hidden).await,
        Err(AdapterError::NotFound { .. })
    ));
    let released = a.set_faults(&FaultState::default()).await.unwrap();
    assert_eq!(released.published_height, released.produced_height);
    assert_eq!(a.light_block(hidden).await.unwrap().height(), hidden);

    // Stall: ticks go on, blocks do not; transactions wait.
    let on = a
        .set_faults(&FaultState {
            stall: true,
            ..FaultState::default()
        })
        .await
        .unwrap();
    let stalled = chain
        .wait_for(WAIT, |s| s.ticks >= on.ticks + 5)
        .await
        .unwrap();
    assert_eq!(stalled.produced_height, on.produced_height);
    let m = a
        .submit_message(&message(&trader, "ft-a", "ft-b", 0, 1))
        .await
        .unwrap();
    let waiting = chain
        .wait_for(WAIT, |s| s.ticks >= on.ticks + 8)
        .await
        .unwrap();
    assert_eq!(waiting.produced_height, on.produced_height);
    assert_eq!(waiting.pending_messages, 1);
    a.set_faults(&FaultState::default()).await.unwrap();
    let out = committed(&a, m.id).await;
    assert!(out.height > on.produced_height);

    // A fault setting that makes no sense is refused.
    let err = a
        .set_faults(&FaultState {
            fork_at_height: Some(1),
            ..FaultState::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.problem(), Some("bad-faults"));
    chain.shutdown().await.unwrap();
}
