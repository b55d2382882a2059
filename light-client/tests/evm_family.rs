//! The `evm` family behind the generic light client and `verify_bundle`: generated Clique
//! chains sealed with secp256k1 keys, attested chains, real Merkle-Patricia receipt tries,
//! conflicts, and every refusal by its reason.

mod common;

use corridor_light_client::bundle::{
    message_key, verify_bundle, AnyBundle, BundleError, ProofBundle,
};
use corridor_light_client::client::{
    ClientError, ConflictProof, LightClient, TrustRoot, UpdateOutcome,
};
use corridor_light_client::envelope::{DocumentKind, TradeMessage};
use corridor_light_client::evm::attest::attestation_digest;
use corridor_light_client::evm::clique::{seal_hash, EXTRA_SEAL, EXTRA_VANITY, NONCE_DROP_VOTE};
use corridor_light_client::evm::family::{address_key, corridor_log, root_pin, MAX_EVM_LEAF_BYTES};
use corridor_light_client::evm::receipt::{Outcome, Receipt};
use corridor_light_client::evm::trie::{build_proof, ProofError, TrieBuilder};
use corridor_light_client::evm::{
    rlp, Address, AttestError, Attestation, AttestorKey, CliqueConfig, CliqueError,
    CorridorContracts, EvmBlock, EvmError, EvmFamily, EvmLeafError, EvmLogProof, EvmSeal, Header,
    Log, ReceiptError, ReceiptProof, WeakTrustAttestationQuorum, EMPTY_OMMERS_HASH,
    EMPTY_TRIE_ROOT, U256,
};
use corridor_light_client::family::{CommitmentRoot, Family, FamilyKind, LeafProofError};
use corridor_light_client::signature::SigningKey;
use corridor_light_client::{
    ChainId, Hash32, Height, Options, Time, Verdict, VerificationError, Verifier,
};
use k256::ecdsa::SigningKey as EcdsaKey;

const CHAIN: &str = "bank-evm-clique";
const CONFIG: CliqueConfig = CliqueConfig {
    epoch: 30_000,
    period: 15,
};
const GENESIS_TIME: u64 = 1_600_000_000;

fn contracts() -> CorridorContracts {
    CorridorContracts {
        outbox: Address([0x0b; 20]),
        inbox: Address([0x1b; 20]),
    }
}

fn chain_id() -> ChainId {
    ChainId::new(CHAIN).unwrap()
}

fn secp(seed: u8) -> (EcdsaKey, Address) {
    let key = EcdsaKey::from_bytes(&[seed; 32].into()).unwrap();
    let point = key.verifying_key().to_encoded_point(false);
    let xy: &[u8; 64] = point.as_bytes()[1..].try_into().unwrap();
    (key, Address::from_public_key(xy))
}

/// Seals `header` in place (its extraData ends with 65 placeholder bytes).
fn seal(header: &mut Header, key: &EcdsaKey) {
    let hash = seal_hash(header).unwrap();
    let (sig, recid) = key.sign_prehash_recoverable(&hash.0).unwrap();
    let n = header.extra_data.len();
    header.extra_data[n - 65..n - 1].copy_from_slice(&sig.to_bytes());
    header.extra_data[n - 1] = recid.to_byte();
}

fn genesis(signers: &[Address]) -> Header {
    let mut sorted = signers.to_vec();
    sorted.sort();
    let mut extra = vec![0; EXTRA_VANITY];
    for s in &sorted {
        extra.extend_from_slice(&s.0);
    }
    extra.extend_from_slice(&[0; EXTRA_SEAL]);
    Header {
        parent_hash: Hash32::ZERO,
        ommers_hash: EMPTY_OMMERS_HASH,
        beneficiary: Address::ZERO,
        state_root: Hash32([1; 32]),
        transactions_root: EMPTY_TRIE_ROOT,
        receipts_root: EMPTY_TRIE_ROOT,
        logs_bloom: Box::new([0; 256]),
        difficulty: U256::from_u64(1),
        number: 0,
        gas_limit: 8_000_000,
        gas_used: 0,
        timestamp: GENESIS_TIME,
        extra_data: extra,
        mix_hash: Hash32::ZERO,
        nonce: [0; 8],
        base_fee_per_gas: Some(U256::from_u64(7)),
        withdrawals_root: None,
        blob_gas_used: None,
        excess_blob_gas: None,
        parent_beacon_block_root: None,
        requests_hash: None,
    }
}

/// An unsealed child of `parent`.
fn child(parent: &Header, difficulty: u64) -> Header {
    let mut h = parent.clone();
    h.parent_hash = parent.hash();
    h.number = parent.number + 1;
    h.timestamp = parent.timestamp + 15;
    h.difficulty = U256::from_u64(difficulty);
    h.beneficiary = Address::ZERO;
    h.nonce = NONCE_DROP_VOTE;
    h.extra_data = vec![0; EXTRA_VANITY + EXTRA_SEAL];
    h.receipts_root = EMPTY_TRIE_ROOT;
    h
}

fn message(sequence: u64, nonce: u64) -> TradeMessage {
    common::trade_message(CHAIN, DocumentKind::BillOfLading, 3, sequence, nonce, 1)
}

fn outbox_log(m: &TradeMessage) -> Log {
    corridor_log(
        contracts().outbox,
        CommitmentRoot::Messages,
        &message_key(m),
        &m.leaf().unwrap(),
    )
    .unwrap()
}

fn receipt(status: bool, logs: Vec<Log>) -> Receipt {
    Receipt {
        tx_type: 2,
        outcome: Outcome::Status(status),
        cumulative_gas_used: 50_000,
        logs_bloom: Box::new([0; 256]),
        logs,
    }
}

/// The receipts of the block that commits messages 1 to 3: receipt 0 an unrelated
/// transfer, receipt 1 an impostor's copy of message 2's log then message 2's real log,
/// receipt 2 a failed transaction with message 3's log.
fn receipts(messages: &[TradeMessage]) -> TrieBuilder {
    let mut impostor = outbox_log(&messages[1]);
    impostor.address = Address([0xee; 20]);
    let list = [
        receipt(
            true,
            vec![Log {
                address: Address([0x42; 20]),
                topics: vec![Hash32([1; 32])],
                data: vec![1, 2, 3],
            }],
        ),
        receipt(true, vec![impostor, outbox_log(&messages[1])]),
        receipt(false, vec![outbox_log(&messages[2])]),
    ];
    let mut trie = TrieBuilder::new();
    for (i, r) in list.iter().enumerate() {
        trie.insert(&rlp::u64_bytes(i as u64), &r.encode()).unwrap();
    }
    trie
}

