//! The generic light client: trusted blocks of one chain of any [`Family`], misbehaviour
//! detection, freezing.
//!
//! A client starts from a [`TrustRoot`], public data from the operator's config: the chain,
//! a height and the hash of the header at that height (and, for a family whose header hash
//! does not commit all a block trusts, its pin: an EVM chain's contracts and quorum,
//! [`Family::root_pin`]). The root block itself comes from
//! anywhere (a node, a peer, a bundle): [`LightClient::update`] takes it when its hash is the
//! root's and it is validly signed by more than 2/3 of its own set. A trust root is never a
//! key or a seed: whoever reads a config learns nothing that lets them sign.
//!
//! [`LightClient::update`] then takes any light block of the chain:
//! - above the latest trusted height, it is verified from the latest trusted block (the
//!   verdict may be "not enough trust": bisect, [`LightClient::bisection`]);
//! - below the latest height and not yet trusted, from the nearest trusted block below it;
//! - at a height already trusted with the same hash, nothing changes;
//! - at a height already trusted with a **different** hash: see below.
//!
//! ## Freezing
//! Two valid, different headers at one height are misbehaviour, but only a conflicting
//! block that the trusted validators really signed proves it. The client freezes, keeping
//! [`Evidence`], when the conflicting block is internally consistent, signed by more than
//! 2/3 of its own set, and either
//! - validators holding more than the trust threshold of the power of the set that signed
//!   the trusted block signed both blocks (double signing, checked signature by signature),
//!   or
//! - it verifies from the trusted block below it by the ordinary rules (a fork the light
//!   client's rules would have accepted).
//!
//! Anything else is refused as [`ClientError::UnprovenConflict`] and changes nothing: a
//! stranger's self-signed block at a trusted height cannot freeze the client. A frozen
//! client refuses every later update until an operator replaces it.
//!
//! The number of trusted blocks kept is bounded ([`MAX_TRUSTED_BLOCKS`]); the oldest other
//! than the root go first.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bisection::Bisection;
use crate::family::{Family, FamilyKind, Signer};
use crate::signature::PublicKey;
use crate::types::{ChainId, Hash32, Height, Options, Time};
use crate::verifier::{Verdict, VerificationError, VotingPowerTally};

/// Most trusted blocks a client keeps.
pub const MAX_TRUSTED_BLOCKS: usize = 1024;

/// What an operator trusts of a chain (DESIGN.md "trust root"): public data only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustRoot {
    /// The chain.
    pub chain_id: ChainId,
    /// Height of the trusted header.
    pub height: Height,
    /// Hash of the trusted header (which commits its validator sets).
    pub header_hash: Hash32,
    /// The family's pin of what the root block trusts that its header hash does not commit
    /// ([`Family::root_pin`]: an EVM chain's contracts and quorum or Clique parameters);
    /// `None` for the families whose header hash commits everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Hash32>,
}

/// A root pin as an error shows it: the digest, or `nothing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinText(pub Option<Hash32>);

impl core::fmt::Display for PinText {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(pin) => write!(f, "{pin}"),
            None => f.write_str("nothing"),
        }
    }
}

/// Proof that a chain's validators signed two different blocks at one height.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "B: Serialize + serde::de::DeserializeOwned")]
pub struct Evidence<B> {
    /// The block the client trusted.
    pub trusted: B,
    /// The conflicting block.
    pub conflicting: B,
    /// Keys whose valid signatures are on both blocks, sorted.
    pub double_signers: Vec<PublicKey>,
    /// Their power in the set that signed the trusted block.
    pub double_signed: VotingPowerTally,
    /// Why the conflict was proven.
    pub proven_by: ConflictProof,
}

/// Which rule proved a conflict (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictProof {
    /// More than the trust threshold of the trusted set signed both blocks.
    DoubleSigning,
    /// The conflicting block verifies from the trusted block below it.
    VerifiesFromTrusted,
}

/// What an update did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateOutcome<B> {
    /// The block is now trusted.
    Trusted(Height),
    /// The block was trusted already.
    AlreadyTrusted(Height),
    /// Not enough of the trusted set signed it: fetch a block in between.
    NotEnoughTrust(Height, VotingPowerTally),
    /// The block conflicts with a trusted one and the conflict is proven: the client is now
    /// frozen.
    Misbehaviour(Box<Evidence<B>>),
}

