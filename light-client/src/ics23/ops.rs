//! Applying leaf and inner ops, and checking them against a spec.

use blake2::{Blake2b512, Blake2s256};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256, Sha512, Sha512_256};
use sha3::Keccak256;

use super::{HashOp, Ics23Error, InnerOp, LeafOp, LengthOp, ProofSpec};

fn calc(reason: impl Into<String>) -> Ics23Error {
    Ics23Error::Calculation(reason.into())
}

fn spec_err(reason: impl Into<String>) -> Ics23Error {
    Ics23Error::Spec(reason.into())
}

/// Hashes `data` with `op`; `NO_HASH` and unknown ops are errors.
pub fn do_hash(op: HashOp, data: &[u8]) -> Result<Vec<u8>, Ics23Error> {
    Ok(match op {
        HashOp::SHA256 => Sha256::digest(data).to_vec(),
        HashOp::SHA512 => Sha512::digest(data).to_vec(),
        HashOp::KECCAK256 => Keccak256::digest(data).to_vec(),
        HashOp::RIPEMD160 => Ripemd160::digest(data).to_vec(),
        HashOp::BITCOIN => Ripemd160::digest(Sha256::digest(data)).to_vec(),
        HashOp::SHA512_256 => Sha512_256::digest(data).to_vec(),
        HashOp::BLAKE2B_512 => Blake2b512::digest(data).to_vec(),
        HashOp::BLAKE2S_256 => Blake2s256::digest(data).to_vec(),
        HashOp::BLAKE3 => blake3::hash(data).as_bytes().to_vec(),
        other => return Err(calc(format!("unsupported hash op {}", other.0))),
    })
}

/// `data` unchanged for `NO_HASH`, else [`do_hash`].
pub(crate) fn do_hash_or_noop(op: HashOp, data: &[u8]) -> Result<Vec<u8>, Ics23Error> {
    if op == HashOp::NO_HASH {
        Ok(data.to_vec())
    } else {
        do_hash(op, data)
    }
}

/// Prefixes `data` with its length as `op` says (or checks its length).
pub fn do_length(op: LengthOp, data: &[u8]) -> Result<Vec<u8>, Ics23Error> {
    let len = data.len();
    let mut out = match op {
        LengthOp::NO_PREFIX => Vec::new(),
        LengthOp::VAR_PROTO => {
            let mut v = Vec::with_capacity(10);
            crate::cometbft::proto::put_varint(&mut v, len as u64);
            v
        }
        LengthOp::REQUIRE_32_BYTES | LengthOp::REQUIRE_64_BYTES => {
            let want = if op == LengthOp::REQUIRE_32_BYTES {
                32
            } else {
                64
            };
            if len != want {
                return Err(calc(format!("data is {len} bytes, not {want}")));
            }
            Vec::new()
        }
        LengthOp::FIXED32_BIG | LengthOp::FIXED32_LITTLE => {
            let n = u32::try_from(len).map_err(|_| calc("data too long for a 32-bit length"))?;
            if op == LengthOp::FIXED32_BIG {
                n.to_be_bytes().to_vec()
            } else {
                n.to_le_bytes().to_vec()
            }
        }
        LengthOp::FIXED64_BIG => (len as u64).to_be_bytes().to_vec(),
        LengthOp::FIXED64_LITTLE => (len as u64).to_le_bytes().to_vec(),
        other => return Err(calc(format!("unsupported length op {}", other.0))),
    };
    out.extend_from_slice(data);
    Ok(out)
}

impl LeafOp {
    /// The leaf hash of `key` and `value` (both must be non-empty).
    pub fn apply(&self, key: &[u8], value: &[u8]) -> Result<Vec<u8>, Ics23Error> {
        if key.is_empty() {
            return Err(calc("leaf op needs a key"));
        }
        if value.is_empty() {
            return Err(calc("leaf op needs a value"));
        }
        let pkey = do_length(self.length, &do_hash_or_noop(self.prehash_key, key)?)?;
        let pvalue = do_length(self.length, &do_hash_or_noop(self.prehash_value, value)?)?;
        let mut data = Vec::with_capacity(
            self.prefix
                .len()
                .saturating_add(pkey.len())
                .saturating_add(pvalue.len()),
        );
        data.extend_from_slice(&self.prefix);
        data.extend_from_slice(&pkey);
        data.extend_from_slice(&pvalue);
        do_hash(self.hash, &data)
    }