fn log_proof(trie: &TrieBuilder, index: u64, log_index: u64) -> EvmLogProof {
    EvmLogProof {
        receipt: ReceiptProof {
            index,
            nodes: build_proof(trie, &rlp::u64_bytes(index)),
        },
        log_index,
    }
}

/// Three signers, sorted by address: the in-turn signer of block n is `keys[n % 3]`.
fn signers() -> Vec<(EcdsaKey, Address)> {
    let mut keys: Vec<_> = (1u8..=3).map(secp).collect();
    keys.sort_by_key(|(_, a)| *a);
    keys
}

/// A Clique chain of blocks 0 to 6, every block sealed in turn, block 4 committing three
/// messages; the bundle of message 2 from a receiver that trusts the genesis.
struct Clique {
    keys: Vec<(EcdsaKey, Address)>,
    blocks: Vec<EvmBlock>,
    messages: Vec<TradeMessage>,
    trie: TrieBuilder,
    bundle: ProofBundle<EvmFamily>,
    now: Time,
}

fn sealed_child(
    parent: &EvmBlock,
    key: &EcdsaKey,
    difficulty: u64,
    edit: impl FnOnce(&mut Header),
) -> EvmBlock {
    let mut h = child(&parent.header, difficulty);
    edit(&mut h);
    seal(&mut h, key);
    parent.clique_child(h).unwrap()
}

fn clique() -> Clique {
    let keys = signers();
    let addrs: Vec<Address> = keys.iter().map(|(_, a)| *a).collect();
    let messages: Vec<TradeMessage> = (1..=3).map(|s| message(s, s)).collect();
    let trie = receipts(&messages);
    let root = EvmBlock::clique_root(chain_id(), contracts(), CONFIG, genesis(&addrs));
    let mut blocks = vec![root];
    for n in 1..=6u64 {
        let parent = blocks.last().unwrap();
        let receipts_root = if n == 4 { trie.root() } else { EMPTY_TRIE_ROOT };
        let block = sealed_child(parent, &keys[(n % 3) as usize].0, 2, |h| {
            h.receipts_root = receipts_root
        });
        blocks.push(block);
    }
    let bundle = ProofBundle {
        message: messages[1].clone(),
        proof: log_proof(&trie, 1, 1),
        height: Height(4),
        light_blocks: blocks[1..=4].to_vec(),
    };
    Clique {
        keys,
        blocks,
        messages,
        trie,
        bundle,
        now: Time::from_unix_secs(GENESIS_TIME + 15 * 10).unwrap(),
    }
}

fn options() -> Options {
    Options::default()
}

fn client(w: &Clique) -> LightClient<EvmFamily> {
    let root = TrustRoot {
        chain_id: chain_id(),
        height: Height(0),
        header_hash: w.blocks[0].header.hash(),
        pin: root_pin(&contracts(), &EvmSeal::CliqueCheckpoint(CONFIG)),
    };
    LightClient::with_root_block(root, options(), w.blocks[0].clone()).unwrap()
}

fn evm_error(e: &BundleError) -> &EvmError {
    match e {
        BundleError::LightBlock {
            source: ClientError::Invalid(VerificationError::Evm { source, .. }),
            ..
        } => source,
        other => panic!("not an evm rule: {other:?}"),
    }
}

fn leaf_error(e: &BundleError) -> &EvmLeafError {
    match e {
        BundleError::InvalidProof {
            source: LeafProofError::Evm(source),
            ..
        } => source,
        other => panic!("not an evm leaf refusal: {other:?}"),
    }
}

#[test]
fn a_clique_bundle_verifies_end_to_end() {
    let w = clique();
    let mut c = client(&w);
    let verified = verify_bundle(&mut c, &w.bundle, w.now).unwrap();
    assert_eq!(verified.height, Height(4));
    assert_eq!(verified.header_hash, w.blocks[4].header.hash());
    assert_eq!(verified.commitment, w.messages[1].commitment().unwrap());
    assert_eq!(c.latest_height(), Height(4));
    assert_eq!(c.family(), FamilyKind::Evm);
    // The same bundle, tagged, through JSON and CBOR.
    let any = AnyBundle::Evm(w.bundle.clone());
    let json = serde_json::to_string(&any).unwrap();
    assert!(json.contains("\"family\":\"evm\""));
    assert_eq!(serde_json::from_str::<AnyBundle>(&json).unwrap(), any);
    let mut cbor = Vec::new();
    ciborium::into_writer(&any, &mut cbor).unwrap();
    assert_eq!(
        ciborium::from_reader::<AnyBundle, _>(cbor.as_slice()).unwrap(),
        any
    );
    assert_eq!(any.family(), FamilyKind::Evm);
    // Trusted already: no light blocks needed.
    let mut again = w.bundle.clone();
    again.light_blocks.clear();
    assert_eq!(verify_bundle(&mut c, &again, w.now).unwrap(), verified);
    // The client itself persists and reads back.
    let stored = serde_json::to_string(&c).unwrap();
    let back: LightClient<EvmFamily> = serde_json::from_str(&stored).unwrap();
    assert_eq!(back.latest_height(), Height(4));
    assert_eq!(back.check_family(), Ok(()));
}

