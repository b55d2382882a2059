//! `corridor vectors FAMILY DIR`: runs every vector file of a folder and reports one line
//! per file (name, expected, got), then `N passed, M failed`.
//!
//! A file that cannot be read or parsed counts as failed, with the reason as its "got". A
//! file of a kind no runner knows (an ICS-23 unit-data kind or proof shape that is not
//! supported) is neither passed nor failed: it is listed as `unknown kind` and counted apart,
//! so a folder of unknown files can never look like a folder of passing ones.
//!
//! `cometbft` and `ics23` walk the folder recursively (names are paths relative to it), so
//! `corridor vectors cometbft ../shared/vectors/cometbft` runs every kind of file at once:
//! - cometbft: model-based single-step files, legacy bisection files, RPC responses
//!   (checked against the `genesis.json` of their folder when there is one) and bare
//!   headers, told apart by shape;
//! - ics23: proof files under the spec their folder names (`iavl`, `tendermint`, `smt`;
//!   `--spec` overrides it) and the `Test*Data.json` unit files.
//!
//! `evm` runs the folder of the shared EVM vectors by its `manifest.json` (getproof,
//! headers, receipts_txs, trie, rlp).

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use corridor_light_client::cometbft::{self, ValidatorSet};
use corridor_light_client::ics23;
use corridor_light_client::native::vectors::NativeVector;

/// How one vector file ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// The verifier agrees with the file.
    Passed,
    /// It does not, or the file could not be run.
    Failed,
    /// No runner knows this kind of file.
    UnknownKind,
}

/// The outcome of one vector file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// File name.
    pub(crate) name: String,
    /// What the file expects.
    pub(crate) expected: String,
    /// What the verifier gave (or why the file could not be run).
    pub(crate) got: String,
    /// How it ended.
    pub(crate) status: Status,
}

impl Line {
    fn failed(name: String, expected: String, error: impl fmt::Display) -> Self {
        Self {
            name,
            expected,
            got: format!("error: {error}"),
            status: Status::Failed,
        }
    }
}

/// The outcome of a folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// One line per file, in file-name order.
    pub(crate) lines: Vec<Line>,
}

impl Report {
    fn count(&self, status: Status) -> usize {
        self.lines.iter().filter(|l| l.status == status).count()
    }

    /// Files that passed.
    pub(crate) fn passed(&self) -> usize {
        self.count(Status::Passed)
    }

    /// Files that failed.
    pub(crate) fn failed(&self) -> usize {
        self.count(Status::Failed)
    }

    /// Files of a kind no runner knows.
    pub(crate) fn unknown(&self) -> usize {
        self.count(Status::UnknownKind)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.lines {
            let mark = match l.status {
                Status::Passed => "ok  ",
                Status::Failed => "FAIL",
                Status::UnknownKind => "??  ",
            };
            writeln!(
                f,
                "{mark} {}  expected {}  got {}",
                l.name, l.expected, l.got
            )?;
        }
        write!(f, "{} passed, {} failed", self.passed(), self.failed())?;
        match self.unknown() {
            0 => writeln!(f),
            n => writeln!(f, ", {n} of unknown kind"),
        }
    }
}

/// Runs `run` on every file of `files`, reading each as JSON first; a file that cannot be
/// read or parsed fails with the reason.
fn run_files(
    dir: &Path,
    files: Vec<PathBuf>,
    mut run: impl FnMut(&Path, String, serde_json::Value) -> Line,
) -> Report {
    let lines = files
        .into_iter()
        .map(|path| {
            let name = relative_name(dir, &path);
            match read_json(&path) {
                Ok(value) => run(&path, name, value),
                Err(e) => Line::failed(name, "?".into(), e),
            }
        })
        .collect();
    Report { lines }
}

/// The `*.json` files of `dir`, sorted by name.
pub(crate) fn json_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))?
    {
        let path = entry
            .with_context(|| format!("reading folder {}", dir.display()))?
            .path();
        if path.is_file() && path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        anyhow::bail!("no *.json vector files in {}", dir.display());
    }
    Ok(files)
}

/// The `*.json` files under `dir` and its subfolders, sorted by path.
pub(crate) fn json_files_recursive(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))?
        {
            let path = entry
                .with_context(|| format!("reading folder {}", dir.display()))?
                .path();
            if path.is_dir() {
                walk(&path, out)?;
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        anyhow::bail!("no *.json vector files in {}", dir.display());
    }
    Ok(files)
}

fn relative_name(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("bad JSON: {e}"))
}

/// The validator set of the `genesis.json` RPC response in `folder`, if there is one.
fn genesis_of(folder: &Path) -> Option<ValidatorSet> {
    let value = read_json(&folder.join("genesis.json")).ok()?;
    cometbft::json::validators(value.pointer("/result/genesis/validators")?).ok()
}

