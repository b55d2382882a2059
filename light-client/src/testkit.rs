//! Test helpers shared by every crate's tests (feature `testkit`): where the shared public
//! vectors are, temporary folders, the wall clock as a [`Time`].
//!
//! One owner, so that a skip rule or a clean-up rule is the same everywhere. Test helpers
//! fail loudly: a test that cannot read its vectors or make its folder must stop.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::types::Time;

/// `../shared/vectors` beside the workspace, seen from the crate at `manifest_dir` (pass
/// `env!("CARGO_MANIFEST_DIR")`), or the folder `CORRIDOR_VECTORS` names (for a copy of the
/// tree elsewhere, such as a mutation-testing run), or `None` after saying that `test`
/// skips.
///
/// # Panics
/// Under `CI=true` when the folder is absent or empty: CI must never pass without the
/// vectors. Also when the folder cannot be read.
pub fn vectors_dir(manifest_dir: &str, test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("CORRIDOR_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(manifest_dir).join("../../shared/vectors"));
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !dir.is_dir() {
        assert!(!ci, "{test}: {} is missing and CI=true", dir.display());
        eprintln!("{test}: skipped, {} is absent", dir.display());
        return None;
    }
    let empty = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{test}: {}: {e}", dir.display()))
        .next()
        .is_none();
    assert!(!empty, "{test}: {} is empty", dir.display());
    Some(dir)
}

/// A folder under the system temp folder, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty folder whose name starts with `corridor-test-{name}`.
    ///
    /// # Panics
    /// When the folder cannot be created.
    pub fn new(name: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!(
            "corridor-test-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("temp folder {}: {e}", path.display()));
        Self(path)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover folder in the temp folder harms nothing.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The wall clock now (the epoch when the clock is before 1970).
pub fn now() -> Time {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    Time::from_unix_nanos(nanos)
}
