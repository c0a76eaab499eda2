//! The contract: Cloudflare's OpenAPI subset, turned once per process into JSON Schema
//! validators for every parameter, request body and response of its 24 operations.
//!
//! OpenAPI 3.0 schemas are JSON Schema draft 4 plus a few words of their own. The adapter here
//! closes the gap and nothing more:
//! - `nullable: true` becomes `anyOf: [<schema>, {"type": "null"}]`; `discriminator` is dropped
//!   (every `oneOf` in the subset also pins the discriminating property with an `enum`).
//! - `$ref`s between schemas stay as they are: the components travel with the compiled document,
//!   so the validator resolves them. References to parameters, request bodies and responses are
//!   OpenAPI's own and are followed here.
//! - Cloudflare's `4XX` schemas are `allOf: [<success schema>, <…-api-response-common-failure>]`,
//!   which no document can satisfy (`success` must be both `true` and `false`). An error response
//!   is checked against the failure member alone.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;
use jsonschema::{Draft, Validator};
use serde_json::{Map, Value, json};

/// A copy of `shared/cloudflare/openapi-subset.json`, so the crate builds wherever the repo does.
pub(crate) const SPEC: &str = include_str!("../spec/openapi-subset.json");

/// The name of the compiled document, and where in it the schemas to check are.
const DOCUMENT: &str = "urn:sslprov:cloudflare-openapi";
const DEFS: &str = "#/definitions/";

/// What a single zone setting must look like (`{id, value}` checked against the setting's own
/// value schema); used because the corrected single-setting PATCH body accepts any `value`.
pub(crate) const SETTING: &str = "setting";

pub(crate) struct Contract {
    operations: Vec<Operation>,
    validators: BTreeMap<String, Validator>,
}

#[derive(Debug)]
pub(crate) struct Operation {
    pub id: String,
    pub method: String,
    segments: Vec<String>,
    params: Vec<Param>,
    body: Option<Body>,
    responses: BTreeMap<String, String>,
    security: Vec<Vec<Scheme>>,
    /// The strongest of `x-cfPermissionsRequired` (`#ssl:edit` over `#ssl:read`).
    pub permission: Option<String>,
}

#[derive(Debug)]
struct Param {
    name: String,
    in_path: bool,
    required: bool,
    kind: Option<String>,
    key: String,
}

#[derive(Debug)]
struct Body {
    required: bool,
    key: String,
}

#[derive(Debug, Clone)]
enum Scheme {
    Bearer,
    Header(String),
}

/// What of a request the contract checks beyond its route.
pub(crate) struct Incoming<'a> {
    pub query: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A request that passed the contract, in the shape handlers want.
#[derive(Debug, Default)]
pub(crate) struct Call {
    pub path: BTreeMap<String, String>,
    pub query: BTreeMap<String, Value>,
    pub body: Value,
    pub bearer: Option<String>,
}

impl Call {
    pub fn path(&self, name: &str) -> &str {
        self.path.get(name).map_or("", String::as_str)
    }

    pub fn query_str(&self, name: &str) -> Option<&str> {
        self.query.get(name).and_then(Value::as_str)
    }
}

/// Why a request broke the contract; decides the error the emulator answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Breach {
    Auth,
    ContentType,
    Json,
    Path,
    Query,
    Body,
    /// A zone setting value its setting's schema does not allow.
    Setting,
}

