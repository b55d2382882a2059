//! Runner of the shared EVM vector folders (`../shared/vectors/evm`, its README.md and
//! manifest.json): one [`Outcome`] per file, for `corridor vectors evm DIR` and the
//! light client's tests (feature `testkit`).
//!
//! `DIR` is the folder that holds `manifest.json`; each file listed there is checked
//! against the manifest's `expect` object by the rules of its folder:
//! - `rlp/`: every valid case encodes to its `out` and decodes back; every invalid input
//!   is refused;
//! - `trie/`: every case's root, keys hashed in the secure-trie files; `trietestnextprev`
//!   tests ordered iteration, which the trie does not offer: [`Status::UnsupportedKind`];
//! - `receipts_txs/`: the receipts root of a block's receipts (JSON or raw), equal to the
//!   manifest's and to the header's; the receipt proof against the header's root, with its
//!   logs;
//! - `headers/`: the Keccak-256 hash, number and field count of each header (JSON-RPC
//!   objects, raw RLP, blocks, ethereum/tests fixtures), parent links of header lists, the
//!   hive chain's head; the hive chain's genesis and fork specs carry no header and are
//!   [`Status::UnsupportedKind`];
//! - `getproof/`: each account proof (and its storage proofs) against the trusted state
//!   root, present or absent as expected, the root taken from its header where one exists.
//!
//! The light client's tests (`tests/evm_vectors.rs`) check more on the same files
//! (mutations refused with their reasons, proofs built from full sets); this runner gives
//! each file's expected results, and never panics on a bad file: it fails it.
#![allow(clippy::arithmetic_side_effects)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;

use super::account::AccountProof;
use super::header::{check_linkage, Header};
use super::receipt::{receipts_root, Receipt, ReceiptProof};
use super::rlp::{self, Value};
use super::trie::{ordered_root, ProofLimits, TrieBuilder};
use super::{keccak256, Address};
use crate::types::Hash32;

/// How one vector file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every expected result was reproduced.
    Passed,
    /// One was not, or the file could not be run.
    Failed,
    /// A kind of file this runner does not check.
    UnsupportedKind,
}

/// The outcome of one vector file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The file, relative to the folder (`headers/xapis_chain.rlp`).
    pub name: String,
    /// What the file expects.
    pub expected: String,
    /// What the light client gave, or why the file failed or is not supported.
    pub got: String,
    /// How it ended.
    pub status: Status,
}

type R<T> = Result<T, String>;

/// Runs every file listed in `dir/manifest.json`, in the manifest's order.
///
/// # Errors
/// When the manifest cannot be read; a file that cannot be read or checked fails alone.
pub fn run(dir: &Path) -> R<Vec<Outcome>> {
    let manifest = read_json(&dir.join("manifest.json"))?;
    let files = manifest
        .get("files")
        .and_then(Json::as_array)
        .ok_or("manifest.json: no files list")?;
    let hive = hive_chain(dir);
    Ok(files
        .iter()
        .map(|entry| {
            let name = entry
                .get("file")
                .and_then(Json::as_str)
                .unwrap_or("?")
                .to_owned();
            let expect = entry.get("expect").cloned().unwrap_or(Json::Null);
            match run_file(dir, &name, &expect, &hive) {
                Ok(Checked::Done { expected, got }) => Outcome {
                    name,
                    expected,
                    got,
                    status: Status::Passed,
                },
                Ok(Checked::Unsupported(why)) => Outcome {
                    name,
                    expected: "-".into(),
                    got: format!("unsupported kind: {why}"),
                    status: Status::UnsupportedKind,
                },
                Err(e) => Outcome {
                    name,
                    expected: "its manifest expectations".into(),
                    got: format!("error: {e}"),
                    status: Status::Failed,
                },
            }
        })
        .collect())
}

