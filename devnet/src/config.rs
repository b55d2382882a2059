//! A devnet chain's configuration: raw TOML settings checked into a typed [`DevnetConfig`].
//!
//! [`DevnetConfig::load`] reads one TOML file with the `config` crate (no environment layer:
//! one file describes one chain completely, so the three demo chains can sit side by side).
//! [`RawConfig`] is the file as written; [`DevnetConfig::try_from`] checks it and reports
//! every problem with its key, e.g. `peers[1].validators.count: must be 1 to 10000`.
//!
//! ## Keys
//! ```toml
//! chain_id = "cn-shanghai"          # 1-50 printable ASCII bytes
//! genesis_time_unix = 1767225600     # time of block 1, seconds since 1970 (UTC)
//! block_interval_ms = 500            # time between blocks
//! listen = "127.0.0.1:26701"        # public RPC address; port 0 picks a free port
//! admin_listen = "127.0.0.1:26711"  # admin RPC address (default 127.0.0.1:0)
//! admin_token_file = "secrets/admin-token"  # bearer token of the admin RPC (or
//! # admin_token = "..."; with neither, the admin RPC is off); at least 16 bytes
//! allow_public_listen = false        # needed for a `listen` or `admin_listen` that is
//!                                    # not a loopback address
//! allowed_hosts = ["chain.example.org:26701"]  # Host headers accepted besides the
//!                                    # listen address and localhost
//! store_path = "data/cn-shanghai"    # RocksDB folder
//! [validators]                       # who signs: see `corridor_light_client::testgen::ChainSpec`
//! seed = "cn-shanghai/validators"    # every key is derived from it (devnet only!)
//! count = 4
//! rotate_every = 50                  # blocks between rotations (0: never)
//! rotate_count = 1                   # validators replaced at each rotation
//! [limits]                           # all optional
//! max_payload_bytes = 65536
//! max_body_bytes = 1048576
//! max_messages_per_block = 128     # a block's most messages (and, apart, receipts)
//! max_pending = 4096
//! page_bytes = 4194304              # byte budget of one `/outbox` or `/receipts` page
//! verify_per_second = 64            # light blocks one client address may have verified per
//! verify_burst = 256                #   second, and at once (deliveries' signature work)
//! [[traders]]                        # who may submit messages
//! name = "..."
//! public_key = "<64 hex digits>"
//! [[peers]]                          # chains this one takes deliveries from / sends to
//! chain_id = "kz-astana"
//! trusting_period_secs = 1209600      # optional, default two weeks
//! family = "corridor"               # optional: `corridor` (default) or `evm`
//! [peers.trust_root]                 # public data only: a height and its header's hash
//! height = 1
//! header_hash = "<64 hex digits>"    # from the peer's operator (or its `/blocks/1`)
//! [peers.evm]                        # an `evm` peer's terms, pinned with its root: its
//! chain_id = 31337                   #   EIP-155 id, contracts and header attestors (a
//! outbox = "0x..."                   #   WEAKER trust model than a light client: k
//! inbox = "0x..."                    #   colluding attestors vouch for any header)
//! attestors = ["ed25519:<64 hex digits>"]
//! threshold = 1
//! [faults]                           # all optional, for tests
//! fork_at_height = 12
//! bad_signatures = false
//! withhold = false
//! stall = false
//! ```
//!
//! ## Trust roots
//! A peer's trust root is public data: a height and the hash of the header at that height
//! (which commits the peer's validator sets). Nothing in it lets a reader sign as the peer.
//! The inbox's light client of the peer takes the root block itself from the first delivery
//! that carries it, when its hash is the configured one and its own validators signed it.
//! The demo configs name each peer's block 1; `corridor chain --config FILE` prints a
//! chain's genesis hash for its partners' configs.

use core::time::Duration;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use corridor_adapters::devnet::{AdminToken, FaultState};
use corridor_adapters::MAX_RESPONSE_BYTES;
use corridor_light_client::bundle::MAX_BUNDLE_LIGHT_BLOCKS;
use corridor_light_client::client::TrustRoot;
use corridor_light_client::codec::MAX_DECODE_LEN;
use corridor_light_client::envelope::{Limits, DEFAULT_MAX_PAYLOAD};
use corridor_light_client::family::FamilyKind;
use corridor_light_client::hash;
use corridor_light_client::native::{LightBlock, MAX_VALIDATORS};
use corridor_light_client::signature::{PublicKey, SigningKey};
use corridor_light_client::testgen::{self, BlockContents, ChainSpec};
use corridor_light_client::{ChainId, Hash32, Height, Options, Time};
use serde::Deserialize;

/// Default time between blocks.
pub const DEFAULT_BLOCK_INTERVAL: Duration = Duration::from_millis(500);

/// The file as written. Every field is optional here so that all problems can be reported
/// together, each with its key.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `chain_id`.
    pub chain_id: Option<String>,
    /// `genesis_time_unix`.
    pub genesis_time_unix: Option<u64>,
    /// `block_interval_ms`.
    pub block_interval_ms: Option<u64>,
    /// `listen`.
    pub listen: Option<String>,
    /// `admin_listen`.
    pub admin_listen: Option<String>,
    /// `admin_token`.
    pub admin_token: Option<String>,
    /// `admin_token_file`.
    pub admin_token_file: Option<PathBuf>,
    /// `allow_public_listen`.
    #[serde(default)]
    pub allow_public_listen: bool,
    /// `allowed_hosts`.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// `store_path`.
    pub store_path: Option<PathBuf>,
    /// `[validators]`.
    pub validators: Option<RawValidators>,
    /// `[limits]`.
    #[serde(default)]
    pub limits: RawLimits,
    /// `[[traders]]`.
    #[serde(default)]
    pub traders: Vec<RawTrader>,
    /// `[[peers]]`.
    #[serde(default)]
    pub peers: Vec<RawPeer>,
    /// `[faults]`.
    #[serde(default)]
    pub faults: FaultState,
}

