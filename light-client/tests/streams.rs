//! Stream verification (each trusted state carrying the prepared next validator set, as
//! `Verifier::trusted_state_after` makes it and the client keeps it) gives the verdict of
//! fresh verification (a trusted state with nothing prepared) on every step: on the shared
//! vectors, on generated streams with a forged signature, a changed set, a set that
//! rotates back, changed powers, a lying validator set, and on random streams.

mod common;

use std::time::Duration;

use common::comet::{light_block, members, BlockSpec, Member};
use common::{json_files, name, proptest_config, read_json, vectors_dir};
use corridor_light_client::client::{ClientError, LightClient, UpdateOutcome};
use corridor_light_client::cometbft::{self, vectors, CometVerifier, CommitSig};
use corridor_light_client::family::Family;
use corridor_light_client::native::NativeVerifier;
use corridor_light_client::testgen::{self, ChainSpec};
use corridor_light_client::{Height, Options, Time, TrustThreshold, Verdict, Verifier};
use proptest::prelude::*;

/// Verdicts of `blocks[1..]`, verified in order from `blocks[0]`; after a success the block
/// becomes the trusted one. `streamed`: states carry the prepared set, from the first on.
fn verdicts<F: Family>(
    family: F,
    blocks: &[F::LightBlock],
    options: &Options,
    now: Time,
    streamed: bool,
) -> Vec<Verdict> {
    let mut trusted = family.trusted_state(&blocks[0]);
    if streamed {
        trusted = family.trusted_state_after(&blocks[0], &trusted);
    }
    blocks[1..]
        .iter()
        .map(|b| {
            let verdict = family.verify_update(b, &trusted, options, now);
            if verdict == Verdict::Success {
                trusted = if streamed {
                    family.trusted_state_after(b, &trusted)
                } else {
                    family.trusted_state(b)
                };
            }
            verdict
        })
        .collect()
}

/// The same stream through a [`LightClient`], as verdicts.
fn client_verdicts<F: Family>(
    blocks: &[F::LightBlock],
    options: &Options,
    now: Time,
) -> (Vec<Verdict>, LightClient<F>) {
    let mut client = LightClient::<F>::trusting(blocks[0].clone(), *options).unwrap();
    let out = blocks[1..]
        .iter()
        .map(|b| match client.update(b.clone(), now) {
            Ok(UpdateOutcome::Trusted(_)) => Verdict::Success,
            Ok(UpdateOutcome::NotEnoughTrust(_, tally)) => Verdict::NotEnoughTrust(tally),
            Err(ClientError::Invalid(e)) => Verdict::Invalid(e),
            other => panic!("unexpected client outcome {other:?}"),
        })
        .collect();
    (out, client)
}

/// Checks that streamed, fresh and client verification agree on every step, and returns
/// the verdicts.
fn same_verdicts<F: Family>(
    family: F,
    blocks: &[F::LightBlock],
    options: &Options,
    now: Time,
) -> Vec<Verdict> {
    let fresh = verdicts(family, blocks, options, now, false);
    let streamed = verdicts(family, blocks, options, now, true);
    assert_eq!(streamed, fresh);
    let (client, _) = client_verdicts::<F>(blocks, options, now);
    assert_eq!(client, fresh);
    fresh
}

fn classes(verdicts: &[Verdict]) -> String {
    verdicts
        .iter()
        .map(Verdict::class)
        .collect::<Vec<_>>()
        .join(">")
}

#[test]
fn streamed_vectors_give_the_verdicts_of_fresh_verification() {
    let Some(dir) = vectors_dir("model_based") else {
        return;
    };
    for path in json_files(&dir.join("cometbft/model_based/single_step")) {
        let case = vectors::parse_single_step(&read_json(&path)).unwrap();
        assert_eq!(
            vectors::single_step_verdicts_streamed(&case),
            vectors::single_step_verdicts(&case),
            "{}",
            name(&path)
        );
    }
}

// ---- CometBFT streams ----

fn t(s: u64) -> Time {
    Time::from_unix_secs(1_700_000_000 + s).unwrap()
}

fn comet_options() -> Options {
    Options {
        trust_threshold: TrustThreshold::ONE_THIRD,
        trusting_period: Duration::from_secs(3600),
        clock_drift: Duration::from_secs(10),
    }
}

