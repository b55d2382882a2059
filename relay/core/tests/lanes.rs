//! The lanes' state machines driven one event at a time, asserted by what they send, persist
//! and report: the in-flight window and resend timing, batching per block, acks and receipts
//! closing entries, the closed watermark and the anchors, delivery in channel order with its
//! back-off, the scan watermark, and the light blocks handed to a peer or an inbox.

mod common;

use std::time::Duration;

use common::{acks, message_batch, options, reasons, SimChain, F};
use corridor_light_client::bundle::ProofBundle;
use corridor_light_client::client::{LightClient, UpdateOutcome};
use corridor_light_client::family::Family;
use corridor_light_client::native::LightBlock;
use corridor_light_client::receipt::{Receipt, ReceiptResult};
use corridor_light_client::testgen;
use corridor_light_client::{ChainId, Hash32, Height, Time};
use corridor_relay_core::core::{
    peer_hex, stored_inbound, stored_outbound, Action, AuditRecord, Core, CoreConfig, Event,
    Output, PeerId, Stage,
};
use corridor_relay_core::store::{Column, MemStore, Store};
use corridor_relay_core::wire::{
    Ack, ClientTrust, Frame, Lane, Limits, MessageBatch, ReceiptAck, ReceiptBatch, TrustStatus,
};

const PEER: PeerId = [1; 32];
const STRANGER: PeerId = [3; 32];

/// cn-shanghai with three messages to kz-astana (channel 0) committed at height 2.
fn chains() -> (SimChain, SimChain) {
    let mut cn = SimChain::new("cn-shanghai");
    let kz = SimChain::new("kz-astana");
    for nonce in 1..=3 {
        cn.submit(kz.id(), 0, nonce);
    }
    cn.produce();
    (cn, kz)
}

/// One relay's core and store, both chains, and the relay's clock.
struct Relay {
    cn: SimChain,
    kz: SimChain,
    config: CoreConfig,
    core: Core<F>,
    store: MemStore,
    now: Time,
}

impl Relay {
    /// Relay-cn: follows cn-shanghai and sends its messages to PEER, which serves kz-astana.
    fn sender(cn: SimChain, kz: SimChain, tweak: impl FnOnce(&mut CoreConfig)) -> Self {
        let mut config = CoreConfig {
            home: [cn.id().clone()].into(),
            routes: [(kz.id().clone(), PEER)].into(),
            limits: Limits::default(),
            window: 64,
            resend_after: Duration::from_secs(3),
            penalty_threshold: 3,
            max_delivery_batch: corridor_relay_core::DEFAULT_DELIVERY_BATCH,
        };
        tweak(&mut config);
        let mut r = Self::new(cn, kz, config);
        let blocks = r.cn.blocks.clone();
        let chain = r.cn.id().clone();
        r.handle(Event::HomeBlocks { chain, blocks });
        r
    }

    /// Relay-kz: follows kz-astana and takes cn-shanghai's messages from PEER into it.
    fn receiver(cn: SimChain, kz: SimChain, tweak: impl FnOnce(&mut CoreConfig)) -> Self {
        let mut config = CoreConfig {
            home: [kz.id().clone()].into(),
            routes: [(cn.id().clone(), PEER)].into(),
            limits: Limits::default(),
            window: 64,
            resend_after: Duration::from_secs(3),
            penalty_threshold: 3,
            max_delivery_batch: corridor_relay_core::DEFAULT_DELIVERY_BATCH,
        };
        tweak(&mut config);
        let mut r = Self::new(cn, kz, config);
        let blocks = r.kz.blocks.clone();
        let chain = r.kz.id().clone();
        r.handle(Event::HomeBlocks { chain, blocks });
        r
    }

    fn new(mut cn: SimChain, mut kz: SimChain, config: CoreConfig) -> Self {
        let now = cn
            .now()
            .max(kz.now())
            .checked_add(Duration::from_secs(1))
            .unwrap();
        let inbox = LightClient::new(cn.root(), options());
        kz.inbox.insert(cn.id().clone(), inbox);
        let inbox = LightClient::new(kz.root(), options());
        cn.inbox.insert(kz.id().clone(), inbox);
        let core = Core::new(config.clone(), Self::clients(&cn, &kz));
        Self {
            cn,
            kz,
            config,
            core,
            store: MemStore::new(),
            now,
        }
    }

    fn clients(cn: &SimChain, kz: &SimChain) -> Vec<LightClient<F>> {
        vec![
            LightClient::new(cn.root(), options()),
            LightClient::new(kz.root(), options()),
        ]
    }

    fn lane(&self) -> Lane {
        Lane {
            source: self.cn.id().clone(),
            destination: self.kz.id().clone(),
            channel: 0,
        }
    }

    /// Handles `event` now and applies its writes, as the driver does.
    fn handle(&mut self, event: Event<F>) -> Output<F> {
        let out = self.core.handle(event, self.now);
        self.store.write(&out.writes).unwrap();
        out
    }

    fn frame(&mut self, peer: PeerId, frame: Frame<F>) -> Output<F> {
        self.handle(Event::Frame { peer, frame })
    }

    fn tick(&mut self) -> Output<F> {
        self.handle(Event::Tick)
    }

    fn after(&mut self, secs: u64) {
        self.now = self.now.checked_add(Duration::from_secs(secs)).unwrap();
    }

    fn restart(&mut self) {
        let clients = Self::clients(&self.cn, &self.kz);
        self.core = Core::restore(self.config.clone(), clients, &self.store).unwrap();
    }

    /// The sender's watcher hands over cn's messages of block `height`.
    fn commit(&mut self, height: u64) -> Output<F> {
        let messages = self.cn.committed[&Height(height)].clone();
        let chain = self.cn.id().clone();
        self.handle(Event::Committed {
            chain,
            height: Height(height),
            messages,
        })
    }

    fn ack(&mut self, sequences: &[u64], trusted: Option<u64>) -> Output<F> {
        let ack = Ack {
            lane: self.lane(),
            sequences: sequences.to_vec(),
            trusted_height: trusted.map(Height),
        };
        self.frame(PEER, Frame::Ack(ack))
    }

    /// The batch of cn's messages `seqs` of block `height`, carrying cn's blocks `blocks`.
    fn batch(&self, height: u64, blocks: &[u64], seqs: &[u64]) -> MessageBatch<F> {
        message_batch(
            self.lane(),
            Height(height),
            blocks.iter().map(|h| block(&self.cn, *h)).collect(),
            self.cn.committed[&Height(height)]
                .iter()
                .filter(|(m, _)| seqs.contains(&m.sequence))
                .cloned()
                .collect(),
        )
    }

    /// kz's inbox takes cn's messages `seqs` of block `height`, and kz commits their
    /// receipts in a new block, whose height is returned.
    fn take_in(&mut self, height: u64, seqs: &[u64]) -> u64 {
        for (message, proof) in self.cn.committed[&Height(height)].clone() {
            if !seqs.contains(&message.sequence) {
                continue;
            }
            let bundle = ProofBundle {
                message,
                proof,
                height: Height(height),
                light_blocks: self.cn.blocks[..height as usize].to_vec(),
            };
            self.kz.deliver(&bundle, self.now).unwrap();
        }
        self.kz.produce();
        self.kz.height().0
    }

    /// The batch of kz's receipts `seqs` of block `height` under one multiproof, with kz's
    /// blocks up to it.
    fn receipt_batch(&self, height: u64, seqs: &[u64]) -> ReceiptBatch<F> {
        let (receipts, proofs): (Vec<Receipt>, Vec<_>) = self.kz.receipts[&Height(height)]
            .iter()
            .filter(|r| seqs.contains(&r.receipt.sequence))
            .map(|r| (r.receipt.clone(), r.proof.clone()))
            .unzip();
        ReceiptBatch {
            chain: self.kz.id().clone(),
            height: Height(height),
            light_blocks: self.kz.blocks[..height as usize].to_vec(),
            receipts,
            proof: F::default().join_proofs(&proofs),
        }
    }

