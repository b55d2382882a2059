//! `corridor devnet`: the embedded devnet demo.
//!
//! Starts the three partner chains of `config/` in this process (RPC on loopback, RocksDB
//! stores in a fresh folder), has their registered traders submit one document of every
//! kind, and carries each committed message to its destination chain, whose inbox verifies
//! the source chain's light blocks and the message's Merkle proof with its own light client
//! before it accepts the delivery. Then it proves each receipt back against the destination
//! chain's headers, tries a forged delivery (refused) and a replay, prints a
//! timeline, and stops. A replayed delivery must get its original acknowledgement (and not
//! be delivered twice); the demo reads the chains' status through their admin RPC, with a
//! token it generates for the run.
//!
//! ## What carries the messages
//! The relay daemons (QUIC between operators, their own stores and pipelines) are not built
//! yet. Here a `Courier` in this process plays their part over the chains' RPC: it builds
//! the proof bundles with [`corridor_adapters::bundle::build_bundle`] (verifying every light
//! block and proof it fetches with its own light clients) and hands them to the destination.
//! The destination chain trusts nothing the courier says: it verifies everything again.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use corridor_adapters::bundle::{build_bundle, sync_client};
use corridor_adapters::devnet::{AdminToken, DevnetAdapter};
use corridor_adapters::types::NativeClient;
use corridor_adapters::{AdapterError, ChainAdapter, DeliveryAck, ProofBundle};
use corridor_devnet::{devnet_trader_key, genesis_block, DevnetChain, DevnetConfig, DevnetHandle};
use corridor_light_client::client::TrustRoot;
use corridor_light_client::documents::examples::example;
use corridor_light_client::envelope::{
    payload_from_json, Deadline, DocumentKind, MessageBody, SignedMessage, VERSION,
};
use corridor_light_client::native::LightBlock;
use corridor_light_client::receipt::verify_receipt;
use corridor_light_client::{hash, ChainId, Hash32, Height, Options, Time};

use corridor_relay::configs::CONFIGS;

/// Settings of one demo run.
#[derive(Clone, Debug)]
pub(crate) struct DemoOptions {
    /// Folder for the chains' stores; a fresh temporary folder when `None`.
    pub(crate) data_dir: Option<PathBuf>,
    /// Block interval of every chain.
    pub(crate) block_interval: Duration,
    /// Longest the whole exchange may take before the demo gives up.
    pub(crate) timeout: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            data_dir: None,
            block_interval: Duration::from_millis(500),
            timeout: Duration::from_secs(120),
        }
    }
}

/// What a demo run established (the end-to-end test checks it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DemoSummary {
    /// Messages submitted.
    pub(crate) submitted: usize,
    /// Messages the destination inbox accepted.
    pub(crate) delivered: usize,
    /// Receipts proven against destination headers.
    pub(crate) receipts_proven: usize,
    /// Whether the forged delivery was refused as `invalid-proof`.
    pub(crate) forged_refused: bool,
    /// Whether the replayed delivery was answered with its original acknowledgement
    /// (idempotent: not delivered a second time).
    pub(crate) replay_idempotent: bool,
    /// Submitted messages with exactly one receipt in their destination chain's own
    /// committed receipts.
    pub(crate) delivered_on_chain: usize,
    /// Receipts beyond the first for any (source, destination, channel, sequence).
    pub(crate) extra_receipts_on_chain: usize,
}

/// One trade: who sends which document from where to where.
struct Trade {
    kind: DocumentKind,
    from: &'static str,
    sender: &'static str,
    to: &'static str,
    receiver: &'static str,
}