/// One header of a generated stream: which sets sign it and the next one, who signs.
#[derive(Clone, Debug)]
struct Step {
    set: usize,
    next: usize,
    /// Bit `i` clear: the validator at canonical index `i` does not sign.
    signers: u8,
    /// Flip a bit of the signature at this canonical index (if it signed).
    forge: Option<usize>,
    /// Put this set in the light block's validators, keeping the header.
    swap_validators: Option<usize>,
    /// Leave this block out of the stream (the next one is then a skipping step).
    skip: bool,
}

impl Step {
    fn plain(set: usize, next: usize) -> Self {
        Self {
            set,
            next,
            signers: u8::MAX,
            forge: None,
            swap_validators: None,
            skip: false,
        }
    }
}

/// The sets streams are made of: two of the same keys with other powers, one of other
/// keys, and one sharing three keys with the first.
fn sets() -> Vec<Vec<Member>> {
    let a = members(1, 7, |_| 10);
    let a_powers = members(1, 7, |i| 10 + i as u64);
    let b = members(2, 7, |_| 10);
    let mut mixed = a[..3].to_vec();
    mixed.extend(members(3, 4, |_| 12));
    vec![a, a_powers, b, mixed]
}

fn comet_stream(steps: &[Step]) -> Vec<cometbft::LightBlock> {
    let sets = sets();
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let signs = |j: usize| step.signers & (1 << (j % 8)) != 0;
        let mut block = light_block(&BlockSpec {
            chain_id: "stream-chain",
            height: 100 + i as u64,
            time: t(10 * i as u64),
            validators: &sets[step.set],
            next_validators: &sets[step.next],
            signs: &signs,
        });
        if let Some(j) = step.forge {
            if let Some(CommitSig::Commit { signature, .. }) =
                block.signed_header.commit.signatures.get_mut(j)
            {
                signature.0[3] ^= 0x10;
            }
        }
        if let Some(s) = step.swap_validators {
            block.validators = common::comet::set_of(&sets[s]);
        }
        if !step.skip || i == 0 {
            out.push(block);
        }
    }
    out
}

fn comet_verdicts(steps: &[Step]) -> Vec<Verdict> {
    let blocks = comet_stream(steps);
    same_verdicts(CometVerifier, &blocks, &comet_options(), t(300))
}

#[test]
fn a_steady_comet_stream_uses_and_keeps_its_prepared_set() {
    let steps: Vec<Step> = (0..10).map(|_| Step::plain(0, 0)).collect();
    let blocks = comet_stream(&steps);
    let got = same_verdicts(CometVerifier, &blocks, &comet_options(), t(300));
    assert!(got.iter().all(|v| *v == Verdict::Success));
    let (_, client) = client_verdicts::<CometVerifier>(&blocks, &comet_options(), t(300));
    let state = client.latest_state().unwrap();
    assert_eq!(state.header.height, Height(109));
    let prepared = state.cache.prepared().unwrap();
    assert_eq!(prepared.hash(), state.header.next_validators_hash);
    assert_eq!(prepared.set(), &state.next_validators);
    // The set signed more than one header: all keys decompressed, tables built.
    assert_eq!(prepared.keys().decompressed(), 7);
    assert!(prepared.keys().is_precomputed());
}

#[test]
fn verification_takes_keys_and_hash_from_the_prepared_set() {
    let steps: Vec<Step> = (0..3).map(|_| Step::plain(0, 0)).collect();
    let blocks = comet_stream(&steps);
    let v = CometVerifier;
    let state = v.trusted_state_after(&blocks[0], &v.trusted_state(&blocks[0]));
    let prepared = state.cache.prepared().unwrap();
    assert_eq!(prepared.keys().decompressed(), 0);
    assert_eq!(prepared.hash_of(&blocks[1].validators), prepared.hash());
    let (options, now) = (comet_options(), t(300));
    assert_eq!(
        v.verify_update(&blocks[1], &state, &options, now),
        Verdict::Success
    );
    // The walk checked the first 5 of 7 (more than 2/3) with the prepared keys.
    assert_eq!(prepared.keys().decompressed(), 5);
    assert!(!prepared.keys().is_precomputed());
    // A state whose cache is of another set than its header names: not used.
    let other = comet_stream(&[Step::plain(2, 2)]);
    let mut lying = v.trusted_state(&blocks[0]);
    lying.cache = v
        .trusted_state_after(&other[0], &v.trusted_state(&other[0]))
        .cache;
    assert_eq!(lying, state);
    assert!(lying
        .cache
        .for_header(lying.header.next_validators_hash)
        .is_none());
    assert_eq!(
        v.verify_update(&blocks[1], &lying, &options, now),
        Verdict::Success
    );
    assert_eq!(lying.cache.prepared().unwrap().keys().decompressed(), 0);
    // The next state carries the same prepared set, now with tables.
    let next = v.trusted_state_after(&blocks[1], &state);
    let carried = next.cache.prepared().unwrap();
    assert!(std::ptr::eq(carried, prepared));
    assert!(carried.keys().is_precomputed());
    assert_eq!(
        format!("{:?}", next.cache),
        format!("SetCache({})", prepared.hash())
    );
    assert_eq!(
        format!("{:?}", v.trusted_state(&blocks[1]).cache),
        "SetCache(empty)"
    );
    // A clone of a state keeps its cache.
    assert!(std::ptr::eq(
        next.clone().cache.prepared().unwrap(),
        prepared
    ));
    // A block naming another next set: the carried cache is of that set, and keeps the
    // keys (three) both sets share.
    let change = comet_stream(&[Step::plain(0, 3)]);
    let changed = v.trusted_state_after(&change[0], &next);
    let renewed = changed.cache.prepared().unwrap();
    assert_eq!(renewed.set(), &change[0].next_validators);
    assert_eq!(renewed.hash(), change[0].header().next_validators_hash);
    assert_eq!(renewed.keys().decompressed(), 3);
    assert!(!renewed.keys().is_precomputed());
}

