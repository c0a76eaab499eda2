//! What Fastly answers, as the fields sslprov reads: unknown fields ignored, and numbers read
//! whether they come as numbers or as strings (header, cache-settings and request-settings
//! objects answer `"priority":"50"`, `"version":"67"`, where backends answer real numbers).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A number, or a string holding one; `null` or absent is `None`.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(Value::Bool(b)) => Some(u64::from(b)),
        _ => None,
    })
}

/// A boolean, or `1`/`0` as a number or a string.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => Some(b),
        Some(Value::Number(n)) => n.as_u64().map(|n| n != 0),
        Some(Value::String(s)) => match s.as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ServiceAnswer {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub versions: Vec<VersionAnswer>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct VersionAnswer {
    #[serde(deserialize_with = "lenient_u64", default)]
    pub number: Option<u64>,
    #[serde(deserialize_with = "lenient_bool", default)]
    pub active: Option<bool>,
    #[serde(deserialize_with = "lenient_bool", default)]
    pub locked: Option<bool>,
}

impl ServiceAnswer {
    pub fn active_version(&self) -> Option<u32> {
        self.versions.iter().find(|v| v.active == Some(true)).and_then(|v| v.number).map(|n| n as u32)
    }

    /// The newest version, and whether it is locked.
    pub fn latest_version(&self) -> Option<(u32, bool)> {
        self.versions.iter().filter_map(|v| Some((v.number? as u32, v.locked.unwrap_or(false)))).max_by_key(|(n, _)| *n)
    }

    /// An unlocked version newer than the active one (or any, without one): what a run killed
    /// after its clone leaves behind.
    pub fn draft_version(&self) -> Option<u32> {
        let active = self.active_version().unwrap_or(0);
        self.versions
            .iter()
            .filter(|v| v.locked != Some(true) && v.active != Some(true))
            .filter_map(|v| v.number.map(|n| n as u32))
            .filter(|n| *n > active)
            .max()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Named {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BackendAnswer {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(deserialize_with = "lenient_u64", default)]
    pub port: Option<u64>,
    #[serde(deserialize_with = "lenient_bool", default)]
    pub use_ssl: Option<bool>,
    #[serde(default)]
    pub ssl_cert_hostname: Option<String>,
    #[serde(default)]
    pub ssl_sni_hostname: Option<String>,
    #[serde(default)]
    pub min_tls_version: Option<String>,
    #[serde(default)]
    pub override_host: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HeaderAnswer {
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub dst: Option<String>,
    #[serde(default)]
    pub src: Option<String>,
    #[serde(deserialize_with = "lenient_bool", default)]
    pub ignore_if_set: Option<bool>,
    #[serde(default)]
    pub request_condition: Option<String>,
    #[serde(default)]
    pub cache_condition: Option<String>,
    #[serde(default)]
    pub response_condition: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RequestSettingAnswer {
    pub name: String,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub request_condition: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SettingsAnswer {
    #[serde(rename = "general.default_ttl", deserialize_with = "lenient_u64", default)]
    pub default_ttl: Option<u64>,
    #[serde(rename = "general.default_host", default)]
    pub default_host: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ValidateAnswer {
    pub status: String,
    #[serde(default)]
    pub errors: Vec<Value>,
    #[serde(default)]
    pub msg: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TokenAnswer {
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A JSON:API document: its primary data, and the resources `include` asked for.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Document<T> {
    pub data: T,
    #[serde(default)]
    pub included: Vec<Included>,
    #[serde(default)]
    pub links: Option<Links>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Links {
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type")]
pub(crate) enum Included {
    #[serde(rename = "tls_authorization")]
    Authorization(AuthorizationResource),
    #[serde(rename = "dns_record")]
    DnsRecord(DnsRecordResource),
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Member {
    pub id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Many {
    #[serde(default)]
    pub data: Vec<Member>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct One {
    #[serde(default)]
    pub data: Option<Member>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SubscriptionResource {
    pub id: String,
    pub attributes: SubscriptionAttributes,
    #[serde(default)]
    pub relationships: SubscriptionRelationships,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SubscriptionAttributes {
    pub state: String,
    #[serde(default)]
    pub certificate_authority: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct SubscriptionRelationships {
    #[serde(default)]
    pub tls_domains: Many,
    #[serde(default)]
    pub tls_certificates: Many,
    #[serde(default)]
    pub tls_authorizations: Many,
    #[serde(default)]
    pub common_name: One,
    #[serde(default)]
    pub tls_configuration: One,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AuthorizationResource {
    pub id: String,
    #[serde(default)]
    pub attributes: AuthorizationAttributes,
    #[serde(default)]
    pub relationships: AuthorizationRelationships,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AuthorizationAttributes {
    #[serde(default)]
    pub challenges: Vec<Challenge>,
    #[serde(default)]
    pub warnings: Option<Vec<Warning>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct AuthorizationRelationships {
    #[serde(default)]
    pub tls_domain: One,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Challenge {
    #[serde(rename = "type")]
    pub kind: String,
    pub record_type: String,
    pub record_name: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Warning {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub instructions: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DnsRecordResource {
    pub id: String,
    pub attributes: DnsRecordAttributes,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DnsRecordAttributes {
    pub record_type: String,
    #[serde(default)]
    pub region: Option<String>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numbers_come_as_numbers_or_strings() {
        let h: HeaderAnswer = serde_json::from_value(json!({"name": "h", "type": "request", "ignore_if_set": "0",
            "priority": "10", "version": "3", "src": "\"x\""}))
        .expect("header");
        assert_eq!((h.ignore_if_set, h.kind.as_deref()), (Some(false), Some("request")));
        let v: VersionAnswer = serde_json::from_value(json!({"number": "7", "active": true})).expect("version");
        assert_eq!(v.number, Some(7));
    }

    #[test]
    fn the_recorded_subscription_answer_reads() {
        // go-fastly fixtures/tls_subscription/create.yaml (2024), trimmed.
        let doc: Document<SubscriptionResource> = serde_json::from_value(json!({"data":{"id":"mwtZ5xuowgXsyR2nyPjuWw","type":"tls_subscription","attributes":{"certificate_authority":"certainly","created_at":"2024-05-07T12:51:58.000Z","state":"pending","has_active_order":true},"relationships":{"tls_authorizations":{"data":[{"id":"B98ZDNS55WAZ5ltYl6wZUQ","type":"tls_authorization"}]},"tls_certificates":{"data":[]},"tls_domains":{"data":[{"id":"integ-test1.go-fastly-1.com","type":"tls_domain"}]},"common_name":{"data":{"id":"integ-test1.go-fastly-1.com","type":"tls_domain"}},"tls_configuration":{"data":{"id":"Em77eV0D2qMAduXPtvRdKg","type":"tls_configuration"}}}},"included":[{"id":"B98ZDNS55WAZ5ltYl6wZUQ","type":"tls_authorization","attributes":{"challenges":[{"type":"managed-dns","record_type":"CNAME","record_name":"_acme-challenge.integ-test1.go-fastly-1.com","values":["9jwu4ypaom1vthbbvt.fastly-validations.com"]},{"type":"managed-http-cname","record_type":"CNAME","record_name":"integ-test1.go-fastly-1.com","values":["j.sni.global.fastly.net"]}],"state":"pending","warnings":null},"relationships":{"tls_domain":{"data":{"id":"integ-test1.go-fastly-1.com","type":"tls_domain"}},"globalsign_email_challenge":{"data":null}}}]}))
        .expect("document");
        assert_eq!(doc.data.relationships.tls_domains.data[0].id, "integ-test1.go-fastly-1.com");
        let Included::Authorization(a) = &doc.included[0] else { panic!("an authorization") };
        assert_eq!(a.attributes.challenges[0].values[0], "9jwu4ypaom1vthbbvt.fastly-validations.com");
    }
}
