//! `sslprov schema`: the spec's JSON Schema, for editors and pipelines.

use clap::Args;

use crate::error::{Report, exit};

#[derive(Debug, Args)]
pub struct SchemaArgs {}

pub fn exec(_: SchemaArgs) -> Result<u8, Report> {
    super::print_json(&crate::spec::schema())?;
    Ok(exit::OK)
}
