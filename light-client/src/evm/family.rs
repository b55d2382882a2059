//! The `evm` family behind the generic light client: [`EvmFamily`] (the [`Verifier`] and
//! [`Family`]), its light block [`EvmBlock`], its trusted state [`EvmTrusted`] and its leaf
//! proof [`EvmLogProof`].
//!
//! ## Light blocks
//! An [`EvmBlock`] is one header with the corridor chain id, the chain's corridor contracts
//! ([`CorridorContracts`]) and what vouches for the header ([`EvmSeal`]):
//! - [`EvmSeal::CliqueCheckpoint`]: a Clique epoch checkpoint, whose `extraData` lists the
//!   signers, with the chain's Clique parameters. This is the form of a trust root only.
//! - [`EvmSeal::Clique`]: a Clique header with the signer snapshot after its parent
//!   ([`CliqueSnapshot`]); [`EvmBlock::snapshot`] gives the snapshot after a block, which is
//!   what the next block carries.
//! - [`EvmSeal::Attested`]: a header with k-of-n operator attestations of its hash and the
//!   quorum they count against ([`WeakTrustAttestationQuorum`], a WEAKER trust model than a
//!   light client: see [`super::attest`]).
//!
//! ## Where the chain's configuration comes from
//! The generic client's trust root is a chain id, a height and a header hash. The hash pins
//! the header, not the parameters the root block carries (Clique epoch and period, the
//! attestation quorum, the corridor contracts). So an EVM client's root block is built from
//! the operator's configuration ([`EvmBlock::clique_root`], [`EvmBlock::attested_root`]) and
//! handed to [`crate::client::LightClient::with_root_block`]; every later block must carry
//! the same parameters, or [`Verifier::verify_update`] refuses it. A root block offered by a
//! peer to an empty client would carry parameters nobody vouched for: for this family a
//! relay never lets a bundle supply the root. A Clique root is a checkpoint, whose signer
//! list the pinned header itself commits.
//!
//! ## Updates
//! Checked cheapest first: the contracts are the trusted ones, the trusted block is within
//! its trusting period, the header is not from the future (the [`Options`] clock drift),
//! its height is above the trusted one. Then:
//! - Clique (EIP-225): only the **adjacent** step verifies. The parent snapshot the block
//!   carries must agree with the trusted one ([`CliqueSnapshot::agrees_with`]: equal but for
//!   recent signers, of which a peer that started earlier may know more), and the header
//!   must apply to it: parent hash and number, header rules, period, checkpoint signer list,
//!   an authorised signer that has not sealed one of the last `floor(N/2)` blocks, the
//!   difficulty of its turn, and its vote. One Clique seal says nothing about a header far
//!   ahead (one signer can seal a private chain), so a block above the next height is
//!   [`Verdict::NotEnoughTrust`] with a tally of 0 of the N signers: the intermediate
//!   headers are needed. A bundle carries every header from the receiver's trusted height
//!   to its own (at most [`crate::bundle::MAX_BUNDLE_LIGHT_BLOCKS`]), and the bisection
//!   planner ends in adjacent steps. The stand-alone checkpoint form is refused after the
//!   root ([`EvmError::CheckpointNotRoot`]).
//! - Attestations: any later height, with strictly increasing time, the parent hash when
//!   adjacent, the same quorum as the trusted state, and k valid attestations of the
//!   header's hash.
//!
//! ## Conflicts (what freezes the client)
//! The generic client freezes when a conflicting block at a trusted height is valid on its
//! own ([`Family::signers`]) and either more than the trust threshold of the power that
//! signed the trusted block signed it too, or it verifies from the trusted block below.
//! - **Clique.** A header is sealed by one signer, so the set that signs a block
//!   ([`Family::signing_power`]) is its sealer alone, with power 1; "more than the trust
//!   threshold of the trusted set signed both" means the sealer of the trusted header also
//!   sealed the conflicting one: **equivocation**, and the evidence names that signer (its
//!   address in a [`PublicKey`], see [`address_key`]). Two headers at one height sealed by
//!   *different* signers are an ordinary Clique fork (an out-of-turn signer racing the
//!   in-turn one), not misbehaviour, and must never freeze the client. So
//!   [`Family::signers`] accepts a header of the [`EvmSeal::Clique`] form as evidence only
//!   when it is sealed **in turn** (difficulty 2) and refuses an out-of-turn one
//!   ([`EvmError::OutOfTurnEvidence`]). Then the second rule ("verifies from the trusted
//!   block below") cannot fire on a fork: a conflicting block that verifies from the
//!   trusted parent has the trusted parent's signer set, and two in-turn headers of one
//!   height under one signer set have one sealer, which the first rule already caught. The
//!   price: equivocation by an out-of-turn signer is refused but not proven, and a trusted
//!   out-of-turn header cannot be evidence either (the conflict is refused as invalid,
//!   nothing changes). Clique has no finality: a relay follows a Clique chain at a
//!   confirmation depth, so that the headers it trusts are not reorganised away.
//! - **Attestations.** Each attestor has power 1 and the set that signs a block is the
//!   quorum's n attestors: "more than the trust threshold signed both" means that more
//!   than that share of the n attestors attested both headers. Attestors vouch for final
//!   headers only, so there is no honest fork: a conflicting header that k attestors of
//!   the trusted quorum attested verifies from the trusted block below and freezes the
//!   client too; the evidence names the attestors that attested both.
//! - A stranger's self-signed header (a Clique snapshot or a quorum of its own) is valid on
//!   its own but shares no signer with the trusted block and does not verify from trusted
//!   state: the client refuses it as an unproven conflict and does not freeze.
//!
//! ## Leaves
//! A corridor message (or receipt) committed on an EVM chain is a log of the outbox (or
//! inbox) contract: `event CorridorMessage(bytes indexed key, bytes leaf)` (or
//! `CorridorReceipt`). The canonical log of `(contract, root, key, leaf)` is
//! ([`corridor_log`]): address = the contract, topics = `[keccak256(event signature),
//! keccak256(key)]`, data = the ABI encoding of `leaf` (offset 32, length, the bytes, zero
//! padding to 32). The leaf proof ([`EvmLogProof`]) is a receipt proof (key
//! `rlp(transactionIndex)`) against the header's receipts root, plus the index of the log
//! inside the receipt; the proven log must be the canonical log, field by field, which is
//! the same as equal RLP encodings `rlp([address, topics, data])`. The receipt's
//! transaction must have succeeded.
//!
//! The expected contract addresses are in the **light block and trusted state**
//! ([`CorridorContracts`]), not in the proof: a proof comes from whoever sends the bundle,
//! and anyone can deploy a contract that emits the same event with any leaf. Pinned by the
//! root block from configuration and required unchanged by every update, the addresses are
//! as trusted as the headers. Every size is bounded before hashing: the key
//! ([`MAX_EVM_KEY_BYTES`]), the leaf ([`MAX_EVM_LEAF_BYTES`]), the log index
//! ([`super::receipt::MAX_LOGS`]) and the proof ([`ProofLimits`], checked by the trie code
//! before any node is hashed).
//!
//! ## Implements
//! - EIP-225 (Clique): seals, signer snapshots, in-turn difficulty, equivocation.
//! - Ethereum Yellow Paper section 4.3.1 (receipts and log entries) and Appendix D (the
//!   receipts trie, keyed by `rlp(index)`).
//! - Solidity ABI specification: event topics (`keccak256` of the signature, indexed
//!   dynamic values hashed) and the encoding of `bytes`.

