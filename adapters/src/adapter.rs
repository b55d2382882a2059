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
use corridor_light_client::receipt::ReceiptProof;
use corridor_light_client::verifier::Verifier;
use corridor_light_client::{ChainId, Height};

use crate::devnet::{Cursor, Page};
use crate::error::AdapterError;
use crate::types::{ChainStatus, DeliveryAck, DeliveryBatchAck, OutboundMessage};

/// The light block of an adapter's chain family.
pub type LightBlockOf<A> = <<A as ChainAdapter>::Family as Verifier>::LightBlock;

/// An outbound message of an adapter's chain, with its family's proof.
pub type OutboundOf<A> = OutboundMessage<<<A as ChainAdapter>::Family as Family>::LeafProof>;

/// A receipt of an adapter's chain, with its family's proof.
pub type ReceiptOf<A> = ReceiptProof<<A as ChainAdapter>::Family>;

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
    /// each with its family's proof, in (height, position) order.
    async fn outbound_messages(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<OutboundOf<Self>>, AdapterError>;

    /// One page of [`Self::outbound_messages`] over `cursor..=to` (from the item at
    /// position `cursor.index` of block `cursor.height`, counted from 0 in the block's
    /// order, to the end of block `to`): as many as the endpoint answers in one response,
    /// and where the next page starts. A range's messages are then held a page at a time,
    /// however large its blocks. By default, the whole range in one page.
    async fn outbound_page(
        &self,
        cursor: Cursor,
        to: Height,
    ) -> Result<Page<OutboundOf<Self>>, AdapterError> {
        let items = self.outbound_messages(cursor.height, to).await?;
        Ok(Page {
            items: from_cursor(items, cursor, |m| m.height),
            next: None,
        })
    }

    /// One page of [`Self::receipts`], the way [`Self::outbound_page`] pages messages.
    async fn receipts_page(
        &self,
        cursor: Cursor,
        to: Height,
    ) -> Result<Page<ReceiptOf<Self>>, AdapterError> {
        let items = self.receipts(cursor.height, to).await?;
        Ok(Page {
            items: from_cursor(items, cursor, |r| r.height),
            next: None,
        })
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
    /// its family's proof, in (height, position) order.
    async fn receipts(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<ReceiptOf<Self>>, AdapterError>;
}

/// The items of `items` (in (height, position) order, from `cursor.height` on) at or after
/// `cursor`: those of later blocks, and those of block `cursor.height` from position
/// `cursor.index` on.
pub fn from_cursor<T>(items: Vec<T>, cursor: Cursor, height: impl Fn(&T) -> Height) -> Vec<T> {
    let mut position = 0u64;
    items
        .into_iter()
        .filter(|item| match height(item).cmp(&cursor.height) {
            core::cmp::Ordering::Less => false,
            core::cmp::Ordering::Greater => true,
            core::cmp::Ordering::Equal => {
                let keep = position >= cursor.index;
                position = position.saturating_add(1);
                keep
            }
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_skips_the_earlier_blocks_and_the_earlier_items_of_its_block() {
        // (height, name) in (height, position) order: block 3 holds three, block 5 two.
        let items = vec![(3, "a"), (3, "b"), (3, "c"), (5, "d"), (5, "e")];
        let at = |height, index| {
            from_cursor(
                items.clone(),
                Cursor {
                    height: Height(height),
                    index,
                },
                |i| Height(i.0),
            )
            .into_iter()
            .map(|i| i.1)
            .collect::<Vec<_>>()
        };
        assert_eq!(at(1, 0), ["a", "b", "c", "d", "e"]);
        assert_eq!(at(3, 0), ["a", "b", "c", "d", "e"]);
        assert_eq!(at(3, 2), ["c", "d", "e"]);
        assert_eq!(at(3, 3), ["d", "e"]);
        // The index counts in the cursor's block only: later blocks are whole.
        assert_eq!(at(3, 9), ["d", "e"]);
        assert_eq!(at(4, 1), ["d", "e"]);
        assert_eq!(at(5, 1), ["e"]);
        assert_eq!(at(6, 0), Vec::<&str>::new());
    }
}