impl Contract {
    /// The contract, compiled on first use. Panics if the bundled definition does not compile:
    /// that is a defect of this crate, and every test using it must fail loudly.
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| Contract::compile(SPEC).unwrap_or_else(|e| panic!("openapi-subset.json: {e}")))
    }

    fn compile(text: &str) -> Result<Contract, String> {
        let mut doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        adapt_schema(&mut doc);
        let mut defs = Map::new();
        let mut operations = Vec::new();
        for (path, item) in doc["paths"].as_object().ok_or("no paths")? {
            for (method, op) in item.as_object().ok_or("path item is not an object")? {
                if matches!(method.as_str(), "get" | "put" | "post" | "patch" | "delete") {
                    let n = operations.len();
                    let mut keep = |name: String, schema: &Value| {
                        defs.insert(format!("op{n}_{name}"), schema.clone());
                        format!("{DEFS}op{n}_{name}")
                    };
                    operations.push(operation(&doc, path, method, op, &mut keep)?);
                }
            }
        }
        defs.insert(SETTING.to_owned(), json!({"$ref": "#/components/schemas/zones_setting"}));
        let keys: Vec<String> = defs.keys().map(|k| format!("{DEFS}{k}")).collect();
        let root = json!({
            "definitions": defs,
            "components": {"schemas": doc["components"]["schemas"].take()},
        });
        // One shared document, and a validator compiled for each schema the operations name
        // (compiling every subschema of the document instead takes four times as long).
        let registry = jsonschema::Registry::new()
            .draft(Draft::Draft4)
            .add(DOCUMENT, root)
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|e| e.to_string())?;
        let options =
            jsonschema::options().with_draft(Draft::Draft4).should_validate_formats(true).with_registry(&registry);
        let mut validators = BTreeMap::new();
        for key in keys {
            let validator =
                options.build(&json!({"$ref": format!("{DOCUMENT}{key}")})).map_err(|e| format!("{key}: {e}"))?;
            validators.insert(key, validator);
        }
        Ok(Contract { operations, validators })
    }

    #[cfg(test)]
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation serving `method path` (path below `/client/v4`), with its path parameters.
    /// A literal segment beats a template one, so `certificate_packs/quota` is not a pack id.
    pub fn route(&self, method: &str, path: &str) -> Option<(&Operation, BTreeMap<String, String>)> {
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        self.operations
            .iter()
            .filter(|op| op.method == method && op.segments.len() == segments.len())
            .filter_map(|op| {
                let mut params = BTreeMap::new();
                let mut literal = 0;
                for (want, got) in op.segments.iter().zip(&segments) {
                    if let Some(name) = want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                        if got.is_empty() {
                            return None;
                        }
                        params.insert(name.to_owned(), (*got).to_owned());
                    } else if want == got {
                        literal += 1;
                    } else {
                        return None;
                    }
                }
                Some((literal, op, params))
            })
            .max_by_key(|(literal, ..)| *literal)
            .map(|(_, op, params)| (op, params))
    }

    /// Check a request against its operation: security, parameters, content type and body.
    pub fn check_request(
        &self,
        op: &Operation,
        path_params: BTreeMap<String, String>,
        req: &Incoming<'_>,
    ) -> (Call, Vec<(Breach, String)>) {
        let mut problems = Vec::new();
        let bearer = bearer(req.headers);
        if !op.security.iter().any(|alt| alt.iter().all(|s| s.satisfied(req.headers))) {
            problems.push((Breach::Auth, "no credentials satisfy the operation's security requirement".to_owned()));
        }
        let mut call = Call { bearer, ..Call::default() };
        for p in op.params.iter().filter(|p| p.in_path) {
            let raw = path_params.get(&p.name).cloned().unwrap_or_default();
            let value = coerce(&raw, p.kind.as_deref());
            for e in self.errors(&p.key, &value) {
                problems.push((Breach::Path, format!("path parameter {}: {e}", p.name)));
            }
            call.path.insert(p.name.clone(), raw);
        }
        for (name, raw) in req.query {
            let Some(p) = op.params.iter().find(|p| !p.in_path && &p.name == name) else {
                problems.push((Breach::Query, format!("unknown query parameter {name:?}")));
                continue;
            };
            let value = coerce(raw, p.kind.as_deref());
            for e in self.errors(&p.key, &value) {
                problems.push((Breach::Query, format!("query parameter {name}: {e}")));
            }
            if call.query.insert(name.clone(), value).is_some() {
                problems.push((Breach::Query, format!("query parameter {name} given twice")));
            }
        }
        for p in op.params.iter().filter(|p| !p.in_path && p.required) {
            if !call.query.contains_key(&p.name) {
                problems.push((Breach::Query, format!("required query parameter {} missing", p.name)));
            }
        }
        match &op.body {
            None if !req.body.is_empty() => {
                problems.push((Breach::Body, "the operation takes no request body".to_owned()));
            }
            None => {}
            Some(body) if req.body.is_empty() && body.required => {
                problems.push((Breach::Body, "request body required".to_owned()));
            }
            Some(_) if req.body.is_empty() => {}
            Some(body) => {
                let content_type = req.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
                let media = content_type.split(';').next().unwrap_or("").trim();
                if !media.eq_ignore_ascii_case("application/json") {
                    problems.push((
                        Breach::ContentType,
                        format!("content-type {content_type:?}, the operation takes application/json"),
                    ));
                }
                match serde_json::from_slice::<Value>(req.body) {
                    Err(e) => problems.push((Breach::Json, format!("malformed JSON body: {e}"))),
                    Ok(value) => {
                        for e in self.errors(&body.key, &value) {
                            problems.push((Breach::Body, format!("body: {e}")));
                        }
                        // The corrected PATCH body takes any `value`; the setting's own schema
                        // still decides which values exist.
                        if op.id == "zone-settings-edit-single-setting" && value.get("value").is_some() {
                            let setting = json!({"id": call.path("setting_id"), "value": value["value"]});
                            for e in self.check_setting(&setting) {
                                problems.push((Breach::Setting, format!("setting {}: {e}", call.path("setting_id"))));
                            }
                        }
                        call.body = value;
                    }
                }
            }
        }
        (call, problems)
    }

    /// Check a response the emulator is about to send. A status the operation does not define
    /// is itself a breach.
    pub fn check_response(&self, op: &Operation, status: u16, body: &Value) -> Vec<String> {
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let key = [exact.as_str(), range.as_str(), "default"].iter().find_map(|k| op.responses.get(*k));
        match key {
            None => vec![format!("status {status} is not a response of {}", op.id)],
            Some(key) => self.errors(key, body),
        }
    }

    /// Whether `value` is a valid zone setting object `{id, value}`.
    pub fn check_setting(&self, setting: &Value) -> Vec<String> {
        self.errors(&format!("{DEFS}{SETTING}"), setting)
    }

    fn errors(&self, key: &str, value: &Value) -> Vec<String> {
        let Some(validator) = self.validators.get(key) else {
            return vec![format!("no compiled schema at {key}")];
        };
        validator
            .iter_errors(value)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() { e.to_string() } else { format!("{e} (at {at})") }
            })
            .collect()
    }
}

