//! The relay's settings: `config/default.toml` (embedded), then the operator's file, then
//! `CORRIDOR_*` environment variables (`CORRIDOR_RELAY__LISTEN`, `__` between levels), then
//! flags. [`RawSettings`] is what the `config` crate reads; [`Settings::validate`] turns it
//! into typed settings, and every error names the key it is about.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use corridor_adapters::evm::terms::RawEvmTerms;
use corridor_light_client::client::TrustRoot;
use corridor_light_client::evm::{CorridorContracts, EvmSeal, WeakTrustAttestationQuorum};
use corridor_light_client::family::FamilyKind;
use corridor_light_client::{ChainId, Hash32, Height, Options};
use serde::Deserialize;

/// The embedded defaults.
pub const DEFAULTS: &str = include_str!("../../config/default.toml");

/// A setting that is wrong, by key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct SettingsError {
    /// The key, e.g. `chains[1].trust_root.header_hash`.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

fn err(key: impl Into<String>, problem: impl Into<String>) -> SettingsError {
    SettingsError {
        key: key.into(),
        problem: problem.into(),
    }
}

/// Settings as read, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    /// `[relay]`.
    pub relay: RawRelay,
    /// `[[chains]]`.
    #[serde(default)]
    pub chains: Vec<RawChain>,
    /// `[[peers]]`.
    #[serde(default)]
    pub peers: Vec<RawPeer>,
    /// `[limits]`.
    pub limits: RawLimits,
}

/// `[relay]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelay {
    /// Key file.
    pub key_file: String,
    /// Store folder.
    pub data_dir: String,
    /// QUIC listen address.
    pub listen: String,
    /// HTTP address of `/metrics`, `/healthz`, `/readyz`.
    pub metrics_listen: String,
    /// HTTP address of the trader API.
    pub api_listen: String,
    /// File holding the operator's API credential (sees every message); none when absent.
    #[serde(default)]
    pub operator_token_file: Option<String>,
}

/// `[[chains]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChain {
    /// Chain id.
    pub chain_id: String,
    /// Family.
    pub family: String,
    /// RPC endpoint; present for the chains this relay follows itself.
    pub endpoint: Option<String>,
    /// A partner chain's public RPC, read for evidence files only (never trusted).
    #[serde(default)]
    pub evidence_endpoint: Option<String>,
    /// Trusting period.
    pub trusting_period_secs: u64,
    /// Trust root.
    pub trust_root: RawTrustRoot,
    /// An EVM chain's terms (family `evm` only).
    #[serde(default)]
    pub evm: Option<RawEvm>,
}

/// `[chains.evm]`: what an EVM chain's light client trusts beyond its headers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvm {
    /// The chain's EIP-155 id.
    pub chain_id: u64,
    /// The outbox contract's address (hex).
    pub outbox: String,
    /// The inbox contract's address (hex).
    pub inbox: String,
    /// The operators whose attestations of a header hash vouch for it (a WEAKER trust
    /// model than a light client): `ed25519:<64 hex>` or `secp256k1:<address>`.
    pub attestors: Vec<String>,
    /// How many of them must attest each header.
    pub threshold: u64,
    /// The relay's secp256k1 key file (32-byte hex seed, mode 0600): its transactions to
    /// the inbox and its attestation of each delivery. The relay's own chain only.
    #[serde(default)]
    pub delivery_key_file: Option<String>,
}

/// `[chains.trust_root]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrustRoot {
    /// Height.
    pub height: u64,
    /// Header hash (hex).
    pub header_hash: String,
}

/// `[[peers]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPeer {
    /// A name for logs.
    pub name: String,
    /// ed25519 public key (hex).
    pub public_key: String,
    /// QUIC address.
    pub address: String,
    /// Chains it serves.
    pub chains: Vec<String>,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// In-flight window per peer.
    pub window: u64,
    /// Resend delay.
    pub resend_after_ms: u64,
    /// Refusals before disconnect.
    pub penalty_threshold: u32,
    /// Back-off after a disconnect for misbehaviour.
    pub penalty_backoff_secs: u64,
    /// Largest frame.
    pub max_frame_bytes: u64,
    /// Most messages per batch.
    pub max_batch_messages: u64,
    /// Chain poll interval.
    pub poll_interval_ms: u64,
    /// Reconnect back-off floor.
    pub reconnect_min_ms: u64,
    /// Reconnect back-off cap.
    pub reconnect_max_ms: u64,
    /// Trader API requests per trader key per second, on average.
    pub api_rate_per_second: u64,
    /// Trader API requests a trader key may make at once.
    pub api_rate_burst: u64,
    /// Signed trader API requests (submissions, token requests) per client address per
    /// second, on average: checked before their signature is.
    pub api_address_rate_per_second: u64,
    /// ... and at once.
    pub api_address_rate_burst: u64,
}

