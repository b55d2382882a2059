//! ICS-23 commitment proofs: how a value committed in a Cosmos chain's store (IAVL), a
//! CometBFT simple Merkle tree or a sparse Merkle tree is proven against a root, such as a
//! CometBFT header's `app_hash`.
//!
//! - [`LeafOp`], [`InnerOp`]: the hashing steps; [`ExistenceProof`], [`NonExistenceProof`],
//!   [`CommitmentProof`] (single, batch and compressed batch): the proofs.
//! - [`ProofSpec`] with [`iavl_spec`], [`tendermint_spec`], [`smt_spec`]: what a proof for
//!   a given store must look like.
//! - [`verify_membership`], [`verify_non_membership`]: the entry points.
//! - [`decode`]: the protobuf form of `cosmos.ics23.v1.CommitmentProof`, decoded by hand.
//! - `vectors` (feature `testkit`): the JSON test data of the `cosmos/ics23` repository.
//!
//! ## Implements
//! The Go reference (`cosmos/ics23`, the code ibc-go runs), rule for rule: leaf and inner
//! op application, the spec checks (hash and length ops, leaf prefix, inner prefix bounds,
//! suffix a whole number of children, depth limits, the IAVL prefix check of heights, sizes
//! and versions, the tendermint inner-prefix check), key ordering (after prehashing when the
//! spec says so) and the left-most, right-most and neighbour checks of non-existence.
//!
//! Departures: where the Go code would panic on malformed input (a neighbour check on an
//! empty path, a branch not in the child order, a compressed path index out of range), this
//! code returns an error. BLAKE3 and Keccak-256 are supported (the Rust reference has them);
//! RLP length prefixes are not (neither reference has them). A compressed batch is checked in
//! compressed form before it is expanded (see [`DecompressLimits`]): a path longer than the
//! spec's depth limit, or than [`HARD_MAX_DEPTH`] whatever the spec says, and batches
//! expanding past [`MAX_EXPANDED_STEPS`] steps or [`MAX_EXPANDED_BYTES`] bytes are refused,
//! where Go expands first.

pub mod decode;
mod ops;
#[cfg(feature = "testkit")]
pub mod vectors;
mod verify;

pub use ops::{do_hash, do_length};
pub use verify::{
    calculate_existence_root, check_compressed, check_existence_against_spec, decompress,
    decompress_within, left_branches_are_empty, right_branches_are_empty, verify_existence,
    verify_membership, verify_non_existence, verify_non_membership, DecompressLimits,
    HARD_MAX_DEPTH, MAX_COMPRESSED_ENTRIES, MAX_EXPANDED_BYTES, MAX_EXPANDED_STEPS,
};

/// A hash operation (`cosmos.ics23.v1.HashOp`), kept as its protobuf number: protobuf
/// enums are open, and unknown values must compare (and fail) like Go's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct HashOp(pub i32);

impl HashOp {
    /// No hashing.
    pub const NO_HASH: Self = Self(0);
    /// SHA-256.
    pub const SHA256: Self = Self(1);
    /// SHA-512.
    pub const SHA512: Self = Self(2);
    /// Keccak-256.
    pub const KECCAK256: Self = Self(3);
    /// RIPEMD-160.
    pub const RIPEMD160: Self = Self(4);
    /// RIPEMD-160 of SHA-256.
    pub const BITCOIN: Self = Self(5);
    /// SHA-512/256.
    pub const SHA512_256: Self = Self(6);
    /// BLAKE2b-512.
    pub const BLAKE2B_512: Self = Self(7);
    /// BLAKE2s-256.
    pub const BLAKE2S_256: Self = Self(8);
    /// BLAKE3.
    pub const BLAKE3: Self = Self(9);
}

/// A length prefix operation (`cosmos.ics23.v1.LengthOp`), as its protobuf number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct LengthOp(pub i32);

impl LengthOp {
    /// No prefix.
    pub const NO_PREFIX: Self = Self(0);
    /// Protobuf varint of the length.
    pub const VAR_PROTO: Self = Self(1);
    /// RLP length (unsupported).
    pub const VAR_RLP: Self = Self(2);
    /// 32-bit big-endian length.
    pub const FIXED32_BIG: Self = Self(3);
    /// 32-bit little-endian length.
    pub const FIXED32_LITTLE: Self = Self(4);
    /// 64-bit big-endian length.
    pub const FIXED64_BIG: Self = Self(5);
    /// 64-bit little-endian length.
    pub const FIXED64_LITTLE: Self = Self(6);
    /// No prefix, but the data must be 32 bytes.
    pub const REQUIRE_32_BYTES: Self = Self(7);
    /// No prefix, but the data must be 64 bytes.
    pub const REQUIRE_64_BYTES: Self = Self(8);
}