    /// The receiver's delivery loop: each `Deliver` goes into kz's inbox and its result
    /// back to the core, until nothing is handed over.
    fn deliver_all(&mut self, mut out: Output<F>) -> Vec<u64> {
        let mut done = Vec::new();
        loop {
            let Some((lane, bundles)) = out.actions.into_iter().find_map(|a| match a {
                Action::Deliver { lane, bundles, .. } => Some((lane, bundles)),
                _ => None,
            }) else {
                return done;
            };
            let mut last = Output::default();
            for bundle in bundles {
                let result = self.kz.deliver(&bundle, self.now).unwrap();
                done.push(bundle.message.sequence);
                last = self.handle(Event::Delivered {
                    lane: lane.clone(),
                    sequence: bundle.message.sequence,
                    result,
                });
            }
            out = last;
        }
    }

    /// The receiver's watcher: kz's blocks up to its tip, then its receipts of `height`.
    fn receipts_committed(&mut self, height: u64) -> Output<F> {
        let chain = self.kz.id().clone();
        let blocks = self.kz.blocks.clone();
        self.handle(Event::HomeBlocks {
            chain: chain.clone(),
            blocks,
        });
        let receipts = self.kz.receipts[&Height(height)].clone();
        self.handle(Event::ReceiptsCommitted {
            chain,
            height: Height(height),
            receipts,
        })
    }
}

fn block(chain: &SimChain, height: u64) -> LightBlock {
    chain.blocks[(height - 1) as usize].clone()
}

fn heights(blocks: &[LightBlock]) -> Vec<u64> {
    blocks.iter().map(|b| b.height().0).collect()
}

/// Message batches sent: (block height, sequences, light block heights).
fn batches(out: &Output<F>) -> Vec<(u64, Vec<u64>, Vec<u64>)> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                frame: Frame::Batch(b),
                ..
            } => Some((
                b.height.0,
                b.messages.iter().map(|m| m.sequence).collect(),
                heights(&b.light_blocks),
            )),
            _ => None,
        })
        .collect()
}

/// Receipt batches sent: (chain, height, sequences, light block heights).
fn receipt_batches(out: &Output<F>) -> Vec<(ChainId, u64, Vec<u64>, Vec<u64>)> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                frame: Frame::Receipts(b),
                ..
            } => Some((
                b.chain.clone(),
                b.height.0,
                b.receipts.iter().map(|r| r.sequence).collect(),
                heights(&b.light_blocks),
            )),
            _ => None,
        })
        .collect()
}

fn receipt_acks(out: &Output<F>) -> Vec<ReceiptAck> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                frame: Frame::ReceiptAck(ack),
                ..
            } => Some(ack.clone()),
            _ => None,
        })
        .collect()
}

/// Deliveries handed to the inbox: (sequence, block height, light block heights).
/// The detail of the first endpoint fault.
fn fault_detail(out: &Output<F>) -> String {
    out.actions
        .iter()
        .find_map(|a| match a {
            Action::EndpointFault { detail, .. } => Some(detail.clone()),
            _ => None,
        })
        .expect("an endpoint fault")
}

fn deliveries(out: &Output<F>) -> Vec<(u64, u64, Vec<u64>)> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Deliver { bundles, .. } => Some(bundles.iter().map(|bundle| {
                (
                    bundle.message.sequence,
                    bundle.height.0,
                    heights(&bundle.light_blocks),
                )
            })),
            _ => None,
        })
        .flatten()
        .collect()
}

fn stages(out: &Output<F>) -> Vec<(u64, Stage)> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Stage {
                sequence, stage, ..
            } => Some((*sequence, stage.clone())),
            _ => None,
        })
        .collect()
}

fn faults(out: &Output<F>) -> Vec<&'static str> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::EndpointFault { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

/// Keys written (put) in `column`.
fn puts(out: &Output<F>, column: Column) -> Vec<Vec<u8>> {
    out.writes
        .writes
        .iter()
        .filter(|w| w.column == column && w.value.is_some())
        .map(|w| w.key.clone())
        .collect()
}

/// Keys deleted in `column`.
fn deletes(out: &Output<F>, column: Column) -> Vec<Vec<u8>> {
    out.writes
        .writes
        .iter()
        .filter(|w| w.column == column && w.value.is_none())
        .map(|w| w.key.clone())
        .collect()
}

fn entry_key(lane: &Lane, sequence: u64) -> Vec<u8> {
    let mut k = format!("{}/", lane.key()).into_bytes();
    k.extend_from_slice(&sequence.to_be_bytes());
    k
}

fn anchor_key(chain: &ChainId, height: u64) -> Vec<u8> {
    let mut k = format!("anchor/{chain}/").into_bytes();
    k.extend_from_slice(&height.to_be_bytes());
    k
}

fn client_key(chain: &ChainId) -> Vec<u8> {
    format!("client/{chain}").into_bytes()
}

fn delivered(sequence: u64) -> (u64, Stage) {
    (sequence, Stage::Delivered(ReceiptResult::Delivered))
}

fn acknowledged(sequence: u64) -> (u64, Stage) {
    (sequence, Stage::Acknowledged(ReceiptResult::Delivered))
}

// ---- Outbound: committed, sent, forwarded ----

#[test]
fn a_message_the_endpoint_got_wrong_is_named_and_the_rest_of_its_block_is_held() {
    let (cn, kz) = chains();
    let mut r = Relay::sender(cn, kz, |_| {});
    let lane = r.lane();
    let mut messages = r.cn.committed[&Height(2)].clone();
    // The second message changed under its real proof, and the third handed over twice.
    messages[1].0.message.body.nonce ^= 1;
    messages.push(messages[2].clone());
    let chain = r.cn.id().clone();
    let out = r.handle(Event::Committed {
        chain,
        height: Height(2),
        messages,
    });
    assert_eq!(faults(&out), vec!["invalid-proof"]);
    let detail = fault_detail(&out);
    assert!(detail.starts_with("message 2 of lane"), "{detail}");
    assert_eq!(
        stages(&out),
        vec![(1, Stage::Committed), (3, Stage::Committed)],
        "the others are held, each once"
    );
    assert_eq!(
        puts(&out, Column::Outbound),
        vec![entry_key(&lane, 1), entry_key(&lane, 3)]
    );
    // The real message 2, handed over again, is held then.
    let out = r.commit(2);
    assert!(faults(&out).is_empty());
    assert_eq!(stages(&out), vec![(2, Stage::Committed)]);
}

#[test]
fn committed_messages_are_held_once_and_sent_as_one_batch_when_the_peer_connects() {
    let (cn, kz) = chains();
    let mut r = Relay::sender(cn, kz, |_| {});
    let lane = r.lane();
    let out = r.commit(2);
    assert_eq!(
        stages(&out),
        vec![
            (1, Stage::Committed),
            (2, Stage::Committed),
            (3, Stage::Committed)
        ]
    );
    assert_eq!(
        puts(&out, Column::Outbound),
        vec![
            entry_key(&lane, 1),
            entry_key(&lane, 2),
            entry_key(&lane, 3)
        ]
    );
    assert_eq!(
        puts(&out, Column::Clients),
        vec![anchor_key(r.cn.id(), 2)],
        "the block the messages are proven against is anchored"
    );
    assert!(batches(&out).is_empty(), "the peer never connected");
    assert_eq!(r.core.outbound_open(), [(lane.clone(), 3)].into());
    assert_eq!(r.core.oldest_open(), [(lane.clone(), 1)].into());
    // Readers outside the core (the trader API) see each open entry as committed.
    let committed = r.cn.committed[&Height(2)].clone();
    for (message, proof) in &committed {
        let entry = stored_outbound::<F>(&r.store, &lane, message.sequence)
            .unwrap()
            .unwrap();
        assert_eq!((&entry.message, &entry.proof), (message, proof));
        assert_eq!(entry.height, Height(2));
        assert!(entry.receipt.is_none());
        // The core's own copy is the store's, right after the step.
        assert_eq!(
            r.core.open_entry(&lane, message.sequence, true),
            Some(entry)
        );
        assert_eq!(r.core.open_entry(&lane, message.sequence, false), None);
    }
    assert!(stored_outbound::<F>(&r.store, &lane, 4).unwrap().is_none());
    assert!(stored_inbound::<F>(&r.store, &lane, 1).unwrap().is_none());
    assert_eq!(r.core.open_entry(&lane, 4, true), None);

    // The watcher hands the same block over again (after a restart of its scan).
    let again = r.commit(2);
    assert!(stages(&again).is_empty(), "held already");
    assert!(again.writes.is_empty());

    let up = r.handle(Event::PeerUp { peer: PEER });
    assert!(
        matches!(&up.actions[0], Action::Send { peer, frame: Frame::Trust(_) } if *peer == PEER),
        "the trust status goes first"
    );
    assert_eq!(
        batches(&up),
        vec![(2, vec![1, 2, 3], vec![1, 2])],
        "one batch for the block, with the root block and the block itself"
    );
    assert_eq!(r.core.in_flight(&PEER), 3);
}

