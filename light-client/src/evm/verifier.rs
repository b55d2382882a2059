//! [`EvmVerifier`]: header trust and proofs against verified headers for the `evm` family.
//!
//! The API is self-contained so that a generic light client can drive it:
//!
//! 1. An operator's configuration gives a [`TrustRule`] and a trusted checkpoint (a header
//!    and its hash); [`EvmTrustedState::from_checkpoint`] checks the header hashes to the
//!    configured hash (for Clique, that it is an epoch block, whose `extraData` lists the
//!    signers).
//! 2. [`EvmVerifier::verify`] checks an [`EvmLightBlock`] against a trusted state at time
//!    `now` and returns the new trusted state: under Clique, every header from the trusted
//!    one to the target, each sealed by an authorised signer under Clique's rules; under
//!    [`TrustRule::WeakTrustAttestations`], one header at any later height attested by k of n
//!    operator keys (a weaker trust model than a light client).
//! 3. [`VerifiedHeader`] (from [`EvmTrustedState::verified`]) is the only way to reach
//!    [`VerifiedHeader::verify_receipt_log`] and [`VerifiedHeader::verify_account`]: proofs
//!    are only ever checked against a root of a header that passed step 2.
//!
//! Headers from the future (later than `now` plus [`EvmVerifier::max_clock_drift_secs`])
//! are refused, as geth refuses them.

use super::account::{AccountError, AccountProof};
use super::attest::{AttestError, Attestation, WeakTrustAttestationQuorum};
use super::clique::{CliqueConfig, CliqueError, CliqueSnapshot};
use super::header::{Header, HeaderError};
use super::receipt::{Log, ReceiptError, ReceiptProof};
use super::trie::ProofLimits;
use crate::types::{Hash32, Time};

/// How the headers of a chain are trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustRule {
    /// Clique proof-of-authority seals, checked like a light client.
    Clique(CliqueConfig),
    /// k-of-n operator attestations of header hashes: a WEAKER trust model than a light
    /// client (see [`super::attest`]).
    WeakTrustAttestations(WeakTrustAttestationQuorum),
}

/// What the verifier is given to move from a trusted header to a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvmLightBlock {
    /// Under Clique: every header after the trusted one up to the target, in order.
    CliqueHeaders(Vec<Header>),
    /// Under attestations: the target header and the attestations of its hash.
    Attested {
        /// The header.
        header: Box<Header>,
        /// Attestations of its hash.
        attestations: Vec<Attestation>,
    },
}

/// Why a header, a chain of headers or a proof against a verified header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvmError {
    /// A header is malformed or does not hash to its claimed hash.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A Clique rule is broken.
    #[error(transparent)]
    Clique(#[from] CliqueError),
    /// Attestations are insufficient or invalid.
    #[error(transparent)]
    Attestation(#[from] AttestError),
    /// A receipt proof or log is invalid.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// An account or storage proof is invalid.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The light block's kind does not match the configured trust rule.
    #[error("light block of kind {given} under trust rule {configured}")]
    RuleMismatch {
        /// The rule configured.
        configured: &'static str,
        /// The kind given.
        given: &'static str,
    },
    /// The light block holds no header, or more than [`EvmVerifier::max_headers`].
    #[error("light block with {count} headers (1 to {max})")]
    HeaderCount {
        /// Headers given.
        count: usize,
        /// The bound.
        max: usize,
    },
    /// The new header is not above the trusted one.
    #[error("header {number} is not above the trusted height {trusted}")]
    NotNewer {
        /// Its number.
        number: u64,
        /// The trusted number.
        trusted: u64,
    },
    /// A light block names other outbox and inbox contracts than the trusted state.
    #[error("header {number}: light block names other corridor contracts than trusted state")]
    ContractsChanged {
        /// Its number.
        number: u64,
    },
    /// A light block carries another attestation quorum than the trusted state.
    #[error("header {number}: light block carries another attestation quorum than trusted state")]
    QuorumChanged {
        /// Its number.
        number: u64,
    },
    /// The Clique snapshot a light block carries for its parent is not the trusted one.
    #[error(
        "clique block {number}: the parent snapshot carried does not agree with trusted state"
    )]
    SnapshotDisagrees {
        /// Its number.
        number: u64,
    },
    /// A Clique checkpoint in its stand-alone form is only ever a trust root.
    #[error("clique block {number}: a stand-alone checkpoint is only a trust root, send the header with its parent snapshot")]
    CheckpointNotRoot {
        /// Its number.
        number: u64,
    },
    /// An out-of-turn Clique header offered as evidence of misbehaviour (see
    /// [`super::family`]: ordinary Clique forks are out of turn).
    #[error("clique block {number}: an out-of-turn header is no evidence of misbehaviour")]
    OutOfTurnEvidence {
        /// Its number.
        number: u64,
    },
    /// The header's time is too far after `now`.
    #[error("header {number}: timestamp {timestamp} is after now {now} plus drift")]
    FromTheFuture {
        /// Its number.
        number: u64,
        /// Its timestamp (seconds).
        timestamp: u64,
        /// `now` (seconds).
        now: u64,
    },
}

