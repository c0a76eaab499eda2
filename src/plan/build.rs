//! The planner: spec + templates + state + inventory → changes. No I/O: the same inputs give the
//! same plan. Providers are asked only what they answer without a request (normalise, key,
//! review).
//!
//! Per domain, the CDN template's resources are planned in order, each rendered with the outputs
//! of those before it (as they exist, or unknown while still to be made), matched to what exists,
//! and converged: created, updated, replaced, adopted or left alone. Destroy walks the same order
//! backwards.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sslprov_provider::{Desired, Live, Outputs, Provider, Readiness, Wanted};

use super::{Action, Addressed, Change, FORMAT_VERSION, Kept, Plan, Recovered, SpecRef, StateRef, Summary, address};
use crate::providers::Providers;
use crate::refresh::{Inventory, selected};
use crate::spec::{Domain, Spec};
use crate::state::{Op, ResourceState, State};
use crate::template::{
    CdnTemplate, DomainTemplate, Existing, Lookup, ResourceTemplate, SharedUse, TRACKING, shared_uses, templates,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Apply,
    Destroy,
}

pub struct PlanInput<'a> {
    pub spec: &'a Spec,
    pub state: Option<&'a State>,
    pub inventory: &'a Inventory,
    pub providers: &'a Providers,
    pub mode: Mode,
    /// Domain keys to limit the plan to; empty = all.
    pub targets: &'a [String],
    pub restore_adopted: bool,
    /// Lineage a state written by this plan's apply will get, when no state exists yet.
    pub new_lineage: &'a str,
    pub created: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("--target {0}: no such domain in the spec or the state")]
    UnknownTarget(String),
    #[error(
        "domains.{key}: tracking_domain changed from {was} to {now}. sslprov does not move a tracking domain in place: \
         links already delivered point at {was}. Put {now} under a new key, apply it, and remove `{key}` (or run \
         `sslprov destroy --target {key}`) once {was}'s links no longer matter."
    )]
    Renamed { key: String, was: String, now: String },
    /// What a resource cannot be: refused by its provider, or a template that does not render.
    #[error("{address}: {message}")]
    Resource { address: String, message: String },
    /// A provider's reason the plan cannot be carried out (its message names the address).
    #[error("{0}")]
    Review(String),
}

pub fn build(input: PlanInput<'_>) -> Result<Plan, Vec<PlanError>> {
    let empty = State::new(input.new_lineage.to_owned());
    let state = input.state.unwrap_or(&empty);
    let in_state: BTreeSet<String> =
        state.resources.values().filter(|r| !r.is_shared()).map(|r| r.domain.clone()).collect();
    let mut errors = Vec::new();
    for t in input.targets {
        if !input.spec.domains.contains_key(t) && !in_state.contains(t) {
            errors.push(PlanError::UnknownTarget(t.clone()));
        }
    }
    let mut planner = Planner {
        input: &input,
        state,
        claimed: claimed(state),
        keys: keys(input.inventory, input.providers),
        ids: input
            .inventory
            .iter()
            .flat_map(|(p, k, lives)| lives.iter().map(move |l| ((p.to_owned(), k.to_owned(), l.id.clone()), l)))
            .collect(),
        in_use: in_use(input.inventory),
        changes: Vec::new(),
        recovered: Vec::new(),
        errors,
        wanted: BTreeMap::new(),
        share_keys: BTreeSet::new(),
        shared: BTreeMap::new(),
        uses: shared_uses(input.spec),
        destroyed: BTreeSet::new(),
        kept: Vec::new(),
        warnings: Vec::new(),
    };
    for (key, domain) in input.spec.domains.iter().filter(|(k, _)| selected(input.targets, k)) {
        match input.mode {
            Mode::Apply => planner.apply_domain(domain),
            Mode::Destroy => planner.destroy_domain(key, Some(domain)),
        }
    }
    // Domains in state but gone from the spec are destroyed, like any removed resource.
    for key in in_state.iter().filter(|k| !input.spec.domains.contains_key(k.as_str()) && selected(input.targets, k)) {
        planner.destroy_domain(key, None);
    }
    // Shared objects no domain uses any more go last, once every domain has moved off them.
    let remaining: Vec<&ResourceState> = in_state
        .iter()
        .filter(|k| !input.spec.domains.contains_key(k.as_str()) && !planner.destroyed.contains(k.as_str()))
        .filter_map(|k| state.resources.values().find(|r| &r.domain == k))
        .collect();
    planner.shared_deletes(&remaining);
    planner.shared_users();
    planner.review();
    let Planner { changes, recovered, errors, mut warnings, kept, .. } = planner;
    if !errors.is_empty() {
        return Err(errors);
    }
    warnings.sort();
    warnings.dedup();
    let summary = Summary::of(&changes);
    Ok(Plan {
        format_version: FORMAT_VERSION.into(),
        sslprov_version: env!("CARGO_PKG_VERSION").into(),
        created: input.created.clone(),
        mode: input.mode,
        spec: SpecRef { path: input.spec.path.clone(), sha256: input.spec.hash.clone() },
        state: StateRef {
            path: input.spec.state_path.clone(),
            lineage: state.lineage.clone(),
            serial: input.state.map_or(0, |s| s.serial),
            exists: input.state.is_some(),
        },
        targets: input.targets.to_vec(),
        restore_adopted: input.restore_adopted,
        changes,
        recovered,
        warnings,
        kept,
        summary,
    })
}

