//! The EVM adapter against a JSON-RPC endpoint serving a block made here (no chain needed):
//! an honest endpoint's outbox message comes with a receipt proof that the light client
//! checks against the header; an endpoint whose receipts do not rebuild the header's
//! receipts root, whose block does not hash to its claimed hash, or that answers another
//! block, is refused naming the block.

use std::sync::{Arc, Mutex};

use axum::routing::post;
use corridor_adapters::evm::EvmAdapter;
use corridor_adapters::{AdapterError, RetryPolicy};
use corridor_light_client::bundle::message_key;
use corridor_light_client::envelope::{DocumentKind, TradeMessage};
use corridor_light_client::evm::family::{corridor_log, verify_corridor_log};
use corridor_light_client::evm::receipt::{receipts_root, Outcome};
use corridor_light_client::evm::{
    Address, AttestorKey, CorridorContracts, EvmLeafError, Header, Log, ProofLimits, Receipt,
    ReceiptError, WeakTrustAttestationQuorum, EMPTY_OMMERS_HASH, U256,
};
use corridor_light_client::family::CommitmentRoot;
use corridor_light_client::{ChainId, Hash32, Height};
use serde_json::{json, Value as Json};

const NUMBER: u64 = 7;

fn contracts() -> CorridorContracts {
    CorridorContracts {
        outbox: Address([0x0b; 20]),
        inbox: Address([0x1b; 20]),
    }
}

fn message() -> TradeMessage {
    use corridor_light_client::documents::examples::example;
    use corridor_light_client::envelope::{payload_from_json, Deadline, MessageBody, VERSION};
    use corridor_light_client::hash;
    use corridor_light_client::signature::SigningKey;
    let key = SigningKey::from_seed([3; 32]);
    let kind = DocumentKind::CommercialInvoice;
    let payload = payload_from_json(&example(kind)).unwrap();
    let body = MessageBody {
        version: VERSION,
        source_chain: ChainId::new("evm-bank").unwrap(),
        destination_chain: ChainId::new("kz-astana").unwrap(),
        channel: 2,
        nonce: 11,
        sender: key.public_key(),
        receiver: SigningKey::from_seed([4; 32]).public_key(),
        kind,
        payload_hash: hash::sha3(&payload.0),
        payload,
        deadline: Deadline::Height(Height(1000)),
    };
    TradeMessage {
        sequence: 1,
        message: body.sign(&key).unwrap(),
    }
}

/// Three receipts: a transfer, the outbox's message (after another contract's log), and a
/// failed transaction.
fn receipts(m: &TradeMessage) -> Vec<Receipt> {
    let log = corridor_log(
        contracts().outbox,
        CommitmentRoot::Messages,
        &message_key(m),
        &m.leaf().unwrap(),
    )
    .unwrap();
    let other = Log {
        address: Address([0x77; 20]),
        topics: vec![Hash32([1; 32])],
        data: vec![5; 40],
    };
    let receipt = |tx_type, ok, gas, logs| Receipt {
        tx_type,
        outcome: Outcome::Status(ok),
        cumulative_gas_used: gas,
        logs_bloom: Box::new([0; 256]),
        logs,
    };
    vec![
        receipt(0, true, 21_000, vec![]),
        receipt(2, true, 90_000, vec![other, log]),
        receipt(2, false, 120_000, vec![]),
    ]
}

fn header(receipts: &[Receipt]) -> Header {
    Header {
        parent_hash: Hash32([9; 32]),
        ommers_hash: EMPTY_OMMERS_HASH,
        beneficiary: Address([2; 20]),
        state_root: Hash32([3; 32]),
        transactions_root: Hash32([4; 32]),
        receipts_root: receipts_root(receipts),
        logs_bloom: Box::new([0; 256]),
        difficulty: U256::ZERO,
        number: NUMBER,
        gas_limit: 30_000_000,
        gas_used: 120_000,
        timestamp: 1_760_000_000,
        extra_data: vec![],
        mix_hash: Hash32([5; 32]),
        nonce: [0; 8],
        base_fee_per_gas: Some(U256::from_u64(7)),
        withdrawals_root: None,
        blob_gas_used: None,
        excess_blob_gas: None,
        parent_beacon_block_root: None,
        requests_hash: None,
    }
}

