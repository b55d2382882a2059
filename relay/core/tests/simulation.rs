//! The seeded simulator of DESIGN.md "The relay's inside": two relays' cores, two in-memory
//! chains, and a network that drops, duplicates, delays, reorders and corrupts frames, while
//! relays crash and restart from their stores and a compromised courier injects forgeries.
//!
//! Invariants checked on every seed: every message delivered exactly once and in channel
//! order (the chain's inbox refuses anything else, and the test counts its log), every
//! delivered message one the source chain committed (nothing accepted unverified), every
//! receipt back at its source (every outbound entry closed), every forgery refused by its
//! reason. A failing seed is printed; `SIM_SEED=<n>` replays it alone, `SIM_SEEDS=<n>` runs
//! more seeds.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

mod common;

use common::{options, SimChain, F};
use corridor_light_client::client::LightClient;
use corridor_light_client::native::LightBlock;
use corridor_light_client::{Height, Time};
use corridor_relay_core::core::{Action, Core, CoreConfig, Event, Output, PeerId};
use corridor_relay_core::store::{MemStore, Store};
use corridor_relay_core::wire::{Frame, Lane, Limits};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One relay: its core, its store, and the driver's own progress through its home chain.
struct SimRelay {
    id: PeerId,
    home: usize,
    config: CoreConfig,
    store: Arc<MemStore>,
    core: Core<F>,
    fed: Height,
}

impl SimRelay {
    fn clients(chains: &[SimChain]) -> Vec<LightClient<F>> {
        chains
            .iter()
            .map(|c| LightClient::new(c.root(), options()))
            .collect()
    }

    fn restart(&mut self, chains: &[SimChain]) {
        self.core = Core::restore(self.config.clone(), Self::clients(chains), &*self.store)
            .expect("restore from the store");
        self.fed = Height(0);
    }
}

struct Packet {
    at: u64,
    from: PeerId,
    to: PeerId,
    bytes: Vec<u8>,
}

struct Sim {
    rng: ChaCha8Rng,
    chains: Vec<SimChain>,
    relays: Vec<SimRelay>,
    network: Vec<Packet>,
    step: u64,
    faults: bool,
    /// Disconnected peers: (relay index, peer index) -> reconnect at step.
    cut: BTreeMap<(usize, usize), u64>,
    forgeries_sent: u64,
    refusals: BTreeMap<&'static str, u64>,
    log: VecDeque<String>,
    queue: VecDeque<(usize, Event<F>)>,
    draining: bool,
}

