//! A local EVM chain for tests and demos: anvil (npm package `@foundry-rs/anvil`) on a
//! loopback port, and corridor's contracts (`adapters/evm-contracts/Corridor.sol`) compiled
//! from source with solcjs (npm package `solc`) and deployed.
//!
//! `scripts/test.sh` installs both tools (`ensure_npm_tools` in `scripts/env.sh`) and sets
//! `CORRIDOR_ANVIL` and `CORRIDOR_SOLCJS`; without them [`Tools::find`] looks in
//! `~/.cache/corridor-npm`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use corridor_light_client::evm::{Address, CorridorContracts};
use serde_json::{json, Value as Json};

use super::tx::{encode, Token};
use super::EvmAdapter;
use crate::error::AdapterError;

/// Anvil's and Hardhat's first well-known development key (funded at genesis): a devnet
/// key, public, never for a real chain.
pub const DEV_KEY: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// The contracts' source.
pub const SOURCE: &str = include_str!("../../evm-contracts/Corridor.sol");

/// The paths of anvil and solcjs.
#[derive(Clone, Debug)]
pub struct Tools {
    /// anvil.
    pub anvil: PathBuf,
    /// solcjs.
    pub solcjs: PathBuf,
}

impl Tools {
    /// Both tools, from `CORRIDOR_ANVIL` and `CORRIDOR_SOLCJS` or under
    /// `~/.cache/corridor-npm`; `Err` names the first one missing.
    pub fn find() -> Result<Self, PathBuf> {
        let tool = |var: &str, default: &str| {
            let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                    .join(".cache/corridor-npm")
                    .join(default)
            });
            if path.is_file() {
                Ok(path)
            } else {
                Err(path)
            }
        };
        Ok(Self {
            anvil: tool(
                "CORRIDOR_ANVIL",
                "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
            )?,
            solcjs: tool("CORRIDOR_SOLCJS", "node_modules/.bin/solcjs")?,
        })
    }
}

/// Why a dev chain did not start.
#[derive(Debug, thiserror::Error)]
pub enum DevChainError {
    /// A tool did not run or answered nonsense.
    #[error("{tool}: {reason}")]
    Tool {
        /// anvil or solcjs.
        tool: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The chain refused a deployment.
    #[error(transparent)]
    Adapter(#[from] AdapterError),
}

fn tool_error(tool: &'static str, reason: impl ToString) -> DevChainError {
    DevChainError::Tool {
        tool,
        reason: reason.to_string(),
    }
}

/// A running anvil, killed on drop.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    /// Its JSON-RPC URL.
    pub url: String,
}

impl Anvil {
    /// Starts anvil on a loopback port with EIP-155 id `chain_id` and its genesis
    /// `genesis_unix` (seconds). Set one second between blocks
    /// (`anvil_setBlockTimestampInterval`) so every block is later than its parent, as the
    /// attested trust model requires; a genesis in the past keeps them out of the future.
    pub fn start(bin: &Path, chain_id: u64, genesis_unix: u64) -> Result<Self, DevChainError> {
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", "0", "--chain-id"])
            .arg(chain_id.to_string())
            .arg("--timestamp")
            .arg(genesis_unix.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| tool_error("anvil", format!("{}: {e}", bin.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| tool_error("anvil", "no stdout"))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                    let _ = tx.try_send(addr.to_owned());
                }
            }
        });
        let mut anvil = Self {
            child,
            url: String::new(),
        };
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| tool_error("anvil", "did not say where it listens within 30 s"))?;
        anvil.url = format!("http://{addr}");
        Ok(anvil)
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Compiles [`SOURCE`] with solcjs; returns the creation code of the outbox and the inbox.
pub fn compile(solcjs: &Path) -> Result<(Vec<u8>, Vec<u8>), DevChainError> {
    let input = json!({
        "language": "Solidity",
        "sources": {"Corridor.sol": {"content": SOURCE}},
        "settings": {
            "optimizer": {"enabled": true, "runs": 200},
            "outputSelection": {"*": {"*": ["evm.bytecode.object"]}}
        }
    });
    let mut child = Command::new(solcjs)
        .arg("--standard-json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| tool_error("solcjs", format!("{}: {e}", solcjs.display())))?;
    child
        .stdin
        .take()
        .ok_or_else(|| tool_error("solcjs", "no stdin"))?
        .write_all(input.to_string().as_bytes())
        .map_err(|e| tool_error("solcjs", e))?;
    let out = child
        .wait_with_output()
        .map_err(|e| tool_error("solcjs", e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // solcjs may print a notice line before the JSON.
    let start = text
        .find('{')
        .ok_or_else(|| tool_error("solcjs", "no JSON output"))?;
    let output: Json = serde_json::from_str(&text[start..]).map_err(|e| tool_error("solcjs", e))?;
    for e in output["errors"].as_array().into_iter().flatten() {
        if e["severity"] == "error" {
            return Err(tool_error("solcjs", &e["formattedMessage"]));
        }
    }
    let code = |name: &str| {
        output["contracts"]["Corridor.sol"][name]["evm"]["bytecode"]["object"]
            .as_str()
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| tool_error("solcjs", format!("no bytecode of {name}")))
    };
    Ok((code("CorridorOutbox")?, code("CorridorInbox")?))
}

/// Deploys the outbox (publishing for `publisher`) and the inbox (taking `threshold` of
/// `relays`, sorted or not) from `adapter`'s sending account, and waits for both.
pub async fn deploy(
    adapter: &EvmAdapter,
    code: &(Vec<u8>, Vec<u8>),
    publisher: Address,
    relays: &[Address],
    threshold: u64,
) -> Result<CorridorContracts, DevChainError> {
    let mut init = code.0.clone();
    init.extend(encode(&[Token::address(&publisher)]));
    let outbox = adapter.transact(None, &init).await?.contract_address;
    let mut init = code.1.clone();
    init.extend(encode(&[
        Token::AddressArray(relays.to_vec()),
        Token::uint(threshold),
    ]));
    let inbox = adapter.transact(None, &init).await?.contract_address;
    match (outbox, inbox) {
        (Some(outbox), Some(inbox)) => Ok(CorridorContracts { outbox, inbox }),
        _ => Err(tool_error("anvil", "a deployment made no contract")),
    }
}
