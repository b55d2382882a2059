//! Binary Merkle trees over SHA3-256 with RFC 6962 domain separation.
//!
//! - leaf hash: `H(0x00 || data)`; inner node: `H(0x01 || left || right)`;
//! - the tree over `n` leaves splits at the largest power of two below `n` (RFC 6962 §2.1),
//!   which is the same as pairing nodes level by level and carrying a lone last node up;
//! - the **root** binds the leaf count as well: `H(0x02 || n as u64 big-endian || MTH)`.
//!   RFC 6962 proves inclusion but leaves the tree size to a signed tree head; binding it
//!   here means no bit of a proof (index, size, path) can change and still verify.
//!
//! [`InclusionProof`] is the RFC 9162 audit path of one leaf; [`MultiProof`] proves a batch of
//! leaves of one tree with each needed sibling hash sent once.

use serde::{Deserialize, Serialize};
use sha3::{Digest, Sha3_256};

use crate::types::Hash32;

/// Most leaves a proof may claim (2^40): keeps every depth at most 40.
pub const MAX_TREE_SIZE: u64 = 1 << 40;

/// Depth of a tree of [`MAX_TREE_SIZE`] leaves.
const MAX_DEPTH: usize = 40;

/// Hash of a leaf's data: `H(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash32 {
    let mut h = Sha3_256::new();
    h.update([0x00]);
    h.update(data);
    Hash32(h.finalize().into())
}

/// Hash of an inner node: `H(0x01 || left || right)`.
///
/// The 65 bytes are laid out in one array and hashed in one call, as cheap as any 65-byte
/// SHA3-256; three `update`s of 1, 32 and 32 bytes ran about 1% more instructions.
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut input = [0u8; 65];
    let (tag, children) = input.split_at_mut(1);
    let (l, r) = children.split_at_mut(32);
    tag[0] = 0x01;
    l.copy_from_slice(&left.0);
    r.copy_from_slice(&right.0);
    Hash32(Sha3_256::digest(input).into())
}

/// The root that binds the leaf count: `H(0x02 || size || mth)`.
fn sized_root(size: u64, mth: &Hash32) -> Hash32 {
    let mut input = [0u8; 41];
    let (tag, rest) = input.split_at_mut(1);
    let (n, head) = rest.split_at_mut(8);
    tag[0] = 0x02;
    n.copy_from_slice(&size.to_be_bytes());
    head.copy_from_slice(&mth.0);
    Hash32(Sha3_256::digest(input).into())
}

/// Why a proof was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// A leaf index is not below the tree size.
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The tree size is zero or above [`MAX_TREE_SIZE`].
    #[error("tree size {0} is not between 1 and 2^40")]
    BadTreeSize(u64),
    /// The path has the wrong number of hashes for its index and size.
    #[error("proof has {got} hashes, its shape needs {expected}")]
    WrongLength {
        /// Hashes the shape needs.
        expected: usize,
        /// Hashes given.
        got: usize,
    },
    /// Multiproof indices are not strictly increasing, or leaves and indices differ in number.
    #[error("multiproof leaves must be one per index, indices strictly increasing")]
    BadIndices,
    /// The recomputed root differs from the expected one.
    #[error("proof leads to root {computed}, expected {expected}")]
    RootMismatch {
        /// Root the proof leads to.
        computed: Hash32,
        /// Root it was checked against.
        expected: Hash32,
    },
}

/// A Merkle tree kept level by level, for building proofs.
#[derive(Debug, Clone)]
pub struct MerkleTree {
    /// `levels[0]` are the leaf hashes; the last level has the one top node.
    levels: Vec<Vec<Hash32>>,
}

impl MerkleTree {
    /// Builds the tree over leaf data.
    pub fn from_leaves<T: AsRef<[u8]>>(leaves: &[T]) -> Self {
        Self::from_leaf_hashes(leaves.iter().map(|l| leaf_hash(l.as_ref())).collect())
    }

