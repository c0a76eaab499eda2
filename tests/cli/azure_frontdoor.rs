//! Azure Front Door Standard/Premium as the CDN: one profile for many brands, against the ARM
//! emulator (which checks every request and answer against the ARM subset) and DNS at Route 53
//! (moto) or Cloudflare (its emulator). A custom domain is validated once the `_dnsauth` TXT
//! record holding its token is at the domain's DNS host, and its certificate deployed once a
//! route serves it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;

use crate::support::{self, Project, four_brands, kill, record, until};

/// Two SendGrid brands: one route, one endpoint.
fn two_brands(dns: &str) -> String {
    support::two_brands("azure-frontdoor", dns, ["sendgrid", "sendgrid"])
}

fn apply(p: &Project) -> crate::support::Run {
    p.ok(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"], 0)
}

fn props<'a>(objects: &'a std::collections::BTreeMap<String, Value>, name: &str) -> &'a Value {
    &objects.get(name).unwrap_or_else(|| panic!("{name} not in {:?}", objects.keys().collect::<Vec<_>>()))["properties"]
}

/// The endpoint host name of an ESP origin: the CNAME target of its brands.
fn target(p: &Project, origin: &str) -> String {
    let az = p.azure.as_ref().expect("azure");
    let name = sslprov_provider::names::derived_name("ep", origin, 46);
    props(&az.of("afdendpoints"), &name)["hostName"].as_str().expect("hostName").to_owned()
}

/// Four brands, two DNS hosts: one Standard profile; an endpoint, origin group, origin and route
/// per ESP origin with the ESP's Host rule; a custom domain per brand (managed certificate, TLS
/// 1.2), Approved and deployed, in its route; the `_dnsauth` TXT at the DNS host; every tracking
/// record a CNAME to its endpoint; a clean re-plan.
#[tokio::test(flavor = "multi_thread")]
async fn four_brands_share_one_profile() {
    let p = Project::new(&four_brands("azure-frontdoor")).await;
    let az = p.azure.as_ref().expect("azure");
    let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    // 1 profile, 4 per origin (4 origins), 4 per brand.
    assert!(planned.stdout.contains("Plan: 33 to add, 0 to change"), "{planned:?}");
    assert!(planned.stdout.contains("# profile@frontdoor will be created"), "{planned:?}");
    assert!(planned.stdout.contains("(shared by acme, beta, delta, gamma)"), "{planned:?}");
    let started = std::time::Instant::now();
    apply(&p);
    let took = started.elapsed();

    let profiles = az.of("profiles");
    assert_eq!(profiles.len(), 1, "one profile for every brand: {profiles:#?}");
    assert_eq!(profiles["sslprov-frontdoor"]["sku"]["name"], "Standard_AzureFrontDoor");
    assert_eq!(az.of("afdendpoints").len(), 4, "one endpoint per ESP origin");
    let origins = az.of("origins");
    for (origin, host_header) in [
        ("spgo.io", Some("spgo.io")),
        ("eu.spgo.io", Some("eu.spgo.io")),
        ("sendgrid.net", None),
        ("r.us-east-1.awstrack.me", None),
    ] {
        let o = props(&origins, &sslprov_provider::names::derived_name("o", origin, 46));
        assert_eq!(o["hostName"], origin);
        assert_eq!(o["originHostHeader"].as_str(), host_header, "{origin}: {o}");
        assert_eq!(o["enforceCertificateNameCheck"], true, "HTTPS to the origin, its name checked");
    }
    let routes = az.of("routes");
    for (origin, host, protocol) in [
        ("spgo.io", "click.acme.com", "MatchRequest"),
        ("eu.spgo.io", "click.beta.com", "MatchRequest"),
        ("sendgrid.net", "click.gamma.com", "HttpsOnly"),
        ("r.us-east-1.awstrack.me", "click.delta.com", "HttpsOnly"),
    ] {
        let r = props(&routes, &sslprov_provider::names::derived_name("rt", origin, 46));
        assert_eq!(r["forwardingProtocol"], protocol, "{r}");
        assert_eq!(r["supportedProtocols"], serde_json::json!(["Http", "Https"]));
        assert_eq!(
            (r["httpsRedirect"].as_str(), r["linkToDefaultDomain"].as_str()),
            (Some("Disabled"), Some("Disabled"))
        );
        assert!(r.get("cacheConfiguration").is_none(), "no caching: {r}");
        let domains = r["customDomains"].as_array().expect("domains");
        let cd = format!("sslprov-cd-{}", host.replace('.', "-"));
        assert!(domains.len() == 1 && domains[0]["id"].as_str().is_some_and(|i| i.ends_with(&cd)), "{r}");
    }
    let domains = az.of("customdomains");
    assert_eq!(domains.len(), 4);
    for d in domains.values() {
        let d = &d["properties"];
        assert_eq!(
            (d["domainValidationState"].as_str(), d["deploymentStatus"].as_str()),
            (Some("Approved"), Some("Succeeded"))
        );
        assert_eq!(
            d["tlsSettings"],
            serde_json::json!({"certificateType": "ManagedCertificate", "cipherSuiteSetType": "TLS12_2022"})
        );
    }
    for (zone, host, origin) in [
        ("acme.com", "click.acme.com", "spgo.io"),
        ("beta.com", "click.beta.com", "eu.spgo.io"),
        ("gamma.com", "click.gamma.com", "sendgrid.net"),
        ("delta.com", "click.delta.com", "r.us-east-1.awstrack.me"),
    ] {
        assert_eq!(record(&p, zone, host, false).await, Some(("CNAME".into(), vec![target(&p, origin)])), "{host}");
        let token = props(&domains, &format!("sslprov-cd-{}", host.replace('.', "-")))["validationProperties"]["validationToken"]
            .as_str()
            .expect("token")
            .to_owned();
        assert_eq!(record(&p, zone, &format!("_dnsauth.{host}"), true).await, Some(("TXT".into(), vec![token])));
    }
    let writes = az.operations_started();
    let calls = az.request_log().len();
    eprintln!("azure apply of 4 brands: {took:?}, {calls} ARM and token requests, {writes} long-running operations");
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    az.assert_no_violations();
    p.cloudflare().assert_no_violations();
}

