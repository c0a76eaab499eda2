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

/// Every error of `text`, as the CLI prints them.
fn errors(text: &str) -> String {
    parse(text).expect_err("spec should be rejected").to_string()
}

#[test]
fn resolves_defaults_clusters_and_zones() {
    let spec = parse(GOOD).unwrap();
    assert_eq!(spec.state_path, Path::new("dir/sslprov.state.json"));
    let acme = &spec.domains["acme"];
    assert_eq!((acme.esp.as_str(), acme.region, acme.zone.as_str()), ("sendgrid", Region::Us, "acme.com"));
    let beta = &spec.domains["beta"];
    assert_eq!((beta.region, beta.braze_cluster.as_str(), beta.zone.as_str()), (Region::Eu, "EU-01", "beta.io"));
    assert_eq!((beta.cdn.as_str(), beta.dns.as_str()), ("cloudfront", "route53"));
    assert_eq!(spec.hash.len(), 64);
}

#[test]
fn unknown_esp_names_position_field_and_allowed_values() {
    assert_eq!(
        errors(&GOOD.replace("esp: sendgrid", "esp: mailgun")),
        "dir/sslprov.yaml:8:5: domains.acme.esp: unknown ESP `mailgun` (allowed: `sendgrid`, `ses`, `sparkpost`)"
    );
}

#[test]
fn bad_clusters() {
    assert_eq!(
        errors(&GOOD.replace("EU-01", "AP-01")),
        "dir/sslprov.yaml:13:5: domains.beta.braze_cluster: unknown Braze cluster `AP-01` (allowed: US-nn or EU-nn, numbered from 01, e.g. US-05, EU-01)"
    );
    // A bad top-level cluster is reported once, not again for the domain that inherits it.
    assert_eq!(
        errors(&GOOD.replace("US-05", "US-00")),
        "dir/sslprov.yaml:2:1: braze_cluster: invalid Braze cluster `US-00`: clusters are numbered from 01 (allowed: US-nn or EU-nn, numbered from 01, e.g. US-05, EU-01)"
    );
}

#[test]
fn invalid_domain_name() {
    assert_eq!(
        errors(&GOOD.replace("url1234.acme.com", "url_1234.acme.com")),
        "dir/sslprov.yaml:7:5: domains.acme.tracking_domain: invalid domain name `url_1234.acme.com`: label `url_1234` has characters other than letters, digits and `-` (allowed: lower-case letters, digits and `-` in labels of 1 to 63 characters separated by dots, no label starting or ending with `-`, the last label not all digits, at most 253 characters, no trailing dot)"
    );
}

#[test]
fn a_trailing_dot_is_refused_not_trimmed() {
    let e = errors(&GOOD.replace("url1234.acme.com", "url1234.acme.com."));
    assert!(
        e.starts_with("dir/sslprov.yaml:7:5: domains.acme.tracking_domain: invalid domain name `url1234.acme.com.`: ends with a dot; write it without: `url1234.acme.com` (allowed: "),
        "{e}"
    );
    let e = errors(&GOOD.replace("zone: acme.com", "zone: acme.com."));
    assert!(
        e.starts_with("dir/sslprov.yaml:9:5: domains.acme.zone: invalid zone name `acme.com.`: ends with a dot"),
        "{e}"
    );
}

#[test]
fn an_ip_address_is_not_a_tracking_domain() {
    let e = errors(&GOOD.replace("url1234.acme.com", "10.0.0.1").replace("    zone: acme.com\n", ""));
    assert!(
        e.starts_with("dir/sslprov.yaml:7:5: domains.acme.tracking_domain: invalid domain name `10.0.0.1`: the last label `1` is all digits (an IP address is not a domain name) (allowed: "),
        "{e}"
    );
}

#[test]
fn tracking_domain_outside_or_at_its_zone() {
    assert_eq!(
        errors(&GOOD.replace("zone: acme.com", "zone: acme.org")),
        "dir/sslprov.yaml:9:5: domains.acme.zone: tracking domain `url1234.acme.com` is outside its zone `acme.org` (allowed: a zone that is a parent of the tracking domain)"
    );
    // A suffix that is not on a label boundary is outside too.
    assert_eq!(
        errors(&GOOD.replace("zone: acme.com", "zone: cme.com")),
        "dir/sslprov.yaml:9:5: domains.acme.zone: tracking domain `url1234.acme.com` is outside its zone `cme.com` (allowed: a zone that is a parent of the tracking domain)"
    );
    assert_eq!(
        errors(&GOOD.replace("zone: acme.com", "zone: url1234.acme.com")),
        "dir/sslprov.yaml:9:5: domains.acme.zone: tracking domain `url1234.acme.com` is the apex of its zone `url1234.acme.com` (allowed: a zone that is a parent of the tracking domain)"
    );
}

