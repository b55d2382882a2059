//! [`DevnetAdapter`]: the [`ChainAdapter`] of a devnet chain, a client of its RPC (served
//! by the `corridor-devnet` crate; its JSON shapes are in [`super::wire`]).
//!
//! Reads are retried under the adapter's [`RetryPolicy`] when the error is transient;
//! submissions too (a repeated delivery answers with its original acknowledgement, a
//! repeated transaction with its first assignment). Problem documents become
//! [`AdapterError::Rejected`] with the problem's name, 404 becomes
//! [`AdapterError::NotFound`], and answers that contradict the request (another height or
//! chain) become [`AdapterError::InvalidResponse`].

use async_trait::async_trait;
use corridor_light_client::any::bundle_into_any;
use corridor_light_client::envelope::SignedMessage;
use corridor_light_client::native::{LightBlock, NativeVerifier};
use corridor_light_client::{ChainId, Hash32, Height};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::wire::{
    AdminToken, ClientStatus, Cursor, DeliveryBatchAnswer, FaultState, MessageLocation, NodeStatus,
    Page, Problem, TxAccepted,
};
use crate::adapter::{check_range, ChainAdapter};
use crate::error::AdapterError;
use crate::http::{Answer, Http};
use crate::retry::{retry, RetryPolicy};
use crate::types::{
    ChainStatus, DeliveryAck, DeliveryBatchAck, InboxBundle, OutboundMessage, ProofBundle,
    ReceiptProof, MAX_DELIVERY_BATCH,
};

/// A client of one devnet chain's RPC.
#[derive(Clone, Debug)]
pub struct DevnetAdapter {
    chain_id: ChainId,
    http: Http,
    /// The admin RPC with its bearer token, when given.
    admin: Option<Http>,
    retry: RetryPolicy,
}

impl DevnetAdapter {
    /// A client of the chain `chain_id` at `base_url` (e.g. `http://127.0.0.1:26701`), with
    /// the default retry policy.
    pub fn new(chain_id: ChainId, base_url: &str) -> Result<Self, AdapterError> {
        Ok(Self {
            http: Http::new(chain_id.as_str(), base_url)?,
            admin: None,
            chain_id,
            retry: RetryPolicy::default(),
        })
    }

    /// The same client, reaching the chain's admin RPC at `admin_url` with `token`
    /// (`corridor_devnet::DevnetHandle::admin_url`, the chain config's `admin_token`).
    pub fn with_admin(mut self, admin_url: &str, token: &AdminToken) -> Result<Self, AdapterError> {
        self.admin =
            Some(Http::new(self.chain_id.as_str(), admin_url)?.with_bearer(token.secret())?);
        Ok(self)
    }

