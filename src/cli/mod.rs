//! Command-line interface: one file per subcommand, each parsing its arguments and calling the
//! engine. Output for people goes through `ui`; `--json` output is the documented serde form.

mod apply;
mod handoff;
mod interrupt;
mod migrate;
mod plan;
mod show;
mod state;
mod validate;
mod verify;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::error::{Report, exit};
use crate::plan::{Mode, Plan, PlanInput};
use crate::providers::Providers;
use crate::refresh::Scopes;
use crate::spec::Spec;
use crate::state::{Loaded, State, StateLock, Store};

#[derive(Debug, Parser)]
#[command(
    name = "sslprov",
    version,
    about = "HTTPS click-tracking domains for Braze: certificate, CDN and DNS in a safe order"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log filter for stderr (error, warn, info, debug, trace; or a tracing directive).
    #[arg(long, global = true, env = "SSLPROV_LOG", default_value = "warn")]
    log: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a spec without touching any cloud.
    Validate(validate::ValidateArgs),
    /// Show what apply would change.
    Plan(plan::PlanArgs),
    /// Make the cloud match the spec (or carry out a saved plan).
    Apply(apply::ApplyArgs),
    /// Destroy what sslprov made for the spec's domains.
    Destroy(apply::DestroyArgs),
    /// Show a saved plan.
    Show(show::ShowArgs),
    /// Inspect, move and repair the state.
    #[command(subcommand)]
    State(state::StateCommand),
    /// Check each domain like a person would: DNS, TLS, the ESP's paths, Host-header safety.
    Verify(verify::VerifyArgs),
    /// What to send the Braze customer success manager for each domain that verifies ready.
    Handoff(handoff::HandoffArgs),
}

/// Options shared by commands that read the cloud and the state.
#[derive(Debug, Args, Clone)]
struct RunArgs {
    /// Limit to these domain keys (repeatable).
    #[arg(long = "target", value_name = "KEY")]
    targets: Vec<String>,
    /// How long to wait for the state lock held by another run.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    lock_timeout: Duration,
}

pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::ERROR } else { exit::OK });
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Validate(a) => validate::exec(a),
            Command::Plan(a) => plan::exec(a).await,
            Command::Apply(a) => apply::exec(a).await,
            Command::Destroy(a) => apply::exec_destroy(a).await,
            Command::Show(a) => show::exec(a),
            Command::State(c) => state::exec(c).await,
            Command::Verify(a) => verify::exec(a).await,
            Command::Handoff(a) => handoff::exec(a).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(report) => {
            eprintln!("Error: {report}");
            ExitCode::from(report.code)
        }
    }
}

/// A refreshed plan under the state lock; the lock is returned so apply keeps holding it.
struct Planned {
    plan: Plan,
    /// The spec the plan was made from (for a saved plan, the one whose hash was checked).
    spec: Spec,
    /// The state as read under the lock.
    loaded: Loaded,
    store: Store,
    lock: StateLock,
    /// Releases the lock if the run is interrupted.
    interrupts: interrupt::Interrupts,
    providers: Providers,
}

/// The spec's state store, locked for `operation`, and the state read under the lock.
async fn locked_state(
    spec: &Spec,
    operation: &str,
    timeout: Duration,
) -> Result<(Store, StateLock, interrupt::Interrupts, Loaded), Report> {
    let store = Store::open(&spec.state).await?;
    let lock = store.lock(operation, timeout).await?;
    let interrupts = interrupt::Interrupts::watch(lock.releaser());
    let loaded = store.read().await?;
    Ok((store, lock, interrupts, loaded))
}

async fn make_plan(
    spec: &Spec,
    run: &RunArgs,
    mode: Mode,
    restore_adopted: bool,
    operation: &str,
) -> Result<Planned, Report> {
    let (store, lock, interrupts, loaded) = locked_state(spec, operation, run.lock_timeout).await?;
    let state = loaded.state.as_ref();
    let lineage = state.map_or_else(|| uuid::Uuid::new_v4().to_string(), |s| s.lineage.clone());
    let (providers, mut plan) = refreshed_plan(spec, state, run, mode, restore_adopted, &lineage, now()).await?;
    // What the state's home lacks (an S3 bucket without versioning) is the plan's to show.
    for note in store.notes().await {
        tracing::warn!("{note}");
        plan.warnings.push(note);
    }
    plan.warnings.sort();
    Ok(Planned { plan, spec: spec.clone(), loaded, store, lock, interrupts, providers })
}

/// Connect what the spec and state need, check the credentials, sweep what exists, and plan.
async fn refreshed_plan(
    spec: &Spec,
    state: Option<&State>,
    run: &RunArgs,
    mode: Mode,
    restore_adopted: bool,
    lineage: &str,
    created: String,
) -> Result<(Providers, Plan), Report> {
    let scopes = crate::refresh::scopes(spec, state, &run.targets);
    let providers = Providers::connect(&crate::refresh::provider_names(&scopes)).await?;
    let notes = preflight(&providers, &scopes).await?;
    let inventory = crate::refresh::refresh(&providers, &scopes).await?;
    let mut plan = crate::plan::build(PlanInput {
        spec,
        state,
        inventory: &inventory,
        providers: &providers,
        mode,
        targets: &run.targets,
        restore_adopted,
        new_lineage: lineage,
        created,
    })
    .map_err(|errs| Report::new(errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))?;
    for n in notes {
        tracing::warn!("{n}");
    }
    tracing::info!(calls = ?providers.calls.snapshot(), "refresh done");
    plan.warnings.sort();
    Ok((providers, plan))
}

/// Before planning: may each provider's credentials do what the spec needs? A plan that would
/// fail half-way through apply for a missing permission is worse than no plan. Returns what could
/// not be verified.
async fn preflight(providers: &Providers, scopes: &Scopes) -> Result<Vec<String>, Report> {
    let checks = providers.iter().map(|(name, p)| async move {
        let wanted: Vec<_> = scopes
            .iter()
            .filter(|((provider, _), _)| provider == name)
            .flat_map(|(_, scope)| scope.wanted.iter().filter_map(|d| p.normalise(d).ok()))
            .collect();
        p.preflight(&wanted).await
    });
    let notes = futures::future::try_join_all(checks).await.map_err(|e| Report::new(e.message))?;
    Ok(notes.into_iter().flatten().collect())
}

fn load_spec(path: &Path) -> Result<Spec, Report> {
    Ok(Spec::load(path)?)
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

fn default_spec() -> PathBuf {
    PathBuf::from("sslprov.yaml")
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Report> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
