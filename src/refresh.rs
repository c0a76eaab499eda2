//! Refresh: what exists, in a few list sweeps (one per provider and kind, each sweeping by zone or
//! name as its provider sees fit), never one read per resource.
//!
//! What to look for comes from the spec, rendered with what the state knows (fields no run has
//! learnt yet are left out, and match anything), and from the state itself.

use std::collections::{BTreeMap, BTreeSet};

use sslprov_provider::{Live, ProviderError, Scope};

use crate::providers::Providers;
use crate::spec::Spec;
use crate::state::State;
use crate::template::{DomainTemplate, Lookup};

/// Per provider, then per kind.
pub type Scopes = BTreeMap<(String, String), Scope>;

/// What exists, per provider and kind.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    by_kind: BTreeMap<(String, String), Vec<Live>>,
}

impl Inventory {
    pub fn lives(&self, provider: &str, kind: &str) -> &[Live] {
        self.by_kind.get(&(provider.to_owned(), kind.to_owned())).map_or(&[], Vec::as_slice)
    }

    /// Everything of one provider, every kind.
    pub fn of_provider(&self, provider: &str) -> Vec<Live> {
        self.by_kind.iter().filter(|((p, _), _)| p == provider).flat_map(|(_, l)| l.iter().cloned()).collect()
    }

    /// Every provider's and kind's objects.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &[Live])> {
        self.by_kind.iter().map(|((p, k), l)| (p.as_str(), k.as_str(), l.as_slice()))
    }

    pub fn insert(&mut self, provider: &str, kind: &str, lives: Vec<Live>) {
        self.by_kind.insert((provider.to_owned(), kind.to_owned()), lives);
    }
}

/// Whether a run is limited to some domains, and which.
pub fn selected(targets: &[String], key: &str) -> bool {
    targets.is_empty() || targets.iter().any(|t| t == key)
}

/// What the selected domains want, and what the state holds for them, per provider and kind.
pub fn scopes(spec: &Spec, state: Option<&State>, targets: &[String]) -> Scopes {
    let mut scopes = Scopes::new();
    fn scope<'s>(scopes: &'s mut Scopes, provider: &str, kind: &str) -> &'s mut Scope {
        scopes.entry((provider.to_owned(), kind.to_owned())).or_insert_with(|| Scope::new(kind))
    }
    let resources = state.map(|s| &s.resources);
    // A shared object is looked for once, however many domains use it.
    let mut shared = BTreeSet::new();
    for d in spec.domains.values().filter(|d| selected(targets, &d.key)) {
        let Some(t) = DomainTemplate::of(d) else { continue };
        let outputs = |part: &str| match t.address(part).ok().and_then(|a| resources.and_then(|r| r.get(&a))) {
            Some(r) if r.id.is_some() => Lookup::Known(&r.outputs),
            _ => Lookup::Unknown,
        };
        for r in t.parts() {
            if r.is_shared() && !t.address(&r.part).is_ok_and(|a| shared.insert(a)) {
                continue;
            }
            // A template defect is the plan's to report; refresh looks for what it can.
            if let Ok(rendered) = t.render(r, &outputs) {
                scope(&mut scopes, t.provider(r), &r.kind).wanted.push(rendered.known_desired(&r.kind));
            }
        }
    }
    // Shared objects whatever the targets: a plan deletes those no domain uses any more.
    for r in resources.into_iter().flat_map(|r| r.values()).filter(|r| r.is_shared() || selected(targets, &r.domain)) {
        let s = scope(&mut scopes, &r.provider, &r.kind);
        s.wanted.extend(r.desired.clone());
        s.known.extend(r.id.iter().map(|id| (id.clone(), r.desired.clone())));
        s.outputs.extend(r.id.iter().map(|id| (id.clone(), r.outputs.clone())));
        s.known.extend(r.deposed.iter().map(|id| (id.clone(), None)));
    }
    scopes
}

/// The providers the scopes name.
pub fn provider_names(scopes: &Scopes) -> BTreeSet<String> {
    scopes.keys().map(|(p, _)| p.clone()).collect()
}

/// Every scope's sweep, concurrently: the providers' budgets set the pace.
pub async fn refresh(providers: &Providers, scopes: &Scopes) -> Result<Inventory, ProviderError> {
    let sweeps = scopes.iter().filter(|(_, s)| !s.wanted.is_empty()).map(|((p, kind), scope)| async move {
        let provider = providers.get(p).ok_or_else(|| {
            ProviderError::new(
                sslprov_provider::ErrorKind::Unexpected,
                "sslprov",
                "refresh",
                format!("{p} is not connected"),
            )
        })?;
        Ok::<_, ProviderError>((p.clone(), kind.clone(), provider.list(scope).await?))
    });
    let mut inventory = Inventory::default();
    for (p, kind, lives) in futures::future::try_join_all(sweeps).await? {
        inventory.insert(&p, &kind, lives);
    }
    Ok(inventory)
}
