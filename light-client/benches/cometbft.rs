//! Verification of the same CometBFT light blocks by this crate's `CometVerifier` and by
//! tendermint-rs's `ProdVerifier` (`tendermint-light-client-verifier` 0.41).
//!
//! Blocks: the 86-validator adjacent step of `MC100_2_faulty_TestSuccess.json` (when
//! `../shared/vectors` is there), and generated, correctly signed blocks of 100 and 150
//! equal-power validators (adjacent) and of 100 validators skipping from a trusted block
//! with the same set. Both verifiers read the same JSON beforehand; only verification is
//! timed.
//!
//! Group `cometbft stream`: streams of 100 adjacent headers under one set of 86, 100 and 150
//! validators (generated), verified as a client does (each trusted state made by
//! `trusted_state_after`, so the prepared set is carried), by tendermint-rs header after
//! header, and the batch floor of the same signatures (keys as bytes, and keys of a
//! precomputed `KeyCache`); plus one header with a fresh set. Run:
//! `cargo bench -p corridor-light-client --bench cometbft`.

#![allow(missing_docs, unreachable_pub, dead_code)]

#[path = "../tests/common/comet.rs"]
mod comet;

use std::path::Path;
use std::time::Duration;

use comet::{light_block, light_block_json, members, BlockSpec};
use corridor_light_client::cometbft::vote::VoteTemplate;
use corridor_light_client::cometbft::{
    json, CometVerifier, CommitSig, LightBlock, Timestamp, TrustedState,
};
use corridor_light_client::signature::{self, BatchKey, KeyCache, PublicKey, Signature};
use corridor_light_client::verifier::{Verdict, Verifier};
use corridor_light_client::{Options, Time, TrustThreshold};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use serde_json::{json, Value};
use tendermint_light_client_verifier::options::Options as TmOptions;
use tendermint_light_client_verifier::types::{
    TrustThreshold as TmThreshold, TrustedBlockState, UntrustedBlockState,
};
use tendermint_light_client_verifier::{ProdVerifier, Verdict as TmVerdict, Verifier as _};

type TmSignedHeader = tendermint::block::signed_header::SignedHeader;
type TmSet = tendermint::validator::Set;

struct Case {
    name: String,
    trusted: TrustedState,
    untrusted: LightBlock,
    now: Time,
    options: Options,
    tm_trusted: (TmSignedHeader, TmSet),
    tm_untrusted: (TmSignedHeader, TmSet, TmSet),
    tm_now: tendermint::Time,
    tm_options: TmOptions,
}

fn zero_absent(mut v: Value) -> Value {
    if let Some(sigs) = v
        .pointer_mut("/commit/signatures")
        .and_then(Value::as_array_mut)
    {
        for s in sigs {
            if s["block_id_flag"] == json!(1) {
                s["timestamp"] = json!("0001-01-01T00:00:00Z");
            }
        }
    }
    v
}

fn case(
    name: &str,
    trusted: &Value,
    untrusted: &Value,
    now: &str,
    period: Duration,
    drift: Duration,
) -> Case {
    let sh = json::signed_header(&trusted["signed_header"]).unwrap();
    let next = json::validator_set(&trusted["next_validator_set"]).unwrap();
    let tm = |v: &Value| serde_json::from_value::<TmSignedHeader>(zero_absent(v.clone())).unwrap();
    let set = |v: &Value| serde_json::from_value::<TmSet>(v.clone()).unwrap();
    Case {
        name: name.into(),
        trusted: TrustedState {
            header: sh.header,
            next_validators: next,
            cache: Default::default(),
        },
        untrusted: json::light_block(untrusted).unwrap(),
        now: Timestamp::parse(now).unwrap().to_time().unwrap(),
        options: Options {
            trust_threshold: TrustThreshold::ONE_THIRD,
            trusting_period: period,
            clock_drift: drift,
        },
        tm_trusted: (
            tm(&trusted["signed_header"]),
            set(&trusted["next_validator_set"]),
        ),
        tm_untrusted: (
            tm(&untrusted["signed_header"]),
            set(&untrusted["validator_set"]),
            set(&untrusted["next_validator_set"]),
        ),
        tm_now: tendermint::Time::parse_from_rfc3339(now).unwrap(),
        tm_options: TmOptions {
            trust_threshold: TmThreshold::ONE_THIRD,
            trusting_period: period,
            clock_drift: drift,
        },
    }
}

fn ours(c: &Case) -> Verdict {
    CometVerifier.verify_update(&c.untrusted, &c.trusted, &c.options, c.now)
}

