//! The contract: Fastly's OpenAPI subset (`spec/openapi-subset.json`, a copy of
//! `shared/fastly/openapi-subset.json`), compiled once per process by `sslprov-openapi-contract`
//! into JSON Schema validators for every parameter, request body (JSON, JSON:API or form),
//! response and rate-limit header of its 47 operations.
//!
//! One amendment is made before compiling, and only in memory: `DELETE /tls/subscriptions/{id}`
//! gains the `force` query parameter. The subset leaves it out, but the parameter's own text in
//! the same document says it is "valid to use on PATCH and DELETE actions", the API's docs
//! describe `?force=true` on delete, and go-fastly sends it. Without it a client could not
//! delete a subscription whose domains are TLS-enabled.

use std::sync::OnceLock;

use serde_json::{Value, json};
use sslprov_openapi_contract::{Contract, Options};

/// A copy of `shared/fastly/openapi-subset.json`, so the crate builds wherever the repo does.
pub(crate) const SPEC: &str = include_str!("../spec/openapi-subset.json");

/// The contract, compiled on first use. Panics if the bundled definition does not compile: that
/// is a defect of this crate, and every test using it must fail loudly.
pub(crate) fn get() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let mut doc: Value = serde_json::from_str(SPEC).unwrap_or_else(|e| panic!("openapi-subset.json: {e}"));
        amend(&mut doc);
        Contract::compile(&doc.to_string(), Options::new("urn:sslprov:fastly-openapi"))
            .unwrap_or_else(|e| panic!("openapi-subset.json: {e}"))
    })
}

/// See the module docs.
fn amend(doc: &mut Value) {
    let delete = &mut doc["paths"]["/tls/subscriptions/{tls_subscription_id}"]["delete"];
    if let Some(params) = delete["parameters"].as_array_mut() {
        params.push(json!({"$ref": "#/components/parameters/tls_subscription_force"}));
    }
}

#[cfg(test)]
mod tests {
    use sslprov_openapi_contract::Outgoing;

    use super::*;

    #[test]
    fn bundled_definition_is_the_shared_one() {
        // shared/ sits beside the repository on developer machines and in CI; the copy here
        // lets the crate build without it, and this keeps the two from drifting apart.
        let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../../shared/fastly/openapi-subset.json");
        if let Ok(text) = std::fs::read_to_string(shared) {
            assert!(text == SPEC, "spec/openapi-subset.json differs from {shared}: copy it again");
        }
    }

    #[test]
    fn compiles_all_47_operations() {
        assert_eq!(get().operations().len(), 47);
    }

    #[test]
    fn search_is_not_a_service_id() {
        let (op, params) = get().route("GET", "/service/search").expect("route");
        assert_eq!((op.id.as_str(), params.len()), ("search-service", 0));
        let (op, params) = get().route("PUT", "/service/SU1Z0isxPaozGVKXdv0eY/version/3/clone").expect("route");
        assert_eq!((op.id.as_str(), params["version_id"].as_str()), ("clone-service-version", "3"));
    }

    #[test]
    fn header_objects_answer_numbers_as_strings() {
        let (op, _) = get().route("GET", "/service/s/version/1/header/h").expect("route");
        let header = json!({"name": "h", "type": "request", "action": "set", "dst": "http.X", "src": "\"x\"",
            "priority": "10", "ignore_if_set": "0", "service_id": "s", "version": "1"});
        let out = Outgoing { status: 200, content_type: Some("application/json"), headers: &[], body: Some(&header) };
        assert_eq!(get().check_response(op, &out), Vec::<String>::new());
        let mut typed = header.clone();
        typed["priority"] = json!(10);
        assert_eq!(get().check_response(op, &Outgoing { body: Some(&typed), ..out }).len(), 1);
    }
}
