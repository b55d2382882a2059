//! The shared EVM vectors (`../shared/vectors/evm`, README.md and manifest.json there):
//! every file gives the results its manifest `expect` names, and mutations of real proofs,
//! headers and seals are refused with their specific error.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use corridor_light_client::evm::account::{verify_storage, AccountError, AccountProof};
use corridor_light_client::evm::clique::seal_signer;
use corridor_light_client::evm::header::{check_linkage, Header, HeaderError};
use corridor_light_client::evm::receipt::{
    receipts_root, verify_receipt_absent, Receipt, ReceiptError, ReceiptProof,
};
use corridor_light_client::evm::rlp::{self, RlpError, Value};
use corridor_light_client::evm::trie::{
    build_proof, ordered_root, verify_proof, ProofError, ProofLimits, TrieBuilder,
};
use corridor_light_client::evm::{keccak256, Address};
use corridor_light_client::Hash32;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

fn evm_dir(test: &str) -> Option<PathBuf> {
    common::vectors_dir(test).map(|d| d.join("evm"))
}

fn manifest(dir: &Path) -> Vec<Json> {
    common::read_json(&dir.join("manifest.json"))["files"]
        .as_array()
        .unwrap()
        .clone()
}

/// The manifest entries of one folder.
fn entries(dir: &Path, folder: &str) -> Vec<(String, Json)> {
    manifest(dir)
        .into_iter()
        .filter_map(|e| {
            let file = e["file"].as_str().unwrap().to_owned();
            file.strip_prefix(&format!("{folder}/"))
                .map(|name| (name.to_owned(), e["expect"].clone()))
        })
        .collect()
}

fn hexb(s: &str) -> Vec<u8> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).unwrap()
}

fn h32(v: &Json) -> Hash32 {
    Hash32(hexb(v.as_str().unwrap()).try_into().unwrap())
}

/// A JSON quantity as minimal big-endian bytes.
fn qty(v: &Json) -> Vec<u8> {
    let s = v
        .as_str()
        .unwrap()
        .trim_start_matches("0x")
        .trim_start_matches('0');
    let s = if s.len() % 2 == 1 {
        format!("0{s}")
    } else {
        s.to_owned()
    };
    hex::decode(s).unwrap()
}

fn qty_u64(v: &Json) -> u64 {
    qty(v).iter().fold(0, |a, &b| (a << 8) | u64::from(b))
}

/// The `result` of the response line (`<< {...}`) of an execution-apis `.io` file.
fn io_result(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("<<"))
        .unwrap_or_else(|| panic!("{}: no response line", path.display()));
    let response: Json = serde_json::from_str(&line[3..]).unwrap();
    response["result"].clone()
}

/// A JSON file, or the result of a `.io` file.
fn load(path: &Path) -> Json {
    if path.extension().is_some_and(|e| e == "io") {
        io_result(path)
    } else {
        common::read_json(path)
    }
}

fn bytes(v: Vec<u8>) -> Value {
    Value::Bytes(v)
}

/// The canonical encoding of a JSON-RPC transaction (README section 2a).
fn encode_tx(tx: &Json) -> Vec<u8> {
    let q = |k: &str| bytes(qty(&tx[k]));
    let d = |k: &str| bytes(tx[k].as_str().map(hexb).unwrap_or_default());
    let to = bytes(tx["to"].as_str().map(hexb).unwrap_or_default());
    let parity = || {
        if tx.get("yParity").is_some() {
            q("yParity")
        } else {
            q("v")
        }
    };
    let access_list = || {
        Value::List(
            tx["accessList"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|e| {
                            Value::List(vec![
                                d_of(&e["address"]),
                                Value::List(
                                    e["storageKeys"]
                                        .as_array()
                                        .unwrap()
                                        .iter()
                                        .map(d_of)
                                        .collect(),
                                ),
                            ])
                        })
                        .collect()
                })
                .unwrap_or_default(),
        )
    };
    let ty = tx.get("type").map(qty_u64).unwrap_or(0);
    let fields = match ty {
        0 => vec![
            q("nonce"),
            q("gasPrice"),
            q("gas"),
            to,
            q("value"),
            d("input"),
            q("v"),
            q("r"),
            q("s"),
        ],
        1 => vec![
            q("chainId"),
            q("nonce"),
            q("gasPrice"),
            q("gas"),
            to,
            q("value"),
            d("input"),
            access_list(),
            parity(),
            q("r"),
            q("s"),
        ],
        2 => vec![
            q("chainId"),
            q("nonce"),
            q("maxPriorityFeePerGas"),
            q("maxFeePerGas"),
            q("gas"),
            to,
            q("value"),
            d("input"),
            access_list(),
            parity(),
            q("r"),
            q("s"),
        ],
        3 => vec![
            q("chainId"),
            q("nonce"),
            q("maxPriorityFeePerGas"),
            q("maxFeePerGas"),
            q("gas"),
            to,
            q("value"),
            d("input"),
            access_list(),
            q("maxFeePerBlobGas"),
            Value::List(
                tx["blobVersionedHashes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(d_of)
                    .collect(),
            ),
            parity(),
            q("r"),
            q("s"),
        ],
        other => panic!("transaction type {other} not in the vectors"),
    };
    let mut out = Vec::new();
    if ty != 0 {
        out.push(ty as u8);
    }
    Value::List(fields).put(&mut out);
    out
}

fn d_of(v: &Json) -> Value {
    bytes(hexb(v.as_str().unwrap()))
}

fn encode_withdrawal(w: &Json) -> Vec<u8> {
    Value::List(vec![
        bytes(qty(&w["index"])),
        bytes(qty(&w["validatorIndex"])),
        d_of(&w["address"]),
        bytes(qty(&w["amount"])),
    ])
    .encode()
}

/// Checks the JSON block object's extra expectations (transactions, withdrawals, uncles).
fn check_block_extras(dir: &Path, name: &str, block: &Json, header: &Header, expect: &Json) {
    if let Some(t) = expect.get("transactions") {
        let txs = block["transactions"].as_array().unwrap();
        assert_eq!(txs.len() as u64, t["count"].as_u64().unwrap(), "{name}");
        if t["each_tx_hash_equals_keccak_of_encoding"] == true {
            let encoded: Vec<Vec<u8>> = txs.iter().map(encode_tx).collect();
            for (tx, enc) in txs.iter().zip(&encoded) {
                assert_eq!(keccak256(enc), h32(&tx["hash"]), "{name}: tx hash");
            }
            assert_eq!(ordered_root(&encoded), header.transactions_root, "{name}");
        }
    }
    if let Some(w) = expect.get("withdrawals") {
        let ws = block["withdrawals"].as_array().unwrap();
        assert_eq!(ws.len() as u64, w["count"].as_u64().unwrap(), "{name}");
        let encoded: Vec<Vec<u8>> = ws.iter().map(encode_withdrawal).collect();
        assert_eq!(
            Some(ordered_root(&encoded)),
            header.withdrawals_root,
            "{name}"
        );
    }
    if let Some(u) = expect.get("uncles") {
        let uncle_file = u["uncle_header_file"].as_str().unwrap();
        let uncle = Header::from_json(&common::read_json(&dir.join(uncle_file))).unwrap();
        assert_eq!(uncle.hash(), h32(&u["hashes"][0]), "{name}");
        assert_eq!(
            keccak256(&rlp::list(&uncle.encode())),
            header.ommers_hash,
            "{name}"
        );
    }
}