const TRADES: [Trade; 7] = [
    Trade {
        kind: DocumentKind::CommercialInvoice,
        from: "cn-shanghai",
        sender: "shanghai-exporter",
        to: "pk-karachi",
        receiver: "karachi-importer",
    },
    Trade {
        kind: DocumentKind::BillOfLading,
        from: "cn-shanghai",
        sender: "shanghai-freight-forwarder",
        to: "pk-karachi",
        receiver: "karachi-port-agent",
    },
    Trade {
        kind: DocumentKind::PackingList,
        from: "cn-shanghai",
        sender: "shanghai-exporter",
        to: "pk-karachi",
        receiver: "karachi-port-agent",
    },
    Trade {
        kind: DocumentKind::CertificateOfOrigin,
        from: "cn-shanghai",
        sender: "shanghai-exporter",
        to: "kz-astana",
        receiver: "astana-customs-broker",
    },
    Trade {
        kind: DocumentKind::CustomsDeclaration,
        from: "kz-astana",
        sender: "astana-customs-broker",
        to: "cn-shanghai",
        receiver: "shanghai-exporter",
    },
    Trade {
        kind: DocumentKind::LetterOfCredit,
        from: "pk-karachi",
        sender: "karachi-importer",
        to: "cn-shanghai",
        receiver: "shanghai-exporter",
    },
    Trade {
        kind: DocumentKind::PaymentInstruction,
        from: "pk-karachi",
        sender: "karachi-importer",
        to: "cn-shanghai",
        receiver: "shanghai-exporter",
    },
];

/// A message's way through the corridor, for the timeline.
#[derive(Clone, Debug)]
struct Track {
    kind: DocumentKind,
    from: ChainId,
    to: ChainId,
    sequence: u64,
    submitted: Duration,
    delivered: Option<Duration>,
    receipt: Option<(Height, Duration)>,
}

/// Runs the demo, writing its account to `out`.
pub(crate) async fn run(
    options: DemoOptions,
    out: &mut (impl Write + Send),
) -> anyhow::Result<DemoSummary> {
    let temp;
    let data_dir = match &options.data_dir {
        Some(d) => d.clone(),
        None => {
            temp = TempDir::new()?;
            temp.path().to_owned()
        }
    };
    let start = Instant::now();
    let mut chains: BTreeMap<ChainId, (DevnetHandle, DevnetAdapter, DevnetConfig)> =
        BTreeMap::new();
    writeln!(
        out,
        "corridor devnet: three partner chains on loopback, stores in {}",
        data_dir.display()
    )?;
    for (name, text) in CONFIGS {
        let mut config =
            DevnetConfig::from_toml(text).with_context(|| format!("embedded config {name}"))?;
        config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        config.admin_listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        // A fresh admin token per run: the demo alone can reach the chains' admin RPC.
        let token = AdminToken::generate();
        config.admin_token = Some(token.clone());
        config.store_path = data_dir.join(name);
        config.spec.block_interval = options.block_interval;
        let handle = DevnetChain::start(config.clone())
            .await
            .with_context(|| format!("starting {name}"))?;
        let admin_url = handle
            .admin_url()
            .with_context(|| format!("{name} has no admin listener"))?;
        let adapter = DevnetAdapter::new(config.chain_id().clone(), &handle.url())?
            .with_admin(&admin_url, &token)?;
        writeln!(
            out,
            "  {name:<12} {}  {} validators, rotating {} every {} blocks",
            handle.url(),
            config.spec.validators,
            config.spec.rotate_count,
            config.spec.rotate_every
        )?;
        chains.insert(config.chain_id().clone(), (handle, adapter, config));
    }

    let result = exchange(&chains, &options, start, out).await;
    for (_, (handle, _, _)) in chains {
        handle.shutdown().await.context("stopping a chain")?;
    }
    result
}