/// How a leaf is hashed: `hash(prefix || length(prehash(key)) || length(prehash(value)))`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LeafOp {
    /// The outer hash.
    pub hash: HashOp,
    /// Hash applied to the key first.
    pub prehash_key: HashOp,
    /// Hash applied to the value first.
    pub prehash_value: HashOp,
    /// Length prefix of the (pre-hashed) key and value.
    pub length: LengthOp,
    /// Bytes before the key.
    pub prefix: Vec<u8>,
}

/// One step up the tree: `hash(prefix || child || suffix)`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InnerOp {
    /// The hash.
    pub hash: HashOp,
    /// Bytes before the child (siblings on the left, node metadata).
    pub prefix: Vec<u8>,
    /// Bytes after the child (siblings on the right).
    pub suffix: Vec<u8>,
}

/// Proof that `key` has `value`: a leaf op, then inner ops from the leaf up to the root.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ExistenceProof {
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
    /// The leaf step (required).
    pub leaf: Option<LeafOp>,
    /// Inner steps, leaf first.
    pub path: Vec<InnerOp>,
}

/// Proof that `key` is absent: the existing neighbours on either side (one may be missing
/// at an edge of the tree).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NonExistenceProof {
    /// The absent key.
    pub key: Vec<u8>,
    /// The nearest key below, if any.
    pub left: Option<ExistenceProof>,
    /// The nearest key above, if any.
    pub right: Option<ExistenceProof>,
}

/// One entry of a batch proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchEntry {
    /// An existence proof.
    Exist(ExistenceProof),
    /// A non-existence proof.
    Nonexist(NonExistenceProof),
}

/// A compressed existence proof: its path refers to shared inner ops by index.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CompressedExistenceProof {
    /// The key.
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
    /// The leaf step.
    pub leaf: Option<LeafOp>,
    /// Indices into the batch's `lookup_inners`.
    pub path: Vec<i32>,
}

/// A compressed non-existence proof.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CompressedNonExistenceProof {
    /// The absent key.
    pub key: Vec<u8>,
    /// The nearest key below.
    pub left: Option<CompressedExistenceProof>,
    /// The nearest key above.
    pub right: Option<CompressedExistenceProof>,
}

/// One entry of a compressed batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompressedBatchEntry {
    /// An existence proof.
    Exist(CompressedExistenceProof),
    /// A non-existence proof.
    Nonexist(CompressedNonExistenceProof),
}

/// `cosmos.ics23.v1.CommitmentProof`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitmentProof {
    /// One existence proof.
    Exist(ExistenceProof),
    /// One non-existence proof.
    Nonexist(NonExistenceProof),
    /// Several proofs against one root.
    Batch(Vec<BatchEntry>),
    /// Several proofs sharing inner ops.
    Compressed {
        /// The entries.
        entries: Vec<CompressedBatchEntry>,
        /// The shared inner ops.
        lookup_inners: Vec<InnerOp>,
    },
}

/// The shape of inner nodes of a tree.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct InnerSpec {
    /// Order of the children in the hashed preimage (a permutation of `0..n`).
    pub child_order: Vec<i32>,
    /// Bytes per child.
    pub child_size: i32,
    /// Fewest bytes before the first child.
    pub min_prefix_length: i32,
    /// Most bytes before the first child.
    pub max_prefix_length: i32,
    /// What an empty child looks like (sparse trees).
    pub empty_child: Vec<u8>,
    /// The inner hash.
    pub hash: HashOp,
}

/// What proofs of one store must look like.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ProofSpec {
    /// Leaf op every proof's leaf must match (prefix as a prefix).
    pub leaf_spec: Option<LeafOp>,
    /// Shape of inner nodes.
    pub inner_spec: Option<InnerSpec>,
    /// Most inner steps (0 means 128).
    pub max_depth: i32,
    /// Fewest inner steps (0 means no minimum).
    pub min_depth: i32,
    /// Compare keys after applying the leaf's key prehash (sparse Merkle trees).
    pub prehash_key_before_comparison: bool,
}

/// The IAVL store's spec (Cosmos SDK module stores).
pub fn iavl_spec() -> ProofSpec {
    ProofSpec {
        leaf_spec: Some(LeafOp {
            hash: HashOp::SHA256,
            prehash_key: HashOp::NO_HASH,
            prehash_value: HashOp::SHA256,
            length: LengthOp::VAR_PROTO,
            prefix: vec![0],
        }),
        inner_spec: Some(InnerSpec {
            child_order: vec![0, 1],
            child_size: 33,
            min_prefix_length: 4,
            max_prefix_length: 12,
            empty_child: Vec::new(),
            hash: HashOp::SHA256,
        }),
        ..ProofSpec::default()
    }
}