enum Checked {
    Done { expected: String, got: String },
    Unsupported(&'static str),
}

fn done(expected: impl Into<String>, got: impl Into<String>) -> R<Checked> {
    Ok(Checked::Done {
        expected: expected.into(),
        got: got.into(),
    })
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> R<()> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

fn read_json(path: &Path) -> R<Json> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: bad JSON: {e}", path.display()))
}

/// A JSON file, or the `result` of the response line (`<< {...}`) of a `.io` file.
fn load(path: &Path) -> R<Json> {
    if path.extension().is_none_or(|e| e != "io") {
        return read_json(path);
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("<<"))
        .ok_or("no response line")?;
    let response: Json = serde_json::from_str(line.trim()).map_err(|e| e.to_string())?;
    response
        .get("result")
        .cloned()
        .ok_or_else(|| "no result".into())
}

fn text<'a>(v: &'a Json, what: &str) -> R<&'a str> {
    v.as_str().ok_or_else(|| format!("{what}: not a string"))
}

fn hexb(s: &str) -> R<Vec<u8>> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|e| format!("{s:.20}: {e}"))
}

fn h32(v: &Json, what: &str) -> R<Hash32> {
    let b = hexb(text(v, what)?)?;
    <[u8; 32]>::try_from(b)
        .map(Hash32)
        .map_err(|_| format!("{what}: not 32 bytes"))
}

fn int(v: &Json, what: &str) -> R<u64> {
    match v {
        Json::Number(n) => n.as_u64().ok_or_else(|| format!("{what}: not a u64")),
        Json::String(s) => {
            let digits = s.strip_prefix("0x").ok_or_else(|| format!("{what}: {s}"))?;
            u64::from_str_radix(digits, 16).map_err(|e| format!("{what}: {e}"))
        }
        _ => Err(format!("{what}: not a number")),
    }
}

fn list<'a>(v: &'a Json, what: &str) -> R<&'a Vec<Json>> {
    v.as_array().ok_or_else(|| format!("{what}: not a list"))
}

/// The hive chain (`headers/xapis_chain.rlp`): header and hash of each block.
fn hive_chain(dir: &Path) -> R<Vec<(Header, Hash32)>> {
    let data = std::fs::read(dir.join("headers/xapis_chain.rlp")).map_err(|e| e.to_string())?;
    let items = rlp::decode_stream(&data).map_err(|e| e.to_string())?;
    items
        .iter()
        .map(|block| {
            let parts = block.as_list().map_err(|e| e.to_string())?;
            let raw = parts.first().ok_or("empty block")?.raw;
            Header::decode(raw).map_err(|e| e.to_string())
        })
        .collect()
}

fn hive_block(hive: &R<Vec<(Header, Hash32)>>, number: u64) -> R<&(Header, Hash32)> {
    hive.as_ref()
        .map_err(|e| format!("headers/xapis_chain.rlp: {e}"))?
        .iter()
        .find(|(h, _)| h.number == number)
        .ok_or_else(|| format!("no block {number} in the hive chain"))
}

fn run_file(dir: &Path, name: &str, e: &Json, hive: &R<Vec<(Header, Hash32)>>) -> R<Checked> {
    let path = dir.join(name);
    let (folder, file) = name.split_once('/').ok_or("not in a folder")?;
    match folder {
        "rlp" => run_rlp(&path, file),
        "trie" => run_trie(&path, file, e),
        "receipts_txs" => run_receipts(dir, &path, file, e, hive),
        "headers" => run_header(&path, file, e, hive),
        "getproof" => run_getproof(dir, &path, e, hive),
        _ => Ok(Checked::Unsupported("a folder the EVM vectors do not have")),
    }
}

/// An RLP test's input (ethereum/tests `RLPTests`) as the value it encodes: `#` marks a
/// decimal big integer; strings, numbers and lists as they are.
pub fn rlp_value(v: &Json) -> R<Value> {
    let minimal = |be: &[u8]| {
        let skip = be.iter().take_while(|&&b| b == 0).count();
        Value::Bytes(be.get(skip..).unwrap_or_default().to_vec())
    };
    Ok(match v {
        Json::String(s) if s.starts_with('#') => {
            // A decimal big integer, as big-endian bytes.
            let mut be: Vec<u8> = vec![];
            for digit in s.bytes().skip(1) {
                let mut carry = u32::from(digit.wrapping_sub(b'0'));
                ensure(carry < 10, || format!("{s}: not decimal"))?;
                for b in be.iter_mut().rev() {
                    let x = u32::from(*b) * 10 + carry;
                    *b = (x & 0xff) as u8;
                    carry = x >> 8;
                }
                // `carry` is below 256 here (at most (255 * 10 + 9) >> 8 = 9), so the loop
                // runs at most once; shifting it left instead (`<<=`) would only add
                // leading zero bytes, which `minimal` drops.
                while carry > 0 {
                    be.insert(0, (carry & 0xff) as u8);
                    carry >>= 8;
                }
            }
            minimal(&be)
        }
        Json::String(s) => Value::Bytes(s.as_bytes().to_vec()),
        Json::Number(n) => minimal(&n.as_u64().ok_or("not a u64")?.to_be_bytes()),
        Json::Array(items) => Value::List(items.iter().map(rlp_value).collect::<R<_>>()?),
        other => return Err(format!("unexpected RLP test input {other}")),
    })
}