    /// Checks this leaf op against `spec`'s leaf spec.
    pub fn check_against_spec(&self, spec: &ProofSpec) -> Result<(), Ics23Error> {
        let lspec = spec
            .leaf_spec
            .as_ref()
            .ok_or_else(|| spec_err("spec has no leaf spec"))?;
        if spec_equals(spec, &super::iavl_spec()) {
            validate_iavl_prefix(&self.prefix, self.hash, 0)?;
        }
        if self.hash != lspec.hash {
            return Err(spec_err(format!("unexpected leaf hash op {}", self.hash.0)));
        }
        if self.prehash_key != lspec.prehash_key {
            return Err(spec_err(format!(
                "unexpected prehash_key {}",
                self.prehash_key.0
            )));
        }
        if self.prehash_value != lspec.prehash_value {
            return Err(spec_err(format!(
                "unexpected prehash_value {}",
                self.prehash_value.0
            )));
        }
        if self.length != lspec.length {
            return Err(spec_err(format!("unexpected length op {}", self.length.0)));
        }
        if !self.prefix.starts_with(&lspec.prefix) {
            return Err(spec_err("leaf prefix does not start with the spec's"));
        }
        Ok(())
    }
}

impl InnerOp {
    /// The parent hash of `child` (which must be non-empty).
    pub fn apply(&self, child: &[u8]) -> Result<Vec<u8>, Ics23Error> {
        if child.is_empty() {
            return Err(calc("inner op needs a child"));
        }
        let mut data = Vec::with_capacity(
            self.prefix
                .len()
                .saturating_add(child.len())
                .saturating_add(self.suffix.len()),
        );
        data.extend_from_slice(&self.prefix);
        data.extend_from_slice(child);
        data.extend_from_slice(&self.suffix);
        do_hash(self.hash, &data)
    }

    /// Checks this inner op, at `layer` (1 for the step just above the leaf), against
    /// `spec`.
    pub fn check_against_spec(&self, spec: &ProofSpec, layer: usize) -> Result<(), Ics23Error> {
        let inner = spec
            .inner_spec
            .as_ref()
            .ok_or_else(|| spec_err("spec has no inner spec"))?;
        let leaf = spec
            .leaf_spec
            .as_ref()
            .ok_or_else(|| spec_err("spec has no leaf spec"))?;
        if self.hash != inner.hash {
            return Err(spec_err(format!(
                "unexpected inner hash op {}",
                self.hash.0
            )));
        }
        if spec_equals(spec, &super::iavl_spec()) {
            validate_iavl_prefix(&self.prefix, self.hash, layer)?;
        }
        if spec_equals(spec, &super::tendermint_spec()) {
            validate_tendermint_inner(self)?;
        }
        if self.prefix.starts_with(&leaf.prefix) {
            return Err(spec_err("inner prefix starts with the leaf prefix"));
        }
        let prefix_len = self.prefix.len() as i128;
        if prefix_len < i128::from(inner.min_prefix_length) {
            return Err(spec_err(format!("inner prefix too short ({prefix_len})")));
        }
        let children = (inner.child_order.len() as i128).saturating_sub(1);
        let max_left = children.saturating_mul(i128::from(inner.child_size));
        if prefix_len > i128::from(inner.max_prefix_length).saturating_add(max_left) {
            return Err(spec_err(format!("inner prefix too long ({prefix_len})")));
        }
        if inner.child_size <= 0 {
            return Err(spec_err("child size must be positive"));
        }
        if i128::from(inner.max_prefix_length)
            >= i128::from(inner.min_prefix_length).saturating_add(i128::from(inner.child_size))
        {
            return Err(spec_err(
                "max prefix length must be below min prefix length + child size",
            ));
        }
        let child_size = usize::try_from(inner.child_size).unwrap_or(usize::MAX);
        if !self.suffix.len().is_multiple_of(child_size) {
            return Err(spec_err("inner suffix is not a whole number of children"));
        }
        Ok(())
    }
}

