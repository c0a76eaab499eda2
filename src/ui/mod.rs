//! How sslprov renders for people what the commands print: plans, progress, reports. JSON goes
//! through serde.

mod drift;
mod events;
mod markdown;
mod plan;
mod progress;

pub use drift::render_drift;
pub use events::{JsonProgress, emit};
pub use markdown::render_markdown;
pub use plan::render_plan;
pub use progress::{LineProgress, Progress};
