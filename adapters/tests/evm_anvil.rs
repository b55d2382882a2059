//! The EVM adapter against a live local chain (anvil, from the npm package
//! `@foundry-rs/anvil`) with corridor's contracts compiled from source by solcjs (npm
//! package `solc`): messages published on the outbox are fetched with receipt proofs and
//! verified by the light client (`verify_bundle`, headers attested by k-of-n operator keys:
//! the WEAKER trust model, as anvil has no seal); deliveries with valid attestations land in
//! the inbox and their receipt logs are proven; a replay, too few attestations and a
//! stranger's attestation are refused by the contract with their reasons; an endpoint that
//! lies about a block's receipts is refused naming the block.
//!
//! `scripts/test.sh` installs both tools (`ensure_npm_tools` in `scripts/env.sh`) and sets
//! `CORRIDOR_ANVIL` and `CORRIDOR_SOLCJS`; without them the test looks in
//! `~/.cache/corridor-npm`. When a tool is missing it says so and skips, unless `CI=true`,
//! where it fails.

use std::sync::Arc;

use corridor_adapters::any::AnyAdapter;
use corridor_adapters::devnet::Cursor;
use corridor_adapters::evm::devchain::{compile, deploy, Anvil, Tools, DEV_KEY};
use corridor_adapters::evm::{
    delivery_digest, tx::address_of, tx::call_data, EvmAdapter, EvmHome, EvmOutbound, Sender,
};
use corridor_adapters::{AdapterError, ChainAdapter};
use corridor_light_client::any::{AnyFamily, AnyLeafProof, AnyLightBlock};
use corridor_light_client::bundle::{message_key, verify_bundle, BundleError, ProofBundle};
use corridor_light_client::client::LightClient;
use corridor_light_client::envelope::{DocumentKind, TradeMessage};
use corridor_light_client::evm::attest::attestation_digest;
use corridor_light_client::evm::family::verify_corridor_log;
use corridor_light_client::evm::{
    Address, Attestation, AttestorKey, CorridorContracts, EvmBlock, EvmFamily, EvmLeafError,
    EvmSeal, ProofLimits, ReceiptError, WeakTrustAttestationQuorum,
};
use corridor_light_client::family::CommitmentRoot;
use corridor_light_client::family::FamilyKind;
use corridor_light_client::receipt::verify_receipt;
use corridor_light_client::testkit;
use corridor_light_client::{ChainId, Height, Options};
use k256::ecdsa::SigningKey;
use serde_json::{json, Value as Json};

const EVM_CHAIN: &str = "evm-anvil";
const SOURCE_CHAIN: &str = "cn-shanghai-trade";
const EVM_CHAIN_ID: u64 = 31337;

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The dev chain's tools; `None` (after saying so) when absent and not under CI.
fn tools() -> Option<Tools> {
    match Tools::find() {
        Ok(tools) => Some(tools),
        Err(path) => {
            assert!(
                !ci(),
                "{} is missing and CI=true (scripts/env.sh ensure_npm_tools)",
                path.display()
            );
            eprintln!(
                "evm_anvil: skipped, {} is missing (run scripts/test.sh, or source scripts/env.sh and ensure_npm_tools)",
                path.display()
            );
            None
        }
    }
}

/// Anvil with its genesis an hour ago.
fn start_anvil(tools: &Tools) -> Anvil {
    let genesis = testkit::now().unix_nanos() / 1_000_000_000 - 3600;
    Anvil::start(&tools.anvil, EVM_CHAIN_ID, genesis).unwrap()
}

fn message(
    source: &str,
    destination: &str,
    channel: u32,
    sequence: u64,
    nonce: u64,
) -> TradeMessage {
    let deadline = corridor_light_client::envelope::Deadline::Height(Height(1000));
    message_until(source, destination, channel, sequence, nonce, deadline)
}

