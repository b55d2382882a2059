//! Evidence files: what a court, an auditor or a regulator checks afterwards, offline and
//! with the light client alone, to know that a trade document really crossed the corridor.
//!
//! An [`Evidence`] file (JSON) holds the message as its source chain committed it with its
//! inclusion proof and the source chain's light blocks from a trust root to the committing
//! block (a [`ProofBundle`], as relays carry it), and the destination's receipt with its
//! proof and the destination chain's light blocks from a trust root to the receipt's block.
//!
//! [`verify`] takes only the file and the checker's own trust roots ([`TrustRoots`], one
//! JSON file per chain): it replays every light block through a fresh light client of each
//! chain (at the time of the latest block it is given, so old evidence stays checkable
//! within the trust roots' trusting period), checks both inclusion proofs, the trader's
//! signature, and that the receipt is the one of this message (chain, channel, sequence
//! and the message's commitment). It answers what was proven ([`Proven`]) or, for the
//! first thing that does not hold, where ([`EvidenceError`]).
//!
//! [`build`] assembles a file from the two chains' public RPCs: the relays are couriers,
//! the evidence comes from the chains themselves.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use corridor_adapters::adapter::MAX_RANGE;
use corridor_adapters::bundle::{build_bundle, sync_client, ReceiverTrust};
use corridor_adapters::devnet::DevnetAdapter;
use corridor_adapters::ChainAdapter;
use corridor_light_client::bundle::{verify_bundle, ProofBundle};
use corridor_light_client::client::{LightClient, TrustRoot, UpdateOutcome};
use corridor_light_client::envelope::DocumentKind;
use corridor_light_client::native::{LightBlock, NativeVerifier};
use corridor_light_client::receipt::{verify_receipt, ReceiptProof, ReceiptResult};
use corridor_light_client::{ChainId, Hash32, Height, Options, Time};
use serde::{Deserialize, Serialize};

type F = NativeVerifier;

/// The evidence format this code writes and reads.
pub const EVIDENCE_VERSION: u16 = 1;

/// One message's journey, provable offline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// [`EVIDENCE_VERSION`].
    pub version: u16,
    /// The message, its inclusion proof, the committing height and the source's light
    /// blocks from the trust root up to that height.
    pub source: ProofBundle<F>,
    /// The destination's light blocks from the trust root up to the receipt's height, in
    /// increasing height order.
    pub destination_blocks: Vec<LightBlock>,
    /// The destination's receipt of the message with its proof.
    pub receipt: ReceiptProof<F>,
}

/// What a verified evidence file proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proven {
    /// The message id.
    pub id: Hash32,
    /// Its commitment.
    pub commitment: Hash32,
    /// Its document kind.
    pub kind: DocumentKind,
    /// The source chain.
    pub source: ChainId,
    /// The channel and sequence.
    pub channel: u32,
    /// Sequence on the channel.
    pub sequence: u64,
    /// The source block that committed it.
    pub committed_height: Height,
    /// That block's time.
    pub committed_time: Time,
    /// The destination chain.
    pub destination: ChainId,
    /// The destination block of the receipt.
    pub receipt_height: Height,
    /// That block's time.
    pub receipt_time: Time,
    /// What became of it.
    pub result: ReceiptResult,
}

impl core::fmt::Display for Proven {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let outcome = match &self.result {
            ReceiptResult::Delivered => "delivered it".to_owned(),
            ReceiptResult::Expired => "refused it as expired (deadline passed)".to_owned(),
            ReceiptResult::Rejected { reason } => format!("rejected it ({reason:?})"),
        };
        writeln!(
            f,
            "{} committed message {} ({}, channel {} sequence {}, commitment {}) at height {}, block time {}, signed by its sender;",
            self.source,
            self.id,
            self.kind,
            self.channel,
            self.sequence,
            self.commitment,
            self.committed_height,
            self.committed_time
        )?;
        write!(
            f,
            "{} {outcome} at height {}, block time {}.",
            self.destination, self.receipt_height, self.receipt_time
        )
    }
}

/// Why an evidence file does not prove anything, or could not be built. Names the part.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The file is not an evidence file.
    #[error("the file is not evidence JSON: {0}")]
    Malformed(String),
    /// Another format version.
    #[error("version: {0} is not the evidence version {EVIDENCE_VERSION}")]
    Version(u16),
    /// No trust root for a chain the evidence needs.
    #[error("{part}: no trust root for chain {chain} among the trust roots given")]
    NoTrustRoot {
        /// `source` or `destination`.
        part: &'static str,
        /// The chain.
        chain: ChainId,
    },
    /// The source part does not verify.
    #[error("source: {0}")]
    Source(String),
    /// The trader's signature does not verify.
    #[error("source.message.signature: does not verify under the sender's key")]
    Signature,
    /// A destination light block does not verify.
    #[error("destination_blocks[{index}] (height {height}): {reason}")]
    DestinationBlock {
        /// Its place in the file.
        index: usize,
        /// Its height.
        height: Height,
        /// Why.
        reason: String,
    },
    /// The receipt does not verify.
    #[error("receipt: {0}")]
    Receipt(String),
    /// The receipt is of another message.
    #[error("receipt.receipt.{field}: the receipt is of another message ({detail})")]
    OtherMessage {
        /// The receipt field that differs.
        field: &'static str,
        /// The two values.
        detail: String,
    },
    /// A trust roots file does not load.
    #[error("trust roots: {0}")]
    TrustRoots(String),
    /// Building: the chains do not have what the evidence needs yet.
    #[error("{0}")]
    Unavailable(String),
}

