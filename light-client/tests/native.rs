//! Behaviour of the native light client beyond single verifications: bisection, the
//! freezing client, misbehaviour evidence, and properties of the encoding.

mod common;

use core::time::Duration;

use corridor_light_client::bisection::{Bisection, Outcome};
use corridor_light_client::client::{
    ClientError, ConflictProof, LightClient, TrustRoot, UpdateOutcome, MAX_TRUSTED_BLOCKS,
};
use corridor_light_client::family::FamilyKind;
use corridor_light_client::native::{
    LightBlock, NativeVerifier, TrustedState, Validator, ValidatorSet,
};
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
    // Skipping from block 1, the forged block's signers hold none of the trusted set: that
    // is "not enough trust", decided before any signature, and the planner bisects.
    bisection.handle_light_block(&bad, now).unwrap();
    assert_eq!(bisection.next_height(), Some(Height(8)));
    // From block 15, the same forged block is adjacent: its signature is checked.
    let mut bisection = Bisection::new(
        NativeVerifier,
        TrustedState::from_block(&blocks[14]),
        Height(16),
        Options::default(),
    );
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

fn client_from(root: &LightBlock) -> LightClient<NativeVerifier> {
    let trust_root = TrustRoot {
        chain_id: root.header().chain_id.clone(),
        height: root.height(),
        header_hash: root.header().hash(),
        pin: None,
    };
    LightClient::with_root_block(trust_root, Options::default(), root.clone()).unwrap()
}

#[test]
fn client_takes_only_the_root_block_named_in_its_trust_root() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 3);
    let now = now_after(&spec, 3);
    let root = TrustRoot {
        chain_id: blocks[0].header().chain_id.clone(),
        height: Height(1),
        header_hash: blocks[0].header().hash(),
        pin: None,
    };
    let mut client = LightClient::<NativeVerifier>::new(root, Options::default());
    assert_eq!(client.latest(), None);
    // Block 2 is valid, but it is not the root: nothing is trusted yet to vouch for it.
    assert!(matches!(
        client.update(blocks[1].clone(), now),
        Err(ClientError::NotTheRoot {
            height: Height(2),
            ..
        })
    ));
    // A block at the root height with another hash is not the root either.
    let other = testgen::fork(&blocks[0], &spec.keys_at(Height(1)), Hash32([5; 32]));
    assert!(matches!(
        client.update(other, now),
        Err(ClientError::NotTheRoot {
            height: Height(1),
            ..
        })
    ));
    // The root block with a forged signature is refused even though its hash matches.
    let forged = testgen::with_bad_signature(blocks[0].clone(), 0);
    assert_eq!(forged.header().hash(), blocks[0].header().hash());
    assert!(matches!(
        client.update(forged, now),
        Err(ClientError::Invalid(
            VerificationError::InvalidSignature { .. }
        ))
    ));
    assert_eq!(client.revision(), 0);
    assert_eq!(
        client.update(blocks[0].clone(), now).unwrap(),
        UpdateOutcome::Trusted(Height(1))
    );
    assert_eq!(
        client.update(blocks[1].clone(), now).unwrap(),
        UpdateOutcome::Trusted(Height(2))
    );
    assert_eq!(client.revision(), 2);
    assert_eq!(client.latest_height(), Height(2));
}

#[test]
fn client_freezes_on_a_signed_fork_and_keeps_evidence() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 6);
    let now = now_after(&spec, 6);
    let mut client = client_from(&blocks[0]);
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
    assert_eq!(evidence.trusted, blocks[3]);
    assert_eq!(evidence.proven_by, ConflictProof::DoubleSigning);
    let mut expected: Vec<_> = keys[..3].iter().map(|k| k.public_key()).collect();
    expected.sort();
    assert_eq!(evidence.double_signers, expected);
    // Keys 0, 1, 2 (powers 10, 11, 12) of the set of four (10 to 13).
    assert_eq!(
        (evidence.double_signed.tallied, evidence.double_signed.total),
        (33, 46)
    );
    assert!(client.is_frozen());
    assert_eq!(client.evidence(), Some(&*evidence));
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
    let mut client = client_from(&blocks[0]);
    client.update(blocks[1].clone(), now).unwrap();
    // Fork signed by only one validator: not enough power, so no one is framed. The
    // claimed overlap (key 0, power 10 of 46) is refused before any signature is checked:
    // the same fork with its one signature broken gets the same answer.
    let weak = testgen::fork(&blocks[1], &spec.keys_at(Height(2))[..1], Hash32([9; 32]));
    let unproven = |r| {
        matches!(r,
            Err(ClientError::UnprovenConflict { height: Height(2), double_signed, .. })
                if (double_signed.tallied, double_signed.total) == (10, 46))
    };
    assert!(unproven(client.update(weak.clone(), now)));
    assert!(unproven(
        client.update(testgen::with_bad_signature(weak, 0), now)
    ));
    // A conflicting block with a forged signature proves nothing either.
    let forged = testgen::with_bad_signature(
        testgen::fork(&blocks[1], &spec.keys_at(Height(2)), Hash32([3; 32])),
        0,
    );
    assert!(matches!(
        client.update(forged, now),
        Err(ClientError::Invalid(
            VerificationError::InvalidSignature { .. }
        ))
    ));
    assert!(!client.is_frozen());
    // A conflict with the trust root itself, signed by the root's own validators, is
    // double signing: it freezes.
    let root_fork = testgen::fork(&blocks[0], &spec.keys_at(Height(1)), Hash32([1; 32]));
    assert!(matches!(
        client.update(root_fork, now),
        Ok(UpdateOutcome::Misbehaviour(e)) if e.proven_by == ConflictProof::DoubleSigning
    ));
}

