//! Google Cloud as the CDN: one load balancer for many brands, against the Google Cloud
//! emulator (which checks every request and answer against Google's discovery documents) and DNS
//! at Route 53 (moto) or Cloudflare (its emulator). A certificate is issued once the
//! `_acme-challenge` CNAME of its DNS authorization is at the domain's DNS host.

use std::sync::atomic::Ordering;

use serde_json::Value;

use crate::support::{self, Project, four_brands, kill, record, until};

fn two_brands(dns: &str) -> String {
    support::two_brands("google-cloud", dns, ["sendgrid", "sparkpost"])
}

fn apply(p: &Project) -> crate::support::Run {
    p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"], 0)
}

fn the_ip(p: &Project) -> String {
    let gcp = p.gcp.as_ref().expect("gcp");
    let addresses = gcp.objects("addresses");
    assert_eq!(addresses.len(), 1, "one address for every brand: {addresses:#?}");
    addresses.values().next().and_then(|a| a["address"].as_str()).expect("an IP").to_owned()
}

/// What the URL map sends `host` to, and the X-Forwarded-Host it sets.
fn routed(map: &Value, host: &str) -> Option<(String, Value)> {
    let rule = map["hostRules"].as_array()?.iter().find(|r| r["hosts"][0] == host)?;
    let pm = map["pathMatchers"].as_array()?.iter().find(|m| m["name"] == rule["pathMatcher"])?;
    Some((
        pm["defaultService"].as_str()?.rsplit('/').next()?.to_owned(),
        pm["headerAction"]["requestHeadersToAdd"].clone(),
    ))
}

/// Four brands, two DNS hosts: one address, one URL map with a host rule per brand, one backend
/// service and Internet NEG per ESP origin, :443 and :80, TLS 1.2 at least, every certificate
/// ACTIVE and in the map, every tracking record an A record to the one address; a clean re-plan.
#[tokio::test(flavor = "multi_thread")]
async fn four_brands_share_one_load_balancer() {
    let p = Project::new(&four_brands("google-cloud")).await;
    let gcp = p.gcp.as_ref().expect("gcp");
    let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    // 8 objects once, 2 per origin (4 origins), 6 per brand.
    assert!(planned.stdout.contains("Plan: 40 to add, 0 to change"), "{planned:?}");
    assert!(planned.stdout.contains("# url_map@lb will be created"), "{planned:?}");
    assert!(planned.stdout.contains("(shared by acme, beta, delta, gamma)"), "{planned:?}");
    apply(&p);

    let ip = the_ip(&p);
    let maps = gcp.objects("urlMaps");
    assert_eq!(maps.len(), 1);
    let map = &maps["sslprov-lb"];
    for (host, origin) in [
        ("click.acme.com", "spgo.io"),
        ("click.beta.com", "eu.spgo.io"),
        ("click.gamma.com", "sendgrid.net"),
        ("click.delta.com", "r.us-east-1.awstrack.me"),
    ] {
        let (backend, headers) = routed(map, host).unwrap_or_else(|| panic!("{host} in {map:#}"));
        assert_eq!(backend, sslprov_provider::names::derived_name("be", origin, 63));
        assert_eq!(
            headers,
            serde_json::json!([{"headerName": "X-Forwarded-Host", "headerValue": host, "replace": true}]),
            "X-Forwarded-Host set to the tracking domain, not appended"
        );
    }
    let backends = gcp.objects("backendServices");
    assert_eq!(backends.len(), 4, "one per ESP origin");
    for b in backends.values() {
        assert_eq!((b["protocol"].as_str(), b["enableCDN"].as_bool()), (Some("HTTPS"), Some(false)));
        assert_eq!(b["loadBalancingScheme"], "EXTERNAL_MANAGED");
        assert!(b.get("customRequestHeaders").is_none(), "the client's Host is kept: {b}");
    }
    assert_eq!(gcp.endpoints("sslprov-neg-eu-spgo-io"), [serde_json::json!({"fqdn": "eu.spgo.io", "port": 443})]);
    let rules = gcp.objects("forwardingRules");
    let mut ports: Vec<&str> = rules.values().filter_map(|r| r["portRange"].as_str()).collect();
    ports.sort_unstable();
    assert_eq!(ports, ["443-443", "80-80"]);
    assert!(rules.values().all(|r| r["IPAddress"] == ip.as_str() && r["loadBalancingScheme"] == "EXTERNAL_MANAGED"));
    let proxy = &gcp.objects("targetHttpsProxies")["sslprov-lb-https"];
    assert!(proxy["certificateMap"].as_str().is_some_and(|m| m.ends_with("/certificateMaps/sslprov-lb")), "{proxy}");
    assert_eq!(gcp.objects("sslPolicies")["sslprov-lb-tls12"]["minTlsVersion"], "TLS_1_2");

    let certs = gcp.certificate_manager_of("certificates");
    assert_eq!(certs.len(), 4);
    assert!(certs.iter().all(|c| c["managed"]["state"] == "ACTIVE"), "{certs:#?}");
    let entries = gcp.certificate_manager_of("certificateMapEntries");
    assert!(entries.len() == 4 && entries.iter().all(|e| e["state"] == "ACTIVE"), "{entries:#?}");
    for (zone, host) in
        [("acme.com", "click.acme.com"), ("beta.com", "click.beta.com"), ("delta.com", "click.delta.com")]
    {
        assert_eq!(record(&p, zone, host, false).await, Some(("A".into(), vec![ip.clone()])), "{host}");
        let challenge = record(&p, zone, &format!("_acme-challenge.{host}"), false).await.expect("challenge CNAME");
        assert_eq!(challenge.0, "CNAME");
        assert!(challenge.1[0].ends_with(".authorize.certificatemanager.goog"), "{challenge:?}");
    }
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    gcp.assert_no_violations();
    p.cloudflare().assert_no_violations();
}

