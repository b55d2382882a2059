//! Hand-written protobuf decoding of `cosmos.ics23.v1.CommitmentProof`.
//!
//! Fields: `CommitmentProof { oneof { ExistenceProof exist = 1; NonExistenceProof
//! nonexist = 2; BatchProof batch = 3; CompressedBatchProof compressed = 4; } }`,
//! `ExistenceProof { bytes key = 1; bytes value = 2; LeafOp leaf = 3; repeated InnerOp
//! path = 4; }`, `NonExistenceProof { bytes key = 1; ExistenceProof left = 2; right = 3; }`,
//! `LeafOp { hash = 1; prehash_key = 2; prehash_value = 3; length = 4; bytes prefix = 5; }`,
//! `InnerOp { hash = 1; bytes prefix = 2; bytes suffix = 3; }`, batches of entries
//! (`exist = 1`, `nonexist = 2`), compressed batches with `lookup_inners = 2` and paths of
//! `int32` indices (packed or not).
//!
//! Unknown fields are skipped (wire types 0, 1, 2, 5); groups and truncated input are
//! errors. A commitment proof or batch entry whose only proof is in a field outside this
//! schema (the `exclusion` proofs of an unmerged upstream branch use `CommitmentProof`
//! field 5 and entry field 3) is [`Ics23Error::UnsupportedProofKind`], not a decoding
//! error, so callers can tell a proof kind they do not know from a broken proof. A scalar or message field given twice keeps the last value (Go would merge two
//! copies of a message): whatever is decoded, verification recomputes every hash from it,
//! so a decoding quirk can only make a proof fail, never prove something false.

use super::{
    BatchEntry, CommitmentProof, CompressedBatchEntry, CompressedExistenceProof,
    CompressedNonExistenceProof, ExistenceProof, HashOp, Ics23Error, InnerOp, LeafOp, LengthOp,
    NonExistenceProof,
};

/// A decoded field value.
enum Wire<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

fn err(reason: impl Into<String>) -> Ics23Error {
    Ics23Error::Decode(reason.into())
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, at: 0 }
    }

    fn varint(&mut self) -> Result<u64, Ics23Error> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.at)
                .ok_or_else(|| err("truncated varint"))?;
            self.at = self.at.saturating_add(1);
            value |= u64::from(b & 0x7f).wrapping_shl(shift);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(err("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Ics23Error> {
        let end = self
            .at
            .checked_add(n)
            .ok_or_else(|| err("length overflow"))?;
        let out = self
            .buf
            .get(self.at..end)
            .ok_or_else(|| err("truncated field"))?;
        self.at = end;
        Ok(out)
    }

    /// The next `(field number, value)`, or `None` at the end.
    fn next(&mut self) -> Result<Option<(u64, Wire<'a>)>, Ics23Error> {
        if self.at >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key.wrapping_shr(3);
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Wire::Fixed
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| err("length overflow"))?;
                Wire::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Wire::Fixed
            }
            other => return Err(err(format!("unsupported wire type {other}"))),
        };
        if field == 0 {
            return Err(err("field number 0"));
        }
        Ok(Some((field, wire)))
    }
}

fn bytes<'a>(w: &Wire<'a>, what: &str) -> Result<&'a [u8], Ics23Error> {
    match w {
        Wire::Bytes(b) => Ok(b),
        _ => Err(err(format!("{what}: expected a length-delimited field"))),
    }
}

fn enum_i32(w: &Wire<'_>, what: &str) -> Result<i32, Ics23Error> {
    match w {
        // proto int32/enum: the low 32 bits of the varint.
        Wire::Varint(v) => Ok(*v as u32 as i32),
        _ => Err(err(format!("{what}: expected a varint"))),
    }
}

fn leaf_op(buf: &[u8]) -> Result<LeafOp, Ics23Error> {
    let mut op = LeafOp::default();
    let mut r = Reader::new(buf);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => op.hash = HashOp(enum_i32(&w, "LeafOp.hash")?),
            2 => op.prehash_key = HashOp(enum_i32(&w, "LeafOp.prehash_key")?),
            3 => op.prehash_value = HashOp(enum_i32(&w, "LeafOp.prehash_value")?),
            4 => op.length = LengthOp(enum_i32(&w, "LeafOp.length")?),
            5 => op.prefix = bytes(&w, "LeafOp.prefix")?.to_vec(),
            _ => {}
        }
    }
    Ok(op)
}

