//! What the emulated Resource Manager holds and how Front Door's resources behave: long-running
//! writes, the custom domain's validation states, the route's rules on domains.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// The TXT values at a name, as the test's DNS holds them now.
pub type Dns = Box<dyn Fn(&str) -> Vec<String> + Send + Sync>;

/// A status, the headers to send beside it, and a body (`None`: empty).
pub(crate) type Reply = (u16, Vec<(String, String)>, Option<Value>);

pub(crate) fn error(status: u16, code: &str, message: impl Into<String>) -> Reply {
    (status, Vec::new(), Some(json!({"error": {"code": code, "message": message.into()}})))
}

/// What a validation ends in when the test says so, instead of Approved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Rejected,
    TimedOut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Write,
    Delete,
}

pub(crate) struct Lro {
    /// The resource's key (its id, lower case).
    pub key: String,
    pub action: Action,
    pub started: Instant,
    pub delay: Duration,
    pub settled: bool,
}

/// One resource as ARM holds it: the id in the casing of its create, and its JSON.
#[derive(Clone, Debug)]
pub(crate) struct Resource {
    pub kind: Kind,
    pub json: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Profile,
    Endpoint,
    OriginGroup,
    Origin,
    CustomDomain,
    Route,
    RuleSet,
    Rule,
}

impl Kind {
    /// From the operation id's prefix (`AFDCustomDomains_Create`).
    pub fn of(op: &str) -> Option<Kind> {
        Some(match op.split('_').next()? {
            "Profiles" | "AFDProfiles" => Kind::Profile,
            "AFDEndpoints" => Kind::Endpoint,
            "AFDOriginGroups" => Kind::OriginGroup,
            "AFDOrigins" => Kind::Origin,
            "AFDCustomDomains" => Kind::CustomDomain,
            "Routes" => Kind::Route,
            "RuleSets" => Kind::RuleSet,
            "Rules" => Kind::Rule,
            _ => return None,
        })
    }

    fn type_name(self) -> &'static str {
        match self {
            Kind::Profile => "Microsoft.Cdn/profiles",
            Kind::Endpoint => "Microsoft.Cdn/profiles/afdendpoints",
            Kind::OriginGroup => "Microsoft.Cdn/profiles/origingroups",
            Kind::Origin => "Microsoft.Cdn/profiles/origingroups/origins",
            Kind::CustomDomain => "Microsoft.Cdn/profiles/customdomains",
            Kind::Route => "Microsoft.Cdn/profiles/afdendpoints/routes",
            Kind::RuleSet => "Microsoft.Cdn/profiles/rulesets",
            Kind::Rule => "Microsoft.Cdn/profiles/rulesets/rules",
        }
    }

    fn tracked(self) -> bool {
        matches!(self, Kind::Profile | Kind::Endpoint)
    }
}

pub(crate) struct State {
    next: u64,
    /// By id, lower case (ARM compares ids case-insensitively).
    pub resources: BTreeMap<String, Resource>,
    pub lros: BTreeMap<String, Lro>,
    pub operation_delay: Duration,
    /// Seconds in the `Retry-After` of long-running operations and of 429s.
    pub retry_after: u64,
    pub dns: Option<Dns>,
    pub verdicts: BTreeMap<String, Verdict>,
    /// The next this many requests are answered 429.
    pub throttle: usize,
    /// The next this many writes are answered 409 `Conflict` (another operation in progress).
    pub conflicts: usize,
    /// ARM's token buckets for this subscription: (tokens, last refill).
    reads: (f64, Instant),
    writes: (f64, Instant),
    deletes: (f64, Instant),
}

/// ARM's buckets: reads 250 refilling 25/s, writes and deletes 200 refilling 10/s.
const BUCKETS: [(f64, f64); 3] = [(250.0, 25.0), (200.0, 10.0), (200.0, 10.0)];

