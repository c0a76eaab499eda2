//! A CDN template: the resource graph of one tracking domain, and what `verify` must know of the
//! CDN.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::render;

/// The part every CDN template has: the tracking domain's own DNS record, which moves traffic onto
/// the CDN. It is written last, after every readiness gate, and it is the record an HTTP-era setup
/// already has.
pub const TRACKING: &str = "tracking_record";

/// The provider name a template uses for "the domain's DNS host".
pub const DNS: &str = "dns";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdnTemplate {
    /// What people call it: `CloudFront`.
    pub name: String,
    #[serde(default)]
    pub requires: Requires,
    /// The domain options (spec fields) this CDN honours, such as `advanced_certificate`.
    #[serde(default)]
    pub options: Vec<String>,
    /// What a domain option means when a domain does not set it (`brand_group: frontdoor`): what
    /// `${domain.<option>}` renders then.
    #[serde(default)]
    pub option_defaults: BTreeMap<String, String>,
    /// Names this CDN's endpoints live under (each name and every name below it), so that
    /// `sslprov init` can tell a CNAME already pointing at the CDN from an HTTP-era one.
    #[serde(default)]
    pub dns_targets: Vec<String>,
    /// In the order they are made.
    pub resources: Vec<ResourceTemplate>,
    pub verify: CdnVerify,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// The DNS hosts this CDN works with; empty: any.
    #[serde(default)]
    pub dns: Vec<String>,
    /// No CDN at all: the ESP serves HTTPS itself, so only an ESP with `managed_https` fits.
    #[serde(default)]
    pub managed_https: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceTemplate {
    /// The address suffix: `<domain key>.<part>`.
    pub part: String,
    /// A provider's name, or `dns` for the domain's DNS host.
    pub provider: String,
    pub kind: String,
    /// Parts made before this one (and destroyed after it), besides those its spec references.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Parts that must be ready (a certificate issued, a CDN deployed) before this one is written.
    #[serde(default)]
    pub ready: Vec<String>,
    /// What to do with an object of the same identity that sslprov did not make.
    #[serde(default)]
    pub existing: Option<Existing>,
    /// A part made once and used by every domain whose identity renders the same, rather than
    /// once per domain: `lb` (one for every domain of the CDN), `${esp.origin}` (one per ESP
    /// origin). Its address is `<part>@<identity>`; it is deleted once no domain left uses it.
    /// The identity and the spec may use spec values (`${domain.*}`, `${esp.*}`) and other shared
    /// parts only, so what uses a shared object is known from the spec alone.
    #[serde(default)]
    pub shared: Option<String>,
    /// A `${domain.*}` or `${esp.*}` reference: the part exists only for domains where it has a
    /// value (a record only some ESPs ask for).
    #[serde(default)]
    pub when: Option<String>,
    /// The spec, with `${…}` references (see [`render`]).
    pub spec: Value,
}

/// An object of the resource's identity that was there before sslprov.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Existing {
    /// Take it over (an HTTP-era tracking record): updated in place; destroy deletes it, or puts
    /// it back as it was with `--restore-adopted`.
    Adopt,
    /// Use it as it is (a validation record another certificate of the name asked for, a
    /// certificate that already covers the host); changed only if it differs; destroy leaves it.
    Share,
}

impl ResourceTemplate {
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Every part this one needs made first: declared, awaited, and referenced.
    pub fn dependencies(&self) -> BTreeSet<String> {
        let mut deps: BTreeSet<String> = self.depends_on.iter().chain(&self.ready).cloned().collect();
        deps.extend(render::references(&self.spec).into_iter().filter(|r| r != "domain" && r != "esp"));
        deps
    }
}

impl CdnTemplate {
    pub fn option_default(&self, option: &str) -> Option<String> {
        self.option_defaults.get(option).cloned()
    }

    pub fn resource(&self, part: &str) -> Option<&ResourceTemplate> {
        self.resources.iter().find(|r| r.part == part)
    }

