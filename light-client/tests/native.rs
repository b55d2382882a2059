//! Behaviour of the native light client beyond single verifications: bisection, the
//! freezing client, misbehaviour evidence, and properties of the encoding.

mod common;

use core::time::Duration;

use corridor_light_client::bisection::{Bisection, Outcome};
use corridor_light_client::client::{ClientError, Evidence, NativeClient, UpdateOutcome};
use corridor_light_client::native::{LightBlock, NativeVerifier, TrustedState};
use corridor_light_client::testgen::{self, ChainSpec};
use corridor_light_client::{Hash32, Height, Options, Time, Verdict, VerificationError, Verifier};
use proptest::prelude::*;

fn rotating(validators: u32, every: u64, count: u32) -> ChainSpec {
    let mut spec = ChainSpec::simple("native-test", validators);
    spec.rotate_every = every;
    spec.rotate_count = count;
    spec
}

fn now_after(spec: &ChainSpec, blocks: u64) -> Time {
    spec.time_at(Height(blocks + 1))
}

#[test]
fn adjacent_chain_verifies_across_rotations() {
    let spec = rotating(5, 3, 2);
    let blocks = testgen::chain(&spec, 30);
    let now = now_after(&spec, 30);
    let mut trusted = TrustedState::from_block(&blocks[0]);
    for b in &blocks[1..] {
        assert_eq!(
            NativeVerifier.verify_update(b, &trusted, &Options::default(), now),
            Verdict::Success
        );
        trusted = TrustedState::from_block(b);
    }
}

#[test]
fn bisection_crosses_full_rotations() {
    // Every 2 blocks the whole set is replaced: skipping never has enough trust, so the
    // planner must walk down to adjacent steps and back up.
    let spec = rotating(4, 2, 4);
    let blocks = testgen::chain(&spec, 64);
    let now = now_after(&spec, 64);
    let fetch = |h: Height| blocks[(h.0 - 1) as usize].clone();
    let mut bisection = Bisection::new(
        NativeVerifier,
        TrustedState::from_block(&blocks[0]),
        Height(64),
        Options::default(),
    );
    let mut asked = Vec::new();
    while let Some(h) = bisection.next_height() {
        asked.push(h.0);
        bisection.handle_light_block(&fetch(h), now).unwrap();
        assert!(asked.len() < 500, "bisection does not end");
    }
    match bisection.outcome() {
        Outcome::Done(state) => assert_eq!(state.header, blocks[63].signed_header.header),
        other => panic!("bisection ended with {other:?}"),
    }
    // Every trusted step is verified, and the path ends at the target.
    assert_eq!(bisection.path().last().unwrap().header.height, Height(64));
    assert!(
        asked.contains(&32),
        "first pivot is the midpoint: {asked:?}"
    );
}

#[test]
fn bisection_skips_when_trust_allows() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 100);
    let now = now_after(&spec, 100);
    let mut bisection = Bisection::new(
        NativeVerifier,
        TrustedState::from_block(&blocks[0]),
        Height(100),
        Options::default(),
    );
    let h = bisection.next_height().unwrap();
    assert_eq!(h, Height(100));
    bisection.handle_light_block(&blocks[99], now).unwrap();
    assert!(matches!(bisection.outcome(), Outcome::Done(_)));
    assert_eq!(bisection.steps(), 1);
    assert_eq!(bisection.next_height(), None);
}

#[test]
fn bisection_stops_on_invalid_and_rejects_wrong_heights() {
    let spec = rotating(4, 2, 4);
    let blocks = testgen::chain(&spec, 16);
    let now = now_after(&spec, 16);
    let mut bisection = Bisection::new(
        NativeVerifier,
        TrustedState::from_block(&blocks[0]),
        Height(16),
        Options::default(),
    );
    assert!(
        bisection.handle_light_block(&blocks[3], now).is_err(),
        "asked for 16, given 4"
    );
    let bad = testgen::with_bad_signature(blocks[15].clone(), 0);
    bisection.handle_light_block(&bad, now).unwrap();
    assert!(matches!(
        bisection.outcome(),
        Outcome::Failed(VerificationError::InvalidSignature {
            height: Height(16),
            ..
        })
    ));
    assert_eq!(bisection.next_height(), None);
}

#[test]
fn client_freezes_on_a_signed_fork_and_keeps_evidence() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 6);
    let now = now_after(&spec, 6);
    let mut client = NativeClient::new(blocks[0].clone(), Options::default());
    for b in &blocks[1..5] {
        assert_eq!(
            client.update(b.clone(), now).unwrap(),
            UpdateOutcome::Trusted(b.height())
        );
    }
    assert_eq!(
        client.update(blocks[2].clone(), now).unwrap(),
        UpdateOutcome::AlreadyTrusted(Height(3))
    );

    // The same validators sign a different block 4: equivocation.
    let keys = spec.keys_at(Height(4));
    let forked = testgen::fork(&blocks[3], &keys[..3], Hash32([7; 32]));
    let outcome = client.update(forked.clone(), now).unwrap();
    let UpdateOutcome::Misbehaviour(evidence) = outcome else {
        panic!("expected misbehaviour, got {outcome:?}")
    };
    assert_eq!(evidence.conflicting, forked);
    let mut expected: Vec<_> = keys[..3].iter().map(|k| k.public_key()).collect();
    expected.sort();
    assert_eq!(evidence.double_signers, expected);
    assert!(client.is_frozen());
    assert!(matches!(
        client.update(blocks[5].clone(), now),
        Err(ClientError::Frozen {
            height: Height(4),
            ..
        })
    ));
}

