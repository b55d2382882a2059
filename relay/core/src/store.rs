//! What the relay persists, behind a [`Store`] trait (DESIGN.md "Store").
//!
//! The core never writes: it returns the writes of each step ([`WriteBatch`]) next to the
//! actions that tell someone about them, and its driver applies the batch, synced, before
//! it performs any action. RocksDB implements [`Store`] in the relay; [`MemStore`] is the
//! simulator's, and keeps a crash's semantics: what was applied survives, nothing else.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// The column families (RocksDB) or key spaces of the relay's store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// Light-client state per chain.
    Clients,
    /// Outbound messages by (lane, sequence).
    Outbound,
    /// Inbound dedupe and delivery state by (lane, sequence).
    Inbound,
    /// Verified receipts waiting to go back, by (lane, sequence).
    Receipts,
    /// The audit log: one record per state change, by a monotonic counter.
    Audit,
    /// Metadata: scan heights, lane watermarks, schema version.
    Meta,
}

impl Column {
    /// Every column.
    pub const ALL: [Self; 6] = [
        Self::Clients,
        Self::Outbound,
        Self::Inbound,
        Self::Receipts,
        Self::Audit,
        Self::Meta,
    ];

    /// The column family's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Clients => "clients",
            Self::Outbound => "outbound",
            Self::Inbound => "inbound",
            Self::Receipts => "receipts",
            Self::Audit => "audit",
            Self::Meta => "meta",
        }
    }
}

/// One write: a value, or `None` to delete the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    /// Column.
    pub column: Column,
    /// Key.
    pub key: Vec<u8>,
    /// New value, or `None` to delete.
    pub value: Option<Vec<u8>>,
}

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

type Map = BTreeMap<(Column, Vec<u8>), Vec<u8>>;

/// Writes applied together, atomically and synced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    /// The writes in order.
    pub writes: Vec<Write>,
}

impl WriteBatch {
    /// Adds a put.
    pub fn put(&mut self, column: Column, key: impl Into<Vec<u8>>, value: Vec<u8>) {
        self.writes.push(Write {
            column,
            key: key.into(),
            value: Some(value),
        });
    }

    /// Adds a delete.
    pub fn delete(&mut self, column: Column, key: impl Into<Vec<u8>>) {
        self.writes.push(Write {
            column,
            key: key.into(),
            value: None,
        });
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Appends another batch's writes.
    pub fn extend(&mut self, other: Self) {
        self.writes.extend(other.writes);
    }
}

/// Why the store failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("store {operation} failed: {reason}")]
pub struct StoreError {
    /// What was attempted.
    pub operation: &'static str,
    /// Why it failed.
    pub reason: String,
}

/// A key-value store with column families and atomic, synced batches.
pub trait Store: Send + Sync {
    /// Applies `batch` atomically; returns once it is durable (synced).
    fn write(&self, batch: &WriteBatch) -> Result<(), StoreError>;
    /// Reads one value.
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every (key, value) of `column` whose key starts with `prefix`, in key order.
    fn scan(&self, column: Column, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        self.scan_after(column, prefix, None, usize::MAX)
    }
    /// At most `limit` of them, from the first key after `after` (from the start when
    /// `after` is `None`): a scan in bounded steps.
    fn scan_after(
        &self,
        column: Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError>;
}

/// An in-memory store (the simulator's). Writes are atomic; a "crash" keeps what was
/// written.
#[derive(Debug, Default)]
pub struct MemStore {
    data: Mutex<Map>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Map> {
        // A poisoned lock only means another thread panicked mid-test; the map is intact
        // (every write is applied under the lock in one go).
        self.data
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Number of keys in `column`.
    pub fn len(&self, column: Column) -> usize {
        self.lock().keys().filter(|(c, _)| *c == column).count()
    }
}

impl Store for MemStore {
    fn write(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        let mut data = self.lock();
        for w in &batch.writes {
            match &w.value {
                Some(v) => {
                    data.insert((w.column, w.key.clone()), v.clone());
                }
                None => {
                    data.remove(&(w.column, w.key.clone()));
                }
            }
        }
        Ok(())
    }

    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(&(column, key.to_vec())).cloned())
    }

    fn scan_after(
        &self,
        column: Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let start = after.filter(|a| *a > prefix).unwrap_or(prefix).to_vec();
        Ok(self
            .lock()
            .range((column, start)..)
            .filter(|((_, k), _)| after.is_none_or(|a| k.as_slice() > a))
            .take_while(|((c, k), _)| *c == column && k.starts_with(prefix))
            .take(limit)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }
}
