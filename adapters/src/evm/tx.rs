//! What the EVM adapter writes to a chain: Solidity ABI call data ([`Token`], [`call_data`]),
//! legacy EIP-155 transactions signed with secp256k1 ([`Sender`]), and the 65-byte
//! signatures of digests that the inbox contract checks with `ecrecover` ([`sign_digest`]).
//!
//! ## Implements
//! - Solidity ABI specification: function selectors, head/tail encoding of `bytes`,
//!   `bytes[]`, `address[]` and static words.
//! - EIP-155 (replay-protected legacy transactions): the signing payload
//!   `rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])` and
//!   `v = chainId * 2 + 35 + recoveryId`.

use core::fmt;

use corridor_light_client::evm::{keccak256, rlp, Address};
use corridor_light_client::Hash32;
use k256::ecdsa::{RecoveryId, Signature, SigningKey};

/// One ABI value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// A static 32-byte word (`uintN`, `bytes32`, `address`).
    Word([u8; 32]),
    /// `bytes`.
    Bytes(Vec<u8>),
    /// `bytes[]`.
    BytesArray(Vec<Vec<u8>>),
    /// `address[]`.
    AddressArray(Vec<Address>),
}

impl Token {
    /// A `uintN` word.
    pub fn uint(value: u64) -> Self {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&value.to_be_bytes());
        Self::Word(w)
    }

    /// An `address` word.
    pub fn address(address: &Address) -> Self {
        Self::Word(address_word(address))
    }

    fn is_dynamic(&self) -> bool {
        !matches!(self, Self::Word(_))
    }
}

fn address_word(address: &Address) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(&address.0);
    w
}

fn len_word(len: usize) -> [u8; 32] {
    Token::uint(u64::try_from(len).unwrap_or(u64::MAX)).word()
}

impl Token {
    fn word(&self) -> [u8; 32] {
        match self {
            Self::Word(w) => *w,
            _ => [0; 32],
        }
    }
}

/// `bytes` as a tail: its length, then the bytes padded to whole words.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&len_word(bytes.len()));
    out.extend_from_slice(bytes);
    let padded = bytes.len().div_ceil(32).saturating_mul(32);
    out.resize(
        out.len().saturating_add(padded.saturating_sub(bytes.len())),
        0,
    );
}

fn tail(token: &Token) -> Vec<u8> {
    let mut out = Vec::new();
    match token {
        Token::Word(_) => {}
        Token::Bytes(b) => put_bytes(&mut out, b),
        Token::AddressArray(items) => {
            out.extend_from_slice(&len_word(items.len()));
            for a in items {
                out.extend_from_slice(&address_word(a));
            }
        }
        Token::BytesArray(items) => {
            out.extend_from_slice(&len_word(items.len()));
            // The elements are dynamic: offsets (from the first offset word) then tails.
            let tails: Vec<Vec<u8>> = items
                .iter()
                .map(|b| {
                    let mut t = Vec::new();
                    put_bytes(&mut t, b);
                    t
                })
                .collect();
            let mut offset = items.len().saturating_mul(32);
            for t in &tails {
                out.extend_from_slice(&len_word(offset));
                offset = offset.saturating_add(t.len());
            }
            for t in tails {
                out.extend_from_slice(&t);
            }
        }
    }
    out
}

/// The ABI encoding of `tokens` as a tuple (constructor arguments; call data without the
/// selector).
pub fn encode(tokens: &[Token]) -> Vec<u8> {
    let tails: Vec<Vec<u8>> = tokens.iter().map(tail).collect();
    let mut offset = tokens.len().saturating_mul(32);
    let mut out = Vec::new();
    for (token, t) in tokens.iter().zip(&tails) {
        if token.is_dynamic() {
            out.extend_from_slice(&len_word(offset));
            offset = offset.saturating_add(t.len());
        } else {
            out.extend_from_slice(&token.word());
        }
    }
    for t in tails {
        out.extend_from_slice(&t);
    }
    out
}

/// The call data of `signature` (e.g. `publish(bytes,bytes)`) with `tokens`.
pub fn call_data(signature: &str, tokens: &[Token]) -> Vec<u8> {
    let mut out = keccak256(signature.as_bytes()).0[..4].to_vec();
    out.extend(encode(tokens));
    out
}

/// Signs a 32-byte digest: `r || s || v` with `v` 27 or 28 and a low `s`, as `ecrecover`
/// and the light client's attestation checks take it.
pub fn sign_digest(key: &SigningKey, digest: &Hash32) -> [u8; 65] {
    let (signature, recid) = sign_low_s(key, digest);
    let mut out = [0u8; 65];
    out[..64].copy_from_slice(&signature.to_bytes());
    out[64] = 27u8.saturating_add(recid.to_byte());
    out
}

fn sign_low_s(key: &SigningKey, digest: &Hash32) -> (Signature, RecoveryId) {
    // Signing a 32-byte prehash cannot fail for a valid key (the only error is a digest
    // shorter than the curve's field, and Keccak-256 is exactly that size).
    let Ok((signature, recid)) = key.sign_prehash_recoverable(&digest.0) else {
        unreachable_signing()
    };
    match signature.normalize_s() {
        Some(low) => (
            low,
            RecoveryId::new(!recid.is_y_odd(), recid.is_x_reduced()),
        ),
        None => (signature, recid),
    }
}

#[allow(clippy::panic)]
fn unreachable_signing() -> ! {
    panic!("secp256k1 signing of a 32-byte digest failed")
}

