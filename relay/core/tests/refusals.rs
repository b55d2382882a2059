//! What the core does with each kind of bad input from a peer, asserted by its reason: the
//! cheap checks come first and cost nothing to persist; only verified messages are written
//! and acknowledged; a replay is dropped without penalty; a peer past its threshold is
//! disconnected; a light client frozen on misbehaviour stops its lanes; a restart from the
//! store carries on.

mod common;

use std::time::Duration;

use common::{acks, message_batch, options, reasons, SimChain, F};
use corridor_light_client::client::LightClient;
use corridor_light_client::merkle::MultiProof;
use corridor_light_client::testgen;
use corridor_light_client::{ChainId, Hash32, Height, Time};
use corridor_relay_core::core::{Action, Core, CoreConfig, Event, Output, PeerId, Stage};
use corridor_relay_core::store::{Column, MemStore, Store};
use corridor_relay_core::wire::{Frame, Lane, Limits, MessageBatch};

const PEER: PeerId = [1; 32];
const STRANGER: PeerId = [3; 32];

struct World {
    cn: SimChain,
    kz: SimChain,
    core: Core<F>,
    config: CoreConfig,
    store: MemStore,
}

/// Relay-kz (home kz-astana, peer PEER serves cn-shanghai); cn-shanghai has committed
/// three messages to kz-astana at height 2.
fn world() -> World {
    let mut cn = SimChain::new("cn-shanghai");
    let kz = SimChain::new("kz-astana");
    for nonce in 1..=3 {
        cn.submit(kz.id(), 0, nonce);
    }
    cn.produce();
    cn.produce();
    let config = CoreConfig {
        home: [kz.id().clone()].into(),
        routes: [(cn.id().clone(), PEER)].into(),
        limits: Limits::default(),
        window: 64,
        resend_after: Duration::from_secs(3),
        penalty_threshold: 3,
        max_delivery_batch: corridor_relay_core::DEFAULT_DELIVERY_BATCH,
    };
    let clients = vec![
        LightClient::new(cn.root(), options()),
        LightClient::new(kz.root(), options()),
    ];
    let mut core = Core::new(config.clone(), clients);
    let now = cn.now();
    core.handle(
        Event::HomeBlocks {
            chain: kz.id().clone(),
            blocks: kz.blocks.clone(),
        },
        now,
    );
    World {
        core,
        config,
        cn,
        kz,
        store: MemStore::new(),
    }
}

impl World {
    fn lane(&self) -> Lane {
        Lane {
            source: self.cn.id().clone(),
            destination: self.kz.id().clone(),
            channel: 0,
        }
    }

    fn now(&self) -> Time {
        self.cn.now().checked_add(Duration::from_secs(1)).unwrap()
    }

    /// The real batch of the three messages, with the root block and block 2.
    fn batch(&self) -> MessageBatch<F> {
        self.batch_of(&[0, 1, 2])
    }

    /// The real batch of the messages at `positions` of block 2, with the root block and
    /// block 2.
    fn batch_of(&self, positions: &[usize]) -> MessageBatch<F> {
        let committed = &self.cn.committed[&Height(2)];
        message_batch(
            self.lane(),
            Height(2),
            vec![self.cn.blocks[0].clone(), self.cn.blocks[1].clone()],
            positions.iter().map(|&i| committed[i].clone()).collect(),
        )
    }

    fn send(&mut self, peer: PeerId, frame: Frame<F>) -> Output<F> {
        let now = self.now();
        let out = self.core.handle(Event::Frame { peer, frame }, now);
        self.store.write(&out.writes).unwrap();
        out
    }
}

fn inbound_writes(out: &Output<F>) -> usize {
    out.writes
        .writes
        .iter()
        .filter(|w| w.column == Column::Inbound)
        .count()
}