/// The hive chain of `headers/xapis_chain.rlp`: each header with its hash, and each block's
/// transactions and withdrawals encodings.
struct HiveBlock {
    header: Header,
    hash: Hash32,
    txs: Vec<Vec<u8>>,
    withdrawals: Option<Vec<Vec<u8>>>,
}

fn hive_chain(dir: &Path) -> Vec<HiveBlock> {
    let data = std::fs::read(dir.join("headers/xapis_chain.rlp")).unwrap();
    let items = rlp::decode_stream(&data).unwrap();
    items
        .iter()
        .map(|block| {
            let parts = block.as_list().unwrap();
            let raw = parts[0].raw;
            let (header, hash) = Header::decode(raw).unwrap();
            assert_eq!(header.encode(), raw, "block {}: re-encoding", header.number);
            let txs = parts[1]
                .as_list()
                .unwrap()
                .iter()
                .map(|t| match t.is_list() {
                    true => t.raw.to_vec(),
                    false => t.as_bytes().unwrap().to_vec(),
                })
                .collect();
            let withdrawals = parts.get(3).map(|w| {
                w.as_list()
                    .unwrap()
                    .iter()
                    .map(|x| x.raw.to_vec())
                    .collect()
            });
            HiveBlock {
                header,
                hash,
                txs,
                withdrawals,
            }
        })
        .collect()
}

fn shape_count(shape: &str) -> usize {
    shape
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn manifest_lists_every_file_with_its_checksum() {
    let Some(dir) = evm_dir("manifest_lists_every_file_with_its_checksum") else {
        return;
    };
    let m = manifest(&dir);
    for e in &m {
        let file = e["file"].as_str().unwrap();
        let data = std::fs::read(dir.join(file)).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&data)), e["sha256"], "{file}");
    }
    let mut on_disk = 0;
    for folder in ["getproof", "headers", "receipts_txs", "trie", "rlp"] {
        for f in std::fs::read_dir(dir.join(folder)).unwrap() {
            let name = format!("{folder}/{}", common::name(&f.unwrap().path()));
            assert!(
                m.iter().any(|e| e["file"] == name.as_str()),
                "{name} not in manifest"
            );
            on_disk += 1;
        }
    }
    assert_eq!(on_disk, m.len());
    println!("manifest: {} files, checksums match", m.len());
}

/// An RLP test's input as the value it encodes (the runner's conversion: `#` decimal big
/// integers, strings, numbers and lists).
fn rlp_value(v: &Json) -> Value {
    corridor_light_client::evm::vectors::rlp_value(v)
        .unwrap_or_else(|e| panic!("unexpected RLP test input {v}: {e}"))
}

#[test]
fn rlp_vectors() {
    let Some(dir) = evm_dir("rlp_vectors") else {
        return;
    };
    let valid = common::read_json(&dir.join("rlp/rlptest.json"));
    let mut n = 0;
    for (name, case) in valid.as_object().unwrap() {
        let value = rlp_value(&case["in"]);
        let out = hexb(case["out"].as_str().unwrap());
        assert_eq!(value.encode(), out, "{name}: encode");
        let decoded = rlp::decode(&out).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(Value::from(&decoded), value, "{name}: decode");
        n += 1;
    }
    assert_eq!(n, 28);

    type Check = fn(&RlpError) -> bool;
    let truncated: Check = |e| matches!(e, RlpError::Truncated { .. });
    let overflow: Check = |e| matches!(e, RlpError::LengthOverflow { .. });
    let non_minimal: Check = |e| matches!(e, RlpError::NonMinimalLength { .. });
    let leading_zero: Check = |e| matches!(e, RlpError::LeadingZeroInLength { .. });
    let single: Check = |e| matches!(e, RlpError::SingleByteAsString { .. });
    let expected: BTreeMap<&str, Check> = BTreeMap::from([
        ("int32Overflow", overflow),
        ("int32Overflow2", overflow),
        ("wrongSizeList", non_minimal),
        ("wrongSizeList2", non_minimal),
        ("incorrectLengthInArray", leading_zero),
        ("randomRLP", leading_zero),
        ("bytesShouldBeSingleByte00", single),
        ("bytesShouldBeSingleByte01", single),
        ("bytesShouldBeSingleByte7F", single),
        ("leadingZerosInLongLengthArray1", leading_zero),
        ("leadingZerosInLongLengthArray2", leading_zero),
        ("leadingZerosInLongLengthList1", leading_zero),
        ("leadingZerosInLongLengthList2", leading_zero),
        ("nonOptimalLongLengthArray1", non_minimal),
        ("nonOptimalLongLengthArray2", non_minimal),
        ("nonOptimalLongLengthList1", non_minimal),
        ("nonOptimalLongLengthList2", non_minimal),
        ("emptyEncoding", |e| {
            matches!(e, RlpError::Empty { offset: 0 })
        }),
        ("lessThanShortLengthArray1", truncated),
        ("lessThanShortLengthArray2", truncated),
        ("lessThanShortLengthList1", truncated),
        ("lessThanShortLengthList2", truncated),
        ("lessThanLongLengthArray1", truncated),
        ("lessThanLongLengthArray2", truncated),
        ("lessThanLongLengthList1", truncated),
        ("lessThanLongLengthList2", overflow),
    ]);
    let invalid = common::read_json(&dir.join("rlp/invalidRLPTest.json"));
    let mut refused = 0;
    for (name, case) in invalid.as_object().unwrap() {
        let input = hexb(case["out"].as_str().unwrap());
        let err = rlp::decode(&input).expect_err(name);
        let check = expected
            .get(name.as_str())
            .unwrap_or_else(|| panic!("{name}: no expected reason recorded"));
        assert!(check(&err), "{name}: refused for another reason: {err:?}");
        refused += 1;
    }
    assert_eq!(refused, expected.len());
    println!("rlp: {n} valid round trips, {refused} invalid inputs refused with their reason");
}