/// The checker's trust roots, by chain, with their trusting periods.
pub type TrustRoots = BTreeMap<ChainId, (TrustRoot, Options)>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RootFile {
    chain_id: ChainId,
    height: Height,
    header_hash: Hash32,
    #[serde(default)]
    trusting_period_secs: Option<u64>,
}

/// Reads every `*.json` file of `dir`: `{"chain_id", "height", "header_hash"}` and an
/// optional `trusting_period_secs` (default ten years, as the devnet's relays use).
pub fn load_trust_roots(dir: &Path) -> Result<TrustRoots, EvidenceError> {
    let err = |what: String| EvidenceError::TrustRoots(what);
    let mut roots = TrustRoots::new();
    let entries = std::fs::read_dir(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry.map_err(|e| err(e.to_string()))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text =
            std::fs::read_to_string(&path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        let file: RootFile =
            serde_json::from_str(&text).map_err(|e| err(format!("{}: {e}", path.display())))?;
        let options = Options {
            trusting_period: Duration::from_secs(
                file.trusting_period_secs.unwrap_or(10 * 365 * 86_400),
            ),
            ..Options::default()
        };
        let root = TrustRoot {
            chain_id: file.chain_id.clone(),
            height: file.height,
            header_hash: file.header_hash,
            pin: None,
        };
        if roots
            .insert(file.chain_id.clone(), (root, options))
            .is_some()
        {
            return Err(err(format!("two roots for {}", file.chain_id)));
        }
    }
    Ok(roots)
}

/// Parses an evidence file.
pub fn parse(bytes: &[u8]) -> Result<Evidence, EvidenceError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let evidence: Evidence = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| EvidenceError::Malformed(format!("at {}: {}", e.path(), e.inner())))?;
    de.end()
        .map_err(|e| EvidenceError::Malformed(format!("after the evidence: {e}")))?;
    Ok(evidence)
}

/// The latest block time among `blocks`: the time the evidence is checked at.
fn latest_time(blocks: &[LightBlock]) -> Time {
    blocks
        .iter()
        .map(|b| b.header().time)
        .max()
        .unwrap_or(Time::EPOCH)
}

/// Checks `evidence` against `roots` (see the module doc).
pub fn verify(evidence: &Evidence, roots: &TrustRoots) -> Result<Proven, EvidenceError> {
    if evidence.version != EVIDENCE_VERSION {
        return Err(EvidenceError::Version(evidence.version));
    }
    let message = &evidence.source.message;
    let body = &message.message.body;
    let (root, options) =
        roots
            .get(&body.source_chain)
            .ok_or_else(|| EvidenceError::NoTrustRoot {
                part: "source",
                chain: body.source_chain.clone(),
            })?;
    let mut source = LightClient::<F>::new(root.clone(), *options);
    let now = latest_time(&evidence.source.light_blocks);
    let verified = verify_bundle(&mut source, &evidence.source, now)
        .map_err(|e| EvidenceError::Source(e.to_string()))?;
    let sign_bytes = body
        .sign_bytes()
        .map_err(|e| EvidenceError::Source(e.to_string()))?;
    if !body.sender.verify(&sign_bytes, &message.message.signature) {
        return Err(EvidenceError::Signature);
    }
    let committed_time = source
        .trusted_at(verified.height)
        .map(|b| b.header().time)
        .ok_or_else(|| EvidenceError::Source("the committing block is not trusted".into()))?;

    let (root, options) =
        roots
            .get(&body.destination_chain)
            .ok_or_else(|| EvidenceError::NoTrustRoot {
                part: "destination",
                chain: body.destination_chain.clone(),
            })?;
    let mut destination = LightClient::<F>::new(root.clone(), *options);
    let now = latest_time(&evidence.destination_blocks);
    let mut previous: Option<Height> = None;
    for (index, block) in evidence.destination_blocks.iter().enumerate() {
        let height = block.height();
        let fail = |reason: String| EvidenceError::DestinationBlock {
            index,
            height,
            reason,
        };
        if block.header().chain_id != body.destination_chain {
            return Err(fail(format!("a block of {}", block.header().chain_id)));
        }
        if previous.is_some_and(|p| p >= height) {
            return Err(fail("heights do not increase".into()));
        }
        previous = Some(height);
        match destination.update(block.clone(), now) {
            Ok(UpdateOutcome::Trusted(_) | UpdateOutcome::AlreadyTrusted(_)) => {}
            Ok(UpdateOutcome::NotEnoughTrust(..)) => {
                return Err(fail(
                    "not enough of the trusted validators signed it".into(),
                ))
            }
            Ok(UpdateOutcome::Misbehaviour(_)) => {
                return Err(fail("conflicts with a trusted block (misbehaviour)".into()))
            }
            Err(e) => return Err(fail(e.to_string())),
        }
    }
    let receipt = verify_receipt(&destination, &evidence.receipt)
        .map_err(|e| EvidenceError::Receipt(e.to_string()))?;
    let other = |field: &'static str, detail: String| EvidenceError::OtherMessage { field, detail };
    if receipt.source_chain != body.source_chain {
        return Err(other(
            "source_chain",
            format!("{} vs {}", receipt.source_chain, body.source_chain),
        ));
    }
    if receipt.channel != body.channel {
        return Err(other(
            "channel",
            format!("{} vs {}", receipt.channel, body.channel),
        ));
    }
    if receipt.sequence != message.sequence {
        return Err(other(
            "sequence",
            format!("{} vs {}", receipt.sequence, message.sequence),
        ));
    }
    if receipt.message_commitment != verified.commitment {
        return Err(other(
            "message_commitment",
            format!("{} vs {}", receipt.message_commitment, verified.commitment),
        ));
    }
    let receipt_time = destination
        .trusted_at(evidence.receipt.height)
        .map(|b| b.header().time)
        .ok_or_else(|| EvidenceError::Receipt("the receipt's block is not trusted".into()))?;
    Ok(Proven {
        id: message
            .message
            .id()
            .map_err(|e| EvidenceError::Source(e.to_string()))?,
        commitment: verified.commitment,
        kind: body.kind,
        source: body.source_chain.clone(),
        channel: body.channel,
        sequence: message.sequence,
        committed_height: verified.height,
        committed_time,
        destination: body.destination_chain.clone(),
        receipt_height: evidence.receipt.height,
        receipt_time,
        result: receipt.result.clone(),
    })
}

