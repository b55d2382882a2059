//! Runners for the JSON test data of the `cosmos/ics23` repository (its `testdata/`
//! folder; a copy lives in `vectors/ics23`).
//!
//! Every file has a [`FileKind`], found by [`classify`] from its stem and shape:
//!
//! | kind | shape | check |
//! |---|---|---|
//! | [`FileKind::Proof`] | `{key, value, proof, root}` (hex; `value` empty: non-membership) | the proof computes `root`; membership or non-membership holds under the store's spec |
//! | [`FileKind::Batch`] | `{items: [{key, value}], proof, root}` (`proof` a batch or compressed batch) | every item verifies against the one proof, membership or non-membership by its value |
//! | [`FileKind::Existence`] | `{existence, root}` (hex of a bare `ExistenceProof`) | the proof verifies its own key and value under the spec |
//! | [`FileKind::Unit`] | `Test<Name>Data.json`: named cases (a list for `TestEmptyBranchData`) | each case gives its expected result ([`UnitKind`]) |
//!
//! The spec of proof, batch and existence files comes from the caller: the folder name
//! (`iavl`, `tendermint`, `smt`) says it. Unit files give byte fields in base64, enums as
//! numbers, and missing fields are protobuf defaults.
//!
//! A file of a kind this runner does not know (another `Test*Data` stem, another shape, or a
//! proof kind outside the schema such as upstream's unmerged exclusion proofs) gives
//! [`Status::UnknownKind`]: neither a pass nor a failed verdict.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::{
    calculate_existence_root, check_existence_against_spec, decode, do_hash,
    left_branches_are_empty, right_branches_are_empty, verify_existence, verify_membership,
    verify_non_membership, CommitmentProof, ExistenceProof, HashOp, Ics23Error, InnerOp, InnerSpec,
    LeafOp, LengthOp, ProofSpec,
};

/// Why a file or a case did not give its expected result.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VectorError {
    /// A field is missing or malformed.
    #[error("field {field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The library refused what the file says must be accepted.
    #[error("refused: {0}")]
    Refused(Ics23Error),
    /// The library accepted what the file says must be refused.
    #[error("accepted, but the vector expects a refusal")]
    Accepted,
    /// The library computed another value than the file expects.
    #[error("got {got}, expected {expected}")]
    Mismatch {
        /// What the library computed (hex, or a predicate's value).
        got: String,
        /// What the file expects.
        expected: String,
    },
    /// A proof, batch or existence file, but no spec to check it against.
    #[error("no proof spec for this folder (iavl, tendermint or smt)")]
    NoSpec,
    /// A batch file lists no items.
    #[error("batch file lists no items")]
    NoItems,
}

fn field_err(field: &'static str, reason: impl ToString) -> VectorError {
    VectorError::Field {
        field,
        reason: reason.to_string(),
    }
}

/// How a file's result compares with what it expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The file gave its expected result.
    Agrees,
    /// It did not.
    Disagrees,
    /// The runner does not know this kind of file: no verdict.
    UnknownKind,
}

/// What a file expects and what was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ics23Outcome {
    /// Expected.
    pub expected: String,
    /// Obtained.
    pub got: String,
    /// Whether they agree, or the kind is unknown.
    pub status: Status,
}

impl Ics23Outcome {
    /// Whether the file gave its expected result.
    pub fn passed(&self) -> bool {
        self.status == Status::Agrees
    }

    /// Whether the runner does not know this kind of file (neither passed nor failed).
    pub fn is_unknown_kind(&self) -> bool {
        self.status == Status::UnknownKind
    }

    fn compared(expected: String, got: Result<String, VectorError>) -> Self {
        match got {
            Ok(got) => Self {
                status: if got == expected {
                    Status::Agrees
                } else {
                    Status::Disagrees
                },
                expected,
                got,
            },
            Err(VectorError::Refused(Ics23Error::UnsupportedProofKind { message, field })) => {
                Self::unknown(format!("proof in {message} field {field}"))
            }
            Err(e) => Self {
                expected,
                got: format!("error: {e}"),
                status: Status::Disagrees,
            },
        }
    }

    fn unknown(what: String) -> Self {
        Self {
            expected: "a known kind".into(),
            got: format!("unknown kind: {what}"),
            status: Status::UnknownKind,
        }
    }
}