/// Runs a folder (recursively) of CometBFT vector files.
pub(crate) fn run_cometbft(dir: &Path) -> anyhow::Result<Report> {
    Ok(run_files(
        dir,
        json_files_recursive(dir)?,
        |path, name, value| {
            let genesis = path.parent().and_then(genesis_of);
            let outcome = cometbft::vectors::run_file(&value, genesis.as_ref());
            Line {
                name,
                status: if outcome.passed() {
                    Status::Passed
                } else {
                    Status::Failed
                },
                expected: outcome.expected,
                got: outcome.got,
            }
        },
    ))
}

/// Runs a folder (recursively) of ICS-23 vector files. Proof files use the spec `spec`
/// names, else the one their folder names.
pub(crate) fn run_ics23(dir: &Path, spec: Option<&str>) -> anyhow::Result<Report> {
    let forced = match spec {
        Some(name) => Some(
            ics23::spec_by_name(name)
                .with_context(|| format!("unknown proof spec {name:?} (iavl, tendermint, smt)"))?,
        ),
        None => None,
    };
    Ok(run_files(
        dir,
        json_files_recursive(dir)?,
        |path, name, value| {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let folder_spec = path
                .parent()
                .and_then(Path::file_name)
                .and_then(|f| ics23::spec_by_name(&f.to_string_lossy()));
            let outcome =
                ics23::vectors::run_file(&stem, &value, forced.as_ref().or(folder_spec.as_ref()));
            Line {
                name,
                status: if outcome.is_unknown_kind() {
                    Status::UnknownKind
                } else if outcome.passed() {
                    Status::Passed
                } else {
                    Status::Failed
                },
                expected: outcome.expected,
                got: outcome.got,
            }
        },
    ))
}

/// Runs a folder of native golden vectors.
pub(crate) fn run_native(dir: &Path) -> anyhow::Result<Report> {
    Ok(run_files(dir, json_files(dir)?, |_, name, value| {
        let vector = match serde_json::from_value::<NativeVector>(value) {
            Ok(v) => v,
            Err(e) => return Line::failed(name, "?".into(), format!("bad vector file: {e}")),
        };
        match vector.run() {
            Ok(r) => Line {
                name,
                status: if r.passed() {
                    Status::Passed
                } else {
                    Status::Failed
                },
                expected: r.expected,
                got: r.got,
            },
            Err(e) => Line::failed(name, vector.expected, e),
        }
    }))
}