async fn exchange(
    chains: &BTreeMap<ChainId, (DevnetHandle, DevnetAdapter, DevnetConfig)>,
    options: &DemoOptions,
    start: Instant,
    out: &mut (impl Write + Send),
) -> anyhow::Result<DemoSummary> {
    let chain = |name: &str| -> anyhow::Result<&(DevnetHandle, DevnetAdapter, DevnetConfig)> {
        let id = ChainId::new(name)?;
        chains.get(&id).with_context(|| format!("no chain {name}"))
    };
    let mut summary = DemoSummary::default();
    let mut tracks: BTreeMap<Hash32, Track> = BTreeMap::new();
    writeln!(out, "\ntraders submit one document of each kind:")?;
    for (nonce, trade) in (1u64..).zip(TRADES.iter()) {
        let (_, source, _) = chain(trade.from)?;
        let key = devnet_trader_key(trade.sender);
        let payload = payload_from_json(&example(trade.kind))?;
        let body = MessageBody {
            version: VERSION,
            source_chain: ChainId::new(trade.from)?,
            destination_chain: ChainId::new(trade.to)?,
            channel: 0,
            nonce,
            sender: key.public_key(),
            receiver: devnet_trader_key(trade.receiver).public_key(),
            kind: trade.kind,
            payload_hash: hash::sha3(&payload.0),
            payload,
            deadline: Deadline::Height(Height(1_000_000)),
        };
        let signed: SignedMessage = body.sign(&key)?;
        let accepted = source
            .submit_message(&signed)
            .await
            .with_context(|| format!("submitting {}", trade.kind))?;
        let at = start.elapsed();
        writeln!(
            out,
            "  [{:>5.1}s] {:<22} {} -> {}  seq {}  signed by {}",
            at.as_secs_f64(),
            trade.kind.as_str(),
            trade.from,
            trade.to,
            accepted.sequence,
            trade.sender
        )?;
        tracks.insert(
            accepted.id,
            Track {
                kind: trade.kind,
                from: ChainId::new(trade.from)?,
                to: ChainId::new(trade.to)?,
                sequence: accepted.sequence,
                submitted: at,
                delivered: None,
                receipt: None,
            },
        );
        summary.submitted += 1;
    }

    writeln!(
        out,
        "\nthe courier carries each committed message; the destination verifies it:"
    )?;
    let deadline = start + options.timeout;
    let mut courier = Courier::new(chains)?;
    let mut last_bundle: Option<(ChainId, ProofBundle, DeliveryAck)> = None;
    while tracks.values().any(|t| t.receipt.is_none()) {
        if Instant::now() > deadline {
            bail!(
                "not every message was delivered and its receipt proven within {:?}",
                options.timeout
            );
        }
        for (id, event) in courier.step(chains, &tracks).await? {
            let Some(track) = tracks.get_mut(&id) else {
                continue;
            };
            let at = start.elapsed();
            match event {
                Event::Committed(h) => {
                    writeln!(
                        out,
                        "  [{:>5.1}s] committed {:<22} {} block {} (messages root, proof checked by the courier)",
                        at.as_secs_f64(),
                        track.kind.as_str(),
                        track.from,
                        h
                    )?;
                }
                Event::Delivered {
                    bundle,
                    ack,
                    blocks,
                } => {
                    track.delivered = Some(at);
                    summary.delivered += 1;
                    writeln!(
                        out,
                        "  [{:>5.1}s] delivered {:<22} {} -> {} seq {}: {} verified {} light block(s) of {} up to {} and the proof",
                        at.as_secs_f64(),
                        track.kind.as_str(),
                        track.from,
                        track.to,
                        track.sequence,
                        track.to,
                        blocks,
                        track.from,
                        bundle.height
                    )?;
                    last_bundle = Some((track.to.clone(), *bundle, ack));
                }
                Event::Receipt(h) => {
                    if track.receipt.is_some() {
                        bail!(
                            "receipt of {} seq {} seen twice",
                            track.from,
                            track.sequence
                        );
                    }
                    track.receipt = Some((h, at));
                    summary.receipts_proven += 1;
                    writeln!(
                        out,
                        "  [{:>5.1}s] receipt   {:<22} proven in {} block {} and checked by the courier's light client",
                        at.as_secs_f64(),
                        track.kind.as_str(),
                        track.to,
                        h
                    )?;
                }
            }
        }
        tokio::time::sleep(options.block_interval / 2).await;
    }

    writeln!(out, "\nattacks on the destination inbox:")?;
    if let Some((dest, bundle, original)) = last_bundle {
        let (_, adapter, _) = chain(dest.as_str())?;
        let pending_before = adapter.node_status().await?.pending_receipts;
        let replay = adapter.submit_delivery(&bundle).await;
        let pending_after = adapter.node_status().await?.pending_receipts;
        summary.replay_idempotent =
            matches!(&replay, Ok(ack) if *ack == original) && pending_after <= pending_before;
        writeln!(
            out,
            "  replayed delivery      -> {}",
            match &replay {
                Ok(ack) if *ack == original =>
                    "its original acknowledgement, not delivered again".to_owned(),
                other => format!("{other:?} (this is a bug)"),
            }
        )?;
        // A forgery a courier could make: the same trader's key signs a changed document
        // for the next free sequence of the lane, under the original proof and blocks.
        // Everything but the source chain's commitment is right, so only the proof can
        // refuse it.
        let body = &bundle.message.message.body;
        let lane_next = tracks
            .values()
            .filter(|t| t.from == body.source_chain && t.to == body.destination_chain)
            .map(|t| t.sequence)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        let sender = TRADES
            .iter()
            .find(|t| devnet_trader_key(t.sender).public_key() == body.sender)
            .map(|t| devnet_trader_key(t.sender))
            .context("the delivered message's sender is a demo trader")?;
        let mut forged_body = body.clone();
        forged_body.nonce = forged_body.nonce.saturating_add(1_000);
        let mut forged = bundle.clone();
        forged.message.message = forged_body.sign(&sender)?;
        forged.message.sequence = lane_next;
        let forged_result = adapter.submit_delivery(&forged).await;
        summary.forged_refused = matches!(
            &forged_result,
            Err(AdapterError::Rejected { problem, .. }) if problem == "invalid-proof"
        );
        writeln!(
            out,
            "  forged message (re-signed, next sequence {lane_next}) -> {}",
            outcome(&forged_result)
        )?;
    }

    // Exactly once, counted on the destination chains' own committed receipts.
    let mut on_chain: BTreeMap<(ChainId, ChainId, u32, u64), usize> = BTreeMap::new();
    for (_, dest, _) in chains.values() {
        let latest = dest.status().await?.latest_height;
        let mut from = 1u64;
        while from <= latest.0 {
            let to = latest
                .0
                .min(from.saturating_add(corridor_adapters::adapter::MAX_RANGE - 1));
            for r in dest.receipts(Height(from), Height(to)).await? {
                let r = r.receipt;
                *on_chain
                    .entry((r.source_chain, r.destination_chain, r.channel, r.sequence))
                    .or_default() += 1;
            }
            from = to.saturating_add(1);
        }
    }
    summary.delivered_on_chain = tracks
        .values()
        .filter(|t| on_chain.get(&(t.from.clone(), t.to.clone(), 0, t.sequence)) == Some(&1))
        .count();
    summary.extra_receipts_on_chain = on_chain.values().map(|n| n.saturating_sub(1)).sum();

    let mut latencies: Vec<f64> = tracks
        .values()
        .filter_map(|t| Some((t.delivered? - t.submitted).as_secs_f64()))
        .collect();
    latencies.sort_by(f64::total_cmp);
    let median = latencies.get(latencies.len() / 2).copied().unwrap_or(0.0);
    let max = latencies.last().copied().unwrap_or(0.0);
    writeln!(
        out,
        "\n{} messages submitted, {} delivered exactly once (counted in the destination chains' receipts), {} receipts proven; submit to delivery: median {median:.1} s, max {max:.1} s (blocks every {} ms)",
        summary.submitted,
        summary.delivered_on_chain,
        summary.receipts_proven,
        options.block_interval.as_millis()
    )?;
    Ok(summary)
}