/// The kinds of unit file upstream has, by file stem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitKind {
    /// `TestLeafOpData`: `Op`, `Key`, `Value`, `IsErr`, `Expected`.
    LeafOp,
    /// `TestInnerOpData`: `Op`, `Child`, `IsErr`, `Expected`.
    InnerOp,
    /// `TestDoHashData`: `HashOp`, `Preimage` (text; one case spells it `PreImage`),
    /// `ExpectedHash` (hex).
    DoHash,
    /// `TestExistenceProofData`: `Proof`, `IsErr`, `Expected` (the computed root).
    ExistenceProof,
    /// `TestCheckLeafData`: `Leaf` (a leaf op), `Spec` (a leaf op: the spec's leaf spec),
    /// `IsErr`.
    CheckLeaf,
    /// `TestCheckAgainstSpecData`: `Proof`, `Spec`, and `Err` (a Go error message, empty
    /// when the check passes) or, in older files, `IsErr`.
    CheckAgainstSpec,
    /// `TestEmptyBranchData` (a list): `Op`, `Spec`, `IsLeft`, `IsRight`.
    EmptyBranch,
}

impl UnitKind {
    /// Every kind.
    pub const ALL: [Self; 7] = [
        Self::LeafOp,
        Self::InnerOp,
        Self::DoHash,
        Self::ExistenceProof,
        Self::CheckLeaf,
        Self::CheckAgainstSpec,
        Self::EmptyBranch,
    ];

    /// The file stem upstream uses.
    pub fn stem(self) -> &'static str {
        match self {
            Self::LeafOp => "TestLeafOpData",
            Self::InnerOp => "TestInnerOpData",
            Self::DoHash => "TestDoHashData",
            Self::ExistenceProof => "TestExistenceProofData",
            Self::CheckLeaf => "TestCheckLeafData",
            Self::CheckAgainstSpec => "TestCheckAgainstSpecData",
            Self::EmptyBranch => "TestEmptyBranchData",
        }
    }

    /// The kind of a file stem.
    pub fn from_stem(stem: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.stem() == stem)
    }
}

/// What kind of vector file a file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// One proof of one key.
    Proof,
    /// One (batch or compressed) proof of many items.
    Batch,
    /// A bare existence proof and its root.
    Existence,
    /// Unit cases of one building block.
    Unit(UnitKind),
}

/// The kind of a file from its stem and shape; `Err` says what is unknown about it.
pub fn classify(stem: &str, value: &Value) -> Result<FileKind, String> {
    if stem.starts_with("Test") && stem.ends_with("Data") {
        return UnitKind::from_stem(stem)
            .map(FileKind::Unit)
            .ok_or_else(|| format!("unit file {stem}"));
    }
    let Some(map) = value.as_object() else {
        return Err("a file that is not a JSON object".into());
    };
    let has = |k: &str| map.contains_key(k);
    if has("items") && has("proof") && has("root") {
        Ok(FileKind::Batch)
    } else if has("existence") && has("root") {
        Ok(FileKind::Existence)
    } else if has("key") && has("proof") && has("root") {
        Ok(FileKind::Proof)
    } else {
        let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
        keys.sort_unstable();
        Err(format!("a file with members [{}]", keys.join(", ")))
    }
}

fn hex_field(field: &'static str, text: &str) -> Result<Vec<u8>, VectorError> {
    hex::decode(text).map_err(|e| field_err(field, format!("bad hex: {e}")))
}

fn decode_proof(text: &str) -> Result<CommitmentProof, VectorError> {
    decode::commitment_proof(&hex_field("proof", text)?).map_err(VectorError::Refused)
}

/// A proof file.
#[derive(Deserialize, Clone, Debug)]
pub struct ProofFile {
    /// Hex key.
    pub key: String,
    /// Hex value; empty for a non-membership proof.
    #[serde(default)]
    pub value: String,
    /// Hex of the protobuf `CommitmentProof`.
    pub proof: String,
    /// Hex root.
    pub root: String,
}

/// The decoded parts of a proof file.
#[derive(Clone, Debug)]
pub struct DecodedProofFile {
    /// Key.
    pub key: Vec<u8>,
    /// Value (empty: non-membership).
    pub value: Vec<u8>,
    /// The proof.
    pub proof: CommitmentProof,
    /// Root.
    pub root: Vec<u8>,
}

impl ProofFile {
    /// Decodes the hex fields and the proof.
    pub fn decode(&self) -> Result<DecodedProofFile, VectorError> {
        Ok(DecodedProofFile {
            key: hex_field("key", &self.key)?,
            value: hex_field("value", &self.value)?,
            proof: decode_proof(&self.proof)?,
            root: hex_field("root", &self.root)?,
        })
    }
}