/// A chain the relay knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSettings {
    /// The chain's family: its light client is made for it and refuses blocks of any other.
    pub family: FamilyKind,
    /// Trust root.
    pub root: TrustRoot,
    /// Light-client options (trusting period).
    pub options: Options,
    /// RPC endpoint: `Some` for chains this relay follows itself.
    pub endpoint: Option<String>,
    /// A partner chain's public RPC, read to assemble evidence files (what it serves is
    /// verified like everything else).
    pub evidence_endpoint: Option<String>,
    /// An EVM chain's terms (`Some` exactly for family `evm`).
    pub evm: Option<EvmSettings>,
}

/// An EVM chain's terms: its EIP-155 id, its corridor contracts, the quorum of operators
/// that attest its headers, and for the relay's own chain its delivery key. The trust
/// root's pin is computed from them, so a root block with other terms is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvmSettings {
    /// The chain's EIP-155 id.
    pub evm_chain_id: u64,
    /// The outbox and inbox.
    pub contracts: CorridorContracts,
    /// Who attests its headers, and how many must.
    pub quorum: WeakTrustAttestationQuorum,
    /// The relay's secp256k1 key file, for its own chain.
    pub delivery_key_file: Option<PathBuf>,
}

/// A pinned partner relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSettings {
    /// Name for logs.
    pub name: String,
    /// Its key.
    pub key: [u8; 32],
    /// Its address.
    pub address: SocketAddr,
    /// Chains it serves.
    pub chains: Vec<ChainId>,
}

/// Validated limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// In-flight window per peer.
    pub window: usize,
    /// Resend delay.
    pub resend_after: Duration,
    /// Refusals before disconnect.
    pub penalty_threshold: u32,
    /// Back-off after a disconnect for misbehaviour.
    pub penalty_backoff: Duration,
    /// Largest frame.
    pub max_frame_bytes: usize,
    /// Most messages per batch.
    pub max_batch_messages: usize,
    /// Poll interval.
    pub poll_interval: Duration,
    /// Reconnect back-off floor.
    pub reconnect_min: Duration,
    /// Reconnect back-off cap.
    pub reconnect_max: Duration,
    /// Trader API requests per trader key per second.
    pub api_rate_per_second: u32,
    /// Trader API burst per trader key.
    pub api_rate_burst: u32,
    /// Signed trader API requests per client address per second.
    pub api_address_rate_per_second: u32,
    /// Signed trader API requests burst per client address.
    pub api_address_rate_burst: u32,
}

/// Validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Key file.
    pub key_file: PathBuf,
    /// Store folder.
    pub data_dir: PathBuf,
    /// QUIC listen address.
    pub listen: SocketAddr,
    /// HTTP address of `/metrics`, `/healthz`, `/readyz`.
    pub metrics_listen: SocketAddr,
    /// HTTP address of the trader API.
    pub api_listen: SocketAddr,
    /// The operator's API credential file.
    pub operator_token_file: Option<PathBuf>,
    /// The credential it holds, read and checked when the settings are.
    pub operator_token: Option<corridor_adapters::devnet::AdminToken>,
    /// Chains by id.
    pub chains: BTreeMap<ChainId, ChainSettings>,
    /// Peers.
    pub peers: Vec<PeerSettings>,
    /// Limits.
    pub limits: LimitSettings,
}

/// Command-line overrides (the last layer).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--metrics-listen`.
    pub metrics_listen: Option<String>,
    /// `--api-listen`.
    pub api_listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<String>,
    /// `--key-file`.
    pub key_file: Option<String>,
}

