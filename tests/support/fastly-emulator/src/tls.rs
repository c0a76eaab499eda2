//! Platform TLS: subscriptions (Fastly-managed certificates) and TLS configurations, in JSON:API.
//!
//! Subscriptions:
//! - `POST` answers 201 `state: pending`, `has_active_order: true`, and (without any `include`)
//!   the `included` authorizations, one per domain, with three challenges: `managed-dns`
//!   (CNAME `_acme-challenge.<domain>` → `<token>.fastly-validations.com`), `managed-http-cname`
//!   (CNAME `<domain>` → the configuration's CNAME target) and `managed-http-a` (A records of the
//!   configuration). The relationship may be called `tls_domains` (the spec) or `tls_domain`
//!   (go-fastly; the API accepted it). Each domain must be on some version of a live service,
//!   and must not be in another subscription (both refusals, 400 and 409, are this emulator's
//!   choice: the API's are not recorded).
//! - Every `GET` that returns a subscription (one, or in a list) polls the test's DNS (see
//!   [`crate::Emulator::set_dns`]): when every domain's `_acme-challenge` name holds the
//!   challenge's CNAME target, the poll counts. The first counting poll moves `pending` to
//!   `processing`; the one that reaches the emulator's poll count issues the certificate
//!   (`issued`, `has_active_order: false`, a `tls_certificates` relationship). Without DNS it never
//!   issues. `GET` answers `included` only for `include=tls_authorizations` and/or
//!   `include=tls_certificates`.
//! - `PATCH` with `attributes.state: retry` moves a `failed` subscription back to `pending`;
//!   it can also replace the domains or the certificate authority.
//! - `DELETE` answers 204. A subscription with a certificate has TLS-enabled domains (Fastly
//!   enables TLS itself on issue): deleting it needs `?force=true`, else 400.
//! - Unknown ids answer 404 `{"errors": [{"title": "Not found", "detail": "The subscription you
//!   requested was not found"}]}` (seen).
//! - Lists filter on `filter[state]`, `filter[tls_domains.id]`, `filter[has_active_order]` and
//!   `filter[certificate_authority]` (comma-separated values match any), sort on `created_at`,
//!   and page with `page[number]`/`page[size]` (default 100, as recorded), with JSON:API `links`
//!   and `meta`. The filters work only with `Accept: application/vnd.api+json` (see the server).
//!
//! Configurations: one default configuration exists from the start, whose `dns_records` (with
//! `include=dns_records`) hold a CNAME target in region `global` and two A records. The target is
//! deliberately not a `*.sni.global.fastly.net` name, so that a client that hard-codes one is
//! caught ([`crate::Emulator::set_cname_target`] changes it).

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use sslprov_openapi_contract::Call;

use crate::reply::Reply;
use crate::state::{Dns, State, new_id, now_millis};

/// The default configuration's CNAME target.
pub const DEFAULT_CNAME_TARGET: &str = "q.sni.emulator.fastly.test";

/// A Fastly-managed certificate subscription, as the emulator holds it.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    pub domains: Vec<String>,
    pub common_name: String,
    pub certificate_authority: String,
    /// `pending`, `processing`, `issued`, `renewing` or `failed`.
    pub state: String,
    pub has_active_order: bool,
    pub configuration_id: String,
    pub authorizations: Vec<Authorization>,
    pub certificates: Vec<Certificate>,
    /// Polls that found every challenge CNAME since the order started.
    pub checks: u32,
    /// Counting polls needed to issue.
    pub issue_polls: u32,
    /// Why it failed, when a test failed it.
    pub failure: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// One domain's authorization and its DNS challenge.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub id: String,
    pub domain: String,
    /// `pending`, `passing` or `failed`.
    pub state: String,
    /// The `managed-dns` challenge: the CNAME `_acme-challenge.<domain>` must point here.
    pub cname_target: String,
}

#[derive(Debug, Clone)]
pub struct Certificate {
    pub id: String,
    pub domain: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    pub serial_number: String,
}

/// A TLS configuration and the DNS records it gives.
#[derive(Debug, Clone)]
pub struct Configuration {
    pub id: String,
    pub name: String,
    pub default: bool,
    pub bulk: bool,
    /// The CNAME target (region `global`) for tracking domains served with this configuration.
    pub cname_target: String,
    pub a_records: Vec<String>,
    pub created_at: String,
}

impl Configuration {
    pub(crate) fn default_one() -> Configuration {
        Configuration::new("Default TLS configuration", DEFAULT_CNAME_TARGET, true)
    }