#[test]
fn a_message_to_a_chain_without_a_route_is_not_taken() {
    let mut cn = SimChain::new("cn-shanghai");
    let kz = SimChain::new("kz-astana");
    cn.submit(&ChainId::new("pk-karachi").unwrap(), 0, 1);
    cn.submit(kz.id(), 0, 2);
    cn.produce();
    let mut r = Relay::sender(cn, kz, |_| {});
    let out = r.commit(2);
    assert_eq!(stages(&out), vec![(1, Stage::Committed)]);
    assert_eq!(r.core.outbound_open(), [(r.lane(), 1)].into());
}

#[test]
fn unacknowledged_batches_go_again_after_resend_after_and_on_reconnect() {
    let (cn, kz) = chains();
    let mut r = Relay::sender(cn, kz, |_| {});
    r.commit(2);
    let up = r.handle(Event::PeerUp { peer: PEER });
    assert_eq!(batches(&up).len(), 1);
    r.after(2);
    assert!(batches(&r.tick()).is_empty(), "not due before resend_after");
    r.after(1);
    assert_eq!(
        batches(&r.tick()),
        vec![(2, vec![1, 2, 3], vec![1, 2])],
        "due at resend_after"
    );
    assert_eq!(r.core.in_flight(&PEER), 3);

    r.handle(Event::PeerDown { peer: PEER });
    assert_eq!(r.core.in_flight(&PEER), 0);
    r.after(10);
    assert!(
        batches(&r.tick()).is_empty(),
        "nothing goes to a disconnected peer"
    );
    let up = r.handle(Event::PeerUp { peer: PEER });
    assert_eq!(
        batches(&up),
        vec![(2, vec![1, 2, 3], vec![1, 2])],
        "everything unacknowledged goes again on reconnect"
    );
}

#[test]
fn the_window_bounds_messages_in_flight_and_an_ack_opens_it() {
    let (cn, kz) = chains();
    let mut r = Relay::sender(cn, kz, |c| c.window = 2);
    r.commit(2);
    let up = r.handle(Event::PeerUp { peer: PEER });
    assert_eq!(batches(&up), vec![(2, vec![1, 2], vec![1, 2])]);
    assert_eq!(r.core.in_flight(&PEER), 2);
    assert!(batches(&r.tick()).is_empty(), "the window is full");

    let out = r.ack(&[1], Some(2));
    assert_eq!(stages(&out), vec![(1, Stage::Forwarded)]);
    assert_eq!(
        batches(&out),
        vec![(2, vec![3], vec![2])],
        "one slot opened; the peer trusts block 2 already"
    );
    assert_eq!(r.core.in_flight(&PEER), 2);
}

/// A batch that fills the window and is lost must still go again at `resend_after`: a
/// resend puts no more messages in flight. Today the budget of new sends is the window
/// minus everything in flight, due or not, so a full window resends nothing until the
/// peer reconnects, and a lane stalls on a lost batch.
#[test]
fn a_lost_batch_that_fills_the_window_goes_again_at_resend_after() {
    let (cn, kz) = chains();
    let mut r = Relay::sender(cn, kz, |c| c.window = 3);
    r.commit(2);
    let up = r.handle(Event::PeerUp { peer: PEER });
    assert_eq!(batches(&up), vec![(2, vec![1, 2, 3], vec![1, 2])]);
    r.after(3);
    assert_eq!(
        batches(&r.tick()),
        vec![(2, vec![1, 2, 3], vec![1, 2])],
        "the lost batch goes again"
    );
}

#[test]
fn forwarded_messages_are_not_sent_again_and_a_repeated_ack_changes_nothing() {
    let (cn, kz) = chains();
    let mut r = Relay::sender(cn, kz, |_| {});
    let lane = r.lane();
    r.commit(2);
    r.handle(Event::PeerUp { peer: PEER });
    let out = r.ack(&[1, 2], Some(2));
    assert_eq!(
        stages(&out),
        vec![(1, Stage::Forwarded), (2, Stage::Forwarded)]
    );
    assert_eq!(
        puts(&out, Column::Outbound),
        vec![entry_key(&lane, 1), entry_key(&lane, 2)]
    );
    assert_eq!(r.core.in_flight(&PEER), 1);
    assert_eq!(
        r.core.outbound_open(),
        [(lane.clone(), 3)].into(),
        "forwarded is still open until its receipt"
    );

    let again = r.ack(&[1, 2], Some(2));
    assert!(stages(&again).is_empty());
    assert!(again.writes.is_empty());

    r.after(3);
    assert_eq!(
        batches(&r.tick()),
        vec![(2, vec![3], vec![2])],
        "only the unacknowledged message goes again"
    );

    let out = r.frame(
        STRANGER,
        Frame::Ack(Ack {
            lane,
            sequences: vec![3],
            trusted_height: None,
        }),
    );
    assert_eq!(reasons(&out), vec!["wrong-peer"]);
    assert_eq!(r.core.in_flight(&PEER), 1);
}

#[test]
fn batches_split_at_block_heights_and_at_the_batch_limit() {
    let (mut cn, kz) = chains();
    cn.submit(kz.id(), 0, 4);
    cn.produce();
    let mut r = Relay::sender(cn, kz, |c| c.limits.max_batch_messages = 2);
    r.commit(2);
    r.commit(3);
    let up = r.handle(Event::PeerUp { peer: PEER });
    assert_eq!(
        batches(&up),
        vec![
            (2, vec![1, 2], vec![1, 2]),
            (2, vec![3], vec![1, 2]),
            (3, vec![4], vec![1, 2, 3]),
        ]
    );
}

#[test]
fn a_restarted_sender_sends_again_what_is_open_and_not_forwarded() {
    let (cn, kz) = chains();
    let mut r = Relay::sender(cn, kz, |_| {});
    r.commit(2);
    r.handle(Event::PeerUp { peer: PEER });
    r.ack(&[1], Some(2));
    r.restart();
    assert_eq!(r.core.outbound_open(), [(r.lane(), 3)].into());
    let up = r.handle(Event::PeerUp { peer: PEER });
    assert_eq!(
        batches(&up),
        vec![(2, vec![2, 3], vec![1, 2])],
        "the forwarded mark survived; the peer's trust did not"
    );
}

// ---- Outbound: receipts close entries ----

/// Relay-cn with messages 1-3 of block 2 committed, forwarded and acknowledged by PEER,
/// and taken in by kz, whose block with their receipts is returned with the relay.
fn forwarded_and_taken_in() -> (Relay, u64) {
    let (cn, kz) = chains();
    let mut r = Relay::sender(cn, kz, |_| {});
    r.commit(2);
    r.handle(Event::PeerUp { peer: PEER });
    r.ack(&[1, 2, 3], Some(2));
    let h = r.take_in(2, &[1, 2, 3]);
    (r, h)
}

