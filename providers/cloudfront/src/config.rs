//! `DistributionSpec` ⇄ CloudFront `DistributionConfig`, in the legacy `ForwardedValues` form.
//!
//! Legacy form because moto implements no cache or origin-request policies, and because the ESP
//! guides (SendGrid "All headers", SES "forward all, cache based on all") are written in it.
//! Writing goes through [`overlay`] only, so a create and an update set the owned fields the same
//! way and an update keeps every field sslprov does not own (logging, WAF, extra origins, …).

// The SDK marks ForwardedValues and the behaviour TTLs deprecated in favour of cache policies.
#![allow(deprecated)]

use std::collections::{BTreeMap, BTreeSet};

use crate::spec::{BehaviorSpec, DistributionSpec, Forward, OriginSpec};
use aws_sdk_cloudfront::error::BuildError;
use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CachedMethods, CookieNames, CookiePreference, CustomHeaders, CustomOriginConfig,
    DefaultCacheBehavior, DistributionConfig, DistributionSummary, ForwardedValues, Headers, HttpVersion,
    ItemSelection, Method, MinimumProtocolVersion, Origin, OriginCustomHeader, OriginProtocolPolicy,
    OriginSslProtocols, Origins, PriceClass, QueryStringCacheKeys, SslProtocol, SslSupportMethod, ViewerCertificate,
    ViewerProtocolPolicy,
};

/// Id of the one origin sslprov creates; the default behaviour targets it.
pub const ORIGIN_ID: &str = "esp";

// CloudFront's documented defaults, for configs that leave these out.
const DEFAULT_READ_TIMEOUT: i32 = 30;
const DEFAULT_KEEPALIVE_TIMEOUT: i32 = 5;
const DEFAULT_DEFAULT_TTL: i64 = 86_400;
const DEFAULT_MAX_TTL: i64 = 31_536_000;

/// A new distribution's config: `spec` on an otherwise empty config.
pub fn to_config(spec: &DistributionSpec, caller_reference: &str) -> Result<DistributionConfig, BuildError> {
    let empty = DistributionConfig::builder()
        .caller_reference(caller_reference)
        .comment("")
        .enabled(false)
        .default_root_object("")
        .origins(Origins::builder().quantity(0).set_items(Some(vec![])).build()?)
        .build()?;
    overlay(empty, spec)
}

/// `existing` with the fields sslprov owns set from `spec`, and everything else left as it was.
pub fn overlay(mut config: DistributionConfig, spec: &DistributionSpec) -> Result<DistributionConfig, BuildError> {
    config.aliases = Some(aliases(&spec.aliases)?);
    config.comment.clone_from(&spec.comment);
    config.enabled = spec.enabled;
    config.viewer_certificate = Some(viewer_certificate(spec));
    config.http_version = Some(HttpVersion::from(spec.http_version.as_str()));
    config.is_ipv6_enabled = Some(spec.ipv6);
    config.price_class = Some(PriceClass::from(spec.price_class.as_str()));

    // The owned origin is the one the default behaviour sends to, whatever its id.
    let target = config.default_cache_behavior.as_ref().map_or(ORIGIN_ID, |b| b.target_origin_id.as_str()).to_owned();
    let mut origins = config.origins.take().map(|o| o.items).unwrap_or_default();
    match origins.iter_mut().find(|o| o.id == target) {
        Some(origin) => overlay_origin(origin, &spec.origin)?,
        None => origins.push(
            Origin::builder()
                .id(&target)
                .domain_name(&spec.origin.domain_name)
                .custom_headers(custom_headers(&spec.origin.custom_headers)?)
                .custom_origin_config(custom_origin_config(&spec.origin)?)
                .build()?,
        ),
    }
    config.origins = Some(Origins::builder().quantity(len(&origins)).set_items(Some(origins)).build()?);

    let behavior = match config.default_cache_behavior.take() {
        Some(mut b) => {
            overlay_behavior(&mut b, &spec.behavior)?;
            b
        }
        None => {
            let mut b = DefaultCacheBehavior::builder()
                .target_origin_id(&target)
                .viewer_protocol_policy(ViewerProtocolPolicy::from(spec.behavior.viewer_protocol_policy.as_str()))
                .build()?;
            overlay_behavior(&mut b, &spec.behavior)?;
            b
        }
    };
    config.default_cache_behavior = Some(behavior);
    Ok(config)
}

