//! Counters of the writes a state store made in this process: what the `state_store` benchmark
//! prints, and what its tests hold the journal to (a step costs one entry, not one state).

use std::sync::atomic::{AtomicU64, Ordering};

static BYTES: AtomicU64 = AtomicU64::new(0);
static FSYNCS: AtomicU64 = AtomicU64::new(0);
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Totals since the process started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Bytes written to state files or sent in state objects.
    pub bytes_written: u64,
    /// `fsync`/`fdatasync` calls on state files and their directory.
    pub fsyncs: u64,
    /// Requests to a remote store that write (PUT, DELETE).
    pub write_requests: u64,
}

impl IoStats {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: IoStats) -> IoStats {
        IoStats {
            bytes_written: self.bytes_written - earlier.bytes_written,
            fsyncs: self.fsyncs - earlier.fsyncs,
            write_requests: self.write_requests - earlier.write_requests,
        }
    }
}

pub fn io_stats() -> IoStats {
    IoStats {
        bytes_written: BYTES.load(Ordering::Relaxed),
        fsyncs: FSYNCS.load(Ordering::Relaxed),
        write_requests: REQUESTS.load(Ordering::Relaxed),
    }
}

pub(crate) fn wrote(bytes: usize) {
    BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
}

pub(crate) fn synced() {
    FSYNCS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn requested() {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
}
