use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::{Planned, RunArgs};
use crate::apply::{ApplyOptions, WaitOptions};
use crate::error::{Report, exit};
use crate::plan::{Mode, Plan};
use crate::state::State;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `plan --out`; without it, apply plans the spec and asks for approval.
    plan: Option<PathBuf>,
    /// The spec file.
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// Skip the approval prompt.
    #[arg(long)]
    auto_approve: bool,
    /// Apply even when the plan would take down many domains at once (see the README).
    #[arg(long)]
    allow_mass_change: bool,
    #[command(flatten)]
    exec: ExecArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// The spec file.
    #[arg(short = 'f', long = "file", default_value_os_t = super::default_spec())]
    file: PathBuf,
    /// Skip the approval prompt.
    #[arg(long)]
    auto_approve: bool,
    /// Put adopted tracking records back as they were found instead of deleting them.
    #[arg(long)]
    restore_adopted: bool,
    #[command(flatten)]
    exec: ExecArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ExecArgs {
    /// Creates, updates and deletes in flight at once to each provider, across all domains (1 to
    /// 1000).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = super::args::parallelism)]
    parallelism: usize,
    /// How often to poll a certificate or distribution that is not ready yet (100ms to 7d).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::args::duration(Duration::from_millis(100)))]
    poll_interval: Duration,
    /// How long to wait for one certificate or distribution before giving up (1s to 7d; the next
    /// apply resumes the wait).
    #[arg(long, value_name = "DURATION", default_value = "45m", value_parser = super::args::duration(Duration::from_secs(1)))]
    wait_timeout: Duration,
    /// Print events as JSON, one object per line (plan, step started/finished/failed, waits,
    /// summary), instead of text. Needs --auto-approve or a saved plan.
    #[arg(long)]
    json: bool,
}

impl ExecArgs {
    fn options(&self) -> ApplyOptions {
        ApplyOptions {
            parallelism: self.parallelism,
            wait: WaitOptions { poll: self.poll_interval, timeout: self.wait_timeout },
        }
    }
}

pub async fn exec(a: ApplyArgs) -> Result<u8, Report> {
    let planned = match &a.plan {
        Some(path) => {
            let planned = saved_plan(path, a.file.as_ref(), &a.run).await?;
            if a.exec.json {
                show_plan(&planned.plan, &a.exec, true, "apply", || Ok(()))?;
            }
            planned
        }
        None => {
            let file = a.file.clone().unwrap_or_else(super::default_spec);
            let spec = super::load_spec(&file)?;
            let planned = super::make_plan(&spec, &a.run, Mode::Apply, false, "apply").await?;
            let guarded = || super::guard_mass_change(&planned, a.allow_mass_change);
            show_plan(&planned.plan, &a.exec, a.auto_approve, "apply", guarded)?;
            planned
        }
    };
    carry_out(planned, &a.exec).await
}

pub async fn exec_destroy(a: DestroyArgs) -> Result<u8, Report> {
    let spec = super::load_spec(&a.file)?;
    let planned = super::make_plan(&spec, &a.run, Mode::Destroy, a.restore_adopted, "destroy").await?;
    show_plan(&planned.plan, &a.exec, a.auto_approve, "destroy", || Ok(()))?;
    carry_out(planned, &a.exec).await
}

/// The plan about to be carried out, then `guard` (the mass-change guard: after the plan, so the
/// refusal's domains can be seen in it), and the approval it needs: asked on a terminal, given by
/// --auto-approve. With --json nothing can be asked, so approval must come with the command.
fn show_plan(
    plan: &Plan,
    exec: &ExecArgs,
    auto_approve: bool,
    what: &str,
    guard: impl FnOnce() -> Result<(), Report>,
) -> Result<(), Report> {
    if exec.json {
        guard()?;
        if plan.has_changes() && !auto_approve {
            return Err(Report::new(format!(
                "{what} --json cannot ask for approval: pass --auto-approve, or apply a plan saved with `plan --out`"
            )));
        }
        crate::ui::emit(
            "plan",
            serde_json::json!({ "mode": plan.mode, "summary": plan.summary, "recovered": plan.recovered.len() }),
        );
        return Ok(());
    }
    out!("{}", crate::ui::render_plan(plan));
    guard()?;
    if plan.has_changes() && !auto_approve {
        approve(what)?;
    }
    Ok(())
}

/// A saved plan is carried out only if nothing moved since it was made: the spec (hash), the
/// state (lineage and serial) and the cloud (a fresh plan must come out the same).
async fn saved_plan(path: &Path, spec_file: Option<&PathBuf>, run: &RunArgs) -> Result<Planned, Report> {
    let saved = super::show::read_plan(path)?;
    let spec_path = spec_file.cloned().unwrap_or_else(|| saved.spec.path.clone());
    let spec = super::load_spec(&spec_path)?;
    let stale = |why: String| {
        Report::new(format!("the saved plan {} is stale: {why}. Run `sslprov plan` again.", path.display()))
    };
    if spec.hash != saved.spec.sha256 {
        return Err(stale(format!("the spec {} changed since the plan was made", spec_path.display())));
    }
    let operation = if saved.mode == Mode::Destroy { "destroy" } else { "apply" };
    let (store, lock, interrupts, loaded) = super::locked_state(&spec, operation, run.lock_timeout).await?;
    let state = loaded.state.as_ref();
    match state {
        Some(s) if !saved.state.exists => {
            return Err(stale(format!("a state (serial {}) was written since the plan was made", s.serial)));
        }
        Some(s) if s.lineage != saved.state.lineage => {
            return Err(stale(format!(
                "the state has lineage {}, the plan was made against {}",
                s.lineage, saved.state.lineage
            )));
        }
        Some(s) if s.serial != saved.state.serial => {
            return Err(stale(format!(
                "the state is at serial {}, the plan was made at serial {}",
                s.serial, saved.state.serial
            )));
        }
        None if saved.state.exists => return Err(stale("the state it was made against is gone".into())),
        _ => {}
    }
    let run = RunArgs { targets: saved.targets.clone(), ..run.clone() };
    let (providers, mut fresh) = super::refreshed_plan(
        &spec,
        state,
        &run,
        saved.mode,
        saved.restore_adopted,
        &saved.state.lineage,
        saved.created.clone(),
    )
    .await?;
    fresh.warnings = saved.warnings.clone();
    if let Some(address) = first_difference(&saved, &fresh) {
        return Err(stale(format!("{address} changed in the cloud since the plan was made")));
    }
    Ok(Planned { plan: saved, spec, loaded, store, lock, interrupts, providers })
}