/// Why an update was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The client holds evidence of misbehaviour and accepts nothing more.
    #[error("light client of {chain} is frozen since misbehaviour at height {height}")]
    Frozen {
        /// The chain.
        chain: ChainId,
        /// Height of the conflicting blocks.
        height: Height,
    },
    /// A block of another family than the client's (a client of
    /// [`AnyFamily`](crate::any::AnyFamily) is made for one family).
    #[error(
        "light client of {chain} follows a {expected} chain; got a {got} block at height {height}"
    )]
    WrongFamily {
        /// The chain.
        chain: ChainId,
        /// Height of the block given.
        height: Height,
        /// The client's family.
        expected: FamilyKind,
        /// The block's family.
        got: FamilyKind,
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
    /// The client has no root block yet and this is not it.
    #[error(
        "the trust root of {chain} is the header {expected} at height {root}; got {got} at \
         height {height}"
    )]
    NotTheRoot {
        /// The chain.
        chain: ChainId,
        /// The root's height.
        root: Height,
        /// The root's header hash.
        expected: Hash32,
        /// Height of the block given.
        height: Height,
        /// Hash of the block given.
        got: Hash32,
    },
    /// The block is the root's header, but what it trusts beyond its header (its pin) is
    /// not what the trust root names.
    #[error(
        "the trust root of {chain} at height {height} pins {expected}; the root block given \
         pins {got}"
    )]
    RootPinMismatch {
        /// The chain.
        chain: ChainId,
        /// The root's height.
        height: Height,
        /// The trust root's pin.
        expected: PinText,
        /// The block's pin.
        got: PinText,
    },
    /// A block at a trusted height with another hash, which neither double signing by the
    /// trusted set nor verification from trusted state proves: refused, nothing changes.
    #[error(
        "block {got} at trusted height {height} conflicts with {trusted}, but only \
         {double_signed} double-signed and it does not verify from trusted state"
    )]
    UnprovenConflict {
        /// The height.
        height: Height,
        /// Hash of the trusted block.
        trusted: Hash32,
        /// Hash of the conflicting block.
        got: Hash32,
        /// Power of the trusted set that the conflicting commit claims signed both
        /// (claimed: a conflict that is not proven has its signatures left unchecked).
        double_signed: VotingPowerTally,
    },
}

impl ClientError {
    /// A short, stable name of the reason, for metric labels and problem types.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Frozen { .. } => "client-frozen",
            Self::WrongFamily { .. } => "wrong-family",
            Self::Invalid(_) => "invalid-light-block",
            Self::BelowRoot { .. } => "below-trust-root",
            Self::NotTheRoot { .. } | Self::RootPinMismatch { .. } => "not-the-trust-root",
            Self::UnprovenConflict { .. } => "unproven-conflict",
        }
    }
}

/// A light client of one chain of family `F`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "F::LightBlock: Serialize + serde::de::DeserializeOwned")]
pub struct LightClient<F: Family> {
    #[serde(skip)]
    family: F,
    kind: FamilyKind,
    root: TrustRoot,
    options: Options,
    trusted: BTreeMap<Height, F::LightBlock>,
    evidence: Option<Evidence<F::LightBlock>>,
    revision: u64,
    /// The trusted state of the latest trusted block, as
    /// [`Verifier::trusted_state_after`](crate::verifier::Verifier::trusted_state_after)
    /// made it when the block was taken in: it carries the family's prepared next validator
    /// set, so a stream of headers does not redo that work. A cache: not serialized, and
    /// only used while its height is the latest (a height's block never changes).
    #[serde(skip)]
    latest_state: Option<F::TrustedState>,
}

impl<F: Family> LightClient<F> {
    /// A client that trusts `root` and verifies with `options`. It trusts no block until
    /// the root block is offered to [`Self::update`].
    pub fn new(root: TrustRoot, options: Options) -> Self {
        Self::with_kind(F::KIND, root, options)
    }

    /// A client of a chain of family `kind`, for a family type that takes several
    /// ([`AnyFamily`](crate::any::AnyFamily)): it refuses blocks of any other family.
    /// `None` when the family type cannot be of that kind.
    pub fn for_family(kind: FamilyKind, root: TrustRoot, options: Options) -> Option<Self> {
        F::takes_kind(kind).then(|| Self::with_kind(kind, root, options))
    }

