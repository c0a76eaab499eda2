//! Swagger 2.0 (the form Azure publishes its ARM descriptions in) read as the OpenAPI 3.0 this
//! crate checks against, so one contract crate serves every emulator.
//!
//! What changes, and nothing else:
//! - `definitions` become `components.schemas`, and every `#/definitions/…` reference follows;
//!   `#/parameters/…` references stay (they are resolved within the document either way);
//! - a parameter's schema words (`type`, `format`, `pattern`, `minLength`, …) move under
//!   `schema`; the one `in: body` parameter becomes the `requestBody` (in the document's
//!   `consumes` media types, JSON by default);
//! - a response's `schema` becomes its `content` (in `produces`), its headers' types move under
//!   `schema`;
//! - AutoRest's `x-nullable: true` becomes `nullable: true` (ARM answers `null` for unset
//!   optional values);
//! - OAuth 2 security schemes become bearer schemes: the API takes `Authorization: Bearer`
//!   whichever flow gave the token.

use serde_json::{Map, Value, json};

/// Words of a Swagger 2.0 parameter that describe its value.
const VALUE_WORDS: &[&str] = &[
    "type",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "enum",
    "items",
    "default",
    "exclusiveMinimum",
    "exclusiveMaximum",
];

/// `doc`, a Swagger 2.0 document, as OpenAPI 3.0.
pub fn to_openapi3(mut doc: Value) -> Value {
    rewrite(&mut doc);
    let media = |key: &str| -> Vec<String> {
        let listed: Vec<String> =
            doc[key].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect();
        if listed.is_empty() { vec!["application/json".to_owned()] } else { listed }
    };
    let (consumes, produces) = (media("consumes"), media("produces"));
    let mut out = Map::new();
    out.insert("openapi".into(), json!("3.0.3"));
    out.insert("info".into(), doc["info"].clone());
    out.insert("security".into(), doc.get("security").cloned().unwrap_or_else(|| json!([])));
    let schemes: Map<String, Value> = doc["securityDefinitions"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| {
            let scheme = match s["type"].as_str() {
                Some("oauth2") => json!({"type": "http", "scheme": "bearer"}),
                _ => s.clone(),
            };
            (name.clone(), scheme)
        })
        .collect();
    let mut parameters = Map::new();
    for (name, p) in doc["parameters"].as_object().into_iter().flatten() {
        parameters.insert(name.clone(), parameter(p));
    }
    let mut paths = Map::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        let mut new_item = Map::new();
        for (method, op) in item.as_object().into_iter().flatten() {
            if method == "parameters" {
                let shared: Vec<Value> = op.as_array().into_iter().flatten().map(parameter).collect();
                new_item.insert(method.clone(), Value::Array(shared));
                continue;
            }
            new_item.insert(method.clone(), operation(op, &consumes, &produces));
        }
        paths.insert(path.clone(), Value::Object(new_item));
    }
    out.insert("paths".into(), Value::Object(paths));
    out.insert("parameters".into(), Value::Object(parameters));
    out.insert(
        "components".into(),
        json!({"schemas": doc["definitions"].take(), "securitySchemes": Value::Object(schemes)}),
    );
    Value::Object(out)
}

fn operation(op: &Value, consumes: &[String], produces: &[String]) -> Value {
    let mut new = op.as_object().cloned().unwrap_or_default();
    let mut params = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        if p["in"] == "body" {
            let content: Map<String, Value> =
                consumes.iter().map(|m| (m.clone(), json!({"schema": p["schema"].clone()}))).collect();
            new.insert(
                "requestBody".into(),
                json!({"required": p["required"].as_bool().unwrap_or(false), "content": content}),
            );
        } else {
            params.push(parameter(p));
        }
    }
    new.insert("parameters".into(), Value::Array(params));
    let mut responses = Map::new();
    for (status, r) in op["responses"].as_object().into_iter().flatten() {
        let mut response = Map::new();
        response.insert("description".into(), r["description"].clone());
        if let Some(schema) = r.get("schema") {
            let content: Map<String, Value> =
                produces.iter().map(|m| (m.clone(), json!({"schema": schema.clone()}))).collect();
            response.insert("content".into(), Value::Object(content));
        }
        if let Some(headers) = r["headers"].as_object() {
            let headers: Map<String, Value> = headers
                .iter()
                .map(|(name, h)| {
                    let schema: Map<String, Value> = h
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| VALUE_WORDS.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    (name.clone(), json!({"schema": schema}))
                })
                .collect();
            response.insert("headers".into(), Value::Object(headers));
        }
        responses.insert(status.clone(), Value::Object(response));
    }
    new.insert("responses".into(), Value::Object(responses));
    Value::Object(new)
}

