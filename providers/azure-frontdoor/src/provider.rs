//! The engine's view of Front Door: seven kinds on top of [`crate::arm`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};
use sslprov_provider::{
    Calls, Deletion, Desired, ErrorKind, IdempotencyToken, KindInfo, Live, Provider, ProviderError, ProviderInfo,
    Registration, Result, Review, Scope, Wanted, connect,
};

use crate::arm::{self, Arm, Retry};
use crate::auth::{Auth, Source};
use crate::shape::{
    self, CUSTOM_DOMAIN, CustomDomainSpec, ENDPOINT, ORIGIN, ORIGIN_GROUP, PROFILE, ProfileSpec, ROUTE, ROUTE_DOMAIN,
    RouteDomainSpec,
};
use crate::{AzureConfig, NAME};

const fn kind(name: &'static str, becomes_ready: bool) -> KindInfo {
    // Every name is derived from the spec, so a changed field is a changed object or an in-place
    // PUT: nothing is replaced "new first" (a second custom domain for one host name cannot
    // exist; a second profile of one name neither).
    KindInfo { name, replace_on: &[], adoptable: false, becomes_ready, repair_in_place: true }
}

pub static INFO: ProviderInfo = ProviderInfo {
    name: NAME,
    title: "Azure Front Door",
    kinds: &[
        kind(PROFILE, false),
        kind(ENDPOINT, false),
        kind(ORIGIN_GROUP, false),
        kind(ORIGIN, false),
        kind(ROUTE, false),
        // Ready once its ownership is validated and its managed certificate deployed; a
        // validation Front Door gave up on is restarted with a new token.
        kind(CUSTOM_DOMAIN, true),
        // Ready once the route serving it is deployed.
        kind(ROUTE_DOMAIN, true),
    ],
    // Reads; writes and deletes have buckets of their own in `arm`.
    budget: arm::READS,
    op_budgets: &[],
    batches_writes: false,
};

pub static REGISTRATION: Registration = Registration {
    info: &INFO,
    connect: |cx| {
        Box::pin(async move {
            let config = AzureConfig::from_env()?;
            connect::reachable(NAME, &config.resource_manager_url, "AZURE_RESOURCE_MANAGER_URL").await?;
            let var = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
            let source = Source::from_env(var, crate::auth::cli_installed())?;
            let mut fd = FrontDoor::new(&config, source, cx.calls.clone())?;
            if let Some(ms) = std::env::var("SSLPROV_AZURE_POLL_MS").ok().and_then(|v| v.parse().ok()) {
                let d = std::time::Duration::from_millis(ms);
                fd.arm.retry.poll_floor = d;
                fd.arm.retry.poll_default = d;
                fd.arm.retry.requests.min_delay = d;
            }
            Ok(Arc::new(fd) as Arc<dyn Provider>)
        })
    },
};

/// Front Door in one resource group of one subscription.
#[derive(Debug)]
pub struct FrontDoor {
    arm: Arm,
    /// One lock per route: its `customDomains` is read, changed and written by every domain.
    routes: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

fn invalid(op: &'static str, message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, NAME, op, message)
}

fn ops(kind: &str) -> (&'static str, &'static str, &'static str) {
    match kind {
        PROFILE => ("Profiles_Create", "Profiles_Get", "Profiles_Delete"),
        ENDPOINT => ("AFDEndpoints_Create", "AFDEndpoints_Get", "AFDEndpoints_Delete"),
        ORIGIN_GROUP => ("AFDOriginGroups_Create", "AFDOriginGroups_Get", "AFDOriginGroups_Delete"),
        ORIGIN => ("AFDOrigins_Create", "AFDOrigins_Get", "AFDOrigins_Delete"),
        ROUTE => ("Routes_Create", "Routes_Get", "Routes_Delete"),
        _ => ("AFDCustomDomains_Create", "AFDCustomDomains_Get", "AFDCustomDomains_Delete"),
    }
}

/// The ids (as ARM wrote them) of the custom domains a route serves.
fn route_domains(route: &Value) -> Vec<String> {
    route["properties"]["customDomains"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["id"].as_str().map(str::to_owned))
        .collect()
}

impl FrontDoor {
    pub fn new(config: &AzureConfig, source: Source, calls: Calls) -> Result<FrontDoor> {
        let http = arm::http_client()?;
        let auth = Auth::new(source, &config.authority_host, http.clone());
        Ok(FrontDoor { arm: Arm::new(config, auth, http, calls), routes: Mutex::default() })
    }

    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.arm.retry = retry;
        self
    }