    fn admin(&self) -> Result<&Http, AdapterError> {
        self.admin
            .as_ref()
            .ok_or_else(|| AdapterError::Unsupported {
                chain: self.chain_id.to_string(),
                family: "corridor",
                operation: "admin",
                reason: "no admin RPC given (DevnetAdapter::with_admin)",
            })
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    fn outcome<T: DeserializeOwned>(
        &self,
        http: &Http,
        path: &str,
        answer: Answer,
    ) -> Result<T, AdapterError> {
        if (200..300).contains(&answer.status) {
            return http.parse(path, &answer.body);
        }
        match serde_json::from_slice::<Problem>(&answer.body) {
            Ok(problem) => Err(self.problem_error(path, answer.status, problem)),
            Err(_) => Err(http.status_error(path, &answer)),
        }
    }

    /// The error a problem document stands for.
    fn problem_error(&self, path: &str, status: u16, problem: Problem) -> AdapterError {
        let chain = self.http.chain().to_owned();
        if problem.status == 404 || status == 404 {
            AdapterError::NotFound {
                chain,
                what: problem.detail,
            }
        } else if status >= 500 {
            AdapterError::Unavailable {
                chain,
                endpoint: path.to_owned(),
                status,
                detail: problem.detail,
            }
        } else {
            AdapterError::Rejected {
                chain,
                problem: problem.name().to_owned(),
                status,
                detail: problem.detail,
            }
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, AdapterError> {
        self.get_on(&self.http, path).await
    }

    async fn get_on<T: DeserializeOwned>(
        &self,
        http: &Http,
        path: &str,
    ) -> Result<T, AdapterError> {
        retry(&self.retry, path, || async {
            let answer = http.get(path).await?;
            self.outcome(http, path, answer)
        })
        .await
    }

    async fn post<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, AdapterError> {
        self.post_on(&self.http, path, body).await
    }

    async fn post_on<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        http: &Http,
        path: &str,
        body: &B,
    ) -> Result<T, AdapterError> {
        retry(&self.retry, path, || async {
            let answer = http.post(path, body).await?;
            self.outcome(http, path, answer)
        })
        .await
    }

    fn invalid(&self, endpoint: &str, reason: String) -> AdapterError {
        AdapterError::InvalidResponse {
            chain: self.chain_id.to_string(),
            endpoint: endpoint.to_owned(),
            reason,
        }
    }

    fn check_block(&self, endpoint: &str, block: &LightBlock) -> Result<(), AdapterError> {
        let chain = &block.header().chain_id;
        if chain != &self.chain_id {
            return Err(self.invalid(endpoint, format!("light block of chain {chain}")));
        }
        Ok(())
    }

    /// One page of `endpoint` (`/outbox` or `/receipts`) over `from..=to`, starting at
    /// `cursor` (at or after `from`). Checks that every item lies in the range at or after
    /// the cursor, in strictly increasing (height, index) order, and that a `next` cursor
    /// comes after the page's last item.
    pub async fn page<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        cursor: Cursor,
        to: Height,
        position: impl Fn(&T) -> Cursor,
    ) -> Result<Page<T>, AdapterError> {
        check_range(self.chain_id.as_str(), cursor.height, to)?;
        let path = format!(
            "{endpoint}?from={}&to={to}&index={}",
            cursor.height, cursor.index
        );
        let page: Page<T> = self.get(&path).await?;
        let mut last: Option<Cursor> = None;
        for item in &page.items {
            let at = position(item);
            if at < cursor || at.height > to || last.is_some_and(|l| at <= l) {
                return Err(self.invalid(
                    &path,
                    format!(
                        "item at height {} index {} out of place",
                        at.height, at.index
                    ),
                ));
            }
            last = Some(at);
        }
        if let Some(next) = page.next {
            if last.is_none_or(|l| next <= l) || next.height > to {
                return Err(self.invalid(
                    &path,
                    format!(
                        "next cursor height {} index {} makes no progress",
                        next.height, next.index
                    ),
                ));
            }
        }
        Ok(page)
    }

    /// Every item of `endpoint` over `from..=to`, following the pages' cursors.
    async fn all_pages<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        from: Height,
        to: Height,
        position: impl Fn(&T) -> Cursor + Copy,
    ) -> Result<Vec<T>, AdapterError> {
        check_range(self.chain_id.as_str(), from, to)?;
        let mut cursor = Cursor {
            height: from,
            index: 0,
        };
        let mut items = Vec::new();
        loop {
            let page = self.page(endpoint, cursor, to, position).await?;
            items.extend(page.items);
            match page.next {
                Some(next) => cursor = next,
                None => return Ok(items),
            }
        }
    }

    /// Submits a trader's signed message to the outbox.
    pub async fn submit_message(
        &self,
        message: &SignedMessage,
    ) -> Result<TxAccepted, AdapterError> {
        self.post("/tx", message).await
    }

    /// Where the outbox put the message with `id`.
    pub async fn message_location(&self, id: Hash32) -> Result<MessageLocation, AdapterError> {
        self.get(&format!("/tx/{id}")).await
    }

    /// The conflicting block the fork fault signed at `height`.
    pub async fn conflicting_block(&self, height: Height) -> Result<LightBlock, AdapterError> {
        let path = format!("/blocks/{height}/conflicting");
        let block: LightBlock = self.get(&path).await?;
        self.check_block(&path, &block)?;
        Ok(block)
    }

    /// The inbox's light client of `source`.
    pub async fn client_status(&self, source: &ChainId) -> Result<ClientStatus, AdapterError> {
        self.get(&format!("/clients/{source}")).await
    }

