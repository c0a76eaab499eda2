use std::path::PathBuf;

use clap::Args;

use crate::error::{Report, exit};
use crate::state::Store;

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The spec file (it names the state and the providers).
    #[arg(short = 'f', long = "file", default_value_os_t = super::default_spec())]
    file: PathBuf,
    /// Limit to these domain keys (repeatable).
    #[arg(long = "target", value_name = "KEY", value_parser = super::args::target)]
    targets: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Reads the state without locking it: a scheduled drift check must not fail, nor hold up an
/// apply, because the two met; a snapshot is replaced whole and the journal replayed over it, so
/// the read is a state some run recorded.
pub async fn exec(a: DriftArgs) -> Result<u8, Report> {
    let spec = super::load_spec(&a.file)?;
    let Some(state) = Store::open(&spec.state).await?.read().await?.state else {
        return Err(Report::new(format!(
            "no state at {}: nothing was applied to drift from. Run `sslprov apply` first.",
            spec.state_path.display()
        )));
    };
    let (_, inventory, _) = super::refreshed(&spec, Some(&state), &a.targets).await?;
    let (checked, drifted) = crate::drift::detect(&state, &inventory, &a.targets);
    if a.json {
        super::print_json(&serde_json::json!({ "checked": checked, "drifted": drifted }))?;
    } else {
        print!("{}", crate::ui::render_drift(checked, &drifted));
    }
    Ok(if drifted.is_empty() { exit::OK } else { exit::CHANGES })
}
