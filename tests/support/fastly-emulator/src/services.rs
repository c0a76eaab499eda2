//! Services and their versions.
//!
//! - `POST /service` makes the service with version 1, an unlocked draft, and answers 200.
//!   Names are not made unique: whether the API refuses a second service of the same name is not
//!   known, and letting it through is what shows a client's twin.
//! - `GET /service` pages with `page`/`per_page` (default 20, no upper bound, as recorded) and
//!   the `Link` header (`first`, `prev`, `next`, `last`, absent ones left out); its `version` is
//!   the active version, or 1 when none is active. `GET /service/search?name=` answers one
//!   service or 404.
//! - `DELETE /service/{id}` of a service with an active version answers 400 "Cannot delete
//!   service with active version" (seen); a deleted service is gone from every answer (404), and
//!   its domains are free again.
//! - Versions: `clone` makes max+1, an unlocked inactive copy of any version; `activate`
//!   locks the version, makes it the only active one, and refuses (400) a version that fails
//!   validation; `deactivate` of a version that is not active answers 400 (the emulator's
//!   choice: the API's answer is not recorded); `validate` answers `{"status": "ok"}` or
//!   `{"status": "error", "errors": […]}`. A version is valid when it has at least one domain.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sslprov_openapi_contract::Call;

use crate::objects;
use crate::reply::{self, Reply};
use crate::state::{State, new_id, now};

/// A service as the emulator holds it.
#[derive(Debug, Clone)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub comment: String,
    pub customer_id: String,
    /// `vcl` or `wasm`.
    pub kind: String,
    pub created_at: String,
    pub updated_at: String,
    pub deleted: bool,
    pub versions: Vec<Version>,
}

/// One version of a service and the objects in it, stored as typed JSON (numbers as numbers,
/// whatever the API's answer makes of them).
#[derive(Debug, Clone)]
pub struct Version {
    pub number: u32,
    pub active: bool,
    pub locked: bool,
    pub comment: String,
    pub created_at: String,
    pub updated_at: String,
    pub domains: BTreeMap<String, Value>,
    pub backends: BTreeMap<String, Value>,
    pub headers: BTreeMap<String, Value>,
    pub cache_settings: BTreeMap<String, Value>,
    pub request_settings: BTreeMap<String, Value>,
    /// `{"general.default_host": "", "general.default_ttl": 3600, …}`.
    pub settings: Value,
}

impl Service {
    pub(crate) fn new(name: &str, comment: &str, customer_id: &str) -> Service {
        let at = now();
        Service {
            id: new_id(),
            name: name.to_owned(),
            comment: comment.to_owned(),
            customer_id: customer_id.to_owned(),
            kind: "vcl".to_owned(),
            created_at: at.clone(),
            updated_at: at,
            deleted: false,
            versions: vec![Version::new(1)],
        }
    }

    pub fn active_version(&self) -> Option<&Version> {
        self.versions.iter().find(|v| v.active)
    }

    pub fn version(&self, number: u32) -> Option<&Version> {
        self.versions.iter().find(|v| v.number == number)
    }

    pub(crate) fn version_mut(&mut self, number: u32) -> Option<&mut Version> {
        self.versions.iter_mut().find(|v| v.number == number)
    }

    pub(crate) fn has_domain(&self, domain: &str) -> bool {
        self.versions.iter().any(|v| v.domains.contains_key(domain))
    }

    /// A copy of version `from` as a new draft numbered max+1; returns its number.
    pub(crate) fn clone_version(&mut self, from: u32) -> Option<u32> {
        let number = self.versions.iter().map(|v| v.number).max().unwrap_or(0) + 1;
        let at = now();
        let copy = Version {
            number,
            active: false,
            locked: false,
            created_at: at.clone(),
            updated_at: at,
            ..self.version(from)?.clone()
        };
        self.versions.push(copy);
        Some(number)
    }

    /// Make `number` the only active version, and lock it.
    pub(crate) fn activate(&mut self, number: u32) {
        let at = now();
        for v in &mut self.versions {
            if v.number == number {
                v.active = true;
                v.locked = true;
                v.updated_at.clone_from(&at);
            } else if v.active {
                v.active = false;
                v.updated_at.clone_from(&at);
            }
        }
    }

