//! `corridor devnet`: the embedded devnet demo, with real relays.
//!
//! - **Three chains, three operators.** The partner chains of `config/` run in this process
//!   (RPC on loopback, RocksDB stores under the data folder). Each operator's relay is a
//!   `corridor start` process of its own, with its own key, store, QUIC, metrics and API
//!   ports, pinned to the other two: messages cross only through the relays, which verify
//!   every light block and proof, and deliver into the destination chain, whose inbox
//!   verifies everything once more with its own light client.
//! - **The workload:** the chains' registered traders send every document kind along the
//!   trade routes of [`ROUTES`], each document with content of its own (references, dates,
//!   goods), signed with the trader's key and checked field by field before it is submitted.
//! - **Counting:** deliveries are read off the destination chains' own committed receipts
//!   (a second receipt for one message would show as a duplicate); acknowledgements off the
//!   source relays' stores; refusals of injected forgeries off the target relay's metrics.
//! - **Chaos** (`--chaos`): a relay is killed with SIGKILL and restarted on its store, a
//!   relay is paused (SIGSTOP) so its QUIC links go silent and time out, a chain withholds
//!   its blocks for a while, and a rogue holding an operator's pinned key injects a forged
//!   bundle, a replay and bad frames. The run still ends with every message delivered
//!   exactly once.
//!
//! Traders submit through their source relay's trader API (`POST /v1/messages`), as they
//! would in production; a relay that is down or busy is tried again.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use corridor_adapters::devnet::{AdminToken, DevnetAdapter, FaultState};
use corridor_adapters::ChainAdapter;
use corridor_devnet::{devnet_trader_key, genesis_block, DevnetChain, DevnetConfig, DevnetHandle};
use corridor_light_client::documents::examples::example;
use corridor_light_client::envelope::{
    payload_from_json, Deadline, DocumentKind, MessageBody, SignedMessage, VERSION,
};
use corridor_light_client::merkle::MultiProof;
use corridor_light_client::native::NativeVerifier;
use corridor_light_client::receipt::ReceiptResult;
use corridor_light_client::{hash, ChainId, Height};
use corridor_relay::configs::{relay_config, ChainEntry, Listen, PeerEntry, CONFIGS};
use corridor_relay::rocks::RocksStore;
use corridor_relay_core::core::{AuditRecord, Stage};
use corridor_relay_core::store::{Column, Store};
use corridor_relay_core::wire::{Frame, Lane, MessageBatch};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

/// Settings of one demo run.
#[derive(Clone, Debug)]
pub(crate) struct DemoOptions {
    /// Folder for the chains' and relays' stores and keys; a fresh temporary folder when
    /// `None`. Rerunning on the same folder resumes.
    pub(crate) data_dir: Option<PathBuf>,
    /// Block interval of every chain.
    pub(crate) block_interval: Duration,
    /// Messages to send, spread over the routes.
    pub(crate) messages: usize,
    /// Spread the submissions over this long (as fast as accepted when `None`).
    pub(crate) duration: Option<Duration>,
    /// Longest the run may take before the demo gives up.
    pub(crate) timeout: Duration,
    /// Keep everything running after the summary, until Ctrl-C.
    pub(crate) keep_running: bool,
    /// Kill, pause and attack while the messages flow.
    pub(crate) chaos: bool,
    /// Let the system choose every port (several demos at once, tests) instead of the
    /// fixed ports that `monitoring/` scrapes.
    pub(crate) any_ports: bool,
}

/// What a demo run established (its end-to-end test checks the printed summary).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DemoSummary {
    /// Messages submitted.
    pub(crate) submitted: usize,
    /// Submitted messages with exactly one receipt on their destination chain.
    pub(crate) delivered_once: usize,
    /// Receipts beyond the first for one message.
    pub(crate) duplicates: usize,
    /// Messages whose receipt the source relay proved (acknowledged).
    pub(crate) acknowledged: usize,
    /// Forgeries injected (chaos) and how many the target refused, by reason.
    pub(crate) forgeries: BTreeMap<&'static str, (usize, usize)>,
}

/// A trade route: who sends which document from where to whom.
struct Route {
    kind: DocumentKind,
    from: &'static str,
    sender: &'static str,
    to: &'static str,
    receiver: &'static str,
}

/// The routes of the workload: every document kind, every direction between the three.
const ROUTES: [Route; 11] = [
    Route {
        kind: DocumentKind::BillOfLading,
        from: "cn-shanghai",
        sender: "shanghai-freight-forwarder",
        to: "pk-karachi",
        receiver: "karachi-port-agent",
    },
    Route {
        kind: DocumentKind::CommercialInvoice,
        from: "cn-shanghai",
        sender: "shanghai-exporter",
        to: "pk-karachi",
        receiver: "karachi-importer",
    },
    Route {
        kind: DocumentKind::CertificateOfOrigin,
        from: "cn-shanghai",
        sender: "shanghai-exporter",
        to: "kz-astana",
        receiver: "astana-customs-broker",
    },
    Route {
        kind: DocumentKind::LetterOfCredit,
        from: "pk-karachi",
        sender: "karachi-importer",
        to: "cn-shanghai",
        receiver: "shanghai-exporter",
    },
    Route {
        kind: DocumentKind::PackingList,
        from: "cn-shanghai",
        sender: "shanghai-freight-forwarder",
        to: "kz-astana",
        receiver: "astana-importer",
    },
    Route {
        kind: DocumentKind::CustomsDeclaration,
        from: "kz-astana",
        sender: "astana-customs-broker",
        to: "cn-shanghai",
        receiver: "shanghai-exporter",
    },
    Route {
        kind: DocumentKind::PaymentInstruction,
        from: "pk-karachi",
        sender: "karachi-importer",
        to: "cn-shanghai",
        receiver: "shanghai-exporter",
    },
    Route {
        kind: DocumentKind::PaymentInstruction,
        from: "kz-astana",
        sender: "astana-importer",
        to: "pk-karachi",
        receiver: "karachi-importer",
    },
    Route {
        kind: DocumentKind::CustomsDeclaration,
        from: "pk-karachi",
        sender: "karachi-port-agent",
        to: "kz-astana",
        receiver: "astana-customs-broker",
    },
    Route {
        kind: DocumentKind::PackingList,
        from: "cn-shanghai",
        sender: "shanghai-freight-forwarder",
        to: "pk-karachi",
        receiver: "karachi-port-agent",
    },
    Route {
        kind: DocumentKind::LetterOfCredit,
        from: "kz-astana",
        sender: "astana-importer",
        to: "pk-karachi",
        receiver: "karachi-importer",
    },
];

