//! The Cloudflare operations sslprov calls, as endpoints of the `cloudflare` crate's framework,
//! and what they answer.
//!
//! The crate's own DNS and zone types fail on real zones (a CAA record, a record without `meta`,
//! a pending zone: cloudflare.md §1), so every answer here is read leniently: only the fields
//! sslprov uses, unknown fields ignored, record types kept as text.

use std::marker::PhantomData;

use cloudflare::framework::endpoint::spec::EndpointSpec;
use cloudflare::framework::endpoint::{Method, RequestBody, serialize_query};
use cloudflare::framework::response::{ApiResult, ApiSuccess};
use serde::Deserialize;
use serde_json::{Value, json};

/// One request: the crate's [`EndpointSpec`] for an answer of type `T`, plus its name for the
/// budget and whether sending it twice is harmless.
#[derive(Debug)]
pub(crate) struct Endpoint<T> {
    pub op: &'static str,
    method: Method,
    path: String,
    query: Option<String>,
    body: Option<Value>,
    /// Whether a second copy does no more than the first. One that is not is retried only when
    /// Cloudflare refused it unserved (429), never after a 5xx or a lost connection.
    pub repeatable: bool,
    answer: PhantomData<fn() -> T>,
}

impl<T> Endpoint<T> {
    fn new(op: &'static str, method: Method, path: String) -> Self {
        Endpoint { op, method, path, query: None, body: None, repeatable: true, answer: PhantomData }
    }

    fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        self.query = serialize_query(&pairs);
        self
    }

    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// The JSON body, as [`EndpointSpec::body`] gives it to the crate's client.
    pub fn json(&self) -> Option<String> {
        self.body.as_ref().map(Value::to_string)
    }
}

impl<T: ApiResult> EndpointSpec for Endpoint<T> {
    type JsonResponse = T;
    type ResponseType = ApiSuccess<T>;

    fn method(&self) -> Method {
        self.method.clone()
    }

    fn path(&self) -> String {
        self.path.clone()
    }

    fn query(&self) -> Option<String> {
        self.query.clone()
    }

    fn body(&self) -> Option<RequestBody<'_>> {
        self.json().map(RequestBody::Json)
    }
}

// Lists need newtypes: `impl ApiResult for Vec<_>` is an orphan impl.
macro_rules! list_of {
    ($list:ident, $item:ty) => {
        #[derive(Debug, Deserialize)]
        #[serde(transparent)]
        pub(crate) struct $list(pub Vec<$item>);
        impl ApiResult for $list {}
    };
}

#[derive(Debug, Deserialize)]
pub(crate) struct Zone {
    pub id: String,
    pub name: String,
}
impl ApiResult for Zone {}
list_of!(Zones, Zone);

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DnsRecord {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    #[serde(default)]
    pub content: String,
    #[serde(default)]
    pub proxied: bool,
    /// A number in the definition; 1 means automatic.
    #[serde(default)]
    pub ttl: f64,
}
impl ApiResult for DnsRecord {}
list_of!(DnsRecords, DnsRecord);

/// An entrypoint ruleset. Rules stay raw JSON: sslprov writes back every rule it does not own
/// exactly as it read it.
#[derive(Debug, Deserialize)]
pub(crate) struct Ruleset {
    #[serde(default)]
    pub rules: Vec<Value>,
}
impl ApiResult for Ruleset {}

#[derive(Debug, Deserialize)]
pub(crate) struct CertificatePack {
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub status: String,
}
impl ApiResult for CertificatePack {}
list_of!(CertificatePacks, CertificatePack);

#[derive(Debug, Deserialize)]
pub(crate) struct Enabled {
    #[serde(default)]
    pub enabled: bool,
}
impl ApiResult for Enabled {}

#[derive(Debug, Deserialize)]
pub(crate) struct Setting {
    #[serde(default)]
    pub value: Value,
}
impl ApiResult for Setting {}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenStatus {
    #[serde(default)]
    pub status: String,
}
impl ApiResult for TokenStatus {}

/// What a DELETE answers (`{id}`); nothing in it is needed.
pub(crate) type Deleted = Option<Value>;

pub(crate) fn verify_token() -> Endpoint<TokenStatus> {
    Endpoint::new("VerifyToken", Method::GET, "user/tokens/verify".into())
}

/// Zones named `name` exactly. Five is the smallest page the API allows, and one page is all a
/// name can match.
pub(crate) fn zones_named(name: &str) -> Endpoint<Zones> {
    Endpoint::new("ListZones", Method::GET, "zones".into()).query(&[("name", name), ("per_page", "5")])
}