/// A stranger's block, self-consistent and signed by its own one-key validator set, at a
/// trusted height (the root's or another) must not freeze the client: it proves nothing
/// about the chain's validators.
#[test]
fn a_strangers_self_signed_block_does_not_freeze_the_client() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 3);
    let now = now_after(&spec, 3);
    let mut client = client_from(&blocks[0]);
    client.update(blocks[1].clone(), now).unwrap();
    let stranger = ChainSpec {
        seed: "a stranger".into(),
        validators: 1,
        ..spec.clone()
    };
    for height in [Height(1), Height(2)] {
        let fake = testgen::block(&stranger, height, Hash32([4; 32]), Default::default());
        assert_eq!(fake.header().chain_id, spec.chain_id);
        // It stands on its own: consistent and fully signed by its own set.
        assert!(NativeVerifier.verify_self_consistent(&fake).is_ok());
        let revision = client.revision();
        let refused = client.update(fake, now);
        assert!(
            matches!(
                refused,
                Err(ClientError::UnprovenConflict { height: h, double_signed, .. })
                    if h == height && double_signed.tallied == 0
            ),
            "{height}: {refused:?}"
        );
        assert!(!client.is_frozen());
        assert_eq!(client.revision(), revision);
    }
    // The client still follows the real chain.
    assert_eq!(
        client.update(blocks[2].clone(), now).unwrap(),
        UpdateOutcome::Trusted(Height(3))
    );
}

/// A conflicting block above the root that the light-client rules accept from the block
/// below it is misbehaviour even when little of the trusted block's signers double-signed.
/// Two quorums of one set always share more than 1/3, so the fork here skips from the root
/// with another validator set: keys 2 and 3 of the root's set A (10, 11, 12, 13) hold more
/// than 1/3 of A, and more than 2/3 of the fork's own set {2, 3, 10}; the trusted block 5
/// was signed by keys 0, 1, 2, so only key 2 (12 of 46) signed both.
#[test]
fn a_conflict_that_verifies_from_trusted_state_freezes() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 5);
    let now = now_after(&spec, 5);
    let mut client = client_from(&blocks[0]);
    let trusted5 = testgen::with_signers(blocks[4].clone(), &[0, 1, 2]);
    assert_eq!(
        client.update(trusted5, now).unwrap(),
        UpdateOutcome::Trusted(Height(5))
    );
    let set_b = ValidatorSet::new(
        [2, 3, 10]
            .map(|i| Validator {
                pub_key: spec.key(i).public_key(),
                power: spec.power(i),
            })
            .to_vec(),
    )
    .unwrap();
    let mut fork = blocks[4].clone();
    fork.signed_header.header.validators_hash = set_b.hash();
    fork.signed_header.header.proposer = spec.key(3).public_key();
    fork.validators = set_b;
    let fork = testgen::resign(fork, &[spec.key(2), spec.key(3)]);
    let outcome = client.update(fork.clone(), now).unwrap();
    let UpdateOutcome::Misbehaviour(e) = outcome else {
        panic!("expected misbehaviour, got {outcome:?}")
    };
    assert_eq!(e.proven_by, ConflictProof::VerifiesFromTrusted);
    assert_eq!(e.double_signers, vec![spec.key(2).public_key()]);
    assert_eq!((e.double_signed.tallied, e.double_signed.total), (12, 46));
    assert!(client.is_frozen());
}

