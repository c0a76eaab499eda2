//! Front Door's objects as sslprov specifies them: a typed spec per kind, the ARM path and name
//! derived from it, the body sslprov writes, and what ARM answers projected back onto the spec
//! (so that a plain `==` is the drift check and fields sslprov does not own cause no diff).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sslprov_provider::names::derived_name;
use sslprov_provider::{Desired, ErrorKind, Outputs, ProviderError, Readiness, Result};

use crate::NAME;

pub const PROFILE: &str = "profile";
pub const ENDPOINT: &str = "endpoint";
pub const ORIGIN_GROUP: &str = "origin_group";
pub const ORIGIN: &str = "origin";
pub const ROUTE: &str = "route";
pub const CUSTOM_DOMAIN: &str = "custom_domain";
pub const ROUTE_DOMAIN: &str = "route_domain";

/// The tag that marks a profile or endpoint as sslprov's (proxy resources take no tags: their
/// derived `sslprov-` names are the mark).
pub const MARK_TAG: &str = "managed-by";
pub const MARK_VALUE: &str = "sslprov";

/// AFD endpoint names are at most 46 characters (the host name adds a hash); the others take
/// more, but one bound keeps names alike.
const MAX_NAME: usize = 46;

pub const STANDARD: &str = "Standard_AzureFrontDoor";
pub const PREMIUM: &str = "Premium_AzureFrontDoor";

/// Custom domains one profile may hold (Front Door limits, Standard / Premium).
pub fn domain_limit(sku: &str) -> usize {
    if sku == PREMIUM { 500 } else { 100 }
}

fn invalid(op: &'static str, message: String) -> ProviderError {
    ProviderError::new(ErrorKind::InvalidRequest, NAME, op, message)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    pub name: String,
    pub sku: String,
}

/// An endpoint, origin group and route are one per ESP origin in a profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerOriginSpec {
    pub profile: String,
    /// The ESP origin this lane serves: `sendgrid.net`.
    pub origin: String,
}

