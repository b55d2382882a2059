//! The devnet partner chains' configs of `config/`, embedded so the binary runs from any
//! folder (the demo, the bench and the tests start these chains).

/// `(chain name, TOML)` of the three demo chains.
pub const CONFIGS: [(&str, &str); 3] = [
    ("cn-shanghai", include_str!("../../config/cn-shanghai.toml")),
    ("kz-astana", include_str!("../../config/kz-astana.toml")),
    ("pk-karachi", include_str!("../../config/pk-karachi.toml")),
];

/// A chain of a relay config: its id, its endpoint when the relay follows it itself, and
/// its trust root's header hash at height 1 (the devnet genesis).
#[derive(Clone, Copy, Debug)]
pub struct ChainEntry<'a> {
    /// Chain id.
    pub chain_id: &'a str,
    /// RPC endpoint, for a chain the relay follows itself.
    pub endpoint: Option<&'a str>,
    /// Hex hash of the chain's block 1.
    pub root_hash: &'a str,
}

/// A partner relay of a relay config.
#[derive(Clone, Copy, Debug)]
pub struct PeerEntry<'a> {
    /// Its name (logs, metric labels).
    pub name: &'a str,
    /// Its public key (hex).
    pub key: &'a str,
    /// Its QUIC address.
    pub address: std::net::SocketAddr,
    /// The chains it serves.
    pub chains: &'a [&'a str],
}

/// Where a relay listens: QUIC, metrics, trader API.
#[derive(Clone, Copy, Debug)]
pub struct Listen {
    /// QUIC (UDP).
    pub quic: std::net::SocketAddr,
    /// `/metrics`, `/healthz`, `/readyz`.
    pub metrics: std::net::SocketAddr,
    /// The trader API.
    pub api: std::net::SocketAddr,
}

impl Listen {
    /// Every port chosen by the system (tests).
    pub fn any() -> Self {
        let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            quic: any,
            metrics: any,
            api: any,
        }
    }
}

/// The TOML of a devnet relay config: one followed chain, the `remotes` its `peers` serve,
/// `limits` appended as the `[limits]` table's lines.
pub fn relay_config(
    home: ChainEntry<'_>,
    remotes: &[ChainEntry<'_>],
    peers: &[PeerEntry<'_>],
    listen: &Listen,
    limits: &str,
) -> String {
    let chain = |c: &ChainEntry<'_>| {
        let endpoint = c
            .endpoint
            .map(|e| format!("endpoint = \"{e}\"\n"))
            .unwrap_or_default();
        format!(
            "[[chains]]\nchain_id = \"{}\"\nfamily = \"corridor\"\n{endpoint}trusting_period_secs = 315360000\n[chains.trust_root]\nheight = 1\nheader_hash = \"{}\"\n\n",
            c.chain_id, c.root_hash
        )
    };
    let mut text = format!(
        "[relay]\nkey_file = \"relay.key\"\ndata_dir = \"data\"\nlisten = \"{}\"\nmetrics_listen = \"{}\"\napi_listen = \"{}\"\n\n",
        listen.quic, listen.metrics, listen.api
    );
    text.push_str(&chain(&home));
    for r in remotes {
        text.push_str(&chain(r));
    }
    for p in peers {
        let chains: Vec<String> = p.chains.iter().map(|c| format!("\"{c}\"")).collect();
        text.push_str(&format!(
            "[[peers]]\nname = \"{}\"\npublic_key = \"{}\"\naddress = \"{}\"\nchains = [{}]\n\n",
            p.name,
            p.key,
            p.address,
            chains.join(", ")
        ));
    }
    text.push_str(&format!("[limits]\n{limits}"));
    text
}

/// The TOML of a devnet relay config: one followed chain, one partner relay serving the
/// other chain, `limits` appended as the `[limits]` table's lines. The bench and the tests
/// write their two relays' configs with it.
pub fn relay_config_toml(
    home: ChainEntry<'_>,
    remote: ChainEntry<'_>,
    peer_key: &str,
    peer_address: std::net::SocketAddr,
    limits: &str,
) -> String {
    let name = format!("{}-operator", remote.chain_id);
    let peer = PeerEntry {
        name: &name,
        key: peer_key,
        address: peer_address,
        chains: &[remote.chain_id],
    };
    relay_config(home, &[remote], &[peer], &Listen::any(), limits)
}