#[test]
fn a_valid_batch_is_persisted_then_acknowledged_and_its_replay_dropped_without_penalty() {
    let mut w = world();
    let out = w.send(PEER, Frame::Batch(w.batch()));
    assert_eq!(reasons(&out), Vec::<&str>::new());
    assert_eq!(inbound_writes(&out), 3, "each verified message persisted");
    assert_eq!(acks(&out), vec![vec![1, 2, 3]]);
    let stages = out
        .actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::Stage {
                    stage: Stage::Received,
                    ..
                }
            )
        })
        .count();
    assert_eq!(stages, 3);
    // The first message goes to the inbox at once, with the blocks the inbox needs.
    let deliver = out.actions.iter().find_map(|a| match a {
        Action::Deliver { bundles, .. } => bundles.first(),
        _ => None,
    });
    let bundle = deliver.expect("the first message is delivered");
    assert_eq!(bundle.message.sequence, 1);
    assert_eq!(bundle.height, Height(2));
    assert_eq!(bundle.light_blocks.len(), 2, "root block and block 2");

    let again = w.send(PEER, Frame::Batch(w.batch()));
    assert_eq!(reasons(&again), vec!["duplicate"]);
    assert_eq!(inbound_writes(&again), 0, "nothing written twice");
    assert_eq!(
        acks(&again),
        vec![vec![1, 2, 3]],
        "acknowledged again for a lost ack"
    );
    assert_eq!(w.core.penalties(&PEER), 0);
}

#[test]
fn cheap_checks_refuse_before_any_verification_or_write() {
    let mut w = world();
    let mut foreign = w.batch();
    foreign.lane.destination = ChainId::new("pk-karachi").unwrap();
    let out = w.send(PEER, Frame::Batch(foreign));
    assert_eq!(reasons(&out), vec!["lane-not-served"]);
    assert!(out.writes.is_empty());

    let out = w.send(STRANGER, Frame::Batch(w.batch()));
    assert_eq!(reasons(&out), vec!["wrong-peer"]);
    assert!(out.writes.is_empty());

    let mut reordered = w.batch();
    reordered.messages.swap(0, 1);
    let out = w.send(PEER, Frame::Batch(reordered));
    assert_eq!(reasons(&out), vec!["batch-shape"]);
    assert!(out.writes.is_empty(), "not even the light client moved");

    // Messages without a proof, and a proof without messages.
    let mut unproven = w.batch();
    unproven.proof = None;
    let out = w.send(PEER, Frame::Batch(unproven));
    assert_eq!(reasons(&out), vec!["batch-shape"]);
    assert!(out.writes.is_empty());
    let mut proof_alone = w.batch();
    proof_alone.messages.clear();
    let out = w.send(PEER, Frame::Batch(proof_alone));
    assert_eq!(reasons(&out), vec!["batch-shape"]);
    assert!(out.writes.is_empty());
    assert!(w.core.client(w.cn.id()).unwrap().latest().is_none());
}

#[test]
fn a_forged_proof_is_refused_and_nothing_of_it_is_written_or_acknowledged() {
    let mut w = world();
    let mut forged = w.batch_of(&[0]);
    forged.messages[0].message.body.nonce ^= 1;
    let out = w.send(PEER, Frame::Batch(forged.clone()));
    assert_eq!(reasons(&out), vec!["invalid-proof"]);
    assert_eq!(inbound_writes(&out), 0);
    assert!(acks(&out).is_empty());

    let mut bad_path = w.batch_of(&[0]);
    bad_path.proof = Some(MultiProof {
        tree_size: 1,
        indices: vec![0],
        hashes: Vec::new(),
    });
    let out = w.send(PEER, Frame::Batch(bad_path));
    assert_eq!(reasons(&out), vec!["invalid-proof"]);

    // One forged message among honest ones refuses the whole batch under its one proof.
    let mut one_of_three = w.batch();
    one_of_three.messages[1].message.body.nonce ^= 1;
    let out = w.send(PEER, Frame::Batch(one_of_three));
    assert_eq!(reasons(&out), vec!["invalid-proof"]);
    assert_eq!(inbound_writes(&out), 0);
    assert!(acks(&out).is_empty());

    // A proof of two of the three messages, given all three, or given the other two.
    let mut short = w.batch();
    short.proof = w.batch_of(&[0, 1]).proof;
    let out = w.send(PEER, Frame::Batch(short));
    assert_eq!(reasons(&out), vec!["invalid-proof"]);
    let mut swapped = w.batch_of(&[1, 2]);
    swapped.proof = w.batch_of(&[0, 1]).proof;
    let out = w.send(PEER, Frame::Batch(swapped));
    assert_eq!(reasons(&out), vec!["invalid-proof"]);
    assert_eq!(inbound_writes(&out), 0);

    // The honest batch is taken after all that.
    let out = w.send(PEER, Frame::Batch(w.batch()));
    assert_eq!(acks(&out), vec![vec![1, 2, 3]]);

    // A header with a forged signature, to a relay that does not trust its height yet.
    let mut w = world();
    let mut bad_sig = w.batch();
    bad_sig.light_blocks[1] = testgen::with_bad_signature(bad_sig.light_blocks[1].clone(), 0);
    let out = w.send(PEER, Frame::Batch(bad_sig));
    assert_eq!(
        reasons(&out),
        vec!["invalid-light-block"],
        "the header is refused first"
    );
    assert_eq!(inbound_writes(&out), 0);
    assert!(acks(&out).is_empty());
}

