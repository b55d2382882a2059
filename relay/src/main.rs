//! The `corridor` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
        Command::Devnet => {
            eprintln!(
                "corridor devnet: not built yet. The devnet chains, relays and traders come with \
                 the devnet and relay issues; today `corridor vectors native DIR` verifies the \
                 native light client's golden vectors."
            );
            ExitCode::from(2)
        }
    }
}
