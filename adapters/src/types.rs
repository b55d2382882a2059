//! What crosses the adapter boundary.
//!
//! - [`ChainStatus`]: a chain's latest published block.
//! - [`OutboundMessage`]: a trade message a source chain committed, with its proof in the
//!   chain family's own form (a native inclusion proof by default) against the messages
//!   commitment of the block at `height`.
//! - [`ProofBundle`]: what a destination chain's inbox takes (DESIGN.md "proof bundle"): the
//!   message, its inclusion proof, the height of the header whose messages root the proof is
//!   against, and the source light blocks the receiver needs to reach that height from what
//!   it trusts, in increasing height order, the block at `height` last.
//! - [`Receipt`]: the destination chain's record of what became of (source, channel,
//!   sequence), with a result code ([`ReceiptResult`]: delivered, expired, or rejected with
//!   a typed [`RejectReason`]); [`ReceiptProof`] proves it against the receipts root of
//!   the destination block that took the delivery in.
//!
//! Everything here is plain data with serde (JSON on the devnet RPC, canonical CBOR where
//! it is hashed or stored).

use corridor_light_client::envelope::TradeMessage;
use corridor_light_client::family::Family;
use corridor_light_client::merkle::InclusionProof;
use corridor_light_client::native::NativeVerifier;
use corridor_light_client::{ChainId, Hash32, Height, Time};
use serde::{Deserialize, Serialize};

/// A chain's latest published block, as its endpoint reports it (untrusted until verified).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    /// The chain.
    pub chain_id: ChainId,
    /// Its family: `corridor` (native) or `cometbft`.
    pub family: String,
    /// Latest published height.
    pub latest_height: Height,
    /// Hash of the latest published header.
    pub latest_hash: Hash32,
    /// Time of the latest published header.
    pub latest_time: Time,
}

/// A committed outbound trade message and its proof `P`: the leaf proof of the source
/// chain's family (`F::LeafProof`), a native [`InclusionProof`] unless said otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage<P = InclusionProof> {
    /// Height of the block whose messages commitment holds the message.
    pub height: Height,
    /// The message with its channel sequence.
    pub message: TradeMessage,
    /// Proof of [`TradeMessage::leaf`] under that block's messages commitment.
    pub proof: P,
}

impl<P> OutboundMessage<P> {
    /// The bundle of this message with `light_blocks` (the source blocks the receiver
    /// needs, the block at [`OutboundMessage::height`] last).
    pub fn into_bundle<F: Family<LeafProof = P>>(
        self,
        light_blocks: Vec<F::LightBlock>,
    ) -> corridor_light_client::bundle::ProofBundle<F> {
        corridor_light_client::bundle::ProofBundle {
            message: self.message,
            proof: self.proof,
            height: self.height,
            light_blocks,
        }
    }
}

/// A delivery for a native destination chain's inbox (see
/// [`corridor_light_client::bundle`]).
pub type ProofBundle = corridor_light_client::bundle::ProofBundle<NativeVerifier>;

/// A light client of a native chain.
pub type NativeClient = corridor_light_client::client::LightClient<NativeVerifier>;

/// A devnet inbox's light client of a source chain, of the family the chain's config names
/// (a native chain, or an EVM chain through its attestation quorum).
pub type InboxClient =
    corridor_light_client::client::LightClient<corridor_light_client::any::AnyFamily>;

/// A delivery for a devnet inbox: a bundle of a source chain of any family, each block and
/// proof tagged with it.
pub type InboxBundle =
    corridor_light_client::bundle::ProofBundle<corridor_light_client::any::AnyFamily>;

pub use corridor_light_client::receipt::{Receipt, ReceiptResult, RejectReason};

/// A native destination chain's receipt with its proof (see
/// [`corridor_light_client::receipt`]).
pub type ReceiptProof = corridor_light_client::receipt::ReceiptProof<NativeVerifier>;

/// A destination chain's answer to an accepted delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAck {
    /// Chain the message came from.
    pub source_chain: ChainId,
    /// Channel.
    pub channel: u32,
    /// Sequence.
    pub sequence: u64,
    /// Result the receipt will carry.
    pub result: ReceiptResult,
}

/// Most bundles one batch delivery may carry.
pub const MAX_DELIVERY_BATCH: usize = 256;

/// A destination chain's answer to a batch of deliveries (consecutive sequences of one
/// lane): the acknowledgements of the bundles it took, in order, and the first bundle it
/// refused, if any (index `acks.len()`; the bundles after it were not looked at).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryBatchAck {
    /// The acknowledgements, one per bundle taken, in the batch's order.
    pub acks: Vec<DeliveryAck>,
    /// Why the bundle after the last acknowledged one was refused.
    pub refused: Option<crate::AdapterError>,
}
