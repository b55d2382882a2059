//! An in-memory partner chain for the core's tests: an outbox, an inbox with its own light
//! client of the other chain, receipts, and blocks signed by the testkit generator.
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};

use corridor_light_client::bundle::{verify_bundle, ProofBundle};
use corridor_light_client::client::{LightClient, TrustRoot};
use corridor_light_client::envelope::{
    Deadline, DocumentKind, MessageBody, Payload, TradeMessage, VERSION,
};
use corridor_light_client::merkle::{InclusionProof, MerkleTree, MultiProof};
use corridor_light_client::native::{LightBlock, NativeVerifier};
use corridor_light_client::receipt::{Receipt, ReceiptProof, ReceiptResult};
use corridor_light_client::signature::SigningKey;
use corridor_light_client::testgen::{self, BlockContents, ChainSpec};
use corridor_light_client::{hash, ChainId, Hash32, Height, Options, Time};
use corridor_relay_core::core::{Action, Output};
use corridor_relay_core::wire::{Frame, Lane};

pub type F = NativeVerifier;

pub fn options() -> Options {
    Options::default()
}

/// An in-memory partner chain: an outbox, an inbox with its own light client of the other
/// chain, receipts, and blocks signed by the testkit generator.
pub struct SimChain {
    pub spec: ChainSpec,
    pub blocks: Vec<LightBlock>,
    pub pending_out: Vec<TradeMessage>,
    pub committed: BTreeMap<Height, Vec<(TradeMessage, InclusionProof)>>,
    pub commitments: BTreeSet<Hash32>,
    pub next_seq: BTreeMap<Lane, u64>,
    pub inbox: BTreeMap<ChainId, LightClient<F>>,
    pub delivered: BTreeMap<Lane, (u64, Vec<Hash32>)>,
    pub pending_receipts: Vec<Receipt>,
    pub receipts: BTreeMap<Height, Vec<ReceiptProof<F>>>,
}

impl SimChain {
    pub fn new(id: &str) -> Self {
        let mut spec = ChainSpec::simple(id, 4);
        spec.rotate_every = 7;
        spec.rotate_count = 1;
        let genesis = testgen::block(&spec, Height(1), Hash32::ZERO, BlockContents::default());
        Self {
            spec,
            blocks: vec![genesis],
            pending_out: Vec::new(),
            committed: BTreeMap::new(),
            commitments: BTreeSet::new(),
            next_seq: BTreeMap::new(),
            inbox: BTreeMap::new(),
            delivered: BTreeMap::new(),
            pending_receipts: Vec::new(),
            receipts: BTreeMap::new(),
        }
    }

    pub fn id(&self) -> &ChainId {
        &self.spec.chain_id
    }

    pub fn root(&self) -> TrustRoot {
        TrustRoot {
            chain_id: self.id().clone(),
            height: Height(1),
            header_hash: self.blocks[0].header().hash(),
            pin: None,
        }
    }

    pub fn height(&self) -> Height {
        Height(self.blocks.len() as u64)
    }

    pub fn now(&self) -> Time {
        self.spec.time_at(self.height())
    }

    pub fn submit(&mut self, destination: &ChainId, channel: u32, nonce: u64) {
        let key = SigningKey::from_seed([7; 32]);
        let payload = Payload(format!("document {nonce}").into_bytes());
        let body = MessageBody {
            version: VERSION,
            source_chain: self.id().clone(),
            destination_chain: destination.clone(),
            channel,
            nonce,
            sender: key.public_key(),
            receiver: SigningKey::from_seed([8; 32]).public_key(),
            kind: DocumentKind::Generic,
            payload_hash: hash::sha3(&payload.0),
            payload,
            deadline: Deadline::Height(Height(1_000_000)),
        };
        let lane = Lane {
            source: self.id().clone(),
            destination: destination.clone(),
            channel,
        };
        let seq = self.next_seq.entry(lane).or_insert(0);
        *seq += 1;
        self.pending_out.push(TradeMessage {
            sequence: *seq,
            message: body.sign(&key).unwrap(),
        });
    }

