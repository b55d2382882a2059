//! Differential tests of the EVM family's Merkle-Patricia proofs and header RLP against
//! alloy's: `alloy-trie`'s `proof::verify_proof` and `alloy-rlp`, on the proofs and headers
//! of `../shared/vectors/evm` and on seeded single-byte mutations of them. Both sides must
//! agree on accept or refuse.
//!
//! A proof case is (root, key, value, nodes), the value being what the unmutated proof
//! proves (`None` for an exclusion proof). corridor accepts a (mutated) case when
//! `verify_proof` returns exactly that value; alloy when its `verify_proof` with that
//! expected value returns `Ok`.

mod common;

use std::path::Path;

use alloy_primitives::{Bytes, B256};
use alloy_rlp::Decodable;
use alloy_trie::proof::verify_proof as alloy_verify_proof;
use alloy_trie::Nibbles;
use corridor_light_client::evm::header::Header;
use corridor_light_client::evm::keccak256;
use corridor_light_client::evm::trie::{verify_proof, ProofLimits};
use corridor_light_client::Hash32;
use proptest::prelude::*;
use serde_json::Value;

#[derive(Clone, Debug)]
struct Case {
    name: String,
    root: Hash32,
    key: Vec<u8>,
    value: Option<Vec<u8>>,
    nodes: Vec<Vec<u8>>,
}

fn hexb(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

fn node_list(v: &Value) -> Vec<Vec<u8>> {
    v.as_array().unwrap().iter().map(hexb).collect()
}

/// Every account proof (key `keccak256(address)`) and storage proof (key
/// `keccak256(slot)`) in a getproof file, whatever its nesting.
fn collect(name: &str, v: &Value, out: &mut Vec<Case>) {
    match v {
        Value::Object(map) => {
            if let (Some(proof), Some(address)) = (map.get("accountProof"), map.get("address")) {
                let nodes = node_list(proof);
                if let Some(first) = nodes.first() {
                    let key = keccak256(&hexb(address)).0.to_vec();
                    out.push(Case {
                        name: format!("{name}/account"),
                        root: keccak256(first),
                        key,
                        value: None,
                        nodes,
                    });
                }
                for (i, s) in map
                    .get("storageProof")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let nodes = node_list(&s["proof"]);
                    let Some(first) = nodes.first() else { continue };
                    let slot = hexb(&s["key"]);
                    let mut padded = [0u8; 32];
                    padded[32 - slot.len()..].copy_from_slice(&slot);
                    let key = keccak256(&padded).0.to_vec();
                    out.push(Case {
                        name: format!("{name}/storage{i}"),
                        root: keccak256(first),
                        key,
                        value: None,
                        nodes,
                    });
                }
                return;
            }
            for (k, v) in map {
                collect(&format!("{name}/{k}"), v, out);
            }
        }
        Value::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                collect(&format!("{name}/{i}"), v, out);
            }
        }
        _ => {}
    }
}

fn cases(dir: &Path) -> Vec<Case> {
    let mut raw = Vec::new();
    for file in common::json_files(&dir.join("evm/getproof")) {
        collect(&common::name(&file), &common::read_json(&file), &mut raw);
    }
    // What each unmutated proof proves is the value both sides must agree on.
    for c in &mut raw {
        c.value = verify_proof(&c.root, &c.key, &c.nodes, &ProofLimits::default())
            .unwrap_or_else(|e| panic!("{}: the unmutated proof is refused: {e}", c.name));
    }
    raw
}

fn corridor_accepts(c: &Case) -> bool {
    verify_proof(&c.root, &c.key, &c.nodes, &ProofLimits::default()).is_ok_and(|v| v == c.value)
}

fn alloy_accepts(c: &Case) -> bool {
    let proof: Vec<Bytes> = c.nodes.iter().map(|n| Bytes::from(n.clone())).collect();
    alloy_verify_proof(
        B256::from(c.root.0),
        Nibbles::unpack(&c.key),
        c.value.clone(),
        proof.iter(),
    )
    .is_ok()
}

fn vector_cases() -> Option<Vec<Case>> {
    common::vectors_dir("evm_differential").map(|dir| cases(&dir))
}

#[test]
fn every_getproof_proof_is_accepted_by_both() {
    let Some(cases) = vector_cases() else { return };
    assert!(cases.len() >= 14, "only {} proofs found", cases.len());
    let exclusions = cases.iter().filter(|c| c.value.is_none()).count();
    for c in &cases {
        assert!(corridor_accepts(c), "{}", c.name);
        assert!(alloy_accepts(c), "{}: alloy refuses", c.name);
    }
    println!(
        "evm differential: {} proofs ({exclusions} exclusions) accepted by both",
        cases.len()
    );
}

/// Where a mutation lands.
#[derive(Clone, Copy, Debug)]
enum Target {
    Node,
    Key,
    Value,
    Root,
}

fn mutate(c: &Case, target: Target, at: usize, xor: u8) -> Case {
    let mut m = c.clone();
    match target {
        Target::Node => {
            let total: usize = m.nodes.iter().map(Vec::len).sum();
            let mut at = at % total;
            for node in &mut m.nodes {
                if at < node.len() {
                    node[at] ^= xor;
                    break;
                }
                at -= node.len();
            }
        }
        Target::Key => {
            let i = at % m.key.len();
            m.key[i] ^= xor;
        }
        Target::Value => match &mut m.value {
            Some(v) if !v.is_empty() => {
                let i = at % v.len();
                v[i] ^= xor;
            }
            // An exclusion claimed as an inclusion of one byte.
            _ => m.value = Some(vec![xor]),
        },
        Target::Root => m.root.0[at % 32] ^= xor,
    }
    m
}