fn inner_op(buf: &[u8]) -> Result<InnerOp, Ics23Error> {
    let mut op = InnerOp::default();
    let mut r = Reader::new(buf);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => op.hash = HashOp(enum_i32(&w, "InnerOp.hash")?),
            2 => op.prefix = bytes(&w, "InnerOp.prefix")?.to_vec(),
            3 => op.suffix = bytes(&w, "InnerOp.suffix")?.to_vec(),
            _ => {}
        }
    }
    Ok(op)
}

/// Decodes an `ExistenceProof`.
pub fn existence_proof(buf: &[u8]) -> Result<ExistenceProof, Ics23Error> {
    let mut p = ExistenceProof::default();
    let mut r = Reader::new(buf);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => p.key = bytes(&w, "ExistenceProof.key")?.to_vec(),
            2 => p.value = bytes(&w, "ExistenceProof.value")?.to_vec(),
            3 => p.leaf = Some(leaf_op(bytes(&w, "ExistenceProof.leaf")?)?),
            4 => p.path.push(inner_op(bytes(&w, "ExistenceProof.path")?)?),
            _ => {}
        }
    }
    Ok(p)
}

/// Decodes an `ExistenceProof` in the layout `cosmos/ics23` used before its current schema,
/// which its `existence*.json` test files still have: `key = 1; value = 2; repeated ProofOp
/// steps = 3`, with `ProofOp { oneof { LeafOp leaf = 1; InnerOp inner = 2; } }`. The first
/// step must be the leaf op, every later one an inner op.
pub fn legacy_existence_proof(buf: &[u8]) -> Result<ExistenceProof, Ics23Error> {
    let mut p = ExistenceProof::default();
    let mut r = Reader::new(buf);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => p.key = bytes(&w, "ExistenceProof.key")?.to_vec(),
            2 => p.value = bytes(&w, "ExistenceProof.value")?.to_vec(),
            3 => {
                let mut sr = Reader::new(bytes(&w, "ExistenceProof.steps")?);
                while let Some((sf, sw)) = sr.next()? {
                    match sf {
                        1 if p.leaf.is_none() && p.path.is_empty() => {
                            p.leaf = Some(leaf_op(bytes(&sw, "ProofOp.leaf")?)?)
                        }
                        1 => return Err(err("legacy proof: a leaf op after the first step")),
                        2 if p.leaf.is_some() => {
                            p.path.push(inner_op(bytes(&sw, "ProofOp.inner")?)?)
                        }
                        2 => return Err(err("legacy proof: an inner op before the leaf op")),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(p)
}

fn non_existence_proof(buf: &[u8]) -> Result<NonExistenceProof, Ics23Error> {
    let mut p = NonExistenceProof::default();
    let mut r = Reader::new(buf);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => p.key = bytes(&w, "NonExistenceProof.key")?.to_vec(),
            2 => p.left = Some(existence_proof(bytes(&w, "NonExistenceProof.left")?)?),
            3 => p.right = Some(existence_proof(bytes(&w, "NonExistenceProof.right")?)?),
            _ => {}
        }
    }
    Ok(p)
}

fn compressed_exist(buf: &[u8]) -> Result<CompressedExistenceProof, Ics23Error> {
    let mut p = CompressedExistenceProof::default();
    let mut r = Reader::new(buf);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => p.key = bytes(&w, "CompressedExistenceProof.key")?.to_vec(),
            2 => p.value = bytes(&w, "CompressedExistenceProof.value")?.to_vec(),
            3 => p.leaf = Some(leaf_op(bytes(&w, "CompressedExistenceProof.leaf")?)?),
            4 => match w {
                Wire::Bytes(packed) => {
                    let mut pr = Reader::new(packed);
                    while pr.at < packed.len() {
                        p.path.push(pr.varint()? as u32 as i32);
                    }
                }
                other => p
                    .path
                    .push(enum_i32(&other, "CompressedExistenceProof.path")?),
            },
            _ => {}
        }
    }
    Ok(p)
}