fn run_rlp(path: &Path, file: &str) -> R<Checked> {
    let cases = read_json(path)?;
    let cases = cases.as_object().ok_or("not an object")?;
    let invalid = file.starts_with("invalid");
    for (name, case) in cases {
        let out = hexb(text(&case["out"], name)?)?;
        if invalid {
            if let Ok(v) = rlp::decode(&out) {
                return Err(format!("{name}: accepted as {:?}", Value::from(&v)));
            }
        } else {
            let value = rlp_value(&case["in"]).map_err(|x| format!("{name}: {x}"))?;
            ensure(value.encode() == out, || {
                format!("{name}: encodes otherwise")
            })?;
            let back = rlp::decode(&out).map_err(|x| format!("{name}: {x}"))?;
            ensure(Value::from(&back) == value, || {
                format!("{name}: decodes otherwise")
            })?;
        }
    }
    if invalid {
        done(format!("{} inputs refused", cases.len()), "all refused")
    } else {
        done(format!("{} round trips", cases.len()), "all equal")
    }
}

fn trie_bytes(v: &Json) -> R<Vec<u8>> {
    let s = text(v, "trie key or value")?;
    match s.strip_prefix("0x") {
        Some(h) => hexb(h),
        None => Ok(s.as_bytes().to_vec()),
    }
}

fn run_trie(path: &Path, file: &str, e: &Json) -> R<Checked> {
    if file == "trietestnextprev.json" {
        return Ok(Checked::Unsupported(
            "ordered iteration (next/previous key), which the trie does not offer",
        ));
    }
    let secure = file.to_lowercase().contains("securetrie");
    let cases = read_json(path)?;
    let cases = cases.as_object().ok_or("not an object")?;
    for (case, t) in cases {
        let ops: Vec<(Vec<u8>, Option<Vec<u8>>)> = match &t["in"] {
            Json::Array(items) => items
                .iter()
                .map(|kv| {
                    let value = match &kv[1] {
                        Json::Null => None,
                        v => Some(trie_bytes(v)?),
                    };
                    Ok((trie_bytes(&kv[0])?, value))
                })
                .collect::<R<_>>()?,
            Json::Object(map) => map
                .iter()
                .map(|(k, v)| {
                    let value = match v {
                        Json::Null => None,
                        v => Some(trie_bytes(v)?),
                    };
                    Ok((trie_bytes(&Json::String(k.clone()))?, value))
                })
                .collect::<R<_>>()?,
            other => return Err(format!("{case}: input {other}")),
        };
        let mut trie = TrieBuilder::new();
        for (k, v) in ops {
            let key = if secure { keccak256(&k).0.to_vec() } else { k };
            match v {
                Some(v) if !v.is_empty() => trie.insert(&key, &v).map_err(|x| x.to_string())?,
                _ => trie.remove(&key),
            }
        }
        let want = h32(&t["root"], case)?;
        ensure(trie.root() == want, || {
            format!("{case}: root {}, expected {want}", trie.root())
        })?;
    }
    let expected = int(&e["cases"], "cases")?;
    ensure(cases.len() as u64 == expected, || {
        format!("{} cases, the manifest lists {expected}", cases.len())
    })?;
    done(format!("{expected} roots"), "all equal")
}

