//! Merkle proof verification at 1,024 and 65,536 leaves, next to the raw cost of the same
//! number of SHA3-256 hashes.
//!
//! - single: one inclusion proof (leaf hash + one node per level + the sized root);
//! - multi: one multiproof of 64 leaves spread over the tree, next to 64 single proofs.
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

        group.bench_with_input(BenchmarkId::new("single_verify", size), &size, |b, _| {
            b.iter(|| proof.verify(black_box(leaf), &root).unwrap())
        });
        let node = [9u8; 65];
        group.bench_with_input(
            BenchmarkId::new("floor_sha3_single", size),
            &size,
            |b, _| {
                b.iter(|| {
                    for _ in 0..single_hashes {
                        black_box(hash::sha3(black_box(&node)));
                    }
                })
            },
        );

        let picks: Vec<u64> = (0..64).map(|i| i * (size / 64) + (i % 7)).collect();
        let multi = tree.prove_many(&picks).unwrap();
        let chosen: Vec<&Vec<u8>> = picks.iter().map(|&i| &leaves[i as usize]).collect();
        multi.verify(&chosen, &root).unwrap();
        // leaves + inner nodes recomputed + sized root
        let multi_hashes = 64 + (64 + multi.hashes.len() - 1) + 1;
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
                    for _ in 0..multi_hashes {
                        black_box(hash::sha3(black_box(&node)));
                    }
                })
            },
        );
        eprintln!(
            "merkle {size}: single proof {} hashes; multiproof of 64 leaves sends {} hashes and computes {multi_hashes}",
            single_hashes,
            multi.hashes.len()
        );
    }
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
