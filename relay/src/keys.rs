//! The relay's ed25519 identity: a file holding the 32-byte seed in hex, mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file exists already (never overwritten).
    #[error("{0} exists already; move it away to make a new key")]
    Exists(PathBuf),
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not hold a hex seed.
    #[error("{0}: not a relay key (64 hex characters expected)")]
    Malformed(PathBuf),
    /// Others can read the file.
    #[error("{path}: mode {mode:o} lets others read the relay key; chmod 600 it")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes a new random key to `path` (created with mode 0600, never overwriting).
pub fn generate(path: &Path) -> Result<SigningKey, KeyError> {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
    write_seed(path, seed)
}

/// Writes the key of `seed` to `path` (created with mode 0600, never overwriting).
pub fn write_seed(path: &Path, seed: [u8; 32]) -> Result<SigningKey, KeyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let key = SigningKey::from_bytes(&seed);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(path))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyError::Exists(path.to_owned()),
            _ => KeyError::Io {
                path: path.to_owned(),
                source: e,
            },
        })?;
    writeln!(file, "{}", hex::encode(seed)).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    Ok(key)
}

/// Reads the key at `path`, refusing a file that group or others can read.
pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(io(path))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_owned(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let seed = hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| KeyError::Malformed(path.to_owned()))?;
    Ok(SigningKey::from_bytes(&seed))
}