impl Scheme {
    fn satisfied(&self, headers: &HeaderMap) -> bool {
        match self {
            Scheme::Bearer => bearer(headers).is_some(),
            Scheme::Header(name) => headers.contains_key(name.as_str()),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// One operation of the definition; `keep` stores a schema in the compiled document and returns
/// the key of its validator.
fn operation(
    doc: &Value,
    path: &str,
    method: &str,
    op: &Value,
    keep: &mut impl FnMut(String, &Value) -> String,
) -> Result<Operation, String> {
    let shared = doc["paths"][path]["parameters"].as_array().into_iter().flatten();
    let mut params = Vec::new();
    for (j, p) in shared.chain(op["parameters"].as_array().into_iter().flatten()).enumerate() {
        let p = resolve(doc, p);
        let in_path = match p["in"].as_str() {
            Some("path") => true,
            Some("query") => false,
            other => return Err(format!("{path}: parameter in {other:?} unsupported")),
        };
        params.push(Param {
            name: p["name"].as_str().ok_or("parameter without name")?.to_owned(),
            in_path,
            required: in_path || p["required"].as_bool().unwrap_or(false),
            kind: resolve(doc, &p["schema"])["type"].as_str().map(str::to_owned),
            key: keep(format!("p{j}"), &p["schema"]),
        });
    }
    let body = match op.get("requestBody").map(|b| resolve(doc, b)) {
        None => None,
        Some(b) => {
            let schema = &b["content"]["application/json"]["schema"];
            if schema.is_null() {
                return Err(format!("{method} {path}: body is not application/json"));
            }
            Some(Body { required: b["required"].as_bool().unwrap_or(false), key: keep("body".to_owned(), schema) })
        }
    };
    let mut responses = BTreeMap::new();
    for (status, r) in op["responses"].as_object().ok_or("no responses")? {
        let schema = &resolve(doc, r)["content"]["application/json"]["schema"];
        let schema = if status.starts_with('4') { failure_member(schema) } else { schema };
        responses.insert(status.clone(), keep(format!("r{status}"), schema));
    }
    let security = op.get("security").unwrap_or(&doc["security"]);
    Ok(Operation {
        id: op["operationId"].as_str().ok_or("operation without id")?.to_owned(),
        method: method.to_uppercase(),
        segments: path.split('/').skip(1).map(str::to_owned).collect(),
        params,
        body,
        responses,
        security: requirements(security, &security_schemes(doc)),
        permission: strongest_permission(op),
    })
}

fn security_schemes(doc: &Value) -> BTreeMap<String, Scheme> {
    let mut out = BTreeMap::new();
    for (name, s) in doc["components"]["securitySchemes"].as_object().into_iter().flatten() {
        let scheme = match (s["type"].as_str(), s["scheme"].as_str(), s["in"].as_str()) {
            (Some("http"), Some(scheme), _) if scheme.eq_ignore_ascii_case("bearer") => Scheme::Bearer,
            (Some("apiKey"), _, Some("header")) => match s["name"].as_str() {
                Some(header) => Scheme::Header(header.to_ascii_lowercase()),
                None => continue,
            },
            _ => continue,
        };
        out.insert(name.clone(), scheme);
    }
    out
}

/// OpenAPI security: a list of alternatives, each a set of schemes that must all be present.
/// An alternative naming an unknown scheme can never be satisfied.
fn requirements(security: &Value, schemes: &BTreeMap<String, Scheme>) -> Vec<Vec<Scheme>> {
    security
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|alt| alt.as_object()?.keys().map(|name| schemes.get(name).cloned()).collect::<Option<Vec<_>>>())
        .collect()
}

fn strongest_permission(op: &Value) -> Option<String> {
    let listed: Vec<&str> =
        op["x-cfPermissionsRequired"]["enum"].as_array()?.iter().filter_map(Value::as_str).collect();
    listed.iter().find(|p| p.ends_with(":edit")).or(listed.first()).map(|p| (*p).to_owned())
}

/// Follow an OpenAPI `$ref` (to a parameter, request body or response) within the document.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).map_or(&Value::Null, |target| resolve(doc, target)),
        None => v,
    }
}