    fn with_kind(kind: FamilyKind, root: TrustRoot, options: Options) -> Self {
        Self {
            family: F::default(),
            kind,
            root,
            options,
            trusted: BTreeMap::new(),
            evidence: None,
            revision: 0,
            latest_state: None,
        }
    }

    /// A client whose root block is known already (it must be the root's). The client is
    /// made for the block's family (for a family type that takes several).
    pub fn with_root_block(
        root: TrustRoot,
        options: Options,
        block: F::LightBlock,
    ) -> Result<Self, ClientError> {
        let kind = F::default().block_family(&block);
        let mut client = Self::with_kind(kind, root, options);
        client.update(block, Time::from_unix_nanos(0))?;
        Ok(client)
    }

    /// A client whose trust root is `block` itself, for a caller that got the block from a
    /// place it trusts: the block's chain, height and hash become the [`TrustRoot`].
    pub fn trusting(block: F::LightBlock, options: Options) -> Result<Self, ClientError> {
        let family = F::default();
        let root = TrustRoot {
            chain_id: family.block_chain(&block).clone(),
            height: family.block_height(&block),
            header_hash: family.block_hash(&block),
            pin: family.root_pin(&block),
        };
        Self::with_root_block(root, options, block)
    }

    /// The chain.
    pub fn chain_id(&self) -> &ChainId {
        &self.root.chain_id
    }

    /// The family this client was made for. A client read back from a store is checked
    /// against it by [`Self::check_family`].
    pub fn family(&self) -> FamilyKind {
        self.kind
    }

    /// Refuses a client that a store holds under another family's type.
    pub fn check_family(&self) -> Result<(), FamilyKind> {
        if F::takes_kind(self.kind) {
            Ok(())
        } else {
            Err(self.kind)
        }
    }

    /// The trust root.
    pub fn root(&self) -> &TrustRoot {
        &self.root
    }

    /// The options the client verifies with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The latest trusted block, `None` before the root block arrived.
    pub fn latest(&self) -> Option<&F::LightBlock> {
        self.trusted.values().next_back()
    }

    /// The latest trusted height (the root's before the root block arrived).
    pub fn latest_height(&self) -> Height {
        self.trusted
            .keys()
            .next_back()
            .copied()
            .unwrap_or(self.root.height)
    }

    /// When the latest trusted block's trusting period ends: after that the client can
    /// verify nothing new (`None` before the root block arrived, or past the end of time).
    pub fn trusted_until(&self) -> Option<Time> {
        self.latest().and_then(|b| {
            self.family
                .block_time(b)
                .checked_add(self.options.trusting_period)
        })
    }

    /// The trusted state the next update above the latest height is verified from, as
    /// [`Verifier::trusted_state_after`](crate::verifier::Verifier::trusted_state_after)
    /// made it (with the family's prepared next validator set); `None` until a block was
    /// verified from the latest one.
    pub fn latest_state(&self) -> Option<&F::TrustedState> {
        self.latest_state.as_ref()
    }

    /// The trusted block at `height`, if kept.
    pub fn trusted_at(&self, height: Height) -> Option<&F::LightBlock> {
        self.trusted.get(&height)
    }

    /// The highest trusted height below `height`, if any.
    pub fn trusted_heights_below(&self, height: Height) -> Option<Height> {
        self.trusted.range(..height).next_back().map(|(h, _)| *h)
    }

    /// The trusted blocks kept with heights in `range`, in increasing height order: a
    /// relay hands them to a peer or an inbox as the path from what that party trusts.
    pub fn trusted_range(
        &self,
        range: impl core::ops::RangeBounds<Height>,
    ) -> impl DoubleEndedIterator<Item = &F::LightBlock> {
        self.trusted.range(range).map(|(_, b)| b)
    }

    /// Number of trusted blocks kept.
    pub fn trusted_len(&self) -> usize {
        self.trusted.len()
    }

    /// The evidence that froze the client, if it is frozen.
    pub fn evidence(&self) -> Option<&Evidence<F::LightBlock>> {
        self.evidence.as_ref()
    }