fn overlay_origin(origin: &mut Origin, spec: &OriginSpec) -> Result<(), BuildError> {
    origin.domain_name.clone_from(&spec.domain_name);
    origin.custom_headers = Some(custom_headers(&spec.custom_headers)?);
    let fresh = custom_origin_config(spec)?;
    origin.custom_origin_config = Some(match origin.custom_origin_config.take() {
        // Keep what sslprov does not own (IP address type, origin mTLS).
        Some(mut c) => {
            c.http_port = fresh.http_port;
            c.https_port = fresh.https_port;
            c.origin_protocol_policy = fresh.origin_protocol_policy;
            c.origin_ssl_protocols = fresh.origin_ssl_protocols;
            c.origin_read_timeout = fresh.origin_read_timeout;
            c.origin_keepalive_timeout = fresh.origin_keepalive_timeout;
            c
        }
        None => fresh,
    });
    Ok(())
}

fn overlay_behavior(b: &mut DefaultCacheBehavior, spec: &BehaviorSpec) -> Result<(), BuildError> {
    b.viewer_protocol_policy = ViewerProtocolPolicy::from(spec.viewer_protocol_policy.as_str());
    b.allowed_methods = Some(
        AllowedMethods::builder()
            .quantity(len(&spec.allowed_methods))
            .set_items(Some(methods(&spec.allowed_methods)))
            .cached_methods(
                CachedMethods::builder()
                    .quantity(len(&spec.cached_methods))
                    .set_items(Some(methods(&spec.cached_methods)))
                    .build()?,
            )
            .build()?,
    );
    b.compress = Some(spec.compress);
    b.forwarded_values = Some(forwarded_values(spec)?);
    // A behaviour uses either ForwardedValues or policies; sslprov owns what is forwarded and
    // writes the legacy form, so policies someone attached by hand would make the update invalid.
    b.cache_policy_id = None;
    b.origin_request_policy_id = None;
    b.min_ttl = Some(spec.min_ttl);
    b.default_ttl = Some(spec.default_ttl);
    b.max_ttl = Some(spec.max_ttl);
    Ok(())
}

fn aliases(names: &BTreeSet<String>) -> Result<Aliases, BuildError> {
    Aliases::builder().quantity(len(names)).set_items(Some(names.iter().cloned().collect())).build()
}

fn viewer_certificate(spec: &DistributionSpec) -> ViewerCertificate {
    ViewerCertificate::builder()
        .cloud_front_default_certificate(false)
        .acm_certificate_arn(&spec.certificate_arn)
        .ssl_support_method(SslSupportMethod::from(spec.ssl_support_method.as_str()))
        .minimum_protocol_version(MinimumProtocolVersion::from(spec.minimum_protocol_version.as_str()))
        .build()
}

fn custom_headers(headers: &BTreeMap<String, String>) -> Result<CustomHeaders, BuildError> {
    let items = headers
        .iter()
        .map(|(name, value)| OriginCustomHeader::builder().header_name(name).header_value(value).build())
        .collect::<Result<Vec<_>, _>>()?;
    CustomHeaders::builder().quantity(len(&items)).set_items(Some(items)).build()
}

fn custom_origin_config(spec: &OriginSpec) -> Result<CustomOriginConfig, BuildError> {
    let protocols = spec.ssl_protocols.iter().map(|p| SslProtocol::from(p.as_str())).collect();
    CustomOriginConfig::builder()
        .http_port(spec.http_port.into())
        .https_port(spec.https_port.into())
        .origin_protocol_policy(OriginProtocolPolicy::from(spec.protocol_policy.as_str()))
        .origin_ssl_protocols(
            OriginSslProtocols::builder().quantity(len(&spec.ssl_protocols)).set_items(Some(protocols)).build()?,
        )
        .origin_read_timeout(i32::try_from(spec.read_timeout).unwrap_or(i32::MAX))
        .origin_keepalive_timeout(i32::try_from(spec.keepalive_timeout).unwrap_or(i32::MAX))
        .build()
}