#[test]
fn leaf_refusals_name_their_reason() {
    let w = clique();
    let refuse = |b: ProofBundle<EvmFamily>| {
        let mut c = client(&w);
        let e = verify_bundle(&mut c, &b, w.now).unwrap_err();
        assert_eq!(e.reason(), "invalid-proof", "{e}");
        e
    };
    // The impostor's log: same event and leaf, another contract.
    let mut b = w.bundle.clone();
    b.proof.log_index = 0;
    let e = refuse(b);
    assert_eq!(
        leaf_error(&e),
        &EvmLeafError::WrongEmitter {
            expected: contracts().outbox,
            got: Address([0xee; 20])
        }
    );
    // Message 3's log (another key) for message 2.
    let mut b = w.bundle.clone();
    b.message = w.messages[0].clone();
    let e = refuse(b);
    assert_eq!(leaf_error(&e), &EvmLeafError::WrongKey);
    // Same key, another leaf (another nonce).
    let mut b = w.bundle.clone();
    b.message = message(2, 99);
    let e = refuse(b);
    assert!(matches!(leaf_error(&e), EvmLeafError::LeafMismatch { .. }));
    // A log of another event.
    let mut b = w.bundle.clone();
    b.proof = log_proof(&w.trie, 0, 0);
    let e = refuse(b);
    assert!(matches!(leaf_error(&e), EvmLeafError::WrongEmitter { .. }));
    // The failed transaction's log.
    let mut b = w.bundle.clone();
    b.message = w.messages[2].clone();
    b.proof = log_proof(&w.trie, 2, 0);
    let e = refuse(b);
    assert_eq!(
        leaf_error(&e),
        &EvmLeafError::Receipt(ReceiptError::Failed { index: 2 })
    );
    // No such log; a log index beyond any receipt.
    let mut b = w.bundle.clone();
    b.proof.log_index = 2;
    let e = refuse(b);
    assert!(matches!(
        leaf_error(&e),
        EvmLeafError::Receipt(ReceiptError::NoSuchLog { log_index: 2, .. })
    ));
    let mut b = w.bundle.clone();
    b.proof.log_index = u64::MAX;
    let e = refuse(b);
    assert!(matches!(
        leaf_error(&e),
        EvmLeafError::LogIndexTooLarge { .. }
    ));
    // A flipped byte in the root node.
    let mut b = w.bundle.clone();
    b.proof.receipt.nodes[0][5] ^= 1;
    let e = refuse(b);
    assert!(matches!(
        leaf_error(&e),
        EvmLeafError::Receipt(ReceiptError::Proof {
            source: ProofError::HashMismatch { index: 0, .. },
            ..
        })
    ));
    // The receipt at another index than the proof's nodes.
    let mut b = w.bundle.clone();
    b.proof.receipt.index = 0;
    let e = refuse(b);
    assert!(matches!(
        leaf_error(&e),
        EvmLeafError::Receipt(ReceiptError::Proof { .. })
    ));
    // Proof nodes over the limit are refused before hashing.
    let mut b = w.bundle.clone();
    b.proof.receipt.nodes = vec![vec![0; 10]; 67];
    let e = refuse(b);
    assert!(matches!(
        leaf_error(&e),
        EvmLeafError::Receipt(ReceiptError::Proof {
            source: ProofError::TooManyNodes { .. },
            ..
        })
    ));
}

#[test]
fn verify_leaf_checks_the_contract_of_each_commitment_and_bounds() {
    let w = clique();
    let family = EvmFamily;
    let block = &w.blocks[4];
    let m = &w.messages[1];
    let (key, leaf) = (message_key(m), m.leaf().unwrap());
    let proof = log_proof(&w.trie, 1, 1);
    family
        .verify_leaf(block, CommitmentRoot::Messages, &key, &leaf, &proof)
        .unwrap();
    // A batch is the leaves' proofs, each verified as above, in order; checked with and
    // without each leaf's proof back; one proof too many is refused by count.
    let leaves = vec![(key.clone(), leaf.clone())];
    let batch = family.join_proofs(std::slice::from_ref(&proof)).unwrap();
    assert_eq!(batch, vec![proof.clone()]);
    assert_eq!(
        family.verify_leaves(block, CommitmentRoot::Messages, &leaves, &batch),
        Ok(vec![proof.clone()])
    );
    family
        .check_leaves(block, CommitmentRoot::Messages, &leaves, &batch)
        .unwrap();
    let two = family.join_proofs(&[proof.clone(), proof.clone()]).unwrap();
    assert_eq!(
        family.check_leaves(block, CommitmentRoot::Messages, &leaves, &two),
        Err(LeafProofError::BatchSize {
            leaves: 1,
            proves: 2
        })
    );
    // The same log is no receipt: the inbox did not emit it.
    assert_eq!(
        family.verify_leaf(block, CommitmentRoot::Receipts, &key, &leaf, &proof),
        Err(LeafProofError::Evm(EvmLeafError::WrongEmitter {
            expected: contracts().inbox,
            got: contracts().outbox
        }))
    );
    // An inbox log of the receipts event is refused as a message.
    let mut inbox_contracts = contracts();
    inbox_contracts.inbox = contracts().outbox;
    let mut as_inbox = block.clone();
    as_inbox.contracts = inbox_contracts;
    assert_eq!(
        family.verify_leaf(&as_inbox, CommitmentRoot::Receipts, &key, &leaf, &proof),
        Err(LeafProofError::Evm(EvmLeafError::WrongEvent {
            expected: "CorridorReceipt(bytes,bytes)"
        }))
    );
    let big = vec![0; MAX_EVM_LEAF_BYTES + 1];
    assert!(matches!(
        family.verify_leaf(block, CommitmentRoot::Messages, &key, &big, &proof),
        Err(LeafProofError::Evm(EvmLeafError::LeafTooLarge { .. }))
    ));
    assert!(matches!(
        family.verify_leaf(block, CommitmentRoot::Messages, &[0; 257], &leaf, &proof),
        Err(LeafProofError::Evm(EvmLeafError::KeyTooLong { .. }))
    ));
}