/// Runs the shared EVM vector folder `dir` (the one holding `manifest.json`): every file
/// the manifest lists, against its `expect` (the runner is
/// [`corridor_light_client::evm::vectors`]); a kind the runner does not check (ordered trie
/// iteration, genesis specs) is counted apart as unknown.
pub(crate) fn run_evm(dir: &Path) -> anyhow::Result<Report> {
    use corridor_light_client::evm::vectors::{self as evm, Status as EvmStatus};
    let outcomes = evm::run(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let lines = outcomes
        .into_iter()
        .map(|o| Line {
            name: o.name,
            expected: o.expected,
            got: o.got,
            status: match o.status {
                EvmStatus::Passed => Status::Passed,
                EvmStatus::Failed => Status::Failed,
                EvmStatus::UnsupportedKind => Status::UnknownKind,
            },
        })
        .collect();
    Ok(Report { lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_golden_vectors_all_pass_and_a_broken_file_fails() {
        let golden =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../light-client/tests/vectors/native");
        let report = run_native(&golden).unwrap();
        assert!(report.lines.len() >= 20);
        assert_eq!(report.failed(), 0, "{report}");
        assert!(report
            .to_string()
            .ends_with(&format!("{} passed, 0 failed\n", report.lines.len())));

        let tmp = std::env::temp_dir().join(format!("corridor-vectors-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let good = std::fs::read_to_string(golden.join("adjacent_success.json")).unwrap();
        std::fs::write(tmp.join("a.json"), &good).unwrap();
        std::fs::write(
            tmp.join("b.json"),
            good.replace("\"SUCCESS\"", "\"INVALID\""),
        )
        .unwrap();
        std::fs::write(tmp.join("c.json"), "{ not json").unwrap();
        let report = run_native(&tmp).unwrap();
        std::fs::remove_dir_all(&tmp).unwrap();
        assert_eq!((report.passed(), report.failed()), (1, 2), "{report}");
        assert!(run_native(Path::new("/nonexistent-corridor-dir")).is_err());
    }

    fn shared_vectors(test: &str) -> Option<PathBuf> {
        corridor_light_client::testkit::vectors_dir(env!("CARGO_MANIFEST_DIR"), test)
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let tmp = std::env::temp_dir().join(format!("corridor-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        tmp
    }

    #[test]
    fn cometbft_vectors_pass_and_a_corrupted_copy_fails() {
        let Some(shared) = shared_vectors("cometbft command") else {
            return;
        };
        let dir = shared.join("cometbft");
        let report = run_cometbft(&dir).unwrap();
        assert!(report.lines.len() >= 50, "{report}");
        assert_eq!(report.failed(), 0, "{report}");
        assert!(report
            .to_string()
            .ends_with(&format!("{} passed, 0 failed\n", report.lines.len())));

        let tmp = temp_dir("cometbft");
        let name = "MC4_4_faulty_TestSuccess.json";
        let good = std::fs::read_to_string(dir.join("model_based/single_step").join(name)).unwrap();
        std::fs::write(tmp.join("good.json"), &good).unwrap();
        // The first step's expected verdict changed.
        std::fs::write(
            tmp.join("wrong_verdict.json"),
            good.replacen("\"NOT_ENOUGH_TRUST\"", "\"SUCCESS\"", 1),
        )
        .unwrap();
        // Every signature changed in its first character: no step succeeds any more.
        let mut corrupted = good.clone().into_bytes();
        for (at, _) in good.match_indices("\"signature\": \"") {
            let i = at + 14;
            corrupted[i] = if corrupted[i] == b'A' { b'B' } else { b'A' };
        }
        std::fs::write(tmp.join("bad_signature.json"), corrupted).unwrap();
        std::fs::write(tmp.join("not_json.json"), "{").unwrap();
        let report = run_cometbft(&tmp).unwrap();
        std::fs::remove_dir_all(&tmp).unwrap();
        assert_eq!((report.passed(), report.failed()), (1, 3), "{report}");
    }

    #[test]
    fn ics23_vectors_pass_and_a_corrupted_copy_fails() {
        let Some(shared) = shared_vectors("ics23 command") else {
            return;
        };
        let dir = shared.join("ics23");
        let report = run_ics23(&dir, None).unwrap();
        assert_eq!(report.lines.len(), 19, "{report}");
        assert_eq!(report.failed(), 0, "{report}");

        let tmp = temp_dir("ics23");
        std::fs::create_dir_all(tmp.join("iavl")).unwrap();
        let good = std::fs::read_to_string(dir.join("iavl/exist_left.json")).unwrap();
        std::fs::write(tmp.join("iavl/good.json"), &good).unwrap();
        let root_at = good.find("\"root\": \"").unwrap() + 9;
        let mut corrupted = good.clone().into_bytes();
        corrupted[root_at] = if corrupted[root_at] == b'0' {
            b'1'
        } else {
            b'0'
        };
        std::fs::write(tmp.join("iavl/bad_root.json"), corrupted).unwrap();
        // The right file under the wrong spec.
        std::fs::create_dir_all(tmp.join("smt")).unwrap();
        std::fs::write(tmp.join("smt/iavl_proof.json"), &good).unwrap();
        let unit = std::fs::read_to_string(dir.join("TestDoHashData.json")).unwrap();
        std::fs::write(
            tmp.join("TestDoHashData.json"),
            unit.replacen("c1f0", "c1f1", 1),
        )
        .unwrap();
        // A kind no runner knows is listed apart, neither passed nor failed.
        std::fs::write(tmp.join("TestSomethingNewData.json"), "{}").unwrap();
        let report = run_ics23(&tmp, None).unwrap();
        assert_eq!(
            (report.passed(), report.failed(), report.unknown()),
            (1, 3, 1),
            "{report}"
        );
        assert!(report
            .to_string()
            .ends_with("1 passed, 3 failed, 1 of unknown kind\n"));
        // Forcing the right spec makes the misplaced proof pass.
        let forced = run_ics23(&tmp.join("smt"), Some("iavl")).unwrap();
        std::fs::remove_dir_all(&tmp).unwrap();
        assert_eq!(forced.failed(), 0, "{forced}");
        assert!(run_ics23(&dir, Some("nope")).is_err());
    }

    #[test]
    fn evm_vectors_pass_with_the_unsupported_kinds_apart() {
        let Some(shared) = shared_vectors("evm command") else {
            return;
        };
        let report = run_evm(&shared.join("evm")).unwrap();
        assert_eq!(
            (report.passed(), report.failed(), report.unknown()),
            (49, 0, 3),
            "{report}"
        );
        assert!(report
            .to_string()
            .ends_with("49 passed, 0 failed, 3 of unknown kind\n"));
        let nextprev = report
            .lines
            .iter()
            .find(|l| l.name == "trie/trietestnextprev.json")
            .unwrap();
        assert_eq!(nextprev.status, Status::UnknownKind);
        assert!(run_evm(Path::new("/nonexistent-corridor-dir")).is_err());
    }
}