    /// The resources in the order apply makes them: each after what it depends on, otherwise as
    /// written. Destroy goes the other way.
    pub fn order(&self) -> Vec<&ResourceTemplate> {
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::new();
        while out.len() < self.resources.len() {
            let next = self.resources.iter().find(|r| {
                !done.contains(r.part.as_str()) && r.dependencies().iter().all(|d| done.contains(d.as_str()))
            });
            // `check` refuses cycles; a template that has one still orders every resource.
            let next = next.or_else(|| self.resources.iter().find(|r| !done.contains(r.part.as_str())));
            let Some(r) = next else { break };
            done.insert(&r.part);
            out.push(r);
        }
        out
    }

    /// The parts `part` must wait for, directly or through what it depends on.
    pub fn ready_closure(&self, part: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo = vec![part.to_owned()];
        while let Some(p) = todo.pop() {
            let Some(r) = self.resource(&p) else { continue };
            for d in r.dependencies() {
                if r.ready.contains(&d) {
                    out.insert(d.clone());
                }
                todo.push(d);
            }
        }
        out
    }

    /// What the tests and the loader hold every CDN template to.
    pub fn check(&self) -> Result<(), String> {
        if let Some(o) = self.option_defaults.keys().find(|o| !self.options.contains(o)) {
            return Err(format!("option_defaults: `{o}` is not among the template's options"));
        }
        let parts: BTreeSet<&str> = self.resources.iter().map(|r| r.part.as_str()).collect();
        if parts.len() != self.resources.len() {
            return Err("a part is declared twice".into());
        }
        for r in &self.resources {
            let mut when = r.when.iter().flat_map(|w| render::references(&Value::String(w.clone())));
            if let Some(bad) = when.find(|w| w != "domain" && w != "esp") {
                return Err(format!("{}: `when` may reference the domain or the ESP only, not `{bad}`", r.part));
            }
            if r.part == TRACKING && r.when.is_some() {
                return Err(format!("`{TRACKING}` is in every domain: it takes no `when`"));
            }
            for d in r.dependencies() {
                if !parts.contains(d.as_str()) {
                    return Err(format!(
                        "{} depends on or references `{d}`, which is no part of this template",
                        r.part
                    ));
                }
            }
        }
        let order = self.order();
        for (i, r) in order.iter().enumerate() {
            if let Some(late) = r.dependencies().iter().find(|d| order[i..].iter().any(|o| &o.part == *d)) {
                return Err(format!("{} and {late} depend on each other", r.part));
            }
        }
        for r in self.resources.iter().filter(|r| r.is_shared()) {
            self.check_shared(r)?;
        }
        let Some(tracking) = self.resource(TRACKING) else { return Err(format!("no `{TRACKING}` part")) };
        if tracking.is_shared() {
            return Err(format!("`{TRACKING}` cannot be shared: each domain has its own"));
        }
        if tracking.provider != DNS || tracking.kind != sslprov_provider::RECORD {
            return Err(format!("`{TRACKING}` must be a `record` of provider `dns`"));
        }
        if order.last().map(|r| r.part.as_str()) != Some(TRACKING) {
            return Err(format!("`{TRACKING}` must come last: it moves traffic onto the CDN"));
        }
        Ok(())
    }
}

