//! The objects inside a version: domains, backends, header objects, cache settings, request
//! settings (all named, so addressed by name) and the version's one settings object.
//!
//! - Every write to a locked version answers 422 "Version locked" (seen), before anything else
//!   about the request is looked at.
//! - A second object of the same name in a version answers 409 "Duplicate record" with
//!   `Duplicate <kind>: '<name>'` (seen for logging endpoints; the same is assumed here).
//! - A domain name belongs to one service in the account: adding one that another live service
//!   has in any version answers 400 "Domain '<name>' is already taken by service '<id>'" (the
//!   wording the docs give).
//! - Header, cache-settings and request-settings answers carry their numbers (`priority`,
//!   `ttl`, `force_ssl`, `version`, …) as JSON strings, as the API does; everything else answers
//!   real numbers.
//! - A backend's `hostname` is its address; setting `port` without `use_ssl` sets `use_ssl` to
//!   whether the port is 443 (the API documents this for 80 and 443).
//! - Deletes answer `{"status": "ok"}`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sslprov_openapi_contract::Call;

use crate::reply::{self, Reply};
use crate::services::{self, Version, locked};
use crate::state::{State, now};

/// A kind of named object in a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ObjectKind {
    Domain,
    Backend,
    Header,
    CacheSettings,
    RequestSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    List,
    Create,
    Get,
    Update,
    Delete,
}

/// An operation on named objects: which kind, which action.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    kind: ObjectKind,
    action: Action,
}

impl Route {
    pub fn of(operation: &str) -> Option<Route> {
        let (action, noun) = operation.split_once('-')?;
        let action = match action {
            "list" => Action::List,
            "create" => Action::Create,
            "get" => Action::Get,
            "update" => Action::Update,
            "delete" => Action::Delete,
            _ => return None,
        };
        let kind = match noun {
            "domain" | "domains" => ObjectKind::Domain,
            "backend" | "backends" => ObjectKind::Backend,
            "header-object" | "header-objects" => ObjectKind::Header,
            "cache-settings" => ObjectKind::CacheSettings,
            "request-settings" => ObjectKind::RequestSettings,
            _ => return None,
        };
        Some(Route { kind, action })
    }
}

impl ObjectKind {
    /// How the API names the kind in messages.
    fn label(self) -> &'static str {
        match self {
            ObjectKind::Domain => "domain",
            ObjectKind::Backend => "backend",
            ObjectKind::Header => "header",
            ObjectKind::CacheSettings => "cache_settings",
            ObjectKind::RequestSettings => "request_settings",
        }
    }

    fn path_param(self) -> &'static str {
        match self {
            ObjectKind::Domain => "domain_name",
            ObjectKind::Backend => "backend_name",
            ObjectKind::Header => "header_name",
            ObjectKind::CacheSettings => "cache_settings_name",
            ObjectKind::RequestSettings => "request_settings_name",
        }
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            ObjectKind::Domain | ObjectKind::CacheSettings | ObjectKind::RequestSettings => &["name"],
            ObjectKind::Backend => &["name", "address"],
            ObjectKind::Header => &["name", "type", "action", "dst"],
        }
    }

    /// The fields the API answers as strings.
    fn stringly(self) -> &'static [&'static str] {
        match self {
            ObjectKind::Domain | ObjectKind::Backend => &[],
            ObjectKind::Header => &["priority", "ignore_if_set", "version"],
            ObjectKind::CacheSettings => &["ttl", "stale_ttl", "version"],
            ObjectKind::RequestSettings => &[
                "bypass_busy_wait",
                "force_miss",
                "force_ssl",
                "geo_headers",
                "max_stale_age",
                "timer_support",
                "version",
            ],
        }
    }

    /// What an object of this kind holds before the request's fields are applied.
    fn defaults(self) -> Value {
        match self {
            ObjectKind::Domain => json!({"comment": ""}),
            ObjectKind::Backend => json!({
                "address": null, "auto_loadbalance": false, "between_bytes_timeout": 10000, "client_cert": null,
                "comment": "", "connect_timeout": 1000, "error_threshold": 0, "first_byte_timeout": 15000,
                "healthcheck": null, "hostname": null, "ipv4": null, "ipv6": null, "keepalive_time": null,
                "max_conn": 200, "max_tls_version": null, "min_tls_version": null, "override_host": null,
                "port": 80, "request_condition": "", "shield": null, "ssl_ca_cert": null, "ssl_cert_hostname": null,
                "ssl_check_cert": true, "ssl_ciphers": null, "ssl_client_cert": null, "ssl_client_key": null,
                "ssl_hostname": null, "ssl_sni_hostname": null, "use_ssl": false, "weight": 100,
            }),
            ObjectKind::Header => json!({
                "cache_condition": null, "ignore_if_set": 0, "priority": 100, "regex": null,
                "request_condition": null, "response_condition": null, "src": null, "substitution": null,
            }),
            ObjectKind::CacheSettings => json!({"action": null, "cache_condition": "", "stale_ttl": 0, "ttl": 0}),
            ObjectKind::RequestSettings => json!({
                "action": null, "bypass_busy_wait": 0, "default_host": null, "force_miss": 0, "force_ssl": 0,
                "geo_headers": 0, "hash_keys": null, "max_stale_age": 0, "request_condition": "",
                "timer_support": 0, "xff": "append",
            }),
        }
    }
}

