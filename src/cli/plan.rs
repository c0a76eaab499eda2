use std::path::PathBuf;

use clap::Args;

use super::RunArgs;
use crate::error::{Report, exit};
use crate::plan::Mode;

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
    /// Print the plan as JSON (the format `show --json` prints; see the README).
    #[arg(long)]
    json: bool,
    /// Plan the destruction of what sslprov made.
    #[arg(long)]
    destroy: bool,
    /// With --destroy: put adopted tracking records back as they were found.
    #[arg(long)]
    restore_adopted: bool,
    #[command(flatten)]
    run: RunArgs,
}

pub async fn exec(a: PlanArgs) -> Result<u8, Report> {
    let spec = super::load_spec(&a.file)?;
    let mode = if a.destroy { Mode::Destroy } else { Mode::Apply };
    let planned = super::make_plan(&spec, &a.run, mode, a.restore_adopted, "plan").await?;
    let plan = planned.plan;
    if a.json {
        super::print_json(&plan)?;
    } else {
        print!("{}", crate::ui::render_plan(&plan));
    }
    if let Some(out) = &a.out {
        std::fs::write(out, serde_json::to_vec_pretty(&plan)?)
            .map_err(|e| Report::new(format!("cannot write the plan to {}: {e}", out.display())))?;
        if !a.json {
            println!("\nSaved the plan to {}. To carry it out: sslprov apply {}", out.display(), out.display());
        }
    }
    Ok(if a.detailed_exitcode && plan.has_changes() { exit::CHANGES } else { exit::OK })
}