fn run_receipts(
    dir: &Path,
    path: &Path,
    file: &str,
    e: &Json,
    hive: &R<Vec<(Header, Hash32)>>,
) -> R<Checked> {
    let data = load(path)?;
    let header_file = text(&e["header_file"], "header_file")?;
    let header_root = if header_file == "headers/xapis_chain.rlp" {
        hive_block(hive, int(&e["block"], "block")?)?
            .0
            .receipts_root
    } else {
        Header::from_json(&read_json(&dir.join(header_file))?)
            .map_err(|x| format!("{header_file}: {x}"))?
            .receipts_root
    };
    if file.contains("receipt-proof") {
        let p = &e["proofs"][0];
        let root = h32(
            &p["valid_against_receiptsRoot"],
            "valid_against_receiptsRoot",
        )?;
        ensure(root == header_root, || {
            format!("header's receipts root is {header_root}")
        })?;
        let nodes = list(&data["receiptProof"], "receiptProof")?
            .iter()
            .map(|n| hexb(text(n, "proof node")?))
            .collect::<R<Vec<_>>>()?;
        let index = int(&p["transactionIndex"], "transactionIndex")?;
        let proof = ReceiptProof { index, nodes };
        let claimed = Receipt::from_json(&data["receipt"]).map_err(|x| x.to_string())?;
        let limits = ProofLimits::default();
        let proven = proof.verify(&root, &limits).map_err(|x| x.to_string())?;
        ensure(proven == claimed, || "the proven receipt differs".into())?;
        for (i, log) in claimed.logs.iter().enumerate() {
            proof
                .verify_expected_log(&root, i, log, &limits)
                .map_err(|x| x.to_string())?;
        }
        return done(
            format!("receipt {index} proven against {root}"),
            format!("proven with its {} logs", claimed.logs.len()),
        );
    }
    let items = list(&data, "receipts")?;
    let root = if data
        .as_array()
        .and_then(|a| a.first())
        .is_some_and(Json::is_string)
    {
        // Raw receipts (debug_getRawReceipts): each must re-encode to itself.
        let encoded = items
            .iter()
            .map(|r| hexb(text(r, "raw receipt")?))
            .collect::<R<Vec<_>>>()?;
        for enc in &encoded {
            let r = Receipt::decode(enc).map_err(|x| x.to_string())?;
            ensure(&r.encode() == enc, || {
                "a receipt re-encodes otherwise".into()
            })?;
        }
        ordered_root(&encoded)
    } else {
        let receipts = items
            .iter()
            .map(|r| Receipt::from_json(r).map_err(|x| x.to_string()))
            .collect::<R<Vec<_>>>()?;
        receipts_root(&receipts)
    };
    let count = int(&e["receipt_count"], "receipt_count")?;
    ensure(items.len() as u64 == count, || {
        format!("{} receipts", items.len())
    })?;
    let want = h32(&e["receiptsRoot"], "receiptsRoot")?;
    ensure(root == want, || format!("root {root}"))?;
    ensure(root == header_root, || {
        format!("header's receipts root is {header_root}")
    })?;
    done(
        format!("receiptsRoot {want} of {count} receipts"),
        format!("{root}, the header's"),
    )
}

fn header_expectations(header: &Header, hash: Hash32, e: &Json) -> R<(String, String)> {
    let want = h32(e.get("hash").unwrap_or(&e["header_hash"]), "hash")?;
    ensure(hash == want, || format!("hash {hash}"))?;
    if let Some(n) = e.get("number") {
        let n = int(n, "number")?;
        ensure(header.number == n, || format!("number {}", header.number))?;
    }
    if let Some(c) = e.get("rlp_field_count") {
        let c = int(c, "rlp_field_count")?;
        ensure(header.field_count() as u64 == c, || {
            format!("{} fields", header.field_count())
        })?;
    }
    Ok((format!("hash {want}"), format!("{hash}")))
}

