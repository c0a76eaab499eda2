//! KeyCDN as the CDN, with the certificate sslprov orders itself by ACME DNS-01: against the KeyCDN
//! emulator (every request checked against shared/keycdn/api.md), Pebble (an RFC 8555 test CA,
//! validating the challenge by asking a DNS server that reads the project's DNS host), and DNS at
//! Route 53 (moto) or Cloudflare (its emulator).

use std::sync::atomic::Ordering;

use serde_json::Value;
use sslprov_keycdn::zone_name;

use crate::support::{Project, Run};

pub fn spec(esp: &str, dns: &str) -> String {
    format!(
        "\
version: 1
braze_cluster: US-05
state: {{ path: sslprov.state.json }}
defaults: {{ cdn: keycdn, dns: {dns} }}
domains:
  acme:
    tracking_domain: url1234.acme.com
    esp: {esp}
    zone: acme.com
"
    )
}

fn apply(p: &Project) -> Run {
    p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"], 0)
}

/// The values at `name` of type `rtype` at the project's DNS host.
async fn record(p: &Project, dns: &str, name: &str, rtype: &str) -> Vec<String> {
    match dns {
        "cloudflare" => p
            .cloudflare()
            .records(&p.cf_zone("acme.com"))
            .into_iter()
            .filter(|r| r.name == name && r.r#type == rtype)
            .map(|r| r.content)
            .collect(),
        _ => {
            let r53 = p.aws.route53();
            let zones = r53.list_hosted_zones().send().await.unwrap();
            let id = zones.hosted_zones()[0].id().to_owned();
            let sets = r53.list_resource_record_sets().hosted_zone_id(id).send().await.unwrap();
            sets.resource_record_sets()
                .iter()
                .filter(|s| s.name() == format!("{name}.") && s.r#type().as_str() == rtype)
                .flat_map(|s| s.resource_records().iter().map(|r| r.value().trim_end_matches('.').to_owned()))
                .collect()
        }
    }
}

/// When Pebble was asked to finalize orders (the certificate issued right after), in order.
fn finalized(p: &Project) -> Vec<std::time::Instant> {
    p.pebble().requests().iter().filter(|r| r.path.contains("finalize")).map(|r| r.at).collect()
}

fn keycdn_at(p: &Project, op: &str) -> Vec<std::time::Instant> {
    p.keycdn().request_log().iter().filter(|r| r.operation == Some(op) && r.status == 200).map(|r| r.at).collect()
}

fn not_after(p: &Project) -> std::time::SystemTime {
    let state = p.state();
    let text = state.to_string();
    assert!(!text.contains("PRIVATE KEY"), "no clear private key in the state");
    let cert = &state["resources"]["acme.certificate"];
    let at = cert["outputs"]["not_after"].as_str().unwrap_or_else(|| panic!("not_after in {cert:#}"));
    humantime::parse_rfc3339_weak(at).expect("RFC 3339")
}

/// SendGrid on KeyCDN, with DNS at Route 53 and at Cloudflare: the certificate issued by the CA
/// before anything points at KeyCDN, the zone made with it uploaded, the alias, the CNAME last; a
/// clean re-plan; renewal when the clock says so (a new certificate, uploaded into the same zone,
/// nothing else moved); and a destroy that leaves nothing behind.
#[tokio::test(flavor = "multi_thread")]
async fn sendgrid_on_keycdn_is_certificate_first_renews_and_destroys_cleanly() {
    for dns in ["route53", "cloudflare"] {
        let p = Project::new(&spec("sendgrid", dns)).await;
        let name = zone_name("url1234.acme.com");
        let url = p.keycdn().zone_url(&name);

        let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
        assert!(
            planned.stdout.contains("Plan: 5 to add, 0 to change, 0 to replace, 0 to destroy."),
            "{dns}: {planned:?}"
        );
        for part in [
            "+ certificate \"acme.certificate\"",
            "+ record \"acme.challenge_record\"",
            "+ zone \"acme.zone\"",
            "+ zonealias \"acme.zone_alias\"",
            "+ record \"acme.tracking_record\"",
        ] {
            assert!(planned.stdout.contains(part), "{dns}: {part}: {planned:?}");
        }
        let started = std::time::Instant::now();
        let applied = apply(&p);
        let took = started.elapsed();

        // The zone, as SendGrid's KeyCDN guide and the cache rules say, with the certificate.
        let zone = p.keycdn().zone_named(&name).unwrap_or_else(|| panic!("{dns}: zone {name}: {applied:?}"));
        for (field, value) in [
            ("type", "pull"),
            ("originurl", "https://sendgrid.net"),
            ("cachehostheader", "enabled"),
            ("cacheignorequerystring", "disabled"),
            ("cacheignorecachecontrol", "disabled"),
            ("cachemaxexpire", "1"),
            ("expire", "0"),
            ("forcessl", "disabled"),
            ("sslcert", "custom"),
        ] {
            assert_eq!(zone[field], Value::from(value), "{dns}: {field}");
        }
        let chain = zone["customsslcert"].as_str().expect("a custom certificate");
        assert!(chain.matches("-----BEGIN CERTIFICATE-----").count() >= 2, "{dns}: the chain, not the leaf only");
        assert!(zone["customsslkey"].as_str().is_some_and(|k| k.starts_with("-----BEGIN PRIVATE KEY-----")));
        let alias = p.keycdn().alias_named("url1234.acme.com").expect("the alias");
        assert_eq!(alias.zone_id, zone["id"].as_str().unwrap(), "{dns}");
        assert_eq!(record(&p, dns, "url1234.acme.com", "CNAME").await, [url.as_str()], "{dns}");

        // The order: issued, then the zone made with it, then the alias (while the name did not
        // point at KeyCDN yet), and the CNAME last.
        let issued = finalized(&p);
        let (added, aliased) = (keycdn_at(&p, "add-zone"), keycdn_at(&p, "add-zonealias"));
        assert_eq!((issued.len(), added.len(), aliased.len()), (1, 1, 1), "{dns}: one of each");
        assert!(issued[0] < added[0] && added[0] < aliased[0], "{dns}: certificate → zone → alias");
        assert_eq!(alias.cname_when_added, None, "{dns}: the alias came before the CNAME moved");

        // No clear private key anywhere sslprov writes.
        let state = std::fs::read_to_string(p.path("sslprov.state.json")).unwrap();
        assert!(!state.contains("PRIVATE KEY") && state.contains("sealed:v1:"), "{dns}");
        let json = p.ok(&["plan", "-f", "sslprov.yaml", "--json", "--detailed-exitcode"], 0);
        assert!(!json.stdout.contains("PRIVATE KEY"), "{dns}");
        p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
        let counts = p.keycdn().counts();
        eprintln!("{dns}: apply took {took:?}; KeyCDN requests so far {counts:?}");

        // Ten days before expiry: the certificate is replaced, a new one first, and uploaded into
        // the same zone; the alias and the CNAME do not move.
        let due = not_after(&p) - std::time::Duration::from_secs(10 * 86_400);
        let clock = humantime::format_rfc3339_seconds(due).to_string();
        let later =
            p.command(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"]).env("SSLPROV_NOW", &clock).output();
        let later: Run = later.expect("plan").into();
        assert_eq!(later.code, 2, "{dns}: {later:?}");
        assert!(later.stdout.contains("# acme.certificate must be replaced (new one created first)"), "{later:?}");
        assert!(later.stdout.contains("days left; sslprov renews from 30 days before expiry)"), "{later:?}");
        assert!(later.stdout.contains("# acme.zone will be updated in place"), "{later:?}");
        assert!(!later.stdout.contains("acme.tracking_record"), "{dns}: the CNAME stays: {later:?}");
        let renewed: Run = p
            .command(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"])
            .env("SSLPROV_NOW", &clock)
            .output()
            .expect("apply")
            .into();
        assert_eq!(renewed.code, 0, "{dns}: {renewed:?}");
        let zone2 = p.keycdn().zone_named(&name).expect("the same zone");
        assert_eq!(zone2["id"], zone["id"], "{dns}: edited in place");
        assert_ne!(zone2["customsslcert"], zone["customsslcert"], "{dns}: the new certificate uploaded");
        assert_eq!(finalized(&p).len(), 2, "{dns}: one new certificate");
        assert_eq!(keycdn_at(&p, "add-zone").len(), 1, "{dns}: no second zone");
        assert_eq!(p.keycdn().alias_named("url1234.acme.com").map(|a| a.zone_id), Some(alias.zone_id.clone()));
        assert_eq!(record(&p, dns, "url1234.acme.com", "CNAME").await, [url.as_str()], "{dns}");
        assert!(not_after(&p) > due + std::time::Duration::from_secs(10 * 86_400), "{dns}: the new one is later");
        p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);

        p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"], 0);
        assert!(p.keycdn().zones().is_empty(), "{dns}: the zone is gone");
        assert!(p.keycdn().aliases().is_empty(), "{dns}: the alias is gone");
        assert!(record(&p, dns, "url1234.acme.com", "CNAME").await.is_empty(), "{dns}");
        assert!(record(&p, dns, "_acme-challenge.url1234.acme.com", "TXT").await.is_empty(), "{dns}");
        p.keycdn().assert_no_violations();
        if let Some(cf) = &p.cf {
            cf.assert_no_violations();
        }
    }
}

/// A challenge the CA cannot see (the record is not served): the order fails, apply says why and
/// what to check, and nothing points anywhere new: no zone, no alias, the HTTP-era CNAME still at
/// SendGrid. Once the record is served, the next apply orders a new certificate and finishes.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_acme_order_is_reported_with_the_fix_and_moves_nothing() {
    let p = Project::new(&spec("sendgrid", "route53")).await.env("SSLPROV_ACME_DNS_WAIT", "1s");
    let zones = p.aws.route53().list_hosted_zones().send().await.unwrap();
    let zid = zones.hosted_zones()[0].id().trim_start_matches("/hostedzone/").to_owned();
    p.aws.put_record(&zid, "url1234.acme.com", "CNAME", "sendgrid.net", 3600).await;

    p.hold_issuance.store(true, Ordering::SeqCst);
    let failed = p.run(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"]);
    assert_eq!(failed.code, 1, "{failed:?}");
    let said = failed.stderr.replace('\n', " ");
    assert!(said.contains("acme.certificate"), "{failed:?}");
    assert!(said.contains("the CA could not validate url1234.acme.com"), "{failed:?}");
    assert!(said.contains("check that the TXT record _acme-challenge.url1234.acme.com is published"), "{failed:?}");
    assert!(said.contains("nothing points at the CDN yet"), "{failed:?}");
    assert!(p.keycdn().zones().is_empty() && p.keycdn().aliases().is_empty(), "nothing at KeyCDN");
    assert_eq!(record(&p, "route53", "url1234.acme.com", "CNAME").await, ["sendgrid.net"], "still at SendGrid");

    let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(planned.stdout.contains("# acme.certificate must be replaced"), "{planned:?}");
    p.hold_issuance.store(false, Ordering::SeqCst);
    apply(&p);
    let url = p.keycdn().zone_url(&zone_name("url1234.acme.com"));
    assert_eq!(record(&p, "route53", "url1234.acme.com", "CNAME").await, [url]);
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    p.keycdn().assert_no_violations();
}

/// SparkPost and SES on KeyCDN: SparkPost is refused with the reason; SES is planned (the facts
/// file gives it a Host rule: SES finds the customer by Host, which Forward Host Header sends).
#[tokio::test(flavor = "multi_thread")]
async fn sparkpost_is_refused_on_keycdn_and_ses_is_planned() {
    let p = Project::new(&spec("sparkpost", "route53")).await;
    let refused = p.run(&["plan", "-f", "sslprov.yaml"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("SparkPost is not supported on KeyCDN, because"), "{refused:?}");

    let p = Project::new(&spec("ses", "route53")).await;
    let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(planned.stdout.contains("+ originurl"), "{planned:?}");
    assert!(planned.stdout.contains("\"https://r.us-east-1.awstrack.me\""), "{planned:?}");
    // The ESP's part of the zone, as SES's section gives it (merged once the spec is complete).
    assert!(planned.stdout.contains(r#"+ esp.cachehostheader     = "enabled""#), "{planned:?}");
}

/// KeyCDN has no search and allows about 60 requests a minute: a run lists zones and aliases once,
/// however many domains it makes (each create used to list both again: 10 and 5 lists here).
#[tokio::test(flavor = "multi_thread")]
async fn an_apply_lists_the_account_a_fixed_number_of_times_whatever_the_domains() {
    let mut spec = spec("sendgrid", "route53");
    for n in 1..=3 {
        spec.push_str(&format!(
            "  brand{n}:\n    tracking_domain: url{n}.acme.com\n    esp: sendgrid\n    zone: acme.com\n"
        ));
    }
    let p = Project::new(&spec).await;
    apply(&p);
    let counts = p.keycdn().counts();
    assert_eq!((counts["add-zone"], counts["add-zonealias"]), (4, 4), "{counts:?}");
    assert_eq!((counts["list-zones"], counts["list-zonealiases"]), (1, 1), "{counts:?}");
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    p.keycdn().assert_no_violations();
}