/// The safe order on an adopted HTTP-era CNAME: the DNS authorization's record is published
/// first, the tracking record stays at the ESP while the certificate is PROVISIONING, and moves
/// (CNAME → A in one Route 53 change batch) only once it is ACTIVE and in the map.
#[tokio::test(flavor = "multi_thread")]
async fn the_http_era_cname_moves_only_once_the_certificate_is_active() {
    let p = Project::new(&two_brands("route53")).await;
    let gcp = p.gcp.as_ref().expect("gcp");
    let zones = p.aws.route53().list_hosted_zones().send().await.unwrap();
    let acme = zones.hosted_zones().iter().find(|z| z.name() == "acme.com.").expect("zone").id().to_owned();
    let zid = acme.trim_start_matches("/hostedzone/").to_owned();
    // Written as a DNS tool writes it (fully qualified): moto matches the DELETE of a type change
    // against the record exactly as stored, where Route 53 compares names as names.
    p.aws.put_record(&zid, "click.acme.com.", "CNAME", "sendgrid.net.", 3600).await;
    let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(planned.stdout.contains("# acme.tracking_record will be adopted and updated in place"), "{planned:?}");

    p.hold_issuance.store(true, Ordering::SeqCst);
    let run = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"]);
    let polled = until(|| gcp.count("certificatemanager.projects.locations.certificates.list", None) >= 3).await;
    assert!(polled, "apply waits for the certificates: {:#?}", gcp.request_log());
    let certs = gcp.certificate_manager_of("certificates");
    assert!(certs.iter().all(|c| c["managed"]["state"] == "PROVISIONING"), "{certs:#?}");
    let challenge = record(&p, "acme.com", "_acme-challenge.click.acme.com", false).await;
    assert!(challenge.is_some(), "the DNS authorization's CNAME is published before the certificate issues");
    assert!(gcp.certificate_manager_of("certificateMapEntries").is_empty(), "no map entry before ACTIVE");
    assert_eq!(
        record(&p, "acme.com", "click.acme.com", false).await,
        Some(("CNAME".into(), vec!["sendgrid.net".into()]))
    );

    p.hold_issuance.store(false, Ordering::SeqCst);
    let out = run.wait_with_output().expect("apply ends");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(record(&p, "acme.com", "click.acme.com", false).await, Some(("A".into(), vec![the_ip(&p)])));
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);

    p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--restore-adopted", "--poll-interval", "100ms"], 0);
    assert_eq!(
        record(&p, "acme.com", "click.acme.com", false).await,
        Some(("CNAME".into(), vec!["sendgrid.net".into()]))
    );
    gcp.assert_no_violations();
}

/// Someone else writes the shared URL map between sslprov's read and its write: the write answers
/// 412 (stale fingerprint), sslprov reads the map again and retries. Compute's throttling (403
/// rateLimitExceeded) is retried too.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_url_map_fingerprint_and_throttling_are_retried() {
    let p = Project::new(&two_brands("cloudflare")).await;
    let gcp = p.gcp.as_ref().expect("gcp");
    gcp.interfere_with_url_map(2);
    gcp.throttle(3);
    apply(&p);
    assert_eq!(gcp.count("compute.urlMaps.patch", Some(412)), 2, "{:#?}", gcp.request_log());
    let map = &gcp.objects("urlMaps")["sslprov-lb"];
    assert!(routed(map, "click.acme.com").is_some() && routed(map, "click.beta.com").is_some(), "{map:#}");
    assert!(gcp.request_log().iter().filter(|r| r.status == 403).count() >= 1);
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    gcp.assert_no_violations();
    p.cloudflare().assert_no_violations();
}