const GOODS: [(&str, &str); 6] = [
    ("Transformers, liquid dielectric", "850421"),
    ("Solar cells, assembled in modules", "854143"),
    ("Cotton yarn, combed", "520522"),
    ("Wheat, durum", "100119"),
    ("Excavators, self-propelled", "842952"),
    ("Polyethylene, primary form", "390110"),
];

fn set(doc: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = value;
    }
}

/// The `n`th document of `kind`: the kind's example with its references, dates and goods
/// made its own (every check digit and code stays valid: the light client's document
/// checks run on it before it is signed).
fn document(kind: DocumentKind, n: usize) -> Value {
    let mut doc = example(kind);
    let (goods, hs) = GOODS[n % GOODS.len()];
    let day = 1 + n % 28;
    let date = format!("2026-11-{day:02}");
    let invoice = format!("INV-2026-{:04}", n % 10_000);
    match kind {
        DocumentKind::BillOfLading => {
            set(&mut doc, "/bl_number", format!("CSHKHI26{:08}", n).into());
            set(&mut doc, "/on_board_date", date.clone().into());
            set(&mut doc, "/issue_date", date.into());
            set(&mut doc, "/goods/0/description", goods.into());
            set(&mut doc, "/goods/0/hs_code", hs.into());
            set(&mut doc, "/goods/0/packages", (1 + n % 40).into());
        }
        DocumentKind::CertificateOfOrigin => {
            set(&mut doc, "/co_number", format!("E2611CN{:07}", n).into());
            set(&mut doc, "/invoice_number", invoice.into());
            set(&mut doc, "/items/0/hs_code", hs.into());
            set(
                &mut doc,
                "/items/0/quantity",
                format!("{} PCE", 1 + n % 90).into(),
            );
            set(&mut doc, "/issue_date", date.into());
        }
        DocumentKind::CommercialInvoice => {
            set(&mut doc, "/invoice_number", invoice.into());
            set(&mut doc, "/issue_date", date.into());
            set(&mut doc, "/lines/0/description", goods.into());
            set(&mut doc, "/lines/0/hs_code", hs.into());
        }
        DocumentKind::LetterOfCredit => {
            set(
                &mut doc,
                "/credit_number",
                format!("LC26KHI{:05}", n).into(),
            );
            set(&mut doc, "/goods", format!("{goods}, CIF Karachi").into());
        }
        DocumentKind::PaymentInstruction => {
            set(&mut doc, "/msg_id", format!("PKB20261128-{:05}", n).into());
            set(&mut doc, "/end_to_end_id", invoice.clone().into());
            set(
                &mut doc,
                "/uetr",
                format!("eb6305c9-1f7f-49de-aed0-{:012x}", n).into(),
            );
            set(
                &mut doc,
                "/remittance",
                format!("{invoice} under LC").into(),
            );
        }
        DocumentKind::CustomsDeclaration => {
            set(&mut doc, "/lrn", format!("KHI-26-{:06}", n).into());
            set(&mut doc, "/goods/0/description", goods.into());
            set(&mut doc, "/goods/0/hs_code", format!("{hs}00").into());
        }
        DocumentKind::PackingList => {
            set(
                &mut doc,
                "/packing_list_number",
                format!("PL-2026-{:05}", n).into(),
            );
            set(&mut doc, "/invoice_ref", invoice.into());
            set(&mut doc, "/issue_date", date.into());
            set(&mut doc, "/packages/0/items/0/hs_code", hs.into());
        }
        DocumentKind::Generic => {
            set(&mut doc, "/title", format!("Inspection report {n}").into());
        }
    }
    doc
}

/// A corridor: (source, destination).
type Corridor = (ChainId, ChainId);

fn corridor_name(c: &Corridor) -> String {
    format!("{} -> {}", c.0, c.1)
}

/// One operator's relay process and its files.
struct RelayProcess {
    chain: ChainId,
    dir: PathBuf,
    key: String,
    listen: Listen,
    child: Option<Child>,
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

impl RelayProcess {
    fn config(&self) -> PathBuf {
        self.dir.join("relay.toml")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Starts `corridor start` and waits for the line that says where it listens.
    fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("log"))?;
        let mut child = Command::new(std::env::current_exe()?)
            .args(["start", "--config"])
            .arg(self.config())
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting a relay process")?;
        let stdout = child.stdout.take().context("relay stdout")?;
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
        if !line.contains(" listening on ") {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the relay of {} did not start; its log ({}):\n{}",
                self.chain,
                self.dir.join("log").display(),
                self.log_tail()
            );
        }
        // Where the HTTP listeners really are (port 0 in the config with --any-ports).
        let between = |from: &str, to: &str| -> Option<SocketAddr> {
            let rest = &line[line.find(from)? + from.len()..];
            rest[..rest.find(to)?].parse().ok()
        };
        if let Some(a) = between("metrics on http://", "/metrics") {
            self.listen.metrics = a;
        }
        if let Some(a) = between("trader API on http://", "/v1") {
            self.listen.api = a;
        }
        self.child = Some(child);
        Ok(())
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn signal(&self, signal: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args([signal, &c.id().to_string()])
                .status();
        }
    }

    /// SIGTERM, then waits (at most 20 s) for a clean exit.
    fn stop(&mut self) {
        self.signal("-TERM");
        if let Some(mut c) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn store(&self) -> PathBuf {
        self.dir.join("data").join("store")
    }
}

fn free_udp() -> anyhow::Result<SocketAddr> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?)
}

/// A devnet chain of the run.
struct DemoChain {
    id: ChainId,
    handle: DevnetHandle,
    adapter: DevnetAdapter,
    root_hash: String,
}

