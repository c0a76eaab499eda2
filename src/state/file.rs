//! Reading and writing the state file: temp file + fsync + rename, previous version kept as
//! `<file>.backup`, so a crash at any instant leaves either the old or the new state, whole.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::model::{STATE_VERSION, State};

#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("cannot read state {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("state {path} is not valid sslprov state: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("state {path} has version {found}; this sslprov reads version {STATE_VERSION}")]
    Version { path: PathBuf, found: u32 },
    #[error("cannot write state {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

#[derive(Debug, Clone)]
pub struct StateFile {
    pub path: PathBuf,
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFile { path: path.into() }
    }

    pub fn backup_path(&self) -> PathBuf {
        sibling(&self.path, "backup")
    }

    /// The state, or `None` when no state was written yet.
    pub fn read(&self) -> Result<Option<State>, StateFileError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateFileError::Read { path: self.path.clone(), source }),
        };
        #[derive(serde::Deserialize)]
        struct Header {
            version: u32,
        }
        let header: Header = serde_json::from_slice(&bytes)
            .map_err(|source| StateFileError::Parse { path: self.path.clone(), source })?;
        if header.version != STATE_VERSION {
            return Err(StateFileError::Version { path: self.path.clone(), found: header.version });
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StateFileError::Parse { path: self.path.clone(), source })
    }

    /// Writes `state` with its serial incremented.
    pub fn write(&self, state: &mut State) -> Result<(), StateFileError> {
        state.serial += 1;
        let err = |source| StateFileError::Write { path: self.path.clone(), source };
        let mut json = serde_json::to_vec_pretty(state).expect("state serializes");
        json.push(b'\n');
        let tmp = sibling(&self.path, &format!("tmp.{}", std::process::id()));
        {
            let mut f = fs::File::create(&tmp).map_err(err)?;
            f.write_all(&json).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        if self.path.exists() {
            let backup_tmp = sibling(&self.path, &format!("backup.tmp.{}", std::process::id()));
            fs::copy(&self.path, &backup_tmp).map_err(err)?;
            fs::rename(&backup_tmp, self.backup_path()).map_err(err)?;
        }
        fs::rename(&tmp, &self.path).map_err(err)?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename is durable only once the directory entry is.
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_with_a_backup_and_bumps_the_serial() {
        let dir = tempfile::tempdir().unwrap();
        let f = StateFile::new(dir.path().join("s.json"));
        assert_eq!(f.read().unwrap(), None);
        let mut s = State::new("lin".into());
        f.write(&mut s).unwrap();
        assert_eq!(s.serial, 1);
        assert!(!f.backup_path().exists());
        f.write(&mut s).unwrap();
        assert_eq!(f.read().unwrap().unwrap().serial, 2);
        let backup: State = serde_json::from_slice(&fs::read(f.backup_path()).unwrap()).unwrap();
        assert_eq!(backup.serial, 1);
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    }

    #[test]
    fn refuses_a_future_version_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let f = StateFile::new(dir.path().join("s.json"));
        fs::write(&f.path, r#"{"version": 9}"#).unwrap();
        assert!(matches!(f.read(), Err(StateFileError::Version { found: 9, .. })));
        fs::write(&f.path, "not json").unwrap();
        assert!(matches!(f.read(), Err(StateFileError::Parse { .. })));
    }
}
