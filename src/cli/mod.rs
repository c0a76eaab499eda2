//! Command-line interface: one file per subcommand, each parsing its arguments and calling the
//! engine. Output for people goes through `ui`; `--json` output is the documented serde form.

mod apply;
mod handoff;
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
use crate::providers::{AwsOptions, Providers};
use crate::spec::{CdnKind, DnsKind, Spec};
use crate::state::{Lock, State, StateFile};

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
    /// Inspect the state.
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
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Args, Clone)]
struct AwsArgs {
    /// Attempts per AWS request (throttling and 5xx are retried with backoff).
    #[arg(long, env = "SSLPROV_AWS_MAX_ATTEMPTS", default_value_t = 8, hide = true)]
    aws_max_attempts: u32,
    /// First retry backoff, in milliseconds.
    #[arg(long, env = "SSLPROV_AWS_BACKOFF_MS", default_value_t = 1000, hide = true)]
    aws_backoff_ms: u64,
}

impl AwsArgs {
    fn options(&self) -> AwsOptions {
        AwsOptions { max_attempts: self.aws_max_attempts, initial_backoff: Duration::from_millis(self.aws_backoff_ms) }
    }
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
            Command::State(c) => state::exec(c),
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
    state: Option<State>,
    file: StateFile,
    lock: Lock,
    providers: Providers,
}

async fn make_plan(
    spec: &Spec,
    run: &RunArgs,
    mode: Mode,
    restore_adopted: bool,
    operation: &str,
) -> Result<Planned, Report> {
    let file = StateFile::new(&spec.state_path);
    let lock = Lock::acquire(&spec.state_path, operation, run.lock_timeout)?;
    let state = file.read()?;
    let providers = Providers::new(&run.aws.options(), uses_cloudflare(spec, state.as_ref())).await?;
    check_cloudflare_token(&providers, spec, &run.targets).await?;
    let inventory = crate::refresh::refresh(&providers, spec, state.as_ref(), &run.targets).await?;
    let lineage = state.as_ref().map_or_else(|| uuid::Uuid::new_v4().to_string(), |s| s.lineage.clone());
    let plan = crate::plan::build(PlanInput {
        spec,
        state: state.as_ref(),
        inventory: &inventory,
        mode,
        targets: &run.targets,
        restore_adopted,
        new_lineage: &lineage,
        created: now(),
    })
    .map_err(|errs| Report::new(errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))?;
    let mut plan = plan;
    plan.warnings = warnings(&providers, &plan, &inventory).await?;
    tracing::info!(calls = ?providers.calls.snapshot(), "refresh done");
    Ok(Planned { plan, spec: spec.clone(), state, file, lock, providers })
}

fn uses_cloudflare(spec: &Spec, state: Option<&State>) -> bool {
    spec.domains.values().any(|d| d.cdn == CdnKind::Cloudflare || d.dns == DnsKind::Cloudflare)
        || state.is_some_and(|s| s.resources.values().any(|r| r.provider == "cloudflare"))
}

/// Before planning: is the Cloudflare token active, and may it do what the spec needs? A plan
/// that would fail half-way through apply for a missing permission is worse than no plan.
async fn check_cloudflare_token(providers: &Providers, spec: &Spec, targets: &[String]) -> Result<(), Report> {
    use sslprov_cloudflare::{Access, Permission};
    use sslprov_provider::Kind;
    let Some(cf) = &providers.cloudflare_api else { return Ok(()) };
    let mut needs = Vec::new();
    for d in spec.domains.values().filter(|d| targets.is_empty() || targets.contains(&d.key)) {
        let mut kinds = Vec::new();
        if d.dns == DnsKind::Cloudflare {
            kinds.push(Kind::Record);
        }
        if d.cdn == CdnKind::Cloudflare {
            kinds.extend([Kind::ConfigRule, Kind::EdgeCertificate]);
            if d.advanced_certificate {
                needs.push(Permission::new(&d.zone, Access::SslEdit));
            }
        }
        for k in kinds {
            needs.extend(Access::for_kind(k).iter().map(|a| Permission::new(&d.zone, *a)));
        }
    }
    if needs.is_empty() {
        return Ok(());
    }
    let check = cf.check_token(&needs).await?;
    for p in &check.unverified {
        tracing::warn!("cannot tell without changing something whether the Cloudflare token has {p}");
    }
    if !check.is_ok() {
        let missing: Vec<String> = check.missing.iter().map(|p| format!("  - {p}")).collect();
        return Err(Report::new(format!(
            "the Cloudflare API token lacks permissions this spec needs:\n{}\nAdd them to the token in Cloudflare's dashboard (My Profile → API Tokens → Edit), then plan again.",
            missing.join("\n")
        )));
    }
    Ok(())
}

/// What a person should know before applying: the providers' observations on what exists, and
/// on what a new config rule will meet in its zone.
async fn warnings(
    providers: &Providers,
    plan: &Plan,
    inventory: &crate::refresh::Inventory,
) -> Result<Vec<String>, Report> {
    use sslprov_provider::Desired;
    let mut out: Vec<String> = Vec::new();
    for live in inventory.config_rules.iter().chain(&inventory.edge_certificates) {
        out.extend(live.outputs.warnings.iter().cloned());
    }
    if let Some(cf) = &providers.cloudflare_api {
        for c in plan.changes.iter().filter(|c| c.action == crate::plan::Action::Create) {
            if let Some(Desired::ConfigRule(rule)) = &c.after {
                out.extend(cf.config_rule_warnings(rule).await?.into_iter().map(|w| format!("{}: {w}", c.address)));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
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
