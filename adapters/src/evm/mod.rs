//! [`EvmAdapter`]: a client of an EVM chain's JSON-RPC endpoint, for a chain whose corridor
//! contracts ([`CorridorContracts`], `adapters/evm-contracts/Corridor.sol`) are deployed.
//!
//! - headers: `eth_blockNumber`, `eth_getBlockByNumber` (parsed by the light client, whose
//!   Keccak-256 of the header must equal the block's `hash`, at the number asked for);
//! - outbound messages: `eth_getLogs` finds the blocks where the outbox emitted
//!   `CorridorMessage`; for each, `eth_getBlockReceipts` (or `eth_getTransactionReceipt`
//!   per transaction where that method is missing) gives every receipt of the block. The
//!   adapter rebuilds the receipts trie ([`trie`], with `alloy-trie`) and holds its root
//!   against the header's `receiptsRoot`: an endpoint whose receipts do not match is an
//!   [`AdapterError::InvalidResponse`] naming the block. It returns each message with the
//!   receipt's Merkle-Patricia proof and the log's index ([`EvmOutbound`]), which the light
//!   client proves (receipt, then log) in [`corridor_light_client::bundle::verify_bundle`];
//! - receipts of deliveries: the same for the inbox's `CorridorReceipt` logs
//!   ([`EvmAdapter::inbox_receipts`]);
//! - deliveries: a signed legacy (EIP-155) transaction calling the inbox's `deliver` with
//!   the k-of-n relay attestations in its call data ([`EvmAdapter::deliver`],
//!   `eth_sendRawTransaction`), simulated first with `eth_call` so a refusal comes back
//!   with the contract's reason and costs no gas.
//!
//! ## Trust
//! Headers of these chains are trusted through k-of-n operator attestations
//! ([`WeakTrustAttestationQuorum`], a WEAKER trust model than a light client). The
//! attestations come from the operators, not from the chain: [`ChainAdapter::light_block`]
//! returns the block with the configured quorum and no attestation, and the caller adds
//! those it collected before its light client verifies the block. Clique chains are
//! verified by the light client from their seals; this adapter does not build Clique
//! snapshots yet ([`EvmAdapter::header`] serves their headers).
//!
//! ## The trait
//! [`ChainAdapter::outbound_messages`] and [`ChainAdapter::receipts`] are
//! [`EvmAdapter::outbound`] and [`EvmAdapter::inbox_receipts`] (each range's items in one
//! page). [`ChainAdapter::submit_delivery`] answers [`AdapterError::Unsupported`]: an EVM
//! inbox does not run a light client of the source chain, it takes k-of-n relay
//! attestations, which the trait's bundle does not carry ([`EvmAdapter::deliver`]).
//!
//! Every read is retried under the adapter's [`RetryPolicy`] when transient; a transaction
//! is sent once. Every answer is bounded by [`crate::MAX_RESPONSE_BYTES`].
//!
//! ## Cancellation
//! The reads are cancel-safe (no effect on the chain). A dropped [`EvmAdapter::send`],
//! [`EvmAdapter::transact`], [`EvmAdapter::deliver`] or [`EvmAdapter::publish`] may or may
//! not have sent its transaction; delivering the same message again is safe (the inbox
//! answers a replay with `duplicate`), publishing it again is refused (`key-used`).

pub mod devchain;
pub mod home;
pub mod terms;
pub mod trie;
pub mod tx;

mod rpc;

use core::time::Duration;
use std::collections::BTreeSet;

use async_trait::async_trait;
use corridor_light_client::bundle::{message_key, ProofBundle};
use corridor_light_client::envelope::TradeMessage;
use corridor_light_client::evm::family::{abi_bytes, event_topic, MAX_EVM_LEAF_BYTES};
use corridor_light_client::evm::{
    keccak256, Address, CorridorContracts, EvmBlock, EvmFamily, EvmLogProof, Header, Receipt,
    ReceiptProof as EvmReceiptProof, WeakTrustAttestationQuorum,
};
use corridor_light_client::family::CommitmentRoot;
use corridor_light_client::hash::{TAG_MESSAGE, TAG_RECEIPT};
use corridor_light_client::receipt::{receipt_key, Receipt as CorridorReceipt, ReceiptResult};
use corridor_light_client::{codec, ChainId, Hash32, Height, Time};
use serde_json::{json, Value as Json};