/// Reads the layers (defaults, `file`, environment, `overrides`) and validates them.
pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Settings, SettingsError> {
    let mut builder = config::Config::builder()
        .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
    if let Some(file) = file {
        if !file.exists() {
            return Err(err(
                "--config",
                format!("{} does not exist", file.display()),
            ));
        }
        builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml));
    }
    // Only `CORRIDOR_<SECTION>__<KEY>` variables are settings: every key lives in a
    // section, and other `CORRIDOR_*` variables (the tools' and tests' own, such as
    // `CORRIDOR_VECTORS`) are none of the relay's business.
    let settings_vars: config::Map<String, String> = std::env::vars()
        .filter(|(k, _)| {
            k.strip_prefix("CORRIDOR_")
                .is_some_and(|rest| rest.contains("__"))
        })
        .collect();
    builder = builder.add_source(
        config::Environment::with_prefix("CORRIDOR")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .source(Some(settings_vars)),
    );
    let set = |b: config::ConfigBuilder<config::builder::DefaultState>,
               key: &str,
               value: &Option<String>| match value {
        Some(v) => b.set_override(key, v.clone()),
        None => Ok(b),
    };
    let conf = |e: config::ConfigError| err("config", e.to_string());
    builder = set(builder, "relay.listen", &overrides.listen).map_err(conf)?;
    builder = set(builder, "relay.metrics_listen", &overrides.metrics_listen).map_err(conf)?;
    builder = set(builder, "relay.api_listen", &overrides.api_listen).map_err(conf)?;
    builder = set(builder, "relay.data_dir", &overrides.data_dir).map_err(conf)?;
    builder = set(builder, "relay.key_file", &overrides.key_file).map_err(conf)?;
    let raw: RawSettings = builder
        .build()
        .map_err(conf)?
        .try_deserialize()
        .map_err(|e| err("config", e.to_string()))?;
    let base = file.and_then(Path::parent).unwrap_or(Path::new("."));
    Settings::validate(raw, base)
}

fn positive(key: &str, value: u64) -> Result<u64, SettingsError> {
    if value == 0 {
        return Err(err(key, "must be above 0"));
    }
    Ok(value)
}

/// `[chains.evm]` of a chain; `key` names a key of it, `home` says whether the relay
/// follows the chain itself.
fn evm_settings(
    raw: &RawEvm,
    key: &dyn Fn(&str) -> String,
    home: bool,
    path: &dyn Fn(&str) -> PathBuf,
) -> Result<EvmSettings, SettingsError> {
    let terms = RawEvmTerms {
        chain_id: raw.chain_id,
        outbox: raw.outbox.clone(),
        inbox: raw.inbox.clone(),
        attestors: raw.attestors.clone(),
        threshold: raw.threshold,
    }
    .check()
    .map_err(|e| err(key(&e.key), e.problem))?;
    let delivery_key_file =
        match (&raw.delivery_key_file, home) {
            (Some(f), true) => Some(path(f)),
            (None, true) => return Err(err(
                key("delivery_key_file"),
                "the relay's own evm chain needs its secp256k1 key file (deliveries to the inbox)",
            )),
            (Some(_), false) => {
                return Err(err(
                    key("delivery_key_file"),
                    "only for the relay's own chain (one with an endpoint)",
                ))
            }
            (None, false) => None,
        };
    Ok(EvmSettings {
        evm_chain_id: terms.evm_chain_id,
        contracts: terms.contracts,
        quorum: terms.quorum,
        delivery_key_file,
    })
}

fn usize_of(key: &str, value: u64) -> Result<usize, SettingsError> {
    usize::try_from(positive(key, value)?).map_err(|_| err(key, "too large"))
}