#[test]
fn duplicate_tracking_domains() {
    assert_eq!(
        errors(&GOOD.replace("click.beta.io", "url1234.acme.com")),
        "dir/sslprov.yaml:11:5: domains.beta.tracking_domain: tracking domain `url1234.acme.com` is already used by domain `acme` at line 7, column 5 (allowed: each tracking domain once)"
    );
}

#[test]
fn a_copied_brand_block_under_the_same_key_is_a_duplicate_not_a_replacement() {
    let copied = format!("{GOOD}  acme:\n    tracking_domain: url9.acme.com\n    esp: ses\n");
    assert_eq!(
        errors(&copied),
        "dir/sslprov.yaml:14:3: domains.acme: duplicate key `acme`, first at line 6, column 3 (allowed: each key once in a mapping)"
    );
    let e = errors(&GOOD.replace("    zone: acme.com\n", "    zone: acme.com\n    esp: ses\n"));
    assert_eq!(
        e,
        "dir/sslprov.yaml:10:5: domains.acme.esp: duplicate key `esp`, first at line 8, column 5 (allowed: each key once in a mapping)"
    );
}

#[test]
fn unknown_field_is_refused() {
    assert_eq!(
        errors(&GOOD.replace("    zone: acme.com", "    zone: acme.com\n    origin: x")),
        "dir/sslprov.yaml:10:5: domains.acme.origin: unknown field `origin` (allowed: `tracking_domain`, `esp`, `zone`, `braze_cluster`, `cdn`, `dns`, `advanced_certificate`, `brand_group`, `tier`, `tracking_record`, `managed_https`)"
    );
}

#[test]
fn missing_field_and_missing_cluster() {
    assert_eq!(
        errors(&GOOD.replace("    esp: sendgrid\n", "")),
        "dir/sslprov.yaml:6:3: domains.acme: missing field `esp` (allowed: `sendgrid`, `ses`, `sparkpost`)"
    );
    assert_eq!(
        errors(&GOOD.replace("braze_cluster: US-05\n", "")),
        "dir/sslprov.yaml:5:3: domains.acme: no braze_cluster: set it at the top level or on the domain (allowed: US-nn or EU-nn, numbered from 01, e.g. US-05, EU-01)"
    );
}

#[test]
fn apex_and_version() {
    assert_eq!(
        errors(&GOOD.replace("url1234.acme.com", "acme.com")),
        "dir/sslprov.yaml:7:5: domains.acme.tracking_domain: `acme.com` is a zone apex; a tracking domain is a subdomain such as url1234.acme.com (allowed: a subdomain of the zone)"
    );
    assert_eq!(
        errors(&GOOD.replace("version: 1", "version: 2")),
        "dir/sslprov.yaml:1:1: version: unsupported spec version `2` (allowed: 1)"
    );
}

#[test]
fn cdn_and_dns_must_fit_together() {
    assert_eq!(
        errors(&GOOD.replace("cdn: cloudfront", "cdn: cloudflare")),
        "dir/sslprov.yaml:4:13: defaults.cdn: cdn `cloudflare` needs the zone's DNS at Cloudflare, but dns is `route53` (allowed: dns: cloudflare with cdn: cloudflare)"
    );
    let ok = parse(&GOOD.replace("{ cdn: cloudfront, dns: route53 }", "{ cdn: cloudflare, dns: cloudflare }")).unwrap();
    assert_eq!((ok.domains["acme"].cdn.as_str(), ok.domains["acme"].dns.as_str()), ("cloudflare", "cloudflare"));
    assert_eq!(
        errors(&GOOD.replace("    zone: acme.com\n", "    zone: acme.com\n    advanced_certificate: true\n")),
        "dir/sslprov.yaml:10:5: domains.acme.advanced_certificate: advanced_certificate applies to cdn `cloudflare` only; this domain's cdn is `cloudfront` (allowed: false, or cdn `cloudflare`)"
    );
}

