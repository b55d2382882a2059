//! Multiproof verification against its hash floor, measured interleaved so that both see the
//! same machine: rounds alternate a batch of verifications and a batch of the floor's hashes,
//! and the minimum, 10th percentile and median time of each are printed with their ratio.
//! On a loaded machine the minimum is the figure to read; criterion's `merkle` bench measures
//! the two minutes apart, and the load moves its ratio by 10-20%.
//!
//! The floor is the same as in `benches/merkle.rs`: each proven leaf as `0x00 || data` at its
//! real length, one 65-byte SHA3-256 per recomputed inner node, one 41-byte for the root.
//!
//! Run: `cargo bench -p corridor-light-client --bench merkle_floor`

use std::hint::black_box;
use std::time::Instant;

use corridor_light_client::hash;
use corridor_light_client::merkle::MerkleTree;

const ROUNDS: usize = 400;
const BATCH: u32 = 10;

/// Min, 10th percentile and median of `samples` (microseconds).
fn summary(samples: &mut [f64]) -> (f64, f64, f64) {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    (samples[0], samples[n / 10], samples[n / 2])
}

fn main() {
    // `cargo bench` passes `--bench`; a test run (`cargo test --benches`) does not.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    for size in [1_024u64, 65_536] {
        let leaves: Vec<Vec<u8>> = (0..size)
            .map(|i| format!("message commitment {i:032}").into_bytes())
            .collect();
        let tree = MerkleTree::from_leaves(&leaves);
        let root = tree.root();
        let picks: Vec<u64> = (0..64).map(|i| i * (size / 64) + (i % 7)).collect();
        let multi = tree.prove_many(&picks).unwrap();
        let chosen: Vec<&Vec<u8>> = picks.iter().map(|&i| &leaves[i as usize]).collect();
        multi.verify(&chosen, &root).unwrap();
        let prefixed: Vec<Vec<u8>> = chosen.iter().map(|l| [&[0u8][..], l].concat()).collect();
        let inner = chosen.len() + multi.hashes.len() - 1;
        let (node, sized) = ([9u8; 65], [2u8; 41]);

        let verify = || multi.verify(black_box(&chosen), &root).unwrap();
        let floor = || {
            for leaf in &prefixed {
                black_box(hash::sha3(black_box(leaf)));
            }
            for _ in 0..inner {
                black_box(hash::sha3(black_box(&node)));
            }
            black_box(hash::sha3(black_box(&sized)));
        };
        let time = |f: &dyn Fn()| {
            let start = Instant::now();
            for _ in 0..BATCH {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(BATCH)
        };
        let (mut v, mut f) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
        for _ in 0..ROUNDS {
            v.push(time(&verify));
            f.push(time(&floor));
        }
        let (v, f) = (summary(&mut v), summary(&mut f));
        println!(
            "multi64 at {size} leaves ({} hashes): verify min {:.1} us, p10 {:.1}, median {:.1}; \
             floor min {:.1} us, p10 {:.1}, median {:.1}; verify / floor at the min {:.3}",
            chosen.len() + inner + 1,
            v.0,
            v.1,
            v.2,
            f.0,
            f.1,
            f.2,
            v.0 / f.0
        );
    }
}