impl Settings {
    /// Validates raw settings; relative paths are taken from `base` (the config file's
    /// folder).
    pub fn validate(raw: RawSettings, base: &Path) -> Result<Self, SettingsError> {
        let address = |key: &str, value: &str| -> Result<SocketAddr, SettingsError> {
            value
                .parse()
                .map_err(|e| err(key, format!("{value:?} is not an address: {e}")))
        };
        let listen = address("relay.listen", &raw.relay.listen)?;
        let metrics_listen = address("relay.metrics_listen", &raw.relay.metrics_listen)?;
        let api_listen = address("relay.api_listen", &raw.relay.api_listen)?;
        let path = |p: &str| {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                base.join(p)
            }
        };
        let mut chains = BTreeMap::new();
        for (i, c) in raw.chains.iter().enumerate() {
            let key = |k: &str| format!("chains[{i}].{k}");
            let id = ChainId::new(&c.chain_id).map_err(|e| err(key("chain_id"), e.to_string()))?;
            // The core holds clients of every family (AnyFamily); the chain drivers (the
            // watcher and delivery of a home chain) exist for native chains only so far.
            let family = match c.family.as_str() {
                "corridor" => FamilyKind::Corridor,
                "evm" => FamilyKind::Evm,
                "cometbft" => {
                    return Err(err(
                        key("family"),
                        format!(
                            "{:?}: the relay runs `corridor` and `evm` chains today (its core and light clients take cometbft chains; the relay's driver of a cometbft chain's endpoint does not exist yet)",
                            c.family
                        ),
                    ))
                }
                other => {
                    return Err(err(
                        key("family"),
                        format!("{other:?} is not a chain family: corridor, cometbft or evm"),
                    ))
                }
            };
            let hash = hex::decode(&c.trust_root.header_hash)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| err(key("trust_root.header_hash"), "must be 64 hex characters"))?;
            let height = positive(&key("trust_root.height"), c.trust_root.height)?;
            let period = positive(&key("trusting_period_secs"), c.trusting_period_secs)?;
            for (name, url) in [
                ("endpoint", &c.endpoint),
                ("evidence_endpoint", &c.evidence_endpoint),
            ] {
                if let Some(url) = url {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(err(key(name), format!("{url:?} is not an http(s) URL")));
                    }
                }
            }
            let options = Options {
                trusting_period: Duration::from_secs(period),
                ..Options::default()
            };
            let evm = match (&c.evm, family) {
                (Some(e), FamilyKind::Evm) => Some(evm_settings(
                    e,
                    &|k: &str| key(&format!("evm.{k}")),
                    c.endpoint.is_some(),
                    &path,
                )?),
                (None, FamilyKind::Evm) => {
                    return Err(err(
                        key("evm"),
                        "an evm chain names its terms in [chains.evm]: chain_id, outbox, inbox, attestors, threshold",
                    ))
                }
                (Some(_), other) => {
                    return Err(err(
                        key("evm"),
                        format!("[chains.evm] is for evm chains; this chain is {other}"),
                    ))
                }
                (None, _) => None,
            };
            let pin = match &evm {
                Some(e) => Some(
                    corridor_light_client::evm::family::root_pin(
                        &e.contracts,
                        &EvmSeal::Attested {
                            quorum: e.quorum.clone(),
                            attestations: Vec::new(),
                        },
                    )
                    .ok_or_else(|| err(key("evm"), "the terms do not encode"))?,
                ),
                None => None,
            };
            let settings = ChainSettings {
                family,
                root: TrustRoot {
                    chain_id: id.clone(),
                    height: Height(height),
                    header_hash: Hash32(hash),
                    pin,
                },
                options,
                endpoint: c.endpoint.clone(),
                evidence_endpoint: c.evidence_endpoint.clone(),
                evm,
            };
            if chains.insert(id.clone(), settings).is_some() {
                return Err(err(key("chain_id"), format!("{id} is listed twice")));
            }
        }
        if !chains.values().any(|c| c.endpoint.is_some()) {
            return Err(err(
                "chains",
                "no chain with an endpoint: a relay follows at least one chain itself",
            ));
        }
        let mut peers = Vec::new();
        let mut served: BTreeSet<ChainId> = BTreeSet::new();
        for (i, p) in raw.peers.iter().enumerate() {
            let key = |k: &str| format!("peers[{i}].{k}");
            let bytes = hex::decode(&p.public_key)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    err(
                        key("public_key"),
                        "must be 64 hex characters (an ed25519 public key)",
                    )
                })?;
            ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map_err(|_| err(key("public_key"), "is not a valid ed25519 public key"))?;
            let address: SocketAddr = p.address.parse().map_err(|e| {
                err(
                    key("address"),
                    format!("{:?} is not an address: {e}", p.address),
                )
            })?;
            let mut ids = Vec::new();
            for (j, c) in p.chains.iter().enumerate() {
                let id = ChainId::new(c)
                    .map_err(|e| err(format!("peers[{i}].chains[{j}]"), e.to_string()))?;
                match chains.get(&id) {
                    None => {
                        return Err(err(
                            format!("peers[{i}].chains[{j}]"),
                            format!("{id} is not in [[chains]]: add its trust root"),
                        ))
                    }
                    Some(c) if c.endpoint.is_some() => {
                        return Err(err(
                            format!("peers[{i}].chains[{j}]"),
                            format!("{id} is followed by this relay itself (it has an endpoint)"),
                        ))
                    }
                    Some(_) => {}
                }
                if !served.insert(id.clone()) {
                    return Err(err(
                        format!("peers[{i}].chains[{j}]"),
                        format!("{id} is served by two peers"),
                    ));
                }
                ids.push(id);
            }
            if peers.iter().any(|q: &PeerSettings| q.key == bytes) {
                return Err(err(key("public_key"), "two peers share this key"));
            }
            peers.push(PeerSettings {
                name: p.name.clone(),
                key: bytes,
                address,
                chains: ids,
            });
        }
        let l = &raw.limits;
        let ms = |k: &str, v: u64| positive(k, v).map(Duration::from_millis);
        let limits = LimitSettings {
            window: usize_of("limits.window", l.window)?,
            resend_after: ms("limits.resend_after_ms", l.resend_after_ms)?,
            penalty_threshold: u32::try_from(positive(
                "limits.penalty_threshold",
                u64::from(l.penalty_threshold),
            )?)
            .unwrap_or(u32::MAX),
            penalty_backoff: Duration::from_secs(positive(
                "limits.penalty_backoff_secs",
                l.penalty_backoff_secs,
            )?),
            max_frame_bytes: usize_of("limits.max_frame_bytes", l.max_frame_bytes)?,
            max_batch_messages: usize_of("limits.max_batch_messages", l.max_batch_messages)?,
            poll_interval: ms("limits.poll_interval_ms", l.poll_interval_ms)?,
            reconnect_min: ms("limits.reconnect_min_ms", l.reconnect_min_ms)?,
            reconnect_max: ms("limits.reconnect_max_ms", l.reconnect_max_ms)?,
            api_rate_per_second: u32::try_from(positive(
                "limits.api_rate_per_second",
                l.api_rate_per_second,
            )?)
            .map_err(|_| err("limits.api_rate_per_second", "too large"))?,
            api_rate_burst: u32::try_from(positive("limits.api_rate_burst", l.api_rate_burst)?)
                .map_err(|_| err("limits.api_rate_burst", "too large"))?,
            api_address_rate_per_second: u32::try_from(positive(
                "limits.api_address_rate_per_second",
                l.api_address_rate_per_second,
            )?)
            .map_err(|_| err("limits.api_address_rate_per_second", "too large"))?,
            api_address_rate_burst: u32::try_from(positive(
                "limits.api_address_rate_burst",
                l.api_address_rate_burst,
            )?)
            .map_err(|_| err("limits.api_address_rate_burst", "too large"))?,
        };
        if limits.max_frame_bytes < 64 * 1024 || limits.max_frame_bytes > 64 * 1024 * 1024 {
            return Err(err(
                "limits.max_frame_bytes",
                "must be between 64 KiB and 64 MiB",
            ));
        }
        if limits.reconnect_max < limits.reconnect_min {
            return Err(err(
                "limits.reconnect_max_ms",
                "is below limits.reconnect_min_ms",
            ));
        }
        let operator_token_file = raw
            .relay
            .operator_token_file
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(path);
        let operator_token = match &operator_token_file {
            None => None,
            Some(file) => {
                let key = "relay.operator_token_file";
                let text = std::fs::read_to_string(file)
                    .map_err(|e| err(key, format!("{}: {e}", file.display())))?;
                let token = corridor_adapters::devnet::AdminToken::new(text.trim())
                    .map_err(|e| err(key, format!("{}: {e}", file.display())))?;
                Some(token)
            }
        };
        Ok(Self {
            key_file: path(&raw.relay.key_file),
            data_dir: path(&raw.relay.data_dir),
            listen,
            metrics_listen,
            api_listen,
            operator_token_file,
            operator_token,
            chains,
            peers,
            limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "e1a93222e1a93222e1a93222e1a93222e1a93222e1a93222e1a93222e1a93222";

    fn file(extra: &str) -> (corridor_light_client::testkit::TempDir, PathBuf) {
        let dir = corridor_light_client::testkit::TempDir::new("settings");
        let path = dir.path().join("relay.toml");
        let text = format!(
            "[[chains]]\nchain_id = \"cn-shanghai\"\nfamily = \"corridor\"\nendpoint = \"http://127.0.0.1:1\"\ntrusting_period_secs = 100\n[chains.trust_root]\nheight = 1\nheader_hash = \"{HASH}\"\n\n[[chains]]\nchain_id = \"kz-astana\"\nfamily = \"corridor\"\ntrusting_period_secs = 100\n[chains.trust_root]\nheight = 3\nheader_hash = \"{HASH}\"\n\n{extra}"
        );
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    const PEER: &str = "[[peers]]\nname = \"kz\"\npublic_key = \"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"\naddress = \"127.0.0.1:4701\"\nchains = [\"kz-astana\"]\n";

    #[test]
    fn layers_apply_in_order_defaults_file_environment_flags() {
        let (dir, path) = file(&format!("{PEER}\n[limits]\nwindow = 5\n"));
        std::env::set_var("CORRIDOR_LIMITS__RESEND_AFTER_MS", "1234");
        // Not a setting (no section): a tool's variable is left alone.
        std::env::set_var("CORRIDOR_SOME_TOOL", "/usr/bin/true");
        let overrides = Overrides {
            listen: Some("127.0.0.1:4999".into()),
            ..Overrides::default()
        };
        let s = load(Some(&path), &overrides);
        std::env::remove_var("CORRIDOR_LIMITS__RESEND_AFTER_MS");
        std::env::remove_var("CORRIDOR_SOME_TOOL");
        let s = s.unwrap();
        assert_eq!(s.limits.window, 5, "the file wins over the defaults");
        assert_eq!(
            s.limits.resend_after,
            Duration::from_millis(1234),
            "environment"
        );
        assert_eq!(s.listen, "127.0.0.1:4999".parse().unwrap(), "flags last");
        assert_eq!(
            s.limits.penalty_threshold, 20,
            "defaults where nothing else says"
        );
        assert_eq!(
            s.key_file,
            dir.path().join("relay.key"),
            "relative to the file"
        );
        let kz = &s.chains[&ChainId::new("kz-astana").unwrap()];
        assert_eq!(kz.root.height, Height(3));
        assert!(kz.endpoint.is_none());
        assert_eq!(s.peers[0].chains, vec![ChainId::new("kz-astana").unwrap()]);
    }

    #[test]
    fn each_inconsistency_names_its_key() {
        let cases = [
            (
                PEER.replace("kz-astana\"]", "pk-karachi\"]"),
                "peers[0].chains[0]",
                "not in [[chains]]",
            ),
            (
                PEER.replace("kz-astana\"]", "cn-shanghai\"]"),
                "peers[0].chains[0]",
                "followed by this relay",
            ),
            (
                format!(
                    "{PEER}\n{}",
                    PEER.replace(
                        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                    )
                ),
                "peers[1].chains[0]",
                "served by two peers",
            ),
            (
                PEER.replace("127.0.0.1:4701", "somewhere"),
                "peers[0].address",
                "not an address",
            ),
            (
                "[limits]\nreconnect_max_ms = 1\n".to_owned(),
                "limits.reconnect_max_ms",
                "below",
            ),
            (
                "[limits]\nmax_frame_bytes = 10\n".to_owned(),
                "limits.max_frame_bytes",
                "between",
            ),
            ("[relay]\nbogus = 1\n".to_owned(), "config", "bogus"),
        ];
        for (extra, key, problem) in cases {
            let (_dir, path) = file(&extra);
            let e = load(Some(&path), &Overrides::default()).unwrap_err();
            assert_eq!(e.key, key, "{extra}: {e}");
            assert!(e.problem.contains(problem), "{extra}: {e}");
        }
    }

    /// A chain's family is one of the three, held in the typed settings; the two the
    /// relay cannot drive yet are refused by name, anything else as no family at all.
    #[test]
    fn a_chains_family_is_named_and_checked() {
        let (_dir, path) = file(PEER);
        let s = load(Some(&path), &Overrides::default()).unwrap();
        let cn = &s.chains[&ChainId::new("cn-shanghai").unwrap()];
        assert_eq!(cn.family, FamilyKind::Corridor);
        let text = std::fs::read_to_string(&path).unwrap();
        for (family, problem) in [
            (
                "cometbft",
                "driver of a cometbft chain's endpoint does not exist yet",
            ),
            ("solana", "is not a chain family: corridor, cometbft or evm"),
        ] {
            // The second chain (a partner chain, no endpoint).
            let (_other, bad) = file("");
            std::fs::write(
                &bad,
                text.replacen(
                    "family = \"corridor\"\ntrusting",
                    &format!("family = \"{family}\"\ntrusting"),
                    1,
                ),
            )
            .unwrap();
            let e = load(Some(&bad), &Overrides::default()).unwrap_err();
            assert_eq!(e.key, "chains[1].family", "{family}: {e}");
            assert!(e.problem.contains(problem), "{family}: {e}");
        }
    }

    const EVM: &str = "[chains.evm]\nchain_id = 31337\noutbox = \"0x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b\"\ninbox = \"1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b\"\nattestors = [\"ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\", \"secp256k1:0x2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b\"]\nthreshold = 2\n";

    /// The file with its second chain (a partner's, no endpoint) made an evm chain with the
    /// `[chains.evm]` table `evm` (edited by `edit`).
    fn evm_file(evm: &str, extra: &str) -> (corridor_light_client::testkit::TempDir, PathBuf) {
        let (dir, path) = file(extra);
        let text = std::fs::read_to_string(&path).unwrap().replacen(
            "family = \"corridor\"\ntrusting_period_secs = 100\n[chains.trust_root]\nheight = 3\nheader_hash = \"",
            "family = \"evm\"\ntrusting_period_secs = 100\n[chains.trust_root]\nheight = 3\nheader_hash = \"",
            1,
        );
        // The evm table goes right after the second chain's trust root.
        let text = text.replacen(
            &format!("height = 3\nheader_hash = \"{HASH}\"\n"),
            &format!("height = 3\nheader_hash = \"{HASH}\"\n{evm}"),
            1,
        );
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    /// An evm chain's terms are typed, and its trust root pins them: the contracts and the
    /// quorum, as the light client computes them from a root block.
    #[test]
    fn an_evm_chains_terms_are_typed_and_pinned() {
        let (_dir, path) = evm_file(EVM, PEER);
        let s = load(Some(&path), &Overrides::default()).unwrap();
        let kz = &s.chains[&ChainId::new("kz-astana").unwrap()];
        assert_eq!(kz.family, FamilyKind::Evm);
        let evm = kz.evm.as_ref().unwrap();
        assert_eq!(evm.evm_chain_id, 31337);
        assert_eq!(
            evm.contracts.outbox,
            corridor_light_client::evm::Address([0x0b; 20])
        );
        assert_eq!(
            evm.contracts.inbox,
            corridor_light_client::evm::Address([0x1b; 20])
        );
        assert_eq!(evm.quorum.threshold(), 2);
        assert_eq!(evm.quorum.attestor_count(), 2);
        assert_eq!(evm.quorum.chain_id(), 31337);
        assert_eq!(evm.delivery_key_file, None);
        let seal = EvmSeal::Attested {
            quorum: evm.quorum.clone(),
            attestations: Vec::new(),
        };
        assert_eq!(
            kz.root.pin,
            corridor_light_client::evm::family::root_pin(&evm.contracts, &seal)
        );
        assert!(kz.root.pin.is_some());
        // A native chain pins nothing.
        assert_eq!(
            s.chains[&ChainId::new("cn-shanghai").unwrap()].root.pin,
            None
        );
    }

    /// Each bad or missing term of an evm chain is refused naming its key.
    #[test]
    fn an_evm_chains_bad_terms_name_their_key() {
        let cases = [
            (String::new(), "chains[1].evm", "[chains.evm]"),
            (
                EVM.replace("31337", "0"),
                "chains[1].evm.chain_id",
                "above 0",
            ),
            (
                EVM.replace("0x0b0b", "0x0b"),
                "chains[1].evm.outbox",
                "not an address",
            ),
            (
                EVM.replace("1b1b1b1b\"", "1b1b1bzz\""),
                "chains[1].evm.inbox",
                "not an address",
            ),
            (
                EVM.replace("ed25519:d75a98", "ed25519:d75a"),
                "chains[1].evm.attestors[0]",
                "not an ed25519 public key",
            ),
            (
                EVM.replace("secp256k1:", "secp256r1:"),
                "chains[1].evm.attestors[1]",
                "`ed25519:<public key hex>` or `secp256k1:<address>`",
            ),
            (
                EVM.replace("threshold = 2", "threshold = 3"),
                "chains[1].evm.threshold",
                "threshold 3 of 2",
            ),
            (
                EVM.replace("threshold = 2", "threshold = 0"),
                "chains[1].evm.threshold",
                "threshold 0 of 2",
            ),
            (
                EVM.replace(
                    "\"secp256k1:0x2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b\"",
                    "\"ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\"",
                ),
                "chains[1].evm.attestors",
                "no duplicates",
            ),
            (
                format!("{EVM}delivery_key_file = \"evm.key\"\n"),
                "chains[1].evm.delivery_key_file",
                "only for the relay's own chain",
            ),
            (format!("{EVM}gas = 1\n"), "config", "gas"),
        ];
        for (evm, key, problem) in cases {
            let (_dir, path) = evm_file(&evm, PEER);
            let e = load(Some(&path), &Overrides::default()).unwrap_err();
            assert_eq!(e.key, key, "{evm}: {e}");
            assert!(e.problem.contains(problem), "{evm}: {e}");
        }
        // A chain of another family with evm terms.
        let (_dir, path) = file(PEER);
        let text = std::fs::read_to_string(&path).unwrap().replacen(
            &format!("height = 3\nheader_hash = \"{HASH}\"\n"),
            &format!("height = 3\nheader_hash = \"{HASH}\"\n{EVM}"),
            1,
        );
        std::fs::write(&path, text).unwrap();
        let e = load(Some(&path), &Overrides::default()).unwrap_err();
        assert_eq!(e.key, "chains[1].evm", "{e}");
        assert!(e.problem.contains("this chain is corridor"), "{e}");
        // The relay's own evm chain needs its delivery key.
        let (_dir, path) = file(PEER);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replacen(
                "family = \"corridor\"\nendpoint",
                "family = \"evm\"\nendpoint",
                1,
            )
            .replacen(
                &format!("height = 1\nheader_hash = \"{HASH}\"\n"),
                &format!("height = 1\nheader_hash = \"{HASH}\"\n{EVM}"),
                1,
            );
        std::fs::write(&path, &text).unwrap();
        let e = load(Some(&path), &Overrides::default()).unwrap_err();
        assert_eq!(e.key, "chains[0].evm.delivery_key_file", "{e}");
        std::fs::write(
            &path,
            text.replacen(
                "threshold = 2\n",
                "threshold = 2\ndelivery_key_file = \"evm.key\"\n",
                1,
            ),
        )
        .unwrap();
        let s = load(Some(&path), &Overrides::default()).unwrap();
        let cn = &s.chains[&ChainId::new("cn-shanghai").unwrap()];
        assert_eq!(
            cn.evm.as_ref().unwrap().delivery_key_file,
            Some(path.parent().unwrap().join("evm.key")),
            "relative to the file"
        );
    }

    /// Each new key's bad value is refused naming that key.
    #[test]
    fn bad_listen_addresses_rates_and_evidence_endpoints_name_their_key() {
        for (extra, key) in [
            (
                "[relay]\nmetrics_listen = \"nowhere\"\n",
                "relay.metrics_listen",
            ),
            ("[relay]\napi_listen = \"127.0.0.1\"\n", "relay.api_listen"),
            (
                "[limits]\napi_rate_per_second = 0\n",
                "limits.api_rate_per_second",
            ),
            ("[limits]\napi_rate_burst = 0\n", "limits.api_rate_burst"),
            (
                "[limits]\napi_address_rate_burst = 0\n",
                "limits.api_address_rate_burst",
            ),
            (
                "[limits]\napi_address_rate_per_second = 4294967296\n",
                "limits.api_address_rate_per_second",
            ),
            (
                "[limits]\napi_rate_burst = 4294967296\n",
                "limits.api_rate_burst",
            ),
        ] {
            let (_dir, path) = file(extra);
            let e = load(Some(&path), &Overrides::default()).unwrap_err();
            assert_eq!(e.key, key, "{extra}: {e}");
        }
        let (dir, path) = file("");
        let text = std::fs::read_to_string(&path).unwrap().replacen(
            "chain_id = \"kz-astana\"\n",
            "chain_id = \"kz-astana\"\nevidence_endpoint = \"ftp://x\"\n",
            1,
        );
        std::fs::write(&path, text).unwrap();
        let e = load(Some(&path), &Overrides::default()).unwrap_err();
        assert_eq!(e.key, "chains[1].evidence_endpoint", "{e}");
        drop(dir);
        let (dir, path) = file("[relay]\noperator_token_file = \"op.token\"\n");
        // Missing, then too short: refused naming the key; then read.
        let e = load(Some(&path), &Overrides::default()).unwrap_err();
        assert_eq!(e.key, "relay.operator_token_file", "{e}");
        assert!(e.to_string().contains("op.token"), "{e}");
        std::fs::write(dir.path().join("op.token"), "short\n").unwrap();
        let e = load(Some(&path), &Overrides::default()).unwrap_err();
        assert_eq!(e.key, "relay.operator_token_file", "{e}");
        std::fs::write(dir.path().join("op.token"), "an-operator-credential-1\n").unwrap();
        let s = load(Some(&path), &Overrides::default()).unwrap();
        assert_eq!(s.operator_token_file, Some(dir.path().join("op.token")));
        assert!(s
            .operator_token
            .as_ref()
            .is_some_and(|t| t.matches("an-operator-credential-1")));
        let (_dir, path) = file("");
        let s = load(Some(&path), &Overrides::default()).unwrap();
        assert_eq!(s.operator_token_file, None);
        assert_eq!(s.limits.api_rate_burst, 20, "the defaults");
    }

    #[test]
    fn a_relay_without_an_endpoint_or_a_file_is_refused() {
        let dir = corridor_light_client::testkit::TempDir::new("settings");
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, "").unwrap();
        assert_eq!(
            load(Some(&path), &Overrides::default()).unwrap_err().key,
            "chains"
        );
        let missing = dir.path().join("missing.toml");
        assert_eq!(
            load(Some(&missing), &Overrides::default()).unwrap_err().key,
            "--config"
        );
    }
}
