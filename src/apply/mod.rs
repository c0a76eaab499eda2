//! Apply: carry out a plan's changes in the safe order, recording intent before every mutating
//! call and the result after it, so that a run killed at any instant is finished by the next.
//!
//! Per domain the plan's order is the CDN template's (each resource after what it depends on,
//! the tracking record last); a resource is written only once what it must wait for is ready
//! (certificate issued, CDN deployed), and destroy runs backwards. Shared objects (one load
//! balancer for many domains) are made or changed once, by the first domain step that needs one
//! (the others wait for it), so that each domain's slow first steps (its certificate) start at
//! once; what no domain needed runs after the domains. Shared objects no domain uses any more
//! are deleted last, once every domain has moved off them. Every domain runs at once:
//! `parallelism` bounds the writes in flight to each provider (a wait holds none, and a provider
//! that batches its writes, such as Route 53, bounds its own), and the providers' request
//! budgets bound the request rate across all of them.

mod wait;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use sslprov_provider::{Deletion, Desired, Live, Outputs, Provider, ProviderError};
use tokio::sync::{Mutex, OnceCell, Semaphore, SemaphorePermit};

use crate::plan::{Action, Addressed, Change, Mode, Plan};
use crate::providers::Providers;
use crate::spec::Spec;
use crate::state::{Intent, Op, ResourceState, State, StateWriter, StoreError};
use crate::template::{DomainTemplate, Lookup, shared_uses};
use crate::ui::Progress;

pub use wait::WaitOptions;
use wait::{Gone, Waits};

#[derive(Clone, Debug)]
pub struct ApplyOptions {
    pub parallelism: usize,
    pub wait: WaitOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{address}: {source}")]
    Provider { address: String, source: Box<ProviderError> },
    #[error(transparent)]
    State(#[from] StoreError),
    #[error("{address}: {message}")]
    Wait { address: String, message: String },
    #[error("{address}: cannot resolve {what}: the step it depends on has not run")]
    Unresolved { address: String, what: String },
    #[error("{address}: stopped by an interrupt before this step finished")]
    Interrupted { address: String },
    #[error("{address}: not done: it needs the shared {shared}, which failed ({why})")]
    SharedFailed { address: String, shared: String, why: String },
    #[error(
        "{address}: not deleted: a domain's step failed first, and this shared object may still be in use; the next \
         run deletes it"
    )]
    SharedKept { address: String },
}

fn provider_error(address: &str, e: ProviderError) -> ApplyError {
    ApplyError::Provider { address: address.to_owned(), source: Box::new(e) }
}

fn unresolved(address: &str, what: impl Into<String>) -> ApplyError {
    ApplyError::Unresolved { address: address.to_owned(), what: what.into() }
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
    journal: &'a StateWriter,
    state: Mutex<State>,
    /// Writes in flight, per provider: `parallelism` each.
    slots: HashMap<&'static str, Semaphore>,
    waits: Waits<'a>,
    progress: &'a dyn Progress,
    stop: &'a AtomicBool,
    mode: Mode,
    /// Shared creates, updates and replaces, each run once by whichever step first needs it.
    shared: HashMap<&'a str, SharedStep<'a>>,
    /// What the shared steps did, and their errors (reported once, here).
    shared_outcome: std::sync::Mutex<Outcome>,
    /// Objects shared steps replaced, deleted after the domains.
    shared_deposed: Mutex<Vec<(&'a Change, Live)>>,
}

/// A shared change, and its result once the first step that needed it ran it (the error, for
/// every other step that needs it).
type SharedStep<'a> = (&'a Change, OnceCell<Result<(), String>>);

