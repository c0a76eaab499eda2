//! Apply: carry out a plan's changes in the safe order, recording intent before every mutating
//! call and the result after it, so that a run killed at any instant is finished by the next.
//!
//! Per domain the order is fixed by what depends on what: certificate → validation record →
//! (certificate issued) → distribution → (distribution deployed) → tracking record; destroy runs
//! it backwards. Domains run in parallel up to `parallelism`; the providers' request budgets
//! bound the request rate across all of them.

mod wait;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sslprov_provider::{Deletion, Desired, KNOWN_AFTER_APPLY, Live, Outputs, Provider, ProviderError};
use tokio::sync::{Mutex, Semaphore};

use crate::plan::{Action, Change, Mode, Part, Plan};
use crate::providers::Providers;
use crate::spec::Spec;
use crate::state::{Intent, Op, ResourceState, State, StateFile, StateFileError};
use crate::template;
use crate::ui::Progress;

pub use wait::WaitOptions;

#[derive(Clone, Debug)]
pub struct ApplyOptions {
    pub parallelism: usize,
    pub wait: WaitOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{address}: {source}")]
    Provider { address: String, source: ProviderError },
    #[error(transparent)]
    State(#[from] StateFileError),
    #[error("{address}: {message}")]
    Wait { address: String, message: String },
    #[error("{address}: cannot resolve {what}: the step it depends on has not run")]
    Unresolved { address: String, what: &'static str },
    #[error("{address}: stopped by an interrupt before this step finished")]
    Interrupted { address: String },
}

/// What one apply did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub done: Vec<(String, Action)>,
    pub errors: Vec<ApplyError>,
}

struct Run<'a> {
    providers: &'a Providers,
    spec: &'a Spec,
    file: StateFile,
    state: Mutex<State>,
    opts: ApplyOptions,
    progress: &'a dyn Progress,
    stop: &'a AtomicBool,
    mode: Mode,
}

