//! What can go wrong reading, writing and locking a state.

use sslprov_provider::ProviderError;

use super::journal::JournalError;
use super::lock::LockError;
use super::model::STATE_VERSION;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("cannot read state {location}: {source}")]
    Read { location: String, source: std::io::Error },
    #[error("cannot write state {location}: {source}")]
    Write { location: String, source: std::io::Error },
    #[error("state {location} is not valid sslprov state: {source}")]
    Parse { location: String, source: serde_json::Error },
    #[error("state {location} has version {found}; this sslprov reads version {STATE_VERSION}")]
    Version { location: String, found: u32 },
    #[error("the journal of state {location} cannot be replayed: {source}")]
    Journal { location: String, source: JournalError },
    /// A compare-and-swap lost: someone wrote the state since this run read it.
    #[error(
        "state {location} changed since this run read it ({detail}); nothing was overwritten. Another writer \
         (a forced unlock, or a `state push`) got there first: run `sslprov plan` again"
    )]
    Conflict { location: String, detail: String },
    #[error("state {location}: {source}")]
    Remote { location: String, source: Box<ProviderError> },
    #[error(
        "state {location} was migrated to {to} (serial {serial}, {at}); change the spec's `state:` to the new \
         location (see README, \"Moving a state\")"
    )]
    Moved { location: String, to: String, serial: u64, at: String },
    #[error("an earlier write of state {location} failed in this run; no further steps are recorded")]
    Poisoned { location: String },
}
