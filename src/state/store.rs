//! The state store: read (snapshot + journal replayed), lock, record steps, compact.
//!
//! Recording a step appends one journal entry and makes it durable (one `fdatasync`, or one S3
//! PUT) before the step's cloud call; its cost is the size of the one resource it records, so a
//! run of N domains writes O(N) bytes, not O(N²). The snapshot is rewritten once, at the end of a
//! run ([`StateWriter::compact`]), and once at the start of the next run if a killed run left a
//! journal. Until then every reader replays the journal over the snapshot, and sees exactly what
//! the killed run had recorded.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use super::StoreError;
use super::backend::local::LocalBackend;
use super::backend::s3::S3Backend;
use super::backend::{Backend, Moved, Version};
use super::journal::{self, Entry, JournalError};
use super::location::Location;
use super::lock::{LockInfo, StateLock};
use super::model::{STATE_VERSION, State};

/// A state's store, at the location the spec names.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

/// A state as read: what replaying the journal over the snapshot gives, and which snapshot that
/// was (what the next snapshot write expects to replace).
#[derive(Clone, Debug)]
pub struct Loaded {
    pub state: Option<State>,
    version: Version,
    /// Journal records found (applied, skipped or torn): a writer compacts them first.
    journal_records: usize,
}

impl Loaded {
    /// Journal entries a stopped run left, replayed into [`Loaded::state`].
    pub fn journal_records(&self) -> usize {
        self.journal_records
    }
}

impl Store {
    /// The store at `location`. For S3, a client from the AWS credential chain.
    pub async fn open(location: &Location) -> Result<Store, StoreError> {
        let backend: Arc<dyn Backend> = match location {
            Location::Local(path) => Arc::new(LocalBackend::new(path)),
            Location::S3(s3) => Arc::new(S3Backend::connect(s3).await?),
        };
        Ok(Store { backend })
    }

    #[cfg(test)]
    pub(crate) fn on(backend: Arc<dyn Backend>) -> Store {
        Store { backend }
    }

    pub fn location(&self) -> &Location {
        self.backend.location()
    }

    /// The state now: the snapshot with the journal replayed over it. Refused where the state
    /// was migrated away from.
    pub async fn read(&self) -> Result<Loaded, StoreError> {
        if let Some(moved) = self.backend.read_moved().await? {
            return Err(StoreError::Moved {
                location: self.location().to_string(),
                to: moved.to,
                serial: moved.serial,
                at: moved.at,
            });
        }
        self.read_unchecked().await
    }

    async fn read_unchecked(&self) -> Result<Loaded, StoreError> {
        // A reader without the lock can meet a compaction half-way (the journal cleared under
        // the snapshot it read): read again, once the snapshot it raced is replaced.
        let mut attempts = 0;
        loop {
            let (snapshot, version) = match self.backend.read_snapshot().await? {
                Some((bytes, version)) => (Some(parse(self.location(), &bytes)?), version),
                None => (None, Version::Absent),
            };
            let records = self.backend.read_journal(&version).await?;
            match journal::replay(snapshot, &records) {
                Ok(replayed) => {
                    if replayed.torn_tail {
                        tracing::info!("state {}: dropped the journal's torn last entry", self.location());
                    }
                    return Ok(Loaded { state: replayed.state, version, journal_records: records.len() });
                }
                Err(source) => {
                    attempts += 1;
                    let now = self.backend.read_snapshot().await?.map_or(Version::Absent, |(_, v)| v);
                    if attempts >= 3 || now == version {
                        return Err(self.journal_error(source));
                    }
                }
            }
        }
    }

    fn journal_error(&self, source: JournalError) -> StoreError {
        StoreError::Journal { location: self.location().to_string(), source }
    }

    /// Takes the state's lock for `operation`, waiting up to `timeout` for another run's.
    pub async fn lock(&self, operation: &str, timeout: Duration) -> Result<StateLock, StoreError> {
        self.backend.lock(LockInfo::new(operation), timeout).await
    }

