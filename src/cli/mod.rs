//! Command-line interface: one file per subcommand, each parsing its arguments and calling the
//! engine. Plans, progress and reports for people are rendered by `ui`, and each command prints
//! its own one-line summaries; `--json` output is the documented serde form.

/// `print!` for commands that change the cloud or hold the state's lock: when the reader has gone
/// (`sslprov apply | head`) the rest of the output is lost and the run goes on to its end and
/// releases its lock, where `print!` would panic mid-apply.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// [`out!`] with a newline.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod apply;
mod args;
mod color;
mod completions;
mod drift;
mod handoff;
mod init;
mod interrupt;
mod migrate;
mod plan;
mod schema;
mod show;
mod state;
mod validate;
mod verify;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use self::color::Color;
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
    #[arg(long, global = true, env = "SSLPROV_LOG", value_name = "FILTER", default_value = "warn", value_parser = args::log_filter)]
    log: String,
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, global = true, value_name = "WHEN", value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a first spec from the HTTP-era tracking CNAMEs your DNS zones hold (reads only).
    Init(init::InitArgs),
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
    /// What changed in the cloud outside sslprov since the last apply (exit 2 when something did).
    Drift(drift::DriftArgs),
    /// Inspect, move and repair the state.
    #[command(subcommand)]
    State(state::StateCommand),
    /// Check each domain like a person would: DNS, TLS, the ESP's paths, Host-header safety.
    Verify(verify::VerifyArgs),
    /// What to send the Braze customer success manager for each domain that verifies ready.
    Handoff(handoff::HandoffArgs),
    /// Print the spec's JSON Schema (for editors: YAML language servers).
    Schema(schema::SchemaArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
}

/// Options shared by commands that read the cloud and the state.
#[derive(Debug, Args, Clone)]
struct RunArgs {
    /// Limit to these domain keys (repeatable).
    #[arg(long = "target", value_name = "KEY", value_parser = args::target)]
    targets: Vec<String>,
    /// How long to wait for the state lock held by another run (at most 7d).
    #[arg(long, value_name = "DURATION", value_parser = args::duration(Duration::ZERO), default_value = "0s")]
    lock_timeout: Duration,
}

pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    let env = color::Env::read();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => return usage_error(&e, Color::from_args(&args), &env),
    };
    if cli.command.only_prints() {
        // A reader that stops early (`| head`) ends the process as it ends `cat`. Not for a
        // command that changes the cloud or holds the state's lock: the signal would skip the
        // lock's release (their prints, `out!`, drop what a closed pipe cannot take).
        sigpipe::reset();
    }
    let stderr_color = cli.color.enabled(std::io::stderr().is_terminal(), &env);
    tracing_subscriber::fmt()
        .with_env_filter(log_filter(&cli.log))
        .with_writer(std::io::stderr)
        .with_ansi(stderr_color)
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
            Command::Init(a) => init::exec(a).await,
            Command::Validate(a) => validate::exec(a),
            Command::Plan(a) => plan::exec(a).await,
            Command::Apply(a) => apply::exec(a).await,
            Command::Destroy(a) => apply::exec_destroy(a).await,
            Command::Show(a) => show::exec(a),
            Command::Drift(a) => drift::exec(a).await,
            Command::State(c) => state::exec(c).await,
            Command::Verify(a) => verify::exec(a).await,
            Command::Handoff(a) => handoff::exec(a).await,
            Command::Schema(a) => schema::exec(a),
            Command::Completions(a) => completions::exec(a),
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(report) => {
            eprintln!("{}: {report}", error_label(stderr_color));
            ExitCode::from(report.code)
        }
    }
}

impl Command {
    /// Reads, plans or prints, and holds no lock: nothing is left half-done if it stops mid-print.
    fn only_prints(&self) -> bool {
        matches!(
            self,
            Command::Validate(_)
                | Command::Plan(_)
                | Command::Show(_)
                | Command::Drift(_)
                | Command::Verify(_)
                | Command::Handoff(_)
                | Command::Schema(_)
                | Command::Completions(_)
        )
    }
}