#[test]
fn receipts_close_messages_and_the_closed_watermark_moves_over_what_is_contiguous() {
    let (mut r, h) = forwarded_and_taken_in();
    let lane = r.lane();

    // Receipt 2 first: closed, but 1 is open, so nothing is compacted.
    let out = r.frame(PEER, Frame::Receipts(r.receipt_batch(h, &[2])));
    assert!(reasons(&out).is_empty(), "{:?}", reasons(&out));
    assert_eq!(stages(&out), vec![acknowledged(2)]);
    let sent = receipt_acks(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].lane, lane);
    assert_eq!(sent[0].sequences, vec![2]);
    assert_eq!(sent[0].trusted_height, Some(Height(h)));
    assert_eq!(r.core.closed_up_to(&lane), 0);
    assert!(deletes(&out, Column::Outbound).is_empty());
    assert!(puts(&out, Column::Meta).is_empty());
    assert_eq!(r.core.outbound_open(), [(lane.clone(), 2)].into());
    assert_eq!(r.core.oldest_open(), [(lane.clone(), 1)].into());

    // Receipts 1 and 3: everything closed, compacted, the anchor dropped.
    let out = r.frame(PEER, Frame::Receipts(r.receipt_batch(h, &[1, 3])));
    assert_eq!(stages(&out), vec![acknowledged(1), acknowledged(3)]);
    assert_eq!(r.core.closed_up_to(&lane), 3);
    assert_eq!(
        deletes(&out, Column::Outbound),
        vec![
            entry_key(&lane, 1),
            entry_key(&lane, 2),
            entry_key(&lane, 3)
        ]
    );
    assert_eq!(
        puts(&out, Column::Meta),
        vec![format!("closed/{}", lane.key()).into_bytes()]
    );
    assert_eq!(
        deletes(&out, Column::Clients),
        vec![anchor_key(r.cn.id(), 2)]
    );
    assert_eq!(r.store.len(Column::Outbound), 0);
    assert_eq!(r.core.outbound_open(), [(lane.clone(), 0)].into());
    assert!(r.core.oldest_open().is_empty());

    // A late copy of a receipt: acknowledged again, without penalty.
    let out = r.frame(PEER, Frame::Receipts(r.receipt_batch(h, &[1])));
    assert_eq!(reasons(&out), vec!["duplicate"]);
    assert_eq!(receipt_acks(&out)[0].sequences, vec![1]);
    assert!(stages(&out).is_empty());
    assert_eq!(r.core.penalties(&PEER), 0);

    // The watermark survives a restart, and closed messages are not taken again.
    r.restart();
    assert_eq!(r.core.closed_up_to(&lane), 3);
    assert!(r.core.outbound_open().is_empty());
    let out = r.commit(2);
    assert!(stages(&out).is_empty());
    assert!(out.writes.is_empty());
}

#[test]
fn a_receipt_for_another_message_does_not_close_the_entry() {
    let (cn, kz) = chains();
    let mut r = Relay::sender(cn, kz, |_| {});
    let lane = r.lane();
    r.commit(2);
    r.handle(Event::PeerUp { peer: PEER });
    r.kz.pending_receipts.push(Receipt {
        source_chain: lane.source.clone(),
        destination_chain: lane.destination.clone(),
        channel: 0,
        sequence: 1,
        message_commitment: Hash32([5; 32]),
        result: ReceiptResult::Delivered,
    });
    r.kz.produce();
    let out = r.frame(PEER, Frame::Receipts(r.receipt_batch(2, &[1])));
    assert_eq!(reasons(&out), vec!["receipt-mismatch"]);
    assert!(stages(&out).is_empty());
    assert!(receipt_acks(&out).is_empty());
    assert_eq!(r.core.outbound_open(), [(lane, 3)].into());
}

#[test]
fn receipt_batches_are_checked_for_their_sender_and_shape_first() {
    let (cn, kz) = chains();
    let mut r = Relay::sender(cn, kz, |_| {});
    r.commit(2);
    let h = r.take_in(2, &[1, 2, 3]);
    let good = r.receipt_batch(h, &[1]);

    let out = r.frame(STRANGER, Frame::Receipts(good.clone()));
    assert_eq!(reasons(&out), vec!["wrong-peer"]);

    let mut other_destination = good.clone();
    other_destination.receipts[0].destination_chain = ChainId::new("pk-karachi").unwrap();
    let mut foreign_source = good.clone();
    foreign_source.receipts[0].source_chain = ChainId::new("pk-karachi").unwrap();
    let mut twice = r.receipt_batch(h, &[1, 2]);
    twice.receipts[1] = twice.receipts[0].clone();
    let mut no_proof = good.clone();
    no_proof.proof = None;
    let mut proof_alone = good.clone();
    proof_alone.receipts.clear();
    for bad in [
        other_destination,
        foreign_source,
        twice,
        no_proof,
        proof_alone,
    ] {
        let out = r.frame(PEER, Frame::Receipts(bad));
        assert_eq!(reasons(&out), vec!["batch-shape"]);
        assert!(stages(&out).is_empty());
        assert!(out.writes.is_empty(), "refused before any light block");
    }
    assert_eq!(r.core.outbound_open(), [(r.lane(), 3)].into());
}

#[test]
fn one_forged_receipt_refuses_its_whole_batch_and_closed_ones_are_checked_with_the_rest() {
    let (mut r, h) = forwarded_and_taken_in();
    let lane = r.lane();

    // Receipt 2's result changed under a proof of the real one: nothing of the batch is
    // taken, though the proofs of 1 and 3 are good.
    let mut forged = r.receipt_batch(h, &[1, 2, 3]);
    forged.receipts[1].result = ReceiptResult::Expired;
    let out = r.frame(PEER, Frame::Receipts(forged));
    assert_eq!(reasons(&out), vec!["invalid-proof"]);
    assert!(stages(&out).is_empty());
    assert!(receipt_acks(&out).is_empty());
    assert_eq!(r.core.outbound_open(), [(lane.clone(), 3)].into());

    // Receipt 1 closes; then a batch of 1 (closed, its result forged) and 3 (open, real):
    // the closed one is checked with the rest, so the batch is refused and 3 stays open.
    let out = r.frame(PEER, Frame::Receipts(r.receipt_batch(h, &[1])));
    assert_eq!(stages(&out), vec![acknowledged(1)]);
    let mut stale = r.receipt_batch(h, &[1, 3]);
    stale.receipts[0].result = ReceiptResult::Expired;
    let out = r.frame(PEER, Frame::Receipts(stale));
    assert_eq!(reasons(&out), vec!["duplicate", "invalid-proof"]);
    assert!(stages(&out).is_empty());
    assert_eq!(r.core.outbound_open(), [(lane.clone(), 2)].into());

    // The real batch of all three: 1 acknowledged again, 2 and 3 closed, in one batch.
    let out = r.frame(PEER, Frame::Receipts(r.receipt_batch(h, &[1, 2, 3])));
    assert_eq!(stages(&out), vec![acknowledged(2), acknowledged(3)]);
    assert_eq!(receipt_acks(&out)[0].sequences, vec![1, 2, 3]);
    assert_eq!(r.core.closed_up_to(&lane), 3);
}

// ---- Paths: the light blocks a peer needs ----

/// cn-shanghai with a message to kz-astana at height 5 (sequence 1) and one at height 40
/// (sequence 2); the validator set rotates one of four keys every 7 blocks, so a client
/// that trusts block 2 cannot verify block 40 directly.
fn long_chains() -> (SimChain, SimChain) {
    let mut cn = SimChain::new("cn-shanghai");
    let kz = SimChain::new("kz-astana");
    while cn.height() < Height(4) {
        cn.produce();
    }
    cn.submit(kz.id(), 0, 1);
    cn.produce();
    while cn.height() < Height(39) {
        cn.produce();
    }
    cn.submit(kz.id(), 0, 2);
    cn.produce();
    (cn, kz)
}

