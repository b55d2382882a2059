//! The devnet chain end to end, in-process on 127.0.0.1 port 0 with 50 ms blocks: blocks
//! across validator-set rotations, the outbox and its proofs, the transaction endpoint's
//! rejections, the inbox (exactly once, in order, verified), restart, and every fault mode.

mod common;

use std::collections::BTreeSet;

use common::*;
use corridor_adapters::bundle::{build_bundle, sync_client};
use corridor_adapters::devnet::{AdminToken, Cursor, DevnetAdapter, FaultState};
use corridor_adapters::types::NativeClient;
use corridor_adapters::{AdapterError, ChainAdapter, ProofBundle, ReceiptResult, RejectReason};
use corridor_devnet::{genesis_block, DevnetChain, DevnetHandle};
use corridor_light_client::any::bundle_into_any;
use corridor_light_client::bisection::{Bisection, Outcome};
use corridor_light_client::client::{ClientError, ConflictProof, UpdateOutcome};
use corridor_light_client::native::{NativeVerifier, TrustedState};
use corridor_light_client::testgen::{self, ChainSpec};
use corridor_light_client::verifier::VerificationError;
use corridor_light_client::{Height, Options};

fn adapter(chain: &str, url: &str) -> DevnetAdapter {
    DevnetAdapter::new(id(chain), url).unwrap()
}