/// The safe order on an adopted HTTP-era CNAME: the `_dnsauth` TXT is published first, the
/// tracking record stays at the ESP while the domain's validation is Pending, and becomes the
/// CNAME to the endpoint only once the domain is Approved and its certificate deployed. Destroy
/// with --restore-adopted puts the ESP's CNAME back.
#[tokio::test(flavor = "multi_thread")]
async fn the_http_era_cname_flips_only_once_the_domain_is_validated_and_deployed() {
    let p = Project::new(&two_brands("route53")).await;
    let az = p.azure.as_ref().expect("azure");
    let zones = p.aws.route53().list_hosted_zones().send().await.unwrap();
    let acme = zones.hosted_zones().iter().find(|z| z.name() == "acme.com.").expect("zone").id().to_owned();
    let zid = acme.trim_start_matches("/hostedzone/").to_owned();
    p.aws.put_record(&zid, "click.acme.com.", "CNAME", "sendgrid.net.", 3600).await;
    let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(planned.stdout.contains("# acme.tracking_record will be adopted and updated in place"), "{planned:?}");

    p.hold_issuance.store(true, Ordering::SeqCst);
    let run = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"]);
    let polled = until(|| az.count("AFDCustomDomains_ListByProfile", None) >= 4).await;
    assert!(polled, "apply waits for the domains: {:#?}", az.request_log());
    let domains = az.of("customdomains");
    assert!(domains.values().all(|d| d["properties"]["domainValidationState"] == "Pending"), "{domains:#?}");
    let txt = record(&p, "acme.com", "_dnsauth.click.acme.com", true).await;
    assert!(txt.is_some(), "the _dnsauth TXT is published before the domain is validated");
    assert_eq!(
        record(&p, "acme.com", "click.acme.com", false).await,
        Some(("CNAME".into(), vec!["sendgrid.net".into()])),
        "the tracking record stays at the ESP"
    );

    p.hold_issuance.store(false, Ordering::SeqCst);
    let out = run.wait_with_output().expect("apply ends");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        record(&p, "acme.com", "click.acme.com", false).await,
        Some(("CNAME".into(), vec![target(&p, "sendgrid.net")]))
    );
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);

    p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--restore-adopted", "--poll-interval", "100ms"], 0);
    assert_eq!(
        record(&p, "acme.com", "click.acme.com", false).await,
        Some(("CNAME".into(), vec!["sendgrid.net".into()]))
    );
    assert!(az.resources().is_empty(), "{:#?}", az.resources());
    az.assert_no_violations();
}

