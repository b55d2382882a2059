//! Existence and non-existence verification, the neighbour checks, and decompression.
//!
//! A compressed batch names shared inner ops by index, so a few bytes of indices can stand
//! for megabytes of expanded proof. [`decompress_within`] therefore checks the compressed
//! form first ([`check_compressed`]: entry count, path lengths against the spec's depth
//! limit and [`HARD_MAX_DEPTH`], lookup indices, total steps and bytes) and clones nothing
//! before that check passed.

use super::ops::do_hash_or_noop;
use super::{
    BatchEntry, CommitmentProof, CompressedBatchEntry, CompressedExistenceProof, CompressedLimit,
    ExistenceProof, Ics23Error, InnerOp, InnerSpec, NonExistenceProof, ProofSpec,
};

/// Default depth limit when a spec sets none (Go's rule).
const DEFAULT_MAX_DEPTH: usize = 128;

/// The root an existence proof computes: the leaf op over key and value, then each inner
/// op. With a spec, an intermediate hash longer than the child size (when that is at least
/// 32) is an error.
pub fn calculate_existence_root(
    proof: &ExistenceProof,
    spec: Option<&ProofSpec>,
) -> Result<Vec<u8>, Ics23Error> {
    let leaf = proof
        .leaf
        .as_ref()
        .ok_or_else(|| Ics23Error::Calculation("existence proof has no leaf op".into()))?;
    let mut hash = leaf.apply(&proof.key, &proof.value)?;
    let child_size = spec
        .and_then(|s| s.inner_spec.as_ref())
        .map(|i| i.child_size)
        .unwrap_or(0);
    for step in &proof.path {
        hash = step.apply(&hash)?;
        if child_size >= 32 && hash.len() as u64 > child_size as u64 {
            return Err(Ics23Error::Calculation(
                "inner hash longer than the child size".into(),
            ));
        }
    }
    Ok(hash)
}

/// Checks the leaf and every inner step of `proof` against `spec`, and the depth limits.
pub fn check_existence_against_spec(
    proof: &ExistenceProof,
    spec: &ProofSpec,
) -> Result<(), Ics23Error> {
    let leaf = proof
        .leaf
        .as_ref()
        .ok_or_else(|| Ics23Error::Spec("existence proof has no leaf op".into()))?;
    leaf.check_against_spec(spec)?;
    let depth = proof.path.len();
    // A negative minimum is no minimum (Go tests `MinDepth > 0`).
    let min_depth = usize::try_from(spec.min_depth).unwrap_or(0);
    if depth < min_depth {
        return Err(Ics23Error::Spec(format!("path too short: {depth}")));
    }
    let max_depth = match usize::try_from(spec.max_depth) {
        Ok(0) | Err(_) => DEFAULT_MAX_DEPTH,
        Ok(n) => n,
    };
    if depth > max_depth {
        return Err(Ics23Error::Spec(format!("path too long: {depth}")));
    }
    for (i, step) in proof.path.iter().enumerate() {
        step.check_against_spec(spec, i.saturating_add(1))?;
    }
    Ok(())
}

/// Verifies that `proof` proves `key` has `value` under `root`, in the shape of `spec`.
pub fn verify_existence(
    proof: &ExistenceProof,
    spec: &ProofSpec,
    root: &[u8],
    key: &[u8],
    value: &[u8],
) -> Result<(), Ics23Error> {
    check_existence_against_spec(proof, spec)?;
    if proof.key != key {
        return Err(Ics23Error::Mismatch("key"));
    }
    if proof.value != value {
        return Err(Ics23Error::Mismatch("value"));
    }
    let got = calculate_existence_root(proof, Some(spec))?;
    if got != root {
        return Err(Ics23Error::RootMismatch {
            expected: hex::encode(root),
            got: hex::encode(got),
        });
    }
    Ok(())
}

fn key_for_comparison(spec: &ProofSpec, key: &[u8]) -> Vec<u8> {
    match (&spec.leaf_spec, spec.prehash_key_before_comparison) {
        // Go ignores a failing prehash here (it then compares nothing); an empty key sorts
        // first, which is as safe: the neighbour checks below still have to pass.
        (Some(leaf), true) => do_hash_or_noop(leaf.prehash_key, key).unwrap_or_default(),
        _ => key.to_vec(),
    }
}

/// Verifies that `proof` proves `key` absent under `root`, in the shape of `spec`.
pub fn verify_non_existence(
    proof: &NonExistenceProof,
    spec: &ProofSpec,
    root: &[u8],
    key: &[u8],
) -> Result<(), Ics23Error> {
    if let Some(left) = &proof.left {
        verify_existence(left, spec, root, &left.key, &left.value)?;
    }
    if let Some(right) = &proof.right {
        verify_existence(right, spec, root, &right.key, &right.value)?;
    }
    let inner = spec
        .inner_spec
        .as_ref()
        .ok_or_else(|| Ics23Error::Spec("spec has no inner spec".into()))?;
    let key_cmp = key_for_comparison(spec, key);
    if let Some(right) = &proof.right {
        if key_cmp >= key_for_comparison(spec, &right.key) {
            return Err(Ics23Error::Neighbours("key is not left of the right proof"));
        }
    }
    if let Some(left) = &proof.left {
        if key_cmp <= key_for_comparison(spec, &left.key) {
            return Err(Ics23Error::Neighbours("key is not right of the left proof"));
        }
    }
    match (&proof.left, &proof.right) {
        (None, None) => Err(Ics23Error::Neighbours("both neighbours missing")),
        (None, Some(right)) => {
            is_left_most(inner, &right.path)
                .then_some(())
                .ok_or(Ics23Error::Neighbours(
                    "left proof missing, right proof must be left-most",
                ))
        }
        (Some(left), None) => {
            is_right_most(inner, &left.path)
                .then_some(())
                .ok_or(Ics23Error::Neighbours(
                    "right proof missing, left proof must be right-most",
                ))
        }
        (Some(left), Some(right)) => is_left_neighbor(inner, &left.path, &right.path)
            .then_some(())
            .ok_or(Ics23Error::Neighbours(
                "left and right proofs are not neighbours",
            )),
    }
}