/// What the chaos did, in order (printed as it happens and in the summary).
type Log = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Runs the demo, writing its account to `out`; progress bars go to the terminal.
pub(crate) async fn run(
    options: DemoOptions,
    out: &mut (impl Write + Send),
) -> anyhow::Result<DemoSummary> {
    let temp;
    let data_dir = match &options.data_dir {
        Some(d) => d.clone(),
        None => {
            temp = corridor_light_client::testkit::TempDir::new("devnet");
            temp.path().to_owned()
        }
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let kept = if options.data_dir.is_some() {
        ""
    } else {
        " (a temporary folder, removed when the demo ends; --data-dir DIR keeps it)"
    };
    writeln!(
        out,
        "corridor devnet: three partner chains, three operators' relays, their traders\n  data in {}{kept}",
        data_dir.display()
    )?;
    let mut chains = Vec::new();
    for (i, (name, text)) in CONFIGS.iter().enumerate() {
        chains.push(
            start_chain(name, text, i, &data_dir, &options)
                .await
                .with_context(|| format!("starting chain {name}"))?,
        );
        let c = chains.last().context("a chain")?;
        writeln!(out, "  chain {name:<12} RPC {}", c.handle.url())?;
    }
    let result = with_chains(&chains, &data_dir, &options, out).await;
    for c in chains {
        c.handle.shutdown().await.context("stopping a chain")?;
    }
    result
}

async fn start_chain(
    name: &str,
    text: &str,
    i: usize,
    data_dir: &Path,
    options: &DemoOptions,
) -> anyhow::Result<DemoChain> {
    let mut config = DevnetConfig::from_toml(text)?;
    if options.any_ports {
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    }
    config.admin_listen = SocketAddr::from(([127, 0, 0, 1], 0));
    // A fresh admin token per run: the demo alone can reach the chains' admin RPC.
    let token = AdminToken::generate();
    config.admin_token = Some(token.clone());
    config.store_path = data_dir.join("chains").join(name);
    config.spec.block_interval = options.block_interval;
    let root_hash = genesis_block(&config.spec).header().hash().to_string();
    let id = config.chain_id().clone();
    let handle = DevnetChain::start(config).await.with_context(|| {
        if options.any_ports {
            String::new()
        } else {
            format!("(chain {i}: is its RPC port in use? --any-ports lets the system choose)")
        }
    })?;
    let admin = handle.admin_url().context("no admin listener")?;
    let adapter = DevnetAdapter::new(id.clone(), &handle.url())?.with_admin(&admin, &token)?;
    Ok(DemoChain {
        id,
        handle,
        adapter,
        root_hash,
    })
}

fn listen_for(i: usize, any: bool) -> anyhow::Result<Listen> {
    if any {
        // The QUIC port goes into the partners' configs, so it is chosen here; the HTTP
        // listeners bind port 0 and are read back from the relay's first line (a port
        // chosen here and bound later could be taken in between).
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        return Ok(Listen {
            quic: free_udp()?,
            metrics: any_port,
            api: any_port,
        });
    }
    let port = |base: u16| {
        let offset = u16::try_from(i).unwrap_or(0);
        SocketAddr::from(([127, 0, 0, 1], base + 1 + offset))
    };
    Ok(Listen {
        quic: port(4700),
        metrics: port(9700),
        api: port(4800),
    })
}

const RELAY_LIMITS: &str = "poll_interval_ms = 100\nresend_after_ms = 1000\npenalty_backoff_secs = 2\nreconnect_min_ms = 100\nreconnect_max_ms = 1000\napi_rate_burst = 1000\napi_rate_per_second = 1000\napi_address_rate_burst = 1000\napi_address_rate_per_second = 1000\n";

/// Writes each operator's key (kept when it exists: a rerun resumes) and config.
fn prepare_relays(
    chains: &[DemoChain],
    data_dir: &Path,
    any_ports: bool,
) -> anyhow::Result<Vec<RelayProcess>> {
    let mut relays = Vec::new();
    for (i, c) in chains.iter().enumerate() {
        let dir = data_dir.join("relays").join(c.id.as_str());
        std::fs::create_dir_all(&dir)?;
        let key_file = dir.join("relay.key");
        let key = if key_file.exists() {
            corridor_relay::keys::load(&key_file)?
        } else {
            corridor_relay::keys::generate(&key_file)?
        };
        relays.push(RelayProcess {
            chain: c.id.clone(),
            dir,
            key: hex::encode(key.verifying_key().to_bytes()),
            listen: listen_for(i, any_ports)?,
            child: None,
        });
    }
    let urls: Vec<String> = chains.iter().map(|c| c.handle.url()).collect();
    for i in 0..chains.len() {
        let entry = |j: usize, home: bool| ChainEntry {
            chain_id: chains[j].id.as_str(),
            endpoint: home.then_some(urls[j].as_str()),
            root_hash: &chains[j].root_hash,
        };
        let home = entry(i, true);
        let others: Vec<usize> = (0..chains.len()).filter(|j| *j != i).collect();
        let remotes: Vec<ChainEntry<'_>> = others.iter().map(|j| entry(*j, false)).collect();
        let names: Vec<String> = others
            .iter()
            .map(|j| format!("{}-relay", chains[*j].id))
            .collect();
        let served: Vec<[&str; 1]> = others.iter().map(|j| [chains[*j].id.as_str()]).collect();
        let peers: Vec<PeerEntry<'_>> = others
            .iter()
            .enumerate()
            .map(|(k, j)| PeerEntry {
                name: &names[k],
                key: &relays[*j].key,
                address: relays[*j].listen.quic,
                chains: &served[k],
            })
            .collect();
        let text = relay_config(home, &remotes, &peers, &relays[i].listen, RELAY_LIMITS);
        // The operator's credential for the trader API and its tracking page (sees all).
        let token = relays[i].dir.join("operator.token");
        if !token.exists() {
            write_private(&token, AdminToken::generate().secret())?;
        }
        let mut text = text.replacen(
            "[relay]\n",
            "[relay]\noperator_token_file = \"operator.token\"\n",
            1,
        );
        // The partner chains' RPC, for the API's evidence files.
        for j in &others {
            let id = chains[*j].id.as_str();
            text = text.replacen(
                &format!("chain_id = \"{id}\"\n"),
                &format!(
                    "chain_id = \"{id}\"\nevidence_endpoint = \"{}\"\n",
                    urls[*j]
                ),
                1,
            );
        }
        std::fs::write(relays[i].config(), text)?;
    }
    Ok(relays)
}

/// Writes `text` to a new file readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(file, "{text}")?;
    Ok(())
}