    pub(crate) fn new(name: &str, cname_target: &str, default: bool) -> Configuration {
        Configuration {
            id: new_id(),
            name: name.to_owned(),
            default,
            bulk: false,
            cname_target: cname_target.to_owned(),
            // Documentation addresses (RFC 5737): nothing real is hard-coded here either.
            a_records: vec!["192.0.2.10".to_owned(), "192.0.2.11".to_owned()],
            created_at: now_millis(),
        }
    }

    fn render(&self) -> Value {
        let records: Vec<Value> =
            self.dns_records().iter().map(|r| json!({"id": r["id"], "type": "dns_record"})).collect();
        json!({
            "id": self.id,
            "type": "tls_configuration",
            "attributes": {
                "name": self.name, "default": self.default, "bulk": self.bulk,
                "http_protocols": ["http/1.1", "http/2"], "tls_protocols": ["1.2", "1.3"],
                "created_at": self.created_at, "updated_at": self.created_at,
            },
            "relationships": {"dns_records": {"data": records}},
        })
    }

    /// The `dns_record` resources: their id is the record's value.
    fn dns_records(&self) -> Vec<Value> {
        let cname = json!({"id": self.cname_target, "type": "dns_record", "attributes": {"record_type": "CNAME", "region": "global"}});
        let a = self
            .a_records
            .iter()
            .map(|ip| json!({"id": ip, "type": "dns_record", "attributes": {"record_type": "A", "region": "global"}}));
        std::iter::once(cname).chain(a).collect()
    }
}

impl Authorization {
    fn new(domain: &str) -> Authorization {
        Authorization {
            id: new_id(),
            domain: domain.to_owned(),
            state: "pending".to_owned(),
            cname_target: format!("{}.fastly-validations.com", new_id().to_ascii_lowercase()[..18].to_owned()),
        }
    }

    fn render(&self, configuration: Option<&Configuration>, sub: &Subscription) -> Value {
        let mut challenges = vec![json!({
            "type": "managed-dns", "record_type": "CNAME",
            "record_name": format!("_acme-challenge.{}", self.domain), "values": [self.cname_target],
        })];
        if let Some(c) = configuration {
            challenges.push(json!({"type": "managed-http-cname", "record_type": "CNAME", "record_name": self.domain, "values": [c.cname_target]}));
            challenges.push(json!({"type": "managed-http-a", "record_type": "A", "record_name": self.domain, "values": c.a_records}));
        }
        let warnings = sub.failure.as_ref().map(|reason| json!([{"type": "failed", "instructions": reason}]));
        json!({
            "id": self.id,
            "type": "tls_authorization",
            "attributes": {
                "challenges": challenges, "state": self.state, "warnings": warnings,
                "created_at": sub.created_at, "updated_at": sub.updated_at,
            },
            "relationships": {
                "tls_domain": {"data": {"id": self.domain, "type": "tls_domain"}},
                "globalsign_email_challenge": {"data": null},
                "self_managed_http_challenge": {"data": null},
            },
        })
    }
}

impl Certificate {
    fn render(&self) -> Value {
        json!({
            "id": self.id,
            "type": "tls_certificate",
            "attributes": {
                "created_at": self.not_before, "updated_at": self.not_before, "issued_to": self.domain,
                "issuer": self.issuer, "name": self.domain, "not_before": self.not_before, "not_after": self.not_after,
                "replace": false, "serial_number": self.serial_number, "signature_algorithm": "SHA256-RSA",
            },
        })
    }
}

impl Subscription {
    /// A new order for `domains`, `pending`.
    pub(crate) fn create(
        domains: Vec<String>,
        common_name: String,
        certificate_authority: &str,
        configuration: &str,
        issue_polls: u32,
    ) -> Subscription {
        let at = now_millis();
        Subscription {
            id: new_id(),
            common_name,
            certificate_authority: certificate_authority.to_owned(),
            state: "pending".to_owned(),
            has_active_order: true,
            configuration_id: configuration.to_owned(),
            authorizations: domains.iter().map(|d| Authorization::new(d)).collect(),
            certificates: Vec::new(),
            checks: 0,
            issue_polls,
            failure: None,
            created_at: at.clone(),
            updated_at: at,
            domains,
        }
    }

    pub(crate) fn new(
        domain: &str,
        certificate_authority: &str,
        configuration: &str,
        issue_polls: u32,
    ) -> Subscription {
        Subscription::create(
            vec![domain.to_owned()],
            domain.to_owned(),
            certificate_authority,
            configuration,
            issue_polls,
        )
    }

