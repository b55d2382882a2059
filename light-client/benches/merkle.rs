//! Merkle proof verification at 1,024 and 65,536 leaves, next to its floor: the raw cost of
//! exactly the SHA3-256 hashes the verifier must compute, over inputs of the same lengths.
//!
//! - single: one inclusion proof (leaf hash + one node per path hash + the sized root);
//! - multi: one multiproof of 64 leaves spread over the tree, next to 64 single proofs.
//!
//! The floors hash each proven leaf as `0x00 || data` at its real length, one 65-byte input
//! per inner node, and one 41-byte input for the size-binding root. A multiproof recomputes
//! one inner node fewer than the subtrees it starts from (the proven leaves and the sent
//! hashes): each hash joins two of them into one, and a lone last node is carried up unhashed.
//!
//! Run: `cargo bench -p corridor-light-client --bench merkle`

use std::hint::black_box;

use corridor_light_client::hash;
use corridor_light_client::merkle::MerkleTree;
use criterion::{criterion_main, BenchmarkId, Criterion};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("merkle");
    for size in [1_024u64, 65_536] {
        let leaves: Vec<Vec<u8>> = (0..size)
            .map(|i| format!("message commitment {i:032}").into_bytes())
            .collect();
        let tree = MerkleTree::from_leaves(&leaves);
        let root = tree.root();
        let index = size / 3;
        let proof = tree.prove(index).unwrap();
        let leaf = &leaves[index as usize];
        proof.verify(leaf, &root).unwrap();
        let single_hashes = proof.path.len() + 2;
        let prefixed_leaf = [&[0u8][..], leaf].concat();
        let node = [9u8; 65];
        let sized = [2u8; 41];

        group.bench_with_input(BenchmarkId::new("single_verify", size), &size, |b, _| {
            b.iter(|| proof.verify(black_box(leaf), &root).unwrap())
        });
        group.bench_with_input(
            BenchmarkId::new("floor_sha3_single", size),
            &size,
            |b, _| {
                b.iter(|| {
                    black_box(hash::sha3(black_box(&prefixed_leaf)));
                    for _ in 0..proof.path.len() {
                        black_box(hash::sha3(black_box(&node)));
                    }
                    black_box(hash::sha3(black_box(&sized)));
                })
            },
        );

        let picks: Vec<u64> = (0..64).map(|i| i * (size / 64) + (i % 7)).collect();
        let multi = tree.prove_many(&picks).unwrap();
        let chosen: Vec<&Vec<u8>> = picks.iter().map(|&i| &leaves[i as usize]).collect();
        multi.verify(&chosen, &root).unwrap();
        let prefixed: Vec<Vec<u8>> = chosen.iter().map(|l| [&[0u8][..], l].concat()).collect();
        let inner = chosen.len() + multi.hashes.len() - 1;
        // leaves + inner nodes recomputed + sized root
        let multi_hashes = chosen.len() + inner + 1;
        group.bench_with_input(BenchmarkId::new("multi64_verify", size), &size, |b, _| {
            b.iter(|| multi.verify(black_box(&chosen), &root).unwrap())
        });
        let singles: Vec<_> = picks.iter().map(|&i| tree.prove(i).unwrap()).collect();
        group.bench_with_input(BenchmarkId::new("singles64_verify", size), &size, |b, _| {
            b.iter(|| {
                for (p, l) in singles.iter().zip(&chosen) {
                    p.verify(black_box(l), &root).unwrap();
                }
            })
        });
        group.bench_with_input(
            BenchmarkId::new("floor_sha3_multi64", size),
            &size,
            |b, _| {
                b.iter(|| {
                    for leaf in &prefixed {
                        black_box(hash::sha3(black_box(leaf)));
                    }
                    for _ in 0..inner {
                        black_box(hash::sha3(black_box(&node)));
                    }
                    black_box(hash::sha3(black_box(&sized)));
                })
            },
        );
        eprintln!(
            "merkle {size}: single proof {single_hashes} hashes; multiproof of 64 leaves sends {} hashes and computes {multi_hashes} (leaves of {} bytes with the prefix)",
            multi.hashes.len(),
            prefixed[0].len()
        );
    }
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