#[test]
fn an_unsigned_conflict_is_an_error_not_misbehaviour() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 3);
    let now = now_after(&spec, 3);
    let mut client = NativeClient::new(blocks[0].clone(), Options::default());
    client.update(blocks[1].clone(), now).unwrap();
    // Fork signed by only one validator: not enough power, so no one is framed.
    let weak = testgen::fork(&blocks[1], &spec.keys_at(Height(2))[..1], Hash32([9; 32]));
    assert!(matches!(
        client.update(weak, now),
        Err(ClientError::Invalid(
            VerificationError::InsufficientCommitPower { .. }
        ))
    ));
    assert!(!client.is_frozen());
    // A conflict with the trust root itself is checked on its own signatures.
    let root_fork = testgen::fork(&blocks[0], &spec.keys_at(Height(1)), Hash32([1; 32]));
    assert!(matches!(
        client.update(root_fork, now),
        Ok(UpdateOutcome::Misbehaviour(_))
    ));
}

#[test]
fn evidence_needs_two_distinct_valid_blocks() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 2);
    assert_eq!(
        Evidence::from_conflict(&blocks[1], &blocks[1]).unwrap(),
        None
    );
    assert_eq!(
        Evidence::from_conflict(&blocks[0], &blocks[1]).unwrap(),
        None
    );
    let bad = testgen::with_bad_signature(
        testgen::fork(&blocks[1], &spec.keys_at(Height(2)), Hash32([3; 32])),
        0,
    );
    assert!(Evidence::from_conflict(&blocks[1], &bad).is_err());
}

#[test]
fn client_rejects_below_root_and_bisects_on_not_enough_trust() {
    let spec = rotating(4, 2, 4);
    let blocks = testgen::chain(&spec, 8);
    let now = now_after(&spec, 8);
    let mut client = NativeClient::new(blocks[2].clone(), Options::default());
    assert!(matches!(
        client.update(blocks[0].clone(), now),
        Err(ClientError::BelowRoot { .. })
    ));
    assert_eq!(
        client.update(blocks[7].clone(), now).unwrap(),
        UpdateOutcome::NotEnoughTrust(Height(8))
    );
    for b in &blocks[3..8] {
        client.update(b.clone(), now).unwrap();
    }
    assert_eq!(client.latest_height(), Height(8));
}

#[test]
fn trust_expires_with_time() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 2);
    let options = Options {
        trusting_period: Duration::from_secs(60),
        ..Options::default()
    };
    let trusted = TrustedState::from_block(&blocks[0]);
    let early = spec
        .time_at(Height(1))
        .checked_add(Duration::from_secs(59))
        .unwrap();
    let late = spec
        .time_at(Height(1))
        .checked_add(Duration::from_secs(60))
        .unwrap();
    assert_eq!(
        NativeVerifier.verify_update(&blocks[1], &trusted, &options, early),
        Verdict::Success
    );
    assert!(matches!(
        NativeVerifier.verify_update(&blocks[1], &trusted, &options, late),
        Verdict::Invalid(VerificationError::NotWithinTrustPeriod { .. })
    ));
}

#[test]
fn trust_threshold_is_respected_in_skipping() {
    // Sets of 3 rotate one member every 2 blocks: a skip of 4 blocks keeps 1 of 3 members.
    let spec = rotating(3, 2, 1);
    let blocks = testgen::chain(&spec, 6);
    let now = now_after(&spec, 6);
    let trusted = TrustedState::from_block(&blocks[0]); // next set: keys 0,1,2
                                                        // Block 5 is signed by keys 2,3,4: key 2 holds 12 of 33 trusted power.
    let third = Options::default();
    assert!(matches!(
        NativeVerifier.verify_update(&blocks[4], &trusted, &third, now),
        Verdict::Success
    ));
    let half = Options {
        trust_threshold: corridor_light_client::TrustThreshold::new(1, 2).unwrap(),
        ..third
    };
    assert!(
        matches!(NativeVerifier.verify_update(&blocks[4], &trusted, &half, now), Verdict::NotEnoughTrust(t) if t.tallied == 12 && t.total == 33)
    );
}

fn small_chain() -> Vec<LightBlock> {
    testgen::chain(&rotating(4, 2, 1), 3)
}

proptest! {
    #![proptest_config(common::proptest_config(64))]

    #[test]
    fn light_block_codec_round_trips(validators in 1u32..12, height in 1u64..50) {
        let spec = rotating(validators, 3, 1);
        let b = testgen::block(&spec, Height(height), Hash32([1; 32]), Default::default());
        let bytes = b.encode().unwrap();
        prop_assert_eq!(LightBlock::decode(&bytes).unwrap(), b);
    }

    #[test]
    fn any_single_bit_flip_in_a_light_block_is_not_trusted(bit in 0usize..100_000) {
        let blocks = small_chain();
        let now = Time::from_unix_nanos(u64::MAX / 2);
        let options = Options { trusting_period: Duration::from_secs(300 * 365 * 86_400), ..Options::default() };
        let trusted = TrustedState::from_block(&blocks[0]);
        let mut bytes = blocks[1].encode().unwrap();
        let bit = bit % (bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        // Either it no longer decodes, or it decodes to a block that does not verify
        // (a flipped bit in a signature, a hash, a key, a height, a time, a power...).
        if let Ok(mutated) = LightBlock::decode(&bytes) {
            let v = NativeVerifier.verify_update(&mutated, &trusted, &options, now);
            prop_assert!(v != Verdict::Success, "bit {bit} flipped and still verified");
        }
    }
}
