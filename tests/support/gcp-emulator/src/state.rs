//! What the emulated APIs hold and how they answer: Compute's global load-balancer objects with
//! operations, and Certificate Manager's objects with long-running operations.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub(crate) const SELF_LINK_BASE: &str = "https://www.googleapis.com/compute/v1/";
const CERTS_REF: &str = "//certificatemanager.googleapis.com/";
const TYPE_PREFIX: &str = "type.googleapis.com/google.cloud.certificatemanager.v1.";

/// The closure a certificate asks for the CNAME at a name (`None`: nothing there).
pub type Dns = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// An answer: status and JSON body.
pub(crate) type Reply = (u16, Value);

pub(crate) fn error(code: u16, reason: &str, message: impl Into<String>) -> Reply {
    let message = message.into();
    let status = match code {
        400 => "INVALID_ARGUMENT",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        _ => "INTERNAL",
    };
    (
        code,
        json!({"error": {"code": code, "message": message, "status": status,
                          "errors": [{"domain": "global", "reason": reason, "message": message}]}}),
    )
}

struct Operation {
    json: Value,
    done_at: Instant,
}

pub(crate) struct State {
    next: u64,
    /// Compute objects by collection (`urlMaps`) and name.
    pub compute: BTreeMap<String, BTreeMap<String, Value>>,
    /// Endpoints of each NEG.
    pub endpoints: BTreeMap<String, Vec<Value>>,
    operations: BTreeMap<String, Operation>,
    /// Compute `requestId`s seen, with the operation each started.
    request_ids: BTreeMap<String, String>,
    /// Certificate Manager objects by resource name.
    pub certs: BTreeMap<String, Value>,
    lros: BTreeMap<String, Operation>,
    /// How long an operation runs.
    pub operation_delay: Duration,
    pub dns: Option<Dns>,
    /// While set, certificates see no `_acme-challenge` CNAME.
    pub hold_issuance: bool,
    /// Domains whose certificates fail (`FAILED`, `CONFIG`).
    pub failing: BTreeSet<String>,
    /// The next this many requests are throttled.
    pub throttle: usize,
    /// The next this many URL map writes find the map written by someone else first.
    pub interfere: usize,
}

fn now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format!("2026-12-01T00:00:{:02}.000-00:00", secs % 60)
}

/// The collection of a Compute API resource name (`globalAddresses` → `addresses`).
fn collection(resource: &str) -> &str {
    match resource {
        "globalAddresses" => "addresses",
        "globalNetworkEndpointGroups" => "networkEndpointGroups",
        "globalForwardingRules" => "forwardingRules",
        "globalOperations" => "operations",
        other => other,
    }
}

fn compute_kind(collection: &str) -> &'static str {
    match collection {
        "addresses" => "compute#address",
        "networkEndpointGroups" => "compute#networkEndpointGroup",
        "backendServices" => "compute#backendService",
        "urlMaps" => "compute#urlMap",
        "targetHttpsProxies" => "compute#targetHttpsProxy",
        "targetHttpProxies" => "compute#targetHttpProxy",
        "forwardingRules" => "compute#forwardingRule",
        "sslPolicies" => "compute#sslPolicy",
        _ => "compute#sslCertificate",
    }
}

fn list_kind(collection: &str) -> String {
    match collection {
        "sslPolicies" => "compute#sslPoliciesList".into(),
        c => format!("{}List", compute_kind(c)),
    }
}

/// Collections whose writes carry a fingerprint.
fn fingerprinted(collection: &str) -> bool {
    matches!(collection, "urlMaps" | "backendServices" | "sslPolicies" | "targetHttpsProxies" | "targetHttpProxies")
}