#[test]
fn header_vectors() {
    let Some(dir) = evm_dir("header_vectors") else {
        return;
    };
    let hive = hive_chain(&dir);
    let by_number: BTreeMap<u64, &HiveBlock> = hive.iter().map(|b| (b.header.number, b)).collect();
    let mut files = 0;
    for (name, expect) in entries(&dir, "headers") {
        let path = dir.join("headers").join(&name);
        match name.as_str() {
            "xapis_chain.rlp" => {
                assert_eq!(hive.len() as u64, expect["blocks"].as_u64().unwrap());
                assert_eq!(hive[0].header.number, 1);
                let headers: Vec<Header> = hive.iter().map(|b| b.header.clone()).collect();
                let last = check_linkage(None, &headers).unwrap();
                assert_eq!(last, Some(h32(&expect["head_hash"])));
                for b in &hive {
                    assert_eq!(b.hash, b.header.hash());
                    assert_eq!(ordered_root(&b.txs), b.header.transactions_root);
                    if let Some(w) = &b.withdrawals {
                        assert_eq!(Some(ordered_root(w)), b.header.withdrawals_root);
                    }
                }
                for (shape, range) in expect["shapes"].as_object().unwrap() {
                    let count = shape_count(shape);
                    let (lo, hi) = (range[0].as_u64().unwrap(), range[1].as_u64().unwrap());
                    for n in lo..=hi {
                        assert_eq!(by_number[&n].header.field_count(), count, "block {n}");
                    }
                }
                // A flipped byte anywhere in a header is refused or changes its hash.
                let raw = by_number[&54].header.encode();
                for i in 0..raw.len() {
                    let mut m = raw.clone();
                    m[i] ^= 0x01;
                    if let Ok((_, hash)) = Header::decode(&m) {
                        assert_ne!(hash, by_number[&54].hash, "byte {i}");
                    }
                }
                // A broken link is named.
                let mut broken = headers.clone();
                broken[10].parent_hash.0[0] ^= 1;
                assert!(matches!(
                    check_linkage(None, &broken),
                    Err(HeaderError::BrokenLink { number: 11, .. })
                ));
            }
            "xapis_genesis.json" | "xapis_forkenv.json" => {
                common::read_json(&path);
            }
            "xapis_headfcu.json" => {
                let fcu = common::read_json(&path);
                assert_eq!(h32(&fcu["params"][0]["headBlockHash"]), by_number[&54].hash);
                assert_eq!(h32(&expect["headBlockHash"]), by_number[&54].hash);
            }
            "xapis_debug_getRawHeader_get-block-n.io" => {
                let raw = hexb(io_result(&path).as_str().unwrap());
                let (header, hash) = Header::decode(&raw).unwrap();
                assert_eq!(hash, h32(&expect["hash"]));
                assert_eq!(header.number, expect["number"].as_u64().unwrap());
                assert_eq!(
                    header.field_count() as u64,
                    expect["rlp_field_count"].as_u64().unwrap()
                );
                assert_eq!(hash, by_number[&3].hash);
            }
            "xapis_debug_getRawBlock_get-block-n.io" => {
                let raw = hexb(io_result(&path).as_str().unwrap());
                let block = rlp::decode(&raw).unwrap();
                let parts = block.as_list().unwrap();
                let (header, hash) = Header::decode(parts[0].raw).unwrap();
                assert_eq!(hash, h32(&expect["header_hash"]));
                assert_eq!(header.number, 3);
                assert_eq!(
                    parts[1].as_list().unwrap().len() as u64,
                    expect["tx_count"].as_u64().unwrap()
                );
            }
            "ethereumjs_mainnet-1-to-5_blocks.json" => {
                let blocks = common::read_json(&path);
                let blocks = blocks.as_array().unwrap();
                let headers: Vec<Header> = blocks
                    .iter()
                    .map(|b| Header::from_json(&b["header"]).unwrap())
                    .collect();
                let genesis = h32(&expect["block1_parentHash"]);
                check_linkage(Some(genesis), &headers).unwrap();
                for (h, e) in headers.iter().zip(expect["blocks"].as_array().unwrap()) {
                    assert_eq!(h.hash(), h32(&e["hash"]), "block {}", h.number);
                }
                for (b, h) in blocks.iter().zip(&headers) {
                    let uncles: Vec<u8> = b["uncleHeaders"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .flat_map(|u| Header::from_json(u).unwrap().encode())
                        .collect();
                    assert_eq!(
                        keccak256(&rlp::list(&uncles)),
                        h.ommers_hash,
                        "block {}",
                        h.number
                    );
                }
            }
            n if n.starts_with("ethtests_") => {
                let fixture = common::read_json(&path);
                for (test, t) in fixture.as_object().unwrap() {
                    let e = &expect[test];
                    let (_, g) = Header::decode(
                        rlp::decode(&hexb(t["genesisRLP"].as_str().unwrap()))
                            .unwrap()
                            .as_list()
                            .unwrap()[0]
                            .raw,
                    )
                    .unwrap();
                    assert_eq!(g, h32(&e["genesis_hash"]), "{test}");
                    let gh = Header::from_json(&t["genesisBlockHeader"]).unwrap();
                    assert_eq!(gh.hash(), g);
                    for (b, eb) in t["blocks"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .zip(e["blocks"].as_array().unwrap())
                    {
                        let raw = hexb(b["rlp"].as_str().unwrap());
                        let block = rlp::decode(&raw).unwrap();
                        let (h, hash) = Header::decode(block.as_list().unwrap()[0].raw).unwrap();
                        assert_eq!(hash, h32(&eb["hash"]), "{test}");
                        assert_eq!(
                            h.field_count() as u64,
                            eb["rlp_field_count"].as_u64().unwrap()
                        );
                        assert_eq!(h.parent_hash, g);
                        assert_eq!(Header::from_json(&b["blockHeader"]).unwrap().hash(), hash);
                    }
                }
            }
            _ => {
                // A JSON-RPC block object (plain or in a `.io` response).
                let block = load(&path);
                let header = Header::from_json(&block).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(header.hash(), h32(&expect["hash"]), "{name}");
                assert_eq!(header.number, expect["number"].as_u64().unwrap(), "{name}");
                assert_eq!(
                    header.field_count() as u64,
                    expect["rlp_field_count"].as_u64().unwrap(),
                    "{name}"
                );
                let (back, _) = Header::decode(&header.encode()).unwrap();
                assert_eq!(back, header);
                check_block_extras(&dir, &name, &block, &header, &expect);
                if name.starts_with("xapis_eth_getBlockByNumber") && header.number > 0 {
                    assert_eq!(by_number[&header.number].hash, header.hash(), "{name}");
                }
                if let Some(signer) = expect.get("clique_signer_recovered") {
                    let signer = Address::from_hex(signer.as_str().unwrap()).unwrap();
                    assert_eq!(seal_signer(&header).unwrap(), signer);
                    // Any change to the sealed fields or the seal changes the signer.
                    let mut m = header.clone();
                    m.timestamp += 1;
                    assert_ne!(seal_signer(&m).ok(), Some(signer));
                    let mut m = header.clone();
                    let n = m.extra_data.len();
                    m.extra_data[n - 40] ^= 1;
                    assert_ne!(seal_signer(&m).ok(), Some(signer));
                }
                // A claimed hash that is off by one bit is refused by name.
                let mut wrong = block.clone();
                let mut claimed = header.hash();
                claimed.0[31] ^= 1;
                wrong["hash"] = Json::String(format!("0x{}", hex::encode(claimed.0)));
                assert!(matches!(
                    Header::from_json(&wrong),
                    Err(HeaderError::HashMismatch { .. })
                ));
            }
        }
        files += 1;
    }
    assert_eq!(files, 27);
    println!("headers: {files} files pass");
}

/// The trusted state root for a getproof entry: from its header file when there is one
/// (the header's hash checked first), else the manifest's root.
fn state_root(dir: &Path, e: &Json, hive: &[HiveBlock]) -> Hash32 {
    let root = h32(&e["state_root"]);
    let from = e["state_root_from"].as_str().unwrap();
    if from.starts_with("headers/") && from.contains(".json") {
        let file = from.split(' ').next().unwrap();
        let header = Header::from_json(&common::read_json(&dir.join(file))).unwrap();
        assert_eq!(header.state_root, root, "{from}");
    } else if from.starts_with("block 54") {
        let b = hive.iter().find(|b| b.header.number == 54).unwrap();
        assert_eq!(b.header.state_root, root);
    }
    root
}

fn check_account(dir: &Path, name: &str, obj: &Json, e: &Json, hive: &[HiveBlock]) {
    let limits = ProofLimits::default();
    let address = Address::from_hex(e["address"].as_str().unwrap()).unwrap();
    let root = state_root(dir, e, hive);
    let proof =
        AccountProof::from_json(obj, Some(address)).unwrap_or_else(|x| panic!("{name}: {x}"));
    let present = proof
        .verify(&root, &limits)
        .unwrap_or_else(|x| panic!("{name}: {x}"));
    assert_eq!(present, e["account_present_in_trie"] == true, "{name}");
    if let Some(flag) = e.get("code_keccak_equals_codeHash") {
        assert_eq!(flag, true);
        assert!(proof.code.is_some(), "{name}: code checked");
    }
    for s in e["storage"].as_array().unwrap() {
        let slot = Hash32(corridor_light_client::evm::U256::from_be_slice(&qty(&s["key"])).0);
        let entry = proof.storage.iter().find(|p| p.slot == slot).unwrap();
        let value = verify_storage(
            &address,
            &proof.account.storage_root,
            &slot,
            &entry.proof,
            &limits,
        )
        .unwrap();
        assert_eq!(value.to_minimal_be(), qty(&s["value"]).as_slice(), "{name}");
        let present = verify_proof(
            &proof.account.storage_root,
            &keccak256(&slot.0).0,
            &entry.proof,
            &limits,
        )
        .unwrap()
        .is_some();
        assert_eq!(present, s["slot_present_in_trie"] == true, "{name}");
    }

    // Mutations, each refused with its specific error.
    let n = proof.account_proof.len();
    for i in 0..n {
        let mut m = proof.clone();
        let len = m.account_proof[i].len();
        m.account_proof[i][len / 2] ^= 0x10;
        assert!(
            matches!(
                m.verify(&root, &limits),
                Err(AccountError::Proof { source: ProofError::HashMismatch { index, .. }, .. }) if index == i
            ),
            "{name}: flipped node {i}"
        );
    }
    let mut m = proof.clone();
    m.account_proof.pop();
    assert!(
        matches!(m.verify(&root, &limits), Err(AccountError::Proof { source: ProofError::MissingNode { index }, .. }) if index == n - 1),
        "{name}: dropped node"
    );
    let mut m = proof.clone();
    m.account_proof.push(proof.account_proof[0].clone());
    assert!(
        matches!(
            m.verify(&root, &limits),
            Err(AccountError::Proof {
                source: ProofError::UnusedNodes { count: 1, .. },
                ..
            })
        ),
        "{name}: trailing node"
    );
    if n >= 2 {
        let mut m = proof.clone();
        m.account_proof.swap(0, 1);
        assert!(
            matches!(
                m.verify(&root, &limits),
                Err(AccountError::Proof {
                    source: ProofError::HashMismatch { index: 0, .. },
                    ..
                })
            ),
            "{name}: reordered"
        );
    }
    let mut other_root = root;
    other_root.0[0] ^= 1;
    assert!(matches!(
        proof.verify(&other_root, &limits),
        Err(AccountError::Proof {
            source: ProofError::HashMismatch { index: 0, .. },
            ..
        })
    ));
    let mut m = proof.clone();
    m.account.nonce += 1;
    assert!(
        matches!(
            m.verify(&root, &limits),
            Err(AccountError::AccountMismatch { .. })
        ),
        "{name}: nonce"
    );
    let mut m = proof.clone();
    m.account.balance.0[31] ^= 1;
    assert!(
        matches!(
            m.verify(&root, &limits),
            Err(AccountError::AccountMismatch { .. })
        ),
        "{name}: balance"
    );
    if let Some(first) = proof.storage.first() {
        let mut m = proof.clone();
        m.storage[0].value.0[31] ^= 1;
        assert!(
            matches!(
                m.verify(&root, &limits),
                Err(AccountError::StorageMismatch { .. })
            ),
            "{name}: value"
        );
        // The storage proof paired with another key.
        let mut m = proof.clone();
        m.storage[0].slot.0[0] ^= 0x80;
        let r = m.verify(&root, &limits);
        assert!(
            matches!(
                r,
                Err(AccountError::StorageMismatch { .. } | AccountError::StorageProof { .. })
            ),
            "{name}: wrong key {r:?} {first:?}"
        );
    }
}

#[test]
fn getproof_vectors() {
    let Some(dir) = evm_dir("getproof_vectors") else {
        return;
    };
    let hive = hive_chain(&dir);
    let mut files = 0;
    let mut accounts = 0;
    for (name, expect) in entries(&dir, "getproof") {
        let data = load(&dir.join("getproof").join(&name));
        if let Some(tags) = expect.get("by_block_tag") {
            for (tag, e) in tags.as_object().unwrap() {
                check_account(&dir, &name, &data[tag], e, &hive);
                accounts += 1;
            }
        } else if let Some(list) = expect.get("accounts") {
            for e in list.as_array().unwrap() {
                let addr = e["address"].as_str().unwrap();
                let obj = &data["accounts"][addr];
                check_account(&dir, &name, obj, e, &hive);
                accounts += 1;
            }
        } else {
            check_account(&dir, &name, &data, &expect, &hive);
            accounts += 1;
        }
        files += 1;
    }
    assert_eq!(files, 13);
    println!("getproof: {files} files, {accounts} account proofs pass");
}

#[test]
fn receipt_vectors() {
    let Some(dir) = evm_dir("receipt_vectors") else {
        return;
    };
    let limits = ProofLimits::default();
    let hive = hive_chain(&dir);
    let mut files = 0;
    for (name, expect) in entries(&dir, "receipts_txs") {
        let data = load(&dir.join("receipts_txs").join(&name));
        let header_root = |e: &Json| -> Hash32 {
            let file = e["header_file"].as_str().unwrap();
            if file == "headers/xapis_chain.rlp" {
                let n = e["block"].as_u64().unwrap();
                hive.iter()
                    .find(|b| b.header.number == n)
                    .unwrap()
                    .header
                    .receipts_root
            } else {
                Header::from_json(&common::read_json(&dir.join(file)))
                    .unwrap()
                    .receipts_root
            }
        };
        match name.as_str() {
            "helios_mainnet-21925176_receipt-proof.json" => {
                let p = &expect["proofs"][0];
                let root = h32(&p["valid_against_receiptsRoot"]);
                assert_eq!(root, header_root(&expect));
                let nodes: Vec<Vec<u8>> = data["receiptProof"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| hexb(n.as_str().unwrap()))
                    .collect();
                assert_eq!(nodes.len() as u64, p["proof_nodes"].as_u64().unwrap());
                let index = qty_u64(&p["transactionIndex"]);
                assert_eq!(
                    rlp::u64_bytes(index),
                    hexb(p["trie_key_hex"].as_str().unwrap())
                );
                let proof = ReceiptProof { index, nodes };
                let claimed = Receipt::from_json(&data["receipt"]).unwrap();
                assert_eq!(proof.verify(&root, &limits).unwrap(), claimed);
                for (i, log) in claimed.logs.iter().enumerate() {
                    assert_eq!(
                        &proof.verify_expected_log(&root, i, log, &limits).unwrap(),
                        log
                    );
                }
                let mut m = proof.clone();
                m.nodes[2][40] ^= 1;
                assert!(matches!(
                    m.verify(&root, &limits),
                    Err(ReceiptError::Proof {
                        source: ProofError::HashMismatch { index: 2, .. },
                        ..
                    })
                ));
                let mut wrong = claimed.logs[0].clone();
                wrong.topics[0].0[0] ^= 1;
                assert!(matches!(
                    proof.verify_expected_log(&root, 0, &wrong, &limits),
                    Err(ReceiptError::LogMismatch {
                        field: "topics",
                        ..
                    })
                ));
            }
            "xapis_debug_getRawReceipts_get-block-n.io" => {
                let encoded: Vec<Vec<u8>> = data
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| hexb(r.as_str().unwrap()))
                    .collect();
                assert_eq!(
                    encoded.len() as u64,
                    expect["receipt_count"].as_u64().unwrap()
                );
                for enc in &encoded {
                    assert_eq!(&Receipt::decode(enc).unwrap().encode(), enc);
                }
                let root = ordered_root(&encoded);
                assert_eq!(root, h32(&expect["receiptsRoot"]));
                assert_eq!(root, header_root(&expect));
            }
            _ => {
                let receipts: Vec<Receipt> = data
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| Receipt::from_json(r).unwrap())
                    .collect();
                assert_eq!(
                    receipts.len() as u64,
                    expect["receipt_count"].as_u64().unwrap()
                );
                let root = receipts_root(&receipts);
                assert_eq!(root, h32(&expect["receiptsRoot"]), "{name}");
                assert_eq!(root, header_root(&expect), "{name}");
                // Proofs for chosen indexes from the full set, and one exclusion.
                let mut trie = TrieBuilder::new();
                for (i, r) in receipts.iter().enumerate() {
                    trie.insert(&rlp::u64_bytes(i as u64), &r.encode()).unwrap();
                }
                let n = receipts.len() as u64;
                for index in [0, 1, 0x27, 127, 128, n - 1].into_iter().filter(|&i| i < n) {
                    let proof = ReceiptProof {
                        index,
                        nodes: build_proof(&trie, &rlp::u64_bytes(index)),
                    };
                    assert_eq!(
                        proof.verify(&root, &limits).unwrap(),
                        receipts[index as usize]
                    );
                }
                let absent = build_proof(&trie, &rlp::u64_bytes(n));
                verify_receipt_absent(&root, n, &absent, &limits).unwrap();
                let present = build_proof(&trie, &rlp::u64_bytes(0));
                assert_eq!(
                    verify_receipt_absent(&root, 0, &present, &limits),
                    Err(ReceiptError::Present { index: 0 })
                );
            }
        }
        files += 1;
    }
    assert_eq!(files, 5);
    println!("receipts_txs: {files} files pass");
}