/// Whether a client trusting cn up to `trusted` takes every block of `path` in order.
fn verifies(cn: &SimChain, trusted: u64, path: &[LightBlock], now: Time) -> bool {
    let mut client = LightClient::<F>::new(cn.root(), options());
    for h in 1..=trusted {
        client.update(block(cn, h), now).unwrap();
    }
    path.iter()
        .all(|b| matches!(client.update(b.clone(), now), Ok(UpdateOutcome::Trusted(_))))
}

fn peer_trusts(r: &mut Relay, latest: u64) {
    let status = TrustStatus {
        clients: vec![ClientTrust {
            chain: r.cn.id().clone(),
            root_height: Height(1),
            latest: Some(Height(latest)),
        }],
    };
    let out = r.frame(PEER, Frame::Trust(status));
    assert!(out.actions.is_empty() && out.writes.is_empty());
}

#[test]
fn a_peer_behind_gets_the_blocks_it_lacks_and_one_far_behind_a_skipping_path() {
    let (cn, kz) = long_chains();
    let mut r = Relay::sender(cn, kz, |c| c.limits.max_light_blocks = 3);
    r.commit(5);
    r.commit(40);
    peer_trusts(&mut r, 2);
    let up = r.handle(Event::PeerUp { peer: PEER });
    let sent = batches(&up);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0],
        (5, vec![1], vec![3, 4, 5]),
        "exactly max_light_blocks blocks: every one after what the peer trusts"
    );
    let (height, sequences, path) = &sent[1];
    assert_eq!((*height, sequences.clone()), (40, vec![2]));
    assert!(path.len() <= 3 && path.len() > 1, "{path:?}");
    assert_eq!(path.last(), Some(&40));
    let blocks = up
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                frame: Frame::Batch(b),
                ..
            } if b.height == Height(40) => Some(b.light_blocks.clone()),
            _ => None,
        })
        .next()
        .unwrap();
    assert!(
        !verifies(&r.cn, 2, &blocks[blocks.len() - 1..], r.now),
        "block 40 alone does not verify from block 2"
    );
    assert!(
        verifies(&r.cn, 2, &blocks, r.now),
        "the path verifies from block 2: {path:?}"
    );
}

#[test]
fn a_peer_that_trusts_the_height_gets_only_its_block() {
    let (cn, kz) = long_chains();
    let mut r = Relay::sender(cn, kz, |c| c.limits.max_light_blocks = 3);
    r.commit(5);
    peer_trusts(&mut r, 6);
    let up = r.handle(Event::PeerUp { peer: PEER });
    assert_eq!(batches(&up), vec![(5, vec![1], vec![5])]);
}

// ---- Inbound: delivery, receipts back ----

#[test]
fn deliveries_go_in_batches_in_channel_order_one_batch_per_lane() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |c| c.max_delivery_batch = 2);
    let lane = r.lane();
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2, 3])));
    assert_eq!(acks(&out), vec![vec![1, 2, 3]]);
    assert_eq!(
        deliveries(&out),
        vec![(1, 2, vec![1, 2]), (2, 2, vec![])],
        "one batch of at most 2, the light blocks once"
    );
    assert_eq!(
        out.actions
            .iter()
            .filter(|a| matches!(a, Action::Deliver { .. }))
            .count(),
        1
    );
    assert_eq!(r.core.inbound_waiting(), [(lane.clone(), 3)].into());
    assert!(
        deliveries(&r.tick()).is_empty(),
        "one batch in flight per lane"
    );

    let out = r.handle(Event::Delivered {
        lane: lane.clone(),
        sequence: 1,
        result: ReceiptResult::Delivered,
    });
    assert_eq!(stages(&out), vec![delivered(1)]);
    assert!(deliveries(&out).is_empty(), "2 is still in flight");
    assert_eq!(
        puts(&out, Column::Meta),
        vec![format!("next/{}", lane.key()).into_bytes()]
    );
    assert_eq!(r.core.inbound_waiting(), [(lane.clone(), 2)].into());

    // A repeated report changes nothing.
    let out = r.handle(Event::Delivered {
        lane: lane.clone(),
        sequence: 1,
        result: ReceiptResult::Delivered,
    });
    assert!(stages(&out).is_empty());
    assert!(out.writes.is_empty());
    assert!(deliveries(&out).is_empty(), "2 is still in flight");

    // The batch's last report starts the next batch (the inbox never said what it
    // trusts, so the path starts at its root again).
    let out = r.handle(Event::Delivered {
        lane: lane.clone(),
        sequence: 2,
        result: ReceiptResult::Delivered,
    });
    assert_eq!(stages(&out), vec![delivered(2)]);
    assert_eq!(deliveries(&out), vec![(3, 2, vec![1, 2])]);
    assert_eq!(r.core.inbound_waiting(), [(lane.clone(), 1)].into());

    // A restart resumes after the last delivered message.
    r.restart();
    assert_eq!(r.core.inbound_waiting(), [(lane, 1)].into());
    let out = r.tick();
    assert_eq!(deliveries(&out), vec![(3, 2, vec![1, 2])]);
}

#[test]
fn a_failed_delivery_is_tried_again_after_resend_after() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let lane = r.lane();
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2, 3])));
    let batch = vec![(1, 2, vec![1, 2]), (2, 2, vec![]), (3, 2, vec![])];
    assert_eq!(deliveries(&out), batch);

    // A failure report for a message not in flight is ignored.
    r.handle(Event::DeliveryFailed {
        lane: lane.clone(),
        sequence: 4,
        reason: "busy".into(),
    });
    r.after(5);
    assert!(
        deliveries(&r.tick()).is_empty(),
        "1 to 3 are still in flight"
    );

    // The inbox took 1 and refused 2: the batch ends there.
    r.handle(Event::Delivered {
        lane: lane.clone(),
        sequence: 1,
        result: ReceiptResult::Delivered,
    });
    let out = r.handle(Event::DeliveryFailed {
        lane: lane.clone(),
        sequence: 2,
        reason: "busy".into(),
    });
    assert!(deliveries(&out).is_empty(), "backing off");
    r.after(2);
    assert!(deliveries(&r.tick()).is_empty(), "backing off");
    r.after(1);
    assert_eq!(
        deliveries(&r.tick()),
        vec![(2, 2, vec![1, 2]), (3, 2, vec![])],
        "tried again at resend_after, from the first not taken"
    );
}

/// cn-shanghai with three messages at height 2 and a fourth at height 4.
fn chains_to_4() -> (SimChain, SimChain) {
    let (mut cn, kz) = chains();
    cn.produce();
    cn.submit(kz.id(), 0, 4);
    cn.produce();
    (cn, kz)
}

#[test]
fn an_inbox_of_unknown_trust_gets_the_root_block_and_every_block_up_to_the_message() {
    let (cn, kz) = chains_to_4();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2, 3])));
    assert_eq!(
        deliveries(&out),
        vec![(1, 2, vec![1, 2]), (2, 2, vec![]), (3, 2, vec![])]
    );
    assert_eq!(r.deliver_all(out), vec![1, 2, 3]);
    let out = r.frame(PEER, Frame::Batch(r.batch(4, &[3, 4], &[4])));
    assert_eq!(deliveries(&out), vec![(4, 4, vec![1, 2, 3, 4])]);
}

#[test]
fn a_batch_across_source_blocks_carries_each_path_once() {
    // Messages 1 to 3 of block 2 and 4 of block 4, all waiting when a batch starts (4 came
    // while 1 to 3 were in flight, then the inbox refused 1). At most `max_light_blocks`
    // light blocks go in one batch.
    let batch_with = |max_light_blocks| {
        let (cn, kz) = chains_to_4();
        let mut r = Relay::receiver(cn, kz, |c| c.limits.max_light_blocks = max_light_blocks);
        let lane = r.lane();
        let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2, 3])));
        assert_eq!(deliveries(&out).len(), 3);
        let out = r.frame(PEER, Frame::Batch(r.batch(4, &[3, 4], &[4])));
        assert!(deliveries(&out).is_empty(), "a batch is in flight");
        r.handle(Event::DeliveryFailed {
            lane,
            sequence: 1,
            reason: "busy".into(),
        });
        r.after(3);
        deliveries(&r.tick())
    };
    // The path to block 2 with the first, nothing more for 2 and 3 (same block), and only
    // the blocks above 2 with the fourth: 4 light blocks in all.
    let three = vec![(1, 2, vec![1, 2]), (2, 2, vec![]), (3, 2, vec![])];
    let mut four = three.clone();
    four.push((4, 4, vec![3, 4]));
    assert_eq!(batch_with(4), four);
    assert_eq!(
        batch_with(3),
        three,
        "the fourth would be one light block too many"
    );
}

