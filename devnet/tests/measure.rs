//! Measurements of the devnet chain, printed, never asserted (speed belongs in reports and
//! benches, not in pass/fail). Run with
//! `cargo test -p corridor-adapters --test measure -- --ignored --nocapture`
//! (add `--release` for numbers that mean something).

mod common;

use std::time::{Duration, Instant};

use common::*;
use corridor_adapters::bundle::build_bundle;
use corridor_adapters::devnet::DevnetAdapter;
use corridor_adapters::types::NativeClient;
use corridor_adapters::ChainAdapter;
use corridor_devnet::{genesis_block, DevnetChain};
use corridor_light_client::Options;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: run on purpose with --ignored --nocapture"]
async fn block_production_and_delivery_costs() {
    let dir = TempDir::new("measure");

    // Block production as fast as the node can go: 1 ms interval, 4 validators.
    let mut fast = chain_config("ms-fast", &dir);
    fast.spec.block_interval = Duration::from_millis(1);
    let chain = DevnetChain::start(fast).await.unwrap();
    let start = chain.status().produced_height.0;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let blocks = chain.status().produced_height.0 - start;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "block production (4 validators, synced RocksDB write per block): {:.0} blocks/s ({blocks} in {secs:.2} s)",
        blocks as f64 / secs
    );
    chain.shutdown().await.unwrap();

    // Deliveries A -> B: build bundles, then time each submission (HTTP, light-client
    // update, proof, synced write).
    let mut a_config = chain_config("ms-a", &dir);
    let mut b_config = chain_config("ms-b", &dir);
    peer(&mut a_config, &b_config);
    peer(&mut b_config, &a_config);
    let trader = register_trader(&mut a_config, "exporter");
    let a_spec = a_config.spec.clone();
    let chain_a = DevnetChain::start(a_config).await.unwrap();
    let chain_b = DevnetChain::start(b_config).await.unwrap();
    let a = DevnetAdapter::new(id("ms-a"), &chain_a.url()).unwrap();
    let b = DevnetAdapter::new(id("ms-b"), &chain_b.url()).unwrap();
    let n = 50u64;
    let mut ids = Vec::new();
    for nonce in 1..=n {
        let m = message(&trader, "ms-a", "ms-b", 0, nonce);
        ids.push(a.submit_message(&m).await.unwrap().id);
    }
    let mut outs = Vec::new();
    for id in ids {
        outs.push(committed(&a, id).await);
    }
    let trusted = b.client_status(&id("ms-a")).await.unwrap();
    let mut bundles = Vec::new();
    for o in outs {
        bundles.push(
            build_bundle(&a, trusted.receiver_trust(), o, Options::default(), now())
                .await
                .unwrap(),
        );
    }
    let mut times = Vec::new();
    for bundle in &bundles {
        let t = Instant::now();
        b.submit_delivery(bundle).await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "delivery round trip ({n} deliveries): median {:?}, p90 {:?}, max {:?}",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times[times.len() - 1]
    );

    // The verification alone, in-process: light-client update from genesis plus the proof.
    let block = a.light_block(bundles[0].height).await.unwrap();
    let leaf = bundles[0].message.leaf().unwrap();
    let rounds = 200u32;
    let t = Instant::now();
    for _ in 0..rounds {
        let mut client =
            NativeClient::trusting(genesis_block(&a_spec), Options::default()).unwrap();
        client.update(block.clone(), now()).unwrap();
        let root = client
            .trusted_at(block.height())
            .unwrap()
            .header()
            .messages_root;
        bundles[0].proof.verify(&leaf, &root).unwrap();
    }
    println!(
        "verification alone (4-signature header + inclusion proof): {:?} each",
        t.elapsed() / rounds
    );
    chain_a.shutdown().await.unwrap();
    chain_b.shutdown().await.unwrap();
}