use serde::{Deserialize, Serialize};

use super::attest::{Attestation, AttestorKey, WeakTrustAttestationQuorum};
use super::clique::{CliqueConfig, CliqueError, CliqueSnapshot};
use super::header::Header;
use super::receipt::{Log, ReceiptError, ReceiptProof, MAX_LOGS};
use super::trie::ProofLimits;
use super::verifier::EvmError;
use super::{keccak256, Address, U256};
use crate::family::{CommitmentRoot, Family, FamilyKind, LeafProofError, Signer};
use crate::signature::PublicKey;
use crate::types::{ChainId, Hash32, Height, Options, Time};
use crate::verifier::{predicates, Verdict, VerificationError, Verifier, VotingPowerTally};

/// Largest leaf a corridor log may carry (a trade message's leaf is its tag and canonical
/// CBOR, whose payload is at most 64 KiB by default).
pub const MAX_EVM_LEAF_BYTES: usize = 128 * 1024;
/// Longest commitment key (`outbox/`, a chain id, a channel and a sequence are < 80 bytes).
pub const MAX_EVM_KEY_BYTES: usize = 256;
/// The outbox contract's event.
pub const MESSAGE_EVENT: &str = "CorridorMessage(bytes,bytes)";
/// The inbox contract's event.
pub const RECEIPT_EVENT: &str = "CorridorReceipt(bytes,bytes)";

