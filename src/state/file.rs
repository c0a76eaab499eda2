//! A local state read without a runtime: snapshot and journal replayed, as every reader sees it.

use std::path::PathBuf;

use super::StoreError;
use super::backend::local::LocalBackend;
use super::journal;
use super::location::Location;
use super::store::parse;

#[derive(Debug, Clone)]
pub struct StateFile {
    pub path: PathBuf,
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFile { path: path.into() }
    }

    /// The state, or `None` when no state was written yet.
    pub fn read(&self) -> Result<Option<super::State>, StoreError> {
        let backend = LocalBackend::new(&self.path);
        let location = Location::Local(self.path.clone());
        if let Some(moved) = backend.moved_sync()? {
            return Err(StoreError::Moved {
                location: location.to_string(),
                to: moved.to,
                serial: moved.serial,
                at: moved.at,
            });
        }
        let snapshot = backend.snapshot_sync()?.map(|(bytes, _)| parse(&location, &bytes)).transpose()?;
        let records = backend.journal_sync()?;
        journal::replay(snapshot, &records)
            .map(|r| r.state)
            .map_err(|source| StoreError::Journal { location: location.to_string(), source })
    }
}
