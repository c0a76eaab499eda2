//! The ESP and CDN knowledge in `templates/`, embedded in the binary, and its rendering into the
//! resources one tracking domain needs.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;
use sslprov_provider::{
    BehaviorSpec, CertificateSpec, ConfigRuleSpec, DistributionSpec, EdgeCertificateSource, EdgeCertificateSpec,
    Forward, KNOWN_AFTER_APPLY, OriginSpec, RecordSpec, RecordType,
};

use crate::spec::{CdnKind, DnsKind, Domain, Esp, Region};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EspTemplate {
    pub name: String,
    pub origins: BTreeMap<Region, String>,
    pub host_header: HostHeader,
    pub cloudfront: EspCloudFront,
    pub verify: EspVerify,
    pub handoff: Vec<String>,
}

/// How the ESP recognises which customer a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostHeader {
    /// Host must reach the ESP as the tracking domain.
    Viewer,
    /// Host is the origin; `X-Forwarded-Host` carries the tracking domain.
    Origin,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EspCloudFront {
    pub origin_protocol_policy: String,
    pub allowed_methods: BTreeSet<String>,
    pub cached_methods: BTreeSet<String>,
    pub forward_headers: BTreeSet<String>,
    pub forward_query_strings: Forward,
    pub forward_cookies: Forward,
    pub ttl: Ttl,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ttl {
    pub min: i64,
    pub default: i64,
    pub max: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EspVerify {
    /// Tracking paths `verify` requests through the CDN, over HTTPS and plain HTTP.
    pub paths: Vec<String>,
    /// Names a tracking CNAME points at when it goes straight to this ESP (HTTP-only tracking):
    /// each name and every name below it.
    pub dns_targets: Vec<String>,
    /// How this ESP answers on those paths.
    pub answer: EspAnswer,
}

/// What "reaches the ESP" means: an answer that is not the CDN's own error page and, where the
/// ESP's answer is documented, that answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EspAnswer {
    /// Statuses the ESP answers with; empty: any status that is not a CDN error.
    #[serde(default)]
    pub status: Vec<u16>,
    /// Text the `Server` header contains.
    #[serde(default)]
    pub server: Option<String>,
    /// Answers that come from the ESP but show a set-up fault.
    #[serde(default)]
    pub wrong: Vec<WrongAnswer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrongAnswer {
    /// Text in the body (first 64 KiB) that identifies it.
    pub body_contains: String,
    /// What it means and how to fix it.
    pub means: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudFrontTemplate {
    pub viewer_protocol_policy: String,
    pub ssl_support_method: String,
    pub minimum_protocol_version: String,
    pub http_version: String,
    pub ipv6: bool,
    pub price_class: String,
    pub compress: bool,
    pub origin: OriginTemplate,
    pub dns: DnsTemplate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginTemplate {
    pub http_port: u16,
    pub https_port: u16,
    pub ssl_protocols: BTreeSet<String>,
    pub read_timeout: u32,
    pub keepalive_timeout: u32,
    pub custom_headers: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsTemplate {
    pub tracking_record_ttl: u32,
    pub validation_record_ttl: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudflareTemplate {
    pub ssl: String,
    pub tracking_record_ttl: u32,
}

pub struct Templates {
    pub sendgrid: EspTemplate,
    pub sparkpost: EspTemplate,
    pub ses: EspTemplate,
    pub cloudfront: CloudFrontTemplate,
    pub cloudflare: CloudflareTemplate,
}

const SOURCES: [(&str, &str); 5] = [
    ("esp/sendgrid.yaml", include_str!("../../templates/esp/sendgrid.yaml")),
    ("esp/sparkpost.yaml", include_str!("../../templates/esp/sparkpost.yaml")),
    ("esp/ses.yaml", include_str!("../../templates/esp/ses.yaml")),
    ("cdn/cloudfront.yaml", include_str!("../../templates/cdn/cloudfront.yaml")),
    ("cdn/cloudflare.yaml", include_str!("../../templates/cdn/cloudflare.yaml")),
];

fn load<T: serde::de::DeserializeOwned>(i: usize) -> T {
    let (name, text) = SOURCES[i];
    // The templates are compiled in and covered by tests; a bad one is a build defect, not input.
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("embedded template templates/{name} is invalid: {e}"))
}

pub fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| Templates {
        sendgrid: load(0),
        sparkpost: load(1),
        ses: load(2),
        cloudfront: load(3),
        cloudflare: load(4),
    })
}

impl Templates {
    pub fn esp(&self, esp: Esp) -> &EspTemplate {
        match esp {
            Esp::Sendgrid => &self.sendgrid,
            Esp::Sparkpost => &self.sparkpost,
            Esp::Ses => &self.ses,
        }
    }
}

impl EspTemplate {
    pub fn origin(&self, region: Region) -> &str {
        &self.origins[&region]
    }
}

pub fn certificate(d: &Domain) -> CertificateSpec {
    CertificateSpec { domain_name: d.tracking_domain.clone(), subject_alternative_names: BTreeSet::new() }
}

/// The comment that marks a distribution as sslprov's, and which domain key it serves.
pub fn distribution_comment(d: &Domain) -> String {
    format!("sslprov: {} ({})", d.key, d.tracking_domain)
}

pub fn distribution(d: &Domain, certificate_arn: Option<&str>) -> DistributionSpec {
    let t = templates();
    let cf = &t.cloudfront;
    let esp = t.esp(d.esp);
    let fill = |v: &str| v.replace("{tracking_domain}", &d.tracking_domain);
    DistributionSpec {
        aliases: BTreeSet::from([d.tracking_domain.clone()]),
        comment: distribution_comment(d),
        enabled: true,
        certificate_arn: certificate_arn.unwrap_or(KNOWN_AFTER_APPLY).to_owned(),
        ssl_support_method: cf.ssl_support_method.clone(),
        minimum_protocol_version: cf.minimum_protocol_version.clone(),
        http_version: cf.http_version.clone(),
        ipv6: cf.ipv6,
        price_class: cf.price_class.clone(),
        origin: OriginSpec {
            domain_name: esp.origin(d.region).to_owned(),
            protocol_policy: esp.cloudfront.origin_protocol_policy.clone(),
            http_port: cf.origin.http_port,
            https_port: cf.origin.https_port,
            ssl_protocols: cf.origin.ssl_protocols.clone(),
            read_timeout: cf.origin.read_timeout,
            keepalive_timeout: cf.origin.keepalive_timeout,
            custom_headers: cf.origin.custom_headers.iter().map(|(k, v)| (k.clone(), fill(v))).collect(),
        },
        behavior: BehaviorSpec {
            viewer_protocol_policy: cf.viewer_protocol_policy.clone(),
            allowed_methods: esp.cloudfront.allowed_methods.clone(),
            cached_methods: esp.cloudfront.cached_methods.clone(),
            compress: cf.compress,
            forward_headers: esp.cloudfront.forward_headers.clone(),
            forward_query_strings: esp.cloudfront.forward_query_strings.clone(),
            forward_cookies: esp.cloudfront.forward_cookies.clone(),
            min_ttl: esp.cloudfront.ttl.min,
            default_ttl: esp.cloudfront.ttl.default,
            max_ttl: esp.cloudfront.ttl.max,
        },
    }
}

/// The tracking record, flipped last: a CNAME to the distribution (CloudFront), or a proxied
/// CNAME to the ESP's origin (Cloudflare, which then serves it through its edge). `target` is the
/// distribution's domain name, when known.
pub fn tracking_record(d: &Domain, target: Option<&str>) -> RecordSpec {
    let t = templates();
    let (ttl, value) = match d.cdn {
        CdnKind::Cloudfront => (t.cloudfront.dns.tracking_record_ttl, target.unwrap_or(KNOWN_AFTER_APPLY)),
        CdnKind::Cloudflare => (t.cloudflare.tracking_record_ttl, t.esp(d.esp).origin(d.region)),
    };
    RecordSpec {
        zone: d.zone.clone(),
        name: d.tracking_domain.clone(),
        rtype: RecordType::Cname,
        ttl,
        values: vec![value.to_owned()],
        proxied: proxied(d, d.cdn == CdnKind::Cloudflare),
    }
}

/// A certificate validation record as the certificate authority asked for it, placed in the zone.
/// Never proxied: the authority must see the CNAME itself.
pub fn validation_record(d: &Domain, asked: &RecordSpec) -> RecordSpec {
    RecordSpec {
        zone: d.zone.clone(),
        name: asked.name.clone(),
        rtype: asked.rtype,
        ttl: templates().cloudfront.dns.validation_record_ttl,
        values: asked.values.clone(),
        proxied: proxied(d, false),
    }
}

/// Records at a DNS host that proxies say whether they are; elsewhere the question does not exist.
fn proxied(d: &Domain, on: bool) -> Option<bool> {
    (d.dns == DnsKind::Cloudflare).then_some(on)
}

pub use sslprov_cloudflare::universal_covers;

/// The edge certificate a Cloudflare-proxied tracking domain needs: Universal SSL when it covers
/// the name, else an advanced pack (for the zone apex and the name, as Cloudflare requires).
pub fn edge_certificate(d: &Domain) -> EdgeCertificateSpec {
    let universal = universal_covers(&d.zone, &d.tracking_domain);
    let mut hosts = BTreeSet::from([d.tracking_domain.clone()]);
    if !universal {
        hosts.insert(d.zone.clone());
    }
    EdgeCertificateSpec {
        zone: d.zone.clone(),
        hosts,
        source: if universal { EdgeCertificateSource::Universal } else { EdgeCertificateSource::Advanced },
    }
}

pub fn config_rule(d: &Domain) -> ConfigRuleSpec {
    ConfigRuleSpec { zone: d.zone.clone(), host: d.tracking_domain.clone(), ssl: templates().cloudflare.ssl.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{CdnKind, DnsKind};

    fn domain(esp: Esp, region: Region) -> Domain {
        Domain {
            key: "acme".into(),
            tracking_domain: "url1234.acme.com".into(),
            esp,
            braze_cluster: "US-05".into(),
            region,
            cdn: CdnKind::Cloudfront,
            dns: DnsKind::Route53,
            zone: "acme.com".into(),
            advanced_certificate: false,
        }
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_distribution_gets_the_common_settings() {
        for esp in [Esp::Sendgrid, Esp::Sparkpost, Esp::Ses] {
            let d = distribution(&domain(esp, Region::Us), Some("arn:aws:acm:us-east-1:1:certificate/x"));
            assert_eq!(d.aliases, set(&["url1234.acme.com"]));
            assert_eq!(d.certificate_arn, "arn:aws:acm:us-east-1:1:certificate/x");
            assert_eq!(
                (d.ssl_support_method.as_str(), d.minimum_protocol_version.as_str()),
                ("sni-only", "TLSv1.2_2021")
            );
            assert_eq!(d.behavior.viewer_protocol_policy, "allow-all", "old http:// links must keep working");
            assert_eq!(d.origin.custom_headers["X-Forwarded-Host"], "url1234.acme.com");
            assert_eq!(d.origin.ssl_protocols, set(&["TLSv1.2"]));
        }
    }

    #[test]
    fn sendgrid_forwards_host_and_does_not_cache() {
        let d = distribution(&domain(Esp::Sendgrid, Region::Eu), None);
        assert_eq!(d.origin.domain_name, "sendgrid.net");
        assert_eq!(d.origin.protocol_policy, "https-only");
        assert_eq!(d.behavior.forward_headers, set(&["*"]));
        assert_eq!(
            (d.behavior.forward_query_strings.clone(), d.behavior.forward_cookies.clone()),
            (Forward::All, Forward::All)
        );
        assert_eq!((d.behavior.min_ttl, d.behavior.default_ttl, d.behavior.max_ttl), (0, 0, 0));
        assert_eq!(d.certificate_arn, KNOWN_AFTER_APPLY);
    }

    #[test]
    fn sparkpost_keeps_origin_host_and_caches_ten_seconds() {
        let us = distribution(&domain(Esp::Sparkpost, Region::Us), None);
        let eu = distribution(&domain(Esp::Sparkpost, Region::Eu), None);
        assert_eq!((us.origin.domain_name.as_str(), eu.origin.domain_name.as_str()), ("spgo.io", "eu.spgo.io"));
        assert_eq!(us.origin.protocol_policy, "match-viewer");
        assert_eq!(us.behavior.forward_headers, set(&["User-Agent"]), "Host must not be forwarded");
        assert_eq!(us.behavior.forward_query_strings, Forward::Only(set(&["target"])));
        assert_eq!(us.behavior.forward_cookies, Forward::None);
        assert_eq!((us.behavior.min_ttl, us.behavior.default_ttl, us.behavior.max_ttl), (1, 10, 10));
        assert_eq!(us.behavior.allowed_methods, set(&["GET", "HEAD"]));
    }

    #[test]
    fn ses_picks_the_regional_origin_and_forwards_all_but_cookies() {
        let us = distribution(&domain(Esp::Ses, Region::Us), None);
        let eu = distribution(&domain(Esp::Ses, Region::Eu), None);
        assert_eq!(us.origin.domain_name, "r.us-east-1.awstrack.me");
        assert_eq!(eu.origin.domain_name, "r.eu-central-1.awstrack.me");
        assert_eq!(us.behavior.forward_headers, set(&["*"]));
        assert_eq!(
            (us.behavior.forward_query_strings.clone(), us.behavior.forward_cookies.clone()),
            (Forward::All, Forward::None)
        );
    }

    #[test]
    fn universal_ssl_covers_first_level_names_only() {
        assert!(universal_covers("acme.com", "url1234.acme.com"));
        assert!(universal_covers("acme.com", "acme.com"));
        assert!(!universal_covers("acme.com", "url1234.email.acme.com"));
        assert!(!universal_covers("acme.com", "url1234.notacme.com"));
    }

    #[test]
    fn on_cloudflare_the_tracking_record_is_a_proxied_cname_to_the_esp() {
        let mut d = domain(Esp::Sparkpost, Region::Eu);
        d.cdn = CdnKind::Cloudflare;
        d.dns = DnsKind::Cloudflare;
        let r = tracking_record(&d, None);
        assert_eq!((r.values.clone(), r.proxied, r.ttl), (vec!["eu.spgo.io".to_string()], Some(true), 1));
        assert_eq!(edge_certificate(&d).source, EdgeCertificateSource::Universal);
        d.tracking_domain = "url1234.email.acme.com".into();
        let deep = edge_certificate(&d);
        assert_eq!(
            (deep.source, deep.hosts),
            (EdgeCertificateSource::Advanced, set(&["acme.com", "url1234.email.acme.com"]))
        );
        assert_eq!(config_rule(&d).ssl, "full");
        // CloudFront with DNS at Cloudflare: DNS-only records.
        d.cdn = CdnKind::Cloudfront;
        let asked = tracking_record(&d, Some("d1.cloudfront.net"));
        assert_eq!(asked.proxied, Some(false));
        assert_eq!(validation_record(&d, &asked).proxied, Some(false));
    }

    #[test]
    fn tracking_record_points_at_the_cdn() {
        let r = tracking_record(&domain(Esp::Ses, Region::Us), Some("d1.cloudfront.net"));
        assert_eq!(
            (r.name.as_str(), r.rtype, r.values.clone()),
            ("url1234.acme.com", RecordType::Cname, vec!["d1.cloudfront.net".to_string()])
        );
    }
}