fn valid_name(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Every string in `v`.
fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

impl State {
    pub fn new() -> State {
        State {
            next: 1,
            compute: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            operations: BTreeMap::new(),
            request_ids: BTreeMap::new(),
            certs: BTreeMap::new(),
            lros: BTreeMap::new(),
            operation_delay: Duration::from_millis(30),
            dns: None,
            hold_issuance: false,
            failing: BTreeSet::new(),
            throttle: 0,
            interfere: 0,
        }
    }

    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn fingerprint(&mut self) -> String {
        format!("fp{:08}", self.id())
    }

    // ---- Compute ----

    /// Serves a Compute method (`resource`, `verb` from its id) on `segments` (the path after
    /// `projects/{project}/`, `global/` dropped).
    pub fn compute(
        &mut self,
        project: &str,
        resource: &str,
        verb: &str,
        rest: &[&str],
        query: &BTreeMap<String, String>,
        body: Option<&Value>,
    ) -> Reply {
        let coll = collection(resource).to_owned();
        if coll == "operations" {
            return self.compute_operation(rest.get(1).copied().unwrap_or_default());
        }
        let name = rest.get(1).map(|s| (*s).to_owned());
        let body = body.cloned().unwrap_or(json!({}));
        match (verb, name) {
            ("list", _) => self.compute_list(&coll, query),
            ("listAvailableFeatures", _) => (200, json!({"features": ["TLS_AES_128_GCM_SHA256"]})),
            ("insert", _) => self.compute_insert(project, &coll, query, body),
            ("get", Some(n)) => match self.compute.get(&coll).and_then(|m| m.get(&n)) {
                Some(v) => (200, v.clone()),
                None => {
                    error(404, "notFound", format!("The resource 'projects/{project}/global/{coll}/{n}' was not found"))
                }
            },
            ("delete", Some(n)) => self.compute_delete(project, &coll, &n),
            ("listNetworkEndpoints", Some(n)) => {
                if !self.exists(&coll, &n) {
                    return error(404, "notFound", format!("NEG {n} was not found"));
                }
                let items: Vec<Value> = self
                    .endpoints
                    .get(&n)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| json!({"networkEndpoint": e}))
                    .collect();
                (200, json!({"kind": "compute#networkEndpointGroupsListNetworkEndpoints", "items": items}))
            }
            ("attachNetworkEndpoints" | "detachNetworkEndpoints", Some(n)) => {
                if !self.exists(&coll, &n) {
                    return error(404, "notFound", format!("NEG {n} was not found"));
                }
                let given: Vec<Value> = body["networkEndpoints"].as_array().cloned().unwrap_or_default();
                let list = self.endpoints.entry(n.clone()).or_default();
                if verb == "attachNetworkEndpoints" {
                    if list.len() + given.len() > 1 {
                        return error(400, "invalid", "a global internet NEG holds exactly one endpoint");
                    }
                    list.extend(given);
                } else {
                    list.retain(|e| !given.contains(e));
                }
                let size = list.len();
                if let Some(neg) = self.compute.get_mut(&coll).and_then(|m| m.get_mut(&n)) {
                    neg["size"] = json!(size);
                }
                self.compute_op(project, &coll, &n, verb, query, None)
            }
            ("patch" | "update", Some(n)) => self.compute_write(project, &coll, &n, verb, query, body),
            (set, Some(n)) if set.starts_with("set") => {
                let field = match set {
                    "setUrlMap" => "urlMap",
                    "setTarget" => "target",
                    "setSslPolicy" => "sslPolicy",
                    "setCertificateMap" => "certificateMap",
                    "setSslCertificates" => "sslCertificates",
                    _ => "labels",
                };
                let value = body[field].clone();
                if let Err(e) = self.references_exist(project, &value) {
                    return e;
                }
                let Some(obj) = self.compute.get_mut(&coll).and_then(|m| m.get_mut(&n)) else {
                    return error(404, "notFound", format!("{coll}/{n} was not found"));
                };
                obj[field] = value;
                self.compute_op(project, &coll, &n, set, query, None)
            }
            _ => error(400, "invalid", format!("{verb} needs a resource name")),
        }
    }

    fn exists(&self, coll: &str, name: &str) -> bool {
        self.compute.get(coll).is_some_and(|m| m.contains_key(name))
    }

    fn compute_list(&self, coll: &str, query: &BTreeMap<String, String>) -> Reply {
        let all: Vec<Value> = self.compute.get(coll).map(|m| m.values().cloned().collect()).unwrap_or_default();
        let size = query.get("maxResults").and_then(|m| m.parse::<usize>().ok()).unwrap_or(500).clamp(1, 500);
        let start = query.get("pageToken").and_then(|t| t.parse::<usize>().ok()).unwrap_or(0);
        let page: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
        let mut out = json!({"kind": list_kind(coll), "id": format!("projects/p/global/{coll}"), "items": page});
        if start + size < all.len() {
            out["nextPageToken"] = json!((start + size).to_string());
        }
        (200, out)
    }

    /// Every Compute or Certificate Manager reference in `v` names an object that exists.
    fn references_exist(&self, project: &str, v: &Value) -> Result<(), Reply> {
        let mut found = Vec::new();
        strings(v, &mut found);
        for s in found {
            if let Some(rest) = s.strip_prefix(SELF_LINK_BASE) {
                let parts: Vec<&str> = rest.split('/').collect();
                if let [_, _, "global", coll, name] = parts.as_slice()
                    && !self.exists(coll, name)
                {
                    return Err(error(
                        404,
                        "notFound",
                        format!("The resource 'projects/{project}/global/{coll}/{name}' was not found"),
                    ));
                }
            }
            if let Some(name) = s.strip_prefix(CERTS_REF)
                && !self.certs.contains_key(name)
            {
                return Err(error(404, "notFound", format!("The resource '{name}' was not found")));
            }
        }
        Ok(())
    }

    /// Who refers to `link` (a self link or a Certificate Manager name), other than itself.
    fn referenced_by(&self, link: &str) -> Option<String> {
        for (coll, objects) in &self.compute {
            for (name, v) in objects {
                let mut found = Vec::new();
                strings(v, &mut found);
                if v["selfLink"] != link && found.iter().any(|s| *s == link || s.ends_with(&format!("/{link}"))) {
                    return Some(format!("{coll}/{name}"));
                }
            }
        }
        for (name, v) in &self.certs {
            let mut found = Vec::new();
            strings(v, &mut found);
            if name != link && found.contains(&link) {
                return Some(name.clone());
            }
        }
        None
    }

    fn compute_insert(
        &mut self,
        project: &str,
        coll: &str,
        query: &BTreeMap<String, String>,
        mut body: Value,
    ) -> Reply {
        if let Some(op) = query.get("requestId").and_then(|r| self.request_ids.get(r)).cloned() {
            return self.compute_operation(&op);
        }
        let Some(name) = body["name"].as_str().map(str::to_owned) else {
            return error(400, "required", "name is required");
        };
        if !valid_name(&name) {
            return error(400, "invalid", format!("Invalid value for field 'resource.name': '{name}'"));
        }
        if self.exists(coll, &name) {
            return error(
                409,
                "alreadyExists",
                format!("The resource 'projects/{project}/global/{coll}/{name}' already exists"),
            );
        }
        if let Err(e) = self.references_exist(project, &body) {
            return e;
        }
        let id = self.id();
        body["id"] = json!(id.to_string());
        body["kind"] = json!(compute_kind(coll));
        body["creationTimestamp"] = json!(now());
        body["selfLink"] = json!(format!("{SELF_LINK_BASE}projects/{project}/global/{coll}/{name}"));
        if fingerprinted(coll) {
            body["fingerprint"] = json!(self.fingerprint());
        }
        match coll {
            "addresses" => {
                body["address"] = json!(format!("34.120.{}.{}", (id / 250) % 250, id % 250 + 1));
                body["status"] = json!("RESERVED");
            }
            "networkEndpointGroups" => body["size"] = json!(0),
            _ => {}
        }
        self.compute.entry(coll.to_owned()).or_default().insert(name.clone(), body);
        self.compute_op(project, coll, &name, "insert", query, None)
    }

    fn compute_write(
        &mut self,
        project: &str,
        coll: &str,
        name: &str,
        verb: &str,
        query: &BTreeMap<String, String>,
        body: Value,
    ) -> Reply {
        if !self.exists(coll, name) {
            return error(
                404,
                "notFound",
                format!("The resource 'projects/{project}/global/{coll}/{name}' was not found"),
            );
        }
        if coll == "urlMaps" && self.interfere > 0 {
            self.interfere -= 1;
            let fp = self.fingerprint();
            if let Some(m) = self.compute.get_mut(coll).and_then(|m| m.get_mut(name)) {
                m["fingerprint"] = json!(fp);
            }
        }
        let current = self.compute[coll][name].clone();
        if fingerprinted(coll) && body["fingerprint"] != current["fingerprint"] {
            return error(
                412,
                "conditionNotMet",
                "Invalid fingerprint: the resource changed since it was read; read it again and retry",
            );
        }
        if let Err(e) = self.references_exist(project, &body) {
            return e;
        }
        let mut next = if verb == "update" { body.clone() } else { current.clone() };
        if verb == "patch"
            && let (Some(n), Some(b)) = (next.as_object_mut(), body.as_object())
        {
            for (k, v) in b {
                n.insert(k.clone(), v.clone());
            }
        }
        for keep in ["id", "kind", "creationTimestamp", "selfLink", "name", "address"] {
            if !current[keep].is_null() {
                next[keep] = current[keep].clone();
            }
        }
        if fingerprinted(coll) {
            next["fingerprint"] = json!(self.fingerprint());
        }
        self.compute.entry(coll.to_owned()).or_default().insert(name.to_owned(), next);
        self.compute_op(project, coll, name, verb, query, None)
    }

    fn compute_delete(&mut self, project: &str, coll: &str, name: &str) -> Reply {
        let Some(v) = self.compute.get(coll).and_then(|m| m.get(name)) else {
            return error(
                404,
                "notFound",
                format!("The resource 'projects/{project}/global/{coll}/{name}' was not found"),
            );
        };
        let link = v["selfLink"].as_str().unwrap_or_default().to_owned();
        if let Some(user) = self.referenced_by(&link) {
            return error(
                400,
                "resourceInUseByAnotherResource",
                format!("The {coll} resource '{name}' is already being used by '{user}'"),
            );
        }
        self.compute.get_mut(coll).map(|m| m.remove(name));
        self.endpoints.remove(name);
        self.compute_op(project, coll, name, "delete", &BTreeMap::new(), None)
    }

    fn compute_op(
        &mut self,
        project: &str,
        coll: &str,
        name: &str,
        verb: &str,
        query: &BTreeMap<String, String>,
        error: Option<Value>,
    ) -> Reply {
        let op_name = format!("operation-{}-{}", self.id(), verb.to_ascii_lowercase());
        let mut json = json!({
            "kind": "compute#operation",
            "id": self.id().to_string(),
            "name": op_name,
            "operationType": verb,
            "targetLink": format!("{SELF_LINK_BASE}projects/{project}/global/{coll}/{name}"),
            "status": "RUNNING",
            "progress": 0,
            "insertTime": now(),
            "startTime": now(),
            "selfLink": format!("{SELF_LINK_BASE}projects/{project}/global/operations/{op_name}"),
        });
        if let Some(e) = error {
            json["error"] = e;
        }
        if let Some(r) = query.get("requestId") {
            self.request_ids.insert(r.clone(), op_name.clone());
        }
        self.operations.insert(op_name.clone(), Operation { json, done_at: Instant::now() + self.operation_delay });
        self.compute_operation(&op_name)
    }

    fn compute_operation(&mut self, name: &str) -> Reply {
        let Some(op) = self.operations.get_mut(name) else {
            return error(404, "notFound", format!("operation {name} was not found"));
        };
        if Instant::now() >= op.done_at {
            op.json["status"] = json!("DONE");
            op.json["progress"] = json!(100);
            op.json["endTime"] = json!(now());
        }
        (200, op.json.clone())
    }

    /// How long until the operation is done (for `wait`).
    pub fn operation_remaining(&self, name: &str) -> Duration {
        self.operations.get(name).map(|o| o.done_at.saturating_duration_since(Instant::now())).unwrap_or_default()
    }

    // ---- Certificate Manager ----

    /// Moves certificates and map entries on, as their DNS and certificates allow.
    fn settle(&mut self) {
        let auths: BTreeMap<String, Value> = self
            .certs
            .iter()
            .filter(|(k, _)| k.contains("/dnsAuthorizations/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut states = BTreeMap::new();
        for (name, cert) in self.certs.iter_mut().filter(|(k, _)| k.contains("/certificates/")) {
            let domain = cert["managed"]["domains"][0].as_str().unwrap_or_default().to_owned();
            if cert["managed"]["state"] == "PROVISIONING" {
                if self.failing.contains(&domain) {
                    cert["managed"]["state"] = json!("FAILED");
                    cert["managed"]["authorizationAttemptInfo"] = json!([{"domain": domain, "state": "FAILED",
                        "failureReason": "CONFIG", "details": "the _acme-challenge CNAME does not point at the DNS authorization"}]);
                    cert["managed"]["provisioningIssue"] = json!({"reason": "AUTHORIZATION_ISSUE",
                        "details": "authorization failed: CONFIG"});
                } else if !self.hold_issuance {
                    let record = cert["managed"]["dnsAuthorizations"][0]
                        .as_str()
                        .and_then(|a| auths.get(a))
                        .map(|a| a["dnsResourceRecord"].clone())
                        .unwrap_or(Value::Null);
                    let trim = |s: &str| s.trim_end_matches('.').to_ascii_lowercase();
                    let (at, want) = (record["name"].as_str().map(trim), record["data"].as_str().map(trim));
                    let seen = match (&self.dns, &at) {
                        (Some(dns), Some(at)) => dns(at).map(|s| trim(&s)),
                        _ => None,
                    };
                    if seen.is_some() && seen == want {
                        cert["managed"]["state"] = json!("ACTIVE");
                        cert["managed"]["authorizationAttemptInfo"] =
                            json!([{"domain": domain, "state": "AUTHORIZED"}]);
                        cert["pemCertificate"] =
                            json!("-----BEGIN CERTIFICATE-----\nemulated\n-----END CERTIFICATE-----\n");
                        cert["expireTime"] = json!("2027-03-01T00:00:00Z");
                    }
                }
            }
            states.insert(name.clone(), cert["managed"]["state"].clone());
        }
        for (_, entry) in self.certs.iter_mut().filter(|(k, _)| k.contains("/certificateMapEntries/")) {
            let active = entry["certificates"].as_array().is_some_and(|c| {
                !c.is_empty() && c.iter().all(|c| c.as_str().and_then(|c| states.get(c)) == Some(&json!("ACTIVE")))
            });
            entry["state"] = json!(if active { "ACTIVE" } else { "PENDING" });
        }
    }

    /// Serves a Certificate Manager method: `resource` and `verb` from its id, `name` the path
    /// below `v1/` (a collection for create and list).
    pub fn certs(
        &mut self,
        resource: &str,
        verb: &str,
        name: &str,
        query: &BTreeMap<String, String>,
        body: Option<&Value>,
    ) -> Reply {
        self.settle();
        let body = body.cloned().unwrap_or(json!({}));
        if resource == "operations" {
            return match verb {
                "get" => self.lro(name),
                _ => error(400, "invalid", "not emulated"),
            };
        }
        let type_name = match resource {
            "dnsAuthorizations" => "DnsAuthorization",
            "certificates" => "Certificate",
            "certificateMaps" => "CertificateMap",
            _ => "CertificateMapEntry",
        };
        match verb {
            "list" => {
                if resource == "certificateMapEntries" {
                    let parent = name.trim_end_matches("/certificateMapEntries");
                    if !self.certs.contains_key(parent) {
                        return error(404, "notFound", format!("Resource '{parent}' was not found"));
                    }
                }
                let prefix = format!("{name}/");
                let items: Vec<Value> = self
                    .certs
                    .iter()
                    .filter(|(k, _)| k.strip_prefix(&prefix).is_some_and(|id| !id.contains('/')))
                    .map(|(_, v)| v.clone())
                    .collect();
                (200, json!({ resource: items }))
            }
            "get" => match self.certs.get(name) {
                Some(v) => (200, v.clone()),
                None => error(404, "notFound", format!("Resource '{name}' was not found")),
            },
            "create" => {
                let id_param = match resource {
                    "dnsAuthorizations" => "dnsAuthorizationId",
                    "certificates" => "certificateId",
                    "certificateMaps" => "certificateMapId",
                    _ => "certificateMapEntryId",
                };
                let Some(id) = query.get(id_param) else {
                    return error(400, "required", format!("{id_param} is required"));
                };
                if !valid_name(id) {
                    return error(400, "invalid", format!("invalid id {id}"));
                }
                let full = format!("{name}/{id}");
                if self.certs.contains_key(&full) {
                    return error(409, "alreadyExists", format!("Resource '{full}' already exists"));
                }
                if resource == "certificateMapEntries"
                    && !self.certs.contains_key(name.trim_end_matches("/certificateMapEntries"))
                {
                    return error(404, "notFound", format!("parent of {full} was not found"));
                }
                let mut obj = body;
                obj["name"] = json!(full);
                obj["createTime"] = json!(now());
                obj["updateTime"] = json!(now());
                match resource {
                    "dnsAuthorizations" => {
                        let domain = obj["domain"].as_str().unwrap_or_default().to_owned();
                        let n = self.id();
                        obj["dnsResourceRecord"] = json!({"name": format!("_acme-challenge.{domain}."), "type": "CNAME",
                            "data": format!("{n:08x}-5e1f-4c0d-9b7a-{n:012x}.9.authorize.certificatemanager.goog.")});
                    }
                    "certificates" => {
                        for a in obj["managed"]["dnsAuthorizations"].as_array().cloned().unwrap_or_default() {
                            if !a.as_str().is_some_and(|a| self.certs.contains_key(a)) {
                                return error(400, "invalid", format!("DNS authorization {a} was not found"));
                            }
                        }
                        let domains = obj["managed"]["domains"].clone();
                        obj["managed"]["state"] = json!("PROVISIONING");
                        obj["managed"]["authorizationAttemptInfo"] =
                            json!([{"domain": domains[0], "state": "AUTHORIZING"}]);
                        obj["sanDnsnames"] = domains;
                        obj["scope"] = json!("DEFAULT");
                    }
                    "certificateMaps" => obj["gclbTargets"] = json!([]),
                    _ => {
                        for c in obj["certificates"].as_array().cloned().unwrap_or_default() {
                            if !c.as_str().is_some_and(|c| self.certs.contains_key(c)) {
                                return error(400, "invalid", format!("certificate {c} was not found"));
                            }
                        }
                        obj["state"] = json!("PENDING");
                    }
                }
                self.certs.insert(full.clone(), obj.clone());
                self.settle();
                let done = self.certs[&full].clone();
                self.start_lro(name, &full, "create", type_name, Ok(done))
            }
            "patch" => {
                let Some(current) = self.certs.get(name).cloned() else {
                    return error(404, "notFound", format!("Resource '{name}' was not found"));
                };
                let mut next = current;
                for field in query
                    .get("updateMask")
                    .map(|m| m.split(',').map(str::to_owned).collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    next[&field] = body[&field].clone();
                }
                next["updateTime"] = json!(now());
                self.certs.insert(name.to_owned(), next);
                self.settle();
                let done = self.certs[name].clone();
                self.start_lro(name, name, "update", type_name, Ok(done))
            }
            "delete" => {
                if !self.certs.contains_key(name) {
                    return error(404, "notFound", format!("Resource '{name}' was not found"));
                }
                let children = format!("{name}/");
                let in_use = self.certs.keys().any(|k| k.starts_with(&children)) || self.referenced_by(name).is_some();
                if in_use {
                    let by = self.referenced_by(name).unwrap_or_else(|| "its entries".into());
                    return error(400, "FAILED_PRECONDITION", format!("Resource '{name}' is in use by {by}"));
                }
                self.certs.remove(name);
                self.start_lro(name, name, "delete", "Empty", Ok(json!({})))
            }
            _ => error(400, "invalid", format!("{verb} is not emulated")),
        }
    }

    fn start_lro(
        &mut self,
        parent_or_name: &str,
        target: &str,
        verb: &str,
        type_name: &str,
        result: Result<Value, Value>,
    ) -> Reply {
        let location = parent_or_name.split("/locations/").next().unwrap_or_default();
        let loc = parent_or_name.split("/locations/").nth(1).and_then(|r| r.split('/').next()).unwrap_or("global");
        let name = format!("{location}/locations/{loc}/operations/operation-{}", self.id());
        let mut json = json!({
            "name": name,
            "done": false,
            "metadata": {"@type": format!("{TYPE_PREFIX}OperationMetadata"), "createTime": now(), "target": target,
                         "verb": verb, "apiVersion": "v1", "requestedCancellation": false},
        });
        let type_url = if type_name == "Empty" {
            "type.googleapis.com/google.protobuf.Empty".to_owned()
        } else {
            format!("{TYPE_PREFIX}{type_name}")
        };
        match result {
            Ok(mut response) => {
                response["@type"] = json!(type_url);
                json["response"] = response;
            }
            Err(e) => json["error"] = e,
        }
        self.lros.insert(name.clone(), Operation { json, done_at: Instant::now() + self.operation_delay });
        self.lro(&name)
    }

    fn lro(&mut self, name: &str) -> Reply {
        let Some(op) = self.lros.get(name) else {
            return error(404, "notFound", format!("operation {name} was not found"));
        };
        let mut json = op.json.clone();
        if Instant::now() >= op.done_at {
            json["done"] = json!(true);
            json["metadata"]["endTime"] = json!(now());
        } else {
            // Not done: neither a response nor an error yet.
            if let Some(m) = json.as_object_mut() {
                m.remove("response");
                m.remove("error");
            }
        }
        (200, json)
    }

    /// Certificates as their readers see them now.
    pub fn settled(&mut self) -> &BTreeMap<String, Value> {
        self.settle();
        &self.certs
    }
}
