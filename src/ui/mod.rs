//! How sslprov renders for people what the commands print: plans, progress, reports. JSON goes
//! through serde.

mod plan;
mod progress;

pub use plan::render_plan;
pub use progress::{LineProgress, Progress};