/// The corridor contracts of an EVM chain, from configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorridorContracts {
    /// Emits [`MESSAGE_EVENT`] for each outbound trade message.
    pub outbox: Address,
    /// Emits [`RECEIPT_EVENT`] for each inbound delivery.
    pub inbox: Address,
}

impl CorridorContracts {
    /// The contract whose logs make up `root`.
    pub fn emitter(&self, root: CommitmentRoot) -> Address {
        match root {
            CommitmentRoot::Messages => self.outbox,
            CommitmentRoot::Receipts => self.inbox,
        }
    }
}

/// What vouches for the header of an [`EvmBlock`]. See the module doc.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvmSeal {
    /// A Clique epoch checkpoint with the chain's parameters: a trust root.
    CliqueCheckpoint(CliqueConfig),
    /// A Clique header, with the signer snapshot after its parent.
    Clique(Box<CliqueSnapshot>),
    /// k-of-n attestations of the header's hash (a WEAKER trust model than a light
    /// client), with the quorum they count against.
    Attested {
        /// The configured quorum.
        quorum: WeakTrustAttestationQuorum,
        /// Attestations of the header's hash.
        attestations: Vec<Attestation>,
    },
}

impl EvmSeal {
    fn name(&self) -> &'static str {
        match self {
            Self::CliqueCheckpoint(_) => "clique-checkpoint",
            Self::Clique(_) => "clique",
            Self::Attested { .. } => "weak-trust-attestations",
        }
    }
}

/// Domain tag of [`root_pin`].
pub const ROOT_PIN_TAG: &[u8] = b"corridor/evm-root-pin/v1";

/// The pin of an EVM chain's root terms ([`Family::root_pin`]): Keccak-256 of the tag and
/// the canonical CBOR of the contracts and the seal, the seal's attestations left out (they
/// vouch for the header; the terms are what they count against). An operator's config
/// names the contracts and the quorum or Clique parameters; the relay computes the pin from
/// them. `None` when they do not encode (never for a seal within the family's bounds): no
/// configured pin matches that.
pub fn root_pin(contracts: &CorridorContracts, seal: &EvmSeal) -> Option<Hash32> {
    let terms = match seal {
        EvmSeal::Attested { quorum, .. } => EvmSeal::Attested {
            quorum: quorum.clone(),
            attestations: Vec::new(),
        },
        other => other.clone(),
    };
    let mut msg = ROOT_PIN_TAG.to_vec();
    msg.extend(crate::codec::encode("evm root terms", &(contracts, &terms)).ok()?);
    Some(keccak256(&msg))
}

/// The `evm` family's light block: one header and what vouches for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvmBlock {
    /// The corridor chain id (EVM headers carry none).
    pub chain_id: ChainId,
    /// The chain's corridor contracts.
    pub contracts: CorridorContracts,
    /// The header (RLP on the wire).
    pub header: Header,
    /// What vouches for it.
    pub seal: EvmSeal,
}

impl EvmBlock {
    /// The root block of a Clique chain, from configuration: a checkpoint header and the
    /// chain's parameters.
    pub fn clique_root(
        chain_id: ChainId,
        contracts: CorridorContracts,
        config: CliqueConfig,
        header: Header,
    ) -> Self {
        Self {
            chain_id,
            contracts,
            header,
            seal: EvmSeal::CliqueCheckpoint(config),
        }
    }

    /// The root block of an attested chain, from configuration. The root needs no
    /// attestation (the configured hash vouches for it), but may carry some.
    pub fn attested_root(
        chain_id: ChainId,
        contracts: CorridorContracts,
        quorum: WeakTrustAttestationQuorum,
        header: Header,
        attestations: Vec<Attestation>,
    ) -> Self {
        Self {
            chain_id,
            contracts,
            header,
            seal: EvmSeal::Attested {
                quorum,
                attestations,
            },
        }
    }

    /// The Clique block of `header`, following `self` (its parent).
    pub fn clique_child(&self, header: Header) -> Result<Self, EvmError> {
        Ok(Self {
            chain_id: self.chain_id.clone(),
            contracts: self.contracts,
            header,
            seal: EvmSeal::Clique(Box::new(self.snapshot()?)),
        })
    }