/// Query and path values arrive as text; give them the JSON type their schema declares, and
/// leave text that does not parse as text so the schema reports it.
fn coerce(raw: &str, kind: Option<&str>) -> Value {
    match kind {
        Some("number" | "integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| raw.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::from(raw)),
        Some("boolean") => match raw {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::from(raw),
        },
        _ => Value::from(raw),
    }
}

/// See the module docs: an error response is checked against the failure envelope alone.
fn failure_member(schema: &Value) -> &Value {
    let failure = schema["allOf"].as_array().and_then(|all| {
        all.iter().find(|m| m["$ref"].as_str().is_some_and(|r| r.ends_with("api-response-common-failure")))
    });
    failure.unwrap_or(schema)
}

/// Rewrite OpenAPI 3.0 schema words into draft 4, walking schema positions only: the values of
/// `enum`, `default`, `example(s)` and `x-*` are data, and `properties` maps names to schemas.
fn adapt_schema(v: &mut Value) {
    let Value::Object(map) = v else {
        if let Value::Array(items) = v {
            items.iter_mut().for_each(adapt_schema);
        }
        return;
    };
    map.remove("discriminator");
    for (key, child) in map.iter_mut() {
        match key.as_str() {
            "enum" | "default" | "example" | "examples" | "const" => {}
            k if k.starts_with("x-") => {}
            "properties" | "patternProperties" | "definitions" => {
                for schema in child.as_object_mut().into_iter().flat_map(|m| m.values_mut()) {
                    adapt_schema(schema);
                }
            }
            _ => adapt_schema(child),
        }
    }
    if map.get("nullable") == Some(&Value::Bool(true)) {
        map.remove("nullable");
        let inner = std::mem::take(map);
        *v = json!({"anyOf": [Value::Object(inner), {"type": "null"}]});
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: &str) -> &'static Operation {
        Contract::get().operations().iter().find(|o| o.id == id).expect("operation in the subset")
    }

    #[test]
    fn bundled_definition_is_the_shared_one() {
        // shared/ sits beside the repository on developer machines and in CI; the copy here
        // lets the crate build without it, and this keeps the two from drifting apart.
        let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../../shared/cloudflare/openapi-subset.json");
        if let Ok(text) = std::fs::read_to_string(shared) {
            assert!(text == SPEC, "spec/openapi-subset.json differs from {shared}: copy it again");
        }
    }

    #[test]
    fn compiles_all_24_operations() {
        assert_eq!(Contract::get().operations().len(), 24);
    }

    #[test]
    fn nullable_becomes_any_of_null() {
        let mut s = json!({"type": "string", "nullable": true, "properties": {"nullable": {"type": "object", "nullable": true}}});
        adapt_schema(&mut s);
        assert_eq!(s["anyOf"][1], json!({"type": "null"}));
        assert_eq!(s["anyOf"][0]["properties"]["nullable"]["anyOf"][1], json!({"type": "null"}));
    }

    #[test]
    fn literal_segments_win_over_templates() {
        let zone = "0".repeat(32);
        let (op, params) =
            Contract::get().route("GET", &format!("/zones/{zone}/ssl/certificate_packs/quota")).expect("route");
        assert_eq!(op.id, "certificate-packs-get-certificate-pack-quotas");
        assert_eq!(params["zone_id"], zone);
        assert!(Contract::get().route("GET", "/zones/").is_none());
        assert!(Contract::get().route("POST", "/zones").is_none());
    }

    #[test]
    fn response_validator_rejects_a_malformed_record() {
        let list = op("dns-records-for-a-zone-list-dns-records");
        let good = json!({"success": true, "errors": [], "messages": [], "result": [{
            "id": "a".repeat(32), "type": "CNAME", "name": "click.example.com", "content": "sendgrid.net",
            "proxiable": true, "proxied": true, "ttl": 1,
            "created_on": "2024-01-01T00:00:00Z", "modified_on": "2024-01-01T00:00:00Z"}],
            "result_info": {"page": 1, "per_page": 100, "count": 1, "total_count": 1}});
        assert_eq!(Contract::get().check_response(list, 200, &good), Vec::<String>::new());
        for (field, bad) in
            [("proxied", json!("yes")), ("ttl", json!(5)), ("comment", Value::Null), ("created_on", json!("yesterday"))]
        {
            let mut broken = good.clone();
            broken["result"][0][field] = bad;
            assert!(!Contract::get().check_response(list, 200, &broken).is_empty(), "{field} should be rejected");
        }
        let mut no_type = good.clone();
        no_type["result"][0].as_object_mut().map(|r| r.remove("type"));
        assert!(!Contract::get().check_response(list, 200, &no_type).is_empty());
        assert!(!Contract::get().check_response(list, 201, &good).is_empty(), "undefined status");
    }

    #[test]
    fn error_envelopes_validate_against_the_failure_member() {
        let create = op("dns-records-for-a-zone-create-dns-record");
        let failure =
            json!({"success": false, "errors": [{"code": 81053, "message": "exists"}], "messages": [], "result": null});
        assert_eq!(Contract::get().check_response(create, 400, &failure), Vec::<String>::new());
        let lying = json!({"success": true, "errors": [], "messages": [], "result": null});
        assert!(!Contract::get().check_response(create, 400, &lying).is_empty());
    }

    #[test]
    fn setting_values_are_checked_against_their_own_schema() {
        let c = Contract::get();
        assert!(c.check_setting(&json!({"id": "ssl", "value": "full"})).is_empty());
        assert!(!c.check_setting(&json!({"id": "ssl", "value": "fullish"})).is_empty());
        assert!(c.check_setting(&json!({"id": "ssl_automatic_mode", "value": "custom"})).is_empty());
    }

    #[test]
    fn permissions_take_the_strongest_listed() {
        assert_eq!(
            op("certificate-packs-order-advanced-certificate-manager-certificate-pack").permission.as_deref(),
            Some("#ssl:edit")
        );
        assert_eq!(op("zones-0-get").permission.as_deref(), Some("#zone:read"));
        assert_eq!(op("getZoneEntrypointRuleset").permission, None);
    }
}