/// A brand group shares one set of CDN objects (a Front Door profile), so its domains agree on the
/// tier; the options apply only where the CDN honours them.
#[test]
fn brand_groups_and_their_tier() {
    let fd = GOOD.replace("cdn: cloudfront", "cdn: azure-frontdoor");
    let both = |acme: &str, beta: &str| {
        fd.replace("    zone: acme.com\n", &format!("    zone: acme.com\n{acme}"))
            .replace("    braze_cluster: EU-01\n", &format!("    braze_cluster: EU-01\n{beta}"))
    };
    let ok = parse(&both("    brand_group: retail\n    tier: premium\n", "    brand_group: news\n")).unwrap();
    assert_eq!(ok.domains["acme"].brand_group.as_deref(), Some("retail"));
    assert_eq!(ok.domains["acme"].tier.as_deref(), Some("premium"));
    assert_eq!((ok.domains["beta"].brand_group.as_deref(), ok.domains["beta"].tier.as_deref()), (Some("news"), None));
    assert_eq!(
        errors(&both("    brand_group: retail\n    tier: premium\n", "    brand_group: retail\n")),
        "dir/sslprov.yaml:16:5: domains.beta.tier: tier `standard` (the default) differs from tier `premium` of domains.acme \
         (line 11) in brand group `retail`: the domains of a brand group share their CDN objects, of one tier (allowed: \
         `premium`, as domains.acme, or another brand_group)"
    );
    assert_eq!(
        errors(&both("    tier: premium\n", "    tier: standard\n")),
        "dir/sslprov.yaml:15:5: domains.beta.tier: tier `standard` differs from tier `premium` of domains.acme (line 10) \
         in brand group `frontdoor`: the domains of a brand group share their CDN objects, of one tier (allowed: \
         `premium`, as domains.acme, or another brand_group)"
    );
    assert_eq!(
        errors(&both("    brand_group: Retail_1\n    tier: gold\n", "")),
        "dir/sslprov.yaml:10:5: domains.acme.brand_group: invalid brand group `Retail_1` (allowed: lower-case letters, \
         digits and inner `-`, at most 32 characters, e.g. `retail`)\n\
         dir/sslprov.yaml:11:5: domains.acme.tier: unknown tier `gold` (allowed: `standard` (the default) or `premium`, \
         the same for every domain of a brand group)"
    );
    assert_eq!(
        errors(&GOOD.replace("    zone: acme.com\n", "    zone: acme.com\n    brand_group: retail\n")),
        "dir/sslprov.yaml:10:5: domains.acme.brand_group: brand_group applies to cdn `azure-frontdoor` only; this \
         domain's cdn is `cloudfront` (allowed: no brand_group, or cdn `azure-frontdoor`)"
    );
}

/// `defaults:` carries a brand group and tier for the domains whose CDN honours them and that set
/// none; a domain's own value wins, and a domain on another CDN is left alone.
#[test]
fn brand_group_and_tier_defaults() {
    let with = |defaults: &str| GOOD.replace("{ cdn: cloudfront, dns: route53 }", defaults);
    let options = |s: &Spec, key: &str| {
        let d = &s.domains[key];
        (d.brand_group.clone(), d.tier.clone())
    };
    let some = |g: &str, t: &str| (Some(g.to_owned()), Some(t.to_owned()));

    let ok = parse(&with("{ cdn: azure-frontdoor, tier: premium }")).unwrap();
    assert_eq!(options(&ok, "acme"), (None, Some("premium".into())));
    assert_eq!(options(&ok, "beta"), (None, Some("premium".into())));

    // The domain's own values win, each on its own: beta keeps the default's tier.
    let text = with("{ cdn: azure-frontdoor, brand_group: retail, tier: premium }")
        .replace("    zone: acme.com\n", "    zone: acme.com\n    brand_group: news\n    tier: standard\n")
        .replace("    braze_cluster: EU-01\n", "    braze_cluster: EU-01\n    brand_group: b2b\n");
    let ok = parse(&text).unwrap();
    assert_eq!(options(&ok, "acme"), some("news", "standard"));
    assert_eq!(options(&ok, "beta"), some("b2b", "premium"));

    // A domain on a CDN that honours neither takes neither, and is no error.
    let text = with("{ cdn: azure-frontdoor, brand_group: retail, tier: premium }")
        .replace("    braze_cluster: EU-01\n", "    braze_cluster: EU-01\n    cdn: cloudfront\n");
    let ok = parse(&text).unwrap();
    assert_eq!(options(&ok, "acme"), some("retail", "premium"));
    assert_eq!(options(&ok, "beta"), (None, None));
    // Its own value there still is.
    assert_eq!(
        errors(&text.replace("    cdn: cloudfront\n", "    cdn: cloudfront\n    tier: premium\n")),
        "dir/sslprov.yaml:15:5: domains.beta.tier: tier applies to cdn `azure-frontdoor` only; this domain's cdn is \
         `cloudfront` (allowed: no tier, or cdn `azure-frontdoor`)"
    );
    // A default no domain can take would change nothing: refused where it is written.
    assert_eq!(
        errors(&with("{ cdn: cloudfront, tier: premium }")),
        "dir/sslprov.yaml:4:30: defaults.tier: tier applies to cdn `azure-frontdoor` only, and no domain of the spec is \
         on it (allowed: no defaults.tier, or a domain with cdn `azure-frontdoor`)"
    );
    // A wrong default is reported once, where it is written, not for every domain.
    assert_eq!(
        errors(&with("{ cdn: azure-frontdoor, brand_group: Retail, tier: gold }")),
        "dir/sslprov.yaml:4:35: defaults.brand_group: invalid brand group `Retail` (allowed: lower-case letters, digits \
         and inner `-`, at most 32 characters, e.g. `retail`)\n\
         dir/sslprov.yaml:4:56: defaults.tier: unknown tier `gold` (allowed: `standard` (the default) or `premium`, the \
         same for every domain of a brand group)"
    );
}