fn trie_bytes(v: &Json) -> Vec<u8> {
    let s = v.as_str().unwrap();
    match s.strip_prefix("0x") {
        Some(h) => hex::decode(h).unwrap(),
        None => s.as_bytes().to_vec(),
    }
}

#[test]
fn trie_vectors() {
    let Some(dir) = evm_dir("trie_vectors") else {
        return;
    };
    let limits = ProofLimits::default();
    let mut cases = 0;
    for (name, expect) in entries(&dir, "trie") {
        if name == "trietestnextprev.json" {
            println!("trie: {name} skipped (ordered iteration is not offered by the trie)");
            continue;
        }
        let secure = name.to_lowercase().contains("securetrie");
        let file = common::read_json(&dir.join("trie").join(&name));
        let mut n = 0;
        for (case, t) in file.as_object().unwrap() {
            let ops: Vec<(Vec<u8>, Option<Vec<u8>>)> = match &t["in"] {
                Json::Array(list) => list
                    .iter()
                    .map(|kv| {
                        (
                            trie_bytes(&kv[0]),
                            (!kv[1].is_null()).then(|| trie_bytes(&kv[1])),
                        )
                    })
                    .collect(),
                Json::Object(map) => map
                    .iter()
                    .map(|(k, v)| {
                        (
                            trie_bytes(&Json::String(k.clone())),
                            (!v.is_null()).then(|| trie_bytes(v)),
                        )
                    })
                    .collect(),
                other => panic!("{case}: {other}"),
            };
            let mut trie = TrieBuilder::new();
            let mut model = BTreeMap::new();
            for (k, v) in ops {
                let key = if secure { keccak256(&k).0.to_vec() } else { k };
                match v {
                    Some(v) if !v.is_empty() => {
                        trie.insert(&key, &v).unwrap();
                        model.insert(key, v);
                    }
                    _ => {
                        trie.remove(&key);
                        model.remove(&key);
                    }
                }
            }
            let root = trie.root();
            assert_eq!(root, h32(&t["root"]), "{name}/{case}");
            // Every key proves its value from a proof built on the same set.
            let wide = ProofLimits {
                max_key_bytes: 256,
                ..limits
            };
            for (k, v) in &model {
                let proof = build_proof(&trie, k);
                assert_eq!(
                    verify_proof(&root, k, &proof, &wide).unwrap().as_ref(),
                    Some(v),
                    "{name}/{case}"
                );
            }
            n += 1;
        }
        assert_eq!(n, expect["cases"].as_u64().unwrap(), "{name}");
        cases += n;
    }
    println!("trie: {cases} root cases pass");
}

