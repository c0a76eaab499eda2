//! An OpenAPI 3.0 document turned, once, into checks an API emulator runs on every request it
//! receives and every response it sends.
//!
//! Shared by sslprov's emulators (Cloudflare, Fastly, Azure): each bundles its vendor's API subset
//! (a Swagger 2.0 one is read as OpenAPI 3.0 first: [`swagger2::to_openapi3`]),
//! compiles it here with the few [`Options`] that differ between vendors, and records what
//! [`Contract::check_request`] and [`Contract::check_response`] report as [`Violation`]s.
//!
//! What is checked:
//! - the route (a literal path segment beats a template one) and the security requirement
//!   (`Authorization: Bearer …`, or an `apiKey` header);
//! - path and query parameters against their schemas, after giving the text the type the schema
//!   declares; unknown and repeated query parameters are breaches too;
//! - the request body's content type against those the operation declares, and the body itself:
//!   JSON (`application/json`, `application/*+json`), or a form
//!   (`application/x-www-form-urlencoded`) converted to typed JSON per its schema first (see
//!   [`schema::form_to_json`]), with fields the schema does not name refused;
//! - the response's status, content type, body and declared headers.
//!
//! OpenAPI 3.0 schemas are JSON Schema draft 4 plus a few words of their own; [`schema`] closes
//! that gap and nothing more.

mod operation;
mod request;
mod response;
pub mod schema;
pub mod swagger2;
mod violation;

use std::collections::BTreeMap;

use jsonschema::{Draft, Validator};
use serde_json::{Map, Value, json};

pub use operation::Operation;
pub use request::{Breach, Call, Incoming};
pub use response::Outgoing;
pub use violation::{Side, Violation, assert_none as assert_no_violations};

/// Where in the compiled document the schemas to check are.
const DEFS: &str = "#/definitions/";

/// What differs between vendors' documents.
pub struct Options {
    /// The name the compiled document is registered under (`urn:…`), unique per vendor.
    pub document: &'static str,
    /// The schema an error response (4xx) is checked against, given the one the document
    /// declares. Cloudflare's declare `allOf: [<success>, <failure>]`, which nothing satisfies,
    /// so its emulator picks the failure member.
    pub error_schema: fn(&Value) -> &Value,
    /// Extra schemas, by name, for [`Contract::check_named`] (a `$ref` into the document's
    /// components, usually).
    pub named: Vec<(String, Value)>,
}

impl Options {
    pub fn new(document: &'static str) -> Options {
        Options { document, error_schema: |schema| schema, named: Vec::new() }
    }
}

pub struct Contract {
    operations: Vec<Operation>,
    validators: BTreeMap<String, Validator>,
}