/// Applies `plan`. `state` is the current state (a new one with the plan's lineage if none was
/// written yet); every change to it is recorded in `journal` (durably, before the cloud call it
/// announces).
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    plan: &Plan,
    spec: &Spec,
    state: State,
    journal: &StateWriter,
    providers: &Providers,
    opts: ApplyOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<Outcome, ApplyError> {
    let ahead = |c: &&Change| matches!(c.action, Action::Create | Action::Update | Action::Replace) && !c.deposed;
    let (shared, domains): (Vec<&Change>, Vec<&Change>) = plan.changes.iter().partition(|c| c.shared.is_some());
    let (shared_ahead, shared_after): (Vec<&Change>, Vec<&Change>) = shared.into_iter().partition(ahead);
    let run = Run {
        providers,
        spec,
        journal,
        state: Mutex::new(state),
        slots: providers.iter().map(|(_, p)| (p.info().name, Semaphore::new(opts.parallelism.max(1)))).collect(),
        waits: Waits::new(opts.wait, progress, stop),
        progress,
        stop,
        mode: plan.mode,
        shared: shared_ahead.iter().map(|c| (c.address.as_str(), (*c, OnceCell::new()))).collect(),
        shared_outcome: std::sync::Mutex::default(),
        shared_deposed: Mutex::default(),
    };
    run.record_recovered(plan).await?;

    let mut by_domain: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in domains {
        by_domain.entry(c.domain.as_str()).or_default().push(c);
    }
    // Every domain at once, each in its own order: the first step of each (the certificate,
    // which takes longest) is asked for before any domain's second.
    let results = futures::future::join_all(by_domain.into_values().map(|changes| {
        let run = &run;
        async move { run.domain(&changes).await }
    }))
    .await;
    let mut outcome = Outcome::default();
    for (done, err) in results {
        outcome.done.extend(done);
        outcome.errors.extend(err);
    }
    // Shared changes no domain step needed (a drifted load balancer, say).
    for c in &shared_ahead {
        if run.stop.load(Ordering::SeqCst) {
            break;
        }
        let _ = run.ensure(&c.address).await;
    }
    let shared_outcome = std::mem::take(&mut *run.shared_outcome.lock().unwrap_or_else(|e| e.into_inner()));
    outcome.done.extend(shared_outcome.done);
    outcome.errors.extend(shared_outcome.errors);
    // Then what nothing uses any more: objects shared steps replaced, and shared objects no domain
    // uses, each before what it depends on; but not while a domain's step failed, since what it
    // was to move off a shared object may not have moved.
    let replaced = std::mem::take(&mut *run.shared_deposed.lock().await);
    for (c, old) in replaced {
        if let Err(e) = run.delete_deposed(c, &old).await {
            outcome.errors.push(e);
        }
    }
    let failed = !outcome.errors.is_empty();
    let mut deposed = Vec::new();
    for c in shared_after {
        if failed {
            outcome.errors.push(ApplyError::SharedKept { address: c.address.clone() });
            break;
        }
        if run.stop.load(Ordering::SeqCst) {
            outcome.errors.push(ApplyError::Interrupted { address: c.address.clone() });
            break;
        }
        match run.change(c, &mut deposed).await {
            Ok(()) => outcome.done.push((c.address.clone(), c.action)),
            Err(e) => {
                outcome.errors.push(e);
                break;
            }
        }
    }
    Ok(outcome)
}

impl<'a> Run<'a> {
    /// Records `address` as `state` now holds it (the serial goes up by one).
    async fn write(&self, state: &mut State, address: &str) -> Result<(), ApplyError> {
        self.journal.record(state, address).await?;
        Ok(())
    }

    fn failed(&self, address: &str, e: ApplyError) -> ApplyError {
        self.progress.failed(address, &crate::error::Report::chain(&e).message);
        e
    }

    fn provider(&self, address: &str, name: &str) -> Result<&dyn Provider, ApplyError> {
        self.providers.get(name).map(|p| &**p).ok_or_else(|| unresolved(address, format!("its provider {name}")))
    }