impl Version {
    pub fn objects(&self, kind: ObjectKind) -> &BTreeMap<String, Value> {
        match kind {
            ObjectKind::Domain => &self.domains,
            ObjectKind::Backend => &self.backends,
            ObjectKind::Header => &self.headers,
            ObjectKind::CacheSettings => &self.cache_settings,
            ObjectKind::RequestSettings => &self.request_settings,
        }
    }

    pub(crate) fn objects_mut(&mut self, kind: ObjectKind) -> &mut BTreeMap<String, Value> {
        match kind {
            ObjectKind::Domain => &mut self.domains,
            ObjectKind::Backend => &mut self.backends,
            ObjectKind::Header => &mut self.headers,
            ObjectKind::CacheSettings => &mut self.cache_settings,
            ObjectKind::RequestSettings => &mut self.request_settings,
        }
    }
}

/// A new object of `kind` from the fields given (typed JSON), with the API's defaults and
/// timestamps. The caller has checked what is required.
pub(crate) fn make(kind: ObjectKind, fields: &Value) -> Value {
    let at = now();
    let mut object = kind.defaults();
    object["created_at"] = json!(at);
    object["updated_at"] = json!(at);
    object["deleted_at"] = Value::Null;
    apply(kind, &mut object, fields);
    object
}

/// Apply the fields of a create or update to `object`.
fn apply(kind: ObjectKind, object: &mut Value, fields: &Value) {
    for (name, value) in fields.as_object().into_iter().flatten() {
        object[name] = value.clone();
    }
    if kind == ObjectKind::Backend {
        object["hostname"] = object["address"].clone();
        if let Some(port) = fields["port"].as_u64()
            && fields.get("use_ssl").is_none()
        {
            object["use_ssl"] = json!(port == 443);
        }
    }
    object["updated_at"] = json!(now());
}

/// An object as the API answers it: with its service and version, numbers as strings where the
/// API writes them so.
fn render(kind: ObjectKind, object: &Value, service_id: &str, version: &Version) -> Value {
    let mut out = object.clone();
    out["service_id"] = json!(service_id);
    out["version"] = json!(version.number);
    if kind == ObjectKind::Backend {
        out["locked"] = json!(version.locked);
    }
    for field in kind.stringly() {
        let text = match &out[*field] {
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
            _ => None,
        };
        if let Some(text) = text {
            out[*field] = json!(text);
        }
    }
    out
}

