//! The devnet partner chains' configs of `config/`, embedded so the binary runs from any
//! folder (the demo, the bench and the tests start these chains).

/// `(chain name, TOML)` of the three demo chains.
pub const CONFIGS: [(&str, &str); 3] = [
    ("cn-shanghai", include_str!("../../config/cn-shanghai.toml")),
    ("kz-astana", include_str!("../../config/kz-astana.toml")),
    ("pk-karachi", include_str!("../../config/pk-karachi.toml")),
];