/// Whether updating `live` restarts it: a kind repaired in place, found failed or due for renewal.
fn restarts(s: &Slot<'_>, live: Option<&Live>) -> bool {
    let kind = s.provider.info().kind(s.kind).filter(|k| k.becomes_ready && k.repair_in_place);
    kind.is_some() && live.is_some_and(|l| restart_reason(&l.readiness).is_some())
}

/// Why an object that failed or is due for renewal is restarted: its reason, then what happens
/// when its kind is repaired in place and when it is replaced.
fn restart_reason(readiness: &Readiness) -> Option<(&str, &'static str, &'static str)> {
    match readiness {
        Readiness::Failed { reason } => Some((reason, "it is restarted in place", "it will never serve the domain")),
        Readiness::Expiring { reason } => Some((reason, "it is renewed in place", "a new one replaces it before then")),
        _ => None,
    }
}

/// Every listed object by its provider's key for it, so that matching a thousand domains to what
/// exists is a lookup each rather than a scan each.
fn keys<'a>(inventory: &'a Inventory, providers: &Providers) -> HashMap<(String, String, String), Vec<&'a Live>> {
    let mut out: HashMap<(String, String, String), Vec<&'a Live>> = HashMap::new();
    for (provider, kind, lives) in inventory.iter() {
        let Some(p) = providers.get(provider) else { continue };
        for l in lives {
            if let Some(key) = p.key(&l.desired) {
                out.entry((provider.to_owned(), kind.to_owned(), key)).or_default().push(l);
            }
        }
    }
    out
}

/// Object ids the state gives an address (current or replaced): never matched to another one.
fn claimed(state: &State) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (address, r) in &state.resources {
        for id in r.id.iter().chain(&r.deposed) {
            out.insert(id.clone(), address.clone());
        }
    }
    out
}

fn in_use(inventory: &Inventory) -> HashSet<&str> {
    fn strings<'v>(v: &'v serde_json::Value, out: &mut HashSet<&'v str>) {
        match v {
            serde_json::Value::String(s) => {
                out.insert(s);
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            serde_json::Value::Object(o) => o.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let mut out = HashSet::new();
    for (_, _, lives) in inventory.iter() {
        for l in lives {
            l.desired.spec.values().for_each(|v| strings(v, &mut out));
        }
    }
    out
}

struct Planner<'a> {
    input: &'a PlanInput<'a>,
    state: &'a State,
    claimed: BTreeMap<String, String>,
    keys: HashMap<(String, String, String), Vec<&'a Live>>,
    ids: HashMap<(String, String, String), &'a Live>,
    /// Every string another live object's fields hold: an object whose id is among them is in
    /// use (a certificate a distribution serves), and wins over a twin that is not.
    in_use: HashSet<&'a str>,
    changes: Vec<Change>,
    recovered: Vec<Recovered>,
    errors: Vec<PlanError>,
    /// Per provider: what the plan wants of it, and the object it was matched to, for review.
    wanted: BTreeMap<String, Vec<(String, Desired, Option<Live>)>>,
    /// `(provider, key)` of objects `existing: share` already planned: two resources asking for
    /// the same one (two certificates asking for one validation record) write it once.
    share_keys: BTreeSet<(String, String)>,
    /// Shared parts already planned, by address: the first domain that needs one plans it, the
    /// others use what it will have reported.
    shared: BTreeMap<String, SharedPlan>,
    /// Who uses each shared address, from the spec.
    uses: BTreeMap<String, SharedUse>,
    /// Domains this plan destroys.
    destroyed: BTreeSet<String>,
    kept: Vec<Kept>,
    warnings: Vec<String>,
}

/// A shared part as the first domain that needed it planned it.
struct SharedPlan {
    /// The domain that planned it.
    by: String,
    /// Its spec as that domain rendered it: every other domain must render the same.
    rendered: serde_json::Map<String, serde_json::Value>,
    /// What it will have reported once applied (`None`: still to be made).
    outputs: Option<Outputs>,
}

/// One resource of one domain (or a shared one), as the planner sees it.
struct Slot<'a> {
    address: String,
    /// The domain key; empty for a shared object.
    domain: &'a str,
    /// A shared object's identity.
    shared: Option<&'a str>,
    part: &'a str,
    provider_name: String,
    provider: &'a Arc<dyn Provider>,
    kind: &'a str,
    res: Option<&'a ResourceTemplate>,
    state: Option<&'a ResourceState>,
}

