//! The fields of a distribution sslprov owns, as the templates render them.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A CDN distribution in front of one ESP origin. Kind `distribution`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistributionSpec {
    pub aliases: BTreeSet<String>,
    /// `sslprov: <key> (<tracking domain>)`: sslprov's mark, and how a distribution whose create
    /// answer was lost is found again.
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
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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

/// What a cache behaviour forwards of query strings or cookies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Forward {
    None,
    All,
    Only(BTreeSet<String>),
}