#[test]
fn oversized_lists_are_refused_by_the_frame_limits() {
    let mut w = world();
    let mut big = w.batch();
    let block = big.light_blocks[1].clone();
    big.light_blocks = vec![block; Limits::default().max_light_blocks + 1];
    let out = w.send(PEER, Frame::Batch(big));
    assert_eq!(reasons(&out), vec!["frame-limits"]);
    let out = w.core.handle(
        Event::BadFrame {
            peer: PEER,
            reason: "bad-frame",
            detail: "not CBOR".into(),
        },
        w.now(),
    );
    assert_eq!(reasons(&out), vec!["bad-frame"]);
}

#[test]
fn a_peer_is_disconnected_at_its_threshold_and_forgiven_after() {
    let mut w = world();
    let mut foreign = w.batch();
    foreign.lane.destination = ChainId::new("pk-karachi").unwrap();
    let mut disconnects = 0;
    for _ in 0..3 {
        let out = w.send(PEER, Frame::Batch(foreign.clone()));
        disconnects += out
            .actions
            .iter()
            .filter(|a| matches!(a, Action::Disconnect { peer, .. } if *peer == PEER))
            .count();
    }
    assert_eq!(disconnects, 1, "exactly at the third refusal");
    assert_eq!(w.core.penalties(&PEER), 3);
    w.core.forgive(&PEER);
    assert_eq!(w.core.penalties(&PEER), 0);
}

#[test]
fn a_conflicting_header_freezes_the_client_and_stops_its_lanes() {
    let mut w = world();
    let out = w.send(PEER, Frame::Batch(w.batch()));
    assert_eq!(acks(&out).len(), 1);
    let keys = w.cn.spec.keys_at(Height(2));
    let conflict = testgen::fork(&w.cn.blocks[1], &keys, Hash32([7; 32]));
    // A batch without messages refreshes the client: its blocks are checked all the same.
    let mut evil = w.batch();
    evil.light_blocks = vec![conflict];
    evil.messages.clear();
    evil.proof = None;
    let out = w.send(PEER, Frame::Batch(evil));
    assert_eq!(reasons(&out), vec!["misbehaviour"]);
    let frozen = out
        .actions
        .iter()
        .find_map(|a| match a {
            Action::Frozen { chain, reason } => Some((chain.clone(), reason.clone())),
            _ => None,
        })
        .expect("a frozen action");
    assert_eq!(&frozen.0, w.cn.id());
    assert!(frozen.1.contains("height 2"), "{}", frozen.1);
    assert!(w.core.client(w.cn.id()).unwrap().is_frozen());
    assert!(
        out.writes
            .writes
            .iter()
            .any(|x| x.column == Column::Clients),
        "a frozen client is written at once, whatever the persist interval"
    );
    // The frozen client is persisted, and nothing more crosses from its chain.
    let out = w.send(PEER, Frame::Batch(w.batch()));
    assert_eq!(reasons(&out), vec!["duplicate"]);
    let out = w.core.handle(Event::Tick, w.now());
    assert!(
        !out.actions
            .iter()
            .any(|a| matches!(a, Action::Deliver { .. })),
        "no delivery from a frozen chain"
    );
}