use crate::adapter::{check_range, ChainAdapter, ReceiptOf};
use crate::error::AdapterError;
use crate::http::Http;
use crate::retry::RetryPolicy;
use crate::types::{ChainStatus, DeliveryAck, OutboundMessage};
pub use home::EvmHome;
use rpc::Rpc;
pub use trie::ReceiptsTrie;
pub use tx::{sign_digest, LegacyTx, Sender, Token};

/// Domain tag of the inbox's delivery digest (the contract's `DELIVERY_TAG`).
pub const DELIVERY_TAG: &[u8] = b"corridor/evm-inbox-delivery/v1";
/// The inbox's delivery function.
pub const DELIVER_SIGNATURE: &str = "deliver(bytes,uint32,uint64,bytes32,bytes,bytes[])";
/// The outbox's publishing function.
pub const PUBLISH_SIGNATURE: &str = "publish(bytes,bytes)";
/// Most transactions of one block whose receipts the adapter reads.
pub const MAX_BLOCK_TRANSACTIONS: usize = 16_384;
/// How long [`EvmAdapter::deliver`] and [`EvmAdapter::transact`] wait for a transaction to
/// be mined, by default.
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);

/// An outbound trade message of an EVM chain with its proof: the receipt of the
/// transaction that published it, against the receipts root of the block at `height`, and
/// the log's index in that receipt.
pub type EvmOutbound = OutboundMessage<EvmLogProof>;

/// A mined transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxOutcome {
    /// The transaction's hash.
    pub hash: Hash32,
    /// The block that includes it.
    pub height: Height,
    /// Its index in that block.
    pub index: u64,
    /// The contract it created, if any.
    pub contract_address: Option<Address>,
}

/// A delivery taken in by the inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmDelivery {
    /// What the receipt carries.
    pub ack: DeliveryAck,
    /// The receipt, whose leaf the inbox emitted.
    pub receipt: CorridorReceipt,
    /// The delivering transaction.
    pub tx: TxOutcome,
}

/// The digest each relay signs to attest a delivery of the message with `commitment`
/// (receipt `receipt`) to the inbox at `inbox` on the chain with EIP-155 id `evm_chain_id`:
/// `keccak256(DELIVERY_TAG || chainid (32 bytes) || inbox || keccak256(receipt key) ||
/// commitment || keccak256(receipt leaf))`, as the contract's `deliveryDigest`.
pub fn delivery_digest(
    evm_chain_id: u64,
    inbox: &Address,
    receipt: &CorridorReceipt,
) -> Result<Hash32, codec::CodecError> {
    let leaf = receipt.leaf()?;
    let mut msg = DELIVERY_TAG.to_vec();
    msg.extend_from_slice(&[0u8; 24]);
    msg.extend_from_slice(&evm_chain_id.to_be_bytes());
    msg.extend_from_slice(&inbox.0);
    msg.extend_from_slice(&keccak256(&receipt_key(receipt)).0);
    msg.extend_from_slice(&receipt.message_commitment.0);
    msg.extend_from_slice(&keccak256(&leaf).0);
    Ok(keccak256(&msg))
}

/// A client of one EVM chain's JSON-RPC endpoint.
#[derive(Clone, Debug)]
pub struct EvmAdapter {
    chain_id: ChainId,
    rpc: Rpc,
    contracts: CorridorContracts,
    quorum: WeakTrustAttestationQuorum,
    sender: Option<Sender>,
    confirm_timeout: Duration,
}

/// A block's header and its transactions' hashes, as the endpoint gave them.
struct Block {
    header: Header,
    transactions: Vec<Hash32>,
}

/// A corridor log found in a block, with its proof.
struct FoundLog {
    key_hash: Hash32,
    leaf: Vec<u8>,
    proof: EvmLogProof,
}

impl EvmAdapter {
    /// A client of the chain `chain_id` (corridor's name for it) at `url`, whose headers are
    /// attested by `quorum` (its chain id is the chain's EIP-155 id) and whose corridor
    /// contracts are `contracts`.
    pub fn new(
        chain_id: ChainId,
        url: &str,
        contracts: CorridorContracts,
        quorum: WeakTrustAttestationQuorum,
    ) -> Result<Self, AdapterError> {
        Ok(Self {
            rpc: Rpc::new(Http::new(chain_id.as_str(), url)?, RetryPolicy::default()),
            chain_id,
            contracts,
            quorum,
            sender: None,
            confirm_timeout: DEFAULT_CONFIRM_TIMEOUT,
        })
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.rpc.set_retry(retry);
        self
    }

    /// The same client, sending transactions (deliveries) from `sender`.
    pub fn with_sender(mut self, sender: Sender) -> Self {
        self.sender = Some(sender);
        self
    }

