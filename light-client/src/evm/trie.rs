//! Merkle-Patricia trie proofs and roots.
//!
//! [`verify_proof`] walks a proof (the list of RLP-encoded nodes from the root, as
//! `eth_getProof` and receipt-proof services return it) along a key and returns the value
//! stored under the key, or `None` when the proof shows that no value is stored there
//! (exclusion). Rules:
//!
//! - Sizes are bounded before any hashing ([`ProofLimits`]): number of nodes, bytes per
//!   node, total bytes, key length.
//! - Node 0 hashes to the root; each later node hashes to the 32-byte reference found in its
//!   parent. A child whose encoding is under 32 bytes is embedded in its parent and is not a
//!   separate proof node; an embedded child of 32 bytes or more, or a hash reference of any
//!   other width than 32, is refused.
//! - A proof with nodes left over after the walk ended is refused
//!   ([`ProofError::UnusedNodes`]): a proof is exactly the path, nothing more.
//! - Hex-prefix paths must be well formed (flag 0 to 3; padding nibble zero for even paths),
//!   a leaf must hold a non-empty value, an extension a non-empty path.
//! - Exclusion is shown by an empty branch slot, an empty branch value at the end of the
//!   key, or a leaf or extension whose path diverges from the key.
//! - The empty trie (root `keccak256(0x80)`) is proven by an empty proof.
//!
//! [`TrieBuilder`] computes the root of a full key set (transactions, receipts, withdrawals,
//! the ethereum/tests trie vectors).
//!
//! ## Implements
//! - Ethereum Yellow Paper, Appendix C (hex-prefix encoding) and Appendix D (Modified
//!   Merkle Patricia Trie), including the rule that a node under 32 bytes is embedded.
//! - EIP-1186 proof shape (root node first, embedded nodes not repeated).

use std::collections::BTreeMap;

use super::rlp::{self, Kind, RlpError};
use super::{keccak256, EMPTY_TRIE_ROOT};
use crate::types::Hash32;

/// Bounds checked on a proof before any node is hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofLimits {
    /// Most nodes in one proof.
    pub max_nodes: usize,
    /// Largest single node, in bytes.
    pub max_node_bytes: usize,
    /// Largest proof, all nodes together, in bytes.
    pub max_total_bytes: usize,
    /// Longest key, in bytes.
    pub max_key_bytes: usize,
}

impl Default for ProofLimits {
    /// 66 nodes (a 32-byte key has 64 nibbles: one branch per nibble, an extension and a
    /// leaf at most); 256 KiB per node and 1 MiB in all (a receipt leaf holds the whole
    /// receipt, logs included); 32-byte keys.
    fn default() -> Self {
        Self {
            max_nodes: 66,
            max_node_bytes: 256 * 1024,
            max_total_bytes: 1024 * 1024,
            max_key_bytes: 32,
        }
    }
}

