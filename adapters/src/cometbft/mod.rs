//! [`CometBftAdapter`]: a client of a CometBFT node's RPC.
//!
//! - `/status`: the chain id (`node_info.network`) and latest block ([`ChainStatus`]);
//! - `/commit?height=H`: the signed header at `H` (without `height`: the latest);
//! - `/validators?height=H&page=P&per_page=100`: the validator set at `H`, page by page
//!   (bounded by the light client's `MAX_VALIDATORS`);
//! - `/abci_query?path=..&data=0x..&height=H&prove=true`: a value with its proof operations
//!   (ICS-23 `CommitmentProof` bytes), see [`CometBftAdapter::abci_query`].
//!
//! The chain's data in these answers (signed headers, validators, times) is parsed by the
//! light client's parsers ([`corridor_light_client::cometbft::json`]) into its types
//! ([`SignedHeader`], [`ValidatorSet`], [`LightBlock`]), which check its form: every hash
//! 32 bytes, every key ed25519, every validator address the hash of its key, every vote's
//! time a real RFC 3339 time, a commit at its header's height. The adapter itself reads only
//! what belongs to the RPC (`json`: the JSON-RPC envelope, `/status`, paging,
//! `/abci_query`) and checks that an answer is the one asked for (chain, height, page
//! counts). Verifying the data is the light client's job. A refused answer is an
//! [`AdapterError::InvalidResponse`] naming the endpoint and, in the light client's
//! words, the height and field.
//!
//! A CometBFT chain takes part in corridor's message flow only through a corridor module of
//! its application (outbox and inbox keys under the app hash), which does not exist yet;
//! until then the message operations of [`ChainAdapter`] answer
//! [`AdapterError::Unsupported`].

mod json;

use async_trait::async_trait;
use corridor_light_client::bundle::ProofBundle;
use corridor_light_client::cometbft::json as comet_json;
use corridor_light_client::cometbft::{
    CometVerifier, LightBlock, SignedHeader, Validator, ValidatorSet,
};
use corridor_light_client::native::MAX_VALIDATORS;
use corridor_light_client::{ChainId, Hash32, Height};
use serde::de::DeserializeOwned;

use crate::adapter::ChainAdapter;
use crate::adapter::{OutboundOf, ReceiptOf};
use crate::error::AdapterError;
use crate::http::Http;
use crate::retry::{retry, RetryPolicy};
use crate::types::{ChainStatus, DeliveryAck};
use json::{AbciQueryResult, CommitResult, Envelope, StatusResult, ValidatorsResult};

/// Validators asked for per page (CometBFT's maximum).
const PER_PAGE: usize = 100;

/// One proof operation of an ABCI query (for ICS-23 proofs, `data` is a protobuf
/// `CommitmentProof`, which [`corridor_light_client::ics23::decode::commitment_proof`]
/// reads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofOp {
    /// E.g. `ics23:iavl`.
    pub kind: String,
    /// The key proven at this step.
    pub key: Vec<u8>,
    /// The proof bytes.
    pub data: Vec<u8>,
}

/// An ABCI query's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbciQuery {
    /// ABCI result code (0 is success).
    pub code: u32,
    /// The application's log line.
    pub log: String,
    /// Namespace of `code`.
    pub codespace: String,
    /// The key.
    pub key: Vec<u8>,
    /// The value (empty when absent).
    pub value: Vec<u8>,
    /// Height the answer is for: its proof is against the app hash of the header at
    /// `height + 1`.
    pub height: Height,
    /// The proof, outermost last.
    pub proof_ops: Vec<ProofOp>,
}

/// A client of one CometBFT node.
#[derive(Clone, Debug)]
pub struct CometBftAdapter {
    chain_id: ChainId,
    http: Http,
    retry: RetryPolicy,
}

impl CometBftAdapter {
    /// A client of the chain `chain_id` at `base_url` (e.g. `http://127.0.0.1:26657`).
    pub fn new(chain_id: ChainId, base_url: &str) -> Result<Self, AdapterError> {
        Ok(Self {
            http: Http::new(chain_id.as_str(), base_url)?,
            chain_id,
            retry: RetryPolicy::default(),
        })
    }