    /// The same client, waiting at most `timeout` for a transaction to be mined.
    pub fn with_confirm_timeout(mut self, timeout: Duration) -> Self {
        self.confirm_timeout = timeout;
        self
    }

    /// The same client with other contract addresses (after deploying them).
    pub fn with_contracts(mut self, contracts: CorridorContracts) -> Self {
        self.contracts = contracts;
        self
    }

    /// The chain's corridor contracts.
    pub fn contracts(&self) -> CorridorContracts {
        self.contracts
    }

    /// The chain's EIP-155 id (the quorum's).
    pub fn evm_chain_id(&self) -> u64 {
        self.quorum.chain_id()
    }

    fn invalid(&self, endpoint: &str, reason: impl Into<String>) -> AdapterError {
        self.rpc.invalid(endpoint, reason)
    }

    /// Calls any JSON-RPC method (with retries of transient failures) and returns its
    /// `result`: for operations the adapter has no method for (a test chain's `evm_mine`).
    pub async fn request(&self, method: &str, params: Json) -> Result<Json, AdapterError> {
        self.rpc.call(method, params).await
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<Height, AdapterError> {
        let r = self.rpc.call("eth_blockNumber", json!([])).await?;
        r.as_str()
            .and_then(rpc::parse_u64)
            .map(Height)
            .ok_or_else(|| self.invalid("eth_blockNumber", format!("not a quantity: {r}")))
    }

    /// The block at `number` (the latest when `None`); errors name it by its number.
    async fn block(&self, number: Option<u64>) -> Result<Block, AdapterError> {
        const METHOD: &str = "eth_getBlockByNumber";
        let (param, tag) = match number {
            Some(n) => (rpc::quantity(n), n.to_string()),
            None => ("latest".to_owned(), "latest".to_owned()),
        };
        let r = self.rpc.call(METHOD, json!([param, false])).await?;
        if r.is_null() {
            return Err(AdapterError::NotFound {
                chain: self.chain_id.to_string(),
                what: format!("block {tag}"),
            });
        }
        let header =
            Header::from_json(&r).map_err(|e| self.invalid(METHOD, format!("block {tag}: {e}")))?;
        let claimed = rpc::bytes_field(&r, "hash")
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(Hash32)
            .ok_or_else(|| self.invalid(METHOD, format!("block {tag}: no 32-byte hash")))?;
        header
            .check_hash(&claimed)
            .map_err(|e| self.invalid(METHOD, format!("block {}: {e}", header.number)))?;
        let txs = r
            .get("transactions")
            .and_then(Json::as_array)
            .ok_or_else(|| self.invalid(METHOD, format!("block {tag}: no transactions")))?;
        if txs.len() > MAX_BLOCK_TRANSACTIONS {
            return Err(self.invalid(METHOD, format!("block {tag}: {} transactions", txs.len())));
        }
        let transactions = txs
            .iter()
            .map(|t| {
                t.as_str()
                    .and_then(|s| Hash32::from_hex(s.trim_start_matches("0x")).ok())
                    .ok_or_else(|| {
                        self.invalid(METHOD, format!("block {tag}: bad transaction hash"))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Block {
            header,
            transactions,
        })
    }

    /// The header at `height`, checked to hash to the block's hash and to be at `height`.
    pub async fn header(&self, height: Height) -> Result<Header, AdapterError> {
        let block = self.block(Some(height.0)).await?;
        if block.header.number != height.0 {
            return Err(self.invalid(
                "eth_getBlockByNumber",
                format!(
                    "asked for block {height}, got block {}",
                    block.header.number
                ),
            ));
        }
        Ok(block.header)
    }

    fn attested_block(&self, header: Header) -> EvmBlock {
        EvmBlock::attested_root(
            self.chain_id.clone(),
            self.contracts,
            self.quorum.clone(),
            header,
            Vec::new(),
        )
    }

    /// Every receipt of `block`, as trie values in transaction order, checked against the
    /// header's receipts root.
    async fn block_receipts(&self, block: &Block) -> Result<Vec<Receipt>, AdapterError> {
        let number = block.header.number;
        let params = json!([rpc::quantity(number)]);
        let jsons: Vec<Json> = match self.rpc.call("eth_getBlockReceipts", params).await {
            Ok(Json::Array(list)) => list,
            Ok(other) => {
                return Err(self.invalid(
                    "eth_getBlockReceipts",
                    format!("block {number}: not a list of receipts: {}", short(&other)),
                ))
            }
            // Method not found: ask for each transaction's receipt.
            Err(AdapterError::Rejected { problem, .. }) if problem == "jsonrpc-32601" => {
                let mut list = Vec::with_capacity(block.transactions.len());
                for hash in &block.transactions {
                    let r = self
                        .rpc
                        .call("eth_getTransactionReceipt", json!([rpc::data(&hash.0)]))
                        .await?;
                    list.push(r);
                }
                list
            }
            Err(e) => return Err(e),
        };
        if jsons.len() != block.transactions.len() {
            return Err(self.invalid(
                "eth_getBlockReceipts",
                format!(
                    "block {number}: {} receipts for {} transactions",
                    jsons.len(),
                    block.transactions.len()
                ),
            ));
        }
        let mut receipts = Vec::with_capacity(jsons.len());
        for (i, j) in jsons.iter().enumerate() {
            let index = rpc::u64_field(j, "transactionIndex").map_err(|e| {
                self.invalid("eth_getBlockReceipts", format!("block {number}: {e}"))
            })?;
            if index != i as u64 {
                return Err(self.invalid(
                    "eth_getBlockReceipts",
                    format!("block {number}: receipt {i} has transaction index {index}"),
                ));
            }
            receipts.push(Receipt::from_json(j).map_err(|e| {
                self.invalid(
                    "eth_getBlockReceipts",
                    format!("block {number}, receipt {i}: {e}"),
                )
            })?);
        }
        Ok(receipts)
    }

    /// The corridor logs of `root`'s contract in block `height`, each with its proof. The
    /// receipts must rebuild the header's receipts root.
    async fn block_logs(
        &self,
        height: Height,
        root: CommitmentRoot,
    ) -> Result<(Header, Vec<FoundLog>), AdapterError> {
        let block = self.block(Some(height.0)).await?;
        if block.header.number != height.0 {
            return Err(self.invalid(
                "eth_getBlockByNumber",
                format!(
                    "asked for block {height}, got block {}",
                    block.header.number
                ),
            ));
        }
        let receipts = self.block_receipts(&block).await?;
        let emitter = self.contracts.emitter(root);
        let topic = event_topic(root);
        let mut wanted = Vec::new();
        for (i, r) in receipts.iter().enumerate() {
            if r.succeeded() == Some(false) {
                continue;
            }
            for (j, log) in r.logs.iter().enumerate() {
                if log.address == emitter && log.topics.first() == Some(&topic) {
                    wanted.push((i as u64, j as u64));
                }
            }
        }
        let targets: Vec<u64> = wanted
            .iter()
            .map(|(i, _)| *i)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let encoded: Vec<Vec<u8>> = receipts.iter().map(Receipt::encode).collect();
        let trie = ReceiptsTrie::build(&encoded, &targets);
        if trie.root() != block.header.receipts_root {
            return Err(self.invalid(
                "eth_getBlockReceipts",
                format!(
                    "block {height}: the receipts rebuild root {}, the header's receiptsRoot is {}",
                    trie.root(),
                    block.header.receipts_root
                ),
            ));
        }
        let mut found = Vec::with_capacity(wanted.len());
        for (i, j) in wanted {
            let log = receipts
                .get(i as usize)
                .and_then(|r| r.logs.get(j as usize))
                .ok_or_else(|| self.invalid("eth_getBlockReceipts", "log vanished"))?;
            let (Some(key_hash), Some(leaf)) = (log.topics.get(1), abi_bytes_decode(&log.data))
            else {
                tracing::warn!(chain = %self.chain_id, height = height.0, tx = i, log = j,
                    "corridor event that is not the canonical shape, skipped");
                continue;
            };
            let nodes = trie.proof(i).map(<[Vec<u8>]>::to_vec).unwrap_or_default();
            found.push(FoundLog {
                key_hash: *key_hash,
                leaf,
                proof: EvmLogProof {
                    receipt: EvmReceiptProof { index: i, nodes },
                    log_index: j,
                },
            });
        }
        Ok((block.header, found))
    }

    /// The heights in `from..=to` where `root`'s contract emitted its event, by
    /// `eth_getLogs` (a hint: every block it names is then read and proven in full).
    async fn heights_with_logs(
        &self,
        from: Height,
        to: Height,
        root: CommitmentRoot,
    ) -> Result<BTreeSet<u64>, AdapterError> {
        check_range(self.chain_id.as_str(), from, to)?;
        let filter = json!([{
            "fromBlock": rpc::quantity(from.0),
            "toBlock": rpc::quantity(to.0),
            "address": self.contracts.emitter(root).to_string(),
            "topics": [rpc::data(&event_topic(root).0)],
        }]);
        let logs = self.rpc.call("eth_getLogs", filter).await?;
        let logs = logs
            .as_array()
            .ok_or_else(|| self.invalid("eth_getLogs", "not a list"))?;
        let mut heights = BTreeSet::new();
        for l in logs {
            let h = rpc::u64_field(l, "blockNumber").map_err(|e| self.invalid("eth_getLogs", e))?;
            if h < from.0 || h > to.0 {
                return Err(self.invalid(
                    "eth_getLogs",
                    format!("log of block {h}, outside the range"),
                ));
            }
            heights.insert(h);
        }
        Ok(heights)
    }

    /// The receipt the inbox emitted for `key` (a receipt key: source chain, channel,
    /// sequence), if any, read from the endpoint's logs (unverified: what a relay shows as
    /// the acknowledgement of a replayed delivery, before the watcher proves the receipt).
    pub async fn inbox_receipt_of(
        &self,
        key: &[u8],
    ) -> Result<Option<CorridorReceipt>, AdapterError> {
        const METHOD: &str = "eth_getLogs";
        let filter = json!([{
            "fromBlock": "earliest",
            "toBlock": "latest",
            "address": self.contracts.inbox.to_string(),
            "topics": [
                rpc::data(&event_topic(CommitmentRoot::Receipts).0),
                rpc::data(&keccak256(key).0),
            ],
        }]);
        let logs = self.rpc.call(METHOD, filter).await?;
        let logs = logs
            .as_array()
            .ok_or_else(|| self.invalid(METHOD, "not a list"))?;
        for l in logs {
            let data = rpc::bytes_field(l, "data").map_err(|e| self.invalid(METHOD, e))?;
            let receipt = abi_bytes_decode(&data)
                .and_then(|leaf| {
                    leaf.strip_prefix(TAG_RECEIPT)
                        .and_then(|body| codec::decode::<CorridorReceipt>("receipt", body).ok())
                })
                .filter(|r| receipt_key(r) == key);
            if receipt.is_some() {
                return Ok(receipt);
            }
        }
        Ok(None)
    }

    /// Outbound trade messages published in blocks `from..=to` (at most
    /// [`crate::adapter::MAX_RANGE`] heights), each with its receipt proof and log index, in
    /// (height, transaction, log) order. A log whose leaf is not a trade message or whose
    /// key is not the message's is skipped with a warning (the light client would refuse
    /// it).
    pub async fn outbound(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<EvmOutbound>, AdapterError> {
        let mut out = Vec::new();
        for h in self
            .heights_with_logs(from, to, CommitmentRoot::Messages)
            .await?
        {
            let (_, logs) = self.block_logs(Height(h), CommitmentRoot::Messages).await?;
            for log in logs {
                let message = log
                    .leaf
                    .strip_prefix(TAG_MESSAGE)
                    .and_then(|body| TradeMessage::decode(body).ok());
                match message {
                    Some(m) if keccak256(&message_key(&m)) == log.key_hash => {
                        out.push(EvmOutbound {
                            height: Height(h),
                            message: m,
                            proof: log.proof,
                        });
                    }
                    _ => tracing::warn!(chain = %self.chain_id, height = h,
                        "outbox log that is not a trade message under its key, skipped"),
                }
            }
        }
        Ok(out)
    }

    /// Receipts the inbox emitted in blocks `from..=to` (at most
    /// [`crate::adapter::MAX_RANGE`] heights), each with its receipt proof and log index.
    pub async fn inbox_receipts(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<corridor_light_client::receipt::ReceiptProof<EvmFamily>>, AdapterError> {
        let mut out = Vec::new();
        for h in self
            .heights_with_logs(from, to, CommitmentRoot::Receipts)
            .await?
        {
            let (_, logs) = self.block_logs(Height(h), CommitmentRoot::Receipts).await?;
            for log in logs {
                let receipt = log
                    .leaf
                    .strip_prefix(TAG_RECEIPT)
                    .and_then(|body| codec::decode::<CorridorReceipt>("receipt", body).ok());
                match receipt {
                    Some(r) if keccak256(&receipt_key(&r)) == log.key_hash => {
                        out.push(corridor_light_client::receipt::ReceiptProof {
                            height: Height(h),
                            receipt: r,
                            proof: log.proof,
                        });
                    }
                    _ => tracing::warn!(chain = %self.chain_id, height = h,
                        "inbox log that is not a receipt under its key, skipped"),
                }
            }
        }
        Ok(out)
    }

    /// The attestation quorum its headers are trusted through.
    pub fn quorum(&self) -> &WeakTrustAttestationQuorum {
        &self.quorum
    }

    /// The sending account, or why `operation` cannot run without one.
    pub fn sender(&self, operation: &'static str) -> Result<&Sender, AdapterError> {
        self.sender.as_ref().ok_or(AdapterError::Unsupported {
            chain: self.chain_id.to_string(),
            family: "evm",
            operation,
            reason: "no sending account is configured",
        })
    }

    /// Simulates the call (`eth_call`) and estimates its gas: a refusal comes back as
    /// [`AdapterError::Rejected`] with problem `reverted` and the contract's reason.
    async fn simulate(
        &self,
        from: &Address,
        to: Option<&Address>,
        data: &[u8],
    ) -> Result<u64, AdapterError> {
        let mut call = json!({"from": from.to_string(), "data": rpc::data(data)});
        if let Some(to) = to {
            call["to"] = json!(to.to_string());
            self.rpc
                .call("eth_call", json!([call.clone(), "latest"]))
                .await?;
        }
        let gas = self.rpc.call("eth_estimateGas", json!([call])).await?;
        gas.as_str()
            .and_then(rpc::parse_u64)
            .ok_or_else(|| self.invalid("eth_estimateGas", format!("not a quantity: {gas}")))
    }

    /// Signs and sends a transaction from the configured sender without waiting for it
    /// (after simulating it); returns its hash. Not retried: a transaction is sent once.
    pub async fn send(&self, to: Option<&Address>, data: &[u8]) -> Result<Hash32, AdapterError> {
        let sender = self.sender("send")?;
        let gas = self.simulate(&sender.address(), to, data).await?;
        let nonce = self
            .rpc
            .call(
                "eth_getTransactionCount",
                json!([sender.address().to_string(), "pending"]),
            )
            .await?;
        let nonce = nonce
            .as_str()
            .and_then(rpc::parse_u64)
            .ok_or_else(|| self.invalid("eth_getTransactionCount", "not a quantity"))?;
        let price = self.rpc.call("eth_gasPrice", json!([])).await?;
        let gas_price = price
            .as_str()
            .and_then(|s| s.strip_prefix("0x"))
            .map(|d| {
                if d.len() % 2 == 1 {
                    format!("0{d}")
                } else {
                    d.to_owned()
                }
            })
            .and_then(|d| hex::decode(d).ok())
            .filter(|b| b.len() <= 32)
            .ok_or_else(|| self.invalid("eth_gasPrice", "not a quantity"))?;
        let tx = LegacyTx {
            nonce,
            gas_price,
            // A margin over the estimate: the state may move between estimate and mining.
            gas: gas.saturating_add(gas / 4),
            to: to.copied(),
            data: data.to_vec(),
        };
        let (raw, hash) = sender.sign(&tx);
        let answer = self
            .rpc
            .call_once("eth_sendRawTransaction", json!([rpc::data(&raw)]))
            .await?;
        let echoed = answer
            .as_str()
            .and_then(|s| Hash32::from_hex(s.trim_start_matches("0x")).ok());
        if echoed != Some(hash) {
            return Err(self.invalid(
                "eth_sendRawTransaction",
                format!("answered {answer}, the hash is {hash}"),
            ));
        }
        Ok(hash)
    }

    /// Waits (polling, at most the confirm timeout) until the transaction `hash` is mined
    /// and succeeded.
    pub async fn confirm(&self, hash: &Hash32) -> Result<TxOutcome, AdapterError> {
        let deadline = tokio::time::Instant::now() + self.confirm_timeout;
        loop {
            let r = self
                .rpc
                .call("eth_getTransactionReceipt", json!([rpc::data(&hash.0)]))
                .await?;
            if !r.is_null() {
                let bad = |e: String| self.invalid("eth_getTransactionReceipt", e);
                let status = rpc::u64_field(&r, "status").map_err(bad)?;
                if status != 1 {
                    return Err(AdapterError::Rejected {
                        chain: self.chain_id.to_string(),
                        problem: "reverted".into(),
                        status: 200,
                        detail: format!("transaction {hash} failed when mined"),
                    });
                }
                let contract_address = match r.get("contractAddress").and_then(Json::as_str) {
                    Some(a) => Some(Address::from_hex(a).map_err(|e| bad(e.to_string()))?),
                    None => None,
                };
                return Ok(TxOutcome {
                    hash: *hash,
                    height: Height(rpc::u64_field(&r, "blockNumber").map_err(bad)?),
                    index: rpc::u64_field(&r, "transactionIndex").map_err(bad)?,
                    contract_address,
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(AdapterError::Unreachable {
                    chain: self.chain_id.to_string(),
                    endpoint: "eth_getTransactionReceipt".into(),
                    reason: format!(
                        "transaction {hash} not mined within {:?}",
                        self.confirm_timeout
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends a transaction and waits until it is mined ([`EvmAdapter::send`],
    /// [`EvmAdapter::confirm`]).
    pub async fn transact(
        &self,
        to: Option<&Address>,
        data: &[u8],
    ) -> Result<TxOutcome, AdapterError> {
        let hash = self.send(to, data).await?;
        self.confirm(&hash).await
    }

    /// Delivers `message` to the inbox with `signatures`: the relays' attestations of
    /// [`delivery_digest`] (65 bytes each, ordered by signer address). A refusal by the
    /// contract is [`AdapterError::Rejected`] with the contract's reason as its problem
    /// (`duplicate` for a replayed (source chain, channel, sequence), else `unknown-signer`,
    /// `below-threshold`, ...), found by simulating the call before sending it.
    pub async fn deliver(
        &self,
        message: &TradeMessage,
        signatures: &[[u8; 65]],
    ) -> Result<EvmDelivery, AdapterError> {
        let receipt = self.delivered_receipt(message)?;
        self.deliver_receipt(receipt, signatures).await
    }

    /// Delivers the message of `receipt` (its commitment and result, as the relays decided
    /// and attested them: delivered, expired or rejected) to the inbox with `signatures`
    /// over its [`delivery_digest`]; as [`EvmAdapter::deliver`] otherwise.
    pub async fn deliver_receipt(
        &self,
        receipt: CorridorReceipt,
        signatures: &[[u8; 65]],
    ) -> Result<EvmDelivery, AdapterError> {
        let leaf = receipt
            .leaf()
            .map_err(|e| self.invalid("deliver", format!("receipt encoding: {e}")))?;
        let data = tx::call_data(
            DELIVER_SIGNATURE,
            &[
                Token::Bytes(receipt.source_chain.as_str().as_bytes().to_vec()),
                Token::uint(u64::from(receipt.channel)),
                Token::uint(receipt.sequence),
                Token::Word(receipt.message_commitment.0),
                Token::Bytes(leaf),
                Token::BytesArray(signatures.iter().map(|s| s.to_vec()).collect()),
            ],
        );
        let inbox = self.contracts.inbox;
        let tx = self
            .transact(Some(&inbox), &data)
            .await
            .map_err(|e| match e {
                AdapterError::Rejected {
                    chain,
                    problem,
                    detail,
                    ..
                } if problem == "reverted" => {
                    let (problem, status) = inbox_problem(&detail);
                    AdapterError::Rejected {
                        chain,
                        problem: problem.to_owned(),
                        status,
                        detail: format!("the inbox refused the delivery: {detail}"),
                    }
                }
                e => e,
            })?;
        Ok(EvmDelivery {
            ack: DeliveryAck {
                source_chain: receipt.source_chain.clone(),
                channel: receipt.channel,
                sequence: receipt.sequence,
                result: receipt.result.clone(),
            },
            receipt,
            tx,
        })
    }

    /// The receipt the inbox emits for `message` (this chain took it in, delivered): what
    /// relays attest with [`delivery_digest`].
    pub fn delivered_receipt(
        &self,
        message: &TradeMessage,
    ) -> Result<CorridorReceipt, AdapterError> {
        self.receipt_for(message, ReceiptResult::Delivered)
    }

    /// The receipt of `message` with `result`, for this chain's inbox.
    pub fn receipt_for(
        &self,
        message: &TradeMessage,
        result: ReceiptResult,
    ) -> Result<CorridorReceipt, AdapterError> {
        let body = &message.message.body;
        if body.destination_chain != self.chain_id {
            return Err(AdapterError::Rejected {
                chain: self.chain_id.to_string(),
                problem: "wrong-destination".into(),
                status: 400,
                detail: format!("the message is for {}", body.destination_chain),
            });
        }
        let commitment = message
            .commitment()
            .map_err(|e| self.invalid("deliver", format!("message encoding: {e}")))?;
        Ok(CorridorReceipt {
            source_chain: body.source_chain.clone(),
            destination_chain: self.chain_id.clone(),
            channel: body.channel,
            sequence: message.sequence,
            message_commitment: commitment,
            result,
        })
    }

    /// Publishes `message` on the outbox (the configured sender must be the outbox's
    /// publisher) and waits until it is mined.
    pub async fn publish(&self, message: &TradeMessage) -> Result<TxOutcome, AdapterError> {
        let hash = self.send_publish(message).await?;
        self.confirm(&hash).await
    }

    /// Publishes `message` on the outbox without waiting for it to be mined.
    pub async fn send_publish(&self, message: &TradeMessage) -> Result<Hash32, AdapterError> {
        let leaf = message
            .leaf()
            .map_err(|e| self.invalid("publish", format!("message encoding: {e}")))?;
        if leaf.len() > MAX_EVM_LEAF_BYTES {
            return Err(AdapterError::Rejected {
                chain: self.chain_id.to_string(),
                problem: "too-large".into(),
                status: 413,
                detail: format!("leaf of {} bytes", leaf.len()),
            });
        }
        let data = tx::call_data(
            PUBLISH_SIGNATURE,
            &[Token::Bytes(message_key(message)), Token::Bytes(leaf)],
        );
        let outbox = self.contracts.outbox;
        self.send(Some(&outbox), &data).await
    }

    fn unsupported(&self, operation: &'static str, reason: &'static str) -> AdapterError {
        AdapterError::Unsupported {
            chain: self.chain_id.to_string(),
            family: "evm",
            operation,
            reason,
        }
    }
}

/// The problem name (bounded: a metric label) and HTTP-like status of an inbox revert
/// reason: `duplicate` for a replayed (source chain, channel, sequence), the contract's own
/// name for the attestation checks, `inbox-refused` for anything else.
fn inbox_problem(reason: &str) -> (&'static str, u16) {
    const KNOWN: [&str; 7] = [
        "unknown-signer",
        "signers-not-ascending",
        "below-threshold",
        "too-many-signatures",
        "bad-signature",
        "bad-source-chain",
        "too-large",
    ];
    if reason == "replay" {
        return ("duplicate", 409);
    }
    match KNOWN.iter().find(|k| **k == reason) {
        Some(k) => (k, 422),
        None => ("inbox-refused", 422),
    }
}

/// The `bytes` value of ABI-encoded event data, only if `data` is exactly its canonical
/// encoding (as the light client requires).
fn abi_bytes_decode(data: &[u8]) -> Option<Vec<u8>> {
    let len_word = data.get(32..64)?;
    if len_word.get(..24)?.iter().any(|&b| b != 0) {
        return None;
    }
    let len = usize::try_from(u64::from_be_bytes(len_word.get(24..)?.try_into().ok()?)).ok()?;
    let value = data.get(64..64usize.checked_add(len)?)?.to_vec();
    (abi_bytes(&value) == data).then_some(value)
}

fn short(v: &Json) -> String {
    v.to_string().chars().take(80).collect()
}

#[async_trait]
impl ChainAdapter for EvmAdapter {
    type Family = EvmFamily;

    fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    async fn status(&self) -> Result<ChainStatus, AdapterError> {
        let block = self.block(None).await?;
        let header = block.header;
        Ok(ChainStatus {
            chain_id: self.chain_id.clone(),
            family: "evm".into(),
            latest_height: Height(header.number),
            latest_hash: header.hash(),
            latest_time: Time::from_unix_secs(header.timestamp).ok_or_else(|| {
                self.invalid(
                    "eth_getBlockByNumber",
                    format!("block {}: time out of range", header.number),
                )
            })?,
        })
    }

    /// The block at `height` with the configured quorum and no attestation: see the module
    /// doc.
    async fn light_block(&self, height: Height) -> Result<EvmBlock, AdapterError> {
        Ok(self.attested_block(self.header(height).await?))
    }

    async fn latest_light_block(&self) -> Result<EvmBlock, AdapterError> {
        let block = self.block(None).await?;
        Ok(self.attested_block(block.header))
    }

    async fn outbound_messages(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<EvmOutbound>, AdapterError> {
        self.outbound(from, to).await
    }

    async fn submit_delivery(
        &self,
        _bundle: &ProofBundle<EvmFamily>,
    ) -> Result<DeliveryAck, AdapterError> {
        Err(self.unsupported(
            "submit_delivery",
            "an EVM inbox takes k-of-n relay attestations: use EvmAdapter::deliver",
        ))
    }

    async fn receipts(
        &self,
        from: Height,
        to: Height,
    ) -> Result<Vec<ReceiptOf<Self>>, AdapterError> {
        self.inbox_receipts(from, to).await
    }
}