    /// Builds the tree over leaf hashes (already `H(0x00 || data)`).
    pub fn from_leaf_hashes(leaves: Vec<Hash32>) -> Self {
        let mut levels = vec![leaves];
        while let Some(last) = levels.last() {
            if last.len() <= 1 {
                break;
            }
            // Pair the nodes; a lone last node is carried up as it is.
            let (pairs, lone) = last.as_chunks::<2>();
            let next = pairs
                .iter()
                .map(|[l, r]| node_hash(l, r))
                .chain(lone.iter().copied())
                .collect();
            levels.push(next);
        }
        Self { levels }
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The root, binding the leaf count. An empty tree's root is `H(0x02 || 0 || H(""))`.
    pub fn root(&self) -> Hash32 {
        let mth = match self.levels.last().and_then(|l| l.first()) {
            Some(top) => *top,
            None => Hash32(Sha3_256::digest([]).into()),
        };
        sized_root(self.len(), &mth)
    }

    /// The inclusion proof of leaf `index`, or `None` when it is out of range.
    pub fn prove(&self, index: u64) -> Option<InclusionProof> {
        if index >= self.len() {
            return None;
        }
        let mut path = Vec::new();
        let mut i = usize::try_from(index).ok()?;
        for level in &self.levels[..self.levels.len().saturating_sub(1)] {
            if let Some(sibling) = level.get(i ^ 1) {
                path.push(*sibling);
            }
            i /= 2;
        }
        Some(InclusionProof {
            index,
            tree_size: self.len(),
            path,
        })
    }

    /// One proof for several leaves. `indices` must be strictly increasing and in range.
    pub fn prove_many(&self, indices: &[u64]) -> Option<MultiProof> {
        let size = self.len();
        if indices.is_empty()
            || indices.windows(2).any(|w| w[0] >= w[1])
            || indices.last().is_some_and(|&l| l >= size)
        {
            return None;
        }
        let mut hashes = Vec::new();
        let top = self.levels.len().checked_sub(1)?;
        self.collect(top, 0, indices, &mut hashes);
        Some(MultiProof {
            tree_size: size,
            indices: indices.to_vec(),
            hashes,
        })
    }

    /// Walks node `(level, i)`; pushes the hash of every subtree with no requested leaf.
    #[allow(clippy::arithmetic_side_effects)] // level >= 1 where subtracted; i < 2^40
    fn collect(&self, level: usize, i: usize, wanted: &[u64], out: &mut Vec<Hash32>) {
        if wanted.is_empty() {
            out.push(self.levels[level][i]);
            return;
        }
        if level == 0 {
            return;
        }
        let (left, right) = (2 * i, 2 * i + 1);
        let split = ((right as u64) << (level - 1)).min(self.len());
        let cut = wanted.partition_point(|&x| x < split);
        self.collect(level - 1, left, &wanted[..cut], out);
        if right < self.levels[level - 1].len() {
            self.collect(level - 1, right, &wanted[cut..], out);
        }
    }
}

/// Depth of a tree of `size` leaves (levels above the leaves).
#[allow(clippy::arithmetic_side_effects)] // leading_zeros() <= 64 = u64::BITS
fn depth(size: u64) -> u32 {
    u64::BITS - size.saturating_sub(1).leading_zeros()
}

/// The RFC 9162 inclusion proof of one leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Index of the leaf, from 0.
    pub index: u64,
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// Sibling hashes from the leaf up.
    pub path: Vec<Hash32>,
}

impl InclusionProof {
    /// Checks that `leaf_data` is leaf `index` of the tree with `root` (RFC 9162 §2.1.3.2).
    pub fn verify(&self, leaf_data: &[u8], root: &Hash32) -> Result<(), ProofError> {
        self.verify_hash(leaf_hash(leaf_data), root)
    }

    /// As [`Self::verify`], given the leaf hash.
    pub fn verify_hash(&self, leaf: Hash32, root: &Hash32) -> Result<(), ProofError> {
        let computed = self.compute_root(leaf)?;
        if computed == *root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch {
                computed,
                expected: *root,
            })
        }
    }

    /// The root this proof leads to from `leaf`.
    pub fn compute_root(&self, leaf: Hash32) -> Result<Hash32, ProofError> {
        let size = self.tree_size;
        if size == 0 || size > MAX_TREE_SIZE {
            return Err(ProofError::BadTreeSize(size));
        }
        if self.index >= size {
            return Err(ProofError::IndexOutOfRange {
                index: self.index,
                size,
            });
        }
        let mut fnode = self.index;
        let mut snode = size.saturating_sub(1);
        let mut r = leaf;
        for p in &self.path {
            if snode == 0 {
                return Err(ProofError::WrongLength {
                    expected: self.expected_len(),
                    got: self.path.len(),
                });
            }
            if fnode & 1 == 1 || fnode == snode {
                r = node_hash(p, &r);
                if fnode & 1 == 0 {
                    while fnode & 1 == 0 && fnode != 0 {
                        fnode >>= 1;
                        snode >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, p);
            }
            fnode >>= 1;
            snode >>= 1;
        }
        if snode != 0 {
            return Err(ProofError::WrongLength {
                expected: self.expected_len(),
                got: self.path.len(),
            });
        }
        Ok(sized_root(size, &r))
    }

    /// Path length the index and size call for (for error messages).
    fn expected_len(&self) -> usize {
        let (mut fnode, mut snode, mut n) = (self.index, self.tree_size.saturating_sub(1), 0usize);
        while snode != 0 {
            if fnode & 1 == 0 && fnode == snode {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
            n = n.saturating_add(1);
            fnode >>= 1;
            snode >>= 1;
        }
        n
    }
}

/// A proof that several leaves belong to one tree, each needed hash sent once.
///
/// `hashes` are the roots of the subtrees that hold none of the proven leaves, in
/// depth-first, left-to-right order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiProof {
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// Indices of the proven leaves, strictly increasing.
    pub indices: Vec<u64>,
    /// Hashes of the subtrees without proven leaves.
    pub hashes: Vec<Hash32>,
}

impl MultiProof {
    /// Checks that `leaves[k]` is leaf `indices[k]` of the tree with `root`.
    ///
    /// Each leaf is hashed once, when the walk reaches it.
    pub fn verify<T: AsRef<[u8]>>(&self, leaves: &[T], root: &Hash32) -> Result<(), ProofError> {
        self.check_shape(leaves.len())?;
        let proven =
            (self.indices.iter().copied()).zip(leaves.iter().map(|l| leaf_hash(l.as_ref())));
        self.check_root(self.head(proven)?, root)
    }

    /// As [`Self::verify`], given leaf hashes.
    pub fn verify_hashes(&self, leaves: &[Hash32], root: &Hash32) -> Result<(), ProofError> {
        self.check_shape(leaves.len())?;
        let proven = (self.indices.iter().copied()).zip(leaves.iter().copied());
        self.check_root(self.head(proven)?, root)
    }

