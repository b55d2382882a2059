//! `corridor bench`: two devnet chains (in this process) and two relays (child processes of
//! this binary: real QUIC on loopback, real RocksDB) carry one corridor at full speed.
//!
//! It reports messages per second and the latency from commit on the source chain (the
//! committing block's time) to the receipt proven back at the source relay (its audit log),
//! the CPU time each relay process spent per message (`/proc/<pid>/stat`), and each relay's
//! crypto floor for the same work measured in this run: per message, the proofs it checks
//! (its share of a multiproof of the message's block: the source relay's of the block's
//! messages from its endpoint, the destination relay's of the peer's batch; and its share
//! of a multiproof of the receipt's block), plus the light blocks it verifies (its home chain's and the
//! peer's), amortised over the messages.
//!
//! With `--backlog` the source chain commits every message before the relays start, so the
//! throughput is the relays' own pace (from their start to the last receipt back) rather
//! than the chain's intake, which bounds a run where traders submit while the relays work.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use corridor_adapters::devnet::DevnetAdapter;
use corridor_adapters::ChainAdapter;
use corridor_devnet::{devnet_trader_key, genesis_block, DevnetChain, DevnetConfig, DevnetHandle};
use corridor_light_client::envelope::{
    payload_from_json, Deadline, DocumentKind, MessageBody, VERSION,
};
use corridor_light_client::{hash, ChainId, Height, Time};
use corridor_relay_core::core::{AuditRecord, Stage};
use corridor_relay_core::store::{Column, Store};

use corridor_relay::configs::{relay_config_toml, ChainEntry, CONFIGS};
use corridor_relay::rocks::RocksStore;

/// Settings of a bench run.
#[derive(Clone, Debug)]
pub(crate) struct BenchOptions {
    /// Messages to carry.
    pub(crate) messages: u64,
    /// Block interval of both chains.
    pub(crate) block_interval: Duration,
    /// Most messages per block.
    pub(crate) max_per_block: usize,
    /// Give up after this long.
    pub(crate) timeout: Duration,
    /// Commit every message before the relays start (their own pace, not the chain's
    /// intake; latency then includes the wait in the backlog).
    pub(crate) backlog: bool,
}

struct BenchChain {
    handle: DevnetHandle,
    url: String,
    adapter: DevnetAdapter,
    id: ChainId,
    root_hash: String,
}

async fn start_chain(name: &str, dir: &Path, o: &BenchOptions) -> anyhow::Result<BenchChain> {
    let text = CONFIGS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .context("no such chain")?;
    let mut config = DevnetConfig::from_toml(text)?;
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.admin_listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.store_path = dir.join(name);
    config.spec.block_interval = o.block_interval;
    config.max_messages_per_block = o.max_per_block;
    config.max_pending = o.max_per_block.saturating_mul(8);
    let root_hash = genesis_block(&config.spec).header().hash().to_string();
    let id = config.chain_id().clone();
    let handle = DevnetChain::start(config).await?;
    let url = handle.url();
    let adapter = DevnetAdapter::new(id.clone(), &url)?;
    Ok(BenchChain {
        handle,
        url,
        adapter,
        id,
        root_hash,
    })
}

fn entry(chain: &BenchChain, endpoint: bool) -> ChainEntry<'_> {
    ChainEntry {
        chain_id: chain.id.as_str(),
        endpoint: endpoint.then_some(chain.url.as_str()),
        root_hash: &chain.root_hash,
    }
}