fn message_until(
    source: &str,
    destination: &str,
    channel: u32,
    sequence: u64,
    nonce: u64,
    deadline: corridor_light_client::envelope::Deadline,
) -> TradeMessage {
    use corridor_light_client::documents::examples::example;
    use corridor_light_client::envelope::{payload_from_json, MessageBody, VERSION};
    use corridor_light_client::hash;
    use corridor_light_client::signature::SigningKey as EdKey;
    let key = EdKey::from_seed([7; 32]);
    let kind = DocumentKind::BillOfLading;
    let payload = payload_from_json(&example(kind)).unwrap();
    let body = MessageBody {
        version: VERSION,
        source_chain: ChainId::new(source).unwrap(),
        destination_chain: ChainId::new(destination).unwrap(),
        channel,
        nonce,
        sender: key.public_key(),
        receiver: EdKey::from_seed([8; 32]).public_key(),
        kind,
        payload_hash: hash::sha3(&payload.0),
        payload,
        deadline,
    };
    TradeMessage {
        sequence,
        message: body.sign(&key).unwrap(),
    }
}

/// The relays' keys (also the header attestors): three, ordered by address.
fn relay_keys() -> Vec<SigningKey> {
    let mut keys: Vec<SigningKey> = (1u8..=3)
        .map(|i| SigningKey::from_slice(&[i; 32]).unwrap())
        .collect();
    keys.sort_by_key(address_of);
    keys
}

fn attest(block: &EvmBlock, keys: &[SigningKey]) -> EvmBlock {
    let digest = attestation_digest(EVM_CHAIN_ID, block.header.number, &block.header.hash());
    let mut block = block.clone();
    if let EvmSeal::Attested { attestations, .. } = &mut block.seal {
        *attestations = keys
            .iter()
            .map(|k| Attestation::Secp256k1(corridor_adapters::evm::sign_digest(k, &digest)))
            .collect();
    }
    block
}

fn signatures(adapter: &EvmAdapter, m: &TradeMessage, keys: &[SigningKey]) -> Vec<[u8; 65]> {
    let receipt = adapter.delivered_receipt(m).unwrap();
    let digest = delivery_digest(EVM_CHAIN_ID, &adapter.contracts().inbox, &receipt).unwrap();
    let mut signed: Vec<(Address, [u8; 65])> = keys
        .iter()
        .map(|k| {
            (
                address_of(k),
                corridor_adapters::evm::sign_digest(k, &digest),
            )
        })
        .collect();
    signed.sort_by_key(|(a, _)| *a);
    signed.into_iter().map(|(_, s)| s).collect()
}

/// The one message the sum adapter finds at `height`.
async fn page_message(
    any: &AnyAdapter<EvmAdapter>,
    height: Height,
) -> corridor_adapters::OutboundMessage<AnyLeafProof> {
    let mut items = any.outbound_messages(height, height).await.unwrap();
    assert_eq!(items.len(), 1);
    items.remove(0)
}

fn problem(e: &AdapterError) -> &str {
    e.problem()
        .unwrap_or_else(|| panic!("not a rejection: {e}"))
}

