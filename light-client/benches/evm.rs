//! EVM verification costs on real mainnet data from `../shared/vectors/evm`:
//!
//! - `mpt/corridor/account_8_nodes` and `mpt/alloy/account_8_nodes`: the 8-node account
//!   proof of the deposit contract at mainnet block 21,925,176 against its state root, by
//!   this crate and by `alloy-trie`'s `proof::verify_proof` (the reference; a dev-dependency
//!   only), next to `evm/floor_keccak_8x533`, the raw cost of 8 Keccak-256 hashes of 533
//!   bytes with this crate's Keccak (`sha3`), and `evm/floor_alloy_keccak_8x533`, the same
//!   with alloy's;
//! - `receipt_proof`: the 3-node receipt proof at index 0x27 of the same block, decoded;
//! - `header_hash`: RLP encoding and Keccak-256 of the same (Cancun, 20-field) header;
//! - `clique_seal`: secp256k1 recovery of the Goerli block 1,000,000 signer.
//!
//! Run: `cargo bench -p corridor-light-client --bench evm`

use std::hint::black_box;
use std::path::Path;

use corridor_light_client::evm::clique::seal_signer;
use corridor_light_client::evm::header::Header;
use corridor_light_client::evm::receipt::ReceiptProof;
use corridor_light_client::evm::trie::{verify_proof, ProofLimits};
use corridor_light_client::evm::{keccak256, Address};
use corridor_light_client::Hash32;
use criterion::{criterion_main, Criterion};
use serde_json::Value;

fn read(dir: &Path, file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
}

fn hexb(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/evm");
    if !dir.is_dir() {
        eprintln!("evm bench: skipped, {} is absent", dir.display());
        return;
    }
    let limits = ProofLimits::default();
    let header =
        Header::from_json(&read(&dir, "headers/helios_mainnet-21925176_block.json")).unwrap();
    let proof = read(
        &dir,
        "getproof/helios_mainnet-21925176_deposit-contract.json",
    );
    let address = Address::from_hex(proof["address"].as_str().unwrap()).unwrap();
    let nodes: Vec<Vec<u8>> = proof["accountProof"]
        .as_array()
        .unwrap()
        .iter()
        .map(hexb)
        .collect();
    let key = keccak256(&address.0);
    let root: Hash32 = header.state_root;
    verify_proof(&root, &key.0, &nodes, &limits)
        .unwrap()
        .unwrap();

    let value = verify_proof(&root, &key.0, &nodes, &limits).unwrap();
    let alloy_nodes: Vec<alloy_primitives::Bytes> = nodes
        .iter()
        .map(|n| alloy_primitives::Bytes::from(n.clone()))
        .collect();
    let alloy_root = alloy_primitives::B256::from(root.0);
    let alloy_key = alloy_trie::Nibbles::unpack(key.0);
    alloy_trie::proof::verify_proof(alloy_root, alloy_key, value.clone(), alloy_nodes.iter())
        .unwrap();

    let mut mpt = c.benchmark_group("mpt");
    mpt.bench_function("corridor/account_8_nodes", |b| {
        b.iter(|| verify_proof(&root, black_box(&key.0), black_box(&nodes), &limits).unwrap())
    });
    mpt.bench_function("alloy/account_8_nodes", |b| {
        b.iter(|| {
            // The key's nibbles and the expected value are part of the call, as a caller
            // of alloy's verifier makes them for each proof.
            alloy_trie::proof::verify_proof(
                alloy_root,
                alloy_trie::Nibbles::unpack(black_box(key.0)),
                value.clone(),
                black_box(&alloy_nodes).iter(),
            )
            .unwrap()
        })
    });
    mpt.finish();

    let mut group = c.benchmark_group("evm");
    let node = [7u8; 533];
    group.bench_function("floor_keccak_8x533", |b| {
        b.iter(|| {
            for _ in 0..8 {
                black_box(keccak256(black_box(&node)));
            }
        })
    });
    group.bench_function("floor_alloy_keccak_8x533", |b| {
        b.iter(|| {
            for _ in 0..8 {
                black_box(alloy_primitives::keccak256(black_box(&node)));
            }
        })
    });

    let rp = read(
        &dir,
        "receipts_txs/helios_mainnet-21925176_receipt-proof.json",
    );
    let receipt_proof = ReceiptProof {
        index: 0x27,
        nodes: rp["receiptProof"]
            .as_array()
            .unwrap()
            .iter()
            .map(hexb)
            .collect(),
    };
    receipt_proof
        .verify(&header.receipts_root, &limits)
        .unwrap();
    group.bench_function("receipt_proof_3_nodes", |b| {
        b.iter(|| {
            receipt_proof
                .verify(black_box(&header.receipts_root), &limits)
                .unwrap()
        })
    });
    group.bench_function("header_hash_cancun", |b| {
        b.iter(|| black_box(&header).hash())
    });

    let clique =
        Header::from_json(&read(&dir, "headers/ethereumjs_goerli-1000000_clique.json")).unwrap();
    group.bench_function("clique_seal_recover", |b| {
        b.iter(|| seal_signer(black_box(&clique)).unwrap())
    });
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
