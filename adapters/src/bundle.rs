//! Bringing light clients forward, and building a [`ProofBundle`] for a receiver.
//!
//! - [`sync_client`] brings a light client of a chain to a height with blocks fetched
//!   through the chain's adapter, the client itself verifying each block once: the target
//!   first, and when the client lacks the trust to skip there, the height halfway from its
//!   highest trusted block below, and so on (bisection, at most [`MAX_SYNC_STEPS`]
//!   attempts). Courier, relay and demo all use it.
//! - [`build_bundle`] plans the path from what a receiver trusts to the height of a
//!   message's proof, puts the path's blocks in the bundle, and checks the proof against the
//!   fetched header itself (verify, don't trust): a source endpoint that serves a bad proof
//!   is caught here, before any peer sees it.

use std::collections::BTreeMap;

use corridor_light_client::bisection::{Bisection, Outcome};
use corridor_light_client::bundle::message_key;
use corridor_light_client::client::{ClientError, LightClient, UpdateOutcome};
use corridor_light_client::family::{CommitmentRoot, Family};
use corridor_light_client::native::NativeVerifier;
use corridor_light_client::verifier::{VerificationError, Verifier};
use corridor_light_client::{Height, Options, Time};

use crate::adapter::{ChainAdapter, LightBlockOf};
use crate::error::AdapterError;
use crate::types::{OutboundMessage, ProofBundle};

