//! Differential test: this crate's [`CometVerifier`] against tendermint-rs's
//! `tendermint-light-client-verifier` (`ProdVerifier`), which must give the same verdict
//! class on every step of every model-based vector, on generated blocks, and on randomized
//! mutations of both.
//!
//! Both verifiers read the same JSON. A block that one side refuses to parse counts as
//! `INVALID` for that side. One normalisation is applied for tendermint-rs only: absent
//! votes in the model-based files carry the Unix epoch as their time, which tendermint-rs
//! 0.41 refuses to parse; they are given Go's zero time, as current nodes write it (see the
//! departure noted in `cometbft::json`).

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use common::comet::{light_block, light_block_json, members, BlockSpec, Member};
use common::{json_files, name, read_json, vectors_dir};
use corridor_light_client::cometbft::Timestamp;
use corridor_light_client::cometbft::{json, CometVerifier, TrustedState};
use corridor_light_client::verifier::Verifier;
use corridor_light_client::{Options, Time, TrustThreshold};
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestRunner};
use serde_json::{json, Value};
use tendermint_light_client_verifier::options::Options as TmOptions;
use tendermint_light_client_verifier::types::{
    TrustThreshold as TmThreshold, TrustedBlockState, UntrustedBlockState,
};
use tendermint_light_client_verifier::{ProdVerifier, Verdict as TmVerdict, Verifier as _};

/// One verification step, as JSON both sides parse.
#[derive(Clone, Debug)]
struct Step {
    /// `{signed_header, next_validator_set}` of the trusted block.
    trusted: Value,
    /// The untrusted light block.
    untrusted: Value,
    /// RFC 3339.
    now: String,
    trust: (u64, u64),
    period: Duration,
    drift: Duration,
}

fn ours(step: &Step) -> String {
    let run = || -> Result<String, String> {
        let sh = json::signed_header(&step.trusted["signed_header"]).map_err(|e| e.to_string())?;
        let next =
            json::validator_set(&step.trusted["next_validator_set"]).map_err(|e| e.to_string())?;
        let trusted = TrustedState {
            header: sh.header,
            next_validators: next,
            cache: Default::default(),
        };
        let block = json::light_block(&step.untrusted).map_err(|e| e.to_string())?;
        let now = Timestamp::parse(&step.now)
            .ok()
            .and_then(Timestamp::to_time)
            .ok_or("bad now")?;
        let options = Options {
            trust_threshold: TrustThreshold::new(step.trust.0, step.trust.1)
                .map_err(|e| e.to_string())?,
            trusting_period: step.period,
            clock_drift: step.drift,
        };
        Ok(CometVerifier
            .verify_update(&block, &trusted, &options, now)
            .class()
            .to_owned())
    };
    run().unwrap_or_else(|_| "INVALID".into())
}

/// Absent votes get Go's zero time instead of the epoch (tendermint-rs 0.41 parse rule).
fn for_tendermint(mut v: Value) -> Value {
    if let Some(sigs) = v
        .pointer_mut("/commit/signatures")
        .and_then(Value::as_array_mut)
    {
        for s in sigs {
            if s["block_id_flag"] == json!(1) && s["timestamp"] == json!("1970-01-01T00:00:00Z") {
                s["timestamp"] = json!("0001-01-01T00:00:00Z");
            }
        }
    }
    v
}

fn theirs(step: &Step) -> String {
    let run = || -> Result<String, String> {
        let tsh: tendermint::block::signed_header::SignedHeader =
            serde_json::from_value(for_tendermint(step.trusted["signed_header"].clone()))
                .map_err(|e| e.to_string())?;
        let tnext: tendermint::validator::Set =
            serde_json::from_value(step.trusted["next_validator_set"].clone())
                .map_err(|e| e.to_string())?;
        let ush: tendermint::block::signed_header::SignedHeader =
            serde_json::from_value(for_tendermint(step.untrusted["signed_header"].clone()))
                .map_err(|e| e.to_string())?;
        let uvals: tendermint::validator::Set =
            serde_json::from_value(step.untrusted["validator_set"].clone())
                .map_err(|e| e.to_string())?;
        let unext: tendermint::validator::Set =
            serde_json::from_value(step.untrusted["next_validator_set"].clone())
                .map_err(|e| e.to_string())?;
        let now = tendermint::Time::parse_from_rfc3339(&step.now).map_err(|e| e.to_string())?;
        let options = TmOptions {
            trust_threshold: TmThreshold::new(step.trust.0, step.trust.1)
                .map_err(|e| e.to_string())?,
            trusting_period: step.period,
            clock_drift: step.drift,
        };
        let trusted = TrustedBlockState {
            chain_id: &tsh.header.chain_id,
            header_time: tsh.header.time,
            height: tsh.header.height,
            next_validators: &tnext,
            next_validators_hash: tsh.header.next_validators_hash,
        };
        let untrusted = UntrustedBlockState {
            signed_header: &ush,
            validators: &uvals,
            next_validators: Some(&unext),
        };
        Ok(
            match ProdVerifier::default().verify_update_header(untrusted, trusted, &options, now) {
                TmVerdict::Success => "SUCCESS",
                TmVerdict::NotEnoughTrust(_) => "NOT_ENOUGH_TRUST",
                TmVerdict::Invalid(_) => "INVALID",
            }
            .to_owned(),
        )
    };
    run().unwrap_or_else(|_| "INVALID".into())
}