/// The verifier API end to end on mainnet data: a checkpoint from config, a later header
/// accepted under k-of-n attestations (the weaker trust model), then the deposit contract's
/// account proof and a log of a real receipt proof checked against that verified header.
#[test]
fn verifier_on_mainnet_header_receipt_and_account() {
    use corridor_light_client::evm::attest::{attestation_digest, Attestation, AttestorKey};
    use corridor_light_client::evm::verifier::{
        EvmError, EvmLightBlock, EvmTrustedState, EvmVerifier, TrustRule,
    };
    use corridor_light_client::evm::WeakTrustAttestationQuorum;
    use corridor_light_client::signature::SigningKey;
    use corridor_light_client::Time;

    let Some(dir) = evm_dir("verifier_on_mainnet_header_receipt_and_account") else {
        return;
    };
    let operators: Vec<SigningKey> = (1u8..=3).map(|i| SigningKey::from_seed([i; 32])).collect();
    let keys: Vec<AttestorKey> = operators
        .iter()
        .map(|k| AttestorKey::Ed25519(k.public_key()))
        .collect();
    let rule =
        TrustRule::WeakTrustAttestations(WeakTrustAttestationQuorum::new(1, &keys, 2).unwrap());
    let checkpoint = Header::from_json(&common::read_json(
        &dir.join("headers/ethereumjs_mainnet-500000.json"),
    ))
    .unwrap();
    let checkpoint_hash = checkpoint.hash();
    let trusted = EvmTrustedState::from_checkpoint(&rule, checkpoint, &checkpoint_hash).unwrap();
    let verifier = EvmVerifier::new(rule);

    let block = common::read_json(&dir.join("headers/helios_mainnet-21925176_block.json"));
    let header = Header::from_json(&block).unwrap();
    let digest = attestation_digest(1, header.number, &header.hash());
    let attest = |k: &SigningKey| Attestation::Ed25519 {
        key: k.public_key(),
        signature: k.sign(&digest.0),
    };
    let now = Time::from_unix_secs(header.timestamp + 12).unwrap();
    let one = EvmLightBlock::Attested {
        header: Box::new(header.clone()),
        attestations: vec![attest(&operators[0])],
    };
    assert!(matches!(
        verifier.verify(&trusted, &one, now),
        Err(EvmError::Attestation(_))
    ));
    let two = EvmLightBlock::Attested {
        header: Box::new(header.clone()),
        attestations: vec![attest(&operators[0]), attest(&operators[2])],
    };
    let state = verifier.verify(&trusted, &two, now).unwrap();
    let verified = state.verified();
    assert_eq!(verified.hash(), h32(&block["hash"]));

    let rp =
        common::read_json(&dir.join("receipts_txs/helios_mainnet-21925176_receipt-proof.json"));
    let proof = ReceiptProof {
        index: 0x27,
        nodes: rp["receiptProof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| hexb(n.as_str().unwrap()))
            .collect(),
    };
    let log = verified
        .verify_receipt_log(&proof, 0, &verifier.limits)
        .unwrap();
    assert_eq!(
        log.address,
        Address::from_hex("0x00000000219ab540356cbb839cbe05303d7705fa").unwrap()
    );
    let mut other = proof.clone();
    other.index = 0x28;
    assert!(matches!(
        verified.verify_receipt_log(&other, 0, &verifier.limits),
        Err(EvmError::Receipt(
            ReceiptError::Proof { index: 0x28, .. } | ReceiptError::Absent { index: 0x28 }
        ))
    ));

    let account =
        common::read_json(&dir.join("getproof/helios_mainnet-21925176_deposit-contract.json"));
    let account = AccountProof::from_json(&account, None).unwrap();
    assert!(verified.verify_account(&account, &verifier.limits).unwrap());
}

/// The runner behind `corridor vectors evm DIR` passes every shared file but the ordered
/// iteration file (reported as an unsupported kind), and fails a file whose expected
/// result is not reproduced.
#[test]
fn vector_runner_gives_every_expected_result() {
    use corridor_light_client::evm::vectors::{run, Status};
    let Some(dir) = evm_dir("vector_runner_gives_every_expected_result") else {
        return;
    };
    let outcomes = run(&dir).unwrap();
    for o in &outcomes {
        println!(
            "{:?} {}  expected {}  got {}",
            o.status, o.name, o.expected, o.got
        );
    }
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let unsupported: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.status == Status::UnsupportedKind)
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        unsupported,
        [
            "headers/xapis_genesis.json",
            "headers/xapis_forkenv.json",
            "trie/trietestnextprev.json"
        ]
    );
    assert_eq!(outcomes.len(), 52);

    // A copy of the folder with one nibble of a receipt proof flipped, and one header's
    // field changed (so it no longer hashes to its claimed hash): they fail, the rest pass.
    let copy = corridor_light_client::testkit::TempDir::new("evm-vectors");
    for entry in manifest(&dir) {
        let file = entry["file"].as_str().unwrap();
        let to = copy.path().join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(dir.join(file), &to).unwrap();
    }
    std::fs::copy(dir.join("manifest.json"), copy.path().join("manifest.json")).unwrap();
    let proof_file = copy
        .path()
        .join("receipts_txs/helios_mainnet-21925176_receipt-proof.json");
    let mut data = common::read_json(&proof_file);
    let node = data["receiptProof"][1].as_str().unwrap().to_owned();
    let flipped = format!(
        "{}{}{}",
        &node[..80],
        if &node[80..81] == "0" { "1" } else { "0" },
        &node[81..]
    );
    data["receiptProof"][1] = Json::String(flipped);
    std::fs::write(&proof_file, data.to_string()).unwrap();
    let header_file = copy.path().join("headers/ethereumjs_mainnet-500000.json");
    let mut data = common::read_json(&header_file);
    data["gasUsed"] = Json::String("0x1".into());
    std::fs::write(&header_file, data.to_string()).unwrap();
    let outcomes = run(copy.path()).unwrap();
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .map(|o| o.name.as_str())
        .collect();
    // The provider file's account proofs take their state root from that header, which no
    // longer hashes to its claimed hash: they fail with it.
    assert_eq!(
        failed,
        [
            "getproof/ethereumjs_provider_0x580992b5.json",
            "headers/ethereumjs_mainnet-500000.json",
            "receipts_txs/helios_mainnet-21925176_receipt-proof.json"
        ]
    );
}