/// Why a bundle could not be built, or a client not brought forward.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Fetching from the source failed.
    #[error(transparent)]
    Adapter(#[from] AdapterError),
    /// A light block on the way did not verify.
    #[error("light block of {chain} on the way to height {target} did not verify: {source}")]
    Verification {
        /// Source chain.
        chain: String,
        /// Target height.
        target: Height,
        /// Why.
        source: VerificationError,
    },
    /// The light client refused a block of the path.
    #[error("light client of {chain} refused a block on the way to height {target}: {source}")]
    Client {
        /// Source chain.
        chain: String,
        /// Target height.
        target: Height,
        /// Why.
        source: Box<ClientError>,
    },
    /// A block of the path proved misbehaviour: the client is frozen.
    #[error("{chain} misbehaved at height {height}: light client frozen")]
    Misbehaviour {
        /// Source chain.
        chain: String,
        /// Height of the conflict.
        height: Height,
    },
    /// The bisection did not reach the target.
    #[error("no path of light blocks of {chain} to height {target}: {reason}")]
    NoPath {
        /// Source chain.
        chain: String,
        /// Target height.
        target: Height,
        /// Why.
        reason: &'static str,
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

/// Plans and fetches the light blocks that lead from `trusted` to `target` with `options`
/// at `now`: the blocks of the verified path, in increasing height order, `target`'s last.
async fn fetch_path<A>(
    source: &A,
    trusted: &LightBlockOf<A>,
    target: Height,
    options: Options,
    now: Time,
) -> Result<Vec<LightBlockOf<A>>, BundleError>
where
    A: ChainAdapter + ?Sized,
{
    let family = A::Family::default();
    let chain = source.chain_id().to_string();
    let mut plan = Bisection::new(family, family.trusted_state(trusted), target, options);
    let mut fetched: BTreeMap<Height, LightBlockOf<A>> = BTreeMap::new();
    while let Some(height) = plan.next_height() {
        let block = match fetched.get(&height) {
            Some(b) => b.clone(),
            None => source.light_block(height).await?,
        };
        plan.handle_light_block(&block, now)
            .map_err(|_| BundleError::NoPath {
                chain: chain.clone(),
                target,
                reason: "the source served a block at another height",
            })?;
        fetched.insert(height, block);
    }
    match plan.outcome() {
        Outcome::Done(_) => {}
        Outcome::Failed(e) => {
            return Err(BundleError::Verification {
                chain,
                target,
                source: e.clone(),
            })
        }
        Outcome::TooManySteps => {
            return Err(BundleError::NoPath {
                chain,
                target,
                reason: "too many bisection steps",
            })
        }
        Outcome::InProgress => {
            return Err(BundleError::NoPath {
                chain,
                target,
                reason: "bisection did not finish",
            })
        }
    }
    Ok(plan
        .path()
        .iter()
        .filter_map(|s| fetched.remove(&family.trusted_height(s)))
        .collect())
}

/// Brings `client` to trust `target`, fetching blocks from `source` (see the module doc).
/// A client without its root block fetches it first. Returns how many blocks the client
/// took in.
pub async fn sync_client<A>(
    source: &A,
    client: &mut LightClient<A::Family>,
    target: Height,
    now: Time,
) -> Result<usize, BundleError>
where
    A: ChainAdapter + ?Sized,
{
    let chain = source.chain_id().to_string();
    let mut taken = 0usize;
    let mut offer = |client: &mut LightClient<A::Family>, block| {
        offer_outcome::<A::Family>(&chain, target, client.update(block, now), &mut taken)
    };
    if client.latest().is_none() {
        let root = source.light_block(client.root().height).await?;
        offer(client, root)?;
    }
    // Heights still to reach, the next attempt on top; blocks fetched and not yet trusted.
    let mut pending = vec![target];
    let mut fetched: BTreeMap<Height, LightBlockOf<A>> = BTreeMap::new();
    let mut steps = 0usize;
    while let Some(&height) = pending.last() {
        if client.trusted_at(height).is_some() {
            pending.pop();
            continue;
        }
        steps = steps.saturating_add(1);
        if steps > MAX_SYNC_STEPS {
            return Err(BundleError::NoPath {
                chain: chain.clone(),
                target,
                reason: "too many bisection steps",
            });
        }
        let block = match fetched.remove(&height) {
            Some(block) => block,
            None => source.light_block(height).await?,
        };
        match client.update(block.clone(), now) {
            Ok(UpdateOutcome::NotEnoughTrust(..)) => {
                let base =
                    client
                        .trusted_heights_below(height)
                        .ok_or_else(|| BundleError::Client {
                            chain: chain.clone(),
                            target,
                            source: Box::new(ClientError::BelowRoot {
                                height,
                                root: client.root().height,
                            }),
                        })?;
                let middle = Height(base.0.saturating_add(height.0.saturating_sub(base.0) / 2));
                if middle <= base {
                    // Adjacent to a trusted block and still short of trust: no path.
                    return Err(BundleError::NoPath {
                        chain: chain.clone(),
                        target: height,
                        reason: "not enough trust on the verified path",
                    });
                }
                fetched.insert(height, block);
                pending.push(middle);
            }
            outcome => {
                offer_outcome::<A::Family>(&chain, target, outcome, &mut taken)?;
                pending.pop();
            }
        }
    }
    Ok(taken)
}

/// Most blocks [`sync_client`] offers its client while it bisects to one target (a path
/// over any range of heights needs fewer than 64 halvings; the rest is headroom for a
/// chain whose validator sets change often).
pub const MAX_SYNC_STEPS: usize = 256;

/// The outcome of offering a block to a client on the way to `target`, as
/// [`sync_client`] reports it (`taken` counts blocks newly trusted).
fn offer_outcome<F: Family>(
    chain: &str,
    target: Height,
    outcome: Result<UpdateOutcome<F::LightBlock>, ClientError>,
    taken: &mut usize,
) -> Result<(), BundleError> {
    match outcome {
        Ok(UpdateOutcome::Trusted(_)) => {
            *taken = taken.saturating_add(1);
            Ok(())
        }
        Ok(UpdateOutcome::AlreadyTrusted(_)) => Ok(()),
        Ok(UpdateOutcome::NotEnoughTrust(height, _)) => Err(BundleError::NoPath {
            chain: chain.to_owned(),
            target: height,
            reason: "not enough trust on the verified path",
        }),
        Ok(UpdateOutcome::Misbehaviour(e)) => Err(BundleError::Misbehaviour {
            chain: chain.to_owned(),
            height: F::default().block_height(&e.trusted),
        }),
        Err(source) => Err(BundleError::Client {
            chain: chain.to_owned(),
            target,
            source: Box::new(source),
        }),
    }
}

/// What a receiver's light client of the source chain trusts, as far as a bundle builder
/// needs it.
#[derive(Clone, Copy, Debug)]
pub enum ReceiverTrust<'a, B> {
    /// The receiver's latest trusted block.
    Latest(&'a B),
    /// The receiver has no block yet: only its trust root, at this height.
    RootOnly(Height),
}

/// Builds the bundle that brings `outbound` to a receiver whose light client of the source
/// chain trusts `receiver`, verifying at time `now` with `options`.
///
/// When the receiver trusts a height at or above the message's, only the message's block is
/// included (the receiver verifies it from the nearest trusted block below). A receiver
/// with no block yet gets the root block first (it checks its hash against its own trust
/// root), then the path from it.
pub async fn build_bundle<A>(
    source: &A,
    receiver: ReceiverTrust<'_, LightBlockOf<A>>,
    outbound: OutboundMessage,
    options: Options,
    now: Time,
) -> Result<ProofBundle, BundleError>
where
    A: ChainAdapter<Family = NativeVerifier> + ?Sized,
{
    let family = NativeVerifier;
    let target = outbound.height;
    let light_blocks = match receiver {
        ReceiverTrust::Latest(trusted) if family.block_height(trusted) >= target => {
            vec![source.light_block(target).await?]
        }
        ReceiverTrust::Latest(trusted) => fetch_path(source, trusted, target, options, now).await?,
        ReceiverTrust::RootOnly(root) => {
            let root_block = source.light_block(root).await?;
            let mut blocks = if target > root {
                fetch_path(source, &root_block, target, options, now).await?
            } else {
                Vec::new()
            };
            blocks.insert(0, root_block);
            blocks
        }
    };
    let Some(last) = light_blocks.last() else {
        return Err(BundleError::NoPath {
            chain: source.chain_id().to_string(),
            target,
            reason: "no light block reached the target",
        });
    };
    let proof_error = |reason: String| BundleError::Proof {
        sequence: outbound.message.sequence,
        height: target,
        reason,
    };
    let leaf = outbound
        .message
        .leaf()
        .map_err(|e| proof_error(e.to_string()))?;
    family
        .verify_leaf(
            last,
            CommitmentRoot::Messages,
            &message_key(&outbound.message),
            &leaf,
            &outbound.proof,
        )
        .map_err(|e| proof_error(e.to_string()))?;
    Ok(ProofBundle {
        message: outbound.message,
        proof: outbound.proof,
        height: target,
        light_blocks,
    })
}
