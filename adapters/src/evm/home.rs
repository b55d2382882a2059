//! [`EvmHome`]: a relay's driver of its home EVM chain, the chain whose endpoint it reads
//! and whose inbox it delivers to.
//!
//! ## Headers: attested by the relay
//! An EVM chain without a usable seal is trusted through k-of-n operator attestations of
//! its header hashes (the WEAKER trust model, [`corridor_light_client::evm::WeakTrustAttestationQuorum`]). The home
//! relay is such an operator: every light block it reads from its own endpoint leaves
//! [`EvmHome`] with its ed25519 attestation. Its own light client and its partners' clients
//! (whose configs name the relay's key in the chain's quorum) verify the attestation like
//! any other. With a threshold of one, the relay's attestation is the whole quorum; a
//! quorum that needs more than one attestor needs the attestations of other operators,
//! which relays do not exchange yet, so [`EvmHome::new`] refuses such a quorum by name.
//!
//! ## Deliveries: attested by the relay
//! The inbox contract does not run a light client of the source chain: it takes a message
//! that k of its n configured relay keys (secp256k1) attested. The relay's core verified
//! each bundle with its own light client of the source chain before it asks for a delivery;
//! [`EvmHome::deliver_all`] then signs the delivery digest with the relay's secp256k1 key
//! (the one that also pays for the transaction) and calls the inbox. The bundle's proof and
//! light blocks stay with the relay. An inbox whose threshold is above one refuses with
//! `below-threshold`, named in the refusal.
//!
//! The relay decides each receipt's result as a devnet inbox does on its own rules: a
//! message past its deadline is `expired` and one that fails the envelope's checks
//! (payload limit, document checks, signature) `rejected` with its reason; either consumes
//! its sequence without delivering. The deadline is held against the block that will take
//! the transaction: the head's height plus one, and the head's time (the chain's own clock;
//! the block that takes it can be no earlier).
//!
//! A replay (the inbox consumed the message's sequence already) is an acknowledgement:
//! the relay delivered it before (a restart after the transaction, before its
//! acknowledgement was recorded), and the inbox takes a sequence only with the relays'
//! attestation of that very message's commitment.
//!
//! Messages and receipts are read through the [`EvmAdapter`] ([`ChainAdapter`]).

use async_trait::async_trait;
use corridor_light_client::any::AnyFamily;
use corridor_light_client::bundle::ProofBundle;
use corridor_light_client::evm::attest::attestation_digest;
use corridor_light_client::evm::{Attestation, AttestorKey, EvmBlock, EvmFamily, EvmSeal};
use corridor_light_client::receipt::{receipt_key, ReceiptResult, RejectReason};
use corridor_light_client::signature::SigningKey;
use corridor_light_client::{ChainId, Height};

use super::{delivery_digest, EvmAdapter, EvmOutbound};
use crate::adapter::{ChainAdapter, ReceiptOf};
use crate::devnet::{Cursor, Page};
use crate::error::AdapterError;
use crate::types::{ChainStatus, DeliveryAck, DeliveryBatchAck};

/// A relay's home EVM chain: its endpoint, read with the relay's attestation on every
/// header, and its inbox, delivered to with the relay's secp256k1 key. See the module doc.
#[derive(Debug)]
pub struct EvmHome {
    adapter: EvmAdapter,
    attestor: SigningKey,
}

impl EvmHome {
    /// The driver of `adapter`'s chain for the relay whose ed25519 key is `attestor`.
    /// `adapter` must have its sending account (the relay's secp256k1 key,
    /// [`EvmAdapter::with_sender`]) and a quorum of one attestor, the relay's own key.
    pub fn new(adapter: EvmAdapter, attestor: SigningKey) -> Result<Self, AdapterError> {
        let chain = adapter.chain_id().to_string();
        let refuse = |reason: String| AdapterError::Rejected {
            chain: chain.clone(),
            problem: "bad-quorum".into(),
            status: 400,
            detail: reason,
        };
        adapter.sender("deliver")?;
        let quorum = adapter.quorum();
        let own = AttestorKey::Ed25519(attestor.public_key());
        if !quorum.attestors().any(|k| *k == own) {
            return Err(refuse(format!(
                "the chain's attestation quorum does not list this relay's key {}: the relay \
                 attests its home chain's headers",
                hex::encode(attestor.public_key().0)
            )));
        }
        if quorum.threshold() != 1 {
            return Err(refuse(format!(
                "the chain's attestation quorum needs {} of {} attestors; relays do not \
                 exchange header attestations yet, so a home chain's quorum is this relay \
                 alone (threshold 1)",
                quorum.threshold(),
                quorum.attestor_count()
            )));
        }
        Ok(Self { adapter, attestor })
    }

    /// The adapter.
    pub fn adapter(&self) -> &EvmAdapter {
        &self.adapter
    }

    /// `block` with the relay's attestation of its header.
    fn attest(&self, mut block: EvmBlock) -> EvmBlock {
        let digest = attestation_digest(
            self.adapter.evm_chain_id(),
            block.header.number,
            &block.header.hash(),
        );
        if let EvmSeal::Attested { attestations, .. } = &mut block.seal {
            attestations.push(Attestation::Ed25519 {
                key: self.attestor.public_key(),
                signature: self.attestor.sign(&digest.0),
            });
        }
        block
    }

