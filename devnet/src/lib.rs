//! The devnet partner chain: a real, small chain of the native `corridor` family.
//!
//! It is what lets anyone run corridor on one machine: `corridor chain --config FILE` runs
//! one, and [`DevnetChain::start`] embeds one in a process (the demo, the tests).
//!
//! It is a program of its own, apart from `corridor-adapters`: a relay links the adapters
//! (the clients, [`DevnetAdapter`] among them) and never this crate's store or server. The
//! JSON shapes the RPC speaks are defined with the client, in [`corridor_adapters::devnet`],
//! and re-exported here.
//!
//! - A validator set of ed25519 keys derived from the config's seed signs every block, at
//!   the configured interval; the set rotates every `rotate_every` blocks
//!   ([`corridor_light_client::testgen::ChainSpec`]).
//! - The **outbox** (`node`) takes trader-signed messages at `POST /tx` from registered
//!   traders, assigns per-(destination, channel) sequence numbers, and commits each block's
//!   messages in its messages root (a `MerkleTree` over `TradeMessage::leaf`).
//! - The **inbox** takes deliveries at `POST /deliveries`: it checks each with its own light
//!   client of the source chain (`InboxClient`, of the family the config names: a native
//!   chain, or an EVM chain trusted through its attestation quorum, its terms pinned with
//!   its trust root; trust root from the config), the inclusion (or receipt and log)
//!   proof against the trusted messages root and the channel's next sequence (exactly once,
//!   in order), then commits a [`Receipt`] in the next block's receipts root. A
//!   proven message that this chain's own rules refuse (payload limit, document checks,
//!   signature) still consumes its sequence, with a receipt that says rejected and why
//!   ([`RejectReason`]); a repeat of a delivered message gets its original
//!   acknowledgement.
//! - Everything is persisted in RocksDB (`store`), in one synced batch per change, before
//!   the caller is answered; a restarted chain carries on from its store.
//! - `rpc` serves it all over HTTP JSON; [`DevnetAdapter`] (in `corridor-adapters`) is its
//!   client.
//! - Fault modes for tests ([`FaultState`]), from the config or `POST /admin/faults`: sign a
//!   conflicting block at a height, serve blocks with a bad signature, withhold blocks,
//!   stall.
//! - The admin RPC (`/admin/status`, `/admin/faults`) has its own listener (`admin_listen`,
//!   loopback by default) and takes a bearer token ([`AdminToken`]); without a configured
//!   token it is off. Both listeners refuse a `Host` header that is not their address,
//!   `localhost` or a configured host (`bad-host`), so a web page cannot reach them by DNS
//!   rebinding.
//!
//! ## Departures from DESIGN.md
//! - The devnet's block 1 is a fixed genesis derived from the config (its time is the
//!   configured genesis time, its roots are zero), so that peers can name it as their trust
//!   root in static config files. Later blocks carry the real clock's time.
//! - Deliveries are checked by the chain as they arrive rather than as transactions in a
//!   block; the chain answers only after the receipt is persisted for the next block.
//!
//! [`DevnetAdapter`]: corridor_adapters::devnet::DevnetAdapter
//! [`Receipt`]: corridor_adapters::Receipt
//! [`RejectReason`]: corridor_adapters::RejectReason
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api;
pub mod config;
mod node;
mod rpc;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use api::ChainError;
pub use config::{
    devnet_trader_key, devnet_trader_seed, genesis_block, ConfigError, DevnetConfig, Peer, Trader,
};
pub use corridor_adapters::devnet::{
    AdminToken, ClientStatus, Cursor, FaultState, MessageLocation, NodeStatus, Page, Problem,
    TxAccepted,
};
pub use node::MAX_BUNDLE_LIGHT_BLOCKS;
pub use store::StoreError;

use node::{Command, Node};
use store::RocksStore;

/// Capacity of the node's command queue.
const COMMAND_QUEUE: usize = 256;
/// How long a shutdown waits for open HTTP connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why a chain could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The store could not be opened or initialised.
    #[error("devnet chain {chain}: {source}")]
    Open {
        /// The chain.
        chain: String,
        /// Why.
        #[source]
        source: ChainError,
    },
    /// The RPC address could not be bound.
    #[error("devnet chain {chain}: cannot listen on {addr}: {reason}")]
    Bind {
        /// The chain.
        chain: String,
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// A task or the node thread ended abnormally.
    #[error("devnet chain {chain}: {reason}")]
    Task {
        /// The chain.
        chain: String,
        /// What happened.
        reason: String,
    },
}

/// Starts devnet chains.
pub struct DevnetChain;

