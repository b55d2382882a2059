//! Pure light clients, Merkle proofs and the trade message envelope of corridor.
//!
//! Nothing here does IO, reads a clock or spawns a task: every function takes what it needs
//! (the trusted state, the untrusted light block, `now`) and returns a value. That keeps the
//! trust-critical rules small, deterministic and testable against recorded vectors.
//!
//! Layout:
//! - [`types`]: chain ids, heights, times, hashes, trust thresholds and verification options
//!   shared by every chain family.
//! - [`verifier`]: the [`verifier::Verifier`] trait and its three-way [`verifier::Verdict`].
//! - [`native`]: the `corridor` chain family (canonical CBOR, SHA3-256, ed25519 commits).
//! - [`cometbft`]: the `cometbft` chain family (protobuf hashing, SHA-256 Merkle trees,
//!   tendermint-rs's verification rules).
//! - [`evm`]: the `evm` chain family (strict RLP, Keccak-256, Merkle-Patricia proofs,
//!   Clique seals, k-of-n attestations as a weaker trust model); self-contained, not yet
//!   behind the generic client.
//! - [`ics23`]: ICS-23 membership and non-membership proofs (iavl, tendermint, smt specs).
//! - [`bisection`]: a sans-IO planner that says which height to fetch next.
//! - [`client`]: a light-client state that stores trusted blocks and freezes on misbehaviour.
//! - [`merkle`]: RFC 6962-style binary Merkle trees, inclusion proofs and multiproofs.
//! - [`envelope`]: the trade message envelope, its commitment and the trader's signature.
//! - [`documents`]: field-level checks of each trade document kind (TRADE-DOCS.md).
//! - [`codec`], [`hash`], [`signature`]: canonical CBOR, domain-separated hashing and
//!   deterministic batch verification of ed25519 signatures.
//! - [`testgen`]: a deterministic generator of signed native light blocks for tests and the
//!   devnet.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

pub mod bisection;
pub mod client;
pub mod codec;
pub mod cometbft;
pub mod documents;
pub mod envelope;
pub mod evm;
pub mod hash;
pub mod ics23;
pub mod merkle;
pub mod native;
pub mod signature;
pub mod testgen;
pub mod types;
pub mod verifier;

pub use types::{ChainId, Hash32, Height, Options, Time, TrustThreshold};
pub use verifier::{Verdict, VerificationError, Verifier, VotingPowerTally};
