use std::path::Path;

use super::*;

const GOOD: &str = "\
version: 1
braze_cluster: US-05
state: { path: sslprov.state.json }
defaults: { cdn: cloudfront, dns: route53 }
domains:
  acme:
    tracking_domain: url1234.acme.com
    esp: sendgrid
    zone: acme.com
  beta:
    tracking_domain: click.beta.io
    esp: sparkpost
    braze_cluster: EU-01
";

fn parse(text: &str) -> Result<Spec, SpecErrors> {
    Spec::parse(Path::new("dir/sslprov.yaml"), text)
}

/// The single error of `text`, as the CLI prints it.
fn error(text: &str) -> String {
    let errs = parse(text).expect_err("spec should be rejected");
    assert_eq!(errs.0.len(), 1, "{errs}");
    errs.to_string()
}

#[test]
fn resolves_defaults_clusters_and_zones() {
    let spec = parse(GOOD).unwrap();
    assert_eq!(spec.state_path, Path::new("dir/sslprov.state.json"));
    let acme = &spec.domains["acme"];
    assert_eq!((acme.esp.as_str(), acme.region, acme.zone.as_str()), ("sendgrid", Region::Us, "acme.com"));
    let beta = &spec.domains["beta"];
    assert_eq!((beta.region, beta.braze_cluster.as_str(), beta.zone.as_str()), (Region::Eu, "EU-01", "beta.io"));
    assert_eq!(spec.hash.len(), 64);
}

#[test]
fn unknown_esp_names_position_field_and_allowed_values() {
    let e = error(&GOOD.replace("esp: sendgrid", "esp: mailgun"));
    assert_eq!(
        e,
        "dir/sslprov.yaml:8:5: domains.acme.esp: unknown ESP `mailgun` (allowed: `sendgrid`, `ses`, `sparkpost`)"
    );
}

#[test]
fn bad_cluster() {
    let e = error(&GOOD.replace("EU-01", "AP-01"));
    assert_eq!(
        e,
        "dir/sslprov.yaml:13:5: domains.beta.braze_cluster: unknown Braze cluster `AP-01` (allowed: US-nn or EU-nn, e.g. US-05, EU-01)"
    );
    let e = error(&GOOD.replace("US-05", "US5"));
    assert!(e.starts_with("dir/sslprov.yaml:2:1: braze_cluster: invalid Braze cluster `US5`"), "{e}");
}

#[test]
fn invalid_domain_name() {
    let e = error(&GOOD.replace("url1234.acme.com", "url_1234.acme.com"));
    assert_eq!(
        e,
        "dir/sslprov.yaml:7:5: domains.acme.tracking_domain: invalid domain name `url_1234.acme.com`: label `url_1234` has characters other than letters, digits and `-` (allowed: lower-case labels of letters, digits and `-`, separated by dots)"
    );
    assert!(error(&GOOD.replace("url1234.acme.com", "Url1234.acme.com")).contains("upper-case"));
    assert!(error(&GOOD.replace("url1234.acme.com", "url1234..acme.com")).contains("empty label"));
}

#[test]
fn tracking_domain_outside_its_zone() {
    let e = error(&GOOD.replace("zone: acme.com", "zone: acme.org"));
    assert_eq!(
        e,
        "dir/sslprov.yaml:9:5: domains.acme.zone: tracking domain `url1234.acme.com` is outside its zone `acme.org` (allowed: a zone that is a parent of the tracking domain)"
    );
    // A suffix that is not on a label boundary is outside too.
    assert!(error(&GOOD.replace("zone: acme.com", "zone: cme.com")).contains("outside its zone"));
}

#[test]
fn duplicate_tracking_domains() {
    let e = error(&GOOD.replace("click.beta.io", "url1234.acme.com"));
    assert_eq!(
        e,
        "dir/sslprov.yaml:11:5: domains.beta.tracking_domain: tracking domain `url1234.acme.com` is already used by domain `acme` (allowed: each tracking domain once)"
    );
}

#[test]
fn unknown_field_is_refused() {
    let e = error(&GOOD.replace("    zone: acme.com", "    zone: acme.com\n    origin: x"));
    assert!(e.starts_with("dir/sslprov.yaml:10:5: domains.acme.origin: unknown field `origin`"), "{e}");
    assert!(e.contains("allowed: `tracking_domain`, `esp`, `zone`"), "{e}");
}

#[test]
fn missing_field_and_missing_cluster() {
    let e = error(&GOOD.replace("    esp: sendgrid\n", ""));
    assert!(e.starts_with("dir/sslprov.yaml:6:3: domains.acme: missing field `esp`"), "{e}");
    let e = error(&GOOD.replace("braze_cluster: US-05\n", ""));
    assert!(e.starts_with("dir/sslprov.yaml:5:3: domains.acme: no braze_cluster"), "{e}");
}

#[test]
fn apex_version_and_unsupported_providers() {
    assert!(error(&GOOD.replace("url1234.acme.com", "acme.com")).contains("is a zone apex"));
    assert!(
        error(&GOOD.replace("version: 1", "version: 2"))
            .starts_with("dir/sslprov.yaml:1:1: version: unsupported spec version 2")
    );
    let e = error(&GOOD.replace("cdn: cloudfront", "cdn: cloudflare"));
    assert_eq!(
        e,
        "dir/sslprov.yaml:4:13: defaults.cdn: cdn `cloudflare` needs the zone's DNS at Cloudflare, but dns is `route53` (allowed: dns: cloudflare with cdn: cloudflare)"
    );
    let ok = parse(&GOOD.replace("{ cdn: cloudfront, dns: route53 }", "{ cdn: cloudflare, dns: cloudflare }")).unwrap();
    assert_eq!((ok.domains["acme"].cdn.as_str(), ok.domains["acme"].dns.as_str()), ("cloudflare", "cloudflare"));
    let e = error(&GOOD.replace("    zone: acme.com\n", "    zone: acme.com\n    advanced_certificate: true\n"));
    assert!(
        e.contains("domains.acme.advanced_certificate: advanced_certificate applies to cdn `cloudflare` only"),
        "{e}"
    );
}

#[test]
fn several_errors_are_reported_together() {
    let text = GOOD.replace("zone: acme.com", "zone: acme.org").replace("EU-01", "XX-01");
    assert_eq!(parse(&text).unwrap_err().0.len(), 2);
}

#[test]
fn yaml_syntax_error_has_a_position() {
    let e = error("version: 1\ndomains:\n  acme: [\n");
    assert!(e.starts_with("dir/sslprov.yaml:"), "{e}");
    assert!(!e.contains("panicked"));
}