fn position(order: &[i32], branch: i32) -> Option<usize> {
    order.iter().position(|&b| b == branch)
}

/// (min prefix, max prefix, suffix) lengths of a node whose child is `branch`.
fn padding(spec: &InnerSpec, branch: i32) -> Option<(i128, i128, i128)> {
    let idx = position(&spec.child_order, branch)? as i128;
    let size = i128::from(spec.child_size);
    let prefix = idx.saturating_mul(size);
    let after = (spec.child_order.len() as i128)
        .saturating_sub(1)
        .saturating_sub(idx);
    Some((
        prefix.saturating_add(i128::from(spec.min_prefix_length)),
        prefix.saturating_add(i128::from(spec.max_prefix_length)),
        after.saturating_mul(size),
    ))
}

fn has_padding(op: &InnerOp, (min, max, suffix): (i128, i128, i128)) -> bool {
    let p = op.prefix.len() as i128;
    p >= min && p <= max && op.suffix.len() as i128 == suffix
}

/// Which branch `op`'s child is, from the lengths of its prefix and suffix.
fn order_from_padding(spec: &InnerSpec, op: &InnerOp) -> Option<usize> {
    (0..spec.child_order.len()).find(|&branch| {
        i32::try_from(branch)
            .ok()
            .and_then(|b| padding(spec, b))
            .is_some_and(|pad| has_padding(op, pad))
    })
}

fn child_slice(bytes: &[u8], from: usize, size: usize) -> Option<&[u8]> {
    bytes.get(from..from.checked_add(size)?)
}

/// Whether every sibling left of `op`'s child is the empty child (a placeholder node on a
/// left-most path of a sparse tree).
pub fn left_branches_are_empty(spec: &InnerSpec, op: &InnerOp) -> bool {
    let Some(idx) = order_from_padding(spec, op) else {
        return false;
    };
    let Ok(size) = usize::try_from(spec.child_size) else {
        return false;
    };
    if idx == 0 {
        return false;
    }
    let Some(actual_prefix) = op.prefix.len().checked_sub(idx.saturating_mul(size)) else {
        return false;
    };
    (0..idx).all(|i| {
        i32::try_from(i)
            .ok()
            .and_then(|b| position(&spec.child_order, b))
            .and_then(|pos| {
                child_slice(
                    &op.prefix,
                    actual_prefix.saturating_add(pos.saturating_mul(size)),
                    size,
                )
            })
            .is_some_and(|child| child == spec.empty_child.as_slice())
    })
}

/// Whether every sibling right of `op`'s child is the empty child.
pub fn right_branches_are_empty(spec: &InnerSpec, op: &InnerOp) -> bool {
    let Some(idx) = order_from_padding(spec, op) else {
        return false;
    };
    let Ok(size) = usize::try_from(spec.child_size) else {
        return false;
    };
    let right = spec.child_order.len().saturating_sub(1).saturating_sub(idx);
    if right == 0 || op.suffix.len() != right.saturating_mul(size) {
        return false;
    }
    (0..right).all(|i| {
        i32::try_from(i)
            .ok()
            .and_then(|b| position(&spec.child_order, b))
            .and_then(|pos| child_slice(&op.suffix, pos.saturating_mul(size), size))
            .is_some_and(|child| child == spec.empty_child.as_slice())
    })
}

fn is_left_most(spec: &InnerSpec, path: &[InnerOp]) -> bool {
    let Some(pad) = padding(spec, 0) else {
        return false;
    };
    path.iter()
        .all(|step| has_padding(step, pad) || left_branches_are_empty(spec, step))
}

fn is_right_most(spec: &InnerSpec, path: &[InnerOp]) -> bool {
    let last = spec.child_order.len().saturating_sub(1);
    let Some(pad) = i32::try_from(last).ok().and_then(|b| padding(spec, b)) else {
        return false;
    };
    path.iter()
        .all(|step| has_padding(step, pad) || right_branches_are_empty(spec, step))
}

fn is_left_step(spec: &InnerSpec, left: &InnerOp, right: &InnerOp) -> bool {
    match (
        order_from_padding(spec, left),
        order_from_padding(spec, right),
    ) {
        (Some(l), Some(r)) => l.checked_add(1) == Some(r),
        _ => false,
    }
}

/// Whether `right` is the path just right of `left`: drop the common steps near the root,
/// the first differing steps must be adjacent children, and below them the left path must
/// be right-most and the right path left-most.
fn is_left_neighbor(spec: &InnerSpec, left: &[InnerOp], right: &[InnerOp]) -> bool {
    let (mut l, mut r) = (left, right);
    loop {
        let (Some((top_l, rest_l)), Some((top_r, rest_r))) = (l.split_last(), r.split_last())
        else {
            return false;
        };
        // Both paths verified to one root, so equal prefixes mean equal suffixes and the
        // reverse (short of a hash collision): either test alone would do. Go tests both.
        if top_l.prefix == top_r.prefix && top_l.suffix == top_r.suffix {
            l = rest_l;
            r = rest_r;
            continue;
        }
        return is_left_step(spec, top_l, top_r)
            && is_right_most(spec, rest_l)
            && is_left_most(spec, rest_r);
    }
}