fn forwarded_values(spec: &BehaviorSpec) -> Result<ForwardedValues, BuildError> {
    let headers = Headers::builder()
        .quantity(len(&spec.forward_headers))
        .set_items(Some(spec.forward_headers.iter().cloned().collect()))
        .build()?;
    let keys = match &spec.forward_query_strings {
        Forward::Only(keys) => keys.clone(),
        Forward::None | Forward::All => BTreeSet::new(),
    };
    let (forward, names) = match &spec.forward_cookies {
        Forward::None => (ItemSelection::None, None),
        Forward::All => (ItemSelection::All, None),
        Forward::Only(names) => (
            ItemSelection::Whitelist,
            Some(CookieNames::builder().quantity(len(names)).set_items(Some(names.iter().cloned().collect())).build()?),
        ),
    };
    ForwardedValues::builder()
        .query_string(spec.forward_query_strings != Forward::None)
        .query_string_cache_keys(
            QueryStringCacheKeys::builder().quantity(len(&keys)).set_items(Some(keys.into_iter().collect())).build()?,
        )
        .cookies(CookiePreference::builder().forward(forward).set_whitelisted_names(names).build()?)
        .headers(headers)
        .build()
}

fn methods(names: &BTreeSet<String>) -> Vec<Method> {
    names.iter().map(|m| Method::from(m.as_str())).collect()
}

fn len<T>(items: impl IntoIterator<Item = T>) -> i32 {
    i32::try_from(items.into_iter().count()).unwrap_or(i32::MAX)
}

/// The fields sslprov owns, as a distribution summary (ListDistributions) and a config both carry them.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    aliases: Option<&'a Aliases>,
    comment: &'a str,
    enabled: bool,
    viewer_certificate: Option<&'a ViewerCertificate>,
    http_version: Option<&'a HttpVersion>,
    ipv6: Option<bool>,
    price_class: Option<&'a PriceClass>,
    origins: Option<&'a Origins>,
    behavior: Option<&'a DefaultCacheBehavior>,
}

impl<'a> From<&'a DistributionSummary> for View<'a> {
    fn from(s: &'a DistributionSummary) -> Self {
        View {
            aliases: s.aliases(),
            comment: s.comment(),
            enabled: s.enabled(),
            viewer_certificate: s.viewer_certificate(),
            http_version: Some(s.http_version()),
            ipv6: Some(s.is_ipv6_enabled()),
            price_class: Some(s.price_class()),
            origins: s.origins(),
            behavior: s.default_cache_behavior(),
        }
    }
}

impl<'a> From<&'a DistributionConfig> for View<'a> {
    fn from(c: &'a DistributionConfig) -> Self {
        View {
            aliases: c.aliases(),
            comment: c.comment(),
            enabled: c.enabled(),
            viewer_certificate: c.viewer_certificate(),
            http_version: c.http_version(),
            ipv6: c.is_ipv6_enabled(),
            price_class: c.price_class(),
            origins: c.origins(),
            behavior: c.default_cache_behavior(),
        }
    }
}