/// CometBFT's simple Merkle tree spec (the Cosmos SDK multistore root).
pub fn tendermint_spec() -> ProofSpec {
    ProofSpec {
        leaf_spec: iavl_spec().leaf_spec,
        inner_spec: Some(InnerSpec {
            child_order: vec![0, 1],
            child_size: 32,
            min_prefix_length: 1,
            max_prefix_length: 1,
            empty_child: Vec::new(),
            hash: HashOp::SHA256,
        }),
        ..ProofSpec::default()
    }
}

/// The sparse Merkle tree spec (celestiaorg/smt style): keys are hashed before comparison.
pub fn smt_spec() -> ProofSpec {
    ProofSpec {
        leaf_spec: Some(LeafOp {
            hash: HashOp::SHA256,
            prehash_key: HashOp::SHA256,
            prehash_value: HashOp::SHA256,
            length: LengthOp::NO_PREFIX,
            prefix: vec![0],
        }),
        inner_spec: Some(InnerSpec {
            child_order: vec![0, 1],
            child_size: 32,
            min_prefix_length: 1,
            max_prefix_length: 1,
            empty_child: vec![0; 32],
            hash: HashOp::SHA256,
        }),
        max_depth: 256,
        min_depth: 0,
        prehash_key_before_comparison: true,
    }
}

/// The spec of a named store: `iavl`, `tendermint` or `smt`.
pub fn spec_by_name(name: &str) -> Option<ProofSpec> {
    match name {
        "iavl" => Some(iavl_spec()),
        "tendermint" => Some(tendermint_spec()),
        "smt" => Some(smt_spec()),
        _ => None,
    }
}

/// Why a proof was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Ics23Error {
    /// The protobuf bytes do not decode.
    #[error("proof does not decode: {0}")]
    Decode(String),
    /// A hash or length operation cannot be applied.
    #[error("cannot compute the proof: {0}")]
    Calculation(String),
    /// The proof does not have the shape the spec requires.
    #[error("proof does not match the spec: {0}")]
    Spec(String),
    /// The proof is for another key or value than the one asked about.
    #[error("proof is for another {0}")]
    Mismatch(&'static str),
    /// The proof computes another root.
    #[error("proof computes root {got}, expected {expected}")]
    RootMismatch {
        /// The trusted root.
        expected: String,
        /// What the proof computes.
        got: String,
    },
    /// A non-existence proof's neighbours do not enclose the key, or are not adjacent.
    #[error("non-existence proof is not valid for the key: {0}")]
    Neighbours(&'static str),
    /// The commitment proof holds no proof for the key.
    #[error("no proof for the key in the commitment proof")]
    NoProofForKey,
    /// The proof is of a kind outside `cosmos.ics23.v1` as this crate knows it: its only
    /// proof is in an unknown field of `message`.
    #[error("unsupported proof kind: {message} field {field}")]
    UnsupportedProofKind {
        /// The message holding the field (`CommitmentProof`, `BatchEntry`, ...).
        message: &'static str,
        /// The field number.
        field: u64,
    },
    /// A compressed batch would expand beyond a limit; refused before expanding it.
    #[error("compressed batch refused before expansion: {limit} is {got}, at most {max}")]
    CompressedTooLarge {
        /// Which limit.
        limit: CompressedLimit,
        /// What the compressed proof asks for (a running total for steps and bytes).
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A compressed path names an inner op the batch's lookup table does not have.
    #[error("compressed path index {index} out of range (lookup table has {lookup_len})")]
    CompressedIndexOutOfRange {
        /// The index.
        index: i32,
        /// Length of the lookup table.
        lookup_len: usize,
    },
}

/// A limit on how far a compressed batch may expand ([`DecompressLimits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompressedLimit {
    /// Entries in the batch.
    Entries,
    /// Indices in one path (the spec's depth limit).
    PathLength,
    /// Indices in all paths together.
    ExpandedSteps,
    /// Prefix and suffix bytes of all named inner ops together.
    ExpandedBytes,
}

impl std::fmt::Display for CompressedLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Entries => "the entry count",
            Self::PathLength => "a path length",
            Self::ExpandedSteps => "the expanded step count",
            Self::ExpandedBytes => "the expanded inner-op bytes",
        })
    }
}
