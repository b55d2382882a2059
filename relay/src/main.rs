//! The `corridor` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use corridor_adapters::devnet::{DevnetChain, DevnetConfig};

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
    /// Run the embedded devnet demo: partner chains, relays and traders on loopback.
    Devnet,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Vectors { family } => {
            let report = match family {
                VectorFamily::Native { dir } => corridor_relay::vectors::run_native(&dir),
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
        Command::Devnet => {
            eprintln!(
                "corridor devnet: not built yet. The devnet chains, relays and traders come with \
                 the devnet and relay issues; today `corridor vectors native DIR` verifies the \
                 native light client's golden vectors."
            );
            ExitCode::from(2)
        }
        Command::Chain { config } => run_chain(&config),
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
    let outcome: anyhow::Result<()> = runtime.block_on(async {
        let chain = DevnetChain::start(config).await?;
        println!(
            "chain {} serving its RPC at {}",
            chain.status().chain_id,
            chain.url()
        );
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