    /// Whether the client is frozen.
    pub fn is_frozen(&self) -> bool {
        self.evidence.is_some()
    }

    /// A counter that moves on every change (a block trusted, a freeze): a caller that
    /// persists the client does so when it moved.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// A sans-IO bisection towards `target` from the nearest trusted block below it (see
    /// [`crate::bisection`]); `None` when no trusted block is below `target`. Feed it
    /// blocks until it is done, then offer each block of its [`Bisection::path`] to
    /// [`Self::update`], in order.
    pub fn bisection(&self, target: Height) -> Option<Bisection<F>> {
        let (_, base) = self.trusted.range(..target).next_back()?;
        Some(Bisection::new(
            self.family,
            self.family.trusted_state(base),
            target,
            self.options,
        ))
    }

    /// Offers `block` to the client at time `now`.
    pub fn update(
        &mut self,
        block: F::LightBlock,
        now: Time,
    ) -> Result<UpdateOutcome<F::LightBlock>, ClientError> {
        let height = self.family.block_height(&block);
        if let Some(e) = &self.evidence {
            return Err(ClientError::Frozen {
                chain: self.root.chain_id.clone(),
                height: self.family.block_height(&e.trusted),
            });
        }
        let family = self.family.block_family(&block);
        if family != self.kind {
            return Err(ClientError::WrongFamily {
                chain: self.root.chain_id.clone(),
                height,
                expected: self.kind,
                got: family,
            });
        }
        let chain = self.family.block_chain(&block);
        if chain != &self.root.chain_id {
            return Err(VerificationError::ChainIdMismatch {
                height,
                expected: self.root.chain_id.clone(),
                got: chain.clone(),
            }
            .into());
        }
        if height < self.root.height {
            return Err(ClientError::BelowRoot {
                height,
                root: self.root.height,
            });
        }
        if self.trusted.is_empty() {
            return self.take_root(block);
        }
        if let Some(existing) = self.trusted.get(&height) {
            if self.family.block_hash(existing) == self.family.block_hash(&block) {
                return Ok(UpdateOutcome::AlreadyTrusted(height));
            }
            return self.handle_conflict(block, now);
        }
        let Some((&base_height, base)) = self.trusted.range(..height).next_back() else {
            // Unreachable: the root is kept and every other height is above it.
            return Err(ClientError::BelowRoot {
                height,
                root: self.root.height,
            });
        };
        let is_latest = base_height == self.latest_height();
        let fresh;
        // The cached state is the trusted state of the block at its height, and a trusted
        // height's block never changes: its height matching the base's is all it takes to
        // stand in for the base (it is only ever at the latest height).
        let base = match self
            .latest_state
            .as_ref()
            .filter(|s| self.family.trusted_height(s) == base_height)
        {
            Some(state) => state,
            None => {
                fresh = self.family.trusted_state(base);
                &fresh
            }
        };
        match self.family.verify_update(&block, base, &self.options, now) {
            Verdict::Success => {
                // The block becomes the latest exactly when its base was the latest.
                let next = is_latest.then(|| self.family.trusted_state_after(&block, base));
                self.insert(block);
                if next.is_some() {
                    self.latest_state = next;
                }
                Ok(UpdateOutcome::Trusted(height))
            }
            Verdict::NotEnoughTrust(tally) => Ok(UpdateOutcome::NotEnoughTrust(height, tally)),
            Verdict::Invalid(e) => Err(e.into()),
        }
    }

    /// The first block: it must be the root's header, validly signed by its own set.
    fn take_root(
        &mut self,
        block: F::LightBlock,
    ) -> Result<UpdateOutcome<F::LightBlock>, ClientError> {
        let height = self.family.block_height(&block);
        let got = self.family.block_hash(&block);
        if height != self.root.height || got != self.root.header_hash {
            return Err(ClientError::NotTheRoot {
                chain: self.root.chain_id.clone(),
                root: self.root.height,
                expected: self.root.header_hash,
                height,
                got,
            });
        }
        let pin = self.family.root_pin(&block);
        if pin != self.root.pin {
            return Err(ClientError::RootPinMismatch {
                chain: self.root.chain_id.clone(),
                height,
                expected: PinText(self.root.pin),
                got: PinText(pin),
            });
        }
        self.family.signers(&block)?;
        self.trusted.insert(height, block);
        self.revision = self.revision.wrapping_add(1);
        Ok(UpdateOutcome::Trusted(height))
    }