/// A header that passed verification, and the only thing proofs are checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedHeader {
    header: Header,
    hash: Hash32,
}

impl VerifiedHeader {
    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Its hash.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }

    /// Its number.
    pub fn number(&self) -> u64 {
        self.header.number
    }

    /// Proves the receipt at `proof.index` against this header's receipts root, requires
    /// that the transaction succeeded, and returns its log `log_index`.
    pub fn verify_receipt_log(
        &self,
        proof: &ReceiptProof,
        log_index: usize,
        limits: &ProofLimits,
    ) -> Result<Log, EvmError> {
        Ok(proof.verify_log(&self.header.receipts_root, log_index, limits)?)
    }

    /// Checks an `eth_getProof` response against this header's state root; returns whether
    /// the account exists.
    pub fn verify_account(
        &self,
        proof: &AccountProof,
        limits: &ProofLimits,
    ) -> Result<bool, EvmError> {
        Ok(proof.verify(&self.header.state_root, limits)?)
    }
}

/// The trusted state of an EVM chain: the latest verified header, and under Clique the
/// signer snapshot after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvmTrustedState {
    verified: VerifiedHeader,
    clique: Option<CliqueSnapshot>,
}

impl EvmTrustedState {
    /// The state at a configured checkpoint: `header` must hash to `trusted_hash`; under
    /// Clique it must be an epoch block, whose signer list becomes the signer set.
    pub fn from_checkpoint(
        rule: &TrustRule,
        header: Header,
        trusted_hash: &Hash32,
    ) -> Result<Self, EvmError> {
        header.check_hash(trusted_hash)?;
        let clique = match rule {
            TrustRule::Clique(config) => Some(CliqueSnapshot::from_checkpoint(*config, &header)?),
            TrustRule::WeakTrustAttestations(_) => None,
        };
        Ok(Self {
            verified: VerifiedHeader {
                header,
                hash: *trusted_hash,
            },
            clique,
        })
    }

    /// The latest verified header.
    pub fn verified(&self) -> &VerifiedHeader {
        &self.verified
    }

    /// The Clique signer snapshot, under Clique.
    pub fn clique(&self) -> Option<&CliqueSnapshot> {
        self.clique.as_ref()
    }
}

/// Verifies EVM headers under one chain's [`TrustRule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvmVerifier {
    rule: TrustRule,
    /// Bounds applied to every Merkle-Patricia proof.
    pub limits: ProofLimits,
    /// How far after `now` a header's timestamp may be, in seconds.
    pub max_clock_drift_secs: u64,
    /// Most headers in one [`EvmLightBlock::CliqueHeaders`].
    pub max_headers: usize,
}

impl EvmVerifier {
    /// A verifier with default limits: 15 s of clock drift (geth allows none; relays'
    /// clocks differ from block producers'), 4096 headers per step.
    pub fn new(rule: TrustRule) -> Self {
        Self {
            rule,
            limits: ProofLimits::default(),
            max_clock_drift_secs: 15,
            max_headers: 4096,
        }
    }

    /// The configured trust rule.
    pub fn rule(&self) -> &TrustRule {
        &self.rule
    }

    fn check_time(&self, header: &Header, now: Time) -> Result<(), EvmError> {
        let now_secs = now.unix_nanos() / 1_000_000_000;
        if header.timestamp > now_secs.saturating_add(self.max_clock_drift_secs) {
            return Err(EvmError::FromTheFuture {
                number: header.number,
                timestamp: header.timestamp,
                now: now_secs,
            });
        }
        Ok(())
    }