/// Every step of every model-based file, with the trusted block the procedure uses.
fn model_steps() -> Vec<(String, Step, String)> {
    let Some(dir) = vectors_dir("differential") else {
        return vec![];
    };
    let mut out = Vec::new();
    for path in json_files(&dir.join("cometbft/model_based/single_step")) {
        let v = read_json(&path);
        let period = Duration::from_nanos(
            v["initial"]["trusting_period"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        );
        let mut trusted = json!({
            "signed_header": v["initial"]["signed_header"],
            "next_validator_set": v["initial"]["next_validator_set"],
        });
        for (i, input) in v["input"].as_array().unwrap().iter().enumerate() {
            let step = Step {
                trusted: trusted.clone(),
                untrusted: input["block"].clone(),
                now: input["now"].as_str().unwrap().to_owned(),
                trust: (1, 3),
                period,
                drift: Duration::ZERO,
            };
            let expected = input["verdict"].as_str().unwrap().to_owned();
            if expected == "SUCCESS" {
                trusted = json!({
                    "signed_header": input["block"]["signed_header"],
                    "next_validator_set": input["block"]["next_validator_set"],
                });
            }
            out.push((format!("{} step {i}", name(&path)), step, expected));
        }
    }
    out
}

fn t(s: u64) -> Time {
    Time::from_unix_secs(1_700_000_000 + s).unwrap()
}

/// Generated steps: adjacent, skipping with enough and with too little trust.
fn generated_steps() -> Vec<(String, Step)> {
    let a = members(11, 7, |i| 10 + i as u64);
    let b = members(12, 5, |i| 20 + 3 * i as u64);
    let mixed: Vec<Member> = a[..4].iter().chain(&b[..3]).cloned().collect();
    let gen = |h, time, vals: &[Member], next: &[Member], signs: &dyn Fn(usize) -> bool| {
        light_block_json(&light_block(&BlockSpec {
            chain_id: "trade-cosmos-1",
            height: h,
            time,
            validators: vals,
            next_validators: next,
            signs,
        }))
    };
    let all = |_: usize| true;
    let trusted_block = gen(100, t(0), &a, &a, &all);
    let trusted = json!({"signed_header": trusted_block["signed_header"],
                         "next_validator_set": trusted_block["next_validator_set"]});
    let step = |untrusted: Value| Step {
        trusted: trusted.clone(),
        untrusted,
        now: t(1000).to_string(),
        trust: (1, 3),
        period: Duration::from_secs(3600),
        drift: Duration::from_secs(10),
    };
    vec![
        ("adjacent".into(), step(gen(101, t(5), &a, &a, &all))),
        (
            "adjacent, 5 of 7 sign".into(),
            step(gen(101, t(5), &a, &mixed, &|i| i < 5)),
        ),
        (
            "skip, same set".into(),
            step(gen(120, t(60), &a, &a, &|i| i % 3 != 0)),
        ),
        (
            "skip, mixed set".into(),
            step(gen(130, t(90), &mixed, &b, &all)),
        ),
        ("skip, new set".into(), step(gen(140, t(120), &b, &b, &all))),
    ]
}

#[test]
fn both_verifiers_agree_on_every_model_based_step() {
    let steps = model_steps();
    if steps.is_empty() {
        return;
    }
    for (label, step, expected) in &steps {
        let (o, r) = (ours(step), theirs(step));
        assert_eq!(o, r, "{label}: ours {o}, tendermint-rs {r}");
        assert_eq!(&o, expected, "{label}");
    }
}

#[test]
fn both_verifiers_agree_on_generated_blocks() {
    let classes: Vec<String> = generated_steps()
        .iter()
        .map(|(label, step)| {
            let (o, r) = (ours(step), theirs(step));
            assert_eq!(o, r, "{label}");
            o
        })
        .collect();
    // The generated steps cover all three classes.
    for class in ["SUCCESS", "NOT_ENOUGH_TRUST"] {
        assert!(classes.iter().any(|c| c == class), "{classes:?}");
    }
}

/// A random change to a step.
#[derive(Clone, Debug)]
enum Mutation {
    FlipSignatureByte { sig: usize, byte: usize },
    SetFlag { sig: usize, flag: u8 },
    CopySignature { from: usize, to: usize },
    DropSignature { sig: usize },
    SwapSignatures { a: usize, b: usize },
    ChainId(u8),
    HeaderTime(i64),
    Now(i64),
    Height(i64),
    Round(u32),
    Power { validator: usize, power: u64 },
    DropValidator(usize),
    DuplicateValidator(usize),
    FlipHash { field: usize, byte: usize },
    VoteTime { sig: usize, delta: i64 },
    Period(u64),
    Threshold(u64, u64),
    Drift(u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let i = 0usize..200;
    prop_oneof![
        (i.clone(), 0usize..64).prop_map(|(sig, byte)| Mutation::FlipSignatureByte { sig, byte }),
        (i.clone(), 1u8..=3).prop_map(|(sig, flag)| Mutation::SetFlag { sig, flag }),
        (i.clone(), i.clone()).prop_map(|(from, to)| Mutation::CopySignature { from, to }),
        i.clone().prop_map(|sig| Mutation::DropSignature { sig }),
        (i.clone(), i.clone()).prop_map(|(a, b)| Mutation::SwapSignatures { a, b }),
        (0u8..3).prop_map(Mutation::ChainId),
        (-5i64..5_000).prop_map(Mutation::HeaderTime),
        (-100_000i64..10_000_000).prop_map(Mutation::Now),
        (-3i64..4).prop_map(Mutation::Height),
        (0u32..3).prop_map(Mutation::Round),
        (i.clone(), 0u64..60).prop_map(|(validator, power)| Mutation::Power { validator, power }),
        i.clone().prop_map(Mutation::DropValidator),
        i.clone().prop_map(Mutation::DuplicateValidator),
        (0usize..8, 0usize..32).prop_map(|(field, byte)| Mutation::FlipHash { field, byte }),
        (i.clone(), -3i64..3).prop_map(|(sig, delta)| Mutation::VoteTime { sig, delta }),
        (1u64..10_000_000).prop_map(Mutation::Period),
        (1u64..4, 2u64..5).prop_map(|(n, d)| Mutation::Threshold(n, d)),
        (0u64..100).prop_map(Mutation::Drift),
    ]
}

fn shift_time(text: &str, secs: i64) -> String {
    let ts = Timestamp::parse(text).unwrap();
    let s = ts.seconds.saturating_add(secs).max(0) as u64;
    Time::from_unix_nanos(s * 1_000_000_000 + u64::from(ts.nanos)).to_string()
}

fn apply(step: &mut Step, m: &Mutation) {
    let u = &mut step.untrusted;
    let n_sigs = u["signed_header"]["commit"]["signatures"]
        .as_array()
        .map_or(0, Vec::len);
    let n_vals = u["validator_set"]["validators"]
        .as_array()
        .map_or(0, Vec::len);
    let sigs = |u: &mut Value| {
        u["signed_header"]["commit"]["signatures"]
            .as_array_mut()
            .cloned()
    };
    match *m {
        Mutation::FlipSignatureByte { sig, byte } if n_sigs > 0 => {
            let s = &mut u["signed_header"]["commit"]["signatures"][sig % n_sigs]["signature"];
            if let Some(text) = s.as_str() {
                use base64::Engine as _;
                let e = base64::engine::general_purpose::STANDARD;
                if let Ok(mut bytes) = e.decode(text) {
                    if !bytes.is_empty() {
                        let len = bytes.len();
                        bytes[byte % len] ^= 0x20;
                        *s = json!(e.encode(bytes));
                    }
                }
            }
        }
        Mutation::SetFlag { sig, flag } if n_sigs > 0 => {
            u["signed_header"]["commit"]["signatures"][sig % n_sigs]["block_id_flag"] = json!(flag);
        }
        Mutation::CopySignature { from, to } if n_sigs > 0 => {
            let s = u["signed_header"]["commit"]["signatures"][from % n_sigs].clone();
            u["signed_header"]["commit"]["signatures"][to % n_sigs] = s;
        }
        Mutation::DropSignature { sig } if n_sigs > 0 => {
            let mut list = sigs(u).unwrap();
            list.remove(sig % n_sigs);
            u["signed_header"]["commit"]["signatures"] = json!(list);
        }
        Mutation::SwapSignatures { a, b } if n_sigs > 0 => {
            let mut list = sigs(u).unwrap();
            list.swap(a % n_sigs, b % n_sigs);
            u["signed_header"]["commit"]["signatures"] = json!(list);
        }
        Mutation::ChainId(k) => {
            u["signed_header"]["header"]["chain_id"] =
                json!(["other-chain", "test-chain", "trade-cosmos-1"][k as usize]);
        }
        Mutation::HeaderTime(d) => {
            let text = u["signed_header"]["header"]["time"]
                .as_str()
                .unwrap()
                .to_owned();
            u["signed_header"]["header"]["time"] = json!(shift_time(&text, d));
        }
        Mutation::Now(d) => step.now = shift_time(&step.now.clone(), d),
        Mutation::Height(d) => {
            let h: i64 = u["signed_header"]["header"]["height"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            let new = (h + d).max(1).to_string();
            u["signed_header"]["header"]["height"] = json!(new);
            u["signed_header"]["commit"]["height"] = json!(new);
        }
        Mutation::Round(r) => u["signed_header"]["commit"]["round"] = json!(r),
        Mutation::Power { validator, power } if n_vals > 0 => {
            u["validator_set"]["validators"][validator % n_vals]["voting_power"] =
                json!(power.to_string());
        }
        Mutation::DropValidator(v) if n_vals > 0 => {
            let mut list = u["validator_set"]["validators"].as_array().unwrap().clone();
            list.remove(v % n_vals);
            u["validator_set"]["validators"] = json!(list);
        }
        Mutation::DuplicateValidator(v) if n_vals > 0 => {
            let mut list = u["validator_set"]["validators"].as_array().unwrap().clone();
            list.push(list[v % n_vals].clone());
            u["validator_set"]["validators"] = json!(list);
        }
        Mutation::FlipHash { field, byte } => {
            let name = [
                "validators_hash",
                "next_validators_hash",
                "app_hash",
                "last_commit_hash",
                "consensus_hash",
                "data_hash",
                "proposer_address",
                "block_id",
            ][field];
            let target = if name == "block_id" {
                &mut u["signed_header"]["commit"]["block_id"]["hash"]
            } else {
                &mut u["signed_header"]["header"][name]
            };
            if let Some(text) = target.as_str() {
                if let Ok(mut bytes) = hex::decode(text) {
                    if !bytes.is_empty() {
                        let len = bytes.len();
                        bytes[byte % len] ^= 0x01;
                        *target = json!(hex::encode_upper(bytes));
                    }
                }
            }
        }
        Mutation::VoteTime { sig, delta } if n_sigs > 0 => {
            let s = &mut u["signed_header"]["commit"]["signatures"][sig % n_sigs];
            if s["block_id_flag"] != json!(1) {
                let text = s["timestamp"]
                    .as_str()
                    .unwrap_or("1970-01-01T00:00:00Z")
                    .to_owned();
                s["timestamp"] = json!(shift_time(&text, delta));
            }
        }
        Mutation::Period(p) => step.period = Duration::from_secs(p),
        Mutation::Threshold(n, d) => step.trust = (n.min(d), d),
        Mutation::Drift(s) => step.drift = Duration::from_secs(s),
        _ => {}
    }
}

fn all_steps() -> Vec<(String, Step)> {
    model_steps()
        .into_iter()
        .map(|(l, s, _)| (l, s))
        .chain(generated_steps())
        .collect()
}

/// Runs `cases` random cases (the suite's fixed seed unless `PROPTEST_RNG_SEED` is set) and
/// returns how many cases ended in each verdict class; panics with proptest's minimal case
/// on the first disagreement.
fn random_mutations(cases: u32) -> BTreeMap<String, u64> {
    let steps = all_steps();
    let mut config = common::proptest_config(cases);
    config.source_file = Some(file!());
    config.failure_persistence = Some(Box::new(FileFailurePersistence::WithSource(
        "proptest-regressions",
    )));
    let seen = RefCell::new(BTreeMap::new());
    let mut runner = TestRunner::new(config);
    let strategy = (
        any::<prop::sample::Index>(),
        prop::collection::vec(mutation(), 1..4),
    );
    let result = runner.run(&strategy, |(pick, mutations)| {
        let (label, step) = &steps[pick.index(steps.len())];
        let mut step = step.clone();
        for m in &mutations {
            apply(&mut step, m);
        }
        let (o, r) = (ours(&step), theirs(&step));
        prop_assert_eq!(&o, &r, "{} after {:?}", label, mutations);
        *seen.borrow_mut().entry(o).or_insert(0) += 1;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    seen.into_inner()
}

#[test]
fn both_verifiers_agree_on_random_mutations() {
    let seen = random_mutations(400);
    eprintln!("verdict classes over the random cases: {seen:?}");
    // The fixed seed's cases reach every class, so the run compares verdicts, not only
    // parse failures.
    for class in ["SUCCESS", "NOT_ENOUGH_TRUST", "INVALID"] {
        assert!(seen.contains_key(class), "{class} never seen: {seen:?}");
    }
}

/// The long randomized run, apart from the suite (see the README):
/// `PROPTEST_CASES=100000 PROPTEST_RNG_SEED=$RANDOM cargo test --release -p
/// corridor-light-client --test cometbft_differential -- --ignored --nocapture`.
#[test]
#[ignore = "long randomized run, made by hand before a verifier change lands"]
fn long_randomized_differential_run() {
    let seen = random_mutations(100_000);
    let total: u64 = seen.values().sum();
    eprintln!("{total} random cases agreed; verdict classes: {seen:?}");
    for class in ["SUCCESS", "NOT_ENOUGH_TRUST", "INVALID"] {
        assert!(seen.contains_key(class), "{class} never seen: {seen:?}");
    }
}

/// The two disagreements the random run found: a commit vote (case 1) or a nil vote
/// (case 2) whose time is moved to the Unix epoch. tendermint-rs reads the epoch as "no
/// time" and refuses the vote; so does this crate now (`cometbft::json`'s module doc).
#[test]
fn votes_at_the_unix_epoch_are_refused_by_both() {
    let Some(_) = vectors_dir("differential") else {
        return;
    };
    let steps = all_steps();
    let find = |label: &str| {
        steps
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| panic!("no step {label}"))
    };
    let cases = [
        (
            "MC100_2_faulty_TestSuccess.json step 0",
            vec![Mutation::VoteTime { sig: 66, delta: -2 }],
        ),
        (
            "MC10_3_faulty_TestLessThanThirdValsetChanges.json step 0",
            vec![
                Mutation::SetFlag { sig: 0, flag: 3 },
                Mutation::VoteTime { sig: 0, delta: -2 },
            ],
        ),
    ];
    for (label, mutations) in cases {
        let mut step = find(label);
        // Unchanged, both give the file's verdict, which is not INVALID.
        let (o, r) = (ours(&step), theirs(&step));
        assert_eq!(o, r, "{label}");
        assert_ne!(o, "INVALID", "{label}");
        for m in &mutations {
            apply(&mut step, m);
        }
        assert_eq!(
            (ours(&step), theirs(&step)),
            ("INVALID".into(), "INVALID".into()),
            "{label} after {mutations:?}"
        );
        // And the reason on this side is the epoch time, not a signature.
        let err = json::light_block(&step.untrusted).unwrap_err();
        assert!(err.reason.contains("Unix epoch"), "{label}: {err}");
    }
}

#[test]
fn single_mutations_reach_every_verdict_class() {
    // A fixed sweep (no randomness): each generated step under small changes of `now`,
    // threshold, and signatures. Both verifiers agree, and all three classes occur, so the
    // random test above is not comparing parse failures only.
    let mut seen = BTreeMap::new();
    for (label, step) in generated_steps() {
        for m in [
            Mutation::Now(0),
            Mutation::Now(-2000),
            Mutation::Threshold(2, 3),
            Mutation::Threshold(1, 1),
            Mutation::FlipSignatureByte { sig: 0, byte: 3 },
            Mutation::SetFlag { sig: 1, flag: 3 },
            Mutation::SetFlag { sig: 2, flag: 1 },
            Mutation::Period(10),
        ] {
            let mut s = step.clone();
            apply(&mut s, &m);
            let (o, r) = (ours(&s), theirs(&s));
            assert_eq!(o, r, "{label} after {m:?}");
            *seen.entry(o).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
}