/// `[validators]` of a chain or a peer.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawValidators {
    /// `seed`.
    pub seed: Option<String>,
    /// `count`.
    pub count: Option<u32>,
    /// `rotate_every`.
    #[serde(default)]
    pub rotate_every: u64,
    /// `rotate_count`.
    #[serde(default)]
    pub rotate_count: u32,
}

/// `[limits]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// `max_payload_bytes`.
    pub max_payload_bytes: Option<usize>,
    /// `max_body_bytes`.
    pub max_body_bytes: Option<usize>,
    /// `max_messages_per_block`.
    pub max_messages_per_block: Option<usize>,
    /// `max_pending`.
    pub max_pending: Option<usize>,
    /// `page_bytes`.
    pub page_bytes: Option<usize>,
    /// `verify_per_second`.
    pub verify_per_second: Option<u32>,
    /// `verify_burst`.
    pub verify_burst: Option<u32>,
}

/// One `[[traders]]` entry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrader {
    /// `name`.
    pub name: Option<String>,
    /// `public_key`, hex.
    pub public_key: Option<String>,
}

/// One `[[peers]]` entry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPeer {
    /// `chain_id`.
    pub chain_id: Option<String>,
    /// `trusting_period_secs`.
    pub trusting_period_secs: Option<u64>,
    /// `[peers.trust_root]`.
    pub trust_root: Option<RawTrustRoot>,
    /// `family`: `corridor` (default) or `evm`.
    pub family: Option<String>,
    /// `[peers.evm]`: an `evm` peer's terms.
    pub evm: Option<corridor_adapters::evm::terms::RawEvmTerms>,
}

/// A `[peers.trust_root]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrustRoot {
    /// `height`.
    pub height: Option<u64>,
    /// `header_hash`, 64 hex digits.
    pub header_hash: Option<String>,
}

/// A registered trader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trader {
    /// Display name (never a secret).
    pub name: String,
    /// The key its messages are signed with.
    pub public_key: PublicKey,
}

/// A chain this one exchanges messages with, and how much this one trusts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The peer's family: how the inbox verifies its bundles.
    pub family: FamilyKind,
    /// The peer's trust root (its chain id, a height, that header's hash, and for an EVM
    /// chain the pin of its terms).
    pub root: TrustRoot,
    /// Options of this chain's light client of the peer.
    pub options: Options,
}

impl Peer {
    /// The peer's chain.
    pub fn chain_id(&self) -> &ChainId {
        &self.root.chain_id
    }

    /// A new light client of the peer, of its family: it trusts no block until the root
    /// block arrives.
    pub fn new_client(&self) -> corridor_adapters::types::InboxClient {
        // The sum family takes every family: `for_family` always makes the client.
        corridor_adapters::types::InboxClient::for_family(
            self.family,
            self.root.clone(),
            self.options,
        )
        .unwrap_or_else(|| {
            corridor_adapters::types::InboxClient::new(self.root.clone(), self.options)
        })
    }
}

/// A checked devnet chain configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevnetConfig {
    /// Validators, rotation, genesis time and block interval.
    pub spec: ChainSpec,
    /// Public RPC address.
    pub listen: SocketAddr,
    /// Admin RPC address (`/admin/...`); served only when `admin_token` is set.
    pub admin_listen: SocketAddr,
    /// Bearer token of the admin RPC; `None` turns the admin RPC off.
    pub admin_token: Option<AdminToken>,
    /// Whether `listen` and `admin_listen` may be other than loopback addresses.
    pub allow_public_listen: bool,
    /// `Host` headers accepted besides the listen address and `localhost` (lower case).
    pub allowed_hosts: Vec<String>,
    /// RocksDB folder.
    pub store_path: PathBuf,
    /// Envelope limits.
    pub limits: Limits,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Most outbound messages (and, separately, receipts) per block.
    pub max_messages_per_block: usize,
    /// Most messages (and, separately, receipts) waiting for a block.
    pub max_pending: usize,
    /// Byte budget of one `/outbox` or `/receipts` page (JSON of its items).
    pub page_bytes: usize,
    /// Light blocks of deliveries one client address may have verified per second (their
    /// signatures are the expensive part of a delivery).
    pub verify_per_second: u32,
    /// ... and at once.
    pub verify_burst: u32,
    /// Registered traders.
    pub traders: Vec<Trader>,
    /// Peer chains with their trust roots.
    pub peers: Vec<Peer>,
    /// Fault modes at start (a stored fault state wins after a restart).
    pub faults: FaultState,
}

/// The genesis block (height 1) of a devnet chain: empty roots, the spec's genesis time.
///
/// Everything in it follows from the spec, which is what lets a peer's config name it as a
/// trust root.
pub fn genesis_block(spec: &ChainSpec) -> LightBlock {
    testgen::block(spec, Height(1), Hash32::ZERO, BlockContents::default())
}