#[test]
fn an_inbox_that_trusts_a_block_gets_only_the_blocks_above_it() {
    let (cn, kz) = chains_to_4();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let (chain, source) = (r.kz.id().clone(), r.cn.id().clone());
    let (b1, b2, now) = (block(&r.cn, 1), block(&r.cn, 2), r.now);
    let inbox = r.kz.inbox.get_mut(&source).unwrap();
    inbox.update(b1, now).unwrap();
    inbox.update(b2, now).unwrap();
    r.handle(Event::InboxTrust {
        chain,
        source,
        root: Height(1),
        latest: Some(Height(2)),
    });
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2, 3])));
    assert_eq!(
        deliveries(&out),
        vec![(1, 2, vec![2]), (2, 2, vec![]), (3, 2, vec![])],
        "the inbox trusts block 2"
    );
    assert_eq!(r.deliver_all(out), vec![1, 2, 3]);
    let out = r.frame(PEER, Frame::Batch(r.batch(4, &[3, 4], &[4])));
    assert_eq!(deliveries(&out), vec![(4, 4, vec![3, 4])]);
}

#[test]
fn an_inbox_that_trusts_nothing_gets_its_root_block_first() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let (chain, source) = (r.kz.id().clone(), r.cn.id().clone());
    r.handle(Event::InboxTrust {
        chain,
        source,
        root: Height(1),
        latest: None,
    });
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1])));
    assert_eq!(deliveries(&out), vec![(1, 2, vec![1, 2])]);
}

#[test]
fn receipts_go_back_until_acknowledged_then_the_entries_and_anchors_go() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let lane = r.lane();
    r.handle(Event::PeerUp { peer: PEER });
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2, 3])));
    assert_eq!(
        puts(&out, Column::Clients),
        vec![anchor_key(r.cn.id(), 2), client_key(r.cn.id())]
    );
    assert_eq!(r.deliver_all(out), vec![1, 2, 3]);
    assert_eq!(r.core.inbound_waiting(), [(lane.clone(), 0)].into());
    r.kz.produce();
    let h = r.kz.height().0;

    let out = r.receipts_committed(h);
    assert!(faults(&out).is_empty());
    assert_eq!(
        puts(&out, Column::Inbound),
        vec![
            entry_key(&lane, 1),
            entry_key(&lane, 2),
            entry_key(&lane, 3)
        ]
    );
    assert_eq!(puts(&out, Column::Clients), vec![anchor_key(r.kz.id(), h)]);
    assert_eq!(
        receipt_batches(&out),
        vec![(r.kz.id().clone(), h, vec![1, 2, 3], vec![1, 2])]
    );
    assert_eq!(r.core.in_flight(&PEER), 3);
    // Readers outside the core (the trader API) see the open entry with its receipt.
    let entry = stored_inbound::<F>(&r.store, &lane, 2).unwrap().unwrap();
    assert_eq!(entry.message.sequence, 2);
    assert_eq!(entry.height, Height(2));
    let receipt = entry.receipt.expect("the proven receipt");
    assert_eq!(receipt.receipt.sequence, 2);
    assert_eq!(receipt.receipt.result, ReceiptResult::Delivered);
    let stored = stored_inbound::<F>(&r.store, &lane, 2).unwrap();
    assert_eq!(r.core.open_entry(&lane, 2, false), stored);
    assert_eq!(r.core.open_entry(&lane, 2, true), None);
    assert_eq!(r.core.open_entry(&lane, 4, false), None);
    assert!(stored_inbound::<F>(&r.store, &lane, 4).unwrap().is_none());
    assert!(stored_outbound::<F>(&r.store, &lane, 2).unwrap().is_none());
    let again = r.receipts_committed(h);
    assert!(again.writes.is_empty(), "each receipt proven once");

    r.after(2);
    assert!(receipt_batches(&r.tick()).is_empty());
    r.after(1);
    assert_eq!(
        receipt_batches(&r.tick()).len(),
        1,
        "resent at resend_after"
    );

    let stranger = r.frame(
        STRANGER,
        Frame::ReceiptAck(ReceiptAck {
            lane: lane.clone(),
            sequences: vec![1, 2, 3],
            trusted_height: None,
        }),
    );
    assert_eq!(reasons(&stranger), vec!["wrong-peer"]);
    assert!(stranger.writes.is_empty());

    let out = r.frame(
        PEER,
        Frame::ReceiptAck(ReceiptAck {
            lane: lane.clone(),
            sequences: vec![1, 2, 3],
            trusted_height: Some(Height(h)),
        }),
    );
    assert_eq!(
        deletes(&out, Column::Inbound),
        vec![
            entry_key(&lane, 1),
            entry_key(&lane, 2),
            entry_key(&lane, 3)
        ]
    );
    assert_eq!(
        stages(&out),
        vec![acknowledged(1), acknowledged(2), acknowledged(3)],
        "closed on the destination side too"
    );
    let again = r.frame(
        PEER,
        Frame::ReceiptAck(ReceiptAck {
            lane: lane.clone(),
            sequences: vec![1, 2, 3],
            trusted_height: Some(Height(h)),
        }),
    );
    assert!(
        stages(&again).is_empty(),
        "a repeated receipt ack closes nothing twice"
    );
    let mut dropped = deletes(&out, Column::Clients);
    dropped.sort();
    let mut anchors = vec![anchor_key(r.cn.id(), 2), anchor_key(r.kz.id(), h)];
    anchors.sort();
    assert_eq!(dropped, anchors);
    assert_eq!(r.store.len(Column::Inbound), 0);
    assert_eq!(r.core.in_flight(&PEER), 0);
    assert_eq!(r.core.inbound_waiting(), [(lane, 0)].into());
    r.after(3);
    assert!(receipt_batches(&r.tick()).is_empty());
}

#[test]
fn an_anchor_stays_while_a_held_message_needs_it() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let lane = r.lane();
    r.handle(Event::PeerUp { peer: PEER });
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2])));
    assert_eq!(r.deliver_all(out), vec![1, 2]);
    r.kz.produce();
    let h = r.kz.height().0;
    r.receipts_committed(h);
    // Message 3 arrives, held at block 2 of cn, then receipts 1 and 2 are acknowledged.
    r.frame(PEER, Frame::Batch(r.batch(2, &[2], &[3])));
    let out = r.frame(
        PEER,
        Frame::ReceiptAck(ReceiptAck {
            lane,
            sequences: vec![1, 2],
            trusted_height: None,
        }),
    );
    assert_eq!(
        deletes(&out, Column::Clients),
        vec![anchor_key(r.kz.id(), h)],
        "block 2 of cn still anchors message 3"
    );
    assert!(r
        .store
        .get(Column::Clients, &anchor_key(r.cn.id(), 2))
        .unwrap()
        .is_some());
}

