use std::path::PathBuf;

use clap::Args;

use super::RunArgs;
use crate::error::{Report, exit};
use crate::plan::{Mode, Plan};

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The spec file.
    #[arg(short = 'f', long = "file", default_value_os_t = super::default_spec())]
    file: PathBuf,
    /// Save the plan here, for `sslprov apply PLAN`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    detailed_exitcode: bool,
    /// How to print the plan: text, json (the documented format, see the README) or markdown
    /// (for a pull-request comment).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Short for --format json.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Plan the destruction of what sslprov made.
    #[arg(long)]
    destroy: bool,
    /// With --destroy: put adopted tracking records back as they were found.
    #[arg(long)]
    restore_adopted: bool,
    /// Plan even when the plan would take down many domains at once (see the README).
    #[arg(long)]
    allow_mass_change: bool,
    #[command(flatten)]
    run: RunArgs,
}

pub async fn exec(a: PlanArgs) -> Result<u8, Report> {
    let spec = super::load_spec(&a.file)?;
    let mode = if a.destroy { Mode::Destroy } else { Mode::Apply };
    let planned = super::make_plan(&spec, &a.run, mode, a.restore_adopted, "plan").await?;
    let format = if a.json { Format::Json } else { a.format };
    format.print(&planned.plan)?;
    // Shown, so the reviewer sees which domains; refused, so it is neither saved nor applied.
    super::guard_mass_change(&planned, a.allow_mass_change)?;
    let plan = planned.plan;
    if let Some(out) = &a.out {
        std::fs::write(out, serde_json::to_vec_pretty(&plan)?)
            .map_err(|e| Report::new(format!("cannot write the plan to {}: {e}", out.display())))?;
        if format == Format::Text {
            println!("\nSaved the plan to {}. To carry it out: sslprov apply {}", out.display(), out.display());
        }
    }
    Ok(if a.detailed_exitcode && plan.has_changes() { exit::CHANGES } else { exit::OK })
}

/// The forms a plan is printed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Format {
    Text,
    Json,
    Markdown,
}

impl Format {
    pub(super) fn print(self, plan: &Plan) -> Result<(), Report> {
        match self {
            Format::Text => print!("{}", crate::ui::render_plan(plan)),
            Format::Json => super::print_json(plan)?,
            Format::Markdown => print!("{}", crate::ui::render_markdown(plan)),
        }
        Ok(())
    }
}
