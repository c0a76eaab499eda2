//! Cloudflare as CDN and as DNS, against the Cloudflare API emulator (which checks every request
//! and response against Cloudflare's own API definition) and moto.

use std::time::Duration;

use serde_json::json;

use crate::support::Project;

pub const SENDGRID_ON_CLOUDFLARE: &str = "\
version: 1
braze_cluster: US-05
state: { path: sslprov.state.json }
defaults: { cdn: cloudflare, dns: cloudflare }
domains:
  acme:
    tracking_domain: url1234.acme.com
    esp: sendgrid
    zone: acme.com
";

fn plan(p: &Project, code: i32) -> crate::support::Run {
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], code)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http_era_record_is_proxied_in_place_and_the_rest_of_the_zone_is_untouched() {
    let p = Project::new(SENDGRID_ON_CLOUDFLARE).await;
    let cf = p.cloudflare();
    let zone = p.cf_zone("acme.com");
    let tracking = cf.add_record(&zone, "CNAME", "url1234", "sendgrid.net", false);
    cf.add_record(&zone, "A", "www", "192.0.2.10", true);
    cf.add_record(&zone, "TXT", "acme.com", "v=spf1 include:sendgrid.net ~all", false);
    let site_rule = json!([{
        "expression": "(http.host eq \"www.acme.com\")",
        "action": "set_config",
        "action_parameters": { "ssl": "strict" },
        "description": "the main website stays on Full (strict)"
    }]);
    cf.set_ruleset(&zone, "http_config_settings", site_rule);
    let rules_before = cf.ruleset(&zone, "http_config_settings").unwrap()["rules"].clone();
    let others_before: Vec<_> = cf.records(&zone).into_iter().filter(|r| r.id != tracking).collect();
    let ssl_before = cf.setting(&zone, "ssl");

    let planned = plan(&p, 2);
    assert!(planned.stdout.contains("# acme.tracking_record will be adopted and updated in place"), "{planned:?}");
    assert!(planned.stdout.contains("~ proxied = false -> true"), "{planned:?}");
    assert!(planned.stdout.contains("+ config_rule \"acme.config_rule\""), "{planned:?}");
    assert!(planned.stdout.contains("Plan: 1 to add, 1 to change, 0 to replace, 0 to destroy."), "{planned:?}");
    assert!(
        planned.stdout.contains("Warning: acme.config_rule: Cloudflare's Automatic SSL/TLS may change the zone's SSL mode; the rule keeps url1234.acme.com on full"),
        "{planned:?}"
    );

    p.apply();

    let now = cf.records(&zone);
    let record = now.iter().find(|r| r.id == tracking).expect("the same record, not a new one");
    assert_eq!((record.content.as_str(), record.proxied, record.ttl), ("sendgrid.net", true, 1));
    let others: Vec<_> = now.iter().filter(|r| r.id != tracking).cloned().collect();
    assert_eq!(others, others_before, "unrelated records are untouched");
    let rules = cf.ruleset(&zone, "http_config_settings").unwrap()["rules"].clone();
    assert_eq!(rules[0], rules_before[0], "the zone's own rule is untouched, and stays first");
    assert_eq!(rules.as_array().unwrap().len(), 2);
    assert_eq!(rules[1]["expression"], "(http.host eq \"url1234.acme.com\")");
    assert_eq!(rules[1]["action"], "set_config");
    assert_eq!(rules[1]["action_parameters"], json!({ "ssl": "full" }));
    assert_eq!(cf.setting(&zone, "ssl"), ssl_before, "no zone-wide setting changes");

    plan(&p, 0);

    p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 0);
    let rules = cf.ruleset(&zone, "http_config_settings").unwrap()["rules"].clone();
    assert_eq!(rules, rules_before, "only sslprov's rule is removed");
    assert_eq!(cf.records(&zone), others_before);
    cf.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread")]
