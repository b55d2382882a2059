//! EIP-1186 (`eth_getProof`) account and storage proofs.
//!
//! An account is stored in the state trie under `keccak256(address)` as
//! `rlp([nonce, balance, storageRoot, codeHash])`; a storage slot is stored in the account's
//! storage trie under `keccak256(slot)` (the slot left-padded to 32 bytes) as the RLP string
//! of its value's minimal big-endian bytes. An absent account is the empty account (nonce 0,
//! balance 0, empty storage trie, no code), an absent slot holds zero.
//!
//! [`AccountProof::verify`] checks a whole `eth_getProof` response against a trusted state
//! root: the account proof proves exactly the fields the response claims (or, for an absent
//! account, the response claims the empty account), and every storage proof proves its
//! claimed value against the proven storage root.
//!
//! ## Implements
//! - EIP-1186 (`eth_getProof` result: `accountProof`, `storageProof[{key, value, proof}]`).
//! - Yellow Paper section 4.1 (account state) and Appendix D (the secure trie, keys hashed).

use serde_json::Value as Json;

use super::header::{json_data, json_fixed, json_quantity};
use super::rlp::{self, RlpError};
use super::trie::{self, ProofError, ProofLimits};
use super::{keccak256, Address, JsonError, EMPTY_CODE_HASH, EMPTY_TRIE_ROOT, U256};
use crate::types::Hash32;

/// An account's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// Transactions sent (or contracts created).
    pub nonce: u64,
    /// Balance in wei.
    pub balance: U256,
    /// Root of the account's storage trie.
    pub storage_root: Hash32,
    /// `keccak256` of the account's code.
    pub code_hash: Hash32,
}

impl Account {
    /// The state of an account that does not exist.
    pub const EMPTY: Self = Self {
        nonce: 0,
        balance: U256::ZERO,
        storage_root: EMPTY_TRIE_ROOT,
        code_hash: EMPTY_CODE_HASH,
    };

    /// `rlp([nonce, balance, storageRoot, codeHash])`, the value in the state trie.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(80);
        rlp::put_u64(&mut p, self.nonce);
        rlp::put_uint(&mut p, &self.balance.0);
        rlp::put_bytes(&mut p, &self.storage_root.0);
        rlp::put_bytes(&mut p, &self.code_hash.0);
        rlp::list(&p)
    }

    /// Decodes the state-trie value strictly.
    pub fn decode(value: &[u8]) -> Result<Self, AccountError> {
        let item = rlp::decode(value)?;
        let f = item.as_list()?;
        let [nonce, balance, storage_root, code_hash] = f else {
            return Err(AccountError::AccountFields { count: f.len() });
        };
        Ok(Self {
            nonce: nonce.as_u64()?,
            balance: U256::from_be_slice(balance.as_uint(32)?),
            storage_root: Hash32(storage_root.as_array()?),
            code_hash: Hash32(code_hash.as_array()?),
        })
    }
}

/// Why an account or storage proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The Merkle-Patricia proof itself is invalid.
    #[error("account {address}: {source}")]
    Proof {
        /// The account.
        address: Address,
        /// Why.
        source: ProofError,
    },
    /// A storage proof is invalid.
    #[error("account {address}, slot {slot}: {source}")]
    StorageProof {
        /// The account.
        address: Address,
        /// The slot.
        slot: Hash32,
        /// Why.
        source: Box<ProofError>,
    },
    /// A proven value is not canonical RLP.
    #[error("account value: {0}")]
    Rlp(#[from] RlpError),
    /// The account value is not a 4-item list.
    #[error("account value has {count} fields, expected 4")]
    AccountFields {
        /// Items found.
        count: usize,
    },
    /// The proven account differs from what the response claims.
    #[error("account {address}: proven {proven:?}, claimed {claimed:?}")]
    AccountMismatch {
        /// The account.
        address: Address,
        /// What the proof shows (the empty account when absent).
        proven: Box<Account>,
        /// What the response claims.
        claimed: Box<Account>,
    },
    /// The proven storage value differs from what the response claims.
    #[error("account {address}, slot {slot}: proven {proven}, claimed {claimed}")]
    StorageMismatch {
        /// The account.
        address: Address,
        /// The slot.
        slot: Hash32,
        /// What the proof shows (zero when absent).
        proven: U256,
        /// What the response claims.
        claimed: U256,
    },
    /// The response's `code` does not hash to the proven `codeHash`.
    #[error("account {address}: code hashes to {computed}, proven codeHash is {proven}")]
    CodeMismatch {
        /// The account.
        address: Address,
        /// keccak256 of the code.
        computed: Hash32,
        /// The proven code hash.
        proven: Hash32,
    },
    /// The response is missing a field or has malformed hex.
    #[error("eth_getProof response: {0}")]
    Json(#[from] JsonError),
}

/// Proves the state of `address` against `state_root`: `Some(account)` when present,
/// `None` when the proof shows it absent.
pub fn verify_account(
    state_root: &Hash32,
    address: &Address,
    proof: &[Vec<u8>],
    limits: &ProofLimits,
) -> Result<Option<Account>, AccountError> {
    let key = keccak256(&address.0);
    let value = trie::verify_proof(state_root, &key.0, proof, limits).map_err(|source| {
        AccountError::Proof {
            address: *address,
            source,
        }
    })?;
    value.map(|v| Account::decode(&v)).transpose()
}

/// Proves the value of storage `slot` against an account's `storage_root` (zero if absent).
pub fn verify_storage(
    address: &Address,
    storage_root: &Hash32,
    slot: &Hash32,
    proof: &[Vec<u8>],
    limits: &ProofLimits,
) -> Result<U256, AccountError> {
    let key = keccak256(&slot.0);
    let value = trie::verify_proof(storage_root, &key.0, proof, limits).map_err(|source| {
        AccountError::StorageProof {
            address: *address,
            slot: *slot,
            source: Box::new(source),
        }
    })?;
    match value {
        None => Ok(U256::ZERO),
        Some(v) => {
            let item = rlp::decode(&v)?;
            Ok(U256::from_be_slice(item.as_uint(32)?))
        }
    }
}

/// One entry of `storageProof`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageProof {
    /// The slot, left-padded to 32 bytes.
    pub slot: Hash32,
    /// The claimed value.
    pub value: U256,
    /// The proof nodes.
    pub proof: Vec<Vec<u8>>,
}