#[test]
fn client_rejects_below_root_and_bisects_on_not_enough_trust() {
    let spec = rotating(4, 2, 4);
    let blocks = testgen::chain(&spec, 8);
    let now = now_after(&spec, 8);
    let mut client = client_from(&blocks[2]);
    assert!(matches!(
        client.update(blocks[0].clone(), now),
        Err(ClientError::BelowRoot { .. })
    ));
    assert!(matches!(
        client.update(blocks[7].clone(), now).unwrap(),
        UpdateOutcome::NotEnoughTrust(Height(8), t) if t.tallied == 0
    ));
    // The client's own bisection plans the way there.
    let mut plan = client.bisection(Height(8)).unwrap();
    while let Some(h) = plan.next_height() {
        plan.handle_light_block(&blocks[h.0 as usize - 1], now)
            .unwrap();
    }
    assert!(matches!(plan.outcome(), Outcome::Done(_)));
    for state in plan.path() {
        let b = &blocks[state.header.height.0 as usize - 1];
        assert_eq!(
            client.update(b.clone(), now).unwrap(),
            UpdateOutcome::Trusted(b.height())
        );
    }
    assert_eq!(client.latest_height(), Height(8));
    assert!(client.trusted_len() < 7, "bisection skipped some heights");
}

#[test]
fn client_keeps_a_bounded_window_and_its_root() {
    let spec = rotating(1, 0, 0);
    let count = MAX_TRUSTED_BLOCKS as u64 + 20;
    let blocks = testgen::chain(&spec, count);
    let now = now_after(&spec, count);
    let mut client = client_from(&blocks[0]);
    for b in &blocks[1..] {
        client.update(b.clone(), now).unwrap();
    }
    assert_eq!(client.trusted_len(), MAX_TRUSTED_BLOCKS);
    assert!(client.trusted_at(Height(1)).is_some(), "the root stays");
    assert!(
        client.trusted_at(Height(2)).is_none(),
        "the oldest go first"
    );
    assert_eq!(client.latest_height(), Height(count));
}

#[test]
fn a_client_round_trips_through_its_stored_form() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 3);
    let now = now_after(&spec, 3);
    let mut client = client_from(&blocks[0]);
    client.update(blocks[2].clone(), now).unwrap();
    let bytes = corridor_light_client::codec::encode("client", &client).unwrap();
    let back: LightClient<NativeVerifier> =
        corridor_light_client::codec::decode("client", &bytes).unwrap();
    assert_eq!(back.check_family(), Ok(()));
    assert_eq!(back.latest_height(), Height(3));
    assert_eq!(back.trusted_at(Height(1)), Some(&blocks[0]));
    assert_eq!(back.revision(), client.revision());
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

/// Power is tallied from the claimed signers before any signature is checked: a commit that
/// could not pass with every signature valid is refused for its power, and a skip whose
/// signers hold too little of the trusted set is "not enough trust", whatever the
/// signatures (the order DESIGN.md asks for: cheap checks before signatures).
#[test]
fn claimed_power_is_tallied_before_signatures() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 3);
    let now = now_after(&spec, 3);
    let trusted = TrustedState::from_block(&blocks[0]);
    // Two of four signers (21 of 46) with a forged signature: refused for power.
    let weak = testgen::with_bad_signature(testgen::with_signers(blocks[1].clone(), &[0, 1]), 0);
    let verdict = NativeVerifier.verify_update(&weak, &trusted, &Options::default(), now);
    assert!(matches!(
        &verdict,
        Verdict::Invalid(VerificationError::InsufficientCommitPower { height: Height(2), tally })
            if tally.tallied == 21 && tally.total == 46
    ));
    // The message an operator reads names the power counted and the fraction needed.
    let Verdict::Invalid(err) = verdict else {
        unreachable!()
    };
    assert_eq!(
        err.to_string(),
        "commit at height 2 is not signed by enough of its validators: 21 of 46 power signed, \
         more than 2/3 needed"
    );
    // Enough claimed power and one forged signature: the signature is checked.
    let forged = testgen::with_bad_signature(blocks[1].clone(), 0);
    assert!(matches!(
        NativeVerifier.verify_update(&forged, &trusted, &Options::default(), now),
        Verdict::Invalid(VerificationError::InvalidSignature {
            height: Height(2),
            ..
        })
    ));
    // Skipping to block 3 with a threshold of 1/2 the two signers (21 of 46) are not enough
    // trust, forged signature or not; with enough trust, the forgery is found.
    let half = Options {
        trust_threshold: corridor_light_client::TrustThreshold::new(1, 2).unwrap(),
        ..Options::default()
    };
    let skip = testgen::with_bad_signature(testgen::with_signers(blocks[2].clone(), &[0, 1, 2]), 2);
    assert!(matches!(
        NativeVerifier.verify_update(&skip, &trusted, &half, now),
        Verdict::Invalid(VerificationError::InvalidSignature { .. })
    ));
    let few = testgen::with_bad_signature(testgen::with_signers(blocks[2].clone(), &[0, 1]), 0);
    assert!(matches!(
        NativeVerifier.verify_update(&few, &trusted, &half, now),
        Verdict::NotEnoughTrust(t) if t.tallied == 21 && t.total == 46
    ));
}

