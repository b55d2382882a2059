//! ICS-23 proofs against the `cosmos/ics23` test data in `../shared/vectors/ics23` (every
//! file there, whatever its kind, must give its expected result), and mutations of it: one changed byte of value, root or proof, a changed key (for
//! membership; a neighbour's key for non-membership), or another store's spec must make
//! every proof fail.

mod common;

use std::path::{Path, PathBuf};

use common::{json_files, name, read_json, vectors_dir};
use corridor_light_client::ics23::vectors::{classify, run_file, FileKind, ProofFile, Status};
use corridor_light_client::ics23::{spec_by_name, CommitmentProof};

const STORES: [&str; 3] = ["iavl", "tendermint", "smt"];

/// The `*.json` files under `dir`, at any depth, sorted.
fn json_files_recursive(dir: &Path) -> Vec<PathBuf> {
    let mut files = json_files(dir);
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        files.extend(json_files_recursive(&sub));
    }
    files
}

#[test]
fn every_file_gives_its_expected_result() {
    let Some(dir) = vectors_dir("ics23 vectors") else {
        return;
    };
    let root = dir.join("ics23");
    let mut kinds = Vec::new();
    for path in json_files_recursive(&root) {
        let label = path.strip_prefix(&root).unwrap().display().to_string();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let value = read_json(&path);
        // The folder names the store's spec for proof, batch and existence files.
        let spec = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|f| spec_by_name(&f.to_string_lossy()));
        let kind = classify(&stem, &value);
        let outcome = run_file(&stem, &value, spec.as_ref());
        assert_eq!(
            outcome.status,
            Status::Agrees,
            "{label} ({kind:?}): {outcome:?}"
        );
        kinds.push(kind.unwrap());
    }
    // Every unit kind present, and the 13 single-proof files; whatever else upstream adds
    // to the copy runs too.
    let units = kinds
        .iter()
        .filter(|k| matches!(k, FileKind::Unit(_)))
        .count();
    let proofs = kinds.iter().filter(|k| **k == FileKind::Proof).count();
    assert!(units >= 6 && proofs >= 13, "{kinds:?}");
}

fn flip(hex_text: &str, at: usize) -> String {
    let mut bytes = hex::decode(hex_text).unwrap();
    let i = at % bytes.len();
    bytes[i] ^= 0x01;
    hex::encode(bytes)
}

#[test]
fn mutated_proofs_fail() {
    let Some(dir) = vectors_dir("ics23 mutations") else {
        return;
    };
    for store in STORES {
        let spec = spec_by_name(store).unwrap();
        for path in json_files(&dir.join("ics23").join(store)) {
            let value = read_json(&path);
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            // Single proofs only: batch and existence files (upstream has both in these
            // folders) and kinds the runner does not know are the other test's business.
            if classify(&stem, &value) != Ok(FileKind::Proof)
                || run_file(&stem, &value, Some(&spec)).is_unknown_kind()
            {
                continue;
            }
            let file: ProofFile = serde_json::from_value(value).unwrap();
            let label = format!("{store}/{}", name(&path));
            let verifies = |f: &ProofFile, s: &corridor_light_client::ics23::ProofSpec| {
                f.decode().and_then(|d| d.verify(s)).is_ok()
            };
            assert!(verifies(&file, &spec), "{label}");
            if !file.value.is_empty() {
                for at in [0, 7, 19] {
                    let mut m = file.clone();
                    m.key = flip(&file.key, at);
                    assert!(!verifies(&m, &spec), "{label}: changed key verified");
                }
            } else {
                // Any key inside the gap is provably absent; the neighbours' keys are not.
                let decoded = file.decode().unwrap();
                let CommitmentProof::Nonexist(n) = &decoded.proof else {
                    panic!("{label}: not a non-existence proof")
                };
                for neighbour in [&n.left, &n.right].into_iter().flatten() {
                    let mut m = file.clone();
                    m.key = hex::encode(&neighbour.key);
                    assert!(!verifies(&m, &spec), "{label}: a present key proved absent");
                }
            }
            for at in [0, 7, 19] {
                let mut m = file.clone();
                m.root = flip(&file.root, at);
                assert!(!verifies(&m, &spec), "{label}: changed root verified");
                if !file.value.is_empty() {
                    let mut m = file.clone();
                    m.value = flip(&file.value, at);
                    assert!(!verifies(&m, &spec), "{label}: changed value verified");
                }
            }
            // Every byte of the proof matters (or makes it undecodable), except the
            // non-existence proof's own copy of the key, which verification does not read.
            let original = file.decode().unwrap().proof;
            let proof_len = file.proof.len() / 2;
            for at in 0..proof_len {
                let mut m = file.clone();
                m.proof = flip(&file.proof, at);
                if let (Ok(d), CommitmentProof::Nonexist(o)) = (m.decode(), &original) {
                    if let CommitmentProof::Nonexist(n) = &d.proof {
                        if n.left == o.left && n.right == o.right {
                            continue;
                        }
                    }
                }
                assert!(
                    !verifies(&m, &spec),
                    "{label}: proof byte {at} changed, still verified"
                );
            }
            for other in STORES.iter().filter(|s| **s != store) {
                let other_spec = spec_by_name(other).unwrap();
                assert!(
                    !verifies(&file, &other_spec),
                    "{label} verified under the {other} spec"
                );
            }
            // A membership proof does not prove non-membership, nor the reverse.
            let decoded = file.decode().unwrap();
            match &decoded.proof {
                CommitmentProof::Exist(_) => {
                    assert!(corridor_light_client::ics23::verify_non_membership(
                        &spec,
                        &decoded.root,
                        &decoded.proof,
                        &decoded.key
                    )
                    .is_err())
                }
                _ => assert!(corridor_light_client::ics23::verify_membership(
                    &spec,
                    &decoded.root,
                    &decoded.proof,
                    &decoded.key,
                    b"anything"
                )
                .is_err()),
            }
        }
    }
}