    /// `service_response`: what create, get, search and update answer.
    fn render(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "comment": self.comment,
            "customer_id": self.customer_id,
            "type": self.kind,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "deleted_at": null,
            "paused": false,
            "publish_key": "",
            "versions": self.versions.iter().map(|v| v.render(&self.id)).collect::<Vec<_>>(),
        })
    }

    /// `service_list_response`: one item of `GET /service`.
    fn render_listed(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "comment": self.comment,
            "customer_id": self.customer_id,
            "type": self.kind,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "deleted_at": null,
            "version": self.active_version().map_or(1, |v| v.number),
            "versions": self.versions.iter().map(|v| v.render(&self.id)).collect::<Vec<_>>(),
        })
    }
}

impl Version {
    pub(crate) fn new(number: u32) -> Version {
        let at = now();
        Version {
            number,
            active: false,
            locked: false,
            comment: String::new(),
            created_at: at.clone(),
            updated_at: at,
            domains: BTreeMap::new(),
            backends: BTreeMap::new(),
            headers: BTreeMap::new(),
            cache_settings: BTreeMap::new(),
            request_settings: BTreeMap::new(),
            settings: objects::default_settings(),
        }
    }

    pub(crate) fn render(&self, service_id: &str) -> Value {
        json!({
            "number": self.number,
            "active": self.active,
            "locked": self.locked,
            "deployed": false,
            "staging": false,
            "testing": false,
            "comment": self.comment,
            "service_id": service_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "deleted_at": null,
        })
    }

    /// What stops this version from being activated.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.domains.is_empty() {
            problems.push(format!("Version {} has no domains: at least one domain is required", self.number));
        }
        problems
    }
}

/// The service `call` names (live), or the API's 404.
pub(crate) fn find<'a>(state: &'a mut State, call: &Call) -> Result<&'a mut Service, Reply> {
    let id = call.path("service_id").to_owned();
    state.service_mut(&id).ok_or_else(|| Reply::not_found(format!("Couldn't find Service '{id}'")))
}

/// The version `call` names, or the API's 404.
pub(crate) fn find_version<'a>(service: &'a mut Service, call: &Call) -> Result<&'a mut Version, Reply> {
    let number = call.path("version_id");
    let found = number.parse::<u32>().ok().and_then(|n| service.version_mut(n));
    found.ok_or_else(|| Reply::not_found(format!("Couldn't find Version '{number}'")))
}

/// The API's 422 for a write to a locked version (seen, detail included).
pub(crate) fn locked(service_id: &str, version: u32) -> Reply {
    Reply::error(422, reply::VERSION_LOCKED, format!("Version '{version}' for service '{service_id}' is locked"))
}