fn take(bucket: &mut (f64, Instant), (size, rate): (f64, f64)) -> Option<u64> {
    let now = Instant::now();
    bucket.0 = (bucket.0 + now.duration_since(bucket.1).as_secs_f64() * rate).min(size);
    bucket.1 = now;
    if bucket.0 < 1.0 {
        return None;
    }
    bucket.0 -= 1.0;
    Some(bucket.0 as u64)
}

impl State {
    pub fn new() -> State {
        let now = Instant::now();
        State {
            next: 1,
            resources: BTreeMap::new(),
            lros: BTreeMap::new(),
            operation_delay: Duration::from_millis(30),
            retry_after: 0,
            dns: None,
            verdicts: BTreeMap::new(),
            throttle: 0,
            conflicts: 0,
            reads: (BUCKETS[0].0, now),
            writes: (BUCKETS[1].0, now),
            deletes: (BUCKETS[2].0, now),
        }
    }

    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// A token from the bucket of `method`: the remaining count for the header, or `None` when
    /// empty (throttled).
    pub fn budget(&mut self, method: &str) -> Option<(&'static str, u64)> {
        match method {
            "GET" => take(&mut self.reads, BUCKETS[0]).map(|n| ("x-ms-ratelimit-remaining-subscription-reads", n)),
            "DELETE" => {
                take(&mut self.deletes, BUCKETS[2]).map(|n| ("x-ms-ratelimit-remaining-subscription-deletes", n))
            }
            _ => take(&mut self.writes, BUCKETS[1]).map(|n| ("x-ms-ratelimit-remaining-subscription-writes", n)),
        }
    }

