//! A generator of correctly signed CometBFT light blocks, and their JSON form (the
//! tendermint-rs test-file layout, which both this crate and tendermint-rs parse).

use base64::Engine as _;
use corridor_light_client::cometbft::vote::VoteTemplate;
use corridor_light_client::cometbft::{
    Address, BlockId, Commit, CommitSig, Header, LightBlock, PartSetHeader, SignedHeader,
    Timestamp, Validator, ValidatorSet, Version,
};
use corridor_light_client::signature::SigningKey;
use corridor_light_client::{ChainId, Hash32, Height, Time};
use serde_json::{json, Value};

/// A validator's signing key and power.
#[derive(Clone)]
pub struct Member {
    pub key: SigningKey,
    pub power: u64,
}

/// `n` members with keys from `seed` and powers `power(i)`.
pub fn members(seed: u8, n: usize, power: impl Fn(usize) -> u64) -> Vec<Member> {
    (0..n)
        .map(|i| {
            let mut s = [seed; 32];
            s[..8].copy_from_slice(&(i as u64).to_le_bytes());
            Member {
                key: SigningKey::from_seed(s),
                power: power(i),
            }
        })
        .collect()
}

pub fn set_of(members: &[Member]) -> ValidatorSet {
    ValidatorSet::new(
        members
            .iter()
            .map(|m| Validator::new(m.key.public_key(), m.power))
            .collect(),
    )
    .unwrap()
}

/// What block to build.
pub struct BlockSpec<'a> {
    pub chain_id: &'a str,
    pub height: u64,
    pub time: Time,
    pub validators: &'a [Member],
    pub next_validators: &'a [Member],
    /// Whether the validator at canonical index `i` signs.
    pub signs: &'a dyn Fn(usize) -> bool,
}

/// A light block, signed by the chosen members of its validator set.
pub fn light_block(spec: &BlockSpec<'_>) -> LightBlock {
    light_block_with_app_hash(spec, vec![4; 32])
}

/// As [`light_block`], with the given app hash.
pub fn light_block_with_app_hash(spec: &BlockSpec<'_>, app_hash: Vec<u8>) -> LightBlock {
    let validators = set_of(spec.validators);
    let next_validators = set_of(spec.next_validators);
    let header = Header {
        version: Version { block: 11, app: 1 },
        chain_id: ChainId::new(spec.chain_id).unwrap(),
        height: Height(spec.height),
        time: spec.time,
        last_block_id: Some(BlockId {
            hash: Some(Hash32([7; 32])),
            part_set_header: PartSetHeader {
                total: 1,
                hash: Some(Hash32([8; 32])),
            },
        }),
        last_commit_hash: Some(Hash32([1; 32])),
        data_hash: Some(Hash32([2; 32])),
        validators_hash: validators.hash(),
        next_validators_hash: next_validators.hash(),
        consensus_hash: Hash32([3; 32]),
        app_hash,
        last_results_hash: Some(Hash32([5; 32])),
        evidence_hash: None,
        proposer_address: validators
            .validators()
            .first()
            .map(|v| v.address())
            .unwrap_or_default(),
    };
    let block_id = BlockId {
        hash: Some(header.hash()),
        part_set_header: PartSetHeader {
            total: 1,
            hash: Some(Hash32([9; 32])),
        },
    };
    let mut commit = Commit {
        height: header.height,
        round: 1,
        block_id,
        signatures: vec![],
    };
    let template = VoteTemplate::precommit(&header.chain_id, &commit, Some(&block_id));
    let vote_time = Timestamp::from_time(
        spec.time
            .checked_add(std::time::Duration::from_millis(500))
            .unwrap(),
    );
    commit.signatures = validators
        .validators()
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if !(spec.signs)(i) {
                return CommitSig::Absent;
            }
            let key = spec
                .validators
                .iter()
                .find(|m| m.key.public_key() == *v.pub_key())
                .unwrap();
            CommitSig::Commit {
                validator_address: v.address(),
                timestamp: vote_time,
                signature: key.key.sign(&template.sign_bytes(&vote_time)),
            }
        })
        .collect();
    LightBlock {
        signed_header: SignedHeader { header, commit },
        validators,
        next_validators,
    }
}

