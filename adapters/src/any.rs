//! [`AnyAdapter`]: an adapter of one family seen as an adapter of
//! [`AnyFamily`], for a relay whose one core follows
//! chains of several families.
//!
//! Its light blocks come tagged with the chain's family. The bundles it is given to deliver
//! are taken out of the sum first: a bundle carries its *source* chain's blocks and proof,
//! and the inner adapter's family is also the family of the bundles its chain's inbox
//! verifies (a devnet inbox runs native light clients). A bundle of another family is
//! refused (`wrong-family`) without a call to the chain. Everything else is the inner
//! adapter's own answer.

use std::sync::Arc;

use async_trait::async_trait;
use corridor_light_client::any::{
    bundle_from_any, receipt_into_any, AnyFamily, AnyLeafProof, AnyLightBlock, Member,
};
use corridor_light_client::bundle::ProofBundle;
use corridor_light_client::receipt::ReceiptProof;
use corridor_light_client::{ChainId, Height};

use crate::adapter::{ChainAdapter, OutboundOf};
use crate::devnet::{Cursor, Page};
use crate::error::AdapterError;
use crate::types::{ChainStatus, DeliveryAck, DeliveryBatchAck, OutboundMessage};

/// A message of a chain of family `F` with its proof in the sum.
fn message_into_any<F: Member>(m: OutboundMessage<F::LeafProof>) -> OutboundMessage<AnyLeafProof> {
    OutboundMessage {
        height: m.height,
        message: m.message,
        proof: F::proof_into_any(m.proof),
    }
}

/// A page of items of one family, each taken into the sum by `into`.
fn page_into_any<T, U>(page: Page<T>, into: impl Fn(T) -> U) -> Page<U> {
    Page {
        items: page.items.into_iter().map(into).collect(),
        next: page.next,
    }
}

/// An adapter of family `A::Family`, as one of [`AnyFamily`].
pub struct AnyAdapter<A>(pub Arc<A>);

impl<A> Clone for AnyAdapter<A> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<A> AnyAdapter<A>
where
    A: ChainAdapter,
    A::Family: Member,
{
    /// The inner adapter.
    pub fn inner(&self) -> &Arc<A> {
        &self.0
    }

    /// [`ChainAdapter::submit_deliveries`] of bundles the caller gives away: each is taken
    /// out of the sum without a copy.
    pub async fn submit_owned(
        &self,
        bundles: Vec<ProofBundle<AnyFamily>>,
    ) -> Result<DeliveryBatchAck, AdapterError> {
        let own = self.own(bundles)?;
        self.0.submit_deliveries(&own).await
    }

    /// The bundles in the chain's family, or the refusal of the first that is not.
    fn own(
        &self,
        bundles: Vec<ProofBundle<AnyFamily>>,
    ) -> Result<Vec<ProofBundle<A::Family>>, AdapterError> {
        bundles
            .into_iter()
            .map(|b| {
                let (sequence, source) = (
                    b.message.sequence,
                    b.message.message.body.source_chain.clone(),
                );
                bundle_from_any(b).map_err(|got| AdapterError::Rejected {
                    chain: self.0.chain_id().to_string(),
                    problem: "wrong-family".into(),
                    status: 400,
                    detail: format!(
                        "sequence {} from {} carries {got} blocks or proofs; this chain's \
                         inbox verifies {} bundles only",
                        sequence,
                        source,
                        <A::Family as corridor_light_client::family::Family>::KIND
                    ),
                })
            })
            .collect()
    }
}

#[async_trait]
impl<A> ChainAdapter for AnyAdapter<A>
where
    A: ChainAdapter,
    A::Family: Member,
{
    type Family = AnyFamily;

    fn chain_id(&self) -> &ChainId {
        self.0.chain_id()
    }

    async fn status(&self) -> Result<ChainStatus, AdapterError> {
        self.0.status().await
    }

    async fn light_block(&self, height: Height) -> Result<AnyLightBlock, AdapterError> {
        Ok(A::Family::block_into_any(self.0.light_block(height).await?))
    }

    async fn latest_light_block(&self) -> Result<AnyLightBlock, AdapterError> {
        Ok(A::Family::block_into_any(
            self.0.latest_light_block().await?,
        ))
    }

    async fn outbound_messages(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<OutboundOf<Self>>, AdapterError> {
        let messages = self.0.outbound_messages(from, to).await?;
        Ok(messages
            .into_iter()
            .map(message_into_any::<A::Family>)
            .collect())
    }

    async fn outbound_page(
        &self,
        cursor: Cursor,
        to: Height,
    ) -> Result<Page<OutboundOf<Self>>, AdapterError> {
        let page = self.0.outbound_page(cursor, to).await?;
        Ok(page_into_any(page, message_into_any::<A::Family>))
    }

    async fn receipts_page(
        &self,
        cursor: Cursor,
        to: Height,
    ) -> Result<Page<ReceiptProof<AnyFamily>>, AdapterError> {
        let page = self.0.receipts_page(cursor, to).await?;
        Ok(page_into_any(page, receipt_into_any::<A::Family>))
    }

    async fn submit_delivery(
        &self,
        bundle: &ProofBundle<AnyFamily>,
    ) -> Result<DeliveryAck, AdapterError> {
        let own = self.own(vec![bundle.clone()])?;
        match own.first() {
            Some(b) => self.0.submit_delivery(b).await,
            None => Err(AdapterError::Rejected {
                chain: self.0.chain_id().to_string(),
                problem: "empty-batch".into(),
                status: 400,
                detail: "no bundle".into(),
            }),
        }
    }

    /// The inner adapter's batch delivery, so the chain still takes the batch in one call.
    async fn submit_deliveries(
        &self,
        bundles: &[ProofBundle<AnyFamily>],
    ) -> Result<DeliveryBatchAck, AdapterError> {
        self.submit_owned(bundles.to_vec()).await
    }

    async fn receipts(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<ReceiptProof<AnyFamily>>, AdapterError> {
        let receipts = self.0.receipts(from, to).await?;
        Ok(receipts
            .into_iter()
            .map(receipt_into_any::<A::Family>)
            .collect())
    }
}
