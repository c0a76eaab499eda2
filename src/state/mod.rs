//! sslprov's record of what it made, and where it lives.
//!
//! A state is a snapshot (the JSON document [`State`]) and a journal of the steps recorded since
//! ([`journal`]): every intent before its cloud call, every result after it. A step appends one
//! entry and makes it durable, so its cost does not grow with the state; the snapshot is
//! rewritten once per run. Readers replay the journal, so a run killed at any instant is seen as
//! far as it got, and finished by the next. See [`store`] for the store, [`backend`] for the two
//! homes a state can have (a local file under an OS lock, or S3 objects written with
//! compare-and-swap under a lock object), and [`lock`] for the locks.

mod backend;
mod error;
mod file;
pub mod journal;
mod location;
mod lock;
mod model;
mod stats;
mod store;

pub use backend::{Moved, Version};
pub use error::StoreError;
pub use file::StateFile;
pub use location::{Location, S3Location};
pub use lock::{LockError, LockInfo, Releaser, StateLock};
pub use model::{Intent, Op, ResourceState, STATE_VERSION, State};
pub use stats::{IoStats, io_stats};
pub use store::{Loaded, StateWriter, Store, parse_state};

/// The name `crate::error` converts into a report.
pub use error::StoreError as StateFileError;