/// The runner's `#` inputs are decimal big integers, read digit by digit into minimal
/// big-endian bytes; any other character after the `#` is refused, the one just past '9'
/// included.
#[test]
fn rlp_test_inputs_read_decimal_big_integers() {
    use corridor_light_client::evm::vectors::rlp_value;
    let cases: [(&str, Vec<u8>); 6] = [
        ("#0", vec![]),
        ("#9", vec![9]),
        ("#255", vec![0xff]),
        ("#256", vec![1, 0]),
        ("#65536", vec![1, 0, 0]),
        (
            // 2^256 - 1
            "#115792089237316195423570985008687907853269984665640564039457584007913129639935",
            vec![0xff; 32],
        ),
    ];
    for (input, bytes) in cases {
        assert_eq!(
            rlp_value(&Json::String(input.into())).unwrap(),
            Value::Bytes(bytes),
            "{input}"
        );
    }
    for bad in ["#1:", "#:", "#1/", "#12a", "#1 "] {
        let err = rlp_value(&Json::String(bad.into())).unwrap_err();
        assert_eq!(err, format!("{bad}: not decimal"));
    }
}

/// What the runner reports for each file of the shared folder (the lines of
/// `corridor vectors evm DIR`): the counts each file expects and the ones it gave.
#[test]
fn vector_runner_reports_what_each_file_expected_and_gave() {
    use corridor_light_client::evm::vectors::{run, Status};
    let Some(dir) = evm_dir("vector_runner_reports_what_each_file_expected_and_gave") else {
        return;
    };
    let outcomes = run(&dir).unwrap();
    let report: BTreeMap<&str, (&str, &str)> = outcomes
        .iter()
        .map(|o| (o.name.as_str(), (o.expected.as_str(), o.got.as_str())))
        .collect();
    let one_present = ("1 account proofs", "1 verified (1 present, 0 absent)");
    let one_absent = ("1 account proofs", "1 verified (0 present, 1 absent)");
    let two_present = ("2 account proofs", "2 verified (2 present, 0 absent)");
    let head = "d226371d0b1551adb03fb52b71f08e3e11247fe9b1af994768af8cdaa8e7dcd7";
    let chain_expected = format!("54 linked blocks, head {head}");
    let chain_got = format!("54 linked, head {head}");
    let fcu = format!("head {head} = block 54");
    let raw_header = "b8a651cb280e169015aef5235a141cb2d905058d1ff9bba788b7ad2c729c9837";
    let raw_block = format!("hash {raw_header}, 3 transactions");
    let root = "f883e1a2fb8df9d1d988dec80f13c8aca724590ac357e45e30e0d48b1fbd64ee";
    let receipts = format!("receiptsRoot {root} of 202 receipts");
    let receipts_got = format!("{root}, the header's");
    let proof = format!("receipt 39 proven against {root}");
    let raw = "3417d994b491ae828185aab9cedeaf66d8c658c3fb425ab6b5a0a04f32c0c82d";
    let raw_receipts = format!("receiptsRoot {raw} of 3 receipts");
    let raw_got = format!("{raw}, the header's");
    let ethtests = ("1 block hashes and their genesis", "all equal");
    let expected: [(&str, (&str, &str)); 28] = [
        (
            "getproof/helios_mainnet-21925176_deposit-contract.json",
            one_present,
        ),
        (
            "getproof/helios_mainnet-21925176_access-list-accounts.json",
            one_present,
        ),
        (
            "getproof/ethereumjs_ropsten_contractWithStorage.json",
            one_present,
        ),
        (
            "getproof/ethereumjs_ropsten_nonexistentAccount.json",
            one_absent,
        ),
        ("getproof/ethereumjs_provider_0x580992b5.json", two_present),
        ("getproof/ethereumjs_provider_0x00000000.json", two_present),
        ("getproof/ethereumjs_provider_0xccafdd64.json", one_absent),
        ("getproof/ethereumjs_provider_0xd8da6bf2.json", one_present),
        (
            "getproof/xapis_get-account-proof-with-storage.io",
            one_present,
        ),
        (
            "headers/ethereumjs_mainnet-1-to-5_blocks.json",
            (
                "5 blocks linked from the mainnet genesis",
                "linked, hashes equal",
            ),
        ),
        ("headers/xapis_chain.rlp", (&chain_expected, &chain_got)),
        ("headers/xapis_headfcu.json", (&fcu, "equal")),
        (
            "headers/xapis_debug_getRawBlock_get-block-n.io",
            (&raw_block, raw_header),
        ),
        (
            "headers/ethtests_blockWithAllTransactionTypes.json",
            ethtests,
        ),
        ("headers/ethtests_shanghaiExample.json", ethtests),
        ("headers/ethtests_basefeeExample.json", ethtests),
        (
            "receipts_txs/helios_mainnet-21925176_receipts.json",
            (&receipts, &receipts_got),
        ),
        (
            "receipts_txs/helios_mainnet-21925176_receipt-proof.json",
            (&proof, "proven with its 1 logs"),
        ),
        (
            "receipts_txs/xapis_debug_getRawReceipts_get-block-n.io",
            (&raw_receipts, &raw_got),
        ),
        ("trie/trietest.json", ("5 roots", "all equal")),
        ("trie/trieanyorder.json", ("7 roots", "all equal")),
        (
            "trie/hex_encoded_securetrie_test.json",
            ("3 roots", "all equal"),
        ),
        ("trie/trietest_secureTrie.json", ("3 roots", "all equal")),
        ("rlp/rlptest.json", ("28 round trips", "all equal")),
        (
            "rlp/invalidRLPTest.json",
            ("26 inputs refused", "all refused"),
        ),
        (
            "headers/xapis_genesis.json",
            (
                "-",
                "unsupported kind: a genesis or fork specification, with no header to hash",
            ),
        ),
        (
            "headers/xapis_forkenv.json",
            (
                "-",
                "unsupported kind: a genesis or fork specification, with no header to hash",
            ),
        ),
        (
            "trie/trietestnextprev.json",
            (
                "-",
                "unsupported kind: ordered iteration (next/previous key), which the trie does \
                 not offer",
            ),
        ),
    ];
    for (name, want) in expected {
        assert_eq!(report.get(name), Some(&want), "{name}");
    }
    // Each single header reports its hash as expected and as found.
    for o in outcomes.iter().filter(|o| o.status == Status::Passed) {
        if let Some(hash) = o.expected.strip_prefix("hash ") {
            // A raw block adds its transaction count.
            let hash = hash.split(',').next().unwrap();
            assert_eq!(o.got, hash, "{}", o.name);
            assert_eq!(hash.len(), 64, "{}", o.name);
        }
    }
}

