//! Building a [`ProofBundle`] for a receiver.
//!
//! The receiver's inbox verifies every delivery with its own light client of the source
//! chain; it can only reach the proof's height from what it already trusts. [`build_bundle`]
//! plans that path with the light client's sans-IO [`Bisection`], fetching each light block
//! the plan asks for from the source chain's adapter, and puts the blocks of the path in the
//! bundle. It also checks the proof against the fetched header itself (verify, don't
//! trust): a source endpoint that serves a bad proof is caught here, before any peer sees it.

use std::collections::BTreeMap;

use corridor_light_client::bisection::{Bisection, Outcome};
use corridor_light_client::native::{LightBlock, NativeVerifier, TrustedState};
use corridor_light_client::{Height, Options, Time};

use crate::adapter::ChainAdapter;
use crate::error::AdapterError;
use crate::types::{OutboundMessage, ProofBundle};

/// Why a bundle could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Fetching from the source failed.
    #[error(transparent)]
    Adapter(#[from] AdapterError),
    /// A light block on the way did not verify.
    #[error("light block of {chain} on the way to height {target} did not verify: {reason}")]
    Verification {
        /// Source chain.
        chain: String,
        /// Target height.
        target: Height,
        /// Why.
        reason: String,
    },
    /// The message's proof does not lead to the header's messages root.
    #[error("proof of sequence {sequence} at height {height} does not verify: {reason}")]
    Proof {
        /// Message sequence.
        sequence: u64,
        /// Height.
        height: Height,
        /// Why.
        reason: String,
    },
}

/// Builds the bundle that brings `outbound` to a receiver whose latest trusted block of the
/// source chain is `trusted`, verifying at time `now` with `options`.
///
/// When the receiver trusts a height at or above the message's, only the message's block is
/// included (the receiver verifies it from the nearest trusted block below).
pub async fn build_bundle<A>(
    source: &A,
    trusted: &LightBlock,
    outbound: OutboundMessage,
    options: Options,
    now: Time,
) -> Result<ProofBundle, BundleError>
where
    A: ChainAdapter<LightBlock = LightBlock> + ?Sized,
{
    let target = outbound.height;
    let chain = source.chain_id().to_string();
    let verification = |reason: String| BundleError::Verification {
        chain: chain.clone(),
        target,
        reason,
    };
    let light_blocks = if trusted.height() >= target {
        vec![source.light_block(target).await?]
    } else {
        let mut plan = Bisection::new(
            NativeVerifier,
            TrustedState::from_block(trusted),
            target,
            options,
        );
        let mut fetched: BTreeMap<Height, LightBlock> = BTreeMap::new();
        while let Some(height) = plan.next_height() {
            let block = match fetched.get(&height) {
                Some(b) => b.clone(),
                None => source.light_block(height).await?,
            };
            plan.handle_light_block(&block, now)
                .map_err(|e| verification(e.to_string()))?;
            fetched.insert(height, block);
        }
        match plan.outcome() {
            Outcome::Done(_) => {}
            Outcome::Failed(e) => return Err(verification(e.to_string())),
            Outcome::TooManySteps => return Err(verification("too many bisection steps".into())),
            Outcome::InProgress => return Err(verification("bisection did not finish".into())),
        }
        let path: Vec<Height> = plan.path().iter().map(|s| s.header.height).collect();
        path.iter()
            .filter_map(|h| fetched.remove(h))
            .collect::<Vec<_>>()
    };
    let Some(last) = light_blocks.last() else {
        return Err(verification("no light block reached the target".into()));
    };
    let leaf = outbound
        .message
        .leaf()
        .map_err(|e| verification(e.to_string()))?;
    outbound
        .proof
        .verify(&leaf, &last.header().messages_root)
        .map_err(|e| BundleError::Proof {
            sequence: outbound.message.sequence,
            height: target,
            reason: e.to_string(),
        })?;
    Ok(ProofBundle {
        message: outbound.message,
        proof: outbound.proof,
        height: target,
        light_blocks,
    })
}
