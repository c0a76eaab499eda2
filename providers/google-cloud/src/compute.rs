//! The load balancer's objects in Compute Engine v1 (all global): typed specs, what is sent for
//! them, how a listed object is projected back onto its spec, and the host rules sslprov keeps
//! inside the shared URL map.
//!
//! Every object sslprov makes carries `description: "sslprov: …"` (its mark); for the NEG and
//! the backend service, whose names are derived from the ESP origin, the description also holds
//! the origin, so that a listed one projects back onto its spec exactly.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sslprov_provider::{Desired, ErrorKind, Live, Outputs, ProviderError, Result};

use crate::NAME;
use crate::names::{last, resource_name};

pub(crate) const MARK: &str = "sslprov";
/// The header sslprov sets to the tracking domain on every request the load balancer forwards.
pub const FORWARDED_HOST: &str = "X-Forwarded-Host";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compute {
    Address,
    SslPolicy,
    Neg,
    Backend,
    UrlMap,
    HttpsProxy,
    HttpProxy,
    ForwardingRule,
}

/// The API's operation names, as calls are counted.
pub(crate) struct Ops {
    pub insert: &'static str,
    pub list: &'static str,
    pub get: &'static str,
    pub patch: &'static str,
    pub delete: &'static str,
}

macro_rules! ops {
    ($r:literal) => {
        Ops {
            insert: concat!($r, ".insert"),
            list: concat!($r, ".list"),
            get: concat!($r, ".get"),
            patch: concat!($r, ".patch"),
            delete: concat!($r, ".delete"),
        }
    };
}

impl Compute {
    pub fn of(kind: &str) -> Option<Compute> {
        Some(match kind {
            crate::ADDRESS => Compute::Address,
            crate::SSL_POLICY => Compute::SslPolicy,
            crate::INTERNET_NEG => Compute::Neg,
            crate::BACKEND_SERVICE => Compute::Backend,
            crate::URL_MAP => Compute::UrlMap,
            crate::TARGET_HTTPS_PROXY => Compute::HttpsProxy,
            crate::TARGET_HTTP_PROXY => Compute::HttpProxy,
            crate::FORWARDING_RULE => Compute::ForwardingRule,
            _ => return None,
        })
    }

    pub fn kind(self) -> &'static str {
        match self {
            Compute::Address => crate::ADDRESS,
            Compute::SslPolicy => crate::SSL_POLICY,
            Compute::Neg => crate::INTERNET_NEG,
            Compute::Backend => crate::BACKEND_SERVICE,
            Compute::UrlMap => crate::URL_MAP,
            Compute::HttpsProxy => crate::TARGET_HTTPS_PROXY,
            Compute::HttpProxy => crate::TARGET_HTTP_PROXY,
            Compute::ForwardingRule => crate::FORWARDING_RULE,
        }
    }

    /// The path below `projects/{p}/`.
    pub fn collection(self) -> &'static str {
        match self {
            Compute::Address => "global/addresses",
            Compute::SslPolicy => "global/sslPolicies",
            Compute::Neg => "global/networkEndpointGroups",
            Compute::Backend => "global/backendServices",
            Compute::UrlMap => "global/urlMaps",
            Compute::HttpsProxy => "global/targetHttpsProxies",
            Compute::HttpProxy => "global/targetHttpProxies",
            Compute::ForwardingRule => "global/forwardingRules",
        }
    }

    pub fn ops(self) -> Ops {
        match self {
            Compute::Address => ops!("globalAddresses"),
            Compute::SslPolicy => ops!("sslPolicies"),
            Compute::Neg => ops!("globalNetworkEndpointGroups"),
            Compute::Backend => ops!("backendServices"),
            Compute::UrlMap => ops!("urlMaps"),
            Compute::HttpsProxy => ops!("targetHttpsProxies"),
            Compute::HttpProxy => ops!("targetHttpProxies"),
            Compute::ForwardingRule => ops!("globalForwardingRules"),
        }
    }
}

/// A global external IPv4 address (Premium tier): the load balancer's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressSpec {
    pub name: String,
}

/// TLS policy of the HTTPS proxy: `MODERN` with TLS 1.2 at least.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SslPolicySpec {
    pub name: String,
    pub profile: String,
    pub min_tls_version: String,
}