struct RelayProcess {
    child: Child,
    dir: PathBuf,
    listen: std::net::SocketAddr,
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cpu_seconds(pid: u32) -> f64 {
    // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100/s).
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields
        .get(11)
        .and_then(|u| u.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
    ticks as f64 / 100.0
}

fn start_relay(
    dir: &Path,
    home: &BenchChain,
    remote: &BenchChain,
    peer_key: &str,
    peer_addr: std::net::SocketAddr,
) -> anyhow::Result<RelayProcess> {
    let config = relay_config_toml(
        entry(home, true),
        entry(remote, false),
        peer_key,
        peer_addr,
        "poll_interval_ms = 50\nwindow = 8192\n",
    );
    std::fs::write(dir.join("relay.toml"), config)?;
    let log = std::fs::File::create(dir.join("log"))?;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["start", "--config"])
        .arg(dir.join("relay.toml"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()?;
    let stdout = child.stdout.take().context("relay stdout")?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
    let listen = line
        .trim()
        .rsplit_once(" listening on ")
        .and_then(|(_, r)| r.split_whitespace().next())
        .with_context(|| format!("relay did not start: {line}"))?
        .parse()?;
    Ok(RelayProcess {
        child,
        dir: dir.to_owned(),
        listen,
    })
}

/// The crypto floor of the run's work, measured here (proof and signature verification
/// alone, nothing else a relay does).
struct Floor {
    /// One inclusion proof of a leaf of a tree of the run's block size.
    single: Duration,
    /// One message's share of a multiproof of a whole block of that size.
    multi: Duration,
    /// One light block's verification (its validators' signatures).
    block: Duration,
}

impl Floor {
    /// Measures the floor for blocks of `per_block` messages.
    fn measure(per_block: usize) -> Self {
        use corridor_light_client::merkle::{MerkleTree, MultiProof};
        use corridor_light_client::testgen::{self, ChainSpec};
        use corridor_light_client::verifier::Verifier;
        let leaves: Vec<Vec<u8>> = (0..per_block.max(1))
            .map(|i| {
                format!("leaf {i} of a trade message about two hundred bytes long ........")
                    .into_bytes()
            })
            .collect();
        let tree = MerkleTree::from_leaves(&leaves);
        let root = tree.root();
        let proofs: Vec<_> = (0..leaves.len() as u64)
            .filter_map(|i| tree.prove(i))
            .collect();
        let n = u32::try_from(leaves.len()).unwrap_or(u32::MAX);
        // Each measurement repeats its work until it took at least 50 ms.
        let time = |work: &mut dyn FnMut() -> usize| {
            let (start, mut rounds, mut ok) = (Instant::now(), 0u32, 0usize);
            while rounds == 0 || start.elapsed() < Duration::from_millis(50) {
                ok += work();
                rounds += 1;
            }
            assert!(ok > 0, "the floor's proofs verify");
            start.elapsed() / rounds
        };
        let single = time(&mut || {
            proofs
                .iter()
                .zip(&leaves)
                .filter(|(p, l)| p.verify(l, &root).is_ok())
                .count()
        }) / n;
        // The relays' multiproofs are joined from the single proofs, as here.
        let multiproof = MultiProof::join(&proofs)
            .unwrap_or_else(|| unreachable!("the proofs of one tree join"));
        let multi = time(&mut || usize::from(multiproof.verify(&leaves, &root).is_ok())) / n;
        let spec = ChainSpec::simple("cn-shanghai", 5);
        let blocks = testgen::chain(&spec, 21);
        let verifier = corridor_light_client::native::NativeVerifier;
        let now = spec.time_at(Height(22));
        let options = corridor_light_client::Options {
            trusting_period: Duration::from_secs(315_360_000),
            ..Default::default()
        };
        let block = time(&mut || {
            blocks
                .windows(2)
                .filter(|pair| {
                    let trusted = verifier.trusted_state(&pair[0]);
                    matches!(
                        verifier.verify_update(&pair[1], &trusted, &options, now),
                        corridor_light_client::Verdict::Success
                    )
                })
                .count()
        }) / 20;
        Self {
            single,
            multi,
            block,
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn to_instant_ms(t: Time) -> u128 {
    u128::from(t.unix_nanos()) / 1_000_000
}

/// Runs the bench and writes its report to `out`.
/// Submissions in flight at once.
const SUBMITTERS: usize = 64;

/// Starts both relays (the one with the higher key first: it accepts, and the other dials
/// its port); returns them with their CPU seconds so far and when they started.
fn start_relays(
    dir: &Path,
    cn: &BenchChain,
    kz: &BenchChain,
) -> anyhow::Result<(RelayProcess, RelayProcess, (f64, f64), Time)> {
    let (a_dir, b_dir) = (dir.join("relay-cn"), dir.join("relay-kz"));
    std::fs::create_dir_all(&a_dir)?;
    std::fs::create_dir_all(&b_dir)?;
    let a_key = hex::encode(
        corridor_relay::keys::generate(&a_dir.join("relay.key"))?
            .verifying_key()
            .to_bytes(),
    );
    let b_key = hex::encode(
        corridor_relay::keys::generate(&b_dir.join("relay.key"))?
            .verifying_key()
            .to_bytes(),
    );
    let started = corridor_relay::now();
    let (a, b) = if a_key < b_key {
        let b = start_relay(&b_dir, kz, cn, &a_key, "127.0.0.1:9".parse()?)?;
        let a = start_relay(&a_dir, cn, kz, &b_key, b.listen)?;
        (a, b)
    } else {
        let a = start_relay(&a_dir, cn, kz, &b_key, "127.0.0.1:9".parse()?)?;
        let b = start_relay(&b_dir, kz, cn, &a_key, a.listen)?;
        (a, b)
    };
    let cpu = (cpu_seconds(a.child.id()), cpu_seconds(b.child.id()));
    Ok((a, b, cpu, started))
}

/// Traders submit `n` messages to cn-shanghai as fast as the chain takes them, SUBMITTERS
/// at a time (the chain writes the transactions waiting together in one synced write).
async fn submit_all(cn: &BenchChain, kz: &BenchChain, n: u64) -> anyhow::Result<()> {
    let key = devnet_trader_key("shanghai-exporter");
    let mut submitted = 0u64;
    let mut in_flight = tokio::task::JoinSet::new();
    let adapter = std::sync::Arc::new(DevnetAdapter::new(cn.id.clone(), &cn.handle.url())?);
    for nonce in 1..=n {
        let payload = payload_from_json(&serde_json::json!({ "document": nonce }))?;
        let body = MessageBody {
            version: VERSION,
            source_chain: cn.id.clone(),
            destination_chain: kz.id.clone(),
            channel: 0,
            nonce,
            sender: key.public_key(),
            receiver: devnet_trader_key("astana-importer").public_key(),
            kind: DocumentKind::Generic,
            payload_hash: hash::sha3(&payload.0),
            payload,
            deadline: Deadline::Height(Height(100_000_000)),
        };
        let signed = body.sign(&key)?;
        let adapter = adapter.clone();
        in_flight.spawn(async move {
            // Only a full outbox is worth waiting for; anything else is an answer.
            for _ in 0..400 {
                match adapter.submit_message(&signed).await {
                    Ok(_) => return Ok(()),
                    Err(e) if e.problem() == Some("outbox-full") => {
                        tokio::time::sleep(Duration::from_millis(25)).await;
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
            Err("the outbox stayed full".to_owned())
        });
        while in_flight.len() >= SUBMITTERS {
            match in_flight.join_next().await {
                Some(Ok(Ok(()))) => submitted += 1,
                Some(Ok(Err(e))) => bail!("submitting to cn-shanghai: {e}"),
                _ => {}
            }
        }
    }
    while let Some(r) = in_flight.join_next().await {
        match r {
            Ok(Ok(())) => submitted += 1,
            Ok(Err(e)) => bail!("submitting to cn-shanghai: {e}"),
            Err(_) => {}
        }
    }
    if submitted != n {
        bail!("only {submitted} of {n} messages were accepted by cn-shanghai");
    }
    Ok(())
}

/// The height of the block that committed each message of cn-shanghai, by sequence.
async fn committed_heights(cn: &BenchChain) -> anyhow::Result<BTreeMap<u64, Height>> {
    let tip = cn.adapter.status().await?.latest_height;
    let mut commit_height: BTreeMap<u64, Height> = BTreeMap::new();
    let mut from = 1u64;
    while from <= tip.0 {
        let to = (from + 255).min(tip.0);
        for m in cn
            .adapter
            .outbound_messages(Height(from), Height(to))
            .await?
        {
            commit_height.insert(m.message.sequence, m.height);
        }
        from = to + 1;
    }
    Ok(commit_height)
}

pub(crate) async fn run(
    options: BenchOptions,
    out: &mut (impl Write + Send),
) -> anyhow::Result<()> {
    let tmp = corridor_light_client::testkit::TempDir::new("bench");
    let dir = tmp.path().to_owned();
    writeln!(
        out,
        "corridor bench: {} messages cn-shanghai -> kz-astana, blocks every {:?}, at most {} per block",
        options.messages, options.block_interval, options.max_per_block
    )?;
    let cn = start_chain("cn-shanghai", &dir, &options).await?;
    let kz = start_chain("kz-astana", &dir, &options).await?;
    let n = options.messages;
    let started = Instant::now();
    // With a backlog, the source chain commits every message before the relays start, so
    // the relays' own pace is measured, not the chain's intake.
    let relays = if options.backlog {
        submit_all(&cn, &kz, n).await?;
        writeln!(
            out,
            "  submitted {n} in {:.1} s, before the relays start",
            started.elapsed().as_secs_f64()
        )?;
        let deadline = started + options.timeout;
        while (committed_heights(&cn).await?.len() as u64) < n {
            if Instant::now() > deadline {
                bail!(
                    "cn-shanghai did not commit {n} messages in {:?}",
                    options.timeout
                );
            }
            tokio::time::sleep(options.block_interval).await;
        }
        let relays = start_relays(&dir, &cn, &kz)?;
        writeln!(out, "  every message committed; relays started")?;
        relays
    } else {
        let relays = start_relays(&dir, &cn, &kz)?;
        let submitting = Instant::now();
        submit_all(&cn, &kz, n).await?;
        writeln!(
            out,
            "  submitted {n} in {:.1} s",
            submitting.elapsed().as_secs_f64()
        )?;
        relays
    };
    let (a, b, cpu0, relays_started) = relays;

    // Wait for every acknowledgement in the source relay's audit log (read-only while it runs).
    let deadline = started + options.timeout;
    let audit_path = a.dir.join("data").join("store");
    let acked = loop {
        let store = RocksStore::open_read_only(&audit_path)?;
        let records: Vec<AuditRecord> = store
            .scan(Column::Audit, b"")?
            .into_iter()
            .filter_map(|(_, v)| AuditRecord::decode(&v))
            .filter(|r| matches!(r.stage, Stage::Acknowledged(_)))
            .collect();
        if records.len() as u64 >= n {
            break records;
        }
        if Instant::now() > deadline {
            bail!(
                "{} of {n} receipts back after {:?}; relay logs in {}",
                records.len(),
                options.timeout,
                dir.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let cpu1 = (cpu_seconds(a.child.id()), cpu_seconds(b.child.id()));

    // Commit times: the committing block's time, from the source chain.
    let commit_height = committed_heights(&cn).await?;
    let mut block_time: BTreeMap<Height, Time> = BTreeMap::new();
    for h in commit_height.values() {
        if !block_time.contains_key(h) {
            block_time.insert(*h, cn.adapter.light_block(*h).await?.header().time);
        }
    }
    let mut latencies = Vec::new();
    let (mut first_commit, mut last_ack) = (u128::MAX, 0u128);
    for r in &acked {
        let Some(t) = commit_height
            .get(&r.sequence)
            .and_then(|h| block_time.get(h))
        else {
            continue;
        };
        let (c, a) = (to_instant_ms(*t), to_instant_ms(r.at));
        first_commit = first_commit.min(c);
        last_ack = last_ack.max(a);
        latencies.push(Duration::from_millis(
            u64::try_from(a.saturating_sub(c)).unwrap_or(0),
        ));
    }
    latencies.sort_unstable();
    // From the first commit, or (with a backlog) from the relays' start.
    let first = if options.backlog {
        first_commit.max(to_instant_ms(relays_started))
    } else {
        first_commit
    };
    let span = Duration::from_millis(
        u64::try_from(last_ack.saturating_sub(first))
            .unwrap_or(1)
            .max(1),
    );
    let rate = n as f64 / span.as_secs_f64();
    let blocks = block_time.len().max(1);
    let per_block = n as f64 / blocks as f64;
    // Per message, each relay checks its share of a multiproof of the message's block
    // (the source relay of the block's messages from its endpoint, the destination relay
    // of the peer's batch) and its share of a multiproof of the receipt's block (the
    // destination relay of its endpoint's receipts, the source relay of the peer's receipt
    // batch), and verifies its home chain's blocks and the peer's light blocks, amortised
    // over the messages.
    let floor = Floor::measure(per_block.round() as usize);
    let blocks_per_message = (2.0 * blocks as f64) / n as f64;
    let headers = floor.block.mul_f64(blocks_per_message);
    let relay_floor = floor.multi * 2 + headers;
    let cpu_a = (cpu1.0 - cpu0.0) / n as f64;
    let cpu_b = (cpu1.1 - cpu0.1) / n as f64;
    writeln!(
        out,
        "  carried {n} messages in {} blocks ({per_block:.0} per block)",
        blocks
    )?;
    writeln!(
        out,
        "  throughput: {rate:.0} messages/s ({} to last receipt back)",
        if options.backlog {
            "relays' start"
        } else {
            "first commit"
        }
    )?;
    writeln!(
        out,
        "  latency commit -> receipt back at the source: p50 {} ms, p99 {} ms, max {} ms",
        percentile(&latencies, 0.5).as_millis(),
        percentile(&latencies, 0.99).as_millis(),
        latencies.last().copied().unwrap_or_default().as_millis()
    )?;
    writeln!(
        out,
        "  relay CPU per message: source {:.1} us, destination {:.1} us",
        cpu_a * 1e6,
        cpu_b * 1e6
    )?;
    writeln!(
        out,
        "  crypto floor per message (proofs and signatures alone, measured in this run): multiproof share {:.1} us (one inclusion proof alone: {:.1} us), light blocks {:.1} us",
        floor.multi.as_secs_f64() * 1e6,
        floor.single.as_secs_f64() * 1e6,
        headers.as_secs_f64() * 1e6,
    )?;
    writeln!(
        out,
        "  relay CPU / floor (each relay: multiproof shares of the message and of its receipt + light blocks = {:.1} us): source {:.1}x, destination {:.1}x",
        relay_floor.as_secs_f64() * 1e6,
        cpu_a / relay_floor.as_secs_f64().max(1e-9),
        cpu_b / relay_floor.as_secs_f64().max(1e-9),
    )?;
    drop(a);
    drop(b);
    cn.handle.shutdown().await?;
    kz.handle.shutdown().await?;
    Ok(())
}
