//! The CometBFT light client against the public vectors in `../shared/vectors/cometbft`
//! (see its README), plus mutations the files do not cover.

mod common;

use std::time::Duration;

use common::{json_files, name, read_json, vectors_dir};
use corridor_light_client::cometbft::vectors::{self, rpc_checks, run_file};
use corridor_light_client::cometbft::{json, CometVerifier, LightBlock, TrustedState};
use corridor_light_client::verifier::{Verdict, Verifier};
use corridor_light_client::{Options, VerificationError};

#[test]
fn model_based_single_step_files_give_every_expected_verdict() {
    let Some(dir) = vectors_dir("model_based") else { return };
    let files = json_files(&dir.join("cometbft/model_based/single_step"));
    assert_eq!(files.len(), 31);
    let mut steps = 0;
    for path in &files {
        let value = read_json(path);
        let case = vectors::parse_single_step(&value).unwrap_or_else(|e| panic!("{}: {e}", name(path)));
        let got = vectors::single_step_verdicts(&case);
        for (i, (step, (class, detail))) in case.steps.iter().zip(&got).enumerate() {
            assert_eq!(
                &step.verdict, class,
                "{} step {i}: expected {}, got {class} ({detail})",
                name(path), step.verdict
            );
            steps += 1;
        }
        assert!(run_file(&value, None).passed());
    }
    assert!(steps >= 70, "{steps} steps");
}

#[test]
fn known_header_hash() {
    let Some(dir) = vectors_dir("known_header_hash") else { return };
    let value = read_json(&dir.join("cometbft/serialization/block/header_with_known_hash.json"));
    let header = json::header(&value).unwrap();
    assert_eq!(
        header.hash().to_string().to_uppercase(),
        "F30A71F2409FB15AACAEDB6CC122DFA2525BEE9CAE521721B06BFDCA291B8D56"
    );
}

fn genesis_set(dir: &std::path::Path) -> Option<corridor_light_client::cometbft::ValidatorSet> {
    let path = dir.join("genesis.json");
    path.exists().then(|| {
        let v = read_json(&path);
        json::validators(&v["result"]["genesis"]["validators"]).unwrap()
    })
}

#[test]
fn rpc_fixtures_hash_sign_and_verify() {
    let Some(dir) = vectors_dir("rpc_fixtures") else { return };
    let root = dir.join("cometbft/rpc_fixtures");
    let mut signatures = Vec::new();
    for folder in [
        "kvstore_fixtures/v0_34/incoming",
        "kvstore_fixtures/v0_38/incoming",
        "gaia_fixtures/incoming",
    ] {
        let folder = root.join(folder);
        let genesis = genesis_set(&folder);
        let mut sigs = 0;
        for path in json_files(&folder) {
            let value = read_json(&path);
            let summary = rpc_checks(&value, genesis.as_ref())
                .unwrap_or_else(|e| panic!("{}/{}: {e}", folder.display(), name(&path)));
            if name(&path) == "block_search.json" {
                assert!(summary.headers >= 45 && summary.steps >= 40, "{summary}");
            }
            sigs += summary.signatures;
        }
        signatures.push(sigs);
    }
    // README: at least 47 signatures for v0_34, 46 for v0_38 (commit_at_height_10 and every
    // last_commit; block_at_height_10's last commit is also in block_search).
    assert!(signatures[0] >= 47 && signatures[1] >= 46, "{signatures:?}");
}

#[test]
fn gaia_commit_verifies_with_its_own_validator_set_hash() {
    // The gaia fixtures have no genesis: check the header hash against the commit.
    let Some(dir) = vectors_dir("gaia") else { return };
    let v = read_json(&dir.join("cometbft/rpc_fixtures/gaia_fixtures/incoming/commit_at_height_10.json"));
    let sh = json::signed_header(&v["result"]["signed_header"]).unwrap();
    assert_eq!(sh.commit.block_id.hash, Some(sh.header.hash()));
}

#[test]
fn amino_era_bisection_files_are_rejected() {
    let Some(dir) = vectors_dir("bisection") else { return };
    for sub in ["single_peer", "multi_peer"] {
        for path in json_files(&dir.join("cometbft/bisection").join(sub)) {
            let value = read_json(&path);
            let outcome = run_file(&value, None);
            assert!(outcome.passed(), "{}: {outcome:?}", name(&path));
            assert_eq!(outcome.got, "INVALID");
        }
    }
}