/// The owned fields of a distribution, normalised so that `project(to_config(spec))` is `spec`.
///
/// Only what sslprov writes is read. Ignored, among the unowned fields: `CloudFrontDefaultCertificate`
/// (moto answers `true` next to an ACM certificate when a request left it out) and the empty
/// `CachePolicyId` moto adds to legacy behaviours.
pub fn project<'a>(d: impl Into<View<'a>>) -> DistributionSpec {
    let d = d.into();
    let cert = d.viewer_certificate;
    let target = d.behavior.map_or(ORIGIN_ID, |b| b.target_origin_id());
    let origins = d.origins.map(Origins::items).unwrap_or_default();
    let origin = origins.iter().find(|o| o.id() == target).or(origins.first());
    DistributionSpec {
        aliases: d.aliases.map(Aliases::items).unwrap_or_default().iter().map(|a| dns_name(a)).collect(),
        comment: d.comment.to_owned(),
        enabled: d.enabled,
        certificate_arn: cert.and_then(ViewerCertificate::acm_certificate_arn).unwrap_or_default().to_owned(),
        ssl_support_method: str_of(cert.and_then(ViewerCertificate::ssl_support_method).map(SslSupportMethod::as_str)),
        minimum_protocol_version: str_of(
            cert.and_then(ViewerCertificate::minimum_protocol_version).map(MinimumProtocolVersion::as_str),
        ),
        http_version: str_of(d.http_version.map(HttpVersion::as_str)),
        ipv6: d.ipv6.unwrap_or(false),
        price_class: str_of(d.price_class.map(PriceClass::as_str)),
        origin: project_origin(origin),
        behavior: project_behavior(d.behavior),
    }
}

fn project_origin(origin: Option<&Origin>) -> OriginSpec {
    let custom = origin.and_then(Origin::custom_origin_config);
    OriginSpec {
        domain_name: origin.map(|o| dns_name(o.domain_name())).unwrap_or_default(),
        protocol_policy: str_of(custom.map(|c| c.origin_protocol_policy().as_str())),
        http_port: custom.and_then(|c| u16::try_from(c.http_port()).ok()).unwrap_or_default(),
        https_port: custom.and_then(|c| u16::try_from(c.https_port()).ok()).unwrap_or_default(),
        ssl_protocols: custom
            .and_then(CustomOriginConfig::origin_ssl_protocols)
            .map(|p| p.items().iter().map(|p| p.as_str().to_owned()).collect())
            .unwrap_or_default(),
        read_timeout: non_negative(
            custom.map_or(DEFAULT_READ_TIMEOUT, |c| c.origin_read_timeout().unwrap_or(DEFAULT_READ_TIMEOUT)),
        ),
        keepalive_timeout: non_negative(
            custom.map_or(DEFAULT_KEEPALIVE_TIMEOUT, |c| {
                c.origin_keepalive_timeout().unwrap_or(DEFAULT_KEEPALIVE_TIMEOUT)
            }),
        ),
        custom_headers: origin
            .and_then(Origin::custom_headers)
            .map(|h| h.items().iter().map(|h| (h.header_name().to_owned(), h.header_value().to_owned())).collect())
            .unwrap_or_default(),
    }
}

fn project_behavior(b: Option<&DefaultCacheBehavior>) -> BehaviorSpec {
    let allowed = b.and_then(DefaultCacheBehavior::allowed_methods);
    let fv = b.and_then(DefaultCacheBehavior::forwarded_values);
    let query_keys: BTreeSet<String> = fv
        .and_then(ForwardedValues::query_string_cache_keys)
        .map(|k| k.items().to_vec())
        .unwrap_or_default()
        .into_iter()
        .collect();
    let cookies = fv.and_then(ForwardedValues::cookies);
    BehaviorSpec {
        viewer_protocol_policy: str_of(b.map(|b| b.viewer_protocol_policy().as_str())),
        allowed_methods: allowed.map(|a| method_names(a.items())).unwrap_or_default(),
        cached_methods: allowed
            .and_then(AllowedMethods::cached_methods)
            .map(|c| method_names(c.items()))
            .unwrap_or_default(),
        compress: b.and_then(DefaultCacheBehavior::compress).unwrap_or(false),
        forward_headers: fv
            .and_then(ForwardedValues::headers)
            .map(|h| h.items().iter().cloned().collect())
            .unwrap_or_default(),
        forward_query_strings: match fv.map(ForwardedValues::query_string) {
            Some(true) if query_keys.is_empty() => Forward::All,
            Some(true) => Forward::Only(query_keys),
            _ => Forward::None,
        },
        forward_cookies: match cookies.map(CookiePreference::forward) {
            Some(ItemSelection::All) => Forward::All,
            Some(ItemSelection::Whitelist) => Forward::Only(
                cookies
                    .and_then(CookiePreference::whitelisted_names)
                    .map(|n| n.items().iter().cloned().collect())
                    .unwrap_or_default(),
            ),
            _ => Forward::None,
        },
        min_ttl: b.and_then(DefaultCacheBehavior::min_ttl).unwrap_or(0),
        default_ttl: b.and_then(DefaultCacheBehavior::default_ttl).unwrap_or(DEFAULT_DEFAULT_TTL),
        max_ttl: b.and_then(DefaultCacheBehavior::max_ttl).unwrap_or(DEFAULT_MAX_TTL),
    }
}

