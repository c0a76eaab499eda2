//! sslprov: declarative HTTPS click-tracking domains for Braze. `plan` shows what will change,
//! `apply` makes it so in a safe order: certificate issued → CDN deployed → only then the
//! tracking CNAME flips.

pub mod apply;
pub mod cli;
pub mod discover;
pub mod drift;
pub mod error;
pub mod plan;
pub mod providers;
pub mod refresh;
pub mod registry;
pub mod spec;
pub mod state;
pub mod template;
#[cfg(test)]
mod testkit;
pub mod ui;
pub mod verify;

use std::ffi::OsString;
use std::process::ExitCode;

/// The whole program: parse arguments, run one command, turn the outcome into an exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    cli::main(args)
}
