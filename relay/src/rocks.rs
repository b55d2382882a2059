//! The relay's RocksDB store: one column family per [`Column`], every batch written with
//! `sync` (an acknowledgement, an ack frame or a delivery follows only a durable write).

use std::path::Path;

use corridor_relay_core::store::{Column, Entry, Store, StoreError, WriteBatch};
use rocksdb::{ColumnFamilyDescriptor, Options, DB};

/// RocksDB behind [`Store`].
pub struct RocksStore {
    db: DB,
}

fn fail(operation: &'static str) -> impl FnOnce(rocksdb::Error) -> StoreError {
    move |e| StoreError {
        operation,
        reason: e.to_string(),
    }
}

impl RocksStore {
    /// Opens (creating) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let cfs = Column::ALL
            .iter()
            .map(|c| ColumnFamilyDescriptor::new(c.name(), Options::default()));
        let db = DB::open_cf_descriptors(&options, path, cfs).map_err(fail("open"))?;
        Ok(Self { db })
    }

    /// Opens the store at `path` read-only, beside a running relay that has it open (a
    /// snapshot as of now: reopen to see later writes).
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let cfs = Column::ALL.iter().map(|c| c.name());
        let db = DB::open_cf_for_read_only(&Options::default(), path, cfs, false)
            .map_err(fail("open read-only"))?;
        Ok(Self { db })
    }

    fn cf(&self, column: Column) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db.cf_handle(column.name()).ok_or(StoreError {
            operation: "open column family",
            reason: format!("column family {} is missing", column.name()),
        })
    }

    /// Approximate size of the store on disk, in bytes.
    pub fn size_bytes(&self) -> u64 {
        Column::ALL
            .iter()
            .filter_map(|c| self.cf(*c).ok())
            .filter_map(|cf| {
                self.db
                    .property_int_value_cf(cf, "rocksdb.total-sst-files-size")
                    .ok()
                    .flatten()
            })
            .sum()
    }
}

impl Store for RocksStore {
    fn write(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut b = rocksdb::WriteBatch::default();
        for w in &batch.writes {
            let cf = self.cf(w.column)?;
            match &w.value {
                Some(v) => b.put_cf(cf, &w.key, v),
                None => b.delete_cf(cf, &w.key),
            }
        }
        let mut options = rocksdb::WriteOptions::default();
        options.set_sync(true);
        self.db.write_opt(b, &options).map_err(fail("write"))
    }

    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get_cf(self.cf(column)?, key).map_err(fail("get"))
    }

    fn scan_after(
        &self,
        column: Column,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        let start = after.filter(|a| *a > prefix).unwrap_or(prefix);
        let iter = self.db.iterator_cf(
            self.cf(column)?,
            rocksdb::IteratorMode::From(start, rocksdb::Direction::Forward),
        );
        for item in iter {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(fail("scan"))?;
            if after.is_some_and(|a| &*k <= a) {
                continue;
            }
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corridor_light_client::testkit::TempDir;
    use corridor_relay_core::store::WriteBatch;

    #[test]
    fn a_bounded_scan_goes_in_steps_after_a_key_within_its_prefix() {
        let dir = TempDir::new("rocks-scan");
        let store = RocksStore::open(&dir.path().join("store")).unwrap();
        let mut batch = WriteBatch::default();
        for k in ["a/1", "a/2", "a/3", "b/1", "a"] {
            batch.put(Column::Meta, k.as_bytes().to_vec(), k.as_bytes().to_vec());
        }
        batch.put(Column::Audit, b"a/0".to_vec(), Vec::new());
        store.write(&batch).unwrap();
        let keys = |after: Option<&str>, limit| -> Vec<String> {
            store
                .scan_after(Column::Meta, b"a/", after.map(str::as_bytes), limit)
                .unwrap()
                .into_iter()
                .map(|(k, _)| String::from_utf8(k).unwrap())
                .collect()
        };
        assert_eq!(keys(None, 2), ["a/1", "a/2"]);
        assert_eq!(keys(Some("a/2"), 2), ["a/3"]);
        assert_eq!(keys(Some("a/3"), 2), Vec::<String>::new());
        assert_eq!(keys(Some("a/1"), 1), ["a/2"]);
        assert_eq!(keys(Some("a"), 5), ["a/1", "a/2", "a/3"]);
        assert_eq!(keys(None, 0), Vec::<String>::new());
    }
}
