//! Helpers shared by the devnet tests: temporary store folders, chain configs with short
//! intervals, trade messages, bounded waits.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::time::Duration;

use corridor_adapters::devnet::DevnetAdapter;
use corridor_adapters::{ChainAdapter, OutboundMessage};
use corridor_devnet::{devnet_trader_key, DevnetConfig, Trader};
use corridor_light_client::envelope::{
    payload_from_json, Deadline, DocumentKind, MessageBody, SignedMessage, VERSION,
};
use corridor_light_client::hash;
use corridor_light_client::signature::SigningKey;
use corridor_light_client::{ChainId, Hash32, Height};

/// Longest any test waits for a chain to get somewhere.
pub const WAIT: Duration = Duration::from_secs(30);
/// Block interval of test chains.
pub const INTERVAL: Duration = Duration::from_millis(50);

pub use corridor_light_client::testkit::{now, TempDir};

pub fn id(s: &str) -> ChainId {
    ChainId::new(s).unwrap()
}

/// A chain of 4 validators, 50 ms blocks, genesis a second ago, store in `dir/<chain>`.
pub fn chain_config(chain: &str, dir: &TempDir) -> DevnetConfig {
    let genesis = now().checked_sub(Duration::from_secs(1)).unwrap();
    DevnetConfig::simple(id(chain), 4, INTERVAL, genesis, dir.path().join(chain))
}

/// Registers the devnet trader `name` on `config`; returns its key.
pub fn register_trader(config: &mut DevnetConfig, name: &str) -> SigningKey {
    let key = devnet_trader_key(name);
    config.traders.push(Trader {
        name: name.to_owned(),
        public_key: key.public_key(),
    });
    key
}

/// Makes `a` and `b` peers of each other (each trusts the other's genesis).
pub fn peer(a: &mut DevnetConfig, b: &DevnetConfig) {
    a.peers.push(b.as_peer(Duration::from_secs(14 * 24 * 3600)));
}

/// A signed packing list from `from` to `to`.
pub fn message(key: &SigningKey, from: &str, to: &str, channel: u32, nonce: u64) -> SignedMessage {
    let doc = serde_json::json!({
        "packing_list_number": format!("PL-{nonce}"), "issue_date": "2026-11-28",
        "consignor": "Shanghai Machinery Export Co.", "consignee": "Astana Trading LLP",
        "invoice_ref": format!("INV-{nonce}"),
        "packages": [{"marks": "SH-1", "type": "CS", "count": 12}]
    });
    let payload = payload_from_json(&doc).unwrap();
    MessageBody {
        version: VERSION,
        source_chain: id(from),
        destination_chain: id(to),
        channel,
        nonce,
        sender: key.public_key(),
        receiver: SigningKey::from_seed([7; 32]).public_key(),
        kind: DocumentKind::PackingList,
        payload_hash: hash::sha3(&payload.0),
        payload,
        deadline: Deadline::Height(Height(1_000_000)),
    }
    .sign(key)
    .unwrap()
}

/// Waits until the message `id` is committed; returns it with its proof.
pub async fn committed(adapter: &DevnetAdapter, id: Hash32) -> OutboundMessage {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let loc = adapter.message_location(id).await.unwrap();
        if let Some(h) = loc.height {
            let out = adapter.outbound_messages(h, h).await.unwrap();
            return out
                .into_iter()
                .find(|m| m.message.message.id().unwrap() == id)
                .expect("committed message listed at its height");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "message {id} not committed within {WAIT:?}"
        );
        tokio::time::sleep(INTERVAL).await;
    }
}
