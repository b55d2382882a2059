//! Existence and non-existence verification, and the neighbour checks.

use super::ops::do_hash_or_noop;
use super::{
    BatchEntry, CommitmentProof, CompressedBatchEntry, CompressedExistenceProof, ExistenceProof,
    Ics23Error, InnerOp, InnerSpec, NonExistenceProof, ProofSpec,
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
    if spec.min_depth > 0 && (depth as u64) < spec.min_depth as u64 {
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

fn decompress_exist(
    p: &CompressedExistenceProof,
    lookup: &[InnerOp],
) -> Result<ExistenceProof, Ics23Error> {
    let path = p
        .path
        .iter()
        .map(|&i| {
            usize::try_from(i)
                .ok()
                .and_then(|i| lookup.get(i))
                .cloned()
                .ok_or_else(|| {
                    Ics23Error::Decode(format!("compressed path index {i} out of range"))
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

/// The proof with compressed batches expanded.
pub fn decompress(proof: &CommitmentProof) -> Result<CommitmentProof, Ics23Error> {
    let CommitmentProof::Compressed {
        entries,
        lookup_inners,
    } = proof
    else {
        return Ok(proof.clone());
    };
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
    let proof = decompress(proof)?;
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
    let proof = decompress(proof)?;
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