    fn route_lock(&self, path: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(locks.entry(path.to_ascii_lowercase()).or_default())
    }

    fn path(d: &Desired, op: &'static str) -> Result<String> {
        shape::path(d).ok_or_else(|| invalid(op, format!("the {} spec is incomplete", d.kind)))
    }

    /// The object at `path` as sslprov sees it, with the spec's own values where ARM's answer
    /// does not carry them (the origin a derived name stands for).
    fn project(&self, kind: &str, v: &Value, wanted: &Desired) -> Option<Live> {
        let mut live = shape::live(kind, v)?;
        fill(&mut live.desired, wanted);
        Some(live)
    }

    async fn put(&self, d: &Desired, domains: &[String], op: &'static str) -> Result<Live> {
        let path = Self::path(d, op)?;
        let scope = |p: &str| self.arm.id(p);
        let body = shape::body(d, &scope, op, domains)?;
        let (create, ..) = ops(&d.kind);
        let written = self
            .arm
            .write(create, Method::PUT, &path, Some(&body))
            .await?
            .ok_or_else(|| invalid(op, format!("{path} was not written")))?;
        self.project(&d.kind, &written, d).ok_or_else(|| invalid(op, format!("{path} is not in sslprov's shape")))
    }

    /// A tracked resource of sslprov's name must carry sslprov's tag before it is written over.
    async fn claim(&self, d: &Desired, op: &'static str) -> Result<Option<Value>> {
        let path = Self::path(d, op)?;
        let (_, get, _) = ops(&d.kind);
        let found = self.arm.get(get, &path).await?;
        if let Some(v) = &found
            && matches!(d.kind.as_str(), PROFILE | ENDPOINT)
            && v["tags"][shape::MARK_TAG] != shape::MARK_VALUE
        {
            return Err(ProviderError::new(
                ErrorKind::Conflict,
                NAME,
                op,
                format!(
                    "a Front Door {} named {} exists in the resource group and is not sslprov's (no tag {}={}): \
                     use another resource group (AZURE_RESOURCE_GROUP) or remove it",
                    d.kind,
                    v["name"].as_str().unwrap_or_default(),
                    shape::MARK_TAG,
                    shape::MARK_VALUE
                ),
            ));
        }
        Ok(found)
    }

    /// Deleting a profile deletes everything in it. sslprov's own endpoints and custom domains are
    /// gone by the time their profile goes (they depend on it), so whatever is left is someone
    /// else's: another spec's in the same resource group, or made by hand.
    async fn refuse_unless_empty(&self, profile: &str) -> Result<()> {
        let endpoints = self.arm.list("AFDEndpoints_ListByProfile", &format!("{profile}/afdEndpoints")).await?;
        let domains = self.arm.list("AFDCustomDomains_ListByProfile", &format!("{profile}/customDomains")).await?;
        let left: Vec<String> = endpoints
            .iter()
            .map(|e| format!("endpoint {}", e["name"].as_str().unwrap_or("?")))
            .chain(
                domains
                    .iter()
                    .map(|d| format!("custom domain {}", d["properties"]["hostName"].as_str().unwrap_or("?"))),
            )
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        Err(ProviderError::new(
            ErrorKind::Conflict,
            NAME,
            "delete",
            format!(
                "Front Door profile {profile} still holds {}, which this spec did not make: not deleted, since \
                 deleting a profile deletes everything in it; remove them (or keep the profile), then run destroy again",
                left.join(", ")
            ),
        ))
    }