/// A page of the account's zones, 50 (the most the API allows) at a time.
pub(crate) fn zones(page: u32) -> Endpoint<Zones> {
    Endpoint::new("ListZones", Method::GET, "zones".into()).query(&[("page", &page.to_string()), ("per_page", "50")])
}

pub(crate) fn dns_records(zone_id: &str, page: u32, per_page: u32) -> Endpoint<DnsRecords> {
    Endpoint::new("ListDnsRecords", Method::GET, format!("zones/{zone_id}/dns_records"))
        .query(&[("page", &page.to_string()), ("per_page", &per_page.to_string())])
}

/// The records of one name and type: a CNAME is alone at its name, and TXT/A sets are small.
pub(crate) fn dns_records_named(zone_id: &str, name: &str, rtype: &str) -> Endpoint<DnsRecords> {
    Endpoint::new("ListDnsRecords", Method::GET, format!("zones/{zone_id}/dns_records")).query(&[
        ("name", name),
        ("type", rtype),
        ("per_page", "100"),
    ])
}

pub(crate) fn create_dns_record(zone_id: &str, record: Value) -> Endpoint<DnsRecord> {
    Endpoint::new("CreateDnsRecord", Method::POST, format!("zones/{zone_id}/dns_records")).body(record)
}

/// PATCH, not the PUT the crate offers: PUT resets every field it is not sent (comment, tags,
/// settings) and sslprov owns only a few.
pub(crate) fn patch_dns_record(zone_id: &str, id: &str, fields: Value) -> Endpoint<DnsRecord> {
    Endpoint::new("PatchDnsRecord", Method::PATCH, format!("zones/{zone_id}/dns_records/{id}")).body(fields)
}

pub(crate) fn delete_dns_record(zone_id: &str, id: &str) -> Endpoint<Deleted> {
    Endpoint::new("DeleteDnsRecord", Method::DELETE, format!("zones/{zone_id}/dns_records/{id}"))
}

pub(crate) fn entrypoint(zone_id: &str, phase: &str) -> Endpoint<Ruleset> {
    Endpoint::new("GetEntrypointRuleset", Method::GET, format!("zones/{zone_id}/rulesets/phases/{phase}/entrypoint"))
}

pub(crate) fn put_entrypoint(zone_id: &str, phase: &str, rules: Vec<Value>) -> Endpoint<Ruleset> {
    Endpoint::new("PutEntrypointRuleset", Method::PUT, format!("zones/{zone_id}/rulesets/phases/{phase}/entrypoint"))
        .body(json!({ "rules": rules }))
}

/// Every pack of the zone, whatever its status (without `status=all` only active ones show).
pub(crate) fn certificate_packs(zone_id: &str) -> Endpoint<CertificatePacks> {
    Endpoint::new("ListCertificatePacks", Method::GET, format!("zones/{zone_id}/ssl/certificate_packs"))
        .query(&[("status", "all")])
}

/// Ordering twice orders two packs, so this is never repeated after an unclear failure: the
/// caller's next attempt lists the packs first and finds one that did get ordered.
pub(crate) fn order_certificate_pack(zone_id: &str, order: Value) -> Endpoint<CertificatePack> {
    let mut e =
        Endpoint::new("OrderCertificatePack", Method::POST, format!("zones/{zone_id}/ssl/certificate_packs/order"))
            .body(order);
    e.repeatable = false;
    e
}

pub(crate) fn delete_certificate_pack(zone_id: &str, id: &str) -> Endpoint<Deleted> {
    Endpoint::new("DeleteCertificatePack", Method::DELETE, format!("zones/{zone_id}/ssl/certificate_packs/{id}"))
}

pub(crate) fn universal_ssl(zone_id: &str) -> Endpoint<Enabled> {
    Endpoint::new("GetUniversalSslSettings", Method::GET, format!("zones/{zone_id}/ssl/universal/settings"))
}

pub(crate) fn total_tls(zone_id: &str) -> Endpoint<Enabled> {
    Endpoint::new("GetTotalTls", Method::GET, format!("zones/{zone_id}/acm/total_tls"))
}

/// One zone setting, read only: sslprov never changes a zone-wide setting.
pub(crate) fn setting(zone_id: &str, id: &str) -> Endpoint<Setting> {
    Endpoint::new("GetZoneSetting", Method::GET, format!("zones/{zone_id}/settings/{id}"))
}