#[test]
fn client_accessors_say_what_it_trusts() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 6);
    let now = now_after(&spec, 6);
    let options = Options {
        trusting_period: Duration::from_secs(600),
        ..Options::default()
    };
    let mut client = LightClient::<NativeVerifier>::trusting(blocks[0].clone(), options).unwrap();
    assert_eq!(client.options(), &options);
    assert_eq!(client.latest(), Some(&blocks[0]));
    assert_eq!(
        client.trusted_until(),
        spec.time_at(Height(1))
            .checked_add(Duration::from_secs(600))
    );
    client.update(blocks[3].clone(), now).unwrap();
    assert_eq!(client.latest(), Some(&blocks[3]));
    assert_eq!(
        client.trusted_until(),
        spec.time_at(Height(4))
            .checked_add(Duration::from_secs(600))
    );
    assert_eq!(client.trusted_heights_below(Height(4)), Some(Height(1)));
    assert_eq!(client.trusted_heights_below(Height(6)), Some(Height(4)));
    assert_eq!(client.trusted_heights_below(Height(1)), None);
    assert_eq!(client.root().height, Height(1));
    assert_eq!(client.chain_id(), &spec.chain_id);
    // A stored client of another family is told apart.
    assert_eq!(client.check_family(), Ok(()));
    let mut stored = serde_json::to_value(&client).unwrap();
    assert_eq!(stored["kind"], "corridor");
    stored["kind"] = serde_json::json!("cometbft");
    let other: LightClient<NativeVerifier> = serde_json::from_value(stored).unwrap();
    assert_eq!(other.check_family(), Err(FamilyKind::Cometbft));
}

/// A validator set that is not the one its header commits is refused, and the message says
/// which of the two sets it is, with the hash it has and the hash the header names.
#[test]
fn a_set_the_header_does_not_commit_is_named_in_the_error() {
    let spec = rotating(4, 0, 0);
    let blocks = testgen::chain(&spec, 2);
    let now = now_after(&spec, 2);
    let trusted = TrustedState::from_block(&blocks[0]);
    let other = ChainSpec::simple("native-other", 3).validator_set(Height(1));
    for (next, name) in [(false, "validator set"), (true, "next validator set")] {
        let mut block = blocks[1].clone();
        let header_says = if next {
            block.next_validators = other.clone();
            block.header().next_validators_hash
        } else {
            block.validators = other.clone();
            block.header().validators_hash
        };
        let Verdict::Invalid(err) =
            NativeVerifier.verify_update(&block, &trusted, &Options::default(), now)
        else {
            panic!("{name}: a set the header does not commit is not invalid");
        };
        assert_eq!(
            err.to_string(),
            format!(
                "{name} at height 2 hashes to {}, header says {header_says}",
                other.hash()
            )
        );
    }
}

#[test]
fn a_validator_set_may_have_max_validators_members_and_not_one_more() {
    use corridor_light_client::native::{ValidatorSetError, MAX_VALIDATORS};
    use corridor_light_client::signature::PublicKey;
    // Distinct keys without deriving thousands of real ones: the set checks size, order
    // and power, not that keys are on the curve.
    let member = |i: usize| {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&(i as u64).to_be_bytes());
        Validator {
            pub_key: PublicKey(key),
            power: 1,
        }
    };
    let full: Vec<Validator> = (0..MAX_VALIDATORS).map(member).collect();
    assert_eq!(
        ValidatorSet::new(full.clone()).unwrap().len(),
        MAX_VALIDATORS
    );
    let mut over = full;
    over.push(member(MAX_VALIDATORS));
    assert!(matches!(
        ValidatorSet::new(over),
        Err(ValidatorSetError::Size(n)) if n == MAX_VALIDATORS + 1
    ));
    assert!(matches!(
        ValidatorSet::new(Vec::new()),
        Err(ValidatorSetError::Size(0))
    ));
}