    /// One `POST /deliveries/batch` (at most [`MAX_DELIVERY_BATCH`] bundles per request; a
    /// longer slice goes in several, stopping at the first refusal) of bundles of a source
    /// chain of any family: the inbox verifies each with its client of the source chain,
    /// of the family the chain's config names.
    pub async fn submit_any(
        &self,
        bundles: &[InboxBundle],
    ) -> Result<DeliveryBatchAck, AdapterError> {
        const PATH: &str = "/deliveries/batch";
        let mut acks = Vec::with_capacity(bundles.len());
        for chunk in bundles.chunks(MAX_DELIVERY_BATCH) {
            let answer: DeliveryBatchAnswer = match self.post(PATH, &chunk).await {
                Ok(answer) => answer,
                Err(e) if acks.is_empty() => return Err(e),
                Err(e) => {
                    return Ok(DeliveryBatchAck {
                        acks,
                        refused: Some(e),
                    })
                }
            };
            if answer.acks.len() > chunk.len()
                || answer.acks.len() == chunk.len() && answer.refused.is_some()
            {
                return Err(self.invalid(
                    PATH,
                    format!(
                        "{} acknowledgements{} for {} bundles",
                        answer.acks.len(),
                        if answer.refused.is_some() {
                            " and a refusal"
                        } else {
                            ""
                        },
                        chunk.len()
                    ),
                ));
            }
            for (ack, bundle) in answer.acks.iter().zip(chunk) {
                let body = &bundle.message.message.body;
                if ack.source_chain != body.source_chain
                    || ack.channel != body.channel
                    || ack.sequence != bundle.message.sequence
                {
                    return Err(self.invalid(
                        PATH,
                        format!(
                            "acknowledgement of {} channel {} sequence {} for the bundle of \
                             sequence {}",
                            ack.source_chain, ack.channel, ack.sequence, bundle.message.sequence
                        ),
                    ));
                }
            }
            acks.extend(answer.acks);
            if let Some(problem) = answer.refused {
                let status = problem.status;
                return Ok(DeliveryBatchAck {
                    acks,
                    refused: Some(self.problem_error(PATH, status, problem)),
                });
            }
        }
        Ok(DeliveryBatchAck {
            acks,
            refused: None,
        })
    }

    /// The node's own status (produced and published heights, faults), from the admin RPC.
    pub async fn node_status(&self) -> Result<NodeStatus, AdapterError> {
        self.get_on(self.admin()?, "/admin/status").await
    }

    /// Sets the fault modes, through the admin RPC.
    pub async fn set_faults(&self, faults: &FaultState) -> Result<NodeStatus, AdapterError> {
        self.post_on(self.admin()?, "/admin/faults", faults).await
    }
}

#[async_trait]
impl ChainAdapter for DevnetAdapter {
    type Family = NativeVerifier;

    fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    async fn status(&self) -> Result<ChainStatus, AdapterError> {
        let status: ChainStatus = self.get("/status").await?;
        if status.chain_id != self.chain_id {
            return Err(self.invalid("/status", format!("status of chain {}", status.chain_id)));
        }
        Ok(status)
    }

    async fn light_block(&self, height: Height) -> Result<LightBlock, AdapterError> {
        let path = format!("/blocks/{height}");
        let block: LightBlock = self.get(&path).await?;
        self.check_block(&path, &block)?;
        if block.height() != height {
            return Err(self.invalid(&path, format!("block at height {}", block.height())));
        }
        Ok(block)
    }

    async fn latest_light_block(&self) -> Result<LightBlock, AdapterError> {
        let block: LightBlock = self.get("/blocks/latest").await?;
        self.check_block("/blocks/latest", &block)?;
        Ok(block)
    }

    async fn outbound_messages(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<OutboundMessage>, AdapterError> {
        self.all_pages("/outbox", from, to, |m: &OutboundMessage| Cursor {
            height: m.height,
            index: m.proof.index,
        })
        .await
    }

    async fn outbound_page(
        &self,
        cursor: Cursor,
        to: Height,
    ) -> Result<Page<OutboundMessage>, AdapterError> {
        self.page("/outbox", cursor, to, |m: &OutboundMessage| Cursor {
            height: m.height,
            index: m.proof.index,
        })
        .await
    }

    async fn receipts_page(
        &self,
        cursor: Cursor,
        to: Height,
    ) -> Result<Page<ReceiptProof>, AdapterError> {
        self.page("/receipts", cursor, to, |r: &ReceiptProof| Cursor {
            height: r.height,
            index: r.proof.index,
        })
        .await
    }

    async fn submit_delivery(&self, bundle: &ProofBundle) -> Result<DeliveryAck, AdapterError> {
        self.post("/deliveries", &bundle_into_any(bundle.clone()))
            .await
    }

    /// [`DevnetAdapter::submit_any`] of native bundles.
    async fn submit_deliveries(
        &self,
        bundles: &[ProofBundle],
    ) -> Result<DeliveryBatchAck, AdapterError> {
        let any: Vec<InboxBundle> = bundles.iter().cloned().map(bundle_into_any).collect();
        self.submit_any(&any).await
    }

    async fn receipts(&self, from: Height, to: Height) -> Result<Vec<ReceiptProof>, AdapterError> {
        self.all_pages("/receipts", from, to, |r: &ReceiptProof| Cursor {
            height: r.height,
            index: r.proof.index,
        })
        .await
    }
}
