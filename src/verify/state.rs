//! State agreement: sslprov's state has no unfinished step for the domain, and a fresh plan of
//! it has nothing to do (the cloud matches what was applied).

use super::report::{Check, CheckKind};
use crate::plan::{Action, Plan};
use crate::state::State;

/// The CDN endpoint the state recorded for domain `key` (the distribution's domain name).
pub fn endpoint(state: Option<&State>, key: &str) -> Option<String> {
    let r = state?.resources.get(&crate::plan::Part::Distribution.address(key))?;
    r.outputs.domain_name.clone()
}

/// `plan` is the fresh plan, or why there is none (the cloud could not be reached, the lock is
/// held, …).
pub fn judge(key: &str, state_path: &str, state: Option<&State>, plan: Result<&Plan, &str>) -> Check {
    let Some(state) = state else {
        return Check::fail(CheckKind::State, format!("no state at {state_path}: sslprov has not applied this spec"), "run `sslprov apply`");
    };
    let mine: Vec<_> = state.resources.iter().filter(|(_, r)| r.domain == key).collect();
    if mine.is_empty() {
        return Check::fail(CheckKind::State, format!("the state has nothing for {key}"), "run `sslprov apply`");
    }
    if let Some((address, r)) = mine.iter().find(|(_, r)| r.intent.is_some()) {
        let started = r.intent.as_ref().map_or("", |i| i.started.as_str());
        return Check::fail(CheckKind::State, format!("an interrupted run left {address} unfinished (since {started})"), "run `sslprov apply` to finish it");
    }
    let plan = match plan {
        Ok(p) => p,
        Err(why) => return Check::fail(CheckKind::State, format!("cannot compare the state with the cloud: {why}"), "check the cloud credentials and network; the other checks do not need them"),
    };
    let recovered: Vec<&str> = plan.recovered.iter().filter(|r| r.address.starts_with(&format!("{key}."))).map(|r| r.address.as_str()).collect();
    if !recovered.is_empty() {
        return Check::fail(CheckKind::State, format!("an interrupted run made {} without recording it", recovered.join(", ")), "run `sslprov apply` to record it");
    }
    let changes: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.domain == key)
        .map(|c| {
            let action = match c.action {
                Action::Create => "created",
                Action::Update => "updated",
                Action::Replace => "replaced",
                Action::Delete => "deleted",
                Action::Forget => "forgotten",
            };
            match &c.reason {
                Some(r) => format!("{} would be {action} ({r})", c.address),
                None => format!("{} would be {action}", c.address),
            }
        })
        .collect();
    if !changes.is_empty() {
        return Check::fail(
            CheckKind::State,
            format!("the cloud does not match the state: {}", changes.join("; ")),
            "`sslprov plan` shows the difference; `sslprov apply` makes the cloud match",
        );
    }
    Check::pass(CheckKind::State, format!("state serial {} matches the cloud: {} resources, no pending step, no drift", state.serial, mine.len()))
}