/// The signing key of the devnet trader called `name`: derived from the name alone.
///
/// For the devnet and its demo only, where anyone may act as any trader: the demo's configs
/// register the public keys of these keys, and the demo's traders sign with them. A real
/// trader's key is its own secret and is never derivable.
pub fn devnet_trader_key(name: &str) -> SigningKey {
    SigningKey::from_seed(devnet_trader_seed(name))
}

/// The seed of [`devnet_trader_key`] (the demo writes it as a key file for `corridor send`).
pub fn devnet_trader_seed(name: &str) -> [u8; 32] {
    hash::tagged(b"corridor/devnet/trader/v1\0", name.as_bytes()).0
}

/// One problem in a config, with the key it is about.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct KeyError {
    /// Dotted key path, e.g. `peers[0].validators.seed`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// Why a config was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read or is not TOML of the expected shape.
    #[error("cannot load devnet config {path}: {reason}")]
    Load {
        /// The file.
        path: PathBuf,
        /// The loader's message (it names the key where it can).
        reason: String,
    },
    /// One or more keys have bad values.
    #[error("invalid devnet config: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<KeyError>),
}

impl DevnetConfig {
    /// Reads and checks the TOML file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let load_err = |reason: String| ConfigError::Load {
            path: path.to_owned(),
            reason,
        };
        let raw: RawConfig = config::Config::builder()
            .add_source(config::File::from(path).format(config::FileFormat::Toml))
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| load_err(e.to_string()))?;
        Self::try_from(raw)
    }

    /// Parses and checks TOML text (for embedded configs and tests).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| ConfigError::Load {
                path: PathBuf::from("<text>"),
                reason: e.to_string(),
            })?;
        Self::try_from(raw)
    }

    /// The chain id.
    pub fn chain_id(&self) -> &ChainId {
        &self.spec.chain_id
    }

    /// The peer with `chain_id`, if configured.
    pub fn peer(&self, chain_id: &ChainId) -> Option<&Peer> {
        self.peers.iter().find(|p| p.chain_id() == chain_id)
    }

    /// A config for tests and embedding: `validators` validators, no rotation, `interval`
    /// between blocks, genesis at `genesis_time`, public and admin RPC on 127.0.0.1 port 0
    /// (the admin RPC with a fresh token), default limits, no traders, no peers, no faults.
    pub fn simple(
        chain_id: ChainId,
        validators: u32,
        interval: Duration,
        genesis_time: Time,
        store_path: PathBuf,
    ) -> Self {
        let mut spec = ChainSpec::simple(chain_id.as_str(), validators);
        spec.chain_id = chain_id;
        spec.genesis_time = genesis_time;
        spec.block_interval = interval;
        Self {
            spec,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token: Some(AdminToken::generate()),
            allow_public_listen: false,
            allowed_hosts: Vec::new(),
            store_path,
            limits: Limits::default(),
            max_body_bytes: DEFAULT_MAX_BODY,
            max_messages_per_block: DEFAULT_MAX_MESSAGES_PER_BLOCK,
            max_pending: DEFAULT_MAX_PENDING,
            page_bytes: DEFAULT_PAGE_BYTES,
            verify_per_second: DEFAULT_VERIFY_PER_SECOND,
            verify_burst: DEFAULT_VERIFY_BURST,
            traders: Vec::new(),
            peers: Vec::new(),
            faults: FaultState::default(),
        }
    }

    /// This chain as a peer of another: its spec and the given trusting period.
    pub fn as_peer(&self, trusting_period: Duration) -> Peer {
        let genesis = genesis_block(&self.spec);
        Peer {
            family: FamilyKind::Corridor,
            root: TrustRoot {
                chain_id: self.spec.chain_id.clone(),
                height: genesis.height(),
                header_hash: genesis.header().hash(),
                pin: None,
            },
            options: Options {
                trusting_period,
                ..Options::default()
            },
        }
    }
}

/// Default largest request body.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;
/// Default most messages per block: 128 messages of the default largest payload (64 KiB)
/// fit the adapters' response limit (32 MiB) as JSON, where 256 would not.
pub const DEFAULT_MAX_MESSAGES_PER_BLOCK: usize = 128;
/// Default byte budget of one `/outbox` or `/receipts` page.
pub const DEFAULT_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Room a page's JSON takes besides its items (brackets, the `next` cursor).
pub const PAGE_OVERHEAD_BYTES: usize = 1024;
/// Bytes an outbox item's JSON takes besides its payload's hex digits and its proof path:
/// field names, two chain ids (escaped), keys, hashes, the signature, numbers.
const ITEM_JSON_OVERHEAD: usize = 2048;
/// Bytes a stored message's CBOR takes besides its payload.
const ITEM_CBOR_OVERHEAD: usize = 1024;

/// Most bytes one outbox item (an [`corridor_adapters::OutboundMessage`] with its proof) takes as JSON,
/// for a payload of at most `max_payload` bytes in a block of at most `per_block` messages.
///
/// The payload travels as hex (two digits a byte); the proof has one 64-digit hash per
/// level of the block's Merkle tree. Receipts are smaller than messages.
pub fn max_item_json_bytes(max_payload: usize, per_block: usize) -> usize {
    let levels = usize::try_from(usize::BITS - per_block.leading_zeros()).unwrap_or(64);
    max_payload
        .saturating_mul(2)
        .saturating_add(ITEM_JSON_OVERHEAD)
        .saturating_add(levels.saturating_mul(70))
}