/// The devnet traders' key files and an example document, for `corridor send` by hand.
fn write_trader_files(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut names: BTreeSet<&str> = ROUTES.iter().map(|r| r.sender).collect();
    names.extend(ROUTES.iter().map(|r| r.receiver));
    for name in names {
        let path = dir.join(format!("{name}.key"));
        if !path.exists() {
            corridor_relay::keys::write_seed(&path, corridor_devnet::devnet_trader_seed(name))?;
        }
    }
    let doc = document(DocumentKind::BillOfLading, 90_000);
    std::fs::write(
        dir.join("bill_of_lading.json"),
        serde_json::to_string_pretty(&doc)?,
    )?;
    Ok(())
}

/// What the run knows of one submitted message.
struct Sent {
    corridor: Corridor,
    channel: u32,
    sequence: u64,
    at: Instant,
    delivered: Option<Instant>,
}

/// Receipts seen on the chains: (destination, source, channel, sequence) -> (result, count).
#[derive(Default)]
struct Receipts {
    scanned: BTreeMap<ChainId, u64>,
    seen: BTreeMap<(ChainId, ChainId, u32, u64), (ReceiptResult, usize)>,
}

impl Receipts {
    /// Reads the receipts the chains committed since the last call.
    async fn poll(
        &mut self,
        chains: &[DemoChain],
    ) -> anyhow::Result<Vec<(ChainId, ChainId, u32, u64)>> {
        let mut new = Vec::new();
        for c in chains {
            let tip = c.adapter.status().await?.latest_height.0;
            let from = self.scanned.get(&c.id).copied().unwrap_or(0) + 1;
            let mut start = from;
            while start <= tip {
                let end = tip.min(start + 255);
                for r in c.adapter.receipts(Height(start), Height(end)).await? {
                    let key = (
                        c.id.clone(),
                        r.receipt.source_chain.clone(),
                        r.receipt.channel,
                        r.receipt.sequence,
                    );
                    let entry = self
                        .seen
                        .entry(key.clone())
                        .or_insert((r.receipt.result.clone(), 0));
                    entry.1 += 1;
                    new.push(key);
                }
                start = end + 1;
            }
            self.scanned.insert(c.id.clone(), tip);
        }
        Ok(new)
    }
}

fn result_label(result: &ReceiptResult) -> String {
    match result {
        ReceiptResult::Delivered => "delivered".into(),
        ReceiptResult::Expired => "expired".into(),
        ReceiptResult::Rejected { reason } => {
            let text = format!("{reason:?}");
            let name = text.split([' ', '{', '(']).next().unwrap_or("rejected");
            format!("rejected ({name})")
        }
    }
}

/// The source relay's acknowledged sequences of `corridor` (its audit log), read from a
/// read-only view of its store.
fn acknowledged(relay: &RelayProcess, corridor: &Corridor) -> anyhow::Result<BTreeSet<u64>> {
    let store = RocksStore::open_read_only(&relay.store())?;
    let mut out = BTreeSet::new();
    for (_, value) in store.scan(Column::Audit, b"")? {
        if let Some(r) = AuditRecord::decode(&value) {
            if matches!(r.stage, Stage::Acknowledged(_))
                && r.lane.source == corridor.0
                && r.lane.destination == corridor.1
            {
                out.insert(r.sequence);
            }
        }
    }
    Ok(out)
}