/// Destroying one brand keeps what the other uses (the plan says so) and removes only its own
/// and its origin's objects; the last destroy removes the load balancer.
#[tokio::test(flavor = "multi_thread")]
async fn the_load_balancer_goes_only_with_the_last_brand() {
    let p = Project::new(&two_brands("route53")).await;
    let gcp = p.gcp.as_ref().expect("gcp");
    apply(&p);
    let one = p.ok(&["plan", "-f", "sslprov.yaml", "--destroy", "--target", "acme", "--detailed-exitcode"], 2);
    assert!(one.stdout.contains("Kept: url_map@lb (shared; still used by beta)"), "{one:?}");
    p.ok(&["destroy", "-f", "sslprov.yaml", "--target", "acme", "--auto-approve", "--poll-interval", "100ms"], 0);
    let map = &gcp.objects("urlMaps")["sslprov-lb"];
    assert!(routed(map, "click.acme.com").is_none() && routed(map, "click.beta.com").is_some(), "{map:#}");
    let backends: Vec<String> = gcp.objects("backendServices").into_keys().collect();
    assert_eq!(backends, ["sslprov-be-spgo-io"], "SendGrid's backend went with its last brand");
    assert_eq!(gcp.objects("forwardingRules").len(), 2);
    assert_eq!(record(&p, "acme.com", "click.acme.com", false).await, None);

    p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"], 0);
    assert!(gcp.compute_names().is_empty(), "{:?}", gcp.compute_names());
    assert!(gcp.certificate_manager().is_empty(), "{:#?}", gcp.certificate_manager());
    gcp.assert_no_violations();
}

/// A run killed while the certificates are PROVISIONING is finished by the next: no twin of any
/// object (names are derived; a lost create is found by its name).
#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_mid_apply_is_finished_by_the_next() {
    let p = Project::new(&two_brands("route53")).await;
    let gcp = p.gcp.as_ref().expect("gcp");
    p.hold_issuance.store(true, Ordering::SeqCst);
    let mut first = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"]);
    until(|| gcp.certificate_manager_of("certificates").len() == 2).await;
    kill(&mut first);
    assert!(p.state()["resources"].get("acme.tracking_record").is_none(), "the tracking record was not touched");
    p.hold_issuance.store(false, Ordering::SeqCst);
    apply(&p);
    assert_eq!(gcp.certificate_manager_of("certificates").len(), 2, "no second certificate");
    assert_eq!(gcp.objects("addresses").len(), 1);
    assert_eq!(record(&p, "beta.com", "click.beta.com", false).await, Some(("A".into(), vec![the_ip(&p)])));
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    gcp.assert_no_violations();
}

/// No credentials: one line that says how to provide them, at once.
#[tokio::test(flavor = "multi_thread")]
async fn missing_credentials_are_named_with_the_fix() {
    let p = Project::new(&two_brands("route53")).await.env("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json");
    let r = p.run(&["plan", "-f", "sslprov.yaml"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("GOOGLE_APPLICATION_CREDENTIALS names /nonexistent/key.json, which is not a file"),
        "{r:?}"
    );
    assert!(r.stderr.contains("gcloud auth application-default login"), "{r:?}");
}

/// At Cloudflare, the adopted HTTP-era CNAME becomes the A record in one PATCH (type and content
/// together, same record id): the name is never without an answer.
#[tokio::test(flavor = "multi_thread")]
async fn at_cloudflare_the_adopted_cname_becomes_the_a_record_in_one_patch() {
    let p = Project::new(&two_brands("cloudflare")).await;
    let cf = p.cloudflare();
    let zone = p.cf_zone("acme.com");
    let id = cf.add_record(&zone, "CNAME", "click", "sendgrid.net", false);
    apply(&p);
    let now: Vec<_> = cf.records(&zone).into_iter().filter(|r| r.name == "click.acme.com").collect();
    assert_eq!(now.len(), 1, "{now:#?}");
    assert_eq!((now[0].id.as_str(), now[0].r#type.as_str(), now[0].content.clone()), (id.as_str(), "A", the_ip(&p)));
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    cf.assert_no_violations();
    p.gcp.as_ref().expect("gcp").assert_no_violations();
}

/// A certificate Certificate Manager gave up on: apply stops with the reason and what to check,
/// nothing points at the load balancer; the next plan replaces the certificate (a new one, as
/// Certificate Manager asks), and the run after finishes.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_certificate_is_reported_and_replaced() {
    let p = Project::new(&two_brands("route53")).await;
    let gcp = p.gcp.as_ref().expect("gcp");
    gcp.fail_domain("click.acme.com");
    let r = p.run(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Certificate Manager gave up issuing the certificate for click.acme.com"), "{r:?}");
    assert!(r.stderr.contains("_acme-challenge CNAME of its DNS authorization"), "{r:?}");
    assert_eq!(record(&p, "acme.com", "click.acme.com", false).await, None, "nothing points at the load balancer");
    assert_eq!(
        record(&p, "beta.com", "click.beta.com", false).await,
        Some(("A".into(), vec![the_ip(&p)])),
        "beta went on"
    );

    gcp.heal_domain("click.acme.com");
    let replan = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(replan.stdout.contains("acme.certificate must be replaced"), "{replan:?}");
    apply(&p);
    let certs = gcp.certificate_manager_of("certificates");
    assert_eq!(certs.len(), 2, "the failed one went: {certs:#?}");
    assert!(certs.iter().all(|c| c["managed"]["state"] == "ACTIVE"), "{certs:#?}");
    assert_eq!(record(&p, "acme.com", "click.acme.com", false).await, Some(("A".into(), vec![the_ip(&p)])));
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    gcp.assert_no_violations();
}