fn outcome<T>(r: &Result<T, AdapterError>) -> String {
    match r {
        Ok(_) => "ACCEPTED (this is a bug)".into(),
        Err(e) => format!("refused: {e}"),
    }
}

/// What the courier saw happen to a message.
enum Event {
    Committed(Height),
    Delivered {
        bundle: Box<ProofBundle>,
        ack: DeliveryAck,
        blocks: usize,
    },
    Receipt(Height),
}

/// Carries messages between the demo's chains, verifying what it fetches with its own light
/// client of each chain.
struct Courier {
    clients: BTreeMap<ChainId, NativeClient>,
    /// Next source height to scan for outbound messages, per chain.
    scanned: BTreeMap<ChainId, Height>,
    /// Next destination height to scan for receipts, per chain.
    receipts_scanned: BTreeMap<ChainId, Height>,
    /// (source, destination, channel, sequence) -> message id, for matching receipts.
    /// Sequences count per channel and destination, so all four are needed.
    sent: BTreeMap<(ChainId, ChainId, u32, u64), Hash32>,
}

impl Courier {
    fn new(
        chains: &BTreeMap<ChainId, (DevnetHandle, DevnetAdapter, DevnetConfig)>,
    ) -> anyhow::Result<Self> {
        let clients = chains
            .iter()
            .map(|(id, (_, _, config))| {
                // The trust root: block 1, derived from the chain's config like its peers do.
                let root = genesis_block(&config.spec);
                let trust_root = TrustRoot {
                    chain_id: id.clone(),
                    height: root.height(),
                    header_hash: root.header().hash(),
                };
                (id.clone(), NativeClient::new(trust_root, client_options()))
            })
            .collect();
        Ok(Self {
            scanned: chains.keys().map(|k| (k.clone(), Height(1))).collect(),
            receipts_scanned: chains.keys().map(|k| (k.clone(), Height(1))).collect(),
            clients,
            sent: BTreeMap::new(),
        })
    }