proptest! {
    #![proptest_config(common::proptest_config(512))]

    /// One flipped byte in a node, the key, the value or the root: both refuse (and on the
    /// rare mutation that changes nothing that matters, both accept).
    #[test]
    fn single_byte_mutations_agree(
        pick in any::<usize>(),
        target in prop_oneof![
            6 => Just(Target::Node),
            2 => Just(Target::Key),
            1 => Just(Target::Value),
            1 => Just(Target::Root),
        ],
        at in any::<usize>(),
        xor in 1u8..=255,
    ) {
        let Some(cases) = CASES.as_ref() else { return Ok(()) };
        let c = &cases[pick % cases.len()];
        let m = mutate(c, target, at, xor);
        let ours = corridor_accepts(&m);
        let theirs = alloy_accepts(&m);
        prop_assert_eq!(ours, theirs, "{} {:?} at {} ^ {:#04x}", c.name, target, at, xor);
    }
}

static CASES: std::sync::LazyLock<Option<Vec<Case>>> = std::sync::LazyLock::new(vector_cases);

/// Decodes one fork field of a header.
type ForkField = fn(&mut &[u8]) -> alloy_rlp::Result<()>;

/// A header of the vectors: its file and its RLP.
struct VectorHeader {
    name: String,
    rlp: Vec<u8>,
}

/// A header decoded field by field with `alloy-rlp`, with the types `alloy-consensus`
/// gives them: 32-byte hashes, a 20-byte address, a 256-byte bloom, canonical integers,
/// 8-byte nonce, the fork fields in order; the whole input consumed.
fn alloy_decode_header(mut buf: &[u8]) -> alloy_rlp::Result<usize> {
    use alloy_primitives::{Address, Bloom, B64, U256};
    let header = alloy_rlp::Header::decode(&mut buf)?;
    if !header.list {
        return Err(alloy_rlp::Error::UnexpectedString);
    }
    if buf.len() != header.payload_length {
        return Err(alloy_rlp::Error::UnexpectedLength);
    }
    let mut body = buf;
    B256::decode(&mut body)?;
    B256::decode(&mut body)?;
    Address::decode(&mut body)?;
    B256::decode(&mut body)?;
    B256::decode(&mut body)?;
    B256::decode(&mut body)?;
    Bloom::decode(&mut body)?;
    U256::decode(&mut body)?;
    for _ in 0..4 {
        u64::decode(&mut body)?;
    }
    Bytes::decode(&mut body)?;
    B256::decode(&mut body)?;
    B64::decode(&mut body)?;
    let mut fields = 15;
    let forks: [ForkField; 6] = [
        |b| U256::decode(b).map(drop),
        |b| B256::decode(b).map(drop),
        |b| u64::decode(b).map(drop),
        |b| u64::decode(b).map(drop),
        |b| B256::decode(b).map(drop),
        |b| B256::decode(b).map(drop),
    ];
    for decode in forks {
        if body.is_empty() {
            break;
        }
        decode(&mut body)?;
        fields += 1;
    }
    if !body.is_empty() {
        return Err(alloy_rlp::Error::UnexpectedLength);
    }
    // 18 and 19 fields are no fork's header: blob gas fields come with the beacon root.
    if fields == 18 || fields == 19 {
        return Err(alloy_rlp::Error::Custom("no fork has this many fields"));
    }
    Ok(fields)
}

fn header_encodings() -> Option<Vec<VectorHeader>> {
    let dir = common::vectors_dir("evm_differential")?;
    let mut out = Vec::new();
    for file in common::json_files(&dir.join("evm/headers")) {
        let json = common::read_json(&file);
        let candidates = [json.get("result").unwrap_or(&json), &json];
        if let Some(header) = candidates.iter().find_map(|v| Header::from_json(v).ok()) {
            out.push(VectorHeader {
                name: common::name(&file),
                rlp: header.encode(),
            });
        }
    }
    Some(out)
}

static HEADERS: std::sync::LazyLock<Option<Vec<VectorHeader>>> =
    std::sync::LazyLock::new(header_encodings);

#[test]
fn every_vector_header_decodes_on_both_sides() {
    let Some(headers) = HEADERS.as_ref() else {
        return;
    };
    assert!(headers.len() >= 5, "only {} headers", headers.len());
    for VectorHeader { name, rlp } in headers {
        let (ours, _) = Header::decode(rlp).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(alloy_decode_header(rlp), Ok(ours.field_count()), "{name}");
    }
    println!(
        "evm differential: {} headers decoded by both",
        headers.len()
    );
}

proptest! {
    #![proptest_config(common::proptest_config(512))]

    /// One flipped byte in a header's RLP: both decoders accept or both refuse (a flip
    /// inside a field's value decodes on both sides).
    #[test]
    fn header_rlp_mutations_agree(pick in any::<usize>(), at in any::<usize>(), xor in 1u8..=255) {
        let Some(headers) = HEADERS.as_ref() else { return Ok(()) };
        let VectorHeader { name, rlp } = &headers[pick % headers.len()];
        let mut m = rlp.clone();
        let i = at % m.len();
        m[i] ^= xor;
        let ours = Header::decode(&m).map(|(h, _)| h.field_count());
        let theirs = alloy_decode_header(&m);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{} byte {} ^ {:#04x}: ours {:?}, alloy {:?}", name, i, xor, ours, theirs);
        if let (Ok(a), Ok(b)) = (ours, theirs) {
            prop_assert_eq!(a, b);
        }
    }
}
