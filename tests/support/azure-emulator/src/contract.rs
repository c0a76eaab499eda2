//! The contract: the ARM subset for Front Door Standard/Premium (`spec/openapi-subset.json`, a
//! copy of `shared/azure/openapi-subset.json`), Swagger 2.0 read as OpenAPI 3.0 and compiled once
//! per process by `sslprov-openapi-contract`.
//!
//! Two checks are ARM's own and live here:
//! - Request bodies are held to the schema's property names: a field the definition does not name
//!   or marks `readOnly` (`provisioningState`, `hostName` of an endpoint, …) is a breach. JSON
//!   Schema alone would let both through (ARM's definitions do not close their objects), and a
//!   client that sends them has misread the API.
//! - Long-running operations are polled at URLs no path of the subset declares (the subset keeps
//!   none: the client follows headers); their bodies are checked against the common-types
//!   `OperationStatusResult`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};
use sslprov_openapi_contract::{self as openapi, Options, Outgoing, schema::resolve};

pub(crate) use openapi::{Call, Incoming, Operation};

/// A copy of `shared/azure/openapi-subset.json`, so the crate builds wherever the repo does.
pub(crate) const SPEC: &str = include_str!("../spec/openapi-subset.json");

const OPERATION_STATUS: &str = "operation_status";

pub(crate) struct Contract {
    inner: openapi::Contract,
    /// The document as OpenAPI 3.0, for the property-name check.
    doc: Value,
}

impl Contract {
    /// Compiled on first use. Panics if the bundled definition does not compile: a defect of this
    /// crate, which every test using it must show loudly.
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            let swagger: Value = serde_json::from_str(SPEC).expect("openapi-subset.json is JSON");
            let doc = openapi::swagger2::to_openapi3(swagger);
            let options = Options {
                named: vec![(
                    OPERATION_STATUS.to_owned(),
                    json!({"$ref": "#/components/schemas/OperationStatusResult"}),
                )],
                ..Options::new("urn:sslprov:azure-arm")
            };
            let inner = openapi::Contract::compile(&doc.to_string(), options)
                .unwrap_or_else(|e| panic!("openapi-subset.json: {e}"));
            Contract { inner, doc }
        })
    }

    pub fn route(&self, method: &str, path: &str) -> Option<(&Operation, BTreeMap<String, String>)> {
        self.inner.route(method, path)
    }

    pub fn check_request(
        &self,
        op: &Operation,
        params: BTreeMap<String, String>,
        req: &Incoming<'_>,
    ) -> (Call, Vec<String>) {
        let (call, breaches) = self.inner.check_request(op, params, req);
        let mut problems: Vec<String> = breaches.into_iter().map(|(_, d)| d).collect();
        if !call.body.is_null()
            && let Some(schema) = self.body_schema(op)
        {
            fields(&self.doc, schema, &call.body, "body", &mut problems);
        }
        (call, problems)
    }

    fn body_schema(&self, op: &Operation) -> Option<&Value> {
        let item = self.doc["paths"].get(&op.path)?;
        let schema = &item[op.method.to_ascii_lowercase()]["requestBody"]["content"]["application/json"]["schema"];
        (!schema.is_null()).then_some(schema)
    }

    pub fn check_response(
        &self,
        op: &Operation,
        status: u16,
        headers: &[(String, String)],
        body: Option<&Value>,
    ) -> Vec<String> {
        let out = Outgoing { status, content_type: body.map(|_| "application/json"), headers, body };
        self.inner.check_response(op, &out)
    }

    /// The headers (lower case) `op` declares for `status`, and whether that status has content;
    /// `None` if the operation has no such response.
    pub fn declared(&self, op: &Operation, status: u16) -> Option<(Vec<String>, bool)> {
        let r =
            self.doc["paths"].get(&op.path)?[op.method.to_ascii_lowercase()]["responses"].get(status.to_string())?;
        let headers = r["headers"].as_object().into_iter().flatten().map(|(k, _)| k.to_ascii_lowercase()).collect();
        Some((headers, r.get("content").is_some()))
    }

    pub fn check_operation_status(&self, body: &Value) -> Vec<String> {
        self.inner.check_named(OPERATION_STATUS, body)
    }
}

/// The properties a schema names (through `$ref` and `allOf`): name → (schema, read-only).
fn properties<'a>(doc: &'a Value, schema: &'a Value, out: &mut BTreeMap<String, (&'a Value, bool)>) {
    let schema = resolve(doc, schema);
    for member in schema["allOf"].as_array().into_iter().flatten() {
        properties(doc, member, out);
    }
    for (name, p) in schema["properties"].as_object().into_iter().flatten() {
        out.insert(name.clone(), (p, p["readOnly"] == true || resolve(doc, p)["readOnly"] == true));
    }
}

/// Unknown and read-only fields of `value` under `schema`, recursively.
fn fields(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let resolved = resolve(doc, schema);
    match value {
        Value::Object(map) => {
            let mut named = BTreeMap::new();
            properties(doc, resolved, &mut named);
            let open = named.is_empty() || resolved.get("additionalProperties").is_some();
            for (k, v) in map {
                match named.get(k) {
                    Some((_, true)) if !v.is_null() => problems.push(format!("{at}.{k} is read-only")),
                    Some((p, _)) => fields(doc, p, v, &format!("{at}.{k}"), problems),
                    None if !open => problems.push(format!("{at}.{k} is not a field of the schema")),
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                fields(doc, &resolved["items"], item, &format!("{at}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_definition_is_the_shared_one() {
        // shared/ sits beside the repository on developer machines and in CI; the copy here
        // keeps the crate building where it does not.
        let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../../shared/azure/openapi-subset.json");
        if let Ok(text) = std::fs::read_to_string(shared) {
            assert!(text == SPEC, "spec/openapi-subset.json differs from {shared}: copy it again");
        }
    }

    #[test]
    fn every_operation_compiles_and_unknown_or_read_only_fields_are_breaches() {
        let c = Contract::get();
        assert_eq!(c.inner.operations().len(), 43);
        let path = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Cdn/profiles/p/customDomains/d";
        let (op, params) = c.route("PUT", path).expect("routed");
        assert_eq!(op.id, "AFDCustomDomains_Create");
        let mut h = http::HeaderMap::new();
        h.insert("content-type", "application/json".parse().unwrap());
        h.insert("authorization", "Bearer t".parse().unwrap());
        let query = [("api-version".to_owned(), "2026-10-01".to_owned())];
        let good = br#"{"properties":{"hostName":"click.acme.com","tlsSettings":{"certificateType":"ManagedCertificate","cipherSuiteSetType":"TLS12_2022"}}}"#;
        let (_, problems) = c.check_request(op, params.clone(), &Incoming { query: &query, headers: &h, body: good });
        assert_eq!(problems, Vec::<String>::new());
        let bad = br#"{"properties":{"hostName":"click.acme.com","domainValidationState":"Approved","colour":"red","tlsSettings":{"certificateType":"ManagedCertificate"}}}"#;
        let (_, problems) = c.check_request(op, params, &Incoming { query: &query, headers: &h, body: bad });
        assert_eq!(
            problems,
            [
                "body.properties.colour is not a field of the schema",
                "body.properties.domainValidationState is read-only"
            ]
        );
    }
}
