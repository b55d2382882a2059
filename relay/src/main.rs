//! The `corridor` command.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod bench;
mod demo;
mod trader;
mod vectors;
use corridor_devnet::{DevnetChain, DevnetConfig};
use demo::DemoOptions;

/// corridor: a trust-minimised relay for the partner chains of trade corridors.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run verification vectors from a folder and report one line per file.
    Vectors {
        #[command(subcommand)]
        family: VectorFamily,
    },
    /// Run the embedded devnet demo: three partner chains and three operators' relays on
    /// loopback; traders send every document kind between them, through the relays only.
    Devnet {
        /// Messages to send, spread over the trade routes.
        #[arg(long, default_value_t = 110)]
        messages: usize,
        /// Spread the submissions over this many seconds (default: as fast as accepted).
        #[arg(long)]
        duration: Option<u64>,
        /// Block interval of the demo chains, in milliseconds.
        #[arg(long, default_value_t = 200)]
        block_ms: u64,
        /// Keep the chains' and relays' stores and keys in this folder (default: a temporary
        /// folder); a rerun on it resumes.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Give up when the run takes longer than this many seconds.
        #[arg(long, default_value_t = 180)]
        timeout_secs: u64,
        /// Keep the chains and relays running after the summary, until Ctrl-C.
        #[arg(long)]
        keep_running: bool,
        /// Kill and restart a relay, pause one, make a chain withhold its blocks and have a
        /// rogue inject forgeries while the messages flow.
        #[arg(long)]
        chaos: bool,
        /// Let the system choose every port, instead of the fixed ones monitoring/ scrapes.
        #[arg(long)]
        any_ports: bool,
    },
    /// Run one operator's relay from its config until Ctrl-C or SIGTERM.
    Start {
        /// The relay's TOML config (see config/relay.example.toml).
        #[arg(long)]
        config: PathBuf,
        /// QUIC listen address (overrides relay.listen).
        #[arg(long)]
        listen: Option<String>,
        /// Metrics address (overrides relay.metrics_listen).
        #[arg(long)]
        metrics_listen: Option<String>,
        /// Trader API address (overrides relay.api_listen).
        #[arg(long)]
        api_listen: Option<String>,
        /// Store folder (overrides relay.data_dir).
        #[arg(long)]
        data_dir: Option<String>,
        /// Key file (overrides relay.key_file).
        #[arg(long)]
        key_file: Option<String>,
    },
    /// Two devnet chains and two relay processes carry one corridor at full speed; reports
    /// throughput, latency, relay CPU per message and the crypto floor.
    Bench {
        /// Messages to carry.
        #[arg(long, default_value_t = 5000)]
        messages: u64,
        /// Block interval of both chains, in milliseconds.
        #[arg(long, default_value_t = 200)]
        block_ms: u64,
        /// Most messages per block.
        #[arg(long, default_value_t = 1024)]
        max_per_block: usize,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout_secs: u64,
        /// Commit every message on the source chain before the relays start, to measure
        /// the relays' own pace rather than the chain's intake (latency then includes the
        /// wait in the backlog).
        #[arg(long)]
        backlog: bool,
    },
    /// Relay config commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Relay identity keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Build a trade message from a document, sign it with the trader's key and submit it
    /// through a relay's trader API; prints its id.
    Send {
        /// Base URL of the relay's trader API.
        #[arg(long)]
        api: String,
        /// The trader's key file (as `corridor keys generate` writes it).
        #[arg(long)]
        key: PathBuf,
        /// The document, a JSON file.
        #[arg(long)]
        doc: PathBuf,
        /// The document kind: bill_of_lading, certificate_of_origin, commercial_invoice,
        /// letter_of_credit, payment_instruction, customs_declaration, packing_list, generic.
        #[arg(long)]
        kind: String,
        /// Source chain (the trader's).
        #[arg(long)]
        from: String,
        /// Destination chain.
        #[arg(long)]
        to: String,
        /// The addressee's public key (hex).
        #[arg(long)]
        receiver: String,
        /// Channel.
        #[arg(long, default_value_t = 0)]
        channel: u32,
        /// Nonce (default: the time in nanoseconds). With the same nonce and a fixed
        /// deadline, sending again is the same message: the API answers with its id.
        #[arg(long)]
        nonce: Option<u64>,
        /// Deliver by this destination height.
        #[arg(long)]
        deadline_height: Option<u64>,
        /// Deliver within this many seconds (default one day).
        #[arg(long)]
        deadline_secs: Option<u64>,
    },
    /// Follow a message with a live status line until it is delivered, rejected or timed
    /// out. Exits 0 when delivered, 1 when rejected or timed out, 3 when the wait ran out.
    Track {
        /// The message id.
        id: String,
        /// Base URL of the relay's trader API.
        #[arg(long)]
        api: String,
        /// The trader's key file (sender or receiver of the message).
        #[arg(long)]
        key: PathBuf,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout_secs: u64,
    },
    /// Evidence files: a message's commitment and delivery, provable offline.
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// Run one devnet partner chain from its config file until interrupted (Ctrl-C).
    Chain {
        /// The chain's TOML config (see config/ for the demo's three chains).
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum EvidenceCommand {
    /// Get the evidence file of a delivered message (the message with its inclusion proof,
    /// the receipt with its proof, both chains' light blocks from their trust roots) from a
    /// relay's trader API (`--api`, `--key`), or assemble it from its two chains' RPCs
    /// (`--from`, `--from-rpc`, `--to`, `--to-rpc`); it is verified before it is written.
    Get {
        /// The message id.
        id: String,
        /// Base URL of a relay's trader API.
        #[arg(long, conflicts_with_all = ["from", "from_rpc", "to", "to_rpc"], requires = "key")]
        api: Option<String>,
        /// The trader's key file (sender or receiver of the message), with `--api`.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Source chain id.
        #[arg(long, requires_all = ["from_rpc", "to", "to_rpc"])]
        from: Option<String>,
        /// Source chain RPC URL.
        #[arg(long)]
        from_rpc: Option<String>,
        /// Destination chain id.
        #[arg(long)]
        to: Option<String>,
        /// Destination chain RPC URL.
        #[arg(long)]
        to_rpc: Option<String>,
        /// Folder of trust root files (`*.json`: chain_id, height, header_hash).
        #[arg(long)]
        trust_roots: PathBuf,
        /// Where to write the file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check an evidence file offline with the light client alone and say what it proves.
    /// Exits 0 when it proves the message's journey, 1 when it does not (saying where).
    Verify {
        /// The evidence file.
        file: PathBuf,
        /// Folder of trust root files (`*.json`: chain_id, height, header_hash).
        #[arg(long)]
        trust_roots: PathBuf,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a relay config (defaults, the file, CORRIDOR_* variables) without starting.
    Check {
        /// The relay's TOML config.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write a new ed25519 relay key (mode 0600) and print its public key for partners.
    Generate {
        /// Where to write the key; never overwritten.
        #[arg(long, default_value = "relay.key")]
        out: PathBuf,
    },
    /// Write a new secp256k1 delivery key for the relay's own EVM chain (mode 0600; its
    /// `[chains.evm]` `delivery_key_file`) and print its address, for the inbox contract's
    /// relay set (the account also pays for the deliveries' transactions).
    GenerateEvm {
        /// Where to write the key; never overwritten.
        #[arg(long, default_value = "evm-delivery.key")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum VectorFamily {
    /// Native `corridor` light-block vectors (the golden vectors of light-client/tests/vectors).
    Native {
        /// Folder of `*.json` vector files.
        dir: PathBuf,
    },
    /// CometBFT vectors: model-based single-step files, RPC fixtures, bisection files
    /// (folders are walked recursively).
    Cometbft {
        /// Folder of `*.json` vector files.
        dir: PathBuf,
    },
    /// ICS-23 vectors: proof files (spec from their folder name) and `Test*Data.json` files.
    Ics23 {
        /// Folder of `*.json` vector files.
        dir: PathBuf,
        /// Proof spec for every proof file: iavl, tendermint or smt (default: the folder's
        /// name).
        #[arg(long)]
        spec: Option<String>,
    },
    /// EVM vectors: the folder holding `manifest.json` (getproof, headers, receipts_txs,
    /// trie, rlp), each file against the manifest's expected results.
    Evm {
        /// The folder, e.g. ../shared/vectors/evm.
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Vectors { family } => {
            let report = match family {
                VectorFamily::Native { dir } => vectors::run_native(&dir),
                VectorFamily::Cometbft { dir } => vectors::run_cometbft(&dir),
                VectorFamily::Ics23 { dir, spec } => vectors::run_ics23(&dir, spec.as_deref()),
                VectorFamily::Evm { dir } => vectors::run_evm(&dir),
            };
            match report {
                Ok(report) => {
                    print!("{report}");
                    if report.failed() == 0 {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Devnet {
            messages,
            duration,
            block_ms,
            data_dir,
            timeout_secs,
            keep_running,
            chaos,
            any_ports,
        } => run_demo(DemoOptions {
            data_dir,
            block_interval: Duration::from_millis(block_ms.max(10)),
            messages,
            duration: duration.map(Duration::from_secs),
            timeout: Duration::from_secs(timeout_secs),
            keep_running,
            chaos,
            any_ports,
        }),
        Command::Chain { config } => run_chain(&config),
        Command::Evidence { command } => evidence(command),
        Command::Send {
            api,
            key,
            doc,
            kind,
            from,
            to,
            receiver,
            channel,
            nonce,
            deadline_height,
            deadline_secs,
        } => {
            let options = trader::SendOptions {
                api,
                key,
                doc,
                kind,
                from,
                to,
                receiver,
                channel,
                nonce,
                deadline_height,
                deadline_secs,
            };
            let Some(runtime) = runtime() else {
                return ExitCode::FAILURE;
            };
            match runtime.block_on(trader::send(&options)) {
                Ok((id, duplicate)) => {
                    if duplicate {
                        eprintln!("already submitted");
                    }
                    println!("{id}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Track {
            id,
            api,
            key,
            timeout_secs,
        } => {
            let Some(runtime) = runtime() else {
                return ExitCode::FAILURE;
            };
            let timeout = Duration::from_secs(timeout_secs);
            let mut out = std::io::stdout();
            match runtime.block_on(trader::track(&api, &key, &id, timeout, &mut out)) {
                Ok(trader::Tracked::Delivered(_)) => ExitCode::SUCCESS,
                Ok(trader::Tracked::Failed(_)) => ExitCode::from(1),
                Ok(trader::Tracked::Waiting(status)) => {
                    eprintln!("still {status} after {timeout_secs} s");
                    ExitCode::from(3)
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Start {
            config,
            listen,
            metrics_listen,
            api_listen,
            data_dir,
            key_file,
        } => run_relay(
            &config,
            &corridor_relay::settings::Overrides {
                listen,
                metrics_listen,
                api_listen,
                data_dir,
                key_file,
            },
        ),
        Command::Bench {
            messages,
            block_ms,
            max_per_block,
            timeout_secs,
            backlog,
        } => {
            let options = bench::BenchOptions {
                messages,
                block_interval: Duration::from_millis(block_ms.max(10)),
                max_per_block,
                timeout: Duration::from_secs(timeout_secs),
                backlog,
            };
            let Some(runtime) = runtime() else {
                return ExitCode::FAILURE;
            };
            match runtime.block_on(bench::run(options, &mut std::io::stdout())) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Config {
            command: ConfigCommand::Check { file },
        } => match corridor_relay::settings::load(Some(&file), &Default::default()) {
            Ok(s) => {
                let followed = s.chains.values().filter(|c| c.endpoint.is_some()).count();
                println!(
                    "{}: ok: {} chains ({} followed through endpoints), {} peers, QUIC on {}",
                    file.display(),
                    s.chains.len(),
                    followed,
                    s.peers.len(),
                    s.listen
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                ExitCode::from(2)
            }
        },
        Command::Keys {
            command: KeysCommand::Generate { out },
        } => match corridor_relay::keys::generate(&out) {
            Ok(key) => {
                println!(
                    "wrote {} (mode 0600); public key for partners' [[peers]] public_key:",
                    out.display()
                );
                println!("{}", hex::encode(key.verifying_key().to_bytes()));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Command::Keys {
            command: KeysCommand::GenerateEvm { out },
        } => {
            let address = corridor_relay::keys::generate(&out).map(|key| {
                corridor_adapters::evm::Sender::from_seed(key.to_bytes(), 1).map(|s| s.address())
            });
            match address {
                Ok(Ok(address)) => {
                    println!(
                        "wrote {} (mode 0600); address for the inbox contract's relay set:",
                        out.display()
                    );
                    println!("{address}");
                    ExitCode::SUCCESS
                }
                Ok(Err(_)) => {
                    // A random seed at or above the curve's order: about 2^-128.
                    let _ = std::fs::remove_file(&out);
                    eprintln!(
                        "error: {}: the random seed is not a secp256k1 key; run again",
                        out.display()
                    );
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// Logs go to stderr (stdout carries the lines other programs read), coloured only on a
/// terminal.
/// The async runtime of a command; `None` (after saying why) when it cannot start.
fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Runtime::new() {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            None
        }
    }
}

fn init_logs() {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
}

/// `corridor start`: validates the settings, loads the key, runs until Ctrl-C or SIGTERM.
fn run_relay(path: &std::path::Path, overrides: &corridor_relay::settings::Overrides) -> ExitCode {
    init_logs();
    let settings = match corridor_relay::settings::load(Some(path), overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let key = match corridor_relay::keys::load(&settings.key_file) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: relay.key_file: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let outcome = runtime.block_on(async {
        let (tx, rx) = tokio::sync::oneshot::channel::<corridor_relay::daemon::Running>();
        let printer = tokio::spawn(async move {
            if let Ok(r) = rx.await {
                println!(
                    "relay {} listening on {} (QUIC); metrics on http://{}/metrics; trader API on http://{}/v1",
                    hex::encode(r.key.to_bytes()),
                    r.listen,
                    r.metrics,
                    r.api
                );
            }
        });
        // The handlers are installed here, before the relay starts and says where it
        // listens: a SIGTERM right after that line must drain the relay, not kill it.
        use tokio::signal::unix::{signal, SignalKind};
        let (term, interrupt) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        );
        let shutdown = async move {
            match (term, interrupt) {
                (Ok(mut term), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        };
        let r = corridor_relay::daemon::run(settings, key, shutdown, Some(tx)).await;
        let _ = printer.await;
        r
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `corridor devnet`: runs the demo and prints its account as it goes.
fn run_demo(options: DemoOptions) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let mut out = std::io::stdout();
    // The demo's own checks decide: every message delivered exactly once and acknowledged,
    // every injected forgery refused.
    match runtime.block_on(demo::run(options, &mut out)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `corridor chain --config FILE`: loads the config, runs the chain, stops it on Ctrl-C.
fn run_chain(path: &std::path::Path) -> ExitCode {
    init_logs();
    let config = match DevnetConfig::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let genesis = corridor_devnet::genesis_block(&config.spec);
    let outcome: anyhow::Result<()> = runtime.block_on(async {
        let chain = DevnetChain::start(config).await?;
        println!(
            "chain {} serving its RPC at {}",
            chain.status().chain_id,
            chain.url()
        );
        println!(
            "trust root for partners' configs: [peers.trust_root] height = {}, header_hash = \"{}\"",
            genesis.height(),
            genesis.header().hash()
        );
        match chain.admin_url() {
            Some(url) => println!("admin RPC at {url} (bearer token from the config)"),
            None => println!("admin RPC off (no admin_token or admin_token_file configured)"),
        }
        tokio::signal::ctrl_c().await?;
        chain.shutdown().await?;
        Ok(())
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn evidence(command: EvidenceCommand) -> ExitCode {
    use corridor_relay::api::evidence;
    match command {
        EvidenceCommand::Get {
            id,
            api,
            key,
            from,
            from_rpc,
            to,
            to_rpc,
            trust_roots,
            out,
        } => {
            let Some(runtime) = runtime() else {
                return ExitCode::FAILURE;
            };
            let built = runtime.block_on(async {
                let id = corridor_light_client::Hash32::from_hex(&id)
                    .map_err(|e| anyhow::anyhow!("the id is not 64 hex digits: {e}"))?;
                let roots = evidence::load_trust_roots(&trust_roots)?;
                let file = match (api, key, from, from_rpc, to, to_rpc) {
                    (Some(api), Some(key), ..) => {
                        let bytes = trader::fetch_evidence(&api, &key, &id.to_string()).await?;
                        evidence::parse(&bytes)?
                    }
                    (None, _, Some(from), Some(from_rpc), Some(to), Some(to_rpc)) => {
                        let chain = |c: &str| {
                            corridor_light_client::ChainId::new(c)
                                .map_err(|e| anyhow::anyhow!("{c}: {e}"))
                        };
                        let source = corridor_adapters::devnet::DevnetAdapter::new(
                            chain(&from)?,
                            &from_rpc,
                        )?;
                        let destination =
                            corridor_adapters::devnet::DevnetAdapter::new(chain(&to)?, &to_rpc)?;
                        let now = corridor_light_client::Time::from_unix_nanos(
                            std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)?
                                .as_nanos()
                                .try_into()?,
                        );
                        evidence::build(&source, &destination, &roots, id, now).await?
                    }
                    _ => anyhow::bail!(
                        "give --api and --key, or --from, --from-rpc, --to and --to-rpc"
                    ),
                };
                // Verified before it is written: a file that does not prove it is no evidence.
                let proven = evidence::verify(&file, &roots)?;
                std::fs::write(&out, serde_json::to_vec_pretty(&file)?)?;
                anyhow::Ok(proven)
            });
            match built {
                Ok(proven) => {
                    println!("wrote {}:\n{proven}", out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        EvidenceCommand::Verify { file, trust_roots } => {
            let roots = match evidence::load_trust_roots(&trust_roots) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let bytes = match std::fs::read(&file) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("error: {}: {e}", file.display());
                    return ExitCode::from(2);
                }
            };
            match evidence::parse(&bytes).and_then(|e| evidence::verify(&e, &roots)) {
                Ok(proven) => {
                    println!(
                        "{}: verified with the light client alone:\n{proven}",
                        file.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    println!("{}: NOT VERIFIED: {e}", file.display());
                    ExitCode::from(1)
                }
            }
        }
    }
}
