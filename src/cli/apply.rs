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
    /// Domains worked on at once.
    #[arg(long, default_value_t = 10)]
    parallelism: usize,
    /// How often to poll a certificate or distribution that is not ready yet.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    poll_interval: Duration,
    /// How long to wait for one certificate or distribution before giving up (the next apply
    /// resumes the wait).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "45m")]
    wait_timeout: Duration,
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
        Some(path) => saved_plan(path, a.file.as_ref(), &a.run).await?,
        None => {
            let file = a.file.clone().unwrap_or_else(super::default_spec);
            let spec = super::load_spec(&file)?;
            let planned = super::make_plan(&spec, &a.run, Mode::Apply, false, "apply").await?;
            print!("{}", crate::ui::render_plan(&planned.plan));
            if planned.plan.has_changes() && !a.auto_approve {
                approve("apply")?;
            }
            planned
        }
    };
    carry_out(planned, &a.exec).await
}

pub async fn exec_destroy(a: DestroyArgs) -> Result<u8, Report> {
    let spec = super::load_spec(&a.file)?;
    let planned = super::make_plan(&spec, &a.run, Mode::Destroy, a.restore_adopted, "destroy").await?;
    print!("{}", crate::ui::render_plan(&planned.plan));
    if planned.plan.has_changes() && !a.auto_approve {
        approve("destroy")?;
    }
    carry_out(planned, &a.exec).await
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
    let stop = interrupts.graceful();
    let journal = store.writer(&lock, &loaded).await?;
    let state = loaded.state.unwrap_or_else(|| State::new(plan.state.lineage.clone()));
    let progress = crate::ui::LineProgress::new();
    println!();
    let outcome =
        crate::apply::apply(&plan, &spec, state, &journal, &providers, exec.options(), &progress, &stop).await;
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
    if outcome.errors.is_empty() {
        println!("\nApply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed.");
        return Ok(exit::OK);
    }
    println!("\nApply stopped with errors. Resources: {added} added, {changed} changed, {destroyed} destroyed.");
    let errors: Vec<String> = outcome.errors.iter().map(|e| Report::chain(e).message).collect();
    Err(Report::new(format!(
        "{}\nWhat finished is recorded in the state; run apply again to continue.",
        errors.join("\n")
    )))
}

fn approve(what: &str) -> Result<(), Report> {
    if !std::io::stdin().is_terminal() {
        return Err(Report::new(format!(
            "{what} needs approval: run it in a terminal, pass --auto-approve, or save a plan with `plan --out` and apply that"
        )));
    }
    print!("\nDo you want to {what} these changes? Only 'yes' is accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        return Err(Report::new(format!("{what} cancelled")));
    }
    Ok(())
}