/// Most inner steps a compressed path may name, whatever the spec says: specs of real stores
/// stay far below (IAVL and CometBFT trees: 128 by default, sparse Merkle trees: 256).
pub const HARD_MAX_DEPTH: usize = 1024;

/// Most entries a compressed batch may hold.
pub const MAX_COMPRESSED_ENTRIES: usize = 65_536;

/// Most inner steps all paths of a compressed batch may name together.
pub const MAX_EXPANDED_STEPS: usize = 1 << 20;

/// Most bytes of inner-op prefixes and suffixes the expanded batch may hold together.
pub const MAX_EXPANDED_BYTES: usize = 32 << 20;

/// How far a compressed batch may expand, checked on its compressed form before anything
/// is cloned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecompressLimits {
    /// Most indices in one path.
    pub max_depth: usize,
    /// Most entries.
    pub max_entries: usize,
    /// Most indices in all paths together.
    pub max_steps: usize,
    /// Most prefix and suffix bytes of all named inner ops together.
    pub max_bytes: usize,
}

impl Default for DecompressLimits {
    /// The hard caps, with the depth limit Go applies when a spec sets none.
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_entries: MAX_COMPRESSED_ENTRIES,
            max_steps: MAX_EXPANDED_STEPS,
            max_bytes: MAX_EXPANDED_BYTES,
        }
    }
}

impl DecompressLimits {
    /// The limits for proofs checked against `spec`: its `max_depth` (128 when unset), never
    /// above [`HARD_MAX_DEPTH`]. A path longer than the spec allows could never verify, so
    /// refusing it before expansion changes no verdict.
    pub fn for_spec(spec: &ProofSpec) -> Self {
        let depth = match usize::try_from(spec.max_depth) {
            Ok(0) | Err(_) => DEFAULT_MAX_DEPTH,
            Ok(n) => n,
        };
        Self {
            max_depth: depth.min(HARD_MAX_DEPTH),
            ..Self::default()
        }
    }
}

/// Checks a compressed batch against `limits` without expanding it: entry count, every
/// path's length, every lookup index, and the steps and bytes the expansion would hold.
pub fn check_compressed(
    entries: &[CompressedBatchEntry],
    lookup: &[InnerOp],
    limits: &DecompressLimits,
) -> Result<(), Ics23Error> {
    if entries.len() > limits.max_entries {
        return Err(Ics23Error::CompressedTooLarge {
            limit: CompressedLimit::Entries,
            got: entries.len(),
            max: limits.max_entries,
        });
    }
    let mut steps: usize = 0;
    let mut bytes: usize = 0;
    let paths = entries.iter().flat_map(|e| match e {
        CompressedBatchEntry::Exist(p) => [Some(p), None],
        CompressedBatchEntry::Nonexist(n) => [n.left.as_ref(), n.right.as_ref()],
    });
    for p in paths.flatten() {
        if p.path.len() > limits.max_depth {
            return Err(Ics23Error::CompressedTooLarge {
                limit: CompressedLimit::PathLength,
                got: p.path.len(),
                max: limits.max_depth,
            });
        }
        steps = steps.saturating_add(p.path.len());
        if steps > limits.max_steps {
            return Err(Ics23Error::CompressedTooLarge {
                limit: CompressedLimit::ExpandedSteps,
                got: steps,
                max: limits.max_steps,
            });
        }
        for &index in &p.path {
            let op = usize::try_from(index)
                .ok()
                .and_then(|i| lookup.get(i))
                .ok_or(Ics23Error::CompressedIndexOutOfRange {
                    index,
                    lookup_len: lookup.len(),
                })?;
            bytes = bytes
                .saturating_add(op.prefix.len())
                .saturating_add(op.suffix.len());
            if bytes > limits.max_bytes {
                return Err(Ics23Error::CompressedTooLarge {
                    limit: CompressedLimit::ExpandedBytes,
                    got: bytes,
                    max: limits.max_bytes,
                });
            }
        }
    }
    Ok(())
}