fn compressed_non_exist(buf: &[u8]) -> Result<CompressedNonExistenceProof, Ics23Error> {
    let mut p = CompressedNonExistenceProof::default();
    let mut r = Reader::new(buf);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => p.key = bytes(&w, "CompressedNonExistenceProof.key")?.to_vec(),
            2 => {
                p.left = Some(compressed_exist(bytes(
                    &w,
                    "CompressedNonExistenceProof.left",
                )?)?)
            }
            3 => {
                p.right = Some(compressed_exist(bytes(
                    &w,
                    "CompressedNonExistenceProof.right",
                )?)?)
            }
            _ => {}
        }
    }
    Ok(p)
}

/// The decoded entry; else the unknown proof field it held; else an error.
fn entry_or_unsupported<T>(
    entry: Option<T>,
    unknown: Option<u64>,
    message: &'static str,
) -> Result<T, Ics23Error> {
    match (entry, unknown) {
        (Some(e), _) => Ok(e),
        (None, Some(field)) => Err(Ics23Error::UnsupportedProofKind { message, field }),
        (None, None) => Err(err(format!("empty {message}"))),
    }
}

/// Decodes a `CommitmentProof`.
pub fn commitment_proof(buf: &[u8]) -> Result<CommitmentProof, Ics23Error> {
    let mut out = None;
    let mut unsupported = None;
    let mut r = Reader::new(buf);
    while let Some((f, w)) = r.next()? {
        match f {
            1 => {
                out = Some(CommitmentProof::Exist(existence_proof(bytes(
                    &w, "exist",
                )?)?))
            }
            2 => {
                out = Some(CommitmentProof::Nonexist(non_existence_proof(bytes(
                    &w, "nonexist",
                )?)?))
            }
            3 => {
                let mut entries = Vec::new();
                let mut br = Reader::new(bytes(&w, "batch")?);
                while let Some((bf, bw)) = br.next()? {
                    if bf == 1 {
                        let mut er = Reader::new(bytes(&bw, "batch entry")?);
                        let mut entry = None;
                        let mut unknown = None;
                        while let Some((ef, ew)) = er.next()? {
                            match ef {
                                1 => {
                                    entry = Some(BatchEntry::Exist(existence_proof(bytes(
                                        &ew,
                                        "entry exist",
                                    )?)?))
                                }
                                2 => {
                                    entry = Some(BatchEntry::Nonexist(non_existence_proof(bytes(
                                        &ew,
                                        "entry nonexist",
                                    )?)?))
                                }
                                other => {
                                    if matches!(ew, Wire::Bytes(_)) {
                                        unknown = Some(other);
                                    }
                                }
                            }
                        }
                        entries.push(entry_or_unsupported(entry, unknown, "BatchEntry")?);
                    }
                }
                out = Some(CommitmentProof::Batch(entries));
            }
            4 => {
                let mut entries = Vec::new();
                let mut lookup_inners = Vec::new();
                let mut cr = Reader::new(bytes(&w, "compressed")?);
                while let Some((cf, cw)) = cr.next()? {
                    match cf {
                        1 => {
                            let mut er = Reader::new(bytes(&cw, "compressed entry")?);
                            let mut entry = None;
                            let mut unknown = None;
                            while let Some((ef, ew)) = er.next()? {
                                match ef {
                                    1 => {
                                        entry = Some(CompressedBatchEntry::Exist(compressed_exist(
                                            bytes(&ew, "entry exist")?,
                                        )?))
                                    }
                                    2 => {
                                        entry = Some(CompressedBatchEntry::Nonexist(
                                            compressed_non_exist(bytes(&ew, "entry nonexist")?)?,
                                        ))
                                    }
                                    other => {
                                        if matches!(ew, Wire::Bytes(_)) {
                                            unknown = Some(other);
                                        }
                                    }
                                }
                            }
                            entries.push(entry_or_unsupported(
                                entry,
                                unknown,
                                "CompressedBatchEntry",
                            )?);
                        }
                        2 => lookup_inners.push(inner_op(bytes(&cw, "lookup_inners")?)?),
                        _ => {}
                    }
                }
                out = Some(CommitmentProof::Compressed {
                    entries,
                    lookup_inners,
                });
            }
            other => {
                if matches!(w, Wire::Bytes(_)) {
                    unsupported = Some(other);
                }
            }
        }
    }
    match (out, unsupported) {
        (Some(proof), _) => Ok(proof),
        (None, Some(field)) => Err(Ics23Error::UnsupportedProofKind {
            message: "CommitmentProof",
            field,
        }),
        (None, None) => Err(err("no proof in the commitment proof")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        for bad in [
            &[0x0a][..],
            &[0x0a, 0x05, 0x01],
            &[0x0b],
            &[0x00, 0x01],
            &[0xff; 12],
            &[],
            &[
                0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
        ] {
            assert!(commitment_proof(bad).is_err(), "{bad:?}");
        }
        // An empty existence proof decodes (and fails verification later).
        assert!(matches!(
            commitment_proof(&[0x0a, 0x00]),
            Ok(CommitmentProof::Exist(_))
        ));
    }

    use crate::cometbft::proto::{put_bytes, put_message, put_uint};

    /// A protobuf length-delimited field.
    fn field(number: u32, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_message(&mut out, number, body);
        out
    }

    fn enum_field(out: &mut Vec<u8>, number: u32, value: i32) {
        put_uint(out, number, u64::try_from(value).unwrap());
    }

    fn leaf_bytes(op: &LeafOp) -> Vec<u8> {
        let mut out = Vec::new();
        enum_field(&mut out, 1, op.hash.0);
        enum_field(&mut out, 2, op.prehash_key.0);
        enum_field(&mut out, 3, op.prehash_value.0);
        enum_field(&mut out, 4, op.length.0);
        put_bytes(&mut out, 5, &op.prefix);
        out
    }

    fn inner_bytes(op: &InnerOp) -> Vec<u8> {
        let mut out = Vec::new();
        enum_field(&mut out, 1, op.hash.0);
        put_bytes(&mut out, 2, &op.prefix);
        put_bytes(&mut out, 3, &op.suffix);
        out
    }

    /// Key, value and leaf op of an existence proof, compressed or not.
    fn key_value_leaf(key: &[u8], value: &[u8], leaf: Option<&LeafOp>) -> Vec<u8> {
        let mut out = Vec::new();
        put_bytes(&mut out, 1, key);
        put_bytes(&mut out, 2, value);
        if let Some(leaf) = leaf {
            out.extend(field(3, &leaf_bytes(leaf)));
        }
        out
    }

    fn exist_bytes(p: &ExistenceProof) -> Vec<u8> {
        let mut out = key_value_leaf(&p.key, &p.value, p.leaf.as_ref());
        for op in &p.path {
            out.extend(field(4, &inner_bytes(op)));
        }
        out
    }

    fn non_exist_bytes(p: &NonExistenceProof) -> Vec<u8> {
        let mut out = Vec::new();
        put_bytes(&mut out, 1, &p.key);
        for (number, side) in [(2, &p.left), (3, &p.right)] {
            if let Some(side) = side {
                out.extend(field(number, &exist_bytes(side)));
            }
        }
        out
    }

    /// A compressed existence proof, its path packed or (`packed` false) one index a field.
    fn compressed_exist_bytes(p: &CompressedExistenceProof, packed: bool) -> Vec<u8> {
        let mut out = key_value_leaf(&p.key, &p.value, p.leaf.as_ref());
        let indices = p.path.iter().map(|&i| u64::try_from(i).unwrap());
        if packed {
            let mut body = Vec::new();
            indices.for_each(|i| crate::cometbft::proto::put_varint(&mut body, i));
            out.extend(field(4, &body));
        } else {
            // put_uint leaves a zero out, as proto3 would not for a repeated field.
            for i in indices {
                crate::cometbft::proto::put_varint(&mut out, 4 << 3);
                crate::cometbft::proto::put_varint(&mut out, i);
            }
        }
        out
    }

    fn leaf() -> LeafOp {
        LeafOp {
            hash: HashOp::SHA256,
            prehash_key: HashOp::KECCAK256,
            prehash_value: HashOp::SHA512,
            length: LengthOp::VAR_PROTO,
            prefix: vec![0, 2, 4],
        }
    }

    fn inner(byte: u8) -> InnerOp {
        InnerOp {
            hash: HashOp::BLAKE3,
            prefix: vec![1, byte],
            suffix: vec![byte; 32],
        }
    }

    fn exist(key: &[u8]) -> ExistenceProof {
        ExistenceProof {
            key: key.to_vec(),
            value: [b"value of ", key].concat(),
            leaf: Some(leaf()),
            path: vec![inner(1), inner(2)],
        }
    }

    fn compressed(key: &[u8], path: Vec<i32>) -> CompressedExistenceProof {
        CompressedExistenceProof {
            key: key.to_vec(),
            value: [b"value of ", key].concat(),
            leaf: Some(leaf()),
            path,
        }
    }

    #[test]
    fn every_proof_kind_decodes_to_what_was_encoded() {
        let one = exist(b"a");
        assert_eq!(
            commitment_proof(&field(1, &exist_bytes(&one))).unwrap(),
            CommitmentProof::Exist(one.clone())
        );

        let non = NonExistenceProof {
            key: b"b".to_vec(),
            left: Some(one.clone()),
            right: Some(exist(b"c")),
        };
        assert_eq!(
            commitment_proof(&field(2, &non_exist_bytes(&non))).unwrap(),
            CommitmentProof::Nonexist(non.clone())
        );

        let mut batch = field(1, &field(1, &exist_bytes(&one)));
        batch.extend(field(1, &field(2, &non_exist_bytes(&non))));
        assert_eq!(
            commitment_proof(&field(3, &batch)).unwrap(),
            CommitmentProof::Batch(vec![BatchEntry::Exist(one), BatchEntry::Nonexist(non)])
        );

        let member = compressed(b"a", vec![1, 0]);
        let absent = CompressedNonExistenceProof {
            key: b"b".to_vec(),
            left: Some(compressed(b"a", vec![0, 1])),
            right: Some(compressed(b"c", vec![1, 1])),
        };
        let mut absent_bytes = Vec::new();
        put_bytes(&mut absent_bytes, 1, &absent.key);
        let left = absent.left.as_ref().unwrap();
        let right = absent.right.as_ref().unwrap();
        absent_bytes.extend(field(2, &compressed_exist_bytes(left, true)));
        absent_bytes.extend(field(3, &compressed_exist_bytes(right, false)));
        let mut batch = field(1, &field(1, &compressed_exist_bytes(&member, true)));
        batch.extend(field(1, &field(2, &absent_bytes)));
        batch.extend(field(2, &inner_bytes(&inner(1))));
        batch.extend(field(2, &inner_bytes(&inner(2))));
        assert_eq!(
            commitment_proof(&field(4, &batch)).unwrap(),
            CommitmentProof::Compressed {
                entries: vec![
                    CompressedBatchEntry::Exist(member),
                    CompressedBatchEntry::Nonexist(absent),
                ],
                lookup_inners: vec![inner(1), inner(2)],
            }
        );
    }

    /// A proof in the earlier layout: key, value, then one `ProofOp` a step.
    fn legacy(steps: &[Vec<u8>]) -> Vec<u8> {
        let mut out = key_value_leaf(b"a", b"value of a", None);
        for step in steps {
            out.extend(field(3, step));
        }
        out
    }

    #[test]
    fn a_legacy_proof_has_one_leaf_op_and_it_comes_first() {
        let leaf_step = field(1, &leaf_bytes(&leaf()));
        let inner_step = |byte| field(2, &inner_bytes(&inner(byte)));
        assert_eq!(
            legacy_existence_proof(&legacy(&[leaf_step.clone(), inner_step(1), inner_step(2)]))
                .unwrap(),
            exist(b"a")
        );
        let after = Err(err("legacy proof: a leaf op after the first step"));
        assert_eq!(
            legacy_existence_proof(&legacy(&[leaf_step.clone(), leaf_step.clone()])),
            after
        );
        assert_eq!(
            legacy_existence_proof(&legacy(&[
                leaf_step.clone(),
                inner_step(1),
                leaf_step.clone()
            ])),
            after
        );
        assert_eq!(
            legacy_existence_proof(&legacy(&[inner_step(1), leaf_step])),
            Err(err("legacy proof: an inner op before the leaf op"))
        );
    }
}
