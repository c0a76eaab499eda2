//! Fastly as the CDN, against the Fastly API emulator (which checks every request and answer
//! against Fastly's own API definition) and DNS at Route 53 (moto) or Cloudflare (its emulator).
//! The emulator issues a certificate only once the `_acme-challenge` CNAME it asked for is at the
//! domain's DNS host.

use std::sync::atomic::Ordering;

use sslprov_fastly_emulator::{DEFAULT_CNAME_TARGET, Service};

use crate::support::{Project, eventually, kill, until};

pub fn spec(esp: &str, cluster: &str, dns: &str) -> String {
    format!(
        "\
version: 1
braze_cluster: {cluster}
state: {{ path: sslprov.state.json }}
defaults: {{ cdn: fastly, dns: {dns} }}
domains:
  acme:
    tracking_domain: url1234.acme.com
    esp: {esp}
    zone: acme.com
"
    )
}

fn apply(p: &Project) -> crate::support::Run {
    p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"], 0)
}

/// The service sslprov made for `url1234.acme.com`, as the emulator holds it.
fn service(p: &Project) -> Service {
    let mut named = p.fastly.as_ref().expect("fastly").services_named("sslprov-url1234.acme.com");
    assert_eq!(named.len(), 1, "one service, no twin: {named:#?}");
    named.remove(0)
}

/// The tracking record's CNAME target at the DNS host.
async fn tracking_target(p: &Project, dns: &str) -> Option<String> {
    match dns {
        "cloudflare" => p
            .cloudflare()
            .records(&p.cf_zone("acme.com"))
            .into_iter()
            .find(|r| r.name == "url1234.acme.com")
            .map(|r| r.content),
        _ => {
            let r53 = p.aws.route53();
            let zones = r53.list_hosted_zones().send().await.unwrap();
            let id = zones.hosted_zones()[0].id().to_owned();
            let sets = r53.list_resource_record_sets().hosted_zone_id(id).send().await.unwrap();
            sets.resource_record_sets()
                .iter()
                .find(|s| s.name() == "url1234.acme.com.")
                .and_then(|s| s.resource_records().first())
                .map(|r| r.value().trim_end_matches('.').to_owned())
        }
    }
}

/// Each ESP, on each DNS host: the service as its guide says, the certificate issued through the
/// challenge CNAME, the tracking CNAME at the target the API reported, a clean re-plan, and a
/// destroy that leaves nothing.
#[tokio::test(flavor = "multi_thread")]
async fn each_esp_on_each_dns_host_gets_its_service_certificate_and_records() {
    let cases = [
        ("sendgrid", "US-05", "route53", "sendgrid.net", true, 0),
        ("sparkpost", "US-05", "route53", "spgo.io", false, 10),
        ("sparkpost", "EU-01", "cloudflare", "eu.spgo.io", false, 10),
        ("ses", "EU-02", "cloudflare", "r.eu-central-1.awstrack.me", true, 0),
        ("ses", "US-01", "route53", "r.us-east-1.awstrack.me", true, 0),
    ];
    for (esp, cluster, dns, origin, pass, ttl) in cases {
        let p = Project::new(&spec(esp, cluster, dns)).await;
        let fastly = p.fastly.as_ref().expect("fastly");
        let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
        assert!(planned.stdout.contains("Plan: 4 to add, 0 to change"), "{esp}/{dns}: {planned:?}");
        assert!(planned.stdout.contains("+ service \"acme.service\""), "{planned:?}");
        assert!(planned.stdout.contains("+ tls_subscription \"acme.tls_subscription\""), "{planned:?}");
        apply(&p);

        let s = service(&p);
        let v = s.active_version().expect("an active version");
        assert!(v.locked, "activated versions are locked");
        assert_eq!(v.domains.keys().collect::<Vec<_>>(), ["url1234.acme.com"]);
        assert_eq!(v.backends.len(), 1);
        let backend = v.backends.values().next().expect("a backend");
        assert_eq!((backend["address"].as_str(), backend["port"].as_u64()), (Some(origin), Some(443)), "{esp}");
        assert_eq!(backend["use_ssl"], true);
        assert_eq!(
            (backend["ssl_cert_hostname"].as_str(), backend["ssl_sni_hostname"].as_str()),
            (Some(origin), Some(origin))
        );
        assert!(backend["override_host"].is_null(), "the client's Host reaches {esp}: {backend}");
        assert_eq!(v.headers.len(), 1);
        let header = v.headers.values().next().expect("a header object");
        assert_eq!((header["action"].as_str(), header["type"].as_str()), (Some("set"), Some("request")));
        assert_eq!(header["dst"], "http.X-Forwarded-Host");
        assert_eq!(header["src"], "\"url1234.acme.com\"", "set to the tracking domain, not appended");
        assert_eq!(v.request_settings.values().any(|r| r["action"] == "pass"), pass, "{esp}: {:?}", v.request_settings);
        assert_eq!(v.settings["general.default_ttl"].as_u64(), Some(ttl), "{esp}: {:?}", v.settings);

        let sub = fastly.subscription_for("url1234.acme.com").expect("a subscription");
        assert_eq!(sub.state, "issued");
        assert_eq!(
            tracking_target(&p, dns).await.as_deref(),
            Some(DEFAULT_CNAME_TARGET),
            "the target the API reported"
        );
        p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);

        p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"], 0);
        assert!(fastly.services_named("sslprov-url1234.acme.com").is_empty(), "the service is gone");
        assert!(fastly.subscription_for("url1234.acme.com").is_none(), "the subscription is gone");
        assert_eq!(tracking_target(&p, dns).await, None);
        fastly.assert_no_violations();
        if let Some(cf) = &p.cf {
            cf.assert_no_violations();
        }
    }
}

