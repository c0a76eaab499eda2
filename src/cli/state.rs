use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::migrate;
use crate::error::{Report, exit};
use crate::state::{Location, State, Store};

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
    /// Print the whole state as JSON, with what a stopped run recorded (e.g. to keep a copy).
    Pull(StateArgs),
    /// Replace the state with FILE (a state `state pull` printed). Refuses another lineage, or an
    /// older serial than the state's, unless --force.
    Push {
        #[arg(value_name = "FILE")]
        state_file: PathBuf,
        /// Replace even a state of another lineage, or a newer one.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        args: StateArgs,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Copy the state to S3 or to a local file, check the copy, and mark the old place as moved
    /// (then change the spec's `state:`).
    Migrate(migrate::MigrateArgs),
    /// Remove a remote state's lock that a killed run left. Needs the lock's ID, which the
    /// "state is locked" error shows.
    ForceUnlock {
        lock_id: String,
        #[command(flatten)]
        args: StateArgs,
    },
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// The spec file (its `state:` names the state).
    #[arg(short = 'f', long = "file", default_value_os_t = super::default_spec())]
    pub file: PathBuf,
    /// A local state file, instead of the spec's state.
    #[arg(long)]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// How long to wait for the state lock held by another run.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    pub lock_timeout: Duration,
}

impl StateArgs {
    pub fn location(&self) -> Result<Location, Report> {
        match &self.state {
            Some(p) => Ok(Location::Local(p.clone())),
            None => Ok(super::load_spec(&self.file)?.state),
        }
    }

    async fn store(&self) -> Result<Store, Report> {
        Ok(Store::open(&self.location()?).await?)
    }
}

pub async fn exec(c: StateCommand) -> Result<u8, Report> {
    match c {
        StateCommand::List(a) => {
            for (address, r) in a.store().await?.read().await?.state.map(|s| s.resources).unwrap_or_default() {
                let pending = r.intent.map(|i| format!("  (unfinished {:?})", i.op).to_lowercase()).unwrap_or_default();
                let shared = if r.shared.is_some() { "  (shared)" } else { "" };
                outln!("{address}  {}{shared}{pending}", r.id.unwrap_or_else(|| "-".into()));
            }
        }
        StateCommand::Show { address, args } => {
            let state = args.store().await?.read().await?.state.ok_or_else(|| Report::new("no state yet"))?;
            let r = state.resources.get(&address).ok_or_else(|| Report::new(format!("no {address} in state")))?;
            super::print_json(r)?;
        }
        StateCommand::Pull(a) => {
            let store = a.store().await?;
            let state = store.read().await?.state;
            let state = state.ok_or_else(|| Report::new(format!("no state at {} yet", store.location())))?;
            super::print_json(&state)?;
        }
        StateCommand::Push { state_file, force, args, lock } => {
            push(&state_file, force, &args, lock.lock_timeout).await?
        }
        StateCommand::Migrate(a) => migrate::exec(a).await?,
        StateCommand::ForceUnlock { lock_id, args } => {
            let store = args.store().await?;
            let info = store.force_unlock(&lock_id).await?;
            outln!("Removed the lock of {}: {info}", store.location());
        }
    }
    Ok(exit::OK)
}

/// `state push`: the pushed state replaces the current one with a serial above both, so a plan
/// saved against either is stale, and serials only grow.
async fn push(file: &std::path::Path, force: bool, args: &StateArgs, timeout: Duration) -> Result<(), Report> {
    let bytes = std::fs::read(file).map_err(|e| Report::new(format!("cannot read {}: {e}", file.display())))?;
    let mut pushed = crate::state::parse_state(&file.display().to_string(), &bytes)?;
    let store = args.store().await?;
    let lock = store.lock("push", timeout).await?;
    let _interrupts = super::interrupt::Interrupts::watch(lock.releaser());
    let loaded = store.read().await?;
    let at = store.location();
    if let Some(current) = &loaded.state {
        if let Some(why) = refusal(&pushed, current) {
            if !force {
                return Err(Report::new(format!(
                    "refusing to push {}: {why}. Pull the state and start from it, or pass --force to replace it \
                     anyway (the state at {at} is then lost but for its backup)",
                    file.display()
                )));
            }
            eprintln!("Warning: {why}; replacing it (--force).");
        }
        pushed.serial = pushed.serial.max(current.serial) + 1;
    }
    store.replace(&lock, &loaded, &pushed).await?;
    lock.release().await;
    outln!("Pushed {} to {at} (lineage {}, serial {}).", file.display(), pushed.lineage, pushed.serial);
    Ok(())
}

/// Why pushing `pushed` over `current` could lose something.
fn refusal(pushed: &State, current: &State) -> Option<String> {
    if pushed.lineage != current.lineage {
        return Some(format!(
            "it has lineage {}, but the state has lineage {}: it is another state",
            pushed.lineage, current.lineage
        ));
    }
    if pushed.serial < current.serial {
        return Some(format!(
            "it is at serial {}, but the state is at serial {}: it is older, and pushing it would undo {} recorded \
             steps",
            pushed.serial,
            current.serial,
            current.serial - pushed.serial
        ));
    }
    if pushed.serial == current.serial && pushed.resources != current.resources {
        return Some(format!(
            "it is at serial {}, as the state is, but differs from it: the two have diverged",
            pushed.serial
        ));
    }
    None
}