/// Applies `plan`. `state` is the current state (a new one with the plan's lineage if none was
/// written yet); it is written to `file` after every step.
pub async fn apply(
    plan: &Plan,
    spec: &Spec,
    state: State,
    file: StateFile,
    providers: &Providers,
    opts: ApplyOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<Outcome, ApplyError> {
    let run = Run { providers, spec, file, state: Mutex::new(state), opts, progress, stop, mode: plan.mode };
    run.record_recovered(plan).await?;

    let mut by_domain: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in &plan.changes {
        by_domain.entry(c.domain.as_str()).or_default().push(c);
    }
    let permits = Arc::new(Semaphore::new(run.opts.parallelism.max(1)));
    let results = futures::future::join_all(by_domain.into_values().map(|changes| {
        let permits = permits.clone();
        let run = &run;
        async move {
            let _permit = permits.acquire_owned().await.expect("semaphore is never closed");
            run.domain(&changes).await
        }
    }))
    .await;
    let mut outcome = Outcome::default();
    for (done, err) in results {
        outcome.done.extend(done);
        outcome.errors.extend(err);
    }
    Ok(outcome)
}

impl Run<'_> {
    async fn write(&self, state: &mut State) -> Result<(), ApplyError> {
        self.file.write(state)?;
        Ok(())
    }

    /// Objects a stopped run made without recording them go into state first, so nothing below
    /// creates them twice.
    async fn record_recovered(&self, plan: &Plan) -> Result<(), ApplyError> {
        if plan.recovered.is_empty() {
            return Ok(());
        }
        let mut st = self.state.lock().await;
        for r in &plan.recovered {
            let Some((domain, part)) = Part::of_address(&r.address) else { continue };
            let entry = st.resources.entry(r.address.clone()).or_insert_with(|| ResourceState {
                kind: part.kind(),
                provider: r.provider.clone(),
                domain,
                id: None,
                desired: None,
                outputs: Outputs::default(),
                intent: None,
                adopted: None,
                deposed: Vec::new(),
            });
            entry.id = Some(r.live.id.clone());
            entry.outputs = merge(&entry.outputs, &r.live.outputs);
            entry.desired = Some(r.live.desired.clone());
            entry.intent = None;
            self.progress.note(&r.address, &format!("recorded {} (found in the cloud, missing from state)", r.live.id));
        }
        self.write(&mut st).await
    }

    /// One domain's changes, in plan order. Stops at the domain's first error: what follows
    /// depends on it.
    async fn domain(&self, changes: &[&Change]) -> (Vec<(String, Action)>, Option<ApplyError>) {
        let mut done = Vec::new();
        let mut deposed = Vec::new();
        for c in changes {
            if self.stop.load(Ordering::SeqCst) {
                return (done, Some(ApplyError::Interrupted { address: c.address.clone() }));
            }
            match self.change(c, &mut deposed).await {
                Ok(()) => done.push((c.address.clone(), c.action)),
                Err(e) => return (done, Some(e)),
            }
        }
        // Certificates replaced in this run go once nothing uses them any more.
        for (address, old) in deposed {
            if let Err(e) = self.delete_deposed(&address, &old).await {
                return (done, Some(e));
            }
        }
        (done, None)
    }

    async fn change(&self, c: &Change, deposed: &mut Vec<(String, Live)>) -> Result<(), ApplyError> {
        // A provider a hand-edited state or a newer sslprov names is an error, not a panic.
        let provider = self
            .providers
            .get(&c.provider)
            .ok_or(ApplyError::Unresolved { address: c.address.clone(), what: "its provider" })?;
        let p = &**provider;
        match c.action {
            Action::Create | Action::Replace => {
                self.ensure_dependencies_ready(c).await?;
                let desired = self.resolve(c).await?;
                let old = self.current_live(c).await;
                let token = {
                    let mut st = self.state.lock().await;
                    let token = st.create_token(&c.address);
                    let entry = st.resources.entry(c.address.clone()).or_insert_with(|| new_entry(c));
                    entry.intent = Some(intent(Op::Create, token.clone()));
                    entry.desired = Some(desired.clone());
                    match (c.action, &old) {
                        (Action::Replace, Some(old)) if !entry.deposed.contains(&old.id) => {
                            entry.deposed.push(old.id.clone())
                        }
                        (Action::Create, _) => entry.id = None,
                        _ => {}
                    }
                    self.write(&mut st).await?;
                    token
                };
                self.progress.start(&c.address, "creating");
                let live = p
                    .create(&desired, &token)
                    .await
                    .map_err(|source| ApplyError::Provider { address: c.address.clone(), source })?;
                self.record(c, &live, &desired).await?;
                self.progress.finish(&c.address, &format!("created {}", live.id));
                if c.action == Action::Replace {
                    deposed.extend(old.map(|o| (c.address.clone(), o)));
                }
            }
            Action::Update => {
                self.ensure_dependencies_ready(c).await?;
                let desired = self.resolve(c).await?;
                let live = self
                    .current_live(c)
                    .await
                    .ok_or(ApplyError::Unresolved { address: c.address.clone(), what: "the object to update" })?;
                {
                    let mut st = self.state.lock().await;
                    let token = st.create_token(&c.address);
                    let entry = st.resources.entry(c.address.clone()).or_insert_with(|| new_entry(c));
                    entry.intent = Some(intent(Op::Update, token));
                    if entry.id.is_none() {
                        entry.id = Some(live.id.clone());
                    }
                    // Remember what was there before taking it over, before touching it.
                    if c.adopt {
                        entry.adopted = c.before.clone();
                    }
                    self.write(&mut st).await?;
                }
                self.progress.start(&c.address, "updating");
                let new = p
                    .update(&live, &desired)
                    .await
                    .map_err(|source| ApplyError::Provider { address: c.address.clone(), source })?;
                self.record(c, &new, &desired).await?;
                if self.mode == Mode::Destroy {
                    // A record restored on destroy is the user's again.
                    let mut st = self.state.lock().await;
                    st.resources.remove(&c.address);
                    self.write(&mut st).await?;
                }
                self.progress.finish(&c.address, "updated");
            }
            Action::Delete if c.deposed => {
                let old = Live {
                    id: c
                        .id
                        .clone()
                        .ok_or(ApplyError::Unresolved { address: c.address.clone(), what: "the replaced object" })?,
                    desired: c
                        .before
                        .clone()
                        .ok_or(ApplyError::Unresolved { address: c.address.clone(), what: "the replaced object" })?,
                    outputs: Outputs::default(),
                };
                self.delete_deposed(&c.address, &old).await?;
            }
            Action::Forget if c.deposed => {
                let mut st = self.state.lock().await;
                if let Some(entry) = st.resources.get_mut(&c.address) {
                    entry.deposed.retain(|id| Some(id) != c.id.as_ref());
                }
                self.write(&mut st).await?;
            }
            Action::Delete => {
                let live = self
                    .current_live(c)
                    .await
                    .ok_or(ApplyError::Unresolved { address: c.address.clone(), what: "the object to delete" })?;
                {
                    let mut st = self.state.lock().await;
                    let token = st.create_token(&c.address);
                    if let Some(entry) = st.resources.get_mut(&c.address) {
                        entry.intent = Some(intent(Op::Delete, token));
                    }
                    self.write(&mut st).await?;
                }
                self.delete_until_gone(&c.address, p, &live).await?;
                let mut st = self.state.lock().await;
                st.resources.remove(&c.address);
                self.write(&mut st).await?;
            }
            Action::Forget => {
                let mut st = self.state.lock().await;
                st.resources.remove(&c.address);
                self.write(&mut st).await?;
                self.progress.finish(&c.address, "removed from state");
            }
        }
        Ok(())
    }

    /// Deletes an object `address` replaced, once the distribution serves the new one, and
    /// takes it off the address's deposed list.
    async fn delete_deposed(&self, address: &str, old: &Live) -> Result<(), ApplyError> {
        let domain = Part::of_address(address).map(|(d, _)| d).unwrap_or_default();
        let dist = Part::Distribution.address(&domain);
        if let Some((live, provider)) = self.live_of(&dist).await {
            let p = self
                .providers
                .get(&provider)
                .ok_or(ApplyError::Unresolved { address: dist.clone(), what: "its provider" })?;
            wait::until_ready(&**p, &live, &dist, &self.opts.wait, self.progress, self.stop).await?;
        }
        self.delete_until_gone(address, &*self.providers.acm, old).await?;
        let mut st = self.state.lock().await;
        if let Some(entry) = st.resources.get_mut(address) {
            entry.deposed.retain(|id| id != &old.id);
        }
        self.write(&mut st).await
    }

    async fn delete_until_gone(&self, address: &str, p: &dyn Provider, live: &Live) -> Result<(), ApplyError> {
        self.progress.start(address, "deleting");
        let err = |source| ApplyError::Provider { address: address.to_owned(), source };
        loop {
            match p.delete(live).await.map_err(err)? {
                Deletion::Done => break,
                Deletion::InProgress => {
                    wait::until_ready(p, live, address, &self.opts.wait, self.progress, self.stop).await?
                }
            }
        }
        self.progress.finish(address, "deleted");
        Ok(())
    }

    async fn record(&self, c: &Change, live: &Live, desired: &Desired) -> Result<(), ApplyError> {
        let mut st = self.state.lock().await;
        let entry = st.resources.entry(c.address.clone()).or_insert_with(|| new_entry(c));
        entry.id = Some(live.id.clone());
        entry.outputs = merge(&entry.outputs, &live.outputs);
        entry.desired = Some(desired.clone());
        entry.intent = None;
        self.write(&mut st).await
    }

    /// The object a change acts on, as the plan saw it, with the outputs state knows.
    async fn current_live(&self, c: &Change) -> Option<Live> {
        let st = self.state.lock().await;
        let entry = st.resources.get(&c.address);
        let id = c.id.clone().or_else(|| entry.and_then(|e| e.id.clone()))?;
        let desired = c.before.clone().or_else(|| entry.and_then(|e| e.desired.clone()))?;
        Some(Live { id, desired, outputs: entry.map(|e| e.outputs.clone()).unwrap_or_default() })
    }

    /// The live object at `address` per state, and the provider that made it.
    async fn live_of(&self, address: &str) -> Option<(Live, String)> {
        let st = self.state.lock().await;
        let e = st.resources.get(address)?;
        Some((Live { id: e.id.clone()?, desired: e.desired.clone()?, outputs: e.outputs.clone() }, e.provider.clone()))
    }

    /// The safe order: a distribution is only created or changed on an issued certificate, and
    /// the tracking record only moves onto a CDN that is ready (a deployed distribution, an active
    /// edge certificate). Checked on every run, so a run stopped during a wait simply waits again.
    async fn ensure_dependencies_ready(&self, c: &Change) -> Result<(), ApplyError> {
        let (deps, required): (&[Part], bool) = match c.part {
            Part::Distribution => (&[Part::Certificate], true),
            // On destroy the record goes back to the ESP, which needs nothing to be ready.
            Part::TrackingRecord if self.mode == Mode::Apply => (&[Part::Distribution, Part::EdgeCertificate], false),
            _ => return Ok(()),
        };
        for dep in deps {
            let address = dep.address(&c.domain);
            let Some((live, provider)) = self.live_of(&address).await else {
                if required {
                    return Err(ApplyError::Unresolved { address: c.address.clone(), what: "its dependency" });
                }
                // Universal SSL has no state entry; a domain has a distribution or an edge certificate.
                continue;
            };
            let p = self
                .providers
                .get(&provider)
                .ok_or(ApplyError::Unresolved { address: address.clone(), what: "its provider" })?;
            wait::until_ready(&**p, &live, &address, &self.opts.wait, self.progress, self.stop).await?;
        }
        Ok(())
    }

    /// The change's target with every "(known after apply)" filled from what earlier steps recorded.
    async fn resolve(&self, c: &Change) -> Result<Desired, ApplyError> {
        let st = self.state.lock().await;
        let unresolved = |what| ApplyError::Unresolved { address: c.address.clone(), what };
        let after = c.after.clone().ok_or(unresolved("the target"))?;
        let dep = |part: Part| st.resources.get(&part.address(&c.domain));
        let resolved = match after {
            Desired::Distribution(mut d) if d.certificate_arn == KNOWN_AFTER_APPLY => {
                d.certificate_arn =
                    dep(Part::Certificate).and_then(|r| r.id.clone()).ok_or(unresolved("the certificate ARN"))?;
                Desired::Distribution(d)
            }
            Desired::Record(r) if c.part == Part::ValidationRecord && r.name == KNOWN_AFTER_APPLY => {
                let asked = dep(Part::Certificate)
                    .and_then(|r| r.outputs.validation_records.as_ref())
                    .and_then(|v| v.first())
                    .ok_or(unresolved("the validation record"))?;
                let domain = self.spec.domains.get(&c.domain).ok_or(unresolved("the domain"))?;
                Desired::Record(template::validation_record(domain, asked))
            }
            Desired::Record(mut r) if r.values.iter().any(|v| v == KNOWN_AFTER_APPLY) => {
                let target = dep(Part::Distribution)
                    .and_then(|r| r.outputs.domain_name.clone())
                    .ok_or(unresolved("the distribution's domain name"))?;
                r.values = vec![target];
                Desired::Record(r)
            }
            other => other,
        };
        Ok(resolved)
    }
}

fn new_entry(c: &Change) -> ResourceState {
    ResourceState {
        kind: c.part.kind(),
        provider: c.provider.clone(),
        domain: c.domain.clone(),
        id: None,
        desired: None,
        outputs: Outputs::default(),
        intent: None,
        adopted: None,
        deposed: Vec::new(),
    }
}

fn intent(op: Op, token: sslprov_provider::IdempotencyToken) -> Intent {
    Intent { op, token, started: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string() }
}

/// New outputs, keeping what an undescribed object did not report again.
fn merge(old: &Outputs, new: &Outputs) -> Outputs {
    Outputs {
        arn: new.arn.clone().or_else(|| old.arn.clone()),
        domain_name: new.domain_name.clone().or_else(|| old.domain_name.clone()),
        status: new.status.clone().or_else(|| old.status.clone()),
        validation_records: new.validation_records.clone().or_else(|| old.validation_records.clone()),
        token: new.token.clone().or_else(|| old.token.clone()),
        warnings: new.warnings.clone(),
        zone_id: new.zone_id.clone().or_else(|| old.zone_id.clone()),
    }
}

pub fn default_wait() -> WaitOptions {
    WaitOptions { poll: Duration::from_secs(10), timeout: Duration::from_secs(45 * 60) }
}