/// The safe order: while the certificate is pending the tracking record stays where it was (an
/// HTTP-era CNAME to SendGrid, adopted); it moves to Fastly only once the certificate is issued
/// and the service's version active.
#[tokio::test(flavor = "multi_thread")]
async fn the_http_era_cname_moves_only_after_the_certificate_is_issued() {
    let p = Project::new(&spec("sendgrid", "US-05", "route53")).await;
    let zones = p.aws.route53().list_hosted_zones().send().await.unwrap();
    let zid = zones.hosted_zones()[0].id().trim_start_matches("/hostedzone/").to_owned();
    p.aws.put_record(&zid, "url1234.acme.com", "CNAME", "sendgrid.net", 3600).await;
    let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(planned.stdout.contains("# acme.tracking_record will be adopted and updated in place"), "{planned:?}");
    assert!(planned.stdout.contains(r#"~ values = ["sendgrid.net"] -> [(known after apply)]"#), "{planned:?}");

    p.hold_issuance.store(true, Ordering::SeqCst);
    let run = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"]);
    let fastly = p.fastly.as_ref().expect("fastly");
    // Reads of the subscription after it was ordered: the waits.
    let polled = |n: usize| {
        let log = fastly.request_log();
        let ordered = log.iter().position(|r| r.method == "POST" && r.path == "/tls/subscriptions");
        ordered.is_some_and(|i| {
            log[i..].iter().filter(|r| r.method == "GET" && r.path.starts_with("/tls/subscriptions")).count() >= n
        })
    };
    assert!(until(|| polled(3)).await, "apply waits for the certificate: {:#?}", fastly.request_log());
    let sub = fastly.subscription_for("url1234.acme.com").expect("ordered");
    assert_eq!(sub.state, "pending");
    assert!(service(&p).active_version().is_some(), "the service was activated first");
    assert_eq!(tracking_target(&p, "route53").await.as_deref(), Some("sendgrid.net"), "untouched while pending");

    p.hold_issuance.store(false, Ordering::SeqCst);
    let out = run.wait_with_output().expect("apply ends");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fastly.subscription_for("url1234.acme.com").map(|s| s.state).as_deref(), Some("issued"));
    assert_eq!(tracking_target(&p, "route53").await.as_deref(), Some(DEFAULT_CNAME_TARGET));
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);

    p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--restore-adopted", "--poll-interval", "100ms"], 0);
    assert_eq!(tracking_target(&p, "route53").await.as_deref(), Some("sendgrid.net"), "put back as found");
    fastly.assert_no_violations();
}

/// A run killed while the certificate is pending is finished by the next: no second service, no
/// second subscription.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_while_the_certificate_is_pending_is_finished_by_the_next() {
    let p = Project::new(&spec("sparkpost", "US-05", "cloudflare")).await;
    let fastly = p.fastly.as_ref().expect("fastly");
    p.hold_issuance.store(true, Ordering::SeqCst);
    let mut first = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"]);
    until(|| {
        fastly.subscription_for("url1234.acme.com").is_some()
            && p.state()["resources"].get("acme.validation_record").is_some()
    })
    .await;
    kill(&mut first);
    assert!(p.state()["resources"].get("acme.tracking_record").is_none(), "the CNAME was not touched");

    p.hold_issuance.store(false, Ordering::SeqCst);
    apply(&p);
    service(&p);
    assert_eq!(fastly.subscriptions().len(), 1, "no second subscription");
    assert_eq!(fastly.subscription_for("url1234.acme.com").map(|s| s.state).as_deref(), Some("issued"));
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    fastly.assert_no_violations();
    p.cloudflare().assert_no_violations();
}

/// A certificate Fastly gave up on: apply says why and what to do; the next plan restarts it in
/// place (Fastly keeps one subscription per domain), and the run after finishes.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_certificate_is_reported_with_the_fix_and_retried() {
    let p = Project::new(&spec("ses", "US-01", "route53")).await;
    let fastly = p.fastly.as_ref().expect("fastly");
    p.hold_issuance.store(true, Ordering::SeqCst);
    let first = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"]);
    let sub = eventually(|| fastly.subscription_for("url1234.acme.com")).await.expect("ordered");
    fastly.fail_subscription(&sub.id, "validation timed out");
    let out = first.wait_with_output().expect("apply ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("acme.tls_subscription: Fastly gave up issuing the certificate for url1234.acme.com"),
        "{stderr}"
    );
    assert!(stderr.contains("is published at the domain's DNS host"), "{stderr}");
    assert!(tracking_target(&p, "route53").await.is_none(), "nothing points at Fastly");

    p.hold_issuance.store(false, Ordering::SeqCst);
    let replan = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(replan.stdout.contains("# acme.tls_subscription will be updated in place"), "{replan:?}");
    assert!(replan.stdout.contains("it is restarted in place"), "{replan:?}");
    apply(&p);
    assert_eq!(fastly.subscriptions().len(), 1);
    assert_eq!(fastly.subscription_for("url1234.acme.com").map(|s| s.state).as_deref(), Some("issued"));
    assert_eq!(tracking_target(&p, "route53").await.as_deref(), Some(DEFAULT_CNAME_TARGET));
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    fastly.assert_no_violations();
}