    pub fn produce(&mut self) {
        let height = Height(self.height().0 + 1);
        let out = std::mem::take(&mut self.pending_out);
        let out_leaves: Vec<Vec<u8>> = out.iter().map(|m| m.leaf().unwrap()).collect();
        let out_tree = MerkleTree::from_leaves(&out_leaves);
        let rec = std::mem::take(&mut self.pending_receipts);
        let rec_leaves: Vec<Vec<u8>> = rec.iter().map(|r| r.leaf().unwrap()).collect();
        let rec_tree = MerkleTree::from_leaves(&rec_leaves);
        let contents = BlockContents {
            messages_root: if out.is_empty() {
                Hash32::ZERO
            } else {
                out_tree.root()
            },
            receipts_root: if rec.is_empty() {
                Hash32::ZERO
            } else {
                rec_tree.root()
            },
            state_root: Hash32::ZERO,
        };
        let parent = self.blocks.last().unwrap().header().hash();
        self.blocks
            .push(testgen::block(&self.spec, height, parent, contents));
        if !out.is_empty() {
            let with_proofs = out
                .into_iter()
                .enumerate()
                .map(|(i, m)| {
                    self.commitments.insert(m.commitment().unwrap());
                    (m, out_tree.prove(i as u64).unwrap())
                })
                .collect();
            self.committed.insert(height, with_proofs);
        }
        if !rec.is_empty() {
            let proofs = rec
                .into_iter()
                .enumerate()
                .map(|(i, receipt)| ReceiptProof {
                    height,
                    receipt,
                    proof: rec_tree.prove(i as u64).unwrap(),
                })
                .collect();
            self.receipts.insert(height, proofs);
        }
    }

    /// The inbox: verify with its own light client, take in channel order, idempotent.
    pub fn deliver(&mut self, bundle: &ProofBundle<F>, now: Time) -> Result<ReceiptResult, String> {
        let source = bundle.message.message.body.source_chain.clone();
        let client = self
            .inbox
            .get_mut(&source)
            .ok_or_else(|| format!("no inbox client of {source}"))?;
        let verified = verify_bundle(client, bundle, now).map_err(|e| e.reason().to_owned())?;
        let lane = Lane::of(&bundle.message);
        let (last, log) = self.delivered.entry(lane.clone()).or_default();
        let seq = bundle.message.sequence;
        if seq <= *last {
            return if log[(seq - 1) as usize] == verified.commitment {
                Ok(ReceiptResult::Delivered)
            } else {
                Err("duplicate".into())
            };
        }
        if seq != *last + 1 {
            return Err("out-of-order".into());
        }
        *last = seq;
        log.push(verified.commitment);
        self.pending_receipts.push(Receipt {
            source_chain: lane.source,
            destination_chain: lane.destination,
            channel: lane.channel,
            sequence: seq,
            message_commitment: verified.commitment,
            result: ReceiptResult::Delivered,
        });
        Ok(ReceiptResult::Delivered)
    }
}

/// The refusal reasons among a step's actions, in order.
pub fn reasons(out: &Output<F>) -> Vec<&'static str> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Rejected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

/// The sequences of each ack a step sends, in order.
pub fn acks(out: &Output<F>) -> Vec<Vec<u64>> {
    out.actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                frame: Frame::Ack(ack),
                ..
            } => Some(ack.sequences.clone()),
            _ => None,
        })
        .collect()
}

/// A batch of `lane`'s `messages` (with their single proofs) of block `height`, under one
/// multiproof, carrying `light_blocks`; a batch of none carries no proof.
pub fn message_batch(
    lane: Lane,
    height: Height,
    light_blocks: Vec<LightBlock>,
    messages: Vec<(TradeMessage, InclusionProof)>,
) -> corridor_relay_core::wire::MessageBatch<F> {
    let (messages, proofs): (Vec<TradeMessage>, Vec<InclusionProof>) = messages.into_iter().unzip();
    corridor_relay_core::wire::MessageBatch {
        lane,
        height,
        light_blocks,
        proof: (!proofs.is_empty())
            .then(|| MultiProof::join(&proofs).expect("proofs of one block")),
        messages,
    }
}