    /// A custom domain's create answers before Front Door has made its validation token; the TXT
    /// record needs it, so the create waits for it.
    async fn with_token(&self, d: &Desired, mut live: Live, op: &'static str) -> Result<Live> {
        let path = Self::path(d, op)?;
        let started = tokio::time::Instant::now();
        while live.outputs.get("validation").is_none()
            && !matches!(
                live.readiness,
                sslprov_provider::Readiness::Ready | sslprov_provider::Readiness::Failed { .. }
            )
        {
            if started.elapsed() > self.arm.retry.operation_timeout {
                return Err(ProviderError::new(
                    ErrorKind::Unavailable,
                    NAME,
                    op,
                    format!("Front Door gave {path} no validation token in time; the next run goes on waiting"),
                ));
            }
            tokio::time::sleep(self.arm.retry.poll_default.max(self.arm.retry.poll_floor)).await;
            let v = self
                .arm
                .get("AFDCustomDomains_Get", &path)
                .await?
                .ok_or_else(|| ProviderError::new(ErrorKind::NotFound, NAME, op, format!("{path} is gone")))?;
            live =
                self.project(CUSTOM_DOMAIN, &v, d).ok_or_else(|| invalid(op, format!("{path}: unexpected shape")))?;
        }
        Ok(live)
    }

    async fn write(&self, d: &Desired, op: &'static str, restart: bool) -> Result<Live> {
        let d = shape::normalise(d, op)?;
        match d.kind.as_str() {
            ROUTE => {
                let path = Self::path(&d, op)?;
                let lock = self.route_lock(&path);
                let _held = lock.lock().await;
                // The domains are the associations' to change: keep what the route serves.
                let domains = self.arm.get("Routes_Get", &path).await?.map(|r| route_domains(&r)).unwrap_or_default();
                self.put(&d, &domains, op).await
            }
            ROUTE_DOMAIN => self.associate(&d, op, true).await,
            CUSTOM_DOMAIN => {
                let path = Self::path(&d, op)?;
                let found = self.arm.get("AFDCustomDomains_Get", &path).await?;
                let state =
                    found.as_ref().and_then(|v| v["properties"]["domainValidationState"].as_str().map(str::to_owned));
                // The domain is there (a killed run's, its PUT perhaps still running): it is
                // followed to its token, not written again, which would only meet a 409 while
                // the operation runs (unless the last one failed). The name is the whole spec.
                let there = found
                    .as_ref()
                    .filter(|v| v["properties"]["provisioningState"] != "Failed")
                    .and_then(|v| self.project(CUSTOM_DOMAIN, v, &d));
                let live = match (there, state.as_deref()) {
                    // Given up on, or due for revalidation before the certificate renews: a new
                    // token (the engine writes it to the TXT record once this returns).
                    (_, Some("Rejected" | "TimedOut" | "InternalError" | "PendingRevalidation")) if restart => {
                        self.arm
                            .write(
                                "AFDCustomDomains_RefreshValidationToken",
                                Method::POST,
                                &format!("{path}/refreshValidationToken"),
                                None,
                            )
                            .await?;
                        let v = self.arm.get("AFDCustomDomains_Get", &path).await?.unwrap_or(Value::Null);
                        self.project(CUSTOM_DOMAIN, &v, &d)
                            .ok_or_else(|| invalid(op, format!("{path}: unexpected shape")))?
                    }
                    (Some(l), _) => l,
                    (None, _) => self.put(&d, &[], op).await?,
                };
                self.with_token(&d, live, op).await
            }
            _ => {
                let found = self.claim(&d, op).await?;
                if let Some(v) = &found
                    && let Some(l) = self.project(&d.kind, v, &d)
                    && l.desired == d
                    && v["properties"]["provisioningState"] == "Succeeded"
                {
                    return Ok(l);
                }
                self.put(&d, &[], op).await
            }
        }
    }