    /// Refuses a tree size out of range, and indices that are not one per leaf, strictly
    /// increasing and below the tree size.
    fn check_shape(&self, leaves: usize) -> Result<(), ProofError> {
        let size = self.tree_size;
        if size == 0 || size > MAX_TREE_SIZE {
            return Err(ProofError::BadTreeSize(size));
        }
        if leaves != self.indices.len()
            || self.indices.is_empty()
            || self.indices.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(ProofError::BadIndices);
        }
        if let Some(&last) = self.indices.last() {
            if last >= size {
                return Err(ProofError::IndexOutOfRange { index: last, size });
            }
        }
        Ok(())
    }

    /// Compares the size-bound root over `mth` with `root`.
    fn check_root(&self, mth: Hash32, root: &Hash32) -> Result<(), ProofError> {
        let computed = sized_root(self.tree_size, &mth);
        if computed == *root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch {
                computed,
                expected: *root,
            })
        }
    }

    /// The tree head (the hash under the size binding) from the proven leaves, given as
    /// `(index, hash)` in increasing index order, and the proof's hashes.
    ///
    /// One pass over the leaves from left to right, with `pos` the first leaf not yet
    /// covered. The next node covering `pos` is the proven leaf `pos` if there is one, else the
    /// largest subtree starting at `pos` that holds no proven leaf: that is the next hash of
    /// the proof, as depth-first, left-to-right order is left-to-right order of these
    /// subtrees. Its level is the largest `l` with `pos` a multiple of `2^l` and
    /// `pos + 2^l` at most the next proven index; past the last proven index, the largest `l`
    /// with `pos` a multiple of `2^l` (that subtree ends at the last leaf, cut short if the
    /// size is not a multiple of `2^l`).
    ///
    /// Each node then climbs: a right child (odd index) is hashed with its left sibling, which
    /// waits in `pending[level]`; the lone last node of a level is carried up unchanged
    /// (RFC 6962); any other left child waits in `pending[level]` for its sibling. The climb
    /// that reaches the top level gives the head. The waiting nodes are the left siblings of
    /// the path from `pos` up, one per level at most, so the walk allocates nothing and hashes
    /// exactly the inner nodes the proven leaves need.
    ///
    /// Expects [`Self::check_shape`] to have passed (size in range, indices sorted and below
    /// the size); the hashes may still be too few or too many.
    #[allow(clippy::arithmetic_side_effects)] // pos < size <= 2^40, level <= 40: no overflow
    fn head(&self, mut proven: impl Iterator<Item = (u64, Hash32)>) -> Result<Hash32, ProofError> {
        let size = self.tree_size;
        let top = depth(size);
        // Index of the last node of `level` is `last >> level`.
        let last = size - 1;
        let mut pending = [Hash32::ZERO; MAX_DEPTH];
        let mut next = proven.next();
        let mut hashes = self.hashes.iter();
        let mut pos = 0u64;
        loop {
            let (mut level, mut node) = match next {
                Some((index, leaf)) if index == pos => {
                    next = proven.next();
                    (0, leaf)
                }
                _ => {
                    // Every node ends at or before the next proven index, so the gap to it
                    // is at least 1. With none left, the subtree may run past the last
                    // leaf: it is the last node of its level, cut short (RFC 6962).
                    let room = match next {
                        Some((index, _)) => (index - pos).checked_ilog2().unwrap_or(0),
                        None => top,
                    };
                    let level = pos.trailing_zeros().min(room);
                    let hash = hashes.next().ok_or(ProofError::WrongLength {
                        expected: self.hashes.len() + 1,
                        got: self.hashes.len(),
                    })?;
                    (level, *hash)
                }
            };
            let mut j = pos >> level;
            pos += 1 << level;
            loop {
                if level == top {
                    return match hashes.len() {
                        0 => Ok(node),
                        unused => Err(ProofError::WrongLength {
                            expected: self.hashes.len() - unused,
                            got: self.hashes.len(),
                        }),
                    };
                }
                // level < top <= 40 from here on.
                let slot = &mut pending[level as usize];
                if j & 1 == 1 {
                    node = node_hash(slot, &node);
                } else if j < last >> level {
                    *slot = node;
                    break;
                }
                level += 1;
                j >>= 1;
            }
        }
    }
}

/// Nodes of a tree of `size` leaves at `level`: `ceil(size / 2^level)`.
#[allow(clippy::arithmetic_side_effects)] // size >= 1, level <= 40
fn level_len(size: u64, level: u32) -> u64 {
    ((size - 1) >> level) + 1
}

/// Positions `(level, index)` of the siblings on the path of leaf `index` up a tree of
/// `size` leaves, lowest first: one per level where the path's node has a sibling (the lone
/// last node of a level is carried up without one, RFC 6962).
fn sibling_positions(size: u64, index: u64) -> impl Iterator<Item = (u32, u64)> {
    (0..depth(size)).filter_map(move |level| {
        let sibling = (index >> level) ^ 1;
        (sibling < level_len(size, level)).then_some((level, sibling))
    })
}

/// Node hashes of one tree by position `(level, index)`, as far as proofs reveal them.
type Nodes = std::collections::BTreeMap<(u32, u64), Hash32>;