    /// Brings every resource up to date: finished operations take effect, custom domains move
    /// through validation, deployment follows.
    pub fn settle(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .lros
            .iter()
            .filter(|(_, l)| !l.settled && now.duration_since(l.started) >= l.delay)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let (key, action) = {
                let l = self.lros.get_mut(&id).expect("listed");
                l.settled = true;
                (l.key.clone(), l.action)
            };
            match action {
                Action::Delete => {
                    let prefix = format!("{key}/");
                    self.resources.retain(|k, _| k != &key && !k.starts_with(&prefix));
                }
                Action::Write => {
                    let token = format!("{:032x}", self.id().wrapping_mul(0x9e37_79b9_7f4a_7c15));
                    if let Some(r) = self.resources.get_mut(&key) {
                        let p = &mut r.json["properties"];
                        p["provisioningState"] = json!("Succeeded");
                        if r.kind == Kind::Profile {
                            p["resourceState"] = json!("Active");
                        } else {
                            p["deploymentStatus"] = json!("Succeeded");
                        }
                        let refreshing = ["Submitting", "RefreshingValidationToken"];
                        if r.kind == Kind::CustomDomain && refreshing.iter().any(|s| p["domainValidationState"] == *s) {
                            p["domainValidationState"] = json!("Pending");
                            p["validationProperties"] =
                                json!({"validationToken": token, "expirationDate": "2026-12-08T00:00:00Z"});
                        }
                    }
                }
            }
        }
        self.validate_domains();
    }

    /// Pending domains whose `_dnsauth` TXT holds their token are Approved (or end as the test
    /// said); an Approved domain's certificate is deployed once a route serves it.
    fn validate_domains(&mut self) {
        let served: BTreeSet<String> = self
            .resources
            .values()
            .filter(|r| r.kind == Kind::Route && r.json["properties"]["provisioningState"] == "Succeeded")
            .flat_map(|r| domain_ids(&r.json))
            .collect();
        let keys: Vec<String> =
            self.resources.iter().filter(|(_, r)| r.kind == Kind::CustomDomain).map(|(k, _)| k.clone()).collect();
        for key in keys {
            let (host, state, token) = {
                let p = &self.resources[&key].json["properties"];
                (
                    p["hostName"].as_str().unwrap_or_default().to_owned(),
                    p["domainValidationState"].as_str().unwrap_or_default().to_owned(),
                    p["validationProperties"]["validationToken"].as_str().unwrap_or_default().to_owned(),
                )
            };
            let mut next = state.clone();
            if state == "Pending" {
                if let Some(v) = self.verdicts.get(&host) {
                    next = match v {
                        Verdict::Rejected => "Rejected",
                        Verdict::TimedOut => "TimedOut",
                    }
                    .to_owned();
                } else if let Some(dns) = &self.dns {
                    let found = dns(&format!("_dnsauth.{host}"));
                    if found.iter().any(|v| v.trim_matches('"') == token) {
                        next = "Approved".to_owned();
                    }
                }
            }
            let p = &mut self.resources.get_mut(&key).expect("listed").json["properties"];
            p["domainValidationState"] = json!(next);
            if p["provisioningState"] == "Succeeded" {
                // A domain pending revalidation still serves with its certificate.
                let deployed = (next == "Approved" || next == "PendingRevalidation") && served.contains(&key);
                p["deploymentStatus"] = json!(if deployed { "Succeeded" } else { "NotStarted" });
            }
        }
    }

    fn lro(&mut self, key: &str, action: Action) -> String {
        let id = format!("{:08x}-0000-4000-8000-{:012x}", self.id(), self.next);
        let lro =
            Lro { key: key.to_owned(), action, started: Instant::now(), delay: self.operation_delay, settled: false };
        self.lros.insert(id.clone(), lro);
        id
    }

    fn busy(&self, key: &str) -> bool {
        self.lros.values().any(|l| !l.settled && l.key == key)
    }

    /// Serves one routed ARM call. `base` is the emulator's URL, for polling headers; `declared`
    /// says which headers (lower case) the operation declares for a status, and whether that
    /// status has a body.
    #[allow(clippy::too_many_arguments)]
    pub fn arm(
        &mut self,
        op: &str,
        path: &str,
        params: &BTreeMap<String, String>,
        body: &Value,
        base: &str,
        declared: &dyn Fn(u16) -> Option<(Vec<String>, bool)>,
    ) -> Reply {
        self.settle();
        let Some(kind) = Kind::of(op) else { return error(400, "BadRequest", format!("{op} is not emulated")) };
        let verb = op.rsplit('_').next().unwrap_or_default();
        // A POST action's path ends in the action: the resource is the rest.
        let key = match verb {
            "RefreshValidationToken" => path.rsplit_once('/').map_or(path, |(r, _)| r),
            _ => path,
        }
        .to_ascii_lowercase();
        let parent = parent_of(&key, kind, verb.starts_with("ListBy"));
        if let Some(parent) = &parent
            && !self.resources.contains_key(parent)
        {
            return error(404, "ParentResourceNotFound", format!("the parent resource of {path} does not exist"));
        }
        match verb {
            "Get" => match self.resources.get(&key) {
                Some(r) => (200, Vec::new(), Some(r.json.clone())),
                None => error(404, "ResourceNotFound", format!("{path} was not found")),
            },
            v if v.starts_with("ListBy") => {
                let prefix = format!("{key}/");
                let items: Vec<Value> = self
                    .resources
                    .iter()
                    .filter(|(k, r)| r.kind == kind && k.starts_with(&prefix) && !k[prefix.len()..].contains('/'))
                    .map(|(_, r)| r.json.clone())
                    .collect();
                (200, Vec::new(), Some(json!({"value": items})))
            }
            "Create" | "Update" => {
                if self.conflicts > 0 {
                    self.conflicts -= 1;
                    return error(409, "Conflict", "Another operation is in progress on this resource (injected)");
                }
                if self.busy(&key) {
                    return error(409, "Conflict", format!("another operation on {path} is in progress"));
                }
                let existing = self.resources.get(&key).cloned();
                if verb == "Update" && existing.is_none() {
                    return error(404, "ResourceNotFound", format!("{path} was not found"));
                }
                let merged = match (&existing, verb) {
                    (Some(r), "Update") => patch(&r.json, body),
                    _ => body.clone(),
                };
                let json = match self.shape(kind, path, params, &merged, existing.as_ref()) {
                    Ok(j) => j,
                    Err(e) => return e,
                };
                let created = existing.is_none();
                self.resources.insert(key.clone(), Resource { kind, json: json.clone() });
                let lro = self.lro(&key, Action::Write);
                self.accepted(&lro, &key, base, created, declared, Some(json))
            }
            "Delete" => {
                if !self.resources.contains_key(&key) {
                    return (204, Vec::new(), None);
                }
                if let Some(e) = self.in_use(&key, kind) {
                    return e;
                }
                if let Some(r) = self.resources.get_mut(&key) {
                    r.json["properties"]["provisioningState"] = json!("Deleting");
                }
                let lro = self.lro(&key, Action::Delete);
                self.accepted(&lro, &key, base, false, declared, None)
            }
            "RefreshValidationToken" => {
                let Some(r) = self.resources.get_mut(&key) else {
                    return error(404, "ResourceNotFound", format!("{path} was not found"));
                };
                // The old token stays in view until the new one is made.
                r.json["properties"]["domainValidationState"] = json!("RefreshingValidationToken");
                r.json["properties"]["provisioningState"] = json!("Updating");
                self.verdicts.remove(r.json["properties"]["hostName"].as_str().unwrap_or_default());
                let lro = self.lro(&key, Action::Write);
                self.accepted(&lro, &key, base, false, declared, None)
            }
            other => error(400, "BadRequest", format!("{other} is not emulated")),
        }
    }

    /// The answer to a long-running write: 202 with the headers the operation declares for it
    /// (else 201), each polling URL served by [`State::poll`].
    fn accepted(
        &mut self,
        lro: &str,
        key: &str,
        base: &str,
        created: bool,
        declared: &dyn Fn(u16) -> Option<(Vec<String>, bool)>,
        body: Option<Value>,
    ) -> Reply {
        let sub = key.split('/').nth(2).unwrap_or_default().to_owned();
        let status = [202, 201].into_iter().find(|s| declared(*s).is_some() && (*s != 201 || created)).unwrap_or(200);
        let (names, content) = declared(status).unwrap_or_default();
        let body = if content { body } else { None };
        let mut headers = Vec::new();
        if names.iter().any(|n| n == "azure-asyncoperation") {
            headers.push((
                "Azure-AsyncOperation".to_owned(),
                format!("{base}/subscriptions/{sub}/providers/Microsoft.Cdn/locations/global/operationresults/{lro}?api-version=2026-10-01"),
            ));
        }
        if names.iter().any(|n| n == "location") {
            headers.push((
                "Location".to_owned(),
                format!("{base}/subscriptions/{sub}/providers/Microsoft.Cdn/locations/global/operationresults/{lro}?api-version=2026-10-01&monitor=location"),
            ));
        }
        if names.iter().any(|n| n == "retry-after") {
            headers.push(("Retry-After".to_owned(), self.retry_after.to_string()));
        }
        (status, headers, body)
    }

    /// A polling URL: `Azure-AsyncOperation` answers the status document; `Location` answers 202
    /// while running, then the resource (200) or nothing (204, a delete).
    pub fn poll(&mut self, lro: &str, location: bool, base: &str, path: &str) -> Reply {
        self.settle();
        let Some(l) = self.lros.get(lro) else {
            return error(404, "NotFound", format!("no operation {lro}"));
        };
        let running = !l.settled;
        if location {
            if running {
                return (
                    202,
                    vec![
                        ("Location".to_owned(), format!("{base}{path}?api-version=2026-10-01&monitor=location")),
                        ("Retry-After".to_owned(), self.retry_after.to_string()),
                    ],
                    None,
                );
            }
            return match (l.action, self.resources.get(&l.key)) {
                (Action::Write, Some(r)) => (200, Vec::new(), Some(r.json.clone())),
                _ => (204, Vec::new(), None),
            };
        }
        let status = if running { "InProgress" } else { "Succeeded" };
        let mut headers = Vec::new();
        if running {
            headers.push(("Retry-After".to_owned(), self.retry_after.to_string()));
        }
        (
            200,
            headers,
            Some(json!({"id": format!("{path}"), "name": lro, "status": status, "startTime": "2026-12-01T00:00:00Z"})),
        )
    }

    /// The resource as ARM stores it after a write: identity, defaults, read-only fields, and the
    /// service's own checks.
    fn shape(
        &mut self,
        kind: Kind,
        path: &str,
        params: &BTreeMap<String, String>,
        body: &Value,
        existing: Option<&Resource>,
    ) -> Result<Value, Reply> {
        let name = path.rsplit('/').next().unwrap_or_default().to_owned();
        let mut json = json!({"id": existing.map_or(json!(path), |r| r.json["id"].clone()), "name": name, "type": kind.type_name()});
        if kind.tracked() {
            let location = body["location"].as_str().unwrap_or_default();
            if !location.eq_ignore_ascii_case("global") {
                return Err(error(
                    400,
                    "LocationNotAvailableForResourceType",
                    format!("location {location:?}: Front Door is `global`"),
                ));
            }
            json["location"] = json!("Global");
            if let Some(tags) = body.get("tags").filter(|t| !t.is_null()) {
                json["tags"] = tags.clone();
            }
        }
        let mut p: Map<String, Value> = body["properties"].as_object().cloned().unwrap_or_default();
        p.retain(|_, v| !v.is_null());
        let state = if existing.is_some() { "Updating" } else { "Creating" };
        p.insert("provisioningState".into(), json!(state));
        let profile = params.get("profileName").cloned().unwrap_or_default();
        match kind {
            Kind::Profile => {
                let sku = body["sku"]["name"].as_str().unwrap_or_default();
                if !matches!(sku, "Standard_AzureFrontDoor" | "Premium_AzureFrontDoor") {
                    return Err(error(
                        400,
                        "BadRequest",
                        format!("sku {sku:?} is not a Front Door Standard/Premium sku"),
                    ));
                }
                json["sku"] = json!({"name": sku});
                json["kind"] = json!("frontdoor");
                p.insert("resourceState".into(), json!(if existing.is_some() { "Active" } else { "Creating" }));
                p.insert("frontDoorId".into(), json!(format!("{:08x}-0000-4000-8000-000000000000", fnv(path) as u32)));
                p.entry("originResponseTimeoutSeconds").or_insert(json!(60));
            }
            Kind::Endpoint => {
                p.insert("profileName".into(), json!(profile));
                p.entry("enabledState").or_insert(json!("Enabled"));
                p.entry("autoGeneratedDomainNameLabelScope").or_insert(json!("TenantReuse"));
                // The hash is the same for the same name within the reuse scope (inference from
                // the enum's names): a second endpoint of that name in the scope, in another
                // profile, would get the same host name, which Front Door refuses.
                let rg = path.to_ascii_lowercase().split("/providers/").next().unwrap_or_default().to_owned();
                let scope = match p["autoGeneratedDomainNameLabelScope"].as_str() {
                    Some("ResourceGroupReuse") => rg,
                    Some("NoReuse") => path.to_ascii_lowercase(),
                    _ => String::new(),
                };
                let hash = format!("{:016x}", fnv(&format!("{scope}/{name}")));
                let host = format!("{name}-{}.z01.azurefd.net", &hash[..16]);
                let taken = self.resources.iter().any(|(k, r)| {
                    r.kind == Kind::Endpoint
                        && *k != path.to_ascii_lowercase()
                        && r.json["properties"]["hostName"] == host
                });
                if taken {
                    return Err(error(409, "Conflict", format!("the host name {host} is taken by another endpoint")));
                }
                p.insert("hostName".into(), json!(host));
                p.insert("deploymentStatus".into(), json!("InProgress"));
            }
            Kind::OriginGroup => {
                p.insert("profileName".into(), json!(profile));
                p.insert("deploymentStatus".into(), json!("InProgress"));
            }
            Kind::Origin => {
                if p.get("hostName").and_then(Value::as_str).is_none_or(str::is_empty) {
                    return Err(error(400, "BadRequest", "an origin needs a hostName"));
                }
                p.insert("originGroupName".into(), json!(params.get("originGroupName").cloned().unwrap_or_default()));
                p.entry("httpPort").or_insert(json!(80));
                p.entry("httpsPort").or_insert(json!(443));
                p.entry("enforceCertificateNameCheck").or_insert(json!(true));
                p.entry("enabledState").or_insert(json!("Enabled"));
                p.insert("deploymentStatus".into(), json!("InProgress"));
            }
            Kind::CustomDomain => {
                let host = p.get("hostName").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
                if let Some(old) = existing
                    && !old.json["properties"]["hostName"].as_str().unwrap_or_default().eq_ignore_ascii_case(&host)
                {
                    return Err(error(400, "BadRequest", "the hostName of a custom domain cannot change"));
                }
                let taken = self.resources.iter().any(|(k, r)| {
                    r.kind == Kind::CustomDomain
                        && *k != path.to_ascii_lowercase()
                        && r.json["properties"]["hostName"].as_str().is_some_and(|h| h.eq_ignore_ascii_case(&host))
                });
                if taken {
                    return Err(error(
                        409,
                        "Conflict",
                        format!("the host name {host} is already used by another custom domain"),
                    ));
                }
                if p.get("tlsSettings").and_then(|t| t["certificateType"].as_str()).is_none() {
                    return Err(error(400, "BadRequest", "tlsSettings.certificateType is required"));
                }
                p.insert("profileName".into(), json!(profile));
                match existing {
                    Some(old) => {
                        for k in ["domainValidationState", "validationProperties", "deploymentStatus"] {
                            p.insert(k.into(), old.json["properties"][k].clone());
                        }
                    }
                    None => {
                        p.insert("domainValidationState".into(), json!("Submitting"));
                        p.insert("validationProperties".into(), json!({"validationToken": "", "expirationDate": ""}));
                        p.insert("deploymentStatus".into(), json!("NotStarted"));
                    }
                }
            }
            Kind::Route => {
                p.insert("endpointName".into(), json!(params.get("endpointName").cloned().unwrap_or_default()));
                if let Some(cache) = p.get("cacheConfiguration")
                    && cache.get("queryStringCachingBehavior").is_none()
                {
                    // Observed by azurerm: an empty cacheConfiguration is refused.
                    return Err(error(
                        400,
                        "BadRequest",
                        "Property 'RouteV2.CacheConfiguration.QueryStringCachingBehavior' is required",
                    ));
                }
                let og = p.get("originGroup").and_then(|o| o["id"].as_str()).unwrap_or_default().to_ascii_lowercase();
                if !self.resources.get(&og).is_some_and(|r| r.kind == Kind::OriginGroup) {
                    return Err(error(400, "BadRequest", format!("the route's origin group {og:?} does not exist")));
                }
                let domains: Vec<String> = p
                    .get("customDomains")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d["id"].as_str().map(str::to_ascii_lowercase))
                    .collect();
                for d in &domains {
                    if !self.resources.get(d).is_some_and(|r| r.kind == Kind::CustomDomain) {
                        return Err(error(400, "BadRequest", format!("the custom domain {d} does not exist")));
                    }
                }
                p.entry("linkToDefaultDomain").or_insert(json!("Disabled"));
                p.entry("supportedProtocols").or_insert(json!(["Http", "Https"]));
                p.entry("patternsToMatch").or_insert(json!(["/*"]));
                p.entry("forwardingProtocol").or_insert(json!("MatchRequest"));
                p.entry("httpsRedirect").or_insert(json!("Disabled"));
                p.entry("enabledState").or_insert(json!("Enabled"));
                // Observed by azurerm: a route serves at least one domain.
                if domains.is_empty() && p["linkToDefaultDomain"] != "Enabled" {
                    return Err(error(
                        400,
                        "BadRequest",
                        "a route needs a custom domain or linkToDefaultDomain Enabled",
                    ));
                }
                if p["httpsRedirect"] == "Enabled" && p["supportedProtocols"].as_array().is_none_or(|a| a.len() < 2) {
                    return Err(error(400, "BadRequest", "httpsRedirect needs both protocols"));
                }
                if let Some(e) = self.route_conflict(path, &p, &domains) {
                    return Err(e);
                }
                p.insert("deploymentStatus".into(), json!("InProgress"));
            }
            Kind::RuleSet | Kind::Rule => {
                p.insert("deploymentStatus".into(), json!("InProgress"));
            }
        }
        json["properties"] = Value::Object(p);
        Ok(json)
    }

    /// A domain and pattern another route of the same endpoint serves, or a custom domain another
    /// endpoint serves: 409, as Front Door answers a route conflict.
    fn route_conflict(&self, path: &str, p: &Map<String, Value>, domains: &[String]) -> Option<Reply> {
        let key = path.to_ascii_lowercase();
        let endpoint = key.rsplit_once("/routes/").map(|(e, _)| e.to_owned()).unwrap_or_default();
        let patterns: BTreeSet<String> = p["patternsToMatch"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        let default = p["linkToDefaultDomain"] == "Enabled";
        for (k, r) in self.resources.iter().filter(|(k, r)| r.kind == Kind::Route && **k != key) {
            let theirs = domain_ids(&r.json);
            let same_endpoint = k.starts_with(&format!("{endpoint}/routes/"));
            if let Some(d) = domains.iter().find(|d| theirs.contains(*d))
                && !same_endpoint
            {
                return Some(error(409, "Conflict", format!("{d} is served by a route of another endpoint")));
            }
            if !same_endpoint {
                continue;
            }
            let their_patterns: BTreeSet<String> = r.json["properties"]["patternsToMatch"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            if patterns.is_disjoint(&their_patterns) {
                continue;
            }
            let both_default = default && r.json["properties"]["linkToDefaultDomain"] == "Enabled";
            if both_default || domains.iter().any(|d| theirs.contains(d)) {
                return Some(error(
                    409,
                    "Conflict",
                    format!("the route conflicts with {}: same domain and pattern", r.json["name"]),
                ));
            }
        }
        None
    }

    /// What refuses a delete: an origin group a route uses, a custom domain a route serves.
    fn in_use(&self, key: &str, kind: Kind) -> Option<Reply> {
        let routes = self.resources.values().filter(|r| r.kind == Kind::Route);
        match kind {
            Kind::OriginGroup => routes
                .filter(|r| {
                    r.json["properties"]["originGroup"]["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(key))
                })
                .map(|r| error(409, "Conflict", format!("the origin group is used by route {}", r.json["name"])))
                .next(),
            Kind::CustomDomain => routes
                .filter(|r| domain_ids(&r.json).contains(key))
                .map(|r| {
                    error(409, "Conflict", format!("the custom domain is associated with route {}", r.json["name"]))
                })
                .next(),
            _ => None,
        }
    }
}

/// The custom domain ids (lower case) a route serves.
fn domain_ids(route: &Value) -> BTreeSet<String> {
    route["properties"]["customDomains"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["id"].as_str().map(str::to_ascii_lowercase))
        .collect()
}

/// The key of the resource `key` sits under (a list's path ends in the collection), for kinds
/// below a profile.
fn parent_of(key: &str, kind: Kind, list: bool) -> Option<String> {
    if kind == Kind::Profile {
        return None;
    }
    let (parent, _) = key.rsplit_once('/')?;
    if list {
        return Some(parent.to_owned());
    }
    Some(parent.rsplit_once('/')?.0.to_owned())
}

/// PATCH: the body's top-level and `properties` fields replace the resource's; `null` unsets.
fn patch(current: &Value, body: &Value) -> Value {
    let mut out = current.clone();
    for (k, v) in body.as_object().into_iter().flatten() {
        if k == "properties" {
            for (pk, pv) in v.as_object().into_iter().flatten() {
                if pv.is_null() {
                    if let Some(p) = out["properties"].as_object_mut() {
                        p.remove(pk);
                    }
                } else {
                    out["properties"][pk] = pv.clone();
                }
            }
        } else {
            out[k] = v.clone();
        }
    }
    out
}

pub(crate) fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
