//! The [`ChainAdapter`] trait: how a relay talks to one partner chain.
//!
//! An adapter is a client of one chain's endpoint. It fetches and parses; it does not trust:
//! light blocks and proofs it returns are checked by the caller's light client. What an
//! adapter does check is that an answer is the one asked for (the height and chain of a
//! light block), reporting anything else as [`AdapterError::InvalidResponse`].
//!
//! ## Cancellation
//! Every method is cancel-safe in this sense: dropping its future leaves the adapter usable
//! and changes nothing on the caller's side. The reads have no effect on the chain. A
//! dropped [`ChainAdapter::submit_delivery`] may or may not have reached the chain;
//! submitting the same bundle again is safe, since a chain takes each (source chain,
//! channel, sequence) once and answers a repeat of the same message with its original
//! [`DeliveryAck`] (another message at a consumed sequence gets the `duplicate` rejection).
//!
//! The trait uses `async-trait` so that a relay can hold adapters as trait objects.

use async_trait::async_trait;
use corridor_light_client::bundle::ProofBundle;
use corridor_light_client::family::Family;
use corridor_light_client::verifier::Verifier;
use corridor_light_client::{ChainId, Height};

use crate::devnet::{Cursor, Page};
use crate::error::AdapterError;
use crate::types::{ChainStatus, DeliveryAck, DeliveryBatchAck, OutboundMessage, ReceiptProof};

/// The light block of an adapter's chain family.
pub type LightBlockOf<A> = <<A as ChainAdapter>::Family as Verifier>::LightBlock;

/// Most heights one range query may span; longer ranges are refused, so pages stay bounded.
pub const MAX_RANGE: u64 = 256;

/// A client of one partner chain.
#[async_trait]
pub trait ChainAdapter: Send + Sync {
    /// The chain's family: its light blocks, verifier and leaf proofs.
    type Family: Family;

    /// The chain this adapter serves.
    fn chain_id(&self) -> &ChainId;

    /// The chain's latest published block.
    async fn status(&self) -> Result<ChainStatus, AdapterError>;

    /// The light block at `height`; [`AdapterError::NotFound`] above the published tip.
    async fn light_block(&self, height: Height) -> Result<LightBlockOf<Self>, AdapterError>;

    /// The latest published light block.
    async fn latest_light_block(&self) -> Result<LightBlockOf<Self>, AdapterError>;

    /// Outbound messages committed in blocks `from..=to` (at most [`MAX_RANGE`] heights),
    /// each with its proof, in (height, position) order.
    async fn outbound_messages(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<OutboundMessage>, AdapterError>;

    /// One page of [`Self::outbound_messages`] over `cursor..=to` (from the leaf
    /// `cursor.index` of block `cursor.height` to the end of block `to`): as many as the
    /// endpoint answers in one response, and where the next page starts. A range's
    /// messages are then held a page at a time, however large its blocks. By default, the
    /// whole range in one page.
    async fn outbound_page(
        &self,
        cursor: Cursor,
        to: Height,
    ) -> Result<Page<OutboundMessage>, AdapterError> {
        let items = self
            .outbound_messages(cursor.height, to)
            .await?
            .into_iter()
            .filter(|m| (m.height, m.proof.index) >= (cursor.height, cursor.index))
            .collect();
        Ok(Page { items, next: None })
    }

    /// One page of [`Self::receipts`], the way [`Self::outbound_page`] pages messages.
    async fn receipts_page(
        &self,
        cursor: Cursor,
        to: Height,
    ) -> Result<Page<ReceiptProof>, AdapterError> {
        let items = self
            .receipts(cursor.height, to)
            .await?
            .into_iter()
            .filter(|r| (r.height, r.proof.index) >= (cursor.height, cursor.index))
            .collect();
        Ok(Page { items, next: None })
    }

    /// Hands a delivery to the chain's inbox. `Ok` means the chain verified and persisted it
    /// and will commit its receipt in a coming block.
    async fn submit_delivery(
        &self,
        bundle: &ProofBundle<Self::Family>,
    ) -> Result<DeliveryAck, AdapterError>;

    /// Hands consecutive deliveries of one lane to the chain's inbox, in order, and stops at
    /// the first one refused. An `Err` means nothing is known to have been taken (the
    /// request failed as a whole). Chains with a batch endpoint take the batch in one
    /// request and one write; by default the bundles go one by one through
    /// [`Self::submit_delivery`].
    async fn submit_deliveries(
        &self,
        bundles: &[ProofBundle<Self::Family>],
    ) -> Result<DeliveryBatchAck, AdapterError> {
        let mut acks = Vec::with_capacity(bundles.len());
        for bundle in bundles {
            match self.submit_delivery(bundle).await {
                Ok(ack) => acks.push(ack),
                Err(e) if acks.is_empty() => return Err(e),
                Err(e) => {
                    return Ok(DeliveryBatchAck {
                        acks,
                        refused: Some(e),
                    })
                }
            }
        }
        Ok(DeliveryBatchAck {
            acks,
            refused: None,
        })
    }

    /// Receipts committed in blocks `from..=to` (at most [`MAX_RANGE`] heights), each with
    /// its proof.
    async fn receipts(&self, from: Height, to: Height) -> Result<Vec<ReceiptProof>, AdapterError>;
}

/// Checks a `from..=to` range: non-empty, starting at 1 or above, at most [`MAX_RANGE`].
pub fn check_range(chain: &str, from: Height, to: Height) -> Result<(), AdapterError> {
    let span = to.0.checked_sub(from.0).and_then(|d| d.checked_add(1));
    match span {
        Some(n) if from.0 >= 1 && n <= MAX_RANGE => Ok(()),
        _ => Err(AdapterError::Rejected {
            chain: chain.to_owned(),
            problem: "bad-range".into(),
            status: 400,
            detail: format!(
                "height range {from}..={to} must start at 1 or above and span 1 to {MAX_RANGE} heights"
            ),
        }),
    }
}
