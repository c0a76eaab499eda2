use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::error::{Report, exit};
use crate::state::StateFile;

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses in the state.
    List(StateArgs),
    /// Show one resource's state as JSON.
    Show {
        address: String,
        #[command(flatten)]
        args: StateArgs,
    },
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// The spec file (its `state.path` names the state).
    #[arg(short = 'f', long = "file", default_value_os_t = super::default_spec())]
    file: PathBuf,
    /// The state file, instead of the spec's.
    #[arg(long)]
    state: Option<PathBuf>,
}

impl StateArgs {
    fn state_file(&self) -> Result<StateFile, Report> {
        match &self.state {
            Some(p) => Ok(StateFile::new(p)),
            None => Ok(StateFile::new(super::load_spec(&self.file)?.state_path)),
        }
    }
}

pub fn exec(c: StateCommand) -> Result<u8, Report> {
    match c {
        StateCommand::List(a) => {
            let file = a.state_file()?;
            for (address, r) in file.read()?.map(|s| s.resources).unwrap_or_default() {
                let pending = r.intent.map(|i| format!("  (unfinished {:?})", i.op).to_lowercase()).unwrap_or_default();
                let shared = if r.shared.is_some() { "  (shared)" } else { "" };
                println!("{address}  {}{shared}{pending}", r.id.unwrap_or_else(|| "-".into()));
            }
        }
        StateCommand::Show { address, args } => {
            let state = args.state_file()?.read()?.ok_or_else(|| Report::new("no state yet"))?;
            let r = state.resources.get(&address).ok_or_else(|| Report::new(format!("no {address} in state")))?;
            super::print_json(r)?;
        }
    }
    Ok(exit::OK)
}