impl Sim {
    fn new(seed: u64) -> Self {
        let chains = vec![SimChain::new("cn-shanghai"), SimChain::new("kz-astana")];
        let ids: Vec<PeerId> = vec![[1; 32], [2; 32]];
        let relays = (0..2)
            .map(|i| {
                let other = 1 - i;
                let config = CoreConfig {
                    home: [chains[i].id().clone()].into(),
                    routes: [(chains[other].id().clone(), ids[other])].into(),
                    limits: Limits::default(),
                    window: 16,
                    resend_after: std::time::Duration::from_secs(3),
                    penalty_threshold: 5,
                    max_delivery_batch: corridor_relay_core::DEFAULT_DELIVERY_BATCH,
                };
                let store = Arc::new(MemStore::new());
                SimRelay {
                    id: ids[i],
                    home: i,
                    core: Core::new(config.clone(), SimRelay::clients(&chains)),
                    config,
                    store,
                    fed: Height(0),
                }
            })
            .collect();
        let mut sim = Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            chains,
            relays,
            network: Vec::new(),
            step: 0,
            faults: true,
            cut: BTreeMap::new(),
            forgeries_sent: 0,
            refusals: BTreeMap::new(),
            log: VecDeque::new(),
            queue: VecDeque::new(),
            draining: false,
        };
        for c in 0..2 {
            let other = 1 - c;
            let client = LightClient::new(sim.chains[other].root(), options());
            let source = sim.chains[other].id().clone();
            sim.chains[c].inbox.insert(source, client);
        }
        for r in 0..2 {
            sim.handle(r, Event::PeerUp { peer: ids[1 - r] });
        }
        sim
    }

    fn now(&self) -> Time {
        // Both chains share a schedule; the clock runs just past the newest block.
        let newest = self.chains.iter().map(SimChain::now).max().unwrap();
        newest
            .checked_add(std::time::Duration::from_millis(100))
            .unwrap()
    }

    fn note(&mut self, line: String) {
        if self.log.len() == 64 {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// Applies an output the way the daemon does: writes first, then actions.
    fn apply(&mut self, r: usize, output: Output<F>) {
        self.relays[r].store.write(&output.writes).unwrap();
        for action in output.actions {
            match action {
                Action::Send { peer, frame } => {
                    let to = self.relays.iter().position(|x| x.id == peer).unwrap();
                    if self.cut.contains_key(&(r, to)) {
                        continue;
                    }
                    let bytes = frame.encode().unwrap();
                    self.transmit(r, to, bytes);
                }
                Action::Deliver {
                    chain,
                    bundles,
                    lane,
                } => {
                    // The inbox takes a batch in order and stops at its first refusal.
                    for bundle in bundles {
                        let c = self.chains.iter().position(|c| c.id() == &chain).unwrap();
                        let now = self.now();
                        let sequence = bundle.message.sequence;
                        let event = match self.chains[c].deliver(&bundle, now) {
                            Ok(result) => Event::Delivered {
                                lane: lane.clone(),
                                sequence,
                                result,
                            },
                            Err(reason) => {
                                self.note(format!("delivery {lane} {sequence} failed: {reason}"));
                                let source = bundle.message.message.body.source_chain.clone();
                                let inbox = &self.chains[c].inbox[&source];
                                let (root, latest) = (
                                    inbox.root().height,
                                    inbox.latest().map(|_| inbox.latest_height()),
                                );
                                self.handle(
                                    r,
                                    Event::InboxTrust {
                                        chain: chain.clone(),
                                        source,
                                        root,
                                        latest,
                                    },
                                );
                                self.handle(
                                    r,
                                    Event::DeliveryFailed {
                                        lane,
                                        sequence,
                                        reason,
                                    },
                                );
                                break;
                            }
                        };
                        self.handle(r, event);
                    }
                }
                Action::Rejected { reason, detail, .. } => {
                    *self.refusals.entry(reason).or_default() += 1;
                    self.note(format!("relay {r} refused: {reason}: {detail}"));
                }
                Action::Disconnect { peer, .. } => {
                    let p = self.relays.iter().position(|x| x.id == peer).unwrap();
                    let back = self.step + 20;
                    self.cut.insert((r, p), back);
                    self.cut.insert((p, r), back);
                    self.handle(r, Event::PeerDown { peer });
                    let me = self.relays[r].id;
                    self.handle(p, Event::PeerDown { peer: me });
                }
                Action::Frozen { chain, reason } => {
                    panic!("light client of {chain} froze in a run without misbehaviour: {reason}")
                }
                Action::EndpointFault { reason, detail, .. } => {
                    panic!("an honest chain was refused: {reason}: {detail}")
                }
                Action::Stage { .. } => {}
            }
        }
    }

    fn transmit(&mut self, from: usize, to: usize, bytes: Vec<u8>) {
        let (from, to) = (self.relays[from].id, self.relays[to].id);
        let mut copies = 1;
        let mut bytes = bytes;
        if self.faults {
            if self.rng.gen_bool(0.1) {
                return;
            }
            if self.rng.gen_bool(0.05) {
                copies = 2;
            }
            if self.rng.gen_bool(0.02) && !bytes.is_empty() {
                let i = self.rng.gen_range(0..bytes.len());
                bytes[i] ^= 1 << self.rng.gen_range(0..8);
            }
        }
        for _ in 0..copies {
            let delay = if self.faults {
                self.rng.gen_range(0..6)
            } else {
                1
            };
            self.network.push(Packet {
                at: self.step + delay,
                from,
                to,
                bytes: bytes.clone(),
            });
        }
    }

    /// Queues an event; the outermost call drains the queue (no recursion between the
    /// core's actions and the events they cause).
    fn handle(&mut self, r: usize, event: Event<F>) {
        self.queue.push_back((r, event));
        if self.draining {
            return;
        }
        self.draining = true;
        while let Some((r, event)) = self.queue.pop_front() {
            let now = self.now();
            let output = self.relays[r].core.handle(event, now);
            self.apply(r, output);
        }
        self.draining = false;
    }

    /// The driver's watcher: new home blocks, committed messages, receipts, inbox trust.
    fn watch(&mut self, r: usize) {
        let home = self.relays[r].home;
        let chain = self.chains[home].id().clone();
        let tip = self.chains[home].height();
        let fed = self.relays[r].fed;
        if fed >= tip {
            return;
        }
        let latest = self.relays[r]
            .core
            .client(&chain)
            .and_then(|c| c.latest().map(|_| c.latest_height()))
            .unwrap_or(Height(0));
        let from = latest.0.max(fed.0) + 1;
        let blocks: Vec<LightBlock> = (from..=tip.0)
            .map(|h| self.chains[home].blocks[(h - 1) as usize].clone())
            .collect();
        self.handle(
            r,
            Event::HomeBlocks {
                chain: chain.clone(),
                blocks,
            },
        );
        // Everything committed from height 1: the core drops what it has or closed.
        let start = fed.0 + 1;
        for h in start..=tip.0 {
            if let Some(messages) = self.chains[home].committed.get(&Height(h)).cloned() {
                self.handle(
                    r,
                    Event::Committed {
                        chain: chain.clone(),
                        height: Height(h),
                        messages,
                    },
                );
            }
            if let Some(receipts) = self.chains[home].receipts.get(&Height(h)).cloned() {
                self.handle(
                    r,
                    Event::ReceiptsCommitted {
                        chain: chain.clone(),
                        height: Height(h),
                        receipts,
                    },
                );
            }
        }
        self.relays[r].fed = tip;
        for (source, inbox) in self.chains[home].inbox.clone() {
            let event = Event::InboxTrust {
                chain: chain.clone(),
                source,
                root: inbox.root().height,
                latest: inbox.latest().map(|_| inbox.latest_height()),
            };
            self.handle(r, event);
        }
    }

    /// A compromised courier: re-sends a real batch of the peer with one message changed.
    fn forge(&mut self, packet: &Packet) -> Option<Vec<u8>> {
        let frame = Frame::<F>::decode(&packet.bytes, &Limits::default()).ok()?;
        let Frame::Batch(mut batch) = frame else {
            return None;
        };
        let m = batch.messages.first_mut()?;
        m.message.body.nonce ^= 0x5a5a;
        Frame::Batch(batch).encode().ok()
    }

    fn run_step(&mut self) {
        self.step += 1;
        // Chains: a block every other step, new messages most steps.
        if self.step.is_multiple_of(2) {
            for c in 0..2 {
                if self.faults && self.rng.gen_bool(0.7) {
                    let dest = self.chains[1 - c].id().clone();
                    let n = self.rng.gen_range(1..4);
                    for _ in 0..n {
                        let channel = self.rng.gen_range(1..3);
                        let nonce = self.rng.gen();
                        self.chains[c].submit(&dest, channel, nonce);
                    }
                }
                self.chains[c].produce();
            }
        }
        // Reconnect cut links whose back-off ended.
        let due: Vec<_> = self
            .cut
            .iter()
            .filter(|(_, at)| **at <= self.step)
            .map(|(k, _)| *k)
            .collect();
        for (a, b) in due {
            self.cut.remove(&(a, b));
            let peer = self.relays[b].id;
            self.relays[a].core.forgive(&peer);
            self.handle(a, Event::PeerUp { peer });
        }
        // Crash a relay now and then: it restarts from its store alone.
        if self.faults && self.rng.gen_bool(0.02) {
            let r = self.rng.gen_range(0..2);
            self.note(format!("step {}: relay {r} crashes", self.step));
            self.relays[r].restart(&self.chains);
            let peer = self.relays[1 - r].id;
            self.handle(r, Event::PeerUp { peer });
            let me = self.relays[r].id;
            self.handle(1 - r, Event::PeerDown { peer: me });
            self.handle(1 - r, Event::PeerUp { peer: me });
        }
        for r in 0..2 {
            self.watch(r);
        }
        // Deliver due packets in a random order (reordering).
        let mut due: Vec<Packet> = Vec::new();
        let mut keep = Vec::new();
        for p in std::mem::take(&mut self.network) {
            if p.at <= self.step {
                due.push(p);
            } else {
                keep.push(p);
            }
        }
        self.network = keep;
        while !due.is_empty() {
            let i = self.rng.gen_range(0..due.len());
            let packet = due.swap_remove(i);
            let to = self.relays.iter().position(|x| x.id == packet.to).unwrap();
            if self.faults && self.rng.gen_bool(0.03) {
                if let Some(forged) = self.forge(&packet) {
                    self.forgeries_sent += 1;
                    self.deliver_bytes(to, packet.from, &forged);
                }
            }
            self.deliver_bytes(to, packet.from, &packet.bytes);
        }
        for r in 0..2 {
            self.handle(r, Event::Tick);
        }
    }

    fn deliver_bytes(&mut self, to: usize, from: PeerId, bytes: &[u8]) {
        match Frame::<F>::decode(bytes, &Limits::default()) {
            Ok(frame) => self.handle(to, Event::Frame { peer: from, frame }),
            Err(e) => {
                *self.refusals.entry(e.reason()).or_default() += 1;
            }
        }
    }

    fn submitted(&self) -> BTreeMap<Lane, u64> {
        self.chains
            .iter()
            .flat_map(|c| c.next_seq.clone())
            .collect()
    }

    fn settled(&self) -> bool {
        let submitted = self.submitted();
        let delivered_all = submitted.iter().all(|(lane, n)| {
            let dest = self
                .chains
                .iter()
                .find(|c| c.id() == &lane.destination)
                .unwrap();
            dest.delivered.get(lane).map_or(0, |(last, _)| *last) == *n
        });
        let closed = self.relays.iter().all(|r| {
            r.core.outbound_open().values().all(|n| *n == 0)
                && r.core.inbound_waiting().values().all(|n| *n == 0)
        });
        delivered_all && closed
    }
}

fn run(seed: u64) -> Result<BTreeMap<&'static str, u64>, String> {
    let mut sim = Sim::new(seed);
    for _ in 0..160 {
        sim.run_step();
    }
    // Calm: no new faults, no new messages; everything must settle.
    sim.faults = false;
    let mut calm = 0;
    while !sim.settled() {
        calm += 1;
        if calm > 400 {
            let tail: Vec<_> = sim.log.iter().cloned().collect();
            return Err(format!(
                "seed {seed}: not settled after 400 calm steps; submitted {:?}; delivered {:?}; open {:?}; last events:\n{}",
                sim.submitted(),
                sim.chains.iter().map(|c| c.delivered.iter().map(|(l, (n, _))| (l.key(), *n)).collect::<Vec<_>>()).collect::<Vec<_>>(),
                sim.relays.iter().map(|r| r.core.outbound_open()).collect::<Vec<_>>(),
                tail.join("\n")
            ));
        }
        sim.run_step();
    }
    // Exactly once, in order, and only what the source committed.
    for chain in &sim.chains {
        for (lane, (last, log)) in &chain.delivered {
            if log.len() as u64 != *last {
                return Err(format!(
                    "seed {seed}: lane {lane} log has {} for {last}",
                    log.len()
                ));
            }
            let source = sim.chains.iter().find(|c| c.id() == &lane.source).unwrap();
            if let Some(c) = log.iter().find(|c| !source.commitments.contains(*c)) {
                return Err(format!(
                    "seed {seed}: lane {lane} delivered {c:?}, which {} never committed",
                    lane.source
                ));
            }
        }
    }
    if sim.forgeries_sent > 0 && sim.refusals.get("invalid-proof").copied().unwrap_or(0) == 0 {
        let dupes = sim.refusals.get("duplicate").copied().unwrap_or(0);
        // A forgery of a message already held is dropped as a duplicate before its proof.
        if dupes == 0 {
            return Err(format!(
                "seed {seed}: {} forgeries and none refused as invalid-proof",
                sim.forgeries_sent
            ));
        }
    }
    let messages: u64 = sim.submitted().values().sum();
    if messages == 0 {
        return Err(format!("seed {seed}: no message was sent"));
    }
    eprintln!(
        "seed {seed}: {messages} messages over {} steps, {} forgeries, refusals {:?}",
        sim.step, sim.forgeries_sent, sim.refusals
    );
    Ok(sim.refusals)
}

#[test]
fn every_message_crosses_exactly_once_in_order_under_faults_and_crashes() {
    let seeds: Vec<u64> = match std::env::var("SIM_SEED") {
        Ok(s) => vec![s.parse().expect("SIM_SEED is a number")],
        Err(_) => {
            let n: u64 = std::env::var("SIM_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(8);
            (1..=n).collect()
        }
    };
    let mut totals: BTreeMap<&'static str, u64> = BTreeMap::new();
    for seed in seeds {
        match run(seed) {
            Ok(refusals) => {
                for (k, v) in refusals {
                    *totals.entry(k).or_default() += v;
                }
            }
            Err(e) => panic!("{e}\nreplay with SIM_SEED={seed}"),
        }
    }
    // The faults did happen, and each was refused for its own reason.
    assert!(
        totals.get("invalid-proof").copied().unwrap_or(0) > 0,
        "{totals:?}"
    );
    assert!(
        totals.get("duplicate").copied().unwrap_or(0) > 0,
        "{totals:?}"
    );
    assert!(
        totals.get("bad-frame").copied().unwrap_or(0) > 0,
        "{totals:?}"
    );
}
