use std::path::{Path, PathBuf};

use clap::Args;

use super::plan::Format;
use crate::error::{Report, exit};
use crate::plan::{FORMAT_VERSION, Plan};

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved by `plan --out`.
    plan: PathBuf,
    /// How to print it: text, json or markdown.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Short for --format json.
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

pub fn exec(a: ShowArgs) -> Result<u8, Report> {
    let plan = read_plan(&a.plan)?;
    (if a.json { Format::Json } else { a.format }).print(&plan)?;
    Ok(exit::OK)
}

pub fn read_plan(path: &Path) -> Result<Plan, Report> {
    let bytes = std::fs::read(path).map_err(|e| Report::new(format!("cannot read plan {}: {e}", path.display())))?;
    #[derive(serde::Deserialize)]
    struct Header {
        format_version: String,
    }
    let header: Header = serde_json::from_slice(&bytes)
        .map_err(|_| Report::new(format!("{} is not an sslprov plan file", path.display())))?;
    if header.format_version != FORMAT_VERSION {
        return Err(Report::new(format!(
            "{} is a plan of format {}; this sslprov reads format {FORMAT_VERSION}",
            path.display(),
            header.format_version
        )));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| Report::new(format!("{} is not a valid sslprov plan: {e}", path.display())))
}
