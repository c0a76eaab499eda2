//! The state lock: one run at a time may plan against or write a state.
//!
//! A local state is locked with an OS file lock on `<state>.lock`: the kernel releases it when
//! the run dies, so a local lock is never stuck. An S3 state is locked with a lock object
//! (`<key>.lock`, created only if absent): nothing releases it if the run is killed, so the error
//! a second run gets names the holder and its age, and `sslprov state force-unlock ID` removes it.
//! Both hold the same [`LockInfo`].

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use serde::{Deserialize, Serialize};

/// Who holds a lock: what a second run, and `force-unlock`, show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// What `state force-unlock` takes.
    pub id: String,
    pub operation: String,
    pub holder: String,
    pub pid: u32,
    pub host: String,
    /// RFC 3339.
    pub created: String,
}

impl LockInfo {
    /// A new lock's details for `operation`, by this process.
    pub fn new(operation: &str) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_owned(),
            holder: std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .unwrap_or_else(|_| "unknown user".into()),
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        }
    }

    /// How long it has been held, by this machine's clock.
    pub fn age(&self) -> Option<Duration> {
        let created = humantime::parse_rfc3339_weak(&self.created).ok()?;
        SystemTime::now().duration_since(created).ok()
    }
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ID {}, operation `{}`, held by {} (pid {} on {}) since {}",
            self.id, self.operation, self.holder, self.pid, self.host, self.created
        )?;
        if let Some(age) = self.age() {
            write!(f, " ({} ago)", humantime::format_duration(Duration::from_secs(age.as_secs())))?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "state {location} is locked: {info}\nAnother sslprov run is using it; wait for it, or retry with --lock-timeout"
    )]
    Held { location: String, info: Box<LockInfo> },
    #[error(
        "state {location} is locked: {info}\nAnother sslprov run is using it; wait for it, or retry with \
         --lock-timeout. A remote lock stays when its run is killed: if no run is using the state any more, \
         remove the lock with `sslprov state force-unlock {}`", info.id
    )]
    HeldRemote { location: String, info: Box<LockInfo> },
    #[error("state {location} is locked by another process (no lock details could be read)")]
    HeldUnknown { location: String },
    #[error("state {location} is not locked")]
    NotLocked { location: String },
    #[error("the lock of state {location} has ID {}, not {given}: {info}; nothing was removed", info.id)]
    WrongId { location: String, given: String, info: Box<LockInfo> },
    #[error(
        "state {location} is locked by a running process: {info}\nA local lock is released by the kernel when \
         that process ends; stop it rather than forcing the lock"
    )]
    LocalHeld { location: String, info: Box<LockInfo> },
    #[error("cannot lock state {location}: {source}")]
    Io { location: String, source: std::io::Error },
}

/// A held state lock. Released by [`StateLock::release`], or when dropped.
#[derive(Debug)]
pub struct StateLock {
    pub info: LockInfo,
    held: Held,
}

#[derive(Debug)]
pub(crate) enum Held {
    Local(File),
    Remote(Arc<dyn RemoteLock>),
}

/// A lock object in a remote store.
#[async_trait::async_trait]
pub(crate) trait RemoteLock: Send + Sync + std::fmt::Debug {
    /// Removes the lock object if it is still this run's. Idempotent.
    async fn release(&self);
}

/// What releases locks from elsewhere (the interrupt handler, before it exits the process).
#[derive(Clone, Debug, Default)]
pub struct Releaser(Vec<Arc<dyn RemoteLock>>);

impl Releaser {
    pub async fn release(&self) {
        for remote in &self.0 {
            remote.release().await;
        }
    }

    /// Releases both this one's locks and `other`'s.
    pub fn and(mut self, other: Releaser) -> Releaser {
        self.0.extend(other.0);
        self
    }
}

impl StateLock {
    pub(crate) fn new(info: LockInfo, held: Held) -> StateLock {
        StateLock { info, held }
    }

    /// A handle that releases this lock (a remote one; a local lock goes with the process).
    pub fn releaser(&self) -> Releaser {
        match &self.held {
            Held::Local(_) => Releaser::default(),
            Held::Remote(r) => Releaser(vec![Arc::clone(r)]),
        }
    }

    pub async fn release(self) {
        if let Held::Remote(r) = &self.held {
            r.release().await;
        }
        // Drop does the rest (a local lock; a remote one is released already, which is a no-op).
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        match &self.held {
            Held::Local(file) => {
                // Clear the holder details first so nobody reads a released lock as held.
                let _ = file.set_len(0);
                let _ = file.unlock();
            }
            Held::Remote(remote) => release_blocking(remote),
        }
    }
}

/// A lock dropped on an error path, or by a caller that never awaits its release: releasing it
/// needs the network, so wait for that here rather than leave a stuck lock. Possible only on a
/// multi-threaded runtime (the CLI's); elsewhere the lock stays, and says so.
fn release_blocking(remote: &Arc<dyn RemoteLock>) {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            let remote = Arc::clone(remote);
            tokio::task::block_in_place(|| handle.block_on(async move { remote.release().await }));
        }
        _ => tracing::warn!("a remote state lock could not be released here; `sslprov state force-unlock` removes it"),
    }
}