    /// Removes the lock whose id is `id`; returns who held it.
    pub async fn force_unlock(&self, id: &str) -> Result<LockInfo, StoreError> {
        self.backend.force_unlock(id).await
    }

    /// What a person should know before a run writes here (an S3 bucket without versioning).
    pub async fn notes(&self) -> Vec<String> {
        self.backend.notes().await
    }

    /// The writer of a run that holds `_lock` and read `loaded`. A journal a stopped run left is
    /// compacted first, so this run's entries start on a snapshot of their own.
    pub async fn writer(&self, _lock: &StateLock, loaded: &Loaded) -> Result<StateWriter, StoreError> {
        let writer = StateWriter {
            backend: Arc::clone(&self.backend),
            inner: Mutex::new(Inner {
                base: loaded.version.clone(),
                mirror: loaded.state.clone(),
                pending: loaded.journal_records > 0,
                poisoned: false,
            }),
        };
        writer.compact().await?;
        Ok(writer)
    }

    /// Replaces the whole state (`state push`, `state migrate`) if it is still what `loaded`
    /// read, and clears the journal. The state is written as given: serial included.
    pub async fn replace(&self, _lock: &StateLock, loaded: &Loaded, state: &State) -> Result<(), StoreError> {
        self.backend.write_snapshot(&loaded.version, &snapshot_bytes(state)).await?;
        self.backend.clear_journal().await
    }

    /// Where `state migrate` moved the state from here, if it did.
    pub async fn moved(&self) -> Result<Option<Moved>, StoreError> {
        self.backend.read_moved().await
    }

    /// The state as read, without the moved check: what `state migrate` copies and verifies.
    pub async fn read_even_if_moved(&self) -> Result<Loaded, StoreError> {
        self.read_unchecked().await
    }

    pub async fn mark_moved(&self, _lock: &StateLock, moved: Option<&Moved>) -> Result<(), StoreError> {
        self.backend.write_moved(moved).await
    }
}

/// Records a run's steps. Shared by the run's parallel domains; each record is durable when
/// [`StateWriter::record`] returns.
#[derive(Debug)]
pub struct StateWriter {
    backend: Arc<dyn Backend>,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The snapshot the journal extends.
    base: Version,
    /// The state as the snapshot and journal hold it: what a reader would see now, and what
    /// compaction writes.
    mirror: Option<State>,
    /// The journal has entries the snapshot lacks.
    pending: bool,
    /// A record failed: whether it reached the store is unknown, so nothing more is recorded.
    poisoned: bool,
}

impl StateWriter {
    /// Records `address` as `state` holds it now, with `state`'s serial incremented, durably.
    /// Call it after every change to one address of the state, before the cloud call the change
    /// announces; an address changed but not recorded is lost if the run stops.
    pub async fn record(&self, state: &mut State, address: &str) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().await;
        if inner.poisoned {
            return Err(StoreError::Poisoned { location: self.backend.location().to_string() });
        }
        state.serial += 1;
        let entry = Entry::of(state, address);
        if let Err(e) = self.backend.append(&inner.base, entry.serial, &entry.encode()).await {
            state.serial -= 1;
            inner.poisoned = true;
            return Err(e);
        }
        let mirror = inner.mirror.get_or_insert_with(|| State::new(entry.lineage.clone()));
        match entry.resource {
            Some(r) => {
                mirror.resources.insert(entry.address, r);
            }
            None => {
                mirror.resources.remove(&entry.address);
            }
        }
        mirror.serial = entry.serial;
        inner.pending = true;
        Ok(())
    }

    /// Writes the snapshot (compare-and-swap on the one this run started from) and clears the
    /// journal. A no-op when nothing was recorded since the last compaction.
    pub async fn compact(&self) -> Result<(), StoreError> {
        let mut inner = self.inner.lock().await;
        if !inner.pending {
            return Ok(());
        }
        if let Some(state) = &inner.mirror {
            let bytes = snapshot_bytes(state);
            inner.base = self.backend.write_snapshot(&inner.base, &bytes).await?;
        }
        self.backend.clear_journal().await?;
        inner.pending = false;
        Ok(())
    }

    /// The state as recorded (snapshot and journal).
    pub async fn recorded(&self) -> Option<State> {
        self.inner.lock().await.mirror.clone()
    }
}

