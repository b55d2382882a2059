//! Helpers shared by the vector tests: where the shared vectors are, and reading them.
#![allow(dead_code, unreachable_pub)]

pub mod comet;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `../shared/vectors` of the workspace (see `testkit::vectors_dir`).
pub fn vectors_dir(test: &str) -> Option<PathBuf> {
    corridor_light_client::testkit::vectors_dir(env!("CARGO_MANIFEST_DIR"), test)
}

/// The `*.json` files of `dir`, sorted.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Reads and parses a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The file name of a path.
pub fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Property-test settings for the suite: a fixed seed, so a run in CI never fails at random,
/// and `cases` cases. `PROPTEST_RNG_SEED` and `PROPTEST_CASES` override both, which is how
/// the long randomized runs are made (BENCHMARKS.md and the README say how).
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    use proptest::test_runner::{Config, RngSeed};
    // `Config::default()` reads the PROPTEST_* environment variables.
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(PROPTEST_SEED);
    }
    config
}

/// The suite's fixed property-test seed.
pub const PROPTEST_SEED: u64 = 0x00C0_2219_D042;

/// A signed trade message of `kind` (its example document) from `source` to `kz-astana` on
/// `channel`, at `sequence`, signed by the key of seed `[key_seed; 32]` for the receiver of
/// seed `[key_seed + 1; 32]`, with a deadline at destination height 1000.
pub fn trade_message(
    source: &str,
    kind: corridor_light_client::envelope::DocumentKind,
    channel: u32,
    sequence: u64,
    nonce: u64,
    key_seed: u8,
) -> corridor_light_client::envelope::TradeMessage {
    use corridor_light_client::documents::examples::example;
    use corridor_light_client::envelope::{
        payload_from_json, Deadline, MessageBody, TradeMessage, VERSION,
    };
    use corridor_light_client::signature::SigningKey;
    use corridor_light_client::{hash, ChainId, Height};
    let key = SigningKey::from_seed([key_seed; 32]);
    let payload = payload_from_json(&example(kind)).unwrap();
    let body = MessageBody {
        version: VERSION,
        source_chain: ChainId::new(source).unwrap(),
        destination_chain: ChainId::new("kz-astana").unwrap(),
        channel,
        nonce,
        sender: key.public_key(),
        receiver: SigningKey::from_seed([key_seed + 1; 32]).public_key(),
        kind,
        payload_hash: hash::sha3(&payload.0),
        payload,
        deadline: Deadline::Height(Height(1000)),
    };
    TradeMessage {
        sequence,
        message: body.sign(&key).unwrap(),
    }
}