impl CdnTemplate {
    /// A shared part uses spec values and other shared parts only (what uses it must be known
    /// from the spec alone, and it must be the same object for every domain that renders its
    /// identity), and only shared parts whose identity its own determines: a part made once per
    /// load balancer cannot use one made once per ESP origin.
    fn check_shared(&self, r: &ResourceTemplate) -> Result<(), String> {
        let identity = r.shared.as_deref().unwrap_or_default();
        let id_value = Value::String(identity.to_owned());
        if identity.trim().is_empty() {
            return Err(format!("{}: `shared` needs an identity (`lb`, `${{esp.origin}}`)", r.part));
        }
        if let Some(bad) = render::references(&id_value).into_iter().find(|root| root != "domain" && root != "esp") {
            return Err(format!(
                "{}: its identity `{identity}` references `{bad}`; an identity may use `${{domain.*}}` and `${{esp.*}}` only",
                r.part
            ));
        }
        let own = render::reference_paths(&id_value);
        for d in r.dependencies() {
            let Some(dep) = self.resource(&d) else { continue };
            let Some(dep_identity) = dep.shared.as_deref() else {
                return Err(format!(
                    "{} is shared (one per `{identity}`) but needs `{d}`, a part of each domain: a shared part may use \
                     spec values and other shared parts only",
                    r.part
                ));
            };
            let theirs = render::reference_paths(&Value::String(dep_identity.to_owned()));
            if !theirs.is_subset(&own) {
                return Err(format!(
                    "{} (one per `{identity}`) needs `{d}` (one per `{dep_identity}`), which its own identity does not \
                     determine",
                    r.part
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CdnVerify {
    /// How the tracking name resolves through this CDN.
    pub dns: DnsShape,
    /// What the CDN calls the endpoint the tracking record points at (`distribution`).
    #[serde(default = "endpoint")]
    pub endpoint: String,
    /// How the CDN's own error pages look: any matcher that matches.
    pub error_page: Vec<Matcher>,
    /// How the CDN's own redirect of plain HTTP to HTTPS looks (viewer policy "Redirect HTTP to
    /// HTTPS": old `http://` links still work, one hop later).
    pub https_redirect: Vec<Matcher>,
    /// The fix for the CDN's error page, by status; `other` for the rest.
    pub error_fix: BTreeMap<String, String>,
    pub forwarded_host: ForwardedHost,
    pub certificate: CertificateFixes,
}

fn endpoint() -> String {
    "CDN endpoint".into()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsShape {
    /// A CNAME to the endpoint the tracking record points at.
    Cname,
    /// A/AAAA records holding the endpoint's own addresses (a load balancer with an IP and no
    /// name): no CNAME.
    Address,
    /// The CDN's own addresses and no CNAME: a proxied record.
    Proxied,
}

/// An answer the CDN made itself. Every condition given must hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// An inclusive range of statuses.
    #[serde(default)]
    pub status: Option<[u16; 2]>,
    /// Headers whose value contains the text (case-insensitive).
    #[serde(default)]
    pub header: BTreeMap<String, String>,
    /// A header that must be absent.
    #[serde(default)]
    pub without_header: Option<String>,
    /// Text the body (its first 64 KiB) contains.
    #[serde(default)]
    pub body_contains: Option<String>,
}

impl Matcher {
    pub fn matches(&self, status: u16, header: impl Fn(&str) -> Option<String>, body: &[u8]) -> bool {
        self.status.is_none_or(|[lo, hi]| (lo..=hi).contains(&status))
            && self.body_contains.as_deref().is_none_or(|t| String::from_utf8_lossy(body).contains(t))
            && self.header.iter().all(|(name, text)| {
                header(name).is_some_and(|v| v.to_ascii_lowercase().contains(&text.to_ascii_lowercase()))
            })
            && self.without_header.as_deref().is_none_or(|name| header(name).is_none())
    }
}

/// What the CDN does with a client's `X-Forwarded-Host`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardedHost {
    /// Whether the CDN replaces it before the origin sees it.
    pub overwritten: bool,
    /// What the report says the CDN does.
    pub says: String,
    /// Where it is overwritten: the fix when a forged value got through anyway
    /// (`{tracking_domain}` is filled in).
    #[serde(default)]
    pub fix: Option<String>,
}

/// The fixes `verify` gives for the certificate the CDN serves (`{host}` is filled in).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateFixes {
    /// The CDN answers no TLS handshake for the name.
    pub no_tls: String,
    /// The chain is not trusted.
    pub untrusted: String,
    pub wrong_names: String,
    pub expired: String,
    pub renewal: String,
}