impl<'a> Planner<'a> {
    fn provider(&mut self, address: &str, name: &str) -> Option<&'a Arc<dyn Provider>> {
        let found = self.input.providers.get(name);
        if found.is_none() {
            let message = format!("provider `{name}` is not available to this run");
            self.errors.push(PlanError::Resource { address: address.to_owned(), message });
        }
        found
    }

    fn change(&self, s: &Slot<'_>, action: Action, live: Option<&Live>, after: Option<Desired>) -> Change {
        Change {
            address: s.address.clone(),
            domain: s.domain.to_owned(),
            shared: s.shared.map(str::to_owned),
            users: Vec::new(),
            part: s.part.to_owned(),
            provider: s.provider_name.clone(),
            kind: s.kind.to_owned(),
            action,
            reason: None,
            id: live.map(|l| l.id.clone()).or_else(|| s.state.and_then(|r| r.id.clone())),
            before: live.map(|l| l.desired.clone()),
            after,
            after_unknown: Vec::new(),
            adopt: false,
            deposed: false,
        }
    }

    /// The object `s` stands for: the one a stopped create made (by its token), the one the state
    /// names, or one with the same identity (sslprov's own, or any where the kind allows it).
    fn find(&self, s: &Slot<'_>, want: Option<&Desired>) -> Option<&'a Live> {
        let lives = self.input.inventory.lives(&s.provider_name, s.kind);
        let r = s.state;
        // A create in flight (a first one, or a replacement) wins over the id it would replace.
        let in_flight = r.and_then(|r| r.intent.as_ref()).filter(|i| i.op == Op::Create).map(|i| i.token.as_str());
        if let Some(l) = in_flight.and_then(|t| lives.iter().find(|l| l.outputs.token() == Some(t))) {
            return Some(l);
        }
        let by_id = |id: &String| self.ids.get(&(s.provider_name.clone(), s.kind.to_owned(), id.clone())).copied();
        if let Some(l) = r.and_then(|r| r.id.as_ref()).and_then(by_id) {
            return Some(l);
        }
        let key = want.or(r.and_then(|r| r.desired.as_ref())).and_then(|d| s.provider.key(d))?;
        let adoptable = s.provider.info().kind(s.kind).is_some_and(|k| k.adoptable);
        let rank = |l: &Live| match l.readiness {
            Readiness::Ready => 0,
            Readiness::Expiring { .. } => 1,
            Readiness::Pending { .. } => 2,
            Readiness::Failed { .. } => 3,
        };
        self.keys
            .get(&(s.provider_name.clone(), s.kind.to_owned(), key))?
            .iter()
            .copied()
            .filter(|l| adoptable || l.marked)
            .filter(|l| self.claimed.get(&l.id).is_none_or(|a| a == &s.address || self.moved(a, s)))
            .min_by_key(|l| (rank(l), !l.marked, !self.in_use.contains(l.id.as_str()), l.id.clone()))
    }

    /// Whether the object the state records at `from` is the one `s` stands for at its new
    /// address: `from` is a shared address of the same part and provider that no domain of the
    /// spec renders any more (the template's identity changed, as when a per-origin part gained
    /// the brand group). It is recorded at `s` and forgotten at `from`, never deleted and made
    /// again.
    fn moved(&self, from: &str, s: &Slot<'_>) -> bool {
        s.shared.is_some()
            && from != s.address
            && !self.uses.contains_key(from)
            && Addressed::parse(from).is_some_and(|a| matches!(a, Addressed::Shared { part, .. } if part == s.part))
            && self.state.resources.get(from).is_some_and(|r| r.is_shared() && r.provider == s.provider_name)
    }

    /// The address this plan records the object of shared `address` at, if it moved there.
    fn moved_to(&self, address: &str, r: &ResourceState) -> Option<String> {
        let id = r.id.as_ref()?;
        self.wanted
            .get(&r.provider)?
            .iter()
            .find(|(a, _, live)| a != address && live.as_ref().is_some_and(|l| &l.id == id))
            .map(|(a, ..)| a.clone())
    }

    /// An object to record in state before anything else: one a run made but stopped before
    /// recording, one that carries sslprov's mark but no state entry (the state was lost), one
    /// that is exactly what the spec wants from objects recovered so (a record pointing at a
    /// recovered distribution, a recovered certificate's validation record), or one whose outputs
    /// the state lacks (a certificate's validation records, reported after its create returned).
    /// Returns whether the object is recorded as sslprov's.
    ///
    /// An object an interrupted delete was removing is not one of these on destroy: the plan
    /// finishes the delete. On apply, where the spec still wants it, it is kept and its intent
    /// cleared.
    fn note(&mut self, s: &Slot<'_>, live: Option<&Live>, want: Option<&Desired>) -> bool {
        let Some(live) = live else { return false };
        let deleting = s.state.and_then(|r| r.intent.as_ref()).is_some_and(|i| i.op == Op::Delete);
        let unrecorded = s.state.is_none_or(|r| r.id.is_none() && r.intent.is_none() && r.adopted.is_none());
        // What was recovered alongside it: of its domain, or (for a shared object) shared too.
        let domain_recovered = || {
            self.recovered.iter().any(|r| match Addressed::parse(&r.address) {
                Some(Addressed::Domain { domain, .. }) => s.shared.is_none() && domain == s.domain,
                Some(Addressed::Shared { .. }) => s.shared.is_some(),
                None => false,
            })
        };
        let how = match s.state {
            _ if deleting && self.input.mode == Mode::Destroy => None,
            _ if deleting => Some("an interrupted delete left it in place, and the spec still wants it"),
            Some(r) if r.intent.as_ref().is_some_and(|i| i.op == Op::Create) && r.id.as_deref() != Some(&live.id) => {
                Some(super::MADE_BY_AN_INTERRUPTED_RUN)
            }
            _ if unrecorded && self.claimed.get(&live.id).is_some_and(|a| a != &s.address) => {
                Some("the state recorded it at an address the template no longer gives it")
            }
            _ if unrecorded && live.marked => Some(super::MARKED_BUT_NOT_IN_STATE),
            _ if unrecorded && want == Some(&live.desired) && domain_recovered() => Some(super::POINTS_AT_RECOVERED),
            Some(r) if r.id.as_deref() != Some(live.id.as_str()) || r.intent.is_some() => {
                Some(super::MADE_BY_AN_INTERRUPTED_RUN)
            }
            Some(r) if live.outputs.0.keys().any(|k| k != "warnings" && !r.outputs.0.contains_key(k)) => {
                Some("its outputs were not recorded yet")
            }
            _ => None,
        };
        let Some(how) = how else { return false };
        self.recovered.push(Recovered {
            address: s.address.clone(),
            how: how.to_owned(),
            provider: s.provider_name.clone(),
            live: live.clone(),
        });
        unrecorded
    }

    fn apply_domain(&mut self, d: &'a Domain) {
        if let Some(was) = recorded_name(self.state, &d.key).filter(|was| was != &d.tracking_domain) {
            self.errors.push(PlanError::Renamed { key: d.key.clone(), was, now: d.tracking_domain.clone() });
            return;
        }
        let Some(t) = DomainTemplate::of(d) else { return };
        // What each part will have reported once applied: its outputs if it stays, nothing yet if
        // it is still to be made.
        let mut outputs: BTreeMap<&str, Option<Outputs>> = BTreeMap::new();
        for res in t.parts() {
            let address = match t.address(&res.part) {
                Ok(a) => a,
                Err(e) => {
                    let message = format!("template: {e}");
                    self.errors.push(PlanError::Resource { address: address(&d.key, &res.part), message });
                    return;
                }
            };
            let identity = res.shared.as_ref().and(Addressed::parse(&address)).and_then(|a| match a {
                Addressed::Shared { identity, .. } => Some(identity.to_owned()),
                Addressed::Domain { .. } => None,
            });
            let provider_name = t.provider(res).to_owned();
            let Some(provider) = self.provider(&address, &provider_name) else { return };
            let state = self.state.resources.get(&address);
            let lookup = |part: &str| match outputs.get(part) {
                Some(Some(o)) => Lookup::Known(o),
                _ => Lookup::Unknown,
            };
            if let Some(planned) = self.shared.get(&address) {
                // Another domain planned this shared object: it is the same one, with the same
                // spec, and this domain uses what it will have reported.
                match t.render(res, &lookup) {
                    Ok(r) if r.spec == planned.rendered => {}
                    Ok(r) => {
                        let differing: Vec<&String> = r
                            .spec
                            .keys()
                            .chain(planned.rendered.keys())
                            .filter(|k| r.spec.get(*k) != planned.rendered.get(*k))
                            .collect();
                        self.errors.push(PlanError::Resource {
                            address: address.clone(),
                            message: format!(
                                "domains {} and {} render this shared object differently ({}); its template's identity \
                                 must cover every domain value its spec uses",
                                planned.by,
                                d.key,
                                differing
                                    .iter()
                                    .map(|k| k.as_str())
                                    .collect::<BTreeSet<_>>()
                                    .into_iter()
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        });
                        return;
                    }
                    Err(e) => {
                        self.errors.push(PlanError::Resource { address, message: format!("template: {e}") });
                        return;
                    }
                }
                outputs.insert(&res.part, planned.outputs.clone());
                continue;
            }
            let identity = identity.as_deref();
            let s = Slot {
                address,
                domain: if identity.is_some() { "" } else { &d.key },
                shared: identity,
                part: &res.part,
                provider_name,
                provider,
                kind: &res.kind,
                res: Some(res),
                state,
            };
            let rendered = match t.render(res, &lookup) {
                Ok(r) => r,
                Err(e) => {
                    self.errors
                        .push(PlanError::Resource { address: s.address.clone(), message: format!("template: {e}") });
                    return;
                }
            };
            let want = if rendered.is_complete() {
                match provider.normalise(&rendered.desired(&res.kind)) {
                    Ok(w) => w,
                    Err(e) => {
                        self.errors.push(PlanError::Resource { address: s.address.clone(), message: e.message });
                        return;
                    }
                }
            } else {
                // As the provider will write it where it can read the spec with its unknown
                // fields in (an alias pair has no TTL); as rendered where it cannot.
                let raw = rendered.desired(&res.kind);
                provider.normalise(&raw).ok().filter(|w| rendered.keeps_unknown_in(&w.spec)).unwrap_or(raw)
            };
            let sought = if rendered.is_complete() { want.clone() } else { rendered.known_desired(&res.kind) };
            let live = self.find(&s, Some(&sought));
            // Two resources asking for one shared object (two certificates, one validation
            // record) write it once.
            let key = provider.key(&sought);
            if let (Some(Existing::Share), Some(key)) = (res.existing, key)
                && !self.share_keys.insert((s.provider_name.clone(), key))
            {
                outputs.insert(&res.part, live.map(|l| l.outputs.clone()));
                continue;
            }
            let recovered = self.note(&s, live, Some(&want));
            let unknown: Vec<String> = rendered.unknown.iter().cloned().collect();
            let change = match self.converge(&s, live, want.clone(), unknown, recovered) {
                Ok(c) => c,
                Err(message) => {
                    self.errors.push(PlanError::Resource { address: s.address.clone(), message });
                    return;
                }
            };
            // A restarted object (one that failed, or is due for renewal, repaired in place)
            // reports afresh, like a new one: what references its outputs (a validation token) is
            // rendered again once it has restarted, in the same run.
            let remade = change.as_ref().is_some_and(|c| {
                matches!(c.action, Action::Create | Action::Replace)
                    || (c.action == Action::Update && restarts(&s, live))
            });
            let known =
                live.map(|l| s.state.map(|r| r.outputs.merged(&l.outputs)).unwrap_or_else(|| l.outputs.clone()));
            let reported = if remade { None } else { known };
            if s.shared.is_some() {
                self.shared.insert(
                    s.address.clone(),
                    SharedPlan { by: d.key.clone(), rendered: rendered.spec.clone(), outputs: reported.clone() },
                );
                self.deposed(&s.address);
            }
            outputs.insert(&res.part, reported);
            if let Some(l) = live {
                self.warnings.extend(l.outputs.warnings().into_iter().map(|w| format!("{}: {w}", s.address)));
            }
            self.wanted.entry(s.provider_name.clone()).or_default().push((s.address.clone(), want, live.cloned()));
            self.changes.extend(change);
        }
        for res in t.parts().into_iter().filter(|r| !r.is_shared()) {
            self.deposed(&address(&d.key, &res.part));
        }
    }

    /// Create what is missing, update what differs (saying so when it is drift), replace what
    /// cannot change in place or will never be ready, adopt or share what the template allows,
    /// leave the rest.
    fn converge(
        &mut self,
        s: &Slot<'_>,
        live: Option<&Live>,
        want: Desired,
        unknown: Vec<String>,
        recovered: bool,
    ) -> Result<Option<Change>, String> {
        let res = s.res.expect("apply planning has a template");
        let Some(l) = live else {
            let mut c = self.change(s, Action::Create, None, Some(want));
            c.after_unknown = unknown;
            return Ok(Some(c));
        };
        let ours = s.state.is_some_and(|r| r.id.is_some() || r.adopted.is_some() || r.intent.is_some())
            || l.marked
            || recovered;
        let kind = s.provider.info().kind(s.kind);
        let mut c = if !ours {
            match res.existing {
                Some(Existing::Adopt) => {
                    let mut c = self.change(s, Action::Update, Some(l), Some(want));
                    c.adopt = true;
                    c.reason = Some(format!(
                        "adopts the existing {}; it is switched to the CDN last, once the CDN is ready",
                        s.kind
                    ));
                    c
                }
                Some(Existing::Share) => {
                    if l.desired == want {
                        return Ok(None);
                    }
                    let mut c = self.change(s, Action::Update, Some(l), Some(want));
                    c.adopt = true;
                    c.reason = Some(format!("adopts the existing {}; destroy leaves it in place", s.kind));
                    c
                }
                None => {
                    return Err(format!(
                        "{} {} {} exists and was not made by sslprov; sslprov does not take over objects it did not \
                         make. Remove it, then plan again.",
                        s.provider.info().title,
                        s.kind,
                        l.id
                    ));
                }
            }
        } else if let (Some((reason, in_place, replaced)), Some(k)) =
            (restart_reason(&l.readiness), kind.filter(|k| k.becomes_ready))
        {
            let action = if k.repair_in_place { Action::Update } else { Action::Replace };
            let mut c = self.change(s, action, Some(l), Some(want));
            c.reason = Some(format!("{reason}; {}", if k.repair_in_place { in_place } else { replaced }));
            c
        } else if l.desired != want {
            let differing: Vec<String> = want
                .spec
                .iter()
                .filter(|(k, v)| !unknown.iter().any(|u| u == *k) && l.desired.spec.get(*k) != Some(*v))
                .map(|(k, _)| k)
                .chain(l.desired.spec.keys().filter(|k| !want.spec.contains_key(*k)))
                .cloned()
                .collect();
            let replace_on = kind.map_or(&[][..], |k| k.replace_on);
            let forced: Vec<&str> = differing
                .iter()
                .map(|f| f.as_str())
                .filter(|f| replace_on.contains(&"*") || replace_on.contains(f))
                .collect();
            if forced.is_empty() {
                let mut c = self.change(s, Action::Update, Some(l), Some(want.clone()));
                c.reason = self.drift_reason(s, &want);
                c
            } else {
                let mut c = self.change(s, Action::Replace, Some(l), Some(want));
                c.reason = Some(format!("a {}'s {} cannot change in place", s.kind, forced.join(", ")));
                c
            }
        } else {
            return Ok(None);
        };
        c.after_unknown = unknown;
        Ok(Some(c))
    }

    /// Drift: sslprov still wants what it last applied, yet the object differs.
    fn drift_reason(&self, s: &Slot<'_>, want: &Desired) -> Option<String> {
        let applied = s.state?.desired.as_ref()?;
        (applied == want).then(|| "changed outside sslprov".to_owned())
    }

    /// Deletes of the objects this address replaced: after its dependents moved to the new one
    /// (apply runs them last), or forgotten if already gone.
    fn deposed(&mut self, address: &str) {
        let Some(r) = self.state.resources.get(address) else { return };
        let Some(provider) = self.provider(address, &r.provider) else { return };
        let Some(parsed) = Addressed::parse(address) else { return };
        for id in &r.deposed {
            let live = self.input.inventory.lives(&r.provider, &r.kind).iter().find(|l| &l.id == id);
            let s = Slot {
                address: address.to_owned(),
                domain: parsed.domain().unwrap_or_default(),
                shared: r.shared.as_deref(),
                part: parsed.part(),
                provider_name: r.provider.clone(),
                provider,
                kind: &r.kind,
                res: None,
                state: Some(r),
            };
            let mut c = self.change(&s, if live.is_some() { Action::Delete } else { Action::Forget }, live, None);
            c.id = Some(id.clone());
            c.deposed = true;
            c.reason = Some("replaced; deleted once nothing uses it".into());
            self.changes.push(c);
        }
    }

    fn destroy_domain(&mut self, key: &'a str, domain: Option<&'a Domain>) {
        self.destroyed.insert(key.to_owned());
        let resources: Vec<(&String, &ResourceState)> =
            self.state.resources.iter().filter(|(_, r)| r.domain == key && !r.is_shared()).collect();
        let parts: Vec<&str> = resources.iter().filter_map(|(a, _)| a.strip_prefix(key)?.strip_prefix('.')).collect();
        // The template the resources were made from: the spec's, the one the state recorded, or
        // (a state from before it was recorded) the one with their parts.
        let t = templates();
        let cdn: Option<&CdnTemplate> = domain
            .and_then(|d| t.cdn.get(&d.cdn))
            .or_else(|| resources.iter().find_map(|(_, r)| t.cdn.get(r.cdn.as_deref()?)))
            .or_else(|| t.cdn_with_parts(parts.iter().copied()).map(|(_, c)| c));
        // The tracking record goes first so it never points at a deleted CDN endpoint (whose
        // hostname someone else could then claim); then each resource before what it depends on.
        let mut order: Vec<&str> =
            cdn.map(|c| c.order().into_iter().rev().map(|r| r.part.as_str()).collect()).unwrap_or_default();
        for p in &parts {
            if !order.contains(p) {
                order.insert(0, p);
            }
        }
        for part in order {
            let address = address(key, part);
            let Some(r) = self.state.resources.get(&address) else { continue };
            let res = cdn.and_then(|c| c.resource(part));
            self.deposed(&address);
            self.destroy_one(address, key, None, part, res, r);
        }
    }

    /// The delete (or forget, or restore) of one object sslprov recorded.
    fn destroy_one(
        &mut self,
        address: String,
        domain: &'a str,
        shared: Option<&'a str>,
        part: &'a str,
        res: Option<&'a ResourceTemplate>,
        r: &'a ResourceState,
    ) {
        {
            let Some(provider) = self.provider(&address, &r.provider) else { return };
            let s = Slot {
                address,
                domain,
                shared,
                part,
                provider_name: r.provider.clone(),
                provider,
                kind: &r.kind,
                res,
                state: Some(r),
            };
            let live = self.find(&s, None);
            self.note(&s, live, None);
            let Some(live) = live else {
                // Gone already (or never made): only the state entry is left to drop.
                let c = self.change(&s, Action::Forget, None, None);
                self.changes.push(c);
                return;
            };
            let c = match (&r.adopted, res.and_then(|r| r.existing)) {
                (Some(original), Some(Existing::Adopt)) if self.input.restore_adopted => {
                    let mut c = self.change(&s, Action::Update, Some(live), Some(original.clone()));
                    c.reason = Some("puts back the record sslprov found, as --restore-adopted asks".into());
                    c
                }
                // An object that was there before sslprov and that it only shared is someone
                // else's to remove.
                (Some(_), Some(Existing::Share)) => {
                    let mut c = self.change(&s, Action::Forget, Some(live), None);
                    c.reason = Some("existed before sslprov; left in place".into());
                    c
                }
                _ => {
                    let mut c = self.change(&s, Action::Delete, Some(live), None);
                    if r.intent.as_ref().is_some_and(|i| i.op == Op::Delete) {
                        c.reason = Some("finishes the delete an interrupted run began".into());
                    }
                    c
                }
            };
            self.changes.push(c);
        }
    }

    /// Shared objects in state that no domain left after this plan uses: deleted after every
    /// domain's changes, each before what it depends on. One that a domain this plan destroys
    /// used and others still use is kept, and the plan says so. `remaining` are domains only the
    /// state knows (removed from the spec, not destroyed by this plan): what they use cannot be
    /// rendered any more, so every shared object of their CDN is kept while they are there.
    fn shared_deletes(&mut self, remaining: &[&ResourceState]) {
        let t = templates();
        let mut deletes: Vec<(&String, &ResourceState, usize)> = Vec::new();
        for (address, r) in self.state.resources.iter().filter(|(_, r)| r.is_shared()) {
            if self.shared.contains_key(address) {
                continue;
            }
            let Some(parsed) = Addressed::parse(address) else { continue };
            if let Some(to) = self.moved_to(address, r) {
                let Some(provider) = self.provider(address, &r.provider) else { continue };
                let s = Slot {
                    address: address.clone(),
                    domain: "",
                    shared: r.shared.as_deref(),
                    part: parsed.part(),
                    provider_name: r.provider.clone(),
                    provider,
                    kind: &r.kind,
                    res: None,
                    state: Some(r),
                };
                let mut c = self.change(&s, Action::Forget, None, None);
                c.reason = Some(format!("the same object is now {to}; only the old address leaves the state"));
                self.changes.push(c);
                continue;
            }
            let users = self.users(address);
            let holders: Vec<String> = remaining
                .iter()
                .filter(|d| d.cdn.is_some() && d.cdn == r.cdn)
                .map(|d| format!("{} (removed from the spec, not destroyed yet)", d.domain))
                .collect();
            if users.is_empty() && holders.is_empty() {
                let cdn = r.cdn.as_deref().and_then(|c| t.cdn.get(c));
                let rank = cdn.and_then(|c| c.order().iter().position(|o| o.part == parsed.part())).unwrap_or(0);
                deletes.push((address, r, rank));
                continue;
            }
            let was_used = self.uses.get(address).is_some_and(|u| u.users.iter().any(|k| self.destroyed.contains(k)))
                || self.destroyed.iter().any(|k| {
                    !self.input.spec.domains.contains_key(k)
                        && self.state.resources.values().any(|o| &o.domain == k && o.cdn == r.cdn)
                });
            if was_used {
                self.kept.push(Kept { address: address.clone(), users: users.into_iter().chain(holders).collect() });
            }
        }
        // Each after what depends on it: the reverse of the template's order.
        deletes.sort_by(|a, b| (&a.1.cdn, std::cmp::Reverse(a.2)).cmp(&(&b.1.cdn, std::cmp::Reverse(b.2))));
        for (address, r, _) in deletes {
            let Some(Addressed::Shared { part, identity }) = Addressed::parse(address) else { continue };
            let res = r.cdn.as_deref().and_then(|c| t.cdn.get(c)).and_then(|c| c.resource(part));
            self.deposed(address);
            let before = self.changes.len();
            self.destroy_one(address.clone(), "", Some(identity), part, res, r);
            for c in &mut self.changes[before..] {
                if c.reason.is_none() {
                    c.reason = Some("no domain uses it any more".into());
                }
            }
        }
    }

    /// The spec's domains that use `address` once this plan is applied.
    fn users(&self, address: &str) -> Vec<String> {
        self.uses
            .get(address)
            .map(|u| u.users.iter().filter(|k| !self.destroyed.contains(*k)).cloned().collect())
            .unwrap_or_default()
    }

    /// Each shared change says who uses the object after it.
    fn shared_users(&mut self) {
        let users: Vec<Vec<String>> =
            self.changes.iter().map(|c| if c.shared.is_some() { self.users(&c.address) } else { Vec::new() }).collect();
        for (c, u) in self.changes.iter_mut().zip(users) {
            c.users = u;
        }
    }

    /// Each provider's say on what the plan wants of it.
    fn review(&mut self) {
        for (name, wanted) in std::mem::take(&mut self.wanted) {
            let Some(provider) = self.input.providers.get(&name) else { continue };
            let inventory = self.input.inventory.of_provider(&name);
            let items: Vec<Wanted<'_>> = wanted
                .iter()
                .map(|(address, desired, live)| Wanted { address, desired, live: live.as_ref() })
                .collect();
            let review = provider.review(&items, &inventory);
            self.errors.extend(review.errors.into_iter().map(PlanError::Review));
            self.warnings.extend(review.warnings);
        }
    }
}

/// The tracking domain the state says domain `key` was made for.
fn recorded_name(state: &State, key: &str) -> Option<String> {
    let r = state.resources.get(&address(key, TRACKING))?;
    r.desired.as_ref()?.str("name").map(str::to_owned)
}
