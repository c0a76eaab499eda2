//! sslprov's record of what it made: a versioned JSON file, written atomically after every step,
//! with an intent log so a killed run can be finished by the next one.

mod file;
mod lock;
mod model;

pub use file::{StateFile, StateFileError};
pub use lock::{Lock, LockError, LockInfo};
pub use model::{Intent, Op, ResourceState, State};