/// A Swagger 2.0 parameter (or a reference to one) as OpenAPI 3.0's.
fn parameter(p: &Value) -> Value {
    if p.get("$ref").is_some() {
        return p.clone();
    }
    let mut new = Map::new();
    let mut schema = Map::new();
    for (k, v) in p.as_object().into_iter().flatten() {
        if VALUE_WORDS.contains(&k.as_str()) {
            schema.insert(k.clone(), v.clone());
        } else {
            new.insert(k.clone(), v.clone());
        }
    }
    new.insert("schema".into(), Value::Object(schema));
    Value::Object(new)
}

/// `#/definitions/…` → `#/components/schemas/…`, `x-nullable` → `nullable`, everywhere.
fn rewrite(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/definitions/")
            {
                *r = format!("#/components/schemas/{name}");
            }
            if let Some(nullable) = map.remove("x-nullable") {
                map.insert("nullable".into(), nullable);
            }
            map.values_mut().for_each(rewrite);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Contract, Incoming, Options, Outgoing};

    const DOC: &str = r##"{
      "swagger": "2.0", "info": {"title": "t", "version": "1"},
      "security": [{"oauth": ["x"]}],
      "securityDefinitions": {"oauth": {"type": "oauth2", "flow": "application", "tokenUrl": "https://t", "scopes": {}}},
      "parameters": {"Version": {"name": "api-version", "in": "query", "required": true, "type": "string", "minLength": 1}},
      "definitions": {
        "Thing": {"type": "object", "required": ["name"], "properties": {
          "name": {"type": "string"}, "path": {"type": "string", "x-nullable": true}}}
      },
      "paths": {
        "/things/{name}": {
          "put": {"operationId": "Things_Create",
            "parameters": [{"$ref": "#/parameters/Version"},
              {"name": "name", "in": "path", "required": true, "type": "string", "pattern": "^[a-z]+$"},
              {"name": "thing", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Thing"}}],
            "responses": {
              "200": {"description": "ok", "schema": {"$ref": "#/definitions/Thing"}},
              "202": {"description": "accepted", "headers": {"Retry-After": {"type": "integer", "format": "int32"}}}}}
        }
      }
    }"##;

    #[test]
    fn a_swagger_document_is_checked_as_openapi() {
        let doc = to_openapi3(serde_json::from_str(DOC).unwrap());
        let c = Contract::compile(&doc.to_string(), Options::new("urn:test:swagger2")).expect("compiles");
        let (op, params) = c.route("PUT", "/things/abc").expect("routed");
        let mut h = http::HeaderMap::new();
        h.insert("content-type", "application/json".parse().unwrap());
        h.insert("authorization", "Bearer t".parse().unwrap());
        let query = [("api-version".to_owned(), "2026-10-01".to_owned())];
        let body = br#"{"name": "a", "path": null}"#;
        let (_, breaches) = c.check_request(op, params, &Incoming { query: &query, headers: &h, body });
        assert_eq!(breaches, vec![]);

        let (op, params) = c.route("PUT", "/things/ABC").expect("routed");
        let (_, breaches) = c.check_request(op, params, &Incoming { query: &[], headers: &h, body: b"{}" });
        let kinds: Vec<_> = breaches.iter().map(|(b, _)| *b).collect();
        assert_eq!(kinds, [crate::Breach::Path, crate::Breach::Query, crate::Breach::Body], "{breaches:?}");

        let accepted =
            Outgoing { status: 202, content_type: None, headers: &[("Retry-After".into(), "x".into())], body: None };
        assert_eq!(c.check_response(op, &accepted).len(), 1, "Retry-After is an integer");
        let thing = json!({"name": "a"});
        let ok = Outgoing { status: 200, content_type: Some("application/json"), headers: &[], body: Some(&thing) };
        assert!(c.check_response(op, &ok).is_empty());
    }
}