fn hex_opt(h: &Option<Hash32>) -> String {
    h.map(|h| hex::encode_upper(h.0)).unwrap_or_default()
}

fn time_text(t: &Timestamp) -> String {
    if *t == Timestamp::GO_ZERO {
        return "0001-01-01T00:00:00Z".into();
    }
    Timestamp::to_time(*t).unwrap().to_string()
}

fn block_id_json(id: &BlockId) -> Value {
    json!({"hash": hex_opt(&id.hash), "part_set_header": {
        "total": id.part_set_header.total, "hash": hex_opt(&id.part_set_header.hash)}})
}

pub fn validator_json(v: &Validator) -> Value {
    json!({
        "address": v.address().to_string(),
        "pub_key": {"type": "tendermint/PubKeyEd25519",
                    "value": base64::engine::general_purpose::STANDARD.encode(v.pub_key().0)},
        "voting_power": v.power().to_string(),
        "proposer_priority": "0",
    })
}

pub fn set_json(set: &ValidatorSet) -> Value {
    json!({
        "validators": set.validators().iter().map(validator_json).collect::<Vec<_>>(),
        "total_voting_power": "0",
    })
}

pub fn header_json(h: &Header) -> Value {
    json!({
        "version": {"block": h.version.block.to_string(), "app": h.version.app.to_string()},
        "chain_id": h.chain_id.as_str(),
        "height": h.height.0.to_string(),
        "time": h.time.to_string(),
        "last_block_id": h.last_block_id.as_ref().map(block_id_json),
        "last_commit_hash": hex_opt(&h.last_commit_hash),
        "data_hash": hex_opt(&h.data_hash),
        "validators_hash": hex::encode_upper(h.validators_hash.0),
        "next_validators_hash": hex::encode_upper(h.next_validators_hash.0),
        "consensus_hash": hex::encode_upper(h.consensus_hash.0),
        "app_hash": hex::encode_upper(&h.app_hash),
        "last_results_hash": hex_opt(&h.last_results_hash),
        "evidence_hash": hex_opt(&h.evidence_hash),
        "proposer_address": h.proposer_address.to_string(),
    })
}

pub fn commit_json(c: &Commit) -> Value {
    let sig = |flag: u8, a: &Address, t: &Timestamp, s: &[u8; 64]| {
        json!({"block_id_flag": flag, "validator_address": a.to_string(), "timestamp": time_text(t),
               "signature": base64::engine::general_purpose::STANDARD.encode(s)})
    };
    json!({
        "height": c.height.0.to_string(),
        "round": c.round,
        "block_id": block_id_json(&c.block_id),
        "signatures": c.signatures.iter().map(|s| match s {
            CommitSig::Absent => json!({"block_id_flag": 1, "validator_address": "",
                "timestamp": "0001-01-01T00:00:00Z", "signature": null}),
            CommitSig::Commit { validator_address, timestamp, signature } =>
                sig(2, validator_address, timestamp, &signature.0),
            CommitSig::Nil { validator_address, timestamp, signature } =>
                sig(3, validator_address, timestamp, &signature.0),
        }).collect::<Vec<_>>(),
    })
}

/// The light block as tendermint-rs test files write it.
pub fn light_block_json(b: &LightBlock) -> Value {
    json!({
        "signed_header": {"header": header_json(&b.signed_header.header),
                          "commit": commit_json(&b.signed_header.commit)},
        "validator_set": set_json(&b.validators),
        "next_validator_set": set_json(&b.next_validators),
        "provider": "BADFADAD0BEFEEDC0C0ADEADBEEFC0FFEEFACADE",
    })
}
