//! State agreement: sslprov's state has no unfinished step for the domain, and a fresh plan of
//! it has nothing to do (the cloud matches what was applied).

use super::report::{Check, CheckKind};
use crate::plan::{Action, Plan};
use crate::state::State;

/// The CDN endpoint the state's tracking record of domain `key` points at (a distribution's
/// domain name); `None` for a proxied record, whose value is the origin, not an endpoint.
pub fn endpoint(state: Option<&State>, key: &str) -> Option<String> {
    let r = state?.resources.get(&crate::plan::address(key, crate::template::TRACKING))?;
    let desired = r.desired.as_ref()?;
    if desired.get("proxied").and_then(serde_json::Value::as_bool) == Some(true) {
        return None;
    }
    let values = desired.get("values")?.as_array()?;
    values.first()?.as_str().map(str::to_owned)
}

/// `plan` is the fresh plan, or why there is none (the cloud could not be reached, the lock is
/// held, …). `shared` are the addresses of the shared objects the domain uses: an unfinished step
/// or drift there is the domain's too.
pub fn judge(
    key: &str,
    shared: &[String],
    state_path: &str,
    state: Option<&State>,
    plan: Result<&Plan, &str>,
) -> Check {
    let Some(state) = state else {
        return Check::fail(
            CheckKind::State,
            format!("no state at {state_path}: sslprov has not applied this spec"),
            "run `sslprov apply`",
        );
    };
    let mine: Vec<_> = state.resources.iter().filter(|(_, r)| r.domain == key).collect();
    if mine.is_empty() {
        return Check::fail(CheckKind::State, format!("the state has nothing for {key}"), "run `sslprov apply`");
    }
    let used = state.resources.iter().filter(|(a, _)| shared.contains(a));
    if let Some((address, r)) = mine.iter().copied().chain(used).find(|(_, r)| r.intent.is_some()) {
        let started = r.intent.as_ref().map_or("", |i| i.started.as_str());
        return Check::fail(
            CheckKind::State,
            format!("an interrupted run left {address} unfinished (since {started})"),
            "run `sslprov apply` to finish it",
        );
    }
    let plan = match plan {
        Ok(p) => p,
        Err(why) => {
            return Check::fail(
                CheckKind::State,
                format!("cannot compare the state with the cloud: {why}"),
                "check the cloud credentials and network; the other checks do not need them",
            );
        }
    };
    let recovered: Vec<&str> = plan
        .recovered
        .iter()
        .filter(|r| r.address.starts_with(&format!("{key}.")) || shared.contains(&r.address))
        .map(|r| r.address.as_str())
        .collect();
    if !recovered.is_empty() {
        return Check::fail(
            CheckKind::State,
            format!("an interrupted run made {} without recording it", recovered.join(", ")),
            "run `sslprov apply` to record it",
        );
    }
    let changes: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.domain == key || shared.contains(&c.address))
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
    Check::pass(
        CheckKind::State,
        format!("state serial {} matches the cloud: {} resources, no pending step, no drift", state.serial, mine.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Change;
    use crate::plan::fixtures::{change, plan};
    use crate::state::{Intent, Op, ResourceState};
    use crate::verify::Status;
    use sslprov_provider::{Desired, IdempotencyToken, Outputs};

    fn entry(kind: &str, desired: Option<Desired>, intent: bool) -> ResourceState {
        ResourceState {
            kind: kind.into(),
            provider: "p".into(),
            domain: "acme".into(),
            shared: None,
            cdn: None,
            id: Some("E1".into()),
            desired,
            outputs: Outputs::default(),
            intent: intent.then(|| Intent {
                op: Op::Update,
                token: IdempotencyToken("t".into()),
                started: "2026-01-01T00:00:00Z".into(),
            }),
            adopted: None,
            deposed: Vec::new(),
        }
    }

    fn state(intent: bool) -> State {
        let mut s = State::new("lin".into());
        s.serial = 4;
        s.resources.insert("acme.distribution".into(), entry("distribution", None, intent));
        let record = serde_json::from_value(serde_json::json!({
            "kind": "record", "zone": "acme.com", "name": "url1234.acme.com", "type": "CNAME", "ttl": 300,
            "values": ["d1.cloudfront.net"]
        }))
        .unwrap();
        s.resources.insert("acme.tracking_record".into(), entry("record", Some(record), false));
        s
    }

    #[test]
    fn the_state_must_be_finished_and_match_a_fresh_plan() {
        let s = state(false);
        assert_eq!(endpoint(Some(&s), "acme").as_deref(), Some("d1.cloudfront.net"));
        let ok = judge("acme", &[], "s", Some(&s), Ok(&plan(Vec::new())));
        assert_eq!(ok.status, Status::Pass, "{ok:?}");
        assert_eq!(judge("acme", &[], "s", None, Ok(&plan(Vec::new()))).status, Status::Fail);
        assert_eq!(judge("beta", &[], "s", Some(&s), Ok(&plan(Vec::new()))).status, Status::Fail, "nothing for beta");
        let unfinished = judge("acme", &[], "s", Some(&state(true)), Ok(&plan(Vec::new())));
        assert!(unfinished.saw.contains("an interrupted run left acme.distribution unfinished"), "{unfinished:?}");
        let offline = judge("acme", &[], "s", Some(&s), Err("no route"));
        assert_eq!(offline.saw, "cannot compare the state with the cloud: no route");
        let drift = Change {
            provider: "p".into(),
            kind: "distribution".into(),
            reason: Some("changed outside sslprov".into()),
            ..change("acme", "distribution", Action::Update)
        };
        let other = Change { domain: "beta".into(), address: "beta.distribution".into(), ..drift.clone() };
        assert_eq!(
            judge("acme", &[], "s", Some(&s), Ok(&plan(vec![other.clone()]))).status,
            Status::Pass,
            "another domain's change"
        );
        let d = judge("acme", &[], "s", Some(&s), Ok(&plan(vec![drift, other])));
        assert_eq!(
            d.saw,
            "the cloud does not match the state: acme.distribution would be updated (changed outside sslprov)"
        );
    }
}