/// The Host the ESP sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostHeader {
    /// `originHostHeader` left blank: the client's Host (the tracking domain) goes to the ESP.
    Client,
    /// `originHostHeader` = the origin's own host name.
    Origin,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginSpec {
    pub profile: String,
    pub origin: String,
    pub host_header: HostHeader,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ForwardingProtocol {
    HttpsOnly,
    MatchRequest,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub profile: String,
    pub origin: String,
    pub forwarding_protocol: ForwardingProtocol,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomDomainSpec {
    pub profile: String,
    pub host: String,
}

/// A custom domain in the `customDomains` of the route of its ESP origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteDomainSpec {
    pub profile: String,
    pub origin: String,
    pub host: String,
}

/// The profile of every domain of a spec with no brand groups, whose endpoints kept the names
/// they had before brand groups existed.
pub const DEFAULT_PROFILE: &str = "sslprov-frontdoor";

/// An endpoint's host name is its name plus a hash that is the same for the same name in the
/// resource group (`ResourceGroupReuse`): two profiles' endpoints of one origin need names of
/// their own, so the name holds the profile's group.
pub fn endpoint_name(profile: &str, origin: &str) -> String {
    match profile.strip_prefix("sslprov-").filter(|_| profile != DEFAULT_PROFILE) {
        Some(group) => derived_name("ep", &format!("{group}.{origin}"), MAX_NAME),
        None if profile == DEFAULT_PROFILE => derived_name("ep", origin, MAX_NAME),
        None => derived_name("ep", &format!("{profile}.{origin}"), MAX_NAME),
    }
}

pub fn origin_group_name(origin: &str) -> String {
    derived_name("og", origin, MAX_NAME)
}

pub fn origin_name(origin: &str) -> String {
    derived_name("o", origin, MAX_NAME)
}

pub fn route_name(origin: &str) -> String {
    derived_name("rt", origin, MAX_NAME)
}

pub fn custom_domain_name(host: &str) -> String {
    derived_name("cd", host, MAX_NAME)
}

/// Paths below `…/providers/Microsoft.Cdn/`.
pub fn profile_path(profile: &str) -> String {
    format!("profiles/{profile}")
}

pub fn endpoint_path(profile: &str, origin: &str) -> String {
    format!("profiles/{profile}/afdEndpoints/{}", endpoint_name(profile, origin))
}

pub fn origin_group_path(profile: &str, origin: &str) -> String {
    format!("profiles/{profile}/originGroups/{}", origin_group_name(origin))
}

pub fn origin_path(profile: &str, origin: &str) -> String {
    format!("{}/origins/{}", origin_group_path(profile, origin), origin_name(origin))
}

pub fn route_path(profile: &str, origin: &str) -> String {
    format!("{}/routes/{}", endpoint_path(profile, origin), route_name(origin))
}

pub fn custom_domain_path(profile: &str, host: &str) -> String {
    format!("profiles/{profile}/customDomains/{}", custom_domain_name(host))
}

/// A DNS name as specs and ARM compare it.
fn host(h: &str) -> String {
    h.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn name_ok(op: &'static str, what: &str, v: &str) -> Result<()> {
    let ok = !v.is_empty()
        && v.len() <= 260
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !v.starts_with('-')
        && !v.ends_with('-');
    if ok { Ok(()) } else { Err(invalid(op, format!("{what} {v:?}: letters, digits and inner `-` only"))) }
}

/// The normalised form of `d`, or an error that says what to change.
pub fn normalise(d: &Desired, op: &'static str) -> Result<Desired> {
    let out = match d.kind.as_str() {
        PROFILE => {
            let s: ProfileSpec = d.parse(NAME, op)?;
            name_ok(op, "profile name", &s.name)?;
            // The spec's tier, or ARM's SKU name.
            let sku = match s.sku.to_ascii_lowercase().as_str() {
                "standard" | "standard_azurefrontdoor" => STANDARD,
                "premium" | "premium_azurefrontdoor" => PREMIUM,
                _ => return Err(invalid(op, format!("sku {:?}: `standard` or `premium`", s.sku))),
            };
            Desired::of(PROFILE, &ProfileSpec { sku: sku.to_owned(), ..s })
        }
        ENDPOINT | ORIGIN_GROUP => {
            let s: PerOriginSpec = d.parse(NAME, op)?;
            name_ok(op, "profile name", &s.profile)?;
            Desired::of(&d.kind, &PerOriginSpec { profile: s.profile, origin: host(&s.origin) })
        }
        ORIGIN => {
            let s: OriginSpec = d.parse(NAME, op)?;
            name_ok(op, "profile name", &s.profile)?;
            Desired::of(ORIGIN, &OriginSpec { origin: host(&s.origin), ..s })
        }
        ROUTE => {
            let s: RouteSpec = d.parse(NAME, op)?;
            name_ok(op, "profile name", &s.profile)?;
            Desired::of(ROUTE, &RouteSpec { origin: host(&s.origin), ..s })
        }
        CUSTOM_DOMAIN => {
            let s: CustomDomainSpec = d.parse(NAME, op)?;
            name_ok(op, "profile name", &s.profile)?;
            Desired::of(CUSTOM_DOMAIN, &CustomDomainSpec { host: host(&s.host), ..s })
        }
        ROUTE_DOMAIN => {
            let s: RouteDomainSpec = d.parse(NAME, op)?;
            name_ok(op, "profile name", &s.profile)?;
            Desired::of(
                ROUTE_DOMAIN,
                &RouteDomainSpec { profile: s.profile, origin: host(&s.origin), host: host(&s.host) },
            )
        }
        other => {
            return Err(ProviderError::new(
                ErrorKind::Unsupported,
                NAME,
                op,
                format!("Azure Front Door holds no {other}"),
            ));
        }
    };
    Ok(out)
}

/// The ARM path of the object `d` stands for; `None` if a field it needs is not known yet.
pub fn path(d: &Desired) -> Option<String> {
    let s = |f: &str| d.str(f).map(str::to_owned);
    Some(match d.kind.as_str() {
        PROFILE => profile_path(&s("name")?),
        ENDPOINT => endpoint_path(&s("profile")?, &host(&s("origin")?)),
        ORIGIN_GROUP => origin_group_path(&s("profile")?, &host(&s("origin")?)),
        ORIGIN => origin_path(&s("profile")?, &host(&s("origin")?)),
        ROUTE => route_path(&s("profile")?, &host(&s("origin")?)),
        CUSTOM_DOMAIN => custom_domain_path(&s("profile")?, &host(&s("host")?)),
        // The association: the route's path and the domain's.
        ROUTE_DOMAIN => format!(
            "{}#{}",
            route_path(&s("profile")?, &host(&s("origin")?)),
            custom_domain_path(&s("profile")?, &host(&s("host")?))
        ),
        _ => return None,
    })
}

/// The body sslprov writes (PUT) for `d`, normalised. `domains` is a route's `customDomains`
/// (ids), which the associations own.
pub fn body(d: &Desired, scope: &dyn Fn(&str) -> String, op: &'static str, domains: &[String]) -> Result<Value> {
    Ok(match d.kind.as_str() {
        PROFILE => {
            let s: ProfileSpec = d.parse(NAME, op)?;
            json!({"location": "global", "sku": {"name": s.sku}, "tags": {MARK_TAG: MARK_VALUE},
                   "properties": {"originResponseTimeoutSeconds": 60}})
        }
        // The host name's hash is stable per resource group, not per tenant: endpoint names are
        // derived from the origin alone, so two specs (one resource group each) in one tenant
        // would otherwise ask for the same host name.
        ENDPOINT => json!({"location": "global", "tags": {MARK_TAG: MARK_VALUE},
                           "properties": {"enabledState": "Enabled", "autoGeneratedDomainNameLabelScope": "ResourceGroupReuse"}}),
        // One origin: no health probe (Front Door allows none with a single enabled origin), so an
        // ESP that answers its own errors is never marked down.
        ORIGIN_GROUP => json!({"properties": {
            "loadBalancingSettings": {"sampleSize": 4, "successfulSamplesRequired": 3, "additionalLatencyInMilliseconds": 50},
            "sessionAffinityState": "Disabled"}}),
        ORIGIN => {
            let s: OriginSpec = d.parse(NAME, op)?;
            let mut p = json!({"hostName": s.origin, "httpPort": 80, "httpsPort": 443, "priority": 1, "weight": 1000,
                               "enabledState": "Enabled", "enforceCertificateNameCheck": true});
            if s.host_header == HostHeader::Origin {
                p["originHostHeader"] = json!(s.origin);
            }
            json!({"properties": p})
        }
        ROUTE => {
            let s: RouteSpec = d.parse(NAME, op)?;
            let ids: Vec<Value> = domains.iter().map(|id| json!({"id": id})).collect();
            // No cacheConfiguration: no caching, every click reaches the ESP. HTTP and HTTPS
            // accepted, no redirect: old http:// links keep working.
            json!({"properties": {
                "originGroup": {"id": scope(&origin_group_path(&s.profile, &s.origin))},
                "customDomains": ids,
                "supportedProtocols": ["Http", "Https"],
                "patternsToMatch": ["/*"],
                "forwardingProtocol": s.forwarding_protocol,
                "httpsRedirect": "Disabled",
                "linkToDefaultDomain": if domains.is_empty() { "Enabled" } else { "Disabled" },
                "enabledState": "Enabled"}})
        }
        CUSTOM_DOMAIN => {
            let s: CustomDomainSpec = d.parse(NAME, op)?;
            json!({"properties": {"hostName": s.host,
                   "tlsSettings": {"certificateType": "ManagedCertificate", "cipherSuiteSetType": "TLS12_2022"}}})
        }
        other => return Err(invalid(op, format!("no body for {other}"))),
    })
}

fn tagged(v: &Value) -> bool {
    v["tags"][MARK_TAG] == MARK_VALUE
}

/// The last two segments of an id: (`customDomains`, `sslprov-cd-…`).
fn segments(id: &str) -> Vec<&str> {
    id.split('/').collect()
}

/// What ARM answered for a resource, as sslprov sees it: `None` for one not in sslprov's shape
/// (another tool's origin in a group, a route sslprov did not name).
pub fn live(kind: &str, v: &Value) -> Option<sslprov_provider::Live> {
    let id = v["id"].as_str()?.to_owned();
    let p = &v["properties"];
    let seg = segments(&id);
    let profile = seg.iter().position(|s| s.eq_ignore_ascii_case("profiles")).and_then(|i| seg.get(i + 1))?.to_string();
    let name = v["name"].as_str()?;
    let mut outputs = Outputs::default().with("id", &id).with("name", name);
    if let Some(s) = p["provisioningState"].as_str() {
        outputs.set("status", s);
    }
    let (desired, marked) = match kind {
        PROFILE => {
            let spec = ProfileSpec { name: name.to_owned(), sku: v["sku"]["name"].as_str()?.to_owned() };
            (Desired::of(PROFILE, &spec), tagged(v))
        }
        ENDPOINT => {
            let origin = origin_of(name, "ep")?;
            outputs.set("host_name", p["hostName"].as_str());
            (Desired::of(ENDPOINT, &PerOriginSpec { profile, origin }), tagged(v))
        }
        ORIGIN_GROUP => (Desired::of(ORIGIN_GROUP, &PerOriginSpec { profile, origin: origin_of(name, "og")? }), true),
        ORIGIN => {
            let origin = host(p["hostName"].as_str()?);
            if name != origin_name(&origin) {
                return None;
            }
            let header = match p["originHostHeader"].as_str().map(host) {
                None => HostHeader::Client,
                Some(h) if h.is_empty() => HostHeader::Client,
                Some(h) if h == origin => HostHeader::Origin,
                // Something else sends another Host: a drift sslprov corrects.
                Some(_) => return Some(drifted(id, outputs, ORIGIN, &profile, &origin)),
            };
            let owned = p["enforceCertificateNameCheck"] != false && p["enabledState"] != "Disabled";
            if !owned {
                return Some(drifted(id, outputs, ORIGIN, &profile, &origin));
            }
            (Desired::of(ORIGIN, &OriginSpec { profile, origin, host_header: header }), true)
        }
        ROUTE => {
            let origin = origin_of(name, "rt")?;
            let fp = match p["forwardingProtocol"].as_str() {
                Some("HttpsOnly") => ForwardingProtocol::HttpsOnly,
                Some("MatchRequest") | None => ForwardingProtocol::MatchRequest,
                Some(_) => return Some(drifted(id, outputs, ROUTE, &profile, &origin)),
            };
            let owned = p["cacheConfiguration"].is_null()
                && p["httpsRedirect"] != "Enabled"
                && p["enabledState"] != "Disabled"
                && p["patternsToMatch"] == json!(["/*"])
                && protocols(p) == ["Http", "Https"];
            if !owned {
                return Some(drifted(id, outputs, ROUTE, &profile, &origin));
            }
            outputs.set("deployment", p["deploymentStatus"].as_str());
            (Desired::of(ROUTE, &RouteSpec { profile, origin, forwarding_protocol: fp }), true)
        }
        CUSTOM_DOMAIN => {
            let h = host(p["hostName"].as_str()?);
            if name != custom_domain_name(&h) {
                return None;
            }
            let state = p["domainValidationState"].as_str();
            // While Front Door refreshes the token, the one it shows is the old one.
            let token = match state {
                Some("RefreshingValidationToken") => "",
                _ => p["validationProperties"]["validationToken"].as_str().unwrap_or_default(),
            };
            outputs.set("validation_state", state);
            outputs.set("deployment", p["deploymentStatus"].as_str());
            if !token.is_empty() {
                outputs.set("validation", json!({"name": format!("_dnsauth.{h}"), "type": "TXT", "values": [token]}));
            }
            let mut d = Desired::of(CUSTOM_DOMAIN, &CustomDomainSpec { profile, host: h });
            let validating =
                matches!(state, None | Some("Submitting" | "Pending" | "Unknown" | "RefreshingValidationToken"));
            if token.is_empty() && validating {
                // A killed run's domain, made before Front Door gave it a token: listed as not
                // yet what sslprov wants, so that the plan finishes it (the write waits for the
                // token the TXT record needs). Once approved, no token is needed any more.
                d.spec.insert("awaiting_validation_token".into(), json!(true));
            }
            (d, true)
        }
        _ => return None,
    };
    let readiness = readiness(kind, v);
    Some(sslprov_provider::Live { id, desired, outputs, readiness, marked })
}

fn protocols(p: &Value) -> Vec<&str> {
    let mut v: Vec<&str> = p["supportedProtocols"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    v.sort_unstable();
    v
}

/// An object at sslprov's name whose settings differ from sslprov's: listed with a marker field,
/// so that the plan updates it.
fn drifted(id: String, outputs: Outputs, kind: &str, profile: &str, origin: &str) -> sslprov_provider::Live {
    let desired = Desired::of(kind, &json!({"profile": profile, "origin": origin, "drifted": true}));
    sslprov_provider::Live { id, desired, outputs, readiness: Readiness::Ready, marked: true }
}

/// The origin a per-origin name was derived from is not recoverable from a hashed name, but every
/// name sslprov derives is `sslprov-<kind>-<slug>`; the spec's origin is matched by name instead
/// (see [`crate::provider`]): here the slug stands in until then.
fn origin_of(name: &str, kind: &str) -> Option<String> {
    name.strip_prefix(&format!("sslprov-{kind}-")).map(str::to_owned)
}

/// How far a custom domain is from serving: Approved and deployed is ready; a validation Front
/// Door gave up on will never be.
pub fn readiness(kind: &str, v: &Value) -> Readiness {
    let p = &v["properties"];
    let provisioning = p["provisioningState"].as_str().unwrap_or("Succeeded");
    if provisioning == "Failed" {
        return Readiness::Failed {
            reason: format!("Front Door could not write {} (provisioningState Failed)", v["name"]),
        };
    }
    if kind != CUSTOM_DOMAIN {
        return Readiness::Ready;
    }
    let h = p["hostName"].as_str().unwrap_or_default();
    let state = p["domainValidationState"].as_str().unwrap_or("Unknown");
    let deployed = p["deploymentStatus"].as_str().unwrap_or("NotStarted");
    match state {
        "Approved" if deployed == "Succeeded" => Readiness::Ready,
        "Approved" => {
            Readiness::Pending { detail: format!("{h}: validated; managed certificate deployment {deployed}") }
        }
        // Still serving, but the managed certificate renews only once the domain is validated
        // again, with a new token (azure-front-door.md §4.4): the engine restarts it in place.
        "PendingRevalidation" => Readiness::Expiring {
            reason: format!(
                "Front Door asks to validate {h} again (domainValidationState PendingRevalidation) before it renews \
                 the managed certificate: sslprov asks for a new token and writes it to TXT _dnsauth.{h}"
            ),
        },
        "Rejected" | "TimedOut" | "InternalError" => Readiness::Failed {
            reason: format!(
                "Front Door did not validate {h} (domainValidationState {state}): check that TXT _dnsauth.{h} holds \
                 the custom domain's validation token at the domain's DNS host and that no CAA record forbids \
                 digicert.com; `sslprov apply` asks Front Door for a new token"
            ),
        },
        other => Readiness::Pending { detail: format!("{h}: domain validation {other} (TXT _dnsauth.{h})") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_derived_and_bounded() {
        assert_eq!(endpoint_name(DEFAULT_PROFILE, "sendgrid.net"), "sslprov-ep-sendgrid-net");
        assert_eq!(endpoint_name("sslprov-retail", "sendgrid.net"), "sslprov-ep-retail-sendgrid-net");
        assert!(route_name("r.eu-central-1.awstrack.me").starts_with("sslprov-rt-r-eu-central-1-"));
        assert!(route_name("r.eu-central-1.awstrack.me").len() <= MAX_NAME);
        assert_eq!(custom_domain_name("click.acme.com"), "sslprov-cd-click-acme-com");
        assert!(custom_domain_name(&format!("{}.acme.com", "a".repeat(60))).len() <= MAX_NAME);
    }

    #[test]
    fn a_rejected_validation_says_what_to_check() {
        let v = json!({"name": "d", "properties": {"hostName": "click.acme.com", "provisioningState": "Succeeded",
                       "domainValidationState": "Rejected", "deploymentStatus": "NotStarted"}});
        let Readiness::Failed { reason } = readiness(CUSTOM_DOMAIN, &v) else { panic!("not failed") };
        assert!(reason.starts_with("Front Door did not validate click.acme.com (domainValidationState Rejected)"));
        let approved = json!({"properties": {"hostName": "h", "domainValidationState": "Approved", "deploymentStatus": "Succeeded"}});
        assert_eq!(readiness(CUSTOM_DOMAIN, &approved), Readiness::Ready);
    }
}