/// Why a Merkle-Patricia proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// More nodes than [`ProofLimits::max_nodes`].
    #[error("proof: {count} nodes exceeds {max}")]
    TooManyNodes {
        /// Nodes given.
        count: usize,
        /// The bound.
        max: usize,
    },
    /// A node larger than [`ProofLimits::max_node_bytes`].
    #[error("proof: node {index} of {len} bytes exceeds {max}")]
    NodeTooLarge {
        /// Which node.
        index: usize,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The nodes together exceed [`ProofLimits::max_total_bytes`].
    #[error("proof: {len} bytes in all exceeds {max}")]
    ProofTooLarge {
        /// Total length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The key is longer than [`ProofLimits::max_key_bytes`].
    #[error("proof: key of {len} bytes exceeds {max}")]
    KeyTooLong {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A node does not hash to the reference its parent (or the root) gives.
    #[error("proof: node {index} hashes to {computed}, expected {expected}")]
    HashMismatch {
        /// Which node.
        index: usize,
        /// Its Keccak-256.
        computed: Hash32,
        /// The reference.
        expected: Hash32,
    },
    /// The walk needs a node the proof does not have.
    #[error("proof: node {index} is missing")]
    MissingNode {
        /// The index it would have.
        index: usize,
    },
    /// Nodes remain after the walk ended.
    #[error("proof: {count} unused nodes after node {last_used}")]
    UnusedNodes {
        /// The last node used.
        last_used: usize,
        /// How many remain.
        count: usize,
    },
    /// A node is not canonical RLP.
    #[error("proof: node {index}: {source}")]
    Rlp {
        /// Which node (an embedded node has its parent's index).
        index: usize,
        /// Why.
        source: RlpError,
    },
    /// A node is neither a 17-item branch nor a 2-item leaf or extension, or a part of it
    /// has the wrong shape.
    #[error("proof: node {index} is malformed ({reason})")]
    MalformedNode {
        /// Which node.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Where the walk's next node comes from.
enum NextRef<'a> {
    /// The next proof node, which must hash to this.
    Hash(Hash32),
    /// An embedded node, already at hand.
    Inline(rlp::Item<'a>),
}

/// Splits a key into nibbles, high nibble first.
pub fn nibbles(key: &[u8]) -> Vec<u8> {
    key.iter().flat_map(|b| [b >> 4, b & 0x0f]).collect()
}

/// Decodes a hex-prefix path: its nibbles and whether it is a leaf.
fn decode_hex_prefix(encoded: &[u8], index: usize) -> Result<(Vec<u8>, bool), ProofError> {
    let malformed = |reason| ProofError::MalformedNode { index, reason };
    let first = *encoded.first().ok_or(malformed("empty hex-prefix path"))?;
    let flag = first >> 4;
    let (leaf, odd) = match flag {
        0 => (false, false),
        1 => (false, true),
        2 => (true, false),
        3 => (true, true),
        _ => return Err(malformed("hex-prefix flag above 3")),
    };
    let mut out = Vec::with_capacity(encoded.len().saturating_mul(2));
    if odd {
        out.push(first & 0x0f);
    } else if first & 0x0f != 0 {
        return Err(malformed("hex-prefix padding nibble not zero"));
    }
    out.extend(nibbles(encoded.get(1..).unwrap_or_default()));
    Ok((out, leaf))
}

/// Reads a child reference out of a branch slot or an extension: `None` for an empty slot.
fn child_ref<'a>(item: &rlp::Item<'a>, index: usize) -> Result<Option<NextRef<'a>>, ProofError> {
    match &item.kind {
        Kind::Bytes([]) => Ok(None),
        Kind::Bytes(b) => {
            let h = <[u8; 32]>::try_from(*b).map_err(|_| ProofError::MalformedNode {
                index,
                reason: "child reference is neither 32 bytes nor an embedded node",
            })?;
            Ok(Some(NextRef::Hash(Hash32(h))))
        }
        Kind::List(_) => {
            if item.raw.len() >= 32 {
                return Err(ProofError::MalformedNode {
                    index,
                    reason: "embedded node of 32 bytes or more",
                });
            }
            Ok(Some(NextRef::Inline(item.clone())))
        }
    }
}

/// Verifies a Merkle-Patricia proof of `key` against `root`.
///
/// Returns `Some(value)` when the proof shows `key` holds `value`, `None` when it shows the
/// key is absent. `key` is the trie key as stored: `keccak256(address)` for accounts,
/// `keccak256(slot)` for storage, `rlp(index)` for receipts and transactions.
pub fn verify_proof<N: AsRef<[u8]>>(
    root: &Hash32,
    key: &[u8],
    proof: &[N],
    limits: &ProofLimits,
) -> Result<Option<Vec<u8>>, ProofError> {
    if key.len() > limits.max_key_bytes {
        return Err(ProofError::KeyTooLong {
            len: key.len(),
            max: limits.max_key_bytes,
        });
    }
    if proof.len() > limits.max_nodes {
        return Err(ProofError::TooManyNodes {
            count: proof.len(),
            max: limits.max_nodes,
        });
    }
    let mut total = 0usize;
    for (index, node) in proof.iter().enumerate() {
        let len = node.as_ref().len();
        if len > limits.max_node_bytes {
            return Err(ProofError::NodeTooLarge {
                index,
                len,
                max: limits.max_node_bytes,
            });
        }
        total = total.saturating_add(len);
    }
    if total > limits.max_total_bytes {
        return Err(ProofError::ProofTooLarge {
            len: total,
            max: limits.max_total_bytes,
        });
    }
    if proof.is_empty() && *root == EMPTY_TRIE_ROOT {
        return Ok(None);
    }

    let path = nibbles(key);
    let mut pos = 0usize;
    let mut used = 0usize; // proof nodes consumed
    let mut next = NextRef::Hash(*root);
    let result = loop {
        // `index` names the node being read: the last proof node consumed.
        let node = match next {
            NextRef::Hash(expected) => {
                let index = used;
                let bytes = proof
                    .get(index)
                    .ok_or(ProofError::MissingNode { index })?
                    .as_ref();
                let computed = keccak256(bytes);
                if computed != expected {
                    return Err(ProofError::HashMismatch {
                        index,
                        computed,
                        expected,
                    });
                }
                used = used.saturating_add(1);
                if bytes == [0x80] && index == 0 {
                    // The empty trie, given as its one node.
                    break None;
                }
                rlp::decode(bytes).map_err(|source| ProofError::Rlp { index, source })?
            }
            NextRef::Inline(item) => item,
        };
        let index = used.saturating_sub(1);
        let malformed = |reason| ProofError::MalformedNode { index, reason };
        let items = node
            .as_list()
            .map_err(|_| malformed("node is not a list"))?;
        match items.len() {
            17 => {
                match path.get(pos) {
                    None => {
                        let value = items
                            .get(16)
                            .ok_or(malformed("branch"))?
                            .as_bytes()
                            .map_err(|_| malformed("branch value is a list"))?;
                        break if value.is_empty() {
                            None
                        } else {
                            Some(value.to_vec())
                        };
                    }
                    Some(&nibble) => {
                        let slot = items.get(usize::from(nibble)).ok_or(malformed("branch"))?;
                        pos = pos.saturating_add(1);
                        match child_ref(slot, index)? {
                            None => break None,
                            Some(r) => next = r,
                        }
                    }
                }
                // A branch's value slot must be a string even when the walk passes through.
                if items.get(16).is_some_and(rlp::Item::is_list) {
                    return Err(malformed("branch value is a list"));
                }
            }
            2 => {
                let [head, tail] = items else {
                    return Err(malformed("two-item node"));
                };
                let encoded_path = head
                    .as_bytes()
                    .map_err(|_| malformed("hex-prefix path is a list"))?;
                let (node_path, leaf) = decode_hex_prefix(encoded_path, index)?;
                let rest = path.get(pos..).unwrap_or_default();
                if leaf {
                    let value = tail
                        .as_bytes()
                        .map_err(|_| malformed("leaf value is a list"))?;
                    if value.is_empty() {
                        return Err(malformed("leaf with an empty value"));
                    }
                    break if rest == node_path.as_slice() {
                        Some(value.to_vec())
                    } else {
                        None
                    };
                }
                if node_path.is_empty() {
                    return Err(malformed("extension with an empty path"));
                }
                if !rest.starts_with(&node_path) {
                    break None;
                }
                pos = pos.saturating_add(node_path.len());
                next = child_ref(tail, index)?.ok_or(malformed("extension to nothing"))?;
            }
            _ => return Err(malformed("node has neither 17 nor 2 items")),
        }
    };
    if used < proof.len() {
        return Err(ProofError::UnusedNodes {
            last_used: used.saturating_sub(1),
            count: proof.len().saturating_sub(used),
        });
    }
    Ok(result)
}

/// Hex-prefix encoding of a nibble path (Yellow Paper, Appendix C).
fn hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
    // `|` joins nibbles whose bits do not overlap (the flag is 0 or 2, so `flag | 1` adds
    // bit 0; a high nibble shifted left has a zero low nibble), so `^` would give the same.
    let flag: u8 = if leaf { 2 } else { 0 };
    let mut out = Vec::with_capacity((path.len() / 2).saturating_add(1));
    let rest = if path.len() % 2 == 1 {
        out.push(((flag | 1) << 4) | path.first().copied().unwrap_or(0));
        path.get(1..).unwrap_or_default()
    } else {
        out.push(flag << 4);
        path
    };
    for pair in rest.chunks(2) {
        if let [hi, lo] = pair {
            out.push((hi << 4) | lo);
        }
    }
    out
}

/// A full key set whose Merkle-Patricia root can be computed.
///
/// Keys are at most [`TrieBuilder::MAX_KEY_BYTES`] long, which bounds the recursion. An
/// empty value deletes its key (as in Ethereum clients: a trie never stores an empty value).
#[derive(Debug, Clone, Default)]
pub struct TrieBuilder {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// Why a key could not be inserted into a [`TrieBuilder`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrieBuildError {
    /// The key is longer than [`TrieBuilder::MAX_KEY_BYTES`].
    #[error("trie: key of {len} bytes exceeds {max}")]
    KeyTooLong {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
}

impl TrieBuilder {
    /// Longest key accepted.
    pub const MAX_KEY_BYTES: usize = 256;

    /// An empty trie.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`; an empty value removes the key.
    pub fn insert(&mut self, key: &[u8], value: &[u8]) -> Result<(), TrieBuildError> {
        if key.len() > Self::MAX_KEY_BYTES {
            return Err(TrieBuildError::KeyTooLong {
                len: key.len(),
                max: Self::MAX_KEY_BYTES,
            });
        }
        if value.is_empty() {
            self.entries.remove(key);
        } else {
            self.entries.insert(key.to_vec(), value.to_vec());
        }
        Ok(())
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &[u8]) {
        self.entries.remove(key);
    }

    /// The root hash: `keccak256` of the root node's encoding (hashed even under 32 bytes).
    pub fn root(&self) -> Hash32 {
        let entries: Vec<(Vec<u8>, &[u8])> = self
            .entries
            .iter()
            .map(|(k, v)| (nibbles(k), v.as_slice()))
            .collect();
        if entries.is_empty() {
            return EMPTY_TRIE_ROOT;
        }
        keccak256(&encode_node(&entries, 0))
    }
}

/// Appends a reference to a node: embedded under 32 bytes, else its hash.
fn put_ref(out: &mut Vec<u8>, node: &[u8]) {
    if node.len() < 32 {
        out.extend_from_slice(node);
    } else {
        rlp::put_bytes(out, &keccak256(node).0);
    }
}

/// Encodes the node holding `entries` (sorted, distinct, non-empty), all of whose paths
/// agree on their first `depth` nibbles.
fn encode_node(entries: &[(Vec<u8>, &[u8])], depth: usize) -> Vec<u8> {
    let mut payload = Vec::new();
    if let [(path, value)] = entries {
        rlp::put_bytes(
            &mut payload,
            &hex_prefix(path.get(depth..).unwrap_or_default(), true),
        );
        rlp::put_bytes(&mut payload, value);
        return rlp::list(&payload);
    }
    let (Some((first, _)), Some((last, _))) = (entries.first(), entries.last()) else {
        return rlp::bytes(&[]);
    };
    // Sorted input: the common prefix of all paths is that of the first and the last.
    let common = first
        .iter()
        .zip(last.iter())
        .skip(depth)
        .take_while(|(a, b)| a == b)
        .count();
    if common > 0 {
        let end = depth.saturating_add(common);
        let prefix = first.get(depth..end).unwrap_or_default();
        rlp::put_bytes(&mut payload, &hex_prefix(prefix, false));
        put_ref(&mut payload, &encode_node(entries, end));
        return rlp::list(&payload);
    }
    let mut value: &[u8] = &[];
    let mut rest = entries;
    if let Some(((path, v), tail)) = rest.split_first() {
        if path.len() == depth {
            value = v;
            rest = tail;
        }
    }
    for nibble in 0u8..16 {
        let n = rest
            .iter()
            .take_while(|(p, _)| p.get(depth) == Some(&nibble))
            .count();
        let (group, tail) = rest.split_at(n);
        if group.is_empty() {
            rlp::put_bytes(&mut payload, &[]);
        } else {
            put_ref(&mut payload, &encode_node(group, depth.saturating_add(1)));
        }
        rest = tail;
    }
    rlp::put_bytes(&mut payload, value);
    rlp::list(&payload)
}

/// The root of the trie `{rlp(i) -> items[i]}`: the transactions, receipts and withdrawals
/// roots of a block.
pub fn ordered_root<V: AsRef<[u8]>>(items: &[V]) -> Hash32 {
    let mut t = TrieBuilder::new();
    for (i, v) in items.iter().enumerate() {
        // rlp(u64) is at most 9 bytes, under the key bound: insert cannot fail.
        let _ = t.insert(&rlp::u64_bytes(i as u64), v.as_ref());
    }
    t.root()
}

/// Builds a proof of `key` from a full key set (for tests and for serving proofs).
pub fn build_proof(builder: &TrieBuilder, key: &[u8]) -> Vec<Vec<u8>> {
    let entries: Vec<(Vec<u8>, &[u8])> = builder
        .entries
        .iter()
        .map(|(k, v)| (nibbles(k), v.as_slice()))
        .collect();
    let mut proof = Vec::new();
    if entries.is_empty() {
        return proof;
    }
    let target = nibbles(key);
    let mut group: &[(Vec<u8>, &[u8])] = &entries;
    let mut depth = 0usize;
    let mut is_root = true;
    loop {
        let node = encode_node(group, depth);
        if is_root || node.len() >= 32 {
            proof.push(node);
        }
        is_root = false;
        if group.len() == 1 {
            return proof;
        }
        let (Some((first, _)), Some((last, _))) = (group.first(), group.last()) else {
            return proof;
        };
        let common = first
            .iter()
            .zip(last.iter())
            .skip(depth)
            .take_while(|(a, b)| a == b)
            .count();
        if common > 0 {
            let end = depth.saturating_add(common);
            if target.get(depth..end) != first.get(depth..end) {
                return proof;
            }
            depth = end;
            continue;
        }
        let Some(&nibble) = target.get(depth) else {
            return proof;
        };
        let start = group
            .iter()
            .position(|(p, _)| p.get(depth) == Some(&nibble));
        let Some(start) = start else {
            return proof;
        };
        let n = group
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|(p, _)| p.get(depth) == Some(&nibble))
            .count();
        group = group
            .get(start..start.saturating_add(n))
            .unwrap_or_default();
        depth = depth.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn sample() -> TrieBuilder {
        let mut t = TrieBuilder::new();
        for (k, v) in [
            ("do", "verb"),
            ("dog", "puppy"),
            ("doge", "coin"),
            ("horse", "stallion"),
        ] {
            t.insert(k.as_bytes(), v.as_bytes()).unwrap();
        }
        t
    }

    #[test]
    fn known_root() {
        assert_eq!(
            hex::encode(sample().root().0),
            "5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84"
        );
        assert_eq!(TrieBuilder::new().root(), EMPTY_TRIE_ROOT);
    }

    #[test]
    fn built_proofs_verify_inclusion_and_exclusion() {
        let limits = ProofLimits::default();
        let t = sample();
        let root = t.root();
        for (k, v) in [
            ("do", "verb"),
            ("dog", "puppy"),
            ("doge", "coin"),
            ("horse", "stallion"),
        ] {
            let proof = build_proof(&t, k.as_bytes());
            assert_eq!(
                verify_proof(&root, k.as_bytes(), &proof, &limits).unwrap(),
                Some(v.as_bytes().to_vec()),
                "{k}"
            );
        }
        for k in ["d", "dogs", "cat", "horses", "doe"] {
            let proof = build_proof(&t, k.as_bytes());
            assert_eq!(
                verify_proof(&root, k.as_bytes(), &proof, &limits).unwrap(),
                None,
                "{k}"
            );
        }
    }

    #[test]
    fn refusals_name_their_reason() {
        let limits = ProofLimits::default();
        let mut t = TrieBuilder::new();
        for i in 0u64..40 {
            t.insert(&keccak256(&i.to_be_bytes()).0, &[0xaa; 40])
                .unwrap();
        }
        let root = t.root();
        let key = keccak256(&7u64.to_be_bytes()).0;
        let proof = build_proof(&t, &key);
        assert!(proof.len() >= 2);

        let mut bad = proof.clone();
        bad[1][5] ^= 1;
        assert!(matches!(
            verify_proof(&root, &key, &bad, &limits),
            Err(ProofError::HashMismatch { index: 1, .. })
        ));
        let mut extra = proof.clone();
        extra.push(proof[0].clone());
        assert!(matches!(
            verify_proof(&root, &key, &extra, &limits),
            Err(ProofError::UnusedNodes { count: 1, .. })
        ));
        assert!(matches!(
            verify_proof(&root, &key, &proof[..1], &limits),
            Err(ProofError::MissingNode { index: 1 })
        ));
        let tight = ProofLimits {
            max_nodes: 1,
            ..limits
        };
        assert!(matches!(
            verify_proof(&root, &key, &proof, &tight),
            Err(ProofError::TooManyNodes { max: 1, .. })
        ));
        assert_eq!(
            verify_proof::<Vec<u8>>(&EMPTY_TRIE_ROOT, &key, &[], &limits),
            Ok(None)
        );
    }

    #[test]
    fn hex_prefix_round_trip() {
        for (path, leaf) in [(vec![1, 2, 3], true), (vec![0, 1], false), (vec![], true)] {
            let enc = hex_prefix(&path, leaf);
            assert_eq!(decode_hex_prefix(&enc, 0).unwrap(), (path, leaf));
        }
        assert!(matches!(
            decode_hex_prefix(&[0x01], 0),
            Err(ProofError::MalformedNode { .. })
        ));
    }

    /// Forty 32-byte keys with 40-byte values (every node hashed), the proof of key 7.
    fn forty() -> (Hash32, [u8; 32], Vec<Vec<u8>>) {
        let mut t = TrieBuilder::new();
        for i in 0u64..40 {
            t.insert(&keccak256(&i.to_be_bytes()).0, &[0xaa; 40])
                .unwrap();
        }
        let key = keccak256(&7u64.to_be_bytes()).0;
        let proof = build_proof(&t, &key);
        (t.root(), key, proof)
    }

    #[test]
    fn size_limits_at_their_bound_and_one_over() {
        let (root, key, proof) = forty();
        let value = Ok(Some(vec![0xaa; 40]));
        let largest = proof.iter().map(Vec::len).max().unwrap();
        let total: usize = proof.iter().map(Vec::len).sum();
        let exact = ProofLimits {
            max_nodes: proof.len(),
            max_node_bytes: largest,
            max_total_bytes: total,
            max_key_bytes: 32,
        };
        assert_eq!(verify_proof(&root, &key, &proof, &exact), value);
        let at = |limits| verify_proof(&root, &key, &proof, &limits);
        assert_eq!(
            at(ProofLimits {
                max_nodes: proof.len() - 1,
                ..exact
            }),
            Err(ProofError::TooManyNodes {
                count: proof.len(),
                max: proof.len() - 1
            })
        );
        let index = proof.iter().position(|n| n.len() == largest).unwrap();
        assert_eq!(
            at(ProofLimits {
                max_node_bytes: largest - 1,
                ..exact
            }),
            Err(ProofError::NodeTooLarge {
                index,
                len: largest,
                max: largest - 1
            })
        );
        assert_eq!(
            at(ProofLimits {
                max_total_bytes: total - 1,
                ..exact
            }),
            Err(ProofError::ProofTooLarge {
                len: total,
                max: total - 1
            })
        );
        assert_eq!(
            at(ProofLimits {
                max_key_bytes: 31,
                ..exact
            }),
            Err(ProofError::KeyTooLong { len: 32, max: 31 })
        );
        // The default bound on keys is 32 bytes.
        let long = [key.as_slice(), &[0]].concat();
        assert_eq!(
            verify_proof(&root, &long, &proof, &ProofLimits::default()),
            Err(ProofError::KeyTooLong { len: 33, max: 32 })
        );
    }

    #[test]
    fn the_empty_trie_and_proofs_that_are_not_the_path() {
        let limits = ProofLimits::default();
        let key = [0x12; 32];
        // The empty trie: no node, or its one node 0x80.
        assert_eq!(
            verify_proof::<Vec<u8>>(&EMPTY_TRIE_ROOT, &key, &[], &limits),
            Ok(None)
        );
        assert_eq!(
            verify_proof(&EMPTY_TRIE_ROOT, &key, &[vec![0x80]], &limits),
            Ok(None)
        );
        assert_eq!(
            verify_proof(&EMPTY_TRIE_ROOT, &key, &[vec![0x80], vec![0x80]], &limits),
            Err(ProofError::UnusedNodes {
                last_used: 0,
                count: 1
            })
        );
        // No proof is no proof of a trie that is not empty.
        let (root, key, _) = forty();
        assert_eq!(
            verify_proof::<Vec<u8>>(&root, &key, &[], &limits),
            Err(ProofError::MissingNode { index: 0 })
        );
        // 0x80 below the root is an empty string where a node must be.
        let empty = rlp::bytes(&[]);
        let mut payload = Vec::new();
        rlp::put_bytes(&mut payload, &keccak256(&empty).0);
        for _ in 1..17 {
            rlp::put_bytes(&mut payload, &[]);
        }
        let branch = rlp::list(&payload);
        assert_eq!(
            verify_proof(&keccak256(&branch), &[0x0f], &[branch, empty], &limits),
            Err(ProofError::MalformedNode {
                index: 1,
                reason: "node is not a list"
            })
        );
    }

    /// The root of `entries` by alloy's trie builder (keys of one length: no branch values).
    fn alloy_root(entries: &BTreeMap<Vec<u8>, Vec<u8>>) -> Hash32 {
        let mut hb = alloy_trie::HashBuilder::default();
        for (k, v) in entries {
            hb.add_leaf(alloy_trie::Nibbles::unpack(k), v);
        }
        Hash32(hb.root().0)
    }

    #[test]
    fn a_node_of_31_bytes_is_embedded_and_one_of_32_is_hashed() {
        let limits = ProofLimits::default();
        // Keys 0x00 and 0x10: a branch over two leaves of path [0], each of 3 + len bytes.
        for len in [28, 29] {
            let mut t = TrieBuilder::new();
            let mut entries = BTreeMap::new();
            for key in [[0x00], [0x10]] {
                t.insert(&key, &vec![0x77; len]).unwrap();
                entries.insert(key.to_vec(), vec![0x77; len]);
            }
            let root = t.root();
            assert_eq!(root, alloy_root(&entries), "{len}");
            let proof = build_proof(&t, &[0x10]);
            let leaf_len = len + 3;
            assert_eq!(proof.len(), if leaf_len < 32 { 1 } else { 2 }, "{len}");
            assert_eq!(
                verify_proof(&root, &[0x10], &proof, &limits),
                Ok(Some(vec![0x77; len]))
            );
        }
    }

    #[test]
    fn keys_up_to_the_builder_bound_and_removal() {
        let mut t = sample();
        let before = t.root();
        assert_eq!(
            t.insert(&[0x5a; TrieBuilder::MAX_KEY_BYTES], b"long"),
            Ok(())
        );
        let with_long = t.root();
        assert_ne!(with_long, before);
        assert_eq!(
            t.insert(&[0x5a; TrieBuilder::MAX_KEY_BYTES + 1], b"longer"),
            Err(TrieBuildError::KeyTooLong { len: 257, max: 256 })
        );
        assert_eq!(t.root(), with_long);
        t.remove(&[0x5a; TrieBuilder::MAX_KEY_BYTES]);
        assert_eq!(t.root(), before);
        // An empty value deletes its key.
        t.insert(b"dog", b"").unwrap();
        t.remove(b"doge");
        let mut fewer = TrieBuilder::new();
        for (k, v) in [("do", "verb"), ("horse", "stallion")] {
            fewer.insert(k.as_bytes(), v.as_bytes()).unwrap();
        }
        assert_eq!(t.root(), fewer.root());
    }

    /// Deterministic property tests: fixed seed, so CI never fails at random.
    mod properties {
        use std::collections::BTreeMap;

        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

        use super::super::*;

        #[test]
        fn built_proofs_verify_and_any_flipped_byte_is_refused() {
            let config = Config {
                cases: 64,
                failure_persistence: None,
                ..Config::default()
            };
            let mut runner = TestRunner::new_with_rng(
                config,
                TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]),
            );
            let entries = prop::collection::btree_map(
                prop::collection::vec(any::<u8>(), 1..6),
                prop::collection::vec(any::<u8>(), 1..48),
                1..40,
            );
            let strategy = (
                entries,
                prop::collection::vec(any::<u8>(), 1..6),
                any::<u64>(),
            );
            let limits = ProofLimits::default();
            runner
                .run(
                    &strategy,
                    |(entries, probe, noise): (BTreeMap<Vec<u8>, Vec<u8>>, Vec<u8>, u64)| {
                        let mut t = TrieBuilder::new();
                        for (k, v) in &entries {
                            t.insert(k, v).unwrap();
                        }
                        let root = t.root();
                        for (k, v) in &entries {
                            let proof = build_proof(&t, k);
                            let got = verify_proof(&root, k, &proof, &limits).unwrap();
                            prop_assert_eq!(got.as_ref(), Some(v));
                        }
                        let proof = build_proof(&t, &probe);
                        let got = verify_proof(&root, &probe, &proof, &limits).unwrap();
                        prop_assert_eq!(got.as_ref(), entries.get(&probe));
                        // Flip one bit of one byte of one node.
                        let mut bad = proof.clone();
                        let node = (noise % bad.len() as u64) as usize;
                        let at = ((noise >> 16) % bad[node].len() as u64) as usize;
                        bad[node][at] ^= 1 << ((noise >> 40) % 8);
                        let refused = matches!(
                            verify_proof(&root, &probe, &bad, &limits),
                            Err(ProofError::HashMismatch { index, .. }) if index == node
                        );
                        prop_assert!(refused);
                        Ok(())
                    },
                )
                .unwrap();
        }
    }
}