#[test]
fn a_forged_signature_mid_stream_is_refused_from_the_prepared_set() {
    let mut steps: Vec<Step> = (0..8).map(|_| Step::plain(0, 0)).collect();
    steps[4].forge = Some(0);
    let got = comet_verdicts(&steps);
    assert_eq!(
        classes(&got),
        "SUCCESS>SUCCESS>SUCCESS>INVALID>SUCCESS>SUCCESS>SUCCESS"
    );
    // A forged signature past the 2/3 the walk needs is not looked at, by either.
    steps[4].forge = Some(6);
    assert!(comet_verdicts(&steps)
        .iter()
        .all(|v| *v == Verdict::Success));
}

#[test]
fn a_set_that_changes_and_rotates_back_gives_the_same_verdicts() {
    // A, then B from height 104, then A again from 108, then A with other powers, then a
    // set sharing three keys with A.
    let plan = [0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 1, 1, 3, 3, 0];
    let steps: Vec<Step> = plan
        .iter()
        .zip(plan.iter().skip(1).chain([&0]))
        .map(|(&set, &next)| Step::plain(set, next))
        .collect();
    let got = comet_verdicts(&steps);
    assert!(
        got.iter().all(|v| *v == Verdict::Success),
        "{}",
        classes(&got)
    );
}

#[test]
fn a_lying_set_mid_stream_is_refused_from_the_prepared_set() {
    // Height 102 says B signs next, the blocks after claim A still does: adjacent, that
    // is invalid; skipping from 102, too little of B signed.
    let mut steps: Vec<Step> = (0..6).map(|_| Step::plain(0, 0)).collect();
    steps[2].next = 2;
    let got = comet_verdicts(&steps);
    assert_eq!(
        classes(&got),
        "SUCCESS>SUCCESS>INVALID>NOT_ENOUGH_TRUST>NOT_ENOUGH_TRUST"
    );
    // The validators of a block replaced by another set, the header kept.
    let mut steps: Vec<Step> = (0..6).map(|_| Step::plain(0, 0)).collect();
    steps[3].swap_validators = Some(1);
    let got = comet_verdicts(&steps);
    assert_eq!(classes(&got), "SUCCESS>SUCCESS>INVALID>SUCCESS>SUCCESS");
}

#[test]
fn skipping_steps_from_a_prepared_set_give_the_same_verdicts() {
    let mut steps: Vec<Step> = (0..10).map(|_| Step::plain(0, 0)).collect();
    steps[3].skip = true;
    steps[4].skip = true;
    // Too few signers for 2/3, enough of the trusted set: invalid.
    steps[6].signers = 0b0000_0111;
    steps[6].skip = true;
    steps[7].signers = 0b0011_1111;
    let got = comet_verdicts(&steps);
    assert_eq!(
        classes(&got),
        "SUCCESS>SUCCESS>SUCCESS>SUCCESS>SUCCESS>SUCCESS"
    );
}

