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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifier::VotingPowerTally;

    /// A chain whose blocks are their heights: a block verifies from a trusted one at most
    /// `reach` heights below it and blocks in `forged` never verify. Its first `refusals`
    /// answers lack trust whatever the block, even an adjacent one.
    struct Reach {
        reach: u64,
        forged: Vec<u64>,
        refusals: core::cell::Cell<usize>,
    }

    impl Reach {
        fn new(reach: u64) -> Self {
            Self {
                reach,
                forged: Vec::new(),
                refusals: core::cell::Cell::new(0),
            }
        }
    }

    fn lacking() -> Verdict {
        Verdict::NotEnoughTrust(VotingPowerTally {
            total: 3,
            tallied: 1,
            trust_threshold: Options::default().trust_threshold,
        })
    }

    impl Verifier for Reach {
        type LightBlock = Height;
        type TrustedState = Height;

        fn verify_update(&self, block: &Height, trusted: &Height, _: &Options, _: Time) -> Verdict {
            if block <= trusted {
                return Verdict::Invalid(VerificationError::NonIncreasingHeight {
                    height: *block,
                    trusted: *trusted,
                });
            }
            if self.forged.contains(&block.0) {
                return Verdict::Invalid(VerificationError::NonIncreasingHeight {
                    height: *block,
                    trusted: *trusted,
                });
            }
            let refusals = self.refusals.get();
            if refusals > 0 {
                self.refusals.set(refusals - 1);
                return lacking();
            }
            if block.0 - trusted.0 > self.reach {
                lacking()
            } else {
                Verdict::Success
            }
        }

        fn trusted_state(&self, block: &Height) -> Height {
            *block
        }

        fn block_height(&self, block: &Height) -> Height {
            *block
        }

        fn trusted_height(&self, state: &Height) -> Height {
            *state
        }
    }

    /// Runs a bisection to the end, answering each request with the block asked for.
    /// Returns the heights asked for, in order.
    fn run(bisection: &mut Bisection<Reach>) -> Vec<u64> {
        let mut asked = Vec::new();
        while let Some(h) = bisection.next_height() {
            assert!(asked.len() < MAX_STEPS, "bisection does not end: {asked:?}");
            asked.push(h.0);
            bisection.handle_light_block(&h, Time::EPOCH).unwrap();
        }
        asked
    }

    #[test]
    fn a_block_within_reach_is_one_step() {
        let mut b = Bisection::new(Reach::new(10), Height(5), Height(15), Options::default());
        assert_eq!(run(&mut b), [15]);
        assert_eq!(b.steps(), 1);
        assert_eq!(b.outcome(), &Outcome::Done(Height(15)));
        assert_eq!(b.path(), [Height(15)]);
    }

    #[test]
    fn lacking_trust_halves_the_gap_rounding_down() {
        // From 0 to 100 with a reach of 10: 100, 50, 25 and 12 lack trust (gaps 100, 50, 25,
        // 12), 6 is within reach; then each pending target again, halving from the new base.
        let mut b = Bisection::new(Reach::new(10), Height(0), Height(100), Options::default());
        let asked = run(&mut b);
        assert_eq!(
            asked,
            [
                100, 50, 25, 12, 6, 12, 25, 18, 25, 50, 37, 31, 37, 50, 43, 50, 100, 75, 62, 56,
                62, 75, 68, 75, 100, 87, 81, 87, 100, 93, 100
            ]
        );
        assert_eq!(b.steps(), asked.len());
        assert_eq!(b.outcome(), &Outcome::Done(Height(100)));
        // The path is every verified block, in order, ending at the target.
        let verified: Vec<Height> = [
            6, 12, 18, 25, 31, 37, 43, 50, 56, 62, 68, 75, 81, 87, 93, 100,
        ]
        .map(Height)
        .to_vec();
        assert_eq!(b.path(), verified);
    }

    #[test]
    fn an_odd_gap_bisects_below_its_middle_and_an_adjacent_gap_to_the_next_block() {
        // Only adjacent blocks verify: from 10 the gap 3 splits at 11, then 11 to 13 at 12.
        let mut b = Bisection::new(Reach::new(1), Height(10), Height(13), Options::default());
        assert_eq!(run(&mut b), [13, 11, 13, 12, 13]);
        assert_eq!(b.steps(), 5);
        assert_eq!(b.path(), [11, 12, 13].map(Height));
    }

    /// A bisection from 1 to 2 whose first `refusals` answers lack trust.
    fn adjacent_after(refusals: usize) -> Bisection<Reach> {
        let verifier = Reach {
            refusals: core::cell::Cell::new(refusals),
            ..Reach::new(1)
        };
        Bisection::new(verifier, Height(1), Height(2), Options::default())
    }

    #[test]
    fn every_step_counts_and_the_planner_gives_up_after_max_steps() {
        let mut b = adjacent_after(usize::MAX);
        let mut count = 0;
        while let Some(h) = b.next_height() {
            assert!(count < MAX_STEPS, "bisection does not end");
            // Nothing to halve between adjacent heights: the planner asks for the next one.
            assert_eq!(h, Height(2));
            assert_eq!(b.steps(), count);
            assert_eq!(b.outcome(), &Outcome::InProgress);
            b.handle_light_block(&h, Time::EPOCH).unwrap();
            count += 1;
        }
        assert_eq!(count, MAX_STEPS);
        assert_eq!(b.steps(), MAX_STEPS);
        assert_eq!(b.outcome(), &Outcome::TooManySteps);
        assert!(b.path().is_empty());
        assert_eq!(
            b.handle_light_block(&Height(2), Time::EPOCH),
            Err(BisectionError::Finished)
        );
    }

    #[test]
    fn the_target_reached_on_the_last_allowed_step_is_done() {
        let mut b = adjacent_after(MAX_STEPS - 1);
        assert_eq!(run(&mut b).len(), MAX_STEPS);
        assert_eq!(b.steps(), MAX_STEPS);
        assert_eq!(b.outcome(), &Outcome::Done(Height(2)));

        let mut b = adjacent_after(MAX_STEPS);
        assert_eq!(run(&mut b).len(), MAX_STEPS);
        assert_eq!(b.outcome(), &Outcome::TooManySteps);
    }

    #[test]
    fn adjacent_only_trust_descends_to_the_base_and_climbs_back() {
        let mut b = Bisection::new(Reach::new(1), Height(0), Height(8), Options::default());
        let asked = run(&mut b);
        assert_eq!(asked, [8, 4, 2, 1, 2, 4, 3, 4, 8, 6, 5, 6, 8, 7, 8]);
        assert_eq!(b.steps(), 15);
        assert_eq!(b.outcome(), &Outcome::Done(Height(8)));
    }

    #[test]
    fn an_invalid_block_ends_the_bisection() {
        let verifier = Reach {
            forged: vec![6],
            ..Reach::new(10)
        };
        let mut b = Bisection::new(verifier, Height(0), Height(100), Options::default());
        assert_eq!(run(&mut b), [100, 50, 25, 12, 6]);
        assert_eq!(b.steps(), 5);
        assert_eq!(
            b.outcome(),
            &Outcome::Failed(VerificationError::NonIncreasingHeight {
                height: Height(6),
                trusted: Height(0)
            })
        );
        assert_eq!(b.next_height(), None);
    }

    #[test]
    fn a_block_at_another_height_is_refused_and_not_counted() {
        let mut b = Bisection::new(Reach::new(10), Height(0), Height(100), Options::default());
        assert_eq!(
            b.handle_light_block(&Height(99), Time::EPOCH),
            Err(BisectionError::UnexpectedHeight {
                expected: Height(100),
                got: Height(99)
            })
        );
        assert_eq!(b.steps(), 0);
        assert_eq!(b.next_height(), Some(Height(100)));
    }

    #[test]
    fn a_target_already_trusted_needs_nothing() {
        for target in [Height(4), Height(5)] {
            let mut b = Bisection::new(Reach::new(10), Height(5), target, Options::default());
            assert_eq!(b.outcome(), &Outcome::Done(Height(5)));
            assert_eq!(b.next_height(), None);
            assert_eq!(
                b.handle_light_block(&target, Time::EPOCH),
                Err(BisectionError::Finished)
            );
            assert_eq!(b.steps(), 0);
        }
        let b = Bisection::new(Reach::new(10), Height(5), Height(6), Options::default());
        assert_eq!(b.outcome(), &Outcome::InProgress);
    }
}
