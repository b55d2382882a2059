//! The CometBFT light client against the public vectors in `../shared/vectors/cometbft`
//! (see its README), plus mutations the files do not cover.

mod common;

use std::time::Duration;

use common::comet::{light_block, light_block_json, members, BlockSpec, Member};
use common::{json_files, name, read_json, vectors_dir};
use corridor_light_client::cometbft::vectors::{self, rpc_checks, run_file};
use corridor_light_client::cometbft::CommitSig;
use corridor_light_client::cometbft::{json, CometVerifier, LightBlock, TrustedState};
use corridor_light_client::verifier::{Verdict, Verifier};
use corridor_light_client::{Options, Time, VerificationError};

#[test]
fn model_based_single_step_files_give_every_expected_verdict() {
    let Some(dir) = vectors_dir("model_based") else {
        return;
    };
    let files = json_files(&dir.join("cometbft/model_based/single_step"));
    assert_eq!(files.len(), 31);
    let mut steps = 0;
    for path in &files {
        let value = read_json(path);
        let case =
            vectors::parse_single_step(&value).unwrap_or_else(|e| panic!("{}: {e}", name(path)));
        let got = vectors::single_step_verdicts(&case);
        assert_eq!(vectors::single_step_verdicts_streamed(&case), got);
        for (i, (step, (class, detail))) in case.steps.iter().zip(&got).enumerate() {
            assert_eq!(
                &step.verdict,
                class,
                "{} step {i}: expected {}, got {class} ({detail})",
                name(path),
                step.verdict
            );
            steps += 1;
        }
        assert!(run_file(&value, None).passed());
    }
    assert!(steps >= 70, "{steps} steps");
}

#[test]
fn known_header_hash() {
    let Some(dir) = vectors_dir("known_header_hash") else {
        return;
    };
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
    let Some(dir) = vectors_dir("rpc_fixtures") else {
        return;
    };
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
    let Some(dir) = vectors_dir("gaia") else {
        return;
    };
    let v = read_json(
        &dir.join("cometbft/rpc_fixtures/gaia_fixtures/incoming/commit_at_height_10.json"),
    );
    let sh = json::signed_header(&v["result"]["signed_header"]).unwrap();
    assert_eq!(sh.commit.block_id.hash, Some(sh.header.hash()));
}

#[test]
fn amino_era_bisection_files_are_rejected() {
    let Some(dir) = vectors_dir("bisection") else {
        return;
    };
    for sub in ["single_peer", "multi_peer"] {
        for path in json_files(&dir.join("cometbft/bisection").join(sub)) {
            let value = read_json(&path);
            let outcome = run_file(&value, None);
            assert!(outcome.passed(), "{}: {outcome:?}", name(&path));
            assert_eq!(outcome.got, "INVALID");
        }
    }
}

// ---- Mutations the files do not cover, on correctly signed generated blocks ----

const CHAIN: &str = "logistics-consortium-1";

fn secs(s: u64) -> Time {
    Time::from_unix_secs(1_700_000_000 + s).unwrap()
}

fn block(
    chain: &str,
    height: u64,
    time: Time,
    vals: &[Member],
    next: &[Member],
    signs: &dyn Fn(usize) -> bool,
) -> LightBlock {
    light_block(&BlockSpec {
        chain_id: chain,
        height,
        time,
        validators: vals,
        next_validators: next,
        signs,
    })
}

fn all(_: usize) -> bool {
    true
}

struct Fixture {
    vals: Vec<Member>,
    trusted: TrustedState,
    options: Options,
}

fn fixture() -> Fixture {
    let vals = members(1, 4, |_| 10);
    let trusted = TrustedState::from_block(&block(CHAIN, 10, secs(0), &vals, &vals, &all));
    Fixture {
        vals,
        trusted,
        options: Options::default(),
    }
}

fn verify(f: &Fixture, b: &LightBlock, now: Time) -> Verdict {
    CometVerifier.verify_update(b, &f.trusted, &f.options, now)
}

fn invalid(v: Verdict) -> VerificationError {
    match v {
        Verdict::Invalid(e) => e,
        other => panic!("expected INVALID, got {other:?}"),
    }
}

#[test]
fn generated_blocks_verify_and_round_trip_through_json() {
    let f = fixture();
    let b = block(CHAIN, 11, secs(10), &f.vals, &f.vals, &all);
    assert_eq!(verify(&f, &b, secs(20)), Verdict::Success);
    let skip = block(CHAIN, 15, secs(50), &f.vals, &f.vals, &|i| i != 3);
    assert_eq!(verify(&f, &skip, secs(60)), Verdict::Success);
    assert_eq!(json::light_block(&light_block_json(&b)).unwrap(), b);
}