    /// TLS is enabled on its domains once a certificate was issued.
    pub fn tls_enabled(&self) -> bool {
        !self.certificates.is_empty()
    }

    /// Poll the DNS as an API read does (see the module docs).
    pub(crate) fn poll(&mut self, dns: Option<&Dns>) {
        if !matches!(self.state.as_str(), "pending" | "processing") {
            return;
        }
        let Some(dns) = dns else { return };
        let norm = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
        let present = self
            .authorizations
            .iter()
            .all(|a| dns(&format!("_acme-challenge.{}", a.domain)).is_some_and(|t| norm(&t) == norm(&a.cname_target)));
        if !present {
            return;
        }
        self.checks += 1;
        for a in &mut self.authorizations {
            "passing".clone_into(&mut a.state);
        }
        if self.checks >= self.issue_polls.max(1) {
            self.issue();
        } else {
            "processing".clone_into(&mut self.state);
        }
        self.updated_at = now_millis();
    }

    pub(crate) fn issue(&mut self) {
        let now = SystemTime::now();
        let at = |t: SystemTime| humantime::format_rfc3339_millis(t).to_string();
        self.certificates.push(Certificate {
            id: new_id(),
            domain: self.common_name.clone(),
            issuer: if self.certificate_authority == "lets-encrypt" { "Let's Encrypt" } else { "Certainly" }.to_owned(),
            not_before: at(now),
            not_after: at(now + Duration::from_secs(90 * 24 * 3600)),
            serial_number: new_id(),
        });
        "issued".clone_into(&mut self.state);
        self.has_active_order = false;
        self.failure = None;
        self.updated_at = now_millis();
    }

    pub(crate) fn fail(&mut self, reason: &str) {
        "failed".clone_into(&mut self.state);
        self.has_active_order = false;
        self.failure = Some(reason.to_owned());
        for a in &mut self.authorizations {
            "failed".clone_into(&mut a.state);
        }
        self.updated_at = now_millis();
    }

    fn render(&self) -> Value {
        let member = |id: &str, kind: &str| json!({"id": id, "type": kind});
        json!({
            "id": self.id,
            "type": "tls_subscription",
            "attributes": {
                "certificate_authority": self.certificate_authority,
                "state": self.state,
                "has_active_order": self.has_active_order,
                "created_at": self.created_at,
                "updated_at": self.updated_at,
            },
            "relationships": {
                "tls_authorizations": {"data": self.authorizations.iter().map(|a| member(&a.id, "tls_authorization")).collect::<Vec<_>>()},
                "tls_certificates": {"data": self.certificates.iter().map(|c| member(&c.id, "tls_certificate")).collect::<Vec<_>>()},
                "tls_domains": {"data": self.domains.iter().map(|d| member(d, "tls_domain")).collect::<Vec<_>>()},
                "common_name": {"data": member(&self.common_name, "tls_domain")},
                "tls_configuration": {"data": member(&self.configuration_id, "tls_configuration")},
            },
        })
    }

