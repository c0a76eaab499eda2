//! What sslprov wants at Fastly, as the engine renders it from a template (JSON): the fields it
//! owns, small and flat. Unknown fields are refused, so a template typo fails at load, not as
//! silent drift.

use serde::{Deserialize, Serialize};
use sslprov_provider::{ErrorKind, ProviderError, Result};

use crate::NAME;

/// A Fastly service in front of one ESP origin, for one tracking domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// The service's name: how sslprov finds it again (Fastly has no idempotency keys).
    pub name: String,
    pub comment: String,
    /// The tracking domain, lower case.
    pub domain: String,
    pub backend: BackendSpec,
    /// The literal value sslprov's request header object sets `X-Forwarded-Host` to, replacing
    /// whatever the client or Fastly put there (normally the tracking domain).
    pub forwarded_host: String,
    pub cache: CacheSpec,
}

/// The ESP origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSpec {
    pub name: String,
    /// Host name of the origin (`sendgrid.net`, `spgo.io`, `r.us-east-1.awstrack.me`).
    pub address: String,
    pub port: u16,
    pub use_ssl: bool,
    /// Checked against the origin's certificate; empty leaves it unset.
    pub ssl_cert_hostname: String,
    /// Sent as SNI; empty leaves it unset.
    pub ssl_sni_hostname: String,
    /// `1.2`, …; empty leaves it unset.
    pub min_tls_version: String,
    /// Replaces the client's Host towards the origin. `None` for every ESP sslprov knows: they
    /// find the customer's branded domain by the Host they receive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_host: Option<String>,
}

/// How much Fastly caches. ESP click redirects are per click: caching them loses clicks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// A request setting `action=pass` with no condition: every request goes to the origin.
    pub pass: bool,
    /// `settings.general.default_ttl`, Fastly's "fallback TTL" for answers that carry no
    /// freshness of their own (3600 unless set; SparkPost's guide asks for 10).
    pub fallback_ttl: u32,
}

/// A Fastly-managed certificate for one tracking domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    pub domain: String,
    /// `lets-encrypt`, `certainly` or `globalsign`.
    pub certificate_authority: String,
}

impl ServiceSpec {
    /// Refuse what Fastly would take but could not mean what the spec says.
    pub(crate) fn check(&self, op: &'static str) -> Result<()> {
        let invalid = |m: String| Err(ProviderError::new(ErrorKind::InvalidRequest, NAME, op, m));
        if self.name.trim().is_empty() {
            return invalid("the service name is empty".to_owned());
        }
        if self.domain.is_empty() || self.domain != self.domain.to_ascii_lowercase() {
            return invalid(format!("the domain {:?} must be given in lower case", self.domain));
        }
        // The header's source is a VCL expression: the value goes in as a string literal, which
        // cannot hold a quote or a control character.
        if self.forwarded_host.is_empty() || self.forwarded_host.chars().any(|c| c == '"' || c.is_control()) {
            return invalid(format!("forwarded_host {:?} cannot be a VCL string literal", self.forwarded_host));
        }
        if self.backend.name.trim().is_empty() || self.backend.address.trim().is_empty() {
            return invalid("the backend needs a name and an address".to_owned());
        }
        Ok(())
    }
}

impl SubscriptionSpec {
    pub(crate) fn check(&self, op: &'static str) -> Result<()> {
        if !matches!(self.certificate_authority.as_str(), "lets-encrypt" | "certainly" | "globalsign") {
            return Err(ProviderError::new(
                ErrorKind::InvalidRequest,
                NAME,
                op,
                format!(
                    "certificate_authority {:?}: Fastly offers lets-encrypt, certainly and globalsign",
                    self.certificate_authority
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn templates_render_to_specs_and_typos_are_refused() {
        let sendgrid = json!({
            "name": "sslprov-click.example.com", "comment": "managed-by=sslprov; esp=sendgrid",
            "domain": "click.example.com",
            "backend": {"name": "sendgrid", "address": "sendgrid.net", "port": 443, "use_ssl": true,
                "ssl_cert_hostname": "sendgrid.net", "ssl_sni_hostname": "sendgrid.net", "min_tls_version": "1.2"},
            "forwarded_host": "click.example.com",
            "cache": {"pass": true, "fallback_ttl": 0},
        });
        let spec: ServiceSpec = serde_json::from_value(sendgrid.clone()).expect("spec");
        assert_eq!(spec.backend.override_host, None);
        assert!(spec.check("test").is_ok());
        let mut typo = sendgrid;
        typo["cache"]["fallback-ttl"] = json!(10);
        assert!(serde_json::from_value::<ServiceSpec>(typo).is_err());
    }

    #[test]
    fn a_forwarded_host_must_fit_a_vcl_string() {
        let mut spec = ServiceSpec {
            name: "s".into(),
            comment: String::new(),
            domain: "click.example.com".into(),
            backend: BackendSpec {
                name: "b".into(),
                address: "spgo.io".into(),
                port: 443,
                use_ssl: true,
                ssl_cert_hostname: String::new(),
                ssl_sni_hostname: String::new(),
                min_tls_version: String::new(),
                override_host: None,
            },
            forwarded_host: "click\".example.com".into(),
            cache: CacheSpec { pass: false, fallback_ttl: 10 },
        };
        assert_eq!(spec.check("t").map_err(|e| e.kind), Err(ErrorKind::InvalidRequest));
        spec.forwarded_host = "click.example.com".into();
        spec.domain = "Click.example.com".into();
        assert!(spec.check("t").is_err());
    }
}