fn theirs(c: &Case) -> TmVerdict {
    let (tsh, tnext) = &c.tm_trusted;
    let (ush, uvals, unext) = &c.tm_untrusted;
    ProdVerifier::default().verify_update_header(
        UntrustedBlockState {
            signed_header: ush,
            validators: uvals,
            next_validators: Some(unext),
        },
        TrustedBlockState {
            chain_id: &tsh.header.chain_id,
            header_time: tsh.header.time,
            height: tsh.header.height,
            next_validators: tnext,
            next_validators_hash: tsh.header.next_validators_hash,
        },
        &c.tm_options,
        c.tm_now,
    )
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/vectors/cometbft/model_based/single_step/MC100_2_faulty_TestSuccess.json",
    );
    if let Ok(text) = std::fs::read_to_string(&file) {
        let v: Value = serde_json::from_str(&text).unwrap();
        let period = Duration::from_nanos(
            v["initial"]["trusting_period"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        );
        let trusted = json!({"signed_header": v["initial"]["signed_header"],
                             "next_validator_set": v["initial"]["next_validator_set"]});
        let input = &v["input"][0];
        out.push(case(
            "MC100_2 (86 validators, adjacent)",
            &trusted,
            &input["block"],
            input["now"].as_str().unwrap(),
            period,
            Duration::ZERO,
        ));
    } else {
        eprintln!("{} absent: the vector case is skipped", file.display());
    }
    let t = |s: u64| Time::from_unix_secs(1_700_000_000 + s).unwrap();
    for (n, skip) in [(100usize, false), (150, false), (100, true)] {
        let vals = members(42, n, |_| 100);
        let all = |_: usize| true;
        let gen = |h, time| {
            light_block_json(&light_block(&BlockSpec {
                chain_id: "bench-chain",
                height: h,
                time,
                validators: &vals,
                next_validators: &vals,
                signs: &all,
            }))
        };
        let trusted_block = gen(1000, t(0));
        let trusted = json!({"signed_header": trusted_block["signed_header"],
                             "next_validator_set": trusted_block["next_validator_set"]});
        let h = if skip { 1100 } else { 1001 };
        let untrusted = gen(h, t(600));
        let name = format!(
            "generated {n} validators, {}",
            if skip { "skipping" } else { "adjacent" }
        );
        out.push(case(
            &name,
            &trusted,
            &untrusted,
            &t(700).to_string(),
            Duration::from_secs(14 * 24 * 3600),
            Duration::from_secs(10),
        ));
    }
    out
}

fn bench(c: &mut Criterion) {
    let cases = cases();
    let mut group = c.benchmark_group("cometbft verify_update");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for case in &cases {
        // Same verdict first: a bench of different answers would mean nothing.
        assert_eq!(ours(case), Verdict::Success, "{}", case.name);
        assert!(matches!(theirs(case), TmVerdict::Success), "{}", case.name);
        group.bench_with_input(BenchmarkId::new("corridor", &case.name), case, |b, c| {
            b.iter(|| ours(c))
        });
        group.bench_with_input(
            BenchmarkId::new("tendermint-rs", &case.name),
            case,
            |b, c| b.iter(|| theirs(c)),
        );
    }
    group.finish();
}

/// A stream of adjacent blocks under one set, parsed by both sides, and the signatures each
/// header's walk checks (the batch floor).
struct Stream {
    name: String,
    blocks: Vec<LightBlock>,
    tm_blocks: Vec<(TmSignedHeader, TmSet, TmSet)>,
    /// Per header after the first: (key, sign bytes, signature) of the signatures checked.
    floor: Vec<Vec<(PublicKey, Vec<u8>, Signature)>>,
    now: Time,
    options: Options,
    tm_now: tendermint::Time,
    tm_options: TmOptions,
}

/// Headers verified per stream (after the trusted first block).
const STREAM_LEN: u64 = 100;

fn stream(n: usize, len: u64) -> Stream {
    let t = |s: u64| Time::from_unix_secs(1_700_000_000 + s).unwrap();
    let vals = members(86, n, |_| 100);
    let all = |_: usize| true;
    let blocks: Vec<LightBlock> = (0..=len)
        .map(|i| {
            light_block(&BlockSpec {
                chain_id: "bench-chain",
                height: 1000 + i,
                time: t(6 * i),
                validators: &vals,
                next_validators: &vals,
                signs: &all,
            })
        })
        .collect();
    let tm = |v: &Value| serde_json::from_value::<TmSignedHeader>(zero_absent(v.clone())).unwrap();
    let set = |v: &Value| serde_json::from_value::<TmSet>(v.clone()).unwrap();
    let tm_blocks = blocks
        .iter()
        .map(|b| {
            let j = light_block_json(b);
            (
                tm(&j["signed_header"]),
                set(&j["validator_set"]),
                set(&j["next_validator_set"]),
            )
        })
        .collect();
    // Equal powers: the walk checks the first signers in canonical order until more than
    // 2/3 of the power is counted.
    let needed = n * 2 / 3 + 1;
    let floor = blocks
        .iter()
        .skip(1)
        .map(|b| {
            let commit = &b.signed_header.commit;
            let template =
                VoteTemplate::precommit(&b.header().chain_id, commit, Some(&commit.block_id));
            b.validators
                .validators()
                .iter()
                .zip(&commit.signatures)
                .take(needed)
                .map(|(v, sig)| match sig {
                    CommitSig::Commit {
                        timestamp,
                        signature,
                        ..
                    } => (*v.pub_key(), template.sign_bytes(timestamp), *signature),
                    _ => unreachable!("every validator signs"),
                })
                .collect()
        })
        .collect();
    let now = t(6 * len + 10);
    Stream {
        name: format!("{n} validators, {len} headers"),
        blocks,
        tm_blocks,
        floor,
        now,
        options: Options {
            trust_threshold: TrustThreshold::ONE_THIRD,
            trusting_period: Duration::from_secs(14 * 24 * 3600),
            clock_drift: Duration::from_secs(10),
        },
        tm_now: tendermint::Time::parse_from_rfc3339(&now.to_string()).unwrap(),
        tm_options: TmOptions {
            trust_threshold: TmThreshold::ONE_THIRD,
            trusting_period: Duration::from_secs(14 * 24 * 3600),
            clock_drift: Duration::from_secs(10),
        },
    }
}