    /// The Clique signer snapshot after this block.
    pub fn snapshot(&self) -> Result<CliqueSnapshot, EvmError> {
        match &self.seal {
            EvmSeal::CliqueCheckpoint(config) => {
                Ok(CliqueSnapshot::from_checkpoint(*config, &self.header)?)
            }
            EvmSeal::Clique(parent) => Ok(parent.apply(&self.header)?),
            EvmSeal::Attested { .. } => Err(EvmError::RuleMismatch {
                configured: "weak-trust-attestations",
                given: "a request for a clique snapshot",
            }),
        }
    }
}

/// The rule a trusted block hands on.
#[derive(Clone, Debug)]
enum TrustedRule {
    /// The signer snapshot after the trusted block (an error if it cannot be rebuilt,
    /// which a block that was verified never gives).
    Clique(Result<Box<CliqueSnapshot>, CliqueError>),
    /// The quorum.
    Attested(WeakTrustAttestationQuorum),
}

/// What [`EvmFamily`] keeps of a trusted block.
#[derive(Clone, Debug)]
pub struct EvmTrusted {
    height: Height,
    hash: Hash32,
    time: Time,
    contracts: CorridorContracts,
    rule: TrustedRule,
}

impl EvmTrusted {
    /// Height of the trusted header.
    pub fn height(&self) -> Height {
        self.height
    }

    /// Hash of the trusted header.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }

    /// The corridor contracts.
    pub fn contracts(&self) -> CorridorContracts {
        self.contracts
    }
}

/// A proof of a corridor log: the receipt proof and the log's index in the receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvmLogProof {
    /// The receipt at its transaction index, against the header's receipts root.
    pub receipt: ReceiptProof,
    /// The index of the log inside the receipt.
    pub log_index: u64,
}

/// Why a corridor log was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvmLeafError {
    /// The receipt proof does not verify, its transaction failed, or it has no such log.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// The key is longer than [`MAX_EVM_KEY_BYTES`].
    #[error("key of {len} bytes, at most {max}")]
    KeyTooLong {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The leaf is longer than [`MAX_EVM_LEAF_BYTES`].
    #[error("leaf of {len} bytes, at most {max}")]
    LeafTooLarge {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The log index is beyond any receipt's logs.
    #[error("log index {log_index}, a receipt has at most {max} logs")]
    LogIndexTooLarge {
        /// The index given.
        log_index: u64,
        /// The bound.
        max: usize,
    },
    /// The log was emitted by another contract than the configured one.
    #[error("log emitted by {got}, the corridor contract is {expected}")]
    WrongEmitter {
        /// The configured contract.
        expected: Address,
        /// The log's emitter.
        got: Address,
    },
    /// The log is not the corridor event of this commitment.
    #[error("log is not a {expected} event")]
    WrongEvent {
        /// The event signature expected.
        expected: &'static str,
    },
    /// The log is the right event for another key.
    #[error("log commits another key")]
    WrongKey,
    /// The log's data is not the ABI encoding of the leaf.
    #[error("log data of {got} bytes is not the encoding of the leaf")]
    LeafMismatch {
        /// Length of the log's data.
        got: usize,
    },
}

/// The `evm` chain family (stateless: a chain's parameters ride in its trusted blocks, see
/// the module doc). [`super::EvmVerifier`] is the same rules with a configured
/// [`super::TrustRule`], for callers that keep their own state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvmFamily;

/// An Ethereum address as a [`PublicKey`] of evidence: 12 zero bytes, then the address (as
/// Solidity's `bytes32(uint256(uint160(address)))`).
pub fn address_key(address: &Address) -> PublicKey {
    let mut key = [0u8; 32];
    if let Some(tail) = key.get_mut(12..) {
        tail.copy_from_slice(&address.0);
    }
    PublicKey(key)
}

fn attestor_key(key: &AttestorKey) -> PublicKey {
    match key {
        AttestorKey::Secp256k1(address) => address_key(address),
        AttestorKey::Ed25519(key) => *key,
    }
}

/// The Event topic of the corridor event of `root`.
pub fn event_topic(root: CommitmentRoot) -> Hash32 {
    keccak256(event_signature(root).as_bytes())
}

fn event_signature(root: CommitmentRoot) -> &'static str {
    match root {
        CommitmentRoot::Messages => MESSAGE_EVENT,
        CommitmentRoot::Receipts => RECEIPT_EVENT,
    }
}

