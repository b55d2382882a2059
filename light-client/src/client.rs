//! A native light-client state: trusted blocks by height, misbehaviour detection, freezing.
//!
//! [`NativeClient::update`] takes any light block:
//! - above the latest trusted height, it is verified from the latest trusted block (the
//!   verdict may be [`Verdict::NotEnoughTrust`]: bisect with [`crate::bisection`]);
//! - at a height already trusted with the same hash, nothing changes;
//! - at a height already trusted with a **different** hash, it is checked as a real
//!   conflict: consistent and signed by more than 2/3 of its set, and, when it is not the
//!   trust root, verifiable from the trusted block below it. A real conflict is
//!   misbehaviour: the client keeps [`Evidence`] and freezes, refusing every later update;
//! - below the latest height and not yet trusted, it is verified from the nearest trusted
//!   block below it.
//!
//! The number of trusted blocks kept is bounded; the oldest (other than the root) go first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::native::{LightBlock, NativeVerifier, TrustedState};
use crate::signature::PublicKey;
use crate::types::{Height, Options, Time};
use crate::verifier::{Verdict, VerificationError, Verifier};

/// Most trusted blocks a client keeps.
pub const MAX_TRUSTED_BLOCKS: usize = 1024;

/// Proof that a chain's validators signed two different blocks at one height.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The block the client trusted.
    pub trusted: LightBlock,
    /// The conflicting block.
    pub conflicting: LightBlock,
    /// Keys that signed both blocks, sorted.
    pub double_signers: Vec<PublicKey>,
}

impl Evidence {
    /// Builds evidence from two blocks at one height with different hashes, or `None` when
    /// they do not conflict. Both must be self-consistent and validly signed.
    pub fn from_conflict(
        trusted: &LightBlock,
        conflicting: &LightBlock,
    ) -> Result<Option<Self>, VerificationError> {
        if trusted.height() != conflicting.height()
            || trusted.header().chain_id != conflicting.header().chain_id
            || trusted.header().hash() == conflicting.header().hash()
        {
            return Ok(None);
        }
        let a = NativeVerifier.verify_self_consistent(trusted)?;
        let b = NativeVerifier.verify_self_consistent(conflicting)?;
        let mut double_signers: Vec<PublicKey> = a.into_iter().filter(|k| b.contains(k)).collect();
        double_signers.sort();
        Ok(Some(Self {
            trusted: trusted.clone(),
            conflicting: conflicting.clone(),
            double_signers,
        }))
    }
}

/// What an update did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The block is now trusted.
    Trusted(Height),
    /// The block was trusted already.
    AlreadyTrusted(Height),
    /// Not enough of the trusted set signed it: fetch a block in between.
    NotEnoughTrust(Height),
    /// The block conflicts with a trusted one: the client is now frozen.
    Misbehaviour(Box<Evidence>),
}

/// Why an update was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The client holds evidence of misbehaviour and accepts nothing more.
    #[error("light client of {chain} is frozen since misbehaviour at height {height}")]
    Frozen {
        /// The chain.
        chain: String,
        /// Height of the conflicting blocks.
        height: Height,
    },
    /// The block is invalid.
    #[error(transparent)]
    Invalid(#[from] VerificationError),
    /// The block is below the trust root: nothing trusted can vouch for it.
    #[error("height {height} is below the trust root at {root}")]
    BelowRoot {
        /// Height of the block.
        height: Height,
        /// Lowest trusted height.
        root: Height,
    },
}

/// A light client of one native chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NativeClient {
    options: Options,
    trusted: BTreeMap<Height, LightBlock>,
    root: Height,
    root_block: LightBlock,
    evidence: Option<Evidence>,
}

impl NativeClient {
    /// A client whose trust root is `root`, a block the operator trusts (from config).
    pub fn new(root: LightBlock, options: Options) -> Self {
        let height = root.height();
        let mut trusted = BTreeMap::new();
        trusted.insert(height, root.clone());
        Self {
            options,
            trusted,
            root: height,
            root_block: root,
            evidence: None,
        }
    }

    /// The options the client verifies with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The latest trusted block.
    pub fn latest(&self) -> Option<&LightBlock> {
        self.trusted.values().next_back()
    }

    /// The latest trusted height.
    pub fn latest_height(&self) -> Height {
        self.trusted
            .keys()
            .next_back()
            .copied()
            .unwrap_or(self.root)
    }

    /// The trusted block at `height`, if kept.
    pub fn trusted_at(&self, height: Height) -> Option<&LightBlock> {
        self.trusted.get(&height)
    }

    /// The evidence that froze the client, if it is frozen.
    pub fn evidence(&self) -> Option<&Evidence> {
        self.evidence.as_ref()
    }

    /// Whether the client is frozen.
    pub fn is_frozen(&self) -> bool {
        self.evidence.is_some()
    }

    /// Offers `block` to the client at time `now`.
    pub fn update(&mut self, block: LightBlock, now: Time) -> Result<UpdateOutcome, ClientError> {
        let height = block.height();
        if let Some(e) = &self.evidence {
            return Err(ClientError::Frozen {
                chain: e.trusted.header().chain_id.to_string(),
                height: e.trusted.height(),
            });
        }
        if height < self.root {
            return Err(ClientError::BelowRoot {
                height,
                root: self.root,
            });
        }
        if let Some(existing) = self.trusted.get(&height) {
            if existing.header().hash() == block.header().hash() {
                return Ok(UpdateOutcome::AlreadyTrusted(height));
            }
            return self.handle_conflict(block, now);
        }
        let base = self.base_below(height);
        match NativeVerifier.verify_update(&block, &base, &self.options, now) {
            Verdict::Success => {
                self.insert(block);
                Ok(UpdateOutcome::Trusted(height))
            }
            Verdict::NotEnoughTrust(_) => Ok(UpdateOutcome::NotEnoughTrust(height)),
            Verdict::Invalid(e) => Err(e.into()),
        }
    }

    /// A block at a trusted height with another hash: freeze if it is really signed.
    fn handle_conflict(
        &mut self,
        block: LightBlock,
        now: Time,
    ) -> Result<UpdateOutcome, ClientError> {
        let height = block.height();
        if height > self.root {
            // It must verify from below like any block; skipping checks apply.
            let base = self.base_below(height);
            match NativeVerifier.verify_update(&block, &base, &self.options, now) {
                Verdict::Success => {}
                Verdict::NotEnoughTrust(_) => return Ok(UpdateOutcome::NotEnoughTrust(height)),
                Verdict::Invalid(e) => return Err(e.into()),
            }
        }
        let Some(trusted) = self.trusted.get(&height) else {
            return Ok(UpdateOutcome::NotEnoughTrust(height));
        };
        match Evidence::from_conflict(trusted, &block)? {
            Some(evidence) => {
                self.evidence = Some(evidence.clone());
                Ok(UpdateOutcome::Misbehaviour(Box::new(evidence)))
            }
            None => Ok(UpdateOutcome::AlreadyTrusted(height)),
        }
    }

    /// The trusted state of the highest trusted block below `height`.
    fn base_below(&self, height: Height) -> TrustedState {
        let block = self
            .trusted
            .range(..height)
            .next_back()
            .map_or(&self.root_block, |(_, b)| b);
        TrustedState::from_block(block)
    }

    fn insert(&mut self, block: LightBlock) {
        self.trusted.insert(block.height(), block);
        while self.trusted.len() > MAX_TRUSTED_BLOCKS {
            let oldest = self.trusted.keys().find(|h| **h != self.root).copied();
            match oldest {
                Some(h) => self.trusted.remove(&h),
                None => break,
            };
        }
    }
}
