//! Peers' light clients of this relay's chains are kept fresh when no message flows: past
//! half the trusting period, a batch without messages carries the path to the latest block,
//! and the receiver verifies it and answers what it now trusts.

mod common;

use std::time::Duration;

use common::{SimChain, F};
use corridor_light_client::client::LightClient;
use corridor_light_client::{Height, Options};
use corridor_relay_core::core::{Action, Core, CoreConfig, Event, Output, PeerId};
use corridor_relay_core::wire::{ClientTrust, Frame, Limits, TrustStatus};

const CN_RELAY: PeerId = [1; 32];
const KZ_RELAY: PeerId = [2; 32];

fn options() -> Options {
    Options {
        trusting_period: Duration::from_secs(100),
        ..Options::default()
    }
}

fn config(home: &SimChain, remote: &SimChain, peer: PeerId) -> CoreConfig {
    CoreConfig {
        home: [home.id().clone()].into(),
        routes: [(remote.id().clone(), peer)].into(),
        limits: Limits::default(),
        window: 16,
        resend_after: Duration::from_secs(5),
        penalty_threshold: 3,
        max_delivery_batch: corridor_relay_core::DEFAULT_DELIVERY_BATCH,
    }
}

fn sent_batches(out: &Output<F>) -> Vec<(Height, usize, usize)> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                frame: Frame::Batch(b),
                ..
            } => Some((b.height, b.light_blocks.len(), b.messages.len())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_peer_client_past_half_its_trusting_period_gets_the_path_to_the_latest_block() {
    let mut cn = SimChain::new("cn-shanghai");
    let kz = SimChain::new("kz-astana");
    // 60 blocks of one second: block 1 is 59 s older than block 60.
    for _ in 0..59 {
        cn.produce();
    }
    let clients = || {
        vec![
            LightClient::new(cn.root(), options()),
            LightClient::new(kz.root(), options()),
        ]
    };
    let mut source = Core::<F>::new(config(&cn, &kz, KZ_RELAY), clients());
    let mut receiver = Core::<F>::new(config(&kz, &cn, CN_RELAY), clients());
    let at = |h: u64| cn.spec.time_at(Height(h));
    source.handle(
        Event::HomeBlocks {
            chain: cn.id().clone(),
            blocks: cn.blocks.clone(),
        },
        at(60),
    );
    source.handle(Event::PeerUp { peer: KZ_RELAY }, at(60));
    let trust = |latest| {
        Frame::Trust(TrustStatus {
            clients: vec![ClientTrust {
                chain: cn.id().clone(),
                root_height: Height(1),
                latest,
            }],
        })
    };
    // The peer trusts block 20 (time 19 s): fresh until 69 s.
    let out = source.handle(
        Event::Frame {
            peer: KZ_RELAY,
            frame: trust(Some(Height(20))),
        },
        at(60),
    );
    assert!(
        sent_batches(&out).is_empty(),
        "within half the period: nothing"
    );
    let out = source.handle(Event::Tick, at(70));
    let batches = sent_batches(&out);
    assert_eq!(batches.len(), 1, "{batches:?}");
    let (height, blocks, messages) = batches[0];
    assert_eq!((height, messages), (Height(60), 0));
    assert!(blocks >= 1);
    // Not again before resend_after.
    assert!(sent_batches(&source.handle(Event::Tick, at(71))).is_empty());

    // The receiver verifies the path and acks what it trusts.
    let Some(Action::Send {
        frame: Frame::Batch(batch),
        ..
    }) = out.actions.into_iter().find(|a| {
        matches!(
            a,
            Action::Send {
                frame: Frame::Batch(_),
                ..
            }
        )
    })
    else {
        unreachable!()
    };
    // First the receiver learns blocks 1 and 20 (as with an earlier batch).
    let mut seeded = batch.clone();
    seeded.light_blocks = vec![cn.blocks[0].clone(), cn.blocks[19].clone()];
    seeded.height = Height(20);
    let out = receiver.handle(
        Event::Frame {
            peer: CN_RELAY,
            frame: Frame::Batch(seeded),
        },
        at(70),
    );
    assert!(
        out.actions
            .iter()
            .all(|a| !matches!(a, Action::Rejected { .. })),
        "{:?}",
        out.actions
    );
    let out = receiver.handle(
        Event::Frame {
            peer: CN_RELAY,
            frame: Frame::Batch(batch),
        },
        at(70),
    );
    let acked = out.actions.iter().find_map(|a| match a {
        Action::Send {
            frame: Frame::Ack(ack),
            ..
        } => Some(ack.clone()),
        _ => None,
    });
    let ack = acked.expect("an ack of the refresh");
    assert!(ack.sequences.is_empty());
    assert_eq!(ack.trusted_height, Some(Height(60)));
    // Light clients are written at most every CLIENT_PERSIST_INTERVAL (the first batch
    // wrote this one a moment ago); the next step after it writes the refreshed one.
    let client_writes = |out: &Output<F>| {
        out.writes
            .writes
            .iter()
            .filter(|w| w.column == corridor_relay_core::store::Column::Clients)
            .count()
    };
    assert_eq!(client_writes(&out), 0);
    let later = at(70)
        .checked_add(corridor_relay_core::core::CLIENT_PERSIST_INTERVAL)
        .unwrap();
    let out_later = receiver.handle(Event::Tick, later);
    assert_eq!(
        client_writes(&out_later),
        1,
        "the refreshed client is persisted"
    );
    // The source records the peer's new trust: no refresh needed any more.
    source.handle(
        Event::Frame {
            peer: KZ_RELAY,
            frame: Frame::Ack(ack),
        },
        at(80),
    );
    assert!(sent_batches(&source.handle(Event::Tick, at(80))).is_empty());
}
