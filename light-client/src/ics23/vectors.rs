//! Runners for the JSON test data of the `cosmos/ics23` repository (`vectors/ics23`).
//!
//! - Proof files `{key, value, proof, root}` (hex; `value` empty for non-membership):
//!   decode the proof, compute its root, then verify membership or non-membership under
//!   the store's spec ([`run_proof_file`]). The spec comes from the caller: the folder
//!   name (`iavl`, `tendermint`, `smt`) says it.
//! - Unit files `Test*Data.json`: each case gives its expected result
//!   ([`run_unit_file`]); their byte fields are base64, enums are numbers, missing fields
//!   are protobuf defaults.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use super::{
    calculate_existence_root, check_existence_against_spec, decode, do_hash,
    left_branches_are_empty, right_branches_are_empty, verify_membership, verify_non_membership,
    CommitmentProof, ExistenceProof, HashOp, InnerOp, InnerSpec, LeafOp, LengthOp, ProofSpec,
};

/// What a file expects and what was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ics23Outcome {
    /// Expected.
    pub expected: String,
    /// Obtained.
    pub got: String,
}

impl Ics23Outcome {
    /// Whether they agree.
    pub fn passed(&self) -> bool {
        self.expected == self.got
    }
}

/// A proof file.
#[derive(Deserialize, Clone, Debug)]
pub struct ProofFile {
    /// Hex key.
    pub key: String,
    /// Hex value; empty for a non-membership proof.
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
    pub fn decode(&self) -> Result<DecodedProofFile, String> {
        let hex = |what: &str, s: &str| hex::decode(s).map_err(|e| format!("{what}: bad hex: {e}"));
        Ok(DecodedProofFile {
            key: hex("key", &self.key)?,
            value: hex("value", &self.value)?,
            proof: decode::commitment_proof(&hex("proof", &self.proof)?)
                .map_err(|e| e.to_string())?,
            root: hex("root", &self.root)?,
        })
    }
}

impl DecodedProofFile {
    /// Verifies the proof as the file says: the computed root is `root`, and membership
    /// (or non-membership, for an empty value) holds under `spec`.
    pub fn verify(&self, spec: &ProofSpec) -> Result<(), String> {
        let computed = match &self.proof {
            CommitmentProof::Exist(e) => calculate_existence_root(e, None),
            CommitmentProof::Nonexist(n) => n
                .left
                .as_ref()
                .or(n.right.as_ref())
                .map(|e| calculate_existence_root(e, None))
                .unwrap_or_else(|| Err(super::Ics23Error::Neighbours("both neighbours missing"))),
            _ => Ok(self.root.clone()),
        }
        .map_err(|e| e.to_string())?;
        if computed != self.root {
            return Err(format!(
                "proof computes root {}, file says {}",
                hex::encode(computed),
                hex::encode(&self.root)
            ));
        }
        if self.value.is_empty() {
            verify_non_membership(spec, &self.root, &self.proof, &self.key)
        } else {
            verify_membership(spec, &self.root, &self.proof, &self.key, &self.value)
        }
        .map_err(|e| e.to_string())
    }
}