impl MultiProof {
    /// Joins the inclusion proofs of several leaves of one tree (indices strictly
    /// increasing) into one multiproof of them, each sibling hash once. `None` when they
    /// are not of one tree: sizes differ, indices do not increase, a path has the wrong
    /// length, or two paths give one node different hashes.
    ///
    /// Proves nothing by itself: the result verifies exactly when every proof did.
    pub fn join(proofs: &[InclusionProof]) -> Option<Self> {
        let size = proofs.first()?.tree_size;
        // A size of 0 is refused by the last check: no index is below it.
        if size > MAX_TREE_SIZE
            || proofs.iter().any(|p| p.tree_size != size)
            || proofs.windows(2).any(|w| w[0].index >= w[1].index)
            || proofs.last().is_some_and(|p| p.index >= size)
        {
            return None;
        }
        let mut nodes = Nodes::new();
        for p in proofs {
            let mut path = p.path.iter();
            for position in sibling_positions(size, p.index) {
                let hash = *path.next()?;
                if *nodes.entry(position).or_insert(hash) != hash {
                    return None;
                }
            }
            if path.next().is_some() {
                return None;
            }
        }
        let indices: Vec<u64> = proofs.iter().map(|p| p.index).collect();
        let mut hashes = Vec::new();
        collect_known(size, depth(size), 0, &indices, &nodes, &mut hashes)?;
        Some(Self {
            tree_size: size,
            indices,
            hashes,
        })
    }

    /// The inclusion proof of each proven leaf, given their hashes in the order of
    /// `indices`: what [`MerkleTree::prove`] gives for each. Checks the shape only: verify
    /// the multiproof first ([`Self::verify_hashes`]); a path derived from a proof that
    /// does not verify does not verify either.
    pub fn split(&self, leaves: &[Hash32]) -> Result<Vec<InclusionProof>, ProofError> {
        self.check_shape(leaves.len())?;
        let size = self.tree_size;
        let mut nodes = Nodes::new();
        let mut walk = Walk {
            size,
            total: self.hashes.len(),
            indices: &self.indices,
            leaves,
            hashes: self.hashes.iter(),
            nodes: &mut nodes,
        };
        walk.node(depth(size), 0, 0)?;
        if walk.hashes.len() != 0 {
            return Err(ProofError::WrongLength {
                expected: self.hashes.len().saturating_sub(walk.hashes.len()),
                got: self.hashes.len(),
            });
        }
        self.indices
            .iter()
            .map(|&index| {
                // The walk gave every node a path needs: the nodes on the proven leaves'
                // paths and every largest subtree beside them. A missing one would be a
                // hash the proof lacks.
                let path = sibling_positions(size, index)
                    .map(|position| nodes.get(&position).copied())
                    .collect::<Option<Vec<Hash32>>>()
                    .ok_or(ProofError::WrongLength {
                        expected: self.hashes.len().saturating_add(1),
                        got: self.hashes.len(),
                    })?;
                Ok(InclusionProof {
                    index,
                    tree_size: size,
                    path,
                })
            })
            .collect()
    }
}

/// Pushes, depth-first and left to right, the known hash of every largest subtree under
/// node `(level, i)` that holds none of the `wanted` leaves; `None` when one is not known.
#[allow(clippy::arithmetic_side_effects)] // level >= 1 where subtracted; i < 2^40
fn collect_known(
    size: u64,
    level: u32,
    i: u64,
    wanted: &[u64],
    nodes: &Nodes,
    out: &mut Vec<Hash32>,
) -> Option<()> {
    if wanted.is_empty() {
        out.push(*nodes.get(&(level, i))?);
        return Some(());
    }
    if level == 0 {
        return Some(());
    }
    let (left, right) = (2 * i, 2 * i + 1);
    let cut = wanted.partition_point(|&x| x < (right << (level - 1)));
    collect_known(size, level - 1, left, &wanted[..cut], nodes, out)?;
    if right < level_len(size, level - 1) {
        collect_known(size, level - 1, right, &wanted[cut..], nodes, out)?;
    }
    Some(())
}

/// The walk of [`MultiProof::split`]: every node the proven leaves and the proof's hashes
/// give, by position.
struct Walk<'a> {
    size: u64,
    /// Hashes the proof has.
    total: usize,
    indices: &'a [u64],
    leaves: &'a [Hash32],
    hashes: core::slice::Iter<'a, Hash32>,
    nodes: &'a mut Nodes,
}