#[test]
fn mutation_bad_signature() {
    let f = fixture();
    let mut b = block(CHAIN, 11, secs(10), &f.vals, &f.vals, &all);
    let addresses: Vec<_> = b
        .validators
        .validators()
        .iter()
        .map(|v| v.address())
        .collect();
    for i in [2, 0] {
        if let CommitSig::Commit { signature, .. } = &mut b.signed_header.commit.signatures[i] {
            signature.0[5] ^= 0x10;
        }
    }
    // Both bad; the first one in walk order (canonical order) is named.
    match invalid(verify(&f, &b, secs(20))) {
        VerificationError::InvalidSignature { height, validator } => {
            assert_eq!(height.0, 11);
            assert_eq!(validator, addresses[0].to_string());
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn mutation_wrong_chain_id() {
    let f = fixture();
    let b = block("forged-chain", 11, secs(10), &f.vals, &f.vals, &all);
    assert!(matches!(
        invalid(verify(&f, &b, secs(20))),
        VerificationError::ChainIdMismatch { .. }
    ));
}

#[test]
fn mutation_header_from_the_future() {
    let f = fixture();
    let b = block(CHAIN, 11, secs(100), &f.vals, &f.vals, &all);
    // now + drift (10 s) must be after the header time.
    assert!(matches!(
        invalid(verify(&f, &b, secs(85))),
        VerificationError::HeaderFromFuture { .. }
    ));
    assert_eq!(verify(&f, &b, secs(91)), Verdict::Success);
}

#[test]
fn mutation_duplicate_validator() {
    let f = fixture();
    // One validator's vote in two slots of the commit.
    let mut b = block(CHAIN, 11, secs(10), &f.vals, &f.vals, &all);
    let first = b.signed_header.commit.signatures[0];
    b.signed_header.commit.signatures[1] = first;
    assert!(matches!(
        invalid(verify(&f, &b, secs(20))),
        VerificationError::DuplicateValidator { .. }
    ));
    // One validator twice in a set: refused on parse.
    let mut value = light_block_json(&block(CHAIN, 11, secs(10), &f.vals, &f.vals, &all));
    let dup = value["validator_set"]["validators"][0].clone();
    value["validator_set"]["validators"][1] = dup;
    let e = json::light_block(&value).unwrap_err();
    assert!(e.reason.contains("twice"), "{e}");
}

#[test]
fn mutation_hash_mismatches() {
    let f = fixture();
    let good = block(CHAIN, 11, secs(10), &f.vals, &f.vals, &all);
    let mut b = good.clone();
    b.signed_header.header.app_hash[0] ^= 1;
    assert!(matches!(
        invalid(verify(&f, &b, secs(20))),
        VerificationError::CommitBlockHashMismatch { .. }
    ));
    let mut b = good.clone();
    b.next_validators = common::comet::set_of(&members(2, 4, |_| 10));
    assert!(matches!(
        invalid(verify(&f, &b, secs(20))),
        VerificationError::ValidatorSetHashMismatch { .. }
    ));
    // A correctly signed block of another set, adjacent to the trusted one.
    let other = members(3, 4, |_| 10);
    let b = block(CHAIN, 11, secs(10), &other, &other, &all);
    assert!(matches!(
        invalid(verify(&f, &b, secs(20))),
        VerificationError::NextValidatorsMismatch { .. }
    ));
}

#[test]
fn power_trust_and_time_rules() {
    let f = fixture();
    // Exactly half signs: not more than 2/3.
    let b = block(CHAIN, 11, secs(10), &f.vals, &f.vals, &|i| i < 2);
    assert!(matches!(
        invalid(verify(&f, &b, secs(20))),
        VerificationError::InsufficientCommitPower { .. }
    ));
    // A new set, skipping: nothing of the trusted set signed.
    let other = members(3, 4, |_| 10);
    let b = block(CHAIN, 14, secs(40), &other, &other, &all);
    assert!(matches!(verify(&f, &b, secs(50)), Verdict::NotEnoughTrust(t) if t.tallied == 0));
    // Expired trust.
    let b = block(CHAIN, 11, secs(10), &f.vals, &f.vals, &all);
    let late = secs(14 * 24 * 3600);
    assert!(matches!(
        invalid(verify(&f, &b, late)),
        VerificationError::NotWithinTrustPeriod { .. }
    ));
    // Same height, later time.
    let b = block(CHAIN, 10, secs(10), &f.vals, &f.vals, &all);
    assert!(matches!(
        invalid(verify(&f, &b, secs(20))),
        VerificationError::NonIncreasingHeight { .. }
    ));
    // Earlier time.
    let b = block(CHAIN, 12, secs(0), &f.vals, &f.vals, &all);
    assert!(matches!(
        invalid(verify(&f, &b, secs(20))),
        VerificationError::NonIncreasingTime { .. }
    ));
    let _ = Duration::ZERO;
}

#[test]
fn malformed_commits_are_invalid_not_panics() {
    let f = fixture();
    let good = block(CHAIN, 11, secs(10), &f.vals, &f.vals, &all);
    let mut b = good.clone();
    b.signed_header.commit.signatures.clear();
    assert!(matches!(
        invalid(verify(&f, &b, secs(20))),
        VerificationError::NoSignatures { .. }
    ));
    let mut b = good.clone();
    b.signed_header.commit.signatures.pop();
    assert!(matches!(
        invalid(verify(&f, &b, secs(20))),
        VerificationError::SignatureCountMismatch { .. }
    ));
    let mut b = good.clone();
    b.signed_header.commit.height = corridor_light_client::Height(12);
    assert!(matches!(
        invalid(verify(&f, &b, secs(20))),
        VerificationError::CommitHeightMismatch { .. }
    ));
    let mut b = good;
    b.validators = Default::default();
    b.next_validators = Default::default();
    assert!(matches!(verify(&f, &b, secs(20)), Verdict::Invalid(_)));
}
