//! A sans-IO bisection planner.
//!
//! Given a trusted state and a target height, the planner says which height to fetch next
//! ([`Bisection::next_height`]); the caller fetches that light block however it likes and
//! hands it back ([`Bisection::handle_light_block`]). When a block verifies, it becomes the
//! new trusted state and the planner aims at the target again; when there is not enough
//! trust to skip to it, the planner aims at the midpoint between the trusted height and the
//! height it tried. An adjacent step never lacks trust, so every target is reached in at
//! most about `log2(target - trusted)` verifications per trust hop, or verification fails.
//!
//! Call order: `new`, then repeat `next_height` / `handle_light_block` until
//! `next_height` returns `None`; then read [`Bisection::outcome`].

use crate::types::{Height, Options, Time};
use crate::verifier::{Verdict, VerificationError, Verifier};

/// Most light blocks one bisection will verify before giving up.
pub const MAX_STEPS: usize = 256;

/// Where a bisection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<S> {
    /// Still fetching.
    InProgress,
    /// The target height is trusted; the state is the target's.
    Done(S),
    /// A block failed verification.
    Failed(VerificationError),
    /// More than [`MAX_STEPS`] blocks were needed.
    TooManySteps,
}

/// Why a light block handed to the planner was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BisectionError {
    /// The block is not at the height the planner asked for.
    #[error("asked for height {expected}, got a block at height {got}")]
    UnexpectedHeight {
        /// Height asked for.
        expected: Height,
        /// Height of the block given.
        got: Height,
    },
    /// The bisection is already over.
    #[error("bisection is finished")]
    Finished,
}

/// The planner. Generic over the chain family's [`Verifier`].
pub struct Bisection<V: Verifier> {
    verifier: V,
    options: Options,
    target: Height,
    trusted: V::TrustedState,
    /// Heights tried and found lacking trust, nearest last: the stack of pending targets.
    pending: Vec<Height>,
    /// Every state trusted on the way, in order (for the caller to persist).
    path: Vec<V::TrustedState>,
    steps: usize,
    outcome: Outcome<V::TrustedState>,
}

impl<V: Verifier> Bisection<V> {
    /// Starts a bisection from `trusted` to `target`.
    pub fn new(verifier: V, trusted: V::TrustedState, target: Height, options: Options) -> Self {
        let outcome = if verifier.trusted_height(&trusted) >= target {
            Outcome::Done(trusted.clone())
        } else {
            Outcome::InProgress
        };
        Self {
            verifier,
            options,
            target,
            trusted,
            pending: vec![target],
            path: Vec::new(),
            steps: 0,
            outcome,
        }
    }

    /// The height to fetch next, or `None` when the bisection is over.
    pub fn next_height(&self) -> Option<Height> {
        match self.outcome {
            Outcome::InProgress => self.pending.last().copied(),
            _ => None,
        }
    }

    /// Verifies the block fetched for [`Self::next_height`] at time `now` and plans the next
    /// step.
    pub fn handle_light_block(
        &mut self,
        block: &V::LightBlock,
        now: Time,
    ) -> Result<(), BisectionError> {
        let expected = self.next_height().ok_or(BisectionError::Finished)?;
        let got = self.verifier.block_height(block);
        if got != expected {
            return Err(BisectionError::UnexpectedHeight { expected, got });
        }
        self.steps = self.steps.saturating_add(1);
        match self
            .verifier
            .verify_update(block, &self.trusted, &self.options, now)
        {
            Verdict::Success => {
                self.trusted = self.verifier.trusted_state(block);
                self.path.push(self.trusted.clone());
                self.pending.pop();
                if got == self.target {
                    self.outcome = Outcome::Done(self.trusted.clone());
                }
            }
            Verdict::NotEnoughTrust(_) => {
                let low = self.verifier.trusted_height(&self.trusted).0;
                // low < got: verification refuses non-increasing heights as Invalid.
                let mid = low.saturating_add(got.0.saturating_sub(low) / 2);
                self.pending.push(Height(mid.max(low.saturating_add(1))));
            }
            Verdict::Invalid(e) => self.outcome = Outcome::Failed(e),
        }
        if matches!(self.outcome, Outcome::InProgress) && self.steps >= MAX_STEPS {
            self.outcome = Outcome::TooManySteps;
        }
        Ok(())
    }

    /// Where the bisection stands.
    pub fn outcome(&self) -> &Outcome<V::TrustedState> {
        &self.outcome
    }

    /// The states trusted so far, in the order they were verified.
    pub fn path(&self) -> &[V::TrustedState] {
        &self.path
    }

    /// Number of blocks verified so far.
    pub fn steps(&self) -> usize {
        self.steps
    }
}