/// Most bytes one stored outbound message takes as canonical CBOR.
fn max_item_cbor_bytes(max_payload: usize) -> usize {
    max_payload.saturating_add(ITEM_CBOR_OVERHEAD)
}
/// Default most pending messages.
pub const DEFAULT_MAX_PENDING: usize = 4096;
/// Default `limits.verify_per_second`.
pub const DEFAULT_VERIFY_PER_SECOND: u32 = 64;
/// Default `limits.verify_burst`.
pub const DEFAULT_VERIFY_BURST: u32 = 256;
/// Default trusting period of a peer's light client.
pub const DEFAULT_TRUSTING_PERIOD: Duration = Duration::from_secs(14 * 24 * 3600);

/// Collects key errors while checking.
#[derive(Default)]
struct Checker {
    errors: Vec<KeyError>,
}

impl Checker {
    fn fail(&mut self, key: impl Into<String>, problem: impl Into<String>) {
        self.errors.push(KeyError {
            key: key.into(),
            problem: problem.into(),
        });
    }

    fn required<T>(&mut self, key: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.fail(key, "is required");
        }
        value
    }

    fn chain_id(&mut self, key: &str, value: Option<String>) -> Option<ChainId> {
        let value = self.required(key, value)?;
        ChainId::new(value)
            .map_err(|e| self.fail(key, e.to_string()))
            .ok()
    }

    fn trust_root(&mut self, key: &str, value: Option<RawTrustRoot>) -> Option<(Height, Hash32)> {
        let raw = self.required(key, value)?;
        let height = self.required(&format!("{key}.height"), raw.height);
        if height == Some(0) {
            self.fail(format!("{key}.height"), "must be 1 or above");
        }
        let hash_key = format!("{key}.header_hash");
        let hash =
            self.required(&hash_key, raw.header_hash)
                .and_then(|h| match Hash32::from_hex(&h) {
                    Ok(h) => Some(h),
                    Err(e) => {
                        self.fail(hash_key.clone(), format!("must be 64 hex digits: {e}"));
                        None
                    }
                });
        match (height, hash) {
            (Some(h), Some(hash)) if h > 0 => Some((Height(h), hash)),
            _ => None,
        }
    }

    fn genesis(&mut self, key: &str, value: Option<u64>) -> Option<Time> {
        let secs = self.required(key, value)?;
        let time = Time::from_unix_secs(secs);
        if time.is_none() {
            self.fail(key, "is too far in the future");
        }
        time
    }

    /// An RPC address: a loopback one unless `allow_public` is set.
    fn listen(&mut self, key: &str, text: &str, allow_public: bool) -> Option<SocketAddr> {
        let addr = text
            .parse::<SocketAddr>()
            .map_err(|e| self.fail(key, format!("{text:?} is not an address: {e}")))
            .ok()?;
        if !addr.ip().is_loopback() && !allow_public {
            self.fail(
                key,
                format!(
                    "{addr} is not a loopback address; set allow_public_listen = true to serve \
                     on it"
                ),
            );
        }
        Some(addr)
    }

    fn positive(&mut self, key: &str, value: Option<usize>, default: usize) -> usize {
        match value {
            Some(0) => {
                self.fail(key, "must be at least 1");
                default
            }
            Some(v) => v,
            None => default,
        }
    }

    /// Checks that what the chain serves can be fetched: one page fits the adapters'
    /// response limit, one item of the largest payload fits a page, and a block's most
    /// messages fit both the response limit (as JSON) and the store's decoder (as CBOR).
    fn pages(&mut self, max_payload: usize, per_block: usize, page_bytes: usize) {
        let limit = MAX_RESPONSE_BYTES.saturating_sub(PAGE_OVERHEAD_BYTES);
        if page_bytes > limit {
            self.fail(
                "limits.page_bytes",
                format!("{page_bytes} is over {limit}, the most a client reads in one response"),
            );
        }
        let item = max_item_json_bytes(max_payload, per_block);
        if item > page_bytes {
            self.fail(
                "limits.page_bytes",
                format!(
                    "{page_bytes} cannot hold one message of limits.max_payload_bytes \
                     ({max_payload}), which takes up to {item} bytes"
                ),
            );
        }
        let block_json = item.saturating_mul(per_block);
        let block_cbor = max_item_cbor_bytes(max_payload).saturating_mul(per_block);
        if block_json > limit || block_cbor > MAX_DECODE_LEN {
            self.fail(
                "limits.max_messages_per_block",
                format!(
                    "{per_block} messages of limits.max_payload_bytes ({max_payload}) take up \
                     to {block_json} bytes, over the {limit} a client reads in one response \
                     (or {block_cbor} bytes stored, over {MAX_DECODE_LEN}); lower one of them"
                ),
            );
        }
    }

    fn validators(
        &mut self,
        prefix: &str,
        raw: Option<RawValidators>,
    ) -> Option<(String, u32, u64, u32)> {
        let raw = self.required(prefix, raw)?;
        let seed = self.required(&format!("{prefix}.seed"), raw.seed);
        if seed.as_deref() == Some("") {
            self.fail(format!("{prefix}.seed"), "must not be empty");
        }
        let count = self.required(&format!("{prefix}.count"), raw.count);
        if let Some(c) = count {
            if c == 0 || c as usize > MAX_VALIDATORS {
                self.fail(
                    format!("{prefix}.count"),
                    format!("must be 1 to {MAX_VALIDATORS}"),
                );
            }
        }
        Some((seed?, count?, raw.rotate_every, raw.rotate_count))
    }
}

