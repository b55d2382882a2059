//! Real relay processes (`corridor start`) over real QUIC on loopback, between two devnet
//! chains running in this process: messages both ways with every receipt back; a relay
//! killed with SIGKILL and restarted mid-run loses and duplicates nothing (counted on the
//! destination chains' own receipts); a rogue holding a pinned key gets its forgeries, bad
//! frames and foreign lanes refused by reason while honest traffic then flows; a peer with
//! an unpinned key is refused in the handshake; a bad config names its key; the metrics,
//! readiness and alerts follow what happens (a real Prometheus scrapes them); a trader sends
//! and tracks a message with the CLI through the relays' trader API.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use corridor_adapters::devnet::DevnetAdapter;
use corridor_adapters::ChainAdapter;
use corridor_devnet::config::max_item_json_bytes;
use corridor_devnet::{devnet_trader_key, genesis_block, DevnetChain, DevnetConfig, DevnetHandle};
use corridor_light_client::documents::examples::example;
use corridor_light_client::envelope::{
    payload_from_json, Deadline, DocumentKind, MessageBody, VERSION,
};
use corridor_light_client::receipt::ReceiptResult;
use corridor_light_client::testkit::TempDir;
use corridor_light_client::{hash, ChainId, Height};
use corridor_relay::configs::{relay_config_toml, ChainEntry, CONFIGS};
use corridor_relay::rocks::RocksStore;
use corridor_relay_core::core::{Core, CoreConfig};
use corridor_relay_core::wire::{Lane, Limits};

const BIN: &str = env!("CARGO_BIN_EXE_corridor");

struct Chain {
    handle: DevnetHandle,
    url: String,
    adapter: DevnetAdapter,
    id: ChainId,
    root_hash: String,
}

async fn start_chain(name: &str, dir: &Path) -> Chain {
    start_chain_with(name, dir, |_| {}).await
}

async fn start_chain_with(name: &str, dir: &Path, adjust: impl FnOnce(&mut DevnetConfig)) -> Chain {
    let text = CONFIGS.iter().find(|(n, _)| *n == name).unwrap().1;
    let mut config = DevnetConfig::from_toml(text).unwrap();
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.admin_listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.store_path = dir.join(name);
    config.spec.block_interval = Duration::from_millis(100);
    adjust(&mut config);
    let root_hash = genesis_block(&config.spec).header().hash().to_string();
    let id = config.chain_id().clone();
    let handle = DevnetChain::start(config).await.unwrap();
    let url = handle.url();
    let adapter = DevnetAdapter::new(id.clone(), &url).unwrap();
    Chain {
        handle,
        url,
        adapter,
        id,
        root_hash,
    }
}

/// One relay process and its files.
struct Relay {
    name: String,
    dir: PathBuf,
    config: PathBuf,
    key: String,
    listen: Option<SocketAddr>,
    /// Where its `/metrics`, `/healthz` and `/readyz` are.
    metrics: Option<SocketAddr>,
    /// Where its trader API is.
    api: Option<SocketAddr>,
    child: Option<Child>,
}