#[test]
fn light_block_refusals_name_their_reason() {
    let w = clique();
    let run = |blocks: Vec<EvmBlock>, now: Time| {
        let mut b = w.bundle.clone();
        if let Some(last) = blocks.last() {
            b.height = Height(last.header.number);
        }
        b.light_blocks = blocks;
        let mut c = client(&w);
        let e = verify_bundle(&mut c, &b, now).unwrap_err();
        assert!(!c.is_frozen());
        e
    };
    let blocks = |edit: &dyn Fn(&mut Vec<EvmBlock>)| {
        let mut v = w.blocks[1..=4].to_vec();
        edit(&mut v);
        v
    };

    // A gap: block 3 missing, so 4 is not adjacent to what is trusted.
    let e = run(
        blocks(&|v: &mut Vec<EvmBlock>| {
            v.remove(2);
        }),
        w.now,
    );
    assert_eq!(e.reason(), "not-enough-trust");
    assert!(
        matches!(e, BundleError::NotEnoughTrust { height: Height(4), tally } if tally.tallied == 0 && tally.total == 3)
    );

    // A stranger's seal on block 1, carrying a snapshot of its own.
    let (stranger, stranger_addr) = secp(9);
    let own_root =
        EvmBlock::clique_root(chain_id(), contracts(), CONFIG, genesis(&[stranger_addr]));
    let forged = sealed_child(&own_root, &stranger, 2, |_| {});
    let e = run(vec![forged], w.now);
    assert_eq!(e.reason(), "invalid-light-block");
    assert_eq!(evm_error(&e), &EvmError::SnapshotDisagrees { number: 1 });

    // The stranger's seal on a header that carries the trusted snapshot.
    let mut h = child(&w.blocks[0].header, 1);
    seal(&mut h, &stranger);
    let forged = w.blocks[0].clique_child(h).unwrap();
    let e = run(vec![forged], w.now);
    assert_eq!(
        evm_error(&e),
        &EvmError::Clique(CliqueError::Unauthorized {
            number: 1,
            signer: stranger_addr
        })
    );

    // The same signer twice in a row (block 2 by block 1's signer).
    let e = run(
        blocks(&|v: &mut Vec<EvmBlock>| {
            v[1] = sealed_child(&v[0], &w.keys[1].0, 1, |_| {});
            v.truncate(2);
        }),
        w.now,
    );
    assert!(matches!(
        evm_error(&e),
        EvmError::Clique(CliqueError::RecentlySigned {
            number: 2,
            last: 1,
            ..
        })
    ));

    // In turn but claiming difficulty 1.
    let e = run(
        vec![sealed_child(&w.blocks[0], &w.keys[1].0, 1, |_| {})],
        w.now,
    );
    assert!(matches!(
        evm_error(&e),
        EvmError::Clique(CliqueError::WrongDifficulty { in_turn: true, .. })
    ));

    // A flipped byte in a header after sealing.
    let e = run(
        blocks(&|v: &mut Vec<EvmBlock>| {
            v[0].header.gas_used ^= 1;
            v.truncate(1);
        }),
        w.now,
    );
    assert!(matches!(
        evm_error(&e),
        EvmError::Clique(CliqueError::Unauthorized { .. } | CliqueError::BadSignature { .. })
    ));

    // Other contracts than the trusted ones.
    let e = run(
        blocks(&|v: &mut Vec<EvmBlock>| {
            v[0].contracts.outbox = Address([0xee; 20]);
            v.truncate(1);
        }),
        w.now,
    );
    assert_eq!(evm_error(&e), &EvmError::ContractsChanged { number: 1 });

    // A stand-alone checkpoint after the root.
    let e = run(
        blocks(&|v: &mut Vec<EvmBlock>| {
            v[0].seal = EvmSeal::CliqueCheckpoint(CONFIG);
            v.truncate(1);
        }),
        w.now,
    );
    assert_eq!(evm_error(&e), &EvmError::CheckpointNotRoot { number: 1 });

    // An attested header on a Clique chain.
    let quorum =
        WeakTrustAttestationQuorum::new(1, &[AttestorKey::Secp256k1(w.keys[0].1)], 1).unwrap();
    let e = run(
        blocks(&|v: &mut Vec<EvmBlock>| {
            v[0].seal = EvmSeal::Attested {
                quorum: quorum.clone(),
                attestations: vec![],
            };
            v.truncate(1);
        }),
        w.now,
    );
    assert!(matches!(evm_error(&e), EvmError::RuleMismatch { .. }));

    // Headers from the future, and a trusted state past its trusting period.
    let e = run(
        w.blocks[1..=4].to_vec(),
        Time::from_unix_secs(GENESIS_TIME).unwrap(),
    );
    assert!(matches!(
        e,
        BundleError::LightBlock {
            source: ClientError::Invalid(VerificationError::HeaderFromFuture { .. }),
            ..
        }
    ));
    let late = Time::from_unix_secs(GENESIS_TIME + 15 * 24 * 3600).unwrap();
    let e = run(w.blocks[1..=4].to_vec(), late);
    assert!(matches!(
        e,
        BundleError::LightBlock {
            source: ClientError::Invalid(VerificationError::NotWithinTrustPeriod { .. }),
            ..
        }
    ));

    // Nothing carried, and the client does not trust height 4.
    let e = run(vec![], w.now);
    assert_eq!(e.reason(), "untrusted-height");
}

#[test]
fn clique_equivocation_freezes_and_names_the_signer() {
    let w = clique();
    let mut c = client(&w);
    verify_bundle(&mut c, &w.bundle, w.now).unwrap();
    // Block 4's in-turn signer seals a second block 4.
    let sealer = &w.keys[1];
    let twin = sealed_child(&w.blocks[3], &sealer.0, 2, |h| h.gas_used = 77);
    assert_ne!(twin.header.hash(), w.blocks[4].header.hash());
    let UpdateOutcome::Misbehaviour(evidence) = c.update(twin.clone(), w.now).unwrap() else {
        panic!("equivocation must freeze");
    };
    assert_eq!(evidence.double_signers, vec![address_key(&sealer.1)]);
    assert_eq!(evidence.proven_by, ConflictProof::DoubleSigning);
    assert_eq!(evidence.conflicting, twin);
    assert!(c.is_frozen());
    let e = verify_bundle(&mut c, &w.bundle, w.now).unwrap_err();
    assert_eq!(e.reason(), "client-frozen");

    // Through a bundle: the twin as a light block freezes the client and says so.
    let mut c = client(&w);
    verify_bundle(&mut c, &w.bundle, w.now).unwrap();
    let mut b = w.bundle.clone();
    b.light_blocks = vec![twin];
    let e = verify_bundle(&mut c, &b, w.now).unwrap_err();
    assert_eq!(e.reason(), "misbehaviour");
    assert!(c.is_frozen());
}

#[test]
fn an_ordinary_clique_fork_never_freezes() {
    let w = clique();
    // Block 4 out of turn by signer 2 (who sealed block 2, outside the recent window):
    // valid, a fresh client would take it ...
    let racer = sealed_child(&w.blocks[3], &w.keys[2].0, 1, |_| {});
    let mut fresh = client(&w);
    for b in &w.blocks[1..=3] {
        fresh.update(b.clone(), w.now).unwrap();
    }
    let mut racing = fresh.clone();
    assert_eq!(
        racing.update(racer.clone(), w.now),
        Ok(UpdateOutcome::Trusted(Height(4)))
    );
    // ... but next to the trusted in-turn block 4 it is a fork, not misbehaviour.
    let mut c = client(&w);
    verify_bundle(&mut c, &w.bundle, w.now).unwrap();
    let e = c.update(racer, w.now).unwrap_err();
    assert_eq!(e.reason(), "invalid-light-block");
    assert_eq!(
        e,
        ClientError::Invalid(VerificationError::Evm {
            height: Height(4),
            source: Box::new(EvmError::OutOfTurnEvidence { number: 4 })
        })
    );
    assert!(!c.is_frozen());
    // The other way round: the trusted block 4 is the out-of-turn one, the in-turn block
    // arrives later. Refused, not frozen.
    let e = racing.update(w.blocks[4].clone(), w.now).unwrap_err();
    assert_eq!(
        e,
        ClientError::Invalid(VerificationError::Evm {
            height: Height(4),
            source: Box::new(EvmError::OutOfTurnEvidence { number: 4 })
        })
    );
    assert!(!racing.is_frozen());
}