/// The Ethereum address of a secp256k1 key.
pub fn address_of(key: &SigningKey) -> Address {
    let point = key.verifying_key().to_encoded_point(false);
    let mut xy = [0u8; 64];
    // An uncompressed SEC1 point is 0x04 || x || y (65 bytes).
    if let Some(b) = point.as_bytes().get(1..65) {
        xy.copy_from_slice(b);
    }
    Address::from_public_key(&xy)
}

/// An account that signs transactions: its key and the chain's EIP-155 id.
#[derive(Clone)]
pub struct Sender {
    key: SigningKey,
    address: Address,
    chain_id: u64,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        f.debug_struct("Sender")
            .field("address", &self.address)
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

/// A transaction before signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyTx {
    /// The sender's nonce.
    pub nonce: u64,
    /// Gas price, wei (big-endian, at most 32 bytes).
    pub gas_price: Vec<u8>,
    /// Gas limit.
    pub gas: u64,
    /// The callee; `None` creates a contract.
    pub to: Option<Address>,
    /// Call data (or init code).
    pub data: Vec<u8>,
}

impl Sender {
    /// The account of `key` on the chain with EIP-155 id `chain_id`.
    pub fn new(key: SigningKey, chain_id: u64) -> Self {
        Self {
            address: address_of(&key),
            key,
            chain_id,
        }
    }

    /// The account of the secp256k1 key with the 32-byte secret `seed`; `Err` when the
    /// seed is not a valid secret (zero, or not below the curve's order).
    pub fn from_seed(seed: [u8; 32], chain_id: u64) -> Result<Self, k256::ecdsa::Error> {
        Ok(Self::new(SigningKey::from_slice(&seed)?, chain_id))
    }

    /// The account's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The chain's EIP-155 id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The signed transaction's raw bytes, for `eth_sendRawTransaction`, and its hash.
    pub fn sign(&self, tx: &LegacyTx) -> (Vec<u8>, Hash32) {
        let mut fields = Vec::new();
        rlp::put_u64(&mut fields, tx.nonce);
        rlp::put_uint(&mut fields, &tx.gas_price);
        rlp::put_u64(&mut fields, tx.gas);
        match &tx.to {
            Some(to) => rlp::put_bytes(&mut fields, &to.0),
            None => rlp::put_bytes(&mut fields, &[]),
        }
        rlp::put_u64(&mut fields, 0); // value
        rlp::put_bytes(&mut fields, &tx.data);
        let mut unsigned = fields.clone();
        rlp::put_u64(&mut unsigned, self.chain_id);
        rlp::put_u64(&mut unsigned, 0);
        rlp::put_u64(&mut unsigned, 0);
        let digest = keccak256(&rlp::list(&unsigned));
        let (signature, recid) = sign_low_s(&self.key, &digest);
        let v = self
            .chain_id
            .saturating_mul(2)
            .saturating_add(35)
            .saturating_add(u64::from(recid.to_byte()));
        let rs = signature.to_bytes();
        let mut signed = fields;
        rlp::put_u64(&mut signed, v);
        rlp::put_uint(&mut signed, &rs[..32]);
        rlp::put_uint(&mut signed, &rs[32..]);
        let raw = rlp::list(&signed);
        let hash = keccak256(&raw);
        (raw, hash)
    }

    /// Signs a digest (see [`sign_digest`]).
    pub fn sign_digest(&self, digest: &Hash32) -> [u8; 65] {
        sign_digest(&self.key, digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anvil_key() -> SigningKey {
        // Anvil's and Hardhat's first well-known development key.
        let bytes = hex::decode("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
            .unwrap();
        SigningKey::from_slice(&bytes).unwrap()
    }

    #[test]
    fn address_of_the_well_known_development_key() {
        assert_eq!(
            address_of(&anvil_key()).to_string(),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
    }

    #[test]
    fn abi_encoding_of_dynamic_values() {
        // keccak256("transfer(address,uint256)")[..4], a well-known selector.
        assert_eq!(
            hex::encode(call_data("transfer(address,uint256)", &[])),
            "a9059cbb"
        );
        // (bytes "abc", uint 5): offset 64, the word 5, then length 3 and the padded bytes.
        let enc = encode(&[Token::Bytes(b"abc".to_vec()), Token::uint(5)]);
        assert_eq!(enc.len(), 4 * 32);
        assert_eq!(enc[31], 64);
        assert_eq!(enc[63], 5);
        assert_eq!(enc[95], 3);
        assert_eq!(&enc[96..99], b"abc");
        // bytes[] of two: length 2, offsets 64 and 128 (each element one length word and
        // one data word), then the elements.
        let enc = encode(&[Token::BytesArray(vec![vec![1], vec![2; 33]])]);
        assert_eq!(enc[31], 32);
        assert_eq!(enc[63], 2);
        assert_eq!(enc[95], 64);
        assert_eq!(enc[127], 128);
        assert_eq!(enc[159], 1);
        assert_eq!(enc[160], 1);
        assert_eq!(enc[223], 33);
        assert_eq!(enc.len(), 32 * 9);
    }

    #[test]
    fn signed_digests_recover_to_the_signer() {
        use corridor_light_client::evm::{AttestorKey, WeakTrustAttestationQuorum};
        let key = anvil_key();
        let quorum =
            WeakTrustAttestationQuorum::new(1, &[AttestorKey::Secp256k1(address_of(&key))], 1)
                .unwrap();
        let hash = Hash32([9; 32]);
        let digest = corridor_light_client::evm::attest::attestation_digest(1, 5, &hash);
        let sig = sign_digest(&key, &digest);
        assert!(sig[64] == 27 || sig[64] == 28);
        let att = corridor_light_client::evm::Attestation::Secp256k1(sig);
        quorum.verify(5, &hash, std::slice::from_ref(&att)).unwrap();
        quorum.verify(6, &hash, &[att]).unwrap_err();
    }
}