impl Walk<'_> {
    /// Hash of node `(level, i)`, whose proven leaves start at position `first`.
    #[allow(clippy::arithmetic_side_effects)] // level >= 1 where subtracted; i < 2^40
    fn node(&mut self, level: u32, i: u64, first: usize) -> Result<Hash32, ProofError> {
        let end = ((i + 1) << level).min(self.size);
        let count = self.indices[first..].partition_point(|&x| x < end);
        let hash = if count == 0 {
            // Out of hashes: the shape needs at least one more than the proof has.
            *self.hashes.next().ok_or(ProofError::WrongLength {
                expected: self.total + 1,
                got: self.total,
            })?
        } else if level == 0 {
            self.leaves[first]
        } else {
            let left = self.node(level - 1, 2 * i, first)?;
            if 2 * i + 1 < level_len(self.size, level - 1) {
                let split = (2 * i + 1) << (level - 1);
                let cut =
                    first + self.indices[first..first + count].partition_point(|&x| x < split);
                node_hash(&left, &self.node(level - 1, 2 * i + 1, cut)?)
            } else {
                left
            }
        };
        self.nodes.insert((level, i), hash);
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 6962's recursive definition, to check the level-by-level construction.
    fn mth(leaves: &[Vec<u8>]) -> Hash32 {
        match leaves.len() {
            0 => Hash32(Sha3_256::digest([]).into()),
            1 => leaf_hash(&leaves[0]),
            n => {
                let k = 1usize << (usize::BITS - (n - 1).leading_zeros() - 1);
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    /// The recursive multiproof verifier this module had before the one-pass walk, kept as
    /// the reference the walk must agree with (same verdict, same error).
    fn reference_verify(
        proof: &MultiProof,
        leaves: &[Hash32],
        root: &Hash32,
    ) -> Result<(), ProofError> {
        struct Walk<'a> {
            size: u64,
            indices: &'a [u64],
            leaves: &'a [Hash32],
            hashes: &'a [Hash32],
            used: usize,
        }

        impl Walk<'_> {
            /// Hash of node `(level, i)`, whose requested leaves start at position `first`.
            fn node(&mut self, level: u32, i: u64, first: usize) -> Result<Hash32, ProofError> {
                let lo = i << level;
                let hi = ((i + 1) << level).min(self.size);
                let count = self.indices[first..].partition_point(|&x| x < hi);
                if count == 0 {
                    let h = self
                        .hashes
                        .get(self.used)
                        .copied()
                        .ok_or(ProofError::WrongLength {
                            expected: self.used + 1,
                            got: self.hashes.len(),
                        })?;
                    self.used += 1;
                    return Ok(h);
                }
                if level == 0 {
                    assert_eq!(self.indices[first], lo);
                    return Ok(self.leaves[first]);
                }
                let left = self.node(level - 1, 2 * i, first)?;
                // Nodes at `level - 1`: ceil(size / 2^(level - 1)).
                if 2 * i + 1 < self.size.div_ceil(1 << (level - 1)) {
                    let split = ((2 * i + 1) << (level - 1)).min(self.size);
                    let cut =
                        first + self.indices[first..first + count].partition_point(|&x| x < split);
                    let right = self.node(level - 1, 2 * i + 1, cut)?;
                    Ok(node_hash(&left, &right))
                } else {
                    Ok(left)
                }
            }
        }

        let size = proof.tree_size;
        if size == 0 || size > MAX_TREE_SIZE {
            return Err(ProofError::BadTreeSize(size));
        }
        if leaves.len() != proof.indices.len()
            || proof.indices.is_empty()
            || proof.indices.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(ProofError::BadIndices);
        }
        if let Some(&last) = proof.indices.last() {
            if last >= size {
                return Err(ProofError::IndexOutOfRange { index: last, size });
            }
        }
        let mut walk = Walk {
            size,
            indices: &proof.indices,
            leaves,
            hashes: &proof.hashes,
            used: 0,
        };
        let mth = walk.node(depth(size), 0, 0)?;
        if walk.used != proof.hashes.len() {
            return Err(ProofError::WrongLength {
                expected: walk.used,
                got: proof.hashes.len(),
            });
        }
        let computed = sized_root(size, &mth);
        if computed == *root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch {
                computed,
                expected: *root,
            })
        }
    }

    fn data(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
    }

    #[test]
    fn matches_rfc6962_recursion() {
        for n in 0..40 {
            let leaves = data(n);
            let tree = MerkleTree::from_leaves(&leaves);
            assert_eq!(tree.root(), sized_root(n as u64, &mth(&leaves)), "n = {n}");
        }
    }

    #[test]
    fn every_leaf_proves_in_every_small_tree() {
        for n in 1..40 {
            let leaves = data(n);
            let tree = MerkleTree::from_leaves(&leaves);
            for (i, leaf) in leaves.iter().enumerate() {
                let proof = tree.prove(i as u64).unwrap();
                proof.verify(leaf, &tree.root()).unwrap();
                assert_eq!(proof.path.len(), proof.expected_len());
                assert!(proof.verify(b"other", &tree.root()).is_err());
            }
            assert!(tree.prove(n as u64).is_none());
        }
    }

    #[test]
    fn tree_size_is_bound_by_the_root() {
        // With plain RFC 6962 roots, leaf 0 of 5 leaves verifies as a leaf of 7 leaves.
        let leaves = data(5);
        let tree = MerkleTree::from_leaves(&leaves);
        let mut proof = tree.prove(0).unwrap();
        proof.tree_size = 7;
        assert!(matches!(
            proof.verify(&leaves[0], &tree.root()),
            Err(ProofError::RootMismatch { .. })
        ));
    }

    #[test]
    fn multiproofs_cover_every_subset_of_small_trees() {
        for n in 1..12usize {
            let leaves = data(n);
            let tree = MerkleTree::from_leaves(&leaves);
            for mask in 1u32..(1 << n) {
                let idx: Vec<u64> = (0..n as u64).filter(|i| mask & (1 << i) != 0).collect();
                let proof = tree.prove_many(&idx).unwrap();
                let chosen: Vec<&Vec<u8>> = idx.iter().map(|&i| &leaves[i as usize]).collect();
                proof.verify(&chosen, &tree.root()).unwrap();
            }
        }
    }

    #[test]
    fn multiproof_rejects_malformed() {
        let leaves = data(10);
        let tree = MerkleTree::from_leaves(&leaves);
        let proof = tree.prove_many(&[1, 4, 5]).unwrap();
        let chosen = [&leaves[1], &leaves[4], &leaves[5]];
        let root = tree.root();
        assert!(proof.verify(&chosen[..2], &root).is_err());
        let mut extra = proof.clone();
        extra.hashes.push(Hash32::ZERO);
        assert!(matches!(
            extra.verify(&chosen, &root),
            Err(ProofError::WrongLength { .. })
        ));
        let mut short = proof.clone();
        short.hashes.pop();
        assert!(matches!(
            short.verify(&chosen, &root),
            Err(ProofError::WrongLength { .. })
        ));
        let mut unordered = proof.clone();
        unordered.indices = vec![4, 1, 5];
        assert_eq!(
            unordered.verify(&chosen, &root),
            Err(ProofError::BadIndices)
        );
        let mut zero = proof;
        zero.tree_size = 0;
        assert_eq!(zero.verify(&chosen, &root), Err(ProofError::BadTreeSize(0)));
        assert!(tree.prove_many(&[]).is_none());
        assert!(tree.prove_many(&[3, 3]).is_none());
        assert!(tree.prove_many(&[10]).is_none());
    }

    #[test]
    fn single_proofs_join_into_the_multiproof_and_it_splits_back_into_them() {
        for n in 1..12usize {
            let leaves = data(n);
            let tree = MerkleTree::from_leaves(&leaves);
            for mask in 1u32..(1 << n) {
                let idx: Vec<u64> = (0..n as u64).filter(|i| mask & (1 << i) != 0).collect();
                let singles: Vec<InclusionProof> =
                    idx.iter().map(|&i| tree.prove(i).unwrap()).collect();
                let multi = tree.prove_many(&idx).unwrap();
                assert_eq!(
                    MultiProof::join(&singles),
                    Some(multi.clone()),
                    "n {n} {idx:?}"
                );
                let hashes: Vec<Hash32> = idx
                    .iter()
                    .map(|&i| leaf_hash(&leaves[i as usize]))
                    .collect();
                assert_eq!(multi.split(&hashes), Ok(singles), "n {n} {idx:?}");
            }
        }
    }

    #[test]
    fn proofs_of_different_trees_or_out_of_order_do_not_join() {
        let tree = MerkleTree::from_leaves(&data(10));
        let proof = |i| tree.prove(i).unwrap();
        assert_eq!(MultiProof::join(&[]), None, "nothing to join");
        assert_eq!(
            MultiProof::join(&[proof(4), proof(1)]),
            None,
            "indices decrease"
        );
        assert_eq!(
            MultiProof::join(&[proof(4), proof(4)]),
            None,
            "an index twice"
        );
        let other = MerkleTree::from_leaves(&data(11)).prove(5).unwrap();
        assert_eq!(MultiProof::join(&[proof(1), other]), None, "sizes differ");
        // Leaf 4's path has the same shape in trees of 10 and 11 leaves: only the sizes
        // tell the proofs apart.
        let mut resized = proof(4);
        resized.tree_size = 11;
        assert_eq!(MultiProof::join(&[proof(1), resized]), None, "sizes differ");
        let mut long = proof(5);
        long.path.push(Hash32::ZERO);
        assert_eq!(MultiProof::join(&[proof(1), long]), None, "a hash too many");
        let mut short = proof(5);
        short.path.pop();
        assert_eq!(MultiProof::join(&[proof(1), short]), None, "a hash too few");
        // Beside both 4 and 5 at the top is the subtree of leaves 8 and 9: one node, whose
        // hash the two paths must agree on.
        let mut conflicting = proof(5);
        let top = conflicting.path.len() - 1;
        conflicting.path[top].0[0] ^= 1;
        assert_eq!(
            MultiProof::join(&[proof(4), conflicting]),
            None,
            "one node, two hashes"
        );
        let mut beyond = proof(9);
        beyond.index = 10;
        assert_eq!(
            MultiProof::join(&[proof(1), beyond]),
            None,
            "an index past the size"
        );
        let mut zero = proof(1);
        zero.tree_size = 0;
        assert_eq!(MultiProof::join(&[zero]), None, "an empty tree");
        // The largest tree joins; one leaf more does not, with a path of the right shape.
        let largest = InclusionProof {
            index: 0,
            tree_size: MAX_TREE_SIZE,
            path: vec![Hash32::ZERO; MAX_DEPTH],
        };
        let joined = MultiProof::join(std::slice::from_ref(&largest)).unwrap();
        assert_eq!(joined.hashes.len(), MAX_DEPTH);
        let over = InclusionProof {
            index: 0,
            tree_size: MAX_TREE_SIZE + 1,
            path: vec![Hash32::ZERO; MAX_DEPTH + 1],
        };
        assert_eq!(MultiProof::join(&[over]), None, "a tree past the limit");
        // A proof of one leaf joins into itself, and in a tree of one leaf into nothing.
        let one = MultiProof::join(&[proof(3)]).unwrap();
        assert_eq!(one, tree.prove_many(&[3]).unwrap());
        let alone = MerkleTree::from_leaves(&data(1));
        let lone = MultiProof::join(&[alone.prove(0).unwrap()]).unwrap();
        assert!(lone.hashes.is_empty());
    }

    #[test]
    fn a_multiproof_of_the_wrong_shape_does_not_split() {
        let leaves = data(10);
        let tree = MerkleTree::from_leaves(&leaves);
        let proof = tree.prove_many(&[1, 4, 5]).unwrap();
        let hashes: Vec<Hash32> = [1, 4, 5].iter().map(|&i| leaf_hash(&leaves[i])).collect();
        assert_eq!(proof.split(&hashes[..2]), Err(ProofError::BadIndices));
        let mut extra = proof.clone();
        extra.hashes.push(Hash32::ZERO);
        assert_eq!(
            extra.split(&hashes),
            Err(ProofError::WrongLength {
                expected: proof.hashes.len(),
                got: proof.hashes.len() + 1
            })
        );
        let mut short = proof.clone();
        short.hashes.pop();
        let too_few = Err(ProofError::WrongLength {
            expected: proof.hashes.len(),
            got: proof.hashes.len() - 1,
        });
        assert_eq!(short.split(&hashes), too_few);
        assert_eq!(
            short.verify_hashes(&hashes, &tree.root()),
            too_few.map(|_| ())
        );
        let mut zero = proof;
        zero.tree_size = 0;
        assert_eq!(zero.split(&hashes), Err(ProofError::BadTreeSize(0)));
    }

    #[test]
    fn an_empty_tree_has_no_leaves_and_proves_nothing() {
        let empty = MerkleTree::from_leaves::<&[u8]>(&[]);
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
        assert_eq!(
            empty.root(),
            sized_root(0, &Hash32(Sha3_256::digest([]).into()))
        );
        assert_eq!(empty.prove(0), None);
        assert_eq!(empty.prove_many(&[0]), None);

        let one = MerkleTree::from_leaves(&[b"only"]);
        assert!(!one.is_empty());
        assert_eq!(one.len(), 1);
        assert_eq!(one.root(), sized_root(1, &leaf_hash(b"only")));
        let proof = one.prove(0).unwrap();
        assert!(proof.path.is_empty());
        proof.verify(b"only", &one.root()).unwrap();
    }

    /// The audit path of leaf 0 in a tree of `2^depth` leaves, and the root it leads to.
    fn leftmost_proof(depth: u32) -> (InclusionProof, Hash32) {
        let leaf = leaf_hash(b"first");
        let path: Vec<Hash32> = (0..depth).map(|d| leaf_hash(&d.to_be_bytes())).collect();
        let mth = path
            .iter()
            .fold(leaf, |acc, sibling| node_hash(&acc, sibling));
        let size = 1u64 << depth;
        let proof = InclusionProof {
            index: 0,
            tree_size: size,
            path,
        };
        (proof, sized_root(size, &mth))
    }

    #[test]
    fn inclusion_proofs_accept_trees_of_1_to_2_pow_40_leaves_and_no_other_size() {
        let (proof, root) = leftmost_proof(40);
        assert_eq!(proof.tree_size, MAX_TREE_SIZE);
        proof.verify(b"first", &root).unwrap();

        for size in [0, MAX_TREE_SIZE + 1, MAX_TREE_SIZE + 2, u64::MAX] {
            let mut p = proof.clone();
            p.tree_size = size;
            assert_eq!(
                p.compute_root(leaf_hash(b"first")),
                Err(ProofError::BadTreeSize(size))
            );
        }
        assert_eq!(
            ProofError::BadTreeSize(0).to_string(),
            "tree size 0 is not between 1 and 2^40"
        );
    }

    #[test]
    fn multiproofs_accept_trees_of_1_to_2_pow_40_leaves_and_no_other_size() {
        let (single, root) = leftmost_proof(40);
        let proof = MultiProof {
            tree_size: MAX_TREE_SIZE,
            indices: vec![0],
            // Depth-first, left to right: the siblings of leaf 0 come lowest first.
            hashes: single.path.clone(),
        };
        proof.verify(&[b"first"], &root).unwrap();

        for size in [0, MAX_TREE_SIZE + 1, MAX_TREE_SIZE + 2, u64::MAX] {
            let mut p = proof.clone();
            p.tree_size = size;
            assert_eq!(
                p.verify(&[b"first"], &root),
                Err(ProofError::BadTreeSize(size))
            );
        }
    }

    fn flip(bytes: &mut [u8], bit: usize) {
        let n = bytes.len() * 8;
        bytes[(bit % n) / 8] ^= 1 << (bit % 8);
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config(256))]

        #[test]
        fn single_bit_changes_are_rejected(n in 1usize..200, pick: usize, bit: usize, part in 0u8..5) {
            let leaves = data(n);
            let tree = MerkleTree::from_leaves(&leaves);
            let i = pick % n;
            let proof = tree.prove(i as u64).unwrap();
            let mut root = tree.root();
            let mut leaf = leaves[i].clone();
            let mut p = proof.clone();
            match part {
                0 => flip(&mut root.0, bit),
                1 => flip(&mut leaf, bit),
                2 => { let mut b = p.index.to_be_bytes(); flip(&mut b, bit % 64); p.index = u64::from_be_bytes(b); }
                3 => { let mut b = p.tree_size.to_be_bytes(); flip(&mut b, bit % 64); p.tree_size = u64::from_be_bytes(b); }
                _ => {
                    if p.path.is_empty() { return Ok(()); }
                    let k = bit % p.path.len();
                    flip(&mut p.path[k].0, bit / 7);
                }
            }
            prop_assert!(p.verify(&leaf, &root).is_err());
        }

        #[test]
        fn multiproof_single_bit_changes_are_rejected(
            n in 1usize..300, picks in proptest::collection::btree_set(any::<usize>(), 1..8),
            bit: usize, part in 0u8..4,
        ) {
            let leaves = data(n);
            let tree = MerkleTree::from_leaves(&leaves);
            let idx: Vec<u64> = picks.iter().map(|p| (p % n) as u64)
                .collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            let proof = tree.prove_many(&idx).unwrap();
            let mut chosen: Vec<Vec<u8>> = idx.iter().map(|&i| leaves[i as usize].clone()).collect();
            proof.verify(&chosen, &tree.root()).unwrap();
            let mut root = tree.root();
            let mut p = proof.clone();
            match part {
                0 => flip(&mut root.0, bit),
                1 => { let k = bit % chosen.len(); flip(&mut chosen[k], bit / 7); }
                2 => { let mut b = p.tree_size.to_be_bytes(); flip(&mut b, bit % 64); p.tree_size = u64::from_be_bytes(b); }
                _ => {
                    if p.hashes.is_empty() { return Ok(()); }
                    let k = bit % p.hashes.len();
                    flip(&mut p.hashes[k].0, bit / 7);
                }
            }
            prop_assert!(p.verify(&chosen, &root).is_err());
        }

        #[test]
        fn joining_and_splitting_agree_with_the_tree(
            n in 1usize..1100,
            picks in proptest::collection::btree_set(any::<usize>(), 1..40),
        ) {
            let leaves = data(n);
            let tree = MerkleTree::from_leaves(&leaves);
            let idx: Vec<u64> = picks.iter().map(|p| (p % n) as u64)
                .collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            let singles: Vec<InclusionProof> = idx.iter().map(|&i| tree.prove(i).unwrap()).collect();
            let multi = tree.prove_many(&idx).unwrap();
            prop_assert_eq!(MultiProof::join(&singles), Some(multi.clone()));
            let hashes: Vec<Hash32> = idx.iter().map(|&i| leaf_hash(&leaves[i as usize])).collect();
            prop_assert_eq!(multi.split(&hashes), Ok(singles));
        }

        #[test]
        fn the_one_pass_multiproof_walk_agrees_with_the_reference(
            n in 1usize..1100,
            picks in proptest::collection::btree_set(any::<usize>(), 1..24),
            mutation in 0u8..12,
            a: usize,
            b: usize,
        ) {
            let leaves = data(n);
            let tree = MerkleTree::from_leaves(&leaves);
            let root = tree.root();
            let idx: Vec<u64> = picks.iter().map(|p| (p % n) as u64)
                .collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            let mut p = tree.prove_many(&idx).unwrap();
            let mut chosen: Vec<Vec<u8>> = idx.iter().map(|&i| leaves[i as usize].clone()).collect();
            let k = p.indices.len();
            match mutation {
                0 => {}
                1 => if !p.hashes.is_empty() { let h = a % p.hashes.len(); flip(&mut p.hashes[h].0, b); },
                2 => if !p.hashes.is_empty() { p.hashes.remove(a % p.hashes.len()); },
                3 => p.hashes.insert(a % (p.hashes.len() + 1), leaf_hash(&b.to_be_bytes())),
                4 => p.tree_size = (b as u64) % (2 * n as u64 + 2),
                5 => { let mut s = p.tree_size.to_be_bytes(); flip(&mut s, b % 64); p.tree_size = u64::from_be_bytes(s); }
                6 => p.indices[a % k] ^= 1 << (b % 12),
                7 => p.indices[a % k] = (b % (n + 2)) as u64,
                8 => if k > 1 { p.indices.swap(a % k, b % k); },
                9 => { let i = a % k; p.indices.remove(i); chosen.remove(i); }
                10 => { chosen.remove(a % k); }
                _ => { let i = a % k; flip(&mut chosen[i], b); }
            }
            let hashes: Vec<Hash32> = chosen.iter().map(|l| leaf_hash(l)).collect();
            let expected = reference_verify(&p, &hashes, &root);
            prop_assert_eq!(p.verify_hashes(&hashes, &root), expected.clone());
            prop_assert_eq!(p.verify(&chosen, &root), expected.clone());
            if mutation == 0 {
                prop_assert_eq!(expected, Ok(()));
            }
        }

        #[test]
        fn the_one_pass_multiproof_walk_agrees_with_the_reference_on_any_shape(
            size_bits in 0u32..=40,
            size_low: u64,
            picks in proptest::collection::btree_set(any::<u64>(), 1..12),
            extra in 0usize..10,
            seed: u64,
        ) {
            // Any size up to 2^40, any sorted indices below it, any number of made-up hashes:
            // the verdicts agree, and on a root mismatch so does the recomputed root.
            let size = (1u64 << size_bits) - (size_low % (1u64 << size_bits).div_ceil(2));
            let indices: Vec<u64> = picks.iter().map(|p| p % size)
                .collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            let leaves: Vec<Hash32> = indices.iter().map(|i| leaf_hash(&i.to_be_bytes())).collect();
            let made_up = |count: usize| -> Vec<Hash32> {
                (0..count).map(|c| leaf_hash(&(seed ^ c as u64).to_be_bytes())).collect()
            };
            // With more hashes than any shape needs, the reference says how many it needs.
            let probe = MultiProof { tree_size: size, indices: indices.clone(), hashes: made_up(41 * 12) };
            let needed = match reference_verify(&probe, &leaves, &Hash32::ZERO) {
                Err(ProofError::WrongLength { expected, .. }) => expected,
                other => panic!("{other:?}"),
            };
            // Two too few up to two too many, the right count most often.
            let hashes = made_up((needed + extra % 5).saturating_sub(2));
            let p = MultiProof { tree_size: size, indices, hashes };
            let root = leaf_hash(&seed.to_le_bytes());
            prop_assert_eq!(p.verify_hashes(&leaves, &root), reference_verify(&p, &leaves, &root));
        }

        #[test]
        fn multiproof_index_changes_are_rejected(n in 2usize..300, a: usize, bit in 0u32..16) {
            let leaves = data(n);
            let tree = MerkleTree::from_leaves(&leaves);
            let i = (a % n) as u64;
            let proof = tree.prove_many(&[i]).unwrap();
            let mut p = proof.clone();
            p.indices[0] ^= 1 << bit;
            prop_assert!(p.verify(&[&leaves[i as usize]], &tree.root()).is_err());
        }
    }
}