impl DecodedProofFile {
    /// Verifies the proof as the file says: the computed root is `root`, and membership
    /// (or non-membership, for an empty value) holds under `spec`.
    pub fn verify(&self, spec: &ProofSpec) -> Result<(), VectorError> {
        let computed = match &self.proof {
            CommitmentProof::Exist(e) => Some(calculate_existence_root(e, None)),
            CommitmentProof::Nonexist(n) => Some(
                n.left
                    .as_ref()
                    .or(n.right.as_ref())
                    .map(|e| calculate_existence_root(e, None))
                    .unwrap_or(Err(Ics23Error::Neighbours("both neighbours missing"))),
            ),
            // A batch holds proofs of several keys; verification below checks the one for
            // this key against the root.
            CommitmentProof::Batch(_) | CommitmentProof::Compressed { .. } => None,
        };
        if let Some(computed) = computed {
            let computed = computed.map_err(VectorError::Refused)?;
            if computed != self.root {
                return Err(VectorError::Refused(Ics23Error::RootMismatch {
                    expected: hex::encode(&self.root),
                    got: hex::encode(computed),
                }));
            }
        }
        verify_item(spec, &self.root, &self.proof, &self.key, &self.value)
    }
}

/// Membership of `key` with `value` under `root`, or non-membership for an empty value.
fn verify_item(
    spec: &ProofSpec,
    root: &[u8],
    proof: &CommitmentProof,
    key: &[u8],
    value: &[u8],
) -> Result<(), VectorError> {
    if value.is_empty() {
        verify_non_membership(spec, root, proof, key)
    } else {
        verify_membership(spec, root, proof, key, value)
    }
    .map_err(VectorError::Refused)
}

fn membership_label(value: &str) -> &'static str {
    if value.is_empty() {
        "non-membership verified"
    } else {
        "membership verified"
    }
}

/// Runs a proof file under `spec` (`None`: the spec is unknown, the file fails).
pub fn run_proof_file(value: &Value, spec: Option<&ProofSpec>) -> Ics23Outcome {
    let file: ProofFile = match ProofFile::deserialize(value) {
        Ok(f) => f,
        Err(e) => return Ics23Outcome::compared("a proof file".into(), Err(field_err("file", e))),
    };
    let expected = membership_label(&file.value);
    let got = spec
        .ok_or(VectorError::NoSpec)
        .and_then(|spec| file.decode()?.verify(spec))
        .map(|()| expected.to_owned());
    Ics23Outcome::compared(expected.into(), got)
}

/// A batch file: one proof for every item.
#[derive(Deserialize, Clone, Debug)]
pub struct BatchFile {
    /// The keys and values (empty value: non-membership), hex.
    pub items: Vec<BatchItem>,
    /// Hex of the protobuf `CommitmentProof` (batch or compressed batch).
    pub proof: String,
    /// Hex root.
    pub root: String,
}

/// One item of a batch file.
#[derive(Deserialize, Clone, Debug)]
pub struct BatchItem {
    /// Hex key.
    pub key: String,
    /// Hex value; empty for non-membership.
    #[serde(default)]
    pub value: String,
}

impl BatchFile {
    /// Verifies every item against the proof and root under `spec`.
    pub fn verify(&self, spec: &ProofSpec) -> Result<usize, VectorError> {
        if self.items.is_empty() {
            return Err(VectorError::NoItems);
        }
        let proof = decode_proof(&self.proof)?;
        let root = hex_field("root", &self.root)?;
        for item in &self.items {
            let key = hex_field("items.key", &item.key)?;
            let value = hex_field("items.value", &item.value)?;
            verify_item(spec, &root, &proof, &key, &value)?;
        }
        Ok(self.items.len())
    }
}

/// Runs a batch file under `spec`.
pub fn run_batch_file(value: &Value, spec: Option<&ProofSpec>) -> Ics23Outcome {
    let file: BatchFile = match BatchFile::deserialize(value) {
        Ok(f) => f,
        Err(e) => return Ics23Outcome::compared("a batch file".into(), Err(field_err("file", e))),
    };
    let expected = format!("{} items verified", file.items.len());
    let got = spec
        .ok_or(VectorError::NoSpec)
        .and_then(|spec| file.verify(spec))
        .map(|n| format!("{n} items verified"));
    Ics23Outcome::compared(expected, got)
}

/// An existence file: a bare `ExistenceProof` and the root it must reach.
#[derive(Deserialize, Clone, Debug)]
pub struct ExistenceFile {
    /// Hex of the protobuf `ExistenceProof`.
    pub existence: String,
    /// Hex root.
    pub root: String,
}

