//! Verification of the same CometBFT light blocks by this crate's `CometVerifier` and by
//! tendermint-rs's `ProdVerifier` (`tendermint-light-client-verifier` 0.41).
//!
//! Blocks: the 86-validator adjacent step of `MC100_2_faulty_TestSuccess.json` (when
//! `../shared/vectors` is there), and generated, correctly signed blocks of 100 and 150
//! equal-power validators (adjacent) and of 100 validators skipping from a trusted block
//! with the same set. Both verifiers read the same JSON beforehand; only verification is
//! timed. Run: `cargo bench -p corridor-light-client --bench cometbft`.

#![allow(missing_docs, unreachable_pub, dead_code)]

#[path = "../tests/common/comet.rs"]
mod comet;

use std::path::Path;
use std::time::Duration;

use comet::{light_block, light_block_json, members, BlockSpec};
use corridor_light_client::cometbft::{json, CometVerifier, LightBlock, Timestamp, TrustedState};
use corridor_light_client::verifier::{Verdict, Verifier};
use corridor_light_client::{Options, Time, TrustThreshold};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
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

criterion_group!(benches, bench);
criterion_main!(benches);