fn step_strategy() -> impl Strategy<Value = Step> {
    (
        0usize..4,
        0usize..4,
        prop_oneof![3 => Just(u8::MAX), 1 => any::<u8>()],
        proptest::option::weighted(0.15, 0usize..7),
        proptest::option::weighted(0.1, 0usize..4),
        proptest::bool::weighted(0.15),
    )
        .prop_map(|(set, next, signers, forge, swap, skip)| Step {
            set,
            next,
            signers,
            forge,
            swap_validators: swap,
            skip,
        })
}

/// Makes most steps adjacent and honest about their set: the set of step `i` is the next
/// set step `i - 1` named, unless the strategy drew a lie (one step in five).
fn chain_up(mut steps: Vec<Step>, lies: Vec<bool>) -> Vec<Step> {
    // The first block is the client's root: a valid one.
    steps[0] = Step::plain(steps[0].set, steps[0].next);
    for i in 1..steps.len() {
        if !lies[i] {
            steps[i].set = steps[i - 1].next;
        }
    }
    steps
}

proptest! {
    #![proptest_config(proptest_config(24))]

    /// The prepared set never lets a header through that fresh verification refuses (nor
    /// the other way round), and the client agrees with both.
    #[test]
    fn the_cache_never_lets_through_what_fresh_verification_refuses(
        steps in proptest::collection::vec(step_strategy(), 6..12),
        lies in proptest::collection::vec(proptest::bool::weighted(0.2), 12),
    ) {
        let steps = chain_up(steps, lies);
        let blocks = comet_stream(&steps);
        let (options, now) = (comet_options(), t(300));
        let fresh = verdicts(CometVerifier, &blocks, &options, now, false);
        let streamed = verdicts(CometVerifier, &blocks, &options, now, true);
        for (s, f) in streamed.iter().zip(&fresh) {
            prop_assert!(*s != Verdict::Success || *f == Verdict::Success);
        }
        prop_assert_eq!(&streamed, &fresh);
        let (client, _) = client_verdicts::<CometVerifier>(&blocks, &options, now);
        prop_assert_eq!(client, fresh);
    }
}

// ---- Native streams ----

fn native_spec(every: u64, count: u32) -> ChainSpec {
    let mut spec = ChainSpec::simple("native-stream", 5);
    spec.rotate_every = every;
    spec.rotate_count = count;
    spec
}

#[test]
fn native_verification_takes_its_keys_from_the_prepared_set() {
    let spec = native_spec(0, 0);
    let blocks = testgen::chain(&spec, 3);
    let v = NativeVerifier;
    let state = v.trusted_state_after(&blocks[0], &v.trusted_state(&blocks[0]));
    let prepared = state.cache.prepared().unwrap();
    assert_eq!(prepared.keys().decompressed(), 0);
    let now = spec.time_at(Height(4));
    assert_eq!(
        v.verify_update(&blocks[1], &state, &Options::default(), now),
        Verdict::Success
    );
    // All five signatures were checked with the prepared set's keys, each found at its
    // place in the set.
    assert_eq!(prepared.keys().decompressed(), 5);
    assert!(!prepared.keys().is_precomputed());
}

#[test]
fn native_streams_give_the_verdicts_of_fresh_verification() {
    let options = Options::default();
    for (every, count) in [(0, 0), (3, 2), (4, 5)] {
        let spec = native_spec(every, count);
        let blocks = testgen::chain(&spec, 16);
        let now = spec.time_at(Height(17));
        let got = same_verdicts(NativeVerifier, &blocks, &options, now);
        assert!(
            got.iter().all(|v| *v == Verdict::Success),
            "{}",
            classes(&got)
        );
        // A forged signature mid-stream, and a block of another chain's sets.
        let mut forged = blocks.clone();
        forged[6] = testgen::with_bad_signature(forged[6].clone(), 1);
        let got = same_verdicts(NativeVerifier, &forged, &options, now);
        assert_eq!(got[5].class(), "INVALID");
        let other = testgen::chain(&native_spec(2, 3), 16);
        let mut spliced = blocks.clone();
        spliced[9] = other[9].clone();
        spliced[10].validators = other[10].validators.clone();
        same_verdicts(NativeVerifier, &spliced, &options, now);
    }
    let spec = native_spec(0, 0);
    let blocks = testgen::chain(&spec, 6);
    let (_, client) = client_verdicts::<NativeVerifier>(&blocks, &options, spec.time_at(Height(7)));
    let prepared = client.latest_state().unwrap().cache.prepared().unwrap();
    assert_eq!(prepared.keys().decompressed(), 5);
    assert!(prepared.keys().is_precomputed());
}