async fn get_text(url: &str) -> Option<(u16, String)> {
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

/// Waits (bounded) until every relay says it is ready.
async fn wait_ready(relays: &[RelayProcess], timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    for r in relays {
        let url = format!("http://{}/readyz", r.listen.metrics);
        loop {
            match get_text(&url).await {
                Some((200, _)) => break,
                other => {
                    if Instant::now() > deadline {
                        bail!(
                            "the relay of {} is not ready after {timeout:?}: {:?}\n{}",
                            r.chain,
                            other.map(|(_, body)| body),
                            r.log_tail()
                        );
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Rounding a rank to an index: both are small and non-negative.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn with_chains(
    chains: &[DemoChain],
    data_dir: &Path,
    options: &DemoOptions,
    out: &mut (impl Write + Send),
) -> anyhow::Result<DemoSummary> {
    let mut relays = prepare_relays(chains, data_dir, options.any_ports)?;
    write_trader_files(&data_dir.join("traders"))?;
    // Public trust roots (block 1 of each chain), for `corridor evidence verify`.
    let roots = data_dir.join("trust-roots");
    std::fs::create_dir_all(&roots)?;
    for c in chains {
        let root = serde_json::json!({
            "chain_id": c.id.as_str(),
            "height": 1,
            "header_hash": c.root_hash,
            "trusting_period_secs": 315_360_000u64,
        });
        std::fs::write(
            roots.join(format!("{}.json", c.id)),
            serde_json::to_string_pretty(&root)?,
        )?;
    }
    for r in &mut relays {
        r.start()?;
        writeln!(
            out,
            "  relay {:<12} QUIC {}  metrics http://{}/metrics  key {}…",
            r.chain.as_str(),
            r.listen.quic,
            r.listen.metrics,
            &r.key[..16]
        )?;
    }
    wait_ready(&relays, Duration::from_secs(60)).await?;
    writeln!(
        out,
        "  every relay is ready: chains synced, peers connected\n"
    )?;

    let start = Instant::now();
    let deadline = start + options.timeout;
    // Nonces differ between runs, so a rerun on the same data folder sends new messages.
    let nonce_base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0))
        * 1000;

    // The plan: message n takes route n mod 11.
    let mut plan: BTreeMap<Corridor, u64> = BTreeMap::new();
    for n in 0..options.messages {
        let r = &ROUTES[n % ROUTES.len()];
        *plan
            .entry((ChainId::new(r.from)?, ChainId::new(r.to)?))
            .or_default() += 1;
    }
    let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{prefix:>28} [{bar:30}] {pos}/{len} delivered {msg}")?
            .progress_chars("=> ");
    let bar: BTreeMap<Corridor, ProgressBar> = plan
        .iter()
        .map(|(c, n)| {
            let b = bars.add(ProgressBar::new(*n));
            b.set_style(style.clone());
            b.set_prefix(corridor_name(c));
            (c.clone(), b)
        })
        .collect();

    let chaos_log: Log = Log::default();
    let mut printed = 0;
    let mut sent: BTreeMap<(ChainId, ChainId, u32, u64), Sent> = BTreeMap::new();
    let mut refused_at_submit: BTreeMap<Corridor, BTreeMap<String, usize>> = BTreeMap::new();
    let mut receipts = Receipts::default();
    let mut next = 0usize;
    // Under chaos the messages keep coming while relays die and chains stall.
    let spread = options
        .duration
        .or(options.chaos.then_some(Duration::from_secs(9)));
    let spacing = spread.map(|d| {
        d.checked_div(u32::try_from(options.messages.max(1)).unwrap_or(u32::MAX))
            .unwrap_or_default()
    });
    let mut chaos = options.chaos.then(|| Chaos::new(chaos_log.clone()));
    let mut last_poll = Instant::now();
    // Short: a paused relay accepts connections and answers nothing; its traders try again
    // (a submission is idempotent) while the run goes on.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(800))
        .build()?;
    loop {
        // Submit what is due (bounded per round so receipts keep being read).
        let mut this_round = 0;
        while next < options.messages && this_round < 64 {
            if let Some(gap) = spacing {
                if start.elapsed() < gap * u32::try_from(next).unwrap_or(u32::MAX) {
                    break;
                }
            }
            let route = &ROUTES[next % ROUTES.len()];
            let corridor = (ChainId::new(route.from)?, ChainId::new(route.to)?);
            let signed = sign(route, next, nonce_base + next as u64)?;
            let source = relays
                .iter()
                .find(|r| r.chain == corridor.0)
                .context("a route's relay")?;
            match submit(&http, source.listen.api, &signed).await {
                Submitted::Accepted { channel, sequence } => {
                    sent.insert(
                        (corridor.1.clone(), corridor.0.clone(), channel, sequence),
                        Sent {
                            corridor,
                            channel,
                            sequence,
                            at: Instant::now(),
                            delivered: None,
                        },
                    );
                    next += 1;
                    this_round += 1;
                }
                // The relay is down or busy, or the outbox is full: again next round.
                Submitted::Later => break,
                Submitted::Refused { reason, detail } => {
                    *refused_at_submit
                        .entry(corridor.clone())
                        .or_default()
                        .entry(reason)
                        .or_default() += 1;
                    bars.suspend(|| {
                        writeln!(
                            out,
                            "  [{:>5.1}s] {} refused at submission: {detail}",
                            start.elapsed().as_secs_f64(),
                            corridor_name(&corridor)
                        )
                    })?;
                    next += 1;
                }
            }
        }
        if let Some(chaos) = &mut chaos {
            chaos.step(start.elapsed(), chains, &mut relays).await;
        }
        let new: Vec<String> = chaos_log
            .lock()
            .map(|l| l[printed..].to_vec())
            .unwrap_or_default();
        printed += new.len();
        for line in new {
            bars.suspend(|| writeln!(out, "  [{:>5.1}s] {line}", start.elapsed().as_secs_f64()))?;
        }
        if last_poll.elapsed() >= Duration::from_millis(250) {
            last_poll = Instant::now();
            match receipts.poll(chains).await {
                Ok(new) => {
                    let mut notes = Vec::new();
                    for key in new {
                        let Some(s) = sent.get_mut(&key) else {
                            continue;
                        };
                        if s.delivered.is_some() {
                            continue;
                        }
                        s.delivered = Some(Instant::now());
                        let Some(b) = bar.get(&s.corridor) else {
                            continue;
                        };
                        b.inc(1);
                        if b.position() == 1 {
                            notes.push(format!(
                                "{}: first delivery (sequence {}), {:.2}s after its submission",
                                corridor_name(&s.corridor),
                                s.sequence,
                                s.at.elapsed().as_secs_f64()
                            ));
                        }
                        if Some(b.position()) == b.length() {
                            notes.push(format!(
                                "{}: all {} delivered",
                                corridor_name(&s.corridor),
                                b.position()
                            ));
                        }
                    }
                    for note in notes {
                        bars.suspend(|| {
                            writeln!(out, "  [{:>5.1}s] {note}", start.elapsed().as_secs_f64())
                        })?;
                    }
                }
                // A withholding chain answers; a slow one is read again next round.
                Err(e) => tracing::debug!(error = %e, "reading receipts"),
            }
        }
        let chaos_done = chaos.as_ref().is_none_or(Chaos::done);
        let all_in = next >= options.messages && sent.values().all(|s| s.delivered.is_some());
        if all_in && chaos_done {
            break;
        }
        if Instant::now() > deadline {
            bars.clear()?;
            let missing = sent.values().filter(|s| s.delivered.is_none()).count();
            let logs: Vec<String> = relays
                .iter()
                .map(|r| format!("--- relay {}\n{}", r.chain, r.log_tail()))
                .collect();
            bail!(
                "after {:?}: {missing} of {} messages not delivered ({} not yet submitted)\n{}",
                options.timeout,
                sent.len(),
                options.messages - next,
                logs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for b in bar.values() {
        b.finish_with_message("✓");
    }
    let delivered_at = start.elapsed();

    // Receipts travel back to the source relays: wait (bounded) for every acknowledgement.
    let mut acked: BTreeMap<Corridor, BTreeSet<u64>> = BTreeMap::new();
    let ack_deadline = Instant::now() + Duration::from_secs(60).min(options.timeout);
    loop {
        for c in plan.keys() {
            let relay = relays.iter().find(|r| r.chain == c.0).context("a relay")?;
            acked.insert(c.clone(), acknowledged(relay, c).unwrap_or_default());
        }
        let all = sent.values().all(|s| {
            acked
                .get(&s.corridor)
                .is_some_and(|a| a.contains(&s.sequence))
        });
        if all || Instant::now() > ack_deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let elapsed = start.elapsed();
    bars.clear()?;

    // Refusals of the injected forgeries, read off the target relay's metrics.
    let mut summary = DemoSummary::default();
    if let Some(chaos) = &chaos {
        summary.forgeries = chaos.verdicts.clone().unwrap_or_default();
    }

    writeln!(out, "\nsummary (counted on the destination chains' own receipts and the source relays' stores):")?;
    writeln!(
        out,
        "  {:<28} {:>9} {:>9} {:>6} {:>12} {:>9} {:>9} {:>9}  rejected",
        "corridor", "submitted", "delivered", "twice", "acknowledged", "msg/s", "p50", "p99"
    )?;
    for (c, planned) in &plan {
        let of: Vec<&Sent> = sent.values().filter(|s| &s.corridor == c).collect();
        let mut latencies: Vec<Duration> = of
            .iter()
            .filter_map(|s| s.delivered.map(|d| d.duration_since(s.at)))
            .collect();
        latencies.sort_unstable();
        let mut delivered = 0;
        let mut twice = 0;
        let mut rejected: BTreeMap<String, usize> =
            refused_at_submit.get(c).cloned().unwrap_or_default();
        for s in &of {
            let key = (c.1.clone(), c.0.clone(), s.channel, s.sequence);
            if let Some((result, count)) = receipts.seen.get(&key) {
                if *count > 1 {
                    twice += 1;
                }
                if *result == ReceiptResult::Delivered {
                    delivered += 1;
                } else {
                    *rejected.entry(result_label(result)).or_default() += 1;
                }
            }
        }
        let acks = of
            .iter()
            .filter(|s| acked.get(c).is_some_and(|a| a.contains(&s.sequence)))
            .count();
        summary.submitted += of.len();
        summary.delivered_once += delivered - twice;
        summary.duplicates += twice;
        summary.acknowledged += acks;
        let rate = delivered as f64 / delivered_at.as_secs_f64().max(0.001);
        let rejected: Vec<String> = rejected.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        writeln!(
            out,
            "  {:<28} {:>9} {:>9} {:>6} {:>12} {:>9.1} {:>8.2}s {:>8.2}s  {}",
            corridor_name(c),
            format!("{}/{planned}", of.len()),
            delivered,
            twice,
            acks,
            rate,
            percentile(&latencies, 0.5).as_secs_f64(),
            percentile(&latencies, 0.99).as_secs_f64(),
            if rejected.is_empty() {
                "none".to_owned()
            } else {
                rejected.join(", ")
            }
        )?;
    }
    writeln!(
        out,
        "  {} of {} delivered exactly once, {} duplicated, {} acknowledged; all in {:.1}s (latency: submitted to receipt committed on the destination)",
        summary.delivered_once,
        summary.submitted,
        summary.duplicates,
        summary.acknowledged,
        elapsed.as_secs_f64()
    )?;
    if options.chaos {
        writeln!(out, "\nchaos:")?;
        for line in chaos_log.lock().map(|l| l.clone()).unwrap_or_default() {
            writeln!(out, "  {line}")?;
        }
        for (reason, (injected, refused)) in &summary.forgeries {
            writeln!(
                out,
                "  injected {injected} {reason}: {refused} refused as {reason} by the relay of cn-shanghai"
            )?;
        }
    }
    if options.keep_running {
        writeln!(
            out,
            "\nwhere to look next (all of it keeps running until Ctrl-C):"
        )?;
    } else {
        writeln!(
            out,
            "\nwhere to look next (this run stops now: `bash scripts/demo.sh --keep-running --data-dir demo` keeps the relays up and the files below):"
        )?;
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "corridor".into());
    for r in &relays {
        writeln!(
            out,
            "  {:<12} tracking page http://{a}/ (operator token in {})\n               trader API http://{a}/v1 (http://{a}/v1/openapi.json)  metrics http://{m}/metrics  ready http://{m}/readyz",
            r.chain.as_str(),
            r.dir.join("operator.token").display(),
            a = r.listen.api,
            m = r.listen.metrics
        )?;
    }
    if let Some(cn) = relays.iter().find(|r| r.chain.as_str() == "cn-shanghai") {
        let traders = data_dir.join("traders");
        writeln!(
            out,
            "  as a trader (keys and an example document in {}):\n    {exe} send --api http://{a} --key {t}/shanghai-exporter.key --doc {t}/bill_of_lading.json --kind bill_of_lading --from cn-shanghai --to pk-karachi --receiver {}\n    {exe} track --api http://{a} --key {t}/shanghai-exporter.key ID",
            traders.display(),
            devnet_trader_key("karachi-port-agent").public_key(),
            a = cn.listen.api,
            t = traders.display()
        )?;
        writeln!(
            out,
            "    {exe} evidence get ID --api http://{a} --key {t}/shanghai-exporter.key --trust-roots {r} --out evidence.json\n    {exe} evidence verify evidence.json --trust-roots {r}",
            a = cn.listen.api,
            t = traders.display(),
            r = data_dir.join("trust-roots").display()
        )?;
    }
    writeln!(
        out,
        "  Grafana: monitoring/README.md (Prometheus scrapes the relays on 127.0.0.1:9701-9703; --keep-running keeps them up)"
    )?;
    let removed = if options.data_dir.is_none() && !options.keep_running {
        " (removed as the demo ends: run with --data-dir DIR to keep them)"
    } else {
        ""
    };
    writeln!(
        out,
        "  relay logs and stores: {}{removed}",
        data_dir.join("relays").display()
    )?;

    if options.keep_running {
        writeln!(out, "\neverything keeps running; Ctrl-C stops it")?;
        out.flush()?;
        let _ = tokio::signal::ctrl_c().await;
    }
    for r in &mut relays {
        r.stop();
    }
    let complete = summary.delivered_once == summary.submitted
        && summary.duplicates == 0
        && summary.acknowledged == summary.submitted
        && summary.submitted == options.messages
        && summary
            .forgeries
            .values()
            .all(|(injected, refused)| refused >= injected);
    if !complete {
        bail!("the run is incomplete: see the summary above");
    }
    Ok(summary)
}

/// What a relay's trader API said to a submission.
enum Submitted {
    Accepted { channel: u32, sequence: u64 },
    Later,
    Refused { reason: String, detail: String },
}

/// `POST /v1/messages` on the source relay's trader API.
async fn submit(http: &reqwest::Client, api: SocketAddr, signed: &SignedMessage) -> Submitted {
    let Ok(response) = http
        .post(format!("http://{api}/v1/messages"))
        .json(signed)
        .send()
        .await
    else {
        return Submitted::Later;
    };
    let status = response.status().as_u16();
    let Ok(body) = response.json::<Value>().await else {
        return Submitted::Later;
    };
    match status {
        200 | 202 => match (body["channel"].as_u64(), body["sequence"].as_u64()) {
            (Some(channel), Some(sequence)) => Submitted::Accepted {
                channel: u32::try_from(channel).unwrap_or(u32::MAX),
                sequence,
            },
            _ => Submitted::Refused {
                reason: "bad-answer".into(),
                detail: format!("an answer without channel and sequence: {body}"),
            },
        },
        429 | 503 => Submitted::Later,
        _ => {
            let kind = body["type"].as_str().unwrap_or("refused");
            Submitted::Refused {
                reason: kind.rsplit('/').next().unwrap_or(kind).to_owned(),
                detail: format!("{status}: {}", body["detail"].as_str().unwrap_or_default()),
            }
        }
    }
}

fn sign(route: &Route, n: usize, nonce: u64) -> anyhow::Result<SignedMessage> {
    let key = devnet_trader_key(route.sender);
    let doc = document(route.kind, n);
    let payload = payload_from_json(&doc)?;
    let body = MessageBody {
        version: VERSION,
        source_chain: ChainId::new(route.from)?,
        destination_chain: ChainId::new(route.to)?,
        channel: 0,
        nonce,
        sender: key.public_key(),
        receiver: devnet_trader_key(route.receiver).public_key(),
        kind: route.kind,
        payload_hash: hash::sha3(&payload.0),
        payload,
        deadline: Deadline::Height(Height(u64::MAX / 2)),
    };
    let signed = body.sign(&key)?;
    // The envelope's own checks (the document's fields among them), before submission.
    signed
        .validate(&corridor_light_client::envelope::Limits::default())
        .map_err(|e| anyhow::anyhow!("document {n} ({}): {e}", route.kind))?;
    Ok(signed)
}

/// Forgeries of the rogue, by the reason the target must give: how many were injected.
const INJECTED: [(&str, usize); 3] = [("bad-frame", 3), ("invalid-proof", 1), ("duplicate", 1)];

/// The chaos schedule, stepped by the main loop (seconds since the workload started).
struct Chaos {
    log: Log,
    stage: usize,
    rogue: Option<tokio::task::JoinHandle<anyhow::Result<Verdicts>>>,
    verdicts: Option<Verdicts>,
}

type Verdicts = BTreeMap<&'static str, (usize, usize)>;

const KILLED: &str = "kz-astana";
const WITHHOLDING: &str = "pk-karachi";
const PAUSED: &str = "pk-karachi";
/// The rogue holds this operator's key and attacks the relay of [`TARGET`].
const IMPERSONATED: &str = "pk-karachi";
const TARGET: &str = "cn-shanghai";

impl Chaos {
    fn new(log: Log) -> Self {
        Self {
            log,
            stage: 0,
            rogue: None,
            verdicts: None,
        }
    }

    fn done(&self) -> bool {
        self.stage >= 7 && self.verdicts.is_some()
    }

    fn say(&self, line: String) {
        if let Ok(mut l) = self.log.lock() {
            l.push(line);
        }
    }

    async fn step(&mut self, elapsed: Duration, chains: &[DemoChain], relays: &mut [RelayProcess]) {
        const AT: [f64; 7] = [1.0, 1.5, 3.0, 3.5, 6.5, 7.0, 10.0];
        if let Some(rogue) = self.rogue.take_if(|r| r.is_finished()) {
            let verdicts = match rogue.await {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => {
                    self.say(format!("the rogue could not attack: {e:#}"));
                    INJECTED.iter().map(|(r, n)| (*r, (*n, 0))).collect()
                }
                Err(e) => {
                    self.say(format!("the rogue task failed: {e}"));
                    INJECTED.iter().map(|(r, n)| (*r, (*n, 0))).collect()
                }
            };
            let said: Vec<String> = verdicts
                .iter()
                .map(|(r, (i, n))| format!("{n} of {i} {r}"))
                .collect();
            self.say(format!(
                "relay {TARGET} refused the rogue's input by reason: {}",
                said.join(", ")
            ));
            self.verdicts = Some(verdicts);
        }
        let Some(at) = AT.get(self.stage) else {
            return;
        };
        if elapsed.as_secs_f64() < *at {
            return;
        }
        let relay = |relays: &mut [RelayProcess], chain: &str| {
            relays.iter_mut().position(|r| r.chain.as_str() == chain)
        };
        match self.stage {
            0 => match rogue_task(chains, relays) {
                Ok(task) => {
                    self.say(format!("a rogue holding the {IMPERSONATED} operator's key connects to the relay of {TARGET} (its link replaces the real one: the real link is cut until the relays reconnect)"));
                    self.rogue = Some(tokio::spawn(task));
                }
                Err(e) => {
                    self.say(format!("the rogue could not start: {e:#}"));
                    self.verdicts = Some(INJECTED.iter().map(|(r, n)| (*r, (*n, 0))).collect());
                }
            },
            1 => {
                if let Some(i) = relay(relays, KILLED) {
                    relays[i].kill();
                    self.say(format!("relay {KILLED} killed (SIGKILL)"));
                }
            }
            2 => {
                if let Some(i) = relay(relays, KILLED) {
                    match relays[i].start() {
                        Ok(()) => self.say(format!("relay {KILLED} restarted on its store")),
                        Err(e) => self.say(format!("relay {KILLED} did not restart: {e:#}")),
                    }
                }
            }
            3 | 4 => {
                let on = self.stage == 3;
                if let Some(c) = chains.iter().find(|c| c.id.as_str() == WITHHOLDING) {
                    let faults = FaultState {
                        withhold: on,
                        ..FaultState::default()
                    };
                    match c.adapter.set_faults(&faults).await {
                        Ok(_) if on => self.say(format!(
                            "chain {WITHHOLDING} withholds its blocks (produced, not published)"
                        )),
                        Ok(_) => {
                            self.say(format!("chain {WITHHOLDING} publishes its blocks again"))
                        }
                        Err(e) => {
                            self.say(format!("chain {WITHHOLDING}: setting faults failed: {e}"))
                        }
                    }
                }
            }
            5 | 6 => {
                let pause = self.stage == 5;
                if let Some(i) = relay(relays, PAUSED) {
                    relays[i].signal(if pause { "-STOP" } else { "-CONT" });
                    self.say(if pause {
                        format!("relay {PAUSED} paused (SIGSTOP): its peers' frames go unanswered")
                    } else {
                        format!("relay {PAUSED} resumed (SIGCONT)")
                    });
                }
            }
            _ => {}
        }
        self.stage += 1;
    }
}

/// The rogue: with the impersonated operator's key it connects to the target relay, waits
/// until a real message of the impersonated chain has been delivered through the target,
/// then sends bad frames, a forged bundle (a changed message under a proof of nothing) and
/// a replay of the real bundle; it reads the target's refusals, by reason, off its metrics.
fn rogue_task(
    chains: &[DemoChain],
    relays: &[RelayProcess],
) -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<Verdicts>> + Send + 'static> {
    let find = |chain: &str| relays.iter().find(|r| r.chain.as_str() == chain);
    let target = find(TARGET).context("target relay")?;
    let me = find(IMPERSONATED).context("impersonated relay")?;
    let key = corridor_relay::keys::load(&me.dir.join("relay.key"))?;
    let target_key_bytes: [u8; 32] = hex::decode(&target.key)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("target key length"))?;
    let target_key = ed25519_dalek::VerifyingKey::from_bytes(&target_key_bytes)?;
    let target_quic = target.listen.quic;
    let metrics_url = format!("http://{}/metrics", target.listen.metrics);
    let chain_of = |id: &str| chains.iter().find(|c| c.id.as_str() == id);
    let source_url = chain_of(IMPERSONATED).context("chain")?.handle.url();
    let dest_url = chain_of(TARGET).context("chain")?.handle.url();
    let source_id = ChainId::new(IMPERSONATED)?;
    let dest_id = ChainId::new(TARGET)?;
    let peer_label = format!("{IMPERSONATED}-relay");
    Ok(async move {
        let source = DevnetAdapter::new(source_id.clone(), &source_url)?;
        let dest = DevnetAdapter::new(dest_id.clone(), &dest_url)?;
        // A real message of the lane, delivered through the target.
        let deadline = Instant::now() + Duration::from_secs(60);
        let real = loop {
            anyhow::ensure!(
                Instant::now() < deadline,
                "no message of {source_id} to {dest_id} was delivered within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
            let Ok(status) = source.status().await else {
                continue;
            };
            let Ok(found) = source
                .outbound_messages(Height(1), Height(status.latest_height.0.min(256)))
                .await
            else {
                continue;
            };
            let Some(m) = found
                .into_iter()
                .find(|m| m.message.message.body.destination_chain == dest_id)
            else {
                continue;
            };
            let tip = dest.status().await?.latest_height;
            let delivered = dest
                .receipts(Height(1), Height(tip.0.min(256)))
                .await
                .unwrap_or_default()
                .iter()
                .any(|r| {
                    r.receipt.source_chain == source_id && r.receipt.sequence == m.message.sequence
                });
            if delivered {
                break m;
            }
        };
        let lane = Lane::of(&real.message);
        let replay = MessageBatch::<NativeVerifier> {
            lane: lane.clone(),
            height: real.height,
            light_blocks: Vec::new(),
            messages: vec![real.message.clone()],
            proof: MultiProof::join(std::slice::from_ref(&real.proof)),
        };
        let mut forged = replay.clone();
        forged.messages[0].message.body.nonce ^= 1;
        forged.messages[0].sequence = 1_000_000 + real.message.sequence;
        forged.proof = Some(MultiProof {
            tree_size: 1,
            indices: vec![0],
            hashes: Vec::new(),
        });
        let series = |reason: &str| {
            format!(r#"corridor_peer_rejections_total{{peer="{peer_label}",reason="{reason}"}}"#)
        };
        let read = |text: &str, reason: &str| -> usize {
            let s = series(reason);
            text.lines()
                .find_map(|l| l.strip_prefix(&s)?.trim().parse::<f64>().ok())
                .map_or(0, |v| {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let n = v as usize;
                    n
                })
        };
        let scrape = || async { reqwest::get(&metrics_url).await?.text().await };
        let before = scrape().await?;
        let endpoint = corridor_quic::Endpoint::bind(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            &key,
            vec![target_key],
            corridor_quic::TransportConfig::default(),
        )?;
        let hello = corridor_quic::Hello::new(&key.verifying_key(), vec![source_id.to_string()]);
        let garbage: [&[u8]; 3] = [b"\xff\x00 not a frame", b"\x00", b"\xa1\x63bad\xf6"];
        let forgeries: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::from([
            ("bad-frame", garbage.iter().map(|g| g.to_vec()).collect()),
            (
                "invalid-proof",
                vec![Frame::Batch(forged.into_any()).encode()?],
            ),
            ("duplicate", vec![Frame::Batch(replay.into_any()).encode()?]),
        ]);
        let judged = |text: &str| -> Verdicts {
            INJECTED
                .iter()
                .map(|(reason, n)| {
                    let refused = read(text, reason).saturating_sub(read(&before, reason));
                    (*reason, (*n, refused.min(*n)))
                })
                .collect()
        };
        // The rogue's link replaces the real one; when the real relay reconnects, its link
        // replaces the rogue's in turn, and frames the target had not read yet are never
        // judged. Those same forgeries go again over a new link, a bounded number of times.
        let mut verdicts = judged(&before);
        for _round in 0..5 {
            let Ok(link) = endpoint.connect(target_quic, target_key, &hello).await else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            };
            'send: for (reason, (n, refused)) in &verdicts {
                let frames = &forgeries[reason];
                for frame in &frames[frames.len() - (n - refused)..] {
                    if link.send(frame).await.is_err() {
                        break 'send;
                    }
                }
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                verdicts = judged(&scrape().await?);
                if verdicts.values().all(|(n, r)| r >= n) || Instant::now() > deadline {
                    break;
                }
            }
            link.close(0, "done");
            if verdicts.values().all(|(n, r)| r >= n) {
                break;
            }
        }
        endpoint.close();
        Ok(verdicts)
    })
}