pub(crate) fn serve(state: &mut State, route: Route, call: &Call) -> Reply {
    let kind = route.kind;
    // A domain is checked against the other services before the version is borrowed.
    let taken = match (kind, call.body["name"].as_str()) {
        (ObjectKind::Domain, Some(name)) if route.action == Action::Create => {
            state.domain_owner(name, call.path("service_id")).map(|s| s.id.clone())
        }
        _ => None,
    };
    let service = match services::find(state, call) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let service_id = service.id.clone();
    let version = match services::find_version(service, call) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if !matches!(route.action, Action::List | Action::Get) && version.locked {
        return locked(&service_id, version.number);
    }
    let name = call.path(kind.path_param()).to_owned();
    let missing = || Reply::not_found(format!("Couldn't find {} '{name}'", kind.label()));
    match route.action {
        Action::List => {
            let items: Vec<Value> =
                version.objects(kind).values().map(|o| render(kind, o, &service_id, version)).collect();
            Reply::ok(json!(items))
        }
        Action::Get => match version.objects(kind).get(&name) {
            Some(o) => Reply::ok(render(kind, o, &service_id, version)),
            None => missing(),
        },
        Action::Create => {
            for field in kind.required() {
                if call.body[*field].as_str().is_none_or(|v| v.trim().is_empty()) {
                    return Reply::error(400, reply::BAD_REQUEST, format!("{} can't be blank", capitalised(field)));
                }
            }
            let new_name = call.body["name"].as_str().unwrap_or("").to_owned();
            if let Some(owner) = taken {
                return Reply::error(
                    400,
                    reply::BAD_REQUEST,
                    format!("Domain '{new_name}' is already taken by service '{owner}'"),
                );
            }
            if version.objects(kind).contains_key(&new_name) {
                return duplicate(kind, &new_name);
            }
            let object = make(kind, &call.body);
            let reply = Reply::ok(render(kind, &object, &service_id, version));
            version.objects_mut(kind).insert(new_name, object);
            reply
        }
        Action::Update => {
            let Some(mut object) = version.objects(kind).get(&name).cloned() else {
                return missing();
            };
            let new_name = call.body["name"].as_str().unwrap_or(&name).to_owned();
            if new_name != name && version.objects(kind).contains_key(&new_name) {
                return duplicate(kind, &new_name);
            }
            apply(kind, &mut object, &call.body);
            let reply = Reply::ok(render(kind, &object, &service_id, version));
            version.objects_mut(kind).remove(&name);
            version.objects_mut(kind).insert(new_name, object);
            reply
        }
        Action::Delete => match version.objects_mut(kind).remove(&name) {
            Some(_) => Reply::status_ok(),
            None => missing(),
        },
    }
}

fn duplicate(kind: ObjectKind, name: &str) -> Reply {
    Reply::error(409, reply::DUPLICATE_RECORD, format!("Duplicate {}: '{name}'", kind.label()))
}

fn capitalised(field: &str) -> String {
    let mut chars = field.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A new version's settings, as the API reports them for a service no one has tuned.
pub(crate) fn default_settings() -> Value {
    json!({
        "general.default_host": "",
        "general.default_ttl": 3600,
        "general.stale_if_error": false,
        "general.stale_if_error_ttl": 43200,
    })
}

fn render_settings(version: &Version, service_id: &str) -> Value {
    let mut out = version.settings.clone();
    out["service_id"] = json!(service_id);
    out["version"] = json!(version.number);
    out
}

pub(crate) fn get_settings(state: &mut State, call: &Call) -> Reply {
    let service = match services::find(state, call) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let id = service.id.clone();
    services::find_version(service, call).map_or_else(|e| e, |v| Reply::ok(render_settings(v, &id)))
}

pub(crate) fn update_settings(state: &mut State, call: &Call) -> Reply {
    let service = match services::find(state, call) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let id = service.id.clone();
    let version = match services::find_version(service, call) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if version.locked {
        return locked(&id, version.number);
    }
    let fields: &Map<String, Value> = match call.body.as_object() {
        Some(f) => f,
        None => return Reply::ok(render_settings(version, &id)),
    };
    for (name, value) in fields {
        version.settings[name] = value.clone();
    }
    version.updated_at = now();
    Reply::ok(render_settings(version, &id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_operation_has_a_route() {
        for op in crate::contract::get().operations() {
            let id = op.id.as_str();
            let object_op = ["domain", "backend", "header", "cache", "request"].iter().any(|n| id.contains(n));
            assert_eq!(Route::of(id).is_some(), object_op, "{id}");
        }
    }

    #[test]
    fn port_443_means_tls_unless_told_otherwise() {
        let b = make(ObjectKind::Backend, &json!({"name": "b", "address": "sendgrid.net", "port": 443}));
        assert_eq!((b["use_ssl"].as_bool(), b["hostname"].as_str()), (Some(true), Some("sendgrid.net")));
        let b = make(ObjectKind::Backend, &json!({"name": "b", "address": "a", "port": 443, "use_ssl": false}));
        assert_eq!(b["use_ssl"], json!(false));
    }

    #[test]
    fn header_numbers_render_as_strings() {
        let v = Version::new(3);
        let h = make(
            ObjectKind::Header,
            &json!({"name": "h", "type": "request", "action": "set", "dst": "http.X", "priority": 10}),
        );
        let out = render(ObjectKind::Header, &h, "s", &v);
        assert_eq!(
            (out["priority"].clone(), out["ignore_if_set"].clone(), out["version"].clone()),
            (json!("10"), json!("0"), json!("3"))
        );
    }
}