    /// A block at a trusted height with another hash: freeze only if the conflict is
    /// proven (module doc).
    fn handle_conflict(
        &mut self,
        block: F::LightBlock,
        now: Time,
    ) -> Result<UpdateOutcome<F::LightBlock>, ClientError> {
        let height = self.family.block_height(&block);
        let Some(trusted) = self.trusted.get(&height) else {
            return Err(ClientError::BelowRoot {
                height,
                root: self.root.height,
            });
        };
        // Cheap first: the trusted set's power among the validators the conflicting commit
        // claims, counted before any of its signatures is checked. A claim that cannot
        // reach the threshold costs no signature check on this path.
        let total = self.family.signing_power(trusted);
        let threshold = self.options.trust_threshold;
        let claimed = overlap(
            &self.family.claimed_signers(trusted),
            &self.family.claimed_signers(&block),
        );
        let claimed_power = claimed.iter().fold(0u64, |t, s| t.saturating_add(s.power));
        let double_signing = if threshold.is_exceeded_by(claimed_power, total) {
            // The conflicting block must stand on its own: consistent, > 2/3 signed.
            let theirs = self.family.signers(&block)?;
            // Trusted blocks were verified when they were taken in.
            let ours = self.family.signers(trusted)?;
            let double = overlap(&ours, &theirs);
            let power = double.iter().fold(0u64, |t, s| t.saturating_add(s.power));
            threshold
                .is_exceeded_by(power, total)
                .then_some((double, power))
        } else {
            None
        };
        let (proven_by, double, tallied) = match double_signing {
            Some((double, power)) => (Some(ConflictProof::DoubleSigning), double, power),
            None => {
                // Otherwise it must verify from the trusted block below, by the client's
                // own rules (which tally the claimed power before any signature too).
                let verifies = self
                    .trusted
                    .range(..height)
                    .next_back()
                    .map(|(_, b)| self.family.trusted_state(b))
                    .is_some_and(|base| {
                        matches!(
                            self.family.verify_update(&block, &base, &self.options, now),
                            Verdict::Success
                        )
                    });
                if verifies {
                    // Proven: the double signers named in the evidence are checked ones.
                    let double = overlap(
                        &self.family.signers(trusted)?,
                        &self.family.signers(&block)?,
                    );
                    let power = double.iter().fold(0u64, |t, s| t.saturating_add(s.power));
                    (Some(ConflictProof::VerifiesFromTrusted), double, power)
                } else {
                    (None, claimed, claimed_power)
                }
            }
        };
        let double_signed = VotingPowerTally {
            total,
            tallied,
            trust_threshold: threshold,
        };
        let Some(proven_by) = proven_by else {
            return Err(ClientError::UnprovenConflict {
                height,
                trusted: self.family.block_hash(trusted),
                got: self.family.block_hash(&block),
                double_signed,
            });
        };
        let evidence = Evidence {
            trusted: trusted.clone(),
            conflicting: block,
            double_signers: double.iter().map(|s| s.key).collect(),
            double_signed,
            proven_by,
        };
        self.evidence = Some(evidence.clone());
        self.revision = self.revision.wrapping_add(1);
        Ok(UpdateOutcome::Misbehaviour(Box::new(evidence)))
    }

    fn insert(&mut self, block: F::LightBlock) {
        self.trusted.insert(self.family.block_height(&block), block);
        self.revision = self.revision.wrapping_add(1);
        while self.trusted.len() > MAX_TRUSTED_BLOCKS {
            let root = self.root.height;
            let oldest = self.trusted.keys().find(|h| **h != root).copied();
            match oldest {
                Some(h) => self.trusted.remove(&h),
                None => break,
            };
        }
    }
}

/// The signers of `ours` that are in `theirs` too (both sorted by key), with their power in
/// `ours`.
fn overlap(ours: &[Signer], theirs: &[Signer]) -> Vec<Signer> {
    ours.iter()
        .filter(|s| theirs.binary_search_by(|t| t.key.cmp(&s.key)).is_ok())
        .copied()
        .collect()
}