/// A folder holding only `files` (name, contents, and the `expect` object of those the
/// manifest lists); the runner's outcome of each listed file, by name.
fn run_folder(files: &[(&str, Vec<u8>, Option<Json>)]) -> BTreeMap<String, (String, String)> {
    use corridor_light_client::evm::vectors::{run, Status};
    let folder = corridor_light_client::testkit::TempDir::new("evm-runner");
    let mut listed = vec![];
    for (name, contents, expect) in files {
        let path = folder.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        if let Some(expect) = expect {
            listed.push(serde_json::json!({ "file": name, "expect": expect }));
        }
    }
    let manifest = serde_json::json!({ "files": listed });
    std::fs::write(folder.path().join("manifest.json"), manifest.to_string()).unwrap();
    run(folder.path())
        .unwrap()
        .into_iter()
        .map(|o| {
            let status = match o.status {
                Status::Passed => "passed",
                Status::Failed => "failed",
                Status::UnsupportedKind => "unsupported",
            };
            (o.name, (status.to_owned(), o.got))
        })
        .collect()
}

/// In a trie file, an empty value deletes its key, as a null one does, whatever the key's
/// length: deleting a key longer than any the trie can hold changes nothing, while
/// inserting one fails the file.
#[test]
fn vector_runner_deletes_a_key_given_an_empty_value_whatever_its_length() {
    let mut one = TrieBuilder::new();
    one.insert(b"do", b"verb").unwrap();
    let root = format!("0x{}", hex::encode(one.root().0));
    let long = format!("0x{}", "ab".repeat(TrieBuilder::MAX_KEY_BYTES + 1));
    let case = |value: Json| {
        serde_json::json!({
            "case": { "in": [["do", "verb"], [long, value]], "root": root }
        })
        .to_string()
        .into_bytes()
    };
    let expect = Some(serde_json::json!({ "cases": 1 }));
    let outcomes = run_folder(&[
        (
            "trie/empty.json",
            case(Json::String(String::new())),
            expect.clone(),
        ),
        ("trie/null.json", case(Json::Null), expect.clone()),
        ("trie/set.json", case(Json::String("x".into())), expect),
    ]);
    assert_eq!(outcomes["trie/empty.json"].0, "passed");
    assert_eq!(outcomes["trie/null.json"].0, "passed");
    let (status, got) = &outcomes["trie/set.json"];
    assert_eq!(status, "failed");
    assert!(got.starts_with("error: ") && got.contains("257"), "{got}");
}

