//! A state in local files, beside each other:
//!
//! | file | what |
//! |---|---|
//! | `<state>` | the snapshot, pretty JSON, replaced atomically (temp file, fsync, rename, directory fsync) |
//! | `<state>.journal` | entries appended since the snapshot, each made durable by `fdatasync` before the step's call |
//! | `<state>.backup` | the snapshot before the last one (a hard link: no copy) |
//! | `<state>.lock` | the OS lock, holding who took it |
//! | `<state>.moved` | after `state migrate`: where the state went |

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use sha2::Digest;

use super::{Backend, Moved, Version};
use crate::state::StoreError;
use crate::state::location::Location;
use crate::state::lock::{self, LockError, LockInfo, StateLock};
use crate::state::stats;

#[derive(Debug)]
pub(crate) struct LocalBackend {
    location: Location,
    path: PathBuf,
    /// The journal, open for appending once this process has written to it.
    journal: Mutex<Option<File>>,
}

impl LocalBackend {
    pub(crate) fn new(path: &Path) -> LocalBackend {
        LocalBackend {
            location: Location::Local(path.to_path_buf()),
            path: path.to_path_buf(),
            journal: Mutex::default(),
        }
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn read_err(&self) -> impl Fn(std::io::Error) -> StoreError + '_ {
        |source| StoreError::Read { location: self.describe(), source }
    }

    fn write_err(&self) -> impl Fn(std::io::Error) -> StoreError + '_ {
        |source| StoreError::Write { location: self.describe(), source }
    }

    pub(crate) fn snapshot_sync(&self) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        Ok(read_optional(&self.path).map_err(self.read_err())?.map(|bytes| {
            let version = digest(&bytes);
            (bytes, version)
        }))
    }

    pub(crate) fn journal_sync(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let bytes = read_optional(&journal_path(&self.path)).map_err(self.read_err())?;
        Ok(bytes.map(|b| crate::state::journal::split_lines(&b)).unwrap_or_default())
    }

    pub(crate) fn moved_sync(&self) -> Result<Option<Moved>, StoreError> {
        let Some(bytes) = read_optional(&sibling(&self.path, "moved")).map_err(self.read_err())? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|source| StoreError::Parse {
            location: sibling(&self.path, "moved").display().to_string(),
            source,
        })
    }

    /// Makes a new directory entry (a rename, a created file) durable.
    fn sync_dir(&self) {
        if let Some(dir) = self.path.parent() {
            let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
                stats::synced();
            }
        }
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let err = self.write_err();
        let tmp = sibling(path, &format!("tmp.{}", std::process::id()));
        {
            let mut f = File::create(&tmp).map_err(&err)?;
            f.write_all(bytes).map_err(&err)?;
            stats::wrote(bytes.len());
            f.sync_all().map_err(&err)?;
            stats::synced();
        }
        fs::rename(&tmp, path).map_err(&err)?;
        self.sync_dir();
        Ok(())
    }
}

#[async_trait::async_trait]
impl Backend for LocalBackend {
    fn location(&self) -> &Location {
        &self.location
    }

    async fn read_snapshot(&self) -> Result<Option<(Vec<u8>, Version)>, StoreError> {
        self.snapshot_sync()
    }

    async fn read_journal(&self, _base: &Version) -> Result<Vec<Vec<u8>>, StoreError> {
        self.journal_sync()
    }

    async fn append(&self, _base: &Version, _serial: u64, record: &[u8]) -> Result<(), StoreError> {
        let err = self.write_err();
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        if journal.is_none() {
            let path = journal_path(&self.path);
            let file = OpenOptions::new().create(true).append(true).open(&path).map_err(&err)?;
            // The file's own fsyncs do not make its name durable.
            self.sync_dir();
            *journal = Some(file);
        }
        let file = journal.as_mut().expect("opened above");
        file.write_all(record).map_err(&err)?;
        stats::wrote(record.len());
        // Data only: the size is part of what fdatasync makes durable, the times are not needed.
        file.sync_data().map_err(&err)?;
        stats::synced();
        Ok(())
    }

    async fn write_snapshot(&self, expected: &Version, bytes: &[u8]) -> Result<Version, StoreError> {
        let current = self.snapshot_sync()?.map_or(Version::Absent, |(_, v)| v);
        if &current != expected {
            return Err(StoreError::Conflict {
                location: self.describe(),
                detail: "the file is not the one this run read".into(),
            });
        }
        if current != Version::Absent {
            // The backup is the snapshot being replaced: a second name for it, not a copy.
            let backup = sibling(&self.path, "backup");
            let staged = sibling(&self.path, &format!("backup.tmp.{}", std::process::id()));
            let _ = fs::remove_file(&staged);
            if fs::hard_link(&self.path, &staged).is_err() {
                let copied = fs::copy(&self.path, &staged).map_err(self.write_err())?;
                stats::wrote(copied as usize);
            }
            fs::rename(&staged, &backup).map_err(self.write_err())?;
        }
        self.write_atomically(&self.path, bytes)?;
        Ok(digest(bytes))
    }

    async fn clear_journal(&self) -> Result<(), StoreError> {
        self.journal.lock().unwrap_or_else(|e| e.into_inner()).take();
        // Not synced: entries left by a crash here are at or below the snapshot's serial, and
        // replay skips them.
        match fs::remove_file(journal_path(&self.path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.write_err()(e)),
            _ => Ok(()),
        }
    }

    async fn lock(&self, info: LockInfo, timeout: Duration) -> Result<StateLock, StoreError> {
        Ok(lock::acquire_local(&self.path, info, timeout).await?)
    }

    async fn force_unlock(&self, _id: &str) -> Result<LockInfo, StoreError> {
        let location = self.describe();
        Err(match lock::local_holder(&self.path)? {
            Some(info) => LockError::LocalHeld { location, info: Box::new(info) },
            None => LockError::NotLocked { location },
        }
        .into())
    }

    async fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    async fn read_moved(&self) -> Result<Option<Moved>, StoreError> {
        self.moved_sync()
    }

    async fn write_moved(&self, moved: Option<&Moved>) -> Result<(), StoreError> {
        let path = sibling(&self.path, "moved");
        match moved {
            Some(m) => self.write_atomically(&path, &serde_json::to_vec_pretty(m).expect("serializes")),
            None => match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.write_err()(e)),
                _ => {
                    self.sync_dir();
                    Ok(())
                }
            },
        }
    }
}

fn read_optional(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn digest(bytes: &[u8]) -> Version {
    Version::Tag(hex::encode(&sha2::Sha256::digest(bytes)[..16]))
}

pub(crate) fn journal_path(state: &Path) -> PathBuf {
    sibling(state, "journal")
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}