fn hx(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

fn q(v: u64) -> String {
    format!("{v:#x}")
}

fn block_json(h: &Header, claimed: Hash32) -> Json {
    json!({
        "hash": hx(&claimed.0),
        "parentHash": hx(&h.parent_hash.0),
        "sha3Uncles": hx(&h.ommers_hash.0),
        "miner": hx(&h.beneficiary.0),
        "stateRoot": hx(&h.state_root.0),
        "transactionsRoot": hx(&h.transactions_root.0),
        "receiptsRoot": hx(&h.receipts_root.0),
        "logsBloom": hx(&h.logs_bloom[..]),
        "difficulty": "0x0",
        "number": q(h.number),
        "gasLimit": q(h.gas_limit),
        "gasUsed": q(h.gas_used),
        "timestamp": q(h.timestamp),
        "extraData": hx(&h.extra_data),
        "mixHash": hx(&h.mix_hash.0),
        "nonce": hx(&h.nonce),
        "baseFeePerGas": "0x7",
        "transactions": (0..3u8).map(|i| hx(&[i; 32])).collect::<Vec<_>>(),
    })
}

fn receipt_json(r: &Receipt, index: u64) -> Json {
    json!({
        "type": q(u64::from(r.tx_type)),
        "status": if r.succeeded() == Some(true) { "0x1" } else { "0x0" },
        "cumulativeGasUsed": q(r.cumulative_gas_used),
        "logsBloom": hx(&r.logs_bloom[..]),
        "transactionIndex": q(index),
        "logs": r.logs.iter().map(|l| json!({
            "address": hx(&l.address.0),
            "topics": l.topics.iter().map(|t| hx(&t.0)).collect::<Vec<_>>(),
            "data": hx(&l.data),
        })).collect::<Vec<_>>(),
    })
}

/// What the endpoint answers: a block object and a receipts list.
#[derive(Clone)]
struct Answers {
    block: Json,
    receipts: Json,
}

async fn serve(answers: Arc<Mutex<Answers>>) -> String {
    let app = axum::Router::new().route(
        "/",
        post(move |axum::Json(req): axum::Json<Json>| {
            let a = answers.lock().unwrap().clone();
            async move {
                let result = match req["method"].as_str().unwrap() {
                    "eth_getLogs" => json!([{"blockNumber": q(NUMBER)}]),
                    "eth_getBlockByNumber" => a.block,
                    "eth_getBlockReceipts" => a.receipts,
                    other => panic!("unexpected method {other}"),
                };
                axum::Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": result}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn adapter(url: &str) -> EvmAdapter {
    let quorum =
        WeakTrustAttestationQuorum::new(1, &[AttestorKey::Secp256k1(Address([8; 20]))], 1).unwrap();
    EvmAdapter::new(ChainId::new("evm-bank").unwrap(), url, contracts(), quorum)
        .unwrap()
        .with_retry(RetryPolicy::NONE)
}

fn invalid_reason(e: AdapterError) -> String {
    match e {
        AdapterError::InvalidResponse { reason, .. } => reason,
        e => panic!("not an invalid response: {e}"),
    }
}

#[tokio::test]
async fn receipts_are_held_against_the_header_and_proofs_verify() {
    let m = message();
    let rs = receipts(&m);
    let h = header(&rs);
    let honest = Answers {
        block: block_json(&h, h.hash()),
        receipts: Json::Array(
            rs.iter()
                .zip(0..)
                .map(|(r, i)| receipt_json(r, i))
                .collect(),
        ),
    };
    let answers = Arc::new(Mutex::new(honest.clone()));
    let url = serve(answers.clone()).await;
    let a = adapter(&url);

    // Honest: the message, with a proof of receipt 1, log 1, against the header.
    let found = a.outbound(Height(1), Height(10)).await.unwrap();
    assert_eq!(found.len(), 1);
    let o = &found[0];
    assert_eq!((o.height, &o.message), (Height(NUMBER), &m));
    assert_eq!((o.proof.receipt.index, o.proof.log_index), (1, 1));
    let key = message_key(&m);
    let leaf = m.leaf().unwrap();
    let check = |header: &Header| {
        verify_corridor_log(
            header,
            contracts().outbox,
            CommitmentRoot::Messages,
            &key,
            &leaf,
            &o.proof,
            &ProofLimits::default(),
        )
    };
    check(&h).unwrap();
    // The header's receipts root with one bit flipped refuses the same proof.
    let mut flipped = h.clone();
    flipped.receipts_root.0[31] ^= 1;
    assert!(matches!(
        check(&flipped).unwrap_err(),
        EvmLeafError::Receipt(ReceiptError::Proof { index: 1, .. })
    ));

    // A receipt changed by the endpoint (another contract's log data): the receipts no
    // longer rebuild the header's root.
    let mut lying = honest.clone();
    lying.receipts[1]["logs"][0]["data"] = json!(hx(&[6; 40]));
    *answers.lock().unwrap() = lying;
    let reason = invalid_reason(a.outbound(Height(1), Height(10)).await.unwrap_err());
    assert!(
        reason.starts_with("block 7: the receipts rebuild root"),
        "{reason}"
    );
    // A receipt left out.
    let mut short = honest.clone();
    short.receipts.as_array_mut().unwrap().pop();
    *answers.lock().unwrap() = short;
    let reason = invalid_reason(a.outbound(Height(1), Height(10)).await.unwrap_err());
    assert_eq!(reason, "block 7: 2 receipts for 3 transactions");
    // A header whose receipts root is changed, claiming its old hash.
    let mut forged = honest.clone();
    forged.block["receiptsRoot"] = json!(hx(&[0xee; 32]));
    *answers.lock().unwrap() = forged;
    let reason = invalid_reason(a.outbound(Height(1), Height(10)).await.unwrap_err());
    assert!(
        reason.starts_with("block 7: header 7: hash")
            && reason.contains("does not match the claimed"),
        "{reason}"
    );
    // The same header, consistent with its own hash: the receipts do not rebuild it.
    let mut other = h.clone();
    other.receipts_root = Hash32([0xee; 32]);
    let mut consistent = honest.clone();
    consistent.block = block_json(&other, other.hash());
    *answers.lock().unwrap() = consistent;
    let reason = invalid_reason(a.outbound(Height(1), Height(10)).await.unwrap_err());
    assert!(
        reason.starts_with("block 7: the receipts rebuild root"),
        "{reason}"
    );
    // Another block than the one asked for.
    let mut eight = h.clone();
    eight.number = 8;
    let mut wrong = honest.clone();
    wrong.block = block_json(&eight, eight.hash());
    *answers.lock().unwrap() = wrong;
    let reason = invalid_reason(a.outbound(Height(1), Height(10)).await.unwrap_err());
    assert_eq!(reason, "asked for block 7, got block 8");

    // Back to honest answers: the header is served as asked.
    *answers.lock().unwrap() = honest;
    assert_eq!(a.header(Height(NUMBER)).await.unwrap(), h);
}