    /// A slot for one write to `p`: `parallelism` bounds the writes in flight to each provider.
    /// Per provider, since a write holds its slot while it waits for its provider's request
    /// budget: with one pool, a thousand certificate requests queued at ACM's 5 a second held
    /// every slot, and no distribution was created until they were all sent. A provider that
    /// batches its writes takes none (it sends one request per zone at a time, however many
    /// calls wait for it, and a slot held per call would only make its batches smaller).
    async fn slot(&self, p: &dyn Provider) -> Option<SemaphorePermit<'_>> {
        let slots = self.slots.get(p.info().name).filter(|_| !p.info().batches_writes)?;
        Some(slots.acquire().await.expect("the semaphore is never closed"))
    }

    /// Objects a stopped run made without recording them go into state first, so nothing below
    /// creates them twice.
    async fn record_recovered(&self, plan: &Plan) -> Result<(), ApplyError> {
        if plan.recovered.is_empty() {
            return Ok(());
        }
        let uses = shared_uses(self.spec);
        let mut st = self.state.lock().await;
        for r in &plan.recovered {
            let (domain, shared, cdn) = match Addressed::parse(&r.address) {
                Some(Addressed::Domain { domain, .. }) => {
                    (domain, None, self.spec.domains.get(domain).map(|d| d.cdn.clone()))
                }
                Some(Addressed::Shared { identity, .. }) => {
                    ("", Some(identity.to_owned()), uses.get(&r.address).map(|u| u.cdn.clone()))
                }
                None => continue,
            };
            let entry = st.resources.entry(r.address.clone()).or_insert_with(|| ResourceState {
                kind: r.live.desired.kind.clone(),
                provider: r.provider.clone(),
                domain: domain.to_owned(),
                shared,
                cdn,
                id: None,
                desired: None,
                outputs: Outputs::default(),
                intent: None,
                adopted: None,
                deposed: Vec::new(),
            });
            entry.id = Some(r.live.id.clone());
            entry.outputs = entry.outputs.merged(&r.live.outputs);
            entry.desired = Some(r.live.desired.clone());
            entry.intent = None;
            self.write(&mut st, &r.address).await?;
            self.progress.note(&r.address, &format!("recorded {} ({})", r.live.id, r.how));
        }
        Ok(())
    }

    /// One domain's changes, in plan order. Stops at the domain's first error: what follows
    /// depends on it.
    /// Runs the shared change at `address`, once, if the plan has one, after the shared
    /// changes it needs itself; every caller gets its result. A failure is reported once (in the
    /// run's outcome) and named in each caller's error.
    fn ensure<'s>(&'s self, address: &'s str) -> BoxFuture<'s, Result<(), String>> {
        Box::pin(async move {
            let Some((c, cell)) = self.shared.get(address) else { return Ok(()) };
            let c: &'a Change = c;
            cell.get_or_init(|| async move {
                let result = match self.ensure_shared_needs(c).await {
                    Ok(()) => {
                        let mut deposed = Vec::new();
                        let done = self.change(c, &mut deposed).await;
                        self.shared_deposed.lock().await.extend(deposed);
                        done
                    }
                    Err(e) => Err(e),
                };
                let mut outcome = self.shared_outcome.lock().unwrap_or_else(|e| e.into_inner());
                match result {
                    Ok(()) => {
                        outcome.done.push((c.address.clone(), c.action));
                        Ok(())
                    }
                    Err(e) => {
                        let why = crate::error::Report::chain(&e).message;
                        outcome.errors.push(e);
                        Err(why)
                    }
                }
            })
            .await
            .clone()
        })
    }

    /// Runs (once) the shared changes `c`'s part needs directly: what its spec references and
    /// what it depends on or waits for.
    async fn ensure_shared_needs(&self, c: &Change) -> Result<(), ApplyError> {
        if self.mode != Mode::Apply {
            return Ok(());
        }
        let Some(t) = self.template_for(c) else { return Ok(()) };
        let Some(res) = t.cdn.resource(&c.part) else { return Ok(()) };
        for dep in res.dependencies() {
            if !t.cdn.resource(&dep).is_some_and(|r| r.is_shared()) {
                continue;
            }
            let Ok(shared) = t.address(&dep) else { continue };
            if let Err(why) = self.ensure(&shared).await {
                return Err(ApplyError::SharedFailed { address: c.address.clone(), shared, why });
            }
        }
        Ok(())
    }

    /// The template `c` renders with: its domain's, or for a shared object a domain that uses it.
    fn template_for(&self, c: &Change) -> Option<DomainTemplate<'_>> {
        if !c.domain.is_empty() {
            return self.spec.domains.get(&c.domain).and_then(DomainTemplate::of);
        }
        let user = c.users.first().and_then(|k| self.spec.domains.get(k)).or_else(|| {
            let key = shared_uses(self.spec).remove(&c.address)?.users.into_iter().next()?;
            self.spec.domains.get(&key)
        })?;
        DomainTemplate::of(user)
    }

    async fn domain(&self, changes: &[&'a Change]) -> (Vec<(String, Action)>, Option<ApplyError>) {
        let mut done = Vec::new();
        let mut deposed = Vec::new();
        for c in changes {
            if self.stop.load(Ordering::SeqCst) {
                return (done, Some(ApplyError::Interrupted { address: c.address.clone() }));
            }
            match self.change(c, &mut deposed).await {
                Ok(()) => done.push((c.address.clone(), c.action)),
                Err(e) => return (done, Some(self.failed(&c.address, e))),
            }
        }
        // Objects replaced in this run go once nothing uses them any more.
        for (c, old) in deposed {
            if let Err(e) = self.delete_deposed(c, &old).await {
                return (done, Some(self.failed(&c.address, e)));
            }
        }
        (done, None)
    }

    async fn change<'c>(&self, c: &'c Change, deposed: &mut Vec<(&'c Change, Live)>) -> Result<(), ApplyError> {
        let p = self.provider(&c.address, &c.provider)?;
        if c.shared.is_none() && matches!(c.action, Action::Create | Action::Replace | Action::Update) {
            self.ensure_shared_needs(c).await?;
        }
        match c.action {
            Action::Create | Action::Replace => {
                self.ensure_dependencies_ready(c).await?;
                let desired = self.resolve(c, p).await?;
                let old = self.current_live(c).await;
                let token = {
                    let mut st = self.state.lock().await;
                    let token = st.create_token(&c.address);
                    let entry = st.resources.entry(c.address.clone()).or_insert_with(|| self.new_entry(c));
                    entry.intent = Some(intent(Op::Create, token.clone()));
                    entry.desired = Some(desired.clone());
                    match (c.action, &old) {
                        (Action::Replace, Some(old)) if !entry.deposed.contains(&old.id) => {
                            entry.deposed.push(old.id.clone())
                        }
                        (Action::Create, _) => entry.id = None,
                        _ => {}
                    }
                    self.write(&mut st, &c.address).await?;
                    token
                };
                let slot = self.slot(p).await;
                self.progress.start(&c.address, "creating");
                let live = p.create(&desired, &token).await.map_err(|e| provider_error(&c.address, e))?;
                drop(slot);
                self.record(c, &live, &desired).await?;
                self.progress.finish(&c.address, &format!("created {}", live.id));
                if c.action == Action::Replace {
                    deposed.extend(old.map(|o| (c, o)));
                }
            }
            Action::Update => {
                self.ensure_dependencies_ready(c).await?;
                let desired = self.resolve(c, p).await?;
                let live = self.current_live(c).await.ok_or_else(|| unresolved(&c.address, "the object to update"))?;
                {
                    let mut st = self.state.lock().await;
                    let token = st.create_token(&c.address);
                    let entry = st.resources.entry(c.address.clone()).or_insert_with(|| self.new_entry(c));
                    entry.intent = Some(intent(Op::Update, token));
                    if entry.id.is_none() {
                        entry.id = Some(live.id.clone());
                    }
                    // Remember what was there before taking it over, before touching it.
                    if c.adopt {
                        entry.adopted.clone_from(&c.before);
                    }
                    self.write(&mut st, &c.address).await?;
                }
                let slot = self.slot(p).await;
                self.progress.start(&c.address, "updating");
                let new = p.update(&live, &desired).await.map_err(|e| provider_error(&c.address, e))?;
                drop(slot);
                self.record(c, &new, &desired).await?;
                if self.mode == Mode::Destroy {
                    // A record restored on destroy is the user's again.
                    let mut st = self.state.lock().await;
                    st.resources.remove(&c.address);
                    self.write(&mut st, &c.address).await?;
                }
                self.progress.finish(&c.address, "updated");
            }
            Action::Delete if c.deposed => {
                let old = Live {
                    id: c.id.clone().ok_or_else(|| unresolved(&c.address, "the replaced object"))?,
                    desired: c.before.clone().ok_or_else(|| unresolved(&c.address, "the replaced object"))?,
                    outputs: Outputs::default(),
                    readiness: Default::default(),
                    marked: false,
                };
                self.delete_deposed(c, &old).await?;
            }
            Action::Forget if c.deposed => {
                let mut st = self.state.lock().await;
                if let Some(entry) = st.resources.get_mut(&c.address) {
                    entry.deposed.retain(|id| Some(id) != c.id.as_ref());
                }
                self.write(&mut st, &c.address).await?;
            }
            Action::Delete => {
                let live = self.current_live(c).await.ok_or_else(|| unresolved(&c.address, "the object to delete"))?;
                {
                    let mut st = self.state.lock().await;
                    let token = st.create_token(&c.address);
                    if let Some(entry) = st.resources.get_mut(&c.address) {
                        entry.intent = Some(intent(Op::Delete, token));
                    }
                    self.write(&mut st, &c.address).await?;
                }
                self.delete_until_gone(&c.address, p, &live).await?;
                let mut st = self.state.lock().await;
                st.resources.remove(&c.address);
                self.write(&mut st, &c.address).await?;
            }
            Action::Forget => {
                let mut st = self.state.lock().await;
                st.resources.remove(&c.address);
                self.write(&mut st, &c.address).await?;
                self.progress.finish(&c.address, "removed from state");
            }
        }
        Ok(())
    }

    /// Deletes an object `c`'s address replaced, once what depends on it has moved to the new one
    /// and is ready (a distribution deployed with the new certificate), and takes it off the
    /// address's deposed list.
    async fn delete_deposed(&self, c: &Change, old: &Live) -> Result<(), ApplyError> {
        let dependents: Vec<String> = self
            .template_for(c)
            .map(|t| {
                t.cdn
                    .resources
                    .iter()
                    .filter(|r| r.dependencies().contains(&c.part))
                    .filter_map(|r| t.address(&r.part).ok())
                    .collect()
            })
            .unwrap_or_default();
        for dependent in dependents {
            self.wait_for(&dependent).await?;
        }
        let p = self.provider(&c.address, &c.provider)?;
        self.delete_until_gone(&c.address, p, old).await?;
        let mut st = self.state.lock().await;
        if let Some(entry) = st.resources.get_mut(&c.address) {
            entry.deposed.retain(|id| id != &old.id);
        }
        self.write(&mut st, &c.address).await
    }

    async fn delete_until_gone(&self, address: &str, p: &dyn Provider, live: &Live) -> Result<(), ApplyError> {
        self.progress.start(address, "deleting");
        let err = |e| provider_error(address, e);
        loop {
            let slot = self.slot(p).await;
            let deletion = p.delete(live).await.map_err(err)?;
            drop(slot);
            match deletion {
                Deletion::Done => break,
                Deletion::InProgress => {
                    self.waits.until_ready(p, live, address, Gone::Done).await?;
                }
            }
        }
        self.progress.finish(address, "deleted");
        Ok(())
    }

    async fn record(&self, c: &Change, live: &Live, desired: &Desired) -> Result<(), ApplyError> {
        let mut st = self.state.lock().await;
        let entry = st.resources.entry(c.address.clone()).or_insert_with(|| self.new_entry(c));
        // A replacement reports its own outputs: none of the object it replaces may linger (a
        // renewed certificate's new key beside its predecessor's chain).
        if entry.id.as_ref().is_some_and(|id| id != &live.id) {
            entry.outputs = Outputs::default();
        }
        entry.id = Some(live.id.clone());
        entry.outputs = entry.outputs.merged(&live.outputs);
        entry.desired = Some(desired.clone());
        entry.intent = None;
        self.write(&mut st, &c.address).await
    }

    fn new_entry(&self, c: &Change) -> ResourceState {
        ResourceState {
            kind: c.kind.clone(),
            provider: c.provider.clone(),
            domain: c.domain.clone(),
            shared: c.shared.clone(),
            cdn: self.template_for(c).map(|t| t.domain.cdn.clone()),
            id: None,
            desired: None,
            outputs: Outputs::default(),
            intent: None,
            adopted: None,
            deposed: Vec::new(),
        }
    }

    /// The object a change acts on, as the plan saw it, with the outputs state knows.
    async fn current_live(&self, c: &Change) -> Option<Live> {
        let st = self.state.lock().await;
        let entry = st.resources.get(&c.address);
        let id = c.id.clone().or_else(|| entry.and_then(|e| e.id.clone()))?;
        let desired = c.before.clone().or_else(|| entry.and_then(|e| e.desired.clone()))?;
        let outputs = entry.map(|e| e.outputs.clone()).unwrap_or_default();
        Some(Live { id, desired, outputs, readiness: Default::default(), marked: false })
    }

    /// Waits until the object at `address` is ready, if the state has one (an object sslprov
    /// only shares was checked when the plan was made).
    async fn wait_for(&self, address: &str) -> Result<(), ApplyError> {
        let found = {
            let st = self.state.lock().await;
            st.resources.get(address).and_then(|e| {
                let live = Live {
                    id: e.id.clone()?,
                    desired: e.desired.clone()?,
                    outputs: e.outputs.clone(),
                    readiness: Default::default(),
                    marked: false,
                };
                Some((live, e.provider.clone(), e.kind.clone()))
            })
        };
        let Some((live, provider, kind)) = found else { return Ok(()) };
        let p = self.provider(address, &provider)?;
        if !p.info().kind(&kind).is_some_and(|k| k.becomes_ready) {
            return Ok(());
        }
        let seen = self.waits.until_ready(p, &live, address, Gone::Fails).await?;
        // The state says what is true at the end of the step: issued, deployed.
        let mut st = self.state.lock().await;
        if let Some(entry) = st.resources.get_mut(address)
            && entry.outputs.merged(&seen) != entry.outputs
        {
            entry.outputs = entry.outputs.merged(&seen);
            self.write(&mut st, address).await?;
        }
        Ok(())
    }

    /// The safe order: a resource is written only once everything its template says it must wait
    /// for is ready (a distribution on an issued certificate, the tracking record on a deployed
    /// CDN). Checked on every run, so a run stopped during a wait simply waits again. On destroy,
    /// a record goes back to the ESP, which needs nothing to be ready.
    async fn ensure_dependencies_ready(&self, c: &Change) -> Result<(), ApplyError> {
        if self.mode != Mode::Apply {
            return Ok(());
        }
        let Some(t) = self.template_for(c) else { return Ok(()) };
        let Some(res) = t.cdn.resource(&c.part) else { return Ok(()) };
        for dep in &res.ready {
            let dep = t.address(dep).map_err(|e| unresolved(&c.address, e.to_string()))?;
            self.wait_for(&dep).await?;
        }
        Ok(())
    }

    /// What the change writes: as the plan showed it, with the fields the plan could not know
    /// rendered from the template now that the steps they come from have recorded their outputs.
    async fn resolve(&self, c: &Change, p: &dyn Provider) -> Result<Desired, ApplyError> {
        let after = c.after.clone().ok_or_else(|| unresolved(&c.address, "the target"))?;
        if c.after_unknown.is_empty() {
            return Ok(after);
        }
        let what = || c.after_unknown.join(", ");
        let t = self.template_for(c).ok_or_else(|| unresolved(&c.address, what()))?;
        let res = t.cdn.resource(&c.part).ok_or_else(|| unresolved(&c.address, what()))?;
        let rendered = {
            let st = self.state.lock().await;
            let outputs = |part: &str| match t.address(part).ok().and_then(|a| st.resources.get(&a)) {
                Some(r) if r.id.is_some() => Lookup::Known(&r.outputs),
                _ => Lookup::Unknown,
            };
            t.render(res, &outputs).map_err(|e| unresolved(&c.address, e.to_string()))?
        };
        if !rendered.is_complete() {
            return Err(unresolved(&c.address, rendered.unknown.into_iter().collect::<Vec<_>>().join(", ")));
        }
        p.normalise(&rendered.desired(&c.kind)).map_err(|e| provider_error(&c.address, e))
    }
}

fn intent(op: Op, token: sslprov_provider::IdempotencyToken) -> Intent {
    Intent { op, token, started: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string() }
}

pub fn default_wait() -> WaitOptions {
    WaitOptions { poll: Duration::from_secs(10), timeout: Duration::from_secs(45 * 60) }
}