impl ExistenceFile {
    /// Verifies the proof for its own key and value under `spec`. Upstream's files use the
    /// layout of its earlier schema ([`decode::legacy_existence_proof`]); the current one is
    /// tried first. Either way every hash is recomputed, so trying both cannot make a false
    /// proof verify.
    pub fn verify(&self, spec: &ProofSpec) -> Result<(), VectorError> {
        let bytes = hex_field("existence", &self.existence)?;
        let root = hex_field("root", &self.root)?;
        let check = |proof: ExistenceProof| {
            verify_existence(&proof, spec, &root, &proof.key, &proof.value)
                .map_err(VectorError::Refused)
        };
        match decode::existence_proof(&bytes) {
            Ok(proof) => check(proof),
            Err(current) => match decode::legacy_existence_proof(&bytes) {
                Ok(proof) => check(proof),
                Err(_) => Err(VectorError::Refused(current)),
            },
        }
    }
}

/// Runs an existence file under `spec`.
pub fn run_existence_file(value: &Value, spec: Option<&ProofSpec>) -> Ics23Outcome {
    let expected = "existence verified";
    let got = ExistenceFile::deserialize(value)
        .map_err(|e| field_err("file", e))
        .and_then(|file| file.verify(spec.ok_or(VectorError::NoSpec)?))
        .map(|()| expected.to_owned());
    Ics23Outcome::compared(expected.into(), got)
}

fn b64(s: &Option<String>) -> Result<Vec<u8>, String> {
    match s {
        None => Ok(Vec::new()),
        Some(s) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| format!("bad base64: {e}")),
    }
}

/// A `LeafOp` in the JSON test data.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct JsonLeafOp {
    #[serde(default)]
    hash: i32,
    #[serde(default)]
    prehash_key: i32,
    #[serde(default)]
    prehash_value: i32,
    #[serde(default)]
    length: i32,
    #[serde(default)]
    prefix: Option<String>,
}

impl JsonLeafOp {
    fn to_op(&self) -> Result<LeafOp, String> {
        Ok(LeafOp {
            hash: HashOp(self.hash),
            prehash_key: HashOp(self.prehash_key),
            prehash_value: HashOp(self.prehash_value),
            length: LengthOp(self.length),
            prefix: b64(&self.prefix)?,
        })
    }
}

/// An `InnerOp` in the JSON test data.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct JsonInnerOp {
    #[serde(default)]
    hash: i32,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    suffix: Option<String>,
}

impl JsonInnerOp {
    fn to_op(&self) -> Result<InnerOp, String> {
        Ok(InnerOp {
            hash: HashOp(self.hash),
            prefix: b64(&self.prefix)?,
            suffix: b64(&self.suffix)?,
        })
    }
}

#[derive(Deserialize, Clone, Debug, Default)]
struct JsonExistenceProof {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    leaf: Option<JsonLeafOp>,
    #[serde(default)]
    path: Vec<JsonInnerOp>,
}

impl JsonExistenceProof {
    fn to_proof(&self) -> Result<ExistenceProof, String> {
        Ok(ExistenceProof {
            key: b64(&self.key)?,
            value: b64(&self.value)?,
            leaf: self.leaf.as_ref().map(JsonLeafOp::to_op).transpose()?,
            path: self
                .path
                .iter()
                .map(JsonInnerOp::to_op)
                .collect::<Result<_, _>>()?,
        })
    }
}

#[derive(Deserialize, Clone, Debug, Default)]
struct JsonInnerSpec {
    #[serde(default)]
    child_order: Vec<i32>,
    #[serde(default)]
    child_size: i32,
    #[serde(default)]
    min_prefix_length: i32,
    #[serde(default)]
    max_prefix_length: i32,
    #[serde(default)]
    empty_child: Option<String>,
    #[serde(default)]
    hash: i32,
}

#[derive(Deserialize, Clone, Debug, Default)]
struct JsonSpec {
    #[serde(default)]
    leaf_spec: Option<JsonLeafOp>,
    #[serde(default)]
    inner_spec: Option<JsonInnerSpec>,
    #[serde(default)]
    max_depth: i32,
    #[serde(default)]
    min_depth: i32,
    #[serde(default)]
    prehash_key_before_comparison: bool,
}

impl JsonSpec {
    fn to_spec(&self) -> Result<ProofSpec, String> {
        Ok(ProofSpec {
            leaf_spec: self.leaf_spec.as_ref().map(JsonLeafOp::to_op).transpose()?,
            inner_spec: self
                .inner_spec
                .as_ref()
                .map(|i| {
                    Ok::<_, String>(InnerSpec {
                        child_order: i.child_order.clone(),
                        child_size: i.child_size,
                        min_prefix_length: i.min_prefix_length,
                        max_prefix_length: i.max_prefix_length,
                        empty_child: b64(&i.empty_child)?,
                        hash: HashOp(i.hash),
                    })
                })
                .transpose()?,
            max_depth: self.max_depth,
            min_depth: self.min_depth,
            prehash_key_before_comparison: self.prehash_key_before_comparison,
        })
    }
}

