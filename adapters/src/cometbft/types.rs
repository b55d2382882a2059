//! What the CometBFT adapter hands back: its RPC answers parsed and checked for form.
//!
//! These are deliberately plain (bytes as the chain wrote them). The CometBFT light-client
//! family being written in `corridor-light-client` will bring its own types; the adapter will
//! then convert into those instead, and these go away.

use corridor_light_client::signature::PublicKey;
use corridor_light_client::{ChainId, Height, Time};

/// A block id: the header hash and the part-set header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockId {
    /// Header hash (32 bytes).
    pub hash: Vec<u8>,
    /// Number of parts.
    pub part_set_total: u32,
    /// Part-set Merkle root.
    pub part_set_hash: Vec<u8>,
}

/// A CometBFT header, field by field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// `version.block`.
    pub version_block: u64,
    /// `version.app` (0 when absent).
    pub version_app: u64,
    /// Chain id.
    pub chain_id: ChainId,
    /// Height.
    pub height: Height,
    /// Time.
    pub time: Time,
    /// The previous block's id (none at the first height).
    pub last_block_id: Option<BlockId>,
    /// Hash of the previous block's commit.
    pub last_commit_hash: Vec<u8>,
    /// Hash of the transactions.
    pub data_hash: Vec<u8>,
    /// Hash of the validator set.
    pub validators_hash: Vec<u8>,
    /// Hash of the next validator set.
    pub next_validators_hash: Vec<u8>,
    /// Hash of the consensus parameters.
    pub consensus_hash: Vec<u8>,
    /// The application's state root after the previous block.
    pub app_hash: Vec<u8>,
    /// Hash of the previous block's results.
    pub last_results_hash: Vec<u8>,
    /// Hash of the evidence.
    pub evidence_hash: Vec<u8>,
    /// Address of the proposer.
    pub proposer_address: Vec<u8>,
}

/// How a validator voted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockIdFlag {
    /// No vote received.
    Absent,
    /// Voted for this block.
    Commit,
    /// Voted nil.
    Nil,
}

/// One entry of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitSig {
    /// The vote.
    pub flag: BlockIdFlag,
    /// The validator's address (20 bytes; empty when absent).
    pub validator_address: Vec<u8>,
    /// Vote time (none for an absent vote).
    pub timestamp: Option<Time>,
    /// 64-byte ed25519 signature (none for an absent vote).
    pub signature: Option<Vec<u8>>,
}

/// A commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// Height.
    pub height: Height,
    /// Round.
    pub round: u32,
    /// The block voted for.
    pub block_id: BlockId,
    /// One entry per validator of the set, in the set's order.
    pub signatures: Vec<CommitSig>,
}

/// A header and its commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeader {
    /// The header.
    pub header: Header,
    /// The commit.
    pub commit: Commit,
}

/// A validator; its address was checked against its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validator {
    /// First 20 bytes of SHA-256 of the key.
    pub address: [u8; 20],
    /// ed25519 key.
    pub pub_key: PublicKey,
    /// Voting power.
    pub voting_power: u64,
    /// Proposer priority.
    pub proposer_priority: i64,
}

/// What a CometBFT light client needs to verify one header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CometLightBlock {
    /// Header and commit.
    pub signed_header: SignedHeader,
    /// The set that signed it, as the node lists it.
    pub validators: Vec<Validator>,
    /// The set that signs the next header.
    pub next_validators: Vec<Validator>,
}

/// One proof operation of an ABCI query (for ICS-23 proofs, `data` is a protobuf
/// `CommitmentProof`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofOp {
    /// E.g. `ics23:iavl`.
    pub kind: String,
    /// The key proven at this step.
    pub key: Vec<u8>,
    /// The proof bytes.
    pub data: Vec<u8>,
}

/// An ABCI query's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbciQuery {
    /// ABCI result code (0 is success).
    pub code: u32,
    /// The application's log line.
    pub log: String,
    /// Namespace of `code`.
    pub codespace: String,
    /// The key.
    pub key: Vec<u8>,
    /// The value (empty when absent).
    pub value: Vec<u8>,
    /// Height the answer is for: its proof is against the app hash of the header at
    /// `height + 1`.
    pub height: Height,
    /// The proof, outermost last.
    pub proof_ops: Vec<ProofOp>,
}