/// Corridor over the stream, as a client does: each trusted state is made by
/// `trusted_state_after`, carrying the prepared set; the first starts with nothing prepared.
fn ours_stream(s: &Stream) -> usize {
    let v = CometVerifier;
    let mut trusted = v.trusted_state(&s.blocks[0]);
    for b in &s.blocks[1..] {
        assert_eq!(
            v.verify_update(b, &trusted, &s.options, s.now),
            Verdict::Success
        );
        trusted = v.trusted_state_after(b, &trusted);
    }
    s.blocks.len()
}

/// Corridor with a fresh trusted state for every header (nothing carried over).
fn ours_fresh(s: &Stream) -> usize {
    let v = CometVerifier;
    for w in s.blocks.windows(2) {
        let trusted = v.trusted_state(&w[0]);
        assert_eq!(
            v.verify_update(&w[1], &trusted, &s.options, s.now),
            Verdict::Success
        );
    }
    s.blocks.len()
}

fn theirs_stream(s: &Stream) -> usize {
    for w in s.tm_blocks.windows(2) {
        let (tsh, _, tnext) = &w[0];
        let (ush, uvals, unext) = &w[1];
        let verdict = ProdVerifier::default().verify_update_header(
            UntrustedBlockState {
                signed_header: ush,
                validators: uvals,
                next_validators: Some(unext),
            },
            TrustedBlockState {
                chain_id: &tsh.header.chain_id,
                header_time: tsh.header.time,
                height: tsh.header.height,
                next_validators: tnext,
                next_validators_hash: tsh.header.next_validators_hash,
            },
            &s.tm_options,
            s.tm_now,
        );
        assert!(matches!(verdict, TmVerdict::Success));
    }
    s.tm_blocks.len()
}

/// The batch floor: each header's checked signatures in one `verify_all`, keys as bytes.
fn floor(s: &Stream) -> usize {
    for items in &s.floor {
        let items: Vec<(PublicKey, &[u8], Signature)> = items
            .iter()
            .map(|(k, m, sig)| (*k, m.as_slice(), *sig))
            .collect();
        assert_eq!(signature::verify_all(&items), None);
    }
    s.floor.len()
}

/// The batch floor with the set's keys decompressed and their tables precomputed
/// beforehand (what a prepared set gives from a stream's second header on).
fn floor_prepared(s: &Stream, keys: &KeyCache) -> usize {
    for items in &s.floor {
        let items: Vec<(BatchKey<'_>, &[u8], Signature)> = items
            .iter()
            .enumerate()
            .map(|(j, (k, m, sig))| (keys.batch_key(j, k).unwrap(), m.as_slice(), *sig))
            .collect();
        assert_eq!(signature::verify_batch(&items), None);
    }
    s.floor.len()
}

fn bench_stream(c: &mut Criterion) {
    let mut group = c.benchmark_group("cometbft stream");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    let cases: Vec<Stream> = [
        (86, STREAM_LEN),
        (100, STREAM_LEN),
        (150, STREAM_LEN),
        (86, 1),
    ]
    .into_iter()
    .map(|(n, len)| stream(n, len))
    .collect();
    for s in &cases {
        // Floor items are the first signers in canonical order: item j is validator j.
        let keys = KeyCache::new(
            s.blocks[0]
                .validators
                .validators()
                .iter()
                .map(|v| *v.pub_key())
                .collect(),
        );
        keys.precompute();
        let fresh_only = s.blocks.len() == 2;
        let name = if fresh_only {
            format!("{}, fresh set", s.name)
        } else {
            s.name.clone()
        };
        group.bench_with_input(BenchmarkId::new("corridor", &name), s, |b, s| {
            b.iter(|| ours_stream(s))
        });
        if !fresh_only {
            group.bench_with_input(BenchmarkId::new("corridor-uncached", &name), s, |b, s| {
                b.iter(|| ours_fresh(s))
            });
        }
        group.bench_with_input(BenchmarkId::new("tendermint-rs", &name), s, |b, s| {
            b.iter(|| theirs_stream(s))
        });
        group.bench_with_input(BenchmarkId::new("floor", &name), s, |b, s| {
            b.iter(|| floor(s))
        });
        group.bench_with_input(BenchmarkId::new("floor-prepared", &name), s, |b, s| {
            b.iter(|| floor_prepared(s, &keys))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_stream);
criterion_main!(benches);