/// A global Internet NEG with its one endpoint, the ESP origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegSpec {
    pub fqdn: String,
    pub port: u16,
}

/// One backend service per ESP origin: HTTPS to the origin's NEG, Cloud CDN off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSpec {
    pub origin: String,
    /// The NEG's self link.
    pub neg: String,
    pub timeout_sec: u32,
}

/// The URL map; its host rules are `host_rule` objects of their own. A request for a host it
/// does not serve is redirected to `default_redirect` (a URL map must have a default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlMapSpec {
    pub name: String,
    pub default_redirect: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpsProxySpec {
    pub name: String,
    /// Self links of the URL map and SSL policy.
    pub url_map: String,
    pub ssl_policy: String,
    /// The certificate map's id.
    pub certificate_map: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProxySpec {
    pub name: String,
    pub url_map: String,
}

/// A global forwarding rule of the external Application Load Balancer (`EXTERNAL_MANAGED`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardingRuleSpec {
    pub name: String,
    pub ip: String,
    pub port: u16,
    /// The target proxy's self link.
    pub target: String,
}

/// One tracking domain in the shared URL map: a host rule and its path matcher, which sends the
/// domain to its ESP's backend service and sets `X-Forwarded-Host` to the domain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRuleSpec {
    /// The URL map's name.
    pub url_map: String,
    pub host: String,
    /// The backend service's self link.
    pub backend: String,
    pub forwarded_host: String,
}

fn invalid(op: &'static str, message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, NAME, op, message)
}

fn valid_name(op: &'static str, name: &str) -> Result<()> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(op, format!("{name:?} is not a Compute name ([a-z]([-a-z0-9]{{0,61}}[a-z0-9])?)")))
    }
}