#[test]
fn a_strangers_self_signed_header_never_freezes() {
    let w = clique();
    let mut c = client(&w);
    verify_bundle(&mut c, &w.bundle, w.now).unwrap();
    // A stranger's own Clique chain with the same chain id and contracts, up to block 4.
    let (stranger, _) = secp(9);
    let (_, stranger_addr) = secp(9);
    let mut own = EvmBlock::clique_root(chain_id(), contracts(), CONFIG, genesis(&[stranger_addr]));
    for _ in 1..=4 {
        own = sealed_child(&own, &stranger, 2, |_| {});
    }
    assert_eq!(own.header.number, 4);
    // Valid on its own ...
    assert_eq!(EvmFamily.signers(&own).unwrap().len(), 1);
    // (An EVM seal names its signer only once its signature is recovered: the claimed
    // signers are the checked ones, and none for a seal that does not check.)
    assert_eq!(
        EvmFamily.claimed_signers(&own),
        EvmFamily.signers(&own).unwrap()
    );
    let mut unsealed = own.clone();
    unsealed.header.extra_data = vec![0; 10];
    assert!(EvmFamily.signers(&unsealed).is_err());
    assert!(EvmFamily.claimed_signers(&unsealed).is_empty());
    // ... but no proof of anything.
    let e = c.update(own.clone(), w.now).unwrap_err();
    assert!(matches!(
        e,
        ClientError::UnprovenConflict {
            height: Height(4),
            ..
        }
    ));
    assert_eq!(e.reason(), "unproven-conflict");
    assert!(!c.is_frozen());
    let mut b = w.bundle.clone();
    b.light_blocks = vec![own];
    let e = verify_bundle(&mut c, &b, w.now).unwrap_err();
    assert_eq!(e.reason(), "unproven-conflict");
    assert!(!c.is_frozen());
    // The trusted chain goes on.
    c.update(w.blocks[5].clone(), w.now).unwrap();
    assert_eq!(c.latest_height(), Height(5));
}

#[test]
fn a_receiver_rooted_at_a_later_checkpoint_takes_a_fuller_snapshot() {
    // Epoch 4: block 4 is a checkpoint listing the signers. The sender's snapshots know the
    // recent signers from before it; a receiver rooted at block 4 knows none.
    let config = CliqueConfig {
        epoch: 4,
        period: 15,
    };
    let keys = signers();
    let addrs: Vec<Address> = keys.iter().map(|(_, a)| *a).collect();
    let g = genesis(&addrs);
    let list = g.extra_data.clone();
    let mut blocks = vec![EvmBlock::clique_root(chain_id(), contracts(), config, g)];
    for n in 1..=6u64 {
        let parent = blocks.last().unwrap();
        let list = list.clone();
        blocks.push(sealed_child(
            parent,
            &keys[(n % 3) as usize].0,
            2,
            move |h| {
                if n == 4 {
                    h.extra_data = list;
                }
            },
        ));
    }
    let checkpoint =
        EvmBlock::clique_root(chain_id(), contracts(), config, blocks[4].header.clone());
    let root = TrustRoot {
        chain_id: chain_id(),
        height: Height(4),
        header_hash: checkpoint.header.hash(),
        pin: root_pin(&contracts(), &EvmSeal::CliqueCheckpoint(config)),
    };
    let mut c = LightClient::<EvmFamily>::with_root_block(root, options(), checkpoint).unwrap();
    let now = Time::from_unix_secs(GENESIS_TIME + 15 * 10).unwrap();
    assert_eq!(
        c.update(blocks[5].clone(), now),
        Ok(UpdateOutcome::Trusted(Height(5)))
    );
    assert_eq!(
        c.update(blocks[6].clone(), now),
        Ok(UpdateOutcome::Trusted(Height(6)))
    );
    // A snapshot that forgets a recent signer the receiver knows is refused.
    let mut c = LightClient::<EvmFamily>::trusting(blocks[5].clone(), options()).unwrap();
    // The snapshot after block 5 of a client rooted at block 4: it never saw block 4's
    // signer among the recent ones.
    let from_4 = EvmBlock::clique_root(chain_id(), contracts(), config, blocks[4].header.clone())
        .clique_child(blocks[5].header.clone())
        .unwrap();
    let mut block6 = blocks[6].clone();
    block6.seal = EvmSeal::Clique(Box::new(from_4.snapshot().unwrap()));
    assert_eq!(
        c.update(block6, now),
        Err(ClientError::Invalid(VerificationError::Evm {
            height: Height(6),
            source: Box::new(EvmError::SnapshotDisagrees { number: 6 })
        }))
    );
}

/// An attested chain: 2 of 3 attestors (two secp256k1, one ed25519).
struct Attested {
    secp: Vec<(EcdsaKey, Address)>,
    ed: SigningKey,
    quorum: WeakTrustAttestationQuorum,
    root: EvmBlock,
}

const EVM_CHAIN_ID: u64 = 31337;

fn attested() -> Attested {
    let secp: Vec<_> = [11u8, 12].into_iter().map(secp).collect();
    let ed = SigningKey::from_seed([13; 32]);
    let quorum = WeakTrustAttestationQuorum::new(
        EVM_CHAIN_ID,
        &[
            AttestorKey::Secp256k1(secp[0].1),
            AttestorKey::Secp256k1(secp[1].1),
            AttestorKey::Ed25519(ed.public_key()),
        ],
        2,
    )
    .unwrap();
    let mut g = genesis(&[Address([1; 20])]);
    g.extra_data = vec![];
    g.difficulty = U256::ZERO;
    let root = EvmBlock::attested_root(chain_id(), contracts(), quorum.clone(), g, vec![]);
    Attested {
        secp,
        ed,
        quorum,
        root,
    }
}

impl Attested {
    /// Attestations of `header` by the attestors `who` (0, 1: secp256k1; 2: ed25519).
    fn attest(&self, header: &Header, who: &[usize]) -> Vec<Attestation> {
        let digest = attestation_digest(EVM_CHAIN_ID, header.number, &header.hash());
        who.iter()
            .map(|&i| match i {
                0 | 1 => {
                    let (sig, recid) = self.secp[i].0.sign_prehash_recoverable(&digest.0).unwrap();
                    let mut out = [0u8; 65];
                    out[..64].copy_from_slice(&sig.to_bytes());
                    out[64] = recid.to_byte() + 27;
                    Attestation::Secp256k1(out)
                }
                _ => Attestation::Ed25519 {
                    key: self.ed.public_key(),
                    signature: self.ed.sign(&digest.0),
                },
            })
            .collect()
    }

