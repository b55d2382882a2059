//! Golden verification vectors of the native family: format and runner.
//!
//! A vector is one JSON file: a trusted light block and an untrusted one (both as hex of
//! their canonical CBOR), the options and `now`, the untrusted header's expected hash, and
//! the expected verdict class with, for `INVALID`, the name of the rule that fails. The
//! stored bytes and hash pin the format: a change to the encoding or the hashing makes the
//! vectors fail. [`crate::testgen::golden_vectors`] writes them.

use serde::{Deserialize, Serialize};

use super::{LightBlock, NativeVerifier, TrustedState};
use crate::types::{Hash32, Options, Time};
use crate::verifier::{Verdict, Verifier};

/// One golden vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeVector {
    /// What the case shows.
    pub description: String,
    /// Verification options.
    pub options: Options,
    /// The verifier's `now`.
    pub now: Time,
    /// Trusted light block, hex of canonical CBOR.
    pub trusted: String,
    /// Untrusted light block, hex of canonical CBOR.
    pub untrusted: String,
    /// The untrusted header's hash.
    pub untrusted_header_hash: Hash32,
    /// `SUCCESS`, `NOT_ENOUGH_TRUST` or `INVALID`.
    pub expected: String,
    /// For `INVALID`: the [`crate::VerificationError`] variant expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What running a vector gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorResult {
    /// Expected verdict (with reason, if any).
    pub expected: String,
    /// Verdict obtained (with reason, if any).
    pub got: String,
}

impl VectorResult {
    /// Whether the vector passed.
    pub fn passed(&self) -> bool {
        self.expected == self.got
    }
}

/// The name of an error variant (its `Debug` form up to the first field).
pub fn variant_name(e: &impl core::fmt::Debug) -> String {
    let s = format!("{e:?}");
    s.split([' ', '(', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl NativeVector {
    /// Builds a vector and computes what `NativeVerifier` says of it.
    pub fn build(
        description: &str,
        trusted: &LightBlock,
        untrusted: &LightBlock,
        options: Options,
        now: Time,
    ) -> Result<Self, crate::codec::CodecError> {
        let verdict = NativeVerifier.verify_update(
            untrusted,
            &TrustedState::from_block(trusted),
            &options,
            now,
        );
        Ok(Self {
            description: description.to_owned(),
            options,
            now,
            trusted: hex::encode(trusted.encode()?),
            untrusted: hex::encode(untrusted.encode()?),
            untrusted_header_hash: untrusted.header().hash(),
            expected: verdict.class().to_owned(),
            reason: match &verdict {
                Verdict::Invalid(e) => Some(variant_name(e)),
                _ => None,
            },
        })
    }

    /// Runs the vector: decodes both blocks, checks the stored header hash, verifies.
    pub fn run(&self) -> Result<VectorResult, String> {
        let decode = |what: &str, hex_str: &str| -> Result<LightBlock, String> {
            let bytes = hex::decode(hex_str).map_err(|e| format!("{what}: bad hex: {e}"))?;
            LightBlock::decode(&bytes).map_err(|e| format!("{what}: {e}"))
        };
        let trusted = decode("trusted", &self.trusted)?;
        let untrusted = decode("untrusted", &self.untrusted)?;
        let hash = untrusted.header().hash();
        if hash != self.untrusted_header_hash {
            return Err(format!(
                "untrusted header hashes to {hash}, vector says {}: the header format changed",
                self.untrusted_header_hash
            ));
        }
        let verdict = NativeVerifier.verify_update(
            &untrusted,
            &TrustedState::from_block(&trusted),
            &self.options,
            self.now,
        );
        let got = match &verdict {
            Verdict::Invalid(e) => format!("INVALID {}", variant_name(e)),
            other => other.class().to_owned(),
        };
        let expected = match &self.reason {
            Some(r) => format!("{} {r}", self.expected),
            None => self.expected.clone(),
        };
        Ok(VectorResult { expected, got })
    }
}