/// The Solidity ABI encoding of one `bytes` value as event data: the offset 32, the
/// length, the bytes, zero padding to a multiple of 32.
pub fn abi_bytes(value: &[u8]) -> Vec<u8> {
    let padded = value.len().div_ceil(32).saturating_mul(32);
    let mut out = Vec::with_capacity(padded.saturating_add(64));
    let mut word = [0u8; 32];
    word[31] = 0x20;
    out.extend_from_slice(&word);
    let len = u64::try_from(value.len()).unwrap_or(u64::MAX);
    out.extend_from_slice(&U256::from_u64(len).0);
    out.extend_from_slice(value);
    out.resize(padded.saturating_add(64), 0);
    out
}

/// The canonical corridor log of `leaf` under `key` in the `root` commitment emitted by
/// `contract` (module doc), after the bounds on `key` and `leaf`.
pub fn corridor_log(
    contract: Address,
    root: CommitmentRoot,
    key: &[u8],
    leaf: &[u8],
) -> Result<Log, EvmLeafError> {
    if key.len() > MAX_EVM_KEY_BYTES {
        return Err(EvmLeafError::KeyTooLong {
            len: key.len(),
            max: MAX_EVM_KEY_BYTES,
        });
    }
    if leaf.len() > MAX_EVM_LEAF_BYTES {
        return Err(EvmLeafError::LeafTooLarge {
            len: leaf.len(),
            max: MAX_EVM_LEAF_BYTES,
        });
    }
    Ok(Log {
        address: contract,
        topics: vec![event_topic(root), keccak256(key)],
        data: abi_bytes(leaf),
    })
}

/// Checks that `proof` proves the canonical corridor log of `leaf` under `key` against the
/// receipts root of `header`, emitted by `contract`.
pub fn verify_corridor_log(
    header: &Header,
    contract: Address,
    root: CommitmentRoot,
    key: &[u8],
    leaf: &[u8],
    proof: &EvmLogProof,
    limits: &ProofLimits,
) -> Result<(), EvmLeafError> {
    let expected = corridor_log(contract, root, key, leaf)?;
    let log_index = usize::try_from(proof.log_index)
        .ok()
        .filter(|&i| i < MAX_LOGS)
        .ok_or(EvmLeafError::LogIndexTooLarge {
            log_index: proof.log_index,
            max: MAX_LOGS,
        })?;
    let log = proof
        .receipt
        .verify_log(&header.receipts_root, log_index, limits)?;
    if log.address != expected.address {
        return Err(EvmLeafError::WrongEmitter {
            expected: expected.address,
            got: log.address,
        });
    }
    if log.topics.len() != expected.topics.len() || log.topics.first() != expected.topics.first() {
        return Err(EvmLeafError::WrongEvent {
            expected: event_signature(root),
        });
    }
    if log.topics != expected.topics {
        return Err(EvmLeafError::WrongKey);
    }
    if log.data != expected.data {
        return Err(EvmLeafError::LeafMismatch {
            got: log.data.len(),
        });
    }
    Ok(())
}

fn header_time(header: &Header) -> Time {
    // A timestamp past the year 2554 does not fit in nanoseconds: it is as far in the
    // future as a time can be, and refused as from the future.
    Time::from_unix_secs(header.timestamp).unwrap_or(Time::from_unix_nanos(u64::MAX))
}

fn invalid(height: Height, error: impl Into<EvmError>) -> VerificationError {
    VerificationError::Evm {
        height,
        source: Box::new(error.into()),
    }
}