#[test]
fn a_receipt_proven_late_goes_alone_and_those_in_flight_wait_for_their_resend() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    r.handle(Event::PeerUp { peer: PEER });
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2, 3])));
    r.deliver_all(out);
    r.kz.produce();
    let h = r.kz.height().0;
    let chain = r.kz.id().clone();
    r.handle(Event::HomeBlocks {
        chain: chain.clone(),
        blocks: r.kz.blocks.clone(),
    });
    // The endpoint hands over the receipts of 2 and 3 first: they go, and are in flight.
    let receipts = r.kz.receipts[&Height(h)].clone();
    let (first, later): (Vec<_>, Vec<_>) =
        receipts.into_iter().partition(|p| p.receipt.sequence != 1);
    let out = r.handle(Event::ReceiptsCommitted {
        chain: chain.clone(),
        height: Height(h),
        receipts: first,
    });
    assert_eq!(
        receipt_batches(&out),
        vec![(chain.clone(), h, vec![2, 3], vec![1, 2])]
    );
    // Then the receipt of 1: it goes alone; 2 and 3 are not sent again before their time.
    let out = r.handle(Event::ReceiptsCommitted {
        chain: chain.clone(),
        height: Height(h),
        receipts: later,
    });
    assert_eq!(
        receipt_batches(&out),
        vec![(chain.clone(), h, vec![1], vec![1, 2])]
    );
    assert_eq!(r.core.in_flight(&PEER), 3);
    assert!(receipt_batches(&r.tick()).is_empty());
}

#[test]
fn the_window_and_the_batch_limit_bound_receipts_too() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |c| c.window = 2);
    let lane = r.lane();
    r.handle(Event::PeerUp { peer: PEER });
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2, 3])));
    r.deliver_all(out);
    r.kz.produce();
    let h = r.kz.height().0;
    let out = r.receipts_committed(h);
    assert_eq!(receipt_batches(&out)[0].2, vec![1, 2]);
    let out = r.frame(
        PEER,
        Frame::ReceiptAck(ReceiptAck {
            lane,
            sequences: vec![1],
            trusted_height: Some(Height(h)),
        }),
    );
    assert_eq!(
        receipt_batches(&out),
        vec![(r.kz.id().clone(), h, vec![3], vec![h])],
        "one slot opened; the peer trusts the block"
    );

    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |c| c.limits.max_batch_messages = 2);
    r.handle(Event::PeerUp { peer: PEER });
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2])));
    r.deliver_all(out);
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[2], &[3])));
    r.deliver_all(out);
    r.kz.produce();
    let h = r.kz.height().0;
    let out = r.receipts_committed(h);
    assert_eq!(receipt_batches(&out)[0].2, vec![1, 2]);
    assert_eq!(
        receipt_batches(&r.tick()),
        vec![(r.kz.id().clone(), h, vec![3], vec![1, 2])],
        "the rest in the next batch"
    );
}

#[test]
fn a_receipt_the_endpoint_got_wrong_is_named_and_the_rest_of_its_block_is_proven() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let lane = r.lane();
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2, 3])));
    r.deliver_all(out);
    r.kz.produce();
    let h = r.kz.height().0;
    let chain = r.kz.id().clone();
    r.handle(Event::HomeBlocks {
        chain: chain.clone(),
        blocks: r.kz.blocks.clone(),
    });
    // The second receipt's result changed under its real proof, the third handed over twice.
    let mut receipts = r.kz.receipts[&Height(h)].clone();
    receipts[1].receipt.result = ReceiptResult::Expired;
    receipts.push(receipts[2].clone());
    let out = r.handle(Event::ReceiptsCommitted {
        chain,
        height: Height(h),
        receipts,
    });
    assert_eq!(faults(&out), vec!["invalid-proof"]);
    let detail = fault_detail(&out);
    assert!(detail.starts_with("receipt 2 of lane"), "{detail}");
    assert_eq!(
        puts(&out, Column::Inbound),
        vec![entry_key(&lane, 1), entry_key(&lane, 3)],
        "the others are proven, each once"
    );
    // The real receipt 2, handed over again, is proven then.
    let out = r.receipts_committed(h);
    assert!(faults(&out).is_empty());
    assert_eq!(puts(&out, Column::Inbound), vec![entry_key(&lane, 2)]);
}

#[test]
fn a_proven_receipt_counts_as_the_delivery_when_the_delivery_answer_comes_late() {
    let (cn, kz) = chains_to_4();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let lane = r.lane();
    r.handle(Event::PeerUp { peer: PEER });
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2, 3])));
    // The inbox takes the batch, but the answer to the request is slow: kz's block with
    // the receipts is out first.
    let bundles = out
        .actions
        .into_iter()
        .find_map(|a| match a {
            Action::Deliver { bundles, .. } => Some(bundles),
            _ => None,
        })
        .unwrap();
    let mut results = Vec::new();
    for bundle in &bundles {
        results.push(r.kz.deliver(bundle, r.now).unwrap());
    }
    r.kz.produce();
    let h = r.kz.height().0;
    let out = r.receipts_committed(h);
    assert_eq!(
        stages(&out),
        vec![
            (1, Stage::Delivered(ReceiptResult::Delivered)),
            (2, Stage::Delivered(ReceiptResult::Delivered)),
            (3, Stage::Delivered(ReceiptResult::Delivered))
        ]
    );
    // The source side takes the receipts: the entries close.
    r.frame(
        PEER,
        Frame::ReceiptAck(ReceiptAck {
            lane: lane.clone(),
            sequences: vec![1, 2, 3],
            trusted_height: Some(Height(h)),
        }),
    );
    // The late answers change nothing.
    for (bundle, result) in bundles.iter().zip(results) {
        let out = r.handle(Event::Delivered {
            lane: lane.clone(),
            sequence: bundle.message.sequence,
            result,
        });
        assert!(stages(&out).is_empty());
        assert!(out.writes.is_empty());
    }
    // The lane goes on: message 4 is handed to the inbox.
    let out = r.frame(PEER, Frame::Batch(r.batch(4, &[3, 4], &[4])));
    assert_eq!(
        deliveries(&out)
            .into_iter()
            .map(|d| d.0)
            .collect::<Vec<_>>(),
        vec![4]
    );
}

#[test]
fn a_receipt_the_home_chain_commits_for_another_message_is_an_endpoint_fault() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let lane = r.lane();
    r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1])));
    r.kz.pending_receipts.push(Receipt {
        source_chain: lane.source.clone(),
        destination_chain: lane.destination.clone(),
        channel: 0,
        sequence: 1,
        message_commitment: Hash32([5; 32]),
        result: ReceiptResult::Delivered,
    });
    r.kz.produce();
    let h = r.kz.height().0;
    let out = r.receipts_committed(h);
    assert_eq!(faults(&out), vec!["receipt-mismatch"]);
    assert!(puts(&out, Column::Inbound).is_empty());
    let chain = r.kz.id().clone();
    let out = r.handle(Event::Scanned {
        chain: chain.clone(),
        height: Height(h),
    });
    assert!(out.writes.is_empty(), "not past a refusal");
    assert_eq!(r.core.scanned(&chain), Height(0));
}

// ---- Home chains: clients, scan watermark ----

#[test]
fn the_scan_watermark_moves_forward_only_and_not_past_a_fault() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let chain = r.kz.id().clone();
    let scanned = |r: &mut Relay, h: u64| {
        let chain = r.kz.id().clone();
        r.handle(Event::Scanned {
            chain,
            height: Height(h),
        })
    };
    assert_eq!(r.core.scanned(&chain), Height(0));
    let out = scanned(&mut r, 3);
    assert_eq!(
        puts(&out, Column::Meta),
        vec![format!("scan/{chain}").into_bytes()]
    );
    assert_eq!(r.core.scanned(&chain), Height(3));
    assert!(scanned(&mut r, 2).writes.is_empty());
    assert!(scanned(&mut r, 3).writes.is_empty());
    assert_eq!(r.core.scanned(&chain), Height(3));

    r.kz.produce();
    let bad = testgen::with_bad_signature(block(&r.kz, 2), 0);
    let out = r.handle(Event::HomeBlocks {
        chain: chain.clone(),
        blocks: vec![bad],
    });
    assert_eq!(faults(&out), vec!["invalid-light-block"]);
    assert!(scanned(&mut r, 5).writes.is_empty(), "not past a fault");
    assert_eq!(r.core.scanned(&chain), Height(3));
    // The next scan, with nothing refused since, moves it.
    assert_eq!(puts(&scanned(&mut r, 5), Column::Meta).len(), 1);
    assert_eq!(r.core.scanned(&chain), Height(5));
    r.restart();
    assert_eq!(r.core.scanned(&chain), Height(5));
}