/// A domain whose inherited tier disagrees with its group is reported in the domain (the fix is
/// there: its own `tier`, or another group), with the line of the default it took.
#[test]
fn a_default_tier_that_splits_a_brand_group_is_located() {
    let fd = GOOD.replace("{ cdn: cloudfront, dns: route53 }", "{ cdn: azure-frontdoor, tier: premium }");
    assert_eq!(
        errors(&fd.replace("    zone: acme.com\n", "    zone: acme.com\n    tier: standard\n")),
        "dir/sslprov.yaml:11:3: domains.beta.tier: tier `premium` (from defaults.tier, line 4) differs from tier \
         `standard` of domains.acme (line 10) in brand group `frontdoor`: the domains of a brand group share their CDN \
         objects, of one tier (allowed: `standard`, as domains.acme, or another brand_group)"
    );
    assert_eq!(
        errors(&fd.replace("    braze_cluster: EU-01\n", "    braze_cluster: EU-01\n    tier: standard\n")),
        "dir/sslprov.yaml:14:5: domains.beta.tier: tier `standard` differs from tier `premium` (from defaults.tier, \
         line 4) of domains.acme (line 6) in brand group `frontdoor`: the domains of a brand group share their CDN \
         objects, of one tier (allowed: `premium`, as domains.acme, or another brand_group)"
    );
}

#[test]
fn several_errors_are_reported_together_in_file_order() {
    let text =
        GOOD.replace("EU-01", "XX-01").replace("zone: acme.com", "zone: acme.org").replace("esp: sparkpost", "esp: x");
    let lines: Vec<String> = parse(&text).unwrap_err().0.iter().map(|e| format!("{}:{}", e.line, e.column)).collect();
    assert_eq!(lines, ["9:5", "12:5", "13:5"]);
}

#[test]
fn yaml_syntax_error_has_a_position() {
    assert_eq!(
        errors("version: 1\ndomains:\n  acme: [\n"),
        "dir/sslprov.yaml:4:1: invalid YAML: while parsing a node, did not find expected node content"
    );
}

#[test]
fn a_file_that_is_not_utf8_is_refused_at_the_first_bad_byte() {
    let e = Spec::from_bytes(Path::new("s.yaml"), b"version: 1\nbraze_cluster: \xffUS\n").unwrap_err();
    assert_eq!(e.to_string(), "s.yaml:2:16: not UTF-8 text: byte 0xFF is not valid UTF-8 (allowed: a UTF-8 text file)");
}

#[test]
fn the_state_may_not_overwrite_the_spec() {
    assert_eq!(
        errors(&GOOD.replace("path: sslprov.state.json", "path: sslprov.yaml")),
        "dir/sslprov.yaml:3:10: state.path: the state path is the spec itself (allowed: a file other than the spec)"
    );
}