impl EvmFamily {
    /// [`Verifier::verify_update`] with `?`: `Ok(None)` is success, `Ok(Some(tally))` not
    /// enough trust.
    fn check_update(
        &self,
        block: &EvmBlock,
        trusted: &EvmTrusted,
        options: &Options,
        now: Time,
    ) -> Result<Option<VotingPowerTally>, VerificationError> {
        let header = &block.header;
        let number = header.number;
        let height = Height(number);
        if block.contracts != trusted.contracts {
            return Err(invalid(height, EvmError::ContractsChanged { number }));
        }
        predicates::is_within_trust_period(trusted.height, trusted.time, options, now)?;
        let time = header_time(header);
        predicates::is_header_from_past(height, time, options, now)?;
        if height <= trusted.height {
            return Err(VerificationError::NonIncreasingHeight {
                height,
                trusted: trusted.height,
            });
        }
        let adjacent = trusted.height.increment() == Some(height);
        match (&trusted.rule, &block.seal) {
            (TrustedRule::Clique(snapshot), EvmSeal::Clique(parent)) => {
                let snapshot = snapshot
                    .as_ref()
                    .map_err(|e| invalid(trusted.height, e.clone()))?;
                if !adjacent {
                    return Ok(Some(VotingPowerTally {
                        total: u64::try_from(snapshot.signer_count()).unwrap_or(u64::MAX),
                        tallied: 0,
                        trust_threshold: options.trust_threshold,
                    }));
                }
                if !parent.agrees_with(snapshot) {
                    return Err(invalid(height, EvmError::SnapshotDisagrees { number }));
                }
                parent.apply(header).map_err(|e| invalid(height, e))?;
                Ok(None)
            }
            (TrustedRule::Clique(_), EvmSeal::CliqueCheckpoint(_)) => {
                Err(invalid(height, EvmError::CheckpointNotRoot { number }))
            }
            (
                TrustedRule::Attested(trusted_quorum),
                EvmSeal::Attested {
                    quorum,
                    attestations,
                },
            ) => {
                if quorum != trusted_quorum {
                    return Err(invalid(height, EvmError::QuorumChanged { number }));
                }
                predicates::is_monotonic(height, time, trusted.height, trusted.time)?;
                if adjacent && header.parent_hash != trusted.hash {
                    return Err(VerificationError::ParentHashMismatch {
                        height,
                        expected: trusted.hash,
                        got: header.parent_hash,
                    });
                }
                trusted_quorum
                    .verify(number, &header.hash(), attestations)
                    .map_err(|e| invalid(height, e))?;
                Ok(None)
            }
            (rule, seal) => Err(invalid(
                height,
                EvmError::RuleMismatch {
                    configured: match rule {
                        TrustedRule::Clique(_) => "clique",
                        TrustedRule::Attested(_) => "weak-trust-attestations",
                    },
                    given: seal.name(),
                },
            )),
        }
    }
}

impl Verifier for EvmFamily {
    type LightBlock = EvmBlock;
    type TrustedState = EvmTrusted;

    fn verify_update(
        &self,
        untrusted: &EvmBlock,
        trusted: &EvmTrusted,
        options: &Options,
        now: Time,
    ) -> Verdict {
        match self.check_update(untrusted, trusted, options, now) {
            Ok(None) => Verdict::Success,
            Ok(Some(tally)) => Verdict::NotEnoughTrust(tally),
            Err(e) => Verdict::Invalid(e),
        }
    }

    fn trusted_state(&self, verified: &EvmBlock) -> EvmTrusted {
        let rule = match &verified.seal {
            EvmSeal::Attested { quorum, .. } => TrustedRule::Attested(quorum.clone()),
            EvmSeal::CliqueCheckpoint(config) => TrustedRule::Clique(
                CliqueSnapshot::from_checkpoint(*config, &verified.header).map(Box::new),
            ),
            EvmSeal::Clique(parent) => {
                TrustedRule::Clique(parent.apply(&verified.header).map(Box::new))
            }
        };
        EvmTrusted {
            height: Height(verified.header.number),
            hash: verified.header.hash(),
            time: header_time(&verified.header),
            contracts: verified.contracts,
            rule,
        }
    }

    fn block_height(&self, block: &EvmBlock) -> Height {
        Height(block.header.number)
    }

    fn trusted_height(&self, state: &EvmTrusted) -> Height {
        state.height
    }
}

impl Family for EvmFamily {
    const KIND: FamilyKind = FamilyKind::Evm;
    type LeafProof = EvmLogProof;
    type BatchProof = Vec<EvmLogProof>;

    fn block_hash(&self, block: &EvmBlock) -> Hash32 {
        block.header.hash()
    }

    fn root_pin(&self, block: &EvmBlock) -> Option<Hash32> {
        root_pin(&block.contracts, &block.seal)
    }

    fn block_time(&self, block: &EvmBlock) -> Time {
        header_time(&block.header)
    }

