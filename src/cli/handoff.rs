use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::RunArgs;
use super::verify::NetArgs;
use crate::error::{Report, exit};
use crate::verify::handoff;

#[derive(Debug, Args)]
pub struct HandoffArgs {
    /// The spec file.
    #[arg(short = 'f', long = "file", default_value_os_t = super::default_spec())]
    file: PathBuf,
    /// Markdown to send as it is, or JSON for a ticketing pipeline.
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
    #[command(flatten)]
    net: NetArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Markdown,
    Json,
}

/// Verifies, then writes the hand-off of the ready domains; exit 3 when any is not ready.
pub async fn exec(a: HandoffArgs) -> Result<u8, Report> {
    let spec = super::load_spec(&a.file)?;
    let v = super::verify::run(&spec, &a.net, &a.run).await?;
    let h = handoff::build(&spec, &v);
    match a.format {
        Format::Markdown => print!("{}", handoff::render_markdown(&h)),
        Format::Json => super::print_json(&h)?,
    }
    Ok(if v.ready { exit::OK } else { exit::NOT_READY })
}
