//! A block's receipts trie, built with the reference Merkle-Patricia implementation
//! (`alloy-trie`'s `HashBuilder` and `ProofRetainer`): its root, to hold against the
//! header's `receiptsRoot`, and the proofs of chosen receipts, which the light client
//! checks with its own trie code.
//!
//! Keys are `rlp(transactionIndex)`, unhashed; `alloy_trie::root::adjust_index_for_rlp`
//! gives the order in which those keys sort (index 0, encoded `0x80`, sorts after 1..=127).

use alloy_trie::proof::ProofRetainer;
use alloy_trie::root::adjust_index_for_rlp;
use alloy_trie::{HashBuilder, Nibbles};
use corridor_light_client::evm::{rlp, EMPTY_TRIE_ROOT};
use corridor_light_client::Hash32;

/// A receipts trie: its root and the proofs it retained.
#[derive(Debug)]
pub struct ReceiptsTrie {
    root: Hash32,
    proofs: Vec<(u64, Vec<Vec<u8>>)>,
}

impl ReceiptsTrie {
    /// Builds the trie of `encoded` (the receipts' trie values, in transaction order),
    /// retaining the proofs of the receipts at `targets`.
    pub fn build(encoded: &[Vec<u8>], targets: &[u64]) -> Self {
        if encoded.is_empty() {
            return Self {
                root: EMPTY_TRIE_ROOT,
                proofs: Vec::new(),
            };
        }
        let keys: Vec<Nibbles> = targets
            .iter()
            .map(|&i| Nibbles::unpack(rlp::u64_bytes(i)))
            .collect();
        let mut builder = HashBuilder::default().with_proof_retainer(ProofRetainer::new(keys));
        let len = encoded.len();
        for i in 0..len {
            let index = adjust_index_for_rlp(i, len);
            let key = rlp::u64_bytes(index as u64);
            if let Some(value) = encoded.get(index) {
                builder.add_leaf(Nibbles::unpack(&key), value);
            }
        }
        let root = Hash32(builder.root().0);
        let nodes = builder.take_proof_nodes();
        let proofs = targets
            .iter()
            .map(|&i| {
                let path = nodes
                    .matching_nodes_sorted(&Nibbles::unpack(rlp::u64_bytes(i)))
                    .into_iter()
                    .map(|(_, node)| node.to_vec())
                    .collect();
                (i, path)
            })
            .collect();
        Self { root, proofs }
    }

    /// The trie's root.
    pub fn root(&self) -> Hash32 {
        self.root
    }

    /// The proof of the receipt at `index` (root first), if it was a target.
    pub fn proof(&self, index: u64) -> Option<&[Vec<u8>]> {
        self.proofs
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, p)| p.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_light_client::evm::receipt::receipts_root;
    use corridor_light_client::evm::ProofLimits;
    use corridor_light_client::evm::{Log, Receipt, ReceiptProof};

    fn receipts(n: u8) -> Vec<Receipt> {
        (0..n)
            .map(|i| Receipt {
                tx_type: i % 3,
                outcome: corridor_light_client::evm::receipt::Outcome::Status(true),
                cumulative_gas_used: 21_000 * u64::from(i + 1),
                logs_bloom: Box::new([i; 256]),
                logs: vec![Log {
                    address: corridor_light_client::evm::Address([i; 20]),
                    topics: vec![Hash32([i; 32])],
                    data: vec![i; usize::from(i)],
                }],
            })
            .collect()
    }

    #[test]
    fn roots_and_proofs_agree_with_the_light_client() {
        // 1, 2, 17 and 130 receipts: a lone leaf, a branch, a full first level, and keys of
        // two bytes (index 128 and up).
        for n in [1u8, 2, 17, 130] {
            let rs = receipts(n);
            let encoded: Vec<Vec<u8>> = rs.iter().map(Receipt::encode).collect();
            let targets: Vec<u64> = (0..u64::from(n)).collect();
            let trie = ReceiptsTrie::build(&encoded, &targets);
            assert_eq!(trie.root(), receipts_root(&rs), "{n} receipts");
            for (i, r) in rs.iter().enumerate() {
                let proof = ReceiptProof {
                    index: i as u64,
                    nodes: trie.proof(i as u64).unwrap().to_vec(),
                };
                let got = proof.verify(&trie.root(), &ProofLimits::default()).unwrap();
                assert_eq!(&got, r, "{n} receipts, index {i}");
            }
        }
        assert_eq!(ReceiptsTrie::build(&[], &[]).root(), EMPTY_TRIE_ROOT);
    }
}