/// Assembles the evidence of message `id` from its source and destination chains' RPCs,
/// with light blocks from `roots`; verifies every block it takes (at `now`).
pub async fn build(
    source: &DevnetAdapter,
    destination: &DevnetAdapter,
    roots: &TrustRoots,
    id: Hash32,
    now: Time,
) -> Result<Evidence, EvidenceError> {
    let unavailable = |what: String| EvidenceError::Unavailable(what);
    let chain_of = |a: &DevnetAdapter, part| {
        roots
            .get(a.chain_id())
            .cloned()
            .ok_or_else(|| EvidenceError::NoTrustRoot {
                part,
                chain: a.chain_id().clone(),
            })
    };
    let (source_root, source_options) = chain_of(source, "source")?;
    let (destination_root, destination_options) = chain_of(destination, "destination")?;
    let location = source
        .message_location(id)
        .await
        .map_err(|e| unavailable(format!("message {id} on {}: {e}", source.chain_id())))?;
    let Some(height) = location.height else {
        return Err(unavailable(format!("message {id} is not committed yet")));
    };
    let outbound = source
        .outbound_messages(height, height)
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .into_iter()
        .find(|m| m.message.message.id().is_ok_and(|i| i == id))
        .ok_or_else(|| unavailable(format!("message {id} is not in block {height}")))?;
    let bundle = build_bundle(
        source,
        ReceiverTrust::RootOnly(source_root.height),
        outbound,
        source_options,
        now,
    )
    .await
    .map_err(|e| unavailable(format!("source light blocks: {e}")))?;

    let message = &bundle.message;
    let body = &message.message.body;
    let tip = destination
        .status()
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .latest_height;
    let mut from = destination_root.height.0.max(1);
    let mut receipt = None;
    while receipt.is_none() && from <= tip.0 {
        let to = tip.0.min(from.saturating_add(MAX_RANGE - 1));
        receipt = destination
            .receipts(Height(from), Height(to))
            .await
            .map_err(|e| unavailable(e.to_string()))?
            .into_iter()
            .find(|r| {
                r.receipt.source_chain == body.source_chain
                    && r.receipt.channel == body.channel
                    && r.receipt.sequence == message.sequence
            });
        from = to.saturating_add(1);
    }
    let receipt = receipt.ok_or_else(|| {
        unavailable(format!(
            "{} has no receipt of message {id} yet",
            destination.chain_id()
        ))
    })?;
    let mut client = LightClient::<F>::new(destination_root, destination_options);
    sync_client(destination, &mut client, receipt.height, now)
        .await
        .map_err(|e| unavailable(format!("destination light blocks: {e}")))?;
    let destination_blocks = client.trusted_range(..=receipt.height).cloned().collect();
    Ok(Evidence {
        version: EVIDENCE_VERSION,
        source: bundle,
        destination_blocks,
        receipt,
    })
}
