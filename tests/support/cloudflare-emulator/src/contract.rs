//! The contract: Cloudflare's OpenAPI subset, compiled once per process by
//! `sslprov-openapi-contract` into JSON Schema validators for every parameter, request body and
//! response of its 24 operations.
//!
//! Two things are Cloudflare's own and live here:
//! - Cloudflare's `4XX` schemas are `allOf: [<success schema>, <…-api-response-common-failure>]`,
//!   which no document can satisfy (`success` must be both `true` and `false`). An error response
//!   is checked against the failure member alone.
//! - The single-setting PATCH body takes any `value`; the setting's own schema still decides
//!   which values exist, so that value is checked as a zone setting too.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};
use sslprov_openapi_contract::{self as openapi, Options, Outgoing};

pub(crate) use openapi::{Call, Incoming, Operation};

/// A copy of `shared/cloudflare/openapi-subset.json`, so the crate builds wherever the repo does.
pub(crate) const SPEC: &str = include_str!("../spec/openapi-subset.json");

/// What a single zone setting must look like (`{id, value}` checked against the setting's own
/// value schema); used because the corrected single-setting PATCH body accepts any `value`.
const SETTING: &str = "setting";

pub(crate) struct Contract(openapi::Contract);

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

impl From<openapi::Breach> for Breach {
    fn from(b: openapi::Breach) -> Breach {
        match b {
            openapi::Breach::Auth => Breach::Auth,
            openapi::Breach::ContentType => Breach::ContentType,
            openapi::Breach::Json => Breach::Json,
            openapi::Breach::Path => Breach::Path,
            openapi::Breach::Query => Breach::Query,
            openapi::Breach::Body => Breach::Body,
        }
    }
}

impl Contract {
    /// The contract, compiled on first use. Panics if the bundled definition does not compile:
    /// that is a defect of this crate, and every test using it must fail loudly.
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            let options = Options {
                error_schema: failure_member,
                named: vec![(SETTING.to_owned(), json!({"$ref": "#/components/schemas/zones_setting"}))],
                ..Options::new("urn:sslprov:cloudflare-openapi")
            };
            Contract(openapi::Contract::compile(SPEC, options).unwrap_or_else(|e| panic!("openapi-subset.json: {e}")))
        })
    }

    #[cfg(test)]
    pub fn operations(&self) -> &[Operation] {
        self.0.operations()
    }

    /// The operation serving `method path` (path below `/client/v4`), with its path parameters.
    /// A literal segment beats a template one, so `certificate_packs/quota` is not a pack id.
    pub fn route(&self, method: &str, path: &str) -> Option<(&Operation, BTreeMap<String, String>)> {
        self.0.route(method, path)
    }

    /// Check a request against its operation: security, parameters, content type and body.
    pub fn check_request(
        &self,
        op: &Operation,
        path_params: BTreeMap<String, String>,
        req: &Incoming<'_>,
    ) -> (Call, Vec<(Breach, String)>) {
        let (call, breaches) = self.0.check_request(op, path_params, req);
        let mut problems: Vec<(Breach, String)> = breaches.into_iter().map(|(b, d)| (b.into(), d)).collect();
        // The corrected PATCH body takes any `value`; the setting's own schema still decides
        // which values exist.
        if op.id == "zone-settings-edit-single-setting" && call.body.get("value").is_some() {
            let setting = json!({"id": call.path("setting_id"), "value": call.body["value"]});
            for e in self.check_setting(&setting) {
                problems.push((Breach::Setting, format!("setting {}: {e}", call.path("setting_id"))));
            }
        }
        (call, problems)
    }

    /// Check a response the emulator is about to send (always JSON). A status the operation does
    /// not define is itself a breach.
    pub fn check_response(&self, op: &Operation, status: u16, body: &Value) -> Vec<String> {
        let out = Outgoing { status, content_type: Some("application/json"), headers: &[], body: Some(body) };
        self.0.check_response(op, &out)
    }

    /// Whether `value` is a valid zone setting object `{id, value}`.
    pub fn check_setting(&self, setting: &Value) -> Vec<String> {
        self.0.check_named(SETTING, setting)
    }
}

/// The strongest of `x-cfPermissionsRequired` (`#ssl:edit` over `#ssl:read`).
pub(crate) fn permission(op: &Operation) -> Option<String> {
    let listed: Vec<&str> =
        op.extensions.get("x-cfPermissionsRequired")?["enum"].as_array()?.iter().filter_map(Value::as_str).collect();
    listed.iter().find(|p| p.ends_with(":edit")).or(listed.first()).map(|p| (*p).to_owned())
}

/// See the module docs: an error response is checked against the failure envelope alone.
fn failure_member(schema: &Value) -> &Value {
    let failure = schema["allOf"].as_array().and_then(|all| {
        all.iter().find(|m| m["$ref"].as_str().is_some_and(|r| r.ends_with("api-response-common-failure")))
    });
    failure.unwrap_or(schema)
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
            permission(op("certificate-packs-order-advanced-certificate-manager-certificate-pack")).as_deref(),
            Some("#ssl:edit")
        );
        assert_eq!(permission(op("zones-0-get")).as_deref(), Some("#zone:read"));
        assert_eq!(permission(op("getZoneEntrypointRuleset")), None);
    }
}