    /// Puts the custom domain into (or, `add` false, takes it out of) its route's `customDomains`:
    /// read, change and write under the route's lock, so concurrent domains never drop each
    /// other's. A route serving no custom domain serves its endpoint's default domain (a route
    /// must serve one domain).
    async fn associate(&self, d: &Desired, op: &'static str, add: bool) -> Result<Live> {
        let s: RouteDomainSpec = d.parse(NAME, op)?;
        let route_path = shape::route_path(&s.profile, &s.origin);
        let domain_id = self.arm.id(&shape::custom_domain_path(&s.profile, &s.host));
        let lock = self.route_lock(&route_path);
        let _held = lock.lock().await;
        let Some(route) = self.arm.get("Routes_Get", &route_path).await? else {
            if add {
                return Err(ProviderError::new(
                    ErrorKind::NotFound,
                    NAME,
                    op,
                    format!("route {route_path} does not exist"),
                ));
            }
            return Ok(association(d, &Value::Null, &domain_id));
        };
        let mut domains = route_domains(&route);
        let has = domains.iter().any(|i| i.eq_ignore_ascii_case(&domain_id));
        if has == add {
            return Ok(association(d, &route, &domain_id));
        }
        if add {
            domains.push(domain_id.clone());
        } else {
            domains.retain(|i| !i.eq_ignore_ascii_case(&domain_id));
        }
        let ids: Vec<Value> = domains.iter().map(|id| json!({"id": id})).collect();
        let body = json!({"properties": {
            "customDomains": ids,
            "linkToDefaultDomain": if domains.is_empty() { "Enabled" } else { "Disabled" }}});
        let route =
            self.arm.write("Routes_Update", Method::PATCH, &route_path, Some(&body)).await?.unwrap_or(Value::Null);
        Ok(association(d, &route, &domain_id))
    }

    /// Takes the custom domain of `s` out of `route`'s domains, if it is there.
    async fn unserve(&self, route: &Value, s: &CustomDomainSpec) -> Result<()> {
        let domain_id = self.arm.id(&shape::custom_domain_path(&s.profile, &s.host));
        let id = route["id"].as_str().unwrap_or_default();
        let Some((_, path)) =
            id.split_once("/providers/Microsoft.Cdn/").or_else(|| id.split_once("/providers/microsoft.cdn/"))
        else {
            return Ok(());
        };
        let lock = self.route_lock(path);
        let _held = lock.lock().await;
        let Some(now) = self.arm.get("Routes_Get", path).await? else { return Ok(()) };
        let mut domains = route_domains(&now);
        let before = domains.len();
        domains.retain(|i| !i.eq_ignore_ascii_case(&domain_id));
        if domains.len() == before {
            return Ok(());
        }
        let ids: Vec<Value> = domains.iter().map(|id| json!({"id": id})).collect();
        let body = json!({"properties": {
            "customDomains": ids,
            "linkToDefaultDomain": if domains.is_empty() { "Enabled" } else { "Disabled" }}});
        self.arm.write("Routes_Update", Method::PATCH, path, Some(&body)).await?;
        Ok(())
    }

    /// Profiles to look in: those the scope names, else every profile sslprov made here.
    async fn profiles(&self, scope: &Scope) -> Result<BTreeSet<String>> {
        let field = if scope.kind == PROFILE { "name" } else { "profile" };
        if let Some(p) = field_of(scope, field) {
            return Ok(p);
        }
        let all = self.arm.list("Profiles_ListByResourceGroup", "profiles").await?;
        Ok(all
            .iter()
            .filter(|v| v["tags"][shape::MARK_TAG] == shape::MARK_VALUE)
            .filter_map(|v| v["name"].as_str().map(str::to_owned))
            .collect())
    }

    /// The ESP origins of the scope (`None`: not known for every wanted object).
    fn origins(scope: &Scope) -> Option<BTreeSet<String>> {
        field_of(scope, "origin").map(|o| o.into_iter().map(|h| h.trim_end_matches('.').to_ascii_lowercase()).collect())
    }