    fn block(&self, header: Header, who: &[usize]) -> EvmBlock {
        let attestations = self.attest(&header, who);
        EvmBlock {
            chain_id: chain_id(),
            contracts: contracts(),
            header,
            seal: EvmSeal::Attested {
                quorum: self.quorum.clone(),
                attestations,
            },
        }
    }

    fn client(&self) -> LightClient<EvmFamily> {
        LightClient::trusting(self.root.clone(), options()).unwrap()
    }
}

fn far_header(a: &Attested, number: u64, receipts_root: Hash32, gas_used: u64) -> Header {
    let mut h = a.root.header.clone();
    h.parent_hash = Hash32([9; 32]);
    h.number = number;
    h.timestamp = GENESIS_TIME + 12 * number;
    h.receipts_root = receipts_root;
    h.gas_used = gas_used;
    h
}

#[test]
fn an_attested_bundle_skips_ahead_and_verifies() {
    let a = attested();
    let messages: Vec<TradeMessage> = (1..=3).map(|s| message(s, s)).collect();
    let trie = receipts(&messages);
    let block = a.block(far_header(&a, 100, trie.root(), 1), &[0, 2]);
    let bundle = ProofBundle {
        message: messages[1].clone(),
        proof: log_proof(&trie, 1, 1),
        height: Height(100),
        light_blocks: vec![block.clone()],
    };
    let now = Time::from_unix_secs(GENESIS_TIME + 12 * 200).unwrap();
    let mut c = a.client();
    let verified = verify_bundle(&mut c, &bundle, now).unwrap();
    assert_eq!(verified.header_hash, block.header.hash());
    let any = AnyBundle::Evm(bundle.clone());
    let json = serde_json::to_string(&any).unwrap();
    assert_eq!(serde_json::from_str::<AnyBundle>(&json).unwrap(), any);

    let refuse = |blocks: Vec<EvmBlock>| {
        let mut b = bundle.clone();
        b.light_blocks = blocks;
        let mut c = a.client();
        let e = verify_bundle(&mut c, &b, now).unwrap_err();
        assert_eq!(e.reason(), "invalid-light-block", "{e}");
        assert!(!c.is_frozen());
        evm_error(&e).clone()
    };
    // One attestation of two.
    assert_eq!(
        refuse(vec![a.block(block.header.clone(), &[1])]),
        EvmError::Attestation(AttestError::BelowThreshold {
            number: 100,
            valid: 1,
            threshold: 2
        })
    );
    // Attestations of another header.
    let mut swapped = block.clone();
    swapped.header.gas_used = 2;
    assert!(matches!(
        refuse(vec![swapped]),
        EvmError::Attestation(AttestError::InvalidAttestation { number: 100, .. })
    ));
    // A quorum of the sender's choosing.
    let mut own = block.clone();
    own.seal = EvmSeal::Attested {
        quorum: WeakTrustAttestationQuorum::new(
            EVM_CHAIN_ID,
            &[AttestorKey::Secp256k1(a.secp[0].1)],
            1,
        )
        .unwrap(),
        attestations: a.attest(&block.header, &[0]),
    };
    assert_eq!(refuse(vec![own]), EvmError::QuorumChanged { number: 100 });
    // A Clique header on an attested chain.
    let mut clique_seal = block.clone();
    clique_seal.seal = EvmSeal::CliqueCheckpoint(CONFIG);
    assert!(matches!(
        refuse(vec![clique_seal]),
        EvmError::RuleMismatch { .. }
    ));
}

#[test]
fn attested_conflicts_freeze_only_when_the_quorum_attested_both() {
    let a = attested();
    let now = Time::from_unix_secs(GENESIS_TIME + 12 * 200).unwrap();
    let trusted = a.block(far_header(&a, 100, EMPTY_TRIE_ROOT, 1), &[0, 2]);
    let trusting = || {
        let mut c = a.client();
        c.update(trusted.clone(), now).unwrap();
        c
    };
    // The same two attestors attest another header at 100: double signing.
    let mut c = trusting();
    let twin = a.block(far_header(&a, 100, EMPTY_TRIE_ROOT, 2), &[0, 2]);
    let UpdateOutcome::Misbehaviour(evidence) = c.update(twin, now).unwrap() else {
        panic!("must freeze");
    };
    assert_eq!(evidence.proven_by, ConflictProof::DoubleSigning);
    let mut named = vec![address_key(&a.secp[0].1), a.ed.public_key()];
    named.sort();
    assert_eq!(evidence.double_signers, named);
    // Attestors 0 and 1 attest another header: one of three attested both, but the quorum
    // vouched for two headers at one height.
    let mut c = trusting();
    let other = a.block(far_header(&a, 100, EMPTY_TRIE_ROOT, 3), &[0, 1]);
    let UpdateOutcome::Misbehaviour(evidence) = c.update(other, now).unwrap() else {
        panic!("must freeze");
    };
    assert_eq!(evidence.proven_by, ConflictProof::VerifiesFromTrusted);
    assert_eq!(evidence.double_signers, vec![address_key(&a.secp[0].1)]);
    // A stranger's quorum attesting its own header at 100: refused, not frozen.
    let mut c = trusting();
    let (stranger, stranger_addr) = secp(9);
    let q =
        WeakTrustAttestationQuorum::new(EVM_CHAIN_ID, &[AttestorKey::Secp256k1(stranger_addr)], 1)
            .unwrap();
    let header = far_header(&a, 100, EMPTY_TRIE_ROOT, 4);
    let digest = attestation_digest(EVM_CHAIN_ID, 100, &header.hash());
    let (sig, recid) = stranger.sign_prehash_recoverable(&digest.0).unwrap();
    let mut raw = [0u8; 65];
    raw[..64].copy_from_slice(&sig.to_bytes());
    raw[64] = recid.to_byte();
    let forged = EvmBlock {
        chain_id: chain_id(),
        contracts: contracts(),
        header,
        seal: EvmSeal::Attested {
            quorum: q,
            attestations: vec![Attestation::Secp256k1(raw)],
        },
    };
    let e = c.update(forged, now).unwrap_err();
    assert_eq!(e.reason(), "unproven-conflict");
    assert!(!c.is_frozen());
}