fn spec_of(
    chain_id: ChainId,
    (seed, validators, rotate_every, rotate_count): (String, u32, u64, u32),
    genesis_time: Time,
    block_interval: Duration,
) -> ChainSpec {
    ChainSpec {
        chain_id,
        seed,
        validators,
        rotate_every,
        rotate_count,
        genesis_time,
        block_interval,
    }
}

impl TryFrom<RawConfig> for DevnetConfig {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, Self::Error> {
        let mut c = Checker::default();
        let chain_id = c.chain_id("chain_id", raw.chain_id);
        let genesis = c.genesis("genesis_time_unix", raw.genesis_time_unix);
        let interval = match raw.block_interval_ms {
            Some(0) => {
                c.fail("block_interval_ms", "must be at least 1");
                DEFAULT_BLOCK_INTERVAL
            }
            Some(ms) => Duration::from_millis(ms),
            None => DEFAULT_BLOCK_INTERVAL,
        };
        let allow_public = raw.allow_public_listen;
        let listen = c
            .required("listen", raw.listen)
            .and_then(|l| c.listen("listen", &l, allow_public));
        let admin_listen = match raw.admin_listen {
            Some(l) => c.listen("admin_listen", &l, allow_public),
            None => Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        };
        if let (Some(l), Some(a)) = (listen, admin_listen) {
            if l == a && l.port() != 0 {
                c.fail(
                    "admin_listen",
                    format!("{a} is also `listen`: the admin RPC needs its own"),
                );
            }
        }
        let admin_token = match (raw.admin_token, raw.admin_token_file) {
            (Some(_), Some(_)) => {
                c.fail(
                    "admin_token_file",
                    "set admin_token or admin_token_file, not both",
                );
                None
            }
            (Some(text), None) => AdminToken::new(text)
                .map_err(|e| c.fail("admin_token", e))
                .ok(),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(text) => AdminToken::new(text.trim_end_matches(['\r', '\n']))
                    .map_err(|e| c.fail("admin_token_file", format!("{}: {e}", path.display())))
                    .ok(),
                Err(e) => {
                    c.fail(
                        "admin_token_file",
                        format!("cannot read {}: {e}", path.display()),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        let allowed_hosts = raw
            .allowed_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let store_path = c.required("store_path", raw.store_path);
        let validators = c.validators("validators", raw.validators);
        let max_payload = c.positive(
            "limits.max_payload_bytes",
            raw.limits.max_payload_bytes,
            DEFAULT_MAX_PAYLOAD,
        );
        let max_body_bytes = c.positive(
            "limits.max_body_bytes",
            raw.limits.max_body_bytes,
            DEFAULT_MAX_BODY,
        );
        if max_body_bytes < max_payload {
            c.fail(
                "limits.max_body_bytes",
                format!("must be at least limits.max_payload_bytes ({max_payload})"),
            );
        }
        let max_messages_per_block = c.positive(
            "limits.max_messages_per_block",
            raw.limits.max_messages_per_block,
            DEFAULT_MAX_MESSAGES_PER_BLOCK,
        );
        let max_pending = c.positive(
            "limits.max_pending",
            raw.limits.max_pending,
            DEFAULT_MAX_PENDING,
        );
        let page_bytes = c.positive(
            "limits.page_bytes",
            raw.limits.page_bytes,
            DEFAULT_PAGE_BYTES,
        );
        c.pages(max_payload, max_messages_per_block, page_bytes);
        let verify_per_second = c.positive(
            "limits.verify_per_second",
            raw.limits.verify_per_second.map(|v| v as usize),
            DEFAULT_VERIFY_PER_SECOND as usize,
        );
        let verify_burst = c.positive(
            "limits.verify_burst",
            raw.limits.verify_burst.map(|v| v as usize),
            DEFAULT_VERIFY_BURST as usize,
        );
        if verify_burst < MAX_BUNDLE_LIGHT_BLOCKS {
            c.fail(
                "limits.verify_burst",
                format!(
                    "{verify_burst} is below {MAX_BUNDLE_LIGHT_BLOCKS}, the light blocks one \
                     delivery may carry: such a delivery could never be taken"
                ),
            );
        }

        let mut traders = Vec::new();
        let mut trader_keys = BTreeSet::new();
        for (i, t) in raw.traders.into_iter().enumerate() {
            let name = c.required(&format!("traders[{i}].name"), t.name);
            let key_name = format!("traders[{i}].public_key");
            let key = c.required(&key_name, t.public_key).and_then(|hex_key| {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(hex_key, &mut bytes)
                    .map_err(|e| c.fail(&key_name, format!("is not 64 hex digits: {e}")))
                    .ok()
                    .map(|()| PublicKey(bytes))
            });
            if let Some(k) = key {
                if !trader_keys.insert(k) {
                    c.fail(&key_name, "is registered twice");
                }
            }
            if let (Some(name), Some(public_key)) = (name, key) {
                traders.push(Trader { name, public_key });
            }
        }

        let mut peers = Vec::new();
        let mut peer_ids = BTreeSet::new();
        for (i, p) in raw.peers.into_iter().enumerate() {
            let prefix = format!("peers[{i}]");
            let id = c.chain_id(&format!("{prefix}.chain_id"), p.chain_id);
            if let Some(id) = &id {
                if Some(id) == chain_id.as_ref() {
                    c.fail(format!("{prefix}.chain_id"), "is this chain's own id");
                } else if !peer_ids.insert(id.clone()) {
                    c.fail(format!("{prefix}.chain_id"), "is listed twice");
                }
            }
            let trusting_period = match p.trusting_period_secs {
                Some(0) => {
                    c.fail(
                        format!("{prefix}.trusting_period_secs"),
                        "must be at least 1",
                    );
                    DEFAULT_TRUSTING_PERIOD
                }
                Some(s) => Duration::from_secs(s),
                None => DEFAULT_TRUSTING_PERIOD,
            };
            let root = c.trust_root(&format!("{prefix}.trust_root"), p.trust_root);
            let family = match p.family.as_deref() {
                None | Some("corridor") => Some(FamilyKind::Corridor),
                Some("evm") => Some(FamilyKind::Evm),
                Some(other) => {
                    c.fail(
                        format!("{prefix}.family"),
                        format!("{other:?}: a devnet inbox takes `corridor` or `evm` chains"),
                    );
                    None
                }
            };
            let pin = match (family, p.evm) {
                (Some(FamilyKind::Evm), Some(raw)) => match raw.check() {
                    Ok(terms) => terms.pin(),
                    Err(e) => {
                        c.fail(format!("{prefix}.evm.{}", e.key), e.problem);
                        None
                    }
                },
                (Some(FamilyKind::Evm), None) => {
                    c.fail(
                        format!("{prefix}.evm"),
                        "an evm peer names its terms: chain_id, outbox, inbox, attestors, threshold",
                    );
                    None
                }
                (Some(_), Some(_)) => {
                    c.fail(format!("{prefix}.evm"), "only for a peer of family `evm`");
                    None
                }
                _ => None,
            };
            if let (Some(chain_id), Some((height, header_hash)), Some(family)) = (id, root, family)
            {
                peers.push(Peer {
                    family,
                    root: TrustRoot {
                        chain_id,
                        height,
                        header_hash,
                        pin,
                    },
                    options: Options {
                        trusting_period,
                        ..Options::default()
                    },
                });
            }
        }
        if let Some(h) = raw.faults.fork_at_height {
            if h < 2 {
                c.fail("faults.fork_at_height", "must be 2 or above (1 is genesis)");
            }
        }

        match (chain_id, genesis, listen, store_path, validators) {
            (Some(chain_id), Some(genesis), Some(listen), Some(store_path), Some(vals))
                if c.errors.is_empty() =>
            {
                Ok(Self {
                    spec: spec_of(chain_id, vals, genesis, interval),
                    listen,
                    admin_listen: admin_listen.unwrap_or(listen),
                    admin_token,
                    allow_public_listen: allow_public,
                    allowed_hosts,
                    store_path,
                    limits: Limits { max_payload },
                    max_body_bytes,
                    max_messages_per_block,
                    max_pending,
                    page_bytes,
                    verify_per_second: verify_per_second as u32,
                    verify_burst: verify_burst as u32,
                    traders,
                    peers,
                    faults: raw.faults,
                })
            }
            _ => Err(ConfigError::Invalid(c.errors)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
chain_id = "test-a"
genesis_time_unix = 1767225600
block_interval_ms = 50
listen = "127.0.0.1:0"
store_path = "/tmp/x"
[validators]
seed = "a"
count = 4
rotate_every = 3
rotate_count = 1
[[traders]]
name = "t"
public_key = "0101010101010101010101010101010101010101010101010101010101010101"
[[peers]]
chain_id = "test-b"
[peers.trust_root]
height = 1
header_hash = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
"#;

    #[test]
    fn good_config_loads() {
        let c = DevnetConfig::from_toml(GOOD).unwrap();
        assert_eq!(c.chain_id().as_str(), "test-a");
        assert_eq!(c.spec.block_interval, Duration::from_millis(50));
        assert_eq!(c.spec.rotate_every, 3);
        assert_eq!(c.traders.len(), 1);
        let peer = &c.peers[0];
        assert_eq!(peer.options.trusting_period, DEFAULT_TRUSTING_PERIOD);
        assert_eq!(
            peer.root,
            TrustRoot {
                chain_id: ChainId::new("test-b").unwrap(),
                height: Height(1),
                header_hash: Hash32([0x0b; 32]),
                pin: None,
            }
        );
        // The peer's client trusts nothing until the root block arrives.
        assert_eq!(peer.new_client().latest(), None);
    }

    #[test]
    fn a_trust_root_is_public_data_and_each_bad_field_is_named() {
        // The old form, a peer's validator seed, is refused by name.
        let seeded = GOOD.replace(
            "[peers.trust_root]",
            "[peers.validators]\nseed = \"b\"\n[peers.trust_root]",
        );
        let err = DevnetConfig::from_toml(&seeded).unwrap_err().to_string();
        assert!(err.contains("validators"), "{err}");
        for (edit, key) in [
            (
                GOOD.replace("height = 1", "height = 0"),
                "peers[0].trust_root.height",
            ),
            (
                GOOD.replace("header_hash = \"0b0b", "header_hash = \"zz0b"),
                "peers[0].trust_root.header_hash",
            ),
            (
                GOOD.replace("height = 1\n", ""),
                "peers[0].trust_root.height",
            ),
            (
                GOOD.replace("[peers.trust_root]\nheight = 1\n", "")
                    .replace("header_hash = \"0b", "# header_hash = \"0b"),
                "peers[0].trust_root",
            ),
        ] {
            let err = DevnetConfig::from_toml(&edit).unwrap_err();
            let ConfigError::Invalid(errors) = &err else {
                panic!("{err}")
            };
            assert!(
                errors.iter().any(|e| e.key == key),
                "{key} not named in {err}"
            );
        }
    }

    const EVM_TERMS: &str = "[peers.evm]\nchain_id = 31337\noutbox = \"0x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b\"\ninbox = \"1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b\"\nattestors = [\"ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"]\nthreshold = 1\n";

    /// `GOOD` with its peer's `family` line and the `[peers.evm]` table `terms`.
    fn evm_peer(family: &str, terms: &str) -> String {
        let with_family = GOOD.replace(
            "chain_id = \"test-b\"\n",
            &format!("chain_id = \"test-b\"\n{family}"),
        );
        format!("{with_family}{terms}")
    }

    /// An EVM peer: its inbox client is an EVM client whose root pins the terms; each bad
    /// or missing term, and a family the inbox does not take, is named by key.
    #[test]
    fn an_evm_peers_terms_are_pinned_and_each_bad_one_is_named() {
        const EVM: &str = "family = \"evm\"\n";
        let c = DevnetConfig::from_toml(&evm_peer(EVM, EVM_TERMS)).unwrap();
        let peer = &c.peers[0];
        assert_eq!(peer.family, FamilyKind::Evm);
        let terms = corridor_adapters::evm::terms::RawEvmTerms {
            chain_id: 31337,
            outbox: "0b".repeat(20),
            inbox: "1b".repeat(20),
            attestors: vec![
                "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a".into(),
            ],
            threshold: 1,
        }
        .check()
        .unwrap();
        assert_eq!(peer.root.pin, terms.pin());
        assert!(peer.root.pin.is_some());
        let client = peer.new_client();
        assert_eq!(client.family(), FamilyKind::Evm);
        assert_eq!(client.root(), &peer.root);
        // A native peer pins nothing and gets a native client.
        let native = &DevnetConfig::from_toml(GOOD).unwrap().peers[0];
        assert_eq!(native.family, FamilyKind::Corridor);
        assert_eq!(native.new_client().family(), FamilyKind::Corridor);
        for (text, key) in [
            (evm_peer(EVM, ""), "peers[0].evm"),
            (evm_peer("", EVM_TERMS), "peers[0].evm"),
            (
                evm_peer("family = \"cometbft\"\n", EVM_TERMS),
                "peers[0].family",
            ),
            (
                evm_peer(EVM, &EVM_TERMS.replace("threshold = 1", "threshold = 2")),
                "peers[0].evm.threshold",
            ),
            (
                evm_peer(EVM, &EVM_TERMS.replace("0x0b0b", "0x0b")),
                "peers[0].evm.outbox",
            ),
            (
                evm_peer(EVM, &EVM_TERMS.replace("ed25519:", "rsa:")),
                "peers[0].evm.attestors[0]",
            ),
        ] {
            let err = DevnetConfig::from_toml(&text).unwrap_err();
            let ConfigError::Invalid(errors) = &err else {
                panic!("{err}")
            };
            assert!(
                errors.iter().any(|e| e.key == key),
                "{key} not named in {err}"
            );
        }
    }

    #[test]
    fn every_bad_key_is_named() {
        let bad = GOOD
            .replace("chain_id = \"test-a\"", "chain_id = \"has space\"")
            .replace("count = 4", "count = 0")
            .replace("listen = \"127.0.0.1:0\"", "listen = \"nowhere\"")
            .replace(
                "0101010101010101010101010101010101010101010101010101010101010101",
                "zz",
            )
            .replace("chain_id = \"test-b\"", "chain_id = \"\"");
        let err = DevnetConfig::from_toml(&bad).unwrap_err();
        let ConfigError::Invalid(errors) = &err else {
            panic!("{err}")
        };
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        for key in [
            "chain_id",
            "listen",
            "validators.count",
            "traders[0].public_key",
            "peers[0].chain_id",
        ] {
            assert!(keys.contains(&key), "{key} not named in {err}");
        }
    }

    #[test]
    fn missing_and_unknown_keys_are_named() {
        let err = DevnetConfig::from_toml("chain_id = \"a\"").unwrap_err();
        let text = err.to_string();
        for key in ["genesis_time_unix", "listen", "store_path", "validators"] {
            assert!(text.contains(key), "{key} missing from {text}");
        }
        let err = DevnetConfig::from_toml(&format!("{GOOD}\nbogus = 1\n")).unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        let err =
            DevnetConfig::from_toml(&GOOD.replace("count = 4", "count = \"four\"")).unwrap_err();
        assert!(err.to_string().contains("count"), "{err}");
    }

    fn keys_of(text: &str) -> Vec<String> {
        match DevnetConfig::from_toml(text) {
            Err(ConfigError::Invalid(errors)) => errors.into_iter().map(|e| e.key).collect(),
            other => panic!("expected key errors, got {other:?}"),
        }
    }

    #[test]
    fn a_public_listen_address_needs_an_explicit_setting() {
        let public = GOOD.replace("listen = \"127.0.0.1:0\"", "listen = \"0.0.0.0:26701\"");
        assert_eq!(keys_of(&public), ["listen"]);
        let admin = format!("admin_listen = \"0.0.0.0:26711\"\n{GOOD}");
        assert_eq!(keys_of(&admin), ["admin_listen"]);
        let both =
            format!("allow_public_listen = true\nadmin_listen = \"0.0.0.0:26711\"\n{public}");
        let c = DevnetConfig::from_toml(&both).unwrap();
        assert!(c.listen.ip().is_unspecified() && c.allow_public_listen);
        let same = format!(
            "admin_listen = \"127.0.0.1:26701\"\n{}",
            GOOD.replace(":0\"", ":26701\"")
        );
        assert_eq!(keys_of(&same), ["admin_listen"]);
    }

    #[test]
    fn the_admin_token_comes_from_the_config_or_a_file_and_is_checked() {
        let c = DevnetConfig::from_toml(GOOD).unwrap();
        assert!(c.admin_token.is_none(), "no token, no admin RPC");
        let c = DevnetConfig::from_toml(&format!("admin_token = \"0123456789abcdef\"\n{GOOD}"))
            .unwrap();
        let token = c.admin_token.unwrap();
        assert!(token.matches("0123456789abcdef"));
        assert!(!token.matches("0123456789abcdeF"));
        assert!(!token.matches(""));
        assert!(!format!("{token:?}").contains("0123"), "Debug is redacted");
        assert_eq!(
            keys_of(&format!("admin_token = \"short\"\n{GOOD}")),
            ["admin_token"]
        );
        let missing = format!("admin_token_file = \"/nonexistent/corridor-token\"\n{GOOD}");
        assert_eq!(keys_of(&missing), ["admin_token_file"]);
        let path = std::env::temp_dir().join(format!("corridor-token-{}", std::process::id()));
        std::fs::write(&path, "fedcba9876543210fedcba\n").unwrap();
        let from_file = format!(
            "admin_token_file = {:?}\n{GOOD}",
            path.display().to_string()
        );
        let c = DevnetConfig::from_toml(&from_file).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(c.admin_token.unwrap().matches("fedcba9876543210fedcba"));
        assert_ne!(AdminToken::generate(), AdminToken::generate());
    }

    #[test]
    fn a_block_that_no_client_could_fetch_is_refused_at_load() {
        // 256 messages of 64 KiB: over the 32 MiB a client reads in one response.
        let full =
            format!("{GOOD}\n[limits]\nmax_payload_bytes = 65536\nmax_messages_per_block = 256\n");
        assert_eq!(keys_of(&full), ["limits.max_messages_per_block"]);
        let ok = full.replace("= 256", "= 128");
        let c = DevnetConfig::from_toml(&ok).unwrap();
        assert_eq!(c.max_messages_per_block, 128);
        let tiny = format!("{ok}page_bytes = 1024\n");
        assert_eq!(keys_of(&tiny), ["limits.page_bytes"]);
        let huge = format!("{ok}page_bytes = 1073741824\n");
        assert_eq!(keys_of(&huge), ["limits.page_bytes"]);
    }

    #[test]
    fn a_verification_budget_that_could_not_take_one_delivery_is_refused_at_load() {
        let with = |extra: &str| format!("{GOOD}\n[limits]\n{extra}\n");
        // One delivery may carry 64 light blocks: a smaller burst could never take it.
        assert_eq!(keys_of(&with("verify_burst = 63")), ["limits.verify_burst"]);
        assert_eq!(keys_of(&with("verify_burst = 0")), ["limits.verify_burst"]);
        assert_eq!(
            keys_of(&with("verify_per_second = 0")),
            ["limits.verify_per_second"]
        );
        let c = DevnetConfig::from_toml(&with("verify_burst = 64\nverify_per_second = 1")).unwrap();
        assert_eq!((c.verify_burst, c.verify_per_second), (64, 1));
    }

    #[test]
    fn the_item_size_bound_holds_for_the_largest_item() {
        use corridor_light_client::envelope::{
            Deadline, DocumentKind, MessageBody, Payload, SignedMessage, TradeMessage, VERSION,
        };
        use corridor_light_client::merkle::InclusionProof;
        let max_payload = 4096;
        let per_block = 256;
        // The longest chain id, of characters JSON escapes.
        let chain = ChainId::new("\"\\".repeat(25)).unwrap();
        let key = SigningKey::from_seed([1; 32]);
        let body = MessageBody {
            version: VERSION,
            source_chain: chain.clone(),
            destination_chain: chain,
            channel: u32::MAX,
            nonce: u64::MAX,
            sender: key.public_key(),
            receiver: key.public_key(),
            kind: DocumentKind::CertificateOfOrigin,
            payload_hash: Hash32([0xff; 32]),
            payload: Payload(vec![0xff; max_payload]),
            deadline: Deadline::Time(Time::from_unix_nanos(u64::MAX)),
        };
        let SignedMessage { body, signature } = body.sign(&key).unwrap();
        let item = corridor_adapters::OutboundMessage {
            height: Height(u64::MAX),
            message: TradeMessage {
                sequence: u64::MAX,
                message: SignedMessage { body, signature },
            },
            proof: InclusionProof {
                index: u64::MAX,
                tree_size: u64::MAX,
                path: vec![Hash32([0xff; 32]); 9],
            },
        };
        let len = serde_json::to_vec(&item).unwrap().len();
        assert!(len <= max_item_json_bytes(max_payload, per_block), "{len}");
        let cbor = corridor_light_client::codec::encode("item", &item.message)
            .unwrap()
            .len();
        assert!(cbor <= max_item_cbor_bytes(max_payload), "{cbor}");
    }
}