/// Expands one compressed existence proof; its indices were checked by [`check_compressed`].
fn decompress_exist(
    p: &CompressedExistenceProof,
    lookup: &[InnerOp],
) -> Result<ExistenceProof, Ics23Error> {
    let path = p
        .path
        .iter()
        .map(|&index| {
            usize::try_from(index)
                .ok()
                .and_then(|i| lookup.get(i))
                .cloned()
                .ok_or(Ics23Error::CompressedIndexOutOfRange {
                    index,
                    lookup_len: lookup.len(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ExistenceProof {
        key: p.key.clone(),
        value: p.value.clone(),
        leaf: p.leaf.clone(),
        path,
    })
}

/// The proof with compressed batches expanded, within the default [`DecompressLimits`].
pub fn decompress(proof: &CommitmentProof) -> Result<CommitmentProof, Ics23Error> {
    decompress_within(proof, &DecompressLimits::default())
}

/// The proof with compressed batches expanded, after [`check_compressed`] found the
/// expansion within `limits`.
pub fn decompress_within(
    proof: &CommitmentProof,
    limits: &DecompressLimits,
) -> Result<CommitmentProof, Ics23Error> {
    let CommitmentProof::Compressed {
        entries,
        lookup_inners,
    } = proof
    else {
        return Ok(proof.clone());
    };
    check_compressed(entries, lookup_inners, limits)?;
    let entries = entries
        .iter()
        .map(|e| {
            Ok(match e {
                CompressedBatchEntry::Exist(p) => {
                    BatchEntry::Exist(decompress_exist(p, lookup_inners)?)
                }
                CompressedBatchEntry::Nonexist(n) => BatchEntry::Nonexist(NonExistenceProof {
                    key: n.key.clone(),
                    left: n
                        .left
                        .as_ref()
                        .map(|l| decompress_exist(l, lookup_inners))
                        .transpose()?,
                    right: n
                        .right
                        .as_ref()
                        .map(|r| decompress_exist(r, lookup_inners))
                        .transpose()?,
                }),
            })
        })
        .collect::<Result<Vec<_>, Ics23Error>>()?;
    Ok(CommitmentProof::Batch(entries))
}

/// Verifies that `proof` proves `key` has `value` under `root` (Go's `VerifyMembership`).
pub fn verify_membership(
    spec: &ProofSpec,
    root: &[u8],
    proof: &CommitmentProof,
    key: &[u8],
    value: &[u8],
) -> Result<(), Ics23Error> {
    let proof = decompress_within(proof, &DecompressLimits::for_spec(spec))?;
    let exist = match &proof {
        CommitmentProof::Exist(e) if e.key == key => Some(e),
        CommitmentProof::Batch(entries) => entries.iter().find_map(|e| match e {
            BatchEntry::Exist(e) if e.key == key => Some(e),
            _ => None,
        }),
        _ => None,
    }
    .ok_or(Ics23Error::NoProofForKey)?;
    verify_existence(exist, spec, root, key, value)
}

fn encloses(spec: &ProofSpec, proof: &NonExistenceProof, key: &[u8]) -> bool {
    let k = key_for_comparison(spec, key);
    proof
        .left
        .as_ref()
        .is_none_or(|l| key_for_comparison(spec, &l.key) < k)
        && proof
            .right
            .as_ref()
            .is_none_or(|r| key_for_comparison(spec, &r.key) > k)
}

/// Verifies that `proof` proves `key` absent under `root` (Go's `VerifyNonMembership`).
pub fn verify_non_membership(
    spec: &ProofSpec,
    root: &[u8],
    proof: &CommitmentProof,
    key: &[u8],
) -> Result<(), Ics23Error> {
    let proof = decompress_within(proof, &DecompressLimits::for_spec(spec))?;
    let non = match &proof {
        CommitmentProof::Nonexist(n) if encloses(spec, n, key) => Some(n),
        CommitmentProof::Batch(entries) => entries.iter().find_map(|e| match e {
            BatchEntry::Nonexist(n) if encloses(spec, n, key) => Some(n),
            _ => None,
        }),
        _ => None,
    }
    .ok_or(Ics23Error::NoProofForKey)?;
    verify_non_existence(non, spec, root, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ics23::{
        decode, iavl_spec, smt_spec, tendermint_spec, HashOp, InnerSpec, LeafOp, LengthOp,
    };

    /// A protobuf length-delimited field.
    fn field(number: u64, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let number = u32::try_from(number).unwrap();
        crate::cometbft::proto::put_message(&mut out, number, body);
        out
    }

    /// The protobuf bytes of a compressed batch: `entries` existence proofs of key `k<i>`,
    /// each with a path of `depth` indices 0, and one lookup inner op with a `prefix_len`
    /// byte prefix.
    fn compressed_bytes(entries: usize, depth: usize, prefix_len: usize) -> Vec<u8> {
        let leaf = field(5, &[0]); // LeafOp { prefix: [0] }
        let mut batch = Vec::new();
        for i in 0..entries {
            let mut exist = field(1, format!("k{i}").as_bytes());
            exist.extend(field(2, b"v"));
            exist.extend(field(3, &leaf));
            exist.extend(field(4, &vec![0u8; depth])); // packed indices, all 0
            batch.extend(field(1, &field(1, &exist)));
        }
        let mut op = vec![0x08, 0x01]; // hash: SHA-256
        op.extend(field(2, &vec![7u8; prefix_len]));
        batch.extend(field(2, &op));
        field(4, &batch)
    }

    fn too_large(err: Ics23Error) -> (CompressedLimit, usize, usize) {
        match err {
            Ics23Error::CompressedTooLarge { limit, got, max } => (limit, got, max),
            other => panic!("expected CompressedTooLarge, got {other:?}"),
        }
    }

    #[test]
    fn small_compressed_proof_that_would_expand_hugely_is_refused_before_expansion() {
        // 2,000 entries of depth 128 over one 64 KiB inner op: about 300 KiB on the wire,
        // 16 GiB once every path index is cloned.
        let bytes = compressed_bytes(2000, 128, 64 << 10);
        assert!(bytes.len() < 400 << 10, "{} bytes", bytes.len());
        let proof = decode::commitment_proof(&bytes).unwrap();
        let (limit, got, max) = too_large(decompress(&proof).unwrap_err());
        assert_eq!(
            (limit, max),
            (CompressedLimit::ExpandedBytes, MAX_EXPANDED_BYTES)
        );
        assert!(got > max);
        for spec in [iavl_spec(), tendermint_spec(), smt_spec()] {
            let err = verify_membership(&spec, &[0; 32], &proof, b"k0", b"v").unwrap_err();
            assert_eq!(too_large(err).0, CompressedLimit::ExpandedBytes);
        }
        let err = verify_non_membership(&iavl_spec(), &[0; 32], &proof, b"k").unwrap_err();
        assert_eq!(too_large(err).0, CompressedLimit::ExpandedBytes);
    }

    #[test]
    fn path_longer_than_the_spec_allows_is_refused_in_compressed_form() {
        let proof = decode::commitment_proof(&compressed_bytes(1, 129, 4)).unwrap();
        let err = verify_membership(&iavl_spec(), &[0; 32], &proof, b"k0", b"v").unwrap_err();
        assert_eq!(too_large(err), (CompressedLimit::PathLength, 129, 128));
        // The sparse Merkle tree spec allows 256.
        let err = verify_membership(&smt_spec(), &[0; 32], &proof, b"k0", b"v").unwrap_err();
        assert!(
            !matches!(err, Ics23Error::CompressedTooLarge { .. }),
            "{err:?}"
        );
        let proof = decode::commitment_proof(&compressed_bytes(1, 257, 4)).unwrap();
        let err = verify_membership(&smt_spec(), &[0; 32], &proof, b"k0", b"v").unwrap_err();
        assert_eq!(too_large(err), (CompressedLimit::PathLength, 257, 256));
        // A spec's own limit never lifts the hard cap.
        let spec = ProofSpec {
            max_depth: i32::MAX,
            ..iavl_spec()
        };
        assert_eq!(DecompressLimits::for_spec(&spec).max_depth, HARD_MAX_DEPTH);
        let proof = decode::commitment_proof(&compressed_bytes(1, HARD_MAX_DEPTH + 1, 4)).unwrap();
        let err = verify_membership(&spec, &[0; 32], &proof, b"k0", b"v").unwrap_err();
        assert_eq!(
            too_large(err),
            (
                CompressedLimit::PathLength,
                HARD_MAX_DEPTH + 1,
                HARD_MAX_DEPTH
            )
        );
    }

    #[test]
    fn entry_and_step_counts_and_indices_are_checked_before_expansion() {
        let CommitmentProof::Compressed {
            entries,
            lookup_inners,
        } = decode::commitment_proof(&compressed_bytes(3, 4, 4)).unwrap()
        else {
            panic!("not compressed")
        };
        let limits = DecompressLimits {
            max_entries: 2,
            ..DecompressLimits::default()
        };
        let err = check_compressed(&entries, &lookup_inners, &limits).unwrap_err();
        assert_eq!(too_large(err), (CompressedLimit::Entries, 3, 2));
        let limits = DecompressLimits {
            max_steps: 10,
            ..DecompressLimits::default()
        };
        let err = check_compressed(&entries, &lookup_inners, &limits).unwrap_err();
        assert_eq!(too_large(err), (CompressedLimit::ExpandedSteps, 12, 10));
        assert!(check_compressed(&entries, &lookup_inners, &DecompressLimits::default()).is_ok());

        for bad in [1, -1, i32::MAX] {
            let mut entries = entries.clone();
            if let CompressedBatchEntry::Exist(p) = &mut entries[1] {
                p.path[2] = bad;
            }
            let proof = CommitmentProof::Compressed {
                entries,
                lookup_inners: lookup_inners.clone(),
            };
            assert_eq!(
                decompress(&proof).unwrap_err(),
                Ics23Error::CompressedIndexOutOfRange {
                    index: bad,
                    lookup_len: 1
                }
            );
        }
    }

    #[test]
    fn each_compressed_limit_admits_exactly_its_value_and_refuses_one_more() {
        // Three entries, each a path of 4 indices naming one op with a 4-byte prefix: 3
        // entries, 4 indices a path, 12 steps, 48 bytes of prefixes once expanded.
        let CommitmentProof::Compressed {
            entries,
            lookup_inners,
        } = decode::commitment_proof(&compressed_bytes(3, 4, 4)).unwrap()
        else {
            panic!("not compressed")
        };
        let exact = DecompressLimits {
            max_depth: 4,
            max_entries: 3,
            max_steps: 12,
            max_bytes: 48,
        };
        assert_eq!(check_compressed(&entries, &lookup_inners, &exact), Ok(()));
        let over = |limits: DecompressLimits| {
            too_large(check_compressed(&entries, &lookup_inners, &limits).unwrap_err())
        };
        assert_eq!(
            over(DecompressLimits {
                max_entries: 2,
                ..exact
            }),
            (CompressedLimit::Entries, 3, 2)
        );
        assert_eq!(
            over(DecompressLimits {
                max_depth: 3,
                ..exact
            }),
            (CompressedLimit::PathLength, 4, 3)
        );
        assert_eq!(
            over(DecompressLimits {
                max_steps: 11,
                ..exact
            }),
            (CompressedLimit::ExpandedSteps, 12, 11)
        );
        assert_eq!(
            over(DecompressLimits {
                max_bytes: 47,
                ..exact
            }),
            (CompressedLimit::ExpandedBytes, 48, 47)
        );
        // What an operator reads names the limit.
        let texts: Vec<String> = [
            (2, 4, 12, 48),
            (3, 3, 12, 48),
            (3, 4, 11, 48),
            (3, 4, 12, 47),
        ]
        .into_iter()
        .map(|(max_entries, max_depth, max_steps, max_bytes)| {
            let limits = DecompressLimits {
                max_depth,
                max_entries,
                max_steps,
                max_bytes,
            };
            check_compressed(&entries, &lookup_inners, &limits)
                .unwrap_err()
                .to_string()
        })
        .collect();
        assert_eq!(
            texts,
            [
                "compressed batch refused before expansion: the entry count is 3, at most 2",
                "compressed batch refused before expansion: a path length is 4, at most 3",
                "compressed batch refused before expansion: the expanded step count is 12, at most 11",
                "compressed batch refused before expansion: the expanded inner-op bytes is 48, at most 47",
            ]
        );
        // A path of exactly the IAVL spec's 128 steps is expanded (and then fails on its
        // made-up hashes, not on its length).
        let proof = decode::commitment_proof(&compressed_bytes(1, 128, 4)).unwrap();
        let err = verify_membership(&iavl_spec(), &[0; 32], &proof, b"k0", b"v").unwrap_err();
        assert!(
            !matches!(err, Ics23Error::CompressedTooLarge { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn an_inner_hash_longer_than_a_child_is_refused_when_the_spec_bounds_children() {
        let existence = |hash, child: &[u8]| ExistenceProof {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            leaf: iavl_spec().leaf_spec,
            path: vec![
                InnerOp {
                    hash,
                    prefix: vec![1],
                    suffix: child.to_vec(),
                },
                InnerOp {
                    hash: HashOp::SHA256,
                    prefix: vec![1],
                    suffix: Vec::new(),
                },
            ],
        };
        let with_children = |child_size| ProofSpec {
            inner_spec: Some(InnerSpec {
                child_size,
                ..tendermint_spec().inner_spec.unwrap()
            }),
            ..tendermint_spec()
        };
        // A SHA-512 step yields 64 bytes: more than the CometBFT spec's 32-byte children.
        let long = existence(HashOp::SHA512, &[]);
        assert_eq!(
            calculate_existence_root(&long, Some(&tendermint_spec())),
            Err(Ics23Error::Calculation(
                "inner hash longer than the child size".into()
            ))
        );
        // Children of exactly 64 bytes take it; without a spec nothing bounds it; a child
        // size under 32 bounds nothing either.
        let root = calculate_existence_root(&long, None).unwrap();
        assert_eq!(root.len(), 32);
        assert_eq!(
            calculate_existence_root(&long, Some(&with_children(64))),
            Ok(root.clone())
        );
        assert_eq!(
            calculate_existence_root(&long, Some(&with_children(16))),
            Ok(root)
        );
        // 32-byte steps under 32-byte children pass.
        let fits = existence(HashOp::SHA256, &[2; 32]);
        assert!(calculate_existence_root(&fits, Some(&tendermint_spec())).is_ok());
    }

    #[test]
    fn a_path_within_the_spec_depths_passes_and_one_step_outside_is_refused() {
        let step = InnerOp {
            hash: HashOp::SHA256,
            prefix: vec![1],
            suffix: vec![0; 32],
        };
        let proof = |depth| ExistenceProof {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            leaf: tendermint_spec().leaf_spec,
            path: vec![step.clone(); depth],
        };
        let check = |depth, min_depth, max_depth| {
            let spec = ProofSpec {
                min_depth,
                max_depth,
                ..tendermint_spec()
            };
            check_existence_against_spec(&proof(depth), &spec)
        };
        let too_short = |depth: usize| Err(Ics23Error::Spec(format!("path too short: {depth}")));
        let too_long = |depth: usize| Err(Ics23Error::Spec(format!("path too long: {depth}")));
        assert_eq!(check(1, 2, 3), too_short(1));
        assert_eq!(check(2, 2, 3), Ok(()));
        assert_eq!(check(3, 2, 3), Ok(()));
        assert_eq!(check(4, 2, 3), too_long(4));
        // No maximum set (0 or negative): 128 steps, as Go; no minimum set: any.
        assert_eq!(check(128, 0, 0), Ok(()));
        assert_eq!(check(129, 0, 0), too_long(129));
        assert_eq!(check(129, 0, -1), too_long(129));
        assert_eq!(check(1, 0, 0), Ok(()));
        assert_eq!(check(1, -1, 0), Ok(()));
    }

    /// A two-leaf CometBFT tree of `a -> 1` and `b -> 2`: its root and both existence
    /// proofs.
    fn two_leaves() -> (Vec<u8>, ExistenceProof, ExistenceProof) {
        let leaf = tendermint_spec().leaf_spec.unwrap();
        let (ha, hb) = (
            leaf.apply(b"a", b"1").unwrap(),
            leaf.apply(b"b", b"2").unwrap(),
        );
        let left = InnerOp {
            hash: HashOp::SHA256,
            prefix: vec![1],
            suffix: hb,
        };
        let right = InnerOp {
            hash: HashOp::SHA256,
            prefix: [&[1u8][..], &ha].concat(),
            suffix: Vec::new(),
        };
        let exist = |key: &[u8], value: &[u8], step: &InnerOp| ExistenceProof {
            key: key.to_vec(),
            value: value.to_vec(),
            leaf: Some(leaf.clone()),
            path: vec![step.clone()],
        };
        let root = left.apply(&ha).unwrap();
        (root, exist(b"a", b"1", &left), exist(b"b", b"2", &right))
    }

    #[test]
    fn non_membership_takes_only_neighbours_that_enclose_the_key() {
        let spec = tendermint_spec();
        let (root, a, b) = two_leaves();
        let non = |key: &[u8], left: &Option<ExistenceProof>, right: &Option<ExistenceProof>| {
            NonExistenceProof {
                key: key.to_vec(),
                left: left.clone(),
                right: right.clone(),
            }
        };
        let (a, b) = (Some(a), Some(b));
        let between = CommitmentProof::Nonexist(non(b"ab", &a, &b));
        assert_eq!(verify_non_membership(&spec, &root, &between, b"ab"), Ok(()));
        // The neighbours' own keys and keys outside them: no proof for the key.
        for key in [&b"a"[..], b"b", b"0", b"c"] {
            assert_eq!(
                verify_non_membership(&spec, &root, &between, key),
                Err(Ics23Error::NoProofForKey),
                "{key:?}"
            );
        }
        // Before the first key and after the last, with one neighbour each.
        let first = CommitmentProof::Nonexist(non(b"0", &None, &a));
        assert_eq!(verify_non_membership(&spec, &root, &first, b"0"), Ok(()));
        assert_eq!(
            verify_non_membership(&spec, &root, &first, b"a"),
            Err(Ics23Error::NoProofForKey)
        );
        let first = CommitmentProof::Nonexist(non(b"0", &None, &b));
        assert_eq!(
            verify_non_membership(&spec, &root, &first, b"0"),
            Err(Ics23Error::Neighbours(
                "left proof missing, right proof must be left-most"
            ))
        );
        let last = CommitmentProof::Nonexist(non(b"c", &b, &None));
        assert_eq!(verify_non_membership(&spec, &root, &last, b"c"), Ok(()));
        assert_eq!(
            verify_non_membership(&spec, &root, &last, b"b"),
            Err(Ics23Error::NoProofForKey)
        );
        let last = CommitmentProof::Nonexist(non(b"c", &a, &None));
        assert_eq!(
            verify_non_membership(&spec, &root, &last, b"c"),
            Err(Ics23Error::Neighbours(
                "right proof missing, left proof must be right-most"
            ))
        );
        // In a batch, the entry that encloses the key is the one checked.
        let batch = CommitmentProof::Batch(vec![
            BatchEntry::Nonexist(non(b"c", &b, &None)),
            BatchEntry::Nonexist(non(b"ab", &a, &b)),
        ]);
        assert_eq!(verify_non_membership(&spec, &root, &batch, b"ab"), Ok(()));
        assert_eq!(verify_non_membership(&spec, &root, &batch, b"c"), Ok(()));
        assert_eq!(
            verify_non_membership(&spec, &root, &batch, b"a"),
            Err(Ics23Error::NoProofForKey)
        );
        // Called on its own, the proof check names what is wrong with the neighbours.
        let whole = non(b"ab", &a, &b);
        assert_eq!(
            verify_non_existence(&whole, &spec, &root, b"a"),
            Err(Ics23Error::Neighbours("key is not right of the left proof"))
        );
        assert_eq!(
            verify_non_existence(&whole, &spec, &root, b"b"),
            Err(Ics23Error::Neighbours("key is not left of the right proof"))
        );
        assert_eq!(
            verify_non_existence(&non(b"ab", &None, &None), &spec, &root, b"ab"),
            Err(Ics23Error::Neighbours("both neighbours missing"))
        );
    }

    /// With children of 32 bytes and a node prefix of 1 or 2 bytes, a left child's step
    /// has a 1-2 byte prefix and a 32-byte suffix, a right child's a 33-34 byte prefix and
    /// no suffix. A step whose suffix fits one side but whose prefix fits neither is on no
    /// edge of the tree: it cannot make its proof the first or the last key's.
    #[test]
    fn a_step_whose_prefix_fits_no_child_is_on_no_edge_of_the_tree() {
        let spec = ProofSpec {
            inner_spec: Some(InnerSpec {
                max_prefix_length: 2,
                ..tendermint_spec().inner_spec.unwrap()
            }),
            ..tendermint_spec()
        };
        let leaf = spec.leaf_spec.clone().unwrap();
        let proof_through = |prefix: Vec<u8>, suffix: Vec<u8>| {
            let step = InnerOp {
                hash: HashOp::SHA256,
                prefix,
                suffix,
            };
            let root = step.apply(&leaf.apply(b"a", b"1").unwrap()).unwrap();
            let exist = ExistenceProof {
                key: b"a".to_vec(),
                value: b"1".to_vec(),
                leaf: Some(leaf.clone()),
                path: vec![step],
            };
            (root, exist)
        };
        // "0" sorts before "a", "b" after it: a proof of "a" as the first and the last key.
        let first = |(root, right): (Vec<u8>, ExistenceProof)| {
            let non = NonExistenceProof {
                key: b"0".to_vec(),
                left: None,
                right: Some(right),
            };
            verify_non_existence(&non, &spec, &root, b"0")
        };
        let last = |(root, left): (Vec<u8>, ExistenceProof)| {
            let non = NonExistenceProof {
                key: b"b".to_vec(),
                left: Some(left),
                right: None,
            };
            verify_non_existence(&non, &spec, &root, b"b")
        };
        assert_eq!(first(proof_through(vec![1, 1], vec![5; 32])), Ok(()));
        assert_eq!(
            first(proof_through(vec![1, 1, 1], vec![5; 32])),
            Err(Ics23Error::Neighbours(
                "left proof missing, right proof must be left-most"
            ))
        );
        assert_eq!(last(proof_through(vec![1; 34], Vec::new())), Ok(()));
        assert_eq!(
            last(proof_through(vec![1, 1, 1], Vec::new())),
            Err(Ics23Error::Neighbours(
                "right proof missing, left proof must be right-most"
            ))
        );
    }

    /// `key -> value` proved through `steps`, each `(prefix, suffix)` of a SHA-256 step.
    fn exist_through(key: &[u8], steps: &[(Vec<u8>, Vec<u8>)]) -> ExistenceProof {
        ExistenceProof {
            key: key.to_vec(),
            value: b"v".to_vec(),
            leaf: tendermint_spec().leaf_spec,
            path: steps
                .iter()
                .map(|(prefix, suffix)| InnerOp {
                    hash: HashOp::SHA256,
                    prefix: prefix.clone(),
                    suffix: suffix.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn non_existence_needs_neighbours_that_are_adjacent_leaves() {
        let leaf = |key: &[u8]| {
            tendermint_spec()
                .leaf_spec
                .unwrap()
                .apply(key, b"v")
                .unwrap()
        };
        let node = |parts: &[&[u8]]| crate::ics23::ops::do_hash(HashOp::SHA256, &parts.concat());
        let non = |key: &[u8], left: ExistenceProof, right: ExistenceProof| NonExistenceProof {
            key: key.to_vec(),
            left: Some(left),
            right: Some(right),
        };
        let apart = Err(Ics23Error::Neighbours(
            "left and right proofs are not neighbours",
        ));
        // A CometBFT tree of a, b, c, d.
        let (ha, hb, hc, hd) = (leaf(b"a"), leaf(b"b"), leaf(b"c"), leaf(b"d"));
        let (hab, hcd) = (
            node(&[&[1], &ha, &hb]).unwrap(),
            node(&[&[1], &hc, &hd]).unwrap(),
        );
        let root = node(&[&[1], &hab, &hcd]).unwrap();
        let left_of = |sibling: &[u8]| (vec![1], sibling.to_vec());
        let right_of = |sibling: &[u8]| ([&[1u8][..], sibling].concat(), Vec::new());
        let a = exist_through(b"a", &[left_of(&hb), left_of(&hcd)]);
        let b = exist_through(b"b", &[right_of(&ha), left_of(&hcd)]);
        let c = exist_through(b"c", &[left_of(&hd), right_of(&hab)]);
        let d = exist_through(b"d", &[right_of(&hc), right_of(&hab)]);
        let spec = tendermint_spec();
        let check = |n: &NonExistenceProof| verify_non_existence(n, &spec, &root, &n.key);
        assert_eq!(check(&non(b"bb", b.clone(), c.clone())), Ok(()));
        // Across b (the left one is not its subtree's last) or across c (the right one is
        // not its subtree's first).
        assert_eq!(check(&non(b"bb", a, c)), apart);
        assert_eq!(check(&non(b"bb", b, d)), apart);

        // Three children a node: a and c are both children of the root, one apart.
        let spec3 = ProofSpec {
            inner_spec: Some(InnerSpec {
                child_order: vec![0, 1, 2],
                ..tendermint_spec().inner_spec.unwrap()
            }),
            ..tendermint_spec()
        };
        let root3 = node(&[&[1], &ha, &hb, &hc]).unwrap();
        let a3 = exist_through(b"a", &[(vec![1], [&hb[..], &hc].concat())]);
        let b3 = exist_through(b"b", &[([&[1u8][..], &ha].concat(), hc.clone())]);
        let c3 = exist_through(b"c", &[([&[1u8][..], &ha, &hb].concat(), Vec::new())]);
        let check3 = |n: &NonExistenceProof| verify_non_existence(n, &spec3, &root3, &n.key);
        assert_eq!(check3(&non(b"a0", a3.clone(), b3.clone())), Ok(()));
        assert_eq!(check3(&non(b"bb", b3, c3.clone())), Ok(()));
        assert_eq!(check3(&non(b"b0", a3, c3)), apart);
    }

    #[test]
    fn compressed_batch_within_limits_still_verifies() {
        // A two-leaf CometBFT tree: root = SHA-256(1 || leaf(a) || leaf(b)).
        let spec = tendermint_spec();
        let leaf = LeafOp {
            hash: HashOp::SHA256,
            prehash_key: HashOp::NO_HASH,
            prehash_value: HashOp::SHA256,
            length: LengthOp::VAR_PROTO,
            prefix: vec![0],
        };
        let (ha, hb) = (
            leaf.apply(b"a", b"1").unwrap(),
            leaf.apply(b"b", b"2").unwrap(),
        );
        let left = InnerOp {
            hash: HashOp::SHA256,
            prefix: vec![1],
            suffix: hb.clone(),
        };
        let right = InnerOp {
            hash: HashOp::SHA256,
            prefix: [&[1u8][..], &ha].concat(),
            suffix: Vec::new(),
        };
        let root = left.apply(&ha).unwrap();
        assert_eq!(right.apply(&hb).unwrap(), root);
        let exist = |key: &[u8], value: &[u8], index| CompressedExistenceProof {
            key: key.to_vec(),
            value: value.to_vec(),
            leaf: Some(leaf.clone()),
            path: vec![index],
        };
        let proof = CommitmentProof::Compressed {
            entries: vec![
                CompressedBatchEntry::Exist(exist(b"a", b"1", 0)),
                CompressedBatchEntry::Exist(exist(b"b", b"2", 1)),
            ],
            lookup_inners: vec![left, right],
        };
        verify_membership(&spec, &root, &proof, b"a", b"1").unwrap();
        verify_membership(&spec, &root, &proof, b"b", b"2").unwrap();
        assert_eq!(
            verify_membership(&spec, &root, &proof, b"b", b"1"),
            Err(Ics23Error::Mismatch("value"))
        );
        // A key the batch holds no proof for, in a batch and in a single proof.
        assert_eq!(
            verify_membership(&spec, &root, &proof, b"c", b"1"),
            Err(Ics23Error::NoProofForKey)
        );
        let CommitmentProof::Batch(entries) = decompress(&proof).unwrap() else {
            panic!("not a batch")
        };
        let BatchEntry::Exist(a) = entries[0].clone() else {
            panic!("not an existence proof")
        };
        let single = CommitmentProof::Exist(a);
        verify_membership(&spec, &root, &single, b"a", b"1").unwrap();
        assert_eq!(
            verify_membership(&spec, &root, &single, b"b", b"2"),
            Err(Ics23Error::NoProofForKey)
        );
    }
}