/// The member `name` of a case, ignoring case (one upstream case spells `PreImage`).
fn member<'a>(case: &'a Value, name: &str) -> Option<&'a Value> {
    case.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn parse<T: for<'de> Deserialize<'de>>(case: &Value, name: &'static str) -> Result<T, VectorError> {
    T::deserialize(member(case, name).unwrap_or(&Value::Null)).map_err(|e| field_err(name, e))
}

fn flag(case: &Value, name: &'static str) -> Result<bool, VectorError> {
    Ok(parse::<Option<bool>>(case, name)?.unwrap_or(false))
}

/// `Ok(())` when `result` is what the case expects: an error when `IsErr`, else the bytes
/// of `Expected`.
fn expect_bytes(case: &Value, result: Result<Vec<u8>, Ics23Error>) -> Result<(), VectorError> {
    match (result, flag(case, "IsErr")?) {
        (Err(_), true) => Ok(()),
        (Ok(_), true) => Err(VectorError::Accepted),
        (Err(e), false) => Err(VectorError::Refused(e)),
        (Ok(got), false) => {
            let want = b64(&parse(case, "Expected")?).map_err(|e| field_err("Expected", e))?;
            if got == want {
                Ok(())
            } else {
                Err(VectorError::Mismatch {
                    got: hex::encode(got),
                    expected: hex::encode(want),
                })
            }
        }
    }
}

/// `Ok(())` when a check's `result` is what the case expects (`want_ok`).
fn expect_check(result: Result<(), Ics23Error>, want_ok: bool) -> Result<(), VectorError> {
    match (result, want_ok) {
        (Ok(()), true) | (Err(_), false) => Ok(()),
        (Ok(()), false) => Err(VectorError::Accepted),
        (Err(e), true) => Err(VectorError::Refused(e)),
    }
}

fn bytes_of(case: &Value, name: &'static str) -> Result<Vec<u8>, VectorError> {
    b64(&parse(case, name)?).map_err(|e| field_err(name, e))
}

fn leaf_of(case: &Value, name: &'static str) -> Result<LeafOp, VectorError> {
    parse::<JsonLeafOp>(case, name)?
        .to_op()
        .map_err(|e| field_err(name, e))
}

fn spec_of(case: &Value) -> Result<ProofSpec, VectorError> {
    parse::<JsonSpec>(case, "Spec")?
        .to_spec()
        .map_err(|e| field_err("Spec", e))
}

fn existence_of(case: &Value) -> Result<ExistenceProof, VectorError> {
    parse::<JsonExistenceProof>(case, "Proof")?
        .to_proof()
        .map_err(|e| field_err("Proof", e))
}

/// Runs one case of a unit file of `kind`: `Ok(())` when it gives its expected result.
pub fn run_unit_case(kind: UnitKind, case: &Value) -> Result<(), VectorError> {
    match kind {
        UnitKind::LeafOp => {
            let op = leaf_of(case, "Op")?;
            let (key, value) = (bytes_of(case, "Key")?, bytes_of(case, "Value")?);
            expect_bytes(case, op.apply(&key, &value))
        }
        UnitKind::InnerOp => {
            let op = parse::<JsonInnerOp>(case, "Op")?
                .to_op()
                .map_err(|e| field_err("Op", e))?;
            expect_bytes(case, op.apply(&bytes_of(case, "Child")?))
        }
        UnitKind::DoHash => {
            let op = HashOp(parse(case, "HashOp")?);
            let preimage: String = parse(case, "Preimage")?;
            let want: String = parse(case, "ExpectedHash")?;
            let got = hex::encode(do_hash(op, preimage.as_bytes()).map_err(VectorError::Refused)?);
            if got == want.to_lowercase() {
                Ok(())
            } else {
                Err(VectorError::Mismatch {
                    got,
                    expected: want,
                })
            }
        }
        UnitKind::ExistenceProof => {
            expect_bytes(case, calculate_existence_root(&existence_of(case)?, None))
        }
        UnitKind::CheckLeaf => {
            let leaf = leaf_of(case, "Leaf")?;
            let spec = ProofSpec {
                leaf_spec: Some(leaf_of(case, "Spec")?),
                ..ProofSpec::default()
            };
            expect_check(leaf.check_against_spec(&spec), !flag(case, "IsErr")?)
        }
        UnitKind::CheckAgainstSpec => {
            let proof = existence_of(case)?;
            let spec = spec_of(case)?;
            let want_ok = match member(case, "Err") {
                Some(_) => parse::<Option<String>>(case, "Err")?
                    .unwrap_or_default()
                    .is_empty(),
                None => !flag(case, "IsErr")?,
            };
            expect_check(check_existence_against_spec(&proof, &spec), want_ok)
        }
        UnitKind::EmptyBranch => {
            let op = parse::<JsonInnerOp>(case, "Op")?
                .to_op()
                .map_err(|e| field_err("Op", e))?;
            let spec = spec_of(case)?;
            op.check_against_spec(&spec, 1)
                .map_err(VectorError::Refused)?;
            let inner = spec
                .inner_spec
                .ok_or_else(|| field_err("Spec", "no inner_spec"))?;
            let want = (flag(case, "IsLeft")?, flag(case, "IsRight")?);
            let got = (
                left_branches_are_empty(&inner, &op),
                right_branches_are_empty(&inner, &op),
            );
            if got == want {
                Ok(())
            } else {
                Err(VectorError::Mismatch {
                    got: format!("left/right empty {got:?}"),
                    expected: format!("left/right empty {want:?}"),
                })
            }
        }
    }
}