    /// The same client with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    fn invalid(&self, endpoint: &str, reason: impl Into<String>) -> AdapterError {
        AdapterError::InvalidResponse {
            chain: self.chain_id.to_string(),
            endpoint: endpoint.to_owned(),
            reason: reason.into(),
        }
    }

    /// Calls a JSON-RPC method over GET and returns its `result`.
    async fn call<T: DeserializeOwned>(&self, path: &str) -> Result<T, AdapterError> {
        retry(&self.retry, path, || async {
            let answer = self.http.get(path).await?;
            // CometBFT answers JSON-RPC errors with HTTP 500 and a JSON body: read the body
            // first, fall back on the status when it is not JSON-RPC.
            match serde_json::from_slice::<Envelope<T>>(&answer.body) {
                Ok(Envelope {
                    result: Some(r), ..
                }) => Ok(r),
                Ok(Envelope { error: Some(e), .. }) => Err(self.rpc_error(path, e)),
                Ok(_) => Err(self.invalid(path, "neither result nor error")),
                Err(_) if !(200..300).contains(&answer.status) => {
                    Err(self.http.status_error(path, &answer))
                }
                Err(e) => Err(self.invalid(path, e.to_string())),
            }
        })
        .await
    }

    fn rpc_error(&self, path: &str, e: json::RpcError) -> AdapterError {
        let detail = e.data.unwrap_or_default();
        // "height 1000 must be less than or equal to the current blockchain height 46",
        // "could not find results for height #..."
        let lower = detail.to_ascii_lowercase();
        if lower.contains("must be less than or equal to")
            || lower.contains("could not find")
            || lower.contains("is not available")
        {
            return AdapterError::NotFound {
                chain: self.chain_id.to_string(),
                what: format!("{path}: {detail}"),
            };
        }
        AdapterError::Rejected {
            chain: self.chain_id.to_string(),
            problem: format!("jsonrpc-{}", e.code),
            status: 500,
            detail: format!("{}: {detail}", e.message),
        }
    }

    /// The signed header at `height`, or the latest one.
    pub async fn signed_header(
        &self,
        height: Option<Height>,
    ) -> Result<SignedHeader, AdapterError> {
        let path = match height {
            Some(h) => format!("/commit?height={h}"),
            None => "/commit".to_owned(),
        };
        let result: CommitResult = self.call(&path).await?;
        // The parser also checks that the commit is for the header's height.
        let sh = comet_json::signed_header(&result.signed_header)
            .map_err(|e| self.invalid(&path, e.to_string()))?;
        if sh.header.chain_id != self.chain_id {
            return Err(self.invalid(&path, format!("header of chain {}", sh.header.chain_id)));
        }
        if let Some(h) = height {
            if sh.header.height != h {
                return Err(self.invalid(&path, format!("header at height {}", sh.header.height)));
            }
        }
        Ok(sh)
    }

    /// The validator set at `height`, all pages, at most [`MAX_VALIDATORS`] validators.
    ///
    /// Every page must report the same `total`, hold `count` validators, and the pages
    /// together exactly `total`; the set is built with [`ValidatorSet::new`], which refuses
    /// an address listed twice (also across pages).
    pub async fn validators(&self, height: Height) -> Result<ValidatorSet, AdapterError> {
        let mut all: Vec<Validator> = Vec::new();
        let mut first_total = None;
        let max_pages = MAX_VALIDATORS.div_ceil(PER_PAGE);
        for page in 1..=max_pages {
            let path = format!("/validators?height={height}&page={page}&per_page={PER_PAGE}");
            let result: ValidatorsResult = self.call(&path).await?;
            let total = json::int("total", &result.total).map_err(|e| self.invalid(&path, e))?;
            let count = json::int("count", &result.count).map_err(|e| self.invalid(&path, e))?;
            if total > MAX_VALIDATORS as u64 {
                return Err(self.invalid(&path, format!("{total} validators, more than allowed")));
            }
            if *first_total.get_or_insert(total) != total {
                return Err(self.invalid(&path, format!("total changed between pages to {total}")));
            }
            // The light client's error names the field; the height is the one asked for.
            let listed = comet_json::validators(&result.validators).map_err(|e| {
                let e = comet_json::ParseError {
                    height: Some(height),
                    ..e
                };
                self.invalid(&path, e.to_string())
            })?;
            if count != listed.len() as u64 {
                return Err(self.invalid(
                    &path,
                    format!("count {count} but {} validators listed", listed.len()),
                ));
            }
            if listed.is_empty() && (all.len() as u64) < total {
                return Err(self.invalid(&path, format!("page {page} is empty, total {total}")));
            }
            all.extend_from_slice(listed.validators());
            if all.len() as u64 >= total {
                if all.len() as u64 > total {
                    return Err(self.invalid(&path, format!("more than total {total} validators")));
                }
                return ValidatorSet::new(all)
                    .map_err(|e| self.invalid(&path, format!("validators: {e}")));
            }
        }
        Err(self.invalid("/validators", "too many pages"))
    }

    /// Queries the application at `path` for `data`, at `height` (latest when `None`),
    /// with a proof when `prove`. A proven answer without proof operations is an
    /// [`AdapterError::InvalidResponse`]; a non-zero ABCI code is
    /// [`AdapterError::Rejected`] with problem `abci-<codespace>-<code>`.
    pub async fn abci_query(
        &self,
        path: &str,
        data: &[u8],
        height: Option<Height>,
        prove: bool,
    ) -> Result<AbciQuery, AdapterError> {
        let mut url = format!(
            "/abci_query?path=%22{}%22&data=0x{}&prove={prove}",
            percent_encode(path),
            hex::encode(data)
        );
        if let Some(h) = height {
            url.push_str(&format!("&height={h}"));
        }
        let result: AbciQueryResult = self.call(&url).await?;
        let query = result.parse().map_err(|e| self.invalid(&url, e))?;
        if query.code != 0 {
            return Err(AdapterError::Rejected {
                chain: self.chain_id.to_string(),
                problem: format!("abci-{}-{}", query.codespace, query.code),
                status: 200,
                detail: query.log,
            });
        }
        if prove && query.proof_ops.is_empty() {
            return Err(self.invalid(&url, "proof asked for, none given"));
        }
        Ok(query)
    }

    /// The light block at `height` (the latest when `None`): the signed header and the
    /// validator sets at its height and the next.
    async fn light_block_at(&self, height: Option<Height>) -> Result<LightBlock, AdapterError> {
        let signed_header = self.signed_header(height).await?;
        let h = signed_header.header.height;
        let next = h
            .increment()
            .ok_or_else(|| self.invalid("/commit", "height overflow"))?;
        let validators = self.validators(h).await?;
        let next_validators = self.validators(next).await?;
        Ok(LightBlock {
            signed_header,
            validators,
            next_validators,
        })
    }

    fn unsupported(&self, operation: &'static str) -> AdapterError {
        AdapterError::Unsupported {
            chain: self.chain_id.to_string(),
            family: "cometbft",
            operation,
            reason: "the chain needs a corridor module (outbox, inbox, receipts), not built yet",
        }
    }
}

