use std::collections::BTreeSet;

use serde_json::{Value, json};
use sslprov_provider::Outputs;

use super::cdn::DNS;
use super::*;
use crate::spec::{Domain, Region};

fn domain(esp: &str, cdn: &str, region: Region) -> Domain {
    Domain {
        key: "acme".into(),
        tracking_domain: "url1234.acme.com".into(),
        esp: esp.into(),
        braze_cluster: "US-05".into(),
        region,
        cdn: cdn.into(),
        dns: templates().cdn[cdn].requires.dns.first().cloned().unwrap_or_else(|| templates().defaults.dns.clone()),
        zone: "acme.com".into(),
        advanced_certificate: false,
        brand_group: None,
        tier: None,
        tracking_record: Default::default(),
        // Whatever the ESP's own HTTPS asks the spec for.
        managed_https: templates().esp[esp]
            .managed_https
            .iter()
            .flat_map(|m| m.values.keys().map(|k| (k.clone(), format!("{k}-value"))))
            .collect(),
    }
}

/// Every output a resource could report, so that every reference resolves.
fn everything() -> Outputs {
    let record = json!({"zone": "", "name": "_x.url1234.acme.com", "type": "CNAME", "ttl": 300, "values": ["_y.acm-validations.aws"]});
    let challenge =
        json!({"name": "_acme-challenge.url1234.acme.com", "type": "CNAME", "values": ["t0k.fastly-validations.com"]});
    Outputs::default()
        .with("id", "thing-1")
        .with("name", "lb")
        .with("arn", "arn:aws:acm:us-east-1:1:certificate/x")
        .with("domain_name", "d1.cloudfront.net")
        .with("validation_records", [record])
        .with("challenge", challenge)
        .with("cname_target", "q.sni.example")
        .with("self_link", "https://www.googleapis.com/compute/v1/projects/p/global/things/lb")
        .with("ip", "34.120.0.1")
        .with("record", json!({"name": "_acme-challenge.url1234.acme.com", "type": "CNAME", "values": ["u.9.authorize.certificatemanager.goog"]}))
        .with("host_name", "sslprov-ep-sendgrid-net-0123456789abcdef.z01.azurefd.net")
        .with("validation", json!({"name": "_dnsauth.url1234.acme.com", "type": "TXT", "values": ["0f1e2d3c4b5a69788796a5b4c3d2e1f0"]}))
        .with("certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        .with("key", "sealed:v1:AAAA")
        .with("id", "190711")
        .with("url", "sslp0123456789ab-1c6b.kxcdn.com")
}

/// `part`'s spec for the domain, with every other resource reporting everything.
fn rendered(d: &Domain, part: &str) -> Value {
    let t = DomainTemplate::of(d).expect("templates exist");
    let all = everything();
    let outputs = |_: &str| Lookup::Known(&all);
    let r = t.render(t.cdn.resource(part).expect("part"), &outputs).expect("renders");
    assert!(r.is_complete(), "{part}: {:?}", r.unknown);
    Value::Object(r.spec)
}

#[test]
fn every_template_loads_and_every_cdn_renders_for_every_esp_and_region() {
    let t = templates();
    assert!(t.esp.len() >= 3 && t.cdn.len() >= 2);
    for (cdn_name, cdn) in &t.cdn {
        cdn.check().unwrap_or_else(|e| panic!("{cdn_name}: {e}"));
        for esp in t.esp.keys() {
            if cdn.requires.managed_https && t.esp[esp].managed_https.is_none() {
                continue;
            }
            for region in [Region::Us, Region::Eu] {
                let d = domain(esp, cdn_name, region);
                for r in DomainTemplate::of(&d).expect("templates exist").parts() {
                    rendered(&d, &r.part);
                }
            }
        }
    }
}

#[test]
fn every_template_names_providers_and_kinds_that_exist() {
    for (cdn_name, cdn) in &templates().cdn {
        for r in &cdn.resources {
            let providers: Vec<&str> =
                if r.provider == DNS { crate::registry::dns_hosts() } else { vec![r.provider.as_str()] };
            for p in providers {
                let info =
                    crate::registry::get(p).unwrap_or_else(|| panic!("{cdn_name}.{}: no provider {p}", r.part)).info;
                let kind = info.kind(&r.kind).unwrap_or_else(|| panic!("{cdn_name}.{}: {p} has no {}", r.part, r.kind));
                if r.existing.is_some() {
                    assert!(kind.adoptable, "{cdn_name}.{}: {p} cannot take over a {}", r.part, r.kind);
                }
            }
        }
    }
}

/// The safe order, for every CDN: the tracking record comes last, and only once everything that
/// takes time to become usable (a certificate, a CDN configuration) is ready.
#[test]
fn every_cdn_flips_the_tracking_record_last_after_every_readiness_gate() {
    for (cdn_name, cdn) in &templates().cdn {
        let order: Vec<&str> = cdn.order().iter().map(|r| r.part.as_str()).collect();
        assert_eq!(order.last(), Some(&TRACKING), "{cdn_name}: {order:?}");
        let gates = cdn.ready_closure(TRACKING);
        for r in cdn.resources.iter().filter(|r| r.part != TRACKING && r.provider != DNS) {
            let info = crate::registry::get(&r.provider).expect("provider").info;
            if info.kind(&r.kind).is_some_and(|k| k.becomes_ready) {
                assert!(
                    gates.contains(&r.part),
                    "{cdn_name}: the tracking record does not wait for {}: {gates:?}",
                    r.part
                );
            }
        }
        for r in cdn.order() {
            let pos = |p: &str| order.iter().position(|o| *o == p).expect("ordered");
            for d in r.dependencies() {
                assert!(pos(&d) < pos(&r.part), "{cdn_name}: {} before its dependency {d}", r.part);
            }
        }
    }
}

#[test]
fn a_broken_graph_is_refused() {
    let t: CdnTemplate = serde_yaml::from_str(
        "name: X\nresources:\n  - { part: a, provider: p, kind: k, spec: { x: '${b.y}' } }\n  - { part: b, provider: p, kind: k, spec: { x: '${a.y}' } }\nverify: { dns: cname, error_page: [], https_redirect: [], error_fix: {}, forwarded_host: { overwritten: false, says: s }, certificate: { no_tls: n, untrusted: u, wrong_names: w, expired: e, renewal: r } }\n",
    )
    .unwrap();
    assert!(t.check().unwrap_err().contains("depend on each other"));
}

fn set(items: &[&str]) -> Value {
    json!(items)
}

#[test]
fn every_distribution_gets_the_common_settings() {
    for esp in ["sendgrid", "sparkpost", "ses"] {
        let d = rendered(&domain(esp, "cloudfront", Region::Us), "distribution");
        assert_eq!(d["aliases"], set(&["url1234.acme.com"]));
        assert_eq!(d["certificate_arn"], "arn:aws:acm:us-east-1:1:certificate/x");
        assert_eq!(
            (d["ssl_support_method"].as_str(), d["minimum_protocol_version"].as_str()),
            (Some("sni-only"), Some("TLSv1.2_2021"))
        );
        assert_eq!(d["behavior"]["viewer_protocol_policy"], "allow-all", "old http:// links must keep working");
        assert_eq!(d["origin"]["custom_headers"]["X-Forwarded-Host"], "url1234.acme.com");
        assert_eq!(d["origin"]["ssl_protocols"], set(&["TLSv1.2"]));
        assert_eq!(d["comment"], "sslprov: acme (url1234.acme.com)");
    }
}

#[test]
fn sendgrid_forwards_host_and_does_not_cache() {
    let d = rendered(&domain("sendgrid", "cloudfront", Region::Eu), "distribution");
    assert_eq!(d["origin"]["domain_name"], "sendgrid.net");
    assert_eq!(d["origin"]["protocol_policy"], "https-only");
    assert_eq!(d["behavior"]["forward_headers"], set(&["*"]));
    assert_eq!(
        (d["behavior"]["forward_query_strings"].as_str(), d["behavior"]["forward_cookies"].as_str()),
        (Some("all"), Some("all"))
    );
    assert_eq!(
        [&d["behavior"]["min_ttl"], &d["behavior"]["default_ttl"], &d["behavior"]["max_ttl"]],
        [&json!(0), &json!(0), &json!(0)]
    );
}

#[test]
fn sparkpost_keeps_origin_host_and_caches_ten_seconds() {
    let us = rendered(&domain("sparkpost", "cloudfront", Region::Us), "distribution");
    let eu = rendered(&domain("sparkpost", "cloudfront", Region::Eu), "distribution");
    assert_eq!(
        (us["origin"]["domain_name"].as_str(), eu["origin"]["domain_name"].as_str()),
        (Some("spgo.io"), Some("eu.spgo.io"))
    );
    assert_eq!(us["origin"]["protocol_policy"], "match-viewer");
    assert_eq!(us["behavior"]["forward_headers"], set(&["User-Agent"]), "Host must not be forwarded");
    assert_eq!(us["behavior"]["forward_query_strings"], json!({"only": ["target"]}));
    assert_eq!(us["behavior"]["forward_cookies"], "none");
    assert_eq!(
        [&us["behavior"]["min_ttl"], &us["behavior"]["default_ttl"], &us["behavior"]["max_ttl"]],
        [&json!(1), &json!(10), &json!(10)]
    );
    assert_eq!(us["behavior"]["allowed_methods"], set(&["GET", "HEAD"]));
}

#[test]
fn ses_picks_the_regional_origin_and_forwards_all_but_cookies() {
    let us = rendered(&domain("ses", "cloudfront", Region::Us), "distribution");
    let eu = rendered(&domain("ses", "cloudfront", Region::Eu), "distribution");
    assert_eq!(us["origin"]["domain_name"], "r.us-east-1.awstrack.me");
    assert_eq!(eu["origin"]["domain_name"], "r.eu-central-1.awstrack.me");
    assert_eq!(us["behavior"]["forward_headers"], set(&["*"]));
    assert_eq!(
        (us["behavior"]["forward_query_strings"].as_str(), us["behavior"]["forward_cookies"].as_str()),
        (Some("all"), Some("none"))
    );
}

#[test]
fn on_cloudflare_the_tracking_record_is_a_proxied_cname_to_the_esp() {
    let d = domain("sparkpost", "cloudflare", Region::Eu);
    let r = rendered(&d, TRACKING);
    assert_eq!((&r["values"], &r["proxied"], &r["ttl"]), (&json!(["eu.spgo.io"]), &json!(true), &json!(1)));
    assert_eq!(rendered(&d, "config_rule")["ssl"], "full");
    assert_eq!(rendered(&d, "edge_certificate")["hosts"], json!(["url1234.acme.com"]));
}

#[test]
fn on_cloudfront_the_tracking_record_points_at_the_distribution() {
    let mut d = domain("ses", "cloudfront", Region::Us);
    let r = rendered(&d, TRACKING);
    assert_eq!(
        (&r["name"], &r["type"], &r["values"]),
        (&json!("url1234.acme.com"), &json!("ALIAS"), &json!(["d1.cloudfront.net"]))
    );
    d.tracking_record = crate::spec::TrackingRecord::Cname;
    assert_eq!(rendered(&d, TRACKING)["type"], "CNAME", "`tracking_record: cname` keeps a CNAME");
    assert!(r.get("proxied").is_none(), "the DNS host decides whether it proxies");
    let v = rendered(&domain("ses", "cloudfront", Region::Us), "validation_record");
    assert_eq!((&v["name"], &v["values"]), (&json!("_x.url1234.acme.com"), &json!(["_y.acm-validations.aws"])));
}

#[test]
fn a_resource_still_to_be_made_leaves_its_dependents_unknown() {
    let d = domain("sendgrid", "cloudfront", Region::Us);
    let t = DomainTemplate::of(&d).unwrap();
    let outputs = |_: &str| Lookup::Unknown;
    let r = t.render(t.cdn.resource("distribution").unwrap(), &outputs).unwrap();
    assert_eq!(r.unknown, BTreeSet::from(["certificate_arn".to_owned()]));
    let v = t.render(t.cdn.resource("validation_record").unwrap(), &outputs).unwrap();
    assert_eq!(v.unknown, BTreeSet::from(["name".into(), "type".into(), "values".into()]));
    assert_eq!(v.known()["zone"], "acme.com");
}

#[test]
fn on_fastly_each_esp_gets_its_caching_and_the_record_follows_the_subscription() {
    let sendgrid = rendered(&domain("sendgrid", "fastly", Region::Us), "service");
    assert_eq!(sendgrid["backend"]["address"], "sendgrid.net");
    assert_eq!(
        (&sendgrid["backend"]["ssl_cert_hostname"], &sendgrid["backend"]["ssl_sni_hostname"]),
        (&json!("sendgrid.net"), &json!("sendgrid.net"))
    );
    assert!(sendgrid["backend"].get("override_host").is_none(), "the client's Host reaches the ESP");
    assert_eq!(sendgrid["cache"], json!({"pass": true, "fallback_ttl": 0}));
    assert_eq!(sendgrid["forwarded_host"], "url1234.acme.com");
    assert_eq!(sendgrid["name"], "sslprov-url1234.acme.com");
    let sparkpost = rendered(&domain("sparkpost", "fastly", Region::Eu), "service");
    assert_eq!(
        (&sparkpost["backend"]["address"], &sparkpost["cache"]),
        (&json!("eu.spgo.io"), &json!({"pass": false, "fallback_ttl": 10}))
    );
    let ses = rendered(&domain("ses", "fastly", Region::Eu), "service");
    assert_eq!(ses["backend"]["ssl_sni_hostname"], "r.eu-central-1.awstrack.me");
    let v = rendered(&domain("ses", "fastly", Region::Us), "validation_record");
    assert_eq!(
        (&v["name"], &v["values"]),
        (&json!("_acme-challenge.url1234.acme.com"), &json!(["t0k.fastly-validations.com"]))
    );
    let t = rendered(&domain("ses", "fastly", Region::Us), TRACKING);
    assert_eq!(t["values"], json!(["q.sni.example"]), "the target the API reported");
}

fn cdn(resources: &str) -> CdnTemplate {
    let verify = "verify: { dns: cname, error_page: [], https_redirect: [], error_fix: {}, forwarded_host: { overwritten: false, says: s }, certificate: { no_tls: n, untrusted: u, wrong_names: w, expired: e, renewal: r } }";
    serde_yaml::from_str(&format!("name: X\nresources:\n{resources}\n  - {{ part: tracking_record, provider: dns, kind: record, spec: {{ v: '${{lb.id}}' }} }}\n{verify}\n"))
        .expect("parses")
}

#[test]
fn a_shared_part_may_use_only_spec_values_and_shared_parts_its_identity_determines() {
    let ok = cdn(
        "  - { part: lb, provider: p, kind: k, shared: lb, spec: { n: '${domain.cdn}' } }\n  - { part: pool, provider: p, kind: k, shared: '${esp.origin}', spec: { lb: '${lb.id}' } }",
    );
    ok.check().expect("a pool per origin may use the one load balancer");
    let domain_part = cdn(
        "  - { part: cert, provider: p, kind: k, spec: {} }\n  - { part: lb, provider: p, kind: k, shared: lb, spec: { c: '${cert.arn}' } }",
    );
    assert_eq!(
        domain_part.check().unwrap_err(),
        "lb is shared (one per `lb`) but needs `cert`, a part of each domain: a shared part may use spec values and \
         other shared parts only"
    );
    let wider = cdn(
        "  - { part: pool, provider: p, kind: k, shared: '${esp.origin}', spec: {} }\n  - { part: lb, provider: p, kind: k, shared: lb, spec: { p: '${pool.id}' } }",
    );
    assert!(wider.check().unwrap_err().contains("which its own identity does not determine"), "{:?}", wider.check());
    let bad_identity = cdn("  - { part: lb, provider: p, kind: k, shared: '${cert.arn}', spec: {} }");
    assert!(bad_identity.check().unwrap_err().contains("an identity may use"), "{:?}", bad_identity.check());
    let shared_tracking: CdnTemplate = serde_yaml::from_str(
        "name: X\nresources:\n  - { part: tracking_record, provider: dns, kind: record, shared: lb, spec: {} }\nverify: { dns: cname, error_page: [], https_redirect: [], error_fix: {}, forwarded_host: { overwritten: false, says: s }, certificate: { no_tls: n, untrusted: u, wrong_names: w, expired: e, renewal: r } }\n",
    )
    .expect("parses");
    assert!(shared_tracking.check().unwrap_err().contains("cannot be shared"));
}

#[test]
fn shared_parts_have_one_address_for_every_domain_of_their_identity() {
    let mut a = domain("sendgrid", "test-shared", Region::Us);
    let t = DomainTemplate::of(&a).expect("template");
    assert_eq!(t.address("lb").unwrap(), "lb@lb");
    assert_eq!(t.address("pool").unwrap(), "pool@sendgrid.net");
    assert_eq!(t.address("route").unwrap(), "acme.route");
    a.key = "beta".into();
    a.esp = "sparkpost".into();
    a.region = Region::Eu;
    let t = DomainTemplate::of(&a).expect("template");
    assert_eq!((t.address("lb").unwrap(), t.address("pool").unwrap()), ("lb@lb".into(), "pool@eu.spgo.io".into()));
}

#[test]
fn on_google_cloud_the_load_balancer_is_shared_and_the_record_is_an_a_record_to_its_address() {
    let d = domain("sparkpost", "google-cloud", Region::Eu);
    let t = DomainTemplate::of(&d).expect("templates exist");
    for part in ["address", "url_map", "https_proxy", "https_rule", "http_rule", "ssl_policy", "certificate_map"] {
        assert_eq!(t.address(part).expect("address"), format!("{part}@lb"));
    }
    assert_eq!(t.address("backend").expect("address"), "backend@eu.spgo.io");
    assert_eq!(t.address("host_rule").expect("address"), "acme.host_rule");
    let record = rendered(&d, TRACKING);
    assert_eq!((record["type"].as_str(), &record["values"]), (Some("A"), &json!(["34.120.0.1"])));
    let rule = rendered(&d, "host_rule");
    assert_eq!(rule["forwarded_host"], "url1234.acme.com", "X-Forwarded-Host is the tracking domain");
    assert_eq!(rendered(&d, "neg")["fqdn"], "eu.spgo.io");
    let policy = rendered(&d, "ssl_policy");
    assert_eq!(policy["min_tls_version"], "TLS_1_2");
    let tracking = t.cdn.resource(TRACKING).expect("tracking");
    assert!(tracking.ready.contains(&"certificate".to_owned()), "the record moves once the certificate is ACTIVE");
}

#[test]
fn on_azure_front_door_the_profile_is_shared_per_brand_group_and_the_record_is_a_cname_to_the_origin_s_endpoint() {
    let d = domain("sparkpost", "azure-frontdoor", Region::Eu);
    let t = DomainTemplate::of(&d).expect("templates exist");
    // No brand group: the spec's one profile, as before groups existed.
    assert_eq!(t.address("profile").expect("address"), "profile@frontdoor");
    assert_eq!(t.address("endpoint").expect("address"), "endpoint@frontdoor/eu.spgo.io");
    assert_eq!(rendered(&d, "profile"), json!({"name": "sslprov-frontdoor", "sku": "standard"}));
    assert_eq!(rendered(&d, "custom_domain")["profile"], "sslprov-frontdoor");
    let retail = Domain { brand_group: Some("retail".into()), tier: Some("premium".into()), ..d.clone() };
    let t = DomainTemplate::of(&retail).expect("templates exist");
    assert_eq!(t.address("profile").expect("address"), "profile@retail");
    assert_eq!(t.address("route").expect("address"), "route@retail/eu.spgo.io");
    assert_eq!(rendered(&retail, "profile"), json!({"name": "sslprov-retail", "sku": "premium"}));
    assert_eq!(rendered(&retail, "route_domain")["profile"], "sslprov-retail");
    assert_eq!(rendered(&d, "origin")["origin"], "eu.spgo.io");
    assert_eq!(rendered(&d, "origin")["host_header"], "origin", "SparkPost: Host = the origin");
    assert_eq!(rendered(&d, "route")["forwarding_protocol"], "MatchRequest");
    let sendgrid = domain("sendgrid", "azure-frontdoor", Region::Us);
    assert_eq!(rendered(&sendgrid, "origin")["host_header"], "client", "SendGrid: the tracking domain as Host");
    let txt = rendered(&d, "validation_record");
    assert_eq!((txt["type"].as_str(), txt["name"].as_str()), (Some("TXT"), Some("_dnsauth.url1234.acme.com")));
    let record = rendered(&d, TRACKING);
    assert_eq!(record["type"], "CNAME", "a CNAME straight to the endpoint: managed certificates rotate");
    assert_eq!(record["values"][0], "sslprov-ep-sendgrid-net-0123456789abcdef.z01.azurefd.net");
}

#[test]
fn every_adopted_discovery_target_is_an_origin_and_every_target_is_the_esps() {
    for (name, esp) in &templates().esp {
        assert!(!esp.discover.is_empty(), "{name}: no discover rules for sslprov init");
        for d in &esp.discover {
            let under = |t: &String| d.target == *t || d.target.ends_with(&format!(".{t}"));
            assert!(esp.verify.dns_targets.iter().any(under), "{name}: {} is none of its dns_targets", d.target);
            if d.adopt {
                // The CDN proxies to an origin: adopting any other target would send its clicks
                // somewhere else.
                assert!(!esp.regions_of(&d.target).is_empty(), "{name}: adopts {}, which is no origin", d.target);
            }
        }
    }
}

#[test]
fn discovery_tells_the_sendgrid_tracking_cname_from_the_account_id_one() {
    let sendgrid = &templates().esp["sendgrid"];
    let adopted = |name: &str, target: &str| sendgrid.discovery(name, target).map(|d| d.adopt);
    assert_eq!(adopted("url1234.acme.com", "sendgrid.net"), Some(true));
    assert_eq!(adopted("7654321.acme.com", "sendgrid.net"), Some(false));
    assert_eq!(adopted("links.acme.com", "sendgrid.net"), Some(true), "a chosen subdomain");
    assert_eq!(adopted("url1234.acme.com", "click.sendgrid.net"), Some(false), "Auto SSL");
    assert_eq!(adopted("url1234.acme.com", "x.sendgrid.net"), None);
    let ses = &templates().esp["ses"];
    assert_eq!(ses.discovery("t.acme.com", "r.us-west-2.awstrack.me").map(|d| d.adopt), Some(false));
    assert_eq!(ses.regions_of("r.eu-central-1.awstrack.me"), [Region::Eu]);
    assert_eq!(sendgrid.regions_of("sendgrid.net"), [Region::Us, Region::Eu]);
    let sparkpost = &templates().esp["sparkpost"];
    assert_eq!(sparkpost.discovery("t.acme.com", "acme.et.e.sparkpost.com").map(|d| d.adopt), Some(false));
    assert_eq!(sparkpost.discovery("t.acme.com", "et.e.sparkpost.com").map(|d| d.adopt), None);
}
