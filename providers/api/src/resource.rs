//! The resource kinds sslprov manages, as the fields it owns.
//!
//! `Desired` holds only what sslprov decides; a provider's `list` projects what it finds onto the
//! same type, normalised (trailing dots, case, order), so a plain `==` is the whole drift check and
//! fields sslprov does not own can never cause a perpetual diff.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// Placeholder for a value that only exists once an earlier step has run (a certificate ARN, a
/// distribution's domain name). Plans render it as such; apply resolves it before any call.
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Certificate,
    Distribution,
    Record,
    ConfigRule,
    EdgeCertificate,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Certificate => "certificate",
            Kind::Distribution => "distribution",
            Kind::Record => "record",
            Kind::ConfigRule => "config_rule",
            Kind::EdgeCertificate => "edge_certificate",
        })
    }
}

/// What sslprov wants to exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Desired {
    Certificate(CertificateSpec),
    Distribution(DistributionSpec),
    Record(RecordSpec),
    ConfigRule(ConfigRuleSpec),
    EdgeCertificate(EdgeCertificateSpec),
}

impl Desired {
    pub fn kind(&self) -> Kind {
        match self {
            Desired::Certificate(_) => Kind::Certificate,
            Desired::Distribution(_) => Kind::Distribution,
            Desired::Record(_) => Kind::Record,
            Desired::ConfigRule(_) => Kind::ConfigRule,
            Desired::EdgeCertificate(_) => Kind::EdgeCertificate,
        }
    }
}

/// A DNS-validated certificate for CDN use (ACM in us-east-1 for CloudFront).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSpec {
    pub domain_name: String,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub subject_alternative_names: BTreeSet<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordType {
    Cname,
    A,
    Aaaa,
    Txt,
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordType::Cname => "CNAME",
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Txt => "TXT",
        })
    }
}

/// One DNS record set: a name and type in a zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSpec {
    /// Zone apex, lower case, no trailing dot: `acme.com`.
    pub zone: String,
    /// Fully qualified name, lower case, no trailing dot.
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: RecordType,
    pub ttl: u32,
    /// Values, normalised (lower case, no trailing dot for names), sorted.
    pub values: Vec<String>,
    /// Cloudflare only: whether the record is proxied. `None` where the DNS host has no proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxied: Option<bool>,
}

/// A CDN distribution in front of one ESP origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistributionSpec {
    pub aliases: BTreeSet<String>,
    pub comment: String,
    pub enabled: bool,
    pub certificate_arn: String,
    pub ssl_support_method: String,
    pub minimum_protocol_version: String,
    pub http_version: String,
    pub ipv6: bool,
    pub price_class: String,
    pub origin: OriginSpec,
    pub behavior: BehaviorSpec,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginSpec {
    pub domain_name: String,
    /// `http-only`, `match-viewer` or `https-only`.
    pub protocol_policy: String,
    pub http_port: u16,
    pub https_port: u16,
    pub ssl_protocols: BTreeSet<String>,
    pub read_timeout: u32,
    pub keepalive_timeout: u32,
    /// Origin custom headers. CloudFront overwrites a viewer header of the same name with these,
    /// which is what makes `X-Forwarded-Host` trustworthy.
    pub custom_headers: BTreeMap<String, String>,
}

/// The default cache behaviour, in the legacy forwarded-values form (see templates/README.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehaviorSpec {
    /// `allow-all`, `redirect-to-https` or `https-only`.
    pub viewer_protocol_policy: String,
    pub allowed_methods: BTreeSet<String>,
    pub cached_methods: BTreeSet<String>,
    pub compress: bool,
    /// Headers forwarded to the origin (and part of the cache key); `*` means all, Host included.
    pub forward_headers: BTreeSet<String>,
    pub forward_query_strings: Forward,
    pub forward_cookies: Forward,
    pub min_ttl: i64,
    pub default_ttl: i64,
    pub max_ttl: i64,
}

/// A setting override for one host at a proxying CDN, leaving the rest of the zone as it is
/// (Cloudflare: a Configuration Rule in the zone's `http_config_settings` entrypoint ruleset,
/// merged with the rules that are there and marked as sslprov's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRuleSpec {
    pub zone: String,
    /// The host the rule matches (`http.host eq "<host>"`).
    pub host: String,
    /// SSL mode towards the origin for that host: `full` for ESP origins, whose certificates do
    /// not name the tracking domain.
    pub ssl: String,
}

/// The certificate a proxying CDN serves for hosts at its edge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeCertificateSpec {
    pub zone: String,
    /// Host names it must cover (the zone apex included for an advanced pack, as Cloudflare
    /// requires).
    pub hosts: BTreeSet<String>,
    pub source: EdgeCertificateSource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeCertificateSource {
    /// The zone's Universal SSL certificate: apex and first-level names only. Never created or
    /// deleted by sslprov; `list` reports it when it is enabled and covers the hosts.
    Universal,
    /// An advanced certificate pack, ordered for the hosts.
    Advanced,
}

/// What a cache behaviour forwards of query strings or cookies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forward {
    None,
    All,
    Only(BTreeSet<String>),
}

/// What `list` returns of a provider's kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub kind: Kind,
    /// Names the engine wants to know about (certificate domains, distribution aliases, records).
    pub names: BTreeSet<String>,
    /// DNS zones to sweep (records only).
    pub zones: BTreeSet<String>,
    /// Ids the engine already knows from state: a provider may skip describing these when the
    /// list says they are settled.
    pub known_ids: BTreeSet<String>,
}

impl Scope {
    pub fn new(kind: Kind) -> Self {
        Scope { kind, names: BTreeSet::new(), zones: BTreeSet::new(), known_ids: BTreeSet::new() }
    }
}

/// An object that exists, as a provider observed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    /// Provider id: certificate ARN, distribution id, `<zone id>/<name>/<type>` for records.
    pub id: String,
    /// The owned fields, normalised.
    pub desired: Desired,
    pub outputs: Outputs,
}

/// What other steps need from an object, and what tells the engine who made it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outputs {
    /// ARN for AWS objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The CDN endpoint a tracking record points at (`d111.cloudfront.net`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    /// Vendor status as reported (`PENDING_VALIDATION`, `ISSUED`, `InProgress`, `Deployed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// DNS records the vendor needs to validate a certificate. `None` when the provider did not
    /// describe the object (a settled certificate the engine already knows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_records: Option<Vec<RecordSpec>>,
    /// The idempotency token the object was created with, where the vendor shows it (ACM tag
    /// `sslprov:token`). It is how an object whose create response was lost is found again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// What the provider noticed that a person should know before applying (Cloudflare's
    /// Automatic SSL/TLS may raise the zone's mode, a rule sslprov did not write matches the
    /// host, …). Shown in the plan; never compared.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Zone id, for DNS records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
}

/// A stable token for one intended create. Derived from the intent recorded in state before the
/// call, so a re-run of the same intent sends the same token (ACM IdempotencyToken, CloudFront
/// CallerReference).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyToken(pub String);

impl IdempotencyToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Readiness {
    Ready,
    Pending { detail: String },
    Failed { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deletion {
    Done,
    /// Taken out of service; wait for readiness, then call `delete` again.
    InProgress,
}