    async fn list_kind(&self, scope: &Scope) -> Result<Vec<Live>> {
        let kind = scope.kind.as_str();
        let wanted: Vec<&Desired> = scope.wanted.iter().chain(scope.known.values().flatten()).collect();
        let mut out = Vec::new();
        if kind == PROFILE {
            let names = self.profiles(scope).await?;
            for v in self.arm.list("Profiles_ListByResourceGroup", "profiles").await? {
                if v["name"].as_str().is_some_and(|n| names.contains(n))
                    && let Some(l) = shape::live(PROFILE, &v)
                {
                    out.push(l);
                }
            }
            return Ok(out);
        }
        for profile in self.profiles(scope).await? {
            let items: Vec<(String, Value)> = match kind {
                ENDPOINT => tag(
                    ENDPOINT,
                    self.arm.list("AFDEndpoints_ListByProfile", &format!("profiles/{profile}/afdEndpoints")).await?,
                ),
                ORIGIN_GROUP => tag(
                    ORIGIN_GROUP,
                    self.arm.list("AFDOriginGroups_ListByProfile", &format!("profiles/{profile}/originGroups")).await?,
                ),
                CUSTOM_DOMAIN => tag(
                    CUSTOM_DOMAIN,
                    self.arm
                        .list("AFDCustomDomains_ListByProfile", &format!("profiles/{profile}/customDomains"))
                        .await?,
                ),
                ORIGIN => {
                    let mut items = Vec::new();
                    for og in self.per_origin_paths(&profile, scope, ORIGIN_GROUP).await? {
                        items.extend(tag(
                            ORIGIN,
                            self.arm.list("AFDOrigins_ListByOriginGroup", &format!("{og}/origins")).await?,
                        ));
                    }
                    items
                }
                ROUTE | ROUTE_DOMAIN => {
                    let mut items = Vec::new();
                    for ep in self.per_origin_paths(&profile, scope, ENDPOINT).await? {
                        items
                            .extend(tag(ROUTE, self.arm.list("Routes_ListByEndpoint", &format!("{ep}/routes")).await?));
                    }
                    items
                }
                other => {
                    return Err(ProviderError::new(
                        ErrorKind::Unsupported,
                        NAME,
                        "list",
                        format!("Azure Front Door holds no {other}"),
                    ));
                }
            };
            for (k, v) in items {
                if kind == ROUTE_DOMAIN {
                    out.extend(self.associations(&v, &wanted));
                    continue;
                }
                if let Some(mut l) = shape::live(&k, &v) {
                    if let Some(w) = wanted.iter().find(|w| {
                        shape::path(w).is_some_and(|p| l.id.to_ascii_lowercase().ends_with(&p.to_ascii_lowercase()))
                    }) {
                        fill(&mut l.desired, w);
                    }
                    out.push(l);
                }
            }
        }
        Ok(out)
    }

    /// The paths of the endpoints (or origin groups) of a profile to look in: those of the scope's
    /// origins, else every one sslprov named.
    async fn per_origin_paths(&self, profile: &str, scope: &Scope, kind: &str) -> Result<Vec<String>> {
        if let Some(origins) = Self::origins(scope) {
            return Ok(origins
                .iter()
                .map(|o| {
                    if kind == ENDPOINT {
                        shape::endpoint_path(profile, o)
                    } else {
                        shape::origin_group_path(profile, o)
                    }
                })
                .collect());
        }
        let (op, collection, prefix) = if kind == ENDPOINT {
            ("AFDEndpoints_ListByProfile", "afdEndpoints", "sslprov-ep-")
        } else {
            ("AFDOriginGroups_ListByProfile", "originGroups", "sslprov-og-")
        };
        let all = self.arm.list(op, &format!("profiles/{profile}/{collection}")).await?;
        Ok(all
            .iter()
            .filter_map(|v| v["name"].as_str())
            .filter(|n| n.starts_with(prefix))
            .map(|n| format!("profiles/{profile}/{collection}/{n}"))
            .collect())
    }

    /// The associations a route holds, for the custom domains sslprov knows (by the names it
    /// derives from the hosts of the scope).
    fn associations(&self, route: &Value, wanted: &[&Desired]) -> Vec<Live> {
        let route_id = route["id"].as_str().unwrap_or_default().to_ascii_lowercase();
        let mut out = Vec::new();
        for w in wanted.iter().filter(|w| w.kind == ROUTE_DOMAIN) {
            let Ok(s) = w.parse::<RouteDomainSpec>(NAME, "list") else { continue };
            let s = RouteDomainSpec {
                origin: s.origin.trim_end_matches('.').to_ascii_lowercase(),
                host: s.host.trim_end_matches('.').to_ascii_lowercase(),
                ..s
            };
            if !route_id.ends_with(&shape::route_path(&s.profile, &s.origin).to_ascii_lowercase()) {
                continue;
            }
            let domain_id = self.arm.id(&shape::custom_domain_path(&s.profile, &s.host));
            if route_domains(route).iter().any(|i| i.eq_ignore_ascii_case(&domain_id))
                && !out.iter().any(|l: &Live| l.desired == Desired::of(ROUTE_DOMAIN, &s))
            {
                out.push(association(&Desired::of(ROUTE_DOMAIN, &s), route, &domain_id));
            }
        }
        out
    }
}