#[test]
fn light_blocks_round_trip_through_json_and_cbor() {
    let w = clique();
    let a = attested();
    let blocks = vec![
        w.blocks[0].clone(),
        w.blocks[5].clone(),
        a.block(far_header(&a, 7, EMPTY_TRIE_ROOT, 1), &[1, 2]),
    ];
    for block in blocks {
        let json = serde_json::to_string(&block).unwrap();
        assert_eq!(serde_json::from_str::<EvmBlock>(&json).unwrap(), block);
        let mut cbor = Vec::new();
        ciborium::into_writer(&block, &mut cbor).unwrap();
        assert_eq!(
            ciborium::from_reader::<EvmBlock, _>(cbor.as_slice()).unwrap(),
            block
        );
    }
    // A header that is not strict RLP does not deserialize.
    let json = serde_json::to_string(&w.blocks[1]).unwrap();
    let encoded = hex::encode(w.blocks[1].header.encode());
    let broken = json.replace(&encoded, &format!("fa00{}", &encoded[2..]));
    assert!(serde_json::from_str::<EvmBlock>(&broken).is_err());
    // A quorum with a zero threshold does not deserialize.
    let json = serde_json::to_string(&a.quorum).unwrap();
    let zero = json.replace("\"threshold\":2", "\"threshold\":0");
    assert!(serde_json::from_str::<WeakTrustAttestationQuorum>(&zero).is_err());
}