impl DevnetChain {
    /// Opens the store, starts the node thread, the block timer and the RPC server.
    ///
    /// The returned handle knows the bound address (the config may ask for port 0).
    pub async fn start(config: DevnetConfig) -> Result<DevnetHandle, StartError> {
        let chain = config.chain_id().to_string();
        let config = Arc::new(config);
        let open_config = config.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let store = Arc::new(RocksStore::open(&open_config.store_path)?);
            let (node, status) = Node::open(open_config, store.clone())?;
            Ok::<_, ChainError>((store, node, status))
        })
        .await
        .map_err(|e| StartError::Task {
            chain: chain.clone(),
            reason: format!("store opening task failed: {e}"),
        })?;
        let (store, node, status) = opened.map_err(|source| StartError::Open {
            chain: chain.clone(),
            source,
        })?;

        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| StartError::Bind {
                chain: chain.clone(),
                addr: config.listen,
                reason: e.to_string(),
            })?;
        let addr = listener.local_addr().map_err(|e| StartError::Bind {
            chain: chain.clone(),
            addr: config.listen,
            reason: e.to_string(),
        })?;

        let admin_listener = match &config.admin_token {
            Some(_) => {
                let bind_err = |e: std::io::Error| StartError::Bind {
                    chain: chain.clone(),
                    addr: config.admin_listen,
                    reason: e.to_string(),
                };
                let listener = tokio::net::TcpListener::bind(config.admin_listen)
                    .await
                    .map_err(&bind_err)?;
                let admin_addr = listener.local_addr().map_err(&bind_err)?;
                Some((listener, admin_addr))
            }
            None => None,
        };
        let admin_addr = admin_listener.as_ref().map(|(_, a)| *a);

        let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let clients = node.snapshots();
        let node_thread = std::thread::Builder::new()
            .name(format!("devnet-{chain}"))
            .spawn(move || node.run(command_rx))
            .map_err(|e| StartError::Task {
                chain: chain.clone(),
                reason: format!("cannot spawn the node thread: {e}"),
            })?;

        let (stop, stop_rx) = watch::channel(false);
        let ticker = tokio::spawn(tick(
            commands.clone(),
            config.spec.block_interval,
            stop_rx.clone(),
        ));
        let state = rpc::RpcState {
            config: config.clone(),
            store,
            status: status.clone(),
            commands: commands.clone(),
            clients,
            verify: Arc::new(rpc::VerifyBudget::new(&config)),
        };
        let mut servers = vec![serve(
            listener,
            rpc::router(state.clone(), addr),
            stop_rx.clone(),
        )];
        if let Some((listener, admin_addr)) = admin_listener {
            servers.push(serve(
                listener,
                rpc::admin_router(state, admin_addr),
                stop_rx,
            ));
        }
        tracing::info!(chain = %chain, %addr, admin = ?admin_addr, "devnet chain started");
        Ok(DevnetHandle {
            chain,
            addr,
            admin_addr,
            status,
            stop,
            commands,
            ticker: Some(ticker),
            servers,
            node: Some(node_thread),
        })
    }
}

/// Serves `app` on `listener` until the stop flag changes.
fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // The flag only ever turns true (or its sender goes): any change means stop.
        let shutdown = async move {
            let _ = stop.changed().await;
        };
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "devnet RPC server failed");
        }
    })
}

/// Sends a `Tick` every `interval` until stopped. A tick that finds the queue full is
/// dropped (the node is busy; the next one will do).
async fn tick(
    commands: mpsc::Sender<Command>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut timer = tokio::time::interval(interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    timer.tick().await; // the first tick fires at once; block 2 comes one interval later
    loop {
        tokio::select! {
            _ = timer.tick() => {
                if let Err(mpsc::error::TrySendError::Closed(_)) = commands.try_send(Command::Tick) {
                    break;
                }
            }
            _ = stop.changed() => break,
        }
    }
}

/// A running devnet chain. Dropping it stops the chain without waiting; call
/// [`DevnetHandle::shutdown`] to wait until the store is closed.
pub struct DevnetHandle {
    chain: String,
    addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    status: watch::Receiver<NodeStatus>,
    stop: watch::Sender<bool>,
    commands: mpsc::Sender<Command>,
    ticker: Option<JoinHandle<()>>,
    servers: Vec<JoinHandle<()>>,
    node: Option<std::thread::JoinHandle<()>>,
}

/// A bounded wait ran out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("devnet chain {chain}: condition not met within {limit:?} (last status: height {height})")]
pub struct WaitTimeout {
    /// The chain.
    pub chain: String,
    /// The limit.
    pub limit: Duration,
    /// Published height when it ran out.
    pub height: u64,
}

impl DevnetHandle {
    /// The RPC's bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The RPC's base URL, `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The admin RPC's bound address, when the config has an admin token.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The admin RPC's base URL, `http://ADDR`, when it is served.
    pub fn admin_url(&self) -> Option<String> {
        self.admin_addr.map(|a| format!("http://{a}"))
    }

    /// The node's latest status.
    pub fn status(&self) -> NodeStatus {
        self.status.borrow().clone()
    }

    /// Waits until `ready` holds for the node's status, for at most `limit`.
    pub async fn wait_for(
        &self,
        limit: Duration,
        mut ready: impl FnMut(&NodeStatus) -> bool,
    ) -> Result<NodeStatus, WaitTimeout> {
        let mut rx = self.status.clone();
        let wait = async move {
            loop {
                let status = rx.borrow_and_update().clone();
                if ready(&status) {
                    return Some(status);
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        match tokio::time::timeout(limit, wait).await {
            Ok(Some(s)) => Ok(s),
            _ => Err(WaitTimeout {
                chain: self.chain.clone(),
                limit,
                height: self.status.borrow().published_height.0,
            }),
        }
    }

    /// Stops the timer, the RPC server (waiting up to 10 s for open connections) and the
    /// node, and waits until the store is closed, so the same store can be opened again.
    pub async fn shutdown(mut self) -> Result<(), StartError> {
        self.stop.send_replace(true);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.await;
        }
        for mut server in std::mem::take(&mut self.servers) {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
                .await
                .is_err()
            {
                tracing::warn!(chain = %self.chain, "RPC connections still open; closing them");
                server.abort();
                let _ = server.await;
            }
        }
        // The queue may be full: wait for room rather than drop the shutdown.
        let _ = self.commands.send(Command::Shutdown).await;
        if let Some(node) = self.node.take() {
            let joined = tokio::task::spawn_blocking(move || node.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                return Err(StartError::Task {
                    chain: self.chain.clone(),
                    reason: "the node thread panicked".into(),
                });
            }
        }
        tracing::info!(chain = %self.chain, "devnet chain stopped");
        Ok(())
    }
}

impl Drop for DevnetHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        let _ = self.commands.try_send(Command::Shutdown);
    }
}
