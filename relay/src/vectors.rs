//! `corridor vectors FAMILY DIR`: runs every vector file of a folder and reports one line
//! per file (name, expected, got), then `N passed, M failed`.
//!
//! A file that cannot be read or parsed counts as failed, with the reason as its "got".

use std::fmt;
use std::path::Path;

use anyhow::Context;
use corridor_light_client::native::vectors::NativeVector;

/// The outcome of one vector file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// File name.
    pub name: String,
    /// What the file expects.
    pub expected: String,
    /// What the verifier gave (or why the file could not be run).
    pub got: String,
    /// Whether they agree.
    pub passed: bool,
}

/// The outcome of a folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One line per file, in file-name order.
    pub lines: Vec<Line>,
}

impl Report {
    /// Files that passed.
    pub fn passed(&self) -> usize {
        self.lines.iter().filter(|l| l.passed).count()
    }

    /// Files that failed.
    pub fn failed(&self) -> usize {
        self.lines.len() - self.passed()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.lines {
            let mark = if l.passed { "ok  " } else { "FAIL" };
            writeln!(
                f,
                "{mark} {}  expected {}  got {}",
                l.name, l.expected, l.got
            )?;
        }
        writeln!(f, "{} passed, {} failed", self.passed(), self.failed())
    }
}

/// The `*.json` files of `dir`, sorted by name.
pub fn json_files(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
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

/// Runs a folder of native golden vectors.
pub fn run_native(dir: &Path) -> anyhow::Result<Report> {
    let mut report = Report::default();
    for path in json_files(dir)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let line = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                serde_json::from_str::<NativeVector>(&s)
                    .map_err(|e| format!("bad vector file: {e}"))
            }) {
            Ok(vector) => match vector.run() {
                Ok(r) => Line {
                    name,
                    passed: r.passed(),
                    expected: r.expected,
                    got: r.got,
                },
                Err(e) => Line {
                    name,
                    expected: vector.expected,
                    got: format!("error: {e}"),
                    passed: false,
                },
            },
            Err(e) => Line {
                name,
                expected: "?".into(),
                got: format!("error: {e}"),
                passed: false,
            },
        };
        report.lines.push(line);
    }
    Ok(report)
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
}