/// Runs a proof file under `spec` (`None`: the spec is unknown, the file fails).
pub fn run_proof_file(value: &Value, spec: Option<&ProofSpec>) -> Ics23Outcome {
    let file: ProofFile = match serde_json::from_value(value.clone()) {
        Ok(f) => f,
        Err(e) => {
            return Ics23Outcome {
                expected: "a proof file".into(),
                got: format!("error: {e}"),
            }
        }
    };
    let expected = if file.value.is_empty() {
        "non-membership verified"
    } else {
        "membership verified"
    };
    let got = match spec {
        None => "error: no proof spec for this folder (iavl, tendermint or smt)".to_owned(),
        Some(spec) => match file.decode().and_then(|d| d.verify(spec)) {
            Ok(()) => expected.to_owned(),
            Err(e) => format!("error: {e}"),
        },
    };
    Ics23Outcome {
        expected: expected.into(),
        got,
    }
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

fn parse<T: for<'de> Deserialize<'de>>(case: &Value, name: &str) -> Result<T, String> {
    T::deserialize(member(case, name).unwrap_or(&Value::Null)).map_err(|e| format!("{name}: {e}"))
}

/// Runs one case of a unit file named `kind` (the file stem, e.g. `TestLeafOpData`):
/// `Ok(())` when the case gives its expected result.
pub fn run_unit_case(kind: &str, case: &Value) -> Result<(), String> {
    let is_err = member(case, "IsErr")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let expected_bytes = || b64(&parse::<Option<String>>(case, "Expected")?);
    let compare = |res: Result<Vec<u8>, String>| -> Result<(), String> {
        match (res, is_err) {
            (Err(_), true) => Ok(()),
            (Ok(_), true) => Err("expected an error, got a result".into()),
            (Err(e), false) => Err(format!("unexpected error: {e}")),
            (Ok(got), false) => {
                let want = expected_bytes()?;
                (got == want).then_some(()).ok_or_else(|| {
                    format!("got {}, expected {}", hex::encode(got), hex::encode(want))
                })
            }
        }
    };
    match kind {
        "TestLeafOpData" => {
            let op = parse::<JsonLeafOp>(case, "Op")?.to_op()?;
            let key = b64(&parse(case, "Key")?)?;
            let value = b64(&parse(case, "Value")?)?;
            compare(op.apply(&key, &value).map_err(|e| e.to_string()))
        }
        "TestInnerOpData" => {
            let op = parse::<JsonInnerOp>(case, "Op")?.to_op()?;
            let child = b64(&parse(case, "Child")?)?;
            compare(op.apply(&child).map_err(|e| e.to_string()))
        }
        "TestDoHashData" => {
            let op = HashOp(parse(case, "HashOp")?);
            let preimage: String = parse(case, "Preimage")?;
            let want: String = parse(case, "ExpectedHash")?;
            let got = do_hash(op, preimage.as_bytes()).map_err(|e| e.to_string())?;
            (hex::encode(&got) == want.to_lowercase())
                .then_some(())
                .ok_or_else(|| format!("got {}, expected {want}", hex::encode(got)))
        }
        "TestExistenceProofData" => {
            let proof = parse::<JsonExistenceProof>(case, "Proof")?.to_proof()?;
            compare(calculate_existence_root(&proof, None).map_err(|e| e.to_string()))
        }
        "TestCheckAgainstSpecData" => {
            let proof = parse::<JsonExistenceProof>(case, "Proof")?.to_proof()?;
            let spec = parse::<JsonSpec>(case, "Spec")?.to_spec()?;
            let want_ok = parse::<Option<String>>(case, "Err")?
                .unwrap_or_default()
                .is_empty();
            match (check_existence_against_spec(&proof, &spec), want_ok) {
                (Ok(()), true) | (Err(_), false) => Ok(()),
                (Ok(()), false) => Err("expected the spec check to fail".into()),
                (Err(e), true) => Err(format!("spec check failed: {e}")),
            }
        }
        "TestEmptyBranchData" => {
            let op = parse::<JsonInnerOp>(case, "Op")?.to_op()?;
            let spec = parse::<JsonSpec>(case, "Spec")?.to_spec()?;
            op.check_against_spec(&spec, 1).map_err(|e| e.to_string())?;
            let inner = spec.inner_spec.ok_or("spec has no inner spec")?;
            let left: bool = parse(case, "IsLeft")?;
            let right: bool = parse(case, "IsRight")?;
            let got = (
                left_branches_are_empty(&inner, &op),
                right_branches_are_empty(&inner, &op),
            );
            (got == (left, right)).then_some(()).ok_or_else(|| {
                format!(
                    "left/right empty: got {got:?}, expected {:?}",
                    (left, right)
                )
            })
        }
        other => Err(format!("unknown unit file kind {other}")),
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
pub fn run_unit_file(kind: &str, value: &Value) -> Ics23Outcome {
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
    Ics23Outcome { expected, got }
}

/// Runs any ICS-23 vector file: `stem` is its file stem, `spec` the store's spec for proof
/// files.
pub fn run_file(stem: &str, value: &Value, spec: Option<&ProofSpec>) -> Ics23Outcome {
    if stem.starts_with("Test") && stem.ends_with("Data") {
        run_unit_file(stem, value)
    } else {
        run_proof_file(value, spec)
    }
}