fn run_header(path: &Path, file: &str, e: &Json, hive: &R<Vec<(Header, Hash32)>>) -> R<Checked> {
    match file {
        "xapis_genesis.json" | "xapis_forkenv.json" => Ok(Checked::Unsupported(
            "a genesis or fork specification, with no header to hash",
        )),
        "xapis_chain.rlp" => {
            let chain = hive.as_ref().map_err(Clone::clone)?;
            let count = int(&e["blocks"], "blocks")?;
            ensure(chain.len() as u64 == count, || {
                format!("{} blocks", chain.len())
            })?;
            let headers: Vec<Header> = chain.iter().map(|(h, _)| h.clone()).collect();
            let last = check_linkage(None, &headers).map_err(|x| x.to_string())?;
            let head = h32(&e["head_hash"], "head_hash")?;
            ensure(last == Some(head), || format!("head {last:?}"))?;
            done(
                format!("{count} linked blocks, head {head}"),
                format!("{} linked, head {head}", chain.len()),
            )
        }
        "xapis_headfcu.json" => {
            let fcu = read_json(path)?;
            let head = h32(&fcu["params"][0]["headBlockHash"], "headBlockHash")?;
            let block54 = hive_block(hive, 54)?.1;
            ensure(head == block54, || format!("block 54 is {block54}"))?;
            done(format!("head {head} = block 54"), "equal")
        }
        "xapis_debug_getRawHeader_get-block-n.io" => {
            let raw = hexb(text(&load(path)?, "result")?)?;
            let (header, hash) = Header::decode(&raw).map_err(|x| x.to_string())?;
            let (want, got) = header_expectations(&header, hash, e)?;
            done(want, got)
        }
        "xapis_debug_getRawBlock_get-block-n.io" => {
            let raw = hexb(text(&load(path)?, "result")?)?;
            let block = rlp::decode(&raw).map_err(|x| x.to_string())?;
            let parts = block.as_list().map_err(|x| x.to_string())?;
            let first = parts.first().ok_or("empty block")?;
            let (header, hash) = Header::decode(first.raw).map_err(|x| x.to_string())?;
            let txs = parts
                .get(1)
                .ok_or("no transactions")?
                .as_list()
                .map_err(|x| x.to_string())?
                .len();
            let want_txs = int(&e["tx_count"], "tx_count")?;
            ensure(txs as u64 == want_txs, || format!("{txs} transactions"))?;
            let (want, got) = header_expectations(&header, hash, e)?;
            done(format!("{want}, {want_txs} transactions"), got)
        }
        "ethereumjs_mainnet-1-to-5_blocks.json" => {
            let blocks = read_json(path)?;
            let headers = list(&blocks, "blocks")?
                .iter()
                .map(|b| Header::from_json(&b["header"]).map_err(|x| x.to_string()))
                .collect::<R<Vec<_>>>()?;
            let genesis = h32(&e["block1_parentHash"], "block1_parentHash")?;
            check_linkage(Some(genesis), &headers).map_err(|x| x.to_string())?;
            let wanted = list(&e["blocks"], "expect.blocks")?;
            ensure(wanted.len() == headers.len(), || "block count".into())?;
            for (h, w) in headers.iter().zip(wanted) {
                let want = h32(&w["hash"], "hash")?;
                ensure(h.hash() == want, || {
                    format!("block {}: hash {}", h.number, h.hash())
                })?;
            }
            done(
                format!("{} blocks linked from the mainnet genesis", headers.len()),
                "linked, hashes equal",
            )
        }
        f if f.starts_with("ethtests_") => {
            let fixture = read_json(path)?;
            let tests = fixture.as_object().ok_or("not an object")?;
            let mut blocks = 0;
            for (test, t) in tests {
                let want = &e[test];
                let genesis_rlp = hexb(text(&t["genesisRLP"], "genesisRLP")?)?;
                let genesis = rlp::decode(&genesis_rlp).map_err(|x| x.to_string())?;
                let genesis_header = genesis
                    .as_list()
                    .map_err(|x| x.to_string())?
                    .first()
                    .ok_or("empty genesis")?
                    .raw;
                let (_, g) = Header::decode(genesis_header).map_err(|x| x.to_string())?;
                let want_g = h32(&want["genesis_hash"], "genesis_hash")?;
                ensure(g == want_g, || format!("{test}: genesis {g}"))?;
                for (b, wb) in list(&t["blocks"], "blocks")?
                    .iter()
                    .zip(list(&want["blocks"], "expect blocks")?)
                {
                    let raw = hexb(text(&b["rlp"], "rlp")?)?;
                    let block = rlp::decode(&raw).map_err(|x| x.to_string())?;
                    let first = block
                        .as_list()
                        .map_err(|x| x.to_string())?
                        .first()
                        .ok_or("empty block")?
                        .raw;
                    let (h, hash) = Header::decode(first).map_err(|x| x.to_string())?;
                    header_expectations(&h, hash, wb).map_err(|x| format!("{test}: {x}"))?;
                    ensure(h.parent_hash == g, || format!("{test}: parent"))?;
                    blocks += 1;
                }
            }
            done(
                format!("{blocks} block hashes and their genesis"),
                "all equal",
            )
        }
        _ => {
            // A JSON-RPC block object (plain or in a `.io` response): the hash it claims is
            // checked by the parser, then the manifest's.
            let block = load(path)?;
            let header = Header::from_json(&block).map_err(|x| x.to_string())?;
            let (want, got) = header_expectations(&header, header.hash(), e)?;
            if let Some(n) = e.get("number").map(|n| int(n, "number")).transpose()? {
                if file.starts_with("xapis_eth_getBlockByNumber") && n > 0 {
                    let hive_hash = hive_block(hive, n)?.1;
                    ensure(hive_hash == header.hash(), || {
                        format!("the hive chain's block {n} is {hive_hash}")
                    })?;
                }
            }
            done(want, got)
        }
    }
}

