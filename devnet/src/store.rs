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
//! - `lanes`: [`LaneKey`] -> the lane's next sequence (u64): to assign (outbound) or to
//!   expect (inbound). One key per lane, so a transaction writes only its own lane;
//! - `deliveries`: inbound [`LaneKey`] + sequence (u64 big-endian) -> [`DeliveryRecord`],
//!   the commitment and result of the delivery that consumed that sequence (what answers a
//!   repeated delivery);
//! - `meta`: `height`, `published`, `faults`, `pending_counter`.
//!
//! Every state change is one [`Batch`] written with `sync`, before anyone is told.
//!
//! [`TradeMessage`]: corridor_light_client::envelope::TradeMessage
//! [`Receipt`]: corridor_adapters::types::Receipt
//! [`MessageLocation`]: corridor_adapters::devnet::MessageLocation

use std::path::Path;

use corridor_adapters::types::ReceiptResult;
use corridor_light_client::codec;
use corridor_light_client::{ChainId, Hash32, Height};
use rocksdb::{
    ColumnFamilyDescriptor, Direction as ScanDirection, IteratorMode, Options, WriteBatch,
    WriteOptions, DB,
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
    Lanes,
    Deliveries,
    Meta,
}

impl Cf {
    const ALL: [Self; 10] = [
        Self::Blocks,
        Self::Forks,
        Self::Messages,
        Self::Receipts,
        Self::Pending,
        Self::Ids,
        Self::Clients,
        Self::Lanes,
        Self::Deliveries,
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
            Self::Lanes => "lanes",
            Self::Deliveries => "deliveries",
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

/// Which way a lane's messages go, seen from this chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Messages this chain's outbox sends to `chain`.
    Outbound,
    /// Messages this chain's inbox takes from `chain`.
    Inbound,
}

/// One ordered lane of messages: to or from a peer chain, on one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lane<'a> {
    /// Outbound or inbound.
    pub(crate) direction: Direction,
    /// The destination (outbound) or source (inbound) chain.
    pub(crate) chain: &'a ChainId,
    /// The channel.
    pub(crate) channel: u32,
}

/// The canonical key of a [`Lane`]: fixed layout, no formatted strings.
///
/// Bytes: the direction (`o` or `i`), the chain id's length (one byte: a chain id has at
/// most 50 bytes), the chain id's bytes, the channel (u32 big-endian). The length prefix
/// makes the encoding injective and prefix-free, so a sequence number can be appended to
/// it (the `deliveries` key) and the keys sort the same in RocksDB and in memory.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LaneKey(Vec<u8>);

impl Lane<'_> {
    /// The lane's canonical key.
    pub(crate) fn key(&self) -> LaneKey {
        let id = self.chain.as_str().as_bytes();
        let mut key = Vec::with_capacity(id.len().saturating_add(6));
        key.push(match self.direction {
            Direction::Outbound => b'o',
            Direction::Inbound => b'i',
        });
        // A chain id is 1 to 50 bytes (`ChainId`'s invariant), so its length fits a byte.
        key.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
        key.extend_from_slice(id);
        key.extend_from_slice(&self.channel.to_be_bytes());
        LaneKey(key)
    }
}

impl LaneKey {
    /// The key bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The `deliveries` key of `sequence` on this lane.
    pub(crate) fn delivery_key(&self, sequence: u64) -> Vec<u8> {
        let mut key = self.0.clone();
        key.extend_from_slice(&sequence.to_be_bytes());
        key
    }

    /// A key read back from the `lanes` column family.
    pub(crate) fn from_stored(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

/// What the inbox stored about the delivery that consumed a sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeliveryRecord {
    /// [`corridor_light_client::envelope::TradeMessage::commitment`] of the message
    /// delivered at that sequence.
    pub(crate) message_commitment: Hash32,
    /// The result its receipt carries.
    pub(crate) result: ReceiptResult,
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

    /// The raw bytes at `key`, not decoded.
    pub(crate) fn get_raw(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db
            .get_cf(self.handle(cf)?, key)
            .map_err(|e| StoreError::Db {
                op: "get",
                cf: cf.name(),
                reason: e.to_string(),
            })
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
            IteratorMode::From(prefix, ScanDirection::Forward),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lane_key_is_fixed_layout_and_injective() {
        let ab = ChainId::new("ab").unwrap();
        let key = Lane {
            direction: Direction::Inbound,
            chain: &ab,
            channel: 7,
        }
        .key();
        assert_eq!(key.as_bytes(), b"i\x02ab\x00\x00\x00\x07");
        assert_eq!(
            key.delivery_key(1),
            b"i\x02ab\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\x01"
        );
        // Ids that a formatted `{chain}/{channel}` key could confuse stay apart.
        let slash = ChainId::new("ab/7").unwrap();
        let out = |chain, channel| {
            Lane {
                direction: Direction::Outbound,
                chain,
                channel,
            }
            .key()
        };
        assert_ne!(out(&slash, 0), out(&ab, 7));
        assert_ne!(out(&ab, 7), key);
    }
}
