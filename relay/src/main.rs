//! The `corridor` command.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use corridor_devnet::{DevnetChain, DevnetConfig};
use corridor_relay::demo::DemoOptions;

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
    /// Run the embedded devnet demo: three partner chains, their traders and a courier on
    /// loopback; every document kind crosses the corridor and is verified at its destination.
    Devnet {
        /// Block interval of the demo chains, in milliseconds.
        #[arg(long, default_value_t = 500)]
        block_ms: u64,
        /// Keep the chains' RocksDB stores in this folder (default: a temporary folder).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Give up when the exchange takes longer than this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout_secs: u64,
    },
    /// Run one devnet partner chain from its config file until interrupted (Ctrl-C).
    Chain {
        /// The chain's TOML config (see config/ for the demo's three chains).
        #[arg(long)]
        config: PathBuf,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Vectors { family } => {
            let report = match family {
                VectorFamily::Native { dir } => corridor_relay::vectors::run_native(&dir),
                VectorFamily::Cometbft { dir } => corridor_relay::vectors::run_cometbft(&dir),
                VectorFamily::Ics23 { dir, spec } => {
                    corridor_relay::vectors::run_ics23(&dir, spec.as_deref())
                }
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
            block_ms,
            data_dir,
            timeout_secs,
        } => run_demo(DemoOptions {
            data_dir,
            block_interval: Duration::from_millis(block_ms.max(10)),
            timeout: Duration::from_secs(timeout_secs),
        }),
        Command::Chain { config } => run_chain(&config),
    }
}

/// `corridor devnet`: runs the demo and prints its account as it goes.
fn run_demo(options: DemoOptions) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    match runtime.block_on(corridor_relay::demo::run(options, &mut out)) {
        Ok(summary)
            if summary.forged_refused
                && summary.replay_idempotent
                && summary.delivered_on_chain == summary.submitted
                && summary.extra_receipts_on_chain == 0 =>
        {
            ExitCode::SUCCESS
        }
        Ok(summary) => {
            eprintln!(
                "error: forged delivery refused as invalid-proof: {}; replay idempotent: {}; \
                 delivered exactly once on the destination chains: {} of {} ({} extra receipts)",
                summary.forged_refused,
                summary.replay_idempotent,
                summary.delivered_on_chain,
                summary.submitted,
                summary.extra_receipts_on_chain
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `corridor chain --config FILE`: loads the config, runs the chain, stops it on Ctrl-C.
fn run_chain(path: &std::path::Path) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = match DevnetConfig::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
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
