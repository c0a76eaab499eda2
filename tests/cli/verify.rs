//! `sslprov verify` and `sslprov handoff`, the real binary after a real apply (moto), against a
//! local DNS server and a CDN edge and ESP origin on loopback ports with a test CA
//! (sslprov-netfixtures). One failure per test, each with its own message and exit code 3.

use std::net::{IpAddr, Ipv4Addr};

use sslprov_netfixtures::{Answer, DnsServer, Edge, EdgeConfig, ForwardedHost, Leaf, Origin, TestCa, Zone};

use crate::support::{Project, Run};

const DOMAIN: &str = "url1234.email.acme.com";
const SPEC: &str = "\
version: 1
braze_cluster: US-05
domains:
  acme:
    tracking_domain: url1234.email.acme.com
    esp: sparkpost
    zone: acme.com
";
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A project applied against moto, and the distribution domain its state recorded.
async fn applied(spec: &str) -> (Project, String) {
    let p = Project::new(spec).await;
    p.apply();
    let endpoint = endpoint(&p, "acme");
    (p, endpoint)
}

fn endpoint(p: &Project, key: &str) -> String {
    let state = p.state();
    let e = &state["resources"][format!("{key}.distribution")]["outputs"]["domain_name"];
    e.as_str().unwrap_or_else(|| panic!("no distribution domain in the state: {state:#}")).to_owned()
}

/// The network around the domains: what DNS answers, which certificate the edge serves and how
/// it behaves. Defaults: everything as it should be.
struct World {
    ca: TestCa,
    zone: Zone,
    certificate: Leaf,
    origin: Answer,
    edge: fn(&mut EdgeConfig),
}

impl World {
    /// `DOMAIN` → CNAME `endpoint` → 127.0.0.1, a certificate for `DOMAIN`, the edge in front
    /// of a SparkPost origin.
    fn ready(endpoint: &str) -> World {
        let ca = TestCa::new("sslprov test CA");
        let certificate = ca.issue(&[DOMAIN], 90);
        World {
            ca,
            zone: Zone::new().cname(DOMAIN, endpoint).address(endpoint, LOCAL),
            certificate,
            origin: Answer::sparkpost(),
            edge: |_| {},
        }
    }

    fn start(self, p: &Project) -> Running {
        let ca_file = p.path("test-ca.pem");
        self.ca.write_pem(&ca_file);
        let origin = Origin::start(self.origin);
        let mut config = EdgeConfig::cloudfront(self.certificate, origin.addr(), DOMAIN);
        (self.edge)(&mut config);
        let edge = Edge::start(config);
        let dns = DnsServer::start(self.zone);
        let args = vec![
            "--nameserver".to_owned(),
            dns.addr().to_string(),
            "--ca-file".into(),
            ca_file.display().to_string(),
            "--https-port".into(),
            edge.https_port().to_string(),
            "--http-port".into(),
            edge.http_port().to_string(),
            "--timeout".into(),
            "5s".into(),
        ];
        Running { _dns: dns, _edge: edge, _origin: origin, args }
    }
}

struct Running {
    _dns: DnsServer,
    _edge: Edge,
    _origin: Origin,
    args: Vec<String>,
}

impl Running {
    fn run(&self, p: &Project, command: &[&str], code: i32) -> Run {
        let mut args: Vec<&str> = command.to_vec();
        args.extend(["-f", "sslprov.yaml"]);
        args.extend(self.args.iter().map(String::as_str));
        p.ok(&args, code)
    }
}

/// The table row of `check`: `  ✔ dns          CNAME → …`.
fn row<'a>(r: &'a Run, check: &str) -> &'a str {
    let name = format!("{check:<12} ");
    r.stdout
        .lines()
        .find(|l| l.strip_prefix("  ").and_then(|l| l.split_once(' ')).is_some_and(|(_, rest)| rest.starts_with(&name)))
        .unwrap_or_else(|| panic!("no {check} row\n{r:?}"))
}

