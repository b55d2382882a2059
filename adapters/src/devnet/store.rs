//! The devnet chain's RocksDB store.
//!
//! Column families (keys; values are canonical CBOR, see `corridor_light_client::codec`):
//! - `blocks`: height (u64 big-endian) -> the light block as published (with a corrupted
//!   signature while the bad-signature fault is on);
//! - `forks`: height -> the conflicting light block signed by the fork fault;
//! - `messages`: height -> the outbound [`TradeMessage`]s of that block, in leaf order;
//! - `receipts`: height -> the [`Receipt`]s of that block, in leaf order;
//! - `pending`: `o` or `i` + u64 big-endian -> a message or receipt waiting for a block;
//! - `ids`: message id -> where the outbox put it ([`MessageLocation`]);
//! - `clients`: source chain id -> the inbox's light client of that chain;
//! - `meta`: `height`, `sequences`, `faults`, `pending_counter`.
//!
//! Every state change is one [`Batch`] written with `sync`, before anyone is told.
//!
//! [`TradeMessage`]: corridor_light_client::envelope::TradeMessage
//! [`Receipt`]: crate::types::Receipt

use std::path::Path;

use corridor_light_client::codec;
use corridor_light_client::{ChainId, Height};
use rocksdb::{
    ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A column family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cf {
    Blocks,
    Forks,
    Messages,
    Receipts,
    Pending,
    Ids,
    Clients,
    Meta,
}

impl Cf {
    const ALL: [Self; 8] = [
        Self::Blocks,
        Self::Forks,
        Self::Messages,
        Self::Receipts,
        Self::Pending,
        Self::Ids,
        Self::Clients,
        Self::Meta,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Blocks => "blocks",
            Self::Forks => "forks",
            Self::Messages => "messages",
            Self::Receipts => "receipts",
            Self::Pending => "pending",
            Self::Ids => "ids",
            Self::Clients => "clients",
            Self::Meta => "meta",
        }
    }
}

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// RocksDB reported an error.
    #[error("store: {op} in {cf}: {reason}")]
    Db {
        /// The operation.
        op: &'static str,
        /// The column family.
        cf: &'static str,
        /// RocksDB's message.
        reason: String,
    },
    /// A stored value does not decode (the store is damaged or from another version).
    #[error("store: value in {cf} does not decode: {reason}")]
    Corrupt {
        /// The column family.
        cf: &'static str,
        /// The decoder's message.
        reason: String,
    },
}

/// Where the outbox put a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageLocation {
    /// Destination chain.
    pub destination: ChainId,
    /// Channel.
    pub channel: u32,
    /// Sequence assigned.
    pub sequence: u64,
    /// Block that committed it, once committed.
    pub height: Option<Height>,
}

/// The devnet chain's store.
pub(crate) struct RocksStore {
    db: DB,
}

/// Key of a height.
pub(crate) fn height_key(h: Height) -> [u8; 8] {
    h.0.to_be_bytes()
}

impl RocksStore {
    /// Opens (or creates) the store at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| StoreError::Db {
            op: "create folder",
            cf: "*",
            reason: format!("{}: {e}", path.display()),
        })?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let cfs = Cf::ALL
            .iter()
            .map(|cf| ColumnFamilyDescriptor::new(cf.name(), Options::default()));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(|e| StoreError::Db {
            op: "open",
            cf: "*",
            reason: format!("{}: {e}", path.display()),
        })?;
        Ok(Self { db })
    }

    fn handle(&self, cf: Cf) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db.cf_handle(cf.name()).ok_or(StoreError::Db {
            op: "handle",
            cf: cf.name(),
            reason: "column family missing".into(),
        })
    }

    /// The value at `key`, decoded.
    pub(crate) fn get<T: Serialize + DeserializeOwned>(
        &self,
        cf: Cf,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        let bytes = self
            .db
            .get_cf(self.handle(cf)?, key)
            .map_err(|e| StoreError::Db {
                op: "get",
                cf: cf.name(),
                reason: e.to_string(),
            })?;
        bytes.map(|b| decode(cf, &b)).transpose()
    }

    /// Every entry whose key starts with `prefix`, in key order, decoded.
    pub(crate) fn scan<T: Serialize + DeserializeOwned>(
        &self,
        cf: Cf,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        let mut out = Vec::new();
        let iter = self.db.iterator_cf(
            self.handle(cf)?,
            IteratorMode::From(prefix, Direction::Forward),
        );
        for item in iter {
            let (k, v) = item.map_err(|e| StoreError::Db {
                op: "scan",
                cf: cf.name(),
                reason: e.to_string(),
            })?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), decode(cf, &v)?));
        }
        Ok(out)
    }

    /// An empty batch.
    pub(crate) fn batch(&self) -> Batch<'_> {
        Batch {
            store: self,
            inner: WriteBatch::default(),
        }
    }

    /// Writes `batch` atomically and syncs it to disk.
    pub(crate) fn commit(&self, batch: Batch<'_>) -> Result<(), StoreError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db
            .write_opt(batch.inner, &opts)
            .map_err(|e| StoreError::Db {
                op: "write",
                cf: "*",
                reason: e.to_string(),
            })
    }
}

fn decode<T: Serialize + DeserializeOwned>(cf: Cf, bytes: &[u8]) -> Result<T, StoreError> {
    codec::decode("stored value", bytes).map_err(|e| StoreError::Corrupt {
        cf: cf.name(),
        reason: e.to_string(),
    })
}

/// Changes written together by [`RocksStore::commit`].
pub(crate) struct Batch<'a> {
    store: &'a RocksStore,
    inner: WriteBatch,
}

impl Batch<'_> {
    /// Puts `value` at `key`.
    pub(crate) fn put<T: Serialize>(
        &mut self,
        cf: Cf,
        key: &[u8],
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = codec::encode("stored value", value).map_err(|e| StoreError::Corrupt {
            cf: cf.name(),
            reason: e.to_string(),
        })?;
        self.inner.put_cf(self.store.handle(cf)?, key, bytes);
        Ok(())
    }

    /// Deletes `key`.
    pub(crate) fn delete(&mut self, cf: Cf, key: &[u8]) -> Result<(), StoreError> {
        self.inner.delete_cf(self.store.handle(cf)?, key);
        Ok(())
    }
}
