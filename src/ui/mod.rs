//! Everything sslprov prints for people: plans, progress, reports. JSON goes through serde.

mod plan;
mod progress;

pub use plan::render_plan;
pub use progress::{LineProgress, Progress};