/// Destroying one brand keeps what the other uses (the plan says so) and takes its domain out of
/// the shared route; the last destroy removes the profile last, and only what sslprov made.
#[tokio::test(flavor = "multi_thread")]
async fn the_profile_goes_only_with_the_last_brand() {
    let p = Project::new(&two_brands("cloudflare")).await;
    let az = p.azure.as_ref().expect("azure");
    // Someone else's TXT at the zone: not sslprov's, left alone.
    let zone = p.cf_zone("acme.com");
    p.cloudflare().add_record(&zone, "TXT", "acme.com", "v=spf1 -all", false);
    apply(&p);
    let one = p.ok(&["plan", "-f", "sslprov.yaml", "--destroy", "--target", "acme", "--detailed-exitcode"], 2);
    assert!(one.stdout.contains("Kept: profile@frontdoor (shared; still used by beta)"), "{one:?}");
    p.ok(&["destroy", "-f", "sslprov.yaml", "--target", "acme", "--auto-approve", "--poll-interval", "100ms"], 0);
    let route = props(&az.of("routes"), "sslprov-rt-sendgrid-net").clone();
    let left: Vec<&str> =
        route["customDomains"].as_array().into_iter().flatten().filter_map(|d| d["id"].as_str()).collect();
    assert!(left.len() == 1 && left[0].ends_with("sslprov-cd-click-beta-com"), "{route}");
    let domains: Vec<String> = az.of("customdomains").into_keys().collect();
    assert_eq!(domains, ["sslprov-cd-click-beta-com"]);
    assert_eq!(record(&p, "acme.com", "click.acme.com", false).await, None);
    assert_eq!(record(&p, "acme.com", "_dnsauth.click.acme.com", true).await, None);

    // A custom domain someone else made in the profile (another spec in the same resource group):
    // deleting the profile would delete it, so the profile stays and the destroy says why.
    let theirs = "profiles/sslprov-frontdoor/customDomains/someone-else";
    az.put_as_someone_else(theirs, serde_json::json!({"properties": {"hostName": "www.other.com", "tlsSettings": {"certificateType": "ManagedCertificate"}}})).await;
    let refused = p.run(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("still holds custom domain www.other.com, which this spec did not make: not deleted"),
        "{refused:?}"
    );
    assert_eq!(az.of("profiles").len(), 1, "the profile stays");
    az.delete_as_someone_else(theirs).await;

    let all = p.ok(&["destroy", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"], 0);
    let log = az.request_log();
    let deletes: Vec<&str> =
        log.iter().filter(|r| r.method == "DELETE").filter_map(|r| r.operation.as_deref()).collect();
    assert_eq!(deletes.last(), Some(&"Profiles_Delete"), "the profile last: {deletes:?}\n{all:?}");
    assert!(az.resources().is_empty(), "{:#?}", az.resources());
    assert_eq!(record(&p, "acme.com", "acme.com", true).await, Some(("TXT".into(), vec!["v=spf1 -all".into()])));
    az.assert_no_violations();
    p.cloudflare().assert_no_violations();
}

/// A run killed while Front Door's operations run is finished by the next: names are derived,
/// so nothing is made twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_during_an_operation_is_finished_by_the_next() {
    let p = Project::new(&two_brands("route53")).await;
    let az = p.azure.as_ref().expect("azure");
    az.set_operation_delay(Duration::from_secs(2));
    let mut first = p.spawn(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"]);
    let mid = until(|| !az.of("customdomains").is_empty() && az.running_operations() > 0).await;
    assert!(mid, "an operation runs: {:#?}", az.request_log());
    kill(&mut first);
    assert!(p.state()["resources"].get("acme.tracking_record").is_none(), "the tracking record was not touched");
    az.set_operation_delay(Duration::from_millis(30));
    apply(&p);
    assert_eq!(az.of("profiles").len(), 1);
    assert_eq!(az.of("customdomains").len(), 2, "no second custom domain");
    assert_eq!(az.of("afdendpoints").len(), 1);
    assert_eq!(
        record(&p, "beta.com", "click.beta.com", false).await,
        Some(("CNAME".into(), vec![target(&p, "sendgrid.net")]))
    );
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    az.assert_no_violations();
}

/// A validation Front Door rejects: apply stops with the reason and what to check, and nothing
/// points at Front Door; the other brand goes on. The next apply asks for a new token and writes
/// it to the TXT record in the same run (the token is not known until the domain restarts), so
/// that one run ends with the domain Approved and the CNAME flipped.
#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_validation_is_reported_and_the_next_apply_validates_it_with_a_new_token() {
    let p = Project::new(&two_brands("route53")).await;
    let az = p.azure.as_ref().expect("azure");
    az.set_verdict("click.acme.com", Some(sslprov_azure_emulator::Verdict::Rejected));
    let r = p.run(&["apply", "-f", "sslprov.yaml", "--auto-approve", "--poll-interval", "100ms"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("Front Door did not validate click.acme.com (domainValidationState Rejected)"), "{r:?}");
    assert!(r.stderr.contains("TXT _dnsauth.click.acme.com"), "{r:?}");
    assert_eq!(record(&p, "acme.com", "click.acme.com", false).await, None, "nothing points at Front Door");
    assert_eq!(
        record(&p, "beta.com", "click.beta.com", false).await,
        Some(("CNAME".into(), vec![target(&p, "sendgrid.net")])),
        "beta went on"
    );
    let rejected = record(&p, "acme.com", "_dnsauth.click.acme.com", true).await.expect("the first token's TXT");

    let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(planned.stdout.contains("it is restarted in place"), "{planned:?}");
    assert!(planned.stdout.contains("# acme.validation_record will be updated in place"), "{planned:?}");
    apply(&p);
    let domain = props(&az.of("customdomains"), "sslprov-cd-click-acme-com").clone();
    assert_eq!(domain["domainValidationState"], "Approved", "{domain}");
    let token = domain["validationProperties"]["validationToken"].as_str().expect("token").to_owned();
    let txt = record(&p, "acme.com", "_dnsauth.click.acme.com", true).await;
    assert_eq!(txt, Some(("TXT".into(), vec![token.clone()])), "the new token, in the same run");
    assert_ne!(rejected.1, vec![token], "not the rejected one");
    assert_eq!(
        record(&p, "acme.com", "click.acme.com", false).await,
        Some(("CNAME".into(), vec![target(&p, "sendgrid.net")]))
    );
    assert_eq!(az.count("AFDCustomDomains_RefreshValidationToken", None), 1);
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    az.assert_no_violations();
}

/// A domain Front Door puts in PendingRevalidation (its certificate is due, and the name does
/// not point straight at the endpoint) still serves; the plan says a new token is asked for,
/// and apply asks for it and writes it to the TXT record, after which Front Door validates the
/// domain again. The tracking record is not touched.
#[tokio::test(flavor = "multi_thread")]
async fn a_domain_pending_revalidation_gets_a_new_token_at_its_txt_record() {
    let p = Project::new(&two_brands("cloudflare")).await;
    let az = p.azure.as_ref().expect("azure");
    apply(&p);
    let before = record(&p, "acme.com", "_dnsauth.click.acme.com", true).await.expect("TXT");
    az.ask_revalidation("click.acme.com");
    let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(planned.stdout.contains("domainValidationState PendingRevalidation"), "{planned:?}");
    assert!(planned.stdout.contains("it is renewed in place"), "{planned:?}");
    assert!(planned.stdout.contains("# acme.validation_record will be updated in place"), "{planned:?}");
    assert!(!planned.stdout.contains("acme.tracking_record"), "{planned:?}");
    assert!(!planned.stdout.contains("beta."), "{planned:?}");
    apply(&p);
    let domain = props(&az.of("customdomains"), "sslprov-cd-click-acme-com").clone();
    let token = domain["validationProperties"]["validationToken"].as_str().expect("token").to_owned();
    assert_ne!(before.1, vec![token.clone()], "a new token");
    assert_eq!(record(&p, "acme.com", "_dnsauth.click.acme.com", true).await, Some(("TXT".into(), vec![token])));
    assert_eq!(domain["domainValidationState"], "Approved", "{domain}");
    assert_eq!(az.count("AFDCustomDomains_RefreshValidationToken", None), 1);
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    az.assert_no_violations();
    p.cloudflare().assert_no_violations();
}

/// No credentials, or half of them: one line naming what is missing and how to provide it.
#[tokio::test(flavor = "multi_thread")]
async fn missing_credentials_are_named_with_the_fix() {
    let p = Project::new(&two_brands("route53")).await.env("AZURE_TENANT_ID", "");
    let r = p.run(&["plan", "-f", "sslprov.yaml"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("AZURE_CLIENT_SECRET is set but AZURE_TENANT_ID is not"), "{r:?}");
    let p = p.env("AZURE_CLIENT_SECRET", "").env("PATH", "/nonexistent");
    let r = p.run(&["plan", "-f", "sslprov.yaml"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("no Azure credentials found"), "{r:?}");
    assert!(r.stderr.contains("`az login`"), "{r:?}");
}

/// Two SendGrid brands in the Premium brand group `retail` and one with no group.
const GROUPS: &str = "\
version: 1
braze_cluster: US-05
state: { path: sslprov.state.json }
defaults: { cdn: azure-frontdoor, dns: route53 }
domains:
  acme:
    tracking_domain: click.acme.com
    esp: sendgrid
    brand_group: retail
    tier: premium
  beta:
    tracking_domain: click.beta.com
    esp: sendgrid
    brand_group: retail
    tier: premium
  gamma:
    tracking_domain: click.gamma.com
    esp: sendgrid
";

/// The custom domains of a profile, by host.
fn hosts_in(p: &Project, profile: &str) -> Vec<String> {
    let az = p.azure.as_ref().expect("azure");
    let infix = format!("/profiles/{profile}/");
    let mut hosts: Vec<String> = az
        .of("customdomains")
        .values()
        .filter(|d| d["id"].as_str().is_some_and(|id| id.to_ascii_lowercase().contains(&infix)))
        .filter_map(|d| d["properties"]["hostName"].as_str().map(str::to_owned))
        .collect();
    hosts.sort();
    hosts
}

/// A brand group gets a profile of its own (`sslprov-<group>`, of the group's tier), with its own
/// endpoint per ESP origin; the domains with no group share the spec's default profile. Domains
/// of one group that disagree on the tier are refused where the spec says so. Destroying the last
/// domain of a group removes that group's profile and nothing of the other.
#[tokio::test(flavor = "multi_thread")]
async fn brand_groups_get_a_profile_each_of_their_tier() {
    let p = Project::new(GROUPS).await;
    let az = p.azure.as_ref().expect("azure");
    let disagree = GROUPS.replacen("    tier: premium\n", "", 2).replacen(
        "    brand_group: retail\n",
        "    brand_group: retail\n    tier: premium\n",
        1,
    );
    std::fs::write(p.path("disagree.yaml"), disagree).expect("write");
    let refused = p.run(&["validate", "-f", "disagree.yaml"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains(
            "disagree.yaml:14:5: domains.beta.tier: tier `standard` (the default) differs from tier `premium` of \
             domains.acme (line 10) in brand group `retail`"
        ),
        "{refused:?}"
    );

    let planned = p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 2);
    assert!(planned.stdout.contains("# profile@retail will be created"), "{planned:?}");
    assert!(planned.stdout.contains("# profile@frontdoor will be created"), "{planned:?}");
    assert!(planned.stdout.contains("# endpoint@retail/sendgrid.net will be created"), "{planned:?}");
    apply(&p);
    let profiles = az.of("profiles");
    let skus: Vec<(&str, &str)> =
        profiles.iter().map(|(name, v)| (name.as_str(), v["sku"]["name"].as_str().unwrap_or_default())).collect();
    assert_eq!(
        skus,
        [("sslprov-frontdoor", "Standard_AzureFrontDoor"), ("sslprov-retail", "Premium_AzureFrontDoor")],
        "a profile per brand group, of its tier"
    );
    assert_eq!(hosts_in(&p, "sslprov-retail"), ["click.acme.com", "click.beta.com"]);
    assert_eq!(hosts_in(&p, "sslprov-frontdoor"), ["click.gamma.com"]);
    let endpoints = az.of("afdendpoints");
    let host = |name: &str| props(&endpoints, name)["hostName"].as_str().expect("hostName").to_owned();
    let (retail, default) = (host("sslprov-ep-retail-sendgrid-net"), host("sslprov-ep-sendgrid-net"));
    assert_ne!(retail, default);
    assert_eq!(record(&p, "acme.com", "click.acme.com", false).await, Some(("CNAME".into(), vec![retail.clone()])));
    assert_eq!(record(&p, "gamma.com", "click.gamma.com", false).await, Some(("CNAME".into(), vec![default])));
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);

    p.ok(&["destroy", "-f", "sslprov.yaml", "--target", "gamma", "--auto-approve", "--poll-interval", "100ms"], 0);
    let left: Vec<String> = az.of("profiles").into_keys().collect();
    assert_eq!(left, ["sslprov-retail"], "only the default group's profile went");
    assert_eq!(hosts_in(&p, "sslprov-retail"), ["click.acme.com", "click.beta.com"]);
    let endpoints: Vec<String> = az.of("afdendpoints").into_keys().collect();
    assert_eq!(endpoints, ["sslprov-ep-retail-sendgrid-net"]);
    assert_eq!(record(&p, "beta.com", "click.beta.com", false).await, Some(("CNAME".into(), vec![retail])));
    az.assert_no_violations();
}

/// `defaults: { tier: premium }` makes the profile of every domain that sets no tier Premium:
/// written once, not on each domain.
#[tokio::test(flavor = "multi_thread")]
async fn a_default_tier_makes_a_premium_profile() {
    let spec = two_brands("route53").replace("dns: route53 }", "dns: route53, tier: premium }");
    let p = Project::new(&spec).await;
    let az = p.azure.as_ref().expect("azure");
    apply(&p);
    let profiles = az.of("profiles");
    let skus: Vec<(&str, &str)> =
        profiles.iter().map(|(name, v)| (name.as_str(), v["sku"]["name"].as_str().unwrap_or_default())).collect();
    assert_eq!(skus, [("sslprov-frontdoor", "Premium_AzureFrontDoor")]);
    assert_eq!(hosts_in(&p, "sslprov-frontdoor"), ["click.acme.com", "click.beta.com"]);
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    az.assert_no_violations();
}

/// A state written before brand groups recorded the per-origin objects at `<part>@<origin>`; they
/// are now `<part>@frontdoor/<origin>`. The plan records the same objects at the new addresses
/// and forgets the old ones: nothing is deleted or made again, and the tracking records keep
/// their targets.
#[tokio::test(flavor = "multi_thread")]
async fn a_state_from_before_brand_groups_moves_to_the_new_addresses() {
    let p = Project::new(&two_brands("route53")).await;
    let az = p.azure.as_ref().expect("azure");
    apply(&p);
    let target_before = target(&p, "sendgrid.net");
    // The state as the earlier template wrote it.
    let path = p.path("sslprov.state.json");
    let old = std::fs::read_to_string(&path)
        .expect("state")
        .replace("@frontdoor/sendgrid.net", "@sendgrid.net")
        .replace("\"shared\": \"frontdoor/sendgrid.net\"", "\"shared\": \"sendgrid.net\"");
    std::fs::write(&path, old).expect("write state");
    assert!(p.state()["resources"].get("endpoint@sendgrid.net").is_some(), "the old address is read back");

    let planned = p.ok(&["plan", "-f", "sslprov.yaml"], 0);
    assert!(!planned.stdout.contains("will be destroyed"), "{planned:?}");
    assert!(!planned.stdout.contains("will be created"), "{planned:?}");
    assert!(planned.stdout.contains("the same object is now endpoint@frontdoor/sendgrid.net"), "{planned:?}");
    let writes = az.operations_started();
    apply(&p);
    assert_eq!(az.operations_started(), writes, "nothing written at Front Door");
    assert_eq!(target(&p, "sendgrid.net"), target_before);
    let state = p.state();
    let resources = state["resources"].as_object().expect("resources");
    assert!(resources.contains_key("endpoint@frontdoor/sendgrid.net"), "{:?}", resources.keys());
    assert!(!resources.keys().any(|k| k.ends_with("@sendgrid.net")), "{:?}", resources.keys());
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    az.assert_no_violations();
}

/// A brand that moves to another ESP moves to that ESP's route: Front Door serves a domain from
/// one route only, so it leaves the old one first; the CNAME then points at the new endpoint.
#[tokio::test(flavor = "multi_thread")]
async fn a_brand_that_changes_esp_moves_to_the_new_route() {
    let p = Project::new(&two_brands("route53")).await;
    let az = p.azure.as_ref().expect("azure");
    apply(&p);
    let spec = std::fs::read_to_string(p.path("sslprov.yaml")).unwrap();
    std::fs::write(p.path("sslprov.yaml"), spec.replacen("esp: sendgrid", "esp: sparkpost", 1)).unwrap();
    apply(&p);
    let served = |route: &str| -> Vec<String> {
        let routes = az.of("routes");
        props(&routes, route)["customDomains"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["id"].as_str().map(|id| id.rsplit('/').next().unwrap_or_default().to_owned()))
            .collect()
    };
    assert_eq!(served("sslprov-rt-spgo-io"), ["sslprov-cd-click-acme-com"]);
    assert_eq!(served("sslprov-rt-sendgrid-net"), ["sslprov-cd-click-beta-com"]);
    assert_eq!(
        record(&p, "acme.com", "click.acme.com", false).await,
        Some(("CNAME".into(), vec![target(&p, "spgo.io")]))
    );
    p.ok(&["plan", "-f", "sslprov.yaml", "--detailed-exitcode"], 0);
    az.assert_no_violations();
}