/// Every value the scope's objects (wanted, and known from state) give `field`; `None` when one
/// of them does not know it yet, or when there are none: then everything is looked at.
fn field_of(scope: &Scope, field: &str) -> Option<BTreeSet<String>> {
    let all: Vec<&Desired> = scope.wanted.iter().chain(scope.known.values().flatten()).collect();
    if all.is_empty() {
        return None;
    }
    all.iter().map(|d| d.str(field).map(str::to_owned)).collect()
}

fn tag(kind: &str, items: Vec<Value>) -> Vec<(String, Value)> {
    items.into_iter().map(|v| (kind.to_owned(), v)).collect()
}

/// A listed per-origin object carries its derived name's slug as its origin; the wanted spec
/// whose path it is at gives the origin itself.
fn fill(listed: &mut Desired, wanted: &Desired) {
    if wanted.kind == listed.kind
        && let Some(origin) = wanted.get("origin")
        && listed.get("origin").is_some()
    {
        let o = origin.as_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
        listed.spec.insert("origin".into(), json!(o));
    }
}

/// The association of a custom domain with a route, as listed: ready once the route is deployed.
fn association(d: &Desired, route: &Value, domain_id: &str) -> Live {
    let p = &route["properties"];
    let deployed = p["deploymentStatus"].as_str().unwrap_or("NotStarted");
    let provisioned = p["provisioningState"].as_str().unwrap_or("Unknown");
    let readiness = if deployed == "Succeeded" && provisioned == "Succeeded" {
        sslprov_provider::Readiness::Ready
    } else if route.is_null() {
        sslprov_provider::Readiness::Failed { reason: "its route is gone".into() }
    } else {
        sslprov_provider::Readiness::Pending {
            detail: format!("route {} deployment {deployed}", route["name"].as_str().unwrap_or_default()),
        }
    };
    Live {
        id: format!("{}#{domain_id}", route["id"].as_str().unwrap_or_default()),
        desired: d.clone(),
        outputs: sslprov_provider::Outputs::default().with("status", deployed),
        readiness,
        marked: true,
    }
}