impl Contract {
    /// Compile `text`, an OpenAPI 3.0 document in JSON. Fails on what this crate cannot check
    /// (a parameter outside path and query, a body of an unknown media type).
    pub fn compile(text: &str, options: Options) -> Result<Contract, String> {
        let mut doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        schema::adapt(&mut doc);
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
                    operations.push(Operation::new(&doc, path, method, op, options.error_schema, &mut keep)?);
                }
            }
        }
        for (name, schema) in &options.named {
            defs.insert(format!("named_{name}"), schema.clone());
        }
        let keys: Vec<String> = defs.keys().map(|k| format!("{DEFS}{k}")).collect();
        let root = json!({
            "definitions": defs,
            "components": {"schemas": doc["components"]["schemas"].take()},
        });
        // One shared document, and a validator compiled for each schema the operations name
        // (compiling every subschema of the document instead takes four times as long).
        let registry = jsonschema::Registry::new()
            .draft(Draft::Draft4)
            .add(options.document, root)
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|e| e.to_string())?;
        let validate =
            jsonschema::options().with_draft(Draft::Draft4).should_validate_formats(true).with_registry(&registry);
        let mut validators = BTreeMap::new();
        for key in keys {
            let validator = validate
                .build(&json!({"$ref": format!("{}{key}", options.document)}))
                .map_err(|e| format!("{key}: {e}"))?;
            validators.insert(key, validator);
        }
        Ok(Contract { operations, validators })
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation serving `method path` (the path as the document writes it, below any base
    /// path), with its path parameters. A literal segment beats a template one, so
    /// `certificate_packs/quota` is not a pack id and `service/search` is not a service id.
    pub fn route(&self, method: &str, path: &str) -> Option<(&Operation, BTreeMap<String, String>)> {
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        self.operations
            .iter()
            .filter(|op| op.method == method)
            .filter_map(|op| Some((op.matches(&segments)?, op)))
            .max_by_key(|((literal, _), _)| *literal)
            .map(|((_, params), op)| (op, params))
    }

    /// Whether `value` satisfies the schema [`Options::named`] gave as `name`.
    pub fn check_named(&self, name: &str, value: &Value) -> Vec<String> {
        self.errors(&format!("{DEFS}named_{name}"), value)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A small document with what both vendors use: a bearer and an apiKey scheme, a path
    /// template beside a literal, a JSON and a form body, and a bodiless response.
    const DOC: &str = r##"{
      "openapi": "3.0.3",
      "security": [{"bearer": []}],
      "components": {
        "securitySchemes": {
          "bearer": {"type": "http", "scheme": "bearer"},
          "key": {"type": "apiKey", "in": "header", "name": "Fastly-Key"}
        },
        "schemas": {
          "thing": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"}, "port": {"type": "integer"},
            "use_ssl": {"type": "boolean"}, "note": {"type": "string", "nullable": true},
            "ttl": {"type": "integer", "nullable": true}}}
        },
        "headers": {"Remaining": {"schema": {"type": "integer"}}}
      },
      "paths": {
        "/things": {
          "post": {"operationId": "create-form", "security": [{"key": []}],
            "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/thing"}}}},
            "responses": {"200": {"description": "OK", "headers": {"Remaining": {"$ref": "#/components/headers/Remaining"}},
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/thing"}}}}}}
        },
        "/things/{name}": {
          "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
          "put": {"operationId": "put-json",
            "parameters": [{"name": "force", "in": "query", "schema": {"type": "boolean"}}],
            "requestBody": {"content": {"application/vnd.api+json": {"schema": {"$ref": "#/components/schemas/thing"}}}},
            "responses": {"204": {"description": "No Content"}}}
        },
        "/things/search": {
          "put": {"operationId": "search", "responses": {"200": {"description": "OK",
            "content": {"application/json": {"schema": {"type": "array"}}}}}}
        }
      }
    }"##;

    fn contract() -> Contract {
        Contract::compile(DOC, Options::new("urn:test")).expect("compiles")
    }

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                http::HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn literal_segments_win_over_templates() {
        let c = contract();
        let (op, params) = c.route("PUT", "/things/search").expect("route");
        assert_eq!((op.id.as_str(), params.len()), ("search", 0));
        let (op, params) = c.route("PUT", "/things/t1").expect("route");
        assert_eq!((op.id.as_str(), params["name"].as_str()), ("put-json", "t1"));
        assert!(c.route("PUT", "/things/").is_none());
        assert!(c.route("GET", "/things").is_none());
    }

    #[test]
    fn form_bodies_are_typed_then_validated() {
        let c = contract();
        let (op, params) = c.route("POST", "/things").expect("route");
        let h = headers(&[("content-type", "application/x-www-form-urlencoded"), ("fastly-key", "k")]);
        let query = [];
        let body = b"name=a&port=443&use_ssl=1&note=&ttl=";
        let (call, breaches) = c.check_request(op, params.clone(), &Incoming { query: &query, headers: &h, body });
        assert_eq!(breaches, vec![]);
        assert_eq!(call.body, json!({"name": "a", "port": 443, "use_ssl": true, "note": "", "ttl": null}));
        assert_eq!(call.api_keys.get("fastly-key").map(String::as_str), Some("k"));

        let body = b"port=eighty&use_ssl=yes&colour=red&note=a&note=b";
        let (_, breaches) = c.check_request(op, params, &Incoming { query: &query, headers: &h, body });
        let details: Vec<&str> = breaches.iter().map(|(_, d)| d.as_str()).collect();
        for expected in ["unknown form field \"colour\"", "given twice", "\"eighty\"", "\"yes\"", "\"name\""] {
            assert!(details.iter().any(|d| d.contains(expected)), "{expected} not in {details:?}");
        }
    }

    #[test]
    fn content_type_auth_and_query_are_checked() {
        let c = contract();
        let (op, params) = c.route("PUT", "/things/t1").expect("route");
        let h = headers(&[("content-type", "application/json")]);
        let query = [("force".to_owned(), "maybe".to_owned()), ("colour".to_owned(), "red".to_owned())];
        let (_, breaches) =
            c.check_request(op, params, &Incoming { query: &query, headers: &h, body: br#"{"name":"x"}"# });
        let kinds: Vec<Breach> = breaches.iter().map(|(b, _)| *b).collect();
        assert_eq!(kinds, vec![Breach::Auth, Breach::Query, Breach::Query, Breach::ContentType], "{breaches:?}");
    }

    #[test]
    fn responses_are_checked_for_status_media_body_and_headers() {
        let c = contract();
        let (form, _) = c.route("POST", "/things").expect("route");
        let good = json!({"name": "a", "port": 80});
        let bad = json!({"port": "80"});
        let ok = |content_type, headers: &[(String, String)], body| {
            c.check_response(form, &Outgoing { status: 200, content_type, headers, body })
        };
        assert_eq!(
            ok(Some("application/json"), &[("remaining".into(), "9".into())], Some(&good)),
            Vec::<String>::new()
        );
        assert_eq!(ok(Some("application/json"), &[("Remaining".into(), "many".into())], Some(&good)).len(), 1);
        assert_eq!(ok(Some("application/vnd.api+json"), &[], Some(&good)).len(), 1);
        assert_eq!(ok(Some("application/json"), &[], Some(&bad)).len(), 2);
        assert_eq!(ok(Some("application/json"), &[], None).len(), 1);
        let undefined = c.check_response(
            form,
            &Outgoing { status: 201, content_type: Some("application/json"), headers: &[], body: Some(&good) },
        );
        assert!(undefined[0].contains("not a response"), "{undefined:?}");

        let (put, _) = c.route("PUT", "/things/t1").expect("route");
        let none = Outgoing { status: 204, content_type: None, headers: &[], body: None };
        assert_eq!(c.check_response(put, &none), Vec::<String>::new());
        let body = Outgoing { body: Some(&good), ..none };
        assert_eq!(c.check_response(put, &body).len(), 1);
    }
}
