//! `sslprov completions SHELL`: a completion script, generated from the same definitions that
//! parse the command line, so it cannot miss a subcommand or flag.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::error::{Report, exit};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

pub fn exec(a: CompletionsArgs) -> Result<u8, Report> {
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut super::Cli::command(), "sslprov", &mut script);
    // Written whole, as an error rather than clap_complete's panic when the reader has gone
    // (`sslprov completions bash | head`).
    std::io::stdout().write_all(&script).map_err(|e| Report::new(format!("cannot write the script: {e}")))?;
    Ok(exit::OK)
}