/// A client of `handle`'s public and admin RPC.
fn admin_adapter(chain: &str, handle: &DevnetHandle, token: &AdminToken) -> DevnetAdapter {
    adapter(chain, &handle.url())
        .with_admin(&handle.admin_url().unwrap(), token)
        .unwrap()
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

    // sync_client gets there too, the client verifying each block it takes once: the
    // target (not enough trust), halfway, and on until the set's rotations are bridged.
    let mut synced = NativeClient::new(
        corridor_light_client::client::TrustRoot {
            chain_id: id("rot-a"),
            height: Height(1),
            header_hash: root.header().hash(),
            pin: None,
        },
        Options::default(),
    );
    let taken = sync_client(&a, &mut synced, Height(14), now())
        .await
        .unwrap();
    assert!(synced.trusted_at(Height(14)).is_some());
    assert_eq!(
        taken,
        synced.trusted_len(),
        "every block taken is kept: the root and the path to 14"
    );
    assert!(
        taken > 2 && taken < 14,
        "a skipping path, not every block ({taken})"
    );
    // Already there: nothing is fetched or taken.
    assert_eq!(
        sync_client(&a, &mut synced, Height(14), now())
            .await
            .unwrap(),
        0
    );

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

    let stranger = corridor_devnet::devnet_trader_key("stranger");
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
    let bundle = |o| build_bundle(&a, trusted.receiver_trust(), o, opts, now());
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
    // A sequence the lane does not expect yet is refused before any proof is looked at.
    let mut forged = b1.clone();
    forged.message.sequence = 2;
    assert_eq!(problem(b.submit_delivery(&forged).await), "out-of-order");
    // A forged proof: at the right sequence, another nonce, so the leaf is not under the
    // root.
    let mut forged = b1.clone();
    forged.message.message.body.nonce += 1;
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
    assert_eq!((ack.sequence, &ack.result), (1, &ReceiptResult::Delivered));
    // The same delivery again (a lost reply, a retry): the original acknowledgement.
    assert_eq!(b.submit_delivery(&b1).await.unwrap(), ack);
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
    let token = config.admin_token.clone().unwrap();
    let chain = DevnetChain::start(config).await.unwrap();
    chain
        .wait_for(WAIT, |s| s.published_height >= Height(4))
        .await
        .unwrap();
    let a = admin_adapter("fk-a", &chain, &token);
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
    let token = config.admin_token.clone().unwrap();
    let chain = DevnetChain::start(config).await.unwrap();
    let a = admin_adapter("ft-a", &chain, &token);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rpc_has_its_own_listener_a_token_and_a_host_check() {
    let dir = TempDir::new("admin");
    let config = chain_config("ad-a", &dir);
    let token = config.admin_token.clone().unwrap();
    let chain = DevnetChain::start(config).await.unwrap();
    let http = reqwest::Client::new();
    let problem_of = |body: serde_json::Value| {
        let kind = body["type"].as_str().unwrap().to_owned();
        (
            kind.trim_start_matches("urn:corridor:problem:").to_owned(),
            body["detail"].as_str().unwrap().to_owned(),
        )
    };

    // The public listener has no admin routes, with or without a token.
    for path in ["/admin/status", "/admin/faults"] {
        let resp = http
            .post(format!("{}{path}", chain.url()))
            .json(&FaultState {
                stall: true,
                ..FaultState::default()
            })
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path} on the public listener");
        let resp = http
            .get(format!("{}{path}", chain.url()))
            .bearer_auth(token.secret())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path} on the public listener");
    }
    assert!(!chain.status().faults.stall);

    // The admin listener: no token, a wrong token, then the right one.
    let admin = chain.admin_url().expect("an admin listener");
    assert_ne!(chain.admin_addr(), Some(chain.addr()));
    let resp = http
        .get(format!("{admin}/admin/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let (name, detail) = problem_of(resp.json().await.unwrap());
    assert_eq!(name, "unauthorized");
    assert!(detail.contains("no Authorization header"), "{detail}");
    let resp = http
        .post(format!("{admin}/admin/faults"))
        .bearer_auth("not-the-admin-token-at-all")
        .json(&FaultState::default())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let (name, detail) = problem_of(resp.json().await.unwrap());
    assert_eq!(name, "unauthorized");
    assert!(detail.contains("not this chain's admin token"), "{detail}");
    let resp = http
        .get(format!("{admin}/admin/status"))
        .bearer_auth(token.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // The adapter with the token works; with another token it is refused.
    let a = admin_adapter("ad-a", &chain, &token);
    assert_eq!(a.node_status().await.unwrap().chain_id, id("ad-a"));
    let stranger = AdminToken::new("0123456789abcdef0123456789abcdef").unwrap();
    let wrong = admin_adapter("ad-a", &chain, &stranger);
    assert_eq!(
        problem(wrong.set_faults(&FaultState::default()).await),
        "unauthorized"
    );
    assert!(matches!(
        adapter("ad-a", &chain.url()).node_status().await,
        Err(AdapterError::Unsupported { .. })
    ));

    // Both listeners refuse a Host that is not theirs (DNS rebinding), and take localhost.
    for url in [
        format!("{}/status", chain.url()),
        format!("{admin}/admin/status"),
    ] {
        let resp = http
            .get(&url)
            .header("host", "rebound.example:80")
            .bearer_auth(token.secret())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 421, "{url}");
        let (name, detail) = problem_of(resp.json().await.unwrap());
        assert_eq!(name, "bad-host", "{url}");
        assert!(detail.contains("rebound.example"), "{detail}");
        let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
        let resp = http
            .get(&url)
            .header("host", format!("localhost:{port}"))
            .bearer_auth(token.secret())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{url}");
    }
    chain.shutdown().await.unwrap();
}

/// A signed generic document from `from` to `to` whose payload is about `size` bytes.
fn large_message(
    key: &corridor_light_client::signature::SigningKey,
    from: &str,
    to: &str,
    nonce: u64,
    size: usize,
) -> corridor_light_client::envelope::SignedMessage {
    let mut body = message(key, from, to, 0, nonce).body;
    body.payload = corridor_light_client::envelope::payload_from_json(
        &serde_json::json!({ "note": "x".repeat(size) }),
    )
    .unwrap();
    body.kind = corridor_light_client::envelope::DocumentKind::Generic;
    body.payload_hash = corridor_light_client::hash::sha3(&body.payload.0);
    body.sign(key).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_larger_than_one_page_is_served_in_pages_with_a_cursor() {
    let dir = TempDir::new("pages");
    let mut config = chain_config("pg-a", &dir);
    let b = chain_config("pg-b", &dir);
    peer(&mut config, &b);
    let trader = register_trader(&mut config, "exporter");
    // Each message takes about 5 KiB of JSON: a page holds two of them.
    config.page_bytes = 12 * 1024;
    let token = config.admin_token.clone().unwrap();
    let chain = DevnetChain::start(config).await.unwrap();
    let a = admin_adapter("pg-a", &chain, &token);

    // Six messages in one block: stall, submit, release.
    a.set_faults(&FaultState {
        stall: true,
        ..FaultState::default()
    })
    .await
    .unwrap();
    let mut ids = Vec::new();
    for nonce in 1..=6 {
        let m = large_message(&trader, "pg-a", "pg-b", nonce, 2000);
        ids.push(a.submit_message(&m).await.unwrap().id);
    }
    a.set_faults(&FaultState::default()).await.unwrap();
    let height = committed(&a, ids[0]).await.height;
    let position = |m: &corridor_adapters::OutboundMessage| Cursor {
        height: m.height,
        index: m.proof.index,
    };

    let first = a
        .page("/outbox", Cursor { height, index: 0 }, height, position)
        .await
        .unwrap();
    assert!(
        !first.items.is_empty() && first.items.len() < 6,
        "{} items",
        first.items.len()
    );
    let index = u64::try_from(first.items.len()).unwrap();
    assert_eq!(first.next, Some(Cursor { height, index }));
    // The page's JSON stays within the budget (plus the page's own brackets).
    let body = reqwest::get(format!("{}/outbox?from={height}&to={height}", chain.url()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(body.len() <= 12 * 1024 + 1024, "{} bytes", body.len());

    // The adapter follows the cursors: all six, in order, each with a proof that verifies.
    let all = a.outbound_messages(height, height).await.unwrap();
    assert_eq!(all.len(), 6);
    let header = a.light_block(height).await.unwrap();
    for (i, m) in (0u64..).zip(&all) {
        assert_eq!(m.proof.index, i);
        assert_eq!(
            m.message.message.id().unwrap(),
            ids[usize::try_from(i).unwrap()]
        );
        m.proof
            .verify(&m.message.leaf().unwrap(), &header.header().messages_root)
            .unwrap();
    }
    chain.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proven_message_the_destination_refuses_consumes_its_sequence() {
    let dir = TempDir::new("rejected");
    let mut a_config = chain_config("rj-a", &dir);
    let mut b_config = chain_config("rj-b", &dir);
    peer(&mut a_config, &b_config);
    peer(&mut b_config, &a_config);
    // B's own rule: smaller payloads than A takes.
    b_config.limits.max_payload = 1024;
    let trader = register_trader(&mut a_config, "exporter");
    let chain_a = DevnetChain::start(a_config).await.unwrap();
    let chain_b = DevnetChain::start(b_config).await.unwrap();
    let a = adapter("rj-a", &chain_a.url());
    let b = adapter("rj-b", &chain_b.url());

    let big = large_message(&trader, "rj-a", "rj-b", 1, 2000);
    let m1 = a.submit_message(&big).await.unwrap();
    let m2 = a
        .submit_message(&message(&trader, "rj-a", "rj-b", 0, 2))
        .await
        .unwrap();
    assert_eq!((m1.sequence, m2.sequence), (1, 2));
    let (o1, o2) = (committed(&a, m1.id).await, committed(&a, m2.id).await);
    let trusted = b.client_status(&id("rj-a")).await.unwrap();
    let opts = Options::default();
    let b1 = build_bundle(&a, trusted.receiver_trust(), o1.clone(), opts, now())
        .await
        .unwrap();
    let b2 = build_bundle(&a, trusted.receiver_trust(), o2, opts, now())
        .await
        .unwrap();

    // Not proven: refused, and the sequence stays open.
    let mut unproven = b1.clone();
    unproven.message.message.body.nonce = 99;
    unproven.message.message = unproven.message.message.body.sign(&trader).unwrap();
    assert_eq!(problem(b.submit_delivery(&unproven).await), "invalid-proof");
    // Proven but over B's payload limit: consumed, with a receipt saying why.
    let before = chain_b.status().produced_height;
    let ack = b.submit_delivery(&b1).await.unwrap();
    let rejected = ReceiptResult::Rejected {
        reason: RejectReason::PayloadTooLarge {
            len: u64::try_from(o1.message.message.body.payload.0.len()).unwrap(),
            max: 1024,
        },
    };
    assert_eq!((ack.sequence, &ack.result), (1, &rejected));
    // The lane goes on.
    let ack2 = b.submit_delivery(&b2).await.unwrap();
    assert_eq!((ack2.sequence, ack2.result), (2, ReceiptResult::Delivered));

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
    let results: Vec<_> = receipts
        .iter()
        .map(|r| (r.receipt.sequence, r.receipt.result.clone()))
        .collect();
    assert_eq!(results, vec![(1, rejected), (2, ReceiptResult::Delivered)]);
    let header = b.light_block(receipts[0].height).await.unwrap();
    receipts[0]
        .proof
        .verify(
            &receipts[0].receipt.leaf().unwrap(),
            &header.header().receipts_root,
        )
        .unwrap();
    chain_a.shutdown().await.unwrap();
    chain_b.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_gets_the_original_ack_and_another_message_at_that_sequence_is_duplicate() {
    let dir = TempDir::new("idempotent");
    let mut a_config = chain_config("id-a", &dir);
    let mut b_config = chain_config("id-b", &dir);
    peer(&mut a_config, &b_config);
    peer(&mut b_config, &a_config);
    let trader = register_trader(&mut a_config, "exporter");
    let chain_b = DevnetChain::start(b_config).await.unwrap();
    let b = adapter("id-b", &chain_b.url());
    let opts = Options::default();

    let chain_a = DevnetChain::start(a_config.clone()).await.unwrap();
    let a = adapter("id-a", &chain_a.url());
    let m1 = a
        .submit_message(&message(&trader, "id-a", "id-b", 0, 1))
        .await
        .unwrap();
    let o1 = committed(&a, m1.id).await;
    let trusted = b.client_status(&id("id-a")).await.unwrap();
    let b1 = build_bundle(&a, trusted.receiver_trust(), o1.clone(), opts, now())
        .await
        .unwrap();
    let ack = b.submit_delivery(&b1).await.unwrap();
    assert_eq!(ack.result, ReceiptResult::Delivered);

    // A lost reply and a retry: 200 with the original acknowledgement, nothing delivered twice.
    let resp = reqwest::Client::new()
        .post(format!("{}/deliveries", chain_b.url()))
        .json(&bundle_into_any(b1.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.json::<corridor_adapters::DeliveryAck>().await.unwrap(),
        ack
    );
    assert_eq!(b.submit_delivery(&b1).await.unwrap(), ack);

    // The same chain signs another message at sequence 1 (a second history from the same
    // genesis, past every height B trusts): proven, but the sequence is taken.
    chain_a.shutdown().await.unwrap();
    let mut again = a_config;
    again.store_path = dir.path().join("id-a-again");
    let chain_a2 = DevnetChain::start(again).await.unwrap();
    let a2 = adapter("id-a", &chain_a2.url());
    let trusted = b.client_status(&id("id-a")).await.unwrap();
    chain_a2
        .wait_for(WAIT, |s| {
            s.published_height.0 > trusted.latest_height().unwrap().0 + 2
        })
        .await
        .unwrap();
    let other = a2
        .submit_message(&message(&trader, "id-a", "id-b", 0, 7))
        .await
        .unwrap();
    assert_eq!(other.sequence, 1);
    let o_other = committed(&a2, other.id).await;
    let b_other = build_bundle(&a2, trusted.receiver_trust(), o_other, opts, now())
        .await
        .unwrap();
    let err = b.submit_delivery(&b_other).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::Rejected { problem, status: 409, .. } if problem == "duplicate"),
        "{err}"
    );
    assert_eq!(b.submit_delivery(&b1).await.unwrap(), ack);
    assert!(!b.client_status(&id("id-a")).await.unwrap().frozen);
    chain_a2.shutdown().await.unwrap();
    chain_b.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_root_commits_one_leaf_per_lane_as_documented() {
    use corridor_light_client::merkle::MerkleTree;

    let dir = TempDir::new("lanes");
    let mut config = chain_config("ln-a", &dir);
    let b = chain_config("ln-b", &dir);
    peer(&mut config, &b);
    let trader = register_trader(&mut config, "exporter");
    let chain = DevnetChain::start(config).await.unwrap();
    let a = adapter("ln-a", &chain.url());
    let m1 = a
        .submit_message(&message(&trader, "ln-a", "ln-b", 7, 1))
        .await
        .unwrap();
    let m2 = a
        .submit_message(&message(&trader, "ln-a", "ln-b", 0x0102_0304, 2))
        .await
        .unwrap();
    let h = committed(&a, m1.id)
        .await
        .height
        .max(committed(&a, m2.id).await.height);
    let next = a.light_block(h.increment().unwrap());
    chain
        .wait_for(WAIT, |s| s.published_height > h)
        .await
        .unwrap();
    let header = next.await.unwrap();

    // Leaf = tag || 'o' || len || chain id || channel (u32 BE) || next sequence (u64 BE),
    // in key order; root = tagged(state tag, Merkle root).
    let leaf = |channel: u32, next: u64| {
        let mut l = b"corridor/devnet/lane/v1\0".to_vec();
        l.push(b'o');
        l.push(4);
        l.extend_from_slice(b"ln-b");
        l.extend_from_slice(&channel.to_be_bytes());
        l.extend_from_slice(&next.to_be_bytes());
        l
    };
    let tree = MerkleTree::from_leaves(&[leaf(7, 2), leaf(0x0102_0304, 2)]);
    let expected =
        corridor_light_client::hash::tagged(b"corridor/devnet/state/v2\0", tree.root().as_bytes());
    assert_eq!(header.header().state_root, expected);
    chain.shutdown().await.unwrap();
}

/// Two chains `{prefix}-a` and `{prefix}-b` that take each other's deliveries, and `n`
/// messages of lane 0 from a to b, committed, with their bundles for b's inbox as it
/// trusts a before any delivery.
struct Lane {
    chain_a: DevnetHandle,
    chain_b: DevnetHandle,
    a: DevnetAdapter,
    b: DevnetAdapter,
    spec: ChainSpec,
    outs: Vec<corridor_adapters::OutboundMessage>,
    bundles: Vec<ProofBundle>,
}

impl Lane {
    async fn start(
        dir: &TempDir,
        prefix: &str,
        n: u64,
        adjust_b: impl FnOnce(&mut corridor_devnet::DevnetConfig),
    ) -> Self {
        let (name_a, name_b) = (format!("{prefix}-a"), format!("{prefix}-b"));
        let mut a_config = chain_config(&name_a, dir);
        let mut b_config = chain_config(&name_b, dir);
        peer(&mut a_config, &b_config);
        peer(&mut b_config, &a_config);
        adjust_b(&mut b_config);
        let trader = register_trader(&mut a_config, "exporter");
        let spec = a_config.spec.clone();
        let chain_a = DevnetChain::start(a_config).await.unwrap();
        let chain_b = DevnetChain::start(b_config).await.unwrap();
        let a = adapter(&name_a, &chain_a.url());
        let b = adapter(&name_b, &chain_b.url());
        let mut outs = Vec::new();
        for nonce in 1..=n {
            let m = message(&trader, &name_a, &name_b, 0, nonce);
            let accepted = a.submit_message(&m).await.unwrap();
            outs.push(committed(&a, accepted.id).await);
        }
        let trusted = b.client_status(&id(&name_a)).await.unwrap();
        let mut bundles = Vec::new();
        for o in &outs {
            let bundle = build_bundle(
                &a,
                trusted.receiver_trust(),
                o.clone(),
                Options::default(),
                now(),
            );
            bundles.push(bundle.await.unwrap());
        }
        Self {
            chain_a,
            chain_b,
            a,
            b,
            spec,
            outs,
            bundles,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_deliveries_is_taken_in_order_up_to_its_first_refusal() {
    let dir = TempDir::new("batch");
    let lane = Lane::start(&dir, "ba", 3, |_| {}).await;
    let (chain_a, chain_b, b) = (lane.chain_a, lane.chain_b, lane.b);
    let bundles = lane.bundles;
    let (b1, b2, b3) = (bundles[0].clone(), bundles[1].clone(), bundles[2].clone());

    // The batch's shape is checked before anything else.
    let refused =
        |r: Result<_, AdapterError>| problem(r.map(|_: corridor_adapters::DeliveryBatchAck| ()));
    assert_eq!(
        refused(b.submit_deliveries(&[b1.clone(), b3.clone()]).await),
        "bad-batch"
    );
    let mut other_lane = b2.clone();
    other_lane.message.message.body.channel = 7;
    assert_eq!(
        refused(b.submit_deliveries(&[b1.clone(), other_lane]).await),
        "bad-batch"
    );
    let err = b
        .submit_deliveries(&[b2.clone(), b3.clone()])
        .await
        .unwrap_err();
    assert_eq!(err.problem(), Some("out-of-order"), "{err}");

    // A forged proof in the middle: the first is taken, the forgery refused, the third
    // not looked at.
    let mut forged = b2.clone();
    forged
        .proof
        .path
        .push(forged.proof.path.first().copied().unwrap_or_default());
    let before = chain_b.status().produced_height;
    let answer = b
        .submit_deliveries(&[b1.clone(), forged, b3.clone()])
        .await
        .unwrap();
    assert_eq!(answer.acks.len(), 1);
    assert_eq!(
        (answer.acks[0].sequence, &answer.acks[0].result),
        (1, &ReceiptResult::Delivered)
    );
    assert_eq!(
        answer.refused.as_ref().and_then(|e| e.problem()),
        Some("invalid-proof")
    );

    // The whole lane again: 1 is a repeat (its original acknowledgement), 2 and 3 are new.
    let answer = b.submit_deliveries(&[b1, b2, b3]).await.unwrap();
    assert!(answer.refused.is_none(), "{:?}", answer.refused);
    let sequences: Vec<u64> = answer.acks.iter().map(|a| a.sequence).collect();
    assert_eq!(sequences, [1, 2, 3]);
    assert!(answer
        .acks
        .iter()
        .all(|a| a.result == ReceiptResult::Delivered));

    // Three receipts, exactly, committed and proven.
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
    let got: Vec<u64> = receipts.iter().map(|r| r.receipt.sequence).collect();
    assert_eq!(got, [1, 2, 3]);
    chain_a.shutdown().await.unwrap();
    chain_b.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_light_blocks_spend_their_senders_budget_and_then_are_refused_unverified() {
    let dir = TempDir::new("budget");
    // The smallest budget a config may set: one delivery's most light blocks at once, one
    // more per second.
    let lane = Lane::start(&dir, "bu", 2, |b| {
        b.verify_burst = 64;
        b.verify_per_second = 1;
    })
    .await;
    let (chain_a, chain_b, a, b, a_spec) = (lane.chain_a, lane.chain_b, lane.a, lane.b, lane.spec);
    let b1 = lane.bundles[0].clone();
    let o2 = lane.outs[1].clone();
    assert_eq!(b.submit_delivery(&b1).await.unwrap().sequence, 1);

    // Forgeries, each with one light block nobody trusts: verified (and refused for their
    // signatures) until the budget is spent, then refused before any signature is looked at.
    let forged = signed_by_strangers(&b1, &a_spec);
    let mut forged = forged;
    forged.message = b1.message.clone();
    forged.message.sequence = 2;
    let mut verified = 0;
    let mut limited = None;
    for _ in 0..200 {
        match b.submit_delivery(&forged).await {
            Err(AdapterError::Rejected {
                problem,
                detail,
                status,
                ..
            }) if problem == "rate-limited" => {
                limited = Some((status, detail));
                break;
            }
            other => {
                let p = problem(other);
                assert!(
                    p == "invalid-light-block" || p == "not-enough-trust",
                    "a forged light block is refused for its signatures, got {p}"
                );
                verified += 1;
            }
        }
    }
    let (status, detail) = limited.expect("the budget runs out");
    assert_eq!(status, 429);
    assert!(detail.contains("1 light blocks"), "{detail}");
    // The honest delivery spent its light blocks of the burst; the rest went to forgeries.
    assert!(
        verified + b1.light_blocks.len() >= 64,
        "the burst is verified first ({verified} forgeries after {} honest blocks)",
        b1.light_blocks.len()
    );

    // The answer says when to come back.
    let raw = reqwest::Client::new()
        .post(format!("{}/deliveries", chain_b.url()))
        .json(&bundle_into_any(forged.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 429);
    let retry: u64 = raw.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");

    // The budget is the sender's: the honest relay at another address is served.
    let trusted = b.client_status(&id("bu-a")).await.unwrap();
    let b2 = build_bundle(&a, trusted.receiver_trust(), o2, Options::default(), now())
        .await
        .unwrap();
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let taken = other
        .post(format!("{}/deliveries", chain_b.url()))
        .json(&bundle_into_any(b2.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), 202, "{:?}", taken.text().await);
    assert!(!b.client_status(&id("bu-a")).await.unwrap().frozen);
    chain_a.shutdown().await.unwrap();
    chain_b.shutdown().await.unwrap();
}