#[test]
fn a_restarted_core_carries_on_from_its_store() {
    let mut w = world();
    let out = w.send(PEER, Frame::Batch(w.batch()));
    assert_eq!(acks(&out), vec![vec![1, 2, 3]]);
    // Crash: a new core from the store alone.
    let clients = vec![
        LightClient::new(w.cn.root(), options()),
        LightClient::new(w.kz.root(), options()),
    ];
    let mut core = Core::restore(w.config.clone(), clients, &w.store).unwrap();
    assert_eq!(core.inbound_waiting().values().sum::<usize>(), 3);
    assert_eq!(
        core.client(w.cn.id()).unwrap().latest_height(),
        Height(2),
        "the peer-fed client was persisted with the batch"
    );
    let out = core.handle(Event::Tick, w.now());
    let first = out.actions.iter().find_map(|a| match a {
        Action::Deliver { bundles, .. } => bundles.first().map(|b| b.message.sequence),
        _ => None,
    });
    assert_eq!(first, Some(1), "delivery resumes in channel order");
    // A replay after the restart is still a duplicate.
    let out = core.handle(
        Event::Frame {
            peer: PEER,
            frame: Frame::Batch(w.batch()),
        },
        w.now(),
    );
    assert_eq!(reasons(&out), vec!["duplicate"]);
}

#[test]
fn a_store_with_another_trust_root_is_refused() {
    let mut w = world();
    w.send(PEER, Frame::Batch(w.batch()));
    let mut other = w.cn.root();
    other.header_hash = Hash32([9; 32]);
    let clients = vec![LightClient::new(other, options())];
    let err = Core::<F>::restore(w.config.clone(), clients, &w.store).unwrap_err();
    assert!(err.to_string().contains("another trust root"), "{err}");
}

/// A core of every family (as the daemon runs it): a peer's batch whose light blocks or
/// proof are of another family than the source chain's is refused by family before any
/// signature is checked, nothing is written, and the real batch is then taken.
#[test]
fn data_of_another_family_than_the_chains_is_refused_by_family() {
    use corridor_light_client::any::{AnyBatchProof, AnyFamily, AnyLightBlock};
    use corridor_light_client::evm::EvmLogProof;
    use corridor_light_client::family::FamilyKind;

    let w = world();
    let clients = vec![
        LightClient::<AnyFamily>::for_family(FamilyKind::Corridor, w.cn.root(), options()).unwrap(),
        LightClient::<AnyFamily>::for_family(FamilyKind::Corridor, w.kz.root(), options()).unwrap(),
    ];
    let mut core = Core::<AnyFamily>::new(w.config.clone(), clients);
    let now = w.now();
    core.handle(
        Event::HomeBlocks {
            chain: w.kz.id().clone(),
            blocks: w
                .kz
                .blocks
                .iter()
                .cloned()
                .map(AnyLightBlock::from)
                .collect(),
        },
        now,
    );
    let real = w.batch().into_any();
    let refused = |core: &mut Core<AnyFamily>, batch: MessageBatch<AnyFamily>| {
        let out = core.handle(
            Event::Frame {
                peer: PEER,
                frame: Frame::Batch(batch),
            },
            now,
        );
        let reasons: Vec<&str> = out
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Rejected { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect();
        let held = out
            .writes
            .writes
            .iter()
            .filter(|w| w.column == Column::Inbound)
            .count();
        (reasons, held)
    };

    // The root block of cn-shanghai as an EVM block (same chain id, height and time).
    let root = &w.cn.blocks[0];
    let mut evm_root = real.clone();
    evm_root.light_blocks[0] = AnyLightBlock::from(testgen::evm_block(
        w.cn.id(),
        root.header().height,
        root.header().time,
    ));
    assert_eq!(refused(&mut core, evm_root), (vec!["wrong-family"], 0));
    assert_eq!(
        core.client(w.cn.id()).unwrap().revision(),
        0,
        "the client took nothing"
    );

    // The real blocks with a proof of another family: refused at the proof.
    let mut evm_proof = real.clone();
    evm_proof.proof = Some(AnyBatchProof::Evm(vec![
        EvmLogProof {
            receipt: corridor_light_client::evm::ReceiptProof {
                index: 0,
                nodes: vec![vec![0x80]],
            },
            log_index: 0,
        };
        3
    ]));
    assert_eq!(refused(&mut core, evm_proof), (vec!["invalid-proof"], 0));

    // The real batch: taken, every message held.
    assert_eq!(refused(&mut core, real), (Vec::new(), 3));
}
