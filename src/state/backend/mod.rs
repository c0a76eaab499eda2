//! Where the bytes of a state go. A backend stores a snapshot, a journal of entries on top of it,
//! a lock and a "moved" marker; what the bytes mean (replay, serials, lineage) is the store's
//! business, the same for every backend.

pub(crate) mod local;
pub(crate) mod s3;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::StoreError;
use super::location::Location;
use super::lock::{LockInfo, StateLock};

/// Which snapshot a reader saw: what a compare-and-swap write expects to still be there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Version {
    /// No snapshot yet.
    Absent,
    /// A snapshot, by a backend-defined tag (S3: its ETag; local: a digest of its bytes).
    Tag(String),
}

/// Left at a state's old location by `state migrate`, so that a spec still naming it is refused
/// rather than silently working on a state that moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub to: String,
    pub lineage: String,
    pub serial: u64,
    pub at: String,
}

#[async_trait::async_trait]
pub(crate) trait Backend: Send + Sync + std::fmt::Debug {
    fn location(&self) -> &Location;

    /// The snapshot's bytes and version, or `None` when there is none.
    async fn read_snapshot(&self) -> Result<Option<(Vec<u8>, Version)>, StoreError>;

    /// The journal's records on top of the snapshot `base`, oldest first. The last one may be
    /// torn.
    async fn read_journal(&self, base: &Version) -> Result<Vec<Vec<u8>>, StoreError>;

    /// Appends one record (the entry with `serial`) on top of `base`, durably: when this returns,
    /// a crash cannot lose it.
    async fn append(&self, base: &Version, serial: u64, record: &[u8]) -> Result<(), StoreError>;

    /// Replaces the snapshot if it is still `expected` ([`StoreError::Conflict`] otherwise), and
    /// keeps the one it replaces as the backup. Returns the new version.
    async fn write_snapshot(&self, expected: &Version, bytes: &[u8]) -> Result<Version, StoreError>;

    /// Removes every journal record (they are in the snapshot now).
    async fn clear_journal(&self) -> Result<(), StoreError>;

    async fn lock(&self, info: LockInfo, timeout: Duration) -> Result<StateLock, StoreError>;

    /// Removes the lock with this id, whoever holds it; returns who did.
    async fn force_unlock(&self, id: &str) -> Result<LockInfo, StoreError>;

    /// What a person should know before writing here (a bucket without versioning).
    async fn notes(&self) -> Vec<String>;

    async fn read_moved(&self) -> Result<Option<Moved>, StoreError>;

    /// Sets (`Some`) or removes (`None`) the moved marker.
    async fn write_moved(&self, moved: Option<&Moved>) -> Result<(), StoreError>;
}