/// A block of the hive chain's API files (`xapis_eth_getBlockByNumber_*`) must be that
/// chain's block of its number: a block that hashes to what it claims but is another
/// chain's block 3 fails there, and passes under another name.
#[test]
fn vector_runner_checks_hive_blocks_against_the_hive_chain() {
    let Some(dir) = evm_dir("vector_runner_checks_hive_blocks_against_the_hive_chain") else {
        return;
    };
    let chain = std::fs::read(dir.join("headers/xapis_chain.rlp")).unwrap();
    // Block 3 of mainnet, in a JSON-RPC response as the API files hold their blocks.
    let blocks = common::read_json(&dir.join("headers/ethereumjs_mainnet-1-to-5_blocks.json"));
    let block = &blocks[2]["header"];
    let hash = Header::from_json(block).unwrap().hash();
    let io = format!(
        ">> {{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_getBlockByNumber\"}}\n<< {}\n",
        serde_json::json!({ "jsonrpc": "2.0", "id": 1, "result": block })
    )
    .into_bytes();
    let expect = Some(serde_json::json!({ "number": 3, "hash": hash.to_string() }));
    let hive_name = "headers/xapis_eth_getBlockByNumber_get-block-3.io";
    let other_name = "headers/mainnet_get-block-3.io";
    // The hive chain is in the folder (the runner reads it from there) but not listed.
    let outcomes = run_folder(&[
        ("headers/xapis_chain.rlp", chain, None),
        (hive_name, io.clone(), expect.clone()),
        (other_name, io, expect),
    ]);
    let (status, got) = &outcomes[hive_name];
    assert_eq!(status, "failed");
    assert!(got.contains("the hive chain's block 3 is"), "{got}");
    assert_eq!(
        outcomes[other_name].0, "passed",
        "{}",
        outcomes[other_name].1
    );
}

/// A getproof entry's state root said to come from a header file is checked against that
/// file: the right header passes, another header (another root) fails, and a file that is
/// not a JSON header fails rather than leaving the root unchecked.
#[test]
fn vector_runner_checks_a_state_root_against_the_header_it_names() {
    let Some(dir) = evm_dir("vector_runner_checks_a_state_root_against_the_header_it_names") else {
        return;
    };
    let file = "getproof/ethereumjs_provider_0x580992b5.json";
    let entry = manifest(&dir)
        .into_iter()
        .find(|e| e["file"] == file)
        .unwrap();
    let with_from = |from: &str| {
        let mut expect = entry["expect"].clone();
        for tag in expect["by_block_tag"].as_object_mut().unwrap().values_mut() {
            let named = tag["state_root_from"].as_str().unwrap();
            // The tag whose root is block 499999's.
            if named.starts_with("headers/ethereumjs_mainnet-499999.json") {
                tag["state_root_from"] = Json::String(from.to_owned());
            }
        }
        Some(expect)
    };
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let proofs = read(file);
    let mut files = vec![];
    for header in [
        "headers/ethereumjs_mainnet-499999.json",
        "headers/ethereumjs_mainnet-500000.json",
        "headers/xapis_chain.rlp",
    ] {
        files.push((header, read(header), None));
    }
    let names = [
        "getproof/right.json",
        "getproof/other_header.json",
        "getproof/not_json.json",
    ];
    let froms = [
        "headers/ethereumjs_mainnet-499999.json (stateRoot)",
        "headers/ethereumjs_mainnet-500000.json (stateRoot)",
        "headers/xapis_chain.rlp (block 1)",
    ];
    for (name, from) in names.iter().zip(froms) {
        files.push((name, proofs.clone(), with_from(from)));
    }
    let outcomes = run_folder(&files);
    assert_eq!(outcomes[names[0]].0, "passed", "{}", outcomes[names[0]].1);
    let (status, got) = &outcomes[names[1]];
    assert_eq!(status, "failed");
    assert!(got.contains("500000.json (stateRoot): state root"), "{got}");
    let (status, got) = &outcomes[names[2]];
    assert_eq!(status, "failed");
    assert!(got.contains("xapis_chain.rlp: "), "{got}");
}
