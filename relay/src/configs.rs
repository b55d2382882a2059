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

/// The TOML of a devnet relay config: one followed chain, one partner relay serving the
/// other chain, `limits` appended as the `[limits]` table's lines. The demo, the bench and
/// the tests write their relays' configs with it.
pub fn relay_config_toml(
    home: ChainEntry<'_>,
    remote: ChainEntry<'_>,
    peer_key: &str,
    peer_address: std::net::SocketAddr,
    limits: &str,
) -> String {
    let chain = |c: ChainEntry<'_>| {
        let endpoint = c
            .endpoint
            .map(|e| format!("endpoint = \"{e}\"\n"))
            .unwrap_or_default();
        format!(
            "[[chains]]\nchain_id = \"{}\"\nfamily = \"corridor\"\n{endpoint}trusting_period_secs = 315360000\n[chains.trust_root]\nheight = 1\nheader_hash = \"{}\"\n\n",
            c.chain_id, c.root_hash
        )
    };
    format!(
        "[relay]\nkey_file = \"relay.key\"\ndata_dir = \"data\"\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"\napi_listen = \"127.0.0.1:0\"\n\n{}{}[[peers]]\nname = \"{}-operator\"\npublic_key = \"{peer_key}\"\naddress = \"{peer_address}\"\nchains = [\"{}\"]\n\n[limits]\n{limits}",
        chain(home),
        chain(remote),
        remote.chain_id,
        remote.chain_id,
    )
}
