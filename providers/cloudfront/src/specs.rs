//! Three representative distributions, one per ESP, shared by the unit tests and the moto tests
//! (which include this file with `#[path]`).

use std::collections::BTreeSet;

use super::{BehaviorSpec, DistributionSpec, Forward, OriginSpec};

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn base(alias: &str, origin: OriginSpec, behavior: BehaviorSpec) -> DistributionSpec {
    DistributionSpec {
        aliases: set(&[alias]),
        comment: format!("sslprov: {alias}"),
        enabled: true,
        certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d".into(),
        ssl_support_method: "sni-only".into(),
        minimum_protocol_version: "TLSv1.2_2021".into(),
        http_version: "http2".into(),
        ipv6: true,
        price_class: "PriceClass_All".into(),
        origin,
        behavior,
    }
}

fn origin(domain: &str, policy: &str, headers: &[(&str, &str)]) -> OriginSpec {
    OriginSpec {
        domain_name: domain.into(),
        protocol_policy: policy.into(),
        http_port: 80,
        https_port: 443,
        ssl_protocols: set(&["TLSv1.2"]),
        read_timeout: 30,
        keepalive_timeout: 5,
        custom_headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    }
}

/// SendGrid: HTTPS to sendgrid.net, all headers (Host included), cookies and query strings, no caching.
pub fn sendgrid(alias: &str) -> DistributionSpec {
    base(
        alias,
        origin("sendgrid.net", "https-only", &[("X-Forwarded-Host", alias)]),
        BehaviorSpec {
            viewer_protocol_policy: "allow-all".into(),
            allowed_methods: set(&["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]),
            cached_methods: set(&["GET", "HEAD", "OPTIONS"]),
            compress: false,
            forward_headers: set(&["*"]),
            forward_query_strings: Forward::All,
            forward_cookies: Forward::All,
            min_ttl: 0,
            default_ttl: 0,
            max_ttl: 0,
        },
    )
}

/// SparkPost: match-viewer to spgo.io, User-Agent and `target` only, a 10 s cache.
pub fn sparkpost(alias: &str) -> DistributionSpec {
    base(
        alias,
        origin("spgo.io", "match-viewer", &[("X-Forwarded-Host", alias)]),
        BehaviorSpec {
            viewer_protocol_policy: "allow-all".into(),
            allowed_methods: set(&["GET", "HEAD"]),
            cached_methods: set(&["GET", "HEAD"]),
            compress: true,
            forward_headers: set(&["User-Agent"]),
            forward_query_strings: Forward::Only(set(&["target"])),
            forward_cookies: Forward::None,
            min_ttl: 1,
            default_ttl: 10,
            max_ttl: 10,
        },
    )
}

/// SES: all headers and query strings but no cookies (SES rejects requests over 8 KiB of headers).
pub fn ses(alias: &str) -> DistributionSpec {
    base(
        alias,
        origin("r.us-east-1.awstrack.me", "https-only", &[("X-Forwarded-Host", alias)]),
        BehaviorSpec {
            viewer_protocol_policy: "redirect-to-https".into(),
            allowed_methods: set(&["GET", "HEAD"]),
            cached_methods: set(&["GET", "HEAD"]),
            compress: true,
            forward_headers: set(&["*"]),
            forward_query_strings: Forward::All,
            forward_cookies: Forward::None,
            min_ttl: 0,
            default_ttl: 0,
            max_ttl: 0,
        },
    )
}