fn host(h: &str) -> String {
    h.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Checks and normalises a spec of kind `c`.
pub(crate) fn normalise(c: Compute, d: &Desired, op: &'static str) -> Result<Desired> {
    let kind = c.kind();
    let out = match c {
        Compute::Address => {
            let s: AddressSpec = d.parse(NAME, op)?;
            valid_name(op, &s.name)?;
            Desired::of(kind, &s)
        }
        Compute::SslPolicy => {
            let s: SslPolicySpec = d.parse(NAME, op)?;
            valid_name(op, &s.name)?;
            if !matches!(s.min_tls_version.as_str(), "TLS_1_0" | "TLS_1_1" | "TLS_1_2" | "TLS_1_3") {
                return Err(invalid(op, format!("min_tls_version {:?}: TLS_1_0 … TLS_1_3", s.min_tls_version)));
            }
            Desired::of(kind, &s)
        }
        Compute::Neg => {
            let s: NegSpec = d.parse(NAME, op)?;
            Desired::of(kind, &NegSpec { fqdn: host(&s.fqdn), ..s })
        }
        Compute::Backend => {
            let s: BackendSpec = d.parse(NAME, op)?;
            Desired::of(kind, &BackendSpec { origin: host(&s.origin), ..s })
        }
        Compute::UrlMap => {
            let s: UrlMapSpec = d.parse(NAME, op)?;
            valid_name(op, &s.name)?;
            Desired::of(kind, &UrlMapSpec { default_redirect: host(&s.default_redirect), ..s })
        }
        Compute::HttpsProxy => {
            let s: HttpsProxySpec = d.parse(NAME, op)?;
            valid_name(op, &s.name)?;
            Desired::of(kind, &s)
        }
        Compute::HttpProxy => {
            let s: HttpProxySpec = d.parse(NAME, op)?;
            valid_name(op, &s.name)?;
            Desired::of(kind, &s)
        }
        Compute::ForwardingRule => {
            let s: ForwardingRuleSpec = d.parse(NAME, op)?;
            valid_name(op, &s.name)?;
            if s.port != 80 && s.port != 443 {
                return Err(invalid(op, format!("port {}: a load balancer serves 80 and 443", s.port)));
            }
            Desired::of(kind, &s)
        }
    };
    Ok(out)
}

/// The object's Compute name.
pub(crate) fn name(c: Compute, d: &Desired) -> Option<String> {
    match c {
        Compute::Neg => d.str("fqdn").map(|f| resource_name("neg", &host(f))),
        Compute::Backend => d.str("origin").map(|o| resource_name("be", &host(o))),
        _ => d.str("name").map(str::to_owned),
    }
}

/// `//certificatemanager.googleapis.com/projects/{p}/locations/global/certificateMaps/{m}`.
fn certificate_map_ref(project: &str, id: &str) -> String {
    format!("//certificatemanager.googleapis.com/projects/{project}/locations/global/certificateMaps/{id}")
}

/// The body of an insert of `d` (normalised).
pub(crate) fn body(c: Compute, d: &Desired, project: &str, op: &'static str) -> Result<Value> {
    let name = name(c, d).ok_or_else(|| invalid(op, "no name".into()))?;
    let mut b = match c {
        Compute::Address => json!({"addressType": "EXTERNAL", "ipVersion": "IPV4", "networkTier": "PREMIUM"}),
        Compute::SslPolicy => {
            let s: SslPolicySpec = d.parse(NAME, op)?;
            json!({"profile": s.profile, "minTlsVersion": s.min_tls_version})
        }
        Compute::Neg => {
            let s: NegSpec = d.parse(NAME, op)?;
            json!({"networkEndpointType": "INTERNET_FQDN_PORT", "defaultPort": s.port,
                   "description": format!("{MARK}: {}:{}", s.fqdn, s.port)})
        }
        Compute::Backend => {
            let s: BackendSpec = d.parse(NAME, op)?;
            backend_body(&s)
        }
        Compute::UrlMap => {
            let s: UrlMapSpec = d.parse(NAME, op)?;
            json!({"defaultUrlRedirect": redirect(&s.default_redirect)})
        }
        Compute::HttpsProxy => {
            let s: HttpsProxySpec = d.parse(NAME, op)?;
            json!({"urlMap": s.url_map, "sslPolicy": s.ssl_policy,
                   "certificateMap": certificate_map_ref(project, &s.certificate_map)})
        }
        Compute::HttpProxy => {
            let s: HttpProxySpec = d.parse(NAME, op)?;
            json!({"urlMap": s.url_map})
        }
        Compute::ForwardingRule => {
            let s: ForwardingRuleSpec = d.parse(NAME, op)?;
            json!({"IPAddress": s.ip, "IPProtocol": "TCP", "portRange": format!("{0}-{0}", s.port),
                   "target": s.target, "loadBalancingScheme": "EXTERNAL_MANAGED", "networkTier": "PREMIUM"})
        }
    };
    b["name"] = json!(name);
    if b.get("description").is_none() {
        b["description"] = json!(MARK);
    }
    Ok(b)
}

fn backend_body(s: &BackendSpec) -> Value {
    json!({
        "description": format!("{MARK}: {}", s.origin),
        "protocol": "HTTPS",
        "loadBalancingScheme": "EXTERNAL_MANAGED",
        "enableCDN": false,
        "timeoutSec": s.timeout_sec,
        "backends": [{"group": s.neg}],
    })
}

fn redirect(host: &str) -> Value {
    json!({"hostRedirect": host, "redirectResponseCode": "FOUND", "stripQuery": false})
}

/// What sslprov owns of a listed object, as a spec; `None` for one not in sslprov's shape.
pub(crate) fn project(c: Compute, item: &Value) -> Option<Desired> {
    let s = |f: &str| item[f].as_str().map(str::to_owned);
    let kind = c.kind();
    let described = |d: &str| d.strip_prefix(&format!("{MARK}: ")).map(str::to_owned);
    Some(match c {
        Compute::Address => Desired::of(kind, &AddressSpec { name: s("name")? }),
        Compute::SslPolicy => Desired::of(
            kind,
            &SslPolicySpec {
                name: s("name")?,
                profile: s("profile").unwrap_or_else(|| "COMPATIBLE".into()),
                min_tls_version: s("minTlsVersion").unwrap_or_else(|| "TLS_1_0".into()),
            },
        ),
        Compute::Neg => {
            let (fqdn, port) =
                described(&s("description")?)?.rsplit_once(':').map(|(f, p)| (f.to_owned(), p.to_owned()))?;
            Desired::of(kind, &NegSpec { fqdn, port: port.parse().ok()? })
        }
        Compute::Backend => Desired::of(
            kind,
            &BackendSpec {
                origin: described(&s("description")?)?,
                neg: item["backends"][0]["group"].as_str().unwrap_or_default().to_owned(),
                timeout_sec: item["timeoutSec"].as_u64().and_then(|t| u32::try_from(t).ok()).unwrap_or(30),
            },
        ),
        Compute::UrlMap => Desired::of(
            kind,
            &UrlMapSpec {
                name: s("name")?,
                default_redirect: item["defaultUrlRedirect"]["hostRedirect"].as_str().unwrap_or_default().to_owned(),
            },
        ),
        Compute::HttpsProxy => Desired::of(
            kind,
            &HttpsProxySpec {
                name: s("name")?,
                url_map: s("urlMap").unwrap_or_default(),
                ssl_policy: s("sslPolicy").unwrap_or_default(),
                certificate_map: last(&s("certificateMap").unwrap_or_default()).to_owned(),
            },
        ),
        Compute::HttpProxy => {
            Desired::of(kind, &HttpProxySpec { name: s("name")?, url_map: s("urlMap").unwrap_or_default() })
        }
        Compute::ForwardingRule => Desired::of(
            kind,
            &ForwardingRuleSpec {
                name: s("name")?,
                ip: s("IPAddress").unwrap_or_default(),
                port: s("portRange")?.split('-').next()?.parse().ok()?,
                target: s("target").unwrap_or_default(),
            },
        ),
    })
}

/// A listed object as the engine sees it; `None` for one not in sslprov's shape.
pub(crate) fn live(c: Compute, item: &Value) -> Option<Live> {
    let desired = project(c, item)?;
    let name = item["name"].as_str()?.to_owned();
    let mut outputs = Outputs::default().with("name", &name).with("self_link", item["selfLink"].as_str());
    if c == Compute::Address {
        outputs.set("ip", item["address"].as_str());
    }
    Some(Live {
        id: name,
        desired,
        outputs,
        readiness: Default::default(),
        marked: item["description"].as_str().is_some_and(|d| d.starts_with(MARK)),
    })
}

/// How an object is changed in place: the method, path below its own URL, and body; `None`
/// where the kind changes only by replacement.
pub(crate) fn update(
    c: Compute,
    current: &Value,
    d: &Desired,
    project: &str,
    op: &'static str,
) -> Result<Option<(&'static str, &'static str, Value)>> {
    let mut b = body(c, d, project, op)?;
    let fingerprint = current["fingerprint"].clone();
    Ok(match c {
        Compute::Address | Compute::Neg => None,
        Compute::ForwardingRule => {
            Some(("globalForwardingRules.setTarget", "setTarget", json!({"target": b["target"]})))
        }
        Compute::SslPolicy | Compute::Backend | Compute::UrlMap | Compute::HttpsProxy | Compute::HttpProxy => {
            b["fingerprint"] = fingerprint;
            if c == Compute::UrlMap {
                // Host rules are the host_rule objects': keep what the map holds.
                b["hostRules"] = current["hostRules"].clone();
                b["pathMatchers"] = current["pathMatchers"].clone();
            }
            let patch: &'static str = c.ops().patch;
            Some((patch, "", b))
        }
    })
}

/// The path matcher of `host`'s rule.
pub(crate) fn matcher_name(host: &str) -> String {
    resource_name("host", host)
}

/// The host rules sslprov keeps in a listed URL map.
pub(crate) fn host_rules(map: &Value) -> Vec<Live> {
    let Some(url_map) = map["name"].as_str() else { return Vec::new() };
    let matchers = map["pathMatchers"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    for rule in map["hostRules"].as_array().into_iter().flatten() {
        let (Some(pm), Some(hosts)) = (rule["pathMatcher"].as_str(), rule["hosts"].as_array()) else { continue };
        let [h] = hosts.as_slice() else { continue };
        let Some(h) = h.as_str() else { continue };
        let Some(m) = matchers.iter().find(|m| m["name"] == pm) else { continue };
        let forwarded = m["headerAction"]["requestHeadersToAdd"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| {
                a["headerName"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(FORWARDED_HOST)) && a["replace"] == true
            })
            .and_then(|a| a["headerValue"].as_str())
            .unwrap_or_default();
        let spec = HostRuleSpec {
            url_map: url_map.to_owned(),
            host: h.to_owned(),
            backend: m["defaultService"].as_str().unwrap_or_default().to_owned(),
            forwarded_host: forwarded.to_owned(),
        };
        out.push(Live {
            id: format!("{url_map}/{h}"),
            desired: Desired::of(crate::HOST_RULE, &spec),
            outputs: Outputs::default().with("path_matcher", pm),
            readiness: Default::default(),
            marked: pm == matcher_name(h),
        });
    }
    out
}

/// `map` with `rule` in it (replacing what the map held for its host), or without the host
/// (`rule: None` for `host`).
pub(crate) fn with_host_rule(map: &Value, host: &str, rule: Option<&HostRuleSpec>) -> Value {
    let pm = matcher_name(host);
    let mut rules: Vec<Value> = map["hostRules"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            r["pathMatcher"] != pm.as_str() && !r["hosts"].as_array().is_some_and(|h| h.iter().any(|x| x == host))
        })
        .collect();
    let mut matchers: Vec<Value> = map["pathMatchers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["name"] != pm.as_str())
        .collect();
    if let Some(r) = rule {
        rules.push(json!({"hosts": [host], "pathMatcher": pm}));
        matchers.push(json!({
            "name": pm,
            "defaultService": r.backend,
            "headerAction": {"requestHeadersToAdd": [
                {"headerName": FORWARDED_HOST, "headerValue": r.forwarded_host, "replace": true}
            ]},
        }));
    }
    json!({
        "name": map["name"],
        "fingerprint": map["fingerprint"],
        "hostRules": rules,
        "pathMatchers": matchers,
    })
}

pub(crate) fn host_rule_spec(d: &Desired, op: &'static str) -> Result<HostRuleSpec> {
    let s: HostRuleSpec = d.parse(NAME, op)?;
    Ok(HostRuleSpec { host: host(&s.host), forwarded_host: host(&s.forwarded_host), ..s })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_object_projects_onto_the_spec_it_was_made_from() {
        for (c, spec) in [
            (Compute::Neg, json!({"fqdn": "spgo.io", "port": 443})),
            (Compute::Backend, json!({"origin": "spgo.io", "neg": "https://x/negs/n", "timeout_sec": 30})),
            (Compute::ForwardingRule, json!({"name": "sslprov-https", "ip": "34.1.2.3", "port": 443, "target": "t"})),
            (Compute::HttpsProxy, json!({"name": "p", "url_map": "u", "ssl_policy": "s", "certificate_map": "m"})),
            (Compute::UrlMap, json!({"name": "sslprov-lb", "default_redirect": "example.com"})),
        ] {
            let d = Desired { kind: c.kind().into(), spec: spec.as_object().cloned().unwrap_or_default() };
            let d = normalise(c, &d, "test").expect("valid");
            let b = body(c, &d, "p", "test").expect("body");
            assert_eq!(project(c, &b), Some(d), "{c:?}");
        }
    }

    #[test]
    fn host_rules_are_added_replaced_and_removed_leaving_others() {
        let rule = |h: &str, be: &str| HostRuleSpec {
            url_map: "lb".into(),
            host: h.into(),
            backend: be.into(),
            forwarded_host: h.into(),
        };
        let map = json!({"name": "lb", "fingerprint": "f1"});
        let map = with_host_rule(&map, "a.com", Some(&rule("a.com", "be1")));
        let map = with_host_rule(&map, "b.com", Some(&rule("b.com", "be1")));
        let map = with_host_rule(&map, "a.com", Some(&rule("a.com", "be2")));
        let found: Vec<HostRuleSpec> =
            host_rules(&map).iter().map(|l| l.desired.parse("t", "t").expect("spec")).collect();
        assert_eq!(found, [rule("b.com", "be1"), rule("a.com", "be2")]);
        let map = with_host_rule(&map, "b.com", None);
        assert_eq!(host_rules(&map).len(), 1);
        assert_eq!(map["fingerprint"], "f1", "the write carries the fingerprint it read");
    }
}
