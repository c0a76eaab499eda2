use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::{Report, exit};
use crate::plan::{FORMAT_VERSION, Plan};

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved by `plan --out`.
    plan: PathBuf,
    /// Print it as JSON.
    #[arg(long)]
    json: bool,
}

pub fn exec(a: ShowArgs) -> Result<u8, Report> {
    let plan = read_plan(&a.plan)?;
    if a.json {
        super::print_json(&plan)?;
    } else {
        print!("{}", crate::ui::render_plan(&plan));
    }
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