fn first_difference(saved: &Plan, fresh: &Plan) -> Option<String> {
    let n = saved.changes.len().max(fresh.changes.len());
    for i in 0..n {
        match (saved.changes.get(i), fresh.changes.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), _) => return Some(a.address.clone()),
            (None, Some(b)) => return Some(b.address.clone()),
            (None, None) => {}
        }
    }
    // A recovered object may have progressed (issued, deployed) since: what counts is which
    // object it is and its owned fields.
    let key = |p: &Plan| {
        p.recovered.iter().map(|r| (r.address.clone(), r.live.id.clone(), r.live.desired.clone())).collect::<Vec<_>>()
    };
    (key(saved) != key(fresh)).then(|| "a recovered object".to_owned())
}

async fn carry_out(planned: Planned, exec: &ExecArgs) -> Result<u8, Report> {
    let Planned { plan, spec, loaded, store, lock, interrupts, providers } = planned;
    if !plan.has_changes() {
        lock.release().await;
        return Ok(exit::OK);
    }
    // The first interrupt from here on stops between steps; the second stops at once.
    let again = resume_command(&plan, &spec);
    let stop = interrupts.graceful(&again);
    let journal = store.writer(&lock, &loaded).await?;
    let state = loaded.state.unwrap_or_else(|| State::new(plan.state.lineage.clone()));
    let progress: Box<dyn crate::ui::Progress> = if exec.json {
        Box::new(crate::ui::JsonProgress::new())
    } else {
        outln!();
        Box::new(crate::ui::LineProgress::new())
    };
    let outcome =
        crate::apply::apply(&plan, &spec, state, &journal, &providers, exec.options(), &*progress, &stop).await;
    // However the run ended, what it recorded becomes the snapshot before the lock goes.
    let compacted = journal.compact().await;
    drop(interrupts);
    lock.release().await;
    let outcome = outcome?;
    compacted?;
    tracing::info!(calls = ?providers.calls.snapshot(), "apply done");
    let count = |pred: fn(crate::plan::Action) -> bool| outcome.done.iter().filter(|(_, a)| pred(*a)).count();
    use crate::plan::Action::*;
    let (added, changed, destroyed) =
        (count(|a| matches!(a, Create | Replace)), count(|a| a == Update), count(|a| matches!(a, Delete | Forget)));
    let verb = if plan.mode == Mode::Destroy { "Destroy" } else { "Apply" };
    let errors: Vec<String> = outcome.errors.iter().map(|e| Report::chain(e).message).collect();
    if exec.json {
        crate::ui::emit(
            "summary",
            serde_json::json!({
                "mode": plan.mode,
                "complete": errors.is_empty(),
                "added": added,
                "changed": changed,
                "destroyed": destroyed,
                "errors": errors,
                "resume": (!errors.is_empty()).then_some(&again),
            }),
        );
        if errors.is_empty() {
            return Ok(exit::OK);
        }
        return Err(Report::new(format!("{verb} stopped with errors; to continue, run `{again}` again.")));
    }
    if outcome.errors.is_empty() {
        outln!("\n{verb} complete! Resources: {added} added, {changed} changed, {destroyed} destroyed.");
        return Ok(exit::OK);
    }
    outln!("\n{verb} stopped with errors. Resources: {added} added, {changed} changed, {destroyed} destroyed.");
    Err(Report::new(format!(
        "{}\nWhat finished is recorded in the state; to continue, run `{again}` again.",
        errors.join("\n")
    )))
}

/// The command that finishes what `plan` began: the same verb, spec and targets (never `apply`
/// after a destroy, which would make again what the destroy removed).
fn resume_command(plan: &Plan, spec: &crate::spec::Spec) -> String {
    let mut c = match plan.mode {
        Mode::Apply => "sslprov apply".to_owned(),
        Mode::Destroy => "sslprov destroy".to_owned(),
    };
    c.push_str(&format!(" -f {}", spec.path.display()));
    for t in &plan.targets {
        c.push_str(&format!(" --target {t}"));
    }
    if plan.mode == Mode::Destroy && plan.restore_adopted {
        c.push_str(" --restore-adopted");
    }
    c
}

fn approve(what: &str) -> Result<(), Report> {
    if !std::io::stdin().is_terminal() {
        return Err(Report::new(format!(
            "{what} needs approval: run it in a terminal, pass --auto-approve, or save a plan with `plan --out` and apply that"
        )));
    }
    out!("\nDo you want to {what} these changes? Only 'yes' is accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        return Err(Report::new(format!("{what} cancelled")));
    }
    Ok(())
}