    fn included(&self, include: Include, configurations: &[Configuration]) -> Vec<Value> {
        let configuration = configurations.iter().find(|c| c.id == self.configuration_id);
        let mut out = Vec::new();
        if include.authorizations {
            out.extend(self.authorizations.iter().map(|a| a.render(configuration, self)));
        }
        if include.certificates {
            out.extend(self.certificates.iter().map(Certificate::render));
        }
        out
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Include {
    authorizations: bool,
    certificates: bool,
}

impl Include {
    fn of(call: &Call) -> Include {
        let listed: Vec<&str> = call.query_str("include").unwrap_or("").split(',').map(str::trim).collect();
        Include {
            authorizations: listed.iter().any(|i| i.starts_with("tls_authorizations")),
            certificates: listed.contains(&"tls_certificates"),
        }
    }

    const AUTHORIZATIONS: Include = Include { authorizations: true, certificates: false };
}

fn not_found() -> Reply {
    Reply::api_error(404, "Not found", "The subscription you requested was not found")
}

fn one(state: &State, sub: &Subscription, include: Include, status: u16) -> Reply {
    let mut body = json!({"data": sub.render()});
    if include.authorizations || include.certificates {
        body["included"] = json!(sub.included(include, &state.configurations));
    }
    Reply::api(status, body)
}

/// The domains a create or patch names, under `tls_domains` or go-fastly's `tls_domain`.
fn domains_of(body: &Value) -> Option<Vec<String>> {
    let relationships = &body["data"]["relationships"];
    let data = relationships["tls_domains"]["data"].as_array().or(relationships["tls_domain"]["data"].as_array())?;
    Some(data.iter().filter_map(|d| d["id"].as_str()).map(|d| d.trim_end_matches('.').to_ascii_lowercase()).collect())
}

pub(crate) fn create_subscription(state: &mut State, call: &Call) -> Reply {
    let Some(domains) = domains_of(&call.body).filter(|d| !d.is_empty()) else {
        return Reply::api_error(400, "Bad Request", "relationships.tls_domains must name at least one domain");
    };
    if call.body["data"]["attributes"].get("state").is_some() {
        return Reply::api_error(400, "Bad Request", "state can only be set on an existing subscription");
    }
    for domain in &domains {
        if state.domain_owner(domain, "").is_none() {
            return Reply::api_error(
                400,
                "Bad Request",
                format!("Domain '{domain}' is not on any service: add it to a service first"),
            );
        }
        if let Some(other) = state.subscriptions.iter().find(|s| s.domains.contains(domain)) {
            return Reply::api_error(
                409,
                "Conflict",
                format!("Domain '{domain}' is already in subscription '{}'", other.id),
            );
        }
    }
    let wanted = call.body["data"]["relationships"]["tls_configuration"]["data"]["id"].as_str();
    let configuration = match wanted {
        Some(id) => state.configurations.iter().find(|c| c.id == id),
        None => state.configurations.iter().find(|c| c.default),
    };
    let Some(configuration) = configuration else {
        return Reply::api_error(400, "Bad Request", "no such TLS configuration, and the account has no default one");
    };
    let common_name =
        call.body["data"]["relationships"]["common_name"]["data"]["id"].as_str().unwrap_or(&domains[0]).to_owned();
    let ca = call.body["data"]["attributes"]["certificate_authority"].as_str().unwrap_or("certainly");
    let sub = Subscription::create(domains, common_name, ca, &configuration.id, state.issue_polls);
    let reply = one(state, &sub, Include::AUTHORIZATIONS, 201);
    state.subscriptions.push(sub);
    reply
}

pub(crate) fn get_subscription(state: &mut State, call: &Call) -> Reply {
    let dns = state.dns.clone();
    let Some(sub) = state.subscriptions.iter_mut().find(|s| s.id == call.path("tls_subscription_id")) else {
        return not_found();
    };
    sub.poll(dns.as_ref());
    let sub = sub.clone();
    one(state, &sub, Include::of(call), 200)
}

pub(crate) fn patch_subscription(state: &mut State, call: &Call) -> Reply {
    let Some(i) = state.subscriptions.iter().position(|s| s.id == call.path("tls_subscription_id")) else {
        return not_found();
    };
    let attributes = &call.body["data"]["attributes"];
    let mut sub = state.subscriptions[i].clone();
    if attributes["state"] == "retry" {
        if sub.state != "failed" {
            return Reply::api_error(
                400,
                "Bad Request",
                format!("only a failed subscription can be retried, this one is {}", sub.state),
            );
        }
        "pending".clone_into(&mut sub.state);
        sub.has_active_order = true;
        sub.failure = None;
        sub.checks = 0;
        for a in &mut sub.authorizations {
            "pending".clone_into(&mut a.state);
        }
    }
    if let Some(ca) = attributes["certificate_authority"].as_str() {
        ca.clone_into(&mut sub.certificate_authority);
    }
    if let Some(domains) = domains_of(&call.body) {
        if !matches!(sub.state.as_str(), "issued" | "pending") {
            return Reply::api_error(
                400,
                "Bad Request",
                "domains can only change while the subscription is issued or pending",
            );
        }
        sub.authorizations.retain(|a| domains.contains(&a.domain));
        for d in domains.iter().filter(|d| !sub.domains.contains(d)) {
            sub.authorizations.push(Authorization::new(d));
        }
        sub.domains = domains;
    }
    sub.updated_at = now_millis();
    state.subscriptions[i] = sub.clone();
    one(state, &sub, Include::AUTHORIZATIONS, 200)
}

pub(crate) fn delete_subscription(state: &mut State, call: &Call) -> Reply {
    let Some(i) = state.subscriptions.iter().position(|s| s.id == call.path("tls_subscription_id")) else {
        return not_found();
    };
    let force = call.query.get("force").and_then(Value::as_bool).unwrap_or(false);
    if state.subscriptions[i].tls_enabled() && !force {
        return Reply::api_error(
            400,
            "Bad Request",
            "A subscription cannot be destroyed if there are domains in the TLS enabled state; use force=true to destroy it anyway",
        );
    }
    state.subscriptions.remove(i);
    Reply::no_content()
}

pub(crate) fn list_subscriptions(state: &mut State, call: &Call) -> Reply {
    let filter = |name: &str| -> Option<Vec<String>> {
        let v = call.query.get(name)?;
        let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        Some(text.split(',').map(|s| s.trim().to_owned()).collect())
    };
    let (states, domains, cas, active) = (
        filter("filter[state]"),
        filter("filter[tls_domains.id]"),
        filter("filter[certificate_authority]"),
        call.query.get("filter[has_active_order]").and_then(Value::as_bool),
    );
    let dns = state.dns.clone();
    let mut picked = Vec::new();
    for sub in &mut state.subscriptions {
        let keep = states.as_ref().is_none_or(|s| s.contains(&sub.state))
            && domains.as_ref().is_none_or(|d| sub.domains.iter().any(|x| d.contains(x)))
            && cas.as_ref().is_none_or(|c| c.contains(&sub.certificate_authority))
            && active.is_none_or(|a| sub.has_active_order == a);
        if keep {
            sub.poll(dns.as_ref());
            picked.push(sub.clone());
        }
    }
    if call.query_str("sort") == Some("-created_at") {
        picked.reverse();
    }
    let include = Include::of(call);
    let (items, links, meta) = page(state, call, "/tls/subscriptions", picked);
    let included: Vec<Value> = items.iter().flat_map(|s| s.included(include, &state.configurations)).collect();
    let mut body =
        json!({"data": items.iter().map(Subscription::render).collect::<Vec<_>>(), "links": links, "meta": meta});
    if include.authorizations || include.certificates {
        body["included"] = json!(included);
    }
    Reply::api(200, body)
}

pub(crate) fn list_configurations(state: &mut State, call: &Call) -> Reply {
    let bulk = call.query.get("filter[bulk]").and_then(Value::as_bool);
    let picked: Vec<Configuration> =
        state.configurations.iter().filter(|c| bulk.is_none_or(|b| c.bulk == b)).cloned().collect();
    let (items, links, meta) = page(state, call, "/tls/configurations", picked);
    let mut body =
        json!({"data": items.iter().map(Configuration::render).collect::<Vec<_>>(), "links": links, "meta": meta});
    if call.query_str("include") == Some("dns_records") {
        body["included"] = json!(items.iter().flat_map(Configuration::dns_records).collect::<Vec<_>>());
    }
    Reply::api(200, body)
}

pub(crate) fn get_configuration(state: &mut State, call: &Call) -> Reply {
    let Some(c) = state.configurations.iter().find(|c| c.id == call.path("tls_configuration_id")) else {
        return Reply::api_error(404, "Not found", "The configuration you requested was not found");
    };
    let mut body = json!({"data": c.render()});
    if call.query_str("include") == Some("dns_records") {
        body["included"] = json!(c.dns_records());
    }
    Reply::api(200, body)
}

/// One JSON:API page of `items`: the items, `links` and `meta`.
fn page<T>(state: &State, call: &Call, path: &str, items: Vec<T>) -> (Vec<T>, Value, Value) {
    let number = |name: &str, default: u64| call.query.get(name).and_then(Value::as_u64).unwrap_or(default).max(1);
    let (current, size) = (number("page[number]", 1), number("page[size]", 100));
    let total = items.len() as u64;
    let pages = total.div_ceil(size).max(1);
    let link = |n: u64| {
        let mut query: Vec<(String, String)> = call
            .query
            .iter()
            .filter(|(k, _)| !k.starts_with("page["))
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect();
        query.push(("page[number]".to_owned(), n.to_string()));
        query.push(("page[size]".to_owned(), size.to_string()));
        let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish();
        json!(format!("{}{path}?{query}", state.base_url))
    };
    let links = json!({
        "self": link(current),
        "first": link(1),
        "prev": if current > 1 { link(current - 1) } else { Value::Null },
        "next": if current < pages { link(current + 1) } else { Value::Null },
        "last": link(pages),
    });
    let meta = json!({"per_page": size, "current_page": current, "record_count": total, "total_pages": pages});
    let skip = ((current - 1) * size) as usize;
    (items.into_iter().skip(skip).take(size as usize).collect(), links, meta)
}