    /// Verifies `block` against `trusted` at time `now` and returns the new trusted state.
    pub fn verify(
        &self,
        trusted: &EvmTrustedState,
        block: &EvmLightBlock,
        now: Time,
    ) -> Result<EvmTrustedState, EvmError> {
        match (&self.rule, block) {
            (TrustRule::Clique(_), EvmLightBlock::CliqueHeaders(headers)) => {
                self.verify_clique(trusted, headers, now)
            }
            (
                TrustRule::WeakTrustAttestations(quorum),
                EvmLightBlock::Attested {
                    header,
                    attestations,
                },
            ) => {
                let trusted_number = trusted.verified.number();
                if header.number <= trusted_number {
                    return Err(EvmError::NotNewer {
                        number: header.number,
                        trusted: trusted_number,
                    });
                }
                self.check_time(header, now)?;
                let hash = header.hash();
                quorum.verify(header.number, &hash, attestations)?;
                Ok(EvmTrustedState {
                    verified: VerifiedHeader {
                        header: Header::clone(header),
                        hash,
                    },
                    clique: None,
                })
            }
            (rule, block) => Err(EvmError::RuleMismatch {
                configured: match rule {
                    TrustRule::Clique(_) => "clique",
                    TrustRule::WeakTrustAttestations(_) => "weak-trust-attestations",
                },
                given: match block {
                    EvmLightBlock::CliqueHeaders(_) => "clique-headers",
                    EvmLightBlock::Attested { .. } => "attested",
                },
            }),
        }
    }

