use std::path::PathBuf;

use clap::Args;

use crate::error::{Report, exit};
use crate::spec::Spec;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The spec file.
    #[arg(short = 'f', long = "file", default_value_os_t = super::default_spec())]
    file: PathBuf,
    /// Print the result as JSON: {"valid": bool, "domains": [...], "errors": [{file, line, column, field, message, allowed}]}.
    #[arg(long)]
    json: bool,
}

pub fn exec(a: ValidateArgs) -> Result<u8, Report> {
    match Spec::load(&a.file) {
        Ok(spec) => {
            if a.json {
                super::print_json(
                    &serde_json::json!({"valid": true, "domains": spec.domains.values().collect::<Vec<_>>(), "errors": []}),
                )?;
            } else {
                println!("The spec is valid: {} domain(s).", spec.domains.len());
            }
            Ok(exit::OK)
        }
        Err(errors) if a.json => {
            super::print_json(&serde_json::json!({"valid": false, "domains": [], "errors": errors.0}))?;
            Ok(exit::ERROR)
        }
        Err(errors) => Err(errors.into()),
    }
}