/// A proxy in front of anvil that changes the first receipt's cumulative gas in every
/// `eth_getBlockReceipts` answer: a lying endpoint.
async fn lying_proxy(upstream: String) -> String {
    use axum::routing::post;
    let client = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/",
        post(move |axum::Json(body): axum::Json<Json>| {
            let client = client.clone();
            let upstream = upstream.clone();
            async move {
                let mut answer: Json = client
                    .post(&upstream)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if body["method"] == "eth_getBlockReceipts" {
                    if let Some(r) = answer["result"].get_mut(0) {
                        r["cumulativeGasUsed"] = json!("0x1");
                    }
                }
                axum::Json(answer)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn anvil_messages_are_proven_and_deliveries_land_once() {
    let Some(tools) = tools() else {
        return;
    };
    let code = compile(&tools.solcjs).unwrap();
    let anvil = start_anvil(&tools);

    let relays = relay_keys();
    let relay_addresses: Vec<Address> = relays.iter().map(address_of).collect();
    let quorum = WeakTrustAttestationQuorum::new(
        EVM_CHAIN_ID,
        &relay_addresses
            .iter()
            .map(|a| AttestorKey::Secp256k1(*a))
            .collect::<Vec<_>>(),
        2,
    )
    .unwrap();
    let sender = Sender::new(
        SigningKey::from_slice(&hex::decode(DEV_KEY).unwrap()).unwrap(),
        EVM_CHAIN_ID,
    );
    let chain = ChainId::new(EVM_CHAIN).unwrap();
    let placeholder = CorridorContracts {
        outbox: Address::ZERO,
        inbox: Address::ZERO,
    };
    let adapter = EvmAdapter::new(chain.clone(), &anvil.url, placeholder, quorum.clone())
        .unwrap()
        .with_sender(sender.clone());

    // Deploy: the outbox publishes for the development account; the inbox takes 2 of 3.
    let contracts = deploy(&adapter, &code, sender.address(), &relay_addresses, 2)
        .await
        .unwrap();
    let outbox = contracts.outbox;
    let adapter = adapter.with_contracts(contracts);
    adapter
        .request("anvil_setBlockTimestampInterval", json!([1]))
        .await
        .unwrap();

    // The relay's light client of the EVM chain, rooted at the current head (from config).
    let root_height = adapter.block_number().await.unwrap();
    let root = adapter.light_block(root_height).await.unwrap();
    let mut client = LightClient::<EvmFamily>::trusting(root, Options::default()).unwrap();

    // Three messages in one block (automine off, then one block), so the receipts trie
    // has a branch; then one more alone.
    let messages: Vec<TradeMessage> = (1..=4)
        .map(|s| message(EVM_CHAIN, SOURCE_CHAIN, 5, s, s))
        .collect();
    adapter
        .request("evm_setAutomine", json!([false]))
        .await
        .unwrap();
    for m in &messages[..3] {
        adapter.send_publish(m).await.unwrap();
    }
    adapter.request("evm_mine", json!([])).await.unwrap();
    adapter
        .request("evm_setAutomine", json!([true]))
        .await
        .unwrap();
    let alone = adapter.publish(&messages[3]).await.unwrap();
    // A repeated key is refused by the outbox.
    let again = adapter.publish(&messages[3]).await.unwrap_err();
    assert_eq!(problem(&again), "reverted");
    assert!(again.to_string().contains("key-used"), "{again}");

    let head = adapter.block_number().await.unwrap();
    let found: Vec<EvmOutbound> = adapter.outbound(Height(1), head).await.unwrap();
    assert_eq!(found.len(), 4);
    let got: Vec<&TradeMessage> = found.iter().map(|o| &o.message).collect();
    assert_eq!(got, messages.iter().collect::<Vec<_>>());
    assert_eq!(found[0].height, found[2].height);
    assert_eq!(found[3].height, alone.height);
    assert_eq!(
        found[..3]
            .iter()
            .map(|o| o.proof.receipt.index)
            .collect::<Vec<_>>(),
        vec![0, 1, 2]
    );

    // Each bundle verifies with the headers attested by 2 of the 3 relays.
    for o in &found {
        let block = attest(&adapter.light_block(o.height).await.unwrap(), &relays[..2]);
        let bundle = o.clone().into_bundle(vec![block]);
        let now = testkit::now();
        match verify_bundle(&mut client, &bundle, now) {
            Ok(v) => assert_eq!(v.message, o.message),
            // A later message of an already trusted block carries no light block again.
            Err(e) => panic!("message {}: {e}", o.message.sequence),
        }
    }
    assert!(client.latest_height() >= found[3].height);

    // One flipped byte is refused with its reason: in a proof node, in the log (its
    // index), in the header's receipts root.
    let o = &found[1];
    let header = adapter.header(o.height).await.unwrap();
    let key = message_key(&o.message);
    let leaf = o.message.leaf().unwrap();
    let check = |header: &corridor_light_client::evm::Header,
                 proof: &corridor_light_client::evm::EvmLogProof| {
        verify_corridor_log(
            header,
            outbox,
            CommitmentRoot::Messages,
            &key,
            &leaf,
            proof,
            &ProofLimits::default(),
        )
    };
    check(&header, &o.proof).unwrap();
    let nodes = o.proof.receipt.nodes.len();
    for n in 0..nodes {
        let mut bad = o.proof.clone();
        let node = &mut bad.receipt.nodes[n];
        let at = node.len() / 2;
        node[at] ^= 1;
        let e = check(&header, &bad).unwrap_err();
        assert!(
            matches!(
                e,
                EvmLeafError::Receipt(ReceiptError::Proof { index: 1, .. })
            ),
            "node {n}: {e}"
        );
    }
    let mut bad = o.proof.clone();
    bad.log_index = 1;
    assert!(matches!(
        check(&header, &bad).unwrap_err(),
        EvmLeafError::Receipt(ReceiptError::NoSuchLog {
            index: 1,
            log_index: 1,
            count: 1
        })
    ));
    let mut other_leaf = leaf.clone();
    let last = other_leaf.len() - 1;
    other_leaf[last] ^= 1;
    assert!(matches!(
        verify_corridor_log(
            &header,
            outbox,
            CommitmentRoot::Messages,
            &key,
            &other_leaf,
            &o.proof,
            &ProofLimits::default()
        )
        .unwrap_err(),
        EvmLeafError::LeafMismatch { .. }
    ));
    let mut lying = header.clone();
    lying.receipts_root.0[0] ^= 1;
    assert!(matches!(
        check(&lying, &o.proof).unwrap_err(),
        EvmLeafError::Receipt(ReceiptError::Proof { index: 1, .. })
    ));
    // Through verify_bundle, on a fresh client: a flipped proof byte is an invalid proof.
    let mut fresh = LightClient::<EvmFamily>::trusting(
        adapter.light_block(root_height).await.unwrap(),
        Options::default(),
    )
    .unwrap();
    let mut bad = o.clone();
    bad.proof.receipt.nodes[0][40] ^= 1;
    let block = attest(&adapter.light_block(o.height).await.unwrap(), &relays[1..]);
    let e = verify_bundle(&mut fresh, &bad.into_bundle(vec![block]), testkit::now()).unwrap_err();
    assert!(matches!(e, BundleError::InvalidProof { .. }), "{e}");
    // The header's attestations were good, so the fresh client kept the block although
    // the proof failed. On another fresh client: one relay's attestation is not enough.
    let mut fresh = LightClient::<EvmFamily>::trusting(
        adapter.light_block(root_height).await.unwrap(),
        Options::default(),
    )
    .unwrap();
    let block = attest(&adapter.light_block(o.height).await.unwrap(), &relays[..1]);
    let e = verify_bundle(
        &mut fresh,
        &o.clone().into_bundle(vec![block]),
        testkit::now(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("1 valid attestations, 2 required"),
        "{e}"
    );

    // A lying endpoint: the receipts do not rebuild the header's receipts root.
    let liar = EvmAdapter::new(
        chain.clone(),
        &lying_proxy(anvil.url.clone()).await,
        contracts,
        quorum.clone(),
    )
    .unwrap();
    let e = liar.outbound(o.height, o.height).await.unwrap_err();
    match &e {
        AdapterError::InvalidResponse { reason, .. } => assert!(
            reason.starts_with(&format!("block {}: the receipts rebuild root", o.height)),
            "{reason}"
        ),
        e => panic!("not an invalid response: {e}"),
    }

    // Deliveries into the inbox: messages from the source chain to this chain.
    let inbound: Vec<TradeMessage> = (1..=3)
        .map(|s| message(SOURCE_CHAIN, EVM_CHAIN, 9, s, 100 + s))
        .collect();
    let delivered = adapter
        .deliver(
            &inbound[0],
            &signatures(&adapter, &inbound[0], &relays[..2]),
        )
        .await
        .unwrap();
    assert_eq!(delivered.ack.sequence, 1);
    // The replay of the same delivery is refused, by the contract's simulation.
    let e = adapter
        .deliver(
            &inbound[0],
            &signatures(&adapter, &inbound[0], &relays[1..]),
        )
        .await
        .unwrap_err();
    assert_eq!(problem(&e), "duplicate", "{e}");
    // Too few attestations.
    let e = adapter
        .deliver(
            &inbound[1],
            &signatures(&adapter, &inbound[1], &relays[..1]),
        )
        .await
        .unwrap_err();
    assert_eq!(problem(&e), "below-threshold", "{e}");
    // A stranger's attestation beside a relay's.
    let stranger = SigningKey::from_slice(&[9; 32]).unwrap();
    let e = adapter
        .deliver(
            &inbound[1],
            &signatures(&adapter, &inbound[1], &[relays[0].clone(), stranger]),
        )
        .await
        .unwrap_err();
    assert_eq!(problem(&e), "unknown-signer", "{e}");
    // The same relay twice.
    let e = adapter
        .deliver(
            &inbound[1],
            &signatures(
                &adapter,
                &inbound[1],
                &[relays[0].clone(), relays[0].clone()],
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(problem(&e), "signers-not-ascending", "{e}");
    // Signatures over another message's digest.
    let e = adapter
        .deliver(&inbound[1], &signatures(&adapter, &inbound[2], &relays))
        .await
        .unwrap_err();
    assert_eq!(problem(&e), "unknown-signer", "{e}");
    let second = adapter
        .deliver(&inbound[1], &signatures(&adapter, &inbound[1], &relays))
        .await
        .unwrap();

    // The receipts are proven from the inbox's logs.
    let receipts = adapter
        .inbox_receipts(delivered.tx.height, second.tx.height)
        .await
        .unwrap();
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts[0].receipt, delivered.receipt);
    assert_eq!(receipts[1].receipt, second.receipt);
    for r in &receipts {
        let block = attest(&adapter.light_block(r.height).await.unwrap(), &relays[1..]);
        client.update(block, testkit::now()).unwrap();
        assert_eq!(verify_receipt(&client, r).unwrap(), &r.receipt);
    }
    let mut bad = receipts[1].clone();
    bad.proof.receipt.nodes.last_mut().unwrap()[50] ^= 1;
    assert!(verify_receipt(&client, &bad).is_err());

    // Through the trait, as a relay that follows chains of every family sees the chain: the
    // same messages and receipts, each proof tagged EVM. A page from the second message of
    // the block that holds three starts at that message.
    let any = AnyAdapter(Arc::new(adapter.clone()));
    let page = any
        .outbound_page(
            Cursor {
                height: found[0].height,
                index: 1,
            },
            head,
        )
        .await
        .unwrap();
    assert_eq!(page.next, None);
    assert_eq!(page.items.len(), 3);
    for (got, want) in page.items.iter().zip(&found[1..]) {
        assert_eq!((got.height, &got.message), (want.height, &want.message));
        assert_eq!(got.proof, AnyLeafProof::Evm(Box::new(want.proof.clone())));
    }
    let page = any
        .receipts_page(
            Cursor {
                height: receipts[1].height,
                index: 0,
            },
            second.tx.height,
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].receipt, second.receipt);
    assert_eq!(page.items[0].proof.family(), FamilyKind::Evm);
    // A message from the sum verifies on a client of the sum made for an EVM chain.
    let mut sum = LightClient::<AnyFamily>::trusting(
        AnyLightBlock::from(adapter.light_block(root_height).await.unwrap()),
        Options::default(),
    )
    .unwrap();
    let o = &page_message(&any, found[3].height).await;
    let block = attest(&adapter.light_block(o.height).await.unwrap(), &relays[..2]);
    let bundle = o.clone().into_bundle(vec![AnyLightBlock::from(block)]);
    assert_eq!(
        verify_bundle(&mut sum, &bundle, testkit::now())
            .unwrap()
            .message,
        found[3].message
    );
    // The inbox takes attestations, not bundles: the trait's delivery points to `deliver`.
    let e = adapter
        .submit_delivery(&found[3].clone().into_bundle(vec![]))
        .await
        .unwrap_err();
    assert!(matches!(e, AdapterError::Unsupported { .. }), "{e}");
    let _ = call_data; // re-exported for callers building their own calls
}

/// A relay's home EVM chain: every light block it reads carries the relay's ed25519
/// attestation, which a partner's client (with the relay's key as the chain's quorum)
/// verifies; the relay delivers messages to the inbox with its own secp256k1 attestation,
/// a replay is an acknowledgement, and a quorum the relay cannot meet alone is refused by
/// name.
#[tokio::test]
async fn a_home_chain_is_attested_and_delivered_to_by_its_relay() {
    use corridor_light_client::any::bundle_into_any;
    use corridor_light_client::receipt::ReceiptResult;
    use corridor_light_client::signature::SigningKey as EdKey;

    let Some(tools) = tools() else {
        return;
    };
    let code = compile(&tools.solcjs).unwrap();
    let anvil = start_anvil(&tools);
    let chain = ChainId::new(EVM_CHAIN).unwrap();
    // The relay: an ed25519 identity (the header attestor) and the development account
    // (the inbox's one relay key, paying for its transactions).
    let relay = EdKey::from_seed([21; 32]);
    let quorum = WeakTrustAttestationQuorum::new(
        EVM_CHAIN_ID,
        &[AttestorKey::Ed25519(relay.public_key())],
        1,
    )
    .unwrap();
    let sender = Sender::new(
        SigningKey::from_slice(&hex::decode(DEV_KEY).unwrap()).unwrap(),
        EVM_CHAIN_ID,
    );
    let placeholder = CorridorContracts {
        outbox: Address::ZERO,
        inbox: Address::ZERO,
    };
    let adapter = EvmAdapter::new(chain.clone(), &anvil.url, placeholder, quorum.clone())
        .unwrap()
        .with_sender(sender.clone());
    let contracts = deploy(&adapter, &code, sender.address(), &[sender.address()], 1)
        .await
        .unwrap();
    let adapter = adapter.with_contracts(contracts);
    adapter
        .request("anvil_setBlockTimestampInterval", json!([1]))
        .await
        .unwrap();

    // A quorum without the relay's key, or one it cannot meet alone, is refused by name.
    let stranger = EdKey::from_seed([22; 32]);
    let e = EvmHome::new(adapter.clone(), stranger).unwrap_err();
    assert_eq!(problem(&e), "bad-quorum");
    assert!(
        e.to_string().contains("does not list this relay's key"),
        "{e}"
    );
    let two = WeakTrustAttestationQuorum::new(
        EVM_CHAIN_ID,
        &[
            AttestorKey::Ed25519(relay.public_key()),
            AttestorKey::Ed25519(EdKey::from_seed([22; 32]).public_key()),
        ],
        2,
    )
    .unwrap();
    let e = EvmHome::new(
        EvmAdapter::new(chain.clone(), &anvil.url, contracts, two)
            .unwrap()
            .with_sender(sender.clone()),
        EdKey::from_seed([21; 32]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("needs 2 of 2 attestors"), "{e}");
    // Without a sending account the relay could not deliver.
    let e = EvmHome::new(
        EvmAdapter::new(chain.clone(), &anvil.url, contracts, quorum.clone()).unwrap(),
        EdKey::from_seed([21; 32]),
    )
    .unwrap_err();
    assert!(matches!(e, AdapterError::Unsupported { .. }), "{e}");

    let home = EvmHome::new(adapter.clone(), relay).unwrap();
    // The partner's client: the root from config (its hash and pinned terms), the blocks
    // from the relay.
    let root_height = adapter.block_number().await.unwrap();
    let root = home.light_block(root_height).await.unwrap();
    let mut partner = LightClient::<EvmFamily>::new(
        corridor_light_client::client::TrustRoot {
            chain_id: chain.clone(),
            height: root_height,
            header_hash: root.header.hash(),
            pin: corridor_light_client::evm::family::root_pin(
                &contracts,
                &EvmSeal::Attested {
                    quorum: quorum.clone(),
                    attestations: vec![],
                },
            ),
        },
        Options::default(),
    );
    partner.update(root, testkit::now()).unwrap();
    adapter.request("evm_mine", json!([])).await.unwrap();
    let next = home.latest_light_block().await.unwrap();
    assert!(next.header.number > root_height.0);
    partner.update(next.clone(), testkit::now()).unwrap();
    // The same block without the relay's attestation is not enough.
    let bare = adapter.latest_light_block().await.unwrap();
    let mut fresh = LightClient::<EvmFamily>::trusting(
        home.light_block(root_height).await.unwrap(),
        Options::default(),
    )
    .unwrap();
    let e = fresh.update(bare, testkit::now()).unwrap_err();
    assert!(
        e.to_string().contains("0 valid attestations, 1 required"),
        "{e}"
    );

    // Deliveries: two messages of one lane, attested by the relay; then the first again.
    let inbound: Vec<TradeMessage> = (1..=2)
        .map(|s| message(SOURCE_CHAIN, EVM_CHAIN, 4, s, 200 + s))
        .collect();
    let bundles = |ms: &[TradeMessage]| {
        ms.iter()
            .map(|m| {
                bundle_into_any(ProofBundle::<EvmFamily> {
                    message: m.clone(),
                    // The inbox takes the relay's attestation; the proof stays with the
                    // relay, which verified it.
                    proof: corridor_light_client::evm::EvmLogProof {
                        receipt: corridor_light_client::evm::ReceiptProof {
                            index: 0,
                            nodes: vec![],
                        },
                        log_index: 0,
                    },
                    height: Height(1),
                    light_blocks: vec![],
                })
            })
            .collect::<Vec<_>>()
    };
    let from = adapter.block_number().await.unwrap();
    let batch = home.deliver_all(bundles(&inbound)).await.unwrap();
    assert_eq!(batch.refused, None);
    assert_eq!(
        batch.acks.iter().map(|a| a.sequence).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(batch
        .acks
        .iter()
        .all(|a| a.result == ReceiptResult::Delivered && a.channel == 4));
    let again = home.deliver_all(bundles(&inbound[..1])).await.unwrap();
    assert_eq!(again.acks, batch.acks[..1]);
    // Each delivery is one receipt in the inbox, proven by the partner's client.
    let to = adapter.block_number().await.unwrap();
    let receipts = home.receipts(Height(from.0 + 1), to).await.unwrap();
    assert_eq!(
        receipts
            .iter()
            .map(|r| r.receipt.sequence)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    for r in &receipts {
        partner
            .update(home.light_block(r.height).await.unwrap(), testkit::now())
            .unwrap();
        assert_eq!(verify_receipt(&partner, r).unwrap(), &r.receipt);
    }
    // Deadlines, held against the block that takes the transaction (the head plus one): a
    // message past its deadline consumes its sequence with an expired receipt; a message
    // delivered just in time and replayed after its deadline is acknowledged with the
    // result the inbox emitted then.
    use corridor_light_client::envelope::Deadline;
    let head = adapter.block_number().await.unwrap();
    let late = message_until(SOURCE_CHAIN, EVM_CHAIN, 4, 3, 203, Deadline::Height(head));
    let just = message_until(
        SOURCE_CHAIN,
        EVM_CHAIN,
        4,
        4,
        204,
        Deadline::Height(Height(head.0 + 2)),
    );
    let batch = home
        .deliver_all(bundles(&[late.clone(), just.clone()]))
        .await
        .unwrap();
    assert_eq!(batch.refused, None);
    assert_eq!(
        batch
            .acks
            .iter()
            .map(|a| a.result.clone())
            .collect::<Vec<_>>(),
        [ReceiptResult::Expired, ReceiptResult::Delivered]
    );
    for _ in 0..3 {
        adapter.request("evm_mine", json!([])).await.unwrap();
    }
    let again = home.deliver_all(bundles(&[just])).await.unwrap();
    assert_eq!(again.acks, batch.acks[1..]);
    let tip = adapter.block_number().await.unwrap();
    let expired: Vec<_> = home
        .receipts(Height(to.0 + 1), tip)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.receipt.sequence, r.receipt.result))
        .collect();
    assert_eq!(
        expired,
        [(3, ReceiptResult::Expired), (4, ReceiptResult::Delivered)]
    );

    // A message for another chain is refused before any transaction.
    let elsewhere = message(SOURCE_CHAIN, "somewhere-else", 4, 5, 205);
    let e = home.deliver_all(bundles(&[elsewhere])).await.unwrap_err();
    assert_eq!(problem(&e), "wrong-destination");
}