    /// Delivers consecutive messages of one lane to the inbox, in order, each attested by
    /// the relay, and stops at the first refusal (see the module doc). The bundles were
    /// verified by the relay's light client of their source chain.
    pub async fn deliver_all(
        &self,
        bundles: Vec<ProofBundle<AnyFamily>>,
    ) -> Result<DeliveryBatchAck, AdapterError> {
        let inbox = self.adapter.contracts().inbox;
        let sender = self.adapter.sender("deliver")?;
        let head = self.adapter.status().await?;
        let including = head.latest_height.increment().unwrap_or(head.latest_height);
        let limits = corridor_light_client::envelope::Limits::default();
        let mut acks = Vec::with_capacity(bundles.len());
        for bundle in bundles {
            let message = &bundle.message;
            let result = match message.message.validate(&limits) {
                Ok(()) => match message.check_deadline(including, head.latest_time) {
                    Ok(()) => ReceiptResult::Delivered,
                    Err(_) => ReceiptResult::Expired,
                },
                Err(e) => match RejectReason::from_envelope(&e) {
                    Some(reason) => ReceiptResult::Rejected { reason },
                    None => {
                        let e = AdapterError::Rejected {
                            chain: self.adapter.chain_id().to_string(),
                            problem: "invalid-message".into(),
                            status: 400,
                            detail: format!("sequence {}: {e}", message.sequence),
                        };
                        if acks.is_empty() {
                            return Err(e);
                        }
                        return Ok(DeliveryBatchAck {
                            acks,
                            refused: Some(e),
                        });
                    }
                },
            };
            let outcome = match self.adapter.receipt_for(message, result.clone()) {
                Ok(receipt) => {
                    let digest = delivery_digest(self.adapter.evm_chain_id(), &inbox, &receipt)
                        .map_err(|e| AdapterError::InvalidResponse {
                            chain: self.adapter.chain_id().to_string(),
                            endpoint: "deliver".into(),
                            reason: format!("receipt encoding: {e}"),
                        });
                    match digest {
                        Ok(digest) => self
                            .adapter
                            .deliver_receipt(receipt, &[sender.sign_digest(&digest)])
                            .await
                            .map(|d| d.ack),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok(ack) => acks.push(ack),
                Err(AdapterError::Rejected { problem, .. }) if problem == "duplicate" => {
                    // The acknowledgement carries the result the inbox emitted then, not
                    // the one decided now (a deadline may have passed since).
                    let key = receipt_key(&self.adapter.receipt_for(message, result)?);
                    let Some(original) = self.adapter.inbox_receipt_of(&key).await? else {
                        let e = AdapterError::InvalidResponse {
                            chain: self.adapter.chain_id().to_string(),
                            endpoint: "eth_getLogs".into(),
                            reason: format!(
                                "the inbox refused sequence {} as a replay, and emitted no \
                                 receipt of it",
                                message.sequence
                            ),
                        };
                        if acks.is_empty() {
                            return Err(e);
                        }
                        return Ok(DeliveryBatchAck {
                            acks,
                            refused: Some(e),
                        });
                    };
                    acks.push(DeliveryAck {
                        source_chain: original.source_chain,
                        channel: original.channel,
                        sequence: original.sequence,
                        result: original.result,
                    });
                }
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
}

#[async_trait]
impl ChainAdapter for EvmHome {
    type Family = EvmFamily;

    fn chain_id(&self) -> &ChainId {
        self.adapter.chain_id()
    }

    async fn status(&self) -> Result<ChainStatus, AdapterError> {
        self.adapter.status().await
    }

    /// The block at `height` with the relay's attestation.
    async fn light_block(&self, height: Height) -> Result<EvmBlock, AdapterError> {
        Ok(self.attest(self.adapter.light_block(height).await?))
    }

    /// The latest block with the relay's attestation.
    async fn latest_light_block(&self) -> Result<EvmBlock, AdapterError> {
        Ok(self.attest(self.adapter.latest_light_block().await?))
    }

    async fn outbound_messages(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<EvmOutbound>, AdapterError> {
        self.adapter.outbound_messages(from, to).await
    }

    async fn outbound_page(
        &self,
        cursor: Cursor,
        to: Height,
    ) -> Result<Page<EvmOutbound>, AdapterError> {
        self.adapter.outbound_page(cursor, to).await
    }

    async fn receipts_page(
        &self,
        cursor: Cursor,
        to: Height,
    ) -> Result<Page<ReceiptOf<Self>>, AdapterError> {
        self.adapter.receipts_page(cursor, to).await
    }

    /// An EVM inbox takes attested messages of any source family: see
    /// [`EvmHome::deliver_all`].
    async fn submit_delivery(
        &self,
        bundle: &ProofBundle<EvmFamily>,
    ) -> Result<DeliveryAck, AdapterError> {
        let batch = self
            .deliver_all(vec![corridor_light_client::any::bundle_into_any(
                bundle.clone(),
            )])
            .await?;
        match (batch.acks.into_iter().next(), batch.refused) {
            (Some(ack), _) => Ok(ack),
            (None, Some(e)) => Err(e),
            (None, None) => Err(AdapterError::Rejected {
                chain: self.chain_id().to_string(),
                problem: "empty-batch".into(),
                status: 400,
                detail: "no bundle".into(),
            }),
        }
    }

    async fn receipts(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<ReceiptOf<Self>>, AdapterError> {
        self.adapter.receipts(from, to).await
    }
}
