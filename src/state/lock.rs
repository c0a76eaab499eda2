//! The state lock: an OS file lock (released by the kernel if the process dies, so a crash never
//! leaves a stuck lock) on `<state>.lock`, which also holds who took it, for the error a second
//! run shows.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub operation: String,
    pub holder: String,
    pub pid: u32,
    pub host: String,
    pub created: String,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ID {}, operation `{}`, held by {} (pid {} on {}) since {}",
            self.id, self.operation, self.holder, self.pid, self.host, self.created
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "state {path} is locked: {info}\nAnother sslprov run is using it; wait for it, or retry with --lock-timeout"
    )]
    Held { path: PathBuf, info: Box<LockInfo> },
    #[error("state {path} is locked by another process (no lock details could be read)")]
    HeldUnknown { path: PathBuf },
    #[error("cannot lock state {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

#[derive(Debug)]
pub struct Lock {
    file: File,
    pub info: LockInfo,
}

impl Lock {
    /// Takes the lock for `operation`, retrying until `timeout` has passed.
    pub fn acquire(state_path: &Path, operation: &str, timeout: Duration) -> Result<Lock, LockError> {
        let path = lock_path(state_path);
        let io = |source| LockError::Io { path: path.clone(), source };
        let state = state_path.to_path_buf();
        let deadline = Instant::now() + timeout;
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
            if Instant::now() >= deadline {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(match serde_json::from_str(&text) {
                    Ok(info) => LockError::Held { path: state, info: Box::new(info) },
                    Err(_) => LockError::HeldUnknown { path: state },
                });
            }
            std::thread::sleep(Duration::from_millis(200));
            let _ = file.seek(SeekFrom::Start(0));
        }
        let info = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_owned(),
            holder: std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .unwrap_or_else(|_| "unknown user".into()),
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        };
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(serde_json::to_string_pretty(&info).expect("serializes").as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Lock { file, info })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Clear the holder details first so nobody reads a released lock as held.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

pub fn lock_path(state_path: &Path) -> PathBuf {
    let mut name = state_path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state_path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_details() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.json");
        let first = Lock::acquire(&state, "apply", Duration::ZERO).unwrap();
        let err = Lock::acquire(&state, "plan", Duration::from_millis(300)).unwrap_err();
        match &err {
            LockError::Held { info, .. } => assert_eq!(**info, first.info),
            other => panic!("unexpected {other}"),
        }
        assert!(err.to_string().contains(&format!(
            "operation `apply`, held by {} (pid {}",
            first.info.holder,
            std::process::id()
        )));
        drop(first);
        Lock::acquire(&state, "plan", Duration::ZERO).unwrap();
    }
}