    /// Brings the courier's client of `chain` to `height`, verifying every block.
    async fn trust(
        &mut self,
        adapter: &DevnetAdapter,
        height: Height,
    ) -> anyhow::Result<LightBlock> {
        let chain = adapter.chain_id().clone();
        let client = self.clients.get_mut(&chain).context("no client")?;
        sync_client(adapter, client, height, now()).await?;
        client
            .trusted_at(height)
            .cloned()
            .context("trusted block evicted")
    }

    async fn step(
        &mut self,
        chains: &BTreeMap<ChainId, (DevnetHandle, DevnetAdapter, DevnetConfig)>,
        tracks: &BTreeMap<Hash32, Track>,
    ) -> anyhow::Result<Vec<(Hash32, Event)>> {
        let mut events = Vec::new();
        for (source_id, (_, source, _)) in chains {
            let latest = source.status().await?.latest_height;
            let from = self.scanned.get(source_id).copied().unwrap_or(Height(1));
            if latest < from {
                continue;
            }
            let to = Height(
                latest
                    .0
                    .min(from.0 + corridor_adapters::adapter::MAX_RANGE - 1),
            );
            for outbound in source.outbound_messages(from, to).await? {
                let id = outbound.message.message.id()?;
                let Some(track) = tracks.get(&id) else {
                    continue;
                };
                events.push((id, Event::Committed(outbound.height)));
                let (_, dest, _) = chains.get(&track.to).context("unknown destination")?;
                let receiver = dest.client_status(source_id).await?;
                let bundle = build_bundle(
                    source,
                    receiver.receiver_trust(),
                    outbound,
                    client_options(),
                    now(),
                )
                .await?;
                let blocks = bundle.light_blocks.len();
                let ack = dest.submit_delivery(&bundle).await?;
                let body = &bundle.message.message.body;
                let key = (
                    body.source_chain.clone(),
                    body.destination_chain.clone(),
                    body.channel,
                    bundle.message.sequence,
                );
                self.sent.insert(key, id);
                events.push((
                    id,
                    Event::Delivered {
                        bundle: Box::new(bundle),
                        ack,
                        blocks,
                    },
                ));
            }
            self.scanned.insert(source_id.clone(), Height(to.0 + 1));
        }
        for (dest_id, (_, dest, _)) in chains {
            let latest = dest.status().await?.latest_height;
            let from = self
                .receipts_scanned
                .get(dest_id)
                .copied()
                .unwrap_or(Height(1));
            if latest < from {
                continue;
            }
            let to = Height(
                latest
                    .0
                    .min(from.0 + corridor_adapters::adapter::MAX_RANGE - 1),
            );
            for receipt in dest.receipts(from, to).await? {
                let r = &receipt.receipt;
                let key = (
                    r.source_chain.clone(),
                    r.destination_chain.clone(),
                    r.channel,
                    r.sequence,
                );
                let Some(&id) = self.sent.get(&key) else {
                    continue;
                };
                self.trust(dest, receipt.height).await?;
                let client = self.clients.get(dest_id).context("no client")?;
                verify_receipt(client, &receipt).with_context(|| {
                    format!(
                        "receipt of {} seq {} does not verify",
                        r.source_chain, r.sequence
                    )
                })?;
                events.push((id, Event::Receipt(receipt.height)));
            }
            self.receipts_scanned
                .insert(dest_id.clone(), Height(to.0 + 1));
        }
        Ok(events)
    }
}

fn client_options() -> Options {
    Options {
        trusting_period: Duration::from_secs(10 * 365 * 86_400),
        ..Options::default()
    }
}

/// The wall clock as the light client's `now` (the demo's one clock read).
fn now() -> Time {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Time::from_unix_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// A temporary folder removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "corridor-devnet-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
