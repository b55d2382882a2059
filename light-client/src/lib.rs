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
//!   Clique seals, k-of-n attestations as a weaker trust model, receipt proofs of the
//!   corridor contracts' logs).
//! - [`ics23`]: ICS-23 membership and non-membership proofs (iavl, tendermint, smt specs).
//! - [`bisection`]: a sans-IO planner that says which height to fetch next.
//! - [`family`]: the [`family::Family`] trait each chain family implements for the generic
//!   client: block identity, signers, leaf proofs against a verified header.
//! - [`any`]: [`any::AnyFamily`], every family as one, for a relay whose channels join
//!   chains of different families.
//! - [`client`]: the generic [`client::LightClient`]: trust root, a bounded window of
//!   trusted blocks, bisection, freezing on proven misbehaviour.
//! - [`bundle`]: proof bundles and [`bundle::verify_bundle`], which every receiver calls.
//! - [`receipt`]: receipts, their results and proofs, and [`receipt::verify_receipt`].
//! - [`merkle`]: RFC 6962-style binary Merkle trees, inclusion proofs and multiproofs.
//! - [`envelope`]: the trade message envelope, its commitment and the trader's signature.
//! - [`documents`]: field-level checks of each trade document kind (TRADE-DOCS.md).
//! - [`codec`], [`hash`], [`signature`]: canonical CBOR, domain-separated hashing and
//!   deterministic batch verification of ed25519 signatures.
//!
//! Test-only code sits behind the `testkit` feature, outside what a relay build links: the
//! block generator `testgen` (the devnet chain and tests), `testkit` (the vectors folder,
//! temporary folders, the wall clock for tests), the vector runners
//! (`native::vectors`, `cometbft::vectors`, `ics23::vectors`, `evm::vectors`) and the document examples
//! (`documents::examples`).
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

pub mod any;
pub mod bisection;
pub mod bundle;
pub mod client;
pub mod codec;
pub mod cometbft;
pub mod documents;
pub mod envelope;
pub mod evm;
pub mod family;
pub mod hash;
pub mod ics23;
pub mod merkle;
pub mod native;
pub mod prepared;
pub mod receipt;
pub mod signature;
#[cfg(feature = "testkit")]
pub mod testgen;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod types;
pub mod verifier;

pub use types::{ChainId, Hash32, Height, Options, Time, TrustThreshold};
pub use verifier::{Verdict, VerificationError, Verifier, VotingPowerTally};

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers of the unit tests.

    /// Property-test settings for the suite: a fixed seed, so a run in CI never fails at random,
    /// and `cases` cases. `PROPTEST_RNG_SEED` and `PROPTEST_CASES` override both, which is how
    /// the long randomized runs are made (BENCHMARKS.md and the README say how).
    pub(crate) fn proptest_config(cases: u32) -> proptest::test_runner::Config {
        use proptest::test_runner::{Config, RngSeed};
        // `Config::default()` reads the PROPTEST_* environment variables.
        let mut config = Config::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            config.cases = cases;
        }
        if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
            config.rng_seed = RngSeed::Fixed(PROPTEST_SEED);
        }
        config
    }

    /// The suite's fixed property-test seed.
    pub(crate) const PROPTEST_SEED: u64 = 0x00C0_2219_D042;
}