/// `now + timeout`, or `None` when that is beyond what the clock can represent: wait for ever.
/// The runtime's clock, so that tests on paused time see the waits they expect.
pub(crate) fn deadline(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// How long to sleep before trying again: `poll`, but never past the deadline. `None` once the
/// deadline has passed.
pub(crate) fn next_try(deadline: Option<Instant>, poll: Duration) -> Option<Duration> {
    match deadline {
        None => Some(poll),
        Some(d) => {
            let left = d.checked_duration_since(Instant::now()).filter(|l| !l.is_zero())?;
            Some(left.min(poll))
        }
    }
}

/// How often a busy local lock is tried again.
const LOCAL_POLL: Duration = Duration::from_millis(200);

/// Takes the OS lock on `<state>.lock`, trying again until `timeout` has passed. Waits on the
/// async runtime's timer, never a thread's sleep.
pub(crate) async fn acquire_local(
    state_path: &Path,
    info: LockInfo,
    timeout: Duration,
) -> Result<StateLock, LockError> {
    let path = lock_path(state_path);
    let location = state_path.display().to_string();
    let io = |source| LockError::Io { location: location.clone(), source };
    let deadline = deadline(timeout);
    let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        match next_try(deadline, LOCAL_POLL) {
            Some(pause) => tokio::time::sleep(pause).await,
            None => {
                return Err(match read_holder(&mut file) {
                    Some(info) => LockError::Held { location, info: Box::new(info) },
                    None => LockError::HeldUnknown { location },
                });
            }
        }
    }
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(serde_json::to_string_pretty(&info).expect("serializes").as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(StateLock::new(info, Held::Local(file)))
}

/// Who holds the local lock, if anyone does: what `force-unlock` tells about a local state.
pub(crate) fn local_holder(state_path: &Path) -> Result<Option<LockInfo>, LockError> {
    let location = state_path.display().to_string();
    let path = lock_path(state_path);
    let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(LockError::Io { location, source }),
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            Ok(None)
        }
        Err(std::fs::TryLockError::WouldBlock) => match read_holder(&mut file) {
            Some(info) => Ok(Some(info)),
            None => Err(LockError::HeldUnknown { location }),
        },
        Err(std::fs::TryLockError::Error(source)) => Err(LockError::Io { location, source }),
    }
}

fn read_holder(file: &mut File) -> Option<LockInfo> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

pub(crate) fn lock_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state_path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_is_refused_with_the_first_ones_details() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let first = acquire_local(&state, LockInfo::new("apply"), Duration::ZERO).await.unwrap();
        let err = acquire_local(&state, LockInfo::new("plan"), Duration::from_millis(300)).await.unwrap_err();
        match &err {
            LockError::Held { info, .. } => assert_eq!(**info, first.info),
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains(&format!(
            "operation `apply`, held by {} (pid {}",
            first.info.holder,
            std::process::id()
        )));
        assert_eq!(local_holder(&state).unwrap(), Some(first.info.clone()));
        drop(first);
        assert_eq!(local_holder(&state).unwrap(), None);
        acquire_local(&state, LockInfo::new("plan"), Duration::ZERO).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_for_a_lock_leaves_the_runtime_free() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let first = acquire_local(&state, LockInfo::new("apply"), Duration::ZERO).await.unwrap();
        // On a single-threaded runtime, a thread sleep in the waiter would starve this task.
        let ticks = tokio::spawn(async {
            let mut n = 0;
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                n += 1;
            }
            n
        });
        let waited = acquire_local(&state, LockInfo::new("plan"), Duration::from_secs(1)).await;
        assert!(matches!(waited, Err(LockError::Held { .. })));
        assert!(ticks.is_finished(), "the other task ran while the lock was awaited");
        assert_eq!(ticks.await.unwrap(), 5);
        drop(first);
    }

    #[test]
    fn huge_timeouts_wait_for_ever_instead_of_overflowing() {
        assert_eq!(deadline(Duration::MAX), None);
        assert_eq!(next_try(None, LOCAL_POLL), Some(LOCAL_POLL));
        let past = Instant::now().checked_sub(Duration::from_secs(1));
        assert_eq!(next_try(past, LOCAL_POLL), None);
        let soon = deadline(Duration::from_secs(3600));
        assert_eq!(next_try(soon, LOCAL_POLL), Some(LOCAL_POLL));
    }

    #[test]
    fn the_holder_shows_its_age() {
        let mut info = LockInfo::new("apply");
        info.created = humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(125)).to_string();
        let shown = info.to_string();
        assert!(shown.contains("(2m 5s ago)") || shown.contains("(2m 6s ago)"), "{shown}");
    }
}