/// The cases of a unit file (an object of named cases, or a list), with their names.
pub fn unit_cases(value: &Value) -> Vec<(String, &Value)> {
    match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(list) => list
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("case {i}"), v))
            .collect(),
        _ => Vec::new(),
    }
}

/// Runs every case of a unit file: expected `N cases pass`, got how many did (and the
/// first failure).
pub fn run_unit_file(kind: UnitKind, value: &Value) -> Ics23Outcome {
    let cases = unit_cases(value);
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, case)| {
            run_unit_case(kind, case)
                .err()
                .map(|e| format!("{name}: {e}"))
        })
        .collect();
    let n = cases.len();
    let expected = format!("{n} cases pass");
    let got = match failures.first() {
        None => expected.clone(),
        Some(first) => format!(
            "{} cases pass, first failure {first}",
            n.saturating_sub(failures.len())
        ),
    };
    Ics23Outcome::compared(expected, Ok(got))
}

/// Runs any ICS-23 vector file: `stem` is its file stem, `spec` the store's spec for proof,
/// batch and existence files. A kind [`classify`] does not know gives
/// [`Status::UnknownKind`].
pub fn run_file(stem: &str, value: &Value, spec: Option<&ProofSpec>) -> Ics23Outcome {
    match classify(stem, value) {
        Ok(FileKind::Unit(kind)) => run_unit_file(kind, value),
        Ok(FileKind::Proof) => run_proof_file(value, spec),
        Ok(FileKind::Batch) => run_batch_file(value, spec),
        Ok(FileKind::Existence) => run_existence_file(value, spec),
        Err(what) => Ics23Outcome::unknown(what),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ics23::{tendermint_spec, CompressedLimit};

    fn field(number: u64, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let number = u32::try_from(number).unwrap();
        crate::cometbft::proto::put_message(&mut out, number, body);
        out
    }

    fn b64e(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// The tendermint leaf op, protobuf-encoded.
    fn leaf_bytes() -> Vec<u8> {
        let mut op = vec![0x08, 0x01, 0x18, 0x01, 0x20, 0x01];
        op.extend(field(5, &[0]));
        op
    }

    fn inner_bytes(op: &InnerOp) -> Vec<u8> {
        let mut out = vec![0x08, 0x01];
        out.extend(field(2, &op.prefix));
        if !op.suffix.is_empty() {
            out.extend(field(3, &op.suffix));
        }
        out
    }

    /// A two-leaf CometBFT tree over `a = 1`, `b = 2`: the root and each leaf's inner op.
    fn tree() -> (Vec<u8>, InnerOp, InnerOp) {
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
        (left.apply(&ha).unwrap(), left, right)
    }

    /// A compressed batch proving `a` and `b` with `depth` copies of their inner op each.
    fn compressed_batch(depth: usize) -> Vec<u8> {
        let (_, left, right) = tree();
        let mut batch = Vec::new();
        for (key, value, index) in [(b"a", b"1", 0u8), (b"b", b"2", 1)] {
            let mut exist = field(1, key);
            exist.extend(field(2, value));
            exist.extend(field(3, &leaf_bytes()));
            exist.extend(field(4, &vec![index; depth]));
            batch.extend(field(1, &field(1, &exist)));
        }
        batch.extend(field(2, &inner_bytes(&left)));
        batch.extend(field(2, &inner_bytes(&right)));
        field(4, &batch)
    }

    fn batch_json(proof: &[u8], root: &[u8], b_value: &str) -> Value {
        json!({
            "items": [{"key": "61", "value": "31"}, {"key": "62", "value": b_value}],
            "proof": hex::encode(proof),
            "root": hex::encode(root),
        })
    }

    #[test]
    fn files_are_classified_by_stem_and_shape() {
        for kind in UnitKind::ALL {
            assert_eq!(classify(kind.stem(), &json!({})), Ok(FileKind::Unit(kind)));
        }
        let batch = json!({"items": [], "proof": "", "root": ""});
        assert_eq!(classify("batch_exist", &batch), Ok(FileKind::Batch));
        let existence = json!({"existence": "", "root": ""});
        assert_eq!(classify("existence1", &existence), Ok(FileKind::Existence));
        let proof = json!({"key": "", "value": "", "proof": "", "root": ""});
        assert_eq!(classify("exist_left", &proof), Ok(FileKind::Proof));
        assert_eq!(
            classify("TestNewThingData", &json!({})),
            Err("unit file TestNewThingData".to_owned())
        );
        assert_eq!(
            classify("other", &json!({"root": "", "leaves": []})),
            Err("a file with members [leaves, root]".to_owned())
        );
        let outcome = run_file("TestNewThingData", &json!({}), None);
        assert_eq!(outcome.status, Status::UnknownKind);
        assert!(!outcome.passed() && outcome.is_unknown_kind());
        assert_eq!(outcome.got, "unknown kind: unit file TestNewThingData");
    }

    #[test]
    fn check_leaf_cases() {
        let ok = json!({"Leaf": {"hash": 2, "prehash_value": 1, "length": 1, "prefix": "AAE="},
                        "Spec": {"hash": 2, "prehash_value": 1, "length": 1, "prefix": "AA=="},
                        "IsErr": false});
        run_unit_case(UnitKind::CheckLeaf, &ok).unwrap();
        let refused = json!({"Leaf": {"hash": 1}, "Spec": {}, "IsErr": false});
        assert!(matches!(
            run_unit_case(UnitKind::CheckLeaf, &refused),
            Err(VectorError::Refused(Ics23Error::Spec(_)))
        ));
        let accepted = json!({"Leaf": {"prefix": "qrs="}, "Spec": {}, "IsErr": true});
        assert_eq!(
            run_unit_case(UnitKind::CheckLeaf, &accepted),
            Err(VectorError::Accepted)
        );
        let file = json!({"a": ok, "b": accepted});
        let outcome = run_file("TestCheckLeafData", &file, None);
        assert_eq!(outcome.status, Status::Disagrees);
        assert_eq!(
            outcome.got,
            "1 cases pass, first failure b: accepted, but the vector expects a refusal"
        );
    }

    #[test]
    fn check_against_spec_reads_err_or_the_older_is_err() {
        let spec = json!({"leaf_spec": {"hash": 1}});
        let proof = json!({"key": "YQ==", "value": "MQ==", "leaf": {"hash": 1}});
        for case in [
            json!({"Proof": proof, "Spec": spec, "Err": ""}),
            json!({"Proof": proof, "Spec": spec, "IsErr": false}),
        ] {
            run_unit_case(UnitKind::CheckAgainstSpec, &case).unwrap();
        }
        for case in [
            json!({"Proof": proof, "Spec": spec, "Err": "some Go message"}),
            json!({"Proof": proof, "Spec": spec, "IsErr": true}),
        ] {
            assert_eq!(
                run_unit_case(UnitKind::CheckAgainstSpec, &case),
                Err(VectorError::Accepted)
            );
        }
    }

    #[test]
    fn leaf_op_mismatch_names_both_hashes() {
        let case = json!({"Op": {"hash": 1}, "Key": b64e(b"foo"), "Value": b64e(b"bar"),
                          "Expected": b64e(&[0; 32])});
        let Err(VectorError::Mismatch { got, expected }) = run_unit_case(UnitKind::LeafOp, &case)
        else {
            panic!("expected a mismatch")
        };
        // echo -n foobar | sha256sum
        assert_eq!(
            got,
            "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"
        );
        assert_eq!(expected, "00".repeat(32));
    }

    #[test]
    fn batch_files_verify_every_item() {
        let (root, ..) = tree();
        let spec = tendermint_spec();
        let outcome = run_file(
            "batch_exist",
            &batch_json(&compressed_batch(1), &root, "32"),
            Some(&spec),
        );
        assert!(outcome.passed(), "{outcome:?}");
        assert_eq!(outcome.got, "2 items verified");

        let wrong: BatchFile =
            serde_json::from_value(batch_json(&compressed_batch(1), &root, "33")).unwrap();
        assert!(matches!(
            wrong.verify(&spec),
            Err(VectorError::Refused(Ics23Error::Mismatch("value")))
        ));
        let other_root: BatchFile =
            serde_json::from_value(batch_json(&compressed_batch(1), &[7; 32], "32")).unwrap();
        assert!(matches!(
            other_root.verify(&spec),
            Err(VectorError::Refused(Ics23Error::RootMismatch { .. }))
        ));
        // Paths deeper than the spec allows are refused before expansion.
        let deep: BatchFile =
            serde_json::from_value(batch_json(&compressed_batch(129), &root, "32")).unwrap();
        let Err(VectorError::Refused(Ics23Error::CompressedTooLarge { limit, got, max })) =
            deep.verify(&spec)
        else {
            panic!("expected CompressedTooLarge")
        };
        assert_eq!((limit, got, max), (CompressedLimit::PathLength, 129, 128));
        let empty: BatchFile =
            serde_json::from_value(json!({"items": [], "proof": "", "root": ""})).unwrap();
        assert_eq!(empty.verify(&spec), Err(VectorError::NoItems));
        let outcome = run_file(
            "batch_exist",
            &batch_json(&compressed_batch(1), &root, "32"),
            None,
        );
        assert_eq!(
            (outcome.status, outcome.got.as_str()),
            (
                Status::Disagrees,
                "error: no proof spec for this folder (iavl, tendermint or smt)"
            )
        );
    }

    #[test]
    fn existence_files_in_either_layout_verify() {
        let (root, left, _) = tree();
        let spec = tendermint_spec();
        // The earlier layout: steps = 3, each a ProofOp { leaf = 1 | inner = 2 }.
        let mut legacy = field(1, b"a");
        legacy.extend(field(2, b"1"));
        legacy.extend(field(3, &field(1, &leaf_bytes())));
        legacy.extend(field(3, &field(2, &inner_bytes(&left))));
        // The current layout: leaf = 3, path = 4.
        let mut current = field(1, b"a");
        current.extend(field(2, b"1"));
        current.extend(field(3, &leaf_bytes()));
        current.extend(field(4, &inner_bytes(&left)));
        for bytes in [&legacy, &current] {
            let file = json!({"existence": hex::encode(bytes), "root": hex::encode(&root)});
            let outcome = run_file("existence1", &file, Some(&spec));
            assert!(outcome.passed(), "{outcome:?}");
            let file = ExistenceFile {
                existence: hex::encode(bytes),
                root: hex::encode([7; 32]),
            };
            assert!(matches!(
                file.verify(&spec),
                Err(VectorError::Refused(Ics23Error::RootMismatch { .. }))
            ));
        }
        // An inner op before the leaf is not a proof in the earlier layout.
        let mut bad = field(1, b"a");
        bad.extend(field(3, &field(2, &inner_bytes(&left))));
        assert!(matches!(
            decode::legacy_existence_proof(&bad),
            Err(Ics23Error::Decode(_))
        ));
    }

    #[test]
    fn proofs_outside_the_schema_are_an_unknown_kind() {
        let spec = tendermint_spec();
        // CommitmentProof field 5 (an exclusion proof of upstream's unmerged branch).
        let exclusion = field(5, &field(1, b"k"));
        let file =
            json!({"key": "6b", "value": "", "proof": hex::encode(&exclusion), "root": "00"});
        let outcome = run_file("exclusion", &file, Some(&spec));
        assert_eq!(outcome.status, Status::UnknownKind);
        assert_eq!(
            outcome.got,
            "unknown kind: proof in CommitmentProof field 5"
        );
        // A batch entry field 3.
        let batch = field(3, &field(1, &field(3, &field(1, b"k"))));
        let file = json!({"items": [{"key": "6b", "value": ""}], "proof": hex::encode(&batch),
                          "root": "00"});
        let outcome = run_file("batch_exclusion", &file, Some(&spec));
        assert_eq!(outcome.got, "unknown kind: proof in BatchEntry field 3");
        // A proof with nothing in it at all is broken, not unknown.
        let file = json!({"key": "6b", "value": "", "proof": "", "root": "00"});
        let outcome = run_file("exist_left", &file, Some(&spec));
        assert_eq!(outcome.status, Status::Disagrees);
        assert_eq!(
            outcome.got,
            "error: refused: proof does not decode: no proof in the commitment proof"
        );
    }
}
