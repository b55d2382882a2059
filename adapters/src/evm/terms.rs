//! An EVM chain's terms as an operator's config names them (the relay's `[chains.evm]`, a
//! devnet chain's `[peers.evm]`): its EIP-155 id, its corridor contracts and the quorum of
//! operators that attest its headers (a WEAKER trust model than a light client). A trust
//! root pins them ([`EvmTerms::pin`]), so whoever hands a client its root block cannot
//! choose them.

use corridor_light_client::evm::family::root_pin;
use corridor_light_client::evm::{
    Address, AttestError, AttestorKey, CorridorContracts, EvmSeal, WeakTrustAttestationQuorum,
};
use corridor_light_client::signature::{PreparedKey, PublicKey};
use corridor_light_client::Hash32;
use serde::Deserialize;

/// The terms as written: every field is checked by [`RawEvmTerms::check`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvmTerms {
    /// The chain's EIP-155 id.
    pub chain_id: u64,
    /// The outbox contract's address (hex, `0x` optional).
    pub outbox: String,
    /// The inbox contract's address (hex, `0x` optional).
    pub inbox: String,
    /// The header attestors: `ed25519:<public key hex>` or `secp256k1:<address>`.
    pub attestors: Vec<String>,
    /// How many of them must attest each header.
    pub threshold: u64,
}

/// Checked terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvmTerms {
    /// The chain's EIP-155 id.
    pub evm_chain_id: u64,
    /// The outbox and inbox.
    pub contracts: CorridorContracts,
    /// Who attests its headers, and how many must.
    pub quorum: WeakTrustAttestationQuorum,
}

/// A term that is wrong: its key under the terms' table, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsError {
    /// `chain_id`, `outbox`, `attestors[1]`, `threshold`...
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

impl RawEvmTerms {
    /// The checked terms, or the first wrong one by key.
    pub fn check(&self) -> Result<EvmTerms, TermsError> {
        let err = |key: &str, problem: String| TermsError {
            key: key.to_owned(),
            problem,
        };
        if self.chain_id == 0 {
            return Err(err("chain_id", "must be above 0".into()));
        }
        let address = |key: &str, value: &str| {
            Address::from_hex(value).map_err(|_| {
                err(
                    key,
                    format!("{value:?} is not an address (40 hex characters, 0x optional)"),
                )
            })
        };
        let contracts = CorridorContracts {
            outbox: address("outbox", &self.outbox)?,
            inbox: address("inbox", &self.inbox)?,
        };
        let attestors = self
            .attestors
            .iter()
            .enumerate()
            .map(|(j, a)| {
                let bad = |why: &str| err(&format!("attestors[{j}]"), format!("{a:?}: {why}"));
                match a.split_once(':') {
                    Some(("ed25519", k)) => hex::decode(k)
                        .ok()
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .map(PublicKey)
                        .filter(|k| PreparedKey::new(*k).is_some())
                        .map(AttestorKey::Ed25519)
                        .ok_or_else(|| bad("not an ed25519 public key (64 hex characters)")),
                    Some(("secp256k1", k)) => Address::from_hex(k)
                        .map(AttestorKey::Secp256k1)
                        .map_err(|_| bad("not an address (40 hex characters, 0x optional)")),
                    _ => Err(bad(
                        "an attestor is `ed25519:<public key hex>` or `secp256k1:<address>`",
                    )),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let threshold = usize::try_from(self.threshold).unwrap_or(usize::MAX);
        let quorum = WeakTrustAttestationQuorum::new(self.chain_id, &attestors, threshold)
            .map_err(|e| match e {
                AttestError::BadThreshold { .. } => err("threshold", e.to_string()),
                e => err("attestors", e.to_string()),
            })?;
        Ok(EvmTerms {
            evm_chain_id: self.chain_id,
            contracts,
            quorum,
        })
    }
}

impl EvmTerms {
    /// The pin a trust root of this chain names (see the module doc); `None` never for
    /// checked terms (they always encode).
    pub fn pin(&self) -> Option<Hash32> {
        root_pin(
            &self.contracts,
            &EvmSeal::Attested {
                quorum: self.quorum.clone(),
                attestations: Vec::new(),
            },
        )
    }
}