pub(crate) fn snapshot_bytes(state: &State) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(state).expect("state serializes");
    json.push(b'\n');
    json
}

pub(crate) fn parse(location: &Location, bytes: &[u8]) -> Result<State, StoreError> {
    parse_state(&location.to_string(), bytes)
}

/// A state document (from a store, or a file for `state push`), its version checked.
pub fn parse_state(origin: &str, bytes: &[u8]) -> Result<State, StoreError> {
    #[derive(serde::Deserialize)]
    struct Header {
        version: u32,
    }
    let location = || origin.to_owned();
    let header: Header =
        serde_json::from_slice(bytes).map_err(|source| StoreError::Parse { location: location(), source })?;
    if header.version != STATE_VERSION {
        return Err(StoreError::Version { location: location(), found: header.version });
    }
    serde_json::from_slice(bytes).map_err(|source| StoreError::Parse { location: location(), source })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use sslprov_provider::{Desired, IdempotencyToken, Outputs};

    use super::*;
    use crate::state::model::{Intent, Op, ResourceState};
    use crate::state::{StateFile, io_stats};

    /// A resource the way apply records it: intent before the call, result after.
    pub(crate) fn resource(domain: &str, id: Option<&str>) -> ResourceState {
        let mut spec = serde_json::Map::new();
        spec.insert("domain_name".into(), format!("url.{domain}.example").into());
        ResourceState {
            kind: "certificate".into(),
            provider: "acm".into(),
            domain: domain.into(),
            shared: None,
            cdn: Some("cloudfront".into()),
            id: id.map(str::to_owned),
            desired: Some(Desired { kind: "certificate".into(), spec }),
            outputs: Outputs::default(),
            intent: id.is_none().then(|| Intent {
                op: Op::Create,
                token: IdempotencyToken("0123456789abcdef0123456789abcdef".into()),
                started: "2026-11-23T11:00:00Z".into(),
            }),
            adopted: None,
            deposed: Vec::new(),
        }
    }

    /// Records intent and result for `domains`, as apply would.
    pub(crate) async fn run_steps(writer: &StateWriter, state: &mut State, domains: std::ops::Range<usize>) {
        for i in domains {
            let (domain, address) = (format!("d{i}"), format!("d{i}.certificate"));
            state.resources.insert(address.clone(), resource(&domain, None));
            writer.record(state, &address).await.unwrap();
            state.resources.insert(address.clone(), resource(&domain, Some(&format!("arn:{i}"))));
            writer.record(state, &address).await.unwrap();
        }
    }

    fn local(path: &Path) -> Store {
        Store::on(Arc::new(LocalBackend::new(path)))
    }

    /// A local store in a new folder, locked for an apply, and its writer.
    struct Run {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        store: Store,
        lock: StateLock,
        writer: StateWriter,
    }

    async fn run() -> Run {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let store = local(&path);
        let lock = store.lock("apply", Duration::ZERO).await.unwrap();
        let writer = store.writer(&lock, &store.read().await.unwrap()).await.unwrap();
        Run { _dir: dir, path, store, lock, writer }
    }

    #[tokio::test]
    async fn every_reader_sees_what_a_killed_run_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let store = local(&path);
        let lock = store.lock("apply", Duration::ZERO).await.unwrap();
        let loaded = store.read().await.unwrap();
        let writer = store.writer(&lock, &loaded).await.unwrap();
        let mut state = State::new("lin".into());
        run_steps(&writer, &mut state, 0..3).await;
        // The run is killed here: no compaction, no snapshot.
        drop((writer, lock));
        assert!(!path.exists());
        assert_eq!(StateFile::new(&path).read().unwrap(), Some(state.clone()), "the sync reader (verify)");
        let loaded = store.read().await.unwrap();
        assert_eq!(loaded.state, Some(state.clone()));
        assert_eq!(loaded.journal_records(), 6);

        // The next run compacts first, then appends to an empty journal.
        let lock = store.lock("apply", Duration::ZERO).await.unwrap();
        let writer = store.writer(&lock, &loaded).await.unwrap();
        assert!(!super::super::backend::local::journal_path(&path).exists());
        let snapshot: State = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(snapshot, state);
        run_steps(&writer, &mut state, 3..4).await;
        writer.compact().await.unwrap();
        assert_eq!(store.read().await.unwrap().state, Some(state.clone()));
        assert_eq!(state.serial, 8);
        let backup: State = serde_json::from_slice(&std::fs::read(dir.path().join("s.json.backup")).unwrap()).unwrap();
        assert_eq!(backup.serial, 6, "the backup is the snapshot before the last");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 3, "state, backup, lock; no journal or temp files: {names:?}");
    }

    #[tokio::test]
    async fn a_torn_journal_tail_is_dropped_and_compacted_away() {
        let Run { _dir, path, store, lock, writer } = run().await;
        let mut state = State::new("lin".into());
        run_steps(&writer, &mut state, 0..2).await;
        drop((writer, lock));
        // Killed half-way through the next append.
        let journal = super::super::backend::local::journal_path(&path);
        let mut next = state.clone();
        next.serial += 1;
        next.resources.insert("d9.certificate".into(), resource("d9", None));
        let line = Entry::of(&next, "d9.certificate").encode();
        let mut bytes = std::fs::read(&journal).unwrap();
        bytes.extend_from_slice(&line[..line.len() / 2]);
        std::fs::write(&journal, bytes).unwrap();

        let loaded = store.read().await.unwrap();
        assert_eq!(loaded.state, Some(state.clone()));
        let lock = store.lock("apply", Duration::ZERO).await.unwrap();
        let writer = store.writer(&lock, &loaded).await.unwrap();
        assert!(!journal.exists(), "compacted at the start of the next run");
        run_steps(&writer, &mut state, 2..3).await;
        assert_eq!(store.read().await.unwrap().state, Some(state));
    }

    #[tokio::test]
    async fn recording_a_step_costs_one_entry_whatever_the_size_of_the_state() {
        let Run { _dir, path: _, store: _, lock: _lock, writer } = run().await;
        let mut state = State::new("lin".into());
        let cost = |before: crate::state::IoStats| io_stats().since(before);

        let before = io_stats();
        run_steps(&writer, &mut state, 0..1).await;
        let small = cost(before);
        run_steps(&writer, &mut state, 1..500).await;
        let before = io_stats();
        run_steps(&writer, &mut state, 500..501).await;
        let large = cost(before);
        // Other tests write too (the counters are the process's): bound, don't equal.
        assert!(large.bytes_written < 2 * small.bytes_written + 4096, "{small:?} vs {large:?}");
        assert!(large.bytes_written < 4096, "two entries, not 500 resources: {large:?}");
        assert!(large.fsyncs <= 2 + 4, "one fsync per record: {large:?}");
        writer.compact().await.unwrap();
    }

    #[tokio::test]
    async fn a_snapshot_changed_behind_the_runs_back_is_not_overwritten() {
        let Run { _dir, path, store: _, lock: _lock, writer } = run().await;
        let mut state = State::new("lin".into());
        run_steps(&writer, &mut state, 0..1).await;
        std::fs::write(&path, snapshot_bytes(&State::new("someone else's".into()))).unwrap();
        let err = writer.compact().await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
        let kept: State = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(kept.lineage, "someone else's");
    }
}