async fn each_esp_on_cloudflare_is_a_proxied_cname_to_its_regional_origin() {
    let p = Project::new(
        "\
version: 1
braze_cluster: US-05
state: { path: sslprov.state.json }
defaults: { cdn: cloudflare, dns: cloudflare }
domains:
  sp-us:
    tracking_domain: click.shop.example
    esp: sparkpost
  sp-eu:
    tracking_domain: click-eu.shop.example
    esp: sparkpost
    braze_cluster: EU-01
  ses:
    tracking_domain: links.shop.example
    esp: ses
",
    )
    .await;
    let planned = plan(&p, 2);
    assert!(planned.stdout.contains("Plan: 6 to add, 0 to change"), "{planned:?}");
    p.apply();
    let cf = p.cloudflare();
    let zone = p.cf_zone("shop.example");
    let mut got: Vec<_> = cf.records(&zone).into_iter().map(|r| (r.name, r.r#type, r.content, r.proxied)).collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("click-eu.shop.example".to_owned(), "CNAME".to_owned(), "eu.spgo.io".to_owned(), true),
            ("click.shop.example".to_owned(), "CNAME".to_owned(), "spgo.io".to_owned(), true),
            ("links.shop.example".to_owned(), "CNAME".to_owned(), "r.us-east-1.awstrack.me".to_owned(), true),
        ]
    );
    plan(&p, 0);
    cf.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deep_name_gets_an_advanced_certificate_only_when_the_spec_allows_it() {
    let deep = SENDGRID_ON_CLOUDFLARE.replace("url1234.acme.com", "url1234.email.acme.com");
    let p = Project::new(&deep).await;
    let refused = p.ok(&["plan", "-f", "sslprov.yaml"], 1);
    assert!(refused.stderr.contains("url1234.email.acme.com is more than one level below acme.com"), "{refused:?}");
    assert!(refused.stderr.contains("advanced_certificate: true"), "{refused:?}");

    std::fs::write(
        p.path("sslprov.yaml"),
        deep.replace("    zone: acme.com\n", "    zone: acme.com\n    advanced_certificate: true\n"),
    )
    .unwrap();
    let planned = plan(&p, 2);
    assert!(planned.stdout.contains("+ edge_certificate \"acme.edge_certificate\""), "{planned:?}");
    let run = p.apply();
    assert!(run.stdout.contains("acme.edge_certificate: still waiting"), "{run:?}");
    let cf = p.cloudflare();
    let zone = p.cf_zone("acme.com");
    let advanced = |cf: &sslprov_cf_emulator::Emulator| -> Vec<_> {
        cf.packs(&zone).into_iter().filter(|p| p.r#type == "advanced").collect()
    };
    let packs = advanced(cf);
    assert_eq!(packs.len(), 1, "{packs:#?}");
    let mut hosts = packs[0].hosts.clone();
    hosts.sort();
    assert_eq!(hosts, ["acme.com", "url1234.email.acme.com"]);
    assert_eq!(packs[0].status, "active");
    // The record goes proxied only after the pack is active.
    let log = cf.request_log();
    let order = log
        .iter()
        .position(|r| r.method == "POST" && r.path.ends_with("/ssl/certificate_packs/order"))
        .expect("pack ordered");
    let record =
        log.iter().rposition(|r| r.method == "POST" && r.path.ends_with("/dns_records")).expect("record created");
    assert!(order < record, "{log:#?}");
    plan(&p, 0);

    // A pack that timed out validating never serves: the next plan replaces it (a new one first),
    // and the failed one is deleted once the new one is in place.
    cf.set_pack_status(&zone, &packs[0].id, "validation_timed_out");
    let replan = plan(&p, 2);
    assert!(replan.stdout.contains("+/- edge_certificate \"acme.edge_certificate\""), "{replan:?}");
    p.apply();
    let now = advanced(cf);
    assert_eq!(now.len(), 1, "{now:#?}");
    assert!(now[0].id != packs[0].id && !sslprov_cloudflare::pack_failed(&now[0].status), "{now:#?}");
    plan(&p, 0);

    p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "200ms"], 0);
    assert!(advanced(cf).is_empty(), "the pack in use is deleted too: {:#?}", advanced(cf));
    assert_eq!(
        cf.packs(&zone).iter().filter(|p| p.r#type == "universal").count(),
        1,
        "Universal SSL's pack is left alone"
    );
    cf.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudfront_with_dns_at_cloudflare_writes_dns_only_records() {
    let p = Project::new(
        "\
version: 1
braze_cluster: EU-01
state: { path: sslprov.state.json }
domains:
  beta:
    tracking_domain: click.beta.io
    esp: ses
    cdn: cloudfront
    dns: cloudflare
",
    )
    .await;
    p.apply();
    let cf = p.cloudflare();
    let records = cf.records(&p.cf_zone("beta.io"));
    assert_eq!(records.len(), 2, "{records:#?}");
    assert!(records.iter().all(|r| !r.proxied && r.r#type == "CNAME"), "{records:#?}");
    let dist = p.aws.cloudfront().list_distributions().send().await.unwrap();
    let dist = &dist.distribution_list().unwrap().items()[0];
    let tracking = records.iter().find(|r| r.name == "click.beta.io").unwrap();
    assert_eq!(tracking.content, dist.domain_name());
    plan(&p, 0);
    cf.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_storm_is_sat_out_as_retry_after_says() {
    let p = Project::new(SENDGRID_ON_CLOUDFLARE).await;
    let cf = p.cloudflare();
    cf.inject_429(3, 1);
    p.apply();
    let log = cf.request_log();
    let limited: Vec<_> = log.iter().enumerate().filter(|(_, r)| r.status == 429).map(|(i, _)| i).collect();
    assert_eq!(limited.len(), 3);
    for i in limited {
        let next = &log[i + 1];
        assert!(next.at.duration_since(log[i].at) >= Duration::from_millis(900), "Retry-After honoured: {log:#?}");
    }
    plan(&p, 0);
    cf.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_cannot_edit_dns_is_refused_before_planning() {
    let p = Project::new(SENDGRID_ON_CLOUDFLARE).await;
    let cf = p.cloudflare();
    let without: Vec<&str> =
        sslprov_cf_emulator::ALL_PERMISSIONS.iter().copied().filter(|p| *p != "#dns_records:edit").collect();
    cf.set_token_permissions(&without);
    let r = p.ok(&["plan", "-f", "sslprov.yaml"], 1);
    assert!(r.stderr.contains("the Cloudflare API token lacks permissions this spec needs"), "{r:?}");
    assert!(r.stderr.contains("Zone → DNS → Edit on acme.com"), "{r:?}");
    cf.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_is_proxied_before_universal_ssl_is_active() {
    let p = Project::new(SENDGRID_ON_CLOUDFLARE).await;
    let cf = p.cloudflare();
    let zone = p.cf_zone("acme.com");
    let universal = cf.packs(&zone).into_iter().find(|p| p.r#type == "universal").expect("a Universal SSL pack");
    cf.set_pack_status(&zone, &universal.id, "pending_validation");
    let r = p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve"], 1);
    assert!(
        r.stderr.contains("the Universal SSL certificate of zone acme.com is not active yet (pending_validation)"),
        "{r:?}"
    );
    assert!(cf.records(&zone).is_empty(), "nothing written");
    cf.set_pack_status(&zone, &universal.id, "active");
    p.apply();
    cf.assert_no_violations();
}

/// The same shape at Cloudflare: a no-change plan is the zone list and, per zone, the records,
/// the rules with the zone's automatic SSL setting, and the certificates with Universal SSL.
#[tokio::test(flavor = "multi_thread")]
async fn a_no_change_plan_costs_the_list_pages_per_zone() {
    let p = Project::new(&SENDGRID_ON_CLOUDFLARE.replace(
        "domains:\n",
        "domains:\n  beta:\n    tracking_domain: url1.beta.com\n    esp: sparkpost\n    zone: beta.com\n",
    ))
    .await;
    p.apply();
    let cf = p.cloudflare();
    let before = cf.counts();
    plan(&p, 0);
    let after = cf.counts();
    let mut made: Vec<(String, u64)> = after
        .iter()
        .map(|(op, n)| (op.clone(), n - before.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    made.sort();
    let n = |op: &str| made.iter().find(|(o, _)| o == op).map_or(0, |(_, n)| *n);
    assert_eq!(n("zones-get"), 1, "one page of the account's zones, not a lookup per zone: {made:?}");
    assert_eq!(n("dns-records-for-a-zone-list-dns-records"), 2, "one request per zone: {made:?}");
    assert_eq!(n("getZoneEntrypointRuleset"), 2, "the rules once per zone, warnings included: {made:?}");
    assert_eq!(n("certificate-packs-list-certificate-packs"), 2, "{made:?}");
    assert_eq!(n("universal-ssl-settings-for-a-zone-universal-ssl-settings-details"), 2, "{made:?}");
    cf.assert_no_violations();
}