/// The tracing filter for `--log`. Below debug, aws-config's warnings are silenced: it warns
/// once per source it tries while looking for credentials (instance metadata first among them),
/// and sslprov says in one line what it found missing.
fn log_filter(directive: &str) -> tracing_subscriber::EnvFilter {
    let quiet = matches!(directive, "error" | "warn" | "info");
    let directive = if quiet { format!("{directive},aws_config=error") } else { directive.to_owned() };
    tracing_subscriber::EnvFilter::try_new(directive).unwrap_or_else(|_| "warn,aws_config=error".into())
}

fn error_label(color: bool) -> &'static str {
    if color { "\x1b[1;31mError\x1b[0m" } else { "Error" }
}

/// Help and version as clap writes them; a usage error on one line (what is wrong, and clap's
/// tip if it has one), like every other error, exit 1.
fn usage_error(e: &clap::Error, color: Color, env: &color::Env) -> ExitCode {
    use clap::error::ErrorKind::*;
    let rendered = e.render();
    if matches!(e.kind(), DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand) {
        let (terminal, code) = match e.use_stderr() {
            true => (std::io::stderr().is_terminal(), exit::ERROR),
            false => (std::io::stdout().is_terminal(), exit::OK),
        };
        let text = match color.enabled(terminal, env) {
            true => rendered.ansi().to_string(),
            false => rendered.to_string(),
        };
        match e.use_stderr() {
            true => eprint!("{text}"),
            false => print!("{text}"),
        }
        return ExitCode::from(code);
    }
    eprintln!(
        "{}: {}",
        error_label(color.enabled(std::io::stderr().is_terminal(), env)),
        one_line(&rendered.to_string())
    );
    ExitCode::from(exit::ERROR)
}

/// clap's `error: <what>\n\n  tip: <tip>\n\nUsage: …\n\nFor more information, try '--help'.` as
/// `<what> (tip: <tip>)`.
fn one_line(clap_error: &str) -> String {
    let mut paragraphs = clap_error.split("\n\n").map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "));
    let what = paragraphs.next().unwrap_or_default();
    let what = what.strip_prefix("error: ").unwrap_or(&what).to_owned();
    let tips: Vec<String> = paragraphs.filter(|p| p.starts_with("tip: ")).collect();
    if tips.is_empty() { what } else { format!("{what} ({})", tips.join("; ")) }
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
    let (providers, inventory, notes) = refreshed(spec, state, &run.targets).await?;
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

/// The mass-change guard (`plan::mass_change`) for an apply-mode plan, unless the user allowed
/// it. A destroy is its own explicit intent and is not guarded.
fn guard_mass_change(planned: &Planned, allowed: bool) -> Result<(), Report> {
    if allowed || planned.plan.mode != Mode::Apply {
        return Ok(());
    }
    let managed = planned.loaded.state.as_ref().map_or(0, |s| {
        s.resources.values().map(|r| r.domain.as_str()).collect::<std::collections::BTreeSet<_>>().len()
    });
    match crate::plan::mass_change(&planned.plan, managed) {
        Some(why) => Err(Report::new(format!("refused: {why}"))),
        None => Ok(()),
    }
}

/// Connect what the spec and state need, check the credentials, and sweep what exists. Returns
/// what the credential checks could not verify, with the rest.
async fn refreshed(
    spec: &Spec,
    state: Option<&State>,
    targets: &[String],
) -> Result<(Providers, crate::refresh::Inventory, Vec<String>), Report> {
    let scopes = crate::refresh::scopes(spec, state, targets);
    let providers = Providers::connect(&crate::refresh::provider_names(&scopes)).await?;
    let notes = preflight(&providers, &scopes).await?;
    let inventory = crate::refresh::refresh(&providers, &scopes).await?;
    Ok((providers, inventory, notes))
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
    outln!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