#[test]
fn a_home_client_is_persisted_only_when_it_moved() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let chain = r.kz.id().clone();
    let blocks = r.kz.blocks.clone();
    let out = r.handle(Event::HomeBlocks {
        chain: chain.clone(),
        blocks,
    });
    assert!(out.writes.is_empty(), "nothing new");
    // Clients are written at most every CLIENT_PERSIST_INTERVAL (5 s); the setup wrote it.
    r.after(5);
    r.kz.produce();
    let out = r.handle(Event::HomeBlocks {
        chain: chain.clone(),
        blocks: vec![block(&r.kz, 2)],
    });
    assert_eq!(puts(&out, Column::Clients), vec![client_key(&chain)]);
    assert_eq!(r.core.client(&chain).unwrap().latest_height(), Height(2));
}

#[test]
fn a_peer_fed_client_is_persisted_only_when_a_batch_moved_it() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let source = r.cn.id().clone();
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2])));
    assert_eq!(
        puts(&out, Column::Clients),
        vec![anchor_key(&source, 2), client_key(&source)]
    );
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[2], &[3])));
    assert_eq!(stages(&out), vec![(3, Stage::Received)]);
    assert!(
        puts(&out, Column::Clients).is_empty(),
        "block 2 was trusted"
    );
}

#[test]
fn light_blocks_of_another_chain_are_refused() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let mut batch = r.batch(2, &[], &[1]);
    batch.light_blocks = vec![block(&r.kz, 1)];
    let out = r.frame(PEER, Frame::Batch(batch));
    assert_eq!(reasons(&out), vec!["light-block-chain"]);
    assert!(out.writes.is_empty());
    assert!(acks(&out).is_empty());
}

#[test]
fn trust_status_lists_what_the_peer_fed_clients_trust() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    assert_eq!(r.core.clients().count(), 2);
    let before = TrustStatus {
        clients: vec![ClientTrust {
            chain: r.cn.id().clone(),
            root_height: Height(1),
            latest: None,
        }],
    };
    assert_eq!(
        r.core.trust_status(),
        before,
        "the home client is not listed"
    );
    let up = r.handle(Event::PeerUp { peer: PEER });
    assert!(matches!(
        &up.actions[..],
        [Action::Send { frame: Frame::Trust(t), .. }] if *t == before
    ));
    r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1])));
    assert_eq!(r.core.trust_status().clients[0].latest, Some(Height(2)));
}

#[test]
fn every_stage_is_audited_under_its_own_key() {
    let (cn, kz) = chains();
    let mut r = Relay::receiver(cn, kz, |_| {});
    let lane = r.lane();
    let out = r.frame(PEER, Frame::Batch(r.batch(2, &[1, 2], &[1, 2, 3])));
    assert_eq!(r.store.len(Column::Audit), 3);
    let records: Vec<AuditRecord> = r
        .store
        .scan(Column::Audit, b"")
        .unwrap()
        .iter()
        .map(|(_, v)| AuditRecord::decode(v).unwrap())
        .collect();
    let expected: Vec<AuditRecord> = (1..=3)
        .map(|sequence| AuditRecord {
            lane: lane.clone(),
            sequence,
            stage: Stage::Received,
            at: r.now,
        })
        .collect();
    assert_eq!(records, expected);
    let keys: Vec<Vec<u8>> = r
        .store
        .scan(Column::Audit, b"")
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let expected_keys: Vec<Vec<u8>> = expected
        .iter()
        .map(|a| AuditRecord::key_of(&a.lane, a.sequence, &a.stage))
        .collect();
    assert_eq!(keys, expected_keys, "readers find each record by its key");
    for (sequence, key) in (1u64..).zip(&keys) {
        let prefix = AuditRecord::prefix(&lane, sequence);
        assert!(key.starts_with(&prefix) && key.len() > prefix.len());
        let scanned = r.store.scan(Column::Audit, &prefix).unwrap();
        assert_eq!(scanned.len(), 1, "a message's stages, and only its");
    }
    assert_eq!(
        expected.iter().map(AuditRecord::key).collect::<Vec<_>>(),
        expected_keys
    );
    r.deliver_all(out);
    assert_eq!(r.store.len(Column::Audit), 6, "and each delivery");
    assert_eq!(AuditRecord::decode(b"not cbor"), None);
}

/// Relay-kz and relay-pk in one: two home chains fed by the same peer. Their receipts of
/// the same height must not share a batch (a batch is of one chain).
#[test]
fn receipts_of_two_home_chains_at_one_height_go_in_their_own_batches() {
    let mut cn = SimChain::new("cn-shanghai");
    let mut kz = SimChain::new("kz-astana");
    let mut pk = SimChain::new("pk-karachi");
    cn.submit(kz.id(), 0, 1);
    cn.submit(pk.id(), 0, 2);
    cn.produce();
    let config = CoreConfig {
        home: [kz.id().clone(), pk.id().clone()].into(),
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
        LightClient::new(pk.root(), options()),
    ];
    let mut core = Core::<F>::new(config, clients);
    let now = cn.now().checked_add(Duration::from_secs(1)).unwrap();
    let committed = cn.committed[&Height(2)].clone();
    let mut receipts = Vec::new();
    for home in [&mut kz, &mut pk] {
        home.inbox
            .insert(cn.id().clone(), LightClient::new(cn.root(), options()));
        let lane = Lane {
            source: cn.id().clone(),
            destination: home.id().clone(),
            channel: 0,
        };
        let messages: Vec<_> = committed
            .iter()
            .filter(|(m, _)| Lane::of(m) == lane)
            .cloned()
            .collect();
        let batch = message_batch(lane.clone(), Height(2), cn.blocks.clone(), messages);
        let out = core.handle(
            Event::Frame {
                peer: PEER,
                frame: Frame::Batch(batch),
            },
            now,
        );
        assert_eq!(acks(&out), vec![vec![1]]);
        let (_, bundle) = out
            .actions
            .into_iter()
            .find_map(|a| match a {
                Action::Deliver {
                    lane, mut bundles, ..
                } => Some((lane, bundles.remove(0))),
                _ => None,
            })
            .unwrap();
        let result = home.deliver(&bundle, now).unwrap();
        core.handle(
            Event::Delivered {
                lane,
                sequence: 1,
                result,
            },
            now,
        );
        home.produce();
        core.handle(
            Event::HomeBlocks {
                chain: home.id().clone(),
                blocks: home.blocks.clone(),
            },
            now,
        );
        receipts.push((home.id().clone(), home.receipts[&Height(2)].clone()));
    }
    for (chain, receipts) in receipts {
        let out = core.handle(
            Event::ReceiptsCommitted {
                chain,
                height: Height(2),
                receipts,
            },
            now,
        );
        assert!(
            receipt_batches(&out).is_empty(),
            "the peer is not connected"
        );
    }
    let up = core.handle(Event::PeerUp { peer: PEER }, now);
    assert_eq!(
        receipt_batches(&up),
        vec![
            (kz.id().clone(), 2, vec![1], vec![1, 2]),
            (pk.id().clone(), 2, vec![1], vec![1, 2])
        ],
        "each chain's receipt in a batch of its own, both at once"
    );
    assert!(receipt_batches(&core.handle(Event::Tick, now)).is_empty());
}

#[test]
fn labels_are_stable() {
    assert_eq!(peer_hex(&[0xab; 32]), "ab".repeat(32));
    let names: Vec<_> = [
        Stage::Committed,
        Stage::Forwarded,
        Stage::Received,
        Stage::Delivered(ReceiptResult::Delivered),
        Stage::Acknowledged(ReceiptResult::Expired),
    ]
    .iter()
    .map(Stage::name)
    .collect();
    assert_eq!(
        names,
        [
            "committed",
            "forwarded",
            "received",
            "delivered",
            "acknowledged"
        ]
    );
}
