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
/// order contents or empty child) equal. A spec without a leaf or an inner spec equals none
/// (Go would dereference nil): the op checks refuse such a spec before they ask, and ask only
/// about [`super::iavl_spec`] and [`super::tendermint_spec`], which have both.
pub(crate) fn spec_equals(a: &ProofSpec, b: &ProofSpec) -> bool {
    let (Some(la), Some(lb), Some(ia), Some(ib)) =
        (&a.leaf_spec, &b.leaf_spec, &a.inner_spec, &b.inner_spec)
    else {
        return false;
    };
    la.hash == lb.hash
        && la.prehash_key == lb.prehash_key
        && la.prehash_value == lb.prehash_value
        && la.length == lb.length
        && ia.hash == ib.hash
        && ia.min_prefix_length == ib.min_prefix_length
        && ia.max_prefix_length == ib.max_prefix_length
        && ia.child_size == ib.child_size
        && ia.child_order.len() == ib.child_order.len()
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

    #[test]
    fn each_hash_op_gives_its_digest_of_food() {
        // The digests of cosmos/ics23's ops tests, checked against Python's hashlib where it
        // has the function.
        for (op, digest) in [
            (HashOp::SHA256, "c1f026582fe6e8cb620d0c85a72fe421ddded756662a8ec00ed4c297ad10676b"),
            (HashOp::SHA512, "c235548cfe84fc87678ff04c9134e060cdcd7512d09ed726192151a995541ed8db9fda5204e72e7ac268214c322c17787c70530513c59faede52b7dd9ce64331"),
            (HashOp::KECCAK256, "a471c7c90860799b1facb54795f0a93d821fb727241025770865602471b765a8"),
            (HashOp::RIPEMD160, "b1ab9988c7c7c5ec4b2b291adfeeee10e77cdd46"),
            (HashOp::BITCOIN, "0bcb587dfb4fc10b36d57f2bba1878f139b75d24"),
            (HashOp::SHA512_256, "5b3a452a6acbf1fc1e553a40c501585d5bd3cca176d562e0a0e19a3c43804e88"),
            (HashOp::BLAKE2B_512, "b1f115361afc179415d93d4f58dc2fc7d8fa434192d7cb9b65fca592f6aa904103d1f12b28655c2355478e10908ab002c418dc52a4367d8e645309cd25e3a504"),
            (HashOp::BLAKE2S_256, "5a1ec796f11f3dfc7e8ca5de13828edf2e910eb7dd41caaac356a4acbefb1758"),
            (HashOp::BLAKE3, "f775a8ccf8cb78cd1c63ade4e9802de4ead836b36cea35242accf31d2c6a3697"),
        ] {
            assert_eq!(hex::encode(do_hash(op, b"food").unwrap()), digest, "{op:?}");
            assert_eq!(do_hash_or_noop(op, b"food"), do_hash(op, b"food"));
        }
        assert_eq!(do_hash_or_noop(HashOp::NO_HASH, b"food").unwrap(), b"food");
    }

    #[test]
    fn required_lengths_admit_exactly_their_size() {
        for (op, want) in [
            (LengthOp::REQUIRE_32_BYTES, 32),
            (LengthOp::REQUIRE_64_BYTES, 64),
        ] {
            let data = vec![7u8; want];
            assert_eq!(do_length(op, &data).unwrap(), data, "{op:?}");
            for len in [want - 1, want + 1] {
                assert_eq!(
                    do_length(op, &vec![7u8; len]),
                    Err(calc(format!("data is {len} bytes, not {want}")))
                );
            }
        }
    }

    #[test]
    fn a_spec_whose_leaf_differs_from_iavl_is_not_held_to_iavl_prefixes() {
        // `[0]` is no IAVL leaf prefix (height, size and version varints), but it is the
        // spec's own leaf prefix.
        let iavl = crate::ics23::iavl_spec();
        let leaf = iavl.leaf_spec.clone().unwrap();
        assert_eq!(
            leaf.check_against_spec(&iavl),
            Err(spec_err("IAVL size is not a varint"))
        );
        let changes: [fn(&mut LeafOp); 4] = [
            |l| l.hash = HashOp::SHA512,
            |l| l.prehash_key = HashOp::SHA256,
            |l| l.prehash_value = HashOp::NO_HASH,
            |l| l.length = LengthOp::NO_PREFIX,
        ];
        for change in changes {
            let mut other = leaf.clone();
            change(&mut other);
            let spec = ProofSpec {
                leaf_spec: Some(other.clone()),
                ..crate::ics23::iavl_spec()
            };
            assert_eq!(other.check_against_spec(&spec), Ok(()), "{other:?}");
        }
    }

    #[test]
    fn zigzag_varints_reach_both_ends_of_i64_and_no_further() {
        let read = |bytes: &[u8]| read_signed_varint(bytes, &mut 0);
        assert_eq!(read(&[0x03]), Some(-2));
        let mut ten = [0xff; 10];
        ten[9] = 0x01;
        assert_eq!(read(&ten), Some(i64::MIN));
        ten[0] = 0xfe;
        assert_eq!(read(&ten), Some(i64::MAX));
        // A tenth byte holds the 64th bit only: 0 and 1, as Go's `binary.ReadVarint`.
        let mut zero = [0x80; 10];
        zero[9] = 0x00;
        assert_eq!(read(&zero), Some(0));
        ten[9] = 0x02;
        assert_eq!(read(&ten), None);
    }

    #[test]
    fn an_iavl_node_is_as_high_as_its_layer_and_no_count_is_negative() {
        // Zigzag varints (0, -1, 1, 2 are 0, 1, 2, 4) of height, size and version, then the
        // child length byte.
        let op = |height: u8, size: u8, version: u8| InnerOp {
            hash: HashOp::SHA256,
            prefix: vec![height, size, version, 0x20],
            suffix: Vec::new(),
        };
        let iavl = crate::ics23::iavl_spec();
        let check = |op: InnerOp| op.check_against_spec(&iavl, 2);
        assert_eq!(check(op(4, 2, 2)), Ok(()));
        assert_eq!(check(op(4, 0, 0)), Ok(()));
        assert_eq!(
            check(op(2, 2, 2)),
            Err(spec_err(
                "IAVL height 1 must be at least the layer number 2"
            ))
        );
        assert_eq!(
            check(op(1, 2, 2)),
            Err(spec_err(
                "IAVL height -1 must be at least the layer number 2"
            ))
        );
        let negative = Err(spec_err("IAVL size and version must not be negative"));
        assert_eq!(check(op(4, 1, 2)), negative);
        assert_eq!(check(op(4, 2, 1)), negative);
    }

    #[test]
    fn a_tendermint_inner_prefix_is_0x01_alone_or_before_the_left_sibling() {
        let tendermint = crate::ics23::tendermint_spec();
        let op = |prefix: Vec<u8>, suffix: Vec<u8>| {
            InnerOp {
                hash: HashOp::SHA256,
                prefix,
                suffix,
            }
            .check_against_spec(&tendermint, 1)
        };
        let sibling = [9u8; 32];
        let left_sibling = [&[1u8][..], &sibling].concat();
        assert_eq!(op(vec![1], sibling.to_vec()), Ok(()));
        assert_eq!(op(left_sibling.clone(), Vec::new()), Ok(()));
        let not_0x01 = Err(spec_err("tendermint inner prefix must be 0x01"));
        assert_eq!(op(vec![2], sibling.to_vec()), not_0x01);
        // A sibling on either side at once is no node of a binary tree.
        assert_eq!(op(left_sibling, sibling.to_vec()), not_0x01);
        assert_eq!(
            op(Vec::new(), sibling.to_vec()),
            Err(spec_err("inner prefix must not be empty"))
        );
    }
}
