//! The spec's JSON Schema (`sslprov schema`), for YAML language servers and pipelines.
//!
//! The reader (`raw`) reads fields by hand from the positioned YAML tree, so there are no serde
//! structs to derive a schema from. These structs are the spec's fields as types instead: the
//! schema is generated from them with schemars, and the tests beside them check that each
//! mapping's fields are exactly the ones `raw` reads (and the required ones those it requires),
//! so a field added to one and not the other fails a test. What names mean comes from the same
//! sources `resolve` checks against at run time: the ESP and CDN templates and the provider
//! registry; DNS names, keys and clusters follow `names`' rules (checked against them by sample).

#![allow(dead_code)] // Never built: their shape is the schema.

// `#[serde(default)]` beside `schema_with`: a field whose schema is written by hand is required
// unless marked so, even when it is an `Option`.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::Value;

use super::names;
use crate::template::templates;

/// An sslprov spec: the Braze click-tracking domains to serve over HTTPS.
#[derive(JsonSchema)]
#[schemars(title = "sslprov spec", deny_unknown_fields)]
struct SpecFields {
    /// The spec format's version: 1.
    #[schemars(schema_with = "version")]
    version: u8,
    /// The Braze cluster of every domain that names none: US-nn or EU-nn (its region picks the
    /// ESP's regional origin).
    #[serde(default)]
    #[schemars(schema_with = "cluster")]
    braze_cluster: Option<String>,
    /// Where sslprov keeps what it made.
    state: Option<StateFields>,
    /// The CDN, DNS host, brand group and tier of every domain that names none (the brand group
    /// and tier only for domains whose CDN offers them).
    defaults: Option<DefaultsFields>,
    /// The tracking domains, by key (a lower-case name used in addresses and `--target`).
    #[schemars(schema_with = "domains")]
    domains: BTreeMap<String, DomainFields>,
}

#[derive(JsonSchema)]
#[schemars(rename = "State", deny_unknown_fields)]
struct StateFields {
    /// The state file, relative to the spec (default `sslprov.state.json`); or `s3`, not both.
    path: Option<String>,
    /// Remote state: an S3 object, instead of `path`.
    s3: Option<S3Fields>,
}

#[derive(JsonSchema)]
#[schemars(rename = "S3", deny_unknown_fields)]
struct S3Fields {
    /// The bucket that holds the state.
    bucket: String,
    /// The state object's key; its lock is the same key with `.lock` appended.
    key: String,
    /// The bucket's region (default: the AWS configuration's).
    region: Option<String>,
    /// An S3-compatible endpoint instead of AWS's.
    endpoint: Option<String>,
}

#[derive(JsonSchema)]
#[schemars(rename = "Defaults", deny_unknown_fields)]
struct DefaultsFields {
    /// A CDN template's name.
    #[serde(default)]
    #[schemars(schema_with = "cdn")]
    cdn: Option<String>,
    /// A DNS host: a provider that holds DNS records.
    #[serde(default)]
    #[schemars(schema_with = "dns")]
    dns: Option<String>,
    /// The brand group of every domain that names none, where its CDN offers brand groups (a
    /// profile `sslprov-<group>`).
    #[serde(default)]
    #[schemars(schema_with = "brand_group")]
    brand_group: Option<String>,
    /// The tier of every domain that names none, where its CDN offers tiers: `standard` (the
    /// template's default) or `premium`.
    #[serde(default)]
    #[schemars(schema_with = "tier")]
    tier: Option<String>,
}