fn assert_row(r: &Run, check: &str, symbol: &str, contains: &str) {
    let line = row(r, check);
    assert!(line.starts_with(&format!("  {symbol} ")), "{check} should be {symbol}: {line}\n{r:?}");
    assert!(line.contains(contains), "{check} should say {contains:?}: {line}\n{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ready_domain_passes_every_check() {
    let (p, endpoint) = applied(SPEC).await;
    let net = World::ready(&endpoint).start(&p);
    let r = net.run(&p, &["verify"], 0);
    assert!(r.stdout.starts_with(&format!("acme {DOMAIN}  (SparkPost, US-05, CloudFront {endpoint})\n")), "{r:?}");
    assert_row(&r, "dns", "✔", &format!("CNAME → {endpoint} (the distribution)"));
    assert_row(&r, "tls", "✔", &format!("with SNI {DOMAIN} at 127.0.0.1:"));
    assert_row(&r, "certificate", "✔", &format!("covers {DOMAIN} (names: {DOMAIN}); expires on "));
    assert_row(&r, "https", "✔", "https://…/f/a/b/c/d → 302 (server: msys-http");
    assert_row(&r, "http", "✔", "http://…/f/a/b/c/d → 302 (server: msys-http");
    assert_row(&r, "host_header", "✔", "a forged X-Forwarded-Host changed nothing (302 both ways, not reflected)");
    assert_row(&r, "state", "✔", "matches the cloud: 4 resources, no pending step, no drift");
    assert!(r.stdout.ends_with("Ready: 1 of 1.\n"), "{r:?}");
    assert!(!r.stdout.contains("fix:"), "{r:?}");

    let json = net.run(&p, &["verify", "--json"], 0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(v["ready"], true);
    let d = &v["domains"][0];
    assert_eq!(
        (d["key"].as_str(), d["tracking_domain"].as_str(), d["esp"].as_str(), d["cdn"].as_str()),
        (Some("acme"), Some(DOMAIN), Some("sparkpost"), Some("cloudfront"))
    );
    assert_eq!(d["endpoint"].as_str(), Some(endpoint.as_str()));
    assert_eq!(d["certificate"]["names"][0], DOMAIN);
    assert!((88..=90).contains(&d["certificate"]["days_left"].as_i64().unwrap_or(0)), "{d:#}");
    let checks: Vec<(&str, &str)> = d["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["check"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        checks,
        [
            ("dns", "pass"),
            ("tls", "pass"),
            ("certificate", "pass"),
            ("https", "pass"),
            ("http", "pass"),
            ("host_header", "pass"),
            ("state", "pass")
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_for_another_name_fails() {
    let (p, endpoint) = applied(SPEC).await;
    let mut w = World::ready(&endpoint);
    w.certificate = w.ca.issue(&["other.example.com"], 90);
    let r = w.start(&p).run(&p, &["verify"], 3);
    assert_row(&r, "certificate", "✖", &format!("does not cover {DOMAIN} (names: other.example.com)"));
    assert!(
        r.stdout.contains(&format!("fix: the CDN serves a certificate for other names: attach one for {DOMAIN}")),
        "{r:?}"
    );
    assert_row(&r, "https", "-", "not tried: a mail client would refuse this TLS server");
    assert_row(&r, "dns", "✔", "CNAME");
    assert_row(&r, "state", "✔", "matches the cloud");
    assert!(r.stdout.ends_with("Ready: 0 of 1. Not ready: acme.\n"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_fails() {
    let (p, endpoint) = applied(SPEC).await;
    let mut w = World::ready(&endpoint);
    w.certificate = w.ca.issue(&[DOMAIN], -3);
    let r = w.start(&p).run(&p, &["verify"], 3);
    assert_row(&r, "certificate", "✖", "(3 days ago)");
    assert!(row(&r, "certificate").contains("; expired on "), "{r:?}");
    assert_row(&r, "tls", "✔", "chain trusted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wildcard_two_levels_up_does_not_cover_the_name() {
    let (p, endpoint) = applied(SPEC).await;
    let mut w = World::ready(&endpoint);
    w.certificate = w.ca.issue(&["*.acme.com"], 90);
    let r = w.start(&p).run(&p, &["verify"], 3);
    assert_row(
        &r,
        "certificate",
        "✖",
        &format!("a wildcard covers one level only, and *.acme.com is two or more levels above {DOMAIN}"),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_close_to_expiry_warns_and_stays_ready() {
    let (p, endpoint) = applied(SPEC).await;
    let mut w = World::ready(&endpoint);
    w.certificate = w.ca.issue(&["*.email.acme.com"], 10);
    let r = w.start(&p).run(&p, &["verify"], 0);
    assert_row(&r, "certificate", "!", &format!("covers {DOMAIN} (names: *.email.acme.com)"));
    assert!(row(&r, "certificate").contains("days left)"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_fails() {
    let (p, endpoint) = applied(SPEC).await;
    let mut w = World::ready(&endpoint);
    w.certificate = TestCa::new("someone else's CA").issue(&[DOMAIN], 90);
    let r = w.start(&p).run(&p, &["verify"], 3);
    assert_row(&r, "tls", "✖", "chain not trusted: issued by CN=someone else's CA, which is not a trusted authority");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cname_still_at_the_esp_fails_loudly() {
    let (p, endpoint) = applied(SPEC).await;
    let mut w = World::ready("unused.cloudfront.net");
    w.zone = Zone::new().cname(DOMAIN, "spgo.io");
    let r = w.start(&p).run(&p, &["verify"], 3);
    assert_row(
        &r,
        "dns",
        "✖",
        "CNAME → spgo.io: still points to the ESP (SparkPost), not the CDN (the runbook's \"points to the ESP\" case)",
    );
    assert!(r.stdout.contains(&format!("fix: run `sslprov apply`: it points the CNAME at {endpoint} (adopting the existing record); if `sslprov plan` shows no change")), "{r:?}");
    assert_row(&r, "tls", "-", &format!("{DOMAIN} resolves to no address"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cdn_error_page_on_the_tracking_path_fails() {
    let (p, endpoint) = applied(SPEC).await;
    let mut w = World::ready(&endpoint);
    w.edge = |e| e.origin = None;
    let r = w.start(&p).run(&p, &["verify"], 3);
    assert_row(
        &r,
        "https",
        "✖",
        "https://…/f/a/b/c/d → the CDN's own error page, not SparkPost: 502 (server: CloudFront, x-cache: Error from cloudfront)",
    );
    assert_row(&r, "http", "✖", "http://…/f/a/b/c/d → the CDN's own error page, not SparkPost: 502");
    assert!(r.stdout.contains("fix: CloudFront got no usable answer from the ESP origin"), "{r:?}");
    assert_row(&r, "tls", "✔", "chain trusted");
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_refused_by_the_cdn_fails() {
    let (p, endpoint) = applied(SPEC).await;
    let mut w = World::ready(&endpoint);
    w.edge = |e| e.plain_http = false;
    let r = w.start(&p).run(&p, &["verify"], 3);
    assert_row(&r, "https", "✔", "302");
    assert_row(&r, "http", "✖", "http://…/f/a/b/c/d → the CDN's own error page, not SparkPost: 403");
    assert!(r.stdout.contains("an HTTPS-only viewer policy for plain HTTP"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_server_behind_the_cdn_is_not_the_esp() {
    let (p, endpoint) = applied(SPEC).await;
    let mut w = World::ready(&endpoint);
    w.origin = Answer { status: 200, server: "nginx".into(), body: "welcome".into() };
    let r = w.start(&p).run(&p, &["verify"], 3);
    assert_row(
        &r,
        "https",
        "✖",
        "→ 200 (server: nginx, location: https://www.example.com/, x-cache: Miss from cloudfront), where SparkPost answers 302 with server: msys-http",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_x_forwarded_host_passed_through_fails() {
    let (p, endpoint) = applied(SPEC).await;
    let mut w = World::ready(&endpoint);
    w.edge = |e| e.forwarded_host = ForwardedHost::PassThrough;
    let r = w.start(&p).run(&p, &["verify"], 3);
    assert_row(&r, "host_header", "✖", "reached the origin: it came back in the response header x-echo-forwarded-host");
    assert!(row(&r, "host_header").contains("the forged X-Forwarded-Host sslprov-forged-"), "{r:?}");
    assert!(r.stdout.contains("fix: CloudFront overwrites a client's X-Forwarded-Host only with an origin custom header X-Forwarded-Host: url1234.email.acme.com"), "{r:?}");
    assert_row(&r, "https", "✔", "302");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_state_check_sees_drift_and_an_unreachable_cloud() {
    let (p, endpoint) = applied(SPEC).await;
    let net = World::ready(&endpoint).start(&p);
    // Someone points the alias elsewhere in Route 53; the fixture DNS still answers the old
    // CNAME (as caches would), so only the state check can see it.
    let zones = p.aws.route53().list_hosted_zones().send().await.expect("zones");
    let zone = zones.hosted_zones()[0].id().trim_start_matches("/hostedzone/").to_owned();
    p.aws.put_alias(&zone, DOMAIN, "elsewhere.cloudfront.net").await;
    let r = net.run(&p, &["verify"], 3);
    assert_row(&r, "state", "✖", "the cloud does not match the state: acme.tracking_record would be updated");
    assert_row(&r, "dns", "✔", "CNAME");
    assert!(r.stdout.contains("fix: `sslprov plan` shows the difference"), "{r:?}");

    // Without the cloud, the state check fails with the reason and the others still run.
    let offline = p.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9").env("SSLPROV_AWS_MAX_ATTEMPTS", "1");
    let r = net.run(&offline, &["verify"], 3);
    assert_row(&r, "state", "✖", "cannot compare the state with the cloud: ");
    assert_row(&r, "https", "✔", "302");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_state_verify_says_apply_has_not_run() {
    let p = Project::new(SPEC).await;
    let mut w = World::ready("d0.cloudfront.net");
    w.zone = Zone::new().cname(DOMAIN, "spgo.io");
    let r = w.start(&p).run(&p, &["verify", "--json"], 3);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let checks = &v["domains"][0]["checks"];
    assert_eq!(v["domains"][0]["endpoint"], serde_json::Value::Null);
    assert_eq!(checks[0]["status"], "fail");
    assert!(
        checks[0]["fix"].as_str().unwrap().contains("it makes the certificate and distribution, then points the CNAME"),
        "{v:#}"
    );
    assert_eq!(checks[6]["check"], "state");
    assert!(checks[6]["saw"].as_str().unwrap().contains("sslprov has not applied this spec"), "{v:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_an_error_not_a_verdict() {
    let p = Project::new(SPEC).await;
    let r = p.ok(&["verify", "-f", "sslprov.yaml", "--target", "nope"], 1);
    assert!(r.stderr.contains("--target nope: no such domain in the spec"), "{r:?}");
    let r = p.ok(&["verify", "-f", "sslprov.yaml", "--ca-file", "missing.pem"], 1);
    assert!(r.stderr.contains("cannot read the CA file missing.pem"), "{r:?}");
    let r = p.ok(&["verify", "-f", "sslprov.yaml", "--nameserver", "dns.example"], 1);
    assert!(r.stderr.contains("`dns.example` is not an IP address or IP:PORT"), "{r:?}");
}

const TWO: &str = "\
version: 1
braze_cluster: US-05
domains:
  acme:
    tracking_domain: url1234.email.acme.com
    esp: sparkpost
    zone: acme.com
  beta:
    tracking_domain: url99.beta.com
    esp: sendgrid
";

#[tokio::test(flavor = "multi_thread")]
async fn handoff_lists_the_ready_domain_with_evidence_and_the_other_with_why() {
    let (p, endpoint) = applied(TWO).await;
    let mut w = World::ready(&endpoint);
    // beta's tracking CNAME was never flipped: it still points at SendGrid.
    w.zone = w.zone.cname("url99.beta.com", "sendgrid.net");
    let net = w.start(&p);
    let r = net.run(&p, &["handoff"], 3);
    let md = &r.stdout;
    assert!(md.starts_with("# HTTPS click tracking: hand-off to Braze\n"), "{r:?}");
    assert!(
        md.contains(&format!(
            "## {DOMAIN}\n\n- ESP: SparkPost\n- Braze cluster: US-05\n- CDN: CloudFront (endpoint `{endpoint}`)\n"
        )),
        "{r:?}"
    );
    assert!(md.contains(&format!("- Certificate: {DOMAIN} — expires ")), "{r:?}");
    assert!(md.contains("  - ✔ host_header: a forged X-Forwarded-Host changed nothing"), "{r:?}");
    assert!(md.contains("- Notes for SparkPost:\n  - Mark the tracking domain secure in SparkPost"), "{r:?}");
    assert!(md.contains("## Not ready (do not switch SSL on for these)\n\n- url99.beta.com (beta):\n  - dns: CNAME → sendgrid.net: still points to the ESP (SendGrid)"), "{r:?}");
    assert!(!md.contains("## url99.beta.com"), "{r:?}");

    let json = net.run(&p, &["handoff", "--format", "json", "--target", "acme"], 0);
    let h: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(h["not_ready"], serde_json::json!([]));
    let d = &h["ready"][0];
    assert_eq!(
        (d["tracking_domain"].as_str(), d["esp_name"].as_str(), d["braze_cluster"].as_str()),
        (Some(DOMAIN), Some("SparkPost"), Some("US-05"))
    );
    assert_eq!((d["cdn_name"].as_str(), d["endpoint"].as_str()), (Some("CloudFront"), Some(endpoint.as_str())));
    assert_eq!(d["evidence"].as_array().map(Vec::len), Some(7));
    assert!(d["certificate"]["not_after"].as_str().is_some(), "{d:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn handoff_of_a_ready_sendgrid_domain_lists_its_account_siblings() {
    let (p, _) = applied(TWO).await;
    let acme = endpoint(&p, "acme");
    let beta = endpoint(&p, "beta");
    let mut w = World::ready(&acme);
    w.certificate = w.ca.issue(&[DOMAIN, "url99.beta.com"], 90);
    w.zone = w.zone.cname("url99.beta.com", &beta).address(&beta, LOCAL);
    let net = w.start(&p);
    let r = net.run(&p, &["handoff", "--target", "beta"], 0);
    assert!(
        r.stdout.contains(
            "- Notes for SendGrid:\n  - SendGrid support switches SSL click and open tracking on per account"
        ),
        "{r:?}"
    );
    assert!(r.stdout.contains("Never re-validate the link branding"), "{r:?}");
    assert!(r.stdout.contains("SendGrid branded links in this spec: url99.beta.com (ready)."), "{r:?}");
}

/// A Fastly domain, applied against the Fastly emulator: the tracking CNAME at the target the API
/// reported, Fastly's own X-Forwarded-Host header object, and a hand-off that names Fastly.
#[tokio::test(flavor = "multi_thread")]
async fn a_ready_fastly_domain_verifies_and_is_handed_off() {
    let p = Project::new(&SPEC.replace("    zone: acme.com\n", "    zone: acme.com\n    cdn: fastly\n")).await;
    p.apply();
    let target = sslprov_fastly_emulator::DEFAULT_CNAME_TARGET;
    let net = World::ready(target).start(&p);
    let r = net.run(&p, &["verify"], 0);
    assert!(r.stdout.starts_with(&format!("acme {DOMAIN}  (SparkPost, US-05, Fastly {target})\n")), "{r:?}");
    assert_row(&r, "dns", "✔", &format!("CNAME → {target} (the Fastly TLS target)"));
    assert_row(&r, "https", "✔", "https://…/f/a/b/c/d → 302 (server: msys-http");
    assert_row(&r, "host_header", "✔", "sslprov's request header object on the Fastly service sets it");
    assert_row(&r, "state", "✔", "matches the cloud: 4 resources, no pending step, no drift");

    let json = net.run(&p, &["handoff", "--format", "json"], 0);
    let h: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let d = &h["ready"][0];
    assert_eq!(
        (d["cdn"].as_str(), d["cdn_name"].as_str(), d["endpoint"].as_str()),
        (Some("fastly"), Some("Fastly"), Some(target))
    );
    p.fastly.as_ref().expect("fastly").assert_no_violations();
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_cdn_verify_checks_the_certificate_the_esp_serves() {
    let spec = SPEC.replace("    zone: acme.com\n", "    zone: acme.com\n    cdn: none\n");
    let p = Project::new(&spec).await;
    p.apply();
    // The ESP's HTTPS endpoint answers for the domain itself: no CDN in between.
    let mut w = World::ready("v2.spgo.io");
    w.edge = |c| c.forwarded_host = ForwardedHost::PassThrough;
    let net = w.start(&p);
    let r = net.run(&p, &["verify"], 0);
    assert_row(&r, "dns", "✔", "CNAME → v2.spgo.io (the ESP's HTTPS endpoint)");
    assert_row(&r, "certificate", "✔", "covers url1234.email.acme.com");
    assert_row(&r, "https", "✔", "302");
    assert_row(&r, "state", "✔", "matches the cloud");
    assert_row(&r, "host_header", "!", "reached the origin");
    assert!(r.stdout.contains("fix: no CDN in between"), "{r:?}");
    let handoff = net.run(&p, &["handoff"], 0);
    assert!(handoff.stdout.contains("SparkPost manages this V2 tracking domain's certificate itself"), "{handoff:?}");
    assert!(!handoff.stdout.contains("Certificate managed by CDN"), "the CDN notes do not apply: {handoff:?}");
}

/// A Front Door domain, applied against the Azure emulator: the tracking CNAME at the endpoint of
/// its ESP origin, X-Forwarded-Host set by Front Door itself, and a hand-off that names Front Door.
#[tokio::test(flavor = "multi_thread")]
async fn a_ready_front_door_domain_verifies_and_is_handed_off() {
    let p = Project::new(&SPEC.replace("    zone: acme.com\n", "    zone: acme.com\n    cdn: azure-frontdoor\n")).await;
    p.apply();
    let state = p.state();
    let target =
        state["resources"]["endpoint@frontdoor/spgo.io"]["outputs"]["host_name"].as_str().expect("endpoint host name");
    let net = World::ready(target).start(&p);
    let r = net.run(&p, &["verify"], 0);
    assert_row(&r, "dns", "✔", &format!("CNAME → {target} (the Front Door endpoint)"));
    assert_row(&r, "certificate", "✔", "covers url1234.email.acme.com");
    assert_row(&r, "https", "✔", "302");
    assert_row(&r, "host_header", "✔", "");
    assert_row(&r, "state", "✔", "matches the cloud");

    let json = net.run(&p, &["handoff", "--format", "json"], 0);
    let h: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let d = &h["ready"][0];
    assert_eq!((d["cdn"].as_str(), d["endpoint"].as_str()), (Some("azure-frontdoor"), Some(target)), "{h:#}");
    p.azure.as_ref().expect("azure").assert_no_violations();
}