    fn verify_clique(
        &self,
        trusted: &EvmTrustedState,
        headers: &[Header],
        now: Time,
    ) -> Result<EvmTrustedState, EvmError> {
        if headers.is_empty() || headers.len() > self.max_headers {
            return Err(EvmError::HeaderCount {
                count: headers.len(),
                max: self.max_headers,
            });
        }
        let mut snapshot = trusted.clique.clone().ok_or(EvmError::RuleMismatch {
            configured: "clique",
            given: "state without a clique snapshot",
        })?;
        let mut last = None;
        for header in headers {
            self.check_time(header, now)?;
            snapshot = snapshot.apply(header)?;
            last = Some(header);
        }
        let header = last.ok_or(EvmError::HeaderCount {
            count: 0,
            max: self.max_headers,
        })?;
        Ok(EvmTrustedState {
            verified: VerifiedHeader {
                header: header.clone(),
                hash: snapshot.hash(),
            },
            clique: Some(snapshot),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evm::account::Account;
    use crate::evm::attest::{attestation_digest, AttestorKey};
    use crate::evm::clique::testkit::{child, genesis, seal, signer};
    use crate::evm::receipt::{receipts_root, Outcome, Receipt};
    use crate::evm::rlp;
    use crate::evm::trie::{build_proof, TrieBuilder};
    use crate::evm::{keccak256, Address};
    use crate::signature::SigningKey;

    fn now() -> Time {
        Time::from_unix_secs(2_000_000_000).unwrap()
    }

    #[test]
    fn clique_chain_then_receipt_log() {
        let mut keys: Vec<_> = (1u8..=3).map(signer).collect();
        keys.sort_by_key(|(_, a)| *a);
        let addrs: Vec<Address> = keys.iter().map(|(_, a)| *a).collect();
        let g = genesis(&addrs);
        let rule = TrustRule::Clique(CliqueConfig {
            epoch: 30_000,
            period: 15,
        });
        let trusted = EvmTrustedState::from_checkpoint(&rule, g.clone(), &g.hash()).unwrap();
        let verifier = EvmVerifier::new(rule);

        let receipt = Receipt {
            tx_type: 2,
            outcome: Outcome::Status(true),
            cumulative_gas_used: 50_000,
            logs_bloom: Box::new([0; 256]),
            logs: vec![Log {
                address: Address([0x42; 20]),
                topics: vec![Hash32([1; 32])],
                data: b"bill of lading".to_vec(),
            }],
        };
        let mut trie = TrieBuilder::new();
        trie.insert(&rlp::u64_bytes(0), &receipt.encode()).unwrap();

        let mut headers = Vec::new();
        let mut parent = g.clone();
        for number in 1u64..=4 {
            let mut h = child(&parent, 2);
            if number == 4 {
                h.receipts_root = receipts_root(std::slice::from_ref(&receipt));
            }
            seal(&mut h, &keys[(number % 3) as usize].0);
            headers.push(h.clone());
            parent = h;
        }
        let state = verifier
            .verify(
                &trusted,
                &EvmLightBlock::CliqueHeaders(headers.clone()),
                now(),
            )
            .unwrap();
        assert_eq!(state.verified().number(), 4);
        let proof = ReceiptProof {
            index: 0,
            nodes: build_proof(&trie, &rlp::u64_bytes(0)),
        };
        let log = state
            .verified()
            .verify_receipt_log(&proof, 0, &verifier.limits)
            .unwrap();
        assert_eq!(log.data, b"bill of lading");

        // A gap in the chain is refused by name.
        let gapped = EvmLightBlock::CliqueHeaders(headers[1..].to_vec());
        assert!(matches!(
            verifier.verify(&trusted, &gapped, now()),
            Err(EvmError::Clique(CliqueError::NotNext { number: 2, .. }))
        ));
        // A header from the future is refused.
        assert!(matches!(
            verifier.verify(
                &trusted,
                &EvmLightBlock::CliqueHeaders(headers.clone()),
                Time::from_unix_secs(1_599_000_000).unwrap()
            ),
            Err(EvmError::FromTheFuture { number: 1, .. })
        ));
        // The wrong kind of light block.
        assert!(matches!(
            verifier.verify(
                &trusted,
                &EvmLightBlock::Attested {
                    header: Box::new(headers[0].clone()),
                    attestations: vec![]
                },
                now()
            ),
            Err(EvmError::RuleMismatch { .. })
        ));
    }

    #[test]
    fn attested_header() {
        let ed = SigningKey::from_seed([4; 32]);
        let quorum =
            WeakTrustAttestationQuorum::new(1, &[AttestorKey::Ed25519(ed.public_key())], 1)
                .unwrap();
        let rule = TrustRule::WeakTrustAttestations(quorum);
        let g = genesis(&[Address([1; 20])]);
        let trusted = EvmTrustedState::from_checkpoint(&rule, g.clone(), &g.hash()).unwrap();
        let verifier = EvmVerifier::new(rule);
        let mut h = child(&g, 2);
        h.number = 100;
        let digest = attestation_digest(1, 100, &h.hash());
        let block = EvmLightBlock::Attested {
            header: Box::new(h.clone()),
            attestations: vec![Attestation::Ed25519 {
                key: ed.public_key(),
                signature: ed.sign(&digest.0),
            }],
        };
        let state = verifier.verify(&trusted, &block, now()).unwrap();
        assert_eq!(state.verified().hash(), h.hash());
        let block = EvmLightBlock::Attested {
            header: Box::new(h),
            attestations: vec![],
        };
        assert!(matches!(
            verifier.verify(&trusted, &block, now()),
            Err(EvmError::Attestation(AttestError::BelowThreshold { .. }))
        ));
        assert!(matches!(
            EvmTrustedState::from_checkpoint(
                &TrustRule::Clique(CliqueConfig {
                    epoch: 1,
                    period: 0
                }),
                g,
                &Hash32::ZERO
            ),
            Err(EvmError::Header(HeaderError::HashMismatch { .. }))
        ));
    }

    /// A verifier under one Ed25519 attestor, its key and a trusted genesis.
    fn attested_setup() -> (EvmVerifier, SigningKey, EvmTrustedState) {
        let ed = SigningKey::from_seed([4; 32]);
        let quorum =
            WeakTrustAttestationQuorum::new(1, &[AttestorKey::Ed25519(ed.public_key())], 1)
                .unwrap();
        let rule = TrustRule::WeakTrustAttestations(quorum);
        let g = genesis(&[Address([1; 20])]);
        let trusted = EvmTrustedState::from_checkpoint(&rule, g.clone(), &g.hash()).unwrap();
        (EvmVerifier::new(rule), ed, trusted)
    }

    fn attested(h: &Header, ed: &SigningKey) -> EvmLightBlock {
        let digest = attestation_digest(1, h.number, &h.hash());
        EvmLightBlock::Attested {
            header: Box::new(h.clone()),
            attestations: vec![Attestation::Ed25519 {
                key: ed.public_key(),
                signature: ed.sign(&digest.0),
            }],
        }
    }

    #[test]
    fn clock_drift_at_its_bound_and_one_second_over() {
        let (verifier, ed, trusted) = attested_setup();
        assert_eq!(verifier.max_clock_drift_secs, 15);
        assert!(trusted.clique().is_none());
        assert!(matches!(
            verifier.rule(),
            TrustRule::WeakTrustAttestations(q) if q.threshold() == 1
        ));
        let mut h = child(trusted.verified().header(), 2);
        h.number = 100;
        // `now` is read in whole seconds: 999 ms past a second is still that second.
        let now = Time::from_unix_nanos(h.timestamp * 1_000_000_000 - 15_000_000_000 + 999_999_999);
        let state = verifier.verify(&trusted, &attested(&h, &ed), now).unwrap();
        assert_eq!(state.verified().header(), &h);
        assert_eq!(state.verified().number(), 100);
        h.timestamp += 1;
        assert_eq!(
            verifier.verify(&trusted, &attested(&h, &ed), now),
            Err(EvmError::FromTheFuture {
                number: 100,
                timestamp: h.timestamp,
                now: h.timestamp - 16,
            })
        );
        // Not above the trusted height.
        let mut same = child(trusted.verified().header(), 2);
        same.number = 0;
        assert_eq!(
            verifier.verify(&trusted, &attested(&same, &ed), now),
            Err(EvmError::NotNewer {
                number: 0,
                trusted: 0
            })
        );
    }

    #[test]
    fn header_count_from_one_to_the_bound() {
        let mut keys: Vec<_> = (1u8..=3).map(signer).collect();
        keys.sort_by_key(|(_, a)| *a);
        let addrs: Vec<Address> = keys.iter().map(|(_, a)| *a).collect();
        let g = genesis(&addrs);
        let rule = TrustRule::Clique(CliqueConfig {
            epoch: 30_000,
            period: 15,
        });
        let trusted = EvmTrustedState::from_checkpoint(&rule, g.clone(), &g.hash()).unwrap();
        assert_eq!(trusted.clique().map(CliqueSnapshot::number), Some(0));
        let mut verifier = EvmVerifier::new(rule);
        verifier.max_headers = 3;
        let mut headers = Vec::new();
        let mut parent = g;
        for number in 1u64..=4 {
            let mut h = child(&parent, 2);
            seal(&mut h, &keys[(number % 3) as usize].0);
            headers.push(h.clone());
            parent = h;
        }
        let state = verifier
            .verify(
                &trusted,
                &EvmLightBlock::CliqueHeaders(headers[..3].to_vec()),
                now(),
            )
            .unwrap();
        assert_eq!(state.verified().number(), 3);
        assert_eq!(state.clique().map(CliqueSnapshot::number), Some(3));
        assert_eq!(
            verifier.verify(&trusted, &EvmLightBlock::CliqueHeaders(headers), now()),
            Err(EvmError::HeaderCount { count: 4, max: 3 })
        );
        assert_eq!(
            verifier.verify(&trusted, &EvmLightBlock::CliqueHeaders(vec![]), now()),
            Err(EvmError::HeaderCount { count: 0, max: 3 })
        );
    }

    #[test]
    fn accounts_are_proven_against_the_verified_state_root() {
        let (verifier, ed, trusted) = attested_setup();
        let address = Address([0x42; 20]);
        let account = Account {
            nonce: 1,
            ..Account::EMPTY
        };
        let mut state = TrieBuilder::new();
        state
            .insert(&keccak256(&address.0).0, &account.encode())
            .unwrap();
        let mut h = child(trusted.verified().header(), 2);
        h.number = 100;
        h.state_root = state.root();
        let verified = verifier
            .verify(&trusted, &attested(&h, &ed), now())
            .unwrap();
        let proof = |address: Address, account| AccountProof {
            address,
            account,
            account_proof: build_proof(&state, &keccak256(&address.0).0),
            storage: vec![],
            code: None,
        };
        let limits = &verifier.limits;
        assert_eq!(
            verified
                .verified()
                .verify_account(&proof(address, account), limits),
            Ok(true)
        );
        let absent = Address([0x43; 20]);
        assert_eq!(
            verified
                .verified()
                .verify_account(&proof(absent, Account::EMPTY), limits),
            Ok(false)
        );
        assert!(matches!(
            verified
                .verified()
                .verify_account(&proof(absent, account), limits),
            Err(EvmError::Account(AccountError::AccountMismatch { .. }))
        ));
    }
}
