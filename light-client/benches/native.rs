//! Native header verification at 4, 32 and 128 validators, next to the crypto floor: the
//! same number of ed25519 verifications (one by one, and as one batch) and of SHA3-256
//! hashes (header, two validator-set trees and the vote bytes: about 4n + 3 hashes).
//!
//! Run: `cargo bench -p corridor-light-client --bench native`

use std::hint::black_box;

use corridor_light_client::native::{NativeVerifier, TrustedState, Vote};
use corridor_light_client::signature::{self, PublicKey, Signature};
use corridor_light_client::testgen::{self, ChainSpec};
use corridor_light_client::{hash, Height, Options, Verdict, Verifier};
use criterion::{criterion_main, BenchmarkId, Criterion};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("native");
    for n in [4u32, 32, 128] {
        let spec = ChainSpec::simple("bench-chain", n);
        let blocks = testgen::chain(&spec, 2);
        let trusted = TrustedState::from_block(&blocks[0]);
        let untrusted = &blocks[1];
        let now = spec.time_at(Height(3));
        let options = Options::default();
        assert_eq!(
            NativeVerifier.verify_update(untrusted, &trusted, &options, now),
            Verdict::Success
        );

        group.bench_with_input(BenchmarkId::new("verify_adjacent", n), &n, |b, _| {
            b.iter(|| NativeVerifier.verify_update(black_box(untrusted), &trusted, &options, now))
        });

        let commit = &untrusted.signed_header.commit;
        let vote = Vote {
            chain_id: untrusted.header().chain_id.clone(),
            height: commit.height,
            round: commit.round,
            block_hash: commit.block_hash,
        };
        let bytes = vote.sign_bytes();
        let items: Vec<(PublicKey, &[u8], Signature)> = commit
            .signatures
            .iter()
            .map(|s| (s.validator, bytes.as_slice(), s.signature))
            .collect();
        group.bench_with_input(BenchmarkId::new("floor_ed25519_single", n), &n, |b, _| {
            b.iter(|| items.iter().all(|(k, m, s)| k.verify(m, s)))
        });
        group.bench_with_input(BenchmarkId::new("floor_ed25519_batch", n), &n, |b, _| {
            b.iter(|| signature::verify_all(black_box(&items)))
        });
        let hashes = 4 * n as usize + 3;
        let data = [7u8; 96];
        group.bench_with_input(BenchmarkId::new("floor_sha3_4n_plus_3", n), &n, |b, _| {
            b.iter(|| {
                for _ in 0..hashes {
                    black_box(hash::sha3(black_box(&data)));
                }
            })
        });
    }
    group.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