/// The mainnet block 21,925,176 of the shared vectors, taken as an attested root: its real
/// receipt at index 0x27 proves down to its first log, which is no corridor event.
#[test]
fn shared_vectors_a_real_receipt_proof_reaches_its_log() {
    let Some(dir) = common::vectors_dir("evm_family") else {
        return;
    };
    let dir = dir.join("evm");
    let header = Header::from_json(&common::read_json(
        &dir.join("headers/helios_mainnet-21925176_block.json"),
    ))
    .unwrap();
    let rp =
        common::read_json(&dir.join("receipts_txs/helios_mainnet-21925176_receipt-proof.json"));
    let nodes: Vec<Vec<u8>> = rp["receiptProof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| hex::decode(n.as_str().unwrap().trim_start_matches("0x")).unwrap())
        .collect();
    let emitter = Address::from_hex(rp["receipt"]["logs"][0]["address"].as_str().unwrap()).unwrap();
    let a = attested();
    let block = EvmBlock::attested_root(
        chain_id(),
        CorridorContracts {
            outbox: emitter,
            inbox: emitter,
        },
        a.quorum.clone(),
        header,
        vec![],
    );
    let proof = EvmLogProof {
        receipt: ReceiptProof { index: 0x27, nodes },
        log_index: 0,
    };
    assert_eq!(
        EvmFamily.verify_leaf(
            &block,
            CommitmentRoot::Messages,
            b"outbox/k",
            b"leaf",
            &proof
        ),
        Err(LeafProofError::Evm(EvmLeafError::WrongEvent {
            expected: "CorridorMessage(bytes,bytes)"
        }))
    );
    // With the real contract out of configuration, it is the emitter that is refused.
    let mut other = block.clone();
    other.contracts.outbox = Address([0x0b; 20]);
    assert_eq!(
        EvmFamily.verify_leaf(
            &other,
            CommitmentRoot::Messages,
            b"outbox/k",
            b"leaf",
            &proof
        ),
        Err(LeafProofError::Evm(EvmLeafError::WrongEmitter {
            expected: Address([0x0b; 20]),
            got: emitter
        }))
    );
}

/// Keys and leaves are bounded inclusively: exactly 256 bytes of key and 128 KiB of leaf
/// make a corridor log, one byte more of either is refused by its length.
#[test]
fn corridor_logs_take_keys_and_leaves_up_to_their_limits() {
    use corridor_light_client::evm::family::MAX_EVM_KEY_BYTES;
    assert_eq!(MAX_EVM_KEY_BYTES, 256);
    assert_eq!(MAX_EVM_LEAF_BYTES, 128 * 1024);
    let outbox = contracts().outbox;
    let key = vec![7; MAX_EVM_KEY_BYTES];
    let leaf = vec![9; MAX_EVM_LEAF_BYTES];
    let log = corridor_log(outbox, CommitmentRoot::Messages, &key, &leaf).unwrap();
    // Offset and length words, then the leaf, already a multiple of 32 bytes.
    assert_eq!(log.data.len(), 64 + MAX_EVM_LEAF_BYTES);
    assert_eq!(
        corridor_log(outbox, CommitmentRoot::Messages, &[7; 257], &leaf),
        Err(EvmLeafError::KeyTooLong { len: 257, max: 256 })
    );
    assert_eq!(
        corridor_log(
            outbox,
            CommitmentRoot::Messages,
            &key,
            &vec![9; MAX_EVM_LEAF_BYTES + 1]
        ),
        Err(EvmLeafError::LeafTooLarge {
            len: 128 * 1024 + 1,
            max: 128 * 1024
        })
    );
}

/// A log index is refused by its bound from `MAX_LOGS` up, before the receipt is read;
/// below it, a receipt without that many logs is refused by its count.
#[test]
fn a_log_index_is_bounded_by_the_most_logs_a_receipt_holds() {
    use corridor_light_client::evm::receipt::MAX_LOGS;
    let w = clique();
    let m = &w.messages[1];
    let (key, leaf) = (message_key(m), m.leaf().unwrap());
    let check = |log_index: u64| {
        let mut proof = log_proof(&w.trie, 1, 1);
        proof.log_index = log_index;
        EvmFamily.verify_leaf(&w.blocks[4], CommitmentRoot::Messages, &key, &leaf, &proof)
    };
    let max = MAX_LOGS as u64;
    assert_eq!(
        check(max),
        Err(LeafProofError::Evm(EvmLeafError::LogIndexTooLarge {
            log_index: max,
            max: MAX_LOGS
        }))
    );
    assert!(matches!(
        check(max - 1),
        Err(LeafProofError::Evm(EvmLeafError::Receipt(
            ReceiptError::NoSuchLog { .. }
        )))
    ));
    assert_eq!(check(1), Ok(()));
}

/// A seal of another rule than the trusted chain's is refused naming both rules.
#[test]
fn a_seal_of_another_rule_names_the_rule_and_the_seal() {
    let w = clique();
    let a = attested();
    let now = Time::from_unix_secs(GENESIS_TIME + 12 * 200).unwrap();
    let mismatch = |trusted: &EvmBlock, block: EvmBlock| {
        let state = EvmFamily.trusted_state(trusted);
        match EvmFamily.verify_update(&block, &state, &options(), now) {
            Verdict::Invalid(VerificationError::Evm { source, .. }) => *source,
            other => panic!("not an evm refusal: {other:?}"),
        }
    };
    // Attestations on a Clique chain.
    let mut block = w.blocks[1].clone();
    block.seal = EvmSeal::Attested {
        quorum: a.quorum.clone(),
        attestations: vec![],
    };
    assert_eq!(
        mismatch(&w.blocks[0], block),
        EvmError::RuleMismatch {
            configured: "clique",
            given: "weak-trust-attestations"
        }
    );
    // A Clique header and a Clique checkpoint on an attested chain.
    let header = far_header(&a, 5, EMPTY_TRIE_ROOT, 1);
    let mut block = a.block(header, &[0, 1]);
    block.seal = w.blocks[1].seal.clone();
    assert_eq!(
        mismatch(&a.root, block.clone()),
        EvmError::RuleMismatch {
            configured: "weak-trust-attestations",
            given: "clique"
        }
    );
    block.seal = EvmSeal::CliqueCheckpoint(CONFIG);
    assert_eq!(
        mismatch(&a.root, block),
        EvmError::RuleMismatch {
            configured: "weak-trust-attestations",
            given: "clique-checkpoint"
        }
    );
}

/// The trusted state of a block is at its height, with its hash and contracts.
#[test]
fn a_trusted_state_keeps_the_height_hash_and_contracts_of_its_block() {
    let w = clique();
    for block in &w.blocks[..3] {
        let state = EvmFamily.trusted_state(block);
        assert_eq!(state.height(), Height(block.header.number));
        assert_eq!(state.hash(), block.header.hash());
        assert_eq!(state.contracts(), contracts());
        assert_eq!(EvmFamily.trusted_height(&state), state.height());
        assert_eq!(
            EvmFamily.block_time(block),
            Time::from_unix_secs(block.header.timestamp).unwrap()
        );
    }
    // A timestamp past what nanoseconds hold is as late as a time can be.
    let mut late = w.blocks[1].clone();
    late.header.timestamp = u64::MAX;
    assert_eq!(EvmFamily.block_time(&late), Time::from_unix_nanos(u64::MAX));
}

/// An attested header right after the trusted one must name it as its parent; one further
/// ahead cannot (the headers between are unknown), as the skipping test shows.
#[test]
fn an_adjacent_attested_header_must_name_its_parent() {
    let a = attested();
    let now = Time::from_unix_secs(GENESIS_TIME + 12 * 200).unwrap();
    let mut h = far_header(&a, 1, EMPTY_TRIE_ROOT, 1);
    h.parent_hash = a.root.header.hash();
    let mut c = a.client();
    assert_eq!(
        c.update(a.block(h.clone(), &[0, 1]), now),
        Ok(UpdateOutcome::Trusted(Height(1)))
    );
    h.parent_hash = Hash32([9; 32]);
    let mut c = a.client();
    assert_eq!(
        c.update(a.block(h, &[0, 1]), now),
        Err(ClientError::Invalid(
            VerificationError::ParentHashMismatch {
                height: Height(1),
                expected: a.root.header.hash(),
                got: Hash32([9; 32])
            }
        ))
    );
}

/// A root block is the root's header with the terms the trust root pins: its contracts and
/// its Clique parameters or attestation quorum, which the header hash does not commit. A
/// root block of the right header with other terms is refused before any signature, and
/// the client stays empty; the attestations are not part of the terms.
#[test]
fn a_root_block_must_carry_the_terms_its_trust_root_pins() {
    let w = clique();
    let a = attested();
    let root_of = |block: &EvmBlock, pin: Option<Hash32>| TrustRoot {
        chain_id: chain_id(),
        height: Height(block.header.number),
        header_hash: block.header.hash(),
        pin,
    };
    let clique_pin = root_pin(&contracts(), &EvmSeal::CliqueCheckpoint(CONFIG));
    let quorum_pin = root_pin(
        &contracts(),
        &EvmSeal::Attested {
            quorum: a.quorum.clone(),
            attestations: vec![],
        },
    );
    assert!(clique_pin.is_some() && quorum_pin.is_some() && clique_pin != quorum_pin);
    assert_eq!(EvmFamily.root_pin(&w.blocks[0]), clique_pin);
    assert_eq!(EvmFamily.root_pin(&a.root), quorum_pin);

    let other_contracts = CorridorContracts {
        inbox: Address([0x2b; 20]),
        ..contracts()
    };
    let mut moved = w.blocks[0].clone();
    moved.contracts = other_contracts;
    let mut epoch = w.blocks[0].clone();
    epoch.seal = EvmSeal::CliqueCheckpoint(CliqueConfig {
        epoch: CONFIG.epoch + 1,
        ..CONFIG
    });
    let lone = WeakTrustAttestationQuorum::new(
        EVM_CHAIN_ID,
        &[AttestorKey::Ed25519(a.ed.public_key())],
        1,
    )
    .unwrap();
    let mut weaker = a.root.clone();
    weaker.seal = EvmSeal::Attested {
        quorum: lone,
        attestations: vec![],
    };
    for (name, block, pin) in [
        ("other contracts", moved, clique_pin),
        ("another epoch", epoch, clique_pin),
        ("a weaker quorum", weaker, quorum_pin),
        ("no pin named", w.blocks[0].clone(), None),
    ] {
        let got = EvmFamily.root_pin(&block);
        let mut client = LightClient::<EvmFamily>::new(root_of(&block, pin), options());
        let e = client.update(block, w.now).unwrap_err();
        match &e {
            ClientError::RootPinMismatch {
                height,
                expected,
                got: shown,
                ..
            } => {
                assert_eq!((height.0, expected.0, shown.0), (0, pin, got), "{name}");
                assert_ne!(expected.0, shown.0, "{name}");
            }
            e => panic!("{name}: {e}"),
        }
        assert_eq!(e.reason(), "not-the-trust-root");
        assert_eq!(client.trusted_len(), 0, "{name}");
    }
    // Attestations on the root are not terms: the same quorum with some still matches.
    let mut signed = a.root.clone();
    if let EvmSeal::Attested { attestations, .. } = &mut signed.seal {
        *attestations = a.attest(&a.root.header, &[0, 2]);
    }
    assert_eq!(EvmFamily.root_pin(&signed), quorum_pin);
    let mut client = LightClient::<EvmFamily>::new(root_of(&signed, quorum_pin), options());
    assert_eq!(
        client.update(signed, w.now),
        Ok(UpdateOutcome::Trusted(Height(0)))
    );
    // The error names both pins, or "nothing".
    let e = LightClient::<EvmFamily>::new(root_of(&w.blocks[0], None), options())
        .update(w.blocks[0].clone(), w.now)
        .unwrap_err();
    assert!(
        e.to_string().ends_with(&format!(
            "pins nothing; the root block given pins {}",
            clique_pin.unwrap()
        )),
        "{e}"
    );
}