/// An `eth_getProof` result: the claimed account, its proof and storage proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProof {
    /// The account.
    pub address: Address,
    /// The claimed state.
    pub account: Account,
    /// The account proof nodes.
    pub account_proof: Vec<Vec<u8>>,
    /// The storage proofs.
    pub storage: Vec<StorageProof>,
    /// The account's code, when the response carries it.
    pub code: Option<Vec<u8>>,
}

/// Most storage proofs accepted in one response.
pub const MAX_STORAGE_PROOFS: usize = 1024;

fn nodes(field: &'static str, v: Option<&Json>) -> Result<Vec<Vec<u8>>, JsonError> {
    let arr = v.and_then(Json::as_array).ok_or(JsonError {
        field,
        reason: "missing or not an array",
    })?;
    // Bounded by the proof limits later; refuse absurd sizes before decoding hex.
    if arr.len() > 4096 {
        return Err(JsonError {
            field,
            reason: "too many nodes",
        });
    }
    arr.iter().map(|n| json_data(field, n)).collect()
}

impl AccountProof {
    /// Reads an EIP-1186 object (`storageHash`, or `storageRoot` as in some APIs; an
    /// `account` sub-object with the four fields is read too).
    pub fn from_json(obj: &Json, address: Option<Address>) -> Result<Self, AccountError> {
        let fields = obj.get("account").unwrap_or(obj);
        let get = |name: &'static str| {
            fields.get(name).or_else(|| obj.get(name)).ok_or(JsonError {
                field: name,
                reason: "missing",
            })
        };
        let address = match address {
            Some(a) => a,
            None => Address(json_fixed::<20>("address", get("address")?)?),
        };
        let nonce_bytes = json_quantity("nonce", get("nonce")?)?;
        let nonce = U256::from_be_slice(&nonce_bytes)
            .to_u64()
            .ok_or(JsonError {
                field: "nonce",
                reason: "exceeds 64 bits",
            })?;
        let storage_root = match fields
            .get("storageHash")
            .or_else(|| fields.get("storageRoot"))
        {
            Some(v) => Hash32(json_fixed::<32>("storageHash", v)?),
            None => {
                return Err(JsonError {
                    field: "storageHash",
                    reason: "missing",
                }
                .into())
            }
        };
        let account = Account {
            nonce,
            balance: U256::from_be_slice(&json_quantity("balance", get("balance")?)?),
            storage_root,
            code_hash: Hash32(json_fixed::<32>("codeHash", get("codeHash")?)?),
        };
        let account_proof = nodes("accountProof", obj.get("accountProof"))?;
        let mut storage = Vec::new();
        if let Some(entries) = obj.get("storageProof").and_then(Json::as_array) {
            if entries.len() > MAX_STORAGE_PROOFS {
                return Err(JsonError {
                    field: "storageProof",
                    reason: "too many entries",
                }
                .into());
            }
            for e in entries {
                let key = json_quantity("storageProof.key", e.get("key").unwrap_or(&Json::Null))?;
                storage.push(StorageProof {
                    slot: Hash32(U256::from_be_slice(&key).0),
                    value: U256::from_be_slice(&json_quantity(
                        "storageProof.value",
                        e.get("value").unwrap_or(&Json::Null),
                    )?),
                    proof: nodes("storageProof.proof", e.get("proof"))?,
                });
            }
        }
        let code = obj.get("code").map(|c| json_data("code", c)).transpose()?;
        Ok(Self {
            address,
            account,
            account_proof,
            storage,
            code,
        })
    }

    /// Verifies the whole response against a trusted state root. Returns whether the
    /// account exists.
    pub fn verify(&self, state_root: &Hash32, limits: &ProofLimits) -> Result<bool, AccountError> {
        let proven = verify_account(state_root, &self.address, &self.account_proof, limits)?;
        let present = proven.is_some();
        let proven = proven.unwrap_or(Account::EMPTY);
        if proven != self.account {
            return Err(AccountError::AccountMismatch {
                address: self.address,
                proven: Box::new(proven),
                claimed: Box::new(self.account),
            });
        }
        for entry in &self.storage {
            let value = verify_storage(
                &self.address,
                &proven.storage_root,
                &entry.slot,
                &entry.proof,
                limits,
            )?;
            if value != entry.value {
                return Err(AccountError::StorageMismatch {
                    address: self.address,
                    slot: entry.slot,
                    proven: value,
                    claimed: entry.value,
                });
            }
        }
        if let Some(code) = &self.code {
            let computed = keccak256(code);
            if computed != proven.code_hash {
                return Err(AccountError::CodeMismatch {
                    address: self.address,
                    computed,
                    proven: proven.code_hash,
                });
            }
        }
        Ok(present)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evm::trie::{build_proof, TrieBuilder};

    #[test]
    fn generated_state_proves_accounts_and_refuses_lies() {
        let limits = ProofLimits::default();
        let mut state = TrieBuilder::new();
        let mut accounts = Vec::new();
        for i in 0u8..20 {
            let address = Address([i; 20]);
            let account = Account {
                nonce: u64::from(i),
                balance: U256::from_u64(1000 * u64::from(i)),
                ..Account::EMPTY
            };
            state
                .insert(&keccak256(&address.0).0, &account.encode())
                .unwrap();
            accounts.push((address, account));
        }
        let root = state.root();
        let (address, account) = accounts[5];
        let proof = build_proof(&state, &keccak256(&address.0).0);
        let mut response = AccountProof {
            address,
            account,
            account_proof: proof,
            storage: vec![],
            code: None,
        };
        assert_eq!(response.verify(&root, &limits), Ok(true));
        response.account.balance = U256::from_u64(1);
        assert!(matches!(
            response.verify(&root, &limits),
            Err(AccountError::AccountMismatch { .. })
        ));
        // An absent account must be claimed as the empty account.
        let absent = Address([0xee; 20]);
        let response = AccountProof {
            address: absent,
            account: Account::EMPTY,
            account_proof: build_proof(&state, &keccak256(&absent.0).0),
            storage: vec![],
            code: None,
        };
        assert_eq!(response.verify(&root, &limits), Ok(false));
    }

    /// An account with two storage slots and some code, in a state of a few accounts.
    struct World {
        state: TrieBuilder,
        storage: TrieBuilder,
        address: Address,
        account: Account,
        code: Vec<u8>,
    }

    fn world() -> World {
        let code = b"\x60\x00\x60\x00\xf3".to_vec();
        let mut storage = TrieBuilder::new();
        for (slot, value) in [(1u64, 0x2au64), (2, 0x1234_5678)] {
            let slot = U256::from_u64(slot).0;
            let value = rlp::bytes(U256::from_u64(value).to_minimal_be());
            storage.insert(&keccak256(&slot).0, &value).unwrap();
        }
        let address = Address([0x42; 20]);
        let account = Account {
            nonce: 3,
            balance: U256::from_u64(10),
            storage_root: storage.root(),
            code_hash: keccak256(&code),
        };
        let mut state = TrieBuilder::new();
        state
            .insert(&keccak256(&address.0).0, &account.encode())
            .unwrap();
        for i in 0u8..8 {
            let other = Account {
                nonce: u64::from(i),
                ..Account::EMPTY
            };
            state
                .insert(&keccak256(&[i; 20]).0, &other.encode())
                .unwrap();
        }
        World {
            state,
            storage,
            address,
            account,
            code,
        }
    }

    impl World {
        fn slot(&self, slot: u64, value: u64) -> StorageProof {
            let slot = Hash32(U256::from_u64(slot).0);
            StorageProof {
                slot,
                value: U256::from_u64(value),
                proof: build_proof(&self.storage, &keccak256(&slot.0).0),
            }
        }

        fn response(&self, storage: Vec<StorageProof>, code: Option<Vec<u8>>) -> AccountProof {
            AccountProof {
                address: self.address,
                account: self.account,
                account_proof: build_proof(&self.state, &keccak256(&self.address.0).0),
                storage,
                code,
            }
        }
    }

    #[test]
    fn storage_values_and_code_are_proven_against_the_account() {
        let limits = ProofLimits::default();
        let w = world();
        let root = w.state.root();
        let response = w.response(
            vec![w.slot(1, 0x2a), w.slot(2, 0x1234_5678), w.slot(3, 0)],
            Some(w.code.clone()),
        );
        assert_eq!(response.verify(&root, &limits), Ok(true));
        assert_eq!(
            verify_storage(
                &w.address,
                &w.account.storage_root,
                &response.storage[1].slot,
                &response.storage[1].proof,
                &limits
            ),
            Ok(U256::from_u64(0x1234_5678))
        );

        // A wrong value, a value claimed for an empty slot, a broken storage proof.
        for (entry, proven) in [(w.slot(1, 0x2b), 0x2a), (w.slot(3, 7), 0)] {
            let slot = entry.slot;
            let claimed = entry.value;
            assert_eq!(
                w.response(vec![entry], None).verify(&root, &limits),
                Err(AccountError::StorageMismatch {
                    address: w.address,
                    slot,
                    proven: U256::from_u64(proven),
                    claimed,
                })
            );
        }
        let mut broken = w.slot(2, 0x1234_5678);
        broken.proof.push(broken.proof[0].clone());
        assert!(matches!(
            w.response(vec![broken], None).verify(&root, &limits),
            Err(AccountError::StorageProof { address, source, .. })
                if address == w.address && matches!(*source, ProofError::UnusedNodes { .. })
        ));

        // Code that is not the account's.
        let other = b"\x00".to_vec();
        assert_eq!(
            w.response(vec![], Some(other.clone()))
                .verify(&root, &limits),
            Err(AccountError::CodeMismatch {
                address: w.address,
                computed: keccak256(&other),
                proven: w.account.code_hash,
            })
        );
    }

    /// `response` as `eth_getProof` returns it.
    fn to_json(response: &AccountProof) -> Json {
        let hx = |b: &[u8]| format!("0x{}", hex::encode(b));
        let nodes = |n: &[Vec<u8>]| n.iter().map(|x| hx(x)).collect::<Vec<_>>();
        let a = &response.account;
        let mut obj = serde_json::json!({
            "address": hx(&response.address.0),
            "nonce": format!("{:#x}", a.nonce),
            "balance": hx(a.balance.to_minimal_be()),
            "storageHash": hx(&a.storage_root.0),
            "codeHash": hx(&a.code_hash.0),
            "accountProof": nodes(&response.account_proof),
            "storageProof": response.storage.iter().map(|s| serde_json::json!({
                "key": hx(&s.slot.0),
                "value": hx(s.value.to_minimal_be()),
                "proof": nodes(&s.proof),
            })).collect::<Vec<_>>(),
        });
        if let Some(code) = &response.code {
            obj["code"] = Json::from(hx(code));
        }
        obj
    }

    #[test]
    fn json_node_and_entry_counts_at_their_limits() {
        let w = world();
        let response = w.response(vec![w.slot(1, 0x2a)], Some(w.code.clone()));
        assert_eq!(
            AccountProof::from_json(&to_json(&response), None),
            Ok(response.clone())
        );

        let mut obj = to_json(&response);
        obj["accountProof"] = Json::from(vec!["0x80"; 4096]);
        let read = AccountProof::from_json(&obj, None).unwrap();
        assert_eq!(read.account_proof, vec![vec![0x80]; 4096]);
        obj["accountProof"] = Json::from(vec!["0x80"; 4097]);
        assert_eq!(
            AccountProof::from_json(&obj, None),
            Err(AccountError::Json(JsonError {
                field: "accountProof",
                reason: "too many nodes"
            }))
        );

        let mut obj = to_json(&response);
        let entry = obj["storageProof"][0].clone();
        obj["storageProof"] = Json::from(vec![entry.clone(); MAX_STORAGE_PROOFS]);
        let read = AccountProof::from_json(&obj, None).unwrap();
        assert_eq!(read.storage.len(), MAX_STORAGE_PROOFS);
        obj["storageProof"] = Json::from(vec![entry; MAX_STORAGE_PROOFS + 1]);
        assert_eq!(
            AccountProof::from_json(&obj, None),
            Err(AccountError::Json(JsonError {
                field: "storageProof",
                reason: "too many entries"
            }))
        );
    }
}
