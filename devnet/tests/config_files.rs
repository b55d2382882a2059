//! The demo's chain configs in `config/`: they load, agree with each other (each peer entry
//! derives the peer's real genesis as its trust root), register the devnet traders' keys,
//! and two of them, started as they are (on port 0, a temporary store and short blocks),
//! carry a message from one to the other.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use corridor_adapters::bundle::build_bundle;
use corridor_adapters::devnet::DevnetAdapter;
use corridor_adapters::{ChainAdapter, ReceiptResult};
use corridor_devnet::{devnet_trader_key, genesis_block, DevnetChain, DevnetConfig};
use corridor_light_client::Options;

const CHAINS: [&str; 3] = ["cn-shanghai", "kz-astana", "pk-karachi"];

fn load(chain: &str) -> DevnetConfig {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../config")
        .join(format!("{chain}.toml"));
    DevnetConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn demo_configs_load_and_agree_with_each_other() {
    let configs: Vec<DevnetConfig> = CHAINS.iter().map(|c| load(c)).collect();
    for (config, name) in configs.iter().zip(CHAINS) {
        assert_eq!(config.chain_id().as_str(), name);
        assert!(
            config.spec.rotate_every > 0,
            "{name} rotates its validators"
        );
        assert!(!config.traders.is_empty());
        for trader in &config.traders {
            assert_eq!(
                trader.public_key,
                devnet_trader_key(&trader.name).public_key(),
                "{name}: trader {} registers its devnet key",
                trader.name
            );
        }
        assert_eq!(config.peers.len(), 2, "{name} trusts the two others");
        for peer in &config.peers {
            let own = configs
                .iter()
                .find(|c| c.chain_id() == peer.chain_id())
                .unwrap_or_else(|| panic!("{name}: unknown peer {}", peer.chain_id()));
            let genesis = genesis_block(&own.spec);
            assert_eq!(
                (peer.root.height, peer.root.header_hash),
                (genesis.height(), genesis.header().hash()),
                "{name}'s trust root of {} is that chain's genesis",
                peer.chain_id()
            );
        }
    }
}

#[test]
fn a_config_error_names_its_key() {
    let dir = TempDir::new("bad-config");
    let path = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/kz-astana.toml"),
    )
    .unwrap()
    .replace(
        "count = 4\nrotate_every = 50",
        "count = 0\nrotate_every = 50",
    );
    std::fs::write(&path, text).unwrap();
    let err = DevnetConfig::load(&path).unwrap_err().to_string();
    assert!(err.contains("validators.count"), "{err}");
    let missing = DevnetConfig::load(&dir.path().join("absent.toml")).unwrap_err();
    assert!(missing.to_string().contains("absent.toml"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_chains_carry_a_message_from_shanghai_to_astana() {
    let dir = TempDir::new("demo");
    let start = |name: &str| {
        let mut config = load(name);
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.store_path = dir.path().join(name);
        config.spec.block_interval = INTERVAL;
        DevnetChain::start(config)
    };
    let shanghai = start("cn-shanghai").await.unwrap();
    let astana = start("kz-astana").await.unwrap();
    let sh = DevnetAdapter::new(id("cn-shanghai"), &shanghai.url()).unwrap();
    let kz = DevnetAdapter::new(id("kz-astana"), &astana.url()).unwrap();

    let key = devnet_trader_key("shanghai-exporter");
    let accepted = sh
        .submit_message(&message(&key, "cn-shanghai", "kz-astana", 0, 1))
        .await
        .unwrap();
    let out = committed(&sh, accepted.id).await;
    let trusted = kz.client_status(&id("cn-shanghai")).await.unwrap();
    // The demo genesis is a fixed date: the configs' long trusting period covers it.
    let options = Options {
        trusting_period: Duration::from_secs(315_360_000),
        ..Options::default()
    };
    let bundle = build_bundle(&sh, trusted.receiver_trust(), out, options, now())
        .await
        .unwrap();
    let ack = kz.submit_delivery(&bundle).await.unwrap();
    assert_eq!((ack.sequence, ack.result), (1, ReceiptResult::Delivered));
    shanghai.shutdown().await.unwrap();
    astana.shutdown().await.unwrap();
}