/// The trusted state root of a getproof entry: from its header where the manifest names
/// one (that header parsed, its hash checked), else the manifest's root.
fn state_root(dir: &Path, e: &Json, hive: &R<Vec<(Header, Hash32)>>) -> R<Hash32> {
    let root = h32(&e["state_root"], "state_root")?;
    let from = e["state_root_from"].as_str().unwrap_or_default();
    // A root said to come from a header file is checked against that file: one the runner
    // cannot read as a JSON header fails the entry rather than leaving the root unchecked.
    let header_root = if from.starts_with("headers/") {
        let file = from.split(' ').next().unwrap_or_default();
        Some(
            Header::from_json(&read_json(&dir.join(file))?)
                .map_err(|x| format!("{file}: {x}"))?
                .state_root,
        )
    } else if from.starts_with("block 54") {
        Some(hive_block(hive, 54)?.0.state_root)
    } else {
        None
    };
    if let Some(h) = header_root {
        ensure(h == root, || format!("{from}: state root {h}"))?;
    }
    Ok(root)
}

fn check_account(dir: &Path, obj: &Json, e: &Json, hive: &R<Vec<(Header, Hash32)>>) -> R<bool> {
    let address = Address::from_hex(text(&e["address"], "address")?).map_err(|x| x.to_string())?;
    let root = state_root(dir, e, hive)?;
    let proof = AccountProof::from_json(obj, Some(address)).map_err(|x| x.to_string())?;
    let present = proof
        .verify(&root, &ProofLimits::default())
        .map_err(|x| format!("{address}: {x}"))?;
    let want = e["account_present_in_trie"] == true;
    ensure(present == want, || format!("{address}: present {present}"))?;
    let slots = e["storage"].as_array().map_or(0, Vec::len);
    ensure(proof.storage.len() >= slots, || {
        format!("{address}: {} storage proofs", proof.storage.len())
    })?;
    Ok(present)
}

fn run_getproof(dir: &Path, path: &Path, e: &Json, hive: &R<Vec<(Header, Hash32)>>) -> R<Checked> {
    let data = load(path)?;
    let mut outcomes = BTreeMap::new();
    if let Some(tags) = e.get("by_block_tag").and_then(Json::as_object) {
        for (tag, te) in tags {
            let present = check_account(dir, &data[tag], te, hive)?;
            outcomes.insert(tag.clone(), present);
        }
    } else if let Some(accounts) = e.get("accounts").and_then(Json::as_array) {
        for ae in accounts {
            let address = text(&ae["address"], "address")?;
            let present = check_account(dir, &data["accounts"][address], ae, hive)?;
            outcomes.insert(address.to_owned(), present);
        }
    } else {
        let present = check_account(dir, &data, e, hive)?;
        outcomes.insert("account".into(), present);
    }
    let present = outcomes.values().filter(|&&p| p).count();
    done(
        format!("{} account proofs", outcomes.len()),
        format!(
            "{} verified ({present} present, {} absent)",
            outcomes.len(),
            outcomes.len() - present
        ),
    )
}