/// Percent-encodes everything but unreserved characters and `/`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[async_trait]
impl ChainAdapter for CometBftAdapter {
    type Family = CometVerifier;

    fn chain_id(&self) -> &ChainId {
        &self.chain_id
    }

    async fn status(&self) -> Result<ChainStatus, AdapterError> {
        let s: StatusResult = self.call("/status").await?;
        let bad = |e: String| self.invalid("/status", e);
        let chain_id = ChainId::new(s.node_info.network.clone())
            .map_err(|e| bad(format!("node_info.network: {e}")))?;
        if chain_id != self.chain_id {
            return Err(bad(format!("status of chain {chain_id}")));
        }
        let hash = Hash32::from_hex(&s.sync_info.latest_block_hash)
            .map_err(|e| bad(format!("sync_info.latest_block_hash: {e}")))?;
        Ok(ChainStatus {
            chain_id,
            family: "cometbft".into(),
            latest_height: Height(
                json::int(
                    "sync_info.latest_block_height",
                    &s.sync_info.latest_block_height,
                )
                .map_err(bad)?,
            ),
            latest_hash: hash,
            // A block time is read as the light client reads a header's.
            latest_time: comet_json::time(
                &s.sync_info.latest_block_time,
                None,
                "sync_info.latest_block_time",
            )
            .map_err(|e| bad(e.to_string()))?,
        })
    }

    async fn light_block(&self, height: Height) -> Result<LightBlock, AdapterError> {
        self.light_block_at(Some(height)).await
    }

    async fn latest_light_block(&self) -> Result<LightBlock, AdapterError> {
        self.light_block_at(None).await
    }

    async fn outbound_messages(
        &self,
        _from: Height,
        _to: Height,
    ) -> Result<Vec<OutboundOf<Self>>, AdapterError> {
        Err(self.unsupported("outbound_messages"))
    }

    async fn submit_delivery(
        &self,
        _bundle: &ProofBundle<CometVerifier>,
    ) -> Result<DeliveryAck, AdapterError> {
        Err(self.unsupported("submit_delivery"))
    }

    async fn receipts(
        &self,
        _from: Height,
        _to: Height,
    ) -> Result<Vec<ReceiptOf<Self>>, AdapterError> {
        Err(self.unsupported("receipts"))
    }
}