fn method_names(methods: &[Method]) -> BTreeSet<String> {
    methods.iter().map(|m| m.as_str().to_owned()).collect()
}

/// Lower case, no trailing dot: how the engine spells every DNS name.
pub(crate) fn dns_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn str_of(s: Option<&str>) -> String {
    s.unwrap_or_default().to_owned()
}

fn non_negative(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use aws_sdk_cloudfront::types::LoggingConfig;

    use super::*;
    use crate::specs::{sendgrid, ses, set, sparkpost};

    #[test]
    fn config_projects_back_to_the_spec() {
        for spec in [sendgrid("url1234.acme.com"), sparkpost("click.acme.com"), ses("track.acme.com")] {
            let config = to_config(&spec, "tok_1").unwrap();
            assert_eq!(config.caller_reference(), "tok_1");
            assert_eq!(project(&config), spec);
        }
    }

    #[test]
    fn config_is_in_the_shape_cloudfront_expects() {
        let config = to_config(&sparkpost("click.acme.com"), "tok").unwrap();
        let origin = &config.origins().unwrap().items()[0];
        assert_eq!(origin.id(), ORIGIN_ID);
        assert_eq!(config.default_cache_behavior().unwrap().target_origin_id(), ORIGIN_ID);
        let fv = config.default_cache_behavior().unwrap().forwarded_values().unwrap();
        assert!(fv.query_string());
        assert_eq!(fv.query_string_cache_keys().unwrap().items(), ["target"]);
        assert_eq!(fv.cookies().unwrap().forward(), &ItemSelection::None);
        let cert = config.viewer_certificate().unwrap();
        assert_eq!(cert.cloud_front_default_certificate(), Some(false));
        assert_eq!(config.default_root_object(), Some(""));
    }

    #[test]
    fn overlay_keeps_what_sslprov_does_not_own() {
        let mut config = to_config(&sendgrid("url1234.acme.com"), "tok").unwrap();
        config.web_acl_id = Some("arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/1".into());
        config.logging =
            Some(LoggingConfig::builder().enabled(true).bucket("logs.s3.amazonaws.com").prefix("cf/").build());
        config.default_cache_behavior.as_mut().unwrap().cache_policy_id = Some("hand-attached".into());
        let mut target = sparkpost("url1234.acme.com");
        target.origin.domain_name = "eu.spgo.io".into();

        let updated = overlay(config.clone(), &target).unwrap();
        assert_eq!(project(&updated), target);
        assert_eq!(updated.web_acl_id, config.web_acl_id);
        assert_eq!(updated.logging, config.logging);
        assert_eq!(updated.caller_reference, "tok");
        assert_eq!(updated.default_cache_behavior().unwrap().cache_policy_id(), None);
    }

    #[test]
    fn projection_normalises_names_and_fills_defaults() {
        let spec = sendgrid("url1234.acme.com");
        let mut config = to_config(&spec, "tok").unwrap();
        config.aliases = Some(aliases(&set(&["URL1234.Acme.com."])).unwrap());
        let custom = config.origins.as_mut().unwrap().items[0].custom_origin_config.as_mut().unwrap();
        custom.origin_read_timeout = None;
        custom.origin_keepalive_timeout = None;
        assert_eq!(project(&config), spec);
    }
}