/// Go's `ProofSpec.SpecEquals`: leaf ops (without prefix) and inner specs (without child
/// order contents or empty child) equal.
pub(crate) fn spec_equals(a: &ProofSpec, b: &ProofSpec) -> bool {
    let leaves = match (&a.leaf_spec, &b.leaf_spec) {
        (Some(x), Some(y)) => {
            x.hash == y.hash
                && x.prehash_key == y.prehash_key
                && x.prehash_value == y.prehash_value
                && x.length == y.length
        }
        (None, None) => true,
        _ => false,
    };
    let inners = match (&a.inner_spec, &b.inner_spec) {
        (Some(x), Some(y)) => {
            x.hash == y.hash
                && x.min_prefix_length == y.min_prefix_length
                && x.max_prefix_length == y.max_prefix_length
                && x.child_size == y.child_size
                && x.child_order.len() == y.child_order.len()
        }
        (None, None) => true,
        _ => false,
    };
    leaves && inners
}

/// Reads a zigzag varint (Go's `binary.ReadVarint`).
fn read_signed_varint(bytes: &[u8], at: &mut usize) -> Option<i64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at = at.saturating_add(1);
        if shift == 63 && b > 1 {
            return None; // overflow
        }
        value |= u64::from(b & 0x7f).wrapping_shl(shift);
        if b < 0x80 {
            let signed = (value.wrapping_shr(1) as i64) ^ ((value & 1) as i64).wrapping_neg();
            return Some(signed);
        }
    }
    None
}

/// IAVL node prefixes: zigzag varints height (at least the layer), size and version (not
/// negative), then nothing for a leaf, or 1 or 34 bytes (the child length byte, with the
/// left sibling) for an inner node, whose hash must be SHA-256.
fn validate_iavl_prefix(prefix: &[u8], hash: HashOp, layer: usize) -> Result<(), Ics23Error> {
    let mut at = 0;
    let mut read = |what| {
        read_signed_varint(prefix, &mut at)
            .ok_or_else(|| spec_err(format!("IAVL {what} is not a varint")))
    };
    let height = read("height")?;
    let size = read("size")?;
    let version = read("version")?;
    if height < 0 || (height as u64) < layer as u64 {
        return Err(spec_err(format!(
            "IAVL height {height} must be at least the layer number {layer}"
        )));
    }
    if size < 0 || version < 0 {
        return Err(spec_err("IAVL size and version must not be negative"));
    }
    let rest = prefix.len().saturating_sub(at);
    if layer == 0 {
        if rest != 0 {
            return Err(spec_err(format!("IAVL leaf prefix has {rest} extra bytes")));
        }
    } else {
        if rest != 1 && rest != 34 {
            return Err(spec_err(format!(
                "IAVL inner prefix must end in 1 or 34 bytes, not {rest}"
            )));
        }
        if hash != HashOp::SHA256 {
            return Err(spec_err("IAVL inner hash op must be SHA-256"));
        }
    }
    Ok(())
}

/// CometBFT simple-tree inner nodes are `0x01 || left || right`: the prefix is `[1]` when
/// the sibling is on the right (in the suffix), else it starts with `1`.
fn validate_tendermint_inner(op: &InnerOp) -> Result<(), Ics23Error> {
    match op.prefix.first() {
        None => Err(spec_err("inner prefix must not be empty")),
        Some(1) if op.suffix.is_empty() || op.prefix.len() == 1 => Ok(()),
        _ => Err(spec_err("tendermint inner prefix must be 0x01")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_varints() {
        let mut at = 0;
        assert_eq!(read_signed_varint(&[0x01], &mut at), Some(-1));
        let mut at = 0;
        assert_eq!(read_signed_varint(&[0x8a, 0x01], &mut at), Some(69));
        assert_eq!(at, 2);
        let mut at = 0;
        assert_eq!(read_signed_varint(&[0x80], &mut at), None);
        let mut at = 0;
        assert_eq!(read_signed_varint(&[0xff; 11], &mut at), None);
    }

    #[test]
    fn length_ops() {
        assert_eq!(
            do_length(LengthOp::VAR_PROTO, b"food").unwrap(),
            b"\x04food"
        );
        assert_eq!(
            do_length(LengthOp::FIXED32_LITTLE, b"food").unwrap(),
            b"\x04\x00\x00\x00food"
        );
        assert!(do_length(LengthOp::REQUIRE_32_BYTES, b"food").is_err());
        assert!(do_length(LengthOp::VAR_RLP, b"food").is_err());
        assert!(do_hash(HashOp::NO_HASH, b"food").is_err());
        assert!(do_hash(HashOp(42), b"food").is_err());
    }
}