#[async_trait]
impl Provider for FrontDoor {
    fn info(&self) -> &'static ProviderInfo {
        &INFO
    }

    fn normalise(&self, desired: &Desired) -> Result<Desired> {
        shape::normalise(desired, "normalise")
    }

    fn key(&self, desired: &Desired) -> Option<String> {
        shape::path(desired).map(|p| p.to_ascii_lowercase())
    }

    /// A token, and the resource group: a missing credential or group stops the run before the
    /// plan.
    async fn preflight(&self, wanted: &[Desired]) -> Result<Vec<String>> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        match self.arm.list("Profiles_ListByResourceGroup", "profiles").await {
            Ok(_) => Ok(Vec::new()),
            Err(e) if e.code.as_deref() == Some("ResourceGroupNotFound") => Err(ProviderError::new(
                ErrorKind::NotFound,
                NAME,
                "preflight",
                format!("{}: create the resource group (`az group create`) or set AZURE_RESOURCE_GROUP", e.message),
            )),
            Err(e) => Err(e),
        }
    }

    /// Front Door's limit on custom domains per profile (Standard 100, Premium 500), counted
    /// with the domains already there; and a profile's tier, which sslprov does not change.
    fn review(&self, wanted: &[Wanted<'_>], inventory: &[Live]) -> Review {
        let mut review = Review::default();
        let skus: BTreeMap<String, String> = wanted
            .iter()
            .filter(|w| w.desired.kind == PROFILE)
            .filter_map(|w| w.desired.parse::<ProfileSpec>(NAME, "review").ok())
            .map(|p| (p.name, p.sku))
            .collect();
        for live in inventory.iter().filter(|l| l.desired.kind == PROFILE) {
            let Ok(was) = live.desired.parse::<ProfileSpec>(NAME, "review") else { continue };
            if let Some(sku) = skus.get(&was.name).filter(|s| **s != was.sku) {
                review.errors.push(format!(
                    "Front Door profile {} is {} and the spec asks for {sku}: sslprov does not change an existing \
                     profile's tier; upgrade it in Front Door (Standard to Premium only), or give these domains \
                     another brand_group",
                    was.name, was.sku
                ));
            }
        }
        let mut hosts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let domains = wanted.iter().map(|w| w.desired).chain(inventory.iter().map(|l| &l.desired));
        for d in domains.filter(|d| d.kind == CUSTOM_DOMAIN) {
            if let Ok(s) = d.parse::<CustomDomainSpec>(NAME, "review") {
                hosts.entry(s.profile).or_default().insert(s.host);
            }
        }
        for (profile, hosts) in hosts {
            let sku = skus.get(&profile).map_or(shape::STANDARD, String::as_str);
            let limit = shape::domain_limit(sku);
            if hosts.len() > limit {
                review.errors.push(format!(
                    "Front Door profile {profile} would hold {} custom domains; a {sku} profile holds at most {limit}: \
                     give some of its domains another brand_group (a profile each, of at most {limit}){}",
                    hosts.len(),
                    if sku == shape::STANDARD {
                        ", or `tier: premium` to the group (a Premium profile holds 500)"
                    } else {
                        ""
                    }
                ));
            }
        }
        review
    }

    async fn list(&self, scope: &Scope) -> Result<Vec<Live>> {
        self.list_kind(scope).await
    }

    /// Names are derived from the spec and ARM's PUT is idempotent by name: a create whose answer
    /// was lost, or a killed run's, finds its object and finishes it.
    async fn create(&self, desired: &Desired, _token: &IdempotencyToken) -> Result<Live> {
        self.write(desired, "create", false).await
    }

    async fn update(&self, live: &Live, desired: &Desired) -> Result<Live> {
        if desired.kind == ROUTE_DOMAIN {
            let (was, now): (RouteDomainSpec, RouteDomainSpec) =
                (live.desired.parse(NAME, "update")?, desired.parse(NAME, "update")?);
            // Another ESP's route: Front Door serves a domain from one route only (409 "served by
            // a route of another endpoint"), so it leaves the old route before it joins the new.
            // Its clicks fail in between; they reached the ESP the brand is leaving anyway.
            if (was.profile, was.origin) != (now.profile, now.origin) {
                self.associate(&live.desired, "update", false).await?;
            }
        }
        self.write(desired, "update", true).await
    }

    async fn delete(&self, live: &Live) -> Result<Deletion> {
        let kind = live.desired.kind.as_str();
        if kind == ROUTE_DOMAIN {
            self.associate(&live.desired, "delete", false).await?;
            return Ok(Deletion::Done);
        }
        let path = Self::path(&live.desired, "delete")?;
        if kind == PROFILE {
            self.refuse_unless_empty(&path).await?;
        }
        let (_, _, delete) = ops(kind);
        match self.arm.write(delete, Method::DELETE, &path, None).await {
            // A route still serves the domain (its association was lost, or made by hand): take
            // it out of every route of the profile first.
            Err(e) if kind == CUSTOM_DOMAIN && e.is(ErrorKind::Conflict) => {
                let s: CustomDomainSpec = live.desired.parse(NAME, "delete")?;
                let scope = Scope::new(ENDPOINT);
                for ep in self.per_origin_paths(&s.profile, &scope, ENDPOINT).await? {
                    for route in self.arm.list("Routes_ListByEndpoint", &format!("{ep}/routes")).await? {
                        self.unserve(&route, &s).await?;
                    }
                }
                self.arm.write(delete, Method::DELETE, &path, None).await?;
            }
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        Ok(Deletion::Done)
    }
}
