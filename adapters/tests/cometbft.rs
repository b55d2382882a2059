//! The CometBFT adapter against responses recorded from real CometBFT nodes
//! (../shared/vectors/cometbft/rpc_fixtures), served by a small axum server in the test.
//!
//! The recorded files are `/commit` at height 10, `/genesis`, `/blockchain` and
//! `/block_search` answers. The server answers `/commit?height=10` with the recorded file as
//! it is; other heights with the header of recorded block `h` and the commit that recorded
//! block `h + 1` carries (`last_commit`), which is what a node's `/commit` returns;
//! `/validators` with the genesis validators (these chains never change their set); `/status`
//! from the highest committed block; and `/abci_query` with a recorded ICS-23 proof
//! (../shared/vectors/ics23/iavl). Heights the recording does not have get CometBFT's own
//! JSON-RPC error.
//!
//! Without the fixture folder the tests say they skip, except under `CI=true`, where they
//! fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use corridor_adapters::cometbft::CometBftAdapter;
use corridor_adapters::{AdapterError, ChainAdapter, RetryPolicy};
use corridor_light_client::cometbft::{json as comet_json, CommitSig};
use corridor_light_client::{ChainId, Hash32, Height};
use serde_json::{json, Value};

fn vectors() -> Option<PathBuf> {
    corridor_light_client::testkit::vectors_dir(env!("CARGO_MANIFEST_DIR"), "cometbft adapter")
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// What the test server knows of one recorded chain.
struct Recording {
    chain_id: String,
    /// Recorded `/commit` results by height.
    commits: BTreeMap<u64, Value>,
    /// Header hash (block id) by height.
    block_ids: BTreeMap<u64, String>,
    /// Genesis validators, when recorded.
    validators: Option<Vec<Value>>,
    /// An ABCI query answer with a real ICS-23 proof.
    abci: Value,
}

fn rpc(result: Value) -> axum::response::Response {
    Json(json!({"jsonrpc": "2.0", "id": -1, "result": result})).into_response()
}

fn rpc_error(data: String) -> axum::response::Response {
    let body = json!({"jsonrpc": "2.0", "id": -1,
        "error": {"code": -32603, "message": "Internal error", "data": data}});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

impl Recording {
    fn load(vectors: &Path, folder: &str) -> Self {
        let dir = vectors.join("cometbft/rpc_fixtures").join(folder);
        let commit10 = read(&dir.join("commit_at_height_10.json"))["result"].clone();
        let chain_id = commit10["signed_header"]["header"]["chain_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut commits = BTreeMap::new();
        let mut block_ids = BTreeMap::new();
        commits.insert(10, commit10);
        let metas = read(&dir.join("blockchain_from_1_to_10.json"));
        for meta in metas["result"]["block_metas"].as_array().unwrap() {
            let h: u64 = meta["header"]["height"].as_str().unwrap().parse().unwrap();
            block_ids.insert(h, meta["block_id"]["hash"].as_str().unwrap().to_owned());
        }
        let search = dir.join("block_search.json");
        if search.exists() {
            let mut blocks = read(&search)["result"]["blocks"]
                .as_array()
                .unwrap()
                .clone();
            blocks.push(read(&dir.join("block_at_height_1.json"))["result"].clone());
            let by_height: BTreeMap<u64, &Value> = blocks
                .iter()
                .map(|b| {
                    let h = b["block"]["header"]["height"]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    (h, b)
                })
                .collect();
            for (h, b) in &by_height {
                block_ids.insert(*h, b["block_id"]["hash"].as_str().unwrap().to_owned());
                if let Some(next) = by_height.get(&(h + 1)) {
                    commits.entry(*h).or_insert_with(|| {
                        json!({"canonical": true, "signed_header": {
                            "header": b["block"]["header"],
                            "commit": next["block"]["last_commit"]}})
                    });
                }
            }
        }
        let genesis = dir.join("genesis.json");
        let validators = genesis.exists().then(|| {
            read(&genesis)["result"]["genesis"]["validators"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    json!({"address": v["address"], "pub_key": v["pub_key"],
                           "voting_power": v["power"], "proposer_priority": "0"})
                })
                .collect()
        });
        let ics = read(&vectors.join("ics23/iavl/exist_left.json"));
        let b64 = |hex_str: &str| {
            base64::engine::general_purpose::STANDARD.encode(hex::decode(hex_str).unwrap())
        };
        let abci = json!({"response": {
            "code": 0, "log": "", "info": "", "index": "0",
            "key": b64(ics["key"].as_str().unwrap()),
            "value": b64(ics["value"].as_str().unwrap()),
            "proofOps": {"ops": [{"type": "ics23:iavl",
                                  "key": b64(ics["key"].as_str().unwrap()),
                                  "data": b64(ics["proof"].as_str().unwrap())}]},
            "height": "10", "codespace": ""}});
        Self {
            chain_id,
            commits,
            block_ids,
            validators,
            abci,
        }
    }

    fn latest(&self) -> u64 {
        *self.commits.keys().next_back().unwrap()
    }
}

/// A block hash as the recordings write it.
fn upper_hex(hash: Option<Hash32>) -> String {
    hash.map(|h| h.to_string().to_uppercase())
        .unwrap_or_default()
}

type Params = Query<BTreeMap<String, String>>;

fn height_param(q: &BTreeMap<String, String>) -> Option<u64> {
    q.get("height")
        .map(|h| h.trim_matches('"').parse().unwrap())
}

async fn commit(State(r): State<Arc<Recording>>, Query(q): Params) -> axum::response::Response {
    let h = height_param(&q).unwrap_or_else(|| r.latest());
    match r.commits.get(&h) {
        Some(c) => rpc(c.clone()),
        None => rpc_error(format!(
            "height {h} must be less than or equal to the current blockchain height {}",
            r.latest()
        )),
    }
}

async fn validators(State(r): State<Arc<Recording>>, Query(q): Params) -> axum::response::Response {
    let h = height_param(&q).unwrap_or_else(|| r.latest());
    match &r.validators {
        Some(v) if h <= r.latest() + 1 => rpc(json!({
            "block_height": h.to_string(), "validators": v,
            "count": v.len().to_string(), "total": v.len().to_string()})),
        _ => rpc_error(format!("could not find validator set for height #{h}")),
    }
}

async fn status(State(r): State<Arc<Recording>>) -> axum::response::Response {
    let h = r.latest();
    let header = &r.commits[&h]["signed_header"]["header"];
    rpc(json!({
        "node_info": {"network": r.chain_id, "moniker": "fixture"},
        "sync_info": {"latest_block_hash": r.block_ids[&h], "latest_app_hash": header["app_hash"],
                      "latest_block_height": h.to_string(), "latest_block_time": header["time"],
                      "catching_up": false}}))
}

async fn abci_query(State(r): State<Arc<Recording>>, Query(q): Params) -> axum::response::Response {
    assert_eq!(
        q.get("path").map(String::as_str),
        Some("\"store/main/key\"")
    );
    assert_eq!(q.get("prove").map(String::as_str), Some("true"));
    rpc(r.abci.clone())
}

/// Serves `recording` on 127.0.0.1 port 0; returns an adapter of it.
async fn serve(recording: Recording) -> (CometBftAdapter, Arc<Recording>) {
    let recording = Arc::new(recording);
    let app = Router::new()
        .route("/commit", get(commit))
        .route("/validators", get(validators))
        .route("/status", get(status))
        .route("/abci_query", get(abci_query))
        .with_state(recording.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let chain = ChainId::new(recording.chain_id.clone()).unwrap();
    let adapter = CometBftAdapter::new(chain, &format!("http://{addr}"))
        .unwrap()
        .with_retry(RetryPolicy::NONE);
    (adapter, recording)
}

#[tokio::test]
async fn status_and_light_blocks_of_recorded_kvstore_chains() {
    let Some(vectors) = vectors() else { return };
    for folder in [
        "kvstore_fixtures/v0_34/incoming",
        "kvstore_fixtures/v0_38/incoming",
    ] {
        let (adapter, rec) = serve(Recording::load(&vectors, folder)).await;
        let latest = rec.latest();
        assert!(latest > 40, "{folder}: block_search gives about 45 commits");

        let status = adapter.status().await.unwrap();
        assert_eq!(status.family, "cometbft");
        assert_eq!(status.latest_height, Height(latest));
        assert_eq!(
            status.latest_hash.to_string().to_uppercase(),
            rec.block_ids[&latest]
        );

        for h in 1..=latest {
            let lb = adapter.light_block(Height(h)).await.unwrap();
            let sh = &lb.signed_header;
            assert_eq!(sh.header.height, Height(h));
            assert_eq!(sh.commit.height, Height(h));
            // The commit signs the recorded block id of this height.
            assert_eq!(
                upper_hex(sh.commit.block_id.hash),
                rec.block_ids[&h],
                "{folder} height {h}"
            );
            assert_eq!(sh.header.last_block_id.is_none(), h == 1);
            if let Some(prev) = &sh.header.last_block_id {
                assert_eq!(upper_hex(prev.hash), rec.block_ids[&(h - 1)]);
            }
            assert_eq!(lb.validators.len(), 1);
            let validator = lb.validators.validators()[0];
            assert_eq!(validator.power(), 10);
            assert_eq!(lb.validators, lb.next_validators);
            // The set the adapter built is the one the header commits to.
            assert_eq!(lb.validators.hash(), sh.header.validators_hash);
            assert_eq!(
                sh.header.validators_hash, sh.header.next_validators_hash,
                "the set never changes"
            );
            let signers: Vec<_> = sh
                .commit
                .signatures
                .iter()
                .filter(|s| matches!(s, CommitSig::Commit { .. }))
                .map(CommitSig::validator_address)
                .collect();
            assert_eq!(signers, [Some(validator.address())]);
            assert_eq!(sh.header.proposer_address, validator.address());
        }
        let latest_block = adapter.latest_light_block().await.unwrap();
        assert_eq!(latest_block.height(), Height(latest));
        let err = adapter.light_block(Height(latest + 5)).await.unwrap_err();
        assert!(matches!(err, AdapterError::NotFound { .. }), "{err}");
    }
}

#[tokio::test]
async fn recorded_gaia_commit_parses() {
    let Some(vectors) = vectors() else { return };
    let (adapter, rec) = serve(Recording::load(&vectors, "gaia_fixtures/incoming")).await;
    let sh = adapter.signed_header(Some(Height(10))).await.unwrap();
    assert_eq!(sh.header.chain_id.as_str(), "ibc-0");
    assert_eq!(upper_hex(sh.commit.block_id.hash), rec.block_ids[&10]);
    assert_eq!(sh.header.app_hash.len(), 32);
    assert_eq!(sh.header.time.to_string(), "2021-12-17T20:27:47.875954829Z");
    // No validator set was recorded for this chain: the node's error comes back typed.
    let err = adapter.validators(Height(10)).await.unwrap_err();
    assert!(matches!(err, AdapterError::NotFound { .. }), "{err}");
}

/// The `reason` of an [`AdapterError::InvalidResponse`] from `endpoint`.
fn invalid_reason(err: AdapterError, endpoint: &str) -> String {
    match err {
        AdapterError::InvalidResponse {
            endpoint: e,
            reason,
            ..
        } if e == endpoint => reason,
        other => panic!("expected an invalid response from {endpoint}, got {other}"),
    }
}

/// Where the header's time and the first vote's time stand in a `/commit` answer's
/// `signed_header`.
const HEADER_TIME: &str = "/header/time";
const VOTE_TIME: &str = "/commit/signatures/0/timestamp";

/// Serves the v0.38 kvstore recording with the field at `pointer` of its `/commit` answer at
/// height 10 set to `text`; returns the adapter's refusal of that height, having checked
/// that it is, word for word, the light client's own verdict on the edited signed header.
async fn refusal_at_10(vectors: &Path, pointer: &str, text: &str) -> String {
    let mut rec = Recording::load(vectors, "kvstore_fixtures/v0_38/incoming");
    let signed_header = &mut rec.commits.get_mut(&10).unwrap()["signed_header"];
    *signed_header.pointer_mut(pointer).unwrap() = json!(text);
    let light_client = comet_json::signed_header(signed_header)
        .expect_err("the light client refuses the edited header")
        .to_string();
    let (adapter, _) = serve(rec).await;
    let err = adapter.signed_header(Some(Height(10))).await.unwrap_err();
    // A light block at that height is refused for the same reason.
    let again = adapter.light_block(Height(10)).await.unwrap_err();
    assert_eq!(again, err);
    let reason = invalid_reason(err, "/commit?height=10");
    assert_eq!(reason, light_client);
    reason
}

#[tokio::test]
async fn a_malformed_vote_time_is_refused_naming_the_field() {
    let Some(vectors) = vectors() else { return };
    // The adapter's former parser kept such a vote, with no time at all.
    for (time, expected) in [
        (
            "2023-05-17T14:12:53.6053745240Z",
            "height 10: commit.signatures[0].timestamp: bad RFC 3339 time \
             \"2023-05-17T14:12:53.6053745240Z\": a fraction needs 1 to 9 digits",
        ),
        (
            "yesterday",
            "height 10: commit.signatures[0].timestamp: bad RFC 3339 time \"yesterday\": \
             expected a digit",
        ),
    ] {
        assert_eq!(refusal_at_10(&vectors, VOTE_TIME, time).await, expected);
    }
}

#[tokio::test]
async fn leap_seconds_and_out_of_range_times_are_read_as_the_light_client_reads_them() {
    let Some(vectors) = vectors() else { return };
    for (pointer, time, expected) in [
        // A leap second: Go refuses `:60`, and so does the light client; the adapter's
        // former parser took it.
        (
            HEADER_TIME,
            "2016-12-31T23:59:60Z",
            "height 10: header.time: bad RFC 3339 time \"2016-12-31T23:59:60Z\": \
             no such time of day",
        ),
        (
            VOTE_TIME,
            "2016-12-31T23:59:60.5Z",
            "height 10: commit.signatures[0].timestamp: bad RFC 3339 time \
             \"2016-12-31T23:59:60.5Z\": no such time of day",
        ),
        // Out of range: a header time before 1970, and one a `Time` cannot hold.
        (
            HEADER_TIME,
            "1969-12-31T23:59:59Z",
            "height 10: header.time: before 1970 or after 2554",
        ),
        (
            HEADER_TIME,
            "2555-01-01T00:00:00Z",
            "height 10: header.time: before 1970 or after 2554",
        ),
        // A vote at the Unix epoch, protobuf's default time: the light client reads it as
        // no time at all (as tendermint-rs does); the adapter's former parser took it.
        (
            VOTE_TIME,
            "1970-01-01T00:00:00Z",
            "height 10: commit.signatures[0].timestamp: a vote's time is the Unix epoch, \
             protobuf's default, read as no time",
        ),
    ] {
        assert_eq!(refusal_at_10(&vectors, pointer, time).await, expected);
    }

    // `/status` reads the latest block's time with the same parser.
    let mut rec = Recording::load(&vectors, "kvstore_fixtures/v0_38/incoming");
    let latest = rec.latest();
    rec.commits.get_mut(&latest).unwrap()["signed_header"]["header"]["time"] =
        json!("2016-12-31T23:59:60Z");
    let (adapter, _) = serve(rec).await;
    let reason = invalid_reason(adapter.status().await.unwrap_err(), "/status");
    assert_eq!(
        reason,
        "sync_info.latest_block_time: bad RFC 3339 time \"2016-12-31T23:59:60Z\": \
         no such time of day"
    );
}

#[tokio::test]
async fn a_validator_whose_address_is_not_its_key_is_refused_naming_height_and_field() {
    let Some(vectors) = vectors() else { return };
    let mut rec = Recording::load(&vectors, "kvstore_fixtures/v0_38/incoming");
    rec.validators.as_mut().unwrap()[0]["address"] =
        json!("0000000000000000000000000000000000000000");
    let (adapter, _) = serve(rec).await;
    let reason = invalid_reason(
        adapter.validators(Height(10)).await.unwrap_err(),
        "/validators?height=10&page=1&per_page=100",
    );
    assert!(
        reason.starts_with(
            "height 10: validators[0].address: 0000000000000000000000000000000000000000 is not \
             the address of its key"
        ),
        "{reason}"
    );
}

#[tokio::test]
async fn abci_query_returns_the_value_and_its_ics23_proof() {
    let Some(vectors) = vectors() else { return };
    let (adapter, _) = serve(Recording::load(&vectors, "kvstore_fixtures/v0_38/incoming")).await;
    let ics = read(&vectors.join("ics23/iavl/exist_left.json"));
    let key = hex::decode(ics["key"].as_str().unwrap()).unwrap();
    let q = adapter
        .abci_query("store/main/key", &key, Some(Height(10)), true)
        .await
        .unwrap();
    assert_eq!(q.key, key);
    assert_eq!(
        q.value,
        hex::decode(ics["value"].as_str().unwrap()).unwrap()
    );
    assert_eq!(q.height, Height(10));
    assert_eq!(q.proof_ops.len(), 1);
    assert_eq!(q.proof_ops[0].kind, "ics23:iavl");
    assert_eq!(
        q.proof_ops[0].data,
        hex::decode(ics["proof"].as_str().unwrap()).unwrap()
    );
}

#[tokio::test]
async fn message_operations_are_unsupported_and_an_absent_node_is_unreachable() {
    let chain = ChainId::new("dockerchain").unwrap();
    // A port nobody listens on: bind, read it, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let adapter = CometBftAdapter::new(chain, &format!("http://127.0.0.1:{port}"))
        .unwrap()
        .with_retry(RetryPolicy {
            max_attempts: 2,
            initial_backoff: std::time::Duration::from_millis(1),
            max_backoff: std::time::Duration::from_millis(1),
        });
    let err = adapter.status().await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(matches!(err, AdapterError::Unreachable { .. }));
    let err = adapter
        .outbound_messages(Height(1), Height(2))
        .await
        .unwrap_err();
    assert!(matches!(err, AdapterError::Unsupported { .. }), "{err}");
}