pub(crate) fn list(state: &mut State, call: &Call) -> Reply {
    let number =
        |name: &str, default: usize| call.query.get(name).and_then(Value::as_u64).map_or(default, |n| n as usize);
    let (page, per_page) = (number("page", 1).max(1), number("per_page", 20).max(1));
    let allowed = &state.token.services;
    let mut services: Vec<&Service> =
        state.services.iter().filter(|s| !s.deleted && (allowed.is_empty() || allowed.contains(&s.id))).collect();
    match call.query_str("sort") {
        Some("name") => services.sort_by(|a, b| a.name.cmp(&b.name)),
        Some("updated" | "updated_at") => services.sort_by(|a, b| a.updated_at.cmp(&b.updated_at)),
        _ => {}
    }
    if call.query_str("direction") == Some("descend") {
        services.reverse();
    }
    let last = services.len().div_ceil(per_page).max(1);
    let items: Vec<Value> =
        services.iter().skip((page - 1).saturating_mul(per_page)).take(per_page).map(|s| s.render_listed()).collect();
    let link = |n: usize, rel: &str| {
        let mut query: Vec<(String, String)> =
            call.query.iter().filter(|(k, _)| *k != "page").map(|(k, v)| (k.clone(), text(v))).collect();
        query.push(("page".to_owned(), n.to_string()));
        let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish();
        format!("<{}/service?{query}>; rel=\"{rel}\"", state.base_url)
    };
    let mut links = vec![link(1, "first")];
    if page > 1 {
        links.push(link(page.min(last + 1) - 1, "prev"));
    }
    if page < last {
        links.push(link(page + 1, "next"));
    }
    links.push(link(last, "last"));
    Reply::ok(json!(items)).header("Link", links.join(", "))
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

pub(crate) fn create(state: &mut State, call: &Call) -> Reply {
    let name = call.body["name"].as_str().unwrap_or("").trim();
    if name.is_empty() {
        return Reply::error(400, reply::BAD_REQUEST, "Name can't be blank");
    }
    let mut service = Service::new(name, call.body["comment"].as_str().unwrap_or(""), &state.customer_id);
    if let Some(kind) = call.body["type"].as_str() {
        kind.clone_into(&mut service.kind);
    }
    let reply = Reply::ok(service.render());
    state.services.push(service);
    reply
}

pub(crate) fn search(state: &mut State, call: &Call) -> Reply {
    let name = call.query_str("name").unwrap_or("");
    match state.services.iter().find(|s| !s.deleted && s.name == name) {
        Some(s) => Reply::ok(s.render()),
        None => Reply::not_found(format!("Couldn't find Service '{name}'")),
    }
}

pub(crate) fn get(state: &mut State, call: &Call) -> Reply {
    find(state, call).map_or_else(|e| e, |s| Reply::ok(s.render()))
}

pub(crate) fn update(state: &mut State, call: &Call) -> Reply {
    let service = match find(state, call) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if let Some(name) = call.body["name"].as_str() {
        if name.trim().is_empty() {
            return Reply::error(400, reply::BAD_REQUEST, "Name can't be blank");
        }
        name.clone_into(&mut service.name);
    }
    if let Some(comment) = call.body.get("comment") {
        service.comment = comment.as_str().unwrap_or("").to_owned();
    }
    service.updated_at = now();
    Reply::ok(service.render())
}

pub(crate) fn delete(state: &mut State, call: &Call) -> Reply {
    let service = match find(state, call) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if service.active_version().is_some() {
        return Reply::error(400, reply::BAD_REQUEST, "Cannot delete service with active version");
    }
    service.deleted = true;
    service.updated_at = now();
    Reply::status_ok()
}

pub(crate) fn list_versions(state: &mut State, call: &Call) -> Reply {
    find(state, call)
        .map_or_else(|e| e, |s| Reply::ok(json!(s.versions.iter().map(|v| v.render(&s.id)).collect::<Vec<_>>())))
}

pub(crate) fn get_version(state: &mut State, call: &Call) -> Reply {
    let service = match find(state, call) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let id = service.id.clone();
    find_version(service, call).map_or_else(|e| e, |v| Reply::ok(v.render(&id)))
}

pub(crate) fn clone_version(state: &mut State, call: &Call) -> Reply {
    let service = match find(state, call) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let from = match find_version(service, call) {
        Ok(v) => v.number,
        Err(e) => return e,
    };
    let number = service.clone_version(from).expect("the version was just found");
    Reply::ok(service.version(number).expect("just cloned").render(&service.id))
}

pub(crate) fn activate(state: &mut State, call: &Call) -> Reply {
    let service = match find(state, call) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let version = match find_version(service, call) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let problems = version.problems();
    if !problems.is_empty() {
        return Reply::error(400, reply::BAD_REQUEST, problems.join("; "));
    }
    let number = version.number;
    let warning = version.backends.is_empty().then_some("Warning: No default director found");
    service.activate(number);
    activation(service, number, warning)
}

pub(crate) fn deactivate(state: &mut State, call: &Call) -> Reply {
    let service = match find(state, call) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let version = match find_version(service, call) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if !version.active {
        return Reply::error(400, reply::BAD_REQUEST, format!("Version {} is not active", version.number));
    }
    version.active = false;
    version.updated_at = now();
    let number = version.number;
    activation(service, number, None)
}

/// `sslprov_version_activation_response`: the version, its environments and the compiler's
/// message.
fn activation(service: &Service, number: u32, msg: Option<&str>) -> Reply {
    let mut body = service.version(number).expect("the version was just found").render(&service.id);
    body["environments"] = json!([{"name": "production", "service_id": service.id,
        "active_version": service.active_version().map(|v| v.number)}]);
    body["msg"] = json!(msg);
    Reply::ok(body)
}

pub(crate) fn validate(state: &mut State, call: &Call) -> Reply {
    let service = match find(state, call) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let version = match find_version(service, call) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let problems = version.problems();
    let status = if problems.is_empty() { "ok" } else { "error" };
    Reply::ok(json!({"status": status, "errors": problems, "warnings": [], "msg": null}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_copies_objects_into_an_unlocked_draft() {
        let mut s = Service::new("svc", "", "c");
        s.versions[0].domains.insert("click.example.com".into(), json!({"name": "click.example.com"}));
        s.activate(1);
        assert!(s.versions[0].locked && s.versions[0].active);
        let n = s.clone_version(1).expect("clone");
        let draft = s.version(n).expect("draft");
        assert_eq!((n, draft.locked, draft.active), (2, false, false));
        assert!(draft.domains.contains_key("click.example.com"));
        s.activate(2);
        assert_eq!(s.active_version().map(|v| v.number), Some(2));
        assert!(s.versions[0].locked && !s.versions[0].active, "the old one stays locked");
    }
}