fn keys_generate(path: &Path) -> String {
    let out = Command::new(BIN)
        .args(["keys", "generate", "--out"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().last().unwrap().trim().to_owned()
}

fn entry(chain: &Chain, endpoint: bool) -> ChainEntry<'_> {
    ChainEntry {
        chain_id: chain.id.as_str(),
        endpoint: endpoint.then_some(chain.url.as_str()),
        root_hash: &chain.root_hash,
    }
}

impl Relay {
    fn new(name: &str, root: &Path) -> Self {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let key = keys_generate(&dir.join("relay.key"));
        Self {
            name: name.to_owned(),
            config: dir.join("relay.toml"),
            dir,
            key,
            listen: None,
            metrics: None,
            api: None,
            child: None,
        }
    }

    fn write_config(&self, home: &Chain, remote: &Chain, peer_key: &str, peer_addr: SocketAddr) {
        let text = relay_config_toml(
            entry(home, true),
            entry(remote, false),
            peer_key,
            peer_addr,
            "poll_interval_ms = 50\nresend_after_ms = 1000\npenalty_threshold = 5\npenalty_backoff_secs = 2\nreconnect_min_ms = 50\nreconnect_max_ms = 500\n",
        );
        std::fs::write(&self.config, text).unwrap();
    }

    /// Starts the process and waits for its listen line.
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("log"))
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["start", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log);
        if let Some(addr) = self.listen {
            cmd.args(["--listen", &addr.to_string()]);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
        let addr = line
            .trim()
            .rsplit_once(" listening on ")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{}: no listen line in {line:?}: {}", self.name, self.log()));
        self.listen = Some(addr.parse().unwrap());
        let metrics = line
            .rsplit_once("metrics on http://")
            .and_then(|(_, rest)| rest.split('/').next())
            .unwrap_or_else(|| panic!("{}: no metrics address in {line:?}", self.name));
        self.metrics = Some(metrics.parse().unwrap());
        let api = line
            .rsplit_once("trader API on http://")
            .and_then(|(_, rest)| rest.split('/').next())
            .unwrap_or_else(|| panic!("{}: no API address in {line:?}", self.name));
        self.api = Some(api.parse().unwrap());
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM: drains and exits cleanly.
            unsafe_free_sigterm(c.id());
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(status)) = c.try_wait() {
                    assert!(
                        status.success(),
                        "{} exited with {status}: {}",
                        self.name,
                        self.log()
                    );
                    break;
                }
                assert!(Instant::now() < deadline, "{} ignored SIGTERM", self.name);
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The relay's public key.
    fn public_key(&self) -> ed25519_dalek::VerifyingKey {
        let bytes = <[u8; 32]>::try_from(hex::decode(&self.key).unwrap()).unwrap();
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

/// A QUIC endpoint with `key` that pins `to`, and the hello of a relay serving `chain`: a
/// courier (or a stranger) speaking to a relay directly.
fn courier(
    key: &ed25519_dalek::SigningKey,
    to: &Relay,
    chain: &ChainId,
) -> (corridor_quic::Endpoint, corridor_quic::Hello) {
    let endpoint = corridor_quic::Endpoint::bind(
        "127.0.0.1:0".parse().unwrap(),
        key,
        vec![to.public_key()],
        corridor_quic::TransportConfig::default(),
    )
    .unwrap();
    let hello = corridor_quic::Hello::new(&key.verifying_key(), vec![chain.to_string()]);
    (endpoint, hello)
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

fn unsafe_free_sigterm(pid: u32) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
}

async fn submit(chain: &Chain, to: &ChainId, sender: &str, count: u64, nonce_base: u64) {
    let far = Deadline::Height(Height(10_000_000));
    submit_until(chain, to, sender, count, nonce_base, far).await;
}

async fn submit_until(
    chain: &Chain,
    to: &ChainId,
    sender: &str,
    count: u64,
    nonce_base: u64,
    deadline: Deadline,
) {
    let key = devnet_trader_key(sender);
    let kinds = DocumentKind::ALL;
    for i in 0..count {
        let kind = kinds[(i % kinds.len() as u64) as usize];
        let payload = payload_from_json(&example(kind)).unwrap();
        let body = MessageBody {
            version: VERSION,
            source_chain: chain.id.clone(),
            destination_chain: to.clone(),
            channel: 0,
            nonce: nonce_base + i,
            sender: key.public_key(),
            receiver: devnet_trader_key("receiver").public_key(),
            kind,
            payload_hash: hash::sha3(&payload.0),
            payload,
            deadline,
        };
        let signed = body.sign(&key).unwrap();
        // The outbox holds a bounded number of pending messages: wait when it is full.
        let mut tries = 0;
        loop {
            match chain.adapter.submit_message(&signed).await {
                Ok(_) => break,
                Err(e) => {
                    tries += 1;
                    assert!(tries < 200, "submitting to {}: {e}", chain.id);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// The destination chain's own receipts of `lane`, by sequence (a sequence twice fails).
async fn receipts_on_chain(chain: &Chain, source: &ChainId) -> BTreeMap<u64, ReceiptResult> {
    let tip = chain.adapter.status().await.unwrap().latest_height;
    let mut out = BTreeMap::new();
    let mut from = 1;
    while from <= tip.0 {
        let to = (from + 255).min(tip.0);
        for r in chain
            .adapter
            .receipts(Height(from), Height(to))
            .await
            .unwrap()
        {
            if &r.receipt.source_chain == source {
                let seq = r.receipt.sequence;
                assert!(
                    out.insert(seq, r.receipt.result.clone()).is_none(),
                    "{}: sequence {seq} from {source} has two receipts",
                    chain.id
                );
            }
        }
        from = to + 1;
    }
    out
}

async fn wait_delivered(chains: [&Chain; 2], expected: u64, relays: &[&Relay]) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let a = receipts_on_chain(chains[1], &chains[0].id).await;
        let b = receipts_on_chain(chains[0], &chains[1].id).await;
        if a.len() as u64 == expected && b.len() as u64 == expected {
            for r in a.values().chain(b.values()) {
                assert_eq!(r, &ReceiptResult::Delivered);
            }
            let seqs: BTreeSet<u64> = a.keys().copied().collect();
            assert_eq!(seqs, (1..=expected).collect());
            return;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = relays
                .iter()
                .map(|r| format!("--- {}\n{}", r.name, r.log()))
                .collect();
            panic!(
                "after 180 s: {} of {expected} delivered to {}, {} of {expected} to {}\n{}",
                a.len(),
                chains[1].id,
                b.len(),
                chains[0].id,
                logs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads a stopped relay's store: every outbound lane closed up to `expected`.
fn assert_all_acknowledged(relay: &Relay, home: &ChainId, remote: &ChainId, expected: u64) {
    let store = RocksStore::open(&relay.dir.join("data").join("store")).unwrap();
    let config = CoreConfig {
        home: [home.clone()].into(),
        routes: BTreeMap::new(),
        limits: Limits::default(),
        window: 1,
        resend_after: Duration::from_secs(1),
        penalty_threshold: 1,
        max_delivery_batch: corridor_relay_core::DEFAULT_DELIVERY_BATCH,
    };
    let core =
        Core::<corridor_light_client::any::AnyFamily>::restore(config, Vec::new(), &store).unwrap();
    let lane = Lane {
        source: home.clone(),
        destination: remote.clone(),
        channel: 0,
    };
    assert_eq!(
        core.closed_up_to(&lane),
        expected,
        "{}: receipts back",
        relay.name
    );
    assert!(
        core.outbound_open().values().all(|n| *n == 0),
        "{}",
        relay.name
    );
}

/// Stops both relays cleanly and reads their stores until each has every one of its `count`
/// messages to the other's chain acknowledged (`homes`: `a`'s chain, then `b`'s), starting
/// them again between tries, for at most a minute.
async fn wait_acknowledged(a: &mut Relay, b: &mut Relay, homes: [&ChainId; 2], count: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        a.stop();
        b.stop();
        let done = std::panic::catch_unwind(|| {
            assert_all_acknowledged(a, homes[0], homes[1], count);
            assert_all_acknowledged(b, homes[1], homes[0], count);
        });
        if done.is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "receipts did not all come back:\n{}\n{}",
            a.log(),
            b.log()
        );
        a.start();
        b.start();
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Two relays, two chains: `count` messages each way; `chaos` kills a relay with SIGKILL
/// and restarts it on its store several times while traffic flows.
/// Two chains and their two relays, connected.
async fn pair(tmp: &TempDir) -> (Chain, Chain, Relay, Relay) {
    // The smallest pages a chain may serve (one message of the largest payload), so a
    // watcher round spans many pages of `/outbox` and `/receipts`.
    let small_pages = |c: &mut DevnetConfig| {
        c.page_bytes = max_item_json_bytes(c.limits.max_payload, c.max_messages_per_block);
    };
    let cn = start_chain_with("cn-shanghai", tmp.path(), small_pages).await;
    let kz = start_chain_with("kz-astana", tmp.path(), small_pages).await;
    let mut a = Relay::new("relay-cn", tmp.path());
    let mut b = Relay::new("relay-kz", tmp.path());
    // The relay with the lower key dials; start the other first to learn its port.
    let (dialer, acceptor, dialer_home, acceptor_home) = if a.key < b.key {
        (&mut a, &mut b, &cn, &kz)
    } else {
        (&mut b, &mut a, &kz, &cn)
    };
    acceptor.write_config(
        acceptor_home,
        dialer_home,
        &dialer.key,
        "127.0.0.1:9".parse().unwrap(),
    );
    acceptor.start();
    dialer.write_config(
        dialer_home,
        acceptor_home,
        &acceptor.key,
        acceptor.listen.unwrap(),
    );
    dialer.start();
    (cn, kz, a, b)
}

async fn two_relays(count: u64, chaos: bool) {
    let tmp = TempDir::new("relays");
    let (cn, kz, mut a, mut b) = pair(&tmp).await;
    let half = count / 2;
    tokio::join!(
        submit(&cn, &kz.id, "shanghai-exporter", half, 1),
        submit(&kz, &cn.id, "astana-importer", half, 1)
    );
    if chaos {
        for round in 0..3 {
            tokio::time::sleep(Duration::from_millis(700)).await;
            let victim = if round % 2 == 0 { &mut a } else { &mut b };
            victim.kill();
            tokio::time::sleep(Duration::from_millis(300)).await;
            victim.start();
        }
    }
    tokio::join!(
        submit(&cn, &kz.id, "shanghai-exporter", count - half, 1 + half),
        submit(&kz, &cn.id, "astana-importer", count - half, 1 + half)
    );
    wait_delivered([&cn, &kz], count, &[&a, &b]).await;
    // Receipts travel back; then stop cleanly and read the stores.
    wait_acknowledged(&mut a, &mut b, [&cn.id, &kz.id], count).await;
    cn.handle.shutdown().await.unwrap();
    kz.handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_carry_messages_both_ways_with_every_receipt_back() {
    two_relays(1000, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_killed_and_restarted_lose_and_duplicate_nothing() {
    two_relays(300, true).await;
}

#[test]
fn a_bad_config_names_its_key() {
    let tmp = TempDir::new("bad-config");
    let file = tmp.path().join("relay.toml");
    let good_chain = "[[chains]]\nchain_id = \"cn-shanghai\"\nfamily = \"corridor\"\nendpoint = \"http://127.0.0.1:1\"\ntrusting_period_secs = 100\n[chains.trust_root]\nheight = 1\nheader_hash = \"e1a93222e1a93222e1a93222e1a93222e1a93222e1a93222e1a93222e1a93222\"\n";
    let cases = [
        (
            format!("{good_chain}[[peers]]\nname = \"x\"\npublic_key = \"abcd\"\naddress = \"127.0.0.1:1\"\nchains = []\n"),
            "peers[0].public_key",
        ),
        (
            good_chain.replace("header_hash = \"e1a9", "header_hash = \"zz"),
            "chains[0].trust_root.header_hash",
        ),
        (
            good_chain.replace("corridor\"", "cometbft\""),
            "chains[0].family",
        ),
        (good_chain.replace("corridor\"", "evm\""), "chains[0].evm"),
        (format!("{good_chain}[limits]\nwindow = 0\n"), "limits.window"),
        (
            format!("{good_chain}[relay]\nlisten = \"nowhere\"\n"),
            "relay.listen",
        ),
        (
            format!("{good_chain}[relay]\noperator_token_file = \"missing.token\"\n"),
            "relay.operator_token_file",
        ),
    ];
    for (text, key) in cases {
        std::fs::write(&file, &text).unwrap();
        let out = Command::new(BIN)
            .args(["config", "check"])
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {stderr}");
        assert!(stderr.contains(key), "expected {key} in: {stderr}");
    }
    // The operator template validates as shipped.
    let template = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/relay.example.toml");
    let out = Command::new(BIN)
        .args(["config", "check", template])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&file, good_chain).unwrap();
    let out = Command::new(BIN)
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn keys_generate_writes_a_private_file_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new("keys");
    let path = tmp.path().join("relay.key");
    let public = keys_generate(&path);
    assert_eq!(public.len(), 64);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let again = Command::new(BIN)
        .args(["keys", "generate", "--out"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let key = corridor_relay::keys::load(&path).unwrap();
    assert_eq!(hex::encode(key.verifying_key().to_bytes()), public);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = corridor_relay::keys::load(&path).unwrap_err();
    assert!(err.to_string().contains("chmod 600"), "{err}");

    // The EVM delivery key: private too, and its printed address is the key's account.
    let evm = tmp.path().join("evm.key");
    let out = Command::new(BIN)
        .args(["keys", "generate-evm", "--out"])
        .arg(&evm)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let address = printed.lines().last().unwrap().trim().to_owned();
    let mode = std::fs::metadata(&evm).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let seed = corridor_relay::keys::load(&evm).unwrap().to_bytes();
    let sender = corridor_adapters::evm::Sender::from_seed(seed, 31337).unwrap();
    assert_eq!(address, sender.address().to_string());
    assert!(
        address.starts_with("0x") && address.len() == 42,
        "{address}"
    );
    let again = Command::new(BIN)
        .args(["keys", "generate-evm", "--out"])
        .arg(&evm)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
}

/// A rogue holding relay-cn's pinned key (a compromised courier) sends bad frames, a lane
/// the relay does not serve, a forged proof, a valid batch and its replay; relay-kz refuses
/// each by its reason, takes the valid one once, and disconnects the rogue past its
/// threshold. A stranger's key is refused in the handshake. Then the real relay-cn starts
/// and honest traffic flows both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgeries_replays_and_strangers_are_refused_while_honest_traffic_flows() {
    use corridor_light_client::merkle::MultiProof;
    use corridor_light_client::native::NativeVerifier;
    use corridor_relay_core::wire::{Frame, MessageBatch};

    let tmp = TempDir::new("rogue");
    let cn = start_chain("cn-shanghai", tmp.path()).await;
    let kz = start_chain("kz-astana", tmp.path()).await;
    let mut a = Relay::new("relay-cn", tmp.path());
    let mut b = Relay::new("relay-kz", tmp.path());
    b.write_config(&kz, &cn, &a.key, "127.0.0.1:9".parse().unwrap());
    b.start();
    let b_addr = b.listen.unwrap();
    let b_key = b.public_key();

    // A stranger: refused in the handshake.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let (ep, hello) = courier(&stranger, &b, &cn.id);
    let refused = tokio::time::timeout(Duration::from_secs(10), ep.connect(b_addr, b_key, &hello))
        .await
        .expect("the handshake ends");
    assert!(refused.is_err(), "a stranger connected");

    // The rogue with relay-cn's key.
    let rogue_key = corridor_relay::keys::load(&a.dir.join("relay.key")).unwrap();
    let (ep, hello) = courier(&rogue_key, &b, &cn.id);
    let link = ep.connect(b_addr, b_key, &hello).await.unwrap();

    // A real message, committed on cn-shanghai, with its real proof and light blocks.
    submit(&cn, &kz.id, "shanghai-exporter", 1, 1).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let outbound = loop {
        let tip = cn.adapter.status().await.unwrap().latest_height;
        let found = cn.adapter.outbound_messages(Height(1), tip).await.unwrap();
        if let Some(m) = found.into_iter().next() {
            break m;
        }
        assert!(Instant::now() < deadline, "the message was not committed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let root = cn.adapter.light_block(Height(1)).await.unwrap();
    let at = cn.adapter.light_block(outbound.height).await.unwrap();
    let valid = MessageBatch::<NativeVerifier> {
        lane: Lane {
            source: cn.id.clone(),
            destination: kz.id.clone(),
            channel: 0,
        },
        height: outbound.height,
        light_blocks: vec![root, at],
        messages: vec![outbound.message.clone()],
        proof: MultiProof::join(std::slice::from_ref(&outbound.proof)),
    };
    let mut forged = valid.clone();
    forged.proof = Some(MultiProof {
        tree_size: 1,
        indices: vec![0],
        hashes: Vec::new(),
    });
    forged.messages[0].message.body.nonce += 1;
    // At a sequence relay-kz does not hold, so its proof is checked whatever order the
    // rogue's frames arrive in (each frame is a stream of its own).
    forged.messages[0].sequence = 2;
    let mut foreign = valid.clone();
    foreign.lane.destination = ChainId::new("pk-karachi").unwrap();

    let send = |b: MessageBatch<NativeVerifier>| Frame::Batch(b.into_any()).encode().unwrap();
    link.send(b"\xff\x00 not a frame").await.unwrap();
    link.send(&send(foreign)).await.unwrap();
    link.send(&send(forged)).await.unwrap();
    link.send(&send(valid.clone())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    link.send(&send(valid)).await.unwrap();
    // Keep sending garbage until relay-kz hangs up on the rogue.
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if link.send(b"\x00garbage").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the rogue was never disconnected:\n{}",
        b.log()
    );
    ep.close();

    let log = b.log();
    for expected in [
        "reason=\"unknown-peer\"",
        "reason=\"bad-frame\"",
        "reason=\"lane-not-served\"",
        "reason=\"invalid-proof\"",
        "reason=\"duplicate\"",
        "disconnecting a misbehaving peer",
    ] {
        assert!(
            log.contains(expected),
            "no {expected} in relay-kz's log:\n{log}"
        );
    }

    // The real relay-cn: honest traffic flows (the message the rogue carried counts once).
    a.write_config(&cn, &kz, &b.key, b_addr);
    a.start();
    if b.key < a.key {
        // relay-kz dials: restart it (same port) with relay-cn's address, now known.
        b.stop();
        b.write_config(&kz, &cn, &a.key, a.listen.unwrap());
        b.start();
    }
    submit(&cn, &kz.id, "shanghai-exporter", 19, 2).await;
    submit(&kz, &cn.id, "astana-importer", 20, 1).await;
    wait_delivered([&cn, &kz], 20, &[&a, &b]).await;
    drop(a);
    drop(b);
    cn.handle.shutdown().await.unwrap();
    kz.handle.shutdown().await.unwrap();
}

/// A message whose deadline has passed on the destination is not delivered: the chain
/// commits an `expired` receipt, which consumes its sequence (the lane goes on) and comes
/// back to the source relay like any receipt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_message_gets_a_timeout_receipt_and_does_not_block_its_lane() {
    use corridor_relay_core::core::{AuditRecord, Stage};
    use corridor_relay_core::store::{Column, Store};
    let tmp = TempDir::new("expired");
    let (cn, kz, mut a, b) = pair(&tmp).await;
    let far = Deadline::Height(Height(10_000_000));
    submit_until(&cn, &kz.id, "shanghai-exporter", 1, 1, far).await;
    submit_until(
        &cn,
        &kz.id,
        "shanghai-exporter",
        1,
        2,
        Deadline::Height(Height(2)),
    )
    .await;
    submit_until(&cn, &kz.id, "shanghai-exporter", 1, 3, far).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let receipts = loop {
        let r = receipts_on_chain(&kz, &cn.id).await;
        if r.len() == 3 {
            break r;
        }
        assert!(Instant::now() < deadline, "{r:?}\n{}\n{}", a.log(), b.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(receipts[&1], ReceiptResult::Delivered);
    assert_eq!(receipts[&2], ReceiptResult::Expired);
    assert_eq!(receipts[&3], ReceiptResult::Delivered);
    // Back at the source: every receipt proven, the expired one among them.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        a.stop();
        let store = RocksStore::open(&a.dir.join("data").join("store")).unwrap();
        let results: BTreeMap<u64, ReceiptResult> = store
            .scan(Column::Audit, b"")
            .unwrap()
            .into_iter()
            .filter_map(|(_, v)| AuditRecord::decode(&v))
            .filter_map(|r| match r.stage {
                Stage::Acknowledged(result) => Some((r.sequence, result)),
                _ => None,
            })
            .collect();
        drop(store);
        if results.len() == 3 {
            assert_eq!(results[&2], ReceiptResult::Expired);
            break;
        }
        assert!(Instant::now() < deadline, "{results:?}\n{}", a.log());
        a.start();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    drop(b);
    cn.handle.shutdown().await.unwrap();
    kz.handle.shutdown().await.unwrap();
}

/// cn-shanghai's validators sign two blocks at height 3 (the devnet's fork fault). A courier
/// with relay-cn's key brings relay-kz a batch through the real block 3, then one through
/// the conflicting block: relay-kz's light client of cn-shanghai freezes on the evidence,
/// says so, and takes nothing more from that chain, also after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_signed_header_freezes_the_light_client_and_stops_its_lanes() {
    use corridor_light_client::merkle::MultiProof;
    use corridor_light_client::native::NativeVerifier;
    use corridor_quic::Link;
    use corridor_relay_core::wire::{Frame, MessageBatch};

    let tmp = TempDir::new("frozen");
    let cn = start_chain_with("cn-shanghai", tmp.path(), |c| {
        c.faults.fork_at_height = Some(3);
    })
    .await;
    let kz = start_chain("kz-astana", tmp.path()).await;
    let a = Relay::new("relay-cn", tmp.path());
    let mut b = Relay::new("relay-kz", tmp.path());
    b.write_config(&kz, &cn, &a.key, "127.0.0.1:9".parse().unwrap());
    b.start();
    let prometheus = Prometheus::start("frozen", &[&b]);
    let b_key = b.public_key();
    let courier_key = corridor_relay::keys::load(&a.dir.join("relay.key")).unwrap();
    let (ep, hello) = courier(&courier_key, &b, &cn.id);
    let connect = |addr| {
        let (ep, hello) = (ep.clone(), hello.clone());
        async move { ep.connect(addr, b_key, &hello).await.unwrap() }
    };
    let link: Link = connect(b.listen.unwrap()).await;

    // Two messages committed after height 3.
    let deadline = Instant::now() + Duration::from_secs(30);
    while cn.adapter.status().await.unwrap().latest_height < Height(4) {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    submit(&cn, &kz.id, "shanghai-exporter", 2, 1).await;
    let messages = loop {
        let tip = cn.adapter.status().await.unwrap().latest_height;
        let found = cn.adapter.outbound_messages(Height(1), tip).await.unwrap();
        if found.len() == 2 {
            break found;
        }
        assert!(Instant::now() < deadline, "not committed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let block = |h| cn.adapter.light_block(h);
    let (root, real3) = (
        block(Height(1)).await.unwrap(),
        block(Height(3)).await.unwrap(),
    );
    let conflicting3 = cn.adapter.conflicting_block(Height(3)).await.unwrap();
    assert_ne!(real3.header().hash(), conflicting3.header().hash());
    let batch = |i: usize, third: &corridor_light_client::native::LightBlock, blocks: bool| {
        let m = &messages[i];
        MessageBatch::<NativeVerifier> {
            lane: Lane {
                source: cn.id.clone(),
                destination: kz.id.clone(),
                channel: 0,
            },
            height: m.height,
            light_blocks: if blocks {
                vec![root.clone(), third.clone()]
            } else {
                Vec::new()
            },
            messages: vec![m.message.clone()],
            proof: MultiProof::join(std::slice::from_ref(&m.proof)),
        }
    };
    let at_message = [
        block(messages[0].height).await.unwrap(),
        block(messages[1].height).await.unwrap(),
    ];
    // Through the real block 3: taken.
    let mut first = batch(0, &real3, true);
    first.light_blocks.push(at_message[0].clone());
    first.light_blocks.dedup_by_key(|b| b.header().height);
    link.send(&Frame::Batch(first.into_any()).encode().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Through the conflicting block 3, with the second message: the evidence.
    let mut second = batch(1, &conflicting3, true);
    second.light_blocks.push(at_message[1].clone());
    second.light_blocks.dedup_by_key(|b| b.header().height);
    link.send(&Frame::Batch(second.clone().into_any()).encode().unwrap())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !b.log().contains("LIGHT CLIENT FROZEN") {
        assert!(Instant::now() < deadline, "no freeze:\n{}", b.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = b.log();
    assert!(
        log.contains("two valid blocks of cn-shanghai at height 3"),
        "{log}"
    );
    assert!(log.contains("reason=\"misbehaviour\""), "{log}");
    // Operators see it: the frozen gauge, the misbehaviour counter, and /readyz says why.
    let frozen = r#"corridor_chain_frozen{chain="cn-shanghai"}"#;
    wait_metric(&b, frozen, |v| v == 1.0).await;
    let m = scrape(&b).await;
    assert_eq!(
        m[r#"corridor_chain_misbehaviour_total{chain="cn-shanghai"}"#],
        1.0
    );
    assert_eq!(m["corridor_relay_ready"], 0.0);
    let (status, body) = get(&b, "/readyz").await;
    assert_eq!(status, 503);
    assert!(
        body.contains("light client of cn-shanghai is frozen on misbehaviour evidence"),
        "{body}"
    );
    if let Some(p) = &prometheus {
        p.wait_firing("CorridorLightClientFrozen", 60).await;
    }

    // After a restart the client is still frozen: the second message is refused.
    b.stop();
    b.start();
    let link = connect(b.listen.unwrap()).await;
    let honest = batch(1, &real3, false);
    link.send(&Frame::Batch(honest.into_any()).encode().unwrap())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !b.log().contains("reason=\"client-frozen\"") {
        assert!(
            Instant::now() < deadline,
            "no client-frozen refusal:\n{}",
            b.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = receipts_on_chain(&kz, &cn.id).await;
    assert!(
        !delivered.contains_key(&2),
        "a message from a frozen chain was delivered"
    );
    ep.close();
    drop(b);
    cn.handle.shutdown().await.unwrap();
    kz.handle.shutdown().await.unwrap();
}

/// The metric names of the catalog in monitoring/README.md (its table's first column).
fn catalog() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../monitoring/README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let names: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("| `corridor_"))
        .filter_map(|rest| rest.split('`').next())
        .map(|name| format!("corridor_{name}"))
        .collect();
    assert!(names.len() > 20, "no catalog table in {}", path.display());
    names
}

async fn get(relay: &Relay, path: &str) -> (u16, String) {
    let url = format!("http://{}{path}", relay.metrics.unwrap());
    let response = reqwest::get(&url).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Every sample of the relay's `/metrics`: `name{labels}` to value.
async fn scrape(relay: &Relay) -> BTreeMap<String, f64> {
    let (status, text) = get(relay, "/metrics").await;
    assert_eq!(status, 200, "{text}");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect()
}

/// The metric names of a scrape (a histogram's series under its own name).
fn metric_names(samples: &BTreeMap<String, f64>) -> BTreeSet<String> {
    samples
        .keys()
        .map(|series| {
            let name = series.split('{').next().unwrap();
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|base| base.ends_with("_seconds"))
                .unwrap_or(name)
                .to_owned()
        })
        .collect()
}

/// Waits (at most 60 s) until `series` of the relay's metrics satisfies `ok`.
async fn wait_metric(relay: &Relay, series: &str, ok: impl Fn(f64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let value = scrape(relay).await.get(series).copied();
        if value.is_some_and(&ok) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {series} is {value:?} after 60 s\n{}",
            relay.name,
            relay.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every catalogued metric is exported from startup and nothing else is; a short run is
/// counted stage by stage on both sides with its end-to-end latency; `/readyz` turns ready
/// once the peer is connected and the chains are synced, and says which peer is missing
/// when it goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_exist_from_startup_count_a_run_and_readiness_follows_the_peer() {
    let tmp = TempDir::new("metrics");
    let (cn, kz, a, mut b) = pair(&tmp).await;
    let catalog = catalog();
    for relay in [&a, &b] {
        let names = metric_names(&scrape(relay).await);
        assert_eq!(
            names, catalog,
            "{}: exported names differ from the catalog",
            relay.name
        );
        assert_eq!(get(relay, "/healthz").await.0, 200);
    }
    let lane = "cn-shanghai/kz-astana/0";
    let m = scrape(&a).await;
    for stage in ["committed", "forwarded", "acknowledged"] {
        let series =
            format!(r#"corridor_channel_messages_total{{channel="{lane}",stage="{stage}"}}"#);
        assert_eq!(m.get(&series), Some(&0.0), "{series} at startup");
    }
    let series =
        r#"corridor_peer_rejections_total{peer="kz-astana-operator",reason="invalid-proof"}"#;
    assert_eq!(m.get(series), Some(&0.0), "{series} at startup");
    wait_metric(&a, "corridor_relay_ready", |v| v == 1.0).await;
    wait_metric(&b, "corridor_relay_ready", |v| v == 1.0).await;
    assert_eq!(get(&a, "/readyz").await.0, 200);

    tokio::join!(
        submit(&cn, &kz.id, "shanghai-exporter", 5, 1),
        submit(&kz, &cn.id, "astana-importer", 5, 1)
    );
    wait_delivered([&cn, &kz], 5, &[&a, &b]).await;
    let acked =
        format!(r#"corridor_channel_messages_total{{channel="{lane}",stage="acknowledged"}}"#);
    wait_metric(&a, &acked, |v| v == 5.0).await;
    let backlog =
        format!(r#"corridor_channel_backlog_messages{{channel="{lane}",direction="outbound"}}"#);
    wait_metric(&a, &backlog, |v| v == 0.0).await;
    let m = scrape(&a).await;
    let at = |series: String| m.get(&series).copied().unwrap_or(f64::NAN);
    assert_eq!(
        at(format!(
            r#"corridor_channel_messages_total{{channel="{lane}",stage="committed"}}"#
        )),
        5.0
    );
    assert_eq!(
        at(format!(
            r#"corridor_channel_messages_total{{channel="{lane}",stage="forwarded"}}"#
        )),
        5.0
    );
    assert_eq!(
        at(format!(
            r#"corridor_channel_latency_seconds_count{{channel="{lane}"}}"#
        )),
        5.0
    );
    assert!(
        at(format!(
            r#"corridor_channel_latency_seconds_sum{{channel="{lane}"}}"#
        )) > 0.0
    );
    assert_eq!(
        at(format!(
            r#"corridor_channel_oldest_pending_sequence{{channel="{lane}"}}"#
        )),
        0.0
    );
    let peer = r#"{peer="kz-astana-operator"}"#;
    assert_eq!(at(format!("corridor_peer_connected{peer}")), 1.0);
    assert!(at(format!("corridor_peer_bundles_sent_total{peer}")) >= 1.0);
    assert!(at(format!("corridor_peer_bundles_acknowledged_total{peer}")) >= 1.0);
    assert!(at(format!("corridor_peer_sent_bytes_total{peer}")) > 0.0);
    assert!(at(format!("corridor_peer_frames_received_total{peer}")) > 0.0);
    assert!(at(format!("corridor_peer_rtt_seconds{peer}")) > 0.0);
    assert!(at(r#"corridor_chain_trusted_height{chain="cn-shanghai"}"#.into()) > 1.0);
    assert!(at(r#"corridor_chain_head_height{chain="cn-shanghai"}"#.into()) > 1.0);
    assert!(at(r#"corridor_chain_header_verifications_total{chain="cn-shanghai"}"#.into()) > 0.0);
    assert!(
        at(r#"corridor_chain_trusting_period_remaining_seconds{chain="cn-shanghai"}"#.into()) > 0.0
    );
    assert!(
        at(r#"corridor_adapter_request_duration_seconds_count{chain="cn-shanghai"}"#.into()) > 0.0
    );
    assert!(at("corridor_store_write_duration_seconds_count".into()) > 0.0);
    assert_eq!(metric_names(&m), catalog, "after the run");
    // The destination side counted its half: received, delivered, and acknowledged once the
    // source holds the proven receipt; none refused.
    for stage in ["received", "delivered", "acknowledged"] {
        let series =
            format!(r#"corridor_channel_messages_total{{channel="{lane}",stage="{stage}"}}"#);
        wait_metric(&b, &series, |v| v == 5.0).await;
    }
    let m = scrape(&b).await;
    let refused: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("corridor_peer_rejections_total"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(refused, 0.0, "an honest run refuses nothing");

    // A real Prometheus scrapes both relays: the run's counts arrive, and every expression
    // of the shipped dashboard returns data.
    let prometheus = Prometheus::start("metrics", &[&a, &b]);
    if let Some(p) = &prometheus {
        let instance = a.metrics.unwrap();
        let expr = format!(
            r#"corridor_channel_messages_total{{instance="{instance}",channel="{lane}",stage="acknowledged"}}"#
        );
        p.wait(&expr, 60, |v| v == 5.0).await;
        // Two scrapes at least, so that rates have two samples.
        tokio::time::sleep(Duration::from_secs(3)).await;
        for expr in dashboard_expressions() {
            let result = p.query(&expr).await.unwrap_or_default();
            assert!(
                !result.is_empty(),
                "the dashboard's {expr:?} returned no data"
            );
        }
    }

    // The peer goes: not ready, and /readyz names it; Prometheus fires relay-down.
    b.stop();
    wait_metric(&a, "corridor_relay_ready", |v| v == 0.0).await;
    let (status, body) = get(&a, "/readyz").await;
    assert_eq!(status, 503);
    assert!(
        body.contains("peer kz-astana-operator is not connected"),
        "{body}"
    );
    let m = scrape(&a).await;
    assert_eq!(m[&format!("corridor_peer_connected{peer}")], 0.0);
    assert!(m[&format!("corridor_peer_disconnects_total{peer}")] >= 1.0);
    if let Some(p) = &prometheus {
        p.wait_firing("CorridorRelayDown", 90).await;
        let down = r#"ALERTS{alertname="CorridorRelayDown",alertstate="firing"}"#;
        let firing = p.query(down).await.unwrap_or_default();
        let instance = b.metrics.unwrap().to_string();
        assert!(
            firing
                .iter()
                .all(|r| r["metric"]["instance"] == instance.as_str()),
            "relay-down fired for a relay that is up: {firing:?}"
        );
    }
    drop(a);
    cn.handle.shutdown().await.unwrap();
    kz.handle.shutdown().await.unwrap();
}

/// A real Prometheus on loopback scraping relays every second with the shipped alert rules
/// (evaluated every second). `None` (the test skips) when Debian's `prometheus` is not
/// installed, except under `CI=true`, where that fails.
struct Prometheus {
    child: Child,
    url: String,
    _dir: TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn monitoring_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../monitoring")
}

impl Prometheus {
    fn start(test: &str, relays: &[&Relay]) -> Option<Self> {
        let found = Command::new("prometheus")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "{test}: prometheus is not installed and CI=true");
            eprintln!("{test}: skipped the Prometheus part: prometheus is not installed");
            return None;
        }
        let dir = TempDir::new("prometheus");
        let targets: Vec<String> = relays
            .iter()
            .map(|r| format!("\"{}\"", r.metrics.unwrap()))
            .collect();
        let rules = monitoring_dir().join("prometheus/rules");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}/*.yml\nscrape_configs:\n  - job_name: corridor\n    static_configs:\n      - targets: [{}]\n",
            rules.display(),
            targets.join(", ")
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        // A free port: bind 0, read it back, let Prometheus take it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Some(Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("log")).unwrap_or_default()
    }

    /// The result of an instant query (`None` while Prometheus is not up yet).
    async fn query(&self, expr: &str) -> Option<Vec<serde_json::Value>> {
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", expr)])
            .send()
            .await
            .ok()?;
        let body: serde_json::Value = response.json().await.ok()?;
        assert_eq!(body["status"], "success", "{expr}: {body}");
        body["data"]["result"].as_array().cloned()
    }

    /// Waits (at most `secs`) until `expr` returns a sample satisfying `ok`.
    async fn wait(&self, expr: &str, secs: u64, ok: impl Fn(f64) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let values: Vec<f64> = self
                .query(expr)
                .await
                .unwrap_or_default()
                .iter()
                .filter_map(|r| r["value"][1].as_str()?.parse().ok())
                .collect();
            if values.iter().any(|v| ok(*v)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{expr} gave {values:?} after {secs} s\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Waits (at most `secs`) until the alert `name` is firing.
    async fn wait_firing(&self, name: &str, secs: u64) {
        let expr = format!(r#"ALERTS{{alertname="{name}",alertstate="firing"}}"#);
        self.wait(&expr, secs, |v| v == 1.0).await;
    }
}

/// Every PromQL expression of the shipped dashboard, with its variables set to match all.
fn dashboard_expressions() -> Vec<String> {
    let path = monitoring_dir().join("grafana/dashboards/corridor.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let mut out = Vec::new();
    let mut stack = vec![&dashboard["panels"]];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(map) => {
                if let Some(expr) = map.get("expr").and_then(|e| e.as_str()) {
                    out.push(expr.to_owned());
                }
                stack.extend(map.values());
            }
            _ => {}
        }
    }
    assert!(out.len() > 10, "{}: too few expressions", path.display());
    out.into_iter()
        .map(|e| {
            let mut e = e;
            for (var, value) in [
                ("${chain}", ".*"),
                ("$chain", ".*"),
                ("${channel}", ".*"),
                ("$channel", ".*"),
                ("${peer}", ".*"),
                ("$peer", ".*"),
                ("$__rate_interval", "1m"),
                ("$__interval", "15s"),
                ("$__range", "5m"),
            ] {
                e = e.replace(var, value);
            }
            e
        })
        .collect()
}

/// A trader's message through `corridor start` processes, with nothing but the CLI:
/// `corridor send` to the source relay's trader API, then `corridor track` until the
/// message is acknowledged; the destination chain holds its one receipt; the relay's API
/// serves its evidence file, which verifies offline, and one flipped byte makes it fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trader_sends_and_tracks_a_message_through_the_relay_processes() {
    let tmp = TempDir::new("trader");
    let (cn, kz, mut a, b) = pair(&tmp).await;
    // relay-cn reads kz-astana's public RPC for evidence files: restart it so configured.
    a.stop();
    let config = std::fs::read_to_string(&a.config).unwrap().replacen(
        "chain_id = \"kz-astana\"\n",
        &format!(
            "chain_id = \"kz-astana\"\nevidence_endpoint = \"{}\"\n",
            kz.url
        ),
        1,
    );
    std::fs::write(&a.config, config).unwrap();
    a.start();
    let roots = tmp.path().join("trust-roots");
    std::fs::create_dir_all(&roots).unwrap();
    for chain in [&cn, &kz] {
        let root = serde_json::json!({
            "chain_id": chain.id.as_str(),
            "height": 1,
            "header_hash": chain.root_hash,
            "trusting_period_secs": 315_360_000u64,
        });
        std::fs::write(roots.join(format!("{}.json", chain.id)), root.to_string()).unwrap();
    }
    let key = tmp.path().join("shanghai-exporter.key");
    corridor_relay::keys::write_seed(
        &key,
        corridor_devnet::devnet_trader_seed("shanghai-exporter"),
    )
    .unwrap();
    let doc = tmp.path().join("invoice.json");
    std::fs::write(&doc, example(DocumentKind::CommercialInvoice).to_string()).unwrap();
    let api = format!("http://{}", a.api.unwrap());
    let receiver = devnet_trader_key("astana-importer")
        .public_key()
        .to_string();
    let run = |args: Vec<String>| {
        let out = Command::new(BIN).args(&args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let errors = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), text, errors)
    };
    let send: Vec<String> = [
        "send",
        "--api",
        &api,
        "--key",
        key.to_str().unwrap(),
        "--doc",
        doc.to_str().unwrap(),
        "--kind",
        "commercial_invoice",
        "--from",
        "cn-shanghai",
        "--to",
        "kz-astana",
        "--receiver",
        &receiver,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (code, text, errors) = tokio::task::spawn_blocking(move || run(send))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "{text}\n{errors}");
    let id = text.lines().last().unwrap().trim().to_owned();
    assert_eq!(id.len(), 64, "an id: {text}");
    let track: Vec<String> = [
        "track",
        "--api",
        &api,
        "--key",
        key.to_str().unwrap(),
        "--timeout-secs",
        "120",
        &id,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (code, text, errors) = tokio::task::spawn_blocking(move || run(track))
        .await
        .unwrap();
    assert_eq!(
        code,
        Some(0),
        "track: {text}\n{errors}\n{}\n{}",
        a.log(),
        b.log()
    );
    assert!(text.contains("acknowledged"), "{text}");
    // On the destination chain's own receipts, once.
    let on_chain = receipts_on_chain(&kz, &cn.id).await;
    assert_eq!(on_chain.get(&1), Some(&ReceiptResult::Delivered));
    // Its evidence file from the relay's API, checked offline; one flipped byte fails.
    let file = tmp.path().join("evidence.json");
    let get: Vec<String> = [
        "evidence",
        "get",
        &id,
        "--api",
        &api,
        "--key",
        key.to_str().unwrap(),
        "--trust-roots",
        roots.to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (code, text, errors) = tokio::task::spawn_blocking(move || run(get)).await.unwrap();
    assert_eq!(code, Some(0), "evidence get: {text}\n{errors}");
    let verify = |file: &Path| {
        let args: Vec<String> = [
            "evidence",
            "verify",
            file.to_str().unwrap(),
            "--trust-roots",
            roots.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        run(args)
    };
    let (code, text, errors) = verify(&file);
    assert_eq!(code, Some(0), "evidence verify: {text}\n{errors}");
    assert!(text.contains("kz-astana delivered it at height"), "{text}");
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    let flipped = tmp.path().join("flipped.json");
    std::fs::write(&flipped, bytes).unwrap();
    let (code, text, errors) = verify(&flipped);
    assert_eq!(code, Some(1), "a flipped byte verified: {text}\n{errors}");
    drop(a);
    drop(b);
    cn.handle.shutdown().await.unwrap();
    kz.handle.shutdown().await.unwrap();
}

/// A devnet chain and an EVM chain (anvil, corridor's contracts compiled from source and
/// deployed), each followed by its own relay process, both ways:
/// - messages from the devnet chain land in the EVM inbox exactly once, attested by the EVM
///   chain's relay (which is killed with SIGKILL and restarted mid-run), and every receipt
///   comes back proven from the inbox's logs under headers that relay attested, verified by
///   the devnet relay's client of the EVM chain (its root's terms pinned by its config);
/// - messages published on the EVM outbox are proven (receipt, then log) under attested
///   headers, verified by the devnet relay and again by the devnet chain's inbox (its
///   client of the EVM chain pinned by the chain's config), delivered once each, and their
///   receipts come back to the EVM relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devnet_chain_and_an_evm_chain_carry_messages_both_ways_with_every_receipt_back() {
    use corridor_adapters::evm::devchain::{compile, deploy, Anvil, Tools, DEV_KEY};
    use corridor_adapters::evm::{EvmAdapter, Sender};
    use corridor_light_client::evm::{AttestorKey, CorridorContracts, WeakTrustAttestationQuorum};

    const COUNT: u64 = 12;
    let tools = match Tools::find() {
        Ok(tools) => tools,
        Err(path) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{} is missing and CI=true (scripts/env.sh ensure_npm_tools)",
                path.display()
            );
            eprintln!("skipped: {} is missing", path.display());
            return;
        }
    };
    let tmp = TempDir::new("relays-evm");
    let code = compile(&tools.solcjs).unwrap();
    let genesis = corridor_light_client::testkit::now().unix_nanos() / 1_000_000_000 - 3600;
    let anvil = Anvil::start(&tools.anvil, 31337, genesis).unwrap();
    let evm_id = ChainId::new("evm-anvil").unwrap();
    let dev_seed = <[u8; 32]>::try_from(hex::decode(DEV_KEY).unwrap()).unwrap();
    let sender = Sender::from_seed(dev_seed, 31337).unwrap();
    // The EVM chain's trade gateway, the outbox's publisher: anvil's second development
    // account (its transactions never race the relay's).
    let gateway_seed = <[u8; 32]>::try_from(
        hex::decode("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d").unwrap(),
    )
    .unwrap();
    let gateway = Sender::from_seed(gateway_seed, 31337).unwrap();

    let mut a = Relay::new("relay-cn", tmp.path());
    let mut b = Relay::new("relay-evm", tmp.path());
    // The EVM relay attests the chain's headers (its ed25519 key is the quorum) and is the
    // inbox's one relay (the development account, which pays for its transactions).
    let quorum = WeakTrustAttestationQuorum::new(
        31337,
        &[AttestorKey::Ed25519(
            corridor_light_client::signature::PublicKey(b.public_key().to_bytes()),
        )],
        1,
    )
    .unwrap();
    let placeholder = CorridorContracts {
        outbox: corridor_light_client::evm::Address::ZERO,
        inbox: corridor_light_client::evm::Address::ZERO,
    };
    let evm = EvmAdapter::new(evm_id.clone(), &anvil.url, placeholder, quorum.clone())
        .unwrap()
        .with_sender(sender.clone());
    let contracts = deploy(&evm, &code, gateway.address(), &[sender.address()], 1)
        .await
        .unwrap();
    let evm = evm.with_contracts(contracts);
    evm.request("anvil_setBlockTimestampInterval", serde_json::json!([1]))
        .await
        .unwrap();
    let evm_root = evm.block_number().await.unwrap();
    let evm_root_hash = evm.header(evm_root).await.unwrap().hash();
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(b.dir.join("evm.key"))
            .unwrap();
        writeln!(f, "{DEV_KEY}").unwrap();
    }

    // The devnet chain knows the EVM chain: its inbox's client of it is an EVM client,
    // the root's terms pinned (the EVM relay's key as the attestor quorum).
    let terms = corridor_adapters::evm::terms::EvmTerms {
        evm_chain_id: 31337,
        contracts,
        quorum: quorum.clone(),
    };
    let cn = start_chain_with("cn-shanghai", tmp.path(), |c| {
        // One validator set for the whole run. With the set rotating every 40 blocks of
        // 100 ms, the EVM relay's client of this chain (idle while only the EVM chain
        // sends) fell more than the trust threshold behind before the receipts came, and
        // the devnet relay sent paths it could not verify (`not-enough-trust`):
        // `Core::skipping_path` plans only over the blocks the relay holds and, when
        // bisection asks for one it does not hold, falls back to the last blocks below the
        // target. A known gap of the core, reported; this test is about the EVM chain.
        c.spec.rotate_every = 0;
        c.peers.push(corridor_devnet::config::Peer {
            family: corridor_light_client::family::FamilyKind::Evm,
            root: corridor_light_client::client::TrustRoot {
                chain_id: evm_id.clone(),
                height: evm_root,
                header_hash: evm_root_hash,
                pin: terms.pin(),
            },
            options: corridor_light_client::Options::default(),
        });
    })
    .await;

    let evm_chain = |endpoint: bool| {
        let (endpoint, key) = if endpoint {
            (
                format!("endpoint = \"{}\"\n", anvil.url),
                "delivery_key_file = \"evm.key\"\n",
            )
        } else {
            (String::new(), "")
        };
        format!(
            "[[chains]]\nchain_id = \"{evm_id}\"\nfamily = \"evm\"\n{endpoint}trusting_period_secs = 315360000\n[chains.trust_root]\nheight = {}\nheader_hash = \"{evm_root_hash}\"\n[chains.evm]\nchain_id = 31337\noutbox = \"{}\"\ninbox = \"{}\"\nattestors = [\"ed25519:{}\"]\nthreshold = 1\n{key}\n",
            evm_root.0, contracts.outbox, contracts.inbox, b.key
        )
    };
    let cn_chain = |endpoint: bool| {
        let endpoint = if endpoint {
            format!("endpoint = \"{}\"\n", cn.url)
        } else {
            String::new()
        };
        format!(
            "[[chains]]\nchain_id = \"{}\"\nfamily = \"corridor\"\n{endpoint}trusting_period_secs = 315360000\n[chains.trust_root]\nheight = 1\nheader_hash = \"{}\"\n\n",
            cn.id, cn.root_hash
        )
    };
    let write = |relay: &Relay,
                 chains: String,
                 peer: &Relay,
                 serves: &ChainId,
                 address: SocketAddr| {
        let text = format!(
            "[relay]\nkey_file = \"relay.key\"\ndata_dir = \"data\"\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"\napi_listen = \"127.0.0.1:0\"\n\n{chains}[[peers]]\nname = \"{}\"\npublic_key = \"{}\"\naddress = \"{address}\"\nchains = [\"{serves}\"]\n\n[limits]\npoll_interval_ms = 50\nresend_after_ms = 1000\nreconnect_min_ms = 50\nreconnect_max_ms = 500\n",
            peer.name, peer.key
        );
        std::fs::write(&relay.config, text).unwrap();
    };
    let a_chains = format!("{}{}", cn_chain(true), evm_chain(false));
    let b_chains = format!("{}{}", evm_chain(true), cn_chain(false));
    let dummy: SocketAddr = "127.0.0.1:9".parse().unwrap();
    // The relay with the lower key dials: start the other first to learn its port.
    if a.key < b.key {
        write(&b, b_chains, &a, &cn.id, dummy);
        b.start();
        write(&a, a_chains, &b, &evm_id, b.listen.unwrap());
        a.start();
    } else {
        write(&a, a_chains, &b, &evm_id, dummy);
        a.start();
        write(&b, b_chains, &a, &cn.id, a.listen.unwrap());
        b.start();
    }

    submit(&cn, &evm_id, "shanghai-exporter", COUNT / 2, 1).await;
    // The EVM relay dies once the first deliveries are in, and comes back on its store.
    let inbox = |from: Height| {
        let evm = evm.clone();
        async move {
            let tip = evm.block_number().await.unwrap();
            let mut out: BTreeMap<u64, ReceiptResult> = BTreeMap::new();
            let mut h = from.0;
            while h <= tip.0 {
                let to = (h + 255).min(tip.0);
                for r in evm.inbox_receipts(Height(h), Height(to)).await.unwrap() {
                    let seq = r.receipt.sequence;
                    assert!(
                        out.insert(seq, r.receipt.result.clone()).is_none(),
                        "sequence {seq} delivered twice"
                    );
                }
                h = to + 1;
            }
            out
        }
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while inbox(evm_root).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "nothing delivered:\n{}\n{}",
            a.log(),
            b.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.kill();
    b.start();
    submit(
        &cn,
        &evm_id,
        "shanghai-exporter",
        COUNT - COUNT / 2,
        1 + COUNT / 2,
    )
    .await;
    loop {
        let got = inbox(evm_root).await;
        if got.len() as u64 == COUNT {
            assert_eq!(
                got.keys().copied().collect::<Vec<_>>(),
                (1..=COUNT).collect::<Vec<_>>()
            );
            assert!(got.values().all(|r| *r == ReceiptResult::Delivered));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {COUNT} delivered:\n{}\n{}",
            got.len(),
            a.log(),
            b.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The other way: the gateway publishes on the EVM outbox.
    let publisher = EvmAdapter::new(evm_id.clone(), &anvil.url, contracts, quorum.clone())
        .unwrap()
        .with_sender(gateway);
    let key = devnet_trader_key("evm-exporter");
    for sequence in 1..=COUNT {
        let kind = DocumentKind::ALL[(sequence % DocumentKind::ALL.len() as u64) as usize];
        let payload = payload_from_json(&example(kind)).unwrap();
        let body = MessageBody {
            version: VERSION,
            source_chain: evm_id.clone(),
            destination_chain: cn.id.clone(),
            channel: 0,
            nonce: sequence,
            sender: key.public_key(),
            receiver: devnet_trader_key("receiver").public_key(),
            kind,
            payload_hash: hash::sha3(&payload.0),
            payload,
            deadline: Deadline::Height(Height(10_000_000)),
        };
        let message = corridor_light_client::envelope::TradeMessage {
            sequence,
            message: body.sign(&key).unwrap(),
        };
        publisher.publish(&message).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got = receipts_on_chain(&cn, &evm_id).await;
        if got.len() as u64 == COUNT {
            assert_eq!(
                got.keys().copied().collect::<Vec<_>>(),
                (1..=COUNT).collect::<Vec<_>>()
            );
            assert!(
                got.values().all(|r| *r == ReceiptResult::Delivered),
                "{got:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {COUNT} from the EVM chain delivered:\n{}\n{}",
            got.len(),
            a.log(),
            b.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The devnet inbox's client of the EVM chain follows the attested headers.
    let inbox_client = cn.adapter.client_status(&evm_id).await.unwrap();
    assert!(!inbox_client.frozen);
    assert_eq!(inbox_client.root.pin, terms.pin());
    assert!(inbox_client.latest_height().is_some_and(|h| h > evm_root));

    // Every receipt back at both relays: at the devnet relay proven under the EVM chain's
    // rules, at the EVM relay under the devnet chain's.
    wait_acknowledged(&mut a, &mut b, [&cn.id, &evm_id], COUNT).await;
    assert!(
        b.log().contains("relay started"),
        "the EVM relay ran: {}",
        b.log()
    );
    cn.handle.shutdown().await.unwrap();
}