#[derive(JsonSchema)]
#[schemars(rename = "Domain", deny_unknown_fields)]
struct DomainFields {
    /// The tracking subdomain, e.g. url1234.acme.com.
    #[schemars(schema_with = "dns_name")]
    tracking_domain: String,
    /// An ESP template's name.
    #[schemars(schema_with = "esp")]
    esp: String,
    /// The DNS zone that holds the tracking domain (default: its parent).
    #[serde(default)]
    #[schemars(schema_with = "optional_dns_name")]
    zone: Option<String>,
    /// This domain's Braze cluster, instead of the top-level one.
    #[serde(default)]
    #[schemars(schema_with = "cluster")]
    braze_cluster: Option<String>,
    /// A CDN template's name, instead of the default.
    #[serde(default)]
    #[schemars(schema_with = "cdn")]
    cdn: Option<String>,
    /// The DNS host of the zone, instead of the default.
    #[serde(default)]
    #[schemars(schema_with = "dns")]
    dns: Option<String>,
    /// Order a paid certificate where the CDN's free one does not cover the name (only CDNs whose
    /// template offers it).
    advanced_certificate: Option<bool>,
    /// The brand group whose domains share the CDN's objects, apart from other groups' (a profile
    /// `sslprov-<group>`; default: one for the spec). Only CDNs whose template offers it.
    #[serde(default)]
    #[schemars(schema_with = "brand_group")]
    brand_group: Option<String>,
    /// The tier of the brand group's CDN objects: `standard` (the default) or `premium` (the
    /// profile's SKU), the same for every domain of a group. Only CDNs whose template offers it.
    #[serde(default)]
    #[schemars(schema_with = "tier")]
    tier: Option<String>,
    /// The tracking record's form: `alias` (the default: an A and AAAA alias pair where the DNS
    /// host and CDN offer one, else a CNAME) or `cname`.
    #[serde(default)]
    #[schemars(schema_with = "tracking_record")]
    tracking_record: Option<String>,
    /// With `cdn: none`: the values the ESP's own HTTPS needs, as its console or API shows them
    /// (SendGrid Auto SSL: `acme_challenge`, `custom_hostname`).
    #[serde(default)]
    #[schemars(schema_with = "managed_https")]
    managed_https: Option<BTreeMap<String, String>>,
}

/// The spec's JSON Schema (draft 2020-12), with the ESPs, CDNs and DNS hosts of this build.
pub fn schema() -> Value {
    schemars::generate::SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<SpecFields>().to_value()
}

fn version(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "const": 1, "description": "The spec format's version: 1." })
}

/// Braze numbers clusters from 01 in each region (`names::parse_cluster`).
const CLUSTER: &str = "^(US|EU)-(0[1-9]|[1-9][0-9])$";

fn cluster(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["string", "null"], "pattern": CLUSTER, "description": names::CLUSTER_ALLOWED })
}

/// `names::check_dns_name`: labels of 1 to 63 lower-case letters, digits and inner hyphens, at
/// least two, the last not all digits; at most 253 characters.
const DNS_NAME: &str =
    "^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+(?=[a-z0-9-]*[a-z-])[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";

fn dns_name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "maxLength": 253, "pattern": DNS_NAME, "description": names::DNS_ALLOWED })
}

fn optional_dns_name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": ["string", "null"], "maxLength": 253, "pattern": DNS_NAME, "description": names::DNS_ALLOWED
    })
}

/// `names::check_key`.
const KEY: &str = "^[a-z0-9][a-z0-9_-]*$";

fn domains(generator: &mut SchemaGenerator) -> Schema {
    let domain = generator.subschema_for::<DomainFields>();
    json_schema!({
        "type": "object",
        "minProperties": 1,
        "propertyNames": { "pattern": KEY, "description": names::KEY_ALLOWED },
        "additionalProperties": domain,
    })
}

fn esp(_: &mut SchemaGenerator) -> Schema {
    let names: Vec<&String> = templates().esp.keys().collect();
    json_schema!({ "type": "string", "enum": names })
}

fn cdn(_: &mut SchemaGenerator) -> Schema {
    let mut names: Vec<Value> = templates().cdn.keys().map(|n| Value::from(n.as_str())).collect();
    names.push(Value::Null);
    json_schema!({ "enum": names })
}

fn dns(_: &mut SchemaGenerator) -> Schema {
    let mut names: Vec<Value> = crate::registry::dns_hosts().into_iter().map(Value::from).collect();
    names.push(Value::Null);
    json_schema!({ "enum": names })
}

/// `names::check_brand_group`.
const BRAND_GROUP: &str = "^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$";

fn brand_group(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": ["string", "null"], "pattern": BRAND_GROUP, "description": names::BRAND_GROUP_ALLOWED })
}

fn tier(_: &mut SchemaGenerator) -> Schema {
    let mut tiers: Vec<Value> = names::TIERS.iter().map(|t| Value::from(*t)).collect();
    tiers.push(Value::Null);
    json_schema!({ "enum": tiers })
}

fn tracking_record(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "enum": ["alias", "cname", null] })
}

/// The value names any ESP's `managed_https` asks for; which ESP needs which is `validate`'s.
fn managed_https(_: &mut SchemaGenerator) -> Schema {
    let names: std::collections::BTreeSet<&String> =
        templates().esp.values().filter_map(|e| e.managed_https.as_ref()).flat_map(|m| m.values.keys()).collect();
    let properties: serde_json::Map<String, Value> =
        names.into_iter().map(|n| (n.clone(), serde_json::json!({ "type": "string", "minLength": 1 }))).collect();
    json_schema!({ "type": ["object", "null"], "properties": properties, "additionalProperties": false })
}

#[cfg(test)]
mod tests;