    fn block_chain<'a>(&self, block: &'a EvmBlock) -> &'a ChainId {
        &block.chain_id
    }

    /// A Clique header is signed by its sealer alone (power 1); an attested one by the
    /// quorum's n attestors, power 1 each.
    fn signing_power(&self, block: &EvmBlock) -> u64 {
        match &block.seal {
            EvmSeal::CliqueCheckpoint(_) | EvmSeal::Clique(_) => 1,
            EvmSeal::Attested { quorum, .. } => {
                u64::try_from(quorum.attestor_count()).unwrap_or(u64::MAX)
            }
        }
    }

    /// A Clique checkpoint: its seal against its own signer list (the genesis block has no
    /// seal and no signer); a Clique header: it applies to the parent snapshot it carries
    /// and is sealed **in turn** (module doc: out-of-turn headers are no evidence); an
    /// attested header: k valid attestations by its quorum, or none at all (a root, which
    /// its configured hash vouches for: no signer, never evidence).
    fn signers(&self, block: &EvmBlock) -> Result<Vec<Signer>, VerificationError> {
        let header = &block.header;
        let number = header.number;
        let height = Height(number);
        let mut signers = match &block.seal {
            EvmSeal::CliqueCheckpoint(config) => {
                let snapshot = CliqueSnapshot::from_checkpoint(*config, header)
                    .map_err(|e| invalid(height, e))?;
                if number == 0 {
                    return Ok(Vec::new());
                }
                let sealer = snapshot
                    .checkpoint_sealer(header)
                    .map_err(|e| invalid(height, e))?;
                vec![address_key(&sealer)]
            }
            EvmSeal::Clique(parent) => {
                let after = parent.apply(header).map_err(|e| invalid(height, e))?;
                if header.difficulty != U256::from_u64(2) {
                    return Err(invalid(height, EvmError::OutOfTurnEvidence { number }));
                }
                let sealer = after
                    .recent_signer(number)
                    .ok_or_else(|| invalid(height, CliqueError::BadSignature { number }))?;
                vec![address_key(&sealer)]
            }
            // An unattested header (a root, vouched for by its configured hash) has no
            // signer, so it is never evidence.
            EvmSeal::Attested { attestations, .. } if attestations.is_empty() => Vec::new(),
            EvmSeal::Attested {
                quorum,
                attestations,
            } => quorum
                .attestors_of(number, &header.hash(), attestations)
                .map_err(|e| invalid(height, e))?
                .iter()
                .map(attestor_key)
                .collect(),
        };
        signers.sort();
        Ok(signers
            .into_iter()
            .map(|key| Signer { key, power: 1 })
            .collect())
    }

    /// `root` selects the contract (outbox for messages, inbox for receipts) and the event;
    /// see the module doc for the canonical log.
    fn verify_leaf(
        &self,
        block: &EvmBlock,
        root: CommitmentRoot,
        key: &[u8],
        leaf: &[u8],
        proof: &EvmLogProof,
    ) -> Result<(), LeafProofError> {
        Ok(verify_corridor_log(
            &block.header,
            block.contracts.emitter(root),
            root,
            key,
            leaf,
            proof,
            &ProofLimits::default(),
        )?)
    }

    fn join_proofs(&self, proofs: &[EvmLogProof]) -> Option<Vec<EvmLogProof>> {
        Some(proofs.to_vec())
    }

    fn verify_leaves(
        &self,
        block: &EvmBlock,
        root: CommitmentRoot,
        leaves: &[(Vec<u8>, Vec<u8>)],
        proofs: &Vec<EvmLogProof>,
    ) -> Result<Vec<EvmLogProof>, LeafProofError> {
        crate::family::verify_each(self, block, root, leaves, proofs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_bytes_pads_to_words() {
        let data = abi_bytes(b"abc");
        assert_eq!(data.len(), 96);
        assert_eq!(data[31], 0x20);
        assert_eq!(data[63], 3);
        assert_eq!(&data[64..67], b"abc");
        assert!(data[67..].iter().all(|&b| b == 0));
        assert_eq!(abi_bytes(&[]).len(), 64);
        assert_eq!(abi_bytes(&[1; 32]).len(), 96);
    }

    #[test]
    fn event_topics_are_the_solidity_ones() {
        // keccak256("Transfer(address,address,uint256)"), to check the hashing of
        // signatures against a well-known topic.
        assert_eq!(
            hex::encode(keccak256(b"Transfer(address,address,uint256)").0),
            "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
        );
        assert_ne!(
            event_topic(CommitmentRoot::Messages),
            event_topic(CommitmentRoot::Receipts)
        );
    }

    #[test]
    fn address_keys_are_left_padded() {
        let key = address_key(&Address([7; 20]));
        assert_eq!(&key.0[..12], &[0; 12]);
        assert_eq!(&key.0[12..], &[7; 20]);
    }
}
