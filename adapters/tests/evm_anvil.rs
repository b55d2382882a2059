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

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use corridor_adapters::any::AnyAdapter;
use corridor_adapters::devnet::Cursor;
use corridor_adapters::evm::{
    delivery_digest, tx::address_of, tx::call_data, tx::encode, EvmAdapter, EvmOutbound, Sender,
    Token,
};
use corridor_adapters::{AdapterError, ChainAdapter};
use corridor_light_client::any::{AnyFamily, AnyLeafProof, AnyLightBlock};
use corridor_light_client::bundle::{message_key, verify_bundle, BundleError};
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
/// Anvil's first development key (funded at genesis).
const DEV_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The tool at `$var`, else under `~/.cache/corridor-npm`; `None` (after saying so) when
/// absent and not under CI.
fn tool(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/corridor-npm")
            .join(default)
    });
    if path.is_file() {
        return Some(path);
    }
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

/// A running anvil, killed on drop.
struct Anvil {
    child: Child,
    url: String,
}

impl Anvil {
    /// Starts anvil with its genesis an hour ago: with one second between blocks (set
    /// below), every block has a later time than its parent, as the attested trust model
    /// requires, and none is in the future.
    fn start(bin: &PathBuf) -> Self {
        let genesis = testkit::now().unix_nanos() / 1_000_000_000 - 3600;
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", "0", "--chain-id"])
            .arg(EVM_CHAIN_ID.to_string())
            .arg("--timestamp")
            .arg(genesis.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::sync_channel(1);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                    let _ = tx.try_send(addr.to_owned());
                }
            }
        });
        let mut anvil = Self {
            child,
            url: String::new(),
        };
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("anvil did not say where it listens within 30 s");
        anvil.url = format!("http://{addr}");
        anvil
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compiles `adapters/evm-contracts/Corridor.sol` with solcjs; returns the creation code
/// of the outbox and the inbox.
fn compile(solcjs: &PathBuf) -> (Vec<u8>, Vec<u8>) {
    let source = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("evm-contracts/Corridor.sol"),
    )
    .unwrap();
    let input = json!({
        "language": "Solidity",
        "sources": {"Corridor.sol": {"content": source}},
        "settings": {
            "optimizer": {"enabled": true, "runs": 200},
            "outputSelection": {"*": {"*": ["evm.bytecode.object"]}}
        }
    });
    let mut child = Command::new(solcjs)
        .arg("--standard-json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // solcjs may print a notice line before the JSON.
    let json_start = text.find('{').expect("no JSON from solcjs");
    let output: Json = serde_json::from_str(&text[json_start..]).unwrap();
    for e in output["errors"].as_array().into_iter().flatten() {
        assert_ne!(e["severity"], "error", "solc: {}", e["formattedMessage"]);
    }
    let code = |name: &str| {
        hex::decode(
            output["contracts"]["Corridor.sol"][name]["evm"]["bytecode"]["object"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
    };
    (code("CorridorOutbox"), code("CorridorInbox"))
}

fn message(
    source: &str,
    destination: &str,
    channel: u32,
    sequence: u64,
    nonce: u64,
) -> TradeMessage {
    use corridor_light_client::documents::examples::example;
    use corridor_light_client::envelope::{payload_from_json, Deadline, MessageBody, VERSION};
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
        deadline: Deadline::Height(Height(1000)),
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
    let (Some(anvil_bin), Some(solcjs)) = (
        tool(
            "CORRIDOR_ANVIL",
            "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
        ),
        tool("CORRIDOR_SOLCJS", "node_modules/.bin/solcjs"),
    ) else {
        return;
    };
    let (outbox_code, inbox_code) = compile(&solcjs);
    let anvil = Anvil::start(&anvil_bin);

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
    let mut init = outbox_code;
    init.extend(encode(&[Token::address(&sender.address())]));
    let outbox = adapter
        .transact(None, &init)
        .await
        .unwrap()
        .contract_address
        .unwrap();
    let mut init = inbox_code;
    init.extend(encode(&[
        Token::AddressArray(relay_addresses.clone()),
        Token::uint(2),
    ]));
    let inbox = adapter
        .transact(None, &init)
        .await
        .unwrap()
        .contract_address
        .unwrap();
    let contracts = CorridorContracts { outbox, inbox };
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
