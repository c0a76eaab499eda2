use std::path::PathBuf;

use clap::Args;

use crate::error::Report;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The spec file.
    #[arg(short = 'f', long = "file", default_value_os_t = super::default_spec())]
    file: PathBuf,
}

pub async fn exec(_a: VerifyArgs) -> Result<u8, Report> {
    Err(Report::new("verify is not implemented yet"))
}
